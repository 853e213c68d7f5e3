//! Corruptions: the variations clerks and old systems put into names, dates, ids, phones and
//! addresses (shared/domain.md). Each returns whether it changed the value.

use rand::Rng;
use unicode_normalization::UnicodeNormalization;

use khop::normalize::text::{LegacyEncoding, TONED, encode_legacy_into, fold_accents};

const A: usize = 0;
const E: usize = 3;
const I: usize = 5;
const O: usize = 6;
const U: usize = 9;
const Y: usize = 11;

/// (vowel index, tone, upper) of a Vietnamese vowel.
fn vowel(c: char) -> Option<(usize, usize, bool)> {
    let lower = c.to_lowercase().next().unwrap_or(c);
    for (v, row) in TONED.iter().enumerate() {
        if let Some(t) = row.iter().position(|&x| x == lower) {
            return Some((v, t, lower != c));
        }
    }
    None
}

fn compose(v: usize, t: usize, upper: bool) -> char {
    let c = TONED[v][t];
    if upper { c.to_uppercase().next().unwrap_or(c) } else { c }
}

/// Moves the tone mark between the old and new placement in `oa`, `oe`, `uy` syllables without a
/// final consonant: hòa <-> hoà, thủy <-> thuỷ.
pub(crate) fn tone_placement(name: &mut String) -> bool {
    let mut changed = false;
    let words: Vec<String> = name
        .split(' ')
        .map(|w| {
            let mut cs: Vec<char> = w.chars().collect();
            let n = cs.len();
            if n >= 2
                && let (Some((v1, t1, u1)), Some((v2, t2, u2))) = (vowel(cs[n - 2]), vowel(cs[n - 1]))
                && matches!((v1, v2), (O, A) | (O, E) | (U, Y))
                && !(v1 == U && n >= 3 && matches!(cs[n - 3], 'q' | 'Q'))
                && (t1 == 0) != (t2 == 0)
            {
                let t = t1.max(t2);
                if t1 == 0 {
                    cs[n - 2] = compose(v1, t, u1);
                    cs[n - 1] = compose(v2, 0, u2);
                } else {
                    cs[n - 2] = compose(v1, 0, u1);
                    cs[n - 1] = compose(v2, t, u2);
                }
                changed = true;
            }
            cs.into_iter().collect()
        })
        .collect();
    if changed {
        *name = words.join(" ");
    }
    changed
}

/// Swaps a word-final `y` and `i` after a consonant (Vy/Vi, Quý/Quí, Mỹ/Mĩ), in the given name.
pub(crate) fn i_y(name: &mut String) -> bool {
    let Some(start) = name.rfind(' ').map(|i| i + 1).or(Some(0)) else {
        return false;
    };
    let word: Vec<char> = name[start..].chars().collect();
    let n = word.len();
    if n < 2 {
        return false;
    }
    let Some((v, t, up)) = vowel(word[n - 1]) else {
        return false;
    };
    let prev_is_vowel = vowel(word[n - 2]).is_some() && !(n >= 3 && matches!(word[n - 3], 'q' | 'Q'));
    if prev_is_vowel || !(v == I || v == Y) {
        return false;
    }
    let mut w = word;
    w[n - 1] = compose(if v == I { Y } else { I }, t, up);
    name.truncate(start);
    name.extend(w);
    true
}

const KEYBOARD_NEIGHBOURS: &[(char, &str)] = &[
    ('a', "sq"),
    ('b', "vn"),
    ('c', "xv"),
    ('d', "sf"),
    ('e', "wr"),
    ('g', "fh"),
    ('h', "gj"),
    ('i', "uo"),
    ('k', "jl"),
    ('l', "k"),
    ('m', "n"),
    ('n', "mb"),
    ('o', "ip"),
    ('p', "o"),
    ('q', "w"),
    ('r', "et"),
    ('s', "ad"),
    ('t', "ry"),
    ('u', "yi"),
    ('v', "cb"),
    ('x', "zc"),
    ('y', "tu"),
];

/// One keyboard slip: a neighbour key, a doubled, dropped or transposed letter.
pub(crate) fn typo<R: Rng>(name: &mut String, rng: &mut R) -> bool {
    let mut cs: Vec<char> = name.chars().collect();
    let letters: Vec<usize> = (0..cs.len()).filter(|&i| cs[i].is_alphabetic()).collect();
    if letters.len() < 2 {
        return false;
    }
    let i = letters[rng.random_range(0..letters.len())];
    match rng.random_range(0..4) {
        0 => {
            let lower = cs[i].to_ascii_lowercase();
            let Some((_, near)) = KEYBOARD_NEIGHBOURS.iter().find(|(c, _)| *c == lower) else {
                cs.insert(i, cs[i]);
                *name = cs.into_iter().collect();
                return true;
            };
            let near: Vec<char> = near.chars().collect();
            let r = near[rng.random_range(0..near.len())];
            cs[i] = if cs[i].is_uppercase() { r.to_ascii_uppercase() } else { r };
        }
        1 => cs.insert(i, cs[i]),
        2 => {
            cs.remove(i);
        }
        _ => {
            if i + 1 < cs.len() && cs[i + 1].is_alphabetic() && cs[i] != cs[i + 1] {
                cs.swap(i, i + 1);
            } else {
                cs.insert(i, cs[i]);
            }
        }
    }
    let out: String = cs.into_iter().collect();
    let changed = out != *name;
    *name = out;
    changed
}

