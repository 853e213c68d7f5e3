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

/// A run's links scored against a clerk's labels (`khop eval --labels`): over the pairs labelled
/// `match` or `non_match` (`unsure` ones are left out), a pair is predicted when the run matched
/// it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LabelScores {
    /// The labels.
    pub labels: crate::review::LabelCounts,
    /// Precision and recall over the labelled pairs.
    pub scores: Scores,
    /// Pairs labelled `non_match` the run did not match.
    pub true_negatives: u64,
}

/// Scores predicted links (`left, right` of each match) against `labels`.
pub fn label_scores(pred: &[(String, String)], labels: &crate::review::Labels) -> LabelScores {
    use crate::review::Label;
    let predicted = pair_set(pred, false);
    let (mut tp, mut fp, mut fn_, mut tn) = (0, 0, 0, 0);
    for (left, right, label) in labels.iter() {
        let matched = predicted.contains(&(left, right));
        match (label, matched) {
            (Label::Match, true) => tp += 1,
            (Label::Match, false) => fn_ += 1,
            (Label::NonMatch, true) => fp += 1,
            (Label::NonMatch, false) => tn += 1,
            (Label::Unsure, _) => {}
        }
    }
    LabelScores { labels: labels.counts(), scores: Scores::from_counts(tp, fp, fn_), true_negatives: tn }
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

/// Reads a CSV file with a header into pairs of its first two columns (links `left,right`). A
/// file written by `khop link` (columns `left_id` and `right_id`) gives those two columns, and
/// only its rows whose `decision` is `match`. Values are trimmed. An empty file, a header of one
/// column or with an empty or numeric name (a file without a header), a clusters file written by
/// `khop dedupe`, a row with fewer fields or an empty value are errors that name the file and
/// the line. A header with no rows is an empty list.
pub fn read_pairs(path: &Path) -> Result<Vec<(String, String)>> {
    let mut file = CsvFile::open(path, 2, "`left,right`")?;
    if file.has("cluster_id") {
        return Err(file.error(
            1,
            format!(
                "a clusters file ({}), not pairs of linked records; read it as clusters",
                file.headers.join(", ")
            ),
        ));
    }
    match (file.position("left_id"), file.position("right_id")) {
        (Some(left), Some(right)) => {
            let decision = file.position("decision");
            let mut out = Vec::new();
            for row in file.rows(&[Some(left), Some(right), decision])? {
                let [a, b, d] = <[Option<String>; 3]>::try_from(row.values).expect("three columns");
                if d.as_deref().is_none_or(|d| d == "match") {
                    let (a, b) = (a.unwrap_or_default(), b.unwrap_or_default());
                    file.non_empty(row.line, &[(&a, left), (&b, right)])?;
                    out.push((a, b));
                }
            }
            Ok(out)
        }
        _ => file.pairs(0, 1),
    }
}

/// Reads cluster assignments into `(record, cluster)` pairs, choosing the columns by the header:
/// `id` and `cluster_id` (the clusters file `khop dedupe` writes), or `record` and `cluster`,
/// or else the first two columns (`row_id,person_id` of the generator's truth). Errors as
/// [`read_pairs`].
pub fn read_clusters(path: &Path) -> Result<Vec<(String, String)>> {
    let mut file = CsvFile::open(path, 2, "`record,cluster` or `id,...,cluster_id`")?;
    let columns = [("id", "cluster_id"), ("record", "cluster")]
        .iter()
        .find_map(|(r, c)| Some((file.position(r)?, file.position(c)?)));
    let (record, cluster) = columns.unwrap_or((0, 1));
    file.pairs(record, cluster)
}

/// Reads `row_id,field,kind` corruption lists (any CSV whose first column is the record and that
/// has a `kind` column) into `(record, kind)` pairs.
pub fn read_corruptions(path: &Path) -> Result<Vec<(String, String)>> {
    let mut file = CsvFile::open(path, 2, "`row_id,...,kind`")?;
    let kind = file.require("kind")?;
    file.pairs(0, kind)
}

/// A CSV file with a header, read with its line numbers for errors.
pub(crate) struct CsvFile<'p> {
    path: &'p Path,
    reader: csv::Reader<std::fs::File>,
    headers: Vec<String>,
}

/// One row's chosen columns, and the line it starts on.
pub(crate) struct CsvRow {
    pub(crate) line: u64,
    pub(crate) values: Vec<Option<String>>,
}

