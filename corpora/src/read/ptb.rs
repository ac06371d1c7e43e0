//! Pre-tokenized text in the Penn Treebank language-modelling layout (Mikolov's `ptb.*.txt`): one sentence per
//! line, tokens separated by spaces, with a leading and a trailing space, `<unk>` for rare words and `N` for
//! numbers. Any whitespace-tokenized corpus (WikiText's `.tokens`) reads the same way.

use std::path::Path;

use super::{Decoding, TextReader};
use crate::Result;

/// The unknown-word token of the PTB files.
pub const PTB_UNK: &str = "<unk>";
/// The token that stands for every number in the PTB files.
pub const PTB_NUMBER: &str = "N";

/// One sentence of a pre-tokenized file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TokenLine {
    /// 1-based line number.
    pub line: u64,
    /// The tokens, exactly as they stand in the file (no lowercasing, `<unk>` and `N` kept).
    pub tokens: Vec<String>,
}

/// Streams the sentences of a pre-tokenized file as token vectors.
///
/// Leading, trailing and repeated whitespace is ignored; an empty line yields an empty sentence (callers that
/// want to skip them can filter on `tokens.is_empty()`).
#[derive(Debug)]
pub struct PtbReader {
    reader: TextReader,
    buf: String,
}

impl PtbReader {
    /// Opens a file (plain or gzip); invalid UTF-8 is an error naming file and line.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self::new(TextReader::open(path, Decoding::Strict)?))
    }

    /// Reads from an already opened text reader.
    pub fn new(reader: TextReader) -> Self {
        PtbReader {
            reader,
            buf: String::new(),
        }
    }

    /// The number of the line last read (1-based; 0 before the first).
    pub fn line_number(&self) -> u64 {
        self.reader.line_number()
    }

    /// Reads the next sentence's tokens into `tokens` (cleared first). Returns `Ok(false)` at the end.
    pub fn read_sentence(&mut self, tokens: &mut Vec<String>) -> Result<bool> {
        tokens.clear();
        if !self.reader.read_line(&mut self.buf)? {
            return Ok(false);
        }
        tokens.extend(self.buf.split_whitespace().map(str::to_string));
        Ok(true)
    }
}

impl Iterator for PtbReader {
    type Item = Result<TokenLine>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut tokens = Vec::new();
        match self.read_sentence(&mut tokens) {
            Ok(true) => Some(Ok(TokenLine {
                line: self.line_number(),
                tokens,
            })),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}
