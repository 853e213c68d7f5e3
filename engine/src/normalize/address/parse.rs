//! The parser: right to left, province first, each level looked up in the
//! scope of the level above it.

use unicode_normalization::UnicodeNormalization;

use super::fold::{Token, push_key, tokenize};
use super::units::{
    ALIAS_BIT, CURRENT_BIT, INDEX_MASK, TABLES, TAG_DISTRICT, TAG_DISTRICT_ANY, TAG_PROVINCE, TAG_WARD,
    TAG_WARD_2025, TAG_WARD_IN_PROVINCE, Tables, Unit, UnitKind,
};
use super::{AddressFlags, AddressScratch, Codes2025, LegacyCodes, ParsedAddress, Part};

/// Words written before (or after) a unit's name, with the kind they announce.
type Marker = (&'static [&'static [u8]], Option<UnitKind>);

const PROVINCE_BEFORE: &[Marker] = &[
    (&[b"thanh", b"pho"], Some(UnitKind::ThanhPho)),
    (&[b"tp"], Some(UnitKind::ThanhPho)),
    (&[b"tinh"], Some(UnitKind::Tinh)),
    (&[b"t"], Some(UnitKind::Tinh)),
];
const PROVINCE_AFTER: &[Marker] =
    &[(&[b"city"], Some(UnitKind::ThanhPho)), (&[b"province"], Some(UnitKind::Tinh))];
const DISTRICT_BEFORE: &[Marker] = &[
    (&[b"quan"], Some(UnitKind::Quan)),
    (&[b"q"], Some(UnitKind::Quan)),
    (&[b"huyen"], Some(UnitKind::Huyen)),
    (&[b"h"], Some(UnitKind::Huyen)),
    (&[b"thi", b"xa"], Some(UnitKind::ThiXa)),
    (&[b"tx"], Some(UnitKind::ThiXa)),
    (&[b"thanh", b"pho"], Some(UnitKind::ThanhPho)),
    (&[b"tp"], Some(UnitKind::ThanhPho)),
    (&[b"district"], None),
    (&[b"dist"], None),
];
const DISTRICT_AFTER: &[Marker] =
    &[(&[b"district"], None), (&[b"town"], Some(UnitKind::ThiXa)), (&[b"city"], Some(UnitKind::ThanhPho))];
const WARD_BEFORE: &[Marker] = &[
    (&[b"phuong"], Some(UnitKind::Phuong)),
    (&[b"p"], Some(UnitKind::Phuong)),
    (&[b"f"], Some(UnitKind::Phuong)),
    (&[b"ward"], Some(UnitKind::Phuong)),
    (&[b"xa"], Some(UnitKind::Xa)),
    (&[b"x"], Some(UnitKind::Xa)),
    (&[b"thi", b"tran"], Some(UnitKind::ThiTran)),
    (&[b"tt"], Some(UnitKind::ThiTran)),
    (&[b"dac", b"khu"], Some(UnitKind::DacKhu)),
    (&[b"dk"], Some(UnitKind::DacKhu)),
    (&[b"commune"], Some(UnitKind::Xa)),
];
/// Markers of districts that are not also markers of provinces.
const DISTRICT_ONLY_BEFORE: &[Marker] = &[
    (&[b"quan"], None),
    (&[b"q"], None),
    (&[b"huyen"], None),
    (&[b"h"], None),
    (&[b"thi", b"xa"], None),
    (&[b"tx"], None),
    (&[b"district"], None),
];
const WARD_AFTER: &[Marker] = &[(&[b"ward"], Some(UnitKind::Phuong)), (&[b"commune"], Some(UnitKind::Xa))];

/// Hamlet markers; `true` when the word is a marker wherever it stands,
/// `false` when it is also a common syllable (then it must open a segment or
/// be followed by a number).
const HAMLET: &[(&[&[u8]], bool)] = &[
    (&[b"to", b"dan", b"pho"], true),
    (&[b"tdp"], true),
    (&[b"khu", b"pho"], true),
    (&[b"kp"], true),
    (&[b"thon"], true),
    (&[b"xom"], true),
    (&[b"khom"], true),
    (&[b"ap"], false),
    (&[b"ban"], false),
    (&[b"buon"], false),
    (&[b"to"], false),
    (&[b"khu"], false),
];

