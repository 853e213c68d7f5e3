//! Sex: the many spellings of a sex field folded to one enum.
//!
//! Accepted spellings (case, accents, surrounding spaces and punctuation ignored, legacy encodings
//! converted):
//! - male: `Nam`, `nam giới`, `trai`, `con trai`, `M`, `male`, `man`, `boy`, `đực`;
//! - female: `Nữ`, `Nu`, `nữ giới`, `gái`, `con gái`, `F`, `female`, `woman`, `girl`, `cái`;
//! - digits: see [`NumericSex`]. The default, [`NumericSex::OneMale`], reads `1` as male and `0`
//!   as female, the usual "is male" column of sector spreadsheets. Files that follow the CCCD
//!   century-and-sex digit (even = male, odd = female) or ISO/IEC 5218 (1 male, 2 female) are read
//!   with [`parse_sex_with`].
//!
//! Anything else is [`Sex::Unknown`]; an unknown sex compares as null.

use super::text::fold_char;

/// Sex of a person as recorded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Sex {
    /// Male (nam).
    Male,
    /// Female (nữ).
    Female,
    /// Missing or unreadable.
    #[default]
    Unknown,
}

/// How a one-digit sex code is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum NumericSex {
    /// `1` male, `0` female (default); other digits unknown.
    #[default]
    OneMale,
    /// The CCCD century-and-sex digit: even male, odd female (`0` male, `1` female ...).
    CccdDigit,
    /// ISO/IEC 5218: `1` male, `2` female; `0` and `9` unknown.
    Iso5218,
}

/// Parses a sex field with the default digit convention ([`NumericSex::OneMale`]).
pub fn parse_sex(s: &str) -> Sex {
    parse_sex_with(s, NumericSex::OneMale)
}

/// Parses a sex field, reading single digits with `digits`.
pub fn parse_sex_with(s: &str, digits: NumericSex) -> Sex {
    // Fold into a small stack buffer: lower case ASCII letters and digits, words separated by one
    // space. Values longer than the buffer are not sex values.
    let mut buf = [0u8; 24];
    let mut len = 0usize;
    let mut space = false;
    let legacy = super::text::detect_legacy_encoding(s);
    let mut decoded = String::new();
    let src = match legacy {
        Some(enc) => {
            super::text::decode_legacy_into(s, enc, &mut decoded);
            decoded.as_str()
        }
        None => s,
    };
    for c in src.chars() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        let f = fold_char(c);
        if f.is_ascii_alphanumeric() {
            if space && len > 0 {
                if len >= buf.len() {
                    return Sex::Unknown;
                }
                buf[len] = b' ';
                len += 1;
            }
            space = false;
            if len >= buf.len() {
                return Sex::Unknown;
            }
            buf[len] = f.to_ascii_lowercase() as u8;
            len += 1;
        } else {
            space = true;
        }
    }
    let key = &buf[..len];
    match key {
        b"nam" | b"nam gioi" | b"gioi tinh nam" | b"trai" | b"con trai" | b"m" | b"male" | b"man"
        | b"boy" | b"duc" | b"ong" | b"mr" => Sex::Male,
        b"nu" | b"nu gioi" | b"gioi tinh nu" | b"gai" | b"con gai" | b"f" | b"female" | b"woman"
        | b"girl" | b"cai" | b"ba" | b"mrs" | b"ms" => Sex::Female,
        [d] if d.is_ascii_digit() => digit_sex(d - b'0', digits),
        _ => Sex::Unknown,
    }
}

fn digit_sex(d: u8, digits: NumericSex) -> Sex {
    match (digits, d) {
        (NumericSex::OneMale, 1) => Sex::Male,
        (NumericSex::OneMale, 0) => Sex::Female,
        (NumericSex::CccdDigit, d) if d.is_multiple_of(2) => Sex::Male,
        (NumericSex::CccdDigit, _) => Sex::Female,
        (NumericSex::Iso5218, 1) => Sex::Male,
        (NumericSex::Iso5218, 2) => Sex::Female,
        _ => Sex::Unknown,
    }
}
