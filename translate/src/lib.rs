//! Translation for fivegram: the [`Translator`] interface, and sacreBLEU-identical BLEU and chrF scoring.
#![deny(missing_docs)]

pub mod align;
pub mod decoder;
mod error;
pub mod extract;
pub mod metrics;
pub mod model;
pub mod phrase_table;
pub mod train;
pub mod translator;
pub mod truecase;
pub mod tune;

pub use error::{Error, Result};
pub use translator::{NBest, TranslateOptions, Translation, Translator};
