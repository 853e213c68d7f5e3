//! Name lists with weights, and weighted choice.

use std::sync::LazyLock;

use rand::Rng;

/// Values with cumulative weights, for weighted choice by binary search.
pub(crate) struct Weighted {
    pub values: Vec<&'static str>,
    cumulative: Vec<f64>,
}

impl Weighted {
    fn parse(text: &'static str) -> Weighted {
        let mut values = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0.0;
        for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            let mut f = line.split('\t');
            let name = f.next().unwrap_or("").trim();
            let weight: f64 = f.next().and_then(|w| w.trim().parse().ok()).unwrap_or(1.0);
            if name.is_empty() || weight <= 0.0 {
                continue;
            }
            total += weight;
            values.push(name);
            cumulative.push(total);
        }
        Weighted { values, cumulative }
    }

    /// Total weight.
    pub fn total(&self) -> f64 {
        self.cumulative.last().copied().unwrap_or(0.0)
    }

    /// The share of `name` in percent.
    pub fn share(&self, name: &str) -> Option<f64> {
        let i = self.values.iter().position(|v| *v == name)?;
        let prev = if i == 0 { 0.0 } else { self.cumulative[i - 1] };
        Some((self.cumulative[i] - prev) / self.total() * 100.0)
    }

    pub fn pick<R: Rng>(&self, rng: &mut R) -> &'static str {
        let x = rng.random_range(0.0..self.total());
        let i = self.cumulative.partition_point(|&c| c <= x);
        self.values[i.min(self.values.len() - 1)]
    }
}

pub(crate) struct Names {
    pub family: Weighted,
    pub middle_male: Weighted,
    pub middle_female: Weighted,
    pub given_male: Weighted,
    pub given_female: Weighted,
    pub streets: Vec<&'static str>,
}

pub(crate) static NAMES: LazyLock<Names> = LazyLock::new(|| Names {
    family: Weighted::parse(include_str!("../../engine/data/family_names.tsv")),
    middle_male: Weighted::parse(include_str!("../data/middle_male.tsv")),
    middle_female: Weighted::parse(include_str!("../data/middle_female.tsv")),
    given_male: Weighted::parse(include_str!("../data/given_male.tsv")),
    given_female: Weighted::parse(include_str!("../data/given_female.tsv")),
    streets: include_str!("../data/streets.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect(),
});

/// The share of a family name in the generator's table, in percent (for tests and reports).
pub fn family_name_share(name: &str) -> Option<f64> {
    NAMES.family.share(name)
}
