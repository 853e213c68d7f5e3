//! The library's one error type.
//!
//! Errors are for things that stop a run: a missing file, a corrupt Parquet footer, a configuration
//! that does not validate. Dirty records are not errors: they become rejected rows (see
//! [`crate::read::Reject`]) or values that normalize to "unknown".

use std::fmt;
use std::path::{Path, PathBuf};

/// A failure that stops a run, with a message a person can act on.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
}

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file could not be opened, read or written.
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What was being done ("open", "read", "write", ...).
        action: &'static str,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A file is not in the format it claims to be (truncated Parquet, bad header, ...).
    Format {
        /// The file concerned.
        path: PathBuf,
        /// Where in the file, when known ("line 12", "row group 3").
        position: Option<String>,
        /// What was expected and found.
        message: String,
    },
    /// A configured or requested column is not in the file.
    UnknownColumn {
        /// The file concerned.
        path: PathBuf,
        /// The column asked for.
        column: String,
        /// Columns the file has, to help spot a typo.
        available: Vec<String>,
    },
    /// A column has a type khop cannot read as text.
    ColumnType {
        /// The file concerned.
        path: PathBuf,
        /// The column.
        column: String,
        /// Its Arrow type, written out.
        found: String,
    },
    /// The configuration does not validate; every problem found is listed.
    Config(crate::config::Diagnostics),
    /// A caller passed an argument that makes no sense (batch size 0, unknown format name, ...).
    InvalidArgument(String),
}

impl Error {
    /// The kind of error, for callers that react differently to each.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    pub(crate) fn io(path: &Path, action: &'static str, source: std::io::Error) -> Self {
        ErrorKind::Io { path: path.to_owned(), action, source }.into()
    }

    pub(crate) fn format(path: &Path, position: Option<String>, message: impl Into<String>) -> Self {
        ErrorKind::Format { path: path.to_owned(), position, message: message.into() }.into()
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        ErrorKind::InvalidArgument(message.into()).into()
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error { kind }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Io { path, action, source } => {
                write!(f, "cannot {action} {}: {source}", path.display())
            }
            ErrorKind::Format { path, position: Some(pos), message } => {
                write!(f, "{}, {pos}: {message}", path.display())
            }
            ErrorKind::Format { path, position: None, message } => {
                write!(f, "{}: {message}", path.display())
            }
            ErrorKind::UnknownColumn { path, column, available } => write!(
                f,
                "{}: no column named `{column}` (the file has: {})",
                path.display(),
                available.join(", ")
            ),
            ErrorKind::ColumnType { path, column, found } => write!(
                f,
                "{}: column `{column}` has type {found}, which khop cannot read as text",
                path.display()
            ),
            ErrorKind::Config(diagnostics) => write!(f, "{diagnostics}"),
            ErrorKind::InvalidArgument(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
