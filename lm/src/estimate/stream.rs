//! Estimation streamed through disk, for corpora whose n-gram trie does not fit the memory budget.
//!
//! The same numbers as the in-memory path (the trie of `trie.rs` and `mkn`/`stupid` in the parent module), computed
//! as a sequence of streaming passes over sorted temporary files, the way `lmplz` does it:
//!
//! 1. **Adjust**: one pass over the sorted order-N counts gives every order's n-grams in suffix order with their
//!    adjusted counts (raw counts for Stupid Backoff) and pruning marks, written to one file per order, plus the
//!    counts of counts (hence the discounts). Unigrams stay in memory (one entry per word).
//! 2. For each order k = 2..=N:
//!    - **Context sort**: the order-k file is sorted into *context order* (the context w1…wk−1 in suffix order,
//!      then wk), an external sort within the budget.
//!    - **Context pass**: each context's n-grams are now adjacent: their denominator, discount classes and pruned
//!      mass give the context's backoff γ, and each n-gram its uninterpolated probability; the backoffs of
//!      order k−1 come out in suffix order, into a file.
//!    - **Suffix sort**: back to suffix order (a second external sort).
//!    - **Interpolation pass**: order k in suffix order walks order k−1's final probabilities in step (the suffix
//!      of an n-gram is its parent in that order): p = u + γ·p(suffix). Meanwhile order k−1 is written to the ARPA
//!      file with its backoffs.
//!
//! Memory: two sort buffers (one is being read while the other is filled) take the budget, minus the vocabulary
//! ([`crate::count::vocab_bytes`]) and [`RESERVE`] for the unigram arrays, the ARPA formatting (batches in flight,
//! the words laid out, float caches) and I/O buffers; no more than the largest order needs. They are allocated
//! once and lent to every order in turn ([`SortPool`]), so their pages are faulted in once. Temporary files are
//! unnamed, so they vanish when dropped or when the process dies.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::format::{LineBuffer, WordArena, with_cache};
use super::trie::too_big;
use super::{Discount, EstimateConfig, Smoothing, discounts_from, gamma, mkn_unigrams, stupid_unigrams};
use crate::count::{FullCounts, MAX_ORDER};
use crate::vocab::{BOS, Vocab};
use crate::{Error, Result};

/// Memory set aside from the budget for everything but the sort buffers.
pub(crate) const RESERVE: u64 = 24 << 20;

/// Read and write buffer of one temporary file.
const IO_BUFFER: usize = 1 << 17;

/// The most sorted runs of one sort: reaching it merges them into one.
const MAX_RUNS: usize = 64;

fn io_err(dir: &Path) -> impl Fn(io::Error) -> Error + '_ {
    move |e| Error::io(dir, e)
}

/// A sequence of sorted entries `(reversed key of k words, value)` in an unnamed temporary file; keys are coded
/// by the number of leading words shared with the previous key, the other words and the value as varints.
#[derive(Debug)]
struct KeyFile {
    file: File,
    entries: u64,
    k: usize,
}

#[derive(Debug)]
struct KeyWriter {
    out: BufWriter<File>,
    prev: [u32; MAX_ORDER],
    entries: u64,
    k: usize,
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

impl KeyWriter {
    fn new(dir: &Path, k: usize) -> Result<Self> {
        let file = tempfile::tempfile_in(dir).map_err(io_err(dir))?;
        Ok(KeyWriter {
            out: BufWriter::with_capacity(IO_BUFFER, file),
            prev: [u32::MAX; MAX_ORDER],
            entries: 0,
            k,
        })
    }

    #[inline]
    fn write(&mut self, key: &[u32], value: u64) -> io::Result<()> {
        let k = self.k;
        let shared = key[..k].iter().zip(&self.prev[..k]).take_while(|(a, b)| a == b).count();
        let mut buf = [0u8; 1 + 5 * MAX_ORDER + 10];
        buf[0] = shared as u8;
        let mut len = 1;
        for &w in &key[shared..k] {
            len += put_varint(&mut buf[len..], u64::from(w));
        }
        len += put_varint(&mut buf[len..], value);
        self.prev[..k].copy_from_slice(&key[..k]);
        self.entries += 1;
        self.out.write_all(&buf[..len])
    }

    fn finish(self, dir: &Path) -> Result<KeyFile> {
        let mut file = self.out.into_inner().map_err(|e| Error::io(dir, e.into_error()))?;
        file.flush().map_err(io_err(dir))?;
        file.seek(SeekFrom::Start(0)).map_err(io_err(dir))?;
        Ok(KeyFile {
            file,
            entries: self.entries,
            k: self.k,
        })
    }
}

/// Reads a [`KeyFile`] once, front to back.
#[derive(Debug)]
struct KeyReader {
    file: File,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    left: u64,
    key: [u32; MAX_ORDER],
    k: usize,
}

fn corrupt(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("corrupt temporary file ({what})"))
}

/// The longest coded entry: the shared-prefix byte, MAX_ORDER word varints and a value varint.
const MAX_ENTRY: usize = 1 + 5 * MAX_ORDER + 10;

/// Decodes a varint at `buf[*i..]`.
#[inline]
fn varint_at(buf: &[u8], i: &mut usize) -> io::Result<u64> {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = *buf.get(*i).ok_or_else(|| corrupt("truncated"))?;
        *i += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Ok(v);
        }
        shift += 7;
        if shift > 63 {
            return Err(corrupt("varint"));
        }
    }
}

