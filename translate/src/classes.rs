//! Coarse word classes for a class-based target language model (feature `lm2`).
//!
//! A word-level 5-gram model trained on 29,000 sentences has seen few of the inflected forms it must order; a
//! model over coarser tokens sees each pattern many times. The classes here need no tagger: the most frequent
//! target words (articles, pronouns, prepositions, auxiliaries — the words that carry German case and agreement)
//! stay themselves, and every other word becomes its shape and ending: with two-character endings (what the
//! committed en→de weights use), `N~ut` for a capitalised word ending in "ut", `a~en` for a lowercase one ending
//! in "en", `#` for a number. So "einem orangefarbenen Hut" becomes `einem a~en N~ut`, and the model learns that
//! `einem` is followed by an adjective in -en, whatever the adjective.
//!
//! The class of a word depends only on the list of kept words and the ending length, which the model directory
//! stores (`lm2.classes`: the kept words, one per line; the ending length in `manifest.json`), so words the
//! training data never had (passed-through unknown words) get a class too.

use std::collections::HashMap;
use std::path::Path;

use fivegram_lm::vocab::FxBuildHasher;

use crate::{Error, Result};

/// The word → class map of a class-based language model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordClasses {
    kept: HashMap<String, (), FxBuildHasher>,
    ending: usize,
}

impl WordClasses {
    /// Keeps the `keep` most frequent words of `sentences` as themselves (ties broken by the word, so the
    /// result is deterministic) and classes every other word by its last `ending` characters.
    pub fn learn<'a>(sentences: impl Iterator<Item = &'a [String]>, keep: usize, ending: usize) -> WordClasses {
        let mut counts: HashMap<&str, u64, FxBuildHasher> = HashMap::default();
        for sentence in sentences {
            for word in sentence {
                *counts.entry(word.as_str()).or_insert(0) += 1;
            }
        }
        let mut ranked: Vec<(&str, u64)> = counts.into_iter().collect();
        ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        WordClasses {
            kept: ranked
                .into_iter()
                .take(keep)
                .map(|(w, _)| (w.to_string(), ()))
                .collect(),
            ending: ending.max(1),
        }
    }

    /// The class of `word`: the word itself if kept, else its shape and ending.
    pub fn class_of(&self, word: &str) -> String {
        if self.kept.contains_key(word) {
            return word.to_string();
        }
        let mut chars = word.chars();
        let Some(first) = chars.next() else {
            return String::new();
        };
        if word.chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',') && first.is_ascii_digit() {
            return "#".to_string();
        }
        if !word.chars().any(char::is_alphabetic) {
            return word.to_string(); // punctuation and symbols are their own class
        }
        let shape = if first.is_uppercase() { 'N' } else { 'a' };
        let lower: Vec<char> = word.to_lowercase().chars().collect();
        let tail: String = lower[lower.len().saturating_sub(self.ending)..].iter().collect();
        format!("{shape}~{tail}")
    }

    /// Maps a sentence to classes.
    pub fn map(&self, sentence: &[String]) -> Vec<String> {
        sentence.iter().map(|w| self.class_of(w)).collect()
    }

    /// The ending length.
    pub fn ending(&self) -> usize {
        self.ending
    }

    /// Writes the kept words, one per line, sorted.
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut words: Vec<&str> = self.kept.keys().map(String::as_str).collect();
        words.sort_unstable();
        let mut text = String::new();
        for w in words {
            text.push_str(w);
            text.push('\n');
        }
        crate::phrase_table::write_atomic(path, text.as_bytes())
    }

    /// Reads the kept words written by [`WordClasses::write`].
    pub fn read(path: &Path, ending: usize) -> Result<WordClasses> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let line = e.as_bytes()[..e.utf8_error().valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            Error::Format {
                path: path.to_path_buf(),
                line: line as u64 + 1,
                message: "invalid UTF-8".into(),
            }
        })?;
        if ending == 0 {
            return Err(Error::Corrupt {
                path: path.to_path_buf(),
                what: "the class ending length must be at least 1".into(),
            });
        }
        Ok(WordClasses {
            kept: text
                .lines()
                .filter(|l| !l.is_empty())
                .map(|l| (l.to_string(), ()))
                .collect(),
            ending,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn frequent_words_stay_and_others_become_shape_and_ending() {
        let corpus = [
            toks("ein Mann mit einem roten Hut ."),
            toks("ein Hund mit einem blauen Ball ."),
            toks("ein Kind ."),
        ];
        let classes = WordClasses::learn(corpus.iter().map(Vec::as_slice), 4, 2);
        // ein (3), . (3), einem (2), mit (2) are kept.
        assert_eq!(classes.class_of("ein"), "ein");
        assert_eq!(classes.class_of("einem"), "einem");
        assert_eq!(classes.class_of("roten"), "a~en");
        assert_eq!(classes.class_of("blauen"), "a~en");
        assert_eq!(classes.class_of("Hut"), "N~ut");
        assert_eq!(classes.class_of("Öl"), "N~öl");
        assert_eq!(classes.class_of("12"), "#");
        assert_eq!(classes.class_of("3,5"), "#");
        assert_eq!(classes.class_of("!"), "!");
        assert_eq!(classes.class_of(""), "");
        assert_eq!(
            classes.map(&toks("ein Hund mit einem grünen Ball")),
            toks("ein N~nd mit einem a~en N~ll")
        );
    }

    #[test]
    fn written_classes_read_back_identically() {
        let dir = tempfile::tempdir().unwrap();
        let corpus = [toks("der Hund läuft ."), toks("der Mann läuft schnell .")];
        let classes = WordClasses::learn(corpus.iter().map(Vec::as_slice), 3, 3);
        let path = dir.path().join("lm2.classes");
        classes.write(&path).unwrap();
        assert_eq!(WordClasses::read(&path, 3).unwrap(), classes);
        std::fs::write(&path, b"der\n\xff\n").unwrap();
        match WordClasses::read(&path, 3) {
            Err(Error::Format { line, .. }) => assert_eq!(line, 2),
            other => panic!("expected a parse error, got {other:?}"),
        }
        assert!(WordClasses::read(&dir.path().join("missing"), 3).is_err());
    }
}
