//! Atomic writes: a file appears whole or not at all. A writer killed half way, stopped by a
//! file-size limit or failing leaves the earlier file untouched and no partial file at the
//! final path.
//!
//! The kill and file-size tests re-run this test binary as a child process (the ignored test
//! `write::child_writer`, told what to do by an environment variable) and watch it from outside.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use khop::read::{ReadOptions, Reader, Reject, RejectReason};
use khop::write::{RejectWriter, WriteOptions, Writer, write_atomic};

/// The child's orders: `<mode>:<path>`, mode `slow` (write for ever, slowly) or `big` (write far
/// more than the file-size limit allows).
const CHILD: &str = "KHOP_TEST_WRITE_CHILD";

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, true),
        Field::new("ho_ten", DataType::Utf8, true),
    ]))
}

/// Synthetic rows `first..first + rows`, with a note of hashed digits that no codec compresses
/// much.
fn batch(first: usize, rows: usize) -> RecordBatch {
    let ids: StringArray = (first..first + rows).map(|i| Some(format!("{i:012}"))).collect();
    let names: StringArray = (first..first + rows)
        .map(|i| {
            let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let mut note = String::with_capacity(64);
            for _ in 0..4 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                note.push_str(&format!("{x:016x}"));
            }
            Some(format!("Nguyễn Văn Thử {note}"))
        })
        .collect();
    RecordBatch::try_new(schema(), vec![Arc::new(ids) as ArrayRef, Arc::new(names) as ArrayRef]).unwrap()
}

fn options() -> WriteOptions {
    WriteOptions { row_group_rows: 1000, ..WriteOptions::default() }
}

/// Writes a small complete file at `path`; returns its bytes.
fn earlier_file(path: &Path) -> Vec<u8> {
    let mut writer = Writer::create(path, schema(), &options()).unwrap();
    writer.write(&batch(0, 10)).unwrap();
    assert_eq!(writer.finish().unwrap(), 10);
    std::fs::read(path).unwrap()
}

/// Entries of `dir`, by name, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// What the child process does, when this binary is run as one.
#[test]
#[ignore = "a child process of the kill and file-size tests, which run it"]
fn child_writer() {
    let Ok(orders) = std::env::var(CHILD) else { return };
    let (mode, path) = orders.split_once(':').expect("mode:path");
    let mut writer = Writer::create(path, schema(), &options()).unwrap();
    match mode {
        "slow" => {
            for i in 0..100_000 {
                writer.write(&batch(i * 1000, 1000)).unwrap();
                if i == 3 {
                    println!("writing");
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            panic!("the parent should have killed this process");
        }
        "big" => {
            let mut result = Ok(());
            for i in 0..200 {
                result = writer.write(&batch(i * 1000, 1000));
                if result.is_err() {
                    break;
                }
            }
            let result = result.and_then(|()| writer.finish().map(drop));
            match result {
                Err(e) => println!("write failed: {e}"),
                Ok(()) => println!("write succeeded"),
            }
        }
        _ => panic!("unknown mode {mode}"),
    }
}

/// A command that runs `child_writer` of this binary with `orders`, through `sh -c prelude`.
fn child(prelude: &str, orders: &str) -> Command {
    let exe = std::env::current_exe().unwrap();
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("{prelude} exec \"$0\" \"$@\""))
        .arg(exe)
        .args(["--ignored", "--exact", "write::child_writer", "--nocapture", "--test-threads=1", "-q"])
        .env(CHILD, orders)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    command
}

/// Kills a child writer half way: the earlier file at the final path is untouched.
fn killed_mid_write(name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let before = earlier_file(&path);
    let mut process = child("", &format!("slow:{}", path.display())).spawn().unwrap();
    let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) if line.trim() == "writing" => break,
            Some(Ok(_)) => continue,
            other => {
                let _ = process.kill();
                panic!("the child stopped before writing: {other:?}");
            }
        }
    }
    // Wait until the new file holds data on disk, then kill mid-write.
    let deadline = Instant::now() + Duration::from_secs(30);
    let written = |dir: &Path| {
        std::fs::read_dir(dir).unwrap().any(|e| {
            let e = e.unwrap();
            e.file_name() != name && e.metadata().unwrap().len() > 0
        })
    };
    while !written(dir.path()) && std::fs::metadata(&path).unwrap().len() == before.len() as u64 {
        assert!(Instant::now() < deadline, "the child wrote nothing in 30 s");
        std::thread::sleep(Duration::from_millis(10));
    }
    process.kill().unwrap();
    let status = process.wait().unwrap();
    assert!(!status.success(), "the child was killed");

    assert_eq!(std::fs::read(&path).unwrap(), before, "{name}: the earlier file is untouched");
    let mut reader = Reader::open(&path, &ReadOptions::default()).unwrap();
    let rows: usize = (&mut reader).map(|b| b.unwrap().records.num_rows()).sum();
    assert_eq!(rows, 10, "{name}: the earlier file reads whole");
    // Only a hidden temporary file can be left behind by SIGKILL.
    for entry in entries(dir.path()) {
        assert!(entry == name || entry.starts_with(&format!(".{name}.khop-tmp-")), "stray file {entry}");
    }
}

