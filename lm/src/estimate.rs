//! Estimating a back-off model from counts: interpolated modified Kneser-Ney exactly as KenLM's `lmplz` computes
//! it, or Stupid Backoff.
//!
//! [`estimate`] takes the sorted order-N counts of [`crate::count`], builds the suffix trie of all orders (with
//! Kneser-Ney adjusted counts, see `trie`), and computes for every n-gram a log10 probability and, below order
//! N, a log10 backoff weight. The result, [`Model`], writes itself as ARPA ([`Model::write_arpa`]) in the same
//! n-gram order as `lmplz` (unigrams by word id, which is first-seen order; higher orders in suffix order).
//!
//! [`estimate_to_arpa`] writes the ARPA file directly. It keeps the trie in memory (about 16 bytes per n-gram at
//! the peak) when that fits the counts' memory budget, and otherwise streams the estimation through sorted
//! temporary files the way `lmplz` does (see `stream`: an adjust pass, then per order a sort into context order,
//! a context pass, a sort back into suffix order and an interpolation pass), which keeps memory within the
//! budget whatever the corpus size. Both write the same bytes ([`Strategy`] forces one).
//!
//! # Modified Kneser-Ney, as `lmplz` does it
//! - Discounts D1, D2, D3+ per order from the counts of counts of adjusted counts (Chen & Goodman eq. 26). When
//!   one is undefined or out of range, estimation fails unless [`EstimateConfig::discount_fallback`] gives
//!   replacement values (`lmplz --discount_fallback`, default 0.5 1 1.5); the substitution is reported in
//!   [`Model::warnings`].
//! - Probabilities are interpolated with the lower order; unigrams with the uniform distribution over the
//!   vocabulary without `<s>`. `<unk>` gets only interpolation mass (`lmplz`'s default `--interpolate_unigrams`),
//!   `<s>` gets probability 1 (log10 0) so that scoring it is free.
//! - Arithmetic is single precision, in the same order of operations as `lmplz`, so that the ARPA values come out
//!   the same to the last printed digit in the vast majority of entries.
//! - Pruning (`--prune T1 T2 …`, thresholds padded to the order with the last one): an n-gram of order ≥ 2 whose
//!   raw count is at most its order's threshold is dropped; its mass goes to the backoff of its context.
//!   Thresholds must not decrease, so every context and suffix of a kept n-gram is kept. Discounts still come
//!   from all n-grams.
//!
//! # Stupid Backoff
//! Scores, not probabilities: S(w | c) = count(c w) / count(c) from raw counts (unigrams: count(w) over all
//! tokens including `</s>`), stored as log10 S, and log10 α as the backoff weight of every n-gram below order N
//! (except those ending in `</s>`). Scores of a context do not sum to one. `<unk>` scores like a word seen once.
//! Read through the ARPA back-off rule, an n-gram whose whole context was never seen backs off without paying α
//! (a context absent from the file has backoff 0), where Brants et al. would charge α once more.

mod format;
mod stream;
mod trie;

use std::io::Write;
use std::path::Path;

use rayon::prelude::*;

use crate::count::FullCounts;
use crate::vocab::{BOS, UNK, Vocab};
use crate::{Error, Result};

pub(crate) use trie::{Counting, ParentCursor, Trie};

/// Which estimator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Smoothing {
    /// Interpolated modified Kneser-Ney, as KenLM's `lmplz`.
    ModifiedKneserNey,
    /// Stupid Backoff (Brants et al. 2007) with back-off factor `alpha` (0 < α ≤ 1, usually 0.4).
    StupidBackoff {
        /// The back-off factor.
        alpha: f32,
    },
}

/// The discounts of one order: `amount[c]` is subtracted from an adjusted count c (c ≥ 3 uses `amount[3]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Discount {
    /// `[0, D1, D2, D3+]`.
    pub amount: [f32; 4],
}

impl Discount {
    /// `lmplz --discount_fallback`'s default: D1 = 0.5, D2 = 1, D3+ = 1.5.
    pub const FALLBACK: Discount = Discount {
        amount: [0.0, 0.5, 1.0, 1.5],
    };

    /// The discount for adjusted count `count`.
    #[inline]
    pub fn get(&self, count: u64) -> f32 {
        self.amount[count.min(3) as usize]
    }

    /// `count − D(count)` in single precision.
    #[inline]
    pub fn apply(&self, count: u64) -> f32 {
        count as f32 - self.get(count)
    }

    /// The discounts of Chen & Goodman's eq. 26 from counts of counts `n[1..=4]`, as `lmplz` computes them; `None`
    /// when one is undefined (a zero count of counts) or out of its range (0, c]. (`lmplz` also accepts a discount
    /// of exactly 0, which only small or artificial data produce; a context whose continuations all have such
    /// counts then gets no probability mass for unseen words, a backoff of log10(0) = -inf, so here it counts as
    /// a failure, and `--discount-fallback` applies.)
    pub fn from_counts_of_counts(n: &[u64; 5]) -> Option<Discount> {
        if n[1] == 0 || n[2] == 0 || n[3] == 0 {
            return None;
        }
        let y = n[1] as f32 / (n[1] as f64 + 2.0 * n[2] as f64) as f32;
        let mut amount = [0.0f32; 4];
        for j in 1..4 {
            amount[j] = j as f32 - (j + 1) as f32 * y * n[j + 1] as f32 / n[j] as f32;
            if !(amount[j] > 0.0 && amount[j] <= j as f32) {
                return None;
            }
        }
        Some(Discount { amount })
    }
}

