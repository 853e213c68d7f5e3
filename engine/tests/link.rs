//! Linking end to end on generated records: accuracy floor, equality with brute-force scoring of
//! the same rules, and the same answer for any thread count.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use khop::link::Decision;
use khop::link::linker::{LinkSettings, Linker};
use khop::normalize::prepared::PreparedRecords;
use khop::read::Batch;
use khop::{ColumnSpec, DatasetSpec, Role};

const COLUMNS: [(&str, Role); 7] = [
    ("id", Role::Text),
    ("ho_ten", Role::FullName),
    ("ngay_sinh", Role::DateOfBirth),
    ("gioi_tinh", Role::Sex),
    ("cccd", Role::NationalId),
    ("dia_chi", Role::Address),
    ("ho_ten_me", Role::MotherName),
];

fn spec() -> DatasetSpec {
    DatasetSpec {
        id_column: Some("id".into()),
        columns: COLUMNS[1..].iter().map(|(n, r)| ColumnSpec::new(*n, *r)).collect(),
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self, m: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % m as u64) as usize
    }
}

const FAMILY: [&str; 8] = ["Nguyễn", "Nguyễn", "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh"];
const MIDDLE: [&str; 6] = ["Văn", "Thị", "Hữu", "Ngọc", "Minh", "Thanh"];
const GIVEN: [&str; 16] = [
    "An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Hoa", "Lan", "Linh", "Mai", "Nam", "Phương", "Quân",
    "Thảo", "Trang", "Hoà",
];
const PLACES: [&str; 4] = [
    "Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh",
    "Phường Trúc Bạch, Quận Ba Đình, Hà Nội",
    "Xã An Bình, Huyện Phú Giáo, Tỉnh Bình Dương",
    "Phường Hải Châu I, Quận Hải Châu, Đà Nẵng",
];

type Row = [Option<String>; 7];

/// People: (national row, and a messier sector copy).
fn people(n: usize, rng: &mut Rng) -> Vec<(Row, Row)> {
    (0..n)
        .map(|i| {
            let female = rng.next(2) == 1;
            let name = format!("{} {} {}", FAMILY[rng.next(8)], MIDDLE[rng.next(6)], GIVEN[rng.next(16)]);
            let year = 1950 + rng.next(60);
            let (month, day) = (1 + rng.next(12), 1 + rng.next(28));
            let cccd = format!(
                "0{:02}{}{:02}{:06}",
                1 + rng.next(90),
                u8::from(female),
                year % 100,
                rng.next(1_000_000)
            );
            let mother = format!("{} Thị {}", FAMILY[rng.next(8)], GIVEN[rng.next(16)]);
            let place = PLACES[rng.next(4)];
            let national: Row = [
                Some(format!("N{i}")),
                Some(name.clone()),
                Some(format!("{day:02}/{month:02}/{year}")),
                Some(if female { "Nữ" } else { "Nam" }.into()),
                Some(cccd.clone()),
                Some(place.into()),
                Some(mother.clone()),
            ];
            // The sector copy: accents dropped, other date layouts, a missing id, a typo...
            let mut sector = national.clone();
            sector[0] = Some(format!("S{i}"));
            match rng.next(6) {
                0 => sector[1] = Some(khop::normalize::text::fold_accents(&name)),
                1 => sector[2] = Some(format!("{year}-{month:02}-{day:02}")),
                2 => sector[4] = None,
                3 => sector[2] = Some(year.to_string()),
                4 => sector[1] = Some(name.to_uppercase()),
                _ => sector[6] = None,
            }
            (national, sector)
        })
        .collect()
}

fn prepare(rows: &[Row], batch_size: usize) -> PreparedRecords {
    let batches = rows.chunks(batch_size).enumerate().map(|(b, chunk)| {
        let columns: Vec<(&str, ArrayRef)> = COLUMNS
            .iter()
            .enumerate()
            .map(|(c, (name, _))| {
                let values: StringArray = chunk.iter().map(|r| r[c].as_deref()).collect();
                (*name, Arc::new(values) as ArrayRef)
            })
            .collect();
        let first = (b * batch_size) as u64 + 1;
        Ok(Batch {
            records: RecordBatch::try_from_iter(columns).expect("batch"),
            rows: (first..first + chunk.len() as u64).collect(),
            rejects: Vec::new(),
        })
    });
    PreparedRecords::from_batches(&spec(), batches).expect("prepare")
}

/// 1,500 citizens; the sector table holds 600 of them plus 100 people the national table lacks.
fn tables() -> (PreparedRecords, PreparedRecords, Vec<Option<u32>>) {
    tables_with(97)
}

fn tables_with(batch_size: usize) -> (PreparedRecords, PreparedRecords, Vec<Option<u32>>) {
    let mut rng = Rng(42);
    let population = people(1_600, &mut rng);
    let national: Vec<Row> = population[..1_500].iter().map(|p| p.0.clone()).collect();
    let mut sector = Vec::new();
    let mut truth = Vec::new();
    for (i, person) in population.iter().enumerate() {
        if i % 5 < 2 || i >= 1_500 {
            sector.push(person.1.clone());
            truth.push((i < 1_500).then_some(i as u32));
        }
    }
    (prepare(&sector, batch_size), prepare(&national, 128), truth)
}

