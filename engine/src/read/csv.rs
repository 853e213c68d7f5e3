//! CSV reading, on BurntSushi's `csv` parser.
//!
//! arrow's own CSV reader fails a whole batch on one ragged line; this one rejects the line,
//! says where it was, and goes on.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow_schema::{DataType, Field, Schema, SchemaRef};
use csv::{ByteRecord, StringRecord};

use super::encoding::{TextStream, open_text};
use super::{
    Batch, Detected, MAX_RECORD_LINES, NullValues, Progress, ReadOptions, ReadStats, Reject, RejectReason,
    Source, TextEncoding,
};
use crate::error::{Error, Result};

pub(crate) struct CsvSource {
    file: Arc<str>,
    reader: csv::Reader<Box<dyn std::io::Read + Send>>,
    schema: SchemaRef,
    /// For each output column, its index among the file's fields.
    keep: Vec<usize>,
    /// Output index of the id column.
    id: Option<usize>,
    width: usize,
    nulls: NullValues,
    batch_size: usize,
    max_field_bytes: usize,
    transcoded_from: Option<&'static encoding_rs::Encoding>,
    /// The file's column names.
    names: Vec<String>,
    /// A first data record read while looking for the width of a headerless file.
    pending: Option<ByteRecord>,
    /// Reused between records, so that reading allocates only per batch.
    bytes: ByteRecord,
    row: u64,
    /// Whether lines end with CR LF: the parser then reports a record as starting on the line
    /// of the previous record's terminator, one line early.
    crlf: bool,
    done: bool,
    position: Arc<AtomicU64>,
    total: u64,
    /// The encoding and delimiter read with.
    detected: Detected,
}

impl CsvSource {
    pub(crate) fn open(path: &Path, options: &ReadOptions) -> Result<Self> {
        let TextStream { reader, transcoded_from, position, total, crlf, encoding } =
            open_text(path, options.encoding)?;
        let (reader, delimiter) = match options.delimiter {
            Some(delimiter) => (reader, delimiter),
            None => {
                let (sample, complete, reader) = sample(path, reader)?;
                let delimiter = detect_delimiter(&sample, options.quote, complete);
                let reader: Box<dyn std::io::Read + Send> =
                    Box::new(std::io::Read::chain(std::io::Cursor::new(sample), reader));
                (reader, delimiter)
            }
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .quote(options.quote)
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(1 << 16)
            .from_reader(reader);

        let mut first = ByteRecord::new();
        let has_first = reader.read_byte_record(&mut first).map_err(|e| csv_error(path, e))?;
        let (names, pending) = if !has_first {
            (Vec::new(), None)
        } else if options.has_header {
            (header_names(path, &first, transcoded_from)?, None)
        } else {
            ((1..=first.len()).map(|i| format!("column_{i}")).collect(), Some(first))
        };

        let keep = super::project(path, &names, options)?;
        let output: Vec<String> = keep.iter().map(|&i| names[i].clone()).collect();
        let id = options.id_column.as_deref().and_then(|id| output.iter().position(|name| name == id));
        let schema = Arc::new(Schema::new(
            output.iter().map(|name| Field::new(name, DataType::Utf8, true)).collect::<Vec<_>>(),
        ));
        Ok(CsvSource {
            file: Arc::from(path.display().to_string()),
            reader,
            schema,
            keep,
            id,
            width: names.len(),
            names,
            nulls: NullValues::new(&output, options),
            batch_size: options.batch_size,
            max_field_bytes: options.max_field_bytes,
            transcoded_from,
            pending,
            bytes: ByteRecord::new(),
            row: 0,
            crlf,
            done: !has_first,
            position,
            total,
            detected: Detected { encoding: Some(TextEncoding::Named(encoding)), delimiter: Some(delimiter) },
        })
    }

    /// Checks one record; `Err` holds the file column at fault and the reason.
    fn check(&self, record: &StringRecord) -> std::result::Result<(), (Option<usize>, RejectReason)> {
        if record.len() != self.width {
            return Err((None, RejectReason::Ragged { expected: self.width, found: record.len() }));
        }
        for &field in &self.keep {
            let value = &record[field];
            if value.len() > self.max_field_bytes {
                let reason = RejectReason::FieldTooLarge { bytes: value.len(), limit: self.max_field_bytes };
                return Err((Some(field), reason));
            }
            if let Some(encoding) = self.transcoded_from
                && value.contains('\u{FFFD}')
            {
                let reason = RejectReason::Undecodable { encoding: encoding.name().to_owned() };
                return Err((Some(field), reason));
            }
        }
        if let Some(id) = self.id
            && self.nulls.is_null(id, &record[self.keep[id]])
        {
            return Err((Some(self.keep[id]), RejectReason::MissingId));
        }
        Ok(())
    }

    /// A reject for `record`; `column` is an index among the file's columns.
    fn reject(&self, record: &ByteRecord, column: Option<usize>, reason: RejectReason) -> Reject {
        let mut raw = Vec::with_capacity(record.as_slice().len() + record.len());
        for (i, field) in record.iter().enumerate() {
            if i > 0 {
                raw.push(b',');
            }
            raw.extend_from_slice(field);
        }
        Reject {
            file: Arc::clone(&self.file),
            row: self.row,
            line: record.position().map(|p| {
                let after_terminator = self.crlf && (p.record() > 0);
                p.line() + u64::from(after_terminator)
            }),
            column: column.and_then(|c| self.names.get(c).cloned()),
            reason,
            raw: super::excerpt(&raw),
        }
    }
}

impl Source for CsvSource {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn next_batch(&mut self, stats: &mut ReadStats) -> Option<Result<Batch>> {
        if self.done {
            return None;
        }
        let columns = self.keep.len();
        let mut builders = super::text_builders(columns, self.batch_size);
        let mut rows = Vec::with_capacity(self.batch_size);
        let mut rejects = Vec::new();
        let mut bytes = std::mem::take(&mut self.bytes);

