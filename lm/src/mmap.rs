//! The one place where model files are mapped into memory.

use std::fs::File;
use std::path::Path;

use crate::{Error, Result};

/// A read-only memory map of a whole model file.
///
/// Pages are read from disk when a lookup first touches them, so resident memory grows only with what queries
/// touch; the map is advised for random access so that the kernel does not read ahead around each lookup.
#[derive(Debug)]
pub struct MappedFile(memmap2::Mmap);

impl MappedFile {
    /// Maps the file at `path`. An empty file is reported as a truncated model file (an empty map is not
    /// portable, and no model file is empty).
    pub fn open(path: &Path) -> Result<MappedFile> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if len == 0 {
            return Err(Error::Corrupt {
                path: path.to_path_buf(),
                what: "empty file (truncated)".into(),
            });
        }
        // SAFETY: memmap2's contract is that the file is not modified or truncated while it is mapped: the bytes
        // behind the `&[u8]` we hand out must not change, and a truncated file would fault on access. fivegram
        // never writes a model file in place: the builder writes every file under a temporary name and renames it
        // into place, so a rebuild creates new inodes and existing maps keep the old, complete files. Editing model
        // files in place while a model is open is unsupported (documented on `Store::open`).
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::Random);
        Ok(MappedFile(map))
    }
}

impl AsRef<[u8]> for MappedFile {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}
