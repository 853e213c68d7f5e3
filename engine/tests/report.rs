//! The report of a run and the clerical review loop, end to end on a generated population: the
//! report's numbers are the run's, its page needs nothing from outside, its data survives JSON;
//! the review leaves out what earlier answers settle, and labels score a run and change training.

use std::collections::HashSet;
use std::path::Path;

use khop::Result;
use khop::read::ReadOptions;
use khop::report::{Report, ReportOptions, RunKind};
use khop::review::{Label, Labels};
use khop::session::{DedupeOutputs, LinkOutputs, Session, Table, TableSource};

fn population(dir: &Path) {
    let profile = khop_datasets::Profile::named("hard").unwrap();
    let options = khop_datasets::GenOptions { persons: 1500, seed: 5, ..Default::default() };
    khop_datasets::generate(dir, &profile, &options).unwrap();
}

fn prepare(session: &Session, file: &Path) -> Result<Table> {
    session.prepare(&TableSource::detect(file, &ReadOptions::default())?)
}

/// The page loads nothing: no URL, no external resource attribute, a policy that forbids any.
fn assert_offline(html: &str) {
    for needle in ["http://", "https://", "src=", "<link", "@import", "url("] {
        assert!(!html.contains(needle), "the page holds `{needle}`");
    }
    assert!(html.contains("default-src 'none'"), "the page forbids every fetch");
}

fn truth(dir: &Path) -> HashSet<(String, String)> {
    khop::eval::read_pairs(&dir.join("links_bhxh.csv")).unwrap().into_iter().collect()
}

