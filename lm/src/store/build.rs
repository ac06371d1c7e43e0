//! Building a store from an ARPA file.
//!
//! The n-grams are read into memory (a 128-bit packed key and two `f32` per n-gram), completed so that every
//! lookup path exists (see below), assigned to shards, and written one file at a time, each to a temporary name
//! in the output directory that is synced and renamed; `manifest.json` is written last, the same way. A previous
//! `manifest.json` in the directory is removed (and the removal synced) before any other file is replaced, so a
//! build stopped at any point leaves a directory that does not open as a model.
//!
//! # Completion
//! The reference semantics are [`ArpaModel`](crate::model::ArpaModel)'s: an n-gram whose context is not listed
//! (SRILM's pruning leaves such) gets its context as a *pass-through* entry without a probability. The store
//! needs two more kinds of entries, which change no score:
//! - every suffix `w2 … wn` of an extension `w1 … wn` is itself an extension (so that `wn` can be stored as a
//!   position among the parent context's extensions); a missing one is added without a probability;
//! - every suffix of a context is a context (the right-to-left context trie needs its parent); a missing one is
//!   added with backoff 0.
//!
//! For KenLM's own models (whose n-gram sets are closed under prefixes and suffixes) nothing is added.
//!
//! Memory: about 25 bytes per n-gram while building, plus sort buffers of up to 32 bytes per n-gram of one order.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::format::{ContainerWriter, FORMAT_VERSION, HeaderFields, Kind};
use super::hashed::{self, HashedSections, NONE, OrderCounts, TableBuilder};
use super::manifest::{FORMAT, FileEntry, Layout, MANIFEST, Manifest, Quantization, VOCAB, shard_file_name};
use super::quant::Codebook;
use super::shard::{
    Codebooks, LevelCounts, RangedKeys, ShardSections, Values, codebook_bytes, encode_ef, encode_ints,
    encode_rank_bits, shard_of, tag,
};
use super::vocab;
use crate::arpa::read::{ArpaReader, Entry};
use crate::model::{MAX_ORDER, MISSING_UNK_LOG10, WordId};
use crate::{Error, Result};

/// Options of a build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOptions {
    /// The number of shards (at least 1).
    pub shards: u32,
    /// Bits per quantized probability and backoff (1 to 16), or 0 to keep `f32` values exactly.
    pub quantize: u32,
    /// The smoothing label recorded in the manifest (`unknown` when the ARPA file does not say).
    pub smoothing: String,
    /// Build shards in parallel with rayon (the files are the same either way).
    pub parallel: bool,
    /// The layout of the shard files: the compact trie (the default) or the faster hashed tables.
    pub layout: Layout,
}

impl Default for BuildOptions {
    fn default() -> BuildOptions {
        BuildOptions {
            shards: 1,
            quantize: 8,
            smoothing: "unknown".into(),
            parallel: true,
            layout: Layout::Trie,
        }
    }
}

impl BuildOptions {
    fn validate(&self) -> Result<()> {
        if self.shards == 0 || self.shards > 1 << 16 {
            return Err(Error::InvalidOption(format!(
                "--shards {}: use 1 to 65536",
                self.shards
            )));
        }
        if self.quantize > 16 {
            return Err(Error::InvalidOption(format!(
                "--quantize {}: use 0 (exact f32) or 1 to 16 bits",
                self.quantize
            )));
        }
        if self.smoothing.is_empty()
            || self.smoothing.len() > 64
            || !self
                .smoothing
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(Error::InvalidOption(format!(
                "smoothing label {:?}: use letters, digits, '-' or '_'",
                self.smoothing
            )));
        }
        Ok(())
    }
}

/// Builds a model directory from the ARPA file at `arpa` (plain or gzip).
pub fn build_from_arpa(arpa: &Path, out: &Path, options: &BuildOptions) -> Result<Manifest> {
    build(ArpaReader::open(arpa)?, out, options, &|_| ControlFlow::Continue(()))
}

/// Builds a model directory from what `reader` has left to read. `on_file` is called with each file's final path
/// once it is in place (the manifest last); returning `Break` stops the build with [`Error::Cancelled`], leaving
/// the directory as a process killed at that point would (without a manifest, so it does not open).
pub fn build(
    reader: ArpaReader,
    out: &Path,
    options: &BuildOptions,
    on_file: &(dyn Fn(&Path) -> ControlFlow<()> + Sync),
) -> Result<Manifest> {
    options.validate()?;
    let model = Model::read(reader)?;
    model.write(out, options, on_file)
}

/// Flags of an n-gram while building.
mod flag {
    /// Some longer n-gram of the ARPA model starts with this one (ArpaModel's `EXTENDS`).
    pub const EXTENDS: u8 = 1;
    /// Stored as an extension (an n-gram of order 2 or more in the store).
    pub const EXT: u8 = 2;
    /// Stored as a context node.
    pub const CTX: u8 = 4;
}

/// Whether a state ending in this n-gram keeps it (ArpaModel's rule).
fn keeps(flags: u8, backoff: f32) -> bool {
    flags & flag::EXTENDS != 0 || backoff != 0.0
}

/// Word ids packed into a `u128`, oldest word in the highest bits.
#[derive(Debug, Clone, Copy)]
struct Packing {
    bits: u32,
}

impl Packing {
    fn mask(&self, words: usize) -> u128 {
        let bits = self.bits * words as u32;
        if bits >= 128 { u128::MAX } else { (1u128 << bits) - 1 }
    }

    fn pack(&self, ids: &[WordId]) -> u128 {
        ids.iter().fold(0u128, |key, &id| (key << self.bits) | u128::from(id))
    }

    fn word(&self, key: u128, n: usize, i: usize) -> WordId {
        ((key >> (self.bits * (n - 1 - i) as u32)) & self.mask(1)) as WordId
    }

    fn prefix(&self, key: u128) -> u128 {
        key >> self.bits
    }

    fn suffix(&self, key: u128, n: usize) -> u128 {
        key & self.mask(n - 1)
    }

    fn last(&self, key: u128) -> WordId {
        (key & self.mask(1)) as WordId
    }

    fn reverse(&self, key: u128, n: usize) -> u128 {
        (0..n).fold(0u128, |rev, i| {
            (rev << self.bits) | u128::from(self.word(key, n, n - 1 - i))
        })
    }
}

