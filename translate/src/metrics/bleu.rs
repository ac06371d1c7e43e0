//! Corpus BLEU (Papineni et al. 2002) as sacreBLEU 2.6.0 computes it by default.

use std::collections::HashMap;
use std::ops::AddAssign;

use super::{SACREBLEU_VERSION, check_streams, maybe_lower, python_rstrip, python_split, signature, tokenize_13a};
use crate::Result;

/// The n-gram orders BLEU counts.
const MAX_ORDER: usize = 4;

/// BLEU with sacreBLEU's defaults: 13a tokenization, mixed case, exponential smoothing, no effective order.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bleu {
    /// Lowercase hypotheses and references first (sacreBLEU's `-lc`, signature `case:lc`).
    pub lowercase: bool,
}

/// The additive sufficient statistics of BLEU for one or many segments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BleuStats {
    /// Hypothesis tokens.
    pub sys_len: u64,
    /// Length of the closest reference (the shorter one on ties), summed.
    pub ref_len: u64,
    /// Clipped matching n-grams per order (1 to 4).
    pub correct: [u64; MAX_ORDER],
    /// Hypothesis n-grams per order.
    pub total: [u64; MAX_ORDER],
}

impl AddAssign for BleuStats {
    fn add_assign(&mut self, other: BleuStats) {
        self.sys_len += other.sys_len;
        self.ref_len += other.ref_len;
        for n in 0..MAX_ORDER {
            self.correct[n] += other.correct[n];
            self.total[n] += other.total[n];
        }
    }
}

impl std::iter::Sum for BleuStats {
    fn sum<I: Iterator<Item = BleuStats>>(iter: I) -> BleuStats {
        let mut total = BleuStats::default();
        for stats in iter {
            total += stats;
        }
        total
    }
}

/// A BLEU score with the figures sacreBLEU prints beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct BleuScore {
    /// The score, 0 to 100.
    pub score: f64,
    /// Precision per order in percent (after smoothing).
    pub precisions: [f64; MAX_ORDER],
    /// The brevity penalty.
    pub bp: f64,
    /// Hypothesis tokens.
    pub sys_len: u64,
    /// Reference tokens (closest lengths).
    pub ref_len: u64,
    /// Clipped matches per order.
    pub correct: [u64; MAX_ORDER],
    /// Hypothesis n-grams per order.
    pub total: [u64; MAX_ORDER],
    /// The signature, e.g. `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`.
    pub signature: String,
}

impl BleuScore {
    /// hyp_len / ref_len (0 without reference tokens).
    pub fn ratio(&self) -> f64 {
        if self.ref_len == 0 {
            0.0
        } else {
            self.sys_len as f64 / self.ref_len as f64
        }
    }

    /// The part after the score: `p1/p2/p3/p4 (BP = … ratio = … hyp_len = … ref_len = …)`.
    pub fn verbose(&self) -> String {
        let precisions = self
            .precisions
            .iter()
            .map(|p| format!("{p:.1}"))
            .collect::<Vec<_>>()
            .join("/");
        format!(
            "{precisions} (BP = {:.3} ratio = {:.3} hyp_len = {} ref_len = {})",
            self.bp,
            self.ratio(),
            self.sys_len,
            self.ref_len
        )
    }

    /// sacreBLEU's text line: `BLEU|<signature> = <score> <verbose>`, the score with `width` decimals.
    pub fn format(&self, width: usize) -> String {
        format!("BLEU|{} = {:.width$} {}", self.signature, self.score, self.verbose())
    }
}

