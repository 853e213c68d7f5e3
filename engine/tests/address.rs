//! Address parsing and resolution: table-driven cases from
//! `testdata/normalize/addresses.toml`, and properties.

use khop::normalize::address::{
    AddressFlags, AddressScratch, ParsedAddress, parse_address, parse_address_into,
};
use khop::normalize::text::{decode_legacy_into, detect_legacy_encoding};
use proptest::prelude::*;
use toml_edit::{DocumentMut, Item, Table};

const CASES: &str = include_str!("../testdata/normalize/addresses.toml");

fn str_field<'a>(case: &'a Table, key: &str) -> Option<&'a str> {
    case.get(key).and_then(Item::as_str)
}

fn str_list(case: &Table, key: &str) -> Option<Vec<String>> {
    let arr = case.get(key)?.as_array()?;
    Some(arr.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
}

fn old_codes(a: &ParsedAddress) -> String {
    match a.old {
        None => String::new(),
        Some(o) => {
            let mut s = o.province_code();
            if let Some(d) = o.district_code() {
                s = format!("{s}/{d}");
                if let Some(w) = o.ward_code() {
                    s = format!("{s}/{w}");
                }
            }
            s
        }
    }
}

fn new_codes(a: &ParsedAddress) -> Vec<String> {
    a.new
        .iter()
        .map(|c| match c.ward_code() {
            Some(w) => format!("{}/{w}", c.province_code()),
            None => c.province_code(),
        })
        .collect()
}

/// Checks one case; returns the mismatches.
fn check(case: &Table, a: &ParsedAddress) -> Vec<String> {
    let mut errors = Vec::new();
    let parts: [(&str, Option<&str>); 6] = [
        ("house", a.house()),
        ("street", a.street()),
        ("hamlet", a.hamlet()),
        ("ward", a.ward()),
        ("district", a.district()),
        ("province", a.province()),
    ];
    for (key, got) in parts {
        if let Some(want) = str_field(case, key) {
            let want = (!want.is_empty()).then_some(want);
            if got != want {
                errors.push(format!("{key}: want {want:?}, got {got:?}"));
            }
        }
    }
    if let Some(want) = str_field(case, "old") {
        let got = old_codes(a);
        if got != want {
            errors.push(format!("old: want {want:?}, got {got:?}"));
        }
    }
    if let Some(want) = str_list(case, "new") {
        let got = new_codes(a);
        if got != want {
            errors.push(format!("new: want {want:?}, got {got:?}"));
        }
    }
    for (key, must) in [("flags", true), ("no_flags", false)] {
        for name in str_list(case, key).unwrap_or_default() {
            match AddressFlags::from_name(&name) {
                Some(f) if a.flags.contains(f) != must => {
                    errors.push(format!("flag {name} should be {}", if must { "set" } else { "unset" }))
                }
                Some(_) => {}
                None => errors.push(format!("unknown flag {name}")),
            }
        }
    }
    if let Some(want) = str_field(case, "old_ward_name") {
        let got = a.old.and_then(|o| o.ward_name()).map(|(n, _)| n);
        if got != Some(want) {
            errors.push(format!("old_ward_name: want {want:?}, got {got:?}"));
        }
    }
    if let Some(want) = str_field(case, "new_ward_name") {
        let got = a.new.first().and_then(|c| c.ward_name()).map(|(n, _)| n);
        if got != Some(want) {
            errors.push(format!("new_ward_name: want {want:?}, got {got:?}"));
        }
    }
    errors
}

#[test]
fn table_driven_cases() {
    let doc: DocumentMut = CASES.parse().expect("addresses.toml parses");
    let cases = doc["case"].as_array_of_tables().expect("[[case]] tables");
    assert!(cases.len() >= 30, "expected the full case list");
    let mut scratch = AddressScratch::default();
    let mut reused = ParsedAddress::default();
    let mut failures = Vec::new();
    for case in cases.iter() {
        let name = str_field(case, "name").unwrap_or("?");
        let input = str_field(case, "input").expect("input");
        let a = parse_address(input);
        // The reusing API gives the same answer, whatever came before.
        parse_address_into(input, &mut scratch, &mut reused);
        if reused != a {
            failures.push(format!("{name}: parse_address_into differs from parse_address"));
        }
        for e in check(case, &a) {
            failures.push(format!("{name} ({input:?}): {e}\n    parsed: {a:?}"));
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

proptest! {
    #[test]
    fn never_panics_and_is_deterministic(s in "\\PC{0,80}") {
        let a = parse_address(&s);
        let b = parse_address(&s);
        prop_assert_eq!(&a, &b);
        // Raw parts are pieces of the input (decoded, when it is in a legacy encoding).
        let mut text = s.clone();
        if let Some(encoding) = detect_legacy_encoding(&s) {
            decode_legacy_into(&s, encoding, &mut text);
        }
        for part in [a.house(), a.street(), a.hamlet(), a.ward(), a.district(), a.province()]
            .into_iter()
            .flatten()
        {
            prop_assert!(text.contains(part));
        }
    }

    #[test]
    fn address_like_input_never_panics(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("Phường"), Just("P."), Just("Q1"), Just("F"), Just("Quận"), Just("Huyện"),
                Just("TP.HCM"), Just("Hà Nội"), Just("Xã"), Just(","), Just("1"), Just("01"),
                Just("123/45/6"), Just("Thôn"), Just("Tổ dân phố"), Just("Bình Dương"),
                Just("Việt Nam"), Just("-"), Just("/"), Just("Ba Đình"), Just("Thủ Đức"),
                Just("e\u{301}"), Just("đ"), Just("thanh pho"), Just("tp"),
            ],
            0..16,
        )
    ) {
        let s = parts.join(" ");
        let mut scratch = AddressScratch::default();
        let mut out = ParsedAddress::default();
        parse_address_into(&s, &mut scratch, &mut out);
        prop_assert_eq!(&out, &parse_address(&s));
    }
}

fn kind_word(kind: &str) -> &'static str {
    match kind {
        "T" => "Tỉnh",
        "TP" => "Thành phố",
        "Q" => "Quận",
        "H" => "Huyện",
        "TX" => "Thị xã",
        "P" => "Phường",
        "X" => "Xã",
        "TT" => "Thị trấn",
        "DK" => "Đặc khu",
        _ => "",
    }
}

fn rows(tsv: &str) -> impl Iterator<Item = Vec<&str>> {
    tsv.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).map(|l| l.split('\t').collect())
}

