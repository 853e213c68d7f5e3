//! Deduplication of one table ([`DedupeRun`]).

use std::path::{Path, PathBuf};
use std::time::Instant;

use arrow_array::RecordBatch;
use serde::Serialize;

use super::Session;
use super::link::{RuleSummary, rules_of};
use super::output::{OutputPlan, peak_memory_mib, write_batches, write_json, write_rejects};
use super::table::{Table, TableSummary};
use crate::cluster::output::{cluster_pairs_batch, clusters_batch};
use crate::cluster::{ClusterOptions, ClusterReport, Deduplication, Edge, cluster_links, deduplicate};
use crate::error::Result;
use crate::link::linker::{LinkSettings, Linker, TrainingReport};
use crate::report::{Report, ReportOptions};
use crate::score::Model;

/// One table deduplicated: the model, the links above the threshold, the clusters.
pub struct DedupeRun {
    table: Table,
    settings: LinkSettings,
    options: ClusterOptions,
    result: Deduplication,
    seconds: f64,
}

impl std::fmt::Debug for DedupeRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DedupeRun")
            .field("table", &self.table)
            .field("pairs_scored", &self.result.pairs_scored)
            .field("links", &self.result.edges.len())
            .finish_non_exhaustive()
    }
}

impl DedupeRun {
    pub(crate) fn run(session: &Session, table: &Table, model: Option<&Model>) -> Result<DedupeRun> {
        let started = Instant::now();
        session.observer.started(&super::Stage::Train);
        let result = deduplicate(table.records(), session.settings.clone(), &session.cluster, model);
        session.observer.finished();
        Ok(DedupeRun {
            table: table.clone(),
            settings: session.settings.clone(),
            options: session.cluster,
            result: result?,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    pub(crate) fn from_links(
        session: &Session,
        table: &Table,
        model: Model,
        training: Option<TrainingReport>,
        links: Vec<Edge>,
    ) -> Result<DedupeRun> {
        let started = Instant::now();
        let result = cluster_links(
            table.records(),
            session.settings.clone(),
            &session.cluster,
            model,
            training,
            links,
        )?;
        Ok(DedupeRun {
            table: table.clone(),
            settings: session.settings.clone(),
            options: session.cluster,
            result,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// The table.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The model the pairs were scored with (trained here, or given).
    pub fn model(&self) -> &Model {
        &self.result.model
    }

    /// What training did; `None` when the model was given.
    pub fn training(&self) -> Option<&TrainingReport> {
        self.result.training.as_ref()
    }

    /// The links, assignments and counts.
    pub fn result(&self) -> &Deduplication {
        &self.result
    }

    /// One row per record with its cluster.
    pub fn clusters_batch(&self) -> Result<RecordBatch> {
        clusters_batch(self.table.records(), &self.result.assignments)
    }

    /// The links inside the final clusters, with their explanations.
    pub fn pairs_batch(&self) -> Result<RecordBatch> {
        let linker = Linker::dedupe(self.table.records(), self.settings.clone())?;
        cluster_pairs_batch(
            &linker,
            &self.result.model,
            self.table.records(),
            &self.result.edges,
            &self.result.assignments,
        )
    }

    /// The counts of the run.
    pub fn summary(&self) -> DedupeSummary {
        let mut ids: Vec<u32> = self.result.assignments.iter().map(|a| a.cluster).collect();
        ids.sort_unstable();
        ids.dedup();
        let blocking = rules_of(&self.result.blocking);
        let mut warnings = self.table.warnings();
        warnings.extend(super::link::small_tables(self.table.len(), None));
        let capped: u64 = blocking.iter().map(|r| r.blocks_capped).sum();
        if capped > 0 {
            let pairs: u64 = blocking.iter().map(|r| r.pairs_capped).sum();
            warnings.push(format!(
                "{}: {capped} blocks ({pairs} pairs) were too large and skipped: records in them are compared only if another rule brings them together",
                self.table.name()
            ));
        }
        DedupeSummary {
            table: self.table.summary(),
            threshold: self.options.threshold,
            min_link_density: self.options.min_link_density,
            pairs_scored: self.result.pairs_scored,
            blocking,
            clusters: ids.len(),
            report: self.result.report.clone(),
            training: self.result.training.clone(),
            seconds: DedupeSeconds {
                read_and_prepare: self.table.seconds(),
                dedupe: self.seconds,
                write: None,
            },
            peak_memory_mib: peak_memory_mib(),
            clusters_file: None,
            pairs_file: None,
            rejects_file: None,
            warnings,
        }
    }

    /// Writes the outputs named in `outputs` and returns the summary with what was written.
    pub fn write_outputs(&self, outputs: &DedupeOutputs) -> Result<DedupeSummary> {
        let started = Instant::now();
        let batch = self.clusters_batch()?;
        write_batches(&outputs.clusters, batch.schema(), [Ok(batch)])?;
        if let Some(path) = &outputs.pairs {
            let batch = self.pairs_batch()?;
            write_batches(path, batch.schema(), [Ok(batch)])?;
        }
        if let Some(path) = &outputs.rejects {
            write_rejects(path, [self.table.rejects()])?;
        }
        let mut summary = self.summary();
        summary.seconds.write = Some(started.elapsed().as_secs_f64());
        summary.clusters_file = Some(outputs.clusters.clone());
        summary.pairs_file = outputs.pairs.clone();
        summary.rejects_file = outputs.rejects.clone();
        if let Some(path) = &outputs.summary {
            write_json(path, &summary)?;
        }
        if let Some(path) = &outputs.report {
            super::report::dedupe_report(self, &summary, &outputs.report_options)?.write(path)?;
        }
        Ok(summary)
    }

    /// The report of this run, for a person to sign it off ([`Report::to_html`]): counts, the
    /// model, blocking, the links' weights, cluster sizes, and `options.samples` links nearest
    /// the threshold with both records side by side.
    pub fn report(&self, options: &ReportOptions) -> Result<Report> {
        super::report::dedupe_report(self, &self.summary(), options)
    }

    pub(crate) fn settings(&self) -> &LinkSettings {
        &self.settings
    }
}

/// The files a deduplication writes.
#[derive(Clone, Debug)]
pub struct DedupeOutputs {
    /// One row per record with its cluster.
    pub clusters: PathBuf,
    /// The pairs that formed the clusters.
    pub pairs: Option<PathBuf>,
    /// Rejected rows (CSV).
    pub rejects: Option<PathBuf>,
    /// The summary, as JSON ([`DedupeSummary`]).
    pub summary: Option<PathBuf>,
    /// The report ([`DedupeRun::report`]): HTML, or its data as JSON when the name ends in `.json`.
    pub report: Option<PathBuf>,
    /// What the report holds (links sampled near the threshold: 0 for none).
    pub report_options: ReportOptions,
}

impl DedupeOutputs {
    /// Clusters written to `clusters`, nothing else.
    pub fn new(clusters: &Path) -> DedupeOutputs {
        DedupeOutputs {
            clusters: clusters.to_owned(),
            pairs: None,
            rejects: None,
            summary: None,
            report: None,
            report_options: ReportOptions::default(),
        }
    }

    /// These outputs in a plan, to be checked against the run's inputs before it starts.
    pub fn plan(&self, plan: &mut OutputPlan) {
        plan.table("the clusters output", &self.clusters);
        if let Some(pairs) = &self.pairs {
            plan.table("the pairs output", pairs);
        }
        plan.file("the rejects file", self.rejects.as_deref())
            .file("the summary", self.summary.as_deref())
            .file("the report", self.report.as_deref());
    }
}

/// Seconds of a deduplication.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct DedupeSeconds {
    /// Reading and preparing the table.
    pub read_and_prepare: f64,
    /// Training, scoring and clustering.
    pub dedupe: f64,
    /// Writing the outputs, when they were written.
    pub write: Option<f64>,
}

/// The summary of a deduplication (`khop dedupe --summary`).
#[derive(Clone, Debug, Serialize)]
pub struct DedupeSummary {
    /// The table.
    pub table: TableSummary,
    /// Probability at or above which a pair is a link.
    pub threshold: f64,
    /// Share of cross pairs that must be links for two groups to merge.
    pub min_link_density: f64,
    /// Candidate pairs scored.
    pub pairs_scored: u64,
    /// Pairs per blocking rule.
    pub blocking: Vec<RuleSummary>,
    /// Clusters, singletons included.
    pub clusters: usize,
    /// Links, clusters with duplicates and refused merges.
    pub report: ClusterReport,
    /// What training did; `None` when the model was given.
    pub training: Option<TrainingReport>,
    /// Seconds per stage.
    pub seconds: DedupeSeconds,
    /// Peak resident memory of the process, in MiB.
    pub peak_memory_mib: Option<u64>,
    /// Where the clusters were written.
    pub clusters_file: Option<PathBuf>,
    /// Where the pairs were written.
    pub pairs_file: Option<PathBuf>,
    /// Where the rejected rows were written.
    pub rejects_file: Option<PathBuf>,
    /// What deserves a person's attention (skipped blocks, ...).
    pub warnings: Vec<String>,
}
