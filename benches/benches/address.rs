//! Address parsing and resolution throughput, on synthetic addresses built
//! from the reference tables (house numbers plus real unit names: public
//! geography, no personal data).
//!
//! Run: `cargo bench -p khop-benches --bench address`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use khop::normalize::address::{AddressScratch, ParsedAddress, parse_address_into};

const LEGACY: &str = include_str!("../../engine/data/admin/legacy.tsv");
const CURRENT: &str = include_str!("../../engine/data/admin/current.tsv");

const STREETS: &[&str] = &["Lê Lợi", "Nguyễn Trãi", "Trần Hưng Đạo", "ngõ 34 phố Huế", "hẻm 12 Lê Văn Sỹ"];

fn kind_word(kind: &str, short: bool) -> &'static str {
    match (kind, short) {
        ("T", _) => "Tỉnh",
        ("TP", false) => "Thành phố",
        ("TP", true) => "TP.",
        ("Q", false) => "Quận",
        ("Q", true) => "Q.",
        ("H", false) => "Huyện",
        ("H", true) => "H.",
        ("TX", false) => "Thị xã",
        ("TX", true) => "TX.",
        ("P", false) => "Phường",
        ("P", true) => "P.",
        ("X", _) => "Xã",
        ("TT", false) => "Thị trấn",
        ("TT", true) => "TT.",
        ("DK", _) => "Đặc khu",
        _ => "",
    }
}

/// One address per legacy ward (full and abbreviated markers alternating)
/// and one per 2025 ward.
fn addresses() -> Vec<String> {
    let mut out = Vec::new();
    let rows = |tsv: &'static str| {
        tsv.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| l.split('\t').collect::<Vec<_>>())
    };
    let (mut province, mut district) = (("", ""), ("", ""));
    for (i, r) in rows(LEGACY).enumerate() {
        match r[0].len() {
            2 => province = (r[1], r[2]),
            3 => district = (r[1], r[2]),
            _ => {
                let short = i % 2 == 0;
                out.push(format!(
                    "{} {}, {} {}, {} {}, {} {}",
                    i % 300 + 1,
                    STREETS[i % STREETS.len()],
                    kind_word(r[1], short),
                    r[2],
                    kind_word(district.0, short),
                    district.1,
                    kind_word(province.0, short && province.0 == "TP"),
                    province.1
                ));
            }
        }
    }
    for (i, r) in rows(CURRENT).enumerate() {
        match r[0].len() {
            2 => province = (r[1], r[2]),
            _ => out.push(format!(
                "{}/{} {}, {} {}, {} {}",
                i % 200 + 1,
                i % 17 + 1,
                STREETS[i % STREETS.len()],
                kind_word(r[1], false),
                r[2],
                kind_word(province.0, false),
                province.1
            )),
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let inputs = addresses();
    let mut scratch = AddressScratch::default();
    let mut out = ParsedAddress::default();

    // Check the answer first: a fast wrong parser must not pass.
    let resolved = inputs
        .iter()
        .filter(|a| {
            parse_address_into(a, &mut scratch, &mut out);
            out.new.iter().any(|c| c.ward.is_some())
        })
        .count();
    let share = resolved as f64 / inputs.len() as f64;
    eprintln!("address: {} inputs, {:.2}% resolved to a 2025 ward", inputs.len(), 100.0 * share);
    assert!(share > 0.95, "only {:.2}% resolved", 100.0 * share);

    let mut g = c.benchmark_group("address");
    g.throughput(Throughput::Elements(inputs.len() as u64));
    g.bench_function("parse_address_into", |b| {
        b.iter(|| {
            for a in &inputs {
                parse_address_into(black_box(a), &mut scratch, &mut out);
                black_box(&out);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
