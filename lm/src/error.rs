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
