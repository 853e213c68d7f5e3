//! Every path against the scalar reference, and the reference against strsim.

use proptest::prelude::*;

use super::*;

const LANE_BOUNDARIES: [usize; 15] = [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 200];

/// Instruction sets this machine can run; the others are skipped, not failed.
fn available() -> Vec<InstructionSet> {
    [InstructionSet::Scalar, InstructionSet::Avx2, InstructionSet::Avx512]
        .into_iter()
        .filter(|isa| isa.is_available())
        .collect()
}

/// Bytes mapped 1:1 to chars (Latin-1), so strsim counts what we count.
fn chars(s: &[u8]) -> String {
    s.iter().map(|&b| char::from(b)).collect()
}

/// Small alphabets give many matches and transpositions; 0xF0-0xFF are the compact
/// alphabet's escape codes, and 0x00 must not be mistaken for padding.
fn byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => prop::sample::select(vec![b'a', b'b', b'c', b'n', 0x00, 0xF0, 0xFF]),
        1 => any::<u8>(),
    ]
}

fn string(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(byte(), 0..=max)
}

/// Deterministic pseudo-random string of `len` bytes over `alphabet`.
fn pseudo(len: usize, seed: u64, alphabet: &[u8]) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            alphabet[(x % alphabet.len() as u64) as usize]
        })
        .collect()
}

fn check_batch(strings: &[Vec<u8>], texts: &[Vec<u8>]) {
    let refs: Vec<&[u8]> = strings.iter().map(Vec::as_slice).collect();
    for isa in available() {
        let batch = BatchComparator::with_instruction_set(&refs, isa);
        assert_eq!(batch.instruction_set(), isa);
        let (mut lev, mut j, mut jw) = (Vec::new(), Vec::new(), Vec::new());
        for t in texts {
            batch.levenshtein(t, &mut lev);
            batch.jaro(t, &mut j);
            batch.jaro_winkler(t, &mut jw);
            for (i, s) in refs.iter().enumerate() {
                let ctx = || format!("{isa:?} text={t:?} string={s:?}");
                assert_eq!(lev[i] as usize, reference::levenshtein(t, s), "lev {}", ctx());
                assert_eq!(j[i].to_bits(), reference::jaro(t, s).to_bits(), "jaro {}", ctx());
                let expected = reference::jaro_winkler(t, s);
                assert_eq!(jw[i].to_bits(), expected.to_bits(), "jw {}", ctx());
            }
        }
    }
}

#[test]
fn published_jaro_winkler_vectors() {
    let close = |a: f64, b: f64| (a - b).abs() < 5e-5;
    assert!(close(jaro_winkler(b"MARTHA", b"MARHTA"), 0.9611));
    assert!(close(jaro_winkler(b"DWAYNE", b"DUANE"), 0.84));
    assert!(close(jaro_winkler(b"DIXON", b"DICKSONX"), 0.8133));
    assert!(close(jaro(b"MARTHA", b"MARHTA"), 0.9444));
}

#[test]
fn empty_strings_are_defined() {
    assert_eq!(jaro(b"", b""), 1.0);
    assert_eq!(jaro_winkler(b"", b"abc"), 0.0);
    assert_eq!(levenshtein(b"", b"abc"), 3);
    assert_eq!(levenshtein_similarity(b"", b""), 1.0);
    assert_eq!(osa(b"abc", b""), 3);
    assert_eq!(damerau_levenshtein(b"", b""), 0);
    assert_eq!(lcs_similarity(b"", b""), 1.0);
    assert_eq!(token_set_similarity(b" ", b""), 1.0);
    assert_eq!(ngram_jaccard(b"", b"ab", 2), 0.0);
    assert_eq!(digit_relation(b"", b""), DigitRelation::Equal);
    let mut out = Vec::new();
    cdist_levenshtein(&[], &[b"a"], &mut out);
    assert!(out.is_empty());
    cdist_jaro_winkler(&[b"a"], &[], &mut Vec::new());
}

