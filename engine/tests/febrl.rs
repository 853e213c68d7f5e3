//! Linkage of FEBRL-format records (given name, surname, address parts, date of birth, social
//! security number), where only the names and the date have person roles and the rest are
//! generic columns: an accuracy floor on a small synthetic fixture, and on the real FEBRL4 files
//! when they are in the cache (`${KHOP_CACHE:-$HOME/.cache/khop}/febrl`, filled by
//! `benches/febrl_vs_splink.sh`); skipped otherwise.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use khop::link::Decision;
use khop::link::linker::{LinkSettings, Linker};
use khop::normalize::prepared::PreparedRecords;
use khop::read::{ReadOptions, Reader};
use khop::{ColumnSpec, DatasetSpec, Role};

const COLUMNS: [(&str, Role); 10] = [
    ("given_name", Role::GivenName),
    ("surname", Role::FamilyName),
    ("date_of_birth", Role::DateOfBirth),
    ("soc_sec_id", Role::Number),
    ("postcode", Role::Number),
    ("street_number", Role::HouseNumber),
    ("address_1", Role::Street),
    ("address_2", Role::Text),
    ("suburb", Role::Text),
    ("state", Role::Text),
];

pub(crate) fn prepare(path: &Path) -> PreparedRecords {
    let spec = DatasetSpec {
        id_column: Some("rec_id".into()),
        columns: COLUMNS.iter().map(|(n, r)| ColumnSpec::new(*n, *r)).collect(),
    };
    let options = ReadOptions {
        columns: Some(spec.column_names().iter().map(|c| (*c).to_owned()).collect()),
        id_column: spec.id_column.clone(),
        ..ReadOptions::default()
    };
    let mut reader = Reader::open(path, &options).expect("open");
    PreparedRecords::from_batches(&spec, &mut reader).expect("prepare")
}

/// The person number of a FEBRL record id (`rec-1070-org`, `rec-1070-dup-0`).
fn person(id: &str) -> &str {
    id.trim().split('-').nth(1).unwrap_or(id)
}

/// Precision, recall and F1 of unsupervised linkage with default settings.
fn link(a: &Path, b: &Path) -> (f64, f64, f64) {
    let (left, right) = (prepare(a), prepare(b));
    let linker = Linker::new(&left, &right, LinkSettings::default()).unwrap();
    let names: Vec<&str> = linker.comparisons().comparisons().iter().map(|c| c.name()).collect();
    assert!(names.contains(&"soc_sec_id") && names.contains(&"postcode"), "{names:?}");
    let (model, _) = linker.train().unwrap();
    let (results, _) = linker.link(&model).unwrap();
    scores(&left, &right, &results)
}

/// Precision, recall and F1 of the match decisions, persons told by the FEBRL record ids.
fn scores(
    left: &PreparedRecords,
    right: &PreparedRecords,
    results: &[khop::link::LinkResult],
) -> (f64, f64, f64) {
    let in_right: HashMap<&str, ()> =
        (0..right.len() as u32).map(|i| (person(right.record_id(i)), ())).collect();
    let true_links =
        (0..left.len() as u32).filter(|&i| in_right.contains_key(person(left.record_id(i)))).count();
    let (mut tp, mut fp) = (0usize, 0usize);
    for result in results.iter().filter(|r| r.decision == Decision::Match) {
        let Some(best) = result.best else { continue };
        if person(left.record_id(result.left)) == person(right.record_id(best.right)) {
            tp += 1;
        } else {
            fp += 1;
        }
    }
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / true_links.max(1) as f64;
    (precision, recall, 2.0 * precision * recall / (precision + recall).max(f64::MIN_POSITIVE))
}

