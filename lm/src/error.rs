//! The one error type of this crate.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while counting, estimating, reading or writing a language model.
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
    /// Reading a corpus failed (missing file, invalid UTF-8, …).
    #[error(transparent)]
    Corpus(#[from] fivegram_corpora::Error),
    /// A malformed line in an ARPA file or a count file.
    #[error("{}:{line}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong and what was expected.
        message: String,
    },
    /// An option value that cannot work (order 0, a memory budget of 10 bytes, …).
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// There is nothing to estimate from.
    #[error("{0}")]
    Empty(String),
    /// A model file is damaged: truncated, overwritten, or inconsistent with the rest of the model.
    #[error("{}: corrupt model file ({what}); rebuild the model or restore the file from a copy", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the byte offset where it helps.
        what: String,
    },
    /// A model file written by a format version this build does not read.
    #[error(
        "{}: model format version {found}, but this build reads versions {oldest} to {newest}; rebuild the model",
        path.display()
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The oldest version this build reads.
        oldest: u32,
        /// The newest version this build reads.
        newest: u32,
    },
    /// A checksum over a model file's contents does not match: the file changed after it was written.
    #[error("{}: checksum mismatch ({what}); the file is damaged, rebuild the model", path.display())]
    Checksum {
        /// The file.
        path: PathBuf,
        /// Which checksum, with the expected and computed values.
        what: String,
    },
    /// Two n-grams of a model have the same key in the hashed store layout, which takes keys for identity.
    #[error("{}: {what}; build this model with the trie layout (`--layout trie`)", path.display())]
    Collision {
        /// The model file the n-grams come from.
        path: PathBuf,
        /// Which n-grams.
        what: String,
    },
    /// A long operation was stopped on request before it finished (nothing half-written was left behind).
    #[error("cancelled: {0}")]
    Cancelled(String),
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
