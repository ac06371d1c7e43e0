//! Finding a catalog file on disk, downloading it when it is nowhere, and verifying it.
//!
//! A [`Resolver`] looks for a [`CatalogFile`] in this order:
//!
//! 1. the **mirror**, a directory laid out like the catalog paths (`--mirror DIR` or `FIVEGRAM_MIRROR`). Mirror
//!    files are used as they are: resolving checks only that the file exists, so it costs one `stat`; run
//!    [`verify_file`] (or `fivegram corpora verify`) to hash them;
//! 2. the **cache**, `$FIVEGRAM_CACHE/corpora/…`, else `$XDG_CACHE_HOME/fivegram/corpora/…` (the platform cache
//!    directory from the `dirs` crate, `~/.cache` on Linux). Files in the cache were verified when they were
//!    written; one whose size differs from the catalog's is ignored and downloaded again;
//! 3. a **download** into the cache, from the file's upstream URL, or from `FIVEGRAM_MIRROR_URL/<path>` when an
//!    HTTP copy of the mirror is configured (which also serves mirror-only files). The body is streamed to a
//!    temporary file next to its destination while it is hashed; only when the size and sha256 match the catalog
//!    is it renamed into place. A wrong checksum, an HTTP error or a dropped connection leaves nothing behind.
//!
//! A mirror-only file (derived or recompressed for the mirror, see [`CatalogFile::built_from`]) that is in
//! neither place is [`Error::Unavailable`], with a hint to set `FIVEGRAM_MIRROR`.
//!
//! ```no_run
//! use fivegram_corpora::{catalog::Catalog, fetch::Resolver};
//!
//! let catalog = Catalog::shipped()?;
//! let file = catalog.split_files("ptb", "train", None)?[0];
//! let located = Resolver::from_env(None).resolve(file)?;
//! println!("{} ({:?})", located.path.display(), located.origin);
//! # Ok::<(), fivegram_corpora::Error>(())
//! ```

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::catalog::CatalogFile;
use crate::{Error, Result};

/// Environment variable naming the mirror directory (used when no `--mirror` is given).
pub const MIRROR_ENV: &str = "FIVEGRAM_MIRROR";
/// Environment variable overriding the cache directory (files go under its `corpora/` subdirectory).
pub const CACHE_ENV: &str = "FIVEGRAM_CACHE";
/// Environment variable naming an HTTP(S) copy of the mirror: files are downloaded from `<url>/<path>`.
pub const MIRROR_URL_ENV: &str = "FIVEGRAM_MIRROR_URL";

const BUFFER: usize = 1 << 16;

/// Where a resolved file was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// In the mirror directory.
    Mirror,
    /// In the cache, from an earlier download.
    Cache,
    /// Downloaded into the cache by this call.
    Downloaded,
}

/// A catalog file found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// Where the file is.
    pub path: PathBuf,
    /// How it got there.
    pub origin: Origin,
}

/// Finds catalog files in a mirror or the cache and downloads missing ones (see the [module docs](self)).
#[derive(Debug, Clone, Default)]
pub struct Resolver {
    mirror: Option<PathBuf>,
    cache: Option<PathBuf>,
    url_base: Option<String>,
}

impl Resolver {
    /// A resolver with no mirror, no cache and no mirror URL: configure it with the builder methods.
    pub fn new() -> Self {
        Self::default()
    }

    /// The resolver the command line uses: the mirror is `mirror` if given, else `FIVEGRAM_MIRROR`; the cache
    /// root is `FIVEGRAM_CACHE`, else the platform cache directory joined with `fivegram`; the mirror URL is
    /// `FIVEGRAM_MIRROR_URL`. Empty variables count as unset.
    pub fn from_env(mirror: Option<PathBuf>) -> Self {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        Resolver {
            mirror: mirror.or_else(|| var(MIRROR_ENV).map(PathBuf::from)),
            cache: var(CACHE_ENV)
                .map(PathBuf::from)
                .or_else(|| dirs::cache_dir().map(|d| d.join("fivegram"))),
            url_base: var(MIRROR_URL_ENV).and_then(|v| v.into_string().ok()),
        }
    }

