//! The normalization pass: one walk over the text that writes the normalized form and tells a
//! [`Sink`] what it writes, with the fast paths for ASCII input.

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

use super::legacy::{
    decode_legacy_into, detect_legacy_encoding, is_alnum, is_upper, is_zero_width, vni_letter_combo,
};
use super::letters::{VOWEL_FOLDED, is_combining, is_modified, letter_code, toned, viet_letter};

const NO_VOWEL: u8 = u8::MAX;

/// One letter of the word being assembled, lower case; a vowel's tone is also kept apart, for
/// tone placement.
#[derive(Clone, Copy, Debug)]
struct Letter {
    /// The character as written out (a vowel with its tone).
    ch: char,
    /// Vowel index (row of [`TONED`](super::TONED)), or [`NO_VOWEL`].
    vowel: u8,
    tone: u8,
    /// The folded form when it is one ASCII letter or digit (ASCII letters and digits,
    /// Vietnamese vowels, `đ`); 0 for any other character (see [`fold_char_or_drop`](super::fold_char_or_drop)).
    folded: u8,
}

impl Letter {
    /// A character that is neither ASCII nor a Vietnamese letter (lower case already).
    const fn other(ch: char) -> Self {
        Self { ch, vowel: NO_VOWEL, tone: 0, folded: 0 }
    }

    /// The Vietnamese letter of a non-zero [`letter_code`], lower case.
    #[inline]
    fn viet(code: u8) -> Self {
        let vowel = (code & 0x0F) - 1;
        if vowel == 12 {
            Self { ch: 'đ', vowel: NO_VOWEL, tone: 0, folded: b'd' }
        } else {
            let tone = (code >> 4) & 0x07;
            Self { ch: toned(vowel, tone), vowel, tone, folded: VOWEL_FOLDED[usize::from(vowel)] }
        }
    }
}

const fn build_ascii_letters() -> [Letter; 128] {
    let mut t = [Letter::other(' '); 128];
    let mut b = 0u8;
    while b < 128 {
        t[b as usize] = Letter::other(b as char);
        if b.is_ascii_alphanumeric() {
            let lc = b.to_ascii_lowercase();
            let vowel = match lc {
                b'a' => 0,
                b'e' => 3,
                b'i' => 5,
                b'o' => 6,
                b'u' => 9,
                b'y' => 11,
                _ => NO_VOWEL,
            };
            t[b as usize] = Letter { ch: lc as char, vowel, tone: 0, folded: lc };
        }
        b += 1;
    }
    t
}

/// The letter of each ASCII letter and digit, lower case (other characters are not letters).
static ASCII_LETTERS: [Letter; 128] = build_ascii_letters();

/// The word being assembled, and how many of its letters carry a tone.
#[derive(Debug, Default)]
struct Word {
    letters: Vec<Letter>,
    tones: usize,
}

impl Word {
    #[inline]
    fn push(&mut self, l: Letter) {
        self.tones += usize::from(l.tone != 0);
        self.letters.push(l);
    }

    fn clear(&mut self) {
        self.letters.clear();
        self.tones = 0;
    }
}

/// Reusable buffers for [`normalize_text_into`]; keep one per thread.
#[derive(Debug, Default)]
pub struct TextScratch {
    nfc: String,
    legacy: String,
    word: Word,
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
    normalize_text_with(input, scratch, out, &mut ());
}

/// Receives the characters a normalization pass writes, with their folded form, as it writes
/// them: name normalization folds and splits the text into tokens this way, without reading it
/// again ([`super::name`]). `()` receives nothing.
///
/// Positions are byte offsets in the output. A pass may be followed by another one that writes
/// the output again from the start (legacy text found in the output, say): each pass starts with
/// [`Sink::restart`], so what the sink holds at the end is about the final output.
pub(crate) trait Sink {
    /// A pass starts writing the output from the start: forget everything received. `ascii`:
    /// the input is ASCII, so that every letter is its own folded form.
    fn restart(&mut self, ascii: bool);
    /// The ASCII punctuation `b` (a space, or one of `- ' / . ,`) was written at `at`.
    fn punct(&mut self, at: usize, b: u8);
    /// A word (a run of letters, digits and marks) starts at `at`; its characters follow.
    fn word(&mut self, at: usize);
    /// The next character of the word folds to the ASCII letter or digit `folded` (it is an
    /// ASCII letter or digit, a Vietnamese vowel or `đ`).
    fn letter(&mut self, folded: u8);
    /// The next character of the word is `c`, neither ASCII nor a Vietnamese letter (its folded
    /// form is [`fold_char_or_drop`](super::fold_char_or_drop)).
    fn other(&mut self, c: char);
    /// For ASCII input: the next character of the word is the ASCII letter or digit `b`, its own
    /// folded form.
    fn ascii_letter(&mut self, b: u8);
}

