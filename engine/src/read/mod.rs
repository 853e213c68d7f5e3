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

mod arrow;
mod column;
mod csv;
pub mod encoding;
mod ndjson;
mod parquet;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use arrow_array::{RecordBatch, RecordBatchReader};
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
    /// Arrow record batches handed over in memory ([`Reader::from_arrow`]: a library caller's
    /// batches, an Arrow C stream from Python). Not a file format: a file is never read or
    /// written as `arrow`.
    Arrow,
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
            Format::Arrow => "arrow",
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
    /// Rows per batch, rejected rows included (a batch of a text file holds at most this many
    /// rows passed and rejected together).
    pub batch_size: usize,
    /// Text encoding of CSV and NDJSON files.
    pub encoding: TextEncoding,
    /// CSV field delimiter; `None` detects it from the first lines (`,`, `;`, tab or `|`, the
    /// one that splits the header and the lines after it into the same number of fields; `,`
    /// when none does).
    pub delimiter: Option<u8>,
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
    /// Largest share of rows that may be rejected (0.05: 5%) before the read fails with
    /// [`ErrorKind::TooManyRejected`](crate::ErrorKind::TooManyRejected), which names the likely
    /// cause (encoding, delimiter, quoting). Checked once the file is read, and early, after
    /// [`EARLY_CHECK_ROWS`] rows. A file with fewer than [`MIN_REJECTED_TO_FAIL`] rejected rows
    /// fails only when none passed. `None` (or 1.0) never fails.
    pub max_rejected_share: Option<f64>,
}

/// Rows read before the share of rejected rows is first checked.
pub const EARLY_CHECK_ROWS: u64 = 1000;

/// Rejected rows (lines, for a runaway quote) below which a file with rows passed never fails
/// for its share of rejects: a few bad rows of a small file are reported, not fatal.
pub const MIN_REJECTED_TO_FAIL: u64 = 10;

/// Lines one CSV record may span; a record over more is rejected as an unclosed quote.
pub const MAX_RECORD_LINES: u64 = 100;

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            format: None,
            columns: None,
            id_column: None,
            batch_size: 65_536,
            encoding: TextEncoding::Auto,
            delimiter: None,
            quote: b'"',
            has_header: true,
            null_values: vec![String::new()],
            column_null_values: Vec::new(),
            max_field_bytes: 1 << 20,
            max_rejected_share: Some(0.05),
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
    /// A CSV record that spans more than [`MAX_RECORD_LINES`] lines: a quote opened and never
    /// closed, swallowing the lines after it.
    UnclosedQuote {
        /// Lines the record spans.
        lines: u64,
    },
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
            RejectReason::UnclosedQuote { .. } => "unclosed_quote",
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
            RejectReason::UnclosedQuote { lines } => {
                write!(f, "one record runs over {lines} lines: a quote opened and never closed?")
            }
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

/// How a text file is read, as detected (or as given, when the options named it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Detected {
    /// The text encoding of a CSV or NDJSON file; `None` for Parquet.
    pub encoding: Option<TextEncoding>,
    /// The field delimiter of a CSV file; `None` for other formats.
    pub delimiter: Option<u8>,
}

/// The format-specific part of a reader.
trait Source: Send {
    fn schema(&self) -> SchemaRef;
    fn next_batch(&mut self, stats: &mut ReadStats) -> Option<Result<Batch>>;
    fn progress(&self) -> Progress;
    fn detected(&self) -> Detected {
        Detected::default()
    }
}

/// A streaming reader over one file: an iterator of [`Batch`]es.
pub struct Reader {
    path: PathBuf,
    format: Format,
    source: Box<dyn Source>,
    stats: ReadStats,
    failed: bool,
    max_rejected_share: Option<f64>,
    tally: RejectTally,
}

