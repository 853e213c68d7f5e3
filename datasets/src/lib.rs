//! Synthetic Vietnamese identity records, for demos, tests and benchmarks.
//!
//! Nothing here is real personal data: names are drawn from lists of common family, middle and
//! given names, and ids, dates, phones and addresses are random.
//!
//! - [`population`]: the population generator (`khop gen`): households of true people, the
//!   national table and sector tables derived from them with their own conventions and errors
//!   ([`profile`]: built-in `default`, `hard` (about three times the default rates) and `wild`
//!   (every kind of error at moderate rates), or a TOML file), and the ground truth (who each row
//!   is, true links, injected corruptions).
//! - [`febrl`]: a loader for the FEBRL 1-4 benchmark files with their true links.
//! - [`SampleGenerator`]: a small sample table for `khop demo` and the ingest benchmark.

mod corrupt;
pub mod febrl;
mod geo;
mod names;
pub mod population;
pub mod profile;

pub use corrupt::is_content_corruption;
pub use names::family_name_share;
pub use population::{GenOptions, GenReport, OutputFormat, generate};
pub use profile::Profile;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Family names with their approximate share of the population (domain notes), in percent.
pub const FAMILY_NAMES: &[(&str, f64)] = &[
    ("Nguyễn", 38.0),
    ("Trần", 11.0),
    ("Lê", 9.5),
    ("Phạm", 7.0),
    ("Hoàng", 3.0),
    ("Huỳnh", 2.0),
    ("Phan", 4.5),
    ("Vũ", 2.0),
    ("Võ", 2.0),
    ("Đặng", 2.1),
    ("Bùi", 2.0),
    ("Đỗ", 1.4),
    ("Hồ", 1.3),
    ("Ngô", 1.3),
    ("Dương", 1.0),
    ("Lý", 0.5),
    ("Đinh", 0.8),
    ("Trịnh", 0.5),
    ("Lâm", 0.4),
    ("Mai", 0.4),
];

const MALE_MIDDLE: &[&str] =
    &["Văn", "Văn", "Văn", "Hữu", "Đức", "Công", "Quang", "Minh", "Thanh", "Xuân", "Gia"];
const FEMALE_MIDDLE: &[&str] = &["Thị", "Thị", "Thị", "Ngọc", "Thu", "Kim", "Thanh", "Minh", "Bảo", "Xuân"];
const MALE_GIVEN: &[&str] = &[
    "An", "Bình", "Cường", "Dũng", "Đức", "Hải", "Hùng", "Huy", "Khánh", "Long", "Minh", "Nam", "Phong",
    "Quân", "Sơn", "Thắng", "Thành", "Trung", "Tuấn", "Việt", "Hoà", "Quý", "Thuỵ", "Kỳ", "Sỹ",
];
const FEMALE_GIVEN: &[&str] = &[
    "An", "Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai", "My", "Nga",
    "Ngọc", "Nhung", "Phương", "Thảo", "Trang", "Vy", "Yến", "Thuỷ", "Hoà", "Mỹ", "Ly",
];
/// 2-digit province codes of the 63-province era used as the CCCD prefix `0PP`.
const PROVINCES: &[(&str, &str)] = &[
    ("01", "Hà Nội"),
    ("79", "TP. Hồ Chí Minh"),
    ("31", "Hải Phòng"),
    ("48", "Đà Nẵng"),
    ("92", "Cần Thơ"),
    ("38", "Thanh Hoá"),
    ("40", "Nghệ An"),
    ("74", "Bình Dương"),
    ("75", "Đồng Nai"),
    ("27", "Bắc Ninh"),
];
const STREETS: &[&str] =
    &["Lê Lợi", "Trần Hưng Đạo", "Nguyễn Huệ", "Hai Bà Trưng", "Lý Thường Kiệt", "Quang Trung"];

/// Columns of the sample table, in the order written.
pub const SAMPLE_COLUMNS: &[&str] =
    &["ma_ho_so", "ho_ten", "ngay_sinh", "gioi_tinh", "so_cccd", "so_dien_thoai", "dia_chi", "ho_ten_me"];

/// Options of the sample table.
#[derive(Clone, Copy, Debug)]
pub struct SampleOptions {
    /// Rows to write.
    pub rows: u64,
    /// Seed of the random generator: the same seed gives the same file.
    pub seed: u64,
    /// Share of rows with typing variations (accents dropped, upper case, other date forms,
    /// dotted ids).
    pub messy: f64,
    /// Share of rows broken on purpose (ragged lines), to show rejects.
    pub broken: f64,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions { rows: 10_000, seed: 42, messy: 0.3, broken: 0.001 }
    }
}

/// One synthetic record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleRecord {
    /// Values in [`SAMPLE_COLUMNS`] order.
    pub values: [String; 8],
}

/// A deterministic stream of synthetic records.
pub struct SampleGenerator {
    rng: StdRng,
    options: SampleOptions,
    family_total: f64,
    row: u64,
}

