//! The `decide` stage for deduplication: from scored pairs inside one table to clusters, one per
//! person.
//!
//! Plain connected components chain different people together through one weak link: A=B strong,
//! B=C weak, C=D strong gives {A, B, C, D}. khop merges greedily instead, strongest pairs first,
//! and refuses a merge when
//! - the two groups hold a **conflicting** pair (two different CCCD numbers, different sex,
//!   siblings' different given names under one family name and a parent: the caller decides what
//!   conflicts), or
//! - the pairs linking the two groups are too **sparse**: fewer than `min_link_density` of all
//!   cross pairs scored above the threshold, so one link cannot glue two groups together.
//!
//! The trade-off: a person whose records are linked only through a chain of weak matches is split
//! into two clusters (lower recall) rather than different people being merged (lower precision);
//! for population data a wrong merge is the worse error. `min_link_density = 0` with no conflicts
//! gives connected components.
//!
//! Cluster ids are stable: a cluster is named by its smallest member (by the caller's record id
//! order), so reruns and reordered inputs give the same ids.

pub mod output;

use std::collections::HashMap;

use serde::Serialize;

use crate::block::BlockingReport;
use crate::error::{Error, ErrorKind, Result};
use crate::link::linker::{LinkSettings, Linker, TrainingReport};
use crate::normalize::prepared::PreparedRecords;
use crate::score::{Model, probability};

/// A scored pair of records of one table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Edge {
    /// One record.
    pub a: u32,
    /// The other record.
    pub b: u32,
    /// The pair's match probability.
    pub probability: f64,
}

/// How to cluster.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ClusterOptions {
    /// Pairs below this probability are not links.
    pub threshold: f64,
    /// Share of cross pairs that must be links for two groups to merge (0 = connected components).
    pub min_link_density: f64,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions { threshold: 0.9, min_link_density: 0.5 }
    }
}

impl ClusterOptions {
    /// Checks that the threshold and the link density are numbers between 0 and 1, reporting
    /// both problems at once (`ErrorKind::Settings`).
    pub fn validate(&self) -> Result<()> {
        let mut problems = Vec::new();
        for (what, value) in
            [("cluster threshold", self.threshold), ("minimum link density", self.min_link_density)]
        {
            if !(value.is_finite() && (0.0..=1.0).contains(&value)) {
                problems.push(format!("the {what} must be a number between 0 and 1, found {value}"));
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(Error::settings(problems)) }
    }
}

/// The cluster of one record.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Assignment {
    /// The cluster: the index of its smallest member.
    pub cluster: u32,
    /// Number of records in the cluster.
    pub size: u32,
    /// Mean probability of this record's links inside its cluster (1 for a record alone).
    pub confidence: f64,
}

/// What clustering did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ClusterReport {
    /// Links (pairs at or above the threshold).
    pub links: u64,
    /// Merges refused because the groups held a conflicting pair.
    pub refused_conflict: u64,
    /// Pairs of groups whose first link was too sparse to merge them (more links between the same
    /// groups may merge them later).
    pub refused_sparse: u64,
    /// Clusters with more than one record.
    pub clusters: u64,
}

