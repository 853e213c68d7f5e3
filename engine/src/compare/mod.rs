//! Comparisons: how much two candidate records agree, field by field, as *comparison levels*.
//!
//! The model (Fellegi-Sunter) does not look at strings: it looks, for each pair, at which level
//! of each comparison the pair reaches ("names equal after accent folding", "dates of birth one
//! field apart", "same 2025 province, different ward"...) and learns how much more often each
//! level occurs among matches than among non-matches. This module turns a chunk of candidate
//! pairs from [`block`](crate::block) into those levels: a *comparison vector* of one `u8` per
//! comparison per pair, row-major, in [`Comparisons::compare_chunk`].
//!
//! Each [`Comparison`] has ordered levels ([`Comparison::levels`]); the first level that holds
//! wins. Level 0 is always `null`: a value missing on either side, which carries no evidence and
//! which the model must treat as such. The last level is `else`.
//!
//! Defaults for the Vietnamese person profile ([`Comparisons::default_for`]), per role present
//! in both tables:
//! - **names**: exact (normalized: NFC, case, canonical tone placement), equal after accent
//!   folding, equal as token sets (reversed order), dropped middle name (same family and given
//!   name, one middle a subset of the other), phonetic keys equal, folded full names one edit
//!   apart, two edits apart (optimal string alignment: a typo), same family and given name with
//!   different middle names, Jaro-Winkler of folded family *and* given name ≥ 0.92, ≥ 0.85
//!   (full names when either has no family name), else;
//! - **date of birth**: exact, year-only against a date of the same year (or fields missing on
//!   one side but otherwise equal), 1 January (a placeholder) against another day of the same
//!   year, day and month swapped, one of day/month/year off, year
//!   within one, else;
//! - **national id** and **old id**: exact, one substitution or adjacent transposition
//!   ([`similarity::digit_relation`]), 12 digits against 9 (a CCCD against a CMND: its own
//!   level), else. A 9-digit CMND in one record's id column is compared with the other record's
//!   old id (CMND) column when it has one: sector tables often hold whichever card the person
//!   showed;
//! - **CCCD consistency**: each record's decoded CCCD (birth year, sex) against the other
//!   record's date of birth and sex, where it says more than the date and sex comparisons do
//!   (its own record's year or sex is missing or differs from it): agrees, conflicts;
//! - **sex**; **phone** (exact, one edit, else); **address** at 2025 units (pre-2025 units were
//!   mapped when prepared): same ward, same province, else; **father's and mother's names**:
//!   folded exact, Jaro-Winkler ≥ 0.90, else;
//! - **generic columns** (roles `text`, `number`, `email`, `house_number`, `street`, and unresolved
//!   address units; see [`prepared`](crate::normalize::prepared)), one comparison per column that
//!   both tables hold under the same name (case-insensitive): exact (normalized), one edit
//!   (optimal string alignment distance 1: a substitution, insertion, deletion or adjacent
//!   transposition; values of at least 2 characters), Jaro-Winkler ≥ 0.92, else.
//!
//! Name similarity uses the SIMD batch kernels: pairs are grouped by left record (blocking emits
//! them that way) and each group's right names are scored against the left name in one call.
//! Chunks are split across rayon threads; the output does not depend on the thread count.

mod levels;

use rayon::prelude::*;

use crate::normalize::prepared::PreparedRecords;
use crate::similarity::{self, BatchComparator};

/// What a comparison looks at, and its thresholds.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum ComparisonKind {
    /// The person's name.
    Name {
        /// Jaro-Winkler threshold of the upper similarity level (both family and given name).
        high: f64,
        /// Jaro-Winkler threshold of the lower similarity level.
        low: f64,
    },
    /// Date of birth.
    DateOfBirth,
    /// The 12-digit national id (CCCD) column.
    NationalId,
    /// The old identity card (CMND) column.
    OldId,
    /// Each record's decoded CCCD against the other's date of birth and sex.
    CccdConsistency,
    /// Sex.
    Sex,
    /// Phone number.
    Phone,
    /// Address of residence, at 2025 units.
    Address,
    /// Father's name.
    FatherName {
        /// Jaro-Winkler threshold of the similar level.
        threshold: f64,
    },
    /// Mother's name.
    MotherName {
        /// Jaro-Winkler threshold of the similar level.
        threshold: f64,
    },
    /// A generic column compared as normalized text.
    Generic {
        /// Its index among the left table's generic columns.
        left: usize,
        /// Its index among the right table's generic columns.
        right: usize,
        /// Jaro-Winkler threshold of the similar level.
        threshold: f64,
    },
}

