//! Phrase extraction from word-aligned sentence pairs (Koehn et al. 2003, as Moses' `extract` and `score`), and
//! the scores of every phrase pair.
//!
//! Every pair of spans of at most `max_phrase_length` words whose alignment points stay inside both spans is
//! extracted, together with the variants that take in unaligned source words at the edges. Each distinct pair is
//! scored with the four standard features, natural logarithms:
//!
//! - φ(s|t) and φ(t|s): relative frequencies of the pair among pairs sharing the target or the source phrase,
//!   smoothed as [`PhraseSmoothing`] says: by default the joint counts of rare pairs discounted by Good-Turing
//!   (counts 1 to 9, discounts clipped to (0, 1]), or modified Kneser-Ney (Foster, Kuhn and Johnson 2006);
//! - lex(s|t) and lex(t|s): lexical weights (the product over words of the average word translation probability
//!   of the words it is aligned to, or of the empty word), with word probabilities estimated from the symmetrized
//!   alignments;
//!
//! and with word-based lexicalized reordering (msd-bidirectional-fe): the probabilities that the phrase follows
//! its predecessor monotonically, swapped, or discontinuously, and the same for its successor, smoothed towards
//! the corpus-wide orientation distribution with σ = 0.5.

use std::collections::HashMap;

use fivegram_lm::estimate::Discount;
use fivegram_lm::vocab::FxBuildHasher;

/// Separates the source from the target ids in a pair key.
const SEP: u32 = u32::MAX;
/// The empty word in the lexical tables.
const NULL: u32 = u32::MAX;

/// How to extract and prune.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractConfig {
    /// Longest phrase on either side (Moses: 7).
    pub max_phrase_length: usize,
    /// Translation options kept per source phrase, the most probable φ(t|s) first.
    pub max_options: usize,
    /// How the relative frequencies φ(s|t) and φ(t|s) are smoothed.
    pub smoothing: PhraseSmoothing,
}

/// Smoothing of the phrase translation probabilities: a pair seen once is less certain than φ = 1 makes it look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PhraseSmoothing {
    /// Plain relative frequencies.
    None,
    /// The joint counts of rare pairs discounted by Good-Turing before taking relative frequencies (Moses'
    /// `--GoodTuring`); the discounted mass is not redistributed.
    #[default]
    GoodTuring,
    /// Modified Kneser-Ney (Foster, Kuhn and Johnson 2006, "KN3"): three absolute discounts D1, D2, D3+ from the
    /// counts of counts of the joint counts, the discounted mass given to the lower-order distribution
    /// `n1+(·, t) / n1+(·, ·)` (the share of distinct pairs a phrase takes part in), in both directions.
    KneserNey,
}

impl PhraseSmoothing {
    /// The name used on the command line and in weights files: `none`, `good-turing`, `kneser-ney`.
    pub fn name(self) -> &'static str {
        match self {
            PhraseSmoothing::None => "none",
            PhraseSmoothing::GoodTuring => "good-turing",
            PhraseSmoothing::KneserNey => "kneser-ney",
        }
    }

    /// Parses [`PhraseSmoothing::name`]'s names (and `gt`, `kn`).
    pub fn from_name(name: &str) -> Option<PhraseSmoothing> {
        match name {
            "none" => Some(PhraseSmoothing::None),
            "good-turing" | "gt" => Some(PhraseSmoothing::GoodTuring),
            "kneser-ney" | "kn" => Some(PhraseSmoothing::KneserNey),
            _ => None,
        }
    }
}

impl Default for ExtractConfig {
    fn default() -> ExtractConfig {
        ExtractConfig {
            max_phrase_length: 7,
            max_options: 30,
            smoothing: PhraseSmoothing::GoodTuring,
        }
    }
}

/// The number of phrase-pair features: ln φ(s|t), ln lex(s|t), ln φ(t|s), ln lex(t|s).
pub const PHRASE_SCORES: usize = 4;
/// The number of reordering features: previous monotone, swap, discontinuous; next monotone, swap, discontinuous.
pub const REORDERING_SCORES: usize = 6;

