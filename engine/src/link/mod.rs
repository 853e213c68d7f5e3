//! The `decide` stage for linkage: from scored candidate pairs to one decision per sector record.
//!
//! For each record of the left table (the sector table) khop keeps its best and second-best
//! candidate in the right table (the national table). The decision reads the best candidate's
//! match probability against two thresholds (match, review), and flags the record as ambiguous
//! when the second best is within a margin of the best: two citizens fit almost equally well, so a
//! person must look. One-to-one linking, when asked, assigns pairs greedily by weight so that no
//! national record is claimed twice.
//!
//! Everything here is deterministic: ties break on the smaller record id, and partial results from
//! threads merge to the same answer whatever the order.

pub mod linker;
pub mod multi;
pub mod output;

use serde::Serialize;

use crate::score::probability;

/// A candidate for one left record.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Candidate {
    /// Its index in the right table.
    pub right: u32,
    /// Its match weight, in bits.
    pub weight: f64,
}

impl Candidate {
    /// Whether `self` ranks above `other`: higher weight, then smaller right index.
    fn beats(&self, other: &Candidate) -> bool {
        self.weight > other.weight || (self.weight == other.weight && self.right < other.right)
    }
}

/// Where to draw the lines.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Thresholds {
    /// Probability at or above which the best candidate is a match.
    pub match_probability: f64,
    /// Probability at or above which the best candidate goes to review.
    pub review_probability: f64,
    /// Weight difference (bits) between the best and second best under which a record is
    /// ambiguous.
    pub ambiguity_margin: f64,
    /// When set, a record in review whose choice is clear becomes a match: not ambiguous, its
    /// runner-up at least this many bits below its best candidate (or none), and that national
    /// record the likely candidate (review or better) of no other sector record
    /// ([`promote_clear_reviews`]). [`DEFAULT_CLEAR_MARGIN`] by default; `None` turns it off.
    /// A lookup of one record (the index, the service) does not promote: it cannot know the
    /// other records' claims.
    pub clear_margin: Option<f64>,
}

/// The default [`Thresholds::clear_margin`], in bits. On generated populations it turned most
/// of the review band into matches with precision held at 0.999 or better (`benches/RESULTS.md`,
/// "Clear reviews become matches").
pub const DEFAULT_CLEAR_MARGIN: f64 = 6.0;

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            match_probability: 0.9,
            review_probability: 0.5,
            ambiguity_margin: 2.0,
            clear_margin: Some(DEFAULT_CLEAR_MARGIN),
        }
    }
}

/// Promotes to `match` every `review` of `results` whose choice is clear (see
/// [`Thresholds::clear_margin`]): it takes the whole table, since whether another sector record
/// claims the same national record is known only once every record is decided. Returns the
/// records promoted.
pub fn promote_clear_reviews(results: &mut [LinkResult], thresholds: &Thresholds) -> usize {
    let Some(clear) = thresholds.clear_margin else { return 0 };
    let claims = claims(results, thresholds.review_probability);
    let mut promoted = 0;
    for r in results.iter_mut().filter(|r| r.decision == Decision::Review && !r.ambiguous) {
        let alone = r.best.is_some_and(|b| claims.get(&b.right) == Some(&1));
        if alone && r.margin.is_none_or(|m| m >= clear) {
            r.decision = Decision::Match;
            promoted += 1;
        }
    }
    promoted
}

/// For each right record, how many left records have it as their best candidate with a
/// probability of at least `review_probability` (the records that claim it).
pub fn claims(results: &[LinkResult], review_probability: f64) -> std::collections::HashMap<u32, u32> {
    let mut claims = std::collections::HashMap::new();
    for r in results.iter().filter(|r| r.probability >= review_probability) {
        if let Some(best) = r.best {
            *claims.entry(best.right).or_default() += 1;
        }
    }
    claims
}

/// What to do with a left record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Linked to its best candidate.
    Match,
    /// A person should look: the best candidate is likely but not sure, or ambiguous.
    Review,
    /// No candidate is likely enough.
    NoMatch,
}

impl Decision {
    /// The name used in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Match => "match",
            Decision::Review => "review",
            Decision::NoMatch => "no_match",
        }
    }
}