        while rows.len() + rejects.len() < self.batch_size {
            if let Some(pending) = self.pending.take() {
                bytes = pending;
            } else {
                match self.reader.read_byte_record(&mut bytes) {
                    Ok(true) => {}
                    Ok(false) => {
                        self.done = true;
                        break;
                    }
                    Err(e) => {
                        self.done = true;
                        return Some(Err(csv_error(Path::new(&*self.file), e)));
                    }
                }
            }
            self.row += 1;
            stats.rows_read += 1;
            // Lines this record spans: from its first line to where the parser now is.
            let start = bytes.position().map_or(0, |p| p.line() + u64::from(self.crlf && p.record() > 0));
            let lines = self.reader.position().line().saturating_sub(start);
            if lines > MAX_RECORD_LINES {
                rejects.push(self.reject(&bytes, None, RejectReason::UnclosedQuote { lines }));
                stats.rows_rejected += 1;
                continue;
            }
            let record = match StringRecord::from_byte_record(bytes) {
                Ok(record) => record,
                Err(error) => {
                    let field = error.utf8_error().field();
                    let offset = error.utf8_error().valid_up_to();
                    bytes = error.into_byte_record();
                    let reason = RejectReason::InvalidUtf8 { offset };
                    rejects.push(self.reject(&bytes, Some(field), reason));
                    stats.rows_rejected += 1;
                    continue;
                }
            };
            match self.check(&record) {
                Ok(()) => {
                    for (out, builder) in builders.iter_mut().enumerate() {
                        let value = &record[self.keep[out]];
                        if self.nulls.is_null(out, value) {
                            builder.append_null();
                        } else {
                            builder.append_value(value);
                        }
                    }
                    rows.push(self.row);
                    stats.rows_passed += 1;
                }
                Err((column, reason)) => {
                    rejects.push(self.reject(record.as_byte_record(), column, reason));
                    stats.rows_rejected += 1;
                }
            }
            bytes = record.into_byte_record();
        }
        self.bytes = bytes;

