//! The `read` stage: streaming Arrow record batches out of CSV, NDJSON and Parquet files.
//!
//! Every reader keeps one promise: **every input row is accounted for**. A row is either passed
//! on in a [`Batch`] or rejected with a [`Reject`] that names the file, the row (and the line, for
//! text formats), the column and the reason. `rows_read = rows_passed + rows_rejected` holds for
//! every [`ReadStats`].
//!
//! Columns come out as text (Utf8, LargeUtf8 or Utf8View, as the file has them; other scalar types
//! are cast to Utf8), because identity data is text: a CCCD number `001090012345` read as an
//! integer would lose its leading zeros.

mod column;
mod csv;
pub mod encoding;
mod ndjson;
mod parquet;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

pub use self::column::TextColumn;
pub use self::encoding::TextEncoding;
use crate::error::{Error, Result};

/// File formats khop reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Delimited text with a header line.
    Csv,
    /// One JSON object per line.
    Ndjson,
    /// Apache Parquet.
    Parquet,
}

impl Format {
    /// The format a file's extension implies (`.csv`, `.tsv`, `.txt`, `.json`, `.jsonl`,
    /// `.ndjson`, `.parquet`, `.pq`).
    pub fn from_path(path: &Path) -> Option<Format> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "csv" | "tsv" | "txt" => Some(Format::Csv),
            "json" | "jsonl" | "ndjson" => Some(Format::Ndjson),
            "parquet" | "pq" => Some(Format::Parquet),
            _ => None,
        }
    }

    /// The name used in configuration files.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
            Format::Parquet => "parquet",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "csv" | "tsv" => Ok(Format::Csv),
            "ndjson" | "jsonl" | "json" => Ok(Format::Ndjson),
            "parquet" => Ok(Format::Parquet),
            _ => Err(Error::invalid(format!("unknown format `{s}`: expected csv, ndjson or parquet"))),
        }
    }
}

/// How to read one file.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// The file's format; `None` takes it from the extension.
    pub format: Option<Format>,
    /// Columns to read, in this order; `None` reads every column.
    pub columns: Option<Vec<String>>,
    /// The column that identifies each record. Rows where it is missing are rejected.
    pub id_column: Option<String>,
    /// Rows per batch.
    pub batch_size: usize,
    /// Text encoding of CSV and NDJSON files.
    pub encoding: TextEncoding,
    /// CSV field delimiter.
    pub delimiter: u8,
    /// CSV quote character.
    pub quote: u8,
    /// Whether the first CSV line holds column names. Without one, columns are named
    /// `column_1`, `column_2`...
    pub has_header: bool,
    /// Values that mean "missing" in every column, compared after trimming spaces. The default,
    /// `[""]`, makes empty fields nulls; in Parquet files it matches empty strings only (a value
    /// of spaces alone stays, and normalization later treats it as blank), which spares a pass over
    /// every value.
    pub null_values: Vec<String>,
    /// Values that mean "missing" in one column only.
    pub column_null_values: Vec<(String, Vec<String>)>,
    /// Largest field accepted, in bytes; a row with a larger one is rejected.
    pub max_field_bytes: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            format: None,
            columns: None,
            id_column: None,
            batch_size: 65_536,
            encoding: TextEncoding::Auto,
            delimiter: b',',
            quote: b'"',
            has_header: true,
            null_values: vec![String::new()],
            column_null_values: Vec::new(),
            max_field_bytes: 1 << 20,
        }
    }
}

/// Rows read from a file, with the rows rejected on the way.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The rows passed on.
    pub records: RecordBatch,
    /// For each row of `records`, its 1-based row number in the file (header excluded).
    pub rows: Vec<u64>,
    /// Rows of this stretch of the file that were rejected.
    pub rejects: Vec<Reject>,
}

/// A row that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// The file.
    pub file: Arc<str>,
    /// 1-based row number (header excluded).
    pub row: u64,
    /// 1-based line where the row starts, for text formats.
    pub line: Option<u64>,
    /// The column at fault, when one is.
    pub column: Option<String>,
    /// What is wrong.
    pub reason: RejectReason,
    /// The row's content as read (lossily decoded, cut to 1,000 bytes), for a person to fix it.
    pub raw: String,
}

