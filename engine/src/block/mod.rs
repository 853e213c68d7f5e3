//! Blocking: the candidate pairs worth comparing.
//!
//! Comparing every national record with every sector record is 10^13 pairs; blocking keeps the
//! pairs that agree exactly on at least one *blocking rule*, a conjunction of normalized keys
//! ([`BlockKey`]: CCCD; date of birth; folded given name and birth year; ...). Several rules are
//! unioned so that a typo in one field does not lose a true match.
//!
//! How it works, per rule, for a link (left × right) or a dedupe (one table, pairs `i < j`):
//! - Every record with all of the rule's keys present gets a 64-bit hash of them; `(hash, id)`
//!   lists are sorted (in parallel), and equal hashes form *blocks*. Two different keys with one
//!   hash would share a block: a chance of about 2^-64 per pair of distinct keys, far below one
//!   in a population of billions of candidate pairs.
//! - **Each pair is produced once across rules without materializing the union**: a pair found by
//!   rule `k` is dropped when both records were in one block of an earlier rule `0..k`, because
//!   that rule produced it already (Splink's trick). Each rule run leaves every record's block
//!   number behind for the later rules: 4 bytes per record and rule, a few integer comparisons
//!   per pair.
//! - **Skew guard**: a block whose pair count (`|L| × |R|`, or `n(n-1)/2` in a dedupe) exceeds
//!   [`BlockingOptions::max_block_pairs`] (a placeholder date of birth, a shared office phone,
//!   "Nguyễn" alone) is not enumerated; the rule's [`RuleReport`] counts it and the pairs it
//!   would have given, so the user can tighten the rule. Its pairs can still come from other
//!   rules: the earlier-rule check above does not count a rule whose block was capped.
//! - Work is cut into tasks of about [`BlockingOptions::chunk_size`] pairs: runs of consecutive
//!   small blocks (most blocks give a pair or two: one task per block would spend more on
//!   scheduling than on pairs), and slices of a large block's left records. Tasks run with rayon
//!   a wave at a time and their results are consumed in task order. Memory stays bounded by one
//!   wave, and **the stream is the same for any thread count and task size**: rules in order,
//!   blocks in hash order, records by id.
//! - [`Blocker::map_tasks`] runs the caller's work (comparing and scoring) on each task's pairs
//!   inside the task, so that the whole of blocking and scoring is parallel;
//!   [`Blocker::for_each_chunk`] hands over plain chunks of pairs.
//! - **Sharing the work out** ([`BlockingOptions::share`]): processes that each hold the whole
//!   table can split one run between them. Process `i` of `n` runs the tasks numbered
//!   `i, i + n, ...` of each rule (task numbers restart at each rule, offset by the rule's number
//!   so that rules with few tasks do not all land on process 0); every pair is produced by exactly
//!   one process. Blocks and the earlier-rule numbers are still computed in full by each.
//! - A [`KeyIndex`] keeps one table's sorted lists across blockers, so that a national table
//!   linked to several sector tables is indexed once per rule for the whole run.

mod rules;

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use xxhash_rust::xxh3::Xxh3;

pub use rules::{BlockKey, BlockingRule, ColumnKey};

use crate::normalize::prepared::PreparedRecords;

/// Limits of a blocking run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockingOptions {
    /// Largest number of pairs one block may produce; larger blocks are skipped and reported.
    pub max_block_pairs: u64,
    /// Largest number of pairs handed to the callback at once.
    pub chunk_size: usize,
    /// The part of the run this process produces (see the [module docs](self)); the whole run by
    /// default.
    pub share: Share,
}

impl Default for BlockingOptions {
    fn default() -> Self {
        BlockingOptions { max_block_pairs: 1_000_000, chunk_size: 65_536, share: Share::WHOLE }
    }
}

/// Part `index` of `count` equal parts of a blocking run, for processes that split one run
/// between them (a Spark job's tasks): the parts' pairs together are the whole run's, each once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Share {
    /// This part, from 0.
    pub index: u32,
    /// How many parts (1 or more).
    pub count: u32,
}

impl Share {
    /// The whole run.
    pub const WHOLE: Share = Share { index: 0, count: 1 };

    /// Part `index` of `count`, checked: `count` is 1 or more and `index` below it
    /// (`ErrorKind::Settings`).
    pub fn new(index: u32, count: u32) -> crate::error::Result<Share> {
        let share = Share { index, count };
        match share.problem() {
            Some(problem) => Err(crate::error::Error::settings(vec![problem])),
            None => Ok(share),
        }
    }