/// The outcome for one left record.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LinkResult {
    /// Its index in the left table.
    pub left: u32,
    /// The best candidate, if it had any.
    pub best: Option<Candidate>,
    /// The best candidate's match probability (0 without one).
    pub probability: f64,
    /// The second best candidate, if any.
    pub second: Option<Candidate>,
    /// Best weight minus second-best weight, when there is a second.
    pub margin: Option<f64>,
    /// Whether the second best is within the ambiguity margin of a likely best.
    pub ambiguous: bool,
    /// The decision.
    pub decision: Decision,
}

/// The best two candidates of every left record, filled as scored pairs arrive.
#[derive(Clone, Debug, PartialEq)]
pub struct BestCandidates {
    best: Vec<Option<Candidate>>,
    second: Vec<Option<Candidate>>,
}

impl BestCandidates {
    /// Room for `left_records` left records.
    pub fn new(left_records: usize) -> Self {
        BestCandidates { best: vec![None; left_records], second: vec![None; left_records] }
    }

    /// Offers a scored pair. Panics if `left` is out of range.
    #[inline]
    pub fn offer(&mut self, left: u32, candidate: Candidate) {
        let i = left as usize;
        match self.best[i] {
            Some(best) if best.right == candidate.right => {
                if candidate.beats(&best) {
                    self.best[i] = Some(candidate);
                }
            }
            Some(best) if candidate.beats(&best) => {
                self.second[i] = Some(best);
                self.best[i] = Some(candidate);
            }
            Some(_) => {
                let better = match self.second[i] {
                    Some(second) => candidate.beats(&second),
                    None => true,
                };
                if better {
                    self.second[i] = Some(candidate);
                }
            }
            None => self.best[i] = Some(candidate),
        }
    }

    /// Merges candidates gathered elsewhere (another thread's chunk of pairs).
    pub fn merge(&mut self, other: BestCandidates) {
        for (left, (best, second)) in other.best.into_iter().zip(other.second).enumerate() {
            for candidate in [best, second].into_iter().flatten() {
                self.offer(left as u32, candidate);
            }
        }
    }

    /// One decision per left record.
    pub fn decide(&self, thresholds: &Thresholds) -> Vec<LinkResult> {
        (0..self.best.len())
            .map(|i| {
                let (best, second) = (self.best[i], self.second[i]);
                let probability = best.map(|b| probability(b.weight)).unwrap_or(0.0);
                let margin = best.zip(second).map(|(b, s)| b.weight - s.weight);
                let likely = probability >= thresholds.review_probability;
                let ambiguous = likely && margin.is_some_and(|m| m < thresholds.ambiguity_margin);
                let decision = if probability >= thresholds.match_probability && !ambiguous {
                    Decision::Match
                } else if likely {
                    Decision::Review
                } else {
                    Decision::NoMatch
                };
                LinkResult { left: i as u32, best, probability, second, margin, ambiguous, decision }
            })
            .collect()
    }
}

