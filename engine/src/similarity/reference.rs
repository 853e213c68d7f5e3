//! Plain dynamic-programming implementations: the oracle every faster path is tested against.
//!
//! These are written for obviousness, not speed. They follow the textbook definitions (and,
//! for Jaro, the exact greedy matching order of strsim 0.11) so that the bit-parallel and SIMD
//! kernels can be checked for exact equality.

/// Jaro match statistics: `(matches, half_transpositions)`.
///
/// Matching is greedy: each byte of `a`, left to right, takes the first unmatched equal byte of
/// `b` within the window `floor(max(|a|, |b|) / 2) - 1` (never below 0).
#[cfg(test)]
pub(crate) fn jaro_counts(a: &[u8], b: &[u8]) -> (usize, usize) {
    if a.is_empty() || b.is_empty() {
        return (0, 0);
    }
    let range = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut a_flags = vec![false; a.len()];
    let mut b_flags = vec![false; b.len()];
    let mut matches = 0;
    for (i, &ca) in a.iter().enumerate() {
        let lo = i.saturating_sub(range);
        let hi = (i + range + 1).min(b.len());
        for j in lo..hi {
            if !b_flags[j] && b[j] == ca {
                a_flags[i] = true;
                b_flags[j] = true;
                matches += 1;
                break;
            }
        }
    }
    let mut half = 0;
    let mut bj = b_flags.iter().zip(b).filter(|(f, _)| **f).map(|(_, &c)| c);
    for (_, &ca) in a_flags.iter().zip(a).filter(|(f, _)| **f) {
        if bj.next() != Some(ca) {
            half += 1;
        }
    }
    (matches, half)
}

/// Jaro similarity from match statistics; shared by every path so results are bit-identical.
#[inline]
pub(crate) fn jaro_from_counts(len_a: usize, len_b: usize, matches: usize, half: usize) -> f64 {
    if len_a == 0 && len_b == 0 {
        return 1.0;
    }
    if matches == 0 {
        return 0.0;
    }
    let m = matches as f64;
    let t = (half / 2) as f64;
    (m / len_a as f64 + m / len_b as f64 + (m - t) / m) / 3.0
}

/// Jaro-Winkler boost: prefix scale 0.1, prefix at most 4, applied only above 0.7.
#[inline]
pub(crate) fn winkler_boost(jaro: f64, prefix: usize) -> f64 {
    if jaro > 0.7 { jaro + 0.1 * prefix as f64 * (1.0 - jaro) } else { jaro }
}

/// Length of the common prefix, at most 4.
#[inline]
pub(crate) fn prefix4(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
pub(crate) fn jaro(a: &[u8], b: &[u8]) -> f64 {
    let (m, h) = jaro_counts(a, b);
    jaro_from_counts(a.len(), b.len(), m, h)
}

#[cfg(test)]
pub(crate) fn jaro_winkler(a: &[u8], b: &[u8]) -> f64 {
    winkler_boost(jaro(a, b), prefix4(a, b))
}

#[cfg(test)]
pub(crate) fn levenshtein(a: &[u8], b: &[u8]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, &ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Optimal string alignment (restricted Damerau): no substring is edited twice.
#[cfg(test)]
pub(crate) fn osa(a: &[u8], b: &[u8]) -> usize {
    let (n, m) = (a.len(), b.len());
    let w = m + 1;
    let mut d = vec![0usize; (n + 1) * w];
    for i in 0..=n {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().take(w).enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1).min(d[i * w + j - 1] + 1).min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[n * w + m]
}

/// True (unrestricted) Damerau-Levenshtein distance (Lowrance-Wagner).
pub(crate) fn damerau_levenshtein(a: &[u8], b: &[u8]) -> usize {
    let (n, m) = (a.len(), b.len());
    let inf = n + m;
    let w = m + 2;
    let mut d = vec![0usize; (n + 2) * w];
    d[0] = inf;
    for i in 0..=n {
        d[(i + 1) * w] = inf;
        d[(i + 1) * w + 1] = i;
    }
    for j in 0..=m {
        d[j + 1] = inf;
        d[w + j + 1] = j;
    }
    let mut last_row = [0usize; 256];
    for i in 1..=n {
        let mut last_col = 0;
        for j in 1..=m {
            let i1 = last_row[usize::from(b[j - 1])];
            let j1 = last_col;
            let cost = if a[i - 1] == b[j - 1] {
                last_col = j;
                0
            } else {
                1
            };
            let v = (d[i * w + j] + cost)
                .min(d[(i + 1) * w + j] + 1)
                .min(d[i * w + j + 1] + 1)
                .min(d[i1 * w + j1] + (i - i1 - 1) + 1 + (j - j1 - 1));
            d[(i + 1) * w + j + 1] = v;
        }
        last_row[usize::from(a[i - 1])] = i;
    }
    d[(n + 1) * w + m + 1]
}

#[cfg(test)]
pub(crate) fn lcs(a: &[u8], b: &[u8]) -> usize {
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    for &ca in a {
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = if ca == cb { prev[j] + 1 } else { prev[j + 1].max(cur[j]) };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}
