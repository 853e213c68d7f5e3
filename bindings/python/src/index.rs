//! The persistent national index (`khop index` of the command line): built once from the
//! national table, looked up one record at a time, updated as records change.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use khop::index::{LookupOptions, NationalIndex};
use khop::read::ReadOptions;
use khop::session::{Session, Table, TableSource};
use pyo3::prelude::*;

use crate::arrow::{self, Data};
use crate::errors;
use crate::jobs::PyModel;
use crate::tables::PyTable;
use crate::work;

/// A national index folder, open. Lookups run against the last commit it has seen (`reload`
/// takes the newest); `update` commits through the index's single writer. Lookups from several
/// Python threads run at once, and never wait for an update: an update changes a clone of the
/// index and swaps it in.
#[pyclass(frozen, module = "khop", name = "Index")]
pub struct PyIndex {
    shared: Arc<Shared>,
}

/// The index as lookups see it, the lock of the one change (update, reload) in progress, and its
/// records as a table for links, with their blocking keys kept from one link to the next.
struct Shared {
    current: RwLock<Arc<NationalIndex>>,
    changing: Mutex<()>,
    table: Mutex<Option<(std::sync::Weak<NationalIndex>, Table)>>,
}

impl Shared {
    fn new(index: NationalIndex) -> Arc<Shared> {
        Arc::new(Shared {
            current: RwLock::new(Arc::new(index)),
            changing: Mutex::new(()),
            table: Mutex::new(None),
        })
    }

    /// The index as it is now. The lock guards a pointer swapped whole, so a poisoned lock (a
    /// panic elsewhere) still holds a whole index.
    fn current(&self) -> Arc<NationalIndex> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Runs `change` on a clone of the index and swaps the clone in once it succeeded; lookups
    /// meanwhile see the index as it was.
    fn change<T>(&self, change: impl FnOnce(&mut NationalIndex) -> khop::Result<T>) -> khop::Result<T> {
        let _changing = self.changing.lock().unwrap_or_else(PoisonError::into_inner);
        let mut next = NationalIndex::clone(&self.current());
        let done = change(&mut next)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        // The table of the records before the change goes (and its memory with it).
        *self.table.lock().unwrap_or_else(PoisonError::into_inner) = None;
        Ok(done)
    }
}

impl PyIndex {
    /// The records the index holds now, as a table (for `link` and `reconcile`). The table is
    /// kept until the index changes, with the blocking keys of its records once a link has
    /// computed them (`Table::keeping_keys`): the next link to the same index (a Spark worker's
    /// next task, a loop over sector tables) skips hashing and sorting the national records.
    pub fn table(&self, py: Python<'_>) -> PyResult<Table> {
        let index = self.shared.current();
        if let Some((of, table)) = &*self.shared.table.lock().unwrap_or_else(PoisonError::into_inner)
            && std::ptr::eq(of.as_ptr(), Arc::as_ptr(&index))
        {
            return Ok(table.clone());
        }
        let weak = Arc::downgrade(&index);
        let table = work::run(py, move || Table::from_index(&index))?.keeping_keys();
        *self.shared.table.lock().unwrap_or_else(PoisonError::into_inner) = Some((weak, table.clone()));
        Ok(table)
    }
}

#[pymethods]
impl PyIndex {
    /// Opens the index folder `path`, checking every file against the manifest's checksums.
    #[staticmethod]
    fn open(py: Python<'_>, path: PathBuf) -> PyResult<PyIndex> {
        let index = work::run(py, move || NationalIndex::open(&path))?;
        Ok(PyIndex { shared: Shared::new(index) })
    }

    /// Writes `table` (a `khop.Table`), prepared, as a new index folder `path`, with `model`
    /// for lookups (train one with `khop.train`).
    #[staticmethod]
    #[pyo3(signature = (table, path, *, model = None))]
    fn build(
        py: Python<'_>,
        table: PyRef<'_, PyTable>,
        path: PathBuf,
        model: Option<PyRef<'_, PyModel>>,
    ) -> PyResult<PyIndex> {
        let table = table.table.clone();
        let model = model.map(|m| m.model.clone());
        let index = work::run(py, move || Session::new().build_index(&table, &path, model.as_ref()))?;
        Ok(PyIndex { shared: Shared::new(index) })
    }

