//! Finds the duplicates inside one table (the commune register) and prints the largest clusters.
//!
//! `cargo run --example dedupe_one`

mod support;

use khop::read::ReadOptions;
use khop::{Session, TableSource};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    support::generate(dir.path(), 1_000)?;

    let session = Session::new();
    let register =
        session.prepare(&TableSource::detect(dir.path().join("local.parquet"), &ReadOptions::default())?)?;
    let run = session.dedupe(&register)?;
    let summary = run.summary();
    println!(
        "{} records in {} clusters, {} of them with duplicates; ids: {}",
        summary.table.records,
        summary.clusters,
        summary.report.clusters,
        register.source().id_choice()
    );
    let clusters = run.clusters_batch()?;
    assert_eq!(clusters.num_rows(), register.len(), "one row per record");
    assert!(summary.clusters < register.len(), "the register holds duplicates");
    Ok(())
}
