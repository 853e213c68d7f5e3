//! The index's blocking terms: every record's key hash under every blocking rule, as terms of a
//! tantivy index (`keys/` in the index folder), so that one record's candidates are found by a
//! few term lookups instead of a pass over the table.
//!
//! A term is `<rule name>=<hash of the rule's keys, 16 hex digits>`, the hash the batch blocker
//! sorts by ([`crate::block`]); each document is one national record and carries its position
//! among the index's records as the fast field `record`, its record id as the term `id` (by
//! which an update deletes it), and for the fuzzy pass of lookups its folded family and given
//! names after its birth year and 2025 province (`names_by_year_province`:
//! `1987:79:nguyen binh`), after its year alone (`names_by_year`) and after its province alone
//! (`names_by_province`). Nothing else is stored: the records themselves are the prepared
//! columns.
//!
//! Every commit carries the index's state ([`super::IndexCommit`], JSON) as its payload, so that
//! the records files and the terms that point into them change together in one atomic step:
//! tantivy's commit, the rename of its `meta.json`.

use std::path::Path;
use std::sync::{Arc, OnceLock, RwLock};

use levenshtein_automata::{DFA, Distance, LevenshteinAutomatonBuilder, SINK_STATE};
use tantivy::collector::DocSetCollector;
use tantivy::columnar::Column;
use tantivy::directory::error::LockError;
use tantivy::query::TermQuery;
use tantivy::schema::{FAST, Field, INDEXED, IndexRecordOption, STRING, Schema};
use tantivy::{
    DocAddress, DocSet, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TERMINATED, TantivyDocument,
    TantivyError, Term,
};
use xxhash_rust::xxh3::Xxh3;

use crate::block::BlockingRule;
use crate::error::{Error, ErrorKind, Result};
use crate::normalize::prepared::PreparedRecords;

/// The folder of the terms, inside the index folder.
pub(super) const KEYS_DIR: &str = "keys";

const RECORD: &str = "record";
const KEY: &str = "key";
const ID: &str = "id";
const NAMES_BY_YEAR_PROVINCE: &str = "names_by_year_province";
const NAMES_BY_YEAR: &str = "names_by_year";
const NAMES_BY_PROVINCE: &str = "names_by_province";

/// Edits the fuzzy pass allows between a query's names and a record's: two, one for names of
/// at most [`SHORT_NAMES`] characters ("le an": two edits reach hundreds of names there).
const FUZZY_EDITS: u8 = 2;
const SHORT_NAMES: usize = 5;

/// The name of the fuzzy pass in [`RuleHits`].
pub(super) const FUZZY: &str = "fuzzy_names";

/// Memory for tantivy's indexing buffers when an index is built, and when it is updated.
const WRITER_BUDGET: usize = 256 << 20;
const UPDATE_BUDGET: usize = 64 << 20;

#[derive(Clone, Copy)]
struct Fields {
    record: Field,
    key: Field,
    id: Field,
    names_by_year_province: Field,
    names_by_year: Field,
    names_by_province: Field,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let record = builder.add_u64_field(RECORD, FAST | INDEXED);
    let key = builder.add_text_field(KEY, STRING);
    let id = builder.add_text_field(ID, STRING);
    let names_by_year_province = builder.add_text_field(NAMES_BY_YEAR_PROVINCE, STRING);
    let names_by_year = builder.add_text_field(NAMES_BY_YEAR, STRING);
    let names_by_province = builder.add_text_field(NAMES_BY_PROVINCE, STRING);
    (builder.build(), Fields { record, key, id, names_by_year_province, names_by_year, names_by_province })
}

/// The Levenshtein automaton builder of the fuzzy pass for names `names` (building a builder
/// is the costly part: each is built once).
fn fuzzy_builder(names: &str) -> &'static LevenshteinAutomatonBuilder {
    static ONE_EDIT: OnceLock<LevenshteinAutomatonBuilder> = OnceLock::new();
    static EDITS: OnceLock<LevenshteinAutomatonBuilder> = OnceLock::new();
    match names.chars().count() <= SHORT_NAMES {
        true => ONE_EDIT.get_or_init(|| LevenshteinAutomatonBuilder::new(1, true)),
        false => EDITS.get_or_init(|| LevenshteinAutomatonBuilder::new(FUZZY_EDITS, true)),
    }
}

