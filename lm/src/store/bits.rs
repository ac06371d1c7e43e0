//! Bit-level codecs over little-endian 64-bit words: fixed-width integer arrays and bit vectors with rank and
//! select.
//!
//! Every structure has a builder that produces `Vec<u64>` words (written to a file as little-endian bytes) and a
//! borrowed view that reads them back from `&[u8]` of any alignment. Views never panic: a read past the end
//! (which only a damaged file can cause, since sizes are validated at open) yields zero bits or `None`.

/// Reads the little-endian 64-bit word number `i` of `bytes`; 0 past the end.
#[inline]
pub(crate) fn word(bytes: &[u8], i: usize) -> u64 {
    let start = i.wrapping_mul(8);
    match bytes.get(start..start.wrapping_add(8)) {
        Some(b) => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        None => 0,
    }
}

/// Reads the byte at bit `bit` of `bytes` (0 past the end), only so that its cache line is on its way before it
/// is used: a batched lookup touches the lines of all its queries in one pass, and their cache misses overlap
/// instead of following one another. Callers fold the results into [`std::hint::black_box`].
#[inline]
pub(crate) fn touch(bytes: &[u8], bit: u64) -> u8 {
    bytes.get((bit / 8) as usize).copied().unwrap_or(0)
}

/// The number of 64-bit words that hold `bits` bits.
pub(crate) fn words_for_bits(bits: u64) -> u64 {
    bits.div_ceil(64)
}

/// A mask of the low `width` bits (`width <= 64`).
#[inline]
pub(crate) fn mask(width: u32) -> u64 {
    if width >= 64 { u64::MAX } else { (1u64 << width) - 1 }
}

/// Reads `width` bits (at most 64) starting at bit `pos` of a word array.
#[inline]
pub(crate) fn read_bits(bytes: &[u8], pos: u64, width: u32) -> u64 {
    if width == 0 {
        return 0;
    }
    let index = (pos / 64) as usize;
    let shift = (pos % 64) as u32;
    let low = word(bytes, index) >> shift;
    let value = if shift + width > 64 {
        low | (word(bytes, index + 1) << (64 - shift))
    } else {
        low
    };
    value & mask(width)
}

/// The position (0-based) of the `rank`-th set bit (0-based) of `w`; 64 when there are not that many.
///
/// Broadword: the bytes' cumulative popcounts locate the byte (no loop over bits), a table the bit in it.
#[inline]
pub(crate) fn select_in_word(w: u64, rank: u32) -> u32 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    if rank >= 64 {
        return 64;
    }
    let mut s = w - ((w >> 1) & 0x5555_5555_5555_5555);
    s = (s & 0x3333_3333_3333_3333) + ((s >> 2) & 0x3333_3333_3333_3333);
    s = (s + (s >> 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    // Byte i: the number of ones in bytes 0..=i (at most 64, so no byte overflows or borrows below).
    let prefix = s.wrapping_mul(ONES);
    let at_most = ((u64::from(rank) * ONES) | HIGHS).wrapping_sub(prefix) & HIGHS;
    let byte = at_most.count_ones();
    if byte >= 8 {
        return 64;
    }
    let before = if byte == 0 {
        0
    } else {
        ((prefix >> (8 * (byte - 1))) & 0xFF) as u32
    };
    let bits = ((w >> (8 * byte)) & 0xFF) as usize;
    byte * 8 + u32::from(SELECT_IN_BYTE[bits][(rank - before) as usize & 7])
}

/// `SELECT_IN_BYTE[b][k]`: the position of the `k`-th set bit of byte `b` (8 when there is none).
static SELECT_IN_BYTE: [[u8; 8]; 256] = {
    let mut table = [[8u8; 8]; 256];
    let mut b = 0;
    while b < 256 {
        let mut k = 0;
        let mut bit = 0;
        while bit < 8 {
            if b & (1 << bit) != 0 {
                table[b][k] = bit as u8;
                k += 1;
            }
            bit += 1;
        }
        b += 1;
    }
    table
};

/// Appends fixed-width integers to a word array.
#[derive(Debug, Clone, Default)]
pub(crate) struct IntVecBuilder {
    words: Vec<u64>,
    width: u32,
    len: u64,
}

impl IntVecBuilder {
    /// An empty array of `width`-bit integers (`width <= 64`).
    pub(crate) fn new(width: u32) -> IntVecBuilder {
        assert!(width <= 64, "integer width {width} above 64");
        IntVecBuilder {
            words: Vec::new(),
            width,
            len: 0,
        }
    }

    /// With room for `n` values.
    pub(crate) fn with_capacity(width: u32, n: u64) -> IntVecBuilder {
        let mut builder = IntVecBuilder::new(width);
        builder.words.reserve(IntVec::words_needed(n, width) as usize);
        builder
    }

    /// Appends `value`, which must fit in `width` bits.
    pub(crate) fn push(&mut self, value: u64) {
        debug_assert!(value <= mask(self.width), "{value} does not fit in {} bits", self.width);
        if self.width == 0 {
            self.len += 1;
            return;
        }
        let pos = self.len * u64::from(self.width);
        let index = (pos / 64) as usize;
        let shift = (pos % 64) as u32;
        let needed = IntVec::words_needed(self.len + 1, self.width) as usize;
        if self.words.len() < needed {
            self.words.resize(needed, 0);
        }
        self.words[index] |= value << shift;
        if shift + self.width > 64 {
            self.words[index + 1] |= value >> (64 - shift);
        }
        self.len += 1;
    }

    /// The words, exactly [`IntVec::words_needed`] of them.
    pub(crate) fn finish(mut self) -> Vec<u64> {
        self.words
            .resize(IntVec::words_needed(self.len, self.width) as usize, 0);
        self.words
    }
}

/// A read-only view of `len` integers of `width` bits each.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IntVec<'a> {
    bytes: &'a [u8],
    width: u32,
}

