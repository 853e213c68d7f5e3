//! Where a run writes, checked before it starts: every output a known format, its folder
//! present, and no output on an input or on another output of the same run.

use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};
use crate::read::{Format, Reject};
use crate::write::{RejectWriter, WriteOptions, Writer};

/// Rows per batch of the outputs the library builds.
pub const OUTPUT_BATCH_ROWS: usize = 65_536;

/// The files a run reads and writes, named for messages, checked together.
#[derive(Clone, Debug, Default)]
pub struct OutputPlan {
    inputs: Vec<(String, PathBuf)>,
    outputs: Vec<(String, PathBuf, Kind)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A table: Parquet, CSV or NDJSON by extension.
    Table,
    /// Any other file (JSON summary, model, rejects CSV).
    File,
}

impl OutputPlan {
    /// An empty plan.
    pub fn new() -> OutputPlan {
        OutputPlan::default()
    }

    /// A file the run reads (`what`: "the input `national`", "the model").
    pub fn input(&mut self, what: impl Into<String>, path: &Path) -> &mut Self {
        self.inputs.push((what.into(), path.to_owned()));
        self
    }

    /// A table the run writes; its extension must name a format.
    pub fn table(&mut self, what: impl Into<String>, path: &Path) -> &mut Self {
        self.outputs.push((what.into(), path.to_owned(), Kind::Table));
        self
    }

    /// Another file the run writes, when there is one.
    pub fn file(&mut self, what: impl Into<String>, path: Option<&Path>) -> &mut Self {
        if let Some(path) = path {
            self.outputs.push((what.into(), path.to_owned(), Kind::File));
        }
        self
    }

    /// Checks the plan: every table output has a known format, every output's folder exists,
    /// and no output is an input or another output (compared as canonical paths, so that
    /// `./a.csv`, `a.csv` and a symbolic link to it are one file).
    pub fn check(&self) -> Result<()> {
        let mut seen: Vec<(PathBuf, String)> =
            self.inputs.iter().map(|(what, path)| (canonical(path), what.clone())).collect();
        for (what, path, kind) in &self.outputs {
            if *kind == Kind::Table && Format::from_path(path).is_none() {
                return Err(Error::invalid(format!(
                    "{what} {}: name a .parquet, .csv or .ndjson file",
                    path.display()
                )));
            }
            let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            if !folder.is_dir() {
                return Err(Error::invalid(format!(
                    "{what} {}: the folder {} does not exist",
                    path.display(),
                    folder.display()
                )));
            }
            if path.is_dir() {
                return Err(Error::invalid(format!("{what} {}: is a folder, not a file", path.display())));
            }
            let key = canonical(path);
            if let Some((_, other)) = seen.iter().find(|(p, _)| *p == key) {
                return Err(ErrorKind::OutputClash { path: path.clone(), other: other.clone() }.into());
            }
            seen.push((key, what.clone()));
        }
        Ok(())
    }
}

/// `path` made absolute with symbolic links resolved; for a file that does not exist yet, its
/// folder resolved and its name appended.
fn canonical(path: &Path) -> PathBuf {
    if let Ok(path) = std::fs::canonicalize(path) {
        return path;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    match (absolute.parent(), absolute.file_name()) {
        (Some(parent), Some(name)) => {
            std::fs::canonicalize(parent).map(|p| p.join(name)).unwrap_or_else(|_| absolute.clone())
        }
        _ => absolute,
    }
}

/// Writes `batches` to `path` (format from the extension); returns the rows written.
pub fn write_batches(
    path: &Path,
    schema: SchemaRef,
    batches: impl IntoIterator<Item = Result<RecordBatch>>,
) -> Result<u64> {
    let mut writer = Writer::create(path, schema, &WriteOptions::default())?;
    for batch in batches {
        writer.write(&batch?)?;
    }
    writer.finish()
}

/// Writes the rejects of several tables, in order, to one CSV file; returns the rows written.
pub fn write_rejects<'a>(path: &Path, rejects: impl IntoIterator<Item = &'a [Reject]>) -> Result<u64> {
    let mut writer = RejectWriter::create(path)?;
    for part in rejects {
        writer.write(part)?;
    }
    writer.finish()
}

/// Writes `value` as pretty JSON to `path`, whole or not at all.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::format_with(path, None, "cannot write JSON", e))?;
    write_text(path, &text)
}

/// Writes `text` to `path`, whole or not at all (see [`crate::write::write_atomic`]).
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    crate::write::write_atomic(path, text)
}

/// Peak resident memory of this process so far, in MiB (Linux; `None` elsewhere).
pub fn peak_memory_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kib| kib / 1024)
}
