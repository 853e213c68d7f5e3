//! The `score` stage: the Fellegi-Sunter model that turns a pair's comparison vector into a match
//! weight and a probability.
//!
//! A comparison (names, date of birth, CCCD...) sorts each record pair into one of its ordered
//! *levels* (exact, equal after folding, Jaro-Winkler ≥ 0.92, ..., else). For each level the model
//! holds two probabilities: `m`, the chance of that level among true matches, and `u`, among
//! non-matches. A pair's **match weight** is
//!
//! ```text
//! log2(λ / (1 - λ)) + Σ_comparisons log2(m_level / u_level)
//! ```
//!
//! where λ is the prior probability that a candidate pair is a match. The **match probability**
//! is `2^w / (1 + 2^w)`. A *null* level (a value missing on either side) carries no evidence: its
//! term is zero. A level marked for **term-frequency adjustment** replaces `u` by the frequency of
//! the agreeing value, when the caller supplies it: agreeing on "Nguyễn Văn Hùng" is then worth
//! far less than agreeing on a rare name.
//!
//! Training lives in [`train`]: `u` from random record pairs, `m` and λ by expectation-maximisation
//! over blocked pairs, or `m` from labelled matches. Models are saved and loaded as JSON.

pub mod train;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Smallest probability a parameter may take, so that no weight is infinite.
pub const MIN_PROBABILITY: f64 = 1e-6;

/// The shape of one comparison: its name and its levels, from most to least similar.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComparisonSpec {
    /// Name shown in explanations ("full_name", "date_of_birth"...).
    pub name: String,
    /// Level names, index = level number in comparison vectors.
    pub levels: Vec<String>,
    /// The level meaning "a value is missing": no evidence either way.
    pub null_level: Option<u8>,
    /// Levels whose `u` is replaced by the agreeing value's frequency when it is known.
    #[serde(default)]
    pub tf_levels: Vec<u8>,
}

/// `m` and `u` of one level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LevelParams {
    /// The level's name.
    pub name: String,
    /// Probability of this level among true matches.
    pub m: f64,
    /// Probability of this level among non-matches.
    pub u: f64,
}

/// Parameters of one comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComparisonParams {
    /// Its shape.
    pub spec: ComparisonSpec,
    /// One entry per level.
    pub levels: Vec<LevelParams>,
}

/// A trained Fellegi-Sunter model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Prior probability that a candidate pair is a match (λ).
    pub prior: f64,
    /// One entry per comparison, in comparison-vector order.
    pub comparisons: Vec<ComparisonParams>,
}

/// One term of a pair's explanation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Contribution {
    /// The comparison.
    pub comparison: String,
    /// The level the pair fell in.
    pub level: String,
    /// Its weight, in bits (0 for a null level).
    pub weight: f64,
}

impl Model {
    /// A model with uninformed parameters: `m` falling and `u` rising with the level index, which
    /// EM then corrects. Null levels get `m = u`.
    pub fn initial(specs: &[ComparisonSpec], prior: f64) -> Model {
        let comparisons = specs
            .iter()
            .map(|spec| {
                let counted: Vec<usize> =
                    (0..spec.levels.len()).filter(|&l| Some(l as u8) != spec.null_level).collect();
                let n = counted.len().max(1) as f64;
                let levels = spec
                    .levels
                    .iter()
                    .enumerate()
                    .map(|(level, name)| {
                        let (m, u) = match counted.iter().position(|&c| c == level) {
                            None => (1.0, 1.0),
                            Some(rank) => {
                                // m: 0.5, 0.25, ... from the most similar level; u the reverse.
                                let m = 0.5f64.powi(rank as i32 + 1).max(MIN_PROBABILITY);
                                let u = 0.5f64.powi((n as usize - rank) as i32).max(MIN_PROBABILITY);
                                (m, u)
                            }
                        };
                        LevelParams { name: name.clone(), m, u }
                    })
                    .collect();
                let mut params = ComparisonParams { spec: spec.clone(), levels };
                params.normalize();
                params
            })
            .collect();
        Model { prior: prior.clamp(MIN_PROBABILITY, 1.0 - MIN_PROBABILITY), comparisons }
    }

