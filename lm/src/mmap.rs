//! Read-only memory maps of whole files: the one place in the workspace where files are mapped (the n-gram
//! store's model files; other crates' mmap-backed tables, e.g. a phrase table, can use it too, since their error
//! types convert from [`crate::Error`]).
//!
//! ```no_run
//! use fivegram_lm::mmap::{Access, MappedFile};
//! use std::path::Path;
//!
//! let table = MappedFile::open(Path::new("table.bin"))?; // random access, the default
//! let stream = MappedFile::open_with(Path::new("payload.bin"), Access::Sequential)?;
//! let bytes: &[u8] = table.as_ref();
//! # Ok::<(), fivegram_lm::Error>(())
//! ```
//!
//! # Safety contract
//! A map hands out `&[u8]` over the file's pages, so the file must not be modified or truncated while it is
//! mapped (a truncated file faults on access). Writers in this workspace never write a mapped file in place: they
//! write a temporary file in the same directory and rename it over the old name, which creates a new inode, so
//! open maps keep the old, complete file. Editing such files in place while a reader has them open is
//! unsupported.

use std::fs::File;
use std::path::Path;

use crate::{Error, Result};

/// How a map will be read, passed to the kernel as advice (`madvise`) so it reads ahead only where it pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Access {
    /// Scattered lookups (hash tables, tries, search structures): no read-ahead around each touched page, so
    /// resident memory grows only with the pages lookups touch.
    #[default]
    Random,
    /// Scattered lookups over a large file where every lookup risks a TLB miss (the hashed store's tables):
    /// [`Random`](Access::Random), and the map is also advised for transparent huge pages (`MADV_HUGEPAGE`), so
    /// that a kernel whose file system caches files in large folios (Linux 6.x on ext4, XFS, …) maps 2 MB at a
    /// time: far fewer page-table walks per lookup, and resident memory grows in 2 MB steps. Pages the page
    /// cache already holds in small folios (a file just written or read by other means) stay small until the
    /// cache drops them.
    RandomHuge,
    /// Front-to-back scans: aggressive read-ahead.
    Sequential,
    /// The kernel's default read-ahead.
    Normal,
}

/// A read-only memory map of a whole file.
///
/// Pages are read from disk when first touched, so resident memory grows only with what readers touch. Readers
/// generic over `D: AsRef<[u8]>` take a `MappedFile` in production and e.g. a `Vec<u8>` in tests.
#[derive(Debug)]
pub struct MappedFile(memmap2::Mmap);

impl MappedFile {
    /// Maps the file at `path` for random access. An empty file is reported as [`Error::Corrupt`] (truncated):
    /// an empty map is not portable, and no file worth mapping is empty.
    pub fn open(path: &Path) -> Result<MappedFile> {
        MappedFile::open_with(path, Access::Random)
    }

    /// Maps the file at `path`, advising the kernel of the access pattern (advice is a hint; where the
    /// platform does not take it, it is ignored).
    pub fn open_with(path: &Path, access: Access) -> Result<MappedFile> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if len == 0 {
            return Err(Error::Corrupt {
                path: path.to_path_buf(),
                what: "empty file (truncated)".into(),
            });
        }
        // SAFETY: memmap2's contract is that the file is not modified or truncated while it is mapped: the bytes
        // behind the `&[u8]` we hand out must not change, and a truncated file would fault on access. See the
        // module documentation: files are replaced by rename, never written in place.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        #[cfg(unix)]
        {
            let advice = match access {
                Access::Random | Access::RandomHuge => Some(memmap2::Advice::Random),
                Access::Sequential => Some(memmap2::Advice::Sequential),
                Access::Normal => None,
            };
            // Advice is only a hint: a kernel that refuses it leaves the map fully usable.
            if let Some(advice) = advice {
                let _ = map.advise(advice);
            }
            #[cfg(target_os = "linux")]
            if access == Access::RandomHuge {
                let _ = map.advise(memmap2::Advice::HugePage);
            }
        }
        #[cfg(not(unix))]
        let _ = access;
        Ok(MappedFile(map))
    }

    /// The file's length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: empty files are refused at open.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl AsRef<[u8]> for MappedFile {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_a_file_and_refuses_empty_and_missing_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bytes");
        std::fs::write(&path, b"fivegram").unwrap();
        for access in [Access::Random, Access::RandomHuge, Access::Sequential, Access::Normal] {
            let map = MappedFile::open_with(&path, access).unwrap();
            assert_eq!(map.as_ref(), b"fivegram");
            assert_eq!(map.len(), 8);
        }
        std::fs::write(&path, b"").unwrap();
        assert!(matches!(MappedFile::open(&path), Err(Error::Corrupt { .. })));
        let missing = dir.path().join("missing");
        let err = MappedFile::open(&missing).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }

    #[test]
    fn a_replaced_file_leaves_an_open_map_intact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model");
        std::fs::write(&path, b"old model").unwrap();
        let map = MappedFile::open(&path).unwrap();
        // Replace by rename, as every writer in the workspace does.
        let new = dir.path().join("model.tmp");
        std::fs::write(&new, b"a new, longer model").unwrap();
        std::fs::rename(&new, &path).unwrap();
        assert_eq!(map.as_ref(), b"old model");
        assert_eq!(MappedFile::open(&path).unwrap().as_ref(), b"a new, longer model");
    }
}