impl KeyReader {
    fn new(file: KeyFile) -> Self {
        KeyReader {
            file: file.file,
            buf: vec![0u8; IO_BUFFER].into_boxed_slice(),
            pos: 0,
            end: 0,
            left: file.entries,
            key: [0; MAX_ORDER],
            k: file.k,
        }
    }

    /// Moves the unread bytes to the front and reads more.
    fn refill(&mut self) -> io::Result<()> {
        self.buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.pos = 0;
        while self.end < self.buf.len() {
            let read = self.file.read(&mut self.buf[self.end..])?;
            if read == 0 {
                break;
            }
            self.end += read;
        }
        Ok(())
    }

    /// The next entry: the key is in `self.key[..k]`.
    #[inline]
    fn next(&mut self) -> io::Result<Option<u64>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        if self.end - self.pos < MAX_ENTRY {
            self.refill()?;
        }
        let buf = &self.buf[self.pos..self.end];
        let shared = usize::from(*buf.first().ok_or_else(|| corrupt("truncated"))?);
        if shared > self.k {
            return Err(corrupt("shared prefix"));
        }
        let mut i = 1;
        for w in &mut self.key[shared..self.k] {
            *w = u32::try_from(varint_at(buf, &mut i)?).map_err(|_| corrupt("word id"))?;
        }
        let value = varint_at(buf, &mut i)?;
        self.pos += i;
        Ok(Some(value))
    }
}

/// A record of an external sort: a key of K words and two 32-bit values.
#[derive(Debug, Clone, Copy)]
struct Rec<const K: usize> {
    key: [u32; K],
    a: u32,
    b: u32,
}

impl<const K: usize> Rec<K> {
    const BYTES: usize = 4 * K + 8;

    /// The key as two integers that compare like the key (two comparisons instead of up to K).
    #[inline]
    fn packed(&self) -> (u128, u64) {
        let mut hi = 0u128;
        let mut lo = 0u64;
        for (i, &w) in self.key.iter().enumerate() {
            if i < 4 {
                hi |= u128::from(w) << (96 - 32 * i);
            } else {
                lo |= u64::from(w) << (32 - 32 * (i - 4));
            }
        }
        (hi, lo)
    }

    fn encode(&self, out: &mut [u8]) {
        for (i, w) in self.key.iter().chain([&self.a, &self.b]).enumerate() {
            out[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
    }

    fn decode(buf: &[u8]) -> Self {
        let word = |i: usize| u32::from_le_bytes([buf[4 * i], buf[4 * i + 1], buf[4 * i + 2], buf[4 * i + 3]]);
        let mut key = [0u32; K];
        for (i, w) in key.iter_mut().enumerate() {
            *w = word(i);
        }
        Rec {
            key,
            a: word(K),
            b: word(K + 1),
        }
    }
}

/// A record of K words and two values as it lies in a sort buffer: `W = K + 2` words.
type Slot<const W: usize> = [u32; W];

impl<const K: usize> Rec<K> {
    #[inline]
    fn to_slot<const W: usize>(self) -> Slot<W> {
        let mut slot = [0u32; W];
        slot[..K].copy_from_slice(&self.key);
        slot[K] = self.a;
        slot[K + 1] = self.b;
        slot
    }

    #[inline]
    fn from_slot<const W: usize>(slot: &Slot<W>) -> Self {
        let mut key = [0u32; K];
        key.copy_from_slice(&slot[..K]);
        Rec {
            key,
            a: slot[K],
            b: slot[K + 1],
        }
    }

    /// [`Rec::packed`] of a record in a sort buffer.
    #[inline]
    fn packed_slot<const W: usize>(slot: &Slot<W>) -> (u128, u64) {
        Self::from_slot(slot).packed()
    }
}

/// The two sort buffers of the streamed passes, allocated once and lent to every order's sorts in turn (each
/// order's records are `[u32; K + 2]`), so that their pages are faulted in once, not once per order and sort.
struct SortPool {
    words: Vec<u32>,
}

impl SortPool {
    /// Two buffers of `bytes` each, but no larger than the biggest order needs (`largest`, in bytes).
    fn new(bytes: u64, largest: u64) -> Result<Self> {
        let half = (bytes.min(largest) / 4).max(16 * (MAX_ORDER as u64 + 2));
        let words = usize::try_from(2 * half).map_err(|_| too_big("the sort buffers"))?;
        // Fail with a clear message if the address space is not there; the zeroed allocation below is then
        // made of untouched pages, faulted in only as records arrive (and kept for the next order).
        let mut probe: Vec<u32> = Vec::new();
        probe.try_reserve_exact(words).map_err(|_| {
            Error::InvalidOption(format!(
                "cannot reserve sort buffers of {} bytes: lower the memory budget",
                4 * words
            ))
        })?;
        drop(probe);
        Ok(SortPool {
            words: vec![0u32; words],
        })
    }

    /// The two buffers.
    fn halves(&mut self) -> (&mut [u32], &mut [u32]) {
        let half = self.words.len() / 2;
        self.words.split_at_mut(half)
    }
}

/// Sorts records by key within a buffer: sorted runs of the buffer go to unnamed temporary files, merged k-way
/// when read. Keys are distinct. `W` must be `K + 2`.
#[derive(Debug)]
struct Sorter<'p, const K: usize, const W: usize> {
    buf: &'p mut [Slot<W>],
    len: usize,
    runs: Vec<(File, u64)>,
    dir: PathBuf,
}

impl<'p, const K: usize, const W: usize> Sorter<'p, K, W> {
    fn new(dir: &Path, words: &'p mut [u32]) -> Self {
        Self::with_slots(dir, words.as_chunks_mut::<W>().0)
    }

