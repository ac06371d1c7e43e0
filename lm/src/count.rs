//! Counting the highest-order n-grams of a corpus within a memory budget.
//!
//! Like KenLM's `lmplz`, only n-grams of the model's order N are counted; every lower-order statistic (raw counts,
//! Kneser-Ney continuation counts) is derived later from their sorted stream (see [`crate::estimate`]). Each
//! sentence is padded on the left with N−1 `<s>` and ends with `</s>`, so the sentence `a b` counted at order 3
//! gives `<s> <s> a`, `<s> a b` and `a b </s>`.
//!
//! [`Counter`] appends every n-gram occurrence to a buffer of at most [`CountConfig::memory`] bytes. When it is
//! full, its entries are sorted in *suffix order* (last word first, then the one before it, …: the order `lmplz`
//! sorts in, which makes every n-gram's lower-order suffixes contiguous; rayon's parallel sort) and equal
//! n-grams are combined. When that leaves the buffer more than half full, it is written to an anonymous temporary
//! file as a compact run (shared-suffix length, varint ids, varint count) and emptied. [`Counter::finish`] returns
//! [`FullCounts`], which replays the single sorted stream, merging the runs k-way when there are several.
//! Temporary files are unnamed (`tempfile::tempfile_in`), so they vanish even if the process is killed.
//!
//! Keys handed to callers are *reversed*: `key[0]` is the last word of the n-gram, `key[N-1]` the first. In that
//! form suffix order is plain lexicographic order.
//!
//! Memory: an entry costs `4·N + 4` bytes; the buffer's address space is reserved up front but pages are used only
//! as entries arrive, so a small corpus costs little whatever the budget. The merge holds a 1 MiB buffer per run.

pub mod files;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rayon::slice::ParallelSliceMut;

use crate::vocab::{BOS, EOS, Vocab};
use crate::{Error, Result};

macro_rules! dispatch {
    ($table:expr, $t:ident => $body:expr) => {
        match $table {
            AnyTable::O1($t) => $body,
            AnyTable::O2($t) => $body,
            AnyTable::O3($t) => $body,
            AnyTable::O4($t) => $body,
            AnyTable::O5($t) => $body,
            AnyTable::O6($t) => $body,
        }
    };
}

macro_rules! dispatch_source {
    ($source:expr, $s:ident => $body:expr) => {
        match $source {
            AnySource::O1($s) => $body,
            AnySource::O2($s) => $body,
            AnySource::O3($s) => $body,
            AnySource::O4($s) => $body,
            AnySource::O5($s) => $body,
            AnySource::O6($s) => $body,
        }
    };
}

/// The highest supported model order.
pub const MAX_ORDER: usize = 6;

/// The smallest memory budget accepted (1 MiB).
pub const MIN_MEMORY: u64 = 1 << 20;

/// The bytes that separate tokens in `lmplz`'s whitespace tokenization: space, tab, carriage return, line feed and
/// NUL. Other whitespace (vertical tab, form feed, Unicode spaces) is part of a token, as in `lmplz`.
pub fn is_kenlm_delimiter(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\0')
}

/// Splits a line the way `lmplz` does: on runs of [`is_kenlm_delimiter`] bytes, dropping empty tokens.
pub fn whitespace_tokens(line: &str) -> impl Iterator<Item = &str> + '_ {
    line.split(|c: char| c.is_ascii() && is_kenlm_delimiter(c as u8))
        .filter(|t| !t.is_empty())
}

/// How to count.
#[derive(Debug, Clone)]
pub struct CountConfig {
    /// The model order N, 1 to [`MAX_ORDER`].
    pub order: usize,
    /// Memory budget for the counting table in bytes (at least [`MIN_MEMORY`]).
    pub memory: u64,
    /// Where sorted runs are spilled; the system temporary directory when `None`.
    pub temp_dir: Option<PathBuf>,
}

impl CountConfig {
    /// A configuration for `order` with a 1 GiB budget in the system temporary directory.
    pub fn new(order: usize) -> Self {
        CountConfig {
            order,
            memory: 1 << 30,
            temp_dir: None,
        }
    }

    /// Checks the order and the budget.
    pub fn validate(&self) -> Result<()> {
        if self.order == 0 || self.order > MAX_ORDER {
            return Err(Error::InvalidOption(format!(
                "order {} is not supported: use 1 to {MAX_ORDER}",
                self.order
            )));
        }
        if self.memory < MIN_MEMORY {
            return Err(Error::InvalidOption(format!(
                "memory budget of {} bytes is too small: give at least 1M",
                self.memory
            )));
        }
        Ok(())
    }

    fn temp_dir(&self) -> PathBuf {
        self.temp_dir.clone().unwrap_or_else(std::env::temp_dir)
    }
}

