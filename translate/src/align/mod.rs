//! Word alignment: IBM Model 1 then an HMM alignment model (Vogel et al. 1996, with Och and Ney's empty-word
//! states), trained with EM in one direction at a time, and grow-diag-final-and symmetrization.
//!
//! Sentences are slices of word ids. A [`Directional`] alignment gives, for every word of the generated side `f`,
//! the position of the word of the conditioning side `e` it was aligned to, or `None` for the empty word. Training
//! both directions and [`grow_diag_final_and`] gives the alignment points `(source, target)` phrase extraction
//! uses.
//!
//! Memory: every sentence pair keeps the indices of its `(|e| + 1) · |f|` word pairs in the translation table
//! (4 bytes each); the table holds one probability per distinct co-occurring pair.
//!
//! ```
//! use fivegram_translate::align::{AlignConfig, align_both};
//!
//! // "das Haus" / "the house", "das Buch" / "the book", "ein Buch" / "a book"
//! let src = vec![vec![0, 1], vec![0, 2], vec![3, 2]];
//! let tgt = vec![vec![0, 1], vec![0, 2], vec![3, 2]];
//! let points = align_both(&src, &tgt, &AlignConfig::default());
//! assert_eq!(points[0], [(0, 0), (1, 1)]);
//! ```

mod hmm;
mod symmetrize;

pub use symmetrize::grow_diag_final_and;

use fivegram_lm::vocab::FxBuildHasher;
use rayon::prelude::*;
use std::collections::HashMap;

/// Word ids of one sentence.
pub type Sentence = [u32];

/// For every word of the generated side, the aligned position on the conditioning side, or `None` (empty word).
pub type Directional = Vec<Option<u16>>;

/// Sentences longer than this (on either side) are not aligned: they get no alignment points.
pub const MAX_SENTENCE_LENGTH: usize = 250;

/// How to train the alignment models.
#[derive(Debug, Clone, PartialEq)]
pub struct AlignConfig {
    /// EM iterations of IBM Model 1.
    pub ibm1_iterations: usize,
    /// EM iterations of the HMM model (0: IBM Model 1 alone gives the Viterbi alignment).
    pub hmm_iterations: usize,
    /// Probability of moving to the empty word in the HMM.
    pub p_null: f64,
}

impl Default for AlignConfig {
    fn default() -> AlignConfig {
        AlignConfig {
            ibm1_iterations: 5,
            hmm_iterations: 5,
            p_null: 0.2,
        }
    }
}

/// The lexical translation table t(f | e) over the word pairs that co-occur in the corpus, with each sentence
/// pair's pair indices precomputed.
struct Table {
    /// t(f | e) per pair index.
    prob: Vec<f64>,
    /// The conditioning word of each pair (`u32::MAX` for the empty word), to normalise by.
    cond: Vec<u32>,
    /// Per sentence pair: index of (e_i, f_j) at `i * |f| + j`, row 0 being the empty word.
    pairs: Vec<Vec<u32>>,
}

impl Table {
    fn new(f: &[Vec<u32>], e: &[Vec<u32>]) -> Table {
        let mut index: HashMap<(u32, u32), u32, FxBuildHasher> = HashMap::default();
        let mut cond = Vec::new();
        let pairs = f
            .iter()
            .zip(e)
            .map(|(fs, es)| {
                if !trainable(fs, es) {
                    return Vec::new();
                }
                let mut ids = Vec::with_capacity((es.len() + 1) * fs.len());
                for ew in std::iter::once(u32::MAX).chain(es.iter().copied()) {
                    for &fw in fs {
                        let next = index.len() as u32;
                        let id = *index.entry((ew, fw)).or_insert_with(|| {
                            cond.push(ew);
                            next
                        });
                        ids.push(id);
                    }
                }
                ids
            })
            .collect();
        let n = cond.len();
        Table {
            prob: vec![1.0; n],
            cond,
            pairs,
        }
    }

