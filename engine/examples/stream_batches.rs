//! Links records that come from your own Arrow source instead of a file khop opens: any
//! `RecordBatch` with text columns becomes a prepared table. Here the source is the `parquet`
//! crate's own Arrow reader; a DuckDB or Arrow Flight stream works the same way.
//!
//! `cargo run --example stream_batches`

mod support;

use std::fs::File;
use std::path::Path;

use khop::read::{Batch, ReadOptions};
use khop::{Session, Table, TableSource};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// The batches of a Parquet file, read by the parquet crate, numbered for khop: each row's
/// position in the stream (1-based), no rows rejected by this source.
fn arrow_stream(path: &Path) -> Result<Vec<khop::Result<Batch>>, Box<dyn std::error::Error>> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path)?)?.with_batch_size(300).build()?;
    let mut next_row = 1u64;
    let mut batches = Vec::new();
    for records in reader {
        let records = records?;
        let rows = (next_row..next_row + records.num_rows() as u64).collect();
        next_row += records.num_rows() as u64;
        batches.push(Ok(Batch { records, rows, rejects: Vec::new() }));
    }
    Ok(batches)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    support::generate(dir.path(), 1_000)?;
    let (sector_file, national_file) = (dir.path().join("bhxh.parquet"), dir.path().join("national.parquet"));

    // The roles of the columns: detected here from the files; a caller can also build a
    // `DatasetSpec` by hand (see `khop::config::InputConfig`).
    let options = ReadOptions::default();
    let sector_source = TableSource::detect(&sector_file, &options)?;
    let national_source = TableSource::detect(&national_file, &options)?;

    let sector = Table::from_batches(sector_source, arrow_stream(&sector_file)?)?;
    let national = Table::from_batches(national_source, arrow_stream(&national_file)?)?;
    let run = Session::new().link(&sector, &national, None)?;

    let mut rows = 0;
    for batch in run.batches()? {
        rows += batch?.num_rows();
    }
    let summary = run.summary();
    println!(
        "{rows} link rows from {} streamed sector records: {} match, {} review, {} no match",
        sector.len(),
        summary.decisions.r#match,
        summary.decisions.review,
        summary.decisions.no_match
    );
    assert_eq!(rows, sector.len());
    // The same tables read by khop itself give the same links.
    let session = Session::new();
    let by_file = session.link(
        &session.prepare(&TableSource::detect(&sector_file, &options)?)?,
        &session.prepare(&TableSource::detect(&national_file, &options)?)?,
        None,
    )?;
    assert_eq!(by_file.results(), run.results());
    Ok(())
}
