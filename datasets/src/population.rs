//! The population generator: true people in households, the sources derived from them with
//! their conventions and errors, and the ground truth (`khop gen`).
//!
//! Households are generated in chunks; each household's random generator is seeded from
//! `(seed, household index)` only, chunks are generated in parallel a window at a time and written
//! in order, so the output is byte-identical for any thread count and memory stays bounded.
//!
//! Files written to the output directory (`.parquet` or `.csv`):
//! - `persons`: the true people (clean values, household, namesake group);
//! - one table per source (`national`, `bhxh`, ...), each with its own columns;
//! - `truth_<source>.csv` (`row_id,person_id`): who each row is; it is also the cluster truth
//!   for deduplication;
//! - `links_<source>.csv` (`row_id,national_row_id`) for every source but the national one;
//! - `corruptions_<source>.csv` (`row_id,field,kind`): each corruption that changed a value.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field as ArrowField, Schema, SchemaRef};
use khop::normalize::text::LegacyEncoding;
use khop::read::Format;
use khop::write::{WriteOptions, Writer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use crate::corrupt;
use crate::geo::{AddressForm, GEO, Residence};
use crate::names::NAMES;
use crate::profile::{Profile, SourceKind, SourceProfile};

/// Errors of a generation run (file system, writers).
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The year the data describes: ages are counted to it.
pub const REFERENCE_YEAR: u16 = 2025;

/// Options of a generation run.
#[derive(Clone, Debug)]
pub struct GenOptions {
    /// People to generate.
    pub persons: u64,
    /// Seed: the same seed and profile give the same files, whatever the thread count.
    pub seed: u64,
    /// Output format of the tables (truth files are always CSV).
    pub format: OutputFormat,
    /// Households per chunk (the unit of parallel work).
    pub chunk_households: u64,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions { persons: 10_000, seed: 42, format: OutputFormat::Parquet, chunk_households: 512 }
    }
}

/// Table format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// Parquet, zstd.
    Parquet,
    /// CSV with a header.
    Csv,
}

impl OutputFormat {
    fn ext(self) -> &'static str {
        match self {
            OutputFormat::Parquet => "parquet",
            OutputFormat::Csv => "csv",
        }
    }
}

/// What a run wrote.
#[derive(Clone, Debug)]
pub struct GenReport {
    /// People written.
    pub persons: u64,
    /// Households started (the last may be cut short).
    pub households: u64,
    /// Rows per source, in profile order.
    pub rows: Vec<(String, u64)>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// A field of a source row, as named in `corruptions_<source>.csv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Name,
    Dob,
    Sex,
    Id,
    Cmnd,
    Phone,
    Address,
    Hometown,
    Father,
    Mother,
}

impl Field {
    fn as_str(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Dob => "date_of_birth",
            Field::Sex => "sex",
            Field::Id => "national_id",
            Field::Cmnd => "cmnd",
            Field::Phone => "phone",
            Field::Address => "address",
            Field::Hometown => "hometown",
            Field::Father => "father_name",
            Field::Mother => "mother_name",
        }
    }
}

/// Columns of a source kind: the row id column, then (column, field).
fn layout(kind: SourceKind) -> (&'static str, &'static str, &'static [(&'static str, Field)]) {
    use Field::*;
    match kind {
        SourceKind::National => (
            "ma_cong_dan",
            "CD",
            &[
                ("so_dinh_danh", Id),
                ("ho_va_ten", Name),
                ("ngay_sinh", Dob),
                ("gioi_tinh", Sex),
                ("que_quan", Hometown),
                ("noi_thuong_tru", Address),
                ("ho_ten_cha", Father),
                ("ho_ten_me", Mother),
                ("so_cmnd", Cmnd),
                ("so_dien_thoai", Phone),
            ],
        ),
        SourceKind::Bhxh => (
            "ma_so_bhxh",
            "XH",
            &[
                ("ho_ten", Name),
                ("ngay_sinh", Dob),
                ("gioi_tinh", Sex),
                ("so_cccd", Id),
                ("dien_thoai", Phone),
                ("dia_chi", Address),
            ],
        ),
        SourceKind::Bhyt => (
            "MA_THE",
            "YT",
            &[
                ("HO_TEN", Name),
                ("NGAY_SINH", Dob),
                ("GIOI_TINH", Sex),
                ("SO_DDCN", Id),
                ("DIA_CHI", Address),
            ],
        ),
        SourceKind::Education => (
            "ma_hoc_sinh",
            "GD",
            &[
                ("ho_ten_hoc_sinh", Name),
                ("ngay_sinh", Dob),
                ("gioi_tinh", Sex),
                ("so_dinh_danh", Id),
                ("ho_ten_cha", Father),
                ("ho_ten_me", Mother),
                ("dia_chi_thuong_tru", Address),
            ],
        ),
        SourceKind::Land => (
            "so_gcn",
            "DD",
            &[("chu_su_dung", Name), ("nam_sinh", Dob), ("so_giay_to", Id), ("dia_chi_thuong_tru", Address)],
        ),
        SourceKind::Local => (
            "so_dang_ky",
            "HT",
            &[
                ("ho_ten", Name),
                ("ngay_sinh", Dob),
                ("gioi_tinh", Sex),
                ("so_giay_to", Id),
                ("que_quan", Hometown),
                ("noi_cu_tru", Address),
                ("ho_ten_cha", Father),
                ("ho_ten_me", Mother),
            ],
        ),
    }
}

