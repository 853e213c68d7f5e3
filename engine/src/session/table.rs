//! Tables: what to read ([`TableSource`]) and what reading and preparing it gave ([`Table`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow_array::{RecordBatch, RecordBatchIterator, RecordBatchReader};
use serde::Serialize;

use super::observe::{Observer, Stage, Unit};
use crate::block::KeyIndex;
use crate::config::InputConfig;
use crate::config::detect::{Detection, detect, detect_file};
use crate::error::{Error, Result};
use crate::index::{IndexSource, NationalIndex};
use crate::normalize::prepared::PreparedRecords;
use crate::read::{Batch, ReadOptions, ReadStats, Reader, Reject};
use crate::record::{ColumnSpec, DatasetSpec};
use crate::score::Model;

/// A table to read: its name, its file, the role of its columns and how to read it.
///
/// Made from a configuration's input ([`TableSource::from_input`]) or from a file whose roles
/// are detected from its header and values ([`TableSource::detect`]).
#[derive(Clone, Debug)]
pub struct TableSource {
    name: String,
    path: PathBuf,
    dataset: DatasetSpec,
    options: ReadOptions,
    /// How the id column was chosen, for reports.
    id_choice: IdChoice,
}

/// How a table's record ids were chosen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "from", content = "column")]
pub enum IdChoice {
    /// The configuration names the id column.
    Configured(String),
    /// Detection found a column that looks like a record id.
    Detected(String),
    /// No id column: records are named by their 1-based row number in the file.
    RowNumber,
}

impl IdChoice {
    /// The id column, if there is one.
    pub fn column(&self) -> Option<&str> {
        match self {
            IdChoice::Configured(c) | IdChoice::Detected(c) => Some(c),
            IdChoice::RowNumber => None,
        }
    }
}

impl std::fmt::Display for IdChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdChoice::Configured(c) => write!(f, "`{c}` (configured)"),
            IdChoice::Detected(c) => write!(f, "`{c}` (detected)"),
            IdChoice::RowNumber => f.write_str("the row number (no id column)"),
        }
    }
}

impl TableSource {
    /// A table described by a configuration's input.
    pub fn from_input(input: &InputConfig) -> TableSource {
        let id_choice = match &input.dataset.id_column {
            Some(c) => IdChoice::Configured(c.clone()),
            None => IdChoice::RowNumber,
        };
        TableSource {
            name: input.name.clone(),
            path: input.path.clone(),
            dataset: input.dataset.clone(),
            options: input.read.clone(),
            id_choice,
        }
    }

    /// A table whose columns' roles and id column are detected from the first rows of `path`,
    /// read with `options`. Its name is the file's stem.
    pub fn detect(path: impl AsRef<Path>, options: &ReadOptions) -> Result<TableSource> {
        let path = path.as_ref();
        let (_, detection) = detect_file(path, options)?;
        Ok(TableSource::detected(path, options, &detection))
    }

    /// A table read with `options` whose roles are those of `detection`.
    pub fn detected(path: &Path, options: &ReadOptions, detection: &Detection) -> TableSource {
        let dataset = DatasetSpec {
            id_column: detection.id_column.clone(),
            columns: detection
                .columns
                .iter()
                .filter_map(|c| c.role.map(|r| ColumnSpec::new(&c.name, r)))
                .collect(),
        };
        let options = read_options(&dataset, options);
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let id_choice = match &dataset.id_column {
            Some(c) => IdChoice::Detected(c.clone()),
            None => IdChoice::RowNumber,
        };
        TableSource { name, path: path.to_owned(), dataset, options, id_choice }
    }

    /// A table of `path` named `name` whose roles and id column are `dataset`'s (given, not
    /// detected), read with `options` (its columns and id column those of `dataset`).
    pub fn with_roles(
        name: impl Into<String>,
        path: impl Into<PathBuf>,
        dataset: DatasetSpec,
        options: &ReadOptions,
    ) -> TableSource {
        let id_choice = match &dataset.id_column {
            Some(c) => IdChoice::Configured(c.clone()),
            None => IdChoice::RowNumber,
        };
        let options = read_options(&dataset, options);
        TableSource { name: name.into(), path: path.into(), dataset, options, id_choice }
    }

