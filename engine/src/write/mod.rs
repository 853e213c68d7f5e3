//! The `write` stage: record batches out to Parquet, CSV or NDJSON, and the rejects file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

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
    path: PathBuf,
    inner: Inner,
    rows: u64,
}

impl Writer {
    /// Creates (or truncates) `path` for batches of `schema`.
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
        let file = File::create(path).map_err(|e| Error::io(path, "create", e))?;
        let inner = match format {
            Format::Parquet => {
                let level = ZstdLevel::try_new(options.zstd_level)
                    .map_err(|e| Error::invalid(format!("zstd level: {e}")))?;
                let properties = WriterProperties::builder()
                    .set_compression(Compression::ZSTD(level))
                    .set_max_row_group_row_count(Some(options.row_group_rows.max(1)))
                    .build();
                let writer = ArrowWriter::try_new(file, schema, Some(properties))
                    .map_err(|e| Error::format(path, None, e.to_string()))?;
                Inner::Parquet(writer)
            }
            Format::Csv => Inner::Csv(
                arrow_csv::WriterBuilder::new()
                    .with_header(true)
                    .with_delimiter(options.delimiter)
                    .build(BufWriter::new(file)),
            ),
            Format::Ndjson => Inner::Ndjson(arrow_json::LineDelimitedWriter::new(BufWriter::new(file))),
        };
        Ok(Writer { path: path.to_owned(), inner, rows: 0 })
    }

    /// Appends a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let result = match &mut self.inner {
            Inner::Parquet(w) => w.write(batch).map_err(|e| e.to_string()),
            Inner::Csv(w) => w.write(batch).map_err(|e| e.to_string()),
            Inner::Ndjson(w) => w.write(batch).map_err(|e| e.to_string()),
        };
        result.map_err(|e| Error::format(&self.path, None, format!("cannot write: {e}")))?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Finishes the file (Parquet footer, flushes); returns the rows written.
    pub fn finish(self) -> Result<u64> {
        let path = self.path;
        let fail = |e: String| Error::format(&path, None, format!("cannot finish: {e}"));
        match self.inner {
            Inner::Parquet(w) => {
                w.close().map_err(|e| fail(e.to_string()))?;
            }
            Inner::Csv(w) => {
                w.into_inner().flush().map_err(|e| Error::io(&path, "write", e))?;
            }
            Inner::Ndjson(mut w) => {
                w.finish().map_err(|e| fail(e.to_string()))?;
                w.into_inner().flush().map_err(|e| Error::io(&path, "write", e))?;
            }
        }
        Ok(self.rows)
    }
}

/// Writes rejected rows to a CSV file: `file,row,line,column,reason_code,reason,raw`.
pub struct RejectWriter {
    path: PathBuf,
    writer: csv::Writer<BufWriter<File>>,
    count: u64,
}

impl RejectWriter {
    /// Creates (or truncates) the rejects file.
    pub fn create(path: impl AsRef<Path>) -> Result<RejectWriter> {
        let path = path.as_ref();
        let file = File::create(path).map_err(|e| Error::io(path, "create", e))?;
        let mut writer = csv::Writer::from_writer(BufWriter::new(file));
        writer
            .write_record(["file", "row", "line", "column", "reason_code", "reason", "raw"])
            .map_err(|e| Error::format(path, None, e.to_string()))?;
        Ok(RejectWriter { path: path.to_owned(), writer, count: 0 })
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
                .map_err(|e| Error::format(&self.path, None, e.to_string()))?;
            self.count += 1;
        }
        Ok(())
    }

    /// Flushes the file; returns the rows written.
    pub fn finish(mut self) -> Result<u64> {
        self.writer.flush().map_err(|e| Error::io(&self.path, "write", e))?;
        Ok(self.count)
    }
}
