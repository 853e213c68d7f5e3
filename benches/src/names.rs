//! Synthetic Vietnamese names for the name normalization benchmarks (never real people: common
//! family, middle and given names combined).

const FAMILY: [&str; 14] =
    ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"];
const MIDDLE: [&str; 12] =
    ["Văn", "Thị", "Hữu", "Đức", "Công", "Quang", "Minh", "Thanh", "Xuân", "Ngọc", "Kim", "Thu"];
const GIVEN: [&str; 16] = [
    "An", "Bình", "Chi", "Dũng", "Hoà", "Hương", "Khoa", "Lan", "Long", "Mai", "Nam", "Phúc", "Quý", "Thảo",
    "Thuỷ", "Tuấn",
];

/// Deterministic synthetic names: a quarter each as accented, accent-less, upper case and
/// reversed.
pub fn names(n: usize) -> Vec<String> {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed as usize
    };
    (0..n)
        .map(|i| {
            let f = FAMILY[next() % FAMILY.len()];
            let m = MIDDLE[next() % MIDDLE.len()];
            let g = GIVEN[next() % GIVEN.len()];
            let name = format!("{f} {m} {g}");
            match i % 4 {
                0 => name,
                1 => khop::normalize::text::fold_accents(&name),
                2 => name.to_uppercase(),
                _ => khop::normalize::text::fold_accents(&format!("{g} {m} {f}")),
            }
        })
        .collect()
}