/// One comparison: a name (for reports and the model) and what it compares.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    name: String,
    kind: ComparisonKind,
}

impl Comparison {
    /// A comparison named `name`.
    pub fn new(name: impl Into<String>, kind: ComparisonKind) -> Self {
        Comparison { name: name.into(), kind }
    }

    /// The comparison's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What it compares.
    pub fn kind(&self) -> ComparisonKind {
        self.kind
    }

    /// Names of the levels, in order: index 0 is `null`, the last `else`. A comparison vector
    /// holds indices into this list.
    pub fn levels(&self) -> &'static [&'static str] {
        match self.kind {
            ComparisonKind::Name { .. } => levels::NAME_LEVELS,
            ComparisonKind::DateOfBirth => levels::DATE_LEVELS,
            ComparisonKind::NationalId | ComparisonKind::OldId => levels::ID_LEVELS,
            ComparisonKind::CccdConsistency => levels::CONSISTENCY_LEVELS,
            ComparisonKind::Sex => levels::SEX_LEVELS,
            ComparisonKind::Phone => levels::PHONE_LEVELS,
            ComparisonKind::Address => levels::ADDRESS_LEVELS,
            ComparisonKind::FatherName { .. } | ComparisonKind::MotherName { .. } => levels::PARENT_LEVELS,
            ComparisonKind::Generic { .. } => levels::GENERIC_LEVELS,
        }
    }

    /// The level of one pair (`a` of `left`, `b` of `right`); for tests and single lookups.
    /// [`Comparisons::compare_chunk`] gives the same levels for many pairs at once.
    pub fn level(&self, left: &PreparedRecords, a: u32, right: &PreparedRecords, b: u32) -> u8 {
        let mut out = [0u8];
        let mut scratch = Scratch::default();
        self.fill(left, right, &[(a, b)], 1, 0, &mut out, &mut scratch);
        out[0]
    }

    /// Fills column `c` of `out` (row-major, `width` columns) for `pairs`.
    #[allow(clippy::too_many_arguments)]
    fn fill(
        &self,
        l: &PreparedRecords,
        r: &PreparedRecords,
        pairs: &[(u32, u32)],
        width: usize,
        c: usize,
        out: &mut [u8],
        scratch: &mut Scratch,
    ) {
        let each = |out: &mut [u8], f: &dyn Fn(u32, u32) -> u8| {
            for (row, &(a, b)) in out.chunks_exact_mut(width).zip(pairs) {
                row[c] = f(a, b);
            }
        };
        let (ai, bi) = (|a: u32| a as usize, |b: u32| b as usize);
        match self.kind {
            ComparisonKind::Name { high, low } => {
                name_levels(l, r, pairs, width, c, out, (high, low), scratch)
            }
            ComparisonKind::DateOfBirth => each(out, &|a, b| levels::date(l, a, r, b)),
            ComparisonKind::NationalId => each(out, &|a, b| {
                let (x, y) = (l.national_id().get(ai(a)), r.national_id().get(bi(b)));
                levels::national_id(x, l.old_id().get(ai(a)), y, r.old_id().get(bi(b)))
            }),
            ComparisonKind::OldId => {
                each(out, &|a, b| levels::id(l.old_id().get(ai(a)), r.old_id().get(bi(b))))
            }
            ComparisonKind::CccdConsistency => each(out, &|a, b| levels::consistency(l, a, r, b)),
            ComparisonKind::Sex => each(out, &|a, b| levels::sex(l, a, r, b)),
            ComparisonKind::Phone => {
                each(out, &|a, b| levels::phone(l.phone().get(ai(a)), r.phone().get(bi(b))))
            }
            ComparisonKind::Address => each(out, &|a, b| levels::address(l, a, r, b)),
            ComparisonKind::FatherName { threshold } => {
                each(out, &|a, b| levels::parent(l.father().get(ai(a)), r.father().get(bi(b)), threshold))
            }
            ComparisonKind::MotherName { threshold } => {
                each(out, &|a, b| levels::parent(l.mother().get(ai(a)), r.mother().get(bi(b)), threshold))
            }
            ComparisonKind::Generic { left, right, threshold } => {
                match (l.generic().get(left), r.generic().get(right)) {
                    (Some(x), Some(y)) => each(out, &|a, b| {
                        levels::generic(x.values.get(ai(a)), y.values.get(bi(b)), threshold)
                    }),
                    _ => each(out, &|_, _| 0),
                }
            }
        }
    }
}