impl<'p> CsvFile<'p> {
    /// Opens `path`, checking that it has a header of at least `columns` columns, each named
    /// (`expected` says what the header should look like, for errors).
    pub(crate) fn open(path: &'p Path, columns: usize, expected: &str) -> Result<CsvFile<'p>> {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(true)
            .from_path(path)
            .map_err(|e| Error::format_with(path, None, "cannot read the CSV file", e))?;
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| Error::format_with(path, Some("line 1".into()), "cannot read the header", e))?
            .iter()
            .map(str::to_owned)
            .collect();
        let file = CsvFile { path, reader, headers };
        if file.headers.is_empty() || file.headers.iter().all(String::is_empty) {
            return Err(
                file.error(1, format!("the file is empty: expected a header line such as {expected}"))
            );
        }
        if file.headers.len() < columns {
            return Err(file.error(
                1,
                format!(
                    "expected a header of at least {columns} columns such as {expected}, found {}: `{}`",
                    file.headers.len(),
                    file.headers.join(",")
                ),
            ));
        }
        if let Some(bad) = file.headers.iter().find(|h| h.is_empty() || h.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(file.error(
                1,
                format!(
                    "expected a header naming the columns, such as {expected}; found {} (is the header missing?)",
                    if bad.is_empty() { "an empty column name".to_owned() } else { format!("the name `{bad}`") }
                ),
            ));
        }
        Ok(file)
    }

    pub(crate) fn error(&self, line: u64, message: String) -> Error {
        Error::format(self.path, Some(format!("line {line}")), message)
    }

    pub(crate) fn position(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    fn has(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// The column named `name`, or an error listing the file's columns.
    pub(crate) fn require(&self, name: &str) -> Result<usize> {
        self.position(name).ok_or_else(|| {
            self.error(1, format!("no column named `{name}` (the file has: {})", self.headers.join(", ")))
        })
    }

    /// The given columns of every row (`None` columns read as `None`); a row lacking a column is
    /// an error that names its line.
    pub(crate) fn rows(&mut self, columns: &[Option<usize>]) -> Result<Vec<CsvRow>> {
        let mut out = Vec::new();
        let mut record = csv::StringRecord::new();
        loop {
            let line = self.reader.position().line();
            match self.reader.read_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    let line = e.position().map_or(line, csv::Position::line);
                    return Err(Error::format_with(
                        self.path,
                        Some(format!("line {line}")),
                        "cannot read the row",
                        e,
                    ));
                }
            }
            let line = record.position().map_or(line, csv::Position::line);
            let mut values = Vec::with_capacity(columns.len());
            for column in columns {
                values.push(match column {
                    None => None,
                    Some(c) => Some(record.get(*c).map(str::to_owned).ok_or_else(|| {
                        self.error(
                            line,
                            format!(
                                "expected at least {} fields (the header has {}: {}), found {}",
                                c + 1,
                                self.headers.len(),
                                self.headers.join(","),
                                record.len()
                            ),
                        )
                    })?),
                });
            }
            out.push(CsvRow { line, values });
        }
        Ok(out)
    }

    /// An error when a value of a row is empty.
    pub(crate) fn non_empty(&self, line: u64, values: &[(&str, usize)]) -> Result<()> {
        match values.iter().find(|(v, _)| v.is_empty()) {
            Some((_, column)) => {
                Err(self.error(line, format!("empty value in column `{}`", self.headers[*column])))
            }
            None => Ok(()),
        }
    }

    /// Columns `a` and `b` of every row, both non-empty.
    fn pairs(&mut self, a: usize, b: usize) -> Result<Vec<(String, String)>> {
        let rows = self.rows(&[Some(a), Some(b)])?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let [x, y] = <[Option<String>; 2]>::try_from(row.values).expect("two columns");
            let (x, y) = (x.unwrap_or_default(), y.unwrap_or_default());
            self.non_empty(row.line, &[(&x, a), (&y, b)])?;
            out.push((x, y));
        }
        Ok(out)
    }

    /// The named columns of every row.
    fn named(mut self, names: &[&str]) -> Result<Vec<Vec<String>>> {
        let columns = names.iter().map(|n| self.require(n).map(Some)).collect::<Result<Vec<_>>>()?;
        Ok(self
            .rows(&columns)?
            .into_iter()
            .map(|r| r.values.into_iter().map(Option::unwrap_or_default).collect())
            .collect())
    }
}

/// The named columns of every row of a CSV file with a header; a missing column is an error
/// that lists the file's columns.
fn read_named(path: &Path, names: &[&str]) -> Result<Vec<Vec<String>>> {
    let expected = format!("`{}`", names.join(","));
    CsvFile::open(path, names.len(), &expected)?.named(names)
}

