//! The report's charts, as inline SVG: signed horizontal bars (weights), a histogram with
//! threshold lines, a waterfall of one pair's match weight, and plain count bars. Every chart
//! scales to its container (`viewBox`, width 100%) and carries a `<title>` for screen readers.

use std::fmt::Write;

use super::html::esc;
use super::{Histogram, SamplePair, Threshold};

const WIDTH: f64 = 640.0;
const LABEL: f64 = 190.0;
const ROW: f64 = 20.0;
const FONT: &str = r#"font-size="11""#;

fn open(out: &mut String, height: f64, title: &str) {
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img"><title>{}</title>"#,
        esc(title)
    );
}

/// One labelled horizontal bar from `x0` to `x1` in row `row`, with `shown` written after it.
fn bar_row(out: &mut String, row: usize, label: &str, (x0, x1): (f64, f64), class: &str, shown: f64) {
    let y = ROW * row as f64 + 4.0;
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="end" {FONT}>{}</text><rect class="{class}" x="{x0:.1}" y="{y:.1}" width="{:.1}" height="{:.1}"/><text x="{:.1}" y="{:.1}" {FONT}>{shown:+.1}</text>"#,
        LABEL - 6.0,
        y + 12.0,
        esc(label),
        (x1 - x0).max(0.5),
        ROW - 6.0,
        x1 + 4.0,
        y + 12.0,
    );
}

/// The zero line of a chart of signed bars at `x`, labelled under the bars, and the chart's end.
fn zero_axis(out: &mut String, x: f64, height: f64) {
    let _ = write!(
        out,
        r#"<line class="axis" x1="{x:.1}" x2="{x:.1}" y1="0" y2="{:.1}"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" {FONT}>0 bits</text></svg>"#,
        height - 17.0,
        height - 3.0
    );
}

/// Horizontal bars of signed values (bits) around a zero line: positive green, negative red.
pub(super) fn signed_bars(title: &str, items: &[(String, f64)]) -> String {
    let mut out = String::new();
    let height = ROW * items.len() as f64 + 24.0;
    open(&mut out, height, title);
    let lo = items.iter().map(|i| i.1).fold(0.0f64, f64::min).floor();
    let hi = items.iter().map(|i| i.1).fold(0.0f64, f64::max).ceil();
    let span = (hi - lo).max(1.0);
    let plot = WIDTH - LABEL - 60.0;
    let x = |v: f64| LABEL + (v - lo) / span * plot;
    for (row, (label, value)) in items.iter().enumerate() {
        let bounds = (x(0.0).min(x(*value)), x(0.0).max(x(*value)));
        bar_row(&mut out, row, label, bounds, if *value >= 0.0 { "pos" } else { "neg" }, *value);
    }
    zero_axis(&mut out, x(0.0), height);
    out
}

/// Horizontal bars of counts (linear scale), each with its number.
pub(super) fn count_bars(title: &str, items: &[(String, u64)]) -> String {
    let mut out = String::new();
    let height = ROW * items.len() as f64 + 8.0;
    open(&mut out, height, title);
    let max = items.iter().map(|i| i.1).max().unwrap_or(0).max(1) as f64;
    let plot = WIDTH - LABEL - 90.0;
    for (row, (label, count)) in items.iter().enumerate() {
        let y = ROW * row as f64 + 4.0;
        let w = *count as f64 / max * plot;
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" {FONT}>{}</text><rect class="bar" x="{LABEL}" y="{y:.1}" width="{:.1}" height="{:.1}"/><text x="{:.1}" y="{:.1}" {FONT}>{count}</text>"#,
            LABEL - 6.0,
            y + 12.0,
            esc(label),
            w.max(0.5),
            ROW - 6.0,
            LABEL + w + 4.0,
            y + 12.0,
        );
    }
    out.push_str("</svg>");
    out
}

