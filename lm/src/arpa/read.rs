//! A streaming ARPA reader that validates as it goes.
//!
//! [`ArpaReader`] reads the `\data\` header (the number of n-grams of each order), then hands out the entries of
//! each `\N-grams:` section in file order, and finally checks the `\end\` marker. Nothing but the current line is
//! held in memory, so multi-gigabyte files stream; [`read_all`] collects everything into an [`Arpa`] for small
//! models and tests. Gzip input is recognised by its magic bytes.
//!
//! ```no_run
//! use fivegram_lm::arpa::read::{ArpaReader, Entry};
//!
//! let mut reader = ArpaReader::open("model.arpa.gz")?;
//! println!("order {}, counts {:?}", reader.order(), reader.counts());
//! let mut entry = Entry::default();
//! while reader.read_entry(&mut entry)? {
//!     // entry.order, entry.words, entry.prob (log10), entry.backoff
//! }
//! # Ok::<(), fivegram_lm::Error>(())
//! ```
//!
//! # What is checked
//! Every problem is an [`Error::Format`] naming the file and the 1-based line (invalid UTF-8 is a corpus error
//! that also names both):
//! - the file starts (after optional blank lines) with `\data\`, followed by `ngram N=COUNT` lines for
//!   N = 1, 2, … in order (at most [`MAX_ARPA_ORDER`]);
//! - the sections `\1-grams:` … `\N-grams:` come in order, each with exactly the number of entries the header
//!   announced, and the file ends with `\end\` (only blank lines may follow; a truncated file is an error);
//! - each entry is `log10prob <TAB> w1 … wN [<TAB> backoff]` with exactly N words (fields may be separated by
//!   any run of spaces or tabs); the highest order carries no backoff, lower orders may omit it (meaning 0).
//!
//! # Numbers
//! Probabilities are log10 values parsed to the nearest `f32` (as KenLM stores them). A probability must be
//! `<= 0` (a probability above one is an error, where KenLM merely warns) and either finite or `-inf`: SRILM
//! writes `-inf` for zero-probability entries and `-99` for `<s>`; lmplz writes `0` for `<s>`. Both spellings are
//! accepted as they stand, since `<s>` is never predicted. Backoffs must be finite (they may be positive). `nan`
//! and `+inf` are always errors.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use fivegram_corpora::read::{Decoding, TextReader};

use crate::{Error, Result};

/// The highest n-gram order the reader accepts in a header (far above anything useful; it bounds memory).
pub const MAX_ARPA_ORDER: usize = 255;

/// One n-gram entry of an ARPA file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Entry {
    /// The n-gram order (number of words), 1-based.
    pub order: usize,
    /// The words, oldest first; `words.len() == order`.
    pub words: Vec<String>,
    /// log10 probability of the last word given the others (`f32::NEG_INFINITY` for `-inf`).
    pub prob: f32,
    /// log10 back-off weight; `None` when the entry has no backoff field (always so at the highest order).
    pub backoff: Option<f32>,
}

/// Where the reader stands in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// Inside the `\N-grams:` section with this order, having read `seen` entries of it.
    Section { order: usize, seen: u64 },
    /// `\end\` has been read and everything after it checked.
    Done,
}

/// A streaming, validating reader of ARPA files (plain or gzip).
pub struct ArpaReader {
    input: TextReader,
    counts: Vec<u64>,
    position: Position,
    line: String,
}

impl std::fmt::Debug for ArpaReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArpaReader")
            .field("path", &self.input.path())
            .field("line", &self.input.line_number())
            .field("counts", &self.counts)
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

