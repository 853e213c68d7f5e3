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
//! over blocked pairs, or `m` from labelled matches.
//!
//! Models are saved and loaded as JSON ([`Model::to_json`], [`Model::from_json`]), with a format
//! version ([`MODEL_FORMAT_VERSION`]): a file of another version is refused. A file without a
//! version was written before versions were recorded, in the layout of version 1, and is read as
//! version 1. A model meets the data it scores through [`Model::fitted_to`]: comparisons are
//! matched by name, and a model whose comparisons or levels differ from the data's is refused
//! (`ErrorKind::ModelMismatch`), never used by position.

pub mod train;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Smallest probability a parameter may take, so that no weight is infinite.
pub const MIN_PROBABILITY: f64 = 1e-6;

/// The version of the JSON layout that [`Model::to_json`] writes and [`Model::from_json`] reads.
pub const MODEL_FORMAT_VERSION: u64 = 1;

/// The `format` field of a saved model.
const MODEL_FORMAT: &str = "khop-model";

/// Most levels a comparison may have: levels are numbered by a `u8`.
const MAX_LEVELS: usize = 256;

/// A model as saved: the format, its version, then the model's own fields.
#[derive(Serialize)]
struct SavedModel<'m> {
    format: &'static str,
    version: u64,
    #[serde(flatten)]
    model: &'m Model,
}

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

/// A model's weights, level by level, computed once ([`Model::weight_table`]). The weights it
/// gives are the model's to the last bit: the same terms, added in the same order.
#[derive(Clone, Debug)]
pub struct WeightTable {
    prior: f64,
    /// Per comparison, per level: the weight, and `m` where the level is adjusted by term
    /// frequency.
    levels: Vec<Vec<(f64, Option<f64>)>>,
}

impl WeightTable {
    /// [`Model::match_weight_tf`], asking `tf(c)` for comparison `c`'s term frequency only when
    /// the pair's level there is adjusted by it. `levels` must fit the model (see
    /// [`Model::check_vector`]): a level out of range panics.
    #[inline]
    pub fn match_weight(&self, levels: &[u8], mut tf: impl FnMut(usize) -> Option<f64>) -> f64 {
        self.prior
            + levels
                .iter()
                .zip(&self.levels)
                .enumerate()
                .map(|(c, (&l, weights))| match weights[usize::from(l)] {
                    (weight, None) => weight,
                    (weight, Some(m)) => match tf(c) {
                        Some(frequency) => (m / frequency.max(MIN_PROBABILITY)).log2(),
                        None => weight,
                    },
                })
                .sum::<f64>()
    }
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

