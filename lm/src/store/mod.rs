//! The sharded, compressed, memory-mapped n-gram store, and its batched lookups through [`LanguageModel`].
//!
//! # The types
//! - [`build::build_from_arpa`] writes a model directory from an ARPA file; [`build::BuildOptions`] chooses the
//!   shard count, the quantization and the shard [`Layout`] (the compact trie, or hash tables for speed).
//! - [`Store`] opens one ([`Store::open`] maps the files; [`Store::from_parts`] takes any bytes, e.g. `Vec<u8>`
//!   in tests) and implements [`LanguageModel`]. It is `Send + Sync` and reads without locks.
//! - [`Store::verify`] checks every checksum; [`Store::info`] reports sizes.
//!
//! ```no_run
//! use fivegram_lm::model::LanguageModel;
//! use fivegram_lm::store::Store;
//! use fivegram_lm::store::build::{BuildOptions, build_from_arpa};
//! use std::path::Path;
//!
//! let options = BuildOptions { shards: 4, quantize: 8, ..BuildOptions::default() };
//! // or, for faster lookups in about six times the space:
//! // BuildOptions { layout: fivegram_lm::store::Layout::Hashed, ..options }
//! build_from_arpa(Path::new("model.arpa.gz"), Path::new("model"), &options)?;
//! let store = Store::open(Path::new("model"))?;
//! let words: Vec<_> = "a small test".split(' ').map(|w| store.word_id(w)).collect();
//! println!("log10 p = {}", store.score_sentence(&words, true, true));
//! # Ok::<(), fivegram_lm::Error>(())
//! ```
//!
//! # A model directory
//! `manifest.json` (format, version, order, smoothing, vocabulary size, counts per order, quantization, shard
//! count, the shard layout when it is not the trie, and each file's length, CRC-32 and SHA-256), `vocab.fst`
//! (the words as an `fst::Map` to ids, and the special ids and counts) and `shard-00000.fgs` … one file per
//! shard. Every binary file has a magic, a format version, a kind tag, a sanity block and a checksummed footer
//! ([`format`](mod@format)). Opening checks each file's header, footer, sizes and the CRC recorded in the manifest against
//! the footer's, reading no n-gram data (the vocabulary file, a few MB, is checked in full, since the FST it
//! holds must not be read damaged); `verify` recomputes every CRC and SHA-256.
//!
//! # Scoring, and why one query touches one shard
//! For a state (context) `c1 … cm`, oldest first, and a word `w`, the score is that of KenLM's back-off model:
//! with `k` the length of the longest listed n-gram `c(m-k+2) … cm w`, `log10 p = prob(that n-gram) +
//! Σ backoff(c(m-j+1) … cm)` over `j = k … m`. Apart from the unigram `w`, every n-gram read is
//! `… cm w` (second-to-last word `cm`) and every backoff read is that of a context `… cm` (last word `cm`). The
//! successor state is the longest suffix of `c1 … cm w` that can still change a later score — again n-grams
//! `… cm w`, or the unigram `w` — so it needs one bit stored with each of those n-grams. (States are minimised
//! as [`crate::model`] describes; a state's words are exactly what these lookups need.)
//!
//! So the store puts every context ending in the word `v` — its backoff and its extensions `… v w` with their
//! probabilities — in shard `shard_of(v)`, and replicates the unigram probabilities (one code per word) in every
//! shard. A query with context `… cm` is answered entirely by shard `shard_of(cm)`; one with an empty context
//! by any shard (the word's own, for balance). The rule needs only the word id, so it holds equally when shards
//! live on different machines. The same codebooks are used in every shard, so scores do not depend on the shard
//! count.
//!
//! Brants et al. (2007) sharded by the last two words of an n-gram, `cm w`, for Stupid Backoff: every n-gram a
//! query reads ends in `cm w`, and there are no backoff weights. With Kneser-Ney's backoff weights the contexts
//! `… cm` must be read too, and they do not end in `w`, so hashing `(cm, w)` would send one query to two shards.
//! Hashing `cm` alone keeps one shard per query, at the price of coarser shards: all n-grams after a frequent
//! word such as "the" land in one shard, so shard sizes are less even than with two-word hashing.
//!
//! # Layout inside a shard
//! Two layouts, chosen at build time ([`build::BuildOptions::layout`], `fivegram build --layout`) and recorded
//! in the manifest (and in each shard file's kind tag); [`Store::open`] reads either, and both give
//! bit-identical scores for the same model, quantization and shard count (they hold the same n-grams with the
//! same codebooks):
//! - **trie** (the default, the small one: 3.94 bytes per n-gram on the Gutenberg 5-gram model at 8 bits): a
//!   right-to-left trie of contexts with, under each context, its extensions; word keys Elias-Fano coded, the
//!   word of an extension `c1 … cj w` stored as its position among the extensions of `c2 … cj` (a few bits),
//!   and probabilities and backoffs as codes into per-order codebooks (or raw `f32` for `--quantize 0`). No
//!   backoff is stored for the highest order (it has no contexts). See the `shard` module's sources.
//! - **hashed** (the fast one, like KenLM's "probing": 24 bytes per n-gram): per order a linear-probing table of
//!   16-byte entries keyed by a 64-bit hash of the n-gram (62 bits of it taken for identity; the build fails
//!   on a collision), holding the probability and backoff codes, the state bit and, on a bucket's first slot,
//!   whether the bucket overflowed; unigrams in an array by word id. Every key a query needs follows from the
//!   query alone, so a batch's probes are issued together and their cache misses overlap; the states it
//!   returns carry their backoffs. See the `hashed` module's sources (the format, and the probability of a
//!   wrong answer by hash collision, about 2⁻⁶⁰ per lookup).
//!
//! # Batches
//! In the hashed layout, [`LanguageModel::score_batch`] groups its queries by shard (keeping their order) and
//! answers them in groups of 128, in rounds: all unigrams, then the n-grams of each length for the queries still
//! matching, then (for states that do not carry them) the contexts whose backoffs are added, each round
//! prefetching the slots of all its queries before reading any. Whole texts ([`LanguageModel::score_tokens`],
//! what `fivegram query` uses) are scored word by word instead, in a one-shard hashed store: each word's
//! probes are keyed by its raw context and issued a few words ahead in five stages, so that the misses of
//! consecutive words overlap without the batches' bookkeeping.
//!
//! In the trie layout it sorts its queries by shard, then by context read from its newest word, and
//! answers them in groups of 32 distinct queries, level by level: a query whose context ends in the same words
//! as the one before it takes that query's walk through the context trie for those levels, equal queries are
//! answered once, and each pass first touches the cache lines the next pass will read for the whole group, so
//! that their misses overlap. A per-thread cache of recent lookups can be turned on ([`Store::with_cache`]).
//! BENCHMARKS.md ("5-gram store") has what each of these bought.
//!
//! # Memory
//! Opening maps the files and reads headers, footers, directories and codebooks (a few KB per shard), in either
//! layout. Pages of n-gram data are read when lookups touch them; the maps are advised for random access, and
//! the hashed layout's also for transparent huge pages (so, where the kernel caches the file in large folios,
//! it becomes resident in 2 MB steps; see [`crate::mmap::Access::RandomHuge`]).
//!
//! # Quirks
//! - Word ids are assigned by decreasing unigram probability (not in ARPA file order, unlike
//!   [`ArpaModel`](crate::model::ArpaModel)), so states of the two implementations hold different ids for the
//!   same words; the scores are the same.
//! - A query whose state holds ids from another model gets the scores of whatever those ids mean here (the
//!   trait's contract says not to mix states).
//! - Model files must not be edited in place while a model is open (see [`crate::mmap`]).