/// How to estimate.
#[derive(Debug, Clone)]
pub struct EstimateConfig {
    /// The estimator.
    pub smoothing: Smoothing,
    /// Pruning thresholds per order as given (`--prune`): at most N values, not decreasing, the first 0; padded
    /// to N with the last. Empty: no pruning.
    pub prune: Vec<u64>,
    /// Discounts to use for an order whose closed-form discounts fail (`None`: fail, as `lmplz` does).
    pub discount_fallback: Option<Discount>,
}

impl Default for EstimateConfig {
    fn default() -> Self {
        EstimateConfig {
            smoothing: Smoothing::ModifiedKneserNey,
            prune: Vec::new(),
            discount_fallback: None,
        }
    }
}

impl EstimateConfig {
    /// Checks the options against the model order and returns the thresholds padded to `order`.
    pub fn thresholds(&self, order: usize) -> Result<Vec<u64>> {
        if let Smoothing::StupidBackoff { alpha } = self.smoothing
            && !(alpha > 0.0 && alpha <= 1.0)
        {
            return Err(Error::InvalidOption(format!(
                "Stupid Backoff's alpha must be in (0, 1], not {alpha}"
            )));
        }
        if let Some(d) = &self.discount_fallback {
            for j in 1..4 {
                if !(d.amount[j] > 0.0 && d.amount[j] <= j as f32) {
                    return Err(Error::InvalidOption(format!(
                        "fallback discount D{j} = {} is not in (0, {j}]",
                        d.amount[j]
                    )));
                }
            }
        }
        if self.prune.is_empty() {
            return Ok(vec![0; order]);
        }
        if self.prune.len() > order {
            return Err(Error::InvalidOption(format!(
                "{} pruning thresholds given for an order-{order} model",
                self.prune.len()
            )));
        }
        if self.prune[0] != 0 {
            return Err(Error::InvalidOption(
                "unigrams cannot be pruned: the first pruning threshold must be 0".to_string(),
            ));
        }
        if self.prune.windows(2).any(|w| w[0] > w[1]) {
            return Err(Error::InvalidOption(
                "pruning thresholds must not decrease from one order to the next".to_string(),
            ));
        }
        let mut t = self.prune.clone();
        t.resize(order, *self.prune.last().unwrap_or(&0));
        Ok(t)
    }
}

/// One order of an estimated model: entries in suffix order, as in the trie.
#[derive(Debug)]
struct Table {
    /// Leftmost word of each entry.
    word: Vec<u32>,
    /// CSR offsets into the next order (empty for the highest order).
    child: Vec<u32>,
    /// log10 probability (or score).
    prob: Vec<f32>,
    /// log10 backoff (empty for the highest order).
    backoff: Vec<f32>,
    /// Entries kept after pruning (empty: all).
    keep: Vec<bool>,
    /// Number of kept entries.
    kept: u64,
}

/// An estimated back-off model. See the [module documentation](self).
#[derive(Debug)]
pub struct Model {
    vocab: Vocab,
    tables: Vec<Table>,
    discounts: Vec<Discount>,
    smoothing: Smoothing,
    warnings: Vec<String>,
}

/// The sorted order-N counts → a model. See the [module documentation](self).
pub fn estimate(counts: &FullCounts, config: &EstimateConfig) -> Result<Model> {
    let trie = build(counts, config)?;
    let mut collect = Collect::default();
    let est = run(trie, config, &mut collect)?;
    Ok(Model::assemble(counts.vocab.clone(), est, collect, config.smoothing))
}

/// How [`estimate_to_arpa_with`] holds the n-grams while estimating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// In memory when the trie fits the counts' memory budget ([`FullCounts::memory`]), streamed otherwise.
    #[default]
    Auto,
    /// The whole suffix trie in memory (about 16 bytes per n-gram at the peak): the fastest.
    InMemory,
    /// Streamed through sorted temporary files in [`FullCounts::temp_dir`], like `lmplz`: memory stays within the
    /// budget (plus a few tens of MB) whatever the corpus size.
    Streamed,
}

/// Estimates straight into an ARPA file at `path` (through a temporary file renamed when complete), writing each
/// order as soon as it is final instead of keeping the whole model: this needs about 12 bytes per n-gram less
/// than [`estimate`] followed by [`Model::write_arpa`], and gives the same bytes. `counts` is consumed and freed
/// as soon as it has been read. In memory or streamed through disk as the counts' memory budget allows
/// ([`Strategy::Auto`]). Returns the n-gram counts per order and any warnings.
pub fn estimate_to_arpa(counts: FullCounts, config: &EstimateConfig, path: &Path) -> Result<(Vec<u64>, Vec<String>)> {
    estimate_to_arpa_with(counts, config, path, Strategy::Auto)
}

