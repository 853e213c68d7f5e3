//! Bit-parallel algorithms for one pair of strings, in portable scalar code.
//!
//! Levenshtein follows Myers (1999) in Hyyrö's block formulation (2003), OSA follows Hyyrö's
//! transposition extension, LCS the Allison-Dix / Crochemore bit-vector recurrence, and Jaro
//! finds matches with one `PM & window & !matched` lowest-bit step per character. Patterns longer
//! than 64 bytes use one `u64` word per 64 bytes, so any length works.

use super::reference::{jaro_from_counts, prefix4, winkler_boost};

/// Pattern-match vectors: bit `i` of word `w` for byte `c` is set when `s[64 * w + i] == c`.
pub(crate) struct PatternMatch {
    words: usize,
    bits: Vec<u64>,
}

impl PatternMatch {
    pub(crate) fn new(s: &[u8]) -> Self {
        let words = s.len().div_ceil(64).max(1);
        let mut bits = vec![0u64; 256 * words];
        for (i, &c) in s.iter().enumerate() {
            bits[usize::from(c) * words + i / 64] |= 1u64 << (i % 64);
        }
        PatternMatch { words, bits }
    }

    #[inline(always)]
    fn row(&self, c: u8) -> &[u64] {
        let start = usize::from(c) * self.words;
        &self.bits[start..start + self.words]
    }
}

/// Single-word pattern-match table for patterns of at most 64 bytes.
pub(crate) struct PatternMatch64([u64; 256]);

impl PatternMatch64 {
    #[inline]
    pub(crate) fn new(s: &[u8]) -> Self {
        debug_assert!(s.len() <= 64);
        let mut pm = [0u64; 256];
        for (i, &c) in s.iter().enumerate() {
            pm[usize::from(c)] |= 1u64 << i;
        }
        PatternMatch64(pm)
    }

    #[inline(always)]
    pub(crate) fn get(&self, c: u8) -> u64 {
        self.0[usize::from(c)]
    }
}

/// Removes the common prefix and suffix: they never change an edit distance (a transposition
/// across the boundary would need equal bytes there, extending the affix) and add their length
/// to the LCS, returned as the third value.
#[inline]
fn strip_affixes<'x>(a: &'x [u8], b: &'x [u8]) -> (&'x [u8], &'x [u8], usize) {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    let suffix = a.iter().rev().zip(b.iter().rev()).take_while(|(x, y)| x == y).count();
    (&a[..a.len() - suffix], &b[..b.len() - suffix], prefix + suffix)
}

/// Levenshtein distance; `None` as soon as the distance is sure to exceed `max`.
pub(crate) fn levenshtein_bounded(a: &[u8], b: &[u8], max: usize) -> Option<usize> {
    let (a, b, _) = strip_affixes(a, b);
    // The shorter string is the pattern: fewer words per text byte.
    let (p, t) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if t.len() - p.len() > max {
        return None;
    }
    if p.is_empty() {
        return Some(t.len());
    }
    if p.len() <= 64 {
        myers64(&PatternMatch64::new(p), p.len(), t, max)
    } else {
        myers_block(&PatternMatch::new(p), p.len(), t, max)
    }
}

pub(crate) fn levenshtein(a: &[u8], b: &[u8]) -> usize {
    // The bound can never be exceeded, so this is always `Some`.
    levenshtein_bounded(a, b, usize::MAX).unwrap_or(usize::MAX)
}

#[inline]
pub(crate) fn myers64(pm: &PatternMatch64, m: usize, t: &[u8], max: usize) -> Option<usize> {
    let last = 1u64 << (m - 1);
    let mut vp = !0u64;
    let mut vn = 0u64;
    let mut score = m;
    let n = t.len();
    for (j, &c) in t.iter().enumerate() {
        let x = pm.get(c) | vn;
        let d0 = ((x & vp).wrapping_add(vp) ^ vp) | x;
        let hp = vn | !(d0 | vp);
        let hn = d0 & vp;
        score += usize::from(hp & last != 0);
        score -= usize::from(hn & last != 0);
        // The distance can fall by at most one per remaining text byte.
        if score > max && score - max > n - j - 1 {
            return None;
        }
        let hp = (hp << 1) | 1;
        vn = hp & d0;
        vp = (hn << 1) | !(hp | d0);
    }
    (score <= max).then_some(score)
}

