//! Prepared records: a dataset normalized once into compact columns that blocking and
//! comparisons read millions of times.
//!
//! [`records`](super::records) produces inspectable text columns; matching needs something else:
//! for every record, by a `u32` id, the handful of keys that blocking rules and comparison levels
//! look at, without parsing or allocating again. [`PreparedRecords`] holds them column by column
//! (strings in one contiguous buffer per column with `u32` offsets, numbers in plain vectors), so
//! a 10M-row table costs a few hundred bytes per record and a pair costs a few cache lines.
//!
//! Built from [`Reader`](crate::read::Reader) batches with the normalizers of this module, in
//! parallel over batches; record ids follow the order of the batches, so the table is the same
//! for any thread count. A missing or unreadable value is stored as empty (strings) or zero
//! (numbers) and compares as null.
//!
//! Names are kept as the normalized full name (canonical tone placement), accent-folded parts
//! (ASCII, which is also the compact alphabet of [`super::alphabet`], so the
//! similarity kernels read them directly), the full name in the compact alphabet with its tones,
//! the folded tokens sorted (for names written in another order) and phonetic keys. Each record
//! also carries how many records of its table share its folded full, family and given name: the
//! term frequencies that the model uses to weigh a match on "Nguyễn" less than one on "Khổng".
//! Whether the name was written given name first is kept too (normalization reorders it), for
//! [`reconcile`](crate::reconcile).
//!
//! Sex written as digits follows the table's convention: `1` male with `0` or (ISO/IEC 5218) `2`
//! female, whichever of the two female digits the table holds more often.
//!
//! Addresses are kept as 2025 units (pre-2025 units mapped), how they were written
//! ([`AddressForm`]: pre-2025 or 2025 units) with their pre-2025 codes, and the place within the
//! ward (house number, street, hamlet) as folded words; parents' names folded and normalized.
//!
//! Columns that no Vietnamese comparison reads become *generic columns* (`GenericColumn`):
//! roles `text`, `number`, `email`, `house_number` and `street` always, and the address units
//! (`hamlet`, `ward`, `district`, `province`) when no record's units resolve to a Vietnamese
//! administrative unit (a foreign address: the units are then compared as text and the address
//! comparison is dropped). Their values are trimmed, case-folded and accent-folded, with runs of
//! spaces collapsed; `number` also drops spaces and separators (`"4 223"` is `"4223"`).

use std::collections::HashMap;

use arrow_array::RecordBatch;
use rayon::prelude::*;
use xxhash_rust::xxh3::Xxh3Builder;

use super::address::{AddressScratch, LegacyCodes, ParsedAddress, parse_address_into};
use super::alphabet;
use super::date::parse_date;
use super::id::{IdShape, parse_id};
use super::name::{NameFlags, NameScratch, NormalizedName, normalize_name_into};
use super::phone::parse_phone;
use super::sex::{NumericSex, Sex, parse_sex, parse_sex_with};
use super::text::{fold_accents_into, fold_char};
use crate::error::{Error, Result};
use crate::read::{Batch, TextColumn};
use crate::record::{DatasetSpec, Role};

mod stored;

pub use stored::STORED_LAYOUT_VERSION;

/// Strings of one column in one buffer: record `i` is `bytes[offsets[i]..offsets[i + 1]]`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Strings {
    offsets: Vec<u32>,
    bytes: Vec<u8>,
    overflow: bool,
}

impl Default for Strings {
    fn default() -> Self {
        Strings { offsets: vec![0], bytes: Vec::new(), overflow: false }
    }
}

impl Strings {
    fn push(&mut self, value: &[u8]) {
        self.bytes.extend_from_slice(value);
        match u32::try_from(self.bytes.len()) {
            Ok(end) => self.offsets.push(end),
            Err(_) => {
                self.overflow = true;
                self.offsets.push(u32::MAX);
            }
        }
    }

    /// Appends all of `other`'s values at once (two copies, not a push per value).
    fn append(&mut self, other: &Strings) {
        let base = self.bytes.len();
        self.bytes.extend_from_slice(&other.bytes);
        let fits = !other.overflow && u32::try_from(self.bytes.len()).is_ok();
        match u32::try_from(base) {
            Ok(base) if fits => {
                let ends = other.offsets.get(1..).unwrap_or_default();
                self.offsets.extend(ends.iter().map(|&end| base + end));
            }
            // Past 4 GiB the table is refused (see `PreparedRecords::from_batches`).
            _ => {
                self.overflow = true;
                self.offsets.extend(std::iter::repeat_n(u32::MAX, other.len()));
            }
        }
        self.overflow |= other.overflow;
    }

    fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Room for `more` records of about the length of those held (a few percent over).
    fn reserve_like(&mut self, more: usize) {
        let records = self.len().max(1);
        let per_record = self.bytes.len().div_ceil(records);
        self.offsets.reserve_exact(more);
        self.bytes.reserve_exact(per_record.saturating_mul(more) / 20 * 21);
    }

    /// The value of record `i`; empty when missing or out of range.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> &[u8] {
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => self.bytes.get(a as usize..b as usize).unwrap_or_default(),
            _ => &[],
        }
    }
}

/// Which kinds of field a prepared table holds (a column with that role was configured).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PreparedFields {
    /// A name (full name, or family/middle/given parts).
    pub name: bool,
    /// A date of birth.
    pub date_of_birth: bool,
    /// Sex.
    pub sex: bool,
    /// A 12-digit personal identification number (CCCD).
    pub national_id: bool,
    /// An old identity card number (CMND).
    pub old_id: bool,
    /// A phone number.
    pub phone: bool,
    /// An address of residence (free text or unit parts).
    pub address: bool,
    /// The father's name.
    pub father: bool,
    /// The mother's name.
    pub mother: bool,
}

/// How a record's address was written, as far as its administrative units tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressForm {
    /// No address.
    Missing = 0,
    /// Written, but no Vietnamese province could be resolved.
    Unresolved = 1,
    /// In the units in force before 1 July 2025 (it names a district, a level abolished in 2025).
    Legacy = 2,
    /// In the units in force since 1 July 2025.
    Y2025 = 3,
}

