//! `khop link`, `khop train` and `khop blocking`: the matching pipeline from the command line.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use khop::cluster::ClusterOptions;
use khop::link::linker::TrainingReport;
use khop::score::Model;
use khop::session::{
    DedupeOutputs, LinkOutputs, LinkSummary, ModelChoice, MultiOutputs, OutputPlan, Session, Table,
    TableSource, TableSummary,
};

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
    /// A national index (from `khop index build`) instead of --right: the national table as it
    /// was prepared then, loaded instead of read and normalized again.
    #[arg(long, conflicts_with = "right")]
    pub index: Option<PathBuf>,
    /// Write rejected rows, with their reasons, to this CSV file.
    #[arg(long)]
    pub rejects: Option<PathBuf>,
    #[command(flatten)]
    pub read: ReadArgs,
    /// Text encoding of the national (--right) file, when it differs from the sector files'
    /// (--encoding applies to the sector files then).
    #[arg(long)]
    pub right_encoding: Option<String>,
    /// CSV delimiter of the national (--right) file, when it differs from the sector files'.
    #[arg(long)]
    pub right_delimiter: Option<String>,
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
    /// Write the report here: one self-contained HTML page to sign the run off (or its data as
    /// JSON, for `khop report`, when the name ends in `.json`). One sector table only.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Pairs the report shows near each threshold, both records side by side (0: the report
    /// holds no record, only counts and the model).
    #[arg(long, default_value_t = 8, requires = "report")]
    pub report_samples: usize,
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
    /// Make a review a match when its choice is clear: not ambiguous, its runner-up at least
    /// this many bits below its best candidate (or none), and its citizen the likely candidate
    /// of no other sector record; `off` keeps every review [default: the configuration's
    /// `[link] clear_margin`, else 6].
    #[arg(long, value_parser = clear_margin)]
    pub clear_margin: Option<ClearMargin>,
}

/// `--clear-margin`: a number of bits, or off.
#[derive(Clone, Copy, Debug)]
pub struct ClearMargin(Option<f64>);

fn clear_margin(text: &str) -> std::result::Result<ClearMargin, String> {
    match text.parse::<f64>() {
        Ok(b) if b.is_finite() && b >= 0.0 => Ok(ClearMargin(Some(b))),
        _ if text.eq_ignore_ascii_case("off") => Ok(ClearMargin(None)),
        _ => Err(format!("`{text}` is neither a number of bits (0 or more) nor `off`")),
    }
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
    /// A clerk's labels (`left_id,right_id,label`, from `khop review export`; repeat to merge
    /// rounds): each comparison's m is combined with the levels of the labelled matches.
    #[arg(long)]
    pub labels: Vec<PathBuf>,
    /// Also combine each comparison's m with the levels of the labelled matches, the m learned
    /// without labels counting as this many labelled pairs (off by default: pairs chosen near the
    /// thresholds are not a fair sample of matches; see benches/RESULTS.md).
    #[arg(long, requires = "labels")]
    pub label_strength: Option<f64>,
}

pub(crate) fn probability(text: &str) -> std::result::Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("`{text}` is not a probability between 0 and 1")),
    }
}

/// The session and the tables named by `args`: the sector tables (at least one), the national
/// table and the rejects file. Options on the command line win over the configuration.
pub(crate) struct Tables {
    pub(crate) session: Session,
    pub(crate) lefts: Vec<TableSource>,
    pub(crate) right: National,
    pub(crate) rejects: Option<PathBuf>,
}

/// Where the national table comes from.
pub(crate) enum National {
    /// A file (or a configuration's input), read and prepared.
    File(Box<TableSource>),
    /// A national index folder, loaded.
    Index(PathBuf),
}

impl National {
    /// The file, for the commands that read the national table themselves.
    pub(crate) fn file(&self) -> Result<&TableSource> {
        match self {
            National::File(source) => Ok(source),
            National::Index(_) => bail!(
                "--index works with `khop link` of one sector table; give the national file with --right here"
            ),
        }
    }
}

