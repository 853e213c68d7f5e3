//! The persistent national index: a national table read and prepared once, kept in a folder, and
//! opened in a fraction of the time it takes to read and normalize the table again.
//!
//! The folder holds:
//! - `records.arrow`: the prepared records, one Arrow IPC file with one batch in the layout of
//!   [`PreparedRecords::to_batch`] (every prepared column as held in memory);
//! - `keys/`: a tantivy index of every record's blocking terms under the default rules of the
//!   national table ([`keys`]), for looking up one record's candidates
//!   ([`NationalIndex::lookup`]) without a pass over the table;
//! - `model.json` (when the index was built with a model): the model lookups score with;
//! - `manifest.json`: the format and its version, the khop version that wrote it, the table's
//!   name, columns and roles, id column, counts, and the size and xxh3-64 checksum of every other
//!   file. [`NationalIndex::open`] checks all of it before reading anything, so a truncated,
//!   damaged or foreign folder is a clear error.
//!
//! An index is written into a hidden sibling folder and renamed into place: after a crash there
//! is either no index or a whole one, never half of one. An existing folder is not overwritten.

mod keys;

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_ipc::reader::FileReader;
use arrow_ipc::writer::FileWriter;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

pub use keys::RuleHits;

use crate::block::BlockingRule;
use crate::error::{Error, ErrorKind, Result};
use crate::link::linker::{LinkSettings, Linker};
use crate::link::{BestCandidates, Candidate, LinkResult};
use crate::normalize::prepared::PreparedRecords;
use crate::record::{ColumnSpec, DatasetSpec, Role};
use crate::score::{Contribution, Model, probability};