/// [`estimate_to_arpa`] with the strategy chosen by the caller; every strategy writes the same bytes.
pub fn estimate_to_arpa_with(
    mut counts: FullCounts,
    config: &EstimateConfig,
    path: &Path,
    strategy: Strategy,
) -> Result<(Vec<u64>, Vec<String>)> {
    let streamed = match strategy {
        Strategy::Auto => stream::needs_streaming(&counts),
        Strategy::InMemory => false,
        Strategy::Streamed => true,
    };
    if streamed {
        config.thresholds(counts.order())?;
        check_not_empty(&counts)?;
        return stream::estimate_to_arpa(counts, config, path);
    }
    // Sorted counts still in memory go to disk first, so that they and the trie are never in memory together.
    counts.spill_if_larger_than(SPILL_BEFORE_BUILD)?;
    let trie = build(&counts, config)?;
    let vocab = counts.vocab.clone();
    drop(counts);
    let mut sink = ArpaSink {
        path,
        vocab: &vocab,
        writer: None,
        arena: None,
    };
    let est = run(trie, config, &mut sink)?;
    if let Some(writer) = sink.writer {
        writer.finish()?;
    }
    Ok((kept_counts(&est.trie, &est.marks), est.warnings))
}

/// In-memory sorted counts above this many bytes are written to disk before the trie is built.
const SPILL_BEFORE_BUILD: usize = 64 << 20;

fn build(counts: &FullCounts, config: &EstimateConfig) -> Result<Trie> {
    let order = counts.order();
    let thresholds = config.thresholds(order)?;
    let pruning = thresholds.iter().any(|&t| t > 0);
    check_not_empty(counts)?;
    let counting = match config.smoothing {
        Smoothing::StupidBackoff { .. } => Counting::Raw,
        Smoothing::ModifiedKneserNey if pruning => Counting::AdjustedAndRaw,
        Smoothing::ModifiedKneserNey => Counting::Adjusted,
    };
    Trie::build(counts, counting)
}

fn run(trie: Trie, config: &EstimateConfig, sink: &mut dyn Sink) -> Result<Estimated> {
    let thresholds = config.thresholds(trie.order())?;
    match config.smoothing {
        Smoothing::ModifiedKneserNey => mkn(trie, &thresholds, config.discount_fallback, sink),
        Smoothing::StupidBackoff { alpha } => stupid(trie, &thresholds, alpha, sink),
    }
}

fn check_not_empty(counts: &FullCounts) -> Result<()> {
    if counts.sentences == 0 && counts.tokens == 0 && counts_is_empty(counts)? {
        return Err(Error::Empty(
            "no text to estimate from: the input has no lines".to_string(),
        ));
    }
    Ok(())
}

fn counts_is_empty(counts: &FullCounts) -> Result<bool> {
    let mut any = false;
    counts.for_each(|_, _| {
        any = true;
        Ok(())
    })?;
    Ok(!any)
}

/// Marks the entries of each order ≥ 2 whose raw count is at most the threshold.
fn prune_marks(trie: &Trie, thresholds: &[u64], raw_in_count: bool) -> Vec<Vec<bool>> {
    trie.levels
        .iter()
        .enumerate()
        .map(|(k, level)| {
            let t = thresholds[k];
            if k == 0 || t == 0 {
                return Vec::new();
            }
            let raw = if raw_in_count { &level.count } else { &level.raw };
            raw.iter().map(|&r| u64::from(r) > t).collect()
        })
        .collect()
}

/// For each entry of level `k` (0-based, k ≥ 1), the index of its context (all words but the last) in level k−1.
/// `prev_ctx` are the contexts of level k−1 (unused for k = 1).
fn contexts(trie: &Trie, k: usize, prev_ctx: &[u32]) -> Vec<u32> {
    let level = &trie.levels[k];
    if k == 1 {
        // The context of a bigram "w x" is the unigram w, whose index is its id.
        return level.word.clone();
    }
    let lower = &trie.levels[k - 1];
    let lower2 = &trie.levels[k - 2];
    let mut parents = ParentCursor::new(&lower.child);
    let mut out = Vec::with_capacity(level.len());
    for (i, &w) in level.word.iter().enumerate() {
        // entry = w · parent; parent = w2 … wk; context = w · (w2 … wk−1) = w · ctx(parent).
        let parent = parents.parent_of(i);
        let t = prev_ctx[parent] as usize;
        let (lo, hi) = (lower2.child[t] as usize, lower2.child[t + 1] as usize);
        let pos = lower.word[lo..hi].binary_search(&w).unwrap_or_else(|_| {
            // Every context of an n-gram is itself an n-gram of the model; the trie guarantees it.
            unreachable!("context of an n-gram missing from the trie")
        });
        out.push((lo + pos) as u32);
    }
    out
}

