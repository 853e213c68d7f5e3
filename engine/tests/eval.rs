//! Scores against hand-computed small cases.

use std::io::Write;

use khop::eval::{cluster_scores, link_scores, read_corruptions, read_pairs, recall_by_kind};

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-12, "{a} != {b}");
}

#[test]
fn links_count_each_pair_once() {
    let truth = pairs(&[("a1", "b1"), ("a2", "b2"), ("a3", "b3")]);
    let pred = pairs(&[("a1", "b1"), ("a2", "b3"), ("a3", "b3"), ("a3", "b3")]);
    let s = link_scores(&pred, &truth, false);
    assert_eq!((s.true_positives, s.false_positives, s.false_negatives), (2, 1, 1));
    close(s.precision, 2.0 / 3.0);
    close(s.recall, 2.0 / 3.0);
    close(s.f1, 2.0 / 3.0);
    // Linking is directed: (b1, a1) is not (a1, b1).
    let s = link_scores(&pairs(&[("b1", "a1")]), &truth, false);
    assert_eq!(s.true_positives, 0);
}

#[test]
fn symmetric_links_ignore_order_and_self_pairs() {
    let truth = pairs(&[("x", "y")]);
    let s = link_scores(&pairs(&[("y", "x"), ("x", "x")]), &truth, true);
    assert_eq!((s.true_positives, s.false_positives, s.false_negatives), (1, 0, 0));
    close(s.f1, 1.0);
}

#[test]
fn nothing_predicted_scores_zero() {
    let s = link_scores(&[], &pairs(&[("a", "b")]), false);
    assert_eq!((s.precision, s.recall, s.f1), (0.0, 0.0, 0.0));
    let s = link_scores(&[], &[], false);
    assert_eq!(s.f1, 0.0);
}

#[test]
fn clusters_pairwise_and_bcubed() {
    // Truth: {1,2,3} {4,5}. Predicted: {1,2} {3,4,5}.
    let truth = pairs(&[("1", "A"), ("2", "A"), ("3", "A"), ("4", "B"), ("5", "B")]);
    let pred = pairs(&[("1", "C1"), ("2", "C1"), ("3", "C2"), ("4", "C2"), ("5", "C2")]);
    let s = cluster_scores(&pred, &truth);
    assert_eq!(s.records, 5);
    // 4 true pairs, 4 predicted, 2 in common ({1,2} and {4,5}).
    assert_eq!(
        (s.pairwise.true_positives, s.pairwise.false_positives, s.pairwise.false_negatives),
        (2, 2, 2)
    );
    close(s.pairwise.f1, 0.5);
    // B-cubed precision: (1 + 1 + 1/3 + 2/3 + 2/3) / 5; recall: (2/3 + 2/3 + 1/3 + 1 + 1) / 5.
    close(s.bcubed_precision, 11.0 / 15.0);
    close(s.bcubed_recall, 11.0 / 15.0);
    close(s.bcubed_f1, 11.0 / 15.0);
    // The same clustering under other labels is perfect.
    let relabelled = pairs(&[("1", "x"), ("2", "x"), ("3", "x"), ("4", "y"), ("5", "y")]);
    let s = cluster_scores(&relabelled, &truth);
    close(s.pairwise.f1, 1.0);
    close(s.bcubed_f1, 1.0);
}

#[test]
fn clusters_with_records_missing_from_one_side() {
    // Record 2 is not in the prediction: a singleton there.
    let s = cluster_scores(&pairs(&[("1", "C")]), &pairs(&[("1", "A"), ("2", "A")]));
    assert_eq!(s.records, 2);
    assert_eq!((s.pairwise.true_positives, s.pairwise.false_negatives), (0, 1));
    close(s.bcubed_precision, 1.0);
    close(s.bcubed_recall, 0.5);
    // All singletons against all singletons: B-cubed perfect, no pairs at all.
    let s = cluster_scores(&pairs(&[("1", "a"), ("2", "b")]), &pairs(&[("1", "x"), ("2", "y")]));
    close(s.bcubed_f1, 1.0);
    assert_eq!(s.pairwise.true_positives + s.pairwise.false_positives + s.pairwise.false_negatives, 0);
}

#[test]
fn recall_broken_down_by_error_kind() {
    let truth = pairs(&[("r1", "n1"), ("r2", "n2"), ("r3", "n3")]);
    let pred = pairs(&[("r1", "n1"), ("r3", "n3")]);
    let corruptions = pairs(&[("r1", "typo"), ("r1", "accents_dropped"), ("r2", "typo"), ("r1", "typo")]);
    let kinds = recall_by_kind(&pred, &truth, &corruptions, false);
    let got: Vec<(&str, u64, u64)> = kinds.iter().map(|k| (k.kind.as_str(), k.true_links, k.found)).collect();
    assert_eq!(got, [("accents_dropped", 1, 1), ("clean", 1, 1), ("typo", 2, 1)]);
    close(kinds[2].recall, 0.5);
}

