//! Legacy 8-bit encodings (TCVN3, VNI) read as Windows-1252 / Latin-1: the charts, the
//! detector, and conversion both ways.

use super::letters::{TONED, TONED_UPPER, VietLetter, letter_code, toned, viet_letter};

/// A legacy 8-bit Vietnamese encoding whose bytes were read as Windows-1252 / Latin-1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LegacyEncoding {
    /// TCVN 5712:1993 VN3, the "ABC" fonts (.VnTime): one byte per letter.
    Tcvn3,
    /// VNI Windows fonts (VNI-Times): base letter followed by a mark byte.
    Vni,
}

/// TCVN3 (VN3) chart: byte (as the Latin-1 character it reads as) to Unicode letter.
/// Source: the TCVN 5712:1993 VN3 code chart, as published with the ABC fonts and reproduced by
/// converters such as Unikey's charset tables. Bytes not listed are unused by VN3 text.
const TCVN3: [(u8, char); 74] = [
    (0xA1, 'Ă'),
    (0xA2, 'Â'),
    (0xA3, 'Ê'),
    (0xA4, 'Ô'),
    (0xA5, 'Ơ'),
    (0xA6, 'Ư'),
    (0xA7, 'Đ'),
    (0xA8, 'ă'),
    (0xA9, 'â'),
    (0xAA, 'ê'),
    (0xAB, 'ô'),
    (0xAC, 'ơ'),
    (0xAD, 'ư'),
    (0xAE, 'đ'),
    (0xB5, 'à'),
    (0xB6, 'ả'),
    (0xB7, 'ã'),
    (0xB8, 'á'),
    (0xB9, 'ạ'),
    (0xBB, 'ằ'),
    (0xBC, 'ẳ'),
    (0xBD, 'ẵ'),
    (0xBE, 'ắ'),
    (0xC6, 'ặ'),
    (0xC7, 'ầ'),
    (0xC8, 'ẩ'),
    (0xC9, 'ẫ'),
    (0xCA, 'ấ'),
    (0xCB, 'ậ'),
    (0xCC, 'è'),
    (0xCE, 'ẻ'),
    (0xCF, 'ẽ'),
    (0xD0, 'é'),
    (0xD1, 'ẹ'),
    (0xD2, 'ề'),
    (0xD3, 'ể'),
    (0xD4, 'ễ'),
    (0xD5, 'ế'),
    (0xD6, 'ệ'),
    (0xD7, 'ì'),
    (0xD8, 'ỉ'),
    (0xDC, 'ĩ'),
    (0xDD, 'í'),
    (0xDE, 'ị'),
    (0xDF, 'ò'),
    (0xE1, 'ỏ'),
    (0xE2, 'õ'),
    (0xE3, 'ó'),
    (0xE4, 'ọ'),
    (0xE5, 'ồ'),
    (0xE6, 'ổ'),
    (0xE7, 'ỗ'),
    (0xE8, 'ố'),
    (0xE9, 'ộ'),
    (0xEA, 'ờ'),
    (0xEB, 'ở'),
    (0xEC, 'ỡ'),
    (0xED, 'ớ'),
    (0xEE, 'ợ'),
    (0xEF, 'ù'),
    (0xF1, 'ủ'),
    (0xF2, 'ũ'),
    (0xF3, 'ú'),
    (0xF4, 'ụ'),
    (0xF5, 'ừ'),
    (0xF6, 'ử'),
    (0xF7, 'ữ'),
    (0xF8, 'ứ'),
    (0xF9, 'ự'),
    (0xFA, 'ỳ'),
    (0xFB, 'ỷ'),
    (0xFC, 'ỹ'),
    (0xFD, 'ý'),
    (0xFE, 'ỵ'),
];

const fn build_tcvn3() -> [char; 96] {
    let mut t = ['\0'; 96];
    let mut i = 0;
    while i < TCVN3.len() {
        let (b, c) = TCVN3[i];
        t[(b - 0xA0) as usize] = c;
        i += 1;
    }
    t
}

/// TCVN3 lookup for U+00A0..=U+00FF; `'\0'` where unused.
static TCVN3_TABLE: [char; 96] = build_tcvn3();