impl AddressForm {
    fn from_byte(b: u8) -> Self {
        match b {
            1 => AddressForm::Unresolved,
            2 => AddressForm::Legacy,
            3 => AddressForm::Y2025,
            _ => AddressForm::Missing,
        }
    }
}

/// A dataset normalized into comparison-ready columns, records numbered `0..len()` in input
/// order. See the [module docs](self).
///
/// ```no_run
/// use khop::block::{Blocker, BlockingRule};
/// use khop::compare::Comparisons;
/// use khop::normalize::prepared::PreparedRecords;
/// use khop::read::{ReadOptions, Reader};
/// use khop::{ColumnSpec, DatasetSpec, Role};
///
/// # fn main() -> khop::Result<()> {
/// let spec = DatasetSpec {
///     id_column: Some("id".into()),
///     columns: vec![ColumnSpec::new("ho_ten", Role::FullName), ColumnSpec::new("ngay_sinh", Role::DateOfBirth)],
/// };
/// let mut national = Reader::open("national.csv", &ReadOptions::default())?;
/// let mut sector = Reader::open("sector.csv", &ReadOptions::default())?;
/// let right = PreparedRecords::from_batches(&spec, &mut national)?;
/// let left = PreparedRecords::from_batches(&spec, &mut sector)?;
///
/// let rules = BlockingRule::defaults_for(&left, Some(&right));
/// let comparisons = Comparisons::default_for(&left, Some(&right));
/// let mut levels = Vec::new();
/// let report = Blocker::new(rules, &left, Some(&right)).for_each_chunk(|pairs| {
///     comparisons.compare_chunk(&left, &right, pairs, &mut levels);
///     // levels[p * comparisons.len() + c]: level of comparison c for pairs[p]
/// });
/// println!("{} candidate pairs", report.total_pairs());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PreparedRecords {
    fields: PreparedFields,
    /// 1-based row number in the source file.
    rows: Vec<u64>,
    /// The id column's value, when the dataset has one.
    ids: Strings,
    /// Normalized full name (NFC, lower case, canonical tone placement).
    full: Strings,
    /// The full name in the compact alphabet, tones kept.
    full_code: Strings,
    folded_full: Strings,
    folded_family: Strings,
    folded_middle: Strings,
    folded_given: Strings,
    /// Folded tokens in sorted order, space separated.
    sorted_tokens: Strings,
    phonetic_full: Strings,
    phonetic_given: Strings,
    /// Whether the name was written given name first (and reordered when normalized).
    name_reversed: Vec<bool>,
    /// Year of birth, 0 when unknown.
    year: Vec<u16>,
    /// Month and day of birth, 0 when unknown.
    month: Vec<u8>,
    day: Vec<u8>,
    /// 0 unknown, 1 male, 2 female. Digits follow the table's convention: `1`/`0` or ISO/IEC
    /// 5218 `1`/`2`, whichever female digit the table holds more often.
    sex: Vec<u8>,
    /// Cleaned national id digits (12 for a CCCD; other lengths are kept as written).
    national_id: Strings,
    /// Birth year and sex decoded from a 12-digit national id (0 when none).
    cccd_year: Vec<u16>,
    cccd_sex: Vec<u8>,
    old_id: Strings,
    /// E.164 phone number.
    phone: Strings,
    /// 2025 province code, 0 when unknown.
    province: Vec<u32>,
    /// 2025 ward codes (a pre-2025 commune split across several gives several), 4 bytes each,
    /// little-endian; the default successor first.
    wards: Strings,
    /// How the address was written: [`AddressForm`] as a byte.
    address_form: Vec<u8>,
    /// Pre-2025 province, district and ward codes of an address written in pre-2025 units (0
    /// when unknown, and for addresses in 2025 units).
    legacy_province: Vec<u8>,
    legacy_district: Vec<u16>,
    legacy_ward: Vec<u32>,
    /// The place within the ward: house number, street and hamlet, folded, without the words
    /// that mark them ([`place_key_into`]).
    place: Strings,
    /// Parents' names, folded (what comparisons read) and normalized (what people read).
    father: Strings,
    mother: Strings,
    father_full: Strings,
    mother_full: Strings,
    /// How many records of this table share the record's folded full, family and given name.
    full_count: Vec<u32>,
    family_count: Vec<u32>,
    given_count: Vec<u32>,
    /// Columns compared as plain normalized text, in the order of the dataset's columns.
    generic: Vec<GenericColumn>,
    /// Records the counts above were taken over, when not all of them ([`Self::recount`]).
    counted: Option<usize>,
}

/// Column accessors for the later stages (blocking, comparisons, reconciliation): they read
/// the columns through these, so that normalization may change how it stores them.
impl PreparedRecords {
    #[inline]
    pub(crate) fn full(&self) -> &Strings {
        &self.full
    }

    #[inline]
    pub(crate) fn folded_full(&self) -> &Strings {
        &self.folded_full
    }

    #[inline]
    pub(crate) fn folded_family(&self) -> &Strings {
        &self.folded_family
    }

    #[inline]
    pub(crate) fn folded_middle(&self) -> &Strings {
        &self.folded_middle
    }

    #[inline]
    pub(crate) fn folded_given(&self) -> &Strings {
        &self.folded_given
    }

    #[inline]
    pub(crate) fn sorted_tokens(&self) -> &Strings {
        &self.sorted_tokens
    }

    #[inline]
    pub(crate) fn phonetic_full(&self) -> &Strings {
        &self.phonetic_full
    }

    #[inline]
    pub(crate) fn phonetic_given(&self) -> &Strings {
        &self.phonetic_given
    }

    #[inline]
    pub(crate) fn name_reversed(&self) -> &[bool] {
        &self.name_reversed
    }

    #[inline]
    pub(crate) fn year(&self) -> &[u16] {
        &self.year
    }

    #[inline]
    pub(crate) fn month(&self) -> &[u8] {
        &self.month
    }

    #[inline]
    pub(crate) fn day(&self) -> &[u8] {
        &self.day
    }

    #[inline]
    pub(crate) fn sex(&self) -> &[u8] {
        &self.sex
    }

