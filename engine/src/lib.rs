//! khop: identity matching and deduplication for Vietnamese population records.
//!
//! Records flow through `read -> normalize -> block -> compare -> score -> decide -> write`;
//! each stage is a module of this crate, named for it.

pub mod similarity;
