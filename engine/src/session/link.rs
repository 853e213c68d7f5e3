//! Linking: one sector table to the national table ([`LinkRun`]), or several in one run
//! ([`MultiLink`]), with their outputs and summaries.

use std::path::{Path, PathBuf};
use std::time::Instant;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use serde::{Deserialize, Serialize};

use super::output::{
    OUTPUT_BATCH_ROWS, OutputPlan, peak_memory_mib, write_batches, write_json, write_rejects,
};
use super::table::{Table, TableSummary};
use crate::block::BlockingReport;
use crate::error::{Error, Result};
use crate::link::linker::{LinkReport, LinkSettings, Linker, TrainingReport};
use crate::link::multi::{Combined, CombinedSummary, Coverage, MultiLinker};
use crate::link::output::{links_batch, links_schema};
use crate::link::{Decision, LinkResult};
use crate::report::{Report, ReportOptions, RunKind};
use crate::review::{Labels, Review};
use crate::score::Model;

/// One sector table linked to the national table: the model, a decision for every sector record,
/// and what blocking and training did. Owns its tables (shared), `Send + Sync`.
pub struct LinkRun {
    pub(crate) sector: Table,
    pub(crate) national: Table,
    pub(crate) settings: LinkSettings,
    pub(crate) model: Model,
    pub(crate) training: Option<TrainingReport>,
    pub(crate) results: Vec<LinkResult>,
    pub(crate) report: LinkReport,
    pub(crate) train_seconds: f64,
    pub(crate) link_seconds: f64,
}

impl std::fmt::Debug for LinkRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkRun")
            .field("sector", &self.sector)
            .field("national", &self.national)
            .field("results", &self.results.len())
            .field("pairs_scored", &self.report.pairs_scored)
            .finish_non_exhaustive()
    }
}

impl LinkRun {
    /// The sector (left) table.
    pub fn sector(&self) -> &Table {
        &self.sector
    }

    /// The national (right) table.
    pub fn national(&self) -> &Table {
        &self.national
    }

    /// The model the pairs were scored with.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// What training did, when the model was trained in this run.
    pub fn training(&self) -> Option<&TrainingReport> {
        self.training.as_ref()
    }

    /// One result per sector record, in input order.
    pub fn results(&self) -> &[LinkResult] {
        &self.results
    }

    /// Candidate pairs per blocking rule.
    pub fn blocking(&self) -> &BlockingReport {
        &self.report.blocking
    }

    /// The settings the run used.
    pub fn settings(&self) -> &LinkSettings {
        &self.settings
    }