impl ArpaReader {
    /// Opens `path` (gzip recognised by its magic) and reads the `\data\` header up to the first section.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::new(TextReader::open(path, Decoding::Strict)?)
    }

    /// Reads ARPA text from any buffered reader; `path` only names the input in error messages.
    pub fn from_reader(path: impl Into<PathBuf>, inner: Box<dyn BufRead + Send>) -> Result<Self> {
        Self::new(TextReader::from_reader(path, inner, Decoding::Strict))
    }

    /// Wraps an open [`TextReader`] positioned at the start of the file and reads the header.
    pub fn new(input: TextReader) -> Result<Self> {
        let mut reader = ArpaReader {
            input,
            counts: Vec::new(),
            position: Position::Done,
            line: String::new(),
        };
        reader.read_header()?;
        Ok(reader)
    }

    /// The file being read (for messages).
    pub fn path(&self) -> &Path {
        self.input.path()
    }

    /// The number of the line last read (1-based).
    pub fn line_number(&self) -> u64 {
        self.input.line_number()
    }

    /// The number of n-grams of each order announced by the header: `counts()[0]` is the unigram count.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// The model's order: the highest n-gram length in the header.
    pub fn order(&self) -> usize {
        self.counts.len()
    }

    fn error(&self, message: impl Into<String>) -> Error {
        Error::Format {
            path: self.input.path().to_path_buf(),
            line: self.input.line_number(),
            message: message.into(),
        }
    }

    /// Reads the next line into `self.line`; at the end of the file, an error saying what was still expected.
    fn next_line(&mut self, expected: &str) -> Result<()> {
        if self.input.read_line(&mut self.line)? {
            Ok(())
        } else {
            Err(self.error(format!(
                "unexpected end of file (the file is truncated?): expected {expected}"
            )))
        }
    }

    /// Skips blank lines; leaves the first non-blank one in `self.line`.
    fn next_nonblank(&mut self, expected: &str) -> Result<()> {
        loop {
            self.next_line(expected)?;
            if !self.line.trim().is_empty() {
                return Ok(());
            }
        }
    }

    fn read_header(&mut self) -> Result<()> {
        self.next_nonblank("the \\data\\ header")?;
        if self.line.trim() != "\\data\\" {
            return Err(self.error(format!(
                "expected the ARPA header \\data\\, found {:?}; is this an ARPA file?",
                shorten(&self.line)
            )));
        }
        loop {
            self.next_line("`ngram N=COUNT` lines")?;
            let trimmed = self.line.trim();
            if trimmed.is_empty() {
                if self.counts.is_empty() {
                    continue;
                }
                break;
            }
            if trimmed.starts_with('\\') && !self.counts.is_empty() {
                // A section header straight after the counts, without the customary blank line.
                return self.start_section(1);
            }
            let (order, count) = parse_count_line(trimmed).ok_or_else(|| {
                self.error(format!(
                    "expected `ngram N=COUNT` in the \\data\\ header, found {:?}",
                    shorten(trimmed)
                ))
            })?;
            let expected = self.counts.len() + 1;
            if order != expected {
                return Err(self.error(format!(
                    "the header lists order {order} where order {expected} was expected (orders must be 1, 2, 3, …)"
                )));
            }
            if order > MAX_ARPA_ORDER {
                return Err(self.error(format!("order {order} is above the supported maximum {MAX_ARPA_ORDER}")));
            }
            self.counts.push(count);
        }
        self.next_nonblank("the \\1-grams: section")?;
        self.start_section(1)
    }

    /// Checks that `self.line` is the header of section `order` and enters it.
    fn start_section(&mut self, order: usize) -> Result<()> {
        let expected = format!("\\{order}-grams:");
        if self.line.trim() != expected {
            return Err(self.error(format!(
                "expected the section header {expected}, found {:?}",
                shorten(&self.line)
            )));
        }
        self.position = Position::Section { order, seen: 0 };
        Ok(())
    }

    /// Reads the next entry into `entry`, reusing its allocations. Returns `Ok(false)` once `\end\` and the
    /// rest of the file have been read and checked; every later call also returns `Ok(false)`.
    pub fn read_entry(&mut self, entry: &mut Entry) -> Result<bool> {
        loop {
            let (order, seen) = match self.position {
                Position::Done => return Ok(false),
                Position::Section { order, seen } => (order, seen),
            };
            let announced = self.counts[order - 1];
            if !self.input.read_line(&mut self.line)? {
                return Err(self.error(format!(
                    "unexpected end of file (the file is truncated?): expected entries of \\{order}-grams: or the end of the section"
                )));
            }
            let trimmed = self.line.trim();
            if trimmed.is_empty() || trimmed.starts_with('\\') {
                if seen != announced {
                    return Err(self.error(format!(
                        "the \\{order}-grams: section ends after {seen} entries but the header announced {announced}"
                    )));
                }
                if trimmed.is_empty() {
                    let what = if order == self.order() {
                        "\\end\\".to_string()
                    } else {
                        format!("the \\{}-grams: section", order + 1)
                    };
                    self.next_nonblank(&what)?;
                }
                if order == self.order() {
                    self.finish()?;
                    return Ok(false);
                }
                self.start_section(order + 1)?;
                continue;
            }
            if seen == announced {
                return Err(self.error(format!(
                    "the \\{order}-grams: section has more entries than the {announced} the header announced"
                )));
            }
            self.parse_entry(order, entry)?;
            self.position = Position::Section { order, seen: seen + 1 };
            return Ok(true);
        }
    }

    /// Checks the `\end\` line in `self.line` and that only blank lines follow.
    fn finish(&mut self) -> Result<()> {
        if self.line.trim() != "\\end\\" {
            return Err(self.error(format!(
                "expected \\end\\ after the last section, found {:?}",
                shorten(&self.line)
            )));
        }
        while self.input.read_line(&mut self.line)? {
            if !self.line.trim().is_empty() {
                return Err(self.error(format!("unexpected text after \\end\\: {:?}", shorten(&self.line))));
            }
        }
        self.position = Position::Done;
        Ok(())
    }

    fn parse_entry(&self, order: usize, entry: &mut Entry) -> Result<()> {
        let mut fields = self.line.split([' ', '\t']).filter(|f| !f.is_empty());
        let prob_text = fields.next().unwrap_or_default();
        let prob = parse_prob(prob_text).map_err(|why| self.error(why))?;
        entry.order = order;
        entry.prob = prob;
        entry.backoff = None;
        let mut n = 0;
        let mut extra = None;
        for field in fields {
            if n < order {
                if let Some(word) = entry.words.get_mut(n) {
                    word.clear();
                    word.push_str(field);
                } else {
                    entry.words.push(field.to_string());
                }
                n += 1;
            } else if extra.is_none() {
                extra = Some(field);
            } else {
                return Err(self.error(format!(
                    "too many fields for a {order}-gram: expected log10prob, {order} word(s) and an optional backoff"
                )));
            }
        }
        entry.words.truncate(n);
        if n < order {
            return Err(self.error(format!("a {order}-gram entry with only {n} word(s)")));
        }
        if let Some(text) = extra {
            if order == self.order() {
                return Err(self.error(format!(
                    "too many fields: entries of the highest order ({order}) have log10prob and {order} word(s), no backoff"
                )));
            }
            let backoff = parse_backoff(text).map_err(|why| self.error(why))?;
            entry.backoff = Some(backoff);
        }
        Ok(())
    }
}