pub mod build;
pub mod format;
pub mod manifest;

mod bits;
mod cache;
mod ef;
mod hashed;
mod quant;
mod shard;
mod vocab;

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::mmap::Access;
pub use crate::mmap::MappedFile;
pub use manifest::{Layout, Manifest};
pub use shard::shard_of;
pub use vocab::SubBytes;

use crate::model::{LanguageModel, MAX_ORDER, Scored, State, WordId};
use crate::{Error, Result};
use cache::Cache;
use ef::GROUP;

use format::{Container, Kind};
use hashed::HashedLayout;
use manifest::{MANIFEST, VOCAB};
use shard::{Codebooks, Lookup, ShardLayout, Walk, tag};
use vocab::VocabFile;

/// Queries per rayon task in [`Store::score_batch`](LanguageModel::score_batch); smaller batches are answered
/// on the calling thread.
const CHUNK: usize = 256;

/// One opened shard file.
#[derive(Debug)]
struct ShardFile<D: AsRef<[u8]>> {
    data: D,
    index: ShardIndex,
    container: Container,
    path: PathBuf,
}

impl<D: AsRef<[u8]>> ShardFile<D> {
    /// Answers a group of at most [`GROUP`] queries of this trie shard (see
    /// `ShardLayout::score_group`). Hashed shards answer whole states instead ([`Store::answer_hashed`]).
    #[inline]
    fn score_group(&self, queries: &[Query<'_>], walk: &mut Walk, out: &mut [Lookup]) {
        let bytes = self.data.as_ref();
        let ShardIndex::Trie(l) = &self.index else {
            unreachable!("hashed shards are answered by Store::answer_hashed");
        };
        for (queries, out) in queries.chunks(GROUP).zip(out.chunks_mut(GROUP)) {
            l.score_group(bytes, queries, walk, out);
        }
    }

    /// Answers `queries` (states and words, any number) of this hashed shard into `out` (see
    /// `HashedLayout::score_states`).
    #[inline]
    fn score_states(&self, unk: WordId, queries: &[(State, WordId)], out: &mut [Scored]) {
        let ShardIndex::Hashed(l) = &self.index else {
            unreachable!("trie shards are answered by Store::answer_with");
        };
        l.score_states(self.data.as_ref(), unk, queries, out);
    }
}

/// A shard's validated layout, of whichever kind the model was built with.
#[derive(Debug)]
enum ShardIndex {
    Trie(ShardLayout),
    Hashed(HashedLayout),
}

impl ShardIndex {
    fn books(&self) -> &Codebooks {
        match self {
            ShardIndex::Trie(l) => &l.books,
            ShardIndex::Hashed(l) => &l.books,
        }
    }
}

/// An opened model directory: the vocabulary and the shards, over bytes of type `D` (a [`MappedFile`] from
/// [`Store::open`], or e.g. `Vec<u8>`).
#[derive(Debug)]
pub struct Store<D: AsRef<[u8]>> {
    dir: PathBuf,
    manifest: Manifest,
    manifest_bytes: Vec<u8>,
    vocab: VocabFile<D>,
    shards: Vec<ShardFile<D>>,
    order: usize,
    vocab_size: usize,
    parallel: bool,
    /// Whether lookups go through this thread's cache ([`cache`]).
    cache: bool,
    /// This store's id for the per-thread caches.
    id: u64,
}

impl Store<MappedFile> {
    /// Opens the model directory `dir`: reads `manifest.json`, maps `vocab.fst` and every shard, and validates
    /// their headers, footers, sizes and recorded checksums (see the module documentation). Reads no n-gram
    /// data. The files must not be modified in place while the store is open.
    pub fn open(dir: &Path) -> Result<Store<MappedFile>> {
        let manifest_path = dir.join(MANIFEST);
        let manifest_bytes = match std::fs::read(&manifest_path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::Corrupt {
                    path: manifest_path,
                    what: "no manifest: not a model directory, or its build did not finish (build it again)".into(),
                });
            }
            Err(e) => return Err(Error::io(&manifest_path, e)),
        };
        let manifest = Manifest::parse(&manifest_path, &manifest_bytes)?;
        let vocab = MappedFile::open(&dir.join(VOCAB))?;
        // The hashed layout's probes land anywhere in its tables: huge pages save most of their page walks
        // (see BENCHMARKS.md, "5-gram store"). The trie's lookups touch far fewer pages, which stay small.
        let access = match manifest.layout {
            Layout::Hashed => Access::RandomHuge,
            Layout::Trie => Access::Random,
        };
        let shards = manifest.files[1..]
            .iter()
            .map(|f| MappedFile::open_with(&dir.join(&f.name), access))
            .collect::<Result<Vec<_>>>()?;
        Store::from_parts(dir, &manifest_bytes, vocab, shards)
    }
}

