//! Test-only reference: `normalize/text.rs` as it was before the throughput work (commit
//! 97e2f78), kept verbatim apart from this header, its unit tests and one later fix applied to
//! both (rounds of legacy decoding go on past the fourth while each shortens the output), so that
//! the differential property tests in `super` can check that the optimized code gives exactly the
//! same results.
#![allow(dead_code)]

//! Text normalization: Unicode, legacy encodings, case, whitespace, tone marks and accent folding.
//!
//! Every other normalizer starts here, so that "Nguyễn" typed in NFC, in NFD, in TCVN3 read as
//! Latin-1 ("NguyÔn"), in VNI read as Latin-1 ("Nguyeãn"), in upper case or with an Icelandic `ð`
//! for `đ` all become the same string.
//!
//! [`normalize_text_into`] produces the *normalized form*:
//! 1. Unicode NFC (crate `unicode-normalization`) when the input is not already NFC.
//! 2. Legacy 8-bit encodings that arrive as mojibake (the bytes were decoded as Windows-1252 or
//!    Latin-1) are detected ([`detect_legacy_encoding`]) and converted ([`decode_legacy_into`]).
//! 3. Lower case; look-alikes mapped (`ð`, `Ð`, `Ɖ` to `đ`; full-width ASCII to ASCII; curly
//!    apostrophes to `'`; dashes to `-`).
//! 4. Whitespace: any run of Unicode white space, control characters or punctuation other than
//!    `- ' / . ,` becomes one space; leading and trailing spaces are removed; zero-width characters
//!    and soft hyphens are deleted.
//! 5. Tone marks placed canonically (see below).
//!
//! The *folded form* ([`fold_accents_into`], [`fold_char`]) removes tone marks and vowel modifiers:
//! `ă â` to `a`, `ê` to `e`, `ô ơ` to `o`, `ư` to `u`, and `đ` to `d` explicitly, because `đ` does
//! not decompose under NFD.
//!
//! # Canonical tone-mark placement
//! Vietnamese has two conventions for where the tone mark sits in a syllable with two vowels and
//! no final consonant: the old one ("hòa", "thủy", "khỏe") and the new one ("hoà", "thuỷ",
//! "khoẻ"); official lists mix both. We use the **new placement** (the phonological rule: the mark
//! goes on the main vowel), because it is a rule rather than a list:
//! - `qu` and `gi` (before another vowel) are initial consonants, so "Qúy" becomes "quý" and
//!   "gịa" becomes "giạ";
//! - a vowel with a modifier (`ă â ê ô ơ ư`) takes the mark; if two have one (`ươ`), the second;
//! - otherwise, of three vowels the middle one ("hoài", "khuỷu");
//! - of two vowels, the second when a final consonant follows ("hoàn", "huỳnh") or when the pair is
//!   `oa`, `oe` or `uy` ("hoà", "khoẻ", "thuỷ", "uý"); else the first ("mái", "chịu", "của").
//!
//! A misplaced mark ("Qúy") is moved by the same rule. Words with two or more tone marks, or more
//! than one group of vowels (foreign words, run-together words, minority names), keep their marks
//! where they are: there is no single syllable to apply the rule to. The rule only moves marks, it
//! never changes letters, so `i`/`y` spellings (Quý/Quí) stay distinct here; the phonetic key of
//! [`crate::normalize::name`] merges them.
//!
//! # Legacy encodings
//! Tables are written from the published charts of TCVN 5712:1993 "VN3" (the ABC fonts: one byte
//! per lower-case letter; upper case letters with tone marks live in separate fonts and read as
//! the lower-case bytes) and of the VNI Windows fonts (a base letter followed by one byte carrying
//! the modifier and tone, plus single bytes for `đ ơ ư` and the `i`/`ỵ` letters). The detectors
//! look for what cannot occur in Unicode Vietnamese: TCVN3 bytes that read as symbols or as
//! non-Vietnamese Latin-1 letters (`§µo` for "Đào", `NguyÔn` with an upper-case letter after lower
//! case), and VNI vowel-plus-mark pairs (`Nguyeãn`, `Hoaøng`). A value is converted only when every
//! non-ASCII letter in it belongs to the encoding's chart; a value made only of letters that are
//! also correct Unicode Vietnamese (TCVN3 "Vò" for "Vũ") cannot be told apart and is left as is.

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// The twelve Vietnamese vowels, lower case and without tone, in code order.
pub(crate) const VOWELS: [char; 12] = ['a', 'ă', 'â', 'e', 'ê', 'i', 'o', 'ô', 'ơ', 'u', 'ư', 'y'];

