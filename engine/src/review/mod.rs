//! Clerical review: the pairs of a link a clerk should settle, and the clerk's answers.
//!
//! [`crate::session::LinkRun::review`] (the choosing lives in the session, which owns the runs)
//! picks the pairs the model is least sure of: best
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

impl Review {
    /// The pairs as one table: `pair` (1-based), `left_id`, `right_id`, `reason`, then
    /// `left_<field>` and `right_<field>` for every field, then an empty `label` column for the
    /// clerk (a file with it filled in is a labels file).
    pub fn batch(&self) -> Result<RecordBatch> {
        let fields: Vec<&str> = self
            .items
            .first()
            .map(|i| i.fields.iter().map(|f| f.field.as_str()).collect())
            .unwrap_or_default();
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
            let mut writer = crate::write::Writer::create(path, batch.schema(), &Default::default())?;
            writer.write(&batch)?;
            writer.finish()?;
        }
        Ok(self.items.len())
    }
}