/// How [`count_files`] turns a line into tokens.
#[derive(Clone, Copy)]
pub enum Tokenizer<'t> {
    /// [`whitespace_tokens`]: KenLM's splitting, tokens kept exactly as written.
    Whitespace,
    /// Any tokenizer: appends the tokens of the line to the vector (which arrives empty).
    Custom(&'t (dyn Fn(&str, &mut Vec<String>) + Sync)),
}

impl std::fmt::Debug for Tokenizer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tokenizer::Whitespace => f.write_str("Whitespace"),
            Tokenizer::Custom(_) => f.write_str("Custom"),
        }
    }
}

/// Most lines per batch handed from the reading thread to the counting thread.
const BATCH_LINES: usize = 4096;

/// A batch ends once its lines hold this many bytes.
const BATCH_BYTES: usize = 1 << 20;

/// Batches waiting in the channel between the two threads.
const BATCH_QUEUE: usize = 2;

/// A line buffer that grew beyond this is freed after use, so that one very long line does not stay allocated.
const LINE_KEEP: usize = 1 << 16;

/// Memory of the reading side: the batches in circulation (queued, being filled, being counted, waiting to be
/// reused), each about `BATCH_BYTES` of text (twice that with capacity to spare) and its line ends, and the
/// reader's own buffers.
pub const READER_BYTES: u64 = ((BATCH_QUEUE + 3) * (2 * BATCH_BYTES + BATCH_LINES * 8)) as u64 + (2 << 20);

/// Memory counted against the budget besides the counting buffer and the vocabulary: the program itself, thread
/// stacks and allocator slack.
pub const FIXED_OVERHEAD: u64 = 12 << 20;

/// An estimate of the heap bytes of a vocabulary of `words` words totalling `word_bytes` bytes: each word is
/// stored twice (in the id → word list and as the key of the word → id map; an allocation of at least 32 bytes
/// each), the map's table has a power-of-two number of 25-byte buckets at most 7/8 full, and the list of 16-byte
/// pointers doubles when it grows (both copies exist for a moment).
pub fn vocab_bytes(words: usize, word_bytes: u64) -> u64 {
    let words64 = words as u64;
    let strings = 2 * (word_bytes + 24 * words64).max(32 * words64);
    let buckets = (words * 8 / 7 + 1).next_power_of_two() as u64;
    let list = words.next_power_of_two() as u64 * 16 * 3 / 2;
    strings + buckets * 25 + list
}

/// [`vocab_bytes`] of a vocabulary.
pub fn vocab_heap_bytes(vocab: &Vocab) -> u64 {
    let bytes: u64 = (0..vocab.len()).map(|id| vocab.word(id as u32).len() as u64).sum();
    vocab_bytes(vocab.len(), bytes)
}

/// Counts the order-N n-grams of text files (plain or gzip, one sentence per line), in the order given.
///
/// Files are read and decompressed on a second thread while this one counts; with a custom tokenizer, each batch
/// of lines is tokenized in parallel (rayon) before its words are numbered in order. `progress` is called with
/// the number of tokens counted so far after every batch. An empty line is an empty sentence (`<s> </s>`), as in
/// `lmplz`.
pub fn count_files(
    paths: &[PathBuf],
    config: CountConfig,
    tokenizer: Tokenizer<'_>,
    mut progress: impl FnMut(u64),
) -> Result<FullCounts> {
    use fivegram_corpora::read::{Decoding, TextReader};
    use rayon::prelude::*;

    config.validate()?;
    let mut counter = Counter::new(config)?;
    counter.reserve(match tokenizer {
        Tokenizer::Whitespace => READER_BYTES,
        // Each batch's tokens as strings too: about 56 bytes per token of a few bytes.
        Tokenizer::Custom(_) => READER_BYTES + 12 * BATCH_BYTES as u64,
    });
    type Batch = (PathBuf, u64, LineBatch);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Batch>>(BATCH_QUEUE);
    let (back_tx, back_rx) = std::sync::mpsc::channel::<LineBatch>();
    std::thread::scope(|scope| -> Result<()> {
        let reader = scope.spawn(move || {
            let mut line = String::new();
            for path in paths {
                let mut reader = match TextReader::open(path, Decoding::Strict) {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = tx.send(Err(e.into()));
                        return;
                    }
                };
                loop {
                    let first_line = reader.line_number() + 1;
                    let mut batch = back_rx.try_recv().unwrap_or_default();
                    batch.clear();
                    let mut eof = false;
                    while batch.ends.len() < BATCH_LINES && batch.text.len() < BATCH_BYTES {
                        match reader.read_line(&mut line) {
                            Ok(true) => {
                                batch.push(&line);
                                if line.capacity() > LINE_KEEP {
                                    line = String::new();
                                }
                            }
                            Ok(false) => {
                                eof = true;
                                break;
                            }
                            Err(e) => {
                                let _ = tx.send(Err(e.into()));
                                return;
                            }
                        }
                    }
                    if !batch.ends.is_empty() && tx.send(Ok((path.clone(), first_line, batch))).is_err() {
                        return;
                    }
                    if eof {
                        break;
                    }
                }
            }
        });
        let mut tokens: Vec<Vec<String>> = Vec::new();
        for message in rx {
            let (path, first_line, batch) = message?;
            match tokenizer {
                Tokenizer::Whitespace => {
                    for (i, line) in batch.lines().enumerate() {
                        counter.add_sentence(whitespace_tokens(line), &path, first_line + i as u64)?;
                    }
                }
                Tokenizer::Custom(f) => {
                    let lines: Vec<&str> = batch.lines().collect();
                    tokens.resize_with(lines.len(), Vec::new);
                    lines.par_iter().zip(tokens.par_iter_mut()).for_each(|(line, out)| {
                        out.clear();
                        if out.capacity() > LINE_KEEP / 8 {
                            *out = Vec::new();
                        }
                        f(line, out);
                    });
                    for (i, t) in tokens[..lines.len()].iter().enumerate() {
                        counter.add_sentence(t.iter().map(String::as_str), &path, first_line + i as u64)?;
                    }
                }
            }
            progress(counter.tokens());
            let _ = back_tx.send(batch);
        }
        reader
            .join()
            .map_err(|_| Error::InvalidOption("the reading thread panicked".to_string()))?;
        Ok(())
    })?;
    counter.finish()
}

