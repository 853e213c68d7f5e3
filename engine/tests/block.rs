//! Blocking: every candidate pair once across rules, equal to a brute-force all-pairs filter on
//! the same rules, for any batch size and thread count; the skew guard; comparison vectors of
//! the blocked pairs.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use khop::block::{BlockKey, Blocker, BlockingOptions, BlockingRule};
use khop::compare::Comparisons;
use khop::normalize::prepared::PreparedRecords;
use khop::read::Batch;
use khop::{ColumnSpec, DatasetSpec, Role};

const COLUMNS: [(&str, Role); 6] = [
    ("ho_ten", Role::FullName),
    ("ngay_sinh", Role::DateOfBirth),
    ("gioi_tinh", Role::Sex),
    ("cccd", Role::NationalId),
    ("sdt", Role::Phone),
    ("dia_chi", Role::Address),
];

fn spec() -> DatasetSpec {
    DatasetSpec { id_column: None, columns: COLUMNS.iter().map(|(n, r)| ColumnSpec::new(*n, *r)).collect() }
}

/// Small pools, so that keys collide often and blocks overlap across rules.
fn generate(n: usize, seed: u64) -> Vec<[Option<String>; 6]> {
    const FAMILY: [&str; 4] = ["Nguyễn", "Trần", "Lê", "Phạm"];
    const MIDDLE: [&str; 3] = ["Văn", "Thị", ""];
    const GIVEN: [&str; 5] = ["An", "Anh", "Dũng", "Rũng", "Hoà"];
    const ADDRESS: [&str; 3] = ["P.2, Q.5, TP.HCM", "Hà Nội", "Thủ Dầu Một, Bình Dương"];
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = |m: usize| -> usize {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 33) % m as u64) as usize
    };
    (0..n)
        .map(|_| {
            let name = match next(10) {
                0 => None,
                1 => Some(format!("{} {}", GIVEN[next(5)], FAMILY[next(4)])),
                _ => Some(format!("{} {} {}", FAMILY[next(4)], MIDDLE[next(3)], GIVEN[next(5)])),
            };
            let year = 1985 + next(3);
            let date = match next(6) {
                0 => None,
                1 => Some(year.to_string()),
                _ => Some(format!("{:02}/{:02}/{year}", 1 + next(2), 1 + next(2))),
            };
            let sex = [None, Some("Nam"), Some("Nữ")][next(3)].map(String::from);
            let id = (next(3) == 0).then(|| format!("0010{:02}00{:04}", year % 100, next(6)));
            let phone = (next(4) == 0).then(|| format!("09123456{:02}", next(8)));
            let address = (next(3) != 0).then(|| ADDRESS[next(3)].to_owned());
            [name, date, sex, id, phone, address]
        })
        .collect()
}

fn prepare(rows: &[[Option<String>; 6]], batch_size: usize) -> PreparedRecords {
    let batches = rows.chunks(batch_size).enumerate().map(|(b, chunk)| {
        let columns: Vec<(&str, ArrayRef)> = COLUMNS
            .iter()
            .enumerate()
            .map(|(c, (name, _))| {
                let values: StringArray = chunk.iter().map(|r| r[c].as_deref()).collect();
                (*name, Arc::new(values) as ArrayRef)
            })
            .collect();
        let records = RecordBatch::try_from_iter(columns).expect("batch");
        let first = (b * batch_size) as u64 + 1;
        Ok(Batch { records, rows: (first..first + chunk.len() as u64).collect(), rejects: Vec::new() })
    });
    PreparedRecords::from_batches(&spec(), batches).expect("prepare")
}

fn rules(left: &PreparedRecords, right: Option<&PreparedRecords>) -> Vec<BlockingRule> {
    let mut rules = BlockingRule::defaults_for(left, right);
    rules.push(BlockingRule::new([BlockKey::FoldedFamilyName, BlockKey::Ward]));
    rules
}

/// For each pair, the first rule under which it is produced (matches, block not capped).
fn brute_force(
    rules: &[BlockingRule],
    left: &PreparedRecords,
    right: Option<&PreparedRecords>,
    cap: u64,
) -> (BTreeSet<(u32, u32)>, Vec<u64>) {
    let r = right.unwrap_or(left);
    let (n, m) = (left.len() as u32, r.len() as u32);
    // Block sizes from counts of matching records on each side.
    let sizes: Vec<(Vec<u64>, Vec<u64>)> = rules
        .iter()
        .map(|rule| {
            let per_left =
                (0..n).map(|a| (0..m).filter(|&b| rule.matches(left, a, r, b)).count() as u64).collect();
            let per_right =
                (0..m).map(|b| (0..n).filter(|&a| rule.matches(left, a, r, b)).count() as u64).collect();
            (per_left, per_right)
        })
        .collect();
    let mut pairs = BTreeSet::new();
    let mut counts = vec![0; rules.len()];
    for a in 0..n {
        for b in 0..m {
            if right.is_none() && b <= a {
                continue;
            }
            for (k, rule) in rules.iter().enumerate() {
                if !rule.matches(left, a, r, b) {
                    continue;
                }
                let size = match right {
                    Some(_) => sizes[k].1[b as usize] * sizes[k].0[a as usize],
                    None => {
                        let s = sizes[k].0[a as usize];
                        s * s.saturating_sub(1) / 2
                    }
                };
                if size <= cap {
                    pairs.insert((a, b));
                    counts[k] += 1;
                    break;
                }
            }
        }
    }
    (pairs, counts)
}

