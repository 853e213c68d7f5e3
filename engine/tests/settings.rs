//! Settings checked in the library, every problem at once: link settings, cluster options, and
//! a configuration's `[link]` section applied over the defaults.

use std::path::Path;

use khop::cluster::{ClusterOptions, deduplicate};
use khop::compare::ComparisonOverride;
use khop::config::Config;
use khop::link::linker::{LinkSettings, Linker};
use khop::{Error, ErrorKind, Role};

use crate::model::table;

fn problems(e: Error) -> Vec<String> {
    match e.kind() {
        ErrorKind::Settings(problems) => problems.clone(),
        other => panic!("not a settings error: {other:?}"),
    }
}

fn comparison(name: &str, high: Option<f64>, low: Option<f64>, threshold: Option<f64>) -> ComparisonOverride {
    ComparisonOverride { name: name.into(), enabled: true, high, low, threshold }
}

#[test]
fn link_settings_report_every_problem() {
    assert!(LinkSettings::default().validate().is_ok());
    let mut settings = LinkSettings::default();
    settings.thresholds.match_probability = 1.5;
    settings.thresholds.review_probability = f64::NAN;
    settings.thresholds.ambiguity_margin = -1.0;
    settings.random_pairs = 0;
    settings.training_pairs_per_rule = 0;
    settings.blocking.max_block_pairs = 0;
    settings.em.tolerance = f64::INFINITY;
    settings.rules = Some(Vec::new());
    settings.comparisons = vec![
        comparison("name", Some(0.5), Some(0.9), None),
        comparison("father_name", None, None, Some(-0.1)),
    ];
    assert_eq!(
        problems(settings.validate().unwrap_err()),
        [
            "the match threshold must be a probability between 0 and 1, found 1.5",
            "the review threshold must be a probability between 0 and 1, found NaN",
            "the ambiguity margin must be a number of bits, 0 or more, found -1",
            "random_pairs (random pairs for u) must be above 0",
            "training_pairs_per_rule (blocked pairs per EM session) must be above 0",
            "max_block_pairs (the skew guard) must be above 0",
            "the EM tolerance must be finite, 0 or more, found inf",
            "the blocking rules are an empty list; give none to use the defaults",
            "comparison `name`: `low` (0.9) is above `high` (0.5)",
            "comparison `father_name`: `threshold` must lie between 0 and 1, found -0.1",
        ]
    );

    let mut crossed = LinkSettings::default();
    crossed.thresholds.match_probability = 0.3;
    assert_eq!(
        problems(crossed.validate().unwrap_err()),
        ["the review threshold (0.5) is above the match threshold (0.3)"]
    );
    let mut infinite = LinkSettings::default();
    infinite.thresholds.ambiguity_margin = f64::INFINITY;
    assert_eq!(problems(infinite.validate().unwrap_err()).len(), 1);
}

#[test]
fn linkers_refuse_bad_settings_before_any_work() {
    let roles = [Role::FullName, Role::DateOfBirth, Role::Sex];
    let (left, right) = (table("S", &roles, false), table("N", &roles, true));
    let mut settings = LinkSettings::default();
    settings.thresholds.review_probability = -0.5;
    settings.random_pairs = 0;
    let expected = [
        "the review threshold must be a probability between 0 and 1, found -0.5",
        "random_pairs (random pairs for u) must be above 0",
    ];
    assert_eq!(problems(Linker::new(&left, &right, settings.clone()).err().unwrap()), expected);
    assert_eq!(problems(Linker::dedupe(&left, settings).err().unwrap()), expected);
}

#[test]
fn cluster_options_are_checked_with_the_link_settings() {
    assert!(ClusterOptions::default().validate().is_ok());
    for (threshold, density, expected) in [
        (1.5, 0.5, "the cluster threshold must be a number between 0 and 1, found 1.5"),
        (-0.5, 0.5, "the cluster threshold must be a number between 0 and 1, found -0.5"),
        (f64::NAN, 0.5, "the cluster threshold must be a number between 0 and 1, found NaN"),
        (0.9, 2.0, "the minimum link density must be a number between 0 and 1, found 2"),
        (0.9, f64::NAN, "the minimum link density must be a number between 0 and 1, found NaN"),
    ] {
        let options = ClusterOptions { threshold, min_link_density: density };
        assert_eq!(problems(options.validate().unwrap_err()), [expected]);
    }
    let roles = [Role::FullName, Role::DateOfBirth, Role::Sex];
    let records = table("R", &roles, true);
    let mut settings = LinkSettings::default();
    settings.thresholds.match_probability = 2.0;
    let options = ClusterOptions { threshold: 1.5, min_link_density: -1.0 };
    let found = problems(deduplicate(&records, settings, &options, None).err().unwrap());
    assert_eq!(
        found,
        [
            "the match threshold must be a probability between 0 and 1, found 2",
            "the cluster threshold must be a number between 0 and 1, found 1.5",
            "the minimum link density must be a number between 0 and 1, found -1",
        ]
    );
}

#[test]
fn a_link_section_applies_over_settings() {
    let text = r#"
[[input]]
path = "a.csv"
[input.columns]
ho_ten = "full_name"

[link]
match_threshold = 0.95
ambiguity_margin = 3.0
clear_margin = 6
random_pairs = 500
max_block_pairs = 77
seed = 9
blocking = [["family_name"]]

[link.comparisons]
name = { high = 0.95, low = 0.9 }
"#;
    let config = Config::parse(text, Path::new("/data")).unwrap();
    let base = LinkSettings { training_pairs_per_rule: 123, ..LinkSettings::default() };
    let settings = config.link.apply(base);
    assert_eq!(settings.thresholds.match_probability, 0.95);
    assert_eq!(settings.thresholds.review_probability, 0.5, "unset: kept");
    assert_eq!(settings.thresholds.ambiguity_margin, 3.0);
    assert_eq!(settings.thresholds.clear_margin, Some(6.0));
    assert_eq!(LinkSettings::default().thresholds.clear_margin, Some(khop::link::DEFAULT_CLEAR_MARGIN));
    let off =
        Config::parse(&text.replace("clear_margin = 6", "clear_margin = false"), Path::new("/data")).unwrap();
    assert_eq!(off.link.apply(LinkSettings::default()).thresholds.clear_margin, None, "false turns it off");
    assert_eq!((settings.random_pairs, settings.training_pairs_per_rule), (500, 123));
    assert_eq!((settings.blocking.max_block_pairs, settings.seed), (77, 9));
    assert_eq!(settings.rules.as_ref().map(Vec::len), Some(1));
    assert_eq!(settings.comparisons, [comparison("name", Some(0.95), Some(0.9), None)]);
    assert!(settings.validate().is_ok());
}