impl<D: AsRef<[u8]>> Store<D> {
    /// Opens a model from its files' bytes: the manifest, the vocabulary file and the shard files in order.
    /// `dir` only names the files in error messages. Validates as [`Store::open`] does.
    pub fn from_parts(dir: &Path, manifest_bytes: &[u8], vocab: D, shards: Vec<D>) -> Result<Store<D>> {
        let manifest_path = dir.join(MANIFEST);
        let manifest = Manifest::parse(&manifest_path, manifest_bytes)?;
        let mismatch = |path: &Path, what: String| Error::Corrupt {
            path: path.to_path_buf(),
            what,
        };
        if shards.len() != manifest.shards as usize {
            return Err(mismatch(
                &manifest_path,
                format!(
                    "{} shard files given for a manifest of {}",
                    shards.len(),
                    manifest.shards
                ),
            ));
        }
        let check_file =
            |path: &Path, bytes: &[u8], entry: &manifest::FileEntry, container: &Container| -> Result<()> {
                if bytes.len() as u64 != entry.bytes {
                    return Err(mismatch(
                        path,
                        format!(
                            "{} bytes, the manifest records {} (truncated or from another build)",
                            bytes.len(),
                            entry.bytes
                        ),
                    ));
                }
                if format!("{:08x}", container.body_crc) != entry.crc32 {
                    return Err(mismatch(
                        path,
                        "the footer's checksum differs from the manifest's: a file from another build".into(),
                    ));
                }
                Ok(())
            };
        let vocab_path = dir.join(VOCAB);
        let vocab = VocabFile::open(&vocab_path, vocab)?;
        check_file(
            &vocab_path,
            vocab.map.as_fst().as_inner().whole().as_ref(),
            &manifest.files[0],
            &vocab.container,
        )?;
        let f = vocab.container.fields;
        let q = manifest.quantization.prob_bits;
        // Every file of a model is written in one format version, which the manifest records.
        if vocab.container.version != manifest.format_version
            || f.order as usize != manifest.order
            || f.vocab_size != manifest.vocab_size
            || f.shards != manifest.shards
            || f.quant_bits != q
            || vocab.counts != manifest.counts
            || vocab.smoothing != manifest.smoothing
        {
            return Err(mismatch(&manifest_path, format!("the manifest disagrees with {VOCAB}")));
        }
        let mut files = Vec::with_capacity(shards.len());
        for (i, data) in shards.into_iter().enumerate() {
            let entry = &manifest.files[i + 1];
            let path = dir.join(&entry.name);
            let bytes = data.as_ref();
            let kind = match manifest.layout {
                Layout::Trie => Kind::Shard,
                Layout::Hashed => Kind::HashedShard,
            };
            let container = Container::parse(&path, bytes, kind)?;
            check_file(&path, bytes, entry, &container)?;
            let cf = container.fields;
            if container.version != manifest.format_version
                || cf.order != f.order
                || cf.vocab_size != f.vocab_size
                || cf.shards != f.shards
                || cf.quant_bits != f.quant_bits
                || cf.ngrams != f.ngrams
                || cf.shard != i as u32
            {
                return Err(mismatch(
                    &path,
                    format!(
                        "its header disagrees with {VOCAB}, the manifest's format version or its place in the manifest"
                    ),
                ));
            }
            let index = match manifest.layout {
                Layout::Trie => ShardIndex::Trie(ShardLayout::parse(&path, bytes, &container)?),
                Layout::Hashed => ShardIndex::Hashed(HashedLayout::parse(&path, bytes, &container)?),
            };
            files.push(ShardFile {
                data,
                index,
                container,
                path,
            });
        }
        if files.windows(2).any(|w| w[0].index.books() != w[1].index.books()) {
            return Err(mismatch(&manifest_path, "the shards' codebooks differ".into()));
        }
        Ok(Store {
            dir: dir.to_path_buf(),
            order: manifest.order,
            vocab_size: manifest.vocab_size as usize,
            manifest,
            manifest_bytes: manifest_bytes.to_vec(),
            vocab,
            shards: files,
            parallel: true,
            cache: false,
            id: cache::new_owner(),
        })
    }

