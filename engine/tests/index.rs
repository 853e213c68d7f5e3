//! The persistent national index: a table stored and loaded is the same table, linking against
//! the index gives the links of linking against the file, and a damaged, truncated, foreign or
//! missing index is a clear error, never a panic.

use std::path::Path;

use khop::index::{INDEX_FORMAT_VERSION, LookupOptions, NationalIndex};
use khop::normalize::prepared::PreparedRecords;
use khop::read::ReadOptions;
use khop::session::{Session, Table, TableSource};
use khop::{ErrorKind, Result};

fn population(dir: &Path, persons: u64) {
    let profile = khop_datasets::Profile::named("hard").unwrap();
    let options = khop_datasets::GenOptions {
        persons,
        seed: 5,
        format: khop_datasets::OutputFormat::Parquet,
        ..Default::default()
    };
    khop_datasets::generate(dir, &profile, &options).unwrap();
}

/// Lookups by the blocking terms alone, as a batch link blocks.
fn exact(top: usize) -> LookupOptions {
    LookupOptions { top, fuzzy: false }
}

/// A population of the default profile, as CSV.
fn csv_population(dir: &Path, persons: u64, seed: u64) {
    let options = khop_datasets::GenOptions {
        persons,
        seed,
        format: khop_datasets::OutputFormat::Csv,
        ..Default::default()
    };
    khop_datasets::generate(dir, &khop_datasets::Profile::named("default").unwrap(), &options).unwrap();
}

fn prepare(session: &Session, file: &Path) -> Result<Table> {
    session.prepare(&TableSource::detect(file, &ReadOptions::default())?)
}

#[test]
fn stored_records_are_the_records() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    population(dir.path(), 800);
    let session = Session::new();
    // Every role the generator writes, generic columns (land: plot numbers) included.
    let mut generic = 0;
    for name in ["national", "bhxh", "land", "local"] {
        let table = prepare(&session, &dir.path().join(format!("{name}.parquet")))?;
        generic += table.records().generic_columns().count();
        let batch = table.records().to_batch()?;
        let back = PreparedRecords::from_batch(&batch, Path::new("stored"))?;
        assert_eq!(&back, table.records(), "{name}");
    }
    // Columns detection cannot place are compared as generic columns: they are stored too.
    let febrl = dir.path().join("febrl.csv");
    let mut text = String::from("rec_id,given_name,surname,date_of_birth,postcode,suburb,soc_sec_id\n");
    for i in 0..50 {
        text += &format!(
            "rec-{i}-org,john{},smith{},19{:02}0{}1{},{},suburb{},{}\n",
            i % 7,
            i % 5,
            50 + i % 40,
            1 + i % 9,
            i % 10,
            2000 + i % 13,
            i % 4,
            1_000_000 + i * 37
        );
    }
    std::fs::write(&febrl, text).unwrap();
    let table = prepare(&session, &febrl)?;
    generic += table.records().generic_columns().count();
    let back = PreparedRecords::from_batch(&table.records().to_batch()?, Path::new("stored"))?;
    assert_eq!(&back, table.records(), "febrl");
    assert!(generic > 0, "no generic column was stored");
    Ok(())
}

#[test]
fn linking_against_the_index_gives_the_links_of_the_file() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    population(dir.path(), 1_500);
    let session = Session::new();
    let national = prepare(&session, &dir.path().join("national.parquet"))?;
    let index_dir = dir.path().join("national.idx");
    let index = session.build_index(&national, &index_dir, None)?;
    assert_eq!(index.manifest().records, national.len() as u64);
    assert_eq!(index.manifest().version, INDEX_FORMAT_VERSION);
    assert!(index.size_on_disk() > 0);
    // The terms are one segment (a lookup searches each of its terms once per segment), though
    // every writer thread wrote its own.
    let meta = std::fs::read(index_dir.join("keys").join("meta.json")).unwrap();
    let meta: serde_json::Value = serde_json::from_slice(&meta).unwrap();
    assert_eq!(meta["segments"].as_array().map(Vec::len), Some(1), "{}", meta["segments"]);

    let indexed = session.open_index(&index_dir)?;
    assert_eq!(indexed.records(), national.records());
    assert_eq!(indexed.name(), national.name());
    assert_eq!(indexed.source().dataset(), national.source().dataset());
    assert_eq!(indexed.source().id_choice(), national.source().id_choice());
    assert_eq!(indexed.stats().rows_read, national.stats().rows_read);

    for source in ["bhxh", "bhyt", "land"] {
        let sector = prepare(&session, &dir.path().join(format!("{source}.parquet")))?;
        let from_file = session.link(&sector, &national, None)?;
        let from_index = session.link(&sector, &indexed, None)?;
        assert_eq!(from_index.results(), from_file.results(), "{source}");
        assert!(from_file.results().iter().any(|r| r.decision == khop::link::Decision::Match));
    }

    // An index is never overwritten.
    let again = session.build_index(&national, &index_dir, None).unwrap_err();
    assert!(matches!(again.kind(), ErrorKind::OutputClash { .. }), "{again}");
    Ok(())
}