const HOUSE_PREFIX: &[&[u8]] = &[b"so", b"sn", b"no", b"nha"];
const ALLEY_WORDS: &[&[u8]] = &[b"ngo", b"ngach", b"hem", b"kiet", b"hxh"];

/// A unit name found in the tokens.
#[derive(Clone, Copy, Debug)]
struct Found {
    /// First token, marker included.
    start: usize,
    /// One past the last token, marker included.
    end: usize,
    /// The name's tokens, markers excluded.
    name: (usize, usize),
    /// Kind announced by the marker.
    kind: Option<UnitKind>,
}

struct Ctx<'a> {
    input: &'a str,
    t: &'static Tables,
    folded: &'a str,
    tokens: &'a [Token],
}

impl Ctx<'_> {
    fn word(&self, i: usize) -> &[u8] {
        match self.tokens.get(i) {
            Some(t) => self.folded.as_bytes().get(t.fold.0 as usize..t.fold.1 as usize).unwrap_or(&[]),
            None => &[],
        }
    }

    fn raw(&self, start: usize, end: usize) -> &str {
        if start >= end {
            return "";
        }
        let (Some(a), Some(b)) = (self.tokens.get(start), self.tokens.get(end - 1)) else {
            return "";
        };
        self.input.get(a.raw.0 as usize..b.raw.1 as usize).unwrap_or("")
    }

    fn seg(&self, i: usize) -> u32 {
        self.tokens.get(i).map_or(u32::MAX, |t| t.seg)
    }

    /// The marker ending just before token `pos`, in the segment `seg`,
    /// not before `lo`: (first token of the marker, kind).
    fn marker_before(
        &self,
        pos: usize,
        lo: usize,
        seg: u32,
        markers: &[Marker],
    ) -> Option<(usize, Option<UnitKind>)> {
        markers.iter().find_map(|&(words, kind)| {
            let k = words.len();
            if pos < lo + k || self.seg(pos - k) != seg {
                return None;
            }
            let all = words.iter().enumerate().all(|(j, w)| self.word(pos - k + j) == *w);
            // "xã" of "thị xã" is no ward marker.
            let tail_of_thi_xa = k == 1 && words[0] == b"xa" && pos > k && self.word(pos - k - 1) == b"thi";
            (all && !tail_of_thi_xa).then_some((pos - k, kind))
        })
    }

    /// Finds the unit name ending at token `e` (exclusive), not before `lo`,
    /// in any of `scratch.scopes`. Hits go to `scratch.hits` as (scope
    /// position, index value). A name preceded by a marker wins over a longer
    /// name without; a name made of numbers only needs a marker. An unmarked
    /// name right after a marker in `other` belongs to another level and is
    /// skipped ("Phường Ba Đình" is no district).
    #[allow(clippy::too_many_arguments)]
    fn find(
        &self,
        e: usize,
        lo: usize,
        before: &[Marker],
        after: &[Marker],
        other: &[&[Marker]],
        require_marker: bool,
        s: &mut AddressScratch,
    ) -> Option<Found> {
        s.hits.clear();
        if e <= lo {
            return None;
        }
        let seg = self.seg(e - 1);
        let mut name_end = e;
        let mut suffix_kind = None;
        let mut suffixed = false;
        let last = self.word(e - 1);
        if let Some(&(_, kind)) = after.iter().find(|(w, _)| w.len() == 1 && w[0] == last)
            && e - 1 > lo
            && self.seg(e - 2) == seg
        {
            name_end = e - 1;
            suffix_kind = kind;
            suffixed = true;
        }
        let mut fallback: Option<Found> = None;
        let max = self.t.max_tokens.min(name_end - lo);
        for len in (1..=max).rev() {
            let start = name_end - len;
            if self.seg(start) != seg {
                continue;
            }
            // Only marked names will do: look for the marker first, it is cheaper.
            if require_marker && !suffixed && self.marker_before(start, lo, seg, before).is_none() {
                continue;
            }
            s.key.clear();
            s.key.extend_from_slice(&[0, 0, 0]);
            let mut numeric = true;
            for i in start..name_end {
                push_key(&mut s.key, self.word(i));
                numeric &= self.tokens.get(i).is_some_and(|t| t.numeric);
            }
            s.hits.clear();
            for (pos, &(tag, scope)) in s.scopes.iter().enumerate() {
                let [a, b] = (scope as u16).to_le_bytes();
                s.key[0] = tag;
                s.key[1] = a;
                s.key[2] = b;
                if let Some(v) = self.t.index.get(s.key.as_slice()) {
                    s.hits.extend(v.iter().map(|&x| (pos as u32, x)));
                }
            }
            if s.hits.is_empty() {
                continue;
            }
            if let Some((m, kind)) = self.marker_before(start, lo, seg, before) {
                return Some(Found { start: m, end: e, name: (start, name_end), kind: kind.or(suffix_kind) });
            }
            if suffixed {
                return Some(Found { start, end: e, name: (start, name_end), kind: suffix_kind });
            }
            let foreign = other.iter().any(|m| self.marker_before(start, lo, seg, m).is_some());
            if !numeric && !require_marker && !foreign && fallback.is_none() {
                fallback = Some(Found { start, end: e, name: (start, name_end), kind: None });
                s.fallback.clear();
                s.fallback.extend_from_slice(&s.hits);
            }
        }
        s.hits.clear();
        if fallback.is_some() {
            s.hits.extend_from_slice(&s.fallback);
        }
        fallback
    }

    /// A marked but unknown unit closing the text at `e`: the marker must
    /// open the segment of token `e - 1`.
    fn unknown_marked(&self, e: usize, lo: usize, before: &[Marker]) -> Option<usize> {
        if e <= lo {
            return None;
        }
        let seg = self.seg(e - 1);
        let mut first = e - 1;
        while first > lo && self.seg(first - 1) == seg {
            first -= 1;
        }
        let (m, _) = before.iter().find_map(|&(words, kind)| {
            let k = words.len();
            let all = first + k < e && words.iter().enumerate().all(|(j, w)| self.word(first + j) == *w);
            all.then_some((first, kind))
        })?;
        Some(m)
    }
}