/// The n-grams of one order (2 and up), sorted by packed key.
#[derive(Debug, Default)]
struct Table {
    keys: Vec<u128>,
    prob: Vec<f32>,
    backoff: Vec<f32>,
    flags: Vec<u8>,
}

impl Table {
    /// For each of `candidates` (sorted, distinct): ors `mark` into its flags when present, else inserts it
    /// without a probability, with backoff 0 and flags `new_flags`.
    fn ensure(&mut self, candidates: &[u128], mark: u8, new_flags: u8) {
        let mut missing = Vec::new();
        let mut i = 0;
        for &key in candidates {
            while i < self.keys.len() && self.keys[i] < key {
                i += 1;
            }
            if i < self.keys.len() && self.keys[i] == key {
                self.flags[i] |= mark;
            } else {
                missing.push(key);
            }
        }
        if missing.is_empty() {
            return;
        }
        let total = self.keys.len() + missing.len();
        let mut merged = Table {
            keys: Vec::with_capacity(total),
            prob: Vec::with_capacity(total),
            backoff: Vec::with_capacity(total),
            flags: Vec::with_capacity(total),
        };
        let (mut a, mut b) = (0, 0);
        while a < self.keys.len() || b < missing.len() {
            if b == missing.len() || (a < self.keys.len() && self.keys[a] < missing[b]) {
                merged.keys.push(self.keys[a]);
                merged.prob.push(self.prob[a]);
                merged.backoff.push(self.backoff[a]);
                merged.flags.push(self.flags[a]);
                a += 1;
            } else {
                merged.keys.push(missing[b]);
                merged.prob.push(f32::NAN);
                merged.backoff.push(0.0);
                merged.flags.push(new_flags);
                b += 1;
            }
        }
        *self = merged;
    }
}

/// What the hashed shards of a build share ([`Model::hashed_plan`]).
#[derive(Debug, Default)]
struct HashedPlan {
    /// Per order and shard, the n-grams each shard stores ([`Model::hashed_members`]).
    members: Vec<Vec<Vec<u32>>>,
    /// Per order, every n-gram's extension filter ([`Model::extension_filters`]); empty when not packed.
    filters: Vec<Vec<u32>>,
}

/// A whole model in memory, completed for the store's layout.
#[derive(Debug)]
struct Model {
    /// The ARPA file read, for messages.
    source: PathBuf,
    order: usize,
    pack: Packing,
    /// Words by id.
    words: Vec<String>,
    unk: WordId,
    bos: WordId,
    eos: WordId,
    uni_prob: Vec<f32>,
    uni_backoff: Vec<f32>,
    uni_flags: Vec<u8>,
    /// `tables[n]` holds order `n` (entries 0 and 1 unused).
    tables: Vec<Table>,
    /// N-grams per order as listed (unigrams: the vocabulary size).
    counts: Vec<u64>,
}

fn format_error(reader: &ArpaReader, line: u64, message: String) -> Error {
    Error::Format {
        path: reader.path().to_path_buf(),
        line,
        message,
    }
}

impl Model {
    fn read(mut reader: ArpaReader) -> Result<Model> {
        let order = reader.order();
        if order == 0 || order > MAX_ORDER {
            return Err(format_error(
                &reader,
                reader.line_number(),
                format!("order {order}: the store holds orders 1 to {MAX_ORDER}"),
            ));
        }
        let mut entry = Entry::default();
        // Unigrams, in file order; the specials are found or added as ArpaModel does.
        let mut words: Vec<String> = Vec::new();
        let mut prob: Vec<f32> = Vec::new();
        let mut backoff: Vec<f32> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut pending = false;
        loop {
            if !reader.read_entry(&mut entry)? {
                break;
            }
            if entry.order != 1 {
                pending = true;
                break;
            }
            let word = &entry.words[0];
            if index.contains_key(word.as_str()) {
                return Err(format_error(
                    &reader,
                    reader.line_number(),
                    format!("the 1-gram {word:?} is listed twice"),
                ));
            }
            index.insert(word.clone(), words.len());
            words.push(word.clone());
            prob.push(entry.prob);
            backoff.push(entry.backoff.unwrap_or(0.0));
        }
        for name in ["<s>", "</s>"] {
            if !index.contains_key(name) {
                return Err(format_error(
                    &reader,
                    reader.line_number(),
                    format!("the model has no {name} among its 1-grams; is it a sentence-level language model?"),
                ));
            }
        }
        if !index.contains_key("<unk>") {
            index.insert("<unk>".into(), words.len());
            words.push("<unk>".into());
            prob.push(MISSING_UNK_LOG10);
            backoff.push(0.0);
        }
        let vocab = words.len();
        if vocab >= u32::MAX as usize {
            return Err(format_error(
                &reader,
                reader.line_number(),
                "more words than 32-bit ids hold".into(),
            ));
        }
        // Ids by decreasing probability (ties in file order): frequent words get small ids, which keeps the
        // Elias-Fano universes small.
        let mut ranked: Vec<usize> = (0..vocab).collect();
        ranked.sort_by(|&a, &b| prob[b].total_cmp(&prob[a]).then(a.cmp(&b)));
        let mut id_of = vec![0 as WordId; vocab];
        for (id, &file_index) in ranked.iter().enumerate() {
            id_of[file_index] = id as WordId;
        }
        let ids: HashMap<String, WordId> = index.into_iter().map(|(w, i)| (w, id_of[i])).collect();
        let mut by_id = vec![String::new(); vocab];
        let mut uni_prob = vec![0f32; vocab];
        let mut uni_backoff = vec![0f32; vocab];
        for (file_index, word) in words.into_iter().enumerate() {
            let id = id_of[file_index] as usize;
            uni_prob[id] = prob[file_index];
            uni_backoff[id] = backoff[file_index];
            by_id[id] = word;
        }
        let bits = (usize::BITS - (vocab - 1).leading_zeros()).max(1);
        if bits as usize * order > 128 {
            return Err(format_error(
                &reader,
                reader.line_number(),
                format!(
                    "a vocabulary of {vocab} words is too large for order {order} (at most 128 bits per n-gram key)"
                ),
            ));
        }
        let pack = Packing { bits };
        let mut counts = vec![vocab as u64];
        let mut tables: Vec<Table> = (0..=order).map(|_| Table::default()).collect();
        let mut first_line = vec![0u64; order + 1];
        let mut ids_buf: Vec<WordId> = Vec::with_capacity(order);
        let mut unsorted: Vec<Vec<u128>> = vec![Vec::new(); order + 1];
        while pending || reader.read_entry(&mut entry)? {
            pending = false;
            let n = entry.order;
            let table = &mut tables[n];
            if table.prob.is_empty() {
                first_line[n] = reader.line_number();
                let announced = reader.counts()[n - 1] as usize;
                unsorted[n].reserve_exact(announced);
                table.prob.reserve_exact(announced);
                table.backoff.reserve_exact(announced);
            }
            ids_buf.clear();
            for word in &entry.words {
                match ids.get(word.as_str()) {
                    Some(&id) => ids_buf.push(id),
                    None => {
                        return Err(format_error(
                            &reader,
                            reader.line_number(),
                            format!("the word {word:?} of this {n}-gram is not among the 1-grams"),
                        ));
                    }
                }
            }
            unsorted[n].push(pack.pack(&ids_buf));
            table.prob.push(entry.prob);
            table.backoff.push(entry.backoff.unwrap_or(0.0));
        }
        for n in 2..=order {
            let keys = std::mem::take(&mut unsorted[n]);
            counts.push(keys.len() as u64);
            let table = &mut tables[n];
            let mut perm: Vec<(u128, u32)> = keys.into_iter().enumerate().map(|(i, k)| (k, i as u32)).collect();
            perm.par_sort_unstable();
            if let Some(pair) = perm.windows(2).find(|p| p[0].0 == p[1].0) {
                let later = pair[0].1.max(pair[1].1);
                let listed: Vec<&str> = (0..n)
                    .map(|i| by_id[pack.word(pair[0].0, n, i) as usize].as_str())
                    .collect();
                return Err(format_error(
                    &reader,
                    first_line[n] + u64::from(later),
                    format!("the {n}-gram {:?} is listed twice", listed.join(" ")),
                ));
            }
            table.prob = perm.iter().map(|&(_, i)| table.prob[i as usize]).collect();
            table.backoff = perm.iter().map(|&(_, i)| table.backoff[i as usize]).collect();
            table.keys = perm.into_iter().map(|(k, _)| k).collect();
            table.flags = vec![flag::EXT; table.keys.len()];
        }
        let unk = ids["<unk>"];
        let bos = ids["<s>"];
        let eos = ids["</s>"];
        let mut model = Model {
            source: reader.path().to_path_buf(),
            order,
            pack,
            words: by_id,
            unk,
            bos,
            eos,
            uni_prob,
            uni_backoff,
            uni_flags: vec![0; vocab],
            tables,
            counts,
        };
        model.complete();
        Ok(model)
    }