    /// Uses `dir` as the mirror (or none).
    pub fn with_mirror(mut self, dir: Option<PathBuf>) -> Self {
        self.mirror = dir;
        self
    }

    /// Uses `dir` as the cache root (downloads go under `dir/corpora/`), or none (no downloads).
    pub fn with_cache(mut self, dir: Option<PathBuf>) -> Self {
        self.cache = dir;
        self
    }

    /// Downloads every file from `<base>/<catalog path>` instead of its upstream URL (or not, with `None`).
    pub fn with_url_base(mut self, base: Option<String>) -> Self {
        self.url_base = base;
        self
    }

    /// The mirror directory, if any.
    pub fn mirror(&self) -> Option<&Path> {
        self.mirror.as_deref()
    }

    /// The cache root, if any (catalog files live under its `corpora/` subdirectory).
    pub fn cache(&self) -> Option<&Path> {
        self.cache.as_deref()
    }

    /// Where `file` is in the mirror, whether or not it exists.
    pub fn mirror_path(&self, file: &CatalogFile) -> Option<PathBuf> {
        self.mirror.as_ref().map(|m| join_catalog_path(m, &file.path))
    }

    /// Where `file` is (or would be) in the cache.
    pub fn cache_path(&self, file: &CatalogFile) -> Option<PathBuf> {
        self.cache
            .as_ref()
            .map(|c| join_catalog_path(&c.join("corpora"), &file.path))
    }

    /// The URL `file` is downloaded from: under the mirror URL if one is set, else its upstream URL.
    pub fn url(&self, file: &CatalogFile) -> Option<String> {
        match &self.url_base {
            Some(base) => Some(format!("{}/{}", base.trim_end_matches('/'), file.path)),
            None => file.url.clone(),
        }
    }

    /// Finds `file` in the mirror or the cache without touching the network or reading the file.
    pub fn locate(&self, file: &CatalogFile) -> Option<Located> {
        if let Some(path) = self.mirror_path(file)
            && path.is_file()
        {
            return Some(Located {
                path,
                origin: Origin::Mirror,
            });
        }
        let path = self.cache_path(file)?;
        let size = fs::metadata(&path).ok().filter(|m| m.is_file())?.len();
        (size == file.size).then_some(Located {
            path,
            origin: Origin::Cache,
        })
    }

    /// Finds `file` locally or downloads it into the cache.
    ///
    /// # Errors
    /// [`Error::Unavailable`] for a mirror-only file that is nowhere (or any file when there is no cache
    /// directory), [`Error::Download`] for network and HTTP errors and truncated bodies, [`Error::Checksum`]
    /// (whose `path` is the URL) when the downloaded bytes are not the catalog's, [`Error::Io`] for the cache
    /// directory.
    pub fn resolve(&self, file: &CatalogFile) -> Result<Located> {
        self.resolve_with_progress(file, &mut |_| {})
    }

    /// [`resolve`](Self::resolve), calling `progress` with the number of bytes of each chunk downloaded.
    ///
    /// # Errors
    /// As [`resolve`](Self::resolve).
    pub fn resolve_with_progress(&self, file: &CatalogFile, progress: &mut dyn FnMut(u64)) -> Result<Located> {
        if let Some(found) = self.locate(file) {
            return Ok(found);
        }
        let searched = self.searched();
        let Some(url) = self.url(file) else {
            let built_from = file.built_from.as_deref().unwrap_or("made for the mirror");
            return Err(Error::Unavailable {
                file: file.path.clone(),
                searched,
                hint: format!(
                    "this file exists only in the fivegram mirror (built from: {built_from}); pass --mirror DIR or \
                     set {MIRROR_ENV} to a copy of the mirror, or {MIRROR_URL_ENV} to an HTTP copy of it"
                ),
            });
        };
        let Some(dest) = self.cache_path(file) else {
            return Err(Error::Unavailable {
                file: file.path.clone(),
                searched,
                hint: format!("there is no cache directory to download {url} into; set {CACHE_ENV}"),
            });
        };
        download(&url, file, &dest, progress)?;
        Ok(Located {
            path: dest,
            origin: Origin::Downloaded,
        })
    }

