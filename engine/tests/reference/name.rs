//! Test-only reference: `normalize/name.rs` as it was before the throughput work (commit
//! 97e2f78), kept verbatim apart from this header, its unit tests and two later changes applied
//! to both (a name whose stripped honorific hid legacy text is normalized again from its output;
//! Telex and VNI keystrokes are decoded, by the engine's own `normalize::keystroke`, which has
//! its own tests), so that the differential property tests in `super` can check that the
//! optimized code gives exactly the same results.
#![allow(dead_code)]

//! Personal names: split into family, middle and given names, with keys for blocking and comparison.
//!
//! [`normalize_name_into`] runs [`super::text`] normalization and then:
//! - **Honorifics** typed into the name field are stripped from the front: `Bà`, `Chị`, `Cô`, `Mr`,
//!   `Mrs`, `Ms`, `Miss` whenever two tokens remain; `Ông` (also a family name), `Anh` (also a
//!   middle and given name) and the accent-less `ong ba chi co` only when a known family name
//!   follows.
//! - **Reversed order** ("An Nguyen", "Van An Nguyen": given name first, as foreign-style systems
//!   store it) is detected with the family-name frequency table (`engine/data/family_names.tsv`)
//!   and repaired by moving the family name to the front. The name is reversed when the last token
//!   is a family name and either the first token is `Văn`/`Thị`, or the first token is not a
//!   family name and the last has a share ≥ 0.5%, or the last is ≥ 1% and at least 20 times more
//!   frequent than the first ("Mai Nguyễn"). A `Văn`/`Thị` in second place confirms the written
//!   order. Ambiguous cases ("Hoàng Nguyễn": both frequent) keep the written order.
//! - **Compound family names** from the table ("Hoàng Phủ", "Tôn Thất", "Âu Dương") take two
//!   tokens when at least one token follows them.
//! - **Ethnic-minority names** (a clan name such as Ksor, Niê, Rmah, Êban, Siu; a token with an
//!   apostrophe such as H'Hen; or a consonant cluster Vietnamese does not have, such as `ks`,
//!   `rm`, `kp`, `hm`, `ml`, `bk`) are left in their written order; the clan name, where found,
//!   is the family name.
//! - The last token is the given name, the tokens between family and given the middle names. A
//!   single token is a given name.
//!
//! Keys ([`NormalizedName`]): the normalized full name, family, middle and given names; their
//! accent-folded forms; and a **phonetic key** ([`phonetic_key_into`]) of the full and given
//! names, computed per syllable from the folded form, merging what clerks confuse when they write
//! what they hear (domain notes, "dialect-driven misspellings"):
//! - initials `d`, `đ`, `gi`, `r` -> `z`; `ch`, `tr` -> `ch`; `s`, `x` -> `s`; `n`, `l` -> `l`
//!   (not the `n` of `ng`/`nh`); `c`, `k` -> `k`; `ngh` -> `ng`; `gh` -> `g`;
//! - finals `ng` -> `n` and `c` -> `t` (`nh` and `ch` stay);
//! - `i`/`y`: a nucleus that is a lone `y` becomes `i` (Vy/Vi, Ly/Li, Quý/Quí, Kỳ/Kì, Mỹ/Mĩ,
//!   Sỹ/Sĩ), and `yê` becomes `iê`; `uy`, `ay` stay (Huy is not Hui, Tay not Tai);
//! - tones, modifiers and `đ` are ignored (folded form).
//!
//! Tokens that are not one Vietnamese syllable are copied folded. Northern/southern pairs stay
//! apart in every key: Hoàng `hoan` / Huỳnh `huynh`, Vũ `vu` / Võ `vo` (similar, never equal).

use std::sync::LazyLock;

use super::text::{TextScratch, detect_legacy_encoding, fold_char, normalize_text_into};

/// Flags describing how a name was read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NameFlags(u8);

impl NameFlags {
    /// No flag.
    pub const NONE: Self = Self(0);
    /// The name was written given-name first and has been reordered.
    pub const REVERSED: Self = Self(1);
    /// An honorific was stripped.
    pub const HONORIFIC: Self = Self(1 << 1);
    /// An ethnic-minority name, left in written order.
    pub const MINORITY: Self = Self(1 << 2);
    /// The family name is a compound of two tokens.
    pub const COMPOUND_FAMILY: Self = Self(1 << 3);
    /// Nothing left after normalization.
    pub const EMPTY: Self = Self(1 << 4);
    /// Telex or VNI keystrokes were decoded.
    pub const KEYSTROKES: Self = Self(1 << 5);

