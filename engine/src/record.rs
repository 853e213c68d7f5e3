//! The record model: what a dataset is, to khop.
//!
//! A dataset is an Arrow schema, an id column, and columns with [`Role`]s. A role says what a
//! column holds (a full name, a date of birth, a 12-digit CCCD number...), and so decides how
//! later stages normalize and compare it. Columns without a role are not read.

use std::fmt;
use std::str::FromStr;

/// What a column holds. Roles drive normalization and comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Role {
    /// Whole name, family name first in Vietnamese order ("Nguyễn Văn An").
    FullName,
    /// Family name alone ("Nguyễn").
    FamilyName,
    /// Middle name(s) alone ("Văn", "Thị Thu").
    MiddleName,
    /// Given name alone ("An").
    GivenName,
    /// Date of birth, possibly year-only.
    DateOfBirth,
    /// Sex (Nam / Nữ ...).
    Sex,
    /// 12-digit personal identification number (CCCD / số định danh cá nhân).
    NationalId,
    /// Old identity card number (CMND), 9 or 12 digits.
    OldId,
    /// Phone number.
    Phone,
    /// Free-text address of residence.
    Address,
    /// House number part of an address.
    HouseNumber,
    /// Street, alley (ngõ, hẻm) part of an address.
    Street,
    /// Hamlet, village or residential group (thôn, xóm, ấp, tổ dân phố).
    Hamlet,
    /// Ward or commune (phường, xã, thị trấn, đặc khu).
    Ward,
    /// District (quận, huyện, thị xã); abolished by the 2025 reform but present in old records.
    District,
    /// Province or centrally governed city.
    Province,
    /// Ancestral home (quê quán), never compared with the address of residence.
    Hometown,
    /// Father's full name.
    FatherName,
    /// Mother's full name.
    MotherName,
    /// Spouse's full name.
    SpouseName,
    /// E-mail address.
    Email,
    /// Any other text, compared as a plain string.
    Text,
    /// Any other number, compared as a number.
    Number,
}

impl Role {
    /// Every role, in the order used in documentation and generated configurations.
    pub const ALL: [Role; 23] = [
        Role::FullName,
        Role::FamilyName,
        Role::MiddleName,
        Role::GivenName,
        Role::DateOfBirth,
        Role::Sex,
        Role::NationalId,
        Role::OldId,
        Role::Phone,
        Role::Address,
        Role::HouseNumber,
        Role::Street,
        Role::Hamlet,
        Role::Ward,
        Role::District,
        Role::Province,
        Role::Hometown,
        Role::FatherName,
        Role::MotherName,
        Role::SpouseName,
        Role::Email,
        Role::Text,
        Role::Number,
    ];

    /// The name used in configuration files (`full_name`, `date_of_birth`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::FullName => "full_name",
            Role::FamilyName => "family_name",
            Role::MiddleName => "middle_name",
            Role::GivenName => "given_name",
            Role::DateOfBirth => "date_of_birth",
            Role::Sex => "sex",
            Role::NationalId => "national_id",
            Role::OldId => "old_id",
            Role::Phone => "phone",
            Role::Address => "address",
            Role::HouseNumber => "house_number",
            Role::Street => "street",
            Role::Hamlet => "hamlet",
            Role::Ward => "ward",
            Role::District => "district",
            Role::Province => "province",
            Role::Hometown => "hometown",
            Role::FatherName => "father_name",
            Role::MotherName => "mother_name",
            Role::SpouseName => "spouse_name",
            Role::Email => "email",
            Role::Text => "text",
            Role::Number => "number",
        }
    }

    /// A short description for people, used in generated configurations.
    pub fn description(self) -> &'static str {
        match self {
            Role::FullName => "full name, family name first",
            Role::FamilyName => "family name (họ)",
            Role::MiddleName => "middle name (tên đệm)",
            Role::GivenName => "given name (tên)",
            Role::DateOfBirth => "date of birth (may be year only)",
            Role::Sex => "sex (giới tính)",
            Role::NationalId => "12-digit personal identification number (CCCD)",
            Role::OldId => "old identity card number (CMND, 9 or 12 digits)",
            Role::Phone => "phone number",
            Role::Address => "address of residence, free text",
            Role::HouseNumber => "house number",
            Role::Street => "street or alley",
            Role::Hamlet => "hamlet, village or residential group",
            Role::Ward => "ward or commune",
            Role::District => "district (pre-2025 units)",
            Role::Province => "province or city",
            Role::Hometown => "ancestral home (quê quán)",
            Role::FatherName => "father's full name",
            Role::MotherName => "mother's full name",
            Role::SpouseName => "spouse's full name",
            Role::Email => "e-mail address",
            Role::Text => "other text",
            Role::Number => "other number",
        }
    }

    /// Whether values of this role are people's names.
    pub fn is_name(self) -> bool {
        matches!(
            self,
            Role::FullName
                | Role::FamilyName
                | Role::MiddleName
                | Role::GivenName
                | Role::FatherName
                | Role::MotherName
                | Role::SpouseName
        )
    }

    /// Whether values of this role are written in Vietnamese words, so that the share written
    /// with diacritics is worth reporting.
    pub fn is_vietnamese_text(self) -> bool {
        self.is_name()
            || matches!(
                self,
                Role::Address
                    | Role::Street
                    | Role::Hamlet
                    | Role::Ward
                    | Role::District
                    | Role::Province
                    | Role::Hometown
            )
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown role name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRole(pub String);

impl fmt::Display for UnknownRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown role `{}`", self.0)
    }
}

impl std::error::Error for UnknownRole {}

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|role| role.as_str() == s).ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// One column of a dataset, with its role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnSpec {
    /// The column's name in the file.
    pub name: String,
    /// What it holds.
    pub role: Role,
    /// Values that mean "missing" in this column, in addition to the input's own null values
    /// (for example `"0000000000"` in a phone column).
    pub null_values: Vec<String>,
}

impl ColumnSpec {
    /// A column with a role and no extra options.
    pub fn new(name: impl Into<String>, role: Role) -> Self {
        ColumnSpec { name: name.into(), role, null_values: Vec::new() }
    }
}

/// The columns of a dataset that khop reads, and which one identifies a record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatasetSpec {
    /// The column holding each record's identifier; `None` numbers records by their row.
    pub id_column: Option<String>,
    /// Columns with roles, in the order they appear in the configuration.
    pub columns: Vec<ColumnSpec>,
}

impl DatasetSpec {
    /// The role of a column, if it has one.
    pub fn role_of(&self, column: &str) -> Option<Role> {
        self.columns.iter().find(|c| c.name == column).map(|c| c.role)
    }

    /// Names of every column to read: the id column first, then the columns with roles.
    pub fn column_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::with_capacity(self.columns.len() + 1);
        if let Some(id) = &self.id_column {
            names.push(id);
        }
        for column in &self.columns {
            if !names.contains(&column.name.as_str()) {
                names.push(&column.name);
            }
        }
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("surname".parse::<Role>().is_err());
    }

    #[test]
    fn column_names_put_id_first_once() {
        let spec = DatasetSpec {
            id_column: Some("id".into()),
            columns: vec![ColumnSpec::new("ho_ten", Role::FullName), ColumnSpec::new("id", Role::Text)],
        };
        assert_eq!(spec.column_names(), ["id", "ho_ten"]);
    }
}
