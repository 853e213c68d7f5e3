//! Progress of a long call, for whoever shows it (a terminal's progress bars, a Python callback,
//! a service's metrics). The library never prints.

use std::path::PathBuf;

/// A stage of a run, as announced to an [`Observer`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// Reading and preparing a table; positions count `unit`s up to `total`.
    Read {
        /// The table's name.
        table: String,
        /// Its file.
        file: PathBuf,
        /// What positions count.
        unit: Unit,
        /// Units in all.
        total: u64,
    },
    /// Training a model (no positions).
    Train,
    /// Scoring candidate pairs; positions count pairs scored (total unknown).
    Score,
}

/// What the positions of a [`Stage`] count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Bytes of a text file.
    Bytes,
    /// Rows of a Parquet file or of Arrow batches.
    Rows,
}

impl Unit {
    /// What a reader of `format` counts its progress in ([`crate::read::Reader::progress`]).
    pub fn of(format: crate::read::Format) -> Unit {
        match format {
            crate::read::Format::Parquet | crate::read::Format::Arrow => Unit::Rows,
            crate::read::Format::Csv | crate::read::Format::Ndjson => Unit::Bytes,
        }
    }
}

/// Told where a run is. Each stage is `started`, `advanced` any number of times, then `finished`;
/// stages do not nest. Every method has an empty default.
pub trait Observer: Send + Sync {
    /// A stage begins.
    fn started(&self, stage: &Stage) {
        let _ = stage;
    }

    /// The current stage reached `position`.
    fn advanced(&self, position: u64) {
        let _ = position;
    }

    /// The current stage ended (successfully or not).
    fn finished(&self) {}
}

/// An observer that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Observer for Silent {}
