//! Keystroke residue: Vietnamese typed with the input method switched off keeps its Telex or VNI
//! keystrokes in the text ("Nguyeenx Vawn Aan", "Nguye64n Va8n" for "Nguyễn Văn Ân").
//!
//! [`decode_keystrokes`] turns such a name back into Vietnamese letters, and only where the
//! reading is unambiguous:
//! - the whole name is ASCII letters (Telex) or letters and digits (VNI), in words;
//! - every word reads as one Vietnamese syllable (an initial consonant, one to three vowels, a
//!   final consonant `c ch m n ng nh p t` or none), before or after decoding: "Thomas", "James"
//!   and "Michaela" are not, so a foreign name is never touched; except that where two words or
//!   more carry keystrokes, a word that does not read (a typo on top: "Traanf Coong Phcus") is
//!   kept as written and the others are decoded;
//! - VNI: a digit inside a word is a keystroke (names hold no digits);
//! - Telex, whose keys are letters, needs two words of the name with a sign (a modifier `aa ee oo
//!   aw ow uw w dd`, or a tone key `s f r x j` ending the word), or one with both ("Nguyeenx
//!   Minh"): one sign alone may be a typo ("Traan Huy", "Hungf") or a foreign spelling ("Lee").
//!
//! The tone is put on the syllable's first vowel (or its modified one); the name normalizer then
//! moves it where the canonical placement wants it.

use super::text::TONED;

/// Vowel rows of [`TONED`]: `a ă â e ê i o ô ơ u ư y`.
const A: u8 = 0;
const A_BREVE: u8 = 1;
const A_HAT: u8 = 2;
const E: u8 = 3;
const E_HAT: u8 = 4;
const O: u8 = 6;
const O_HAT: u8 = 7;
const O_HORN: u8 = 8;
const U: u8 = 9;
const U_HORN: u8 = 10;

/// Initial consonants (`đ` written `D`), longest first where one is a prefix of another.
const INITIALS: [&str; 27] = [
    "ngh", "ch", "gh", "gi", "kh", "ng", "nh", "ph", "qu", "th", "tr", "b", "c", "d", "D", "g", "h", "k",
    "l", "m", "n", "p", "r", "s", "t", "v", "x",
];
/// Final consonants.
const FINALS: [&str; 9] = ["", "c", "ch", "m", "n", "ng", "nh", "p", "t"];

/// One letter of a word being decoded: a consonant (ASCII, or `D` for `đ`) or a vowel row.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Consonant(u8),
    Vowel(u8),
}

/// What a word showed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Signs {
    /// A valid syllable with no keystroke in it.
    None,
    /// One Telex sign: a modifier or a tone key.
    One,
    /// A Telex modifier and a tone key.
    Both,
    /// VNI digits.
    Vni,
}

/// Reads `name` as Telex or VNI keystrokes; `None` when it is not (see the module docs).
pub fn decode_keystrokes(name: &str) -> Option<String> {
    if !has_keystroke_sign(name) {
        return None;
    }
    let mut out = String::with_capacity(name.len() + 8);
    let (mut words, mut signed, mut both, mut vni_words, mut unread) = (0, 0, 0, 0, 0);
    for word in name.split_ascii_whitespace() {
        words += 1;
        let lower = word.to_ascii_lowercase();
        if !lower.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        let read = if lower.bytes().any(|b| b.is_ascii_digit()) { vni(&lower) } else { telex(&lower) };
        let Some((units, tone, signs)) = read else {
            unread += 1;
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&lower);
            continue;
        };
        match signs {
            Signs::None => {}
            Signs::One => signed += 1,
            Signs::Both => {
                signed += 1;
                both += 1;
            }
            Signs::Vni => vni_words += 1,
        }
        if !out.is_empty() {
            out.push(' ');
        }
        write_syllable(&units, tone, &mut out)?;
    }
    let decoded = vni_words + signed;
    let enough = vni_words > 0 || signed >= 2 || (both > 0 && words >= 2);
    (enough && (unread == 0 || decoded >= 2)).then_some(out)
}

/// Whether ASCII `name` holds anything a keystroke could be: a digit, a `w`, a doubled `a e o d`,
/// or a word ending in a tone key. One pass over the bytes, no allocation: plain names (most
/// accent-less names) stop here, as they go through this on every normalization.
fn has_keystroke_sign(name: &str) -> bool {
    let bytes = name.as_bytes();
    if !name.is_ascii() {
        return false;
    }
    bytes.iter().enumerate().any(|(i, &b)| {
        let b = b.to_ascii_lowercase();
        let next = bytes.get(i + 1).map(u8::to_ascii_lowercase);
        b.is_ascii_digit()
            || b == b'w'
            || (matches!(b, b'a' | b'e' | b'o' | b'd') && next == Some(b))
            || (telex_tone(b).is_some() && next.is_none_or(|n| !n.is_ascii_alphanumeric()))
    })
}

