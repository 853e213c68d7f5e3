//! The evaluation readers refuse empty and wrongly laid-out files with the file, the line and
//! what was expected, and read the clusters file that deduplication writes.

use std::path::{Path, PathBuf};

use khop::cluster::Assignment;
use khop::cluster::output::clusters_batch;
use khop::eval::{
    cluster_scores, read_clusters, read_corruptions, read_field_corruptions, read_pairs, read_worklist,
};
use khop::write::{WriteOptions, Writer};
use khop::{Error, ErrorKind, Role};

use crate::model::table;

fn file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The position and message of a format error.
fn format_error(e: Error) -> (String, String) {
    match e.kind() {
        ErrorKind::Format { position, message, .. } => {
            (position.clone().unwrap_or_default(), message.clone())
        }
        other => panic!("not a format error: {other:?}"),
    }
}

#[test]
fn empty_files_are_refused_by_every_reader() {
    let dir = tempfile::tempdir().unwrap();
    for text in ["", "\n"] {
        let empty = file(dir.path(), "empty.csv", text);
        let errors = [
            read_pairs(&empty).unwrap_err(),
            read_clusters(&empty).unwrap_err(),
            read_corruptions(&empty).unwrap_err(),
            read_field_corruptions(&empty).unwrap_err(),
            read_worklist(&empty).unwrap_err(),
        ];
        for e in errors {
            let shown = e.to_string();
            let (position, message) = format_error(e);
            assert_eq!(position, "line 1");
            assert!(message.starts_with("the file is empty: expected a header line such as `"), "{message}");
            assert!(shown.starts_with(&empty.display().to_string()), "{shown}");
        }
    }
    // A header without rows is an empty list, not an error: a run may find no link.
    let header = file(dir.path(), "header.csv", "left,right\n");
    assert_eq!(read_pairs(&header).unwrap(), []);
}

#[test]
fn wrongly_laid_out_files_are_refused_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let one = file(dir.path(), "one.csv", "left\nXH1\n");
    assert_eq!(
        format_error(read_pairs(&one).unwrap_err()),
        (
            "line 1".into(),
            "expected a header of at least 2 columns such as `left,right`, found 1: `left`".into()
        )
    );
    assert!(format_error(read_clusters(&one).unwrap_err()).1.contains("at least 2 columns"));

    // No header: the first pair read as one.
    let headless = file(dir.path(), "headless.csv", "1,2\n3,4\n");
    assert_eq!(
        format_error(read_pairs(&headless).unwrap_err()),
        (
            "line 1".into(),
            "expected a header naming the columns, such as `left,right`; found the name `1` (is the header missing?)"
                .into()
        )
    );
    let unnamed = file(dir.path(), "unnamed.csv", "left,\nXH1,CD1\n");
    assert!(format_error(read_pairs(&unnamed).unwrap_err()).1.contains("found an empty column name"));

    // A short row and an empty value, each at its line.
    let short = file(dir.path(), "short.csv", "left,right\nXH1,CD1\nXH2\n");
    assert_eq!(
        format_error(read_pairs(&short).unwrap_err()),
        ("line 3".into(), "expected at least 2 fields (the header has 2: left,right), found 1".into())
    );
    let blank = file(dir.path(), "blank.csv", "left,right\nXH1,CD1\n\"XH2\nXH3\",CD2\nXH4, \n");
    assert_eq!(
        format_error(read_pairs(&blank).unwrap_err()),
        ("line 5".into(), "empty value in column `right`".into())
    );

    // A worklist without its columns, and corruptions without `kind`.
    let links = file(dir.path(), "links.csv", "row_id,national_row_id\nXH1,CD1\n");
    assert_eq!(
        format_error(read_worklist(&links).unwrap_err()),
        (
            "line 1".into(),
            "expected a header of at least 4 columns such as `sector_id,national_record_id,field,conflict`, found 2: `row_id,national_row_id`".into()
        )
    );
    assert_eq!(
        format_error(read_corruptions(&links).unwrap_err()),
        ("line 1".into(), "no column named `kind` (the file has: row_id, national_row_id)".into())
    );

    // A clusters file given as links.
    let clusters =
        file(dir.path(), "clusters.csv", "id,row,cluster_id,cluster_size,confidence\nA,1,A,1,1.0\n");
    let (position, message) = format_error(read_pairs(&clusters).unwrap_err());
    assert_eq!(position, "line 1");
    assert!(message.starts_with("a clusters file (id, row, cluster_id"), "{message}");
}

#[test]
fn the_clusters_file_of_dedupe_is_read_by_its_header() {
    let dir = tempfile::tempdir().unwrap();
    let records = table("R", &[Role::FullName, Role::DateOfBirth], true);
    // R0, R1 and R2 one person (cluster R0), the others alone.
    let assignments: Vec<Assignment> = (0..records.len() as u32)
        .map(|r| {
            let together = r < 3;
            Assignment {
                cluster: if together { 0 } else { r },
                size: if together { 3 } else { 1 },
                confidence: 1.0,
            }
        })
        .collect();
    let batch = clusters_batch(&records, &assignments).unwrap();
    let path = dir.path().join("clusters.csv");
    let mut writer = Writer::create(&path, batch.schema(), &WriteOptions::default()).unwrap();
    writer.write(&batch).unwrap();
    writer.finish().unwrap();

    let read = read_clusters(&path).unwrap();
    assert_eq!(read.len(), records.len());
    assert_eq!(
        read[..4],
        [("R0", "R0"), ("R1", "R0"), ("R2", "R0"), ("R3", "R3")].map(|(a, b)| (a.into(), b.into()))
    );

    // Against a truth laid out `record,cluster` (in another order, other cluster names).
    let truth_text: String = std::iter::once("record,cluster\n".to_owned())
        .chain(
            (0..records.len())
                .rev()
                .map(|r| format!("R{r},{}\n", if r < 3 { "p".to_owned() } else { format!("q{r}") })),
        )
        .collect();
    let truth = read_clusters(&file(dir.path(), "truth.csv", &truth_text)).unwrap();
    let scores = cluster_scores(&read, &truth);
    assert_eq!(scores.pairwise.f1, 1.0);
    assert_eq!(scores.records, records.len() as u64);
    // And the generator's `row_id,person_id`: the first two columns.
    let generated = file(dir.path(), "truth_local.csv", "row_id,person_id\nR0,P1\nR1,P1\n");
    assert_eq!(read_clusters(&generated).unwrap(), [("R0".into(), "P1".into()), ("R1".into(), "P1".into())]);
}