impl Reader {
    /// Opens a file for reading. Fails on a missing or unreadable file, a file that is not in
    /// its format, or a requested column that the file does not have.
    pub fn open(path: impl AsRef<Path>, options: &ReadOptions) -> Result<Reader> {
        let path = path.as_ref();
        check_options(options)?;
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
            Format::Arrow => {
                return Err(Error::invalid(format!(
                    "{}: `arrow` names record batches handed over in memory, not a file format; \
                     read csv, ndjson or parquet",
                    path.display()
                )));
            }
        };
        Ok(Reader::with_source(path, format, source, options))
    }

    /// Reads record batches handed over in memory as a file of them would be read: the columns
    /// `options` asks for, converted to text, with the same null values, field size limit and
    /// rejected rows (named `name`, row numbers counted across the batches from 1). The text
    /// options (encoding, delimiter, quote, header) do not apply. Fails on a requested column
    /// that the batches do not have, or one of a type that cannot be read as text.
    pub fn from_arrow(
        name: &str,
        batches: Box<dyn RecordBatchReader + Send>,
        options: &ReadOptions,
    ) -> Result<Reader> {
        check_options(options)?;
        let path = Path::new(name);
        let source = Box::new(arrow::ArrowSource::new(path, batches, options)?);
        Ok(Reader::with_source(path, Format::Arrow, source, options))
    }

    fn with_source(path: &Path, format: Format, source: Box<dyn Source>, options: &ReadOptions) -> Reader {
        Reader {
            path: path.to_owned(),
            format,
            source,
            stats: ReadStats::default(),
            failed: false,
            max_rejected_share: options.max_rejected_share.filter(|&share| share < 1.0),
            tally: RejectTally::default(),
        }
    }

    /// How the file is read: its encoding and delimiter, detected or as given.
    pub fn detected(&self) -> Detected {
        self.source.detected()
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
        match &next {
            Some(Ok(batch)) => {
                self.tally.add(&batch.rejects);
                if self.stats.rows_read >= EARLY_CHECK_ROWS
                    && let Some(error) = self.too_many_rejected(false)
                {
                    self.failed = true;
                    return Some(Err(error));
                }
            }
            Some(Err(_)) => self.failed = true,
            None => {
                self.failed = true;
                return self.too_many_rejected(true).map(Err);
            }
        }
        next
    }
}

impl Reader {
    /// The error for a read that rejected more than its share, if it did.
    fn too_many_rejected(&self, whole_file: bool) -> Option<Error> {
        let max = self.max_rejected_share?;
        let stats = self.stats;
        let tally = &self.tally;
        // A runaway quote swallows many lines into one row: count its lines.
        let rejected = stats.rows_rejected - tally.quote_rows + tally.quote_lines;
        let read = stats.rows_read - tally.quote_rows + tally.quote_lines;
        if rejected == 0 || (rejected as f64) <= max * read as f64 {
            return None;
        }
        if whole_file && rejected < MIN_REJECTED_TO_FAIL && stats.rows_passed > 0 {
            return None;
        }
        let lines = if tally.quote_rows > 0 { Some((rejected, read)) } else { None };
        Some(
            crate::error::ErrorKind::TooManyRejected {
                path: self.path.clone(),
                rows_read: stats.rows_read,
                rows_rejected: stats.rows_rejected,
                lines,
                max_share: max,
                likely_cause: tally.likely_cause(self.source.detected(), rejected),
                first_reasons: tally.first.clone(),
            }
            .into(),
        )
    }
}

/// What the rejected rows of a read so far have in common, to name the likely cause when too
/// many are rejected. Never holds a record's values.
#[derive(Debug, Default)]
struct RejectTally {
    /// The first rejects: row, line, column and reason.
    first: Vec<String>,
    /// Rows that are not valid in the file's encoding.
    encoding: u64,
    /// Ragged rows with a single field, where the header has more.
    one_field: u64,
    /// Ragged rows with more fields than a header of one field.
    one_field_header: u64,
    /// Fields found in the last such row.
    found: usize,
    /// Ragged rows with one field more than the header.
    extra_field: u64,
    /// Fields in the header, from ragged rows.
    expected: usize,
    /// Rows rejected as unclosed quotes, and the lines they span.
    quote_rows: u64,
    quote_lines: u64,
    /// The first unclosed quote: row, line, lines spanned.
    first_quote: Option<(u64, Option<u64>, u64)>,
    missing_id: u64,
    /// Rows rejected, by reason code.
    by_code: std::collections::BTreeMap<&'static str, u64>,
}

/// Rejects described in a [`ErrorKind::TooManyRejected`](crate::ErrorKind::TooManyRejected).
const FIRST_REJECTS: usize = 5;

