//! Blocking rules: conjunctions of exact keys read from [`PreparedRecords`].

use std::fmt;

use xxhash_rust::xxh3::Xxh3;

use crate::normalize::prepared::{GenericColumn, PreparedRecords, column_key};

/// The most records, on average, that may share a `number` column's value for the column to
/// count as an identifier repeated on duplicates (FEBRL3's social security numbers: 2.2 others;
/// postcodes: 4.5 and more).
const MAX_SHARED_ID: f64 = 3.0;

/// A generic column (see [`prepared`](crate::normalize::prepared)), found by its name in each
/// table: the same name (case-insensitive) on both sides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ColumnKey(u64);

impl ColumnKey {
    /// The key of the generic column named `name`.
    pub fn new(name: &str) -> Self {
        ColumnKey(column_key(name))
    }
}

/// One normalized key a blocking rule can require to be equal (and present) on both records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BlockKey {
    /// The cleaned national id (CCCD) digits.
    NationalId,
    /// The old identity card (CMND) digits: the old-id column, or a 9-digit value in the
    /// national-id column (sector tables often hold whichever card the person showed).
    OldId,
    /// The E.164 phone number.
    Phone,
    /// The full date of birth (year, month and day all known).
    DateOfBirth,
    /// The year of birth.
    BirthYear,
    /// The day and month of birth (both known), whatever the year: survives a year typed one off.
    BirthDayMonth,
    /// The accent-folded full name.
    FoldedFullName,
    /// The accent-folded family name.
    FoldedFamilyName,
    /// The accent-folded given name.
    FoldedGivenName,
    /// The accent-folded middle name, empty for a name without one (a key all the same, where
    /// the name itself is present): splits a common family name's block by the middle name.
    FoldedMiddleName,
    /// The folded name's words in sorted order: the same for "Hùng Nguyễn Văn" and "Nguyễn Văn
    /// Hùng" however each was parsed.
    NameTokens,
    /// The phonetic key of the full name.
    PhoneticFullName,
    /// The phonetic key of the given name.
    PhoneticGivenName,
    /// The folded name of the father.
    FatherName,
    /// The folded name of the mother.
    MotherName,
    /// Sex.
    Sex,
    /// The 2025 province of the address of residence.
    Province,
    /// The 2025 ward of the address of residence (its default successor, for a split commune).
    Ward,
    /// The normalized value of a generic column.
    Column(ColumnKey),
}

