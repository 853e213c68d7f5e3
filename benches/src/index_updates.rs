//! Update throughput of a national index: commits of COUNT upserts each (national records
//! replaced under their ids, a different stretch of the national file each time), with the time
//! of each commit and the time until a reader opening the index afterwards sees it. The answer
//! is checked: each commit's generation and record count, and a reader seeing the last commit.
//!
//! Works on the index in place: give it a copy.
//!
//! ```sh
//! khop gen --persons 1000000 --format csv --out g
//! khop index build g/national.csv --out g/national.idx --train-with g/bhxh.csv
//! cp -r g/national.idx g/updated.idx
//! cargo run --release -p khop-benches --bin index_updates -- g/updated.idx g/national.csv 10000 5
//! ```

use std::path::Path;
use std::time::Instant;

use anyhow::{Result, bail};
use khop::index::NationalIndex;
use khop::session::{Session, TableSource};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, index_dir, national, count, commits] = args.as_slice() else {
        bail!("usage: index_updates INDEX_DIR NATIONAL_CSV COUNT COMMITS");
    };
    let (count, commits): (usize, usize) = (count.parse()?, commits.parse()?);
    let dir = tempfile::tempdir()?;
    // The upsert files: stretches of the national file under its header.
    let text = std::fs::read_to_string(national)?;
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let mut files = Vec::new();
    for commit in 0..commits {
        let path = dir.path().join(format!("changes-{commit}.csv"));
        let body: Vec<&str> = lines.by_ref().take(count).collect();
        if body.len() < count {
            bail!("{national}: fewer than {} records", count * commits);
        }
        std::fs::write(&path, format!("{header}\n{}\n", body.join("\n")))?;
        files.push(path);
    }
    drop(text);

    let session = Session::new();
    let opened = Instant::now();
    let mut index = NationalIndex::open(Path::new(index_dir))?;
    println!(
        "opened {index_dir} ({} records) in {:.2} s",
        index.commit().records,
        opened.elapsed().as_secs_f64()
    );
    let before = index.commit().clone();
    let mut commit_s = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let started = Instant::now();
        let upserts = session.prepare(&TableSource::for_index(&index, file)?)?;
        let done = session.update_index(&mut index, Some(&upserts), &[])?;
        let seconds = started.elapsed().as_secs_f64();
        commit_s.push(seconds);
        let expected = before.generation + i as u64 + 1;
        if done.generation != expected || done.records != before.records || done.replaced != count as u64 {
            bail!(
                "commit {i}: generation {} and {} records after replacing records",
                done.generation,
                done.records
            );
        }
        let started = Instant::now();
        let reader = NationalIndex::open(Path::new(index_dir))?;
        let seen_s = started.elapsed().as_secs_f64();
        if reader.commit() != index.commit() {
            bail!(
                "a reader opening the index after commit {} sees commit {}",
                done.generation,
                reader.commit().generation
            );
        }
        println!(
            "commit {}: {count} upserts ({} replaced) in {seconds:.2} s; a reader opening the index sees it after {seen_s:.2} s",
            done.generation, done.replaced
        );
    }
    let mean = commit_s.iter().sum::<f64>() / commit_s.len().max(1) as f64;
    println!(
        "{} commits of {count} upserts: mean {mean:.2} s, {:.1} commits per minute",
        commit_s.len(),
        60.0 / mean
    );
    Ok(())
}
