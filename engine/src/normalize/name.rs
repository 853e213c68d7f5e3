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

use super::text::{
    Sink, TextScratch, detect_legacy_encoding, fold_char, fold_char_or_drop, normalize_text_with,
};

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
    /// Telex or VNI keystrokes were decoded ([`keystroke`](super::keystroke)).
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
    /// The tokens of the name, in written order.
    tokens: Vec<Token>,
    /// A copy of the output, normalized again (see [`normalize_name_into`]).
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
    /// Byte range in the normalized text.
    norm: (usize, usize),
    /// Byte range of the folded form in the folded text (see [`Shape::folded_is_norm`]).
    folded: (usize, usize),
    /// Hash of the folded token ([`fnv1a`]), from which compound lookups continue.
    hash: u64,
    /// What the lexicon knows about the folded token.
    known: Known,
    /// Whether the folded token is ASCII.
    ascii: bool,
    /// How the token's phonetic key differs from its folded form; `None` when it is the folded
    /// form ([`phonetic_key_parts`]).
    key: Option<KeyParts>,
    /// A clan name, a consonant cluster Vietnamese does not have or an apostrophe: the name is
    /// a minority name.
    minority: bool,
}

impl Token {
    fn new(norm: (usize, usize), folded: (usize, usize), hash: u64, ascii: bool) -> Self {
        Self { norm, folded, hash, known: Known::default(), ascii, key: None, minority: false }
    }
}

/// What [`Tokenizer`] found about the name as a whole.
#[derive(Clone, Copy)]
struct Shape {
    /// One space between tokens in `norm` and no token empty once folded, so that runs of
    /// adjacent tokens can be copied at once (see [`push_positions`]).
    simple: bool,
    /// An apostrophe in some token (a minority name such as H'Hen).
    apostrophe: bool,
    /// The input was ASCII: every token is its own folded form, so the folded text is the
    /// normalized text and the tokens' folded ranges are their ranges in it.
    folded_is_norm: bool,
}

/// Allocating convenience for [`normalize_name_into`].
pub fn normalize_name(input: &str) -> NormalizedName {
    let mut out = NormalizedName::default();
    normalize_name_into(input, &mut NameScratch::new(), &mut out);
    out
}

/// Honorifics stripped whenever another token follows (normalized form).
fn is_strong_honorific(t: &str) -> bool {
    matches!(t, "bà" | "chị" | "cô" | "mr" | "mrs" | "ms" | "miss")
}

/// Honorifics stripped only when a family name and another token follow (normalized form).
fn is_weak_honorific(t: &str) -> bool {
    matches!(t, "ông" | "anh" | "ong" | "ba" | "chi" | "co")
}

/// Consonant clusters Vietnamese does not have, starting a (folded) token of three bytes or more.
fn has_minority_onset(folded: &[u8]) -> bool {
    folded.len() > 2
        && matches!(
            [folded[0], folded[1]],
            [b'k', b's' | b'p' | b'b' | b'r' | b'l']
                | [b'r', b'm' | b'c' | b'l']
                | [b'h', b'm' | b'd' | b'w']
                | [b'm', b'l']
                | [b'b', b'k' | b'l' | b'r']
                | [b'p', b'l']
                | [b'd', b'r']
        )
}

/// Splits normalized text into tokens as text normalization writes it ([`Sink`]), on space and
/// on the punctuation it keeps except `'`, writing the folded form of each token into `folded`
/// (combining marks dropped, tokens separated by one space; nothing for ASCII input, see
/// [`Shape::folded_is_norm`]) and hashing it ([`fnv1a`]).
struct Tokenizer<'a> {
    folded: &'a mut String,
    tokens: &'a mut Vec<Token>,
    /// The token being written: its start in the normalized text and in `folded`.
    open: Option<(usize, usize)>,
    /// Hash of the open token's folded form so far.
    hash: u64,
    /// Whether the open token's folded form is ASCII so far.
    ascii: bool,
    /// End of the last token in the normalized text, and whether a space follows it.
    prev_end: Option<(usize, bool)>,
    simple: bool,
    apostrophe: bool,
    folded_is_norm: bool,
}

