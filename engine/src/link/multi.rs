//! Several sector tables linked to one national table in one run, and what the sources say
//! together.
//!
//! [`MultiLinker`] holds what every source shares: the prepared national table and its blocking
//! keys in a [`KeyIndex`], hashed and sorted once per rule for the whole run instead of once per
//! source and training session. Each source is linked exactly as a run of its own would link it:
//! with a model of its own by default (trained with the same seed, so its links are identical to
//! a single-source `khop link`), or with one model shared by all sources
//! ([`MultiLinker::train_shared`]: the union of the sources' comparisons, `u` from every source's
//! random pairs, `m` by EM over every source's blocking sessions, a source's pairs leaving the
//! comparisons it lacks at their null level; each source keeps its own prior, that of a random
//! pair of its table and the national table).
//!
//! [`Coverage`] gathers the `match` decisions of every source and, once complete
//! ([`Coverage::finish`]), answers two questions:
//! - **which sources found each national person**, and with which rows;
//! - **where the sources disagree** ([`ConflictKind`]):
//!   - `duplicate_claim`: one national person matched by two or more rows of the same source.
//!     The rows are duplicates inside that source, or one of them is linked to the wrong
//!     citizen; either way a person must look.
//!   - `split_id`: sector rows that carry the same 12-digit CCCD (after normalization), in two
//!     sources or in one, matched to different national persons. The same CCCD names the same
//!     citizen, so the sources assign one person to different citizens (or a number was typed
//!     on the wrong record). 9-digit CMND numbers are not used: some were issued twice.
//!
//! Only `match` decisions count: rows sent to review or unmatched claim no one.

use std::ops::Range;
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, StringBuilder, UInt32Builder, UInt64Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use serde::Serialize;

use super::linker::{LinkReport, LinkSettings, Linker, TrainingReport, random_pair_prior};
use super::{Decision, LinkResult};
use crate::block::KeyIndex;
use crate::error::{Error, Result};
use crate::normalize::prepared::PreparedRecords;
use crate::score::train::{Patterns, TrainingSession, estimate_u, expectation_maximisation};
use crate::score::{ComparisonSpec, Model};

/// Links any number of sector tables to one national table, sharing the national table's
/// preparation and blocking index.
pub struct MultiLinker<'a> {
    index: KeyIndex<'a>,
    settings: LinkSettings,
}

/// One source linked: its linker (for outputs), the model used, what training did (none when a
/// model was given) and the decision for every row.
pub struct SourceRun<'s> {
    /// The linker of this source to the national table.
    pub linker: Linker<'s>,
    /// The model the links were scored with.
    pub model: Model,
    /// What training did, when the model was trained for this source.
    pub training: Option<TrainingReport>,
    /// One result per source row.
    pub results: Vec<LinkResult>,
    /// What linking did.
    pub report: LinkReport,
}

impl<'a> MultiLinker<'a> {
    /// A linker to `national` with `settings` for every source.
    pub fn new(national: &'a PreparedRecords, settings: LinkSettings) -> Self {
        MultiLinker { index: KeyIndex::new(national), settings }
    }

