//! `khop link`, `khop train` and `khop blocking`: the matching pipeline from the command line.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use khop::config::detect::detect_file;
use khop::config::{Config, LinkConfig};
use khop::link::Decision;
use khop::link::linker::{LinkSettings, Linker};
use khop::link::output::{links_batch, links_schema};
use khop::normalize::prepared::PreparedRecords;
use khop::read::{ReadOptions, Reader};
use khop::score::Model;
use khop::write::{RejectWriter, WriteOptions, Writer};
use khop::{ColumnSpec, DatasetSpec};

use crate::ReadArgs;

/// Which two tables to link.
#[derive(Args, Clone)]
pub struct TablesArgs {
    /// A configuration naming the inputs, their columns and roles.
    #[arg(short, long)]
    pub config: Option<PathBuf>,
    /// A sector table: an input name of the configuration, or a file (roles detected). Repeat it
    /// to link several sources in one run (`khop link` only). Defaults to every input of the
    /// configuration but the national one.
    #[arg(long)]
    pub left: Vec<String>,
    /// The national table: an input name of the configuration, or a file (roles detected).
    /// Defaults to the configuration's input named `national`, else its second input.
    #[arg(long)]
    pub right: Option<String>,
    /// Write rejected rows, with their reasons, to this CSV file.
    #[arg(long)]
    pub rejects: Option<PathBuf>,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Args)]
pub struct LinkArgs {
    #[command(flatten)]
    pub tables: TablesArgs,
    /// Where to write one row per sector record (.parquet, .csv or .ndjson). With several
    /// sources, a folder: `links_<source>`, `persons` and `conflicts` files and the models go
    /// there.
    #[arg(short, long)]
    pub out: PathBuf,
    /// Format of the files written into the `--out` folder with several sources.
    #[arg(long, default_value = "parquet", value_parser = ["parquet", "csv", "ndjson"])]
    pub output_format: String,
    /// Use this trained model (from `khop train`) instead of training one. With several
    /// sources, every source uses it (the comparisons it needs, found by name).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// With several sources: train one model on all of them instead of one model per source.
    #[arg(long)]
    pub shared_model: bool,
    /// Save the model trained for this run (with several sources the models are written into
    /// the `--out` folder).
    #[arg(long)]
    pub save_model: Option<PathBuf>,
    /// Write the run summary as JSON here.
    #[arg(long)]
    pub summary: Option<PathBuf>,
    #[command(flatten)]
    pub decision: DecisionArgs,
}

/// How to decide, over the configuration's `[link]` section (`link` and `reconcile`).
#[derive(Args, Clone, Default)]
pub struct DecisionArgs {
    /// Probability at or above which the best candidate is a match [default: the
    /// configuration's `[link] match_threshold`, else 0.9].
    #[arg(long, value_parser = probability)]
    pub match_threshold: Option<f64>,
    /// Probability at or above which the best candidate goes to review [default: the
    /// configuration's `[link] review_threshold`, else 0.5].
    #[arg(long, value_parser = probability)]
    pub review_threshold: Option<f64>,
    /// Keep only one-to-one matches (no national record matched twice).
    #[arg(long)]
    pub one_to_one: bool,
}

#[derive(Args)]
pub struct BlockingArgs {
    #[command(flatten)]
    pub tables: TablesArgs,
    /// True links (`left_id,right_id` CSV with a header, e.g. `links_<source>.csv`): report the
    /// share of them each rule finds first, and those no rule finds.
    #[arg(long)]
    pub truth: Option<PathBuf>,
}

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub tables: TablesArgs,
    /// Where to write the model (JSON).
    #[arg(short, long)]
    pub out: PathBuf,
}

pub(crate) fn probability(text: &str) -> std::result::Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("`{text}` is not a probability between 0 and 1")),
    }
}

/// A table to read: its path, columns and how to read it.
pub(crate) struct Table {
    pub(crate) name: String,
    pub(crate) path: PathBuf,
    dataset: DatasetSpec,
    options: ReadOptions,
}

