//! The persistent national index: a national table read and prepared once, kept in a folder,
//! opened in a fraction of the time it takes to read and normalize the table again, and kept up
//! to date record by record.
//!
//! The folder holds:
//! - `records.arrow`: the prepared records of the table the index was built from, one Arrow IPC
//!   file with one batch in the layout of [`PreparedRecords::to_batch`];
//! - `records-<generation>.arrow`: the prepared records each update added, in the same layout;
//!   records are numbered across the files in order;
//! - `keys/`: a tantivy index with one document per record not deleted: its blocking terms under
//!   the default rules of the national table, its id, and its number (`keys`), for looking up
//!   one record's candidates ([`NationalIndex::lookup`]) without a pass over the table;
//! - `model.json` (when the index was built with a model) or `model-<generation>.json` (after
//!   [`NationalIndex::set_model`]): the model lookups score with;
//! - `manifest.json`: what never changes after the build: the format and its version, the khop
//!   version that wrote it, the table's name, columns and roles, id column, counts, the rules,
//!   and the size and xxh3-64 checksum of `records.arrow`.
//!
//! What changes with updates is the state of the last commit ([`IndexCommit`]: generation,
//! records files with their sizes and checksums, model, count), carried as the payload of the
//! tantivy commit of `keys/`. An update writes its records file and flushes it to disk, then
//! deletes and adds terms and commits them with the new state in one atomic step: after a crash
//! at any point the index opens at its last commit, and a records file written by an update that
//! never committed is ignored (and overwritten by the next update). Tantivy's lock makes the
//! writer one at a time ([`ErrorKind::Locked`]).
//!
//! [`NationalIndex::open`] checks the manifest, every file's size and checksum (tantivy's own
//! checksums for `keys/`) and that the terms and records agree before anything is used, so a
//! truncated, damaged or foreign folder is a clear error.
//!
//! A new index is written into a hidden sibling folder and renamed into place: after a crash
//! there is either no index or a whole one, never half of one. An existing folder is not
//! overwritten.

mod keys;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_ipc::writer::FileWriter;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

pub use keys::RuleHits;

use crate::block::BlockingRule;
use crate::error::{Error, ErrorKind, Result};
use crate::link::linker::{LinkSettings, Linker};
use crate::link::{BestCandidates, Candidate, Decision, LinkResult};
use crate::normalize::prepared::PreparedRecords;
use crate::record::{ColumnSpec, DatasetSpec, Role};
use crate::score::{Contribution, Model, probability};
use crate::write::{AtomicFile, write_atomic};

/// The `format` of every index manifest.
pub const INDEX_FORMAT: &str = "khop-national-index";
/// The version of the folder's layout; an index of another version is refused.
pub const INDEX_FORMAT_VERSION: u32 = 2;

const MANIFEST: &str = "manifest.json";
const RECORDS: &str = "records.arrow";
const MODEL: &str = "model.json";

/// What an index holds, as written in its `manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexManifest {
    /// Always [`INDEX_FORMAT`].
    pub format: String,
    /// [`INDEX_FORMAT_VERSION`] when written.
    pub version: u32,
    /// The khop version that wrote it.
    pub khop_version: String,
    /// The table's name (in reports and output file names).
    pub name: String,
    /// The table's id column, `None` when records are named by their row number.
    pub id_column: Option<String>,
    /// How the id column was chosen: `configured`, `detected` or `row_number`.
    pub id_from: String,
    /// The columns read, with their roles.
    pub columns: Vec<IndexedColumn>,
    /// Records in the index.
    pub records: u64,
    /// Rows the source file had, and rows rejected when it was read (header excluded).
    pub rows_read: u64,
    /// Rows rejected when the source file was read (they are not in the index).
    pub rows_rejected: u64,
    /// The blocking rules whose terms `keys/` holds, by name, in order.
    pub rules: Vec<String>,
    /// The files written by the build that never change (`records.arrow`), with their sizes and
    /// checksums.
    pub files: Vec<IndexedFile>,
}

/// The state of an index at its last commit, carried by the commit of its terms ([module
/// docs](self)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexCommit {
    /// 0 when built; one more with each update and each new model.
    pub generation: u64,
    /// The records files updates added, in order.
    pub segments: Vec<IndexedSegment>,
    /// The model lookups score with, if any.
    pub model: Option<IndexedFile>,
    /// Records in the index: those not replaced or deleted since.
    pub records: u64,
}

impl IndexCommit {
    /// As the payload of the terms index's commit.
    fn payload(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| Error::invalid(format!("index commit: {e}")))
    }
}

/// A records file an update added.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedSegment {
    /// The file, its size and checksum.
    pub file: IndexedFile,
    /// Records it holds.
    pub rows: u64,
}

/// What [`NationalIndex::update`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IndexUpdate {
    /// The generation it committed.
    pub generation: u64,
    /// Records upserted: `replaced` of them replace a record of the same id, the others are new.
    pub upserted: u64,
    /// Upserted records that replaced one of the same id.
    pub replaced: u64,
    /// Ids deleted that the index held.
    pub deleted: u64,
    /// Ids to delete that the index did not hold.
    pub not_found: u64,
    /// Records in the index after the update.
    pub records: u64,
}

/// A column of the indexed table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedColumn {
    /// Its name in the source file.
    pub name: String,
    /// Its role ([`Role`]'s name).
    pub role: String,
    /// Values read as missing.
    #[serde(default)]
    pub null_values: Vec<String>,
}

/// A file of an index folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedFile {
    /// Its name in the folder.
    pub name: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// xxh3-64 of its bytes, 16 hexadecimal digits.
    pub xxh3: String,
}

