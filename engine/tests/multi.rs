//! Several sources linked to one national table in one run, on a generated population: each
//! source's links equal a run of its own (so its F1 does), the shared model is accurate too, and
//! the per-person coverage and the conflicts agree with a direct count over the links.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

use khop::link::linker::{LinkSettings, Linker};
use khop::link::multi::{ConflictKind, Coverage, MultiLinker};
use khop::link::{Candidate, Decision, LinkResult};
use khop::normalize::prepared::PreparedRecords;
use khop::read::{ReadOptions, Reader, TextColumn};
use khop::{ColumnSpec, DatasetSpec, Role};
use khop_datasets::{GenOptions, OutputFormat, Profile, generate};

/// Each generated table's id column and the roles of its columns.
fn layout(source: &str) -> (&'static str, Vec<(&'static str, Role)>) {
    use Role::*;
    match source {
        "national" => (
            "ma_cong_dan",
            vec![
                ("so_dinh_danh", NationalId),
                ("ho_va_ten", FullName),
                ("ngay_sinh", DateOfBirth),
                ("gioi_tinh", Sex),
                ("noi_thuong_tru", Address),
                ("ho_ten_cha", FatherName),
                ("ho_ten_me", MotherName),
                ("so_cmnd", OldId),
                ("so_dien_thoai", Phone),
            ],
        ),
        "bhxh" => (
            "ma_so_bhxh",
            vec![
                ("ho_ten", FullName),
                ("ngay_sinh", DateOfBirth),
                ("gioi_tinh", Sex),
                ("so_cccd", NationalId),
                ("dien_thoai", Phone),
                ("dia_chi", Address),
            ],
        ),
        "bhyt" => (
            "MA_THE",
            vec![
                ("HO_TEN", FullName),
                ("NGAY_SINH", DateOfBirth),
                ("GIOI_TINH", Sex),
                ("SO_DDCN", NationalId),
                ("DIA_CHI", Address),
            ],
        ),
        "land" => (
            "so_gcn",
            vec![
                ("chu_su_dung", FullName),
                ("nam_sinh", DateOfBirth),
                ("so_giay_to", NationalId),
                ("dia_chi_thuong_tru", Address),
            ],
        ),
        "local" => (
            "so_dang_ky",
            vec![
                ("ho_ten", FullName),
                ("ngay_sinh", DateOfBirth),
                ("gioi_tinh", Sex),
                ("so_giay_to", NationalId),
                ("noi_cu_tru", Address),
                ("ho_ten_cha", FatherName),
                ("ho_ten_me", MotherName),
            ],
        ),
        other => panic!("no layout for {other}"),
    }
}

fn prepare(dir: &Path, source: &str) -> PreparedRecords {
    let (id, columns) = layout(source);
    let spec = DatasetSpec {
        id_column: Some(id.into()),
        columns: columns.iter().map(|(n, r)| ColumnSpec::new(*n, *r)).collect(),
    };
    let options = ReadOptions {
        columns: Some(spec.column_names().iter().map(|c| (*c).to_owned()).collect()),
        id_column: spec.id_column.clone(),
        ..ReadOptions::default()
    };
    let mut reader = Reader::open(dir.join(format!("{source}.parquet")), &options).expect("open");
    PreparedRecords::from_batches(&spec, &mut reader).expect("prepare")
}

/// `(first, second)` columns of a CSV truth file with a header.
fn read_pairs(path: &Path) -> Vec<(String, String)> {
    khop::eval::read_pairs(path).expect("truth file")
}

/// The F1 of a source's match decisions against `links_<source>.csv`.
fn f1(
    dir: &Path,
    source: &str,
    left: &PreparedRecords,
    right: &PreparedRecords,
    results: &[LinkResult],
) -> f64 {
    let predicted: Vec<(String, String)> = results
        .iter()
        .filter(|r| r.decision == Decision::Match)
        .filter_map(|r| Some((left.record_id(r.left).to_owned(), right.record_id(r.best?.right).to_owned())))
        .collect();
    let truth = read_pairs(&dir.join(format!("links_{source}.csv")));
    khop::eval::link_scores(&predicted, &truth, false).f1
}

const SOURCES: [&str; 4] = ["bhxh", "bhyt", "land", "local"];

fn generated() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let options =
        GenOptions { persons: 3_000, seed: 7, format: OutputFormat::Parquet, ..GenOptions::default() };
    generate(dir.path(), &Profile::named("default").unwrap(), &options).expect("generate");
    dir
}

