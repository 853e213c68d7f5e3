//! Column profiles: what a data centre learns about a new source before matching it.
//!
//! For each column: its role, completeness, an approximate distinct count (HyperLogLog), the
//! most frequent values (a frequent-items summary, exact while a column has few values), the
//! distribution of lengths in characters, the share written with and without Vietnamese
//! diacritics, and the share of values whose shape is invalid for the role (an id that is neither
//! 12 nor 9 digits, a date that does not parse...).

use std::collections::{BTreeMap, HashMap};

use arrow_array::RecordBatch;
use rayon::prelude::*;
use serde::Serialize;
use xxhash_rust::xxh3::xxh3_64;

use crate::config::detect::is_phone;
use crate::normalize::date::parse_date;
use crate::normalize::id::{IdShape, classify_id};
use crate::normalize::text::has_vietnamese_diacritics;
use crate::read::{Batch, ReadStats, TextColumn};
use crate::record::Role;

/// Values kept by the frequent-items summary of each column.
const TOP_CAPACITY: usize = 1024;
/// Most frequent values reported per column.
const TOP_REPORTED: usize = 10;
/// Lengths counted one by one; longer values share the last bucket.
const LENGTH_BUCKETS: usize = 256;

/// Accumulates the profile of one file, batch by batch.
pub struct Profiler {
    columns: Vec<ColumnState>,
    rejects_by_reason: BTreeMap<String, u64>,
}

struct ColumnState {
    name: String,
    role: Option<Role>,
    rows: u64,
    non_null: u64,
    distinct: HyperLogLog,
    top: FrequentItems,
    lengths: Vec<u64>,
    max_length: usize,
    total_length: u64,
    with_letters: u64,
    with_diacritics: u64,
    shape_checked: u64,
    invalid_shape: u64,
}

/// The profile of one file.
#[derive(Clone, Debug, Serialize)]
pub struct DatasetProfile {
    /// The file.
    pub file: String,
    /// Its format.
    pub format: String,
    /// Rows seen in the file.
    pub rows_read: u64,
    /// Rows read successfully (the profile covers these).
    pub rows_passed: u64,
    /// Rows rejected.
    pub rows_rejected: u64,
    /// Rejected rows by reason code.
    pub rejects_by_reason: BTreeMap<String, u64>,
    /// One profile per column, in file order.
    pub columns: Vec<ColumnProfile>,
}

/// The profile of one column.
#[derive(Clone, Debug, Serialize)]
pub struct ColumnProfile {
    /// The column's name.
    pub name: String,
    /// Its role (configured or detected), if any.
    pub role: Option<String>,
    /// Rows profiled.
    pub rows: u64,
    /// Rows with a value.
    pub non_null: u64,
    /// `non_null / rows`.
    pub completeness: f64,
    /// Approximate number of distinct values (HyperLogLog, about 1% standard error).
    pub approx_distinct: u64,
    /// The most frequent values seen at least twice, most frequent first.
    pub top_values: Vec<TopValue>,
    /// Whether `top_values` counts are exact (the column has at most a thousand or so values).
    pub top_values_exact: bool,
    /// Lengths in characters.
    pub length: LengthSummary,
    /// Among values with letters, the share with Vietnamese diacritics; `None` when no value
    /// has letters.
    pub share_with_diacritics: Option<f64>,
    /// Among values with letters, the share without any diacritic.
    pub share_without_diacritics: Option<f64>,
    /// Among values, the share whose shape is invalid for the role; `None` when the role has
    /// no shape to check.
    pub share_invalid_shape: Option<f64>,
    /// What "invalid shape" means for this column.
    pub shape_rule: Option<String>,
}

/// A frequent value and its count.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TopValue {
    /// The value.
    pub value: String,
    /// How often it occurs (a lower bound when counts are not exact).
    pub count: u64,
}

/// Distribution of value lengths, in characters.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct LengthSummary {
    /// Shortest.
    pub min: usize,
    /// Median.
    pub p50: usize,
    /// 90th percentile.
    pub p90: usize,
    /// 99th percentile.
    pub p99: usize,
    /// Longest.
    pub max: usize,
    /// Mean.
    pub mean: f64,
}

impl Profiler {
    /// A profiler for the columns of `schema`, with their roles (`None`: no role).
    pub fn new(columns: impl IntoIterator<Item = (String, Option<Role>)>) -> Self {
        let columns = columns
            .into_iter()
            .map(|(name, role)| ColumnState {
                name,
                role,
                rows: 0,
                non_null: 0,
                distinct: HyperLogLog::new(),
                top: FrequentItems::new(TOP_CAPACITY),
                lengths: vec![0; LENGTH_BUCKETS + 1],
                max_length: 0,
                total_length: 0,
                with_letters: 0,
                with_diacritics: 0,
                shape_checked: 0,
                invalid_shape: 0,
            })
            .collect();
        Profiler { columns, rejects_by_reason: BTreeMap::new() }
    }

