//! The one error type of this crate.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while finding, fetching, verifying or reading a corpus.
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
    /// A line is not valid UTF-8 (open the file with lossy decoding to replace bad bytes instead).
    #[error("{}:{line}: invalid UTF-8 (byte offset {offset} in the line); re-encode the file as UTF-8 or read it lossily", path.display())]
    Utf8 {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// Byte offset of the first invalid byte within the line.
        offset: usize,
    },
    /// A line does not have the shape its format requires.
    #[error("{}:{line}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong and what was expected.
        message: String,
    },
    /// The two sides of a parallel corpus have different numbers of lines.
    #[error("parallel files differ in length: {} ends at line {line} while {} goes on", shorter.display(), longer.display())]
    ParallelMismatch {
        /// The side that ran out first.
        shorter: PathBuf,
        /// The side that still has lines.
        longer: PathBuf,
        /// The first line (1-based) present in `longer` but missing from `shorter`.
        line: u64,
    },
    /// A file's sha256 is not the one the catalog records.
    #[error("{}: sha256 mismatch: expected {expected}, found {found}; the file is corrupt or a different version, delete it and fetch it again", path.display())]
    Checksum {
        /// The file.
        path: PathBuf,
        /// Hex digest recorded in the catalog.
        expected: String,
        /// Hex digest of the bytes on disk (or downloaded).
        found: String,
    },
    /// A file's size is not the one the catalog records (checked before hashing: a truncated file fails fast).
    #[error("{}: size mismatch: expected {expected} bytes, found {found}; the file is truncated or a different version, delete it and fetch it again", path.display())]
    Size {
        /// The file.
        path: PathBuf,
        /// Size in bytes recorded in the catalog.
        expected: u64,
        /// Size in bytes on disk.
        found: u64,
    },
    /// No corpus, split or language of that name in the catalog.
    #[error("{what} not in the catalog; known: {}", known.join(", "))]
    NotInCatalog {
        /// What was asked for, e.g. `corpus "foo"` or `split "dev" of multi30k`.
        what: String,
        /// What the catalog offers instead.
        known: Vec<String>,
    },
    /// A file is in neither the mirror nor the cache, and cannot be downloaded.
    #[error("{file}: not found in {searched}; {hint}")]
    Unavailable {
        /// The catalog file name.
        file: String,
        /// Where it was looked for.
        searched: String,
        /// What to do about it.
        hint: String,
    },
    /// A download failed (network error, HTTP status, dropped connection).
    #[error("downloading {url}: {message}")]
    Download {
        /// The URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The catalog itself is malformed.
    #[error("catalog: {0}")]
    Catalog(String),
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