impl<'a> Tokenizer<'a> {
    fn new(folded: &'a mut String, tokens: &'a mut Vec<Token>) -> Self {
        let mut t = Self {
            folded,
            tokens,
            open: None,
            hash: FNV_OFFSET,
            ascii: true,
            prev_end: None,
            simple: true,
            apostrophe: false,
            folded_is_norm: false,
        };
        t.restart(false);
        t
    }

    /// Opens a token at `at` unless one is open.
    #[inline(always)]
    fn open(&mut self, at: usize) {
        if self.open.is_none() {
            // One space between tokens (see `Shape::simple`).
            self.simple &= self.prev_end.is_none_or(|(end, space)| space && at == end + 1);
            let fstart = if self.folded_is_norm {
                at
            } else {
                if !self.tokens.is_empty() {
                    self.folded.push(' ');
                }
                self.folded.len()
            };
            self.open = Some((at, fstart));
            self.hash = FNV_OFFSET;
            self.ascii = true;
        }
    }

    /// Appends the ASCII byte `b` to the open token's folded form.
    #[inline(always)]
    fn push(&mut self, b: u8) {
        if !self.folded_is_norm {
            self.folded.push(char::from(b));
        }
        self.hash = fnv1a(self.hash, &[b]);
    }

    /// Closes the open token, if any, at `end`.
    #[inline(always)]
    fn close(&mut self, end: usize) {
        if let Some((start, fstart)) = self.open.take() {
            let fend = if self.folded_is_norm { end } else { self.folded.len() };
            self.simple &= fstart < fend;
            self.tokens.push(Token::new((start, end), (fstart, fend), self.hash, self.ascii));
        }
    }

    /// Closes the last token at `len`, the length of the normalized text, and says what was found.
    fn finish(mut self, len: usize) -> Shape {
        self.close(len);
        Shape { simple: self.simple, apostrophe: self.apostrophe, folded_is_norm: self.folded_is_norm }
    }
}

impl Sink for Tokenizer<'_> {
    fn restart(&mut self, ascii: bool) {
        self.folded.clear();
        self.tokens.clear();
        self.open = None;
        self.prev_end = None;
        self.simple = true;
        self.apostrophe = false;
        self.folded_is_norm = ascii;
    }

    #[inline(always)]
    fn punct(&mut self, at: usize, b: u8) {
        if b == b'\'' {
            // Part of a token (H'Hen).
            self.apostrophe = true;
            self.open(at);
            self.push(b);
        } else if self.open.is_some() {
            self.close(at);
            self.prev_end = Some((at, b == b' '));
        }
    }

    #[inline(always)]
    fn word(&mut self, at: usize) {
        self.open(at);
    }

    #[inline(always)]
    fn letter(&mut self, folded: u8) {
        // Folded letters are ASCII: the mask changes nothing; it tells the compiler that each is
        // one byte.
        self.folded.push(char::from(folded & 0x7F));
        self.hash = fnv1a(self.hash, &[folded]);
    }

    #[inline(always)]
    fn ascii_letter(&mut self, b: u8) {
        self.hash = fnv1a(self.hash, &[b]);
    }

    fn other(&mut self, c: char) {
        if let Some(f) = fold_char_or_drop(c) {
            self.ascii &= f.is_ascii();
            self.folded.push(f);
            self.hash = fnv1a(self.hash, f.encode_utf8(&mut [0; 4]).as_bytes());
        }
    }
}

/// Fills in what is known of every token from its folded form: its lexicon entry (found by its
/// hash), whether it marks a minority name and how its phonetic key differs from it. `folded` is
/// the folded text, `apostrophe` whether some token holds one.
fn look_up(folded: &[u8], tokens: &mut [Token], apostrophe: bool) {
    let lexicon = &*LEXICON;
    for t in tokens {
        let f = &folded[t.folded.0..t.folded.1];
        t.known = lexicon.get(t.hash, |name| name.as_bytes() == f);
        // Lexicon entries come with what the rest would compute.
        let onset = if t.known.entry { t.known.minority_onset } else { has_minority_onset(f) };
        t.minority = t.known.clan || onset || (apostrophe && f.contains(&b'\''));
        t.key = if t.known.entry {
            t.known.key
        } else if t.ascii {
            phonetic_key_parts(f)
        } else {
            None
        };
    }
}