impl Tables {
    pub(crate) fn from_args(args: &TablesArgs, decision: Option<&DecisionArgs>) -> Result<Tables> {
        let (session, lefts, right, rejects) = match &args.config {
            Some(_) if args.right_encoding.is_some() || args.right_delimiter.is_some() => {
                bail!("with a configuration, give each input's encoding and delimiter in it")
            }
            Some(config) => {
                let session = Session::from_config_file(config)?;
                let (lefts, right) = session.link_inputs(&args.left, args.right.as_deref())?;
                let rejects =
                    args.rejects.clone().or_else(|| session.config().and_then(|c| c.rejects.clone()));
                let right = match &args.index {
                    Some(index) => National::Index(index.clone()),
                    None => National::File(Box::new(right)),
                };
                (session, lefts, right, rejects)
            }
            None => {
                if args.left.is_empty() || (args.right.is_none() && args.index.is_none()) {
                    bail!("name the tables: --config C, or --left FILE --right FILE (or --index DIR)");
                }
                let options = args.read.options()?;
                let lefts = args
                    .left
                    .iter()
                    .map(|l| TableSource::detect(l, &options))
                    .collect::<khop::Result<Vec<_>>>()?;
                let right = match (&args.index, &args.right) {
                    (Some(index), _) => National::Index(index.clone()),
                    (None, Some(right)) => National::File(Box::new(TableSource::detect(right, &options)?)),
                    (None, None) => unreachable!("checked above"),
                };
                (Session::new(), lefts, right, args.rejects.clone())
            }
        };
        let session = match decision {
            Some(d) => session.configure(|s| {
                s.thresholds.match_probability = d.match_threshold.unwrap_or(s.thresholds.match_probability);
                s.thresholds.review_probability =
                    d.review_threshold.unwrap_or(s.thresholds.review_probability);
                s.one_to_one |= d.one_to_one;
                if let Some(ClearMargin(margin)) = d.clear_margin {
                    s.thresholds.clear_margin = margin;
                }
            })?,
            None => session,
        };
        let session = session.with_observer(crate::progress::Bars::default());
        Ok(Tables { session, lefts, right, rejects })
    }

    /// The one sector table; an error when several are named.
    pub(crate) fn single(&self) -> Result<&TableSource> {
        match self.lefts.as_slice() {
            [one] => Ok(one),
            many => bail!(
                "{} sector tables named ({}); this command takes one: name it with --left",
                many.len(),
                many.iter().map(TableSource::name).collect::<Vec<_>>().join(", ")
            ),
        }
    }

    /// A plan holding the inputs (and `model`, read by the run).
    pub(crate) fn plan(&self, model: Option<&Path>) -> OutputPlan {
        let mut plan = OutputPlan::new();
        for table in &self.lefts {
            plan.input(format!("the input `{}`", table.name()), table.path());
        }
        match &self.right {
            National::File(table) => plan.input(format!("the input `{}`", table.name()), table.path()),
            National::Index(dir) => plan.input("the national index", dir),
        };
        if let Some(model) = model {
            plan.input("the model given with --model", model);
        }
        plan
    }

    /// Reads and prepares the sector table and the national table, in that order.
    pub(crate) fn prepare_both(&self) -> Result<(Table, Table)> {
        let left = self.session.prepare(self.single()?)?;
        let right = match &self.right {
            National::File(source) => self.session.prepare(source)?,
            National::Index(dir) => self.session.open_index(dir)?,
        };
        print_read(&left.summary());
        print_read(&right.summary());
        Ok((left, right))
    }
}

pub(crate) fn print_read(table: &TableSummary) {
    eprintln!(
        "{} ({}): {} rows read, {} prepared, {} rejected; ids: {}",
        table.name,
        table.path.display(),
        table.rows_read,
        table.records,
        table.rows_rejected,
        table.id
    );
}

pub(crate) fn print_training(report: &TrainingReport) {
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

pub(crate) fn print_warnings(warnings: &[String]) {
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
}

/// The model saved at `path`.
pub(crate) fn read_model(path: &Path) -> Result<Model> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Model::from_json(&text).with_context(|| path.display().to_string())
}

/// Links two prepared tables, writes `outputs` and prints what training did, the warnings and
/// the decisions (`khop link` and `khop demo`).
pub(crate) fn link_and_print(
    session: &Session,
    sector: &Table,
    national: &Table,
    model: Option<&Model>,
    outputs: &LinkOutputs,
) -> Result<LinkSummary> {
    let run = session.link(sector, national, model)?;
    if let Some(report) = run.training() {
        print_training(report);
        print_model(run.model());
    }
    let summary = run.write_outputs(outputs)?;
    print_warnings(&summary.warnings);
    let d = &summary.decisions;
    println!(
        "{} sector records: {} match, {} review, {} no match ({} ambiguous); {} pairs scored",
        summary.sector.records, d.r#match, d.review, d.no_match, summary.ambiguous, summary.pairs_scored
    );
    Ok(summary)
}

fn mib(value: Option<u64>) -> String {
    value.map(|m| m.to_string()).unwrap_or_else(|| "?".into())
}