    /// Keeps a small cache of recent lookups per thread (`true`: a hit costs one probe of a 2.5 MB table instead
    /// of a walk through the shard) or looks every query up (`false`, the default: on the Gutenberg 5-gram model
    /// the cache bought nothing, since the queries that repeat are those whose trie nodes are hot anyway; on
    /// small models it saves about a fifth, see BENCHMARKS.md). Scores are the same. Only the trie layout uses
    /// it: a hashed shard answers a query in about the time a probe of the cache takes.
    pub fn with_cache(mut self, cache: bool) -> Store<D> {
        self.cache = cache;
        self
    }

    /// Empties the cache of recent lookups for this store, in every thread (it gets a new id, so that each
    /// thread's table is emptied when it next answers for it): e.g. so that benchmark rounds start alike.
    pub fn clear_cache(&mut self) {
        self.id = cache::new_owner();
    }

    /// Answers batches on the calling thread only (`false`) or with rayon (`true`, the default).
    pub fn with_parallel(mut self, parallel: bool) -> Store<D> {
        self.parallel = parallel;
        self
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The model directory (as given to open).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reads every byte of every file: recomputes each CRC-32 and SHA-256 and compares them with the footers and
    /// the manifest, and checks the vocabulary FST's own checksum. Returns one result per file (the manifest
    /// first, which open already checked to be byte for byte what the builder writes).
    pub fn verify_files(&self) -> Vec<(PathBuf, Result<()>)>
    where
        D: Sync,
    {
        let mut results = Vec::with_capacity(self.shards.len() + 2);
        // The manifest was checked at open to be exactly its canonical form; its SHA-256s are checked below.
        results.push((self.dir.join(MANIFEST), Ok(())));
        let sha_check = |path: &Path, bytes: &[u8], expected: &str| -> Result<()> {
            let sha = hex::encode(Sha256::digest(bytes));
            if sha != expected {
                return Err(Error::Checksum {
                    path: path.to_path_buf(),
                    what: format!("SHA-256 {sha}, the manifest records {expected}"),
                });
            }
            Ok(())
        };
        let vocab_path = self.dir.join(VOCAB);
        let vocab_bytes = self.vocab.map.as_fst().as_inner().whole().as_ref();
        let vocab_result = self
            .vocab
            .container
            .verify(&vocab_path, vocab_bytes)
            .and_then(|()| sha_check(&vocab_path, vocab_bytes, &self.manifest.files[0].sha256))
            .and_then(|()| {
                self.vocab.map.as_fst().verify().map_err(|e| Error::Checksum {
                    path: vocab_path.clone(),
                    what: format!("vocabulary FST: {e}"),
                })
            });
        results.push((vocab_path, vocab_result));
        let shard_results: Vec<(PathBuf, Result<()>)> = self
            .shards
            .par_iter()
            .enumerate()
            .map(|(i, s)| {
                let bytes = s.data.as_ref();
                let result = s
                    .container
                    .verify(&s.path, bytes)
                    .and_then(|()| sha_check(&s.path, bytes, &self.manifest.files[i + 1].sha256));
                (s.path.clone(), result)
            })
            .collect();
        results.extend(shard_results);
        results
    }

    /// [`verify_files`](Self::verify_files), stopping at the first error.
    pub fn verify(&self) -> Result<()>
    where
        D: Sync,
    {
        self.verify_files().into_iter().try_for_each(|(_, r)| r)
    }

    /// Sizes: bytes per order and in total.
    pub fn info(&self) -> Info {
        let order = self.order;
        let mut by_order = vec![0u64; order];
        let mut overhead = 0u64;
        let mut total = self.manifest_bytes.len() as u64;
        let vocab_bytes = self.manifest.files[0].bytes;
        total += vocab_bytes;
        let mut contexts = vec![0u64; order];
        for s in &self.shards {
            let file_bytes = s.data.as_ref().len() as u64;
            total += file_bytes;
            let mut attributed = 0;
            let sections: Vec<(u32, u64)> = s.container.sections.iter().map(|x| (x.tag, x.len)).collect();
            for &(t, len) in &sections {
                let n = match &s.index {
                    ShardIndex::Hashed(_) => HashedLayout::section_order(t),
                    ShardIndex::Trie(_) => match t {
                        tag::UNI_PROB | tag::UNI_KEEP | tag::CTX1_SET => Some(1),
                        t if t >= 100 => {
                            let j = (t / 100) as usize;
                            match t % 100 {
                                tag::CTX_BACKOFF | tag::CTX_CHILD | tag::CTX_KEY => Some(j),
                                tag::CTX_EXT | tag::EXT_KEY | tag::EXT_PROB | tag::EXT_KEEP => Some(j + 1),
                                _ => None,
                            }
                        }
                        _ => None,
                    },
                };
                if let Some(n) = n.filter(|&n| n >= 1 && n <= order) {
                    by_order[n - 1] += len;
                    attributed += len;
                }
            }
            overhead += file_bytes - attributed;
            match &s.index {
                ShardIndex::Trie(l) => {
                    for (j, c) in l.level_counts().enumerate() {
                        contexts[j] += c.contexts;
                    }
                }
                ShardIndex::Hashed(l) => {
                    for (j, c) in l.orders.iter().take(order - 1).enumerate() {
                        contexts[j] += c.contexts;
                    }
                }
            }
        }
        Info {
            layout: self.manifest.layout,
            order,
            vocab_size: self.vocab_size as u64,
            counts: self.manifest.counts.clone(),
            contexts,
            quant_bits: self.manifest.quantization.prob_bits,
            shards: self.manifest.shards,
            bytes_by_order: by_order,
            vocab_bytes,
            overhead_bytes: overhead + self.manifest_bytes.len() as u64,
            total_bytes: total,
        }
    }

    #[inline]
    fn clamp_word(&self, word: WordId) -> WordId {
        if (word as usize) < self.vocab_size {
            word
        } else {
            self.vocab.unk
        }
    }

    /// The context that matters for `state`: its last `order - 1` words.
    #[inline]
    fn context<'s>(&self, state: &'s State) -> &'s [WordId] {
        let words = state.words();
        &words[words.len().saturating_sub(self.order - 1)..]
    }

    /// The shard that answers `(state, word)`.
    #[inline]
    fn shard_for(&self, state: &State, word: WordId) -> u32 {
        let key = self.context(state).last().copied().unwrap_or(word);
        shard_of(key, self.manifest.shards)
    }

    /// Answers queries (`(shard, index into queries)`, in the order to answer them, as
    /// [`batch_order`](Self::batch_order) sorts them) in groups of up to `GROUP` consecutive distinct queries of
    /// the same shard, each group level by level (see `ShardLayout::score_group`); a query equal to the one
    /// before it takes its answer. Appends one answer per entry of `order` to `answers`, in that order.
    fn answer(&self, queries: &[(State, WordId)], order: &[(u32, u32)], answers: &mut Vec<Scored>) {
        if self.manifest.layout == Layout::Hashed {
            self.answer_hashed(queries, order, answers);
        } else if self.cache {
            cache::with_cache(self.id, |cache| self.answer_with(queries, order, Some(cache), answers));
        } else {
            self.answer_with(queries, order, None, answers);
        }
    }

    /// [`answer`](Self::answer) for the hashed layout (which has no use for the cache: a lookup in its tables
    /// costs about what a probe of the cache does): the queries of each shard, gathered in query order, in
    /// groups of [`hashed::GROUP`].
    fn answer_hashed(&self, queries: &[(State, WordId)], order: &[(u32, u32)], answers: &mut Vec<Scored>) {
        let mut gathered: Vec<(State, WordId)> = Vec::with_capacity(hashed::GROUP);
        let mut scored = [Scored::default(); hashed::GROUP];
        answers.reserve(order.len());
        for chunk in order.chunk_by(|a, b| a.0 == b.0) {
            let file = &self.shards[chunk[0].0 as usize];
            for part in chunk.chunks(hashed::GROUP) {
                gathered.clear();
                gathered.extend(part.iter().map(|&(_, i)| queries[i as usize]));
                let out = &mut scored[..part.len()];
                file.score_states(self.vocab.unk, &gathered, out);
                answers.extend_from_slice(out);
            }
        }
    }

    /// [`answer`](Self::answer), with this thread's cache of recent lookups or without one.
    fn answer_with(
        &self,
        queries: &[(State, WordId)],
        order: &[(u32, u32)],
        mut cache: Option<&mut Cache>,
        answers: &mut Vec<Scored>,
    ) {
        /// `from` of an entry answered from the cache.
        const CACHED: usize = usize::MAX;
        answers.reserve(order.len());
        let mut lookups = [Lookup::default(); GROUP];
        let mut group: [(&[WordId], WordId); GROUP] = [(&[], 0); GROUP];
        // For each entry of the current run: its query, and its slot in `group` (or CACHED, with the answer).
        let mut run: Vec<(Query<'_>, usize, Lookup)> = Vec::new();
        let mut walk = Walk::default();
        let mut start = 0;
        while start < order.len() {
            let shard = order[start].0;
            run.clear();
            let mut slots = 0;
            let mut end = start;
            while end < order.len() && order[end].0 == shard {
                let (state, word) = &queries[order[end].1 as usize];
                let query = (self.context(state), self.clamp_word(*word));
                let entry = match run.last() {
                    Some(&(last, from, lookup)) if last == query => (query, from, lookup),
                    _ => match cache.as_ref().and_then(|c| c.get(query.0, query.1)) {
                        Some(lookup) => (query, CACHED, lookup),
                        None => {
                            if slots == GROUP {
                                break;
                            }
                            group[slots] = query;
                            slots += 1;
                            (query, slots - 1, Lookup::default())
                        }
                    },
                };
                run.push(entry);
                end += 1;
            }
            let file = &self.shards[shard as usize];
            let lookups = &mut lookups[..slots];
            if slots > 0 {
                file.score_group(&group[..slots], &mut walk, lookups);
                if let Some(cache) = cache.as_mut() {
                    for (&(context, word), lookup) in group.iter().zip(lookups.iter()) {
                        cache.put(context, word, lookup);
                    }
                }
            }
            for &(query, from, cached) in &run {
                let lookup = if from == CACHED { cached } else { lookups[from] };
                answers.push(self.scored(query, &lookup));
            }
            start = end;
        }
    }

    /// The answer to one query, without the batch's sorting and grouping (for single `score` calls).
    fn answer_one(&self, query @ (state, word): &(State, WordId)) -> Scored {
        let word = self.clamp_word(*word);
        let file = &self.shards[self.shard_for(state, word) as usize];
        if self.manifest.layout == Layout::Hashed {
            let mut out = [Scored::default()];
            file.score_states(self.vocab.unk, std::slice::from_ref(query), &mut out);
            return out[0];
        }
        let query = (self.context(state), word);
        let cached = self
            .cache
            .then(|| cache::with_cache(self.id, |c| c.get(query.0, query.1)))
            .flatten();
        let lookup = cached.unwrap_or_else(|| {
            let mut lookup = [Lookup::default()];
            file.score_group(&[query], &mut Walk::default(), &mut lookup);
            if self.cache {
                cache::with_cache(self.id, |c| c.put(query.0, query.1, &lookup[0]));
            }
            lookup[0]
        });
        self.scored(query, &lookup)
    }

    /// The [`Scored`] for a shard's answer to `(context, word)`.
    #[inline]
    fn scored(&self, (context, word): Query<'_>, lookup: &Lookup) -> Scored {
        let mut buf = [0 as WordId; MAX_ORDER];
        let m = context.len();
        buf[..m].copy_from_slice(context);
        buf[m] = word;
        let keep = lookup.keep.min(m + 1);
        Scored {
            log10: lookup.log10,
            state: State::new(&buf[m + 1 - keep..=m]).unwrap_or_default(),
            ngram_length: if word == self.vocab.unk {
                0
            } else {
                lookup.matched as u8
            },
        }
    }

    /// The order in which to answer a batch, as `(shard, index)`: by shard, then by context read from its
    /// newest word, then by word, so that queries sharing a shard and a context suffix are answered together
    /// (their context walks are shared, and the nodes they touch are hot in the cache). Sorts one `u128` per
    /// query where the model's vocabulary and order allow it (always for a 5-gram model of fewer than 2^24
    /// words), tuples of words otherwise.
    ///
    /// The hashed layout has no walks to share and its probes are independent of their neighbours', so its
    /// batches are only grouped by shard, in query order (a stable counting sort; nothing to do for one shard).
    fn batch_order(&self, queries: &[(State, WordId)]) -> Vec<(u32, u32)>
    where
        D: Sync,
    {
        if self.manifest.layout == Layout::Hashed {
            return self.shard_order(queries);
        }
        let parallel = self.parallel && queries.len() > CHUNK;
        let shards = self.manifest.shards;
        // Context words are stored plus one (0 = no word), so that a shorter context sorts first.
        let word_bits = u64::BITS - (self.vocab_size as u64).leading_zeros();
        let shard_bits = u32::BITS - shards.saturating_sub(1).leading_zeros();
        let slots = self.order.max(1) as u32;
        let max_word = (self.vocab_size as u64).saturating_sub(1);
        if shard_bits + slots * word_bits <= 128 {
            let key = |(i, (state, word)): (usize, &(State, WordId))| -> (u128, u32) {
                let word = self.clamp_word(*word);
                let context = self.context(state);
                let mut key = u128::from(self.shard_for(state, word));
                for slot in 0..slots as usize - 1 {
                    // A word from another model's state (the contract says not to) sorts as the last id, so
                    // that it cannot spill into the shard's bits; only the order depends on it.
                    let w = context
                        .len()
                        .checked_sub(slot + 1)
                        .map_or(0, |k| u64::from(context[k]).min(max_word) + 1);
                    key = (key << word_bits) | u128::from(w);
                }
                key = (key << word_bits) | u128::from(word);
                (key, i as u32)
            };
            let shift = slots * word_bits;
            return sorted_keys(queries, parallel, key)
                .into_iter()
                .map(|(k, i)| ((k.checked_shr(shift).unwrap_or(0)) as u32, i))
                .collect();
        }
        type Key = (u32, [WordId; MAX_ORDER], u32);
        let key = |(i, (state, word)): (usize, &(State, WordId))| -> Key {
            let word = self.clamp_word(*word);
            let mut rev = [0 as WordId; MAX_ORDER];
            let context = self.context(state);
            for (slot, &w) in rev.iter_mut().zip(context.iter().rev()) {
                *slot = w.saturating_add(1);
            }
            rev[MAX_ORDER - 1] = word;
            (self.shard_for(state, word), rev, i as u32)
        };
        sorted_keys(queries, parallel, key)
            .into_iter()
            .map(|(s, _, i)| (s, i))
            .collect()
    }
}

