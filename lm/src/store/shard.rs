//! One shard file: its sections, how they are written, validated at open and searched.
//!
//! A shard holds, for the words `v` with `shard_of(v) == shard`:
//! - the **context trie** of every context (an n-gram that can precede a word) ending in `v`, stored right to
//!   left: level 1 is `v` itself, the children of a level-`j` node `c1 … cj` are the level-`j+1` contexts
//!   `x c1 … cj`. Each node carries its backoff. Level 1 is found through a rank bit vector over the vocabulary;
//!   a level-`j+1` node is found among its parent's children by its new (oldest) word.
//! - under each context node `c`, its **extensions**: the n-grams `c w`, with the probability of `w` after `c`
//!   and one bit saying whether `c w` must be kept in a state. The word `w` is stored as is under level-1
//!   contexts; under a longer context `c1 … cj` it is stored as its position among the extensions of the parent
//!   context `c2 … cj` (context-based remapping, as in Pibiri and Venturini's Elias-Fano tries), which needs a
//!   few bits where a word id needs twenty.
//! - the probability and the state bit of every unigram (replicated in every shard).
//!
//! Sorted sequences (child and extension pointers, keys within a node's range made globally non-decreasing by
//! adding the previous range's last value) are Elias-Fano coded; probabilities and backoffs are fixed-width codes
//! into per-order codebooks, or raw `f32` bits when unquantized.

use std::hint::black_box;
use std::ops::Range;
use std::path::Path;

use super::bits::{IntVec, IntVecBuilder, RankBits, RankBitsBuilder};
use super::ef::{EliasFano, EliasFanoBuilder, GROUP, Layout};
use super::format::{Container, Section};
use super::quant::Codebook;
use crate::model::{MAX_ORDER, WordId};
use crate::{Error, Result};

/// Section tags of a shard file (frozen).
pub(crate) mod tag {
    /// Scalar parameters: counts and universes per level, codebook sizes.
    pub const DIRECTORY: u32 = 1;
    /// The codebooks' values, `f32` little-endian.
    pub const CODEBOOKS: u32 = 2;
    /// Unigram probability codes, indexed by word id.
    pub const UNI_PROB: u32 = 10;
    /// Unigram state bits.
    pub const UNI_KEEP: u32 = 11;
    /// Which words are level-1 contexts in this shard (rank bit vector).
    pub const CTX1_SET: u32 = 12;
    /// Per level `j`, tag `100 * j + k`: the backoff codes of the contexts.
    pub const CTX_BACKOFF: u32 = 0;
    /// Pointers from contexts to their children (Elias-Fano).
    pub const CTX_CHILD: u32 = 1;
    /// Pointers from contexts to their extensions (Elias-Fano).
    pub const CTX_EXT: u32 = 2;
    /// The contexts' oldest words, globally non-decreasing (Elias-Fano), levels 2 and up.
    pub const CTX_KEY: u32 = 3;
    /// The extensions' keys, globally non-decreasing (Elias-Fano).
    pub const EXT_KEY: u32 = 4;
    /// The extensions' probability codes.
    pub const EXT_PROB: u32 = 5;
    /// The extensions' state bits (all orders below the highest).
    pub const EXT_KEEP: u32 = 6;

    /// The tag of section `k` of level `j`.
    pub fn level(j: usize, k: u32) -> u32 {
        100 * j as u32 + k
    }
}

/// Maps a word (the last word of a context) to its shard. The same on every machine: a fixed 64-bit mix of the
/// id, scaled to `shards`.
#[inline]
pub fn shard_of(word: WordId, shards: u32) -> u32 {
    let mut h = u64::from(word).wrapping_add(0x9E37_79B9_7F4A_7C15);
    h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^= h >> 31;
    (((h >> 32) * u64::from(shards)) >> 32) as u32
}

/// How probabilities and backoffs are stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Values {
    /// Raw `f32` bits, 32 per value.
    Raw,
    /// Codes into a codebook.
    Book(Codebook),
}

impl Values {
    #[inline]
    pub(crate) fn decode(&self, code: u64) -> f32 {
        match self {
            Values::Raw => f32::from_bits(code as u32),
            Values::Book(book) => book.decode(code),
        }
    }