/// Reused buffers of the name comparison.
#[derive(Default)]
struct Scratch {
    /// Pair indices (into the chunk) that need Jaro-Winkler scores.
    pending: Vec<usize>,
    family: Vec<f64>,
    given: Vec<f64>,
}

/// Groups of at least this many pairs with the same left record use the SIMD batch kernels;
/// smaller ones the one-pair functions (packing costs more than it saves).
const BATCH_MIN: usize = 8;

#[allow(clippy::too_many_arguments)]
fn name_levels(
    l: &PreparedRecords,
    r: &PreparedRecords,
    pairs: &[(u32, u32)],
    width: usize,
    c: usize,
    out: &mut [u8],
    thresholds: (f64, f64),
    s: &mut Scratch,
) {
    s.pending.clear();
    for (p, &(a, b)) in pairs.iter().enumerate() {
        let level = levels::name_cheap(l, a, r, b);
        out[p * width + c] = level;
        if level == levels::NEEDS_SCORES {
            s.pending.push(p);
        }
    }
    let has_family = |t: &PreparedRecords, i: u32| !t.folded_family().get(i as usize).is_empty();
    let mut i = 0;
    while i < s.pending.len() {
        // A run of pending pairs with the same left record.
        let a = pairs[s.pending[i]].0;
        let mut end = i + 1;
        while end < s.pending.len() && pairs[s.pending[end]].0 == a {
            end += 1;
        }
        let run = &s.pending[i..end];
        let batchable: Vec<usize> = if run.len() >= BATCH_MIN && has_family(l, a) {
            run.iter().copied().filter(|&p| has_family(r, pairs[p].1)).collect()
        } else {
            Vec::new()
        };
        if batchable.len() >= BATCH_MIN {
            let au = a as usize;
            let families: Vec<&[u8]> =
                batchable.iter().map(|&p| r.folded_family().get(pairs[p].1 as usize)).collect();
            let givens: Vec<&[u8]> =
                batchable.iter().map(|&p| r.folded_given().get(pairs[p].1 as usize)).collect();
            BatchComparator::new(&families).jaro_winkler(l.folded_family().get(au), &mut s.family);
            BatchComparator::new(&givens).jaro_winkler(l.folded_given().get(au), &mut s.given);
            for (k, &p) in batchable.iter().enumerate() {
                let scores = (s.family[k], s.given[k]);
                out[p * width + c] = levels::name_from_scores(scores, thresholds);
            }
        }
        for &p in run {
            if out[p * width + c] == levels::NEEDS_SCORES {
                let b = pairs[p].1;
                let scores = pair_scores(l, a, r, b);
                out[p * width + c] = levels::name_from_scores(scores, thresholds);
            }
        }
        i = end;
    }
}

/// Jaro-Winkler of folded family and given names, or of folded full names (twice) when either
/// record has no family name.
fn pair_scores(l: &PreparedRecords, a: u32, r: &PreparedRecords, b: u32) -> (f64, f64) {
    let (a, b) = (a as usize, b as usize);
    let (fa, fb) = (l.folded_family().get(a), r.folded_family().get(b));
    if fa.is_empty() || fb.is_empty() {
        let s = similarity::jaro_winkler(l.folded_full().get(a), r.folded_full().get(b));
        (s, s)
    } else {
        (
            similarity::jaro_winkler(fa, fb),
            similarity::jaro_winkler(l.folded_given().get(a), r.folded_given().get(b)),
        )
    }
}

