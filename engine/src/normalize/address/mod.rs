//! Vietnamese addresses: parsing free text into parts and resolving the
//! administrative units to official codes.
//!
//! Two schemes of units coexist in every database: the units in force before
//! 1 July 2025 (63 provinces, districts, about 10,000 wards) and those in force
//! since (34 provinces, no districts, 3,321 wards). Codes were reused with new
//! meanings, so a code is only meaningful with its scheme: [`LegacyCodes`]
//! holds pre-2025 codes, [`Codes2025`] codes of the 2025 scheme. A legacy
//! commune split across several new ones maps to several [`Codes2025`].
//!
//! Unit names repeat ("Phường 1" exists in dozens of districts), so names are
//! only resolved within their province (and district, for legacy data); when
//! the text does not settle which unit is meant, the parser says so in
//! [`AddressFlags`] instead of guessing.
//!
//! ```
//! use khop::normalize::address::{AddressFlags, parse_address};
//!
//! let a = parse_address("123/45/6 Nguyễn Trãi, P.2, Q.5, TP.HCM");
//! assert_eq!(a.house(), Some("123/45/6"));
//! assert_eq!(a.street(), Some("Nguyễn Trãi"));
//! let old = a.old.unwrap();
//! assert_eq!((old.province, old.district), (79, Some(774)));
//! assert!(!a.new.is_empty());
//! assert!(!a.flags.contains(AddressFlags::AMBIGUOUS_WARD));
//! ```

mod fold;
mod parse;
mod units;

use std::fmt;
use std::sync::LazyLock;

pub use units::UnitKind;

use units::TABLES;

/// Codes of a unit in the scheme in force before 1 July 2025.
///
/// Codes are the official numeric codes (province 2 digits, district 3, ward 5
/// when written); use [`LegacyCodes::ward_code`] and friends for the written
/// form.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct LegacyCodes {
    /// Province code (pre-2025 scheme).
    pub province: u32,
    /// District code, when the district is known.
    pub district: Option<u32>,
    /// Ward (commune) code, when the ward is known.
    pub ward: Option<u32>,
}

/// Codes of a unit in the scheme in force since 1 July 2025 (no districts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Codes2025 {
    /// Province code (2025 scheme).
    pub province: u32,
    /// Ward (commune) code, when the ward is known.
    pub ward: Option<u32>,
}

/// Which set of units a code belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Units in force before 1 July 2025.
    Legacy,
    /// Units in force since 1 July 2025.
    Y2025,
}

impl LegacyCodes {
    /// The scheme of these codes.
    pub const SCHEME: Scheme = Scheme::Legacy;

    /// The province code as written (2 digits).
    pub fn province_code(&self) -> String {
        format!("{:02}", self.province)
    }

    /// The district code as written (3 digits).
    pub fn district_code(&self) -> Option<String> {
        self.district.map(|d| format!("{d:03}"))
    }

    /// The ward code as written (5 digits).
    pub fn ward_code(&self) -> Option<String> {
        self.ward.map(|w| format!("{w:05}"))
    }

    /// The province's name and kind, e.g. ("Hồ Chí Minh", Thành phố).
    pub fn province_name(&self) -> Option<(&'static str, UnitKind)> {
        let t = &*TABLES;
        let i = *t.legacy_province_by_code.get(&self.province)?;
        t.legacy_provinces.get(i as usize).map(|u| (u.name, u.kind))
    }

    /// The district's name and kind.
    pub fn district_name(&self) -> Option<(&'static str, UnitKind)> {
        let t = &*TABLES;
        let i = *t.legacy_district_by_code.get(&self.district?)?;
        t.legacy_districts.get(i as usize).map(|u| (u.name, u.kind))
    }

    /// The ward's name and kind.
    pub fn ward_name(&self) -> Option<(&'static str, UnitKind)> {
        let t = &*TABLES;
        let i = *t.legacy_ward_by_code.get(&self.ward?)?;
        t.legacy_wards.get(i as usize).map(|u| (u.name, u.kind))
    }
}

impl Codes2025 {
    /// The scheme of these codes.
    pub const SCHEME: Scheme = Scheme::Y2025;

    /// The province code as written (2 digits).
    pub fn province_code(&self) -> String {
        format!("{:02}", self.province)
    }

    /// The ward code as written (5 digits).
    pub fn ward_code(&self) -> Option<String> {
        self.ward.map(|w| format!("{w:05}"))
    }

    /// The province's name and kind.
    pub fn province_name(&self) -> Option<(&'static str, UnitKind)> {
        let t = &*TABLES;
        let i = *t.province_by_code.get(&self.province)?;
        t.provinces.get(i as usize).map(|u| (u.name, u.kind))
    }