    pub(crate) fn encode(&self, value: f32) -> u64 {
        match self {
            // One NaN for "no probability", whatever NaN the builder held.
            Values::Raw if value.is_nan() => u64::from(f32::NAN.to_bits()),
            Values::Raw => u64::from(value.to_bits()),
            Values::Book(book) => u64::from(book.encode(value)),
        }
    }

    fn len(&self) -> usize {
        match self {
            Values::Raw => 0,
            Values::Book(book) => book.values().len(),
        }
    }
}

/// The codebooks of a model (the same in every shard).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Codebooks {
    /// Bits per code, or 32 for raw `f32`.
    pub width: u32,
    /// Unigram probabilities.
    pub unigram: Values,
    /// Per level `j` (index `j - 1`): probabilities of the order-`j+1` extensions.
    pub prob: Vec<Values>,
    /// Per level `j` (index `j - 1`): backoffs of the order-`j` contexts.
    pub backoff: Vec<Values>,
    /// Per level `j` (index `j - 1`): when the state bit is folded into the probability codes, the first code
    /// of the n-grams that stay in a state (codes below it stand for n-grams that do not); `None` when the bit
    /// is stored on its own (unquantized, or the highest level, which has no bit).
    pub keep_split: Vec<Option<u64>>,
}

/// Counts and universes of one level, as written in the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct LevelCounts {
    /// Context nodes of order `j`.
    pub contexts: u64,
    /// Extensions (n-grams of order `j + 1`).
    pub extensions: u64,
    /// Universe of the context keys (levels 2 and up).
    pub ctx_key_universe: u64,
    /// Universe of the extension keys.
    pub ext_key_universe: u64,
}

/// A shard's contents, ready to write.
#[derive(Debug, Default)]
pub(crate) struct ShardSections {
    /// `(tag, words)` in file order.
    pub sections: Vec<(u32, Vec<u64>)>,
    /// Per level.
    pub levels: Vec<LevelCounts>,
}

impl ShardSections {
    /// The directory words.
    pub(crate) fn directory(&self, order: usize, vocab: u64, shard: u32, shards: u32, books: &Codebooks) -> Vec<u64> {
        let mut d = DirectoryHead::words(order, vocab, books, shard, shards);
        for l in &self.levels {
            d.extend([l.contexts, l.extensions, l.ctx_key_universe, l.ext_key_universe]);
        }
        d.push(books.unigram.len() as u64);
        for (p, b) in books.prob.iter().zip(&books.backoff) {
            d.push(p.len() as u64);
            d.push(b.len() as u64);
        }
        d.extend(books.keep_split.iter().map(|s| s.unwrap_or(u64::MAX)));
        d
    }
}

