//! Explanations of one pair for people: for each comparison, both records' normalized values,
//! the level the pair reached in words, and what that level weighs in the match weight.
//!
//! ```text
//! comparison      sector value          national value        level                          weight
//! name            Nguyen Van An         Nguyễn Văn An         same letters, accents differ     +9.8
//! date_of_birth   1990-05-03            1990-03-05            day and month swapped            +4.1
//! ```

use serde::Serialize;

use super::Field;
use super::values::{display, sex};
use crate::compare::ComparisonKind;
use crate::error::{Error, Result};
use crate::link::linker::Linker;
use crate::normalize::prepared::PreparedRecords;
use crate::score::{Model, probability};

/// One comparison of a pair, explained.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComparisonExplanation {
    /// The comparison's name.
    pub comparison: String,
    /// The sector (left) record's value, normalized.
    pub left_value: String,
    /// The national (right) record's value, normalized.
    pub right_value: String,
    /// The level reached.
    pub level: String,
    /// The level in words.
    pub description: &'static str,
    /// Its term in the match weight, in bits (0 for a missing value).
    pub weight: f64,
}

/// A pair of records, explained.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PairExplanation {
    /// The left record's id and source row.
    pub left_id: String,
    /// Its 1-based row in its file.
    pub left_row: Option<u64>,
    /// The right record's id.
    pub right_id: String,
    /// Its 1-based row in its file.
    pub right_row: Option<u64>,
    /// The model's prior weight, in bits: where every pair starts.
    pub prior_weight: f64,
    /// The pair's match weight: the prior plus every comparison's term.
    pub match_weight: f64,
    /// The match weight as a probability.
    pub match_probability: f64,
    /// One entry per comparison, in comparison order.
    pub comparisons: Vec<ComparisonExplanation>,
}

/// Explains the pair (`left` of the linker's left table, `right` of its right table) under
/// `model`. `left_table` and `right_table` are the tables the linker was built on.
pub fn explain_pair(
    linker: &Linker<'_>,
    model: &Model,
    left_table: &PreparedRecords,
    right_table: &PreparedRecords,
    left: u32,
    right: u32,
) -> Result<PairExplanation> {
    let model = linker.fit_model(model)?;
    if left as usize >= left_table.len() || right as usize >= right_table.len() {
        return Err(Error::invalid("record index out of range"));
    }
    let terms = linker.contributions(&model, left, right)?;
    let comparisons = linker
        .comparisons()
        .comparisons()
        .iter()
        .zip(terms)
        .map(|(comparison, term)| {
            let kind = comparison.kind();
            ComparisonExplanation {
                comparison: term.comparison,
                left_value: value(left_table, left, kind, true),
                right_value: value(right_table, right, kind, false),
                description: describe(kind, &term.level),
                level: term.level,
                weight: term.weight,
            }
        })
        .collect::<Vec<_>>();
    let prior_weight = model.prior_weight();
    let match_weight = prior_weight + comparisons.iter().map(|c| c.weight).sum::<f64>();
    Ok(PairExplanation {
        left_id: left_table.record_id(left).to_owned(),
        left_row: left_table.row(left),
        right_id: right_table.record_id(right).to_owned(),
        right_row: right_table.row(right),
        prior_weight,
        match_weight,
        match_probability: probability(match_weight),
        comparisons,
    })
}

/// The value a comparison of `kind` reads in record `i`, for people.
fn value(t: &PreparedRecords, i: u32, kind: ComparisonKind, left: bool) -> String {
    let field = match kind {
        ComparisonKind::Name { .. } => Field::Name,
        ComparisonKind::DateOfBirth => Field::DateOfBirth,
        ComparisonKind::NationalId => Field::NationalId,
        ComparisonKind::OldId => Field::OldId,
        ComparisonKind::Sex => Field::Sex,
        ComparisonKind::Phone => Field::Phone,
        ComparisonKind::Address => Field::Address,
        ComparisonKind::FatherName { .. } => Field::FatherName,
        ComparisonKind::MotherName { .. } => Field::MotherName,
        ComparisonKind::CccdConsistency => {
            let u = i as usize;
            let year = t.cccd_year().get(u).copied().unwrap_or(0);
            return if year == 0 {
                String::new()
            } else {
                let sex = sex(t.cccd_sex().get(u).copied().unwrap_or(0));
                format!("CCCD says born {year}, {sex}")
            };
        }
        ComparisonKind::Generic { left: l, right: r, .. } => {
            let column = if left { l } else { r };
            let value = t.generic().get(column).map(|c| c.values.get(i as usize)).unwrap_or_default();
            return std::str::from_utf8(value).unwrap_or_default().to_owned();
        }
    };
    display(t, i, field)
}