impl<D: AsRef<[u8]>> Store<D> {
    /// The queries grouped by shard, each group in query order, as `(shard, index)`.
    fn shard_order(&self, queries: &[(State, WordId)]) -> Vec<(u32, u32)> {
        let shards = self.manifest.shards;
        if shards == 1 {
            return (0..queries.len() as u32).map(|i| (0, i)).collect();
        }
        let of: Vec<u32> = queries
            .iter()
            .map(|(state, word)| self.shard_for(state, self.clamp_word(*word)))
            .collect();
        let mut start = vec![0usize; shards as usize + 1];
        for &s in &of {
            start[s as usize + 1] += 1;
        }
        for s in 0..shards as usize {
            start[s + 1] += start[s];
        }
        let mut order = vec![(0u32, 0u32); queries.len()];
        for (i, &s) in of.iter().enumerate() {
            order[start[s as usize]] = (s, i as u32);
            start[s as usize] += 1;
        }
        order
    }
}

/// `key` of every item (with its index), sorted; with rayon when `parallel`.
fn sorted_keys<T: Sync, K: Ord + Send>(
    items: &[T],
    parallel: bool,
    key: impl Fn((usize, &T)) -> K + Sync + Send,
) -> Vec<K> {
    let mut keys: Vec<K> = if parallel {
        items.par_iter().enumerate().map(&key).collect()
    } else {
        items.iter().enumerate().map(&key).collect()
    };
    if parallel {
        keys.par_sort_unstable();
    } else {
        keys.sort_unstable();
    }
    keys
}