/// Serialises the codebooks' values.
pub(crate) fn codebook_bytes(books: &Codebooks) -> Vec<u8> {
    let mut out = Vec::new();
    let mut put = |v: &Values| {
        if let Values::Book(b) = v {
            for x in b.values() {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
    };
    put(&books.unigram);
    for (p, b) in books.prob.iter().zip(&books.backoff) {
        put(p);
        put(b);
    }
    out
}

/// Where an Elias-Fano sequence lies and its parameters.
#[derive(Debug, Clone)]
struct EfSpec {
    bytes: Range<usize>,
    n: u64,
    u: u64,
    layout: Layout,
}

/// Where a fixed-width array lies.
#[derive(Debug, Clone)]
struct IntSpec {
    bytes: Range<usize>,
    width: u32,
}

/// The sections of one level, located.
#[derive(Debug, Clone)]
struct LevelView {
    counts: LevelCounts,
    backoff: IntSpec,
    child: Option<EfSpec>,
    ext: EfSpec,
    ctx_key: Option<EfSpec>,
    ext_key: EfSpec,
    prob: IntSpec,
    keep: Option<IntSpec>,
}

/// A validated shard: section locations, parameters and codebooks. Holds no n-gram data itself.
#[derive(Debug, Clone)]
pub(crate) struct ShardLayout {
    vocab: u64,
    pub books: Codebooks,
    uni_prob: IntSpec,
    uni_keep: IntSpec,
    ctx1: Range<usize>,
    levels: Vec<LevelView>,
}

fn word_at(bytes: &[u8], i: usize) -> u64 {
    super::bits::word(bytes, i)
}

/// The scalars that open the directory of a shard of either layout (order, vocabulary size, value width, then
/// the shard and the shard count), checked for range and against the file's header.
pub(crate) struct DirectoryHead {
    pub order: usize,
    pub vocab: u64,
    /// Bits per probability or backoff value (32 for raw `f32`).
    pub width: u64,
}

impl DirectoryHead {
    /// The head's words as the builders write them, read back by [`DirectoryHead::parse`].
    pub(crate) fn words(order: usize, vocab: u64, books: &Codebooks, shard: u32, shards: u32) -> Vec<u64> {
        vec![
            order as u64,
            vocab,
            u64::from(books.width),
            u64::from(shard),
            u64::from(shards),
        ]
    }

    /// Reads and checks the head of directory `d`; `words_for(levels)` is the directory's length in 8-byte words
    /// for a model of `levels + 1` orders.
    pub(crate) fn parse(
        d: &[u8],
        container: &Container,
        words_for: impl Fn(usize) -> usize,
        corrupt: &dyn Fn(String) -> Error,
    ) -> Result<DirectoryHead> {
        let words = d.len() / 8;
        let at = |i: usize| word_at(d, i);
        if words < 5 || !d.len().is_multiple_of(8) {
            return Err(corrupt("directory too short".into()));
        }
        let (order, vocab, width, shard, shards) = (at(0), at(1), at(2), at(3), at(4));
        if !(1..=MAX_ORDER as u64).contains(&order) {
            return Err(corrupt(format!("order {order} in the directory")));
        }
        let order = order as usize;
        let expected_words = words_for(order - 1);
        if words != expected_words {
            return Err(corrupt(format!(
                "directory of {words} words, expected {expected_words} for order {order}"
            )));
        }
        if !(width == 32 || (1..=16).contains(&width)) {
            return Err(corrupt(format!("value width {width} bits")));
        }
        let f = container.fields;
        if u64::from(f.order) != order as u64
            || f.vocab_size != vocab
            || u64::from(f.shard) != shard
            || u64::from(f.shards) != shards
            || (f.quant_bits == 0 && width != 32)
            || (f.quant_bits != 0 && u64::from(f.quant_bits) != width)
            || shard >= shards
        {
            return Err(corrupt("the directory disagrees with the header".into()));
        }
        Ok(DirectoryHead { order, vocab, width })
    }
}

/// Reads the codebooks of a shard (either layout): `sizes` holds the number of values of the unigram
/// codebook, then per level those of the probability and the backoff codebooks; `splits` per level the
/// state-bit split (`u64::MAX` for none); `width` the value width (32 for raw `f32`). Checks the sizes against
/// the width and the section's length.
pub(crate) fn parse_codebooks(
    corrupt: &dyn Fn(String) -> Error,
    bytes: &[u8],
    books_range: Range<usize>,
    width: u64,
    sizes: &[u64],
    splits: &[u64],
) -> Result<Codebooks> {
    let levels = splits.len();
    debug_assert_eq!(sizes.len(), 1 + 2 * levels);
    if width == 32 && sizes.iter().any(|&s| s != 0) || width != 32 && sizes.iter().any(|&s| s == 0 || s > 1 << width) {
        return Err(corrupt("codebook sizes do not match the value width".into()));
    }
    let total: u64 = sizes.iter().sum();
    if books_range.len() as u64 != total * 4 {
        return Err(corrupt(format!(
            "codebook section of {} bytes, expected {}",
            books_range.len(),
            total * 4
        )));
    }
    let mut floats = bytes[books_range]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]));
    let mut take = |n: u64| -> Values {
        if width == 32 {
            Values::Raw
        } else {
            Values::Book(Codebook::from_values(floats.by_ref().take(n as usize).collect()))
        }
    };
    let unigram = take(sizes[0]);
    let mut prob = Vec::with_capacity(levels);
    let mut backoff = Vec::with_capacity(levels);
    for j in 0..levels {
        prob.push(take(sizes[1 + 2 * j]));
        backoff.push(take(sizes[2 + 2 * j]));
    }
    let mut keep_split = Vec::with_capacity(levels);
    for (j, &split) in splits.iter().enumerate() {
        if split == u64::MAX {
            keep_split.push(None);
        } else if width == 32 || j + 1 == levels || split > sizes[1 + 2 * j] {
            return Err(corrupt(format!("state-bit split {split} at level {}", j + 1)));
        } else {
            keep_split.push(Some(split));
        }
    }
    Ok(Codebooks {
        width: width as u32,
        unigram,
        prob,
        backoff,
        keep_split,
    })
}

