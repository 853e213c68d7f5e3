//! Normalization of whole record batches, by role: the columns `khop normalize` writes for
//! inspection, and the values later stages compare.
//!
//! Each input column with a role becomes several output columns named `<column>.<part>`: a name
//! gives `.full`, `.family`, `.middle`, `.given`, `.folded`, `.phonetic` and `.flags`; a date of
//! birth `.year`, `.month`, `.day` and `.flags`; an id its cleaned `.digits`, `.shape`, the decoded
//! CCCD (`.birth_province`, `.birth_year`, `.sex`) and `.flags`, which include conflicts with the
//! record's own date of birth and sex; an address its parts and unit codes in both schemes. Rows
//! are never dropped or reordered: output row `i` is input row `i`.

use std::fmt::Write;
use std::sync::Arc;

use arrow_array::builder::{StringBuilder, UInt8Builder, UInt16Builder};
use arrow_array::{ArrayRef, RecordBatch, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use super::address::{AddressScratch, ParsedAddress, parse_address_into};
use super::date::{DateOfBirth, parse_date};
use super::id::{IdShape, check_id_consistency, parse_id};
use super::name::{NameScratch, NormalizedName, normalize_name_into};
use super::phone::{PhoneFlags, PhoneKind, parse_phone};
use super::sex::{Sex, parse_sex};
use super::text::{TextScratch, fold_accents_into, normalize_text_into};
use crate::error::{Error, Result};
use crate::read::{Batch, TextColumn};
use crate::record::{DatasetSpec, Role};

/// The parts a role's column is normalized into, with their Arrow types.
fn parts(role: Role) -> &'static [(&'static str, DataType)] {
    use DataType::{UInt8, UInt16, Utf8};
    match role {
        Role::FullName | Role::FatherName | Role::MotherName | Role::SpouseName => &[
            ("full", Utf8),
            ("family", Utf8),
            ("middle", Utf8),
            ("given", Utf8),
            ("folded", Utf8),
            ("phonetic", Utf8),
            ("flags", Utf8),
        ],
        Role::DateOfBirth => &[("year", UInt16), ("month", UInt8), ("day", UInt8), ("flags", Utf8)],
        Role::Sex => &[("sex", Utf8)],
        Role::NationalId | Role::OldId => &[
            ("digits", Utf8),
            ("shape", Utf8),
            ("birth_province", UInt16),
            ("birth_year", UInt16),
            ("sex", Utf8),
            ("flags", Utf8),
        ],
        Role::Phone => &[("e164", Utf8), ("kind", Utf8), ("flags", Utf8)],
        Role::Address | Role::Hometown => &[
            ("house", Utf8),
            ("street", Utf8),
            ("hamlet", Utf8),
            ("ward", Utf8),
            ("district", Utf8),
            ("province", Utf8),
            ("old_province_code", Utf8),
            ("old_district_code", Utf8),
            ("old_ward_code", Utf8),
            ("new_province_code", Utf8),
            ("new_ward_codes", Utf8),
            ("flags", Utf8),
        ],
        _ => &[("text", Utf8), ("folded", Utf8)],
    }
}

/// Normalizes record batches of one dataset.
#[derive(Clone, Debug)]
pub struct RecordNormalizer {
    dataset: DatasetSpec,
    schema: SchemaRef,
}

enum Out {
    Text(StringBuilder),
    U16(UInt16Builder),
    U8(UInt8Builder),
}

impl Out {
    fn text(&mut self, value: Option<&str>) {
        if let Out::Text(b) = self {
            match value {
                Some(v) if !v.is_empty() => b.append_value(v),
                _ => b.append_null(),
            }
        }
    }

    fn u16(&mut self, value: Option<u16>) {
        if let Out::U16(b) = self {
            b.append_option(value);
        }
    }

    fn u8(&mut self, value: Option<u8>) {
        if let Out::U8(b) = self {
            b.append_option(value);
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Out::Text(b) => Arc::new(b.finish()),
            Out::U16(b) => Arc::new(b.finish()),
            Out::U8(b) => Arc::new(b.finish()),
        }
    }
}

