//! Explains one pair of records for a clerk: each comparison's values, level and weight.
//!
//! `cargo run --example explain_pair`

mod support;

use khop::read::ReadOptions;
use khop::{Session, TableSource};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    support::generate(dir.path(), 1_000)?;

    let session = Session::new();
    let options = ReadOptions::default();
    let sector = session.prepare(&TableSource::detect(dir.path().join("bhxh.parquet"), &options)?)?;
    let national = session.prepare(&TableSource::detect(dir.path().join("national.parquet"), &options)?)?;
    // A true pair, from the generator's ground truth (`left_id,right_id`).
    let truth = khop::eval::read_pairs(&dir.path().join("links_bhxh.csv"))?;
    let (left, right) = truth.first().ok_or("no true link")?;
    let explained = session.explain(&sector, &national, left, right, None)?;
    let e = &explained.explanation;
    for c in &e.comparisons {
        println!(
            "{:<16} {:<30} {:<30} {:<12} {:+.1}",
            c.comparison, c.left_value, c.right_value, c.level, c.weight
        );
    }
    println!("match weight {:+.1} bits, probability {:.4}", e.match_weight, e.match_probability);
    let sum: f64 = e.prior_weight + e.comparisons.iter().map(|c| c.weight).sum::<f64>();
    assert!((sum - e.match_weight).abs() < 1e-6, "the weights add up to the match weight");
    Ok(())
}
