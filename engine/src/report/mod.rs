//! The report: what a link, dedupe or reconcile run did, for a person who signs it off, as one
//! self-contained HTML file.
//!
//! A run gathers its [`Report`] (counts, the model, blocking, the distribution of match weights
//! with the thresholds, decisions and reasons, conflicts or cluster sizes, and a sample of pairs
//! near each threshold with their weight waterfalls: see [`crate::session::LinkRun::report`] and
//! its siblings; the gathering lives in the session, which owns the runs). [`Report::to_html`] renders it: inline CSS and SVG, a few lines of inline
//! script that sort the tables, no network request of any kind (government networks are often
//! air-gapped), nothing that depends on the number of records but the numbers themselves.
//!
//! A report serializes to JSON ([`Report::to_json`]) and back ([`Report::from_json`]), so that
//! `khop report` can render one written by an earlier run.
//!
//! The sampled pairs are records of people: a report holding them is as sensitive as the links.
//! [`ReportOptions::samples`] set to 0 leaves them out.

pub(crate) mod html;
mod svg;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::link::linker::TrainingReport;
use crate::score::Model;

/// The format name in a report's JSON.
pub const REPORT_FORMAT: &str = "khop-report";
/// The version of the report's JSON layout.
pub const REPORT_VERSION: u32 = 1;

/// What a report holds beyond counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportOptions {
    /// Pairs sampled near each threshold (0 leaves every record out of the report).
    pub samples: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions { samples: 8 }
    }
}

/// Which kind of run a report describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// `khop link`.
    Link,
    /// `khop dedupe`.
    Dedupe,
    /// `khop reconcile`.
    Reconcile,
}

impl RunKind {
    /// The command's name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Link => "link",
            RunKind::Dedupe => "dedupe",
            RunKind::Reconcile => "reconcile",
        }
    }
}

/// One key number of a run, shown at the top of the report (and marked in the HTML with
/// `data-key`, so that a test or a script can read it back).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// A stable name (`rows_read`, `pairs_scored`, `match`...).
    pub key: String,
    /// What it counts, in words.
    pub label: String,
    /// The number.
    pub value: f64,
}

/// A named count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Count {
    /// What is counted.
    pub name: String,
    /// How many.
    pub count: u64,
}

/// One input table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableFacts {
    /// Its role in the run (`sector`, `national`, `table`).
    pub role: String,
    /// Its name.
    pub name: String,
    /// Its file (or index folder), as given.
    pub path: String,
    /// Rows read.
    pub rows_read: u64,
    /// Records prepared.
    pub records: u64,
    /// Rows rejected.
    pub rows_rejected: u64,
    /// Rejected rows per reason code (`invalid_utf8`, `missing_id`...).
    pub rejected_by_reason: Vec<Count>,
    /// Records whose id repeats an earlier record's.
    pub duplicate_ids: u64,
}

/// A decision threshold, as a probability and as a match weight.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// Its name (`match`, `review`, `link`).
    pub name: String,
    /// The probability.
    pub probability: f64,
    /// The same threshold in bits: `log2(p / (1 - p))`.
    pub weight: f64,
}

/// Counts of match weights in bins of equal width.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Which weights are counted, in words.
    pub of: String,
    /// The lower edge of the first bin, in bits.
    pub start: f64,
    /// The width of a bin, in bits.
    pub width: f64,
    /// Weights per bin; a weight beyond the last edge counts in the last bin, one below the first
    /// edge in the first.
    pub counts: Vec<u64>,
}

/// One comparison of a sampled pair.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleTerm {
    /// The comparison.
    pub comparison: String,
    /// The left record's value (normalized, as compared).
    pub left_value: String,
    /// The right record's value.
    pub right_value: String,
    /// The level reached.
    pub level: String,
    /// The level in words.
    pub description: String,
    /// Its term in the match weight, in bits.
    pub weight: f64,
}