    /// Every level's weight computed once, for scoring millions of pairs without a logarithm
    /// each ([`WeightTable::match_weight`]).
    pub fn weight_table(&self) -> WeightTable {
        WeightTable {
            prior: self.prior_weight(),
            levels: self
                .comparisons
                .iter()
                .enumerate()
                .map(|(c, params)| {
                    (0..params.levels.len())
                        .map(|l| {
                            let tf_m = (params.spec.null_level != Some(l as u8)
                                && params.spec.tf_levels.contains(&(l as u8)))
                            .then_some(params.levels[l].m);
                            (self.level_weight(c, l as u8, None), tf_m)
                        })
                        .collect()
                })
                .collect(),
        }
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

    /// Saves the model as pretty JSON, with the format version ([`MODEL_FORMAT_VERSION`]).
    pub fn to_json(&self) -> String {
        let saved = SavedModel { format: MODEL_FORMAT, version: MODEL_FORMAT_VERSION, model: self };
        serde_json::to_string_pretty(&saved).expect("a model always serializes")
    }

    /// Loads a model saved by [`Model::to_json`], checking that its parameters make sense: a
    /// prior in (0, 1), for every comparison a unique name, between 1 and 256 levels with one
    /// `m` and `u` each (finite, in (0, 1]) named as the comparison's levels, and null and
    /// term-frequency levels that exist. A file of another format version is refused
    /// (`ErrorKind::ModelMismatch`); one without a version is read as version 1, the layout
    /// written before versions were recorded.
    pub fn from_json(text: &str) -> Result<Model> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| Error::invalid(format!("not a khop model: {e}")))?;
        let Some(object) = value.as_object() else {
            return Err(Error::invalid("not a khop model: the JSON is not an object"));
        };
        match object.get("format") {
            None => {}
            Some(serde_json::Value::String(f)) if f == MODEL_FORMAT => {}
            Some(other) => {
                return Err(Error::invalid(format!(
                    "not a khop model: its `format` is {other}, not \"{MODEL_FORMAT}\""
                )));
            }
        }
        match object.get("version") {
            // Models saved before versions were recorded have the layout of version 1.
            None => {}
            Some(v) if v.as_u64() == Some(MODEL_FORMAT_VERSION) => {}
            Some(v) => {
                return Err(Error::model_mismatch(format!(
                    "the model is in format version {v}; this khop reads version {MODEL_FORMAT_VERSION} \
                     (train the model again with this khop, or use the khop that wrote it)"
                )));
            }
        }
        let model: Model =
            serde_json::from_value(value).map_err(|e| Error::invalid(format!("not a khop model: {e}")))?;
        model.validate()?;
        Ok(model)
    }

    /// Checks that the parameters make sense (see [`Model::from_json`]).
    pub fn validate(&self) -> Result<()> {
        if !(self.prior > 0.0 && self.prior < 1.0) {
            return Err(Error::invalid(format!("model prior {} is not in (0, 1)", self.prior)));
        }
        if self.comparisons.is_empty() {
            return Err(Error::invalid("the model has no comparison"));
        }
        for (i, comparison) in self.comparisons.iter().enumerate() {
            let spec = &comparison.spec;
            let name = &spec.name;
            if self.comparisons[..i].iter().any(|c| c.spec.name == *name) {
                return Err(Error::invalid(format!("the model has two comparisons named `{name}`")));
            }
            let count = spec.levels.len();
            if count == 0 || count > MAX_LEVELS {
                return Err(Error::invalid(format!(
                    "comparison `{name}` has {count} levels; a comparison has 1 to {MAX_LEVELS}"
                )));
            }
            if comparison.levels.len() != count {
                return Err(Error::invalid(format!(
                    "comparison `{name}` has {} parameters for {count} levels",
                    comparison.levels.len()
                )));
            }
            for (level, (params, level_name)) in comparison.levels.iter().zip(&spec.levels).enumerate() {
                if params.name != *level_name {
                    return Err(Error::invalid(format!(
                        "comparison `{name}`: the parameters of level {level} are named `{}`, the level `{level_name}`",
                        params.name
                    )));
                }
                let valid = |p: f64| p > 0.0 && p <= 1.0;
                if !valid(params.m) || !valid(params.u) {
                    return Err(Error::invalid(format!(
                        "comparison `{name}`, level `{level_name}`: m and u must be in (0, 1], found m = {}, u = {}",
                        params.m, params.u
                    )));
                }
            }
            if let Some(null) = spec.null_level
                && usize::from(null) >= count
            {
                return Err(Error::invalid(format!(
                    "comparison `{name}`: null level {null} does not exist ({count} levels)"
                )));
            }
            if let Some(tf) = spec.tf_levels.iter().find(|&&l| usize::from(l) >= count) {
                return Err(Error::invalid(format!(
                    "comparison `{name}`: term-frequency level {tf} does not exist ({count} levels)"
                )));
            }
        }
        Ok(())
    }

    /// This model for data whose comparisons are `specs` (a linker's `specs()`), in `specs`'
    /// order. Comparisons are matched by name; each must have the same levels (names and
    /// count), null level and term-frequency levels on both sides. A model whose comparisons
    /// are all there but in another order is reordered (an owned copy); one that lacks a
    /// comparison, has one more, or differs in any level is refused with
    /// `ErrorKind::ModelMismatch`, naming each comparison and what differs.
    pub fn fitted_to(&self, specs: &[ComparisonSpec]) -> Result<Cow<'_, Model>> {
        self.fit(specs, false)
    }

    /// [`Model::fitted_to`] for a model that may hold more comparisons than `specs` (a model
    /// shared by several sources): those are left out.
    pub fn restricted_to(&self, specs: &[ComparisonSpec]) -> Result<Model> {
        self.fit(specs, true).map(Cow::into_owned)
    }

    fn fit(&self, specs: &[ComparisonSpec], extra_allowed: bool) -> Result<Cow<'_, Model>> {
        let in_order = self.comparisons.len() == specs.len()
            && self
                .comparisons
                .iter()
                .zip(specs)
                .all(|(c, s)| c.spec == *s && c.levels.len() == s.levels.len());
        if in_order {
            return Ok(Cow::Borrowed(self));
        }
        let mut problems = Vec::new();
        let mut comparisons = Vec::with_capacity(specs.len());
        for spec in specs {
            let Some(found) = self.comparisons.iter().find(|c| c.spec.name == spec.name) else {
                problems.push(format!("the model has no comparison `{}`, which the data needs", spec.name));
                continue;
            };
            let before = problems.len();
            spec_differences(&found.spec, spec, &mut problems);
            if found.levels.len() != found.spec.levels.len() {
                problems.push(format!(
                    "comparison `{}`: the model has {} parameters for {} levels",
                    spec.name,
                    found.levels.len(),
                    found.spec.levels.len()
                ));
            }
            if problems.len() == before {
                comparisons.push(found.clone());
            }
        }
        if !extra_allowed {
            for extra in self.comparisons.iter().filter(|c| !specs.iter().any(|s| s.name == c.spec.name)) {
                problems.push(format!(
                    "the model has a comparison `{}` that the data does not give",
                    extra.spec.name
                ));
            }
        }
        if problems.is_empty() {
            return Ok(Cow::Owned(Model { prior: self.prior, comparisons }));
        }
        let names = |list: &mut dyn Iterator<Item = &str>| list.collect::<Vec<_>>().join(", ");
        Err(Error::model_mismatch(format!(
            "the model does not fit the data (trained on other tables, or with other comparison settings?): {} \
             [model: {}; data: {}]",
            problems.join("; "),
            names(&mut self.comparisons.iter().map(|c| c.spec.name.as_str())),
            names(&mut specs.iter().map(|s| s.name.as_str())),
        )))
    }
}

