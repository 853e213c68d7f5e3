//! Saved models meeting the data they score: a model of other tables is refused with a clear
//! message wherever a model meets a linker, comparisons in another order are matched by name,
//! the format version is checked, and no model JSON makes khop panic.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use khop::link::linker::{LinkSettings, Linker};
use khop::link::multi::model_for;
use khop::normalize::prepared::PreparedRecords;
use khop::read::Batch;
use khop::reconcile::explain::explain_pair;
use khop::score::{MODEL_FORMAT_VERSION, Model};
use khop::{ColumnSpec, DatasetSpec, Error, ErrorKind, Role};

const PEOPLE: [(&str, &str, &str, &str); 8] = [
    ("Nguyễn Văn An", "03/05/1990", "Nam", "0912345678"),
    ("Trần Thị Bình", "12/11/1985", "Nữ", "0987654321"),
    ("Lê Hữu Cường", "01/01/1970", "Nam", "0903111222"),
    ("Phạm Thị Lan", "28/02/2001", "Nữ", "0978000111"),
    ("Hoàng Minh Quân", "15/07/1995", "Nam", "0911222333"),
    ("Huỳnh Ngọc Mai", "09/09/1999", "Nữ", "0933444555"),
    ("Nguyễn Thị Hoa", "30/04/1975", "Nữ", "0944555666"),
    ("Trần Văn Nam", "02/09/1960", "Nam", "0955666777"),
];

/// A table of the people above with an id and the given roles (of name, date, sex, phone).
pub(crate) fn table(prefix: &str, roles: &[Role], accents: bool) -> PreparedRecords {
    let field = |p: &(&str, &str, &str, &str), role: Role| -> String {
        match role {
            Role::FullName if accents => p.0.to_owned(),
            Role::FullName => khop::normalize::text::fold_accents(p.0),
            Role::DateOfBirth => p.1.to_owned(),
            Role::Sex => p.2.to_owned(),
            _ => p.3.to_owned(),
        }
    };
    let mut columns: Vec<(String, ArrayRef)> = vec![(
        "id".into(),
        Arc::new(StringArray::from_iter_values((0..PEOPLE.len()).map(|i| format!("{prefix}{i}")))),
    )];
    let mut spec = DatasetSpec { id_column: Some("id".into()), columns: Vec::new() };
    for &role in roles {
        let name = role.as_str().to_owned();
        columns.push((
            name.clone(),
            Arc::new(StringArray::from_iter_values(PEOPLE.iter().map(|p| field(p, role)))),
        ));
        spec.columns.push(ColumnSpec::new(&name, role));
    }
    let batch = Batch {
        records: RecordBatch::try_from_iter(columns).unwrap(),
        rows: (1..=PEOPLE.len() as u64).collect(),
        rejects: Vec::new(),
    };
    PreparedRecords::from_batches(&spec, [Ok(batch)]).unwrap()
}

fn settings() -> LinkSettings {
    LinkSettings { random_pairs: 1_000, ..LinkSettings::default() }
}

fn mismatch(e: Error) -> String {
    match e.kind() {
        ErrorKind::ModelMismatch { message } => message.clone(),
        other => panic!("not a model mismatch: {other:?}"),
    }
}

/// A model with distinct parameters per level, so that a model used by position would give
/// other weights.
fn model_of(linker: &Linker<'_>) -> Model {
    let mut model = Model::initial(&linker.specs(), 0.05);
    for (c, comparison) in model.comparisons.iter_mut().enumerate() {
        for (l, level) in comparison.levels.iter_mut().enumerate().skip(1) {
            level.m = (0.9 / (l + c) as f64).min(1.0);
            level.u = 0.01 * (l + 2 * c) as f64;
        }
    }
    model
}

const NAME_DATE_SEX: [Role; 3] = [Role::FullName, Role::DateOfBirth, Role::Sex];
const NAME_DATE_PHONE: [Role; 3] = [Role::FullName, Role::DateOfBirth, Role::Phone];

