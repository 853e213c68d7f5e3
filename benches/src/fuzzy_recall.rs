//! Recall of the lookups' fuzzy pass: of the true links a batch link misses, how many a lookup
//! finds, by the blocking terms alone and with the fuzzy pass; and how many sector records of
//! people absent from the national table the fuzzy pass answers wrongly.
//!
//! The batch link and the index use the same model (trained by the batch link), so the only
//! difference is where the candidates come from. Fails unless the fuzzy pass finds at least what
//! the terms alone find, and unless it adds more right answers than wrong ones.
//!
//! ```sh
//! khop gen --persons 200000 --profile hard --out h
//! cargo run --release -p khop-benches --bin fuzzy_recall -- h/national.parquet h/bhxh.parquet h/links_bhxh.csv
//! ```

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{Result, bail};
use khop::index::LookupOptions;
use khop::link::Decision;
use khop::read::ReadOptions;
use khop::session::{Session, TableSource};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod role_objects;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, national_file, sector_file, links] = args.as_slice() else {
        bail!("usage: fuzzy_recall NATIONAL_FILE SECTOR_FILE LINKS_CSV");
    };
    let session = Session::new();
    let national = session.prepare(&TableSource::detect(national_file, &ReadOptions::default())?)?;
    let sector = session.prepare(&TableSource::detect(sector_file, &ReadOptions::default())?)?;
    let truth = role_objects::truth(Path::new(links))?;
    let started = Instant::now();
    let run = session.link(&sector, &national, None)?;
    let link_s = started.elapsed().as_secs_f64();

    // What the batch link missed: sector records of people in the national table whose answer
    // is not their citizen (no candidate, a candidate below review, or another citizen).
    let national_id =
        |r: &khop::link::LinkResult| r.best.map(|b| national.records().record_id(b.right).to_owned());
    let mut batch: HashMap<String, (bool, Decision)> = HashMap::new();
    let (mut with_truth, mut batch_right, mut no_candidate) = (0usize, 0usize, 0usize);
    for result in run.results() {
        let id = sector.records().record_id(result.left).to_owned();
        let wanted = truth.get(&id);
        let right = result.decision != Decision::NoMatch
            && wanted.is_some()
            && national_id(result).as_ref() == wanted;
        if wanted.is_some() {
            with_truth += 1;
            batch_right += usize::from(right);
            no_candidate += usize::from(!right && result.best.is_none());
        }
        batch.insert(id, (right, result.decision));
    }

    let dir = tempfile::tempdir()?;
    let index = session.build_index(&national, dir.path().join("national.idx"), Some(run.model()))?;
    let objects = role_objects::read(Path::new(sector_file), usize::MAX)?;
    // Missed links, and records of absent people the batch link left unanswered.
    let (mut missed, mut absent) = (Vec::new(), Vec::new());
    for (id, object) in objects {
        match (truth.get(&id), batch.get(&id)) {
            (Some(_), Some((false, _))) => missed.push((id, object)),
            (None, Some((_, Decision::NoMatch))) => absent.push((id, object)),
            _ => {}
        }
    }
    let answers = |records: &[(String, serde_json::Map<String, serde_json::Value>)],
                   fuzzy: bool|
     -> Result<(usize, usize, usize)> {
        let objects: Vec<_> = records.iter().map(|(_, o)| o.clone()).collect();
        let found = session.lookup(&index, &objects, None, &LookupOptions { top: 1, fuzzy })?;
        let (mut matched, mut reviewed, mut wrong) = (0, 0, 0);
        for ((id, _), lookup) in records.iter().zip(&found) {
            let result = &lookup.result;
            if result.decision == Decision::NoMatch {
                continue;
            }
            let best = result.best.map(|b| index.records().record_id(b.right).to_owned());
            if best.is_some() && best.as_ref() == truth.get(id) {
                match result.decision {
                    Decision::Match => matched += 1,
                    _ => reviewed += 1,
                }
            } else {
                wrong += 1;
            }
        }
        Ok((matched, reviewed, wrong))
    };
    let started = Instant::now();
    let (exact_match, exact_review, exact_wrong) = answers(&missed, false)?;
    let (fuzzy_match, fuzzy_review, fuzzy_wrong) = answers(&missed, true)?;
    let (_, _, absent_exact) = answers(&absent, false)?;
    let (_, _, absent_fuzzy) = answers(&absent, true)?;
    let lookup_s = started.elapsed().as_secs_f64();

    println!(
        "batch link: {} of {with_truth} true links right ({link_s:.1} s); missed {} ({no_candidate} without any candidate)",
        batch_right,
        missed.len()
    );
    println!(
        "lookups of the missed, terms alone: {exact_match} match + {exact_review} review right, {exact_wrong} wrong"
    );
    println!(
        "lookups of the missed, fuzzy pass:  {fuzzy_match} match + {fuzzy_review} review right, {fuzzy_wrong} wrong"
    );
    println!(
        "absent people the batch left unanswered: {} ; answered by lookups: {absent_exact} (terms), {absent_fuzzy} (fuzzy pass)",
        absent.len()
    );
    println!("lookups took {lookup_s:.1} s");
    let (exact, fuzzy) = (exact_match + exact_review, fuzzy_match + fuzzy_review);
    if fuzzy < exact {
        bail!("the fuzzy pass found {fuzzy} where the terms alone found {exact}");
    }
    let added_wrong = (fuzzy_wrong + absent_fuzzy).saturating_sub(exact_wrong + absent_exact);
    if added_wrong > fuzzy - exact {
        bail!("the fuzzy pass added {} right answers and {added_wrong} wrong ones", fuzzy - exact);
    }
    Ok(())
}
