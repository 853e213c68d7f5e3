//! Role detection: which role a column plays, from its header name and, when the header says
//! nothing, from its values.
//!
//! Header names are compared after folding (lower case, no diacritics, no separators), so
//! `Họ và tên`, `ho_va_ten`, `HOVATEN` and `hoten` all name a full name.

use arrow_array::RecordBatch;

use crate::normalize::date::parse_date;
use crate::normalize::id::{IdShape, classify_id};
use crate::normalize::phone::{PhoneKind, parse_phone};
use crate::normalize::text::fold_accents;
use crate::read::TextColumn;
use crate::record::Role;

/// Share of sampled values that must fit a shape for the column to take its role.
const CONTENT_THRESHOLD: f64 = 0.9;

/// Header aliases, folded and without separators.
const HEADER_ROLES: &[(Role, &[&str])] = &[
    (
        Role::FullName,
        &[
            "hoten",
            "hovaten",
            "hotendaydu",
            "tendaydu",
            "hotencongdan",
            "hotennguoi",
            "fullname",
            "name",
            "hotenkhaisinh",
            "hotennguoidan",
            "hotenbenhnhan",
            "hotenhocsinh",
            "chusudung",
            "tenchusudung",
            "hotenchusudung",
            "chusohuu",
            "hotenchusohuu",
            "nguoisudung",
        ],
    ),
    (Role::FamilyName, &["ho", "familyname", "lastname", "surname"]),
    (Role::MiddleName, &["tendem", "tenlot", "dem", "middlename"]),
    (Role::GivenName, &["ten", "givenname", "firstname", "tengoi"]),
    (
        Role::DateOfBirth,
        &[
            "ngaysinh",
            "ngaythangnamsinh",
            "dob",
            "dateofbirth",
            "birthdate",
            "birthday",
            "namsinh",
            "sinhngay",
            "ngaysinhcongdan",
        ],
    ),
    (Role::Sex, &["gioitinh", "sex", "gender", "phai", "gt"]),
    (
        Role::NationalId,
        &[
            "socccd",
            "sodinhdanh",
            "cccd",
            "nationalid",
            "sodinhdanhcanhan",
            "madinhdanh",
            "socancuoc",
            "cancuoc",
            "cancuoccongdan",
            "pin",
            "personalid",
            "sddcn",
            "soddcn",
            "ddcn",
            "maddcn",
            "sodinhdanhcongdan",
            "socccdcmnd",
            "cccdcmnd",
            "sogiaytotuythan",
        ],
    ),
    (Role::OldId, &["socmnd", "cmnd", "chungminhnhandan", "oldid", "socmt", "cmt", "cmndcu"]),
    (
        Role::Phone,
        &["sodienthoai", "sdt", "phone", "dienthoai", "didong", "mobile", "phonenumber", "sodt", "tel"],
    ),
    (
        Role::Address,
        &[
            "diachi",
            "noithuongtru",
            "address",
            "noiohientai",
            "noicutru",
            "diachithuongtru",
            "diachilienhe",
            "choohientai",
            "noitamtru",
            "diachinha",
        ],
    ),
    (Role::HouseNumber, &["sonha", "housenumber", "streetnumber", "housenum"]),
    (Role::Street, &["duong", "tenduong", "street", "duongpho", "address1", "streetaddress", "addressline1"]),
    (Role::Hamlet, &["thon", "xom", "ap", "thonxom", "todanpho", "khupho", "hamlet", "village", "thonap"]),
    (Role::Ward, &["xa", "phuong", "xaphuong", "phuongxa", "ward", "commune"]),
    (Role::District, &["huyen", "quan", "quanhuyen", "huyenquan", "district"]),
    (Role::Province, &["tinh", "tinhthanh", "tinhthanhpho", "province", "thanhpho", "city"]),
    (Role::Hometown, &["quequan", "nguyenquan", "hometown", "noisinh"]),
    (Role::FatherName, &["hotencha", "tencha", "cha", "father", "fathername", "hotenbo", "bo"]),
    (Role::MotherName, &["hotenme", "tenme", "me", "mother", "mothername"]),
    (Role::SpouseName, &["hotenvochong", "vochong", "spouse", "spousename", "tenvochong"]),
    (Role::Email, &["email", "thudientu", "mail"]),
    (Role::Number, &["postcode", "zipcode", "zip", "postalcode", "mabuuchinh", "mabuudien"]),
];