impl Iterator for ArpaReader {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut entry = Entry::default();
        match self.read_entry(&mut entry) {
            Ok(true) => Some(Ok(entry)),
            Ok(false) => None,
            Err(e) => {
                // One error ends the iteration.
                self.position = Position::Done;
                Some(Err(e))
            }
        }
    }
}

/// A whole ARPA file in memory.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Arpa {
    /// The counts of the header, one per order.
    pub counts: Vec<u64>,
    /// The entries of each order: `orders[0]` holds the unigrams, in file order.
    pub orders: Vec<Vec<Entry>>,
}

impl Arpa {
    /// The model's order.
    pub fn order(&self) -> usize {
        self.counts.len()
    }
}

/// Reads and validates a whole ARPA file into memory.
pub fn read_all(path: impl AsRef<Path>) -> Result<Arpa> {
    collect(ArpaReader::open(path)?)
}

/// Reads and validates everything a reader has left into memory.
pub fn collect(mut reader: ArpaReader) -> Result<Arpa> {
    let counts = reader.counts().to_vec();
    let mut orders: Vec<Vec<Entry>> = counts
        .iter()
        .map(|&c| Vec::with_capacity(usize::try_from(c.min(1 << 12)).unwrap_or(0)))
        .collect();
    let mut entry = Entry::default();
    while reader.read_entry(&mut entry)? {
        orders[entry.order - 1].push(entry.clone());
    }
    Ok(Arpa { counts, orders })
}