/// Receives each order as soon as its probabilities and backoffs are final, lowest order first.
trait Sink {
    /// Called once before the first level with the number of kept n-grams per order.
    fn start(&mut self, _counts: &[u64]) -> Result<()> {
        Ok(())
    }

    /// Level `k` (0-based) of `trie` is final: log10 probabilities and (below the highest order) backoffs.
    fn level(&mut self, trie: &Trie, k: usize, prob: Vec<f32>, backoff: Vec<f32>, keep: &[bool]) -> Result<()>;
}

/// Keeps everything, for [`Model`].
#[derive(Default)]
struct Collect {
    prob: Vec<Vec<f32>>,
    backoff: Vec<Vec<f32>>,
}

impl Sink for Collect {
    fn level(&mut self, _: &Trie, _: usize, prob: Vec<f32>, backoff: Vec<f32>, _: &[bool]) -> Result<()> {
        self.prob.push(prob);
        self.backoff.push(backoff);
        Ok(())
    }
}

type ArpaFileWriter = crate::arpa::write::ArpaWriter<std::io::BufWriter<tempfile::NamedTempFile>>;

/// Writes each order to an ARPA file as soon as it is final, then forgets it.
struct ArpaSink<'a> {
    path: &'a Path,
    vocab: &'a Vocab,
    writer: Option<format::TextWriter>,
    /// The vocabulary laid out for formatting, made at the first level.
    arena: Option<format::WordArena>,
}

/// Lines per chunk formatted by one task of the in-memory ARPA writer.
const SINK_CHUNK: usize = 1 << 14;

/// Chunks formatted in parallel at a time; twice as many buffers circulate (one group being formatted while the
/// previous one is written).
const SINK_GROUP: usize = 16;

impl Sink for ArpaSink<'_> {
    fn start(&mut self, counts: &[u64]) -> Result<()> {
        let writer = crate::arpa::write::ArpaWriter::create(self.path, counts)?;
        self.writer = Some(format::TextWriter::new(writer, 2 * SINK_GROUP, SINK_CHUNK * 48));
        Ok(())
    }

    fn level(&mut self, trie: &Trie, k: usize, prob: Vec<f32>, backoff: Vec<f32>, keep: &[bool]) -> Result<()> {
        let Some(writer) = self.writer.as_mut() else {
            return Err(Error::InvalidOption("ARPA sink used before start".to_string()));
        };
        writer.begin_order(k + 1)?;
        let words: Vec<&[u32]> = trie.levels.iter().map(|l| l.word.as_slice()).collect();
        let child: Vec<&[u32]> = trie.levels.iter().map(|l| l.child.as_slice()).collect();
        // Lines are formatted in parallel, a group of chunks at a time, and written in order by the writer's
        // thread while the next group is formatted.
        let len = words[k].len();
        if self.arena.is_none() {
            self.arena = Some(format::WordArena::new(self.vocab)?);
        }
        let Some(arena) = self.arena.as_ref() else {
            return Err(Error::InvalidOption("no word arena".to_string()));
        };
        let mut start = 0;
        while start < len {
            let end = (start + SINK_CHUNK * SINK_GROUP).min(len);
            let chunks: Vec<(usize, usize)> = (start..end)
                .step_by(SINK_CHUNK)
                .map(|a| (a, (a + SINK_CHUNK).min(end)))
                .collect();
            let mut buffers = Vec::with_capacity(chunks.len());
            for _ in &chunks {
                buffers.push(writer.buffer()?);
            }
            let done: Vec<Result<()>> = buffers
                .par_iter_mut()
                .zip(&chunks)
                .map(|(text, &(a, b))| {
                    format::with_cache(|cache| {
                        walk_range_ids(&words, &child, k, keep, a..b, |i, ids| {
                            text.line(cache, arena, prob[i], ids.iter().copied(), backoff.get(i).copied());
                            Ok(())
                        })
                    })
                })
                .collect();
            for (t, r) in buffers.into_iter().zip(done) {
                r?;
                writer.write(t)?;
            }
            start = end;
        }
        Ok(())
    }
}

/// [`walk_range`] over the whole level.
fn walk_level(
    vocab: &Vocab,
    words: &[&[u32]],
    child: &[&[u32]],
    k: usize,
    keep: &[bool],
    f: impl FnMut(usize, &[&str]) -> Result<()>,
) -> Result<()> {
    walk_range(vocab, words, child, k, keep, 0..words[k].len(), f)
}

/// Calls `f(index, words)` for every kept entry of level `k` (0-based) in `range`, in order, with its words
/// oldest first.
fn walk_range(
    vocab: &Vocab,
    words: &[&[u32]],
    child: &[&[u32]],
    k: usize,
    keep: &[bool],
    range: std::ops::Range<usize>,
    mut f: impl FnMut(usize, &[&str]) -> Result<()>,
) -> Result<()> {
    let mut text: Vec<&str> = vec![""; k + 1];
    walk_range_ids(words, child, k, keep, range, |i, ids| {
        for (t, &w) in text.iter_mut().zip(ids) {
            *t = vocab.word(w);
        }
        f(i, &text)
    })
}