/// Terms that start with `prefix` exactly and continue with a string the Levenshtein `dfa`
/// accepts: the year or province is not edited, the names are.
struct PrefixThenFuzzy<'a> {
    prefix: &'a [u8],
    dfa: &'a DFA,
}

#[derive(Clone, Copy)]
enum Walk {
    /// This many bytes of the prefix read.
    Prefix(usize),
    /// In the names, at this state of the DFA.
    Names(u32),
    /// Off the prefix.
    Dead,
}

impl tantivy_fst::Automaton for &PrefixThenFuzzy<'_> {
    type State = Walk;

    fn start(&self) -> Walk {
        match self.prefix.is_empty() {
            true => Walk::Names(self.dfa.initial_state()),
            false => Walk::Prefix(0),
        }
    }

    fn is_match(&self, state: &Walk) -> bool {
        matches!(state, Walk::Names(s) if matches!(self.dfa.distance(*s), Distance::Exact(_)))
    }

    fn can_match(&self, state: &Walk) -> bool {
        match state {
            Walk::Prefix(_) => true,
            Walk::Names(s) => *s != SINK_STATE,
            Walk::Dead => false,
        }
    }

    fn accept(&self, state: &Walk, byte: u8) -> Walk {
        match *state {
            Walk::Prefix(read) if self.prefix.get(read) == Some(&byte) => match read + 1 == self.prefix.len()
            {
                true => Walk::Names(self.dfa.initial_state()),
                false => Walk::Prefix(read + 1),
            },
            Walk::Names(s) => Walk::Names(self.dfa.transition(s, byte)),
            _ => Walk::Dead,
        }
    }
}

/// Record `i`'s terms for the fuzzy pass: its folded family and given names after its birth
/// year and province, after its year, and after its province (`1987:79:nguyen binh`,
/// `1987:nguyen binh`, `79:nguyen binh`), each when the names and those fields are known. What
/// comes before the names keeps the automaton's walk of the dictionary short and the records it
/// finds few.
#[derive(Default)]
struct FuzzyTerms {
    by_year_province: Option<String>,
    by_year: Option<String>,
    by_province: Option<String>,
}

fn fuzzy_terms(records: &PreparedRecords, i: u32) -> FuzzyTerms {
    let (family, given) = (records.folded_family().get(i as usize), records.folded_given().get(i as usize));
    let (Ok(family), Ok(given)) = (std::str::from_utf8(family), std::str::from_utf8(given)) else {
        return FuzzyTerms::default();
    };
    if family.is_empty() || given.is_empty() {
        return FuzzyTerms::default();
    }
    let (year, province) = (records.year()[i as usize], records.province()[i as usize]);
    FuzzyTerms {
        by_year_province: (year != 0 && province != 0).then(|| format!("{year}:{province}:{family} {given}")),
        by_year: (year != 0).then(|| format!("{year}:{family} {given}")),
        by_province: (province != 0).then(|| format!("{province}:{family} {given}")),
    }
}

fn tantivy_error(dir: &Path, action: &str, e: TantivyError) -> Error {
    match e {
        TantivyError::LockFailure(LockError::LockBusy, _) => {
            let index = dir.parent().unwrap_or(dir).to_owned();
            ErrorKind::Locked { path: index }.into()
        }
        e => Error::format(dir, None, format!("{action}: {e}")),
    }
}

/// The payload of the last commit of the terms in `dir`, read without opening the index for
/// lookups (no checksums, no reader).
pub(super) fn last_payload(dir: &Path) -> Result<Option<String>> {
    let index = Index::open_in_dir(dir).map_err(|e| tantivy_error(dir, "opening the terms index", e))?;
    let metas = index.load_metas().map_err(|e| tantivy_error(dir, "reading the terms index", e))?;
    Ok(metas.payload)
}

