//! Phone numbers: Vietnamese numbers to E.164 (`+84...`).
//!
//! - Separators (spaces, dots, dashes, parentheses) are removed. A field holding several numbers
//!   ("0912 345 678 / 0987 654 321", or separated by `;` or `,`) keeps the first.
//! - Prefixes `+84`, `0084`, `84` (11 or 12 digits) and the trunk `0` are removed to get the
//!   national significant number. Nine digits starting with a mobile digit (3, 5, 7, 8, 9) are a
//!   mobile number whose leading zero was lost in a numeric column
//!   ([`PhoneFlags::LEADING_ZERO_RESTORED`]).
//! - 11-digit mobile numbers from before the 2018 renumbering are converted to 10 digits
//!   ([`PhoneFlags::CONVERTED_11_DIGIT`]): 0162..0169 -> 032..039, 0120 -> 070, 0121 -> 079,
//!   0122 -> 077, 0126 -> 076, 0128 -> 078, 0123 -> 083, 0124 -> 084, 0125 -> 085, 0127 -> 081,
//!   0129 -> 082, 0186 -> 056, 0188 -> 058, 0199 -> 059.
//! - Mobile: 10 digits `0[35789]xxxxxxxx`. Landline: `02` + area code + subscriber, 10 or 11
//!   digits, kept as is. Numbers with another country code are kept in E.164 as
//!   [`PhoneKind::Foreign`]. Everything else is [`PhoneKind::Invalid`].

/// What kind of number a phone field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PhoneKind {
    /// Vietnamese mobile number.
    Mobile,
    /// Vietnamese landline (`02x...`).
    Landline,
    /// A number with a country code other than 84.
    Foreign,
    /// Not a phone number we recognize.
    Invalid,
    /// Blank.
    Empty,
}

/// Repairs made while parsing a phone number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PhoneFlags(u8);

impl PhoneFlags {
    /// No repair.
    pub const NONE: Self = Self(0);
    /// An 11-digit mobile number was converted to its 2018 10-digit form.
    pub const CONVERTED_11_DIGIT: Self = Self(1);
    /// A leading zero lost by a numeric column was assumed.
    pub const LEADING_ZERO_RESTORED: Self = Self(1 << 1);

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
}

/// A parsed phone number; `as_str` is its E.164 form (empty when invalid).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Phone {
    e164: [u8; 16],
    len: u8,
    kind: PhoneKind,
    flags: PhoneFlags,
}

impl Phone {
    /// E.164 form (`+84912345678`), or `""` for [`PhoneKind::Invalid`] and [`PhoneKind::Empty`].
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.e164[..usize::from(self.len).min(16)]).unwrap_or_default()
    }

    /// The kind of number.
    pub fn kind(&self) -> PhoneKind {
        self.kind
    }

    /// Repairs made.
    pub fn flags(&self) -> PhoneFlags {
        self.flags
    }

    fn bad(kind: PhoneKind) -> Self {
        Self { e164: [0; 16], len: 0, kind, flags: PhoneFlags::NONE }
    }
}

/// Old 11-digit mobile prefixes (after the trunk 0: `1xy`) and their 2018 replacements (`z` of
/// `0z..`, two digits).
const CONVERSIONS: [(&[u8; 3], &[u8; 2]); 21] = [
    (b"162", b"32"),
    (b"163", b"33"),
    (b"164", b"34"),
    (b"165", b"35"),
    (b"166", b"36"),
    (b"167", b"37"),
    (b"168", b"38"),
    (b"169", b"39"),
    (b"120", b"70"),
    (b"121", b"79"),
    (b"122", b"77"),
    (b"126", b"76"),
    (b"128", b"78"),
    (b"123", b"83"),
    (b"124", b"84"),
    (b"125", b"85"),
    (b"127", b"81"),
    (b"129", b"82"),
    (b"186", b"56"),
    (b"188", b"58"),
    (b"199", b"59"),
];