/// Output order of the tokens of a name: the last `rot` tokens moved to the front (0 keeps the
/// written order).
#[derive(Clone, Copy)]
struct Order {
    n: usize,
    rot: usize,
}

impl Order {
    /// Token index at output position `k`.
    #[inline]
    fn token(self, k: usize) -> usize {
        if k < self.rot { k + self.n - self.rot } else { k - self.rot }
    }
}

/// Appends the tokens at output positions `a..b` (their `range` in `src`), each after a space
/// when `dst` is not empty, as [`push_sep`] token by token would. When the name is `simple`, each
/// run of tokens adjacent in `src` (at most two: before and after the rotation) is copied at once,
/// its single spaces included.
fn push_positions(
    dst: &mut String,
    src: &str,
    toks: &[Token],
    range: fn(&Token) -> (usize, usize),
    order: Order,
    (a, b): (usize, usize),
    simple: bool,
) {
    if simple && order.rot == 0 {
        if a < b {
            push_sep(dst, &src[range(&toks[a]).0..range(&toks[b - 1]).1]);
        }
        return;
    }
    for (ra, rb) in [(a, b.min(order.rot)), (a.max(order.rot), b)] {
        if ra >= rb {
            continue;
        }
        let (first, last) = (order.token(ra), order.token(rb - 1));
        if simple {
            push_sep(dst, &src[range(&toks[first]).0..range(&toks[last]).1]);
        } else {
            for t in &toks[first..=last] {
                let (s, e) = range(t);
                push_sep(dst, &src[s..e]);
            }
        }
    }
}

/// Normalizes a name into `out` (all fields overwritten). Allocation-free once the buffers have
/// grown; never panics.
///
/// Legacy text is detected on the whole value, so an honorific in Unicode ("chị", a letter beyond
/// Latin-1) keeps it from being seen in the rest; once the honorific is stripped, the rest alone
/// may read as legacy text. The name is then normalized again from its output, so that
/// normalizing a normalized name gives it back.
pub fn normalize_name_into(input: &str, scratch: &mut NameScratch, out: &mut NormalizedName) {
    // Telex or VNI keystrokes ("Nguyeenx Vawn Aan"): read on the input, whose word order is the
    // writer's, or on the output once an honorific or legacy text is gone. A decoded name has a
    // letter beyond ASCII, so its own output is never decoded again.
    if input.is_ascii()
        && let Some(decoded) = super::keystroke::decode_keystrokes(input)
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
            && let Some(decoded) = super::keystroke::decode_keystrokes(&out.full)
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
    let NameScratch { text, norm, folded: folded_buf, tokens, .. } = scratch;
    let mut tokenizer = Tokenizer::new(folded_buf, tokens);
    normalize_text_with(input, text, norm, &mut tokenizer);
    let Shape { simple, apostrophe, folded_is_norm } = tokenizer.finish(norm.len());
    let folded: &str = if folded_is_norm { norm } else { folded_buf };
    look_up(folded.as_bytes(), tokens, apostrophe);

    let first = strip_honorifics(norm, tokens, &mut out.flags);
    let toks = &tokens[first..];
    let n = toks.len();
    if n == 0 {
        out.flags.insert(NameFlags::EMPTY);
        return;
    }
    let roles = roles(toks, folded, norm, &mut out.flags);
    let Roles { order, family, middle, given } = roles;

    let norm_range: fn(&Token) -> (usize, usize) = |t| t.norm;
    let folded_range: fn(&Token) -> (usize, usize) = |t| t.folded;
    push_positions(&mut out.family, norm, toks, norm_range, order, family, simple);
    push_positions(&mut out.folded_family, folded, toks, folded_range, order, family, simple);
    push_positions(&mut out.middle, norm, toks, norm_range, order, middle, simple);
    if let Some(k) = given {
        let t = &toks[order.token(k)];
        out.given.push_str(&norm[t.norm.0..t.norm.1]);
        out.folded_given.push_str(&folded[t.folded.0..t.folded.1]);
    }
    push_phonetic_keys(toks, folded, roles, simple, out);

    // The full names. Where one is the whole normalized or folded text, as when the name is
    // written family name first with single spaces, that text's buffer becomes the output and
    // the output's old buffer the scratch: no copy.
    let whole = |first: (usize, usize), last: (usize, usize), len: usize| {
        simple && order.rot == 0 && first.0 == 0 && last.1 == len
    };
    let (t0, tn) = (&toks[0], &toks[n - 1]);
    if !folded_is_norm && whole(t0.folded, tn.folded, folded.len()) {
        std::mem::swap(&mut out.folded_full, folded_buf);
    } else {
        push_positions(&mut out.folded_full, folded, toks, folded_range, order, (0, n), simple);
    }
    if whole(t0.norm, tn.norm, norm.len()) {
        std::mem::swap(&mut out.full, norm);
    } else {
        push_positions(&mut out.full, norm, toks, norm_range, order, (0, n), simple);
    }
}

