//! Language models for fivegram: n-gram counting with a memory budget, interpolated modified Kneser-Ney and
//! Stupid Backoff estimation, the ARPA format, and scoring through the [`LanguageModel`](model::LanguageModel) trait.
#![deny(missing_docs)]

pub mod arpa;
pub mod count;
mod error;
pub mod estimate;
pub mod mmap;
pub mod model;
pub mod query;
pub mod store;
pub mod vocab;

pub use error::{Error, Result};
