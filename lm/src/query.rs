//! Scoring running text the way KenLM's `query` does: per-sentence totals, OOV counts and perplexities.
//!
//! Each line is a sentence. Its words are scored from the begin-of-sentence state, then `</s>` is scored; the
//! sentence total is the `f32` sum of those log10 probabilities in order. An out-of-vocabulary word scores as
//! `<unk>` and counts as an OOV. Over a corpus ([`Summary`]):
//! - tokens = words + one `</s>` per sentence;
//! - perplexity including OOVs = 10^(−Σ totals / tokens);
//! - perplexity excluding OOVs = 10^(−(Σ totals − Σ OOV scores) / (tokens − OOVs)).
//!
//! Sums over the corpus are kept in `f64`, each OOV score added in text order, exactly as KenLM's
//! `lm/ngram_query.hh` does, so the figures agree with KenLM's to the last printed digit on KenLM's models.
//! One difference: KenLM scores the words of a last line that lacks its newline without `</s>` and prints no total
//! for it; here every line, terminated or not, is a full sentence.
//!
//! [`score_sentences`] scores many sentences at once in lock step: position 0 of every sentence in one
//! [`LanguageModel::score_batch`] call, then position 1, and so on, so the model sees large batches.

use rayon::prelude::*;

use crate::model::{LanguageModel, WordId};
use crate::{Error, Result};

/// The words of a line as KenLM's `query` splits it: on ASCII whitespace (space, tab, vertical tab, form feed,
/// carriage return, newline); empty pieces are dropped.
pub fn split_words(line: &str) -> impl Iterator<Item = &str> {
    line.split([' ', '\t', '\u{b}', '\u{c}', '\r', '\n'])
        .filter(|w| !w.is_empty())
}

/// Formats a number as KenLM's output does (double-conversion's shortest representation): the fewest digits
/// that read back as the same value, ties between two equally short candidates broken towards the even digit.
///
/// Rust's `Display` also prints the shortest round-trip digits but breaks such ties upwards
/// (`-27.2265625f32` prints as `-27.226563`, KenLM prints `-27.226562`), so the last digit is redone here with
/// round-half-even. KenLM switches to exponent notation below 1e-6 in magnitude; this function does not.
pub fn kenlm_number<F: KenlmFloat>(x: F) -> String {
    let shortest = x.to_string();
    let Some(dot) = shortest.find('.') else {
        return shortest;
    };
    let decimals = shortest.len() - dot - 1;
    let even = x.fixed(decimals);
    if even != shortest && F::parse(&even) == Some(x) {
        even
    } else {
        shortest
    }
}

/// The float types [`kenlm_number`] formats (`f32` for totals, `f64` for perplexities).
pub trait KenlmFloat: Copy + PartialEq + std::fmt::Display {
    /// Formats with `decimals` digits after the point, rounding half to even.
    fn fixed(self, decimals: usize) -> String;
    /// Parses a decimal back.
    fn parse(text: &str) -> Option<Self>;
}

impl KenlmFloat for f32 {
    fn fixed(self, decimals: usize) -> String {
        format!("{self:.decimals$}")
    }

    fn parse(text: &str) -> Option<Self> {
        text.parse().ok()
    }
}

impl KenlmFloat for f64 {
    fn fixed(self, decimals: usize) -> String {
        format!("{self:.decimals$}")
    }

    fn parse(text: &str) -> Option<Self> {
        text.parse().ok()
    }
}

/// The score of one sentence.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SentenceScore {
    /// log10 probability of the sentence, `</s>` included: the `f32` sum of its word scores in order.
    pub total: f32,
    /// Words scored as `<unk>`.
    pub oov: u64,
    /// Tokens scored: the words plus `</s>`.
    pub tokens: u64,
    /// The scores of the OOV words, in order (for the perplexity that excludes them).
    pub oov_log10: Vec<f32>,
}

impl SentenceScore {
    /// The line KenLM's `query` prints for the sentence: `Total: <log10> OOV: <n>`.
    ///
    /// The number is the shortest decimal that reads back as the same `f32`, as KenLM prints it
    /// ([`kenlm_number`]).
    pub fn kenlm_line(&self) -> String {
        format!("Total: {} OOV: {}", kenlm_number(self.total), self.oov)
    }
}