/// Lines read as one text and the end of each line in it: its memory is the text's, however the lines vary.
#[derive(Debug, Default)]
struct LineBatch {
    text: String,
    ends: Vec<usize>,
}

impl LineBatch {
    /// Empties the batch; a text grown far beyond [`BATCH_BYTES`] by a very long line is freed.
    fn clear(&mut self) {
        if self.text.capacity() > 2 * BATCH_BYTES {
            self.text = String::new();
        }
        self.text.clear();
        self.ends.clear();
    }

    fn push(&mut self, line: &str) {
        self.text.push_str(line);
        self.ends.push(self.text.len());
    }

    fn lines(&self) -> impl Iterator<Item = &str> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(a, &b)| &self.text[a..b])
    }
}

/// Counts the order-N n-grams of sentences. See the [module documentation](self).
#[derive(Debug)]
pub struct Counter {
    vocab: Vocab,
    table: AnyTable,
    ids: Vec<u32>,
    tokens: u64,
    sentences: u64,
    memory: u64,
    temp_dir: PathBuf,
    /// Bytes of the budget set aside for everything but the table and the vocabulary.
    reserved: u64,
    /// Words in the vocabulary and their total length, for [`vocab_bytes`].
    words: usize,
    word_bytes: u64,
    /// A fixed table size (tests), overriding the budget.
    fixed_slots: Option<usize>,
}

impl Counter {
    /// A counter with an empty vocabulary (only the special words).
    pub fn new(config: CountConfig) -> Result<Self> {
        Self::with_vocab(config, Vocab::new())
    }

    /// A counter that numbers words starting from `vocab` (used when reading count files back).
    pub fn with_vocab(config: CountConfig, vocab: Vocab) -> Result<Self> {
        config.validate()?;
        let temp_dir = config.temp_dir();
        let spill = Spill {
            dir: temp_dir,
            runs: Vec::new(),
        };
        let table = match config.order {
            1 => AnyTable::O1(Table::new(config.memory, spill)?),
            2 => AnyTable::O2(Table::new(config.memory, spill)?),
            3 => AnyTable::O3(Table::new(config.memory, spill)?),
            4 => AnyTable::O4(Table::new(config.memory, spill)?),
            5 => AnyTable::O5(Table::new(config.memory, spill)?),
            _ => AnyTable::O6(Table::new(config.memory, spill)?),
        };
        let word_bytes = (0..vocab.len()).map(|id| vocab.word(id as u32).len() as u64).sum();
        let mut counter = Counter {
            words: vocab.len(),
            word_bytes,
            vocab,
            table,
            ids: Vec::new(),
            tokens: 0,
            sentences: 0,
            memory: config.memory,
            temp_dir: config.temp_dir(),
            reserved: FIXED_OVERHEAD,
            fixed_slots: None,
        };
        counter.update_limit();
        Ok(counter)
    }

    /// Sets `bytes` more of the budget aside (for the caller's buffers): the table gets less.
    pub fn reserve(&mut self, bytes: u64) {
        self.reserved = self.reserved.saturating_add(bytes);
        self.update_limit();
    }

    /// The bytes the table may use: the budget less the reserve and the vocabulary, but at least a quarter of
    /// the budget (a vocabulary larger than the budget cannot be helped).
    pub fn table_budget(&self) -> u64 {
        let used = self.reserved + vocab_bytes(self.words, self.word_bytes);
        self.memory.saturating_sub(used).max(self.memory / 4)
    }

