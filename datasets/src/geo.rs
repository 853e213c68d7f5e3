//! Administrative units for synthetic addresses: the engine's reference tables (public geography,
//! `engine/data/admin/`), read into flat lists with the old -> new mapping.

use std::collections::HashMap;
use std::sync::LazyLock;

const LEGACY_TSV: &str = include_str!("../../engine/data/admin/legacy.tsv");
const CURRENT_TSV: &str = include_str!("../../engine/data/admin/current.tsv");

/// One unit: code, kind letters (`T`, `TP`, `Q`, `H`, `TX`, `P`, `X`, `TT`, `DK`), name, parent.
#[derive(Clone, Debug)]
pub(crate) struct Unit {
    pub code: &'static str,
    pub kind: &'static str,
    pub name: &'static str,
    pub parent: u32,
}

pub(crate) struct Geo {
    pub legacy_provinces: Vec<Unit>,
    pub districts: Vec<Unit>,
    pub wards: Vec<Unit>,
    /// 2025 wards each legacy ward became, the default first.
    pub successors: Vec<Vec<u32>>,
    pub provinces: Vec<Unit>,
    pub new_wards: Vec<Unit>,
    /// Legacy wards of each legacy province (wards are listed province by province).
    pub province_wards: Vec<std::ops::Range<u32>>,
}

pub(crate) static GEO: LazyLock<Geo> = LazyLock::new(Geo::load);

fn data_lines(text: &'static str) -> impl Iterator<Item = [&'static str; 5]> {
    text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).map(|l| {
        let mut f = [""; 5];
        for (slot, v) in f.iter_mut().zip(l.split('\t')) {
            *slot = v;
        }
        f
    })
}

impl Geo {
    fn load() -> Geo {
        let mut g = Geo {
            legacy_provinces: Vec::new(),
            districts: Vec::new(),
            wards: Vec::new(),
            successors: Vec::new(),
            provinces: Vec::new(),
            new_wards: Vec::new(),
            province_wards: Vec::new(),
        };
        let mut new_ward_by_code = HashMap::new();
        for [code, kind, name, _, _] in data_lines(CURRENT_TSV) {
            if code.len() == 2 {
                g.provinces.push(Unit { code, kind, name, parent: 0 });
            } else if let Some(p) = g.provinces.len().checked_sub(1) {
                new_ward_by_code.insert(code, g.new_wards.len() as u32);
                g.new_wards.push(Unit { code, kind, name, parent: p as u32 });
            }
        }
        for [code, kind, name, _, next] in data_lines(LEGACY_TSV) {
            match code.len() {
                2 => g.legacy_provinces.push(Unit { code, kind, name, parent: 0 }),
                3 => {
                    let p = g.legacy_provinces.len().saturating_sub(1) as u32;
                    g.districts.push(Unit { code, kind, name, parent: p });
                }
                _ => {
                    let succ: Vec<u32> =
                        next.split(' ').filter_map(|c| new_ward_by_code.get(c).copied()).collect();
                    if succ.is_empty() || g.districts.is_empty() {
                        continue;
                    }
                    let d = (g.districts.len() - 1) as u32;
                    g.wards.push(Unit { code, kind, name, parent: d });
                    g.successors.push(succ);
                }
            }
        }
        g.province_wards = vec![0..0; g.legacy_provinces.len()];
        for w in 0..g.wards.len() as u32 {
            let p = g.province_of_ward(w) as usize;
            let r = &mut g.province_wards[p];
            if r.start == r.end {
                *r = w..w + 1;
            } else {
                r.end = w + 1;
            }
        }
        g
    }

    /// The legacy province index of a legacy ward.
    pub fn province_of_ward(&self, ward: u32) -> u32 {
        self.districts[self.wards[ward as usize].parent as usize].parent
    }

    /// The 2-digit code of a legacy province, as a number (the CCCD province code).
    pub fn province_code(&self, province: u32) -> u16 {
        self.legacy_provinces[province as usize].code.parse().unwrap_or(1)
    }
}

/// The word written before a unit's name.
pub(crate) fn kind_word(kind: &str) -> &'static str {
    match kind {
        "T" => "Tỉnh",
        "TP" => "Thành phố",
        "Q" => "Quận",
        "H" => "Huyện",
        "TX" => "Thị xã",
        "P" => "Phường",
        "X" => "Xã",
        "TT" => "Thị trấn",
        "DK" => "Đặc khu",
        _ => "",
    }
}

/// The abbreviation clerks write for a unit's kind.
pub(crate) fn kind_abbrev(kind: &str) -> &'static str {
    match kind {
        "T" => "T.",
        "TP" => "TP.",
        "Q" => "Q.",
        "H" => "H.",
        "TX" => "TX.",
        "P" => "P.",
        "X" => "X.",
        "TT" => "TT.",
        "DK" => "ĐK.",
        _ => "",
    }
}

/// A residence: the part below the ward (house and street, or hamlet) and a legacy ward.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Residence {
    pub street: String,
    pub ward: u32,
    /// Which of the ward's 2025 successors the house is in.
    pub successor: u8,
}

/// How an address is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AddressForm {
    /// Before 1 July 2025: ward, district, province.
    Legacy,
    /// Since 1 July 2025: ward, province.
    Y2025,
}

impl Residence {
    /// The 2025 ward of this residence.
    pub fn new_ward(&self) -> u32 {
        let succ = &GEO.successors[self.ward as usize];
        succ[usize::from(self.successor) % succ.len()]
    }

    /// The address in `form`, unit kinds written out or abbreviated.
    pub fn render(&self, form: AddressForm, abbreviate: bool, out: &mut String) {
        let g = &*GEO;
        let word = |k: &str| if abbreviate { kind_abbrev(k) } else { kind_word(k) };
        let sep = if abbreviate { "" } else { " " };
        out.clear();
        if !self.street.is_empty() {
            out.push_str(&self.street);
            out.push_str(", ");
        }
        let push = |out: &mut String, u: &Unit| {
            out.push_str(word(u.kind));
            out.push_str(sep);
            out.push_str(u.name);
        };
        match form {
            AddressForm::Legacy => {
                let w = &g.wards[self.ward as usize];
                let d = &g.districts[w.parent as usize];
                let p = &g.legacy_provinces[d.parent as usize];
                push(out, w);
                out.push_str(", ");
                push(out, d);
                out.push_str(", ");
                push(out, p);
            }
            AddressForm::Y2025 => {
                let w = &g.new_wards[self.new_ward() as usize];
                let p = &g.provinces[w.parent as usize];
                push(out, w);
                out.push_str(", ");
                push(out, p);
            }
        }
    }
}