/// Header names that mark a record id column.
const ID_HEADERS: &[&str] = &[
    "id",
    "recid",
    "recordid",
    "ma",
    "mahoso",
    "madoituong",
    "macanhan",
    "mabhxh",
    "sobhxh",
    "masobhxh",
    "mabhyt",
    "sothebhyt",
    "mahocsinh",
    "sodangky",
    "madangky",
    "sohoso",
    "uuid",
    "key",
    "personid",
    "stt",
];

/// What detection concluded about one column, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetectedColumn {
    /// The column's name.
    pub name: String,
    /// Its role, if one was found.
    pub role: Option<Role>,
    /// How the role was found ("header", "values: 98% are 12-digit numbers"...).
    pub evidence: String,
}

/// Roles detected for a file's columns, and the likely id column.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Detection {
    /// Columns in file order.
    pub columns: Vec<DetectedColumn>,
    /// A column that looks like a record id: named like one, or a national id whose sampled
    /// values are all different.
    pub id_column: Option<String>,
    /// The text encoding the file was read in (detected, unless the options named one); `None`
    /// for Parquet, or when detection did not read a file.
    pub encoding: Option<crate::read::TextEncoding>,
    /// The CSV delimiter the file was read with (detected, unless the options named one).
    pub delimiter: Option<u8>,
}

/// Reads the first rows of a file and detects its columns' roles.
pub fn detect_file(
    path: &std::path::Path,
    options: &crate::read::ReadOptions,
) -> crate::Result<(crate::read::Format, Detection)> {
    let options =
        crate::read::ReadOptions { columns: None, id_column: None, batch_size: 1000, ..options.clone() };
    let mut reader = crate::read::Reader::open(path, &options)?;
    let format = reader.format();
    let schema = reader.schema();
    let read = reader.detected();
    let with_read = |mut detection: Detection| {
        detection.encoding = read.encoding;
        detection.delimiter = read.delimiter;
        detection
    };
    // A first batch made only of rejected rows says nothing: look a little further.
    for _ in 0..8 {
        match reader.next() {
            Some(batch) => {
                let batch = batch?;
                if batch.records.num_rows() > 0 {
                    return Ok((format, with_read(detect(&batch.records))));
                }
            }
            None => break,
        }
    }
    Ok((format, with_read(detect(&RecordBatch::new_empty(schema)))))
}

/// Folds a header name: lower case, no diacritics, letters and digits only.
pub fn fold_header(name: &str) -> String {
    fold(name).chars().filter(char::is_ascii_alphanumeric).collect()
}

/// The role a header name gives its column, if any.
pub fn role_from_header(name: &str) -> Option<Role> {
    let folded = fold_header(name);
    HEADER_ROLES.iter().find(|(_, aliases)| aliases.contains(&folded.as_str())).map(|(role, _)| *role)
}

