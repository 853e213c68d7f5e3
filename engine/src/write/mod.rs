//! The `write` stage: record batches out to Parquet, CSV or NDJSON, and the rejects file.
//!
//! Every file is written whole or not at all (see [`write_atomic`]): it is written under a hidden
//! temporary name next to its final path and renamed into place by `finish`. An earlier file at
//! the final path stays untouched until then; a writer dropped before `finish`, or one that
//! fails, removes its temporary file.

mod atomic;

pub(crate) use self::atomic::AtomicFile;
pub use self::atomic::write_atomic;

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::error::{Error, Result};
use crate::read::{Format, Reject};

/// How to write a file.
#[derive(Clone, Debug)]
pub struct WriteOptions {
    /// The format; `None` takes it from the extension.
    pub format: Option<Format>,
    /// Rows per Parquet row group.
    pub row_group_rows: usize,
    /// zstd level for Parquet (1-22).
    pub zstd_level: i32,
    /// CSV field delimiter.
    pub delimiter: u8,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions { format: None, row_group_rows: 1 << 20, zstd_level: 3, delimiter: b',' }
    }
}

enum Inner {
    Parquet(ArrowWriter<File>),
    Csv(arrow_csv::Writer<BufWriter<File>>),
    Ndjson(arrow_json::LineDelimitedWriter<BufWriter<File>>),
}

/// A streaming writer of record batches to one file.
pub struct Writer {
    // Declared before `file`, so that the file is closed before an unfinished one is removed.
    inner: Inner,
    file: AtomicFile,
    rows: u64,
}

impl Writer {
    /// Starts writing `path` for batches of `schema`. An existing file at `path` is replaced only
    /// when [`Writer::finish`] succeeds.
    pub fn create(path: impl AsRef<Path>, schema: SchemaRef, options: &WriteOptions) -> Result<Writer> {
        let path = path.as_ref();
        let format = match options.format {
            Some(format) => format,
            None => Format::from_path(path).ok_or_else(|| {
                Error::invalid(format!(
                    "{}: cannot tell the format from the extension; name it (csv, ndjson or parquet)",
                    path.display()
                ))
            })?,
        };
        let level =
            ZstdLevel::try_new(options.zstd_level).map_err(|e| Error::invalid(format!("zstd level: {e}")))?;
        let (atomic, file) = AtomicFile::create(path)?;
        let inner = match format {
            Format::Parquet => {
                let properties = WriterProperties::builder()
                    .set_compression(Compression::ZSTD(level))
                    .set_max_row_group_row_count(Some(options.row_group_rows.max(1)))
                    .build();
                let writer = ArrowWriter::try_new(file, schema, Some(properties))
                    .map_err(|e| Error::format_with(path, None, format!("cannot write: {e}"), e))?;
                Inner::Parquet(writer)
            }
            Format::Csv => Inner::Csv(
                arrow_csv::WriterBuilder::new()
                    .with_header(true)
                    .with_delimiter(options.delimiter)
                    .build(BufWriter::new(file)),
            ),
            Format::Ndjson => Inner::Ndjson(arrow_json::LineDelimitedWriter::new(BufWriter::new(file))),
            // The temporary file goes with `atomic`.
            Format::Arrow => {
                return Err(Error::invalid(format!(
                    "{}: `arrow` names record batches handed over in memory; write csv, ndjson or parquet",
                    path.display()
                )));
            }
        };
        Ok(Writer { inner, file: atomic, rows: 0 })
    }

