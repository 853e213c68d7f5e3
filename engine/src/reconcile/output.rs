//! The worklist and the unmatched records as Arrow record batches, for the `write` stage.

use std::sync::Arc;

use arrow_array::builder::{Float64Builder, StringBuilder, UInt64Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use super::{Conflict, Unmatched};
use crate::error::{Error, Result};
use crate::link::linker::Linker;
use crate::link::output::explanation_into;
use crate::normalize::prepared::PreparedRecords;
use crate::score::{Model, probability};

/// The schema of [`worklist_batch`].
pub fn worklist_schema() -> SchemaRef {
    let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    Arc::new(Schema::new(vec![
        text("source", false),
        text("sector_id", false),
        Field::new("sector_row", DataType::UInt64, true),
        text("national_record_id", false),
        Field::new("national_row", DataType::UInt64, true),
        text("field", false),
        text("conflict", false),
        text("sector_value", false),
        text("national_value", false),
        text("suggested_value", true),
    ]))
}

/// One row per conflict: the sector table's name (`source`), both records' ids and rows, the
/// field, the conflict type, both values and the suggested value.
pub fn worklist_batch(
    source: &str,
    left: &PreparedRecords,
    right: &PreparedRecords,
    conflicts: &[Conflict],
) -> Result<RecordBatch> {
    let n = conflicts.len();
    let strings = |bytes: usize| StringBuilder::with_capacity(n, n * bytes);
    let (mut src, mut sector_id, mut national_id) = (strings(8), strings(12), strings(12));
    let (mut sector_row, mut national_row) =
        (UInt64Builder::with_capacity(n), UInt64Builder::with_capacity(n));
    let (mut field, mut kind) = (strings(12), strings(12));
    let (mut sector_value, mut national_value, mut suggested) = (strings(24), strings(24), strings(24));
    for c in conflicts {
        src.append_value(source);
        sector_id.append_value(left.record_id(c.left));
        sector_row.append_option(left.row(c.left));
        national_id.append_value(right.record_id(c.right));
        national_row.append_option(right.row(c.right));
        field.append_value(c.field.as_str());
        kind.append_value(c.kind.as_str());
        sector_value.append_value(&c.sector_value);
        national_value.append_value(&c.national_value);
        suggested.append_option(c.suggested.as_deref());
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(src.finish()),
        Arc::new(sector_id.finish()),
        Arc::new(sector_row.finish()),
        Arc::new(national_id.finish()),
        Arc::new(national_row.finish()),
        Arc::new(field.finish()),
        Arc::new(kind.finish()),
        Arc::new(sector_value.finish()),
        Arc::new(national_value.finish()),
        Arc::new(suggested.finish()),
    ];
    RecordBatch::try_new(worklist_schema(), columns)
        .map_err(|e| Error::arrow("building the worklist batch", e))
}

/// The schema of [`unmatched_batch`].
pub fn unmatched_schema() -> SchemaRef {
    let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    let number = |name: &str| Field::new(name, DataType::Float64, true);
    Arc::new(Schema::new(vec![
        text("source", false),
        text("sector_id", false),
        Field::new("sector_row", DataType::UInt64, true),
        text("reason", false),
        text("closest_national_id", true),
        Field::new("closest_row", DataType::UInt64, true),
        number("closest_probability"),
        number("closest_weight"),
        text("second_national_id", true),
        number("second_probability"),
        number("margin"),
        text("explanation", true),
    ]))
}

/// One row per sector record not accepted: why, its closest national record (the best
/// candidate) with its probability and the explanation of its weight, and the runner-up.
pub fn unmatched_batch(
    source: &str,
    linker: &Linker<'_>,
    model: &Model,
    left: &PreparedRecords,
    right: &PreparedRecords,
    unmatched: &[Unmatched],
) -> Result<RecordBatch> {
    let n = unmatched.len();
    // Fitted once: every row's explanation then takes the model as it is.
    let fitted = linker.fit_model(model)?;
    let model: &Model = &fitted;
    let strings = |bytes: usize| StringBuilder::with_capacity(n, n * bytes);
    let (mut src, mut sector_id, mut reason) = (strings(8), strings(12), strings(12));
    let (mut closest, mut second, mut explanation) = (strings(12), strings(12), strings(96));
    let (mut sector_row, mut closest_row) =
        (UInt64Builder::with_capacity(n), UInt64Builder::with_capacity(n));
    let mut closest_probability = Float64Builder::with_capacity(n);
    let mut closest_weight = Float64Builder::with_capacity(n);
    let mut second_probability = Float64Builder::with_capacity(n);
    let mut margin = Float64Builder::with_capacity(n);
    let mut text = String::new();
    for u in unmatched {
        let r = &u.result;
        src.append_value(source);
        sector_id.append_value(left.record_id(r.left));
        sector_row.append_option(left.row(r.left));
        reason.append_value(u.reason.as_str());
        match r.best {
            Some(best) => {
                closest.append_value(right.record_id(best.right));
                closest_row.append_option(right.row(best.right));
                closest_probability.append_value(r.probability);
                closest_weight.append_value(best.weight);
                explanation_into(&linker.contributions(model, r.left, best.right)?, &mut text);
                explanation.append_value(&text);
            }
            None => {
                closest.append_null();
                closest_row.append_null();
                closest_probability.append_null();
                closest_weight.append_null();
                explanation.append_null();
            }
        }
        match r.second {
            Some(s) => {
                second.append_value(right.record_id(s.right));
                second_probability.append_value(probability(s.weight));
            }
            None => {
                second.append_null();
                second_probability.append_null();
            }
        }
        margin.append_option(r.margin);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(src.finish()),
        Arc::new(sector_id.finish()),
        Arc::new(sector_row.finish()),
        Arc::new(reason.finish()),
        Arc::new(closest.finish()),
        Arc::new(closest_row.finish()),
        Arc::new(closest_probability.finish()),
        Arc::new(closest_weight.finish()),
        Arc::new(second.finish()),
        Arc::new(second_probability.finish()),
        Arc::new(margin.finish()),
        Arc::new(explanation.finish()),
    ];
    RecordBatch::try_new(unmatched_schema(), columns)
        .map_err(|e| Error::arrow("building the worklist batch", e))
}
