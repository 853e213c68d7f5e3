//! Lookup latency against a national index: one record at a time on one thread (p50, p99, max),
//! then the same records on all threads (lookups per second). The answer is checked: the best
//! candidate of each `match` must be the true citizen (the generator's links), or the run fails.
//!
//! ```sh
//! khop gen --persons 1000000 --format csv --out g
//! khop index build g/national.csv --out g/national.idx --train-with g/bhxh.csv
//! cargo run --release -p khop-benches --bin lookup_latency -- g/national.idx g/bhxh.csv g/links_bhxh.csv 10000
//! ```

use std::path::Path;
use std::time::Instant;

use anyhow::{Result, bail};
use khop::index::{LookupOptions, NationalIndex};
use khop::session::Session;
use rayon::prelude::*;

mod role_objects;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Share of `match` answers whose best candidate must be the true citizen.
const MIN_PRECISION: f64 = 0.99;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, index_dir, sector, truth, rest @ ..] = args.as_slice() else {
        bail!("usage: lookup_latency INDEX_DIR SECTOR_FILE TRUTH_CSV [RECORDS]");
    };
    let wanted: usize = rest.first().map(|n| n.parse()).transpose()?.unwrap_or(10_000);

    let opened = Instant::now();
    let index = NationalIndex::open(Path::new(index_dir))?;
    let open_s = opened.elapsed().as_secs_f64();
    if index.model().is_none() {
        bail!("the index has no model: build it with --train-with or --model");
    }

    // The sector records as role-named JSON objects, with their ids (any format khop reads).
    let records = role_objects::read(Path::new(sector), wanted)?;
    let truth = role_objects::truth(Path::new(truth))?;

    let session = Session::new();
    // Fuzzy pass on unless KHOP_LOOKUP_EXACT=1 (by the blocking terms alone).
    let options = LookupOptions { top: 3, fuzzy: std::env::var("KHOP_LOOKUP_EXACT").as_deref() != Ok("1") };
    let mut latencies = Vec::with_capacity(records.len());
    let (mut matches, mut right) = (0usize, 0usize);
    for (id, object) in &records {
        let started = Instant::now();
        let found = session.lookup(&index, std::slice::from_ref(object), None, &options)?;
        latencies.push(started.elapsed().as_secs_f64() * 1e3);
        let result = &found[0].result;
        if result.decision == khop::link::Decision::Match {
            matches += 1;
            let best = result.best.map(|b| index.records().record_id(b.right));
            right += usize::from(best.is_some() && truth.get(id).map(String::as_str) == best);
        }
    }
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    let mean = latencies.iter().sum::<f64>() / latencies.len() as f64;

    let started = Instant::now();
    let answered: usize = records
        .par_iter()
        .map(|(_, object)| {
            session.lookup(&index, std::slice::from_ref(object), None, &options).map(|f| f.len())
        })
        .sum::<khop::Result<usize>>()?;
    let parallel_s = started.elapsed().as_secs_f64();

    println!(
        "index {} ({} records, opened in {:.2} s); {} lookups",
        index_dir,
        index.commit().records,
        open_s,
        records.len()
    );
    println!(
        "one thread: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, mean {:.2} ms",
        at(0.5),
        at(0.99),
        at(1.0),
        mean
    );
    println!(
        "{} threads: {:.0} lookups/s ({answered} answered in {parallel_s:.2} s)",
        rayon::current_num_threads(),
        answered as f64 / parallel_s
    );
    let precision = right as f64 / matches.max(1) as f64;
    println!(
        "matches: {matches} of {}; best candidate is the true citizen in {right} ({precision:.4})",
        records.len()
    );
    if precision < MIN_PRECISION {
        bail!("precision {precision:.4} below {MIN_PRECISION}: the lookups are wrong");
    }
    Ok(())
}