impl Sink for () {
    #[inline(always)]
    fn restart(&mut self, _: bool) {}
    #[inline(always)]
    fn punct(&mut self, _: usize, _: u8) {}
    #[inline(always)]
    fn word(&mut self, _: usize) {}
    #[inline(always)]
    fn letter(&mut self, _: u8) {}
    #[inline(always)]
    fn other(&mut self, _: char) {}
    #[inline(always)]
    fn ascii_letter(&mut self, _: u8) {}
}

/// [`normalize_text_into`], telling `sink` what it writes.
pub(crate) fn normalize_text_with<S: Sink>(
    input: &str,
    scratch: &mut TextScratch,
    out: &mut String,
    sink: &mut S,
) {
    out.clear();
    if input.is_ascii() {
        normalize_ascii(input, out, sink);
        return;
    }
    let TextScratch { nfc, legacy, word } = scratch;
    // A first pass over the input as it is, which is right unless the input needs composing
    // (NFC) or is legacy text; the pass also says what it saw of its input (`Scan`).
    let mut pass = normalize_pass(input, word, out, sink);
    let scan = pass.input;
    // A Vietnamese letter beyond Latin-1 rules out legacy text (see `has_letter_beyond_latin1`),
    // and so does the absence of what the detector counts (see `Scan::maybe_legacy`); ASCII and
    // precomposed Vietnamese letters are all NFC quick-check "yes" with combining class 0, so a
    // value made only of them is NFC.
    if !(scan.plain && (scan.beyond_latin1 || !scan.maybe_legacy)) {
        let mut src = input;
        let mut changed = false;
        if !scan.plain && is_nfc_quick(src.chars()) != IsNormalized::Yes {
            nfc.clear();
            nfc.extend(src.nfc());
            src = nfc.as_str();
            changed = true;
        }
        if let Some(enc) = detect_legacy_encoding(src) {
            decode_legacy_into(src, enc, legacy);
            src = legacy.as_str();
            changed = true;
        }
        if changed {
            pass = normalize_pass(src, word, out, sink);
        }
    }
    if pass.had_mark {
        // A combining mark survived (after a full-width letter, say): compose and run again, so
        // that the result is NFC and normalizing it again changes nothing. Rare.
        // A mark that still does not compose is a stray (a second tone on one letter): drop it.
        legacy.clear();
        legacy.extend(out.nfc().filter(|c| !is_combining(*c)));
        pass = normalize_pass(legacy, word, out, sink);
    }
    if pass.letter_mark && is_nfc_quick(out.chars()) != IsNormalized::Yes {
        // A combining mark that is a letter (Greek ypogegrammeni), which the pass keeps, may
        // compose with a neighbour that lower-casing made ("Ή\u{345}" is "ή\u{345}", which is
        // "ῄ"): compose and run again. Rare.
        legacy.clear();
        legacy.extend(out.nfc());
        pass = normalize_pass(legacy, word, out, sink);
    }
    // Decoding can put letters side by side that read as legacy text again ("EµA" is "eàa",
    // whose "eà" reads as VNI). Normalize until the output is stable, so that normalizing twice
    // changes nothing. Only all-Latin-1 outputs can be legacy text; real ones stop at once.
    // A run of VNI base letters before a mark ("aaaaâ") loses one letter per round, so rounds
    // go on, past the fourth, for as long as each shortens the output.
    let mut rounds = 0;
    loop {
        // `detect_legacy_encoding` answers `None` at the first Vietnamese letter beyond Latin-1:
        // when the pass wrote one, skip it; likewise when it wrote nothing the detector counts.
        if pass.beyond_latin1 || !pass.maybe_legacy {
            break;
        }
        let Some(enc) = detect_legacy_encoding(out) else {
            break;
        };
        let before = out.len();
        decode_legacy_into(out, enc, legacy);
        pass = normalize_pass(legacy, word, out, sink);
        rounds += 1;
        if rounds >= 4 && out.len() >= before {
            break;
        }
    }
}

