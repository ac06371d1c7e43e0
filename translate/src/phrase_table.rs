//! The compact phrase table: an `fst::Map` from source phrases to offsets into a payload file of scored
//! translation options, both memory-mapped.
//!
//! # Files
//! - `phrases.fst`: an [`fst::Map`] whose keys are source phrases (tokens joined by single spaces, in byte order)
//!   and whose values are byte offsets into the payload.
//! - `phrases.bin`: a 16-byte header (`FGPHRASE`, format version `u32`, kind `u32` = 1), the payload, and a
//!   32-byte footer (payload length `u64`, source phrases `u64`, options `u64`, CRC-32 of the payload `u32`,
//!   `FGPT`). The payload holds one record per source phrase: the option count (`u16`), then per option the
//!   target length (`u8`), the target word ids (`u32` each, into `target.vocab`), from version 2 the pair's
//!   packed word alignment (`u64`, see [`ScoredPair::alignment`]), four phrase scores and six reordering scores
//!   (`f32` each). All integers and floats are little-endian. Version 1 tables (no alignments) are still read;
//!   a model with a bilingual language model needs version 2.
//!
//! [`PhraseTable::open`] checks the header, the footer and the sizes without reading the payload;
//! [`PhraseTable::verify`] checks the CRC. Looking up all the spans of a sentence walks the FST once per start
//! position and stops as soon as no key continues the prefix ([`PhraseTable::spans`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use fst::raw::Output;

use crate::extract::{PHRASE_SCORES, REORDERING_SCORES, ScoredPair};
use crate::{Error, Result};

/// First bytes of `phrases.bin`.
pub const MAGIC: &[u8; 8] = b"FGPHRASE";
/// Last bytes of `phrases.bin`.
pub const END_MAGIC: &[u8; 4] = b"FGPT";
/// The newest payload format, which this build writes when options keep their alignments (else version 1).
pub const VERSION: u32 = 2;
/// The oldest payload format this build reads.
pub const OLDEST_VERSION: u32 = 1;
/// The kind tag of a phrase table payload (frozen).
pub const KIND_PHRASES: u32 = 1;
const HEADER: usize = 16;
const FOOTER: usize = 32;

/// Writes a phrase table: source phrases must come in strictly increasing byte order of their keys.
pub struct PhraseTableWriter {
    fst: fst::MapBuilder<Vec<u8>>,
    /// Whether options carry their word alignments (format version 2; version 1 without).
    alignments: bool,
    payload: Vec<u8>,
    sources: u64,
    options: u64,
}

impl std::fmt::Debug for PhraseTableWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhraseTableWriter")
            .field("sources", &self.sources)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Default for PhraseTableWriter {
    fn default() -> Self {
        PhraseTableWriter::new()
    }
}

impl PhraseTableWriter {
    /// An empty table without word alignments (format version 1, 8 bytes an option smaller).
    pub fn new() -> PhraseTableWriter {
        PhraseTableWriter {
            fst: fst::MapBuilder::memory(),
            alignments: false,
            payload: Vec::new(),
            sources: 0,
            options: 0,
        }
    }

    /// An empty table whose options keep their word alignments (format version 2), as a bilingual language
    /// model needs.
    pub fn with_alignments() -> PhraseTableWriter {
        PhraseTableWriter {
            alignments: true,
            ..PhraseTableWriter::new()
        }
    }

    /// Adds the options of one source phrase (`key`: its tokens joined by single spaces).
    pub fn add(&mut self, key: &str, options: &[ScoredPair]) -> Result<()> {
        let offset = self.payload.len() as u64;
        self.fst
            .insert(key, offset)
            .map_err(|e| Error::InvalidOption(format!("phrase table keys out of order at {key:?}: {e}")))?;
        let count = options.len().min(u16::MAX as usize);
        self.payload.extend_from_slice(&(count as u16).to_le_bytes());
        for option in &options[..count] {
            let len = option.target.len().min(u8::MAX as usize);
            self.payload.push(len as u8);
            for &id in &option.target[..len] {
                self.payload.extend_from_slice(&id.to_le_bytes());
            }
            if self.alignments {
                self.payload.extend_from_slice(&option.alignment.to_le_bytes());
            }
            for &s in option.scores.iter().chain(&option.reordering) {
                self.payload.extend_from_slice(&s.to_le_bytes());
            }
        }
        self.sources += 1;
        self.options += count as u64;
        Ok(())
    }

