//! The one error type of this crate.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while scoring, training, loading or running a translation model.
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
    /// Reading a corpus failed (missing file, invalid UTF-8, mismatched parallel files, …).
    #[error(transparent)]
    Corpus(#[from] fivegram_corpora::Error),
    /// Loading, estimating or querying the target language model failed.
    #[error(transparent)]
    Lm(#[from] fivegram_lm::Error),
    /// Two inputs that must have one line per segment do not (hypotheses and references, source and target).
    #[error(
        "{what}: {found} lines, but {expected} were expected (one per segment); check that the files belong together"
    )]
    LineCount {
        /// Which input, e.g. the reference file's path.
        what: String,
        /// The number of lines of the input it is compared with.
        expected: usize,
        /// Its own number of lines.
        found: usize,
    },
    /// A malformed line in a text file this crate reads.
    #[error("{}:{line}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong and what was expected.
        message: String,
    },
    /// An option value that cannot work (a stack size of 0, a beam of n-best 0, …).
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// A directory that should hold a translation model does not.
    #[error(
        "{} is not a translation model (no manifest.json); build one with `fivegram train-translation`",
        dir.display()
    )]
    NotAModel {
        /// The directory.
        dir: PathBuf,
    },
    /// There is nothing to work on (an empty corpus, no references).
    #[error("{0}")]
    Empty(String),
    /// A model file is damaged: truncated, overwritten, or inconsistent with the rest of the model.
    #[error("{}: corrupt model file ({what}); rebuild the model with `fivegram train-translation`", path.display())]
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
    /// A translation backend outside this crate (the neural one) failed; its own error, as text.
    #[error("{backend} backend: {message}")]
    Backend {
        /// The backend's name, e.g. `neural`.
        backend: String,
        /// Its error message.
        message: String,
    },
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

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
