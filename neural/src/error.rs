//! The one error type of this crate.

use std::io;
use std::path::PathBuf;

/// What the messages about the runtime library tell the user to do.
const INSTALL_HINT: &str = "run scripts/install-onnxruntime.sh (it installs PyPI onnxruntime 1.31.1's \
                            libonnxruntime.so.1.31.1), or set ORT_DYLIB_PATH to that file";

/// Everything that can go wrong while loading or running a neural model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The ONNX Runtime shared library is not where it was looked for.
    #[error("the ONNX Runtime library {} does not exist; {INSTALL_HINT}", path.display())]
    RuntimeNotFound {
        /// Where it was looked for (`ORT_DYLIB_PATH`, or the default location).
        path: PathBuf,
    },
    /// The ONNX Runtime library exists but could not be loaded (not a library, wrong version, …).
    #[error("cannot load the ONNX Runtime library {}: {cause}; {INSTALL_HINT}", path.display())]
    Runtime {
        /// The library file.
        path: PathBuf,
        /// What ONNX Runtime or the loader said (its debug form, with the underlying cause).
        cause: String,
    },
    /// An operating-system error on a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// `model.json` is missing, not JSON, or inconsistent.
    #[error("{}{}: invalid model description: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    ModelJson {
        /// The `model.json` file.
        path: PathBuf,
        /// 1-based line of the problem, when it is a syntax or type error.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A model directory of another kind (an LM where a seq2seq model was expected, …).
    #[error("{}: a {found} model, but a {expected} model is needed", path.display())]
    Kind {
        /// The `model.json` file.
        path: PathBuf,
        /// The kind needed.
        expected: &'static str,
        /// The kind found.
        found: String,
    },
    /// A `model.json` written by a format version this build does not read.
    #[error("{}: model format {found}, but this build reads format {expected}; re-export the model", path.display())]
    Version {
        /// The `model.json` file.
        path: PathBuf,
        /// The version in the file.
        found: u64,
        /// The version this build reads.
        expected: u64,
    },
    /// A file the model needs is not listed in `model.json` or not in the directory.
    #[error("{}: missing model file ({why}); re-export the model or copy the whole directory", path.display())]
    MissingFile {
        /// The file.
        path: PathBuf,
        /// Not listed in `model.json`, or listed but absent.
        why: &'static str,
    },
    /// A model file whose size or sha256 differs from `model.json`: it changed or was damaged after export.
    #[error("{}: {what} mismatch (model.json says {expected}, the file has {found}); the file is damaged or from \
             another export", path.display())]
    Checksum {
        /// The file.
        path: PathBuf,
        /// `size` or `sha256`.
        what: &'static str,
        /// The value in `model.json`.
        expected: String,
        /// The value of the file.
        found: String,
    },
    /// `tokenizer.json` could not be loaded, or disagrees with `model.json`.
    #[error("{}: {message}", path.display())]
    Tokenizer {
        /// The `tokenizer.json` file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// ONNX Runtime refused a graph or failed while running it, or a graph's inputs or outputs are not those of
    /// the model contract.
    #[error("{}: {message}", path.display())]
    Graph {
        /// The `.onnx` file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// An option value that cannot work (a beam of 0, 0 threads, …).
    #[error("invalid option: {0}")]
    InvalidOption(String),
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn graph(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Graph {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl From<Error> for fivegram_translate::Error {
    fn from(error: Error) -> Self {
        fivegram_translate::Error::Backend {
            backend: "neural".to_string(),
            message: error.to_string(),
        }
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
