//! Choosing the pairs of a link a clerk should settle ([`LinkRun::review`]); the review's types,
//! labels and page are `crate::review`'s.

use std::collections::HashSet;

use super::LinkRun;
use crate::error::Result;
use crate::reconcile::explain::explain_pair;
use crate::report::weight_of;
use crate::review::{Labels, Review, ReviewField, ReviewItem, ReviewReason};

/// A candidate pair for review and how urgently it needs a person: its distance in bits to the
/// nearest threshold, halved for ambiguous records and shared claims (their own weight may be
/// far from a threshold while the choice between candidates is not).
struct Candidate {
    left: u32,
    right: u32,
    reason: ReviewReason,
    urgency: f64,
}

fn candidates(run: &LinkRun) -> Vec<Candidate> {
    let t = &run.settings().thresholds;
    let (w_match, w_review) = (weight_of(t.match_probability), weight_of(t.review_probability));
    let near = |w: f64| {
        let (dm, dr) = ((w - w_match).abs(), (w - w_review).abs());
        if dm <= dr {
            (ReviewReason::NearMatchThreshold, dm)
        } else {
            (ReviewReason::NearReviewThreshold, dr)
        }
    };
    let results = run.results();
    // National records that are the best candidate of more than one sector record whose best is
    // at least worth a review.
    let claims = crate::link::claims(results, t.review_probability);
    let mut out = Vec::new();
    for r in results {
        let Some(best) = r.best else { continue };
        let (mut reason, distance) = near(best.weight);
        let mut urgency = distance;
        let claims_it = r.probability >= t.review_probability;
        if claims_it && claims.get(&best.right).is_some_and(|&n| n > 1) {
            reason = ReviewReason::SharedClaim;
            urgency = distance / 2.0;
        } else if r.ambiguous {
            reason = ReviewReason::Ambiguous;
            urgency = distance / 2.0;
        }
        out.push(Candidate { left: r.left, right: best.right, reason, urgency });
        if r.ambiguous
            && let Some(second) = r.second
        {
            out.push(Candidate {
                left: r.left,
                right: second.right,
                reason: ReviewReason::Ambiguous,
                urgency: near(second.weight).1 / 2.0,
            });
        }
    }
    out.sort_by(|a, b| a.urgency.total_cmp(&b.urgency).then(a.left.cmp(&b.left)).then(a.right.cmp(&b.right)));
    out
}

/// The `pairs` pairs of `run` a clerk should settle first, none of them settled by `labels`.
pub(crate) fn select(run: &LinkRun, labels: &Labels, pairs: usize) -> Result<Review> {
    let linker = run.linker()?;
    let (sector, national) = (run.sector().records(), run.national().records());
    let mut review = Review {
        sector: run.sector().name().to_owned(),
        national: run.national().name().to_owned(),
        items: Vec::with_capacity(pairs),
        skipped_labelled: 0,
        skipped_implied: 0,
    };
    let mut seen = HashSet::new();
    for c in candidates(run) {
        if review.items.len() >= pairs {
            break;
        }
        if !seen.insert((c.left, c.right)) {
            continue;
        }
        let (left_id, right_id) = (sector.record_id(c.left), national.record_id(c.right));
        if labels.get(left_id, right_id).is_some() {
            review.skipped_labelled += 1;
            continue;
        }
        if labels.implied(left_id, right_id).is_some() {
            review.skipped_implied += 1;
            continue;
        }
        let explained = explain_pair(&linker, run.model(), sector, national, c.left, c.right)?;
        review.items.push(ReviewItem {
            left_id: left_id.to_owned(),
            right_id: right_id.to_owned(),
            reason: c.reason,
            fields: explained
                .comparisons
                .into_iter()
                .map(|e| ReviewField { field: e.comparison, left: e.left_value, right: e.right_value })
                .collect(),
        });
    }
    Ok(review)
}
