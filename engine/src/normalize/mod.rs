//! Normalization of identity fields.

pub mod address;
