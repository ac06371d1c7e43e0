//! Spelling correction (work in progress).
#![deny(missing_docs)]

pub mod build;
pub mod edit;
mod error;
pub mod eval;
pub mod index;
pub mod lexicon;
pub mod model;
pub mod phonetic;
pub mod speller;
pub mod train;

pub use error::{Error, Result};
pub use speller::{Correction, Span, Speller, Suggestion};
