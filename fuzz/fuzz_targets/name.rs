//! Names: normalization never panics and is idempotent.
#![no_main]

use khop::normalize::name::normalize_name;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let once = normalize_name(text);
    let twice = normalize_name(&once.full);
    assert_eq!(once.full, twice.full, "{text:?}");
});