impl IndexManifest {
    /// The dataset the index was built from: id column, columns and roles.
    pub fn dataset(&self) -> Result<DatasetSpec> {
        let columns = self
            .columns
            .iter()
            .map(|c| {
                let role = c.role.parse::<Role>().map_err(|e| {
                    Error::invalid(format!("index manifest: column `{}` has an unknown role: {e}", c.name))
                })?;
                Ok(ColumnSpec { name: c.name.clone(), role, null_values: c.null_values.clone() })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(DatasetSpec { id_column: self.id_column.clone(), columns })
    }
}

/// Where an index comes from: the table's name, its dataset and how its file was read.
#[derive(Clone, Debug)]
pub struct IndexSource<'a> {
    /// The table's name.
    pub name: &'a str,
    /// Its id column and columns with roles.
    pub dataset: &'a DatasetSpec,
    /// How the id column was chosen: `configured`, `detected` or `row_number`.
    pub id_from: &'a str,
    /// Rows the source file had.
    pub rows_read: u64,
    /// Rows rejected when it was read.
    pub rows_rejected: u64,
}

/// A national table prepared once and kept in a folder ([module docs](self)).
#[derive(Debug)]
pub struct NationalIndex {
    dir: PathBuf,
    manifest: IndexManifest,
    commit: IndexCommit,
    /// Every record ever added, replaced and deleted ones included: terms point into these.
    records: Arc<PreparedRecords>,
    /// Which of `records` are in the index; `None` when all are.
    live: Option<Arc<Vec<bool>>>,
    rules: Vec<BlockingRule>,
    terms: Arc<keys::KeyTerms>,
    model: Option<Model>,
}

/// Another handle on the same index, at the commit this one has seen: cheap (the records and
/// terms are shared; the live-record flags, one byte a record, are copied when an update makes
/// them differ). An update through one handle leaves what the other sees unchanged, so a service
/// can update a clone while lookups go on against the original, then swap the two.
impl Clone for NationalIndex {
    fn clone(&self) -> NationalIndex {
        NationalIndex {
            dir: self.dir.clone(),
            manifest: self.manifest.clone(),
            commit: self.commit.clone(),
            records: Arc::clone(&self.records),
            live: self.live.clone(),
            rules: self.rules.clone(),
            terms: Arc::new(self.terms.fork()),
            model: self.model.clone(),
        }
    }
}

impl NationalIndex {
    /// Writes an index of `records` into the new folder `dir`, with `model` for lookups when
    /// given; `ErrorKind::OutputClash` when `dir` exists already.
    pub fn build(
        dir: &Path,
        source: &IndexSource<'_>,
        records: Arc<PreparedRecords>,
        model: Option<&Model>,
    ) -> Result<NationalIndex> {
        if dir.exists() {
            let other =
                "an existing folder (an index is never overwritten: remove it or choose another)".to_owned();
            return Err(ErrorKind::OutputClash { path: dir.to_owned(), other }.into());
        }
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let stem =
            dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "index".into());
        let staging = parent.join(format!(".{stem}.partial-{}", std::process::id()));
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, "remove", e))?;
        }
        std::fs::create_dir_all(&staging).map_err(|e| Error::io(&staging, "create", e))?;
        let rules = BlockingRule::defaults_for(&records, Some(&records));
        let written = write_folder(&staging, source, &records, &rules, model);
        let (manifest, commit) = match written {
            Ok(written) => written,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                return Err(e);
            }
        };
        if let Err(e) = std::fs::rename(&staging, dir) {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(Error::io(dir, "create", e));
        }
        sync_dir(&parent);
        let terms = Arc::new(keys::KeyTerms::open(&dir.join(keys::KEYS_DIR))?);
        Ok(NationalIndex {
            dir: dir.to_owned(),
            manifest,
            commit,
            records,
            live: None,
            rules,
            terms,
            model: model.cloned(),
        })
    }

    /// Opens the index in `dir`, checking its manifest, format version, files, sizes and
    /// checksums before reading its records.
    pub fn open(dir: &Path) -> Result<NationalIndex> {
        let manifest_path = dir.join(MANIFEST);
        if !dir.is_dir() {
            return Err(Error::io(
                dir,
                "open the index folder",
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such folder"),
            ));
        }
        let text =
            std::fs::read_to_string(&manifest_path).map_err(|e| Error::io(&manifest_path, "read", e))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::format(&manifest_path, None, format!("not a khop index manifest: {e}")))?;
        let format = value.get("format").and_then(|f| f.as_str());
        if format != Some(INDEX_FORMAT) {
            return Err(Error::format(
                &manifest_path,
                None,
                format!(
                    "not a khop index manifest (format {:?}, expected {INDEX_FORMAT:?})",
                    format.unwrap_or("none")
                ),
            ));
        }
        let version = value.get("version").and_then(|v| v.as_u64());
        if version != Some(u64::from(INDEX_FORMAT_VERSION)) {
            return Err(Error::format(
                &manifest_path,
                None,
                format!(
                    "index format version {} where this khop reads version {INDEX_FORMAT_VERSION}; build the index again with `khop index build`",
                    version.map_or("(none)".to_owned(), |v| v.to_string())
                ),
            ));
        }
        let manifest: IndexManifest = serde_json::from_value(value)
            .map_err(|e| Error::format(&manifest_path, None, format!("index manifest: {e}")))?;
        manifest.dataset()?;
        // The records file is checked as it is read (once, through a map); the others here.
        for file in manifest.files.iter().filter(|f| f.name != RECORDS) {
            check_file(dir, file)?;
        }
        let Some(records_file) = manifest.files.iter().find(|f| f.name == RECORDS) else {
            return Err(Error::format(&manifest_path, None, format!("index manifest lists no `{RECORDS}`")));
        };
        let base = read_checked_records(dir, records_file)?;
        if base.len() as u64 != manifest.records {
            return Err(Error::format(
                &dir.join(RECORDS),
                None,
                format!("{} records where the manifest says {}", base.len(), manifest.records),
            ));
        }
        let rules = BlockingRule::defaults_for(&base, Some(&base));
        let names: Vec<&str> = rules.iter().map(BlockingRule::name).collect();
        if names != manifest.rules {
            return Err(Error::format(
                &manifest_path,
                None,
                format!(
                    "the index holds terms of the rules {:?}, this khop blocks this table with {names:?}; build the index again",
                    manifest.rules
                ),
            ));
        }

        let keys_dir = dir.join(keys::KEYS_DIR);
        let (terms, commit) = open_terms(&keys_dir)?;
        let mut parts = vec![base];
        for (n, segment) in commit.segments.iter().enumerate() {
            if !is_generation_file(&segment.file.name, "records-", ".arrow") {
                return Err(Error::format(
                    &keys_dir,
                    None,
                    format!("the commit names the records file `{}`", segment.file.name),
                ));
            }
            let path = dir.join(&segment.file.name);
            let part = read_checked_records(dir, &segment.file)?;
            if part.len() as u64 != segment.rows {
                return Err(Error::format(
                    &path,
                    None,
                    format!(
                        "{} records where the commit says {} (update {})",
                        part.len(),
                        segment.rows,
                        n + 1
                    ),
                ));
            }
            parts.push(part);
        }
        let model = match &commit.model {
            Some(file) => {
                if file.name != MODEL && !is_generation_file(&file.name, "model-", ".json") {
                    return Err(Error::format(
                        &keys_dir,
                        None,
                        format!("the commit names the model `{}`", file.name),
                    ));
                }
                check_file(dir, file)?;
                let path = dir.join(&file.name);
                let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, "read", e))?;
                Some(Model::from_json(&text)?)
            }
            None => None,
        };
        let updated = parts.len() > 1;
        let mut records = if updated {
            PreparedRecords::concat(&parts.iter().collect::<Vec<_>>())?
        } else {
            parts.pop().unwrap_or_default()
        };
        drop(parts);

        let mut live = vec![false; records.len()];
        let mut count = 0u64;
        for number in terms.live_records()? {
            match usize::try_from(number).ok().and_then(|n| live.get_mut(n)) {
                Some(slot) if !*slot => {
                    *slot = true;
                    count += 1;
                }
                _ => {
                    return Err(Error::format(
                        &keys_dir,
                        None,
                        format!(
                            "terms of record {number}, which the records files do not hold once: the index is damaged"
                        ),
                    ));
                }
            }
        }
        if count != commit.records {
            return Err(Error::format(
                &keys_dir,
                None,
                format!("{count} documents where the commit says {} records", commit.records),
            ));
        }
        let live = (count < records.len() as u64).then_some(live);
        if updated || live.is_some() {
            records.recount(live.as_deref());
        }
        Ok(NationalIndex {
            dir: dir.to_owned(),
            manifest,
            commit,
            records: Arc::new(records),
            live: live.map(Arc::new),
            rules,
            terms: Arc::new(terms),
            model,
        })
    }

    /// Sees the index's last commit, for a reader kept open while another process updates the
    /// index: opens it again (every check of [`Self::open`]) when its commit is not the one
    /// this handle holds. Returns whether it changed.
    pub fn reload(&mut self) -> Result<bool> {
        if self.is_current()? {
            return Ok(false);
        }
        *self = NationalIndex::open(&self.dir)?;
        Ok(true)
    }

    /// Whether this handle holds the index's last commit.
    fn is_current(&self) -> Result<bool> {
        let keys_dir = self.dir.join(keys::KEYS_DIR);
        Ok(last_commit(&keys_dir, keys::last_payload(&keys_dir)?)? == self.commit)
    }

    /// Takes the index's one writer, after opening the index again if another process
    /// committed since this handle opened it (a commit made from a stale handle would drop the
    /// other's records files from its state while their terms stay).
    fn writer(&mut self) -> Result<keys::KeyWriter> {
        for _ in 0..3 {
            let writer = self.terms.writer()?;
            if self.is_current()? {
                return Ok(writer);
            }
            drop(writer);
            *self = NationalIndex::open(&self.dir)?;
        }
        Err(Error::invalid(format!(
            "{}: the index kept changing while this process waited to write it; try again",
            self.dir.display()
        )))
    }

    /// An error of the terms index while `action`.
    fn terms_error(&self, action: &'static str) -> impl Fn(tantivy::TantivyError) -> Error + '_ {
        move |e| Error::format(&self.dir.join(keys::KEYS_DIR), None, format!("{action}: {e}"))
    }

    /// The index folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the manifest says.
    pub fn manifest(&self) -> &IndexManifest {
        &self.manifest
    }

    /// The state of the last commit.
    pub fn commit(&self) -> &IndexCommit {
        &self.commit
    }

    /// Every record the index was given, replaced and deleted ones included, numbered as
    /// lookups number them ([`LookupCandidate::record`]); [`Self::is_live`] tells which are in
    /// the index.
    pub fn records(&self) -> &Arc<PreparedRecords> {
        &self.records
    }

    /// Whether record `record` of [`Self::records`] is in the index (not replaced or deleted).
    pub fn is_live(&self, record: u32) -> bool {
        let i = record as usize;
        i < self.records.len() && self.live.as_ref().is_none_or(|live| live[i])
    }

    /// The records in the index, in order: what a batch link against the index links to.
    pub fn live_records(&self) -> Result<Arc<PreparedRecords>> {
        match &self.live {
            None => Ok(self.records.clone()),
            Some(live) => {
                let rows: Vec<u32> = (0..self.records.len() as u32).filter(|&i| live[i as usize]).collect();
                Ok(Arc::new(self.records.select(&rows)?))
            }
        }
    }

    /// Bytes the index takes on disk: its records files, terms and model.
    pub fn size_on_disk(&self) -> u64 {
        let files = self.manifest.files.iter().chain(self.commit.segments.iter().map(|s| &s.file));
        let keys = std::fs::read_dir(self.dir.join(keys::KEYS_DIR))
            .map(|entries| entries.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum::<u64>())
            .unwrap_or(0);
        files.chain(&self.commit.model).map(|f| f.bytes).sum::<u64>() + keys
    }

    /// The model lookups score with, if any.
    pub fn model(&self) -> Option<&Model> {
        self.model.as_ref()
    }

    /// `model` when given, else the index's; an error when the index has none either.
    pub fn model_or<'m>(&'m self, model: Option<&'m Model>) -> Result<&'m Model> {
        model.or(self.model.as_ref()).ok_or_else(|| {
            Error::invalid("this index was built without a model: give one (`khop train`, then --model)")
        })
    }

    /// Upserts `upserts` (prepared with the index's roles, see
    /// [`crate::session::TableSource::for_index`]) and deletes the records of the ids `deletes`, in one
    /// commit ([module docs](self)). A record upserted under an id the index holds replaces it
    /// (every record of that id, should the table the index was built from have held it twice);
    /// an id to delete that the index does not hold is counted in [`IndexUpdate::not_found`].
    ///
    /// Refused (`ErrorKind::Invalid`) for an index whose records are named by row number, for
    /// upserts without an id or with an id twice, for an id both upserted and deleted, and for
    /// upserts prepared with other fields; `ErrorKind::Locked` while another process writes the
    /// index. Term frequencies follow the records at once; the model stays until
    /// [`Self::set_model`].
    pub fn update(&mut self, upserts: Option<&PreparedRecords>, deletes: &[String]) -> Result<IndexUpdate> {
        if self.manifest.id_column.is_none() {
            return Err(Error::invalid(
                "the records of this index are named by their row number: it cannot be updated by id; build it from a table with an id column",
            ));
        }
        let empty = PreparedRecords::default();
        let upserts = upserts.unwrap_or(&empty);
        let mut upserted: HashMap<&str, u32> = HashMap::with_capacity(upserts.len());
        for i in 0..upserts.len() as u32 {
            let id = upserts.record_id(i);
            let row = |i: u32| upserts.row(i).unwrap_or(u64::from(i) + 1);
            if id.is_empty() {
                return Err(Error::invalid(format!("upserts: row {} has no record id", row(i))));
            }
            if let Some(&first) = upserted.get(id) {
                return Err(Error::invalid(format!(
                    "upserts: rows {} and {} carry the same record id",
                    row(first),
                    row(i)
                )));
            }
            upserted.insert(id, i);
        }
        let deletes: HashSet<&str> = deletes.iter().map(|d| d.trim()).filter(|d| !d.is_empty()).collect();
        if let Some(i) = deletes.iter().filter_map(|d| upserted.get(d)).min() {
            return Err(Error::invalid(format!(
                "upserts: the record id of row {} is also to be deleted; upsert or delete it, not both",
                upserts.row(*i).unwrap_or(u64::from(*i) + 1)
            )));
        }
        // Under the lock, and at the last commit: what follows reads this handle's state.
        let writer = self.writer()?;
        let records = if upserts.is_empty() {
            None
        } else {
            Some(
                PreparedRecords::concat(&[self.records.as_ref(), upserts])
                    .map_err(|e| Error::invalid(format!("upserts do not fit the index: {e}")))?,
            )
        };
        // The records each id names now, by the terms index (not a map of every id).
        let held = |id: &str| self.terms.records_with_id(id).map_err(self.terms_error("looking up ids"));

        let generation = self.commit.generation + 1;
        let mut commit = IndexCommit { generation, ..self.commit.clone() };
        if !upserts.is_empty() {
            let name = format!("records-{generation}.arrow");
            write_records(&self.dir, &name, upserts)?;
            commit
                .segments
                .push(IndexedSegment { file: describe(&self.dir, &name)?, rows: upserts.len() as u64 });
        }
        let mut report = IndexUpdate { generation, upserted: upserts.len() as u64, ..IndexUpdate::default() };
        let mut live = match &self.live {
            Some(live) => live.as_ref().clone(),
            None => vec![true; self.records.len()],
        };
        for id in upserted.keys() {
            let old = held(id)?;
            if !old.is_empty() {
                writer.delete_id(id);
                old.iter().for_each(|&r| live[r as usize] = false);
                report.replaced += 1;
            }
        }
        for id in &deletes {
            let old = held(id)?;
            if old.is_empty() {
                report.not_found += 1;
            } else {
                writer.delete_id(id);
                old.iter().for_each(|&r| live[r as usize] = false);
                report.deleted += 1;
            }
        }
        let first = self.records.len() as u64;
        for i in 0..upserts.len() as u32 {
            writer.add(upserts, i, first + u64::from(i), &self.rules)?;
        }
        live.resize(live.len() + upserts.len(), true);
        // Counted, not derived: an id the built table held twice names two records.
        commit.records = live.iter().filter(|&&l| l).count() as u64;
        report.records = commit.records;
        writer.commit(&commit.payload()?)?;

        if let Some(records) = records {
            self.records = Arc::new(records);
        }
        let all = live.iter().all(|&l| l);
        // Copies the records only when a caller still holds them (a table made from the index).
        Arc::make_mut(&mut self.records).recount((!all).then_some(live.as_slice()));
        self.live = (!all).then(|| Arc::new(live));
        self.commit = commit;
        self.terms.reload()?;
        Ok(report)
    }

    /// Makes `model` the one lookups score with, in one commit (`model-<generation>.json`).
    /// `ErrorKind::Locked` while another process writes the index.
    pub fn set_model(&mut self, model: &Model) -> Result<()> {
        let writer = self.writer()?;
        let generation = self.commit.generation + 1;
        let name = format!("model-{generation}.json");
        write_atomic(self.dir.join(&name), model.to_json())?;
        let commit =
            IndexCommit { generation, model: Some(describe(&self.dir, &name)?), ..self.commit.clone() };
        writer.commit(&commit.payload()?)?;
        self.commit = commit;
        self.model = Some(model.clone());
        self.terms.reload()
    }

    /// The blocking rules whose terms the index holds.
    pub fn rules(&self) -> &[BlockingRule] {
        &self.rules
    }

    /// The national records for record `row` of `query`: the candidates that share its keys
    /// under the index's rules (those the query's fields allow; a rule whose block holds more
    /// than `settings.blocking.max_block_pairs` records is skipped, as batch blocking would for
    /// one record), scored with `model` (else the index's own), ranked, and decided with
    /// `settings`' thresholds as a batch link decides. With `options.fuzzy`, when no candidate
    /// reaches the review threshold, a second pass looks further: the records of the query's
    /// birth year and province whose folded family and given names are within two edits of the
    /// query's (the year or the province alone when the query lacks the other): what finds a
    /// record with a typo in each name and no id, which no blocking rule brings together. At most `options.top`
    /// candidates are returned, each with the explanation of its weight.
    pub fn lookup(
        &self,
        query: &PreparedRecords,
        row: u32,
        model: Option<&Model>,
        settings: &LinkSettings,
        options: &LookupOptions,
    ) -> Result<Lookup> {
        let model = self.model_or(model)?;
        if row as usize >= query.len() {
            return Err(Error::invalid(format!("query record {row} out of range ({} records)", query.len())));
        }
        let rules: Vec<BlockingRule> =
            self.rules.iter().filter(|r| r.applies_to(query, Some(&self.records))).cloned().collect();
        if rules.is_empty() {
            // Nothing to block on (a name alone, say): no candidate, as in a batch link.
            let mut none =
                BestCandidates::new(query.len()).decide(&settings.thresholds).swap_remove(row as usize);
            none.left = row;
            return Ok(Lookup {
                result: none,
                candidates: Vec::new(),
                rules: Vec::new(),
                compared: 0,
                ignored_fields: Vec::new(),
            });
        }
        let terms_error = self.terms_error("looking up terms");
        let max_block = settings.blocking.max_block_pairs;
        let (found, mut rules_hit) =
            self.terms.candidates(query, row, &rules, max_block).map_err(&terms_error)?;
        let settings = LinkSettings { rules: Some(rules), ..settings.clone() };
        let linker = Linker::new(query, &self.records, settings.clone())?;
        let mut best = BestCandidates::new(query.len());
        let mut ranked: Vec<Candidate> = Vec::with_capacity(found.len());
        let mut score = |records: &[u32], best: &mut BestCandidates| -> Result<()> {
            let pairs: Vec<(u32, u32)> = records.iter().map(|&r| (row, r)).collect();
            let weights = linker.score_pairs(model, &pairs)?;
            for (&right, &weight) in records.iter().zip(&weights) {
                let candidate = Candidate { right, weight };
                best.offer(row, candidate);
                ranked.push(candidate);
            }
            Ok(())
        };
        score(&found, &mut best)?;
        let mut compared = found.len() as u64;
        let mut decision = best.decide(&settings.thresholds).swap_remove(row as usize);
        if options.fuzzy
            && decision.decision == Decision::NoMatch
            && let Some((more, hits)) =
                self.terms.fuzzy_candidates(query, row, max_block).map_err(terms_error)?
        {
            let more: Vec<u32> = more.into_iter().filter(|r| found.binary_search(r).is_err()).collect();
            rules_hit.push(hits);
            score(&more, &mut best)?;
            compared += more.len() as u64;
            decision = best.decide(&settings.thresholds).swap_remove(row as usize);
        }
        decision.left = row;
        ranked.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.right.cmp(&b.right)));
        let candidates = ranked
            .into_iter()
            .take(options.top)
            .map(|c| {
                Ok(LookupCandidate {
                    record: c.right,
                    id: self.records.record_id(c.right).to_owned(),
                    weight: c.weight,
                    probability: probability(c.weight),
                    explanation: linker.contributions(model, row, c.right)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Lookup { result: decision, candidates, rules: rules_hit, compared, ignored_fields: Vec::new() })
    }
}

impl NationalIndex {
    /// Explains the pair of the query record `row` of `query` and the live national record whose
    /// id is `national_id`: its weight, probability and each comparison's level and weight, as a
    /// lookup would give it for that candidate, whether or not blocking would bring the two
    /// together. Finds the record by a scan of the ids (milliseconds at a million records).
    pub fn explain(
        &self,
        query: &PreparedRecords,
        row: u32,
        national_id: &str,
        model: Option<&Model>,
        settings: &LinkSettings,
    ) -> Result<LookupCandidate> {
        let model = self.model_or(model)?;
        if row as usize >= query.len() {
            return Err(Error::invalid(format!("query record {row} out of range ({} records)", query.len())));
        }
        let record = (0..self.records.len() as u32)
            .find(|&r| self.is_live(r) && self.records.record_id(r) == national_id)
            .ok_or_else(|| Error::invalid("no record of the index has that id"))?;
        let linker = Linker::new(query, &self.records, settings.clone())?;
        let weight = linker.score_pairs(model, &[(row, record)])?[0];
        Ok(LookupCandidate {
            record,
            id: national_id.to_owned(),
            weight,
            probability: probability(weight),
            explanation: linker.contributions(model, row, record)?,
        })
    }
}

impl LookupCandidate {
    /// The candidate as JSON: its id, probability, weight and the explanation of each weight.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "probability": self.probability,
            "weight": self.weight,
            "explanation": self.explanation,
        })
    }
}

