//! Elias-Fano coding of non-decreasing integer sequences, with random access and successor search.
//!
//! A sequence of `n` values below the universe `u` is split into `l = ⌊log2(u/n)⌋` low bits, stored verbatim in
//! a fixed-width array, and high parts stored in unary in a bit vector of `n + (u >> l) + 1` bits: value `i`
//! sets bit `high(i) + i`. That costs at most `2 + l` bits per value, close to the information-theoretic minimum
//! for a sorted sequence.
//!
//! `select` (the position of the `i`-th one, to read value `i`; or of the `i`-th zero, to jump to a bucket of
//! high parts) uses a rank directory — the number of ones before each 512-bit block, as `u32` — and hints: for
//! every 256th one and every 256th zero, the block it lies in. A select binary-searches the directory between
//! two hints (usually the same or adjacent blocks), then counts bits in at most 8 words. Unlike plain sampled
//! positions, this stays fast where the ones are very unevenly spread, as the concatenated ranges of a trie
//! level make them. The directory and hints cost about 6 % of the high bits plus 0.25 bits per value.
//!
//! The blob layout is `[low bits][high bits][rank directory][one hints][zero hints]`, each part a whole number
//! of words, `u32` entries packed two per word; its size is a function of `(n, u)` alone
//! ([`EliasFano::words_needed`]), which is what opening a file validates.

use std::hint::black_box;

use super::bits::{IntVec, IntVecBuilder, mask, select_in_word, touch, word, words_for_bits};

/// One hint per this many ones (or zeros).
const SAMPLE: u64 = 256;
/// Bits per rank-directory block.
const BLOCK: u64 = 512;
/// Ranges of at most this many values are scanned; longer ones are searched through their high parts.
const SHORT: u64 = 16;
/// A long range's search counts off at most this many zeros from its start to the target's bucket (a few
/// words of high bits) before it asks the directory instead.
const NEAR_ZEROS: u64 = 256;
/// The most requests one batched call (`*_many`) takes.
pub(crate) const GROUP: usize = 32;
/// "No such position or value" in batched calls.
pub(crate) const NONE: u64 = u64::MAX;

/// What [`EliasFano::locate`] found: the answer, or the bucket to search.
#[derive(Debug, Clone, Copy)]
enum Located {
    Done(Option<u64>),
    /// The value `target` can only be in the bucket of high parts starting at bit `pos`, whose first value has
    /// index `first`.
    Bucket {
        target: u64,
        pos: u64,
        first: u64,
    },
}

/// The layout that `(n, u)` determines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    low_width: u32,
    low_words: u64,
    high_bits: u64,
    high_words: u64,
    /// Rank-directory entries (`blocks + 1`, the last one the total).
    blocks: u64,
    one_hints: u64,
    zero_hints: u64,
}

impl Layout {
    /// The layout of `n` values below `u`.
    pub(crate) fn new(n: u64, u: u64) -> Layout {
        let low_width = if n > 0 && u > n { (u / n).ilog2() } else { 0 };
        let high_bits = n + (u >> low_width) + 1;
        let zeros = (u >> low_width) + 1;
        Layout {
            low_width,
            low_words: IntVec::words_needed(n, low_width),
            high_bits,
            high_words: words_for_bits(high_bits),
            blocks: high_bits.div_ceil(BLOCK),
            one_hints: n.div_ceil(SAMPLE),
            zero_hints: zeros.div_ceil(SAMPLE),
        }
    }

    /// Words of `entries` packed `u32`s.
    fn u32_words(entries: u64) -> u64 {
        entries.div_ceil(2)
    }

    fn directory_words(&self) -> u64 {
        Self::u32_words(self.blocks + 1)
    }

    fn words(&self) -> u64 {
        self.low_words
            + self.high_words
            + self.directory_words()
            + Self::u32_words(self.one_hints)
            + Self::u32_words(self.zero_hints)
    }
}

/// Builds an Elias-Fano blob from values pushed in non-decreasing order.
#[derive(Debug, Clone)]
pub(crate) struct EliasFanoBuilder {
    n: u64,
    u: u64,
    layout: Layout,
    low: IntVecBuilder,
    high: Vec<u64>,
    pushed: u64,
    last: u64,
}

