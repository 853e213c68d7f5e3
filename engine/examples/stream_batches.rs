//! Links records that come from your own Arrow source (here, batches built in memory) instead of
//! a file: any `RecordBatch` of text columns becomes a prepared table.
//!
//! `cargo run --example stream_batches`

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use khop::read::{Batch, ReadOptions};
use khop::{ColumnSpec, DatasetSpec, Role, Session, Table, TableSource};

/// Two columns of text: an id and the rest by role.
fn batch(ids: &[&str], names: &[&str], dates: &[&str], cccd: &[&str]) -> khop::Result<Batch> {
    let column = |values: &[&str]| Arc::new(StringArray::from(values.to_vec())) as ArrayRef;
    let records = RecordBatch::try_from_iter([
        ("id", column(ids)),
        ("ho_ten", column(names)),
        ("ngay_sinh", column(dates)),
        ("cccd", column(cccd)),
    ])
    .map_err(|e| khop::Error::from(khop::ErrorKind::InvalidArgument(e.to_string())))?;
    let rows = (1..=ids.len() as u64).collect();
    Ok(Batch { records, rows, rejects: Vec::new() })
}

fn source(name: &str) -> TableSource {
    let dataset = DatasetSpec {
        id_column: Some("id".into()),
        columns: vec![
            ColumnSpec::new("ho_ten", Role::FullName),
            ColumnSpec::new("ngay_sinh", Role::DateOfBirth),
            ColumnSpec::new("cccd", Role::NationalId),
        ],
    };
    let input = khop::config::InputConfig {
        name: name.into(),
        path: format!("{name} (in memory)").into(),
        dataset,
        read: ReadOptions::default(),
    };
    TableSource::from_input(&input)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let national = Table::from_batches(
        source("national"),
        [
            batch(
                &["N1", "N2", "N3", "N4"],
                &["Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng Cường", "Phạm Thu Dung"],
                &["01/02/1980", "15/07/1992", "30/11/1975", "08/03/2001"],
                &["001080012345", "079192054321", "048075011111", "031301022222"],
            ),
            batch(
                &["N5", "N6"],
                &["Võ Minh Em", "Đặng Quốc Phong"],
                &["12/12/1988", "05/05/1965"],
                &["052088033333", "036065044444"],
            ),
        ],
    )?;
    let sector = Table::from_batches(
        source("sector"),
        [batch(
            &["S1", "S2", "S3"],
            &["NGUYEN VAN AN", "Tran Thi Binh", "Pham Thu Dung"],
            &["1980-02-01", "15/07/1992", "08/03/2001"],
            &["001080012345", "", "031301022222"],
        )],
    )?;
    // Tables this small give EM little to learn from: a real run trains on thousands of records.
    let session = Session::new().configure(|s| s.random_pairs = 1_000)?;
    let run = session.link(&sector, &national, None)?;
    for batch in run.batches()? {
        let batch = batch?;
        println!("{} link rows with {} columns", batch.num_rows(), batch.num_columns());
    }
    for result in run.results() {
        let best = result.best.map(|b| national.records().record_id(b.right).to_owned());
        println!("{} -> {:?} ({:?})", sector.records().record_id(result.left), best, result.decision);
    }
    assert_eq!(run.results().len(), 3);
    Ok(())
}
