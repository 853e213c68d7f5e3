//! Progress bars, shown only when standard error is a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use khop::read::{Format, Reader};

/// A bar for reading one file; hidden when standard error is not a terminal.
pub fn for_reader(reader: &Reader) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let total = reader.progress().total;
    let bar = ProgressBar::new(total);
    let unit = match reader.format() {
        Format::Parquet => "{pos}/{len} rows",
        Format::Csv | Format::Ndjson => "{bytes}/{total_bytes} ({bytes_per_sec})",
    };
    let template = format!("{{msg}} [{{bar:40}}] {unit}, {{eta}} left");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(reader.path().file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
    bar
}

/// A spinner for a stage whose size is not known in advance (training, scoring pairs): the
/// stage's name, a running count with its rate, and the time spent. Hidden when standard error
/// is not a terminal.
pub fn for_stage(name: &str, unit: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    let template = format!("{{spinner}} {{msg}}: {{human_pos}} {unit} ({{per_sec}}), {{elapsed}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar.set_message(name.to_owned());
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// A spinner with the stage's name and the time spent, for a stage that reports no count.
pub fn spinner(name: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}, {elapsed}") {
        bar.set_style(style);
    }
    bar.set_message(name.to_owned());
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}