/// The `format` of every index manifest.
pub const INDEX_FORMAT: &str = "khop-national-index";
/// The version of the folder's layout; an index of another version is refused.
pub const INDEX_FORMAT_VERSION: u32 = 1;

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
    /// Every other file of the folder, with its size and checksum (`keys/...` for the terms).
    pub files: Vec<IndexedFile>,
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
#[derive(Clone, Debug)]
pub struct NationalIndex {
    dir: PathBuf,
    manifest: IndexManifest,
    records: Arc<PreparedRecords>,
    rules: Vec<BlockingRule>,
    terms: Arc<keys::KeyTerms>,
    model: Option<Model>,
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
        let manifest = match written {
            Ok(manifest) => manifest,
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
        Ok(NationalIndex { dir: dir.to_owned(), manifest, records, rules, terms, model: model.cloned() })
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
        for file in &manifest.files {
            check_file(dir, file)?;
        }
        if !manifest.files.iter().any(|f| f.name == RECORDS) {
            return Err(Error::format(&manifest_path, None, format!("index manifest lists no `{RECORDS}`")));
        }
        let records = read_records(&dir.join(RECORDS))?;
        if records.len() as u64 != manifest.records {
            return Err(Error::format(
                &dir.join(RECORDS),
                None,
                format!("{} records where the manifest says {}", records.len(), manifest.records),
            ));
        }
        let rules = BlockingRule::defaults_for(&records, Some(&records));
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
        let terms = keys::KeyTerms::open(&dir.join(keys::KEYS_DIR))?;
        if terms.documents() != manifest.records {
            return Err(Error::format(
                &dir.join(keys::KEYS_DIR),
                None,
                format!(
                    "{} documents where the manifest says {} records",
                    terms.documents(),
                    manifest.records
                ),
            ));
        }
        let model = match manifest.files.iter().any(|f| f.name == MODEL) {
            true => {
                let path = dir.join(MODEL);
                let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, "read", e))?;
                Some(Model::from_json(&text)?)
            }
            false => None,
        };
        Ok(NationalIndex {
            dir: dir.to_owned(),
            manifest,
            records: Arc::new(records),
            rules,
            terms: Arc::new(terms),
            model,
        })
    }

    /// The index folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the manifest says.
    pub fn manifest(&self) -> &IndexManifest {
        &self.manifest
    }

    /// The prepared records.
    pub fn records(&self) -> &Arc<PreparedRecords> {
        &self.records
    }

    /// Bytes the index takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.manifest.files.iter().map(|f| f.bytes).sum()
    }

    /// The model the index was built with, if any.
    pub fn model(&self) -> Option<&Model> {
        self.model.as_ref()
    }

    /// The blocking rules whose terms the index holds.
    pub fn rules(&self) -> &[BlockingRule] {
        &self.rules
    }

    /// The national records for record `row` of `query`: the candidates that share its keys
    /// under the index's rules (those the query's fields allow; a rule whose block holds more
    /// than `settings.blocking.max_block_pairs` records is skipped, as batch blocking would for
    /// one record), scored with `model` (else the index's own), ranked, and decided with
    /// `settings`' thresholds as a batch link decides. At most `top` candidates are returned,
    /// each with the explanation of its weight.
    pub fn lookup(
        &self,
        query: &PreparedRecords,
        row: u32,
        model: Option<&Model>,
        settings: &LinkSettings,
        top: usize,
    ) -> Result<Lookup> {
        let model = model.or(self.model.as_ref()).ok_or_else(|| {
            Error::invalid("this index was built without a model: give one (`khop train`, then --model)")
        })?;
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
        let (found, rules_hit) =
            self.terms.candidates(query, row, &rules, settings.blocking.max_block_pairs).map_err(|e| {
                Error::format(&self.dir.join(keys::KEYS_DIR), None, format!("looking up terms: {e}"))
            })?;
        let settings = LinkSettings { rules: Some(rules), ..settings.clone() };
        let linker = Linker::new(query, &self.records, settings.clone())?;
        let pairs: Vec<(u32, u32)> = found.iter().map(|&r| (row, r)).collect();
        let weights = linker.score_pairs(model, &pairs)?;
        let mut best = BestCandidates::new(query.len());
        let mut ranked: Vec<Candidate> = Vec::with_capacity(found.len());
        for (&right, &weight) in found.iter().zip(&weights) {
            let candidate = Candidate { right, weight };
            best.offer(row, candidate);
            ranked.push(candidate);
        }
        ranked.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.right.cmp(&b.right)));
        let mut decision = best.decide(&settings.thresholds).swap_remove(row as usize);
        decision.left = row;
        let candidates = ranked
            .into_iter()
            .take(top)
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
        Ok(Lookup {
            result: decision,
            candidates,
            rules: rules_hit,
            compared: found.len() as u64,
            ignored_fields: Vec::new(),
        })
    }
}

/// What [`NationalIndex::lookup`] found for one record.
#[derive(Clone, Debug, PartialEq)]
pub struct Lookup {
    /// The decision, best candidate, runner-up and margin, as a batch link gives them.
    pub result: LinkResult,
    /// The best candidates, best first, with their explanations.
    pub candidates: Vec<LookupCandidate>,
    /// What each rule the query could use found.
    pub rules: Vec<RuleHits>,
    /// Candidates compared.
    pub compared: u64,
    /// Fields of the record the model does not compare, left out ([`crate::Session::lookup`]).
    pub ignored_fields: Vec<String>,
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

/// Writes the records and the manifest into `dir`, each file flushed to disk.
fn write_folder(
    dir: &Path,
    source: &IndexSource<'_>,
    records: &PreparedRecords,
    rules: &[BlockingRule],
    model: Option<&Model>,
) -> Result<IndexManifest> {
    let path = dir.join(RECORDS);
    let batch = records.to_batch()?;
    let file = File::create(&path).map_err(|e| Error::io(&path, "create", e))?;
    let mut writer = FileWriter::try_new(BufWriter::new(file), &batch.schema())
        .map_err(|e| Error::arrow(format!("writing {}", path.display()), e))?;
    writer.write(&batch).map_err(|e| Error::arrow(format!("writing {}", path.display()), e))?;
    writer.finish().map_err(|e| Error::arrow(format!("writing {}", path.display()), e))?;
    let file = writer
        .into_inner()
        .map_err(|e| Error::arrow(format!("writing {}", path.display()), e))?
        .into_inner()
        .map_err(|e| Error::io(&path, "write", e.into_error()))?;
    file.sync_all().map_err(|e| Error::io(&path, "write", e))?;
    drop(batch);
    let mut files = vec![describe(dir, RECORDS)?];

    let keys_dir = dir.join(keys::KEYS_DIR);
    keys::build(&keys_dir, records, rules)?;
    let mut names: Vec<String> = std::fs::read_dir(&keys_dir)
        .map_err(|e| Error::io(&keys_dir, "read", e))?
        .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io(&keys_dir, "read", e))?;
    names.sort();
    for name in names.into_iter().filter(|n| !n.starts_with('.')) {
        let path = keys_dir.join(&name);
        File::open(&path).and_then(|f| f.sync_all()).map_err(|e| Error::io(&path, "write", e))?;
        files.push(describe(dir, &format!("{}/{name}", keys::KEYS_DIR))?);
    }
    sync_dir(&keys_dir);

