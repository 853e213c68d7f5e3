//! National identity numbers: the 12-digit personal identification number (CCCD) and the old
//! 9-digit identity card number (CMND).
//!
//! Cleaning removes what clerks and spreadsheets add: spaces, dots, dashes, underscores, a leading
//! apostrophe (Excel's "text" marker) and surrounding quotes. [`classify_id`] reports the shape of
//! the cleaned value as written; [`parse_id`] also restores one leading zero lost when a column was
//! stored as a number (11 digits that become a CCCD with a known province, 8 digits that become a
//! CMND), flagged [`IdFlags::LEADING_ZERO_RESTORED`].
//!
//! A CCCD is laid out `PPP G YY RRRRRR` ([`decode_cccd`]): `PPP` the province where the birth was
//! registered (`0` + the 63-province-era code, table in `engine/data/cccd_provinces.tsv`, or
//! 101..=295 for births registered abroad); `G` century and sex (birth year =
//! `(19 + G div 2) * 100 + YY`; odd `G` is female); `YY` the birth year's last two digits. There is
//! no check digit. Twelve-digit CMNDs issued in 2012-2015 share the layout and decode the same way.
//!
//! A number that disagrees with the record's own date of birth or sex
//! ([`check_id_consistency`]) is a conflict worth reporting, not proof of two people: numbers are
//! cancelled and re-issued after corrections. CMND prefixes name the issuing police (a different
//! table) and are only checked for shape: they are weak keys.

use std::sync::LazyLock;

use super::date::DateOfBirth;
use super::sex::Sex;

/// Shape of an identity number after cleaning separators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdShape {
    /// Twelve digits: CCCD / personal identification number (or a 2012-2015 12-digit CMND).
    Cccd12,
    /// Nine digits: old CMND.
    Cmnd9,
    /// Anything else (letters, other lengths).
    Other,
    /// Nothing but blanks and separators.
    Empty,
}

/// Flags found while parsing or checking an identity number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct IdFlags(u16);

impl IdFlags {
    /// No flag.
    pub const NONE: Self = Self(0);
    /// A leading zero lost by a numeric column was put back.
    pub const LEADING_ZERO_RESTORED: Self = Self(1);
    /// The CCCD province code is neither one of the 63 codes nor 101..=295.
    pub const UNKNOWN_PROVINCE: Self = Self(1 << 1);
    /// The century digit gives a birth year after 2099.
    pub const IMPLAUSIBLE_CENTURY: Self = Self(1 << 2);
    /// The birth year encoded in the CCCD differs from the record's date of birth.
    pub const BIRTH_YEAR_MISMATCH: Self = Self(1 << 3);
    /// The sex encoded in the CCCD differs from the record's sex.
    pub const SEX_MISMATCH: Self = Self(1 << 4);

    /// Whether every flag in `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Sets the flags of `other`.
    pub fn insert(&mut self, other: Self) {
        self.0 |= other.0;
    }

    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Names of the set flags, lower case, for reports and test data.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        const NAMES: [&str; 5] = [
            "leading_zero_restored",
            "unknown_province",
            "implausible_century",
            "birth_year_mismatch",
            "sex_mismatch",
        ];
        NAMES.into_iter().enumerate().filter(move |(i, _)| self.0 & (1 << i) != 0).map(|(_, n)| n)
    }
}

impl std::ops::BitOr for IdFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// What a CCCD number says about its holder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CccdInfo {
    /// The first three digits: province of birth registration, or 101..=295 for abroad.
    pub province_code: u16,
    /// The province's name (63-province era) when the code is one of the 63.
    pub province_name: Option<&'static str>,
    /// Whether the birth was registered abroad (codes 101..=295).
    pub abroad: bool,
    /// The century-and-sex digit `G`.
    pub century_sex_digit: u8,
    /// Sex: even `G` male, odd female.
    pub sex: Sex,
    /// Birth year: `(19 + G div 2) * 100 + YY`.
    pub birth_year: u16,
}

/// A cleaned identity number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NationalId {
    digits: [u8; 12],
    len: u8,
    shape: IdShape,
    flags: IdFlags,
}

impl NationalId {
    /// The cleaned digits (empty for [`IdShape::Other`] and [`IdShape::Empty`]).
    pub fn as_str(&self) -> &str {
        let d = &self.digits[..usize::from(self.len).min(12)];
        std::str::from_utf8(d).unwrap_or_default()
    }

    /// Shape after cleaning (and zero restoration).
    pub fn shape(&self) -> IdShape {
        self.shape
    }

    /// Flags from parsing (province, century, restored zero).
    pub fn flags(&self) -> IdFlags {
        self.flags
    }

    /// The decoded CCCD layout, for 12-digit numbers.
    pub fn cccd(&self) -> Option<CccdInfo> {
        if self.shape == IdShape::Cccd12 { decode_cccd(self.as_str()) } else { None }
    }
}