#[test]
fn link_and_reconcile_reports_hold_the_runs_numbers() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    population(dir.path());
    let session = Session::new();
    let sector = prepare(&session, &dir.path().join("bhxh.parquet"))?;
    let national = prepare(&session, &dir.path().join("national.parquet"))?;
    let run = session.link(&sector, &national, None)?;
    let html_file = dir.path().join("report.html");
    let outputs =
        LinkOutputs { report: Some(html_file.clone()), ..LinkOutputs::new(dir.path().join("links.csv")) };
    let summary = run.write_outputs(&outputs)?;

    let report = run.report(&ReportOptions::default())?;
    assert_eq!(report.kind, RunKind::Link);
    assert_eq!(report.figure("match"), Some(summary.decisions.r#match as f64));
    assert_eq!(report.figure("no_match"), Some(summary.decisions.no_match as f64));
    assert_eq!(report.figure("pairs_scored"), Some(summary.pairs_scored as f64));
    let records_with_a_candidate = run.results().iter().filter(|r| r.best.is_some()).count() as u64;
    assert_eq!(report.weights.counts.iter().sum::<u64>(), records_with_a_candidate);
    let not_matched: u64 = report.reasons.iter().map(|r| r.count).sum();
    assert_eq!(not_matched, (summary.decisions.review + summary.decisions.no_match) as u64);
    let rules =
        |r: &[khop::report::RuleFacts]| r.iter().map(|r| (r.rule.clone(), r.pairs)).collect::<Vec<_>>();
    assert_eq!(
        rules(&report.blocking),
        summary.blocking.iter().map(|r| (r.rule.clone(), r.pairs)).collect::<Vec<_>>()
    );
    // Samples sit near their threshold, nearest first, and add up to their weight.
    let near_match = &report.samples[0];
    assert_eq!(near_match.pairs.len(), ReportOptions::default().samples);
    let distance = |w: f64| (w - report.thresholds[0].weight).abs();
    for pair in near_match.pairs.windows(2) {
        assert!(distance(pair[0].match_weight) <= distance(pair[1].match_weight) + 1e-9);
    }
    for pair in report.samples.iter().flat_map(|g| &g.pairs) {
        let total = pair.prior_weight + pair.terms.iter().map(|t| t.weight).sum::<f64>();
        assert!((total - pair.match_weight).abs() < 1e-6, "{} vs {}", total, pair.match_weight);
    }

    let html = std::fs::read_to_string(&html_file).unwrap();
    assert_offline(&html);
    assert!(html.contains(&format!(r#"data-key="match" data-value="{}""#, summary.decisions.r#match)));
    assert!(html.len() < 400_000, "{} bytes", html.len());
    // The data round-trips through JSON, and `khop report` renders the same page from it.
    let again = Report::from_json(&report.to_json())?;
    assert_eq!(again, report);
    assert_eq!(again.to_html(), report.to_html());
    assert!(Report::from_json(r#"{"format": "khop-model"}"#).is_err());
    // Without samples the report holds no record.
    let bare = run.report(&ReportOptions { samples: 0 })?;
    assert!(bare.samples.is_empty());
    assert!(!bare.to_html().contains(&report.samples[0].pairs[0].left_id));

    let reconciled = session.reconcile(&sector, &national, None)?;
    let report = reconciled.report(&ReportOptions::default())?;
    assert_eq!(report.kind, RunKind::Reconcile);
    let lines: u64 = report.conflicts.iter().map(|c| c.count).sum();
    assert_eq!(lines, reconciled.worklist().summary.conflicts);
    assert_eq!(report.figure("conflicts"), Some(lines as f64));
    assert_offline(&report.to_html());
    Ok(())
}

#[test]
fn a_dedupe_report_counts_every_record_in_one_cluster() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    population(dir.path());
    let session = Session::new();
    let table = prepare(&session, &dir.path().join("local.parquet"))?;
    let run = session.dedupe(&table)?;
    let file = dir.path().join("report.json");
    let outputs =
        DedupeOutputs { report: Some(file.clone()), ..DedupeOutputs::new(&dir.path().join("c.csv")) };
    let summary = run.write_outputs(&outputs)?;
    let report = Report::from_json(&std::fs::read_to_string(&file).unwrap())?;
    assert_eq!(report.kind, RunKind::Dedupe);
    let records: u64 = report.cluster_sizes.iter().map(|c| c.size * c.clusters).sum();
    assert_eq!(records, table.len() as u64);
    let clusters: u64 = report.cluster_sizes.iter().map(|c| c.clusters).sum();
    assert_eq!(clusters, summary.clusters as u64);
    assert_eq!(report.weights.counts.iter().sum::<u64>(), summary.report.links);
    assert_offline(&report.to_html());
    Ok(())
}

#[test]
fn a_review_round_skips_what_answers_settle_and_labels_change_the_model() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    population(dir.path());
    let truth = truth(dir.path());
    let session = Session::new();
    let sector = prepare(&session, &dir.path().join("bhxh.parquet"))?;
    let national = prepare(&session, &dir.path().join("national.parquet"))?;
    let run = session.link(&sector, &national, None)?;

    let first = run.review(&Labels::new(), 60)?;
    assert_eq!(first.items.len(), 60);
    let pairs: HashSet<(&str, &str)> =
        first.items.iter().map(|i| (i.left_id.as_str(), i.right_id.as_str())).collect();
    assert_eq!(pairs.len(), 60, "a pair is shown once");
    let html = first.to_html();
    assert_offline(&html);
    assert!(!html.contains("probability") && !html.contains("bits"), "no score for the clerk");

    // A clerk answers the first 30 from the truth.
    let mut labels = Labels::new();
    for item in &first.items[..30] {
        let same = truth.contains(&(item.left_id.clone(), item.right_id.clone()));
        labels.insert(&item.left_id, &item.right_id, if same { Label::Match } else { Label::NonMatch });
    }
    let second = run.review(&labels, 60)?;
    assert!(second.items.iter().all(|i| labels.implied(&i.left_id, &i.right_id).is_none()));
    assert!(second.skipped_labelled >= 30, "{}", second.skipped_labelled);
    assert_eq!(second.items[..30], first.items[30..], "the unanswered pairs come first, in order");

    // Labels score a run: the run's matches among the labelled pairs.
    let matches: Vec<(String, String)> = run
        .results()
        .iter()
        .filter(|r| r.decision == khop::link::Decision::Match)
        .map(|r| {
            (
                sector.records().record_id(r.left).to_owned(),
                national.records().record_id(r.best.unwrap().right).to_owned(),
            )
        })
        .collect();
    let scores = khop::eval::label_scores(&matches, &labels);
    let c = labels.counts();
    assert_eq!(scores.labels, c);
    assert_eq!(scores.scores.true_positives + scores.scores.false_negatives, c.matches);
    assert_eq!(scores.scores.false_positives + scores.true_negatives, c.non_matches);

    // Training with them moves the prior to fit the answers, and leaves u alone; m moves only
    // when asked to, toward the levels of the labelled matches, and still sums to 1.
    let (plain, _) = session.train(&sector, &national)?;
    let (calibrated, _, used) = session.train_with_labels(&sector, &national, &labels, None)?;
    assert_eq!(used.pairs_used, c.matches + c.non_matches);
    assert!(c.matches > 0 && c.non_matches > 0, "{c:?}");
    assert_eq!(calibrated.comparisons, plain.comparisons);
    assert!(used.prior_shift_bits.is_finite() && used.prior_shift_bits != 0.0);
    assert!((calibrated.prior_weight() - plain.prior_weight() - used.prior_shift_bits).abs() < 1e-9);
    let (taught, _, used) = session.train_with_labels(&sector, &national, &labels, Some(100.0))?;
    assert_eq!(used.matches_used, c.matches);
    assert_ne!(taught.comparisons, plain.comparisons);
    for (p, t) in plain.comparisons.iter().zip(&taught.comparisons) {
        for (lp, lt) in p.levels.iter().zip(&t.levels) {
            assert_eq!(lp.u, lt.u);
        }
        let sum: f64 = t
            .levels
            .iter()
            .enumerate()
            .filter(|(l, _)| t.spec.null_level != Some(*l as u8))
            .map(|(_, l)| l.m)
            .sum();
        assert!((sum - 1.0).abs() < 1e-9, "{}: m sums to {sum}", t.spec.name);
    }
    // No labels leave the model as trained.
    let (same, _, _) = session.train_with_labels(&sector, &national, &Labels::new(), Some(100.0))?;
    assert_eq!(same, plain);
    Ok(())
}
