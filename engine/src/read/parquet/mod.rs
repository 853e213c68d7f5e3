//! Parquet reading: projection and batch size pushed down to the Parquet decoder.
//!
//! Decoded batches become text as every columnar source's do ([`super::arrow`]): strings pass
//! through without a copy, other scalar types are cast, nested columns are refused when the file
//! is opened.
//!
//! Pages that carry a CRC-32 checksum (Spark and parquet-mr write them; pyarrow on request) are
//! verified as they are read: a flipped byte fails the read instead of changing a value. The
//! Parquet writer of this version of the `parquet` crate writes no page checksums.
//!
//! Before any page is decoded, the page headers of the columns to read are checked against
//! their column chunks ([`pages`]): a damaged header cannot make the decoder allocate gigabytes.

use std::fs::File;
use std::path::Path;

use arrow_schema::SchemaRef;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use super::arrow::TextConversion;
use super::{Batch, Progress, ReadOptions, ReadStats, Source};
use crate::error::{Error, Result};

mod pages;

pub(crate) struct ParquetSource {
    reader: ParquetRecordBatchReader,
    conversion: TextConversion,
    row: u64,
    total: u64,
    /// The decoder panicked once: the file is damaged and nothing more is read from it.
    failed: bool,
}

/// Runs a call into the `parquet` crate, turning a panic of the decoder (some damaged files make
/// it index out of bounds instead of returning an error) into a format error of `path`.
fn guarded<T>(path: &Path, what: &str, call: impl FnOnce() -> T) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)).map_err(|panic| {
        let detail = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_owned());
        Error::format(path, None, format!("{what}: the Parquet decoder failed on a damaged file ({detail})"))
    })
}

impl ParquetSource {
    pub(crate) fn open(path: &Path, options: &ReadOptions) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, "open", e))?;
        let headers = file.try_clone().map_err(|e| Error::io(path, "open", e))?;
        let builder =
            guarded(path, "not a readable Parquet file", || ParquetRecordBatchReaderBuilder::try_new(file))?
                .map_err(|e| {
                    Error::format_with(path, None, format!("not a readable Parquet file ({e})"), e)
                })?;
        let (conversion, keep) = TextConversion::new(path, builder.schema(), options)?;
        let total = builder.metadata().file_metadata().num_rows().max(0) as u64;
        // Nested columns were refused above, so the projected roots are the leaves.
        let leaves: Vec<usize> = (0..builder.parquet_schema().num_columns())
            .filter(|&leaf| keep.contains(&builder.parquet_schema().get_column_root_idx(leaf)))
            .collect();
        pages::check(path, &headers, builder.metadata(), &leaves)?;
        let mask = ProjectionMask::roots(builder.parquet_schema(), keep.iter().copied());
        // The decoder returns projected columns in file order; `next_batch` reorders them by name.
        let reader = guarded(path, "cannot read", || {
            builder.with_projection(mask).with_batch_size(options.batch_size).build()
        })?
        .map_err(|e| Error::format_with(path, None, format!("cannot read ({e})"), e))?;
        Ok(ParquetSource { reader, conversion, row: 0, total, failed: false })
    }
}

impl Source for ParquetSource {
    fn schema(&self) -> SchemaRef {
        self.conversion.schema()
    }

    fn next_batch(&mut self, stats: &mut ReadStats) -> Option<Result<Batch>> {
        if self.failed {
            return None;
        }
        let path = self.conversion.file();
        let next = match guarded(path, &format!("after row {}", self.row), || self.reader.next()) {
            Ok(next) => next,
            Err(e) => {
                self.failed = true;
                return Some(Err(e));
            }
        };
        let decoded = match next? {
            Ok(batch) => batch,
            Err(e) => {
                // A damaged page: its checksum (CRC-32, when the writer stored one) does not match,
                // or it does not decode.
                let position = Some(format!("after row {}", self.row));
                let message = format!("cannot read ({e})");
                return Some(Err(Error::format_with(path, position, message, e)));
            }
        };
        let first_row = self.row;
        self.row += decoded.num_rows() as u64;
        // The decoder returns projected columns in file order; the conversion takes them by name.
        Some(self.conversion.convert(&decoded, first_row, stats))
    }

    fn progress(&self) -> Progress {
        Progress { position: self.row, total: self.total }
    }
}