    /// A linker to a shared national table, which it keeps alive.
    pub fn shared(national: Arc<PreparedRecords>, settings: LinkSettings) -> MultiLinker<'static> {
        MultiLinker { index: KeyIndex::shared(national), settings }
    }

    /// The national table.
    pub fn national(&self) -> &PreparedRecords {
        self.index.table()
    }

    /// The settings every source is linked with.
    pub fn settings(&self) -> &LinkSettings {
        &self.settings
    }

    /// Blocking rules whose national keys are indexed so far.
    pub fn rules_indexed(&self) -> usize {
        self.index.rules_indexed()
    }

    /// The linker of one source to the national table, on the shared index.
    pub fn linker<'s>(&'s self, source: &'s PreparedRecords) -> Result<Linker<'s>> {
        Linker::with_index(source, &self.index, self.settings.clone())
    }

    /// Links one source: with `model` (a shared model, laid out for this source's comparisons
    /// by [`model_for`], with this source's own prior: that of a random pair of its table and the
    /// national table) or, without one, a model trained on this source alone.
    pub fn link_source<'s>(
        &'s self,
        source: &'s PreparedRecords,
        model: Option<&Model>,
    ) -> Result<SourceRun<'s>> {
        let linker = self.linker(source)?;
        let (model, training) = match model {
            Some(shared) => {
                let mut model = model_for(shared, &linker.specs())?;
                model.prior = linker.prior();
                (model, None)
            }
            None => {
                let (model, report) = linker.train()?;
                (model, Some(report))
            }
        };
        let (results, report) = linker.link(&model)?;
        Ok(SourceRun { linker, model, training, results, report })
    }

    /// One model for all `sources` (name, table): its comparisons are the union of the
    /// sources' comparisons (by name, first seen first); `u` comes from every source's random
    /// pairs and `m` from EM over every source's blocking sessions (labelled `source: rule`),
    /// each source's vectors holding the null level for comparisons it lacks. Its prior is the
    /// mean of the sources' priors; [`MultiLinker::link_source`] scores each source with its own.
    pub fn train_shared(&self, sources: &[(&str, &PreparedRecords)]) -> Result<(Model, TrainingReport)> {
        if sources.is_empty() {
            return Err(Error::invalid("a shared model needs at least one source"));
        }
        let mut specs: Vec<ComparisonSpec> = Vec::new();
        let mut gathered = Vec::with_capacity(sources.len());
        for (name, table) in sources {
            let linker = self.linker(table)?;
            let mut positions = Vec::new();
            for spec in linker.specs() {
                let position = match specs.iter().position(|s| s.name == spec.name) {
                    Some(p) if specs[p] == spec => p,
                    Some(_) => {
                        return Err(Error::invalid(format!(
                            "comparison `{}` of source `{name}` has other levels than in an earlier source",
                            spec.name
                        )));
                    }
                    None => {
                        specs.push(spec);
                        specs.len() - 1
                    }
                };
                positions.push(position);
            }
            gathered.push((*name, linker.training_data()?, positions));
        }
        let width = specs.len();
        // Every comparison's level 0 is its null level (see `Linker::specs`).
        let null = 0;
        let mut random = Patterns::new(width);
        let mut drawn = 0;
        let mut sessions = Vec::new();
        for (name, data, positions) in gathered {
            random.merge(data.random.widen(width, &positions, null)?);
            drawn += data.random_pairs;
            for session in data.sessions {
                sessions.push(TrainingSession {
                    name: format!("{name}: {}", session.name),
                    patterns: session.patterns.widen(width, &positions, null)?,
                    blocked_on: session.blocked_on.iter().map(|&c| positions[c]).collect(),
                });
            }
        }
        let mut model = Model::initial(&specs, 0.01);
        if random.total() > 0 {
            estimate_u(&mut model, &random)?;
        }
        let summaries = expectation_maximisation(&mut model, &sessions, self.settings.em)?;
        // Each source is scored with its own prior (see `link_source`); the model keeps their mean.
        let national = self.national().len() as u64;
        model.prior = sources
            .iter()
            .map(|(_, table)| random_pair_prior(table.len() as u64, national, false))
            .sum::<f64>()
            / sources.len() as f64;
        Ok((model, TrainingReport { random_pairs: drawn, sessions: summaries }))
    }
}

/// The part of `model` that a linker with comparisons `specs` uses, in its order: each
/// comparison found by name, the prior as is. Fails (`ErrorKind::ModelMismatch`) when the model
/// lacks a comparison or one differs in its levels, null level or term-frequency levels (see
/// [`Model::restricted_to`]).
pub fn model_for(model: &Model, specs: &[ComparisonSpec]) -> Result<Model> {
    model.restricted_to(specs)
}

/// A sector row matched to a national person.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Claim {
    /// The source, as an index into [`Combined::sources`].
    pub source: usize,
    /// The row's index in its source table.
    pub left: u32,
    /// The national person's index in the national table.
    pub right: u32,
    /// The match probability.
    pub probability: f64,
}

/// How sources disagree (see the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    /// One national person matched by several rows of one source.
    DuplicateClaim,
    /// Rows carrying the same CCCD matched to different national persons.
    SplitId,
}

impl ConflictKind {
    /// The name used in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictKind::DuplicateClaim => "duplicate_claim",
            ConflictKind::SplitId => "split_id",
        }
    }
}

/// A disagreement and the claims involved, as indices into [`Combined::claims`].
#[derive(Clone, Debug, PartialEq)]
pub struct Conflict {
    /// What kind.
    pub kind: ConflictKind,
    /// The claims involved, in claim order.
    pub claims: Vec<usize>,
}