    /// This table under another name (in reports and output file names).
    pub fn named(mut self, name: impl Into<String>) -> TableSource {
        self.name = name.into();
        self
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The id column and the columns with roles.
    pub fn dataset(&self) -> &DatasetSpec {
        &self.dataset
    }

    /// How the file is read.
    pub fn options(&self) -> &ReadOptions {
        &self.options
    }

    /// How the record ids were chosen.
    pub fn id_choice(&self) -> &IdChoice {
        &self.id_choice
    }

    /// A file of records for `index` (upserts, say): read with the index's table name, columns,
    /// roles and id column.
    pub fn for_index(index: &NationalIndex, path: impl AsRef<Path>) -> Result<TableSource> {
        let manifest = index.manifest();
        let dataset = manifest.dataset()?;
        let id_choice = match (&dataset.id_column, manifest.id_from.as_str()) {
            (Some(c), "configured") => IdChoice::Configured(c.clone()),
            (Some(c), _) => IdChoice::Detected(c.clone()),
            (None, _) => IdChoice::RowNumber,
        };
        let options = read_options(&dataset, &ReadOptions::default());
        Ok(TableSource {
            name: manifest.name.clone(),
            path: path.as_ref().to_owned(),
            dataset,
            options,
            id_choice,
        })
    }

    /// Reads and prepares the table (see [`crate::Session::prepare`]).
    pub(crate) fn prepare(&self, observer: &dyn Observer) -> Result<Table> {
        self.check_roles()?;
        let started = Instant::now();
        let reader = Reader::open(&self.path, &self.options)?;
        self.prepare_from(reader, started, observer)
    }

    /// A table of record batches handed over in memory (see [`crate::Session::prepare_arrow`]):
    /// the source, and the reader of the batches. Without `dataset`, the roles and the id column
    /// are detected from the first rows, as [`TableSource::detect`] does for a file.
    pub(crate) fn arrow(
        name: &str,
        batches: Box<dyn RecordBatchReader + Send>,
        dataset: Option<&DatasetSpec>,
        options: &ReadOptions,
    ) -> Result<(TableSource, Reader)> {
        let (batches, source) = match dataset {
            Some(dataset) => (batches, TableSource::with_roles(name, name, dataset.clone(), options)),
            None => {
                let (batches, detection) = detect_arrow(name, batches, options)?;
                (batches, TableSource::detected(Path::new(name), options, &detection).named(name))
            }
        };
        source.check_roles()?;
        let reader = Reader::from_arrow(name, batches, &source.options)?;
        Ok((source, reader))
    }

    fn check_roles(&self) -> Result<()> {
        if self.dataset.columns.is_empty() {
            return Err(Error::invalid(format!(
                "{}: no column has a role; write a configuration (`khop config init`)",
                self.path.display()
            )));
        }
        Ok(())
    }

    /// Prepares the table from `reader`, which reads it.
    pub(crate) fn prepare_from(
        &self,
        mut reader: Reader,
        started: Instant,
        observer: &dyn Observer,
    ) -> Result<Table> {
        let total = reader.progress().total;
        let unit = Unit::of(reader.format());
        observer.started(&Stage::Read { table: self.name.clone(), file: self.path.clone(), unit, total });
        let mut rejects = Vec::new();
        let batches = std::iter::from_fn(|| {
            let next = reader.next();
            observer.advanced(reader.progress().position);
            next
        })
        .map(|batch: Result<Batch>| {
            batch.map(|mut batch| {
                rejects.append(&mut batch.rejects);
                batch
            })
        });
        let rows = (unit == Unit::Rows && total > 0).then(|| usize::try_from(total).ok()).flatten();
        let prepared = PreparedRecords::from_batches_sized(&self.dataset, batches, rows);
        observer.finished();
        let records = Arc::new(prepared?);
        let stats = reader.stats();
        Ok(Table {
            inner: Arc::new(TableData {
                source: self.clone(),
                duplicate_ids: duplicate_ids(&records, self),
                records,
                stats,
                rejects,
                seconds: started.elapsed().as_secs_f64(),
            }),
            keys: None,
        })
    }
}

/// `options` reading the columns of `dataset`, with its id column.
fn read_options(dataset: &DatasetSpec, options: &ReadOptions) -> ReadOptions {
    ReadOptions {
        columns: Some(dataset.column_names().iter().map(|c| (*c).to_owned()).collect()),
        id_column: dataset.id_column.clone(),
        ..options.clone()
    }
}

/// Rows of in-memory batches that role detection looks at (as many as it reads of a file).
const DETECTION_ROWS: usize = 1000;

/// The roles and id column of in-memory batches, detected from their first rows as
/// [`detect_file`] does from a file's, and the batches again, to read from the start.
pub(crate) fn detect_arrow(
    name: &str,
    batches: Box<dyn RecordBatchReader + Send>,
    options: &ReadOptions,
) -> Result<(Box<dyn RecordBatchReader + Send>, Detection)> {
    let (batches, sample) = first_rows(name, batches, DETECTION_ROWS)?;
    let sample_options = ReadOptions { columns: None, id_column: None, ..options.clone() };
    let mut sample = Reader::from_arrow(name, sample, &sample_options)?;
    let sample = match sample.next() {
        Some(batch) => batch?.records,
        None => RecordBatch::new_empty(sample.schema()),
    };
    Ok((batches, detect(&sample)))
}

/// The first `rows` rows of `batches` (fewer when the batches hold fewer), and all of the batches
/// again, those first ones included, to read from the start.
fn first_rows(
    name: &str,
    mut batches: Box<dyn RecordBatchReader + Send>,
    rows: usize,
) -> Result<(Box<dyn RecordBatchReader + Send>, Box<dyn RecordBatchReader + Send>)> {
    let schema = batches.schema();
    let mut taken = Vec::new();
    let mut seen = 0;
    while seen < rows {
        match batches.next() {
            Some(Ok(batch)) => {
                seen += batch.num_rows();
                taken.push(batch);
            }
            Some(Err(e)) => {
                let position = Some(format!("after row {seen}"));
                return Err(Error::format(Path::new(name), position, format!("cannot read ({e})")));
            }
            None => break,
        }
    }
    let sample: Vec<RecordBatch> = {
        let mut left = rows;
        taken
            .iter()
            .map_while(|batch| {
                (left > 0).then(|| {
                    let take = batch.num_rows().min(left);
                    left -= take;
                    batch.slice(0, take)
                })
            })
            .collect()
    };
    let sample = RecordBatchIterator::new(sample.into_iter().map(Ok), Arc::clone(&schema));
    let all = RecordBatchIterator::new(taken.into_iter().map(Ok).chain(batches), schema);
    Ok((Box::new(all), Box::new(sample)))
}

/// A table read and prepared for matching: its comparison-ready records, what reading it counted
/// and every row it rejected, with the reason. Cheap to clone (shared), `Send + Sync`.
#[derive(Clone)]
pub struct Table {
    inner: Arc<TableData>,
    /// The sorted blocking-key lists kept across links to this table, when asked for
    /// ([`Table::keeping_keys`]).
    keys: Option<Arc<KeyIndex<'static>>>,
}

struct TableData {
    source: TableSource,
    records: Arc<PreparedRecords>,
    stats: ReadStats,
    rejects: Vec<Reject>,
    seconds: f64,
    duplicate_ids: u64,
}

/// Records whose id repeats the id of an earlier record (0 without an id column). Such records
/// are kept, each under its own position; outputs name them by the repeated id, so the count is
/// reported for a person to fix the table.
fn duplicate_ids(records: &PreparedRecords, source: &TableSource) -> u64 {
    if source.id_choice.column().is_none() {
        return 0;
    }
    let mut seen = std::collections::HashSet::with_capacity(records.len());
    (0..records.len() as u32).filter(|&i| !seen.insert(records.record_id(i))).count() as u64
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("name", &self.name())
            .field("path", &self.path())
            .field("records", &self.len())
            .field("stats", &self.inner.stats)
            .finish_non_exhaustive()
    }
}

