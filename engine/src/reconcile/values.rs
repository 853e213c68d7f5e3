//! Prepared values written out for people: what the worklist and explanations show.
//!
//! The values are the normalized ones the comparisons read (so that what a clerk sees is what
//! khop compared): names in title case with canonical tone marks, dates in ISO form, sex as
//! `Nam`/`Nữ`, ids as digits, Vietnamese phone numbers in their 10-digit national form,
//! addresses as their administrative units (pre-2025 units followed by the 2025 units they
//! became). Parents' names are kept folded (without accents) when prepared, and shown so.

use super::Field;
use crate::normalize::address::{Codes2025, LegacyCodes, UnitKind};
use crate::normalize::date::DateOfBirth;
use crate::normalize::prepared::{AddressForm, PreparedRecords};

/// A normalized (lower-case) name in title case: `nguyễn văn an` -> `Nguyễn Văn An`.
pub fn display_name(normalized: &str) -> String {
    let mut out = String::with_capacity(normalized.len());
    let mut start = true;
    for c in normalized.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = c == ' ';
    }
    out
}

/// A date of birth from its parts (0 = unknown): `1990-03-05`, `1990-03`, `1990`, or empty.
pub fn display_date(year: u16, month: u8, day: u8) -> String {
    if year == 0 {
        return String::new();
    }
    let date = DateOfBirth {
        year: Some(year),
        month: (month != 0).then_some(month),
        day: (day != 0 && month != 0).then_some(day),
        ..DateOfBirth::UNKNOWN
    };
    date.to_string()
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

fn unit(name: Option<(&'static str, UnitKind)>, out: &mut String) {
    if let Some((name, kind)) = name {
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(kind.as_str());
        out.push(' ');
        out.push_str(name);
    }
}

/// Record `i`'s address as administrative units.
fn address(t: &PreparedRecords, i: usize) -> String {
    let form = t.address_form(i as u32);
    let mut current = String::new();
    let province = t.province().get(i).copied().unwrap_or(0);
    let codes = Codes2025 { province, ward: t.wards_of(i).next() };
    unit(codes.ward_name(), &mut current);
    unit(codes.province_name(), &mut current);
    match form {
        AddressForm::Missing => String::new(),
        AddressForm::Unresolved => "(units not recognized)".to_owned(),
        AddressForm::Y2025 => current,
        AddressForm::Legacy => {
            let legacy = LegacyCodes {
                province: u32::from(t.legacy_province().get(i).copied().unwrap_or(0)),
                district: t.legacy_district().get(i).map(|&d| u32::from(d)).filter(|&d| d != 0),
                ward: t.legacy_ward().get(i).copied().filter(|&w| w != 0),
            };
            let mut out = String::new();
            unit(legacy.ward_name(), &mut out);
            unit(legacy.district_name(), &mut out);
            unit(legacy.province_name(), &mut out);
            if out.is_empty() { current } else { format!("{out} (2025: {current})") }
        }
    }
}

/// A phone in E.164 shown as written in Vietnam: `+84912345678` -> `0912345678`.
fn phone(e164: &str) -> String {
    match e164.strip_prefix("+84") {
        Some(rest) => format!("0{rest}"),
        None => e164.to_owned(),
    }
}

/// Record `i`'s value of `field`, for people; empty when missing.
pub(super) fn display(t: &PreparedRecords, i: u32, field: Field) -> String {
    let i = i as usize;
    match field {
        Field::Name => display_name(text(t.full().get(i))),
        Field::DateOfBirth => display_date(
            t.year().get(i).copied().unwrap_or(0),
            t.month().get(i).copied().unwrap_or(0),
            t.day().get(i).copied().unwrap_or(0),
        ),
        Field::Sex => sex(t.sex().get(i).copied().unwrap_or(0)).to_owned(),
        Field::NationalId => text(t.national_id().get(i)).to_owned(),
        Field::OldId => text(t.old_id().get(i)).to_owned(),
        Field::Phone => phone(text(t.phone().get(i))),
        Field::Address => address(t, i),
        Field::FatherName => display_name(text(t.father_full().get(i))),
        Field::MotherName => display_name(text(t.mother_full().get(i))),
    }
}

/// A prepared sex code (1 male, 2 female) as written on Vietnamese records.
pub(super) fn sex(code: u8) -> &'static str {
    match code {
        1 => "Nam",
        2 => "Nữ",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_as_people_write_them() {
        assert_eq!(display_name("nguyễn văn an"), "Nguyễn Văn An");
        assert_eq!(display_name("đặng thị thuỷ"), "Đặng Thị Thuỷ");
        assert_eq!(display_name(""), "");
        assert_eq!(display_date(1990, 3, 5), "1990-03-05");
        assert_eq!(display_date(1990, 0, 0), "1990");
        assert_eq!(display_date(0, 3, 5), "");
        assert_eq!(phone("+84912345678"), "0912345678");
        assert_eq!(phone("+4930123456"), "+4930123456");
    }
}
