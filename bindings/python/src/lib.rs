//! The `khop` Python package's native module (`khop._khop`): a thin layer over the library's
//! [`khop::Session`]. It parses Python arguments, runs the library off the GIL (`work`) and
//! returns Arrow tables (`arrow`) and dicts; errors become `KhopError`s (`errors`).

mod arrow;
mod errors;
mod index;
mod jobs;
mod tables;
mod values;
mod work;

use std::collections::BTreeMap;
use std::path::PathBuf;

use pyo3::prelude::*;
use serde::Serialize;

// The allocator of the `khop` command, so that a call here costs what the command does.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A value as Python objects (dicts, lists, str, int, float, bool, None), through JSON.
pub(crate) fn json<'py, T: Serialize + ?Sized>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value)
        .map_err(|e| errors::InternalError::new_err(format!("a result does not serialize: {e}")))?;
    py.import("json")?.call_method1("loads", (text,))
}

/// Reads and prepares a table once, for the jobs to use as often as needed.
///
/// `data` is a file path (CSV, NDJSON or Parquet, by extension) or any object with
/// `__arrow_c_stream__` (a pyarrow Table or RecordBatchReader, a polars or pandas DataFrame, a
/// DuckDB relation), read without copying its strings. `roles` maps column names to roles
/// (`full_name`, `date_of_birth`, `national_id`, `address`, ...; see `khop.ROLES`) and `id`
/// names the id column; without them both are detected from the column names and values.
/// `null_values` are the values that mean "missing" (default: the empty string); a read that
/// rejects more than `max_rejected_share` of its rows fails. `name` names the table in
/// summaries (default: the file's stem, or "table").
#[pyfunction]
#[pyo3(signature = (data, *, name = None, roles = None, id = None, null_values = None, max_rejected_share = None, progress = None))]
#[allow(clippy::too_many_arguments)]
fn read(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    name: Option<String>,
    roles: Option<BTreeMap<String, String>>,
    id: Option<String>,
    null_values: Option<Vec<String>>,
    max_rejected_share: Option<f64>,
    progress: Option<Py<PyAny>>,
) -> PyResult<tables::PyTable> {
    let session = tables::session(None::<PathBuf>, None, None, None, progress)?;
    let args = tables::ReadArgs { name, roles, id, null_values, max_rejected_share };
    let table = tables::read(py, data, &args, session)?;
    Ok(tables::PyTable { table })
}

/// Profiles every column of `data` (a file path or an Arrow object, as for `read`):
/// completeness, distinct values, lengths, accents and invalid shapes, with each column's
/// detected role; the `--json` output of `khop profile`, as a dict.
#[pyfunction]
#[pyo3(signature = (data, *, name = None, null_values = None, progress = None))]
fn profile<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    name: Option<String>,
    null_values: Option<Vec<String>>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let session = tables::session(None::<PathBuf>, None, None, None, progress)?;
    let args =
        tables::ReadArgs { name, null_values, max_rejected_share: Some(1.0), ..tables::ReadArgs::default() };
    let profiled = tables::profile(py, data, &args, session)?;
    json(py, &profiled)
}

#[pymodule]
fn _khop(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("ROLES", khop::Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>())?;
    errors::register(m)?;
    m.add_class::<arrow::ArrowTable>()?;
    m.add_class::<tables::PyTable>()?;
    m.add_class::<jobs::PyModel>()?;
    m.add_class::<jobs::PyLinkResult>()?;
    m.add_class::<jobs::PyDedupeResult>()?;
    m.add_class::<jobs::PyReconcileResult>()?;
    m.add_class::<jobs::PySourcesResult>()?;
    m.add_class::<index::PyIndex>()?;
    m.add_function(wrap_pyfunction!(read, m)?)?;
    m.add_function(wrap_pyfunction!(profile, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::link, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::link_sources, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::dedupe, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::dedupe_share, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::dedupe_from_links, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::reconcile, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::explain, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::train, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::link_thresholds, m)?)?;
    m.add_function(wrap_pyfunction!(values::normalize_name, m)?)?;
    m.add_function(wrap_pyfunction!(values::parse_date, m)?)?;
    m.add_function(wrap_pyfunction!(values::decode_id, m)?)?;
    m.add_function(wrap_pyfunction!(values::parse_address, m)?)?;
    m.add_function(wrap_pyfunction!(values::generate_population, m)?)?;
    Ok(())
}