fn detected(file: &Path, read: &ReadArgs) -> Result<Table> {
    let options = read.options()?;
    let (_, detection) = detect_file(file, &options)?;
    let dataset = DatasetSpec {
        id_column: detection.id_column.clone(),
        columns: detection
            .columns
            .iter()
            .filter_map(|c| c.role.map(|r| ColumnSpec::new(&c.name, r)))
            .collect(),
    };
    let options = ReadOptions {
        columns: Some(dataset.column_names().iter().map(|c| (*c).to_owned()).collect()),
        id_column: dataset.id_column.clone(),
        ..options
    };
    let name = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(Table { name, path: file.to_owned(), dataset, options })
}

/// The tables named by `args`: the sector tables (at least one), the national table, the rejects
/// file and the configuration's `[link]` section.
fn sources(args: &TablesArgs) -> Result<(Vec<Table>, Table, Option<PathBuf>, LinkConfig)> {
    match &args.config {
        Some(config) => {
            let config = Config::from_file(config)?;
            let input = |name: &String| {
                config
                    .inputs
                    .iter()
                    .position(|i| &i.name == name)
                    .with_context(|| format!("the configuration has no input named `{name}`"))
            };
            let right = match &args.right {
                Some(name) => input(name)?,
                None => match config.inputs.iter().position(|i| i.name == "national") {
                    Some(i) => i,
                    None if config.inputs.len() >= 2 => 1,
                    None => bail!("the configuration needs two inputs, or name the right table"),
                },
            };
            let lefts = if args.left.is_empty() {
                (0..config.inputs.len()).filter(|&i| i != right).collect()
            } else {
                args.left.iter().map(input).collect::<Result<Vec<_>>>()?
            };
            if lefts.is_empty() {
                bail!("the configuration needs two inputs, or name the left table");
            }
            let table = |i: usize| {
                let input = &config.inputs[i];
                Table {
                    name: input.name.clone(),
                    path: input.path.clone(),
                    dataset: input.dataset.clone(),
                    options: input.read.clone(),
                }
            };
            Ok((
                lefts.into_iter().map(table).collect(),
                table(right),
                args.rejects.clone().or(config.rejects.clone()),
                config.link.clone(),
            ))
        }
        None => {
            let Some(right) = &args.right else {
                bail!("name the tables: --config C, or --left FILE --right FILE");
            };
            if args.left.is_empty() {
                bail!("name the tables: --config C, or --left FILE --right FILE");
            }
            let lefts =
                args.left.iter().map(|l| detected(Path::new(l), &args.read)).collect::<Result<Vec<_>>>()?;
            Ok((lefts, detected(Path::new(right), &args.read)?, args.rejects.clone(), LinkConfig::default()))
        }
    }
}

/// The one sector table and the national table named by `args`.
fn tables(args: &TablesArgs) -> Result<(Table, Table, Option<PathBuf>, LinkConfig)> {
    let (mut lefts, right, rejects, link) = sources(args)?;
    if lefts.len() > 1 {
        bail!(
            "{} sector tables named ({}); this command takes one: name it with --left",
            lefts.len(),
            lefts.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")
        );
    }
    Ok((lefts.remove(0), right, rejects, link))
}

/// Reads and prepares one table, writing its rejects.
fn prepare(
    table: &Table,
    rejects: &mut Option<RejectWriter>,
) -> Result<(PreparedRecords, khop::read::ReadStats)> {
    if table.dataset.columns.is_empty() {
        bail!("{}: no column has a role; write a configuration (`khop config init`)", table.path.display());
    }
    let mut reader = Reader::open(&table.path, &table.options)?;
    let bar = crate::progress::for_reader(&reader);
    let mut failure = None;
    let batches = std::iter::from_fn(|| {
        let next = reader.next();
        bar.set_position(reader.progress().position);
        next
    })
    .inspect(|batch| {
        if let (Ok(batch), Some(writer)) = (batch, rejects.as_mut())
            && let Err(e) = writer.write(&batch.rejects)
        {
            failure.get_or_insert(e);
        }
    });
    let prepared = PreparedRecords::from_batches(&table.dataset, batches)?;
    bar.finish_and_clear();
    if let Some(e) = failure {
        return Err(e.into());
    }
    Ok((prepared, reader.stats()))
}