    fn with_slots(dir: &Path, buf: &'p mut [Slot<W>]) -> Self {
        const { assert!(W == K + 2) };
        Sorter {
            buf,
            len: 0,
            runs: Vec::new(),
            dir: dir.to_path_buf(),
        }
    }

    #[inline]
    fn push(&mut self, rec: Rec<K>) -> Result<()> {
        if self.len == self.buf.len() {
            self.spill()?;
        }
        self.buf[self.len] = rec.to_slot();
        self.len += 1;
        Ok(())
    }

    fn sort(&mut self) {
        self.buf[..self.len].par_sort_unstable_by_key(Rec::<K>::packed_slot);
    }

    fn spill(&mut self) -> Result<()> {
        self.sort();
        let dir = &self.dir;
        let file = tempfile::tempfile_in(dir).map_err(io_err(dir))?;
        let mut out = BufWriter::with_capacity(IO_BUFFER, file);
        let mut bytes = [0u8; 4 * MAX_ORDER + 8];
        for slot in &self.buf[..self.len] {
            Rec::<K>::from_slot(slot).encode(&mut bytes);
            out.write_all(&bytes[..Rec::<K>::BYTES]).map_err(io_err(dir))?;
        }
        let mut file = out.into_inner().map_err(|e| Error::io(dir, e.into_error()))?;
        file.seek(SeekFrom::Start(0)).map_err(io_err(dir))?;
        self.runs.push((file, self.len as u64));
        self.len = 0;
        if self.runs.len() == MAX_RUNS {
            self.merge_runs()?;
        }
        Ok(())
    }

    /// Merges the runs so far into one, so that open files and read buffers stay bounded.
    fn merge_runs(&mut self) -> Result<()> {
        let runs = std::mem::take(&mut self.runs);
        let entries = runs.iter().map(|r| r.1).sum();
        let mut merge = Merge::<K>::open(runs, self.dir.clone())?;
        let dir = &self.dir;
        let file = tempfile::tempfile_in(dir).map_err(io_err(dir))?;
        let mut out = BufWriter::with_capacity(IO_BUFFER, file);
        let mut bytes = [0u8; 4 * MAX_ORDER + 8];
        while let Some(r) = merge.next()? {
            r.encode(&mut bytes);
            out.write_all(&bytes[..Rec::<K>::BYTES]).map_err(io_err(dir))?;
        }
        let mut file = out.into_inner().map_err(|e| Error::io(dir, e.into_error()))?;
        file.seek(SeekFrom::Start(0)).map_err(io_err(dir))?;
        self.runs.push((file, entries));
        Ok(())
    }

    /// Sorts what is left and returns the sorted sequence (read from the buffer when nothing was spilled).
    fn finish(self) -> Result<Sorted<'p, K, W>> {
        Ok(self.finish_keeping_buffer()?.0)
    }

    /// [`Sorter::finish`], also handing back the buffer when everything went to disk, for the next sort of the
    /// same order: its pages are in memory already, and the other buffer's need not be.
    #[allow(clippy::type_complexity)]
    fn finish_keeping_buffer(mut self) -> Result<(Sorted<'p, K, W>, Option<&'p mut [Slot<W>]>)> {
        if self.runs.is_empty() {
            self.sort();
            let Sorter { buf, len, .. } = self;
            return Ok((
                Sorted::Memory {
                    buf: &buf[..len],
                    next: 0,
                },
                None,
            ));
        }
        if self.len > 0 {
            self.spill()?;
        }
        let Sorter { buf, runs, dir, .. } = self;
        Ok((Sorted::Runs(Merge::open(runs, dir)?), Some(buf)))
    }
}

#[derive(Debug)]
struct Merge<const K: usize> {
    readers: Vec<(BufReader<File>, u64)>,
    heads: Vec<Rec<K>>,
    heap: BinaryHeap<Reverse<([u32; K], usize)>>,
    dir: PathBuf,
}

impl<const K: usize> Merge<K> {
    fn open(runs: Vec<(File, u64)>, dir: PathBuf) -> Result<Self> {
        let readers = runs
            .into_iter()
            .map(|(file, entries)| (BufReader::with_capacity(IO_BUFFER, file), entries))
            .collect();
        let mut merge = Merge {
            readers,
            heads: Vec::new(),
            heap: BinaryHeap::new(),
            dir,
        };
        for i in 0..merge.readers.len() {
            let head = merge.read(i)?;
            merge.heads.push(head.unwrap_or(Rec {
                key: [0; K],
                a: 0,
                b: 0,
            }));
            if let Some(r) = head {
                merge.heap.push(Reverse((r.key, i)));
            }
        }
        Ok(merge)
    }

    #[inline]
    fn next(&mut self) -> Result<Option<Rec<K>>> {
        let Some(Reverse((_, i))) = self.heap.pop() else {
            return Ok(None);
        };
        let rec = self.heads[i];
        if let Some(r) = self.read(i)? {
            self.heads[i] = r;
            self.heap.push(Reverse((r.key, i)));
        }
        Ok(Some(rec))
    }

