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

//!
//! The module's parts: `letters` (letters and tone marks, folding), `legacy` (TCVN3 and VNI)
//! and `pass` (the single normalization pass).

mod legacy;
mod letters;
mod pass;

pub use legacy::{LegacyEncoding, decode_legacy_into, detect_legacy_encoding, encode_legacy_into};
pub use letters::{TONED, fold_accents, fold_accents_into, fold_char, has_vietnamese_diacritics};
pub(crate) use letters::{VOWEL_FOLDED, fold_char_or_drop, is_combining, toned, viet_letter};
pub(crate) use pass::{Sink, normalize_text_with};
pub use pass::{TextScratch, normalize_text, normalize_text_into};

#[cfg(test)]
mod tests {
    use unicode_normalization::{IsNormalized, is_nfc_quick};

    use super::legacy::{is_alnum, is_upper};
    use super::letters::{TONED_UPPER, letter_code};
    use super::*;

    #[test]
    fn fast_character_classes_match_the_standard_library() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(is_alnum(c), c.is_alphanumeric(), "{c:?}");
            assert_eq!(is_upper(c), c.is_uppercase(), "{c:?}");
        }
    }

    #[test]
    fn vietnamese_letters_are_nfc_and_end_legacy_detection() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32).filter(|&c| letter_code(c) != 0) {
            let s = c.to_string();
            assert_eq!(is_nfc_quick(s.chars()), IsNormalized::Yes, "{c:?}");
            if c as u32 > 0xFF {
                // `detect_legacy_encoding` returns `None` at the first such letter.
                assert!(is_alnum(c), "{c:?}");
                let lower: Vec<char> = c.to_lowercase().collect();
                assert!(lower.len() == 1 && lower[0] as u32 > 0xFF, "{c:?}");
            }
        }
    }

    #[test]
    fn tables_are_consistent() {
        for (v, row) in TONED.iter().enumerate() {
            for (t, &c) in row.iter().enumerate() {
                let l = viet_letter(c).expect("vowel in table");
                assert_eq!((usize::from(l.vowel), usize::from(l.tone), l.upper), (v, t, false));
                let u = viet_letter(TONED_UPPER[v][t]).expect("upper vowel in table");
                assert_eq!((usize::from(u.vowel), usize::from(u.tone), u.upper), (v, t, true));
            }
        }
    }

    #[test]
    fn canonical_tone_placement() {
        for (input, want) in [
            ("Hòa", "hoà"),
            ("hoà", "hoà"),
            ("Thủy", "thuỷ"),
            ("Qúy", "quý"),
            ("Quý", "quý"),
            ("úy", "uý"),
            ("Hoàng", "hoàng"),
            ("Huỳnh", "huỳnh"),
            ("Nguyễn", "nguyễn"),
            ("Trường", "trường"),
            ("khỏe", "khoẻ"),
            ("gịa", "giạ"),
            ("Giữ", "giữ"),
            ("hoài", "hoài"),
            ("của", "của"),
        ] {
            assert_eq!(normalize_text(input), want, "{input}");
        }
    }

    #[test]
    fn legacy() {
        assert_eq!(normalize_text("NguyÔn V¨n An"), "nguyễn văn an");
        assert_eq!(normalize_text("§µo ThÞ Hoa"), "đào thị hoa");
        assert_eq!(normalize_text("Nguyeãn Vaên An"), "nguyễn văn an");
        assert_eq!(normalize_text("Hoaøng Tröông"), "hoàng trương");
        assert_eq!(normalize_text("Hoà"), "hoà");
    }

    #[test]
    fn legacy_encoding_round_trips() {
        let mut enc = String::new();
        let mut dec = String::new();
        for name in ["Nguyễn Thị Thuỷ", "Đặng Văn Hoà", "Trương Ngọc Ánh", "Lưu Thị Yến", "Phạm Quốc Việt"]
        {
            encode_legacy_into(name, LegacyEncoding::Vni, &mut enc);
            assert_eq!(detect_legacy_encoding(&enc), Some(LegacyEncoding::Vni), "{enc}");
            decode_legacy_into(&enc, LegacyEncoding::Vni, &mut dec);
            assert_eq!(dec, name);
            encode_legacy_into(name, LegacyEncoding::Tcvn3, &mut enc);
            decode_legacy_into(&enc, LegacyEncoding::Tcvn3, &mut dec);
            assert_eq!(normalize_text(&dec), normalize_text(name), "{enc}");
        }
        encode_legacy_into("Nguyễn", LegacyEncoding::Vni, &mut enc);
        assert_eq!(enc, "Nguyeãn");
    }
}
