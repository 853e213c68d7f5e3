//! Prepared records as one Arrow record batch, column for column as they are held in memory, so
//! that a table prepared once (the national table of a persistent index) is loaded with a copy
//! instead of being read and normalized again.
//!
//! Text columns become `LargeBinary` arrays (the prepared bytes, not necessarily UTF-8: ward
//! codes are little-endian integers), numbers keep their width. The table's field flags and each
//! generic column's name, role and counts travel in the schema's metadata. Loading checks every
//! column's presence and type and refuses anything else with the column named, so that a damaged
//! or foreign file is an error, never a panic or a silently different table.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{UInt8Type, UInt16Type, UInt32Type, UInt64Type};
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, BooleanArray, LargeBinaryArray, PrimitiveArray, RecordBatch,
};
use arrow_buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{Field, Schema};

use super::{GenericColumn, PreparedFields, PreparedRecords, Strings};
use crate::error::{Error, Result};
use crate::record::Role;

/// Version of the stored layout; a batch of another version is refused.
pub const STORED_LAYOUT_VERSION: u32 = 1;

const LAYOUT_KEY: &str = "khop.prepared.layout";
const FIELDS_KEY: &str = "khop.prepared.fields";
const GENERIC_PREFIX: &str = "generic:";
const GENERIC_COUNTS_PREFIX: &str = "generic_counts:";

