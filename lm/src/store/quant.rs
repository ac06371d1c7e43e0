//! Quantization of log10 probabilities and backoffs to `bits`-bit codes through a codebook.
//!
//! A codebook is a list of at most `2^bits` values; a stored code is an index into it. Codebooks are trained per
//! n-gram order, separately for probabilities and backoffs, on the values of the whole model (not per shard), so
//! that every shard count gives the same scores.
//!
//! Training: values that must survive exactly get a code of their own — NaN (an n-gram without a probability of
//! its own, see the store's layout), `±inf` (SRILM's zero probabilities), and for backoffs `0`. The remaining
//! finite values are clustered by weighted one-dimensional k-means (Lloyd's algorithm on the sorted values with
//! prefix sums, started from bins of equal weight, as KenLM's quantizer bins by equal count). When there are no
//! more distinct values than codes, every value is kept exactly.
//!
//! # Weights
//! A code's error costs in proportion to how often the value is used, and with uniform weights the frequent,
//! high-probability n-grams (few, spread over a sparse range of values) get coarse codes. The builder weights
//! each value by the square root of the model's own probability of the n-gram as a word sequence (the product
//! of its prefixes' conditional probabilities; for a backoff, of the context's). Measured at 8 bits, perplexity
//! change against the unquantized model (val/test texts of Multi30k and PTB, KenLM's o3/o5/pruned models):
//! uniform weights −0.26 to −0.66 % (the bar is 0.5 %), the joint probability itself −0.01 to −0.13 %, its square
//! root +0.01 to +0.03 %, its cube root +0.02 to +0.11 %.

/// At most this many Lloyd iterations after the equal-count start (each costs O(k log n); it usually converges
/// well before).
const ITERATIONS: usize = 2000;

/// A trained codebook: code `i` stands for `values[i]`.
#[derive(Debug, Clone)]
pub(crate) struct Codebook {
    values: Vec<f32>,
    /// The finite values, ascending, with their codes, for encoding.
    finite: Vec<(f32, u32)>,
}

impl PartialEq for Codebook {
    /// Bit for bit (NaN, the code for "no probability", equals itself).
    fn eq(&self, other: &Codebook) -> bool {
        self.values.len() == other.values.len()
            && self
                .values
                .iter()
                .zip(&other.values)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }
}

impl Codebook {
    /// A codebook from its stored values (as read from a file).
    pub(crate) fn from_values(values: Vec<f32>) -> Codebook {
        let mut finite: Vec<(f32, u32)> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| (v, i as u32))
            .collect();
        finite.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        finite.dedup_by(|a, b| a.0 == b.0);
        Codebook { values, finite }
    }

    /// Trains a codebook of at most `2^bits` values for `values` (`1 <= bits <= 16`), minimising the squared
    /// error weighted by `weights` (one per value; all equal when `None`); `keep_zero` reserves an exact code for
    /// 0 when it occurs.
    pub(crate) fn train(values: &[f32], weights: Option<&[f64]>, bits: u32, keep_zero: bool) -> Codebook {
        assert!((1..=16).contains(&bits), "codebook of {bits} bits");
        Self::train_within(values, weights, 1usize << bits, keep_zero)
    }

    /// [`train`](Self::train) with at most `capacity` values (at least 1).
    pub(crate) fn train_within(values: &[f32], weights: Option<&[f64]>, capacity: usize, keep_zero: bool) -> Codebook {
        let mut reserved: Vec<f32> = Vec::new();
        if values.iter().any(|v| v.is_nan()) {
            reserved.push(f32::NAN);
        }
        if values.contains(&f32::NEG_INFINITY) {
            reserved.push(f32::NEG_INFINITY);
        }
        if values.contains(&f32::INFINITY) {
            reserved.push(f32::INFINITY);
        }
        let is_kept_zero = |v: f32| keep_zero && v == 0.0;
        if values.iter().any(|&v| is_kept_zero(v)) {
            reserved.push(0.0);
        }
        let mut finite: Vec<(f32, f64)> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite() && !is_kept_zero(**v))
            .map(|(i, &v)| (v, weights.map_or(1.0, |w| w[i]).max(0.0)))
            .collect();
        finite.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let room = capacity.saturating_sub(reserved.len()).max(1);
        let mut centroids = cluster(&finite, room);
        centroids.extend(reserved);
        Codebook::from_values(centroids)
    }

    /// The stored values.
    pub(crate) fn values(&self) -> &[f32] {
        &self.values
    }

    /// The value of `code` (NaN for a code outside the book, which only a damaged file holds).
    #[inline]
    pub(crate) fn decode(&self, code: u64) -> f32 {
        self.values.get(code as usize).copied().unwrap_or(f32::NAN)
    }

    /// The code whose value is nearest `value` (exact for NaN and infinities, which have codes of their own when
    /// the training data held them).
    pub(crate) fn encode(&self, value: f32) -> u32 {
        if !value.is_finite()
            && let Some(i) = self
                .values
                .iter()
                .position(|&v| v == value || (v.is_nan() && value.is_nan()))
        {
            return i as u32;
        }
        let at = self.finite.partition_point(|&(v, _)| v < value);
        let candidates = [at.checked_sub(1), Some(at)];
        let mut best: Option<(f32, u32)> = None;
        for (v, code) in candidates
            .into_iter()
            .flatten()
            .filter_map(|i| self.finite.get(i))
            .copied()
        {
            let distance = (v - value).abs();
            if best.is_none_or(|(d, _)| distance < d) {
                best = Some((distance, code));
            }
        }
        best.map_or(0, |(_, code)| code)
    }
}

