//! Side-by-side benchmark of khop's similarity kernels against Python rapidfuzz.
//!
//! `similarity_side_by_side generate DIR` writes synthetic Vietnamese name lists (never real
//! people: random combinations of common family, middle and given names) to `DIR`;
//! `similarity_side_by_side run DIR` scores every pair of `DIR/<set>_a.txt` x `DIR/<set>_b.txt`
//! with Jaro-Winkler and Levenshtein on one thread, prints pairs per second and writes
//! `DIR/rust_<set>_<metric>.txt` (timing, checksum and a sample of scores) so that
//! `similarity_vs_rapidfuzz.py` can check that both tools computed the same answers.
//!
//! Sets: `folded` (accents removed, ASCII), `accented` (NFC Vietnamese; Rust maps each distinct
//! character to one byte, a stand-in for the normalization module's compact alphabet) and
//! `long` (accented name plus address, 30-60 characters).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use khop::similarity;

const PAIRS_SIDE: usize = 2000;
/// Each measurement is the fastest of this many runs, for both tools: the machines are shared.
const REPEATS: usize = 5;
/// Calls per timed run. One call takes only a few milliseconds, shorter than the 4 ms steps in
/// which some virtual machines count thread CPU time; rapidfuzz's calls take 30 ms and more.
const CALLS_PER_RUN: usize = 10;
/// Every `SAMPLE_STRIDE`-th pair (row-major) is written out for an exact comparison.
const SAMPLE_STRIDE: usize = 997;

const FAMILY: [(&str, &str); 16] = [
    ("Nguyễn", "Nguyen"),
    ("Trần", "Tran"),
    ("Lê", "Le"),
    ("Phạm", "Pham"),
    ("Hoàng", "Hoang"),
    ("Huỳnh", "Huynh"),
    ("Phan", "Phan"),
    ("Vũ", "Vu"),
    ("Võ", "Vo"),
    ("Đặng", "Dang"),
    ("Bùi", "Bui"),
    ("Đỗ", "Do"),
    ("Hồ", "Ho"),
    ("Ngô", "Ngo"),
    ("Dương", "Duong"),
    ("Lý", "Ly"),
];
const MIDDLE: [(&str, &str); 12] = [
    ("Văn", "Van"),
    ("Thị", "Thi"),
    ("Hữu", "Huu"),
    ("Đức", "Duc"),
    ("Minh", "Minh"),
    ("Thanh", "Thanh"),
    ("Ngọc", "Ngoc"),
    ("Quang", "Quang"),
    ("Xuân", "Xuan"),
    ("Kim", "Kim"),
    ("Thu", "Thu"),
    ("Gia", "Gia"),
];
const GIVEN: [(&str, &str); 16] = [
    ("An", "An"),
    ("Bình", "Binh"),
    ("Hùng", "Hung"),
    ("Hoa", "Hoa"),
    ("Lan", "Lan"),
    ("Dũng", "Dung"),
    ("Phương", "Phuong"),
    ("Hà", "Ha"),
    ("Tâm", "Tam"),
    ("Nam", "Nam"),
    ("Linh", "Linh"),
    ("Tú", "Tu"),
    ("Hải", "Hai"),
    ("Mai", "Mai"),
    ("Sơn", "Son"),
    ("Yến", "Yen"),
];
const STREETS: [&str; 8] = [
    "Lê Lợi",
    "Trần Hưng Đạo",
    "Nguyễn Trãi",
    "Hai Bà Trưng",
    "Lý Thường Kiệt",
    "Phan Chu Trinh",
    "Quang Trung",
    "Điện Biên Phủ",
];
const WARDS: [&str; 6] =
    ["Phường Bến Nghé", "Phường 1", "Xã Tân Phú", "Phường Hàng Bạc", "Thị trấn Đông Anh", "Xã Hòa Phước"];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

/// One synthetic person: (accented, folded). Short names only: one middle name at most.
fn name(rng: &mut Rng) -> (String, String) {
    let f = rng.pick(&FAMILY);
    let g = rng.pick(&GIVEN);
    if rng.next().is_multiple_of(4) {
        (format!("{} {}", f.0, g.0), format!("{} {}", f.1, g.1))
    } else {
        let m = rng.pick(&MIDDLE);
        (format!("{} {} {}", f.0, m.0, g.0), format!("{} {} {}", f.1, m.1, g.1))
    }
}

fn long_record(rng: &mut Rng) -> String {
    loop {
        let (n, _) = name(rng);
        let s = format!("{}, {} {}, {}", n, rng.next() % 300 + 1, rng.pick(&STREETS), rng.pick(&WARDS));
        if (30..=60).contains(&s.chars().count()) {
            return s;
        }
    }
}

fn generate(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    for (side, seed) in [("a", 0x5EED_0001u64), ("b", 0x5EED_0002)] {
        let mut rng = Rng(seed);
        let (mut acc, mut fold, mut long) = (String::new(), String::new(), String::new());
        for _ in 0..PAIRS_SIDE {
            let (a, f) = name(&mut rng);
            writeln!(acc, "{a}")?;
            writeln!(fold, "{f}")?;
            writeln!(long, "{}", long_record(&mut rng))?;
        }
        std::fs::write(dir.join(format!("accented_{side}.txt")), acc)?;
        std::fs::write(dir.join(format!("folded_{side}.txt")), fold)?;
        std::fs::write(dir.join(format!("long_{side}.txt")), long)?;
    }
    Ok(())
}

