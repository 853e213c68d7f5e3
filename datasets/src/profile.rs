//! Error profiles: how many of each variation every source gets, read from TOML
//! (`datasets/profiles/default.toml`, `hard.toml`; the files document every key).

use std::path::Path;

use serde::Deserialize;

/// A generation profile: population shape and one entry per source.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Shape of the true population.
    pub population: PopulationRates,
    /// The sources to write, in order. Exactly one must be of kind `national`.
    pub source: Vec<SourceProfile>,
}

/// Shape of the true population (shares are probabilities in 0..=1).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationRates {
    /// Households of one person (otherwise parents and children).
    pub single_households: f64,
    /// Households that moved: they have a previous residence that outdated records still show.
    pub moved: f64,
    /// Families whose first two children are twins.
    pub twins: f64,
    /// Household heads who share name, sex, birth year and province with a group of others
    /// (hard negatives).
    pub namesakes: f64,
    /// Mean size of a namesake group.
    pub namesake_group_size: f64,
    /// People born before 1960 whose date of birth is known by year only.
    pub year_only_before_1960: f64,
    /// People born before 2008 who also hold an old 9-digit CMND.
    pub cmnd_adults: f64,
    /// People (aged 15 and over) with a mobile phone number.
    pub phone: f64,
}

/// Which table layout a source has; each kind has its own columns and conventions.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// National population table: everyone, ISO dates, 12-digit ids.
    National,
    /// Social insurance (BHXH): working-age people, dd/mm/yyyy dates.
    Bhxh,
    /// Health insurance (BHYT): nearly everyone, upper-case columns, yyyymmdd dates, sex as 1/2.
    Bhyt,
    /// Education: pupils and students aged 3-24, d/m/yyyy dates, parents' names.
    Education,
    /// Land register: owners aged 25 and over, birth year only.
    Land,
    /// A commune's civil register, with internal duplicates.
    Local,
}

/// One source: its coverage, duplicates, conventions and error rates.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceProfile {
    /// File name stem; unique.
    pub name: String,
    /// Table layout.
    pub kind: SourceKind,
    /// Share of eligible people present.
    pub coverage: f64,
    /// Share of present people with a second row.
    #[serde(default)]
    pub duplicates: f64,
    /// Share of rows whose address is written in the 2025 form.
    #[serde(default)]
    pub address_2025: f64,
    /// Share of rows whose unit kinds are abbreviated (P., Q., TP.).
    #[serde(default)]
    pub abbreviated_address: f64,
    /// Error rates.
    #[serde(default)]
    pub errors: ErrorRates,
}