/// Cleans `s` into at most 12 ASCII digits; `Err(())` for other characters or lengths.
fn clean(s: &str) -> Result<([u8; 12], usize), IdShape> {
    let mut t = s.trim();
    t = t.trim_matches(|c| c == '"' || c == '\'' || c == '`');
    let mut digits = [0u8; 12];
    let mut len = 0usize;
    let mut other = false;
    for c in t.chars() {
        match c {
            '0'..='9' => {
                if len < 12 {
                    digits[len] = c as u8;
                }
                len += 1;
            }
            ' ' | '.' | '-' | '_' | '\u{00A0}' | '\t' => {}
            _ => other = true,
        }
    }
    if other {
        return Err(IdShape::Other);
    }
    if len == 0 {
        return Err(IdShape::Empty);
    }
    if len > 12 {
        return Err(IdShape::Other);
    }
    Ok((digits, len))
}

/// The shape of an identity number as written (separators removed, nothing restored).
pub fn classify_id(s: &str) -> IdShape {
    match clean(s) {
        Ok((_, 12)) => IdShape::Cccd12,
        Ok((_, 9)) => IdShape::Cmnd9,
        Ok(_) => IdShape::Other,
        Err(shape) => shape,
    }
}

/// Cleans and classifies an identity number, restoring a lost leading zero (module docs).
pub fn parse_id(s: &str) -> NationalId {
    let (mut digits, len) = match clean(s) {
        Ok(v) => v,
        Err(shape) => {
            return NationalId { digits: [0; 12], len: 0, shape, flags: IdFlags::NONE };
        }
    };
    let mut flags = IdFlags::NONE;
    let shape = match len {
        12 => IdShape::Cccd12,
        9 => IdShape::Cmnd9,
        // A numeric column drops leading zeros: one for most provinces (0xx), two for the
        // provinces coded 001-009 (Hà Nội, Hà Giang, Cao Bằng, Bắc Kạn, Tuyên Quang).
        10 | 11 | 8 => {
            let mut restored = [b'0'; 12];
            let width = if len == 8 { 9 } else { 12 };
            restored[width - len..width].copy_from_slice(&digits[..len]);
            let ok = len == 8
                || std::str::from_utf8(&restored[..12])
                    .ok()
                    .and_then(decode_cccd)
                    .is_some_and(|i| i.province_name.is_some());
            if ok {
                digits = restored;
                flags.insert(IdFlags::LEADING_ZERO_RESTORED);
                if len == 8 { IdShape::Cmnd9 } else { IdShape::Cccd12 }
            } else {
                IdShape::Other
            }
        }
        _ => IdShape::Other,
    };
    let len = match shape {
        IdShape::Cccd12 => 12,
        IdShape::Cmnd9 => 9,
        _ => 0,
    };
    let mut id = NationalId { digits, len, shape, flags };
    if let Some(info) = id.cccd() {
        if info.province_name.is_none() && !info.abroad {
            id.flags.insert(IdFlags::UNKNOWN_PROVINCE);
        }
        if info.birth_year > 2099 {
            id.flags.insert(IdFlags::IMPLAUSIBLE_CENTURY);
        }
    }
    id
}

/// Decodes a 12-digit CCCD (exactly 12 ASCII digits, already cleaned); `None` otherwise.
pub fn decode_cccd(digits: &str) -> Option<CccdInfo> {
    let b = digits.as_bytes();
    if b.len() != 12 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let d = |i: usize| u16::from(b[i] - b'0');
    let province_code = d(0) * 100 + d(1) * 10 + d(2);
    let g = b[3] - b'0';
    let yy = d(4) * 10 + d(5);
    let abroad = (101..=295).contains(&province_code);
    Some(CccdInfo {
        province_code,
        province_name: province_name(province_code),
        abroad,
        century_sex_digit: g,
        sex: if g.is_multiple_of(2) { Sex::Male } else { Sex::Female },
        birth_year: (19 + u16::from(g / 2)) * 100 + yy,
    })
}

/// Name of a CCCD province code (1..=96, 63-province era); `None` for other codes.
pub fn province_name(code: u16) -> Option<&'static str> {
    PROVINCES.get(usize::from(code)).copied().flatten()
}

const PROVINCES_TSV: &str = include_str!("../../data/cccd_provinces.tsv");

static PROVINCES: LazyLock<[Option<&'static str>; 100]> = LazyLock::new(|| {
    let mut t = [None; 100];
    for line in PROVINCES_TSV.lines() {
        if line.starts_with('#') {
            continue;
        }
        let mut fields = line.split('\t');
        if let (Some(code), Some(name)) = (fields.next(), fields.next())
            && let Ok(code) = code.parse::<usize>()
            && code < t.len()
        {
            t[code] = Some(name);
        }
    }
    t
});

/// Compares a CCCD with the record's own date of birth and sex: [`IdFlags::BIRTH_YEAR_MISMATCH`]
/// when the year is known and differs, [`IdFlags::SEX_MISMATCH`] when the sex is known and
/// differs. Unknown values never conflict.
pub fn check_id_consistency(info: &CccdInfo, dob: &DateOfBirth, sex: Sex) -> IdFlags {
    let mut flags = IdFlags::NONE;
    if let Some(y) = dob.year
        && y != info.birth_year
    {
        flags.insert(IdFlags::BIRTH_YEAR_MISMATCH);
    }
    if sex != Sex::Unknown && sex != info.sex {
        flags.insert(IdFlags::SEX_MISMATCH);
    }
    flags
}