/// Clerks write what they hear: initial d/gi/r, ch/tr, s/x, n/l, and final n/ng, in one word.
pub(crate) fn dialect<R: Rng>(name: &mut String, rng: &mut R) -> bool {
    const INITIAL: &[(&str, &str)] = &[
        ("Gi", "D"),
        ("D", "Gi"),
        ("R", "D"),
        ("Tr", "Ch"),
        ("Ch", "Tr"),
        ("S", "X"),
        ("X", "S"),
        ("N", "L"),
        ("L", "N"),
    ];
    let words: Vec<&str> = name.split(' ').collect();
    if words.is_empty() {
        return false;
    }
    let start = rng.random_range(0..words.len());
    for k in 0..words.len() {
        let i = (start + k) % words.len();
        let w = words[i];
        let replaced = INITIAL
            .iter()
            .find(|(from, _)| w.starts_with(from) && !(*from == "D" && w.starts_with("Đ")))
            .map(|(from, to)| format!("{to}{}", &w[from.len()..]))
            .or_else(|| w.strip_suffix("ng").map(|s| format!("{s}n")))
            .or_else(|| (w.ends_with('n') && w.len() > 2).then(|| format!("{w}g")));
        if let Some(r) = replaced {
            let mut ws: Vec<String> = words.iter().map(|s| (*s).to_owned()).collect();
            ws[i] = r;
            *name = ws.join(" ");
            return true;
        }
    }
    false
}

/// Decomposed Unicode (NFD).
pub(crate) fn nfd(s: &mut String) -> bool {
    let out: String = s.nfd().collect();
    let changed = out != *s;
    *s = out;
    changed
}

/// Diacritics dropped.
pub(crate) fn accents(s: &mut String) -> bool {
    let out = fold_accents(s);
    let changed = out != *s;
    *s = out;
    changed
}

/// Keystroke residue: the name typed with the Vietnamese input method switched off, in Telex
/// (`vni` false: "Nguyeenx Vawn Aan") or VNI ("Nguye64n Va8n A6n"): each modified letter as its
/// base and modifier keys, each word's tone key at the end of the word.
pub(crate) fn keystrokes(s: &mut String, vni: bool) -> bool {
    const TELEX_TONES: [&str; 6] = ["", "f", "s", "r", "x", "j"];
    const VNI_TONES: [&str; 6] = ["", "2", "1", "3", "4", "5"];
    let mut out = String::with_capacity(s.len() + 8);
    let mut tone = 0;
    let end_word = |out: &mut String, tone: &mut usize| {
        out.push_str(if vni { VNI_TONES[*tone] } else { TELEX_TONES[*tone] });
        *tone = 0;
    };
    for c in s.chars() {
        if c.is_whitespace() {
            end_word(&mut out, &mut tone);
            out.push(c);
            continue;
        }
        let upper = c.is_uppercase();
        let lower = c.to_lowercase().next().unwrap_or(c);
        let keys: Option<(&str, &str, &str)> = match lower {
            'đ' => Some(("d", "d", "9")),
            _ => TONED.iter().enumerate().find_map(|(row, tones)| {
                let t = tones.iter().position(|&x| x == lower)?;
                tone = tone.max(t);
                // Base letter, Telex modifier, VNI modifier.
                Some(match row {
                    1 => ("a", "w", "8"),
                    2 => ("a", "a", "6"),
                    4 => ("e", "e", "6"),
                    7 => ("o", "o", "6"),
                    8 => ("o", "w", "7"),
                    10 => ("u", "w", "7"),
                    _ => (["a", "", "", "e", "", "i", "o", "", "", "u", "", "y"][row], "", ""),
                })
            }),
        };
        match keys {
            Some((base, telex, vni_key)) => {
                let base = if upper { base.to_uppercase() } else { base.to_owned() };
                out.push_str(&base);
                out.push_str(if vni { vni_key } else { telex });
            }
            None => out.push(c),
        }
    }
    end_word(&mut out, &mut tone);
    let changed = out != *s;
    *s = out;
    changed
}

/// Mojibake of a legacy encoding read as Latin-1.
pub(crate) fn legacy(s: &mut String, enc: LegacyEncoding) -> bool {
    let mut out = String::with_capacity(s.len() + 8);
    encode_legacy_into(s, enc, &mut out);
    let changed = out != *s;
    *s = out;
    changed
}

