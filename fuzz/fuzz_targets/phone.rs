//! Phone numbers: any text gives an E.164 number or a kind saying why not.
#![no_main]

use khop::normalize::phone::{PhoneKind, parse_phone};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let phone = parse_phone(text);
    match phone.kind() {
        PhoneKind::Mobile | PhoneKind::Landline => assert!(phone.as_str().starts_with("+84"), "{text:?}"),
        PhoneKind::Foreign => assert!(phone.as_str().starts_with('+')),
        PhoneKind::Invalid | PhoneKind::Empty => assert_eq!(phone.as_str(), ""),
    }
});
