//! Training a Fellegi-Sunter model without labels.
//!
//! - `u` (level frequencies among non-matches) comes from comparison vectors of *random* record
//!   pairs ([`estimate_u`]): nearly all random pairs are non-matches.
//! - `m` (level frequencies among matches) and the prior λ come from expectation-maximisation over
//!   the comparison vectors of *blocked* pairs ([`expectation_maximisation`]), with `u` held fixed.
//!   A comparison that a session's blocking rule used cannot be learned from that session (its
//!   pairs all agree on it by construction), so each session estimates `m` only for the other
//!   comparisons, and the sessions' estimates are averaged: "several blocking sessions". Nor does
//!   such a comparison take part in the session's posteriors: "these pairs all share a family name
//!   and a date of birth" is not evidence that any one of them is a match.
//! - A session's λ is the share of matches among *its* blocked pairs, which says little about
//!   the share among all pairs; the model's prior is set by the caller (see
//!   [`Linker::train`](crate::link::linker::Linker::train)), not averaged from the sessions.
//! - With labelled matches, [`m_from_labels`] counts `m` directly.
//!
//! Identical comparison vectors are counted once ([`Patterns`]): millions of pairs reduce to a few
//! thousand patterns, so EM costs almost nothing after comparison.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{MIN_PROBABILITY, Model};
use crate::error::{Error, Result};

/// Distinct comparison vectors and how often each occurs, in a deterministic order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Patterns {
    width: usize,
    counts: BTreeMap<Vec<u8>, u64>,
}

impl Patterns {
    /// An empty set of vectors `width` levels long.
    pub fn new(width: usize) -> Self {
        Patterns { width, counts: BTreeMap::new() }
    }

    /// Adds row-major comparison vectors (`width` levels each).
    pub fn add(&mut self, vectors: &[u8]) -> Result<()> {
        if self.width == 0 || !vectors.len().is_multiple_of(self.width) {
            return Err(Error::invalid(format!(
                "{} levels do not split into vectors of {}",
                vectors.len(),
                self.width
            )));
        }
        for vector in vectors.chunks_exact(self.width) {
            // Most vectors repeat a pattern already seen: look up before allocating a key.
            match self.counts.get_mut(vector) {
                Some(count) => *count += 1,
                None => {
                    self.counts.insert(vector.to_vec(), 1);
                }
            }
        }
        Ok(())
    }

    /// Merges another set (for example one built on another thread).
    pub fn merge(&mut self, other: Patterns) {
        for (vector, count) in other.counts {
            *self.counts.entry(vector).or_default() += count;
        }
    }

    /// The same vectors laid out for a wider model: level `c` of each vector goes to position
    /// `positions[c]` of a vector `width` long, every other position holds `fill` (a null level,
    /// for comparisons the vectors' tables do not have). Used to train one model on several
    /// sources whose comparisons differ.
    pub fn widen(&self, width: usize, positions: &[usize], fill: u8) -> Result<Patterns> {
        if positions.len() != self.width || positions.iter().any(|&p| p >= width) {
            return Err(Error::invalid(format!(
                "cannot lay out vectors of {} levels into {width} positions",
                self.width
            )));
        }
        let mut out = Patterns::new(width);
        for (vector, &count) in &self.counts {
            let mut wide = vec![fill; width];
            for (&level, &p) in vector.iter().zip(positions) {
                wide[p] = level;
            }
            *out.counts.entry(wide).or_default() += count;
        }
        Ok(out)
    }

    /// Number of vectors added.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Number of distinct vectors.
    pub fn distinct(&self) -> usize {
        self.counts.len()
    }

    fn iter(&self) -> impl Iterator<Item = (&[u8], f64)> {
        self.counts.iter().map(|(v, &n)| (v.as_slice(), n as f64))
    }

    fn check(&self, model: &Model) -> Result<()> {
        if self.width != model.width() {
            return Err(Error::invalid(format!(
                "vectors of {} levels for a model of {} comparisons",
                self.width,
                model.width()
            )));
        }
        for vector in self.counts.keys() {
            model.check_vector(vector)?;
        }
        Ok(())
    }
}

