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
//! With clusters ([`WordClasses::learn_clustered`]), a word that is not kept becomes its cluster instead
//! (`C17`), learned from the target side by the exchange algorithm ([`crate::clusters`]); words the clustering
//! never saw fall back to shape and ending.
//!
//! The class of a word depends only on the list of kept words, the ending length and the clusters, which the
//! model directory stores (`lm2.classes`: the kept words, one per line; `lm2.clusters`: `word<TAB>cluster`
//! lines; the ending length in `manifest.json`), so words the training data never had (passed-through unknown
//! words) get a class too.

use std::collections::HashMap;
use std::path::Path;

use fivegram_lm::vocab::FxBuildHasher;

use crate::{Error, Result};

/// The word → class map of a class-based language model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordClasses {
    kept: HashMap<String, (), FxBuildHasher>,
    ending: usize,
    clusters: Option<HashMap<String, u32, FxBuildHasher>>,
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
            clusters: None,
        }
    }

    /// As [`learn`](Self::learn), and every word of `sentences` that is not kept is put in one of `clusters`
    /// clusters by the exchange algorithm (at most `passes` passes over the vocabulary).
    pub fn learn_clustered<'a>(
        sentences: impl Iterator<Item = &'a [String]> + Clone,
        (keep, ending): (usize, usize),
        clusters: usize,
        passes: usize,
    ) -> WordClasses {
        let mut classes = WordClasses::learn(sentences.clone(), keep, ending);
        let mut ids: HashMap<&str, u32, FxBuildHasher> = HashMap::default();
        let mut words: Vec<&str> = Vec::new();
        let corpus: Vec<Vec<u32>> = sentences
            .map(|sentence| {
                sentence
                    .iter()
                    .map(|w| {
                        *ids.entry(w.as_str()).or_insert_with(|| {
                            words.push(w.as_str());
                            words.len() as u32 - 1
                        })
                    })
                    .collect()
            })
            .collect();
        let cluster = crate::clusters::exchange(&corpus, words.len(), clusters, passes);
        classes.clusters = Some(
            words
                .iter()
                .zip(cluster)
                .filter(|(w, _)| !classes.kept.contains_key(**w))
                .map(|(w, c)| (w.to_string(), c))
                .collect(),
        );
        classes
    }

    /// Whether words that are not kept map to clusters.
    pub fn has_clusters(&self) -> bool {
        self.clusters.is_some()
    }

    /// The class of `word`: the word itself if kept, else its shape and ending.
    pub fn class_of(&self, word: &str) -> String {
        if self.kept.contains_key(word) {
            return word.to_string();
        }
        if let Some(c) = self.clusters.as_ref().and_then(|m| m.get(word)) {
            return format!("C{c}");
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

    /// Writes the clusters as `word<TAB>cluster` lines, sorted by word (nothing without clusters).
    pub fn write_clusters(&self, path: &Path) -> Result<()> {
        let Some(clusters) = &self.clusters else {
            return Ok(());
        };
        let mut entries: Vec<(&str, u32)> = clusters.iter().map(|(w, &c)| (w.as_str(), c)).collect();
        entries.sort_unstable();
        let mut text = String::new();
        for (w, c) in entries {
            text.push_str(w);
            text.push('\t');
            text.push_str(&c.to_string());
            text.push('\n');
        }
        crate::phrase_table::write_atomic(path, text.as_bytes())
    }

    /// Adds the clusters written by [`write_clusters`](Self::write_clusters).
    pub fn read_clusters(mut self, path: &Path) -> Result<WordClasses> {
        let text = read_utf8(path)?;
        let mut clusters = HashMap::default();
        for (i, line) in text.lines().enumerate() {
            let parsed = line
                .split_once('\t')
                .and_then(|(w, c)| Some((w, c.parse::<u32>().ok()?)))
                .filter(|(w, _)| !w.is_empty());
            let Some((word, cluster)) = parsed else {
                return Err(Error::Format {
                    path: path.to_path_buf(),
                    line: i as u64 + 1,
                    message: "expected word<TAB>cluster number".into(),
                });
            };
            clusters.insert(word.to_string(), cluster);
        }
        self.clusters = Some(clusters);
        Ok(self)
    }

    /// Reads the kept words written by [`WordClasses::write`].
    pub fn read(path: &Path, ending: usize) -> Result<WordClasses> {
        let text = read_utf8(path)?;
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
            clusters: None,
        })
    }
}

/// A whole UTF-8 file; invalid UTF-8 is an error naming its line.
fn read_utf8(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    String::from_utf8(bytes).map_err(|e| {
        let line = e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        Error::Format {
            path: path.to_path_buf(),
            line: line as u64 + 1,
            message: "invalid UTF-8".into(),
        }
    })
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

    #[test]
    fn clustered_classes_map_words_to_clusters_and_read_back() {
        let mut corpus = Vec::new();
        for _ in 0..3 {
            for noun in ["Hund", "Mann", "Ball"] {
                corpus.push(toks(&format!("der {noun} läuft .")));
                corpus.push(toks(&format!("ein {noun} schläft .")));
            }
            for noun in ["Katze", "Frau", "Blume"] {
                corpus.push(toks(&format!("die {noun} läuft .")));
                corpus.push(toks(&format!("eine {noun} schläft .")));
            }
        }
        let classes = WordClasses::learn_clustered(corpus.iter().map(Vec::as_slice), (1, 2), 6, 20);
        assert!(classes.has_clusters());
        assert_eq!(classes.class_of("."), ".", "kept");
        let hund = classes.class_of("Hund");
        assert!(hund.starts_with('C'), "{hund}");
        assert_eq!(classes.class_of("Mann"), hund);
        assert_eq!(classes.class_of("Blume"), classes.class_of("Frau"));
        assert_ne!(classes.class_of("Frau"), hund);
        assert_eq!(
            classes.class_of("Zebra"),
            "N~ra",
            "unseen words fall back to shape and ending"
        );
        let dir = tempfile::tempdir().unwrap();
        let (kept, clusters) = (dir.path().join("c"), dir.path().join("k"));
        classes.write(&kept).unwrap();
        classes.write_clusters(&clusters).unwrap();
        let back = WordClasses::read(&kept, 2).unwrap().read_clusters(&clusters).unwrap();
        assert_eq!(back, classes);
        std::fs::write(&clusters, "Hund\t1\nMann 2\n").unwrap();
        match WordClasses::read(&kept, 2).unwrap().read_clusters(&clusters) {
            Err(Error::Format { line, .. }) => assert_eq!(line, 2),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }
}