/// Every unit of the reference data, written out in full, resolves to its
/// own code: names are qualified enough, and the parser finds them.
#[test]
fn every_reference_ward_resolves_to_itself() {
    let legacy = include_str!("../data/admin/legacy.tsv");
    let current = include_str!("../data/admin/current.tsv");
    let mut scratch = AddressScratch::default();
    let mut out = ParsedAddress::default();
    let mut failures = Vec::new();
    let mut total = 0;
    let (mut province, mut district) = (("", ""), ("", ""));
    for r in rows(legacy) {
        match r[0].len() {
            2 => province = (r[1], r[2]),
            3 => district = (r[1], r[2]),
            _ => {
                total += 1;
                let input = format!(
                    "1 Lê Lợi, {} {}, {} {}, {} {}",
                    kind_word(r[1]),
                    r[2],
                    kind_word(district.0),
                    district.1,
                    kind_word(province.0),
                    province.1
                );
                parse_address_into(&input, &mut scratch, &mut out);
                if out.old.and_then(|o| o.ward_code()).as_deref() != Some(r[0]) {
                    failures.push(format!("{input}: {:?} {:?}", out.old, out.flags));
                }
            }
        }
    }
    for r in rows(current) {
        match r[0].len() {
            2 => province = (r[1], r[2]),
            _ => {
                total += 1;
                let input = format!("{} {}, {} {}", kind_word(r[1]), r[2], kind_word(province.0), province.1);
                parse_address_into(&input, &mut scratch, &mut out);
                let got: Vec<_> = out.new.iter().filter_map(|c| c.ward_code()).collect();
                if got != [r[0]] {
                    failures.push(format!("{input}: {:?} {:?}", out.new, out.flags));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} reference units do not resolve to themselves:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