/// Honorifics: a strong one when a token follows, a weak one when a family name and another
/// token follow. Returns how many tokens are honorifics, flagging them.
fn strip_honorifics(norm: &str, tokens: &[Token], flags: &mut NameFlags) -> usize {
    let mut first = 0;
    while tokens.len() - first >= 2 {
        let t = &tokens[first];
        let strip = t.known.honorific && {
            let t_norm = &norm[t.norm.0..t.norm.1];
            is_strong_honorific(t_norm)
                || (is_weak_honorific(t_norm)
                    && tokens.len() - first >= 3
                    && tokens[first + 1].known.share > 0.0)
        };
        if !strip {
            break;
        }
        first += 1;
        flags.insert(NameFlags::HONORIFIC);
    }
    first
}

/// The roles of a name's tokens by output position.
#[derive(Clone, Copy)]
struct Roles {
    /// Output order of the tokens.
    order: Order,
    /// Family name: output positions `family.0..family.1`.
    family: (usize, usize),
    /// Middle names, likewise.
    middle: (usize, usize),
    /// Given name, if any.
    given: Option<usize>,
}

/// Decides the order of the tokens `toks` (honorifics stripped, not empty) and which are the
/// family, middle and given names: clan names of minorities, reversed order, compound family
/// names (see the module docs). `folded` and `norm` are the folded and normalized texts the
/// tokens point into.
fn roles(toks: &[Token], folded: &str, norm: &str, flags: &mut NameFlags) -> Roles {
    // Roles by output position: family `family.0..family.1`, middle likewise, given at `given`.
    let order: Order;
    let family: (usize, usize);
    let middle: (usize, usize);
    let given: Option<usize>;
    let n = toks.len();
    let f_bytes = |t: &Token| &folded.as_bytes()[t.folded.0..t.folded.1];
    let minority = toks.iter().any(|t| t.minority);
    let clan = if minority { toks.iter().position(|t| t.known.clan) } else { None };
    if minority {
        flags.insert(NameFlags::MINORITY);
    }
    if let Some(k) = clan.filter(|&k| k > 0) {
        // Family (clan) name at the end: written order kept, the given name before it.
        order = Order { n, rot: 0 };
        family = (k, n);
        given = Some(k - 1);
        middle = (0, k - 1);
    } else {
        let family_len = if minority {
            order = Order { n, rot: 0 };
            usize::from(clan == Some(0))
        } else {
            // Family-name shares of the first and last one or two tokens; a compound (two
            // tokens) wins when it is in the table and a token follows it.
            let one = |i: usize| toks[i].known.share;
            let two = |i: usize| {
                let t = &toks[i];
                if t.known.compound_head {
                    compound_share(f_bytes(t), t.hash, f_bytes(&toks[i + 1]))
                } else {
                    0.0
                }
            };
            let (front_len, front) = match if n >= 3 { two(0) } else { 0.0 } {
                s if s > 0.0 => (2, s),
                _ => (1, one(0)),
            };
            let (back_len, back) = match if n >= 3 { two(n - 2) } else { 0.0 } {
                s if s > 0.0 => (2, s),
                _ => (1, if n == 1 { front } else { one(n - 1) }),
            };
            let marker = |i: usize| toks[i].known.marker;
            let reversed = n >= 2
                && back > 0.0
                && !(n >= 3 && marker(front_len))
                && (marker(0) || (front == 0.0 && back >= 0.5) || (back >= 1.0 && back >= 20.0 * front));
            // Given name first, then family and middle names ("Hùng Nguyễn Văn", as forms with
            // separate first-name and last-name fields give it): a family name in second place,
            // and a middle-name marker last (never a given name), or in three tokens a first
            // token that is no family name at all before a frequent one (a rare family name
            // before a middle name that is also a family name, "Lương Hoàng Việt", keeps its
            // order).
            // The marker as written: `văn`/`thị`, or without any accent; `vân` is a given name.
            let written_marker = |i: usize| {
                let t = norm.get(toks[i].norm.0..toks[i].norm.1).unwrap_or_default();
                marker(i) && matches!(t, "van" | "thi" | "văn" | "thị")
            };
            let given_first = !reversed
                && n >= 3
                && !marker(0)
                && !marker(1)
                && one(1) > 0.0
                && ((written_marker(n - 1) && one(1) > front) || (n == 3 && front == 0.0 && one(1) >= 1.0));
            let mut family_len;
            if reversed {
                flags.insert(NameFlags::REVERSED);
                order = Order { n, rot: back_len };
                family_len = back_len;
            } else if given_first {
                flags.insert(NameFlags::REVERSED);
                order = Order { n, rot: n - 1 };
                family_len = 1;
            } else {
                order = Order { n, rot: 0 };
                family_len = if n > front_len || front_len == 1 { front_len } else { 1 };
                if front == 0.0 && n >= 2 && !marker(0) {
                    family_len = 1;
                }
            }
            if n == 1 {
                family_len = 0;
            }
            family_len
        };
        if family_len == 2 {
            flags.insert(NameFlags::COMPOUND_FAMILY);
        }
        // Family first, given name last, middle names between.
        family = (0, family_len.min(n));
        given = (n > family_len).then_some(n - 1);
        middle = (family_len, (n - 1).max(family_len));
    }
    Roles { order, family, middle, given }
}

