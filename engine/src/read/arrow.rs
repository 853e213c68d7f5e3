//! Arrow record batches to khop's text batches: the conversion every columnar source shares
//! (Parquet files, and Arrow streams handed over in memory by a library caller or the Python
//! package), and the source of those in-memory streams.
//!
//! String columns (Utf8, LargeUtf8, Utf8View) pass through without a copy. Binary columns are
//! checked row by row: a row with invalid UTF-8 is rejected. Other scalar columns are cast to
//! Utf8; nested columns (lists, structs, maps) are refused before any row is read.

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions, RecordBatchReader};
use arrow_buffer::{BooleanBufferBuilder, NullBuffer};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use super::{Batch, NullValues, Progress, ReadOptions, ReadStats, Reject, RejectReason, Source, TextColumn};
use crate::error::{Error, ErrorKind, Result};

/// Rejected rows of a batch: row index -> (column, reason).
type Rejected = std::collections::BTreeMap<usize, (usize, RejectReason)>;

/// How the decoded batches of one file or stream become [`Batch`]es: which columns, in which
/// order and type, the null values, the field size limit and the id column.
pub(crate) struct TextConversion {
    file: Arc<str>,
    schema: SchemaRef,
    id: Option<usize>,
    nulls: NullValues,
    max_field_bytes: usize,
}

impl TextConversion {
    /// The conversion of batches of `input` (the schema of `path`) that `options` asks for, and
    /// the positions in `input` of the columns it keeps. Fails naming a missing column, or a
    /// column of a type that cannot be read as text.
    pub(crate) fn new(
        path: &Path,
        input: &Schema,
        options: &ReadOptions,
    ) -> Result<(TextConversion, Vec<usize>)> {
        let names: Vec<String> = input.fields().iter().map(|f| f.name().clone()).collect();
        let keep = super::project(path, &names, options)?;
        let mut fields = Vec::with_capacity(keep.len());
        for &index in &keep {
            let field = input.field(index);
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
        let id = options.id_column.as_deref().and_then(|id| output_names.iter().position(|c| c == id));
        let conversion = TextConversion {
            file: Arc::from(path.display().to_string()),
            schema: Arc::new(Schema::new(fields)),
            id,
            nulls: NullValues::new(&output_names, options),
            max_field_bytes: options.max_field_bytes,
        };
        Ok((conversion, keep))
    }

    /// The schema of the converted batches.
    pub(crate) fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    /// The file (or stream) name errors and rejects carry.
    pub(crate) fn file(&self) -> &Path {
        Path::new(&*self.file)
    }

    /// Converts `decoded`, whose first row is row `first_row + 1` of the file: its columns by name
    /// (in any order), each to text, configured null values made nulls; rows with an oversized
    /// field, invalid UTF-8 in a binary column or no id are rejected. Counts the rows in `stats`.
    pub(crate) fn convert(
        &self,
        decoded: &RecordBatch,
        first_row: u64,
        stats: &mut ReadStats,
    ) -> Result<Batch> {
        let count = decoded.num_rows();
        let last_row = first_row + count as u64;
        stats.rows_read += count as u64;
        let failed = |message: String| {
            Error::format(self.file(), Some(format!("rows {}..{last_row}", first_row + 1)), message)
        };

        // Rejected rows are few: keep them sparse, by row, first reason found.
        let mut rejected = Rejected::new();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        for (out, field) in self.schema.fields().iter().enumerate() {
            let Some(array) = decoded.column_by_name(field.name()) else {
                return Err(failed(format!("column `{}` missing from a batch", field.name())));
            };
            let text = to_text(array, field.data_type(), out, &mut rejected).map_err(failed)?;
            columns.push(self.apply_nulls(out, text, &mut rejected));
        }
        if let Some(id) = self.id
            && let Some(nulls) = columns[id].logical_nulls()
        {
            for row in nulls.iter().enumerate().filter(|(_, valid)| !valid).map(|(row, _)| row) {
                rejected.entry(row).or_insert((id, RejectReason::MissingId));
            }
        }

        let records = RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(count)),
        )
        .map_err(|e| failed(e.to_string()))?;
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
            arrow_select::filter::filter_record_batch(&records, &mask).map_err(|e| failed(e.to_string()))?
        };
        Ok(Batch { records, rows, rejects })
    }

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

/// Record batches handed over in memory (any [`RecordBatchReader`]: an Arrow C stream from
/// Python, a caller's own batches), read as a file would be: the same projection, conversion to
/// text, null values and rejects. Rows are numbered across the batches from 1.
///
/// Batches larger than [`ReadOptions::batch_size`] are passed on in slices of that size (without
/// a copy): polars hands a whole data frame over as one batch, and preparation works batch by
/// batch in parallel.
pub(crate) struct ArrowSource {
    batches: Box<dyn RecordBatchReader + Send>,
    conversion: TextConversion,
    batch_size: usize,
    /// The batch being sliced, and the offset of its next slice.
    current: Option<(RecordBatch, usize)>,
    row: u64,
}

impl ArrowSource {
    pub(crate) fn new(
        name: &Path,
        batches: Box<dyn RecordBatchReader + Send>,
        options: &ReadOptions,
    ) -> Result<Self> {
        let (conversion, _) = TextConversion::new(name, &batches.schema(), options)?;
        Ok(ArrowSource { batches, conversion, batch_size: options.batch_size.max(1), current: None, row: 0 })
    }

    /// The next slice of at most `batch_size` rows, taking the next batch when one is used up.
    fn next_slice(&mut self) -> Option<std::result::Result<RecordBatch, arrow_schema::ArrowError>> {
        loop {
            if let Some((batch, offset)) = &mut self.current {
                if *offset < batch.num_rows() {
                    let length = self.batch_size.min(batch.num_rows() - *offset);
                    let slice = batch.slice(*offset, length);
                    *offset += length;
                    return Some(Ok(slice));
                }
                self.current = None;
            }
            match self.batches.next()? {
                Ok(batch) if batch.num_rows() <= self.batch_size => return Some(Ok(batch)),
                Ok(batch) => self.current = Some((batch, 0)),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

impl Source for ArrowSource {
    fn schema(&self) -> SchemaRef {
        self.conversion.schema()
    }

    fn next_batch(&mut self, stats: &mut ReadStats) -> Option<Result<Batch>> {
        // A batch of another schema than the stream's announced one is an error of the stream's
        // producer; the conversion finds its columns by name and checks their types by casting.
        let decoded = match self.next_slice()? {
            Ok(decoded) => decoded,
            Err(e) => {
                let position = Some(format!("after row {}", self.row));
                return Some(Err(Error::format(
                    self.conversion.file(),
                    position,
                    format!("cannot read ({e})"),
                )));
            }
        };
        let first_row = self.row;
        self.row += decoded.num_rows() as u64;
        Some(self.conversion.convert(&decoded, first_row, stats))
    }

    fn progress(&self) -> Progress {
        // A stream does not tell its length.
        Progress { position: self.row, total: 0 }
    }
}