impl Table {
    /// Prepares `batches` (from any Arrow source: each batch's rows, their row numbers and the
    /// rows already rejected) under `source`'s roles, without reading a file.
    pub fn from_batches<I>(source: TableSource, batches: I) -> Result<Table>
    where
        I: IntoIterator<Item = Result<Batch>>,
    {
        let started = Instant::now();
        let mut stats = ReadStats::default();
        let mut rejects = Vec::new();
        let batches = batches.into_iter().map(|batch| {
            batch.map(|mut batch| {
                stats.rows_passed += batch.records.num_rows() as u64;
                stats.rows_rejected += batch.rejects.len() as u64;
                rejects.append(&mut batch.rejects);
                batch
            })
        });
        let records = Arc::new(PreparedRecords::from_batches(&source.dataset, batches)?);
        stats.rows_read = stats.rows_passed + stats.rows_rejected;
        let duplicate_ids = duplicate_ids(&records, &source);
        Ok(Table {
            inner: Arc::new(TableData {
                source,
                records,
                stats,
                rejects,
                seconds: started.elapsed().as_secs_f64(),
                duplicate_ids,
            }),
            keys: None,
        })
    }

    /// Writes this table, prepared, as a persistent index into the new folder `dir` (see
    /// [`crate::index`]), with `model` for lookups when given; a folder that exists is refused.
    pub fn build_index(&self, dir: &Path, model: Option<&Model>) -> Result<NationalIndex> {
        let source = &self.inner.source;
        let id_from = match &source.id_choice {
            IdChoice::Configured(_) => "configured",
            IdChoice::Detected(_) => "detected",
            IdChoice::RowNumber => "row_number",
        };
        let indexed = IndexSource {
            name: &source.name,
            dataset: &source.dataset,
            id_from,
            rows_read: self.inner.stats.rows_read,
            rows_rejected: self.inner.stats.rows_rejected,
        };
        NationalIndex::build(dir, &indexed, self.inner.records.clone(), model)
    }