/// A sampled pair: both records side by side and how their match weight adds up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SamplePair {
    /// The left record's id.
    pub left_id: String,
    /// Its 1-based row in its file.
    pub left_row: Option<u64>,
    /// The right record's id.
    pub right_id: String,
    /// Its 1-based row in its file.
    pub right_row: Option<u64>,
    /// The decision the run took for it.
    pub decision: String,
    /// Where every pair starts, in bits.
    pub prior_weight: f64,
    /// The pair's match weight.
    pub match_weight: f64,
    /// The match weight as a probability.
    pub match_probability: f64,
    /// One term per comparison, in comparison order.
    pub terms: Vec<SampleTerm>,
}

/// Sampled pairs near one threshold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleGroup {
    /// What the pairs have in common.
    pub title: String,
    /// The pairs, nearest the threshold first.
    pub pairs: Vec<SamplePair>,
}

/// Worklist lines of one field and conflict type (reconcile).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConflictCount {
    /// The field.
    pub field: String,
    /// The conflict type.
    pub kind: String,
    /// Lines.
    pub count: u64,
}

/// Clusters of one size (dedupe).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterSize {
    /// Records in the cluster.
    pub size: u64,
    /// Clusters of that size.
    pub clusters: u64,
}

/// Candidate pairs of one blocking rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleFacts {
    /// The rule's name.
    pub rule: String,
    /// New candidate pairs it produced.
    pub pairs: u64,
    /// Blocks skipped by the skew guard.
    pub blocks_capped: u64,
    /// Pairs in the skipped blocks.
    pub pairs_capped: u64,
}

/// Seconds of one stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageTime {
    /// The stage.
    pub stage: String,
    /// Seconds.
    pub seconds: f64,
}

/// Everything a report shows. Built by a run, rendered by [`Report::to_html`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`REPORT_FORMAT`].
    pub format: String,
    /// [`REPORT_VERSION`] when written.
    pub version: u32,
    /// The khop version that ran.
    pub khop_version: String,
    /// The kind of run.
    pub kind: RunKind,
    /// The key numbers.
    pub figures: Vec<Figure>,
    /// The inputs.
    pub tables: Vec<TableFacts>,
    /// The model the pairs were scored with.
    pub model: Model,
    /// What training did, when the model was trained in the run.
    pub training: Option<TrainingReport>,
    /// Pairs per blocking rule.
    pub blocking: Vec<RuleFacts>,
    /// The thresholds.
    pub thresholds: Vec<Threshold>,
    /// Match weights.
    pub weights: Histogram,
    /// Decisions counted (link and reconcile).
    pub decisions: Vec<Count>,
    /// Why records were not accepted (link and reconcile).
    pub reasons: Vec<Count>,
    /// Worklist lines per field and type (reconcile).
    pub conflicts: Vec<ConflictCount>,
    /// Clusters per size (dedupe).
    pub cluster_sizes: Vec<ClusterSize>,
    /// Pairs near each threshold.
    pub samples: Vec<SampleGroup>,
    /// Seconds per stage.
    pub seconds: Vec<StageTime>,
    /// What deserves a person's attention.
    pub warnings: Vec<String>,
}

impl Report {
    /// The report as one self-contained HTML page.
    pub fn to_html(&self) -> String {
        html::render(self)
    }

    /// The report as JSON, for `khop report` to render later.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serializes")
    }

    /// A report saved by [`Report::to_json`]; another format or version is refused.
    pub fn from_json(text: &str) -> Result<Report> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| Error::invalid(format!("not a khop report: {e}")))?;
        match value.get("format").and_then(|f| f.as_str()) {
            Some(REPORT_FORMAT) => {}
            _ => {
                return Err(Error::invalid(format!(
                    "not a khop report: its `format` is not \"{REPORT_FORMAT}\""
                )));
            }
        }
        match value.get("version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(REPORT_VERSION) => {}
            other => {
                return Err(Error::invalid(format!(
                    "a khop report of version {}; this khop reads version {REPORT_VERSION}",
                    other.map(|v| v.to_string()).unwrap_or_else(|| "?".into())
                )));
            }
        }
        serde_json::from_value(value).map_err(|e| Error::invalid(format!("not a khop report: {e}")))
    }

    /// The figure named `key`.
    pub fn figure(&self, key: &str) -> Option<f64> {
        self.figures.iter().find(|f| f.key == key).map(|f| f.value)
    }

    /// Writes the report to `path`: JSON when its extension is `.json`, HTML otherwise.
    pub fn write(&self, path: &std::path::Path) -> Result<()> {
        let json = path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let text = if json { self.to_json() } else { self.to_html() };
        crate::write::write_atomic(path, text)
    }
}

