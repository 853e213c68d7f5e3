//! Arrow across the boundary, through the Arrow PyCapsule interface: objects with
//! `__arrow_c_stream__` (pyarrow tables and readers, polars and pandas data frames, DuckDB
//! relations) come in as a stream of record batches without a copy; results go out as
//! [`ArrowTable`], which has `__arrow_c_stream__` itself.

use std::ffi::CStr;
use std::path::PathBuf;

use arrow_array::ffi_stream::{FFI_ArrowArrayStream, RecordBatchStreamReader};
use arrow_array::{RecordBatch, RecordBatchIterator, RecordBatchReader};
use arrow_schema::SchemaRef;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

use crate::errors;

const STREAM: &CStr = c"arrow_array_stream";

/// Whether `object` can hand over an Arrow stream.
pub fn is_arrow(object: &Bound<'_, PyAny>) -> bool {
    object.hasattr("__arrow_c_stream__").unwrap_or(false)
}

/// What the calls take as data: a file path, or record batches from any Arrow object.
pub enum Data {
    Path(PathBuf),
    Arrow(Box<dyn RecordBatchReader + Send>),
}

/// `object` as data: its Arrow stream when it has one, else a path; a `TypeError` otherwise.
pub fn data(object: &Bound<'_, PyAny>) -> PyResult<Data> {
    if is_arrow(object) {
        return import(object).map(Data::Arrow);
    }
    object.extract().map(Data::Path).map_err(|_| {
        let type_name = object.get_type().name().map(|n| n.to_string()).unwrap_or_default();
        PyTypeError::new_err(format!(
            "expected a file path or an object with `__arrow_c_stream__` (a pyarrow Table, a polars or \
             pandas DataFrame, a DuckDB relation), got {type_name}"
        ))
    })
}

/// The record batches of `object`, which has `__arrow_c_stream__`, moved out of its stream.
fn import(object: &Bound<'_, PyAny>) -> PyResult<Box<dyn RecordBatchReader + Send>> {
    let capsule = object.call_method0("__arrow_c_stream__")?;
    let capsule = capsule
        .cast::<PyCapsule>()
        .map_err(|_| PyTypeError::new_err("`__arrow_c_stream__` returned something other than a capsule"))?;
    let pointer = capsule.pointer_checked(Some(STREAM))?;
    // SAFETY: the capsule is named `arrow_array_stream`, so by the PyCapsule interface it holds
    // an `ArrowArrayStream`; `from_raw` moves the stream out and leaves a released one behind,
    // which the capsule's destructor then skips.
    let reader =
        unsafe { RecordBatchStreamReader::from_raw(pointer.as_ptr().cast::<FFI_ArrowArrayStream>()) }
            .map_err(|e| errors::invalid(format!("the Arrow stream cannot be read: {e}")))?;
    Ok(Box::new(reader))
}

/// Record batches khop returns: a table in Arrow's layout, handed to pyarrow, polars, pandas or
/// DuckDB without a copy through `__arrow_c_stream__` (as often as asked).
#[pyclass(frozen, module = "khop", name = "ArrowTable")]
pub struct ArrowTable {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
}

impl ArrowTable {
    pub fn new(schema: SchemaRef, batches: Vec<RecordBatch>) -> ArrowTable {
        ArrowTable { schema, batches }
    }
}

#[pymethods]
impl ArrowTable {
    /// The Arrow PyCapsule interface: a new stream over the batches (not copied).
    /// `requested_schema` is not supported and ignored, as the interface allows.
    #[pyo3(signature = (requested_schema = None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        let batches = RecordBatchIterator::new(self.batches.clone().into_iter().map(Ok), self.schema.clone());
        let stream = FFI_ArrowArrayStream::new(Box::new(batches));
        PyCapsule::new_with_value(py, stream, STREAM)
    }

    /// Rows in all.
    #[getter]
    fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    fn __len__(&self) -> usize {
        self.num_rows()
    }

    /// The column names, in order.
    #[getter]
    fn column_names(&self) -> Vec<String> {
        self.schema.fields().iter().map(|f| f.name().clone()).collect()
    }

    /// The table as a `pyarrow.Table` (needs pyarrow).
    fn to_pyarrow<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        slf.py().import("pyarrow")?.call_method1("table", (slf,))
    }

    /// The table as a `pandas.DataFrame` (needs pandas and pyarrow).
    fn to_pandas<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        Self::to_pyarrow(slf)?.call_method0("to_pandas")
    }

    /// The table as a `polars.DataFrame` (needs polars).
    fn to_polars<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        slf.py().import("polars")?.call_method1("DataFrame", (slf,))
    }

    fn __repr__(&self) -> String {
        format!("<khop.ArrowTable: {} rows; columns {}>", self.num_rows(), self.column_names().join(", "))
    }
}
