//! Sentences out of paragraph-per-line text: a [`TextReader`] whose lines go through a [`SentenceSplitter`].

use std::collections::VecDeque;

use super::TextReader;
use crate::Result;
use crate::tokenize::{Lang, SentenceSplitter};

/// One sentence with the line (paragraph) it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    /// 1-based line number of the paragraph.
    pub line: u64,
    /// The sentence, without surrounding whitespace.
    pub text: String,
}

/// Streams the sentences of a paragraph-per-line file; blank lines yield nothing.
#[derive(Debug)]
pub struct SentenceReader {
    reader: TextReader,
    splitter: SentenceSplitter,
    buf: String,
    pending: VecDeque<Sentence>,
}

impl SentenceReader {
    /// Splits the lines of `reader` into sentences with the conventions of `lang`.
    pub fn new(reader: TextReader, lang: Lang) -> Self {
        SentenceReader {
            reader,
            splitter: SentenceSplitter::new(lang),
            buf: String::new(),
            pending: VecDeque::new(),
        }
    }

    /// The number of the line last read (1-based; 0 before the first).
    pub fn line_number(&self) -> u64 {
        self.reader.line_number()
    }
}

impl Iterator for SentenceReader {
    type Item = Result<Sentence>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(sentence) = self.pending.pop_front() {
                return Some(Ok(sentence));
            }
            match self.reader.read_line(&mut self.buf) {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
            let line = self.reader.line_number();
            self.pending
                .extend(self.splitter.split(&self.buf).into_iter().map(|s| Sentence {
                    line,
                    text: s.to_string(),
                }));
        }
    }
}