/// One-to-one linking: keeps, among `pairs` (left, right, weight), the heaviest pairs such that no
/// left and no right record appears twice. Greedy by weight, ties on the smaller ids.
pub fn one_to_one(mut pairs: Vec<(u32, u32, f64)>) -> Vec<(u32, u32, f64)> {
    pairs.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    let mut left_taken = std::collections::HashSet::new();
    let mut right_taken = std::collections::HashSet::new();
    pairs.retain(|&(left, right, _)| {
        if left_taken.contains(&left) || right_taken.contains(&right) {
            return false;
        }
        left_taken.insert(left);
        right_taken.insert(right);
        true
    });
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(right: u32, weight: f64) -> Candidate {
        Candidate { right, weight }
    }

    #[test]
    fn a_clear_review_becomes_a_match_and_nothing_else_changes() {
        let mut best = BestCandidates::new(6);
        best.offer(0, c(10, 2.0)); // review (p 0.8), no runner-up, its citizen alone: promoted
        best.offer(1, c(11, 2.0)); // review with a runner-up 7 bits below: promoted
        best.offer(1, c(12, -5.0));
        best.offer(2, c(13, 2.0)); // review with a runner-up 3 bits below: kept
        best.offer(2, c(14, -1.0));
        best.offer(3, c(15, 2.5)); // reviews claiming one citizen: both kept
        best.offer(4, c(15, 1.0));
        best.offer(5, c(16, -4.0)); // no match: kept
        let strict = Thresholds { clear_margin: Some(6.0), ..Thresholds::default() };
        let before = best.decide(&strict);
        assert!(before.iter().take(5).all(|r| r.decision == Decision::Review));
        let mut after = before.clone();
        assert_eq!(promote_clear_reviews(&mut after, &strict), 2);
        let decisions: Vec<Decision> = after.iter().map(|r| r.decision).collect();
        use Decision::*;
        assert_eq!(decisions, [Match, Match, Review, Review, Review, NoMatch]);
        for (a, b) in after.iter().zip(&before) {
            assert_eq!((a.best, a.probability, a.margin), (b.best, b.probability, b.margin));
        }
        // Off: nothing moves.
        let mut untouched = before.clone();
        let off = Thresholds { clear_margin: None, ..Thresholds::default() };
        assert_eq!(promote_clear_reviews(&mut untouched, &off), 0);
        assert_eq!(untouched, before);
    }

    #[test]
    fn keeps_best_two_and_decides() {
        let mut best = BestCandidates::new(4);
        // Record 0: a clear match.
        best.offer(0, c(10, 20.0));
        best.offer(0, c(11, 1.0));
        // Record 1: two citizens almost equally likely.
        best.offer(1, c(12, 15.0));
        best.offer(1, c(13, 14.5));
        // Record 2: a weak candidate only. Record 3: none.
        best.offer(2, c(14, -3.0));
        let results = best.decide(&Thresholds::default());
        assert_eq!(results[0].decision, Decision::Match);
        assert_eq!(results[0].best, Some(c(10, 20.0)));
        assert_eq!(results[0].margin, Some(19.0));
        assert_eq!(results[1].decision, Decision::Review);
        assert!(results[1].ambiguous);
        assert_eq!(results[2].decision, Decision::NoMatch);
        assert!(!results[2].ambiguous);
        assert_eq!(results[3].decision, Decision::NoMatch);
        assert_eq!(results[3].probability, 0.0);
    }

    #[test]
    fn the_same_candidate_twice_is_not_its_own_runner_up() {
        let mut best = BestCandidates::new(1);
        best.offer(0, c(5, 3.0));
        best.offer(0, c(5, 9.0));
        best.offer(0, c(6, 1.0));
        best.offer(0, c(6, 2.0));
        best.offer(0, c(5, 4.0));
        let result = best.decide(&Thresholds::default())[0];
        assert_eq!(result.best, Some(c(5, 9.0)));
        assert_eq!(result.second, Some(c(6, 2.0)));
    }

    #[test]
    fn order_and_splitting_do_not_change_the_answer() {
        let pairs: Vec<(u32, Candidate)> =
            (0..200u32).map(|i| (i % 7, c(i * 31 % 13, f64::from((i * 17) % 11) - 4.0))).collect();
        let mut whole = BestCandidates::new(7);
        for (left, candidate) in &pairs {
            whole.offer(*left, *candidate);
        }
        let mut reversed = BestCandidates::new(7);
        for (left, candidate) in pairs.iter().rev() {
            reversed.offer(*left, *candidate);
        }
        assert_eq!(whole, reversed);
        let (a, b) = pairs.split_at(77);
        let mut first = BestCandidates::new(7);
        let mut second = BestCandidates::new(7);
        a.iter().for_each(|(l, c)| first.offer(*l, *c));
        b.iter().for_each(|(l, c)| second.offer(*l, *c));
        second.merge(first);
        assert_eq!(second, whole);
    }

    #[test]
    fn one_to_one_is_greedy_by_weight() {
        let kept = one_to_one(vec![(0, 10, 5.0), (1, 10, 9.0), (1, 11, 8.0), (0, 11, 4.0), (2, 12, 1.0)]);
        assert_eq!(kept, vec![(1, 10, 9.0), (0, 11, 4.0), (2, 12, 1.0)]);
    }
}