    /// Whether every flag in `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Sets the flags of `other`.
    pub fn insert(&mut self, other: Self) {
        self.0 |= other.0;
    }

    /// Names of the set flags, lower case, for reports and test data.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        const NAMES: [&str; 6] =
            ["reversed", "honorific", "minority", "compound_family", "empty", "keystrokes"];
        NAMES.into_iter().enumerate().filter(move |(i, _)| self.0 & (1 << i) != 0).map(|(_, n)| n)
    }
}

/// A normalized name and its keys. Reuse one value per thread with [`normalize_name_into`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NormalizedName {
    /// Full name, normalized (lower case, NFC, canonical tone marks), family name first.
    pub full: String,
    /// Family name (one or two tokens).
    pub family: String,
    /// Middle names, space-separated (may be empty).
    pub middle: String,
    /// Given name (last token).
    pub given: String,
    /// Accent-folded full name (`nguyen van an`).
    pub folded_full: String,
    /// Accent-folded family name.
    pub folded_family: String,
    /// Accent-folded given name.
    pub folded_given: String,
    /// Phonetic key of the full name.
    pub phonetic_full: String,
    /// Phonetic key of the given name.
    pub phonetic_given: String,
    /// How the name was read.
    pub flags: NameFlags,
}

impl NormalizedName {
    fn clear(&mut self) {
        self.full.clear();
        self.family.clear();
        self.middle.clear();
        self.given.clear();
        self.folded_full.clear();
        self.folded_family.clear();
        self.folded_given.clear();
        self.phonetic_full.clear();
        self.phonetic_given.clear();
        self.flags = NameFlags::NONE;
    }
}

/// Reusable buffers for [`normalize_name_into`]; keep one per thread.
#[derive(Debug, Default)]
pub struct NameScratch {
    text: TextScratch,
    norm: String,
    folded: String,
    key: String,
    /// Token byte ranges in `norm` and in `folded`.
    tokens: Vec<Token>,
    order: Vec<usize>,
    again: String,
}

impl NameScratch {
    /// Empty buffers.
    pub fn new() -> Self {
        Self::default()
    }
}

#[derive(Clone, Copy, Debug)]
struct Token {
    norm: (usize, usize),
    folded: (usize, usize),
}

/// Allocating convenience for [`normalize_name_into`].
pub fn normalize_name(input: &str) -> NormalizedName {
    let mut out = NormalizedName::default();
    normalize_name_into(input, &mut NameScratch::new(), &mut out);
    out
}

const STRONG_HONORIFICS: [&str; 7] = ["bà", "chị", "cô", "mr", "mrs", "ms", "miss"];
const WEAK_HONORIFICS: [&str; 6] = ["ông", "anh", "ong", "ba", "chi", "co"];
const MIDDLE_MARKERS: [&str; 2] = ["van", "thi"];
const CLANS: [&str; 20] = [
    "ksor", "nie", "rmah", "eban", "siu", "kpa", "mlo", "ayun", "adrong", "bkrong", "hdok", "bya", "hmok",
    "kbuor", "enuol", "rcom", "alang", "rahlan", "rolan", "nay",
];
const MINORITY_ONSETS: [&[u8; 2]; 17] = [
    b"ks", b"kp", b"rm", b"hm", b"ml", b"bk", b"kb", b"hd", b"rc", b"kr", b"kl", b"bl", b"br", b"pl", b"dr",
    b"hw", b"rl",
];

