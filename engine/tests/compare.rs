//! Comparisons: table-driven cases from `testdata/compare/*.toml`, one per comparison level.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use khop::compare::Comparisons;
use khop::normalize::prepared::PreparedRecords;
use khop::read::Batch;
use khop::{ColumnSpec, DatasetSpec, Role};
use toml_edit::{DocumentMut, Item, TableLike};

fn load(file: &str) -> DocumentMut {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "testdata", "compare", file].iter().collect();
    let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    src.parse().unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn values(t: &dyn TableLike) -> Vec<(String, String)> {
    t.iter()
        .map(|(k, v)| {
            (k.to_owned(), v.as_str().unwrap_or_else(|| panic!("`{k}` must be a string")).to_owned())
        })
        .collect()
}

/// One record per side, with the union of both sides' roles as columns (a role given on one
/// side only is null on the other).
pub(crate) fn prepare(roles: &BTreeSet<String>, record: &[(String, String)]) -> PreparedRecords {
    let spec = DatasetSpec {
        id_column: None,
        columns: roles
            .iter()
            .map(|r| ColumnSpec::new(r.clone(), r.parse::<Role>().expect("role name")))
            .collect(),
    };
    let columns: Vec<(String, ArrayRef)> = roles
        .iter()
        .map(|r| {
            let value = record.iter().find(|(k, _)| k == r).map(|(_, v)| v.as_str());
            (r.clone(), Arc::new(StringArray::from(vec![value])) as ArrayRef)
        })
        .collect();
    let records = RecordBatch::try_from_iter(columns).expect("batch");
    let batch = Batch { records, rows: vec![1], rejects: Vec::new() };
    PreparedRecords::from_batches(&spec, [Ok(batch)]).expect("prepare")
}

fn run(file: &str) {
    let doc = load(file);
    let Some(Item::ArrayOfTables(cases)) = doc.get("case") else { panic!("{file}: no [[case]]") };
    assert!(!cases.is_empty());
    for case in cases.iter() {
        let name = case.get("comparison").and_then(|v| v.as_str()).expect("comparison");
        let side = |key: &str| {
            values(case.get(key).and_then(Item::as_table_like).unwrap_or_else(|| panic!("{key}")))
        };
        let (l, r) = (side("left"), side("right"));
        let roles: BTreeSet<String> = l.iter().chain(&r).map(|(k, _)| k.clone()).collect();
        let (left, right) = (prepare(&roles, &l), prepare(&roles, &r));
        let comparisons = Comparisons::default_for(&left, Some(&right));
        let (c, comparison) = comparisons
            .comparisons()
            .iter()
            .enumerate()
            .find(|(_, c)| c.name() == name)
            .unwrap_or_else(|| panic!("{file}: no comparison `{name}` for roles {roles:?}"));
        let expected = case.get("level").and_then(|v| v.as_str()).expect("level");
        let level = comparison.level(&left, 0, &right, 0);
        let what = case.get("what").and_then(|v| v.as_str()).unwrap_or("");
        assert_eq!(
            comparison.levels().get(level as usize).copied(),
            Some(expected),
            "{file}: {name} of {l:?} and {r:?} ({what})"
        );
        // The chunk path gives the same level, and is symmetric for these comparisons.
        let mut out = Vec::new();
        comparisons.compare_chunk(&left, &right, &[(0, 0)], &mut out);
        assert_eq!(out[c], level, "{file}: compare_chunk of {l:?} and {r:?}");
        assert_eq!(
            comparison.level(&right, 0, &left, 0),
            level,
            "{file}: {name} is not symmetric for {l:?}, {r:?}"
        );
    }
}

#[test]
fn name_levels() {
    run("names.toml");
}

#[test]
fn date_levels() {
    run("dates.toml");
}

#[test]
fn id_and_phone_levels() {
    run("ids.toml");
}

#[test]
fn sex_and_address_levels() {
    run("other.toml");
}

#[test]
fn generic_column_levels() {
    run("generic.toml");
}

#[test]
fn out_of_range_ids_are_null() {
    let roles: BTreeSet<String> = ["full_name", "date_of_birth"].map(String::from).into();
    let left = prepare(&roles, &[("full_name".into(), "Nguyễn An".into())]);
    let comparisons = Comparisons::default_for(&left, None);
    let mut out = Vec::new();
    comparisons.compare_chunk(&left, &left, &[(0, 7), (u32::MAX, 0)], &mut out);
    assert_eq!(out, vec![0; 2 * comparisons.len()]);
}

/// Values longer than any real name get no fuzzy level (string similarity is quadratic in
/// length; 20 x 20 records with 100,000-character names kept training busy for minutes): one
/// letter apart is `else`, equal is still `exact`.
#[test]
fn overlong_values_are_compared_exactly_only() {
    let long = format!("Nguyễn Văn {}", "a".repeat(300));
    let typo = format!("{long}b");
    let roles: BTreeSet<String> = ["full_name".to_owned()].into();
    let level = |x: &str, y: &str| {
        let left = prepare(&roles, &[("full_name".into(), x.into())]);
        let right = prepare(&roles, &[("full_name".into(), y.into())]);
        let comparisons = Comparisons::default_for(&left, Some(&right));
        let name = comparisons.comparisons().iter().find(|c| c.name() == "name").expect("name");
        name.levels()[usize::from(name.level(&left, 0, &right, 0))]
    };
    assert_eq!(level(&long, &long), "exact");
    assert_eq!(level(&long, &typo), "else");
    assert_eq!(level("Nguyễn Văn An", "Nguyễn Văn Ann"), "one_edit");
}