#[test]
fn a_model_of_other_tables_is_refused_wherever_it_meets_a_linker() {
    let (sector, national) = (table("S", &NAME_DATE_SEX, false), table("N", &NAME_DATE_SEX, true));
    let (other_left, other_right) = (table("A", &NAME_DATE_PHONE, true), table("B", &NAME_DATE_PHONE, true));
    let linker = Linker::new(&sector, &national, settings()).unwrap();
    let other = Linker::new(&other_left, &other_right, settings()).unwrap();
    // Same number of comparisons, other names: it used to be scored by position and panic.
    assert_eq!(linker.specs().len(), other.specs().len());
    let model = Model::from_json(&model_of(&other).to_json()).unwrap();

    let messages = vec![
        mismatch(linker.link(&model).unwrap_err()),
        mismatch(linker.link_with_progress(&model, |_| {}).unwrap_err()),
        mismatch(linker.score_all(&model, |_, _| {}).unwrap_err()),
        mismatch(linker.score_pairs(&model, &[(0, 0)]).unwrap_err()),
        mismatch(linker.contributions(&model, 0, 0).unwrap_err()),
        mismatch(explain_pair(&linker, &model, &sector, &national, 0, 0).unwrap_err()),
        mismatch(model_for(&model, &linker.specs()).unwrap_err()),
    ];
    for message in &messages {
        assert!(message.contains("no comparison `sex`"), "{message}");
    }
    // A model with a comparison the data lacks is refused too, except as a shared model.
    assert!(messages[0].contains("comparison `phone` that the data does not give"), "{}", messages[0]);
    assert!(!messages[6].contains("that the data does not give"), "{}", messages[6]);
}

#[test]
fn comparisons_in_another_order_are_matched_by_name() {
    let (sector, national) = (table("S", &NAME_DATE_SEX, false), table("N", &NAME_DATE_SEX, true));
    let linker = Linker::new(&sector, &national, settings()).unwrap();
    let model = model_of(&linker);
    let mut reordered = model.clone();
    reordered.comparisons.reverse();
    let reordered = Model::from_json(&reordered.to_json()).unwrap();
    assert_ne!(reordered.comparisons[0].spec.name, model.comparisons[0].spec.name);

    let pairs: Vec<(u32, u32)> = (0..8).flat_map(|a| (0..8).map(move |b| (a, b))).collect();
    let expected = linker.score_pairs(&model, &pairs).unwrap();
    assert_eq!(linker.score_pairs(&reordered, &pairs).unwrap(), expected);
    assert_eq!(linker.contributions(&reordered, 2, 2).unwrap(), linker.contributions(&model, 2, 2).unwrap());
    let (a, _) = linker.link(&model).unwrap();
    let (b, _) = linker.link(&reordered).unwrap();
    let decisions = |r: &[khop::link::LinkResult]| {
        r.iter().map(|x| (x.best.map(|c| (c.right, c.weight.to_bits())), x.decision)).collect::<Vec<_>>()
    };
    assert_eq!(decisions(&a), decisions(&b));
    let explained = explain_pair(&linker, &reordered, &sector, &national, 1, 1).unwrap();
    let names: Vec<&str> = explained.comparisons.iter().map(|c| c.comparison.as_str()).collect();
    assert_eq!(names, ["name", "date_of_birth", "sex"]);
    let fitted = linker.fit_model(&reordered).unwrap();
    assert_eq!(*fitted, model);
}

#[test]
fn other_levels_null_levels_and_term_frequency_levels_are_refused() {
    let (sector, national) = (table("S", &NAME_DATE_SEX, false), table("N", &NAME_DATE_SEX, true));
    let linker = Linker::new(&sector, &national, settings()).unwrap();
    let model = model_of(&linker);

    // A level renamed (consistently in the spec and the parameters, so the file itself is sound).
    let mut renamed = model.clone();
    renamed.comparisons[1].spec.levels[1] = "identical".into();
    renamed.comparisons[1].levels[1].name = "identical".into();
    let renamed = Model::from_json(&renamed.to_json()).unwrap();
    let message = mismatch(linker.link(&renamed).unwrap_err());
    assert!(
        message.contains("comparison `date_of_birth` has other levels: level 1 is `identical` in the model, `exact` in the data"),
        "{message}"
    );

    // A level fewer.
    let mut fewer = model.clone();
    fewer.comparisons[2].spec.levels.pop();
    fewer.comparisons[2].levels.pop();
    let message = mismatch(linker.score_pairs(&fewer, &[(0, 0)]).unwrap_err());
    assert!(
        message.contains("comparison `sex` has other levels: 2 levels in the model, 3 in the data"),
        "{message}"
    );

    // Another null level.
    let mut null = model.clone();
    null.comparisons[0].spec.null_level = None;
    let message = mismatch(linker.contributions(&null, 0, 0).unwrap_err());
    assert!(
        message.contains("comparison `name`: the null level is none in the model, 0 in the data"),
        "{message}"
    );

    // A file without `tf_levels` (an older model): the name comparison's levels are not adjusted.
    let json = model.to_json();
    let without: String = {
        let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
        for c in value["comparisons"].as_array_mut().unwrap() {
            c["spec"].as_object_mut().unwrap().remove("tf_levels");
        }
        value.to_string()
    };
    let loaded = Model::from_json(&without).unwrap();
    let message = mismatch(linker.link(&loaded).unwrap_err());
    assert!(
        message
            .contains("comparison `name`: term-frequency levels are [] in the model, [1, 2, 3] in the data"),
        "{message}"
    );
}