/// The term of record `i` of `table` under `rule`; `None` when a key is missing.
pub(super) fn term_text(rule: &BlockingRule, table: &PreparedRecords, i: u32) -> Option<String> {
    let mut hasher = Xxh3::new();
    rule.hash_into(table, i, &mut hasher).then(|| format!("{}={:016x}", rule.name(), hasher.digest()))
}

/// The document of record `i` of `records`, numbered `number` in the index.
fn document(
    fields: Fields,
    records: &PreparedRecords,
    i: u32,
    number: u64,
    rules: &[BlockingRule],
) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_u64(fields.record, number);
    let id = records.record_id(i);
    if !id.is_empty() {
        doc.add_text(fields.id, id);
    }
    for rule in rules {
        if let Some(term) = term_text(rule, records, i) {
            doc.add_text(fields.key, term);
        }
    }
    let terms = fuzzy_terms(records, i);
    for (field, term) in [
        (fields.names_by_year_province, terms.by_year_province),
        (fields.names_by_year, terms.by_year),
        (fields.names_by_province, terms.by_province),
    ] {
        if let Some(term) = term {
            doc.add_text(field, term);
        }
    }
    doc
}

/// Writes the terms of every record of `records` under `rules` into the new folder `dir`, in
/// one commit whose payload is `payload`.
pub(super) fn build(
    dir: &Path,
    records: &PreparedRecords,
    rules: &[BlockingRule],
    payload: &str,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create", e))?;
    let (schema, fields) = schema();
    let index =
        Index::create_in_dir(dir, schema).map_err(|e| tantivy_error(dir, "creating the terms index", e))?;
    let threads = rayon::current_num_threads().clamp(1, 8);
    let writer: IndexWriter = index
        .writer_with_num_threads(threads, WRITER_BUDGET)
        .map_err(|e| tantivy_error(dir, "opening the terms index for writing", e))?;
    // The segments are merged into one below, not piecemeal as they are written.
    writer.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
    let mut writer = KeyWriter { dir: dir.to_owned(), writer, fields };
    for i in 0..records.len() as u32 {
        writer.add(records, i, u64::from(i), rules)?;
    }
    writer.commit_once(payload)?;
    writer.merge_all()?;
    writer.finish()
}

/// The one writer of an index's terms: holds tantivy's lock on the folder until dropped.
pub(super) struct KeyWriter {
    dir: std::path::PathBuf,
    writer: IndexWriter,
    fields: Fields,
}

impl KeyWriter {
    /// Deletes the documents of record id `id` (from the next commit on).
    pub(super) fn delete_id(&self, id: &str) {
        self.writer.delete_term(Term::from_field_text(self.fields.id, id));
    }

    /// Adds the terms of record `i` of `records`, numbered `number` in the index.
    pub(super) fn add(
        &self,
        records: &PreparedRecords,
        i: u32,
        number: u64,
        rules: &[BlockingRule],
    ) -> Result<()> {
        self.writer
            .add_document(document(self.fields, records, i, number, rules))
            .map(|_| ())
            .map_err(|e| tantivy_error(&self.dir, "indexing the terms", e))
    }

    /// Commits what was deleted and added, with `payload`, waits for merges to end, and syncs
    /// the folder.
    pub(super) fn commit(mut self, payload: &str) -> Result<()> {
        self.commit_once(payload)?;
        self.finish()
    }

    fn commit_once(&mut self, payload: &str) -> Result<()> {
        let dir = &self.dir;
        let mut commit =
            self.writer.prepare_commit().map_err(|e| tantivy_error(dir, "committing the terms index", e))?;
        commit.set_payload(payload);
        commit.commit().map_err(|e| tantivy_error(dir, "committing the terms index", e))?;
        Ok(())
    }