    /// Writes `phrases.fst` and `phrases.bin` into `dir`, each through a temporary file renamed when complete.
    pub fn finish(self, dir: &Path) -> Result<()> {
        let fst_bytes = self
            .fst
            .into_inner()
            .map_err(|e| Error::InvalidOption(format!("building the phrase FST: {e}")))?;
        let mut bin = Vec::with_capacity(HEADER + self.payload.len() + FOOTER);
        bin.extend_from_slice(MAGIC);
        let version = if self.alignments { VERSION } else { 1 };
        bin.extend_from_slice(&version.to_le_bytes());
        bin.extend_from_slice(&KIND_PHRASES.to_le_bytes());
        bin.extend_from_slice(&self.payload);
        bin.extend_from_slice(&(self.payload.len() as u64).to_le_bytes());
        bin.extend_from_slice(&self.sources.to_le_bytes());
        bin.extend_from_slice(&self.options.to_le_bytes());
        bin.extend_from_slice(&crc32fast::hash(&self.payload).to_le_bytes());
        bin.extend_from_slice(END_MAGIC);
        write_atomic(&dir.join("phrases.fst"), &fst_bytes)?;
        write_atomic(&dir.join("phrases.bin"), &bin)
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory, synced and renamed.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    builder.prefix(".fivegram-tmp-");
    // Readable by all, as files created normally are (within the umask), unlike `NamedTempFile`'s private default.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let mut tmp = builder.tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// The phrase table's files are mapped by the workspace's one memory-map helper (read-only, random-access advice,
/// empty files refused as truncated); see its safety contract: files are replaced by rename, never edited in place.
pub use fivegram_lm::mmap::MappedFile;

/// One translation option as read from the table, borrowing nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct TableOption {
    /// Target word ids (into `target.vocab`).
    pub target: Vec<u32>,
    /// ln φ(s|t), ln lex(s|t), ln φ(t|s), ln lex(t|s).
    pub scores: [f32; PHRASE_SCORES],
    /// Reordering log-probabilities: previous m, s, d; next m, s, d.
    pub reordering: [f32; REORDERING_SCORES],
    /// The packed word alignment inside the pair ([`ScoredPair::alignment`]); 0 in a version 1 table.
    pub alignment: u64,
}

/// A phrase table over any bytes: `Vec<u8>` in tests, [`MappedFile`] in production.
#[derive(Debug)]
pub struct PhraseTable<D: AsRef<[u8]>> {
    fst: fst::Map<D>,
    payload: D,
    path: PathBuf,
    version: u32,
    sources: u64,
    options: u64,
}

impl PhraseTable<MappedFile> {
    /// Maps `phrases.fst` and `phrases.bin` of `dir` and checks header, footer and sizes.
    pub fn open(dir: &Path) -> Result<PhraseTable<MappedFile>> {
        let fst_path = dir.join("phrases.fst");
        let fst_bytes = MappedFile::open(&fst_path)?;
        let bin_path = dir.join("phrases.bin");
        let bin = MappedFile::open(&bin_path)?;
        PhraseTable::from_parts(fst_bytes, &fst_path, bin, &bin_path)
    }
}

impl<D: AsRef<[u8]>> PhraseTable<D> {
    /// Wraps the bytes of the two files; the paths only name them in errors.
    pub fn from_parts(fst_bytes: D, fst_path: &Path, bin: D, bin_path: &Path) -> Result<PhraseTable<D>> {
        let corrupt = |path: &Path, what: String| Error::Corrupt {
            path: path.to_path_buf(),
            what,
        };
        let fst = fst::Map::new(fst_bytes).map_err(|e| corrupt(fst_path, format!("not a valid FST: {e}")))?;
        let bytes = bin.as_ref();
        if bytes.len() < HEADER + FOOTER {
            return Err(corrupt(
                bin_path,
                format!("{} bytes, too short for header and footer", bytes.len()),
            ));
        }
        if &bytes[..8] != MAGIC {
            return Err(corrupt(bin_path, "not a fivegram phrase table (bad magic)".into()));
        }
        let version = u32_at(bytes, 8);
        if !(OLDEST_VERSION..=VERSION).contains(&version) {
            return Err(Error::Version {
                path: bin_path.to_path_buf(),
                found: version,
                oldest: OLDEST_VERSION,
                newest: VERSION,
            });
        }
        if u32_at(bytes, 12) != KIND_PHRASES {
            return Err(corrupt(
                bin_path,
                format!("kind {} is not a phrase table", u32_at(bytes, 12)),
            ));
        }
        let footer = bytes.len() - FOOTER;
        if &bytes[bytes.len() - 4..] != END_MAGIC {
            return Err(corrupt(
                bin_path,
                "bad footer magic (truncated or incomplete file)".into(),
            ));
        }
        let payload_len = u64_at(bytes, footer);
        if payload_len != (footer - HEADER) as u64 {
            return Err(corrupt(
                bin_path,
                format!(
                    "footer says {payload_len} payload bytes, the file holds {}",
                    footer - HEADER
                ),
            ));
        }
        let sources = u64_at(bytes, footer + 8);
        let options = u64_at(bytes, footer + 16);
        if sources != fst.len() as u64 {
            return Err(corrupt(
                bin_path,
                format!(
                    "{sources} source phrases in the payload but {} in {}",
                    fst.len(),
                    fst_path.display()
                ),
            ));
        }
        Ok(PhraseTable {
            fst,
            payload: bin,
            path: bin_path.to_path_buf(),
            version,
            sources,
            options,
        })
    }

