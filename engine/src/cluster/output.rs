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
