//! The one integration-test binary of khop-datasets.

mod febrl;
mod generator;
