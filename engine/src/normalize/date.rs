//! Dates of birth: every layout found in Vietnamese records, parsed into year + optional month and
//! day, with flags for what is doubtful. Parsing never fails: garbage becomes [`DateOfBirth::UNKNOWN`].
//!
//! Layouts (separators `/ - .` and spaces, freely mixed):
//! - `dd/mm/yyyy`, `d/m/yyyy` (cards), `yyyy-mm-dd` (databases; a trailing time is ignored),
//!   `yyyymmdd`, `ddmmyyyy`, `yyyy` (old birth certificates), `mm/yyyy`, `yyyy-mm`;
//! - two-digit years `d/m/yy` and six digits `ddmmyy`;
//! - Excel serial numbers (five digits, optionally `.0`): 1900 date system, with Excel's
//!   phantom 1900-02-29 (serial 60), which is kept and flagged impossible;
//! - "ngày 5 tháng 3 năm 1990", with or without accents, also "tháng 3 năm 1990", "năm 1990";
//! - MRZ `YYMMDD` only with [`DateOrder::Mrz`].
//!
//! Conventions:
//! - **Day first** is the default ([`DateOrder::DayFirst`]), the Vietnamese order. When the
//!   second number cannot be a month but the first can ("03/25/1990"), the two are swapped and
//!   [`DateFlags::SWAPPED`] is set. When both are ≤ 12 and differ ("05/03/1990"),
//!   [`DateFlags::AMBIGUOUS`] is set: the comparison stage may try the swap.
//! - **Two-digit years**: `yy <= pivot` means `20yy`, else `19yy`; the pivot defaults to
//!   [`DEFAULT_CENTURY_PIVOT`] (26: nobody in a 2026 file was born in 2027) and should be set to
//!   the two last digits of the year the data was collected ([`DateOptions::century_pivot`]).
//!   [`DateFlags::TWO_DIGIT_YEAR`] records that the century was guessed.
//! - **Impossible dates** (30/02, 31/04, 29/02 in a non-leap year) keep their raw numbers and get
//!   [`DateFlags::IMPOSSIBLE`]: old civil records contain them, and the same person may carry the
//!   re-registered date elsewhere. A month outside 1..=12 or a day above 31 is no calendar
//!   number at all ("13/13/1990", six digits "727222"): it is dropped (with the day, for a
//!   month) and the date keeps its year, flagged [`DateFlags::IMPOSSIBLE`]. A known month is
//!   always 1..=12 and a known day 1..=31.
//! - A day or month written as `0`/`00` is unknown ("00/00/1990" is a year-only date).
//! - `01/01` gets [`DateFlags::PLACEHOLDER`]: it is often a stand-in for an unknown day and month.
//! - Years outside 1800..=2200 make the value unknown.

use std::fmt;

/// Default two-digit-year pivot: `yy <= 26` reads as `20yy`.
pub const DEFAULT_CENTURY_PIVOT: u8 = 26;

/// Flags describing how a date was read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DateFlags(u16);

impl DateFlags {
    /// No flag.
    pub const NONE: Self = Self(0);
    /// The day does not exist in that month (30/02), or a written month (not 1..=12) or day
    /// (above 31) was dropped.
    pub const IMPOSSIBLE: Self = Self(1);
    /// Day and month are both ≤ 12 and differ: they may be swapped.
    pub const AMBIGUOUS: Self = Self(1 << 1);
    /// Day and month were swapped because the written month was > 12.
    pub const SWAPPED: Self = Self(1 << 2);
    /// The century was inferred from a two-digit year.
    pub const TWO_DIGIT_YEAR: Self = Self(1 << 3);
    /// Day and month are 01/01, a frequent placeholder for "unknown".
    pub const PLACEHOLDER: Self = Self(1 << 4);
    /// The value was an Excel serial day number.
    pub const EXCEL_SERIAL: Self = Self(1 << 5);
    /// The value was read as an MRZ `YYMMDD`.
    pub const MRZ: Self = Self(1 << 6);
    /// Words were present ("ngày ... tháng ... năm ...").
    pub const TEXT: Self = Self(1 << 7);

