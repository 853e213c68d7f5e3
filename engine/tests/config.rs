//! Configuration: parsing, every problem reported at once with its place, `config init` output
//! that parses, and checks against the files.

use std::path::Path;

use khop::config::detect::detect_file;
use khop::config::{Config, InitInput, render_config};
use khop::read::{ReadOptions, TextEncoding};
use khop::{ErrorKind, Role};

fn problems(text: &str) -> Vec<(usize, usize, String)> {
    match Config::parse(text, Path::new("/data")) {
        Ok(_) => panic!("expected problems in:\n{text}"),
        Err(e) => match e.kind() {
            ErrorKind::Config(d) => {
                d.items.iter().map(|i| (i.position.line, i.position.column, i.message.clone())).collect()
            }
            other => panic!("not a configuration error: {other:?}"),
        },
    }
}

#[test]
fn parses_a_full_input() {
    let text = r#"
rejects = "out/rejects.csv"

[[input]]
name = "bhxh"
path = "bhxh.csv"
id = "ma_so_bhxh"
encoding = "windows-1258"
delimiter = ";"
header = true
null_values = ["", "NULL"]
batch_size = 1000

[input.columns]
ho_ten = "full_name"
so_dien_thoai = { role = "phone", null_values = ["0000000000"] }
"Ngày sinh" = "date_of_birth"
"#;
    let config = Config::parse(text, Path::new("/data")).unwrap();
    assert_eq!(config.rejects.as_deref(), Some(Path::new("/data/out/rejects.csv")));
    let input = &config.inputs[0];
    assert_eq!(input.name, "bhxh");
    assert_eq!(input.path, Path::new("/data/bhxh.csv"));
    assert_eq!(input.dataset.id_column.as_deref(), Some("ma_so_bhxh"));
    assert_eq!(input.dataset.role_of("so_dien_thoai"), Some(Role::Phone));
    assert_eq!(input.dataset.role_of("Ngày sinh"), Some(Role::DateOfBirth));
    assert_eq!(input.dataset.columns[1].null_values, ["0000000000"]);
    assert_eq!(input.read.encoding, TextEncoding::Named(encoding_rs_label("windows-1258")));
    assert_eq!(input.read.delimiter, Some(b';'));
    assert_eq!(input.read.batch_size, 1000);
    assert_eq!(
        input.read.columns.as_deref().unwrap(),
        ["ma_so_bhxh", "ho_ten", "so_dien_thoai", "Ngày sinh"]
    );
}

fn encoding_rs_label(label: &str) -> &'static encoding_rs::Encoding {
    encoding_rs::Encoding::for_label(label.as_bytes()).unwrap()
}

#[test]
fn reports_every_problem_with_line_and_column() {
    let text = r#"blocking = 3

[[input]]
path = "a.csv"
encodng = "utf-8"
batch_size = 0
delimiter = ";;"

[input.columns]
ho_ten = "fullname"
sdt = { role = "phone", nulls = [] }
ngay = 5

[[input]]
format = "xlsx"
"#;
    let found = problems(text);
    let expected = [
        (1, 1, "unknown setting `blocking`"),
        (5, 1, "unknown setting `encodng` in [[input]]; did you mean `encoding`?"),
        (6, 14, "`batch_size` must be a whole number above 0"),
        (7, 13, "`delimiter` must be one ASCII character"),
        (10, 10, "unknown role `fullname` (did you mean `full_name`?"),
        (11, 25, "column `sdt`: unknown option `nulls`"),
        (12, 8, "column `ngay`: write a role name"),
        (14, 1, "input 2 has no `path`"),
        (15, 10, "unknown format `xlsx`"),
    ];
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    for ((line, column, message), (el, ec, em)) in found.iter().zip(expected) {
        assert!(message.contains(em), "{message:?} lacks {em:?}");
        assert_eq!((*line, *column), (el, ec), "{message}");
    }
}

