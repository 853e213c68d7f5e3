//! Measures built on top of the character kernels: token sets, n-gram sets and identifier digits.

use super::bitpar;

/// Byte that separates name tokens.
pub(crate) const TOKEN_SEPARATOR: u8 = b' ';

fn tokens(s: &[u8]) -> Vec<&[u8]> {
    let mut t: Vec<&[u8]> = s.split(|&c| c == TOKEN_SEPARATOR).filter(|t| !t.is_empty()).collect();
    t.sort_unstable();
    t.dedup();
    t
}

/// Mean over `small` of the best Jaro-Winkler score against any token of `large`.
fn monge_elkan(small: &[&[u8]], large: &[&[u8]]) -> f64 {
    let total: f64 =
        small.iter().map(|a| large.iter().map(|b| bitpar::jaro_winkler(a, b)).fold(0.0, f64::max)).sum();
    total / small.len() as f64
}

pub(crate) fn token_set_similarity(a: &[u8], b: &[u8]) -> f64 {
    let ta = tokens(a);
    let tb = tokens(b);
    match (ta.is_empty(), tb.is_empty()) {
        (true, true) => return 1.0,
        (true, false) | (false, true) => return 0.0,
        _ => {}
    }
    match ta.len().cmp(&tb.len()) {
        std::cmp::Ordering::Less => monge_elkan(&ta, &tb),
        std::cmp::Ordering::Greater => monge_elkan(&tb, &ta),
        std::cmp::Ordering::Equal => (monge_elkan(&ta, &tb) + monge_elkan(&tb, &ta)) / 2.0,
    }
}

fn grams(s: &[u8], n: usize) -> Vec<&[u8]> {
    let mut g: Vec<&[u8]> = if s.len() <= n { vec![s] } else { s.windows(n).collect() };
    g.sort_unstable();
    g.dedup();
    g
}

pub(crate) fn ngram_jaccard(a: &[u8], b: &[u8], n: usize) -> f64 {
    let n = n.max(1);
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return 1.0,
        (true, false) | (false, true) => return 0.0,
        _ => {}
    }
    let ga = grams(a, n);
    let gb = grams(b, n);
    // Both lists are sorted and unique: merge to count the intersection.
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < ga.len() && j < gb.len() {
        match ga[i].cmp(gb[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    common as f64 / (ga.len() + gb.len() - common) as f64
}

/// How two identifier strings (digits, but any bytes are accepted) differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DigitRelation {
    /// Byte for byte equal.
    Equal,
    /// Equal after swapping one pair of adjacent bytes.
    OneTransposition,
    /// Equal after changing one byte.
    OneSubstitution,
    /// Equal after one adjacent swap and one changed byte elsewhere.
    TranspositionAndSubstitution,
    /// Anything else, including different lengths.
    Different,
}

impl DigitRelation {
    /// Similarity for the relation: 1.0, 0.9, 0.8, 0.6 and 0.0 in declaration order.
    pub fn score(self) -> f64 {
        match self {
            DigitRelation::Equal => 1.0,
            DigitRelation::OneTransposition => 0.9,
            DigitRelation::OneSubstitution => 0.8,
            DigitRelation::TranspositionAndSubstitution => 0.6,
            DigitRelation::Different => 0.0,
        }
    }
}

pub(crate) fn digit_relation(a: &[u8], b: &[u8]) -> DigitRelation {
    if a.len() != b.len() {
        return DigitRelation::Different;
    }
    // At most three differing positions can still be one of the recognised relations.
    let mut diff = [0usize; 3];
    let mut count = 0;
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        if x != y {
            if count == 3 {
                return DigitRelation::Different;
            }
            diff[count] = i;
            count += 1;
        }
    }
    let swapped = |i: usize| i + 1 < a.len() && a[i] == b[i + 1] && a[i + 1] == b[i];
    match count {
        0 => DigitRelation::Equal,
        1 => DigitRelation::OneSubstitution,
        2 if diff[1] == diff[0] + 1 && swapped(diff[0]) => DigitRelation::OneTransposition,
        3 if (diff[1] == diff[0] + 1 && swapped(diff[0])) || (diff[2] == diff[1] + 1 && swapped(diff[1])) => {
            DigitRelation::TranspositionAndSubstitution
        }
        _ => DigitRelation::Different,
    }
}