/// A copy of the index folder `from` at `to`, sub-folders included.
fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.path().is_dir() {
            copy(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn a_damaged_or_foreign_index_is_a_clear_error() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    population(dir.path(), 300);
    let session = Session::new();
    let national = prepare(&session, &dir.path().join("national.parquet"))?;
    let good = dir.path().join("good.idx");
    session.build_index(&national, &good, None)?;
    let records = std::fs::read(good.join("records.arrow")).unwrap();
    let manifest = std::fs::read_to_string(good.join("manifest.json")).unwrap();

    let open = |name: &str, change: &dyn Fn(&Path)| -> String {
        let bad = dir.path().join(name);
        copy(&good, &bad);
        change(&bad);
        let error = NationalIndex::open(&bad).unwrap_err();
        error.to_string()
    };
    let missing = NationalIndex::open(&dir.path().join("absent.idx")).unwrap_err();
    assert!(matches!(missing.kind(), ErrorKind::Io { .. }), "{missing}");

    let truncated = open("truncated", &|d| {
        std::fs::write(d.join("records.arrow"), &records[..records.len() / 2]).unwrap()
    });
    assert!(truncated.contains("bytes where the index manifest says"), "{truncated}");

    let flipped = open("flipped", &|d| {
        let mut bytes = records.clone();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x55;
        std::fs::write(d.join("records.arrow"), bytes).unwrap();
    });
    assert!(flipped.contains("checksum"), "{flipped}");

    // A damaged file of the terms index is caught by its checksum too.
    let terms = open("terms", &|d| {
        let keys = d.join("keys");
        let mut files: Vec<_> = std::fs::read_dir(&keys).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        let largest = files.iter().max_by_key(|p| std::fs::metadata(p).unwrap().len()).unwrap();
        let mut bytes = std::fs::read(largest).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x55;
        std::fs::write(largest, bytes).unwrap();
    });
    assert!(terms.contains("keys/") && terms.contains("checksum"), "{terms}");

    let version = open("version", &|d| {
        let text = manifest.replace(&format!("\"version\": {INDEX_FORMAT_VERSION}"), "\"version\": 99");
        std::fs::write(d.join("manifest.json"), text).unwrap();
    });
    assert!(version.contains("version 99"), "{version}");

    let foreign =
        open("foreign", &|d| std::fs::write(d.join("manifest.json"), "{\"format\": \"parquet\"}").unwrap());
    assert!(foreign.contains("not a khop index"), "{foreign}");

    let not_json = open("not_json", &|d| std::fs::write(d.join("manifest.json"), "\u{0}garbage").unwrap());
    assert!(not_json.contains("not a khop index"), "{not_json}");

    let no_manifest = open("no_manifest", &|d| std::fs::remove_file(d.join("manifest.json")).unwrap());
    assert!(no_manifest.contains("manifest.json"), "{no_manifest}");

    // Garbage with a checksum that matches (a manifest rewritten by hand): still an error.
    let garbage = open("garbage", &|d| {
        let bytes: Vec<u8> = (0..4096u32).map(|i| (i * 31 % 251) as u8).collect();
        std::fs::write(d.join("records.arrow"), &bytes).unwrap();
        let mut value: serde_json::Value = serde_json::from_str(&manifest).unwrap();
        let hash = format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&bytes));
        value["files"][0]["bytes"] = bytes.len().into();
        value["files"][0]["xxh3"] = hash.into();
        std::fs::write(d.join("manifest.json"), value.to_string()).unwrap();
    });
    assert!(garbage.contains("records.arrow"), "{garbage}");

    // A file the manifest names outside the folder is refused before it is read.
    let escape = open("escape", &|d| {
        let text = manifest.replace("\"records.arrow\"", "\"../good.idx/records.arrow\"");
        std::fs::write(d.join("manifest.json"), text).unwrap();
    });
    assert!(escape.contains("names the file"), "{escape}");
    Ok(())
}

