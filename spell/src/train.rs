//! Training the error model from raw text, without any list of known misspellings.
//!
//! Text written by many people contains their misspellings. Following Whitelaw et al. (2009, "Using the Web for
//! language independent spellchecking and autocorrection"), a rare token close to a frequent word is most likely
//! a misspelling of it: `recieve` (5 occurrences) next to `receive` (5,241). [`mine_pairs`] collects such
//! (intended, typed) pairs from word counts:
//!
//! - the typed token occurs at most [`TrainConfig::max_typo_count`] times, only in text written by the public, has
//!   at least [`TrainConfig::min_length`] letters and is written in lowercase more often than not (capitalised
//!   rarities are mostly names);
//! - the intended word is within one edit (two for tokens of [`TrainConfig::long_typo`] letters), occurs at least [`TrainConfig::min_word_count`] times and at least
//!   [`TrainConfig::ratio`] times as often as the typed token;
//! - pairs that differ by a regular inflection (`-s`, `-ed`, `-ing`, `-ly`, …) are skipped: a rare inflected form
//!   is usually a real word; when several intended words tie, the pair's weight is shared by their counts.
//!
//! [`train`] then learns Brill & Moore (2000) style edits from the pairs: each pair is aligned, adjacent edits
//! are merged into one region, and every region is counted with 0 to 2 characters of unchanged context on
//! either side (`^` and `$` mark the word's ends), giving rules such as `ent → ant`, `cie → cei`, `^ph → ^f`.
//! `P(α → β)` is the number of pairs using the rule over the number of frequent words containing `α`; a rule is
//! kept when at least [`TrainConfig::min_rule_pairs`] pairs use it and it is cheaper than the single-character
//! edits it replaces. The single-character [`EditCosts`] are estimated from the same pairs the same way.
//!
//! Nothing here reads an evaluation list: the Norvig and Aspell lists used in [`crate::eval`] play no part in
//! training.

use std::collections::HashMap;

use crate::edit::{END, EditCosts, ErrorModel, MAX_RULE, START, Scratch, keyboard_adjacent};
use crate::index::{DeleteIndex, osa_distance};
use crate::lexicon::{Lexicon, WordCounts, is_word};

/// Settings of error-model training.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// A typed token occurs at most this many times.
    pub max_typo_count: u64,
    /// ... and has at least this many characters.
    pub min_length: usize,
    /// The intended word occurs at least this many times.
    pub min_word_count: u64,
    /// ... and at least this many times as often as the typed token.
    pub ratio: f64,
    /// A rule is kept when at least this many distinct pairs use it.
    pub min_rule_pairs: f64,
    /// Characters of context added on each side of an edit region.
    pub context: usize,
    /// Pseudo-occurrences of each rule's `α` that follow the single-character costs (smoothing of rare rules).
    pub smoothing: f64,
    /// Typed tokens of at least this many characters may be two edits from the intended word (shorter: one).
    pub long_typo: usize,
    /// A rule is kept only when it is at least this much cheaper (`log10`) than the single-character edits.
    pub min_gain: f32,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            max_typo_count: 20,
            min_length: 4,
            min_word_count: 200,
            ratio: 100.0,
            min_rule_pairs: 3.0,
            context: 2,
            min_gain: 0.3,
            long_typo: 8,
            smoothing: 10_000.0,
        }
    }
}

/// What training found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrainReport {
    /// Distinct tokens examined.
    pub distinct: usize,
    /// (intended, typed) pairs mined (a shared pair counts once).
    pub pairs: usize,
    /// Rules kept.
    pub rules: usize,
    /// The estimated single-character costs.
    pub costs: EditCosts,
}

/// One mined pair: the intended word, the typed token and the pair's weight (1, or a share of it).
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// The word meant.
    pub intended: String,
    /// The token typed.
    pub typed: String,
    /// Weight in (0, 1].
    pub weight: f64,
}

const SUFFIXES: [&str; 12] = ["s", "es", "ed", "d", "ing", "ly", "er", "ers", "est", "y", "n", "'s"];