/// Scopes of a ward named without a district: 2025 wards of the 2025
/// provinces, then legacy wards of the legacy provinces.
fn set_ward_scopes(s: &mut AddressScratch) {
    s.scopes.clear();
    s.scopes.extend(s.provinces.iter().map(|&p| (TAG_WARD_2025, p)));
    s.scopes.extend(s.legacy_scope.iter().map(|&p| (TAG_WARD_IN_PROVINCE, p)));
}

/// Keeps the units of `kind` among `units`, if there are any.
fn filter_kind(units: &mut Vec<u32>, table: &[Unit], kind: Option<UnitKind>) {
    let Some(kind) = kind else { return };
    let is = |i: &u32| table.get(*i as usize).is_some_and(|u| u.kind == kind);
    if units.iter().any(is) {
        units.retain(is);
    }
}

/// Among names that fold alike ("Sa Pa" and "Sa Pả" in one town), keeps those
/// written exactly as in the text, accents included, if there are any.
fn refine_by_accents(raw: &str, units: &mut Vec<u32>, table: &[Unit]) {
    if units.len() < 2 {
        return;
    }
    fn letters(s: &str) -> impl Iterator<Item = char> + '_ {
        s.nfc().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase)
    }
    let exact = |i: &u32| table.get(*i as usize).is_some_and(|u| letters(u.name).eq(letters(raw)));
    if units.iter().any(exact) {
        units.retain(exact);
    }
}

fn push_unique(v: &mut Vec<u32>, x: u32) {
    if !v.contains(&x) {
        v.push(x);
    }
}