    /// The table a persistent index holds: the records it was built from as they were prepared
    /// then, with the updates since (replaced and deleted records left out), the same name, roles
    /// and id column. Its path is the index folder; the rows rejected when the source was read
    /// are counted but not kept.
    pub fn from_index(index: &NationalIndex) -> Result<Table> {
        let started = Instant::now();
        let manifest = index.manifest();
        let source = TableSource::for_index(index, index.dir())?;
        let records = index.live_records()?;
        let stats = ReadStats {
            rows_read: manifest.rows_read,
            rows_passed: records.len() as u64,
            rows_rejected: manifest.rows_rejected,
            ignored_fields: 0,
        };
        let duplicate_ids = duplicate_ids(&records, &source);
        Ok(Table {
            inner: Arc::new(TableData {
                source,
                records,
                stats,
                rejects: Vec::new(),
                seconds: started.elapsed().as_secs_f64(),
                duplicate_ids,
            }),
            keys: None,
        })
    }

    /// This table, keeping its blocking keys once computed: every link to it after the first
    /// takes its sorted key lists from memory instead of hashing and sorting its records again,
    /// rule by rule. The lists cost 16 bytes per record and blocking rule and live as long as
    /// the table (and its clones): for a national table linked many times in one process (an
    /// open index serving calls from Python or Spark tasks), not for a one-off run.
    pub fn keeping_keys(&self) -> Table {
        let keys = KeyIndex::shared(Arc::clone(&self.inner.records));
        Table { inner: Arc::clone(&self.inner), keys: Some(Arc::new(keys)) }
    }