/// How [`NationalIndex::lookup`] looks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupOptions {
    /// Candidates to return, best first.
    pub top: usize,
    /// Whether to look further by fuzzy names (same birth year and province, names within two
    /// edits) when the blocking terms find nothing to review.
    pub fuzzy: bool,
}

impl Default for LookupOptions {
    fn default() -> Self {
        LookupOptions { top: 3, fuzzy: true }
    }
}

/// What [`NationalIndex::lookup`] found for one record.
#[derive(Clone, Debug, PartialEq)]
pub struct Lookup {
    /// The decision, best candidate, runner-up and margin, as a batch link gives them.
    pub result: LinkResult,
    /// The best candidates, best first, with their explanations.
    pub candidates: Vec<LookupCandidate>,
    /// What each rule the query could use found, and the fuzzy pass when it ran
    /// (`fuzzy_names`).
    pub rules: Vec<RuleHits>,
    /// Candidates compared.
    pub compared: u64,
    /// Fields of the record the model does not compare, left out ([`crate::Session::lookup`]).
    pub ignored_fields: Vec<String>,
}

impl Lookup {
    /// The answer as JSON, the form the command line prints (one line per record), the Python
    /// package returns and the service sends: the best candidate's id (in `index`), decision,
    /// probability, margin and ambiguity, the candidates with their explanations, what each rule
    /// found, the candidates compared and the fields left out.
    pub fn to_json(&self, index: &NationalIndex) -> serde_json::Value {
        let r = &self.result;
        let candidates: Vec<serde_json::Value> =
            self.candidates.iter().map(LookupCandidate::to_json).collect();
        let rules: Vec<serde_json::Value> = self
            .rules
            .iter()
            .map(|h| serde_json::json!({"rule": h.rule, "records": h.records, "capped": h.capped}))
            .collect();
        let best = r.best.map(|b| index.records().record_id(b.right).to_owned());
        serde_json::json!({
            "best_id": best,
            "decision": r.decision.as_str(),
            "probability": r.probability,
            "margin": r.margin,
            "ambiguous": r.ambiguous,
            "compared": self.compared,
            "ignored_fields": self.ignored_fields,
            "candidates": candidates,
            "rules": rules,
        })
    }
}