/// One scored translation option.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredPair {
    /// Target word ids.
    pub target: Vec<u32>,
    /// ln φ(s|t), ln lex(s|t), ln φ(t|s), ln lex(t|s).
    pub scores: [f32; PHRASE_SCORES],
    /// ln p(orientation) before (m, s, d) and after (m, s, d).
    pub reordering: [f32; REORDERING_SCORES],
    /// The pair's most frequent word alignment inside the phrases, packed: byte `k` is the set of source
    /// positions (bit `i`: the phrase's `i`-th source word) aligned to the phrase's `k`-th target word. Only the
    /// first [`ALIGNMENT_WORDS`] words of either side are recorded.
    pub alignment: u64,
}

/// Words of either side of a phrase pair whose alignment [`ScoredPair::alignment`] records.
pub const ALIGNMENT_WORDS: usize = 8;

/// The source positions (within the phrase) aligned to the `k`-th target word of a packed alignment.
pub fn aligned_sources(alignment: u64, k: usize) -> impl Iterator<Item = usize> {
    let byte = if k < ALIGNMENT_WORDS {
        (alignment >> (8 * k)) as u8
    } else {
        0
    };
    (0..ALIGNMENT_WORDS).filter(move |&i| byte & (1 << i) != 0)
}

/// All scored options of one source phrase.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceEntry {
    /// Source word ids.
    pub source: Vec<u32>,
    /// The options, most probable first.
    pub options: Vec<ScoredPair>,
}

/// Counts statistics gathered while extracting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtractStats {
    /// Phrase-pair occurrences extracted.
    pub occurrences: u64,
    /// Distinct phrase pairs.
    pub distinct: u64,
    /// Distinct source phrases.
    pub sources: u64,
    /// Options kept after pruning.
    pub kept: u64,
}

#[derive(Debug, Default, Clone)]
struct Acc {
    count: u32,
    lex_st: f32,
    lex_ts: f32,
    /// Orientation counts: previous m, s, d; next m, s, d.
    orient: [u32; 6],
    /// The packed internal alignments seen, with their counts (usually one or two).
    alignments: Vec<(u64, u32)>,
}

impl Acc {
    /// The most frequent internal alignment (the smallest packed value among equals).
    fn alignment(&self) -> u64 {
        self.alignments
            .iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            .map_or(0, |a| a.0)
    }
}

/// Word translation probabilities estimated from alignment points.
struct LexTables {
    /// w(t | s), NULL source for unaligned target words.
    t_given_s: HashMap<(u32, u32), f32, FxBuildHasher>,
    /// w(s | t), NULL target for unaligned source words.
    s_given_t: HashMap<(u32, u32), f32, FxBuildHasher>,
}

impl LexTables {
    fn new(src: &[Vec<u32>], tgt: &[Vec<u32>], points: &[Vec<(u16, u16)>]) -> LexTables {
        let mut pair: HashMap<(u32, u32), u32, FxBuildHasher> = HashMap::default();
        let mut s_total: HashMap<u32, u32, FxBuildHasher> = HashMap::default();
        let mut t_total: HashMap<u32, u32, FxBuildHasher> = HashMap::default();
        for ((s, t), a) in src.iter().zip(tgt).zip(points) {
            let mut s_seen = vec![false; s.len()];
            let mut t_seen = vec![false; t.len()];
            for &(i, j) in a {
                let (sw, tw) = (s[i as usize], t[j as usize]);
                *pair.entry((sw, tw)).or_insert(0) += 1;
                *s_total.entry(sw).or_insert(0) += 1;
                *t_total.entry(tw).or_insert(0) += 1;
                s_seen[i as usize] = true;
                t_seen[j as usize] = true;
            }
            for (i, &sw) in s.iter().enumerate() {
                if !s_seen[i] {
                    *pair.entry((sw, NULL)).or_insert(0) += 1;
                    *s_total.entry(sw).or_insert(0) += 1;
                    *t_total.entry(NULL).or_insert(0) += 1;
                }
            }
            for (j, &tw) in t.iter().enumerate() {
                if !t_seen[j] {
                    *pair.entry((NULL, tw)).or_insert(0) += 1;
                    *s_total.entry(NULL).or_insert(0) += 1;
                    *t_total.entry(tw).or_insert(0) += 1;
                }
            }
        }
        let mut t_given_s = HashMap::with_capacity_and_hasher(pair.len(), FxBuildHasher::default());
        let mut s_given_t = HashMap::with_capacity_and_hasher(pair.len(), FxBuildHasher::default());
        for (&(sw, tw), &c) in &pair {
            t_given_s.insert((sw, tw), c as f32 / s_total[&sw] as f32);
            s_given_t.insert((sw, tw), c as f32 / t_total[&tw] as f32);
        }
        LexTables { t_given_s, s_given_t }
    }

