//! The `[link]` section: blocking rules, comparisons and decision thresholds.
//!
//! ```toml
//! [link]
//! match_threshold = 0.9            # probability at or above which the best candidate is a match
//! review_threshold = 0.5           # ... goes to review
//! ambiguity_margin = 2.0           # bits between best and second best under which it is ambiguous
//! clear_margin = 6.0               # a review whose runner-up is this many bits below, and whose
//!                                  # citizen no other record claims, is a match (false: off)
//! one_to_one = false               # no national record matched twice
//! random_pairs = 1000000           # random pairs for u
//! training_pairs_per_rule = 100000
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
//! Keys: `national_id`, `old_id`, `phone`, `date_of_birth`, `birth_year`, `birth_day_month`,
//! `full_name`, `family_name`, `middle_name`, `given_name`, `name_tokens` (the name's words in sorted order),
//! `phonetic_full_name`, `phonetic_given_name`, `father_name`, `mother_name`, `sex`, `province`,
//! `ward`, and `column:NAME` for a generic column. Comparison names are those `khop train` prints.
//!
//! Names are checked against the inputs before any file is read: a comparison must be one of the
//! Vietnamese profile's (`name`, `date_of_birth`, `national_id`, `old_id`, `cccd_consistency`,
//! `sex`, `phone`, `address`, `father_name`, `mother_name`) that some input has the role for, or
//! a generic column of an input (roles `text`, `number`, `email`, `house_number`, `street`, and
//! address units in an input without `address`), named in lower case; it takes only the
//! thresholds of its kind. A blocking key `column:NAME` must name a generic column of an input.
//! A `match_threshold` or `review_threshold` given alone is checked against the other's default.

use std::ops::Range;

use toml_edit::{Item, TableLike, Value};

use super::{Checker, closest};
use crate::block::BlockingRule;
use crate::compare::ComparisonOverride;
use crate::link::Thresholds;
use crate::link::linker::LinkSettings;
use crate::record::Role;

/// The comparisons of the Vietnamese profile: name, the roles any of which gives it (on both
/// sides), and the thresholds it takes (see `compare::Comparisons::default_for`).
const PROFILE_COMPARISONS: &[(&str, &[Role], &[&str])] = &[
    ("name", &[Role::FullName, Role::FamilyName, Role::MiddleName, Role::GivenName], &["high", "low"]),
    ("date_of_birth", &[Role::DateOfBirth], &[]),
    ("national_id", &[Role::NationalId], &[]),
    ("old_id", &[Role::OldId], &[]),
    ("cccd_consistency", &[Role::NationalId], &[]),
    ("sex", &[Role::Sex], &[]),
    ("phone", &[Role::Phone], &[]),
    ("address", &[Role::Address, Role::Hamlet, Role::Ward, Role::District, Role::Province], &[]),
    ("father_name", &[Role::FatherName], &["threshold"]),
    ("mother_name", &[Role::MotherName], &["threshold"]),
];

/// What the `[link]` section names (comparisons, blocking columns), with where, checked against
/// the inputs once they are all read.
#[derive(Debug, Default)]
pub(super) struct LinkNames {
    /// Each comparison of `[link.comparisons]`: its name, where, and the thresholds given.
    comparisons: Vec<NamedComparison>,
    /// Each generic column a blocking key names (`column:NAME`), with where.
    columns: Vec<(String, Span)>,
}

/// Where something is in the configuration text (bytes), when known.
type Span = Option<Range<usize>>;

