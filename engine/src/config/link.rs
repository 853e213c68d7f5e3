//! The `[link]` section: blocking rules, comparisons and decision thresholds.
//!
//! ```toml
//! [link]
//! match_threshold = 0.9            # probability at or above which the best candidate is a match
//! review_threshold = 0.5           # ... goes to review
//! ambiguity_margin = 2.0           # bits between best and second best under which it is ambiguous
//! one_to_one = false               # no national record matched twice
//! random_pairs = 1000000           # random pairs for u
//! training_pairs_per_rule = 2000000
//! max_block_pairs = 1000000        # skew guard: larger blocks are skipped, with a warning
//! seed = 7
//! # Replaces the default rules; each rule is a list of keys that must all be equal.
//! blocking = [
//!     ["national_id"],
//!     ["family_name", "date_of_birth"],
//!     ["given_name", "birth_year", "province"],
//!     ["column:postcode", "family_name"],
//! ]
//!
//! [link.comparisons]               # changes to the default comparisons
//! name = { high = 0.94, low = 0.88 }
//! phone = false                    # left out
//! father_name = { threshold = 0.9 }
//! ```
//!
//! Keys: `national_id`, `old_id`, `phone`, `date_of_birth`, `birth_year`, `full_name`,
//! `family_name`, `given_name`, `phonetic_full_name`, `phonetic_given_name`, `sex`, `province`,
//! `ward`, and `column:NAME` for a generic column. Comparison names are those `khop train` prints;
//! whether a named comparison exists for the tables at hand is checked when linking.

use toml_edit::{Item, TableLike, Value};

use super::{Checker, closest};
use crate::block::BlockingRule;
use crate::compare::ComparisonOverride;

/// The `[link]` section of a configuration. Every setting is optional; what is absent keeps
/// its default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LinkConfig {
    /// Blocking rules replacing the defaults.
    pub blocking: Option<Vec<BlockingRule>>,
    /// Changes to the default comparisons.
    pub comparisons: Vec<ComparisonOverride>,
    /// Probability at or above which the best candidate is a match.
    pub match_threshold: Option<f64>,
    /// Probability at or above which the best candidate goes to review.
    pub review_threshold: Option<f64>,
    /// Weight difference (bits) between the best and second best under which a record is
    /// ambiguous.
    pub ambiguity_margin: Option<f64>,
    /// Keep only one-to-one matches.
    pub one_to_one: Option<bool>,
    /// Random pairs compared to estimate `u`.
    pub random_pairs: Option<usize>,
    /// Blocked pairs used per EM session at most.
    pub training_pairs_per_rule: Option<usize>,
    /// Largest block (in pairs) before the skew guard skips it.
    pub max_block_pairs: Option<u64>,
    /// Seed of the random pair sampler.
    pub seed: Option<u64>,
}

const LINK_KEYS: &[&str] = &[
    "match_threshold",
    "review_threshold",
    "ambiguity_margin",
    "one_to_one",
    "random_pairs",
    "training_pairs_per_rule",
    "max_block_pairs",
    "seed",
    "blocking",
    "comparisons",
];