#[inline]
fn tcvn3_char(c: char) -> Option<char> {
    let u = c as u32;
    if (0xA0..=0xFF).contains(&u) {
        let m = TCVN3_TABLE[(u - 0xA0) as usize];
        if m != '\0' {
            return Some(m);
        }
    }
    None
}

/// Whether `c` is a Latin-1 character that Unicode Vietnamese text uses as a letter.
#[inline]
fn is_latin1_vietnamese(c: char) -> bool {
    matches!(
        c,
        'À' | 'Á'
            | 'Â'
            | 'Ã'
            | 'È'
            | 'É'
            | 'Ê'
            | 'Ì'
            | 'Í'
            | 'Ò'
            | 'Ó'
            | 'Ô'
            | 'Õ'
            | 'Ù'
            | 'Ú'
            | 'Ý'
            | 'à'
            | 'á'
            | 'â'
            | 'ã'
            | 'è'
            | 'é'
            | 'ê'
            | 'ì'
            | 'í'
            | 'ò'
            | 'ó'
            | 'ô'
            | 'õ'
            | 'ù'
            | 'ú'
            | 'ý'
    )
}

/// VNI mark bytes (as read in Latin-1): (modifier, tone), modifier 0 none, 1 circumflex, 2 breve.
#[inline]
fn vni_mark(c: char) -> Option<(u8, u8)> {
    Some(match c {
        'ø' | 'Ø' => (0, 1),
        'ù' | 'Ù' => (0, 2),
        'û' | 'Û' => (0, 3),
        'õ' | 'Õ' => (0, 4),
        'ï' | 'Ï' => (0, 5),
        'â' | 'Â' => (1, 0),
        'à' | 'À' => (1, 1),
        'á' | 'Á' => (1, 2),
        'å' | 'Å' => (1, 3),
        'ã' | 'Ã' => (1, 4),
        'ä' | 'Ä' => (1, 5),
        'ê' | 'Ê' => (2, 0),
        'è' | 'È' => (2, 1),
        'é' | 'É' => (2, 2),
        'ú' | 'Ú' => (2, 3),
        'ü' | 'Ü' => (2, 4),
        'ë' | 'Ë' => (2, 5),
        _ => return None,
    })
}

/// VNI single-byte letters: (vowel index or 12 for đ, tone, upper).
#[inline]
fn vni_single(c: char) -> Option<(u8, u8, bool)> {
    Some(match c {
        'ô' => (8, 0, false),
        'Ô' => (8, 0, true),
        'ö' => (10, 0, false),
        'Ö' => (10, 0, true),
        'ì' => (5, 1, false),
        'Ì' => (5, 1, true),
        'í' => (5, 2, false),
        'Í' => (5, 2, true),
        'æ' => (5, 3, false),
        'Æ' => (5, 3, true),
        'ó' => (5, 4, false),
        'Ó' => (5, 4, true),
        'ò' => (5, 5, false),
        'Ò' => (5, 5, true),
        'î' => (11, 5, false),
        'Î' => (11, 5, true),
        'ñ' => (12, 0, false),
        'Ñ' => (12, 0, true),
        _ => return None,
    })
}

/// VNI base letters that take a following mark: (vowel index, upper).
#[inline]
fn vni_base(c: char) -> Option<(u8, bool)> {
    Some(match c {
        'a' => (0, false),
        'A' => (0, true),
        'e' => (3, false),
        'E' => (3, true),
        'o' => (6, false),
        'O' => (6, true),
        'u' => (9, false),
        'U' => (9, true),
        'y' => (11, false),
        'Y' => (11, true),
        'ô' => (8, false),
        'Ô' => (8, true),
        'ö' => (10, false),
        'Ö' => (10, true),
        _ => return None,
    })
}

/// Applies a VNI mark to a base vowel; `None` when the combination does not exist.
#[inline]
fn vni_combine(vowel: u8, (modifier, tone): (u8, u8)) -> Option<u8> {
    match (modifier, vowel) {
        (0, v) => Some(v),
        (1, 0) => Some(2),
        (1, 3) => Some(4),
        (1, 6) => Some(7),
        (2, 0) => Some(1),
        _ => None,
    }
    .map(|v| v * 8 + tone)
}