/// A query as a shard answers it: the context words that matter, and a valid word id.
type Query<'a> = (&'a [WordId], WordId);

/// Sizes of a model, from [`Store::info`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// The layout of the shard files.
    pub layout: Layout,
    /// The n-gram order.
    pub order: usize,
    /// Words in the vocabulary.
    pub vocab_size: u64,
    /// N-grams per order as listed in the source.
    pub counts: Vec<u64>,
    /// Context nodes per order (orders 1 to N-1), summed over shards.
    pub contexts: Vec<u64>,
    /// Bits per quantized value (0 = f32).
    pub quant_bits: u32,
    /// The number of shards.
    pub shards: u32,
    /// Bytes of the sections that hold each order's n-grams: extensions of order n and contexts of order n
    /// (unigram probabilities counted once per shard, as stored).
    pub bytes_by_order: Vec<u64>,
    /// Bytes of `vocab.fst`.
    pub vocab_bytes: u64,
    /// Headers, footers, directories, codebooks, padding and the manifest.
    pub overhead_bytes: u64,
    /// Every file of the model.
    pub total_bytes: u64,
}

impl Info {
    /// All n-grams of all orders.
    pub fn ngrams(&self) -> u64 {
        self.counts.iter().fold(0u64, |a, &c| a.saturating_add(c))
    }