impl ShardLayout {
    /// Reads the directory and codebooks and checks every section's size; reads no n-gram data.
    pub(crate) fn parse(path: &Path, bytes: &[u8], container: &Container) -> Result<ShardLayout> {
        let corrupt = |what: String| Error::Corrupt {
            path: path.to_path_buf(),
            what,
        };
        let range = |s: &Section| s.offset as usize..(s.offset + s.len) as usize;
        let find = |tag: u32| {
            container
                .section(tag)
                .map(range)
                .ok_or_else(|| corrupt(format!("section {tag} is missing")))
        };
        let dir = find(tag::DIRECTORY)?;
        let d = &bytes[dir.clone()];
        let at = |i: usize| word_at(d, i);
        let DirectoryHead { order, vocab, width } = DirectoryHead::parse(
            d,
            container,
            |levels| 5 + 4 * levels + 1 + 2 * levels + levels,
            &corrupt,
        )?;
        let levels = order - 1;
        const LIMIT: u64 = 1 << 40;
        let mut counts = Vec::with_capacity(levels);
        for j in 0..levels {
            let c = LevelCounts {
                contexts: at(5 + 4 * j),
                extensions: at(6 + 4 * j),
                ctx_key_universe: at(7 + 4 * j),
                ext_key_universe: at(8 + 4 * j),
            };
            if c.contexts > LIMIT
                || c.extensions > LIMIT
                || c.ctx_key_universe > 1 << 62
                || c.ext_key_universe > 1 << 62
            {
                return Err(corrupt(format!("implausible counts at level {}", j + 1)));
            }
            counts.push(c);
        }
        if vocab > LIMIT {
            return Err(corrupt(format!("vocabulary of {vocab} words")));
        }
        // Codebooks.
        let sizes: Vec<u64> = (0..1 + 2 * levels).map(|i| at(5 + 4 * levels + i)).collect();
        let splits: Vec<u64> = (0..levels).map(|j| at(5 + 4 * levels + 1 + 2 * levels + j)).collect();
        let books = parse_codebooks(&corrupt, bytes, find(tag::CODEBOOKS)?, width, &sizes, &splits)?;
        let width = width as u32;
        let exact = |tag: u32, words: u64| -> Result<Range<usize>> {
            let r = find(tag)?;
            if r.len() as u64 != words * 8 {
                return Err(corrupt(format!(
                    "section {tag} has {} bytes, the directory implies {}",
                    r.len(),
                    words * 8
                )));
            }
            Ok(r)
        };
        let int = |tag: u32, n: u64, width: u32| -> Result<IntSpec> {
            Ok(IntSpec {
                bytes: exact(tag, IntVec::words_needed(n, width))?,
                width,
            })
        };
        let ef = |tag: u32, n: u64, u: u64| -> Result<EfSpec> {
            Ok(EfSpec {
                bytes: exact(tag, EliasFano::words_needed(n, u))?,
                n,
                u,
                layout: Layout::new(n, u),
            })
        };
        let uni_prob = int(tag::UNI_PROB, vocab, width)?;
        let uni_keep = int(tag::UNI_KEEP, vocab, 1)?;
        let ctx1 = exact(tag::CTX1_SET, RankBits::words_needed(vocab))?;
        let mut views = Vec::with_capacity(levels);
        for j in 1..=levels {
            let c = counts[j - 1];
            let next_contexts = counts.get(j).map_or(0, |n| n.contexts);
            if j == 1 && RankBits::new(&bytes[ctx1.clone()], vocab).ones() != c.contexts {
                return Err(corrupt("the level-1 context set disagrees with the directory".into()));
            }
            views.push(LevelView {
                counts: c,
                backoff: int(tag::level(j, tag::CTX_BACKOFF), c.contexts, width)?,
                child: if j < levels {
                    Some(ef(tag::level(j, tag::CTX_CHILD), c.contexts + 1, next_contexts + 1)?)
                } else {
                    None
                },
                ext: ef(tag::level(j, tag::CTX_EXT), c.contexts + 1, c.extensions + 1)?,
                ctx_key: if j >= 2 {
                    Some(ef(tag::level(j, tag::CTX_KEY), c.contexts, c.ctx_key_universe.max(1))?)
                } else {
                    None
                },
                ext_key: ef(tag::level(j, tag::EXT_KEY), c.extensions, c.ext_key_universe.max(1))?,
                prob: int(tag::level(j, tag::EXT_PROB), c.extensions, width)?,
                keep: if j < levels && books.keep_split[j - 1].is_none() {
                    Some(int(tag::level(j, tag::EXT_KEEP), c.extensions, 1)?)
                } else {
                    None
                },
            });
        }
        Ok(ShardLayout {
            vocab,
            books,
            uni_prob,
            uni_keep,
            ctx1,
            levels: views,
        })
    }