    fn update_limit(&mut self) {
        let bytes = self.table_budget();
        let fixed = self.fixed_slots;
        dispatch!(&mut self.table, t => t.set_limit(fixed.unwrap_or_else(|| t.slots_for(bytes))))
    }

    /// The vocabulary so far.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// Tokens counted so far (words, not `<s>` or `</s>`).
    pub fn tokens(&self) -> u64 {
        self.tokens
    }

    /// Sentences counted so far.
    pub fn sentences(&self) -> u64 {
        self.sentences
    }

    /// Caps the table at `slots` slots, whatever the budget (tests use it to force many spills).
    #[cfg(test)]
    pub(crate) fn limit_table(&mut self, slots: usize) {
        let slots = slots.max(16);
        dispatch!(&mut self.table, t => {
            t.max_capacity = slots;
            t.slots = Vec::with_capacity(t.max_capacity);
        });
        self.fixed_slots = Some(slots);
        self.update_limit();
    }

    /// Sorted runs written to disk so far.
    pub fn runs(&self) -> usize {
        dispatch!(&self.table, t => t.spill.runs.len())
    }

    /// Counts one sentence. `<s>`, `</s>` and `<unk>` are refused (as `lmplz` does); `path` and `line` only serve
    /// that error message.
    pub fn add_sentence<'a>(
        &mut self,
        tokens: impl IntoIterator<Item = &'a str>,
        path: &Path,
        line: u64,
    ) -> Result<()> {
        self.ids.clear();
        let words = self.words;
        for token in tokens {
            let id = self.vocab.find_or_insert(token);
            if id as usize == self.words {
                self.words += 1;
                self.word_bytes += token.len() as u64;
            }
            if Vocab::is_special(id) {
                return Err(Error::Format {
                    path: path.to_path_buf(),
                    line,
                    message: format!(
                        "the special word {token} may not appear in the text; rename it (KenLM's lmplz refuses it too)"
                    ),
                });
            }
            self.ids.push(id);
        }
        if self.words != words {
            self.update_limit();
        }
        self.add_ids_unchecked()
    }

    /// Counts one sentence of word ids from [`Counter::vocab`] (no special ids).
    pub fn add_ids(&mut self, ids: &[u32]) -> Result<()> {
        self.ids.clear();
        self.ids.extend_from_slice(ids);
        self.add_ids_unchecked()
    }

    fn add_ids_unchecked(&mut self) -> Result<()> {
        self.tokens += self.ids.len() as u64;
        self.sentences += 1;
        let ids = &self.ids;
        dispatch!(&mut self.table, t => t.add_sentence(ids))
    }

    /// Adds `count` occurrences of one order-N n-gram given in reversed form (last word first). Used to rebuild
    /// counts from count files; does not change the token and sentence totals.
    pub fn add_reversed(&mut self, key: &[u32], count: u64) -> Result<()> {
        dispatch!(&mut self.table, t => t.add_reversed(key, count))
    }

    /// Sets the token and sentence totals (for counts read back from files).
    pub fn set_totals(&mut self, tokens: u64, sentences: u64) {
        self.tokens = tokens;
        self.sentences = sentences;
    }

    /// Finishes counting: sorts what is in memory and returns the sorted stream.
    pub fn finish(self) -> Result<FullCounts> {
        let source = dispatch!(self.table, t => t.finish())?;
        Ok(FullCounts {
            vocab: self.vocab,
            tokens: self.tokens,
            sentences: self.sentences,
            memory: self.memory,
            temp_dir: self.temp_dir,
            source,
        })
    }
}

/// The counted order-N n-grams, replayable in suffix order as many times as needed.
#[derive(Debug)]
pub struct FullCounts {
    /// The vocabulary the ids refer to.
    pub vocab: Vocab,
    /// Word tokens counted (without `<s>` and `</s>`).
    pub tokens: u64,
    /// Sentences (lines) counted.
    pub sentences: u64,
    memory: u64,
    temp_dir: PathBuf,
    source: AnySource,
}

impl FullCounts {
    /// The model order N.
    pub fn order(&self) -> usize {
        dispatch_source!(&self.source, s => s.order())
    }

    /// The number of sorted runs the stream is merged from (0 when it never left memory).
    pub fn runs(&self) -> usize {
        dispatch_source!(&self.source, s => s.runs())
    }

    /// The memory budget counting was given ([`CountConfig::memory`]); estimation keeps to it too.
    pub fn memory(&self) -> u64 {
        self.memory
    }

    /// Where temporary files go (`CountConfig::temp_dir`, or the system temporary directory).
    pub fn temp_dir(&self) -> &Path {
        &self.temp_dir
    }

    /// At least the number of distinct order-N n-grams (exact when the counts never left memory; the sum of the
    /// runs' entries otherwise, which counts an n-gram once per run it occurs in).
    pub fn entries_upper_bound(&self) -> u64 {
        dispatch_source!(&self.source, s => s.entries_upper_bound())
    }