#[test]
fn the_format_version_is_written_and_checked() {
    let (sector, national) = (table("S", &NAME_DATE_SEX, false), table("N", &NAME_DATE_SEX, true));
    let linker = Linker::new(&sector, &national, settings()).unwrap();
    let model = model_of(&linker);
    let json = model.to_json();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["version"], MODEL_FORMAT_VERSION);
    assert_eq!(value["format"], "khop-model");
    assert_eq!(Model::from_json(&json).unwrap(), model);

    // Another version: refused as a mismatch, naming both versions.
    let mut v2 = value.clone();
    v2["version"] = serde_json::json!(2);
    let message = mismatch(Model::from_json(&v2.to_string()).unwrap_err());
    assert!(message.contains("format version 2") && message.contains("reads version 1"), "{message}");
    let mut text = value.clone();
    text["version"] = serde_json::json!("1");
    assert!(matches!(
        Model::from_json(&text.to_string()).unwrap_err().kind(),
        ErrorKind::ModelMismatch { .. }
    ));

    // No version: a model saved before versions were recorded, read as version 1.
    let mut old = value.clone();
    old.as_object_mut().unwrap().remove("version");
    old.as_object_mut().unwrap().remove("format");
    assert_eq!(Model::from_json(&old.to_string()).unwrap(), model);

    // Another format.
    let mut other = value;
    other["format"] = serde_json::json!("splink");
    let err = Model::from_json(&other.to_string()).unwrap_err().to_string();
    assert!(err.contains("not a khop model"), "{err}");
}

/// Every model JSON either loads into a model that scores without panicking, or is refused.
fn load_and_use(text: &str, linker: &Linker<'_>) -> bool {
    let Ok(model) = Model::from_json(text) else {
        return false;
    };
    let mut vector = vec![0u8; model.width()];
    for (c, comparison) in model.comparisons.iter().enumerate() {
        vector[c] = (comparison.levels.len() - 1) as u8;
        let _ = model.level_weight(c, vector[c], Some(0.5));
    }
    assert!(model.check_vector(&vector).is_ok());
    assert!(model.match_weight(&vector).is_finite());
    let _ = model.explain(&vector);
    if linker.fit_model(&model).is_ok() {
        assert!(linker.score_pairs(&model, &[(0, 1), (3, 3)]).unwrap().iter().all(|w| w.is_finite()));
    }
    true
}

