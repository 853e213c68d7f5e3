//! Normalization throughput on synthetic Vietnamese names (never real people: common family,
//! middle and given names combined), with accents, without accents, upper case and reversed.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use khop::normalize::alphabet;
use khop::normalize::date::parse_date;
use khop::normalize::name::{NameScratch, NormalizedName, normalize_name_into};
use khop::normalize::text::{TextScratch, normalize_text_into};
use std::hint::black_box;

#[path = "../src/names.rs"]
mod names;
use names::names;

fn bench(c: &mut Criterion) {
    let input = names(10_000);
    let mut group = c.benchmark_group("normalize");
    group.throughput(Throughput::Elements(input.len() as u64));

    group.bench_function("name", |b| {
        let mut scratch = NameScratch::new();
        let mut out = NormalizedName::default();
        b.iter(|| {
            let mut total = 0usize;
            for s in &input {
                normalize_name_into(s, &mut scratch, &mut out);
                total += out.phonetic_full.len();
            }
            black_box(total)
        })
    });

    group.bench_function("text", |b| {
        let mut scratch = TextScratch::new();
        let mut out = String::new();
        b.iter(|| {
            let mut total = 0usize;
            for s in &input {
                normalize_text_into(s, &mut scratch, &mut out);
                total += out.len();
            }
            black_box(total)
        })
    });

    group.bench_function("alphabet_encode", |b| {
        let normalized: Vec<String> =
            input.iter().map(|s| khop::normalize::text::normalize_text(s)).collect();
        let mut codes = Vec::new();
        b.iter(|| {
            let mut total = 0usize;
            for s in &normalized {
                alphabet::encode_into(s, &mut codes);
                total += codes.len();
            }
            black_box(total)
        })
    });

    let dates: Vec<String> = (0..input.len())
        .map(|i| match i % 3 {
            0 => format!("{:02}/{:02}/{}", i % 28 + 1, i % 12 + 1, 1940 + i % 80),
            1 => format!("{}-{:02}-{:02}", 1940 + i % 80, i % 12 + 1, i % 28 + 1),
            _ => format!("{}", 1940 + i % 80),
        })
        .collect();
    group.bench_function("date", |b| {
        b.iter(|| {
            let mut total = 0u32;
            for s in &dates {
                total += u32::from(parse_date(s).year.unwrap_or(0));
            }
            black_box(total)
        })
    });
    group.finish();

    // Check the answer: a fast wrong result must not pass.
    let mut scratch = NameScratch::new();
    let mut out = NormalizedName::default();
    normalize_name_into("An Nguyen Van", &mut scratch, &mut out);
    normalize_name_into("Van An Nguyen", &mut scratch, &mut out);
    assert_eq!(out.full, "nguyen van an");
}

criterion_group!(benches, bench);
criterion_main!(benches);
