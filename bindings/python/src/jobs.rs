//! The library's jobs as Python calls: link, dedupe, reconcile, explain, train, and the model.
//! Each reads what it is given (or takes a `Table` read before), runs off the GIL and returns an
//! object holding the result: Arrow tables on demand and summaries as dicts.

use std::path::PathBuf;

use arrow_array::RecordBatch;
use khop::block::Share;
use khop::cluster::ClusterOptions;
use khop::cluster::output::{links_batch, links_from_batches};
use khop::link::output::links_schema_for;
use khop::report::ReportOptions;
use khop::review::Labels;
use khop::score::Model;
use khop::session::{CombinedRun, DedupeRun, LinkRun, ReconcileRun, Session};
use pyo3::prelude::*;

use crate::arrow::ArrowTable;
use crate::errors;
use crate::tables::{self, table_arg};
use crate::work;

/// Collects `batches` into an [`ArrowTable`] of `schema`.
fn arrow_table(
    schema: arrow_schema::SchemaRef,
    batches: impl Iterator<Item = khop::Result<RecordBatch>>,
) -> PyResult<ArrowTable> {
    let batches = batches.collect::<khop::Result<Vec<_>>>().map_err(errors::to_py)?;
    Ok(ArrowTable::new(schema, batches))
}

/// An `ArrowTable` of batches, the schema taken from the first (an empty table without one).
fn arrow_table_of(batches: Vec<RecordBatch>) -> ArrowTable {
    let schema = batches
        .first()
        .map(RecordBatch::schema)
        .unwrap_or_else(|| std::sync::Arc::new(arrow_schema::Schema::empty()));
    ArrowTable::new(schema, batches)
}

/// A Fellegi-Sunter model: the weight of each comparison level, trained without labels. Save it
/// to reuse on the next run (`model=` of `link`, `reconcile`, `explain`), as `khop train` does.
#[pyclass(frozen, module = "khop", name = "Model")]
pub struct PyModel {
    pub model: Model,
}

#[pymethods]
impl PyModel {
    /// Reads a model file (JSON, as `khop train` and `Model.save` write it).
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<PyModel> {
        let text = std::fs::read_to_string(&path).map_err(|e| {
            errors::to_py(khop::Error::from(khop::ErrorKind::Io {
                path: path.clone(),
                action: "read",
                source: e,
            }))
        })?;
        Self::from_json(&text)
    }

    /// A model from its JSON text.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<PyModel> {
        Ok(PyModel { model: Model::from_json(text).map_err(errors::to_py)? })
    }

    /// The model as JSON text.
    fn to_json(&self) -> String {
        self.model.to_json()
    }

    /// Writes the model to `path` (replaced only once written whole).
    fn save(&self, path: PathBuf) -> PyResult<()> {
        khop::write::write_atomic(path, self.model.to_json()).map_err(errors::to_py)
    }

    /// An empty table with the columns of the links a link with this model writes (a level
    /// column per comparison of the model, in the model's order: a link puts them in the data's
    /// order, the same names): for callers that must declare a schema first (Spark).
    fn links_template(&self) -> ArrowTable {
        let schema = links_schema_for(self.model.comparisons.iter().map(|c| c.spec.name.as_str()));
        ArrowTable::new(schema, Vec::new())
    }

    fn __repr__(&self) -> String {
        format!("<khop.Model: {} comparisons>", self.model.width())
    }
}

/// What `khop.link` found: one row of `links` per sector record (its best national record,
/// probability, decision, runner-up, explanation), the counts in `summary`, and the model.
#[pyclass(frozen, module = "khop", name = "LinkResult")]
pub struct PyLinkResult {
    run: LinkRun,
}

#[pymethods]
impl PyLinkResult {
    /// The links, one row per sector record, as an Arrow table.
    #[getter]
    fn links(&self) -> PyResult<ArrowTable> {
        let schema = self.run.schema().map_err(errors::to_py)?;
        arrow_table(schema, self.run.batches().map_err(errors::to_py)?)
    }