/// Whether `prev` followed by `c` reads as a VNI base vowel plus a mark byte that is also a
/// Unicode Vietnamese letter ("eã" for "ễ"), excluding pairs that correct Unicode text contains
/// ("oà", "oá", "oã" as in "hoà", "hoá", "hoãn").
#[inline]
pub(super) fn vni_letter_combo(prev: char, c: char) -> bool {
    if !prev.is_ascii() || !is_latin1_vietnamese(c) {
        return false;
    }
    match (vni_base(prev), vni_mark(c)) {
        (Some((v, _)), Some(mark)) => {
            vni_combine(v, mark).is_some() && !(matches!(prev, 'o' | 'O') && matches!(mark, (1, 1 | 2 | 4)))
        }
        _ => false,
    }
}

/// `char::is_alphanumeric` with ASCII and Latin-1 answered from a bit set (the Unicode tables
/// are a slow lookup, and legacy detection asks for every Latin-1 letter).
#[inline]
pub(super) fn is_alnum(c: char) -> bool {
    /// Alphanumeric characters of U+0080..=U+00FF: `ª ² ³ µ ¹ º ¼ ½ ¾`, `À`..=`Ö`, `Ø`..=`ö`,
    /// `ø`..=`ÿ` (checked against the standard library by a unit test).
    const LATIN1_HIGH: u128 = (1 << 0x2A)
        | (1 << 0x32)
        | (1 << 0x33)
        | (1 << 0x35)
        | (1 << 0x39)
        | (1 << 0x3A)
        | (0b111 << 0x3C)
        | (((1u128 << 0x40) - 1) << 0x40) & !(1 << 0x77) & !(1 << 0x57);
    let u = c as u32;
    if u < 0x80 {
        c.is_ascii_alphanumeric()
    } else if u <= 0xFF {
        LATIN1_HIGH & (1 << (u - 0x80)) != 0
    } else {
        c.is_alphanumeric()
    }
}

/// `char::is_uppercase` with Latin-1 answered directly.
#[inline]
pub(super) fn is_upper(c: char) -> bool {
    match c as u32 {
        0..=0x7F => c.is_ascii_uppercase(),
        0x80..=0xFF => matches!(c, 'À'..='Þ') && c != '×',
        _ => c.is_uppercase(),
    }
}

#[inline]
pub(super) fn is_zero_width(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}')
}