    fn read(&mut self, i: usize) -> Result<Option<Rec<K>>> {
        let (reader, left) = &mut self.readers[i];
        if *left == 0 {
            return Ok(None);
        }
        *left -= 1;
        let mut bytes = [0u8; 4 * MAX_ORDER + 8];
        reader
            .read_exact(&mut bytes[..Rec::<K>::BYTES])
            .map_err(io_err(&self.dir))?;
        Ok(Some(Rec::decode(&bytes)))
    }
}

/// The output of a [`Sorter`], read once in key order.
#[derive(Debug)]
enum Sorted<'p, const K: usize, const W: usize> {
    Memory { buf: &'p [Slot<W>], next: usize },
    Runs(Merge<K>),
}

impl<const K: usize, const W: usize> Sorted<'_, K, W> {
    #[inline]
    fn next(&mut self) -> Result<Option<Rec<K>>> {
        match self {
            Sorted::Memory { buf, next } => {
                let r = buf.get(*next).map(Rec::from_slot);
                *next += 1;
                Ok(r)
            }
            Sorted::Runs(m) => m.next(),
        }
    }
}

/// What the adjust pass hands on.
struct Adjusted {
    /// Unigram counts by word id: adjusted (raw for Stupid Backoff).
    unigrams: Vec<u32>,
    /// Orders 2..=N (index k − 2): entries in suffix order, value `count << 1 | kept`.
    levels: Vec<KeyFile>,
    /// Kept n-grams per order.
    kept: Vec<u64>,
    counts_of_counts: Vec<[u64; 5]>,
}

/// One open n-gram of the adjust pass.
#[derive(Clone, Copy, Default)]
struct Open {
    count: u64,
    raw: u64,
}

/// Pass 1: the n-grams of every order with their counts, from the sorted order-N counts. Follows `Trie::build`
/// step for step.
#[allow(clippy::needless_range_loop)]
fn adjust(counts: &FullCounts, raw_only: bool, thresholds: &[u64], dir: &Path) -> Result<Adjusted> {
    let n = counts.order();
    let vocab_len = counts.vocab.len();
    let mut unigrams: Vec<u32> = vec![0, 0]; // <unk> and <s>
    let mut writers: Vec<KeyWriter> = (2..=n).map(|k| KeyWriter::new(dir, k)).collect::<Result<_>>()?;
    let mut kept = vec![0u64; n];
    let mut coc = vec![[0u64; 5]; n];
    let mut open = [Open::default(); MAX_ORDER + 1];
    let mut prev = [0u32; MAX_ORDER];
    let mut first = true;
    let mut last_top = 0usize;
    let thresholds = thresholds.to_vec();

    // Emits the finished n-gram of order k (its key: prev[..k]); `quirk`: counts of counts take the raw count.
    let emit = |writers: &mut [KeyWriter],
                unigrams: &mut Vec<u32>,
                kept: &mut [u64],
                coc: &mut [[u64; 5]],
                key: &[u32],
                k: usize,
                o: Open,
                quirk: bool|
     -> Result<()> {
        let count = u32::try_from(o.count).map_err(|_| too_big("a count"))?;
        if k == 1 {
            let id = key[0] as usize;
            if id != unigrams.len() {
                return Err(Error::InvalidOption(format!(
                    "vocabulary word {} never occurs in the counts (word id {id} follows {})",
                    counts.vocab.word(unigrams.len().min(vocab_len - 1) as u32),
                    unigrams.len()
                )));
            }
            unigrams.push(count);
            return Ok(());
        }
        let c = if quirk { o.raw } else { u64::from(count) };
        if c < 5 {
            coc[k - 1][c as usize] += 1;
        }
        let t = thresholds[k - 1];
        let raw = if raw_only {
            u64::from(count)
        } else {
            o.raw.min(u64::from(u32::MAX))
        };
        let keep = t == 0 || raw > t;
        kept[k - 1] += u64::from(keep);
        writers[k - 2]
            .write(key, u64::from(count) << 1 | u64::from(keep))
            .map_err(io_err(dir))
    };

    counts.for_each(|rev, c| {
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
        // The open n-grams of orders above m are complete.
        if !first {
            for k in m + 1..=last_top {
                emit(
                    &mut writers,
                    &mut unigrams,
                    &mut kept,
                    &mut coc,
                    &prev[..n],
                    k,
                    open[k],
                    false,
                )?;
            }
        }
        first = false;
        for o in open.iter_mut().take(m + 1).skip(1) {
            o.raw = o.raw.saturating_add(c);
            if raw_only {
                o.count += c;
            }
        }
        if m >= 1 && !raw_only {
            open[m].count += 1;
        }
        for (k, o) in open.iter_mut().enumerate().take(top + 1).skip(m + 1) {
            *o = Open {
                count: if raw_only || k == top { c } else { 1 },
                raw: c,
            };
        }
        last_top = top;
        prev[..n].copy_from_slice(rev);
        Ok(())
    })?;
    if !first {
        for k in 1..=last_top {
            let quirk = !raw_only && k < n;
            emit(
                &mut writers,
                &mut unigrams,
                &mut kept,
                &mut coc,
                &prev[..n],
                k,
                open[k],
                quirk,
            )?;
        }
    }
    if unigrams.len() != vocab_len {
        return Err(Error::InvalidOption(format!(
            "{} vocabulary words never occur in the counts",
            vocab_len - unigrams.len()
        )));
    }
    kept[0] = unigrams.len() as u64;
    for &a in &unigrams {
        if a < 5 {
            coc[0][a as usize] += 1;
        }
    }
    // lmplz's quirk for the last unigram: its raw count, not its adjusted count, enters the counts of counts.
    if n > 1 && !raw_only && last_top >= 1 {
        let a = u64::from(unigrams[prev[0] as usize]);
        let raw = open[1].raw;
        if a < 5 {
            coc[0][a as usize] -= 1;
        }
        if raw < 5 {
            coc[0][raw as usize] += 1;
        }
    }
    let levels = writers.into_iter().map(|w| w.finish(dir)).collect::<Result<_>>()?;
    Ok(Adjusted {
        unigrams,
        levels,
        kept,
        counts_of_counts: coc,
    })
}