/// Normalizes a name into `out` (all fields overwritten). Allocation-free once the buffers have
/// grown; never panics.
///
/// Legacy text is detected on the whole value, so an honorific in Unicode ("chị", a letter beyond
/// Latin-1) keeps it from being seen in the rest; once the honorific is stripped, the rest alone
/// may read as legacy text. The name is then normalized again from its output, so that
/// normalizing a normalized name gives it back.
pub fn normalize_name_into(input: &str, scratch: &mut NameScratch, out: &mut NormalizedName) {
    use khop::normalize::keystroke::decode_keystrokes;
    if input.is_ascii()
        && let Some(decoded) = decode_keystrokes(input)
    {
        normalize_name_once(&decoded, scratch, out);
        out.flags.insert(NameFlags::KEYSTROKES);
    } else {
        normalize_name_once(input, scratch, out);
        let mut stripped = NameFlags::NONE;
        for _ in 0..4 {
            if !out.flags.contains(NameFlags::HONORIFIC) || detect_legacy_encoding(&out.full).is_none() {
                break;
            }
            stripped = NameFlags::HONORIFIC;
            let mut again = std::mem::take(&mut scratch.again);
            again.clear();
            again.push_str(&out.full);
            normalize_name_once(&again, scratch, out);
            scratch.again = again;
        }
        out.flags.insert(stripped);
        if out.full.is_ascii()
            && let Some(decoded) = decode_keystrokes(&out.full)
        {
            let flags = out.flags;
            normalize_name_once(&decoded, scratch, out);
            out.flags.insert(flags);
            out.flags.insert(NameFlags::KEYSTROKES);
        }
    }
    // A name read given name first is reordered, and read again in its new order a token may
    // take another role (an honorific now in front, "har ... ong to ... thi" giving "ong to ...
    // thi har"): normalize from the output until it no longer changes, so that normalizing a
    // normalized name gives it back. Only reordered names pay for this.
    if out.flags.contains(NameFlags::REVERSED) {
        for _ in 0..4 {
            let mut again = std::mem::take(&mut scratch.again);
            again.clear();
            again.push_str(&out.full);
            let flags = out.flags;
            normalize_name_once(&again, scratch, out);
            out.flags.insert(flags);
            let stable = out.full == again;
            scratch.again = again;
            if stable {
                break;
            }
        }
    }
}

/// One normalization of a name into `out`, as [`normalize_name_into`] describes.
fn normalize_name_once(input: &str, scratch: &mut NameScratch, out: &mut NormalizedName) {
    out.clear();
    let NameScratch { text, norm, folded, key, tokens, order, .. } = scratch;
    normalize_text_into(input, text, norm);
    folded.clear();
    tokens.clear();
    // Tokens: split on space and on the punctuation text normalization keeps, except `'`.
    let mut start = None;
    let mut fstart = 0;
    for (i, c) in norm.char_indices() {
        let sep = matches!(c, ' ' | '-' | '.' | ',' | '/');
        if sep {
            if let Some(s) = start.take() {
                tokens.push(Token { norm: (s, i), folded: (fstart, folded.len()) });
            }
        } else {
            if start.is_none() {
                start = Some(i);
                fstart = folded.len();
            }
            if !unicode_normalization::char::is_combining_mark(c) {
                folded.push(fold_char(c));
            }
        }
    }
    if let Some(s) = start {
        tokens.push(Token { norm: (s, norm.len()), folded: (fstart, folded.len()) });
    }
    let n_str = |t: &Token| &norm[t.norm.0..t.norm.1];
    let f_str = |t: &Token| &folded[t.folded.0..t.folded.1];

    // Honorifics: a strong one when a token follows, a weak one when a family name and another
    // token follow.
    let mut first = 0;
    while tokens.len() - first >= 2 {
        let t = n_str(&tokens[first]);
        let strip = STRONG_HONORIFICS.contains(&t)
            || (WEAK_HONORIFICS.contains(&t)
                && tokens.len() - first >= 3
                && family_share(f_str(&tokens[first + 1])) > 0.0);
        if !strip {
            break;
        }
        first += 1;
        out.flags.insert(NameFlags::HONORIFIC);
    }
    let toks = &tokens[first..];
    let n = toks.len();
    if n == 0 {
        out.flags.insert(NameFlags::EMPTY);
        return;
    }

    order.clear();
    let mut family_len: usize;
    let minority = toks.iter().any(|t| is_minority(f_str(t)));
    if minority {
        out.flags.insert(NameFlags::MINORITY);
        order.extend(0..n);
        match toks.iter().position(|t| CLANS.contains(&f_str(t))) {
            Some(0) => family_len = 1,
            Some(k) => {
                // Family (clan) name at the end: written order kept, roles assigned below.
                assign_minority(norm, folded, toks, k, out);
                finish_keys(folded, toks, order, out);
                return;
            }
            None => family_len = 0,
        }
    } else {
        let share = |a: usize, len: usize, key: &mut String| -> f32 {
            if len == 1 {
                family_share(f_str(&toks[a]))
            } else {
                key.clear();
                key.push_str(f_str(&toks[a]));
                key.push(' ');
                key.push_str(f_str(&toks[a + 1]));
                family_share(key)
            }
        };
        let front_len = if n >= 3 && share(0, 2, key) > 0.0 { 2 } else { 1 };
        let back_len = if n >= 3 && share(n - 2, 2, key) > 0.0 { 2 } else { 1 };
        let front = share(0, front_len, key);
        let back = share(n - back_len, back_len, key);
        let marker = |i: usize| MIDDLE_MARKERS.contains(&f_str(&toks[i]));
        let reversed = n >= 2
            && back > 0.0
            && !(n >= 3 && marker(front_len))
            && (marker(0) || (front == 0.0 && back >= 0.5) || (back >= 1.0 && back >= 20.0 * front));
        let one = |i: usize| family_share(f_str(&toks[i]));
        let written_marker = |i: usize| marker(i) && ["van", "thi", "văn", "thị"].contains(&n_str(&toks[i]));
        let given_first = !reversed
            && n >= 3
            && !marker(0)
            && !marker(1)
            && one(1) > 0.0
            && ((written_marker(n - 1) && one(1) > front) || (n == 3 && front == 0.0 && one(1) >= 1.0));
        if reversed {
            out.flags.insert(NameFlags::REVERSED);
            order.extend(n - back_len..n);
            order.extend(0..n - back_len);
            family_len = back_len;
        } else if given_first {
            out.flags.insert(NameFlags::REVERSED);
            order.extend(1..n);
            order.push(0);
            family_len = 1;
        } else {
            order.extend(0..n);
            family_len = if n > front_len || front_len == 1 { front_len } else { 1 };
            if front == 0.0 && n >= 2 && !marker(0) {
                family_len = 1;
            }
        }
        if n == 1 {
            family_len = 0;
        }
    }
    if family_len == 2 {
        out.flags.insert(NameFlags::COMPOUND_FAMILY);
    }

    // Roles in `order`: family = [0, family_len), given = last, middle = between.
    let m = order.len();
    for (k, &i) in order.iter().enumerate() {
        let t = &toks[i];
        if k > 0 {
            out.full.push(' ');
        }
        out.full.push_str(n_str(t));
        if k < family_len {
            push_sep(&mut out.family, n_str(t));
            push_sep(&mut out.folded_family, f_str(t));
        } else if k == m - 1 {
            out.given.push_str(n_str(t));
            out.folded_given.push_str(f_str(t));
        } else {
            push_sep(&mut out.middle, n_str(t));
        }
    }
    finish_keys(folded, toks, order, out);
}

