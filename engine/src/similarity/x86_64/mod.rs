//! x86-64 kernels. Each file is compiled with its instruction set enabled only inside its
//! `#[target_feature]` entry points; `super::dispatch` calls them after run-time detection.

pub(crate) mod avx2;
pub(crate) mod avx512;
