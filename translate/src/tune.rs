//! Tuning the feature weights on a development set: pairwise ranking optimisation (Hopkins and May 2011,
//! [`TuneMethod::Pro`], the default) or minimum error rate training (Och 2003, [`TuneMethod::Mert`]).
//!
//! Both work on a pool of translations: each iteration decodes the development set with the current weights
//! into n-best lists and adds the new translations to a pool kept per sentence. PRO then samples pairs of
//! translations of a sentence, keeps the pairs whose sentence BLEU+1 differs most, and fits a logistic regression
//! that ranks the better one higher; the weights are interpolated 9:1 with the previous ones. On Multi30k en→de
//! PRO's weights transfer from val to test much better than MERT's, whose many unregularised line searches
//! overfit the development set (see BENCHMARKS.md).
//!
//! MERT searches the weights that maximise corpus BLEU of the pool's best translations: coordinate-wise and along
//! random directions, each line search exact (the upper envelope of every sentence's candidate lines gives the
//! points where its best translation changes; a sweep over all of them finds the best interval), from the current
//! weights and from random restarts drawn with a fixed seed.
//!
//! BLEU here is exactly sacreBLEU's (`metrics::Bleu`) on detokenized, cased output. Of all the weights used to
//! decode the development set, the ones that gave the best BLEU are kept and saved in the model.

use std::collections::HashSet;

use rayon::prelude::*;
use serde_json::json;

use crate::decoder::{FEATURES, Features, NUM_FEATURES};
use crate::metrics::{Bleu, BleuStats};
use crate::model::PhraseModel;
use crate::{Error, Result};

/// How the weights are optimised on the pool of translations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TuneMethod {
    /// Minimum error rate training: exact line searches of corpus BLEU (Och 2003).
    Mert,
    /// Pairwise ranking optimisation: logistic regression on pairs of translations ranked by sentence BLEU+1
    /// (Hopkins and May 2011), interpolated with the previous weights.
    Pro,
}

/// Tuning settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TuneConfig {
    /// The optimiser.
    pub method: TuneMethod,
    /// Decoding iterations.
    pub iterations: usize,
    /// Translations per sentence per iteration.
    pub nbest: usize,
    /// Seed of the random restarts and directions.
    pub seed: u64,
    /// Random starting points per optimisation, besides the current weights.
    pub restarts: usize,
    /// Random directions per pass, besides the coordinate axes.
    pub random_directions: usize,
    /// Passes over the directions per starting point (stops earlier when nothing improves).
    pub max_passes: usize,
}

impl Default for TuneConfig {
    fn default() -> TuneConfig {
        TuneConfig {
            method: TuneMethod::Pro,
            iterations: 8,
            nbest: 100,
            seed: 1,
            restarts: 8,
            random_directions: 3,
            max_passes: 6,
        }
    }
}

/// One decoding iteration.
#[derive(Debug, Clone, PartialEq)]
pub struct TuneIteration {
    /// BLEU of the 1-best translations with the weights used.
    pub bleu: f64,
    /// The weights used.
    pub weights: Features,
    /// Candidates in the pool after this iteration.
    pub pool: usize,
    /// BLEU the optimiser expected from its new weights on the pool.
    pub expected_bleu: f64,
}

/// What tuning did.
#[derive(Debug, Clone, PartialEq)]
pub struct TuneReport {
    /// Dev BLEU with the starting weights.
    pub initial_bleu: f64,
    /// Dev BLEU with the weights kept.
    pub final_bleu: f64,
    /// The weights kept (also saved in the model).
    pub weights: Features,
    /// Every iteration.
    pub iterations: Vec<TuneIteration>,
    /// The seed used.
    pub seed: u64,
    /// The optimiser used.
    pub method: TuneMethod,
}

impl TuneReport {
    /// The report as JSON (as stored in the manifest's `training.tuning`).
    pub fn to_json(&self) -> serde_json::Value {
        let weights = |w: &Features| -> serde_json::Value {
            FEATURES.iter().zip(w).map(|(n, v)| (n.to_string(), json!(v))).collect()
        };
        json!({
            "method": match self.method { TuneMethod::Mert => "MERT", TuneMethod::Pro => "PRO" },
            "seed": self.seed,
            "initial_bleu": self.initial_bleu,
            "final_bleu": self.final_bleu,
            "weights": weights(&self.weights),
            "iterations": self.iterations.iter().map(|it| json!({
                "bleu": it.bleu,
                "pool": it.pool,
                "expected_bleu": it.expected_bleu,
            })).collect::<Vec<_>>(),
        })
    }
}

/// Sufficient statistics as signed integers (sums and differences).
type Stats = [i64; 10];

