//! Identity numbers: cleaning and CCCD decoding never panic, and decoding agrees with the digits.
#![no_main]

use khop::normalize::id::{IdShape, parse_id};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let id = parse_id(text);
    match id.shape() {
        IdShape::Cccd12 => assert_eq!(id.as_str().len(), 12),
        IdShape::Cmnd9 => assert_eq!(id.as_str().len(), 9),
        IdShape::Other | IdShape::Empty => {}
    }
    if let Some(info) = id.cccd() {
        assert_eq!(u32::from(info.birth_year % 100), id.as_str()[4..6].parse::<u32>().unwrap());
    }
});