fn settings() -> LinkSettings {
    LinkSettings { random_pairs: 100_000, ..LinkSettings::default() }
}

#[test]
fn unsupervised_linkage_is_accurate() {
    let (sector, national, truth) = tables();
    let linker = Linker::new(&sector, &national, settings()).unwrap();
    let (model, training) = linker.train().unwrap();
    assert!(!training.sessions.is_empty());
    let (results, report) = linker.link(&model).unwrap();
    assert_eq!(results.len(), sector.len());
    assert!(report.pairs_scored > 0);
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    for (result, truth) in results.iter().zip(&truth) {
        let predicted = (result.decision == Decision::Match).then(|| result.best.map(|b| b.right)).flatten();
        match (predicted, truth) {
            (Some(p), Some(t)) if p == *t => tp += 1,
            (Some(_), Some(_)) => {
                fp += 1;
                fn_ += 1;
            }
            (Some(_), None) => fp += 1,
            (None, Some(_)) => fn_ += 1,
            (None, None) => {}
        }
    }
    let precision = tp as f64 / (tp + fp) as f64;
    let recall = tp as f64 / (tp + fn_) as f64;
    let f1 = 2.0 * precision * recall / (precision + recall);
    assert!(f1 >= 0.97, "precision {precision:.4}, recall {recall:.4}, F1 {f1:.4}");
}

#[test]
fn blocked_linking_equals_brute_force_on_the_same_rules() {
    let (sector, national, _) = tables();
    let linker = Linker::new(&sector, &national, settings()).unwrap();
    let (model, _) = linker.train().unwrap();
    let (results, _) = linker.link(&model).unwrap();
    for (a, result) in results.iter().enumerate().step_by(7) {
        let a = a as u32;
        let candidates: Vec<(u32, u32)> = (0..national.len() as u32)
            .filter(|&b| linker.rules().iter().any(|r| r.matches(&sector, a, &national, b)))
            .map(|b| (a, b))
            .collect();
        let weights = linker.score_pairs(&model, &candidates).unwrap();
        let best = candidates
            .iter()
            .zip(&weights)
            .max_by(|x, y| x.1.total_cmp(y.1).then(y.0.1.cmp(&x.0.1)))
            .map(|(pair, w)| (pair.1, *w));
        assert_eq!(result.best.map(|b| (b.right, b.weight)), best, "sector record {a}");
    }
}

#[test]
fn thread_count_and_batch_size_do_not_change_links() {
    let run = |threads: usize, batch: usize| {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| {
            let (sector, national, _) = tables_with(batch);
            let linker = Linker::new(&sector, &national, settings()).unwrap();
            let (model, _) = linker.train().unwrap();
            let (results, _) = linker.link(&model).unwrap();
            (
                model.to_json(),
                results
                    .iter()
                    .map(|r| (r.best.map(|b| (b.right, b.weight.to_bits())), r.decision))
                    .collect::<Vec<_>>(),
            )
        })
    };
    let one = run(1, 97);
    assert_eq!(one, run(4, 13));
}

/// An EM session must not learn `m` of a comparison its own rule decided: every pair of a
/// `name_tokens+birth_year` block agrees on the name, and counting that as evidence made such
/// sessions converge to "all matches" (and a different CCCD to a weak -1.7 bits).
#[test]
fn each_session_leaves_out_the_comparisons_its_rule_decides() {
    let (sector, national, _) = tables();
    let linker = Linker::new(&sector, &national, settings()).unwrap();
    let data = linker.training_data().unwrap();
    let names: Vec<&str> = linker.comparisons().comparisons().iter().map(|c| c.name()).collect();
    let index = |name: &str| names.iter().position(|n| *n == name).unwrap_or_else(|| panic!("{name}"));
    assert!(!data.sessions.is_empty());
    for session in &data.sessions {
        let mut want = Vec::new();
        for key in session.name.split('+') {
            match key {
                "full_name"
                | "family_name"
                | "given_name"
                | "middle_name"
                | "name_tokens"
                | "phonetic_full_name"
                | "phonetic_given_name" => want.push(index("name")),
                "date_of_birth" | "birth_year" => want.extend([index("date_of_birth")]),
                "birth_day_month" => want.push(index("date_of_birth")),
                "national_id" | "old_id" => want.push(index("national_id")),
                "province" | "ward" => want.push(index("address")),
                "phone" => want.push(index("phone")),
                "father_name" => want.push(index("father_name")),
                "mother_name" => want.push(index("mother_name")),
                other => panic!("rule key {other} not covered by this test"),
            }
        }
        for c in want {
            assert!(
                session.blocked_on.contains(&c),
                "{}: `{}` is decided by the rule",
                session.name,
                names[c]
            );
        }
    }
}