    /// Total bytes per n-gram (every file of the model).
    pub fn bytes_per_ngram(&self) -> f64 {
        self.total_bytes as f64 / self.ngrams().max(1) as f64
    }
}

impl<D: AsRef<[u8]> + Send + Sync> LanguageModel for Store<D> {
    fn order(&self) -> usize {
        self.order
    }

    fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    fn word_id(&self, word: &str) -> WordId {
        self.vocab.get(word).unwrap_or(self.vocab.unk)
    }

    fn unk_id(&self) -> WordId {
        self.vocab.unk
    }

    fn bos_id(&self) -> WordId {
        self.vocab.bos
    }

    fn eos_id(&self) -> WordId {
        self.vocab.eos
    }

    fn begin_sentence_state(&self) -> State {
        let bos = self.vocab.bos;
        if self.order == 1 {
            State::EMPTY
        } else if let Some(ShardIndex::Hashed(l)) = self.shards.first().map(|f| &f.index) {
            // Every hashed shard holds every context's backoff; states of this layout carry theirs.
            let backoff = l.word_backoff(self.shards[0].data.as_ref(), bos);
            State::with_backoffs(&[bos], &[backoff]).unwrap_or_default()
        } else {
            State::new(&[bos]).unwrap_or_default()
        }
    }

