//! NDJSON reading: one JSON object per line, parsed with simd-json.
//!
//! Without a column list, the columns are the keys of the first objects of the file (up to
//! [`SCHEMA_SAMPLE`] lines), in the order they first appear. Keys met later that are not columns
//! are counted in [`ReadStats::ignored_fields`], never silently dropped from view.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow_schema::{DataType, Field, Schema, SchemaRef};
use simd_json::prelude::*;
use simd_json::tape::Tape;
use std::fmt::Write;

use simd_json::BorrowedValue;

use super::encoding::{TextStream, open_text};
use super::{
    Batch, Detected, NullValues, Progress, ReadOptions, ReadStats, Reject, RejectReason, Source, TextEncoding,
};
use crate::error::{Error, Result};

/// Lines read ahead to find the columns of a file read without a column list.
const SCHEMA_SAMPLE: usize = 1000;

pub(crate) struct NdjsonSource {
    file: Arc<str>,
    lines: BufReader<Box<dyn std::io::Read + Send>>,
    /// Lines read ahead while finding the columns, with their line numbers.
    ahead: VecDeque<(u64, Vec<u8>)>,
    schema: SchemaRef,
    columns: Vec<String>,
    id: Option<usize>,
    nulls: NullValues,
    batch_size: usize,
    max_field_bytes: usize,
    transcoded_from: Option<&'static encoding_rs::Encoding>,
    line: u64,
    row: u64,
    done: bool,
    buffer: Vec<u8>,
    /// Scratch copy of a line, which simd-json parses in place.
    scratch: Vec<u8>,
    /// The text of one line's values, back to back; `spans` says where each column's is.
    text: String,
    spans: Vec<Option<std::ops::Range<usize>>>,
    /// simd-json's scratch space and tape, reused from line to line.
    buffers: simd_json::Buffers,
    tape: Option<Tape<'static>>,
    /// For each key position in an object, the column that key was last time.
    key_slots: Vec<Option<usize>>,
    position: Arc<AtomicU64>,
    total: u64,
    encoding: &'static encoding_rs::Encoding,
}

impl NdjsonSource {
    pub(crate) fn open(path: &Path, options: &ReadOptions) -> Result<Self> {
        let TextStream { reader, transcoded_from, position, total, encoding, .. } =
            open_text(path, options.encoding)?;
        let mut lines = BufReader::with_capacity(1 << 16, reader);
        let mut ahead = VecDeque::new();
        let mut line = 0;

        let keys: Vec<String> = match &options.columns {
            Some(columns) => columns.clone(),
            None => {
                let mut keys: Vec<String> = Vec::new();
                while ahead.len() < SCHEMA_SAMPLE {
                    let mut buffer = Vec::new();
                    let n = lines.read_until(b'\n', &mut buffer).map_err(|e| Error::io(path, "read", e))?;
                    if n == 0 {
                        break;
                    }
                    line += 1;
                    let mut copy = buffer.clone();
                    if let Ok(BorrowedValue::Object(object)) = simd_json::to_borrowed_value(&mut copy) {
                        for key in object.keys() {
                            if !keys.iter().any(|k| k == key.as_ref()) {
                                keys.push(key.to_string());
                            }
                        }
                    }
                    ahead.push_back((line, buffer));
                }
                keys
            }
        };
        // A key can be absent from any one line, so a column list never names an unknown column,
        // except an id column that no sampled line has.
        if let (None, Some(id)) = (&options.columns, options.id_column.as_deref())
            && !keys.is_empty()
            && !keys.iter().any(|k| k == id)
        {
            return Err(crate::error::ErrorKind::UnknownColumn {
                path: path.to_owned(),
                column: id.to_owned(),
                available: keys,
            }
            .into());
        }
        let mut columns = keys;
        if let Some(id) = options.id_column.as_deref()
            && !columns.iter().any(|c| c == id)
        {
            columns.insert(0, id.to_owned());
        }
        let id = options.id_column.as_deref().and_then(|id| columns.iter().position(|c| c == id));
        let schema = Arc::new(Schema::new(
            columns.iter().map(|c| Field::new(c, DataType::Utf8, true)).collect::<Vec<_>>(),
        ));
        Ok(NdjsonSource {
            file: Arc::from(path.display().to_string()),
            lines,
            ahead,
            schema,
            nulls: NullValues::new(&columns, options),
            columns,
            id,
            batch_size: options.batch_size,
            max_field_bytes: options.max_field_bytes,
            transcoded_from,
            line,
            row: 0,
            done: false,
            buffer: Vec::new(),
            scratch: Vec::new(),
            text: String::new(),
            spans: Vec::new(),
            buffers: simd_json::Buffers::default(),
            tape: None,
            key_slots: Vec::new(),
            position,
            total,
            encoding,
        })
    }

    /// The next non-blank line into `self.buffer`, with its line number.
    fn next_line(&mut self) -> std::io::Result<Option<u64>> {
        loop {
            if let Some((line, buffer)) = self.ahead.pop_front() {
                self.buffer = buffer;
                if is_blank(&self.buffer) {
                    continue;
                }
                return Ok(Some(line));
            }
            self.buffer.clear();
            if self.lines.read_until(b'\n', &mut self.buffer)? == 0 {
                return Ok(None);
            }
            self.line += 1;
            if !is_blank(&self.buffer) {
                return Ok(Some(self.line));
            }
        }
    }