/// [`walk_range`] with word ids instead of words.
fn walk_range_ids(
    words: &[&[u32]],
    child: &[&[u32]],
    k: usize,
    keep: &[bool],
    range: std::ops::Range<usize>,
    mut f: impl FnMut(usize, &[u32]) -> Result<()>,
) -> Result<()> {
    let mut text: Vec<u32> = vec![0; k + 1];
    let mut ids = vec![0usize; k + 1];
    // Cursors positioned at the path of the first entry.
    let mut cursors: Vec<ParentCursor<'_>> = Vec::with_capacity(k);
    ids[k] = range.start;
    for j in (0..k).rev() {
        let cursor = ParentCursor::starting_at(child[j], ids[j + 1]);
        ids[j] = cursor.current();
        cursors.push(cursor);
    }
    cursors.reverse();
    for i in range {
        // ids[j]: the entry of level j on the path of entry i (ids[k] = i).
        ids[k] = i;
        for j in (0..k).rev() {
            ids[j] = cursors[j].parent_of(ids[j + 1]);
        }
        if !(keep.is_empty() || keep[i]) {
            continue;
        }
        // The entry at level j contributes its leftmost word, which is word k − j of the n-gram.
        for j in 0..=k {
            text[k - j] = words[j][ids[j]];
        }
        f(i, &text)?;
    }
    Ok(())
}

/// Kept entries per order (the ARPA `\data\` counts).
fn kept_counts(trie: &Trie, marks: &[Vec<bool>]) -> Vec<u64> {
    trie.levels
        .iter()
        .zip(marks)
        .map(|(l, m)| {
            if m.is_empty() {
                l.len() as u64
            } else {
                m.iter().filter(|&&k| k).count() as u64
            }
        })
        .collect()
}

/// What an estimator hands back besides what went to the sink.
struct Estimated {
    trie: Trie,
    marks: Vec<Vec<bool>>,
    discounts: Vec<Discount>,
    warnings: Vec<String>,
}

/// The discounts of every order from its counts of counts, substituting `fallback` (with a warning) where the
/// closed form fails.
fn discounts_from(counts_of_counts: &[[u64; 5]], fallback: Option<Discount>) -> Result<(Vec<Discount>, Vec<String>)> {
    let mut warnings = Vec::new();
    let mut discounts = Vec::with_capacity(counts_of_counts.len());
    for (k, coc) in counts_of_counts.iter().enumerate() {
        match Discount::from_counts_of_counts(coc) {
            Some(d) => discounts.push(d),
            None => {
                let message = bad_discount_message(k + 1, coc);
                match fallback {
                    Some(d) => {
                        warnings.push(format!(
                            "{message}; substituting fallback discounts D1={} D2={} D3+={}",
                            d.amount[1], d.amount[2], d.amount[3]
                        ));
                        discounts.push(d);
                    }
                    None => {
                        return Err(Error::InvalidOption(format!(
                            "{message}. Is this small or artificial data? Pass --discount-fallback to use fixed \
                             discounts (0.5 1 1.5) instead"
                        )));
                    }
                }
            }
        }
    }
    Ok((discounts, warnings))
}

/// Modified Kneser-Ney unigram probabilities (not logs) from adjusted counts by word id: interpolated with the
/// uniform distribution over the vocabulary without `<s>`; `<s>` gets 1.
fn mkn_unigrams(count: &[u32], d: &Discount) -> Vec<f32> {
    let (gamma0, den0) = {
        let mut den = 0u64;
        let mut c = [0u64; 4];
        for &a in count {
            den += u64::from(a);
            if a > 0 {
                c[a.min(3) as usize] += 1;
            }
        }
        let den = den as f32;
        (gamma(d, &c, 0, den), den)
    };
    let vocab_size = (count.len() as u64).saturating_sub(1).max(1);
    let uniform = (1.0f64 / f64::from(vocab_size as f32)) as f32;
    count
        .iter()
        .enumerate()
        .map(|(id, &a)| match id as u32 {
            UNK => gamma0 * uniform,
            BOS => 1.0,
            _ => d.apply(u64::from(a)) / den0 + gamma0 * uniform,
        })
        .collect()
}

/// Stupid Backoff unigram scores (log10) from raw counts by word id.
fn stupid_unigrams(count: &[u32]) -> Vec<f32> {
    // All tokens that can be predicted: every word and </s>, not <s>.
    let total: u64 = count
        .iter()
        .enumerate()
        .filter(|&(id, _)| id as u32 != BOS)
        .map(|(_, &c)| u64::from(c))
        .sum();
    let total = total.max(1) as f64;
    count
        .iter()
        .enumerate()
        .map(|(id, &c)| match id as u32 {
            BOS => 0.0,
            UNK => (1.0 / total).log10() as f32,
            _ => (f64::from(c) / total).log10() as f32,
        })
        .collect()
}