/// One change the synthetic generator made to a record (`corruptions_<source>.csv`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Corruption {
    /// The record's id.
    pub row: String,
    /// The field, named as the worklist names it (`cmnd` is `old_id`).
    pub field: String,
    /// The kind of change (`typo`, `accents_dropped`...).
    pub kind: String,
}

/// Reads a `row_id,field,kind` corruption list.
pub fn read_field_corruptions(path: &Path) -> Result<Vec<Corruption>> {
    Ok(read_named(path, &["row_id", "field", "kind"])?
        .into_iter()
        .map(|mut r| {
            let field = match r[1].as_str() {
                "cmnd" => "old_id".to_owned(),
                _ => std::mem::take(&mut r[1]),
            };
            Corruption { row: std::mem::take(&mut r[0]), field, kind: std::mem::take(&mut r[2]) }
        })
        .collect())
}

/// A line of a worklist (`khop reconcile --out`), read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportedConflict {
    /// The sector record.
    pub sector: String,
    /// The national record it was linked to.
    pub national: String,
    /// The field.
    pub field: String,
    /// The conflict type.
    pub kind: String,
}

/// Reads a worklist CSV (columns `sector_id`, `national_record_id`, `field`, `conflict`).
pub fn read_worklist(path: &Path) -> Result<Vec<ReportedConflict>> {
    Ok(read_named(path, &["sector_id", "national_record_id", "field", "conflict"])?
        .into_iter()
        .map(|mut r| ReportedConflict {
            sector: std::mem::take(&mut r[0]),
            national: std::mem::take(&mut r[1]),
            field: std::mem::take(&mut r[2]),
            kind: std::mem::take(&mut r[3]),
        })
        .collect())
}

/// Recall of the conflicts of one corruption kind.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct KindConflicts {
    /// The corruption kind.
    pub kind: String,
    /// Linked sector fields that carry it.
    pub expected: u64,
    /// Of those, reported.
    pub found: u64,
}

/// Conflict scores of one field.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FieldConflicts {
    /// The field.
    pub field: String,
    /// Linked sector rows whose field carries a content corruption.
    pub expected: u64,
    /// Of those, reported.
    pub found: u64,
    /// Worklist lines on the field (updates excluded).
    pub reported: u64,
    /// Of those, on a field that neither record's truth says was changed.
    pub spurious: u64,
}

/// How well a worklist finds the conflicts the generator injected.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ConflictScores {
    /// Accepted links that are true: the rows scored.
    pub linked_rows: u64,
    /// Accepted links that are not true (their worklist lines are not scored).
    pub wrong_links: u64,
    /// True links not accepted.
    pub missed_links: u64,
    /// Fields of linked sector rows with a content corruption (one per row and field).
    pub expected: u64,
    /// Of those, reported.
    pub found: u64,
    /// `found / expected`.
    pub recall: f64,
    /// Fields of the linked national rows with a content corruption, among the fields the
    /// worklist reports at all (informational: the worklist cannot see a national change that
    /// the sector's field does not hold, such as a day and month swap against a year column).
    pub national_expected: u64,
    /// Of those, reported.
    pub national_found: u64,
    /// Fields of linked rows changed in content in both records, left out of `expected`: the
    /// two changes may cancel out (a day and month swapped in both), or not.
    pub both_changed: u64,
    /// Worklist lines on linked rows, updates (`legacy_units`) excluded.
    pub reported: u64,
    /// Of those, on a field that neither record's truth says was changed in content.
    pub spurious: u64,
    /// `spurious / reported`.
    pub spurious_rate: f64,
    /// Update lines (`legacy_units`) on linked rows.
    pub updates: u64,
    /// Of those, on a field with a content corruption (a different place taken for the same).
    pub updates_on_conflicts: u64,
    /// Worklist lines on accepted links that are not true.
    pub lines_on_wrong_links: u64,
    /// Recall per corruption kind (content kinds only).
    pub by_kind: Vec<KindConflicts>,
    /// Per field.
    pub by_field: Vec<FieldConflicts>,
}