macro_rules! error_rates {
    ($($(#[$doc:meta])* $field:ident),* $(,)?) => {
        /// Probability of each corruption per row (applied independently; 0 when absent).
        #[derive(Clone, Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct ErrorRates {
            $($(#[$doc])* #[serde(default)] pub $field: f64,)*
        }

        impl ErrorRates {
            /// Every kind with its rate, in declaration order.
            pub fn all(&self) -> Vec<(&'static str, f64)> {
                vec![$((stringify!($field), self.$field)),*]
            }
        }
    };
}

error_rates! {
    /// Name: diacritics dropped.
    accents_dropped,
    /// Name: decomposed Unicode (NFD).
    nfd,
    /// Text fields: TCVN3 mojibake.
    tcvn3,
    /// Text fields: VNI mojibake.
    vni,
    /// Name: old/new tone placement (hoà/hòa).
    tone_placement,
    /// Name: i/y spelling (Vy/Vi).
    i_y,
    /// Name: a keyboard typo.
    typo,
    /// Name: two keyboard typos.
    typo_two,
    /// Name: middle names dropped.
    middle_dropped,
    /// Name: given name first, family name last.
    reversed_order,
    /// Name: given name first, then family and middle names ("Hùng Nguyễn Văn"), as forms with
    /// separate first-name and last-name fields give it.
    given_first,
    /// Name: upper case.
    upper_case,
    /// Name: honorific typed in (Ông, Bà, Anh, Chị).
    honorific,
    /// Name: dialect spelling (d/gi, ch/tr, s/x, n/l, final n/ng).
    dialect,
    /// Name: family and middle name run together.
    run_together,
    /// Name: Icelandic ð for đ.
    lookalike,
    /// Name: typed with the input method off, Telex or VNI keystrokes left in it (one in three
    /// VNI).
    keystrokes,
    /// Date of birth: day and month swapped.
    day_month_swap,
    /// Date of birth: year off by one.
    year_off_by_one,
    /// Date of birth: placeholder 01/01 of the year.
    placeholder_date,
    /// Date of birth: year only.
    year_only,
    /// Id: missing.
    id_missing,
    /// Id: one digit mistyped.
    id_typo,
    /// Id: old 9-digit CMND instead of the CCCD (when the person has one).
    old_id_only,
    /// Address: previous residence (for people who moved).
    outdated_address,
    /// Address: missing.
    address_missing,
    /// Phone: missing.
    phone_missing,
    /// Phone: pre-2018 11-digit form.
    phone_old_format,
    /// Sex: missing.
    sex_missing,
}

/// A profile error: where and what.
#[derive(Debug)]
pub struct ProfileError(pub String);

impl std::fmt::Display for ProfileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProfileError {}

impl Profile {
    /// The built-in profile `default`, `hard` or `wild`, or a TOML file.
    pub fn named(name: &str) -> Result<Profile, ProfileError> {
        match name {
            "default" => Profile::parse(DEFAULT, "default.toml"),
            "hard" => Profile::parse(HARD, "hard.toml"),
            "wild" => Profile::parse(WILD, "wild.toml"),
            path => {
                let text = std::fs::read_to_string(Path::new(path))
                    .map_err(|e| ProfileError(format!("{path}: cannot read the profile: {e}")))?;
                Profile::parse(&text, path)
            }
        }
    }

    /// Parses and checks a profile; every problem is reported at once.
    pub fn parse(text: &str, origin: &str) -> Result<Profile, ProfileError> {
        let profile: Profile = toml::from_str(text).map_err(|e| ProfileError(format!("{origin}: {e}")))?;
        let mut problems = Vec::new();
        let p = &profile.population;
        for (key, v) in [
            ("single_households", p.single_households),
            ("moved", p.moved),
            ("twins", p.twins),
            ("namesakes", p.namesakes),
            ("year_only_before_1960", p.year_only_before_1960),
            ("cmnd_adults", p.cmnd_adults),
            ("phone", p.phone),
        ] {
            if !(0.0..=1.0).contains(&v) {
                problems.push(format!("population.{key} = {v}: expected a share in 0..=1"));
            }
        }
        if p.namesake_group_size.is_nan() || p.namesake_group_size < 1.0 {
            problems.push("population.namesake_group_size: expected at least 1".to_owned());
        }
        let nationals = profile.source.iter().filter(|s| s.kind == SourceKind::National).count();
        if nationals != 1 {
            problems.push(format!("expected exactly one source of kind \"national\", found {nationals}"));
        }
        for (i, s) in profile.source.iter().enumerate() {
            if s.name.is_empty() || !s.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                problems.push(format!("source {}: name {:?} must be letters, digits or _", i + 1, s.name));
            }
            if profile.source[..i].iter().any(|o| o.name == s.name) {
                problems.push(format!("source {}: name {:?} used twice", i + 1, s.name));
            }
            let mut rates = vec![
                ("coverage", s.coverage),
                ("duplicates", s.duplicates),
                ("address_2025", s.address_2025),
                ("abbreviated_address", s.abbreviated_address),
            ];
            rates.extend(s.errors.all());
            for (key, v) in rates {
                if !(0.0..=1.0).contains(&v) {
                    problems.push(format!("source {:?}: {key} = {v}: expected a share in 0..=1", s.name));
                }
            }
        }
        if problems.is_empty() {
            Ok(profile)
        } else {
            Err(ProfileError(format!("{origin}:\n  {}", problems.join("\n  "))))
        }
    }
}

const DEFAULT: &str = include_str!("../profiles/default.toml");
const HARD: &str = include_str!("../profiles/hard.toml");
const WILD: &str = include_str!("../profiles/wild.toml");
