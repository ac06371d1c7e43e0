//! The suffix trie of every n-gram of orders 1..=N, built in one pass over the sorted order-N stream.
//!
//! Level k holds the k-grams in suffix order (the order `lmplz` writes them in). An entry stores only its leftmost
//! word; the rest of it is its parent, the entry of level k−1 it extends on the left, and a level's children are
//! contiguous (CSR offsets in [`Level::child`]). Level 1 entry `i` is word id `i`.
//!
//! Which n-grams exist and what they count follows `lmplz` (`adjust_counts.cc`):
//! - the k-grams of the model are the k-word suffixes of the counted order-N n-grams that contain `<s>` at most in
//!   their first position (the left padding collapses: `<s> <s> a` gives the bigram `<s> a`);
//! - an n-gram that starts with `<s>`, and every order-N n-gram, keeps its raw count;
//! - every other lower-order n-gram gets its continuation count: how many different words precede it;
//! - `<unk>` and `<s>` are unigrams with count 0.
//!
//! Raw counts (occurrences in the padded text) are kept as well when asked for: pruning compares them with the
//! thresholds and Stupid Backoff uses them instead of continuation counts.

use crate::count::FullCounts;
use crate::vocab::{BOS, UNK};
use crate::{Error, Result};

/// One order of the trie.
#[derive(Debug, Default)]
pub(crate) struct Level {
    /// The leftmost word of each entry.
    pub word: Vec<u32>,
    /// For levels below N: `child[i]..child[i + 1]` are the entries of the next level that extend entry `i` on the
    /// left. One longer than `word`.
    pub child: Vec<u32>,
    /// Adjusted (Kneser-Ney) counts, or raw counts when the trie was built with raw counts only.
    pub count: Vec<u32>,
    /// Raw counts, saturating at `u32::MAX`; empty unless asked for.
    pub raw: Vec<u32>,
}

impl Level {
    pub fn len(&self) -> usize {
        self.word.len()
    }
}

/// What to count in [`Trie::build`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counting {
    /// Adjusted counts in `count`, no raw counts.
    Adjusted,
    /// Adjusted counts in `count` and raw counts in `raw`.
    AdjustedAndRaw,
    /// Raw counts in `count` (Stupid Backoff).
    Raw,
}

/// The trie plus what `lmplz` gathers while building it.
#[derive(Debug)]
pub(crate) struct Trie {
    pub levels: Vec<Level>,
    /// `counts_of_counts[k][c]`: how many (k+1)-grams have adjusted count c, for c < 5, with `lmplz`'s quirk
    /// applied (see [`Trie::build`]).
    pub counts_of_counts: Vec<[u64; 5]>,
}

pub(crate) fn too_big(what: &str) -> Error {
    Error::InvalidOption(format!(
        "{what} exceeds 2^32 - 1, the most this estimator stores; split the corpus"
    ))
}