    /// Moves sorted counts held in memory to a temporary file when they take more than `bytes`, freeing the
    /// memory; later passes read them back from disk.
    pub fn spill_if_larger_than(&mut self, bytes: usize) -> Result<()> {
        dispatch_source!(&mut self.source, s => s.spill_if_larger_than(bytes))
    }

    /// Calls `f(reversed_key, count)` for every distinct order-N n-gram in suffix order. `reversed_key[0]` is the
    /// last word. Counts are never 0.
    pub fn for_each(&self, mut f: impl FnMut(&[u32], u64) -> Result<()>) -> Result<()> {
        dispatch_source!(&self.source, s => s.for_each(&mut f))
    }
}

#[derive(Debug)]
enum AnyTable {
    O1(Table<1>),
    O2(Table<2>),
    O3(Table<3>),
    O4(Table<4>),
    O5(Table<5>),
    O6(Table<6>),
}

#[derive(Debug)]
enum AnySource {
    O1(Source<1>),
    O2(Source<2>),
    O3(Source<3>),
    O4(Source<4>),
    O5(Source<5>),
    O6(Source<6>),
}

trait IntoAny: Sized {
    fn into_any(self) -> AnySource;
}

macro_rules! into_any {
    ($($n:literal => $v:ident),*) => {
        $(impl IntoAny for Source<$n> {
            fn into_any(self) -> AnySource {
                AnySource::$v(self)
            }
        })*
    };
}
into_any!(1 => O1, 2 => O2, 3 => O3, 4 => O4, 5 => O5, 6 => O6);

#[derive(Clone, Copy, Debug)]
#[repr(C)]
struct Slot<const N: usize> {
    key: [u32; N],
    count: u32,
}

/// The sorted runs spilled so far.
#[derive(Debug)]
struct Spill {
    dir: PathBuf,
    runs: Vec<Run>,
}

/// One sorted run in an anonymous temporary file.
#[derive(Debug)]
struct Run {
    file: File,
    entries: u64,
}

const SPILL_BUFFER: usize = 1 << 20;
const INITIAL_CAPACITY: usize = 1 << 12;

/// The n-grams counted since the last spill: appended in text order, sorted and combined when the buffer is
/// full, spilled as a run when combining does not free enough room.
#[derive(Debug)]
struct Table<const N: usize> {
    slots: Vec<Slot<N>>,
    /// The most entries the budget allows (address space reserved).
    max_capacity: usize,
    /// The most entries now: the budget less what the vocabulary takes (at most `max_capacity`).
    limit: usize,
    spill: Spill,
}

impl<const N: usize> Table<N>
where
    Source<N>: IntoAny,
{
    fn new(memory: u64, spill: Spill) -> Result<Self> {
        let slot = std::mem::size_of::<Slot<N>>() as u64;
        let max_capacity = usize::try_from(memory / slot)
            .unwrap_or(usize::MAX)
            .max(INITIAL_CAPACITY);
        // Reserving address space touches no memory: pages are only used as entries arrive.
        let mut slots = Vec::new();
        slots.try_reserve_exact(max_capacity).map_err(|_| {
            Error::InvalidOption(format!(
                "cannot reserve a counting buffer of {memory} bytes: lower the memory budget"
            ))
        })?;
        Ok(Table {
            slots,
            max_capacity,
            limit: max_capacity,
            spill,
        })
    }

    /// Entries that fit in `bytes`.
    fn slots_for(&self, bytes: u64) -> usize {
        let slot = std::mem::size_of::<Slot<N>>() as u64;
        usize::try_from(bytes / slot).unwrap_or(usize::MAX)
    }

    fn set_limit(&mut self, slots: usize) {
        self.limit = slots.clamp(16.min(self.max_capacity), self.max_capacity);
    }

    fn add_sentence(&mut self, ids: &[u32]) -> Result<()> {
        let mut key = [BOS; N];
        for &w in ids.iter().chain(std::iter::once(&EOS)) {
            key.copy_within(0..N - 1, 1);
            key[0] = w;
            self.insert(&key, 1)?;
        }
        Ok(())
    }

    fn add_reversed(&mut self, key: &[u32], mut count: u64) -> Result<()> {
        let key: [u32; N] = key.try_into().map_err(|_| {
            Error::InvalidOption(format!(
                "an n-gram of {} words given to an order-{N} counter",
                key.len()
            ))
        })?;
        while count > 0 {
            let step = count.min(u64::from(u32::MAX));
            self.insert(&key, step as u32)?;
            count -= step;
        }
        Ok(())
    }

    #[inline]
    fn insert(&mut self, key: &[u32; N], add: u32) -> Result<()> {
        if self.slots.len() >= self.limit {
            self.make_room()?;
        }
        self.slots.push(Slot { key: *key, count: add });
        Ok(())
    }

    /// Sorts and combines; spills when that leaves the buffer more than half full.
    fn make_room(&mut self) -> Result<()> {
        self.sort_combine();
        if self.slots.len() * 2 > self.limit {
            self.spill_run()?;
        }
        Ok(())
    }

    /// Sorts the entries in suffix order and adds up the counts of equal n-grams (as long as they fit 32 bits;
    /// readers add up whatever equal neighbours remain).
    fn sort_combine(&mut self) {
        let slots = &mut self.slots;
        slots.par_sort_unstable_by(|a, b| a.key.cmp(&b.key));
        let mut w = 0;
        for r in 1..slots.len() {
            let next = slots[r];
            let cur = &mut slots[w];
            if cur.key == next.key
                && let Some(c) = cur.count.checked_add(next.count)
            {
                cur.count = c;
                continue;
            }
            w += 1;
            slots[w] = next;
        }
        slots.truncate((w + 1).min(slots.len()));
    }

    fn spill_run(&mut self) -> Result<()> {
        let run = write_run::<N>(&self.spill.dir, &self.slots)?;
        self.spill.runs.push(run);
        self.slots.clear();
        Ok(())
    }

    fn finish(mut self) -> Result<AnySource> {
        self.sort_combine();
        if self.spill.runs.is_empty() {
            let Spill { dir, .. } = self.spill;
            return Ok(Source::<N>::Memory { slots: self.slots, dir }.into_any());
        }
        if !self.slots.is_empty() {
            self.spill_run()?;
        }
        let Spill { dir, runs } = self.spill;
        Ok(Source::<N>::Runs { dir, runs }.into_any())
    }
}

