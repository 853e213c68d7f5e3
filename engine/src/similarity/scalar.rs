//! Portable one-against-many path, used when no SIMD instruction set is available and for
//! strings longer than 64 bytes: one pair at a time through the bit-parallel algorithms, with
//! each string's pattern-match table built once.

use super::batch::jaro_pair;
use super::bitpar::{self, PatternMatch64};
use super::reference::{jaro_from_counts, prefix4, winkler_boost};

/// Strings of 1 to 64 bytes with their pattern-match tables.
pub(crate) struct Patterns {
    entries: Vec<(u32, usize, Box<PatternMatch64>)>,
}

impl Patterns {
    pub(crate) fn new(strings: &[(u32, &[u8])]) -> Patterns {
        Patterns {
            entries: strings.iter().map(|&(i, s)| (i, s.len(), Box::new(PatternMatch64::new(s)))).collect(),
        }
    }

    pub(crate) fn levenshtein(&self, strings: &super::batch::Strings, text: &[u8], out: &mut [u32]) {
        // Levenshtein is symmetric: with a short text, one table for the text serves every
        // string and stays in cache, instead of one table per string.
        if (1..=64).contains(&text.len()) {
            let pm = PatternMatch64::new(text);
            for (i, _, _) in &self.entries {
                let s = strings.get(*i as usize);
                let d = bitpar::myers64(&pm, text.len(), s, usize::MAX).unwrap_or(usize::MAX);
                out[*i as usize] = u32::try_from(d).unwrap_or(u32::MAX);
            }
            return;
        }
        for (i, m, pm) in &self.entries {
            let d = bitpar::myers64(pm, *m, text, usize::MAX).unwrap_or(usize::MAX);
            out[*i as usize] = u32::try_from(d).unwrap_or(u32::MAX);
        }
    }

    pub(crate) fn jaro(&self, strings: &super::batch::Strings, text: &[u8], winkler: bool, out: &mut [f64]) {
        for (i, m, pm) in &self.entries {
            let s = strings.get(*i as usize);
            out[*i as usize] = if text.is_empty() {
                jaro_pair(text, s, winkler)
            } else {
                let (mc, half) = bitpar::jaro_counts64(pm, text, *m);
                let j = jaro_from_counts(text.len(), *m, mc, half);
                if winkler { winkler_boost(j, prefix4(text, s)) } else { j }
            };
        }
    }
}