/// Working memory for one batch, reused between rows.
#[derive(Default)]
struct Scratch {
    text: TextScratch,
    name_scratch: NameScratch,
    name: NormalizedName,
    address_scratch: AddressScratch,
    address: ParsedAddress,
    buffer: String,
    flags: String,
}

impl RecordNormalizer {
    /// A normalizer for `dataset`'s columns. Output starts with `row` (the row number in the
    /// source file) and the id column, when there is one.
    pub fn new(dataset: &DatasetSpec) -> Self {
        let mut fields = vec![Field::new("row", DataType::UInt64, false)];
        if let Some(id) = &dataset.id_column {
            fields.push(Field::new(id, DataType::Utf8, true));
        }
        for column in &dataset.columns {
            for (part, data_type) in parts(column.role) {
                fields.push(Field::new(format!("{}.{part}", column.name), data_type.clone(), true));
            }
        }
        RecordNormalizer { dataset: dataset.clone(), schema: Arc::new(Schema::new(fields)) }
    }

    /// The schema of the normalized batches.
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    /// Normalizes a batch from a [`Reader`](crate::read::Reader) holding (at least) the dataset's
    /// columns.
    pub fn normalize(&self, batch: &Batch) -> Result<RecordBatch> {
        let records = &batch.records;
        let rows = records.num_rows();
        let column = |name: &str| -> Result<TextColumn<'_>> {
            let array = records
                .column_by_name(name)
                .ok_or_else(|| Error::invalid(format!("normalize: the batch has no column `{name}`")))?;
            TextColumn::new(array.as_ref())
                .ok_or_else(|| Error::invalid(format!("normalize: column `{name}` is not text")))
        };
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        arrays.push(Arc::new(UInt64Array::from(batch.rows.clone())));
        if let Some(id) = &self.dataset.id_column {
            let ids = column(id)?;
            let mut out = StringBuilder::with_capacity(rows, rows * 12);
            for value in ids.iter() {
                out.append_option(value);
            }
            arrays.push(Arc::new(out.finish()));
        }

        // Ids are checked against the record's own date of birth and sex.
        let first = |role| self.dataset.columns.iter().find(|c| c.role == role);
        let dates: Vec<DateOfBirth> = match first(Role::DateOfBirth) {
            Some(c) => {
                column(&c.name)?.iter().map(|v| v.map(parse_date).unwrap_or(DateOfBirth::UNKNOWN)).collect()
            }
            None => vec![DateOfBirth::UNKNOWN; rows],
        };
        let sexes: Vec<Sex> = match first(Role::Sex) {
            Some(c) => column(&c.name)?.iter().map(|v| v.map(parse_sex).unwrap_or(Sex::Unknown)).collect(),
            None => vec![Sex::Unknown; rows],
        };

        let mut scratch = Scratch::default();
        for spec in &self.dataset.columns {
            let input = column(&spec.name)?;
            let mut outs: Vec<Out> = parts(spec.role)
                .iter()
                .map(|(_, t)| match t {
                    DataType::UInt16 => Out::U16(UInt16Builder::with_capacity(rows)),
                    DataType::UInt8 => Out::U8(UInt8Builder::with_capacity(rows)),
                    _ => Out::Text(StringBuilder::with_capacity(rows, rows * 8)),
                })
                .collect();
            for (row, value) in input.iter().enumerate() {
                normalize_value(spec.role, value, (&dates[row], sexes[row]), &mut scratch, &mut outs);
            }
            arrays.extend(outs.iter_mut().map(Out::finish));
        }
        RecordBatch::try_new(self.schema(), arrays)
            .map_err(|e| Error::arrow("building the normalized batch", e))
    }
}