    /// lex(t|s) and lex(s|t) of the pair `s[s0..=s1]`, `t[t0..=t1]` under alignment `a`.
    fn weights(&self, s: &[u32], t: &[u32], a: &[(u16, u16)], span: (usize, usize, usize, usize)) -> (f32, f32) {
        let (s0, s1, t0, t1) = span;
        let mut lex_ts = 1.0f32;
        for (j, &tw) in t.iter().enumerate().take(t1 + 1).skip(t0) {
            let (mut sum, mut n) = (0.0f32, 0u32);
            for &(si, ti) in a {
                if ti as usize == j && (s0..=s1).contains(&(si as usize)) {
                    sum += self.t_given_s.get(&(s[si as usize], tw)).copied().unwrap_or(0.0);
                    n += 1;
                }
            }
            lex_ts *= if n == 0 {
                self.t_given_s.get(&(NULL, tw)).copied().unwrap_or(1e-7)
            } else {
                sum / n as f32
            };
        }
        let mut lex_st = 1.0f32;
        for (i, &sw) in s.iter().enumerate().take(s1 + 1).skip(s0) {
            let (mut sum, mut n) = (0.0f32, 0u32);
            for &(si, ti) in a {
                if si as usize == i && (t0..=t1).contains(&(ti as usize)) {
                    sum += self.s_given_t.get(&(sw, t[ti as usize])).copied().unwrap_or(0.0);
                    n += 1;
                }
            }
            lex_st *= if n == 0 {
                self.s_given_t.get(&(sw, NULL)).copied().unwrap_or(1e-7)
            } else {
                sum / n as f32
            };
        }
        (lex_ts, lex_st)
    }
}