pub(super) fn parse(input: &str, s: &mut AddressScratch, out: &mut ParsedAddress) {
    let t: &'static Tables = &TABLES;
    let mut folded = std::mem::take(&mut s.folded);
    let mut tokens = std::mem::take(&mut s.tokens);
    tokenize(input, &mut folded, &mut tokens);
    let cx = Ctx { input, t, folded: &folded, tokens: &tokens };
    run(&cx, s, out);
    s.folded = folded;
    s.tokens = tokens;
}

/// Reads the units from the end of the address: country and postal code, province, ward (a
/// 2025 address) or district then ward (a legacy one); resolves them to codes and reads the
/// place within the ward from what precedes.
fn run(cx: &Ctx<'_>, s: &mut AddressScratch, out: &mut ParsedAddress) {
    let n = cx.tokens.len();
    if n == 0 {
        out.flags.insert(AddressFlags::EMPTY);
        return;
    }
    let mut e = country_end(cx, n);
    let (province, direct_legacy) = find_province(cx, s, &mut e, out);
    let province = province.is_some();
    let mut ward = find_2025_ward(cx, s, e, province);
    let mut district = None;
    let mut district_alias = false;
    if ward.is_none() {
        (district, district_alias) = find_district(cx, s, &mut e, province, direct_legacy, out);
    }
    let before = UnitsBefore { province, district: district.is_some(), direct_legacy };
    let (mixed_new, ward_alias) = find_ward(cx, s, &mut e, &mut ward, before, out);
    resolve(cx.t, s, out, district_alias, ward_alias, mixed_new);
    street_parts(cx, e, out);
}

/// Where the address ends once a trailing country and postal code are cut.
fn country_end(cx: &Ctx<'_>, n: usize) -> usize {
    // Country and postal code trail the province.
    let mut e = n;
    loop {
        let w = cx.word(e.wrapping_sub(1));
        if e >= 1 && (w == b"vietnam" || w == b"vn") {
            e -= 1;
        } else if e >= 2 && w == b"nam" && cx.word(e - 2) == b"viet" {
            e -= 2;
        } else if e >= 2 && cx.tokens.get(e - 1).is_some_and(|t| t.numeric && (5..=6).contains(&w.len())) {
            e -= 1;
        } else {
            break;
        }
    }

    e
}

/// Finds the province ending at `*e` and moves `*e` to its start. Returns what was found and
/// how many of the legacy provinces were named directly (the rest come from 2025 provinces).
fn find_province(
    cx: &Ctx<'_>,
    s: &mut AddressScratch,
    e: &mut usize,
    out: &mut ParsedAddress,
) -> (Option<Found>, usize) {
    let t = cx.t;
    s.legacy_provinces.clear();
    s.provinces.clear();
    s.legacy_scope.clear();
    s.scopes.clear();
    s.scopes.push((TAG_PROVINCE, 0));
    let province =
        cx.find(*e, 0, PROVINCE_BEFORE, PROVINCE_AFTER, &[DISTRICT_ONLY_BEFORE, WARD_BEFORE], false, s);
    if let Some(f) = province {
        for &(_, v) in &s.hits {
            let i = v & INDEX_MASK;
            if v & CURRENT_BIT != 0 {
                push_unique(&mut s.provinces, i);
            } else {
                push_unique(&mut s.legacy_provinces, i);
            }
        }
        out.set_part(Part::Province, cx.raw(f.start, f.end));
        *e = f.start;
    }
    let direct_legacy = s.legacy_provinces.len();
    if province.is_some() {
        if s.provinces.is_empty() {
            for &p in &s.legacy_provinces {
                if let Some(u) = t.legacy_provinces.get(p as usize)
                    && (u.next.0 as usize) < t.provinces.len()
                {
                    push_unique(&mut s.provinces, u.next.0);
                }
            }
        }
        if direct_legacy > 1 || s.provinces.len() > 1 {
            out.flags.insert(AddressFlags::AMBIGUOUS_PROVINCE);
        }
        s.legacy_scope.extend_from_slice(&s.legacy_provinces);
        for &p in &s.provinces {
            for &c in t.constituents.get(p as usize).map_or(&[][..], |v| v.as_slice()) {
                push_unique(&mut s.legacy_scope, c);
            }
        }
    } else {
        out.flags.insert(AddressFlags::PROVINCE_UNKNOWN);
    }
    (province, direct_legacy)
}