impl BlockKey {
    /// The key's name, as used in rule names and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            BlockKey::NationalId => "national_id",
            BlockKey::OldId => "old_id",
            BlockKey::Phone => "phone",
            BlockKey::DateOfBirth => "date_of_birth",
            BlockKey::BirthYear => "birth_year",
            BlockKey::BirthDayMonth => "birth_day_month",
            BlockKey::FoldedFullName => "full_name",
            BlockKey::FoldedFamilyName => "family_name",
            BlockKey::FoldedGivenName => "given_name",
            BlockKey::FoldedMiddleName => "middle_name",
            BlockKey::NameTokens => "name_tokens",
            BlockKey::PhoneticFullName => "phonetic_full_name",
            BlockKey::PhoneticGivenName => "phonetic_given_name",
            BlockKey::FatherName => "father_name",
            BlockKey::MotherName => "mother_name",
            BlockKey::Sex => "sex",
            BlockKey::Province => "province",
            BlockKey::Ward => "ward",
            BlockKey::Column(_) => "column",
        }
    }

    /// Every key a configuration can name (generic columns are written `column:NAME`).
    pub const NAMED: [BlockKey; 18] = [
        BlockKey::NationalId,
        BlockKey::OldId,
        BlockKey::Phone,
        BlockKey::DateOfBirth,
        BlockKey::BirthYear,
        BlockKey::BirthDayMonth,
        BlockKey::FoldedFullName,
        BlockKey::FoldedFamilyName,
        BlockKey::FoldedGivenName,
        BlockKey::FoldedMiddleName,
        BlockKey::NameTokens,
        BlockKey::PhoneticFullName,
        BlockKey::PhoneticGivenName,
        BlockKey::FatherName,
        BlockKey::MotherName,
        BlockKey::Sex,
        BlockKey::Province,
        BlockKey::Ward,
    ];

    /// The key named `name` in a configuration: one of [`BlockKey::NAMED`] by its
    /// [`as_str`](Self::as_str), or `column:NAME` for a generic column.
    pub fn parse(name: &str) -> Option<BlockKey> {
        if let Some(column) = name.strip_prefix("column:") {
            return (!column.trim().is_empty()).then(|| BlockKey::Column(ColumnKey::new(column.trim())));
        }
        BlockKey::NAMED.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether a table can hold this key at all (its column was configured).
    fn available(self, t: &PreparedRecords) -> bool {
        let f = t.fields();
        match self {
            BlockKey::NationalId => f.national_id,
            BlockKey::OldId => f.old_id || f.national_id,
            BlockKey::Phone => f.phone,
            BlockKey::DateOfBirth | BlockKey::BirthYear | BlockKey::BirthDayMonth => f.date_of_birth,
            BlockKey::FoldedFullName
            | BlockKey::FoldedFamilyName
            | BlockKey::FoldedGivenName
            | BlockKey::FoldedMiddleName
            | BlockKey::NameTokens
            | BlockKey::PhoneticFullName
            | BlockKey::PhoneticGivenName => f.name,
            BlockKey::FatherName => f.father,
            BlockKey::MotherName => f.mother,
            BlockKey::Sex => f.sex,
            BlockKey::Province | BlockKey::Ward => f.address,
            BlockKey::Column(key) => t.generic_by_key(key.0).is_some(),
        }
    }

    /// The key's value for record `i`, as bytes in `buf`; `None` when missing.
    fn value<'t>(self, t: &'t PreparedRecords, i: usize, buf: &'t mut [u8; 8]) -> Option<&'t [u8]> {
        let text = |s: &'t [u8]| (!s.is_empty()).then_some(s);
        match self {
            BlockKey::NationalId => text(t.national_id().get(i)),
            BlockKey::OldId => text(t.old_id().get(i)).or_else(|| {
                let id = t.national_id().get(i);
                (id.len() == 9).then_some(id)
            }),
            BlockKey::Phone => text(t.phone().get(i)),
            BlockKey::FoldedFullName => text(t.folded_full().get(i)),
            BlockKey::FoldedFamilyName => text(t.folded_family().get(i)),
            BlockKey::FoldedGivenName => text(t.folded_given().get(i)),
            BlockKey::FoldedMiddleName => text(t.folded_full().get(i)).map(|_| t.folded_middle().get(i)),
            BlockKey::NameTokens => text(t.sorted_tokens().get(i)),
            BlockKey::FatherName => text(t.father().get(i)),
            BlockKey::MotherName => text(t.mother().get(i)),
            BlockKey::PhoneticFullName => text(t.phonetic_full().get(i)),
            BlockKey::PhoneticGivenName => text(t.phonetic_given().get(i)),
            BlockKey::DateOfBirth => {
                let (y, m, d) = (*t.year().get(i)?, *t.month().get(i)?, *t.day().get(i)?);
                if y == 0 || m == 0 || d == 0 {
                    return None;
                }
                buf[..2].copy_from_slice(&y.to_le_bytes());
                buf[2] = m;
                buf[3] = d;
                Some(&buf[..4])
            }
            BlockKey::BirthDayMonth => {
                let (m, d) = (*t.month().get(i)?, *t.day().get(i)?);
                if m == 0 || d == 0 {
                    return None;
                }
                buf[0] = m;
                buf[1] = d;
                Some(&buf[..2])
            }
            BlockKey::BirthYear => {
                let y = *t.year().get(i)?;
                if y == 0 {
                    return None;
                }
                buf[..2].copy_from_slice(&y.to_le_bytes());
                Some(&buf[..2])
            }
            BlockKey::Sex => {
                let s = *t.sex().get(i)?;
                if s == 0 {
                    return None;
                }
                buf[0] = s;
                Some(&buf[..1])
            }
            BlockKey::Province => {
                let p = *t.province().get(i)?;
                if p == 0 {
                    return None;
                }
                buf[..4].copy_from_slice(&p.to_le_bytes());
                Some(&buf[..4])
            }
            BlockKey::Ward => {
                let w = t.wards_of(i).next()?;
                buf[..4].copy_from_slice(&w.to_le_bytes());
                Some(&buf[..4])
            }
            BlockKey::Column(key) => text(t.generic_by_key(key.0)?.values.get(i)),
        }
    }
}

/// Records are candidates under a rule when every one of its keys is present on both and equal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockingRule {
    name: String,
    keys: Vec<BlockKey>,
}

impl BlockingRule {
    /// A rule requiring all of `keys`; its name joins the keys' names with `+`. A rule without
    /// keys matches nothing (it would compare everything with everything).
    pub fn new(keys: impl Into<Vec<BlockKey>>) -> Self {
        let keys = keys.into();
        let name = keys.iter().map(|k| k.as_str()).collect::<Vec<_>>().join("+");
        BlockingRule { name, keys }
    }