    /// The ward's name and kind.
    pub fn ward_name(&self) -> Option<(&'static str, UnitKind)> {
        let t = &*TABLES;
        let i = *t.ward_by_code.get(&self.ward?)?;
        t.wards.get(i as usize).map(|u| (u.name, u.kind))
    }
}

/// What the parser noticed about an address: ambiguities, gaps, hints.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct AddressFlags(u32);

impl AddressFlags {
    /// No letters or digits in the input.
    pub const EMPTY: Self = Self(1);
    /// No province named in the text (see also [`Self::PROVINCE_INFERRED`]).
    pub const PROVINCE_UNKNOWN: Self = Self(1 << 1);
    /// No province named, but the district (found in one province only) or
    /// the ward settles it.
    pub const PROVINCE_INFERRED: Self = Self(1 << 2);
    /// The province name matches several provinces.
    pub const AMBIGUOUS_PROVINCE: Self = Self(1 << 3);
    /// The district name matches several districts of the province.
    pub const AMBIGUOUS_DISTRICT: Self = Self(1 << 4);
    /// The ward name matches several wards in the scope given (typically
    /// "Phường 1" with no district): no ward code is reported.
    pub const AMBIGUOUS_WARD: Self = Self(1 << 5);
    /// The legacy ward was split across several 2025 wards: `new` lists them
    /// all, the reference data's default first.
    pub const SPLIT: Self = Self(1 << 6);
    /// A district or ward was recognized by a former name.
    pub const FORMER_NAME: Self = Self(1 << 7);
    /// Read as a pre-2025 address and as a 2025 one, the ward resolves to
    /// units that disagree; `old` holds the first reading, `new` the second.
    pub const SCHEME_CONFLICT: Self = Self(1 << 8);
    /// Legacy units named under a 2025 province they were merged into (e.g.
    /// a Bình Dương district followed by "TP Hồ Chí Minh").
    pub const MIXED_SCHEMES: Self = Self(1 << 9);
    /// The street part names an alley (ngõ, ngách, hẻm, kiệt) or the house
    /// number has alley parts (123/45/6).
    pub const ALLEY: Self = Self(1 << 10);
    /// A ward was marked (Phường, Xã, ...) but its name is not in the
    /// province's or district's list.
    pub const WARD_UNKNOWN: Self = Self(1 << 11);
    /// A district was marked (Quận, Huyện, ...) but its name is not in the
    /// province's list.
    pub const DISTRICT_UNKNOWN: Self = Self(1 << 12);

    const NAMES: [(Self, &'static str); 13] = [
        (Self::EMPTY, "EMPTY"),
        (Self::PROVINCE_UNKNOWN, "PROVINCE_UNKNOWN"),
        (Self::PROVINCE_INFERRED, "PROVINCE_INFERRED"),
        (Self::AMBIGUOUS_PROVINCE, "AMBIGUOUS_PROVINCE"),
        (Self::AMBIGUOUS_DISTRICT, "AMBIGUOUS_DISTRICT"),
        (Self::AMBIGUOUS_WARD, "AMBIGUOUS_WARD"),
        (Self::SPLIT, "SPLIT"),
        (Self::FORMER_NAME, "FORMER_NAME"),
        (Self::SCHEME_CONFLICT, "SCHEME_CONFLICT"),
        (Self::MIXED_SCHEMES, "MIXED_SCHEMES"),
        (Self::ALLEY, "ALLEY"),
        (Self::WARD_UNKNOWN, "WARD_UNKNOWN"),
        (Self::DISTRICT_UNKNOWN, "DISTRICT_UNKNOWN"),
    ];

    /// No flag set.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The flags as bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Sets the flags of `other`.
    pub fn insert(&mut self, other: Self) {
        self.0 |= other.0;
    }

    /// The flag named `name` (as in its constant), if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMES.iter().find(|(_, n)| *n == name).map(|(f, _)| *f)
    }

    /// Names of the flags set.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES.into_iter().filter(move |(f, _)| self.contains(*f)).map(|(_, n)| n)
    }
}

impl std::ops::BitOr for AddressFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl fmt::Debug for AddressFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.names()).finish()
    }
}

/// Byte range of a part in [`ParsedAddress`]'s text buffer.
type Span = Option<(u32, u32)>;