/// At most `k` centroids for the finite `values` sorted by value, each with a weight: the distinct values
/// themselves when there are few enough, else weighted 1-D k-means (Lloyd) started from bins of equal weight.
/// Deterministic.
fn cluster(values: &[(f32, f64)], k: usize) -> Vec<f32> {
    let mut distinct: Vec<f32> = values.iter().map(|v| v.0).collect();
    distinct.dedup();
    if distinct.len() <= k {
        return distinct;
    }
    let n = values.len();
    // A tiny floor keeps every value in play when weights span many orders of magnitude.
    let max_weight = values.iter().map(|v| v.1).fold(0.0f64, f64::max);
    let floor = if max_weight > 0.0 { max_weight * 1e-12 } else { 1.0 };
    let mut weight = Vec::with_capacity(n + 1);
    let mut moment = Vec::with_capacity(n + 1);
    weight.push(0.0f64);
    moment.push(0.0f64);
    for &(v, w) in values {
        let w = w.max(floor);
        weight.push(weight[weight.len() - 1] + w);
        moment.push(moment[moment.len() - 1] + w * f64::from(v));
    }
    let mean = |lo: usize, hi: usize| (moment[hi] - moment[lo]) / (weight[hi] - weight[lo]);
    let total = weight[n];
    // Bins of equal weight, each the weighted mean of its values.
    let mut centroids: Vec<f64> = Vec::with_capacity(k);
    let mut lo = 0;
    for i in 0..k {
        let target = total * (i + 1) as f64 / k as f64;
        let hi = if i + 1 == k {
            n
        } else {
            weight.partition_point(|&w| w < target).clamp(lo, n)
        };
        if hi > lo {
            centroids.push(mean(lo, hi));
        }
        lo = lo.max(hi);
    }
    centroids.dedup();
    for _ in 0..ITERATIONS {
        // Each centroid takes the values nearer to it than to its neighbours: a contiguous run.
        let mut next = Vec::with_capacity(centroids.len());
        let mut lo = 0;
        for i in 0..centroids.len() {
            let hi = if i + 1 == centroids.len() {
                n
            } else {
                let boundary = (centroids[i] + centroids[i + 1]) / 2.0;
                values.partition_point(|v| f64::from(v.0) <= boundary)
            };
            if hi > lo {
                next.push(mean(lo, hi));
            }
            lo = lo.max(hi);
        }
        next.dedup();
        if next == centroids {
            break;
        }
        centroids = next;
    }
    let mut out: Vec<f32> = centroids.into_iter().map(|c| c as f32).collect();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn few_distinct_values_are_exact() {
        let values = [-1.5, -0.25, -1.5, -3.0, -0.25];
        let book = Codebook::train(&values, None, 2, false);
        for v in values {
            assert_eq!(book.decode(u64::from(book.encode(v))), v);
        }
    }

    #[test]
    fn specials_have_exact_codes() {
        let mut values: Vec<f32> = (0..1000).map(|i| -(i as f32) / 100.0).collect();
        values.extend([f32::NAN, f32::NEG_INFINITY, 0.0]);
        let book = Codebook::train(&values, None, 4, true);
        assert!(book.values().len() <= 16);
        assert!(book.decode(u64::from(book.encode(f32::NAN))).is_nan());
        assert_eq!(
            book.decode(u64::from(book.encode(f32::NEG_INFINITY))),
            f32::NEG_INFINITY
        );
        assert_eq!(book.decode(u64::from(book.encode(0.0))), 0.0);
        assert!(book.decode(99).is_nan());
    }

    #[test]
    fn kmeans_beats_the_error_bound_of_its_start() {
        // Skewed values: most near 0, a long tail.
        let values: Vec<f32> = (0..5000).map(|i| -((i as f32) / 500.0).powi(2)).collect();
        let book = Codebook::train(&values, None, 4, false);
        let error: f64 = values
            .iter()
            .map(|&v| f64::from(book.decode(u64::from(book.encode(v))) - v).powi(2))
            .sum::<f64>()
            / values.len() as f64;
        // 16 levels over a range of 100: a uniform quantizer's mean squared error is (100/16)^2/12 ≈ 3.3.
        assert!(error < 3.3, "mean squared error {error}");
    }

    proptest! {
        #[test]
        fn encode_picks_a_nearest_code(
            values in proptest::collection::vec(-20.0f32..0.0, 1..400),
            bits in 1u32..=8,
            probe in -25.0f32..1.0,
        ) {
            let book = Codebook::train(&values, None, bits, true);
            prop_assert!(book.values().len() <= 1 << bits);
            let code = book.encode(probe);
            let got = book.decode(u64::from(code));
            let best = book.values().iter().filter(|v| v.is_finite()).map(|v| (v - probe).abs()).fold(f32::INFINITY, f32::min);
            prop_assert!(((got - probe).abs() - best).abs() <= f32::EPSILON * 32.0);
            // Trained values decode to within the largest gap between neighbouring codes.
            let round = Codebook::from_values(book.values().to_vec());
            prop_assert_eq!(round.encode(probe), code);
        }
    }
}