/// Whether records `a` of `left` and `b` of `right` are siblings: a parent's name in common and
/// different given names under one family name, as twins have (see the deduplication's hard
/// conflicts in
/// [`Linker::hard_conflict`](crate::link::linker::Linker::hard_conflict)).
pub fn different_given_names(left: &PreparedRecords, a: u32, right: &PreparedRecords, b: u32) -> bool {
    levels::different_given_names(left, a, right, b)
}

/// A configuration's change to one default comparison (see [`Comparisons::configure`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ComparisonOverride {
    /// The comparison's name (`name`, `date_of_birth`, a generic column's name...).
    pub name: String,
    /// `false` leaves the comparison out.
    pub enabled: bool,
    /// Names: Jaro-Winkler threshold of the upper similarity level.
    pub high: Option<f64>,
    /// Names: Jaro-Winkler threshold of the lower similarity level.
    pub low: Option<f64>,
    /// Parents' names and generic columns: Jaro-Winkler threshold of the similar level.
    pub threshold: Option<f64>,
}

/// An ordered list of comparisons: the columns of the comparison vectors.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparisons {
    list: Vec<Comparison>,
}

/// Pairs per parallel task in [`Comparisons::compare_chunk`].
const PAIRS_PER_TASK: usize = 2048;

impl Comparisons {
    /// Comparisons in the given order.
    pub fn new(list: Vec<Comparison>) -> Self {
        Comparisons { list }
    }

    /// The default comparisons of the Vietnamese person profile (see the [module docs](self))
    /// for the fields both tables hold; `right == None` for a dedupe.
    pub fn default_for(left: &PreparedRecords, right: Option<&PreparedRecords>) -> Self {
        let (l, r) = (left.fields(), right.unwrap_or(left).fields());
        let mut list = Vec::new();
        let mut add = |present: bool, name: &str, kind| {
            if present {
                list.push(Comparison::new(name, kind));
            }
        };
        add(l.name && r.name, "name", ComparisonKind::Name { high: 0.92, low: 0.85 });
        add(l.date_of_birth && r.date_of_birth, "date_of_birth", ComparisonKind::DateOfBirth);
        add(l.national_id && r.national_id, "national_id", ComparisonKind::NationalId);
        add(l.old_id && r.old_id, "old_id", ComparisonKind::OldId);
        let decodable =
            (l.national_id && (r.date_of_birth || r.sex)) || (r.national_id && (l.date_of_birth || l.sex));
        add(decodable, "cccd_consistency", ComparisonKind::CccdConsistency);
        add(l.sex && r.sex, "sex", ComparisonKind::Sex);
        add(l.phone && r.phone, "phone", ComparisonKind::Phone);
        add(l.address && r.address, "address", ComparisonKind::Address);
        add(l.father && r.father, "father_name", ComparisonKind::FatherName { threshold: 0.90 });
        add(l.mother && r.mother, "mother_name", ComparisonKind::MotherName { threshold: 0.90 });
        let right = right.unwrap_or(left);
        for (i, name) in left.generic_columns().enumerate() {
            if let Some(j) = right.generic_index(name) {
                let kind = ComparisonKind::Generic { left: i, right: j, threshold: 0.92 };
                list.push(Comparison::new(name, kind));
            }
        }
        Comparisons { list }
    }