pub fn train(args: TrainArgs) -> Result<()> {
    let tables = Tables::from_args(&args.tables, None)?;
    let mut plan = tables.plan(None);
    plan.file("the model output", Some(&args.out));
    plan.check()?;
    let (left, right) = tables.prepare_both()?;
    let started = std::time::Instant::now();
    let (model, report) = if args.labels.is_empty() {
        tables.session.train(&left, &right)?
    } else {
        let labels = khop::review::Labels::read_all(&args.labels)?;
        let (model, report, used) =
            tables.session.train_with_labels(&left, &right, &labels, args.label_strength)?;
        eprintln!(
            "labels: {} match, {} non_match, {} unsure; the prior moved by {:+.2} bits to fit the {} answered pairs{}{}",
            used.labels.matches,
            used.labels.non_matches,
            used.labels.unsure,
            used.prior_shift_bits,
            used.pairs_used,
            match used.strength {
                Some(s) => format!(
                    "; m combined with {} labelled matches (counting as {s} pairs)",
                    used.matches_used
                ),
                None => String::new(),
            },
            if used.unknown_ids > 0 {
                format!("; {} labelled pairs name a record in neither table", used.unknown_ids)
            } else {
                String::new()
            }
        );
        (model, report)
    };
    print_training(&report);
    print_model(&model);
    khop::write::write_atomic(&args.out, model.to_json())?;
    eprintln!("model written to {} in {:.2} s", args.out.display(), started.elapsed().as_secs_f64());
    Ok(())
}

pub fn blocking(args: BlockingArgs) -> Result<()> {
    let tables = Tables::from_args(&args.tables, None)?;
    let (left, right) = tables.prepare_both()?;
    let truth = args.truth.as_deref().map(khop::eval::read_pairs).transpose()?;
    let run = tables.session.blocking(&left, &right, truth.as_deref())?;
    println!(
        "{:<48} {:>14} {:>10} {:>14} {:>14}",
        "rule", "new pairs", "capped", "pairs capped", "largest block"
    );
    for rule in &run.report.rules {
        println!(
            "{:<48} {:>14} {:>10} {:>14} {:>14}",
            rule.rule, rule.pairs, rule.blocks_capped, rule.pairs_capped, rule.largest_block
        );
    }
    println!("{} candidate pairs in all", run.report.total_pairs());
    if let Some(truth) = &run.truth {
        let known = (truth.links - truth.unknown).max(1) as f64;
        println!(
            "\n{:<48} {:>14} {:>12} {:>14}",
            "true links found first by", "links", "cumulative", "by it alone"
        );
        let mut cumulative = 0;
        for ((rule, found), only) in run.rules.iter().zip(&truth.found_first).zip(&truth.found_only) {
            cumulative += found;
            println!("{:<48} {:>14} {:>11.4}% {:>14}", rule, found, 100.0 * cumulative as f64 / known, only);
        }
        println!("{:<48} {:>14}", "no rule", truth.missed);
        if truth.unknown > 0 {
            eprintln!("warning: {} true links name a record that is in neither table", truth.unknown);
        }
    }
    if run.report.blocks_capped() > 0 {
        eprintln!(
            "warning: {} blocks were too large and skipped; their pairs are lost unless another rule finds them",
            run.report.blocks_capped()
        );
    }
    Ok(())
}