    /// The kept blocking keys, if this table keeps them ([`Table::keeping_keys`]).
    pub(crate) fn kept_keys(&self) -> Option<&KeyIndex<'static>> {
        self.keys.as_deref()
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.inner.source.name
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.inner.source.path
    }

    /// What was read, and how.
    pub fn source(&self) -> &TableSource {
        &self.inner.source
    }

    /// The prepared records.
    pub fn records(&self) -> &PreparedRecords {
        &self.inner.records
    }

    /// Records prepared.
    pub fn len(&self) -> usize {
        self.inner.records.len()
    }

    /// Whether no record was prepared.
    pub fn is_empty(&self) -> bool {
        self.inner.records.is_empty()
    }

    /// Rows read, passed and rejected.
    pub fn stats(&self) -> ReadStats {
        self.inner.stats
    }

    /// Every rejected row, with its reason, in file order.
    pub fn rejects(&self) -> &[Reject] {
        &self.inner.rejects
    }

    /// Records whose id repeats an earlier record's id (kept, and reported).
    pub fn duplicate_ids(&self) -> u64 {
        self.inner.duplicate_ids
    }

    /// What deserves a person's attention about this table.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.inner.duplicate_ids > 0 {
            warnings.push(format!(
                "{}: {} records repeat an earlier record's id in {}; they are kept and matched, but their outputs cannot be told apart by id",
                self.name(),
                self.inner.duplicate_ids,
                self.inner.source.id_choice
            ));
        }
        warnings
    }

    /// Seconds spent reading and preparing.
    pub fn seconds(&self) -> f64 {
        self.inner.seconds
    }

    /// The record whose id is `id`; an error when none has it, or when several do (an id that
    /// names two records cannot pick one).
    pub fn find(&self, id: &str) -> Result<RecordIndex> {
        let records = &self.inner.records;
        let first = records
            .find_id(id)
            .ok_or_else(|| Error::invalid(format!("{} has no record with id `{id}`", self.name())))?;
        if self.inner.duplicate_ids > 0 {
            let rows: Vec<String> = (0..records.len() as u32)
                .filter(|&i| records.record_id(i) == id)
                .map(|i| records.row(i).map_or_else(|| format!("record {i}"), |r| format!("row {r}")))
                .collect();
            if rows.len() > 1 {
                return Err(Error::invalid(format!(
                    "{}: the id `{id}` names {} records ({}); give each record its own id",
                    self.name(),
                    rows.len(),
                    rows.join(", ")
                )));
            }
        }
        Ok(RecordIndex(first))
    }

    /// This table's part of a run summary.
    pub fn summary(&self) -> TableSummary {
        TableSummary {
            name: self.name().to_owned(),
            path: self.path().to_owned(),
            records: self.len(),
            rows_read: self.inner.stats.rows_read,
            rows_rejected: self.inner.stats.rows_rejected,
            id: self.inner.source.id_choice.clone(),
            duplicate_ids: self.inner.duplicate_ids,
        }
    }

    pub(crate) fn shared_records(&self) -> Arc<PreparedRecords> {
        Arc::clone(&self.inner.records)
    }
}

/// A record's position in its prepared table (0-based, in input order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RecordIndex(pub u32);

/// A table in a run summary.
#[derive(Clone, Debug, Serialize)]
pub struct TableSummary {
    /// Its name.
    pub name: String,
    /// Its file.
    pub path: PathBuf,
    /// Records prepared.
    pub records: usize,
    /// Rows read from the file.
    pub rows_read: u64,
    /// Rows rejected.
    pub rows_rejected: u64,
    /// How record ids were chosen.
    pub id: IdChoice,
    /// Records whose id repeats an earlier record's id.
    pub duplicate_ids: u64,
}