/// One national record a lookup found.
#[derive(Clone, Debug, PartialEq)]
pub struct LookupCandidate {
    /// Its position in the index.
    pub record: u32,
    /// Its id.
    pub id: String,
    /// Its match weight, in bits.
    pub weight: f64,
    /// Its match probability.
    pub probability: f64,
    /// Each comparison's level and weight.
    pub explanation: Vec<Contribution>,
}

/// Writes the records, model, terms and manifest into `dir`, each file flushed to disk.
fn write_folder(
    dir: &Path,
    source: &IndexSource<'_>,
    records: &PreparedRecords,
    rules: &[BlockingRule],
    model: Option<&Model>,
) -> Result<(IndexManifest, IndexCommit)> {
    write_records(dir, RECORDS, records)?;
    let files = vec![describe(dir, RECORDS)?];
    let model = match model {
        Some(model) => {
            write_atomic(dir.join(MODEL), model.to_json())?;
            Some(describe(dir, MODEL)?)
        }
        None => None,
    };
    let commit = IndexCommit { generation: 0, segments: Vec::new(), model, records: records.len() as u64 };
    keys::build(&dir.join(keys::KEYS_DIR), records, rules, &commit.payload()?)?;

    let manifest = IndexManifest {
        format: INDEX_FORMAT.to_owned(),
        version: INDEX_FORMAT_VERSION,
        khop_version: env!("CARGO_PKG_VERSION").to_owned(),
        name: source.name.to_owned(),
        id_column: source.dataset.id_column.clone(),
        id_from: source.id_from.to_owned(),
        columns: source
            .dataset
            .columns
            .iter()
            .map(|c| IndexedColumn {
                name: c.name.clone(),
                role: c.role.to_string(),
                null_values: c.null_values.clone(),
            })
            .collect(),
        records: records.len() as u64,
        rows_read: source.rows_read,
        rows_rejected: source.rows_rejected,
        rules: rules.iter().map(|r| r.name().to_owned()).collect(),
        files,
    };
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| Error::invalid(format!("index manifest: {e}")))?;
    write_atomic(dir.join(MANIFEST), &text)?;
    Ok((manifest, commit))
}

