//! Reconciliation: the correction worklist. For every accepted link (decision `match`), the
//! fields on which the sector record still disagrees with the national record after
//! normalization, each with a type, both values and the value to write; and every sector record
//! that was not accepted, with its closest national record and why it was turned down.
//!
//! It reads the [`PreparedRecords`] of both tables (the same normalized columns the comparisons
//! read, so a difference that normalization removes is never reported) and the
//! [`LinkResult`]s of the `link` stage.
//!
//! # What is a conflict
//! A field is checked when both tables hold it ([`Field`]); a record's own missing value is a
//! conflict of type `missing` (the national record has a value to copy), a value the national
//! record lacks is `missing_in_national`. Two present values conflict when they differ in
//! *content*; differences of *writing* are not conflicts:
//!
//! | field | not a conflict (writing) | conflict types (content) |
//! |---|---|---|
//! | name | case, accents and tone marks (dropped, decomposed, old or new placement), legacy encodings (TCVN3, VNI), look-alike letters (`ð` for `đ`), honorifics (Ông, Bà...), spaces between syllables (`NguyễnVăn An`), the i/y spellings of a final syllable (Vy/Vi, Quý/Quí) | `name_order` (the same names in another order, e.g. given name first), `middle_name_missing`, `middle_name_extra`, `spelling` (sounds the same: d/gi/r, ch/tr, s/x, n/l, final n/ng), `typo` (at most two edits), `different` |
//! | date of birth | any layout (`05/03/1990`, ISO, `ngày 5 tháng 3 năm 1990`...); a year-only date in a column that holds years only (`nam_sinh`: at least 90% of the table's dates are years) | `day_month_swapped`, `year_only` (the national record has the full date), `national_less_precise`, `placeholder` (01/01 for a real date), `year_off_by_one`, `month_off_by_one`, `day_off_by_one`, `century`, `different` |
//! | sex | codes (`Nam`, `1`, `M`...) | `different` |
//! | national id | separators, a lost leading zero | `old_id` (a 9-digit CMND, or the record's CMND, where the CCCD belongs), `one_digit` (one digit changed or two adjacent swapped), `inconsistent_birth_year` / `inconsistent_sex` (a CCCD whose decoded year or sex contradicts the national record's date of birth or sex: it cannot be this person's), `different` |
//! | old id (CMND), phone | separators, `+84`, pre-2018 11-digit mobile numbers | `one_digit`, `different` |
//! | address | spellings and abbreviations of units (`P.2, Q.5, TP.HCM`) | `legacy_units` (the same place in pre-2025 units where the national record has 2025 units: an update, not a disagreement; see [`ConflictKind::is_update`]), `different_ward`, `different_province` |
//! | father's, mother's name | as for names | `typo`, `different` |
//!
//! Reversed order and dropped middle names are reported, as their own types, because the record
//! does not hold the person's full name in its order; a centre that accepts them filters the
//! types out. Addresses are compared at the level of administrative units: two pre-2025
//! addresses by their pre-2025 ward, otherwise by 2025 ward (a pre-2025 commune split across
//! several 2025 wards agrees with any of them), then province; house number and street are not
//! compared. An address whose units cannot be resolved is not judged.
//!
//! The suggested value is the national record's value, normalized (title-case name, ISO date,
//! 10-digit phone, 2025 units); it is empty for `missing_in_national` and
//! `national_less_precise`, where the national record is the one to complete.
//!
//! # Unmatched records
//! Every sector record whose decision is not `match` is listed with its closest national record
//! (the best candidate of the `link` stage) and a [`Rejection`]: no candidate from blocking,
//! probability below the review threshold, between the review and match thresholds, ambiguous
//! (the runner-up within the margin), or claimed by another record under one-to-one linking.

pub mod explain;
pub mod output;
mod rules;
mod values;

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

use crate::link::{Decision, LinkResult, Thresholds};
use crate::normalize::prepared::PreparedRecords;

pub use values::{display_date, display_name};

/// A field that reconciliation checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Full name.
    Name,
    /// Date of birth.
    DateOfBirth,
    /// Sex.
    Sex,
    /// The 12-digit personal identification number (CCCD).
    NationalId,
    /// The old identity card number (CMND).
    OldId,
    /// Phone number.
    Phone,
    /// Address of residence.
    Address,
    /// Father's name.
    FatherName,
    /// Mother's name.
    MotherName,
}

impl Field {
    /// Every field, in report order.
    pub const ALL: [Field; 9] = [
        Field::Name,
        Field::DateOfBirth,
        Field::Sex,
        Field::NationalId,
        Field::OldId,
        Field::Phone,
        Field::Address,
        Field::FatherName,
        Field::MotherName,
    ];

