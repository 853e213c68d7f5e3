//! The rules of each field: whether two prepared records disagree on it, and how (see the
//! table in the [module docs](super)).

use super::{ConflictKind, Field};
use crate::normalize::address::{Codes2025, LegacyCodes, UnitKind};
use crate::normalize::name::normalize_name;
use crate::normalize::prepared::{AddressForm, PreparedRecords};
use crate::normalize::text::{LegacyEncoding, decode_legacy_into, encode_legacy_into, fold_accents};
use crate::similarity::{self, DigitRelation};

/// A linked pair: sector record `a` of `l`, national record `b` of `r`.
pub(super) struct Pair<'a> {
    pub l: &'a PreparedRecords,
    pub a: usize,
    pub r: &'a PreparedRecords,
    pub b: usize,
    /// Whether either table's date column holds years only: dates are then compared by year.
    pub years_only: bool,
}

/// `missing` / `missing_in_national` when one side is empty, `Some(None)` when both are.
fn presence(sector_empty: bool, national_empty: bool) -> Option<Option<ConflictKind>> {
    match (sector_empty, national_empty) {
        (true, true) => Some(None),
        (true, false) => Some(Some(ConflictKind::Missing)),
        (false, true) => Some(Some(ConflictKind::MissingInNational)),
        (false, false) => None,
    }
}

#[inline]
fn at<T: Copy + Default>(v: &[T], i: usize) -> T {
    v.get(i).copied().unwrap_or_default()
}