/// Corpus-level sums, updated sentence by sentence in text order.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Summary {
    /// Σ sentence totals (log10).
    pub total: f64,
    /// Σ scores of OOV words (log10).
    pub total_oov_only: f64,
    /// OOV words.
    pub oov: u64,
    /// Tokens, `</s>` included.
    pub tokens: u64,
    /// Sentences.
    pub sentences: u64,
}

impl Summary {
    /// Adds one sentence (sentences must be added in text order for bit-exact sums).
    pub fn add(&mut self, sentence: &SentenceScore) {
        for &p in &sentence.oov_log10 {
            self.total_oov_only += f64::from(p);
        }
        self.total += f64::from(sentence.total);
        self.oov += sentence.oov;
        self.tokens += sentence.tokens;
        self.sentences += 1;
    }

    /// 10^(−total / tokens); NaN for an empty corpus.
    pub fn perplexity_including_oovs(&self) -> f64 {
        10f64.powf(-(self.total / self.tokens as f64))
    }

    /// 10^(−(total − OOV scores) / (tokens − OOVs)); NaN when every token is an OOV.
    pub fn perplexity_excluding_oovs(&self) -> f64 {
        10f64.powf(-((self.total - self.total_oov_only) / (self.tokens - self.oov) as f64))
    }

    /// The summary lines of KenLM's `query`, each ending in a newline:
    /// `Perplexity including OOVs:\t…`, `Perplexity excluding OOVs:\t…`, `OOVs:\t…`, `Tokens:\t…`.
    pub fn kenlm_lines(&self) -> String {
        format!(
            "Perplexity including OOVs:\t{}\nPerplexity excluding OOVs:\t{}\nOOVs:\t{}\nTokens:\t{}\n",
            kenlm_number(self.perplexity_including_oovs()),
            kenlm_number(self.perplexity_excluding_oovs()),
            self.oov,
            self.tokens
        )
    }
}

/// Sentences below which [`score_sentences`] does not split its work between threads.
const MIN_PART: usize = 256;

/// Scores whole sentences (word ids, without `<s>` and `</s>`), each from the begin-of-sentence state and ending
/// with `</s>`, by lock-step batches; `out` is cleared and receives one score per sentence, in order.
///
/// With more than one thread in the current rayon pool, the sentences are split into one part per thread,
/// each scored by its own lock-step batches, so that the bookkeeping between batches runs in parallel too (the
/// batches themselves are answered in parallel by the model). Each sentence's words are scored and summed in
/// order either way, so the totals do not depend on the split.
pub fn score_sentences<M, S>(model: &M, sentences: &[S], out: &mut Vec<SentenceScore>)
where
    M: LanguageModel + ?Sized,
    S: AsRef<[WordId]> + Sync,
{
    let threads = rayon::current_num_threads();
    if threads <= 1 || sentences.len() < 2 * MIN_PART {
        return score_lock_step(model, sentences, out);
    }
    let part = sentences.len().div_ceil(threads).max(MIN_PART);
    let parts: Vec<Vec<SentenceScore>> = sentences
        .par_chunks(part)
        .map(|chunk| {
            let mut scores = Vec::new();
            score_lock_step(model, chunk, &mut scores);
            scores
        })
        .collect();
    out.clear();
    out.extend(parts.into_iter().flatten());
}

/// [`score_sentences`] on the calling thread: the model's [`LanguageModel::score_tokens`] (lock-step batches by
/// default), summed per sentence in order.
fn score_lock_step<M, S>(model: &M, sentences: &[S], out: &mut Vec<SentenceScore>)
where
    M: LanguageModel + ?Sized,
    S: AsRef<[WordId]>,
{
    let unk = model.unk_id();
    let words: Vec<&[WordId]> = sentences.iter().map(AsRef::as_ref).collect();
    let mut tokens = Vec::with_capacity(words.iter().map(|w| w.len() + 1).sum());
    model.score_tokens(&words, &mut tokens);
    out.clear();
    let mut at = 0;
    for sentence in &words {
        let mut score = SentenceScore::default();
        for (k, &log10) in tokens[at..=at + sentence.len()].iter().enumerate() {
            score.total += log10;
            score.tokens += 1;
            if sentence.get(k) == Some(&unk) {
                score.oov += 1;
                score.oov_log10.push(log10);
            }
        }
        at += sentence.len() + 1;
        out.push(score);
    }
}

