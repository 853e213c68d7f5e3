//! Progress bars, shown only when standard error is a terminal: the library's [`Observer`]
//! drawn with indicatif.

use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use khop::session::{Observer, Stage, Unit};

/// Draws each stage the library announces: a bar for reading a file, spinners for training and
/// scoring.
#[derive(Default)]
pub struct Bars {
    current: Mutex<Option<ProgressBar>>,
}

impl Observer for Bars {
    fn started(&self, stage: &Stage) {
        let bar = match stage {
            Stage::Read { file, unit, total, .. } => {
                let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                for_file(&name, *unit, *total)
            }
            Stage::Train => spinner("training (u from random pairs, m by EM)"),
            Stage::Score => for_stage("scoring candidate pairs", "pairs"),
            _ => ProgressBar::hidden(),
        };
        if let Ok(mut current) = self.current.lock()
            && let Some(old) = current.replace(bar)
        {
            old.finish_and_clear();
        }
    }

    fn advanced(&self, position: u64) {
        if let Ok(current) = self.current.lock()
            && let Some(bar) = current.as_ref()
        {
            bar.set_position(position);
        }
    }

    fn finished(&self) {
        if let Ok(mut current) = self.current.lock()
            && let Some(bar) = current.take()
        {
            bar.finish_and_clear();
        }
    }
}

/// A bar for reading one file; hidden when standard error is not a terminal.
pub fn for_file(name: &str, unit: Unit, total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    let unit = match unit {
        Unit::Rows => "{pos}/{len} rows",
        Unit::Bytes => "{bytes}/{total_bytes} ({bytes_per_sec})",
    };
    let template = format!("{{msg}} [{{bar:40}}] {unit}, {{eta}} left");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(name.to_owned());
    bar
}

/// A spinner for a stage whose size is not known in advance (scoring pairs): the stage's name, a
/// running count with its rate, and the time spent. Hidden when standard error is not a terminal.
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
