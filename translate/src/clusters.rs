//! Word clusters learned from text by the exchange algorithm (Kneser and Ney 1993; Martin, Liermann and Ney
//! 1998; what Och's `mkcls` does for Moses' class-based models).
//!
//! Every word is put in one of `k` classes so that a class bigram model, `p(w_i | w_{i-1}) = p(c_i | c_{i-1})
//! p(w_i | c_i)`, gives the text the highest likelihood. Up to constants that is maximising
//!
//! ```text
//! F = Σ_{c,d} N(c,d) ln N(c,d) − Σ_c N(c,·) ln N(c,·) − Σ_d N(·,d) ln N(·,d)
//! ```
//!
//! over the class bigram counts `N(c,d)` (sentence boundaries are one more class that never moves). The
//! exchange algorithm takes the words in turn, most frequent first, and moves each to the class that raises `F`
//! most, until a pass moves (almost) nothing. Each move is evaluated from the word's neighbours' classes alone,
//! so a pass costs about (words × classes × distinct neighbour classes).
//!
//! German words that share their left and right neighbours' classes end up together: nouns that follow `einer`
//! and `eine` (feminine) apart from those that follow `einem` and `einen`, adjectives by their endings. A
//! class-based language model over such clusters ([`crate::classes`]) sees agreement patterns that the word
//! model has seen too rarely.

use std::collections::HashMap;

use fivegram_lm::vocab::FxBuildHasher;

/// `x ln x`, 0 for 0.
#[inline]
fn f(x: f64) -> f64 {
    if x > 0.0 { x * x.ln() } else { 0.0 }
}