impl<'a> IntVec<'a> {
    /// The words an array of `n` values of `width` bits occupies.
    pub(crate) fn words_needed(n: u64, width: u32) -> u64 {
        words_for_bits(n.saturating_mul(u64::from(width)))
    }

    /// A view of `bytes` (validated by the caller to hold [`words_needed`](Self::words_needed) words).
    pub(crate) fn new(bytes: &'a [u8], width: u32) -> IntVec<'a> {
        IntVec { bytes, width }
    }

    /// [`touch`] for value number `i`.
    #[inline]
    pub(crate) fn touch(&self, i: u64) -> u8 {
        touch(self.bytes, i.wrapping_mul(u64::from(self.width)))
    }

    /// Value number `i`.
    #[inline]
    pub(crate) fn get(&self, i: u64) -> u64 {
        read_bits(self.bytes, i.wrapping_mul(u64::from(self.width)), self.width)
    }
}

/// Bits per rank block: one cumulative count per 8 words.
const RANK_BLOCK_WORDS: usize = 8;

/// Builds a bit vector with a rank directory.
#[derive(Debug, Clone, Default)]
pub(crate) struct RankBitsBuilder {
    words: Vec<u64>,
    len: u64,
}

impl RankBitsBuilder {
    /// `len` bits, all clear.
    pub(crate) fn new(len: u64) -> RankBitsBuilder {
        RankBitsBuilder {
            words: vec![0; words_for_bits(len) as usize],
            len,
        }
    }

    /// Sets bit `i` (`i < len`).
    pub(crate) fn set(&mut self, i: u64) {
        debug_assert!(i < self.len);
        self.words[(i / 64) as usize] |= 1 << (i % 64);
    }

    /// The bits followed by the rank directory: one cumulative count of set bits before each block of 8 words,
    /// plus the total, [`RankBits::words_needed`] words in all.
    pub(crate) fn finish(self) -> Vec<u64> {
        let blocks = self.words.len().div_ceil(RANK_BLOCK_WORDS);
        let mut out = self.words.clone();
        let mut total = 0u64;
        for block in 0..blocks {
            out.push(total);
            let end = ((block + 1) * RANK_BLOCK_WORDS).min(self.words.len());
            total += self.words[block * RANK_BLOCK_WORDS..end]
                .iter()
                .map(|w| u64::from(w.count_ones()))
                .sum::<u64>();
        }
        out.push(total);
        out
    }
}

/// A read-only bit vector of `len` bits with constant-time rank.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RankBits<'a> {
    bytes: &'a [u8],
    len: u64,
    bit_words: usize,
}

impl<'a> RankBits<'a> {
    /// The words a rank bit vector of `len` bits occupies.
    pub(crate) fn words_needed(len: u64) -> u64 {
        let bit_words = words_for_bits(len);
        bit_words + bit_words.div_ceil(RANK_BLOCK_WORDS as u64) + 1
    }

