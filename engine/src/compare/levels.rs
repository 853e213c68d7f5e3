//! The level functions: for one pair of prepared records, which level of a comparison it reaches.
//!
//! Every function returns the index into its comparison's level names (`*_LEVELS`); index 0 is
//! always `null` (a value missing on either side: no evidence either way), the last is `else`.
//! Levels are tested in order and the first that holds wins.

use crate::normalize::prepared::PreparedRecords;
use crate::similarity::{self, DigitRelation};

/// Levels of a name comparison.
pub(crate) const NAME_LEVELS: &[&str] = &[
    "null",
    "exact",
    "folded",
    "reordered",
    "dropped_middle",
    "phonetic",
    "one_edit",
    "two_edits",
    "middle_differs",
    "jaro_winkler_high",
    "jaro_winkler_low",
    "else",
];
const NAME_DROPPED_MIDDLE: u8 = 4;
const NAME_PHONETIC: u8 = 5;
const NAME_ONE_EDIT: u8 = 6;
const NAME_TWO_EDITS: u8 = 7;
const NAME_MIDDLE_DIFFERS: u8 = 8;
pub(crate) const NAME_JW_HIGH: u8 = 9;
pub(crate) const NAME_JW_LOW: u8 = 10;
pub(crate) const NAME_ELSE: u8 = 11;
/// Not a level: the pair needs Jaro-Winkler scores to be decided.
pub(crate) const NEEDS_SCORES: u8 = u8::MAX;

/// Levels of a date-of-birth comparison.
pub(crate) const DATE_LEVELS: &[&str] = &[
    "null",
    "exact",
    "year_only",
    "placeholder",
    "day_month_swapped",
    "one_field_off",
    "year_within_1",
    "else",
];
/// Levels of an identity-number comparison.
pub(crate) const ID_LEVELS: &[&str] = &["null", "exact", "one_edit", "cccd_vs_cmnd", "else"];
/// Levels of the CCCD-decoding check.
pub(crate) const CONSISTENCY_LEVELS: &[&str] = &["null", "agrees", "conflicts"];
/// Levels of a sex comparison.
pub(crate) const SEX_LEVELS: &[&str] = &["null", "equal", "different"];
/// Levels of a phone comparison.
pub(crate) const PHONE_LEVELS: &[&str] = &["null", "exact", "one_edit", "else"];
/// Levels of an address comparison, at the level of 2025 units.
pub(crate) const ADDRESS_LEVELS: &[&str] = &["null", "same_ward", "same_province", "else"];
/// Levels of a generic column's comparison.
pub(crate) const GENERIC_LEVELS: &[&str] = &["null", "exact", "one_edit", "jaro_winkler_high", "else"];
/// Levels of a parent's-name comparison.
pub(crate) const PARENT_LEVELS: &[&str] = &["null", "exact", "jaro_winkler", "else"];

/// Values longer than this (bytes, folded) get no fuzzy level: no name or field is that long,
/// and string similarity costs time quadratic in length (a 100,000-character "name" would take
/// seconds per pair). They can still be equal.
pub(crate) const MAX_FUZZY_BYTES: usize = 256;

#[inline]
fn at<T: Copy + Default>(v: &[T], i: u32) -> T {
    v.get(i as usize).copied().unwrap_or_default()
}

/// The name levels decided without string similarity, or [`NEEDS_SCORES`].
pub(crate) fn name_cheap(l: &PreparedRecords, a: u32, r: &PreparedRecords, b: u32) -> u8 {
    let (a, b) = (a as usize, b as usize);
    let (fa, fb) = (l.folded_full().get(a), r.folded_full().get(b));
    if fa.is_empty() || fb.is_empty() {
        return 0;
    }
    if l.full().get(a) == r.full().get(b) {
        return 1;
    }
    if fa == fb {
        return 2;
    }
    if l.sorted_tokens().get(a) == r.sorted_tokens().get(b) {
        return 3;
    }
    let (ma, mb) = (l.folded_middle().get(a), r.folded_middle().get(b));
    let same_ends = !l.folded_given().get(a).is_empty()
        && l.folded_family().get(a) == r.folded_family().get(b)
        && l.folded_given().get(a) == r.folded_given().get(b);
    if same_ends && (token_subset(ma, mb) || token_subset(mb, ma)) {
        return NAME_DROPPED_MIDDLE;
    }
    // Spelt as heard: d/gi/r, ch/tr, s/x, n/l, final n/ng.
    if l.phonetic_full().get(a) == r.phonetic_full().get(b) {
        return NAME_PHONETIC;
    }
    if fa.len().max(fb.len()) > MAX_FUZZY_BYTES {
        return if same_ends { NAME_MIDDLE_DIFFERS } else { NAME_ELSE };
    }
    // A typo: a letter changed, doubled, dropped or swapped with its neighbour, a space lost.
    if fa.len().abs_diff(fb.len()) <= 2 {
        match similarity::osa(fa, fb) {
            1 => return NAME_ONE_EDIT,
            2 => return NAME_TWO_EDITS,
            _ => {}
        }
    }
    // Namesakes in the family and given name whose middle names differ: common among different
    // people ("Nguyễn Văn An", "Nguyễn Hữu An"), so kept apart from the spelling levels.
    if same_ends {
        return NAME_MIDDLE_DIFFERS;
    }
    NEEDS_SCORES
}