    /// Looks up `records` (one dict, or a list of them) whose keys are role names
    /// (`full_name`, `date_of_birth`, `national_id`, `address`, ...). Returns, for each, a dict:
    /// `best_id`, `decision`, `probability`, `margin`, `ambiguous`, the `top` `candidates` with
    /// their explanations, what each rule found, and the fields the model cannot use. With
    /// `fuzzy`, a record nothing reaches the review threshold for is looked for again by its
    /// names within two typing errors.
    #[pyo3(signature = (records, *, top = 3, fuzzy = true, model = None))]
    fn lookup<'py>(
        &self,
        py: Python<'py>,
        records: &Bound<'py, PyAny>,
        top: usize,
        fuzzy: bool,
        model: Option<PyRef<'py, PyModel>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let single = records.is_instance_of::<pyo3::types::PyDict>();
        let text: String = py
            .import("json")?
            .call_method1("dumps", (records,))
            .map_err(|e| {
                pyo3::exceptions::PyTypeError::new_err(format!(
                    "records must be dicts of text, numbers or None: {e}"
                ))
            })?
            .extract()?;
        let records: Vec<serde_json::Map<String, serde_json::Value>> = match serde_json::from_str(&text) {
            Ok(serde_json::Value::Object(one)) => vec![one],
            Ok(serde_json::Value::Array(many)) => many
                .into_iter()
                .enumerate()
                .map(|(i, value)| match value {
                    serde_json::Value::Object(record) => Ok(record),
                    _ => Err(pyo3::exceptions::PyTypeError::new_err(format!("record {i} is not a dict"))),
                })
                .collect::<PyResult<_>>()?,
            _ => {
                return Err(pyo3::exceptions::PyTypeError::new_err(
                    "records must be a dict or a list of dicts",
                ));
            }
        };
        let model = model.map(|m| m.model.clone());
        let index = self.shared.current();
        let options = LookupOptions { top, fuzzy };
        let answers = work::run(py, move || {
            let found = Session::new().lookup(&index, &records, model.as_ref(), &options)?;
            Ok(found.iter().map(|l| l.to_json(&index)).collect::<Vec<_>>())
        })?;
        match (single, answers.as_slice()) {
            (true, [one]) => crate::json(py, one),
            _ => crate::json(py, &answers),
        }
    }

    /// Upserts the records of `upserts` (a path or an Arrow object with the index's columns) and
    /// deletes the records of the ids `deletes`, in one commit. Returns what it did, as a dict.
    #[pyo3(signature = (upserts = None, deletes = None))]
    fn update<'py>(
        &self,
        py: Python<'py>,
        upserts: Option<&Bound<'py, PyAny>>,
        deletes: Option<Vec<String>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let session = Session::new();
        let upserts = match upserts {
            None => None,
            Some(data) => {
                let index = self.shared.current();
                let source = TableSource::for_index(&index, index.dir()).map_err(errors::to_py)?;
                let dataset = source.dataset().clone();
                let session = session.clone();
                Some(match arrow::data(data)? {
                    Data::Arrow(batches) => work::run(py, move || {
                        session.prepare_arrow("upserts", batches, Some(&dataset), &ReadOptions::default())
                    })?,
                    Data::Path(path) => {
                        work::run(py, move || session.prepare(&TableSource::for_index(&index, &path)?))?
                    }
                })
            }
        };
        let deletes = deletes.unwrap_or_default();
        let shared = Arc::clone(&self.shared);
        let done = work::run(py, move || {
            shared.change(|index| session.update_index(index, upserts.as_ref(), &deletes))
        })?;
        crate::json(py, &done)
    }

    /// Takes the index's newest commit (another process's update); returns whether there was
    /// one.
    fn reload(&self, py: Python<'_>) -> PyResult<bool> {
        let shared = Arc::clone(&self.shared);
        work::run(py, move || shared.change(NationalIndex::reload))
    }

    /// Records the index holds at the commit it has seen.
    fn __len__(&self) -> PyResult<usize> {
        Ok(self.shared.current().commit().records as usize)
    }

    /// The commit the index has seen (a number that grows with each update).
    #[getter]
    fn generation(&self) -> PyResult<u64> {
        Ok(self.shared.current().commit().generation)
    }

    /// The index folder.
    #[getter]
    fn path(&self) -> PyResult<PathBuf> {
        Ok(self.shared.current().dir().to_owned())
    }

    fn __repr__(&self) -> PyResult<String> {
        let path = self.path()?;
        Ok(format!("<khop.Index {}>", path.display()))
    }
}
