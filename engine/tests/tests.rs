//! The engine's integration tests: one binary, one module per area.

mod address;
mod block;
mod compare;
mod config;
mod dedupe;
mod eval;
mod febrl;
mod link;
mod multi;
mod normalize;
mod read;
mod reconcile;
mod reference;
mod roundtrip;