impl EliasFanoBuilder {
    /// A builder for exactly `n` values, each below `u`.
    pub(crate) fn new(n: u64, u: u64) -> EliasFanoBuilder {
        let layout = Layout::new(n, u);
        EliasFanoBuilder {
            n,
            u,
            layout,
            low: IntVecBuilder::with_capacity(layout.low_width, n),
            high: vec![0; layout.high_words as usize],
            pushed: 0,
            last: 0,
        }
    }

    /// Appends `value` (`last <= value < u`).
    pub(crate) fn push(&mut self, value: u64) {
        assert!(self.pushed < self.n, "more than {} values pushed", self.n);
        assert!(
            value < self.u && value >= self.last,
            "value {value} out of order or universe"
        );
        self.low.push(value & mask(self.layout.low_width));
        let bit = (value >> self.layout.low_width) + self.pushed;
        self.high[(bit / 64) as usize] |= 1 << (bit % 64);
        self.pushed += 1;
        self.last = value;
    }

    /// The blob, exactly [`EliasFano::words_needed`]`(n, u)` words.
    pub(crate) fn finish(self) -> Vec<u64> {
        assert_eq!(self.pushed, self.n, "fewer values pushed than announced");
        let layout = self.layout;
        let mut out = self.low.finish();
        let mut directory = Vec::with_capacity(layout.blocks as usize + 1);
        let mut one_hints = Vec::with_capacity(layout.one_hints as usize);
        let mut zero_hints = Vec::with_capacity(layout.zero_hints as usize);
        let (mut ones, mut zeros) = (0u64, 0u64);
        for pos in 0..layout.high_bits {
            if pos % BLOCK == 0 {
                directory.push(ones);
            }
            if (self.high[(pos / 64) as usize] >> (pos % 64)) & 1 == 1 {
                if ones % SAMPLE == 0 {
                    one_hints.push(pos / BLOCK);
                }
                ones += 1;
            } else {
                if zeros % SAMPLE == 0 {
                    zero_hints.push(pos / BLOCK);
                }
                zeros += 1;
            }
        }
        directory.push(ones);
        out.extend_from_slice(&self.high);
        for part in [directory, one_hints, zero_hints] {
            assert!(
                part.iter().all(|&v| v <= u64::from(u32::MAX)),
                "Elias-Fano sequence too long"
            );
            out.extend(part.chunks(2).map(|c| c[0] | c.get(1).map_or(0, |&h| h << 32)));
        }
        debug_assert_eq!(out.len() as u64, layout.words());
        out
    }
}

/// A read-only Elias-Fano sequence over borrowed bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EliasFano<'a> {
    low: IntVec<'a>,
    high: &'a [u8],
    directory: &'a [u8],
    one_hints: &'a [u8],
    zero_hints: &'a [u8],
    n: u64,
    u: u64,
    low_width: u32,
    high_bits: u64,
    blocks: u64,
}

/// Entry `i` of packed `u32`s.
#[inline]
fn u32_at(bytes: &[u8], i: u64) -> u64 {
    (word(bytes, (i / 2) as usize) >> (32 * (i % 2))) & 0xFFFF_FFFF
}

impl<'a> EliasFano<'a> {
    /// The words a sequence of `n` values below `u` occupies.
    pub(crate) fn words_needed(n: u64, u: u64) -> u64 {
        Layout::new(n, u).words()
    }