    /// Adds pass-through prefixes (as ArpaModel does), then the store's suffix closures, and marks contexts.
    fn complete(&mut self) {
        let order = self.order;
        let pack = self.pack;
        // ArpaModel: every prefix of an n-gram is marked EXTENDS, inserted without a probability if missing.
        for n in (2..=order).rev() {
            let mut prefixes: Vec<u128> = self.tables[n].keys.iter().map(|&k| pack.prefix(k)).collect();
            prefixes.dedup();
            if n >= 3 {
                self.tables[n - 1].ensure(&prefixes, flag::EXTENDS, flag::EXTENDS | flag::EXT);
            } else {
                for p in prefixes {
                    self.uni_flags[p as usize] |= flag::EXTENDS;
                }
            }
        }
        // Every suffix of an extension is an extension.
        for n in (3..=order).rev() {
            let mut suffixes: Vec<u128> = self.tables[n].keys.iter().map(|&k| pack.suffix(k, n)).collect();
            suffixes.par_sort_unstable();
            suffixes.dedup();
            self.tables[n - 1].ensure(&suffixes, 0, flag::EXT);
        }
        // Contexts: what keeps a state, every extension's prefix, and every context's suffix.
        for j in (1..order).rev() {
            let upper = &self.tables[j + 1];
            let mut candidates: Vec<u128> = upper
                .keys
                .iter()
                .zip(&upper.flags)
                .filter(|(_, f)| *f & flag::EXT != 0)
                .map(|(&k, _)| pack.prefix(k))
                .collect();
            candidates.extend(
                upper
                    .keys
                    .iter()
                    .zip(&upper.flags)
                    .filter(|(_, f)| *f & flag::CTX != 0)
                    .map(|(&k, _)| pack.suffix(k, j + 1)),
            );
            candidates.par_sort_unstable();
            candidates.dedup();
            if j >= 2 {
                let table = &mut self.tables[j];
                for i in 0..table.keys.len() {
                    if keeps(table.flags[i], table.backoff[i]) {
                        table.flags[i] |= flag::CTX;
                    }
                }
                table.ensure(&candidates, flag::CTX, flag::CTX);
            } else {
                for w in 0..self.uni_flags.len() {
                    if keeps(self.uni_flags[w], self.uni_backoff[w]) {
                        self.uni_flags[w] |= flag::CTX;
                    }
                }
                for c in candidates {
                    self.uni_flags[c as usize] |= flag::CTX;
                }
            }
        }
    }

    fn vocab_size(&self) -> u64 {
        self.words.len() as u64
    }

    /// The model's own log10 probability of each n-gram as a word sequence: the chain of conditional
    /// probabilities of its prefixes (`joint[n][i]` for entry `i` of order `n`; `joint[1]` by word id). Entries
    /// without a probability take their prefix's.
    fn joint_log10(&self) -> Vec<Vec<f32>> {
        let mut joint: Vec<Vec<f32>> = vec![Vec::new(); self.order + 1];
        joint[1] = self
            .uni_prob
            .iter()
            .map(|&p| if p.is_finite() { p } else { -99.0 })
            .collect();
        for n in 2..=self.order {
            let table = &self.tables[n];
            let mut out = Vec::with_capacity(table.keys.len());
            let mut q = 0usize;
            for (i, &key) in table.keys.iter().enumerate() {
                let prefix = self.pack.prefix(key);
                let base = if n == 2 {
                    joint[1][prefix as usize]
                } else {
                    let lower = &self.tables[n - 1].keys;
                    while q < lower.len() && lower[q] < prefix {
                        q += 1;
                    }
                    if q < lower.len() && lower[q] == prefix {
                        joint[n - 1][q]
                    } else {
                        -99.0
                    }
                };
                let p = table.prob[i];
                out.push(if p.is_finite() { base + p } else { base });
            }
            joint[n] = out;
        }
        joint
    }