/// Level frequencies per comparison, null levels excluded; `None` where no vector had a value.
/// Each vector counts `weight(vector)` times, and `pseudo` is added to every non-null level's
/// count (see [`M_PSEUDO_COUNT`]).
fn frequencies(
    model: &Model,
    patterns: &Patterns,
    weight: impl Fn(&[u8]) -> f64,
    pseudo: f64,
) -> Vec<Option<Vec<f64>>> {
    let mut counts: Vec<Vec<f64>> = model.comparisons.iter().map(|c| vec![0.0; c.levels.len()]).collect();
    for (vector, n) in patterns.iter() {
        let w = n * weight(vector);
        for (c, &level) in vector.iter().enumerate() {
            if model.comparisons[c].spec.null_level != Some(level) {
                counts[c][usize::from(level)] += w;
            }
        }
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(c, levels)| {
            let total: f64 = levels.iter().sum();
            let null = model.comparisons[c].spec.null_level;
            let counted = levels.len() - usize::from(null.is_some());
            let smoothed = total + pseudo * counted as f64;
            (total > 0.0).then(|| {
                levels
                    .iter()
                    .enumerate()
                    .map(|(l, n)| {
                        let n = if null == Some(l as u8) { *n } else { n + pseudo };
                        (n / smoothed).max(MIN_PROBABILITY)
                    })
                    .collect()
            })
        })
        .collect()
}

/// Sets `u` of every comparison from the comparison vectors of random record pairs.
pub fn estimate_u(model: &mut Model, random_pairs: &Patterns) -> Result<()> {
    random_pairs.check(model)?;
    for (c, estimate) in frequencies(model, random_pairs, |_| 1.0, 0.0).into_iter().enumerate() {
        if let Some(levels) = estimate {
            for (l, u) in levels.into_iter().enumerate() {
                model.comparisons[c].levels[l].u = u;
            }
            model.comparisons[c].normalize();
        }
    }
    Ok(())
}

/// Sets `m` of every comparison from the comparison vectors of labelled true matches.
pub fn m_from_labels(model: &mut Model, matches: &Patterns) -> Result<()> {
    matches.check(model)?;
    for (c, estimate) in frequencies(model, matches, |_| 1.0, 0.0).into_iter().enumerate() {
        if let Some(levels) = estimate {
            for (l, m) in levels.into_iter().enumerate() {
                model.comparisons[c].levels[l].m = m;
            }
            model.comparisons[c].normalize();
        }
    }
    Ok(())
}

/// Pseudo-matches added to every level when EM estimates `m`. A level that no expected match of
/// a session reached would otherwise get `m` at the floor ([`MIN_PROBABILITY`]) and a weight of
/// minus twenty bits or so, enough to veto any pair: on a few thousand matches, "never seen" is
/// not "impossible". One pseudo-match per level bounds `m` below by about one over the session's
/// expected matches.
pub const M_PSEUDO_COUNT: f64 = 1.0;

/// The blocked pairs of one training session.
#[derive(Clone, Debug)]
pub struct TrainingSession {
    /// A label for the summary (the blocking rule, usually).
    pub name: String,
    /// The comparison vectors of its pairs.
    pub patterns: Patterns,
    /// Comparisons its blocking rule used: their `m` is not learned from this session.
    pub blocked_on: Vec<usize>,
}

/// How EM runs.
#[derive(Clone, Copy, Debug)]
pub struct EmOptions {
    /// Iterations at most, per session.
    pub max_iterations: usize,
    /// EM stops when no parameter moves more than this.
    pub tolerance: f64,
}

impl Default for EmOptions {
    fn default() -> Self {
        EmOptions { max_iterations: 200, tolerance: 1e-7 }
    }
}

/// What one EM session did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    /// The session's label.
    pub name: String,
    /// Pairs and distinct comparison vectors.
    pub pairs: u64,
    /// Distinct comparison vectors.
    pub patterns: usize,
    /// Iterations run.
    pub iterations: usize,
    /// Whether the parameters settled within the tolerance.
    pub converged: bool,
    /// The share of matches among the session's pairs, as estimated.
    pub prior: f64,
    /// Largest parameter change of the last iteration.
    pub last_change: f64,
}