/// Writes the phonetic keys of the full and given names, syllable by syllable.
fn push_phonetic_keys(toks: &[Token], folded: &str, roles: Roles, simple: bool, out: &mut NormalizedName) {
    let Roles { order, given, .. } = roles;
    let n = toks.len();
    let folded_range: fn(&Token) -> (usize, usize) = |t| t.folded;
    let f_str = |t: &Token| &folded[t.folded.0..t.folded.1];
    let f_bytes = |t: &Token| &folded.as_bytes()[t.folded.0..t.folded.1];
    // Phonetic keys, syllable by syllable; a token never holds a space, so the key of the given
    // name (`phonetic_key_into` of `folded_given`) is the key of its one syllable. Where every
    // syllable is its own key, the keys are the folded names.
    if toks.iter().all(|t| t.key.is_none()) {
        push_positions(&mut out.phonetic_full, folded, toks, folded_range, order, (0, n), simple);
        out.phonetic_given.push_str(&out.folded_given);
    } else {
        let mut given_key = 0..0;
        for k in 0..n {
            if !out.phonetic_full.is_empty() {
                out.phonetic_full.push(' ');
            }
            let start = out.phonetic_full.len();
            let t = &toks[order.token(k)];
            match &t.key {
                Some(key) => push_phonetic_key(f_bytes(t), key, &mut out.phonetic_full),
                None => out.phonetic_full.push_str(f_str(t)),
            }
            if given == Some(k) {
                given_key = start..out.phonetic_full.len();
            }
        }
        out.phonetic_given.push_str(&out.phonetic_full[given_key]);
    }
}

#[inline]
fn push_sep(s: &mut String, t: &str) {
    if !s.is_empty() {
        s.push(' ');
    }
    s.push_str(t);
}