fn to_stats(s: &BleuStats) -> Stats {
    let mut out = [0i64; 10];
    out[0] = s.sys_len as i64;
    out[1] = s.ref_len as i64;
    for n in 0..4 {
        out[2 + n] = s.correct[n] as i64;
        out[6 + n] = s.total[n] as i64;
    }
    out
}

fn bleu_of(stats: &Stats) -> f64 {
    let s = BleuStats {
        sys_len: stats[0].max(0) as u64,
        ref_len: stats[1].max(0) as u64,
        correct: [0, 1, 2, 3].map(|n| stats[2 + n].max(0) as u64),
        total: [0, 1, 2, 3].map(|n| stats[6 + n].max(0) as u64),
    };
    Bleu::default().score_from_stats(&s, 1).score
}

fn add(a: &mut Stats, b: &Stats) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
}

fn sub(a: &Stats, b: &Stats) -> Stats {
    let mut out = *a;
    for (x, y) in out.iter_mut().zip(b) {
        *x -= y;
    }
    out
}

fn dot(w: &Features, f: &Features) -> f64 {
    w.iter().zip(f).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum()
}

#[derive(Debug, Clone)]
struct Candidate {
    features: Features,
    stats: Stats,
}

/// SplitMix64: a small seeded generator for restarts and directions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    fn signed_unit(&mut self) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// Exact line search along `direction` from `weights`: the step γ maximising pool BLEU, and that BLEU.
fn line_search(pools: &[Vec<Candidate>], weights: &Features, direction: &Features) -> (f64, f64) {
    // Per sentence: the envelope's first line and the (γ, change of statistics) where the best line changes.
    let per_sentence: Vec<(Stats, Vec<(f64, Stats)>)> = pools
        .par_iter()
        .map(|pool| {
            let mut lines: Vec<(f64, f64, usize)> = pool
                .iter()
                .enumerate()
                .map(|(k, c)| (dot(direction, &c.features), dot(weights, &c.features), k))
                .collect();
            // Slope ascending; for equal slopes the highest intercept first.
            lines.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
            lines.dedup_by(|later, earlier| later.0 == earlier.0);
            let mut hull: Vec<(f64, f64, usize, f64)> = Vec::with_capacity(lines.len());
            for (slope, intercept, k) in lines {
                let mut start = f64::NEG_INFINITY;
                while let Some(&(top_slope, top_intercept, _, top_start)) = hull.last() {
                    let x = (top_intercept - intercept) / (slope - top_slope);
                    if x <= top_start {
                        hull.pop();
                    } else {
                        start = x;
                        break;
                    }
                }
                hull.push((slope, intercept, k, start));
            }
            let first = pool[hull[0].2].stats;
            let events = hull
                .windows(2)
                .map(|w| (w[1].3, sub(&pool[w[1].2].stats, &pool[w[0].2].stats)))
                .collect();
            (first, events)
        })
        .collect();
    let mut total = [0i64; 10];
    let mut events: Vec<(f64, Stats)> = Vec::new();
    for (first, changes) in per_sentence {
        add(&mut total, &first);
        events.extend(changes);
    }
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Sweep the intervals between distinct breakpoints.
    let mut best_bleu = bleu_of(&total);
    let mut best_interval = (f64::NEG_INFINITY, events.first().map_or(f64::INFINITY, |e| e.0));
    let mut i = 0;
    while i < events.len() {
        let gamma = events[i].0;
        while i < events.len() && events[i].0 == gamma {
            add(&mut total, &events[i].1);
            i += 1;
        }
        let next = events.get(i).map_or(f64::INFINITY, |e| e.0);
        let bleu = bleu_of(&total);
        let contains_zero = gamma <= 0.0 && 0.0 < next;
        let best_contains_zero = best_interval.0 <= 0.0 && 0.0 < best_interval.1;
        if bleu > best_bleu + 1e-12 || (bleu >= best_bleu - 1e-12 && contains_zero && !best_contains_zero) {
            best_bleu = bleu;
            best_interval = (gamma, next);
        }
    }
    let (lo, hi) = best_interval;
    let gamma = if lo <= 0.0 && 0.0 < hi {
        0.0
    } else if lo == f64::NEG_INFINITY {
        hi - 0.1 * hi.abs().max(0.1)
    } else if hi == f64::INFINITY {
        lo + 0.1 * lo.abs().max(0.1)
    } else {
        (lo + hi) / 2.0
    };
    (gamma, best_bleu)
}