fn assign_minority(norm: &str, folded: &str, toks: &[Token], k: usize, out: &mut NormalizedName) {
    for (i, t) in toks.iter().enumerate() {
        let (ns, fs) = (&norm[t.norm.0..t.norm.1], &folded[t.folded.0..t.folded.1]);
        push_sep(&mut out.full, ns);
        if i >= k {
            push_sep(&mut out.family, ns);
            push_sep(&mut out.folded_family, fs);
        } else if i + 1 == k {
            out.given.push_str(ns);
            out.folded_given.push_str(fs);
        } else {
            push_sep(&mut out.middle, ns);
        }
    }
}

/// Folded full name and phonetic keys, from the tokens in `order` (written order for minority
/// names with a trailing clan name).
fn finish_keys(folded: &str, toks: &[Token], order: &mut Vec<usize>, out: &mut NormalizedName) {
    if order.is_empty() {
        order.extend(0..toks.len());
    }
    for &i in order.iter() {
        let t = &toks[i];
        let fs = &folded[t.folded.0..t.folded.1];
        push_sep(&mut out.folded_full, fs);
        if !out.phonetic_full.is_empty() {
            out.phonetic_full.push(' ');
        }
        phonetic_syllable(fs, &mut out.phonetic_full);
    }
    phonetic_key_into(&out.folded_given, &mut out.phonetic_given);
}

#[inline]
fn push_sep(s: &mut String, t: &str) {
    if !s.is_empty() {
        s.push(' ');
    }
    s.push_str(t);
}

fn is_minority(folded: &str) -> bool {
    let b = folded.as_bytes();
    CLANS.contains(&folded)
        || b.contains(&b'\'')
        || (b.len() > 2 && MINORITY_ONSETS.iter().any(|o| b.starts_with(&o[..])))
}

