//! A small synthetic population for the examples (no real data): `cargo run --example NAME`
//! generates it into a temporary folder first.

use std::path::Path;

/// Generates `persons` synthetic people and their tables (Parquet) into `dir`.
pub fn generate(dir: &Path, persons: u64) -> Result<(), Box<dyn std::error::Error>> {
    let profile = khop_datasets::Profile::named("default")?;
    let options = khop_datasets::GenOptions { persons, seed: 42, ..Default::default() };
    khop_datasets::generate(dir, &profile, &options).map_err(|e| e.to_string())?;
    Ok(())
}
