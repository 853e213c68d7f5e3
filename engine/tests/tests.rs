//! The engine's integration tests: one binary, one module per area.

mod address;
mod arrow_input;
mod block;
mod compare;
mod config;
mod config_link;
mod dedupe;
mod eval;
mod eval_files;
mod febrl;
mod index;
mod layers;
mod link;
mod model;
mod multi;
mod normalize;
mod read;
mod read_checks;
mod reconcile;
mod reference;
mod report;
mod roundtrip;
mod session;
mod settings;
mod write;