/// The match decisions of the sources linked so far. Keeps, per matched row, its source, row,
/// national person, probability, id and CCCD, so that each source's table can be dropped once
/// it is linked.
#[derive(Debug, Default)]
pub struct Coverage {
    national: usize,
    sources: Vec<String>,
    claims: Vec<Claim>,
    cccd: Vec<u64>,
    ids: String,
    id_ends: Vec<usize>,
}

/// What one source added to a [`Coverage`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SourceCount {
    /// The source's name.
    pub source: String,
    /// Rows of the source.
    pub rows: usize,
    /// Rows matched to a national person.
    pub matched: usize,
}

impl Coverage {
    /// An empty coverage of a national table of `national_records` records.
    pub fn new(national_records: usize) -> Self {
        Coverage { national: national_records, ..Coverage::default() }
    }

    /// Adds the results of linking `left` (the source `name`) to the national table.
    pub fn add(&mut self, name: &str, left: &PreparedRecords, results: &[LinkResult]) -> Result<SourceCount> {
        if self.sources.iter().any(|s| s == name) {
            return Err(Error::invalid(format!("source `{name}` is added twice")));
        }
        let source = self.sources.len();
        self.sources.push(name.to_owned());
        let mut matched = 0;
        for result in results {
            let Some(best) = result.best.filter(|_| result.decision == Decision::Match) else { continue };
            if best.right as usize >= self.national || result.left as usize >= left.len() {
                return Err(Error::invalid(format!(
                    "source `{name}`: a result refers to a record out of range"
                )));
            }
            self.claims.push(Claim {
                source,
                left: result.left,
                right: best.right,
                probability: result.probability,
            });
            self.cccd.push(cccd_number(left.national_id().get(result.left as usize)));
            self.ids.push_str(left.record_id(result.left));
            self.id_ends.push(self.ids.len());
            matched += 1;
        }
        Ok(SourceCount { source: name.to_owned(), rows: results.len(), matched })
    }

    /// Ends the run: claims ordered by national person, conflicts found.
    pub fn finish(self) -> Combined {
        let Coverage { national, sources, claims, cccd, ids, id_ends } = self;
        let mut order: Vec<usize> = (0..claims.len()).collect();
        order.sort_by_key(|&c| (claims[c].right, claims[c].source, claims[c].left));
        // Claims per national person, as ranges of `order` (compressed rows).
        let mut starts = vec![0u32; national + 1];
        for claim in &claims {
            starts[claim.right as usize + 1] += 1;
        }
        for i in 0..national {
            starts[i + 1] += starts[i];
        }
        let mut conflicts = Vec::new();
        // Several rows of one source at one person; `order` groups them.
        let mut i = 0;
        while i < order.len() {
            let first = &claims[order[i]];
            let mut end = i + 1;
            while end < order.len()
                && claims[order[end]].right == first.right
                && claims[order[end]].source == first.source
            {
                end += 1;
            }
            if end - i > 1 {
                let mut involved = order[i..end].to_vec();
                involved.sort_unstable();
                conflicts.push(Conflict { kind: ConflictKind::DuplicateClaim, claims: involved });
            }
            i = end;
        }
        // One CCCD at different persons.
        let mut by_cccd: Vec<usize> = (0..claims.len()).filter(|&c| cccd[c] != 0).collect();
        by_cccd.sort_by_key(|&c| (cccd[c], c));
        let mut i = 0;
        while i < by_cccd.len() {
            let number = cccd[by_cccd[i]];
            let mut end = i + 1;
            while end < by_cccd.len() && cccd[by_cccd[end]] == number {
                end += 1;
            }
            let group = &by_cccd[i..end];
            let right = claims[group[0]].right;
            if group.iter().any(|&c| claims[c].right != right) {
                conflicts.push(Conflict { kind: ConflictKind::SplitId, claims: group.to_vec() });
            }
            i = end;
        }
        let mut in_conflict = vec![false; national];
        for conflict in &conflicts {
            for &c in &conflict.claims {
                in_conflict[claims[c].right as usize] = true;
            }
        }
        Combined { sources, claims, ids, id_ends, order, starts, conflicts, in_conflict }
    }
}