/// The field flags in a fixed order, as stored.
fn field_flags(fields: &mut PreparedFields) -> [(&'static str, &mut bool); 9] {
    [
        ("name", &mut fields.name),
        ("date_of_birth", &mut fields.date_of_birth),
        ("sex", &mut fields.sex),
        ("national_id", &mut fields.national_id),
        ("old_id", &mut fields.old_id),
        ("phone", &mut fields.phone),
        ("address", &mut fields.address),
        ("father", &mut fields.father),
        ("mother", &mut fields.mother),
    ]
}

fn strings_array(s: &Strings) -> ArrayRef {
    let offsets: Vec<i64> = s.offsets.iter().map(|&o| i64::from(o)).collect();
    let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
    Arc::new(LargeBinaryArray::new(offsets, Buffer::from(s.bytes.clone()), None))
}

fn primitive<T: ArrowPrimitiveType>(values: &[T::Native]) -> ArrayRef {
    Arc::new(PrimitiveArray::<T>::new(ScalarBuffer::from(values.to_vec()), None))
}

/// Applies `$m!(name, field)` to every text column, in a fixed order.
macro_rules! text_columns {
    ($m:ident) => {
        $m!(ids);
        $m!(full);
        $m!(full_code);
        $m!(folded_full);
        $m!(folded_family);
        $m!(folded_middle);
        $m!(folded_given);
        $m!(sorted_tokens);
        $m!(phonetic_full);
        $m!(phonetic_given);
        $m!(national_id);
        $m!(old_id);
        $m!(phone);
        $m!(wards);
        $m!(place);
        $m!(father);
        $m!(mother);
        $m!(father_full);
        $m!(mother_full);
    };
}

/// Applies `$m!(field, arrow type)` to every numeric column.
macro_rules! number_columns {
    ($m:ident) => {
        $m!(rows, UInt64Type);
        $m!(year, UInt16Type);
        $m!(month, UInt8Type);
        $m!(day, UInt8Type);
        $m!(sex, UInt8Type);
        $m!(cccd_year, UInt16Type);
        $m!(cccd_sex, UInt8Type);
        $m!(province, UInt32Type);
        $m!(address_form, UInt8Type);
        $m!(legacy_province, UInt8Type);
        $m!(legacy_district, UInt16Type);
        $m!(legacy_ward, UInt32Type);
        $m!(full_count, UInt32Type);
        $m!(family_count, UInt32Type);
        $m!(given_count, UInt32Type);
    };
}

impl PreparedRecords {
    /// Room for `more` records in every column, each in proportion to what the records held
    /// take (see [`PreparedRecords::from_batches_sized`]). Columns taken later (the counts)
    /// are left alone.
    pub(super) fn reserve_for(&mut self, more: usize) {
        let records = self.len();
        macro_rules! reserve_text {
            ($field:ident) => {
                self.$field.reserve_like(more)
            };
        }
        text_columns!(reserve_text);
        macro_rules! reserve_number {
            ($field:ident, $t:ty) => {
                if self.$field.len() == records {
                    self.$field.reserve_exact(more);
                }
            };
        }
        number_columns!(reserve_number);
        self.name_reversed.reserve_exact(more);
        for column in &mut self.generic {
            column.values.reserve_like(more);
        }
    }

    /// This table as one record batch (see the module docs).
    pub fn to_batch(&self) -> Result<RecordBatch> {
        let mut fields = self.fields;
        let flags: Vec<&str> =
            field_flags(&mut fields).into_iter().filter(|(_, on)| **on).map(|(name, _)| name).collect();
        let mut metadata = HashMap::from([
            (LAYOUT_KEY.to_owned(), STORED_LAYOUT_VERSION.to_string()),
            (FIELDS_KEY.to_owned(), flags.join(",")),
        ]);
        let mut columns: Vec<(String, ArrayRef)> = Vec::new();
        macro_rules! put_text {
            ($field:ident) => {
                columns.push((stringify!($field).to_owned(), strings_array(&self.$field)))
            };
        }
        text_columns!(put_text);
        macro_rules! put_number {
            ($field:ident, $t:ty) => {
                columns.push((stringify!($field).to_owned(), primitive::<$t>(&self.$field)))
            };
        }
        number_columns!(put_number);
        columns.push(("name_reversed".into(), Arc::new(BooleanArray::from(self.name_reversed.clone()))));
        for column in &self.generic {
            let role = column.role.map(|r| r.to_string()).unwrap_or_default();
            metadata.insert(
                format!("{GENERIC_PREFIX}{}", column.name),
                format!("{},{},{},{role}", column.key, column.distinct, column.present),
            );
            columns.push((format!("{GENERIC_PREFIX}{}", column.name), strings_array(&column.values)));
            columns.push((
                format!("{GENERIC_COUNTS_PREFIX}{}", column.name),
                primitive::<UInt32Type>(&column.counts),
            ));
        }
        let schema = Schema::new(
            columns
                .iter()
                .map(|(name, array)| Field::new(name, array.data_type().clone(), false))
                .collect::<Vec<_>>(),
        )
        .with_metadata(metadata);
        let arrays = columns.into_iter().map(|(_, a)| a).collect();
        RecordBatch::try_new(Arc::new(schema), arrays)
            .map_err(|e| Error::arrow("storing prepared records", e))
    }

    /// Records `rows` of this table, in that order, with the table-level counts taken over
    /// them alone.
    pub(crate) fn select(&self, rows: &[u32]) -> Result<PreparedRecords> {
        let batch = self.to_batch()?;
        let indices = arrow_array::UInt32Array::from(rows.to_vec());
        let taken = arrow_select::take::take_record_batch(&batch, &indices)
            .map_err(|e| Error::arrow("selecting prepared records".to_owned(), e))?;
        drop(batch);
        let mut selected = PreparedRecords::from_batch(&taken, Path::new("(selected records)"))?;
        selected.recount(None);
        Ok(selected)
    }

    /// A table stored by [`PreparedRecords::to_batch`], read from the file `path` (named in
    /// errors). A batch of another layout version, or with a column missing, of another type or
    /// with nulls, is refused with the column named.
    pub fn from_batch(batch: &RecordBatch, path: &Path) -> Result<PreparedRecords> {
        let schema = batch.schema();
        let metadata = schema.metadata();
        let layout = metadata.get(LAYOUT_KEY).map(String::as_str);
        if layout != Some(STORED_LAYOUT_VERSION.to_string().as_str()) {
            return Err(Error::format(
                path,
                None,
                format!(
                    "stored records: layout {} where this khop reads layout {STORED_LAYOUT_VERSION}",
                    layout.unwrap_or("(none)")
                ),
            ));
        }
        let mut out = PreparedRecords::default();
        let flags = metadata.get(FIELDS_KEY).map(String::as_str).unwrap_or_default();
        for flag in flags.split(',').filter(|f| !f.is_empty()) {
            let mut known = false;
            for (name, on) in field_flags(&mut out.fields) {
                if name == flag {
                    *on = true;
                    known = true;
                }
            }
            if !known {
                return Err(Error::format(path, None, format!("stored records: unknown field `{flag}`")));
            }
        }
        macro_rules! get_text {
            ($field:ident) => {
                out.$field = text(batch, path, stringify!($field))?
            };
        }
        text_columns!(get_text);
        macro_rules! get_number {
            ($field:ident, $t:ty) => {
                out.$field = numbers::<$t>(batch, path, stringify!($field))?
            };
        }
        number_columns!(get_number);
        let reversed = column(batch, path, "name_reversed")?;
        out.name_reversed = reversed
            .as_boolean_opt()
            .ok_or_else(|| wrong(path, "name_reversed", reversed, "Boolean"))?
            .values()
            .iter()
            .collect();
        for field in schema.fields() {
            let Some(name) = field.name().strip_prefix(GENERIC_PREFIX) else { continue };
            let described = metadata.get(field.name()).map(String::as_str).unwrap_or_default();
            let bad = || {
                Error::format(
                    path,
                    None,
                    format!("stored records: generic column `{name}` is described as `{described}`"),
                )
            };
            let parts: Vec<&str> = described.splitn(4, ',').collect();
            let [key, distinct, present, role] = parts[..] else { return Err(bad()) };
            let role = match role {
                "" => None,
                role => Some(role.parse::<Role>().map_err(|_| bad())?),
            };
            out.generic.push(GenericColumn {
                name: name.to_owned(),
                key: key.parse().map_err(|_| bad())?,
                role,
                values: text(batch, path, field.name())?,
                counts: numbers::<UInt32Type>(batch, path, &format!("{GENERIC_COUNTS_PREFIX}{name}"))?,
                distinct: distinct.parse().map_err(|_| bad())?,
                present: present.parse().map_err(|_| bad())?,
            });
        }
        Ok(out)
    }
}

fn column<'b>(batch: &'b RecordBatch, path: &Path, name: &str) -> Result<&'b ArrayRef> {
    let array = batch
        .column_by_name(name)
        .ok_or_else(|| Error::format(path, None, format!("stored records: column `{name}` is missing")))?;
    if array.null_count() > 0 {
        return Err(Error::format(path, None, format!("stored records: column `{name}` has nulls")));
    }
    Ok(array)
}