/// A word read as Telex: its letters, its tone (a [`TONED`] column) and what it showed. `None`
/// when the word is no syllable, with or without decoding.
fn telex(word: &str) -> Option<(Vec<Unit>, u8, Signs)> {
    let mut bytes = word.as_bytes().to_vec();
    let mut tone = 0;
    // A tone key ends the word, after at least one vowel.
    if let Some(&last) = bytes.last()
        && let Some(t) = telex_tone(last)
        && bytes.len() >= 2
        && bytes[..bytes.len() - 1].iter().any(|b| b"aeiouy".contains(b))
    {
        // "s", "r", "x" also start syllables; at the end they are tone keys only if what is left
        // is a syllable (checked below with the rest).
        tone = t;
        bytes.pop();
    }
    let mut units = Vec::with_capacity(bytes.len());
    let mut modified = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        match (b, next) {
            (b'd', Some(b'd')) if i == 0 => {
                units.push(Unit::Consonant(b'D'));
                i += 2;
                modified = true;
                continue;
            }
            (b'a', Some(b'a')) | (b'e', Some(b'e')) | (b'o', Some(b'o')) => {
                units.push(Unit::Vowel(match b {
                    b'a' => A_HAT,
                    b'e' => E_HAT,
                    _ => O_HAT,
                }));
                i += 2;
                modified = true;
                continue;
            }
            (b'w', _) => {
                // `w` marks the last a, o or u before it, right after it ("vawn") or after the
                // syllable ("sonw"), both letters of "uo"; with none, it is `ư` itself ("tw").
                if !mark_last(&mut units, &[A, O, U]) {
                    units.push(Unit::Vowel(U_HORN));
                }
                modified = true;
            }
            _ => units.push(unit(b)?),
        }
        i += 1;
    }
    if !is_syllable(&units) {
        return None;
    }
    let signs = match (modified, tone != 0) {
        (true, true) => Signs::Both,
        (false, false) => Signs::None,
        _ => Signs::One,
    };
    Some((units, tone, signs))
}

/// A word read as VNI: digits 1-5 are tones, 6 a circumflex, 7 a horn, 8 a breve, 9 the bar of
/// `đ`, each on the letter before it.
fn vni(word: &str) -> Option<(Vec<Unit>, u8, Signs)> {
    let mut units: Vec<Unit> = Vec::with_capacity(word.len());
    let mut tone = 0;
    for b in word.bytes() {
        if !b.is_ascii_digit() {
            units.push(unit(b)?);
            continue;
        }
        match b {
            b'1'..=b'5' if tone == 0 => tone = [2, 1, 3, 4, 5][usize::from(b - b'1')],
            b'6' => {
                let at = units.iter().rposition(|u| matches!(u, Unit::Vowel(A | E | O)))?;
                let Unit::Vowel(v) = units[at] else { return None };
                units[at] = Unit::Vowel(match v {
                    A => A_HAT,
                    E => E_HAT,
                    _ => O_HAT,
                });
            }
            // A horn on o or u ("uo7": both letters of ươ), a breve on a.
            b'7' => mark_last(&mut units, &[O, U]).then_some(())?,
            b'8' => mark_last(&mut units, &[A]).then_some(())?,
            b'9' => {
                let at = units.iter().position(|u| *u == Unit::Consonant(b'd'))?;
                units[at] = Unit::Consonant(b'D');
            }
            _ => return None,
        }
    }
    is_syllable(&units).then_some((units, tone, Signs::Vni))
}

/// Puts the breve or horn on the last vowel of `of` (`ă`, `ơ`, `ư`), and on the `u` before an
/// `o` ("uo" is "ươ"); false when there is none.
fn mark_last(units: &mut [Unit], of: &[u8]) -> bool {
    let Some(at) = units.iter().rposition(|u| matches!(u, Unit::Vowel(v) if of.contains(v))) else {
        return false;
    };
    let Unit::Vowel(v) = units[at] else { return false };
    units[at] = Unit::Vowel(match v {
        A => A_BREVE,
        O => O_HORN,
        _ => U_HORN,
    });
    if v == O && at > 0 && units[at - 1] == Unit::Vowel(U) {
        units[at - 1] = Unit::Vowel(U_HORN);
    }
    true
}

