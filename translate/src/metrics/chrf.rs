//! chrF (Popović 2015) and chrF++ (Popović 2017) as sacreBLEU 2.6.0 computes them by default.

use std::collections::HashMap;

use super::{SACREBLEU_VERSION, check_streams, is_python_space, maybe_lower, python_split, signature};
use crate::{Error, Result};

/// The punctuation that chrF++ splits off the start or end of a word (Python's `string.punctuation`).
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// chrF with sacreBLEU's defaults (character 6-grams, β = 2, whitespace ignored, effective-order averaging);
/// `word_order: 2` gives chrF++.
#[derive(Debug, Clone, Copy)]
pub struct Chrf {
    /// Character n-gram order (6).
    pub char_order: usize,
    /// Word n-gram order (0 for chrF, 2 for chrF++).
    pub word_order: usize,
    /// Weight of recall against precision (2).
    pub beta: u32,
    /// Lowercase first (`case:lc`).
    pub lowercase: bool,
    /// Keep whitespace in character n-grams (`space:yes`).
    pub whitespace: bool,
}

impl Default for Chrf {
    fn default() -> Chrf {
        Chrf {
            char_order: 6,
            word_order: 0,
            beta: 2,
            lowercase: false,
            whitespace: false,
        }
    }
}

/// The additive statistics of chrF: per order (characters first, then words), the hypothesis, reference and
/// matching n-gram counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChrfStats(pub Vec<[u64; 3]>);

impl ChrfStats {
    /// Adds `other` order by order (both must come from the same [`Chrf`] settings).
    pub fn add(&mut self, other: &ChrfStats) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), [0; 3]);
        }
        for (mine, theirs) in self.0.iter_mut().zip(&other.0) {
            for k in 0..3 {
                mine[k] += theirs[k];
            }
        }
    }
}

/// A chrF score.
#[derive(Debug, Clone, PartialEq)]
pub struct ChrfScore {
    /// The metric's name as sacreBLEU prints it: `chrF2`, or `chrF2++` with word 2-grams.
    pub name: String,
    /// The score, 0 to 100.
    pub score: f64,
    /// The signature, e.g. `nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0`.
    pub signature: String,
}

impl ChrfScore {
    /// sacreBLEU's text line: `chrF2|<signature> = <score>` with `width` decimals.
    pub fn format(&self, width: usize) -> String {
        format!("{}|{} = {:.width$}", self.name, self.signature, self.score)
    }
}

type Counts<'a> = HashMap<&'a str, u32>;

/// The character n-grams of orders 1..=`max_order` of `line`.
fn char_ngrams(line: &str, max_order: usize) -> Vec<Counts<'_>> {
    let bounds: Vec<usize> = line
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(line.len()))
        .collect();
    let chars = bounds.len() - 1;
    (1..=max_order)
        .map(|n| {
            let mut counts = Counts::new();
            for start in 0..(chars + 1).saturating_sub(n) {
                *counts.entry(&line[bounds[start]..bounds[start + n]]).or_insert(0) += 1;
            }
            counts
        })
        .collect()
}

/// Word n-grams of order `n`, the words joined by single spaces.
fn word_ngrams(words: &[&str], n: usize) -> HashMap<String, u32> {
    let mut counts = HashMap::new();
    for ngram in words.windows(n) {
        *counts.entry(ngram.join(" ")).or_insert(0) += 1;
    }
    counts
}

/// One counter of n-grams of some order, keyed by borrowed or joined strings.
enum OrderCounts<'a> {
    Chars(Counts<'a>),
    Words(HashMap<String, u32>),
}

impl OrderCounts<'_> {
    fn total(&self) -> u64 {
        match self {
            OrderCounts::Chars(c) => c.values().map(|&v| u64::from(v)).sum(),
            OrderCounts::Words(c) => c.values().map(|&v| u64::from(v)).sum(),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            OrderCounts::Chars(c) => c.is_empty(),
            OrderCounts::Words(c) => c.is_empty(),
        }
    }

    /// sacreBLEU's `_get_match_statistics(self, reference)`: [hyp count (0 if the reference has none), reference
    /// count, clipped matches].
    fn match_stats(&self, reference: &OrderCounts<'_>) -> [u64; 3] {
        let matches: u64 = match (self, reference) {
            (OrderCounts::Chars(h), OrderCounts::Chars(r)) => h
                .iter()
                .map(|(k, &v)| u64::from(v.min(r.get(k).copied().unwrap_or(0))))
                .sum(),
            (OrderCounts::Words(h), OrderCounts::Words(r)) => h
                .iter()
                .map(|(k, &v)| u64::from(v.min(r.get(k).copied().unwrap_or(0))))
                .sum(),
            _ => 0,
        };
        let hyp = if reference.is_empty() { 0 } else { self.total() };
        [hyp, reference.total(), matches]
    }
}

impl Chrf {
    /// chrF++: character 6-grams plus word unigrams and bigrams.
    pub fn plus() -> Chrf {
        Chrf {
            word_order: 2,
            ..Chrf::default()
        }
    }

    /// `chrF2`, or `chrF2++` when word n-grams are on (one `+` per word order, as sacreBLEU names it).
    pub fn name(&self) -> String {
        format!("chrF{}{}", self.beta, "+".repeat(self.word_order))
    }

    /// The signature for `nrefs` reference streams.
    pub fn signature(&self, nrefs: usize) -> String {
        signature(&[
            ("nrefs", nrefs.to_string()),
            ("case", if self.lowercase { "lc" } else { "mixed" }.to_string()),
            ("eff", "yes".to_string()),
            ("nc", self.char_order.to_string()),
            ("nw", self.word_order.to_string()),
            ("space", if self.whitespace { "yes" } else { "no" }.to_string()),
            ("version", SACREBLEU_VERSION.to_string()),
        ])
    }