impl Pair<'_> {
    pub fn check(&self, field: Field) -> Option<ConflictKind> {
        match field {
            Field::Name => self.name(),
            Field::DateOfBirth => self.date(),
            Field::Sex => self.sex(),
            Field::NationalId => self.national_id(),
            Field::OldId => digits(self.l.old_id().get(self.a), self.r.old_id().get(self.b)),
            Field::Phone => digits(self.l.phone().get(self.a), self.r.phone().get(self.b)),
            Field::Address => self.address(),
            Field::FatherName => parent(
                (self.l.father_full().get(self.a), self.l.father().get(self.a)),
                (self.r.father_full().get(self.b), self.r.father().get(self.b)),
            ),
            Field::MotherName => parent(
                (self.l.mother_full().get(self.a), self.l.mother().get(self.a)),
                (self.r.mother_full().get(self.b), self.r.mother().get(self.b)),
            ),
        }
    }

    fn name(&self) -> Option<ConflictKind> {
        let (l, a, r, b) = (self.l, self.a, self.r, self.b);
        let (fa, fb) = (l.folded_full().get(a), r.folded_full().get(b));
        if let Some(kind) = presence(fa.is_empty(), fb.is_empty()) {
            return kind;
        }
        if fa == fb && at(l.name_reversed(), a) == at(r.name_reversed(), b) {
            // The common case, without building keys.
            return None;
        }
        let written = |t: &PreparedRecords, i: usize| {
            let family = if at(t.name_reversed(), i) { tokens(t.folded_family().get(i)).count() } else { 0 };
            written_key(t.folded_full().get(i), family)
        };
        let (written_a, written_b) = (written(l, a), written(r, b));
        if written_a == written_b {
            return None;
        }
        let (ka, kb) = (spelling_key(fa), spelling_key(fb));
        if ka == kb || sorted_key(fa) == sorted_key(fb) {
            // The same names, written in another order.
            return Some(ConflictKind::NameOrder);
        }
        if legacy_written(l.full().get(a), fa, r.full().get(b)) {
            return None;
        }
        let same = |x: &[u8], y: &[u8]| spelling_key(x) == spelling_key(y);
        if same(l.folded_family().get(a), r.folded_family().get(b))
            && same(l.folded_given().get(a), r.folded_given().get(b))
        {
            let (ma, mb) = (l.folded_middle().get(a), r.folded_middle().get(b));
            if tokens_within(ma, mb) {
                return Some(ConflictKind::MiddleNameMissing);
            }
            if tokens_within(mb, ma) {
                return Some(ConflictKind::MiddleNameExtra);
            }
        }
        if l.phonetic_full().get(a) == r.phonetic_full().get(b) {
            return Some(ConflictKind::Spelling);
        }
        if similarity::osa(&ka, &kb) <= 2 {
            return Some(ConflictKind::Typo);
        }
        Some(ConflictKind::Different)
    }

    fn date(&self) -> Option<ConflictKind> {
        use ConflictKind::*;
        let (l, a, r, b) = (self.l, self.a, self.r, self.b);
        let (ys, yn) = (at(l.year(), a), at(r.year(), b));
        if let Some(kind) = presence(ys == 0, yn == 0) {
            return kind;
        }
        let (ms, mn, ds, dn) = (at(l.month(), a), at(r.month(), b), at(l.day(), a), at(r.day(), b));
        let years = || match ys.abs_diff(yn) {
            0 => None,
            1 => Some(YearOffByOne),
            100 => Some(Century),
            _ => Some(Different),
        };
        if self.years_only {
            return years();
        }
        let (full_s, full_n) = (ms != 0 && ds != 0, mn != 0 && dn != 0);
        let fits = |x: u8, y: u8| x == 0 || y == 0 || x == y;
        match (full_s, full_n) {
            (true, true) => {
                if (ys, ms, ds) == (yn, mn, dn) {
                    None
                } else if ys == yn && ms == dn && ds == mn {
                    Some(DayMonthSwapped)
                } else if ms == mn && ds == dn {
                    years()
                } else if ys == yn && (ds, ms) == (1, 1) {
                    Some(Placeholder)
                } else if ys == yn && ms == mn && ds.abs_diff(dn) == 1 {
                    Some(DayOffByOne)
                } else if ys == yn && ds == dn && ms.abs_diff(mn) == 1 {
                    Some(MonthOffByOne)
                } else {
                    Some(Different)
                }
            }
            _ if !(fits(ms, mn) && fits(ds, dn)) => Some(years().unwrap_or(Different)),
            _ if ys != yn => years(),
            (false, true) => Some(YearOnly),
            (true, false) => Some(NationalLessPrecise),
            // Both partial and compatible: a finer month on one side only.
            (false, false) if ms == mn => None,
            (false, false) => Some(if ms == 0 { YearOnly } else { NationalLessPrecise }),
        }
    }

    fn sex(&self) -> Option<ConflictKind> {
        let (x, y) = (at(self.l.sex(), self.a), at(self.r.sex(), self.b));
        presence(x == 0, y == 0).unwrap_or((x != y).then_some(ConflictKind::Different))
    }

    fn national_id(&self) -> Option<ConflictKind> {
        let (l, a, r, b) = (self.l, self.a, self.r, self.b);
        let (x, y) = (l.national_id().get(a), r.national_id().get(b));
        if let Some(kind) = presence(x.is_empty(), y.is_empty()) {
            return kind;
        }
        if x == y {
            return None;
        }
        if (x.len() == 9 && y.len() == 12) || x == r.old_id().get(b) {
            return Some(ConflictKind::OldId);
        }
        if let DigitRelation::OneSubstitution | DigitRelation::OneTransposition =
            similarity::digit_relation(x, y)
        {
            return Some(ConflictKind::OneDigit);
        }
        let (year, sex) = (at(l.cccd_year(), a), at(l.cccd_sex(), a));
        if year != 0 && at(r.year(), b) != 0 && year != at(r.year(), b) {
            return Some(ConflictKind::InconsistentBirthYear);
        }
        if sex != 0 && at(r.sex(), b) != 0 && sex != at(r.sex(), b) {
            return Some(ConflictKind::InconsistentSex);
        }
        Some(ConflictKind::Different)
    }

    fn address(&self) -> Option<ConflictKind> {
        let (l, a, r, b) = (self.l, self.a, self.r, self.b);
        let (fs, fnat) = (l.address_form(a as u32), r.address_form(b as u32));
        if let Some(kind) = presence(fs == AddressForm::Missing, fnat == AddressForm::Missing) {
            return kind;
        }
        if fs == AddressForm::Unresolved || fnat == AddressForm::Unresolved {
            return None;
        }
        if at(l.province(), a) != at(r.province(), b) {
            return Some(ConflictKind::DifferentProvince);
        }
        let both_legacy = fs == AddressForm::Legacy && fnat == AddressForm::Legacy;
        let (ds, dn) = (at(l.legacy_district(), a), at(r.legacy_district(), b));
        if both_legacy && ds != 0 && dn != 0 && ds != dn {
            return Some(ConflictKind::DifferentWard);
        }
        let (ws, wn) = (at(l.legacy_ward(), a), at(r.legacy_ward(), b));
        let same_place = if both_legacy && ws != 0 && wn != 0 {
            ws == wn || (ds == dn && same_folded(legacy_ward_name(ws), legacy_ward_name(wn)))
        } else {
            let (xs, ys): (Vec<u32>, Vec<u32>) = (l.wards_of(a).collect(), r.wards_of(b).collect());
            if xs.is_empty() || ys.is_empty() {
                // A ward on one side only: the same province is all that can be said.
                return None;
            }
            xs.iter().any(|w| ys.contains(w))
                || xs.iter().any(|&w| ys.iter().any(|&v| same_folded(ward_name(w), ward_name(v))))
        };
        let (ps, pn) = (l.place().get(a), r.place().get(b));
        if !same_place {
            Some(ConflictKind::DifferentWard)
        } else if !ps.is_empty() && !pn.is_empty() && ps != pn {
            Some(ConflictKind::DifferentStreet)
        } else if fs == AddressForm::Legacy && fnat == AddressForm::Y2025 {
            Some(ConflictKind::LegacyUnits)
        } else {
            None
        }
    }
}

