//! The correction worklist ([`ReconcileRun`]).

use std::path::PathBuf;
use std::time::Instant;

use arrow_array::RecordBatch;
use serde::Serialize;

use super::Session;
use super::link::{LinkRun, LinkSummary};
use super::output::{OUTPUT_BATCH_ROWS, OutputPlan, write_batches, write_json, write_rejects, write_text};
use super::table::Table;
use crate::error::Result;
use crate::link::Thresholds;
use crate::reconcile::output::{unmatched_batch, unmatched_schema, worklist_batch, worklist_schema};
use crate::reconcile::{Reconciler, Reconciliation, Summary};
use crate::report::{Report, ReportOptions};
use crate::score::Model;

/// A link and its worklist: every field on which an accepted link's records disagree, and every
/// sector record not accepted, with its closest national record and why.
pub struct ReconcileRun {
    link: LinkRun,
    worklist: Reconciliation,
    seconds: f64,
}

impl std::fmt::Debug for ReconcileRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReconcileRun")
            .field("link", &self.link)
            .field("conflicts", &self.worklist.conflicts.len())
            .field("unmatched", &self.worklist.unmatched.len())
            .finish()
    }
}

impl ReconcileRun {
    pub(crate) fn run(
        session: &Session,
        sector: &Table,
        national: &Table,
        model: Option<&Model>,
    ) -> Result<ReconcileRun> {
        let link = session.link(sector, national, model)?;
        let started = Instant::now();
        let worklist = Reconciler::new(sector.records(), national.records())
            .reconcile(&link.results, &link.settings.thresholds);
        Ok(ReconcileRun { link, worklist, seconds: started.elapsed().as_secs_f64() })
    }

    /// The link the worklist comes from.
    pub fn link(&self) -> &LinkRun {
        &self.link
    }

    /// The conflicts, the unmatched records and their counts.
    pub fn worklist(&self) -> &Reconciliation {
        &self.worklist
    }

    /// The worklist, one row per conflict, in batches of 65,536 rows.
    pub fn worklist_batches(&self) -> impl Iterator<Item = Result<RecordBatch>> + '_ {
        let (sector, national) = (self.link.sector.records(), self.link.national.records());
        let source = self.link.sector.name();
        self.worklist
            .conflicts
            .chunks(OUTPUT_BATCH_ROWS)
            .map(move |chunk| worklist_batch(source, sector, national, chunk))
    }

    /// The sector records not accepted, in batches of 65,536 rows.
    pub fn unmatched_batches(&self) -> Result<impl Iterator<Item = Result<RecordBatch>> + '_> {
        let linker = self.link.linker()?;
        let (sector, national) = (self.link.sector.records(), self.link.national.records());
        let source = self.link.sector.name();
        let model = &self.link.model;
        Ok(self
            .worklist
            .unmatched
            .chunks(OUTPUT_BATCH_ROWS)
            .map(move |chunk| unmatched_batch(source, &linker, model, sector, national, chunk)))
    }

    /// The summary of the run.
    pub fn summary(&self) -> ReconcileSummary {
        let link = self.link.summary();
        ReconcileSummary {
            sources: vec![SourceWorklist {
                source: self.link.sector.name().to_owned(),
                path: self.link.sector.path().to_owned(),
                national: self.link.national.summary(),
                summary: self.worklist.summary.clone(),
            }],
            pairs_scored: link.pairs_scored,
            thresholds: self.link.settings.thresholds,
            outputs: ReconcileFiles::default(),
            seconds: ReconcileSeconds {
                read_and_prepare: link.seconds.read_and_prepare,
                train_and_link: link.seconds.train + link.seconds.link,
                reconcile: self.seconds,
                write: None,
                total: link.seconds.total + self.seconds,
            },
            warnings: link.warnings.clone(),
            link,
        }
    }

    /// Writes the outputs named in `outputs` and returns the summary with what was written.
    pub fn write_outputs(&self, outputs: &ReconcileOutputs) -> Result<ReconcileSummary> {
        let started = Instant::now();
        write_batches(&outputs.worklist, worklist_schema(), self.worklist_batches())?;
        if let Some(path) = &outputs.unmatched {
            write_batches(path, unmatched_schema(), self.unmatched_batches()?)?;
        }
        if let Some(path) = &outputs.links {
            self.link.write(path)?;
        }
        if let Some(path) = &outputs.rejects {
            write_rejects(path, [self.link.sector.rejects(), self.link.national.rejects()])?;
        }
        if let Some(path) = &outputs.model {
            write_text(path, &self.link.model.to_json())?;
        }
        let mut summary = self.summary();
        let write = started.elapsed().as_secs_f64();
        summary.seconds.write = Some(write);
        summary.seconds.total += write;
        summary.outputs = ReconcileFiles {
            worklist: Some(outputs.worklist.clone()),
            unmatched: outputs.unmatched.clone(),
            links: outputs.links.clone(),
            rejects: outputs.rejects.clone(),
        };
        if let Some(path) = &outputs.summary {
            write_json(path, &summary)?;
        }
        if let Some(path) = &outputs.report {
            self.report(&outputs.report_options)?.write(path)?;
        }
        Ok(summary)
    }

    /// The report of this run, for a person to sign it off ([`Report::to_html`]): the link's
    /// report ([`LinkRun::report`]) with the conflicts by field and type.
    pub fn report(&self, options: &ReportOptions) -> Result<Report> {
        super::report::reconcile_report(self, options)
    }
}