impl Checker<'_> {
    /// The `[link]` table; problems are collected, and what is wrong is left at its default.
    pub(super) fn link(&mut self, item: &Item) -> LinkConfig {
        let mut out = LinkConfig::default();
        let Some(table) = item.as_table_like() else {
            self.problem(item.span(), "`link` must be a table: `[link]`".into());
            return out;
        };
        for (key, item) in table.iter() {
            match key {
                "match_threshold" => out.match_threshold = self.probability(item, key),
                "review_threshold" => out.review_threshold = self.probability(item, key),
                "ambiguity_margin" => match item.as_float().or(item.as_integer().map(|i| i as f64)) {
                    Some(bits) if bits >= 0.0 => out.ambiguity_margin = Some(bits),
                    _ => self.problem(
                        item.span(),
                        "`ambiguity_margin` must be a number of bits, 0 or more".into(),
                    ),
                },
                "one_to_one" => match item.as_bool() {
                    Some(b) => out.one_to_one = Some(b),
                    None => self.problem(item.span(), "`one_to_one` must be true or false".into()),
                },
                "random_pairs" => out.random_pairs = self.positive(item, key),
                "training_pairs_per_rule" => out.training_pairs_per_rule = self.positive(item, key),
                "max_block_pairs" => out.max_block_pairs = self.positive(item, key).map(|n| n as u64),
                "seed" => match item.as_integer() {
                    Some(n) if n >= 0 => out.seed = Some(n as u64),
                    _ => self.problem(item.span(), "`seed` must be a whole number, 0 or more".into()),
                },
                "blocking" => out.blocking = self.blocking(item),
                "comparisons" => match item.as_table_like() {
                    Some(comparisons) => out.comparisons = self.comparisons(comparisons),
                    None => self
                        .problem(item.span(), "`comparisons` must be a table: `[link.comparisons]`".into()),
                },
                other => {
                    let span = table.key(other).and_then(|k| k.span());
                    let hint = closest(other, LINK_KEYS)
                        .map(|k| format!("; did you mean `{k}`?"))
                        .unwrap_or_default();
                    self.problem(span, format!("unknown setting `{other}` in [link]{hint}"));
                }
            }
        }
        if let (Some(review), Some(matched)) = (out.review_threshold, out.match_threshold)
            && review > matched
        {
            let span = table.get("review_threshold").and_then(Item::span);
            self.problem(
                span,
                format!("`review_threshold` ({review}) is above `match_threshold` ({matched})"),
            );
        }
        out
    }

    fn probability(&mut self, item: &Item, what: &str) -> Option<f64> {
        match item.as_float() {
            Some(p) if (0.0..=1.0).contains(&p) => Some(p),
            _ => {
                self.problem(item.span(), format!("`{what}` must be a probability between 0.0 and 1.0"));
                None
            }
        }
    }

    fn blocking(&mut self, item: &Item) -> Option<Vec<BlockingRule>> {
        let Some(rules) = item.as_array() else {
            self.problem(item.span(), "`blocking` must be a list of rules, each a list of keys".into());
            return None;
        };
        let before = self.problems.len();
        let mut out = Vec::new();
        for rule in rules.iter() {
            let Some(keys) = rule.as_array() else {
                self.problem(
                    rule.span(),
                    "a blocking rule must be a list of keys, e.g. [\"family_name\", \"date_of_birth\"]"
                        .into(),
                );
                continue;
            };
            let names: Vec<&str> = keys.iter().filter_map(Value::as_str).collect();
            if names.len() != keys.len() {
                self.problem(rule.span(), "blocking keys must be strings".into());
                continue;
            }
            match BlockingRule::from_names(&names) {
                Ok(rule) => out.push(rule),
                Err(message) => self.problem(rule.span(), message),
            }
        }
        if out.is_empty() && self.problems.len() == before {
            self.problem(item.span(), "`blocking` names no rule; leave it out to use the defaults".into());
        }
        (self.problems.len() == before).then_some(out)
    }

    fn comparisons(&mut self, table: &dyn TableLike) -> Vec<ComparisonOverride> {
        let mut out = Vec::new();
        for (name, item) in table.iter() {
            let mut o = ComparisonOverride {
                name: name.to_owned(),
                enabled: true,
                high: None,
                low: None,
                threshold: None,
            };
            if let Some(enabled) = item.as_bool() {
                o.enabled = enabled;
                out.push(o);
                continue;
            }
            let Some(options) = item.as_table_like() else {
                self.problem(
                    item.span(),
                    format!("comparison `{name}`: write false to leave it out, or {{ threshold = 0.9 }}"),
                );
                continue;
            };
            for (key, value) in options.iter() {
                let slot = match key {
                    "high" => &mut o.high,
                    "low" => &mut o.low,
                    "threshold" => &mut o.threshold,
                    "enabled" => {
                        match value.as_bool() {
                            Some(b) => o.enabled = b,
                            None => self.problem(
                                value.span(),
                                format!("comparison `{name}`: `enabled` must be true or false"),
                            ),
                        }
                        continue;
                    }
                    other => {
                        let span = options.key(other).and_then(|k| k.span());
                        self.problem(
                            span,
                            format!("comparison `{name}`: unknown option `{other}` (expected high, low, threshold or enabled)"),
                        );
                        continue;
                    }
                };
                match value.as_float() {
                    Some(t) if (0.0..=1.0).contains(&t) => *slot = Some(t),
                    _ => self.problem(
                        value.span(),
                        format!("comparison `{name}`: `{key}` must lie between 0.0 and 1.0"),
                    ),
                }
            }
            out.push(o);
        }
        out
    }
}
