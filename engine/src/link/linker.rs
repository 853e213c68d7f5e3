//! The whole linkage of a sector table (left) to the national table (right): training a model
//! without labels, then scoring every candidate pair and deciding per sector record.
//!
//! ```text
//! PreparedRecords (left, right)
//!   -> blocking rules (defaults for the fields both tables hold)
//!   -> comparisons (defaults of the Vietnamese person profile)
//!   -> train: u from random pairs, m and prior by EM, one session per blocking rule
//!   -> link: candidate pairs in chunks -> comparison vectors -> match weights (with term
//!            frequencies of names) -> best candidates -> decisions
//! ```

use std::borrow::Cow;
use std::ops::ControlFlow;

use rayon::prelude::*;

use serde::{Deserialize, Serialize};

use super::{BestCandidates, Candidate, LinkResult, Thresholds, one_to_one};
use crate::block::{
    BlockKey, Blocker, BlockingOptions, BlockingReport, BlockingRule, ColumnKey, KeyIndex, Share,
};
use crate::compare::{ComparisonKind, ComparisonOverride, Comparisons};
use crate::error::{Error, Result};
use crate::normalize::prepared::PreparedRecords;
use crate::score::train::{
    EmOptions, Patterns, SessionSummary, TrainingSession, estimate_u, expectation_maximisation,
};
use crate::score::{ComparisonSpec, Contribution, Model, WeightTable};

/// How to link.
#[derive(Clone, Debug)]
pub struct LinkSettings {
    /// Blocking rules; `None` takes the defaults for the fields both tables hold.
    pub rules: Option<Vec<BlockingRule>>,
    /// Decision thresholds.
    pub thresholds: Thresholds,
    /// Random pairs compared to estimate `u`.
    pub random_pairs: usize,
    /// Blocked pairs used per EM session at most. 100,000 is plenty for EM (a few hundred
    /// distinct comparison patterns): at 1M persons, 2,000,000 and 250,000 gave the same links
    /// but one or two true links, and no other false one, for several times the training time
    /// (`benches/RESULTS.md`, "Training pairs per rule").
    pub training_pairs_per_rule: usize,
    /// Seed of the random pair sampler.
    pub seed: u64,
    /// EM iterations and tolerance.
    pub em: EmOptions,
    /// Limits of blocking (skew guard, chunk size).
    pub blocking: BlockingOptions,
    /// Keep only one-to-one matches (no national record matched twice).
    pub one_to_one: bool,
    /// Changes to the default comparisons.
    pub comparisons: Vec<ComparisonOverride>,
}

impl Default for LinkSettings {
    fn default() -> Self {
        LinkSettings {
            rules: None,
            thresholds: Thresholds::default(),
            random_pairs: 1_000_000,
            training_pairs_per_rule: 100_000,
            seed: 0x6b68_6f70,
            em: EmOptions::default(),
            blocking: BlockingOptions::default(),
            one_to_one: false,
            comparisons: Vec::new(),
        }
    }
}