    #[inline]
    pub(crate) fn national_id(&self) -> &Strings {
        &self.national_id
    }

    #[inline]
    pub(crate) fn cccd_year(&self) -> &[u16] {
        &self.cccd_year
    }

    #[inline]
    pub(crate) fn cccd_sex(&self) -> &[u8] {
        &self.cccd_sex
    }

    #[inline]
    pub(crate) fn old_id(&self) -> &Strings {
        &self.old_id
    }

    #[inline]
    pub(crate) fn phone(&self) -> &Strings {
        &self.phone
    }

    #[inline]
    pub(crate) fn province(&self) -> &[u32] {
        &self.province
    }

    #[inline]
    pub(crate) fn legacy_province(&self) -> &[u8] {
        &self.legacy_province
    }

    #[inline]
    pub(crate) fn legacy_district(&self) -> &[u16] {
        &self.legacy_district
    }

    #[inline]
    pub(crate) fn legacy_ward(&self) -> &[u32] {
        &self.legacy_ward
    }

    #[inline]
    pub(crate) fn place(&self) -> &Strings {
        &self.place
    }

    #[inline]
    pub(crate) fn father(&self) -> &Strings {
        &self.father
    }

    #[inline]
    pub(crate) fn mother(&self) -> &Strings {
        &self.mother
    }

    #[inline]
    pub(crate) fn father_full(&self) -> &Strings {
        &self.father_full
    }

    #[inline]
    pub(crate) fn mother_full(&self) -> &Strings {
        &self.mother_full
    }

    #[inline]
    pub(crate) fn generic(&self) -> &[GenericColumn] {
        &self.generic
    }
}

/// A column compared as plain text: its normalized values and their counts.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct GenericColumn {
    /// The column's name, trimmed and in lower case: columns of two tables pair by it.
    pub(crate) name: String,
    /// [`column_key`] of the name.
    pub(crate) key: u64,
    pub(crate) role: Option<Role>,
    pub(crate) values: Strings,
    /// How many records of this table share the record's value (0 when missing).
    pub(crate) counts: Vec<u32>,
    /// Distinct non-empty values, and records with a value.
    pub(crate) distinct: usize,
    pub(crate) present: usize,
}

impl GenericColumn {
    /// Whether the column looks like an identifier: at least 90% of the records that have a
    /// value have a value of their own (and at least 20 records have one).
    pub(crate) fn is_id_like(&self) -> bool {
        self.present >= 20 && self.distinct * 10 >= self.present * 9
    }

    /// How many other records share a record's value, on average over the records that have
    /// one: about 0 for an identifier, the mean number of duplicates for an identifier in a table
    /// that holds duplicates, tens or more for a postcode or a town.
    pub(crate) fn mean_shared(&self) -> f64 {
        let shared: u64 = self.counts.iter().filter(|&&n| n > 0).map(|&n| u64::from(n) - 1).sum();
        if self.present == 0 { 0.0 } else { shared as f64 / self.present as f64 }
    }
}

/// A hash of a generic column's name (trimmed, lower case), by which blocking keys find it.
pub(crate) fn column_key(name: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(name.trim().to_lowercase().as_bytes())
}

/// Roles compared as generic text (see the [module docs](self)).
fn is_generic(role: Role) -> bool {
    matches!(role, Role::Text | Role::Number | Role::Email | Role::HouseNumber | Role::Street)
}

/// Address-unit roles: generic only when they resolve to no Vietnamese unit.
fn is_unit(role: Role) -> bool {
    matches!(role, Role::Hamlet | Role::Ward | Role::District | Role::Province)
}

/// Writes the generic normalized form of `value` into `out` (cleared first): trimmed, lower
/// case, accents folded, runs of white space as one space; numbers lose spaces and separators.
pub(crate) fn normalize_generic_into(value: &str, role: Role, out: &mut String) {
    out.clear();
    let mut space = false;
    for c in value.chars() {
        if c.is_whitespace() || c.is_control() {
            space = !out.is_empty();
            continue;
        }
        if role == Role::Number && matches!(c, ',' | '_' | '\'' | '.' | '-' | '/') {
            continue;
        }
        if super::text::is_combining(c) {
            continue;
        }
        if space && role != Role::Number {
            out.push(' ');
        }
        space = false;
        for lower in fold_char(c).to_lowercase() {
            out.push(fold_char(lower));
        }
    }
}

/// Where each kind of field comes from in a dataset's columns.
#[derive(Clone, Debug, Default)]
struct Sources {
    full: Option<String>,
    name_parts: Vec<String>,
    date: Option<String>,
    sex: Option<String>,
    national_id: Option<String>,
    old_id: Option<String>,
    phone: Option<String>,
    address: Option<String>,
    address_parts: Vec<String>,
    father: Option<String>,
    mother: Option<String>,
    /// Generic columns: (column name, role).
    generic: Vec<(String, Role)>,
}

impl Sources {
    fn new(spec: &DatasetSpec) -> Self {
        let first = |role: Role| spec.columns.iter().find(|c| c.role == role).map(|c| c.name.clone());
        let all = |roles: &[Role]| -> Vec<String> {
            roles
                .iter()
                .filter_map(|&r| spec.columns.iter().find(|c| c.role == r).map(|c| c.name.clone()))
                .collect()
        };
        Sources {
            full: first(Role::FullName),
            name_parts: all(&[Role::FamilyName, Role::MiddleName, Role::GivenName]),
            date: first(Role::DateOfBirth),
            sex: first(Role::Sex),
            national_id: first(Role::NationalId),
            old_id: first(Role::OldId),
            phone: first(Role::Phone),
            address: first(Role::Address),
            address_parts: all(&[Role::Hamlet, Role::Ward, Role::District, Role::Province]),
            father: first(Role::FatherName),
            mother: first(Role::MotherName),
            generic: spec
                .columns
                .iter()
                .filter(|c| {
                    is_generic(c.role)
                        || (is_unit(c.role) && !spec.columns.iter().any(|a| a.role == Role::Address))
                })
                .map(|c| (c.name.clone(), c.role))
                .collect(),
        }
    }

