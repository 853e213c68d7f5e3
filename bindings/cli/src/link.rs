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
    /// The sector table: an input name of the configuration, or a file (roles detected).
    /// Defaults to the configuration's first input.
    #[arg(long)]
    pub left: Option<String>,
    /// The national table: an input name of the configuration, or a file (roles detected).
    /// Defaults to the configuration's second input.
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
    /// Where to write one row per sector record (.parquet, .csv or .ndjson).
    #[arg(short, long)]
    pub out: PathBuf,
    /// Use this trained model (from `khop train`) instead of training one.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Save the model trained for this run.
    #[arg(long)]
    pub save_model: Option<PathBuf>,
    /// Write the run summary as JSON here.
    #[arg(long)]
    pub summary: Option<PathBuf>,
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

fn tables(args: &TablesArgs) -> Result<(Table, Table, Option<PathBuf>, LinkConfig)> {
    match &args.config {
        Some(config) => {
            let config = Config::from_file(config)?;
            let pick = |wanted: Option<&String>, default: usize, side: &str| -> Result<Table> {
                let input = match wanted {
                    Some(name) => config
                        .inputs
                        .iter()
                        .find(|i| &i.name == name)
                        .with_context(|| format!("the configuration has no input named `{name}`"))?,
                    None => config.inputs.get(default).with_context(|| {
                        format!("the configuration needs two inputs, or name the {side} table")
                    })?,
                };
                Ok(Table {
                    name: input.name.clone(),
                    path: input.path.clone(),
                    dataset: input.dataset.clone(),
                    options: input.read.clone(),
                })
            };
            let left = pick(args.left.as_ref(), 0, "left")?;
            let right = pick(args.right.as_ref(), 1, "right")?;
            Ok((left, right, args.rejects.clone().or(config.rejects.clone()), config.link.clone()))
        }
        None => {
            let (Some(left), Some(right)) = (&args.left, &args.right) else {
                bail!("name the two tables: --config C, or --left FILE --right FILE");
            };
            Ok((
                detected(Path::new(left), &args.read)?,
                detected(Path::new(right), &args.read)?,
                args.rejects.clone(),
                LinkConfig::default(),
            ))
        }
    }
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
        LinkSettings::default().with_config(&self.link)
    }

    /// [`Prepared::settings`] with the options of the command line over them.
    pub(crate) fn settings_with(
        &self,
        match_threshold: Option<f64>,
        review_threshold: Option<f64>,
        one_to_one: bool,
    ) -> Result<LinkSettings> {
        let mut settings = self.settings();
        let thresholds = &mut settings.thresholds;
        thresholds.match_probability = match_threshold.unwrap_or(thresholds.match_probability);
        thresholds.review_probability = review_threshold.unwrap_or(thresholds.review_probability);
        settings.one_to_one |= one_to_one;
        if thresholds.review_probability > thresholds.match_probability {
            bail!(
                "the review threshold ({}) is above the match threshold ({})",
                thresholds.review_probability,
                thresholds.match_probability
            );
        }
        Ok(settings)
    }
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
    for (table, stats) in [(&left_table, left_stats), (&right_table, right_stats)] {
        eprintln!(
            "{} ({}): {} rows read, {} prepared, {} rejected",
            table.name,
            table.path.display(),
            stats.rows_read,
            stats.rows_passed,
            stats.rows_rejected
        );
    }
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

pub fn link(args: LinkArgs) -> Result<()> {
    let total = Instant::now();
    let prepared = prepare_both(&args.tables)?;
    // Options on the command line win over the configuration.
    let settings = prepared.settings_with(args.match_threshold, args.review_threshold, args.one_to_one)?;
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
    let settings = LinkSettings::default().with_config(&link_config);
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
