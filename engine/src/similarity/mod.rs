//! String similarity kernels: the `compare` stage's inner loop.
//!
//! Comparing records means scoring millions of name, address and identifier pairs, so this
//! module offers each measure three ways: a one-pair function, a one-against-many
//! [`BatchComparator`] and many-against-many `cdist_*` functions that fill a caller's buffer.
//!
//! # Input and scores
//!
//! Strings are byte slices in the compact alphabet produced by normalization: **one byte is one
//! character**, so every byte value 0-255 is a valid symbol and measures count bytes. (Feeding
//! UTF-8 would count `ễ` as three edits; normalize first.)
//!
//! - Similarities are `f64` in `[0, 1]`, 1 meaning identical.
//! - Edit distances are counts of edits (`usize`, `u32` in batches); each has a normalized
//!   `*_similarity` variant, `1 - distance / max(len_a, len_b)`.
//! - **Empty strings**: two empty strings have similarity 1.0 and distance 0; an empty string
//!   against a non-empty one has similarity 0.0 and distance equal to the other's length.
//!   Callers should treat an empty value as missing and not score it at all.
//!
//! Jaro-Winkler is the standard one: match window `floor(max_len / 2) - 1` (never below 0),
//! transpositions are half the out-of-order matches rounded down, prefix scale 0.1 over at most
//! four bytes, boost applied only when the Jaro similarity is above 0.7.
//!
//! # Speed
//!
//! One-pair functions use bit-parallel algorithms (Myers/Hyyrö for edit distances, a
//! bit-vector window for Jaro). Batches pack many short strings into the lanes of one SIMD
//! vector (8-bit lanes for strings of up to 8 bytes, 16 up to 16, 32 up to 32, 64 up to 64), so
//! one vector operation advances 4 to 64 comparisons. AVX-512 (F+BW) or AVX2 is detected once at
//! run time; other machines, and strings longer than 64 bytes, take a portable multi-word path.
//! All paths return identical results.
//!
//! # Example
//!
//! ```
//! use khop::similarity::{self, BatchComparator};
//!
//! assert!((similarity::jaro_winkler(b"MARTHA", b"MARHTA") - 0.9611).abs() < 1e-4);
//! assert_eq!(similarity::levenshtein(b"nguyen", b"nguyn"), 1);
//! assert_eq!(similarity::levenshtein_bounded(b"nguyen", b"tran", 2), None);
//!
//! // One against many: build once, reuse for every probe and output buffer.
//! let names: Vec<&[u8]> = vec![b"nguyen van an", b"tran thi hoa", b"nguyen van anh"];
//! let batch = BatchComparator::new(&names);
//! let mut scores = Vec::new();
//! batch.jaro_winkler(b"nguyen van an", &mut scores);
//! assert_eq!(scores[0], 1.0);
//! let mut distances = Vec::new();
//! batch.levenshtein(b"nguyen van an", &mut distances);
//! assert_eq!(distances, [0, 11, 1]);
//!
//! // Many against many, row-major: out[i * choices.len() + j].
//! let mut all = Vec::new();
//! similarity::cdist_levenshtein(&names[..2], &names, &mut all);
//! assert_eq!(all.len(), 6);
//! ```

mod batch;
mod bitpar;
mod reference;
mod scalar;
mod tokens;
#[cfg(target_arch = "x86_64")]
mod x86_64;

#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU8, Ordering};

use batch::{Group, Strings};
pub use tokens::DigitRelation;

/// Jaro similarity.
pub fn jaro(a: &[u8], b: &[u8]) -> f64 {
    bitpar::jaro(a, b)
}

/// Jaro-Winkler similarity (see the module docs for the exact definition).
pub fn jaro_winkler(a: &[u8], b: &[u8]) -> f64 {
    bitpar::jaro_winkler(a, b)
}

/// Jaro-Winkler similarity if it is at least `cutoff`, else `None`.
///
/// Pairs whose lengths alone rule the cutoff out are rejected without matching.
pub fn jaro_winkler_cutoff(a: &[u8], b: &[u8], cutoff: f64) -> Option<f64> {
    if !a.is_empty() && !b.is_empty() {
        // At most min(|a|, |b|) matches and no transpositions.
        let short = a.len().min(b.len());
        let bound = reference::jaro_from_counts(a.len(), b.len(), short, 0);
        let bound = reference::winkler_boost(bound, reference::prefix4(a, b));
        if bound < cutoff {
            return None;
        }
    }
    let score = jaro_winkler(a, b);
    (score >= cutoff).then_some(score)
}