        super::finish_text_batch(&self.schema, &mut builders, rows, rejects)
    }

    fn progress(&self) -> Progress {
        Progress { position: self.position.load(Ordering::Relaxed), total: self.total }
    }

    fn detected(&self) -> Detected {
        self.detected
    }
}

/// Bytes read ahead to detect the delimiter.
const SAMPLE_BYTES: usize = 64 * 1024;

/// Reads up to [`SAMPLE_BYTES`] of the text; returns them, whether they are the whole text, and
/// the reader of the rest.
fn sample(
    path: &Path,
    mut reader: Box<dyn std::io::Read + Send>,
) -> Result<(Vec<u8>, bool, Box<dyn std::io::Read + Send>)> {
    let mut sample = vec![0; SAMPLE_BYTES];
    let mut filled = 0;
    while filled < SAMPLE_BYTES {
        match reader.read(&mut sample[filled..]) {
            Ok(0) => {
                sample.truncate(filled);
                return Ok((sample, true, reader));
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, "read", e)),
        }
    }
    Ok((sample, false, reader))
}

/// Delimiters tried, in order of preference.
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Records of the sample compared.
const SAMPLE_RECORDS: usize = 50;

/// The delimiter that splits the first record (the header) into two fields or more, and the
/// most of the next records into as many; `,` when none does.
pub(crate) fn detect_delimiter(sample: &[u8], quote: u8, complete: bool) -> u8 {
    let mut best = (b',', -1.0);
    for delimiter in DELIMITERS {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .quote(quote)
            .has_headers(false)
            .flexible(true)
            .from_reader(sample);
        let mut widths: Vec<usize> = Vec::new();
        let mut record = ByteRecord::new();
        while widths.len() <= SAMPLE_RECORDS && matches!(reader.read_byte_record(&mut record), Ok(true)) {
            widths.push(record.len());
        }
        // The sample may end inside the last record.
        if !complete && widths.len() > 1 {
            widths.pop();
        }
        let Some((&first, rest)) = widths.split_first() else { continue };
        if first < 2 {
            continue;
        }
        let score = if rest.is_empty() {
            0.5
        } else {
            rest.iter().filter(|&&w| w == first).count() as f64 / rest.len() as f64
        };
        if score > best.1 {
            best = (delimiter, score);
        }
    }
    best.0
}

fn header_names(
    path: &Path,
    header: &ByteRecord,
    transcoded_from: Option<&'static encoding_rs::Encoding>,
) -> Result<Vec<String>> {
    let mut names: Vec<String> = Vec::with_capacity(header.len());
    for (i, field) in header.iter().enumerate() {
        let name = std::str::from_utf8(field).map_err(|_| {
            let hint = match transcoded_from {
                None => "; if the file is Windows-1258 or UTF-16 without a byte-order mark, set `encoding`",
                Some(_) => "",
            };
            Error::format(
                path,
                Some("line 1".into()),
                format!("column {} of the header is not valid UTF-8{hint}", i + 1),
            )
        })?;
        let name = name.trim();
        let name = if name.is_empty() { format!("column_{}", i + 1) } else { name.to_owned() };
        if let Some(previous) = names.iter().position(|n| *n == name) {
            return Err(Error::format(
                path,
                Some("line 1".into()),
                format!("columns {} and {} are both named `{name}`", previous + 1, i + 1),
            ));
        }
        names.push(name);
    }
    Ok(names)
}

fn csv_error(path: &Path, error: csv::Error) -> Error {
    let position = error.position().map(|p| format!("line {}", p.line()));
    let message = error.to_string();
    match error.into_kind() {
        csv::ErrorKind::Io(e) => Error::io(path, "read", e),
        _ => Error::format(path, position, message),
    }
}