    fn fields(&self) -> PreparedFields {
        PreparedFields {
            name: self.full.is_some() || !self.name_parts.is_empty(),
            date_of_birth: self.date.is_some(),
            sex: self.sex.is_some(),
            national_id: self.national_id.is_some(),
            old_id: self.old_id.is_some(),
            phone: self.phone.is_some(),
            address: self.address.is_some() || !self.address_parts.is_empty(),
            father: self.father.is_some(),
            mother: self.mother.is_some(),
        }
    }
}

/// Working memory for one batch.
#[derive(Default)]
struct Scratch {
    name_scratch: NameScratch,
    name: NormalizedName,
    address_scratch: AddressScratch,
    address: ParsedAddress,
    text: String,
    folded: String,
    bytes: Vec<u8>,
    tokens: Vec<String>,
}

/// How many batches are prepared in parallel before the next ones are read, per thread: enough
/// to even out batches of unequal cost, few enough that the raw batches waiting and their
/// prepared parts stay small beside the table (64 batches of 65,536 rows in flight made a 10M x
/// 4M link peak at 7.07 GiB on two threads, 8 at 5.71 GiB, in the same time).
const BATCHES_IN_FLIGHT_PER_THREAD: usize = 4;

impl PreparedRecords {
    /// Prepares the records of `batches` (as a [`Reader`](crate::read::Reader) yields them)
    /// for `spec`'s roles. Batches are normalized in parallel, a bounded number at a time;
    /// records are numbered in batch order, so the result does not depend on the thread count.
    ///
    /// Fails on the first failed batch, when a batch lacks a configured column, or when one
    /// column of names exceeds 4 GiB.
    pub fn from_batches<I>(spec: &DatasetSpec, batches: I) -> Result<PreparedRecords>
    where
        I: IntoIterator<Item = Result<Batch>>,
    {
        Self::from_batches_sized(spec, batches, None)
    }

    /// [`PreparedRecords::from_batches`] for a table of about `rows` rows (a Parquet file's
    /// row count): once the first wave of batches is prepared, every column gets room for the
    /// whole table in proportion to what the first records take, so that the table fills its
    /// columns without growing them again and again (each growth copies the column into fresh
    /// memory). A wrong count costs at most one more growth; nothing else depends on it.
    pub fn from_batches_sized<I>(
        spec: &DatasetSpec,
        batches: I,
        rows: Option<usize>,
    ) -> Result<PreparedRecords>
    where
        I: IntoIterator<Item = Result<Batch>>,
    {
        let sources = Sources::new(spec);
        let mut reserved = false;
        let mut out = PreparedRecords { fields: sources.fields(), ..Default::default() };
        let in_flight = BATCHES_IN_FLIGHT_PER_THREAD * rayon::current_num_threads().max(1);
        let mut pending: Vec<Batch> = Vec::with_capacity(in_flight);
        let mut iter = batches.into_iter();
        loop {
            pending.clear();
            for batch in iter.by_ref() {
                pending.push(batch?);
                if pending.len() == in_flight {
                    break;
                }
            }
            if pending.is_empty() {
                break;
            }
            let parts: Vec<Result<PreparedRecords>> =
                pending.par_iter().map(|b| prepare_batch(spec, &sources, b)).collect();
            for part in parts {
                out.append(&part?);
            }
            if let Some(rows) = rows.filter(|&rows| !reserved && rows > out.len() && !out.is_empty()) {
                out.reserve_for(rows - out.len());
                reserved = true;
            }
            if pending.len() < in_flight {
                break;
            }
        }
        if out.text_columns().iter().any(|c| c.overflow) {
            return Err(Error::capacity("prepare: a column holds more than 4 GiB of text; split the input"));
        }
        if u32::try_from(out.len()).is_err() {
            return Err(Error::capacity("prepare: more than 4,294,967,295 records; split the input"));
        }
        if out.generic.iter().any(|c| c.values.overflow) {
            return Err(Error::capacity("prepare: a column holds more than 4 GiB of text; split the input"));
        }
        resolve_numeric_sex(&mut out.sex);
        // Address units that resolved to Vietnamese units feed the address comparison; when
        // none did (foreign addresses), they are compared as text instead.
        let resolved = out.province.iter().any(|&p| p != 0);
        if out.fields.address && sources.address.is_none() && !resolved {
            out.fields.address = false;
        }
        let keep_units = !out.fields.address;
        out.generic.retain(|c| c.role.is_none_or(|r| !is_unit(r) || keep_units));
        out.recount(None);
        Ok(out)
    }

    /// Every text column but the generic ones.
    fn text_columns(&self) -> [&Strings; 19] {
        [
            &self.ids,
            &self.full,
            &self.full_code,
            &self.folded_full,
            &self.folded_family,
            &self.folded_middle,
            &self.folded_given,
            &self.sorted_tokens,
            &self.phonetic_full,
            &self.phonetic_given,
            &self.national_id,
            &self.old_id,
            &self.phone,
            &self.wards,
            &self.place,
            &self.father,
            &self.mother,
            &self.father_full,
            &self.mother_full,
        ]
    }

    /// Takes the table-level counts again (how many records share each name and each generic
    /// column's value, which term frequencies are drawn from) over the records `live` marks, all
    /// of them when `None`. Records left out count for nothing and get a count of 0.
    pub(crate) fn recount(&mut self, live: Option<&[bool]>) {
        self.full_count = counts(&self.folded_full, live);
        self.family_count = counts(&self.folded_family, live);
        self.given_count = counts(&self.folded_given, live);
        for column in &mut self.generic {
            column.counts = counts(&column.values, live);
            column.present = column.counts.iter().filter(|&&n| n > 0).count();
            column.distinct =
                column.counts.iter().filter(|&&n| n > 0).map(|&n| 1.0 / f64::from(n)).sum::<f64>().round()
                    as usize;
        }
        self.counted = live.map(|live| live.iter().filter(|&&l| l).count());
    }