/// Tokenizes `lines` (in parallel), maps the tokens to the model's ids and scores each line as a sentence with
/// [`score_sentences`]; `out` is cleared and receives one score per line.
///
/// `tokenize(line, emit)` calls `emit` with each token of the line: [`split_words`] for KenLM's whitespace
/// splitting, or any other tokenizer.
pub fn score_lines<M, L, T>(model: &M, lines: &[L], tokenize: T, out: &mut Vec<SentenceScore>)
where
    M: LanguageModel + ?Sized,
    L: AsRef<str> + Sync,
    T: Fn(&str, &mut dyn FnMut(&str)) + Sync,
{
    let sentences: Vec<Vec<WordId>> = lines
        .par_iter()
        .with_min_len(256)
        .map(|line| {
            let mut ids = Vec::new();
            tokenize(line.as_ref(), &mut |word| ids.push(model.word_id(word)));
            ids
        })
        .collect();
    score_sentences(model, &sentences, out);
}

/// Runs `work` on a rayon pool of `threads` threads (all cores when `None`), so that the batch scoring and
/// tokenization inside it use exactly that many.
pub fn in_thread_pool<R: Send>(threads: Option<usize>, work: impl FnOnce() -> R + Send) -> Result<R> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        if n == 0 {
            return Err(Error::InvalidOption("--threads must be at least 1".into()));
        }
        builder = builder.num_threads(n);
    }
    let pool = builder
        .build()
        .map_err(|e| Error::InvalidOption(format!("cannot start a pool of {threads:?} threads: {e}")))?;
    Ok(pool.install(work))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_kenlm() {
        let words: Vec<&str> = split_words(" a\tb\u{b}c\u{c}d\re  f\u{a0}g ").collect();
        assert_eq!(words, ["a", "b", "c", "d", "e", "f\u{a0}g"]);
        assert_eq!(split_words("   ").count(), 0);
    }

    #[test]
    fn summary_arithmetic() {
        let mut summary = Summary::default();
        summary.add(&SentenceScore {
            total: -3.0,
            oov: 1,
            tokens: 3,
            oov_log10: vec![-2.0],
        });
        summary.add(&SentenceScore {
            total: -1.0,
            oov: 0,
            tokens: 1,
            oov_log10: vec![],
        });
        assert_eq!(summary.perplexity_including_oovs(), 10.0);
        assert_eq!(summary.perplexity_excluding_oovs(), 10f64.powf(2.0 / 3.0));
        assert_eq!(
            summary.kenlm_lines(),
            format!(
                "Perplexity including OOVs:\t10\nPerplexity excluding OOVs:\t{}\nOOVs:\t1\nTokens:\t4\n",
                10f64.powf(2.0 / 3.0)
            )
        );
        let line = SentenceScore {
            total: -21.143948,
            oov: 2,
            ..SentenceScore::default()
        }
        .kenlm_line();
        assert_eq!(line, "Total: -21.143948 OOV: 2");
    }

    #[test]
    fn numbers_break_ties_to_even() {
        assert_eq!(kenlm_number(-27.226_562_5_f64 as f32), "-27.226562");
        assert_eq!(kenlm_number(-27.226563f32 - 2e-6), (-27.226563f32 - 2e-6).to_string());
        assert_eq!(kenlm_number(-21.143948f32), "-21.143948");
        assert_eq!(kenlm_number(0.0f32), "0");
        assert_eq!(kenlm_number(-100.0f32), "-100");
        assert_eq!(kenlm_number(f32::NEG_INFINITY), "-inf");
        assert_eq!(kenlm_number(53.492586291322944f64), "53.492586291322944");
        for x in [0.1f32, -1.3, -0.3, 1.0e-3, 123.456, -99.0, 16777215.0] {
            assert_eq!(kenlm_number(x).parse::<f32>().unwrap(), x);
        }
    }
}