#[test]
fn invalid_toml_and_empty_configs_are_reported() {
    let found = problems("[[input]\npath = 1");
    assert_eq!(found.len(), 1);
    assert!(found[0].2.starts_with("not valid TOML"), "{found:?}");
    assert_eq!(found[0].0, 1);
    let found = problems("");
    assert!(found[0].2.contains("no `[[input]]`"));
    let found = problems("[[input]]\npath = \"a.csv\"\n");
    assert!(found[0].2.contains("has no `[input.columns]`"), "{found:?}");
    let found = problems(
        "[[input]]\npath = \"a.csv\"\n[input.columns]\na = \"text\"\n[[input]]\npath = \"b/a.csv\"\n[input.columns]\na = \"text\"\n",
    );
    assert!(found[0].2.contains("two inputs are named `a`"), "{found:?}");
}

#[test]
fn init_output_parses_and_validates_against_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("ho tich.csv");
    std::fs::write(
        &csv,
        "stt,Họ và tên,Ngày sinh,Giới tính,Số CCCD,cot_la,\"quote\"\"d\"\n\
         1,Nguyễn Văn An,05/03/1990,Nam,001090012345,0912345678,x\n\
         2,Trần Thị Bình,1985,Nữ,079185000123,0987654321,y\n",
    )
    .unwrap();
    let ndjson = dir.path().join("cu_tru.ndjson");
    std::fs::write(&ndjson, "{\"so_dinh_danh\":\"001090012345\",\"ho_ten\":\"Nguyễn Văn An\"}\n").unwrap();
    let mut inputs = Vec::new();
    for (file, name) in [(&csv, "ho tich.csv"), (&ndjson, "cu_tru.ndjson")] {
        let (format, detection) = detect_file(file, &ReadOptions::default()).unwrap();
        inputs.push(InitInput {
            path: name.into(),
            format,
            detection,
            encoding: TextEncoding::Auto,
            delimiter: None,
        });
    }
    let text = render_config(&inputs);
    let path = dir.path().join("khop.toml");
    std::fs::write(&path, &text).unwrap();
    let config = Config::from_file(&path).unwrap_or_else(|e| panic!("{e}\n{text}"));
    config.check_files().unwrap();
    let first = &config.inputs[0].dataset;
    assert_eq!(first.id_column.as_deref(), Some("stt"));
    assert_eq!(first.role_of("Họ và tên"), Some(Role::FullName));
    assert_eq!(first.role_of("Số CCCD"), Some(Role::NationalId));
    assert_eq!(first.role_of("cot_la"), Some(Role::Phone), "detected from values:\n{text}");
    // A column no person role fits is still evidence: generic text, compared and written as such.
    assert_eq!(first.role_of("quote\"d"), Some(Role::Text), "{text}");
    let second = &config.inputs[1].dataset;
    assert_eq!(second.id_column.as_deref(), Some("so_dinh_danh"), "a unique national id is the id");
}

#[test]
fn check_files_names_every_missing_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.csv"), "id,ho_ten\n1,An\n").unwrap();
    let path = dir.path().join("khop.toml");
    std::fs::write(
        &path,
        "[[input]]\npath = \"a.csv\"\nid = \"ma\"\n[input.columns]\nho_ten = \"full_name\"\nngay_sinh = \"date_of_birth\"\n\n[[input]]\npath = \"missing.csv\"\n[input.columns]\nx = \"text\"\n",
    )
    .unwrap();
    let config = Config::from_file(&path).unwrap();
    let error = config.check_files().unwrap_err();
    let ErrorKind::Config(diagnostics) = error.kind() else { panic!("{error}") };
    let found: Vec<(usize, &str)> =
        diagnostics.items.iter().map(|d| (d.position.line, d.message.as_str())).collect();
    assert_eq!(found.len(), 3, "{found:#?}");
    assert_eq!(found[0].0, 3);
    assert!(found[0].1.contains("no column named `ma`"));
    assert_eq!(found[1].0, 6);
    assert!(found[1].1.contains("no column named `ngay_sinh` (the file has: id, ho_ten)"));
    assert!(found[2].1.contains("missing.csv"));
    assert!(error.to_string().contains("khop.toml:6:1:"), "{error}");
}

const ONE_INPUT: &str = r#"
[[input]]
path = "bhxh.csv"
[input.columns]
ho_ten = "full_name"
"#;