    /// Whether every flag in `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Sets the flags of `other`.
    pub fn insert(&mut self, other: Self) {
        self.0 |= other.0;
    }

    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The raw bits.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Names of the set flags, lower case (`"impossible"`, `"ambiguous"`, ...), for reports and
    /// test data.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        const NAMES: [&str; 8] = [
            "impossible",
            "ambiguous",
            "swapped",
            "two_digit_year",
            "placeholder",
            "excel_serial",
            "mrz",
            "text",
        ];
        NAMES.into_iter().enumerate().filter(move |(i, _)| self.0 & (1 << i) != 0).map(|(_, n)| n)
    }
}

impl std::ops::BitOr for DateFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// A date of birth: year plus optional month and day. `year == None` means unknown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DateOfBirth {
    /// The year, `None` when the value could not be read.
    pub year: Option<u16>,
    /// The month as written, always 1..=12 (see [`DateFlags::IMPOSSIBLE`]).
    pub month: Option<u8>,
    /// The day as written, always 1..=31 (may not exist in the month when
    /// [`DateFlags::IMPOSSIBLE`]).
    pub day: Option<u8>,
    /// How the value was read.
    pub flags: DateFlags,
}

impl DateOfBirth {
    /// The unknown date.
    pub const UNKNOWN: Self = Self { year: None, month: None, day: None, flags: DateFlags::NONE };

    /// Whether nothing could be read.
    pub const fn is_unknown(&self) -> bool {
        self.year.is_none()
    }

    /// Whether the date names an existing calendar day.
    pub fn is_valid_full_date(&self) -> bool {
        match (self.year, self.month, self.day) {
            (Some(y), Some(m), Some(d)) => (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m),
            _ => false,
        }
    }
}

impl fmt::Display for DateOfBirth {
    /// ISO-like: `1990-03-05`, `1990-03`, `1990`, or `unknown` (a day without month is shown as
    /// `1990-??-05`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.year, self.month, self.day) {
            (None, _, _) => f.write_str("unknown"),
            (Some(y), None, None) => write!(f, "{y:04}"),
            (Some(y), Some(m), None) => write!(f, "{y:04}-{m:02}"),
            (Some(y), Some(m), Some(d)) => write!(f, "{y:04}-{m:02}-{d:02}"),
            (Some(y), None, Some(d)) => write!(f, "{y:04}-??-{d:02}"),
        }
    }
}

/// Which order to assume for numeric dates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DateOrder {
    /// `d/m/y` (Vietnamese default). Four-digit-first values are still read as `y-m-d`.
    #[default]
    DayFirst,
    /// `m/d/y` (US-style exports).
    MonthFirst,
    /// `y/m/d`, also for two-digit years (`90/03/05`) and six digits (`900305`).
    YearFirst,
    /// MRZ `YYMMDD` (six digits); other layouts as [`DateOrder::YearFirst`].
    Mrz,
}

/// Options for [`parse_date_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DateOptions {
    /// Order of numeric fields.
    pub order: DateOrder,
    /// Two-digit years `<= century_pivot` are read as `20yy`, others as `19yy`.
    pub century_pivot: u8,
}

impl Default for DateOptions {
    fn default() -> Self {
        Self { order: DateOrder::DayFirst, century_pivot: DEFAULT_CENTURY_PIVOT }
    }
}

/// Parses a date of birth with the defaults (day first, pivot [`DEFAULT_CENTURY_PIVOT`]).
pub fn parse_date(s: &str) -> DateOfBirth {
    parse_date_with(s, DateOptions::default())
}

/// Parses a date of birth assuming `order` for numeric fields.
pub fn parse_date_ordered(s: &str, order: DateOrder) -> DateOfBirth {
    parse_date_with(s, DateOptions { order, ..DateOptions::default() })
}

/// Whether `y` is a leap year in the Gregorian calendar.
pub const fn is_leap(y: u16) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