    if let Some(model) = model {
        let path = dir.join(MODEL);
        let mut file = File::create(&path).map_err(|e| Error::io(&path, "create", e))?;
        file.write_all(model.to_json().as_bytes()).map_err(|e| Error::io(&path, "write", e))?;
        file.sync_all().map_err(|e| Error::io(&path, "write", e))?;
        files.push(describe(dir, MODEL)?);
    }

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
    let path = dir.join(MANIFEST);
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| Error::invalid(format!("index manifest: {e}")))?;
    let mut file = File::create(&path).map_err(|e| Error::io(&path, "create", e))?;
    file.write_all(text.as_bytes()).map_err(|e| Error::io(&path, "write", e))?;
    file.sync_all().map_err(|e| Error::io(&path, "write", e))?;
    Ok(manifest)
}

/// Size and checksum of `dir/name`.
fn describe(dir: &Path, name: &str) -> Result<IndexedFile> {
    let (bytes, xxh3) = checksum(&dir.join(name))?;
    Ok(IndexedFile { name: name.to_owned(), bytes, xxh3 })
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
    let inside = match file.name.split_once('/') {
        Some((folder, name)) => folder == keys::KEYS_DIR && !name.is_empty() && !name.contains(['/', '\\']),
        None => !file.name.contains('\\'),
    };
    if !inside || file.name.starts_with('.') || file.name.contains("..") {
        return Err(Error::format(
            &dir.join(MANIFEST),
            None,
            format!("index manifest names the file `{}`", file.name),
        ));
    }
    let path = dir.join(&file.name);
    let size = std::fs::metadata(&path).map_err(|e| Error::io(&path, "read", e))?.len();
    if size != file.bytes {
        return Err(Error::format(
            &path,
            None,
            format!(
                "{size} bytes where the index manifest says {}: the index is damaged or incomplete; build it again",
                file.bytes
            ),
        ));
    }
    let (_, xxh3) = checksum(&path)?;
    if xxh3 != file.xxh3 {
        return Err(Error::format(
            &path,
            None,
            format!(
                "checksum {xxh3} where the index manifest says {}: the index is damaged; build it again",
                file.xxh3
            ),
        ));
    }
    Ok(())
}

/// The prepared records of the Arrow IPC file `path`. The IPC decoder runs under
/// `catch_unwind`: a file that passes the checksum but was written by hand to be damaged must be
/// an error, and some damaged files make Arrow's decoder panic instead of returning one.
pub fn read_records(path: &Path) -> Result<PreparedRecords> {
    let file = File::open(path).map_err(|e| Error::io(path, "read", e))?;
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let reader = FileReader::try_new(BufReader::with_capacity(1 << 20, file), None)
            .map_err(|e| format!("not an Arrow IPC file: {e}"))?;
        reader.collect::<std::result::Result<Vec<_>, _>>().map_err(|e| format!("unreadable records: {e}"))
    }));
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

/// Makes a rename in `dir` durable (best effort: not every platform can open a folder).
fn sync_dir(dir: &Path) {
    if let Ok(folder) = File::open(dir) {
        let _ = folder.sync_all();
    }
}