/// What the name rules know about a folded token (or compound of two tokens).
#[derive(Clone, Copy, Debug, Default)]
struct Known {
    /// Share of the population (percent) carrying it as family name; 0 when not a family name.
    share: f32,
    /// A clan name of an ethnic minority ([`CLANS`]).
    clan: bool,
    /// `Văn`/`Thị` ([`MIDDLE_MARKERS`]).
    marker: bool,
    /// The first word of a compound family name ("ton" of "ton that"): only then is the pair
    /// it starts looked up.
    compound_head: bool,
    /// The folded form of an honorific ([`HONORIFICS`]): only then is the token compared with
    /// them.
    honorific: bool,
    /// An entry of the lexicon: the fields below are set.
    entry: bool,
    /// It starts with a consonant cluster Vietnamese does not have ([`has_minority_onset`]).
    minority_onset: bool,
    /// Its phonetic key parts ([`phonetic_key_parts`]).
    key: Option<KeyParts>,
}

/// Clan names of ethnic minorities (folded).
const CLANS: [&str; 20] = [
    "ksor", "nie", "rmah", "eban", "siu", "kpa", "mlo", "ayun", "adrong", "bkrong", "hdok", "bya", "hmok",
    "kbuor", "enuol", "rcom", "alang", "rahlan", "rolan", "nay",
];

/// `Văn`/`Thị` (folded): middle names that mark the position after the family name.
const MIDDLE_MARKERS: [&str; 2] = ["van", "thi"];

/// The folded forms of the honorifics of [`is_strong_honorific`] and [`is_weak_honorific`].
pub(crate) const HONORIFICS: [&str; 9] = ["ba", "chi", "co", "mr", "mrs", "ms", "miss", "ong", "anh"];

/// Every folded token (or compound, with one space) the name rules know: family names with their
/// share, clan names and middle markers, with an open-addressing hash index, so that each token
/// is looked up once (and each candidate compound once) per name.
struct Lexicon {
    entries: Vec<(String, Known)>,
    /// Index + 1 into `entries`, 0 for an empty slot; the length is a power of two, at least four
    /// times the number of entries, so that probes are short and most misses end at once.
    slots: Vec<u16>,
}

/// FNV-1a over `bytes`, continuing from `h`.
#[inline]
fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

const FNV_OFFSET: u64 = 0xCBF2_9CE4_8422_2325;

impl Lexicon {
    fn new(entries: Vec<(String, Known)>) -> Self {
        let len = (entries.len() * 4).next_power_of_two().max(16);
        let mut slots = vec![0u16; len];
        for (i, (name, _)) in entries.iter().enumerate() {
            let mut s = fnv1a(FNV_OFFSET, name.as_bytes()) as usize & (len - 1);
            while slots[s] != 0 {
                s = (s + 1) & (len - 1);
            }
            slots[s] = u16::try_from(i + 1).expect("a lexicon of fewer than 65,535 entries");
        }
        Self { entries, slots }
    }

    /// The entry with hash `hash` for which `is` holds; the default (nothing known) if none.
    #[inline]
    fn get(&self, hash: u64, is: impl Fn(&str) -> bool) -> Known {
        let mask = self.slots.len() - 1;
        let mut s = hash as usize & mask;
        loop {
            let i = usize::from(self.slots[s]);
            if i == 0 {
                return Known::default();
            }
            let (name, known) = &self.entries[i - 1];
            if is(name) {
                return *known;
            }
            s = (s + 1) & mask;
        }
    }
}

/// Share of the compound family name `a b` (folded tokens; `hash_a` the hash of `a`).
#[inline]
fn compound_share(a: &[u8], hash_a: u64, b: &[u8]) -> f32 {
    let hash = fnv1a(fnv1a(hash_a, b" "), b);
    let is = |name: &str| {
        let n = name.as_bytes();
        n.len() == a.len() + 1 + b.len() && n.starts_with(a) && n[a.len()] == b' ' && n.ends_with(b)
    };
    LEXICON.get(hash, is).share
}

const FAMILY_TSV: &str = include_str!("../../data/family_names.tsv");

