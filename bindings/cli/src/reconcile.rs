//! `khop reconcile` (the correction worklist) and `khop explain` (one pair, for a clerk).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use comfy_table::{Cell, CellAlignment, Table, presets};
use khop::link::linker::Linker;
use khop::link::output::{links_batch, links_schema};
use khop::reconcile::explain::explain_pair;
use khop::reconcile::output::{unmatched_batch, unmatched_schema, worklist_batch, worklist_schema};
use khop::reconcile::{Reconciler, Summary};
use khop::write::{WriteOptions, Writer};

use crate::link::{DecisionArgs, TablesArgs, load_or_train, prepare_both};

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
    let total = Instant::now();
    let prepared = prepare_both(&args.tables)?;
    let settings = prepared.settings_with(&args.decision)?;
    let thresholds = settings.thresholds;
    let linker = Linker::new(&prepared.left, &prepared.right, settings)?;
    let started = Instant::now();
    let (model, _) = load_or_train(&linker, args.model.as_deref())?;
    if let Some(path) = &args.save_model {
        std::fs::write(path, model.to_json()).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let bar = crate::progress::for_stage("scoring candidate pairs", "pairs");
    let (results, report) = linker.link_with_progress(&model, |scored| bar.set_position(scored))?;
    bar.finish_and_clear();
    let link_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let (left, right) = (&prepared.left, &prepared.right);
    let source = prepared.left_table.name.as_str();
    let worklist = Reconciler::new(left, right).reconcile(&results, &thresholds);
    let reconcile_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let options = WriteOptions::default();
    let mut writer = Writer::create(&args.out, worklist_schema(), &options)?;
    for chunk in worklist.conflicts.chunks(65_536) {
        writer.write(&worklist_batch(source, left, right, chunk)?)?;
    }
    writer.finish()?;
    if let Some(path) = &args.unmatched {
        let mut writer = Writer::create(path, unmatched_schema(), &options)?;
        for chunk in worklist.unmatched.chunks(65_536) {
            writer.write(&unmatched_batch(source, &linker, &model, left, right, chunk)?)?;
        }
        writer.finish()?;
    }
    if let Some(path) = &args.links {
        let mut writer = Writer::create(path, links_schema(&linker), &options)?;
        for chunk in results.chunks(65_536) {
            writer.write(&links_batch(&linker, &model, left, right, chunk)?)?;
        }
        writer.finish()?;
    }
    let write_seconds = started.elapsed().as_secs_f64();

    print_summary(source, &worklist.summary);
    println!(
        "time: prepare {:.2} s, train and link {:.2} s, reconcile {:.2} s, write {:.2} s; worklist in {}",
        prepared.seconds,
        link_seconds,
        reconcile_seconds,
        write_seconds,
        args.out.display()
    );
    if report.blocking.blocks_capped() > 0 {
        eprintln!(
            "warning: {} blocks were too large and skipped (see `khop blocking`)",
            report.blocking.blocks_capped()
        );
    }
    if let Some(path) = &args.summary {
        let json = serde_json::json!({
            "sources": [{
                "source": source,
                "path": prepared.left_table.path,
                "national": { "name": prepared.right_table.name, "path": prepared.right_table.path, "records": right.len() },
                "summary": worklist.summary,
            }],
            "pairs_scored": report.pairs_scored,
            "thresholds": thresholds,
            "outputs": { "worklist": args.out, "unmatched": args.unmatched, "links": args.links },
            "seconds": {
                "read_and_prepare": prepared.seconds, "train_and_link": link_seconds,
                "reconcile": reconcile_seconds, "write": write_seconds, "total": total.elapsed().as_secs_f64(),
            },
        });
        std::fs::write(path, serde_json::to_string_pretty(&json)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
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
    let prepared = prepare_both(&args.tables)?;
    let (left, right) = (&prepared.left, &prepared.right);
    let find = |table: &khop::normalize::prepared::PreparedRecords, id: &str, name: &str| {
        table.find_id(id).with_context(|| format!("{name} has no record with id `{id}`"))
    };
    let a = find(left, left_id, &prepared.left_table.name)?;
    let b = find(right, right_id, &prepared.right_table.name)?;
    let linker = Linker::new(left, right, prepared.settings())?;
    let (model, _) = load_or_train(&linker, args.model.as_deref())?;
    let explanation = explain_pair(&linker, &model, left, right, a, b)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&explanation)?);
        return Ok(());
    }
    let row = |r: Option<u64>| r.map(|r| format!(" (row {r})")).unwrap_or_default();
    println!(
        "{} {}{} against {} {}{}",
        prepared.left_table.name,
        explanation.left_id,
        row(explanation.left_row),
        prepared.right_table.name,
        explanation.right_id,
        row(explanation.right_row)
    );
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED).set_header([
        "comparison",
        &prepared.left_table.name,
        &prepared.right_table.name,
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
    let s = eval::conflict_scores(&lines, accepted, truth, &sector, &national);
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