    /// Applies a configuration's changes: comparisons left out, thresholds changed. Every
    /// override must name a comparison these tables have, and only thresholds its kind has.
    pub fn configure(&mut self, overrides: &[ComparisonOverride]) -> crate::error::Result<()> {
        for o in overrides {
            let Some(index) = self.list.iter().position(|c| c.name == o.name) else {
                let names: Vec<&str> = self.list.iter().map(|c| c.name.as_str()).collect();
                return Err(crate::error::Error::settings(vec![format!(
                    "no comparison `{}` for these tables (they have: {})",
                    o.name,
                    names.join(", ")
                )]));
            };
            if !o.enabled {
                self.list.remove(index);
                continue;
            }
            let check = |t: f64| {
                if (0.0..=1.0).contains(&t) {
                    Ok(t)
                } else {
                    Err(crate::error::Error::settings(vec![format!(
                        "comparison `{}`: a threshold must lie in [0, 1], found {t}",
                        o.name
                    )]))
                }
            };
            let comparison = &mut self.list[index];
            match &mut comparison.kind {
                ComparisonKind::Name { high, low } if o.threshold.is_none() => {
                    *high = o.high.map(check).transpose()?.unwrap_or(*high);
                    *low = o.low.map(check).transpose()?.unwrap_or(*low);
                    if *low > *high {
                        return Err(crate::error::Error::settings(vec![format!(
                            "comparison `{}`: `low` ({low}) is above `high` ({high})",
                            o.name
                        )]));
                    }
                }
                ComparisonKind::FatherName { threshold }
                | ComparisonKind::MotherName { threshold }
                | ComparisonKind::Generic { threshold, .. }
                    if o.high.is_none() && o.low.is_none() =>
                {
                    *threshold = o.threshold.map(check).transpose()?.unwrap_or(*threshold);
                }
                _ if o.high.is_none() && o.low.is_none() && o.threshold.is_none() => {}
                _ => {
                    let takes = match comparison.kind {
                        ComparisonKind::Name { .. } => "`high` and `low`",
                        ComparisonKind::FatherName { .. }
                        | ComparisonKind::MotherName { .. }
                        | ComparisonKind::Generic { .. } => "`threshold`",
                        _ => "no threshold",
                    };
                    return Err(crate::error::Error::settings(vec![format!(
                        "comparison `{}` takes {takes}",
                        o.name
                    )]));
                }
            }
        }
        if self.list.is_empty() {
            return Err(crate::error::Error::settings(vec!["every comparison was left out".into()]));
        }
        Ok(())
    }

    /// The comparisons, in column order.
    pub fn comparisons(&self) -> &[Comparison] {
        &self.list
    }

    /// Number of comparisons: the width of a comparison vector.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are no comparisons.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The comparison vectors of `pairs` (`(left id, right id)`; for a dedupe pass the same
    /// table twice) into `out`, resized to `pairs.len() * self.len()`, row-major:
    /// `out[p * self.len() + c]` is the level of comparison `c` for pair `p`. Ids out of range
    /// read as missing values (level `null`). Parallel over slices of the chunk; the result
    /// does not depend on the thread count.
    pub fn compare_chunk(
        &self,
        left: &PreparedRecords,
        right: &PreparedRecords,
        pairs: &[(u32, u32)],
        out: &mut Vec<u8>,
    ) {
        let width = self.len();
        out.clear();
        out.resize(pairs.len() * width, 0);
        if width == 0 {
            return;
        }
        out.par_chunks_mut(PAIRS_PER_TASK * width)
            .zip(pairs.par_chunks(PAIRS_PER_TASK))
            .for_each_init(Scratch::default, |scratch, (out, pairs)| {
                self.fill_slice(left, right, pairs, out, scratch)
            });
    }

    /// [`Comparisons::compare_chunk`] on the calling thread alone, for callers that already run
    /// in parallel (one blocking task each; see [`crate::block::Blocker::map_tasks`]). Same output.
    pub fn compare_serial(
        &self,
        left: &PreparedRecords,
        right: &PreparedRecords,
        pairs: &[(u32, u32)],
        out: &mut Vec<u8>,
    ) {
        let width = self.len();
        out.clear();
        out.resize(pairs.len() * width, 0);
        if width == 0 {
            return;
        }
        let mut scratch = Scratch::default();
        for (out, pairs) in out.chunks_mut(PAIRS_PER_TASK * width).zip(pairs.chunks(PAIRS_PER_TASK)) {
            self.fill_slice(left, right, pairs, out, &mut scratch);
        }
    }

    /// Every comparison's level for a slice of pairs small enough to stay in cache.
    fn fill_slice(
        &self,
        left: &PreparedRecords,
        right: &PreparedRecords,
        pairs: &[(u32, u32)],
        out: &mut [u8],
        scratch: &mut Scratch,
    ) {
        let width = self.len();
        for (c, comparison) in self.list.iter().enumerate() {
            comparison.fill(left, right, pairs, width, c, out, scratch);
        }
    }
}