/// A records file whose footer declares a block longer than the file is refused before Arrow's
/// decoder allocates the declared length (it zeroes the whole block before reading it: found by
/// the `index` fuzz target, 2 GiB for a 9 KiB file).
#[test]
fn a_records_block_longer_than_its_file_is_refused_before_it_is_read() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    population(dir.path(), 100);
    let session = Session::new();
    let national = prepare(&session, &dir.path().join("national.parquet"))?;
    let index = session.build_index(&national, dir.path().join("good.idx"), None)?;
    let path = index.dir().join("records.arrow");
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(khop::index::read_records(&path).is_ok());

    // The footer's first record batch block: its body length, as stored, becomes 1.5 GiB.
    let footer_len =
        u32::from_le_bytes(bytes[bytes.len() - 10..bytes.len() - 6].try_into().unwrap()) as usize;
    let footer_start = bytes.len() - 10 - footer_len;
    let body = {
        let footer = arrow_ipc::root_as_footer(&bytes[footer_start..bytes.len() - 10]).unwrap();
        footer.recordBatches().unwrap().get(0).bodyLength()
    };
    let stored = body.to_le_bytes();
    let at = bytes[footer_start..].windows(8).position(|w| w == stored).expect("body length in the footer");
    bytes[footer_start + at..footer_start + at + 8].copy_from_slice(&(3i64 << 29).to_le_bytes());
    let damaged = dir.path().join("damaged.arrow");
    std::fs::write(&damaged, &bytes).unwrap();
    let error = khop::index::read_records(&damaged).unwrap_err().to_string();
    assert!(error.contains("damaged.arrow") && error.contains("outside the file"), "{error}");

    // An empty file, a file of the magic numbers alone and the good file cut short are errors
    // that name the file (the file is memory-mapped: none of them may be read past its end).
    let good = std::fs::read(&path).unwrap();
    let mut magic_only = b"ARROW1\0\0".to_vec();
    magic_only.extend_from_slice(&[0, 0, 0, 0]);
    magic_only.extend_from_slice(b"ARROW1");
    for (name, content) in [
        ("empty.arrow", Vec::new()),
        ("magic.arrow", magic_only),
        ("cut.arrow", good[..good.len() / 2].to_vec()),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, &content).unwrap();
        let error = khop::index::read_records(&file).unwrap_err().to_string();
        assert!(error.contains(name) && error.contains("not an Arrow IPC file"), "{name}: {error}");
    }
    Ok(())
}

/// Room reserved from a row count, right or wrong, never changes the prepared records.
#[test]
fn a_row_count_given_to_prepare_changes_nothing_but_memory() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    population(dir.path(), 600);
    let session = Session::new();
    let path = dir.path().join("national.parquet");
    let table = prepare(&session, &path)?;
    let source = table.source();
    let rows = table.len();
    for hint in [None, Some(1), Some(rows / 3), Some(rows), Some(rows * 10)] {
        // Small batches, so that the count is given after a first wave smaller than the table.
        let options = ReadOptions { batch_size: 16, ..source.options().clone() };
        let reader = khop::read::Reader::open(&path, &options)?;
        let prepared = PreparedRecords::from_batches_sized(source.dataset(), reader, hint)?;
        assert_eq!(&prepared, table.records(), "row count {hint:?}");
    }
    Ok(())
}