/// Writes `records` as the Arrow IPC file `dir/name`, whole or not at all ([`AtomicFile`]).
fn write_records(dir: &Path, name: &str, records: &PreparedRecords) -> Result<()> {
    let path = dir.join(name);
    let batch = records.to_batch()?;
    let (atomic, file) = AtomicFile::create(&path)?;
    let mut writer = FileWriter::try_new(BufWriter::new(file), &batch.schema())
        .map_err(|e| Error::arrow(format!("writing {}", path.display()), e))?;
    writer.write(&batch).map_err(|e| Error::arrow(format!("writing {}", path.display()), e))?;
    writer.finish().map_err(|e| Error::arrow(format!("writing {}", path.display()), e))?;
    let file = writer
        .into_inner()
        .map_err(|e| Error::arrow(format!("writing {}", path.display()), e))?
        .into_inner()
        .map_err(|e| Error::io(&path, "write", e.into_error()))?;
    atomic.commit(&file)
}

/// Whether `name` is `<prefix><generation><suffix>`.
fn is_generation_file(name: &str, prefix: &str, suffix: &str) -> bool {
    name.strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(suffix))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Opens the terms in `dir` with the commit their reader sees: the last commit's payload is read
/// before and after the reader opens, and the reader opened again should a commit land between.
fn open_terms(dir: &Path) -> Result<(keys::KeyTerms, IndexCommit)> {
    for _ in 0..3 {
        let before = keys::last_payload(dir)?;
        let terms = keys::KeyTerms::open(dir)?;
        let after = keys::last_payload(dir)?;
        if before == after {
            return Ok((terms, last_commit(dir, after)?));
        }
    }
    Err(Error::format(dir, None, "the index kept changing while it was opened; try again"))
}

