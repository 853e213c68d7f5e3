//! Records to look up, given as JSON objects of role-named fields, prepared as a table.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::normalize::prepared::PreparedRecords;
use crate::read::Batch;
use crate::record::{ColumnSpec, DatasetSpec, Role};

/// `records` as prepared records, one per object, in order. Fields are role names; values are
/// strings or numbers, null for missing. Anything else is refused with the record and field
/// named (never the value: it is personal data).
pub(super) fn query_records(records: &[Map<String, Value>]) -> Result<PreparedRecords> {
    let mut fields: Vec<(String, Role)> = Vec::new();
    for (i, record) in records.iter().enumerate() {
        for name in record.keys() {
            let role = name.parse::<Role>().map_err(|_| {
                let known: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                Error::invalid(format!(
                    "record {}: unknown field `{name}`; fields are role names: {}",
                    i + 1,
                    known.join(", ")
                ))
            })?;
            if !fields.iter().any(|(f, _)| f == name) {
                fields.push((name.clone(), role));
            }
        }
    }
    if fields.is_empty() {
        return Err(Error::invalid("no record to look up has any field"));
    }
    let mut columns: Vec<(String, ArrayRef)> = Vec::with_capacity(fields.len());
    for (name, _) in &fields {
        let values = records
            .iter()
            .enumerate()
            .map(|(i, record)| match record.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(other) => Err(Error::invalid(format!(
                    "record {}: field `{name}` is {}, where a string or a number was expected",
                    i + 1,
                    match other {
                        Value::Bool(_) => "a boolean",
                        Value::Array(_) => "an array",
                        _ => "an object",
                    }
                ))),
            })
            .collect::<Result<Vec<Option<String>>>>()?;
        columns.push((name.clone(), Arc::new(StringArray::from(values)) as ArrayRef));
    }
    let records_batch =
        RecordBatch::try_from_iter(columns).map_err(|e| Error::arrow("records to look up", e))?;
    let spec = DatasetSpec {
        id_column: None,
        columns: fields.iter().map(|(name, role)| ColumnSpec::new(name, *role)).collect(),
    };
    let batch =
        Batch { rows: (1..=records.len() as u64).collect(), records: records_batch, rejects: Vec::new() };
    PreparedRecords::from_batches(&spec, [Ok(batch)])
}
