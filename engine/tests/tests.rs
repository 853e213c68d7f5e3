//! The engine's integration tests: one binary, one module per area.

mod config;
mod read;
mod roundtrip;