    /// What is wrong with this share, if anything (what [`Share::new`] and
    /// `LinkSettings::validate` report).
    pub(crate) fn problem(&self) -> Option<String> {
        (self.count == 0 || self.index >= self.count).then(|| {
            format!(
                "a share of the blocking work is a part from 0 to its count less 1 of 1 or more parts, found part {} of {}",
                self.index, self.count
            )
        })
    }

    /// Whether task `task` of rule `rule` is this part's.
    fn takes(&self, rule: usize, task: usize) -> bool {
        let count = self.count.max(1) as usize;
        (rule % count + task % count) % count == self.index as usize
    }
}

/// What one rule contributed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleReport {
    /// The rule's name.
    pub rule: String,
    /// Pairs produced by this rule and by no earlier rule.
    pub pairs: u64,
    /// Blocks skipped by the skew guard.
    pub blocks_capped: u64,
    /// Pairs those blocks would have given (before removing earlier rules' pairs).
    pub pairs_capped: u64,
    /// The largest block's pair count (capped blocks included).
    pub largest_block: u64,
}

/// The outcome of a blocking run: one report per rule, in rule order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockingReport {
    /// Per rule.
    pub rules: Vec<RuleReport>,
}

impl BlockingReport {
    /// Pairs produced by all rules together (each pair once).
    pub fn total_pairs(&self) -> u64 {
        self.rules.iter().map(|r| r.pairs).sum()
    }

    /// Blocks skipped by the skew guard, all rules together; non-zero deserves a warning.
    pub fn blocks_capped(&self) -> u64 {
        self.rules.iter().map(|r| r.blocks_capped).sum()
    }
}

/// Produces candidate pairs `(left id, right id)` for a link, or `(i, j)` with `i < j` for a
/// dedupe (no right table).
///
/// ```no_run
/// # use khop::block::{Blocker, BlockingRule};
/// # use khop::normalize::prepared::PreparedRecords;
/// # fn f(left: &PreparedRecords, right: &PreparedRecords) {
/// let rules = BlockingRule::defaults_for(left, Some(right));
/// let report = Blocker::new(rules, left, Some(right)).for_each_chunk(|pairs| {
///     // compare `pairs`...
/// });
/// # }
/// ```
pub struct Blocker<'a> {
    rules: Vec<BlockingRule>,
    left: &'a PreparedRecords,
    right: Option<&'a PreparedRecords>,
    right_index: Option<&'a KeyIndex<'a>>,
    options: BlockingOptions,
}

/// The sorted `(hash of a rule's keys, id)` lists of one table, computed on first use per rule
/// and kept: a national table linked to several sector tables is hashed and sorted once per rule
/// for the whole run, not once per source and training session. Memory: 16 bytes per record
/// per distinct rule used.
pub struct KeyIndex<'a> {
    table: Indexed<'a>,
    lists: Mutex<HashMap<Vec<BlockKey>, SortedKeys>>,
}

/// The table a [`KeyIndex`] covers: borrowed, or shared with its owner (an index that outlives
/// any borrow, as the library's [`crate::session::MultiLink`] keeps).
enum Indexed<'a> {
    Borrowed(&'a PreparedRecords),
    Shared(Arc<PreparedRecords>),
}

/// One rule's `(hash, id)` list, sorted, shared by the blockers that use it.
type SortedKeys = Arc<Vec<(u64, u32)>>;

impl<'a> KeyIndex<'a> {
    /// An empty index over `table`.
    pub fn new(table: &'a PreparedRecords) -> Self {
        KeyIndex { table: Indexed::Borrowed(table), lists: Mutex::new(HashMap::new()) }
    }

    /// An empty index over a shared table, which it keeps alive.
    pub fn shared(table: Arc<PreparedRecords>) -> KeyIndex<'static> {
        KeyIndex { table: Indexed::Shared(table), lists: Mutex::new(HashMap::new()) }
    }

    /// The table indexed.
    pub fn table(&self) -> &PreparedRecords {
        match &self.table {
            Indexed::Borrowed(table) => table,
            Indexed::Shared(table) => table,
        }
    }

    /// Rules whose lists are kept.
    pub fn rules_indexed(&self) -> usize {
        self.lists.lock().map(|l| l.len()).unwrap_or(0)
    }

    /// The sorted list of `rule`, computed now if it is not kept yet.
    fn get(&self, rule: &BlockingRule) -> SortedKeys {
        if let Some(list) = self.lists.lock().ok().and_then(|l| l.get(rule.keys()).cloned()) {
            return list;
        }
        // Computed outside the lock; two threads asking at once both compute the same list.
        let list = Arc::new(hashed_keys(rule, self.table()));
        match self.lists.lock() {
            Ok(mut lists) => lists.entry(rule.keys().to_vec()).or_insert(list).clone(),
            Err(_) => list,
        }
    }
}