pub(crate) struct Prepared {
    pub(crate) left: PreparedRecords,
    pub(crate) right: PreparedRecords,
    pub(crate) left_table: Table,
    pub(crate) right_table: Table,
    rejects_path: Option<PathBuf>,
    rejected: u64,
    pub(crate) seconds: f64,
    /// The configuration's `[link]` section (defaults without a configuration).
    link: LinkConfig,
}

impl Prepared {
    /// The default settings with the configuration's `[link]` section over them.
    pub(crate) fn settings(&self) -> LinkSettings {
        self.link.apply(LinkSettings::default())
    }

    /// [`Prepared::settings`] with the options of the command line over them.
    pub(crate) fn settings_with(&self, decision: &DecisionArgs) -> Result<LinkSettings> {
        settings_with(&self.link, decision)
    }
}

/// The default settings with a configuration's `[link]` section over them, then the options of
/// the command line.
fn settings_with(link: &LinkConfig, decision: &DecisionArgs) -> Result<LinkSettings> {
    let mut settings = link.apply(LinkSettings::default());
    let thresholds = &mut settings.thresholds;
    thresholds.match_probability = decision.match_threshold.unwrap_or(thresholds.match_probability);
    thresholds.review_probability = decision.review_threshold.unwrap_or(thresholds.review_probability);
    settings.one_to_one |= decision.one_to_one;
    if thresholds.review_probability > thresholds.match_probability {
        bail!(
            "the review threshold ({}) is above the match threshold ({})",
            thresholds.review_probability,
            thresholds.match_probability
        );
    }
    Ok(settings)
}

fn print_read(table: &Table, stats: &khop::read::ReadStats) {
    eprintln!(
        "{} ({}): {} rows read, {} prepared, {} rejected",
        table.name,
        table.path.display(),
        stats.rows_read,
        stats.rows_passed,
        stats.rows_rejected
    );
}

pub(crate) fn prepare_both(args: &TablesArgs) -> Result<Prepared> {
    let started = Instant::now();
    let (left_table, right_table, rejects_path, link) = tables(args)?;
    let mut rejects = rejects_path.as_deref().map(RejectWriter::create).transpose()?;
    let (left, left_stats) = prepare(&left_table, &mut rejects)?;
    let (right, right_stats) = prepare(&right_table, &mut rejects)?;
    if let Some(writer) = rejects {
        writer.finish()?;
    }
    print_read(&left_table, &left_stats);
    print_read(&right_table, &right_stats);
    Ok(Prepared {
        left,
        right,
        left_table,
        right_table,
        rejects_path,
        rejected: left_stats.rows_rejected + right_stats.rows_rejected,
        seconds: started.elapsed().as_secs_f64(),
        link,
    })
}

pub(crate) fn print_training(report: &khop::link::linker::TrainingReport) {
    eprintln!("training: u from {} random pairs; m by EM:", report.random_pairs);
    for session in &report.sessions {
        eprintln!(
            "  {}: {} pairs ({} patterns), {} iterations, {}, match share {:.4}",
            session.name,
            session.pairs,
            session.patterns,
            session.iterations,
            if session.converged { "converged" } else { "NOT converged" },
            session.prior
        );
    }
}

pub(crate) fn print_model(model: &Model) {
    eprintln!("model (weights in bits; null levels carry none):");
    for comparison in &model.comparisons {
        let levels: Vec<String> = comparison
            .levels
            .iter()
            .enumerate()
            .filter(|(l, _)| comparison.spec.null_level != Some(*l as u8))
            .map(|(_, p)| format!("{} {:+.1}", p.name, (p.m / p.u).log2()))
            .collect();
        eprintln!("  {}: {}", comparison.spec.name, levels.join(", "));
    }
}