/// Each row of a generated CSV table as a JSON object of role-named fields.
#[test]
fn a_lookup_finds_what_the_batch_link_finds() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    csv_population(dir.path(), 2_000, 9);
    let session = Session::new();
    let national = prepare(&session, &dir.path().join("national.csv"))?;
    let sector_file = dir.path().join("bhxh.csv");
    let sector = prepare(&session, &sector_file)?;
    let run = session.link(&sector, &national, None)?;
    let index = session.build_index(&national, dir.path().join("idx"), Some(run.model()))?;
    let index = NationalIndex::open(index.dir())?;
    assert!(index.model().is_some());

    let objects = role_objects(&sector);
    assert_eq!(objects.len(), sector.len());
    let found = session.lookup(&index, &objects, None, &exact(3))?;
    let (mut same, mut matches) = (0, 0);
    for (lookup, batch) in found.iter().zip(run.results()) {
        matches += usize::from(batch.decision == khop::link::Decision::Match);
        let best =
            |r: &khop::link::LinkResult| r.best.map(|b| national.records().record_id(b.right).to_owned());
        if lookup.result.decision == batch.decision && best(&lookup.result) == best(batch) {
            same += 1;
            if let (Some(a), Some(b)) = (lookup.result.best, batch.best) {
                assert_eq!(a.weight.to_bits(), b.weight.to_bits(), "same pair, same weight");
            }
        }
        assert!(lookup.candidates.len() <= 3);
        if let Some(first) = lookup.candidates.first() {
            assert_eq!(Some(first.record), lookup.result.best.map(|b| b.right));
            let total: f64 =
                first.explanation.iter().map(|c| c.weight).sum::<f64>() + run.model().prior_weight();
            assert!((total - first.weight).abs() < 1e-9, "the explanation adds up to the weight");
        }
    }
    assert!(matches > sector.len() / 2, "{matches} matches of {}", sector.len());
    // The index blocks with the national table's own default rules: the same as the batch link's
    // here, so every record gets the batch answer.
    assert_eq!(same, found.len(), "{same} of {} lookups agree with the batch link", found.len());

    // A record with fields missing is compared on what it has; a field the model does not
    // compare (bhxh has no parents' names) is left out and named.
    let mut partial = objects[0].clone();
    partial.remove("phone");
    partial.remove("national_id");
    partial.insert("father_name".into(), "Nguyễn Văn Bình".into());
    let answer = &session.lookup(&index, &[partial], None, &exact(3))?[0];
    assert_eq!(answer.ignored_fields, ["father_name"]);
    assert!(answer.compared > 0);

    // Bad records are named, never their values.
    let mut bad = serde_json::Map::new();
    bad.insert("shoe_size".into(), "42".into());
    let error = session.lookup(&index, &[bad], None, &exact(3)).unwrap_err().to_string();
    assert!(error.contains("unknown field `shoe_size`"), "{error}");
    let mut wrong = serde_json::Map::new();
    wrong.insert("full_name".into(), serde_json::json!(["Nguyễn Văn An"]));
    let error = session.lookup(&index, &[wrong], None, &exact(3)).unwrap_err().to_string();
    assert!(error.contains("an array") && !error.contains("Nguy"), "{error}");
    Ok(())
}

/// The rows `rows` of `batch`.
fn take(batch: &arrow_array::RecordBatch, rows: &[u32]) -> arrow_array::RecordBatch {
    arrow_select::take::take_record_batch(batch, &arrow_array::UInt32Array::from(rows.to_vec())).unwrap()
}

fn read_parquet(path: &Path) -> arrow_array::RecordBatch {
    let file = std::fs::File::open(path).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(file, 1 << 20).unwrap();
    let batches: Vec<_> = reader.map(|b| b.unwrap()).collect();
    arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap()
}

fn write_parquet(path: &Path, batch: &arrow_array::RecordBatch) {
    let file = std::fs::File::create(path).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
}

/// A column of `batch` with `change` applied to the rows it returns `Some` for.
fn with_column(
    batch: &arrow_array::RecordBatch,
    column: &str,
    change: impl Fn(usize, Option<&str>) -> Option<Option<String>>,
) -> arrow_array::RecordBatch {
    use arrow_array::Array;
    let index = batch.schema().index_of(column).unwrap();
    let values = arrow_cast::cast(batch.column(index), &arrow_schema::DataType::Utf8).unwrap();
    let values = values.as_any().downcast_ref::<arrow_array::StringArray>().unwrap();
    let changed: arrow_array::StringArray = (0..values.len())
        .map(|i| {
            let value = values.is_valid(i).then(|| values.value(i));
            change(i, value).unwrap_or_else(|| value.map(str::to_owned))
        })
        .collect();
    let mut columns = batch.columns().to_vec();
    columns[index] = arrow_cast::cast(&changed, batch.column(index).data_type()).unwrap();
    arrow_array::RecordBatch::try_new(batch.schema(), columns).unwrap()
}