    /// Per level: contexts and extensions in this shard.
    pub(crate) fn level_counts(&self) -> impl Iterator<Item = LevelCounts> + '_ {
        self.levels.iter().map(|l| l.counts)
    }

    #[inline]
    fn ef<'a>(bytes: &'a [u8], spec: &EfSpec) -> EliasFano<'a> {
        EliasFano::with_layout(
            bytes.get(spec.bytes.clone()).unwrap_or(&[]),
            spec.n,
            spec.u,
            &spec.layout,
        )
    }

    #[inline]
    fn int<'a>(bytes: &'a [u8], spec: &IntSpec) -> IntVec<'a> {
        IntVec::new(bytes.get(spec.bytes.clone()).unwrap_or(&[]), spec.width)
    }
}

impl ShardLayout {
    /// Scores a group of queries (at most [`GROUP`]), each a context (at most `order - 1` words, oldest first,
    /// the last one mapping to this shard) and a valid word id, level by level over the whole group: each step
    /// issues the memory reads of all queries before it uses any, so that their cache misses overlap.
    ///
    /// Context walks are shared: a query whose context ends in the same `k` words as the one before it (as
    /// neighbours in a batch sorted by context read from its newest word have them) takes the first `k` levels
    /// of its walk from that query's, and `walk` carries the last query's walk from one group to the next.
    pub(crate) fn score_group(
        &self,
        bytes: &[u8],
        queries: &[(&[WordId], WordId)],
        walk: &mut Walk,
        out: &mut [Lookup],
    ) {
        let g = queries.len();
        debug_assert!(g <= GROUP && out.len() == g);
        let levels = self.levels.len();
        let mut m = [0usize; GROUP];
        for q in 0..g {
            m[q] = queries[q].0.len().min(levels);
        }
        let context = |q: usize| -> &[WordId] {
            let c = queries[q].0;
            &c[c.len() - m[q]..]
        };
        // How many newest context words each query shares with the one before it (the carried walk for the
        // first): so many levels of its walk are the same.
        let mut shared = [0usize; GROUP];
        for (q, shared) in shared.iter_mut().enumerate().take(g) {
            let prev = if q == 0 { walk.context() } else { context(q - 1) };
            *shared = context(q)
                .iter()
                .rev()
                .zip(prev.iter().rev())
                .take_while(|(a, b)| a == b)
                .count();
        }
        // Unigrams.
        let uni_prob = Self::int(bytes, &self.uni_prob);
        let uni_keep = Self::int(bytes, &self.uni_keep);
        let mut prob = [0f32; GROUP];
        let mut touched = 0u8;
        for query in &queries[..g] {
            let w = u64::from(query.1);
            touched ^= uni_prob.touch(w) ^ uni_keep.touch(w);
        }
        black_box(touched);
        for q in 0..g {
            let w = u64::from(queries[q].1);
            prob[q] = self.books.unigram.decode(uni_prob.get(w));
            out[q] = Lookup {
                log10: 0.0,
                matched: 1,
                keep: usize::from(uni_keep.get(w) == 1),
            };
        }
        // The context walks, level by level: `found[q]` levels of q's context are nodes of the trie.
        let mut nodes = [[0u64; MAX_ORDER]; GROUP];
        let mut found = [0usize; GROUP];
        // A query that shares level `j` with the one before takes that one's result (which is final, as queries
        // are visited in order); `None` when it must look level `j` up itself.
        let copy = |q: usize, j: usize, found: &[usize], nodes: &[[u64; MAX_ORDER]], walk: &Walk| {
            let (f, n) = if q == 0 {
                (walk.found, walk.nodes[j])
            } else {
                (found[q - 1], nodes[q - 1][j])
            };
            (f >= j).then_some(n)
        };
        if levels > 0 {
            let ctx1 = RankBits::new(bytes.get(self.ctx1.clone()).unwrap_or(&[]), self.vocab);
            for q in (0..g).filter(|&q| m[q] > 0) {
                let node = if shared[q] >= 1 {
                    copy(q, 1, &found, &nodes, walk)
                } else {
                    ctx1.index_of(u64::from(context(q)[m[q] - 1]))
                };
                if let Some(node) = node {
                    nodes[q][1] = node;
                    found[q] = 1;
                }
            }
        }
        let mut who = [0usize; GROUP];
        let mut index = [0u64; GROUP];
        let mut ranges = [None; GROUP];
        let mut requests = [(0u64, 0u64, 0u64); GROUP];
        let mut hits = [None; GROUP];
        for j in 1..levels {
            let (level, next) = (&self.levels[j - 1], &self.levels[j]);
            let (Some(child), Some(keys)) = (level.child.as_ref(), next.ctx_key.as_ref()) else {
                break;
            };
            let mut k = 0;
            let mut followers = false;
            for q in (0..g).filter(|&q| found[q] == j && m[q] > j) {
                if shared[q] > j {
                    followers = true;
                } else {
                    who[k] = q;
                    index[k] = nodes[q][j];
                    k += 1;
                }
            }
            if k == 0 && !followers {
                break;
            }
            if k > 0 {
                Self::ef(bytes, child).pair_many(&index[..k], &mut ranges[..k]);
                for i in 0..k {
                    let q = who[i];
                    let (begin, end) = ranges[i].unwrap_or((0, 0));
                    requests[i] = (u64::from(context(q)[m[q] - j - 1]), begin, end);
                }
                Self::ef(bytes, keys).find_ranged_many(&requests[..k], &mut hits[..k]);
                for i in 0..k {
                    if let Some(node) = hits[i] {
                        let q = who[i];
                        nodes[q][j + 1] = node;
                        found[q] = j + 1;
                    }
                }
            }
            if followers {
                for q in 0..g {
                    if found[q] != j || m[q] <= j || shared[q] <= j {
                        continue;
                    }
                    if let Some(node) = copy(q, j + 1, &found, &nodes, walk) {
                        nodes[q][j + 1] = node;
                        found[q] = j + 1;
                    }
                }
            }
        }
        if g > 0 {
            let last = g - 1;
            walk.m = m[last];
            walk.words[..m[last]].copy_from_slice(context(last));
            walk.found = found[last];
            walk.nodes = nodes[last];
        }
        // The extension chains, level by level.
        let mut key = [0u64; GROUP];
        let mut alive = [false; GROUP];
        for q in 0..g {
            key[q] = u64::from(queries[q].1);
            alive[q] = found[q] > 0;
        }
        for (level, j) in self.levels.iter().zip(1..) {
            let mut k = 0;
            for q in (0..g).filter(|&q| alive[q] && found[q] >= j) {
                who[k] = q;
                index[k] = nodes[q][j];
                k += 1;
            }
            if k == 0 {
                break;
            }
            Self::ef(bytes, &level.ext).pair_many(&index[..k], &mut ranges[..k]);
            for i in 0..k {
                let (begin, end) = ranges[i].unwrap_or((0, 0));
                requests[i] = (key[who[i]], begin, end);
            }
            Self::ef(bytes, &level.ext_key).find_ranged_many(&requests[..k], &mut hits[..k]);
            let codes = Self::int(bytes, &level.prob);
            let mut touched = 0u8;
            for hit in hits[..k].iter().flatten() {
                touched ^= codes.touch(*hit);
            }
            black_box(touched);
            for i in 0..k {
                let q = who[i];
                let Some(hit) = hits[i] else {
                    alive[q] = false;
                    continue;
                };
                let code = codes.get(hit);
                let p = self.books.prob[j - 1].decode(code);
                if !p.is_nan() {
                    prob[q] = p;
                    out[q].matched = j + 1;
                }
                let keep = match (self.books.keep_split[j - 1], &level.keep) {
                    (Some(split), _) => code >= split,
                    (None, Some(bits)) => Self::int(bytes, bits).get(hit) == 1,
                    (None, None) => false,
                };
                if keep {
                    out[q].keep = j + 1;
                }
                key[q] = hit - ranges[i].map_or(0, |r| r.0);
            }
        }
        // The backoffs of the contexts longer than the matched n-gram's, shortest first.
        let mut touched = 0u8;
        for q in 0..g {
            for (j, &node) in nodes[q].iter().enumerate().take(found[q] + 1).skip(out[q].matched) {
                touched ^= Self::int(bytes, &self.levels[j - 1].backoff).touch(node);
            }
        }
        black_box(touched);
        for q in 0..g {
            let mut log10 = prob[q];
            let (from, to) = (out[q].matched, found[q]);
            for (j, &node) in nodes[q].iter().enumerate().take(to + 1).skip(from) {
                let level = &self.levels[j - 1];
                log10 += self.books.backoff[j - 1].decode(Self::int(bytes, &level.backoff).get(node));
            }
            out[q].log10 = log10;
        }
    }
}