    /// Merges every segment of the last commit into one. A lookup reads each of its terms once
    /// per segment (the term dictionary's search was most of a lookup's time with the four
    /// segments a build wrote), so a freshly built index is one segment. The merge replaces the
    /// segments in one step and keeps the commit's payload.
    fn merge_all(&mut self) -> Result<()> {
        let dir = &self.dir;
        let segments = self
            .writer
            .index()
            .searchable_segment_ids()
            .map_err(|e| tantivy_error(dir, "listing the segments", e))?;
        if segments.len() > 1 {
            self.writer
                .merge(&segments)
                .wait()
                .map_err(|e| tantivy_error(dir, "merging the terms index", e))?;
        }
        Ok(())
    }

    /// Waits for merges to end and syncs the folder.
    fn finish(self) -> Result<()> {
        let dir = self.dir.clone();
        self.writer.wait_merging_threads().map_err(|e| tantivy_error(&dir, "merging the terms index", e))?;
        super::sync_dir(&dir);
        Ok(())
    }
}

/// The terms of an index, open for lookups.
pub(super) struct KeyTerms {
    dir: std::path::PathBuf,
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// The last commit as lookups see it.
    snapshot: RwLock<Arc<Snapshot>>,
}

/// A searcher and the `record` column of each of its segments, opened once: opening a column
/// reads its codec's block table, which costs more than a lookup's term queries.
struct Snapshot {
    searcher: Searcher,
    records: Vec<Column<u64>>,
}

impl Snapshot {
    fn new(reader: &IndexReader) -> std::result::Result<Snapshot, TantivyError> {
        let searcher = reader.searcher();
        let records = searcher
            .segment_readers()
            .iter()
            .map(|segment| segment.fast_fields().u64(RECORD))
            .collect::<std::result::Result<_, _>>()?;
        Ok(Snapshot { searcher, records })
    }

    /// The `record` numbers of `docs`, sorted.
    fn records_of(&self, docs: impl IntoIterator<Item = DocAddress>) -> Vec<u32> {
        let mut found: Vec<u32> = docs
            .into_iter()
            .filter_map(|a| self.records.get(a.segment_ord as usize)?.first(a.doc_id))
            .map(|r| r as u32)
            .collect();
        found.sort_unstable();
        found
    }
}

impl std::fmt::Debug for KeyTerms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyTerms").field("documents", &self.snapshot().searcher.num_docs()).finish()
    }
}

/// What one rule gave a lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleHits {
    /// The rule's name.
    pub rule: String,
    /// National records sharing the query's keys under it.
    pub records: u64,
    /// Whether the skew guard skipped them (more than the largest block allowed).
    pub capped: bool,
}