fn normalize_value(
    role: Role,
    value: Option<&str>,
    (dob, sex): (&DateOfBirth, Sex),
    s: &mut Scratch,
    outs: &mut [Out],
) {
    let Some(value) = value else {
        for out in outs.iter_mut() {
            out.text(None);
            out.u16(None);
            out.u8(None);
        }
        return;
    };
    s.flags.clear();
    match role {
        Role::FullName | Role::FatherName | Role::MotherName | Role::SpouseName => {
            normalize_name_into(value, &mut s.name_scratch, &mut s.name);
            let n = &s.name;
            outs[0].text(Some(&n.full));
            outs[1].text(Some(&n.family));
            outs[2].text(Some(&n.middle));
            outs[3].text(Some(&n.given));
            outs[4].text(Some(&n.folded_full));
            outs[5].text(Some(&n.phonetic_full));
            join(&mut s.flags, n.flags.names());
            outs[6].text(Some(&s.flags));
        }
        Role::DateOfBirth => {
            let date = parse_date(value);
            outs[0].u16(date.year);
            outs[1].u8(date.month);
            outs[2].u8(date.day);
            join(&mut s.flags, date.flags.names());
            if date.year.is_none() {
                join(&mut s.flags, ["unknown"].into_iter());
            }
            outs[3].text(Some(&s.flags));
        }
        Role::Sex => outs[0].text(sex_name(parse_sex(value))),
        Role::NationalId | Role::OldId => {
            let id = parse_id(value);
            outs[0].text(Some(id.as_str()));
            outs[1].text(Some(match id.shape() {
                IdShape::Cccd12 => "12_digits",
                IdShape::Cmnd9 => "9_digits",
                IdShape::Other => "invalid",
                IdShape::Empty => "empty",
            }));
            let mut flags = id.flags();
            match id.cccd().filter(|_| role == Role::NationalId) {
                Some(info) => {
                    flags.insert(check_id_consistency(&info, dob, sex));
                    outs[2].u16(Some(info.province_code));
                    outs[3].u16(Some(info.birth_year));
                    outs[4].text(sex_name(info.sex));
                }
                None => {
                    outs[2].u16(None);
                    outs[3].u16(None);
                    outs[4].text(None);
                }
            }
            join(&mut s.flags, flags.names());
            outs[5].text(Some(&s.flags));
        }
        Role::Phone => {
            let phone = parse_phone(value);
            outs[0].text(Some(phone.as_str()));
            outs[1].text(Some(match phone.kind() {
                PhoneKind::Mobile => "mobile",
                PhoneKind::Landline => "landline",
                PhoneKind::Foreign => "foreign",
                PhoneKind::Invalid => "invalid",
                PhoneKind::Empty => "empty",
            }));
            let flags = phone.flags();
            let names = [
                (PhoneFlags::CONVERTED_11_DIGIT, "converted_11_digit"),
                (PhoneFlags::LEADING_ZERO_RESTORED, "leading_zero_restored"),
            ];
            join(&mut s.flags, names.iter().filter(|(f, _)| flags.contains(*f)).map(|(_, n)| *n));
            outs[2].text(Some(&s.flags));
        }
        Role::Address | Role::Hometown => {
            parse_address_into(value, &mut s.address_scratch, &mut s.address);
            let a = &s.address;
            outs[0].text(a.house());
            outs[1].text(a.street());
            outs[2].text(a.hamlet());
            outs[3].text(a.ward());
            outs[4].text(a.district());
            outs[5].text(a.province());
            outs[6].text(a.old.as_ref().map(|o| o.province_code()).as_deref());
            outs[7].text(a.old.as_ref().and_then(|o| o.district_code()).as_deref());
            outs[8].text(a.old.as_ref().and_then(|o| o.ward_code()).as_deref());
            outs[9].text(a.new.first().map(|n| n.province_code()).as_deref());
            s.buffer.clear();
            for code in a.new.iter().filter_map(|n| n.ward_code()) {
                if !s.buffer.is_empty() {
                    s.buffer.push(',');
                }
                s.buffer.push_str(&code);
            }
            outs[10].text(Some(&s.buffer));
            join(&mut s.flags, a.flags.names());
            outs[11].text(Some(&s.flags));
        }
        _ => {
            normalize_text_into(value, &mut s.text, &mut s.buffer);
            outs[0].text(Some(&s.buffer));
            fold_accents_into(&s.buffer, &mut s.flags);
            outs[1].text(Some(&s.flags));
        }
    }
}