/// The n-grams (orders 1 to 4) of a token sequence with their counts.
fn ngram_counts<'a>(tokens: &'a [&'a str]) -> HashMap<&'a [&'a str], u32> {
    let mut counts = HashMap::with_capacity(tokens.len() * MAX_ORDER);
    for n in 1..=MAX_ORDER {
        for ngram in tokens.windows(n) {
            *counts.entry(ngram).or_insert(0) += 1;
        }
    }
    counts
}

impl Bleu {
    /// Lowercases (if asked), strips trailing whitespace and tokenizes a segment with 13a.
    pub fn preprocess(&self, segment: &str) -> String {
        tokenize_13a(python_rstrip(&maybe_lower(segment, self.lowercase)))
    }

    /// The statistics of one hypothesis against its references (at least one).
    pub fn segment_stats(&self, hypothesis: &str, references: &[&str]) -> BleuStats {
        let references: Vec<String> = references.iter().map(|r| self.preprocess(r)).collect();
        let references: Vec<&str> = references.iter().map(String::as_str).collect();
        self.tokenized_segment_stats(&self.preprocess(hypothesis), &references)
    }

    /// [`segment_stats`](Self::segment_stats) for segments already passed through [`preprocess`](Self::preprocess).
    pub fn tokenized_segment_stats(&self, hypothesis: &str, references: &[&str]) -> BleuStats {
        let mut ref_ngrams: HashMap<&[&str], u32> = HashMap::new();
        let mut ref_lens = Vec::with_capacity(references.len());
        let ref_tokens: Vec<Vec<&str>> = references.iter().map(|r| python_split(r).collect()).collect();
        for tokens in &ref_tokens {
            ref_lens.push(tokens.len() as u64);
            for (ngram, count) in ngram_counts(tokens) {
                let best = ref_ngrams.entry(ngram).or_insert(0);
                *best = (*best).max(count);
            }
        }
        let hyp_tokens: Vec<&str> = python_split(hypothesis).collect();
        let mut stats = BleuStats {
            sys_len: hyp_tokens.len() as u64,
            ref_len: closest_ref_len(hyp_tokens.len() as u64, &ref_lens),
            ..BleuStats::default()
        };
        for (ngram, count) in ngram_counts(&hyp_tokens) {
            let n = ngram.len() - 1;
            stats.total[n] += u64::from(count);
            if let Some(&in_ref) = ref_ngrams.get(ngram) {
                stats.correct[n] += u64::from(count.min(in_ref));
            }
        }
        stats
    }

    /// The signature for `nrefs` reference streams.
    pub fn signature(&self, nrefs: usize) -> String {
        signature(&[
            ("nrefs", nrefs.to_string()),
            ("case", if self.lowercase { "lc" } else { "mixed" }.to_string()),
            ("eff", "no".to_string()),
            ("tok", "13a".to_string()),
            ("smooth", "exp".to_string()),
            ("version", SACREBLEU_VERSION.to_string()),
        ])
    }

    /// Corpus BLEU of `hypotheses` against reference streams (`references[r][i]` is reference `r` of segment
    /// `i`). Every stream must have one segment per hypothesis.
    pub fn corpus_score<H: AsRef<str>, R: AsRef<str>>(
        &self,
        hypotheses: &[H],
        references: &[Vec<R>],
    ) -> Result<BleuScore> {
        let segments = check_streams(hypotheses.len(), references)?;
        let stats = (0..segments)
            .map(|i| {
                let refs: Vec<&str> = references.iter().map(|stream| stream[i].as_ref()).collect();
                self.segment_stats(hypotheses[i].as_ref(), &refs)
            })
            .sum();
        Ok(self.score_from_stats(&stats, references.len()))
    }

    /// The score of summed statistics (sacreBLEU's `compute_bleu` with `smooth_method='exp'`).
    pub fn score_from_stats(&self, stats: &BleuStats, nrefs: usize) -> BleuScore {
        let mut result = BleuScore {
            score: 0.0,
            precisions: [0.0; MAX_ORDER],
            bp: 1.0,
            sys_len: stats.sys_len,
            ref_len: stats.ref_len,
            correct: stats.correct,
            total: stats.total,
            signature: self.signature(nrefs),
        };
        result.score = bleu_from_stats(stats, &mut result.precisions, &mut result.bp);
        result
    }
}

/// The BLEU score (0–100) of summed statistics; fills in the precisions and brevity penalty.
pub(crate) fn bleu_from_stats(stats: &BleuStats, precisions: &mut [f64; MAX_ORDER], bp: &mut f64) -> f64 {
    *bp = 1.0;
    if stats.sys_len < stats.ref_len {
        *bp = if stats.sys_len > 0 {
            (1.0 - stats.ref_len as f64 / stats.sys_len as f64).exp()
        } else {
            0.0
        };
    }
    *precisions = [0.0; MAX_ORDER];
    if stats.correct.iter().all(|&c| c == 0) {
        return 0.0;
    }
    let mut smooth = 1.0f64;
    for ((precision, &correct), &total) in precisions.iter_mut().zip(&stats.correct).zip(&stats.total) {
        if total == 0 {
            break;
        }
        if correct == 0 {
            smooth *= 2.0;
            *precision = 100.0 / (smooth * total as f64);
        } else {
            *precision = 100.0 * correct as f64 / total as f64;
        }
    }
    // sacreBLEU's my_log floors log(0) at -9999999999.
    let log_sum: f64 = precisions
        .iter()
        .map(|&p| if p == 0.0 { -9_999_999_999.0 } else { p.ln() })
        .sum();
    *bp * (log_sum / MAX_ORDER as f64).exp()
}

/// The reference length closest to `hyp_len`, the shorter one on ties.
fn closest_ref_len(hyp_len: u64, ref_lens: &[u64]) -> u64 {
    let mut best: Option<(u64, u64)> = None;
    for &len in ref_lens {
        let diff = hyp_len.abs_diff(len);
        match best {
            None => best = Some((diff, len)),
            Some((best_diff, best_len)) if diff < best_diff || (diff == best_diff && len < best_len) => {
                best = Some((diff, len));
            }
            Some(_) => {}
        }
    }
    best.map_or(0, |(_, len)| len)
}