/// Detects roles for every column of `sample` (a first batch of the file).
pub fn detect(sample: &RecordBatch) -> Detection {
    let mut detection = Detection::default();
    let mut id_by_header = None;
    // Columns whose role is only the generic fallback: they may still turn out to be the id.
    let mut generic = Vec::new();
    for (field, array) in sample.schema().fields().iter().zip(sample.columns()) {
        let name = field.name().clone();
        let folded = fold_header(&name);
        if id_by_header.is_none() && ID_HEADERS.contains(&folded.as_str()) {
            id_by_header = Some(name.clone());
            detection.columns.push(DetectedColumn {
                name,
                role: None,
                evidence: "header names a record id".into(),
            });
            continue;
        }
        let values: Vec<&str> = TextColumn::new(array.as_ref())
            .map(|c| c.iter().flatten().take(1000).collect())
            .unwrap_or_default();
        let (role, evidence) = match role_from_header(&name) {
            Some(role) => (Some(role), "header".to_owned()),
            None => match role_from_values(&values) {
                Some((role, why)) => (Some(role), format!("values: {why}")),
                None => match generic_role(&values) {
                    Some((role, why)) => {
                        generic.push(name.clone());
                        (Some(role), format!("values: {why}"))
                    }
                    None => (None, "an empty column".to_owned()),
                },
            },
        };
        detection.columns.push(DetectedColumn { name, role, evidence });
    }
    // One column per person role: a later column that looks like a role an earlier one has is
    // left without it (a configuration may give it by hand), so that the detection validates.
    let mut taken: Vec<(Role, String)> = Vec::new();
    for column in &mut detection.columns {
        let Some(role) = column.role else { continue };
        if crate::config::role_repeats(role) {
            continue;
        }
        match taken.iter().find(|(r, _)| *r == role) {
            Some((_, first)) => {
                column.evidence = format!("also looks like {}, which `{first}` has", role.as_str());
                column.role = None;
            }
            None => taken.push((role, column.name.clone())),
        }
    }
    // Otherwise a code column ("mã ...", "số ...", "... id") without a role whose sampled values
    // are nearly all different (a duplicated or empty value is reported later, not a reason to
    // pick another column), and failing that a national id column whose values all are.
    let nearly_unique = |c: &DetectedColumn| {
        let array = sample.column_by_name(&c.name)?;
        let column = TextColumn::new(array.as_ref())?;
        (!column.is_empty() && distinct_share(&column) >= 0.95).then(|| c.name.clone())
    };
    let unique = |c: &DetectedColumn| {
        let array = sample.column_by_name(&c.name)?;
        let column = TextColumn::new(array.as_ref())?;
        (!column.is_empty() && all_distinct(&column)).then(|| c.name.clone())
    };
    detection.id_column = id_by_header
        .or_else(|| {
            detection
                .columns
                .iter()
                .filter(|c| c.role.is_none() || c.role == Some(Role::Text) || generic.contains(&c.name))
                .filter(|c| {
                    let folded = fold_header(&c.name);
                    folded.starts_with("ma") || folded.starts_with("so") || folded.ends_with("id")
                })
                .find_map(nearly_unique)
        })
        .or_else(|| detection.columns.iter().filter(|c| c.role == Some(Role::NationalId)).find_map(unique));
    if let Some(id) = &detection.id_column
        && let Some(column) = detection
            .columns
            .iter_mut()
            .find(|c| &c.name == id && (c.role.is_none() || generic.contains(&c.name)))
    {
        column.role = None;
        column.evidence = "a code whose values are nearly all different: the record id".into();
    }
    detection
}

/// The share of a column's values (missing ones included) that are present and seen once.
fn distinct_share(column: &TextColumn<'_>) -> f64 {
    let mut seen = std::collections::HashSet::new();
    let distinct = column.iter().filter(|v| v.is_some_and(|v| seen.insert(v))).count();
    distinct as f64 / column.len().max(1) as f64
}

fn all_distinct(column: &TextColumn<'_>) -> bool {
    let mut seen = std::collections::HashSet::new();
    column.iter().all(|v| v.is_some_and(|v| seen.insert(v)))
}