/// Levenshtein distance (insertions, deletions and substitutions of one byte each cost 1).
pub fn levenshtein(a: &[u8], b: &[u8]) -> usize {
    bitpar::levenshtein(a, b)
}

/// Levenshtein distance if it is at most `max`, else `None`; stops as soon as the
/// distance is sure to exceed `max`.
pub fn levenshtein_bounded(a: &[u8], b: &[u8], max: usize) -> Option<usize> {
    bitpar::levenshtein_bounded(a, b, max)
}

/// `1 - levenshtein / max(len_a, len_b)`; 1.0 for two empty strings.
pub fn levenshtein_similarity(a: &[u8], b: &[u8]) -> f64 {
    normalized(levenshtein(a, b), a, b)
}

/// Optimal string alignment distance (restricted Damerau-Levenshtein): like Levenshtein plus
/// the swap of two adjacent bytes, with no substring edited twice.
pub fn osa(a: &[u8], b: &[u8]) -> usize {
    bitpar::osa(a, b)
}

/// `1 - osa / max(len_a, len_b)`; 1.0 for two empty strings.
pub fn osa_similarity(a: &[u8], b: &[u8]) -> f64 {
    normalized(osa(a, b), a, b)
}

/// True Damerau-Levenshtein distance (adjacent swaps, substrings may be edited again).
///
/// Quadratic time and memory: meant for short fields.
pub fn damerau_levenshtein(a: &[u8], b: &[u8]) -> usize {
    reference::damerau_levenshtein(a, b)
}

/// `1 - damerau_levenshtein / max(len_a, len_b)`; 1.0 for two empty strings.
pub fn damerau_levenshtein_similarity(a: &[u8], b: &[u8]) -> f64 {
    normalized(damerau_levenshtein(a, b), a, b)
}

/// Length of the longest common subsequence.
pub fn lcs_len(a: &[u8], b: &[u8]) -> usize {
    bitpar::lcs(a, b)
}

/// `lcs_len / max(len_a, len_b)`; 1.0 for two empty strings.
pub fn lcs_similarity(a: &[u8], b: &[u8]) -> f64 {
    let longest = a.len().max(b.len());
    if longest == 0 { 1.0 } else { lcs_len(a, b) as f64 / longest as f64 }
}

/// Similarity of two names whose tokens may be reordered or missing.
///
/// Tokens are separated by spaces (`b' '`) and deduplicated. Each token of the name with fewer
/// tokens is scored by its best Jaro-Winkler match among the other name's tokens, and the scores
/// are averaged (Monge-Elkan); with equal token counts both directions are averaged, so the
/// measure is symmetric. A name that is a subset of the other ("nguyen an" in "nguyen van an")
/// scores 1.0. Two names without tokens score 1.0, one without tokens 0.0.
pub fn token_set_similarity(a: &[u8], b: &[u8]) -> f64 {
    tokens::token_set_similarity(a, b)
}

/// Jaccard similarity of the sets of byte `n`-grams (`n = 0` is treated as 1).
///
/// A non-empty string shorter than `n` is a single gram. Two empty strings score 1.0.
pub fn ngram_jaccard(a: &[u8], b: &[u8], n: usize) -> f64 {
    tokens::ngram_jaccard(a, b, n)
}

/// How two identifiers (e.g. 12-digit personal numbers) differ: equal, one adjacent swap, one
/// changed digit, both, or otherwise different. Different lengths are `Different`.
pub fn digit_relation(a: &[u8], b: &[u8]) -> DigitRelation {
    tokens::digit_relation(a, b)
}

/// Identifier similarity: [`digit_relation`] mapped through [`DigitRelation::score`].
pub fn digit_similarity(a: &[u8], b: &[u8]) -> f64 {
    digit_relation(a, b).score()
}

/// Gives `out` exactly `len` elements. Every element is overwritten by the caller, so a
/// buffer that already has the right length is reused as it is, without clearing.
fn reset<T: Copy + Default>(out: &mut Vec<T>, len: usize) {
    if out.len() != len {
        out.clear();
        out.resize(len, T::default());
    }
}

fn normalized(distance: usize, a: &[u8], b: &[u8]) -> f64 {
    let longest = a.len().max(b.len());
    if longest == 0 { 1.0 } else { 1.0 - distance as f64 / longest as f64 }
}