/// Learns `k` clusters (at least 2) of the word ids `0..vocab` from sentences of ids; returns each word's
/// cluster. Deterministic: words are initially dealt round-robin in order of frequency (ties by id) and visited
/// in that order; a word moves only to a strictly better class. Stops after `max_passes` passes or when a pass
/// moves fewer than one word in a thousand.
pub fn exchange(sentences: &[Vec<u32>], vocab: usize, k: usize, max_passes: usize) -> Vec<u32> {
    let k = k.max(2);
    // Ids 0..vocab are words; `vocab` is the sentence boundary, whose class `k` is fixed.
    let boundary = vocab as u32;
    let mut bigrams: HashMap<(u32, u32), u32, FxBuildHasher> = HashMap::default();
    let mut count = vec![0u64; vocab];
    for sentence in sentences {
        let mut prev = boundary;
        for &w in sentence {
            if (w as usize) < vocab {
                count[w as usize] += 1;
                *bigrams.entry((prev, w)).or_insert(0) += 1;
                prev = w;
            }
        }
        *bigrams.entry((prev, boundary)).or_insert(0) += 1;
    }
    // Neighbour lists, without a word's bigrams with itself (kept apart).
    let mut left: Vec<Vec<(u32, u32)>> = vec![Vec::new(); vocab];
    let mut right: Vec<Vec<(u32, u32)>> = vec![Vec::new(); vocab + 1];
    let mut own = vec![0u32; vocab];
    let mut pairs: Vec<((u32, u32), u32)> = bigrams.into_iter().collect();
    pairs.sort_unstable();
    for ((u, v), n) in pairs {
        if u == v && u != boundary {
            own[u as usize] = n;
            continue;
        }
        if (v as usize) < vocab {
            left[v as usize].push((u, n));
        }
        right[u as usize].push((v, n));
    }
    let mut order: Vec<u32> = (0..vocab as u32).collect();
    order.sort_by(|&a, &b| count[b as usize].cmp(&count[a as usize]).then(a.cmp(&b)));
    let classes = k + 1;
    let mut class = vec![0u32; vocab + 1];
    for (rank, &w) in order.iter().enumerate() {
        class[w as usize] = (rank % k) as u32;
    }
    class[vocab] = k as u32;
    // Class bigram counts and marginals.
    let mut n = vec![0f64; classes * classes];
    for (v, list) in left.iter().enumerate() {
        for &(u, c) in list {
            n[class[u as usize] as usize * classes + class[v] as usize] += f64::from(c);
        }
    }
    for (u, list) in right.iter().enumerate() {
        for &(v, c) in list {
            if v == boundary {
                n[class[u] as usize * classes + k] += f64::from(c);
            }
        }
    }
    for (w, &c) in own.iter().enumerate() {
        let a = class[w] as usize;
        n[a * classes + a] += f64::from(c);
    }
    let mut row = vec![0f64; classes];
    let mut col = vec![0f64; classes];
    for c in 0..classes {
        for d in 0..classes {
            row[c] += n[c * classes + d];
            col[d] += n[c * classes + d];
        }
    }
    let mut from_left = vec![0f64; classes];
    let mut from_right = vec![0f64; classes];
    let mut touched_left: Vec<usize> = Vec::new();
    let mut touched_right: Vec<usize> = Vec::new();
    for _ in 0..max_passes {
        let mut moved = 0usize;
        for &w in &order {
            let w = w as usize;
            // The word's neighbours' classes.
            for &(u, c) in &left[w] {
                let cu = class[u as usize] as usize;
                if from_left[cu] == 0.0 {
                    touched_left.push(cu);
                }
                from_left[cu] += f64::from(c);
            }
            for &(v, c) in &right[w] {
                let cv = class[v as usize] as usize;
                if from_right[cv] == 0.0 {
                    touched_right.push(cv);
                }
                from_right[cv] += f64::from(c);
            }
            let own_w = f64::from(own[w]);
            let out_w: f64 = touched_right.iter().map(|&d| from_right[d]).sum::<f64>() + own_w;
            let in_w: f64 = touched_left.iter().map(|&c| from_left[c]).sum::<f64>() + own_w;
            // Take the word out of its class.
            let a = class[w] as usize;
            for &c in &touched_left {
                n[c * classes + a] -= from_left[c];
            }
            for &d in &touched_right {
                n[a * classes + d] -= from_right[d];
            }
            n[a * classes + a] -= own_w;
            row[a] -= out_w;
            col[a] -= in_w;
            // The gain of putting it into class b.
            let gain = |b: usize, n: &[f64]| -> f64 {
                let mut g = 0.0;
                for &c in &touched_left {
                    if c != b {
                        let x = n[c * classes + b];
                        g += f(x + from_left[c]) - f(x);
                    }
                }
                for &d in &touched_right {
                    if d != b {
                        let x = n[b * classes + d];
                        g += f(x + from_right[d]) - f(x);
                    }
                }
                let x = n[b * classes + b];
                g += f(x + from_left[b] + from_right[b] + own_w) - f(x);
                g -= f(row[b] + out_w) - f(row[b]);
                g -= f(col[b] + in_w) - f(col[b]);
                g
            };
            let mut best = (a, gain(a, &n));
            for b in 0..k {
                if b != a {
                    let g = gain(b, &n);
                    if g > best.1 + 1e-9 {
                        best = (b, g);
                    }
                }
            }
            let b = best.0;
            for &c in &touched_left {
                n[c * classes + b] += from_left[c];
            }
            for &d in &touched_right {
                n[b * classes + d] += from_right[d];
            }
            n[b * classes + b] += own_w;
            row[b] += out_w;
            col[b] += in_w;
            if b != a {
                class[w] = b as u32;
                moved += 1;
            }
            for &c in &touched_left {
                from_left[c] = 0.0;
            }
            for &d in &touched_right {
                from_right[d] = 0.0;
            }
            touched_left.clear();
            touched_right.clear();
        }
        if moved * 1000 < vocab.max(1) {
            break;
        }
    }
    class.truncate(vocab);
    class
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The objective `F` of a clustering, computed from scratch: higher is better.
    fn objective(sentences: &[Vec<u32>], vocab: usize, class: &[u32], k: usize) -> f64 {
        let classes = k + 1;
        let of = |w: u32| {
            if (w as usize) < vocab {
                class[w as usize] as usize
            } else {
                k
            }
        };
        let mut n = vec![0f64; classes * classes];
        for sentence in sentences {
            let mut prev = k;
            for &w in sentence {
                let c = of(w);
                n[prev * classes + c] += 1.0;
                prev = c;
            }
            n[prev * classes + k] += 1.0;
        }
        let mut row = vec![0f64; classes];
        let mut col = vec![0f64; classes];
        let mut total = 0.0;
        for c in 0..classes {
            for d in 0..classes {
                let x = n[c * classes + d];
                row[c] += x;
                col[d] += x;
                total += f(x);
            }
        }
        total - row.iter().map(|&x| f(x)).sum::<f64>() - col.iter().map(|&x| f(x)).sum::<f64>()
    }

    /// "der/ein X" for masculine X, "die/eine Y" for feminine Y, in shuffled frames.
    fn corpus() -> (Vec<Vec<u32>>, Vec<&'static str>) {
        let words = vec![
            "der", "die", "ein", "eine", "Hund", "Mann", "Ball", "Katze", "Frau", "Blume", "läuft", "schläft",
        ];
        let id = |w: &str| words.iter().position(|&x| x == w).unwrap() as u32;
        let mut sentences = Vec::new();
        for (i, noun) in ["Hund", "Mann", "Ball", "Katze", "Frau", "Blume"].iter().enumerate() {
            let fem = i >= 3;
            for (j, verb) in ["läuft", "schläft"].iter().enumerate() {
                let article = match (fem, j) {
                    (false, 0) => "der",
                    (false, _) => "ein",
                    (true, 0) => "die",
                    (true, _) => "eine",
                };
                for _ in 0..3 {
                    sentences.push(vec![id(article), id(noun), id(verb)]);
                }
            }
        }
        (sentences, words)
    }

    #[test]
    fn clusters_separate_what_the_neighbours_separate() {
        let (sentences, words) = corpus();
        let k = 5;
        let start: Vec<u32> = (0..words.len() as u32).map(|i| i % k as u32).collect();
        let class = exchange(&sentences, words.len(), k, 20);
        let id = |w: &str| words.iter().position(|&x| x == w).unwrap();
        let c = |w: &str| class[id(w)];
        // The objective never falls, and here it rises.
        assert!(objective(&sentences, words.len(), &class, k) > objective(&sentences, words.len(), &start, k));
        // Masculine nouns together, feminine nouns together, apart from each other.
        assert_eq!(c("Hund"), c("Mann"));
        assert_eq!(c("Mann"), c("Ball"));
        assert_eq!(c("Katze"), c("Frau"));
        assert_eq!(c("Frau"), c("Blume"));
        assert_ne!(c("Hund"), c("Frau"));
        assert!(class.iter().all(|&x| (x as usize) < k));
        // Deterministic.
        assert_eq!(exchange(&sentences, words.len(), k, 20), class);
    }

    #[test]
    fn each_move_raises_the_objective_and_a_clustering_is_a_local_optimum() {
        let (sentences, words) = corpus();
        let k = 3;
        let class = exchange(&sentences, words.len(), k, 50);
        let best = objective(&sentences, words.len(), &class, k);
        // No single move improves on the result.
        for w in 0..words.len() {
            for b in 0..k as u32 {
                let mut other = class.clone();
                other[w] = b;
                assert!(
                    objective(&sentences, words.len(), &other, k) <= best + 1e-6,
                    "moving {w} to {b}"
                );
            }
        }
        // Degenerate input: no sentences, one class asked for.
        assert_eq!(exchange(&[], 3, 1, 5).len(), 3);
    }
}