/// Two units whose names are equal once accents are folded ("Nga Thanh" and "Nga Thành" in one
/// district, "Sa Pa" and "Sa Pả") cannot be told apart in an address written without accents,
/// so they count as the same place. Callers compare units of one district (or 2025 province).
fn same_folded(x: Option<(&str, UnitKind)>, y: Option<(&str, UnitKind)>) -> bool {
    match (x, y) {
        (Some((x, kx)), Some((y, ky))) => kx == ky && fold_accents(x) == fold_accents(y),
        _ => false,
    }
}

fn legacy_ward_name(code: u32) -> Option<(&'static str, UnitKind)> {
    LegacyCodes { ward: Some(code), ..LegacyCodes::default() }.ward_name()
}

fn ward_name(code: u32) -> Option<(&'static str, UnitKind)> {
    Codes2025 { ward: Some(code), ..Codes2025::default() }.ward_name()
}

/// Identity numbers and phones: equal, one digit off, different.
fn digits(x: &[u8], y: &[u8]) -> Option<ConflictKind> {
    if let Some(kind) = presence(x.is_empty(), y.is_empty()) {
        return kind;
    }
    match similarity::digit_relation(x, y) {
        DigitRelation::Equal => None,
        DigitRelation::OneSubstitution | DigitRelation::OneTransposition => Some(ConflictKind::OneDigit),
        _ => Some(ConflictKind::Different),
    }
}

/// Parents' names, each (normalized, folded): the same spelling key, a typo, different.
fn parent((x_full, x): (&[u8], &[u8]), (y_full, y): (&[u8], &[u8])) -> Option<ConflictKind> {
    if let Some(kind) = presence(x.is_empty(), y.is_empty()) {
        return kind;
    }
    let (kx, ky) = (spelling_key(x), spelling_key(y));
    if kx == ky || legacy_written(x_full, x, y_full) {
        None
    } else if similarity::osa(&kx, &ky) <= 2 {
        Some(ConflictKind::Typo)
    } else {
        Some(ConflictKind::Different)
    }
}