impl LinkSettings {
    /// Checks that the settings can work: thresholds finite and in [0, 1] with the review
    /// threshold at most the match threshold, an ambiguity margin finite and 0 or more, sample
    /// sizes, block and chunk limits and EM iterations above 0, a finite EM tolerance of 0 or
    /// more, a rule list that is not empty, comparison thresholds in [0, 1] with `low` at most
    /// `high`. Every problem is reported at once (`ErrorKind::Settings`).
    pub fn validate(&self) -> Result<()> {
        let mut problems = Vec::new();
        let probability = |value: f64, what: &str, problems: &mut Vec<String>| {
            let valid = value.is_finite() && (0.0..=1.0).contains(&value);
            if !valid {
                problems.push(format!("the {what} must be a probability between 0 and 1, found {value}"));
            }
            valid
        };
        let t = &self.thresholds;
        let match_ok = probability(t.match_probability, "match threshold", &mut problems);
        let review_ok = probability(t.review_probability, "review threshold", &mut problems);
        if match_ok && review_ok && t.review_probability > t.match_probability {
            problems.push(format!(
                "the review threshold ({}) is above the match threshold ({})",
                t.review_probability, t.match_probability
            ));
        }
        if !(t.ambiguity_margin.is_finite() && t.ambiguity_margin >= 0.0) {
            problems.push(format!(
                "the ambiguity margin must be a number of bits, 0 or more, found {}",
                t.ambiguity_margin
            ));
        }
        if let Some(clear) = t.clear_margin
            && !(clear.is_finite() && clear >= 0.0)
        {
            problems.push(format!("the clear margin must be a number of bits, 0 or more, found {clear}"));
        }
        let positive = [
            ("random_pairs (random pairs for u)", self.random_pairs as u64),
            ("training_pairs_per_rule (blocked pairs per EM session)", self.training_pairs_per_rule as u64),
            ("max_block_pairs (the skew guard)", self.blocking.max_block_pairs),
            ("the blocking chunk size", self.blocking.chunk_size as u64),
            ("the EM iterations", self.em.max_iterations as u64),
        ];
        for (what, value) in positive {
            if value == 0 {
                problems.push(format!("{what} must be above 0"));
            }
        }
        problems.extend(self.blocking.share.problem());
        if !(self.em.tolerance.is_finite() && self.em.tolerance >= 0.0) {
            problems.push(format!("the EM tolerance must be finite, 0 or more, found {}", self.em.tolerance));
        }
        if self.rules.as_ref().is_some_and(Vec::is_empty) {
            problems.push("the blocking rules are an empty list; give none to use the defaults".into());
        }
        for o in &self.comparisons {
            let mut valid = true;
            for (key, value) in [("high", o.high), ("low", o.low), ("threshold", o.threshold)] {
                if let Some(value) = value
                    && !(value.is_finite() && (0.0..=1.0).contains(&value))
                {
                    valid = false;
                    problems.push(format!(
                        "comparison `{}`: `{key}` must lie between 0 and 1, found {value}",
                        o.name
                    ));
                }
            }
            if let (true, Some(high), Some(low)) = (valid, o.high, o.low)
                && low > high
            {
                problems.push(format!("comparison `{}`: `low` ({low}) is above `high` ({high})", o.name));
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(Error::settings(problems)) }
    }
}

/// What training did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingReport {
    /// Random pairs compared for `u`.
    pub random_pairs: u64,
    /// One summary per EM session (blocking rule).
    pub sessions: Vec<SessionSummary>,
}

/// What training learns from, before any model is fitted: the comparison vectors of random
/// pairs (for `u`) and of each blocking rule's pairs (for `m` and the prior, by EM).
#[derive(Clone, Debug)]
pub struct TrainingData {
    /// Comparison vectors of random pairs.
    pub random: Patterns,
    /// Random pairs compared.
    pub random_pairs: u64,
    /// One session per blocking rule that found pairs.
    pub sessions: Vec<TrainingSession>,
}

/// What linking did.
#[derive(Clone, Debug)]
pub struct LinkReport {
    /// Candidate pairs scored, per blocking rule.
    pub blocking: BlockingReport,
    /// Pairs scored in all.
    pub pairs_scored: u64,
}

/// Links `left` (sector records) to `right` (national records), or finds the pairs of one table
/// that are the same person ([`Linker::dedupe`]).
pub struct Linker<'a> {
    left: &'a PreparedRecords,
    right: &'a PreparedRecords,
    /// The right table's blocking keys, kept across linkers (several sources, one national table).
    right_index: Option<&'a KeyIndex<'a>>,
    /// Whether `right` is `left` itself: a deduplication, pairs `(i, j)` with `i < j`.
    dedupe: bool,
    comparisons: Comparisons,
    /// The shape of the model these comparisons need ([`Linker::specs`]).
    specs: Vec<ComparisonSpec>,
    rules: Vec<BlockingRule>,
    settings: LinkSettings,
}

impl<'a> Linker<'a> {
    /// A linker with the default comparisons for the fields both tables hold. The settings are
    /// checked first ([`LinkSettings::validate`]).
    pub fn new(
        left: &'a PreparedRecords,
        right: &'a PreparedRecords,
        settings: LinkSettings,
    ) -> Result<Self> {
        settings.validate()?;
        let mut comparisons = Comparisons::default_for(left, Some(right));
        comparisons.configure(&settings.comparisons)?;
        if comparisons.is_empty() {
            return Err(Error::invalid("the two tables share no field that khop can compare"));
        }
        let rules = match &settings.rules {
            Some(rules) => checked_rules(rules, left, Some(right))?,
            None => BlockingRule::defaults_for(left, Some(right)),
        };
        if rules.is_empty() {
            return Err(Error::invalid("no blocking rule applies to the fields of these tables"));
        }
        let specs = specs_of(&comparisons);
        Ok(Linker { left, right, right_index: None, dedupe: false, comparisons, specs, rules, settings })
    }