    /// The counts of the run (decisions, candidate pairs per rule, seconds per stage), as a dict:
    /// the `--summary` file of `khop link`.
    #[getter]
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        crate::json(py, &self.run.summary())
    }

    /// The model the links were scored with.
    #[getter]
    fn model(&self) -> PyModel {
        PyModel { model: self.run.model().clone() }
    }

    /// Writes the links to `path` (Parquet, CSV or NDJSON, by extension); returns the rows.
    fn write(&self, py: Python<'_>, path: PathBuf) -> PyResult<u64> {
        py.detach(|| self.run.write(&path)).map_err(errors::to_py)
    }

    /// The run's report as one self-contained HTML page (`khop link --report`), with `samples`
    /// pairs near each threshold (0: no record in it).
    #[pyo3(signature = (*, samples = 8))]
    fn report(&self, py: Python<'_>, samples: usize) -> PyResult<String> {
        let options = ReportOptions { samples };
        py.detach(|| self.run.report(&options).map(|r| r.to_html())).map_err(errors::to_py)
    }

    /// The `pairs` pairs a clerk should settle first, none of them settled by the labels files
    /// `labels` (`khop review export`): as an Arrow table with an empty `label` column, or, with
    /// `page=True`, as the clerk's offline HTML page.
    #[pyo3(signature = (*, labels = Vec::new(), pairs = 500, page = false))]
    fn review(&self, py: Python<'_>, labels: Vec<PathBuf>, pairs: usize, page: bool) -> PyResult<Py<PyAny>> {
        let review = py
            .detach(|| Labels::read_all(&labels).and_then(|labels| self.run.review(&labels, pairs)))
            .map_err(errors::to_py)?;
        if page {
            return Ok(review.to_html().into_pyobject(py)?.into_any().unbind());
        }
        let table = arrow_table_of(vec![review.batch().map_err(errors::to_py)?]);
        Ok(Py::new(py, table)?.into_any())
    }

    fn __repr__(&self) -> String {
        let s = self.run.summary();
        format!(
            "<khop.LinkResult: {} sector records; {} matches, {} to review>",
            self.run.results().len(),
            s.decisions.r#match,
            s.decisions.review
        )
    }
}

/// What `khop.dedupe` found: `clusters` (each record with its cluster), `pairs` (the links
/// between records of a cluster), `summary` and the model.
#[pyclass(frozen, module = "khop", name = "DedupeResult")]
pub struct PyDedupeResult {
    run: DedupeRun,
}

#[pymethods]
impl PyDedupeResult {
    /// Each record with its cluster, as an Arrow table.
    #[getter]
    fn clusters(&self) -> PyResult<ArrowTable> {
        Ok(arrow_table_of(vec![self.run.clusters_batch().map_err(errors::to_py)?]))
    }

    /// The scored pairs inside clusters, as an Arrow table.
    #[getter]
    fn pairs(&self) -> PyResult<ArrowTable> {
        Ok(arrow_table_of(vec![self.run.pairs_batch().map_err(errors::to_py)?]))
    }

    /// The counts of the run, as a dict (the `--summary` file of `khop dedupe`).
    #[getter]
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        crate::json(py, &self.run.summary())
    }

    /// The model trained.
    #[getter]
    fn model(&self) -> PyModel {
        PyModel { model: self.run.model().clone() }
    }

    /// The run's report as one self-contained HTML page (`khop dedupe --report`), with
    /// `samples` links nearest the threshold (0: no record in it).
    #[pyo3(signature = (*, samples = 8))]
    fn report(&self, py: Python<'_>, samples: usize) -> PyResult<String> {
        let options = ReportOptions { samples };
        py.detach(|| self.run.report(&options).map(|r| r.to_html())).map_err(errors::to_py)
    }
}

