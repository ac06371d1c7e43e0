//! Corpora for fivegram: a catalog of the data sets the project trains and evaluates on, how to find, fetch and
//! verify their files, streaming readers for the formats they come in, and a Unicode-aware tokenizer with a
//! detokenizer for English and German.
#![deny(missing_docs)]

pub mod catalog;
mod error;
pub mod fetch;
pub mod read;
pub mod tokenize;

pub use error::{Error, Result};