pub fn link(args: LinkArgs) -> Result<()> {
    let tables = Tables::from_args(&args.tables, Some(&args.decision))?;
    if tables.lefts.len() > 1 {
        return link_sources(args, tables);
    }
    let outputs = LinkOutputs {
        links: args.out.clone(),
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
    let summary = link_and_print(&tables.session, &left, &right, model.as_ref(), &outputs)?;
    let s = &summary.seconds;
    println!(
        "time: prepare {:.2} s, train {:.2} s, link {:.2} s ({:.2} M pairs per core-second, {} threads), write {:.2} s{}; peak memory {} MiB; links in {}",
        s.read_and_prepare,
        s.train,
        s.link,
        summary.pairs_per_core_second / 1e6,
        summary.threads,
        s.write.unwrap_or_default(),
        s.report.map(|r| format!(", report {r:.2} s")).unwrap_or_default(),
        mib(summary.peak_memory_mib),
        args.out.display()
    );
    Ok(())
}

/// `khop link` with several sector tables: everything is the library's
/// [`Session::link_sources`]; this prints what it did.
fn link_sources(args: LinkArgs, tables: Tables) -> Result<()> {
    if args.save_model.is_some() {
        bail!("with several sources the models are written into the --out folder; drop --save-model");
    }
    if args.report.is_some() {
        bail!("--report describes the link of one sector table; run `khop link` per source for reports");
    }
    let outputs = MultiOutputs {
        folder: args.out.clone(),
        format: args.output_format.parse()?,
        rejects: tables.rejects.clone(),
        summary: args.summary.clone(),
    };
    let choice = match (&args.model, args.shared_model) {
        (Some(path), _) => ModelChoice::Given(read_model(path)?),
        (None, true) => ModelChoice::Shared,
        (None, false) => ModelChoice::PerSource,
    };
    let shared = matches!(choice, ModelChoice::Shared);
    let summary =
        tables.session.link_sources(tables.right.file()?, &tables.lefts, choice, &outputs, |run| {
            print_read(&run.sector().summary());
            if let Some(report) = run.training() {
                eprintln!("{}:", run.sector().name());
                print_training(report);
            }
        })?;
    if shared && let Some(training) = &summary.shared_training {
        print_training(&training.report);
    }
    print_read(&summary.national);
    for source in &summary.sources {
        print_warnings(&source.warnings);
        let d = &source.decisions;
        println!(
            "{}: {} records: {} match, {} review, {} no match ({} ambiguous); {} pairs scored; {:.2} s",
            source.name,
            source.records,
            d.r#match,
            d.review,
            d.no_match,
            source.ambiguous,
            source.pairs_scored,
            source.seconds.read_and_prepare + source.seconds.train_and_link,
        );
    }
    let combined = &summary.combined;
    let found: u64 = combined.persons_by_sources.iter().skip(1).sum();
    println!(
        "{} national persons: {} found by at least one source (by number of sources: {}); conflicts: {} duplicate claims, {} split ids ({} persons)",
        summary.national.records,
        found,
        combined.persons_by_sources.iter().map(u64::to_string).collect::<Vec<_>>().join(" / "),
        combined.duplicate_claims,
        combined.split_ids,
        combined.persons_in_conflict
    );
    println!(
        "time: national table {:.2} s, {} rules indexed once; total {:.2} s; peak memory {} MiB; outputs in {}",
        summary.seconds.national,
        summary.rules_indexed,
        summary.seconds.total,
        mib(summary.peak_memory_mib),
        args.out.display()
    );
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
    #[arg(long, default_value_t = 0.9, value_parser = probability)]
    pub threshold: f64,
    /// Share of cross pairs that must be links for two groups to merge (0 = connected components).
    #[arg(long, default_value_t = 0.5, value_parser = probability)]
    pub min_link_density: f64,
    /// Write rejected rows, with their reasons, to this CSV file.
    #[arg(long)]
    pub rejects: Option<PathBuf>,
    /// Write the run summary as JSON here.
    #[arg(long)]
    pub summary: Option<PathBuf>,
    /// Write the report here: one self-contained HTML page to sign the run off (or its data as
    /// JSON, for `khop report`, when the name ends in `.json`).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Links the report shows near the threshold, both records side by side (0: the report holds
    /// no record, only counts and the model).
    #[arg(long, default_value_t = 8, requires = "report")]
    pub report_samples: usize,
    #[command(flatten)]
    pub read: ReadArgs,
}

pub fn dedupe(args: DedupeArgs) -> Result<()> {
    let (session, source) = match (&args.config, &args.table) {
        (Some(config), name) => {
            let session = Session::from_config_file(config)?;
            let source = match name {
                Some(name) => session.input(name)?,
                None => session
                    .config()
                    .and_then(|c| c.inputs.first())
                    .map(TableSource::from_input)
                    .context("the configuration has no input")?,
            };
            (session, source)
        }
        (None, Some(file)) => (Session::new(), TableSource::detect(file, &args.read.options()?)?),
        (None, None) => bail!("name the table to deduplicate, or a configuration with --config"),
    };
    let session = session
        .with_cluster_options(ClusterOptions {
            threshold: args.threshold,
            min_link_density: args.min_link_density,
        })?
        .with_observer(crate::progress::Bars::default());
    let outputs = DedupeOutputs {
        clusters: args.out.clone(),
        pairs: args.pairs.clone(),
        rejects: args.rejects.clone(),
        summary: args.summary.clone(),
        report: args.report.clone(),
        report_options: khop::report::ReportOptions { samples: args.report_samples },
    };
    let mut plan = OutputPlan::new();
    plan.input(format!("the input `{}`", source.name()), source.path());
    outputs.plan(&mut plan);
    plan.check()?;
    let table = session.prepare(&source)?;
    print_read(&table.summary());
    let run = session.dedupe(&table)?;
    if let Some(training) = run.training() {
        print_training(training);
    }
    print_model(run.model());
    let summary = run.write_outputs(&outputs)?;
    print_warnings(&summary.warnings);
    let report = &summary.report;
    println!(
        "{} records in {} clusters ({} with duplicates); {} pairs scored, {} links; merges refused: {} for conflicts, {} too sparse",
        summary.table.records,
        summary.clusters,
        report.clusters,
        summary.pairs_scored,
        report.links,
        report.refused_conflict,
        report.refused_sparse
    );
    println!(
        "time: prepare {:.2} s, train, score and cluster {:.2} s; peak memory {} MiB; clusters in {}",
        summary.seconds.read_and_prepare,
        summary.seconds.dedupe,
        mib(summary.peak_memory_mib),
        args.out.display()
    );
    Ok(())
}
