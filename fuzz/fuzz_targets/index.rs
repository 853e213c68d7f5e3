//! A national index's stored records: any bytes in `records.arrow` (with a manifest whose
//! checksum matches, as a file written by hand would have) open as an index or give an error,
//! never a panic.
#![no_main]

use khop::index::NationalIndex;
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    // khop decodes Arrow IPC under `catch_unwind` and turns the decoder's panics into format
    // errors (`index/mod.rs`, `read_records`); libfuzzer-sys's hook would abort on a caught panic,
    // this one only prints (as in the `parquet` target).
    init: std::panic::set_hook(Box::new(|info| eprintln!("{info}"))),
    |data: &[u8]| {
        let dir = tempfile::tempdir().expect("temporary folder");
        let index = dir.path().join("fuzz.idx");
        std::fs::create_dir(&index).expect("index folder");
        std::fs::write(index.join("records.arrow"), data).expect("write records");
        let manifest = serde_json::json!({
            "format": khop::index::INDEX_FORMAT,
            "version": khop::index::INDEX_FORMAT_VERSION,
            "khop_version": "fuzz",
            "name": "national",
            "id_column": null,
            "id_from": "row_number",
            "columns": [{"name": "ho_ten", "role": "full_name"}],
            "records": 3,
            "rows_read": 3,
            "rows_rejected": 0,
            "rules": [],
            "files": [{
                "name": "records.arrow",
                "bytes": data.len(),
                "xxh3": format!("{:016x}", xxhash_rust::xxh3::xxh3_64(data)),
            }],
        });
        std::fs::write(index.join("manifest.json"), manifest.to_string()).expect("write manifest");
        // No terms folder: opening fails after the records are read, or earlier on bad records.
        let _ = NationalIndex::open(&index);
        // The records alone, as the index reads them.
        if let Ok(records) = khop::index::read_records(&index.join("records.arrow")) {
            let batch = records.to_batch().expect("stored records store again");
            let again = khop::normalize::prepared::PreparedRecords::from_batch(&batch, &index)
                .expect("stored records load again");
            assert_eq!(again, records);
        }
    }
);
