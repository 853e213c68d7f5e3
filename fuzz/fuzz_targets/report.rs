//! Report data (`--report run.json`, read by `khop report`): any text is a report or an error,
//! never a panic; a report that was read renders, and its JSON reads back the same.
#![no_main]

use khop::report::Report;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok(report) = Report::from_json(text) else { return };
    let html = report.to_html();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert_eq!(Report::from_json(&report.to_json()).expect("a written report reads"), report);
});