#[test]
fn edit_distance_examples() {
    assert_eq!(levenshtein(b"kitten", b"sitting"), 3);
    assert_eq!(osa(b"ca", b"abc"), 3);
    assert_eq!(damerau_levenshtein(b"ca", b"abc"), 2);
    assert_eq!(osa(b"nguyen", b"ngyuen"), 1);
    assert_eq!(lcs_len(b"nguyen", b"nguyn"), 5);
    assert_eq!(levenshtein_bounded(b"kitten", b"sitting", 3), Some(3));
    assert_eq!(levenshtein_bounded(b"kitten", b"sitting", 2), None);
    assert_eq!(jaro_winkler_cutoff(b"a", b"abcdefghij", 0.9), None);
    assert!(jaro_winkler_cutoff(b"MARTHA", b"MARHTA", 0.9).is_some());
}

#[test]
fn token_and_id_measures() {
    assert_eq!(token_set_similarity(b"nguyen van an", b"an nguyen van"), 1.0);
    assert_eq!(token_set_similarity(b"nguyen an", b"nguyen van an"), 1.0);
    assert!(token_set_similarity(b"nguyen van an", b"tran thi hoa") < 0.7);
    assert_eq!(ngram_jaccard(b"abcd", b"abcd", 2), 1.0);
    assert!((ngram_jaccard(b"abcd", b"abce", 2) - 0.5).abs() < 1e-12);
    assert_eq!(digit_relation(b"079123456789", b"079123456789"), DigitRelation::Equal);
    assert_eq!(digit_relation(b"079123456789", b"079123456798"), DigitRelation::OneTransposition);
    assert_eq!(digit_relation(b"079123456789", b"079123456780"), DigitRelation::OneSubstitution);
    assert_eq!(digit_relation(b"079123456789", b"179123456798"), DigitRelation::TranspositionAndSubstitution);
    assert_eq!(digit_relation(b"079123456789", b"179123456780"), DigitRelation::Different);
    assert_eq!(digit_relation(b"07912345678", b"079123456789"), DigitRelation::Different);
    assert_eq!(digit_similarity(b"12", b"21"), 0.9);
}