impl RejectTally {
    fn add(&mut self, rejects: &[Reject]) {
        for reject in rejects {
            if self.first.len() < FIRST_REJECTS {
                self.first.push(describe(reject));
            }
            *self.by_code.entry(reject.reason.code()).or_default() += 1;
            match &reject.reason {
                RejectReason::InvalidUtf8 { .. } | RejectReason::Undecodable { .. } => self.encoding += 1,
                RejectReason::Ragged { expected, found } => {
                    self.expected = *expected;
                    self.found = *found;
                    if *found == 1 && *expected > 1 {
                        self.one_field += 1;
                    } else if *expected == 1 {
                        self.one_field_header += 1;
                    } else if *found == expected + 1 {
                        self.extra_field += 1;
                    }
                }
                RejectReason::UnclosedQuote { lines } => {
                    self.quote_rows += 1;
                    self.quote_lines += lines;
                    self.first_quote.get_or_insert((reject.row, reject.line, *lines));
                }
                RejectReason::MissingId => self.missing_id += 1,
                _ => {}
            }
        }
    }

    /// The likely cause of `rejected` rejects (lines of unclosed quotes counted), for a person.
    fn likely_cause(&self, detected: Detected, rejected: u64) -> String {
        let most = |count: u64| count * 2 > rejected;
        if most(self.quote_lines) {
            let (row, line, lines) = self.first_quote.unwrap_or_default();
            let at = line.map(|l| format!("line {l}")).unwrap_or_else(|| format!("row {row}"));
            return format!(
                "quoting: a quote opened at {at} and never closed swallowed {lines} lines into one \
                 record; close it, or set `quote` to a character the file does not use"
            );
        }
        if most(self.encoding) {
            let encoding = detected.encoding.map(|e| e.to_string()).unwrap_or_else(|| "utf-8".into());
            return format!(
                "encoding: {} rows are not valid {encoding}; the file is in another encoding \
                 (windows-1258? utf-16le?): set `encoding`",
                self.encoding
            );
        }
        if most(self.one_field) {
            let delimiter =
                detected.delimiter.map(|d| format!(" `{}`", d.escape_ascii())).unwrap_or_default();
            return format!(
                "delimiter: {} rows have a single field where the header has {}; the lines are not \
                 delimited by{delimiter}: set `delimiter`",
                self.one_field, self.expected
            );
        }
        if most(self.one_field_header) {
            let delimiter =
                detected.delimiter.map(|d| format!(" `{}`", d.escape_ascii())).unwrap_or_default();
            return format!(
                "delimiter: the header has a single field where {} rows have more ({} in the last); \
                 the header is not delimited by{delimiter}: set `delimiter`",
                self.one_field_header, self.found
            );
        }
        if most(self.extra_field) {
            return format!(
                "trailing delimiter: {} rows have one field more than the header's {}; the lines \
                 probably end with a delimiter: remove it, or name the last column in the header",
                self.extra_field, self.expected
            );
        }
        if most(self.missing_id) {
            return format!(
                "id: {} rows have an empty id column; is the id column the right one?",
                self.missing_id
            );
        }
        let reasons: Vec<String> = self.by_code.iter().map(|(code, n)| format!("{n} {code}")).collect();
        format!("mixed: {}", reasons.join(", "))
    }
}

/// A reject in words: where it is and why, never the record's values.
fn describe(reject: &Reject) -> String {
    let mut text = format!("row {}", reject.row);
    if let Some(line) = reject.line {
        text.push_str(&format!(" (line {line})"));
    }
    if let Some(column) = &reject.column {
        text.push_str(&format!(", column `{column}`"));
    }
    text.push_str(": ");
    match &reject.reason {
        // The parser's message can quote the line.
        RejectReason::InvalidJson(_) => text.push_str("invalid JSON"),
        reason => text.push_str(&reason.to_string()),
    }
    text
}

/// Refuses options no reader can follow.
fn check_options(options: &ReadOptions) -> Result<()> {
    if options.batch_size == 0 {
        return Err(Error::invalid("batch size must be at least 1"));
    }
    if let Some(share) = options.max_rejected_share
        && !(0.0..=1.0).contains(&share)
    {
        return Err(Error::invalid(format!(
            "the maximum rejected share must be within 0 and 1, not {share}"
        )));
    }
    Ok(())
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
    // Builders start small and grow with the rows: a batch of a short file, or a file of
    // thousands of columns, then costs what it holds, not 1 MiB per column (65,536 rows x 16
    // bytes reserved up front).
    let rows = batch_size.min(1024);
    (0..columns).map(|_| arrow_array::builder::StringBuilder::with_capacity(rows, rows * 16)).collect()
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
