//! One value at a time, for people cleaning data by hand: the normalizers the pipeline applies
//! to every field, and the synthetic population generator (for trying khop without real data).

use std::path::PathBuf;

use khop::normalize::address::parse_address as parse_address_text;
use khop::normalize::date::{DateOptions, DateOrder, parse_date_with};
use khop::normalize::id::{IdShape, parse_id};
use khop::normalize::name::normalize_name as normalize_name_text;
use khop::normalize::sex::Sex;
use pyo3::prelude::*;
use serde_json::{Value, json};

use crate::errors;

/// A name normalized as khop compares it: lower case with canonical tone marks, family name,
/// middle names and given name, their accent-folded forms, phonetic keys and what was noticed
/// (`flags`: typed without accents, keystroke encodings, reordered...).
#[pyfunction]
pub fn normalize_name<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    let n = normalize_name_text(name);
    crate::json(
        py,
        &json!({
            "full": n.full,
            "family": n.family,
            "middle": n.middle,
            "given": n.given,
            "folded_full": n.folded_full,
            "folded_family": n.folded_family,
            "folded_given": n.folded_given,
            "phonetic_full": n.phonetic_full,
            "phonetic_given": n.phonetic_given,
            "flags": n.flags.names().collect::<Vec<_>>(),
        }),
    )
}

/// A date of birth as khop reads it: `year`, `month`, `day` (each `None` when not given or not
/// readable), whether it names a real calendar day, and `flags`. `order` is how numeric dates
/// are written: `"day_first"` (Vietnamese, the default), `"month_first"`, `"year_first"` or
/// `"mrz"`.
#[pyfunction]
#[pyo3(signature = (value, *, order = "day_first"))]
pub fn parse_date<'py>(py: Python<'py>, value: &str, order: &str) -> PyResult<Bound<'py, PyAny>> {
    let order = match order {
        "day_first" => DateOrder::DayFirst,
        "month_first" => DateOrder::MonthFirst,
        "year_first" => DateOrder::YearFirst,
        "mrz" => DateOrder::Mrz,
        other => {
            return Err(errors::invalid(format!(
                "unknown date order `{other}`: expected day_first, month_first, year_first or mrz"
            )));
        }
    };
    let date = parse_date_with(value, DateOptions { order, ..DateOptions::default() });
    crate::json(
        py,
        &json!({
            "year": date.year,
            "month": date.month,
            "day": date.day,
            "valid": date.is_valid_full_date(),
            "flags": date.flags.names().collect::<Vec<_>>(),
        }),
    )
}

/// An identity number cleaned and decoded: the `digits`, its `shape` (`"cccd"`: 12 digits,
/// `"cmnd"`: the old 9 digits, `"other"`, `"empty"`), `flags`, and for a 12-digit number what
/// it says of its holder (`cccd`: province of registration, sex, birth year).
#[pyfunction]
pub fn decode_id<'py>(py: Python<'py>, value: &str) -> PyResult<Bound<'py, PyAny>> {
    let id = parse_id(value);
    let shape = match id.shape() {
        IdShape::Cccd12 => "cccd",
        IdShape::Cmnd9 => "cmnd",
        IdShape::Other => "other",
        IdShape::Empty => "empty",
    };
    let cccd = id.cccd().map(|info| {
        json!({
            "province_code": info.province_code,
            "province_name": info.province_name,
            "abroad": info.abroad,
            "century_sex_digit": info.century_sex_digit,
            "sex": sex_name(info.sex),
            "birth_year": info.birth_year,
        })
    });
    crate::json(
        py,
        &json!({
            "digits": id.as_str(),
            "shape": shape,
            "flags": id.flags().names().collect::<Vec<_>>(),
            "cccd": cccd,
        }),
    )
}

fn sex_name(sex: Sex) -> Option<&'static str> {
    match sex {
        Sex::Male => Some("male"),
        Sex::Female => Some("female"),
        _ => None,
    }
}

/// An address split into its parts as written (`house`, `street`, `hamlet`, `ward`,
/// `district`, `province`), the units it names before the 2025 reorganisation (`old`: codes and
/// names) and since (`new`: the units they became, several when a commune was split), and
/// `flags`.
#[pyfunction]
pub fn parse_address<'py>(py: Python<'py>, address: &str) -> PyResult<Bound<'py, PyAny>> {
    let parsed = parse_address_text(address);
    let name = |unit: Option<(&'static str, khop::normalize::address::UnitKind)>| {
        unit.map(|(name, kind)| format!("{} {name}", kind.as_str()))
    };
    let old = parsed.old.map(|old| {
        json!({
            "province_code": old.province_code(),
            "district_code": old.district_code(),
            "ward_code": old.ward_code(),
            "province": name(old.province_name()),
            "district": name(old.district_name()),
            "ward": name(old.ward_name()),
        })
    });
    let new: Vec<Value> = parsed
        .new
        .iter()
        .map(|unit| {
            json!({
                "province_code": unit.province_code(),
                "ward_code": unit.ward_code(),
                "province": name(unit.province_name()),
                "ward": name(unit.ward_name()),
            })
        })
        .collect();
    crate::json(
        py,
        &json!({
            "house": parsed.house(),
            "street": parsed.street(),
            "hamlet": parsed.hamlet(),
            "ward": parsed.ward(),
            "district": parsed.district(),
            "province": parsed.province(),
            "old": old,
            "new": new,
            "flags": parsed.flags.names().collect::<Vec<_>>(),
        }),
    )
}

/// Writes a synthetic Vietnamese population into the folder `path`: the national table, the
/// sector tables of the profile and the true links (`truth_*.csv`). No real person is in it.
/// `profile` is `"default"`, `"hard"` or another of `khop gen --profile`; `format` is
/// `"parquet"` or `"csv"`. Returns the rows written per table, as a dict.
#[pyfunction]
#[pyo3(signature = (path, *, persons = 10_000, seed = 42, profile = "default", format = "parquet"))]
pub fn generate_population<'py>(
    py: Python<'py>,
    path: PathBuf,
    persons: u64,
    seed: u64,
    profile: &str,
    format: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let profile = khop_datasets::Profile::named(profile).map_err(|e| errors::invalid(e.to_string()))?;
    let format = match format {
        "parquet" => khop_datasets::OutputFormat::Parquet,
        "csv" => khop_datasets::OutputFormat::Csv,
        other => return Err(errors::invalid(format!("unknown format `{other}`: expected parquet or csv"))),
    };
    let options = khop_datasets::GenOptions { persons, seed, format, ..Default::default() };
    let report = py
        .detach(|| khop_datasets::generate(&path, &profile, &options).map_err(|e| e.to_string()))
        .map_err(|e| errors::to_py(khop::Error::from(khop::ErrorKind::InvalidArgument(e))))?;
    let rows: serde_json::Map<String, Value> =
        report.rows.into_iter().map(|(name, rows)| (name, json!(rows))).collect();
    crate::json(py, &json!({"persons": report.persons, "households": report.households, "rows": rows}))
}