fn myers_block(pm: &PatternMatch, m: usize, t: &[u8], max: usize) -> Option<usize> {
    let words = pm.words;
    let last = 1u64 << ((m - 1) % 64);
    let mut vp = vec![!0u64; words];
    let mut vn = vec![0u64; words];
    let mut score = m;
    let n = t.len();
    for (j, &c) in t.iter().enumerate() {
        let row = pm.row(c);
        // Row 0 of the DP matrix grows by one per column: horizontal delta +1 enters the top.
        let mut hp_carry = 1u64;
        let mut hn_carry = 0u64;
        for w in 0..words {
            let x = row[w] | hn_carry;
            let d0 = ((x & vp[w]).wrapping_add(vp[w]) ^ vp[w]) | x | vn[w];
            let hp = vn[w] | !(d0 | vp[w]);
            let hn = d0 & vp[w];
            let (hp_out, hn_out) = if w + 1 < words {
                (hp >> 63, hn >> 63)
            } else {
                (u64::from(hp & last != 0), u64::from(hn & last != 0))
            };
            let hp_s = (hp << 1) | hp_carry;
            let hn_s = (hn << 1) | hn_carry;
            vp[w] = hn_s | !(d0 | hp_s);
            vn[w] = hp_s & d0;
            hp_carry = hp_out;
            hn_carry = hn_out;
        }
        score += hp_carry as usize;
        score -= hn_carry as usize;
        if score > max && score - max > n - j - 1 {
            return None;
        }
    }
    (score <= max).then_some(score)
}

/// Optimal string alignment distance (Hyyrö 2003, with transpositions).
pub(crate) fn osa(a: &[u8], b: &[u8]) -> usize {
    let (a, b, _) = strip_affixes(a, b);
    let (p, t) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if p.is_empty() {
        return t.len();
    }
    if p.len() <= 64 { osa64(p, t) } else { osa_block(p, t) }
}

fn osa64(p: &[u8], t: &[u8]) -> usize {
    let pm = PatternMatch64::new(p);
    let m = p.len();
    let last = 1u64 << (m - 1);
    let (mut vp, mut vn, mut d0, mut pm_old) = (!0u64, 0u64, 0u64, 0u64);
    let mut score = m;
    for &c in t {
        let pm_j = pm.get(c);
        let tr = (((!d0) & pm_j) << 1) & pm_old;
        d0 = (((pm_j & vp).wrapping_add(vp)) ^ vp) | pm_j | vn | tr;
        let hp = vn | !(d0 | vp);
        let hn = d0 & vp;
        score += usize::from(hp & last != 0);
        score -= usize::from(hn & last != 0);
        let hp = (hp << 1) | 1;
        let hn = hn << 1;
        vp = hn | !(d0 | hp);
        vn = hp & d0;
        pm_old = pm_j;
    }
    score
}

fn osa_block(p: &[u8], t: &[u8]) -> usize {
    let pm = PatternMatch::new(p);
    let words = pm.words;
    let m = p.len();
    let last = 1u64 << ((m - 1) % 64);
    let mut vp = vec![!0u64; words];
    let mut vn = vec![0u64; words];
    let mut d0 = vec![0u64; words];
    let mut pm_old = vec![0u64; words];
    let mut score = m;
    for &c in t {
        let row = pm.row(c);
        let mut hp_carry = 1u64;
        let mut hn_carry = 0u64;
        // Top bit of `!D0 & PM` from the word below, shifted into this word's transposition mask.
        let mut tr_carry = 0u64;
        for w in 0..words {
            let pm_j = row[w];
            let x_tr = (!d0[w]) & pm_j;
            let tr = ((x_tr << 1) | tr_carry) & pm_old[w];
            tr_carry = x_tr >> 63;
            let x = pm_j | hn_carry;
            let d = ((x & vp[w]).wrapping_add(vp[w]) ^ vp[w]) | x | vn[w] | tr;
            let hp = vn[w] | !(d | vp[w]);
            let hn = d & vp[w];
            let (hp_out, hn_out) = if w + 1 < words {
                (hp >> 63, hn >> 63)
            } else {
                (u64::from(hp & last != 0), u64::from(hn & last != 0))
            };
            let hp_s = (hp << 1) | hp_carry;
            let hn_s = (hn << 1) | hn_carry;
            vp[w] = hn_s | !(d | hp_s);
            vn[w] = hp_s & d;
            d0[w] = d;
            pm_old[w] = pm_j;
            hp_carry = hp_out;
            hn_carry = hn_out;
        }
        score += hp_carry as usize;
        score -= hn_carry as usize;
    }
    score
}