    fn check(&self) -> Result<()> {
        if self.char_order == 0 && self.word_order == 0 {
            return Err(Error::InvalidOption(
                "chrF needs a character or a word order above 0".into(),
            ));
        }
        Ok(())
    }

    /// All the n-gram counters of a segment whose whitespace has already been dealt with.
    fn ngrams<'a>(&self, chars: &'a str, words: &[&str]) -> Vec<OrderCounts<'a>> {
        let mut all: Vec<OrderCounts<'a>> = char_ngrams(chars, self.char_order)
            .into_iter()
            .map(OrderCounts::Chars)
            .collect();
        for n in 1..=self.word_order {
            all.push(OrderCounts::Words(word_ngrams(words, n)));
        }
        all
    }

    /// The statistics of one hypothesis against the best-scoring of its references (the first on ties).
    pub fn segment_stats(&self, hypothesis: &str, references: &[&str]) -> ChrfStats {
        let hypothesis = maybe_lower(hypothesis, self.lowercase);
        let hyp_chars = self.char_text(&hypothesis);
        let hyp_words = if self.word_order > 0 {
            split_punctuation(&hypothesis)
        } else {
            Vec::new()
        };
        let hyp = self.ngrams(&hyp_chars, &hyp_words);
        let mut best: Option<(f64, Vec<[u64; 3]>)> = None;
        for reference in references {
            let reference = maybe_lower(reference, self.lowercase);
            let ref_chars = self.char_text(&reference);
            let ref_words = if self.word_order > 0 {
                split_punctuation(&reference)
            } else {
                Vec::new()
            };
            let refs = self.ngrams(&ref_chars, &ref_words);
            let stats: Vec<[u64; 3]> = hyp.iter().zip(&refs).map(|(h, r)| h.match_stats(r)).collect();
            let f = self.f_score(&stats);
            if best.as_ref().is_none_or(|(best_f, _)| f > *best_f) {
                best = Some((f, stats));
            }
        }
        ChrfStats(best.map(|(_, stats)| stats).unwrap_or_default())
    }

    /// The text whose character n-grams count: without whitespace unless `whitespace` is set.
    fn char_text<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        if self.whitespace {
            std::borrow::Cow::Borrowed(text)
        } else if text.contains(is_python_space) {
            std::borrow::Cow::Owned(python_split(text).collect())
        } else {
            std::borrow::Cow::Borrowed(text)
        }
    }

    /// Corpus chrF of `hypotheses` against reference streams (`references[r][i]`).
    pub fn corpus_score<H: AsRef<str>, R: AsRef<str>>(
        &self,
        hypotheses: &[H],
        references: &[Vec<R>],
    ) -> Result<ChrfScore> {
        self.check()?;
        let segments = check_streams(hypotheses.len(), references)?;
        let mut total = ChrfStats(vec![[0; 3]; self.char_order + self.word_order]);
        for i in 0..segments {
            let refs: Vec<&str> = references.iter().map(|stream| stream[i].as_ref()).collect();
            total.add(&self.segment_stats(hypotheses[i].as_ref(), &refs));
        }
        Ok(self.score_from_stats(&total, references.len()))
    }

    /// The score of summed statistics.
    pub fn score_from_stats(&self, stats: &ChrfStats, nrefs: usize) -> ChrfScore {
        ChrfScore {
            name: self.name(),
            score: self.f_score(&stats.0),
            signature: self.signature(nrefs),
        }
    }

    /// sacreBLEU's `_compute_f_score` without epsilon smoothing: the F-β of the precision and recall averaged
    /// over the orders where both the hypothesis and the reference have n-grams.
    fn f_score(&self, stats: &[[u64; 3]]) -> f64 {
        let factor = f64::from(self.beta * self.beta);
        let (mut avg_prec, mut avg_rec) = (0.0f64, 0.0f64);
        let mut effective_order = 0u32;
        for &[n_hyp, n_ref, n_match] in stats {
            if n_hyp > 0 && n_ref > 0 {
                avg_prec += n_match as f64 / n_hyp as f64;
                avg_rec += n_match as f64 / n_ref as f64;
                effective_order += 1;
            }
        }
        if effective_order == 0 {
            return 0.0;
        }
        avg_prec /= f64::from(effective_order);
        avg_rec /= f64::from(effective_order);
        if avg_prec + avg_rec == 0.0 {
            return 0.0;
        }
        let mut score = (1.0 + factor) * avg_prec * avg_rec;
        score /= factor * avg_prec + avg_rec;
        100.0 * score
    }
}

/// chrF++'s word splitting: whitespace-separated words, with one punctuation character split off the end (or
/// else the start) of every word longer than one character.
fn split_punctuation(text: &str) -> Vec<&str> {
    let mut words = Vec::new();
    for word in python_split(text) {
        let mut chars = word.chars();
        let (first, last) = (chars.next(), chars.next_back());
        match (first, last) {
            (Some(_), Some(last)) if PUNCTUATION.contains(last) => {
                let cut = word.len() - last.len_utf8();
                words.push(&word[..cut]);
                words.push(&word[cut..]);
            }
            (Some(first), Some(_)) if PUNCTUATION.contains(first) => {
                let cut = first.len_utf8();
                words.push(&word[..cut]);
                words.push(&word[cut..]);
            }
            _ => words.push(word),
        }
    }
    words
}