/// Days in month `m` (1..=12) of year `y`; 0 for a month out of range.
pub const fn days_in_month(y: u16, m: u8) -> u8 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// A run of digits: value and number of digits.
#[derive(Clone, Copy, Debug)]
struct Num {
    value: u32,
    digits: u8,
}

const MAX_NUMS: usize = 4;

/// Which keyword preceded a number in the text form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Word {
    None,
    Day,
    Month,
    Year,
    Other,
}

/// Parses a date of birth. Never fails; see the module docs.
pub fn parse_date_with(s: &str, opts: DateOptions) -> DateOfBirth {
    let s = s.trim();
    if s.is_empty() || s.len() > 64 {
        return DateOfBirth::UNKNOWN;
    }
    // Cut a trailing time: "1990-03-05 00:00:00", "1990-03-05T00:00:00".
    let s = match s.find(':') {
        Some(colon) => {
            let head = &s[..colon];
            match head.rfind([' ', 'T', 't']) {
                Some(cut) => &s[..cut],
                None => return DateOfBirth::UNKNOWN,
            }
        }
        None => s,
    };

    // Tokenize into numbers, remembering the keyword before each (text form).
    let mut nums = [Num { value: 0, digits: 0 }; MAX_NUMS];
    let mut words = [Word::None; MAX_NUMS];
    let mut n = 0usize;
    let mut word_buf = [0u8; 8];
    let mut word_len = 0usize;
    let mut last_word = Word::None;
    let mut any_word = false;
    let mut cur: Option<Num> = None;
    let mut chars = s.chars().peekable();
    loop {
        let c = chars.next();
        let digit = c.and_then(|c| c.to_digit(10).filter(|_| c.is_ascii_digit()));
        if let Some(d) = digit {
            let num = cur.get_or_insert(Num { value: 0, digits: 0 });
            if num.digits >= 9 {
                return DateOfBirth::UNKNOWN;
            }
            num.value = num.value * 10 + d;
            num.digits += 1;
            continue;
        }
        if let Some(num) = cur.take() {
            if n >= MAX_NUMS {
                return DateOfBirth::UNKNOWN;
            }
            nums[n] = num;
            words[n] = last_word;
            last_word = Word::None;
            n += 1;
        }
        let Some(c) = c else { break };
        let f = super::text::fold_char(c);
        if f.is_ascii_alphabetic() {
            if word_len < word_buf.len() {
                word_buf[word_len] = f.to_ascii_lowercase() as u8;
            }
            word_len += 1;
            let next_is_letter =
                chars.peek().is_some_and(|&n| super::text::fold_char(n).is_ascii_alphabetic());
            if !next_is_letter {
                any_word = true;
                last_word = match &word_buf[..word_len.min(word_buf.len())] {
                    b"ngay" if word_len == 4 => Word::Day,
                    b"thang" if word_len == 5 => Word::Month,
                    b"nam" if word_len == 3 => Word::Year,
                    _ => Word::Other,
                };
                if last_word == Word::Other {
                    return DateOfBirth::UNKNOWN;
                }
                word_len = 0;
            }
        } else if unicode_normalization::char::is_combining_mark(c) {
            // Decomposed accents on the keywords.
        } else if !(matches!(c, '/' | '-' | '.' | ',' | '_') || c.is_whitespace()) {
            return DateOfBirth::UNKNOWN;
        }
    }
    let nums = &nums[..n];
    if any_word {
        return from_words(nums, &words[..n], opts);
    }
    from_numbers(nums, opts)
}

fn from_words(nums: &[Num], words: &[Word], opts: DateOptions) -> DateOfBirth {
    let (mut y, mut m, mut d) = (None, None, None);
    for (num, w) in nums.iter().zip(words) {
        let slot = match w {
            Word::Day => &mut d,
            Word::Month => &mut m,
            Word::Year => &mut y,
            _ => return DateOfBirth::UNKNOWN,
        };
        if slot.is_some() {
            return DateOfBirth::UNKNOWN;
        }
        *slot = Some(*num);
    }
    let Some(y) = y else {
        return DateOfBirth::UNKNOWN;
    };
    let mut flags = DateFlags::TEXT;
    let Some(year) = year_of(y, opts, &mut flags) else {
        return DateOfBirth::UNKNOWN;
    };
    let month = m.map(|m| small(m.value));
    let day = d.map(|d| small(d.value));
    finish(year, month, day, flags)
}