    /// Appends a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let path = self.file.path();
        match &mut self.inner {
            Inner::Parquet(w) => w.write(batch).map_err(|e| parquet_error(path, "write", e))?,
            Inner::Csv(w) => w.write(batch).map_err(|e| arrow_error(path, "write", e))?,
            Inner::Ndjson(w) => w.write(batch).map_err(|e| arrow_error(path, "write", e))?,
        }
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Finishes the file (Parquet footer, flushes, syncs) and moves it to its final path;
    /// returns the rows written.
    pub fn finish(self) -> Result<u64> {
        let Writer { inner, file: atomic, rows } = self;
        let path = atomic.path().to_owned();
        match inner {
            Inner::Parquet(mut w) => {
                w.finish().map_err(|e| parquet_error(&path, "finish", e))?;
                atomic.commit(w.inner())?;
            }
            Inner::Csv(w) => atomic.commit(&into_file(&path, w.into_inner())?)?,
            Inner::Ndjson(mut w) => {
                w.finish().map_err(|e| arrow_error(&path, "finish", e))?;
                atomic.commit(&into_file(&path, w.into_inner())?)?;
            }
        }
        Ok(rows)
    }
}

/// Flushes a buffered file and returns it.
fn into_file(path: &Path, writer: BufWriter<File>) -> Result<File> {
    writer.into_inner().map_err(|e| Error::io(path, "write", e.into_error()))
}

/// A Parquet writer's error, its I/O cause kept as such.
fn parquet_error(path: &Path, action: &'static str, error: parquet::errors::ParquetError) -> Error {
    Error::format_with(path, None, format!("cannot {action}: {error}"), error)
}

/// An Arrow writer's error; an I/O failure (full disk, file-size limit) stays an I/O error.
fn arrow_error(path: &Path, action: &'static str, error: arrow_schema::ArrowError) -> Error {
    match error {
        arrow_schema::ArrowError::IoError(_, e) => Error::io(path, "write", e),
        error => Error::format_with(path, None, format!("cannot {action}: {error}"), error),
    }
}

/// Writes rejected rows to a CSV file: `file,row,line,column,reason_code,reason,raw`.
pub struct RejectWriter {
    writer: csv::Writer<BufWriter<File>>,
    file: AtomicFile,
    count: u64,
}

impl RejectWriter {
    /// Starts the rejects file; an existing file at `path` is replaced only when
    /// [`RejectWriter::finish`] succeeds.
    pub fn create(path: impl AsRef<Path>) -> Result<RejectWriter> {
        let path = path.as_ref();
        let (atomic, file) = AtomicFile::create(path)?;
        let mut writer = csv::Writer::from_writer(BufWriter::new(file));
        writer
            .write_record(["file", "row", "line", "column", "reason_code", "reason", "raw"])
            .map_err(|e| csv_error(path, e))?;
        Ok(RejectWriter { writer, file: atomic, count: 0 })
    }

    /// Appends rejected rows.
    pub fn write(&mut self, rejects: &[Reject]) -> Result<()> {
        for reject in rejects {
            let line = reject.line.map(|l| l.to_string()).unwrap_or_default();
            self.writer
                .write_record([
                    &*reject.file,
                    &reject.row.to_string(),
                    &line,
                    reject.column.as_deref().unwrap_or(""),
                    reject.reason.code(),
                    &reject.reason.to_string(),
                    &reject.raw,
                ])
                .map_err(|e| csv_error(self.file.path(), e))?;
            self.count += 1;
        }
        Ok(())
    }

    /// Flushes and syncs the file and moves it to its final path; returns the rows written.
    pub fn finish(self) -> Result<u64> {
        let RejectWriter { writer, file: atomic, count } = self;
        let path = atomic.path().to_owned();
        let buffered = writer.into_inner().map_err(|e| Error::io(&path, "write", e.into_error()))?;
        let file = into_file(&path, buffered)?;
        atomic.commit(&file)?;
        Ok(count)
    }
}

/// A CSV writer's error; an I/O failure stays an I/O error.
fn csv_error(path: &Path, error: csv::Error) -> Error {
    if !error.is_io_error() {
        return Error::format_with(path, None, format!("cannot write: {error}"), error);
    }
    match error.into_kind() {
        csv::ErrorKind::Io(e) => Error::io(path, "write", e),
        _ => Error::format(path, None, "cannot write"),
    }
}
