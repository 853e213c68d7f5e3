//! The `khop` command end to end, on the engine's read corpus.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn khop(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_khop")).args(args).output().expect("run khop")
}

fn corpus(file: &str) -> String {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../engine/testdata/read").join(file);
    path.to_str().unwrap().to_owned()
}

fn json(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON on standard output")
}

#[test]
fn profile_reads_excel_utf16_and_windows_1258() {
    let utf16 = json(&khop(&["profile", "--json", &corpus("good/excel_utf16le.csv")]));
    let cp1258 =
        json(&khop(&["profile", "--json", "--encoding", "windows-1258", &corpus("good/windows1258.csv")]));
    for profile in [&utf16[0], &cp1258[0]] {
        assert_eq!(profile["rows_read"], 3);
        assert_eq!(profile["rows_rejected"], 0);
        let columns = profile["columns"].as_array().unwrap();
        let roles: Vec<&str> = columns.iter().map(|c| c["role"].as_str().unwrap_or("-")).collect();
        assert_eq!(roles, ["-", "full_name", "date_of_birth", "national_id"]);
        // Every name has diacritics, every date and id has a valid shape.
        assert_eq!(columns[1]["share_with_diacritics"], 1.0);
        assert_eq!(columns[2]["share_invalid_shape"], 0.0);
        assert_eq!(columns[3]["share_invalid_shape"], 0.0);
    }
}

#[test]
fn profile_writes_rejects_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejects.csv");
    let output = khop(&[
        "profile",
        "--json",
        "--rejects",
        rejects.to_str().unwrap(),
        &corpus("bad/ragged.csv"),
        &corpus("bad/bad_json.ndjson"),
    ]);
    let profiles = json(&output);
    assert_eq!(profiles[0]["rows_rejected"], 2);
    assert_eq!(profiles[0]["rejects_by_reason"]["ragged_line"], 2);
    assert_eq!(profiles[1]["rows_read"], 6);
    assert_eq!(profiles[1]["rejects_by_reason"]["wrong_type"], 2);
    let text = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(text.lines().count(), 1 + 2 + 4, "{text}");
    assert!(text.contains("invalid_json"));
    assert!(String::from_utf8_lossy(&output.stderr).contains("6 rejected rows written"));
}

#[test]
fn profile_table_for_people() {
    let output = khop(&["profile", &corpus("good/basic.csv")]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("3 rows read, 3 passed, 0 rejected"), "{text}");
    assert!(text.contains("national_id"), "{text}");
}

#[test]
fn config_init_then_check_then_profile() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("khop.toml");
    let config = config.to_str().unwrap();
    let init =
        khop(&["config", "init", &corpus("good/basic.csv"), &corpus("good/types.parquet"), "-o", config]);
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let check = khop(&["config", "check", config]);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    assert!(String::from_utf8_lossy(&check.stdout).contains("valid, 2 input(s)"));
    let profiles = json(&khop(&["profile", "--json", "--config", config]));
    assert_eq!(profiles.as_array().unwrap().len(), 2);
    assert_eq!(profiles[1]["rows_passed"], 3);
}

#[test]
fn errors_are_clear_and_fail_the_command() {
    let missing = khop(&["profile", "/nonexistent/so_bhxh.csv"]);
    assert!(!missing.status.success());
    let message = String::from_utf8_lossy(&missing.stderr);
    assert!(message.contains("cannot open /nonexistent/so_bhxh.csv"), "{message}");

    let truncated = khop(&["profile", &corpus("bad/truncated.parquet")]);
    assert!(!truncated.status.success());
    assert!(String::from_utf8_lossy(&truncated.stderr).contains("not a readable Parquet file"));

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[[input]]\npath = 3\nformat = \"xls\"\n").unwrap();
    let check = khop(&["config", "check", config.to_str().unwrap()]);
    assert!(!check.status.success());
    let message = String::from_utf8_lossy(&check.stderr);
    assert!(message.contains("bad.toml:2:8: `path` must be a string"), "{message}");
    assert!(message.contains("bad.toml:3:10: unknown format `xls`"), "{message}");
}

#[test]
fn demo_links_a_generated_population_and_scores_it() {
    let dir = tempfile::tempdir().unwrap();
    let output = khop(&["demo", "--persons", "3000", "--dir", dir.path().to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("synthetic population of 3000 people"), "{text}");
    let f1: f64 = text
        .split("F1 ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no F1 in {text}"));
    assert!(f1 >= 0.95, "{text}");
    assert!(dir.path().join("model.json").exists());
}