#[test]
fn reads_link_and_corruption_files() {
    let dir = tempfile::tempdir().unwrap();
    let links = dir.path().join("links.csv");
    std::fs::File::create(&links).unwrap().write_all(b"row_id,national_row_id\nXH1, CD9\nXH2,CD8\n").unwrap();
    assert_eq!(read_pairs(&links).unwrap(), pairs(&[("XH1", "CD9"), ("XH2", "CD8")]));
    let corr = dir.path().join("corruptions.csv");
    std::fs::File::create(&corr).unwrap().write_all(b"row_id,field,kind\nXH1,name,typo\n").unwrap();
    assert_eq!(read_corruptions(&corr).unwrap(), pairs(&[("XH1", "typo")]));
    // No kind column: an error naming the columns there are.
    let err = read_corruptions(&links).unwrap_err().to_string();
    assert!(err.contains("kind") && err.contains("national_row_id"), "{err}");
    let short = dir.path().join("short.csv");
    std::fs::File::create(&short).unwrap().write_all(b"a,b\nonly\n").unwrap();
    assert!(read_pairs(&short).unwrap_err().to_string().contains("line 2"));
    assert!(read_pairs(&dir.path().join("missing.csv")).is_err());
}

#[test]
fn reads_khop_link_outputs_keeping_matches() {
    let dir = tempfile::tempdir().unwrap();
    let links = dir.path().join("links.csv");
    std::fs::File::create(&links)
        .unwrap()
        .write_all(
            b"left_id,left_row,right_id,decision\nXH1,1,CD9,match\nXH2,2,CD8,review\nXH3,3,,no_match\n",
        )
        .unwrap();
    assert_eq!(read_pairs(&links).unwrap(), pairs(&[("XH1", "CD9")]));
}

#[test]
fn worklist_scored_against_injected_changes() {
    use khop::eval::{Corruption, ReportedConflict, conflict_scores};
    use khop_datasets::is_content_corruption;
    let line = |sector: &str, national: &str, field: &str, kind: &str| ReportedConflict {
        sector: sector.into(),
        national: national.into(),
        field: field.into(),
        kind: kind.into(),
    };
    let change = |row: &str, field: &str, kind: &str| Corruption {
        row: row.into(),
        field: field.into(),
        kind: kind.into(),
    };
    assert!(is_content_corruption("typo") && is_content_corruption("outdated_address"));
    assert!(!is_content_corruption("accents_dropped") && !is_content_corruption("i_y"));

    let truth = pairs(&[("s1", "n1"), ("s2", "n2"), ("s3", "n3"), ("s4", "n4")]);
    // s3 is linked to the wrong person; s4 is not accepted.
    let accepted = pairs(&[("s1", "n1"), ("s2", "n2"), ("s3", "n9")]);
    let sector = [
        change("s1", "name", "typo"),
        change("s1", "name", "accents_dropped"),
        change("s1", "date_of_birth", "day_month_swap"),
        change("s2", "name", "upper_case"),
        change("s2", "phone", "phone_missing"),
        // Both records swapped day and month: left out, whatever the worklist says.
        change("s2", "date_of_birth", "day_month_swap"),
        change("s4", "name", "typo"),
    ];
    let national = [change("n2", "date_of_birth", "day_month_swap"), change("n1", "national_id", "id_typo")];
    let worklist = [
        line("s1", "n1", "name", "typo"),
        // The national record's own change: found through the link, not spurious.
        line("s1", "n1", "national_id", "one_digit"),
        // A cosmetic change only: spurious.
        line("s2", "n2", "name", "spelling"),
        // An update, counted apart.
        line("s2", "n2", "address", "legacy_units"),
        line("s3", "n9", "name", "different"),
    ];
    let s = conflict_scores(&worklist, &accepted, &truth, &sector, &national, is_content_corruption);
    assert_eq!((s.linked_rows, s.wrong_links, s.missed_links), (2, 1, 2));
    // Expected: s1 name, s1 date of birth, s2 phone; found: s1 name.
    assert_eq!((s.expected, s.found, s.both_changed), (3, 1, 1));
    close(s.recall, 1.0 / 3.0);
    assert_eq!((s.reported, s.spurious, s.updates, s.lines_on_wrong_links), (3, 1, 1, 1));
    close(s.spurious_rate, 1.0 / 3.0);
    assert_eq!((s.national_expected, s.national_found), (1, 1));
    let by_kind: Vec<(&str, u64, u64)> =
        s.by_kind.iter().map(|k| (k.kind.as_str(), k.expected, k.found)).collect();
    assert_eq!(by_kind, [("day_month_swap", 1, 0), ("phone_missing", 1, 0), ("typo", 1, 1)]);
}
