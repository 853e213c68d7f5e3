//! Labels files (a clerk's answers): any bytes give labels or an error naming the file, never a
//! panic; labels that were read write and read back the same.
#![no_main]

use khop::review::Labels;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("labels.csv");
    std::fs::write(&path, data).expect("the input is written");
    match Labels::read(&path) {
        Ok(labels) => {
            let again = dir.path().join("again.csv");
            labels.write(&again).expect("labels write");
            assert_eq!(Labels::read(&again).expect("written labels read"), labels);
        }
        Err(error) => assert!(error.to_string().contains("labels.csv"), "{error}"),
    }
});