/// A normalized id as a number when it has the 12 digits of a CCCD, else 0.
fn cccd_number(digits: &[u8]) -> u64 {
    if digits.len() != 12 || !digits.iter().all(u8::is_ascii_digit) {
        return 0;
    }
    // A leading 1 keeps numbers with leading zeros apart and never gives 0.
    digits.iter().fold(1u64, |n, d| n * 10 + u64::from(d - b'0'))
}

/// All sources together: who found whom, and the conflicts.
#[derive(Debug)]
pub struct Combined {
    sources: Vec<String>,
    claims: Vec<Claim>,
    ids: String,
    id_ends: Vec<usize>,
    /// Claim indices ordered by (national person, source, row).
    order: Vec<usize>,
    /// Per national person, its claims are `order[starts[p]..starts[p + 1]]`.
    starts: Vec<u32>,
    conflicts: Vec<Conflict>,
    in_conflict: Vec<bool>,
}

/// Counts over a whole run, for summaries.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CombinedSummary {
    /// National persons found by exactly `n` sources, at index `n`.
    pub persons_by_sources: Vec<u64>,
    /// Conflicts of each kind.
    pub duplicate_claims: u64,
    /// Conflicts of kind `split_id`.
    pub split_ids: u64,
    /// National persons involved in any conflict.
    pub persons_in_conflict: u64,
}

impl Combined {
    /// The sources, in the order they were added.
    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    /// Every matched row, in the order added.
    pub fn claims(&self) -> &[Claim] {
        &self.claims
    }

    /// The source record id of claim `c`.
    pub fn left_id(&self, c: usize) -> &str {
        let start = if c == 0 { 0 } else { self.id_ends[c - 1] };
        &self.ids[start..self.id_ends[c]]
    }