    /// A rule from a configuration's key names (see [`BlockKey::parse`]), named after them.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> crate::error::Result<BlockingRule> {
        use crate::error::Error;
        let mut keys = Vec::with_capacity(names.len());
        for name in names {
            let name = name.as_ref();
            keys.push(BlockKey::parse(name).ok_or_else(|| {
                let known: Vec<&str> = BlockKey::NAMED.iter().map(|k| k.as_str()).collect();
                Error::settings(vec![format!(
                    "unknown blocking key `{name}` (keys: {}, column:NAME)",
                    known.join(", ")
                )])
            })?);
        }
        if keys.is_empty() {
            return Err(Error::settings(vec!["a blocking rule needs at least one key".into()]));
        }
        let label = names.iter().map(|n| n.as_ref().trim_start_matches("column:")).collect::<Vec<_>>();
        Ok(BlockingRule::new(keys).with_name(label.join("+")))
    }

    /// The same rule under another name (for keys of generic columns, whose names the keys do
    /// not carry).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The rule's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The rule's keys.
    pub fn keys(&self) -> &[BlockKey] {
        &self.keys
    }

    /// Whether both tables can hold every key of the rule.
    pub fn applies_to(&self, left: &PreparedRecords, right: Option<&PreparedRecords>) -> bool {
        !self.keys.is_empty()
            && self.keys.iter().all(|k| k.available(left) && right.is_none_or(|r| k.available(r)))
    }

    /// The default rules for the Vietnamese person profile, those whose keys both tables have,
    /// strongest first: CCCD; CMND; phone; family and middle name + date of birth; given name +
    /// date of birth; date of birth + province; phonetic given name + birth year + province; name
    /// words + birth year; name words + ward; name words + day and month of birth; given name +
    /// day and month of birth + province.
    ///
    /// Then, for generic columns both tables hold: each identifier-like column (90% of values
    /// distinct on both sides) alone; and the most selective other column of role `number`
    /// (a postcode, say) with the family name, with the given name and with the date of birth;
    /// the house number with the street; the date of birth with the house number and with the
    /// street; the location column with the house number.
    pub fn defaults_for(left: &PreparedRecords, right: Option<&PreparedRecords>) -> Vec<BlockingRule> {
        let mut rules = Self::vietnamese_defaults(left, right);
        rules.extend(Self::generic_defaults(left, right));
        rules
    }

    fn generic_defaults(left: &PreparedRecords, right: Option<&PreparedRecords>) -> Vec<BlockingRule> {
        use crate::record::Role;
        let other = right.unwrap_or(left);
        let mut rules = Vec::new();
        let mut location: Option<(&str, usize)> = None;
        for column in left.generic() {
            let Some(theirs) = other.generic_by_key(column.key) else { continue };
            let key = BlockKey::Column(ColumnKey(column.key));
            // A number column whose values repeat only on a few records (an identifier in a
            // table with duplicates, each person's number on each of their records) is an
            // identifier too.
            let repeated_id = |c: &GenericColumn| {
                c.role == Some(Role::Number) && c.present >= 20 && c.mean_shared() <= MAX_SHARED_ID
            };
            let id_like = |c: &GenericColumn| c.is_id_like() || repeated_id(c);
            if id_like(column) && id_like(theirs) {
                rules.push(BlockingRule::new([key]).with_name(column.name.clone()));
            } else if column.role == Some(Role::Number) && theirs.role == Some(Role::Number) {
                let distinct = column.distinct.min(theirs.distinct);
                if location.is_none_or(|(_, best)| distinct > best) {
                    location = Some((column.name.as_str(), distinct));
                }
            }
        }
        // House number and street together: an address without a Vietnamese unit.
        let paired = |role: Role| {
            left.generic().iter().find(|c| {
                c.role == Some(role) && other.generic_by_key(c.key).is_some_and(|t| t.role == Some(role))
            })
        };
        if let (Some(house), Some(street)) = (paired(Role::HouseNumber), paired(Role::Street)) {
            let keys = [BlockKey::Column(ColumnKey(house.key)), BlockKey::Column(ColumnKey(street.key))];
            rules.push(BlockingRule::new(keys).with_name(format!("{}+{}", house.name, street.name)));
        }
        // The date of birth and the full name with each address part; the location with the
        // house number.
        for part in [paired(Role::HouseNumber), paired(Role::Street)].into_iter().flatten() {
            for (person, label) in
                [(BlockKey::DateOfBirth, "date_of_birth"), (BlockKey::FoldedFullName, "full_name")]
            {
                let rule = BlockingRule::new([person, BlockKey::Column(ColumnKey(part.key))])
                    .with_name(format!("{label}+{}", part.name));
                if rule.applies_to(left, right) {
                    rules.push(rule);
                }
            }
        }
        if let (Some((name, _)), Some(house)) = (location, paired(Role::HouseNumber)) {
            let keys = [BlockKey::Column(ColumnKey::new(name)), BlockKey::Column(ColumnKey(house.key))];
            rules.push(BlockingRule::new(keys).with_name(format!("{name}+{}", house.name)));
        }
        if let Some((name, _)) = location {
            let key = BlockKey::Column(ColumnKey::new(name));
            for (person, label) in [
                (BlockKey::FoldedFamilyName, "family_name"),
                (BlockKey::FoldedGivenName, "given_name"),
                (BlockKey::DateOfBirth, "date_of_birth"),
            ] {
                let rule = BlockingRule::new([key, person]).with_name(format!("{name}+{label}"));
                if rule.applies_to(left, right) {
                    rules.push(rule);
                }
            }
        }
        rules
    }

    fn vietnamese_defaults(left: &PreparedRecords, right: Option<&PreparedRecords>) -> Vec<BlockingRule> {
        use BlockKey::*;
        // Each rule catches what the earlier ones miss: an id or phone typed wrong or missing
        // (names with the date), a typo in the given or the family name (the other names with
        // the date, the date with the province, or a phonetic given name with the year and
        // province), a wrong day or month (the name's words with the year, whatever their
        // order), a wrong year (the name's words with the ward, or with the day and month), a
        // typo in the family or middle name and a wrong year (the given name with the day, month
        // and province).
        //
        // Each rule's pairs grow with the square of the population where its keys are common,
        // so the family name, the most common key (Nguyễn is one person in three), goes with
        // the middle name, and a name with a wrong year is looked for in its ward, not its
        // province: at 1M persons 6.2 M candidate pairs instead of 12.5 M, with fewer true links
        // missed (`benches/RESULTS.md`, "Blocking rules that stay selective").
        //
        // Not the parents' names: they would bring the register's duplicates together whatever
        // else is wrong, but also every pair of siblings, and the model, which takes two equal
        // parents' names for independent evidence, then merges siblings (pairwise precision
        // 0.89 on the hard register). Configurations can still name `father_name` and
        // `mother_name`.
        let candidates: [&[BlockKey]; 11] = [
            &[NationalId],
            &[OldId],
            &[Phone],
            &[FoldedFamilyName, FoldedMiddleName, DateOfBirth],
            &[FoldedGivenName, DateOfBirth],
            &[DateOfBirth, Province],
            &[PhoneticGivenName, BirthYear, Province],
            &[NameTokens, BirthYear],
            &[NameTokens, Ward],
            &[NameTokens, BirthDayMonth],
            &[FoldedGivenName, BirthDayMonth, Province],
        ];
        // The CMND rule needs an old-id column on one side at least: between two id columns,
        // 9-digit values already meet under the national-id rule.
        let old_id_column = left.fields().old_id || right.is_some_and(|r| r.fields().old_id);
        candidates
            .iter()
            .map(|keys| BlockingRule::new(keys.to_vec()))
            .filter(|rule| rule.applies_to(left, right) && (rule.keys() != [OldId] || old_id_column))
            .collect()
    }

    /// Whether record `a` of `left` and `b` of `right` agree on every key (all present).
    pub fn matches(&self, left: &PreparedRecords, a: u32, right: &PreparedRecords, b: u32) -> bool {
        if self.keys.is_empty() {
            return false;
        }
        let (mut x, mut y) = ([0u8; 8], [0u8; 8]);
        self.keys.iter().all(|k| {
            match (k.value(left, a as usize, &mut x), k.value(right, b as usize, &mut y)) {
                (Some(p), Some(q)) => p == q,
                _ => false,
            }
        })
    }

    /// Feeds record `i`'s keys to `hasher`; false when a key is missing (no block).
    pub(crate) fn hash_into(&self, t: &PreparedRecords, i: u32, hasher: &mut Xxh3) -> bool {
        if self.keys.is_empty() {
            return false;
        }
        let mut buf = [0u8; 8];
        for k in &self.keys {
            match k.value(t, i as usize, &mut buf) {
                Some(v) => {
                    // Length-prefixed, so that ("ab", "c") and ("a", "bc") differ.
                    hasher.update(&(v.len() as u32).to_le_bytes());
                    hasher.update(v);
                }
                None => return false,
            }
        }
        true
    }
}

impl fmt::Display for BlockingRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}