fn read_lines(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text.lines().map(str::to_owned).collect())
}

/// Maps each distinct character to one byte, in order of first appearance.
/// Byte strings in one alphabet.
type Encoded = Vec<Vec<u8>>;

fn compact(a: &[String], b: &[String]) -> Result<(Encoded, Encoded)> {
    let mut alphabet: BTreeMap<char, u8> = BTreeMap::new();
    let mut encode = |list: &[String]| -> Result<Vec<Vec<u8>>> {
        list.iter()
            .map(|s| {
                s.chars()
                    .map(|c| {
                        let next = alphabet.len();
                        match alphabet.get(&c) {
                            Some(&b) => Ok(b),
                            None if next < 256 => {
                                alphabet.insert(c, next as u8);
                                Ok(next as u8)
                            }
                            None => bail!("more than 256 distinct characters"),
                        }
                    })
                    .collect()
            })
            .collect()
    };
    let ea = encode(a)?;
    let eb = encode(b)?;
    Ok((ea, eb))
}

fn run(dir: &Path) -> Result<()> {
    println!(
        "khop similarity, instruction set {:?}, one thread, {PAIRS_SIDE} x {PAIRS_SIDE} pairs, fastest of {REPEATS} runs of {CALLS_PER_RUN} calls (wall clock, and CPU time of the thread)",
        similarity::instruction_set()
    );
    for set in ["folded", "accented", "long"] {
        let a = read_lines(&dir.join(format!("{set}_a.txt")))?;
        let b = read_lines(&dir.join(format!("{set}_b.txt")))?;
        let (ea, eb) = if set == "folded" {
            (
                a.iter().map(|s| s.as_bytes().to_vec()).collect(),
                b.iter().map(|s| s.as_bytes().to_vec()).collect(),
            )
        } else {
            compact(&a, &b)?
        };
        let ra: Vec<&[u8]> = ea.iter().map(Vec::as_slice).collect();
        let rb: Vec<&[u8]> = eb.iter().map(Vec::as_slice).collect();
        let pairs = ra.len() * rb.len();
        let mean = ra.iter().map(|s| s.len()).sum::<usize>() as f64 / ra.len() as f64;
        let max = ra.iter().chain(&rb).map(|s| s.len()).max().unwrap_or(0);

        let mut jw = Vec::new();
        let secs = fastest(|| similarity::cdist_jaro_winkler(&ra, &rb, &mut jw));
        let sum: f64 = jw.iter().sum();
        let sample: Vec<String> = jw.iter().step_by(SAMPLE_STRIDE).map(|v| format!("{v:.17e}")).collect();
        report(dir, set, "jaro_winkler", pairs, secs, sum, &sample, mean, max)?;

        let mut lev = Vec::new();
        let secs = fastest(|| similarity::cdist_levenshtein(&ra, &rb, &mut lev));
        let sum = lev.iter().map(|&d| f64::from(d)).sum();
        let sample: Vec<String> = lev.iter().step_by(SAMPLE_STRIDE).map(u32::to_string).collect();
        report(dir, set, "levenshtein", pairs, secs, sum, &sample, mean, max)?;
    }
    Ok(())
}

/// CPU time of this thread in seconds (Linux `schedstat`), if available: on a shared, busy
/// machine it counts only the time the benchmark actually ran.
fn thread_cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

/// Wall and CPU seconds per call, from the fastest of `REPEATS` runs of `CALLS_PER_RUN` calls
/// (each call includes packing the choices).
fn fastest(mut f: impl FnMut()) -> (f64, f64) {
    let mut best = (f64::INFINITY, f64::INFINITY);
    for _ in 0..REPEATS {
        let c = thread_cpu_seconds();
        let t = Instant::now();
        for _ in 0..CALLS_PER_RUN {
            f();
        }
        let wall = t.elapsed().as_secs_f64();
        let cpu = match (c, thread_cpu_seconds()) {
            (Some(a), Some(b)) => b - a,
            _ => wall,
        };
        best = (best.0.min(wall), best.1.min(cpu));
    }
    let calls = CALLS_PER_RUN as f64;
    (best.0 / calls, best.1 / calls)
}

#[allow(clippy::too_many_arguments)]
fn report(
    dir: &Path,
    set: &str,
    metric: &str,
    pairs: usize,
    (secs, cpu): (f64, f64),
    sum: f64,
    sample: &[String],
    mean: f64,
    max: usize,
) -> Result<()> {
    println!(
        "rust  {set:9} {metric:13} mean len {mean:5.1} max {max:3}  wall {:7.1} M pairs/s  cpu {:7.1} M pairs/s  (checksum {sum:.9})",
        pairs as f64 / secs / 1e6,
        pairs as f64 / cpu / 1e6,
    );
    let mut out = format!("pairs {pairs}\nseconds {secs:e}\ncpu {cpu:e}\nsum {sum:.17e}\n");
    for s in sample {
        writeln!(out, "{s}")?;
    }
    std::fs::write(dir.join(format!("rust_{set}_{metric}.txt")), out)?;
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match (args.get(1).map(String::as_str), args.get(2)) {
        (Some("generate"), Some(dir)) => generate(Path::new(dir)),
        (Some("run"), Some(dir)) => run(Path::new(dir)),
        _ => bail!("usage: similarity_side_by_side (generate|run) DIR"),
    }
}