/// A 2025 address names its ward right before the province: finds it (clearing the districts
/// first).
fn find_2025_ward(cx: &Ctx<'_>, s: &mut AddressScratch, e: usize, province: bool) -> Option<Found> {
    // A 2025 address names its ward right before the province, marked
    // ("Xã Bắc Thanh Miện, TP Hải Phòng"): then there is no district to look
    // for, and a district name inside the ward's ("Thanh Miện") must not be
    // taken for one.
    s.districts.clear();
    if !province {
        return None;
    }
    set_ward_scopes(s);
    cx.find(e, 0, WARD_BEFORE, WARD_AFTER, &[], true, s)
}

/// Finds the district (legacy scheme only) ending at `*e` and moves `*e` to its start. Returns
/// what was found and whether it was named by an alias.
fn find_district(
    cx: &Ctx<'_>,
    s: &mut AddressScratch,
    e: &mut usize,
    province: bool,
    direct_legacy: usize,
    out: &mut ParsedAddress,
) -> (Option<Found>, bool) {
    let t = cx.t;
    let mut district_alias = false;
    s.scopes.clear();
    if province {
        s.scopes.extend(s.legacy_scope.iter().map(|&p| (TAG_DISTRICT, p)));
    } else {
        s.scopes.push((TAG_DISTRICT_ANY, 0));
    }
    let district = cx.find(*e, 0, DISTRICT_BEFORE, DISTRICT_AFTER, &[WARD_BEFORE], !province, s);
    if let Some(f) = district {
        // Prefer districts of the province named over those of provinces
        // merged into it.
        let direct = s.hits.iter().any(|&(pos, _)| (pos as usize) < direct_legacy);
        for &(pos, v) in &s.hits {
            if province && direct && pos as usize >= direct_legacy {
                continue;
            }
            push_unique(&mut s.districts, v & INDEX_MASK);
        }
        filter_kind(&mut s.districts, &t.legacy_districts, f.kind);
        refine_by_accents(cx.raw(f.name.0, f.name.1), &mut s.districts, &t.legacy_districts);
        district_alias =
            s.hits.iter().any(|&(_, v)| v & ALIAS_BIT != 0 && s.districts.contains(&(v & INDEX_MASK)));
        if province && !direct {
            out.flags.insert(AddressFlags::MIXED_SCHEMES);
        }
        out.set_part(Part::District, cx.raw(f.start, f.end));
        *e = f.start;
        if !province
            && s.districts.len() == 1
            && let Some(d) = t.legacy_districts.get(s.districts[0] as usize)
        {
            s.legacy_provinces.push(d.parent);
            if let Some(p) = t.legacy_provinces.get(d.parent as usize)
                && (p.next.0 as usize) < t.provinces.len()
            {
                s.provinces.push(p.next.0);
            }
            out.flags.insert(AddressFlags::PROVINCE_INFERRED);
        }
    } else if let Some(m) = cx.unknown_marked(*e, 0, DISTRICT_BEFORE)
        && province
    {
        out.flags.insert(AddressFlags::DISTRICT_UNKNOWN);
        out.set_part(Part::District, cx.raw(m, *e));
        *e = m;
    }
    (district, district_alias)
}

/// What the ward step needs to know of the units found before it.
#[derive(Clone, Copy)]
struct UnitsBefore {
    /// A province was found.
    province: bool,
    /// A district was found.
    district: bool,
    /// How many legacy provinces were named directly ([`find_province`]).
    direct_legacy: usize,
}

