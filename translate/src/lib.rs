//! Translation for fivegram: the [`Translator`] interface, and sacreBLEU-identical BLEU and chrF scoring.
#![deny(missing_docs)]

mod error;
pub mod metrics;
pub mod translator;

pub use error::{Error, Result};
pub use translator::{NBest, Translation, TranslateOptions, Translator};