/// The index's state from the payload of its last commit.
fn last_commit(dir: &Path, payload: Option<String>) -> Result<IndexCommit> {
    let payload = payload.ok_or_else(|| {
        Error::format(dir, None, "the terms index carries no khop commit; build the index again")
    })?;
    serde_json::from_str(&payload)
        .map_err(|e| Error::format(dir, None, format!("the terms index's commit: {e}")))
}

/// Size and checksum of `dir/name`.
fn describe(dir: &Path, name: &str) -> Result<IndexedFile> {
    let (bytes, xxh3) = checksum(&dir.join(name))?;
    Ok(IndexedFile { name: name.to_owned(), bytes, xxh3 })
}

/// The xxh3-64 checksum of `data`, as the manifest writes it.
fn checksum_of(data: &[u8]) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(data))
}

fn checksum(path: &Path) -> Result<(u64, String)> {
    let file = File::open(path).map_err(|e| Error::io(path, "read", e))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut hasher = Xxh3::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = reader.read(&mut buffer).map_err(|e| Error::io(path, "read", e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        bytes += n as u64;
    }
    Ok((bytes, format!("{:016x}", hasher.digest())))
}

/// Checks that `file` of the manifest is in `dir` with its size and checksum.
fn check_file(dir: &Path, file: &IndexedFile) -> Result<()> {
    let path = checked_path(dir, file)?;
    check_size(&path, file, std::fs::metadata(&path).map_err(|e| Error::io(&path, "read", e))?.len())?;
    check_sum(&path, file, &checksum(&path)?.1)
}

/// The path of `file` in `dir`, once its name is checked to be a plain file name.
fn checked_path(dir: &Path, file: &IndexedFile) -> Result<PathBuf> {
    if file.name.is_empty() || file.name.starts_with('.') || file.name.contains(['/', '\\']) {
        return Err(Error::format(
            &dir.join(MANIFEST),
            None,
            format!("index manifest names the file `{}`", file.name),
        ));
    }
    Ok(dir.join(&file.name))
}

/// Checks a file's size against the one `file` gives (before summing it: a file of another size
/// is not summed).
fn check_size(path: &Path, file: &IndexedFile, size: u64) -> Result<()> {
    if size != file.bytes {
        return Err(Error::format(
            path,
            None,
            format!(
                "{size} bytes where the index manifest says {}: the index is damaged or incomplete; build it again",
                file.bytes
            ),
        ));
    }
    Ok(())
}

/// Checks a file's checksum against the one `file` gives.
fn check_sum(path: &Path, file: &IndexedFile, xxh3: &str) -> Result<()> {
    if xxh3 != file.xxh3 {
        return Err(Error::format(
            path,
            None,
            format!(
                "checksum {xxh3} where the index manifest says {}: the index is damaged; build it again",
                file.xxh3
            ),
        ));
    }
    Ok(())
}

/// The prepared records of the Arrow IPC file `path`. The file is memory-mapped and decoded in
/// place (Arrow's arrays point into the map, which goes once the records are copied out): no
/// heap copy of the file is made, which halves the fresh memory an index takes to open. The IPC
/// decoder runs under `catch_unwind`: a file that passes the checksum but was written by hand to
/// be damaged must be an error, and some damaged files make Arrow's decoder panic instead of
/// returning one.
pub fn read_records(path: &Path) -> Result<PreparedRecords> {
    decode_records(path, &map_file(path)?)
}

/// [`read_records`] of the file `file` of `dir`, after checking its size and checksum against
/// those the manifest or the commit gives, on the same map (the file is read once).
fn read_checked_records(dir: &Path, file: &IndexedFile) -> Result<PreparedRecords> {
    let path = checked_path(dir, file)?;
    let map = map_file(&path)?;
    check_size(&path, file, map.len() as u64)?;
    check_sum(&path, file, &checksum_of(&map))?;
    decode_records(&path, &map)
}

/// The file `path`, mapped read-only, as a buffer Arrow's arrays can point into (the map lives
/// as long as any of them).
fn map_file(path: &Path) -> Result<arrow_buffer::Buffer> {
    let file = File::open(path).map_err(|e| Error::io(path, "read", e))?;
    // SAFETY: the map is read-only, and index files are never changed in place: a build writes
    // them into a new folder renamed into place, an update writes a new generation file before
    // committing it. Another program changing the file while it is mapped could change what is
    // read (caught by the checksum or the decoder's checks), as with any memory-mapped reader.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, "map", e))?;
    Ok(arrow_buffer::Buffer::from(bytes::Bytes::from_owner(map)))
}

fn decode_records(path: &Path, buffer: &arrow_buffer::Buffer) -> Result<PreparedRecords> {
    let (footer_start, blocks) = check_ipc_blocks(path, buffer)?;
    let decoded =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decode_ipc(buffer, footer_start, &blocks)));
    let batches = match decoded {
        Ok(Ok(batches)) => batches,
        Ok(Err(message)) => return Err(Error::format(path, None, message)),
        Err(_) => {
            return Err(Error::format(path, None, "the Arrow IPC decoder failed on a damaged file"));
        }
    };
    match batches.as_slice() {
        [batch] => PreparedRecords::from_batch(batch, path),
        _ => Err(Error::format(
            path,
            None,
            format!("{} record batches where the index holds one", batches.len()),
        )),
    }
}