fn sex_name(sex: Sex) -> Option<&'static str> {
    match sex {
        Sex::Male => Some("male"),
        Sex::Female => Some("female"),
        Sex::Unknown => None,
    }
}

/// Appends flag names to a comma-separated list.
fn join<'a>(out: &mut String, names: impl Iterator<Item = &'a str>) {
    for name in names {
        if !out.is_empty() {
            out.push(',');
        }
        let _ = write!(out, "{name}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::ColumnSpec;

    #[test]
    fn one_row_of_each_role() {
        let dataset = DatasetSpec {
            id_column: Some("id".into()),
            columns: vec![
                ColumnSpec::new("ho_ten", Role::FullName),
                ColumnSpec::new("ngay_sinh", Role::DateOfBirth),
                ColumnSpec::new("gioi_tinh", Role::Sex),
                ColumnSpec::new("cccd", Role::NationalId),
                ColumnSpec::new("sdt", Role::Phone),
                ColumnSpec::new("ghi_chu", Role::Text),
            ],
        };
        let normalizer = RecordNormalizer::new(&dataset);
        let text = |values: &[Option<&str>]| -> ArrayRef {
            Arc::new(values.iter().copied().collect::<arrow_array::StringArray>())
        };
        let input = RecordBatch::try_from_iter([
            ("id", text(&[Some("1"), Some("2")])),
            ("ho_ten", text(&[Some("NGUYỄN VĂN HOÀ"), None])),
            ("ngay_sinh", text(&[Some("05/03/1990"), Some("1985")])),
            ("gioi_tinh", text(&[Some("Nữ"), Some("Nữ")])),
            ("cccd", text(&[Some("001 090 012 345"), Some("079185000123")])),
            ("sdt", text(&[Some("01629123456"), Some("abc")])),
            ("ghi_chu", text(&[Some("  Hộ  nghèo "), None])),
        ])
        .unwrap();
        let batch = Batch { records: input, rows: vec![7, 9], rejects: Vec::new() };
        let out = normalizer.normalize(&batch).unwrap();
        assert_eq!(out.num_rows(), 2);
        assert_eq!(out.schema().field(0).name(), "row");
        let get = |name: &str, row: usize| -> Option<String> {
            let array = out.column_by_name(name).unwrap_or_else(|| panic!("{name}"));
            if let Some(text) = TextColumn::new(array.as_ref()) {
                return text.get(row).map(str::to_owned);
            }
            arrow_cast::display::array_value_to_string(array, row).ok().filter(|s| !s.is_empty())
        };
        assert_eq!(get("ho_ten.family", 0).as_deref(), Some("nguyễn"));
        assert_eq!(get("ho_ten.folded", 0).as_deref(), Some("nguyen van hoa"));
        assert_eq!(get("ho_ten.full", 1), None);
        assert_eq!(get("ngay_sinh.year", 0).as_deref(), Some("1990"));
        assert_eq!(get("ngay_sinh.month", 1), None);
        assert_eq!(get("gioi_tinh.sex", 0).as_deref(), Some("female"));
        assert_eq!(get("cccd.digits", 0).as_deref(), Some("001090012345"));
        assert_eq!(get("cccd.birth_year", 0).as_deref(), Some("1990"));
        // The CCCD says male (digit 0), the record says female: a conflict worth reporting.
        assert_eq!(get("cccd.flags", 0).as_deref(), Some("sex_mismatch"));
        assert_eq!(get("cccd.flags", 1), None);
        assert_eq!(get("sdt.e164", 0).as_deref(), Some("+84329123456"));
        assert_eq!(get("sdt.flags", 0).as_deref(), Some("converted_11_digit"));
        assert_eq!(get("sdt.kind", 1).as_deref(), Some("invalid"));
        assert_eq!(get("ghi_chu.folded", 0).as_deref(), Some("ho ngheo"));
    }
}