/// A block: ranges into the sorted left and right `(hash, id)` lists.
#[derive(Clone, Copy, Debug)]
struct Block {
    left: (usize, usize),
    right: (usize, usize),
}

/// A unit of parallel work of at most about [`BlockingOptions::chunk_size`] pairs: a run of
/// whole blocks `blocks.0..blocks.1` (most blocks give a handful of pairs), or, for a block larger
/// than that, the left records `left.0..left.1` of the one block `blocks.0` against all of its
/// right records.
#[derive(Clone, Copy, Debug)]
struct Task {
    blocks: (usize, usize),
    left: Option<(usize, usize)>,
}

impl<'a> Blocker<'a> {
    /// A blocker for `rules` over `left` and `right` (`None`: dedupe `left`), default options.
    pub fn new(
        rules: Vec<BlockingRule>,
        left: &'a PreparedRecords,
        right: Option<&'a PreparedRecords>,
    ) -> Self {
        Blocker { rules, left, right, right_index: None, options: BlockingOptions::default() }
    }

    /// Takes the right table's sorted key lists from `index` (kept across blockers) instead of
    /// computing them. Ignored unless `index` is over this blocker's right table.
    pub fn with_right_index(mut self, index: &'a KeyIndex<'a>) -> Self {
        if self.right.is_some_and(|r| std::ptr::eq(r, index.table())) {
            self.right_index = Some(index);
        }
        self
    }

    /// Sets the options.
    pub fn with_options(mut self, options: BlockingOptions) -> Self {
        self.options = BlockingOptions { chunk_size: options.chunk_size.max(1), ..options };
        self
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[BlockingRule] {
        &self.rules
    }

    /// Streams every candidate pair once, in chunks of at most `chunk_size` pairs, in a
    /// deterministic order, and reports what each rule contributed.
    pub fn for_each_chunk(&self, mut f: impl FnMut(&[(u32, u32)])) -> BlockingReport {
        let size = self.options.chunk_size;
        let mut chunk: Vec<(u32, u32)> = Vec::with_capacity(size);
        let report = self.map_tasks(
            |pairs| pairs,
            |pairs| {
                for piece in pairs.chunks(size) {
                    let room = size - chunk.len();
                    let (now, later) = piece.split_at(piece.len().min(room));
                    chunk.extend_from_slice(now);
                    if chunk.len() == size {
                        f(&chunk);
                        chunk.clear();
                    }
                    chunk.extend_from_slice(later);
                }
                ControlFlow::Continue(())
            },
        );
        if !chunk.is_empty() {
            f(&chunk);
        }
        report
    }

    /// Streams every candidate pair once, as [`Blocker::for_each_chunk`] does, but hands each
    /// task's pairs (at most about `chunk_size`, never none) to `map` *on the worker that found
    /// them*, so that comparing and scoring run in parallel with no serial step between blocking
    /// and scoring; `consume` receives the results one at a time in the deterministic stream
    /// order, whatever the thread count. `consume` may stop the run with `ControlFlow::Break`:
    /// tasks already running finish, their results are dropped, and the report covers what was
    /// done (a training sample needs only the stream's first pairs).
    pub fn map_tasks<T: Send>(
        &self,
        map: impl Fn(Vec<(u32, u32)>) -> T + Sync,
        mut consume: impl FnMut(T) -> ControlFlow<()>,
    ) -> BlockingReport {
        let mut report = BlockingReport::default();
        let mut earlier = Earlier::default();
        for k in 0..self.rules.len() {
            let (rule_report, flow) = self.run_rule(k, &mut earlier, &map, &mut consume);
            report.rules.push(rule_report);
            if flow.is_break() {
                break;
            }
        }
        report
    }

    /// The first rule that makes `a` (left) and `b` (right) candidates, ignoring the skew guard;
    /// `None` when no rule does. With the true pairs of a labelled sample, this gives each rule's
    /// share of the recall (`khop blocking --truth`).
    pub fn first_rule(&self, a: u32, b: u32) -> Option<usize> {
        self.rules_for(a, b).next()
    }

    /// The rules under which record `a` of the left table and `b` of the right one meet, in
    /// order (those that would make them a candidate pair if no earlier rule had).
    pub fn rules_for(&self, a: u32, b: u32) -> impl Iterator<Item = usize> + '_ {
        let right = self.right.unwrap_or(self.left);
        self.rules
            .iter()
            .enumerate()
            .filter(move |(_, rule)| rule.matches(self.left, a, right, b))
            .map(|(k, _)| k)
    }

