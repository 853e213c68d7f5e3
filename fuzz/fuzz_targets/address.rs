//! Addresses: parsing never panics and gives the same answer twice.
#![no_main]

use khop::normalize::address::parse_address;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let first = parse_address(text);
    let again = parse_address(text);
    assert_eq!(first.old, again.old);
    assert_eq!(first.new, again.new);
});