/// True when one word is the other plus a regular suffix (or with a final `e` dropped before it).
fn inflection(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let short_stem = short.strip_suffix('e').unwrap_or(short);
    SUFFIXES.iter().any(|suffix| {
        long.strip_suffix(suffix)
            .is_some_and(|rest| rest == short || rest == short_stem)
    }) || long.strip_prefix("un").is_some_and(|rest| rest == short)
        || stem(a) == stem(b)
}

/// The word without one regular suffix and a final `e` (`receives`, `received` → `receiv`).
fn stem(word: &str) -> &str {
    let base = SUFFIXES
        .iter()
        .filter_map(|suffix| word.strip_suffix(suffix).filter(|rest| rest.len() >= 3))
        .min_by_key(|rest| rest.len())
        .unwrap_or(word);
    base.strip_suffix('e').unwrap_or(base)
}

/// Mines likely (intended, typed) pairs (see the module documentation). `total` counts the whole corpus,
/// `user` the part of it written by the public (reviews, forums), where misspellings are mined: a typed token
/// must occur there and nowhere else. Each pair's weight is the typed token's count in `user`, shared among
/// equally close intended words in proportion to their counts.
pub fn mine_pairs(total: &WordCounts, user: &WordCounts, config: &TrainConfig) -> Vec<Pair> {
    let frequent = Lexicon::from_counts(
        total
            .iter()
            .filter(|&(w, c)| c >= config.min_word_count && w.chars().all(char::is_alphabetic)),
    );
    let index = DeleteIndex::build(&frequent, 7, 2);
    let mut typed_chars: Vec<char> = Vec::new();
    let mut ids = Vec::new();
    let mut pairs = Vec::new();
    let mut found: Vec<(u32, u64, usize)> = Vec::new();
    let mut tokens: Vec<(&str, u64)> = user
        .iter()
        .filter(|&(w, c)| {
            c <= config.max_typo_count
                && total.get(w) == c
                && user.lowercase(w) * 2 > c
                && w.chars().count() >= config.min_length
                && w.chars().all(char::is_alphabetic)
                && is_word(w)
        })
        .collect();
    tokens.sort_unstable();
    for (typed, count) in tokens {
        typed_chars.clear();
        typed_chars.extend(typed.chars());
        ids.clear();
        index.lookup(&typed_chars, &mut ids);
        ids.sort_unstable();
        ids.dedup();
        found.clear();
        for &id in &ids {
            let word = frequent.word(id);
            let intended: Vec<char> = word.chars().collect();
            let max = if typed_chars.len() >= config.long_typo { 2 } else { 1 };
            let Some(d) = osa_distance(&intended, &typed_chars, max) else {
                continue;
            };
            if d == 0 || (frequent.count(id) as f64) < config.ratio * count as f64 || inflection(word, typed) {
                continue;
            }
            found.push((id, frequent.count(id), d));
        }
        let Some(best) = found.iter().map(|f| f.2).min() else {
            continue;
        };
        found.retain(|f| f.2 == best);
        let sum: u64 = found.iter().map(|f| f.1).sum();
        for &(id, c, _) in &found {
            pairs.push(Pair {
                intended: frequent.word(id).to_string(),
                typed: typed.to_string(),
                weight: count as f64 * c as f64 / sum as f64,
            });
        }
    }
    pairs
}

/// One step of an alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Match,
    Substitute,
    Delete,
    Insert,
    Transpose,
}

