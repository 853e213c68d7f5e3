//! khop's errors as Python exceptions: one class per kind of [`khop::ErrorKind`], all under
//! `KhopError`, each carrying the library's message (which names the file, row and column; never a
//! value) and its kind as `kind`.

use khop::ErrorKind;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(khop, KhopError, PyException, "Every error khop raises. `kind` names the kind.");
create_exception!(
    khop,
    InputError,
    KhopError,
    "A file or batch that cannot be read: missing, damaged, of the wrong format or type, or with too many rejected rows."
);
create_exception!(
    khop,
    UnknownColumnError,
    InputError,
    "A configured or requested column is not in the data."
);
create_exception!(
    khop,
    ColumnTypeError,
    InputError,
    "A column of a type khop cannot read as text (lists, structs, maps)."
);
create_exception!(
    khop,
    TooManyRejectedError,
    InputError,
    "More rows were rejected than allowed: most likely the wrong encoding, delimiter or quote."
);
create_exception!(
    khop,
    ConfigError,
    KhopError,
    "A configuration or settings that do not validate; every problem is listed."
);
create_exception!(
    khop,
    ModelError,
    KhopError,
    "A model that does not fit the data, or no candidate pairs to train one."
);
create_exception!(khop, IndexLockedError, KhopError, "Another writer holds the index.");
create_exception!(khop, CapacityError, KhopError, "A size limit of khop was exceeded.");
create_exception!(khop, InternalError, KhopError, "A bug in khop (please report it, with the message).");

/// The short name of an error's kind, as `KhopError.kind`.
fn kind_name(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Io { .. } => "io",
        ErrorKind::Format { .. } => "format",
        ErrorKind::UnknownColumn { .. } => "unknown_column",
        ErrorKind::ColumnType { .. } => "column_type",
        ErrorKind::Config(_) => "config",
        ErrorKind::Settings(_) => "settings",
        ErrorKind::NoCandidatePairs { .. } => "no_candidate_pairs",
        ErrorKind::ModelMismatch { .. } => "model_mismatch",
        ErrorKind::Capacity { .. } => "capacity",
        ErrorKind::OutputClash { .. } => "output_clash",
        ErrorKind::Locked { .. } => "locked",
        ErrorKind::Arrow { .. } => "arrow",
        ErrorKind::TooManyRejected { .. } => "too_many_rejected",
        ErrorKind::InvalidArgument(_) => "invalid_argument",
        _ => "other",
    }
}

/// The Python exception for a library error.
pub fn to_py(error: khop::Error) -> PyErr {
    let message = error.to_string();
    let kind = error.kind();
    let err = match kind {
        ErrorKind::UnknownColumn { .. } => UnknownColumnError::new_err(message),
        ErrorKind::ColumnType { .. } => ColumnTypeError::new_err(message),
        ErrorKind::TooManyRejected { .. } => TooManyRejectedError::new_err(message),
        ErrorKind::Io { .. } | ErrorKind::Format { .. } => InputError::new_err(message),
        ErrorKind::Config(_)
        | ErrorKind::Settings(_)
        | ErrorKind::InvalidArgument(_)
        | ErrorKind::OutputClash { .. } => ConfigError::new_err(message),
        ErrorKind::NoCandidatePairs { .. } | ErrorKind::ModelMismatch { .. } => ModelError::new_err(message),
        ErrorKind::Locked { .. } => IndexLockedError::new_err(message),
        ErrorKind::Capacity { .. } => CapacityError::new_err(message),
        ErrorKind::Arrow { .. } => InternalError::new_err(message),
        _ => KhopError::new_err(message),
    };
    Python::attach(|py| {
        // Best effort: an exception object takes new attributes.
        let _ = err.value(py).setattr("kind", kind_name(kind));
    });
    err
}

/// A `ConfigError` for a bad argument of a Python call.
pub fn invalid(message: impl Into<String>) -> PyErr {
    to_py(khop::Error::from(ErrorKind::InvalidArgument(message.into())))
}

/// Adds the exception classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("KhopError", py.get_type::<KhopError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("UnknownColumnError", py.get_type::<UnknownColumnError>())?;
    m.add("ColumnTypeError", py.get_type::<ColumnTypeError>())?;
    m.add("TooManyRejectedError", py.get_type::<TooManyRejectedError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("ModelError", py.get_type::<ModelError>())?;
    m.add("IndexLockedError", py.get_type::<IndexLockedError>())?;
    m.add("CapacityError", py.get_type::<CapacityError>())?;
    m.add("InternalError", py.get_type::<InternalError>())?;
    Ok(())
}