fn telex_tone(b: u8) -> Option<u8> {
    match b {
        b'f' => Some(1),
        b's' => Some(2),
        b'r' => Some(3),
        b'x' => Some(4),
        b'j' => Some(5),
        _ => None,
    }
}

fn unit(b: u8) -> Option<Unit> {
    Some(match b {
        b'a' => Unit::Vowel(A),
        b'e' => Unit::Vowel(E),
        b'i' => Unit::Vowel(5),
        b'o' => Unit::Vowel(O),
        b'u' => Unit::Vowel(U),
        b'y' => Unit::Vowel(11),
        b'b'..=b'z' => Unit::Consonant(b),
        _ => return None,
    })
}

/// The syllable's parts: initial consonants, vowels, final consonants, as index ranges.
fn parts(units: &[Unit]) -> (usize, usize) {
    let first_vowel = units.iter().position(|u| matches!(u, Unit::Vowel(_))).unwrap_or(units.len());
    let end_vowel =
        first_vowel + units[first_vowel..].iter().take_while(|u| matches!(u, Unit::Vowel(_))).count();
    (first_vowel, end_vowel)
}

fn consonants(units: &[Unit]) -> Option<String> {
    units
        .iter()
        .map(|u| match u {
            Unit::Consonant(c) => Some(char::from(*c)),
            Unit::Vowel(_) => None,
        })
        .collect()
}

fn is_syllable(units: &[Unit]) -> bool {
    let (start, end) = parts(units);
    let (Some(initial), Some(last)) = (consonants(&units[..start]), consonants(&units[end..])) else {
        return false;
    };
    let vowels = end - start;
    // "qu": its u belongs to the initial, another vowel must follow.
    let initial_ok = initial.is_empty()
        || INITIALS.contains(&initial.as_str())
        || (initial == "q" && vowels >= 2 && units[start] == Unit::Vowel(U));
    initial_ok && (1..=3).contains(&vowels) && FINALS.contains(&last.as_str())
}

/// Writes the syllable with its tone on the vowel that takes it (a modified one, else the first);
/// the name normalizer settles the canonical placement. `None` is never returned for a syllable
/// that [`is_syllable`] accepted.
fn write_syllable(units: &[Unit], tone: u8, out: &mut String) -> Option<()> {
    let (start, end) = parts(units);
    let vowels = &units[start..end];
    let modified = vowels.iter().rposition(|u| matches!(u, Unit::Vowel(v) if is_modified_row(*v)));
    let toned_at = start + modified.unwrap_or(0);
    for (k, u) in units.iter().enumerate() {
        match *u {
            Unit::Consonant(b'D') => out.push('đ'),
            Unit::Consonant(c) => out.push(char::from(c)),
            Unit::Vowel(v) => out.push(*TONED.get(usize::from(v))?.get(usize::from(if k == toned_at {
                tone
            } else {
                0
            }))?),
        }
    }
    Some(())
}

fn is_modified_row(v: u8) -> bool {
    matches!(v, A_BREVE | A_HAT | E_HAT | O_HAT | O_HORN | U_HORN)
}

#[cfg(test)]
mod tests {
    use super::decode_keystrokes;

    #[test]
    fn telex_and_vni_names_decode() {
        for (input, want) in [
            ("Nguyeenx Vawn Aan", "nguyễn văn ân"),
            ("Nguye64n Va8n A6n", "nguyễn văn ân"),
            ("Traanf Thij Hoaf", "trần thị hòa"),
            ("Ddinhf Quoocs Trung", "đình quốc trung"),
            ("Tru7o7ng Va8n D9inh", "trương văn đinh"),
            ("Truowng Vawn Minh", "trương văn minh"),
            ("Nguyen Van Hungf Sonw", "nguyen van hùng sơn"),
            // A typo on top of the keystrokes: that word stays as written.
            ("Traanf Coong Phcus", "trần công phcus"),
        ] {
            assert_eq!(decode_keystrokes(input).as_deref(), Some(want), "{input}");
        }
    }

    #[test]
    fn other_names_are_left_alone() {
        for input in [
            "Nguyen Van An",        // plain: nothing to decode
            "Nguyen Van Hungf",     // a lone tone key may be a typo
            "Traan Huy",            // so may a lone doubled vowel
            "Lguyeenx Quang Toanf", // one readable word with a sign, one that does not read
            "Nguyeenx",             // one word: a given-name column, say
            "W",
            "Thomas Lees", // not Vietnamese syllables
            "James Ross",
            "Michaela Neumann",
            "Ksor H'Bia",
            "Nguyễn Văn Ân", // not ASCII
            "12 34",
            "",
        ] {
            assert_eq!(decode_keystrokes(input), None, "{input}");
        }
    }
}