impl KeyTerms {
    /// Opens the terms in `dir`, checking that their schema is the one this khop writes and
    /// that none of their files is damaged (tantivy's own checksums).
    pub(super) fn open(dir: &Path) -> Result<KeyTerms> {
        let index = Index::open_in_dir(dir).map_err(|e| tantivy_error(dir, "opening the terms index", e))?;
        let (expected, fields) = schema();
        if index.schema() != expected {
            return Err(Error::format(
                dir,
                None,
                "the terms index has another schema; build the index again",
            ));
        }
        let damaged =
            index.validate_checksum().map_err(|e| tantivy_error(dir, "checking the terms index", e))?;
        if let Some(file) = damaged.iter().min() {
            return Err(Error::format(
                &dir.join(file),
                None,
                "checksum mismatch: the index is damaged; build it again",
            ));
        }
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| tantivy_error(dir, "reading the terms index", e))?;
        let snapshot =
            Snapshot::new(&reader).map_err(|e| tantivy_error(dir, "reading the terms index", e))?;
        Ok(KeyTerms { dir: dir.to_owned(), index, reader, fields, snapshot: RwLock::new(Arc::new(snapshot)) })
    }

    /// The `record` number of every document not deleted, in no particular order.
    pub(super) fn live_records(&self) -> Result<Vec<u64>> {
        let snapshot = self.snapshot();
        let mut records = Vec::with_capacity(snapshot.searcher.num_docs() as usize);
        for (segment, column) in snapshot.searcher.segment_readers().iter().zip(&snapshot.records) {
            for doc in segment.doc_ids_alive() {
                let record = column.first(doc).ok_or_else(|| {
                    Error::format(
                        &self.dir,
                        None,
                        "a document without its record number: the index is damaged",
                    )
                })?;
                records.push(record);
            }
        }
        Ok(records)
    }

    /// The `record` numbers of the documents of record id `id` (one, unless the table the index
    /// was built from held the id twice).
    pub(super) fn records_with_id(&self, id: &str) -> std::result::Result<Vec<u32>, TantivyError> {
        let snapshot = self.snapshot();
        let term = Term::from_field_text(self.fields.id, id);
        let docs =
            snapshot.searcher.search(&TermQuery::new(term, IndexRecordOption::Basic), &DocSetCollector)?;
        Ok(snapshot.records_of(docs))
    }

    /// Takes the index's one writer: `ErrorKind::Locked` while another process holds it.
    ///
    /// First removes the files a writer killed before its commit left behind: tantivy would
    /// otherwise fail to write a delete file of the same name (its operation stamps start again
    /// from the last commit's).
    pub(super) fn writer(&self) -> Result<KeyWriter> {
        let writer: IndexWriter = self
            .index
            .writer_with_num_threads(1, UPDATE_BUDGET)
            .map_err(|e| tantivy_error(&self.dir, "opening the terms index for writing", e))?;
        writer
            .garbage_collect_files()
            .wait()
            .map_err(|e| tantivy_error(&self.dir, "removing files of an update that did not commit", e))?;
        Ok(KeyWriter { dir: self.dir.clone(), writer, fields: self.fields })
    }

    /// Another handle on the same terms index, seeing the commit this one sees now, with a
    /// snapshot of its own: a commit through one handle does not change what the other sees
    /// until that one reloads.
    pub(super) fn fork(&self) -> KeyTerms {
        KeyTerms {
            dir: self.dir.clone(),
            index: self.index.clone(),
            reader: self.reader.clone(),
            fields: self.fields,
            snapshot: RwLock::new(self.snapshot()),
        }
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Sees the last commit.
    pub(super) fn reload(&self) -> Result<()> {
        self.reader.reload().map_err(|e| tantivy_error(&self.dir, "reading the terms index", e))?;
        let snapshot = Snapshot::new(&self.reader)
            .map_err(|e| tantivy_error(&self.dir, "reading the terms index", e))?;
        *self.snapshot.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(snapshot);
        Ok(())
    }

    /// The national records that share record `row` of `query`'s keys under any of `rules`,
    /// sorted and each once; rules whose block for this record holds more than `max_block`
    /// records are skipped (the batch skew guard, for a block of one query record). The guard
    /// counts documents deleted by updates until tantivy merges their segments away.
    pub(super) fn candidates(
        &self,
        query: &PreparedRecords,
        row: u32,
        rules: &[BlockingRule],
        max_block: u64,
    ) -> std::result::Result<(Vec<u32>, Vec<RuleHits>), tantivy::TantivyError> {
        let snapshot = self.snapshot();
        let searcher = &snapshot.searcher;
        let mut found = Vec::new();
        let mut hits = Vec::new();
        for rule in rules {
            let Some(text) = term_text(rule, query, row) else { continue };
            let term = Term::from_field_text(self.fields.key, &text);
            let records = searcher.doc_freq(&term)?;
            let capped = records > max_block;
            hits.push(RuleHits { rule: rule.name().to_owned(), records, capped });
            if capped || records == 0 {
                continue;
            }
            let docs = searcher.search(&TermQuery::new(term, IndexRecordOption::Basic), &DocSetCollector)?;
            found.extend(snapshot.records_of(docs));
        }
        found.sort_unstable();
        found.dedup();
        Ok((found, hits))
    }

    /// The fuzzy pass: the national records born in record `row` of `query`'s birth year and
    /// living in its province whose folded family and given names are within two edits of the
    /// query's (one for short names; a transposition counts one); by the year alone or the
    /// province alone when the query lacks the other; `None` when the query has no names, or
    /// neither year nor province. Skipped, as a rule's block is, when more than
    /// `max_block` records answer (its [`RuleHits::records`] is then the count where the walk
    /// stopped).
    pub(super) fn fuzzy_candidates(
        &self,
        query: &PreparedRecords,
        row: u32,
        max_block: u64,
    ) -> std::result::Result<Option<(Vec<u32>, RuleHits)>, TantivyError> {
        let terms = fuzzy_terms(query, row);
        let (field, term) = match terms {
            FuzzyTerms { by_year_province: Some(term), .. } => (self.fields.names_by_year_province, term),
            FuzzyTerms { by_year: Some(term), .. } => (self.fields.names_by_year, term),
            FuzzyTerms { by_province: Some(term), .. } => (self.fields.names_by_province, term),
            _ => return Ok(None),
        };
        // `1987:79:` exactly, then `nguyen binh` within the edits.
        let split = term.rfind(':').map_or(0, |colon| colon + 1);
        let (prefix, names) = term.split_at(split);
        let dfa = fuzzy_builder(names).build_dfa(names);
        let automaton = PrefixThenFuzzy { prefix: prefix.as_bytes(), dfa: &dfa };
        let snapshot = self.snapshot();
        let mut found = Vec::new();
        let mut capped = false;
        'segments: for (ord, segment) in snapshot.searcher.segment_readers().iter().enumerate() {
            let inverted = segment.inverted_index(field)?;
            let mut terms = inverted.terms().search(&automaton).into_stream()?;
            while terms.advance() {
                let mut postings =
                    inverted.read_postings_from_terminfo(terms.value(), IndexRecordOption::Basic)?;
                let mut doc = postings.doc();
                while doc != TERMINATED {
                    let alive = segment.alive_bitset().is_none_or(|alive| alive.is_alive(doc));
                    if let (true, Some(record)) = (alive, snapshot.records[ord].first(doc)) {
                        found.push(record as u32);
                        if found.len() as u64 > max_block {
                            capped = true;
                            break 'segments;
                        }
                    }
                    doc = postings.advance();
                }
            }
        }
        let hits = RuleHits { rule: FUZZY.to_owned(), records: found.len() as u64, capped };
        if capped {
            return Ok(Some((Vec::new(), hits)));
        }
        found.sort_unstable();
        found.dedup();
        Ok(Some((found, hits)))
    }
}

