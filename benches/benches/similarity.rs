//! Criterion micro-benchmarks of the similarity kernels against strsim and rapidfuzz-rs.
//!
//! Inputs are synthetic accent-folded Vietnamese names (random combinations of common name
//! parts, never real people). Each benchmark first checks that the peers give the same answers.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use khop::similarity::{self, BatchComparator, InstructionSet};

const FAMILY: [&str; 16] = [
    "Nguyen", "Tran", "Le", "Pham", "Hoang", "Huynh", "Phan", "Vu", "Vo", "Dang", "Bui", "Do", "Ho", "Ngo",
    "Duong", "Ly",
];
const MIDDLE: [&str; 7] = ["Van", "Thi", "Huu", "Duc", "Minh", "Thanh", "Ngoc"];
const GIVEN: [&str; 7] = ["An", "Binh", "Hung", "Hoa", "Lan", "Dung", "Phuong"];
const PLACES: [&str; 4] = [
    "12 Le Loi, Phuong Ben Nghe",
    "7 Tran Hung Dao, Phuong 1",
    "45 Nguyen Trai, Xa Tan Phu",
    "3 Hai Ba Trung, Phuong Hang Bac",
];

fn names(count: usize, seed: u64, long: bool) -> Vec<String> {
    let mut x = seed | 1;
    let mut next = move |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    };
    (0..count)
        .map(|_| {
            let n = format!("{} {} {}", FAMILY[next(16)], MIDDLE[next(7)], GIVEN[next(7)]);
            let n = if long { format!("{n}, {}", PLACES[next(4)]) } else { n };
            // Short names: at most 16 bytes, the packed 16-bit lane class.
            if long { n } else { n.chars().take(16).collect() }
        })
        .collect()
}

fn pairs(c: &mut Criterion) {
    let a = "Nguyen Van Phuon";
    let b = "Nguyen Thi Phuon";
    assert_eq!(similarity::jaro_winkler(a.as_bytes(), b.as_bytes()), strsim::jaro_winkler(a, b));
    assert_eq!(
        similarity::levenshtein(a.as_bytes(), b.as_bytes()),
        rapidfuzz::distance::levenshtein::distance(a.bytes(), b.bytes())
    );
    let mut g = c.benchmark_group("pair_len16");
    g.throughput(Throughput::Elements(1));
    g.bench_function("jaro_winkler/khop", |z| {
        z.iter(|| similarity::jaro_winkler(black_box(a.as_bytes()), black_box(b.as_bytes())))
    });
    g.bench_function("jaro_winkler/strsim", |z| z.iter(|| strsim::jaro_winkler(black_box(a), black_box(b))));
    g.bench_function("jaro_winkler/rapidfuzz-rs", |z| {
        z.iter(|| rapidfuzz::distance::jaro_winkler::similarity(black_box(a).bytes(), black_box(b).bytes()))
    });
    g.bench_function("levenshtein/khop", |z| {
        z.iter(|| similarity::levenshtein(black_box(a.as_bytes()), black_box(b.as_bytes())))
    });
    g.bench_function("levenshtein/strsim", |z| z.iter(|| strsim::levenshtein(black_box(a), black_box(b))));
    g.bench_function("levenshtein/rapidfuzz-rs", |z| {
        z.iter(|| rapidfuzz::distance::levenshtein::distance(black_box(a).bytes(), black_box(b).bytes()))
    });
    g.finish();
}

fn one_vs_many(c: &mut Criterion, label: &str, long: bool) {
    let choices = names(2000, 0xC0FFEE, long);
    let query = names(1, 0xBEEF, long).remove(0);
    let refs: Vec<&[u8]> = choices.iter().map(|s| s.as_bytes()).collect();
    let batch = BatchComparator::new(&refs);
    let rf_jw = rapidfuzz::distance::jaro_winkler::BatchComparator::new(query.bytes());
    let rf_lev = rapidfuzz::distance::levenshtein::BatchComparator::new(query.bytes());

    // Check answers before timing anything.
    let (mut jw, mut lev) = (Vec::new(), Vec::new());
    batch.jaro_winkler(query.as_bytes(), &mut jw);
    batch.levenshtein(query.as_bytes(), &mut lev);
    for (i, s) in choices.iter().enumerate() {
        assert!((jw[i] - rf_jw.similarity(s.bytes())).abs() < 1e-9);
        assert_eq!(jw[i], strsim::jaro_winkler(&query, s));
        assert_eq!(lev[i] as usize, rf_lev.distance(s.bytes()));
    }

    let mut g = c.benchmark_group(format!("one_vs_2000_{label}"));
    g.throughput(Throughput::Elements(choices.len() as u64));
    g.bench_function("jaro_winkler/khop", |z| {
        z.iter(|| batch.jaro_winkler(black_box(query.as_bytes()), &mut jw))
    });
    // The same kernels forced onto the narrower instruction sets, where this CPU has them.
    for isa in [InstructionSet::Avx2, InstructionSet::Scalar] {
        let forced = BatchComparator::with_instruction_set(&refs, isa);
        if forced.instruction_set() != isa {
            continue;
        }
        let mut check = Vec::new();
        forced.jaro_winkler(query.as_bytes(), &mut check);
        assert_eq!(check, jw);
        g.bench_function(format!("jaro_winkler/khop-{isa:?}"), |z| {
            z.iter(|| forced.jaro_winkler(black_box(query.as_bytes()), &mut check))
        });
        let mut check = Vec::new();
        forced.levenshtein(query.as_bytes(), &mut check);
        assert_eq!(check, lev);
        g.bench_function(format!("levenshtein/khop-{isa:?}"), |z| {
            z.iter(|| forced.levenshtein(black_box(query.as_bytes()), &mut check))
        });
    }
    g.bench_function("jaro_winkler/rapidfuzz-rs", |z| {
        z.iter(|| choices.iter().map(|s| rf_jw.similarity(s.bytes())).sum::<f64>())
    });
    g.bench_function("jaro_winkler/strsim", |z| {
        z.iter(|| choices.iter().map(|s| strsim::jaro_winkler(&query, s)).sum::<f64>())
    });
    g.bench_function("levenshtein/khop", |z| {
        z.iter(|| batch.levenshtein(black_box(query.as_bytes()), &mut lev))
    });
    g.bench_function("levenshtein/rapidfuzz-rs", |z| {
        z.iter(|| choices.iter().map(|s| rf_lev.distance(s.bytes())).sum::<usize>())
    });
    g.bench_function("levenshtein/strsim", |z| {
        z.iter(|| choices.iter().map(|s| strsim::levenshtein(&query, s)).sum::<usize>())
    });
    g.finish();
}

fn batches(c: &mut Criterion) {
    one_vs_many(c, "names_le16", false);
    one_vs_many(c, "long_30_60", true);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = pairs, batches
}
criterion_main!(benches);
