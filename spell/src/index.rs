//! Candidate generation: a symmetric-delete index over the lexicon, and edit distances.
//!
//! Every lexicon word contributes the strings obtained by deleting up to `distance` characters from its first
//! `prefix` characters (SymSpell's scheme, Garbe 2012). A query deletes up to `distance` characters from its own
//! prefix; a word shares at least one such string with the query whenever their prefixes are within `distance`
//! insertions, deletions and substitutions of each other. The survivors are then checked against the whole word
//! with [`osa_distance`], so a long word can be allowed more edits than the index's `distance`: the index only
//! needs its first `prefix` characters to be close.
//!
//! The index stores no strings: each deletion is hashed to 64 bits, the low bits pick a bucket, and a bucket
//! holds `(16-bit fingerprint, 16-bit tag, word id)` entries, all buckets packed into one array (compressed
//! sparse rows). The tag is whatever the builder stores for the word (the speller stores its length and its
//! frequency class, so that hits can be filtered and ordered without reading anything else of the word). A hash
//! collision can only add a wrong candidate, which the distance check removes. Memory: 8 bytes per
//! (word, deletion) pair plus 4 bytes per bucket; about 30 deletions per word with the defaults. Both arrays live
//! in anonymous memory advised for transparent huge pages (every probe lands on a random page of tens of
//! megabytes; see `pages`).

use crate::lexicon::{LexId, Lexicon};
use crate::pages::Table;

const HASH_START: u64 = 0xCBF2_9CE4_8422_2325;