    /// Sets t(f | e) = count(e, f) / Σ_f count(e, f).
    fn normalize(&mut self, counts: &[f64]) {
        let mut totals: HashMap<u32, f64, FxBuildHasher> = HashMap::default();
        for (&e, &c) in self.cond.iter().zip(counts) {
            *totals.entry(e).or_insert(0.0) += c;
        }
        for ((p, &e), &c) in self.prob.iter_mut().zip(&self.cond).zip(counts) {
            let total = totals[&e];
            *p = if total > 0.0 { (c / total).max(1e-12) } else { 1e-12 };
        }
    }
}

/// Whether a sentence pair takes part in training and gets an alignment.
fn trainable(f: &Sentence, e: &Sentence) -> bool {
    !f.is_empty() && !e.is_empty() && f.len() <= MAX_SENTENCE_LENGTH && e.len() <= MAX_SENTENCE_LENGTH
}

/// Sums per-thread count vectors produced over chunks of the corpus.
fn parallel_counts<T: Sync>(
    items: &[T],
    size: usize,
    extra: usize,
    work: impl Fn(&T, usize, &mut [f64]) + Sync + Send,
) -> Vec<f64> {
    let threads = rayon::current_num_threads().max(1);
    let chunk = items.len().div_ceil(threads).max(1);
    items
        .par_chunks(chunk)
        .enumerate()
        .map(|(c, slice)| {
            let mut counts = vec![0.0; size + extra];
            for (k, item) in slice.iter().enumerate() {
                work(item, c * chunk + k, &mut counts);
            }
            counts
        })
        .reduce_with(|mut a, b| {
            for (x, y) in a.iter_mut().zip(&b) {
                *x += y;
            }
            a
        })
        .unwrap_or_else(|| vec![0.0; size + extra])
}

/// Trains IBM Model 1 and then the HMM on `f` given `e`, and returns the Viterbi alignment of every pair.
pub fn align_directional(f: &[Vec<u32>], e: &[Vec<u32>], config: &AlignConfig) -> Vec<Directional> {
    let mut table = Table::new(f, e);
    let items: Vec<usize> = (0..f.len()).collect();
    for _ in 0..config.ibm1_iterations {
        let counts = parallel_counts(&items, table.prob.len(), 0, |&s, _, counts| {
            let ids = &table.pairs[s];
            if ids.is_empty() {
                return;
            }
            let j_len = f[s].len();
            for j in 0..j_len {
                let total: f64 = (0..=e[s].len()).map(|i| table.prob[ids[i * j_len + j] as usize]).sum();
                for i in 0..=e[s].len() {
                    let id = ids[i * j_len + j] as usize;
                    counts[id] += table.prob[id] / total;
                }
            }
        });
        table.normalize(&counts);
    }
    if config.hmm_iterations == 0 {
        return items
            .par_iter()
            .map(|&s| {
                let ids = &table.pairs[s];
                let j_len = f[s].len();
                if ids.is_empty() {
                    return vec![None; j_len];
                }
                (0..j_len)
                    .map(|j| {
                        let mut best = (table.prob[ids[j] as usize], None);
                        for i in 0..e[s].len() {
                            let p = table.prob[ids[(i + 1) * j_len + j] as usize];
                            if p > best.0 {
                                best = (p, Some(i as u16));
                            }
                        }
                        best.1
                    })
                    .collect()
            })
            .collect();
    }
    hmm::train_and_align(f, e, &mut table, &items, config)
}

/// Aligns both directions and symmetrizes with grow-diag-final-and: `(source position, target position)` points
/// per sentence pair, sorted.
pub fn align_both(src: &[Vec<u32>], tgt: &[Vec<u32>], config: &AlignConfig) -> Vec<Vec<(u16, u16)>> {
    let (s2t, t2s) = rayon::join(
        || align_directional(src, tgt, config),
        || align_directional(tgt, src, config),
    );
    s2t.iter()
        .zip(&t2s)
        .zip(src.iter().zip(tgt))
        .map(|((a, b), (s, t))| grow_diag_final_and(s.len(), t.len(), a, b))
        .collect()
}