impl Trie {
    /// Builds the trie from the sorted order-N counts.
    pub fn build(counts: &FullCounts, counting: Counting) -> Result<Trie> {
        let n = counts.order();
        let vocab_len = counts.vocab.len();
        let mut levels: Vec<Level> = (0..n).map(|_| Level::default()).collect();
        let want_raw = counting == Counting::AdjustedAndRaw;
        let raw_only = counting == Counting::Raw;
        // <unk> and <s> are unigrams with count 0 (the raw count of <s> is filled in at the end).
        for id in [UNK, BOS] {
            let l = &mut levels[0];
            l.word.push(id);
            l.count.push(0);
            if want_raw {
                l.raw.push(0);
            }
            if n > 1 {
                l.child.push(0);
            }
        }
        let mut prev = [0u32; crate::count::MAX_ORDER];
        let mut first = true;
        // The current entry of each order and its raw count so far (lmplz's "actual counts").
        let mut cur = [0usize; crate::count::MAX_ORDER + 1];
        let mut cur_raw = [0u64; crate::count::MAX_ORDER + 1];
        let mut last_top = 0usize;

        counts.for_each(|key, c| {
            let rev = key;
            // Leading <s> of the n-gram = trailing <s> of the reversed key.
            let lead = rev.iter().rev().take_while(|&&w| w == BOS).count();
            let top = if lead >= 2 { n - (lead - 1) } else { n };
            if top == 0 || (n > 1 && top < 2) {
                return Err(Error::InvalidOption(
                    "an n-gram made only of <s> in the counts".to_string(),
                ));
            }
            let m = if first {
                0
            } else {
                rev.iter().zip(&prev[..n]).take_while(|(a, b)| a == b).count()
            };
            if !first && (m >= top || m == n) {
                return Err(Error::InvalidOption(
                    "the counted n-grams are not sorted in suffix order or not distinct".to_string(),
                ));
            }
            first = false;
            // Orders 1..=m continue: the same n-grams as before, seen again.
            for k in 1..=m {
                cur_raw[k] = cur_raw[k].saturating_add(c);
                if want_raw {
                    let r = &mut levels[k - 1].raw[cur[k]];
                    *r = r.saturating_add(c.min(u64::from(u32::MAX)) as u32);
                } else if raw_only {
                    let r = &mut levels[k - 1].count[cur[k]];
                    *r = r
                        .checked_add(u32::try_from(c).map_err(|_| too_big("a count"))?)
                        .ok_or_else(|| too_big("a count"))?;
                }
            }
            // A new word to the left of the order-m n-gram: one more continuation.
            if m >= 1 && !raw_only {
                let cnt = &mut levels[m - 1].count[cur[m]];
                *cnt += 1;
            }
            // New n-grams of orders m+1..=top.
            let c32 = u32::try_from(c).map_err(|_| too_big("a count"))?;
            for k in m + 1..=top {
                let word = rev[k - 1];
                if k == 1 {
                    let expected = levels[0].len();
                    if word as usize != expected {
                        return Err(Error::InvalidOption(format!(
                            "vocabulary word {} never occurs in the counts (word id {word} follows {expected})",
                            counts.vocab.word(expected.min(vocab_len - 1) as u32)
                        )));
                    }
                }
                let count = if raw_only || k == top { c32 } else { 1 };
                {
                    let len_next = if k < n { levels[k].len() as u64 } else { 0 };
                    let l = &mut levels[k - 1];
                    let idx = l.len();
                    if idx as u64 >= u64::from(u32::MAX) || len_next >= u64::from(u32::MAX) {
                        return Err(too_big("the number of n-grams of one order"));
                    }
                    l.word.push(word);
                    l.count.push(count);
                    if want_raw {
                        l.raw.push(c32);
                    }
                    if k < n {
                        l.child.push(len_next as u32);
                    }
                    cur[k] = idx;
                }
                cur_raw[k] = c;
            }
            last_top = top;
            prev[..n].copy_from_slice(rev);
            Ok(())
        })?;

        if levels[0].len() != vocab_len {
            return Err(Error::InvalidOption(format!(
                "{} vocabulary words never occur in the counts",
                vocab_len - levels[0].len()
            )));
        }
        // Close the CSR offsets.
        for k in 0..n.saturating_sub(1) {
            let next = levels[k + 1].len() as u32;
            levels[k].child.push(next);
        }
        // The raw count of <s> is the number of sentences: the sum of the raw counts of the bigrams "<s> w".
        if n > 1 && (want_raw || raw_only) {
            let (lo, hi) = (levels[0].child[BOS as usize], levels[0].child[BOS as usize + 1]);
            let mut sum = 0u64;
            for i in lo..hi {
                let l = &levels[1];
                sum += u64::from(if raw_only {
                    l.count[i as usize]
                } else {
                    l.raw[i as usize]
                });
            }
            let s = u32::try_from(sum).map_err(|_| too_big("the number of sentences"))?;
            if raw_only {
                levels[0].count[BOS as usize] = s;
            } else {
                levels[0].raw[BOS as usize] = s;
            }
        }

        let mut counts_of_counts = vec![[0u64; 5]; n];
        for (k, level) in levels.iter().enumerate() {
            let coc = &mut counts_of_counts[k];
            for &c in &level.count {
                if c < 5 {
                    coc[c as usize] += 1;
                }
            }
        }
        // lmplz's quirk: the n-grams still on its stack when the stream ends (the suffixes of the last order-N
        // n-gram, below order N) enter the counts of counts with their raw count, not their adjusted count.
        if n > 1 && !raw_only {
            for k in 1..=last_top.min(n - 1) {
                let adjusted = u64::from(levels[k - 1].count[cur[k]]);
                let raw = cur_raw[k];
                if adjusted < 5 {
                    counts_of_counts[k - 1][adjusted as usize] -= 1;
                }
                if raw < 5 {
                    counts_of_counts[k - 1][raw as usize] += 1;
                }
            }
        }
        Ok(Trie {
            levels,
            counts_of_counts,
        })
    }

    /// The model order.
    pub fn order(&self) -> usize {
        self.levels.len()
    }
}

/// Walks the parents of a level's entries in order: `parent_of(i)` for increasing `i`.
#[derive(Debug)]
pub(crate) struct ParentCursor<'a> {
    child: &'a [u32],
    parent: usize,
}

impl<'a> ParentCursor<'a> {
    /// `child` are the CSR offsets of the parent level.
    pub fn new(child: &'a [u32]) -> Self {
        ParentCursor { child, parent: 0 }
    }

    /// A cursor whose first query may be `first` or later (found by binary search).
    pub fn starting_at(child: &'a [u32], first: usize) -> Self {
        let parent = child.partition_point(|&c| c as usize <= first).saturating_sub(1);
        ParentCursor { child, parent }
    }

    /// The parent found by the last query (or the starting position).
    pub fn current(&self) -> usize {
        self.parent
    }

    /// The parent of entry `i`; `i` must not decrease between calls.
    #[inline]
    pub fn parent_of(&mut self, i: usize) -> usize {
        while self.child[self.parent + 1] as usize <= i {
            self.parent += 1;
        }
        self.parent
    }
}