    /// Whether the options carry their word alignments (format version 2 and later).
    pub fn has_alignments(&self) -> bool {
        self.version >= 2
    }

    /// The number of source phrases.
    pub fn sources(&self) -> u64 {
        self.sources
    }

    /// The number of translation options.
    pub fn options(&self) -> u64 {
        self.options
    }

    /// Recomputes the payload's CRC-32 and compares it with the footer's.
    pub fn verify(&self) -> Result<()> {
        let bytes = self.payload.as_ref();
        let footer = bytes.len() - FOOTER;
        let stored = u32_at(bytes, footer + 24);
        let computed = crc32fast::hash(&bytes[HEADER..footer]);
        if stored != computed {
            return Err(Error::Checksum {
                path: self.path.clone(),
                what: format!("payload CRC-32 {computed:08x}, footer says {stored:08x}"),
            });
        }
        Ok(())
    }

    /// Every span `[start, end)` of `words` (at most `max_len` words) that is a source phrase in the table,
    /// with its payload offset.
    pub fn spans(&self, words: &[&str], max_len: usize) -> Vec<(usize, usize, u64)> {
        let fst = self.fst.as_fst();
        let mut found = Vec::new();
        for start in 0..words.len() {
            let mut node = fst.root();
            let mut out = Output::zero();
            'phrase: for (end, word) in words.iter().enumerate().take(start + max_len).skip(start) {
                let word = word.as_bytes();
                let sep: &[u8] = if end > start { b" " } else { b"" };
                for &b in sep.iter().chain(word) {
                    match node.find_input(b) {
                        Some(i) => {
                            let t = node.transition(i);
                            out = out.cat(t.out);
                            node = fst.node(t.addr);
                        }
                        None => break 'phrase,
                    }
                }
                if node.is_final() {
                    found.push((start, end + 1, out.cat(node.final_output()).value()));
                }
            }
        }
        found
    }

    /// The payload offset of one source phrase (tokens joined by spaces).
    pub fn get(&self, key: &str) -> Option<u64> {
        self.fst.get(key)
    }