static LEXICON: LazyLock<Lexicon> = LazyLock::new(|| {
    let mut entries: Vec<(String, Known)> = Vec::new();
    for line in FAMILY_TSV.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut fields = line.split('\t');
        if let (Some(name), Some(share)) = (fields.next(), fields.next())
            && let Ok(share) = share.trim().parse::<f32>()
        {
            let folded: String = name.chars().map(|c| fold_char(c).to_ascii_lowercase()).collect();
            entries.push((folded, Known { share, ..Known::default() }));
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.share.total_cmp(&a.1.share)));
    // Names that fold alike (Lã, La) keep the larger share.
    entries.dedup_by(|a, b| a.0 == b.0);
    let heads: Vec<String> =
        entries.iter().filter_map(|(name, _)| Some(name.split_once(' ')?.0.to_owned())).collect();
    let mut mark = |word: &str, set: fn(&mut Known)| {
        let i = entries.iter().position(|(name, _)| name == word).unwrap_or_else(|| {
            entries.push((word.to_owned(), Known::default()));
            entries.len() - 1
        });
        set(&mut entries[i].1);
    };
    for word in CLANS {
        mark(word, |k| k.clan = true);
    }
    for word in MIDDLE_MARKERS {
        mark(word, |k| k.marker = true);
    }
    for word in HONORIFICS {
        mark(word, |k| k.honorific = true);
    }
    for word in &heads {
        mark(word, |k| k.compound_head = true);
    }
    for (name, known) in &mut entries {
        known.entry = true;
        known.minority_onset = has_minority_onset(name.as_bytes());
        known.key = if name.is_ascii() { phonetic_key_parts(name.as_bytes()) } else { None };
    }
    Lexicon::new(entries)
});

/// Share of the population (percent) carrying the family name `folded` (accent-folded, lower
/// case, compounds with one space); 0 when it is not a known family name.
pub fn family_share(folded: &str) -> f32 {
    LEXICON.get(fnv1a(FNV_OFFSET, folded.as_bytes()), |name| name == folded).share
}

/// Writes the phonetic key of `folded` (accent-folded, lower-case, space-separated syllables)
/// into `out` (cleared first). See the module docs for the rules.
pub fn phonetic_key_into(folded: &str, out: &mut String) {
    out.clear();
    for (i, syl) in folded.split(' ').filter(|s| !s.is_empty()).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        phonetic_syllable(syl, syl.is_ascii(), out);
    }
}