/// Whether the sector name and the national name are one name, the sector's written in a
/// legacy 8-bit encoding (TCVN3, VNI) read as Latin-1 that normalization left as it is because
/// every character of it is also a Vietnamese letter ("Huúnh" for "Huỳnh", "Thóy" for "Thúy"):
/// the national name so encoded reads as the sector's (folded), or the sector's so decoded
/// reads exactly as the national's (tone marks included: decoding Unicode text that was not
/// encoded can turn a typo such as "Hoààng" into another plausible name). Names are given
/// normalized (`*_full`) and folded. Only called for names that differ.
fn legacy_written(sector_full: &[u8], sector_folded: &[u8], national_full: &[u8]) -> bool {
    let (Ok(sector_full), Ok(national_full)) =
        (std::str::from_utf8(sector_full), std::str::from_utf8(national_full))
    else {
        return false;
    };
    // Normalization deletes some encoded bytes (symbols, a soft hyphen) and can leave ASCII; but
    // an ASCII name without accents must not have its typos pass for encoded marks ("Traan" is
    // not "Trần" in VNI) in the looser comparisons.
    let ascii = sector_full.is_ascii();
    let key = spelling_key(sector_folded);
    let mut converted = String::with_capacity(national_full.len().max(sector_full.len()) * 2);
    [LegacyEncoding::Tcvn3, LegacyEncoding::Vni].into_iter().any(|encoding| {
        if !national_full.is_ascii() {
            encode_legacy_into(national_full, encoding, &mut converted);
            // TCVN3's `ư` is a soft hyphen, which normalization drops when it cannot tell the
            // value is TCVN3 ("Cêng" for "Cường"); so does this comparison.
            converted.retain(|c| c != '\u{AD}');
            // Normalized as the sector's value was; or folded as it is, since normalizing
            // detects some encoded values (a lower-case name) and decodes them back.
            if spelling_key(normalize_name(&converted).folded_full.as_bytes()) == key
                || (!ascii && spelling_key(fold_accents(&converted.to_lowercase()).as_bytes()) == key)
            {
                return true;
            }
        }
        !ascii && {
            decode_legacy_into(sector_full, encoding, &mut converted);
            normalize_name(&converted).full == national_full
        }
    })
}

fn is_vowel(c: u8) -> bool {
    matches!(c, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
}

/// Appends folded letters with every `y` that follows a consonant written `i` (Vy/Vi, Ly/Li,
/// Quý/Quí: `qu` is a consonant), so that the two spellings agree; `uy`, `ay` stay.
fn push_letters(letters: impl Iterator<Item = u8>, out: &mut Vec<u8>) {
    for c in letters {
        let n = out.len();
        let after_consonant =
            n > 0 && (!is_vowel(out[n - 1]) || (out[n - 1] == b'u' && n > 1 && out[n - 2] == b'q'));
        out.push(if c == b'y' && after_consonant { b'i' } else { c });
    }
}

/// A folded name's letters, spaces removed (so that `Nguyễn Văn` and `NguyễnVăn` agree), with
/// the i/y spelling merged.
pub(super) fn spelling_key(folded: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(folded.len());
    push_letters(folded.iter().copied().filter(|&c| c != b' '), &mut out);
    out
}

/// The space-separated tokens of a folded value.
fn tokens(folded: &[u8]) -> impl Iterator<Item = &[u8]> {
    folded.split(|&c| c == b' ').filter(|t| !t.is_empty())
}

/// The spelling key of a folded name in the order it was written: for a name written given name
/// first, normalization moved the `family` tokens of the family name from the end to the front.
fn written_key(folded: &[u8], family: usize) -> Vec<u8> {
    let mut written: Vec<&[u8]> = tokens(folded).collect();
    let family = family.min(written.len());
    written.rotate_left(family);
    let mut out = Vec::with_capacity(folded.len());
    push_letters(written.into_iter().flatten().copied(), &mut out);
    out
}

/// The spelling keys of a folded name's tokens, sorted.
fn sorted_key(folded: &[u8]) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = tokens(folded).map(spelling_key).collect();
    keys.sort_unstable();
    keys
}

/// Whether the tokens of `small` are a proper sub-list of those of `big` (each found there).
fn tokens_within(small: &[u8], big: &[u8]) -> bool {
    let keys = |s: &[u8]| -> Vec<Vec<u8>> { tokens(s).map(spelling_key).collect() };
    let (small, big) = (keys(small), keys(big));
    small.len() < big.len() && small.iter().all(|t| big.contains(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelling_key_merges_final_i_and_y() {
        assert_eq!(spelling_key(b"tran thi vy"), b"tranthivi");
        assert_eq!(spelling_key(b"le quy"), b"lequi");
        assert_eq!(spelling_key(b"ngo huy"), b"ngohuy", "uy is a vowel pair, Huy is not Hui");
        assert_eq!(spelling_key(b"nguyen van an"), spelling_key(b"nguyenvan an"));
        assert_eq!(spelling_key(b"lythi ha"), spelling_key(b"ly thi ha"), "run together");
        assert!(tokens_within(b"", b"van"));
        assert!(tokens_within(b"minh", b"van minh"));
        assert!(!tokens_within(b"van", b"van"));
        assert!(!tokens_within(b"duc", b"van minh"));
    }
}
