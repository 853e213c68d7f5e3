//! The read corpus (`testdata/read/cases.toml`): every good and bad file, with exactly what must
//! come out of it, rows and rejects alike.

use std::path::{Path, PathBuf};

use khop::read::{ReadOptions, Reader, TextColumn, TextEncoding};
use serde::Deserialize;
use unicode_normalization::UnicodeNormalization;

#[derive(Deserialize)]
struct Cases {
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    file: String,
    id: Option<String>,
    columns: Option<Vec<String>>,
    encoding: Option<String>,
    delimiter: Option<String>,
    header: Option<bool>,
    null_values: Option<Vec<String>>,
    max_field_bytes: Option<usize>,
    batch_size: Option<usize>,
    #[serde(default)]
    nfc: bool,
    columns_out: Option<Vec<String>>,
    types_out: Option<Vec<String>>,
    rows: Option<Vec<Vec<String>>>,
    row_numbers: Option<Vec<u64>>,
    #[serde(default)]
    rejects: Vec<ExpectedReject>,
    ignored_fields: Option<u64>,
    error: Option<String>,
    max_rejected_share: Option<f64>,
    /// The encoding and delimiter the reader reports, as `ReadOptions` would name them.
    detected_encoding: Option<String>,
    detected_delimiter: Option<String>,
}

#[derive(Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
struct ExpectedReject {
    row: u64,
    line: Option<u64>,
    column: Option<String>,
    reason: String,
}

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/read")
}

fn options(case: &Case) -> ReadOptions {
    let mut options =
        ReadOptions { id_column: case.id.clone(), columns: case.columns.clone(), ..ReadOptions::default() };
    if let Some(encoding) = &case.encoding {
        options.encoding = TextEncoding::from_label(encoding).expect("known encoding");
    }
    if let Some(delimiter) = &case.delimiter {
        options.delimiter = if delimiter == "auto" { None } else { Some(delimiter.as_bytes()[0]) };
    }
    if let Some(header) = case.header {
        options.has_header = header;
    }
    if let Some(values) = &case.null_values {
        options.null_values = values.clone();
    }
    if let Some(limit) = case.max_field_bytes {
        options.max_field_bytes = limit;
    }
    if let Some(size) = case.batch_size {
        options.batch_size = size;
    }
    if let Some(share) = case.max_rejected_share {
        options.max_rejected_share = Some(share);
    }
    options
}

/// Reads a whole file: (column names, types, rows, row numbers, rejects, stats).
fn read_all(path: &Path, options: &ReadOptions, nfc: bool) -> khop::Result<ReadAll> {
    let mut reader = Reader::open(path, options)?;
    let schema = reader.schema();
    let mut out = ReadAll {
        columns: schema.fields().iter().map(|f| f.name().clone()).collect(),
        types: schema.fields().iter().map(|f| f.data_type().to_string()).collect(),
        ..ReadAll::default()
    };
    for batch in &mut reader {
        let batch = batch?;
        assert_eq!(batch.records.schema(), schema, "every batch has the reader's schema");
        assert_eq!(batch.rows.len(), batch.records.num_rows());
        for row in 0..batch.records.num_rows() {
            let values = batch
                .records
                .columns()
                .iter()
                .map(|array| {
                    let column = TextColumn::new(array.as_ref()).expect("text column");
                    match column.get(row) {
                        Some(v) if nfc => v.nfc().collect(),
                        Some(v) => v.to_owned(),
                        None => "<null>".to_owned(),
                    }
                })
                .collect();
            out.rows.push(values);
        }
        out.row_numbers.extend(&batch.rows);
        out.rejects.extend(batch.rejects.iter().map(|r| ExpectedReject {
            row: r.row,
            line: r.line,
            column: r.column.clone(),
            reason: r.reason.code().to_owned(),
        }));
    }
    out.stats = reader.stats();
    out.detected = reader.detected();
    Ok(out)
}

#[derive(Default)]
struct ReadAll {
    columns: Vec<String>,
    types: Vec<String>,
    rows: Vec<Vec<String>>,
    row_numbers: Vec<u64>,
    rejects: Vec<ExpectedReject>,
    stats: khop::read::ReadStats,
    detected: khop::read::Detected,
}

