//! The compact alphabet: one byte per character of normalized Vietnamese text.
//!
//! This is **the input format of the similarity kernels**. Vietnamese letters are two or three
//! bytes in UTF-8, so byte-wise edit distances on UTF-8 would count "ễ" against "e" as several
//! edits and mix up the bytes of unrelated letters. Encoding each character as one byte lets the
//! kernels (Levenshtein, Jaro-Winkler, q-grams, SIMD) work byte by byte with the meaning of
//! characters, and lets the folded (accent-less) comparison be a table lookup per byte
//! ([`fold_code`]) instead of a second normalization.
//!
//! Code points:
//!
//! | codes          | characters                                                               |
//! |----------------|--------------------------------------------------------------------------|
//! | `0x00..=0x7F`  | ASCII, unchanged, except `A-Z` which encode as `a-z`                     |
//! | `0x80..=0xC7`  | Vietnamese vowels: `0x80 + 6 * vowel + tone` (see below)                 |
//! | `0xC8`         | `đ` (also `Đ` and the look-alikes `ð`, `Ð`, `Ɖ`)                         |
//! | `0xC9..=0xEF`  | reserved, never produced                                                 |
//! | `0xF0..=0xFF`  | escape: any other character, `0xF0 + hash(char) % 16`                    |
//!
//! `vowel` is the index in `a ă â e ê i o ô ơ u ư y` (0..=11) and `tone` is 0 none, 1 grave
//! (huyền), 2 acute (sắc), 3 hook (hỏi), 4 tilde (ngã), 5 dot below (nặng). The six toneless
//! plain vowels `a e i o u y` use their ASCII codes, so their slots (`0x80`, `0x92`, `0x9E`, `0xA4`,
//! `0xB6`, `0xC2`) are never produced: every character has exactly one code. Together: the 26
//! ASCII letters, digits, space and ASCII punctuation (`- ' / . ,` are the ones normalized text
//! keeps), the 66 non-ASCII vowel letters and `đ` (67 Vietnamese letters).
//!
//! Unknown characters (Chinese, Cyrillic, symbols) share 16 escape codes; the hash keeps unequal
//! unknown characters unequal with probability 15/16, and an unknown character never equals a
//! known one. Upper-case Vietnamese letters encode as lower case; decomposed (NFD) input is not
//! recomposed here: encode text produced by [`super::text::normalize_text_into`].

use super::text::{VOWEL_FOLDED, toned, viet_letter};

/// First code of the Vietnamese vowel block.
pub(crate) const VOWEL_BASE: u8 = 0x80;
/// Code of `đ`.
pub(crate) const DD: u8 = 0xC8;
/// First escape code; codes `ESCAPE_START..=0xFF` stand for characters outside the alphabet.
pub(crate) const ESCAPE_START: u8 = 0xF0;

const ASCII_VOWEL_INDEX: [(u8, u8); 6] = [(0, b'a'), (3, b'e'), (5, b'i'), (6, b'o'), (9, b'u'), (11, b'y')];

const fn build_fold() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = i as u8;
        i += 1;
    }
    let mut v = 0;
    while v < 12 {
        let mut tone = 0;
        while tone < 6 {
            t[VOWEL_BASE as usize + v * 6 + tone] = VOWEL_FOLDED[v];
            tone += 1;
        }
        v += 1;
    }
    t[DD as usize] = b'd';
    t
}

const fn build_toneless() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = i as u8;
        i += 1;
    }
    let mut v = 0;
    while v < 12 {
        let mut tone = 0;
        while tone < 6 {
            t[VOWEL_BASE as usize + v * 6 + tone] = vowel_code(v as u8, 0);
            tone += 1;
        }
        v += 1;
    }
    t
}

/// The code of vowel `v` (0..=11) with `tone` (0..=5).
const fn vowel_code(v: u8, tone: u8) -> u8 {
    if tone == 0 {
        let mut i = 0;
        while i < ASCII_VOWEL_INDEX.len() {
            if ASCII_VOWEL_INDEX[i].0 == v {
                return ASCII_VOWEL_INDEX[i].1;
            }
            i += 1;
        }
    }
    VOWEL_BASE + v * 6 + tone
}

static FOLD: [u8; 256] = build_fold();
static TONELESS: [u8; 256] = build_toneless();

/// The code of one character.
#[inline]
pub fn encode_char(c: char) -> u8 {
    if c.is_ascii() {
        return (c as u8).to_ascii_lowercase();
    }
    match viet_letter(c) {
        Some(l) if l.vowel == 12 => DD,
        Some(l) => vowel_code(l.vowel, l.tone),
        None => escape(c),
    }
}

#[inline]
fn escape(c: char) -> u8 {
    let h = (c as u32).wrapping_mul(0x9E37_79B1) >> 28;
    ESCAPE_START | (h as u8 & 0x0F)
}

/// Encodes `s` into `out`, which is cleared first: one byte per character.
pub fn encode_into(s: &str, out: &mut Vec<u8>) {
    out.clear();
    out.extend(s.chars().map(encode_char));
}

/// Encodes `s` into `out` (cleared first) in folded form: tones and modifiers removed, `đ` as `d`.
pub fn encode_folded_into(s: &str, out: &mut Vec<u8>) {
    out.clear();
    out.extend(s.chars().map(|c| fold_code(encode_char(c))));
}

/// The folded code: vowels lose tone and modifier (`ễ` to `e`), `đ` becomes `d`; other codes are
/// unchanged.
#[inline]
pub fn fold_code(code: u8) -> u8 {
    FOLD[usize::from(code)]
}

/// The code without tone but with the vowel's modifier (`ễ` to `ê`); other codes unchanged.
#[inline]
pub fn toneless_code(code: u8) -> u8 {
    TONELESS[usize::from(code)]
}

/// Folds encoded text in place (see [`fold_code`]).
pub fn fold_codes_in_place(codes: &mut [u8]) {
    for c in codes {
        *c = FOLD[usize::from(*c)];
    }
}

/// Whether `code` is an escape code (a character outside the alphabet).
#[inline]
pub const fn is_escape(code: u8) -> bool {
    code >= ESCAPE_START
}

/// The character a code stands for; `None` for escape and reserved codes.
pub fn decode_code(code: u8) -> Option<char> {
    match code {
        0..=0x7F => Some(char::from(code)),
        DD => Some('đ'),
        VOWEL_BASE..DD => {
            let k = code - VOWEL_BASE;
            let (v, t) = (k / 6, k % 6);
            if vowel_code(v, t) == code { Some(toned(v, t)) } else { None }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vietnamese_letter_has_one_code() {
        let mut seen = std::collections::HashSet::new();
        for v in 0..12u8 {
            for t in 0..6u8 {
                let c = toned(v, t);
                let code = encode_char(c);
                assert_eq!(decode_code(code), Some(c));
                assert!(seen.insert(code));
                assert_eq!(char::from(fold_code(code)), super::super::text::fold_char(c));
            }
        }
        assert_eq!(encode_char('đ'), DD);
        assert_eq!(encode_char('Đ'), DD);
        assert_eq!(encode_char('ð'), DD);
        // 66 non-ASCII vowels + đ.
        assert_eq!(seen.iter().filter(|&&c| c >= 0x80).count() + 1, 67);
        assert!(is_escape(encode_char('中')));
    }
}