    /// The records of `parts`, one after the other, numbered on from the first part's. The
    /// parts must have been prepared alike: the same kinds of field and generic columns (else
    /// `ErrorKind::Invalid`). The counts are not taken: call [`Self::recount`].
    pub(crate) fn concat(parts: &[&PreparedRecords]) -> Result<PreparedRecords> {
        let Some(first) = parts.first() else { return Ok(PreparedRecords::default()) };
        let names = |p: &PreparedRecords| p.generic.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        let mut out = PreparedRecords { fields: first.fields, ..Default::default() };
        for part in parts {
            if part.fields != first.fields || names(part) != names(first) {
                return Err(Error::invalid(format!(
                    "records prepared with other fields ({:?}, columns {:?}) cannot join records prepared with {:?}, columns {:?}",
                    part.fields,
                    names(part),
                    first.fields,
                    names(first)
                )));
            }
            out.append(part);
        }
        if out.text_columns().iter().any(|c| c.overflow) || out.generic.iter().any(|c| c.values.overflow) {
            return Err(Error::capacity("a column holds more than 4 GiB of text"));
        }
        if u32::try_from(out.len()).is_err() {
            return Err(Error::capacity("more than 4,294,967,295 records"));
        }
        Ok(out)
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Which kinds of field the table holds.
    pub fn fields(&self) -> PreparedFields {
        self.fields
    }

    /// The source row number (1-based, header excluded) of record `id`.
    pub fn row(&self, id: u32) -> Option<u64> {
        self.rows.get(id as usize).copied()
    }

    /// The value of the id column for record `id`; without an id column, its row number in the
    /// file (1-based, header excluded).
    pub fn record_id(&self, id: u32) -> &str {
        std::str::from_utf8(self.ids.get(id as usize)).unwrap_or_default()
    }

    /// The record whose id column holds `id` (the first, if several do).
    pub fn find_id(&self, id: &str) -> Option<u32> {
        (0..self.len()).find(|&i| self.ids.get(i) == id.as_bytes()).map(|i| i as u32)
    }

    /// Term frequency of record `id`'s folded full name in this table (share of records with
    /// that name), 0 when the name is missing.
    pub fn full_name_frequency(&self, id: u32) -> f64 {
        self.frequency(&self.full_count, id)
    }

    /// Term frequency of record `id`'s folded family name in this table.
    pub fn family_name_frequency(&self, id: u32) -> f64 {
        self.frequency(&self.family_count, id)
    }

    /// Term frequency of record `id`'s folded given name in this table.
    pub fn given_name_frequency(&self, id: u32) -> f64 {
        self.frequency(&self.given_count, id)
    }

    /// Names of the generic columns (see the [module docs](self)), in lower case.
    pub fn generic_columns(&self) -> impl Iterator<Item = &str> + '_ {
        self.generic.iter().map(|c| c.name.as_str())
    }

    /// Term frequency of record `id`'s value in generic column `column` (an index into
    /// [`generic_columns`](Self::generic_columns)), 0 when missing.
    pub fn generic_frequency(&self, column: usize, id: u32) -> f64 {
        match self.generic.get(column) {
            Some(c) => self.frequency(&c.counts, id),
            None => 0.0,
        }
    }

    /// The index of the generic column named `name` (case-insensitive).
    pub(crate) fn generic_index(&self, name: &str) -> Option<usize> {
        self.generic.iter().position(|c| c.name.eq_ignore_ascii_case(name.trim()))
    }

    /// The generic column whose [`column_key`] is `key`.
    #[inline]
    pub(crate) fn generic_by_key(&self, key: u64) -> Option<&GenericColumn> {
        self.generic.iter().find(|c| c.key == key)
    }

    fn frequency(&self, counts: &[u32], id: u32) -> f64 {
        match counts.get(id as usize) {
            Some(&c) if c > 0 => f64::from(c) / self.counted.unwrap_or(self.len()).max(1) as f64,
            _ => 0.0,
        }
    }

    /// How record `id`'s address was written.
    pub fn address_form(&self, id: u32) -> AddressForm {
        AddressForm::from_byte(self.address_form.get(id as usize).copied().unwrap_or(0))
    }

    /// 2025 ward codes of record `i`.
    pub(crate) fn wards_of(&self, i: usize) -> impl Iterator<Item = u32> + '_ {
        self.wards.get(i).chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
    }

    fn append(&mut self, o: &PreparedRecords) {
        self.rows.extend_from_slice(&o.rows);
        self.ids.append(&o.ids);
        self.full.append(&o.full);
        self.full_code.append(&o.full_code);
        self.folded_full.append(&o.folded_full);
        self.folded_family.append(&o.folded_family);
        self.folded_middle.append(&o.folded_middle);
        self.folded_given.append(&o.folded_given);
        self.sorted_tokens.append(&o.sorted_tokens);
        self.phonetic_full.append(&o.phonetic_full);
        self.phonetic_given.append(&o.phonetic_given);
        self.name_reversed.extend_from_slice(&o.name_reversed);
        self.year.extend_from_slice(&o.year);
        self.month.extend_from_slice(&o.month);
        self.day.extend_from_slice(&o.day);
        self.sex.extend_from_slice(&o.sex);
        self.national_id.append(&o.national_id);
        self.cccd_year.extend_from_slice(&o.cccd_year);
        self.cccd_sex.extend_from_slice(&o.cccd_sex);
        self.old_id.append(&o.old_id);
        self.phone.append(&o.phone);
        self.province.extend_from_slice(&o.province);
        self.wards.append(&o.wards);
        self.address_form.extend_from_slice(&o.address_form);
        self.legacy_province.extend_from_slice(&o.legacy_province);
        self.legacy_district.extend_from_slice(&o.legacy_district);
        self.legacy_ward.extend_from_slice(&o.legacy_ward);
        self.place.append(&o.place);
        self.father.append(&o.father);
        self.mother.append(&o.mother);
        self.father_full.append(&o.father_full);
        self.mother_full.append(&o.mother_full);
        if self.generic.is_empty() {
            self.generic = o
                .generic
                .iter()
                .map(|c| GenericColumn {
                    name: c.name.clone(),
                    key: c.key,
                    role: c.role,
                    ..Default::default()
                })
                .collect();
        }
        for (mine, theirs) in self.generic.iter_mut().zip(&o.generic) {
            mine.values.append(&theirs.values);
        }
    }
}

