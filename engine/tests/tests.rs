//! The engine's integration tests: one binary, one module per area.

mod address;
mod config;
mod eval;
mod normalize;
mod read;
mod roundtrip;