fn wrong(path: &Path, name: &str, array: &ArrayRef, expected: &str) -> Error {
    Error::format(
        path,
        None,
        format!("stored records: column `{name}` is {} where {expected} was expected", array.data_type()),
    )
}

fn text(batch: &RecordBatch, path: &Path, name: &str) -> Result<Strings> {
    let array = column(batch, path, name)?;
    let binary = array.as_binary_opt::<i64>().ok_or_else(|| wrong(path, name, array, "LargeBinary"))?;
    strings_of(binary).ok_or_else(|| {
        Error::format(path, None, format!("stored records: column `{name}` holds more than 4 GiB"))
    })
}

fn numbers<T: ArrowPrimitiveType>(batch: &RecordBatch, path: &Path, name: &str) -> Result<Vec<T::Native>> {
    let array = column(batch, path, name)?;
    match array.as_primitive_opt::<T>() {
        Some(values) => Ok(values.values().to_vec()),
        None => Err(wrong(path, name, array, &T::DATA_TYPE.to_string())),
    }
}

/// The prepared form of a `LargeBinary` array; `None` past 4 GiB.
fn strings_of(array: &LargeBinaryArray) -> Option<Strings> {
    let offsets = array.value_offsets();
    let first = *offsets.first()?;
    let last = *offsets.last()?;
    let bytes = array.value_data().get(usize::try_from(first).ok()?..usize::try_from(last).ok()?)?.to_vec();
    let offsets = offsets.iter().map(|&o| u32::try_from(o - first).ok()).collect::<Option<Vec<u32>>>()?;
    Some(Strings { offsets, bytes, overflow: false })
}