/// Column names of a source's table, row id first.
pub fn source_columns(kind: SourceKind) -> Vec<&'static str> {
    let (id, _, cols) = layout(kind);
    std::iter::once(id).chain(cols.iter().map(|(c, _)| *c)).collect()
}

/// Columns of the persons table.
pub const PERSON_COLUMNS: &[&str] = &[
    "person_id",
    "household_id",
    "family_name",
    "middle_name",
    "given_name",
    "full_name",
    "sex",
    "date_of_birth",
    "national_id",
    "cmnd",
    "phone",
    "address",
    "address_2025",
    "previous_address",
    "hometown",
    "father_name",
    "mother_name",
    "namesake_group",
];

fn eligible(kind: SourceKind, age: u16) -> bool {
    match kind {
        SourceKind::Bhxh => (18..=65).contains(&age),
        SourceKind::Education => (3..=24).contains(&age),
        SourceKind::Land => age >= 25,
        _ => true,
    }
}

/// A true person.
#[derive(Clone, Debug)]
struct Person {
    family: &'static str,
    middles: Vec<&'static str>,
    given: &'static str,
    female: bool,
    year: u16,
    month: u8,
    day: u8,
    year_only: bool,
    cccd: String,
    cmnd: Option<String>,
    phone: Option<String>,
    home: Residence,
    previous: Option<Residence>,
    hometown: u32,
    father: String,
    mother: String,
    household: u64,
    namesake: Option<u32>,
}

impl Person {
    fn full_name(&self) -> String {
        let mut s = String::with_capacity(32);
        s.push_str(self.family);
        for m in &self.middles {
            s.push(' ');
            s.push_str(m);
        }
        s.push(' ');
        s.push_str(self.given);
        s
    }

    fn age(&self) -> u16 {
        REFERENCE_YEAR.saturating_sub(self.year)
    }
}

/// SplitMix64: seeds for independent streams from (seed, index).
pub(crate) fn mix(seed: u64, index: u64) -> u64 {
    let mut z = seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(0x632B_E59B_D9B4_E019);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const NAMESAKE_SALT: u64 = 0x6e61_6d65_7361_6b65;

fn days_in_month(y: u16, m: u8) -> u8 {
    khop::normalize::date::days_in_month(y, m)
}

fn random_residence<R: Rng>(rng: &mut R, province: Option<u32>) -> Residence {
    let g = &*GEO;
    let ward = match province.map(|p| g.province_wards[p as usize].clone()).filter(|r| !r.is_empty()) {
        Some(r) => rng.random_range(r),
        None => rng.random_range(0..g.wards.len() as u32),
    };
    let street = match g.wards[ward as usize].kind {
        "P" => {
            let s = NAMES.streets[rng.random_range(0..NAMES.streets.len())];
            match rng.random_range(0..4) {
                0 => format!("Số {} ngõ {} {s}", rng.random_range(1..80), rng.random_range(1..200)),
                1 => format!("{}/{} {s}", rng.random_range(1..400), rng.random_range(1..60)),
                _ => format!("{} {s}", rng.random_range(1..400)),
            }
        }
        "TT" => format!("Tổ dân phố {}", rng.random_range(1..20)),
        _ => {
            let word = ["Thôn", "Xóm", "Ấp", "Bản"][rng.random_range(0..4)];
            format!("{word} {}", rng.random_range(1..15))
        }
    };
    let successors = g.successors[ward as usize].len();
    Residence { street, ward, successor: rng.random_range(0..successors.min(255)) as u8 }
}

fn pick_name<R: Rng>(rng: &mut R, female: bool) -> (Vec<&'static str>, &'static str) {
    let n = &*NAMES;
    let (mid, giv) =
        if female { (&n.middle_female, &n.given_female) } else { (&n.middle_male, &n.given_male) };
    let count = match rng.random_range(0..100) {
        0..8 => 0,
        8..85 => 1,
        _ => 2,
    };
    let mut middles = Vec::with_capacity(count);
    for _ in 0..count {
        let m = mid.pick(rng);
        if !middles.contains(&m) {
            middles.push(m);
        }
    }
    (middles, giv.pick(rng))
}

fn parent_name<R: Rng>(rng: &mut R, family: &'static str, female: bool) -> String {
    let (middles, given) = pick_name(rng, female);
    let mut s = family.to_owned();
    for m in middles {
        s.push(' ');
        s.push_str(m);
    }
    s.push(' ');
    s.push_str(given);
    s
}

struct Template {
    family: &'static str,
    middles: Vec<&'static str>,
    given: &'static str,
    female: bool,
    year: u16,
    province: u32,
}

fn template(seed: u64, k: u32) -> Template {
    let mut rng = StdRng::seed_from_u64(mix(seed ^ NAMESAKE_SALT, u64::from(k)));
    let female = rng.random_bool(0.5);
    let family = NAMES.family.pick(&mut rng);
    let (middles, given) = pick_name(&mut rng, female);
    let year = rng.random_range(1945..=1995);
    let province = rng.random_range(0..GEO.legacy_provinces.len() as u32);
    Template { family, middles, given, female, year, province }
}

struct Ctx<'a> {
    profile: &'a Profile,
    seed: u64,
    namesake_groups: u32,
}

