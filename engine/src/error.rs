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

/// The source of an error from another library (Arrow, Parquet, CSV, JSON), kept whole so that
/// a caller can walk the chain with [`std::error::Error::source`].
pub type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

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
        /// The error of the library that read or wrote the file, when there was one.
        source: Option<Source>,
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
    Config(Diagnostics),
    /// Settings that cannot work together (a review threshold above the match threshold, a
    /// blocking rule on a field neither table holds, ...); every problem found is listed.
    Settings(Vec<String>),
    /// Blocking found no candidate pairs to train a model on.
    NoCandidatePairs {
        /// What was being linked, and what to try.
        message: String,
    },
    /// A model does not fit the data it is applied to (other comparisons, other levels, another
    /// format version).
    ModelMismatch {
        /// What differs.
        message: String,
    },
    /// A size limit of khop was exceeded (more than 2^32 records, more than 4 GiB of text in one
    /// column, ...).
    Capacity {
        /// What is too large, and what to do.
        message: String,
    },
    /// An output would overwrite an input, or another output of the same run.
    OutputClash {
        /// The output asked for.
        path: PathBuf,
        /// What already uses that path ("the input `national`", "the links output", ...).
        other: String,
    },
    /// Another writer holds the index (`khop index update`, `khop index retrain`, or a service
    /// taking upserts): an index has one writer at a time.
    Locked {
        /// The index folder.
        path: PathBuf,
    },
    /// Arrow refused to build or convert a batch (a bug in khop, or a value Arrow cannot hold).
    Arrow {
        /// What was being built.
        context: String,
        /// Arrow's error.
        source: arrow_schema::ArrowError,
    },
    /// A read rejected more than its allowed share of rows
    /// ([`ReadOptions::max_rejected_share`](crate::read::ReadOptions::max_rejected_share)): the
    /// file is most likely read with the wrong encoding, delimiter or quote.
    TooManyRejected {
        /// The file.
        path: PathBuf,
        /// Rows read when the read stopped.
        rows_read: u64,
        /// Rows rejected among them.
        rows_rejected: u64,
        /// Lines rejected and lines read, when an unclosed quote swallowed lines into one row.
        lines: Option<(u64, u64)>,
        /// The share allowed.
        max_share: f64,
        /// What most rejects have in common, and what to change.
        likely_cause: String,
        /// The first rejects: row, line, column and reason (never the values).
        first_reasons: Vec<String>,
    },
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
        ErrorKind::Format { path: path.to_owned(), position, message: message.into(), source: None }.into()
    }

    /// A format error that keeps the error of the library that found it.
    pub(crate) fn format_with(
        path: &Path,
        position: Option<String>,
        message: impl Into<String>,
        source: impl Into<Source>,
    ) -> Self {
        ErrorKind::Format {
            path: path.to_owned(),
            position,
            message: message.into(),
            source: Some(source.into()),
        }
        .into()
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        ErrorKind::InvalidArgument(message.into()).into()
    }

    pub(crate) fn settings(problems: Vec<String>) -> Self {
        ErrorKind::Settings(problems).into()
    }

    pub(crate) fn no_candidate_pairs(message: impl Into<String>) -> Self {
        ErrorKind::NoCandidatePairs { message: message.into() }.into()
    }

    pub(crate) fn model_mismatch(message: impl Into<String>) -> Self {
        ErrorKind::ModelMismatch { message: message.into() }.into()
    }

    pub(crate) fn capacity(message: impl Into<String>) -> Self {
        ErrorKind::Capacity { message: message.into() }.into()
    }

    pub(crate) fn arrow(context: impl Into<String>, source: arrow_schema::ArrowError) -> Self {
        ErrorKind::Arrow { context: context.into(), source }.into()
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
            ErrorKind::Format { path, position: Some(pos), message, .. } => {
                write!(f, "{}, {pos}: {message}", path.display())
            }
            ErrorKind::Format { path, position: None, message, .. } => {
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
            ErrorKind::Settings(problems) => match problems.as_slice() {
                [one] => f.write_str(one),
                many => {
                    write!(f, "{} problems with the settings:", many.len())?;
                    for problem in many {
                        write!(f, "\n  {problem}")?;
                    }
                    Ok(())
                }
            },
            ErrorKind::NoCandidatePairs { message }
            | ErrorKind::ModelMismatch { message }
            | ErrorKind::Capacity { message } => f.write_str(message),
            ErrorKind::OutputClash { path, other } => {
                write!(f, "refusing to write {}: it is {other}", path.display())
            }
            ErrorKind::Locked { path } => write!(
                f,
                "{}: the index is locked: another process is writing it (an update, a retrain or a service); try again when it has finished",
                path.display()
            ),
            ErrorKind::Arrow { context, source } => write!(f, "{context}: {source}"),
            ErrorKind::TooManyRejected {
                path,
                rows_read,
                rows_rejected,
                lines,
                max_share,
                likely_cause,
                first_reasons,
            } => {
                write!(f, "{}: {rows_rejected} of {rows_read} rows rejected", path.display())?;
                if let Some((rejected, read)) = lines {
                    write!(f, " ({rejected} of {read} lines)")?;
                }
                write!(f, ", more than the {}% allowed; likely cause: {likely_cause}", max_share * 100.0)?;
                if !first_reasons.is_empty() {
                    f.write_str("\n  first rejected:")?;
                    for reason in first_reasons {
                        write!(f, "\n    {reason}")?;
                    }
                }
                Ok(())
            }
            ErrorKind::InvalidArgument(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Io { source, .. } => Some(source),
            ErrorKind::Format { source: Some(source), .. } => Some(source.as_ref()),
            ErrorKind::Arrow { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A place in the configuration text (1-based).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// Line.
    pub line: usize,
    /// Column, in characters.
    pub column: usize,
}

/// One problem found in a configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where it is.
    pub position: Position,
    /// What is wrong, and what would be right.
    pub message: String,
}

/// Every problem found in a configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics {
    /// The configuration file, when it came from one.
    pub file: Option<PathBuf>,
    /// The problems, in the order of the text.
    pub items: Vec<Diagnostic>,
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.as_deref().map(|p| p.display().to_string());
        let file = file.as_deref().unwrap_or("configuration");
        let count = self.items.len();
        writeln!(f, "{file}: {count} problem{}", if count == 1 { "" } else { "s" })?;
        for item in &self.items {
            writeln!(f, "  {file}:{}:{}: {}", item.position.line, item.position.column, item.message)?;
        }
        Ok(())
    }
}