    /// Collects every candidate pair; for tests and small tables only.
    pub fn collect_pairs(&self) -> (Vec<(u32, u32)>, BlockingReport) {
        let mut all = Vec::new();
        let report = self.for_each_chunk(|pairs| all.extend_from_slice(pairs));
        (all, report)
    }

    fn run_rule<T: Send>(
        &self,
        k: usize,
        earlier: &mut Earlier,
        map: &(impl Fn(Vec<(u32, u32)>) -> T + Sync),
        consume: &mut impl FnMut(T) -> ControlFlow<()>,
    ) -> (RuleReport, ControlFlow<()>) {
        let rule = &self.rules[k];
        let mut report = RuleReport { rule: rule.name().to_owned(), ..Default::default() };
        let dedupe = self.right.is_none();
        let right_table = self.right.unwrap_or(self.left);
        let left = hashed_keys(rule, self.left);
        let right_owned;
        let right: &[(u64, u32)] = if dedupe {
            &left
        } else {
            right_owned = match self.right_index {
                Some(index) => index.get(rule),
                None => Arc::new(hashed_keys(rule, right_table)),
            };
            &right_owned
        };

        // Blocks: runs of equal hashes present on both sides.
        let mut blocks = Vec::new();
        if dedupe {
            let mut i = 0;
            while i < left.len() {
                let end = run_end(&left, i);
                if end - i > 1 {
                    blocks.push(Block { left: (i, end), right: (i, end) });
                }
                i = end;
            }
        } else {
            let (mut i, mut j) = (0, 0);
            while i < left.len() && j < right.len() {
                match left[i].0.cmp(&right[j].0) {
                    std::cmp::Ordering::Less => i = run_end(&left, i),
                    std::cmp::Ordering::Greater => j = run_end(right, j),
                    std::cmp::Ordering::Equal => {
                        let (li, rj) = (run_end(&left, i), run_end(right, j));
                        blocks.push(Block { left: (i, li), right: (j, rj) });
                        (i, j) = (li, rj);
                    }
                }
            }
        }

        // Skew guard, then tasks of bounded size: runs of small blocks, slices of large ones.
        let budget = self.options.chunk_size as u64;
        let mut tasks = Vec::new();
        let mut capped_here = vec![false; blocks.len()];
        let mut run: Option<(usize, u64)> = None; // first block of the open run, its pairs
        for (b, block) in blocks.iter().enumerate() {
            let l = (block.left.1 - block.left.0) as u64;
            let r = (block.right.1 - block.right.0) as u64;
            let size = if dedupe { l * l.saturating_sub(1) / 2 } else { l * r };
            report.largest_block = report.largest_block.max(size);
            let capped = size > self.options.max_block_pairs;
            // This block does not join the open run: close the run.
            let alone = capped || size > budget || run.is_some_and(|(_, pairs)| pairs + size > budget);
            if let Some((first, _)) = run.filter(|_| alone) {
                tasks.push(Task { blocks: (first, b), left: None });
                run = None;
            }
            if capped {
                report.blocks_capped += 1;
                report.pairs_capped += size;
                capped_here[b] = true;
            } else if size > budget {
                let step = (budget / r.max(1)).max(1) as usize;
                let mut start = block.left.0;
                while start < block.left.1 {
                    let end = (start + step).min(block.left.1);
                    tasks.push(Task { blocks: (b, b + 1), left: Some((start, end)) });
                    start = end;
                }
            } else {
                let (first, pairs) = run.unwrap_or((b, 0));
                run = Some((first, pairs + size));
            }
        }
        if let Some((first, _)) = run {
            tasks.push(Task { blocks: (first, blocks.len()), left: None });
        }
        if self.options.share != Share::WHOLE {
            let share = self.options.share;
            tasks = tasks
                .into_iter()
                .enumerate()
                .filter(|&(t, _)| share.takes(k, t))
                .map(|(_, task)| task)
                .collect();
        }

        // Waves of tasks in parallel; results consumed in task order.
        let wave = rayon::current_num_threads().max(1) * 4;
        let mut flow = ControlFlow::Continue(());
        for tasks in tasks.chunks(wave) {
            let outputs: Vec<Option<(usize, T)>> = tasks
                .par_iter()
                .map(|task| {
                    let pairs = self.run_task(earlier, dedupe, &left, right, &blocks, task);
                    (!pairs.is_empty()).then(|| (pairs.len(), map(pairs)))
                })
                .collect();
            for (n, output) in outputs.into_iter().flatten() {
                if flow.is_continue() {
                    report.pairs += n as u64;
                    flow = consume(output);
                }
            }
            if flow.is_break() {
                return (report, flow);
            }
        }
        // Later rules skip the pairs this one produced: keep each record's block number.
        if k + 1 < self.rules.len() {
            let numbered = |n: usize, side: fn(&Block) -> (usize, usize), keys: &[(u64, u32)]| {
                let mut numbers = vec![NO_BLOCK; n];
                for (b, block) in blocks.iter().enumerate().filter(|&(b, _)| !capped_here[b]) {
                    let (first, last) = side(block);
                    for &(_, id) in &keys[first..last] {
                        numbers[id as usize] = b as u32;
                    }
                }
                numbers
            };
            let left_numbers = numbered(self.left.len(), |b| b.left, &left);
            let right_numbers =
                if dedupe { Vec::new() } else { numbered(right_table.len(), |b| b.right, right) };
            earlier.rules.push(EarlierRule { left: left_numbers, right: right_numbers });
        }
        (report, flow)
    }