/// Clusters `records` records from their scored pairs. `conflict(a, b)` says whether two records
/// cannot be the same person whatever their score. Every record ends in exactly one cluster.
pub fn cluster(
    records: usize,
    edges: &[Edge],
    options: &ClusterOptions,
    conflict: impl Fn(u32, u32) -> bool,
) -> (Vec<Assignment>, ClusterReport) {
    // Links, strongest first; ties on the smaller ids so that input order never matters.
    let mut links: Vec<Edge> = edges
        .iter()
        .filter(|e| {
            e.probability >= options.threshold
                && e.a != e.b
                && (e.a as usize) < records
                && (e.b as usize) < records
        })
        .map(|e| if e.a < e.b { *e } else { Edge { a: e.b, b: e.a, probability: e.probability } })
        .collect();
    links.sort_by(|x, y| y.probability.total_cmp(&x.probability).then(x.a.cmp(&y.a)).then(x.b.cmp(&y.b)));
    links.dedup_by(|x, y| x.a == y.a && x.b == y.b);
    let mut report = ClusterReport { links: links.len() as u64, ..ClusterReport::default() };

    // Groups: a representative per record, members per representative.
    let mut group: Vec<u32> = (0..records as u32).collect();
    let mut members: HashMap<u32, Vec<u32>> = HashMap::new();
    // Links between two groups, counted as merges happen, keyed by (smaller rep, larger rep).
    let mut between: HashMap<(u32, u32), u64> = HashMap::new();
    for link in &links {
        let (ga, gb) = (group[link.a as usize], group[link.b as usize]);
        if ga == gb {
            continue;
        }
        let key = (ga.min(gb), ga.max(gb));
        let crossing = between.entry(key).or_insert(0);
        *crossing += 1;
        let crossing = *crossing;
        let list =
            |g: u32, members: &HashMap<u32, Vec<u32>>| members.get(&g).cloned().unwrap_or_else(|| vec![g]);
        let (ma, mb) = (list(ga, &members), list(gb, &members));
        let possible = (ma.len() * mb.len()) as f64;
        if (crossing as f64) < options.min_link_density * possible {
            // Not yet dense enough: later links between the same groups may still merge them.
            report.refused_sparse += u64::from(crossing == 1);
            continue;
        }
        if ma.iter().any(|&x| mb.iter().any(|&y| conflict(x, y))) {
            report.refused_conflict += 1;
            continue;
        }
        // Merge the smaller group into the larger (ties: into the smaller representative).
        let (keep, gone, moved) = if (ma.len(), gb) >= (mb.len(), ga) { (ga, gb, mb) } else { (gb, ga, ma) };
        for &m in &moved {
            group[m as usize] = keep;
        }
        members.remove(&gone);
        members.entry(keep).or_insert_with(|| vec![keep]).extend(moved);
        // Links counted towards the vanished group now count towards the kept one.
        let stale: Vec<((u32, u32), u64)> =
            between.iter().filter(|(k, _)| k.0 == gone || k.1 == gone).map(|(k, v)| (*k, *v)).collect();
        for (k, v) in stale {
            between.remove(&k);
            let other = if k.0 == gone { k.1 } else { k.0 };
            if other != keep {
                *between.entry((other.min(keep), other.max(keep))).or_insert(0) += v;
            }
        }
    }
    // Name each cluster by its smallest member; confidence from links inside it.
    let mut smallest: HashMap<u32, u32> = HashMap::new();
    let mut size: HashMap<u32, u32> = HashMap::new();
    for (record, &g) in group.iter().enumerate() {
        let entry = smallest.entry(g).or_insert(record as u32);
        *entry = (*entry).min(record as u32);
        *size.entry(g).or_insert(0) += 1;
    }
    let mut sum = vec![0.0f64; records];
    let mut count = vec![0u32; records];
    for link in &links {
        if group[link.a as usize] == group[link.b as usize] {
            for r in [link.a, link.b] {
                sum[r as usize] += link.probability;
                count[r as usize] += 1;
            }
        }
    }
    report.clusters = size.values().filter(|&&n| n > 1).count() as u64;
    let assignments = group
        .iter()
        .enumerate()
        .map(|(r, g)| Assignment {
            cluster: smallest[g],
            size: size[g],
            confidence: if count[r] == 0 { 1.0 } else { sum[r] / f64::from(count[r]) },
        })
        .collect();
    (assignments, report)
}

/// The outcome of [`deduplicate`].
pub struct Deduplication {
    /// The model the pairs were scored with.
    pub model: Model,
    /// What training did; `None` when the model was given.
    pub training: Option<TrainingReport>,
    /// Candidate pairs scored.
    pub pairs_scored: u64,
    /// Candidate pairs per blocking rule, and blocks skipped by the skew guard.
    pub blocking: BlockingReport,
    /// Pairs at or above the threshold.
    pub edges: Vec<Edge>,
    /// The cluster of every record.
    pub assignments: Vec<Assignment>,
    /// What clustering did.
    pub report: ClusterReport,
}

