//! Parquet reading: projection and batch size pushed down to the Parquet decoder.
//!
//! String columns (Utf8, LargeUtf8, Utf8View) pass through without a copy. Binary columns are
//! checked row by row: a row with invalid UTF-8 is rejected. Other scalar columns are cast to
//! Utf8; nested columns (lists, structs, maps) are refused when the file is opened.
//!
//! Pages that carry a CRC-32 checksum (Spark and parquet-mr write them; pyarrow on request) are
//! verified as they are read: a flipped byte fails the read instead of changing a value. The
//! Parquet writer of this version of the `parquet` crate writes no page checksums.
//!
//! Before any page is decoded, the page headers of the columns to read are checked against
//! their column chunks ([`pages`]): a damaged header cannot make the decoder allocate gigabytes.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions};
use arrow_buffer::{BooleanBufferBuilder, NullBuffer};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use super::{Batch, NullValues, Progress, ReadOptions, ReadStats, Reject, RejectReason, Source};
use crate::error::{Error, ErrorKind, Result};
use crate::read::TextColumn;

mod pages;

pub(crate) struct ParquetSource {
    file: Arc<str>,
    reader: ParquetRecordBatchReader,
    schema: SchemaRef,
    id: Option<usize>,
    nulls: NullValues,
    max_field_bytes: usize,
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
        let file_schema = Arc::clone(builder.schema());
        let names: Vec<String> = file_schema.fields().iter().map(|f| f.name().clone()).collect();
        let keep = super::project(path, &names, options)?;

        let mut fields = Vec::with_capacity(keep.len());
        for &index in &keep {
            let field = file_schema.field(index);
            let output = output_type(field.data_type()).ok_or_else(|| {
                Error::from(ErrorKind::ColumnType {
                    path: path.to_owned(),
                    column: field.name().clone(),
                    found: field.data_type().to_string(),
                })
            })?;
            fields.push(Field::new(field.name(), output, true));
        }
        let output_names: Vec<String> = fields.iter().map(|f| f.name().clone()).collect();
        let schema = Arc::new(Schema::new(fields));
        let id = options.id_column.as_deref().and_then(|id| output_names.iter().position(|c| c == id));

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
        Ok(ParquetSource {
            file: Arc::from(path.display().to_string()),
            reader,
            schema,
            id,
            nulls: NullValues::new(&output_names, options),
            max_field_bytes: options.max_field_bytes,
            row: 0,
            total,
            failed: false,
        })
    }
}

/// The type a column comes out as, or `None` when it cannot be read as text.
fn output_type(data_type: &DataType) -> Option<DataType> {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Some(data_type.clone()),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
            Some(DataType::Utf8)
        }
        DataType::Dictionary(_, value) => output_type(value).map(|_| DataType::Utf8),
        DataType::Null
        | DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Float16
        | DataType::Float32
        | DataType::Float64
        | DataType::Decimal32(_, _)
        | DataType::Decimal64(_, _)
        | DataType::Decimal128(_, _)
        | DataType::Decimal256(_, _)
        | DataType::Date32
        | DataType::Date64
        | DataType::Time32(_)
        | DataType::Time64(_)
        | DataType::Timestamp(_, _)
        | DataType::Duration(_)
        | DataType::Interval(_) => Some(DataType::Utf8),
        _ => None,
    }
}

impl Source for ParquetSource {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn next_batch(&mut self, stats: &mut ReadStats) -> Option<Result<Batch>> {
        if self.failed {
            return None;
        }
        let path = Path::new(&*self.file);
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
                return Some(Err(Error::format_with(Path::new(&*self.file), position, message, e)));
            }
        };
        let first_row = self.row;
        let count = decoded.num_rows();
        self.row += count as u64;
        stats.rows_read += count as u64;

        // Reorder to the schema's column order, converting to text on the way. Rejected rows are
        // few: keep them sparse, by row, first reason found.
        let mut rejected = Rejected::new();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        for (out, field) in self.schema.fields().iter().enumerate() {
            let Some(array) = decoded.column_by_name(field.name()) else {
                let message = format!("column `{}` missing from a decoded batch", field.name());
                return Some(Err(Error::format(Path::new(&*self.file), None, message)));
            };
            let text = match to_text(array, field.data_type(), out, &mut rejected) {
                Ok(text) => text,
                Err(e) => {
                    let position = Some(format!("rows {}..{}", first_row + 1, self.row));
                    return Some(Err(Error::format(Path::new(&*self.file), position, e)));
                }
            };
            let text = self.apply_nulls(out, text, &mut rejected);
            columns.push(text);
        }
        if let Some(id) = self.id
            && let Some(nulls) = columns[id].logical_nulls()
        {
            for row in nulls.iter().enumerate().filter(|(_, valid)| !valid).map(|(row, _)| row) {
                rejected.entry(row).or_insert((id, RejectReason::MissingId));
            }
        }

        let records = match RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(count)),
        ) {
            Ok(records) => records,
            Err(e) => {
                return Some(Err(Error::format(Path::new(&*self.file), None, e.to_string())));
            }
        };
        let mut rejects = Vec::with_capacity(rejected.len());
        let mut keep = BooleanBufferBuilder::new(count);
        keep.append_n(count, true);
        for (&i, (column, reason)) in &rejected {
            keep.set_bit(i, false);
            rejects.push(Reject {
                file: Arc::clone(&self.file),
                row: first_row + i as u64 + 1,
                line: None,
                column: Some(self.schema.field(*column).name().clone()),
                reason: reason.clone(),
                raw: super::excerpt(row_excerpt(&records, i).as_bytes()),
            });
        }
        let rows: Vec<u64> =
            (0..count).filter(|i| !rejected.contains_key(i)).map(|i| first_row + i as u64 + 1).collect();
        stats.rows_passed += rows.len() as u64;
        stats.rows_rejected += rejects.len() as u64;
        let records = if rejects.is_empty() {
            records
        } else {
            let mask = BooleanArray::new(keep.finish(), None);
            match arrow_select::filter::filter_record_batch(&records, &mask) {
                Ok(records) => records,
                Err(e) => {
                    return Some(Err(Error::format(Path::new(&*self.file), None, e.to_string())));
                }
            }
        };
        Some(Ok(Batch { records, rows, rejects }))
    }

    fn progress(&self) -> Progress {
        Progress { position: self.row, total: self.total }
    }
}