fn mkn(mut trie: Trie, thresholds: &[u64], fallback: Option<Discount>, sink: &mut dyn Sink) -> Result<Estimated> {
    let n = trie.order();
    let (discounts, warnings) = discounts_from(&trie.counts_of_counts, fallback)?;
    let marks = prune_marks(&trie, thresholds, false);
    for level in &mut trie.levels {
        level.raw = Vec::new();
    }
    sink.start(&kept_counts(&trie, &marks))?;

    let mut probs = mkn_unigrams(&trie.levels[0].count, &discounts[0]);
    trie.levels[0].count = Vec::new();

    let mut prev_ctx: Vec<u32> = Vec::new();
    for k in 1..n {
        let ctx = contexts(&trie, k, &prev_ctx);
        drop(std::mem::take(&mut prev_ctx));
        let lower = &trie.levels[k - 1];
        let level = &trie.levels[k];
        let keep = &marks[k];
        let d = discounts[k];
        // Context statistics over the lower level: denominator, counts of kept n-grams by discount class, and the
        // pruned mass.
        let m = lower.len();
        let mut den = vec![0u32; m];
        let mut classes = vec![[0u32; 3]; m];
        let mut pruned_mass = if keep.is_empty() { Vec::new() } else { vec![0u32; m] };
        for (i, &c) in ctx.iter().enumerate() {
            let c = c as usize;
            let a = level.count[i];
            den[c] = den[c].checked_add(a).ok_or_else(|| trie::too_big("a denominator"))?;
            if keep.is_empty() || keep[i] {
                if a > 0 {
                    classes[c][(a.min(3) - 1) as usize] += 1;
                }
            } else {
                pruned_mass[c] += a;
            }
        }
        let mut gammas = vec![f32::NAN; m];
        for c in 0..m {
            if den[c] == 0 {
                continue;
            }
            let counts = [
                0u64,
                u64::from(classes[c][0]),
                u64::from(classes[c][1]),
                u64::from(classes[c][2]),
            ];
            let pm = if pruned_mass.is_empty() {
                0
            } else {
                u64::from(pruned_mass[c])
            };
            gammas[c] = gamma(&d, &counts, pm, den[c] as f32);
        }
        drop(classes);
        drop(pruned_mass);
        // Probabilities of this level, interpolated with their suffix's.
        let mut parents = ParentCursor::new(&lower.child);
        let mut p = vec![0f32; level.len()];
        for i in 0..level.len() {
            let parent = parents.parent_of(i);
            if !(keep.is_empty() || keep[i]) {
                continue;
            }
            let c = ctx[i] as usize;
            let a = u64::from(level.count[i]);
            p[i] = d.apply(a) / den[c] as f32 + gammas[c] * probs[parent];
        }
        drop(den);
        trie.levels[k].count = Vec::new();
        // The lower level is complete: its backoffs are the gammas of the contexts it provides.
        let lower_probs = std::mem::replace(&mut probs, p);
        prev_ctx = ctx;
        sink.level(
            &trie,
            k - 1,
            log_probs(lower_probs),
            log_backoffs(gammas),
            &marks[k - 1],
        )?;
    }
    drop(prev_ctx);
    sink.level(&trie, n - 1, log_probs(probs), Vec::new(), &marks[n - 1])?;
    Ok(Estimated {
        trie,
        marks,
        discounts,
        warnings,
    })
}

/// log10 of probabilities, in place.
fn log_probs(mut p: Vec<f32>) -> Vec<f32> {
    p.par_iter_mut().for_each(|p| *p = p.log10().min(0.0));
    p
}

/// log10 of the gammas, in place; a lower-order n-gram that is no context (NaN: never set) has backoff 0.
fn log_backoffs(mut g: Vec<f32>) -> Vec<f32> {
    g.par_iter_mut()
        .for_each(|g| *g = if g.is_nan() { 0.0 } else { g.log10() });
    g
}

#[allow(clippy::needless_range_loop)]
fn gamma(d: &Discount, counts: &[u64; 4], pruned_mass: u64, den: f32) -> f32 {
    let mut g = 0.0f32;
    for i in 1..4 {
        g += d.amount[i] * counts[i] as f32;
    }
    g += pruned_mass as f32;
    g / den
}

#[allow(clippy::needless_range_loop)]
fn bad_discount_message(order: usize, n: &[u64; 5]) -> String {
    for j in 1..4 {
        if n[j] == 0 {
            return format!(
                "could not calculate Kneser-Ney discounts for {order}-grams with adjusted count {}: no {order}-grams \
                 have adjusted count {j}",
                j + 1
            );
        }
    }
    let d = Discount {
        amount: {
            let y = n[1] as f32 / (n[1] as f64 + 2.0 * n[2] as f64) as f32;
            let mut a = [0.0f32; 4];
            for j in 1..4 {
                a[j] = j as f32 - (j + 1) as f32 * y * n[j + 1] as f32 / n[j] as f32;
            }
            a
        },
    };
    let j = (1..4)
        .find(|&j| !(d.amount[j] > 0.0 && d.amount[j] <= j as f32))
        .unwrap_or(1);
    format!(
        "{order}-gram discount out of range for adjusted count {j}: {}",
        d.amount[j]
    )
}