/// Estimates `m` and the prior by EM over each session, `u` held fixed, and averages each
/// comparison's `m` over the sessions that did not block on it. Comparisons blocked on by every
/// session keep their current `m`. The model's prior becomes the mean of the sessions' estimates.
pub fn expectation_maximisation(
    model: &mut Model,
    sessions: &[TrainingSession],
    options: EmOptions,
) -> Result<Vec<SessionSummary>> {
    if sessions.is_empty() {
        return Err(Error::invalid("EM needs at least one training session"));
    }
    let mut sums: Vec<Option<Vec<f64>>> = vec![None; model.width()];
    let mut learned = vec![0usize; model.width()];
    let mut summaries = Vec::with_capacity(sessions.len());
    let mut priors = Vec::with_capacity(sessions.len());
    for session in sessions {
        session.patterns.check(model)?;
        let mut local = model.clone();
        let summary = em_session(&mut local, session, options);
        for c in (0..model.width()).filter(|c| !session.blocked_on.contains(c)) {
            let m: Vec<f64> = local.comparisons[c].levels.iter().map(|l| l.m).collect();
            match &mut sums[c] {
                Some(sum) => sum.iter_mut().zip(&m).for_each(|(s, v)| *s += v),
                None => sums[c] = Some(m),
            }
            learned[c] += 1;
        }
        priors.push(summary.prior);
        summaries.push(summary);
    }
    for (c, sum) in sums.into_iter().enumerate() {
        if let Some(sum) = sum {
            for (level, total) in model.comparisons[c].levels.iter_mut().zip(sum) {
                level.m = total / learned[c] as f64;
            }
            model.comparisons[c].normalize();
        }
    }
    let prior = priors.iter().sum::<f64>() / priors.len() as f64;
    model.prior = prior.clamp(MIN_PROBABILITY, 1.0 - MIN_PROBABILITY);
    Ok(summaries)
}

/// Combines each comparison's `m` with the levels of pairs a clerk labelled true matches
/// (`matches`: one comparison vector per pair): for every level that is not the null level,
/// `m = (strength * m + count) / (strength + n)`, where `count` is the labelled pairs at that
/// level and `n` those whose level is not null. `strength` is how many labelled pairs the
/// current estimate counts as: with as many labels, each source weighs half. `u` and the prior
/// stay as they are (labelled pairs near the thresholds say nothing of random pairs).
///
/// EM without labels learns `m` from pairs that look like matches; errors that make a true
/// match look unlike one (two edits in a name, a swapped date) are then rare in `m` and weigh
/// heavily against the pair. Labels near the thresholds are exactly those pairs.
pub fn blend_labelled_m(model: &mut Model, matches: &[Vec<u8>], strength: f64) -> Result<()> {
    if !(strength.is_finite() && strength >= 0.0) {
        return Err(Error::invalid(format!(
            "the labels' strength must be a finite number >= 0, not {strength}"
        )));
    }
    for vector in matches {
        if vector.len() != model.width() {
            return Err(Error::invalid(format!(
                "a labelled pair has {} levels; the model has {} comparisons",
                vector.len(),
                model.width()
            )));
        }
        if let Some((c, level)) =
            vector.iter().enumerate().find(|(c, l)| usize::from(**l) >= model.comparisons[*c].levels.len())
        {
            return Err(Error::invalid(format!(
                "a labelled pair has level {level} of `{}`, which has {} levels",
                model.comparisons[c].spec.name,
                model.comparisons[c].levels.len()
            )));
        }
    }
    for (c, params) in model.comparisons.iter_mut().enumerate() {
        let null = params.spec.null_level;
        let mut counts = vec![0u64; params.levels.len()];
        for vector in matches {
            if null != Some(vector[c]) {
                counts[usize::from(vector[c])] += 1;
            }
        }
        let n: u64 = counts.iter().sum();
        if n == 0 {
            continue;
        }
        for (l, level) in params.levels.iter_mut().enumerate() {
            if null != Some(l as u8) {
                level.m =
                    ((strength * level.m + counts[l] as f64) / (strength + n as f64)).max(MIN_PROBABILITY);
            }
        }
        params.normalize();
    }
    Ok(())
}

/// The shift, in bits, to add to every match weight so that the model's probabilities fit a
/// clerk's answers best: `pairs` holds each labelled pair's match weight and whether it is a
/// match. Maximum likelihood of the answers under `p = 1 / (1 + 2^-(w + shift))`, with a weak
/// normal prior on the shift (standard deviation [`PRIOR_SHIFT_SD`] bits) so that answers of one
/// kind only, or none, give a finite shift (0 for none). Newton's method on a concave function:
/// a few iterations.
///
/// Pairs near the thresholds are where an unsupervised model is miscalibrated (on the `hard`
/// profile at 1M persons, true matches outnumber non-matches 6 to 1 among the 500 pairs nearest
/// the thresholds, yet the model gives most of them less than the match threshold); one shift,
/// fitted there, moves every pair of that band, not only the labelled ones.
pub fn fit_prior_shift(pairs: &[(f64, bool)]) -> f64 {
    let ln2 = std::f64::consts::LN_2;
    let precision = 1.0 / (PRIOR_SHIFT_SD * PRIOR_SHIFT_SD);
    let mut shift = 0.0f64;
    for _ in 0..100 {
        let (mut gradient, mut curvature) = (-precision * shift, -precision);
        for &(weight, is_match) in pairs.iter().filter(|(w, _)| w.is_finite()) {
            let p = 1.0 / (1.0 + (-(weight + shift) * ln2).exp());
            gradient += ln2 * (f64::from(u8::from(is_match)) - p);
            curvature -= ln2 * ln2 * p * (1.0 - p);
        }
        let step = (-gradient / curvature).clamp(-4.0, 4.0);
        shift += step;
        if step.abs() < 1e-9 {
            break;
        }
    }
    shift
}