/// The files a reconciliation writes.
#[derive(Clone, Debug)]
pub struct ReconcileOutputs {
    /// The worklist (.parquet, .csv or .ndjson).
    pub worklist: PathBuf,
    /// The sector records not accepted.
    pub unmatched: Option<PathBuf>,
    /// The links, as `khop link` writes them.
    pub links: Option<PathBuf>,
    /// Rejected rows of both tables (CSV).
    pub rejects: Option<PathBuf>,
    /// The model, as JSON.
    pub model: Option<PathBuf>,
    /// The summary, as JSON ([`ReconcileSummary`]).
    pub summary: Option<PathBuf>,
    /// The report ([`ReconcileRun::report`]): HTML, or its data as JSON when the name ends in
    /// `.json`.
    pub report: Option<PathBuf>,
    /// What the report holds (pairs sampled near each threshold: 0 for none).
    pub report_options: ReportOptions,
}

impl ReconcileOutputs {
    /// These outputs in a plan, to be checked against the run's inputs before it starts.
    pub fn plan(&self, plan: &mut OutputPlan) {
        plan.table("the worklist output", &self.worklist);
        if let Some(path) = &self.unmatched {
            plan.table("the unmatched output", path);
        }
        if let Some(path) = &self.links {
            plan.table("the links output", path);
        }
        plan.file("the rejects file", self.rejects.as_deref())
            .file("the model output", self.model.as_deref())
            .file("the summary", self.summary.as_deref())
            .file("the report", self.report.as_deref());
    }
}

/// One source's worklist counts.
#[derive(Clone, Debug, Serialize)]
pub struct SourceWorklist {
    /// The sector table's name.
    pub source: String,
    /// Its file.
    pub path: PathBuf,
    /// The national table.
    pub national: super::TableSummary,
    /// Counts per field and conflict type, unmatched per reason.
    pub summary: Summary,
}

/// Where a reconciliation wrote.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ReconcileFiles {
    /// The worklist.
    pub worklist: Option<PathBuf>,
    /// The unmatched records.
    pub unmatched: Option<PathBuf>,
    /// The links.
    pub links: Option<PathBuf>,
    /// The rejected rows.
    pub rejects: Option<PathBuf>,
}

/// Seconds of a reconciliation.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ReconcileSeconds {
    /// Reading and preparing both tables.
    pub read_and_prepare: f64,
    /// Training (or loading) the model and linking.
    pub train_and_link: f64,
    /// Listing the conflicts.
    pub reconcile: f64,
    /// Writing the outputs, when they were written.
    pub write: Option<f64>,
    /// All of it.
    pub total: f64,
}

/// The summary of a reconciliation (`khop reconcile --summary`).
#[derive(Clone, Debug, Serialize)]
pub struct ReconcileSummary {
    /// Per source (one today), its worklist counts.
    pub sources: Vec<SourceWorklist>,
    /// Candidate pairs scored.
    pub pairs_scored: u64,
    /// The decision thresholds.
    pub thresholds: Thresholds,
    /// Where the outputs were written.
    pub outputs: ReconcileFiles,
    /// Seconds per stage.
    pub seconds: ReconcileSeconds,
    /// What deserves a person's attention.
    pub warnings: Vec<String>,
    /// The link's own summary.
    pub link: LinkSummary,
}