/// A parsed and resolved address. Reuse one across calls to
/// [`parse_address_into`] to avoid allocating per address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedAddress {
    /// The raw parts, copied from the input, one after another.
    text: String,
    house: Span,
    street: Span,
    hamlet: Span,
    ward: Span,
    district: Span,
    province: Span,
    /// The units read as a pre-2025 address, when the text names legacy units.
    pub old: Option<LegacyCodes>,
    /// The units in force since 1 July 2025: the units named, or the units the
    /// legacy ones became (several when a commune was split, the default
    /// first; several provinces only with [`AddressFlags::AMBIGUOUS_PROVINCE`]).
    pub new: Vec<Codes2025>,
    /// What the parser noticed.
    pub flags: AddressFlags,
}

impl ParsedAddress {
    fn part(&self, span: Span) -> Option<&str> {
        let (a, b) = span?;
        self.text.get(a as usize..b as usize)
    }

    /// House number as written ("123/45/6", "12A").
    pub fn house(&self) -> Option<&str> {
        self.part(self.house)
    }

    /// Street, with any alley (ngõ, ngách, hẻm) and building, as written.
    pub fn street(&self) -> Option<&str> {
        self.part(self.street)
    }

    /// Hamlet or residential group (thôn, xóm, ấp, bản, buôn, tổ dân phố,
    /// khu phố, tổ) with its marker, as written.
    pub fn hamlet(&self) -> Option<&str> {
        self.part(self.hamlet)
    }

    /// Ward or commune with its marker, as written ("P.1", "Xã Tân Hà").
    pub fn ward(&self) -> Option<&str> {
        self.part(self.ward)
    }

    /// District with its marker, as written ("Q1", "Huyện Lâm Hà").
    pub fn district(&self) -> Option<&str> {
        self.part(self.district)
    }

    /// Province with its marker, as written ("TP.HCM").
    pub fn province(&self) -> Option<&str> {
        self.part(self.province)
    }

    fn clear(&mut self) {
        self.text.clear();
        self.house = None;
        self.street = None;
        self.hamlet = None;
        self.ward = None;
        self.district = None;
        self.province = None;
        self.old = None;
        self.new.clear();
        self.flags = AddressFlags::empty();
    }

    fn set_part(&mut self, which: Part, raw: &str) {
        let a = self.text.len() as u32;
        self.text.push_str(raw);
        let span = Some((a, self.text.len() as u32));
        match which {
            Part::House => self.house = span,
            Part::Street => self.street = span,
            Part::Hamlet => self.hamlet = span,
            Part::Ward => self.ward = span,
            Part::District => self.district = span,
            Part::Province => self.province = span,
        }
    }
}

#[derive(Clone, Copy)]
enum Part {
    House,
    Street,
    Hamlet,
    Ward,
    District,
    Province,
}

/// Reusable working memory for [`parse_address_into`].
#[derive(Clone, Debug, Default)]
pub struct AddressScratch {
    decoded: String,
    folded: String,
    tokens: Vec<fold::Token>,
    key: Vec<u8>,
    scopes: Vec<(u8, u32)>,
    hits: Vec<(u32, u32)>,
    fallback: Vec<(u32, u32)>,
    legacy_provinces: Vec<u32>,
    provinces: Vec<u32>,
    legacy_scope: Vec<u32>,
    districts: Vec<u32>,
    legacy_wards: Vec<u32>,
    wards: Vec<u32>,
}

/// Parses and resolves `input` into `out`, reusing `scratch` and `out`'s
/// buffers. Never panics; dirty input yields empty parts and flags. Text in a
/// legacy 8-bit encoding read as Latin-1 (TCVN3, VNI; see
/// [`detect_legacy_encoding`](super::text::detect_legacy_encoding)) is
/// decoded first, and its parts are returned decoded.
pub fn parse_address_into(input: &str, scratch: &mut AddressScratch, out: &mut ParsedAddress) {
    out.clear();
    match super::text::detect_legacy_encoding(input) {
        Some(encoding) => {
            let mut decoded = std::mem::take(&mut scratch.decoded);
            super::text::decode_legacy_into(input, encoding, &mut decoded);
            parse::parse(&decoded, scratch, out);
            scratch.decoded = decoded;
        }
        None => parse::parse(input, scratch, out),
    }
}

/// Parses and resolves `input`. Convenient; for many addresses prefer
/// [`parse_address_into`].
pub fn parse_address(input: &str) -> ParsedAddress {
    let mut out = ParsedAddress::default();
    parse_address_into(input, &mut AddressScratch::default(), &mut out);
    out
}

/// Forces the reference tables to load now rather than on first parse (they
/// take a few milliseconds to index).
pub fn load_reference_data() {
    LazyLock::force(&TABLES);
}