/// The links one share of a deduplication's candidate pairs gave ([`score_share`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ScoredShare {
    /// Pairs of the share at or above the threshold.
    pub edges: Vec<Edge>,
    /// Candidate pairs of the share scored.
    pub pairs_scored: u64,
}

/// Deduplicates one table: trains a model without labels (unless `model` is given), scores the
/// candidate pairs of its blocking rules, and clusters them with the chaining guard. Records
/// whose CCCD numbers or sexes conflict are never put together. The settings and options are
/// checked first ([`LinkSettings::validate`], [`ClusterOptions::validate`]).
pub fn deduplicate(
    records: &PreparedRecords,
    settings: LinkSettings,
    options: &ClusterOptions,
    model: Option<&Model>,
) -> Result<Deduplication> {
    validate(&settings, options)?;
    let linker = Linker::dedupe(records, settings)?;
    let (model, training) = match model {
        Some(model) => (model.clone(), None),
        None => linker.train().map(|(model, report)| (model, Some(report)))?,
    };
    let mut edges = Vec::new();
    let mut pairs_scored = 0u64;
    let blocking = linker.score_all(&model, |pairs, weights| {
        pairs_scored += pairs.len() as u64;
        keep_links(pairs, weights, options, &mut edges);
    })?;
    sort_links(&mut edges);
    let (assignments, report) = cluster(records.len(), &edges, options, |a, b| linker.hard_conflict(a, b));
    Ok(Deduplication { model, training, pairs_scored, blocking, edges, assignments, report })
}

/// Scores the share `settings.blocking.share` of a deduplication's candidate pairs with `model`
/// and keeps the links (pairs at or above `options.threshold`): processes that each hold the
/// whole table split the scoring between them, and [`cluster_links`] clusters the links of all
/// shares together, with the answer of [`deduplicate`].
pub fn score_share(
    records: &PreparedRecords,
    settings: LinkSettings,
    options: &ClusterOptions,
    model: &Model,
) -> Result<ScoredShare> {
    validate(&settings, options)?;
    let linker = Linker::dedupe(records, settings)?;
    let mut edges = Vec::new();
    let mut pairs_scored = 0u64;
    linker.score_all(model, |pairs, weights| {
        pairs_scored += pairs.len() as u64;
        keep_links(pairs, weights, options, &mut edges);
    })?;
    Ok(ScoredShare { edges, pairs_scored })
}

/// Clusters `records` from the links of every share of their candidate pairs ([`score_share`])
/// scored with `model`. The blocking report is taken again here (the pairs are listed, not
/// scored), so that the outcome is [`deduplicate`]'s in full. Links naming a record that does not
/// exist, or with a probability that is not one, are refused (`ErrorKind::Invalid`).
pub fn cluster_links(
    records: &PreparedRecords,
    settings: LinkSettings,
    options: &ClusterOptions,
    model: Model,
    training: Option<TrainingReport>,
    mut edges: Vec<Edge>,
) -> Result<Deduplication> {
    validate(&settings, options)?;
    let settings = LinkSettings {
        blocking: crate::block::BlockingOptions { share: crate::block::Share::WHOLE, ..settings.blocking },
        ..settings
    };
    if let Some(bad) = edges.iter().find(|e| {
        e.a as usize >= records.len()
            || e.b as usize >= records.len()
            || !(e.probability.is_finite() && (0.0..=1.0).contains(&e.probability))
    }) {
        return Err(Error::invalid(format!(
            "a link between records {} and {} with probability {} does not fit a table of {} records",
            bad.a,
            bad.b,
            bad.probability,
            records.len()
        )));
    }
    let linker = Linker::dedupe(records, settings)?;
    let blocking = linker.blocking_report();
    let pairs_scored = blocking.total_pairs();
    sort_links(&mut edges);
    let (assignments, report) = cluster(records.len(), &edges, options, |a, b| linker.hard_conflict(a, b));
    Ok(Deduplication { model, training, pairs_scored, blocking, edges, assignments, report })
}