impl SampleGenerator {
    /// A generator for `options`.
    pub fn new(options: SampleOptions) -> Self {
        SampleGenerator {
            rng: StdRng::seed_from_u64(options.seed),
            options,
            family_total: FAMILY_NAMES.iter().map(|(_, share)| share).sum(),
            row: 0,
        }
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.rng.random_range(0..items.len())]
    }

    fn family_name(&mut self) -> &'static str {
        let mut target = self.rng.random_range(0.0..self.family_total);
        for (name, share) in FAMILY_NAMES {
            if target < *share {
                return name;
            }
            target -= share;
        }
        FAMILY_NAMES[0].0
    }

    /// The next record; `None` after `options.rows`.
    pub fn next_record(&mut self) -> Option<SampleRecord> {
        if self.row >= self.options.rows {
            return None;
        }
        self.row += 1;
        let female = self.rng.random_bool(0.5);
        let family = self.family_name();
        let (middle, given) = if female {
            (self.pick(FEMALE_MIDDLE), self.pick(FEMALE_GIVEN))
        } else {
            (self.pick(MALE_MIDDLE), self.pick(MALE_GIVEN))
        };
        let mother =
            format!("{} {} {}", self.family_name(), self.pick(FEMALE_MIDDLE), self.pick(FEMALE_GIVEN));
        let year: u32 = self.rng.random_range(1935..=2024);
        let month: u32 = self.rng.random_range(1..=12);
        let day: u32 = self.rng.random_range(1..=28);
        let (code, province) = PROVINCES[self.rng.random_range(0..PROVINCES.len())];
        let century_sex = (year / 100 - 19) * 2 + u32::from(female);
        let cccd = format!("0{code}{century_sex}{:02}{:06}", year % 100, self.rng.random_range(0..1_000_000));
        let phone =
            format!("0{}{:08}", self.pick(&["3", "5", "7", "8", "9"]), self.rng.random_range(0..100_000_000));
        let address = format!(
            "{} {}, Phường {}, {}",
            self.rng.random_range(1..300),
            self.pick(STREETS),
            self.rng.random_range(1..15),
            province
        );
        let mut name = format!("{family} {middle} {given}");
        let mut date = format!("{day:02}/{month:02}/{year}");
        let mut id = cccd;
        let mut sex = if female { "Nữ".to_owned() } else { "Nam".to_owned() };
        if self.rng.random_bool(self.options.messy) {
            match self.rng.random_range(0..5) {
                0 => name = fold(&name),
                1 => name = name.to_uppercase(),
                2 => date = format!("{year}-{month:02}-{day:02}"),
                3 => id = format!("{}.{}.{}", &id[..3], &id[3..6], &id[6..]),
                _ => sex = fold(&sex),
            }
        }
        Some(SampleRecord {
            values: [format!("HS{:09}", self.row), name, date, sex, id, phone, address, mother],
        })
    }

    /// Whether the record just produced should be written broken.
    fn broken(&mut self) -> bool {
        self.rng.random_bool(self.options.broken)
    }
}

/// Drops Vietnamese diacritics from the letters this generator uses (an ASCII-only spelling, as
/// typed on keyboards without a Vietnamese input method).
pub fn fold(text: &str) -> String {
    const FROM: &str = "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴĐ";
    const TO: &str = "aaaaaaaaaaaaaaaaaeeeeeeeeeeeiiiiiooooooooooooooooouuuuuuuuuuuyyyyydAAAAAAAAAAAAAAAAAEEEEEEEEEEEIIIIIOOOOOOOOOOOOOOOOOUUUUUUUUUUUYYYYYD";
    text.chars()
        .map(|c| FROM.chars().position(|f| f == c).and_then(|i| TO.chars().nth(i)).unwrap_or(c))
        .collect()
}

/// Writes a sample CSV table; returns the number of data rows written (broken ones included).
pub fn write_sample_csv(path: &Path, options: SampleOptions) -> std::io::Result<u64> {
    let mut out = csv::WriterBuilder::new().flexible(true).from_writer(BufWriter::new(File::create(path)?));
    out.write_record(SAMPLE_COLUMNS)?;
    let mut generator = SampleGenerator::new(options);
    let mut rows = 0;
    while let Some(record) = generator.next_record() {
        if generator.broken() {
            // A line with a field missing: a reader must reject it and say where.
            out.write_record(&record.values[..record.values.len() - 1])?;
        } else {
            out.write_record(&record.values)?;
        }
        rows += 1;
    }
    out.flush()?;
    out.into_inner().map_err(|e| e.into_error())?.flush()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_consistent() {
        let options = SampleOptions { rows: 200, seed: 7, messy: 0.0, broken: 0.0 };
        let a: Vec<_> = std::iter::from_fn({
            let mut g = SampleGenerator::new(options);
            move || g.next_record()
        })
        .collect();
        let b: Vec<_> = std::iter::from_fn({
            let mut g = SampleGenerator::new(options);
            move || g.next_record()
        })
        .collect();
        assert_eq!(a, b);
        assert_eq!(a.len(), 200);
        for record in &a {
            let id = &record.values[4];
            let date = &record.values[2];
            assert_eq!(id.len(), 12);
            // CCCD digits 5-6 are the birth year's last two digits.
            assert_eq!(&id[4..6], &date[8..10]);
            let female = record.values[3] == "Nữ";
            let g = id[3..4].parse::<u32>().unwrap();
            assert_eq!(g % 2 == 1, female);
        }
    }

    #[test]
    fn fold_drops_marks() {
        assert_eq!(fold("Đặng Thị Thuỷ"), "Dang Thi Thuy");
    }
}
