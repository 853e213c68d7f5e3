use std::collections::{HashMap, HashSet};
use std::path::Path;

use khop::normalize::id::decode_cccd;
use khop::normalize::sex::Sex;
use khop_datasets::population::source_columns;
use khop_datasets::profile::SourceKind;
use khop_datasets::{GenOptions, OutputFormat, Profile, family_name_share, generate};

/// Reads a CSV file as header -> column index and rows.
fn read(path: &Path) -> (HashMap<String, usize>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().enumerate().map(|(i, h)| (h.to_owned(), i)).collect();
    let rows = r.records().map(|row| row.unwrap().iter().map(str::to_owned).collect()).collect();
    (header, rows)
}

fn gen_csv(dir: &Path, persons: u64, profile: &Profile) {
    let options = GenOptions { persons, seed: 7, format: OutputFormat::Csv, chunk_households: 64 };
    let report = generate(dir, profile, &options).unwrap();
    assert_eq!(report.persons, persons);
}

#[test]
fn persons_are_consistent_and_realistic() {
    let dir = tempfile::tempdir().unwrap();
    gen_csv(dir.path(), 4000, &Profile::named("default").unwrap());
    let (h, persons) = read(&dir.path().join("persons.csv"));
    assert_eq!(persons.len(), 4000);
    let col = |name: &str| h[name];
    let mut families: HashMap<String, usize> = HashMap::new();
    let mut years = Vec::new();
    let mut year_only = 0;
    for p in &persons {
        // The CCCD says the birth year and the sex, and its province is one of the 63.
        let info = decode_cccd(&p[col("national_id")]).expect("a 12-digit CCCD");
        let dob = &p[col("date_of_birth")];
        let year: u16 = dob[..4].parse().unwrap();
        year_only += usize::from(dob.len() == 4);
        assert_eq!(info.birth_year, year, "{dob}");
        let female = p[col("sex")] == "F";
        assert_eq!(info.sex, if female { Sex::Female } else { Sex::Male });
        assert!(info.province_name.is_some());
        assert!((1930..=2025).contains(&year));
        years.push(year);
        let cmnd = &p[col("cmnd")];
        assert!(cmnd.is_empty() || (cmnd.len() == 9 && cmnd.bytes().all(|b| b.is_ascii_digit())));
        let phone = &p[col("phone")];
        assert!(phone.is_empty() || (phone.len() == 10 && phone.starts_with('0')));
        assert!(p[col("full_name")].starts_with(&format!("{} ", p[col("family_name")])));
        *families.entry(p[col("family_name")].clone()).or_default() += 1;
    }
    assert!(year_only > 0, "some old people have a year-only date of birth");
    // Family names at their configured shares; households share names, so the tolerance is wide.
    for name in ["Nguyễn", "Trần", "Lê"] {
        let share = 100.0 * families.get(name).copied().unwrap_or(0) as f64 / persons.len() as f64;
        let want = family_name_share(name).unwrap();
        assert!((share - want).abs() < 5.0, "{name}: {share:.1}% vs {want:.1}%");
    }
    // Households: children carry the father's family name; twins share a date of birth.
    let mut by_household: HashMap<&str, Vec<&Vec<String>>> = HashMap::new();
    for p in &persons {
        by_household.entry(&p[col("household_id")]).or_default().push(p);
    }
    let mut twins = 0;
    for members in by_household.values().filter(|m| m.len() >= 3) {
        let father = members[0];
        for child in &members[2..] {
            assert_eq!(child[col("family_name")], father[col("family_name")]);
            assert_eq!(child[col("father_name")], father[col("full_name")]);
            assert_eq!(child[col("address")], father[col("address")]);
        }
        if members.len() >= 4 && members[2][col("date_of_birth")] == members[3][col("date_of_birth")] {
            assert_ne!(members[2][col("given_name")], members[3][col("given_name")]);
            twins += 1;
        }
    }
    assert!(twins > 0, "some twins");
    // Namesakes: groups of people with one name, birth year and CCCD province.
    let mut groups: HashMap<&str, Vec<&Vec<String>>> = HashMap::new();
    for p in persons.iter().filter(|p| !p[col("namesake_group")].is_empty()) {
        groups.entry(&p[col("namesake_group")]).or_default().push(p);
    }
    let big = groups.values().filter(|g| g.len() >= 2).count();
    assert!(big >= 3, "namesake groups: {big}");
    for g in groups.values() {
        for p in g {
            assert_eq!(p[col("full_name")], g[0][col("full_name")]);
            assert_eq!(p[col("date_of_birth")][..4], g[0][col("date_of_birth")][..4]);
            assert_eq!(p[col("national_id")][..3], g[0][col("national_id")][..3]);
        }
    }
}