/// A block of an Arrow IPC file: where it starts, how long it is, whether it holds a dictionary.
type IpcBlock = (arrow_ipc::Block, bool);

/// The record batches of the Arrow IPC file in `buffer`, whose blocks [`check_ipc_blocks`] found
/// inside the file's data.
fn decode_ipc(
    buffer: &arrow_buffer::Buffer,
    footer_start: usize,
    blocks: &[IpcBlock],
) -> std::result::Result<Vec<arrow_array::RecordBatch>, String> {
    let footer = arrow_ipc::root_as_footer(&buffer[footer_start..buffer.len() - IPC_TAIL])
        .map_err(|e| format!("not an Arrow IPC file: unreadable footer: {e}"))?;
    let schema = footer.schema().ok_or("not an Arrow IPC file: its footer has no schema")?;
    let schema =
        arrow_ipc::convert::try_fb_to_schema(schema).map_err(|e| format!("unreadable schema: {e}"))?;
    let schema = Arc::new(schema);
    let mut decoder = arrow_ipc::reader::FileDecoder::new(schema, footer.version());
    let mut batches = Vec::new();
    for (block, dictionary) in blocks {
        let length = block.metaDataLength() as usize + block.bodyLength() as usize;
        let data = buffer.slice_with_length(block.offset() as usize, length);
        if *dictionary {
            decoder.read_dictionary(block, &data).map_err(|e| format!("unreadable records: {e}"))?;
        } else if let Some(batch) =
            decoder.read_record_batch(block, &data).map_err(|e| format!("unreadable records: {e}"))?
        {
            batches.push(batch);
        }
    }
    Ok(batches)
}

