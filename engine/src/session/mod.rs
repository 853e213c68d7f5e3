//! The library's entry point: a [`Session`] holds validated settings (and, when it came from one,
//! a configuration) and runs whole jobs on tables it prepares: link one or several sector tables
//! to the national table, deduplicate a table, reconcile (the correction worklist), explain a
//! pair, train a model, report blocking, profile and normalize files.
//!
//! Every result is a value that owns its data ([`Table`]s are shared, `Send + Sync`): Arrow
//! record batches on demand, a summary that serializes to JSON (the `--summary` files of the
//! `khop` command are these structs), and methods that write the outputs. Rejected rows are kept
//! with their tables ([`Table::rejects`]), never dropped. The library never prints; progress goes
//! to an [`Observer`].
//!
//! ```no_run
//! use khop::{LinkOutputs, Session, TableSource};
//!
//! # fn main() -> khop::Result<()> {
//! let session = Session::new();
//! let options = khop::read::ReadOptions::default();
//! let sector = session.prepare(&TableSource::detect("bhxh.parquet", &options)?)?;
//! let national = session.prepare(&TableSource::detect("national.parquet", &options)?)?;
//! let run = session.link(&sector, &national, None)?;
//! let summary = run.write_outputs(&LinkOutputs::new("links.parquet"))?;
//! println!("{} matches", summary.decisions.r#match);
//! # Ok(())
//! # }
//! ```

mod dedupe;
mod link;
mod lookup;
mod observe;
mod output;
mod reconcile;
mod report;
mod review;
mod table;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use arrow_array::RecordBatchReader;
use serde::Serialize;

pub use dedupe::{DedupeOutputs, DedupeRun, DedupeSeconds, DedupeSummary};
pub use link::{
    CombinedRun, Decisions, LinkOutputs, LinkRun, LinkSeconds, LinkSummary, ModelChoice, MultiLink,
    MultiLinkSummary, MultiOutputs, MultiSeconds, RuleSummary, SharedTraining, SourceSeconds, SourceSummary,
    file_stem,
};
pub use observe::{Observer, Silent, Stage, Unit};
pub use output::{OUTPUT_BATCH_ROWS, OutputPlan, peak_memory_mib, write_batches, write_json, write_rejects};
/// What training made of a clerk's labels ([`Session::train_with_labels`]).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct LabelUse {
    /// The labels given.
    pub labels: crate::review::LabelCounts,
    /// Labelled matches whose records are in the tables (their levels entered `m` when a
    /// strength was given).
    pub matches_used: u64,
    /// Labelled matches and non-matches whose records are in the tables: the prior was fitted
    /// to them.
    pub pairs_used: u64,
    /// Labelled pairs naming a record in neither table.
    pub unknown_ids: u64,
    /// How many labelled pairs the unsupervised `m` counted as; `None`: `m` left as EM found it.
    pub strength: Option<f64>,
    /// The prior's move, in bits: added to every pair's match weight.
    pub prior_shift_bits: f64,
}

pub use reconcile::{ReconcileOutputs, ReconcileRun, ReconcileSeconds, ReconcileSummary, SourceWorklist};
pub use table::{IdChoice, RecordIndex, Table, TableSource, TableSummary};

use crate::block::{Blocker, BlockingReport, Share};
use crate::cluster::{ClusterOptions, Edge, ScoredShare, score_share};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::index::{IndexUpdate, Lookup, LookupOptions, NationalIndex};
use crate::link::linker::{LinkSettings, Linker, TrainingReport};
use crate::read::ReadOptions;
use crate::reconcile::explain::{PairExplanation, explain_pair};
use crate::record::DatasetSpec;
use crate::review::{Label, Labels};
use crate::score::Model;