    /// A view of `bytes` holding [`words_needed`](Self::words_needed)`(len)` words.
    pub(crate) fn new(bytes: &'a [u8], len: u64) -> RankBits<'a> {
        RankBits {
            bytes,
            len,
            bit_words: words_for_bits(len) as usize,
        }
    }

    /// Bit `i` (false past the end).
    #[inline]
    pub(crate) fn get(&self, i: u64) -> bool {
        i < self.len && (word(self.bytes, (i / 64) as usize) >> (i % 64)) & 1 == 1
    }

    /// The number of set bits before position `i` (`i <= len`).
    #[inline]
    pub(crate) fn rank(&self, i: u64) -> u64 {
        let i = i.min(self.len);
        let word_index = (i / 64) as usize;
        let block = word_index / RANK_BLOCK_WORDS;
        let mut count = word(self.bytes, self.bit_words + block);
        for w in block * RANK_BLOCK_WORDS..word_index {
            count += u64::from(word(self.bytes, w).count_ones());
        }
        let rest = (i % 64) as u32;
        if rest > 0 {
            count += u64::from((word(self.bytes, word_index) & mask(rest)).count_ones());
        }
        count
    }

    /// The number of set bits in all.
    pub(crate) fn ones(&self) -> u64 {
        word(self.bytes, self.bit_words + self.bit_words.div_ceil(RANK_BLOCK_WORDS))
    }

    /// `Some(rank(i))` when bit `i` is set.
    #[inline]
    pub(crate) fn index_of(&self, i: u64) -> Option<u64> {
        self.get(i).then(|| self.rank(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn to_bytes(words: &[u64]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn select_in_word_matches_a_bit_loop() {
        let mut rng = 0x1234_5678_9ABC_DEF1u64;
        for _ in 0..20_000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let w = rng & (rng >> (rng % 7));
            let mut ones = Vec::new();
            for bit in 0..64 {
                if w >> bit & 1 == 1 {
                    ones.push(bit);
                }
            }
            for rank in 0..65u32 {
                let expected = ones.get(rank as usize).copied().unwrap_or(64);
                assert_eq!(select_in_word(w, rank), expected, "{w:#x} rank {rank}");
            }
        }
        assert_eq!(select_in_word(u64::MAX, 63), 63);
        assert_eq!(select_in_word(0, 0), 64);
    }

    #[test]
    fn select_in_word_finds_each_set_bit() {
        let w = 0b1011_0100u64;
        assert_eq!(select_in_word(w, 0), 2);
        assert_eq!(select_in_word(w, 1), 4);
        assert_eq!(select_in_word(w, 2), 5);
        assert_eq!(select_in_word(w, 3), 7);
        assert_eq!(select_in_word(w, 4), 64);
    }

    #[test]
    fn reads_past_the_end_are_zero_not_panics() {
        let bytes = to_bytes(&[u64::MAX]);
        assert_eq!(word(&bytes, 1), 0);
        assert_eq!(word(&bytes[..5], 0), 0);
        assert_eq!(read_bits(&bytes, 60, 8), 0xF);
        let v = IntVec::new(&bytes, 7);
        assert_eq!(v.get(u64::MAX), 0);
        let r = RankBits::new(&bytes[..8], 64);
        assert_eq!(r.rank(64), 64);
        assert_eq!(r.ones(), 0, "directory missing: reads as zero");
    }

    proptest! {
        #[test]
        fn int_vec_round_trips(width in 0u32..=64, values in proptest::collection::vec(any::<u64>(), 0..300)) {
            let values: Vec<u64> = values.iter().map(|v| v & mask(width)).collect();
            let mut builder = IntVecBuilder::new(width);
            for &v in &values {
                builder.push(v);
            }
            let words = builder.finish();
            prop_assert_eq!(words.len() as u64, IntVec::words_needed(values.len() as u64, width));
            let bytes = to_bytes(&words);
            let view = IntVec::new(&bytes, width);
            for (i, &v) in values.iter().enumerate() {
                prop_assert_eq!(view.get(i as u64), v);
            }
        }

        #[test]
        fn rank_counts_set_bits(bits in proptest::collection::vec(any::<bool>(), 0..2000)) {
            let mut builder = RankBitsBuilder::new(bits.len() as u64);
            for (i, &b) in bits.iter().enumerate() {
                if b {
                    builder.set(i as u64);
                }
            }
            let words = builder.finish();
            prop_assert_eq!(words.len() as u64, RankBits::words_needed(bits.len() as u64));
            let bytes = to_bytes(&words);
            let view = RankBits::new(&bytes, bits.len() as u64);
            let mut count = 0;
            for (i, &b) in bits.iter().enumerate() {
                prop_assert_eq!(view.rank(i as u64), count);
                prop_assert_eq!(view.get(i as u64), b);
                prop_assert_eq!(view.index_of(i as u64), b.then_some(count));
                count += u64::from(b);
            }
            prop_assert_eq!(view.rank(bits.len() as u64), count);
            prop_assert_eq!(view.ones(), count);
        }
    }
}