#[allow(clippy::too_many_arguments)]
fn make_person<R: Rng>(
    ctx: &Ctx<'_>,
    rng: &mut R,
    household: u64,
    family: &'static str,
    female: bool,
    year: u16,
    home: &Residence,
    previous: &Option<Residence>,
    hometown: u32,
    birth_province: u32,
    father: String,
    mother: String,
) -> Person {
    let pop = &ctx.profile.population;
    let (middles, given) = pick_name(rng, female);
    let month = rng.random_range(1..=12u8);
    let day = rng.random_range(1..=days_in_month(year, month));
    let year_only = year < 1960 && rng.random_bool(pop.year_only_before_1960);
    let code = GEO.province_code(birth_province);
    let g = (year / 100).saturating_sub(19) * 2 + u16::from(female);
    let cccd = format!("{code:03}{g}{:02}{:06}", year % 100, rng.random_range(0..1_000_000u32));
    let cmnd = (year <= 2007 && rng.random_bool(pop.cmnd_adults))
        .then(|| format!("{:02}{:07}", code % 38 + 1, rng.random_range(0..10_000_000u32)));
    let phone = (REFERENCE_YEAR.saturating_sub(year) >= 15 && rng.random_bool(pop.phone)).then(|| {
        const PREFIXES: &[&str] = &[
            "032", "033", "034", "035", "036", "037", "038", "039", "056", "058", "059", "070", "076", "077",
            "078", "079", "081", "082", "083", "084", "085", "086", "088", "089", "090", "091", "093", "094",
            "096", "097", "098",
        ];
        format!("{}{:07}", PREFIXES[rng.random_range(0..PREFIXES.len())], rng.random_range(0..10_000_000u32))
    });
    let _ = ctx.seed;
    Person {
        family,
        middles,
        given,
        female,
        year,
        month,
        day,
        year_only,
        cccd,
        cmnd,
        phone,
        home: home.clone(),
        previous: previous.clone(),
        hometown,
        father,
        mother,
        household,
        namesake: None,
    }
}

