//! Configuration parsing: any text gives a configuration or a list of problems, never a panic.
#![no_main]

use khop::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(error) = Config::parse(text, std::path::Path::new("/data")) {
        // Every problem has a place in the text.
        if let khop::ErrorKind::Config(diagnostics) = error.kind() {
            for item in &diagnostics.items {
                assert!(item.position.line >= 1 && item.position.line <= text.lines().count() + 1);
            }
        }
    }
});