    /// Codebooks trained on the whole model (see [`quant`](super::quant) for the weighting). At levels whose
    /// extensions carry a state bit, the bit is folded into the probability code: the codebook is two codebooks
    /// back to back, codes below the split for n-grams that do not stay in a state and the rest for those that
    /// do. Nearly all such n-grams stay (they are contexts themselves), so the few others get a small share of the
    /// codes (`2^bits · √fraction`), and the separate bit per n-gram disappears. Returns the codebooks and, per
    /// level, the two halves to encode with.
    fn codebooks(&self, bits: u32) -> (Codebooks, Vec<Option<(Codebook, Codebook)>>) {
        let levels = self.order - 1;
        if bits == 0 {
            let books = Codebooks {
                width: 32,
                unigram: Values::Raw,
                prob: vec![Values::Raw; levels],
                backoff: vec![Values::Raw; levels],
                keep_split: vec![None; levels],
            };
            return (books, vec![None; levels]);
        }
        let joint = self.joint_log10();
        let weights_of =
            |joint: &[f32]| -> Vec<f64> { joint.iter().map(|&p| 10f64.powf(f64::from(p) / 2.0)).collect() };
        let train = |values: &[f32], joint: &[f32], keep_zero: bool| {
            Codebook::train(values, Some(&weights_of(joint)), bits, keep_zero)
        };
        let unigram = Values::Book(train(&self.uni_prob, &joint[1], false));
        let mut prob = Vec::with_capacity(levels);
        let mut backoff = Vec::with_capacity(levels);
        let mut keep_split = Vec::with_capacity(levels);
        let mut halves = Vec::with_capacity(levels);
        for j in 1..=levels {
            let upper = &self.tables[j + 1];
            let chosen: Vec<usize> = (0..upper.keys.len())
                .filter(|&i| upper.flags[i] & flag::EXT != 0)
                .collect();
            if j < levels {
                let (stay, leave): (Vec<usize>, Vec<usize>) =
                    chosen.iter().partition(|&&i| keeps(upper.flags[i], upper.backoff[i]));
                let capacity = 1u32 << bits;
                let fraction = leave.len() as f64 / chosen.len().max(1) as f64;
                let leave_bits = if leave.is_empty() {
                    0
                } else if stay.is_empty() {
                    capacity
                } else {
                    ((f64::from(capacity) * fraction.sqrt()).round() as u32).clamp(1, capacity - 1)
                };
                let half = |set: &[usize], codes: u32| -> Codebook {
                    let values: Vec<f32> = set.iter().map(|&i| upper.prob[i]).collect();
                    let weights: Vec<f32> = set.iter().map(|&i| joint[j + 1][i]).collect();
                    if codes == 0 || values.is_empty() {
                        return Codebook::from_values(Vec::new());
                    }
                    Codebook::train_within(&values, Some(&weights_of(&weights)), codes as usize, false)
                };
                let leave_book = half(&leave, leave_bits);
                let stay_book = half(&stay, capacity - leave_bits);
                let mut values = leave_book.values().to_vec();
                let split = values.len() as u64;
                values.extend_from_slice(stay_book.values());
                prob.push(Values::Book(Codebook::from_values(values)));
                keep_split.push(Some(split));
                halves.push(Some((leave_book, stay_book)));
            } else {
                let values: Vec<f32> = chosen.iter().map(|&i| upper.prob[i]).collect();
                let weights: Vec<f32> = chosen.iter().map(|&i| joint[j + 1][i]).collect();
                prob.push(Values::Book(train(&values, &weights, false)));
                keep_split.push(None);
                halves.push(None);
            }
            let (values, flags): (&[f32], &[u8]) = if j == 1 {
                (&self.uni_backoff, &self.uni_flags)
            } else {
                (&self.tables[j].backoff, &self.tables[j].flags)
            };
            let chosen: Vec<usize> = (0..values.len()).filter(|&i| flags[i] & flag::CTX != 0).collect();
            let weights: Vec<f32> = chosen.iter().map(|&i| joint[j][i]).collect();
            let values: Vec<f32> = chosen.iter().map(|&i| values[i]).collect();
            backoff.push(Values::Book(train(&values, &weights, true)));
        }
        let books = Codebooks {
            width: bits,
            unigram,
            prob,
            backoff,
            keep_split,
        };
        (books, halves)
    }

    /// Per level `j` (index `j - 1`): the contexts and the extensions, each as indices sorted by shard then by
    /// their right-to-left key, with per-shard boundaries.
    fn partition(&self, shards: u32) -> Vec<(Partitioned, Partitioned)> {
        let pack = self.pack;
        (1..self.order)
            .map(|j| {
                let contexts: Vec<(u32, u128, u32)> = if j == 1 {
                    (0..self.uni_flags.len())
                        .filter(|&w| self.uni_flags[w] & flag::CTX != 0)
                        .map(|w| (shard_of(w as WordId, shards), w as u128, w as u32))
                        .collect()
                } else {
                    let t = &self.tables[j];
                    (0..t.keys.len())
                        .filter(|&i| t.flags[i] & flag::CTX != 0)
                        .map(|i| {
                            let k = t.keys[i];
                            (shard_of(pack.last(k), shards), pack.reverse(k, j), i as u32)
                        })
                        .collect()
                };
                let t = &self.tables[j + 1];
                let extensions: Vec<(u32, u128, u32)> = (0..t.keys.len())
                    .filter(|&i| t.flags[i] & flag::EXT != 0)
                    .map(|i| {
                        let k = t.keys[i];
                        let context = pack.prefix(k);
                        let rkey = (pack.reverse(context, j) << pack.bits) | u128::from(pack.last(k));
                        (shard_of(pack.last(context), shards), rkey, i as u32)
                    })
                    .collect();
                (Partitioned::new(contexts, shards), Partitioned::new(extensions, shards))
            })
            .collect()
    }