/// What differs between a model's comparison `model` and the data's `data` (same name).
fn spec_differences(model: &ComparisonSpec, data: &ComparisonSpec, problems: &mut Vec<String>) {
    let name = &data.name;
    if model.levels != data.levels {
        let detail = if model.levels.len() != data.levels.len() {
            format!("{} levels in the model, {} in the data", model.levels.len(), data.levels.len())
        } else {
            let (i, (m, d)) = model
                .levels
                .iter()
                .zip(&data.levels)
                .enumerate()
                .find(|(_, (m, d))| m != d)
                .expect("the lists differ");
            format!("level {i} is `{m}` in the model, `{d}` in the data")
        };
        problems.push(format!(
            "comparison `{name}` has other levels: {detail} (model: {}; data: {})",
            model.levels.join(", "),
            data.levels.join(", ")
        ));
    }
    if model.null_level != data.null_level {
        let show = |l: Option<u8>| l.map_or("none".to_owned(), |l| l.to_string());
        problems.push(format!(
            "comparison `{name}`: the null level is {} in the model, {} in the data",
            show(model.null_level),
            show(data.null_level)
        ));
    }
    if model.tf_levels != data.tf_levels {
        problems.push(format!(
            "comparison `{name}`: term-frequency levels are {:?} in the model, {:?} in the data",
            model.tf_levels, data.tf_levels
        ));
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
    fn the_weight_table_gives_the_models_weights_to_the_last_bit() {
        let mut name = spec("name", &["null", "exact", "folded", "else"], Some(0));
        name.tf_levels = vec![1, 2];
        let specs = [
            name,
            spec("dob", &["null", "exact", "year", "else"], Some(0)),
            spec("sex", &["eq", "ne"], None),
        ];
        let mut model = Model::initial(&specs, 0.0003);
        model.comparisons[0].levels[1].m = 0.71;
        model.comparisons[1].levels[2].u = 0.013;
        let table = model.weight_table();
        let mut checked = 0;
        for a in 0..4u8 {
            for b in 0..4u8 {
                for c in 0..2u8 {
                    for tf in [None, Some(0.0), Some(1e-9), Some(0.37)] {
                        let levels = [a, b, c];
                        let expected = model.match_weight_tf(&levels, &[tf, None, None]);
                        let got = table.match_weight(&levels, |i| if i == 0 { tf } else { None });
                        assert_eq!(got.to_bits(), expected.to_bits(), "{levels:?} {tf:?}");
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 128);
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