    fn run_task(
        &self,
        earlier: &Earlier,
        dedupe: bool,
        left: &[(u64, u32)],
        right: &[(u64, u32)],
        blocks: &[Block],
        task: &Task,
    ) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        let mut mine = Vec::with_capacity(earlier.rules.len());
        for block in blocks.get(task.blocks.0..task.blocks.1).unwrap_or_default() {
            let (first, last) = task.left.unwrap_or(block.left);
            let lefts = left.get(first..last).unwrap_or_default();
            for (li, &(_, a)) in (first..).zip(lefts) {
                // Record `a`'s block under each earlier rule (none where its keys were missing,
                // its block had no record of the other side, or the block was capped).
                mine.clear();
                mine.extend(earlier.rules.iter().map(|r| r.left[a as usize]));
                let from = if dedupe { li + 1 } else { block.right.0 };
                for &(_, b) in right.get(from..block.right.1).unwrap_or_default() {
                    // Ids are sorted within a block, so `a < b` in a dedupe. An earlier rule
                    // produced the pair when both records were in one of its blocks.
                    let produced = earlier.rules.iter().zip(&mine).any(|(r, &n)| {
                        n != NO_BLOCK && n == if dedupe { r.left[b as usize] } else { r.right[b as usize] }
                    });
                    if !produced {
                        out.push((a, b));
                    }
                }
            }
        }
        out
    }
}

/// What later rules need of the rules already run: each record's block number under each rule.
///
/// Blocks are numbered in a rule's order; a record gets [`NO_BLOCK`] where a key is missing,
/// where its block holds no record of the other side (no pair came of it) and where the skew
/// guard skipped its block (its pairs may come from a later rule). Two records were paired by
/// an earlier rule exactly when they have the same number there: 4 bytes per record and rule,
/// and no search for capped blocks.
#[derive(Default)]
struct Earlier {
    rules: Vec<EarlierRule>,
}

/// The block number of no pair.
const NO_BLOCK: u32 = u32::MAX;

struct EarlierRule {
    left: Vec<u32>,
    /// Empty in a dedupe (the left numbers serve both sides).
    right: Vec<u32>,
}

/// `(hash of the rule's keys, id)` for every record with all keys present, sorted.
fn hashed_keys(rule: &BlockingRule, table: &PreparedRecords) -> Vec<(u64, u32)> {
    let n = table.len().min(u32::MAX as usize) as u32;
    let mut keys: Vec<(u64, u32)> = (0..n)
        .into_par_iter()
        .with_min_len(4096)
        .filter_map(|id| {
            let mut hasher = Xxh3::new();
            rule.hash_into(table, id, &mut hasher).then(|| (hasher.digest(), id))
        })
        .collect();
    keys.par_sort_unstable();
    keys
}

/// End of the run of equal hashes starting at `i`.
fn run_end(keys: &[(u64, u32)], i: usize) -> usize {
    let h = keys[i].0;
    let mut end = i + 1;
    while end < keys.len() && keys[end].0 == h {
        end += 1;
    }
    end
}