/// The level of a name pair from its Jaro-Winkler scores (`family`, `given`; with no family
/// name both are the full names' score).
pub(crate) fn name_from_scores((family, given): (f64, f64), (high, low): (f64, f64)) -> u8 {
    let worst = family.min(given);
    if worst >= high {
        NAME_JW_HIGH
    } else if worst >= low {
        NAME_JW_LOW
    } else {
        NAME_ELSE
    }
}

/// Whether two records are siblings rather than one person: the same father's or mother's name,
/// and different given names under one family name ("Trần Hoàng" and "Trần Nam"), both at least
/// two letters, more than two edits apart, not spelt as heard alike, and neither among the
/// other's words (a name written in another order). Twins look like this with the same date and
/// address too; duplicates of one person almost never do. Without parents' names nothing is
/// said: other data sets (FEBRL) change given names far more than a typo does.
pub(crate) fn different_given_names(l: &PreparedRecords, a: u32, r: &PreparedRecords, b: u32) -> bool {
    let (a, b) = (a as usize, b as usize);
    let same = |x: &[u8], y: &[u8]| !x.is_empty() && x == y;
    if !same(l.father().get(a), r.father().get(b)) && !same(l.mother().get(a), r.mother().get(b)) {
        return false;
    }
    let (fa, fb) = (l.folded_family().get(a), r.folded_family().get(b));
    let (ga, gb) = (l.folded_given().get(a), r.folded_given().get(b));
    if fa.is_empty() || fa != fb || ga.len() < 2 || gb.len() < 2 || ga == gb {
        return false;
    }
    if l.phonetic_given().get(a) == r.phonetic_given().get(b) {
        return false;
    }
    let words = |s: &[u8], w: &[u8]| s.split(|&c| c == b' ').any(|t| t == w);
    if words(r.folded_full().get(b), ga) || words(l.folded_full().get(a), gb) {
        return false;
    }
    ga.len().max(gb.len()) > MAX_FUZZY_BYTES || similarity::osa(ga, gb) > 2
}

/// Whether every space-separated token of `small` occurs in `big`.
fn token_subset(small: &[u8], big: &[u8]) -> bool {
    small.split(|&c| c == b' ').filter(|t| !t.is_empty()).all(|t| big.split(|&c| c == b' ').any(|u| u == t))
}

pub(crate) fn date(l: &PreparedRecords, a: u32, r: &PreparedRecords, b: u32) -> u8 {
    let (ya, yb) = (at(l.year(), a), at(r.year(), b));
    if ya == 0 || yb == 0 {
        return 0;
    }
    let (ma, mb, da, db) = (at(l.month(), a), at(r.month(), b), at(l.day(), a), at(r.day(), b));
    let full = ma != 0 && mb != 0 && da != 0 && db != 0;
    if full && ya == yb && ma == mb && da == db {
        return 1;
    }
    let fits = |x: u8, y: u8| x == 0 || y == 0 || x == y;
    if !full && ya == yb && fits(ma, mb) && fits(da, db) {
        return 2;
    }
    // 1 January of the same year on one side: the usual placeholder for an unknown day and month.
    if full && ya == yb && ((ma, da) == (1, 1)) != ((mb, db) == (1, 1)) {
        return 3;
    }
    if full && ya == yb && ma == db && da == mb {
        return 4;
    }
    if full && u8::from(ya != yb) + u8::from(ma != mb) + u8::from(da != db) == 1 {
        return 5;
    }
    if ya.abs_diff(yb) <= 1 {
        return 6;
    }
    7
}