    fn reject(&self, line: u64, column: Option<usize>, reason: RejectReason, raw: &[u8]) -> Reject {
        Reject {
            file: Arc::clone(&self.file),
            row: self.row,
            line: Some(line),
            column: column.map(|c| self.columns[c].clone()),
            reason,
            raw: super::excerpt(trim_newline(raw)),
        }
    }
}

impl Source for NdjsonSource {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn next_batch(&mut self, stats: &mut ReadStats) -> Option<Result<Batch>> {
        if self.done {
            return None;
        }
        let width = self.columns.len();
        let mut builders = super::text_builders(width, self.batch_size);
        let mut rows = Vec::with_capacity(self.batch_size);
        let mut rejects = Vec::new();
        self.spans.resize(width, None);

        while rows.len() + rejects.len() < self.batch_size {
            let line = match self.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => {
                    self.done = true;
                    break;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(Error::io(Path::new(&*self.file), "read", e)));
                }
            };
            self.row += 1;
            stats.rows_read += 1;
            let raw = std::mem::take(&mut self.buffer);
            match self.parse_line(&raw, stats) {
                Ok(()) => {
                    for (builder, span) in builders.iter_mut().zip(&self.spans) {
                        match span {
                            Some(span) => builder.append_value(&self.text[span.clone()]),
                            None => builder.append_null(),
                        }
                    }
                    rows.push(self.row);
                    stats.rows_passed += 1;
                }
                Err((column, reason)) => {
                    rejects.push(self.reject(line, column, reason, &raw));
                    stats.rows_rejected += 1;
                }
            }
            self.buffer = raw;
        }

        super::finish_text_batch(&self.schema, &mut builders, rows, rejects)
    }

    fn progress(&self) -> Progress {
        Progress { position: self.position.load(Ordering::Relaxed), total: self.total }
    }

    fn detected(&self) -> Detected {
        Detected { encoding: Some(TextEncoding::Named(self.encoding)), delimiter: None }
    }
}

type LineError = (Option<usize>, RejectReason);

impl NdjsonSource {
    /// Parses one line into `self.text` and `self.spans` (`None` for null or absent values).
    fn parse_line(&mut self, raw: &[u8], stats: &mut ReadStats) -> std::result::Result<(), LineError> {
        self.spans.iter_mut().for_each(|span| *span = None);
        self.text.clear();
        self.scratch.clear();
        self.scratch.extend_from_slice(trim_newline(raw));
        let mut tape = self.tape.take().unwrap_or_else(|| Tape::null().reset());
        let parsed = simd_json::fill_tape(&mut self.scratch, &mut self.buffers, &mut tape);
        let outcome = match parsed {
            Err(e) => Err(match std::str::from_utf8(raw) {
                Err(bad) => (None, RejectReason::InvalidUtf8 { offset: bad.valid_up_to() }),
                Ok(_) => (None, RejectReason::InvalidJson(e.to_string())),
            }),
            Ok(()) => match tape.as_value().as_object() {
                None => Err((None, RejectReason::NotAnObject)),
                Some(object) => {
                    let mut outcome = Ok(());
                    for (position, (key, value)) in object.iter().enumerate() {
                        // Lines of one file mostly list their keys in the same order: try the
                        // column the key at this position had last time before searching.
                        let cached = self.key_slots.get(position).copied().flatten();
                        let column = match cached {
                            Some(c) if self.columns[c] == key => Some(c),
                            _ => {
                                let found = self.columns.iter().position(|c| c == key);
                                if self.key_slots.len() <= position {
                                    self.key_slots.resize(position + 1, None);
                                }
                                self.key_slots[position] = found;
                                found
                            }
                        };
                        let Some(column) = column else {
                            stats.ignored_fields += 1;
                            continue;
                        };
                        let start = self.text.len();
                        if let Some(text) = value.as_str() {
                            self.text.push_str(text);
                        } else if value.is_null() {
                            continue;
                        } else if let Some(b) = value.as_bool() {
                            self.text.push_str(if b { "true" } else { "false" });
                        } else if let Some(n) = value.as_i64() {
                            let _ = write!(self.text, "{n}");
                        } else if let Some(n) = value.as_u64() {
                            let _ = write!(self.text, "{n}");
                        } else if let Some(n) = value.as_f64() {
                            let _ = write!(self.text, "{n}");
                        } else {
                            let found = if value.as_object().is_some() { "an object" } else { "an array" };
                            outcome = Err((Some(column), RejectReason::WrongType { found: found.into() }));
                            break;
                        }
                        let bytes = self.text.len() - start;
                        if bytes > self.max_field_bytes {
                            let reason = RejectReason::FieldTooLarge { bytes, limit: self.max_field_bytes };
                            outcome = Err((Some(column), reason));
                            break;
                        }
                        if self.nulls.is_null(column, &self.text[start..]) {
                            self.text.truncate(start);
                            self.spans[column] = None;
                        } else {
                            self.spans[column] = Some(start..self.text.len());
                        }
                    }
                    outcome
                }
            },
        };
        self.tape = Some(tape.reset());
        outcome?;
        if let Some(encoding) = self.transcoded_from
            && self.text.contains('\u{FFFD}')
        {
            return Err((None, RejectReason::Undecodable { encoding: encoding.name().to_owned() }));
        }
        if let Some(id) = self.id
            && self.spans[id].is_none()
        {
            return Err((Some(id), RejectReason::MissingId));
        }
        Ok(())
    }
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

fn trim_newline(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}