    /// A linker of `left` to the table `index` covers, taking that table's blocking keys from the
    /// index (computed once for all the sources linked to it).
    pub fn with_index(
        left: &'a PreparedRecords,
        index: &'a KeyIndex<'a>,
        settings: LinkSettings,
    ) -> Result<Self> {
        let mut linker = Linker::new(left, index.table(), settings)?;
        linker.right_index = Some(index);
        Ok(linker)
    }

    /// A linker for the pairs of one table (deduplication). The settings are checked first
    /// ([`LinkSettings::validate`]).
    pub fn dedupe(table: &'a PreparedRecords, settings: LinkSettings) -> Result<Self> {
        settings.validate()?;
        let mut comparisons = Comparisons::default_for(table, None);
        comparisons.configure(&settings.comparisons)?;
        if comparisons.is_empty() {
            return Err(Error::invalid("the table has no field that khop can compare"));
        }
        let rules = match &settings.rules {
            Some(rules) => checked_rules(rules, table, None)?,
            None => BlockingRule::defaults_for(table, None),
        };
        if rules.is_empty() {
            return Err(Error::invalid("no blocking rule applies to the fields of this table"));
        }
        let specs = specs_of(&comparisons);
        Ok(Linker {
            left: table,
            right: table,
            right_index: None,
            dedupe: true,
            comparisons,
            specs,
            rules,
            settings,
        })
    }

    /// The comparisons, in comparison-vector order.
    pub fn comparisons(&self) -> &Comparisons {
        &self.comparisons
    }

    /// The blocking rules.
    pub fn rules(&self) -> &[BlockingRule] {
        &self.rules
    }

    /// The shape of the model: one spec per comparison, level 0 the null level, name agreement
    /// levels adjusted by term frequency.
    pub fn specs(&self) -> Vec<ComparisonSpec> {
        self.specs.clone()
    }