#[test]
fn normalize_writes_every_passed_row_and_rejects_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("khop.toml");
    std::fs::write(
        &config,
        format!(
            "[[input]]\npath = {:?}\nid = \"id\"\n[input.columns]\nho_ten = \"full_name\"\n",
            corpus("bad/missing_id.csv")
        ),
    )
    .unwrap();
    let out = dir.path().join("out.csv");
    let rejects = dir.path().join("rejects.csv");
    let output = khop(&[
        "normalize",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--rejects",
        rejects.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("4 rows read, 2 normalized"));
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "row,id,ho_ten.full,ho_ten.family,ho_ten.middle,ho_ten.given,ho_ten.folded,ho_ten.phonetic,ho_ten.flags"
    );
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[1].starts_with("1,1,nguyễn văn an,nguyễn,văn,an,nguyen van an,"), "{}", lines[1]);
    assert!(lines[2].starts_with("4,4,"), "{}", lines[2]);
    assert_eq!(std::fs::read_to_string(&rejects).unwrap().lines().count(), 3);
}

#[test]
fn normalize_detects_roles_without_a_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.parquet");
    let output = khop(&["normalize", &corpus("good/excel_utf16le.csv"), "--out", out.to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let profile = json(&khop(&["profile", "--json", out.to_str().unwrap()]));
    let names: Vec<&str> =
        profile[0]["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    for expected in ["row", "id", "ho_ten.folded", "ngay_sinh.year", "so_cccd.birth_year", "so_cccd.flags"] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    assert_eq!(profile[0]["rows_read"], 3);
}

/// Writes a national table of `n` synthetic people and a sector table holding every third of them
/// with accents dropped; both use the same record ids, so a right link has `left_id == right_id`.
fn linkage_tables(dir: &Path, n: u64) -> (PathBuf, PathBuf) {
    let options = khop_datasets::SampleOptions { rows: n, seed: 3, messy: 0.0, broken: 0.0 };
    let mut generator = khop_datasets::SampleGenerator::new(options);
    let (national, sector) = (dir.join("national.csv"), dir.join("sector.csv"));
    let mut a = csv_writer(&national);
    let mut b = csv_writer(&sector);
    a.write_record(khop_datasets::SAMPLE_COLUMNS).unwrap();
    b.write_record(khop_datasets::SAMPLE_COLUMNS).unwrap();
    let mut i = 0;
    while let Some(record) = generator.next_record() {
        a.write_record(&record.values).unwrap();
        if i % 3 == 0 {
            let mut values = record.values.clone();
            values[1] = khop_datasets::fold(&values[1]);
            b.write_record(&values).unwrap();
        }
        i += 1;
    }
    (sector, national)
}

fn csv_writer(path: &Path) -> csv::Writer<std::fs::File> {
    csv::Writer::from_path(path).unwrap()
}

#[test]
fn link_train_and_blocking_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (sector, national) = linkage_tables(dir.path(), 900);
    let (sector, national) = (sector.to_str().unwrap(), national.to_str().unwrap());
    let model = dir.path().join("model.json");
    let train = khop(&["train", "--left", sector, "--right", national, "--out", model.to_str().unwrap()]);
    assert!(train.status.success(), "{}", String::from_utf8_lossy(&train.stderr));
    assert!(String::from_utf8_lossy(&train.stderr).contains("converged"));

    let blocking = khop(&["blocking", "--left", sector, "--right", national]);
    assert!(blocking.status.success(), "{}", String::from_utf8_lossy(&blocking.stderr));
    assert!(String::from_utf8_lossy(&blocking.stdout).contains("candidate pairs in all"));

    // With the true links: each rule's share of them, the missed ones, and unknown ids named.
    let truth = dir.path().join("truth.csv");
    let mut w = csv_writer(&truth);
    w.write_record(["left_id", "right_id"]).unwrap();
    let mut ids = csv::Reader::from_path(sector).unwrap();
    let mut known = 0;
    for row in ids.records() {
        let id = row.unwrap()[0].to_owned();
        w.write_record([&id, &id]).unwrap();
        known += 1;
    }
    w.write_record(["no-such-record", "x"]).unwrap();
    w.flush().unwrap();
    let blocking =
        khop(&["blocking", "--left", sector, "--right", national, "--truth", truth.to_str().unwrap()]);
    assert!(blocking.status.success(), "{}", String::from_utf8_lossy(&blocking.stderr));
    let stdout = String::from_utf8_lossy(&blocking.stdout);
    let found: u64 = stdout
        .lines()
        .skip_while(|l| !l.starts_with("true links found first by"))
        .skip(1)
        .take_while(|l| !l.starts_with("no rule"))
        .map(|l| l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap())
        .sum();
    let missed: u64 = stdout
        .lines()
        .find(|l| l.starts_with("no rule"))
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(found + missed, known, "{stdout}");
    assert!(missed <= 3, "{stdout}");
    assert!(String::from_utf8_lossy(&blocking.stderr).contains("1 true links name a record"));

    let out = dir.path().join("links.csv");
    let summary = dir.path().join("summary.json");
    let link = khop(&[
        "link",
        "--left",
        sector,
        "--right",
        national,
        "--model",
        model.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--summary",
        summary.to_str().unwrap(),
    ]);
    assert!(link.status.success(), "{}", String::from_utf8_lossy(&link.stderr));
    let mut reader = csv::Reader::from_path(&out).unwrap();
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (left, right, decision) = (column("left_id"), column("right_id"), column("decision"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 300);
    let correct = rows.iter().filter(|r| &r[decision] == "match" && r[left] == r[right]).count();
    let wrong = rows.iter().filter(|r| &r[decision] == "match" && r[left] != r[right]).count();
    assert!(correct >= 294 && wrong == 0, "{correct} right links, {wrong} wrong");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(summary["sector"]["records"], 300);
    assert!(summary["pairs_scored"].as_u64().unwrap() >= 300);
}

#[test]
fn dedupe_finds_the_copies() {
    let dir = tempfile::tempdir().unwrap();
    let (sector, national) = linkage_tables(dir.path(), 600);
    // One table holding everyone once, and a copy of every third person with a new record id.
    let table = dir.path().join("register.csv");
    let mut out = csv_writer(&table);
    let mut rows = csv::Reader::from_path(&national).unwrap();
    out.write_record(rows.headers().unwrap()).unwrap();
    for row in rows.records() {
        out.write_record(&row.unwrap()).unwrap();
    }
    let mut copies = csv::Reader::from_path(&sector).unwrap();
    for row in copies.records() {
        let mut row: Vec<String> = row.unwrap().iter().map(str::to_owned).collect();
        row[0] = format!("COPY-{}", row[0]);
        out.write_record(&row).unwrap();
    }
    out.flush().unwrap();
    drop(out);
    let clusters = dir.path().join("clusters.csv");
    let pairs = dir.path().join("pairs.csv");
    let run = khop(&[
        "dedupe",
        table.to_str().unwrap(),
        "--out",
        clusters.to_str().unwrap(),
        "--pairs",
        pairs.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let mut reader = csv::Reader::from_path(&clusters).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 800, "every record in exactly one cluster");
    // A copy is clustered with its original, named by the smaller id (the original's).
    let together = rows.iter().filter(|r| r[0].starts_with("COPY-") && r[2] == r[0][5..]).count();
    let wrong = rows.iter().filter(|r| !r[0].starts_with("COPY-") && r[2] != r[0]).count();
    assert!(
        together >= 196 && wrong == 0,
        "{together} copies with their original, {wrong} originals misplaced"
    );
    assert!(std::fs::read_to_string(&pairs).unwrap().lines().count() > 196);
}

#[test]
fn reconcile_explain_and_score_the_worklist() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let gen_ = khop(&["gen", "--persons", "1500", "--seed", "3", "--format", "csv", "--out", &path("")]);
    assert!(gen_.status.success(), "{}", String::from_utf8_lossy(&gen_.stderr));
    let run = khop(&[
        "reconcile",
        "--left",
        &path("bhxh.csv"),
        "--right",
        &path("national.csv"),
        "--out",
        &path("worklist.csv"),
        "--unmatched",
        &path("unmatched.csv"),
        "--links",
        &path("links.csv"),
        "--summary",
        &path("summary.json"),
        "--save-model",
        &path("model.json"),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(text.contains("accepted links") && text.contains("not accepted because"), "{text}");

    // Worklist lines carry both values and the national value to write.
    let mut reader = csv::Reader::from_path(path("worklist.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (field, kind, suggested) = (column("field"), column("conflict"), column("suggested_value"));
    let lines: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert!(
        lines.iter().any(|l| &l[field] == "national_id" && &l[kind] == "missing" && l[suggested].len() == 12)
    );
    let read_json = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(path(name)).unwrap()).unwrap()
    };
    let summary = read_json("summary.json");
    let source = &summary["sources"][0];
    assert_eq!(source["source"], "bhxh");
    let s = &source["summary"];
    let by_field: u64 = s["by_field"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|k| k.as_object().unwrap().values())
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(by_field, s["conflicts"].as_u64().unwrap());
    assert_eq!(by_field as usize, lines.len());
    let unmatched = csv::Reader::from_path(path("unmatched.csv")).unwrap().records().count() as u64;
    assert_eq!(unmatched, s["records"].as_u64().unwrap() - s["matched"].as_u64().unwrap());

    // Scored against the generator's truth by `khop eval`.
    let eval = khop(&[
        "eval",
        "--pred",
        &path("links.csv"),
        "--truth",
        &path("links_bhxh.csv"),
        "--worklist",
        &path("worklist.csv"),
        "--corruptions",
        &path("corruptions_bhxh.csv"),
        "--national-corruptions",
        &path("corruptions_national.csv"),
        "--json",
        &path("eval.json"),
    ]);
    assert!(eval.status.success(), "{}", String::from_utf8_lossy(&eval.stderr));
    let scores = read_json("eval.json");
    let c = &scores["conflicts"];
    assert!(c["expected"].as_u64().unwrap() >= 300, "{c}");
    assert!(c["recall"].as_f64().unwrap() >= 0.99, "{c}");
    assert!(c["spurious_rate"].as_f64().unwrap() <= 0.01, "{c}");

    // One accepted pair explained, with the saved model: its weight is the one it was linked with.
    let mut reader = csv::Reader::from_path(path("links.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let link = reader.records().map(Result::unwrap).find(|r| &r[column("decision")] == "match").unwrap();
    let (left, right) = (&link[column("left_id")], &link[column("right_id")]);
    let weight: f64 = link[column("match_weight")].parse().unwrap();
    let args = [
        "explain",
        "--left",
        &path("bhxh.csv"),
        "--right",
        &path("national.csv"),
        "--model",
        &path("model.json"),
    ];
    let explain = khop(&[&args[..], &["--pair", left, right, "--json"]].concat());
    assert!(explain.status.success(), "{}", String::from_utf8_lossy(&explain.stderr));
    let e = json(&explain);
    assert_eq!(e["left_id"], left);
    assert!((e["match_weight"].as_f64().unwrap() - weight).abs() < 1e-6, "{e}");
    let comparisons = e["comparisons"].as_array().unwrap();
    assert!(
        comparisons
            .iter()
            .any(|c| c["comparison"] == "name" && !c["description"].as_str().unwrap().is_empty())
    );
    let table = khop(&[&args[..], &["--pair", left, right]].concat());
    assert!(String::from_utf8_lossy(&table.stdout).contains("match weight"));
    let unknown = khop(&[&args[..], &["--pair", "nobody", right]].concat());
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no record with id `nobody`"));
}

/// A configuration for the generated national table and three sources (roles and ids named).
const GENERATED_CONFIG: &str = r#"
[[input]]
name = "national"
path = "national.csv"
id = "ma_cong_dan"
[input.columns]
so_dinh_danh = "national_id"
ho_va_ten = "full_name"
ngay_sinh = "date_of_birth"
gioi_tinh = "sex"
noi_thuong_tru = "address"
ho_ten_cha = "father_name"
ho_ten_me = "mother_name"
so_cmnd = "old_id"
so_dien_thoai = "phone"

[[input]]
name = "bhxh"
path = "bhxh.csv"
id = "ma_so_bhxh"
[input.columns]
ho_ten = "full_name"
ngay_sinh = "date_of_birth"
gioi_tinh = "sex"
so_cccd = "national_id"
dien_thoai = "phone"
dia_chi = "address"

[[input]]
name = "bhyt"
path = "bhyt.csv"
id = "MA_THE"
[input.columns]
HO_TEN = "full_name"
NGAY_SINH = "date_of_birth"
GIOI_TINH = "sex"
SO_DDCN = "national_id"
DIA_CHI = "address"

[[input]]
name = "local"
path = "local.csv"
id = "so_dang_ky"
[input.columns]
ho_ten = "full_name"
ngay_sinh = "date_of_birth"
gioi_tinh = "sex"
so_giay_to = "national_id"
noi_cu_tru = "address"
ho_ten_cha = "father_name"
ho_ten_me = "mother_name"
"#;

fn csv_rows(path: &Path) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(path).unwrap().records().map(Result::unwrap).collect()
}

#[test]
fn link_several_sources_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let options = khop_datasets::GenOptions {
        persons: 1_500,
        format: khop_datasets::OutputFormat::Csv,
        ..Default::default()
    };
    khop_datasets::generate(dir.path(), &khop_datasets::Profile::named("default").unwrap(), &options)
        .unwrap();
    let config = dir.path().join("khop.toml");
    std::fs::write(&config, GENERATED_CONFIG).unwrap();
    let config = config.to_str().unwrap();

    // Every input but `national`, each with its own model.
    let out = dir.path().join("run");
    let summary = dir.path().join("summary.json");
    let path = |p: &Path| p.to_str().unwrap().to_owned();
    let run = khop(&[
        "link",
        "--config",
        config,
        "--out",
        &path(&out),
        "--output-format",
        "csv",
        "--summary",
        &path(&summary),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let national = csv_rows(&dir.path().join("national.csv"));
    let persons = csv_rows(&out.join("persons.csv"));
    assert_eq!(persons.len(), national.len(), "one row per national person");
    for source in ["bhxh", "bhyt", "local"] {
        let links = csv_rows(&out.join(format!("links_{source}.csv")));
        assert_eq!(links.len(), csv_rows(&dir.path().join(format!("{source}.csv"))).len());
        assert!(out.join(format!("model_{source}.json")).is_file());
        // The same source alone gives the same file.
        let alone = dir.path().join(format!("alone_{source}.csv"));
        let single = khop(&["link", "--config", config, "--left", source, "--out", &path(&alone)]);
        assert!(single.status.success(), "{}", String::from_utf8_lossy(&single.stderr));
        assert_eq!(
            std::fs::read(&alone).unwrap(),
            std::fs::read(out.join(format!("links_{source}.csv"))).unwrap()
        );
    }
    let conflicts = csv_rows(&out.join("conflicts.csv"));
    assert!(conflicts.iter().any(|r| &r[1] == "duplicate_claim"), "local holds duplicates");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(summary["sources"].as_array().unwrap().len(), 3);
    assert_eq!(summary["national"]["records"].as_u64().unwrap() as usize, national.len());

    // Two sources named, one shared model.
    let shared = dir.path().join("shared");
    let run = khop(&[
        "link",
        "--config",
        config,
        "--left",
        "bhxh",
        "--left",
        "local",
        "--shared-model",
        "--out",
        &path(&shared),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(shared.join("model.json").is_file() && shared.join("persons.parquet").is_file());
    assert!(!shared.join("links_bhyt.parquet").exists());

    // A model file is for one run; several sources write theirs into the folder.
    let refused = khop(&["link", "--config", config, "--out", &path(&shared), "--save-model", "m.json"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--out folder"));
    let refused = khop(&["train", "--config", config, "--out", "m.json"]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("this command takes one"));
}

/// The bytes of a file, to check it was left alone.
fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn outputs_that_would_destroy_inputs_are_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (sector, national) = linkage_tables(dir.path(), 60);
    let (s, n) = (sector.to_str().unwrap(), national.to_str().unwrap());
    let before = (bytes(&sector), bytes(&national));
    let refused = |args: &[&str], what: &str| {
        let output = khop(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} was accepted");
        assert!(stderr.contains("refusing to write") && stderr.contains(what), "{args:?}: {stderr}");
    };
    refused(&["link", "--left", s, "--right", n, "--out", n], "the input `national`");
    let summary = dir.path().join(".").join("national.csv");
    let out = dir.path().join("links.csv");
    refused(
        &[
            "link",
            "--left",
            s,
            "--right",
            n,
            "--out",
            out.to_str().unwrap(),
            "--summary",
            summary.to_str().unwrap(),
        ],
        "the input `national`",
    );
    refused(&["normalize", s, "--out", s], "the input `sector`");
    let w = dir.path().join("w.csv");
    let w = w.to_str().unwrap();
    refused(
        &["reconcile", "--left", s, "--right", n, "--out", w, "--links", w, "--unmatched", w],
        "the worklist output",
    );
    assert_eq!((bytes(&sector), bytes(&national)), before, "the inputs are untouched");
    assert!(!out.exists(), "nothing was written");
}

#[test]
fn bad_values_and_output_names_are_refused_first() {
    let dir = tempfile::tempdir().unwrap();
    let (sector, national) = linkage_tables(dir.path(), 60);
    let (s, n) = (sector.to_str().unwrap(), national.to_str().unwrap());
    let out = dir.path().join("clusters.csv");
    for threshold in ["1.5", "-0.5", "nan"] {
        let output = khop(&["dedupe", n, "--out", out.to_str().unwrap(), "--threshold", threshold]);
        assert!(!output.status.success(), "--threshold {threshold} accepted");
    }
    let output = khop(&["dedupe", n, "--out", out.to_str().unwrap(), "--min-link-density", "2"]);
    assert!(!output.status.success(), "--min-link-density 2 accepted");
    let xlsx = dir.path().join("links.xlsx");
    let output = khop(&["link", "--left", s, "--right", n, "--out", xlsx.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains(".parquet, .csv or .ndjson"), "{stderr}");
    // Refused before reading: no progress line about the tables.
    assert!(!stderr.contains("rows read"), "{stderr}");
    let output = khop(&[
        "link",
        "--left",
        s,
        "--right",
        n,
        "--out",
        dir.path().join("missing/links.csv").to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("does not exist"));
}

#[test]
fn dedupe_names_records_and_says_which_column_is_the_id() {
    let dir = tempfile::tempdir().unwrap();
    let gen_ = khop(&[
        "gen",
        "--persons",
        "400",
        "--seed",
        "5",
        "--format",
        "csv",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(gen_.status.success());
    let clusters = dir.path().join("clusters.csv");
    let pairs = dir.path().join("pairs.csv");
    let run = khop(&[
        "dedupe",
        dir.path().join("local.csv").to_str().unwrap(),
        "--out",
        clusters.to_str().unwrap(),
        "--pairs",
        pairs.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("ids: `so_dang_ky` (detected)"), "{stderr}");
    let rows = csv_rows(&clusters);
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| !r[0].is_empty() && !r[2].is_empty()), "every record and cluster has an id");
    let pairs = csv_rows(&pairs);
    assert!(pairs.iter().all(|r| !r[0].is_empty() && !r[1].is_empty()), "every pair names its records");
}

#[test]
fn each_file_is_read_in_its_own_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let (sector, national) = linkage_tables(dir.path(), 300);
    // The sector file as an old Windows export: Windows-1258, where the vowels â ê ô ă ơ ư are
    // letters of their own and tone marks are combining characters.
    let text = windows_1258_layout(&std::fs::read_to_string(&sector).unwrap());
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1258.encode(&text);
    assert!(!unmappable);
    let legacy = dir.path().join("sector_1258.csv");
    std::fs::write(&legacy, &bytes).unwrap();
    let (s, l, n) = (sector.to_str().unwrap(), legacy.to_str().unwrap(), national.to_str().unwrap());
    let matches = |args: &[&str]| -> usize {
        let out = dir.path().join("links.csv");
        let output = khop(&[&["link", "--out", out.to_str().unwrap()], args].concat());
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        csv_rows(&out).iter().filter(|r| &r[10] == "match").count()
    };
    let utf8 = matches(&["--left", s, "--right", n]);
    let mixed =
        matches(&["--left", l, "--right", n, "--encoding", "windows-1258", "--right-encoding", "utf-8"]);
    assert!(utf8 > 50, "{utf8}");
    assert_eq!(mixed, utf8, "the Windows-1258 sector file links as its UTF-8 original");
}

/// `text` decomposed as Windows-1258 writes Vietnamese: base vowels with their circumflex,
/// breve or horn composed, tone marks as combining characters.
fn windows_1258_layout(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut out = String::new();
    for c in text.nfd() {
        let quality = matches!(c, '\u{302}' | '\u{306}' | '\u{31B}');
        match out.pop() {
            Some(base) if quality => {
                out.push(unicode_normalization::char::compose(base, c).unwrap_or(base));
            }
            Some(last) => {
                out.push(last);
                out.push(c);
            }
            None => out.push(c),
        }
    }
    out
}

/// The largest peak resident memory of the children this test process has waited for, in MiB.
#[cfg(target_os = "linux")]
fn children_peak_mib() -> i64 {
    // SAFETY: getrusage writes into the zeroed struct it is given and reads nothing else.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let status = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(status, 0);
    usage.ru_maxrss / 1024
}

#[test]
#[cfg(target_os = "linux")]
fn profiling_many_columns_costs_what_the_file_holds() {
    // 2,000 columns of 3 rows: reading reserved a 65,536-row batch per column, 2.9 GB in all.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.csv");
    let header: Vec<String> = (0..2_000).map(|i| format!("c{i}")).collect();
    let mut text = header.join(",") + "\n";
    for row in 0..3 {
        let values: Vec<String> = (0..2_000).map(|i| format!("v{row}_{i}")).collect();
        text.push_str(&(values.join(",") + "\n"));
    }
    std::fs::write(&path, text).unwrap();
    let output = khop(&["profile", "--json", path.to_str().unwrap()]);
    let profiles = json(&output);
    assert_eq!(profiles[0]["columns"].as_array().unwrap().len(), 2_000);
    let peak = children_peak_mib();
    assert!(peak < 1_000, "a khop child peaked at {peak} MiB");
}

#[test]
fn an_index_is_built_once_and_links_as_the_file_does() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let gen_ = khop(&["gen", "--persons", "1200", "--seed", "8", "--format", "csv", "--out", &path("")]);
    assert!(gen_.status.success(), "{}", String::from_utf8_lossy(&gen_.stderr));

    let build = khop(&[
        "index",
        "build",
        &path("national.csv"),
        "--out",
        &path("national.idx"),
        "--train-with",
        &path("bhxh.csv"),
    ]);
    assert!(build.status.success(), "{}", String::from_utf8_lossy(&build.stderr));
    assert!(String::from_utf8_lossy(&build.stdout).contains("records written to"));
    let info = khop(&["index", "info", &path("national.idx")]);
    assert!(info.status.success(), "{}", String::from_utf8_lossy(&info.stderr));
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    assert!(info.contains("table `national`") && info.contains("records.arrow"), "{info}");

    let from_file = khop(&[
        "link",
        "--left",
        &path("bhxh.csv"),
        "--right",
        &path("national.csv"),
        "--out",
        &path("file.csv"),
    ]);
    assert!(from_file.status.success(), "{}", String::from_utf8_lossy(&from_file.stderr));
    let from_index = khop(&[
        "link",
        "--left",
        &path("bhxh.csv"),
        "--index",
        &path("national.idx"),
        "--out",
        &path("index.csv"),
    ]);
    assert!(from_index.status.success(), "{}", String::from_utf8_lossy(&from_index.stderr));
    assert_eq!(bytes(&dir.path().join("index.csv")), bytes(&dir.path().join("file.csv")));
    assert!(csv_rows(&dir.path().join("index.csv")).iter().any(|r| r.iter().any(|v| v == "match")));

    // Lookups of sector records, as role-named JSON: the answers of the batch link (the index
    // keeps the model trained on the same tables, and blocks with the same rules).
    let mut reader = csv::Reader::from_path(dir.path().join("bhxh.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let raw = |row: &csv::StringRecord, column: &str| {
        headers.iter().position(|h| h == column).map(|i| row[i].to_owned()).filter(|v| !v.is_empty())
    };
    let mut lines = String::new();
    let rows: Vec<csv::StringRecord> = reader.records().take(40).map(|r| r.unwrap()).collect();
    for row in &rows {
        let mut object = serde_json::Map::new();
        for (column, role) in [
            ("ho_ten", "full_name"),
            ("ngay_sinh", "date_of_birth"),
            ("gioi_tinh", "sex"),
            ("so_cccd", "national_id"),
            ("dien_thoai", "phone"),
            ("dia_chi", "address"),
        ] {
            if let Some(value) = raw(row, column) {
                object.insert(role.into(), value.into());
            }
        }
        assert!(object.len() >= 3, "the generator's columns: {headers:?}");
        lines += &format!("{}\n", serde_json::Value::Object(object));
    }
    std::fs::write(dir.path().join("queries.ndjson"), lines).unwrap();
    let lookup = khop(&["index", "lookup", &path("national.idx"), "--records", &path("queries.ndjson")]);
    assert!(lookup.status.success(), "{}", String::from_utf8_lossy(&lookup.stderr));
    let answers: Vec<serde_json::Value> =
        String::from_utf8_lossy(&lookup.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let links = csv_rows(&dir.path().join("file.csv"));
    assert_eq!(answers.len(), rows.len());
    for (answer, link) in answers.iter().zip(&links) {
        assert_eq!(answer["decision"], link[10], "{answer}");
        if link[10] == *"match" {
            assert_eq!(answer["best_id"], link[2], "{answer}");
        }
    }
    let bad = khop(&["index", "lookup", &path("national.idx"), "--record", "{\"ho_ten\": \"X\"}"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown field `ho_ten`"));

    // Never overwritten; --index and --right exclude each other; a broken index is named.
    let again = khop(&["index", "build", &path("national.csv"), "--out", &path("national.idx")]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwritten"));
    let both = khop(&[
        "link",
        "--left",
        &path("bhxh.csv"),
        "--right",
        &path("national.csv"),
        "--index",
        &path("national.idx"),
        "--out",
        &path("both.csv"),
    ]);
    assert!(!both.status.success());
    std::fs::write(dir.path().join("national.idx/records.arrow"), b"not arrow").unwrap();
    let broken = khop(&[
        "link",
        "--left",
        &path("bhxh.csv"),
        "--index",
        &path("national.idx"),
        "--out",
        &path("broken.csv"),
    ]);
    assert!(!broken.status.success());
    let message = String::from_utf8_lossy(&broken.stderr).into_owned();
    assert!(message.contains("records.arrow") && message.contains("build it again"), "{message}");
}

/// Records in the index `dir`, as `khop index info` prints them (which opens and checks it).
fn index_records(dir: &Path) -> u64 {
    let info = khop(&["index", "info", dir.to_str().unwrap()]);
    assert!(info.status.success(), "the index does not open: {}", String::from_utf8_lossy(&info.stderr));
    let text = String::from_utf8_lossy(&info.stdout).into_owned();
    let count = text.lines().find_map(|l| l.split("`: ").nth(1)?.split(' ').next()?.parse().ok());
    count.unwrap_or_else(|| panic!("no record count in {text}"))
}

/// Updates killed (SIGKILL) at random points leave the index at its last commit: it opens, its
/// checksums hold, and it holds the records of before or of after the update, nothing between.
#[test]
fn an_update_killed_at_any_point_leaves_the_last_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let gen_ = khop(&["gen", "--persons", "1000", "--seed", "12", "--format", "csv", "--out", &path("")]);
    assert!(gen_.status.success(), "{}", String::from_utf8_lossy(&gen_.stderr));
    // The national file split: the index is built from the first four fifths, the last fifth
    // comes and goes by updates.
    let mut reader = csv::Reader::from_path(dir.path().join("national.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let split = rows.len() * 4 / 5;
    let write = |name: &str, rows: &[csv::StringRecord]| {
        let mut writer = csv::Writer::from_path(dir.path().join(name)).unwrap();
        writer.write_record(&headers).unwrap();
        for row in rows {
            writer.write_record(row).unwrap();
        }
        writer.flush().unwrap();
    };
    write("national.csv", &rows[..split]);
    write("changes.csv", &rows[split..]);
    let id = headers.iter().position(|h| h == "ma_cong_dan").expect("the generator's id column");
    let ids: String = rows[split..].iter().map(|r| format!("{}\n", &r[id])).collect();
    std::fs::write(dir.path().join("gone.txt"), ids).unwrap();

    let build = khop(&["index", "build", &path("national.csv"), "--out", &path("idx")]);
    assert!(build.status.success(), "{}", String::from_utf8_lossy(&build.stderr));
    let (without, with) = (split as u64, rows.len() as u64);
    assert_eq!(index_records(&dir.path().join("idx")), without);
    let update = |holding: u64| -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_khop"));
        command.args(["index", "update", &path("idx")]);
        match holding == without {
            true => command.args(["--upsert", &path("changes.csv")]),
            false => command.args(["--delete", &path("gone.txt")]),
        };
        command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
        command
    };
    // How long an update takes whole, each way.
    let time = |holding: u64| {
        let started = std::time::Instant::now();
        let done = update(holding).output().unwrap();
        assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
        started.elapsed()
    };
    let (upsert, delete) = (time(without), time(with));
    assert_eq!(index_records(&dir.path().join("idx")), without);

    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let (mut killed, mut committed) = (0, 0);
    let mut holding = without;
    for _ in 0..16 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let whole = if holding == without { upsert } else { delete };
        let delay = whole.mul_f64((state % 1000) as f64 / 1000.0 * 1.2);
        let mut child = update(holding).spawn().unwrap();
        std::thread::sleep(delay);
        match child.try_wait().unwrap() {
            Some(status) => {
                let mut stderr = String::new();
                std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
                assert!(status.success(), "an update failed on its own: {stderr}");
            }
            None => {
                child.kill().unwrap();
                child.wait().unwrap();
                killed += 1;
            }
        }
        let now = index_records(&dir.path().join("idx"));
        let after = if holding == without { with } else { without };
        assert!(
            now == holding || now == after,
            "{now} records: neither {holding} (before) nor {after} (after)"
        );
        committed += usize::from(now != holding);
        holding = now;
    }
    assert!(killed > 0, "no update was killed: the delays are too long");
    // The index still updates and links after all that.
    let last = update(holding).output().unwrap();
    assert!(last.status.success(), "{}", String::from_utf8_lossy(&last.stderr));
    let link =
        khop(&["link", "--left", &path("bhxh.csv"), "--index", &path("idx"), "--out", &path("links.csv")]);
    assert!(link.status.success(), "{}", String::from_utf8_lossy(&link.stderr));
    eprintln!(
        "{killed} updates killed, {committed} commits seen; an update took {upsert:?} (upserts), {delete:?} (deletes)"
    );
}

/// `khop serve` killed (SIGKILL) under a stream of upserts: on restart every upsert it answered
/// is in the index, which opens at a whole commit.
#[test]
fn every_acknowledged_upsert_survives_a_killed_service() {
    use std::sync::{Arc, Mutex};

    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let gen_ = khop(&["gen", "--persons", "600", "--seed", "21", "--format", "csv", "--out", &path("")]);
    assert!(gen_.status.success(), "{}", String::from_utf8_lossy(&gen_.stderr));
    let build = khop(&["index", "build", &path("national.csv"), "--out", &path("idx")]);
    assert!(build.status.success(), "{}", String::from_utf8_lossy(&build.stderr));
    let before = index_records(&dir.path().join("idx"));
    let mut reader = csv::Reader::from_path(dir.path().join("national.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let template: Vec<(String, String)> = headers
        .iter()
        .zip(reader.records().next().unwrap().unwrap().iter())
        .map(|(h, v)| (h.to_owned(), v.to_owned()))
        .collect();

    // A free port for the service.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let address: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_khop"))
        .args(["serve", &path("idx"), "--listen", &address.to_string(), "--no-auth-on-loopback"])
        .args(["--audit-log", &path("audit.jsonl")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let ready = (0..600).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        matches!(khop_server::client::request(address, "GET", "/ready", None, None), Ok((200, _)))
    });
    assert!(ready, "the service did not become ready");

    // Upserts of new records, one per request, until the kill; the ids answered are kept.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let writer = {
        let acknowledged = Arc::clone(&acknowledged);
        std::thread::spawn(move || {
            for i in 0.. {
                let id = format!("NEW{i:06}");
                let record: serde_json::Map<String, serde_json::Value> = template
                    .iter()
                    .map(|(h, v)| {
                        (
                            h.clone(),
                            serde_json::Value::String(if h == "ma_cong_dan" {
                                id.clone()
                            } else {
                                v.clone()
                            }),
                        )
                    })
                    .collect();
                let body = serde_json::json!({"upserts": [record]}).to_string();
                match khop_server::client::request(address, "POST", "/v1/records", None, Some(&body)) {
                    Ok((200, answer)) if answer["visible"] == true => acknowledged.lock().unwrap().push(id),
                    _ => break,
                }
            }
        })
    };
    while acknowledged.lock().unwrap().len() < 8 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    writer.join().unwrap();

    let acknowledged = acknowledged.lock().unwrap().clone();
    let index =
        khop::index::NationalIndex::open(&dir.path().join("idx")).expect("the index opens after the kill");
    let live: std::collections::HashSet<&str> = (0..index.records().len() as u32)
        .filter(|&r| index.is_live(r))
        .map(|r| index.records().record_id(r))
        .collect();
    for id in &acknowledged {
        assert!(live.contains(id.as_str()), "{id} was acknowledged but is not in the index");
    }
    // At most the one upsert in flight at the kill went through unanswered.
    let added = live.len() as u64 - before;
    assert!(
        added == acknowledged.len() as u64 || added == acknowledged.len() as u64 + 1,
        "{added} added, {} acknowledged",
        acknowledged.len()
    );
}