/// The role that a sample of values suggests, with a reason a person can check.
pub fn role_from_values(values: &[&str]) -> Option<(Role, String)> {
    if values.is_empty() {
        return None;
    }
    let share =
        |test: &dyn Fn(&str) -> bool| values.iter().filter(|v| test(v)).count() as f64 / values.len() as f64;
    let percent = |s: f64| format!("{:.0}%", s * 100.0);

    type Check<'a> = (Role, &'a str, &'a dyn Fn(&str) -> bool);
    let checks: [Check; 6] = [
        (Role::NationalId, "are 12-digit numbers", &|v| classify_id(v) == IdShape::Cccd12),
        (Role::OldId, "are 9-digit numbers", &|v| classify_id(v) == IdShape::Cmnd9),
        (Role::Phone, "are phone numbers", &is_phone),
        (Role::DateOfBirth, "are dates", &|v| parse_date(v).year.is_some()),
        (Role::Sex, "are sex values", &is_sex),
        (Role::Email, "are e-mail addresses", &is_email),
    ];
    for (role, what, test) in checks {
        let s = share(test);
        if s >= CONTENT_THRESHOLD {
            return Some((role, format!("{} {what}", percent(s))));
        }
    }
    // An id column holding whichever card the person showed: CCCDs, and CMNDs where no CCCD was
    // recorded (or the reverse). The majority names the column; linking compares a 9-digit value
    // in a CCCD column with the other table's CMND, and a CCCD against a CMND has its own level.
    let cccd = share(&|v| classify_id(v) == IdShape::Cccd12);
    let cmnd = share(&|v| classify_id(v) == IdShape::Cmnd9);
    if cccd + cmnd >= CONTENT_THRESHOLD {
        let role = if cccd >= cmnd { Role::NationalId } else { Role::OldId };
        return Some((
            role,
            format!("{} are 12-digit and {} 9-digit numbers (CCCD or CMND)", percent(cccd), percent(cmnd)),
        ));
    }
    let s = share(&looks_like_address);
    if s >= 0.6 {
        return Some((Role::Address, format!("{} name administrative units", percent(s))));
    }
    let s = share(&looks_like_full_name);
    if s >= 0.6 {
        return Some((Role::FullName, format!("{} start with a Vietnamese family name", percent(s))));
    }
    None
}

/// The generic role of a column that no person role fits: `number` when nearly every value is
/// digits (a postcode, a social security number), else `text`. Such columns are still evidence:
/// they are compared (exact, one edit, Jaro-Winkler) and blocked on when nearly unique.
fn generic_role(values: &[&str]) -> Option<(Role, String)> {
    let values: Vec<&str> = values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()).collect();
    if values.is_empty() {
        return None;
    }
    let digits = values
        .iter()
        .filter(|v| v.bytes().all(|b| b.is_ascii_digit() || matches!(b, b' ' | b'-' | b'.')))
        .filter(|v| v.bytes().any(|b| b.is_ascii_digit()))
        .count() as f64
        / values.len() as f64;
    Some(if digits >= 0.9 {
        (Role::Number, format!("{:.0}% are numbers; compared as a generic column", digits * 100.0))
    } else {
        (Role::Text, "no person role fits; compared as generic text".to_owned())
    })
}

/// Lower case without diacritics.
fn fold(value: &str) -> String {
    fold_accents(value).to_lowercase()
}

/// A Vietnamese mobile or landline number.
pub(crate) fn is_phone(value: &str) -> bool {
    matches!(parse_phone(value).kind(), PhoneKind::Mobile | PhoneKind::Landline)
}

fn is_sex(value: &str) -> bool {
    matches!(
        fold(value.trim()).as_str(),
        "nam" | "nu" | "m" | "f" | "male" | "female" | "nam gioi" | "nu gioi"
    )
}

fn is_email(value: &str) -> bool {
    let value = value.trim();
    match value.split_once('@') {
        Some((user, domain)) => !user.is_empty() && domain.contains('.') && !value.contains(' '),
        None => false,
    }
}

/// Frequent Vietnamese family names, folded (domain notes: these cover about 90% of people).
const COMMON_FAMILY_NAMES: &[&str] = &[
    "nguyen", "tran", "le", "pham", "hoang", "huynh", "phan", "vu", "vo", "dang", "bui", "do", "ho", "ngo",
    "duong", "ly", "dinh", "trinh", "doan", "lam", "mai", "truong", "cao", "luu", "ha",
];