/// The context walk of the last query of a group, carried to the next group of the same batch.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Walk {
    /// The context's words (the first `m`), oldest first.
    words: [WordId; MAX_ORDER],
    m: usize,
    /// Levels found, and their nodes (index = level).
    found: usize,
    nodes: [u64; MAX_ORDER],
}

impl Walk {
    fn context(&self) -> &[WordId] {
        &self.words[..self.m]
    }
}

/// What a shard answers for one query.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Lookup {
    /// log10 probability.
    pub log10: f32,
    /// Length of the longest n-gram with a probability that matched (1 = unigram).
    pub matched: usize,
    /// Length of the longest suffix of context + word to keep in the state (0 = none).
    pub keep: usize,
}

/// Appends values to a builder of globally non-decreasing keys, range by range.
#[derive(Debug)]
pub(crate) struct RangedKeys {
    values: Vec<u64>,
    base: u64,
}

impl RangedKeys {
    pub(crate) fn new() -> RangedKeys {
        RangedKeys {
            values: Vec::new(),
            base: 0,
        }
    }

    /// Starts a new range.
    pub(crate) fn start_range(&mut self) {
        self.base = self.values.last().copied().unwrap_or(0);
    }

    /// Appends a key of the current range (strictly increasing within the range).
    pub(crate) fn push(&mut self, key: u64) {
        self.values.push(self.base + key);
    }

