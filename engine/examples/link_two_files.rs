//! Links a sector table (social insurance) to the national table, roles detected, no labels,
//! and writes the links with a summary.
//!
//! `cargo run --example link_two_files`

mod support;

use khop::read::ReadOptions;
use khop::{LinkOutputs, Session, TableSource};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    support::generate(dir.path(), 1_000)?;

    let session = Session::new();
    let options = ReadOptions::default();
    let sector = session.prepare(&TableSource::detect(dir.path().join("bhxh.parquet"), &options)?)?;
    let national = session.prepare(&TableSource::detect(dir.path().join("national.parquet"), &options)?)?;
    let run = session.link(&sector, &national, None)?;
    let summary = run.write_outputs(&LinkOutputs {
        summary: Some(dir.path().join("summary.json")),
        ..LinkOutputs::new(dir.path().join("links.parquet"))
    })?;

    println!(
        "{} sector records: {} match, {} review, {} no match; {} rows rejected",
        sector.len(),
        summary.decisions.r#match,
        summary.decisions.review,
        summary.decisions.no_match,
        summary.rows_rejected
    );
    assert_eq!(summary.rows_written, Some(sector.len() as u64));
    assert!(summary.decisions.r#match > sector.len() / 2, "most sector records find their citizen");
    Ok(())
}