impl ParquetSource {
    /// Turns configured null values into nulls, and rejects fields over the size limit.
    fn apply_nulls(&self, column: usize, array: ArrayRef, rejected: &mut Rejected) -> ArrayRef {
        let Some(text) = TextColumn::new(array.as_ref()) else { return array };
        let limit = self.max_field_bytes;
        // Most columns hold no null spelling and no huge value: find out before building anything,
        // from the value lengths alone when only empty strings are nulls.
        let first = if self.nulls.only_empty(column) {
            text.position_by_length(|length| length == 0 || length > limit)
        } else {
            text.position(|v| v.len() > limit || self.nulls.is_null(column, v))
        };
        let Some(first) = first else { return array };
        let mut valid = BooleanBufferBuilder::new(text.len());
        let mut changed = false;
        for (row, value) in text.iter().enumerate() {
            let keep = match value {
                None => false,
                Some(_) if row < first => true,
                Some(value) => {
                    if value.len() > limit {
                        let reason = RejectReason::FieldTooLarge { bytes: value.len(), limit };
                        rejected.entry(row).or_insert((column, reason));
                    }
                    let null = self.nulls.is_null(column, value);
                    changed |= null;
                    !null
                }
            };
            valid.append(keep);
        }
        if !changed {
            return array;
        }
        let data = array.to_data().into_builder().nulls(Some(NullBuffer::new(valid.finish())));
        match data.build() {
            Ok(data) => arrow_array::make_array(data),
            Err(_) => array,
        }
    }
}

/// Rejected rows of a batch: row index -> (column, reason).
type Rejected = std::collections::BTreeMap<usize, (usize, RejectReason)>;

/// Converts a decoded column to its text form, recording rows with invalid UTF-8.
fn to_text(
    array: &ArrayRef,
    output: &DataType,
    column: usize,
    rejected: &mut Rejected,
) -> std::result::Result<ArrayRef, String> {
    if array.data_type() == output {
        return Ok(Arc::clone(array));
    }
    let binary: Option<Box<dyn Iterator<Item = Option<&[u8]>>>> = match array.data_type() {
        DataType::Binary => Some(Box::new(array.as_binary::<i32>().iter())),
        DataType::LargeBinary => Some(Box::new(array.as_binary::<i64>().iter())),
        DataType::BinaryView => Some(Box::new(array.as_binary_view().iter())),
        DataType::FixedSizeBinary(_) => Some(Box::new(array.as_fixed_size_binary().iter())),
        _ => None,
    };
    if let Some(values) = binary {
        let mut builder = StringBuilder::with_capacity(array.len(), array.len() * 16);
        for (row, value) in values.enumerate() {
            match value.map(std::str::from_utf8) {
                None => builder.append_null(),
                Some(Ok(text)) => builder.append_value(text),
                Some(Err(e)) => {
                    let reason = RejectReason::InvalidUtf8 { offset: e.valid_up_to() };
                    rejected.entry(row).or_insert((column, reason));
                    builder.append_null();
                }
            }
        }
        return Ok(Arc::new(builder.finish()));
    }
    arrow_cast::cast(array, output).map_err(|e| e.to_string())
}

/// A rejected row's values, comma-separated, for the rejects file.
fn row_excerpt(records: &RecordBatch, row: usize) -> String {
    let mut text = String::new();
    for (i, column) in records.columns().iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        if let Some(value) = TextColumn::new(column.as_ref()).and_then(|c| c.get(row)) {
            text.push_str(value);
        }
    }
    text
}