#[cfg(test)]
mod tests {
    use tantivy_fst::Automaton;

    use super::*;

    fn accepts(prefix: &str, names: &str, term: &str) -> bool {
        let dfa = fuzzy_builder(names).build_dfa(names);
        let automaton = PrefixThenFuzzy { prefix: prefix.as_bytes(), dfa: &dfa };
        let automaton = &automaton;
        let mut state = automaton.start();
        for &byte in term.as_bytes() {
            if !automaton.can_match(&state) {
                return false;
            }
            state = automaton.accept(&state, byte);
        }
        automaton.is_match(&state)
    }

    #[test]
    fn the_year_is_exact_and_the_names_within_two_edits() {
        let (year, names) = ("1987:", "nguyen binh");
        for (term, expected) in [
            ("1987:nguyen binh", true),
            ("1987:nguyn binh", true),
            ("1987:nguyn bihn", true),
            ("1987:ngyuen bnih", true),
            ("1987:nguyen thi binh", false),
            ("1987:nguyn bih", true),
            ("1987:nguyn bi", false),
            ("1988:nguyen binh", false),
            ("987:nguyen binh", false),
            ("1987nguyen binh", false),
            ("1987:", false),
        ] {
            assert_eq!(accepts(year, names, term), expected, "{term}");
        }
        // No prefix: the names alone.
        assert!(accepts("", "tran an", "tran anh"));
        // Short names: one edit.
        assert!(accepts("1990:", "le an", "1990:le anh"));
        assert!(!accepts("1990:", "le an", "1990:le hanh"));
    }
}