    /// The key (ids, packed) of a context node at level `j`.
    fn context_key(&self, j: usize, index: u32) -> u128 {
        if j == 1 {
            u128::from(index)
        } else {
            self.tables[j].keys[index as usize]
        }
    }

    fn context_backoff(&self, j: usize, index: u32) -> f32 {
        if j == 1 {
            self.uni_backoff[index as usize]
        } else {
            self.tables[j].backoff[index as usize]
        }
    }

    /// Lays out one shard.
    fn shard_sections(
        &self,
        shard: u32,
        parts: &[(Partitioned, Partitioned)],
        books: &Codebooks,
        halves: &[Option<(Codebook, Codebook)>],
    ) -> ShardSections {
        let pack = self.pack;
        let levels = self.order - 1;
        let width = books.width;
        let vocab = self.vocab_size();
        let mut out = ShardSections::default();
        out.sections.push((
            tag::UNI_PROB,
            encode_ints(self.uni_prob.iter().map(|&p| books.unigram.encode(p)), width),
        ));
        out.sections.push((
            tag::UNI_KEEP,
            encode_ints(
                self.uni_prob
                    .iter()
                    .enumerate()
                    .map(|(w, _)| u64::from(keeps(self.uni_flags[w], self.uni_backoff[w]))),
                1,
            ),
        ));
        let ctx1: &[u32] = parts.first().map_or(&[], |(c, _)| c.shard(shard));
        out.sections.push((
            tag::CTX1_SET,
            encode_rank_bits(vocab, ctx1.iter().map(|&w| u64::from(w))),
        ));

        // Level by level: the parent of each context (levels 2+), each context's extension range.
        let mut prev_ext_start: Vec<u64> = Vec::new();
        let mut prev_contexts: &[u32] = &[];
        for j in 1..=levels {
            let contexts = parts[j - 1].0.shard(shard);
            let extensions = parts[j - 1].1.shard(shard);
            let upper = &self.tables[j + 1];
            // Extension ranges.
            let mut ext_start = Vec::with_capacity(contexts.len() + 1);
            let mut e = 0usize;
            for &c in contexts {
                ext_start.push(e as u64);
                let key = self.context_key(j, c);
                while e < extensions.len() && pack.prefix(upper.keys[extensions[e] as usize]) == key {
                    e += 1;
                }
            }
            ext_start.push(e as u64);
            assert_eq!(
                e,
                extensions.len(),
                "level {j}: an extension whose context is not a node"
            );
            // Parents (levels 2+) and the previous level's child pointers.
            let mut parent = Vec::with_capacity(contexts.len());
            if j >= 2 {
                let mut child_start = Vec::with_capacity(prev_contexts.len() + 1);
                let mut c = 0usize;
                for (p, &pc) in prev_contexts.iter().enumerate() {
                    child_start.push(c as u64);
                    let pkey = self.context_key(j - 1, pc);
                    while c < contexts.len() && pack.suffix(self.context_key(j, contexts[c]), j) == pkey {
                        parent.push(p);
                        c += 1;
                    }
                }
                child_start.push(c as u64);
                assert_eq!(c, contexts.len(), "level {j}: a context whose suffix is not a node");
                out.sections.push((
                    tag::level(j - 1, tag::CTX_CHILD),
                    encode_ef(&child_start, contexts.len() as u64 + 1),
                ));
            }
            // Context keys (levels 2+): the oldest word, ranged by parent.
            let mut ctx_key_universe = 0;
            if j >= 2 {
                let mut keys = RangedKeys::new();
                let mut last_parent = usize::MAX;
                for (i, &c) in contexts.iter().enumerate() {
                    if parent[i] != last_parent {
                        keys.start_range();
                        last_parent = parent[i];
                    }
                    keys.push(u64::from(pack.word(self.context_key(j, c), j, 0)));
                }
                let (words, u) = keys.finish();
                ctx_key_universe = u;
                out.sections.push((tag::level(j, tag::CTX_KEY), words));
            }
            // Extension keys: the word (level 1) or its position among the parent context's extensions.
            let mut keys = RangedKeys::new();
            for (i, &c) in contexts.iter().enumerate() {
                let _ = c;
                keys.start_range();
                let (a, b) = (ext_start[i] as usize, ext_start[i + 1] as usize);
                if j == 1 {
                    for &x in &extensions[a..b] {
                        keys.push(u64::from(pack.last(upper.keys[x as usize])));
                    }
                } else {
                    let prev_ext = parts[j - 2].1.shard(shard);
                    let lower = &self.tables[j];
                    let p = parent[i];
                    let (pa, pb) = (prev_ext_start[p] as usize, prev_ext_start[p + 1] as usize);
                    let mut q = pa;
                    for &x in &extensions[a..b] {
                        let w = pack.last(upper.keys[x as usize]);
                        while q < pb && pack.last(lower.keys[prev_ext[q] as usize]) < w {
                            q += 1;
                        }
                        assert!(
                            q < pb && pack.last(lower.keys[prev_ext[q] as usize]) == w,
                            "level {j}: an extension whose suffix is not an extension"
                        );
                        keys.push((q - pa) as u64);
                    }
                }
            }
            assert_eq!(keys.len(), extensions.len() as u64);
            let (key_words, ext_key_universe) = keys.finish();
            out.sections.push((
                tag::level(j, tag::CTX_BACKOFF),
                encode_ints(
                    contexts
                        .iter()
                        .map(|&c| books.backoff[j - 1].encode(self.context_backoff(j, c))),
                    width,
                ),
            ));
            out.sections.push((
                tag::level(j, tag::CTX_EXT),
                encode_ef(&ext_start, extensions.len() as u64 + 1),
            ));
            out.sections.push((tag::level(j, tag::EXT_KEY), key_words));
            let code = |x: u32| -> u64 {
                let (p, f, b) = (
                    upper.prob[x as usize],
                    upper.flags[x as usize],
                    upper.backoff[x as usize],
                );
                match &halves[j - 1] {
                    Some((leave, stay)) if keeps(f, b) => leave.values().len() as u64 + u64::from(stay.encode(p)),
                    Some((leave, _)) => u64::from(leave.encode(p)),
                    None => books.prob[j - 1].encode(p),
                }
            };
            out.sections.push((
                tag::level(j, tag::EXT_PROB),
                encode_ints(extensions.iter().map(|&x| code(x)), width),
            ));
            if j < levels && books.keep_split[j - 1].is_none() {
                out.sections.push((
                    tag::level(j, tag::EXT_KEEP),
                    encode_ints(
                        extensions
                            .iter()
                            .map(|&x| u64::from(keeps(upper.flags[x as usize], upper.backoff[x as usize]))),
                        1,
                    ),
                ));
            }
            out.levels.push(LevelCounts {
                contexts: contexts.len() as u64,
                extensions: extensions.len() as u64,
                ctx_key_universe,
                ext_key_universe,
            });
            prev_ext_start = ext_start;
            prev_contexts = contexts;
        }
        // The highest level's contexts have no children: the child pointers end at level N-2.
        out.sections.sort_by_key(|(t, _)| *t);
        out
    }