/// Icelandic ð typed for đ.
pub(crate) fn lookalike(s: &mut String) -> bool {
    if !s.contains(['đ', 'Đ']) {
        return false;
    }
    *s = s.replace('đ', "ð").replace('Đ', "Ð");
    true
}

/// Changes one digit of an id.
pub(crate) fn digit_typo<R: Rng>(id: &mut String, rng: &mut R) -> bool {
    let mut b = id.clone().into_bytes();
    if b.is_empty() {
        return false;
    }
    let i = rng.random_range(0..b.len());
    if !b[i].is_ascii_digit() {
        return false;
    }
    let d = b[i] - b'0';
    b[i] = b'0' + (d + rng.random_range(1..10)) % 10;
    *id = String::from_utf8(b).unwrap_or_default();
    true
}

/// The pre-2018 11-digit form of a mobile number, when its prefix was converted.
pub(crate) fn old_phone(phone: &str) -> Option<String> {
    const MAP: &[(&str, &str)] = &[
        ("032", "0162"),
        ("033", "0163"),
        ("034", "0164"),
        ("035", "0165"),
        ("036", "0166"),
        ("037", "0167"),
        ("038", "0168"),
        ("039", "0169"),
        ("070", "0120"),
        ("079", "0121"),
        ("077", "0122"),
        ("076", "0126"),
        ("078", "0128"),
        ("083", "0123"),
        ("084", "0124"),
        ("085", "0125"),
        ("081", "0127"),
        ("082", "0129"),
        ("056", "0186"),
        ("058", "0188"),
        ("059", "0199"),
    ];
    let (new, old) = MAP.iter().find(|(new, _)| phone.starts_with(new))?;
    Some(format!("{old}{}", &phone[new.len()..]))
}

/// Whether a corruption kind of the synthetic generator changes what a field says (a conflict
/// the worklist must report) rather than how it is written (which normalization removes and the
/// worklist must not report). See `khop::reconcile` for the rules on the engine's side; `khop::eval::conflict_scores` takes this as its rule.
///
/// Content: `typo`, `typo_two`, `dialect` (a different spelling), `middle_dropped`, `reversed_order`, the
/// date changes (`day_month_swap`, `year_off_by_one`, `placeholder_date`, `year_only`), the id
/// changes (`id_typo`, `old_id_only`), `outdated_address` (a previous residence), and every
/// value left out (`id_missing`, `sex_missing`, `phone_missing`, `address_missing`).
///
/// Writing: `accents_dropped`, `nfd`, `tcvn3`, `vni`, `lookalike`, `upper_case`,
/// `tone_placement`, `i_y` (Vy/Vi), `honorific`, `run_together` (spaces between syllables),
/// `keystrokes` (Telex or VNI keys left in the name) and
/// `phone_old_format` (an 11-digit number that normalization converts). Unknown kinds count as
/// content.
pub fn is_content_corruption(kind: &str) -> bool {
    !matches!(
        kind,
        "accents_dropped"
            | "nfd"
            | "tcvn3"
            | "vni"
            | "lookalike"
            | "upper_case"
            | "tone_placement"
            | "i_y"
            | "honorific"
            | "run_together"
            | "keystrokes"
            | "phone_old_format"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keystrokes_write_telex_and_vni_that_the_engine_reads_back() {
        let cases = [
            ("Nguyễn Văn Ân", "Nguyeenx Vawn Aan", "Nguye6n4 Va8n A6n"),
            ("Trương Thị Hoà", "Truwowng Thij Hoaf", "Tru7o7ng Thi5 Hoa2"),
            ("Đặng Quốc Việt", "Ddawngj Quoocs Vieetj", "D9a8ng5 Quo6c1 Vie6t5"),
        ];
        for (name, telex, vni) in cases {
            for (as_vni, want) in [(false, telex), (true, vni)] {
                let mut s = name.to_owned();
                assert!(keystrokes(&mut s, as_vni));
                assert_eq!(s, want);
                let back = khop::normalize::name::normalize_name(&s);
                assert_eq!(back.full, khop::normalize::name::normalize_name(name).full, "{s}");
            }
        }
    }

    #[test]
    fn tone_and_spelling() {
        let mut s = "Nguyễn Thị Hòa".to_owned();
        assert!(tone_placement(&mut s));
        assert_eq!(s, "Nguyễn Thị Hoà");
        assert!(tone_placement(&mut s));
        assert_eq!(s, "Nguyễn Thị Hòa");
        let mut s = "Lê Thị Thuỷ".to_owned();
        assert!(tone_placement(&mut s));
        assert_eq!(s, "Lê Thị Thủy");
        let mut s = "Trần Quý".to_owned();
        assert!(i_y(&mut s));
        assert_eq!(s, "Trần Quí");
        let mut s = "Lê Mỹ".to_owned();
        assert!(i_y(&mut s));
        assert_eq!(s, "Lê Mĩ");
        let mut s = "Lê Huy".to_owned();
        assert!(!i_y(&mut s));
        assert_eq!(old_phone("0321234567").as_deref(), Some("01621234567"));
    }
}