/// What [`normalize_pass`] saw of its input.
#[derive(Clone, Copy, Default)]
struct Scan {
    /// Every character is ASCII or a precomposed Vietnamese letter (see [`letter_code`]).
    plain: bool,
    /// One of those letters is beyond Latin-1.
    beyond_latin1: bool,
    /// A plain value may be legacy text only if a Latin-1 letter follows a letter in a way
    /// [`detect_legacy_encoding`] counts: upper case inside a word (TCVN3 "NguyÔn", "MÉn"), or a
    /// VNI base vowel and mark ([`vni_letter_combo`]). Its other counts are of characters that
    /// are not Vietnamese letters, which a plain value does not have.
    maybe_legacy: bool,
}

/// [`normalize_ascii`] for the common shape: ASCII letters and digits in words separated by
/// single spaces, which normalization only lower-cases: one copy, lowered in place, then read
/// for the sink. Returns `false`, having written something partial, for any other input.
fn normalize_plain_ascii<S: Sink>(input: &str, out: &mut String, sink: &mut S) -> bool {
    sink.restart(true);
    out.push_str(input);
    out.make_ascii_lowercase();
    let bytes = out.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // A word: letters and digits up to a space or the end; never empty.
        let start = i;
        sink.word(start);
        while let Some(&b) = bytes.get(i)
            && b != b' '
        {
            if !(b.is_ascii_lowercase() || b.is_ascii_digit()) {
                return false;
            }
            sink.ascii_letter(b);
            i += 1;
        }
        if i == start {
            return false;
        }
        if i < bytes.len() {
            sink.punct(i, b' ');
            i += 1;
            if i == bytes.len() {
                return false;
            }
        }
    }
    // Not empty (the general loop handles that as well).
    i > 0
}

const fn build_ascii_lower() -> [u8; 128] {
    let mut t = [0u8; 128];
    let mut b = 0u8;
    while b < 128 {
        if b.is_ascii_alphanumeric() {
            t[b as usize] = b.to_ascii_lowercase();
        }
        b += 1;
    }
    t
}

/// Each ASCII letter or digit lower case; 0 for other characters.
static ASCII_LOWER: [u8; 128] = build_ascii_lower();

/// [`normalize_text_into`] for ASCII input, byte by byte: letters and digits lower-cased, `- ' / .
/// ,` kept, every other run of characters one space, no leading or trailing space. Gives what
/// [`normalize_pass`] gives on ASCII (no tone marks, nothing legacy), without its word buffer.
fn normalize_ascii<S: Sink>(input: &str, out: &mut String, sink: &mut S) {
    if normalize_plain_ascii(input, out, sink) {
        return;
    }
    sink.restart(true);
    out.clear();
    out.reserve(input.len());
    let mut pending_space = false;
    let mut in_word = false;
    for &b in input.as_bytes() {
        let lower = ASCII_LOWER[usize::from(b & 0x7F)];
        if lower != 0 {
            if !in_word {
                if pending_space && !out.is_empty() {
                    sink.punct(out.len(), b' ');
                    out.push(' ');
                }
                pending_space = false;
                in_word = true;
                sink.word(out.len());
            }
            sink.ascii_letter(lower);
            out.push(char::from(lower));
            continue;
        }
        in_word = false;
        if matches!(b, b'-' | b'\'' | b'/' | b'.' | b',') {
            if pending_space && !out.is_empty() {
                sink.punct(out.len(), b' ');
                out.push(' ');
            }
            pending_space = false;
            sink.punct(out.len(), b);
            out.push(char::from(b));
        } else {
            pending_space = true;
        }
    }
}