/// Extracts, scores and prunes the phrase pairs of an aligned corpus. The result is sorted by source ids.
pub fn extract(
    src: &[Vec<u32>],
    tgt: &[Vec<u32>],
    points: &[Vec<(u16, u16)>],
    config: &ExtractConfig,
) -> (Vec<SourceEntry>, ExtractStats) {
    let lex = LexTables::new(src, tgt, points);
    let mut pairs: HashMap<Vec<u32>, Acc, FxBuildHasher> = HashMap::default();
    let mut stats = ExtractStats::default();
    let max = config.max_phrase_length.max(1);
    let mut key = Vec::new();
    for ((s, t), a) in src.iter().zip(tgt).zip(points) {
        if s.is_empty() || t.is_empty() || a.is_empty() {
            continue;
        }
        let (sl, tl) = (s.len(), t.len());
        let mut grid = vec![false; sl * tl];
        let mut s_aligned = vec![false; sl];
        for &(i, j) in a {
            grid[i as usize * tl + j as usize] = true;
            s_aligned[i as usize] = true;
        }
        // Alignment points with the sentence boundaries count as aligned corners.
        let aligned = |i: i64, j: i64| -> bool {
            if (i == -1 && j == -1) || (i == sl as i64 && j == tl as i64) {
                return true;
            }
            if (i == sl as i64 && j == -1) || (i == -1 && j == tl as i64) {
                return true;
            }
            i >= 0 && j >= 0 && (i as usize) < sl && (j as usize) < tl && grid[i as usize * tl + j as usize]
        };
        for t0 in 0..tl {
            let mut s_min = usize::MAX;
            let mut s_max = 0usize;
            for t1 in t0..tl.min(t0 + max) {
                for i in 0..sl {
                    if grid[i * tl + t1] {
                        s_min = s_min.min(i);
                        s_max = s_max.max(i);
                    }
                }
                if s_min == usize::MAX || s_max - s_min >= max {
                    continue;
                }
                // Consistency: no source word in the span is aligned outside the target span.
                let consistent = a.iter().all(|&(i, j)| {
                    let (i, j) = (i as usize, j as usize);
                    !(s_min..=s_max).contains(&i) || (t0..=t1).contains(&j)
                });
                if !consistent {
                    continue;
                }
                let mut s0 = s_min;
                loop {
                    let mut s1 = s_max;
                    loop {
                        stats.occurrences += 1;
                        key.clear();
                        key.extend_from_slice(&s[s0..=s1]);
                        key.push(SEP);
                        key.extend_from_slice(&t[t0..=t1]);
                        let (lex_ts, lex_st) = lex.weights(s, t, a, (s0, s1, t0, t1));
                        let (a0, a1, b0, b1) = (s0 as i64, s1 as i64, t0 as i64, t1 as i64);
                        let prev = if aligned(a0 - 1, b0 - 1) {
                            0
                        } else if aligned(a1 + 1, b0 - 1) {
                            1
                        } else {
                            2
                        };
                        let next = if aligned(a1 + 1, b1 + 1) {
                            3
                        } else if aligned(a0 - 1, b1 + 1) {
                            4
                        } else {
                            5
                        };
                        let acc = match pairs.get_mut(key.as_slice()) {
                            Some(acc) => acc,
                            None => pairs.entry(key.clone()).or_default(),
                        };
                        acc.count += 1;
                        acc.lex_ts = acc.lex_ts.max(lex_ts);
                        acc.lex_st = acc.lex_st.max(lex_st);
                        acc.orient[prev] += 1;
                        acc.orient[next] += 1;
                        let mut packed = 0u64;
                        for &(i, j) in a {
                            let (i, j) = (i as usize, j as usize);
                            if (s0..=s1).contains(&i)
                                && (t0..=t1).contains(&j)
                                && i - s0 < ALIGNMENT_WORDS
                                && j - t0 < ALIGNMENT_WORDS
                            {
                                packed |= 1 << (8 * (j - t0) + (i - s0));
                            }
                        }
                        match acc.alignments.iter_mut().find(|(p, _)| *p == packed) {
                            Some((_, n)) => *n += 1,
                            None => acc.alignments.push((packed, 1)),
                        }
                        s1 += 1;
                        if s1 >= sl || s_aligned[s1] || s1 - s0 >= max {
                            break;
                        }
                    }
                    if s0 == 0 || s_aligned[s0 - 1] || s_max + 1 - (s0 - 1) > max {
                        break;
                    }
                    s0 -= 1;
                }
            }
        }
    }
    stats.distinct = pairs.len() as u64;
    score(pairs, config, stats)
}

