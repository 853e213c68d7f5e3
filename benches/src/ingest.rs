//! Ingest benchmark: khop's readers against arrow's own CSV and JSON readers and the parquet
//! crate's Arrow reader, on the same generated files, in one run.
//!
//! ```text
//! cargo run --release -p khop-benches --bin ingest -- --rows 1000000
//! ```
//!
//! Each read runs in a child process of its own so that its peak memory (VmHWM) is its own; the
//! two readers of a format alternate, three times each, and each keeps its best time.
//! Every reader must return the same rows and the same total of value bytes, or the run fails:
//! a fast wrong answer does not count.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use arrow_array::{Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use khop::read::{Format, ReadOptions, Reader, TextColumn};
use khop::write::{WriteOptions, Writer};
use khop_datasets::{SAMPLE_COLUMNS, SampleGenerator, SampleOptions};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 65_536;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("run") {
        let (reader, file) = (&args[2], Path::new(&args[3]));
        let started = Instant::now();
        let (rows, bytes) = read(reader, file)?;
        let seconds = started.elapsed().as_secs_f64();
        println!("{rows} {bytes} {seconds} {}", peak_rss_kib()?);
        return Ok(());
    }
    let mut rows: u64 = 1_000_000;
    let mut dir: Option<PathBuf> = None;
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--rows" => rows = iter.next().context("--rows N")?.parse()?,
            "--dir" => dir = Some(iter.next().context("--dir D")?.into()),
            other => bail!("unknown argument {other}"),
        }
    }
    let temporary = tempfile::tempdir()?;
    let dir = dir.unwrap_or_else(|| temporary.path().to_owned());
    std::fs::create_dir_all(&dir)?;
    let files = generate(&dir, rows)?;

    println!("ingest of {rows} synthetic records, one thread each, same files, one run");
    println!(
        "{:<18} {:>10} {:>9} {:>12} {:>11} {:>10}",
        "reader", "size MB", "seconds", "rows/s", "MB/s", "peak MiB"
    );
    let pairs = [
        ("csv", "khop-csv", "arrow-csv"),
        ("ndjson", "khop-ndjson", "arrow-json"),
        ("parquet", "khop-parquet", "parquet-arrow"),
    ];
    for (format, ours, theirs) in pairs {
        let file = &files[format];
        let size = std::fs::metadata(file)?.len() as f64 / 1e6;
        // Alternate the two readers and keep each one's best of three: the machine is shared.
        let mut a = child(ours, file)?;
        let mut b = child(theirs, file)?;
        for _ in 1..3 {
            a = a.best(child(ours, file)?);
            b = b.best(child(theirs, file)?);
        }
        ensure!(
            a.rows == rows && b.rows == rows,
            "{format}: rows {} vs {} (expected {rows})",
            a.rows,
            b.rows
        );
        ensure!(a.bytes == b.bytes, "{format}: value bytes differ: {} vs {}", a.bytes, b.bytes);
        for (name, r) in [(ours, &a), (theirs, &b)] {
            println!(
                "{name:<18} {size:>10.1} {:>9.3} {:>12.0} {:>11.1} {:>10.1}",
                r.seconds,
                r.rows as f64 / r.seconds,
                size / r.seconds,
                r.peak_kib as f64 / 1024.0
            );
        }
        println!("{:<18} khop/peer speed ratio: {:.2}x", format, b.seconds / a.seconds);
    }
    Ok(())
}

struct Measure {
    rows: u64,
    bytes: u64,
    seconds: f64,
    peak_kib: u64,
}

impl Measure {
    fn best(self, other: Measure) -> Measure {
        Measure {
            seconds: self.seconds.min(other.seconds),
            peak_kib: self.peak_kib.max(other.peak_kib),
            ..other
        }
    }
}