    pub(crate) fn len(&self) -> u64 {
        self.values.len() as u64
    }

    /// The Elias-Fano words and the universe.
    pub(crate) fn finish(self) -> (Vec<u64>, u64) {
        let u = self.values.last().map_or(1, |&v| v + 1);
        (encode_ef(&self.values, u), u)
    }
}

/// Elias-Fano words for non-decreasing `values`, each below `u`.
pub(crate) fn encode_ef(values: &[u64], u: u64) -> Vec<u64> {
    let mut b = EliasFanoBuilder::new(values.len() as u64, u);
    for &v in values {
        b.push(v);
    }
    b.finish()
}

/// Fixed-width codes.
pub(crate) fn encode_ints(values: impl Iterator<Item = u64>, width: u32) -> Vec<u64> {
    let mut b = IntVecBuilder::new(width);
    for v in values {
        b.push(v);
    }
    b.finish()
}

/// A rank bit vector of `len` bits with `ones` set.
pub(crate) fn encode_rank_bits(len: u64, ones: impl Iterator<Item = u64>) -> Vec<u64> {
    let mut b = RankBitsBuilder::new(len);
    for i in ones {
        b.set(i);
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_of_spreads_and_stays_in_range() {
        for shards in [1, 2, 7, 64] {
            let mut counts = vec![0u32; shards as usize];
            for w in 0..10_000 {
                let s = shard_of(w, shards);
                assert!(s < shards);
                counts[s as usize] += 1;
            }
            let expected = 10_000 / shards;
            assert!(counts.iter().all(|&c| c > expected * 7 / 10), "{counts:?}");
        }
        assert_eq!(shard_of(12345, 1), 0);
    }
}