    /// What the hashed shards of a build share: which n-grams each stores and, when the values are packed,
    /// every n-gram's extension filter.
    fn hashed_plan(&self, shards: u32, packed: bool) -> HashedPlan {
        HashedPlan {
            members: self.hashed_members(shards),
            filters: if packed { self.extension_filters() } else { Vec::new() },
        }
    }

    /// Per order `n` (index `n`, for `2 ≤ n < order`; the others empty): the extension filter of each n-gram
    /// of the order, in key order: the [`hashed::extension_bits`] of every word `w` such that the n-gram
    /// followed by `w` is an extension, whichever shard stores it (so that a state carrying the filter may be
    /// answered by any shard).
    fn extension_filters(&self) -> Vec<Vec<u32>> {
        let pack = self.pack;
        let mut filters = vec![Vec::new(); self.order + 1];
        for (n, filters) in filters.iter_mut().enumerate().take(self.order).skip(2) {
            let (lower, upper) = (&self.tables[n], &self.tables[n + 1]);
            let mut f = vec![0u32; lower.keys.len()];
            // Keys are sorted with the oldest word highest, so the prefixes of the upper keys come in order.
            let mut i = 0;
            for (&key, &flags) in upper.keys.iter().zip(&upper.flags) {
                if flags & flag::EXT == 0 {
                    continue;
                }
                let prefix = pack.prefix(key);
                while i < lower.keys.len() && lower.keys[i] < prefix {
                    i += 1;
                }
                // (Every extension's prefix is stored: `complete` adds the missing ones.)
                if i < lower.keys.len() && lower.keys[i] == prefix {
                    f[i] |= hashed::extension_bits(pack.last(key));
                }
            }
            *filters = f;
        }
        filters
    }

    /// Per order `n` (index `n`; 0 and 1 empty) and shard: the indices of the n-grams a hashed shard stores,
    /// in key order. Empty when there is one shard (then every stored n-gram is in it).
    fn hashed_members(&self, shards: u32) -> Vec<Vec<Vec<u32>>> {
        let mut members: Vec<Vec<Vec<u32>>> = vec![Vec::new(); self.order + 1];
        if shards == 1 {
            return members;
        }
        let pack = self.pack;
        for (n, t) in self.tables.iter().enumerate().skip(2) {
            let mut per: Vec<Vec<u32>> = vec![Vec::new(); shards as usize];
            for i in 0..t.keys.len() {
                let f = t.flags[i];
                let mut pushed = u32::MAX;
                if f & flag::EXT != 0 {
                    let s = shard_of(pack.word(t.keys[i], n, n - 2), shards);
                    per[s as usize].push(i as u32);
                    pushed = s;
                }
                if f & flag::CTX != 0 {
                    let s = shard_of(pack.last(t.keys[i]), shards);
                    if s != pushed {
                        per[s as usize].push(i as u32);
                    }
                }
            }
            members[n] = per;
        }
        members
    }

    /// Lays out one hashed shard (see [`hashed`]): the unigram array and one table per order. Fails when two
    /// n-grams of one order stored in the shard have the same key.
    fn hashed_sections(
        &self,
        shard: u32,
        shards: u32,
        plan: &HashedPlan,
        books: &Codebooks,
        halves: &[Option<(Codebook, Codebook)>],
    ) -> Result<HashedSections> {
        self.hashed_sections_with(shard, shards, plan, books, halves, &hashed::ngram_hash)
    }

