//! `config check` finds every problem of the `[link]` section and of the column roles before any
//! file is read: crossed thresholds, unknown comparisons and blocking columns, a role given to
//! two columns of one input. Each with its line and column, all at once.

use std::path::Path;

use khop::ErrorKind;
use khop::config::Config;

/// The line and column (1-based, in characters) of the first `needle` in `text`, after `after`.
fn at(text: &str, after: &str, needle: &str) -> (usize, usize) {
    let start =
        text.find(after).expect("anchor") + text[text.find(after).unwrap()..].find(needle).expect("needle");
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap().chars().count() + 1;
    (line, column)
}

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

const ALL_AT_ONCE: &str = r#"[[input]]
name = "national"
path = "national.csv"
[input.columns]
ho_ten = "full_name"
ten = "full_name"
ngay_sinh = "date_of_birth"
ma_bc = "number"

[link]
match_threshold = 0.3
blocking = [["family_name"], ["column:postcod"], ["column:ho_ten"]]

[link.comparisons]
name = { high = 0.5, low = 0.9 }
nmae = false
phone = false
date_of_birth = { threshold = 0.9 }
ma_bc = { high = 0.9 }
"#;

fn expected_all(text: &str) -> Vec<(usize, usize, String)> {
    let e = |(line, column): (usize, usize), message: &str| (line, column, message.to_owned());
    vec![
        e(
            at(text, "\nten = ", "\"full_name\""),
            "columns `ho_ten` and `ten` both have the role `full_name`; one column per input may have it",
        ),
        e(
            at(text, "match_threshold", "0.3"),
            "`match_threshold` (0.3) is below the default `review_threshold` (0.5); set `review_threshold` too",
        ),
        e(
            at(text, "blocking", "\"column:postcod\""),
            "blocking key `column:postcod`: no input has such a column (columns to block on: ma_bc)",
        ),
        e(
            at(text, "blocking", "\"column:ho_ten\""),
            "blocking key `column:ho_ten`: the column has the role `full_name`, whose values are blocked on by \
             their own keys; `column:` takes a column of role text, number, email, house_number or street",
        ),
        e(at(text, "name = {", "0.9"), "comparison `name`: `low` (0.9) is above `high` (0.5)"),
        e(
            at(text, "nmae", "nmae"),
            "unknown comparison `nmae` (did you mean `name`? comparisons: name, date_of_birth, national_id, \
             old_id, cccd_consistency, sex, phone, address, father_name, mother_name, ma_bc)",
        ),
        e(
            at(text, "phone = false", "phone"),
            "comparison `phone`: no input has a column with the role `phone`",
        ),
        e(
            at(text, "date_of_birth = {", "0.9"),
            "comparison `date_of_birth` takes no threshold, not `threshold`",
        ),
        e(at(text, "ma_bc = {", "0.9"), "comparison `ma_bc` takes `threshold`, not `high`"),
    ]
}

#[test]
fn every_link_and_role_problem_is_reported_at_once() {
    assert_eq!(problems(ALL_AT_ONCE), expected_all(ALL_AT_ONCE));
}

#[test]
fn from_file_reports_them_before_reading_any_input() {
    // The input file does not exist: the configuration's own problems come first, with the file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("khop.toml");
    std::fs::write(&path, ALL_AT_ONCE).unwrap();
    let error = Config::from_file(&path).unwrap_err();
    let ErrorKind::Config(diagnostics) = error.kind() else { panic!("{error}") };
    assert_eq!(diagnostics.file.as_deref(), Some(path.as_path()));
    let found: Vec<(usize, usize, String)> =
        diagnostics.items.iter().map(|i| (i.position.line, i.position.column, i.message.clone())).collect();
    assert_eq!(found, expected_all(ALL_AT_ONCE));
    assert!(!error.to_string().contains("national.csv"), "no file was opened: {error}");
}

const INPUT: &str = r#"[[input]]
path = "a.csv"
[input.columns]
ho_ten = "full_name"
ngay_sinh = "date_of_birth"
"#;