fn stream(
    rules: &[BlockingRule],
    left: &PreparedRecords,
    right: Option<&PreparedRecords>,
    options: BlockingOptions,
    threads: usize,
) -> (Vec<(u32, u32)>, khop::block::BlockingReport) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
    pool.install(|| {
        let mut all = Vec::new();
        let report =
            Blocker::new(rules.to_vec(), left, right).with_options(options).for_each_chunk(|pairs| {
                assert!(
                    !pairs.is_empty() && pairs.len() <= options.chunk_size,
                    "chunk of {} pairs",
                    pairs.len()
                );
                all.extend_from_slice(pairs);
            });
        (all, report)
    })
}

fn check(link: bool, cap: u64) {
    let left_rows = generate(160, 1);
    let right_rows = generate(120, 2);
    let options = BlockingOptions { max_block_pairs: cap, chunk_size: 7, ..Default::default() };
    let mut reference: Option<Vec<(u32, u32)>> = None;
    for batch_size in [1, 2, 7, 64] {
        let left = prepare(&left_rows, batch_size);
        let right = prepare(&right_rows, batch_size);
        let right = link.then_some(&right);
        let rules = rules(&left, right);
        assert!(rules.len() >= 5, "default rules for every role: {rules:?}");
        let (expected, counts) = brute_force(&rules, &left, right, cap);
        assert!(!expected.is_empty());
        for threads in [1, 4] {
            let (pairs, report) = stream(&rules, &left, right, options, threads);
            let unique: BTreeSet<(u32, u32)> = pairs.iter().copied().collect();
            assert_eq!(unique.len(), pairs.len(), "a pair was produced twice");
            assert_eq!(unique, expected, "link={link} cap={cap} batch={batch_size} threads={threads}");
            let produced: Vec<u64> = report.rules.iter().map(|r| r.pairs).collect();
            assert_eq!(produced, counts, "pairs per rule");
            if !link {
                assert!(pairs.iter().all(|(a, b)| a < b));
            }
            match &reference {
                None => reference = Some(pairs),
                Some(first) => assert_eq!(first, &pairs, "order depends on batch size or threads"),
            }
            if cap < u64::MAX {
                assert!(report.blocks_capped() > 0, "the cap should bite on this data");
                assert!(report.rules.iter().all(|r| r.blocks_capped == 0 || r.largest_block > cap));
            } else {
                assert_eq!(report.blocks_capped(), 0);
            }
        }
    }
}

#[test]
fn link_pairs_once_equal_brute_force() {
    check(true, u64::MAX);
}

#[test]
fn dedupe_pairs_once_equal_brute_force() {
    check(false, u64::MAX);
}

#[test]
fn skew_guard_skips_large_blocks_and_keeps_other_rules_pairs() {
    check(true, 40);
    check(false, 20);
}

#[test]
fn rule_without_keys_matches_nothing() {
    let left = prepare(&generate(20, 3), 8);
    let (pairs, report) = Blocker::new(vec![BlockingRule::new(Vec::new())], &left, None).collect_pairs();
    assert!(pairs.is_empty());
    assert_eq!(report.total_pairs(), 0);
}

#[test]
fn comparison_vectors_of_blocked_pairs_match_single_pair_levels() {
    let left = prepare(&generate(200, 4), 64);
    let right = prepare(&generate(150, 5), 64);
    let rules = vec![BlockingRule::new([BlockKey::BirthYear])];
    let (pairs, _) = Blocker::new(rules, &left, Some(&right)).collect_pairs();
    // Many pairs per left record: the SIMD one-against-many path runs.
    assert!(pairs.len() > 20 * 200 / 3);
    let comparisons = Comparisons::default_for(&left, Some(&right));
    assert!(comparisons.len() >= 7);
    let mut by_thread = Vec::new();
    for threads in [1, 4] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
        let mut out = Vec::new();
        pool.install(|| comparisons.compare_chunk(&left, &right, &pairs, &mut out));
        by_thread.push(out);
    }
    assert_eq!(by_thread[0], by_thread[1]);
    let out = &by_thread[0];
    let width = comparisons.len();
    let mut seen = BTreeSet::new();
    for (p, &(a, b)) in pairs.iter().enumerate() {
        for (c, comparison) in comparisons.comparisons().iter().enumerate() {
            let level = out[p * width + c];
            assert_eq!(level, comparison.level(&left, a, &right, b), "{} of pair {p}", comparison.name());
            assert!((level as usize) < comparison.levels().len());
            seen.insert((c, level));
        }
    }
    // The name comparison reaches several levels on this data.
    assert!(seen.iter().filter(|(c, _)| *c == 0).count() >= 4, "{seen:?}");
}