/// What `khop.reconcile` found: the `worklist` (one row per field that disagrees between a
/// sector record and the national record it matches), the `unmatched` sector records with their
/// closest national record, the `links` and the `summary`.
#[pyclass(frozen, module = "khop", name = "ReconcileResult")]
pub struct PyReconcileResult {
    run: ReconcileRun,
}

#[pymethods]
impl PyReconcileResult {
    /// The fields to correct, as an Arrow table.
    #[getter]
    fn worklist(&self) -> PyResult<ArrowTable> {
        Ok(arrow_table_of(
            self.run.worklist_batches().collect::<khop::Result<Vec<_>>>().map_err(errors::to_py)?,
        ))
    }

    /// Sector records with no accepted match, as an Arrow table.
    #[getter]
    fn unmatched(&self) -> PyResult<ArrowTable> {
        let batches = self.run.unmatched_batches().map_err(errors::to_py)?;
        Ok(arrow_table_of(batches.collect::<khop::Result<Vec<_>>>().map_err(errors::to_py)?))
    }

    /// The links the worklist comes from, as an Arrow table.
    #[getter]
    fn links(&self) -> PyResult<ArrowTable> {
        let link = self.run.link();
        arrow_table(link.schema().map_err(errors::to_py)?, link.batches().map_err(errors::to_py)?)
    }

    /// The counts of the run, as a dict (the `--summary` file of `khop reconcile`).
    #[getter]
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        crate::json(py, &self.run.summary())
    }

    /// The run's report as one self-contained HTML page (`khop reconcile --report`), with
    /// `samples` pairs near each threshold (0: no record in it).
    #[pyo3(signature = (*, samples = 8))]
    fn report(&self, py: Python<'_>, samples: usize) -> PyResult<String> {
        let options = ReportOptions { samples };
        py.detach(|| self.run.report(&options).map(|r| r.to_html())).map_err(errors::to_py)
    }
}

/// Links each record of `sector` to the national record it belongs to.
///
/// `sector` and `national` are each a `khop.Table`, a file path (CSV, NDJSON, Parquet), an object
/// with `__arrow_c_stream__` (pyarrow, polars, pandas, DuckDB) or, for `national`, a `khop.Index`.
/// Roles are detected where not read before with `khop.read(roles=...)`. `model` skips training;
/// `config` is a khop TOML configuration; the thresholds and `one_to_one` override it. `progress`
/// is called as `progress(stage, position, total)`.
#[pyfunction]
#[pyo3(signature = (sector, national, *, model = None, config = None, match_threshold = None, review_threshold = None, one_to_one = None, clear_margin = None, progress = None))]
#[allow(clippy::too_many_arguments)]
pub fn link(
    py: Python<'_>,
    sector: &Bound<'_, PyAny>,
    national: &Bound<'_, PyAny>,
    model: Option<PyRef<'_, PyModel>>,
    config: Option<PathBuf>,
    match_threshold: Option<f64>,
    review_threshold: Option<f64>,
    one_to_one: Option<bool>,
    clear_margin: Option<&Bound<'_, PyAny>>,
    progress: Option<Py<PyAny>>,
) -> PyResult<PyLinkResult> {
    let session = tables::session(config, match_threshold, review_threshold, one_to_one, progress)?;
    let session = with_clear_margin(session, clear_margin)?;
    let sector = table_arg(py, sector, "sector", &session)?;
    let national = table_arg(py, national, "national", &session)?;
    let model = model.map(|m| m.model.clone());
    let run = work::run(py, move || session.link(&sector, &national, model.as_ref()))?;
    Ok(PyLinkResult { run })
}