/// The model saved at `path`, or one trained on the linker's tables (printing what training did).
pub(crate) fn load_or_train(
    linker: &Linker<'_>,
    path: Option<&Path>,
) -> Result<(Model, Option<khop::link::linker::TrainingReport>)> {
    match path {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            Ok((Model::from_json(&text).with_context(|| path.display().to_string())?, None))
        }
        None => {
            let bar = crate::progress::spinner("training (u from random pairs, m by EM)");
            let (model, report) = linker.train()?;
            bar.finish_and_clear();
            print_training(&report);
            print_model(&model);
            Ok((model, Some(report)))
        }
    }
}

pub fn train(args: TrainArgs) -> Result<()> {
    let prepared = prepare_both(&args.tables)?;
    let linker = Linker::new(&prepared.left, &prepared.right, prepared.settings())?;
    let started = Instant::now();
    let bar = crate::progress::spinner("training (u from random pairs, m by EM)");
    let (model, report) = linker.train()?;
    bar.finish_and_clear();
    print_training(&report);
    print_model(&model);
    std::fs::write(&args.out, model.to_json())
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!("model written to {} in {:.2} s", args.out.display(), started.elapsed().as_secs_f64());
    Ok(())
}

pub fn blocking(args: BlockingArgs) -> Result<()> {
    let prepared = prepare_both(&args.tables)?;
    let linker = Linker::new(&prepared.left, &prepared.right, prepared.settings())?;
    let blocker = khop::block::Blocker::new(linker.rules().to_vec(), &prepared.left, Some(&prepared.right));
    let report = blocker.for_each_chunk(|_| {});
    println!(
        "{:<48} {:>14} {:>10} {:>14} {:>14}",
        "rule", "new pairs", "capped", "pairs capped", "largest block"
    );
    for rule in &report.rules {
        println!(
            "{:<48} {:>14} {:>10} {:>14} {:>14}",
            rule.rule, rule.pairs, rule.blocks_capped, rule.pairs_capped, rule.largest_block
        );
    }
    println!("{} candidate pairs in all", report.total_pairs());
    if let Some(path) = &args.truth {
        truth_recall(&blocker, &prepared, path)?;
    }
    if report.blocks_capped() > 0 {
        eprintln!(
            "warning: {} blocks were too large and skipped; their pairs are lost unless another rule finds them",
            report.blocks_capped()
        );
    }
    Ok(())
}

fn read_model(path: &Path) -> Result<Model> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Model::from_json(&text).with_context(|| path.display().to_string())
}

