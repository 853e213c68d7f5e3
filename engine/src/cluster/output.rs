//! Clusters and the pairs that formed them as Arrow record batches, for the `write` stage.

use std::sync::Arc;

use arrow_array::builder::{Float64Builder, StringBuilder, UInt32Builder, UInt64Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};

use super::{Assignment, Edge};
use crate::error::{Error, Result};
use crate::link::linker::Linker;
use crate::normalize::prepared::PreparedRecords;
use crate::score::Model;

/// One row per record: its id and source row, its cluster (named by the smallest member's id),
/// the cluster's size and the record's confidence.
pub fn clusters_batch(records: &PreparedRecords, assignments: &[Assignment]) -> Result<RecordBatch> {
    let n = assignments.len();
    let mut id = StringBuilder::with_capacity(n, n * 12);
    let mut row = UInt64Builder::with_capacity(n);
    let mut cluster = StringBuilder::with_capacity(n, n * 12);
    let mut size = UInt32Builder::with_capacity(n);
    let mut confidence = Float64Builder::with_capacity(n);
    for (r, assignment) in assignments.iter().enumerate() {
        id.append_value(records.record_id(r as u32));
        row.append_option(records.row(r as u32));
        cluster.append_value(records.record_id(assignment.cluster));
        size.append_value(assignment.size);
        confidence.append_value(assignment.confidence);
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("row", DataType::UInt64, true),
        Field::new("cluster_id", DataType::Utf8, false),
        Field::new("cluster_size", DataType::UInt32, false),
        Field::new("confidence", DataType::Float64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(row.finish()),
        Arc::new(cluster.finish()),
        Arc::new(size.finish()),
        Arc::new(confidence.finish()),
    ];
    RecordBatch::try_new(schema, columns).map_err(|e| Error::arrow("building the clusters batch", e))
}

/// The links inside final clusters, the pairs that formed them, with their explanations.
pub fn cluster_pairs_batch(
    linker: &Linker<'_>,
    model: &Model,
    records: &PreparedRecords,
    edges: &[Edge],
    assignments: &[Assignment],
) -> Result<RecordBatch> {
    let mut a = StringBuilder::new();
    let mut b = StringBuilder::new();
    let mut cluster = StringBuilder::new();
    let mut probability = Float64Builder::new();
    let mut explanation = StringBuilder::new();
    for edge in edges {
        let cluster_id = assignments[edge.a as usize].cluster;
        if cluster_id != assignments[edge.b as usize].cluster {
            continue;
        }
        a.append_value(records.record_id(edge.a));
        b.append_value(records.record_id(edge.b));
        cluster.append_value(records.record_id(cluster_id));
        probability.append_value(edge.probability);
        let text: Vec<String> = model
            .explain(&linker.levels_of(edge.a, edge.b))
            .iter()
            .map(|c| format!("{}={} ({:+.1})", c.comparison, c.level, c.weight))
            .collect();
        explanation.append_value(text.join("; "));
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("id_a", DataType::Utf8, false),
        Field::new("id_b", DataType::Utf8, false),
        Field::new("cluster_id", DataType::Utf8, false),
        Field::new("match_probability", DataType::Float64, false),
        Field::new("explanation", DataType::Utf8, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(a.finish()),
        Arc::new(b.finish()),
        Arc::new(cluster.finish()),
        Arc::new(probability.finish()),
        Arc::new(explanation.finish()),
    ];
    RecordBatch::try_new(schema, columns).map_err(|e| Error::arrow("building the clusters batch", e))
}

/// Links between records of one table by position (`a`, `b`: record numbers from 0, as
/// [`super::score_share`] gives them; `probability`), for passing a share's links between
/// processes; [`links_from_batches`] reads them back.
pub fn links_batch(edges: &[Edge]) -> Result<RecordBatch> {
    let schema = Arc::new(links_schema());
    let columns: Vec<ArrayRef> = vec![
        Arc::new(arrow_array::UInt32Array::from_iter_values(edges.iter().map(|e| e.a))),
        Arc::new(arrow_array::UInt32Array::from_iter_values(edges.iter().map(|e| e.b))),
        Arc::new(arrow_array::Float64Array::from_iter_values(edges.iter().map(|e| e.probability))),
    ];
    RecordBatch::try_new(schema, columns).map_err(|e| Error::arrow("building the links batch", e))
}

/// The schema of [`links_batch`].
pub fn links_schema() -> Schema {
    Schema::new(vec![
        Field::new("a", DataType::UInt32, false),
        Field::new("b", DataType::UInt32, false),
        Field::new("probability", DataType::Float64, false),
    ])
}

/// Links read back from batches of [`links_batch`]'s columns, as any integer and float types
/// (a Spark DataFrame has no unsigned integers). A missing column, a null, a negative or too large
/// record number, or a value of another type is an `ErrorKind::Invalid` naming the column and row.
pub fn links_from_batches(
    batches: impl IntoIterator<Item = std::result::Result<RecordBatch, arrow_schema::ArrowError>>,
) -> Result<Vec<Edge>> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, UInt32Type};

    let mut edges = Vec::new();
    let mut first_row = 0usize;
    for batch in batches {
        let batch = batch.map_err(|e| Error::arrow("reading the links", e))?;
        let column = |name: &str, to: &DataType| -> Result<ArrayRef> {
            let found = batch.column_by_name(name).ok_or_else(|| {
                Error::invalid(format!(
                    "the links have no column `{name}` (they need `a`, `b` and `probability`)"
                ))
            })?;
            if let Some(row) = (0..found.len()).find(|&i| found.is_null(i)) {
                return Err(Error::invalid(format!(
                    "the links' column `{name}` is empty at row {}",
                    first_row + row + 1
                )));
            }
            let options = arrow_cast::CastOptions { safe: false, ..Default::default() };
            arrow_cast::cast_with_options(found, to, &options).map_err(|e| {
                Error::invalid(format!(
                    "the links' column `{name}` ({}) does not hold {to} values: {e}",
                    found.data_type()
                ))
            })
        };
        let a = column("a", &DataType::UInt32)?;
        let b = column("b", &DataType::UInt32)?;
        let p = column("probability", &DataType::Float64)?;
        let (a, b, p) =
            (a.as_primitive::<UInt32Type>(), b.as_primitive::<UInt32Type>(), p.as_primitive::<Float64Type>());
        edges.extend((0..batch.num_rows()).map(|i| Edge {
            a: a.value(i),
            b: b.value(i),
            probability: p.value(i),
        }));
        first_row += batch.num_rows();
    }
    Ok(edges)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_go_out_and_come_back_and_bad_ones_are_named() {
        let links_from_batches = |batches: Vec<RecordBatch>| links_from_batches(batches.into_iter().map(Ok));
        let edges = vec![Edge { a: 0, b: 7, probability: 0.95 }, Edge { a: 3, b: 4, probability: 1.0 }];
        let batch = links_batch(&edges).unwrap();
        assert_eq!(links_from_batches(vec![batch.clone()]).unwrap(), edges);
        // Signed record numbers (a Spark DataFrame's) are taken; negative ones and nulls are not.
        let signed = |a: Vec<Option<i64>>| {
            let schema = Arc::new(Schema::new(vec![
                Field::new("a", DataType::Int64, true),
                Field::new("b", DataType::Int64, false),
                Field::new("probability", DataType::Float64, false),
            ]));
            let columns: Vec<ArrayRef> = vec![
                Arc::new(arrow_array::Int64Array::from(a)),
                Arc::new(arrow_array::Int64Array::from(vec![7, 4])),
                Arc::new(arrow_array::Float64Array::from(vec![0.95, 1.0])),
            ];
            RecordBatch::try_new(schema, columns).unwrap()
        };
        assert_eq!(links_from_batches(vec![signed(vec![Some(0), Some(3)])]).unwrap(), edges);
        let negative = links_from_batches(vec![signed(vec![Some(0), Some(-3)])]).unwrap_err();
        assert!(negative.to_string().contains("column `a` (Int64) does not hold UInt32"), "{negative}");
        let null = links_from_batches(vec![batch, signed(vec![Some(0), None])]).unwrap_err();
        assert!(null.to_string().contains("column `a` is empty at row 4"), "{null}");
        let missing =
            links_from_batches(vec![RecordBatch::new_empty(Arc::new(Schema::empty()))]).unwrap_err();
        assert!(missing.to_string().contains("no column `a`"), "{missing}");
    }
}
