//! Rendering a [`Report`] as one HTML page: plain Rust writing escaped text, inline CSS, inline
//! SVG from [`super::svg`], and one short inline script that sorts tables. Nothing is fetched:
//! no font, stylesheet, script or image comes from outside the file.

use std::borrow::Cow;
use std::fmt::Write;

use super::{Count, Report, RunKind, SamplePair, svg};
use crate::reconcile::Rejection;

/// `text` with the five HTML special characters escaped.
pub(crate) fn esc(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// An integer with thousands separated by commas: `1,234,567`.
pub(crate) fn grouped(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A figure's value for people: grouped when whole, two decimals otherwise.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        let sign = if value < 0.0 { "-" } else { "" };
        format!("{sign}{}", grouped(value.abs() as u64))
    } else {
        format!("{value:.2}")
    }
}

const STYLE: &str = r#"
:root { --ink: #1d2530; --muted: #5b6675; --line: #d8dde3; --pos: #2e7d4f; --neg: #b23b3b; --bar: #3f6fb5; --total: #6b4fa0; }
* { box-sizing: border-box; }
body { font-family: "Segoe UI", "Noto Sans", "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: var(--ink); margin: 0; line-height: 1.45; }
header { background: #f3f5f8; border-bottom: 1px solid var(--line); padding: 16px 28px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: var(--muted); }
nav { padding: 8px 28px; border-bottom: 1px solid var(--line); font-size: 14px; }
nav a { margin-right: 14px; color: var(--bar); text-decoration: none; }
main { padding: 8px 28px 40px; max-width: 1100px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.figures { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }
.figure { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 150px; }
.figure .value { font-size: 20px; font-weight: 600; }
.figure .label { font-size: 12px; color: var(--muted); }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th::after { content: " \2195"; color: var(--muted); }
table.sortable th[data-dir="asc"]::after { content: " \2191"; }
table.sortable th[data-dir="desc"]::after { content: " \2193"; }
.chart { width: 100%; max-width: 760px; height: auto; display: block; margin: 6px 0 14px; }
.chart text { fill: var(--ink); }
.chart .pos { fill: var(--pos); } .chart .neg { fill: var(--neg); } .chart .bar { fill: var(--bar); } .chart .total { fill: var(--total); }
.chart .axis { stroke: var(--ink); stroke-width: 1; } .chart .grid { stroke: var(--line); stroke-width: 1; }
.chart .threshold { stroke: var(--neg); stroke-width: 1.5; stroke-dasharray: 5 3; } .chart .threshold-label { fill: var(--neg); }
.comparison { display: flex; flex-wrap: wrap; gap: 8px 28px; align-items: flex-start; }
.comparison .chart { width: 640px; max-width: 100%; margin-top: 8px; }
details { border: 1px solid var(--line); border-radius: 6px; margin: 6px 0; padding: 4px 10px; }
details summary { cursor: pointer; }
.warning { background: #fff4e0; border-left: 4px solid #e0a030; padding: 6px 10px; margin: 6px 0; }
.muted { color: var(--muted); font-size: 13px; }
@media print { nav { display: none; } details { break-inside: avoid; } details:not([open]) > *:not(summary) { display: block; } }
"#;

const SCRIPT: &str = r#"
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, column) {
    th.addEventListener("click", function () {
      var ascending = th.dataset.dir !== "asc";
      Array.prototype.forEach.call(heads, function (h) { delete h.dataset.dir; });
      th.dataset.dir = ascending ? "asc" : "desc";
      var body = table.tBodies[0];
      var key = function (row) {
        var cell = row.cells[column];
        return cell.dataset.sort !== undefined ? parseFloat(cell.dataset.sort) : cell.textContent.trim();
      };
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        var order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), "vi");
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"#;

/// A table: `heads` (a trailing `#` marks a numeric column), then rows of cells; a numeric cell
/// is written with its raw value in `data-sort`.
struct Table<'a> {
    out: &'a mut String,
    numeric: Vec<bool>,
}

enum Cell<'a> {
    Text(&'a str),
    Int(u64),
    Real(f64, usize),
}

impl<'a> Table<'a> {
    fn new(out: &'a mut String, class: &str, heads: &[&str]) -> Table<'a> {
        let _ = write!(out, r#"<table class="{class}"><thead><tr>"#);
        let mut numeric = Vec::with_capacity(heads.len());
        for head in heads {
            let (name, n) = match head.strip_suffix('#') {
                Some(name) => (name, true),
                None => (*head, false),
            };
            numeric.push(n);
            let _ = write!(out, r#"<th{}>{}</th>"#, if n { r#" class="n""# } else { "" }, esc(name));
        }
        out.push_str("</tr></thead><tbody>");
        Table { out, numeric }
    }

    fn row(&mut self, cells: &[Cell<'_>]) {
        self.out.push_str("<tr>");
        for (i, cell) in cells.iter().enumerate() {
            let class = if self.numeric.get(i).copied().unwrap_or(false) { r#" class="n""# } else { "" };
            let _ = match cell {
                Cell::Text(t) => write!(self.out, "<td{class}>{}</td>", esc(t)),
                Cell::Int(v) => write!(self.out, r#"<td{class} data-sort="{v}">{}</td>"#, grouped(*v)),
                Cell::Real(v, digits) => write!(self.out, r#"<td{class} data-sort="{v}">{v:.digits$}</td>"#),
            };
        }
        self.out.push_str("</tr>");
    }

    fn end(self) {
        self.out.push_str("</tbody></table>");
    }
}

/// A reason for a record not matched, in words (empty for a name this khop does not know).
fn reason_text(name: &str) -> &'static str {
    Rejection::ALL.iter().find(|r| r.as_str() == name).map_or("", |r| r.describe())
}

fn counts_table(out: &mut String, heads: &[&str], counts: &[Count]) {
    let mut table = Table::new(out, "sortable", heads);
    for c in counts {
        table.row(&[Cell::Text(&c.name), Cell::Int(c.count)]);
    }
    table.end();
}

fn section(out: &mut String, id: &str, title: &str) {
    let _ = write!(out, r#"<h2 id="{id}">{}</h2>"#, esc(title));
}

fn figures(out: &mut String, report: &Report) {
    out.push_str(r#"<div class="figures">"#);
    for f in &report.figures {
        let _ = write!(
            out,
            r#"<div class="figure"><div class="value" data-key="{}" data-value="{}">{}</div><div class="label">{}</div></div>"#,
            esc(&f.key),
            f.value,
            number(f.value),
            esc(&f.label)
        );
    }
    out.push_str("</div>");
}

fn inputs(out: &mut String, report: &Report) {
    section(out, "inputs", "Inputs");
    let mut table = Table::new(
        out,
        "sortable",
        &["role", "name", "file", "rows read#", "records#", "rejected#", "repeated ids#"],
    );
    for t in &report.tables {
        table.row(&[
            Cell::Text(&t.role),
            Cell::Text(&t.name),
            Cell::Text(&t.path),
            Cell::Int(t.rows_read),
            Cell::Int(t.records),
            Cell::Int(t.rows_rejected),
            Cell::Int(t.duplicate_ids),
        ]);
    }
    table.end();
    for t in report.tables.iter().filter(|t| !t.rejected_by_reason.is_empty()) {
        let _ = write!(out, "<h3>Rows rejected from {}</h3>", esc(&t.name));
        counts_table(out, &["reason", "rows#"], &t.rejected_by_reason);
    }
    if report.tables.iter().all(|t| t.rows_rejected == 0) {
        out.push_str(r#"<p class="muted">No row was rejected: every row read was prepared.</p>"#);
    }
}

fn decisions(out: &mut String, report: &Report) {
    if report.decisions.is_empty() {
        return;
    }
    section(out, "decisions", "Decisions");
    let bars: Vec<(String, u64)> = report.decisions.iter().map(|c| (c.name.clone(), c.count)).collect();
    out.push_str(&svg::count_bars("decisions", &bars));
    if !report.reasons.is_empty() {
        out.push_str("<h3>Why records were not matched</h3>");
        let mut table = Table::new(out, "sortable", &["reason", "meaning", "records#"]);
        for c in &report.reasons {
            table.row(&[Cell::Text(&c.name), Cell::Text(reason_text(&c.name)), Cell::Int(c.count)]);
        }
        table.end();
    }
}

fn conflicts(out: &mut String, report: &Report) {
    if report.kind != RunKind::Reconcile {
        return;
    }
    section(out, "conflicts", "Conflicts by field and type");
    if report.conflicts.is_empty() {
        out.push_str(r#"<p class="muted">No accepted link has a field that disagrees.</p>"#);
        return;
    }
    let mut table = Table::new(out, "sortable", &["field", "type", "worklist lines#"]);
    for c in &report.conflicts {
        table.row(&[Cell::Text(&c.field), Cell::Text(&c.kind), Cell::Int(c.count)]);
    }
    table.end();
}

fn clusters(out: &mut String, report: &Report) {
    if report.kind != RunKind::Dedupe {
        return;
    }
    section(out, "clusters", "Cluster sizes");
    let bars: Vec<(String, u64)> = report
        .cluster_sizes
        .iter()
        .map(|c| (format!("{} record{}", c.size, if c.size == 1 { "" } else { "s" }), c.clusters))
        .collect();
    out.push_str(&svg::count_bars("clusters per size", &bars));
    let mut table = Table::new(out, "sortable", &["records in the cluster#", "clusters#"]);
    for c in &report.cluster_sizes {
        table.row(&[Cell::Int(c.size), Cell::Int(c.clusters)]);
    }
    table.end();
}

fn weights(out: &mut String, report: &Report) {
    section(out, "weights", "Match weights");
    let _ = write!(
        out,
        r#"<p class="muted">Match weight of {}, in bins of {} bit{}; counts on a logarithmic scale. Dashed lines: the thresholds.</p>"#,
        esc(&report.weights.of),
        report.weights.width,
        if report.weights.width == 1.0 { "" } else { "s" }
    );
    out.push_str(&svg::histogram("distribution of match weights", &report.weights, &report.thresholds));
    let mut table = Table::new(out, "", &["threshold", "probability#", "weight (bits)#"]);
    for t in &report.thresholds {
        table.row(&[Cell::Text(&t.name), Cell::Real(t.probability, 3), Cell::Real(t.weight, 2)]);
    }
    table.end();
}

fn model(out: &mut String, report: &Report) {
    let model = &report.model;
    section(out, "model", "The model");
    let _ = write!(
        out,
        r#"<p>Fellegi-Sunter, {}. A level's weight is log<sub>2</sub>(m/u): how much more often it is seen among true matches (m) than among other pairs (u). Every pair starts at the prior, {:.4} ({:+.2} bits). Levels meaning a missing value carry no weight.</p>"#,
        if report.training.is_some() { "trained in this run without labels" } else { "given to the run" },
        model.prior,
        model.prior_weight()
    );
    for comparison in &model.comparisons {
        let _ = write!(out, r#"<h3>{}</h3><div class="comparison">"#, esc(&comparison.spec.name));
        let mut table = Table::new(out, "", &["level", "m#", "u#", "weight#"]);
        let mut bars = Vec::new();
        for (l, level) in comparison.levels.iter().enumerate() {
            let null = comparison.spec.null_level == Some(l as u8);
            let weight = if null { 0.0 } else { (level.m / level.u).log2() };
            table.row(&[
                Cell::Text(&level.name),
                Cell::Real(level.m, 4),
                Cell::Real(level.u, 6),
                Cell::Real(weight, 2),
            ]);
            if !null {
                bars.push((level.name.clone(), weight));
            }
        }
        table.end();
        out.push_str(&svg::signed_bars(&format!("weights of {}", comparison.spec.name), &bars));
        out.push_str("</div>");
    }
    if let Some(training) = &report.training {
        let _ = write!(
            out,
            "<h3>Training</h3><p>u from {} random pairs; m and the prior by EM, one session per blocking rule:</p>",
            grouped(training.random_pairs)
        );
        let mut table = Table::new(
            out,
            "sortable",
            &["session", "pairs#", "patterns#", "iterations#", "converged", "match share#"],
        );
        for s in &training.sessions {
            table.row(&[
                Cell::Text(&s.name),
                Cell::Int(s.pairs),
                Cell::Int(s.patterns as u64),
                Cell::Int(s.iterations as u64),
                Cell::Text(if s.converged { "yes" } else { "NO" }),
                Cell::Real(s.prior, 4),
            ]);
        }
        table.end();
    }
}

fn blocking(out: &mut String, report: &Report) {
    section(out, "blocking", "Blocking");
    out.push_str(
        r#"<p class="muted">New candidate pairs per rule (a pair found by an earlier rule counts there), and blocks the skew guard skipped as too large.</p>"#,
    );
    let mut table = Table::new(out, "sortable", &["rule", "new pairs#", "blocks capped#", "pairs capped#"]);
    for r in &report.blocking {
        table.row(&[
            Cell::Text(&r.rule),
            Cell::Int(r.pairs),
            Cell::Int(r.blocks_capped),
            Cell::Int(r.pairs_capped),
        ]);
    }
    table.end();
}

fn pair(out: &mut String, p: &SamplePair, left: &str, right: &str, open: bool) {
    let row = |r: Option<u64>| r.map(|r| format!(", row {r}")).unwrap_or_default();
    let _ = write!(
        out,
        r#"<details{}><summary><b>{}</b>{} &harr; <b>{}</b>{}: {:+.1} bits, probability {:.3}, {}</summary>"#,
        if open { " open" } else { "" },
        esc(&p.left_id),
        row(p.left_row),
        esc(&p.right_id),
        row(p.right_row),
        p.match_weight,
        p.match_probability,
        esc(&p.decision)
    );
    let mut table = Table::new(out, "", &["comparison", left, right, "level", "meaning", "weight#"]);
    for t in &p.terms {
        table.row(&[
            Cell::Text(&t.comparison),
            Cell::Text(&t.left_value),
            Cell::Text(&t.right_value),
            Cell::Text(&t.level),
            Cell::Text(&t.description),
            Cell::Real(t.weight, 1),
        ]);
    }
    table.end();
    out.push_str(&svg::waterfall(p));
    out.push_str("</details>");
}

fn samples(out: &mut String, report: &Report) {
    section(out, "samples", "Pairs near the thresholds");
    if report.samples.is_empty() {
        out.push_str(
            r#"<p class="muted">No pair was sampled (the report was asked to hold no records).</p>"#,
        );
        return;
    }
    out.push_str(r#"<p class="muted">Each pair's records side by side (normalized values, as compared) and how its match weight adds up from the prior.</p>"#);
    let (left, right) = match report.kind {
        RunKind::Dedupe => ("record", "other record"),
        _ => ("sector record", "national record"),
    };
    for group in &report.samples {
        let _ = write!(out, "<h3>{}</h3>", esc(&group.title));
        for (i, p) in group.pairs.iter().enumerate() {
            pair(out, p, left, right, i == 0);
        }
    }
}

fn times(out: &mut String, report: &Report) {
    section(out, "run", "The run");
    let mut table = Table::new(out, "", &["stage", "seconds#"]);
    for s in &report.seconds {
        table.row(&[Cell::Text(&s.stage), Cell::Real(s.seconds, 2)]);
    }
    table.end();
}

/// The whole page.
pub(super) fn render(report: &Report) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let kind = report.kind.as_str();
    let _ = write!(
        out,
        r#"<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"><title>khop {kind} report</title><style>{STYLE}</style></head><body>"#
    );
    let names: Vec<&str> = report.tables.iter().map(|t| t.name.as_str()).collect();
    let _ = write!(
        out,
        r#"<header><h1>khop {kind} report</h1><p>{} &middot; khop {}</p></header>"#,
        esc(&names.join(" \u{2192} ")),
        esc(&report.khop_version)
    );
    out.push_str(r##"<nav><a href="#inputs">Inputs</a>"##);
    for (present, id, label) in [
        (!report.decisions.is_empty(), "decisions", "Decisions"),
        (report.kind == RunKind::Reconcile, "conflicts", "Conflicts"),
        (report.kind == RunKind::Dedupe, "clusters", "Clusters"),
        (true, "weights", "Match weights"),
        (true, "model", "Model"),
        (true, "blocking", "Blocking"),
        (true, "samples", "Pairs near the thresholds"),
        (true, "run", "Run"),
    ] {
        if present {
            let _ = write!(out, r##"<a href="#{id}">{label}</a>"##);
        }
    }
    out.push_str("</nav><main>");
    figures(&mut out, report);
    for warning in &report.warnings {
        let _ = write!(out, r#"<div class="warning">{}</div>"#, esc(warning));
    }
    inputs(&mut out, report);
    decisions(&mut out, report);
    conflicts(&mut out, report);
    clusters(&mut out, report);
    weights(&mut out, report);
    model(&mut out, report);
    blocking(&mut out, report);
    samples(&mut out, report);
    times(&mut out, report);
    let _ = writeln!(out, "</main><script>{SCRIPT}</script></body></html>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_grouping() {
        assert_eq!(
            esc("Nguyễn <b>\"A&B\"</b> 'x'"),
            "Nguyễn &lt;b&gt;&quot;A&amp;B&quot;&lt;/b&gt; &#39;x&#39;"
        );
        assert!(matches!(esc("Trần Thị Bình"), Cow::Borrowed(_)));
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(number(-1500.0), "-1,500");
        assert_eq!(number(0.25), "0.25");
    }
}