struct FamilyTable {
    /// Folded name (compounds with one space) and share in percent, sorted by name.
    entries: Vec<(String, f32)>,
}

const FAMILY_TSV: &str = include_str!("../../data/family_names.tsv");

static FAMILIES: LazyLock<FamilyTable> = LazyLock::new(|| {
    let mut entries: Vec<(String, f32)> = Vec::new();
    for line in FAMILY_TSV.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut fields = line.split('\t');
        if let (Some(name), Some(share)) = (fields.next(), fields.next())
            && let Ok(share) = share.trim().parse::<f32>()
        {
            let folded: String = name.chars().map(|c| fold_char(c).to_ascii_lowercase()).collect();
            entries.push((folded, share));
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
    // Names that fold alike (Lã, La) keep the larger share.
    entries.dedup_by(|a, b| a.0 == b.0);
    FamilyTable { entries }
});

/// Share of the population (percent) carrying the family name `folded` (accent-folded, lower
/// case, compounds with one space); 0 when it is not a known family name.
pub fn family_share(folded: &str) -> f32 {
    let e = &FAMILIES.entries;
    match e.binary_search_by(|(name, _)| name.as_str().cmp(folded)) {
        Ok(i) => e[i].1,
        Err(_) => 0.0,
    }
}

/// Writes the phonetic key of `folded` (accent-folded, lower-case, space-separated syllables)
/// into `out` (cleared first). See the module docs for the rules.
pub fn phonetic_key_into(folded: &str, out: &mut String) {
    out.clear();
    for (i, syl) in folded.split(' ').filter(|s| !s.is_empty()).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        phonetic_syllable(syl, out);
    }
}

const FINALS: [&str; 9] = ["", "c", "ch", "m", "n", "ng", "nh", "p", "t"];

#[inline]
fn is_vowel(b: u8) -> bool {
    matches!(b, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
}

/// Appends the phonetic key of one folded syllable; a token that is not one Vietnamese syllable
/// is appended unchanged.
fn phonetic_syllable(syl: &str, out: &mut String) {
    let b = syl.as_bytes();
    if !syl.is_ascii() || b.is_empty() {
        out.push_str(syl);
        return;
    }
    // Initial consonant: (length in the syllable, key).
    let starts = |p: &str| b.starts_with(p.as_bytes());
    let (init_len, init_key): (usize, &str) = if starts("ngh") {
        (3, "ng")
    } else if starts("ng") {
        (2, "ng")
    } else if starts("nh") {
        (2, "nh")
    } else if starts("ch") || starts("tr") {
        (2, "ch")
    } else if starts("th") {
        (2, "th")
    } else if starts("kh") {
        (2, "kh")
    } else if starts("ph") {
        (2, "ph")
    } else if starts("gh") {
        (2, "g")
    } else if starts("gi") {
        // `gi` before another vowel is the initial; alone ("gin", "gi") its `i` is the vowel.
        if b.len() > 2 && is_vowel(b[2]) { (2, "z") } else { (1, "z") }
    } else if starts("qu") && b.len() > 2 && is_vowel(b[2]) {
        (2, "qu")
    } else {
        match b[0] {
            b'd' | b'r' => (1, "z"),
            b'x' | b's' => (1, "s"),
            b'n' | b'l' => (1, "l"),
            b'c' | b'k' => (1, "k"),
            b'b' | b'g' | b'h' | b'm' | b'p' | b't' | b'v' => (1, &syl[..1]),
            _ => (0, ""),
        }
    };
    let rest = &b[init_len..];
    let nucleus_len = rest.iter().take_while(|&&c| is_vowel(c)).count();
    let (nucleus, fin) = (&syl[init_len..init_len + nucleus_len], &syl[init_len + nucleus_len..]);
    if nucleus.is_empty() || !FINALS.contains(&fin) {
        out.push_str(syl);
        return;
    }
    out.push_str(init_key);
    if nucleus == "y" {
        out.push('i');
    } else if let Some(r) = nucleus.strip_prefix("ye") {
        out.push_str("ie");
        out.push_str(r);
    } else {
        out.push_str(nucleus);
    }
    out.push_str(match fin {
        "ng" => "n",
        "c" => "t",
        f => f,
    });
}