/// "ARROW1" and two bytes of padding open an Arrow IPC file; the footer, its length (4 bytes) and
/// "ARROW1" close it.
const IPC_HEAD: usize = 8;
const IPC_TAIL: usize = 10;

/// Checks, before Arrow's decoder reads the file `data`, that every block its footer lists lies
/// inside the file's data (a damaged length must be an error, not a slice out of bounds), and
/// returns where the footer starts and the blocks, dictionaries first.
fn check_ipc_blocks(path: &Path, data: &[u8]) -> Result<(usize, Vec<IpcBlock>)> {
    let damaged = |message: &str| Error::format(path, None, format!("not an Arrow IPC file: {message}"));
    let len = data.len();
    if len < IPC_HEAD + IPC_TAIL || &data[..6] != b"ARROW1" {
        return Err(damaged("it does not open with Arrow's magic number"));
    }
    let tail: [u8; IPC_TAIL] = data[len - IPC_TAIL..].try_into().expect("IPC_TAIL bytes");
    let footer_len = arrow_ipc::reader::read_footer_length(tail).map_err(|e| damaged(&e.to_string()))?;
    let footer_start = (len - IPC_TAIL)
        .checked_sub(footer_len)
        .filter(|&start| start >= IPC_HEAD)
        .ok_or_else(|| damaged("its footer is longer than the file"))?;
    let footer = arrow_ipc::root_as_footer(&data[footer_start..len - IPC_TAIL])
        .map_err(|e| damaged(&format!("unreadable footer: {e}")))?;
    let dictionaries = footer.dictionaries().into_iter().flatten().map(|b| (*b, true));
    let batches = footer.recordBatches().into_iter().flatten().map(|b| (*b, false));
    let blocks: Vec<IpcBlock> = dictionaries.chain(batches).collect();
    for (block, _) in &blocks {
        let end = usize::try_from(block.offset())
            .ok()
            .filter(|&offset| offset >= IPC_HEAD)
            .zip(usize::try_from(block.metaDataLength()).ok())
            .zip(usize::try_from(block.bodyLength()).ok())
            .and_then(|((offset, metadata), body)| offset.checked_add(metadata)?.checked_add(body));
        if end.is_none_or(|end| end > footer_start) {
            return Err(damaged(&format!(
                "a block at byte {} of {} + {} bytes lies outside the file's {footer_start} bytes of data",
                block.offset(),
                block.metaDataLength(),
                block.bodyLength()
            )));
        }
    }
    Ok((footer_start, blocks))
}

/// The record ids of the file `path`, for the deletes of [`NationalIndex::update`]: the column
/// `id_column` of a file khop reads (CSV, NDJSON or Parquet, with a header), or, when the file
/// has no such column, one id per line (a plain list). Values are trimmed; empty lines skipped.
/// A row the reader rejects fails the call with its row and reason: no id is silently dropped.
pub fn read_id_list(path: &Path, id_column: &str) -> Result<Vec<String>> {
    use crate::read::{Format, ReadOptions, Reader, TextColumn};

    let options = ReadOptions {
        columns: Some(vec![id_column.to_owned()]),
        id_column: Some(id_column.to_owned()),
        ..ReadOptions::default()
    };
    let reader = match Reader::open(path, &options) {
        Ok(reader) => reader,
        Err(e)
            if matches!(e.kind(), ErrorKind::UnknownColumn { .. })
                && matches!(Format::from_path(path), Some(Format::Csv) | None) =>
        {
            return read_plain_list(path);
        }
        Err(e) => return Err(e),
    };
    let mut ids = Vec::new();
    for batch in reader {
        let batch = batch?;
        if let Some(reject) = batch.rejects.first() {
            return Err(Error::format(
                path,
                Some(format!("row {}", reject.row)),
                format!("a row of ids that cannot be read ({}); fix the file", reject.reason),
            ));
        }
        let Some(column) = batch.records.columns().first().and_then(|c| TextColumn::new(c.as_ref())) else {
            continue;
        };
        for row in 0..batch.records.num_rows() {
            if let Some(id) = column.get(row).map(str::trim).filter(|id| !id.is_empty()) {
                ids.push(id.to_owned());
            }
        }
    }
    Ok(ids)
}

/// One id per line.
fn read_plain_list(path: &Path) -> Result<Vec<String>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "read", e))?;
    let mut ids = Vec::new();
    for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = std::str::from_utf8(line)
            .map_err(|_| Error::format(path, Some(format!("line {}", n + 1)), "not UTF-8"))?;
        let id = line.trim().trim_start_matches('\u{feff}').trim();
        if id.contains([',', ';', '\t']) {
            return Err(Error::format(
                path,
                Some(format!("line {}", n + 1)),
                "several values on a line of a plain list of ids; give a header naming the id column",
            ));
        }
        if !id.is_empty() {
            ids.push(id.to_owned());
        }
    }
    Ok(ids)
}

/// Makes a rename in `dir` durable (best effort: not every platform can open a folder).
fn sync_dir(dir: &Path) {
    if let Ok(folder) = File::open(dir) {
        let _ = folder.sync_all();
    }
}