/// For each record, how many records share its (non-empty) value.
/// Only the records `live` marks count, and the others get 0.
fn counts(column: &Strings, live: Option<&[bool]>) -> Vec<u32> {
    let is_live = |i: usize| live.is_none_or(|l| l.get(i).copied().unwrap_or(false));
    let mut map: HashMap<&[u8], u32, Xxh3Builder> = HashMap::with_hasher(Xxh3Builder::new());
    for i in 0..column.len() {
        let v = column.get(i);
        if !v.is_empty() && is_live(i) {
            *map.entry(v).or_insert(0) += 1;
        }
    }
    (0..column.len())
        .map(|i| {
            let v = column.get(i);
            if v.is_empty() || !is_live(i) { 0 } else { map.get(v).copied().unwrap_or(0) }
        })
        .collect()
}

/// Provisional sex codes of the digits whose meaning depends on the table's convention.
const SEX_DIGIT_0: u8 = 3;
const SEX_DIGIT_2: u8 = 4;

/// Sex written as digits: `1` is male in both conventions; the female digit is `0` where `1`
/// male / `0` female is used, `2` in ISO/IEC 5218 (`1` male, `2` female, `0` unknown). A table
/// uses one convention: the digit it holds more often is its female code, the other unknown.
fn resolve_numeric_sex(sex: &mut [u8]) {
    let zeros = sex.iter().filter(|&&c| c == SEX_DIGIT_0).count();
    let twos = sex.iter().filter(|&&c| c == SEX_DIGIT_2).count();
    let female = if twos > zeros { SEX_DIGIT_2 } else { SEX_DIGIT_0 };
    for code in sex.iter_mut().filter(|c| **c >= SEX_DIGIT_0) {
        *code = if *code == female { 2 } else { 0 };
    }
}

fn sex_code(sex: Sex) -> u8 {
    match sex {
        Sex::Male => 1,
        Sex::Female => 2,
        Sex::Unknown => 0,
    }
}

fn get<'a>(column: &Option<TextColumn<'a>>, row: usize) -> Option<&'a str> {
    column.as_ref().and_then(|c| c.get(row))
}

/// The text columns of a batch that preparation reads, by what they hold.
struct BatchColumns<'a> {
    ids: Option<TextColumn<'a>>,
    full: Option<TextColumn<'a>>,
    name_parts: Vec<TextColumn<'a>>,
    date: Option<TextColumn<'a>>,
    sex: Option<TextColumn<'a>>,
    national_id: Option<TextColumn<'a>>,
    old_id: Option<TextColumn<'a>>,
    phone: Option<TextColumn<'a>>,
    address: Option<TextColumn<'a>>,
    address_parts: Vec<TextColumn<'a>>,
    father: Option<TextColumn<'a>>,
    mother: Option<TextColumn<'a>>,
    generic: Vec<TextColumn<'a>>,
}

impl<'a> BatchColumns<'a> {
    /// Finds the columns of `sources` (and the id column of `spec`) in `records`.
    fn new(spec: &DatasetSpec, sources: &Sources, records: &'a RecordBatch) -> Result<Self> {
        let column = |name: &str| -> Result<TextColumn<'a>> {
            let array = records
                .column_by_name(name)
                .ok_or_else(|| Error::invalid(format!("prepare: the batch has no column `{name}`")))?;
            TextColumn::new(array.as_ref())
                .ok_or_else(|| Error::invalid(format!("prepare: column `{name}` is not text")))
        };
        let optional = |name: &Option<String>| -> Result<Option<TextColumn<'a>>> {
            name.as_deref().map(column).transpose()
        };
        let list =
            |names: &[String]| -> Result<Vec<TextColumn<'a>>> { names.iter().map(|n| column(n)).collect() };
        let generic_names: Vec<String> = sources.generic.iter().map(|(n, _)| n.clone()).collect();
        Ok(Self {
            ids: optional(&spec.id_column)?,
            full: optional(&sources.full)?,
            name_parts: list(&sources.name_parts)?,
            date: optional(&sources.date)?,
            sex: optional(&sources.sex)?,
            national_id: optional(&sources.national_id)?,
            old_id: optional(&sources.old_id)?,
            phone: optional(&sources.phone)?,
            address: optional(&sources.address)?,
            address_parts: list(&sources.address_parts)?,
            father: optional(&sources.father)?,
            mother: optional(&sources.mother)?,
            generic: list(&generic_names)?,
        })
    }
}

fn prepare_batch(spec: &DatasetSpec, sources: &Sources, batch: &Batch) -> Result<PreparedRecords> {
    let records = &batch.records;
    let n = records.num_rows();
    let cols = BatchColumns::new(spec, sources, records)?;
    let mut out = PreparedRecords { fields: sources.fields(), ..Default::default() };
    out.generic = sources
        .generic
        .iter()
        .map(|(name, role)| GenericColumn {
            name: name.trim().to_lowercase(),
            key: column_key(name),
            role: Some(*role),
            ..Default::default()
        })
        .collect();
    out.rows = if batch.rows.len() == n { batch.rows.clone() } else { (1..=n as u64).collect() };
    let mut s = Scratch::default();
    for row in 0..n {
        match &cols.ids {
            Some(_) => out.ids.push(get(&cols.ids, row).unwrap_or_default().as_bytes()),
            // No id column: a record is named by its row number in the file.
            None => out.ids.push(out.rows[row].to_string().as_bytes()),
        }
        push_name(&cols, row, &mut s, &mut out);
        push_date_and_sex(&cols, row, &mut out);
        push_ids(&cols, row, &mut out);
        push_address(&cols, row, &mut s, &mut out);
        push_parents(&cols, row, &mut s, &mut out);
        push_generic(&cols, sources, row, &mut s, &mut out);
    }
    Ok(out)
}