#[derive(Debug)]
enum Source<const N: usize> {
    Memory { slots: Vec<Slot<N>>, dir: PathBuf },
    Runs { dir: PathBuf, runs: Vec<Run> },
}

impl<const N: usize> Source<N> {
    fn order(&self) -> usize {
        N
    }

    fn runs(&self) -> usize {
        match self {
            Source::Memory { .. } => 0,
            Source::Runs { runs, .. } => runs.len(),
        }
    }

    fn entries_upper_bound(&self) -> u64 {
        match self {
            Source::Memory { slots, .. } => slots.len() as u64,
            Source::Runs { runs, .. } => runs.iter().map(|r| r.entries).sum(),
        }
    }

    fn spill_if_larger_than(&mut self, bytes: usize) -> Result<()> {
        let Source::Memory { slots, dir } = self else {
            return Ok(());
        };
        if std::mem::size_of_val(slots.as_slice()) <= bytes {
            return Ok(());
        }
        let run = write_run::<N>(dir, slots)?;
        *self = Source::Runs {
            dir: dir.clone(),
            runs: vec![run],
        };
        Ok(())
    }

    fn for_each(&self, f: &mut dyn FnMut(&[u32], u64) -> Result<()>) -> Result<()> {
        match self {
            Source::Memory { slots, .. } => {
                let mut i = 0;
                while i < slots.len() {
                    let key = &slots[i].key;
                    let mut count = u64::from(slots[i].count);
                    i += 1;
                    while i < slots.len() && slots[i].key == *key {
                        count += u64::from(slots[i].count);
                        i += 1;
                    }
                    f(key, count)?;
                }
                Ok(())
            }
            Source::Runs { dir, runs } => merge_runs::<N>(dir, runs, f),
        }
    }
}

/// Writes sorted entries as a run in an anonymous temporary file in `dir`.
fn write_run<const N: usize>(dir: &Path, slots: &[Slot<N>]) -> Result<Run> {
    let file = tempfile::tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
    let mut writer = BufWriter::with_capacity(SPILL_BUFFER, file);
    let mut encoder = RunEncoder::<N>::default();
    for slot in slots {
        encoder
            .write(&mut writer, &slot.key, u64::from(slot.count))
            .map_err(|e| Error::io(dir, e))?;
    }
    let mut file = writer.into_inner().map_err(|e| Error::io(dir, e.into_error()))?;
    file.flush().map_err(|e| Error::io(dir, e))?;
    Ok(Run {
        file,
        entries: slots.len() as u64,
    })
}

fn merge_runs<const N: usize>(dir: &Path, runs: &[Run], f: &mut dyn FnMut(&[u32], u64) -> Result<()>) -> Result<()> {
    let io_err = |e: io::Error| Error::io(dir, e);
    let mut readers = Vec::with_capacity(runs.len());
    for run in runs {
        let mut file = run.file.try_clone().map_err(io_err)?;
        file.seek(SeekFrom::Start(0)).map_err(io_err)?;
        readers.push(RunDecoder::<N>::new(file, run.entries));
    }
    let mut heap = BinaryHeap::with_capacity(readers.len());
    for (i, reader) in readers.iter_mut().enumerate() {
        if let Some((key, count)) = reader.next().map_err(io_err)? {
            heap.push(Reverse((key, i, count)));
        }
    }
    let mut current: Option<([u32; N], u64)> = None;
    while let Some(Reverse((key, i, count))) = heap.pop() {
        if let Some(next) = readers[i].next().map_err(io_err)? {
            heap.push(Reverse((next.0, i, next.1)));
        }
        match &mut current {
            Some((k, c)) if *k == key => *c += count,
            _ => {
                if let Some((k, c)) = current.take() {
                    f(&k, c)?;
                }
                current = Some((key, count));
            }
        }
    }
    if let Some((k, c)) = current {
        f(&k, c)?;
    }
    Ok(())
}