/// Settings, an optional configuration and an observer: everything a job needs besides its
/// tables. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Session {
    settings: LinkSettings,
    cluster: ClusterOptions,
    config: Option<Arc<Config>>,
    observer: Arc<dyn Observer>,
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("settings", &self.settings)
            .field("cluster", &self.cluster)
            .field("config", &self.config.is_some())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session with the Vietnamese defaults and no configuration.
    pub fn new() -> Session {
        Session {
            settings: LinkSettings::default(),
            cluster: ClusterOptions::default(),
            config: None,
            observer: Arc::new(Silent),
        }
    }

    /// A session over a configuration: its inputs can be named ([`Session::input`]) and its
    /// `[link]` section sets the settings.
    pub fn from_config(config: Config) -> Result<Session> {
        let settings = config.link.apply(LinkSettings::default());
        let session = Session { config: Some(Arc::new(config)), ..Session::new() };
        session.with_settings(settings)
    }

    /// Reads and validates a configuration file, and makes a session over it.
    pub fn from_config_file(path: impl AsRef<Path>) -> Result<Session> {
        Session::from_config(Config::from_file(path)?)
    }

    /// This session with `settings`, validated (all problems at once).
    pub fn with_settings(mut self, settings: LinkSettings) -> Result<Session> {
        settings.validate()?;
        self.settings = settings;
        Ok(self)
    }

    /// This session with its settings changed by `change`, then validated: e.g. thresholds given
    /// on a command line over a configuration's.
    pub fn configure(self, change: impl FnOnce(&mut LinkSettings)) -> Result<Session> {
        let mut settings = self.settings.clone();
        change(&mut settings);
        self.with_settings(settings)
    }

    /// This session with deduplication's clustering options, validated.
    pub fn with_cluster_options(mut self, options: ClusterOptions) -> Result<Session> {
        options.validate()?;
        self.cluster = options;
        Ok(self)
    }

    /// This session reporting progress to `observer`.
    pub fn with_observer(mut self, observer: impl Observer + 'static) -> Session {
        self.observer = Arc::new(observer);
        self
    }

    /// The settings.
    pub fn settings(&self) -> &LinkSettings {
        &self.settings
    }

    /// Deduplication's clustering options.
    pub fn cluster_options(&self) -> &ClusterOptions {
        &self.cluster
    }

    /// The configuration, when the session has one.
    pub fn config(&self) -> Option<&Config> {
        self.config.as_deref()
    }

    /// The configuration's input named `name`.
    pub fn input(&self, name: &str) -> Result<TableSource> {
        let config =
            self.config.as_deref().ok_or_else(|| Error::invalid("the session has no configuration"))?;
        config
            .inputs
            .iter()
            .find(|i| i.name == name)
            .map(TableSource::from_input)
            .ok_or_else(|| Error::invalid(format!("the configuration has no input named `{name}`")))
    }

    /// The configuration's tables of a link: the national table (`right`, or the input named
    /// `national`, else the second input) and the sector tables (`left`, or every other input).
    pub fn link_inputs(
        &self,
        left: &[String],
        right: Option<&str>,
    ) -> Result<(Vec<TableSource>, TableSource)> {
        let config =
            self.config.as_deref().ok_or_else(|| Error::invalid("the session has no configuration"))?;
        let position = |name: &str| {
            config
                .inputs
                .iter()
                .position(|i| i.name == name)
                .ok_or_else(|| Error::invalid(format!("the configuration has no input named `{name}`")))
        };
        let right = match right {
            Some(name) => position(name)?,
            None => match config.inputs.iter().position(|i| i.name == "national") {
                Some(i) => i,
                None if config.inputs.len() >= 2 => 1,
                None => {
                    return Err(Error::invalid(
                        "the configuration needs two inputs, or name the right table",
                    ));
                }
            },
        };
        let lefts: Vec<usize> = if left.is_empty() {
            (0..config.inputs.len()).filter(|&i| i != right).collect()
        } else {
            left.iter().map(|name| position(name)).collect::<Result<_>>()?
        };
        if lefts.is_empty() {
            return Err(Error::invalid("the configuration needs two inputs, or name the left table"));
        }
        let source = |i: usize| TableSource::from_input(&config.inputs[i]);
        Ok((lefts.into_iter().map(source).collect(), source(right)))
    }

    /// Reads and prepares a table for matching. Rejected rows stay with the table.
    pub fn prepare(&self, source: &TableSource) -> Result<Table> {
        source.prepare(self.observer.as_ref())
    }

    /// Prepares record batches handed over in memory (any [`RecordBatchReader`]: a caller's
    /// batches, an Arrow C stream from Python) as a table named `name`, read as a file of them
    /// would be ([`crate::read::Reader::from_arrow`]): strings without a copy, other scalar
    /// types as text, rows without an id or with an oversized field rejected and kept with the
    /// table. The columns' roles and the id column are `dataset`'s, or detected from the first
    /// 1,000 rows as [`TableSource::detect`] does for a file. The table's source names no file:
    /// its path is `name`.
    pub fn prepare_arrow(
        &self,
        name: &str,
        batches: Box<dyn RecordBatchReader + Send>,
        dataset: Option<&DatasetSpec>,
        options: &ReadOptions,
    ) -> Result<Table> {
        let started = Instant::now();
        let (source, reader) = TableSource::arrow(name, batches, dataset, options)?;
        source.prepare_from(reader, started, self.observer.as_ref())
    }

    fn linker<'t>(&self, sector: &'t Table, national: &'t Table) -> Result<Linker<'t>> {
        match national.kept_keys() {
            Some(keys) => Linker::with_index(sector.records(), keys, self.settings.clone()),
            None => Linker::new(sector.records(), national.records(), self.settings.clone()),
        }
    }

    fn train_with(&self, linker: &Linker<'_>) -> Result<(Model, TrainingReport)> {
        self.observer.started(&Stage::Train);
        let trained = linker.train();
        self.observer.finished();
        trained
    }

    /// `model` as given, or one trained for `linker` with what training did.
    fn model_or_train(
        &self,
        linker: &Linker<'_>,
        model: Option<&Model>,
    ) -> Result<(Model, Option<TrainingReport>)> {
        match model {
            Some(model) => Ok((model.clone(), None)),
            None => self.train_with(linker).map(|(model, report)| (model, Some(report))),
        }
    }

    /// Writes `national`, prepared, as a persistent index into the new folder `dir` (see
    /// [`crate::index`]): later runs open it with [`Session::open_index`] instead of reading and
    /// normalizing the table again. `model` (from [`Session::train`]) is kept for lookups.
    pub fn build_index(
        &self,
        national: &Table,
        dir: impl AsRef<Path>,
        model: Option<&Model>,
    ) -> Result<NationalIndex> {
        national.build_index(dir.as_ref(), model)
    }

    /// Looks up each of `records` in `index` ([`NationalIndex::lookup`]) with this session's
    /// settings: each record is a JSON object whose fields are role names (`full_name`,
    /// `date_of_birth`, `national_id`, ...; see [`crate::Role`]) with string or number values
    /// (null for missing). A field the model does not compare is left out and named in each
    /// answer's `ignored_fields`. `model` overrides the index's.
    pub fn lookup(
        &self,
        index: &NationalIndex,
        records: &[serde_json::Map<String, serde_json::Value>],
        model: Option<&Model>,
        options: &LookupOptions,
    ) -> Result<Vec<Lookup>> {
        let model = index.model_or(model)?;
        let (query, ignored) = lookup::query_records(records, &lookup::model_roles(model))?;
        (0..query.len() as u32)
            .map(|row| {
                let mut found = index.lookup(&query, row, Some(model), &self.settings, options)?;
                found.ignored_fields = ignored.clone();
                Ok(found)
            })
            .collect()
    }

    /// Explains the pair of `record` (a JSON object of role-named fields, as for
    /// [`Session::lookup`]) and the index's record `national_id`
    /// ([`NationalIndex::explain`]). `model` overrides the index's.
    pub fn explain_in_index(
        &self,
        index: &NationalIndex,
        record: &serde_json::Map<String, serde_json::Value>,
        national_id: &str,
        model: Option<&Model>,
    ) -> Result<crate::index::LookupCandidate> {
        let model = index.model_or(model)?;
        let (query, _) = lookup::query_records(std::slice::from_ref(record), &lookup::model_roles(model))?;
        index.explain(&query, 0, national_id, Some(model), &self.settings)
    }

    /// Upserts the records of `upserts` (read for the index: [`TableSource::for_index`]) and
    /// deletes the records of the ids `deletes`, in one commit ([`NationalIndex::update`]).
    pub fn update_index(
        &self,
        index: &mut NationalIndex,
        upserts: Option<&Table>,
        deletes: &[String],
    ) -> Result<IndexUpdate> {
        index.update(upserts.map(Table::records), deletes)
    }

    /// Trains a model on `sector` against the records the index holds now (term frequencies
    /// included) and makes it the index's ([`NationalIndex::set_model`]).
    pub fn retrain_index(
        &self,
        index: &mut NationalIndex,
        sector: &Table,
    ) -> Result<(Model, TrainingReport)> {
        let national = Table::from_index(index)?;
        let (model, report) = self.train(sector, &national)?;
        index.set_model(&model)?;
        Ok((model, report))
    }

    /// The national table kept in the index folder `dir`, checked and loaded (see
    /// [`Table::from_index`]).
    pub fn open_index(&self, dir: impl AsRef<Path>) -> Result<Table> {
        Table::from_index(&NationalIndex::open(dir.as_ref())?)
    }

    /// Trains a model on two tables without labels: `u` from random pairs, `m` by EM.
    pub fn train(&self, sector: &Table, national: &Table) -> Result<(Model, TrainingReport)> {
        self.train_with(&self.linker(sector, national)?)
    }

    /// [`Session::train`], then a clerk's answers taken in: each comparison's `m` combined with
    /// the levels of the pairs `labels` calls matches
    /// ([`crate::score::train::blend_labelled_m`]; `strength` is how many labelled pairs the
    /// unsupervised estimate counts as, `None` leaves `m` as EM found it), then the prior moved
    /// so that the model's probabilities fit the answers
    /// ([`crate::score::train::fit_prior_shift`] over the labelled `match` and `non_match`
    /// pairs). Labelled pairs whose ids are not in the tables are counted, not used.
    pub fn train_with_labels(
        &self,
        sector: &Table,
        national: &Table,
        labels: &Labels,
        strength: Option<f64>,
    ) -> Result<(Model, TrainingReport, LabelUse)> {
        use crate::score::train::{blend_labelled_m, fit_prior_shift};
        let linker = self.linker(sector, national)?;
        let (mut model, report) = self.train_with(&linker)?;
        let (left, right) = (sector.records(), national.records());
        let mut answered = Vec::new();
        let mut unknown = 0;
        for (l, r, label) in labels.iter() {
            match (left.find_id(l), right.find_id(r)) {
                (Some(a), Some(b)) if label != Label::Unsure => {
                    answered.push(((a, b), label == Label::Match))
                }
                (Some(_), Some(_)) => {}
                _ => unknown += 1,
            }
        }
        let matches: Vec<Vec<u8>> = answered
            .iter()
            .filter(|(_, is_match)| *is_match)
            .map(|((a, b), _)| linker.levels_of(*a, *b))
            .collect();
        if let Some(strength) = strength {
            blend_labelled_m(&mut model, &matches, strength)?;
        }
        let pairs: Vec<(u32, u32)> = answered.iter().map(|(pair, _)| *pair).collect();
        let weights = linker.score_pairs(&model, &pairs)?;
        let scored: Vec<(f64, bool)> = weights.into_iter().zip(answered.iter().map(|(_, m)| *m)).collect();
        let shift = fit_prior_shift(&scored);
        let odds = model.prior / (1.0 - model.prior) * shift.exp2();
        model.prior =
            (odds / (1.0 + odds)).clamp(crate::score::MIN_PROBABILITY, 1.0 - crate::score::MIN_PROBABILITY);
        let usage = LabelUse {
            labels: labels.counts(),
            matches_used: matches.len() as u64,
            pairs_used: answered.len() as u64,
            unknown_ids: unknown,
            strength,
            prior_shift_bits: shift,
        };
        Ok((model, report, usage))
    }

    /// Links a sector table to the national table: with `model`, or a model trained on them.
    pub fn link(&self, sector: &Table, national: &Table, model: Option<&Model>) -> Result<LinkRun> {
        let linker = self.linker(sector, national)?;
        let started = Instant::now();
        let (model, training) = self.model_or_train(&linker, model)?;
        let train_seconds = started.elapsed().as_secs_f64();
        let started = Instant::now();
        self.observer.started(&Stage::Score);
        let linked = linker.link_with_progress(&model, |scored| self.observer.advanced(scored));
        self.observer.finished();
        let (results, report) = linked?;
        Ok(LinkRun {
            sector: sector.clone(),
            national: national.clone(),
            settings: self.settings.clone(),
            model,
            training,
            results,
            report,
            train_seconds,
            link_seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Starts a link of several sources to `national` (see [`MultiLink`]).
    pub fn multi_link(&self, national: &Table) -> MultiLink {
        MultiLink::new(national, self.settings.clone())
    }

    /// Links every source to the national table in one run and writes everything into
    /// `outputs`' folder as it goes (one source in memory at a time, unless the model is shared):
    /// the links of each source, the models, the persons and conflicts files, the rejects and the
    /// summary. `each` is called after each source with its run, e.g. to print its counts.
    pub fn link_sources(
        &self,
        national: &TableSource,
        sources: &[TableSource],
        model: ModelChoice,
        outputs: &MultiOutputs,
        mut each: impl FnMut(&LinkRun),
    ) -> Result<MultiLinkSummary> {
        let total = Instant::now();
        let mut plan = OutputPlan::new();
        plan.input(format!("the input `{}`", national.name()), national.path());
        for source in sources {
            plan.input(format!("the input `{}`", source.name()), source.path());
        }
        let names: Vec<&str> = sources.iter().map(TableSource::name).collect();
        std::fs::create_dir_all(&outputs.folder).map_err(|e| Error::io(&outputs.folder, "create", e))?;
        outputs.plan(&mut plan, &names, &model);
        plan.check()?;

        // Rejects are written as each table is prepared, so that no source stays in memory for
        // them.
        let mut rejects = outputs.rejects.as_deref().map(crate::write::RejectWriter::create).transpose()?;
        let mut keep_rejects = |table: &Table| match rejects.as_mut() {
            Some(writer) => writer.write(table.rejects()),
            None => Ok(()),
        };
        let national = self.prepare(national)?;
        keep_rejects(&national)?;
        let mut rejected = national.stats().rows_rejected;
        let mut multi = self.multi_link(&national);
        let mut held: Vec<Option<Table>> = sources.iter().map(|_| None).collect();
        match model {
            ModelChoice::PerSource => {}
            ModelChoice::Given(model) => multi.use_model(model),
            ModelChoice::Shared => {
                for (source, slot) in sources.iter().zip(&mut held) {
                    let table = self.prepare(source)?;
                    keep_rejects(&table)?;
                    *slot = Some(table);
                }
                let tables: Vec<Table> = held.iter().flatten().cloned().collect();
                self.observer.started(&Stage::Train);
                let trained = multi.train_shared(&tables).map(|m| m.to_json());
                self.observer.finished();
                output::write_text(&outputs.model_path(None), &trained?)?;
            }
        }
        let shared = multi.shared_model().is_some();
        let mut summaries = Vec::new();
        for (source, slot) in sources.iter().zip(&mut held) {
            let table = match slot.take() {
                Some(table) => table,
                None => {
                    let table = self.prepare(source)?;
                    keep_rejects(&table)?;
                    table
                }
            };
            rejected += table.stats().rows_rejected;
            let run = multi.link(&table)?;
            if run.training().is_some() {
                output::write_text(&outputs.model_path(Some(table.name())), &run.model().to_json())?;
            }
            let links_file = outputs.links_path(table.name());
            run.write(&links_file)?;
            each(&run);
            summaries.push(SourceSummary::of(&run, links_file));
        }
        if let Some(writer) = rejects {
            writer.finish()?;
        }
        let started = Instant::now();
        let rules_indexed = multi.rules_indexed();
        let shared_training = multi
            .shared_training()
            .map(|(report, seconds)| SharedTraining { report: report.clone(), seconds });
        let combined = multi.finish();
        combined.write(&outputs.persons_path(), &outputs.conflicts_path())?;
        let summary = MultiLinkSummary {
            national: national.summary(),
            sources: summaries,
            shared_model: shared,
            shared_training,
            rows_rejected: rejected,
            rejects_file: outputs.rejects.clone(),
            persons_file: outputs.persons_path(),
            conflicts_file: outputs.conflicts_path(),
            combined: combined.summary(),
            seconds: MultiSeconds {
                national: national.seconds(),
                combine_and_write: started.elapsed().as_secs_f64(),
                total: total.elapsed().as_secs_f64(),
            },
            rules_indexed,
            peak_memory_mib: peak_memory_mib(),
        };
        if let Some(path) = &outputs.summary {
            write_json(path, &summary)?;
        }
        Ok(summary)
    }

    /// Finds the records of one table that are the same person and clusters them.
    pub fn dedupe(&self, table: &Table) -> Result<DedupeRun> {
        DedupeRun::run(self, table, None)
    }

    /// [`Session::dedupe`] with `model` (from [`Session::train_dedupe`]) instead of training one.
    pub fn dedupe_with(&self, table: &Table, model: &Model) -> Result<DedupeRun> {
        DedupeRun::run(self, table, Some(model))
    }

    /// Trains a model for deduplicating `table` without labels, as [`Session::dedupe`] does.
    pub fn train_dedupe(&self, table: &Table) -> Result<(Model, TrainingReport)> {
        Linker::dedupe(table.records(), self.settings.clone())?.train()
    }

    /// Scores `share` of the candidate pairs of deduplicating `table` with `model` and keeps the
    /// links: processes holding the same table (Spark tasks) split a deduplication between them,
    /// and [`Session::dedupe_from_links`] clusters all their links together.
    /// A share that does not exist is refused with the settings' other problems.
    pub fn dedupe_share(&self, table: &Table, model: &Model, share: Share) -> Result<ScoredShare> {
        let mut settings = self.settings.clone();
        settings.blocking.share = share;
        self.observer.started(&Stage::Score);
        let scored = score_share(table.records(), settings, &self.cluster, model);
        self.observer.finished();
        scored
    }

    /// Clusters `table` from the links of every share of its candidate pairs
    /// ([`Session::dedupe_share`]): the same run as [`Session::dedupe_with`] the same model.
    /// `training` is what training `model` did, if known.
    pub fn dedupe_from_links(
        &self,
        table: &Table,
        model: Model,
        training: Option<TrainingReport>,
        links: Vec<Edge>,
    ) -> Result<DedupeRun> {
        DedupeRun::from_links(self, table, model, training, links)
    }

    /// Links `sector` to `national` (with `model`, or one trained here) and lists what to
    /// correct: the fields on which accepted links disagree, and the records not accepted.
    pub fn reconcile(&self, sector: &Table, national: &Table, model: Option<&Model>) -> Result<ReconcileRun> {
        ReconcileRun::run(self, sector, national, model)
    }

    /// Explains one pair for a clerk (ids of a sector and a national record): each comparison's
    /// values, level and weight, with `model` or one trained on the tables.
    pub fn explain(
        &self,
        sector: &Table,
        national: &Table,
        sector_id: &str,
        national_id: &str,
        model: Option<&Model>,
    ) -> Result<Explained> {
        let a = sector.find(sector_id)?;
        let b = national.find(national_id)?;
        let linker = self.linker(sector, national)?;
        let (model, training) = self.model_or_train(&linker, model)?;
        let explanation = explain_pair(&linker, &model, sector.records(), national.records(), a.0, b.0)?;
        Ok(Explained { explanation, model, training })
    }

    /// The candidate pairs each blocking rule produces for two tables and, given the true links
    /// (sector id, national id), which rule finds each first and which links one rule alone
    /// finds.
    pub fn blocking(
        &self,
        sector: &Table,
        national: &Table,
        truth: Option<&[(String, String)]>,
    ) -> Result<BlockingRun> {
        let linker = self.linker(sector, national)?;
        let blocker = Blocker::new(linker.rules().to_vec(), sector.records(), Some(national.records()));
        let report = blocker.for_each_chunk(|_| {});
        let truth = truth.map(|truth| {
            use std::collections::HashMap;
            fn index(table: &Table) -> HashMap<&str, u32> {
                (0..table.len() as u32).map(|i| (table.records().record_id(i), i)).collect()
            }
            let (left, right) = (index(sector), index(national));
            let mut found_first = vec![0u64; blocker.rules().len()];
            let mut found_only = vec![0u64; blocker.rules().len()];
            let (mut missed, mut unknown) = (0u64, 0u64);
            for (a, b) in truth {
                let (Some(&a), Some(&b)) = (left.get(a.as_str()), right.get(b.as_str())) else {
                    unknown += 1;
                    continue;
                };
                let mut rules = blocker.rules_for(a, b);
                match (rules.next(), rules.next()) {
                    (Some(only), None) => {
                        found_first[only] += 1;
                        found_only[only] += 1;
                    }
                    (Some(first), Some(_)) => found_first[first] += 1,
                    (None, _) => missed += 1,
                }
            }
            TruthRecall { links: truth.len() as u64, found_first, found_only, missed, unknown }
        });
        Ok(BlockingRun { rules: linker.rules().iter().map(|r| r.name().to_owned()).collect(), report, truth })
    }
}

/// One pair explained ([`Session::explain`]), with the model used.
#[derive(Clone, Debug)]
pub struct Explained {
    /// Each comparison's values, level and weight.
    pub explanation: PairExplanation,
    /// The model.
    pub model: Model,
    /// What training did, when the model was trained for this.
    pub training: Option<TrainingReport>,
}

/// What blocking produces for two tables ([`Session::blocking`]).
#[derive(Clone, Debug)]
pub struct BlockingRun {
    /// The rules' names, in order.
    pub rules: Vec<String>,
    /// Pairs per rule, capped blocks, largest blocks.
    pub report: BlockingReport,
    /// Which rule finds each true link first, when true links were given.
    pub truth: Option<TruthRecall>,
}

/// Which blocking rule finds each true link first.
#[derive(Clone, Debug, Serialize)]
pub struct TruthRecall {
    /// True links given.
    pub links: u64,
    /// Per rule, the true links it finds first.
    pub found_first: Vec<u64>,
    /// Per rule, the true links no other rule finds: those lost without it.
    pub found_only: Vec<u64>,
    /// True links no rule finds.
    pub missed: u64,
    /// True links naming a record in neither table.
    pub unknown: u64,
}

/// A file profiled ([`Session::profile`]), with the rows it rejected.
#[derive(Clone, Debug)]
pub struct Profiled {
    /// Per column completeness, distinct values, lengths, accents, invalid shapes.
    pub profile: crate::profile::DatasetProfile,
    /// Rejected rows, with their reasons.
    pub rejects: Vec<crate::read::Reject>,
}

/// A file normalized ([`Session::normalize`]).
#[derive(Clone, Debug, Serialize)]
pub struct NormalizeSummary {
    /// The file read.
    pub input: std::path::PathBuf,
    /// The file written.
    pub output: std::path::PathBuf,
    /// Rows read.
    pub rows_read: u64,
    /// Rows normalized and written (every row passed on).
    pub rows_written: u64,
    /// Rows rejected.
    pub rows_rejected: u64,
    /// Seconds it took.
    pub seconds: f64,
}

impl Session {
    /// Profiles every column of the file at `path`, read with `options`; `roles` gives the role
    /// of the columns that have one.
    pub fn profile(
        &self,
        path: &Path,
        options: &crate::read::ReadOptions,
        roles: &[(String, Option<crate::record::Role>)],
    ) -> Result<Profiled> {
        self.profile_reader(path, crate::read::Reader::open(path, options)?, roles)
    }

    /// Profiles every column of record batches handed over in memory (see
    /// [`Session::prepare_arrow`]), named `name`; the roles are detected from the first rows.
    pub fn profile_arrow(
        &self,
        name: &str,
        batches: Box<dyn RecordBatchReader + Send>,
        options: &ReadOptions,
    ) -> Result<Profiled> {
        let (batches, detection) = table::detect_arrow(name, batches, options)?;
        let roles: Vec<_> = detection.columns.iter().map(|c| (c.name.clone(), c.role)).collect();
        let options = ReadOptions { columns: None, id_column: None, ..options.clone() };
        let reader = crate::read::Reader::from_arrow(name, batches, &options)?;
        self.profile_reader(Path::new(name), reader, &roles)
    }

    fn profile_reader(
        &self,
        path: &Path,
        mut reader: crate::read::Reader,
        roles: &[(String, Option<crate::record::Role>)],
    ) -> Result<Profiled> {
        let schema = reader.schema();
        let columns = schema.fields().iter().map(|field| {
            let role = roles.iter().find(|(name, _)| name == field.name()).and_then(|(_, r)| *r);
            (field.name().clone(), role)
        });
        let mut profiler = crate::profile::Profiler::new(columns);
        let unit = Unit::of(reader.format());
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        self.observer.started(&Stage::Read {
            table: name,
            file: path.to_owned(),
            unit,
            total: reader.progress().total,
        });
        let mut rejects = Vec::new();
        let read = (|| {
            while let Some(batch) = reader.next() {
                let mut batch = batch?;
                profiler.add(&batch);
                rejects.append(&mut batch.rejects);
                self.observer.advanced(reader.progress().position);
            }
            Ok::<_, Error>(())
        })();
        self.observer.finished();
        read?;
        let stats = reader.stats();
        let profile = profiler.finish(&path.display().to_string(), reader.format().as_str(), stats);
        Ok(Profiled { profile, rejects })
    }

    /// Writes the normalized columns of `source` (name keys, parsed dates, decoded ids, unit
    /// codes, flags) to `out`, and its rejected rows to `rejects`. Batches are normalized in
    /// parallel, a few at a time, and written in their order; every row passed on is written.
    pub fn normalize(
        &self,
        source: &TableSource,
        out: &Path,
        rejects: Option<&Path>,
    ) -> Result<NormalizeSummary> {
        use crate::normalize::records::RecordNormalizer;
        use crate::read::Reader;
        use crate::write::{RejectWriter, WriteOptions, Writer};
        use rayon::prelude::*;

        if source.dataset().columns.is_empty() {
            return Err(Error::invalid(format!(
                "{}: no column has a role; write a configuration (`khop config init`)",
                source.path().display()
            )));
        }
        let mut plan = OutputPlan::new();
        plan.input(format!("the input `{}`", source.name()), source.path())
            .table("the normalized output", out)
            .file("the rejects file", rejects);
        plan.check()?;
        let started = Instant::now();
        let normalizer = RecordNormalizer::new(source.dataset());
        let mut reader = Reader::open(source.path(), source.options())?;
        let mut writer = Writer::create(out, normalizer.schema(), &WriteOptions::default())?;
        let mut rejects = rejects.map(RejectWriter::create).transpose()?;
        let unit = Unit::of(reader.format());
        self.observer.started(&Stage::Read {
            table: source.name().to_owned(),
            file: source.path().to_owned(),
            unit,
            total: reader.progress().total,
        });
        let group = 2 * rayon::current_num_threads();
        let run = (|| {
            loop {
                let batches: Vec<_> = reader.by_ref().take(group).collect::<Result<_>>()?;
                if batches.is_empty() {
                    return Ok::<_, Error>(());
                }
                let normalized: Vec<_> =
                    batches.par_iter().map(|batch| normalizer.normalize(batch)).collect::<Result<_>>()?;
                for (batch, records) in batches.iter().zip(&normalized) {
                    writer.write(records)?;
                    if let Some(rejects) = rejects.as_mut() {
                        rejects.write(&batch.rejects)?;
                    }
                }
                self.observer.advanced(reader.progress().position);
            }
        })();
        self.observer.finished();
        run?;
        let written = writer.finish()?;
        if let Some(rejects) = rejects {
            rejects.finish()?;
        }
        let stats = reader.stats();
        if written != stats.rows_passed {
            return Err(Error::invalid(format!(
                "rows written {written} differ from rows read {}",
                stats.rows_passed
            )));
        }
        Ok(NormalizeSummary {
            input: source.path().to_owned(),
            output: out.to_owned(),
            rows_read: stats.rows_read,
            rows_written: written,
            rows_rejected: stats.rows_rejected,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}