/// Finds the ward ending at `*e`, unless the 2025 reading found it already (`*ward`), and
/// moves `*e` to its start. Returns whether it is a 2025 ward under a legacy district and
/// whether it was named by an alias.
fn find_ward(
    cx: &Ctx<'_>,
    s: &mut AddressScratch,
    e: &mut usize,
    ward: &mut Option<Found>,
    before: UnitsBefore,
    out: &mut ParsedAddress,
) -> (bool, bool) {
    let t = cx.t;
    let UnitsBefore { province, district, direct_legacy } = before;
    // Ward, unless the 2025 reading above found it.
    if ward.is_none() {
        s.scopes.clear();
        if !s.districts.is_empty() {
            s.scopes.extend(s.districts.iter().map(|&d| (TAG_WARD, d)));
        } else if province {
            set_ward_scopes(s);
        }
        *ward =
            if s.scopes.is_empty() { None } else { cx.find(*e, 0, WARD_BEFORE, WARD_AFTER, &[], false, s) };
    }
    // A marked 2025 ward under the legacy district it replaced ("Phường Long
    // Mỹ, Thị xã Long Mỹ, Hậu Giang").
    let mut mixed_new = false;
    if ward.is_none() && !s.districts.is_empty() && !s.provinces.is_empty() {
        s.scopes.clear();
        s.scopes.extend(s.provinces.iter().map(|&p| (TAG_WARD_2025, p)));
        *ward = cx.find(*e, 0, WARD_BEFORE, WARD_AFTER, &[], true, s);
        mixed_new = ward.is_some();
    }
    s.legacy_wards.clear();
    s.wards.clear();
    let mut ward_alias = false;
    if let Some(f) = *ward {
        let n_new = if s.districts.is_empty() || mixed_new { s.provinces.len() } else { 0 };
        // Legacy wards of the provinces named win over those of provinces
        // merged into them.
        let has_districts = !s.districts.is_empty();
        let direct_pos = |pos: u32| {
            let pos = pos as usize;
            if has_districts {
                return true;
            }
            pos >= n_new && pos - n_new < direct_legacy
        };
        let direct = s.hits.iter().any(|&(pos, _)| pos as usize >= n_new && direct_pos(pos));
        for &(pos, v) in &s.hits {
            let i = v & INDEX_MASK;
            if (pos as usize) < n_new {
                push_unique(&mut s.wards, i);
            } else if !direct || direct_pos(pos) {
                push_unique(&mut s.legacy_wards, i);
            }
        }
        filter_kind(&mut s.wards, &t.wards, f.kind);
        filter_kind(&mut s.legacy_wards, &t.legacy_wards, f.kind);
        // The marker's kind settles between the two readings: "Xã Mường
        // Thanh" is the 2025 commune, not the legacy Phường Mường Thanh.
        if let Some(kind) = f.kind {
            let new_fits = s.wards.iter().any(|&i| t.wards.get(i as usize).is_some_and(|u| u.kind == kind));
            let old_fits = s
                .legacy_wards
                .iter()
                .any(|&i| t.legacy_wards.get(i as usize).is_some_and(|u| u.kind == kind));
            if new_fits && !old_fits {
                s.legacy_wards.clear();
            } else if old_fits && !new_fits {
                s.wards.clear();
            }
        }
        let raw_name = cx.raw(f.name.0, f.name.1);
        refine_by_accents(raw_name, &mut s.wards, &t.wards);
        refine_by_accents(raw_name, &mut s.legacy_wards, &t.legacy_wards);
        // A 2025 ward of the province named beats a legacy reading through a
        // province merged into it.
        if !direct && !s.wards.is_empty() {
            s.legacy_wards.clear();
        }
        ward_alias = s.hits.iter().any(|&(pos, v)| {
            v & ALIAS_BIT != 0
                && if (pos as usize) < n_new {
                    s.wards.len() == 1 && s.wards[0] == v & INDEX_MASK
                } else {
                    s.legacy_wards.len() == 1 && s.legacy_wards[0] == v & INDEX_MASK
                }
        });
        out.set_part(Part::Ward, cx.raw(f.start, f.end));
        *e = f.start;
    } else if let Some(m) = cx.unknown_marked(*e, 0, WARD_BEFORE)
        && (province || district)
    {
        out.flags.insert(AddressFlags::WARD_UNKNOWN);
        out.set_part(Part::Ward, cx.raw(m, *e));
        *e = m;
    }
    (mixed_new, ward_alias)
}