    pub(crate) fn linker(&self) -> Result<Linker<'_>> {
        Linker::new(self.sector.records(), self.national.records(), self.settings.clone())
    }

    /// The schema of [`LinkRun::batches`].
    pub fn schema(&self) -> Result<SchemaRef> {
        Ok(links_schema(&self.linker()?))
    }

    /// The links, one row per sector record, in batches of 65,536 rows: both ids and rows, the
    /// weight and probability, the runner-up, the decision, the explanation and each
    /// comparison's level (see [`crate::link::output::links_batch`]).
    pub fn batches(&self) -> Result<impl Iterator<Item = Result<RecordBatch>> + '_> {
        let linker = self.linker()?;
        Ok(self.results.chunks(OUTPUT_BATCH_ROWS).map(move |chunk| self.batch(&linker, chunk)))
    }

    fn batch(&self, linker: &Linker<'_>, results: &[LinkResult]) -> Result<RecordBatch> {
        links_batch(linker, &self.model, self.sector.records(), self.national.records(), results)
    }

    /// Writes the links to `path` (Parquet, CSV or NDJSON by extension); returns the rows written.
    /// The batches are built a few at a time in parallel (explaining every row is most of the
    /// work) and written in order: the file is the same for any thread count.
    pub fn write(&self, path: &Path) -> Result<u64> {
        use rayon::prelude::*;
        let linker = self.linker()?;
        let chunks: Vec<&[LinkResult]> = self.results.chunks(OUTPUT_BATCH_ROWS).collect();
        let window = rayon::current_num_threads().max(1);
        let batches = chunks
            .chunks(window)
            .flat_map(|window| window.par_iter().map(|chunk| self.batch(&linker, chunk)).collect::<Vec<_>>());
        write_batches(path, links_schema(&linker), batches)
    }

    /// The counts of the run.
    pub fn summary(&self) -> LinkSummary {
        let count = |d: Decision| self.results.iter().filter(|r| r.decision == d).count();
        let mut warnings = self.sector.warnings();
        warnings.extend(self.national.warnings());
        if self.training.is_some() {
            warnings.extend(small_tables(self.sector.len(), Some(self.national.len())));
        }
        if self.report.blocking.blocks_capped() > 0 {
            warnings.push(format!(
                "{}: {} blocks were too large and skipped (see `khop blocking`)",
                self.sector.name(),
                self.report.blocking.blocks_capped()
            ));
        }
        LinkSummary {
            sector: self.sector.summary(),
            national: self.national.summary(),
            rows_rejected: self.sector.stats().rows_rejected + self.national.stats().rows_rejected,
            rejects_file: None,
            pairs_scored: self.report.pairs_scored,
            pairs_per_core_second: self.report.pairs_scored as f64
                / (self.link_seconds * rayon::current_num_threads() as f64).max(1e-9),
            threads: rayon::current_num_threads(),
            blocking: rules_of(&self.report.blocking),
            decisions: Decisions {
                r#match: count(Decision::Match),
                review: count(Decision::Review),
                no_match: count(Decision::NoMatch),
            },
            ambiguous: self.results.iter().filter(|r| r.ambiguous).count(),
            training: self.training.clone(),
            seconds: LinkSeconds {
                read_and_prepare: self.sector.seconds() + self.national.seconds(),
                train: self.train_seconds,
                link: self.link_seconds,
                write: None,
                report: None,
                total: self.sector.seconds()
                    + self.national.seconds()
                    + self.train_seconds
                    + self.link_seconds,
            },
            peak_memory_mib: peak_memory_mib(),
            output: None,
            rows_written: None,
            warnings,
        }
    }

    /// Writes the outputs named in `outputs` (checked first: see [`LinkOutputs::plan`]) and
    /// returns the run's summary with what was written.
    pub fn write_outputs(&self, outputs: &LinkOutputs) -> Result<LinkSummary> {
        let started = Instant::now();
        let rows_written = self.write(&outputs.links)?;
        if let Some(path) = &outputs.rejects {
            write_rejects(path, [self.sector.rejects(), self.national.rejects()])?;
        }
        if let Some(path) = &outputs.model {
            super::output::write_text(path, &self.model.to_json())?;
        }
        let mut summary = self.summary();
        let write = started.elapsed().as_secs_f64();
        summary.seconds.write = Some(write);
        summary.seconds.total += write;
        summary.output = Some(outputs.links.clone());
        summary.rows_written = Some(rows_written);
        summary.rejects_file = outputs.rejects.clone();
        if let Some(path) = &outputs.report {
            let started = Instant::now();
            super::report::link_report(self, &summary, &outputs.report_options, RunKind::Link)?
                .write(path)?;
            let seconds = started.elapsed().as_secs_f64();
            summary.seconds.report = Some(seconds);
            summary.seconds.total += seconds;
        }
        if let Some(path) = &outputs.summary {
            write_json(path, &summary)?;
        }
        Ok(summary)
    }

    /// The report of this run, for a person to sign it off ([`Report::to_html`]): counts, the
    /// model, blocking, match weights, decisions and reasons, and `options.samples` pairs near
    /// each threshold with both records side by side.
    pub fn report(&self, options: &ReportOptions) -> Result<Report> {
        super::report::link_report(self, &self.summary(), options, RunKind::Link)
    }

    /// The `pairs` pairs a clerk should settle first (see [`crate::review`]): best candidates
    /// nearest a threshold, ambiguous records' two candidates, national records claimed by
    /// several sector records; none already labelled in `labels` or implied by them.
    pub fn review(&self, labels: &Labels, pairs: usize) -> Result<Review> {
        super::review::select(self, labels, pairs)
    }
}