/// An index built from an older national table and brought up to date by upserts (new records,
/// and changed records under their ids) and deletes links a sector file as the current national
/// file does, looks its records up as the batch link finds them, and opens again as it was left.
#[test]
fn an_updated_index_links_as_the_current_file_does() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    population(dir.path(), 1_500);
    let session = Session::new();
    let current_file = dir.path().join("national.parquet");
    let current = read_parquet(&current_file);
    let id_column = "ma_cong_dan";
    let n = current.num_rows() as u32;

    // The old table: a fifth of the records are not there yet, a seventh carry another
    // person's name, and some records are there twice under a second id (to be deleted).
    let old_rows: Vec<u32> = (0..n).filter(|i| i % 5 != 0).collect();
    let stale = with_column(&current, "ho_va_ten", |i, _| {
        (i % 7 == 1).then(|| Some(format!("Trịnh Văn Cũ {}", i % 13)))
    });
    let doubles = with_column(
        &take(&current, &(0..n).filter(|i| i % 11 == 3).collect::<Vec<_>>()),
        id_column,
        |_, id| Some(id.map(|id| format!("{id}-cu"))),
    );
    let old =
        arrow_select::concat::concat_batches(&current.schema(), &[take(&stale, &old_rows), doubles.clone()])
            .unwrap();
    let old_file = dir.path().join("old.parquet");
    write_parquet(&old_file, &old);
    // Upserts: the new records and the changed ones, as they are now.
    let upsert_rows: Vec<u32> = (0..n).filter(|i| i % 5 == 0 || i % 7 == 1).collect();
    let upsert_file = dir.path().join("changes.parquet");
    write_parquet(&upsert_file, &take(&current, &upsert_rows));
    let deletes: Vec<String> = {
        use arrow_array::Array;
        let ids = arrow_cast::cast(
            doubles.column(doubles.schema().index_of(id_column).unwrap()),
            &arrow_schema::DataType::Utf8,
        )
        .unwrap();
        let ids = ids.as_any().downcast_ref::<arrow_array::StringArray>().unwrap().clone();
        (0..ids.len()).map(|i| ids.value(i).to_owned()).chain(["khong-co".to_owned()]).collect()
    };

    let national = prepare(&session, &current_file)?;
    let sector_file = dir.path().join("bhxh.parquet");
    let sector = prepare(&session, &sector_file)?;
    let (model, _) = session.train(&sector, &national)?;
    let from_file = session.link(&sector, &national, Some(&model))?;

    let old_table =
        session.prepare(&TableSource::detect(&old_file, &ReadOptions::default())?.named("national"))?;
    let index_dir = dir.path().join("national.idx");
    let mut index = session.build_index(&old_table, &index_dir, Some(&model))?;
    let upserts = session.prepare(&TableSource::for_index(&index, &upsert_file)?)?;
    let update = session.update_index(&mut index, Some(&upserts), &deletes)?;
    let replaced = (0..n).filter(|i| i % 5 != 0 && i % 7 == 1).count() as u64;
    assert_eq!(update.generation, 1);
    assert_eq!(update.upserted, upsert_rows.len() as u64);
    assert_eq!(update.replaced, replaced);
    assert_eq!((update.deleted, update.not_found), (doubles.num_rows() as u64, 1));
    assert_eq!(update.records, u64::from(n));
    assert_eq!(index.commit().records, u64::from(n));

    // The batch link against the index: the links of the current file, weight for weight.
    let best =
        |run: &khop::session::LinkRun, table: &Table| -> Vec<(khop::link::Decision, Option<(String, u64)>)> {
            run.results()
                .iter()
                .map(|r| {
                    (
                        r.decision,
                        r.best.map(|b| (table.records().record_id(b.right).to_owned(), b.weight.to_bits())),
                    )
                })
                .collect()
        };
    for (label, index) in [("updated", &index), ("reopened", &NationalIndex::open(&index_dir)?)] {
        let indexed = Table::from_index(index)?;
        assert_eq!(indexed.len(), national.len(), "{label}");
        let from_index = session.link(&sector, &indexed, Some(&model))?;
        assert_eq!(best(&from_index, &indexed), best(&from_file, &national), "{label}");
    }
    let reopened = NationalIndex::open(&index_dir)?;
    assert_eq!(reopened.commit(), index.commit());
    assert_eq!(reopened.records().as_ref(), index.records().as_ref(), "counts taken again alike");

    // Lookups: new and changed records are found, deleted ones never.
    let objects = role_objects(&sector);
    let found = session.lookup(&reopened, &objects, None, &exact(5))?;
    let mut agree = 0;
    for (lookup, batch) in found.iter().zip(from_file.results()) {
        for candidate in &lookup.candidates {
            assert!(reopened.is_live(candidate.record));
            assert!(!candidate.id.ends_with("-cu"), "a deleted record was found");
        }
        let id = |r: &khop::link::LinkResult, records: &PreparedRecords| {
            r.best.map(|b| records.record_id(b.right).to_owned())
        };
        agree += usize::from(id(&lookup.result, reopened.records()) == id(batch, national.records()));
    }
    assert_eq!(agree, found.len(), "{agree} of {} lookups agree with the batch link", found.len());

    // A reader kept open sees the commit when it reloads, and only then.
    let mut reader = NationalIndex::open(&index_dir)?;
    assert!(!reader.reload()?, "nothing committed since it opened");
    let second = session.prepare(&TableSource::for_index(&index, &upsert_file)?)?;
    let again = index.update(Some(second.records()), &[])?;
    assert_eq!(reader.commit().generation, again.generation - 1);
    assert!(reader.reload()?);
    assert_eq!(reader.commit(), index.commit());
    assert_eq!(reader.records().as_ref(), index.records().as_ref());

    // Bad updates change nothing.
    let twice = session.prepare(&TableSource::for_index(&index, &upsert_file)?)?;
    let error = index.update(Some(twice.records()), &[twice.records().record_id(0).to_owned()]).unwrap_err();
    assert!(error.to_string().contains("also to be deleted"), "{error}");
    let doubled_file = dir.path().join("doubled.parquet");
    write_parquet(&doubled_file, &take(&current, &[4, 9, 4]));
    let doubled = session.prepare(&TableSource::for_index(&index, &doubled_file)?)?;
    let error = index.update(Some(doubled.records()), &[]).unwrap_err();
    assert!(error.to_string().contains("rows 1 and 3 carry the same record id"), "{error}");
    assert_eq!(NationalIndex::open(&index_dir)?.commit(), index.commit());

    // One writer at a time.
    let keys = tantivy::Index::open_in_dir(index_dir.join("keys")).unwrap();
    let holder: tantivy::IndexWriter = keys.writer(15_000_000).unwrap();
    let error = index.update(None, &deletes[..1]).unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Locked { .. }), "{error}");
    drop(holder);
    let update = index.update(None, &deletes[..1])?;
    assert_eq!((update.generation, update.deleted, update.not_found), (3, 0, 1));

    // A new model is one more commit.
    let (retrained, _) = session.retrain_index(&mut index, &sector)?;
    let reopened = NationalIndex::open(&index_dir)?;
    assert_eq!(reopened.commit().generation, 4);
    assert_eq!(reopened.model(), Some(&retrained));
    // The index now holds the current file's records: training on it gives the model trained on
    // that file, to the last bit.
    assert_eq!(retrained, model);
    Ok(())
}