pub fn link(args: LinkArgs) -> Result<()> {
    if args.tables.left.len() > 1 || (args.tables.config.is_some() && sources(&args.tables)?.0.len() > 1) {
        return link_sources(args);
    }
    let total = Instant::now();
    let prepared = prepare_both(&args.tables)?;
    // Options on the command line win over the configuration.
    let settings = prepared.settings_with(&args.decision)?;
    let linker = Linker::new(&prepared.left, &prepared.right, settings)?;
    let started = Instant::now();
    let (model, training) = load_or_train(&linker, args.model.as_deref())?;
    if let Some(path) = &args.save_model {
        std::fs::write(path, model.to_json()).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let train_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let bar = crate::progress::for_stage("scoring candidate pairs", "pairs");
    let (results, report) = linker.link_with_progress(&model, |scored| bar.set_position(scored))?;
    bar.finish_and_clear();
    let link_seconds = started.elapsed().as_secs_f64();
    if report.blocking.blocks_capped() > 0 {
        eprintln!(
            "warning: {} blocks were too large and skipped (see `khop blocking`)",
            report.blocking.blocks_capped()
        );
    }
    let started = Instant::now();
    let mut writer = Writer::create(&args.out, links_schema(&linker), &WriteOptions::default())?;
    for chunk in results.chunks(65_536) {
        writer.write(&links_batch(&linker, &model, &prepared.left, &prepared.right, chunk)?)?;
    }
    let written = writer.finish()?;
    let write_seconds = started.elapsed().as_secs_f64();

    let count = |d: Decision| results.iter().filter(|r| r.decision == d).count();
    let ambiguous = results.iter().filter(|r| r.ambiguous).count();
    let summary = serde_json::json!({
        "left": { "name": prepared.left_table.name, "path": prepared.left_table.path, "records": prepared.left.len() },
        "right": { "name": prepared.right_table.name, "path": prepared.right_table.path, "records": prepared.right.len() },
        "rows_rejected": prepared.rejected,
        "rejects_file": prepared.rejects_path,
        "pairs_scored": report.pairs_scored,
        "blocking": report.blocking.rules.iter().map(|r| serde_json::json!({
            "rule": r.rule, "pairs": r.pairs, "blocks_capped": r.blocks_capped, "pairs_capped": r.pairs_capped,
        })).collect::<Vec<_>>(),
        "decisions": { "match": count(Decision::Match), "review": count(Decision::Review), "no_match": count(Decision::NoMatch) },
        "ambiguous": ambiguous,
        "training": training,
        "seconds": { "read_and_prepare": prepared.seconds, "train": train_seconds, "link": link_seconds, "write": write_seconds, "total": total.elapsed().as_secs_f64() },
        "peak_memory_mib": crate::commands::peak_memory_mib(),
        "output": args.out,
        "rows_written": written,
    });
    println!(
        "{} sector records: {} match, {} review, {} no match ({} ambiguous); {} pairs scored",
        results.len(),
        count(Decision::Match),
        count(Decision::Review),
        count(Decision::NoMatch),
        ambiguous,
        report.pairs_scored
    );
    println!(
        "time: prepare {:.2} s, train {:.2} s, link {:.2} s, write {:.2} s; peak memory {} MiB; links in {}",
        prepared.seconds,
        train_seconds,
        link_seconds,
        write_seconds,
        crate::commands::peak_memory_mib().map(|m| m.to_string()).unwrap_or_else(|| "?".into()),
        args.out.display()
    );
    if let Some(path) = &args.summary {
        std::fs::write(path, serde_json::to_string_pretty(&summary)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// A name fit for a file name: letters, digits, `-`, `_` and `.` kept, anything else `_`.
fn file_stem(name: &str) -> String {
    name.chars().map(|c| if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect()
}

/// `khop link` with several sector tables: the national table is read, prepared and indexed
/// once; each source is linked with its own model (or a shared one) and written as it is done,
/// then the persons and conflicts files are written.
fn link_sources(args: LinkArgs) -> Result<()> {
    use khop::link::multi::{Coverage, MultiLinker};

    let total = Instant::now();
    if args.save_model.is_some() {
        bail!("with several sources the models are written into the --out folder; drop --save-model");
    }
    let (lefts, right_table, rejects_path, link) = sources(&args.tables)?;
    let settings = settings_with(&link, &args.decision)?;
    let mut names: Vec<&str> = lefts.iter().map(|t| t.name.as_str()).collect();
    names.sort_unstable();
    if let Some(twice) = names.windows(2).find(|w| file_stem(w[0]) == file_stem(w[1])) {
        bail!("two sources are both named `{}`: give them different names in a configuration", twice[0]);
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let ext = args.output_format.as_str();
    let mut rejects = rejects_path.as_deref().map(RejectWriter::create).transpose()?;

    let started = Instant::now();
    let (national, stats) = prepare(&right_table, &mut rejects)?;
    print_read(&right_table, &stats);
    let mut rejected = stats.rows_rejected;
    let national_seconds = started.elapsed().as_secs_f64();
    let multi = MultiLinker::new(&national, settings);

    // A model for every source: given, shared (trained on all sources, kept in memory), or none
    // here (each source trains its own).
    let mut held: Vec<Option<PreparedRecords>> = lefts.iter().map(|_| None).collect();
    let mut shared_training = None;
    let shared = match (&args.model, args.shared_model) {
        (Some(path), _) => Some(read_model(path)?),
        (None, true) => {
            for (table, slot) in lefts.iter().zip(&mut held) {
                let (records, stats) = prepare(table, &mut rejects)?;
                print_read(table, &stats);
                rejected += stats.rows_rejected;
                *slot = Some(records);
            }
            let started = Instant::now();
            let named: Vec<(&str, &PreparedRecords)> =
                lefts.iter().zip(&held).filter_map(|(t, r)| Some((t.name.as_str(), r.as_ref()?))).collect();
            let (model, report) = multi.train_shared(&named)?;
            print_training(&report);
            print_model(&model);
            let path = args.out.join("model.json");
            std::fs::write(&path, model.to_json())
                .with_context(|| format!("cannot write {}", path.display()))?;
            shared_training =
                Some(serde_json::json!({ "report": report, "seconds": started.elapsed().as_secs_f64() }));
            Some(model)
        }
        (None, false) => None,
    };

    let mut coverage = Coverage::new(national.len());
    let mut per_source = Vec::new();
    for (table, slot) in lefts.iter().zip(&mut held) {
        let started = Instant::now();
        let records = match slot.take() {
            Some(records) => records,
            None => {
                let (records, stats) = prepare(table, &mut rejects)?;
                print_read(table, &stats);
                rejected += stats.rows_rejected;
                records
            }
        };
        let prepare_seconds = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let run = multi.link_source(&records, shared.as_ref())?;
        let link_seconds = started.elapsed().as_secs_f64();
        if let Some(training) = &run.training {
            eprintln!("{}:", table.name);
            print_training(training);
            let path = args.out.join(format!("model_{}.json", file_stem(&table.name)));
            std::fs::write(&path, run.model.to_json())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        if run.report.blocking.blocks_capped() > 0 {
            eprintln!(
                "warning: {}: {} blocks were too large and skipped (see `khop blocking`)",
                table.name,
                run.report.blocking.blocks_capped()
            );
        }
        let path = args.out.join(format!("links_{}.{ext}", file_stem(&table.name)));
        let mut writer = Writer::create(&path, links_schema(&run.linker), &WriteOptions::default())?;
        for chunk in run.results.chunks(65_536) {
            writer.write(&links_batch(&run.linker, &run.model, &records, &national, chunk)?)?;
        }
        writer.finish()?;
        let counted = coverage.add(&table.name, &records, &run.results)?;
        let count = |d: Decision| run.results.iter().filter(|r| r.decision == d).count();
        println!(
            "{}: {} records: {} match, {} review, {} no match ({} ambiguous); {} pairs scored; {:.2} s",
            table.name,
            run.results.len(),
            count(Decision::Match),
            count(Decision::Review),
            count(Decision::NoMatch),
            run.results.iter().filter(|r| r.ambiguous).count(),
            run.report.pairs_scored,
            prepare_seconds + link_seconds,
        );
        per_source.push(serde_json::json!({
            "name": table.name, "path": table.path, "records": counted.rows, "links_file": path,
            "decisions": { "match": count(Decision::Match), "review": count(Decision::Review), "no_match": count(Decision::NoMatch) },
            "ambiguous": run.results.iter().filter(|r| r.ambiguous).count(),
            "pairs_scored": run.report.pairs_scored,
            "blocking": run.report.blocking.rules.iter().map(|r| serde_json::json!({
                "rule": r.rule, "pairs": r.pairs, "blocks_capped": r.blocks_capped, "pairs_capped": r.pairs_capped,
            })).collect::<Vec<_>>(),
            "training": run.training,
            "seconds": { "read_and_prepare": prepare_seconds, "train_and_link": link_seconds },
        }));
    }
    if let Some(writer) = rejects {
        writer.finish()?;
    }

    let started = Instant::now();
    let combined = coverage.finish();
    let persons_path = args.out.join(format!("persons.{ext}"));
    let mut writer = Writer::create(&persons_path, combined.persons_schema(), &WriteOptions::default())?;
    for range in khop::link::multi::Combined::person_ranges(national.len(), 65_536) {
        writer.write(&combined.persons_batch(&national, range)?)?;
    }
    writer.finish()?;
    let conflicts_path = args.out.join(format!("conflicts.{ext}"));
    let batch = combined.conflicts_batch(&national)?;
    let mut writer = Writer::create(&conflicts_path, batch.schema(), &WriteOptions::default())?;
    writer.write(&batch)?;
    writer.finish()?;
    let summary = combined.summary();
    let found: u64 = summary.persons_by_sources.iter().skip(1).sum();
    println!(
        "{} national persons: {} found by at least one source (by number of sources: {}); conflicts: {} duplicate claims, {} split ids ({} persons)",
        national.len(),
        found,
        summary.persons_by_sources.iter().map(u64::to_string).collect::<Vec<_>>().join(" / "),
        summary.duplicate_claims,
        summary.split_ids,
        summary.persons_in_conflict
    );
    println!(
        "time: national table {national_seconds:.2} s, {} rules indexed once; total {:.2} s; peak memory {} MiB; outputs in {}",
        multi.rules_indexed(),
        total.elapsed().as_secs_f64(),
        crate::commands::peak_memory_mib().map(|m| m.to_string()).unwrap_or_else(|| "?".into()),
        args.out.display()
    );
    if let Some(path) = &args.summary {
        let json = serde_json::json!({
            "right": { "name": right_table.name, "path": right_table.path, "records": national.len() },
            "sources": per_source,
            "shared_model": shared.is_some(),
            "shared_training": shared_training,
            "rows_rejected": rejected,
            "rejects_file": rejects_path,
            "persons_file": persons_path,
            "conflicts_file": conflicts_path,
            "combined": summary,
            "seconds": { "national": national_seconds, "combine_and_write": started.elapsed().as_secs_f64(), "total": total.elapsed().as_secs_f64() },
            "peak_memory_mib": crate::commands::peak_memory_mib(),
        });
        std::fs::write(path, serde_json::to_string_pretty(&json)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

#[derive(Args)]
pub struct DedupeArgs {
    /// The file to deduplicate (roles detected), or an input name of the configuration.
    pub table: Option<String>,
    /// A configuration naming the input, its columns and roles.
    #[arg(short, long)]
    pub config: Option<PathBuf>,
    /// Where to write one row per record with its cluster (.parquet, .csv or .ndjson).
    #[arg(short, long)]
    pub out: PathBuf,
    /// Where to write the pairs that formed the clusters.
    #[arg(long)]
    pub pairs: Option<PathBuf>,
    /// Probability at or above which a pair is a link.
    #[arg(long, default_value_t = 0.9)]
    pub threshold: f64,
    /// Share of cross pairs that must be links for two groups to merge (0 = connected components).
    #[arg(long, default_value_t = 0.5)]
    pub min_link_density: f64,
    /// Write rejected rows, with their reasons, to this CSV file.
    #[arg(long)]
    pub rejects: Option<PathBuf>,
    #[command(flatten)]
    pub read: ReadArgs,
}

pub fn dedupe(args: DedupeArgs) -> Result<()> {
    use khop::cluster::output::{cluster_pairs_batch, clusters_batch};
    use khop::cluster::{ClusterOptions, deduplicate};

    let total = Instant::now();
    let mut link_config = LinkConfig::default();
    let table = match (&args.config, &args.table) {
        (Some(config), name) => {
            let config = Config::from_file(config)?;
            link_config = config.link.clone();
            let input = match name {
                Some(name) => config
                    .inputs
                    .iter()
                    .find(|i| &i.name == name)
                    .with_context(|| format!("the configuration has no input named `{name}`"))?,
                None => config.inputs.first().context("the configuration has no input")?,
            };
            Table {
                name: input.name.clone(),
                path: input.path.clone(),
                dataset: input.dataset.clone(),
                options: input.read.clone(),
            }
        }
        (None, Some(file)) => detected(Path::new(file), &args.read)?,
        (None, None) => bail!("name the table to deduplicate, or a configuration with --config"),
    };
    let mut rejects = args.rejects.as_deref().map(RejectWriter::create).transpose()?;
    let (records, stats) = prepare(&table, &mut rejects)?;
    if let Some(writer) = rejects {
        writer.finish()?;
    }
    eprintln!(
        "{} ({}): {} rows read, {} prepared, {} rejected",
        table.name,
        table.path.display(),
        stats.rows_read,
        stats.rows_passed,
        stats.rows_rejected
    );
    let prepare_seconds = total.elapsed().as_secs_f64();

    let started = Instant::now();
    let options = ClusterOptions { threshold: args.threshold, min_link_density: args.min_link_density };
    let settings = link_config.apply(LinkSettings::default());
    let result = deduplicate(&records, settings.clone(), &options)?;
    print_training(&result.training);
    print_model(&result.model);
    let seconds = started.elapsed().as_secs_f64();
    let (assignments, report, scored) = (&result.assignments, &result.report, result.pairs_scored);
    let n = assignments.len();

    let batch = clusters_batch(&records, assignments)?;
    let mut writer = Writer::create(&args.out, batch.schema(), &WriteOptions::default())?;
    writer.write(&batch)?;
    writer.finish()?;
    if let Some(path) = &args.pairs {
        let linker = Linker::dedupe(&records, settings)?;
        let batch = cluster_pairs_batch(&linker, &result.model, &records, &result.edges, assignments)?;
        let mut writer = Writer::create(path, batch.schema(), &WriteOptions::default())?;
        writer.write(&batch)?;
        writer.finish()?;
    }
    println!(
        "{} records in {} clusters ({} with duplicates); {} pairs scored, {} links; merges refused: {} for conflicts, {} too sparse",
        n,
        {
            let mut ids: Vec<u32> = assignments.iter().map(|a| a.cluster).collect();
            ids.sort_unstable();
            ids.dedup();
            ids.len()
        },
        report.clusters,
        scored,
        report.links,
        report.refused_conflict,
        report.refused_sparse
    );
    println!(
        "time: prepare {prepare_seconds:.2} s, train, score and cluster {seconds:.2} s; peak memory {} MiB; clusters in {}",
        crate::commands::peak_memory_mib().map(|m| m.to_string()).unwrap_or_else(|| "?".into()),
        args.out.display()
    );
    Ok(())
}

/// Which rule finds each true link first, and how many no rule finds.
fn truth_recall(blocker: &khop::block::Blocker<'_>, prepared: &Prepared, path: &Path) -> Result<()> {
    use std::collections::HashMap;
    let index = |table: &PreparedRecords| -> HashMap<String, u32> {
        (0..table.len() as u32).map(|i| (table.record_id(i).to_owned(), i)).collect()
    };
    let (left, right) = (index(&prepared.left), index(&prepared.right));
    let truth = khop::eval::read_pairs(path)?;
    let mut first = vec![0u64; blocker.rules().len()];
    let (mut missed, mut unknown) = (0u64, 0u64);
    for (a, b) in &truth {
        let (Some(&a), Some(&b)) = (left.get(a), right.get(b)) else {
            unknown += 1;
            continue;
        };
        match blocker.first_rule(a, b) {
            Some(rule) => first[rule] += 1,
            None => missed += 1,
        }
    }
    let known = (truth.len() as u64 - unknown).max(1) as f64;
    println!("\n{:<48} {:>14} {:>12}", "true links found first by", "links", "cumulative");
    let mut cumulative = 0;
    for (rule, found) in blocker.rules().iter().zip(&first) {
        cumulative += found;
        println!("{:<48} {:>14} {:>11.4}%", rule.name(), found, 100.0 * cumulative as f64 / known);
    }
    println!("{:<48} {:>14}", "no rule", missed);
    if unknown > 0 {
        eprintln!("warning: {unknown} true links name a record that is in neither table");
    }
    Ok(())
}