/// Finds the records of `table` that belong to the same person, and clusters them.
///
/// `table` is a `khop.Table`, a file path or an Arrow object (see `link`). `model` (from
/// `khop.train(table)`) is used instead of training one. `threshold` is the probability at or
/// above which a pair is a link (0.9), `min_link_density` the share of the pairs between two
/// groups that must be links for them to merge (0.5; 0 gives connected components), as
/// `khop dedupe --threshold --min-link-density`.
#[pyfunction]
#[pyo3(signature = (table, *, model = None, config = None, threshold = None, min_link_density = None, progress = None))]
pub fn dedupe(
    py: Python<'_>,
    table: &Bound<'_, PyAny>,
    model: Option<PyRef<'_, PyModel>>,
    config: Option<PathBuf>,
    threshold: Option<f64>,
    min_link_density: Option<f64>,
    progress: Option<Py<PyAny>>,
) -> PyResult<PyDedupeResult> {
    let session = dedupe_session(config, threshold, min_link_density, progress)?;
    let table = table_arg(py, table, "table", &session)?;
    let model = model.map(|m| m.model.clone());
    let run = work::run(py, move || match &model {
        Some(model) => session.dedupe_with(&table, model),
        None => session.dedupe(&table),
    })?;
    Ok(PyDedupeResult { run })
}

/// Scores share `share = (index, count)` of the candidate pairs of deduplicating `table` with
/// `model`, and returns the links (pairs at or above `threshold`) as an Arrow table of record
/// numbers (`a`, `b`, from 0 in `table`'s order) and `probability`, with the number of pairs
/// scored. Processes that hold the same table (Spark tasks, see `khop.spark.dedupe`) each score
/// one share; `dedupe_from_links` clusters the links of all shares: the answer of `dedupe` with
/// the same model.
#[pyfunction]
#[pyo3(signature = (table, model, *, share, config = None, threshold = None, min_link_density = None, progress = None))]
#[allow(clippy::too_many_arguments)]
pub fn dedupe_share(
    py: Python<'_>,
    table: &Bound<'_, PyAny>,
    model: PyRef<'_, PyModel>,
    share: (u32, u32),
    config: Option<PathBuf>,
    threshold: Option<f64>,
    min_link_density: Option<f64>,
    progress: Option<Py<PyAny>>,
) -> PyResult<(ArrowTable, u64)> {
    let session = dedupe_session(config, threshold, min_link_density, progress)?;
    let table = table_arg(py, table, "table", &session)?;
    let model = model.model.clone();
    let scored = work::run(py, move || {
        let share = Share::new(share.0, share.1)?;
        session.dedupe_share(&table, &model, share)
    })?;
    let batch = links_batch(&scored.edges).map_err(errors::to_py)?;
    Ok((ArrowTable::new(batch.schema(), vec![batch]), scored.pairs_scored))
}

/// Clusters `table` from `links` (an Arrow object with the columns of `dedupe_share`'s links,
/// from every share) scored with `model`; returns what `dedupe` returns.
#[pyfunction]
#[pyo3(signature = (table, links, *, model, config = None, threshold = None, min_link_density = None, progress = None))]
#[allow(clippy::too_many_arguments)]
pub fn dedupe_from_links(
    py: Python<'_>,
    table: &Bound<'_, PyAny>,
    links: &Bound<'_, PyAny>,
    model: PyRef<'_, PyModel>,
    config: Option<PathBuf>,
    threshold: Option<f64>,
    min_link_density: Option<f64>,
    progress: Option<Py<PyAny>>,
) -> PyResult<PyDedupeResult> {
    let session = dedupe_session(config, threshold, min_link_density, progress)?;
    let table = table_arg(py, table, "table", &session)?;
    let links = match crate::arrow::data(links)? {
        crate::arrow::Data::Arrow(reader) => reader,
        crate::arrow::Data::Path(_) => {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "`links` must be an Arrow object (the links of `dedupe_share`), not a path",
            ));
        }
    };
    let model = model.model.clone();
    let run = work::run(py, move || {
        let links = links_from_batches(links)?;
        session.dedupe_from_links(&table, model, None, links)
    })?;
    Ok(PyDedupeResult { run })
}