/// Each record of `table` as a JSON object of its roles' values, as read.
fn role_objects(table: &Table) -> Vec<serde_json::Map<String, serde_json::Value>> {
    use khop::read::{Reader, TextColumn};
    let dataset = table.source().dataset();
    let mut objects = Vec::new();
    for batch in Reader::open(table.path(), table.source().options()).unwrap() {
        let batch = batch.unwrap();
        let schema = batch.records.schema();
        for row in 0..batch.records.num_rows() {
            let mut object = serde_json::Map::new();
            for (field, array) in schema.fields().iter().zip(batch.records.columns()) {
                let Some(column) = TextColumn::new(array.as_ref()) else { continue };
                let Some(role) = dataset.role_of(field.name()) else { continue };
                if let Some(value) = column.get(row).filter(|v| !v.is_empty()) {
                    object.insert(role.as_str().to_owned(), value.into());
                }
            }
            objects.push(object);
        }
    }
    objects
}

/// `text` with its second letter replaced by `z`: one edit, whatever the accents.
fn typo(text: &str) -> String {
    text.chars().enumerate().map(|(i, c)| if i == 1 { 'z' } else { c }).collect()
}

/// The date `dd/mm/yyyy` or `yyyy-mm-dd` with another day of the same month.
fn other_day(date: &str) -> String {
    let (day, rebuild): (&str, Box<dyn Fn(u32) -> String>) = if let Some((d, rest)) = date.split_once('/') {
        (d, Box::new(move |n| format!("{n:02}/{rest}")))
    } else {
        let (rest, d) = date.rsplit_once('-').expect("a date");
        (d, Box::new(move |n| format!("{rest}-{n:02}")))
    };
    let day: u32 = day.parse().expect("a day");
    rebuild(if day == 1 { 2 } else { day - 1 })
}

