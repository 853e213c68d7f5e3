//! Vietnamese letters and tone marks: the tables of toned vowels, one code per precomposed
//! Vietnamese letter, and accent folding.

use super::legacy::detect_legacy_encoding;

/// The ASCII letter each vowel (the rows of [`TONED`]: `a ă â e ê i o ô ơ u ư y`) folds to.
pub(crate) const VOWEL_FOLDED: [u8; 12] = *b"aaaeeiooouuy";

/// Vowel indices (rows of [`TONED`]) that carry a modifier (breve, circumflex or horn).
pub(super) const fn is_modified(vowel: u8) -> bool {
    matches!(vowel, 1 | 2 | 4 | 7 | 8 | 10)
}

/// The twelve Vietnamese vowels (rows: a ă â e ê i o ô ơ u ư y) with each tone (columns: 0 none
/// (ngang), 1 grave (huyền), 2 acute (sắc), 3 hook above (hỏi), 4 tilde (ngã), 5 dot below
/// (nặng)), lower case and precomposed.
pub const TONED: [[char; 6]; 12] = [
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

pub(super) const TONED_UPPER: [[char; 6]; 12] = [
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
pub(super) fn letter_code(c: char) -> u8 {
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
    // In range for every letter code; out-of-range arguments give the plain vowel or `a`.
    TONED.get(usize::from(vowel)).map_or('a', |row| row.get(usize::from(tone)).copied().unwrap_or(row[0]))
}

/// Folds one character: Vietnamese vowels lose tone and modifier, `đ`/`Đ` become `d`/`D`, other
/// letters with canonical decompositions lose their marks (`é` to `e`, `ü` to `u`); case is kept.
/// Lone combining marks fold to themselves; [`fold_accents_into`] drops them.
#[inline]
pub fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c;
    }
    let code = letter_code(c);
    if code != 0 {
        return fold_letter_code(code);
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

/// The folded (ASCII) letter of a non-zero [`letter_code`], case kept.
#[inline]
fn fold_letter_code(code: u8) -> char {
    let vowel = (code & 0x0F) - 1;
    let base = if vowel == 12 { b'd' } else { VOWEL_FOLDED[usize::from(vowel)] };
    if code & 0x80 != 0 { char::from(base.to_ascii_uppercase()) } else { char::from(base) }
}

/// [`fold_char`], or `None` for a combining mark (dropped, as [`fold_accents_into`] does).
/// ASCII and Vietnamese letters, the common case, are answered before the Unicode mark lookup.
#[inline]
pub(crate) fn fold_char_or_drop(c: char) -> Option<char> {
    if c.is_ascii() {
        return Some(c);
    }
    let code = letter_code(c);
    if code != 0 {
        Some(fold_letter_code(code))
    } else if unicode_normalization::char::is_combining_mark(c) {
        None
    } else {
        Some(fold_char(c))
    }
}

/// Writes the accent-folded form of `input` into `out` (cleared first): see [`fold_char`];
/// combining marks are dropped, so decomposed input folds like composed input.
pub fn fold_accents_into(input: &str, out: &mut String) {
    out.clear();
    out.extend(input.chars().filter_map(fold_char_or_drop));
}

/// Allocating convenience for [`fold_accents_into`].
pub fn fold_accents(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    fold_accents_into(input, &mut out);
    out
}

#[inline]
pub(crate) fn is_combining(c: char) -> bool {
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