    /// Adds a batch: its rows to the column profiles, its rejects to the counts by reason.
    pub fn add(&mut self, batch: &Batch) {
        for reject in &batch.rejects {
            *self.rejects_by_reason.entry(reject.reason.code().to_owned()).or_default() += 1;
        }
        self.add_records(&batch.records);
    }

    /// Adds the rows of a record batch whose columns are, in order, the profiled columns.
    pub fn add_records(&mut self, records: &RecordBatch) {
        // Columns are independent: profile them in parallel. Each column's result does not
        // depend on the thread count.
        self.columns.par_iter_mut().zip(records.columns().par_iter()).for_each(|(state, array)| {
            if let Some(column) = TextColumn::new(array.as_ref()) {
                state.add(&column);
            } else {
                state.rows += array.len() as u64;
            }
        });
    }

    /// The finished profile.
    pub fn finish(self, file: &str, format: &str, stats: ReadStats) -> DatasetProfile {
        DatasetProfile {
            file: file.to_owned(),
            format: format.to_owned(),
            rows_read: stats.rows_read,
            rows_passed: stats.rows_passed,
            rows_rejected: stats.rows_rejected,
            rejects_by_reason: self.rejects_by_reason,
            columns: self.columns.into_iter().map(ColumnState::finish).collect(),
        }
    }
}

/// Whether a value's shape is invalid.
type ShapeCheck = fn(&str) -> bool;

/// The shape check for a role, and what it means.
fn shape_rule(role: Option<Role>) -> Option<(ShapeCheck, &'static str)> {
    match role? {
        Role::NationalId | Role::OldId => {
            Some((|v| matches!(classify_id(v), IdShape::Other | IdShape::Empty), "neither 12 nor 9 digits"))
        }
        Role::DateOfBirth => Some((|v| parse_date(v).year.is_none(), "not a date in a known form")),
        Role::Phone => Some((|v| !is_phone(v), "not a Vietnamese phone number")),
        _ => None,
    }
}

impl ColumnState {
    fn add(&mut self, column: &TextColumn<'_>) {
        let rule = shape_rule(self.role);
        let diacritics = self.role.is_none_or(Role::is_vietnamese_text);
        self.rows += column.len() as u64;
        for value in column.iter().flatten() {
            self.non_null += 1;
            self.distinct.insert(value.as_bytes());
            self.top.insert(value);
            let length = value.chars().count();
            self.lengths[length.min(LENGTH_BUCKETS)] += 1;
            self.max_length = self.max_length.max(length);
            self.total_length += length as u64;
            if diacritics && value.chars().any(char::is_alphabetic) {
                self.with_letters += 1;
                self.with_diacritics += u64::from(has_vietnamese_diacritics(value));
            }
            if let Some((invalid, _)) = rule {
                self.shape_checked += 1;
                self.invalid_shape += u64::from(invalid(value));
            }
        }
    }

    fn finish(self) -> ColumnProfile {
        let ratio = |n: u64, d: u64| {
            if d == 0 { None } else { Some(n as f64 / d as f64) }
        };
        let (top_values, top_values_exact) = self.top.top(TOP_REPORTED);
        ColumnProfile {
            role: self.role.map(|r| r.as_str().to_owned()),
            rows: self.rows,
            non_null: self.non_null,
            completeness: ratio(self.non_null, self.rows).unwrap_or(0.0),
            approx_distinct: self.distinct.estimate(),
            top_values,
            top_values_exact,
            length: length_summary(&self.lengths, self.max_length, self.total_length, self.non_null),
            share_with_diacritics: ratio(self.with_diacritics, self.with_letters),
            share_without_diacritics: ratio(self.with_letters - self.with_diacritics, self.with_letters),
            share_invalid_shape: shape_rule(self.role)
                .and_then(|_| ratio(self.invalid_shape, self.shape_checked)),
            shape_rule: shape_rule(self.role).map(|(_, rule)| rule.to_owned()),
            name: self.name,
        }
    }
}

fn length_summary(buckets: &[u64], max: usize, total: u64, count: u64) -> LengthSummary {
    if count == 0 {
        return LengthSummary::default();
    }
    let quantile = |q: f64| {
        let rank = ((count as f64 * q).ceil() as u64).max(1);
        let mut seen = 0;
        for (length, n) in buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return if length == LENGTH_BUCKETS { max } else { length };
            }
        }
        max
    };
    LengthSummary {
        min: buckets
            .iter()
            .position(|&n| n > 0)
            .map(|l| if l == LENGTH_BUCKETS { max } else { l })
            .unwrap_or(0),
        p50: quantile(0.5),
        p90: quantile(0.9),
        p99: quantile(0.99),
        max,
        mean: total as f64 / count as f64,
    }
}

