//! Scoring through the [`LanguageModel`] trait, and [`ArpaModel`], its in-memory reference implementation.
//!
//! # The trait
//! A language model scores a word given a [`State`], the part of the history the model still needs, and returns
//! the successor state along with the log10 probability. States are small `Copy + Eq + Hash` values: a decoder
//! (spelling, translation) keeps one per hypothesis and recombines hypotheses whose states are equal, because
//! equal states are guaranteed to give equal scores for every continuation. The one required scoring method is
//! [`LanguageModel::score_batch`], which takes thousands of `(state, word)` queries at once so that a backend can
//! group them (by shard, on a GPU, …) and answer in parallel; [`LanguageModel::score`] and
//! [`LanguageModel::score_sentence`] are thin wrappers over it.
//!
//! ```
//! use fivegram_lm::model::{ArpaModel, LanguageModel};
//!
//! let arpa = "\\data\\\nngram 1=4\nngram 2=2\n\n\\1-grams:\n-1.5\t<unk>\n-99\t<s>\t-0.3\n-0.6\t</s>\n\
//!             -0.4\thello\t-0.2\n\n\\2-grams:\n-0.1\t<s> hello\n-0.2\thello </s>\n\n\\end\\\n";
//! let model = ArpaModel::from_arpa_text("toy.arpa", arpa)?;
//! let hello = model.word_id("hello");
//! let first = model.score(&model.begin_sentence_state(), hello);
//! assert_eq!((first.log10, first.ngram_length), (-0.1, 2));
//! let end = model.score(&first.state, model.eos_id());
//! assert_eq!(end.log10, -0.2);
//! // Unknown words map to <unk> and score its unigram probability plus the backoff of the context.
//! assert_eq!(model.word_id("goodbye"), model.unk_id());
//! let unknown = model.score(&model.begin_sentence_state(), model.word_id("goodbye"));
//! assert_eq!((unknown.log10, unknown.ngram_length), (-1.5 + -0.3, 0));
//! assert_eq!(model.score_sentence(&[hello], true, true), -0.3);
//! # Ok::<(), fivegram_lm::Error>(())
//! ```
//!
//! # Back-off scoring (as KenLM's query)
//! For a context `c1 … cm` (oldest first) and a word `w`, let `k` be the length of the longest n-gram
//! `c(m-k+2) … cm w` present in the model. Then `log10 p(w | c) = prob(that k-gram) + Σ backoff(c(m-j+1) … cm)`
//! over the context suffixes of lengths `j = k … m` (the contexts whose extension by `w` was not found; a missing
//! context contributes 0). The sum is taken in that order in `f32`, as KenLM does, so the totals agree bit for
//! bit on KenLM's own ARPA files.
//!
//! # State minimisation
//! The successor state is the longest suffix of `c1 … cm w`, at most `order - 1` words, that can still influence
//! a future score: an n-gram that is the context of some longer n-gram, or whose backoff is not zero. Dropping
//! the older words changes no later score, so two histories with equal states have equal futures. (KenLM marks
//! the same property with its "no extension" backoff of `-0.0`.)

use std::collections::HashMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::arpa::read::{ArpaReader, Entry};
use crate::vocab::FxBuildHasher;
use crate::{Error, Result};

/// Dense id of a word in a model's vocabulary.
pub type WordId = u32;

/// The highest n-gram order a [`State`] can serve (KenLM's default `KENLM_MAX_ORDER` is the same).
pub const MAX_ORDER: usize = 6;