#[test]
fn no_model_json_makes_khop_panic() {
    let (sector, national) = (table("S", &NAME_DATE_SEX, false), table("N", &NAME_DATE_SEX, true));
    let linker = Linker::new(&sector, &national, settings()).unwrap();
    let json = model_of(&linker).to_json();
    assert!(load_and_use(&json, &linker));

    // Every truncation.
    let cuts = json.char_indices().map(|(i, _)| i).filter(|&i| i < json.len());
    for cut in cuts {
        assert!(!load_and_use(&json[..cut], &linker), "a model cut at byte {cut} was accepted");
    }

    // Hand-made damage, each refused.
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = value.clone();
        f(&mut v);
        v.to_string()
    };
    let bad = [
        edit(&|v| v["prior"] = serde_json::json!(0.0)),
        edit(&|v| v["prior"] = serde_json::json!(1.0)),
        edit(&|v| v["prior"] = serde_json::json!(-3)),
        edit(&|v| v["prior"] = serde_json::json!("0.1")),
        edit(&|v| v["comparisons"][0]["levels"][1]["m"] = serde_json::json!(-0.2)),
        edit(&|v| v["comparisons"][0]["levels"][1]["u"] = serde_json::json!(0.0)),
        edit(&|v| v["comparisons"][0]["levels"][1]["m"] = serde_json::json!(1.5)),
        edit(&|v| v["comparisons"][0]["levels"][1]["u"] = serde_json::Value::Null),
        edit(&|v| v["comparisons"][1]["levels"] = serde_json::json!([])),
        edit(&|v| v["comparisons"][1]["spec"]["levels"] = serde_json::json!([])),
        edit(&|v| {
            v["comparisons"][1]["spec"]["levels"] = serde_json::json!([]);
            v["comparisons"][1]["levels"] = serde_json::json!([]);
        }),
        edit(&|v| v["comparisons"][2]["spec"]["null_level"] = serde_json::json!(7)),
        edit(&|v| v["comparisons"][2]["spec"]["null_level"] = serde_json::json!(300)),
        edit(&|v| v["comparisons"][0]["spec"]["tf_levels"] = serde_json::json!([1, 99])),
        edit(&|v| v["comparisons"][1]["spec"]["name"] = serde_json::json!("name")),
        edit(&|v| v["comparisons"][0]["levels"][2]["name"] = serde_json::json!("renamed")),
        edit(&|v| v["comparisons"] = serde_json::json!([])),
        edit(&|v| v["comparisons"] = serde_json::json!({})),
        edit(&|v| {
            // 300 levels: more than a u8 can number.
            let names: Vec<String> = (0..300).map(|i| format!("l{i}")).collect();
            let params: Vec<serde_json::Value> =
                names.iter().map(|n| serde_json::json!({ "name": n, "m": 0.001, "u": 0.001 })).collect();
            v["comparisons"][0]["spec"]["levels"] = serde_json::json!(names);
            v["comparisons"][0]["levels"] = serde_json::json!(params);
        }),
        json.replace("\"m\": 0.", "\"m\": NaN, \"x\": 0."),
        json.replacen("\"u\": 0.", "\"u\": 1e999, \"x\": 0.", 1),
        "[]".into(),
        "null".into(),
        "\"model\"".into(),
        "{\"prior\": 0.1}".into(),
        "[".repeat(10_000),
    ];
    for (i, text) in bad.iter().enumerate() {
        assert!(!load_and_use(text, &linker), "damaged model {i} was accepted");
    }

    // Bytes changed at random: whatever loads must be usable.
    let mut state = 0x1234_5678_9abc_def1u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = b"0123456789.-e,:[]{}\" null";
    let mut loaded = 0;
    for _ in 0..3_000 {
        let mut bytes = json.clone().into_bytes();
        for _ in 0..1 + next() % 3 {
            let at = (next() % bytes.len() as u64) as usize;
            bytes[at] = alphabet[(next() % alphabet.len() as u64) as usize];
        }
        if let Ok(text) = String::from_utf8(bytes) {
            loaded += usize::from(load_and_use(&text, &linker));
        }
    }
    assert!(loaded > 0, "some changes (a digit of a parameter) leave a valid model");
}

/// A saved model loads back with the same parameters to the last bit: serde_json's default float
/// parser can be one unit in the last place off (the `float_roundtrip` feature is on), which
/// made a model saved by `khop train` score pairs a hair differently from the one trained.
#[test]
fn a_saved_model_loads_back_bit_for_bit() {
    let sector = table("s", &NAME_DATE_PHONE, true);
    let national = table("n", &NAME_DATE_PHONE, false);
    let linker = Linker::new(&sector, &national, settings()).unwrap();
    let mut model = model_of(&linker);
    // Parameters with all 17 significant digits, as EM leaves them.
    for (c, comparison) in model.comparisons.iter_mut().enumerate() {
        for (l, level) in comparison.levels.iter_mut().enumerate() {
            level.m = 0.93 / (3 * l + 3) as f64 + 1e-3 / (c + 7) as f64;
            level.u = (0.0005 + 0.0001 * l as f64) / 7.0 + 1e-9 / (c + 3) as f64;
        }
    }
    model.prior = 0.123_456_789_012_345_67 / 3.0;
    let loaded = Model::from_json(&model.to_json()).unwrap();
    for (a, b) in model.comparisons.iter().zip(&loaded.comparisons) {
        for (x, y) in a.levels.iter().zip(&b.levels) {
            assert_eq!((x.m.to_bits(), x.u.to_bits()), (y.m.to_bits(), y.u.to_bits()));
        }
    }
    assert_eq!(model.prior.to_bits(), loaded.prior.to_bits());
    assert_eq!(loaded, model);
}
