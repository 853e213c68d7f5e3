//! Evaluation against labelled data: how good predicted links and clusters are.
//!
//! Users with a labelled sample (and the synthetic generator's ground truth) score a run here:
//! precision, recall and F1 of predicted links; pairwise and B-cubed scores of clusters; and
//! recall broken down by the kind of error the true records carry, where the truth lists it.
//!
//! ```
//! use khop::eval::link_scores;
//!
//! let pairs = |v: &[(&str, &str)]| v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
//! let truth = pairs(&[("a1", "b1"), ("a2", "b2")]);
//! let pred = pairs(&[("a1", "b1"), ("a3", "b3")]);
//! let s = link_scores(&pred, &truth, false);
//! assert_eq!((s.true_positives, s.false_positives, s.false_negatives), (1, 1, 1));
//! assert_eq!(s.f1, 0.5);
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};

/// Precision, recall and F1 with the counts behind them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Scores {
    /// Predicted and true.
    pub true_positives: u64,
    /// Predicted, not true.
    pub false_positives: u64,
    /// True, not predicted.
    pub false_negatives: u64,
    /// `tp / (tp + fp)`; 0 when nothing was predicted.
    pub precision: f64,
    /// `tp / (tp + fn)`; 0 when nothing is true.
    pub recall: f64,
    /// Harmonic mean of precision and recall; 0 when both are 0.
    pub f1: f64,
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

fn f1(p: f64, r: f64) -> f64 {
    ratio(2.0 * p * r, p + r)
}

impl Scores {
    /// Scores from counts.
    pub fn from_counts(true_positives: u64, false_positives: u64, false_negatives: u64) -> Scores {
        let tp = true_positives as f64;
        let precision = ratio(tp, tp + false_positives as f64);
        let recall = ratio(tp, tp + false_negatives as f64);
        Scores {
            true_positives,
            false_positives,
            false_negatives,
            precision,
            recall,
            f1: f1(precision, recall),
        }
    }
}

fn pair_set(pairs: &[(String, String)], symmetric: bool) -> HashSet<(&str, &str)> {
    pairs
        .iter()
        .filter(|(a, b)| !(symmetric && a == b))
        .map(|(a, b)| if symmetric && b < a { (b.as_str(), a.as_str()) } else { (a.as_str(), b.as_str()) })
        .collect()
}

/// Scores predicted links against true links. With `symmetric` (deduplication), `(a, b)` and
/// `(b, a)` are one pair and self-pairs are ignored; otherwise pairs are (left, right). Repeated
/// pairs count once.
pub fn link_scores(pred: &[(String, String)], truth: &[(String, String)], symmetric: bool) -> Scores {
    let p = pair_set(pred, symmetric);
    let t = pair_set(truth, symmetric);
    let tp = p.iter().filter(|x| t.contains(*x)).count() as u64;
    Scores::from_counts(tp, p.len() as u64 - tp, t.len() as u64 - tp)
}

/// Scores of a clustering.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct ClusterScores {
    /// Records scored (the union of both assignments; a record missing from one is a singleton
    /// there).
    pub records: u64,
    /// Pairwise: every pair of records in one cluster is a predicted (or true) link.
    pub pairwise: Scores,
    /// B-cubed precision: mean over records of the share of its predicted cluster that is truly
    /// its own.
    pub bcubed_precision: f64,
    /// B-cubed recall: mean over records of the share of its true cluster that it was put with.
    pub bcubed_recall: f64,
    /// Harmonic mean of the B-cubed precision and recall.
    pub bcubed_f1: f64,
}

const NONE: u64 = u64::MAX;

/// Numbers the clusters of `list` densely and records each record's first cluster on `side`;
/// returns the number of clusters.
fn dense<'a>(list: &'a [(String, String)], side: usize, records: &mut HashMap<&'a str, (u64, u64)>) -> u64 {
    let mut ids: HashMap<&str, u64> = HashMap::new();
    for (r, c) in list {
        let next = ids.len() as u64;
        let id = *ids.entry(c.as_str()).or_insert(next);
        let e = records.entry(r.as_str()).or_insert((NONE, NONE));
        let slot = if side == 0 { &mut e.0 } else { &mut e.1 };
        if *slot == NONE {
            *slot = id;
        }
    }
    ids.len() as u64
}