fn score(
    pairs: HashMap<Vec<u32>, Acc, FxBuildHasher>,
    config: &ExtractConfig,
    mut stats: ExtractStats,
) -> (Vec<SourceEntry>, ExtractStats) {
    let split = |key: &[u32]| -> usize { key.iter().position(|&w| w == SEP).unwrap_or(key.len()) };
    let mut src_count: HashMap<&[u32], u32, FxBuildHasher> = HashMap::default();
    let mut tgt_count: HashMap<&[u32], u32, FxBuildHasher> = HashMap::default();
    let mut orient_total = [0u64; 6];
    for (key, acc) in &pairs {
        let k = split(key);
        *src_count.entry(&key[..k]).or_insert(0) += acc.count;
        *tgt_count.entry(&key[k + 1..]).or_insert(0) += acc.count;
        for (total, &c) in orient_total.iter_mut().zip(&acc.orient) {
            *total += u64::from(c);
        }
    }
    let prior = |o: usize| -> f32 {
        let base = if o < 3 { 0 } else { 3 };
        // Add-0.1 smoothing keeps an orientation never seen in the corpus possible.
        let sum: u64 = orient_total[base..base + 3].iter().sum();
        (orient_total[o] as f32 + 0.1) / (sum as f32 + 0.3)
    };
    // Good-Turing: c* = (c + 1) n(c+1) / n(c) for c below GT_MAX, as a discount factor c*/c.
    const GT_MAX: usize = 10;
    let mut count_of_counts = [0u64; GT_MAX + 1];
    for acc in pairs.values() {
        if (acc.count as usize) <= GT_MAX {
            count_of_counts[acc.count as usize] += 1;
        }
    }
    let mut discount = [1.0f32; GT_MAX + 1];
    if config.smoothing == PhraseSmoothing::GoodTuring {
        for c in 1..GT_MAX {
            if count_of_counts[c] > 0 {
                let d = (c + 1) as f32 * count_of_counts[c + 1] as f32 / (c as f32 * count_of_counts[c] as f32);
                if d > 0.0 && d <= 1.0 {
                    discount[c] = d;
                }
            }
        }
    }
    let kn = (config.smoothing == PhraseSmoothing::KneserNey).then(|| KneserNey::new(&pairs, &split));
    const SIGMA: f32 = 0.5;
    let mut by_source: HashMap<&[u32], Vec<ScoredPair>, FxBuildHasher> = HashMap::default();
    for (key, acc) in &pairs {
        let k = split(key);
        let (source, target) = (&key[..k], &key[k + 1..]);
        let c = acc.count as f32 * discount.get(acc.count as usize).copied().unwrap_or(1.0);
        let mut reordering = [0.0f32; REORDERING_SCORES];
        for (o, r) in reordering.iter_mut().enumerate() {
            let base = if o < 3 { 0 } else { 3 };
            let total: u32 = acc.orient[base..base + 3].iter().sum();
            *r = ((acc.orient[o] as f32 + SIGMA * prior(o)) / (total as f32 + SIGMA)).ln();
        }
        by_source.entry(source).or_default().push(ScoredPair {
            target: target.to_vec(),
            scores: match &kn {
                Some(kn) => [
                    kn.prob(acc.count, target, tgt_count[target], source, Side::Target).ln(),
                    acc.lex_st.max(1e-30).ln(),
                    kn.prob(acc.count, source, src_count[source], target, Side::Source).ln(),
                    acc.lex_ts.max(1e-30).ln(),
                ],
                None => [
                    (c / tgt_count[target] as f32).ln(),
                    acc.lex_st.max(1e-30).ln(),
                    (c / src_count[source] as f32).ln(),
                    acc.lex_ts.max(1e-30).ln(),
                ],
            },
            reordering,
            alignment: acc.alignment(),
        });
    }
    stats.sources = by_source.len() as u64;
    let mut entries: Vec<SourceEntry> = by_source
        .into_iter()
        .map(|(source, mut options)| {
            options.sort_by(|a, b| {
                b.scores[2]
                    .total_cmp(&a.scores[2])
                    .then(b.scores[3].total_cmp(&a.scores[3]))
                    .then_with(|| a.target.cmp(&b.target))
            });
            options.truncate(config.max_options.max(1));
            SourceEntry {
                source: source.to_vec(),
                options,
            }
        })
        .collect();
    entries.sort_by(|a, b| a.source.cmp(&b.source));
    stats.kept = entries.iter().map(|e| e.options.len() as u64).sum();
    (entries, stats)
}

/// Which phrase of a pair is conditioned on.
#[derive(Clone, Copy)]
enum Side {
    Source,
    Target,
}

/// What modified Kneser-Ney smoothing of φ needs beyond the phrases' total counts, for both directions.
struct KneserNey<'a> {
    /// D1, D2, D3+, estimated as the language model's ([`Discount::from_counts_of_counts`]) from the counts
    /// of counts of the joint counts.
    discount: Discount,
    /// Per phrase: the distinct pairs it takes part in (index 0), and those seen 1, 2 and 3 or more times.
    by_source: HashMap<&'a [u32], [u64; 4], FxBuildHasher>,
    by_target: HashMap<&'a [u32], [u64; 4], FxBuildHasher>,
    /// The number of distinct pairs.
    pairs: f64,
}