/// A session for deduplication: the configuration, then the clustering options given.
fn dedupe_session(
    config: Option<PathBuf>,
    threshold: Option<f64>,
    min_link_density: Option<f64>,
    progress: Option<Py<PyAny>>,
) -> PyResult<khop::session::Session> {
    let session = tables::session(config, None, None, None, progress)?;
    let defaults = *session.cluster_options();
    session
        .with_cluster_options(ClusterOptions {
            threshold: threshold.unwrap_or(defaults.threshold),
            min_link_density: min_link_density.unwrap_or(defaults.min_link_density),
        })
        .map_err(errors::to_py)
}

/// Links `sector` to `national` and lists, for each match, the fields that disagree (the
/// correction worklist), and the sector records left unmatched. Arguments as for `link`.
#[pyfunction]
#[pyo3(signature = (sector, national, *, model = None, config = None, match_threshold = None, review_threshold = None, progress = None))]
#[allow(clippy::too_many_arguments)]
pub fn reconcile(
    py: Python<'_>,
    sector: &Bound<'_, PyAny>,
    national: &Bound<'_, PyAny>,
    model: Option<PyRef<'_, PyModel>>,
    config: Option<PathBuf>,
    match_threshold: Option<f64>,
    review_threshold: Option<f64>,
    progress: Option<Py<PyAny>>,
) -> PyResult<PyReconcileResult> {
    let session = tables::session(config, match_threshold, review_threshold, None, progress)?;
    let sector = table_arg(py, sector, "sector", &session)?;
    let national = table_arg(py, national, "national", &session)?;
    let model = model.map(|m| m.model.clone());
    let run = work::run(py, move || session.reconcile(&sector, &national, model.as_ref()))?;
    Ok(PyReconcileResult { run })
}

/// Explains one pair for a clerk: each comparison's values, level and weight, the total weight
/// and probability, as a dict. The ids are record ids of `sector` and `national`.
#[pyfunction]
#[pyo3(signature = (sector, national, sector_id, national_id, *, model = None, config = None))]
pub fn explain<'py>(
    py: Python<'py>,
    sector: &Bound<'py, PyAny>,
    national: &Bound<'py, PyAny>,
    sector_id: String,
    national_id: String,
    model: Option<PyRef<'py, PyModel>>,
    config: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    let session = tables::session(config, None, None, None, None)?;
    let sector = table_arg(py, sector, "sector", &session)?;
    let national = table_arg(py, national, "national", &session)?;
    let model = model.map(|m| m.model.clone());
    let explained =
        work::run(py, move || session.explain(&sector, &national, &sector_id, &national_id, model.as_ref()))?;
    crate::json(py, &explained.explanation)
}

/// Trains a model on `sector` against `national` without labels (EM); returns the model and
/// what training did (pairs, iterations, convergence), as a dict. Without `national`, trains a
/// model for deduplicating `sector` (as `dedupe` does). `labels` (labels files of a clerk's
/// answers, as `khop train --labels`) then fit the prior to the answers, and with
/// `label_strength` combine each comparison's m with the labelled matches; the dict then has
/// `labels` (what was made of them).
#[pyfunction]
#[pyo3(signature = (sector, national = None, *, config = None, labels = Vec::new(), label_strength = None, progress = None))]
#[allow(clippy::too_many_arguments)]
pub fn train<'py>(
    py: Python<'py>,
    sector: &Bound<'py, PyAny>,
    national: Option<&Bound<'py, PyAny>>,
    config: Option<PathBuf>,
    labels: Vec<PathBuf>,
    label_strength: Option<f64>,
    progress: Option<Py<PyAny>>,
) -> PyResult<(PyModel, Bound<'py, PyAny>)> {
    let session = tables::session(config, None, None, None, progress)?;
    let sector = table_arg(py, sector, "sector", &session)?;
    let (model, report) = match (national, labels.is_empty()) {
        (None, false) => {
            return Err(errors::invalid("labels train a link model: give the national table too"));
        }
        (None, true) => {
            let (model, report) = work::run(py, move || session.train_dedupe(&sector))?;
            (model, crate::json(py, &report)?)
        }
        (Some(national), true) => {
            let national = table_arg(py, national, "national", &session)?;
            let (model, report) = work::run(py, move || session.train(&sector, &national))?;
            (model, crate::json(py, &report)?)
        }
        (Some(national), false) => {
            let national = table_arg(py, national, "national", &session)?;
            let (model, report, used) = work::run(py, move || {
                let labels = Labels::read_all(&labels)?;
                session.train_with_labels(&sector, &national, &labels, label_strength)
            })?;
            let report = crate::json(py, &report)?;
            report.set_item("labels", crate::json(py, &used)?)?;
            (model, report)
        }
    };
    Ok((PyModel { model }, report))
}