#[test]
fn thresholds_are_checked_against_each_other_and_the_defaults() {
    let cases = [
        (
            "match_threshold = 0.6\nreview_threshold = 0.7",
            "review_threshold",
            "`review_threshold` (0.7) is above `match_threshold` (0.6)",
        ),
        (
            "review_threshold = 0.95",
            "review_threshold",
            "`review_threshold` (0.95) is above the default `match_threshold` (0.9); set `match_threshold` too",
        ),
        (
            "match_threshold = 0.4",
            "match_threshold",
            "`match_threshold` (0.4) is below the default `review_threshold` (0.5); set `review_threshold` too",
        ),
        (
            "ambiguity_margin = inf",
            "ambiguity_margin",
            "`ambiguity_margin` must be a number of bits, 0 or more",
        ),
        (
            "ambiguity_margin = nan",
            "ambiguity_margin",
            "`ambiguity_margin` must be a number of bits, 0 or more",
        ),
        (
            "clear_margin = -1",
            "clear_margin",
            "`clear_margin` must be a number of bits, 0 or more, or false (off)",
        ),
        (
            "clear_margin = true",
            "clear_margin",
            "`clear_margin` must be a number of bits, 0 or more, or false (off)",
        ),
        (
            "match_threshold = nan",
            "match_threshold",
            "`match_threshold` must be a probability between 0.0 and 1.0",
        ),
    ];
    for (link, key, message) in cases {
        let text = format!("{INPUT}[link]\n{link}\n");
        let (line, _) = at(&text, key, key);
        let value = at(&text, key, "= ");
        assert_eq!(problems(&text), [(line, value.1 + 2, message.to_owned())], "{link}");
    }
    // Consistent thresholds, given alone or together, pass.
    for link in
        ["match_threshold = 0.6", "review_threshold = 0.2", "match_threshold = 0.6\nreview_threshold = 0.6"]
    {
        assert!(Config::parse(&format!("{INPUT}[link]\n{link}\n"), Path::new("/data")).is_ok(), "{link}");
    }
}

#[test]
fn names_the_inputs_hold_are_accepted() {
    // A comparison and a blocking column of a generic column named in another case, a unit
    // column of an input without an address, a role repeated where it may be.
    let text = r#"[[input]]
path = "a.csv"
[input.columns]
ho_ten = "full_name"
MaBC = "number"
ghi_chu = "text"
ghi_chu_2 = "text"
tinh = "province"

[[input]]
path = "b.csv"
[input.columns]
ho_ten = "full_name"
sdt = "phone"

[link]
blocking = [["column:mabc", "family_name"], ["column:TINH"]]

[link.comparisons]
mabc = { threshold = 0.8 }
tinh = false
phone = false
name = { high = 0.95 }
"#;
    let config = Config::parse(text, Path::new("/data")).unwrap();
    assert_eq!(config.link.comparisons.len(), 4);
}

#[test]
fn init_leaves_a_second_column_of_a_role_for_a_person() {
    use khop::Role;
    use khop::config::detect::{DetectedColumn, Detection};
    use khop::config::{InitInput, render_config};
    use khop::read::{Format, TextEncoding};

    let column = |name: &str, role: Option<Role>| DetectedColumn {
        name: name.into(),
        role,
        evidence: "header".into(),
    };
    let detection = Detection {
        columns: vec![
            column("ho_ten", Some(Role::FullName)),
            column("sdt", Some(Role::Phone)),
            column("sdt_2", Some(Role::Phone)),
            column("ghi_chu", Some(Role::Text)),
            column("ghi_chu_2", Some(Role::Text)),
        ],
        id_column: None,
        encoding: None,
        delimiter: None,
    };
    let input = InitInput {
        path: "a.csv".into(),
        format: Format::Csv,
        detection,
        encoding: TextEncoding::Auto,
        delimiter: Some(b','),
    };
    let text = render_config(&[input]);
    assert!(text.contains("\n# sdt_2 = \"phone\"  # also detected as"), "{text}");
    assert!(text.contains("which `sdt` has: only one column may"), "{text}");
    let config = Config::parse(&text, Path::new("/data")).unwrap();
    let names: Vec<&str> = config.inputs[0].dataset.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["ho_ten", "sdt", "ghi_chu", "ghi_chu_2"]);
}