/// The history a model needs to score the next word: up to `MAX_ORDER - 1` word ids, oldest first.
///
/// Models return minimised states (only the words that can still matter), but any state built with
/// [`State::new`] from the last `order - 1` words of a history is valid input too and scores as that history.
/// States from different models must not be mixed.
///
/// Like KenLM's, a state may also carry the model's backoffs of its context suffixes
/// ([`backoffs`](Self::backoffs)), which a model fills in when it has just read them, so that the next word's
/// score need not look them up again. They follow from the words, so equality and hashing look at the used words
/// only: two states with the same words are equal whether or not they carry backoffs, and score alike.
#[derive(Debug, Clone, Copy)]
pub struct State {
    pub(crate) len: u8,
    /// Whether `backoffs[..len]` holds the model's backoffs.
    pub(crate) carries: bool,
    /// Oldest first; slots past `len` are zero.
    pub(crate) words: [WordId; MAX_ORDER - 1],
    /// `backoffs[j - 1]`: the log10 backoff of the last `j` words.
    pub(crate) backoffs: [f32; MAX_ORDER - 1],
    /// `filters[j - 1]`: a hint from the model that made the state about the words that can follow the last
    /// `j` words in a stored n-gram (a hashed store's extension filter; all ones, which rules nothing out,
    /// when the model gave none).
    pub(crate) filters: [u32; MAX_ORDER - 1],
}

impl Default for State {
    fn default() -> State {
        State::EMPTY
    }
}

impl PartialEq for State {
    #[inline]
    fn eq(&self, other: &State) -> bool {
        // Slots past the length are always zero, so comparing them all compares the used words.
        self.len == other.len && self.words == other.words
    }
}

impl Eq for State {}

impl std::hash::Hash for State {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, hasher: &mut H) {
        self.len.hash(hasher);
        self.words.hash(hasher);
    }
}

impl State {
    /// The empty history (no context at all).
    pub const EMPTY: State = State {
        len: 0,
        carries: false,
        words: [0; MAX_ORDER - 1],
        backoffs: [0.0; MAX_ORDER - 1],
        filters: [u32::MAX; MAX_ORDER - 1],
    };

    /// A state holding `words` (oldest first); `None` when there are more than `MAX_ORDER - 1` of them.
    #[inline]
    pub fn new(words: &[WordId]) -> Option<State> {
        if words.len() >= MAX_ORDER {
            return None;
        }
        let mut state = State::EMPTY;
        state.words[..words.len()].copy_from_slice(words);
        state.len = words.len() as u8;
        Some(state)
    }

    /// A state holding `words` and the backoffs of their suffixes (`backoffs[j - 1]` of the last `j` words, as
    /// the model that made it stores them); `None` when there are more than `MAX_ORDER - 1` words or the
    /// lengths differ.
    #[inline]
    pub fn with_backoffs(words: &[WordId], backoffs: &[f32]) -> Option<State> {
        if backoffs.len() != words.len() {
            return None;
        }
        let mut state = State::new(words)?;
        state.backoffs[..backoffs.len()].copy_from_slice(backoffs);
        state.carries = true;
        Some(state)
    }

    /// The context words, oldest first.
    pub fn words(&self) -> &[WordId] {
        &self.words[..usize::from(self.len)]
    }

    /// The backoffs the state carries, `[j - 1]` for the last `j` words; `None` when it carries none (a state
    /// from [`State::new`], or from a model that does not fill them in).
    #[inline]
    pub fn backoffs(&self) -> Option<&[f32]> {
        self.carries.then(|| &self.backoffs[..usize::from(self.len)])
    }

    /// The number of context words.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True for the empty context.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The answer to one `(state, word)` query.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Scored {
    /// log10 probability of the word given the state.
    pub log10: f32,
    /// The state after the word, minimised (see the module documentation).
    pub state: State,
    /// The length of the longest n-gram matched (1 = unigram); 0 when the word is `<unk>`.
    pub ngram_length: u8,
}

/// A language model over words, scored incrementally through [`State`]s.
///
/// Implementations must be `Send + Sync`: one model is shared by all threads. The trait is dyn-compatible, so
/// `Box<dyn LanguageModel>` serves where the backend is chosen at run time; hot paths may be generic instead.
pub trait LanguageModel: Send + Sync {
    /// The highest n-gram order (5 for a 5-gram model).
    fn order(&self) -> usize;

    /// The number of words in the vocabulary, including `<unk>`, `<s>` and `</s>`.
    fn vocab_size(&self) -> usize;

    /// The id of `word`, or [`unk_id`](Self::unk_id) when the model does not know it.
    fn word_id(&self, word: &str) -> WordId;

    /// The id of `<unk>`, which unknown words score as.
    fn unk_id(&self) -> WordId;

    /// The id of `<s>`, the sentence start.
    fn bos_id(&self) -> WordId;

