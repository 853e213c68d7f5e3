//! A sector file's records as role-named JSON objects, as a caller of the lookup API sends them,
//! with their ids: the columns with a detected role, any format khop reads.

use std::path::Path;

use anyhow::{Context, Result};
use khop::read::{ReadOptions, Reader, TextColumn};
use khop::session::TableSource;
use serde_json::{Map, Value};

/// The first `wanted` records of `path` (all with `usize::MAX`), with their ids.
pub fn read(path: &Path, wanted: usize) -> Result<Vec<(String, Map<String, Value>)>> {
    let source = TableSource::detect(path, &ReadOptions::default())?;
    let dataset = source.dataset().clone();
    let id_column = dataset.id_column.clone().context("the sector table needs an id column")?;
    let mut records = Vec::new();
    for batch in Reader::open(path, source.options())? {
        let batch = batch?;
        let table = &batch.records;
        let schema = table.schema();
        let columns: Vec<(&str, TextColumn<'_>)> = schema
            .fields()
            .iter()
            .zip(table.columns())
            .filter_map(|(field, array)| TextColumn::new(array.as_ref()).map(|c| (field.name().as_str(), c)))
            .collect();
        for row in 0..table.num_rows() {
            if records.len() == wanted {
                return Ok(records);
            }
            let mut object = Map::new();
            let mut id = String::new();
            for (name, column) in &columns {
                let Some(value) = column.get(row).filter(|v| !v.is_empty()) else { continue };
                if *name == id_column {
                    id = value.to_owned();
                } else if let Some(role) = dataset.role_of(name) {
                    object.insert(role.as_str().to_owned(), value.into());
                }
            }
            records.push((id, object));
        }
    }
    Ok(records)
}

/// The generator's links file: sector id to national id.
pub fn truth(path: &Path) -> Result<std::collections::HashMap<String, String>> {
    csv::Reader::from_path(path)
        .with_context(|| path.display().to_string())?
        .records()
        .map(|r| r.map(|r| (r[0].to_owned(), r[1].to_owned())).map_err(Into::into))
        .collect()
}