/// HyperLogLog with 2^14 registers (standard error about 0.8%).
struct HyperLogLog {
    registers: Vec<u8>,
}

impl HyperLogLog {
    const BITS: u32 = 14;

    fn new() -> Self {
        HyperLogLog { registers: vec![0; 1 << Self::BITS] }
    }

    fn insert(&mut self, value: &[u8]) {
        let hash = xxh3_64(value);
        let index = (hash >> (64 - Self::BITS)) as usize;
        let rest = (hash << Self::BITS) | (1 << (Self::BITS - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        if rank > self.registers[index] {
            self.registers[index] = rank;
        }
    }

    fn estimate(&self) -> u64 {
        let m = self.registers.len() as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = self.registers.iter().map(|&r| 2f64.powi(-i32::from(r))).sum();
        let raw = alpha * m * m / sum;
        let zeros = self.registers.iter().filter(|&&r| r == 0).count();
        let estimate = if raw <= 2.5 * m && zeros > 0 {
            // Linear counting is more accurate for small cardinalities.
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        estimate.round() as u64
    }
}

/// Frequent items (Misra-Gries with batched decrements): counts are exact until the summary
/// first overflows, and lower bounds (off by at most n / capacity) after.
struct FrequentItems {
    counts: HashMap<String, u64>,
    capacity: usize,
    exact: bool,
}

impl FrequentItems {
    fn new(capacity: usize) -> Self {
        FrequentItems { counts: HashMap::new(), capacity, exact: true }
    }

    fn insert(&mut self, value: &str) {
        if let Some(count) = self.counts.get_mut(value) {
            *count += 1;
            return;
        }
        self.counts.insert(value.to_owned(), 1);
        if self.counts.len() > 2 * self.capacity {
            // Subtract the median count from every counter and drop those that reach zero:
            // at least half go, so the amortized cost per value stays constant.
            let mut values: Vec<u64> = self.counts.values().copied().collect();
            let middle = values.len() / 2;
            let (_, median, _) = values.select_nth_unstable(middle);
            let median = *median;
            self.counts.retain(|_, count| {
                *count = count.saturating_sub(median);
                *count > 0
            });
            self.exact = false;
        }
    }

    fn top(&self, n: usize) -> (Vec<TopValue>, bool) {
        let mut items: Vec<TopValue> =
            self.counts.iter().map(|(value, &count)| TopValue { value: value.clone(), count }).collect();
        // A value seen once is not "frequent": leave it out rather than list arbitrary ones.
        items.retain(|item| item.count >= 2);
        items.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        items.truncate(n);
        (items, self.exact)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyperloglog_is_close() {
        for n in [0u64, 1, 100, 10_000, 200_000] {
            let mut hll = HyperLogLog::new();
            for i in 0..n {
                hll.insert(&i.to_le_bytes());
                hll.insert(&i.to_le_bytes());
            }
            let estimate = hll.estimate() as f64;
            let error = (estimate - n as f64).abs() / (n.max(1) as f64);
            assert!(error < 0.03, "n = {n}, estimate = {estimate}");
        }
    }

    #[test]
    fn frequent_items_exact_then_bounded() {
        let mut items = FrequentItems::new(4);
        for _ in 0..5 {
            items.insert("Nguyễn");
        }
        items.insert("Trần");
        let (top, exact) = items.top(2);
        assert!(exact);
        assert_eq!(top[0], TopValue { value: "Nguyễn".into(), count: 5 });
        // Many distinct values force pruning; the heavy hitter survives.
        for i in 0..1000 {
            items.insert(&i.to_string());
            items.insert("Nguyễn");
        }
        let (top, exact) = items.top(1);
        assert!(!exact);
        assert_eq!(top[0].value, "Nguyễn");
        assert!(top[0].count <= 1005 && top[0].count >= 1005 - 2006 / 4);
    }

    #[test]
    fn length_quantiles() {
        let mut buckets = vec![0; LENGTH_BUCKETS + 1];
        buckets[3] = 50;
        buckets[10] = 49;
        buckets[LENGTH_BUCKETS] = 1;
        let summary = length_summary(&buckets, 900, 3 * 50 + 10 * 49 + 900, 100);
        assert_eq!((summary.min, summary.p50, summary.p90, summary.p99, summary.max), (3, 3, 10, 10, 900));
    }
}