/// The ASCII letter each vowel folds to.
pub(crate) const VOWEL_FOLDED: [u8; 12] = *b"aaaeeiooouuy";

/// Vowel indices of `VOWELS` that carry a modifier (breve, circumflex or horn).
const fn is_modified(vowel: u8) -> bool {
    matches!(vowel, 1 | 2 | 4 | 7 | 8 | 10)
}

/// Tone numbers: 0 none (ngang), 1 grave (huyền), 2 acute (sắc), 3 hook above (hỏi),
/// 4 tilde (ngã), 5 dot below (nặng).
pub(crate) const TONED: [[char; 6]; 12] = [
    ['a', 'à', 'á', 'ả', 'ã', 'ạ'],
    ['ă', 'ằ', 'ắ', 'ẳ', 'ẵ', 'ặ'],
    ['â', 'ầ', 'ấ', 'ẩ', 'ẫ', 'ậ'],
    ['e', 'è', 'é', 'ẻ', 'ẽ', 'ẹ'],
    ['ê', 'ề', 'ế', 'ể', 'ễ', 'ệ'],
    ['i', 'ì', 'í', 'ỉ', 'ĩ', 'ị'],
    ['o', 'ò', 'ó', 'ỏ', 'õ', 'ọ'],
    ['ô', 'ồ', 'ố', 'ổ', 'ỗ', 'ộ'],
    ['ơ', 'ờ', 'ớ', 'ở', 'ỡ', 'ợ'],
    ['u', 'ù', 'ú', 'ủ', 'ũ', 'ụ'],
    ['ư', 'ừ', 'ứ', 'ử', 'ữ', 'ự'],
    ['y', 'ỳ', 'ý', 'ỷ', 'ỹ', 'ỵ'],
];

const TONED_UPPER: [[char; 6]; 12] = [
    ['A', 'À', 'Á', 'Ả', 'Ã', 'Ạ'],
    ['Ă', 'Ằ', 'Ắ', 'Ẳ', 'Ẵ', 'Ặ'],
    ['Â', 'Ầ', 'Ấ', 'Ẩ', 'Ẫ', 'Ậ'],
    ['E', 'È', 'É', 'Ẻ', 'Ẽ', 'Ẹ'],
    ['Ê', 'Ề', 'Ế', 'Ể', 'Ễ', 'Ệ'],
    ['I', 'Ì', 'Í', 'Ỉ', 'Ĩ', 'Ị'],
    ['O', 'Ò', 'Ó', 'Ỏ', 'Õ', 'Ọ'],
    ['Ô', 'Ồ', 'Ố', 'Ổ', 'Ỗ', 'Ộ'],
    ['Ơ', 'Ờ', 'Ớ', 'Ở', 'Ỡ', 'Ợ'],
    ['U', 'Ù', 'Ú', 'Ủ', 'Ũ', 'Ụ'],
    ['Ư', 'Ừ', 'Ứ', 'Ử', 'Ữ', 'Ự'],
    ['Y', 'Ỳ', 'Ý', 'Ỷ', 'Ỹ', 'Ỵ'],
];

/// Letter code: low nibble = vowel index + 1 (1..=12) or [`DD`] for `đ`; bits 4..=6 = tone;
/// bit 7 = upper case. Zero means "not a Vietnamese letter".
const DD: u8 = 13;

const LATIN_START: u32 = 0x00C0;
const LATIN_LEN: usize = 0x01B0 - 0x00C0 + 1;
const EXT_START: u32 = 0x1EA0;
const EXT_LEN: usize = 0x1EF9 - 0x1EA0 + 1;