/// `session` with `clear_margin` applied: `None` leaves the configuration's, `False` turns the
/// promotion of clear reviews off, a number of bits turns it on
/// (`khop::link::Thresholds::clear_margin`).
fn with_clear_margin(session: Session, clear_margin: Option<&Bound<'_, PyAny>>) -> PyResult<Session> {
    let margin = match clear_margin {
        None => return Ok(session),
        Some(value) if value.is_instance_of::<pyo3::types::PyBool>() => {
            if value.extract::<bool>()? {
                return Err(errors::invalid("clear_margin is a number of bits, or False to turn it off"));
            }
            None
        }
        Some(value) => Some(
            value
                .extract::<f64>()
                .map_err(|_| errors::invalid("clear_margin is a number of bits, or False to turn it off"))?,
        ),
    };
    session.configure(|s| s.thresholds.clear_margin = margin).map_err(errors::to_py)
}

/// How a link would decide with these arguments (`khop.link`'s), as a dict: the thresholds
/// `match_probability`, `review_probability`, `ambiguity_margin`, `clear_margin` (None: off),
/// and `one_to_one`.
#[pyfunction]
#[pyo3(signature = (*, config = None, match_threshold = None, review_threshold = None, one_to_one = None, clear_margin = None))]
pub fn link_thresholds<'py>(
    py: Python<'py>,
    config: Option<PathBuf>,
    match_threshold: Option<f64>,
    review_threshold: Option<f64>,
    one_to_one: Option<bool>,
    clear_margin: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let session = tables::session(config, match_threshold, review_threshold, one_to_one, None)?;
    let session = with_clear_margin(session, clear_margin)?;
    let settings = session.settings();
    let mut decision = serde_json::to_value(settings.thresholds)
        .map_err(|e| errors::InternalError::new_err(format!("the thresholds do not serialize: {e}")))?;
    decision["one_to_one"] = settings.one_to_one.into();
    crate::json(py, &decision)
}

/// What `khop.link_sources` found: each source's `LinkResult` (`runs`, by source name), and what
/// the sources say together: `persons` (one row per national person, with the sources that found
/// them), `conflicts` (the claims that disagree) and `summary`.
#[pyclass(frozen, module = "khop", name = "SourcesResult")]
pub struct PySourcesResult {
    runs: Vec<(String, Py<PyLinkResult>)>,
    combined: CombinedRun,
}