/// The name of record `row`: the full-name column, or the parts joined family first.
fn push_name(cols: &BatchColumns<'_>, row: usize, s: &mut Scratch, out: &mut PreparedRecords) {
    s.text.clear();
    match get(&cols.full, row) {
        Some(v) => s.text.push_str(v),
        None => {
            for part in cols.name_parts.iter().filter_map(|c| c.get(row)) {
                s.text.push_str(part);
                s.text.push(' ');
            }
        }
    }
    normalize_name_into(&s.text, &mut s.name_scratch, &mut s.name);
    let name = &s.name;
    out.full.push(name.full.as_bytes());
    alphabet::encode_into(&name.full, &mut s.bytes);
    out.full_code.push(&s.bytes);
    out.folded_full.push(name.folded_full.as_bytes());
    out.folded_family.push(name.folded_family.as_bytes());
    fold_accents_into(&name.middle, &mut s.folded);
    out.folded_middle.push(s.folded.as_bytes());
    out.folded_given.push(name.folded_given.as_bytes());
    sorted_tokens(&name.folded_full, &mut s.tokens, &mut s.folded);
    out.sorted_tokens.push(s.folded.as_bytes());
    out.phonetic_full.push(name.phonetic_full.as_bytes());
    out.phonetic_given.push(name.phonetic_given.as_bytes());
    out.name_reversed.push(name.flags.contains(NameFlags::REVERSED));
}

/// Date of birth and sex of record `row`.
fn push_date_and_sex(cols: &BatchColumns<'_>, row: usize, out: &mut PreparedRecords) {
    let dob = get(&cols.date, row).map(parse_date).unwrap_or_default();
    out.year.push(dob.year.unwrap_or(0));
    out.month.push(dob.month.filter(|_| dob.year.is_some()).unwrap_or(0));
    out.day.push(dob.day.filter(|_| dob.year.is_some()).unwrap_or(0));
    out.sex.push(match get(&cols.sex, row) {
        Some(v) => match (parse_sex(v), parse_sex_with(v, NumericSex::Iso5218)) {
            (a, b) if a == b => sex_code(a),
            // `0` (female where `1` is male) or `2` (female in ISO/IEC 5218): the table
            // decides which convention it follows, in `from_batches`.
            (Sex::Female, _) => SEX_DIGIT_0,
            _ => SEX_DIGIT_2,
        },
        None => 0,
    });
}

/// National id (with what a CCCD tells), old id and phone of record `row`.
fn push_ids(cols: &BatchColumns<'_>, row: usize, out: &mut PreparedRecords) {
    let id = parse_id(get(&cols.national_id, row).unwrap_or_default());
    out.national_id.push(id.as_str().as_bytes());
    let cccd = id.cccd();
    out.cccd_year.push(cccd.map_or(0, |c| c.birth_year));
    out.cccd_sex.push(cccd.map_or(0, |c| sex_code(c.sex)));
    let old = parse_id(get(&cols.old_id, row).unwrap_or_default());
    let old_digits = match old.shape() {
        IdShape::Cccd12 | IdShape::Cmnd9 => old.as_str(),
        _ => "",
    };
    out.old_id.push(old_digits.as_bytes());
    out.phone.push(get(&cols.phone, row).map(parse_phone).as_ref().map_or("", |p| p.as_str()).as_bytes());
}

/// Address of record `row`: the free-text column, or the unit parts joined smallest first.
fn push_address(cols: &BatchColumns<'_>, row: usize, s: &mut Scratch, out: &mut PreparedRecords) {
    s.text.clear();
    match get(&cols.address, row) {
        Some(v) => s.text.push_str(v),
        None => {
            for part in cols.address_parts.iter().filter_map(|c| c.get(row)) {
                if !s.text.is_empty() {
                    s.text.push_str(", ");
                }
                s.text.push_str(part);
            }
        }
    }
    s.bytes.clear();
    let mut province = 0;
    let mut form = AddressForm::Missing;
    let mut legacy = LegacyCodes::default();
    s.folded.clear();
    if !s.text.trim().is_empty() {
        parse_address_into(&s.text, &mut s.address_scratch, &mut s.address);
        place_key_into(&s.address, &mut s.folded);
        province = s.address.new.first().map_or(0, |c| c.province);
        for ward in s.address.new.iter().filter_map(|c| c.ward) {
            s.bytes.extend_from_slice(&ward.to_le_bytes());
        }
        form = if province == 0 {
            AddressForm::Unresolved
        } else if s.address.district().is_some() {
            legacy = s.address.old.unwrap_or_default();
            AddressForm::Legacy
        } else {
            AddressForm::Y2025
        };
    }
    out.province.push(province);
    out.wards.push(&s.bytes);
    out.address_form.push(form as u8);
    out.legacy_province.push(u8::try_from(legacy.province).unwrap_or(0));
    out.legacy_district.push(legacy.district.and_then(|d| u16::try_from(d).ok()).unwrap_or(0));
    out.legacy_ward.push(legacy.ward.unwrap_or(0));
    out.place.push(s.folded.as_bytes());
}

/// Parents' names of record `row`.
fn push_parents(cols: &BatchColumns<'_>, row: usize, s: &mut Scratch, out: &mut PreparedRecords) {
    for (source, folded, full) in [
        (&cols.father, &mut out.father, &mut out.father_full),
        (&cols.mother, &mut out.mother, &mut out.mother_full),
    ] {
        match get(source, row) {
            Some(v) => {
                normalize_name_into(v, &mut s.name_scratch, &mut s.name);
                folded.push(s.name.folded_full.as_bytes());
                full.push(s.name.full.as_bytes());
            }
            None => {
                folded.push(b"");
                full.push(b"");
            }
        }
    }
}

/// Generic columns of record `row`.
fn push_generic(
    cols: &BatchColumns<'_>,
    sources: &Sources,
    row: usize,
    s: &mut Scratch,
    out: &mut PreparedRecords,
) {
    for ((column, target), (_, role)) in cols.generic.iter().zip(&mut out.generic).zip(&sources.generic) {
        match column.get(row) {
            Some(v) => {
                normalize_generic_into(v, *role, &mut s.folded);
                target.values.push(s.folded.as_bytes());
            }
            None => target.values.push(b""),
        }
    }
}