#[cfg(unix)]
#[test]
fn kill_during_csv_write_leaves_the_earlier_file() {
    killed_mid_write("out.csv");
}

#[cfg(unix)]
#[test]
fn kill_during_parquet_write_leaves_the_earlier_file() {
    killed_mid_write("out.parquet");
}

/// A file-size limit (`ulimit -f`, SIGXFSZ ignored so that the write fails with EFBIG) ends the
/// write with an error, and leaves nothing at the final path and no temporary file.
#[cfg(unix)]
#[test]
fn file_size_limit_fails_the_write_and_leaves_no_partial_file() {
    for name in ["big.csv", "big.parquet", "big.ndjson"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        // 2048 blocks: 1 or 2 MiB, as the shell counts them; the child writes about 10 MiB.
        let output =
            child("trap '' XFSZ; ulimit -f 2048;", &format!("big:{}", path.display())).output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{name}: the child ended normally: {stdout}");
        assert!(stdout.contains("write failed: "), "{name}: {stdout}");
        assert!(stdout.contains("too large"), "{name}: the error names the cause: {stdout}");
        assert_eq!(entries(dir.path()), Vec::<String>::new(), "{name}: no file left");
    }
}

/// The same, with an earlier complete file at the final path: it stays.
#[cfg(unix)]
#[test]
fn file_size_limit_leaves_the_earlier_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");
    let before = earlier_file(&path);
    let output = child("trap '' XFSZ; ulimit -f 2048;", &format!("big:{}", path.display())).output().unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("write failed: "));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(entries(dir.path()), ["out.csv"]);
}

/// An error while writing, or a writer dropped unfinished, leaves no file at all.
#[test]
fn failed_or_abandoned_writes_leave_nothing() {
    // CSV cannot hold a list column: the write fails.
    let mut kids = arrow_array::builder::ListBuilder::new(arrow_array::builder::StringBuilder::new());
    kids.values().append_value("An");
    kids.append(true);
    let kids = kids.finish();
    let nested = Arc::new(Schema::new(vec![Field::new("con_cai", kids.data_type().clone(), true)]));
    let nested_batch = RecordBatch::try_new(Arc::clone(&nested), vec![Arc::new(kids) as ArrayRef]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested.csv");
    let mut writer = Writer::create(&path, nested, &options()).unwrap();
    let error = writer.write(&nested_batch).unwrap_err();
    drop(writer);
    assert!(error.to_string().contains("nested.csv"), "{error}");
    assert_eq!(entries(dir.path()), Vec::<String>::new(), "a failed write leaves nothing");

    for name in ["out.parquet", "out.csv", "out.ndjson"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        let mut writer = Writer::create(&path, schema(), &options()).unwrap();
        writer.write(&batch(0, 5000)).unwrap();
        drop(writer);
        assert_eq!(entries(dir.path()), Vec::<String>::new(), "{name}: nothing left");

        // With an earlier file, that file stays as it was.
        let before = earlier_file(&path);
        let mut writer = Writer::create(&path, schema(), &options()).unwrap();
        writer.write(&batch(0, 5000)).unwrap();
        drop(writer);
        assert_eq!(std::fs::read(&path).unwrap(), before, "{name}");
        assert_eq!(entries(dir.path()), [name]);
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rejects.csv");
    let mut rejects = RejectWriter::create(&path).unwrap();
    let reject = Reject {
        file: Arc::from("a.csv"),
        row: 1,
        line: Some(2),
        column: None,
        reason: RejectReason::MissingId,
        raw: String::new(),
    };
    rejects.write(&[reject]).unwrap();
    drop(rejects);
    assert_eq!(entries(dir.path()), Vec::<String>::new(), "an unfinished rejects file is removed");
}

/// A finished write replaces the earlier file, and leaves nothing else.
#[test]
fn finished_writes_replace_the_earlier_file() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["out.parquet", "out.csv"] {
        let path = dir.path().join(name);
        let before = earlier_file(&path);
        let mut writer = Writer::create(&path, schema(), &options()).unwrap();
        writer.write(&batch(100, 2500)).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), before, "{name}: unchanged until finished");
        assert_eq!(writer.finish().unwrap(), 2500);
        let mut reader = Reader::open(&path, &ReadOptions::default()).unwrap();
        let rows: usize = (&mut reader).map(|b| b.unwrap().records.num_rows()).sum();
        assert_eq!(rows, 2500, "{name}");
    }
    let path = dir.path().join("rejects.csv");
    let rejects = RejectWriter::create(&path).unwrap();
    assert_eq!(rejects.finish().unwrap(), 0);
    assert!(std::fs::read_to_string(&path).unwrap().starts_with("file,row,line"));

    let summary: PathBuf = dir.path().join("summary.json");
    std::fs::write(&summary, "{\"old\": true}").unwrap();
    write_atomic(&summary, "{\"new\": true}").unwrap();
    assert_eq!(std::fs::read_to_string(&summary).unwrap(), "{\"new\": true}");
    assert_eq!(entries(dir.path()), ["out.csv", "out.parquet", "rejects.csv", "summary.json"]);

    let missing = dir.path().join("no/such/folder/x.json");
    let error = write_atomic(&missing, "{}").unwrap_err();
    assert!(error.to_string().contains("no/such/folder/x.json"), "{error}");
}
