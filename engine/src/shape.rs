//! Quick shape checks of raw values, for role detection and profiling.
//!
//! These answer "does this look like a date / an id / Vietnamese with accents" cheaply, without
//! the full normalization of the `normalize` stage.

use unicode_normalization::UnicodeNormalization;

/// How an identity-number value is shaped, after removing spaces, dots and dashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IdShape {
    /// 12 digits (CCCD, or a 12-digit CMND).
    Digits12,
    /// 9 digits (old CMND).
    Digits9,
    /// Anything else.
    Other,
}

pub(crate) fn id_shape(value: &str) -> IdShape {
    let mut digits = 0;
    for c in value.chars() {
        match c {
            '0'..='9' => digits += 1,
            ' ' | '.' | '-' => {}
            _ => return IdShape::Other,
        }
    }
    match digits {
        12 => IdShape::Digits12,
        9 => IdShape::Digits9,
        _ => IdShape::Other,
    }
}

/// Digits of a value, ignoring spaces, dots, dashes, parentheses and a leading `+`.
fn phone_digits(value: &str) -> Option<String> {
    let trimmed = value.trim();
    let body = trimmed.strip_prefix('+').unwrap_or(trimmed);
    let mut digits = String::with_capacity(body.len());
    for c in body.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '.' | '-' | '(' | ')' => {}
            _ => return None,
        }
    }
    Some(digits)
}

/// A Vietnamese phone number: `0` and 9-10 digits, or `84` and 9-10 digits.
pub(crate) fn is_phone(value: &str) -> bool {
    let Some(digits) = phone_digits(value) else {
        return false;
    };
    let national =
        if let Some(rest) = digits.strip_prefix("84") { rest.len() >= 9 && rest.len() <= 10 } else { false };
    national || (digits.starts_with('0') && (digits.len() == 10 || digits.len() == 11))
}

/// Whether a value reads as a date of birth in one of the forms Vietnamese records use:
/// d/m/yyyy, d/m/yy, yyyy-mm-dd, yyyymmdd, yyyy, mm/yyyy, or "ngày 5 tháng 3 năm 1990".
pub(crate) fn is_date(value: &str) -> bool {
    let value = value.trim();
    let folded = fold(value);
    if folded.starts_with("ngay") || folded.starts_with("nam ") {
        let numbers: Vec<u32> =
            folded.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse().ok()).collect();
        return match numbers.as_slice() {
            [d, m, y] => valid_dmy(*d, *m, *y),
            [y] => plausible_year(*y),
            _ => false,
        };
    }
    let parts: Vec<&str> = value.split(['/', '-', '.', ' ']).filter(|p| !p.is_empty()).collect();
    let numbers: Option<Vec<u32>> = parts
        .iter()
        .map(|p| if p.bytes().all(|b| b.is_ascii_digit()) { p.parse().ok() } else { None })
        .collect();
    let Some(numbers) = numbers else { return false };
    match (parts.as_slice(), numbers.as_slice()) {
        ([p], [n]) if p.len() == 4 => plausible_year(*n),
        ([p], [n]) if p.len() == 8 => valid_dmy(n % 100, n / 100 % 100, n / 10_000),
        ([_, y], [m, yv]) if y.len() == 4 => (1..=12).contains(m) && plausible_year(*yv),
        ([y, _, _], [yv, m, d]) if y.len() == 4 => valid_dmy(*d, *m, *yv),
        ([_, _, y], [d, m, yv]) if y.len() == 4 => valid_dmy(*d, *m, *yv) || valid_dmy(*m, *d, *yv),
        ([_, _, y], [d, m, _]) if y.len() == 2 => (1..=31).contains(d) && (1..=12).contains(m),
        _ => false,
    }
}

fn plausible_year(year: u32) -> bool {
    (1850..=2100).contains(&year)
}

fn valid_dmy(day: u32, month: u32, year: u32) -> bool {
    plausible_year(year) && (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// Whether a value has letters with Vietnamese diacritics (tone or vowel marks, or đ).
pub(crate) fn has_diacritics(value: &str) -> bool {
    value.chars().any(|c| {
        !c.is_ascii() && (c == 'đ' || c == 'Đ' || c.nfd().any(|d| ('\u{0300}'..='\u{036F}').contains(&d)))
    })
}

/// Whether a value has any letter at all.
pub(crate) fn has_letters(value: &str) -> bool {
    value.chars().any(char::is_alphabetic)
}

/// Lower case without diacritics (đ becomes d explicitly: it does not decompose).
pub(crate) fn fold(value: &str) -> String {
    value
        .nfd()
        .filter(|c| !('\u{0300}'..='\u{036F}').contains(c))
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'đ' { 'd' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(id_shape("001 090 012 345"), IdShape::Digits12);
        assert_eq!(id_shape("012345678"), IdShape::Digits9);
        assert_eq!(id_shape("01234567A"), IdShape::Other);
        assert!(is_phone("0912 345 678"));
        assert!(is_phone("+84 912345678"));
        assert!(is_phone("01629123456"));
        assert!(!is_phone("001090012345"));
        for date in
            ["05/03/1990", "5/3/90", "1990-03-05", "19900305", "1990", "03/1990", "ngày 5 tháng 3 năm 1990"]
        {
            assert!(is_date(date), "{date}");
        }
        for not_date in ["Nguyễn Văn An", "32/13/1990", "001090012345", "12"] {
            assert!(!is_date(not_date), "{not_date}");
        }
        assert!(has_diacritics("Nguyễn"));
        assert!(has_diacritics("Đỗ"));
        assert!(!has_diacritics("Nguyen"));
        assert_eq!(fold("Đặng Thị Hoà"), "dang thi hoa");
    }
}