/// Words that only mark a part of an address within its ward: house number prefixes (`Số`),
/// street and hamlet markers (`đường`, `thôn`, `tổ dân phố`...), folded.
const PLACE_MARKERS: &[&str] = &[
    "so", "sn", "no", "nha", "duong", "pho", "thon", "xom", "khom", "ap", "ban", "buon", "to", "dan", "khu",
    "tdp", "kp",
];

/// The place within the ward of a parsed address, into `out` (cleared first): its house
/// number, street and hamlet, accent-folded, lower case, split on anything but letters and
/// digits, without [`PLACE_MARKERS`]; empty when the address names none.
fn place_key_into(address: &ParsedAddress, out: &mut String) {
    out.clear();
    // Where the word being written starts in `out`.
    let mut start = 0;
    for part in [address.house(), address.street(), address.hamlet()].into_iter().flatten() {
        for c in part.chars().chain([' ']) {
            if super::text::is_combining(c) {
                continue;
            }
            let f = fold_char(c).to_ascii_lowercase();
            if f.is_ascii_alphanumeric() {
                if start == out.len() && !out.is_empty() {
                    out.push(' ');
                    start = out.len();
                }
                out.push(f);
            } else if start < out.len() {
                if PLACE_MARKERS.contains(&&out[start..]) {
                    out.truncate(start.saturating_sub(1));
                }
                start = out.len();
            }
        }
    }
}

/// Writes the space-separated tokens of `folded` in sorted order into `out`.
fn sorted_tokens(folded: &str, tokens: &mut Vec<String>, out: &mut String) {
    let mut n = 0;
    for token in folded.split(' ').filter(|t| !t.is_empty()) {
        if n == tokens.len() {
            tokens.push(String::new());
        }
        tokens[n].clear();
        tokens[n].push_str(token);
        n += 1;
    }
    tokens[..n].sort_unstable();
    out.clear();
    for (i, token) in tokens[..n].iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(token);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, RecordBatch, StringArray};

    use super::*;
    use crate::record::ColumnSpec;

    #[test]
    fn place_within_the_ward_drops_marker_words() {
        let key = |text: &str| {
            let mut out = String::new();
            place_key_into(&crate::normalize::address::parse_address(text), &mut out);
            out
        };
        assert_eq!(
            key("Số 45 ngõ 162 Nguyễn Huệ, P.Vạn Thạnh, TP.Nha Trang, T.Khánh Hòa"),
            "45 ngo 162 nguyen hue"
        );
        assert_eq!(
            key("SO 45 NGO 162 NGUYEN HUE, PHUONG VAN THANH, TP NHA TRANG, TINH KHANH HOA"),
            "45 ngo 162 nguyen hue"
        );
        assert_eq!(key("Thôn 2, Xã Tân Ân, Huyện Ngọc Hiển, Tỉnh Cà Mau"), "2");
        assert_eq!(key("Xã Tân Ân, Huyện Ngọc Hiển, Tỉnh Cà Mau"), "");
    }

    #[test]
    fn numeric_sex_follows_the_tables_convention() {
        let spec = DatasetSpec { id_column: None, columns: vec![ColumnSpec::new("gt", Role::Sex)] };
        let prepare = |values: &[&str]| {
            let array: ArrayRef = Arc::new(values.iter().map(|v| Some(*v)).collect::<StringArray>());
            let records = RecordBatch::try_from_iter([("gt", array)]).unwrap();
            let batch = Batch { records, rows: Vec::new(), rejects: Vec::new() };
            PreparedRecords::from_batches(&spec, [Ok(batch)]).unwrap().sex
        };
        // ISO/IEC 5218: 2 is female, 0 unknown.
        assert_eq!(prepare(&["1", "2", "2", "Nữ", "0"]), [1, 2, 2, 2, 0]);
        // 1 male, 0 female: 2 is unknown.
        assert_eq!(prepare(&["1", "0", "0", "2", "Nam"]), [1, 2, 2, 0, 1]);
    }

    #[test]
    fn prepares_keys_of_each_role() {
        let spec = DatasetSpec {
            id_column: Some("id".into()),
            columns: vec![
                ColumnSpec::new("ten", Role::FullName),
                ColumnSpec::new("ns", Role::DateOfBirth),
                ColumnSpec::new("gt", Role::Sex),
                ColumnSpec::new("cccd", Role::NationalId),
                ColumnSpec::new("dc", Role::Address),
            ],
        };
        let text = |v: &[Option<&str>]| -> ArrayRef { Arc::new(v.iter().copied().collect::<StringArray>()) };
        let records = RecordBatch::try_from_iter([
            ("id", text(&[Some("a"), Some("b"), Some("c")])),
            ("ten", text(&[Some("Nguyễn Văn Hoà"), Some("An Nguyen"), None])),
            ("ns", text(&[Some("05/03/1990"), Some("1985"), Some("rác")])),
            ("gt", text(&[Some("Nam"), None, Some("Nữ")])),
            ("cccd", text(&[Some("001090012345"), None, Some("12")])),
            ("dc", text(&[Some("P.2, Q.5, TP.HCM"), None, Some("")])),
        ])
        .unwrap();
        let batch = Batch { records, rows: vec![1, 2, 3], rejects: Vec::new() };
        let p = PreparedRecords::from_batches(&spec, [Ok(batch)]).unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(p.record_id(1), "b");
        assert_eq!(p.folded_full.get(0), b"nguyen van hoa");
        assert_eq!(p.sorted_tokens.get(1), b"an nguyen");
        assert_eq!(p.folded_family.get(1), b"nguyen");
        assert_eq!((p.year[0], p.month[0], p.day[0]), (1990, 3, 5));
        assert_eq!((p.year[1], p.month[1]), (1985, 0));
        assert_eq!(p.year[2], 0);
        assert_eq!(p.sex[..], [1, 0, 2]);
        assert_eq!((p.cccd_year[0], p.cccd_sex[0]), (1990, 1));
        assert_eq!(p.province[0], 79);
        assert!(p.wards_of(0).next().is_some());
        assert_eq!(p.province[2], 0);
        assert_eq!(p.full_count[..], [1, 1, 0]);
        assert_eq!(p.family_count[..], [2, 2, 0]);
        assert!(p.full_code.get(0).len() == "nguyễn văn hoà".chars().count());
    }
}