fn pairs_in(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Scores a predicted clustering against the true one; both are `(record, cluster)` lists.
/// A record listed twice keeps its first cluster.
pub fn cluster_scores(pred: &[(String, String)], truth: &[(String, String)]) -> ClusterScores {
    // Cluster ids per record, as dense numbers; records missing from a side get a fresh singleton.
    let mut records: HashMap<&str, (u64, u64)> = HashMap::new();
    let mut next_p = dense(pred, 0, &mut records);
    let mut next_t = dense(truth, 1, &mut records);
    let mut keys: Vec<&str> = records.keys().copied().collect();
    keys.sort_unstable();
    let mut pred_size: HashMap<u64, u64> = HashMap::new();
    let mut true_size: HashMap<u64, u64> = HashMap::new();
    let mut cell: HashMap<(u64, u64), u64> = HashMap::new();
    for k in keys {
        let (mut p, mut t) = records[k];
        if p == NONE {
            p = next_p;
            next_p += 1;
        }
        if t == NONE {
            t = next_t;
            next_t += 1;
        }
        *pred_size.entry(p).or_default() += 1;
        *true_size.entry(t).or_default() += 1;
        *cell.entry((p, t)).or_default() += 1;
    }
    let n = records.len() as u64;
    let tp: u64 = cell.values().map(|&c| pairs_in(c)).sum();
    let predicted: u64 = pred_size.values().map(|&c| pairs_in(c)).sum();
    let actual: u64 = true_size.values().map(|&c| pairs_in(c)).sum();
    let (mut bp, mut br) = (0.0, 0.0);
    for (&(p, t), &c) in &cell {
        let c = c as f64;
        bp += c * c / pred_size[&p] as f64;
        br += c * c / true_size[&t] as f64;
    }
    let bcubed_precision = ratio(bp, n as f64);
    let bcubed_recall = ratio(br, n as f64);
    ClusterScores {
        records: n,
        pairwise: Scores::from_counts(tp, predicted - tp, actual - tp),
        bcubed_precision,
        bcubed_recall,
        bcubed_f1: f1(bcubed_precision, bcubed_recall),
    }
}

/// Recall of the true links whose record carries one kind of error.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KindRecall {
    /// The error kind (`clean` for records with none).
    pub kind: String,
    /// True links whose record carries it.
    pub true_links: u64,
    /// Of those, predicted.
    pub found: u64,
    /// `found / true_links`.
    pub recall: f64,
}

/// Recall broken down by the error kinds of each true link's left record (`corruptions` lists
/// `(record, kind)`; a record may carry several kinds, and counts under each). Sorted by kind,
/// with `clean` for records without any.
pub fn recall_by_kind(
    pred: &[(String, String)],
    truth: &[(String, String)],
    corruptions: &[(String, String)],
    symmetric: bool,
) -> Vec<KindRecall> {
    let p = pair_set(pred, symmetric);
    let mut kinds: HashMap<&str, Vec<&str>> = HashMap::new();
    for (r, k) in corruptions {
        let v = kinds.entry(r.as_str()).or_default();
        if !v.contains(&k.as_str()) {
            v.push(k);
        }
    }
    let mut out: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut seen = HashSet::new();
    for (a, b) in truth {
        let key = if symmetric && b < a { (b.as_str(), a.as_str()) } else { (a.as_str(), b.as_str()) };
        if (symmetric && a == b) || !seen.insert(key) {
            continue;
        }
        let found = p.contains(&key);
        let mut ks: Vec<&str> = kinds.get(a.as_str()).cloned().unwrap_or_default();
        if symmetric {
            ks.extend(kinds.get(b.as_str()).into_iter().flatten().copied());
            ks.sort_unstable();
            ks.dedup();
        }
        if ks.is_empty() {
            ks.push("clean");
        }
        for k in ks {
            let e = out.entry(k).or_default();
            e.0 += 1;
            e.1 += u64::from(found);
        }
    }
    out.into_iter()
        .map(|(kind, (t, f))| KindRecall {
            kind: kind.to_owned(),
            true_links: t,
            found: f,
            recall: ratio(f as f64, t as f64),
        })
        .collect()
}

/// Reads a CSV file with a header into pairs of its first two columns (links `left,right` or
/// cluster assignments `record,cluster`). Values are trimmed; rows with fewer than two fields are
/// an error that names the row.
pub fn read_pairs(path: &Path) -> Result<Vec<(String, String)>> {
    read_columns(path, 0, None)
}

/// Reads `row_id,field,kind` corruption lists (any CSV whose first column is the record and that
/// has a `kind` column) into `(record, kind)` pairs.
pub fn read_corruptions(path: &Path) -> Result<Vec<(String, String)>> {
    read_columns(path, 0, Some("kind"))
}

fn read_columns(path: &Path, first: usize, second: Option<&str>) -> Result<Vec<(String, String)>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_path(path)
        .map_err(|e| Error::format(path, None, e.to_string()))?;
    let headers = reader.headers().map_err(|e| Error::format(path, None, e.to_string()))?.clone();
    let second = match second {
        None => 1,
        Some(name) => headers.iter().position(|h| h == name).ok_or_else(|| {
            Error::format(
                path,
                None,
                format!(
                    "no column named `{name}` (the file has: {})",
                    headers.iter().collect::<Vec<_>>().join(", ")
                ),
            )
        })?,
    };
    let mut out = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let row = row.map_err(|e| Error::format(path, Some(format!("row {}", i + 2)), e.to_string()))?;
        match (row.get(first), row.get(second)) {
            (Some(a), Some(b)) => out.push((a.to_owned(), b.to_owned())),
            _ => {
                return Err(Error::format(
                    path,
                    Some(format!("row {}", i + 2)),
                    format!("expected at least {} fields", second.max(first) + 1),
                ));
            }
        }
    }
    Ok(out)
}