    /// The name used in outputs (as the comparisons name them).
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::DateOfBirth => "date_of_birth",
            Field::Sex => "sex",
            Field::NationalId => "national_id",
            Field::OldId => "old_id",
            Field::Phone => "phone",
            Field::Address => "address",
            Field::FatherName => "father_name",
            Field::MotherName => "mother_name",
        }
    }

    /// The field named `name` in outputs.
    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// Whether a table holds the field.
    fn held_by(self, table: &PreparedRecords) -> bool {
        let f = table.fields();
        match self {
            Field::Name => f.name,
            Field::DateOfBirth => f.date_of_birth,
            Field::Sex => f.sex,
            Field::NationalId => f.national_id,
            Field::OldId => f.old_id,
            Field::Phone => f.phone,
            Field::Address => f.address,
            Field::FatherName => f.father,
            Field::MotherName => f.mother,
        }
    }
}

/// How a field disagrees. See the [module docs](self) for which types each field can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ConflictKind {
    /// The sector record has no value; the national record has one.
    Missing,
    /// The national record has no value; the sector record has one.
    MissingInNational,
    /// The same names in another order (e.g. given name first).
    NameOrder,
    /// A middle name of the national record is missing.
    MiddleNameMissing,
    /// A middle name the national record does not have.
    MiddleNameExtra,
    /// Spelt differently, sounds the same (d/gi/r, ch/tr, s/x, n/l, final n/ng).
    Spelling,
    /// At most two edits apart.
    Typo,
    /// Day and month swapped.
    DayMonthSwapped,
    /// The year only, where the national record has the full date.
    YearOnly,
    /// A full date where the national record has the year only.
    NationalLessPrecise,
    /// 1 January standing for an unknown day and month.
    Placeholder,
    /// The year one off, day and month equal.
    YearOffByOne,
    /// The month one off, day and year equal.
    MonthOffByOne,
    /// The day one off, month and year equal.
    DayOffByOne,
    /// The year 100 off (a two-digit year read in the wrong century).
    Century,
    /// An old identity card number (CMND) where the CCCD belongs.
    OldId,
    /// One digit changed, or two adjacent digits swapped.
    OneDigit,
    /// A CCCD whose decoded birth year contradicts the national date of birth.
    InconsistentBirthYear,
    /// A CCCD whose decoded sex contradicts the national record's sex.
    InconsistentSex,
    /// The same place, in pre-2025 units where the national record has 2025 units.
    LegacyUnits,
    /// Another ward (commune), or pre-2025 district, in the same province.
    DifferentWard,
    /// The same ward, another house number, street or hamlet.
    DifferentStreet,
    /// Another province.
    DifferentProvince,
    /// Any other difference.
    Different,
}

impl ConflictKind {
    const ALL: [ConflictKind; 24] = [
        ConflictKind::Missing,
        ConflictKind::MissingInNational,
        ConflictKind::NameOrder,
        ConflictKind::MiddleNameMissing,
        ConflictKind::MiddleNameExtra,
        ConflictKind::Spelling,
        ConflictKind::Typo,
        ConflictKind::DayMonthSwapped,
        ConflictKind::YearOnly,
        ConflictKind::NationalLessPrecise,
        ConflictKind::Placeholder,
        ConflictKind::YearOffByOne,
        ConflictKind::MonthOffByOne,
        ConflictKind::DayOffByOne,
        ConflictKind::Century,
        ConflictKind::OldId,
        ConflictKind::OneDigit,
        ConflictKind::InconsistentBirthYear,
        ConflictKind::InconsistentSex,
        ConflictKind::LegacyUnits,
        ConflictKind::DifferentWard,
        ConflictKind::DifferentStreet,
        ConflictKind::DifferentProvince,
        ConflictKind::Different,
    ];