    /// `model` arranged for this linker's comparisons, or `ErrorKind::ModelMismatch` when it does
    /// not fit them (see [`Model::fitted_to`]). Every method that takes a model calls it.
    pub fn fit_model<'m>(&self, model: &'m Model) -> Result<Cow<'m, Model>> {
        model.fitted_to(&self.specs)
    }

    fn blocker(&self, rules: Vec<BlockingRule>) -> Blocker<'_> {
        let right = (!self.dedupe).then_some(self.right);
        let blocker = Blocker::new(rules, self.left, right).with_options(self.settings.blocking);
        match self.right_index {
            Some(index) => blocker.with_right_index(index),
            None => blocker,
        }
    }

    /// Comparisons a rule's keys decide, whose `m` that rule's pairs cannot teach.
    fn blocked_on(&self, rule: &BlockingRule) -> Vec<usize> {
        let mut out = Vec::new();
        for (c, comparison) in self.comparisons.comparisons().iter().enumerate() {
            if rule.keys().iter().any(|&key| self.decides(key, comparison.kind())) {
                out.push(c);
            }
        }
        out
    }

    /// Whether a blocking rule on `key` decides the comparison of kind `kind` for its pairs
    /// (every pair of the rule agrees on it), so that EM must not count it as evidence there.
    /// The match on the key is exhaustive: a new key must say what it decides.
    fn decides(&self, key: BlockKey, kind: ComparisonKind) -> bool {
        use ComparisonKind as K;
        match key {
            BlockKey::FoldedFullName
            | BlockKey::FoldedFamilyName
            | BlockKey::FoldedGivenName
            | BlockKey::FoldedMiddleName
            | BlockKey::NameTokens
            | BlockKey::PhoneticFullName
            | BlockKey::PhoneticGivenName => matches!(kind, K::Name { .. }),
            // The decoded CCCD is checked against the birth year and sex.
            BlockKey::DateOfBirth | BlockKey::BirthYear => {
                matches!(kind, K::DateOfBirth | K::CccdConsistency)
            }
            BlockKey::BirthDayMonth => matches!(kind, K::DateOfBirth),
            BlockKey::NationalId => matches!(kind, K::NationalId | K::CccdConsistency),
            // A 9-digit value in an id column blocks with, and is compared with, the other's CMND.
            BlockKey::OldId => matches!(kind, K::OldId | K::NationalId),
            BlockKey::FatherName => matches!(kind, K::FatherName { .. }),
            BlockKey::MotherName => matches!(kind, K::MotherName { .. }),
            BlockKey::Sex => matches!(kind, K::Sex | K::CccdConsistency),
            BlockKey::Phone => matches!(kind, K::Phone),
            BlockKey::Province | BlockKey::Ward => matches!(kind, K::Address),
            BlockKey::Column(k) => match kind {
                K::Generic { left, .. } => {
                    self.left.generic_columns().nth(left).is_some_and(|name| ColumnKey::new(name) == k)
                }
                _ => false,
            },
        }
    }

    /// Trains a model without labels: `u` from random pairs, `m` by EM over each blocking rule's
    /// pairs, and the prior from the sizes of the tables ([`random_pair_prior`]).
    pub fn train(&self) -> Result<(Model, TrainingReport)> {
        let data = self.training_data()?;
        let mut model = Model::initial(&self.specs(), 0.01);
        if data.random.total() > 0 {
            estimate_u(&mut model, &data.random)?;
        }
        let summaries = expectation_maximisation(&mut model, &data.sessions, self.settings.em)?;
        model.prior = self.prior();
        Ok((model, TrainingReport { random_pairs: data.random_pairs, sessions: summaries }))
    }

    /// The prior of this linker's tables: that of a random pair ([`random_pair_prior`]).
    pub fn prior(&self) -> f64 {
        random_pair_prior(self.left.len() as u64, self.right.len() as u64, self.dedupe)
    }

    /// The comparison vectors training learns from: random pairs, drawn deterministically from
    /// the seed, and each blocking rule's pairs (at most
    /// [`LinkSettings::training_pairs_per_rule`]).
    pub fn training_data(&self) -> Result<TrainingData> {
        let width = self.comparisons.len();

        // u: random pairs, drawn deterministically from the seed; every pair once instead when
        // there are no more pairs than draws (small tables: exact, and no wasted work).
        let mut random = Patterns::new(width);
        let (n_left, n_right) = (self.left.len() as u64, self.right.len() as u64);
        let all_pairs = if self.dedupe { n_left * n_left.saturating_sub(1) / 2 } else { n_left * n_right };
        let mut drawn = 0u64;
        let mut levels = Vec::new();
        if all_pairs > 0 && all_pairs <= self.settings.random_pairs as u64 {
            let mut pairs = Vec::with_capacity(65_536);
            let mut flush = |pairs: &mut Vec<(u32, u32)>| -> Result<()> {
                self.comparisons.compare_chunk(self.left, self.right, pairs, &mut levels);
                random.add(&levels)?;
                drawn += pairs.len() as u64;
                pairs.clear();
                Ok(())
            };
            for a in 0..n_left as u32 {
                let first = if self.dedupe { a + 1 } else { 0 };
                for b in first..n_right as u32 {
                    pairs.push((a, b));
                    if pairs.len() == 65_536 {
                        flush(&mut pairs)?;
                    }
                }
            }
            flush(&mut pairs)?;
        } else if all_pairs > 0 {
            let mut state = self.settings.seed | 1;
            let mut next = move || {
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                state.wrapping_mul(0x2545_F491_4F6C_DD1D)
            };
            let pairs: Vec<(u32, u32)> = (0..self.settings.random_pairs)
                .map(|_| {
                    let a = next() % n_left;
                    let mut b = next() % n_right;
                    if self.dedupe && a == b {
                        // A record is not a random partner of itself.
                        b = (b + 1) % n_right;
                    }
                    (a as u32, b as u32)
                })
                .collect();
            // Counts add up in any order: the result does not depend on the thread count.
            let counted: Vec<Result<Patterns>> =
                pairs.par_chunks(65_536).map(|pairs| self.patterns_of(pairs).map(|(p, _)| p)).collect();
            for patterns in counted {
                random.merge(patterns?);
            }
            drawn = pairs.len() as u64;
        }

        // m and the prior: EM over the pairs of each blocking rule alone.
        let mut sessions = Vec::with_capacity(self.rules.len());
        let mut capped = 0u64;
        let limit = self.settings.training_pairs_per_rule;
        // Tasks small enough that the wave still running when a sample is full wastes little
        // (the first `limit` pairs of the stream do not depend on how it is cut into tasks).
        let waves = rayon::current_num_threads().max(1) * 4;
        let options = BlockingOptions {
            chunk_size: (limit / waves).clamp(1024, self.settings.blocking.chunk_size.max(1024)),
            // Training draws from the whole stream, whatever share of it this process scores.
            share: Share::WHOLE,
            ..self.settings.blocking
        };
        for rule in &self.rules {
            let mut patterns = Patterns::new(width);
            let mut taken = 0usize;
            let mut failure = None;
            let report = self.blocker(vec![rule.clone()]).with_options(options).map_tasks(
                |pairs| self.patterns_of(&pairs),
                |counted| {
                    let room = limit - taken;
                    let added = counted.and_then(|(task, levels)| {
                        let n = levels.len() / width.max(1);
                        if n <= room {
                            patterns.merge(task);
                        } else {
                            patterns.add(&levels[..room * width])?;
                        }
                        Ok(n.min(room))
                    });
                    match added {
                        Ok(n) => taken += n,
                        Err(e) => failure = Some(e),
                    }
                    if taken >= limit || failure.is_some() {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                },
            );
            if let Some(e) = failure {
                return Err(e);
            }
            capped += report.blocks_capped();
            if patterns.total() > 0 {
                sessions.push(TrainingSession {
                    name: rule.name().to_owned(),
                    patterns,
                    blocked_on: self.blocked_on(rule),
                });
            }
        }
        if sessions.is_empty() {
            let why = if capped > 0 {
                format!(
                    ": {capped} blocks were skipped as larger than {} pairs (one value shared by very many records; see `khop blocking`)",
                    self.settings.blocking.max_block_pairs
                )
            } else {
                ": no two records share the values of any blocking rule (see `khop blocking`)".to_owned()
            };
            return Err(Error::no_candidate_pairs(format!(
                "blocking found no candidate pairs to train on{why}"
            )));
        }
        Ok(TrainingData { random, random_pairs: drawn, sessions })
    }

    /// The comparison vectors of `pairs`, compared on this thread, counted, and kept in order.
    fn patterns_of(&self, pairs: &[(u32, u32)]) -> Result<(Patterns, Vec<u8>)> {
        let mut levels = Vec::new();
        self.comparisons.compare_serial(self.left, self.right, pairs, &mut levels);
        let mut patterns = Patterns::new(self.comparisons.len());
        patterns.add(&levels)?;
        Ok((patterns, levels))
    }

    /// The term frequency of comparison `c`'s value in national record `right` (names and
    /// generic columns; `None` for the others, and for a value of unknown frequency).
    fn frequency(&self, c: usize, right: u32) -> Option<f64> {
        let frequency = match self.comparisons.comparisons()[c].kind() {
            ComparisonKind::Name { .. } => self.right.full_name_frequency(right),
            ComparisonKind::Generic { right: column, .. } => self.right.generic_frequency(column, right),
            _ => return None,
        };
        Some(frequency).filter(|f| *f > 0.0)
    }

    /// The comparison vectors of `pairs` and every term of their match weights, with the term
    /// frequencies scoring uses, on the calling thread: `levels[p * width + c]` and
    /// `weights[p * width + c]` are comparison `c`'s level and term for pair `p`, as
    /// [`Linker::contributions`] gives them one pair at a time. `model` must be fitted to these
    /// comparisons ([`Linker::fit_model`]); the vectors are cleared first.
    pub fn terms_serial(
        &self,
        model: &Model,
        pairs: &[(u32, u32)],
        levels: &mut Vec<u8>,
        weights: &mut Vec<f64>,
    ) {
        levels.clear();
        weights.clear();
        self.comparisons.compare_serial(self.left, self.right, pairs, levels);
        let width = self.comparisons.len();
        weights.reserve(levels.len());
        for (vector, &(_, right)) in levels.chunks_exact(width.max(1)).zip(pairs) {
            for (c, &level) in vector.iter().enumerate() {
                weights.push(model.level_weight(c, level, self.frequency(c, right)));
            }
        }
    }

    /// Each comparison's level and term in one pair's match weight, with the term frequencies
    /// that scoring uses: the model's prior weight plus the terms is the pair's match weight.
    /// A model that does not fit these comparisons is refused ([`Linker::fit_model`]).
    pub fn contributions(&self, model: &Model, left: u32, right: u32) -> Result<Vec<Contribution>> {
        let model = self.fit_model(model)?;
        if left as usize >= self.left.len() || right as usize >= self.right.len() {
            return Err(Error::invalid(format!("record pair ({left}, {right}) out of range")));
        }
        let levels = self.levels_of(left, right);
        let mut out = model.explain(&levels);
        for (c, (term, &level)) in out.iter_mut().zip(&levels).enumerate() {
            term.weight = model.level_weight(c, level, self.frequency(c, right));
        }
        Ok(out)
    }

    /// The match weights of `pairs` (left id, right id), in order. A model that does not fit
    /// these comparisons, or a pair out of range, is refused.
    pub fn score_pairs(&self, model: &Model, pairs: &[(u32, u32)]) -> Result<Vec<f64>> {
        let model = self.fit_model(model)?;
        let (n_left, n_right) = (self.left.len(), self.right.len());
        if let Some(pair) = pairs.iter().find(|p| p.0 as usize >= n_left || p.1 as usize >= n_right) {
            return Err(Error::invalid(format!("record pair ({}, {}) out of range", pair.0, pair.1)));
        }
        Ok(self.score_chunk(&model, pairs))
    }

    /// [`Linker::score_pairs`] for a model already fitted and pairs from blocking.
    fn score_chunk(&self, model: &Model, pairs: &[(u32, u32)]) -> Vec<f64> {
        let mut levels = Vec::new();
        self.comparisons.compare_chunk(self.left, self.right, pairs, &mut levels);
        self.weights(&model.weight_table(), pairs, &levels)
    }

    /// [`Linker::score_chunk`] on the calling thread alone (inside a blocking task).
    fn score_serial(&self, weights: &WeightTable, pairs: &[(u32, u32)]) -> Vec<f64> {
        let mut levels = Vec::new();
        self.comparisons.compare_serial(self.left, self.right, pairs, &mut levels);
        self.weights(weights, pairs, &levels)
    }

    /// The match weights of `pairs` from their comparison vectors, with term frequencies taken
    /// from the national table.
    fn weights(&self, weights: &WeightTable, pairs: &[(u32, u32)], levels: &[u8]) -> Vec<f64> {
        let width = self.comparisons.len().max(1);
        pairs
            .iter()
            .zip(levels.chunks_exact(width))
            .map(|(pair, vector)| weights.match_weight(vector, |c| self.frequency(c, pair.1)))
            .collect()
    }

    /// Blocks and scores in parallel, each blocking task scoring its own pairs, and hands each
    /// task's pairs and weights to `f` in the deterministic stream order.
    fn score_tasks(&self, model: &Model, mut f: impl FnMut(&[(u32, u32)], &[f64])) -> BlockingReport {
        let table = model.weight_table();
        self.blocker(self.rules.clone()).map_tasks(
            |pairs| {
                let weights = self.score_serial(&table, &pairs);
                (pairs, weights)
            },
            |(pairs, weights)| {
                f(&pairs, &weights);
                ControlFlow::Continue(())
            },
        )
    }

    /// What blocking produces for this linker's rules (pairs per rule, capped blocks), the pairs
    /// listed but not compared.
    pub fn blocking_report(&self) -> BlockingReport {
        self.blocker(self.rules.clone()).for_each_chunk(|_| {})
    }

    /// Scores every candidate pair, handing each chunk of pairs and their weights to `f`.
    pub fn score_all(&self, model: &Model, f: impl FnMut(&[(u32, u32)], &[f64])) -> Result<BlockingReport> {
        let model = self.fit_model(model)?;
        Ok(self.score_tasks(&model, f))
    }

    /// Scores every candidate pair and decides for every left record.
    pub fn link(&self, model: &Model) -> Result<(Vec<LinkResult>, LinkReport)> {
        self.link_with_progress(model, |_| {})
    }

    /// [`Linker::link`], calling `progress` with the number of pairs scored so far after each
    /// chunk (for progress bars).
    pub fn link_with_progress(
        &self,
        model: &Model,
        mut progress: impl FnMut(u64),
    ) -> Result<(Vec<LinkResult>, LinkReport)> {
        let model = self.fit_model(model)?;
        let mut best = BestCandidates::new(self.left.len());
        let mut scored = 0u64;
        let blocking = self.score_tasks(&model, |pairs, weights| {
            for (pair, &weight) in pairs.iter().zip(weights) {
                best.offer(pair.0, Candidate { right: pair.1, weight });
            }
            scored += pairs.len() as u64;
            progress(scored);
        });
        let mut results = best.decide(&self.settings.thresholds);
        super::promote_clear_reviews(&mut results, &self.settings.thresholds);
        if self.settings.one_to_one {
            let matches: Vec<(u32, u32, f64)> = results
                .iter()
                .filter(|r| r.decision == super::Decision::Match)
                .filter_map(|r| r.best.map(|b| (r.left, b.right, b.weight)))
                .collect();
            let kept: std::collections::HashSet<u32> = one_to_one(matches).into_iter().map(|m| m.0).collect();
            for result in &mut results {
                if result.decision == super::Decision::Match && !kept.contains(&result.left) {
                    result.decision = super::Decision::Review;
                }
            }
        }
        Ok((results, LinkReport { blocking, pairs_scored: scored }))
    }

    /// Whether two records cannot be the same person whatever their score: their CCCD numbers
    /// differ beyond a typo, their sexes differ, or they are siblings: a parent's name in common
    /// and different given names under one family name (twins: same parents, same address, the
    /// same date, which the model counts as independent evidence;
    /// [`crate::compare::different_given_names`]).
    pub fn hard_conflict(&self, a: u32, b: u32) -> bool {
        if crate::compare::different_given_names(self.left, a, self.right, b) {
            return true;
        }
        let levels = self.levels_of(a, b);
        self.comparisons.comparisons().iter().zip(&levels).any(|(comparison, &level)| {
            let name = comparison.levels().get(usize::from(level)).copied().unwrap_or("null");
            match comparison.kind() {
                ComparisonKind::NationalId => name == "else",
                ComparisonKind::Sex => name == "different",
                _ => false,
            }
        })
    }

    /// The comparison vector of one pair, for explanations.
    pub fn levels_of(&self, left: u32, right: u32) -> Vec<u8> {
        let mut levels = Vec::new();
        self.comparisons.compare_chunk(self.left, self.right, &[(left, right)], &mut levels);
        levels
    }
}