/// Aligns `w` (intended) with `s` (typed) by unit-cost edits (with transpositions); returns the operations.
fn align(w: &[char], s: &[char]) -> Vec<Op> {
    let (n, m) = (w.len(), s.len());
    let width = m + 1;
    let mut d = vec![0u32; (n + 1) * width];
    for i in 0..=n {
        d[i * width] = i as u32;
    }
    for (j, cell) in d.iter_mut().enumerate().take(m + 1) {
        *cell = j as u32;
    }
    for i in 1..=n {
        for j in 1..=m {
            let sub = d[(i - 1) * width + j - 1] + u32::from(w[i - 1] != s[j - 1]);
            let mut v = sub.min(d[(i - 1) * width + j] + 1).min(d[i * width + j - 1] + 1);
            if i > 1 && j > 1 && w[i - 1] == s[j - 2] && w[i - 2] == s[j - 1] && w[i - 1] != w[i - 2] {
                v = v.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = v;
        }
    }
    let mut ops = Vec::new();
    let (mut i, mut j) = (n, m);
    while i > 0 || j > 0 {
        let here = d[i * width + j];
        if i > 0 && j > 0 && w[i - 1] == s[j - 1] && here == d[(i - 1) * width + j - 1] {
            ops.push(Op::Match);
            i -= 1;
            j -= 1;
        } else if i > 1
            && j > 1
            && w[i - 1] == s[j - 2]
            && w[i - 2] == s[j - 1]
            && w[i - 1] != w[i - 2]
            && here == d[(i - 2) * width + j - 2] + 1
        {
            ops.push(Op::Transpose);
            i -= 2;
            j -= 2;
        } else if i > 0 && j > 0 && here == d[(i - 1) * width + j - 1] + 1 {
            ops.push(Op::Substitute);
            i -= 1;
            j -= 1;
        } else if i > 0 && here == d[(i - 1) * width + j] + 1 {
            ops.push(Op::Delete);
            i -= 1;
        } else {
            ops.push(Op::Insert);
            j -= 1;
        }
    }
    ops.reverse();
    ops
}

/// Counts of single-character edits and of the chances to make them.
#[derive(Debug, Default, Clone)]
struct Tally {
    substitute: f64,
    substitute_vowel: f64,
    substitute_keyboard: f64,
    delete: f64,
    delete_double: f64,
    insert: f64,
    insert_double: f64,
    transpose: f64,
    first: f64,
    edits: f64,
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y')
}

/// Learns an error model from pairs mined from `user` text (see the module documentation); `total` counts all the
/// text; `fallback` gives the costs used where the data say nothing.
pub fn train(
    total: &WordCounts,
    user: &WordCounts,
    fallback: EditCosts,
    config: &TrainConfig,
) -> (ErrorModel, TrainReport) {
    let pairs = mine_pairs(total, user, config);
    let mut report = TrainReport {
        distinct: user.len(),
        pairs: pairs.len(),
        ..TrainReport::default()
    };
    let (model, costs) = train_from_pairs(&pairs, total, user, fallback, config);
    report.rules = model.rule_count();
    report.costs = costs;
    (model, report)
}

/// Learns an error model from given (intended, typed) pairs. Rates are per token of `user` text: a rule's
/// weight over the occurrences in `user` of the frequent words (by `total`) that contain its `α`.
pub fn train_from_pairs(
    pairs: &[Pair],
    total: &WordCounts,
    user: &WordCounts,
    fallback: EditCosts,
    config: &TrainConfig,
) -> (ErrorModel, EditCosts) {
    let mut rules: HashMap<(String, String), (f64, u32)> = HashMap::new();
    let mut tally = Tally::default();
    let mut seen: Vec<(String, String)> = Vec::new();
    for pair in pairs {
        let w: Vec<char> = std::iter::once(START)
            .chain(pair.intended.chars())
            .chain(std::iter::once(END))
            .collect();
        let s: Vec<char> = std::iter::once(START)
            .chain(pair.typed.chars())
            .chain(std::iter::once(END))
            .collect();
        let ops = align(&w, &s);
        // Walk the ops, tracking positions, to find regions of consecutive edits.
        let (mut i, mut j) = (0usize, 0usize);
        let mut k = 0;
        seen.clear();
        while k < ops.len() {
            if ops[k] == Op::Match {
                i += 1;
                j += 1;
                k += 1;
                continue;
            }
            let (i0, j0) = (i, j);
            let mut single = None;
            let start_k = k;
            while k < ops.len() && ops[k] != Op::Match {
                match ops[k] {
                    Op::Substitute => {
                        i += 1;
                        j += 1;
                    }
                    Op::Delete => i += 1,
                    Op::Insert => j += 1,
                    Op::Transpose => {
                        i += 2;
                        j += 2;
                    }
                    Op::Match => {}
                }
                k += 1;
            }
            if k - start_k == 1 {
                single = Some(ops[start_k]);
            }
            tally.edits += pair.weight;
            if i0 == 1 || (i0 == 0 && j0 == 0) {
                tally.first += pair.weight;
            }
            if let Some(op) = single {
                match op {
                    Op::Substitute => {
                        let (a, b) = (w[i0], s[j0]);
                        if is_vowel(a) && is_vowel(b) {
                            tally.substitute_vowel += pair.weight;
                        } else if keyboard_adjacent(a, b) {
                            tally.substitute_keyboard += pair.weight;
                        } else {
                            tally.substitute += pair.weight;
                        }
                    }
                    Op::Delete => {
                        if w[i0 - 1] == w[i0] || w.get(i0 + 1) == Some(&w[i0]) {
                            tally.delete_double += pair.weight;
                        } else {
                            tally.delete += pair.weight;
                        }
                    }
                    Op::Insert => {
                        if s[j0 - 1] == s[j0] || w.get(i0) == Some(&s[j0]) {
                            tally.insert_double += pair.weight;
                        } else {
                            tally.insert += pair.weight;
                        }
                    }
                    Op::Transpose => tally.transpose += pair.weight,
                    Op::Match => {}
                }
            }
            let alpha_core = &w[i0..i];
            let beta_core = &s[j0..j];
            if alpha_core.len() > MAX_RULE || beta_core.len() > MAX_RULE {
                continue;
            }
            for left in 0..=config.context.min(i0) {
                for right in 0..=config.context.min(w.len() - i) {
                    let alpha: String = w[i0 - left..i + right].iter().collect();
                    let beta: String = s[j0 - left..j + right].iter().collect();
                    let (la, lb) = (alpha.chars().count(), beta.chars().count());
                    if la == 0 || la > MAX_RULE || lb > MAX_RULE {
                        continue;
                    }
                    // The boundary marks are context only: a rule never edits them.
                    let key = (alpha, beta);
                    if !seen.contains(&key) {
                        seen.push(key);
                    }
                }
            }
        }
        for key in seen.drain(..) {
            let entry = rules.entry(key).or_default();
            entry.0 += pair.weight;
            entry.1 += 1;
        }
    }
    // Denominators: occurrences of each α among the intended words' population (the frequent lexicon words).
    let mut alphas: HashMap<String, f64> = rules.keys().map(|(a, _)| (a.clone(), 0.0)).collect();
    let mut chars_total = 0.0f64;
    let mut vowels_total = 0.0f64;
    let mut doubled_total = 0.0f64;
    let mut adjacent_total = 0.0f64;
    let mut words_total = 0.0f64;
    let mut padded: Vec<char> = Vec::new();
    let mut buf = String::new();
    for (word, count) in user.iter() {
        if total.get(word) < config.min_word_count || !word.chars().all(char::is_alphabetic) {
            continue;
        }
        let count = count as f64;
        padded.clear();
        padded.push(START);
        padded.extend(word.chars());
        padded.push(END);
        words_total += count;
        let n = padded.len();
        for a in 1..n - 1 {
            chars_total += count;
            if is_vowel(padded[a]) {
                vowels_total += count;
            }
            if padded[a] == padded[a + 1] {
                doubled_total += count;
            }
            if a + 2 < n {
                adjacent_total += count;
            }
        }
        for start in 0..n {
            for len in 1..=MAX_RULE.min(n - start) {
                buf.clear();
                buf.extend(&padded[start..start + len]);
                if let Some(v) = alphas.get_mut(buf.as_str()) {
                    *v += count;
                }
            }
        }
    }
    let cost = |events: f64, chances: f64, default: f32| -> f32 {
        if events < 1.0 || chances < 1.0 {
            default
        } else {
            (-(events / chances).log10()) as f32
        }
    };
    let costs = EditCosts {
        substitute: cost(tally.substitute, chars_total * 18.0, fallback.substitute),
        substitute_vowel: cost(tally.substitute_vowel, vowels_total * 5.0, fallback.substitute_vowel),
        substitute_keyboard: cost(
            tally.substitute_keyboard,
            chars_total * 3.0,
            fallback.substitute_keyboard,
        ),
        delete: cost(tally.delete, chars_total - doubled_total, fallback.delete),
        delete_double: cost(tally.delete_double, doubled_total, fallback.delete_double),
        insert: cost(tally.insert, (chars_total + words_total) * 24.0, fallback.insert),
        insert_double: cost(
            tally.insert_double,
            (chars_total + words_total) * 2.0,
            fallback.insert_double,
        ),
        transpose: cost(tally.transpose, adjacent_total, fallback.transpose),
        first_letter: {
            // Edits at the first letter, relative to the share of letters that are first letters.
            let share = tally.first / tally.edits.max(1.0);
            let expected = words_total / chars_total.max(1.0);
            if share > 0.0 && expected > 0.0 {
                ((expected / share).log10() as f32).max(0.0)
            } else {
                fallback.first_letter
            }
        },
    };
    let mut model = ErrorModel::new(costs);
    let generic = ErrorModel::new(costs);
    let mut scratch = Scratch::default();
    let mut kept: Vec<(&(String, String), f32)> = Vec::new();
    for (key, &(n, types)) in &rules {
        if f64::from(types) < config.min_rule_pairs {
            continue;
        }
        let chances = alphas.get(&key.0).copied().unwrap_or(0.0);
        if chances < 1.0 {
            continue;
        }
        let a: Vec<char> = key.0.chars().collect();
        let b: Vec<char> = key.1.chars().collect();
        // A MAP estimate: `smoothing` pseudo-occurrences of α that follow the single-character edits.
        let generic_cost = generic.cost(&a, &b, &mut scratch);
        let prior = 10f64.powf(-f64::from(generic_cost));
        let p = (n + config.smoothing * prior) / (chances.max(n) + config.smoothing);
        let rule_cost = (-p.log10()) as f32;
        if generic_cost <= rule_cost + config.min_gain {
            continue;
        }
        kept.push((key, rule_cost));
    }
    for ((alpha, beta), cost) in kept {
        model.add_rule(alpha, beta, cost);
    }
    (model, costs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn alignments() {
        use Op::*;
        assert_eq!(align(&chars("the"), &chars("teh")), [Match, Transpose]);
        assert_eq!(align(&chars("abc"), &chars("abxc")), [Match, Match, Insert, Match]);
        assert_eq!(align(&chars("abc"), &chars("ac")), [Match, Delete, Match]);
    }

    #[test]
    fn inflections_are_not_typos() {
        assert!(inflection("walk", "walked"));
        assert!(inflection("love", "loved"));
        assert!(inflection("bakes", "bake"));
        assert!(inflection("receives", "received"));
        assert!(!inflection("receive", "recieve"));
    }

    #[test]
    fn mines_rare_neighbours_of_frequent_words() {
        let mut counts = WordCounts::new();
        counts.add("receive", 5000);
        counts.add("recieve", 5);
        counts.add("received", 3000);
        counts.add("receives", 4);
        counts.add("believe", 6000);
        counts.add("beleive", 2);
        let config = TrainConfig::default();
        let pairs = mine_pairs(&counts, &counts, &config);
        let got: Vec<(&str, &str)> = pairs.iter().map(|p| (p.intended.as_str(), p.typed.as_str())).collect();
        assert!(got.contains(&("receive", "recieve")), "{got:?}");
        assert!(got.contains(&("believe", "beleive")), "{got:?}");
        assert!(!got.iter().any(|p| p.1 == "receives"), "{got:?}");
    }

    #[test]
    fn learns_a_frequent_pattern_as_a_cheap_rule() {
        let words = ["receive", "believe", "achieve", "deceive", "relieve", "perceive"];
        let pairs: Vec<Pair> = words
            .iter()
            .map(|w| Pair {
                intended: w.to_string(),
                typed: if w.contains("ei") {
                    w.replace("ei", "ie")
                } else {
                    w.replace("ie", "ei")
                },
                weight: 1.0,
            })
            .collect();
        let mut counts = WordCounts::new();
        for w in words {
            counts.add(w, 1000);
        }
        let config = TrainConfig {
            min_word_count: 1,
            smoothing: 0.0,
            ..TrainConfig::default()
        };
        let (model, _) = train_from_pairs(&pairs, &counts, &counts, EditCosts::default(), &config);
        let mut scratch = Scratch::default();
        let with = model.cost(&chars("conceive"), &chars("concieve"), &mut scratch);
        let without = ErrorModel::new(*model.costs()).cost(&chars("conceive"), &chars("concieve"), &mut scratch);
        assert!(with < without, "{with} vs {without}");
    }
}
