//! Link results as Arrow record batches, for the `write` stage.

use std::fmt::Write;
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, StringBuilder, UInt64Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use super::LinkResult;
use super::linker::Linker;
use crate::error::{Error, Result};
use crate::normalize::prepared::PreparedRecords;
use crate::score::{Contribution, Model, probability};

/// Writes a pair's terms as one line into `out` (cleared first):
/// `name=exact (+7.9); date_of_birth=exact (+11.2); ...`.
pub fn explanation_into(terms: &[Contribution], out: &mut String) {
    out.clear();
    for term in terms {
        push_term(out, &term.comparison, &term.level, term.weight);
    }
}

/// Appends one term of an explanation (`name=exact (+7.9)`) to `out`, after `; ` unless first.
fn push_term(out: &mut String, comparison: &str, level: &str, weight: f64) {
    if !out.is_empty() {
        out.push_str("; ");
    }
    let _ = write!(out, "{comparison}={level} ({weight:+.1})");
}

/// The schema of [`links_batch`]: fixed columns, then one column per comparison holding the level
/// of the best pair.
pub fn links_schema(linker: &Linker<'_>) -> SchemaRef {
    links_schema_for(linker.comparisons().comparisons().iter().map(|c| c.name()))
}

/// The schema of the links of comparisons named `comparisons`, in that order: for a caller that
/// must know the columns before any record is read (a Spark job declares its output's schema
/// first: a link with a model has the model's comparisons).
pub fn links_schema_for<'a>(comparisons: impl IntoIterator<Item = &'a str>) -> SchemaRef {
    let mut fields = vec![
        Field::new("left_id", DataType::Utf8, false),
        Field::new("left_row", DataType::UInt64, true),
        Field::new("right_id", DataType::Utf8, true),
        Field::new("right_row", DataType::UInt64, true),
        Field::new("match_weight", DataType::Float64, true),
        Field::new("match_probability", DataType::Float64, false),
        Field::new("second_right_id", DataType::Utf8, true),
        Field::new("second_probability", DataType::Float64, true),
        Field::new("margin", DataType::Float64, true),
        Field::new("ambiguous", DataType::Boolean, false),
        Field::new("decision", DataType::Utf8, false),
        Field::new("explanation", DataType::Utf8, true),
    ];
    for name in comparisons {
        fields.push(Field::new(format!("level_{name}"), DataType::Utf8, true));
    }
    Arc::new(Schema::new(fields))
}

/// One row per result: ids and rows of both records, weight, probability, the runner-up, the
/// decision, a readable explanation (`name=exact (+7.9); date_of_birth=exact (+11.2); ...`) and the
/// level of each comparison for the best pair.
pub fn links_batch(
    linker: &Linker<'_>,
    model: &Model,
    left: &PreparedRecords,
    right: &PreparedRecords,
    results: &[LinkResult],
) -> Result<RecordBatch> {
    let n = results.len();
    // Fitted once: every row's explanation then takes the model as it is.
    let fitted = linker.fit_model(model)?;
    let model: &Model = &fitted;
    let mut left_id = StringBuilder::with_capacity(n, n * 12);
    let mut left_row = UInt64Builder::with_capacity(n);
    let mut right_id = StringBuilder::with_capacity(n, n * 12);
    let mut right_row = UInt64Builder::with_capacity(n);
    let mut weight = Float64Builder::with_capacity(n);
    let mut prob = Float64Builder::with_capacity(n);
    let mut second_id = StringBuilder::with_capacity(n, n * 12);
    let mut second_prob = Float64Builder::with_capacity(n);
    let mut margin = Float64Builder::with_capacity(n);
    let mut ambiguous = BooleanBuilder::with_capacity(n);
    let mut decision = StringBuilder::with_capacity(n, n * 8);
    let mut explanation = StringBuilder::with_capacity(n, n * 96);
    let mut levels: Vec<StringBuilder> =
        (0..linker.comparisons().len()).map(|_| StringBuilder::with_capacity(n, n * 8)).collect();
    let mut text = String::new();
    // Every best pair's levels and terms at once, in result order.
    let pairs: Vec<(u32, u32)> = results.iter().filter_map(|r| r.best.map(|b| (r.left, b.right))).collect();
    let (mut vector, mut terms) = (Vec::new(), Vec::new());
    linker.terms_serial(model, &pairs, &mut vector, &mut terms);
    let width = levels.len();
    let mut next = 0;

    for result in results {
        left_id.append_value(left.record_id(result.left));
        left_row.append_option(left.row(result.left));
        match result.best {
            Some(best) => {
                right_id.append_value(right.record_id(best.right));
                right_row.append_option(right.row(best.right));
                weight.append_value(best.weight);
                let span = next * width..(next + 1) * width;
                next += 1;
                text.clear();
                for (c, (&level, &term)) in vector[span.clone()].iter().zip(&terms[span]).enumerate() {
                    let params = &model.comparisons[c];
                    let name = &params.levels[usize::from(level)].name;
                    levels[c].append_value(name);
                    push_term(&mut text, &params.spec.name, name, term);
                }
                explanation.append_value(&text);
            }
            None => {
                right_id.append_null();
                right_row.append_null();
                weight.append_null();
                explanation.append_null();
                levels.iter_mut().for_each(StringBuilder::append_null);
            }
        }
        prob.append_value(result.probability);
        match result.second {
            Some(second) => {
                second_id.append_value(right.record_id(second.right));
                second_prob.append_value(probability(second.weight));
            }
            None => {
                second_id.append_null();
                second_prob.append_null();
            }
        }
        margin.append_option(result.margin);
        ambiguous.append_value(result.ambiguous);
        decision.append_value(result.decision.as_str());
    }
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(left_id.finish()),
        Arc::new(left_row.finish()),
        Arc::new(right_id.finish()),
        Arc::new(right_row.finish()),
        Arc::new(weight.finish()),
        Arc::new(prob.finish()),
        Arc::new(second_id.finish()),
        Arc::new(second_prob.finish()),
        Arc::new(margin.finish()),
        Arc::new(ambiguous.finish()),
        Arc::new(decision.finish()),
        Arc::new(explanation.finish()),
    ];
    columns.extend(levels.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    RecordBatch::try_new(links_schema(linker), columns)
        .map_err(|e| Error::arrow("building the links batch", e))
}