/// Why a row was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectReason {
    /// Bytes that are not UTF-8.
    InvalidUtf8 {
        /// Offset of the first bad byte in the field (or line, for NDJSON).
        offset: usize,
    },
    /// Bytes that the declared encoding cannot decode.
    Undecodable {
        /// The encoding.
        encoding: String,
    },
    /// A CSV line with the wrong number of fields.
    Ragged {
        /// Fields in the header.
        expected: usize,
        /// Fields on this line.
        found: usize,
    },
    /// An NDJSON line that is not valid JSON.
    InvalidJson(String),
    /// An NDJSON line that is valid JSON but not an object.
    NotAnObject,
    /// A value of a type that cannot be read as text (an array or object).
    WrongType {
        /// The type found.
        found: String,
    },
    /// A field longer than [`ReadOptions::max_field_bytes`].
    FieldTooLarge {
        /// The field's size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The id column is empty.
    MissingId,
}

impl RejectReason {
    /// A stable short code, for counting and filtering.
    pub fn code(&self) -> &'static str {
        match self {
            RejectReason::InvalidUtf8 { .. } => "invalid_utf8",
            RejectReason::Undecodable { .. } => "undecodable",
            RejectReason::Ragged { .. } => "ragged_line",
            RejectReason::InvalidJson(_) => "invalid_json",
            RejectReason::NotAnObject => "not_an_object",
            RejectReason::WrongType { .. } => "wrong_type",
            RejectReason::FieldTooLarge { .. } => "field_too_large",
            RejectReason::MissingId => "missing_id",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectReason::InvalidUtf8 { offset } => {
                write!(
                    f,
                    "invalid UTF-8 at byte {offset} (is the file Windows-1258 or UTF-16? set `encoding`)"
                )
            }
            RejectReason::Undecodable { encoding } => {
                write!(f, "bytes that are not valid {encoding}")
            }
            RejectReason::Ragged { expected, found } => {
                write!(f, "expected {expected} fields, found {found}")
            }
            RejectReason::InvalidJson(message) => write!(f, "invalid JSON: {message}"),
            RejectReason::NotAnObject => f.write_str("the line is JSON but not an object"),
            RejectReason::WrongType { found } => {
                write!(f, "value is {found}, expected a string, number, boolean or null")
            }
            RejectReason::FieldTooLarge { bytes, limit } => {
                write!(f, "field of {bytes} bytes exceeds the limit of {limit} bytes")
            }
            RejectReason::MissingId => f.write_str("the id column is empty"),
        }
    }
}

/// Counts of a read so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Rows seen in the file (header excluded).
    pub rows_read: u64,
    /// Rows passed on in batches.
    pub rows_passed: u64,
    /// Rows rejected.
    pub rows_rejected: u64,
    /// NDJSON keys that are not among the columns read (counted once per occurrence).
    pub ignored_fields: u64,
}

/// How far a read has come: bytes of text files, rows of Parquet files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Units done.
    pub position: u64,
    /// Units in all.
    pub total: u64,
}

/// The format-specific part of a reader.
trait Source: Send {
    fn schema(&self) -> SchemaRef;
    fn next_batch(&mut self, stats: &mut ReadStats) -> Option<Result<Batch>>;
    fn progress(&self) -> Progress;
}

/// A streaming reader over one file: an iterator of [`Batch`]es.
pub struct Reader {
    path: PathBuf,
    format: Format,
    source: Box<dyn Source>,
    stats: ReadStats,
    failed: bool,
}

impl Reader {
    /// Opens a file for reading. Fails on a missing or unreadable file, a file that is not in
    /// its format, or a requested column that the file does not have.
    pub fn open(path: impl AsRef<Path>, options: &ReadOptions) -> Result<Reader> {
        let path = path.as_ref();
        if options.batch_size == 0 {
            return Err(Error::invalid("batch size must be at least 1"));
        }
        let format = match options.format {
            Some(format) => format,
            None => Format::from_path(path).ok_or_else(|| {
                Error::invalid(format!(
                    "{}: cannot tell the format from the extension; name it (csv, ndjson or parquet)",
                    path.display()
                ))
            })?,
        };
        let source: Box<dyn Source> = match format {
            Format::Csv => Box::new(csv::CsvSource::open(path, options)?),
            Format::Ndjson => Box::new(ndjson::NdjsonSource::open(path, options)?),
            Format::Parquet => Box::new(parquet::ParquetSource::open(path, options)?),
        };
        Ok(Reader { path: path.to_owned(), format, source, stats: ReadStats::default(), failed: false })
    }