#[test]
fn several_sources_link_as_each_alone_and_the_coverage_adds_up() {
    let dir = generated();
    let dir = dir.path();
    let national = prepare(dir, "national");
    let multi = MultiLinker::new(&national, LinkSettings::default());
    let mut coverage = Coverage::new(national.len());
    // What the coverage must say, counted directly: (national person, source) -> source ids.
    let mut expected: BTreeMap<u32, BTreeMap<usize, Vec<String>>> = BTreeMap::new();
    for (s, source) in SOURCES.iter().enumerate() {
        let left = prepare(dir, source);
        let run = multi.link_source(&left, None).unwrap();
        // The same source linked on its own, without the shared index.
        let alone = Linker::new(&left, &national, LinkSettings::default()).unwrap();
        let (model, _) = alone.train().unwrap();
        let (results, _) = alone.link(&model).unwrap();
        assert_eq!(run.results, results, "{source}: links differ from a single-source run");
        let score = f1(dir, source, &left, &national, &run.results);
        assert!(score >= 0.95, "{source}: F1 {score:.4}");
        let counted = coverage.add(source, &left, &run.results).unwrap();
        let matches: Vec<&LinkResult> =
            run.results.iter().filter(|r| r.decision == Decision::Match).collect();
        assert_eq!(counted.matched, matches.len());
        for r in matches {
            let right = r.best.unwrap().right;
            expected.entry(right).or_default().entry(s).or_default().push(left.record_id(r.left).to_owned());
        }
    }
    assert!(multi.rules_indexed() > 0);
    assert!(coverage.add("bhxh", &national, &[]).is_err(), "a source added twice");

    let combined = coverage.finish();
    assert_eq!(combined.sources(), SOURCES);
    // Per person: the sources and their rows, read back from the persons batch.
    let batch = combined.persons_batch(&national, 0..national.len() as u32).unwrap();
    assert_eq!(batch.num_rows(), national.len());
    let column = |name: &str| TextColumn::new(batch.column_by_name(name).unwrap().as_ref()).unwrap();
    let (ids, sources) = (column("right_id"), column("sources"));
    let per_source: Vec<TextColumn<'_>> = SOURCES.iter().map(|s| column(&format!("ids_{s}"))).collect();
    let mut duplicate_claims = 0;
    for p in 0..national.len() {
        assert_eq!(ids.get(p), Some(national.record_id(p as u32)));
        let want = expected.get(&(p as u32)).cloned().unwrap_or_default();
        let names: Vec<&str> = want.keys().map(|&s| SOURCES[s]).collect();
        assert_eq!(sources.get(p), Some(names.join(";").as_str()), "person {p}");
        assert_eq!(combined.sources_of(p as u32), want.keys().copied().collect::<Vec<_>>());
        for (s, column) in per_source.iter().enumerate() {
            let mut rows = want.get(&s).cloned().unwrap_or_default();
            rows.sort();
            let got = column.get(p).map(|v| v.split(';').map(str::to_owned).collect::<Vec<_>>());
            let mut got = got.unwrap_or_default();
            got.sort();
            assert_eq!(got, rows, "person {p}, source {}", SOURCES[s]);
        }
        duplicate_claims += want.values().filter(|rows| rows.len() > 1).count();
    }
    let summary = combined.summary();
    assert_eq!(summary.duplicate_claims as usize, duplicate_claims);
    assert!(duplicate_claims > 0, "the generated sources hold duplicates");
    assert_eq!(summary.persons_by_sources.iter().sum::<u64>() as usize, national.len());

    // Coverage against the truth: the (person, source) pairs found are nearly all true.
    let truth_right: HashMap<String, u32> =
        (0..national.len() as u32).map(|i| (national.record_id(i).to_owned(), i)).collect();
    let mut true_pairs = HashSet::new();
    for (s, source) in SOURCES.iter().enumerate() {
        for (_, right) in read_pairs(&dir.join(format!("links_{source}.csv"))) {
            if let Some(&p) = truth_right.get(&right) {
                true_pairs.insert((p, s));
            }
        }
    }
    let found: HashSet<(u32, usize)> =
        expected.iter().flat_map(|(&p, by)| by.keys().map(move |&s| (p, s))).collect();
    let right = found.intersection(&true_pairs).count() as f64;
    let (precision, recall) = (right / found.len() as f64, right / true_pairs.len() as f64);
    assert!(precision >= 0.97 && recall >= 0.97, "coverage precision {precision:.4}, recall {recall:.4}");
}

