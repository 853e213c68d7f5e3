//! Records to look up, given as JSON objects of role-named fields, prepared as a table.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::normalize::prepared::PreparedRecords;
use crate::read::Batch;
use crate::record::{ColumnSpec, DatasetSpec, Role};
use crate::score::Model;

/// The roles whose fields `model`'s comparisons read (generic columns aside): a record to look
/// up gets exactly these fields, missing ones as nulls, so that its comparisons are the model's.
pub(super) fn model_roles(model: &Model) -> Vec<Role> {
    let mut roles = Vec::new();
    for comparison in &model.comparisons {
        let role = match comparison.spec.name.as_str() {
            "name" => Role::FullName,
            "date_of_birth" => Role::DateOfBirth,
            "national_id" | "cccd_consistency" => Role::NationalId,
            "old_id" => Role::OldId,
            "sex" => Role::Sex,
            "phone" => Role::Phone,
            "address" => Role::Address,
            "father_name" => Role::FatherName,
            "mother_name" => Role::MotherName,
            _ => continue,
        };
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    roles
}

/// `records` as prepared records with a field for each of `roles`, one record per object, in
/// order, and the names of the fields given that are not among `roles` (the model cannot use
/// them). Fields are role names; values are strings or numbers, null for missing. Anything else
/// is refused with the record and field named (never the value: it is personal data).
pub(super) fn query_records(
    records: &[Map<String, Value>],
    roles: &[Role],
) -> Result<(PreparedRecords, Vec<String>)> {
    let mut ignored: Vec<String> = Vec::new();
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
            if !roles.contains(&role) && !ignored.contains(name) {
                ignored.push(name.clone());
            }
        }
    }
    let fields: Vec<(String, Role)> = roles.iter().map(|r| (r.as_str().to_owned(), *r)).collect();
    if fields.is_empty() {
        return Err(Error::invalid("the model compares no field a record could give"));
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
    Ok((PreparedRecords::from_batches(&spec, [Ok(batch)])?, ignored))
}