    /// [`hashed_sections`](Self::hashed_sections) with `hash` for the keys (the format's [`hashed::ngram_hash`];
    /// tests pass a weaker one to make collisions).
    fn hashed_sections_with(
        &self,
        shard: u32,
        shards: u32,
        plan: &HashedPlan,
        books: &Codebooks,
        halves: &[Option<(Codebook, Codebook)>],
        hash: &dyn Fn(&[WordId]) -> u64,
    ) -> Result<HashedSections> {
        let pack = self.pack;
        let order = self.order;
        let vocab = self.vocab_size();
        let field = |v: u64| -> u32 { v as u32 };
        let mut out = HashedSections::default();
        // Unigrams: every word's probability, and every context's backoff (a state ending in the word carries
        // it, whichever shard answered); the count is of this shard's level-1 contexts.
        let mut contexts = 0u64;
        let unigrams: Vec<u64> = (0..self.uni_prob.len())
            .map(|w| {
                let prob = field(books.unigram.encode(self.uni_prob[w]));
                let backoff = if order > 1 && self.uni_flags[w] & flag::CTX != 0 {
                    contexts += u64::from(shard_of(w as WordId, shards) == shard);
                    field(books.backoff[0].encode(self.uni_backoff[w]))
                } else {
                    NONE
                };
                u64::from(prob) | u64::from(backoff) << 32
            })
            .collect();
        out.sections.push((hashed::tag::UNIGRAMS, unigrams));
        out.sections.push((
            hashed::tag::UNI_KEEP,
            encode_ints(
                (0..self.uni_prob.len()).map(|w| u64::from(keeps(self.uni_flags[w], self.uni_backoff[w]))),
                1,
            ),
        ));
        out.orders.push(OrderCounts {
            entries: vocab,
            contexts,
            slots: vocab,
        });
        let mut words = [0 as WordId; MAX_ORDER];
        let packed = hashed::packs(books.width);
        for n in 2..=order {
            let t = &self.tables[n];
            let all;
            let indices: &[u32] = if shards == 1 {
                all = (0..t.keys.len() as u32)
                    .filter(|&i| t.flags[i as usize] & (flag::EXT | flag::CTX) != 0)
                    .collect::<Vec<u32>>();
                &all
            } else {
                &plan.members[n][shard as usize]
            };
            // A packed shard's highest order, which has no backoffs, state bits or filters, is narrow.
            let narrow = packed && n == order;
            let mut table = if narrow {
                TableBuilder::narrow(indices.len() as u64)
            } else {
                TableBuilder::new(indices.len() as u64).packed(packed)
            };
            let mut contexts = 0u64;
            for &i in indices {
                let i = i as usize;
                let (key, f, p, b) = (t.keys[i], t.flags[i], t.prob[i], t.backoff[i]);
                for (k, w) in words[..n].iter_mut().enumerate() {
                    *w = pack.word(key, n, k);
                }
                let (ext, ctx) = hashed::roles(&words[..n], shard, shards);
                let ext = ext && f & flag::EXT != 0;
                let ctx = ctx && f & flag::CTX != 0 && n < order;
                let prob = if ext {
                    field(match &halves[n - 2] {
                        Some((leave, stay)) if keeps(f, b) => leave.values().len() as u64 + u64::from(stay.encode(p)),
                        Some((leave, _)) => u64::from(leave.encode(p)),
                        None => books.prob[n - 2].encode(p),
                    })
                } else {
                    NONE
                };
                // A context's backoff goes with its extension entry too: the state a query leaves ends in that
                // n-gram, and carries its backoff to the next query, which another shard may answer.
                let backoff = if ctx || (ext && f & flag::CTX != 0 && n < order) {
                    contexts += u64::from(ctx);
                    field(books.backoff[n - 1].encode(b))
                } else {
                    NONE
                };
                let keep = ext && n < order && keeps(f, b);
                let key = hash(&words[..n]);
                let filter = plan.filters.get(n).and_then(|f| f.get(i)).copied().unwrap_or(0);
                if table.insert(key, keep, prob, backoff, filter).is_err() {
                    let name = |ids: &[WordId]| -> String {
                        ids.iter()
                            .map(|&w| self.words[w as usize].as_str())
                            .collect::<Vec<_>>()
                            .join(" ")
                    };
                    let this = name(&words[..n]);
                    let other = indices
                        .iter()
                        .map(|&o| {
                            let ids: Vec<WordId> = (0..n).map(|k| pack.word(t.keys[o as usize], n, k)).collect();
                            ids
                        })
                        .find(|ids| ids[..] != words[..n] && hash(ids) == key)
                        .map_or_else(|| "another".to_string(), |ids| format!("{:?}", name(&ids)));
                    return Err(Error::Collision {
                        path: self.source.clone(),
                        what: format!(
                            "the {n}-grams {this:?} and {other} have the same stored hash bits, which the hashed \
                             layout takes for identity"
                        ),
                    });
                }
            }
            out.orders.push(OrderCounts {
                entries: indices.len() as u64,
                contexts,
                slots: table.slots(),
            });
            out.sections.push((hashed::tag::table(n), table.finish()));
        }
        Ok(out)
    }

    /// Writes the model directory.
    fn write(
        &self,
        out: &Path,
        options: &BuildOptions,
        on_file: &(dyn Fn(&Path) -> ControlFlow<()> + Sync),
    ) -> Result<Manifest> {
        fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        let manifest_path = out.join(MANIFEST);
        match fs::remove_file(&manifest_path) {
            Ok(()) => sync_dir(out)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&manifest_path, e)),
        }
        let shards = options.shards;
        let (books, halves) = self.codebooks(options.quantize);
        let fields = |shard: u32| HeaderFields {
            order: self.order as u32,
            vocab_size: self.vocab_size(),
            shard,
            shards,
            quant_bits: options.quantize,
            ngrams: self.counts.iter().sum(),
        };
        let check = |path: &Path| -> Result<()> {
            match on_file(path) {
                ControlFlow::Continue(()) => Ok(()),
                ControlFlow::Break(()) => Err(Error::Cancelled(format!(
                    "build stopped after writing {}",
                    path.display()
                ))),
            }
        };
        // The vocabulary.
        let mut sorted: Vec<(&str, WordId)> = self
            .words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.as_str(), i as WordId))
            .collect();
        sorted.sort_unstable();
        let fst = vocab::build_fst(&sorted)?;
        let mut meta: Vec<u64> = vec![u64::from(self.unk), u64::from(self.bos), u64::from(self.eos)];
        meta.extend(&self.counts);
        let vocab_entry = write_file(out, VOCAB, Kind::Vocab, &fields(0), |w| {
            w.bytes_section(vocab::tag::FST, &fst)?;
            let meta: Vec<u8> = meta.iter().flat_map(|w| w.to_le_bytes()).collect();
            w.open_section(vocab::tag::META, &meta)?;
            w.open_section(vocab::tag::SMOOTHING, options.smoothing.as_bytes())
        })?;
        check(&out.join(VOCAB))?;
        drop(fst);
        // The shards.
        let parts = match options.layout {
            Layout::Trie => self.partition(shards),
            Layout::Hashed => Vec::new(),
        };
        let books_bytes = codebook_bytes(&books);
        let plan = match options.layout {
            Layout::Hashed => self.hashed_plan(shards, hashed::packs(books.width)),
            Layout::Trie => HashedPlan::default(),
        };
        let one = |s: u32| -> Result<FileEntry> {
            let name = shard_file_name(s);
            let (kind, directory, sections, align) = match options.layout {
                Layout::Trie => {
                    let sections = self.shard_sections(s, &parts, &books, &halves);
                    let directory = sections.directory(self.order, self.vocab_size(), s, shards, &books);
                    (Kind::Shard, directory, sections.sections, 8)
                }
                Layout::Hashed => {
                    let sections = self.hashed_sections(s, shards, &plan, &books, &halves)?;
                    let directory = sections.directory(self.order, self.vocab_size(), s, shards, &books);
                    // Tables start on a cache line, so that no 16-byte entry straddles two.
                    (Kind::HashedShard, directory, sections.sections, 64)
                }
            };
            let entry = write_file(out, &name, kind, &fields(s), |w| {
                let directory: Vec<u8> = directory.iter().flat_map(|w| w.to_le_bytes()).collect();
                w.open_section(tag::DIRECTORY, &directory)?;
                w.open_section(tag::CODEBOOKS, &books_bytes)?;
                for (t, words) in &sections {
                    w.align_to(align)?;
                    w.words_section(*t, words)?;
                }
                Ok(())
            })?;
            check(&out.join(&name))?;
            Ok(entry)
        };
        let shard_entries: Vec<FileEntry> = if options.parallel {
            (0..shards).into_par_iter().map(one).collect::<Result<_>>()?
        } else {
            (0..shards).map(one).collect::<Result<_>>()?
        };
        let mut files = vec![vocab_entry];
        files.extend(shard_entries);
        let manifest = Manifest {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            order: self.order,
            smoothing: options.smoothing.clone(),
            vocab_size: self.vocab_size(),
            counts: self.counts.clone(),
            quantization: Quantization {
                prob_bits: options.quantize,
                backoff_bits: options.quantize,
            },
            shards,
            layout: options.layout,
            files,
        };
        let bytes = manifest.to_bytes();
        let mut tmp = temp_file(out)?;
        tmp.write_all(&bytes).map_err(|e| Error::io(tmp.path(), e))?;
        tmp.as_file().sync_all().map_err(|e| Error::io(tmp.path(), e))?;
        tmp.persist(&manifest_path)
            .map_err(|e| Error::io(&manifest_path, e.error))?;
        sync_dir(out)?;
        remove_stale_shards(out, shards);
        check(&manifest_path)?;
        Ok(manifest)
    }
}