    /// The id of `</s>`, the sentence end.
    fn eos_id(&self) -> WordId;

    /// The state at the start of a sentence (after `<s>`).
    fn begin_sentence_state(&self) -> State;

    /// The state without any context.
    fn null_context_state(&self) -> State {
        State::EMPTY
    }

    /// Scores every query: `out` is cleared and receives one [`Scored`] per query, in order.
    fn score_batch(&self, queries: &[(State, WordId)], out: &mut Vec<Scored>);

    /// Scores one word: a batch of one.
    fn score(&self, state: &State, word: WordId) -> Scored {
        let mut out = Vec::with_capacity(1);
        self.score_batch(&[(*state, word)], &mut out);
        out.pop().unwrap_or_default()
    }

    /// The log10 probability of every token of many sentences (word ids, without `<s>` and `</s>`), appended to
    /// `out` in order: for each sentence its words then `</s>`, scored from the begin-of-sentence state, as
    /// [`score_sentence`](Self::score_sentence) does word by word. The default advances all sentences in lock
    /// step, one [`score_batch`](Self::score_batch) per position ([`lock_step_tokens`]); a model may answer
    /// whole texts its own way (the hashed store pipelines its lookups word by word) as long as every value is
    /// the same.
    fn score_tokens(&self, sentences: &[&[WordId]], out: &mut Vec<f32>) {
        lock_step_tokens(self, sentences, out);
    }

    /// The log10 probability of a sentence: each word in turn (summed in `f32`, in order, as KenLM does),
    /// starting from the begin-of-sentence state when `bos` (else from no context), followed by `</s>` when `eos`.
    fn score_sentence(&self, words: &[WordId], bos: bool, eos: bool) -> f32 {
        let mut state = if bos {
            self.begin_sentence_state()
        } else {
            self.null_context_state()
        };
        let mut total = 0.0f32;
        let end = eos.then(|| self.eos_id());
        for &word in words.iter().chain(end.as_ref()) {
            let scored = self.score(&state, word);
            total += scored.log10;
            state = scored.state;
        }
        total
    }
}

/// [`LanguageModel::score_tokens`] by lock-step batches: position 0 of every sentence in one
/// [`LanguageModel::score_batch`] call, then position 1 of those that have one, and so on (`</s>` after each
/// sentence's last word), each state the previous answer's.
pub fn lock_step_tokens<M: LanguageModel + ?Sized>(model: &M, sentences: &[&[WordId]], out: &mut Vec<f32>) {
    let eos = model.eos_id();
    let base = out.len();
    // Where each sentence's tokens go in `out`.
    let mut offsets = Vec::with_capacity(sentences.len());
    let mut total = base;
    for words in sentences {
        offsets.push(total);
        total += words.len() + 1;
    }
    out.resize(total, 0.0);
    let word_at = |i: usize, step: usize| sentences[i].get(step).copied().unwrap_or(eos);
    // The sentences still being scored, by index, and the query of each for position `step`: its state is
    // the previous answer's, updated in place, and finished sentences are dropped as the answers are read.
    let start = model.begin_sentence_state();
    let mut active: Vec<usize> = (0..sentences.len()).collect();
    let mut queries: Vec<(State, WordId)> = (0..sentences.len()).map(|i| (start, word_at(i, 0))).collect();
    let mut scored: Vec<Scored> = Vec::with_capacity(sentences.len());
    let mut step = 0;
    while !queries.is_empty() {
        model.score_batch(&queries, &mut scored);
        let mut kept = 0;
        for (k, result) in scored.iter().enumerate() {
            let i = active[k];
            out[offsets[i] + step] = result.log10;
            // A sentence is done once its `</s>` (position len) has been scored.
            if sentences[i].len() > step {
                active[kept] = i;
                queries[kept] = (result.state, word_at(i, step + 1));
                kept += 1;
            }
        }
        active.truncate(kept);
        queries.truncate(kept);
        step += 1;
    }
}

/// Probability and backoff of one n-gram, and whether it can influence a longer context.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Weights {
    prob: f32,
    backoff: f32,
    flags: u8,
}

