//! `khop reconcile` (the correction worklist) and `khop explain` (one pair, for a clerk).

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::Args;
use comfy_table::{Cell, CellAlignment, Table, presets};
use khop::reconcile::Summary;
use khop::session::ReconcileOutputs;

use crate::link::{
    DecisionArgs, Tables, TablesArgs, print_model, print_training, print_warnings, read_model,
};

#[derive(Args)]
pub struct ReconcileArgs {
    #[command(flatten)]
    pub tables: TablesArgs,
    /// Where to write the worklist: one row per field that disagrees in an accepted link
    /// (.csv, .parquet or .ndjson).
    #[arg(short, long)]
    pub out: PathBuf,
    /// Where to write the sector records that were not accepted, with their closest national
    /// record and why.
    #[arg(long)]
    pub unmatched: Option<PathBuf>,
    /// Also write the links, one row per sector record, as `khop link --out` does.
    #[arg(long)]
    pub links: Option<PathBuf>,
    /// Write the summary (counts per source, field and conflict type; unmatched per reason) as
    /// JSON here.
    #[arg(long)]
    pub summary: Option<PathBuf>,
    /// Write the report here: one self-contained HTML page to sign the run off (or its data as
    /// JSON, for `khop report`, when the name ends in `.json`).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Pairs the report shows near each threshold, both records side by side (0: the report
    /// holds no record, only counts and the model).
    #[arg(long, default_value_t = 8, requires = "report")]
    pub report_samples: usize,
    /// Use this trained model (from `khop train`) instead of training one.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Save the model trained for this run.
    #[arg(long)]
    pub save_model: Option<PathBuf>,
    #[command(flatten)]
    pub decision: DecisionArgs,
}

pub fn reconcile(args: ReconcileArgs) -> Result<()> {
    let tables = Tables::from_args(&args.tables, Some(&args.decision))?;
    let outputs = ReconcileOutputs {
        worklist: args.out.clone(),
        unmatched: args.unmatched.clone(),
        links: args.links.clone(),
        rejects: tables.rejects.clone(),
        model: args.save_model.clone(),
        summary: args.summary.clone(),
        report: args.report.clone(),
        report_options: khop::report::ReportOptions { samples: args.report_samples },
    };
    let mut plan = tables.plan(args.model.as_deref());
    outputs.plan(&mut plan);
    plan.check()?;
    let model = args.model.as_deref().map(read_model).transpose()?;
    let (left, right) = tables.prepare_both()?;
    let run = tables.session.reconcile(&left, &right, model.as_ref())?;
    if let Some(report) = run.link().training() {
        print_training(report);
        print_model(run.link().model());
    }
    let summary = run.write_outputs(&outputs)?;
    for source in &summary.sources {
        print_summary(&source.source, &source.summary);
    }
    let s = &summary.seconds;
    println!(
        "time: prepare {:.2} s, train and link {:.2} s, reconcile {:.2} s, write {:.2} s; worklist in {}",
        s.read_and_prepare,
        s.train_and_link,
        s.reconcile,
        s.write.unwrap_or_default(),
        args.out.display()
    );
    print_warnings(&summary.warnings);
    Ok(())
}

/// The counts of one source, as tables.
fn print_summary(source: &str, s: &Summary) {
    println!(
        "{source}: {} sector records, {} accepted links, {} of them with conflicts; {} worklist lines; {} not accepted",
        s.records,
        s.matched,
        s.matched_with_conflicts,
        s.conflicts,
        s.records - s.matched
    );
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED).set_header(["source", "field", "conflict", "lines"]);
    for (field, kinds) in &s.by_field {
        for (kind, n) in kinds {
            table.add_row([
                Cell::new(source),
                Cell::new(field.as_str()),
                Cell::new(kind.as_str()),
                Cell::new(n).set_alignment(CellAlignment::Right),
            ]);
        }
    }
    println!("{table}");
    if !s.unmatched.is_empty() {
        let mut table = Table::new();
        table.load_style(presets::UTF8_FULL_CONDENSED).set_header([
            "source",
            "not accepted because",
            "records",
        ]);
        for (reason, n) in &s.unmatched {
            table.add_row([
                Cell::new(source),
                Cell::new(reason.as_str()),
                Cell::new(n).set_alignment(CellAlignment::Right),
            ]);
        }
        println!("{table}");
    }
}

