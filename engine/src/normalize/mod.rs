//! Normalization: the stage between reading and blocking.
//!
//! Sector and local records were typed by many hands over decades, so one value reaches us in many
//! spellings: accents dropped or decomposed, legacy 8-bit encodings (TCVN3, VNI) read as Latin-1,
//! old and new tone-mark placement, names in reversed order, dates in a dozen layouts, ids with
//! separators and lost leading zeros, 11-digit mobile numbers from before 2018. Each submodule turns
//! one kind of field into a canonical value and comparison keys, so that later stages compare
//! meaning rather than spelling.
//!
//! Rules of the module:
//! - Dirty values are data, not errors: every parser returns a value (possibly "unknown") with flags
//!   that say what was repaired or doubted. Nothing here panics on any input.
//! - Hot functions take caller-owned buffers (`*_into` functions and `*Scratch` types), so that
//!   normalizing 100M rows does not allocate per record. Plain `&str -> value` functions exist for
//!   convenience, tests and fuzzing.
//!
//! Submodules: [`text`] (Unicode, legacy encodings, tone marks, accent folding), [`alphabet`] (the
//! one-byte alphabet used by the similarity kernels), [`name`], [`date`], [`id`], [`phone`], [`sex`]
//! and [`address`]. [`prepared`] turns a whole dataset into the compact columns that blocking and
//! comparisons read.

pub mod address;
pub mod alphabet;
pub mod date;
pub mod id;
pub mod keystroke;
pub mod name;
pub mod phone;
pub mod prepared;
pub mod records;
pub mod sex;
pub mod text;