    fn score_tokens(&self, sentences: &[&[WordId]], out: &mut Vec<f32>) {
        match (self.shards.as_slice(), self.order) {
            (
                [
                    ShardFile {
                        index: ShardIndex::Hashed(l),
                        data,
                        ..
                    },
                ],
                2..,
            ) => {
                let ids = (self.vocab.unk, self.vocab.bos, self.vocab.eos);
                l.score_text(data.as_ref(), ids, sentences, out);
            }
            _ => crate::model::lock_step_tokens(self, sentences, out),
        }
    }

    fn score_batch(&self, queries: &[(State, WordId)], out: &mut Vec<Scored>) {
        if self.manifest.layout == Layout::Hashed && self.shards.len() == 1 {
            // One hashed shard: answered in query order, straight into `out`, every element overwritten (so
            // only the elements it lacks are initialised first).
            out.truncate(queries.len());
            out.resize(queries.len(), Scored::default());
            let file = &self.shards[0];
            let unk = self.vocab.unk;
            if self.parallel && queries.len() > CHUNK {
                out.par_chunks_mut(CHUNK)
                    .zip(queries.par_chunks(CHUNK))
                    .for_each(|(out, queries)| file.score_states(unk, queries, out));
            } else {
                file.score_states(unk, queries, out);
            }
            return;
        }
        out.clear();
        if queries.len() <= 1 {
            out.extend(queries.iter().map(|query| self.answer_one(query)));
            return;
        }
        // Answer in shard and context order (chunks in parallel), then put the answers back in query order.
        let order = self.batch_order(queries);
        let mut answers: Vec<Scored> = Vec::with_capacity(order.len());
        if self.parallel && queries.len() > CHUNK {
            let chunks: Vec<Vec<Scored>> = order
                .par_chunks(CHUNK)
                .map(|chunk| {
                    let mut part = Vec::with_capacity(chunk.len());
                    self.answer(queries, chunk, &mut part);
                    part
                })
                .collect();
            chunks.into_iter().for_each(|part| answers.extend(part));
        } else {
            self.answer(queries, &order, &mut answers);
        }
        out.resize(queries.len(), Scored::default());
        for (&(_, i), scored) in order.iter().zip(answers) {
            out[i as usize] = scored;
        }
    }
}