#[test]
fn corpus() {
    let text = std::fs::read_to_string(testdata().join("cases.toml")).unwrap();
    let cases: Cases = toml::from_str(&text).unwrap();
    assert!(cases.case.len() >= 25, "the corpus lost cases");
    for case in &cases.case {
        let label = format!("{} (id {:?}, columns {:?})", case.file, case.id, case.columns);
        let result = read_all(&testdata().join(&case.file), &options(case), case.nfc);
        if let Some(expected) = &case.error {
            match result {
                Ok(_) => panic!("{label}: expected an error containing {expected:?}"),
                Err(e) => {
                    let message = e.to_string();
                    assert!(message.contains(expected), "{label}: error {message:?} lacks {expected:?}");
                    assert!(
                        message.contains(&case.file),
                        "{label}: error {message:?} does not name the file"
                    );
                }
            }
            continue;
        }
        let read = result.unwrap_or_else(|e| panic!("{label}: {e}"));
        if let Some(columns) = &case.columns_out {
            assert_eq!(&read.columns, columns, "{label}: columns");
        }
        if let Some(types) = &case.types_out {
            assert_eq!(&read.types, types, "{label}: types");
        }
        if let Some(rows) = &case.rows {
            assert_eq!(&read.rows, rows, "{label}: rows");
        }
        if let Some(numbers) = &case.row_numbers {
            assert_eq!(&read.row_numbers, numbers, "{label}: row numbers");
        }
        assert_eq!(read.rejects, case.rejects, "{label}: rejects");
        if let Some(encoding) = &case.detected_encoding {
            assert_eq!(
                read.detected.encoding.map(|e| e.to_string()).as_ref(),
                Some(encoding),
                "{label}: encoding"
            );
        }
        if let Some(delimiter) = &case.detected_delimiter {
            let found = read.detected.delimiter.map(|d| (d as char).to_string());
            assert_eq!(found.as_ref(), Some(delimiter), "{label}: delimiter");
        }
        if let Some(ignored) = case.ignored_fields {
            assert_eq!(read.stats.ignored_fields, ignored, "{label}: ignored fields");
        }
        // Every row is accounted for.
        let stats = read.stats;
        assert_eq!(stats.rows_read, stats.rows_passed + stats.rows_rejected, "{label}: accounting");
        assert_eq!(stats.rows_passed, read.rows.len() as u64, "{label}: passed");
        assert_eq!(stats.rows_rejected, read.rejects.len() as u64, "{label}: rejected");
    }
}

/// Batch size never changes what is read.
#[test]
fn batch_size_does_not_change_results() {
    for file in ["bad/ragged.csv", "bad/bad_json.ndjson", "bad/binary_invalid_utf8.parquet"] {
        let path = testdata().join(file);
        let read = |batch_size| {
            let options = ReadOptions { batch_size, ..ReadOptions::default() };
            let all = read_all(&path, &options, false).unwrap();
            (all.rows, all.row_numbers, all.rejects, all.stats)
        };
        let whole = read(65_536);
        for batch_size in [1, 2, 3, 7] {
            assert_eq!(read(batch_size), whole, "{file} at batch size {batch_size}");
        }
    }
}

#[test]
fn rejects_file_lists_every_reject() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rejects.csv");
    let mut writer = khop::write::RejectWriter::create(&out).unwrap();
    let mut reader = Reader::open(testdata().join("bad/ragged.csv"), &ReadOptions::default()).unwrap();
    for batch in &mut reader {
        writer.write(&batch.unwrap().rejects).unwrap();
    }
    assert_eq!(writer.finish().unwrap(), 2);
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "file,row,line,column,reason_code,reason,raw");
    assert!(
        lines[1].contains(",2,3,,ragged_line,\"expected 3 fields, found 2\",\"2,Trần Thị Bình\""),
        "{}",
        lines[1]
    );
    assert!(lines[2].contains(",3,4,,ragged_line,"), "{}", lines[2]);
}

/// Arbitrary bytes never panic a reader, and every row is accounted for.
mod arbitrary_input {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn csv_and_ndjson_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), header in any::<bool>()) {
            let dir = tempfile::tempdir().unwrap();
            for name in ["x.csv", "x.ndjson"] {
                let path = dir.path().join(name);
                std::fs::write(&path, &bytes).unwrap();
                let options = ReadOptions { has_header: header, batch_size: 3, ..ReadOptions::default() };
                if let Ok(mut reader) = Reader::open(&path, &options) {
                    let mut passed = 0;
                    let mut rejected = 0;
                    for batch in &mut reader {
                        match batch {
                            Ok(batch) => {
                                passed += batch.records.num_rows() as u64;
                                rejected += batch.rejects.len() as u64;
                            }
                            Err(_) => break,
                        }
                    }
                    let stats = reader.stats();
                    prop_assert_eq!(stats.rows_read, stats.rows_passed + stats.rows_rejected);
                    prop_assert_eq!(stats.rows_passed, passed);
                    prop_assert_eq!(stats.rows_rejected, rejected);
                }
            }
        }
    }
}