fn stupid(trie: Trie, thresholds: &[u64], alpha: f32, sink: &mut dyn Sink) -> Result<Estimated> {
    let n = trie.order();
    let marks = prune_marks(&trie, thresholds, true);
    sink.start(&kept_counts(&trie, &marks))?;
    let log_alpha = alpha.log10();
    let mut probs = stupid_unigrams(&trie.levels[0].count);
    let mut prev_ctx: Vec<u32> = Vec::new();
    for k in 1..n {
        let ctx = contexts(&trie, k, &prev_ctx);
        let level = &trie.levels[k];
        let mut den = vec![0u64; trie.levels[k - 1].len()];
        for (i, &c) in ctx.iter().enumerate() {
            den[c as usize] += u64::from(level.count[i]);
        }
        let p: Vec<f32> = ctx
            .iter()
            .zip(&level.count)
            .map(|(&c, &a)| (f64::from(a) / den[c as usize] as f64).log10() as f32)
            .collect();
        let backoff: Vec<f32> = den.iter().map(|&d| if d > 0 { log_alpha } else { 0.0 }).collect();
        drop(den);
        let lower = std::mem::replace(&mut probs, p);
        prev_ctx = ctx;
        sink.level(&trie, k - 1, lower, backoff, &marks[k - 1])?;
    }
    sink.level(&trie, n - 1, probs, Vec::new(), &marks[n - 1])?;
    Ok(Estimated {
        trie,
        marks,
        discounts: Vec::new(),
        warnings: Vec::new(),
    })
}

impl Model {
    fn assemble(vocab: Vocab, est: Estimated, collect: Collect, smoothing: Smoothing) -> Model {
        let Estimated {
            trie,
            marks,
            discounts,
            warnings,
        } = est;
        let tables = trie
            .levels
            .into_iter()
            .zip(collect.prob)
            .zip(collect.backoff)
            .zip(marks)
            .map(|(((level, prob), backoff), keep)| {
                let kept = if keep.is_empty() {
                    level.word.len() as u64
                } else {
                    keep.iter().filter(|&&k| k).count() as u64
                };
                Table {
                    word: level.word,
                    child: level.child,
                    prob,
                    backoff,
                    keep,
                    kept,
                }
            })
            .collect();
        Model {
            vocab,
            tables,
            discounts,
            smoothing,
            warnings,
        }
    }

    /// The model order.
    pub fn order(&self) -> usize {
        self.tables.len()
    }

    /// The vocabulary.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// How many n-grams of each order the model has (after pruning): the ARPA `\data\` counts.
    pub fn ngram_counts(&self) -> Vec<u64> {
        self.tables.iter().map(|t| t.kept).collect()
    }

    /// The Kneser-Ney discounts per order (empty for Stupid Backoff).
    pub fn discounts(&self) -> &[Discount] {
        &self.discounts
    }

    /// The estimator used.
    pub fn smoothing(&self) -> Smoothing {
        self.smoothing
    }

    /// Things worth telling the user (fallback discounts substituted, …).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Calls `f(words, log10 prob, log10 backoff)` for every n-gram of order `order` (1-based) in ARPA order;
    /// `backoff` is `None` at the highest order.
    pub fn for_each_ngram(
        &self,
        order: usize,
        mut f: impl FnMut(&[&str], f32, Option<f32>) -> Result<()>,
    ) -> Result<()> {
        let k = order - 1;
        let table = &self.tables[k];
        let words: Vec<&[u32]> = self.tables.iter().map(|t| t.word.as_slice()).collect();
        let child: Vec<&[u32]> = self.tables.iter().map(|t| t.child.as_slice()).collect();
        walk_level(&self.vocab, &words, &child, k, &table.keep, |i, w| {
            f(w, table.prob[i], table.backoff.get(i).copied())
        })
    }

    /// Writes the model as an ARPA file (to a temporary file beside `path`, renamed when complete).
    pub fn write_arpa(&self, path: &Path) -> Result<()> {
        let mut writer = crate::arpa::write::ArpaWriter::create(path, &self.ngram_counts())?;
        for order in 1..=self.order() {
            writer.begin_order(order)?;
            self.for_each_ngram(order, |words, prob, backoff| writer.entry(prob, words, backoff))?;
        }
        writer.finish()
    }