/// Every problem of the settings and the options at once.
fn validate(settings: &LinkSettings, options: &ClusterOptions) -> Result<()> {
    let mut problems = Vec::new();
    for checked in [settings.validate(), options.validate()] {
        match checked.as_ref().map_err(Error::kind) {
            Err(ErrorKind::Settings(found)) => problems.extend(found.iter().cloned()),
            _ => checked?,
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(Error::settings(problems)) }
}

/// Links in record order, so that a run's links are the same however its pairs were shared out.
fn sort_links(edges: &mut [Edge]) {
    edges.sort_by(|x, y| (x.a, x.b).cmp(&(y.a, y.b)).then(x.probability.total_cmp(&y.probability)));
}

/// The pairs of a scored chunk at or above the threshold, as links.
fn keep_links(pairs: &[(u32, u32)], weights: &[f64], options: &ClusterOptions, edges: &mut Vec<Edge>) {
    for (pair, weight) in pairs.iter().zip(weights) {
        let p = probability(*weight);
        if p >= options.threshold {
            edges.push(Edge { a: pair.0, b: pair.1, probability: p });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(a: u32, b: u32, probability: f64) -> Edge {
        Edge { a, b, probability }
    }

    fn clusters(assignments: &[Assignment]) -> Vec<u32> {
        assignments.iter().map(|a| a.cluster).collect()
    }

    #[test]
    fn the_chaining_guard_splits_a_chain() {
        // A=B and C=D strongly, B=C just above the threshold: one link between two pairs.
        let edges = [e(0, 1, 0.999), e(1, 2, 0.91), e(2, 3, 0.998)];
        let (guarded, report) = cluster(4, &edges, &ClusterOptions::default(), |_, _| false);
        assert_eq!(clusters(&guarded), [0, 0, 2, 2]);
        assert_eq!(report.refused_sparse, 1);
        // Without the guard: connected components chain all four.
        let plain = ClusterOptions { min_link_density: 0.0, ..ClusterOptions::default() };
        let (chained, _) = cluster(4, &edges, &plain, |_, _| false);
        assert_eq!(clusters(&chained), [0, 0, 0, 0]);
    }

    #[test]
    fn dense_groups_merge_and_conflicts_never_do() {
        // Three records all linked: one cluster.
        let triangle = [e(0, 1, 0.99), e(1, 2, 0.98), e(0, 2, 0.97)];
        let (a, _) = cluster(3, &triangle, &ClusterOptions::default(), |_, _| false);
        assert_eq!(clusters(&a), [0, 0, 0]);
        assert_eq!(a[0].size, 3);
        // Records 0 and 2 carry different CCCD numbers: 2 stays apart.
        let (b, report) =
            cluster(3, &triangle, &ClusterOptions::default(), |x, y| (x.min(y), x.max(y)) == (0, 2));
        assert_eq!(clusters(&b), [0, 0, 2]);
        assert!(report.refused_conflict >= 1);
    }

    #[test]
    fn every_record_in_one_cluster_whatever_the_input_order() {
        let mut edges: Vec<Edge> = (0..60u32)
            .flat_map(|i| [e(i, (i * 7 + 3) % 60, 0.5 + f64::from(i % 5) / 10.0), e(i, (i + 1) % 60, 0.95)])
            .collect();
        let options = ClusterOptions { threshold: 0.7, min_link_density: 0.3 };
        let (first, _) = cluster(61, &edges, &options, |a, b| (a + b) % 17 == 0);
        edges.reverse();
        let swapped: Vec<Edge> = edges.iter().map(|x| e(x.b, x.a, x.probability)).collect();
        let (second, _) = cluster(61, &swapped, &options, |a, b| (a + b) % 17 == 0);
        assert_eq!(first, second);
        assert_eq!(first.len(), 61);
        // Ids name the smallest member, which is in the cluster.
        for (r, a) in first.iter().enumerate() {
            assert!(a.cluster as usize <= r);
            assert_eq!(first[a.cluster as usize].cluster, a.cluster);
        }
        assert_eq!(first[60].size, 1, "a record without links is alone");
        assert_eq!(first[60].confidence, 1.0);
    }
}