    /// The options stored at `offset` (from [`spans`](Self::spans) or [`get`](Self::get)).
    pub fn options_at(&self, offset: u64) -> Result<Vec<TableOption>> {
        let bytes = self.payload.as_ref();
        let end = bytes.len() - FOOTER;
        let corrupt = |what: String| Error::Corrupt {
            path: self.path.clone(),
            what,
        };
        let mut pos = HEADER + usize::try_from(offset).map_err(|_| corrupt(format!("offset {offset}")))?;
        let take = |pos: &mut usize, n: usize| -> Result<&[u8]> {
            if *pos + n > end {
                return Err(corrupt(format!(
                    "record at payload offset {offset} runs past the payload"
                )));
            }
            let s = &bytes[*pos..*pos + n];
            *pos += n;
            Ok(s)
        };
        let count = u16::from_le_bytes(take(&mut pos, 2)?.try_into().unwrap_or([0; 2]));
        let mut options = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let len = take(&mut pos, 1)?[0] as usize;
            let ids = take(&mut pos, 4 * len)?;
            let target = ids
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            let alignment = if self.version >= 2 {
                let b = take(&mut pos, 8)?;
                u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
            } else {
                0
            };
            let floats = take(&mut pos, 4 * (PHRASE_SCORES + REORDERING_SCORES))?;
            let mut values = floats
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]));
            let mut scores = [0.0; PHRASE_SCORES];
            let mut reordering = [0.0; REORDERING_SCORES];
            for s in scores.iter_mut().chain(reordering.iter_mut()) {
                *s = values.next().unwrap_or(0.0);
                if !s.is_finite() {
                    return Err(corrupt(format!(
                        "non-finite score in the record at payload offset {offset}"
                    )));
                }
            }
            options.push(TableOption {
                target,
                scores,
                reordering,
                alignment,
            });
        }
        Ok(options)
    }
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(target: Vec<u32>, p: f32) -> ScoredPair {
        let alignment = 0x0201 ^ target.len() as u64;
        ScoredPair {
            target,
            scores: [p, -1.0, -2.0, -3.0],
            reordering: [-0.1, -2.0, -3.0, -0.2, -2.5, -1.5],
            alignment,
        }
    }

    #[test]
    fn alignments_are_kept_only_when_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let mut sizes = Vec::new();
        for (writer, with) in [
            (PhraseTableWriter::new(), false),
            (PhraseTableWriter::with_alignments(), true),
        ] {
            let mut w = writer;
            w.add("a", &[pair(vec![1, 2], -0.5)]).unwrap();
            w.finish(dir.path()).unwrap();
            let table = PhraseTable::open(dir.path()).unwrap();
            table.verify().unwrap();
            assert_eq!(table.has_alignments(), with);
            let option = &table.options_at(table.get("a").unwrap()).unwrap()[0];
            assert_eq!(option.target, [1, 2]);
            assert_eq!(option.scores[0], -0.5);
            assert_eq!(option.alignment, if with { 0x0203 } else { 0 });
            sizes.push(std::fs::metadata(dir.path().join("phrases.bin")).unwrap().len());
        }
        assert_eq!(sizes[1], sizes[0] + 8);
    }

    #[test]
    fn round_trip_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = PhraseTableWriter::with_alignments();
        w.add("a", &[pair(vec![1], -0.5), pair(vec![2, 3], -1.5)]).unwrap();
        w.add("a b", &[pair(vec![4], -0.1)]).unwrap();
        w.add("b", &[pair(vec![5], -0.2)]).unwrap();
        assert!(w.add("a", &[]).is_err(), "keys out of order are refused");
        w.finish(dir.path()).unwrap();
        let table = PhraseTable::open(dir.path()).unwrap();
        table.verify().unwrap();
        assert_eq!((table.sources(), table.options()), (3, 4));
        let spans: Vec<(usize, usize)> = table.spans(&["a", "b", "c"], 7).iter().map(|s| (s.0, s.1)).collect();
        assert_eq!(spans, [(0, 1), (0, 2), (1, 2)]);
        let options = table.options_at(table.get("a").unwrap()).unwrap();
        assert_eq!(options.len(), 2);
        assert_eq!(options[1].target, [2, 3]);
        assert_eq!(options[1].scores[0], -1.5);
        assert_eq!(options[0].reordering[5], -1.5);
        assert!(table.has_alignments());
        assert_eq!((options[0].alignment, options[1].alignment), (0x0200, 0x0203));

        // A flipped payload byte fails verify; a truncated file fails open.
        let bin = dir.path().join("phrases.bin");
        let mut bytes = std::fs::read(&bin).unwrap();
        bytes[HEADER + 3] ^= 0xff;
        std::fs::write(&bin, &bytes).unwrap();
        let table = PhraseTable::open(dir.path()).unwrap();
        assert!(matches!(table.verify(), Err(Error::Checksum { .. })));
        std::fs::write(&bin, &bytes[..bytes.len() - 5]).unwrap();
        assert!(matches!(PhraseTable::open(dir.path()), Err(Error::Corrupt { .. })));
        let fst_path = dir.path().join("phrases.fst");
        std::fs::write(&fst_path, b"garbage").unwrap();
        assert!(matches!(PhraseTable::open(dir.path()), Err(Error::Corrupt { .. })));
    }
}