/// Scores a worklist against the generator's truth: `accepted` are the run's accepted links
/// (sector, national), `truth` the true links, `sector` and `national` the corruptions of the
/// two tables. Only true links that were accepted are scored. A sector field is expected to be
/// reported when one of its corruptions changes content (`is_content`, which tells a change of
/// what a field says from a change of how it is written: the generator's own rule is
/// `khop_datasets::is_content_corruption`) and
/// the linked national record's field carries none (`both_changed` counts the others); a
/// reported line is spurious when neither the sector field nor the linked national record's
/// field carries a content corruption. Lines whose type is an update
/// ([`ConflictKind::is_update`](crate::reconcile::ConflictKind::is_update)) are counted apart.
pub fn conflict_scores(
    worklist: &[ReportedConflict],
    accepted: &[(String, String)],
    truth: &[(String, String)],
    sector: &[Corruption],
    national: &[Corruption],
    is_content: impl Fn(&str) -> bool,
) -> ConflictScores {
    let truth: HashMap<&str, &str> = truth.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let accepted: HashMap<&str, &str> = accepted.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let linked = |row: &str| -> Option<&str> {
        let national = *accepted.get(row)?;
        (truth.get(row) == Some(&national)).then_some(national)
    };
    let mut scores = ConflictScores {
        linked_rows: accepted.iter().filter(|(row, _)| linked(row).is_some()).count() as u64,
        wrong_links: accepted.iter().filter(|(row, _)| linked(row).is_none()).count() as u64,
        missed_links: truth.keys().filter(|row| linked(row).is_none()).count() as u64,
        ..ConflictScores::default()
    };
    // Content corruptions by (record, field), with their kinds.
    let content = |list: &[Corruption]| {
        let mut map: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for c in list.iter().filter(|c| is_content(&c.kind)) {
            let kinds = map.entry((c.row.clone(), c.field.clone())).or_default();
            if !kinds.contains(&c.kind) {
                kinds.push(c.kind.clone());
            }
        }
        map
    };
    let sector_content = content(sector);
    let national_content = content(national);

    let mut reported: HashSet<(&str, &str)> = HashSet::new();
    let mut fields: BTreeMap<String, FieldConflicts> = BTreeMap::new();
    fn field<'m>(fields: &'m mut BTreeMap<String, FieldConflicts>, name: &str) -> &'m mut FieldConflicts {
        fields
            .entry(name.to_owned())
            .or_insert_with(|| FieldConflicts { field: name.to_owned(), ..Default::default() })
    }
    let mut lines = HashSet::new();
    for line in worklist {
        if !lines.insert((line.sector.as_str(), line.field.as_str())) {
            continue;
        }
        if linked(&line.sector) != Some(line.national.as_str()) {
            scores.lines_on_wrong_links += 1;
            continue;
        }
        let key_s = (line.sector.clone(), line.field.clone());
        let key_n = (line.national.clone(), line.field.clone());
        let changed = sector_content.contains_key(&key_s) || national_content.contains_key(&key_n);
        let update = crate::reconcile::ConflictKind::from_name(&line.kind).is_some_and(|k| k.is_update());
        if update {
            scores.updates += 1;
            scores.updates_on_conflicts += u64::from(changed);
            continue;
        }
        reported.insert((line.sector.as_str(), line.field.as_str()));
        scores.reported += 1;
        let f = field(&mut fields, &line.field);
        f.reported += 1;
        if !changed {
            scores.spurious += 1;
            f.spurious += 1;
        }
    }
    let reported_fields: HashSet<&str> = worklist.iter().map(|l| l.field.as_str()).collect();

    let mut kinds: BTreeMap<String, KindConflicts> = BTreeMap::new();
    for ((row, name), ks) in &sector_content {
        let Some(national) = linked(row) else {
            continue;
        };
        if national_content.contains_key(&(national.to_owned(), name.clone())) {
            // Both records changed: the changes may cancel (a day and month swapped twice).
            scores.both_changed += 1;
            continue;
        }
        let found = reported.contains(&(row.as_str(), name.as_str()));
        scores.expected += 1;
        scores.found += u64::from(found);
        let f = field(&mut fields, name);
        f.expected += 1;
        f.found += u64::from(found);
        for k in ks {
            let e = kinds
                .entry(k.clone())
                .or_insert_with(|| KindConflicts { kind: k.clone(), ..Default::default() });
            e.expected += 1;
            e.found += u64::from(found);
        }
    }
    // National changes, seen through every sector row linked to the national record.
    let mut by_national: HashMap<&str, Vec<&str>> = HashMap::new();
    for (row, _) in accepted.iter() {
        if let Some(national) = linked(row) {
            by_national.entry(national).or_default().push(row);
        }
    }
    for (national, name) in national_content.keys() {
        if !reported_fields.contains(name.as_str()) {
            continue;
        }
        for row in by_national.get(national.as_str()).into_iter().flatten() {
            scores.national_expected += 1;
            scores.national_found += u64::from(reported.contains(&(*row, name.as_str())));
        }
    }
    scores.recall = ratio(scores.found as f64, scores.expected as f64);
    scores.spurious_rate = ratio(scores.spurious as f64, scores.reported as f64);
    scores.by_kind = kinds.into_values().collect();
    scores.by_field = fields.into_values().collect();
    scores
}
