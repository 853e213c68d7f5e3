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