/// Indices sorted by (shard, key), with the boundaries of each shard.
#[derive(Debug)]
struct Partitioned {
    indices: Vec<u32>,
    bounds: Vec<usize>,
}

impl Partitioned {
    fn new(mut items: Vec<(u32, u128, u32)>, shards: u32) -> Partitioned {
        items.par_sort_unstable();
        let mut bounds = Vec::with_capacity(shards as usize + 1);
        for s in 0..=shards {
            bounds.push(items.partition_point(|&(sh, _, _)| sh < s));
        }
        Partitioned {
            indices: items.into_iter().map(|(_, _, i)| i).collect(),
            bounds,
        }
    }

    fn shard(&self, s: u32) -> &[u32] {
        &self.indices[self.bounds[s as usize]..self.bounds[s as usize + 1]]
    }
}

/// Passes written bytes on and hashes them.
struct HashWriter<W> {
    inner: W,
    sha: Sha256,
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

type FileWriter = ContainerWriter<HashWriter<BufWriter<tempfile::NamedTempFile>>>;

/// Writes one container file to a temporary name in `dir`, syncs it and renames it to `name`.
fn write_file(
    dir: &Path,
    name: &str,
    kind: Kind,
    fields: &HeaderFields,
    body: impl FnOnce(&mut FileWriter) -> io::Result<()>,
) -> Result<FileEntry> {
    let path = dir.join(name);
    let tmp = temp_file(dir)?;
    let tmp_path: PathBuf = tmp.path().to_path_buf();
    let io_err = |e: io::Error| Error::io(&tmp_path, e);
    let sink = HashWriter {
        inner: BufWriter::with_capacity(1 << 20, tmp),
        sha: Sha256::new(),
    };
    let mut writer = ContainerWriter::new(sink, kind, fields).map_err(io_err)?;
    body(&mut writer).map_err(io_err)?;
    let (mut sink, crc) = writer.finish().map_err(io_err)?;
    sink.flush().map_err(io_err)?;
    let sha = hex::encode(sink.sha.finalize());
    let tmp = sink.inner.into_inner().map_err(|e| io_err(e.into_error()))?;
    let bytes = tmp.as_file().metadata().map_err(io_err)?.len();
    tmp.as_file().sync_all().map_err(io_err)?;
    tmp.persist(&path).map_err(|e| Error::io(&path, e.error))?;
    Ok(FileEntry {
        name: name.into(),
        bytes,
        crc32: format!("{crc:08x}"),
        sha256: sha,
    })
}

/// A temporary file in `dir`, readable by all (as files created normally are, within the umask), unlike
/// `NamedTempFile`'s private default.
fn temp_file(dir: &Path) -> Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".fivegram-tmp-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o644));
    }
    builder.tempfile_in(dir).map_err(|e| Error::io(dir, e))
}

/// Syncs a directory so that renames and removals in it are durable.
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// Removes shard files of an earlier build with more shards (best effort: they are not part of the model).
fn remove_stale_shards(dir: &Path, shards: u32) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let index = name
            .strip_prefix("shard-")
            .and_then(|r| r.strip_suffix(".fgs"))
            .and_then(|n| n.parse::<u32>().ok());
        if let Some(i) = index
            && i >= shards
            && name == shard_file_name(i)
        {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_hashes_fail_the_build_naming_both_ngrams() {
        let arpa = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/toy3.arpa");
        let model = Model::read(ArpaReader::open(&arpa).unwrap()).unwrap();
        let (books, halves) = model.codebooks(8);
        let plan = model.hashed_plan(1, true);
        // One key for all n-grams of a length: the second bigram stored collides with the first.
        let weak = |words: &[WordId]| (words.len() as u64) << 8;
        match model.hashed_sections_with(0, 1, &plan, &books, &halves, &weak) {
            Err(Error::Collision { path, what }) => {
                assert_eq!(path, arpa);
                assert!(what.starts_with("the 2-grams "), "{what}");
                assert_eq!(what.matches('"').count(), 4, "both n-grams quoted: {what}");
                let message = Error::Collision { path, what }.to_string();
                assert!(message.contains("--layout trie"), "{message}");
            }
            other => panic!("expected a collision, got {other:?}"),
        }
        // The format's hash stores the same model.
        let sections = model.hashed_sections(0, 1, &plan, &books, &halves).unwrap();
        assert_eq!(sections.orders.len(), model.order);
    }
}