    /// Number of comparisons, the width of comparison vectors.
    pub fn width(&self) -> usize {
        self.comparisons.len()
    }

    /// Checks that a comparison vector fits the model.
    pub fn check_vector(&self, levels: &[u8]) -> Result<()> {
        if levels.len() != self.width() {
            return Err(Error::invalid(format!(
                "comparison vector of {} levels for a model of {} comparisons",
                levels.len(),
                self.width()
            )));
        }
        for (level, comparison) in levels.iter().zip(&self.comparisons) {
            if usize::from(*level) >= comparison.levels.len() {
                return Err(Error::invalid(format!(
                    "level {level} out of range for comparison `{}`",
                    comparison.spec.name
                )));
            }
        }
        Ok(())
    }

    /// The weight of the prior, in bits.
    pub fn prior_weight(&self) -> f64 {
        (self.prior / (1.0 - self.prior)).log2()
    }

    /// The weight in bits of `level` of comparison `comparison`; `tf` is the frequency of the
    /// agreeing value, used when the level is term-frequency adjusted.
    #[inline]
    pub fn level_weight(&self, comparison: usize, level: u8, tf: Option<f64>) -> f64 {
        let params = &self.comparisons[comparison];
        if params.spec.null_level == Some(level) {
            return 0.0;
        }
        let p = &params.levels[usize::from(level)];
        let u = match tf {
            Some(frequency) if params.spec.tf_levels.contains(&level) => frequency.max(MIN_PROBABILITY),
            _ => p.u,
        };
        (p.m / u).log2()
    }

    /// A pair's match weight in bits. Panics if `levels` does not fit the model (see
    /// [`Model::check_vector`]).
    #[inline]
    pub fn match_weight(&self, levels: &[u8]) -> f64 {
        self.prior_weight()
            + levels.iter().enumerate().map(|(c, &l)| self.level_weight(c, l, None)).sum::<f64>()
    }

    /// A pair's match weight with term frequencies: `tf[c]` is the frequency of the value the pair
    /// agrees on in comparison `c`, when known.
    pub fn match_weight_tf(&self, levels: &[u8], tf: &[Option<f64>]) -> f64 {
        self.prior_weight()
            + levels
                .iter()
                .enumerate()
                .map(|(c, &l)| self.level_weight(c, l, tf.get(c).copied().flatten()))
                .sum::<f64>()
    }

    /// The term of each comparison in a pair's weight, for people to read.
    pub fn explain(&self, levels: &[u8]) -> Vec<Contribution> {
        levels
            .iter()
            .enumerate()
            .map(|(c, &l)| Contribution {
                comparison: self.comparisons[c].spec.name.clone(),
                level: self.comparisons[c].levels[usize::from(l)].name.clone(),
                weight: self.level_weight(c, l, None),
            })
            .collect()
    }

    /// Saves the model as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a model always serializes")
    }

    /// Loads a model saved by [`Model::to_json`], checking that its parameters make sense.
    pub fn from_json(text: &str) -> Result<Model> {
        let model: Model =
            serde_json::from_str(text).map_err(|e| Error::invalid(format!("not a khop model: {e}")))?;
        if !(model.prior > 0.0 && model.prior < 1.0) {
            return Err(Error::invalid(format!("model prior {} is not in (0, 1)", model.prior)));
        }
        for comparison in &model.comparisons {
            if comparison.levels.len() != comparison.spec.levels.len() || comparison.levels.is_empty() {
                return Err(Error::invalid(format!(
                    "comparison `{}` has {} parameters for {} levels",
                    comparison.spec.name,
                    comparison.levels.len(),
                    comparison.spec.levels.len()
                )));
            }
            for level in &comparison.levels {
                let valid = |p: f64| p > 0.0 && p <= 1.0;
                if !valid(level.m) || !valid(level.u) {
                    return Err(Error::invalid(format!(
                        "comparison `{}`, level `{}`: m and u must be in (0, 1]",
                        comparison.spec.name, level.name
                    )));
                }
            }
        }
        Ok(model)
    }
}