/// One pass of letter processing over NFC, legacy-decoded text into `out`.
fn normalize_pass<S: Sink>(src: &str, word: &mut Word, out: &mut String, sink: &mut S) -> Pass {
    sink.restart(false);
    out.clear();
    word.clear();
    let mut pass = Pass::default();
    pass.input.plain = true;
    let mut pending_space = false;
    let mut prev = ' ';
    for c in src.chars() {
        let before = std::mem::replace(&mut prev, c);
        // Fast paths: an ASCII letter or digit, a Vietnamese vowel or `đ`, pushed as
        // `push_letter` would push them, without the general classification.
        if c.is_ascii_alphanumeric() {
            word.push(ASCII_LETTERS[usize::from(c as u8)]);
            continue;
        }
        let code = letter_code(c);
        if code != 0 {
            word.push(Letter::viet(code));
            if c > '\u{FF}' {
                pass.input.beyond_latin1 = true;
            } else {
                pass.input.maybe_legacy |=
                    (is_upper(c) && is_alnum(before)) || (before.is_ascii() && vni_letter_combo(before, c));
            }
            continue;
        }
        pass.input.plain &= c.is_ascii();
        match classify(c) {
            Class::Letter(l) => {
                pass.letter_mark |= is_combining(l);
                // `İ` lower-cases to `i` and a combining dot above, a stray mark once composed.
                pass.had_mark |= l == '\u{130}';
                push_letter(word, l);
            }
            Class::Mark(m) => {
                pass.had_mark = true;
                word.push(Letter::other(m));
            }
            Class::Drop => {}
            Class::Space => {
                flush_word(word, out, &mut pending_space, &mut pass, sink);
                pending_space = true;
            }
            Class::Keep(k) => {
                flush_word(word, out, &mut pending_space, &mut pass, sink);
                if pending_space && !out.is_empty() {
                    sink.punct(out.len(), b' ');
                    out.push(' ');
                }
                pending_space = false;
                // `Keep` characters are ASCII punctuation.
                sink.punct(out.len(), k as u8);
                out.push(k);
            }
        }
    }
    flush_word(word, out, &mut pending_space, &mut pass, sink);
    pass
}

/// What [`normalize_pass`] wrote, and saw of its input.
#[derive(Default)]
struct Pass {
    input: Scan,
    /// A combining mark.
    had_mark: bool,
    /// A combining mark that is a letter (alphabetic), kept as a letter.
    letter_mark: bool,
    /// A Vietnamese letter beyond Latin-1 (a vowel with marks, or `đ`): the output is not legacy
    /// text (see `has_letter_beyond_latin1`).
    beyond_latin1: bool,
    /// Something [`detect_legacy_encoding`] counts: a character that is neither ASCII nor a
    /// Vietnamese letter, or a Latin-1 vowel after an ASCII one that reads as VNI
    /// ([`vni_letter_combo`]; the output is lower case, so the TCVN3 upper-case rule cannot
    /// apply). Without one, the output is not legacy text.
    maybe_legacy: bool,
}

/// Allocating convenience for [`normalize_text_into`].
pub fn normalize_text(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    normalize_text_into(input, &mut TextScratch::new(), &mut out);
    out
}

#[inline]
fn push_letter(word: &mut Word, c: char) {
    if c.is_ascii() {
        word.push(ASCII_LETTERS[usize::from(c as u8)]);
        return;
    }
    let code = letter_code(c);
    if code != 0 {
        word.push(Letter::viet(code));
        return;
    }
    if c.is_lowercase() || !c.is_uppercase() {
        word.push(Letter::other(c));
    } else {
        for lc in c.to_lowercase() {
            if lc != c && (lc.is_ascii() || viet_letter(lc).is_some()) {
                push_letter(word, lc);
            } else {
                word.push(Letter::other(lc));
            }
        }
    }
}

/// Writes the word (tone mark placed) to `out`, after a space if one is pending, and notes in
/// `pass` what it wrote.
fn flush_word<S: Sink>(
    word: &mut Word,
    out: &mut String,
    pending_space: &mut bool,
    pass: &mut Pass,
    sink: &mut S,
) {
    if word.letters.is_empty() {
        return;
    }
    if *pending_space && !out.is_empty() {
        sink.punct(out.len(), b' ');
        out.push(' ');
    }
    *pending_space = false;
    if word.tones == 1 {
        place_tone(&mut word.letters);
    }
    sink.word(out.len());
    let mut prev = ' ';
    for l in &word.letters {
        let c = l.ch;
        if c.is_ascii() {
            // An ASCII letter or digit, its own folded form.
            sink.letter(c as u8);
            out.push(c);
        } else {
            if l.folded != 0 {
                sink.letter(l.folded);
                if c > '\u{FF}' {
                    pass.beyond_latin1 = true;
                } else {
                    pass.maybe_legacy |= vni_letter_combo(prev, c);
                }
            } else {
                sink.other(c);
                pass.maybe_legacy = true;
            }
            out.push(c);
        }
        prev = c;
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
            && vni_letter_combo(toned(p.vowel, 0), toned(word[target].vowel, tone))
        {
            return;
        }
    }
    word[from].tone = 0;
    word[from].ch = toned(word[from].vowel, 0);
    word[target].tone = tone;
    word[target].ch = toned(word[target].vowel, tone);
}
