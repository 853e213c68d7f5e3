//! Clerical review: the pairs of a link a clerk should settle, and the clerk's answers.
//!
//! [`crate::session::LinkRun::review`] picks the pairs the model is least sure of: best
//! candidates whose match weight is nearest a threshold, the runners-up of ambiguous records, and
//! national records claimed by several sector records. Pairs already labelled, or implied by the
//! labels (a sector record labelled the match of one national record is not the match of
//! another), are skipped. A [`Review`] is written for the clerk without the model's score, so
//! that the clerk is not led: as CSV with an empty `label` column, or as one offline HTML page
//! ([`Review::to_html`]) whose buttons record the answers and save them as a labels file.
//!
//! The answers ([`Labels`]) then score a run (`crate::eval::label_scores`) and improve training
//! ([`crate::session::Session::train_with_labels`]).

mod labels;
mod page;

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray, UInt32Array};
use arrow_schema::{DataType, Field, Schema};
use serde::Serialize;

pub use labels::{Label, LabelCounts, Labels};

use crate::error::Result;
use crate::link::LinkResult;
use crate::reconcile::explain::explain_pair;
use crate::report::weight_of;
use crate::session::LinkRun;

/// Why a pair is shown to a clerk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewReason {
    /// Its match weight is near the match threshold.
    NearMatchThreshold,
    /// Its match weight is near the review threshold.
    NearReviewThreshold,
    /// The sector record's two best candidates are close: this is the runner-up or the best.
    Ambiguous,
    /// Several sector records have this national record as their best candidate.
    SharedClaim,
}

impl ReviewReason {
    /// The name written in exports.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewReason::NearMatchThreshold => "near_match_threshold",
            ReviewReason::NearReviewThreshold => "near_review_threshold",
            ReviewReason::Ambiguous => "ambiguous",
            ReviewReason::SharedClaim => "shared_claim",
        }
    }

    /// The reason in words, for the clerk's page.
    pub fn describe(self) -> &'static str {
        match self {
            ReviewReason::NearMatchThreshold | ReviewReason::NearReviewThreshold => "the model is unsure",
            ReviewReason::Ambiguous => "another candidate is about as close",
            ReviewReason::SharedClaim => "several records claim the same citizen",
        }
    }
}

/// One field of a pair, both values as compared.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReviewField {
    /// The comparison's name (`name`, `date_of_birth`...).
    pub field: String,
    /// The sector record's value.
    pub left: String,
    /// The national record's value.
    pub right: String,
}

/// A pair for a clerk: both records side by side, and why it is shown; no score.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReviewItem {
    /// The sector record's id.
    pub left_id: String,
    /// The national record's id.
    pub right_id: String,
    /// Why it is shown.
    pub reason: ReviewReason,
    /// Both records' values, field by field.
    pub fields: Vec<ReviewField>,
}

/// The pairs a clerk should settle, in the order to show them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Review {
    /// The sector table's name.
    pub sector: String,
    /// The national table's name.
    pub national: String,
    /// The pairs.
    pub items: Vec<ReviewItem>,
    /// Candidate pairs left out because they were labelled already.
    pub skipped_labelled: u64,
    /// Candidate pairs left out because earlier answers settle them.
    pub skipped_implied: u64,
}

/// A candidate pair for review and how urgently it needs a person: its distance in bits to the
/// nearest threshold, halved for ambiguous records and shared claims (their own weight may be
/// far from a threshold while the choice between candidates is not).
struct Candidate {
    left: u32,
    right: u32,
    reason: ReviewReason,
    urgency: f64,
}

fn candidates(run: &LinkRun) -> Vec<Candidate> {
    let t = &run.settings().thresholds;
    let (w_match, w_review) = (weight_of(t.match_probability), weight_of(t.review_probability));
    let near = |w: f64| {
        let (dm, dr) = ((w - w_match).abs(), (w - w_review).abs());
        if dm <= dr { (ReviewReason::NearMatchThreshold, dm) } else { (ReviewReason::NearReviewThreshold, dr) }
    };
    let results = run.results();
    // National records that are the best candidate of more than one sector record whose best is
    // at least worth a review.
    let mut claims: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
    let claimed = |r: &LinkResult| r.best.filter(|_| r.probability >= t.review_probability);
    for r in results {
        if let Some(best) = claimed(r) {
            *claims.entry(best.right).or_default() += 1;
        }
    }
    let mut out = Vec::new();
    for r in results {
        let Some(best) = r.best else { continue };
        let (mut reason, distance) = near(best.weight);
        let mut urgency = distance;
        if claimed(r).is_some() && claims.get(&best.right).is_some_and(|&n| n > 1) {
            reason = ReviewReason::SharedClaim;
            urgency = distance / 2.0;
        } else if r.ambiguous {
            reason = ReviewReason::Ambiguous;
            urgency = distance / 2.0;
        }
        out.push(Candidate { left: r.left, right: best.right, reason, urgency });
        if r.ambiguous
            && let Some(second) = r.second
        {
            out.push(Candidate {
                left: r.left,
                right: second.right,
                reason: ReviewReason::Ambiguous,
                urgency: near(second.weight).1 / 2.0,
            });
        }
    }
    out.sort_by(|a, b| a.urgency.total_cmp(&b.urgency).then(a.left.cmp(&b.left)).then(a.right.cmp(&b.right)));
    out
}