/// Generates household `h`.
fn household(ctx: &Ctx<'_>, h: u64, out: &mut Vec<Person>) {
    let pop = &ctx.profile.population;
    let mut rng = StdRng::seed_from_u64(mix(ctx.seed, h));
    let g = &*GEO;
    let namesake = (ctx.namesake_groups > 0 && rng.random_bool(pop.namesakes))
        .then(|| rng.random_range(0..ctx.namesake_groups));
    let tpl = namesake.map(|k| template(ctx.seed, k));
    let home_province = tpl.as_ref().map(|t| t.province);
    let home = random_residence(&mut rng, home_province);
    let province = g.province_of_ward(home.ward);
    let previous = rng.random_bool(pop.moved).then(|| {
        let same = rng.random_bool(0.4).then_some(province);
        random_residence(&mut rng, same)
    });
    let hometown_of = |rng: &mut StdRng| {
        let same = rng.random_bool(0.5).then_some(province);
        random_residence(rng, same).ward
    };
    let single = rng.random_bool(pop.single_households);
    let start = out.len();
    let adult_birth = |rng: &mut StdRng, hometown: u32| {
        if rng.random_bool(0.7) { g.province_of_ward(hometown) } else { province }
    };
    if single {
        let female = tpl.as_ref().map_or_else(|| rng.random_bool(0.5), |t| t.female);
        let year = tpl.as_ref().map_or_else(|| rng.random_range(1930..=2005), |t| t.year);
        let family = tpl.as_ref().map_or_else(|| NAMES.family.pick(&mut rng), |t| t.family);
        let hometown = hometown_of(&mut rng);
        let bp = if tpl.is_some() { province } else { adult_birth(&mut rng, hometown) };
        let father = parent_name(&mut rng, family, false);
        let mother = {
            let f = NAMES.family.pick(&mut rng);
            parent_name(&mut rng, f, true)
        };
        out.push(make_person(
            ctx, &mut rng, h, family, female, year, &home, &previous, hometown, bp, father, mother,
        ));
    } else {
        let father_year: u16 = rng.random_range(1935..=2000);
        let mother_year = (father_year + rng.random_range(0..8)).saturating_sub(3).min(2003);
        let (fy, my) = match &tpl {
            Some(t) if t.female => (father_year, t.year),
            Some(t) => (t.year, mother_year),
            None => (father_year, mother_year),
        };
        let father_family = match &tpl {
            Some(t) if !t.female => t.family,
            _ => NAMES.family.pick(&mut rng),
        };
        let mother_family = match &tpl {
            Some(t) if t.female => t.family,
            _ => NAMES.family.pick(&mut rng),
        };
        let fh = hometown_of(&mut rng);
        let mh = hometown_of(&mut rng);
        let fbp = if tpl.as_ref().is_some_and(|t| !t.female) { province } else { adult_birth(&mut rng, fh) };
        let mbp = if tpl.as_ref().is_some_and(|t| t.female) { province } else { adult_birth(&mut rng, mh) };
        let gf = parent_name(&mut rng, father_family, false);
        let gm = {
            let f = NAMES.family.pick(&mut rng);
            parent_name(&mut rng, f, true)
        };
        let mut father =
            make_person(ctx, &mut rng, h, father_family, false, fy, &home, &previous, fh, fbp, gf, gm);
        let gf = parent_name(&mut rng, mother_family, false);
        let gm = {
            let f = NAMES.family.pick(&mut rng);
            parent_name(&mut rng, f, true)
        };
        let mut mother =
            make_person(ctx, &mut rng, h, mother_family, true, my, &home, &previous, mh, mbp, gf, gm);
        if let Some(t) = &tpl {
            let p = if t.female { &mut mother } else { &mut father };
            p.middles = t.middles.clone();
            p.given = t.given;
            p.namesake = namesake;
        }
        let father_name = father.full_name();
        let mother_name = mother.full_name();
        out.push(father);
        out.push(mother);
        let children = match rng.random_range(0..100) {
            0..15 => 0,
            15..40 => 1,
            40..75 => 2,
            75..90 => 3,
            _ => 4,
        };
        let twins = children >= 2 && rng.random_bool(pop.twins);
        for c in 0..children {
            let year = my + rng.random_range(20..=40);
            if year > REFERENCE_YEAR {
                continue;
            }
            let female = rng.random_bool(0.5);
            let mut child = make_person(
                ctx,
                &mut rng,
                h,
                father_family,
                female,
                year,
                &home,
                &previous,
                fh,
                province,
                father_name.clone(),
                mother_name.clone(),
            );
            if twins && c == 1 && out.len() - start >= 3 {
                let first = out[out.len() - 1].clone();
                child.year = first.year;
                child.month = first.month;
                child.day = first.day;
                child.year_only = first.year_only;
                let g = (child.year / 100).saturating_sub(19) * 2 + u16::from(child.female);
                child.cccd = format!("{}{g}{}", &first.cccd[..3], &child.cccd[4..]);
                child.cccd.replace_range(4..6, &format!("{:02}", child.year % 100));
            }
            // Siblings have different given names.
            for _ in 0..8 {
                if out[start + 2..].iter().any(|s| s.given == child.given) {
                    child.given = if child.female {
                        NAMES.given_female.pick(&mut rng)
                    } else {
                        NAMES.given_male.pick(&mut rng)
                    };
                } else {
                    break;
                }
            }
            out.push(child);
        }
    }
    if let Some(t) = &tpl
        && single
    {
        let p = &mut out[start];
        p.middles = t.middles.clone();
        p.given = t.given;
        p.namesake = namesake;
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering source rows
// ---------------------------------------------------------------------------------------------

fn render_date(kind: SourceKind, y: u16, m: u8, d: u8, year_only: bool, rng: &mut StdRng) -> String {
    if year_only || kind == SourceKind::Land {
        return y.to_string();
    }
    match kind {
        SourceKind::National => format!("{y}-{m:02}-{d:02}"),
        SourceKind::Bhxh => format!("{d:02}/{m:02}/{y}"),
        SourceKind::Bhyt => format!("{y}{m:02}{d:02}"),
        SourceKind::Education => format!("{d}/{m}/{y}"),
        _ => {
            if rng.random_bool(0.5) {
                format!("ngày {d} tháng {m} năm {y}")
            } else {
                format!("{d:02}/{m:02}/{y}")
            }
        }
    }
}

fn render_sex(kind: SourceKind, female: bool) -> Option<String> {
    Some(
        match (kind, female) {
            (SourceKind::Land, _) => return None,
            (SourceKind::Bhyt, false) => "1",
            (SourceKind::Bhyt, true) => "2",
            (SourceKind::Local, false) => "nam",
            (SourceKind::Local, true) => "nữ",
            (_, false) => "Nam",
            (_, true) => "Nữ",
        }
        .to_owned(),
    )
}

/// One rendered row: values by field, and the corruptions that changed them.
struct Rendered {
    values: [Option<String>; 10],
    corruptions: Vec<(Field, &'static str)>,
}

fn slot(f: Field) -> usize {
    f as usize
}

/// Renders one record of `p` as source `src` writes it, with the corruptions its error rates
/// draw. The steps draw from `rng` in a fixed order, so that a seed gives the same data.
fn render_row(p: &Person, src: &SourceProfile, rng: &mut StdRng) -> Rendered {
    let kind = src.kind;
    let applied = draw_corruptions(src, rng);
    let on = |k: &str| applied.contains(&k);
    let mut row = Rendered { values: Default::default(), corruptions: Vec::new() };
    render_names(p, &applied, rng, &mut row);
    render_date_of_birth(p, kind, &applied, rng, &mut row);
    row.values[slot(Field::Sex)] = if on("sex_missing") && kind != SourceKind::Land {
        row.corruptions.push((Field::Sex, "sex_missing"));
        None
    } else {
        render_sex(kind, p.female)
    };
    render_ids(p, &applied, rng, &mut row);
    render_phone(p, &applied, &mut row);
    render_addresses(p, src, &applied, rng, &mut row);
    apply_system_text(kind, &applied, &mut row);
    row
}

/// Decides every corruption first, in a fixed order, so that rates are exact per kind.
fn draw_corruptions(src: &SourceProfile, rng: &mut StdRng) -> Vec<&'static str> {
    let mut hit = |rate: f64| rate > 0.0 && rng.random_bool(rate);
    let mut applied: Vec<&'static str> = Vec::new();
    for (name, rate) in src.errors.all() {
        if hit(rate) {
            applied.push(name);
        }
    }
    applied
}

/// Name (structure, then spelling; the system's text handling comes last) and parents' names.
fn render_names(p: &Person, applied: &[&'static str], rng: &mut StdRng, row: &mut Rendered) {
    let on = |k: &str| applied.contains(&k);
    let mut middles = p.middles.clone();
    if on("middle_dropped") && !middles.is_empty() {
        middles.clear();
        row.corruptions.push((Field::Name, "middle_dropped"));
    }
    let mut parts: Vec<&str> =
        std::iter::once(p.family).chain(middles.iter().copied()).chain([p.given]).collect();
    if on("reversed_order") && parts.len() >= 2 {
        parts.rotate_left(1);
        row.corruptions.push((Field::Name, "reversed_order"));
    }
    if on("given_first") && !on("reversed_order") && parts.len() >= 3 {
        parts.rotate_right(1);
        row.corruptions.push((Field::Name, "given_first"));
    }
    let mut name = parts.join(" ");
    if on("run_together") && !middles.is_empty() && !on("reversed_order") && !on("given_first") {
        name = name.replacen(' ', "", 1);
        row.corruptions.push((Field::Name, "run_together"));
    }
    if on("honorific") {
        let h = match (p.female, p.age() >= 40) {
            (false, true) => "Ông",
            (true, true) => "Bà",
            (false, false) => "Anh",
            (true, false) => "Chị",
        };
        name = format!("{h} {name}");
        row.corruptions.push((Field::Name, "honorific"));
    }
    let mut spell = |k: &'static str, f: &mut dyn FnMut(&mut String) -> bool, name: &mut String| {
        if on(k) && f(name) {
            row.corruptions.push((Field::Name, k));
        }
    };
    let mut r2 = StdRng::seed_from_u64(rng.random());
    spell("tone_placement", &mut corrupt::tone_placement, &mut name);
    spell("i_y", &mut corrupt::i_y, &mut name);
    spell("dialect", &mut |s: &mut String| corrupt::dialect(s, &mut r2), &mut name);
    spell("typo", &mut |s: &mut String| corrupt::typo(s, &mut r2), &mut name);
    spell("typo_two", &mut |s: &mut String| corrupt::typo(s, &mut r2) | corrupt::typo(s, &mut r2), &mut name);
    let vni = r2.random_ratio(1, 3);
    spell("keystrokes", &mut |s: &mut String| corrupt::keystrokes(s, vni), &mut name);
    spell("lookalike", &mut corrupt::lookalike, &mut name);
    row.values[slot(Field::Name)] = Some(name);
    row.values[slot(Field::Father)] = Some(p.father.clone());
    row.values[slot(Field::Mother)] = Some(p.mother.clone());
}

/// Date of birth.
fn render_date_of_birth(
    p: &Person,
    kind: SourceKind,
    applied: &[&'static str],
    rng: &mut StdRng,
    row: &mut Rendered,
) {
    let on = |k: &str| applied.contains(&k);
    let (mut y, mut m, mut d, mut year_only) = (p.year, p.month, p.day, p.year_only);
    let full = !year_only && kind != SourceKind::Land;
    if on("day_month_swap") && full && d <= 12 && d != m {
        std::mem::swap(&mut d, &mut m);
        row.corruptions.push((Field::Dob, "day_month_swap"));
    }
    if on("year_off_by_one") {
        y = if rng.random_bool(0.5) { y + 1 } else { y - 1 };
        d = d.min(days_in_month(y, m));
        row.corruptions.push((Field::Dob, "year_off_by_one"));
    }
    if on("placeholder_date") && full && (d, m) != (1, 1) {
        (d, m) = (1, 1);
        row.corruptions.push((Field::Dob, "placeholder_date"));
    }
    if on("year_only") && full {
        year_only = true;
        row.corruptions.push((Field::Dob, "year_only"));
    }
    row.values[slot(Field::Dob)] = Some(render_date(kind, y, m, d, year_only, rng));
}

/// National id (or the old one) and the old id.
fn render_ids(p: &Person, applied: &[&'static str], rng: &mut StdRng, row: &mut Rendered) {
    let on = |k: &str| applied.contains(&k);
    let mut id = Some(p.cccd.clone());
    if on("id_missing") {
        id = None;
        row.corruptions.push((Field::Id, "id_missing"));
    } else {
        if on("old_id_only")
            && let Some(c) = &p.cmnd
        {
            id = Some(c.clone());
            row.corruptions.push((Field::Id, "old_id_only"));
        }
        if on("id_typo")
            && let Some(v) = id.as_mut()
            && corrupt::digit_typo(v, rng)
        {
            row.corruptions.push((Field::Id, "id_typo"));
        }
    }
    row.values[slot(Field::Id)] = id;
    row.values[slot(Field::Cmnd)] = p.cmnd.clone();
}

/// Phone.
fn render_phone(p: &Person, applied: &[&'static str], row: &mut Rendered) {
    let on = |k: &str| applied.contains(&k);
    let mut phone = p.phone.clone();
    if phone.is_some() && on("phone_missing") {
        phone = None;
        row.corruptions.push((Field::Phone, "phone_missing"));
    }
    if on("phone_old_format")
        && let Some(old) = phone.as_deref().and_then(corrupt::old_phone)
    {
        phone = Some(old);
        row.corruptions.push((Field::Phone, "phone_old_format"));
    }
    row.values[slot(Field::Phone)] = phone;
}

/// Residence (current or outdated, 2025 or legacy units, abbreviated or not) and hometown.
fn render_addresses(
    p: &Person,
    src: &SourceProfile,
    applied: &[&'static str],
    rng: &mut StdRng,
    row: &mut Rendered,
) {
    let on = |k: &str| applied.contains(&k);
    let form = if rng.random_bool(src.address_2025) { AddressForm::Y2025 } else { AddressForm::Legacy };
    let abbreviate = rng.random_bool(src.abbreviated_address);
    let mut residence = &p.home;
    if on("outdated_address")
        && let Some(prev) = &p.previous
    {
        residence = prev;
        row.corruptions.push((Field::Address, "outdated_address"));
    }
    let mut address = String::with_capacity(96);
    residence.render(form, abbreviate, &mut address);
    row.values[slot(Field::Address)] = if on("address_missing") {
        row.corruptions.push((Field::Address, "address_missing"));
        None
    } else {
        Some(address)
    };
    let home = Residence { street: String::new(), ward: p.hometown, successor: 0 };
    let mut hometown = String::with_capacity(64);
    home.render(AddressForm::Legacy, false, &mut hometown);
    row.values[slot(Field::Hometown)] = Some(hometown);
}

/// What the system did to all its text: case, accents, Unicode form, legacy encodings.
fn apply_system_text(kind: SourceKind, applied: &[&'static str], row: &mut Rendered) {
    let on = |k: &str| applied.contains(&k);
    let corruptions = &mut row.corruptions;
    let (_, _, cols) = layout(kind);
    let text_fields = [Field::Name, Field::Father, Field::Mother, Field::Address, Field::Hometown];
    let mut system = |k: &'static str, f: &dyn Fn(&mut String) -> bool, values: &mut [Option<String>; 10]| {
        for field in text_fields {
            if !cols.iter().any(|(_, c)| *c == field) {
                continue;
            }
            if let Some(v) = values[slot(field)].as_mut()
                && f(v)
            {
                corruptions.push((field, k));
            }
        }
    };
    if on("upper_case") {
        system(
            "upper_case",
            &|s: &mut String| {
                let u = s.to_uppercase();
                let changed = u != *s;
                *s = u;
                changed
            },
            &mut row.values,
        );
    }
    if on("accents_dropped") {
        system("accents_dropped", &corrupt::accents, &mut row.values);
    } else if on("tcvn3") {
        system("tcvn3", &|s: &mut String| corrupt::legacy(s, LegacyEncoding::Tcvn3), &mut row.values);
    } else if on("vni") {
        system("vni", &|s: &mut String| corrupt::legacy(s, LegacyEncoding::Vni), &mut row.values);
    } else if on("nfd") {
        system("nfd", &corrupt::nfd, &mut row.values);
    }
}

// ---------------------------------------------------------------------------------------------
// Chunks and writing
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct SourceRows {
    /// Person (index in the chunk) of each row.
    person: Vec<u32>,
    /// Values, column-major, in layout order (without the row id).
    columns: Vec<Vec<Option<String>>>,
    /// (row in chunk, field, kind).
    corruptions: Vec<(u32, Field, &'static str)>,
}

struct Chunk {
    persons: Vec<Person>,
    sources: Vec<SourceRows>,
}

fn generate_chunk(ctx: &Ctx<'_>, chunk: u64, households: u64) -> Chunk {
    let mut persons = Vec::with_capacity(households as usize * 3);
    for h in chunk * households..(chunk + 1) * households {
        household(ctx, h, &mut persons);
    }
    let mut sources: Vec<SourceRows> = ctx
        .profile
        .source
        .iter()
        .map(|s| SourceRows { columns: vec![Vec::new(); layout(s.kind).2.len()], ..Default::default() })
        .collect();
    for (i, p) in persons.iter().enumerate() {
        // Each person's rows have their own stream, so that adding a source changes nothing else.
        let mut rng = StdRng::seed_from_u64(mix(ctx.seed ^ 0x736f_7572_6365, (chunk << 24) ^ i as u64));
        for (src, rows) in ctx.profile.source.iter().zip(sources.iter_mut()) {
            let mut srng = StdRng::seed_from_u64(rng.random());
            if !eligible(src.kind, p.age()) || !srng.random_bool(src.coverage) {
                continue;
            }
            let copies = 1 + usize::from(srng.random_bool(src.duplicates));
            for _ in 0..copies {
                let r = render_row(p, src, &mut srng);
                let row = rows.person.len() as u32;
                rows.person.push(i as u32);
                for (col, (_, field)) in rows.columns.iter_mut().zip(layout(src.kind).2) {
                    col.push(r.values[slot(*field)].clone());
                }
                rows.corruptions.extend(r.corruptions.into_iter().map(|(f, k)| (row, f, k)));
            }
        }
    }
    Chunk { persons, sources }
}

fn utf8_schema(columns: &[&str]) -> SchemaRef {
    Arc::new(Schema::new(
        columns.iter().map(|c| ArrowField::new(*c, DataType::Utf8, true)).collect::<Vec<_>>(),
    ))
}

fn csv_writer(path: &Path, header: &str) -> Result<BufWriter<File>, Error> {
    let mut w = BufWriter::with_capacity(
        1 << 20,
        File::create(path).map_err(|e| format!("{}: {e}", path.display()))?,
    );
    writeln!(w, "{header}")?;
    Ok(w)
}

struct SourceOut {
    table: Writer,
    truth: BufWriter<File>,
    links: Option<BufWriter<File>>,
    corruptions: BufWriter<File>,
    rows: u64,
    prefix: &'static str,
    schema: SchemaRef,
}

/// Generates the population and its sources into `dir` (created if missing).
pub fn generate(dir: &Path, profile: &Profile, options: &GenOptions) -> Result<GenReport, Error> {
    let started = Instant::now();
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let ext = options.format.ext();
    let write_options = WriteOptions {
        format: Some(match options.format {
            OutputFormat::Parquet => Format::Parquet,
            OutputFormat::Csv => Format::Csv,
        }),
        row_group_rows: 1 << 16,
        ..Default::default()
    };
    let path = |stem: &str, ext: &str| -> PathBuf { dir.join(format!("{stem}.{ext}")) };
    let mut persons_out = Writer::create(path("persons", ext), utf8_schema(PERSON_COLUMNS), &write_options)?;
    let national = profile.source.iter().position(|s| s.kind == SourceKind::National);
    let mut outs = Vec::new();
    for (i, s) in profile.source.iter().enumerate() {
        let (id_col, prefix, _) = layout(s.kind);
        let _ = id_col;
        outs.push(SourceOut {
            table: Writer::create(path(&s.name, ext), utf8_schema(&source_columns(s.kind)), &write_options)?,
            truth: csv_writer(&path(&format!("truth_{}", s.name), "csv"), "row_id,person_id")?,
            links: if Some(i) == national {
                None
            } else {
                Some(csv_writer(&path(&format!("links_{}", s.name), "csv"), "row_id,national_row_id")?)
            },
            corruptions: csv_writer(&path(&format!("corruptions_{}", s.name), "csv"), "row_id,field,kind")?,
            rows: 0,
            prefix,
            schema: utf8_schema(&source_columns(s.kind)),
        });
    }
    let group = profile.population.namesake_group_size.max(1.0);
    let groups = (options.persons as f64 * profile.population.namesakes / 2.5 / group).ceil() as u32;
    let ctx = Ctx { profile, seed: options.seed, namesake_groups: groups };
    let per_chunk = options.chunk_households.max(1);
    let window = (rayon::current_num_threads() as u64 * 4).clamp(4, 64);
    let mut written = 0u64;
    let mut chunk = 0u64;
    let mut last_household = 0u64;
    while written < options.persons {
        let chunks: Vec<Chunk> =
            (chunk..chunk + window).into_par_iter().map(|c| generate_chunk(&ctx, c, per_chunk)).collect();
        for mut c in chunks {
            if written >= options.persons {
                break;
            }
            let keep = (options.persons - written).min(c.persons.len() as u64) as usize;
            c.persons.truncate(keep);
            last_household = c.persons.last().map_or(last_household, |p| p.household + 1);
            write_chunk(&mut c, written, national, &mut outs, &mut persons_out)?;
            written += keep as u64;
        }
        chunk += window;
    }
    persons_out.finish()?;
    let mut rows = Vec::new();
    for (s, o) in profile.source.iter().zip(outs) {
        rows.push((s.name.clone(), o.rows));
        o.table.finish()?;
        for mut w in [Some(o.truth), o.links, Some(o.corruptions)].into_iter().flatten() {
            w.flush()?;
        }
    }
    Ok(GenReport {
        persons: written,
        households: last_household,
        rows,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn person_id(i: u64) -> String {
    format!("P{i:010}")
}

fn write_chunk(
    c: &mut Chunk,
    offset: u64,
    national: Option<usize>,
    outs: &mut [SourceOut],
    persons_out: &mut Writer,
) -> Result<(), Error> {
    let n = c.persons.len();
    // Persons.
    let mut cols: Vec<Vec<Option<String>>> = vec![Vec::with_capacity(n); PERSON_COLUMNS.len()];
    let mut buf = String::new();
    for (i, p) in c.persons.iter().enumerate() {
        let dob =
            if p.year_only { p.year.to_string() } else { format!("{}-{:02}-{:02}", p.year, p.month, p.day) };
        p.home.render(AddressForm::Legacy, false, &mut buf);
        let address = buf.clone();
        p.home.render(AddressForm::Y2025, false, &mut buf);
        let address_2025 = buf.clone();
        let previous = p.previous.as_ref().map(|r| {
            r.render(AddressForm::Legacy, false, &mut buf);
            buf.clone()
        });
        Residence { street: String::new(), ward: p.hometown, successor: 0 }.render(
            AddressForm::Legacy,
            false,
            &mut buf,
        );
        let values = [
            Some(person_id(offset + i as u64)),
            Some(format!("H{:09}", p.household)),
            Some(p.family.to_owned()),
            Some(p.middles.join(" ")),
            Some(p.given.to_owned()),
            Some(p.full_name()),
            Some(if p.female { "F" } else { "M" }.to_owned()),
            Some(dob),
            Some(p.cccd.clone()),
            p.cmnd.clone(),
            p.phone.clone(),
            Some(address),
            Some(address_2025),
            previous,
            Some(buf.clone()),
            Some(p.father.clone()),
            Some(p.mother.clone()),
            p.namesake.map(|g| format!("G{g:07}")),
        ];
        for (col, v) in cols.iter_mut().zip(values) {
            col.push(v);
        }
    }
    persons_out.write(&batch(&utf8_schema(PERSON_COLUMNS), None, cols)?)?;

    // National row of each person in this chunk, as a global row number.
    let mut national_row: Vec<Option<u64>> = vec![None; n];
    if let Some(ni) = national {
        let base = outs[ni].rows;
        for (r, &p) in c.sources[ni].person.iter().enumerate().rev() {
            if let Some(slot) = national_row.get_mut(p as usize) {
                *slot = Some(base + r as u64);
            }
        }
    }
    let national_prefix = national.map_or("", |ni| outs[ni].prefix);
    for (rows, out) in c.sources.iter_mut().zip(outs.iter_mut()) {
        let keep = rows.person.partition_point(|&p| (p as usize) < n);
        let base = out.rows;
        let row_id = |r: u64| format!("{}{:010}", out.prefix, base + r);
        let ids: Vec<Option<String>> = (0..keep as u64).map(|r| Some(row_id(r))).collect();
        for col in rows.columns.iter_mut() {
            col.truncate(keep);
        }
        let columns = std::mem::take(&mut rows.columns);
        out.table.write(&batch(&out.schema, Some(ids.clone()), columns)?)?;
        for (r, &p) in rows.person[..keep].iter().enumerate() {
            let id = ids[r].as_deref().unwrap_or("");
            writeln!(out.truth, "{id},{}", person_id(offset + u64::from(p)))?;
            if let Some(links) = out.links.as_mut()
                && let Some(nr) = national_row[p as usize]
            {
                writeln!(links, "{id},{national_prefix}{nr:010}")?;
            }
        }
        for &(r, field, kind) in &rows.corruptions {
            if (r as usize) < keep {
                writeln!(
                    out.corruptions,
                    "{},{},{kind}",
                    ids[r as usize].as_deref().unwrap_or(""),
                    field.as_str()
                )?;
            }
        }
        out.rows += keep as u64;
    }
    Ok(())
}

fn batch(
    schema: &SchemaRef,
    ids: Option<Vec<Option<String>>>,
    columns: Vec<Vec<Option<String>>>,
) -> Result<RecordBatch, Error> {
    let arrays: Vec<ArrayRef> = ids
        .into_iter()
        .chain(columns)
        .map(|c| Arc::new(StringArray::from_iter(c.iter().map(|v| v.as_deref()))) as ArrayRef)
        .collect();
    Ok(RecordBatch::try_new(schema.clone(), arrays)?)
}