/// Parses a phone field. Never fails.
pub fn parse_phone(s: &str) -> Phone {
    let first = s.split([';', ',', '/', '|']).map(str::trim).find(|p| !p.is_empty());
    let Some(first) = first else {
        return Phone::bad(PhoneKind::Empty);
    };
    let mut digits = [0u8; 16];
    let mut len = 0usize;
    let mut plus = false;
    for c in first.chars() {
        match c {
            '0'..='9' => {
                if len >= digits.len() {
                    return Phone::bad(PhoneKind::Invalid);
                }
                digits[len] = c as u8;
                len += 1;
            }
            // A leading plus, also inside brackets ("(+84) 912 345 678").
            '+' if len == 0 && !plus => plus = true,
            ' ' | '.' | '-' | '(' | ')' | '\u{00A0}' | '\t' => {}
            _ => return Phone::bad(PhoneKind::Invalid),
        }
    }
    if len == 0 {
        return Phone::bad(PhoneKind::Invalid);
    }
    let d = &digits[..len];
    let mut flags = PhoneFlags::NONE;
    let nsn: &[u8] = if plus {
        match d.strip_prefix(b"84") {
            Some(rest) => rest.strip_prefix(b"0").unwrap_or(rest),
            None => return foreign(d),
        }
    } else if let Some(rest) = d.strip_prefix(b"0084") {
        rest
    } else if let Some(rest) = d.strip_prefix(b"00") {
        return foreign(rest);
    } else if let Some(rest) = d.strip_prefix(b"0") {
        rest
    } else if (11..=12).contains(&len) && d.starts_with(b"84") {
        &d[2..]
    } else if (len == 9 && matches!(d[0], b'3' | b'5' | b'7' | b'8' | b'9')) || (len == 10 && d[0] == b'1') {
        flags.insert(PhoneFlags::LEADING_ZERO_RESTORED);
        d
    } else {
        return Phone::bad(PhoneKind::Invalid);
    };
    let mut buf = [0u8; 16];
    let mut nsn = nsn;
    if nsn.len() == 10 && nsn[0] == b'1' {
        let Some((_, new)) = CONVERSIONS.iter().find(|(old, _)| nsn.starts_with(&old[..])) else {
            return Phone::bad(PhoneKind::Invalid);
        };
        buf[..2].copy_from_slice(&new[..]);
        buf[2..9].copy_from_slice(&nsn[3..10]);
        nsn = &buf[..9];
        flags.insert(PhoneFlags::CONVERTED_11_DIGIT);
    }
    let kind = match (nsn.len(), nsn.first()) {
        (9, Some(b'3' | b'5' | b'7' | b'8' | b'9')) => PhoneKind::Mobile,
        (9 | 10, Some(b'2')) => PhoneKind::Landline,
        _ => return Phone::bad(PhoneKind::Invalid),
    };
    let mut e164 = [0u8; 16];
    e164[..3].copy_from_slice(b"+84");
    e164[3..3 + nsn.len()].copy_from_slice(nsn);
    Phone { e164, len: (3 + nsn.len()) as u8, kind, flags }
}

/// A number with a foreign country code (digits after `+` or `00`), kept in E.164.
fn foreign(d: &[u8]) -> Phone {
    if !(7..=15).contains(&d.len()) || d[0] == b'0' {
        return Phone::bad(PhoneKind::Invalid);
    }
    let mut e164 = [0u8; 16];
    e164[0] = b'+';
    e164[1..=d.len()].copy_from_slice(d);
    Phone { e164, len: (d.len() + 1) as u8, kind: PhoneKind::Foreign, flags: PhoneFlags::NONE }
}

/// Writes the E.164 form of a phone field into `out` (cleared first; empty when invalid) and
/// returns its kind.
pub fn normalize_phone_into(s: &str, out: &mut String) -> PhoneKind {
    let p = parse_phone(s);
    out.clear();
    out.push_str(p.as_str());
    p.kind()
}