/// The files a link writes: the links, and optionally the rejects, the model and the summary.
#[derive(Clone, Debug)]
pub struct LinkOutputs {
    /// One row per sector record (.parquet, .csv or .ndjson).
    pub links: PathBuf,
    /// Rejected rows of both tables (CSV).
    pub rejects: Option<PathBuf>,
    /// The model, as JSON.
    pub model: Option<PathBuf>,
    /// The run summary, as JSON ([`LinkSummary`]).
    pub summary: Option<PathBuf>,
    /// The report ([`LinkRun::report`]): HTML, or its data as JSON when the name ends in `.json`.
    pub report: Option<PathBuf>,
    /// What the report holds (pairs sampled near each threshold: 0 for none).
    pub report_options: ReportOptions,
}

impl LinkOutputs {
    /// Links written to `links`, nothing else.
    pub fn new(links: impl Into<PathBuf>) -> LinkOutputs {
        LinkOutputs {
            links: links.into(),
            rejects: None,
            model: None,
            summary: None,
            report: None,
            report_options: ReportOptions::default(),
        }
    }

    /// These outputs in a plan, to be checked against the run's inputs before it starts.
    pub fn plan(&self, plan: &mut OutputPlan) {
        plan.table("the links output", &self.links)
            .file("the rejects file", self.rejects.as_deref())
            .file("the model output", self.model.as_deref())
            .file("the summary", self.summary.as_deref())
            .file("the report", self.report.as_deref());
    }
}

/// A blocking rule in a summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSummary {
    /// The rule's name.
    pub rule: String,
    /// New candidate pairs it produced.
    pub pairs: u64,
    /// Blocks skipped by the skew guard.
    pub blocks_capped: u64,
    /// Pairs in the skipped blocks.
    pub pairs_capped: u64,
}

pub(crate) fn rules_of(report: &BlockingReport) -> Vec<RuleSummary> {
    report
        .rules
        .iter()
        .map(|r| RuleSummary {
            rule: r.rule.clone(),
            pairs: r.pairs,
            blocks_capped: r.blocks_capped,
            pairs_capped: r.pairs_capped,
        })
        .collect()
}

/// Decisions counted.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Decisions {
    /// Sector records matched.
    #[serde(rename = "match")]
    pub r#match: usize,
    /// Sector records sent to review.
    pub review: usize,
    /// Sector records without a match.
    pub no_match: usize,
}

/// Seconds per stage of a link.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct LinkSeconds {
    /// Reading and preparing both tables.
    pub read_and_prepare: f64,
    /// Training (or loading) the model.
    pub train: f64,
    /// Blocking, scoring and deciding.
    pub link: f64,
    /// Writing the outputs, when they were written.
    pub write: Option<f64>,
    /// Gathering and writing the report, when one was asked for.
    pub report: Option<f64>,
    /// All of it.
    pub total: f64,
}

/// The summary of a link (`khop link --summary`).
#[derive(Clone, Debug, Serialize)]
pub struct LinkSummary {
    /// The sector table (the left side: `left_id` in the links).
    pub sector: TableSummary,
    /// The national table (the right side: `right_id` in the links).
    pub national: TableSummary,
    /// Rows rejected in both tables.
    pub rows_rejected: u64,
    /// Where the rejected rows were written.
    pub rejects_file: Option<PathBuf>,
    /// Candidate pairs scored.
    pub pairs_scored: u64,
    /// Pairs scored per second of the link stage and per thread (rayon's pool), the figure to
    /// compare with the similarity kernels' speed (in a multi-source run the stage includes the
    /// source's training).
    pub pairs_per_core_second: f64,
    /// Threads the run used.
    pub threads: usize,
    /// Pairs per blocking rule.
    pub blocking: Vec<RuleSummary>,
    /// Decisions counted.
    pub decisions: Decisions,
    /// Sector records whose runner-up was within the ambiguity margin.
    pub ambiguous: usize,
    /// What training did (none when a model was given).
    pub training: Option<TrainingReport>,
    /// Seconds per stage.
    pub seconds: LinkSeconds,
    /// Peak resident memory of the process, in MiB.
    pub peak_memory_mib: Option<u64>,
    /// Where the links were written.
    pub output: Option<PathBuf>,
    /// Rows written there.
    pub rows_written: Option<u64>,
    /// What deserves a person's attention (skipped blocks, ...).
    pub warnings: Vec<String>,
}