/// The instruction set the batch kernels run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InstructionSet {
    /// Portable code, one pair at a time (still bit-parallel within the pair).
    Scalar,
    /// 256-bit AVX2 vectors.
    Avx2,
    /// 512-bit AVX-512 vectors (F and BW).
    Avx512,
}

impl InstructionSet {
    /// Whether this CPU can run it.
    fn is_available(self) -> bool {
        match self {
            InstructionSet::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            InstructionSet::Avx2 => std::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            InstructionSet::Avx512 => {
                std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512bw")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// Bytes in one vector, `None` for the scalar path.
    fn vector_bytes(self) -> Option<usize> {
        match self {
            InstructionSet::Scalar => None,
            InstructionSet::Avx2 => Some(32),
            InstructionSet::Avx512 => Some(64),
        }
    }
}

/// The best instruction set of this CPU, detected on first use and cached.
pub fn instruction_set() -> InstructionSet {
    static DETECTED: AtomicU8 = AtomicU8::new(0);
    const ALL: [InstructionSet; 3] = [InstructionSet::Scalar, InstructionSet::Avx2, InstructionSet::Avx512];
    match DETECTED.load(Ordering::Relaxed) {
        0 => {
            let best = if InstructionSet::Avx512.is_available() {
                2
            } else if InstructionSet::Avx2.is_available() {
                1
            } else {
                0
            };
            DETECTED.store(best + 1, Ordering::Relaxed);
            ALL[usize::from(best)]
        }
        v => ALL[usize::from(v - 1)],
    }
}

/// A set of strings packed once for fast comparison against many probe strings.
///
/// Scores come out in the order the strings were given. Strings of at most 64 bytes are packed
/// into SIMD lanes; longer ones are compared one by one with the multi-word algorithms.
pub struct BatchComparator {
    isa: InstructionSet,
    strings: Strings,
    groups: Vec<Group>,
    patterns: scalar::Patterns,
    long: Vec<u32>,
    empty: Vec<u32>,
}

impl BatchComparator {
    /// Packs `strings` for the best instruction set of this CPU.
    pub fn new(strings: &[&[u8]]) -> BatchComparator {
        BatchComparator::with_instruction_set(strings, instruction_set())
    }

    /// Packs `strings` for `isa`, or for the portable path if this CPU lacks it (check with
    /// [`BatchComparator::instruction_set`]). For benchmarks and tests; results never depend
    /// on the instruction set.
    pub fn with_instruction_set(strings: &[&[u8]], isa: InstructionSet) -> BatchComparator {
        let isa = if isa.is_available() { isa } else { InstructionSet::Scalar };
        let mut classes: [Vec<(u32, &[u8])>; 4] = Default::default();
        let mut short = Vec::new();
        let mut long = Vec::new();
        let mut empty = Vec::new();
        for (i, s) in strings.iter().enumerate() {
            let i = i as u32;
            match s.len() {
                0 => empty.push(i),
                len @ 1..=64 => match isa.vector_bytes() {
                    Some(_) => {
                        let class = match len {
                            1..=8 => 0,
                            9..=16 => 1,
                            17..=32 => 2,
                            _ => 3,
                        };
                        classes[class].push((i, *s));
                    }
                    None => short.push((i, *s)),
                },
                _ => long.push(i),
            }
        }
        let groups = match isa.vector_bytes() {
            Some(bytes) => classes
                .iter()
                .zip([8, 16, 32, 64])
                .filter(|(c, _)| !c.is_empty())
                .map(|(c, bits)| Group::new(bits, bytes, c))
                .collect(),
            None => Vec::new(),
        };
        BatchComparator {
            isa,
            strings: Strings::new(strings),
            groups,
            patterns: scalar::Patterns::new(&short),
            long,
            empty,
        }
    }

    /// Number of strings.
    pub fn len(&self) -> usize {
        self.strings.len()
    }

    /// Whether there are no strings.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The instruction set this comparator runs on.
    pub fn instruction_set(&self) -> InstructionSet {
        self.isa
    }

    /// Levenshtein distance from `text` to every string (`u32::MAX` if it would not fit);
    /// `out` is resized to `self.len()` and filled in string order.
    pub fn levenshtein(&self, text: &[u8], out: &mut Vec<u32>) {
        reset(out, self.len());
        self.levenshtein_into(text, out);
    }

    /// Jaro similarity of `text` (as first argument) to every string, in string order.
    pub fn jaro(&self, text: &[u8], out: &mut Vec<f64>) {
        reset(out, self.len());
        self.jaro_into(text, false, out);
    }

    /// Jaro-Winkler similarity of `text` (as first argument) to every string, in string order.
    pub fn jaro_winkler(&self, text: &[u8], out: &mut Vec<f64>) {
        reset(out, self.len());
        self.jaro_into(text, true, out);
    }

    /// `out.len()` must equal `self.len()`.
    fn levenshtein_into(&self, text: &[u8], out: &mut [u32]) {
        let n = u32::try_from(text.len()).unwrap_or(u32::MAX);
        for &i in &self.empty {
            out[i as usize] = n;
        }
        for &i in &self.long {
            let d = bitpar::levenshtein(text, self.strings.get(i as usize));
            out[i as usize] = u32::try_from(d).unwrap_or(u32::MAX);
        }
        self.patterns.levenshtein(&self.strings, text, out);
        for group in &self.groups {
            match self.isa {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `isa` was checked with `is_available` when the groups were packed
                // for its vector width.
                InstructionSet::Avx512 => unsafe { x86_64::avx512::levenshtein(group, text, out) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: as above.
                InstructionSet::Avx2 => unsafe { x86_64::avx2::levenshtein(group, text, out) },
                _ => {}
            }
        }
    }

    /// `out.len()` must equal `self.len()`.
    fn jaro_into(&self, text: &[u8], winkler: bool, out: &mut [f64]) {
        for &i in self.empty.iter().chain(&self.long) {
            out[i as usize] = batch::jaro_pair(text, self.strings.get(i as usize), winkler);
        }
        self.patterns.jaro(&self.strings, text, winkler, out);
        for group in &self.groups {
            match self.isa {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `isa` was checked with `is_available` when the groups were packed
                // for its vector width.
                InstructionSet::Avx512 => unsafe {
                    x86_64::avx512::jaro(group, &self.strings, text, winkler, out)
                },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: as above.
                InstructionSet::Avx2 => unsafe {
                    x86_64::avx2::jaro(group, &self.strings, text, winkler, out)
                },
                _ => {}
            }
        }
    }
}

/// Levenshtein distances from `query` to each of `choices`, into `out` (resized to fit).
pub fn levenshtein_many(query: &[u8], choices: &[&[u8]], out: &mut Vec<u32>) {
    BatchComparator::new(choices).levenshtein(query, out);
}

/// Jaro-Winkler similarities of `query` to each of `choices`, into `out` (resized to fit).
pub fn jaro_winkler_many(query: &[u8], choices: &[&[u8]], out: &mut Vec<f64>) {
    BatchComparator::new(choices).jaro_winkler(query, out);
}

/// Jaro similarities of `query` to each of `choices`, into `out` (resized to fit).
pub fn jaro_many(query: &[u8], choices: &[&[u8]], out: &mut Vec<f64>) {
    BatchComparator::new(choices).jaro(query, out);
}

/// All Levenshtein distances, row-major: `out[i * choices.len() + j]` is the distance between
/// `queries[i]` and `choices[j]`. `out` is resized to fit and every element overwritten.
pub fn cdist_levenshtein(queries: &[&[u8]], choices: &[&[u8]], out: &mut Vec<u32>) {
    let batch = BatchComparator::new(choices);
    reset(out, queries.len() * choices.len());
    if choices.is_empty() {
        return;
    }
    for (row, q) in out.chunks_exact_mut(choices.len()).zip(queries) {
        batch.levenshtein_into(q, row);
    }
}

/// All Jaro-Winkler similarities, row-major: `out[i * choices.len() + j]` is
/// `jaro_winkler(queries[i], choices[j])`. `out` is resized to fit and every element overwritten.
pub fn cdist_jaro_winkler(queries: &[&[u8]], choices: &[&[u8]], out: &mut Vec<f64>) {
    cdist_jaro_impl(queries, choices, true, out);
}

/// All Jaro similarities, row-major: `out[i * choices.len() + j]` is
/// `jaro(queries[i], choices[j])`. `out` is resized to fit and every element overwritten.
pub fn cdist_jaro(queries: &[&[u8]], choices: &[&[u8]], out: &mut Vec<f64>) {
    cdist_jaro_impl(queries, choices, false, out);
}

fn cdist_jaro_impl(queries: &[&[u8]], choices: &[&[u8]], winkler: bool, out: &mut Vec<f64>) {
    let batch = BatchComparator::new(choices);
    reset(out, queries.len() * choices.len());
    if choices.is_empty() {
        return;
    }
    for (row, q) in out.chunks_exact_mut(choices.len()).zip(queries) {
        batch.jaro_into(q, winkler, row);
    }
}
