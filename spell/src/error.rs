//! The one error type of this crate.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while building, opening or using a spelling model.
///
/// Every variant that concerns a file names it, and where a line is at fault, the line (1-based).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system error on a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// A line of a text file (error model, manifest, evaluation list) does not have the expected shape.
    #[error("{}:{line}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// 1-based line number (0 when the file as a whole is at fault).
        line: u64,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A binary file of the model (the lexicon) is damaged or of another format.
    #[error("{}: corrupt {what}: {message}; rebuild the model (scripts/build-spell-model.sh)", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Which part of the model.
        what: &'static str,
        /// What was found wrong.
        message: String,
    },
    /// The model directory does not exist or lacks a file.
    #[error("no spelling model at {}: {hint}", path.display())]
    MissingModel {
        /// The directory or file looked for.
        path: PathBuf,
        /// How to get one.
        hint: String,
    },
    /// The model was written by an incompatible version.
    #[error("{}: model format version {found}, this program reads version {expected}; rebuild the model", path.display())]
    Version {
        /// The manifest.
        path: PathBuf,
        /// The version this code reads.
        expected: u32,
        /// The version found.
        found: u32,
    },
    /// An option value that cannot work.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// Reading a corpus or evaluation file failed.
    #[error(transparent)]
    Corpus(#[from] fivegram_corpora::Error),
    /// Opening or reading the language model failed.
    #[error(transparent)]
    Lm(#[from] fivegram_lm::Error),
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