/// Detects TCVN3 or VNI text that was decoded as Windows-1252 / Latin-1 (see the module docs for
/// the rules). Returns `None` for ASCII, for proper Unicode Vietnamese and when in doubt.
pub fn detect_legacy_encoding(s: &str) -> Option<LegacyEncoding> {
    if s.is_ascii() || has_letter_beyond_latin1(s) {
        return None;
    }
    let mut tcvn_possible = true;
    let mut vni_possible = true;
    let mut tcvn_count = 0u32;
    let mut vni_count = 0u32;
    let mut vni_votes = 0u32;
    let mut prev = ' ';
    // See characters as normalization will leave them, so that normalized text is never
    // detected when its input was not: full-width ASCII as ASCII, upper case beyond Latin-1
    // lowered (`ẞ` is `ß`), zero-width characters skipped.
    // The soft hyphen is kept: TCVN3's `ư` reads as one, and inside a word it is the surest sign
    // of TCVN3 text ("Tr\u{AD}êng" for "Trường").
    let mut chars = s
        .chars()
        .filter(|&c| c == '\u{AD}' || !is_zero_width(c))
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ if c as u32 > 0xFF && is_upper(c) => {
                let mut l = c.to_lowercase();
                match (l.next(), l.next()) {
                    (Some(one), None) => one,
                    _ => c,
                }
            }
            _ => c,
        })
        .peekable();
    while let Some(c) = chars.next() {
        let u = c as u32;
        if u >= 0x80 {
            if is_alnum(c) {
                if u > 0xFF {
                    // A letter outside Latin-1: real Unicode, not mojibake.
                    return None;
                }
                let in_tcvn = tcvn3_char(c).is_some();
                // Possibility is judged on the lower-case letter, which is what normalized
                // output holds.
                let lc = match c {
                    'À'..='Þ' if c != '×' => char::from_u32(u + 0x20).unwrap_or(c),
                    _ => c,
                };
                tcvn_possible &= tcvn3_char(lc).is_some();
                vni_possible &= vni_mark(lc).is_some() || vni_single(lc).is_some();
                let viet = is_latin1_vietnamese(c);
                // An upper-case letter inside a word ("MÉn" for "Mẫn": TCVN3 has no upper-case
                // toned letters, so a lower-case `ẫ` reads as `É`).
                let inside_word = is_upper(c)
                    && (prev.is_ascii_lowercase()
                        || (is_alnum(prev) && chars.peek().is_some_and(|n| n.is_ascii_lowercase())));
                if in_tcvn && (!viet || inside_word) && c != 'Ð' {
                    tcvn_count += 1;
                }
                let prev_vowel = vni_base(prev).is_some();
                if vni_mark(c).is_some() {
                    if !viet {
                        vni_count += 1;
                        if prev_vowel {
                            vni_votes += 1;
                        }
                    } else if vni_letter_combo(prev, c) {
                        vni_count += 1;
                        vni_votes += 1;
                    }
                } else if vni_single(c).is_some() && !viet {
                    vni_count += 1;
                    // `Ñ` starting a word (Đ) and `öô` (ươ) are typical of VNI.
                    let next = chars.peek().copied().unwrap_or(' ');
                    if (matches!(c, 'ñ' | 'Ñ') && !is_alnum(prev))
                        || (matches!(c, 'ö' | 'Ö') && matches!(next, 'ô' | 'Ô'))
                    {
                        vni_votes += 1;
                    }
                }
            } else if let Some(_m) = tcvn3_char(c) {
                // A symbol that TCVN3 uses for a letter: count it when it sits inside a word
                // ("Ph¹m"), or for `§` (Đ) at the start of one ("§µo").
                let next_alnum = chars.peek().is_some_and(|&n| is_alnum(n));
                if is_alnum(prev) || (c == '§' && next_alnum) {
                    tcvn_count += 1;
                }
            }
        }
        prev = c;
    }
    let tcvn = tcvn_possible && tcvn_count > 0;
    let vni = vni_possible && vni_count > 0;
    match (tcvn, vni) {
        (true, true) => {
            if vni_votes > 0 {
                Some(LegacyEncoding::Vni)
            } else {
                Some(LegacyEncoding::Tcvn3)
            }
        }
        (true, false) => Some(LegacyEncoding::Tcvn3),
        (false, true) => Some(LegacyEncoding::Vni),
        (false, false) => None,
    }
}

/// Whether `s` holds a Vietnamese letter beyond Latin-1 (`ă`, `đ`, `ơ`, `ư`, `ễ`, ...): legacy
/// mojibake is made of Latin-1 characters only, so [`detect_legacy_encoding`] answers `None` as
/// soon as it meets one. Checked first because it is much cheaper than the detector's loop, and
/// most accented names have such a letter.
#[inline]
fn has_letter_beyond_latin1(s: &str) -> bool {
    // Characters beyond U+00FF start with a UTF-8 lead byte of 0xC4 or more.
    s.bytes().any(|b| b >= 0xC4) && s.chars().any(|c| c as u32 > 0xFF && letter_code(c) != 0)
}

/// Converts mojibake of `enc` back to Unicode Vietnamese, writing into `out` (cleared first).
/// Characters outside the chart are kept; stray VNI marks that are not Vietnamese letters are
/// dropped, so that the result is never detected as legacy text again.
pub fn decode_legacy_into(input: &str, enc: LegacyEncoding, out: &mut String) {
    out.clear();
    match enc {
        LegacyEncoding::Tcvn3 => {
            for c in input.chars() {
                out.push(tcvn3_char(c).unwrap_or(c));
            }
        }
        LegacyEncoding::Vni => {
            let mut chars = input.chars().peekable();
            while let Some(c) = chars.next() {
                if let Some((v, upper)) = vni_base(c) {
                    if let Some(&next) = chars.peek()
                        && let Some(mark) = vni_mark(next)
                        && let Some(code) = vni_combine(v, mark)
                    {
                        chars.next();
                        let (nv, tone) = (code / 8, code % 8);
                        out.push(pick(nv, tone, upper));
                        continue;
                    }
                    out.push(pick(v, 0, upper));
                } else if let Some((v, tone, upper)) = vni_single(c) {
                    if v == 12 {
                        out.push(if upper { 'Đ' } else { 'đ' });
                    } else {
                        out.push(pick(v, tone, upper));
                    }
                } else if vni_mark(c).is_some() && !is_latin1_vietnamese(c) {
                    // A stray mark: garbage, dropped.
                } else {
                    out.push(c);
                }
            }
        }
    }
}