/// Several sector tables linked to one national table: the national table is prepared and its
/// blocking keys indexed once, each source linked with its own model (identical to a run of its
/// own) or with one shared model, and the sources' matches gathered per national person.
pub struct MultiLink {
    national: Table,
    linker: MultiLinker<'static>,
    shared: Option<(Model, Option<TrainingReport>, f64)>,
    coverage: Coverage,
    names: Vec<String>,
}

impl MultiLink {
    pub(crate) fn new(national: &Table, settings: LinkSettings) -> MultiLink {
        MultiLink {
            national: national.clone(),
            linker: MultiLinker::shared(national.shared_records(), settings),
            shared: None,
            coverage: Coverage::new(national.len()),
            names: Vec::new(),
        }
    }

    /// Trains one model on all `sources` (see [`MultiLinker::train_shared`]) and links every
    /// source with it from now on.
    pub fn train_shared(&mut self, sources: &[Table]) -> Result<&Model> {
        let started = Instant::now();
        let named: Vec<(&str, &crate::normalize::prepared::PreparedRecords)> =
            sources.iter().map(|t| (t.name(), t.records())).collect();
        let (model, report) = self.linker.train_shared(&named)?;
        self.shared = Some((model, Some(report), started.elapsed().as_secs_f64()));
        Ok(&self.shared.as_ref().expect("just set").0)
    }

    /// Links every source with `model` (laid out for each source's comparisons, by name).
    pub fn use_model(&mut self, model: Model) {
        self.shared = Some((model, None, 0.0));
    }

    /// The shared model, when there is one.
    pub fn shared_model(&self) -> Option<&Model> {
        self.shared.as_ref().map(|s| &s.0)
    }

    /// What training the shared model did, and in how many seconds.
    pub fn shared_training(&self) -> Option<(&TrainingReport, f64)> {
        self.shared.as_ref().and_then(|(_, report, seconds)| report.as_ref().map(|r| (r, *seconds)))
    }

    /// Blocking rules whose national keys are indexed so far.
    pub fn rules_indexed(&self) -> usize {
        self.linker.rules_indexed()
    }

    /// Links one source and records its matches; sources must have different names.
    pub fn link(&mut self, source: &Table) -> Result<LinkRun> {
        if self.names.iter().any(|n| file_stem(n) == file_stem(source.name())) {
            return Err(Error::invalid(format!(
                "two sources are both named `{}`: give them different names in a configuration",
                source.name()
            )));
        }
        let started = Instant::now();
        let run = self.linker.link_source(source.records(), self.shared.as_ref().map(|s| &s.0))?;
        self.coverage.add(source.name(), source.records(), &run.results)?;
        self.names.push(source.name().to_owned());
        let seconds = started.elapsed().as_secs_f64();
        Ok(LinkRun {
            sector: source.clone(),
            national: self.national.clone(),
            settings: self.linker.settings().clone(),
            model: run.model,
            training: run.training,
            results: run.results,
            report: run.report,
            train_seconds: 0.0,
            link_seconds: seconds,
        })
    }

    /// What the sources say together: the persons each found, and their conflicts.
    pub fn finish(self) -> CombinedRun {
        CombinedRun { national: self.national, combined: self.coverage.finish() }
    }
}

/// What several sources say together about the national persons ([`MultiLink::finish`]).
pub struct CombinedRun {
    national: Table,
    combined: Combined,
}