#[derive(Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub tables: TablesArgs,
    /// The pair: a sector (left) record id and a national (right) record id.
    #[arg(long, num_args = 2, value_names = ["SECTOR_ID", "NATIONAL_ID"], required = true)]
    pub pair: Vec<String>,
    /// Use this trained model (from `khop train` or `--save-model`) instead of training one.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn explain(args: ExplainArgs) -> Result<()> {
    let [left_id, right_id] = args.pair.as_slice() else {
        bail!("--pair takes two record ids: a sector record and a national record");
    };
    let tables = Tables::from_args(&args.tables, None)?;
    let model = args.model.as_deref().map(read_model).transpose()?;
    let (left, right) = tables.prepare_both()?;
    let explained = tables.session.explain(&left, &right, left_id, right_id, model.as_ref())?;
    if let Some(report) = &explained.training {
        print_training(report);
        print_model(&explained.model);
    }
    let explanation = explained.explanation;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&explanation)?);
        return Ok(());
    }
    let row = |r: Option<u64>| r.map(|r| format!(" (row {r})")).unwrap_or_default();
    println!(
        "{} {}{} against {} {}{}",
        left.name(),
        explanation.left_id,
        row(explanation.left_row),
        right.name(),
        explanation.right_id,
        row(explanation.right_row)
    );
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED).set_header([
        "comparison",
        left.name(),
        right.name(),
        "level",
        "meaning",
        "weight",
    ]);
    for c in &explanation.comparisons {
        table.add_row([
            Cell::new(&c.comparison),
            Cell::new(&c.left_value),
            Cell::new(&c.right_value),
            Cell::new(&c.level),
            Cell::new(c.description),
            Cell::new(format!("{:+.1}", c.weight)).set_alignment(CellAlignment::Right),
        ]);
    }
    println!("{table}");
    println!(
        "match weight {:+.1} bits = prior {:+.1} + comparisons {:+.1}; probability {:.4}",
        explanation.match_weight,
        explanation.prior_weight,
        explanation.match_weight - explanation.prior_weight,
        explanation.match_probability
    );
    Ok(())
}

/// `khop eval --worklist`: scores a worklist against the generator's corruptions and prints
/// recall and the spurious share, per field and per corruption kind.
pub fn eval_worklist(
    worklist: &Path,
    corruptions: &Path,
    national_corruptions: Option<&Path>,
    accepted: &[(String, String)],
    truth: &[(String, String)],
) -> Result<khop::eval::ConflictScores> {
    use khop::eval;
    let lines = eval::read_worklist(worklist)?;
    let sector = eval::read_field_corruptions(corruptions)?;
    let national = match national_corruptions {
        Some(path) => eval::read_field_corruptions(path)?,
        None => Vec::new(),
    };
    let s = eval::conflict_scores(
        &lines,
        accepted,
        truth,
        &sector,
        &national,
        khop_datasets::is_content_corruption,
    );
    println!(
        "conflicts on {} correctly accepted links ({} wrong links, {} true links not accepted):",
        s.linked_rows, s.wrong_links, s.missed_links
    );
    println!(
        "  recall {:.4} ({} of {} injected conflicts found); spurious {:.4} ({} of {} lines)",
        s.recall, s.found, s.expected, s.spurious_rate, s.spurious, s.reported
    );
    println!(
        "  national changes seen through the links: {} of {}; updates (legacy_units) {}, {} of them on a changed field; {} lines on wrong links",
        s.national_found, s.national_expected, s.updates, s.updates_on_conflicts, s.lines_on_wrong_links
    );
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_header(["field", "injected", "found", "recall", "lines", "spurious"]);
    for f in &s.by_field {
        table.add_row([
            Cell::new(&f.field),
            Cell::new(f.expected),
            Cell::new(f.found),
            Cell::new(format!("{:.4}", ratio(f.found, f.expected))),
            Cell::new(f.reported),
            Cell::new(f.spurious),
        ]);
    }
    println!("{table}");
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED).set_header(["corruption", "injected", "found", "recall"]);
    for k in &s.by_kind {
        table.add_row([
            Cell::new(&k.kind),
            Cell::new(k.expected),
            Cell::new(k.found),
            Cell::new(format!("{:.4}", ratio(k.found, k.expected))),
        ]);
    }
    println!("{table}");
    Ok(s)
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}