/// The standard deviation, in bits, of the prior on [`fit_prior_shift`]'s shift.
pub const PRIOR_SHIFT_SD: f64 = 4.0;

fn em_session(model: &mut Model, session: &TrainingSession, options: EmOptions) -> SessionSummary {
    let patterns = &session.patterns;
    let total = patterns.total() as f64;
    let mut iterations = 0;
    let mut last_change = f64::INFINITY;
    while iterations < options.max_iterations && last_change > options.tolerance {
        iterations += 1;
        // E step: each pattern's probability of being a match under the current parameters.
        let posterior = |vector: &[u8]| {
            let (mut pm, mut pu) = (model.prior, 1.0 - model.prior);
            for (c, &level) in vector.iter().enumerate() {
                // A comparison the session's rule decided agrees on every pair by construction:
                // it says nothing about which of these pairs match.
                if session.blocked_on.contains(&c) {
                    continue;
                }
                let params = &model.comparisons[c];
                if params.spec.null_level != Some(level) {
                    pm *= params.levels[usize::from(level)].m;
                    pu *= params.levels[usize::from(level)].u;
                }
            }
            if pm + pu > 0.0 { pm / (pm + pu) } else { 0.0 }
        };
        let matches: f64 = patterns.iter().map(|(v, n)| n * posterior(v)).sum();
        let m = frequencies(model, patterns, posterior, M_PSEUDO_COUNT);
        // M step: m from the expected matches, u fixed; the prior from their share.
        let mut change: f64 = 0.0;
        let prior = (matches / total).clamp(MIN_PROBABILITY, 1.0 - MIN_PROBABILITY);
        change = change.max((prior - model.prior).abs());
        model.prior = prior;
        for (c, estimate) in m.into_iter().enumerate() {
            if session.blocked_on.contains(&c) {
                continue;
            }
            if let Some(levels) = estimate {
                let null = model.comparisons[c].spec.null_level;
                for (l, value) in levels.into_iter().enumerate() {
                    if null != Some(l as u8) {
                        let level = &mut model.comparisons[c].levels[l];
                        change = change.max((value - level.m).abs());
                        level.m = value;
                    }
                }
            }
        }
        last_change = change;
    }
    SessionSummary {
        name: session.name.clone(),
        pairs: patterns.total(),
        patterns: patterns.distinct(),
        iterations,
        converged: last_change <= options.tolerance,
        prior: model.prior,
        last_change,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::ComparisonSpec;

    /// A small deterministic generator (xorshift64*), so the test needs no RNG crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
        }
        fn pick(&mut self, distribution: &[f64]) -> u8 {
            let mut x = self.next();
            for (i, p) in distribution.iter().enumerate() {
                if x < *p {
                    return i as u8;
                }
                x -= p;
            }
            (distribution.len() - 1) as u8
        }
    }

    fn specs() -> Vec<ComparisonSpec> {
        let spec = |name: &str, levels: usize| ComparisonSpec {
            name: name.into(),
            levels: (0..levels).map(|l| format!("level{l}")).collect(),
            null_level: None,
            tf_levels: Vec::new(),
        };
        vec![spec("name", 3), spec("dob", 4), spec("id", 3), spec("sex", 2)]
    }

    /// (m, u) per level of the true model.
    fn truth() -> Vec<(Vec<f64>, Vec<f64>)> {
        vec![
            (vec![0.70, 0.25, 0.05], vec![0.02, 0.08, 0.90]),
            (vec![0.80, 0.10, 0.06, 0.04], vec![0.005, 0.01, 0.085, 0.90]),
            (vec![0.90, 0.07, 0.03], vec![0.001, 0.009, 0.99]),
            (vec![0.98, 0.02], vec![0.5, 0.5]),
        ]
    }

    fn sample(rng: &mut Rng, pairs: usize, prior: f64) -> Patterns {
        let truth = truth();
        let mut patterns = Patterns::new(truth.len());
        let mut vector = vec![0u8; truth.len()];
        for _ in 0..pairs {
            let is_match = rng.next() < prior;
            for (c, (m, u)) in truth.iter().enumerate() {
                vector[c] = rng.pick(if is_match { m } else { u });
            }
            patterns.add(&vector).unwrap();
        }
        patterns
    }

    #[test]
    fn em_recovers_known_m_and_prior() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut model = Model::initial(&specs(), 0.5);
        estimate_u(&mut model, &sample(&mut rng, 200_000, 0.0)).unwrap();
        let sessions = vec![
            TrainingSession {
                name: "all".into(),
                patterns: sample(&mut rng, 200_000, 0.2),
                blocked_on: vec![],
            },
            TrainingSession {
                name: "by id".into(),
                patterns: sample(&mut rng, 100_000, 0.2),
                blocked_on: vec![2],
            },
        ];
        let summaries = expectation_maximisation(&mut model, &sessions, EmOptions::default()).unwrap();
        assert!(summaries.iter().all(|s| s.converged), "{summaries:?}");
        assert!((model.prior - 0.2).abs() < 0.01, "prior {}", model.prior);
        for (c, (m, u)) in truth().iter().enumerate() {
            for l in 0..m.len() {
                let got = &model.comparisons[c].levels[l];
                assert!((got.m - m[l]).abs() < 0.02, "m of comparison {c} level {l}: {} vs {}", got.m, m[l]);
                assert!((got.u - u[l]).abs() < 0.01, "u of comparison {c} level {l}: {} vs {}", got.u, u[l]);
            }
        }
    }

    #[test]
    fn labels_give_m_directly_and_bad_vectors_are_refused() {
        let mut rng = Rng(7);
        let mut model = Model::initial(&specs(), 0.1);
        m_from_labels(&mut model, &sample(&mut rng, 50_000, 1.0)).unwrap();
        assert!((model.comparisons[2].levels[0].m - 0.9).abs() < 0.01);
        let mut wrong = Patterns::new(2);
        wrong.add(&[0, 0]).unwrap();
        assert!(estimate_u(&mut model, &wrong).is_err());
        let mut out_of_range = Patterns::new(4);
        out_of_range.add(&[0, 9, 0, 0]).unwrap();
        assert!(m_from_labels(&mut model, &out_of_range).is_err());
        assert!(Patterns::new(3).add(&[0, 0]).is_err());
        assert!(expectation_maximisation(&mut model, &[], EmOptions::default()).is_err());
    }

    #[test]
    fn null_levels_carry_no_evidence_in_training() {
        let mut specs = specs();
        specs[0].levels.push("null".into());
        specs[0].null_level = Some(3);
        let mut model = Model::initial(&specs, 0.5);
        let mut patterns = Patterns::new(4);
        // Only nulls for the name: its u stays as it was.
        let before = model.comparisons[0].levels.clone();
        patterns.add(&[3, 0, 0, 0, 3, 3, 2, 1]).unwrap();
        estimate_u(&mut model, &patterns).unwrap();
        assert_eq!(model.comparisons[0].levels, before);
        assert_eq!(model.comparisons[0].levels[3].u, 1.0);
    }

    #[test]
    fn the_prior_shift_fits_the_answers_and_stays_finite() {
        use super::fit_prior_shift;
        assert_eq!(fit_prior_shift(&[]), 0.0);
        // Balanced answers at weight 0: the model is right there, no shift.
        let balanced = [(0.0, true), (0.0, false), (2.0, true), (-2.0, false)];
        assert!(fit_prior_shift(&balanced).abs() < 1e-9);
        // Matches at weights the model calls unsure: the shift is upward, and finite with answers of
        // one kind only.
        let matches = [(-1.0, true), (0.0, true), (1.0, true), (0.5, false)];
        let up = fit_prior_shift(&matches);
        assert!(up > 0.5, "{up}");
        let only = fit_prior_shift(&[(0.0, true); 50]);
        assert!(only.is_finite() && only > up);
        // Mirrored answers give the mirrored shift.
        let mirrored: Vec<(f64, bool)> = matches.iter().map(|&(w, m)| (-w, !m)).collect();
        assert!((fit_prior_shift(&mirrored) + up).abs() < 1e-9);
    }
}
