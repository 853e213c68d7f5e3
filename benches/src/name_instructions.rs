//! Name normalization over the `normalize/name` benchmark's 10,000 names, a given number of
//! rounds, for instruction counts that do not depend on the machine's load:
//!
//! ```text
//! cargo build --profile bench -p khop-benches --bin name_instructions
//! valgrind --tool=callgrind target/release/name_instructions 0
//! valgrind --tool=callgrind target/release/name_instructions 20
//! ```
//!
//! The difference of the two totals divided by 200,000 is the instructions per name. A second
//! argument `accented`, `ascii`, `upper` or `reversed` keeps only that quarter of the names.

use std::hint::black_box;

use anyhow::{Context, Result, bail};
use khop::normalize::name::{NameScratch, NormalizedName, normalize_name_into};

#[path = "names.rs"]
mod names;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().context("usage: name_instructions ROUNDS [KIND]")?.parse()?;
    let kind = match args.next().as_deref() {
        None => None,
        Some("accented") => Some(0),
        Some("ascii") => Some(1),
        Some("upper") => Some(2),
        Some("reversed") => Some(3),
        Some(other) => bail!("unknown kind {other:?}"),
    };
    let input: Vec<String> = names::names(10_000)
        .into_iter()
        .enumerate()
        .filter(|(i, _)| kind.is_none_or(|k| i % 4 == k))
        .map(|(_, s)| s)
        .collect();
    let mut scratch = NameScratch::new();
    let mut out = NormalizedName::default();
    let mut total = 0usize;
    for _ in 0..rounds {
        for s in &input {
            normalize_name_into(black_box(s), &mut scratch, &mut out);
            total += out.phonetic_full.len();
        }
    }
    println!("{} names, {rounds} rounds, {} key bytes", input.len(), black_box(total));
    Ok(())
}