#[test]
fn link_section_sets_rules_comparisons_and_thresholds() {
    use khop::block::BlockKey;
    use khop::link::linker::LinkSettings;

    let text = format!(
        r#"{ONE_INPUT}postcode = "number"
sdt = "phone"
[link]
match_threshold = 0.95
review_threshold = 0.6
one_to_one = true
max_block_pairs = 5000
blocking = [["national_id"], ["family_name", "date_of_birth"], ["column:postcode", "given_name"]]

[link.comparisons]
name = {{ high = 0.94, low = 0.88 }}
phone = false
"#
    );
    let config = Config::parse(&text, Path::new("/data")).unwrap();
    let settings = config.link.apply(LinkSettings::default());
    assert_eq!(settings.thresholds.match_probability, 0.95);
    assert_eq!(settings.thresholds.review_probability, 0.6);
    assert_eq!(settings.thresholds.ambiguity_margin, LinkSettings::default().thresholds.ambiguity_margin);
    assert!(settings.one_to_one);
    assert_eq!(settings.blocking.max_block_pairs, 5000);
    let rules = settings.rules.expect("rules replace the defaults");
    let names: Vec<&str> = rules.iter().map(|r| r.name()).collect();
    assert_eq!(names, ["national_id", "family_name+date_of_birth", "postcode+given_name"]);
    assert_eq!(rules[1].keys(), [BlockKey::FoldedFamilyName, BlockKey::DateOfBirth]);
    assert_eq!(settings.comparisons.len(), 2);
    assert_eq!(settings.comparisons[0].high, Some(0.94));
    assert!(!settings.comparisons[1].enabled);
}

#[test]
fn link_section_problems_are_reported_with_their_place() {
    let text = format!(
        r#"{ONE_INPUT}
[link]
match_treshold = 0.9
review_threshold = 1.5
blocking = [["family_name", "birthday"]]

[link.comparisons]
name = {{ hihg = 0.9 }}
"#
    );
    let found = problems(&text);
    let messages: Vec<String> = found.iter().map(|(l, c, m)| format!("{l}:{c}: {m}")).collect();
    assert_eq!(found.len(), 4, "{messages:#?}");
    assert!(
        messages[0]
            .starts_with("8:1: unknown setting `match_treshold` in [link]; did you mean `match_threshold`?")
    );
    assert!(messages[1].starts_with("9:20:") && messages[1].contains("probability"), "{}", messages[1]);
    assert!(messages[2].starts_with("10:13:") && messages[2].contains("unknown blocking key `birthday`"));
    assert!(messages[3].starts_with("13:10:") && messages[3].contains("unknown option `hihg`"));
}

#[test]
fn comparison_overrides_are_checked_against_the_tables() {
    use khop::compare::{ComparisonOverride, Comparisons};
    let table = crate::compare::prepare(
        &["date_of_birth".to_owned(), "full_name".to_owned(), "phone".to_owned()].into_iter().collect(),
        &[("full_name".into(), "Nguyễn Văn An".into())],
    );
    let over = |name: &str, enabled: bool, high: Option<f64>, threshold: Option<f64>| ComparisonOverride {
        name: name.into(),
        enabled,
        high,
        low: None,
        threshold,
    };
    let mut comparisons = Comparisons::default_for(&table, None);
    let before = comparisons.len();
    comparisons.configure(&[over("phone", false, None, None), over("name", true, Some(0.95), None)]).unwrap();
    assert_eq!(comparisons.len(), before - 1);
    assert!(comparisons.comparisons().iter().all(|c| c.name() != "phone"));
    let err = comparisons.configure(&[over("father_name", true, None, None)]).unwrap_err().to_string();
    assert!(err.contains("no comparison `father_name`"), "{err}");
    let err = comparisons.configure(&[over("date_of_birth", true, None, Some(0.9))]).unwrap_err().to_string();
    assert!(err.contains("takes no threshold"), "{err}");
    let err = comparisons.configure(&[over("name", true, None, Some(0.9))]).unwrap_err().to_string();
    assert!(err.contains("takes `high` and `low`"), "{err}");
}