/// The model shape of `comparisons` (see [`Linker::specs`]).
fn specs_of(comparisons: &Comparisons) -> Vec<ComparisonSpec> {
    comparisons
        .comparisons()
        .iter()
        .map(|c| ComparisonSpec {
            name: c.name().to_owned(),
            levels: c.levels().iter().map(|l| (*l).to_owned()).collect(),
            null_level: Some(0),
            tf_levels: match c.kind() {
                // exact, folded and reordered names: agreeing on a common name says less.
                ComparisonKind::Name { .. } => vec![1, 2, 3],
                // exact generic values: a common postcode says less than a rare one.
                ComparisonKind::Generic { .. } => vec![1],
                _ => Vec::new(),
            },
        })
        .collect()
}

/// Rules given by the caller, each checked to apply to the tables.
fn checked_rules(
    rules: &[BlockingRule],
    left: &PreparedRecords,
    right: Option<&PreparedRecords>,
) -> Result<Vec<BlockingRule>> {
    for rule in rules {
        if !rule.applies_to(left, right) {
            return Err(Error::invalid(format!(
                "blocking rule `{rule}` needs a column that {} lacks",
                if right.is_some() { "one of the tables" } else { "the table" }
            )));
        }
    }
    Ok(rules.to_vec())
}

/// The prior of the model: the chance that two records drawn at random are the same person.
///
/// The model scores a pair against *every* record it could have been paired with, so the prior is
/// that of a random pair, not of a blocked candidate pair (among the pairs of one blocking rule
/// most are often matches; EM's λ per session measures that and nothing more). When a sector
/// table is linked to the national table, each sector record is at most one citizen: with nearly
/// every sector record in the national table, `min(left, right)` of the `left × right` pairs
/// match, about one in `right`. In a deduplication each record is taken to have one duplicate
/// partner at most, `n / 2` of the `n (n - 1) / 2` pairs, one in `n - 1`. These are upper bounds
/// on the true share; an error of a factor of two moves every weight by one bit.
pub fn random_pair_prior(left: u64, right: u64, dedupe: bool) -> f64 {
    let prior = if dedupe {
        1.0 / (left.max(2) - 1) as f64
    } else {
        left.min(right).max(1) as f64 / (left.max(1) as f64 * right.max(1) as f64)
    };
    prior.clamp(f64::MIN_POSITIVE, 0.5)
}
