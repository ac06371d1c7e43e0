//! Parallel corpora: two line-aligned files (Multi30k `train.en` / `train.de`), or one tab-separated file with
//! a sentence pair per line (Tatoeba's `English<TAB>German[<TAB>attribution]`).

use std::path::Path;

use super::{Decoding, TextReader};
use crate::{Error, Result};

/// One aligned sentence pair.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SentencePair {
    /// 1-based line number (the same in both files, or the line of the TSV file).
    pub line: u64,
    /// Source-side sentence.
    pub src: String,
    /// Target-side sentence.
    pub tgt: String,
}

enum Layout {
    /// Two files read in lockstep.
    Files { src: TextReader, tgt: TextReader },
    /// One TSV file; `src` and `tgt` are 0-based column indexes.
    Tsv {
        reader: TextReader,
        src: usize,
        tgt: usize,
        buf: String,
    },
}

/// Streams the sentence pairs of a parallel corpus, one pair at a time.
///
/// With two files, a difference in line counts is reported as [`Error::ParallelMismatch`] naming both files and
/// the first line one of them lacks; with a TSV file, a line without a tab (or with fewer columns than asked for)
/// is an [`Error::Format`] naming the file and line. Extra TSV columns (Tatoeba's attribution) are ignored.
/// After a mismatch the reader is exhausted; after a per-line error (invalid UTF-8, a malformed TSV line) it
/// goes on with the next line, and both files stay aligned.
pub struct ParallelReader {
    layout: Layout,
    line: u64,
    finished: bool,
}

impl std::fmt::Debug for ParallelReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("ParallelReader");
        match &self.layout {
            Layout::Files { src, tgt } => d.field("src", &src.path()).field("tgt", &tgt.path()),
            Layout::Tsv { reader, src, tgt, .. } => d
                .field("tsv", &reader.path())
                .field("src_column", src)
                .field("tgt_column", tgt),
        };
        d.field("line", &self.line).finish()
    }
}

impl ParallelReader {
    /// Opens two line-aligned files (plain or gzip).
    pub fn open(src: impl AsRef<Path>, tgt: impl AsRef<Path>, decoding: Decoding) -> Result<Self> {
        Ok(Self::from_readers(
            TextReader::open(src, decoding)?,
            TextReader::open(tgt, decoding)?,
        ))
    }

    /// Reads two already opened line-aligned readers in lockstep.
    pub fn from_readers(src: TextReader, tgt: TextReader) -> Self {
        ParallelReader {
            layout: Layout::Files { src, tgt },
            line: 0,
            finished: false,
        }
    }

    /// Opens a tab-separated file (plain or gzip) whose first column is the source and second the target.
    pub fn open_tsv(path: impl AsRef<Path>, decoding: Decoding) -> Result<Self> {
        Ok(Self::from_tsv_reader(TextReader::open(path, decoding)?))
    }

    /// Reads a tab-separated stream whose first column is the source and second the target.
    pub fn from_tsv_reader(reader: TextReader) -> Self {
        ParallelReader {
            layout: Layout::Tsv {
                reader,
                src: 0,
                tgt: 1,
                buf: String::new(),
            },
            line: 0,
            finished: false,
        }
    }

    /// For a TSV reader, takes the source from column `src` and the target from column `tgt` (0-based; they may
    /// be equal, or in either order). No effect on a two-file reader.
    pub fn with_columns(mut self, src: usize, tgt: usize) -> Self {
        if let Layout::Tsv { src: s, tgt: t, .. } = &mut self.layout {
            *s = src;
            *t = tgt;
        }
        self
    }

    /// The number of the line last read (1-based; 0 before the first).
    pub fn line_number(&self) -> u64 {
        self.line
    }

    /// Reads the next pair into `src` and `tgt` (both cleared first). Returns `Ok(false)` at the end.
    pub fn read_pair(&mut self, src: &mut String, tgt: &mut String) -> Result<bool> {
        src.clear();
        tgt.clear();
        if self.finished {
            return Ok(false);
        }
        match &mut self.layout {
            Layout::Files {
                src: src_reader,
                tgt: tgt_reader,
            } => {
                // Read both sides before looking at either result, so a bad line on one side does not shift the
                // other.
                let a = src_reader.read_line(src);
                let b = tgt_reader.read_line(tgt);
                let (more_src, more_tgt) = match (a, b) {
                    (Err(e), _) | (_, Err(e)) => {
                        self.line += 1;
                        return Err(e);
                    }
                    (Ok(a), Ok(b)) => (a, b),
                };
                match (more_src, more_tgt) {
                    (true, true) => {
                        self.line += 1;
                        Ok(true)
                    }
                    (false, false) => {
                        self.finished = true;
                        Ok(false)
                    }
                    (more_src, _) => {
                        self.finished = true;
                        let (shorter, longer) = if more_src {
                            (tgt_reader.path(), src_reader.path())
                        } else {
                            (src_reader.path(), tgt_reader.path())
                        };
                        Err(Error::ParallelMismatch {
                            shorter: shorter.to_path_buf(),
                            longer: longer.to_path_buf(),
                            line: self.line + 1,
                        })
                    }
                }
            }
            Layout::Tsv {
                reader,
                src: src_col,
                tgt: tgt_col,
                buf,
            } => {
                if !reader.read_line(buf)? {
                    self.finished = true;
                    return Ok(false);
                }
                self.line = reader.line_number();
                if !buf.contains('\t') {
                    return Err(Error::Format {
                        path: reader.path().to_path_buf(),
                        line: self.line,
                        message: "no tab: expected `source<TAB>target` (further columns are ignored)".into(),
                    });
                }
                let mut found = 0;
                for (i, field) in buf.split('\t').enumerate() {
                    if i == *src_col {
                        src.push_str(field);
                        found += 1;
                    }
                    if i == *tgt_col {
                        tgt.push_str(field);
                        found += 1;
                    }
                    if found == 2 {
                        return Ok(true);
                    }
                }
                let columns = buf.split('\t').count();
                src.clear();
                tgt.clear();
                Err(Error::Format {
                    path: reader.path().to_path_buf(),
                    line: self.line,
                    message: format!(
                        "{columns} tab-separated columns, but column {} is needed",
                        (*src_col).max(*tgt_col) + 1
                    ),
                })
            }
        }
    }
}

impl Iterator for ParallelReader {
    type Item = Result<SentencePair>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut pair = SentencePair::default();
        match self.read_pair(&mut pair.src, &mut pair.tgt) {
            Ok(true) => {
                pair.line = self.line;
                Some(Ok(pair))
            }
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

impl std::iter::FusedIterator for ParallelReader {}
