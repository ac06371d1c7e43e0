//! Truecasing as Moses' `train-truecaser.perl` / `truecase.perl` / `detruecase.perl` do it.
//!
//! Training counts the surface forms of every word where its case carries information, that is everywhere but at
//! the start of a sentence (the first token, and the first token after `.`, `:`, `?` or `!`, with opening quotes
//! and brackets delaying the start). Truecasing then rewrites a sentence-initial word to its most frequent form
//! (`The` → `the`, but German `Mann` stays `Mann`), keeps words seen in their present form, and rewrites other
//! known words to their most frequent form. Detruecasing uppercases the first letter of each sentence start.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use crate::{Error, Result};

/// Tokens after which a new sentence starts.
fn is_sentence_end(token: &str) -> bool {
    matches!(token, "." | ":" | "?" | "!" | "..." | "?!" | "!?")
}

/// Tokens that leave the sentence-start state as it is (opening quotes and brackets).
fn is_delayed_start(token: &str) -> bool {
    matches!(
        token,
        "(" | "[" | "\"" | "'" | "„" | "“" | "”" | "‚" | "‘" | "’" | "«" | "»" | "‹" | "›" | "-" | "–" | "—"
    )
}

/// Whether a token has letters whose case could change.
fn has_case(token: &str) -> bool {
    token.chars().any(|c| c.is_lowercase() || c.is_uppercase())
}

/// A truecasing model: for every lowercased word, the surface forms seen outside sentence starts and their counts.
#[derive(Debug, Clone, Default)]
pub struct Truecaser {
    /// Lowercased word → (most frequent form, its count).
    best: HashMap<String, (String, u32)>,
    /// Every form seen, with its count.
    known: HashMap<String, u32>,
}

impl Truecaser {
    /// An empty model (it changes nothing).
    pub fn new() -> Truecaser {
        Truecaser::default()
    }

    /// Counts the forms of one tokenized sentence.
    pub fn learn(&mut self, tokens: &[impl AsRef<str>]) {
        let mut start = true;
        for token in tokens {
            let token = token.as_ref();
            if !start && has_case(token) {
                *self.known.entry(token.to_string()).or_insert(0) += 1;
            }
            if is_sentence_end(token) {
                start = true;
            } else if !is_delayed_start(token) {
                start = false;
            }
        }
    }

    /// Picks the most frequent form of every word (ties: the lexicographically smallest) after learning.
    pub fn finish(&mut self) {
        self.best.clear();
        for (form, &count) in &self.known {
            let entry = self
                .best
                .entry(form.to_lowercase())
                .or_insert_with(|| (form.clone(), count));
            if count > entry.1 || (count == entry.1 && form < &entry.0) {
                *entry = (form.clone(), count);
            }
        }
    }

    /// Adds the forms of `other` for the words this model has not seen in any form (after [`finish`](Self::finish)
    /// on both), leaving the words it knows as they are; used to take a backoff corpus's vocabulary in without
    /// changing how the main corpus is cased.
    pub fn add_new_words(&mut self, other: &Truecaser) {
        for (form, &count) in &other.known {
            if !self.best.contains_key(&form.to_lowercase()) {
                *self.known.entry(form.clone()).or_insert(0) += count;
            }
        }
        self.finish();
    }

    /// The number of distinct forms known.
    pub fn len(&self) -> usize {
        self.known.len()
    }

    /// True when nothing was learned.
    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }

    /// Truecases a tokenized sentence in place.
    pub fn truecase(&self, tokens: &mut [String]) {
        let mut start = true;
        for token in tokens.iter_mut() {
            let sentence_end = is_sentence_end(token);
            let delayed = is_delayed_start(token);
            if has_case(token) {
                let best = self.best.get(&token.to_lowercase()).map(|(form, _)| form);
                if start {
                    if let Some(best) = best {
                        token.clone_from(best);
                    }
                } else if !self.known.contains_key(token.as_str())
                    && let Some(best) = best
                {
                    token.clone_from(best);
                }
            }
            if sentence_end {
                start = true;
            } else if !delayed {
                start = false;
            }
        }
    }

    /// Writes the model: one `form<TAB>count` line per known form, sorted.
    pub fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        let mut forms: Vec<(&String, &u32)> = self.known.iter().collect();
        forms.sort();
        for (form, count) in forms {
            writeln!(out, "{form}\t{count}")?;
        }
        Ok(())
    }

    /// Reads a model written by [`write`](Self::write).
    pub fn read(path: &Path) -> Result<Truecaser> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut model = Truecaser::new();
        for (number, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| Error::io(path, e))?;
            let bad = || Error::Format {
                path: path.to_path_buf(),
                line: number as u64 + 1,
                message: "expected `form<TAB>count`".to_string(),
            };
            let (form, count) = line.split_once('\t').ok_or_else(bad)?;
            let count: u32 = count.parse().map_err(|_| bad())?;
            model.known.insert(form.to_string(), count);
        }
        model.finish();
        Ok(model)
    }
}

/// Uppercases the first letter of every sentence start (the first token, and the first after `.`, `:`, `?`, `!`,
/// past opening quotes and brackets).
pub fn detruecase(tokens: &mut [String]) {
    let mut start = true;
    for token in tokens.iter_mut() {
        let sentence_end = is_sentence_end(token);
        let delayed = is_delayed_start(token);
        if start && has_case(token) {
            let mut chars = token.chars();
            if let Some(first) = chars.next() {
                let upper: String = first.to_uppercase().chain(chars).collect();
                *token = upper;
            }
        }
        if sentence_end {
            start = true;
        } else if !delayed {
            start = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn learns_and_applies() {
        let mut tc = Truecaser::new();
        for s in [
            "A man sees a dog .",
            "The Dog sees the man .",
            "Ein Mann sieht den Hund .",
            "Der Mann schläft .",
        ] {
            tc.learn(&tokens(s));
        }
        tc.finish();
        let mut t = tokens("The man . A Mann sieht \" The dog");
        tc.truecase(&mut t);
        // Sentence starts take the best form; "Mann" was only ever capitalised; "dog" is known in lowercase.
        assert_eq!(t.join(" "), "the man . a Mann sieht \" the dog");
        let mut unknown = tokens("Zebras run");
        tc.truecase(&mut unknown);
        assert_eq!(unknown.join(" "), "Zebras run");
        detruecase(&mut t);
        assert_eq!(t.join(" "), "The man . A Mann sieht \" the dog");
        let mut buf = Vec::new();
        tc.write(&mut buf).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tc");
        std::fs::write(&path, &buf).unwrap();
        let back = Truecaser::read(&path).unwrap();
        assert_eq!(back.len(), tc.len());
        std::fs::write(&path, "oops\n").unwrap();
        assert!(matches!(Truecaser::read(&path), Err(Error::Format { line: 1, .. })));
    }
}