const fn build_table<const N: usize>(start: u32) -> [u8; N] {
    let mut t = [0u8; N];
    let mut v = 0;
    while v < 12 {
        let mut tone = 0;
        while tone < 6 {
            let code = (v as u8 + 1) | ((tone as u8) << 4);
            let lc = TONED[v][tone] as u32;
            let uc = TONED_UPPER[v][tone] as u32;
            if lc >= start && lc < start + N as u32 {
                t[(lc - start) as usize] = code;
            }
            if uc >= start && uc < start + N as u32 {
                t[(uc - start) as usize] = code | 0x80;
            }
            tone += 1;
        }
        v += 1;
    }
    // đ Đ, and the look-alikes typed for them: ð Ð (Icelandic eth), Ɖ (African D).
    let dd: [(u32, u8); 5] =
        [(0x0111, DD), (0x0110, DD | 0x80), (0x00F0, DD), (0x00D0, DD | 0x80), (0x0189, DD | 0x80)];
    let mut i = 0;
    while i < dd.len() {
        let (c, code) = dd[i];
        if c >= start && c < start + N as u32 {
            t[(c - start) as usize] = code;
        }
        i += 1;
    }
    t
}

static LATIN_TABLE: [u8; LATIN_LEN] = build_table::<LATIN_LEN>(LATIN_START);
static EXT_TABLE: [u8; EXT_LEN] = build_table::<EXT_LEN>(EXT_START);

/// The letter code of `c` (see [`DD`]), zero when `c` is not a Vietnamese letter.
#[inline]
fn letter_code(c: char) -> u8 {
    let u = c as u32;
    if u < 0x80 {
        return match c {
            'a' => 1,
            'e' => 4,
            'i' => 6,
            'o' => 7,
            'u' => 10,
            'y' => 12,
            'A' => 0x81,
            'E' => 0x84,
            'I' => 0x86,
            'O' => 0x87,
            'U' => 0x8A,
            'Y' => 0x8C,
            _ => 0,
        };
    }
    if (LATIN_START..LATIN_START + LATIN_LEN as u32).contains(&u) {
        LATIN_TABLE[(u - LATIN_START) as usize]
    } else if (EXT_START..EXT_START + EXT_LEN as u32).contains(&u) {
        EXT_TABLE[(u - EXT_START) as usize]
    } else {
        0
    }
}

/// A Vietnamese letter: `vowel` is the index into the vowel table (0..=11), or 12 for `đ`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct VietLetter {
    /// Vowel index (0..=11) or 12 for `đ`.
    pub vowel: u8,
    /// Tone 0..=5.
    pub tone: u8,
    /// Whether the letter was upper case.
    pub upper: bool,
}

/// Classifies `c` as a Vietnamese letter (vowel with or without marks, or `đ` and its look-alikes).
#[inline]
pub(crate) fn viet_letter(c: char) -> Option<VietLetter> {
    let code = letter_code(c);
    if code == 0 {
        return None;
    }
    Some(VietLetter { vowel: (code & 0x0F) - 1, tone: (code >> 4) & 0x07, upper: code & 0x80 != 0 })
}

/// The lower-case precomposed letter for a vowel index and tone.
#[inline]
pub(crate) fn toned(vowel: u8, tone: u8) -> char {
    TONED[usize::from(vowel) % 12][usize::from(tone) % 6]
}

/// Folds one character: Vietnamese vowels lose tone and modifier, `đ`/`Đ` become `d`/`D`, other
/// letters with canonical decompositions lose their marks (`é` to `e`, `ü` to `u`); case is kept.
/// Lone combining marks fold to themselves; [`fold_accents_into`] drops them.
#[inline]
pub fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c;
    }
    if let Some(l) = viet_letter(c) {
        let base = if l.vowel == 12 { b'd' } else { VOWEL_FOLDED[usize::from(l.vowel)] };
        return if l.upper { char::from(base.to_ascii_uppercase()) } else { char::from(base) };
    }
    let mut first = None;
    unicode_normalization::char::decompose_canonical(c, |d| {
        if first.is_none() {
            first = Some(d);
        }
    });
    match first {
        Some(d) if d.is_ascii_alphabetic() => d,
        _ => c,
    }
}