/// The `pairs` pairs of `run` a clerk should settle first, none of them settled by `labels`.
pub(crate) fn select(run: &LinkRun, labels: &Labels, pairs: usize) -> Result<Review> {
    let linker = run.linker()?;
    let (sector, national) = (run.sector().records(), run.national().records());
    let mut review = Review {
        sector: run.sector().name().to_owned(),
        national: run.national().name().to_owned(),
        items: Vec::with_capacity(pairs),
        skipped_labelled: 0,
        skipped_implied: 0,
    };
    let mut seen = std::collections::HashSet::new();
    for c in candidates(run) {
        if review.items.len() >= pairs {
            break;
        }
        if !seen.insert((c.left, c.right)) {
            continue;
        }
        let (left_id, right_id) = (sector.record_id(c.left), national.record_id(c.right));
        if labels.get(left_id, right_id).is_some() {
            review.skipped_labelled += 1;
            continue;
        }
        if labels.implied(left_id, right_id).is_some() {
            review.skipped_implied += 1;
            continue;
        }
        let explained = explain_pair(&linker, run.model(), sector, national, c.left, c.right)?;
        review.items.push(ReviewItem {
            left_id: left_id.to_owned(),
            right_id: right_id.to_owned(),
            reason: c.reason,
            fields: explained
                .comparisons
                .into_iter()
                .map(|e| ReviewField { field: e.comparison, left: e.left_value, right: e.right_value })
                .collect(),
        });
    }
    Ok(review)
}

impl Review {
    /// The pairs as one table: `pair` (1-based), `left_id`, `right_id`, `reason`, then
    /// `left_<field>` and `right_<field>` for every field, then an empty `label` column for the
    /// clerk (a file with it filled in is a labels file).
    pub fn batch(&self) -> Result<RecordBatch> {
        let fields: Vec<&str> =
            self.items.first().map(|i| i.fields.iter().map(|f| f.field.as_str()).collect()).unwrap_or_default();
        let mut schema = vec![
            Field::new("pair", DataType::UInt32, false),
            Field::new("left_id", DataType::Utf8, false),
            Field::new("right_id", DataType::Utf8, false),
            Field::new("reason", DataType::Utf8, false),
        ];
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(UInt32Array::from_iter_values(1..=self.items.len() as u32)),
            Arc::new(StringArray::from_iter_values(self.items.iter().map(|i| i.left_id.as_str()))),
            Arc::new(StringArray::from_iter_values(self.items.iter().map(|i| i.right_id.as_str()))),
            Arc::new(StringArray::from_iter_values(self.items.iter().map(|i| i.reason.as_str()))),
        ];
        for (f, name) in fields.iter().enumerate() {
            for (side, value) in [("left", 0), ("right", 1)] {
                schema.push(Field::new(format!("{side}_{name}"), DataType::Utf8, false));
                columns.push(Arc::new(StringArray::from_iter_values(self.items.iter().map(|i| {
                    let field = &i.fields[f];
                    if value == 0 { field.left.as_str() } else { field.right.as_str() }
                }))));
            }
        }
        schema.push(Field::new("label", DataType::Utf8, false));
        columns.push(Arc::new(StringArray::from_iter_values(self.items.iter().map(|_| ""))));
        RecordBatch::try_new(Arc::new(Schema::new(schema)), columns)
            .map_err(|e| crate::error::Error::arrow("building the review batch", e))
    }

    /// The clerk's page: one self-contained HTML file (no network request) showing each pair's
    /// records side by side with three buttons (match, not a match, unsure; keys `m`, `n`, `u`),
    /// keeping the answers in the browser's storage for this file, and saving them as a labels
    /// file (`labels.csv`: `left_id,right_id,label`).
    pub fn to_html(&self) -> String {
        page::render(self)
    }

    /// Writes the review to `path`: the page when its extension is `.html` or `.htm`, else the
    /// table (CSV, Parquet or NDJSON by extension). Returns the pairs written.
    pub fn write(&self, path: &Path) -> Result<usize> {
        let html = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
        if html {
            crate::write::write_atomic(path, self.to_html())?;
        } else {
            let batch = self.batch()?;
            crate::session::write_batches(path, batch.schema(), [Ok(batch)])?;
        }
        Ok(self.items.len())
    }
}
