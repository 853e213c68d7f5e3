//! khop: identity matching and deduplication for Vietnamese population records.
//!
//! Records flow through `read -> normalize -> block -> compare -> score -> decide -> write`;
//! each stage is a module of this crate, named for it. This crate knows nothing of terminals or
//! Python: the `khop` command and the Python package wrap it.
//!
//! The entry point is a [`Session`]: it prepares tables ([`Table`], from a file whose roles it
//! detects or from a configuration's input) and runs whole jobs on them: [`Session::link`]
//! (or [`Session::link_sources`] for several sector tables), [`Session::dedupe`],
//! [`Session::reconcile`], [`Session::explain`], [`Session::train`], [`Session::blocking`],
//! [`Session::profile`] and [`Session::normalize`]. Results own their data and give Arrow record
//! batches, a summary that serializes to JSON, and methods that write them. The stages below are
//! public modules too, for callers who need one stage alone.
//!
//! Linking a sector table to the national table, end to end (the tables here come from the
//! synthetic population generator, `khop-datasets`; no real data):
//!
//! ```
//! use khop::read::ReadOptions;
//! use khop::{LinkOutputs, Session, TableSource};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let profile = khop_datasets::Profile::named("default")?;
//! # let options = khop_datasets::GenOptions { persons: 500, ..Default::default() };
//! # khop_datasets::generate(dir.path(), &profile, &options).map_err(|e| e.to_string())?;
//! # let (sector_file, national_file) = (dir.path().join("bhxh.parquet"), dir.path().join("national.parquet"));
//! # let links_file = dir.path().join("links.parquet");
//! let session = Session::new();
//! let read = ReadOptions::default();
//! let sector = session.prepare(&TableSource::detect(&sector_file, &read)?)?;
//! let national = session.prepare(&TableSource::detect(&national_file, &read)?)?;
//!
//! let run = session.link(&sector, &national, None)?; // trains a model without labels
//! let summary = run.write_outputs(&LinkOutputs::new(&links_file))?;
//!
//! println!("{}", serde_json::to_string_pretty(&summary)?);
//! assert_eq!(summary.rows_written, Some(sector.len() as u64)); // one row per sector record
//! assert_eq!(sector.stats().rows_read, sector.stats().rows_passed + sector.stats().rows_rejected);
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

pub mod block;
pub mod cluster;
pub mod compare;
pub mod config;
mod error;
pub mod eval;
pub mod index;
pub mod link;
pub mod normalize;
pub mod profile;
pub mod read;
pub mod reconcile;
pub mod record;
pub mod report;
pub mod review;
pub mod score;
pub mod similarity;
pub mod write;

pub use error::{Error, ErrorKind, Result};
pub use record::{ColumnSpec, DatasetSpec, Role};
pub mod session;
pub use session::{
    DedupeOutputs, DedupeRun, LinkOutputs, LinkRun, ModelChoice, MultiLink, MultiOutputs, Observer,
    OutputPlan, ReconcileOutputs, ReconcileRun, RecordIndex, Session, Table, TableSource,
};