/// Entries for the ARPA file: keys (reversed, `order` words each) and (probability as stored, log10 backoff).
type EntryBatch = (Vec<u32>, Vec<(f32, f32)>);

/// What the estimating thread sends to the ARPA writing thread.
enum Message {
    /// Starts the section of an order (1-based); whether its lines have a backoff.
    Begin(usize, bool),
    /// Entries of the current order: keys (reversed, `order` words each) and (probability as stored, log10
    /// backoff).
    Batch(Vec<u32>, Vec<(f32, f32)>),
}

/// Hands ARPA entries to a writing thread in batches: that thread formats them in parallel and writes them in
/// order while this one computes the next entries.
struct Output {
    tx: Option<std::sync::mpsc::SyncSender<Message>>,
    /// Batches the writing thread is done with, to reuse.
    back: std::sync::mpsc::Receiver<EntryBatch>,
    keys: Vec<u32>,
    values: Vec<(f32, f32)>,
    order: usize,
    vocab_len: usize,
    /// Batches allocated so far (they circulate between the threads).
    batches: usize,
}

const OUTPUT_BATCH: usize = 1 << 16;

/// Batches in flight between the estimating and the writing thread.
const OUTPUT_QUEUE: usize = 2;

/// The error [`Output`] reports when the writing thread has stopped; that thread's own error replaces it.
fn writer_gone() -> Error {
    Error::InvalidOption("the ARPA writing thread stopped".to_string())
}

impl Output {
    fn send(&mut self, message: Message) -> Result<()> {
        let tx = self.tx.as_ref().ok_or_else(writer_gone)?;
        tx.send(message).map_err(|_| writer_gone())
    }

    fn begin(&mut self, order: usize, backoffs: bool) -> Result<()> {
        self.flush()?;
        self.order = order;
        self.send(Message::Begin(order, backoffs))
    }

    /// Queues one entry; `prob` as stored by the [`Mode`] (the writing thread takes its log when needed).
    #[inline]
    fn push(&mut self, key: &[u32], prob: f32, backoff: f32) -> Result<()> {
        self.keys.extend_from_slice(&key[..self.order]);
        self.values.push((prob, backoff));
        if self.values.len() == OUTPUT_BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.values.is_empty() {
            return Ok(());
        }
        // Reuse a batch the writing thread is done with: fresh buffers would cost page faults every time.
        let (mut keys, mut values) = match self.back.try_recv() {
            Ok(batch) => batch,
            Err(_) if self.batches < OUTPUT_QUEUE + 2 => {
                self.batches += 1;
                (
                    Vec::with_capacity(OUTPUT_BATCH * self.order.max(1)),
                    Vec::with_capacity(OUTPUT_BATCH),
                )
            }
            Err(_) => self.back.recv().map_err(|_| writer_gone())?,
        };
        keys.clear();
        values.clear();
        let keys = std::mem::replace(&mut self.keys, keys);
        let values = std::mem::replace(&mut self.values, values);
        self.send(Message::Batch(keys, values))
    }
}

/// The writing thread: formats each batch in parallel chunks and writes them in order. Returns the writer,
/// complete but not yet renamed into place.
fn write_arpa(
    mut writer: super::ArpaFileWriter,
    vocab: &Vocab,
    mode: Mode,
    rx: std::sync::mpsc::Receiver<Message>,
    back: std::sync::mpsc::Sender<EntryBatch>,
) -> Result<super::ArpaFileWriter> {
    const CHUNK: usize = 1 << 12;
    let arena = WordArena::new(vocab)?;
    let mut order = 0;
    let mut backoffs = false;
    let mut buffers: Vec<LineBuffer> = Vec::new();
    for message in rx {
        match message {
            Message::Begin(k, b) => {
                writer.begin_order(k)?;
                order = k;
                backoffs = b;
            }
            Message::Batch(keys, values) => {
                let chunks = values.len().div_ceil(CHUNK);
                buffers.resize_with(chunks, || LineBuffer::with_capacity(CHUNK * 48));
                let k = order.max(1);
                buffers
                    .par_iter_mut()
                    .zip(keys.par_chunks(CHUNK * k).zip(values.par_chunks(CHUNK)))
                    .for_each(|(buf, (keys, values))| {
                        buf.clear();
                        with_cache(|cache| {
                            for (key, &(p, b)) in keys.chunks_exact(k).zip(values) {
                                let ids = key.iter().rev().copied();
                                buf.line(cache, &arena, mode.output_prob(p), ids, backoffs.then_some(b));
                            }
                        });
                    });
                for buf in &buffers[..chunks] {
                    let text = std::str::from_utf8(buf.text())
                        .map_err(|_| Error::InvalidOption("a word of the vocabulary is not UTF-8".to_string()))?;
                    writer.preformatted(text, buf.lines)?;
                }
                let _ = back.send((keys, values));
            }
        }
    }
    Ok(writer)
}

