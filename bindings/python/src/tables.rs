//! Tables: data read and prepared once (`khop.read`), from a file or any Arrow stream, and the
//! session (settings, configuration, progress) every job runs with.

use std::collections::BTreeMap;
use std::path::PathBuf;

use khop::read::ReadOptions;
use khop::record::{ColumnSpec, DatasetSpec, Role};
use khop::session::{Session, Table, TableSource};
use pyo3::prelude::*;

use crate::arrow::{self, Data};
use crate::errors;
use crate::index::PyIndex;
use crate::work::{self, Callback};

/// A table read and prepared for matching: its records normalized once, the rows rejected on
/// the way (with the reason), and the roles of its columns. Pass it to `link`, `dedupe`,
/// `reconcile` and `explain` as often as needed; it is read once.
#[pyclass(frozen, module = "khop", name = "Table")]
pub struct PyTable {
    pub table: Table,
}

#[pymethods]
impl PyTable {
    /// The table's name (in summaries and rejects).
    #[getter]
    fn name(&self) -> String {
        self.table.name().to_owned()
    }

    /// Records kept (rows read less rows rejected).
    fn __len__(&self) -> usize {
        self.table.len()
    }

    /// The role of each column used, by column name.
    #[getter]
    fn roles(&self) -> BTreeMap<String, String> {
        let dataset = self.table.source().dataset();
        dataset.columns.iter().map(|c| (c.name.clone(), c.role.as_str().to_owned())).collect()
    }

    /// The id column, or `None` when records are numbered by row.
    #[getter]
    fn id_column(&self) -> Option<String> {
        self.table.source().dataset().id_column.clone()
    }

    /// The rows rejected while reading, each a dict: `row` (1-based), `line` (text files),
    /// `column`, `reason` (a stable code), `message` and `raw` (the row as read, cut to 1,000
    /// bytes: this is the caller's own data).
    #[getter]
    fn rejects<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let rejects: Vec<serde_json::Value> = self
            .table
            .rejects()
            .iter()
            .map(|r| {
                serde_json::json!({
                    "row": r.row,
                    "line": r.line,
                    "column": r.column,
                    "reason": r.reason.code(),
                    "message": r.reason.to_string(),
                    "raw": r.raw,
                })
            })
            .collect();
        crate::json(py, &rejects)
    }

    /// What reading counted (rows read, passed, rejected), the roles, the id column and the
    /// warnings, as a dict.
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        crate::json(py, &self.table.summary())
    }

    fn __repr__(&self) -> String {
        let stats = self.table.stats();
        format!(
            "<khop.Table {:?}: {} records; {} rows read, {} rejected>",
            self.table.name(),
            self.table.len(),
            stats.rows_read,
            stats.rows_rejected
        )
    }
}

/// How to read a table, from the keyword arguments of `khop.read`.
#[derive(Clone, Default)]
pub struct ReadArgs {
    pub name: Option<String>,
    pub roles: Option<BTreeMap<String, String>>,
    pub id: Option<String>,
    pub null_values: Option<Vec<String>>,
    pub max_rejected_share: Option<f64>,
}

impl ReadArgs {
    fn options(&self) -> ReadOptions {
        let mut options = ReadOptions::default();
        if let Some(values) = &self.null_values {
            options.null_values = values.clone();
        }
        if let Some(share) = self.max_rejected_share {
            options.max_rejected_share = Some(share);
        }
        options
    }

    /// The roles given, with the id column; `None` to detect them.
    fn dataset(&self) -> PyResult<Option<DatasetSpec>> {
        let Some(roles) = &self.roles else {
            if self.id.is_some() {
                return Err(errors::invalid("`id` needs `roles`: give both, or neither to detect them"));
            }
            return Ok(None);
        };
        let mut columns = Vec::with_capacity(roles.len());
        for (column, role) in roles {
            let role: Role = role.parse().map_err(|e| errors::invalid(format!("column `{column}`: {e}")))?;
            columns.push(ColumnSpec::new(column, role));
        }
        Ok(Some(DatasetSpec { id_column: self.id.clone(), columns }))
    }
}

/// Reads and prepares `data` (a path, or an object with `__arrow_c_stream__`) off the GIL.
pub fn read(py: Python<'_>, data: &Bound<'_, PyAny>, args: &ReadArgs, session: Session) -> PyResult<Table> {
    let options = args.options();
    let dataset = args.dataset()?;
    let path = match arrow::data(data)? {
        Data::Arrow(batches) => {
            let name = args.name.clone().unwrap_or_else(|| "table".to_owned());
            return work::run(py, move || session.prepare_arrow(&name, batches, dataset.as_ref(), &options));
        }
        Data::Path(path) => path,
    };
    let name = args.name.clone();
    work::run(py, move || {
        let source = match dataset {
            Some(dataset) => {
                let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                TableSource::with_roles(stem, path, dataset, &options)
            }
            None => TableSource::detect(&path, &options)?,
        };
        let source = match name {
            Some(name) => source.named(name),
            None => source,
        };
        session.prepare(&source)
    })
}

/// A job's table: a `Table` as it is, an `Index`'s records, or anything `khop.read` takes, read
/// with detected roles.
pub fn table_arg(py: Python<'_>, data: &Bound<'_, PyAny>, name: &str, session: &Session) -> PyResult<Table> {
    if let Ok(table) = data.cast::<PyTable>() {
        return Ok(table.get().table.clone());
    }
    if let Ok(index) = data.cast::<PyIndex>() {
        return index.get().table(py);
    }
    let args = ReadArgs { name: arrow::is_arrow(data).then(|| name.to_owned()), ..ReadArgs::default() };
    read(py, data, &args, session.clone())
}

/// The session of a job: a configuration file's settings, or the defaults, with the thresholds
/// and options given, reporting to `progress` when given.
pub fn session(
    config: Option<PathBuf>,
    match_threshold: Option<f64>,
    review_threshold: Option<f64>,
    one_to_one: Option<bool>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Session> {
    let session = match config {
        Some(path) => Session::from_config_file(path).map_err(errors::to_py)?,
        None => Session::new(),
    };
    let session = session
        .configure(|s| {
            if let Some(p) = match_threshold {
                s.thresholds.match_probability = p;
            }
            if let Some(p) = review_threshold {
                s.thresholds.review_probability = p;
            }
            if let Some(one) = one_to_one {
                s.one_to_one = one;
            }
        })
        .map_err(errors::to_py)?;
    Ok(match progress {
        Some(callable) => session.with_observer(Callback::new(callable)),
        None => session,
    })
}

/// Profiles every column of `data` (a path or an Arrow object): completeness, distinct values,
/// lengths, accents and invalid shapes per column, with the roles detected, as a dict (the
/// `--json` output of `khop profile`). Rows that cannot be read are counted by reason.
pub fn profile(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    args: &ReadArgs,
    session: Session,
) -> PyResult<serde_json::Value> {
    let options = args.options();
    let profiled = match arrow::data(data)? {
        Data::Arrow(batches) => {
            let name = args.name.clone().unwrap_or_else(|| "table".to_owned());
            work::run(py, move || session.profile_arrow(&name, batches, &options))?
        }
        Data::Path(path) => work::run(py, move || {
            let (_, detection) = khop::config::detect::detect_file(&path, &options)?;
            let roles: Vec<_> = detection.columns.iter().map(|c| (c.name.clone(), c.role)).collect();
            session.profile(&path, &options, &roles)
        })?,
    };
    serde_json::to_value(&profiled.profile)
        .map_err(|e| errors::InternalError::new_err(format!("a profile does not serialize: {e}")))
}