    /// Writes the model as ARPA text to any writer (no atomic rename).
    pub fn write_arpa_to(&self, out: impl Write) -> Result<()> {
        let mut writer = crate::arpa::write::ArpaWriter::new(out, Path::new("<output>"), &self.ngram_counts())?;
        for order in 1..=self.order() {
            writer.begin_order(order)?;
            self.for_each_ngram(order, |words, prob, backoff| writer.entry(prob, words, backoff))?;
        }
        writer.end()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::count::{CountConfig, Counter, whitespace_tokens};

    fn arpa(counts: &FullCounts, config: &EstimateConfig) -> String {
        let mut out = Vec::new();
        estimate(counts, config).unwrap().write_arpa_to(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// A discount of exactly 0 counts as a failure: with the counts of counts 6, 3, 4, 2 eq. 26 gives D2 = 0.
    #[test]
    fn a_zero_discount_is_a_failure() {
        assert!(Discount::from_counts_of_counts(&[0, 6, 3, 4, 2]).is_none());
        let ok = Discount::from_counts_of_counts(&[0, 6, 3, 3, 2]).unwrap();
        assert!(ok.amount[1..].iter().all(|&d| d > 0.0));
        let zero = EstimateConfig {
            discount_fallback: Some(Discount {
                amount: [0.0, 0.5, 0.0, 1.5],
            }),
            ..EstimateConfig::default()
        };
        assert!(zero.thresholds(3).unwrap_err().to_string().contains("not in (0, 2]"));
    }

    /// Six short sentences (every one ending in " .", so "." is always followed by </s>) once gave "." the
    /// backoff log10(0) = -inf, which no ARPA reader here accepts: every backoff is finite now.
    #[test]
    fn tiny_corpora_get_finite_backoffs() {
        let text = "Ein Hund rennt .\nEin Hund rennt im Park .\nDer Hund schläft .\nEin Mann rennt .\n\
                    Der Mann schläft im Park .\nEine Frau liest ein Buch .";
        let mut counter = Counter::new(CountConfig::new(3)).unwrap();
        for (i, line) in text.lines().enumerate() {
            counter
                .add_sentence(whitespace_tokens(line), Path::new("t"), i as u64)
                .unwrap();
        }
        let counts = counter.finish().unwrap();
        let config = EstimateConfig {
            discount_fallback: Some(Discount::FALLBACK),
            ..EstimateConfig::default()
        };
        let text = arpa(&counts, &config);
        assert!(!text.contains("inf"), "{text}");
        crate::model::ArpaModel::from_arpa_text("tiny.arpa", &text).unwrap();
    }

    /// A tiny table that spills hundreds of runs gives the same model, byte for byte.
    #[test]
    fn spilling_changes_nothing() {
        let text: Vec<String> = (0..4000u32)
            .map(|i| {
                let w = |m: u32| format!("w{}", (i.wrapping_mul(2654435761) >> 7) % m);
                format!("{} {} x {} {} {}", w(5), w(11), w(23), w(97), w(301))
            })
            .collect();
        for smoothing in [Smoothing::ModifiedKneserNey, Smoothing::StupidBackoff { alpha: 0.4 }] {
            let config = EstimateConfig {
                smoothing,
                prune: vec![0, 0, 1],
                discount_fallback: Some(Discount::FALLBACK),
            };
            let run = |limit: Option<usize>| {
                let mut counter = Counter::new(CountConfig::new(4)).unwrap();
                if let Some(l) = limit {
                    counter.limit_table(l);
                }
                for (i, line) in text.iter().enumerate() {
                    counter
                        .add_sentence(whitespace_tokens(line), Path::new("t"), i as u64)
                        .unwrap();
                }
                let counts = counter.finish().unwrap();
                (counts.runs(), arpa(&counts, &config))
            };
            let (runs_big, big) = run(None);
            let (runs_small, small) = run(Some(64));
            assert_eq!(runs_big, 0);
            assert!(runs_small > 100, "{runs_small} runs");
            assert_eq!(big, small);
            // Streaming straight to a file gives the same bytes.
            let mut counter = Counter::new(CountConfig::new(4)).unwrap();
            for (i, line) in text.iter().enumerate() {
                counter
                    .add_sentence(whitespace_tokens(line), Path::new("t"), i as u64)
                    .unwrap();
            }
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("m.arpa");
            let (counts, _) = estimate_to_arpa(counter.finish().unwrap(), &config, &path).unwrap();
            assert_eq!(std::fs::read_to_string(&path).unwrap(), big);
            assert!(big.contains(&format!("ngram 4={}", counts[3])));
            // Streamed through disk, with sort buffers large and tiny (many runs), and with spilled counts.
            for (sort_bytes, limit) in [(1u64 << 30, None), (1 << 30, Some(64)), (2048, None), (4096, Some(64))] {
                let mut counter = Counter::new(CountConfig::new(4)).unwrap();
                if let Some(l) = limit {
                    counter.limit_table(l);
                }
                for (i, line) in text.iter().enumerate() {
                    counter
                        .add_sentence(whitespace_tokens(line), Path::new("t"), i as u64)
                        .unwrap();
                }
                let path = dir.path().join(format!("s{sort_bytes}.arpa"));
                let (streamed, _) =
                    stream::estimate_with_sort_buffers(counter.finish().unwrap(), &config, &path, sort_bytes).unwrap();
                assert_eq!(streamed, counts);
                assert!(
                    std::fs::read_to_string(&path).unwrap() == big,
                    "streamed, {sort_bytes} bytes"
                );
            }
        }
    }
}