    /// The claims on national person `right`, by source then row.
    pub fn claims_on(&self, right: u32) -> impl Iterator<Item = usize> + '_ {
        let p = right as usize;
        let range = match (self.starts.get(p), self.starts.get(p + 1)) {
            (Some(&a), Some(&b)) => a as usize..b as usize,
            _ => 0..0,
        };
        self.order[range].iter().copied()
    }

    /// The sources (indices, ascending, each once) that found national person `right`.
    pub fn sources_of(&self, right: u32) -> Vec<usize> {
        let mut out: Vec<usize> = self.claims_on(right).map(|c| self.claims[c].source).collect();
        out.dedup();
        out
    }

    /// The conflicts: duplicate claims by national person, then split ids by CCCD.
    pub fn conflicts(&self) -> &[Conflict] {
        &self.conflicts
    }

    /// Counts for a summary.
    pub fn summary(&self) -> CombinedSummary {
        let mut persons_by_sources = vec![0u64; self.sources.len() + 1];
        for p in 0..self.starts.len().saturating_sub(1) {
            persons_by_sources[self.sources_of(p as u32).len()] += 1;
        }
        let count = |kind| self.conflicts.iter().filter(|c| c.kind == kind).count() as u64;
        CombinedSummary {
            persons_by_sources,
            duplicate_claims: count(ConflictKind::DuplicateClaim),
            split_ids: count(ConflictKind::SplitId),
            persons_in_conflict: self.in_conflict.iter().filter(|&&c| c).count() as u64,
        }
    }

    /// The schema of [`Combined::persons_batch`]: `right_id`, `right_row`, `sources` (the names
    /// of the sources that found the person, `;`-separated, in source order), `source_count`,
    /// `in_conflict`, then per source `ids_<source>`: the ids of its rows matched to the person
    /// (`;`-separated; null when none).
    pub fn persons_schema(&self) -> SchemaRef {
        let mut fields = vec![
            Field::new("right_id", DataType::Utf8, false),
            Field::new("right_row", DataType::UInt64, true),
            Field::new("sources", DataType::Utf8, false),
            Field::new("source_count", DataType::UInt32, false),
            Field::new("in_conflict", DataType::Boolean, false),
        ];
        for source in &self.sources {
            fields.push(Field::new(format!("ids_{source}"), DataType::Utf8, true));
        }
        Arc::new(Schema::new(fields))
    }

    /// One row per national person of `range` (indices into `national`, the table the sources
    /// were linked to), found by any source or by none.
    pub fn persons_batch(&self, national: &PreparedRecords, range: Range<u32>) -> Result<RecordBatch> {
        if range.end as usize > national.len() || national.len() + 1 != self.starts.len() {
            return Err(Error::invalid("persons_batch: not the national table these sources were linked to"));
        }
        let n = range.len();
        let mut right_id = StringBuilder::with_capacity(n, n * 12);
        let mut right_row = UInt64Builder::with_capacity(n);
        let mut sources = StringBuilder::with_capacity(n, n * 8);
        let mut count = UInt32Builder::with_capacity(n);
        let mut conflict = BooleanBuilder::with_capacity(n);
        let mut per_source: Vec<StringBuilder> = self.sources.iter().map(|_| StringBuilder::new()).collect();
        let mut text = String::new();
        let mut ids: Vec<String> = vec![String::new(); self.sources.len()];
        for p in range {
            right_id.append_value(national.record_id(p));
            right_row.append_option(national.row(p));
            ids.iter_mut().for_each(String::clear);
            for c in self.claims_on(p) {
                let id = &mut ids[self.claims[c].source];
                if !id.is_empty() {
                    id.push(';');
                }
                id.push_str(self.left_id(c));
            }
            text.clear();
            let mut found = 0;
            for (s, id) in ids.iter().enumerate() {
                if id.is_empty() {
                    per_source[s].append_null();
                    continue;
                }
                per_source[s].append_value(id);
                if !text.is_empty() {
                    text.push(';');
                }
                text.push_str(&self.sources[s]);
                found += 1;
            }
            sources.append_value(&text);
            count.append_value(found);
            conflict.append_value(self.in_conflict[p as usize]);
        }
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(right_id.finish()),
            Arc::new(right_row.finish()),
            Arc::new(sources.finish()),
            Arc::new(count.finish()),
            Arc::new(conflict.finish()),
        ];
        columns.extend(per_source.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
        RecordBatch::try_new(self.persons_schema(), columns)
            .map_err(|e| Error::arrow("building the persons or conflicts batch", e))
    }

    /// One row per claim involved in a conflict: `conflict` (its number, from 1, in the order of
    /// [`Combined::conflicts`]), `kind`, `source`, `left_id`, `right_id`, `right_row`,
    /// `match_probability`.
    pub fn conflicts_batch(&self, national: &PreparedRecords) -> Result<RecordBatch> {
        let mut number = UInt64Builder::new();
        let mut kind = StringBuilder::new();
        let mut source = StringBuilder::new();
        let mut left_id = StringBuilder::new();
        let mut right_id = StringBuilder::new();
        let mut right_row = UInt64Builder::new();
        let mut probability = Float64Builder::new();
        for (i, conflict) in self.conflicts.iter().enumerate() {
            for &c in &conflict.claims {
                let claim = &self.claims[c];
                if claim.right as usize >= national.len() {
                    return Err(Error::invalid(
                        "conflicts_batch: not the national table these sources were linked to",
                    ));
                }
                number.append_value(i as u64 + 1);
                kind.append_value(conflict.kind.as_str());
                source.append_value(&self.sources[claim.source]);
                left_id.append_value(self.left_id(c));
                right_id.append_value(national.record_id(claim.right));
                right_row.append_option(national.row(claim.right));
                probability.append_value(claim.probability);
            }
        }
        let schema = Arc::new(Schema::new(vec![
            Field::new("conflict", DataType::UInt64, false),
            Field::new("kind", DataType::Utf8, false),
            Field::new("source", DataType::Utf8, false),
            Field::new("left_id", DataType::Utf8, false),
            Field::new("right_id", DataType::Utf8, false),
            Field::new("right_row", DataType::UInt64, true),
            Field::new("match_probability", DataType::Float64, false),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(number.finish()),
            Arc::new(kind.finish()),
            Arc::new(source.finish()),
            Arc::new(left_id.finish()),
            Arc::new(right_id.finish()),
            Arc::new(right_row.finish()),
            Arc::new(probability.finish()),
        ];
        RecordBatch::try_new(schema, columns)
            .map_err(|e| Error::arrow("building the persons or conflicts batch", e))
    }

    /// The persons of a national table of `records` records in ranges of at most `chunk`, for
    /// writing in batches.
    pub fn person_ranges(records: usize, chunk: usize) -> impl Iterator<Item = Range<u32>> {
        let chunk = chunk.max(1);
        (0..records.div_ceil(chunk)).map(move |i| {
            let start = i * chunk;
            start as u32..(start + chunk).min(records) as u32
        })
    }
}
