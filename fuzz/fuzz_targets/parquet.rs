//! Parquet input: any bytes in a `.parquet` file; an error or batches, never a panic, and every
//! row accounted for.
#![no_main]

use khop::read::{ReadOptions, Reader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    // khop's reader runs the parquet crate's decoder under `catch_unwind` and turns its panics
    // into format errors (`read/parquet.rs`, `guarded`). libfuzzer-sys's panic hook aborts even
    // on a caught panic; this one only prints, so that a caught panic is the error it becomes and
    // only a panic that escapes khop (unwinding out of the target) is a crash.
    init: std::panic::set_hook(Box::new(|info| eprintln!("{info}"))),
    |data: &[u8]| {
        let Some((&flags, bytes)) = data.split_first() else { return };
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("input.parquet");
        std::fs::write(&path, bytes).expect("write input");
        let options = ReadOptions {
            // The format comes from the file name.
            format: None,
            id_column: (flags & 1 != 0).then(|| "id".to_owned()),
            batch_size: usize::from(flags >> 4) + 1,
            max_field_bytes: 64,
            ..ReadOptions::default()
        };
        let Ok(mut reader) = Reader::open(&path, &options) else { return };
        let mut passed = 0u64;
        let mut rejected = 0u64;
        for batch in &mut reader {
            let Ok(batch) = batch else { return };
            assert_eq!(batch.rows.len(), batch.records.num_rows());
            passed += batch.records.num_rows() as u64;
            rejected += batch.rejects.len() as u64;
        }
        let stats = reader.stats();
        assert_eq!(stats.rows_read, stats.rows_passed + stats.rows_rejected);
        assert_eq!((stats.rows_passed, stats.rows_rejected), (passed, rejected));
    }
);