/// A record with a typo in both its family and its given name, another day of birth and no id
/// or phone meets its national record under no blocking rule; the fuzzy pass of a lookup finds
/// it.
#[test]
fn the_fuzzy_pass_finds_records_with_a_typo_in_each_name() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    csv_population(dir.path(), 2_000, 21);
    let session = Session::new();
    let national = prepare(&session, &dir.path().join("national.csv"))?;
    let sector = prepare(&session, &dir.path().join("bhxh.csv"))?;
    let (model, _) = session.train(&sector, &national)?;
    let index = session.build_index(&national, dir.path().join("idx"), Some(&model))?;

    // National records with a full date of birth, typed again with both names misspelt.
    let mut reader = csv::Reader::from_path(dir.path().join("national.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (id, name, birth, sex, address) = (
        column("ma_cong_dan"),
        column("ho_va_ten"),
        column("ngay_sinh"),
        column("gioi_tinh"),
        column("noi_thuong_tru"),
    );
    let mut queries = Vec::new();
    for row in reader.records().map(|r| r.unwrap()) {
        let words: Vec<&str> = row[name].split_whitespace().collect();
        if words.len() < 2 || row[birth].len() < 8 || words.iter().any(|w| w.chars().count() < 2) {
            continue;
        }
        let mut typed: Vec<String> = words.iter().map(|w| (*w).to_owned()).collect();
        let last = typed.len() - 1;
        typed[0] = typo(&typed[0]);
        typed[last] = typo(&typed[last]);
        let mut object = serde_json::Map::new();
        object.insert("full_name".into(), typed.join(" ").into());
        object.insert("date_of_birth".into(), other_day(&row[birth]).into());
        object.insert("sex".into(), row[sex].into());
        object.insert("address".into(), row[address].into());
        queries.push((row[id].to_owned(), object));
        if queries.len() == 200 {
            break;
        }
    }
    assert_eq!(queries.len(), 200);
    let objects: Vec<_> = queries.iter().map(|(_, o)| o.clone()).collect();

    let found_by = |options: &LookupOptions| -> Result<(usize, usize)> {
        let found = session.lookup(&index, &objects, None, options)?;
        let (mut right, mut wrong) = (0, 0);
        for ((id, _), lookup) in queries.iter().zip(&found) {
            let Some(best) =
                lookup.result.best.filter(|_| lookup.result.decision != khop::link::Decision::NoMatch)
            else {
                continue;
            };
            if index.records().record_id(best.right) == id {
                right += 1;
            } else {
                wrong += 1;
            }
            if !options.fuzzy {
                assert!(lookup.rules.iter().all(|r| r.rule != "fuzzy_names"));
            }
        }
        Ok((right, wrong))
    };
    let (exact_right, _) = found_by(&LookupOptions { top: 3, fuzzy: false })?;
    let (fuzzy_right, fuzzy_wrong) = found_by(&LookupOptions { top: 3, fuzzy: true })?;
    eprintln!(
        "found: {exact_right} by the terms alone, {fuzzy_right} with the fuzzy pass ({fuzzy_wrong} wrong)"
    );
    assert!(fuzzy_right >= 160, "the fuzzy pass found {fuzzy_right} of 200");
    assert!(
        exact_right <= 100,
        "the terms alone found {exact_right} of 200: the typos do not defeat blocking"
    );
    assert!(fuzzy_wrong <= 4, "{fuzzy_wrong} wrong records found");
    Ok(())
}

/// An id the built table held twice names both records: deleting it deletes both, and the
/// index still opens with the count it commits.
#[test]
fn deleting_an_id_held_twice_deletes_both_records() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    population(dir.path(), 300);
    let national = read_parquet(&dir.path().join("national.parquet"));
    let n = national.num_rows() as u32;
    let rows: Vec<u32> = (0..n).chain([7]).collect();
    let doubled = dir.path().join("doubled.parquet");
    write_parquet(&doubled, &take(&national, &rows));
    let session = Session::new();
    let table = prepare(&session, &doubled)?;
    assert_eq!(table.duplicate_ids(), 1);
    let index_dir = dir.path().join("idx");
    let mut index = session.build_index(&table, &index_dir, None)?;
    let id = table.records().record_id(7).to_owned();
    let update = index.update(None, &[id])?;
    assert_eq!((update.deleted, update.records), (1, u64::from(n) - 1));
    let reopened = NationalIndex::open(&index_dir)?;
    assert_eq!(reopened.commit().records, u64::from(n) - 1);
    assert_eq!(Table::from_index(&reopened)?.len(), n as usize - 1);
    Ok(())
}