#[test]
fn generic_column_rules_pair_once_equal_brute_force() {
    let dir: std::path::PathBuf = [env!("CARGO_MANIFEST_DIR"), "testdata", "link"].iter().collect();
    let left = crate::febrl::prepare(&dir.join("febrl_like_a.csv"));
    let right = crate::febrl::prepare(&dir.join("febrl_like_b.csv"));
    let rules = BlockingRule::defaults_for(&left, Some(&right));
    let names: Vec<&str> = rules.iter().map(|r| r.name()).collect();
    for wanted in ["soc_sec_id", "postcode+family_name", "street_number+address_1"] {
        assert!(names.contains(&wanted), "{wanted} not in {names:?}");
    }
    let (expected, counts) = brute_force(&rules, &left, Some(&right), u64::MAX);
    assert!(!expected.is_empty());
    let options = BlockingOptions { max_block_pairs: u64::MAX, chunk_size: 7, ..Default::default() };
    for threads in [1, 4] {
        let (pairs, report) = stream(&rules, &left, Some(&right), options, threads);
        assert_eq!(pairs.len(), expected.len(), "a pair was emitted twice or missed");
        assert_eq!(pairs.iter().copied().collect::<BTreeSet<_>>(), expected);
        assert_eq!(report.total_pairs(), counts.iter().sum::<u64>());
    }
}

#[test]
fn tasks_stream_the_same_pairs_in_the_same_order_and_stop_when_asked() {
    use std::ops::ControlFlow;
    let left = prepare(&generate(160, 1), 16);
    let right = prepare(&generate(120, 2), 16);
    let rules = rules(&left, Some(&right));
    let reference = BlockingOptions { max_block_pairs: u64::MAX, chunk_size: 7, ..Default::default() };
    let (expected, report) = stream(&rules, &left, Some(&right), reference, 1);
    assert!(expected.len() > 100, "{} pairs", expected.len());
    for chunk_size in [1, 5, 64, 100_000] {
        for threads in [1, 3] {
            let options = BlockingOptions { chunk_size, ..reference };
            let blocker = Blocker::new(rules.clone(), &left, Some(&right)).with_options(options);
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
            let (all, all_report) = pool.install(|| {
                let mut all = Vec::new();
                let report = blocker.map_tasks(
                    |pairs| {
                        assert!(!pairs.is_empty(), "an empty task reached `map`");
                        pairs
                    },
                    |pairs| {
                        all.extend(pairs);
                        ControlFlow::Continue(())
                    },
                );
                (all, report)
            });
            assert_eq!(all, expected, "chunk_size={chunk_size} threads={threads}");
            assert_eq!(all_report, report);

            // Stopping keeps a prefix of the same stream.
            let some = pool.install(|| {
                let mut some = Vec::new();
                blocker.map_tasks(
                    |pairs| pairs,
                    |pairs| {
                        some.extend(pairs);
                        if some.len() >= 40 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
                    },
                );
                some
            });
            assert!(some.len() >= 40 && some.len() < expected.len() || chunk_size == 100_000);
            assert_eq!(some[..], expected[..some.len()]);
        }
    }
}

/// `middle_name` is a key even where there is no middle name (names without one share it) but
/// not where there is no name; `rules_for` lists every rule under which two records meet, in
/// order, and `first_rule` is its first.
#[test]
fn the_middle_name_key_and_the_rules_two_records_meet_under() {
    let row = |name: Option<&str>| -> [Option<String>; 6] {
        [name.map(String::from), Some("02/01/1986".into()), None, None, None, None]
    };
    let left = prepare(&[row(Some("Nguyễn An")), row(Some("Nguyễn Văn An")), row(None)], 2);
    let right = prepare(&[row(Some("Nguyễn An")), row(Some("Nguyễn Văn An")), row(None)], 2);
    let rules = vec![
        BlockingRule::new([BlockKey::FoldedFamilyName, BlockKey::DateOfBirth]),
        BlockingRule::new([BlockKey::FoldedFamilyName, BlockKey::FoldedMiddleName, BlockKey::DateOfBirth]),
        BlockingRule::new([BlockKey::FoldedMiddleName]),
    ];
    let blocker = Blocker::new(rules.clone(), &left, Some(&right));
    let meet = |a: u32, b: u32| blocker.rules_for(a, b).collect::<Vec<_>>();
    assert_eq!(meet(0, 0), [0, 1, 2], "no middle name on either side is a key all the same");
    assert_eq!(meet(1, 1), [0, 1, 2]);
    assert_eq!(meet(0, 1), [0], "a middle name against none");
    assert_eq!(meet(1, 0), [0]);
    assert!(meet(2, 2).is_empty(), "no name, no name keys");
    for a in 0..3 {
        for b in 0..3 {
            assert_eq!(blocker.first_rule(a, b), meet(a, b).first().copied());
        }
    }
    let (pairs, _) = blocker.collect_pairs();
    let pairs: BTreeSet<(u32, u32)> = pairs.into_iter().collect();
    assert_eq!(pairs, BTreeSet::from([(0, 0), (0, 1), (1, 0), (1, 1)]));
}