/// Writes entries of a sorted run: one byte with the number of leading key words shared with the previous entry,
/// the other words as LEB128 varints, then the count as a varint.
#[derive(Debug)]
struct RunEncoder<const N: usize> {
    previous: [u32; N],
    first: bool,
}

impl<const N: usize> Default for RunEncoder<N> {
    fn default() -> Self {
        RunEncoder {
            previous: [0; N],
            first: true,
        }
    }
}

impl<const N: usize> RunEncoder<N> {
    fn write(&mut self, out: &mut impl Write, key: &[u32; N], count: u64) -> io::Result<()> {
        let shared = if self.first {
            0
        } else {
            key.iter().zip(&self.previous).take_while(|(a, b)| a == b).count()
        };
        self.first = false;
        let mut buf = [0u8; 1 + 5 * MAX_ORDER + 10];
        buf[0] = shared as u8;
        let mut len = 1;
        for &w in &key[shared..] {
            len += put_varint(&mut buf[len..], u64::from(w));
        }
        len += put_varint(&mut buf[len..], count);
        self.previous = *key;
        out.write_all(&buf[..len])
    }
}

fn put_varint(buf: &mut [u8], mut v: u64) -> usize {
    let mut i = 0;
    while v >= 0x80 {
        buf[i] = (v as u8) | 0x80;
        v >>= 7;
        i += 1;
    }
    buf[i] = v as u8;
    i + 1
}

#[derive(Debug)]
struct RunDecoder<const N: usize> {
    reader: BufReader<File>,
    left: u64,
    key: [u32; N],
}

impl<const N: usize> RunDecoder<N> {
    fn new(file: File, entries: u64) -> Self {
        RunDecoder {
            reader: BufReader::with_capacity(SPILL_BUFFER, file),
            left: entries,
            key: [0; N],
        }
    }

    fn byte(&mut self) -> io::Result<u8> {
        let mut b = [0u8; 1];
        self.reader.read_exact(&mut b)?;
        Ok(b[0])
    }