/// The histogram of match weights on a logarithmic count scale (non-matches outnumber matches by
/// orders of magnitude), with a dashed line at each threshold.
pub(super) fn histogram(title: &str, h: &Histogram, thresholds: &[Threshold]) -> String {
    let mut out = String::new();
    let (height, top, bottom, left) = (240.0, 16.0, 28.0, 48.0);
    open(&mut out, height, title);
    let plot_w = WIDTH - left - 12.0;
    let plot_h = height - top - bottom;
    let bins = h.counts.len().max(1) as f64;
    let end = h.start + h.width * bins;
    let x = |w: f64| left + (w - h.start) / (end - h.start) * plot_w;
    let max = h.counts.iter().copied().max().unwrap_or(0);
    let scale = ((max as f64) + 1.0).log10().max(1.0);
    let y = |c: u64| top + plot_h - ((c as f64) + 1.0).log10() / scale * plot_h;
    for (i, &count) in h.counts.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let x0 = x(h.start + h.width * i as f64);
        let _ = write!(
            out,
            r#"<rect class="bar" x="{x0:.1}" y="{:.1}" width="{:.1}" height="{:.1}"><title>{:+} to {:+} bits: {count}</title></rect>"#,
            y(count),
            (plot_w / bins - 1.0).max(0.5),
            top + plot_h - y(count),
            h.start + h.width * i as f64,
            h.start + h.width * (i + 1) as f64,
        );
    }
    // Count axis: powers of ten.
    let mut power = 1u64;
    while power <= max.max(1) {
        let _ = write!(
            out,
            r#"<line class="grid" x1="{left}" x2="{0:.1}" y1="{1:.1}" y2="{1:.1}"/><text x="{2:.1}" y="{3:.1}" text-anchor="end" {FONT}>{power}</text>"#,
            left + plot_w,
            y(power),
            left - 4.0,
            y(power) + 4.0,
        );
        power = match power.checked_mul(10) {
            Some(p) => p,
            None => break,
        };
    }
    // Weight axis: about eight ticks.
    let step = ((end - h.start) / 8.0).ceil().max(1.0);
    let mut tick = (h.start / step).ceil() * step;
    while tick <= end {
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" {FONT}>{tick}</text>"#,
            x(tick),
            height - bottom + 14.0
        );
        tick += step;
    }
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" {FONT}>match weight (bits)</text>"#,
        left + plot_w / 2.0,
        height - 2.0
    );
    for (i, t) in thresholds.iter().enumerate() {
        let _ = write!(
            out,
            r#"<line class="threshold" x1="{0:.1}" x2="{0:.1}" y1="{top}" y2="{1:.1}"/><text class="threshold-label" x="{2:.1}" y="{3:.1}" {FONT}>{4} {5}</text>"#,
            x(t.weight),
            top + plot_h,
            x(t.weight) + 3.0,
            top + 10.0 + 13.0 * i as f64,
            esc(&t.name),
            t.probability,
        );
    }
    out.push_str("</svg>");
    out
}

/// How one pair's match weight adds up: the prior, then each comparison's term as a step, then
/// the total, on one weight axis.
pub(super) fn waterfall(pair: &SamplePair) -> String {
    let mut steps: Vec<(String, f64, f64)> = Vec::with_capacity(pair.terms.len() + 2);
    steps.push(("prior".into(), 0.0, pair.prior_weight));
    let mut running = pair.prior_weight;
    for term in &pair.terms {
        steps.push((format!("{} ({})", term.comparison, term.level), running, running + term.weight));
        running += term.weight;
    }
    steps.push(("match weight".into(), 0.0, pair.match_weight));
    let lo = steps.iter().flat_map(|s| [s.1, s.2]).fold(0.0f64, f64::min).floor();
    let hi = steps.iter().flat_map(|s| [s.1, s.2]).fold(0.0f64, f64::max).ceil();
    let span = (hi - lo).max(1.0);
    let plot = WIDTH - LABEL - 60.0;
    let x = |v: f64| LABEL + (v - lo) / span * plot;
    let height = ROW * steps.len() as f64 + 22.0;
    let mut out = String::new();
    open(&mut out, height, &format!("match weight of {} and {}", pair.left_id, pair.right_id));
    for (row, (label, from, to)) in steps.iter().enumerate() {
        let total = row == 0 || row == steps.len() - 1;
        let class = if total {
            "total"
        } else if to >= from {
            "pos"
        } else {
            "neg"
        };
        let shown = if total { *to } else { to - from };
        bar_row(&mut out, row, label, (x(from.min(*to)), x(from.max(*to))), class, shown);
    }
    zero_axis(&mut out, x(0.0), height);
    out
}