/// A comparison of `[link.comparisons]`, where its name is, and the thresholds given to it.
#[derive(Debug)]
struct NamedComparison {
    name: String,
    span: Span,
    given: Vec<(&'static str, Span)>,
}

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
    /// Bits of margin that make a clear review a match, or `Some(None)` for `false`: off
    /// ([`crate::link::Thresholds::clear_margin`]).
    pub clear_margin: Option<Option<f64>>,
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

impl LinkConfig {
    /// `settings` with this section applied over them: what the section sets replaces the
    /// setting, comparison changes are added to those already there.
    pub fn apply(&self, mut settings: LinkSettings) -> LinkSettings {
        if let Some(rules) = &self.blocking {
            settings.rules = Some(rules.clone());
        }
        settings.comparisons.extend(self.comparisons.iter().cloned());
        let t = &mut settings.thresholds;
        t.match_probability = self.match_threshold.unwrap_or(t.match_probability);
        t.review_probability = self.review_threshold.unwrap_or(t.review_probability);
        t.ambiguity_margin = self.ambiguity_margin.unwrap_or(t.ambiguity_margin);
        t.clear_margin = self.clear_margin.unwrap_or(t.clear_margin);
        settings.one_to_one = self.one_to_one.unwrap_or(settings.one_to_one);
        settings.random_pairs = self.random_pairs.unwrap_or(settings.random_pairs);
        settings.training_pairs_per_rule =
            self.training_pairs_per_rule.unwrap_or(settings.training_pairs_per_rule);
        settings.blocking.max_block_pairs = self.max_block_pairs.unwrap_or(settings.blocking.max_block_pairs);
        settings.seed = self.seed.unwrap_or(settings.seed);
        settings
    }
}

const LINK_KEYS: &[&str] = &[
    "match_threshold",
    "review_threshold",
    "ambiguity_margin",
    "clear_margin",
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
                    Some(bits) if bits.is_finite() && bits >= 0.0 => out.ambiguity_margin = Some(bits),
                    _ => self.problem(
                        item.span(),
                        "`ambiguity_margin` must be a number of bits, 0 or more".into(),
                    ),
                },
                "clear_margin" => {
                    match (item.as_float().or(item.as_integer().map(|i| i as f64)), item.as_bool()) {
                        (Some(bits), _) if bits.is_finite() && bits >= 0.0 => {
                            out.clear_margin = Some(Some(bits))
                        }
                        (_, Some(false)) => out.clear_margin = Some(None),
                        _ => self.problem(
                            item.span(),
                            "`clear_margin` must be a number of bits, 0 or more, or false (off)".into(),
                        ),
                    }
                }
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
        let defaults = Thresholds::default();
        let span = |key: &str| table.get(key).and_then(Item::span);
        match (out.review_threshold, out.match_threshold) {
            (Some(review), Some(matched)) if review > matched => self.problem(
                span("review_threshold"),
                format!("`review_threshold` ({review}) is above `match_threshold` ({matched})"),
            ),
            (Some(review), None) if review > defaults.match_probability => self.problem(
                span("review_threshold"),
                format!(
                    "`review_threshold` ({review}) is above the default `match_threshold` ({}); set `match_threshold` too",
                    defaults.match_probability
                ),
            ),
            (None, Some(matched)) if matched < defaults.review_probability => self.problem(
                span("match_threshold"),
                format!(
                    "`match_threshold` ({matched}) is below the default `review_threshold` ({}); set `review_threshold` too",
                    defaults.review_probability
                ),
            ),
            _ => {}
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
            for key in keys.iter() {
                if let Some(column) = key.as_str().and_then(|k| k.strip_prefix("column:")) {
                    self.link.columns.push((column.to_owned(), key.span()));
                }
            }
            if names.len() != keys.len() {
                self.problem(rule.span(), "blocking keys must be strings".into());
                continue;
            }
            match BlockingRule::from_names(&names) {
                Ok(rule) => out.push(rule),
                Err(error) => self.problem(rule.span(), error.to_string()),
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
            let key_span = table.key(name).and_then(|k| k.span());
            self.link.comparisons.push(NamedComparison {
                name: name.to_owned(),
                span: key_span,
                given: Vec::new(),
            });
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
            let mut low_span = None;
            for (key, value) in options.iter() {
                let given = |k: &'static str| (k, value.span());
                let (slot, given) = match key {
                    "high" => (&mut o.high, given("high")),
                    "low" => {
                        low_span = value.span();
                        (&mut o.low, given("low"))
                    }
                    "threshold" => (&mut o.threshold, given("threshold")),
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
                if let Some(named) = self.link.comparisons.last_mut() {
                    named.given.push(given);
                }
                match value.as_float() {
                    Some(t) if (0.0..=1.0).contains(&t) => *slot = Some(t),
                    _ => self.problem(
                        value.span(),
                        format!("comparison `{name}`: `{key}` must lie between 0.0 and 1.0"),
                    ),
                }
            }
            if let (Some(high), Some(low)) = (o.high, o.low)
                && low > high
            {
                self.problem(
                    low_span,
                    format!("comparison `{name}`: `low` ({low}) is above `high` ({high})"),
                );
            }
            out.push(o);
        }
        out
    }
}

/// Roles compared as generic text (see `normalize::prepared`).
fn is_generic(role: Role) -> bool {
    matches!(role, Role::Text | Role::Number | Role::Email | Role::HouseNumber | Role::Street)
}

/// Address-unit roles: generic in an input without an `address` column.
fn is_unit(role: Role) -> bool {
    matches!(role, Role::Hamlet | Role::Ward | Role::District | Role::Province)
}

impl Checker<'_> {
    /// Checks the comparisons and blocking columns `[link]` names against the inputs' columns.
    pub(super) fn check_link_names(&mut self) {
        let names = std::mem::take(&mut self.link);
        if self.inputs.is_empty() {
            return;
        }
        // Generic columns by their compared name (trimmed, lower case), with their input's roles.
        let generic: Vec<String> = self
            .inputs
            .iter()
            .flat_map(|columns| {
                let address = columns.iter().any(|(_, r)| *r == Role::Address);
                columns
                    .iter()
                    .filter(move |(_, r)| is_generic(*r) || (is_unit(*r) && !address))
                    .map(|(name, _)| name.trim().to_lowercase())
            })
            .collect();
        let has_role = |roles: &[Role]| self.inputs.iter().flatten().any(|(_, r)| roles.contains(r));
        let mut problems = Vec::new();
        for NamedComparison { name, span, given } in &names.comparisons {
            let takes: &[&str] = match PROFILE_COMPARISONS.iter().find(|c| c.0 == name) {
                Some((_, roles, takes)) => {
                    if !has_role(roles) {
                        let roles: Vec<String> = roles.iter().map(|r| format!("`{r}`")).collect();
                        problems.push((
                            span.clone(),
                            format!(
                                "comparison `{name}`: no input has a column with the role {}",
                                roles.join(" or ")
                            ),
                        ));
                        continue;
                    }
                    takes
                }
                None if generic.contains(name) => &["threshold"],
                None => {
                    let mut known: Vec<&str> = PROFILE_COMPARISONS.iter().map(|c| c.0).collect();
                    known.extend(generic.iter().map(String::as_str));
                    let hint =
                        closest(name, &known).map(|k| format!("did you mean `{k}`? ")).unwrap_or_default();
                    problems.push((
                        span.clone(),
                        format!("unknown comparison `{name}` ({hint}comparisons: {})", known.join(", ")),
                    ));
                    continue;
                }
            };
            for (key, at) in given {
                if !takes.contains(key) {
                    let what = match takes {
                        [] => "no threshold".to_owned(),
                        keys => keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(" and "),
                    };
                    problems.push((at.clone(), format!("comparison `{name}` takes {what}, not `{key}`")));
                }
            }
        }
        for (column, span) in &names.columns {
            let folded = column.trim().to_lowercase();
            if generic.contains(&folded) {
                continue;
            }
            let with_role = self.inputs.iter().flatten().find(|(n, _)| n.trim().to_lowercase() == folded);
            let message = match with_role {
                Some((_, role)) => format!(
                    "blocking key `column:{column}`: the column has the role `{role}`, whose values are \
                     blocked on by their own keys; `column:` takes a column of role text, number, email, \
                     house_number or street"
                ),
                None => {
                    let hint = closest(&folded, &generic.iter().map(String::as_str).collect::<Vec<_>>())
                        .map(|k| format!("did you mean `column:{k}`? "))
                        .unwrap_or_default();
                    format!(
                        "blocking key `column:{column}`: no input has such a column ({hint}columns to block on: {})",
                        if generic.is_empty() { "none".to_owned() } else { generic.join(", ") }
                    )
                }
            };
            problems.push((span.clone(), message));
        }
        for (span, message) in problems {
            self.problem(span, message);
        }
    }
}
