//! Gathering a [`Report`] from a finished run (the rendering is `crate::report`'s).

use std::collections::BTreeMap;

use super::{DedupeRun, DedupeSummary, LinkRun, LinkSummary, ReconcileRun, RuleSummary, Table};
use crate::error::Result;
use crate::link::LinkResult;
use crate::link::linker::Linker;
use crate::reconcile::Rejection;
use crate::reconcile::explain::explain_pair;
use crate::report::{
    ClusterSize, ConflictCount, Count, Figure, REPORT_FORMAT, REPORT_VERSION, Report, ReportOptions,
    RuleFacts, RunKind, SampleGroup, SamplePair, SampleTerm, StageTime, TableFacts, Threshold, histogram,
    weight_of,
};

fn figure(key: &str, label: &str, value: impl Into<f64>) -> Figure {
    Figure { key: key.to_owned(), label: label.to_owned(), value: value.into() }
}

fn table_facts(role: &str, table: &Table) -> TableFacts {
    let summary = table.summary();
    let mut by_reason: BTreeMap<&'static str, u64> = BTreeMap::new();
    for reject in table.rejects() {
        *by_reason.entry(reject.reason.code()).or_default() += 1;
    }
    TableFacts {
        role: role.to_owned(),
        name: summary.name,
        path: summary.path.display().to_string(),
        rows_read: summary.rows_read,
        records: summary.records as u64,
        rows_rejected: summary.rows_rejected,
        rejected_by_reason: by_reason
            .into_iter()
            .map(|(name, count)| Count { name: name.to_owned(), count })
            .collect(),
        duplicate_ids: summary.duplicate_ids,
    }
}

fn rule_facts(rules: &[RuleSummary]) -> Vec<RuleFacts> {
    rules
        .iter()
        .map(|r| RuleFacts {
            rule: r.rule.clone(),
            pairs: r.pairs,
            blocks_capped: r.blocks_capped,
            pairs_capped: r.pairs_capped,
        })
        .collect()
}

/// The stages' seconds, then writing's when the outputs were written.
fn stage_times(stages: &[(&str, f64)], write: Option<f64>) -> Vec<StageTime> {
    let mut times: Vec<StageTime> = stages
        .iter()
        .map(|(stage, seconds)| StageTime { stage: (*stage).to_owned(), seconds: *seconds })
        .collect();
    if let Some(seconds) = write {
        times.push(StageTime { stage: "write".into(), seconds });
    }
    times
}

fn threshold(name: &str, probability: f64) -> Threshold {
    Threshold { name: name.to_owned(), probability, weight: weight_of(probability) }
}