/// The ids of a delete file: the id column of a file with a header, or one id per line; a
/// plain list with several values on a line is refused with the line named.
#[test]
fn delete_files_are_read_by_their_id_column_or_line_by_line() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let with_header = dir.path().join("gone.csv");
    std::fs::write(&with_header, "ghi_chu,ma_cong_dan\nchuyen di, CD01 \nmat,CD02\n").unwrap();
    assert_eq!(khop::index::read_id_list(&with_header, "ma_cong_dan")?, ["CD01", "CD02"]);
    let plain = dir.path().join("gone.txt");
    std::fs::write(&plain, "CD03\n\nCD04\r\n").unwrap();
    assert_eq!(khop::index::read_id_list(&plain, "ma_cong_dan")?, ["CD03", "CD04"]);
    let ragged = dir.path().join("ragged.txt");
    std::fs::write(&ragged, "CD05\nCD06,CD07\n").unwrap();
    let error = khop::index::read_id_list(&ragged, "ma_cong_dan").unwrap_err().to_string();
    assert!(error.contains("line 2") && error.contains("several values"), "{error}");
    Ok(())
}

/// A handle opened before another handle's commit writes on top of that commit, not over it:
/// both deletes stay, and the index opens with the count it commits.
#[test]
fn a_stale_handle_updates_on_top_of_the_last_commit() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    population(dir.path(), 300);
    let session = Session::new();
    let table = prepare(&session, &dir.path().join("national.parquet"))?;
    let index_dir = dir.path().join("idx");
    let mut first = session.build_index(&table, &index_dir, None)?;
    let mut second = NationalIndex::open(&index_dir)?;
    let n = table.len() as u64;
    first.update(None, &[table.records().record_id(3).to_owned()])?;
    let update = second.update(None, &[table.records().record_id(5).to_owned()])?;
    assert_eq!((update.generation, update.deleted, update.records), (2, 1, n - 2));
    let reopened = NationalIndex::open(&index_dir)?;
    assert_eq!(reopened.commit(), second.commit());
    assert_eq!(reopened.commit().records, n - 2);
    assert!(!reopened.is_live(3) && !reopened.is_live(5));
    Ok(())
}

/// A clone is a handle of its own: an update through it leaves what the original sees unchanged
/// (what lets a service update while lookups go on), until the original reloads.
#[test]
fn an_update_through_a_clone_leaves_the_original_as_it_was() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    csv_population(dir.path(), 400, 4);
    let session = Session::new();
    let national = prepare(&session, &dir.path().join("national.csv"))?;
    let sector = prepare(&session, &dir.path().join("bhxh.csv"))?;
    let (model, _) = session.train(&sector, &national)?;
    let mut original = session.build_index(&national, dir.path().join("idx"), Some(&model))?;
    let objects: Vec<_> = role_objects(&national).into_iter().take(20).collect();
    let ids: Vec<String> = (0..20).map(|i| national.records().record_id(i).to_owned()).collect();
    let before = session.lookup(&original, &objects, None, &exact(1))?;
    let found = |lookups: &[khop::index::Lookup], index: &NationalIndex| -> Vec<Option<String>> {
        lookups.iter().map(|l| l.result.best.map(|b| index.records().record_id(b.right).to_owned())).collect()
    };
    assert_eq!(found(&before, &original), ids.iter().cloned().map(Some).collect::<Vec<_>>());

    let mut clone = original.clone();
    let update = clone.update(None, &ids)?;
    assert_eq!((update.deleted, update.generation), (20, 1));
    // The original: the same commit, the same answers.
    assert_eq!(original.commit().generation, 0);
    assert_eq!(session.lookup(&original, &objects, None, &exact(1))?, before);
    // The clone: none of the deleted records.
    let after = session.lookup(&clone, &objects, None, &exact(1))?;
    for (best, id) in found(&after, &clone).iter().zip(&ids) {
        assert_ne!(best.as_deref(), Some(id.as_str()));
    }
    // Reloaded, the original sees the commit.
    assert!(original.reload()?);
    assert_eq!(session.lookup(&original, &objects, None, &exact(1))?, after);
    Ok(())
}