/// Length of the longest common subsequence.
pub(crate) fn lcs(a: &[u8], b: &[u8]) -> usize {
    let (a, b, common) = strip_affixes(a, b);
    let (p, t) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if p.is_empty() {
        return common;
    }
    let pm = PatternMatch::new(p);
    let words = pm.words;
    let mut s = vec![!0u64; words];
    for &c in t {
        let row = pm.row(c);
        let mut carry = false;
        for w in 0..words {
            let u = s[w] & row[w];
            let (sum, c1) = s[w].overflowing_add(u);
            let (sum, c2) = sum.overflowing_add(u64::from(carry));
            carry = c1 || c2;
            s[w] = sum | (s[w] & !row[w]);
        }
    }
    let mut total = 0usize;
    for (w, &word) in s.iter().enumerate() {
        let bits = (p.len() - 64 * w).min(64);
        let mask = if bits == 64 { !0 } else { (1u64 << bits) - 1 };
        total += (!word & mask).count_ones() as usize;
    }
    total + common
}

/// Jaro match statistics `(matches, half_transpositions)`, bit-parallel when `b` fits a word.
///
/// `a` drives the greedy matching and `b` is searched, exactly as in the reference.
pub(crate) fn jaro_counts(a: &[u8], b: &[u8]) -> (usize, usize) {
    if a.is_empty() || b.is_empty() {
        return (0, 0);
    }
    if b.len() > 64 {
        return jaro_counts_block(&PatternMatch::new(b), a, b.len());
    }
    jaro_counts64(&PatternMatch64::new(b), a, b.len())
}

/// `jaro_counts64` for a pattern of any length: the window spans several words.
fn jaro_counts_block(pm: &PatternMatch, a: &[u8], lb: usize) -> (usize, usize) {
    let range = (a.len().max(lb) / 2).saturating_sub(1);
    let mut matched_b = vec![0u64; pm.words];
    let mut a_matched = Vec::with_capacity(a.len().min(lb));
    for (i, &c) in a.iter().enumerate() {
        let lo = i.saturating_sub(range);
        if lo >= lb {
            break;
        }
        // Bits [lo, hi) of the pattern are inside the window.
        let hi = (i + range + 1).min(lb);
        let row = pm.row(c);
        for w in lo / 64..=(hi - 1) / 64 {
            let start = lo.max(64 * w) - 64 * w;
            let end = hi.min(64 * w + 64) - 64 * w;
            let window = ones_below(end) & !ones_below(start);
            let cand = row[w] & window & !matched_b[w];
            if cand != 0 {
                matched_b[w] |= cand & cand.wrapping_neg();
                a_matched.push(c);
                break;
            }
        }
    }
    let mut half = 0;
    let mut w = 0;
    let mut flags = matched_b.first().copied().unwrap_or(0);
    for &c in &a_matched {
        while flags == 0 && w + 1 < matched_b.len() {
            w += 1;
            flags = matched_b[w];
        }
        let low = flags & flags.wrapping_neg();
        half += usize::from(pm.row(c)[w] & low == 0);
        flags ^= low;
    }
    (a_matched.len(), half)
}

#[inline]
fn ones_below(n: usize) -> u64 {
    if n >= 64 { !0 } else { (1u64 << n) - 1 }
}

/// Jaro statistics for text `a` against a pattern of `lb` (1..=64) bytes.
#[inline]
pub(crate) fn jaro_counts64(pm: &PatternMatch64, a: &[u8], lb: usize) -> (usize, usize) {
    let range = (a.len().max(lb) / 2).saturating_sub(1);
    let mut matched_b = 0u64;
    // Bits of `a` that matched; `a` may be longer than 64, so keep matched bytes in order.
    let mut a_matched = [0u8; 64];
    let mut count = 0usize;
    for (i, &c) in a.iter().enumerate() {
        let lo = i.saturating_sub(range);
        if lo >= lb {
            break;
        }
        let hi = i + range + 1;
        let mut window = if hi >= 64 { !0u64 } else { (1u64 << hi) - 1 };
        window &= !0u64 << lo;
        let cand = pm.get(c) & window & !matched_b;
        if cand != 0 {
            matched_b |= cand & cand.wrapping_neg();
            a_matched[count] = c;
            count += 1;
        }
    }
    let mut half = 0;
    let mut flags = matched_b;
    for &c in &a_matched[..count] {
        let low = flags & flags.wrapping_neg();
        half += usize::from(pm.get(c) & low == 0);
        flags ^= low;
    }
    (count, half)
}

pub(crate) fn jaro(a: &[u8], b: &[u8]) -> f64 {
    let (m, h) = jaro_counts(a, b);
    jaro_from_counts(a.len(), b.len(), m, h)
}

pub(crate) fn jaro_winkler(a: &[u8], b: &[u8]) -> f64 {
    winkler_boost(jaro(a, b), prefix4(a, b))
}