/// Feeds one character to a running hash.
#[inline]
fn hash_step(h: u64, c: char) -> u64 {
    let h = (h ^ u64::from(c)).wrapping_mul(0x0000_0100_0000_01B3);
    h.rotate_left(17).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The hash of a string of `len` characters from its running hash.
#[inline]
fn hash_finish(h: u64, len: usize) -> u64 {
    let mut h = h ^ len as u64;
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^ (h >> 33)
}

/// Calls `f` with the hash of every string obtained by deleting at least `least` and at most `max` (at most 4)
/// characters of `chars` (with `least` 0, `chars` itself too). The same string may be reported more than once.
/// The running hash of the kept characters before each deleted position is shared by all the deletions after it.
fn for_each_delete(chars: &[char], (least, max): (usize, usize), f: &mut impl FnMut(u64)) {
    /// Reports the string made of the characters kept so far (hashed into `state`, `len` of them) followed by
    /// `chars[from..]` with up to `left` more deletions, when no more than `report` deletions are left.
    fn go(
        chars: &[char],
        from: usize,
        (state, len): (u64, usize),
        (left, report): (usize, usize),
        f: &mut impl FnMut(u64),
    ) {
        if left <= report {
            let whole = chars[from..].iter().fold(state, |h, &c| hash_step(h, c));
            f(hash_finish(whole, len + chars.len() - from));
        }
        if left == 0 {
            return;
        }
        let mut state = state;
        for pos in from..chars.len() {
            // Deleting the second of two equal adjacent characters gives the same string as deleting the first.
            if !(pos > from && chars[pos] == chars[pos - 1]) {
                go(chars, pos + 1, (state, len + pos - from), (left - 1, report), f);
            }
            state = hash_step(state, chars[pos]);
        }
    }
    let max = max.min(4).min(chars.len());
    if least <= max {
        go(chars, 0, (HASH_START, 0), (max, max - least), f);
    }
}

/// The top bits of a deletion's hash kept in an entry to tell it from the other deletions of its bucket.
const FINGERPRINT_SHIFT: u32 = 48;

/// A symmetric-delete index over the words of a [`Lexicon`].
#[derive(Debug, Clone)]
pub struct DeleteIndex {
    prefix: usize,
    distance: usize,
    mask: u64,
    /// Per bucket, where its entries start (one more for the end of the last).
    offsets: Table,
    /// `fingerprint << 48 | tag << 32 | id`, grouped by bucket.
    entries: Table,
}

impl DeleteIndex {
    /// Indexes every word of `lexicon`: deletions of up to `distance` (at most 4) characters from its first
    /// `prefix` characters.
    pub fn build(lexicon: &Lexicon, prefix: usize, distance: usize) -> DeleteIndex {
        Self::build_with(lexicon.len(), prefix, distance, |id, chars| {
            chars.extend(lexicon.word(id).chars())
        })
    }

    /// Indexes `count` strings with ids `0..count`, each written into the buffer by `fill(id, buffer)`.
    pub fn build_with(
        count: usize,
        prefix: usize,
        distance: usize,
        fill: impl FnMut(LexId, &mut Vec<char>),
    ) -> DeleteIndex {
        Self::build_tagged(count, prefix, distance, fill, |_| 0)
    }

    /// [`DeleteIndex::build_with`], storing `tag(id)` with each of the entries of string `id` (returned by
    /// [`DeleteIndex::lookup_tagged`]).
    pub fn build_tagged(
        count: usize,
        prefix: usize,
        distance: usize,
        mut fill: impl FnMut(LexId, &mut Vec<char>),
        tag: impl Fn(LexId) -> u16,
    ) -> DeleteIndex {
        let prefix = prefix.max(1);
        let distance = distance.min(4);
        let mut chars = Vec::new();
        let mut hashes: Vec<u64> = Vec::new();
        // Pass 1: the deletions of every word, deduplicated per word, counted to size the table.
        let mut per_word: Vec<u32> = Vec::with_capacity(count);
        let mut all: Vec<u64> = Vec::new();
        for id in 0..count as LexId {
            chars.clear();
            fill(id, &mut chars);
            chars.truncate(prefix);
            hashes.clear();
            for_each_delete(&chars, (0, distance), &mut |h| hashes.push(h));
            hashes.sort_unstable();
            hashes.dedup();
            per_word.push(hashes.len() as u32);
            all.extend_from_slice(&hashes);
        }
        let buckets = (all.len() / 2 + 1).next_power_of_two().max(16);
        let mask = buckets as u64 - 1;
        let mut offsets = vec![0u32; buckets + 1];
        for &h in &all {
            offsets[(h & mask) as usize + 1] += 1;
        }
        for b in 0..buckets {
            offsets[b + 1] += offsets[b];
        }
        let table = Table::from_u32(&offsets);
        let mut fill = offsets;
        let mut entries = Table::zeroed_u64(all.len());
        let mut at = 0usize;
        for (id, &n) in per_word.iter().enumerate() {
            let tag = u64::from(tag(id as LexId)) << 32;
            for &h in &all[at..at + n as usize] {
                let bucket = (h & mask) as usize;
                entries.set_u64(
                    fill[bucket] as usize,
                    (h >> FINGERPRINT_SHIFT) << FINGERPRINT_SHIFT | tag | id as u64,
                );
                fill[bucket] += 1;
            }
            at += n as usize;
        }
        DeleteIndex {
            prefix,
            distance,
            mask,
            offsets: table,
            entries,
        }
    }

    /// The number of leading characters indexed.
    pub fn prefix(&self) -> usize {
        self.prefix
    }

    /// The number of deletions indexed.
    pub fn distance(&self) -> usize {
        self.distance
    }

    /// Appends to `out` the ids of words whose indexed prefix shares a deletion with the prefix of `word`
    /// (given as characters). `out` may receive an id more than once, and ids of words farther away (hash
    /// collisions); check them with [`osa_distance`].
    pub fn lookup(&self, word: &[char], out: &mut Vec<LexId>) {
        let mut probes = Vec::new();
        self.lookup_with(word, &mut probes, out);
    }

    /// [`DeleteIndex::lookup`] with a reusable buffer. The table is far larger than the caches, so every probe
    /// misses them: the probes are made in passes (all hashes, then all bucket bounds, then all buckets) whose
    /// loads do not depend on each other and so overlap.
    pub fn lookup_with(&self, word: &[char], probes: &mut Vec<(u64, u32, u32)>, out: &mut Vec<LexId>) {
        self.for_each_hit(word, probes, |entry| out.push(entry as u32));
    }

    /// [`DeleteIndex::lookup_with`], appending `tag << 32 | id` for each hit (the tag given to
    /// [`DeleteIndex::build_tagged`]).
    pub fn lookup_tagged(&self, word: &[char], probes: &mut Vec<(u64, u32, u32)>, out: &mut Vec<u64>) {
        self.for_each_hit(word, probes, |entry| out.push(entry & ((1 << FINGERPRINT_SHIFT) - 1)));
    }

    /// Calls `hit` with every entry of `word`'s buckets whose fingerprint matches one of its deletions.
    #[inline]
    fn for_each_hit(&self, word: &[char], probes: &mut Vec<(u64, u32, u32)>, mut hit: impl FnMut(u64)) {
        self.probe(word, probes);
        // The buckets' first entries, loaded in one pass whose loads overlap (the scan below branches on each
        // entry's fingerprint, which would otherwise wait for each bucket in turn).
        let mut touched = 0u64;
        for &(_, start, end) in probes.iter() {
            if start < end {
                touched ^= self
                    .entries
                    .u64s(start as usize..start as usize + 1)
                    .next()
                    .unwrap_or(0);
            }
        }
        std::hint::black_box(touched);
        for &(h, start, end) in probes.iter() {
            let fingerprint = h >> FINGERPRINT_SHIFT;
            for entry in self.entries.u64s(start as usize..end as usize) {
                if entry >> FINGERPRINT_SHIFT == fingerprint {
                    hit(entry);
                }
            }
        }
    }

    /// The hashes of the deletions of `word`'s prefix and their buckets' bounds, in `probes`.
    fn probe(&self, word: &[char], probes: &mut Vec<(u64, u32, u32)>) {
        let prefix = &word[..word.len().min(self.prefix)];
        probes.clear();
        for_each_delete(prefix, (0, self.distance), &mut |h| probes.push((h, 0, 0)));
        for probe in probes.iter_mut() {
            let bucket = (probe.0 & self.mask) as usize;
            probe.1 = self.offsets.u32_at(bucket);
            probe.2 = self.offsets.u32_at(bucket + 1);
        }
    }

    /// Bytes held (on the heap or in anonymous maps).
    pub fn heap_bytes(&self) -> usize {
        self.offsets.len_bytes() + self.entries.len_bytes()
    }
}

/// A word prepared for fast distance checks against many others: bit masks of where each character occurs
/// (Hyyrö's bit-parallel algorithm, one 64-bit word for patterns up to 64 characters).
#[derive(Debug, Clone)]
pub struct Pattern {
    chars: Vec<char>,
    /// Per ASCII character, the positions where it occurs (an array, so that a look-up needs no bounds check).
    ascii: Box<[u64; 128]>,
    other: Vec<(char, u64)>,
}

impl Default for Pattern {
    fn default() -> Self {
        Pattern {
            chars: Vec::new(),
            ascii: Box::new([0; 128]),
            other: Vec::new(),
        }
    }
}

impl Pattern {
    /// Prepares `word`.
    pub fn new(word: &[char]) -> Pattern {
        let mut pattern = Pattern::default();
        pattern.set(word);
        pattern
    }

    /// Prepares `word`, reusing the buffers.
    pub fn set(&mut self, word: &[char]) {
        // Only the masks of the previous word's characters are set: they are cleared, not the whole table.
        if self.chars.len() <= 64 {
            for &c in &self.chars {
                if (c as u32) < 128 {
                    self.ascii[c as usize] = 0;
                }
            }
        }
        self.chars.clear();
        self.chars.extend_from_slice(word);
        self.other.clear();
        if word.len() > 64 {
            return;
        }
        for (i, &c) in word.iter().enumerate() {
            let bit = 1u64 << i;
            if (c as u32) < 128 {
                self.ascii[c as usize] |= bit;
            } else if let Some(entry) = self.other.iter_mut().find(|e| e.0 == c) {
                entry.1 |= bit;
            } else {
                self.other.push((c, bit));
            }
        }
    }

    #[inline]
    fn mask(&self, c: char) -> u64 {
        if (c as u32) < 128 {
            self.ascii[c as usize]
        } else {
            self.other.iter().find(|e| e.0 == c).map_or(0, |e| e.1)
        }
    }

    /// The optimal-string-alignment distance to `text`, or `None` when it exceeds `max`; the same answer as
    /// [`osa_distance`].
    pub fn distance(&self, text: &[char], max: usize) -> Option<usize> {
        let m = self.chars.len();
        if m == 0 || m > 64 {
            return osa_distance(&self.chars, text, max);
        }
        self.bit_parallel(text.len(), text.iter().copied(), max)
    }

    /// [`Pattern::distance`] to a text whose characters are all below U+0100, given as one byte each (how the
    /// speller stores most words): no conversion to `char`s first.
    pub fn distance_latin1(&self, text: &[u8], max: usize) -> Option<usize> {
        let m = self.chars.len();
        if m == 0 || m > 64 {
            let text: Vec<char> = text.iter().map(|&b| char::from(b)).collect();
            return osa_distance(&self.chars, &text, max);
        }
        self.bit_parallel(text.len(), text.iter().map(|&b| char::from(b)), max)
    }

    /// Hyyrö's algorithm over the `len` characters of `text`, for a pattern of 1 to 64 characters.
    #[inline]
    fn bit_parallel(&self, len: usize, text: impl Iterator<Item = char>, max: usize) -> Option<usize> {
        let m = self.chars.len();
        if m.abs_diff(len) > max {
            return None;
        }
        let high = 1u64 << (m - 1);
        let mut vp: u64 = if m == 64 { u64::MAX } else { (1u64 << m) - 1 };
        let mut vn: u64 = 0;
        let mut d0: u64 = 0;
        let mut pm_prev: u64 = 0;
        let mut score = m;
        for (k, c) in text.enumerate() {
            let pm = self.mask(c);
            let transposed = ((!d0 & pm) << 1) & pm_prev;
            d0 = ((((pm & vp).wrapping_add(vp)) ^ vp) | pm | vn) | transposed;
            let mut hp = vn | !(d0 | vp);
            let mut hn = d0 & vp;
            // `hp` and `hn` never share a bit: the last row's cell moves by +1, -1 or 0, without a branch.
            score = score + usize::from(hp & high != 0) - usize::from(hn & high != 0);
            hp = (hp << 1) | 1;
            hn <<= 1;
            vp = hn | !(d0 | hp);
            vn = hp & d0;
            pm_prev = pm;
            // The distance can fall by at most one per remaining text character.
            let remaining = len - k - 1;
            if score > max + remaining {
                return None;
            }
        }
        (score <= max).then_some(score)
    }
}

/// The optimal-string-alignment distance between `a` and `b` (insertions, deletions, substitutions and
/// transpositions of adjacent characters, no substring edited twice), or `None` when it exceeds `max`.
pub fn osa_distance(a: &[char], b: &[char], max: usize) -> Option<usize> {
    let (n, m) = (a.len(), b.len());
    if n.abs_diff(m) > max {
        return None;
    }
    if n == 0 || m == 0 {
        let d = n.max(m);
        return (d <= max).then_some(d);
    }
    // Three rows of the DP: i-2, i-1, i. Rows are short (words), so stack buffers suffice up to 64 chars.
    const CAP: usize = 65;
    if m + 1 > CAP {
        return osa_distance_heap(a, b, max);
    }
    let big = max + 1;
    let mut prev2 = [big; CAP];
    let mut prev = [0usize; CAP];
    let mut cur = [big; CAP];
    for (j, p) in prev.iter_mut().enumerate().take(m + 1) {
        *p = j;
    }
    for i in 1..=n {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
            row_min = row_min.min(d);
        }
        if row_min > max {
            return None;
        }
        prev2[..=m].copy_from_slice(&prev[..=m]);
        prev[..=m].copy_from_slice(&cur[..=m]);
    }
    let d = prev[m];
    (d <= max).then_some(d)
}