fn from_numbers(nums: &[Num], opts: DateOptions) -> DateOfBirth {
    let order = opts.order;
    match nums {
        [a] => single_number(*a, opts),
        [a, b] if a.digits == 5 && b.value == 0 => excel(a.value),
        [a, b] => {
            // mm/yyyy or yyyy-mm.
            let (y, m) = if a.digits == 4 && b.digits <= 2 {
                (*a, *b)
            } else if b.digits == 4 && a.digits <= 2 {
                (*b, *a)
            } else {
                return DateOfBirth::UNKNOWN;
            };
            let mut flags = DateFlags::NONE;
            match year_of(y, opts, &mut flags) {
                Some(year) => finish(year, Some(small(m.value)), None, flags),
                None => DateOfBirth::UNKNOWN,
            }
        }
        [a, b, c] => {
            if a.digits > 4 || b.digits > 2 || c.digits > 4 {
                return DateOfBirth::UNKNOWN;
            }
            if a.digits == 4
                || (a.digits <= 2 && matches!(order, DateOrder::YearFirst | DateOrder::Mrz) && c.digits <= 2)
            {
                // y-m-d
                if c.digits > 2 {
                    return DateOfBirth::UNKNOWN;
                }
                let mut flags = DateFlags::NONE;
                match year_of(*a, opts, &mut flags) {
                    Some(year) => finish(year, Some(small(b.value)), Some(small(c.value)), flags),
                    None => DateOfBirth::UNKNOWN,
                }
            } else {
                if a.digits > 2 {
                    return DateOfBirth::UNKNOWN;
                }
                let mut flags = DateFlags::NONE;
                let Some(year) = year_of(*c, opts, &mut flags) else {
                    return DateOfBirth::UNKNOWN;
                };
                day_month(year, small(a.value), small(b.value), order, flags)
            }
        }
        _ => DateOfBirth::UNKNOWN,
    }
}

fn single_number(a: Num, opts: DateOptions) -> DateOfBirth {
    let v = a.value;
    let mut flags = DateFlags::NONE;
    match a.digits {
        4 => match year_of(a, opts, &mut flags) {
            Some(year) => finish(year, None, None, flags),
            None => DateOfBirth::UNKNOWN,
        },
        5 => excel(v),
        6 => {
            let (p, q, r) = ((v / 10000) as u8, (v / 100 % 100) as u8, (v % 100) as u8);
            let two = |x: u8| Num { value: u32::from(x), digits: 2 };
            match opts.order {
                DateOrder::YearFirst | DateOrder::Mrz => {
                    if opts.order == DateOrder::Mrz {
                        flags.insert(DateFlags::MRZ);
                    }
                    match year_of(two(p), opts, &mut flags) {
                        Some(year) => finish(year, Some(q), Some(r), flags),
                        None => DateOfBirth::UNKNOWN,
                    }
                }
                order => match year_of(two(r), opts, &mut flags) {
                    Some(year) => day_month(year, p, q, order, flags),
                    None => DateOfBirth::UNKNOWN,
                },
            }
        }
        8 => {
            let head = v / 10000;
            if ((1800..=2200).contains(&head) && opts.order != DateOrder::MonthFirst)
                || opts.order == DateOrder::YearFirst
            {
                let year = Num { value: head, digits: 4 };
                match year_of(year, opts, &mut flags) {
                    Some(year) => finish(year, Some((v / 100 % 100) as u8), Some((v % 100) as u8), flags),
                    None => DateOfBirth::UNKNOWN,
                }
            } else {
                let year = Num { value: v % 10000, digits: 4 };
                match year_of(year, opts, &mut flags) {
                    Some(year) => {
                        day_month(year, (v / 1_000_000) as u8, (v / 10000 % 100) as u8, opts.order, flags)
                    }
                    None => DateOfBirth::UNKNOWN,
                }
            }
        }
        _ => DateOfBirth::UNKNOWN,
    }
}