/// How probabilities are computed and stored.
#[derive(Clone, Copy)]
enum Mode {
    /// Probabilities (not logs) in the files, log10 taken on output.
    Mkn,
    /// log10 scores in the files; `log_alpha` is every context's backoff.
    Stupid { log_alpha: f32 },
}

impl Mode {
    #[inline]
    fn output_prob(self, p: f32) -> f32 {
        match self {
            Mode::Mkn => p.log10().min(0.0),
            Mode::Stupid { .. } => p,
        }
    }
}

/// The final values of the previous order, read in suffix order alongside the next.
enum Previous {
    /// Order 1: probabilities and backoffs by word id (already written).
    Unigrams(Vec<f32>),
    /// Orders ≥ 2: entries `(key, f32 bits << 1 | kept)`.
    Files { probs: KeyReader },
}

/// Estimates straight to an ARPA file through disk. Returns the n-gram counts per order and the warnings.
pub(crate) fn estimate_to_arpa(
    counts: FullCounts,
    config: &EstimateConfig,
    path: &Path,
) -> Result<(Vec<u64>, Vec<String>)> {
    // The vocabulary stays in memory throughout (the ARPA file needs its words).
    let vocab = crate::count::vocab_heap_bytes(&counts.vocab);
    let sort_bytes = (counts.memory().saturating_sub(RESERVE + vocab) / 2).max(1 << 20);
    estimate_with_sort_buffers(counts, config, path, sort_bytes)
}

/// [`estimate_to_arpa`] with sort buffers of `sort_bytes` each (tests use tiny ones to force many runs).
pub(crate) fn estimate_with_sort_buffers(
    mut counts: FullCounts,
    config: &EstimateConfig,
    path: &Path,
    sort_bytes: u64,
) -> Result<(Vec<u64>, Vec<String>)> {
    let n = counts.order();
    let thresholds = config.thresholds(n)?;
    let dir = counts.temp_dir().to_path_buf();
    let mode = match config.smoothing {
        Smoothing::ModifiedKneserNey => Mode::Mkn,
        Smoothing::StupidBackoff { alpha } => Mode::Stupid {
            log_alpha: alpha.log10(),
        },
    };
    let adjusted = adjust(&counts, matches!(mode, Mode::Stupid { .. }), &thresholds, &dir)?;
    let vocab = std::mem::take(&mut counts.vocab);
    drop(counts);
    let (discounts, warnings) = match mode {
        Mode::Mkn => discounts_from(&adjusted.counts_of_counts, config.discount_fallback)?,
        Mode::Stupid { .. } => (Vec::new(), Vec::new()),
    };
    let Adjusted {
        unigrams, levels, kept, ..
    } = adjusted;
    let writer = crate::arpa::write::ArpaWriter::create(path, &kept)?;
    let uni_probs = match mode {
        Mode::Mkn => mkn_unigrams(&unigrams, &discounts[0]),
        Mode::Stupid { .. } => stupid_unigrams(&unigrams),
    };
    drop(unigrams);
    let (tx, rx) = std::sync::mpsc::sync_channel(OUTPUT_QUEUE);
    let (back_tx, back_rx) = std::sync::mpsc::channel();
    let mut out = Output {
        tx: Some(tx),
        back: back_rx,
        keys: Vec::new(),
        values: Vec::new(),
        order: 1,
        vocab_len: vocab.len(),
        batches: 0,
    };
    let vocab = &vocab;
    let (estimated, written) = std::thread::scope(|scope| {
        let writing = scope.spawn(move || write_arpa(writer, vocab, mode, rx, back_tx));
        let estimated = estimate_levels(levels, uni_probs, &discounts, &dir, sort_bytes, mode, &mut out);
        // Closing the channel ends the writing thread.
        drop(out);
        let written = writing
            .join()
            .unwrap_or_else(|_| Err(Error::InvalidOption("the ARPA writing thread panicked".to_string())));
        (estimated, written)
    });
    match (estimated, written) {
        (Ok(()), Ok(writer)) => writer.finish()?,
        // The writing thread's error explains a stop of the estimating one.
        (_, Err(e)) => return Err(e),
        (Err(e), Ok(_)) => return Err(e),
    }
    Ok((kept, warnings))
}