/// Writes `input` as it reads when encoded in `enc` and decoded as Latin-1 (mojibake), the
/// inverse of [`decode_legacy_into`]; `out` is cleared first. Used to make test data. TCVN3 has no
/// upper-case letters with tone marks (they lived in separate fonts), so those come out in lower
/// case; everything else round-trips.
pub fn encode_legacy_into(input: &str, enc: LegacyEncoding, out: &mut String) {
    out.clear();
    for c in input.chars() {
        let letter = if c.is_ascii() { None } else { viet_letter(c) };
        let Some(l) = letter else {
            out.push(c);
            continue;
        };
        match enc {
            LegacyEncoding::Tcvn3 => {
                let exact = TCVN3.iter().find(|&&(_, u)| u == c);
                let lower = || {
                    let target = if l.vowel == 12 { 'đ' } else { toned(l.vowel, l.tone) };
                    TCVN3.iter().find(|&&(_, u)| u == target)
                };
                match exact.or_else(lower) {
                    Some(&(b, _)) => out.push(char::from(b)),
                    None => out.push(c),
                }
            }
            LegacyEncoding::Vni => encode_vni(l, out),
        }
    }
}

fn encode_vni(l: VietLetter, out: &mut String) {
    let case = |lower: char, upper: char| if l.upper { upper } else { lower };
    const TONE_MARKS: [(char, char); 6] =
        [('\0', '\0'), ('ø', 'Ø'), ('ù', 'Ù'), ('û', 'Û'), ('õ', 'Õ'), ('ï', 'Ï')];
    const HAT_MARKS: [(char, char); 6] =
        [('â', 'Â'), ('à', 'À'), ('á', 'Á'), ('å', 'Å'), ('ã', 'Ã'), ('ä', 'Ä')];
    const BREVE_MARKS: [(char, char); 6] =
        [('ê', 'Ê'), ('è', 'È'), ('é', 'É'), ('ú', 'Ú'), ('ü', 'Ü'), ('ë', 'Ë')];
    const I_SINGLES: [(char, char); 6] =
        [('i', 'I'), ('ì', 'Ì'), ('í', 'Í'), ('æ', 'Æ'), ('ó', 'Ó'), ('ò', 'Ò')];
    let tone = usize::from(l.tone % 6);
    let (base, marks): ((char, char), &[(char, char); 6]) = match l.vowel {
        12 => {
            out.push(case('ñ', 'Ñ'));
            return;
        }
        5 => {
            let (lo, up) = I_SINGLES[tone];
            out.push(case(lo, up));
            return;
        }
        11 if tone == 5 => {
            out.push(case('î', 'Î'));
            return;
        }
        0 => (('a', 'A'), &TONE_MARKS),
        1 => (('a', 'A'), &BREVE_MARKS),
        2 => (('a', 'A'), &HAT_MARKS),
        3 => (('e', 'E'), &TONE_MARKS),
        4 => (('e', 'E'), &HAT_MARKS),
        6 => (('o', 'O'), &TONE_MARKS),
        7 => (('o', 'O'), &HAT_MARKS),
        8 => (('ô', 'Ô'), &TONE_MARKS),
        9 => (('u', 'U'), &TONE_MARKS),
        10 => (('ö', 'Ö'), &TONE_MARKS),
        _ => (('y', 'Y'), &TONE_MARKS),
    };
    out.push(case(base.0, base.1));
    let (lo, up) = marks[tone];
    if lo != '\0' {
        out.push(case(lo, up));
    }
}

#[inline]
fn pick(vowel: u8, tone: u8, upper: bool) -> char {
    let (v, t) = (usize::from(vowel) % 12, usize::from(tone) % 6);
    if upper { TONED_UPPER[v][t] } else { TONED[v][t] }
}