#[pymethods]
impl PySourcesResult {
    /// Each source's links, by source name, in the order given.
    #[getter]
    fn runs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let runs = pyo3::types::PyDict::new(py);
        for (name, run) in &self.runs {
            runs.set_item(name, run.clone_ref(py))?;
        }
        Ok(runs)
    }

    /// One row per national person: the sources that found them and the ids of their rows.
    #[getter]
    fn persons(&self) -> PyResult<ArrowTable> {
        arrow_table(self.combined.combined().persons_schema(), self.combined.persons_batches())
    }

    /// One row per claim in a conflict (two sources matching one row to different persons, or
    /// one source matching two of its rows to one person).
    #[getter]
    fn conflicts(&self) -> PyResult<ArrowTable> {
        Ok(arrow_table_of(vec![self.combined.conflicts_batch().map_err(errors::to_py)?]))
    }

    /// Persons by number of sources, and conflicts, as a dict.
    #[getter]
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        crate::json(py, &self.combined.summary())
    }
}

/// Links several sector tables to one national table in one run: the national table is prepared
/// and its blocking keys indexed once; each source gets its own model (its links are those of a
/// `link` of its own), or one model trained on all of them with `shared_model`, or `model`.
///
/// `sources` is a dict of name to data, or a list of data (named by their file's stem, or
/// `source_1`, `source_2`... for Arrow data); data and the other arguments as for `link`.
#[pyfunction]
#[pyo3(signature = (sources, national, *, shared_model = false, model = None, config = None, match_threshold = None, review_threshold = None, progress = None))]
#[allow(clippy::too_many_arguments)]
pub fn link_sources(
    py: Python<'_>,
    sources: &Bound<'_, PyAny>,
    national: &Bound<'_, PyAny>,
    shared_model: bool,
    model: Option<PyRef<'_, PyModel>>,
    config: Option<PathBuf>,
    match_threshold: Option<f64>,
    review_threshold: Option<f64>,
    progress: Option<Py<PyAny>>,
) -> PyResult<PySourcesResult> {
    if shared_model && model.is_some() {
        return Err(errors::invalid("give `model` or `shared_model`, not both"));
    }
    let session = tables::session(config, match_threshold, review_threshold, None, progress)?;
    let named: Vec<(Option<String>, Bound<'_, PyAny>)> = match sources.cast::<pyo3::types::PyDict>() {
        Ok(dict) => {
            dict.iter().map(|(k, v)| Ok((Some(k.extract::<String>()?), v))).collect::<PyResult<_>>()?
        }
        Err(_) => sources.try_iter()?.map(|v| Ok((None, v?))).collect::<PyResult<_>>()?,
    };
    if named.is_empty() {
        return Err(errors::invalid("no source to link"));
    }
    let mut tables = Vec::with_capacity(named.len());
    for (i, (name, data)) in named.iter().enumerate() {
        let table = match name {
            // Data read here takes the dict's name; a table read before keeps its own, which
            // must then be the dict's.
            Some(name) if !data.is_instance_of::<tables::PyTable>() => {
                let args = tables::ReadArgs { name: Some(name.clone()), ..tables::ReadArgs::default() };
                tables::read(py, data, &args, session.clone())?
            }
            Some(name) => {
                let table = table_arg(py, data, name, &session)?;
                if table.name() != name {
                    return Err(errors::invalid(format!(
                        "the table given as `{name}` is named `{}`: read it with khop.read(..., name=\"{name}\")",
                        table.name()
                    )));
                }
                table
            }
            None => table_arg(py, data, &format!("source_{}", i + 1), &session)?,
        };
        tables.push(table);
    }
    let national = table_arg(py, national, "national", &session)?;
    let model = model.map(|m| m.model.clone());
    let (runs, combined) = work::run(py, move || {
        let mut multi = session.multi_link(&national);
        if shared_model {
            multi.train_shared(&tables)?;
        } else if let Some(model) = model {
            multi.use_model(model);
        }
        let runs = tables
            .iter()
            .map(|table| Ok((table.name().to_owned(), multi.link(table)?)))
            .collect::<khop::Result<Vec<_>>>()?;
        Ok((runs, multi.finish()))
    })?;
    let runs = runs
        .into_iter()
        .map(|(name, run)| Ok((name, Py::new(py, PyLinkResult { run })?)))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(PySourcesResult { runs, combined })
}