fn child(reader: &str, file: &Path) -> Result<Measure> {
    let output = Command::new(std::env::current_exe()?).args(["run", reader]).arg(file).output()?;
    ensure!(output.status.success(), "{reader}: {}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout)?;
    let fields: Vec<&str> = text.split_whitespace().collect();
    ensure!(fields.len() == 4, "{reader}: unexpected output {text:?}");
    Ok(Measure {
        rows: fields[0].parse()?,
        bytes: fields[1].parse()?,
        seconds: fields[2].parse()?,
        peak_kib: fields[3].parse()?,
    })
}

fn peak_rss_kib() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).context("no VmHWM")?;
    Ok(line.split_whitespace().nth(1).context("VmHWM value")?.parse()?)
}

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(
        SAMPLE_COLUMNS.iter().map(|c| Field::new(*c, DataType::Utf8, true)).collect::<Vec<_>>(),
    ))
}

/// Writes the same records as CSV, NDJSON and Parquet.
fn generate(dir: &Path, rows: u64) -> Result<std::collections::HashMap<&'static str, PathBuf>> {
    let options = SampleOptions { rows, seed: 1, messy: 0.3, broken: 0.0 };
    let mut files = std::collections::HashMap::new();
    let mut writers = Vec::new();
    for format in [Format::Csv, Format::Ndjson, Format::Parquet] {
        let path = dir.join(format!("ingest.{format}"));
        let options = WriteOptions { format: Some(format), ..WriteOptions::default() };
        writers.push(Writer::create(&path, schema(), &options)?);
        files.insert(format.as_str(), path);
    }
    let mut generator = SampleGenerator::new(options);
    loop {
        let mut columns: Vec<Vec<String>> = vec![Vec::with_capacity(BATCH); SAMPLE_COLUMNS.len()];
        while columns[0].len() < BATCH {
            let Some(record) = generator.next_record() else { break };
            for (column, value) in columns.iter_mut().zip(record.values) {
                column.push(value);
            }
        }
        if columns[0].is_empty() {
            break;
        }
        let arrays = columns.into_iter().map(|c| Arc::new(StringArray::from(c)) as Arc<dyn Array>).collect();
        let batch = RecordBatch::try_new(schema(), arrays)?;
        for writer in &mut writers {
            writer.write(&batch)?;
        }
    }
    for writer in writers {
        writer.finish()?;
    }
    Ok(files)
}

/// Reads a file with one reader; returns rows and total bytes of the values.
fn read(reader: &str, file: &Path) -> Result<(u64, u64)> {
    let mut rows = 0u64;
    let mut bytes = 0u64;
    let mut count = |batch: &RecordBatch| {
        rows += batch.num_rows() as u64;
        for column in batch.columns() {
            let text = TextColumn::new(column.as_ref()).expect("text columns");
            bytes += text.iter().flatten().map(|v| v.len() as u64).sum::<u64>();
        }
    };
    match reader {
        "khop-csv" | "khop-ndjson" | "khop-parquet" => {
            let options = ReadOptions { batch_size: BATCH, ..ReadOptions::default() };
            let mut reader = Reader::open(file, &options)?;
            for batch in &mut reader {
                let batch = batch?;
                ensure!(batch.rejects.is_empty(), "unexpected rejects");
                count(&batch.records);
            }
        }
        "arrow-csv" => {
            let reader = arrow_csv::ReaderBuilder::new(schema())
                .with_header(true)
                .with_batch_size(BATCH)
                .build(std::fs::File::open(file)?)?;
            for batch in reader {
                count(&batch?);
            }
        }
        "arrow-json" => {
            let reader = arrow_json::ReaderBuilder::new(schema())
                .with_batch_size(BATCH)
                .build(BufReader::new(std::fs::File::open(file)?))?;
            for batch in reader {
                count(&batch?);
            }
        }
        "parquet-arrow" => {
            let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                std::fs::File::open(file)?,
            )?
            .with_batch_size(BATCH)
            .build()?;
            for batch in reader {
                count(&batch?);
            }
        }
        other => bail!("unknown reader {other}"),
    }
    Ok((rows, bytes))
}