/// The n-gram was listed in the ARPA file (otherwise it is a context inserted only because a longer n-gram
/// extends it: it carries no probability and a backoff of 0).
const PRESENT: u8 = 1;
/// Some longer n-gram starts with this one.
const EXTENDS: u8 = 2;

impl Weights {
    fn is_present(&self) -> bool {
        self.flags & PRESENT != 0
    }

    /// Whether a state ending in this n-gram must keep it: a future word may match a longer n-gram through it,
    /// or falling back from it costs a backoff.
    fn keeps_state(&self) -> bool {
        self.flags & EXTENDS != 0 || self.backoff != 0.0
    }
}

/// Mixes word ids into a 64-bit hash (multiply-rotate, then a MurmurHash3 finaliser).
fn hash_ids(ids: &[WordId]) -> u64 {
    let mut h: u64 = 0x243F_6A88_85A3_08D3;
    for &id in ids {
        h = (h.rotate_left(23) ^ u64::from(id)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    h ^ (h >> 33)
}

/// The n-grams of one order (2 or more): their word ids side by side, their weights, and an open-addressing
/// hash table of indices into them.
#[derive(Debug, Default)]
struct Table {
    order: usize,
    keys: Vec<WordId>,
    weights: Vec<Weights>,
    /// 0 = empty, otherwise index + 1. The length is a power of two, at most half full.
    slots: Vec<u32>,
}

impl Table {
    fn new(order: usize, expected: usize) -> Table {
        let mut table = Table {
            order,
            keys: Vec::with_capacity(expected.saturating_mul(order)),
            weights: Vec::with_capacity(expected),
            slots: Vec::new(),
        };
        table.rebuild(slot_count(expected));
        table
    }

    fn len(&self) -> usize {
        self.weights.len()
    }

    fn key(&self, index: usize) -> &[WordId] {
        &self.keys[index * self.order..(index + 1) * self.order]
    }

    /// The slot holding `ngram`, or the empty slot where it would go.
    fn probe(&self, ngram: &[WordId]) -> (usize, Option<usize>) {
        let mask = self.slots.len() - 1;
        let mut slot = (hash_ids(ngram) as usize) & mask;
        loop {
            match self.slots[slot] {
                0 => return (slot, None),
                stored => {
                    let index = stored as usize - 1;
                    // An element loop, not `==` on slices: for keys of 2 to 6 ids it beats a call to memcmp.
                    if self.key(index).iter().zip(ngram).all(|(a, b)| a == b) {
                        return (slot, Some(index));
                    }
                }
            }
            slot = (slot + 1) & mask;
        }
    }

    fn get(&self, ngram: &[WordId]) -> Option<&Weights> {
        debug_assert_eq!(ngram.len(), self.order);
        self.probe(ngram).1.map(|index| &self.weights[index])
    }

    fn get_mut(&mut self, ngram: &[WordId]) -> Option<&mut Weights> {
        self.probe(ngram).1.map(move |index| &mut self.weights[index])
    }

    /// Inserts a new n-gram; `false` (and nothing changes) when it is already there.
    fn insert(&mut self, ngram: &[WordId], weights: Weights) -> bool {
        if (self.len() + 1) * 2 > self.slots.len() {
            self.rebuild(self.slots.len() * 2);
        }
        let (slot, found) = self.probe(ngram);
        if found.is_some() {
            return false;
        }
        self.keys.extend_from_slice(ngram);
        self.weights.push(weights);
        self.slots[slot] = self.weights.len() as u32;
        true
    }

    fn rebuild(&mut self, slots: usize) {
        self.slots = vec![0; slots.max(8)];
        let mask = self.slots.len() - 1;
        for index in 0..self.len() {
            let mut slot = (hash_ids(self.key(index)) as usize) & mask;
            while self.slots[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            self.slots[slot] = index as u32 + 1;
        }
    }

    fn heap_bytes(&self) -> usize {
        self.keys.capacity() * size_of::<WordId>()
            + self.weights.capacity() * size_of::<Weights>()
            + self.slots.capacity() * size_of::<u32>()
    }
}

/// Slots for `n` entries at a load of at most one half (linear probing stays short: about 1.5 probes for a
/// hit, 2.5 for a miss).
fn slot_count(n: usize) -> usize {
    (n.saturating_mul(2) + 1).next_power_of_two()
}

/// Queries per rayon task in [`ArpaModel::score_batch`]; smaller batches are answered on the calling thread.
const CHUNK: usize = 1024;

/// An in-memory back-off model read from an ARPA file: the reference implementation of [`LanguageModel`].
///
/// Unigrams sit in an array indexed by word id; each higher order in a hash table keyed by the n-gram's word
/// ids (exact keys, no hash-only matching). Ids: `<unk>` = 0, `<s>` = 1, `</s>` = 2, then the other unigrams in
/// file order.
///
/// Memory: about `4·n + 12` bytes per n-gram of order `n` plus 8–16 bytes of hash slots, and the vocabulary's
/// strings. This is the straightforward layout that the compressed store is checked against, not a compact one.
///
/// Loading follows KenLM where the ARPA file is incomplete: a missing `<unk>` is added with log10 probability
/// -100 (KenLM's default); a missing `<s>` or `</s>` is an error. An n-gram over a word that is not a unigram, or
/// listed twice, is an error. An n-gram whose context is absent (as SRILM's pruning leaves) is accepted: the
/// context is kept as a pass-through entry with backoff 0, and scoring takes the longest n-gram present.
#[derive(Debug)]
pub struct ArpaModel {
    order: usize,
    vocab: HashMap<Box<str>, WordId, FxBuildHasher>,
    words: Vec<Box<str>>,
    unigrams: Vec<Weights>,
    /// `tables[0]` holds the bigrams.
    tables: Vec<Table>,
    parallel: bool,
    path: PathBuf,
    counts: Vec<u64>,
}

/// Opens a model for scoring, choosing the backend from what `path` is: a model directory written by
/// `fivegram build` is opened as a [`Store`](crate::store::Store) (memory-mapped); anything else is read as an
/// ARPA file (plain or gzip) into an [`ArpaModel`]. This is the one place where a path becomes a model, so every
/// verb that scores (query, spell, translate) accepts the same kinds of model.
pub fn open(path: impl AsRef<Path>) -> Result<Box<dyn LanguageModel>> {
    let path = path.as_ref();
    if path.is_dir() {
        return Ok(Box::new(crate::store::Store::open(path)?));
    }
    Ok(Box::new(ArpaModel::open(path)?))
}

/// log10 probability given to `<unk>` when the ARPA file lacks it (KenLM's `unknown_missing_logprob`).
pub const MISSING_UNK_LOG10: f32 = -100.0;

impl ArpaModel {
    /// Reads an ARPA file (plain or gzip).
    pub fn open(path: impl AsRef<Path>) -> Result<ArpaModel> {
        Self::from_reader(ArpaReader::open(path)?)
    }

    /// Reads ARPA text held in memory; `path` names it in error messages.
    pub fn from_arpa_text(path: impl Into<PathBuf>, text: &str) -> Result<ArpaModel> {
        let bytes = text.as_bytes().to_vec();
        Self::from_reader(ArpaReader::from_reader(path, Box::new(Cursor::new(bytes)))?)
    }

    /// Builds the model from everything `reader` has left to read.
    pub fn from_reader(mut reader: ArpaReader) -> Result<ArpaModel> {
        let order = reader.order();
        if order > MAX_ORDER {
            return Err(Error::Format {
                path: reader.path().to_path_buf(),
                line: reader.line_number(),
                message: format!("order {order} is above the maximum {MAX_ORDER} that models support"),
            });
        }
        let counts = reader.counts().to_vec();
        // Preallocate from the header, but not beyond 64k entries per order: a small (or hostile) file may
        // announce counts it does not hold; bigger tables grow as entries arrive.
        let capacity = |n: usize| usize::try_from(counts[n - 1]).unwrap_or(usize::MAX).min(1 << 16);
        if counts.iter().any(|&c| c >= u64::from(u32::MAX) - 8) {
            return Err(Error::Format {
                path: reader.path().to_path_buf(),
                line: reader.line_number(),
                message: "more n-grams of one order than 32-bit indices can address".into(),
            });
        }
        let mut model = ArpaModel {
            order,
            vocab: HashMap::with_capacity_and_hasher(capacity(1) + 3, FxBuildHasher::default()),
            words: Vec::with_capacity(capacity(1) + 3),
            unigrams: Vec::with_capacity(capacity(1) + 3),
            tables: (2..=order).map(|n| Table::new(n, capacity(n))).collect(),
            parallel: true,
            path: reader.path().to_path_buf(),
            counts: counts.clone(),
        };
        let absent = Weights {
            prob: f32::NAN,
            backoff: 0.0,
            flags: 0,
        };
        for special in ["<unk>", "<s>", "</s>"] {
            model.vocab.insert(special.into(), model.words.len() as WordId);
            model.words.push(special.into());
            model.unigrams.push(absent);
        }
        let mut entry = Entry::default();
        let mut ids: Vec<WordId> = Vec::with_capacity(order);
        while reader.read_entry(&mut entry)? {
            let weights = Weights {
                prob: entry.prob,
                backoff: entry.backoff.unwrap_or(0.0),
                flags: PRESENT,
            };
            if entry.order == 1 {
                model.add_unigram(&reader, &entry.words[0], weights)?;
                continue;
            }
            ids.clear();
            for word in &entry.words {
                match model.vocab.get(word.as_str()) {
                    Some(&id) => ids.push(id),
                    None => {
                        return Err(format_error(
                            &reader,
                            format!(
                                "the word {word:?} of this {}-gram is not among the 1-grams",
                                entry.order
                            ),
                        ));
                    }
                }
            }
            if !model.tables[entry.order - 2].insert(&ids, weights) {
                return Err(format_error(
                    &reader,
                    format!("the {}-gram {:?} is listed twice", entry.order, entry.words.join(" ")),
                ));
            }
        }
        for (id, name) in [(1, "<s>"), (2, "</s>")] {
            if !model.unigrams[id].is_present() {
                return Err(format_error(
                    &reader,
                    format!("the model has no {name} among its 1-grams; is it a sentence-level language model?"),
                ));
            }
        }
        if !model.unigrams[0].is_present() {
            model.unigrams[0] = Weights {
                prob: MISSING_UNK_LOG10,
                backoff: 0.0,
                flags: PRESENT,
            };
        }
        model.mark_contexts();
        Ok(model)
    }

    fn add_unigram(&mut self, reader: &ArpaReader, word: &str, weights: Weights) -> Result<()> {
        let id = match self.vocab.get(word) {
            Some(&id) if id > 2 || self.unigrams[id as usize].is_present() => {
                return Err(format_error(reader, format!("the 1-gram {word:?} is listed twice")));
            }
            Some(&id) => id,
            None => {
                let id = self.words.len() as WordId;
                self.vocab.insert(word.into(), id);
                self.words.push(word.into());
                self.unigrams.push(weights);
                id
            }
        };
        self.unigrams[id as usize] = weights;
        Ok(())
    }

    /// Marks every n-gram that a longer one extends, inserting pass-through contexts where they are missing.
    fn mark_contexts(&mut self) {
        // From the highest order down, so that inserted contexts get their own contexts marked in turn.
        for n in (2..=self.order).rev() {
            let (lower, upper) = self.tables.split_at_mut(n - 2);
            let table = &upper[0];
            for index in 0..table.len() {
                let context = &table.key(index)[..n - 1];
                if n == 2 {
                    self.unigrams[context[0] as usize].flags |= EXTENDS;
                    continue;
                }
                let lower = &mut lower[n - 3];
                match lower.get_mut(context) {
                    Some(weights) => weights.flags |= EXTENDS,
                    None => {
                        let context = context.to_vec();
                        lower.insert(
                            &context,
                            Weights {
                                prob: f32::NAN,
                                backoff: 0.0,
                                flags: EXTENDS,
                            },
                        );
                    }
                }
            }
        }
    }

    /// Answers batches on the calling thread only (`false`) or with rayon (`true`, the default).
    pub fn with_parallel(mut self, parallel: bool) -> ArpaModel {
        self.parallel = parallel;
        self
    }

    /// The file the model was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The word with id `id`, if there is one.
    pub fn word(&self, id: WordId) -> Option<&str> {
        self.words.get(id as usize).map(|w| &**w)
    }

    /// The number of n-grams of each order in the file's header (a `<unk>` added by the model not counted).
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Approximate heap memory held by the n-gram tables and the vocabulary, in bytes.
    pub fn heap_bytes(&self) -> usize {
        let vocab: usize = self
            .words
            .iter()
            .map(|w| 2 * w.len() + 2 * size_of::<Box<str>>() + 8)
            .sum();
        vocab
            + self.unigrams.capacity() * size_of::<Weights>()
            + self.tables.iter().map(Table::heap_bytes).sum::<usize>()
    }

    /// The weights of `ngram` (any order from 1 to the model's), present or pass-through.
    fn lookup(&self, ngram: &[WordId]) -> Option<&Weights> {
        match ngram.len() {
            0 => None,
            1 => self.unigrams.get(ngram[0] as usize),
            n => self.tables.get(n - 2).and_then(|t| t.get(ngram)),
        }
    }

    fn score_one(&self, state: &State, word: WordId) -> Scored {
        let word = if (word as usize) < self.unigrams.len() { word } else { 0 };
        // The most recent order-1 context words, then the word.
        let context = state.words();
        let context = &context[context.len().saturating_sub(self.order - 1)..];
        let m = context.len();
        let mut buf = [0 as WordId; MAX_ORDER];
        buf[..m].copy_from_slice(context);
        buf[m] = word;
        let history = &buf[..=m];

        // Longest present n-gram ending in `word`: c(m-k+2) … cm w, k = j + 1.
        let mut matched = 1;
        let mut log10 = self.unigrams[word as usize].prob;
        for j in (1..=m).rev() {
            if let Some(weights) = self.lookup(&history[m - j..]).filter(|w| w.is_present()) {
                matched = j + 1;
                log10 = weights.prob;
                break;
            }
        }
        // Backoffs of the context suffixes of lengths matched … m, shortest first.
        for j in matched..=m {
            if let Some(weights) = self.lookup(&context[m - j..]) {
                log10 += weights.backoff;
            }
        }
        // The successor state: the longest suffix (at most order - 1 words) worth keeping.
        let longest = (m + 1).min(self.order - 1);
        let mut state = State::EMPTY;
        for k in (1..=longest).rev() {
            let suffix = &history[m + 1 - k..];
            if self.lookup(suffix).is_some_and(Weights::keeps_state) {
                state.words[..k].copy_from_slice(suffix);
                state.len = k as u8;
                break;
            }
        }
        Scored {
            log10,
            state,
            ngram_length: if word == 0 { 0 } else { matched as u8 },
        }
    }
}

fn format_error(reader: &ArpaReader, message: String) -> Error {
    Error::Format {
        path: reader.path().to_path_buf(),
        line: reader.line_number(),
        message,
    }
}

impl LanguageModel for ArpaModel {
    fn order(&self) -> usize {
        self.order
    }

    fn vocab_size(&self) -> usize {
        self.words.len()
    }

    fn word_id(&self, word: &str) -> WordId {
        self.vocab.get(word).copied().unwrap_or(0)
    }

    fn unk_id(&self) -> WordId {
        0
    }

    fn bos_id(&self) -> WordId {
        1
    }

    fn eos_id(&self) -> WordId {
        2
    }

    fn begin_sentence_state(&self) -> State {
        if self.order == 1 {
            State::EMPTY
        } else {
            State::new(&[1]).unwrap_or_default()
        }
    }

    fn score_batch(&self, queries: &[(State, WordId)], out: &mut Vec<Scored>) {
        out.clear();
        if self.parallel && queries.len() > CHUNK {
            out.resize(queries.len(), Scored::default());
            queries
                .par_chunks(CHUNK)
                .zip(out.par_chunks_mut(CHUNK))
                .for_each(|(queries, out)| {
                    for ((state, word), scored) in queries.iter().zip(out) {
                        *scored = self.score_one(state, *word);
                    }
                });
        } else {
            out.extend(queries.iter().map(|(state, word)| self.score_one(state, *word)));
        }
    }
}