/// A match weight in bits as a probability.
pub fn probability(weight: f64) -> f64 {
    let odds = weight.exp2();
    if odds.is_infinite() { 1.0 } else { odds / (1.0 + odds) }
}

impl ComparisonParams {
    /// Scales `m` and `u` over the non-null levels to sum to one, with a floor.
    pub(crate) fn normalize(&mut self) {
        fn pick_m(p: &mut LevelParams) -> &mut f64 {
            &mut p.m
        }
        fn pick_u(p: &mut LevelParams) -> &mut f64 {
            &mut p.u
        }
        let null = self.spec.null_level;
        for pick in [pick_m as fn(&mut LevelParams) -> &mut f64, pick_u] {
            let total: f64 = self
                .levels
                .iter_mut()
                .enumerate()
                .filter(|(l, _)| Some(*l as u8) != null)
                .map(|(_, p)| *pick(p))
                .sum();
            for (l, p) in self.levels.iter_mut().enumerate() {
                let value = pick(p);
                if Some(l as u8) == null {
                    *value = 1.0;
                } else if total > 0.0 {
                    *value = (*value / total).max(MIN_PROBABILITY);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, levels: &[&str], null: Option<u8>) -> ComparisonSpec {
        ComparisonSpec {
            name: name.into(),
            levels: levels.iter().map(|l| (*l).to_owned()).collect(),
            null_level: null,
            tf_levels: Vec::new(),
        }
    }

    #[test]
    fn weights_probabilities_and_explanations() {
        let mut model = Model::initial(&[spec("dob", &["null", "exact", "else"], Some(0))], 0.5);
        model.comparisons[0].spec.tf_levels = vec![1];
        model.comparisons[0].levels[1].m = 0.9;
        model.comparisons[0].levels[1].u = 0.01;
        model.comparisons[0].levels[2].m = 0.1;
        model.comparisons[0].levels[2].u = 0.99;
        assert_eq!(model.prior_weight(), 0.0);
        assert!((model.match_weight(&[1]) - (90f64).log2()).abs() < 1e-12);
        assert_eq!(model.match_weight(&[0]), 0.0, "a null level carries no evidence");
        assert!((probability(model.match_weight(&[0])) - 0.5).abs() < 1e-12);
        assert!(probability(model.match_weight(&[2])) < 0.1);
        // A common agreeing value is worth less than the average agreement.
        let common = model.match_weight_tf(&[1], &[Some(0.2)]);
        let rare = model.match_weight_tf(&[1], &[Some(0.0001)]);
        assert!(common < model.match_weight(&[1]) && model.match_weight(&[1]) < rare);
        let explanation = model.explain(&[1]);
        assert_eq!(explanation[0].level, "exact");
        assert!(model.check_vector(&[3]).is_err());
        assert!(model.check_vector(&[1, 1]).is_err());
        assert_eq!(probability(2000.0), 1.0);
    }

    #[test]
    fn json_round_trip_and_validation() {
        let model = Model::initial(&[spec("name", &["exact", "fuzzy", "else"], None)], 0.01);
        let back = Model::from_json(&model.to_json()).unwrap();
        assert_eq!(back, model);
        assert!(Model::from_json("{}").is_err());
        let broken = model.to_json().replace("\"prior\": 0.01", "\"prior\": 1.5");
        assert!(Model::from_json(&broken).unwrap_err().to_string().contains("prior"));
    }

    #[test]
    fn initial_parameters_are_distributions() {
        let model = Model::initial(&[spec("id", &["null", "exact", "one_edit", "else"], Some(0))], 0.1);
        let levels = &model.comparisons[0].levels;
        let m: f64 = levels[1..].iter().map(|l| l.m).sum();
        let u: f64 = levels[1..].iter().map(|l| l.u).sum();
        assert!((m - 1.0).abs() < 1e-9 && (u - 1.0).abs() < 1e-9);
        assert!(levels[1].m > levels[3].m && levels[1].u < levels[3].u);
    }
}
