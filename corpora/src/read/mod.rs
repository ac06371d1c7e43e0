//! Streaming readers: every corpus format the project reads, one record at a time, never loading a whole file.
//!
//! - [`TextReader`]: plain or gzip text (gzip is recognised by its magic bytes, not its name), one line at a time
//!   without its terminator (`\n` or `\r\n`), counting lines; invalid UTF-8 is [`Error::Utf8`] naming file and
//!   line unless [`Decoding::Lossy`] was asked for. The other readers are built on it.
//! - [`ParallelReader`]: sentence pairs from two line-aligned files or one TSV file (Tatoeba).
//! - [`MisspellingReader`]: (target, misspelling) pairs from Norvig's or Mitton's spelling-error lists.
//! - [`PtbReader`]: token vectors from whitespace-tokenized text (Penn Treebank, WikiText).
//! - [`SentenceReader`]: sentences from paragraph-per-line text, through the
//!   [`SentenceSplitter`](crate::tokenize::SentenceSplitter).
//!
//! Every reader offers an iterator of `Result<record>` and reports errors with the file and 1-based line.

mod misspell;
mod parallel;
mod ptb;
mod sentences;

pub use misspell::{Misspelling, MisspellingFormat, MisspellingReader};
pub use parallel::{ParallelReader, SentencePair};
pub use ptb::{PTB_NUMBER, PTB_UNK, PtbReader, TokenLine};
pub use sentences::{Sentence, SentenceReader};

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::{Error, Result};

/// What to do with bytes that are not valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Decoding {
    /// Invalid UTF-8 is an error naming the file and line.
    #[default]
    Strict,
    /// Invalid sequences are replaced by U+FFFD.
    Lossy,
}

/// A line-at-a-time reader over a plain or gzip-compressed text file.
pub struct TextReader {
    path: PathBuf,
    inner: Box<dyn BufRead + Send>,
    line: u64,
    decoding: Decoding,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for TextReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextReader")
            .field("path", &self.path)
            .field("line", &self.line)
            .field("decoding", &self.decoding)
            .finish_non_exhaustive()
    }
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

impl TextReader {
    /// Opens `path`, decompressing on the fly when it starts with the gzip magic.
    pub fn open(path: impl AsRef<Path>, decoding: Decoding) -> Result<Self> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let mut buffered = BufReader::with_capacity(1 << 16, file);
        let head = buffered.fill_buf().map_err(|e| Error::io(path, e))?;
        let inner: Box<dyn BufRead + Send> = if head.starts_with(&GZIP_MAGIC) {
            Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(buffered)))
        } else {
            Box::new(buffered)
        };
        Ok(Self::from_reader(path, inner, decoding))
    }

    /// Wraps any buffered reader; `path` is only used in error messages (e.g. `<stdin>`).
    pub fn from_reader(path: impl Into<PathBuf>, inner: Box<dyn BufRead + Send>, decoding: Decoding) -> Self {
        TextReader {
            path: path.into(),
            inner,
            line: 0,
            decoding,
            bytes: Vec::new(),
        }
    }

    /// Wraps standard input.
    pub fn stdin(decoding: Decoding) -> Self {
        Self::from_reader("<stdin>", Box::new(BufReader::new(io::stdin())), decoding)
    }

    /// The file this reader reads (for error messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The number of the line last returned (1-based; 0 before the first).
    pub fn line_number(&self) -> u64 {
        self.line
    }

    /// Reads the next line into `buf` (cleared first), without its `\n` or `\r\n`.
    /// Returns `Ok(false)` at the end of the file.
    pub fn read_line(&mut self, buf: &mut String) -> Result<bool> {
        buf.clear();
        self.bytes.clear();
        let n = self
            .inner
            .read_until(b'\n', &mut self.bytes)
            .map_err(|e| Error::io(&self.path, e))?;
        if n == 0 {
            return Ok(false);
        }
        self.line += 1;
        if self.bytes.last() == Some(&b'\n') {
            self.bytes.pop();
            if self.bytes.last() == Some(&b'\r') {
                self.bytes.pop();
            }
        }
        match std::str::from_utf8(&self.bytes) {
            Ok(s) => buf.push_str(s),
            Err(e) => match self.decoding {
                Decoding::Strict => {
                    return Err(Error::Utf8 {
                        path: self.path.clone(),
                        line: self.line,
                        offset: e.valid_up_to(),
                    });
                }
                Decoding::Lossy => buf.push_str(&String::from_utf8_lossy(&self.bytes)),
            },
        }
        Ok(true)
    }

    /// Reads the rest of the input as raw bytes (for checksums of decompressed content).
    pub fn read_to_end_bytes(&mut self, out: &mut Vec<u8>) -> Result<usize> {
        self.inner.read_to_end(out).map_err(|e| Error::io(&self.path, e))
    }
}

/// One line of a text file with its 1-based number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number.
    pub number: u64,
    /// The line without its terminator.
    pub text: String,
}

impl Iterator for TextReader {
    type Item = Result<Line>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut text = String::new();
        match self.read_line(&mut text) {
            Ok(true) => Some(Ok(Line {
                number: self.line,
                text,
            })),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lines(bytes: &[u8], decoding: Decoding) -> Vec<Result<Line>> {
        TextReader::from_reader("mem.txt", Box::new(io::Cursor::new(bytes.to_vec())), decoding).collect()
    }

    #[test]
    fn strips_terminators_and_counts_lines() {
        let got: Vec<Line> = lines(b"a b\r\n\nc", Decoding::Strict)
            .into_iter()
            .collect::<Result<_>>()
            .unwrap();
        let texts: Vec<&str> = got.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["a b", "", "c"]);
        assert_eq!(got[2].number, 3);
    }

    #[test]
    fn invalid_utf8_names_file_and_line() {
        let got = lines(b"ok\nbad \xff here\n", Decoding::Strict);
        assert!(got[0].is_ok());
        let err = got[1].as_ref().unwrap_err().to_string();
        assert!(err.contains("mem.txt:2"), "{err}");
        assert!(err.contains("offset 4"), "{err}");
    }

    #[test]
    fn lossy_replaces_bad_bytes() {
        let got = lines(b"bad \xff\n", Decoding::Lossy);
        assert_eq!(got[0].as_ref().unwrap().text, "bad \u{fffd}");
    }

    #[test]
    fn reads_gzip_by_magic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.txt");
        let mut enc = flate2::write::GzEncoder::new(File::create(&path).unwrap(), flate2::Compression::fast());
        enc.write_all(b"one\ntwo\n").unwrap();
        enc.finish().unwrap();
        let texts: Vec<String> = TextReader::open(&path, Decoding::Strict)
            .unwrap()
            .map(|l| l.unwrap().text)
            .collect();
        assert_eq!(texts, ["one", "two"]);
    }

    #[test]
    fn missing_file_names_path() {
        let err = TextReader::open("/nonexistent/corpus.txt", Decoding::Strict).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/corpus.txt"));
    }
}