    fn searched(&self) -> String {
        let mirror = match &self.mirror {
            Some(m) => format!("mirror {}", m.display()),
            None => format!("no mirror ({MIRROR_ENV} unset)"),
        };
        match &self.cache {
            Some(c) => format!("{mirror} and cache {}", c.join("corpora").display()),
            None => format!("{mirror}, no cache directory"),
        }
    }
}

/// Joins a `/`-separated catalog path onto a directory, component by component.
fn join_catalog_path(dir: &Path, path: &str) -> PathBuf {
    let mut out = dir.to_path_buf();
    out.extend(path.split('/'));
    out
}

/// Downloads `url` to `dest` through a temporary file in the same directory, checking size and sha256.
fn download(url: &str, file: &CatalogFile, dest: &Path, progress: &mut dyn FnMut(u64)) -> Result<()> {
    let failed = |message: String| Error::Download {
        url: url.to_string(),
        message,
    };
    let dir = dest.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{}.", file.file_name()))
        .suffix(".part")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;

    let agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .user_agent(concat!("fivegram/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent();
    let response = agent.get(url).call().map_err(|e| match e {
        ureq::Error::StatusCode(status) => failed(format!(
            "HTTP status {status}; the file is not (or no longer) at this address: check the catalog URL, or use \
             a mirror ({MIRROR_ENV})"
        )),
        other => failed(other.to_string()),
    })?;
    let mut body = response.into_body().into_reader();

    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; BUFFER];
    let mut received = 0u64;
    loop {
        let n = match body.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(failed(format!(
                    "connection failed after {received} of {} bytes: {e}",
                    file.size
                )));
            }
        };
        received += n as u64;
        if received > file.size {
            return Err(failed(format!(
                "the server sent more than the {} bytes the catalog records",
                file.size
            )));
        }
        hasher.update(&buffer[..n]);
        temp.write_all(&buffer[..n]).map_err(|e| Error::io(temp.path(), e))?;
        progress(n as u64);
    }
    if received != file.size {
        return Err(failed(format!(
            "the connection closed after {received} of {} bytes",
            file.size
        )));
    }
    let found = hex::encode(hasher.finalize());
    if found != file.sha256 {
        return Err(Error::Checksum {
            path: PathBuf::from(url),
            expected: file.sha256.clone(),
            found,
        });
    }
    temp.as_file().sync_all().map_err(|e| Error::io(temp.path(), e))?;
    temp.persist(dest).map_err(|e| Error::io(dest, e.error))?;
    Ok(())
}

/// The sha256 (lowercase hex) and size of a file, read in a streaming pass; `progress` gets the size of each
/// chunk read.
///
/// # Errors
/// [`Error::Io`] naming the file.
pub fn hash_file(path: &Path, progress: &mut dyn FnMut(u64)) -> Result<(String, u64)> {
    let mut input = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; BUFFER];
    let mut size = 0u64;
    loop {
        let n = match input.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(path, e)),
        };
        hasher.update(&buffer[..n]);
        size += n as u64;
        progress(n as u64);
    }
    Ok((hex::encode(hasher.finalize()), size))
}

/// Checks that the file at `path` is the catalog's `file`: first its size (cheap), then its sha256.
///
/// # Errors
/// [`Error::Size`] or [`Error::Checksum`] on a mismatch, [`Error::Io`] if it cannot be read.
pub fn verify_file(path: &Path, file: &CatalogFile, progress: &mut dyn FnMut(u64)) -> Result<()> {
    let size = fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
    if size != file.size {
        return Err(Error::Size {
            path: path.to_path_buf(),
            expected: file.size,
            found: size,
        });
    }
    let (found, read) = hash_file(path, progress)?;
    if read != file.size {
        // The file changed while it was read.
        return Err(Error::Size {
            path: path.to_path_buf(),
            expected: file.size,
            found: read,
        });
    }
    if found != file.sha256 {
        return Err(Error::Checksum {
            path: path.to_path_buf(),
            expected: file.sha256.clone(),
            found,
        });
    }
    Ok(())
}