impl<'a> KneserNey<'a> {
    fn new(pairs: &'a HashMap<Vec<u32>, Acc, FxBuildHasher>, split: &dyn Fn(&[u32]) -> usize) -> KneserNey<'a> {
        let mut n = [0u64; 5];
        let mut by_source: HashMap<&[u32], [u64; 4], FxBuildHasher> = HashMap::default();
        let mut by_target: HashMap<&[u32], [u64; 4], FxBuildHasher> = HashMap::default();
        for (key, acc) in pairs {
            let c = u64::from(acc.count);
            if (1..=4).contains(&c) {
                n[c as usize] += 1;
            }
            let k = split(key);
            for classes in [
                by_source.entry(&key[..k]).or_default(),
                by_target.entry(&key[k + 1..]).or_default(),
            ] {
                classes[0] += 1;
                classes[c.clamp(1, 3) as usize] += 1;
            }
        }
        // A discount must stay below its count for the pair to keep some probability of its own; where the
        // counts of counts do not give such discounts (tiny corpora), lmplz's fallback ones do.
        let discount = Discount::from_counts_of_counts(&n)
            .filter(|d| (1..=3).all(|c| d.amount[c] < c as f32))
            .unwrap_or(Discount::FALLBACK);
        KneserNey {
            discount,
            by_source,
            by_target,
            pairs: pairs.len().max(1) as f64,
        }
    }

    /// φ(other | given) for a pair seen `count` times, `given` being the phrase on `side`, seen `total` times in
    /// all its pairs.
    fn prob(&self, count: u32, given: &[u32], total: u32, other: &[u32], side: Side) -> f32 {
        let (given_table, other_table) = match side {
            Side::Source => (&self.by_source, &self.by_target),
            Side::Target => (&self.by_target, &self.by_source),
        };
        let classes = given_table[given];
        let total = f64::from(total);
        let d = |c: u64| f64::from(self.discount.get(c));
        let backoff_mass = (1..=3).map(|c| d(c) * classes[c as usize] as f64).sum::<f64>() / total;
        // The lower-order distribution: how many distinct phrases `other` pairs with, out of all pairs.
        let lower = other_table[other][0] as f64 / self.pairs;
        let c = u64::from(count);
        ((c as f64 - d(c)).max(0.0) / total + backoff_mass * lower) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_consistent_pairs_with_unaligned_edges() {
        // src: a b c ; tgt: x y ; a-x, c-y, b unaligned.
        let src = vec![vec![0, 1, 2]];
        let tgt = vec![vec![10, 11]];
        let points = vec![vec![(0, 0), (2, 1)]];
        let config = ExtractConfig {
            smoothing: PhraseSmoothing::None,
            ..ExtractConfig::default()
        };
        let (entries, stats) = extract(&src, &tgt, &points, &config);
        let mut pairs: Vec<(Vec<u32>, Vec<u32>)> = entries
            .iter()
            .flat_map(|e| e.options.iter().map(move |o| (e.source.clone(), o.target.clone())))
            .collect();
        pairs.sort();
        assert_eq!(
            pairs,
            [
                (vec![0], vec![10]),
                (vec![0, 1], vec![10]),
                (vec![0, 1, 2], vec![10, 11]),
                (vec![1, 2], vec![11]),
                (vec![2], vec![11]),
            ]
        );
        assert_eq!(stats.occurrences, 5);
        // φ(t|s) of a unique pair is 1; "x" comes from "a" or "a b": φ(s|t) = 1/2.
        let a = entries.iter().find(|e| e.source == [0]).unwrap();
        assert_eq!(a.options[0].scores[2], 0.0);
        assert!((a.options[0].scores[0] - 0.5f32.ln()).abs() < 1e-6);
        // "a" → "x" starts both sentences: monotone before; "c" follows it in both, but b is in between on the
        // source side, so the next orientation is discontinuous.
        let r = a.options[0].reordering;
        assert!(r[0] > r[1] && r[0] > r[2]);
        assert!(r[5] > r[3] && r[5] > r[4]);
        // Word alignments inside the pairs: "a b c" → "x y" has a-x (x: source bit 0) and c-y (y: source bit 2);
        // "b c" → "y" has c-y (bit 1 of the phrase "b c").
        let alignment = |s: &[u32]| entries.iter().find(|e| e.source == s).unwrap().options[0].alignment;
        assert_eq!(alignment(&[0, 1, 2]), 0b100 << 8 | 0b1);
        assert_eq!(alignment(&[1, 2]), 0b10);
        assert_eq!(aligned_sources(alignment(&[0, 1, 2]), 1).collect::<Vec<_>>(), [2]);
        assert_eq!(aligned_sources(alignment(&[0, 1, 2]), 9).count(), 0);
    }

    #[test]
    fn the_most_frequent_internal_alignment_is_kept() {
        // "a b" → "x y" aligned straight twice and crossed once.
        let src = vec![vec![0, 1]; 3];
        let tgt = vec![vec![10, 11]; 3];
        let straight = vec![(0, 0), (1, 1)];
        let crossed = vec![(0, 1), (1, 0)];
        let points = vec![straight.clone(), crossed, straight];
        let (entries, _) = extract(&src, &tgt, &points, &ExtractConfig::default());
        let pair = entries.iter().find(|e| e.source == [0, 1]).unwrap();
        let option = pair.options.iter().find(|o| o.target == [10, 11]).unwrap();
        assert_eq!(option.alignment, 0b10 << 8 | 0b01);
    }

    #[test]
    fn good_turing_discounts_rare_pairs() {
        // "a"→"x" twice and three pairs seen once: n1 = 3, n2 = 1, so singletons are discounted by
        // d(1) = 2·n2 / (1·n1) = 2/3; d(2) = 3·n3 / (2·n2) = 0 is not a valid discount and leaves count 2 alone.
        let src = vec![vec![0], vec![0], vec![1], vec![2], vec![3]];
        let tgt = vec![vec![10], vec![10], vec![11], vec![12], vec![13]];
        let points = vec![vec![(0, 0)]; 5];
        let (plain, _) = extract(
            &src,
            &tgt,
            &points,
            &ExtractConfig {
                smoothing: PhraseSmoothing::None,
                ..ExtractConfig::default()
            },
        );
        let (gt, _) = extract(&src, &tgt, &points, &ExtractConfig::default());
        let find =
            |entries: &[SourceEntry], s: u32| entries.iter().find(|e| e.source == [s]).unwrap().options[0].scores[2];
        assert_eq!(find(&plain, 1), 0.0);
        assert!((find(&gt, 1) - (2.0f32 / 3.0).ln()).abs() < 1e-6);
        assert_eq!(find(&gt, 0), 0.0, "counts whose discount is not below 1 stay");
    }

    #[test]
    fn kneser_ney_discounts_and_redistributes() {
        // "a" → "x" (3 times), "a" → "y" (once), "b" → "y" (twice), "c" → "z" (once): n1 = 2, n2 = 1, n3 = 1.
        let src = vec![vec![0], vec![0], vec![0], vec![0], vec![1], vec![1], vec![2]];
        let tgt = vec![vec![10], vec![10], vec![10], vec![11], vec![11], vec![11], vec![12]];
        let points = vec![vec![(0, 0)]; 7];
        let config = ExtractConfig {
            smoothing: PhraseSmoothing::KneserNey,
            ..ExtractConfig::default()
        };
        let (kn, _) = extract(&src, &tgt, &points, &config);
        let phi = |s: u32, t: u32| -> f64 {
            let e = kn.iter().find(|e| e.source == [s]).unwrap();
            f64::from(e.options.iter().find(|o| o.target == [t]).unwrap().scores[2]).exp()
        };
        // Y = n1 / (n1 + 2 n2) = 1/2; D1 = 1 - 2Y n2/n1 = 1/2, D2 = 2 - 3Y n3/n2 = 1/2, D3 = 3 - 4Y·0 = 3: not
        // below 3, so lmplz's fallback discounts apply: D1 = 0.5, D2 = 1, D3+ = 1.5.
        // φ(x|a) = (3 - 1.5)/4 + (0.5·1 + 1.5·1)/4 · n1+(·,x)/4 = 0.375 + 0.5 · 1/4.
        assert!((phi(0, 10) - (0.375 + 0.5 * 0.25)).abs() < 1e-6, "{}", phi(0, 10));
        // φ(y|a) = (1 - 0.5)/4 + 0.5 · n1+(·,y)/4 = 0.125 + 0.5 · 2/4.
        assert!((phi(0, 11) - (0.125 + 0.25)).abs() < 1e-6);
        // Seen options keep less than all of the mass: the rest is for unseen pairs.
        assert!(phi(0, 10) + phi(0, 11) < 1.0);
        // The more often seen pair stays the more probable.
        assert!(phi(0, 10) > phi(0, 11));
        assert_eq!(PhraseSmoothing::from_name("kn"), Some(PhraseSmoothing::KneserNey));
        for s in [
            PhraseSmoothing::None,
            PhraseSmoothing::GoodTuring,
            PhraseSmoothing::KneserNey,
        ] {
            assert_eq!(PhraseSmoothing::from_name(s.name()), Some(s));
        }
    }
}