/// Identity numbers: exact, one substitution or adjacent transposition, a 12-digit number against
/// a 9-digit one (a CCCD against a CMND: different documents, its own level), else.
pub(crate) fn id(x: &[u8], y: &[u8]) -> u8 {
    if x.is_empty() || y.is_empty() {
        return 0;
    }
    if x.len() != y.len() && matches!((x.len(), y.len()), (12, 9) | (9, 12)) {
        return 3;
    }
    match similarity::digit_relation(x, y) {
        DigitRelation::Equal => 1,
        DigitRelation::OneSubstitution | DigitRelation::OneTransposition => 2,
        _ => 4,
    }
}

/// The national-id level, where an id column may hold a 9-digit CMND: against a 12-digit CCCD
/// it is compared with the other record's old id (`x_old`, `y_old`), when there is one.
pub(crate) fn national_id(x: &[u8], x_old: &[u8], y: &[u8], y_old: &[u8]) -> u8 {
    match (x.len(), y.len()) {
        (9, 12) if !y_old.is_empty() => id(x, y_old),
        (12, 9) if !x_old.is_empty() => id(x_old, y),
        _ => id(x, y),
    }
}

/// Whether each record's decoded CCCD (birth year, sex) agrees with the other record's date of
/// birth and sex. Null when no check is possible.
pub(crate) fn consistency(l: &PreparedRecords, a: u32, r: &PreparedRecords, b: u32) -> u8 {
    let mut checked = false;
    let mut conflict = false;
    let mut check = |x: u16, y: u16| {
        if x != 0 && y != 0 {
            checked = true;
            conflict |= x != y;
        }
    };
    // A CCCD that agrees with its own record's birth year (or sex) adds nothing to the date (or
    // sex) comparison: checking it against the other record would count the same evidence twice.
    // It speaks only where its own record's value is missing or wrong.
    let (la, rb) = (at(l.year(), a), at(r.year(), b));
    let (lsa, rsb) = (u16::from(at(l.sex(), a)), u16::from(at(r.sex(), b)));
    let (lcy, rcy) = (at(l.cccd_year(), a), at(r.cccd_year(), b));
    let (lcs, rcs) = (u16::from(at(l.cccd_sex(), a)), u16::from(at(r.cccd_sex(), b)));
    if lcy != la {
        check(lcy, rb);
    }
    if rcy != rb {
        check(rcy, la);
    }
    if lcs != lsa {
        check(lcs, rsb);
    }
    if rcs != rsb {
        check(rcs, lsa);
    }
    match (checked, conflict) {
        (false, _) => 0,
        (true, false) => 1,
        (true, true) => 2,
    }
}

pub(crate) fn sex(l: &PreparedRecords, a: u32, r: &PreparedRecords, b: u32) -> u8 {
    match (at(l.sex(), a), at(r.sex(), b)) {
        (0, _) | (_, 0) => 0,
        (x, y) if x == y => 1,
        _ => 2,
    }
}

pub(crate) fn phone(x: &[u8], y: &[u8]) -> u8 {
    if x.is_empty() || y.is_empty() {
        return 0;
    }
    match similarity::digit_relation(x, y) {
        DigitRelation::Equal => 1,
        DigitRelation::OneSubstitution | DigitRelation::OneTransposition => 2,
        _ => 3,
    }
}

pub(crate) fn address(l: &PreparedRecords, a: u32, r: &PreparedRecords, b: u32) -> u8 {
    let (pa, pb) = (at(l.province(), a), at(r.province(), b));
    if pa == 0 || pb == 0 {
        return 0;
    }
    if l.wards_of(a as usize).any(|w| r.wards_of(b as usize).any(|v| v == w)) {
        return 1;
    }
    if pa == pb { 2 } else { 3 }
}

pub(crate) fn parent(x: &[u8], y: &[u8], threshold: f64) -> u8 {
    if x.is_empty() || y.is_empty() {
        return 0;
    }
    if x == y {
        return 1;
    }
    if x.len().max(y.len()) > MAX_FUZZY_BYTES {
        return 3;
    }
    if similarity::jaro_winkler(x, y) >= threshold { 2 } else { 3 }
}

/// Generic text: exact, one edit (optimal string alignment, both values at least 2 bytes),
/// Jaro-Winkler at least `threshold`, else.
pub(crate) fn generic(x: &[u8], y: &[u8], threshold: f64) -> u8 {
    if x.is_empty() || y.is_empty() {
        return 0;
    }
    if x == y {
        return 1;
    }
    if x.len().max(y.len()) > MAX_FUZZY_BYTES {
        return 4;
    }
    if x.len().min(y.len()) >= 2 && x.len().abs_diff(y.len()) <= 1 && similarity::osa(x, y) <= 1 {
        return 2;
    }
    if similarity::jaro_winkler_cutoff(x, y, threshold).is_some() { 3 } else { 4 }
}