impl CombinedRun {
    /// The claims, conflicts and sources gathered.
    pub fn combined(&self) -> &Combined {
        &self.combined
    }

    /// Counts of persons by number of sources, and of conflicts.
    pub fn summary(&self) -> CombinedSummary {
        self.combined.summary()
    }

    /// The persons output: one row per national person, with the sources that found them.
    pub fn persons_batches(&self) -> impl Iterator<Item = Result<RecordBatch>> + '_ {
        Combined::person_ranges(self.national.len(), OUTPUT_BATCH_ROWS)
            .map(|range| self.combined.persons_batch(self.national.records(), range))
    }

    /// The conflicts output: one row per claim in a conflict.
    pub fn conflicts_batch(&self) -> Result<RecordBatch> {
        self.combined.conflicts_batch(self.national.records())
    }

    /// Writes the persons and the conflicts files.
    pub fn write(&self, persons: &Path, conflicts: &Path) -> Result<()> {
        write_batches(persons, self.combined.persons_schema(), self.persons_batches())?;
        let batch = self.conflicts_batch()?;
        write_batches(conflicts, batch.schema(), [Ok(batch)])?;
        Ok(())
    }
}

/// A name fit for a file name: letters, digits, `-`, `_` and `.` kept, anything else `_`.
pub fn file_stem(name: &str) -> String {
    name.chars().map(|c| if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect()
}

/// How the sources of a multi-source link get their model.
#[derive(Clone, Debug, Default)]
pub enum ModelChoice {
    /// Each source trains its own (identical to a run of its own).
    #[default]
    PerSource,
    /// One model trained on all sources together.
    Shared,
    /// This model, for every source.
    Given(Model),
}

/// The files of a multi-source link, all in one folder: `links_<source>.<ext>`, `persons.<ext>`,
/// `conflicts.<ext>`, the models (`model_<source>.json`, or `model.json` when shared), and
/// optionally the rejects and the summary.
#[derive(Clone, Debug)]
pub struct MultiOutputs {
    /// The folder (created if missing).
    pub folder: PathBuf,
    /// The tables' format: `parquet`, `csv` or `ndjson`.
    pub format: crate::read::Format,
    /// Rejected rows of every table (CSV).
    pub rejects: Option<PathBuf>,
    /// The run summary, as JSON ([`MultiLinkSummary`]).
    pub summary: Option<PathBuf>,
}

impl MultiOutputs {
    fn ext(&self) -> &'static str {
        self.format.as_str()
    }

    /// The links file of source `name`.
    pub fn links_path(&self, name: &str) -> PathBuf {
        self.folder.join(format!("links_{}.{}", file_stem(name), self.ext()))
    }

    /// The model file of source `name` (`None`: the shared model).
    pub fn model_path(&self, name: Option<&str>) -> PathBuf {
        match name {
            Some(name) => self.folder.join(format!("model_{}.json", file_stem(name))),
            None => self.folder.join("model.json"),
        }
    }

    /// The persons file.
    pub fn persons_path(&self) -> PathBuf {
        self.folder.join(format!("persons.{}", self.ext()))
    }

    /// The conflicts file.
    pub fn conflicts_path(&self) -> PathBuf {
        self.folder.join(format!("conflicts.{}", self.ext()))
    }

    /// These outputs in a plan, for sources named `names`.
    pub fn plan(&self, plan: &mut OutputPlan, names: &[&str], model: &ModelChoice) {
        for name in names {
            plan.table(format!("the links of `{name}`"), &self.links_path(name));
            if matches!(model, ModelChoice::PerSource) {
                plan.file(format!("the model of `{name}`"), Some(&self.model_path(Some(name))));
            }
        }
        if matches!(model, ModelChoice::Shared) {
            plan.file("the shared model", Some(&self.model_path(None)));
        }
        plan.table("the persons output", &self.persons_path())
            .table("the conflicts output", &self.conflicts_path())
            .file("the rejects file", self.rejects.as_deref())
            .file("the summary", self.summary.as_deref());
    }
}