/// Pool BLEU of the best candidates under `weights`.
fn pool_bleu(pools: &[Vec<Candidate>], weights: &Features) -> f64 {
    let mut total = [0i64; 10];
    for pool in pools {
        if let Some(best) = pool
            .iter()
            .max_by(|a, b| dot(weights, &a.features).total_cmp(&dot(weights, &b.features)))
        {
            add(&mut total, &best.stats);
        }
    }
    bleu_of(&total)
}

/// Normalises weights to an L1 norm of 1 (scaling does not change any argmax).
fn normalize(w: &mut Features) {
    let norm: f32 = w.iter().map(|x| x.abs()).sum();
    if norm > 0.0 {
        for x in w.iter_mut() {
            *x /= norm;
        }
    }
}

/// Powell-style search with exact line searches from `start` and from random restarts.
fn optimize(pools: &[Vec<Candidate>], start: &Features, config: &TuneConfig, rng: &mut Rng) -> (Features, f64) {
    let mut starts = vec![*start];
    for _ in 0..config.restarts {
        let mut w = [0.0f32; NUM_FEATURES];
        for x in w.iter_mut() {
            *x = rng.signed_unit();
        }
        w[0] = w[0].abs();
        starts.push(w);
    }
    let mut best = (*start, pool_bleu(pools, start));
    for mut w in starts {
        let mut current = pool_bleu(pools, &w);
        for _ in 0..config.max_passes {
            let mut improved = false;
            let mut directions: Vec<Features> = (0..NUM_FEATURES)
                .map(|d| {
                    let mut v = [0.0f32; NUM_FEATURES];
                    v[d] = 1.0;
                    v
                })
                .collect();
            for _ in 0..config.random_directions {
                let mut v = [0.0f32; NUM_FEATURES];
                for x in v.iter_mut() {
                    *x = rng.signed_unit();
                }
                directions.push(v);
            }
            for direction in &directions {
                let (gamma, bleu) = line_search(pools, &w, direction);
                if bleu > current + 1e-9 && gamma != 0.0 {
                    for (x, d) in w.iter_mut().zip(direction) {
                        *x += gamma as f32 * d;
                    }
                    current = bleu;
                    improved = true;
                }
            }
            if !improved {
                break;
            }
        }
        if current > best.1 + 1e-9 {
            best = (w, current);
        }
    }
    normalize(&mut best.0);
    best
}

/// Sentence-level BLEU+1 (add-one smoothing of the 2- to 4-gram precisions), in [0, 1].
fn bleu_plus_one(stats: &Stats) -> f64 {
    if stats[0] == 0 || stats[2] == 0 {
        return 0.0;
    }
    let mut log_sum = (stats[2] as f64 / stats[6] as f64).ln();
    for n in 1..4 {
        log_sum += ((stats[2 + n] as f64 + 1.0) / (stats[6 + n] as f64 + 1.0)).ln();
    }
    let bp = if stats[0] < stats[1] {
        1.0 - stats[1] as f64 / stats[0] as f64
    } else {
        0.0
    };
    (bp + log_sum / 4.0).exp()
}

