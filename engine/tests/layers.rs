//! The stages form a one-way stack (ARCHITECTURE.md, "Layers"): a module may use only modules
//! of its own layer or below. This test reads the engine's sources and fails on any upward use.

use std::path::Path;

/// The layers, lowest first. Modules in one layer may use each other.
const LAYERS: &[&[&str]] = &[
    &["error", "record", "similarity"],
    &["read"],
    &["write", "normalize"],
    &["block"],
    &["compare"],
    &["score"],
    &["link"],
    &["cluster", "reconcile", "index"],
    &["config"],
    &["profile", "eval", "report", "review"],
    &["session"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// Every `crate::<module>` named outside comments in `text`.
fn used_modules(text: &str) -> Vec<String> {
    let mut used = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                used.push(name);
            }
        }
    }
    used
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("engine sources") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_stage_uses_a_higher_one() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let mut violations = Vec::new();
    let mut checked = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src");
        let module = relative.components().next().and_then(|c| c.as_os_str().to_str()).expect("a name");
        let module = module.trim_end_matches(".rs");
        if module == "lib" {
            continue;
        }
        let own =
            layer_of(module).unwrap_or_else(|| panic!("module `{module}` is in no layer: add it to LAYERS"));
        let text = std::fs::read_to_string(file).expect("readable source");
        for used in used_modules(&text) {
            // Items at the crate root (re-exports such as `crate::Result`) are not modules.
            let Some(layer) = layer_of(&used) else { continue };
            checked += 1;
            if layer > own {
                violations
                    .push(format!("{} uses crate::{used} (layer {layer} above {own})", relative.display()));
            }
        }
    }
    assert!(checked > 100, "only {checked} uses found: is the scan broken?");
    assert!(violations.is_empty(), "upward uses:\n{}", violations.join("\n"));
}

#[test]
fn the_scan_sees_uses_and_skips_comments() {
    let text = "use crate::link::Decision;\n// crate::session in a comment\nlet x = crate::score::probability(1.0); // crate::config\n";
    assert_eq!(used_modules(text), ["link", "score"]);
}