/// The FEBRL files' folder (`${KHOP_CACHE:-$HOME/.cache/khop}/febrl`), when it can be named.
fn febrl_cache() -> Option<PathBuf> {
    let cache = std::env::var_os("KHOP_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("khop")));
    cache.map(|c| c.join("febrl"))
}

#[test]
fn febrl_like_fixture_links_accurately() {
    let dir: PathBuf = [env!("CARGO_MANIFEST_DIR"), "testdata", "link"].iter().collect();
    let (p, r, f1) = link(&dir.join("febrl_like_a.csv"), &dir.join("febrl_like_b.csv"));
    assert!(f1 >= 0.95, "precision {p:.4}, recall {r:.4}, F1 {f1:.4}");
}

#[test]
fn febrl4_reaches_its_target_when_cached() {
    let Some(dir) = febrl_cache() else { return };
    let (a, b) = (dir.join("dataset4a.csv"), dir.join("dataset4b.csv"));
    if !a.is_file() || !b.is_file() {
        eprintln!("FEBRL4 not in {}: skipped (benches/febrl_vs_splink.sh fills it)", dir.display());
        return;
    }
    let (p, r, f1) = link(&a, &b);
    assert!(f1 >= 0.9995, "FEBRL4: precision {p:.4}, recall {r:.4}, F1 {f1:.4}");
}

#[test]
fn febrl3_dedupe_reaches_its_target_when_cached() {
    use khop::cluster::{ClusterOptions, deduplicate};

    let Some(path) = febrl_cache().map(|d| d.join("dataset3.csv")) else { return };
    if !path.is_file() {
        eprintln!("FEBRL3 not in {}: skipped (benches/dedupe_vs_splink.sh fills it)", path.display());
        return;
    }
    let records = prepare(&path);
    let result = deduplicate(&records, LinkSettings::default(), &ClusterOptions::default(), None).unwrap();
    let id = |i: u32| records.record_id(i).trim().to_owned();
    let predicted: Vec<(String, String)> =
        result.assignments.iter().enumerate().map(|(r, a)| (id(r as u32), id(a.cluster))).collect();
    let truth: Vec<(String, String)> =
        (0..records.len() as u32).map(|r| (id(r), person(records.record_id(r)).to_owned())).collect();
    let scores = khop::eval::cluster_scores(&predicted, &truth);
    assert!(scores.pairwise.f1 >= 0.998, "FEBRL3 dedupe: {scores:?}");
}

/// Without a configuration, detection gives FEBRL's columns the roles the written configuration
/// gives them: names and date by header, the address parts and numbers as generic columns, so
/// that nothing is left out of the comparisons.
#[test]
fn detection_places_every_febrl_column() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/link");
    let (_, detection) =
        khop::config::detect::detect_file(&dir.join("febrl_like_a.csv"), &ReadOptions::default()).unwrap();
    assert_eq!(detection.id_column.as_deref(), Some("rec_id"));
    for (column, role) in COLUMNS {
        let found = detection.columns.iter().find(|c| c.name == column).map(|c| c.role);
        assert_eq!(found, Some(Some(role)), "{column}: {detection:?}");
    }
}

#[test]
fn febrl4_without_a_configuration_when_cached() {
    let Some(dir) = febrl_cache() else { return };
    let (a, b) = (dir.join("dataset4a.csv"), dir.join("dataset4b.csv"));
    if !a.exists() || !b.exists() {
        eprintln!("FEBRL4 not in {}: skipped (datasets/fetch_febrl.sh fills it)", dir.display());
        return;
    }
    // The raw files, as downloaded: a space after every comma, roles detected.
    let session = khop::Session::new();
    let detect =
        |path: &Path| session.prepare(&khop::TableSource::detect(path, &ReadOptions::default()).unwrap());
    let (left, right) = (detect(&b).unwrap(), detect(&a).unwrap());
    let run = session.link(&left, &right, None).unwrap();
    let (p, rc, f1) = scores(left.records(), right.records(), run.results());
    assert!(f1 >= 0.9995, "FEBRL4 without a configuration: precision {p:.4}, recall {rc:.4}, F1 {f1:.4}");
}