fn osa_distance_heap(a: &[char], b: &[char], max: usize) -> Option<usize> {
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    (d[n][m] <= max).then_some(d[n][m])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn osa_distances() {
        let d = |a: &str, b: &str| osa_distance(&chars(a), &chars(b), 9);
        assert_eq!(d("", ""), Some(0));
        assert_eq!(d("abc", ""), Some(3));
        assert_eq!(d("teh", "the"), Some(1));
        assert_eq!(d("kitten", "sitting"), Some(3));
        assert_eq!(d("ca", "abc"), Some(3));
        assert_eq!(osa_distance(&chars("kitten"), &chars("sitting"), 2), None);
        let long = "a".repeat(100);
        assert_eq!(osa_distance(&chars(&long), &chars(&long[1..]), 2), Some(1));
    }

    proptest::proptest! {
        #[test]
        fn bit_parallel_matches_the_table(a in "[abcé]{0,12}", b in "[abcé]{0,12}", max in 0usize..6) {
            let (a, b) = (chars(&a), chars(&b));
            proptest::prop_assert_eq!(Pattern::new(&a).distance(&b, max), osa_distance(&a, &b, max));
            // The same text given as one byte per character (all of them are below U+0100).
            let bytes: Vec<u8> = b.iter().map(|&c| c as u32 as u8).collect();
            proptest::prop_assert_eq!(Pattern::new(&a).distance_latin1(&bytes, max), osa_distance(&a, &b, max));
        }

        /// A pattern set again (it clears only the masks of its previous word) answers like a new one, whatever
        /// it held before, a word over 64 characters included.
        #[test]
        fn a_reused_pattern_answers_like_a_new_one(
            words in proptest::collection::vec("[abcdé]{0,12}|[ab]{65,70}", 1..6),
            b in "[abcdé]{0,12}",
            max in 0usize..6,
        ) {
            let b = chars(&b);
            let mut reused = Pattern::default();
            for word in &words {
                let a = chars(word);
                reused.set(&a);
                proptest::prop_assert_eq!(reused.distance(&b, max), osa_distance(&a, &b, max));
                proptest::prop_assert_eq!(reused.distance(&b, max), Pattern::new(&a).distance(&b, max));
            }
        }
    }

    proptest::proptest! {
        // The speller relies on this: the index of whole words with one deletion finds every word one edit away
        // (its first stage), and the seven-letter prefix index with two every word within two edits (a word its
        // sound-alike search does not find is at least three away).
        #[test]
        fn deletions_find_every_word_within_their_edits(
            words in proptest::collection::vec("[abcé]{1,11}", 1..40),
            query in "[abcé]{1,11}",
        ) {
            let lex = Lexicon::from_counts(words.iter().map(|w| (w.as_str(), 1)));
            let q = chars(&query);
            for (index, edits) in [(DeleteIndex::build(&lex, usize::MAX, 1), 1), (DeleteIndex::build(&lex, 7, 2), 2)] {
                let mut hits = Vec::new();
                index.lookup_tagged(&q, &mut Vec::new(), &mut hits);
                for id in 0..lex.len() as LexId {
                    let near = osa_distance(&q, &chars(lex.word(id)), edits).is_some();
                    let found = hits.iter().any(|&h| h as LexId == id);
                    proptest::prop_assert!(!near || found, "{} not found for {} ({edits})", lex.word(id), query);
                }
            }
        }
    }

    #[test]
    fn two_edits_across_the_prefix_are_found() {
        // Each edit costs the two prefixes at most one letter of what they share, wherever it falls.
        let lex = Lexicon::from_counts([
            ("abcdefghij", 1),
            ("xyabcdefghij", 1),
            ("abcdefhgij", 1),
            ("abdcefghj", 1),
        ]);
        let index = DeleteIndex::build(&lex, 7, 2);
        let mut hits = Vec::new();
        index.lookup_tagged(&chars("abcdefghij"), &mut Vec::new(), &mut hits);
        for word in ["xyabcdefghij", "abcdefhgij", "abdcefghj"] {
            let id = lex.id(word).unwrap();
            assert!(hits.iter().any(|&h| h as LexId == id), "{word}");
        }
    }

    #[test]
    fn bit_parallel_long_words() {
        let a = chars(&"abcdefghij".repeat(6));
        let mut b = a.clone();
        b.swap(10, 11);
        b.remove(40);
        assert_eq!(Pattern::new(&a).distance(&b, 3), Some(2));
        let long = chars(&"x".repeat(70));
        assert_eq!(Pattern::new(&long).distance(&long[1..], 2), Some(1));
    }

    #[test]
    fn finds_words_within_two_edits_of_the_prefix() {
        let lex = Lexicon::from_counts([
            ("scrambled", 5),
            ("crumbled", 3),
            ("eggs", 9),
            ("benedict", 2),
            ("zebra", 1),
        ]);
        let index = DeleteIndex::build(&lex, 7, 2);
        let find = |q: &str, max: usize| {
            let q = chars(q);
            let mut ids = Vec::new();
            index.lookup(&q, &mut ids);
            ids.sort_unstable();
            ids.dedup();
            let mut words: Vec<&str> = ids
                .into_iter()
                .filter(|&id| osa_distance(&q, &chars(lex.word(id)), max).is_some())
                .map(|id| lex.word(id))
                .collect();
            words.sort_unstable();
            words
        };
        assert_eq!(find("scrumbled", 2), ["crumbled", "scrambled"]);
        // Tags come back with their ids.
        let tagged = DeleteIndex::build_tagged(
            lex.len(),
            7,
            2,
            |id, buf| buf.extend(lex.word(id).chars()),
            |id| 1000 + id as u16,
        );
        let mut hits = Vec::new();
        tagged.lookup_tagged(&chars("eggz"), &mut Vec::new(), &mut hits);
        let eggs = lex.id("eggs").unwrap();
        assert!(
            hits.contains(&(u64::from(1000 + eggs as u16) << 32 | u64::from(eggs))),
            "{hits:?}"
        );
        assert!(hits.iter().all(|&h| (h >> 32) as LexId == 1000 + h as u32 % (1 << 16)));
        assert_eq!(find("uggs", 2), ["eggs"]);
        assert_eq!(find("bundict", 2), ["benedict"]);
        assert!(find("qqqqq", 2).is_empty());
    }
}