    /// The name used in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictKind::Missing => "missing",
            ConflictKind::MissingInNational => "missing_in_national",
            ConflictKind::NameOrder => "name_order",
            ConflictKind::MiddleNameMissing => "middle_name_missing",
            ConflictKind::MiddleNameExtra => "middle_name_extra",
            ConflictKind::Spelling => "spelling",
            ConflictKind::Typo => "typo",
            ConflictKind::DayMonthSwapped => "day_month_swapped",
            ConflictKind::YearOnly => "year_only",
            ConflictKind::NationalLessPrecise => "national_less_precise",
            ConflictKind::Placeholder => "placeholder",
            ConflictKind::YearOffByOne => "year_off_by_one",
            ConflictKind::MonthOffByOne => "month_off_by_one",
            ConflictKind::DayOffByOne => "day_off_by_one",
            ConflictKind::Century => "century",
            ConflictKind::OldId => "old_id",
            ConflictKind::OneDigit => "one_digit",
            ConflictKind::InconsistentBirthYear => "inconsistent_birth_year",
            ConflictKind::InconsistentSex => "inconsistent_sex",
            ConflictKind::LegacyUnits => "legacy_units",
            ConflictKind::DifferentWard => "different_ward",
            ConflictKind::DifferentStreet => "different_street",
            ConflictKind::DifferentProvince => "different_province",
            ConflictKind::Different => "different",
        }
    }

    /// The type named `name` in outputs.
    pub fn from_name(name: &str) -> Option<ConflictKind> {
        ConflictKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether both records say the same thing and the sector record only needs bringing up to
    /// date (`legacy_units`), rather than disagreeing.
    pub fn is_update(self) -> bool {
        self == ConflictKind::LegacyUnits
    }

    /// Whether the national record is the one to complete (no suggested value).
    pub fn completes_national(self) -> bool {
        matches!(self, ConflictKind::MissingInNational | ConflictKind::NationalLessPrecise)
    }
}

/// One line of the worklist: a field of an accepted link on which the two records disagree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// The sector record (index in the left table).
    pub left: u32,
    /// The national record it is linked to (index in the right table).
    pub right: u32,
    /// The field.
    pub field: Field,
    /// How it disagrees.
    pub kind: ConflictKind,
    /// The sector record's value, normalized (empty when missing).
    pub sector_value: String,
    /// The national record's value, normalized (empty when missing).
    pub national_value: String,
    /// The value to write into the sector record: the national value, or `None` when the
    /// national record is the one to complete.
    pub suggested: Option<String>,
}

/// Why a sector record was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rejection {
    /// Blocking gave it no candidate at all.
    NoCandidate,
    /// Its best candidate's probability is below the review threshold.
    LowProbability,
    /// Its best candidate's probability is between the review and match thresholds.
    NeedsReview,
    /// Its runner-up is within the ambiguity margin of its best candidate.
    Ambiguous,
    /// One-to-one linking gave its best candidate to another sector record with a stronger
    /// claim.
    ClaimedByAnother,
}

impl Rejection {
    /// Every reason, in report order.
    pub const ALL: [Rejection; 5] = [
        Rejection::NoCandidate,
        Rejection::LowProbability,
        Rejection::NeedsReview,
        Rejection::Ambiguous,
        Rejection::ClaimedByAnother,
    ];

    /// The reason in words, for people.
    pub fn describe(self) -> &'static str {
        match self {
            Rejection::NoCandidate => "blocking gave it no candidate at all",
            Rejection::LowProbability => "its best candidate is below the review threshold",
            Rejection::NeedsReview => "its best candidate is between the review and match thresholds",
            Rejection::Ambiguous => "its runner-up is within the margin of its best candidate",
            Rejection::ClaimedByAnother => "one-to-one linking gave its best candidate to a stronger claim",
        }
    }

    /// The name used in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::NoCandidate => "no_candidate",
            Rejection::LowProbability => "low_probability",
            Rejection::NeedsReview => "needs_review",
            Rejection::Ambiguous => "ambiguous",
            Rejection::ClaimedByAnother => "claimed_by_another",
        }
    }

    /// Why `result` was not accepted, or `None` when it was (decision `match`).
    pub fn of(result: &LinkResult, thresholds: &Thresholds) -> Option<Rejection> {
        Some(match result.decision {
            Decision::Match => return None,
            _ if result.best.is_none() => Rejection::NoCandidate,
            Decision::NoMatch => Rejection::LowProbability,
            Decision::Review if result.ambiguous => Rejection::Ambiguous,
            Decision::Review if result.probability >= thresholds.match_probability => {
                Rejection::ClaimedByAnother
            }
            Decision::Review => Rejection::NeedsReview,
        })
    }
}

/// A sector record that was not accepted, with its closest national record.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Unmatched {
    /// Why.
    pub reason: Rejection,
    /// Its link result: best and second candidates, probability, margin.
    pub result: LinkResult,
}

