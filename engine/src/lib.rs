//! khop: identity matching and deduplication for Vietnamese population records.
//!
//! Records flow through `read -> normalize -> block -> compare -> score -> decide -> write`;
//! each stage is a module of this crate, named for it. This crate knows nothing of terminals or
//! Python: the `khop` command and the Python package wrap it.
//!
//! ```no_run
//! use khop::read::{ReadOptions, Reader};
//!
//! # fn main() -> khop::Result<()> {
//! let mut reader = Reader::open("national.csv", &ReadOptions::default())?;
//! for batch in &mut reader {
//!     let batch = batch?;
//!     println!("{} rows, {} rejected", batch.records.num_rows(), batch.rejects.len());
//! }
//! let stats = reader.stats();
//! assert_eq!(stats.rows_read, stats.rows_passed + stats.rows_rejected);
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
pub mod link;
pub mod normalize;
pub mod profile;
pub mod read;
pub mod reconcile;
pub mod record;
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