/// The passes of every order after the adjust pass, writing each order to `out` as it is final.
fn estimate_levels(
    levels: Vec<KeyFile>,
    uni_probs: Vec<f32>,
    discounts: &[Discount],
    dir: &Path,
    sort_bytes: u64,
    mode: Mode,
    out: &mut Output,
) -> Result<()> {
    let n = levels.len() + 1;
    // Each order's sorts hold its n-grams as records of k + 2 words.
    let largest = levels
        .iter()
        .map(|l| l.entries * 4 * (l.k as u64 + 2))
        .max()
        .unwrap_or(0);
    let mut pool = SortPool::new(sort_bytes, largest)?;
    let mut previous = Previous::Unigrams(uni_probs);
    for (i, level) in levels.into_iter().enumerate() {
        let k = i + 2;
        let d = discounts.get(k - 1).copied().unwrap_or(Discount::FALLBACK);
        let step = Step { dir, mode, d };
        let pool = pool.halves();
        previous = match k {
            2 => step.run::<2, 4>(level, previous, out, pool)?,
            3 => step.run::<3, 5>(level, previous, out, pool)?,
            4 => step.run::<4, 6>(level, previous, out, pool)?,
            5 => step.run::<5, 7>(level, previous, out, pool)?,
            _ => step.run::<6, 8>(level, previous, out, pool)?,
        };
    }
    // The highest order: no backoffs.
    out.begin(n, false)?;
    match previous {
        Previous::Unigrams(probs) => {
            for (id, &p) in probs.iter().enumerate() {
                out.push(&[id as u32], p, 0.0)?;
            }
        }
        Previous::Files { mut probs } => {
            while let Some(v) = probs.next().map_err(io_err(dir))? {
                if v & 1 == 1 {
                    let key = probs.key;
                    out.push(&key, f32::from_bits((v >> 1) as u32), 0.0)?;
                }
            }
        }
    }
    out.flush()
}

struct Step<'a> {
    dir: &'a Path,
    mode: Mode,
    d: Discount,
}

impl Step<'_> {
    /// Order K: context sort, context pass, suffix sort, interpolation pass (writing order K − 1).
    fn run<const K: usize, const W: usize>(
        &self,
        level: KeyFile,
        previous: Previous,
        out: &mut Output,
        (context_buffer, suffix_buffer): (&mut [u32], &mut [u32]),
    ) -> Result<Previous> {
        let dir = self.dir;
        // Context sort: key (w_{K-1}, …, w_1, w_K) = the reversed key rotated left by one.
        let mut sorter = Sorter::<K, W>::new(dir, context_buffer);
        {
            let mut reader = KeyReader::new(level);
            while let Some(v) = reader.next().map_err(io_err(dir))? {
                let mut key = [0u32; K];
                key[..K - 1].copy_from_slice(&reader.key[1..K]);
                key[K - 1] = reader.key[0];
                let count = u32::try_from(v >> 1)
                    .map_err(|_| corrupt("count"))
                    .map_err(io_err(dir))?;
                sorter.push(Rec {
                    key,
                    a: count,
                    b: (v & 1) as u32,
                })?;
            }
        }
        let (mut by_context, spare) = sorter.finish_keeping_buffer()?;

        // Context pass.
        let mut suffix = match spare {
            Some(buffer) => Sorter::<K, W>::with_slots(dir, buffer),
            None => Sorter::<K, W>::new(dir, suffix_buffer),
        };
        let mut backoffs = KeyWriter::new(dir, K - 1)?;
        let mut uni_backoffs = if K == 2 { Some(vec![0f32; out.vocab_len]) } else { None };
        let mut group: Vec<Rec<K>> = Vec::new();
        let mut next = by_context.next()?;
        while let Some(head) = next {
            group.clear();
            group.push(head);
            loop {
                next = by_context.next()?;
                match next {
                    Some(r) if r.key[..K - 1] == head.key[..K - 1] => group.push(r),
                    _ => break,
                }
            }
            let backoff = self.context(&group, &mut suffix)?;
            match &mut uni_backoffs {
                Some(b) => {
                    let id = head.key[0] as usize;
                    if id >= b.len() {
                        return Err(Error::InvalidOption("a context outside the vocabulary".to_string()));
                    }
                    b[id] = backoff;
                }
                None => {
                    let mut ctx = [0u32; MAX_ORDER];
                    ctx[..K - 1].copy_from_slice(&head.key[..K - 1]);
                    backoffs
                        .write(&ctx, u64::from(backoff.to_bits()))
                        .map_err(io_err(dir))?;
                }
            }
        }
        drop(by_context);
        let mut backoffs = KeyReader::new(backoffs.finish(dir)?);
        let mut by_suffix = suffix.finish()?;

        // Interpolation pass, writing order K − 1 as its entries go by.
        out.begin(K - 1, true)?;
        let mut finals = KeyWriter::new(dir, K)?;
        match previous {
            Previous::Unigrams(probs) => {
                let Some(uni_backoffs) = uni_backoffs else {
                    return Err(Error::InvalidOption("unigram backoffs missing".to_string()));
                };
                for (id, (&p, &b)) in probs.iter().zip(&uni_backoffs).enumerate() {
                    out.push(&[id as u32], p, b)?;
                }
                out.flush()?;
                while let Some(r) = by_suffix.next()? {
                    let parent = probs
                        .get(r.key[0] as usize)
                        .copied()
                        .ok_or_else(|| Error::InvalidOption("an n-gram outside the vocabulary".to_string()))?;
                    self.interpolate(&r, parent, &mut finals)?;
                }
            }
            Previous::Files { mut probs } => {
                let mut walk = Walk {
                    probs: &mut probs,
                    backoffs: &mut backoffs,
                    pending_backoff: None,
                    current: None,
                    dir,
                };
                while let Some(r) = by_suffix.next()? {
                    let parent = walk.find(&r.key[..K - 1], out)?;
                    self.interpolate(&r, parent, &mut finals)?;
                }
                walk.rest(out)?;
            }
        }
        out.flush()?;
        Ok(Previous::Files {
            probs: KeyReader::new(finals.finish(dir)?),
        })
    }

    /// One context's n-grams (in context order): pushes each n-gram's uninterpolated probability and the context's
    /// γ to the suffix sorter; returns the context's log10 backoff.
    fn context<const K: usize, const W: usize>(&self, group: &[Rec<K>], suffix: &mut Sorter<'_, K, W>) -> Result<f32> {
        let unrotate = |r: &Rec<K>| {
            let mut key = [0u32; K];
            key[0] = r.key[K - 1];
            key[1..].copy_from_slice(&r.key[..K - 1]);
            key
        };
        match self.mode {
            Mode::Mkn => {
                let mut den = 0u32;
                let mut classes = [0u64; 4];
                let mut pruned = 0u64;
                for r in group {
                    den = den.checked_add(r.a).ok_or_else(|| too_big("a denominator"))?;
                    if r.b == 1 {
                        if r.a > 0 {
                            classes[r.a.min(3) as usize] += 1;
                        }
                    } else {
                        pruned += u64::from(r.a);
                    }
                }
                let g = gamma(&self.d, &classes, pruned, den as f32);
                for r in group {
                    let u = if r.b == 1 {
                        self.d.apply(u64::from(r.a)) / den as f32
                    } else {
                        f32::NAN
                    };
                    suffix.push(Rec {
                        key: unrotate(r),
                        a: u.to_bits(),
                        b: g.to_bits(),
                    })?;
                }
                Ok(if den == 0 { 0.0 } else { g.log10() })
            }
            Mode::Stupid { log_alpha } => {
                let den: u64 = group.iter().map(|r| u64::from(r.a)).sum();
                for r in group {
                    let s = if r.b == 1 {
                        (f64::from(r.a) / den as f64).log10() as f32
                    } else {
                        f32::NAN
                    };
                    suffix.push(Rec {
                        key: unrotate(r),
                        a: s.to_bits(),
                        b: 0,
                    })?;
                }
                Ok(if den > 0 { log_alpha } else { 0.0 })
            }
        }
    }

    #[inline]
    fn interpolate<const K: usize>(&self, r: &Rec<K>, parent: f32, finals: &mut KeyWriter) -> Result<()> {
        let u = f32::from_bits(r.a);
        let (p, keep) = if u.is_nan() {
            (0.0f32, 0)
        } else {
            match self.mode {
                Mode::Mkn => (u + f32::from_bits(r.b) * parent, 1),
                Mode::Stupid { .. } => (u, 1),
            }
        };
        finals
            .write(&r.key, u64::from(p.to_bits()) << 1 | keep)
            .map_err(io_err(self.dir))
    }
}