/// A probability as a match weight in bits, clamped to ±64 for probabilities of 0 and 1.
pub(crate) fn weight_of(probability: f64) -> f64 {
    let p = probability.clamp(f64::MIN_POSITIVE, 1.0 - f64::EPSILON);
    (p / (1.0 - p)).log2().clamp(-64.0, 64.0)
}

/// Counts `weights` in bins of one bit (wider when the range is wide: at most 80 bins), over the
/// range they take and the thresholds.
pub(crate) fn histogram(of: &str, weights: &[f64], thresholds: &[Threshold]) -> Histogram {
    const MAX_BINS: f64 = 80.0;
    let finite = weights.iter().copied().filter(|w| w.is_finite());
    let (mut lo, mut hi) =
        finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), w| (lo.min(w), hi.max(w)));
    for t in thresholds {
        lo = lo.min(t.weight);
        hi = hi.max(t.weight);
    }
    if !lo.is_finite() || !hi.is_finite() {
        return Histogram { of: of.to_owned(), start: 0.0, width: 1.0, counts: Vec::new() };
    }
    let start = lo.floor();
    let width = ((hi.floor() + 1.0 - start) / MAX_BINS).ceil().max(1.0);
    let bins = (((hi.floor() + 1.0 - start) / width).ceil() as usize).max(1);
    let mut counts = vec![0u64; bins];
    for w in weights.iter().copied().filter(|w| w.is_finite()) {
        let bin = (((w - start) / width).floor().max(0.0) as usize).min(bins - 1);
        counts[bin] += 1;
    }
    Histogram { of: of.to_owned(), start, width, counts }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn threshold(name: &str, p: f64) -> Threshold {
        Threshold { name: name.into(), probability: p, weight: weight_of(p) }
    }

    #[test]
    fn every_weight_lands_in_one_bin_and_the_thresholds_are_in_range() {
        let weights = [-12.3, -0.5, 0.0, 3.2, 3.9, 27.0, f64::NAN];
        let t = [threshold("match", 0.9), threshold("review", 0.5)];
        let h = histogram("best candidates", &weights, &t);
        assert_eq!(h.counts.iter().sum::<u64>(), 6, "NaN is left out, every other weight counted");
        assert_eq!(h.start, -13.0);
        assert_eq!(h.width, 1.0);
        assert_eq!(h.counts[(3.2f64 - h.start) as usize], 2, "3.2 and 3.9 share the bin [3, 4)");
        let end = h.start + h.width * h.counts.len() as f64;
        assert!(end > 27.0 && h.start <= t[1].weight);
    }

    #[test]
    fn a_wide_range_gets_wider_bins_and_no_more_than_eighty() {
        let weights: Vec<f64> = (-100..=200).map(f64::from).collect();
        let h = histogram("w", &weights, &[]);
        assert!(h.counts.len() <= 80, "{} bins", h.counts.len());
        assert_eq!(h.counts.iter().sum::<u64>(), weights.len() as u64);
        assert!(h.width >= 4.0);
    }

    #[test]
    fn no_weight_gives_an_empty_histogram() {
        let h = histogram("w", &[], &[]);
        assert!(h.counts.is_empty());
    }

    #[test]
    fn thresholds_in_bits() {
        assert!((weight_of(0.5)).abs() < 1e-12);
        assert!((weight_of(0.9) - 9f64.log2()).abs() < 1e-12);
        assert_eq!(weight_of(1.0), weight_of(1.0 - f64::EPSILON));
        assert!(weight_of(0.0) >= -64.0);
    }
}