/// Counts of one sector table's reconciliation.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Sector records.
    pub records: u64,
    /// Of those, accepted links (decision `match`).
    pub matched: u64,
    /// Accepted links with at least one conflict (updates such as `legacy_units` included).
    pub matched_with_conflicts: u64,
    /// Worklist lines.
    pub conflicts: u64,
    /// Fields checked (both tables hold them).
    pub fields: Vec<Field>,
    /// Worklist lines per field and conflict type.
    pub by_field: BTreeMap<Field, BTreeMap<ConflictKind, u64>>,
    /// Records not accepted, per reason.
    pub unmatched: BTreeMap<Rejection, u64>,
}

/// The worklist of one sector table.
#[derive(Clone, Debug, Default)]
pub struct Reconciliation {
    /// Conflicts of accepted links, by sector record, then field order.
    pub conflicts: Vec<Conflict>,
    /// Records not accepted, in sector order.
    pub unmatched: Vec<Unmatched>,
    /// Counts.
    pub summary: Summary,
}

/// Share of a table's dates of birth that must be years only for the column to be read as a
/// year-of-birth column (a `nam_sinh` column), whose year-only values are not a conflict.
const YEARS_ONLY_SHARE: f64 = 0.9;

/// Compares linked records field by field.
pub struct Reconciler<'a> {
    left: &'a PreparedRecords,
    right: &'a PreparedRecords,
    fields: Vec<Field>,
    /// Whether each table's date column holds years only.
    left_years_only: bool,
    right_years_only: bool,
}

/// Linked pairs compared per parallel task.
const PAIRS_PER_TASK: usize = 4096;

impl<'a> Reconciler<'a> {
    /// A reconciler of `left` (sector records) against `right` (national records), checking the
    /// fields both hold.
    pub fn new(left: &'a PreparedRecords, right: &'a PreparedRecords) -> Self {
        let fields = Field::ALL.into_iter().filter(|f| f.held_by(left) && f.held_by(right)).collect();
        Reconciler {
            left,
            right,
            fields,
            left_years_only: years_only(left),
            right_years_only: years_only(right),
        }
    }

    /// The fields checked.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// Appends to `out` the conflicts between sector record `left` and national record `right`,
    /// in field order.
    pub fn conflicts(&self, left: u32, right: u32, out: &mut Vec<Conflict>) {
        let pair = rules::Pair {
            l: self.left,
            a: left as usize,
            r: self.right,
            b: right as usize,
            years_only: self.left_years_only || self.right_years_only,
        };
        for &field in &self.fields {
            if let Some(kind) = pair.check(field) {
                let (sector_value, national_value) =
                    (values::display(self.left, left, field), values::display(self.right, right, field));
                let suggested = (!kind.completes_national() && !national_value.is_empty())
                    .then(|| national_value.clone());
                out.push(Conflict { left, right, field, kind, sector_value, national_value, suggested });
            }
        }
    }

    /// The worklist of a link run: conflicts of every accepted link, and the records not
    /// accepted. `results` are the `link` stage's, `thresholds` those it decided with.
    pub fn reconcile(&self, results: &[LinkResult], thresholds: &Thresholds) -> Reconciliation {
        let conflicts: Vec<Conflict> = results
            .par_chunks(PAIRS_PER_TASK)
            .map(|chunk| {
                let mut out = Vec::new();
                for result in chunk {
                    if let (Decision::Match, Some(best)) = (result.decision, result.best) {
                        self.conflicts(result.left, best.right, &mut out);
                    }
                }
                out
            })
            .flatten()
            .collect();
        let unmatched: Vec<Unmatched> = results
            .iter()
            .filter_map(|r| Rejection::of(r, thresholds).map(|reason| Unmatched { reason, result: *r }))
            .collect();

        let mut summary = Summary {
            records: results.len() as u64,
            matched: results.iter().filter(|r| r.decision == Decision::Match).count() as u64,
            conflicts: conflicts.len() as u64,
            fields: self.fields.clone(),
            ..Summary::default()
        };
        let mut previous = None;
        for c in &conflicts {
            *summary.by_field.entry(c.field).or_default().entry(c.kind).or_default() += 1;
            if previous != Some(c.left) {
                summary.matched_with_conflicts += 1;
                previous = Some(c.left);
            }
        }
        for u in &unmatched {
            *summary.unmatched.entry(u.reason).or_default() += 1;
        }
        Reconciliation { conflicts, unmatched, summary }
    }
}

/// Whether a table's date-of-birth column holds years only (see [`YEARS_ONLY_SHARE`]).
fn years_only(table: &PreparedRecords) -> bool {
    let present = table.year().iter().filter(|&&y| y != 0).count();
    let years = table.year().iter().zip(table.month()).filter(|&(&y, &m)| y != 0 && m == 0).count();
    present > 0 && years as f64 >= YEARS_ONLY_SHARE * present as f64
}
