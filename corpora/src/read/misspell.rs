//! Spelling-error lists: (target, misspelling) pairs in Norvig's or Mitton's format.
//!
//! - Norvig (`spell-testset1.txt`, `spell-testset2.txt`): one target per line, `target: miss1 miss2 ...`.
//! - Mitton (`aspell.dat`, the Birkbeck files): a `$target` line, then that target's misspellings one per line.
//!
//! Both yield every pair in file order, duplicates included (Norvig's sets count 270 and 400 pairs), each with the
//! line it came from. Blank lines are skipped; anything else that does not fit the format is an
//! [`Error::Format`] naming the file and line, after which reading goes on with the next line.

use std::collections::VecDeque;
use std::path::Path;

use super::{Decoding, TextReader};
use crate::{Error, Result};

/// The layout of a misspelling list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MisspellingFormat {
    /// `target: miss1 miss2 ...`, one target per line.
    Norvig,
    /// `$target` on its own line, followed by its misspellings one per line.
    Mitton,
}

/// One misspelling of a target word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misspelling {
    /// 1-based line of the misspelling (for Norvig's format, the line holding target and misspellings).
    pub line: u64,
    /// The intended word, as written in the file.
    pub target: String,
    /// The misspelled form, as written in the file.
    pub misspelling: String,
}

/// Streams the (target, misspelling) pairs of a Norvig or Mitton file.
#[derive(Debug)]
pub struct MisspellingReader {
    reader: TextReader,
    format: MisspellingFormat,
    buf: String,
    /// Pairs of the current Norvig line not handed out yet.
    pending: VecDeque<Misspelling>,
    /// Mitton: the target of the misspellings that follow.
    target: Option<String>,
}

impl MisspellingReader {
    /// Opens a file (plain or gzip) in the given format.
    pub fn open(path: impl AsRef<Path>, format: MisspellingFormat) -> Result<Self> {
        Ok(Self::new(TextReader::open(path, Decoding::Strict)?, format))
    }

    /// Opens a file and guesses its format from the first non-blank line: `$…` is Mitton's, anything else
    /// Norvig's.
    pub fn open_detect(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let mut probe = TextReader::open(path, Decoding::Strict)?;
        let mut line = String::new();
        let mut format = MisspellingFormat::Norvig;
        while probe.read_line(&mut line)? {
            if !line.trim().is_empty() {
                if line.starts_with('$') {
                    format = MisspellingFormat::Mitton;
                }
                break;
            }
        }
        Self::open(path, format)
    }

    /// Reads from an already opened text reader.
    pub fn new(reader: TextReader, format: MisspellingFormat) -> Self {
        MisspellingReader {
            reader,
            format,
            buf: String::new(),
            pending: VecDeque::new(),
            target: None,
        }
    }

    /// The format being read.
    pub fn format(&self) -> MisspellingFormat {
        self.format
    }

    fn format_error(&self, message: String) -> Error {
        Error::Format {
            path: self.reader.path().to_path_buf(),
            line: self.reader.line_number(),
            message,
        }
    }

    /// Reads lines until one yields pairs; `Ok(None)` at the end of the file.
    fn next_pair(&mut self) -> Result<Option<Misspelling>> {
        loop {
            if let Some(pair) = self.pending.pop_front() {
                return Ok(Some(pair));
            }
            if !self.reader.read_line(&mut self.buf)? {
                return Ok(None);
            }
            let text = self.buf.trim();
            if text.is_empty() {
                continue;
            }
            let line = self.reader.line_number();
            match self.format {
                MisspellingFormat::Norvig => {
                    let Some((target, misses)) = text.split_once(':') else {
                        return Err(self.format_error(format!(
                            "no colon in {text:?}: expected `target: misspelling1 misspelling2 ...`"
                        )));
                    };
                    let target = target.trim();
                    if target.is_empty() || target.contains(char::is_whitespace) {
                        return Err(
                            self.format_error(format!("target {target:?} must be one non-empty word before the colon"))
                        );
                    }
                    if misses.contains(':') {
                        return Err(self.format_error("more than one colon on the line".into()));
                    }
                    let before = self.pending.len();
                    self.pending.extend(misses.split_whitespace().map(|miss| Misspelling {
                        line,
                        target: target.to_string(),
                        misspelling: miss.to_string(),
                    }));
                    if self.pending.len() == before {
                        return Err(self.format_error(format!("target {target:?} has no misspellings after the colon")));
                    }
                }
                MisspellingFormat::Mitton => {
                    if let Some(target) = text.strip_prefix('$') {
                        if target.is_empty() || target.contains(char::is_whitespace) {
                            return Err(
                                self.format_error(format!("target line {text:?} must be `$word` with no spaces"))
                            );
                        }
                        self.target = Some(target.to_string());
                        continue;
                    }
                    let Some(target) = &self.target else {
                        return Err(self.format_error(format!("misspelling {text:?} before any `$target` line")));
                    };
                    if text.contains(char::is_whitespace) {
                        return Err(self.format_error(format!("misspelling {text:?} contains whitespace")));
                    }
                    return Ok(Some(Misspelling {
                        line,
                        target: target.clone(),
                        misspelling: text.to_string(),
                    }));
                }
            }
        }
    }
}

impl Iterator for MisspellingReader {
    type Item = Result<Misspelling>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_pair().transpose()
    }
}