/// Parses `ngram N=COUNT` (spaces around `=` allowed).
fn parse_count_line(line: &str) -> Option<(usize, u64)> {
    let rest = line.strip_prefix("ngram")?;
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let (order, count) = rest.split_once('=')?;
    let order: usize = order.trim().parse().ok()?;
    let count: u64 = count.trim().parse().ok()?;
    Some((order, count))
}

fn parse_prob(text: &str) -> Result<f32, String> {
    let value: f32 = text
        .parse()
        .map_err(|_| format!("expected a log10 probability, found {:?}", shorten(text)))?;
    if value.is_nan() || value == f32::INFINITY {
        return Err(format!("the log10 probability {text:?} is not a number"));
    }
    if value > 0.0 {
        return Err(format!(
            "the log10 probability {text} is positive (a probability above 1)"
        ));
    }
    Ok(value)
}

fn parse_backoff(text: &str) -> Result<f32, String> {
    let value: f32 = text
        .parse()
        .map_err(|_| format!("expected a log10 backoff weight, found {:?}", shorten(text)))?;
    if !value.is_finite() {
        return Err(format!("the log10 backoff {text:?} is not a finite number"));
    }
    Ok(value)
}

/// At most 60 characters of `text`, for messages.
fn shorten(text: &str) -> String {
    const MAX: usize = 60;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Arpa> {
        let bytes = text.as_bytes().to_vec();
        collect(ArpaReader::from_reader(
            "toy.arpa",
            Box::new(std::io::Cursor::new(bytes)),
        )?)
    }

    #[test]
    fn count_lines() {
        assert_eq!(parse_count_line("ngram 1=10"), Some((1, 10)));
        assert_eq!(parse_count_line("ngram  2 = 7"), Some((2, 7)));
        assert_eq!(parse_count_line("ngram2=7"), None);
        assert_eq!(parse_count_line("ngram 1=-1"), None);
        assert_eq!(parse_count_line("gram 1=1"), None);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_prob("-0.5"), Ok(-0.5));
        assert_eq!(parse_prob("-inf"), Ok(f32::NEG_INFINITY));
        assert_eq!(parse_prob("-99"), Ok(-99.0));
        assert!(parse_prob("0.5").is_err());
        assert!(parse_prob("nan").is_err());
        assert!(parse_prob("inf").is_err());
        assert!(parse_prob("x").is_err());
        assert!(parse_backoff("-inf").is_err());
        assert_eq!(parse_backoff("0.25"), Ok(0.25));
    }

    #[test]
    fn minimal_file() {
        let arpa = read("\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<s>\n-0.5\t</s>\n\n\\end\\\n").unwrap();
        assert_eq!(arpa.counts, vec![2]);
        assert_eq!(arpa.orders[0][1].words, vec!["</s>".to_string()]);
        assert_eq!(arpa.orders[0][1].backoff, None);
    }

    #[test]
    fn entries_reuse_buffers_without_leaking_words() {
        let text = "\\data\\\nngram 1=1\nngram 2=1\n\n\\1-grams:\n-1\ta\t-0.1\n\n\\2-grams:\n-0.2\ta a\n\n\\end\\\n";
        let mut reader =
            ArpaReader::from_reader("t", Box::new(std::io::Cursor::new(text.as_bytes().to_vec()))).unwrap();
        let mut entry = Entry::default();
        assert!(reader.read_entry(&mut entry).unwrap());
        assert_eq!(entry.words, vec!["a"]);
        assert_eq!(entry.backoff, Some(-0.1));
        assert!(reader.read_entry(&mut entry).unwrap());
        assert_eq!(entry.words, vec!["a", "a"]);
        assert_eq!(entry.backoff, None);
        assert!(!reader.read_entry(&mut entry).unwrap());
        assert!(!reader.read_entry(&mut entry).unwrap());
    }
}
