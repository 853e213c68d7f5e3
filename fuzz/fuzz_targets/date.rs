//! Date parsing: any text is a date or "unknown", never a panic; a known date is in range.
#![no_main]

use khop::normalize::date::{DateOrder, parse_date, parse_date_ordered};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    for date in [parse_date(text), parse_date_ordered(text, DateOrder::MonthFirst)] {
        if let Some(month) = date.month {
            assert!((1..=12).contains(&month), "{text:?} -> {date:?}");
        }
        if let Some(day) = date.day {
            assert!((1..=31).contains(&day), "{text:?} -> {date:?}");
        }
    }
});