/// Writes the accent-folded form of `input` into `out` (cleared first): see [`fold_char`];
/// combining marks are dropped, so decomposed input folds like composed input.
pub fn fold_accents_into(input: &str, out: &mut String) {
    out.clear();
    for c in input.chars() {
        if is_combining(c) {
            continue;
        }
        out.push(fold_char(c));
    }
}

/// Allocating convenience for [`fold_accents_into`].
pub fn fold_accents(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    fold_accents_into(input, &mut out);
    out
}

#[inline]
fn is_combining(c: char) -> bool {
    !c.is_ascii() && unicode_normalization::char::is_combining_mark(c)
}

/// Whether `s` carries Vietnamese diacritics: a precomposed vowel with a tone or modifier, `đ`,
/// a combining Vietnamese tone or modifier mark, or a legacy-encoded (TCVN3, VNI) Vietnamese value.
/// Used by profiling to tell accented columns from accent-less ones.
pub fn has_vietnamese_diacritics(s: &str) -> bool {
    if s.is_ascii() {
        return false;
    }
    for c in s.chars() {
        if let Some(l) = viet_letter(c)
            && (l.tone != 0 || l.vowel == 12 || is_modified(l.vowel))
        {
            return true;
        }
        if matches!(
            c,
            '\u{0300}'
                | '\u{0301}'
                | '\u{0302}'
                | '\u{0303}'
                | '\u{0306}'
                | '\u{0309}'
                | '\u{031B}'
                | '\u{0323}'
        ) {
            return true;
        }
    }
    detect_legacy_encoding(s).is_some()
}

// ---------------------------------------------------------------------------------------------
// Legacy encodings
// ---------------------------------------------------------------------------------------------

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
fn vni_letter_combo(prev: char, c: char) -> bool {
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

#[inline]
fn is_zero_width(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}')
}