/// The indices of the `k` items whose weight is nearest `target` (ties: the smaller index),
/// nearest first.
fn nearest(weights: impl Iterator<Item = (usize, f64)>, target: f64, k: usize) -> Vec<usize> {
    let mut by_distance: Vec<(f64, usize)> =
        weights.filter(|(_, w)| w.is_finite()).map(|(i, w)| ((w - target).abs(), i)).collect();
    let order = |a: &(f64, usize), b: &(f64, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
    if by_distance.len() > k && k > 0 {
        by_distance.select_nth_unstable_by(k - 1, order);
        by_distance.truncate(k);
    }
    by_distance.sort_unstable_by(order);
    by_distance.truncate(k);
    by_distance.into_iter().map(|(_, i)| i).collect()
}

fn sample(
    linker: &Linker<'_>,
    run_model: &crate::score::Model,
    left: &Table,
    right: &Table,
    pair: (u32, u32),
    decision: &str,
) -> Result<SamplePair> {
    let e = explain_pair(linker, run_model, left.records(), right.records(), pair.0, pair.1)?;
    Ok(SamplePair {
        left_id: e.left_id,
        left_row: e.left_row,
        right_id: e.right_id,
        right_row: e.right_row,
        decision: decision.to_owned(),
        prior_weight: e.prior_weight,
        match_weight: e.match_weight,
        match_probability: e.match_probability,
        terms: e
            .comparisons
            .into_iter()
            .map(|c| SampleTerm {
                comparison: c.comparison,
                left_value: c.left_value,
                right_value: c.right_value,
                level: c.level,
                description: c.description.to_owned(),
                weight: c.weight,
            })
            .collect(),
    })
}

fn link_samples(run: &LinkRun, thresholds: &[Threshold], k: usize) -> Result<Vec<SampleGroup>> {
    if k == 0 {
        return Ok(Vec::new());
    }
    let linker = run.linker()?;
    let results = run.results();
    let best = |r: &LinkResult| r.best.map(|c| c.weight);
    let explain = |r: &LinkResult| -> Result<SamplePair> {
        let right = r.best.expect("sampled results have a best candidate").right;
        sample(&linker, run.model(), run.sector(), run.national(), (r.left, right), r.decision.as_str())
    };
    let mut groups = Vec::new();
    for t in thresholds {
        let picked =
            nearest(results.iter().enumerate().filter_map(|(i, r)| best(r).map(|w| (i, w))), t.weight, k);
        groups.push(SampleGroup {
            title: format!(
                "Nearest the {} threshold (probability {}, {:+.1} bits)",
                t.name, t.probability, t.weight
            ),
            pairs: picked.into_iter().map(|i| explain(&results[i])).collect::<Result<_>>()?,
        });
    }
    // Ambiguous records: the strongest best candidates whose runner-up was close.
    let mut ambiguous: Vec<&LinkResult> =
        results.iter().filter(|r| r.ambiguous && r.best.is_some()).collect();
    ambiguous.sort_by(|a, b| {
        best(b).unwrap_or(f64::MIN).total_cmp(&best(a).unwrap_or(f64::MIN)).then(a.left.cmp(&b.left))
    });
    ambiguous.truncate(k);
    if !ambiguous.is_empty() {
        groups.push(SampleGroup {
            title: "Ambiguous: the runner-up is within the margin of the best candidate".into(),
            pairs: ambiguous.into_iter().map(explain).collect::<Result<_>>()?,
        });
    }
    Ok(groups)
}

/// The report of a link (or, with `kind` Reconcile, of the link inside a reconciliation).
pub(crate) fn link_report(
    run: &LinkRun,
    summary: &LinkSummary,
    options: &ReportOptions,
    kind: RunKind,
) -> Result<Report> {
    let t = &run.settings().thresholds;
    let thresholds = vec![threshold("match", t.match_probability), threshold("review", t.review_probability)];
    let weights: Vec<f64> = run.results().iter().filter_map(|r| r.best.map(|c| c.weight)).collect();
    let mut reasons: BTreeMap<Rejection, u64> = BTreeMap::new();
    for result in run.results() {
        if let Some(reason) = Rejection::of(result, t) {
            *reasons.entry(reason).or_default() += 1;
        }
    }
    let d = &summary.decisions;
    let figures = vec![
        figure(
            "rows_read",
            "rows read (both tables)",
            (summary.sector.rows_read + summary.national.rows_read) as f64,
        ),
        figure("rows_rejected", "rows rejected (both tables)", summary.rows_rejected as f64),
        figure("sector_records", "sector records", summary.sector.records as f64),
        figure("national_records", "national records", summary.national.records as f64),
        figure("pairs_scored", "candidate pairs scored", summary.pairs_scored as f64),
        figure("match", "matched", d.r#match as f64),
        figure("review", "to review", d.review as f64),
        figure("no_match", "no match", d.no_match as f64),
        figure("ambiguous", "ambiguous", summary.ambiguous as f64),
    ];
    let s = &summary.seconds;
    let seconds = stage_times(
        &[("read and prepare", s.read_and_prepare), ("train", s.train), ("block, score and decide", s.link)],
        s.write,
    );
    Ok(Report {
        format: REPORT_FORMAT.into(),
        version: REPORT_VERSION,
        khop_version: env!("CARGO_PKG_VERSION").into(),
        kind,
        figures,
        tables: vec![table_facts("sector", run.sector()), table_facts("national", run.national())],
        model: run.model().clone(),
        training: run.training().cloned(),
        blocking: rule_facts(&summary.blocking),
        weights: histogram("the best candidate of each sector record", &weights, &thresholds),
        samples: link_samples(run, &thresholds, options.samples)?,
        thresholds,
        decisions: [("match", d.r#match), ("review", d.review), ("no_match", d.no_match)]
            .into_iter()
            .map(|(name, count)| Count { name: name.into(), count: count as u64 })
            .collect(),
        reasons: reasons.into_iter().map(|(r, count)| Count { name: r.as_str().into(), count }).collect(),
        conflicts: Vec::new(),
        cluster_sizes: Vec::new(),
        seconds,
        warnings: summary.warnings.clone(),
    })
}

/// The report of a reconciliation: its link's, with the conflicts by field and type.
pub(crate) fn reconcile_report(run: &ReconcileRun, options: &ReportOptions) -> Result<Report> {
    let summary = run.summary();
    let mut report = link_report(run.link(), &summary.link, options, RunKind::Reconcile)?;
    let counts = &run.worklist().summary;
    report.figures.push(figure("conflicts", "worklist lines (conflicts)", counts.conflicts as f64));
    report.figures.push(figure(
        "matched_with_conflicts",
        "matched records with a conflict",
        counts.matched_with_conflicts as f64,
    ));
    for (field, kinds) in &counts.by_field {
        for (kind, count) in kinds {
            report.conflicts.push(ConflictCount {
                field: field.as_str().into(),
                kind: kind.as_str().into(),
                count: *count,
            });
        }
    }
    report.seconds.push(StageTime { stage: "reconcile".into(), seconds: summary.seconds.reconcile });
    Ok(report)
}

/// The report of a deduplication.
pub(crate) fn dedupe_report(
    run: &DedupeRun,
    summary: &DedupeSummary,
    options: &ReportOptions,
) -> Result<Report> {
    let result = run.result();
    let thresholds = vec![threshold("link", summary.threshold)];
    let weights: Vec<f64> = result.edges.iter().map(|e| weight_of(e.probability)).collect();
    let mut sizes: BTreeMap<u64, u64> = BTreeMap::new();
    for (record, a) in result.assignments.iter().enumerate() {
        if a.cluster as usize == record {
            *sizes.entry(u64::from(a.size)).or_default() += 1;
        }
    }
    let figures = vec![
        figure("rows_read", "rows read", summary.table.rows_read as f64),
        figure("rows_rejected", "rows rejected", summary.table.rows_rejected as f64),
        figure("records", "records", summary.table.records as f64),
        figure("pairs_scored", "candidate pairs scored", summary.pairs_scored as f64),
        figure("links", "links (pairs at or above the threshold)", summary.report.links as f64),
        figure("clusters", "clusters (singletons included)", summary.clusters as f64),
        figure("clusters_with_duplicates", "clusters with duplicates", summary.report.clusters as f64),
        figure("refused_conflict", "merges refused for a conflict", summary.report.refused_conflict as f64),
        figure("refused_sparse", "merges refused as too sparse", summary.report.refused_sparse as f64),
    ];
    let mut samples = Vec::new();
    if options.samples > 0 && !result.edges.is_empty() {
        let linker = Linker::dedupe(run.table().records(), run.settings().clone())?;
        let t = &thresholds[0];
        let picked = nearest(
            result.edges.iter().enumerate().map(|(i, e)| (i, weight_of(e.probability))),
            t.weight,
            options.samples,
        );
        let clustered =
            |a: u32, b: u32| result.assignments[a as usize].cluster == result.assignments[b as usize].cluster;
        samples.push(SampleGroup {
            title: format!(
                "Links nearest the threshold (probability {}, {:+.1} bits)",
                t.probability, t.weight
            ),
            pairs: picked
                .into_iter()
                .map(|i| {
                    let e = &result.edges[i];
                    let decision =
                        if clustered(e.a, e.b) { "same cluster" } else { "link, clusters kept apart" };
                    sample(&linker, run.model(), run.table(), run.table(), (e.a, e.b), decision)
                })
                .collect::<Result<_>>()?,
        });
    }
    let s = &summary.seconds;
    let seconds = stage_times(
        &[("read and prepare", s.read_and_prepare), ("train, score and cluster", s.dedupe)],
        s.write,
    );
    Ok(Report {
        format: REPORT_FORMAT.into(),
        version: REPORT_VERSION,
        khop_version: env!("CARGO_PKG_VERSION").into(),
        kind: RunKind::Dedupe,
        figures,
        tables: vec![table_facts("table", run.table())],
        model: run.model().clone(),
        training: run.training().cloned(),
        blocking: rule_facts(&summary.blocking),
        weights: histogram("the links (pairs at or above the threshold)", &weights, &thresholds),
        thresholds,
        decisions: Vec::new(),
        reasons: Vec::new(),
        conflicts: Vec::new(),
        cluster_sizes: sizes.into_iter().map(|(size, clusters)| ClusterSize { size, clusters }).collect(),
        samples,
        seconds,
        warnings: summary.warnings.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::nearest;

    #[test]
    fn nearest_picks_the_closest_weights_in_order_and_breaks_ties_by_index() {
        let weights = [10.0, 3.0, 3.5, 2.5, f64::NAN, 3.0, -4.0];
        let picked = nearest(weights.iter().copied().enumerate(), 3.0, 3);
        assert_eq!(picked, vec![1, 5, 2], "3.0 twice (index order), then 3.5 before 2.5 by index");
        assert_eq!(nearest(weights.iter().copied().enumerate(), 3.0, 0), Vec::<usize>::new());
        assert_eq!(nearest(weights.iter().copied().enumerate(), 3.0, 100).len(), 6, "NaN left out");
    }
}