/// One source in a [`MultiLinkSummary`].
#[derive(Clone, Debug, Serialize)]
pub struct SourceSummary {
    /// The source's name.
    pub name: String,
    /// Its file.
    pub path: PathBuf,
    /// Its records.
    pub records: usize,
    /// Where its links were written.
    pub links_file: PathBuf,
    /// Decisions counted.
    pub decisions: Decisions,
    /// Records whose runner-up was within the ambiguity margin.
    pub ambiguous: usize,
    /// Candidate pairs scored.
    pub pairs_scored: u64,
    /// Pairs per blocking rule.
    pub blocking: Vec<RuleSummary>,
    /// What training its own model did (none with a shared or given model).
    pub training: Option<TrainingReport>,
    /// Seconds spent on it.
    pub seconds: SourceSeconds,
    /// What deserves a person's attention.
    pub warnings: Vec<String>,
}

/// Seconds spent on one source.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct SourceSeconds {
    /// Reading and preparing it.
    pub read_and_prepare: f64,
    /// Training its model and linking it.
    pub train_and_link: f64,
}

/// Training of a shared model.
#[derive(Clone, Debug, Serialize)]
pub struct SharedTraining {
    /// What training did.
    pub report: TrainingReport,
    /// Seconds it took.
    pub seconds: f64,
}

/// Seconds of a multi-source link.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct MultiSeconds {
    /// Reading and preparing the national table.
    pub national: f64,
    /// Gathering the sources' matches and writing the persons and conflicts.
    pub combine_and_write: f64,
    /// All of it.
    pub total: f64,
}

/// The summary of a multi-source link (`khop link` with several sources, `--summary`).
#[derive(Clone, Debug, Serialize)]
pub struct MultiLinkSummary {
    /// The national table.
    pub national: TableSummary,
    /// Each source, in order.
    pub sources: Vec<SourceSummary>,
    /// Whether one model served every source.
    pub shared_model: bool,
    /// What training the shared model did.
    pub shared_training: Option<SharedTraining>,
    /// Rows rejected in all tables.
    pub rows_rejected: u64,
    /// Where they were written.
    pub rejects_file: Option<PathBuf>,
    /// The persons file.
    pub persons_file: PathBuf,
    /// The conflicts file.
    pub conflicts_file: PathBuf,
    /// Persons by number of sources, and conflicts.
    pub combined: CombinedSummary,
    /// Seconds per part.
    pub seconds: MultiSeconds,
    /// Blocking rules whose national keys were indexed (once for the whole run).
    pub rules_indexed: usize,
    /// Peak resident memory of the process, in MiB.
    pub peak_memory_mib: Option<u64>,
}

impl SourceSummary {
    pub(crate) fn of(run: &LinkRun, links_file: PathBuf) -> SourceSummary {
        let summary = run.summary();
        SourceSummary {
            name: run.sector.name().to_owned(),
            path: run.sector.path().to_owned(),
            records: run.sector.len(),
            links_file,
            decisions: summary.decisions,
            ambiguous: summary.ambiguous,
            pairs_scored: summary.pairs_scored,
            blocking: summary.blocking,
            training: summary.training,
            seconds: SourceSeconds {
                read_and_prepare: run.sector.seconds(),
                train_and_link: run.link_seconds,
            },
            warnings: summary.warnings,
        }
    }
}

/// Records below which EM has too little to learn from.
const FEW_RECORDS: usize = 100;

/// A warning when a model was trained on tables too small to estimate it.
pub(crate) fn small_tables(left: usize, right: Option<usize>) -> Option<String> {
    let smallest = right.map_or(left, |r| r.min(left));
    (smallest < FEW_RECORDS).then(|| {
        format!(
            "a model trained on {} records gives EM little to learn from: its weights are unreliable; train one on larger tables of the same kind (`khop train`) and pass it with --model",
            match right {
                Some(right) => format!("{left} x {right}"),
                None => left.to_string(),
            }
        )
    })
}