    /// The schema of the batches this reader yields.
    pub fn schema(&self) -> SchemaRef {
        self.source.schema()
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Counts so far; final once the iterator is exhausted.
    pub fn stats(&self) -> ReadStats {
        self.stats
    }

    /// How far the read has come.
    pub fn progress(&self) -> Progress {
        self.source.progress()
    }
}

impl Iterator for Reader {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let next = self.source.next_batch(&mut self.stats);
        if let Some(Err(_)) = &next {
            self.failed = true;
        }
        next
    }
}

/// Values that mean "missing", by output column.
#[derive(Debug, Clone)]
pub(crate) struct NullValues {
    per_column: Vec<Vec<String>>,
}

impl NullValues {
    /// Null values for each of `columns`, from the options.
    pub(crate) fn new(columns: &[String], options: &ReadOptions) -> Self {
        let per_column = columns
            .iter()
            .map(|column| {
                let mut values: Vec<String> =
                    options.null_values.iter().map(|v| v.trim().to_owned()).collect();
                for (name, extra) in &options.column_null_values {
                    if name == column {
                        values.extend(extra.iter().map(|v| v.trim().to_owned()));
                    }
                }
                values.sort();
                values.dedup();
                values
            })
            .collect();
        NullValues { per_column }
    }

    /// Whether the only null value of `column` is the empty string.
    pub(crate) fn only_empty(&self, column: usize) -> bool {
        matches!(self.per_column[column].as_slice(), [only] if only.is_empty())
    }

    /// Whether `value` means "missing" in output column `column`.
    #[inline]
    pub(crate) fn is_null(&self, column: usize, value: &str) -> bool {
        let values = &self.per_column[column];
        if values.is_empty() {
            return false;
        }
        // Values that start and end with a visible ASCII character need no trimming: the usual case.
        let bytes = value.as_bytes();
        let trimmed = match (bytes.first(), bytes.last()) {
            (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => value,
            _ => value.trim(),
        };
        values.iter().any(|v| v == trimmed)
    }
}

/// Where the requested columns are among a file's columns; fails naming the first one missing.
pub(crate) fn project(path: &Path, available: &[String], options: &ReadOptions) -> Result<Vec<usize>> {
    let mut wanted: Vec<&str> = match &options.columns {
        Some(columns) => columns.iter().map(String::as_str).collect(),
        None => available.iter().map(String::as_str).collect(),
    };
    if let Some(id) = options.id_column.as_deref()
        && !wanted.contains(&id)
    {
        wanted.insert(0, id);
    }
    wanted
        .iter()
        .map(|name| {
            available.iter().position(|a| a == name).ok_or_else(|| {
                crate::error::ErrorKind::UnknownColumn {
                    path: path.to_owned(),
                    column: (*name).to_owned(),
                    available: available.to_vec(),
                }
                .into()
            })
        })
        .collect()
}

/// Column builders of the text readers (CSV, NDJSON): one Utf8 builder per output column.
pub(crate) fn text_builders(columns: usize, batch_size: usize) -> Vec<arrow_array::builder::StringBuilder> {
    (0..columns)
        .map(|_| arrow_array::builder::StringBuilder::with_capacity(batch_size, batch_size * 16))
        .collect()
}

/// Finishes a text reader's batch; `None` when the stretch of file held no row at all.
pub(crate) fn finish_text_batch(
    schema: &SchemaRef,
    builders: &mut [arrow_array::builder::StringBuilder],
    rows: Vec<u64>,
    rejects: Vec<Reject>,
) -> Option<Result<Batch>> {
    if rows.is_empty() && rejects.is_empty() {
        return None;
    }
    let arrays: Vec<arrow_array::ArrayRef> =
        builders.iter_mut().map(|b| Arc::new(b.finish()) as arrow_array::ArrayRef).collect();
    let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows.len()));
    let records = RecordBatch::try_new_with_options(Arc::clone(schema), arrays, &options)
        .expect("columns built to the schema");
    Some(Ok(Batch { records, rows, rejects }))
}

/// Cuts a row's content for the rejects file.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    const LIMIT: usize = 1000;
    let cut = &bytes[..bytes.len().min(LIMIT)];
    let mut text = String::from_utf8_lossy(cut).into_owned();
    if bytes.len() > LIMIT {
        text.push('…');
    }
    text
}
