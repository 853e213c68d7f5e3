//! Model loading: any text is a model or an error, never a panic; a loaded model scores.
#![no_main]

use khop::score::Model;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok(model) = Model::from_json(text) else { return };
    // What was accepted saves and loads back to the same model.
    let again = Model::from_json(&model.to_json()).expect("a saved model loads");
    assert_eq!(again.comparisons.len(), model.comparisons.len());
});