/// Clamps a number to `u8` (values above 255 are impossible days or months anyway).
fn small(v: u32) -> u8 {
    u8::try_from(v).unwrap_or(u8::MAX)
}

fn year_of(y: Num, opts: DateOptions, flags: &mut DateFlags) -> Option<u16> {
    let year = match y.digits {
        1 | 2 => {
            flags.insert(DateFlags::TWO_DIGIT_YEAR);
            let yy = y.value;
            if yy <= u32::from(opts.century_pivot) { 2000 + yy } else { 1900 + yy }
        }
        4 => y.value,
        _ => return None,
    };
    if (1800..=2200).contains(&year) { u16::try_from(year).ok() } else { None }
}

/// Resolves the two leading numbers of a `d/m/y` or `m/d/y` date.
fn day_month(year: u16, a: u8, b: u8, order: DateOrder, mut flags: DateFlags) -> DateOfBirth {
    let (mut day, mut month) = if order == DateOrder::MonthFirst { (b, a) } else { (a, b) };
    if month > 12 && (1..=12).contains(&day) {
        std::mem::swap(&mut day, &mut month);
        flags.insert(DateFlags::SWAPPED);
    } else if (1..=12).contains(&day) && (1..=12).contains(&month) && day != month {
        flags.insert(DateFlags::AMBIGUOUS);
    }
    finish(year, Some(month), Some(day), flags)
}

/// Builds the value: zero day or month means unknown; a month above 12 (with its day) or a day
/// above 31 is dropped and flagged; checks existence; flags 01/01.
fn finish(year: u16, month: Option<u8>, day: Option<u8>, mut flags: DateFlags) -> DateOfBirth {
    let mut month = month.filter(|&m| m != 0);
    let mut day = day.filter(|&d| d != 0);
    if month.is_some_and(|m| m > 12) {
        // Not a month: the day beside it is no more trustworthy.
        flags.insert(DateFlags::IMPOSSIBLE);
        (month, day) = (None, None);
    }
    if day.is_some_and(|d| d > 31) {
        flags.insert(DateFlags::IMPOSSIBLE);
        day = None;
    }
    if let (Some(m), Some(d)) = (month, day) {
        if d > days_in_month(year, m) {
            flags.insert(DateFlags::IMPOSSIBLE);
        }
        if m == 1 && d == 1 {
            flags.insert(DateFlags::PLACEHOLDER);
        }
    }
    DateOfBirth { year: Some(year), month, day, flags }
}

/// Excel 1900 date system: serial 1 = 1900-01-01; serial 60 is the non-existent 1900-02-29
/// (Excel copied Lotus 1-2-3's leap-year bug), so serials above 60 are one day late.
fn excel(serial: u32) -> DateOfBirth {
    let flags = DateFlags::EXCEL_SERIAL;
    if serial == 0 || serial > 109_574 {
        // 109574 = 2199-12-31.
        return DateOfBirth::UNKNOWN;
    }
    if serial == 60 {
        return finish(1900, Some(2), Some(29), flags);
    }
    // Days since 1970-01-01 of 1899-12-31 is -25568; serials after the bug lose one day.
    let offset: i64 = if serial < 60 { -25568 } else { -25569 };
    let (y, m, d) = civil_from_days(i64::from(serial) + offset);
    match u16::try_from(y) {
        Ok(y) => finish(y, Some(m), Some(d), flags),
        Err(_) => DateOfBirth::UNKNOWN,
    }
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_serials() {
        assert_eq!(excel(1).to_string(), "1900-01-01");
        assert_eq!(parse_date("59").to_string(), "unknown"); // two digits: not a serial
        assert_eq!(excel(59).to_string(), "1900-02-28");
        assert_eq!(excel(61).to_string(), "1900-03-01");
        assert_eq!(parse_date("32874").to_string(), "1990-01-01");
        assert_eq!(parse_date("45658").to_string(), "2025-01-01");
    }
}