#[test]
fn a_shared_model_links_every_source_accurately() {
    let dir = generated();
    let dir = dir.path();
    let national = prepare(dir, "national");
    let multi = MultiLinker::new(&national, LinkSettings::default());
    let tables: Vec<PreparedRecords> = SOURCES.iter().map(|s| prepare(dir, s)).collect();
    let named: Vec<(&str, &PreparedRecords)> = SOURCES.iter().copied().zip(&tables).collect();
    let (model, report) = multi.train_shared(&named).unwrap();
    // The union of the sources' comparisons: phone from bhxh, parents from local.
    let names: BTreeSet<&str> = model.comparisons.iter().map(|c| c.spec.name.as_str()).collect();
    assert!(names.contains("phone") && names.contains("father_name"), "{names:?}");
    assert!(report.sessions.iter().any(|s| s.name.starts_with("land: ")));
    for (source, left) in named {
        let run = multi.link_source(left, Some(&model)).unwrap();
        assert!(run.training.is_none());
        let score = f1(dir, source, left, &national, &run.results);
        assert!(score >= 0.95, "{source} with the shared model: F1 {score:.4}");
    }
}

/// Prepares a tiny CSV source.
fn small(dir: &Path, name: &str, text: &str) -> PreparedRecords {
    let path = dir.join(format!("{name}.csv"));
    std::fs::write(&path, text).unwrap();
    let spec = DatasetSpec {
        id_column: Some("id".into()),
        columns: vec![ColumnSpec::new("ho_ten", Role::FullName), ColumnSpec::new("cccd", Role::NationalId)],
    };
    let options = ReadOptions { id_column: Some("id".into()), ..ReadOptions::default() };
    let mut reader = Reader::open(&path, &options).unwrap();
    PreparedRecords::from_batches(&spec, &mut reader).unwrap()
}

fn matched(left: u32, right: u32) -> LinkResult {
    let best = Candidate { right, weight: 20.0 };
    LinkResult {
        left,
        best: Some(best),
        probability: 0.999,
        second: None,
        margin: None,
        ambiguous: false,
        decision: Decision::Match,
    }
}

#[test]
fn conflicts_name_duplicate_claims_and_split_ids() {
    let dir = tempfile::tempdir().unwrap();
    let national = small(
        dir.path(),
        "national",
        "id,ho_ten,cccd\nN0,Nguyễn Văn An,001090012345\nN1,Nguyễn Văn An,001090054321\nN2,Trần Thị Bình,\n",
    );
    // Source a: rows 0 and 1 both claim N0 (a duplicate claim); row 2 carries N1's number.
    let a = small(
        dir.path(),
        "a",
        "id,ho_ten,cccd\nA0,Nguyễn Văn An,001090012345\nA1,Nguyen Van An,\nA2,Nguyễn Văn An,001090054321\n",
    );
    // Source b: its row with N1's number is linked to N0, a row with a 9-digit CMND shared with
    // nobody, and a review decision that claims no one.
    let b = small(
        dir.path(),
        "b",
        "id,ho_ten,cccd\nB0,Nguyễn Văn An,001090054321\nB1,Trần Thị Bình,012345678\nB2,Trần Bình,\n",
    );
    let mut coverage = Coverage::new(national.len());
    coverage.add("a", &a, &[matched(0, 0), matched(1, 0), matched(2, 1)]).unwrap();
    let review = LinkResult { decision: Decision::Review, ..matched(2, 2) };
    coverage.add("b", &b, &[matched(0, 0), matched(1, 2), review]).unwrap();
    let combined = coverage.finish();
    let kinds: Vec<(ConflictKind, Vec<&str>)> = combined
        .conflicts()
        .iter()
        .map(|c| (c.kind, c.claims.iter().map(|&i| combined.left_id(i)).collect()))
        .collect();
    assert_eq!(
        kinds,
        vec![(ConflictKind::DuplicateClaim, vec!["A0", "A1"]), (ConflictKind::SplitId, vec!["A2", "B0"])]
    );
    assert_eq!(combined.sources_of(0), vec![0, 1]);
    assert_eq!(combined.sources_of(2), vec![1], "a review claims no one");
    let summary = combined.summary();
    assert_eq!(summary.persons_by_sources, vec![0, 2, 1], "N1 and N2 by one source, N0 by two");
    assert_eq!((summary.duplicate_claims, summary.split_ids, summary.persons_in_conflict), (1, 1, 2));
    let batch = combined.conflicts_batch(&national).unwrap();
    assert_eq!(batch.num_rows(), 4);
    // Results that point outside the tables are refused.
    let mut bad = Coverage::new(national.len());
    assert!(bad.add("a", &a, &[matched(0, 9)]).is_err());
}