#[test]
fn truth_is_complete_and_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let profile = Profile::named("default").unwrap();
    gen_csv(dir.path(), 3000, &profile);
    let (_, persons) = read(&dir.path().join("persons.csv"));
    let person_ids: HashSet<&str> = persons.iter().map(|p| p[0].as_str()).collect();
    let (_, national_truth) = read(&dir.path().join("truth_national.csv"));
    let national_person: HashMap<&str, &str> =
        national_truth.iter().map(|r| (r[0].as_str(), r[1].as_str())).collect();
    let person_national: HashMap<&str, &str> =
        national_truth.iter().map(|r| (r[1].as_str(), r[0].as_str())).collect();
    let mut duplicates = 0;
    for s in &profile.source {
        let (h, table) = read(&dir.path().join(format!("{}.csv", s.name)));
        let columns = source_columns(s.kind);
        assert_eq!(h.len(), columns.len());
        let (_, truth) = read(&dir.path().join(format!("truth_{}.csv", s.name)));
        // One truth line per row, in row order, naming a real person.
        assert_eq!(truth.len(), table.len(), "{}", s.name);
        for (t, row) in truth.iter().zip(&table) {
            assert_eq!(t[0], row[0]);
            assert!(person_ids.contains(t[1].as_str()));
        }
        let mut seen = HashSet::new();
        duplicates += truth.iter().filter(|t| !seen.insert(t[1].clone())).count();
        let row_ids: HashSet<&str> = table.iter().map(|r| r[0].as_str()).collect();
        let (_, corruptions) = read(&dir.path().join(format!("corruptions_{}.csv", s.name)));
        for c in &corruptions {
            assert!(row_ids.contains(c[0].as_str()));
        }
        if s.kind == SourceKind::National {
            continue;
        }
        // Every row of a person in the national table links to that person's national row.
        let (_, links) = read(&dir.path().join(format!("links_{}.csv", s.name)));
        let want: usize = truth.iter().filter(|t| person_national.contains_key(t[1].as_str())).count();
        assert_eq!(links.len(), want, "{}", s.name);
        assert!(links.len() < truth.len(), "{}: some people are missing from the national table", s.name);
        let row_person: HashMap<&str, &str> = truth.iter().map(|t| (t[0].as_str(), t[1].as_str())).collect();
        for l in &links {
            assert_eq!(row_person[l[0].as_str()], national_person[l[1].as_str()]);
        }
    }
    assert!(duplicates > 0, "sector tables have internal duplicates");
}

#[test]
fn corruptions_at_their_rates() {
    let text = r#"
[population]
single_households = 0.25
moved = 0.5
twins = 0.03
namesakes = 0.04
namesake_group_size = 6
year_only_before_1960 = 0.0
cmnd_adults = 0.7
phone = 0.85

[[source]]
name = "national"
kind = "national"
coverage = 1.0

[[source]]
name = "bhyt"
kind = "bhyt"
coverage = 1.0
[source.errors]
typo = 0.2
reversed_order = 0.1
id_missing = 0.15
outdated_address = 0.4
upper_case = 0.3
"#;
    let profile = Profile::parse(text, "test").unwrap();
    let dir = tempfile::tempdir().unwrap();
    gen_csv(dir.path(), 3000, &profile);
    let (_, rows) = read(&dir.path().join("bhyt.csv"));
    let (_, corruptions) = read(&dir.path().join("corruptions_bhyt.csv"));
    let n = rows.len() as f64;
    let count = |kind: &str| {
        corruptions.iter().filter(|c| c[2] == kind).map(|c| c[0].clone()).collect::<HashSet<_>>().len() as f64
    };
    // Each always changes its value: its share of rows is its rate, within 4 standard deviations.
    for (kind, rate) in [("typo", 0.2), ("reversed_order", 0.1), ("id_missing", 0.15), ("upper_case", 0.3)] {
        let share = count(kind) / n;
        let sd = (rate * (1.0 - rate) / n).sqrt();
        assert!((share - rate).abs() < 4.0 * sd, "{kind}: {share:.4} vs {rate}");
    }
    // Outdated addresses only for people who moved (half of them here).
    let share = count("outdated_address") / n;
    assert!((share - 0.2).abs() < 0.05, "outdated_address: {share:.3}");
    // Missing ids are empty cells.
    let (_, table) = read(&dir.path().join("bhyt.csv"));
    let missing: HashSet<&str> =
        corruptions.iter().filter(|c| c[2] == "id_missing").map(|c| c[0].as_str()).collect();
    for row in &table {
        assert_eq!(row[4].is_empty(), missing.contains(row[0].as_str()));
    }
    // No errors configured for the national table: no corruptions listed.
    let (_, national) = read(&dir.path().join("corruptions_national.csv"));
    assert!(national.is_empty());
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn deterministic_for_any_thread_count() {
    let profile = Profile::named("hard").unwrap();
    let options = GenOptions { persons: 2500, seed: 11, format: OutputFormat::Parquet, chunk_households: 50 };
    let run = |threads: usize| {
        let dir = tempfile::tempdir().unwrap();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| generate(dir.path(), &profile, &options)).unwrap();
        files(dir.path())
    };
    let one = run(1);
    let four = run(4);
    assert_eq!(one.len(), four.len());
    for (a, b) in one.iter().zip(&four) {
        assert_eq!(a.0, b.0);
        assert!(a.1 == b.1, "{} differs between 1 and 4 threads", a.0);
    }
    assert!(one == run(4), "a second run gives the same files");
    let other = {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), &profile, &GenOptions { seed: 12, ..options.clone() }).unwrap();
        files(dir.path())
    };
    assert!(one != other, "another seed gives other data");
}

#[test]
fn profiles_report_every_problem() {
    assert!(Profile::named("default").is_ok());
    assert!(Profile::named("hard").is_ok());
    assert!(Profile::named("wild").is_ok());
    let text = include_str!("../profiles/default.toml").replace("coverage = 0.97", "coverage = 1.5");
    let text = text.replace("name = \"bhyt\"", "name = \"bhxh\"");
    let err = Profile::parse(&text, "bad.toml").unwrap_err().to_string();
    assert!(err.contains("coverage = 1.5"), "{err}");
    assert!(err.contains("used twice"), "{err}");
    let err = Profile::parse("[population]\nbogus = 1\n", "x.toml").unwrap_err().to_string();
    assert!(err.contains("bogus"), "{err}");
}