/// A comparison level in words, for a clerk.
pub fn describe(kind: ComparisonKind, level: &str) -> &'static str {
    if level == "null" {
        return "missing on one side: no evidence either way";
    }
    match (kind, level) {
        (ComparisonKind::Name { .. }, "exact") => "identical",
        (ComparisonKind::Name { .. }, "folded") => "same letters; accents or tone marks differ",
        (ComparisonKind::Name { .. }, "reordered") => "same names in another order",
        (ComparisonKind::Name { .. }, "dropped_middle") => {
            "same family and given name; a middle name missing"
        }
        (ComparisonKind::Name { .. }, "one_edit") => {
            "one letter typed differently (changed, added, dropped or swapped)"
        }
        (ComparisonKind::Name { .. }, "two_edits") => "two letters typed differently",
        (ComparisonKind::Name { .. }, "middle_differs") => "same family and given name; middle names differ",
        (ComparisonKind::Name { .. }, "jaro_winkler_high") => "family and given names spelt almost alike",
        (ComparisonKind::Name { .. }, "jaro_winkler_low") => "family and given names spelt similarly",
        (ComparisonKind::Name { .. }, "phonetic") => "spelt differently, sounds the same",
        (ComparisonKind::Name { .. }, _) => "different names",
        (ComparisonKind::DateOfBirth, "exact") => "same date",
        (ComparisonKind::DateOfBirth, "year_only") => "same year; day or month missing on one side",
        (ComparisonKind::DateOfBirth, "placeholder") => {
            "same year; 1 January on one side, a usual placeholder"
        }
        (ComparisonKind::DateOfBirth, "day_month_swapped") => "day and month swapped",
        (ComparisonKind::DateOfBirth, "one_field_off") => "one of day, month, year differs",
        (ComparisonKind::DateOfBirth, "year_within_1") => "years at most one apart",
        (ComparisonKind::DateOfBirth, _) => "different dates",
        (ComparisonKind::NationalId | ComparisonKind::OldId, "exact") => "same number",
        (ComparisonKind::NationalId | ComparisonKind::OldId, "one_edit") => {
            "one digit changed or two adjacent digits swapped"
        }
        (ComparisonKind::NationalId | ComparisonKind::OldId, "cccd_vs_cmnd") => {
            "a 12-digit CCCD against a 9-digit CMND: different documents"
        }
        (ComparisonKind::NationalId | ComparisonKind::OldId, _) => "different numbers",
        (ComparisonKind::CccdConsistency, "agrees") => {
            "each CCCD's birth year and sex agree with the other record"
        }
        (ComparisonKind::CccdConsistency, _) => "a CCCD's birth year or sex contradicts the other record",
        (ComparisonKind::Sex, "equal") => "same sex",
        (ComparisonKind::Sex, _) => "different sex",
        (ComparisonKind::Phone, "exact") => "same number",
        (ComparisonKind::Phone, "one_edit") => "one digit changed or two adjacent digits swapped",
        (ComparisonKind::Phone, _) => "different numbers",
        (ComparisonKind::Address, "same_ward") => "same ward (2025 units)",
        (ComparisonKind::Address, "same_province") => "same province, another ward",
        (ComparisonKind::Address, _) => "another province",
        (ComparisonKind::FatherName { .. } | ComparisonKind::MotherName { .. }, "exact") => {
            "same name (accents aside)"
        }
        (ComparisonKind::FatherName { .. } | ComparisonKind::MotherName { .. }, "jaro_winkler") => {
            "similar names"
        }
        (ComparisonKind::FatherName { .. } | ComparisonKind::MotherName { .. }, _) => "different names",
        (ComparisonKind::Generic { .. }, "exact") => "same value",
        (ComparisonKind::Generic { .. }, "one_edit") => "one character apart",
        (ComparisonKind::Generic { .. }, "jaro_winkler_high") => "similar values",
        (ComparisonKind::Generic { .. }, _) => "different values",
    }
}