/// PRO: per sentence, 5000 random candidate pairs, the 50 whose BLEU+1 differs most (by more than 0.05); a
/// logistic regression on the feature differences (standardised, L2-regularised, batch gradient descent); the
/// result interpolated 9:1 with the previous weights.
fn pro(pools: &[Vec<Candidate>], previous: &Features, rng: &mut Rng) -> Features {
    const SAMPLES: usize = 5000;
    const KEEP: usize = 50;
    let mut xs: Vec<[f64; NUM_FEATURES]> = Vec::new();
    for pool in pools {
        if pool.len() < 2 {
            continue;
        }
        let bleu: Vec<f64> = pool.iter().map(|c| bleu_plus_one(&c.stats)).collect();
        let mut pairs: Vec<(f64, usize, usize)> = Vec::with_capacity(SAMPLES);
        for _ in 0..SAMPLES {
            let i = (rng.next() % pool.len() as u64) as usize;
            let j = (rng.next() % pool.len() as u64) as usize;
            let diff = bleu[i] - bleu[j];
            if diff.abs() > 0.05 {
                pairs.push((diff.abs(), i, j));
            }
        }
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        for &(_, i, j) in pairs.iter().take(KEEP) {
            // Oriented so that the better translation comes first: the label is always positive.
            let (better, worse) = if bleu[i] > bleu[j] { (i, j) } else { (j, i) };
            let mut x = [0.0f64; NUM_FEATURES];
            for (k, v) in x.iter_mut().enumerate() {
                *v = f64::from(pool[better].features[k]) - f64::from(pool[worse].features[k]);
            }
            xs.push(x);
        }
    }
    if xs.is_empty() {
        return *previous;
    }
    // Standardise each feature difference (no centring: the model has no bias, the data is symmetric).
    let n = xs.len() as f64;
    let mut scale = [0.0f64; NUM_FEATURES];
    for (k, s) in scale.iter_mut().enumerate() {
        let ms: f64 = xs.iter().map(|x| x[k] * x[k]).sum::<f64>() / n;
        *s = if ms > 0.0 { ms.sqrt() } else { 1.0 };
    }
    for x in &mut xs {
        for (v, s) in x.iter_mut().zip(&scale) {
            *v /= s;
        }
    }
    // Logistic loss over both orientations is symmetric: log(1 + exp(-w·x)) on the positive pairs suffices.
    let mut w = [0.0f64; NUM_FEATURES];
    let lambda = 1e-4;
    let mut rate = 1.0;
    let loss = |w: &[f64; NUM_FEATURES]| -> f64 {
        let data: f64 = xs
            .iter()
            .map(|x| {
                let m: f64 = w.iter().zip(x).map(|(a, b)| a * b).sum();
                (-m).exp().ln_1p()
            })
            .sum::<f64>()
            / n;
        data + lambda * w.iter().map(|a| a * a).sum::<f64>()
    };
    let mut current = loss(&w);
    for _ in 0..300 {
        let mut grad = [0.0f64; NUM_FEATURES];
        for x in &xs {
            let m: f64 = w.iter().zip(x).map(|(a, b)| a * b).sum();
            let g = -1.0 / (1.0 + m.exp());
            for (gk, xk) in grad.iter_mut().zip(x) {
                *gk += g * xk / n;
            }
        }
        for (gk, wk) in grad.iter_mut().zip(&w) {
            *gk += 2.0 * lambda * wk;
        }
        // Backtracking: halve the step until the loss decreases.
        loop {
            let mut next = w;
            for (a, g) in next.iter_mut().zip(&grad) {
                *a -= rate * g;
            }
            let l = loss(&next);
            if l < current {
                w = next;
                current = l;
                rate *= 1.2;
                break;
            }
            rate *= 0.5;
            if rate < 1e-9 {
                break;
            }
        }
        if rate < 1e-9 {
            break;
        }
    }
    let mut learned = [0.0f32; NUM_FEATURES];
    for (k, v) in learned.iter_mut().enumerate() {
        *v = (w[k] / scale[k]) as f32;
    }
    normalize(&mut learned);
    let mut prev = *previous;
    normalize(&mut prev);
    let mut out = [0.0f32; NUM_FEATURES];
    for (k, v) in out.iter_mut().enumerate() {
        *v = 0.9 * learned[k] + 0.1 * prev[k];
    }
    normalize(&mut out);
    out
}