fn looks_like_full_name(value: &str) -> bool {
    let folded = fold(value);
    let mut words: Vec<&str> = folded.split_whitespace().collect();
    // "Ông Nguyễn Văn An", "Bà Lê Thị Hoa": an honorific before a name.
    if words.len() >= 3 && crate::normalize::name::HONORIFICS.contains(&words[0]) {
        words.remove(0);
    }
    (2..=6).contains(&words.len())
        && words.iter().all(|w| w.chars().all(char::is_alphabetic))
        && (COMMON_FAMILY_NAMES.contains(&words[0])
            || words.last().is_some_and(|w| COMMON_FAMILY_NAMES.contains(w)))
}

fn looks_like_address(value: &str) -> bool {
    let folded = fold(value);
    let markers = [
        "phuong",
        "xa ",
        "quan",
        "huyen",
        "tinh",
        "tp.",
        "tp ",
        "thanh pho",
        "thon",
        "ap ",
        "duong",
        "p.",
        "q.",
        "to dan pho",
        "khu pho",
        "ngo ",
        "hem ",
    ];
    markers.iter().filter(|m| folded.contains(*m)).count() >= 1
        && (folded.contains(',') || folded.contains('-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_in_vietnamese_and_english() {
        let cases = [
            ("ho_ten", Role::FullName),
            ("Họ và tên", Role::FullName),
            ("HOTEN", Role::FullName),
            ("full_name", Role::FullName),
            ("ngay_thang_nam_sinh", Role::DateOfBirth),
            ("Ngày sinh", Role::DateOfBirth),
            ("dob", Role::DateOfBirth),
            ("Giới tính", Role::Sex),
            ("so_cccd", Role::NationalId),
            ("SO_DDCN", Role::NationalId),
            ("chu_su_dung", Role::FullName),
            ("Số định danh", Role::NationalId),
            ("so_cmnd", Role::OldId),
            ("SĐT", Role::Phone),
            ("so_dien_thoai", Role::Phone),
            ("noi_thuong_tru", Role::Address),
            ("Quê quán", Role::Hometown),
            ("ho_ten_cha", Role::FatherName),
            ("ho_ten_me", Role::MotherName),
            ("Email", Role::Email),
        ];
        for (header, role) in cases {
            assert_eq!(role_from_header(header), Some(role), "{header}");
        }
        assert_eq!(role_from_header("ghi_chu"), None);
    }

    #[test]
    fn values_decide_when_headers_do_not() {
        let role = |values: &[&str]| role_from_values(values).map(|(r, _)| r);
        assert_eq!(role(&["001090012345", "079185000123"]), Some(Role::NationalId));
        // CCCDs and, where the person showed the old card, CMNDs.
        assert_eq!(role(&["001090012345", "079185000123", "012345678"]), Some(Role::NationalId));
        assert_eq!(role(&["001090012345", "012345678", "012345679"]), Some(Role::OldId));
        assert_eq!(role(&["012345678", "212345678"]), Some(Role::OldId));
        assert_eq!(role(&["0912345678", "+84 983 123 456"]), Some(Role::Phone));
        assert_eq!(role(&["05/03/1990", "1985", "2001-12-31"]), Some(Role::DateOfBirth));
        assert_eq!(role(&["Nam", "Nữ", "nu"]), Some(Role::Sex));
        assert_eq!(role(&["Nguyễn Văn An", "Trần Thị Bình", "Le Van Hung"]), Some(Role::FullName));
        assert_eq!(role(&["Ông Nguyễn Văn An", "bà trần bình", "Anh Le Van Hung"]), Some(Role::FullName));
        assert_eq!(
            role(&["12 Lê Lợi, Phường 1, Quận 3, TP.HCM", "Thôn 2, xã An Bình, huyện Phú Giáo"]),
            Some(Role::Address)
        );
        assert_eq!(role(&["abc", "def"]), None);
        assert_eq!(role(&[]), None);
    }
}