#[inline]
fn is_vowel(b: u8) -> bool {
    matches!(b, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
}

/// Appends the phonetic key of one folded syllable; a token that is not one Vietnamese syllable
/// is appended unchanged. `ascii` tells whether `syl` is ASCII.
fn phonetic_syllable(syl: &str, ascii: bool, out: &mut String) {
    let key = if ascii { phonetic_key_parts(syl.as_bytes()) } else { None };
    match key {
        Some(key) => push_phonetic_key(syl.as_bytes(), &key, out),
        None => out.push_str(syl),
    }
}

/// Where the phonetic key of a folded ASCII syllable differs from the syllable: its initial
/// consonant, the first `init_len` bytes, has the key `init_key`, and its vowels end at
/// `nucleus_end`.
#[derive(Clone, Copy, Debug)]
struct KeyParts {
    init_len: usize,
    init_key: &'static [u8],
    nucleus_end: usize,
}

/// The parts of the phonetic key of the folded ASCII syllable `b`, or `None` when the key is the
/// syllable itself: nothing to merge ("nguyen", "van"), or not one Vietnamese syllable.
fn phonetic_key_parts(b: &[u8]) -> Option<KeyParts> {
    let first = *b.first()?;
    let vowel_at = |i: usize| b.get(i).is_some_and(|&c| is_vowel(c));
    // Initial consonant: (length in the syllable, key, whether the key differs from it).
    let (init_len, init_key, merged): (usize, &[u8], bool) = match (first, b.get(1).copied()) {
        (b'n', Some(b'g')) if b.get(2) == Some(&b'h') => (3, b"ng", true),
        (b'n', Some(b'g')) => (2, b"ng", false),
        (b'n', Some(b'h')) => (2, b"nh", false),
        (b'c', Some(b'h')) => (2, b"ch", false),
        (b't', Some(b'r')) => (2, b"ch", true),
        (b't', Some(b'h')) => (2, b"th", false),
        (b'k', Some(b'h')) => (2, b"kh", false),
        (b'p', Some(b'h')) => (2, b"ph", false),
        (b'g', Some(b'h')) => (2, b"g", true),
        // `gi` before another vowel is the initial; alone ("gin", "gi") its `i` is the vowel.
        (b'g', Some(b'i')) => (if vowel_at(2) { 2 } else { 1 }, b"z", true),
        (b'q', Some(b'u')) if vowel_at(2) => (2, b"qu", false),
        (b'd' | b'r', _) => (1, b"z", true),
        (b'x', _) => (1, b"s", true),
        (b's', _) => (1, b"s", false),
        (b'n', _) => (1, b"l", true),
        (b'l', _) => (1, b"l", false),
        (b'c', _) => (1, b"k", true),
        (b'k', _) => (1, b"k", false),
        (b'b', _) => (1, b"b", false),
        (b'g', _) => (1, b"g", false),
        (b'h', _) => (1, b"h", false),
        (b'm', _) => (1, b"m", false),
        (b'p', _) => (1, b"p", false),
        (b't', _) => (1, b"t", false),
        (b'v', _) => (1, b"v", false),
        _ => (0, b"", false),
    };
    let nucleus_end = init_len + b[init_len..].iter().take_while(|&&c| is_vowel(c)).count();
    let (nucleus, fin) = (&b[init_len..nucleus_end], &b[nucleus_end..]);
    if nucleus.is_empty() || !matches!(fin, b"" | b"c" | b"ch" | b"m" | b"n" | b"ng" | b"nh" | b"p" | b"t") {
        return None;
    }
    if !merged && nucleus != b"y" && !nucleus.starts_with(b"ye") && !matches!(fin, b"ng" | b"c") {
        return None;
    }
    Some(KeyParts { init_len, init_key, nucleus_end })
}

/// Appends the phonetic key of the folded ASCII syllable `b`, whose parts are `key`: the key of
/// the initial, the vowels (`y` alone or before `e` read as `i`), the final (`ng` as `n`, `c` as
/// `t`).
fn push_phonetic_key(b: &[u8], key: &KeyParts, out: &mut String) {
    let &KeyParts { init_len, init_key, nucleus_end } = key;
    let nucleus = &b[init_len..nucleus_end];
    let fin = match &b[nucleus_end..] {
        b"ng" => b"n",
        b"c" => b"t",
        f => f,
    };
    out.reserve(init_key.len() + nucleus.len() + fin.len());
    push_ascii(out, init_key);
    match nucleus.split_first() {
        Some((b'y', rest)) if rest.is_empty() || rest[0] == b'e' => {
            out.push('i');
            push_ascii(out, rest);
        }
        _ => push_ascii(out, nucleus),
    }
    push_ascii(out, fin);
}

/// Appends ASCII bytes, each a character.
#[inline]
fn push_ascii(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        // The mask changes nothing on ASCII; it tells the compiler that each is one byte.
        out.push(char::from(b & 0x7F));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> String {
        let mut out = String::new();
        phonetic_key_into(s, &mut out);
        out
    }

    #[test]
    fn phonetic() {
        assert_eq!(key("hoang"), "hoan");
        assert_eq!(key("huynh"), "huynh");
        assert_eq!(key("vu"), "vu");
        assert_eq!(key("vo"), "vo");
        assert_eq!(key("quy"), key("qui"));
        assert_eq!(key("giang"), key("dang"));
        assert_eq!(key("giang"), key("rang"));
        assert_eq!(key("tran"), key("chan"));
        assert_eq!(key("loan"), key("noan"));
        assert_eq!(key("phuc"), key("phut"));
        assert_eq!(key("ksor"), "ksor");
        assert_eq!(key("nguyen"), "nguyen");
        assert_eq!(key("yen"), key("ien"));
    }

    #[test]
    fn splits() {
        let n = normalize_name("Ông Nguyễn Văn An");
        assert_eq!((n.family.as_str(), n.middle.as_str(), n.given.as_str()), ("nguyễn", "văn", "an"));
        let r = normalize_name("Van An Nguyen");
        assert_eq!(r.full, "nguyen van an");
        assert!(r.flags.contains(NameFlags::REVERSED));
        let c = normalize_name("Tôn Thất Thuyết");
        assert_eq!(c.family, "tôn thất");
    }
}