    /// A view of `bytes`, which the caller has checked to hold [`words_needed`](Self::words_needed)`(n, u)` words.
    #[cfg(test)]
    pub(crate) fn new(bytes: &'a [u8], n: u64, u: u64) -> EliasFano<'a> {
        Self::with_layout(bytes, n, u, &Layout::new(n, u))
    }

    /// [`new`](Self::new) with the layout computed beforehand (`Layout::new(n, u)`), for hot paths.
    #[inline]
    pub(crate) fn with_layout(bytes: &'a [u8], n: u64, u: u64, layout: &Layout) -> EliasFano<'a> {
        let split = |from: u64, words: u64| {
            let start = (from * 8) as usize;
            let end = ((from + words) * 8) as usize;
            bytes.get(start..end).unwrap_or(&[])
        };
        let high_start = layout.low_words;
        let directory_start = high_start + layout.high_words;
        let ones_start = directory_start + layout.directory_words();
        let zeros_start = ones_start + Layout::u32_words(layout.one_hints);
        EliasFano {
            low: IntVec::new(split(0, layout.low_words), layout.low_width),
            high: split(high_start, layout.high_words),
            directory: split(directory_start, layout.directory_words()),
            one_hints: split(ones_start, Layout::u32_words(layout.one_hints)),
            zero_hints: split(zeros_start, Layout::u32_words(layout.zero_hints)),
            n,
            u,
            low_width: layout.low_width,
            high_bits: layout.high_bits,
            blocks: layout.blocks,
        }
    }

    /// The number of values.
    #[cfg(test)]
    pub(crate) fn len(&self) -> u64 {
        self.n
    }

    /// Ones before block `b`.
    #[inline]
    fn ones_before(&self, b: u64) -> u64 {
        u32_at(self.directory, b)
    }

    /// The blocks between which the `i`-th one (`zeros == false`) or zero lies, from the hints.
    #[inline]
    fn hint_range(&self, i: u64, zeros: bool) -> (u64, u64) {
        let hints = if zeros { self.zero_hints } else { self.one_hints };
        let last = self.blocks.saturating_sub(1);
        let k = i / SAMPLE;
        let count = if zeros { self.high_bits - self.n } else { self.n };
        let lo = u32_at(hints, k).min(last);
        let hi = if (k + 1) * SAMPLE < count {
            u32_at(hints, k + 1).min(last)
        } else {
            last
        };
        (lo, hi.max(lo))
    }

    /// The last block in `lo..=hi` with at most `i` ones (zeros) before it: the one holding the `i`-th.
    #[inline]
    fn search_blocks(&self, i: u64, mut lo: u64, mut hi: u64, zeros: bool) -> u64 {
        let before = |b: u64| {
            if zeros {
                (b * BLOCK).saturating_sub(self.ones_before(b))
            } else {
                self.ones_before(b)
            }
        };
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if before(mid) <= i {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        lo
    }

    /// The block holding the `i`-th one (`zeros == false`) or zero.
    #[inline]
    fn block_of(&self, i: u64, zeros: bool) -> u64 {
        let (lo, hi) = self.hint_range(i, zeros);
        self.search_blocks(i, lo, hi, zeros)
    }

    /// The position of the `i`-th set bit of the high bits (0-based).
    #[inline]
    fn select1(&self, i: u64) -> Option<u64> {
        if i >= self.n {
            return None;
        }
        let block = self.block_of(i, false);
        let skip = i.checked_sub(self.ones_before(block))?;
        self.scan(block * BLOCK, skip, false)
    }

    /// The position of the `i`-th clear bit of the high bits (0-based).
    #[inline]
    fn select0(&self, i: u64) -> Option<u64> {
        if i >= self.high_bits - self.n {
            return None;
        }
        let block = self.block_of(i, true);
        let skip = i.checked_sub((block * BLOCK).saturating_sub(self.ones_before(block)))?;
        self.scan(block * BLOCK, skip, true)
    }

    /// From position `from` (itself a one, or a zero when `zeros`), the position `skip` ones (zeros) further.
    #[inline]
    fn scan(&self, from: u64, mut skip: u64, zeros: bool) -> Option<u64> {
        let mut index = (from / 64) as usize;
        let flip = if zeros { u64::MAX } else { 0 };
        let mut w = (word(self.high, index) ^ flip) & !mask((from % 64) as u32);
        let last = (self.high_bits.saturating_sub(1) / 64) as usize;
        loop {
            let count = u64::from(w.count_ones());
            if skip < count {
                let pos = index as u64 * 64 + u64::from(select_in_word(w, skip as u32));
                return (pos < self.high_bits).then_some(pos);
            }
            skip -= count;
            index += 1;
            if index > last {
                return None;
            }
            w = word(self.high, index) ^ flip;
        }
    }

    /// The number of consecutive set bits starting at `pos`.
    #[inline]
    fn ones_from(&self, pos: u64) -> u64 {
        let mut index = (pos / 64) as usize;
        let mut shift = (pos % 64) as u32;
        let mut count = 0;
        loop {
            let run = u64::from((!(word(self.high, index) >> shift)).trailing_zeros().min(64 - shift));
            count += run;
            if run < u64::from(64 - shift) || index as u64 * 64 + 64 >= self.high_bits {
                return count.min(self.high_bits.saturating_sub(pos));
            }
            index += 1;
            shift = 0;
        }
    }

    /// The next set bit at or after `pos`.
    #[inline]
    fn next_one(&self, pos: u64) -> Option<u64> {
        self.scan(pos, 0, false)
    }

    #[inline]
    fn value_at(&self, i: u64, pos: u64) -> u64 {
        ((pos - i) << self.low_width) | self.low.get(i)
    }

    /// Value number `i`.
    #[cfg(test)]
    pub(crate) fn get(&self, i: u64) -> Option<u64> {
        let pos = self.select1(i)?;
        Some(self.value_at(i, pos))
    }

    /// Values `i` and `i + 1` (a range of a pointer sequence).
    #[cfg(test)]
    pub(crate) fn pair(&self, i: u64) -> Option<(u64, u64)> {
        let pos = self.select1(i)?;
        if i + 1 >= self.n {
            return None;
        }
        let next = self.next_one(pos + 1)?;
        Some((self.value_at(i, pos), self.value_at(i + 1, next)))
    }

    /// [`select1`](Self::select1) for every index of `idx` at once, in place (`NONE` for an index out of range):
    /// hint, rank directory and high bits are read in three passes over all indices, so that the cache misses
    /// of different indices overlap instead of following one another.
    pub(crate) fn select1_many(&self, idx: &mut [u64]) {
        debug_assert!(idx.len() <= GROUP);
        let mut lo = [0u64; GROUP];
        let mut hi = [0u64; GROUP];
        for (q, &i) in idx.iter().enumerate() {
            if i < self.n {
                (lo[q], hi[q]) = self.hint_range(i, false);
            }
        }
        // Each pass first touches the lines the next one reads, for all indices (see `bits::touch`).
        let mut touched = 0u8;
        for (q, &i) in idx.iter().enumerate() {
            if i < self.n {
                touched ^= touch(self.directory, lo[q] * 32) ^ touch(self.directory, hi[q] * 32);
            }
        }
        let mut skip = [0u64; GROUP];
        for (q, i) in idx.iter_mut().enumerate() {
            if *i >= self.n {
                *i = NONE;
                continue;
            }
            let block = self.search_blocks(*i, lo[q], hi[q], false);
            lo[q] = block;
            match i.checked_sub(self.ones_before(block)) {
                Some(s) => {
                    skip[q] = s;
                    touched ^= touch(self.high, block * BLOCK) ^ touch(self.high, block * BLOCK + BLOCK - 64);
                }
                None => *i = NONE,
            }
        }
        black_box(touched);
        for (q, i) in idx.iter_mut().enumerate() {
            if *i != NONE {
                *i = self.scan(lo[q] * BLOCK, skip[q], false).unwrap_or(NONE);
            }
        }
    }

    /// [`pair`](Self::pair) for every index of `idx`, in passes as [`select1_many`](Self::select1_many) does.
    pub(crate) fn pair_many(&self, idx: &[u64], out: &mut [Option<(u64, u64)>]) {
        let mut pos = [NONE; GROUP];
        pos[..idx.len()].copy_from_slice(idx);
        for p in &mut pos[..idx.len()] {
            if *p != NONE && *p + 1 >= self.n {
                *p = NONE;
            }
        }
        self.select1_many(&mut pos[..idx.len()]);
        let mut touched = 0u8;
        for (q, &i) in idx.iter().enumerate() {
            if pos[q] != NONE {
                touched ^= self.low.touch(i) ^ self.low.touch(i + 1) ^ touch(self.high, pos[q] + 1);
            }
        }
        black_box(touched);
        for (q, &i) in idx.iter().enumerate() {
            out[q] = if pos[q] == NONE {
                None
            } else {
                self.next_one(pos[q] + 1)
                    .map(|next| (self.value_at(i, pos[q]), self.value_at(i + 1, next)))
            };
        }
    }

    /// [`find_ranged`](Self::find_ranged) for every `(key, begin, end)` request, in passes: the selects of all
    /// ranges first, then the scans.
    pub(crate) fn find_ranged_many(&self, requests: &[(u64, u64, u64)], out: &mut [Option<u64>]) {
        let mut pos = [NONE; GROUP];
        for (q, &(_, begin, end)) in requests.iter().enumerate() {
            if begin > 0 && begin < end.min(self.n) {
                pos[q] = begin - 1;
            }
        }
        self.select1_many(&mut pos[..requests.len()]);
        let mut touched = 0u8;
        for (q, &(_, begin, _)) in requests.iter().enumerate() {
            if pos[q] != NONE {
                touched ^= self.low.touch(begin - 1) ^ self.low.touch(begin) ^ touch(self.high, pos[q] + 1);
            }
        }
        // Short ranges are scanned now; long ones located to the bucket of high parts that must hold their key,
        // whose lines are touched, and searched in a last pass.
        let mut buckets = [None; GROUP];
        for (q, &(key, begin, end)) in requests.iter().enumerate() {
            let end = end.min(self.n);
            out[q] = if begin >= end {
                None
            } else if begin == 0 {
                self.find(key, 0, end)
            } else if pos[q] == NONE {
                None
            } else {
                match self.locate(key, begin, end, pos[q]) {
                    Located::Done(found) => found,
                    Located::Bucket { target, pos, first } => {
                        touched ^= touch(self.high, pos) ^ self.low.touch(first.max(begin));
                        buckets[q] = Some((target, pos, first));
                        None
                    }
                }
            };
        }
        black_box(touched);
        for (q, &(_, begin, end)) in requests.iter().enumerate() {
            if let Some((target, pos, first)) = buckets[q] {
                out[q] = self.search_bucket(target, pos, first, begin, end.min(self.n));
            }
        }
    }

    /// The rest of [`find_ranged`](Self::find_ranged) once the position of value `begin - 1` is known.
    #[cfg(test)]
    fn scan_range(&self, key: u64, begin: u64, end: u64, pos: u64) -> Option<u64> {
        match self.locate(key, begin, end, pos) {
            Located::Done(found) => found,
            Located::Bucket { target, pos, first } => self.search_bucket(target, pos, first, begin, end),
        }
    }

    /// Looks `key` up among the values at indices `begin..end` (`0 < begin < end <= n`) of a concatenation of
    /// sorted ranges, given the position `pos` of value `begin - 1` in the high bits: scans a short range to
    /// the end, and locates a long range's target bucket for [`search_bucket`](Self::search_bucket).
    #[inline]
    fn locate(&self, key: u64, begin: u64, end: u64, mut pos: u64) -> Located {
        let base = self.value_at(begin - 1, pos);
        let Some(target) = base.checked_add(key) else {
            return Located::Done(None);
        };
        if end - begin > SHORT {
            if target >= self.u {
                return Located::Done(None);
            }
            // The target's bucket is usually a few zeros past value `begin - 1`: count them off from there
            // instead of selecting the bucket from the directory.
            let zeros = (target >> self.low_width).saturating_sub(pos - (begin - 1));
            if zeros <= NEAR_ZEROS {
                let start = if zeros == 0 {
                    pos + 1
                } else {
                    match self.scan(pos, zeros - 1, true) {
                        Some(p) => p + 1,
                        None => return Located::Done(None),
                    }
                };
                let first = start - (target >> self.low_width);
                return Located::Bucket {
                    target,
                    pos: start,
                    first,
                };
            }
            return Located::Done(self.find(target, begin, end));
        }
        for i in begin..end {
            let Some(next) = self.next_one(pos + 1) else {
                return Located::Done(None);
            };
            pos = next;
            let value = self.value_at(i, pos);
            if value >= target {
                return Located::Done((value == target).then_some(i));
            }
        }
        Located::Done(None)
    }

    /// The index of `target` among the values at indices `begin..end`, given where its bucket of high parts
    /// starts: bit `pos`, the bucket's first value having index `first`. The bucket's values are consecutive
    /// ones from there and differ only in their sorted low bits, which are binary-searched.
    #[inline]
    fn search_bucket(&self, target: u64, pos: u64, first: u64, begin: u64, end: u64) -> Option<u64> {
        let len = self.ones_from(pos);
        let (lo, hi) = (first.max(begin), (first + len).min(end));
        if lo >= hi {
            return None;
        }
        let low = target & mask(self.low_width);
        let (mut a, mut b) = (lo, hi);
        while a < b {
            let mid = a + (b - a) / 2;
            if self.low.get(mid) < low {
                a = mid + 1;
            } else {
                b = mid;
            }
        }
        (a < hi && self.low.get(a) == low).then_some(a)
    }

    /// The index of `target` among the values at indices `begin..end`, if it is there.
    #[inline]
    pub(crate) fn find(&self, target: u64, begin: u64, end: u64) -> Option<u64> {
        let end = end.min(self.n);
        if begin >= end || target >= self.u {
            return None;
        }
        // Short ranges: scan from the start. Long ones: jump to the bucket of target's high part, whose values
        // are consecutive ones in the high bits and differ only in their (sorted) low bits: binary search those.
        let (mut i, mut pos) = if end - begin <= SHORT {
            (begin, self.select1(begin)?)
        } else {
            let high = target >> self.low_width;
            let (first, pos) = if high == 0 {
                (0, 0)
            } else {
                let zero = self.select0(high - 1)?;
                (zero + 1 - high, zero + 1)
            };
            return self.search_bucket(target, pos, first, begin, end);
        };
        while i < end {
            let value = self.value_at(i, pos);
            if value >= target {
                return (value == target).then_some(i);
            }
            i += 1;
            if i >= end {
                break;
            }
            pos = self.next_one(pos + 1)?;
        }
        None
    }

    /// The index of `key` among the values at indices `begin..end`, where the range's values are `key`s plus the
    /// value before `begin` (0 when `begin` is 0): the layout of concatenated sorted ranges.
    #[cfg(test)]
    pub(crate) fn find_ranged(&self, key: u64, begin: u64, end: u64) -> Option<u64> {
        let end = end.min(self.n);
        if begin >= end {
            return None;
        }
        if begin == 0 {
            return self.find(key, 0, end);
        }
        // One select gives the base (the value before the range) and the position to scan on from.
        let pos = self.select1(begin - 1)?;
        self.scan_range(key, begin, end, pos)
    }

    /// All values in order (for tests and verification).
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.n).map(|i| self.get(i).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn to_bytes(words: &[u64]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    fn build(values: &[u64], u: u64) -> Vec<u8> {
        let mut builder = EliasFanoBuilder::new(values.len() as u64, u);
        for &v in values {
            builder.push(v);
        }
        let words = builder.finish();
        assert_eq!(words.len() as u64, EliasFano::words_needed(values.len() as u64, u));
        to_bytes(&words)
    }

    #[test]
    fn empty_and_single() {
        let bytes = build(&[], 1);
        let ef = EliasFano::new(&bytes, 0, 1);
        assert_eq!(ef.get(0), None);
        assert_eq!(ef.find(0, 0, 0), None);
        let bytes = build(&[41], 42);
        let ef = EliasFano::new(&bytes, 1, 42);
        assert_eq!(ef.get(0), Some(41));
        assert_eq!(ef.find(41, 0, 1), Some(0));
        assert_eq!(ef.find(40, 0, 1), None);
        assert_eq!(ef.find(42, 0, 1), None);
    }

    #[test]
    fn duplicates_are_found_within_the_asked_range() {
        let values = [3, 3, 3, 7, 7, 10];
        let bytes = build(&values, 11);
        let ef = EliasFano::new(&bytes, 6, 11);
        assert_eq!(ef.find(3, 1, 3), Some(1));
        assert_eq!(ef.find(3, 2, 6), Some(2));
        assert_eq!(ef.find(7, 4, 6), Some(4));
        assert_eq!(ef.find(7, 5, 6), None);
        assert_eq!(ef.pair(3), Some((7, 7)));
    }

    #[test]
    fn damaged_bytes_give_none_or_garbage_not_panics() {
        let values: Vec<u64> = (0..1000).map(|i| i * 37).collect();
        let mut bytes = build(&values, 37_000);
        for b in bytes.iter_mut() {
            *b = 0xFF;
        }
        let ef = EliasFano::new(&bytes, 1000, 37_000);
        for i in 0..1001 {
            let _ = ef.get(i);
            let _ = ef.find(i * 37, 0, 1000);
        }
        let ef = EliasFano::new(&bytes[..16], 1000, 37_000);
        assert_eq!(ef.get(5), None);
        assert_eq!(ef.find(37, 0, 1000), None);
    }

    proptest! {
        /// Very uneven spacing (dense runs and long gaps), as the concatenated ranges of a trie level have: every
        /// value is read back and found.
        #[test]
        fn uneven_sequences_select_correctly(runs in proptest::collection::vec((1u64..3000, 0u64..100_000, 1u64..4), 1..12)) {
            let mut values = Vec::new();
            let mut v = 0u64;
            for (len, gap, step) in runs {
                v += gap;
                for _ in 0..len {
                    values.push(v);
                    v += step - 1;
                }
            }
            let u = values.last().map_or(1, |&x| x + 1);
            let bytes = build(&values, u);
            let ef = EliasFano::new(&bytes, values.len() as u64, u);
            for (i, &x) in values.iter().enumerate().step_by(7) {
                prop_assert_eq!(ef.get(i as u64), Some(x));
                let first = values.partition_point(|&y| y < x) as u64;
                prop_assert_eq!(ef.find(x, 0, values.len() as u64), Some(first));
                prop_assert_eq!(ef.find(x, i as u64, (i + 1) as u64), Some(i as u64));
            }
        }

        /// The batched calls answer exactly as the single ones, for groups of any size.
        #[test]
        fn batched_calls_equal_single_ones(
            mut values in proptest::collection::vec(0u64..3000, 1..400),
            probes in proptest::collection::vec((0u64..500, 0u64..450, 0u64..300), 1..=GROUP),
        ) {
            values.sort_unstable();
            let u = values.last().map_or(1, |&v| v + 1);
            let bytes = build(&values, u);
            let ef = EliasFano::new(&bytes, values.len() as u64, u);
            let n = values.len() as u64;
            let mut idx: Vec<u64> = probes.iter().map(|p| p.1).collect();
            let singles: Vec<u64> = idx.iter().map(|&i| ef.select1(i).unwrap_or(NONE)).collect();
            ef.select1_many(&mut idx);
            prop_assert_eq!(&idx, &singles);
            let at: Vec<u64> = probes.iter().map(|p| p.1).collect();
            let mut pairs = vec![None; at.len()];
            ef.pair_many(&at, &mut pairs);
            for (q, &i) in at.iter().enumerate() {
                prop_assert_eq!(pairs[q], ef.pair(i));
            }
            let requests: Vec<(u64, u64, u64)> = probes.iter().map(|&(key, b, len)| (key, b.min(n), (b + len).min(n + 3))).collect();
            let mut found = vec![None; requests.len()];
            ef.find_ranged_many(&requests, &mut found);
            for (q, &(key, b, e)) in requests.iter().enumerate() {
                // Brute force: the first index in b..e holding base + key.
                let e = e.min(n) as usize;
                let b = b as usize;
                let base = if b == 0 { 0 } else { values[b - 1] };
                let expected = (b..e).find(|&i| values[i] == base + key).map(|i| i as u64);
                prop_assert_eq!(found[q], expected);
                prop_assert_eq!(ef.find_ranged(key, b as u64, e as u64), expected);
            }
        }

        #[test]
        fn round_trips_and_finds(
            mut values in proptest::collection::vec(0u64..5000, 0..700),
            extra in 1u64..10_000,
            probes in proptest::collection::vec(0u64..16_000, 0..40),
        ) {
            values.sort_unstable();
            let u = values.last().map_or(0, |&v| v + 1) + extra - 1;
            let bytes = build(&values, u);
            let ef = EliasFano::new(&bytes, values.len() as u64, u);
            prop_assert_eq!(ef.len(), values.len() as u64);
            prop_assert_eq!(ef.iter().collect::<Vec<_>>(), values.clone());
            for i in 0..values.len() {
                // Every value is found, at its first occurrence at or after i.
                let end = values.len() as u64;
                let found = ef.find(values[i], i as u64, end);
                let expected = (i..values.len()).find(|&k| values[k] == values[i]).map(|k| k as u64);
                prop_assert_eq!(found, expected);
                if i + 1 < values.len() {
                    prop_assert_eq!(ef.pair(i as u64), Some((values[i], values[i + 1])));
                }
            }
            for &t in &probes {
                for (b, e) in [(0, values.len()), (values.len() / 3, values.len() / 2), (values.len() / 2, values.len())] {
                    let expected = (b..e).find(|&k| values[k] == t).map(|k| k as u64);
                    prop_assert_eq!(ef.find(t, b as u64, e as u64), expected);
                }
            }
        }
    }
}