#[test]
fn lane_boundary_lengths_agree_on_every_instruction_set() {
    let alphabets: [&[u8]; 2] = [b"ab", &[0x00, 0xF0, 0xF7, 0xFF, b'n']];
    let mut strings = Vec::new();
    for (a, alphabet) in alphabets.iter().enumerate() {
        for (k, &len) in LANE_BOUNDARIES.iter().enumerate() {
            strings.push(pseudo(len, (a * 100 + k) as u64 + 1, alphabet));
        }
    }
    // A prefix-sharing pair exercises the Winkler boost at every length.
    strings.push(vec![b'a'; 64]);
    strings.push(vec![b'a'; 65]);
    check_batch(&strings, &strings);
    for a in &strings {
        for b in &strings {
            assert_eq!(bitpar::levenshtein(a, b), reference::levenshtein(a, b));
            assert_eq!(bitpar::osa(a, b), reference::osa(a, b));
            assert_eq!(bitpar::lcs(a, b), reference::lcs(a, b));
            assert_eq!(bitpar::jaro_counts(a, b), reference::jaro_counts(a, b));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn bit_parallel_equals_reference(a in string(80), b in string(80)) {
        prop_assert_eq!(bitpar::levenshtein(&a, &b), reference::levenshtein(&a, &b));
        prop_assert_eq!(bitpar::osa(&a, &b), reference::osa(&a, &b));
        prop_assert_eq!(bitpar::lcs(&a, &b), reference::lcs(&a, &b));
        prop_assert_eq!(bitpar::jaro_counts(&a, &b), reference::jaro_counts(&a, &b));
        let d = reference::levenshtein(&a, &b);
        for max in [0, d.saturating_sub(1), d, d + 1] {
            prop_assert_eq!(levenshtein_bounded(&a, &b, max), (d <= max).then_some(d));
        }
    }

    #[test]
    fn multi_word_patterns_equal_reference(
        a in prop::collection::vec(prop::sample::select(vec![b'a', b'b', 0xF0]), 60..300),
        b in prop::collection::vec(prop::sample::select(vec![b'a', b'b', 0xF0]), 60..300),
    ) {
        prop_assert_eq!(bitpar::jaro_counts(&a, &b), reference::jaro_counts(&a, &b));
        prop_assert_eq!(bitpar::levenshtein(&a, &b), reference::levenshtein(&a, &b));
        prop_assert_eq!(bitpar::osa(&a, &b), reference::osa(&a, &b));
        prop_assert_eq!(bitpar::lcs(&a, &b), reference::lcs(&a, &b));
    }

    #[test]
    fn reference_equals_strsim(a in string(24), b in string(24)) {
        let (sa, sb) = (chars(&a), chars(&b));
        prop_assert_eq!(reference::jaro(&a, &b).to_bits(), strsim::jaro(&sa, &sb).to_bits());
        prop_assert_eq!(
            reference::jaro_winkler(&a, &b).to_bits(),
            strsim::jaro_winkler(&sa, &sb).to_bits()
        );
        prop_assert_eq!(reference::levenshtein(&a, &b), strsim::levenshtein(&sa, &sb));
        prop_assert_eq!(reference::osa(&a, &b), strsim::osa_distance(&sa, &sb));
        prop_assert_eq!(damerau_levenshtein(&a, &b), strsim::damerau_levenshtein(&sa, &sb));
        prop_assert_eq!(jaro_winkler(&a, &b).to_bits(), strsim::jaro_winkler(&sa, &sb).to_bits());
    }

    #[test]
    fn batches_equal_reference(
        strings in prop::collection::vec(string(70), 0..40),
        texts in prop::collection::vec(string(140), 1..4),
    ) {
        check_batch(&strings, &texts);
    }

    #[test]
    fn bounds_and_symmetry(a in string(30), b in string(30)) {
        for s in [
            jaro(&a, &b), jaro_winkler(&a, &b), levenshtein_similarity(&a, &b),
            osa_similarity(&a, &b), damerau_levenshtein_similarity(&a, &b), lcs_similarity(&a, &b),
            token_set_similarity(&a, &b), ngram_jaccard(&a, &b, 2), digit_similarity(&a, &b),
        ] {
            prop_assert!((0.0..=1.0).contains(&s));
        }
        prop_assert_eq!(levenshtein(&a, &b), levenshtein(&b, &a));
        prop_assert_eq!(osa(&a, &b), osa(&b, &a));
        prop_assert_eq!(token_set_similarity(&a, &b), token_set_similarity(&b, &a));
        prop_assert_eq!(ngram_jaccard(&a, &b, 3), ngram_jaccard(&b, &a, 3));
    }
}

#[test]
fn cdist_matches_one_pair_calls() {
    let names: Vec<Vec<u8>> = (0..50).map(|i| pseudo(i % 20, i as u64 + 7, b"nguyen van")).collect();
    let refs: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
    let (mut lev, mut jw, mut j) = (Vec::new(), Vec::new(), Vec::new());
    cdist_levenshtein(&refs[..10], &refs, &mut lev);
    cdist_jaro_winkler(&refs[..10], &refs, &mut jw);
    cdist_jaro(&refs[..10], &refs, &mut j);
    let mut many = Vec::new();
    levenshtein_many(refs[3], &refs, &mut many);
    assert_eq!(&many[..], &lev[3 * refs.len()..4 * refs.len()]);
    jaro_winkler_many(refs[4], &refs, &mut Vec::new());
    jaro_many(refs[4], &refs, &mut Vec::new());
    for i in 0..10 {
        for (k, c) in refs.iter().enumerate() {
            assert_eq!(lev[i * refs.len() + k] as usize, levenshtein(refs[i], c));
            assert_eq!(jw[i * refs.len() + k], jaro_winkler(refs[i], c));
            assert_eq!(j[i * refs.len() + k], jaro(refs[i], c));
        }
    }
}