/// Detects TCVN3 or VNI text that was decoded as Windows-1252 / Latin-1 (see the module docs for
/// the rules). Returns `None` for ASCII, for proper Unicode Vietnamese and when in doubt.
pub fn detect_legacy_encoding(s: &str) -> Option<LegacyEncoding> {
    if s.is_ascii() {
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
    let mut chars = s
        .chars()
        .filter(|&c| c == '\u{AD}' || !is_zero_width(c))
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ if c as u32 > 0xFF && c.is_uppercase() => {
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
            if c.is_alphanumeric() {
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
                let inside_word = c.is_uppercase()
                    && (prev.is_ascii_lowercase()
                        || (prev.is_alphanumeric() && chars.peek().is_some_and(|n| n.is_ascii_lowercase())));
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
                    if (matches!(c, 'ñ' | 'Ñ') && !prev.is_alphanumeric())
                        || (matches!(c, 'ö' | 'Ö') && matches!(next, 'ô' | 'Ô'))
                    {
                        vni_votes += 1;
                    }
                }
            } else if let Some(_m) = tcvn3_char(c) {
                // A symbol that TCVN3 uses for a letter: count it when it sits inside a word
                // ("Ph¹m"), or for `§` (Đ) at the start of one ("§µo").
                let next_alnum = chars.peek().is_some_and(|n| n.is_alphanumeric());
                if prev.is_alphanumeric() || (c == '§' && next_alnum) {
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

#[inline]
fn pick(vowel: u8, tone: u8, upper: bool) -> char {
    let (v, t) = (usize::from(vowel) % 12, usize::from(tone) % 6);
    if upper { TONED_UPPER[v][t] } else { TONED[v][t] }
}

// ---------------------------------------------------------------------------------------------
// Normalization
// ---------------------------------------------------------------------------------------------

const NO_VOWEL: u8 = u8::MAX;

/// One letter of the word being assembled: lower case, tone kept apart for vowels.
#[derive(Clone, Copy, Debug)]
struct Letter {
    ch: char,
    vowel: u8,
    tone: u8,
}

/// Reusable buffers for [`normalize_text_into`]; keep one per thread.
#[derive(Debug, Default)]
pub struct TextScratch {
    nfc: String,
    legacy: String,
    word: Vec<Letter>,
}

impl TextScratch {
    /// Empty buffers.
    pub fn new() -> Self {
        Self::default()
    }
}

enum Class {
    Letter(char),
    Mark(char),
    Space,
    Keep(char),
    Drop,
}

#[inline]
fn classify(c: char) -> Class {
    if c.is_ascii() {
        return match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' => Class::Letter(c),
            '-' | '\'' | '/' | '.' | ',' => Class::Keep(c),
            _ => Class::Space,
        };
    }
    match c {
        '\u{FF01}'..='\u{FF5E}' => classify(char::from_u32(c as u32 - 0xFEE0).unwrap_or(' ')),
        '\u{2010}'..='\u{2015}' | '\u{2212}' => Class::Keep('-'),
        '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{2032}' => Class::Keep('\''),
        _ if is_zero_width(c) => Class::Drop,
        _ if c.is_alphanumeric() => Class::Letter(c),
        _ if is_combining(c) => Class::Mark(c),
        _ => Class::Space,
    }
}

/// Writes the normalized form of `input` (see the module docs) into `out`, which is cleared first.
/// Allocation-free once `scratch` and `out` have grown to the size of the longest input.
pub fn normalize_text_into(input: &str, scratch: &mut TextScratch, out: &mut String) {
    out.clear();
    let TextScratch { nfc, legacy, word } = scratch;
    let mut src = input;
    if !src.is_ascii() {
        if is_nfc_quick(src.chars()) != IsNormalized::Yes {
            nfc.clear();
            nfc.extend(src.nfc());
            src = nfc.as_str();
        }
        if let Some(enc) = detect_legacy_encoding(src) {
            decode_legacy_into(src, enc, legacy);
            src = legacy.as_str();
        }
    }
    let (had_mark, mut letter_mark) = normalize_pass(src, word, out);
    if had_mark {
        // A combining mark survived (after a full-width letter, say): compose and run again, so
        // that the result is NFC and normalizing it again changes nothing. Rare.
        // A mark that still does not compose is a stray (a second tone on one letter): drop it.
        legacy.clear();
        legacy.extend(out.nfc().filter(|c| !is_combining(*c)));
        letter_mark = normalize_pass(legacy, word, out).1;
    }
    // (Later fix, applied to both: a combining mark that is a letter, which the pass keeps, may
    // compose with a neighbour that lower-casing made: compose and run again.)
    if letter_mark && is_nfc_quick(out.chars()) != IsNormalized::Yes {
        legacy.clear();
        legacy.extend(out.nfc());
        normalize_pass(legacy, word, out);
    }
    // Decoding can put letters side by side that read as legacy text again ("EµA" is "eàa",
    // whose "eà" reads as VNI). Normalize until the output is stable, so that normalizing twice
    // changes nothing. Only all-Latin-1 outputs can be legacy text; real ones stop at once.
    // (Later fix, applied to both: rounds go on past the fourth while each shortens the output.)
    let mut rounds = 0;
    // `detect_legacy_encoding` stops at the first letter beyond Latin-1.
    while let Some(enc) = detect_legacy_encoding(out) {
        let before = out.len();
        decode_legacy_into(out, enc, legacy);
        normalize_pass(legacy, word, out);
        rounds += 1;
        if rounds >= 4 && out.len() >= before {
            break;
        }
    }
}

/// One pass of letter processing over NFC, legacy-decoded text; returns whether a combining mark
/// was written, and whether a combining mark classed as a letter was.
fn normalize_pass(src: &str, word: &mut Vec<Letter>, out: &mut String) -> (bool, bool) {
    out.clear();
    word.clear();
    let mut had_mark = false;
    let mut letter_mark = false;
    let mut pending_space = false;
    for c in src.chars() {
        match classify(c) {
            Class::Letter(l) => {
                letter_mark |= is_combining(l);
                // (Later fix, applied to both: `İ` lower-cases to `i` and a combining dot above.)
                had_mark |= l == '\u{130}';
                push_letter(word, l);
            }
            Class::Mark(m) => {
                had_mark = true;
                word.push(Letter { ch: m, vowel: NO_VOWEL, tone: 0 });
            }
            Class::Drop => {}
            Class::Space => {
                flush_word(word, out, &mut pending_space);
                pending_space = true;
            }
            Class::Keep(k) => {
                flush_word(word, out, &mut pending_space);
                if pending_space && !out.is_empty() {
                    out.push(' ');
                }
                pending_space = false;
                out.push(k);
            }
        }
    }
    flush_word(word, out, &mut pending_space);
    (had_mark, letter_mark)
}

/// Allocating convenience for [`normalize_text_into`].
pub fn normalize_text(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    normalize_text_into(input, &mut TextScratch::new(), &mut out);
    out
}

#[inline]
fn push_letter(word: &mut Vec<Letter>, c: char) {
    if c.is_ascii() {
        let lc = c.to_ascii_lowercase();
        let vowel = match lc {
            'a' => 0,
            'e' => 3,
            'i' => 5,
            'o' => 6,
            'u' => 9,
            'y' => 11,
            _ => NO_VOWEL,
        };
        word.push(Letter { ch: lc, vowel, tone: 0 });
        return;
    }
    if let Some(l) = viet_letter(c) {
        if l.vowel == 12 {
            word.push(Letter { ch: 'đ', vowel: NO_VOWEL, tone: 0 });
        } else {
            word.push(Letter { ch: VOWELS[usize::from(l.vowel)], vowel: l.vowel, tone: l.tone });
        }
        return;
    }
    if c.is_lowercase() || !c.is_uppercase() {
        word.push(Letter { ch: c, vowel: NO_VOWEL, tone: 0 });
    } else {
        for lc in c.to_lowercase() {
            if lc != c && (lc.is_ascii() || viet_letter(lc).is_some()) {
                push_letter(word, lc);
            } else {
                word.push(Letter { ch: lc, vowel: NO_VOWEL, tone: 0 });
            }
        }
    }
}

fn flush_word(word: &mut Vec<Letter>, out: &mut String, pending_space: &mut bool) {
    if word.is_empty() {
        return;
    }
    if *pending_space && !out.is_empty() {
        out.push(' ');
    }
    *pending_space = false;
    place_tone(word);
    for l in word.iter() {
        if l.vowel == NO_VOWEL {
            out.push(l.ch);
        } else {
            out.push(toned(l.vowel, l.tone));
        }
    }
    word.clear();
}

/// Moves the single tone mark of a one-syllable word to its canonical vowel (module docs).
fn place_tone(word: &mut [Letter]) {
    let mut toned_at = None;
    for (i, l) in word.iter().enumerate() {
        if l.tone != 0 {
            if toned_at.is_some() {
                return;
            }
            toned_at = Some(i);
        }
    }
    let Some(from) = toned_at else { return };
    // Exactly one contiguous group of vowels.
    let Some(start) = word.iter().position(|l| l.vowel != NO_VOWEL) else {
        return;
    };
    let end = word[start..].iter().position(|l| l.vowel == NO_VOWEL).map_or(word.len(), |p| start + p);
    if word[end..].iter().any(|l| l.vowel != NO_VOWEL) {
        return;
    }
    let mut s = start;
    if end - s >= 2 && s == 1 {
        let (c0, v0) = (word[0].ch, word[1].vowel);
        if (c0 == 'q' && v0 == 9) || (c0 == 'g' && v0 == 5) {
            s += 1;
        }
    }
    let n = end - s;
    let final_consonant = end < word.len();
    let cluster = &word[s..end];
    let target = if n == 1 {
        s
    } else if let Some(p) = cluster.iter().rposition(|l| is_modified(l.vowel)) {
        s + p
    } else if n == 3 {
        s + 1
    } else if n == 2 {
        let pair = (cluster[0].vowel, cluster[1].vowel);
        if final_consonant || matches!(pair, (6, 0) | (6, 3) | (9, 11)) { s + 1 } else { s }
    } else {
        return;
    };
    let tone = word[from].tone;
    // Never create a pair that reads as VNI ("aõ"): normalized text must not be detected as legacy
    // text, or normalizing twice would differ. Such pairs do not occur in real syllables.
    if target > 0 {
        let p = word[target - 1];
        if p.vowel != NO_VOWEL
            && (p.tone == 0 || target - 1 == from)
            && vni_letter_combo(p.ch, toned(word[target].vowel, tone))
        {
            return;
        }
    }
    word[from].tone = 0;
    word[target].tone = tone;
}
