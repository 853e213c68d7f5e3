//! CSV row parsing: any bytes, any options; no panic, and every row accounted for.
#![no_main]

use khop::read::{Format, ReadOptions, Reader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, bytes)) = data.split_first() else { return };
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("input.csv");
    std::fs::write(&path, bytes).expect("write input");
    let options = ReadOptions {
        format: Some(Format::Csv),
        has_header: flags & 1 == 0,
        delimiter: Some(if flags & 2 == 0 { b',' } else { b';' }),
        id_column: (flags & 4 != 0).then(|| "column_1".to_owned()),
        batch_size: usize::from(flags >> 4) + 1,
        max_field_bytes: 64,
        max_rejected_share: None,
        ..ReadOptions::default()
    };
    khop_fuzz_check(&path, &options);
});

fn khop_fuzz_check(path: &std::path::Path, options: &ReadOptions) {
    let Ok(mut reader) = Reader::open(path, options) else { return };
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