/// Turns the units found into codes of both schemes.
fn resolve(
    t: &Tables,
    s: &AddressScratch,
    out: &mut ParsedAddress,
    district_alias: bool,
    ward_alias: bool,
    mixed_new: bool,
) {
    let legacy_ward = |i: u32| t.legacy_wards.get(i as usize);
    let full = |w: &Unit| -> Option<LegacyCodes> {
        let d = t.legacy_districts.get(w.parent as usize)?;
        let p = t.legacy_provinces.get(d.parent as usize)?;
        Some(LegacyCodes { province: p.code, district: Some(d.code), ward: Some(w.code) })
    };
    let new_ward = |i: u32| -> Option<Codes2025> {
        let w = t.wards.get(i as usize)?;
        let p = t.provinces.get(w.parent as usize)?;
        Some(Codes2025 { province: p.code, ward: Some(w.code) })
    };
    let push_successors = |out: &mut ParsedAddress, unit: &Unit| {
        let succ = t.successors_of(unit);
        for &w in succ {
            if let Some(c) = new_ward(w) {
                out.new.push(c);
            }
        }
        if succ.len() > 1 {
            out.flags.insert(AddressFlags::SPLIT);
        }
        !succ.is_empty()
    };
    let province_level = |out: &mut ParsedAddress| {
        out.new.clear();
        for &p in &s.provinces {
            if let Some(u) = t.provinces.get(p as usize) {
                out.new.push(Codes2025 { province: u.code, ward: None });
            }
        }
    };
    let mut former = district_alias;

    if let (true, [d], [w]) = (mixed_new, s.districts.as_slice(), s.wards.as_slice()) {
        let d = t.legacy_districts.get(*d as usize);
        let p = d.and_then(|d| t.legacy_provinces.get(d.parent as usize));
        if let (Some(d), Some(p)) = (d, p) {
            out.old = Some(LegacyCodes { province: p.code, district: Some(d.code), ward: None });
        }
        if let Some(c) = new_ward(*w) {
            out.new.push(c);
        }
        out.flags.insert(AddressFlags::MIXED_SCHEMES);
        former |= ward_alias;
    } else if !s.districts.is_empty() {
        if s.legacy_wards.len() == 1 {
            if let Some(w) = legacy_ward(s.legacy_wards[0]) {
                out.old = full(w);
                push_successors(out, w);
                former |= ward_alias;
            }
        } else {
            if s.legacy_wards.len() > 1 {
                out.flags.insert(AddressFlags::AMBIGUOUS_WARD);
            }
            // The wards found may still settle the district.
            let mut parents = s.legacy_wards.iter().filter_map(|&i| legacy_ward(i)).map(|w| w.parent);
            let district = match (s.districts.len(), parents.next()) {
                (1, _) => Some(s.districts[0]),
                (_, Some(p)) if parents.all(|q| q == p) => Some(p),
                _ => None,
            };
            match district.and_then(|d| t.legacy_districts.get(d as usize)) {
                Some(d) => {
                    let p = t.legacy_provinces.get(d.parent as usize);
                    out.old = p.map(|p| LegacyCodes { province: p.code, district: Some(d.code), ward: None });
                    if !push_successors(out, d) {
                        let np = p.and_then(|p| t.provinces.get(p.next.0 as usize));
                        if let Some(np) = np {
                            out.new.push(Codes2025 { province: np.code, ward: None });
                        }
                    }
                }
                None => {
                    out.flags.insert(AddressFlags::AMBIGUOUS_DISTRICT);
                    if let [p] = s.legacy_provinces.as_slice() {
                        out.old = t.legacy_provinces.get(*p as usize).map(|p| LegacyCodes {
                            province: p.code,
                            district: None,
                            ward: None,
                        });
                    }
                    province_level(out);
                }
            }
        }
    } else {
        let old_unique = match s.legacy_wards.as_slice() {
            [w] => legacy_ward(*w),
            _ => None,
        };
        match s.wards.as_slice() {
            [w] => {
                if let Some(c) = new_ward(*w) {
                    out.new.push(c);
                }
                former |= ward_alias;
                if let Some(lw) = old_unique {
                    out.old = full(lw);
                    if !t.successors_of(lw).contains(w) {
                        out.flags.insert(AddressFlags::SCHEME_CONFLICT);
                    }
                }
            }
            [] if old_unique.is_some() => {
                if let Some(lw) = old_unique {
                    out.old = full(lw);
                    push_successors(out, lw);
                    former |= ward_alias;
                }
            }
            ws => {
                if ws.len() > 1 || s.legacy_wards.len() > 1 {
                    out.flags.insert(AddressFlags::AMBIGUOUS_WARD);
                }
                if let [p] = s.legacy_provinces.as_slice() {
                    out.old = t.legacy_provinces.get(*p as usize).map(|p| LegacyCodes {
                        province: p.code,
                        district: None,
                        ward: None,
                    });
                }
                province_level(out);
            }
        }
    }
    if former {
        out.flags.insert(AddressFlags::FORMER_NAME);
    }
    if out.old.is_some() && out.flags.contains(AddressFlags::PROVINCE_UNKNOWN) {
        out.flags.insert(AddressFlags::PROVINCE_INFERRED);
    }
}