    fn varint(&mut self) -> io::Result<u64> {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
            shift += 7;
            if shift > 63 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "corrupt varint in a count run",
                ));
            }
        }
    }

    fn next(&mut self) -> io::Result<Option<([u32; N], u64)>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let shared = usize::from(self.byte()?);
        if shared > N {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "corrupt count run"));
        }
        for i in shared..N {
            self.key[i] = u32::try_from(self.varint()?)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "corrupt word id in a count run"))?;
        }
        let count = self.varint()?;
        Ok(Some((self.key, count)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(lines: &[&str], order: usize, memory: u64) -> (Vec<(Vec<u32>, u64)>, usize, Vocab) {
        let mut config = CountConfig::new(order);
        config.memory = memory;
        let mut counter = Counter::new(config).unwrap();
        for (i, line) in lines.iter().enumerate() {
            counter
                .add_sentence(whitespace_tokens(line), Path::new("t"), i as u64 + 1)
                .unwrap();
        }
        let counts = counter.finish().unwrap();
        let mut out = Vec::new();
        counts
            .for_each(|k, c| {
                out.push((k.to_vec(), c));
                Ok(())
            })
            .unwrap();
        (out, counts.runs(), counts.vocab)
    }

    #[test]
    fn kenlm_whitespace() {
        let got: Vec<&str> = whitespace_tokens(" a\tb  c\u{a0}d\x0be \r").collect();
        assert_eq!(got, ["a", "b", "c\u{a0}d\x0be"]);
    }

    #[test]
    fn pads_with_bos_and_sorts_in_suffix_order() {
        let (got, runs, vocab) = count(&["a b", "b"], 3, 1 << 20);
        assert_eq!(runs, 0);
        let (a, b) = (vocab.get("a").unwrap(), vocab.get("b").unwrap());
        // reversed keys: last word first
        let want = vec![
            (vec![EOS, b, BOS], 1), // <s> b </s>
            (vec![EOS, b, a], 1),   // a b </s>
            (vec![a, BOS, BOS], 1), // <s> <s> a
            (vec![b, BOS, BOS], 1), // <s> <s> b
            (vec![b, a, BOS], 1),   // <s> a b
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn spilling_gives_the_same_stream() {
        let text: Vec<String> = (0..3000)
            .map(|i| format!("w{} w{} w{} x w{}", i % 7, i % 13, i % 29, i % 101))
            .collect();
        let lines: Vec<&str> = text.iter().map(|s| s.as_str()).collect();
        let (big, runs_big, _) = count(&lines, 4, 1 << 30);
        let (small, runs_small, _) = count(&lines, 4, MIN_MEMORY);
        assert_eq!(runs_big, 0);
        assert!(runs_small == 0 || small == big);
        // Force spills with a table that holds few entries.
        let mut config = CountConfig::new(4);
        config.memory = MIN_MEMORY;
        let mut counter = Counter::new(config).unwrap();
        counter.limit_table(64);
        for line in &lines {
            counter
                .add_sentence(whitespace_tokens(line), Path::new("t"), 1)
                .unwrap();
        }
        let counts = counter.finish().unwrap();
        assert!(counts.runs() > 10, "{} runs", counts.runs());
        let mut tiny = Vec::new();
        counts
            .for_each(|k, c| {
                tiny.push((k.to_vec(), c));
                Ok(())
            })
            .unwrap();
        assert_eq!(tiny, big);
    }

    #[test]
    fn spilling_the_finished_counts_keeps_the_stream() {
        let mut counter = Counter::new(CountConfig::new(3)).unwrap();
        for line in ["a b c", "b c d", "a b c"] {
            counter
                .add_sentence(whitespace_tokens(line), Path::new("t"), 1)
                .unwrap();
        }
        let mut counts = counter.finish().unwrap();
        let collect = |c: &FullCounts| {
            let mut v = Vec::new();
            c.for_each(|k, n| {
                v.push((k.to_vec(), n));
                Ok(())
            })
            .unwrap();
            v
        };
        let before = collect(&counts);
        counts.spill_if_larger_than(1 << 20).unwrap();
        assert_eq!(counts.runs(), 0);
        counts.spill_if_larger_than(0).unwrap();
        assert_eq!(counts.runs(), 1);
        assert_eq!(collect(&counts), before);
        assert_eq!(collect(&counts), before, "replayable");
    }

    #[test]
    fn refuses_special_words() {
        let mut counter = Counter::new(CountConfig::new(3)).unwrap();
        let err = counter
            .add_sentence(whitespace_tokens("a <unk> b"), Path::new("corpus.txt"), 7)
            .unwrap_err()
            .to_string();
        assert!(err.contains("corpus.txt:7"), "{err}");
        assert!(err.contains("<unk>"), "{err}");
    }

    #[test]
    fn line_batches_give_back_their_lines() {
        let mut batch = LineBatch::default();
        for line in ["a b", "", "c", "ü d"] {
            batch.push(line);
        }
        assert_eq!(batch.lines().collect::<Vec<_>>(), ["a b", "", "c", "ü d"]);
        batch.clear();
        assert_eq!(batch.lines().count(), 0);
        batch.push(&"x".repeat(3 * BATCH_BYTES));
        batch.clear();
        assert!(batch.text.capacity() <= 2 * BATCH_BYTES, "a very long line is not kept");
    }

    #[test]
    fn the_vocabulary_counts_against_the_budget() {
        let mut config = CountConfig::new(3);
        config.memory = 64 << 20;
        let mut counter = Counter::new(config).unwrap();
        let specials: u64 = crate::vocab::SPECIALS.iter().map(|w| w.len() as u64).sum();
        assert_eq!(
            counter.table_budget(),
            (64 << 20) - FIXED_OVERHEAD - vocab_bytes(3, specials)
        );
        counter.reserve(1 << 20);
        assert_eq!(
            counter.table_budget(),
            (64 << 20) - FIXED_OVERHEAD - (1 << 20) - vocab_bytes(3, specials)
        );
        let words: Vec<String> = (0..20_000).map(|i| format!("w{i:06}")).collect();
        for chunk in words.chunks(10) {
            counter
                .add_sentence(chunk.iter().map(String::as_str), Path::new("t"), 1)
                .unwrap();
        }
        let vocab = vocab_bytes(20_003, specials + 7 * 20_000);
        assert_eq!(vocab, vocab_heap_bytes(counter.vocab()));
        assert!(vocab > 20_000 * 64, "{vocab} bytes for 20,000 words is too little");
        // The table shrinks by what the vocabulary takes, down to a quarter of the budget.
        assert_eq!(
            counter.table_budget(),
            ((64 << 20) - FIXED_OVERHEAD - (1 << 20) - vocab).max(16 << 20)
        );
        counter.reserve(1 << 30);
        assert_eq!(counter.table_budget(), 16 << 20);
    }

    #[test]
    fn bad_options() {
        assert!(CountConfig::new(0).validate().is_err());
        assert!(CountConfig::new(7).validate().is_err());
        let mut c = CountConfig::new(3);
        c.memory = 10;
        assert!(c.validate().is_err());
    }
}
