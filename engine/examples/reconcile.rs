//! Links a sector table to the national table and lists the fields to correct (the worklist).
//!
//! `cargo run --example reconcile`

mod support;

use khop::read::ReadOptions;
use khop::{Session, TableSource};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    support::generate(dir.path(), 1_000)?;

    let session = Session::new();
    let options = ReadOptions::default();
    let sector = session.prepare(&TableSource::detect(dir.path().join("bhyt.parquet"), &options)?)?;
    let national = session.prepare(&TableSource::detect(dir.path().join("national.parquet"), &options)?)?;
    let run = session.reconcile(&sector, &national, None)?;
    let summary = &run.worklist().summary;
    println!(
        "{} accepted links, {} with conflicts; {} worklist lines",
        summary.matched, summary.matched_with_conflicts, summary.conflicts
    );
    for (field, kinds) in &summary.by_field {
        for (kind, n) in kinds {
            println!("  {:<16} {:<24} {n}", field.as_str(), kind.as_str());
        }
    }
    let lines: usize = run.worklist_batches().map(|b| b.map(|b| b.num_rows())).sum::<khop::Result<_>>()?;
    assert_eq!(lines as u64, summary.conflicts);
    Ok(())
}