/// House number, street and hamlet: what precedes the units, tokens `..e`.
fn street_parts(cx: &Ctx<'_>, e: usize, out: &mut ParsedAddress) {
    if e == 0 {
        return;
    }
    // Hamlet: the rightmost marker that qualifies.
    let mut hamlet: Option<(usize, usize)> = None;
    'scan: for i in (0..e).rev() {
        for &(words, strong) in HAMLET {
            let k = words.len();
            if i + k >= e || !words.iter().enumerate().all(|(j, w)| cx.word(i + j) == *w) {
                continue;
            }
            let seg = cx.seg(i);
            let opens = i == 0 || cx.seg(i - 1) != seg;
            let numbered = cx.tokens.get(i + k).is_some_and(|t| t.digit);
            if cx.seg(i + k) != seg || !(strong || opens || numbered) {
                continue;
            }
            let mut end = i + k;
            while end < e && cx.seg(end) == seg {
                end += 1;
            }
            hamlet = Some((i, end));
            break 'scan;
        }
    }
    // Segments just before that open with a hamlet marker belong to the
    // hamlet too ("Tổ 5, khu phố 2").
    if let Some((a, _)) = hamlet.as_mut() {
        while *a > 0 {
            let seg = cx.seg(*a - 1);
            let mut first = *a - 1;
            while first > 0 && cx.seg(first - 1) == seg {
                first -= 1;
            }
            let opens = HAMLET.iter().any(|&(words, _)| {
                first + words.len() < *a && words.iter().enumerate().all(|(j, w)| cx.word(first + j) == *w)
            });
            if !opens {
                break;
            }
            *a = first;
        }
    }
    let street_end = hamlet.map_or(e, |(a, _)| a);
    if let Some((a, b)) = hamlet {
        out.set_part(Part::Hamlet, cx.raw(a, b));
    }

    // House number, possibly after "số" / "số nhà".
    let mut i = 0;
    while i < street_end && HOUSE_PREFIX.contains(&cx.word(i)) {
        i += 1;
    }
    let mut street_start = 0;
    if cx.tokens.get(i).is_some_and(|t| t.digit) && i < street_end {
        out.set_part(Part::House, cx.raw(i, i + 1));
        if cx.word(i).contains(&b'/') {
            out.flags.insert(AddressFlags::ALLEY);
        }
        street_start = i + 1;
    }
    if street_start < street_end {
        out.set_part(Part::Street, cx.raw(street_start, street_end));
        if (street_start..street_end).any(|j| ALLEY_WORDS.contains(&cx.word(j))) {
            out.flags.insert(AddressFlags::ALLEY);
        }
    }
}
