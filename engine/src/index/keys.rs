//! The index's blocking terms: every record's key hash under every blocking rule, as terms of a
//! tantivy index (`keys/` in the index folder), so that one record's candidates are found by a
//! few term lookups instead of a pass over the table.
//!
//! A term is `<rule name>=<hash of the rule's keys, 16 hex digits>`, the hash the batch blocker
//! sorts by ([`crate::block`]); each document is one national record and carries its position
//! in `records.arrow` as the fast field `record`. Nothing else is stored: the records themselves
//! are the prepared columns.

use std::path::Path;

use tantivy::collector::DocSetCollector;
use tantivy::query::TermQuery;
use tantivy::schema::{FAST, Field, INDEXED, IndexRecordOption, STRING, Schema};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};
use xxhash_rust::xxh3::Xxh3;

use crate::block::BlockingRule;
use crate::error::{Error, Result};
use crate::normalize::prepared::PreparedRecords;

/// The folder of the terms, inside the index folder.
pub(super) const KEYS_DIR: &str = "keys";

const RECORD: &str = "record";
const KEY: &str = "key";

/// Memory for tantivy's indexing buffers.
const WRITER_BUDGET: usize = 256 << 20;

fn schema() -> (Schema, Field, Field) {
    let mut builder = Schema::builder();
    let record = builder.add_u64_field(RECORD, FAST | INDEXED);
    let key = builder.add_text_field(KEY, STRING);
    (builder.build(), record, key)
}

fn tantivy_error(dir: &Path, action: &str, e: tantivy::TantivyError) -> Error {
    Error::format(dir, None, format!("{action}: {e}"))
}

/// The term of record `i` of `table` under `rule`; `None` when a key is missing.
pub(super) fn term_text(rule: &BlockingRule, table: &PreparedRecords, i: u32) -> Option<String> {
    let mut hasher = Xxh3::new();
    rule.hash_into(table, i, &mut hasher).then(|| format!("{}={:016x}", rule.name(), hasher.digest()))
}

/// Writes the terms of every record of `records` under `rules` into the new folder `dir`.
pub(super) fn build(dir: &Path, records: &PreparedRecords, rules: &[BlockingRule]) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create", e))?;
    let (schema, record, key) = schema();
    let index =
        Index::create_in_dir(dir, schema).map_err(|e| tantivy_error(dir, "creating the terms index", e))?;
    let threads = rayon::current_num_threads().clamp(1, 8);
    let mut writer: IndexWriter = index
        .writer_with_num_threads(threads, WRITER_BUDGET)
        .map_err(|e| tantivy_error(dir, "opening the terms index for writing", e))?;
    for i in 0..records.len() as u32 {
        let mut doc = TantivyDocument::default();
        doc.add_u64(record, u64::from(i));
        for rule in rules {
            if let Some(term) = term_text(rule, records, i) {
                doc.add_text(key, term);
            }
        }
        writer.add_document(doc).map_err(|e| tantivy_error(dir, "indexing the terms", e))?;
    }
    writer.commit().map_err(|e| tantivy_error(dir, "committing the terms index", e))?;
    writer.wait_merging_threads().map_err(|e| tantivy_error(dir, "merging the terms index", e))?;
    Ok(())
}

/// The terms of an index, open for lookups.
pub(super) struct KeyTerms {
    reader: IndexReader,
    key: Field,
}

impl std::fmt::Debug for KeyTerms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyTerms").field("documents", &self.reader.searcher().num_docs()).finish()
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
    /// Opens the terms in `dir`, checking that their schema is the one this khop writes.
    pub(super) fn open(dir: &Path) -> Result<KeyTerms> {
        let index = Index::open_in_dir(dir).map_err(|e| tantivy_error(dir, "opening the terms index", e))?;
        let (expected, _, key) = schema();
        if index.schema() != expected {
            return Err(Error::format(
                dir,
                None,
                "the terms index has another schema; build the index again",
            ));
        }
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| tantivy_error(dir, "reading the terms index", e))?;
        Ok(KeyTerms { reader, key })
    }

    /// Documents in the terms index.
    pub(super) fn documents(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The national records that share record `row` of `query`'s keys under any of `rules`,
    /// sorted and each once; rules whose block for this record holds more than `max_block`
    /// records are skipped (the batch skew guard, for a block of one query record).
    pub(super) fn candidates(
        &self,
        query: &PreparedRecords,
        row: u32,
        rules: &[BlockingRule],
        max_block: u64,
    ) -> std::result::Result<(Vec<u32>, Vec<RuleHits>), tantivy::TantivyError> {
        let searcher = self.reader.searcher();
        let mut found = Vec::new();
        let mut hits = Vec::new();
        for rule in rules {
            let Some(text) = term_text(rule, query, row) else { continue };
            let term = Term::from_field_text(self.key, &text);
            let records = searcher.doc_freq(&term)?;
            let capped = records > max_block;
            hits.push(RuleHits { rule: rule.name().to_owned(), records, capped });
            if capped || records == 0 {
                continue;
            }
            let docs = searcher.search(&TermQuery::new(term, IndexRecordOption::Basic), &DocSetCollector)?;
            let mut docs: Vec<_> = docs.into_iter().collect();
            docs.sort_unstable_by_key(|a| (a.segment_ord, a.doc_id));
            let mut column = None;
            for address in docs {
                let segment = address.segment_ord;
                if column.as_ref().is_none_or(|(ord, _)| *ord != segment) {
                    column = Some((segment, searcher.segment_reader(segment).fast_fields().u64(RECORD)?));
                }
                if let Some(record) = column.as_ref().and_then(|(_, c)| c.first(address.doc_id)) {
                    found.push(record as u32);
                }
            }
        }
        found.sort_unstable();
        found.dedup();
        Ok((found, hits))
    }
}