/// Walks the previous order's final file in step with the parents asked for, writing each entry to the ARPA
/// file as it is passed.
struct Walk<'r> {
    probs: &'r mut KeyReader,
    backoffs: &'r mut KeyReader,
    /// The next context with a backoff, not yet matched: its key is in `backoffs.key`.
    pending_backoff: Option<f32>,
    /// The entry the walk stands on: its probability (the key is in `probs.key`).
    current: Option<f32>,
    dir: &'r Path,
}

impl Walk<'_> {
    /// Advances to the next entry, writing it out; false at the end.
    fn advance(&mut self, out: &mut Output) -> Result<bool> {
        let Some(v) = self.probs.next().map_err(io_err(self.dir))? else {
            self.current = None;
            return Ok(false);
        };
        let p = f32::from_bits((v >> 1) as u32);
        let k = self.probs.k;
        if self.pending_backoff.is_none()
            && let Some(b) = self.backoffs.next().map_err(io_err(self.dir))?
        {
            self.pending_backoff = Some(f32::from_bits(b as u32));
        }
        let mut backoff = 0.0;
        if let Some(b) = self.pending_backoff
            && self.backoffs.key[..k] == self.probs.key[..k]
        {
            backoff = b;
            self.pending_backoff = None;
        }
        if v & 1 == 1 {
            let key = self.probs.key;
            out.push(&key, p, backoff)?;
        }
        self.current = Some(p);
        Ok(true)
    }

    /// The probability of the entry with key `parent`, which must be at or after the current one.
    fn find(&mut self, parent: &[u32], out: &mut Output) -> Result<f32> {
        loop {
            if let Some(p) = self.current
                && self.probs.key[..parent.len()] == *parent
            {
                return Ok(p);
            }
            if !self.advance(out)? {
                return Err(Error::InvalidOption(
                    "the suffix of an n-gram is missing from the lower order".to_string(),
                ));
            }
        }
    }

    /// Writes the entries left.
    fn rest(&mut self, out: &mut Output) -> Result<()> {
        while self.advance(out)? {}
        if self.pending_backoff.is_some() || self.backoffs.left > 0 {
            return Err(Error::InvalidOption(
                "a context is missing from the lower order".to_string(),
            ));
        }
        Ok(())
    }
}

/// Whether estimating `counts` in memory would exceed its budget: the trie takes about 16 bytes per n-gram at
/// its peak, and a corpus has at most N times as many n-grams of all orders as distinct order-N n-grams.
pub(crate) fn needs_streaming(counts: &FullCounts) -> bool {
    let n = counts.order() as u64;
    n >= 2 && TRIE_BYTES_PER_NGRAM * n * counts.entries_upper_bound() > counts.memory()
}

/// Bytes per n-gram at the peak of the in-memory estimation.
const TRIE_BYTES_PER_NGRAM: u64 = 16;