/// Tunes the model's weights on `sources` and `references` (one reference per source line) and saves them into
/// the model's manifest. `progress` hears the iteration number and the dev BLEU it measured.
pub fn tune(
    model: &mut PhraseModel,
    sources: &[String],
    references: &[String],
    config: &TuneConfig,
    progress: &mut dyn FnMut(usize, f64),
) -> Result<TuneReport> {
    if sources.len() != references.len() {
        return Err(Error::LineCount {
            what: "the development references".into(),
            expected: sources.len(),
            found: references.len(),
        });
    }
    if sources.is_empty() {
        return Err(Error::Empty("the development set is empty: nothing to tune on".into()));
    }
    if config.iterations == 0 || config.nbest == 0 {
        return Err(Error::InvalidOption(
            "tuning needs at least one iteration and an n-best size of 1".into(),
        ));
    }
    let bleu = Bleu::default();
    let prepared: Vec<Vec<String>> = sources.par_iter().map(|s| model.prepare(s)).collect();
    let refs: Vec<String> = references.par_iter().map(|r| bleu.preprocess(r)).collect();
    let decoder = model.decoder_config().clone();
    let mut pools: Vec<Vec<Candidate>> = vec![Vec::new(); sources.len()];
    let mut seen: Vec<HashSet<String>> = vec![HashSet::new(); sources.len()];
    let mut rng = Rng(config.seed);
    let mut weights = *model.weights();
    let mut iterations = Vec::new();
    let mut best: Option<(f64, Features)> = None;
    for iteration in 0..=config.iterations {
        let decoded: Vec<Vec<(String, Candidate)>> = {
            let model = &*model;
            prepared
                .par_iter()
                .zip(&refs)
                .map(|(tokens, reference)| {
                    let derivations = model.decode_prepared(tokens, config.nbest, &weights, &decoder)?;
                    Ok(derivations
                        .into_iter()
                        .map(|(text, d)| {
                            let stats = bleu.tokenized_segment_stats(&bleu.preprocess(&text), &[reference.as_str()]);
                            (
                                text,
                                Candidate {
                                    features: d.features,
                                    stats: to_stats(&stats),
                                },
                            )
                        })
                        .collect())
                })
                .collect::<Result<_>>()?
        };
        let mut one_best = [0i64; 10];
        let mut added = 0;
        for ((list, pool), seen) in decoded.into_iter().zip(&mut pools).zip(&mut seen) {
            if let Some((_, c)) = list.first() {
                add(&mut one_best, &c.stats);
            }
            for (text, candidate) in list {
                if seen.insert(text) {
                    pool.push(candidate);
                    added += 1;
                }
            }
        }
        let measured = bleu_of(&one_best);
        progress(iteration, measured);
        if best.as_ref().is_none_or(|(b, _)| measured > *b) {
            best = Some((measured, weights));
        }
        if iteration == config.iterations || (iteration > 0 && added == 0) {
            iterations.push(TuneIteration {
                bleu: measured,
                weights,
                pool: pools.iter().map(Vec::len).sum(),
                expected_bleu: f64::NAN,
            });
            break;
        }
        let (next, expected) = match config.method {
            TuneMethod::Mert => optimize(&pools, &weights, config, &mut rng),
            TuneMethod::Pro => {
                let next = pro(&pools, &weights, &mut rng);
                (next, pool_bleu(&pools, &next))
            }
        };
        iterations.push(TuneIteration {
            bleu: measured,
            weights,
            pool: pools.iter().map(Vec::len).sum(),
            expected_bleu: expected,
        });
        weights = next;
    }
    let (final_bleu, kept) = best.unwrap_or((0.0, weights));
    let report = TuneReport {
        initial_bleu: iterations.first().map_or(0.0, |it| it.bleu),
        final_bleu,
        weights: kept,
        iterations,
        seed: config.seed,
        method: config.method,
    };
    model.set_weights(kept);
    model.save_weights(Some(("tuning", report.to_json())))?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(f0: f32, f1: f32, correct: i64) -> Candidate {
        let mut features = [0.0; NUM_FEATURES];
        features[0] = f0;
        features[1] = f1;
        // Four tokens against a four-token reference, `correct` of each order right.
        let stats = [
            4,
            4,
            correct,
            (correct - 1).max(0),
            (correct - 2).max(0),
            (correct - 3).max(0),
            4,
            3,
            2,
            1,
        ];
        Candidate { features, stats }
    }

    #[test]
    fn line_search_finds_the_better_interval() {
        // With weight on feature 0 the bad candidate wins; moving towards feature 1 makes the good one win
        // once γ > 1 (0 + γ·2 > 2 + γ·0 … at w = (1, 0): scores 2 and 0; along (0, 1): 2 + 0γ vs 0 + 2γ).
        let pools = vec![vec![cand(2.0, 0.0, 1), cand(0.0, 2.0, 4)]];
        let mut w = [0.0; NUM_FEATURES];
        w[0] = 1.0;
        let mut d = [0.0; NUM_FEATURES];
        d[1] = 1.0;
        let (gamma, bleu) = line_search(&pools, &w, &d);
        assert!(gamma > 1.0, "γ = {gamma}");
        assert!((bleu - 100.0).abs() < 1e-9);
        assert!(pool_bleu(&pools, &w) < 50.0);
        let mut rng = Rng(7);
        let (best, expected) = optimize(&pools, &w, &TuneConfig::default(), &mut rng);
        assert!((expected - 100.0).abs() < 1e-9);
        assert!((pool_bleu(&pools, &best) - 100.0).abs() < 1e-9);
        let l1: f32 = best.iter().map(|x| x.abs()).sum();
        assert!((l1 - 1.0).abs() < 1e-5);
    }

    #[test]
    fn pro_learns_to_rank_the_better_translation_first() {
        // Many sentences where feature 1 marks the better translation and feature 0 the worse one.
        let pools: Vec<Vec<Candidate>> = (0..20).map(|_| vec![cand(2.0, 0.0, 1), cand(0.0, 2.0, 4)]).collect();
        let mut w = [0.0; NUM_FEATURES];
        w[0] = 1.0;
        let mut rng = Rng(3);
        let learned = pro(&pools, &w, &mut rng);
        assert!(learned[1] > learned[0], "{learned:?}");
        assert!((pool_bleu(&pools, &learned) - 100.0).abs() < 1e-9);
        assert!(bleu_plus_one(&pools[0][1].stats) > bleu_plus_one(&pools[0][0].stats));
    }
}
