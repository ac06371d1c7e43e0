//! Count files in the style of Google's Web 1T: the raw n-gram counts of every order as gzip text shards.
//!
//! A counts directory holds
//! - `vocab.gz`: one `word<TAB>count` line per word in id order (`<unk>`, `<s>`, `</s>`, then first-seen order);
//!   the count is the raw unigram count (`<s>`: the number of sentences, `<unk>`: 0);
//! - `Kgm-0000.gz`, `Kgm-0001.gz`, … for K = 1..=N: one `w1 … wK<TAB>count` line per n-gram of order K that the
//!   model has (`<s>` only in first position), with its raw count in the padded text, at most
//!   [`SHARD_LINES`] lines per shard. Lines are sorted in the model's suffix order by word id (last word first,
//!   by first occurrence), the order the estimator consumes — not alphabetically.
//!
//! [`read_counts`] rebuilds exactly the order-N counts the directory was written from (the order-N lines plus
//! the lower-order lines that start with `<s>`, which stand for the left-padded sentence starts), so text →
//! counts → model and text → model give byte-identical ARPA files. The other lines are there for people and
//! other tools.
//!
//! [`write_counts`] writes into a temporary directory beside the destination and renames it into place when
//! complete; the destination must not exist or be empty.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use fivegram_corpora::read::{Decoding, TextReader};
use flate2::Compression;
use flate2::write::GzEncoder;

use super::{CountConfig, Counter, FullCounts, whitespace_tokens};
use crate::vocab::{BOS, SPECIALS, UNK, Vocab};
use crate::{Error, Result};

/// The most lines in one shard.
pub const SHARD_LINES: u64 = 10_000_000;

/// The file name of shard `shard` of order `order`.
pub fn shard_name(order: usize, shard: u64) -> String {
    format!("{order}gm-{shard:04}.gz")
}

struct ShardWriter {
    dir: PathBuf,
    order: usize,
    shard: u64,
    lines: u64,
    out: Option<GzEncoder<BufWriter<File>>>,
    line: String,
}

impl ShardWriter {
    fn new(dir: &Path, order: usize) -> Self {
        ShardWriter {
            dir: dir.to_path_buf(),
            order,
            shard: 0,
            lines: 0,
            out: None,
            line: String::new(),
        }
    }

    fn write(&mut self, vocab: &Vocab, forward: &[u32], count: u64) -> Result<()> {
        if self.out.is_none() || self.lines == SHARD_LINES {
            self.close()?;
            let path = self.dir.join(shard_name(self.order, self.shard));
            let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
            self.out = Some(GzEncoder::new(
                BufWriter::with_capacity(1 << 20, file),
                Compression::fast(),
            ));
            self.shard += 1;
            self.lines = 0;
        }
        self.line.clear();
        for (i, &w) in forward.iter().enumerate() {
            if i > 0 {
                self.line.push(' ');
            }
            self.line.push_str(vocab.word(w));
        }
        self.line.push('\t');
        self.line.push_str(&count.to_string());
        self.line.push('\n');
        let path = self.dir.join(shard_name(self.order, self.shard - 1));
        if let Some(out) = &mut self.out {
            out.write_all(self.line.as_bytes()).map_err(|e| Error::io(&path, e))?;
        }
        self.lines += 1;
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        if let Some(out) = self.out.take() {
            let path = self.dir.join(shard_name(self.order, self.shard - 1));
            let mut inner = out.finish().map_err(|e| Error::io(&path, e))?;
            inner.flush().map_err(|e| Error::io(&path, e))?;
        }
        Ok(())
    }
}

/// Writes the raw counts of every order of `counts` to `dir`. See the [module documentation](self).
#[allow(clippy::needless_range_loop)]
pub fn write_counts(counts: &FullCounts, dir: &Path) -> Result<()> {
    if dir.exists() {
        let empty = fs::read_dir(dir).map_err(|e| Error::io(dir, e))?.next().is_none();
        if !empty {
            return Err(Error::InvalidOption(format!(
                "{} exists and is not empty; give a new directory for the counts",
                dir.display()
            )));
        }
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let temp = tempfile::Builder::new()
        .prefix(".fivegram-counts-")
        .tempdir_in(parent)
        .map_err(|e| Error::io(parent, e))?;
    let n = counts.order();
    let vocab = &counts.vocab;
    let mut writers: Vec<ShardWriter> = (1..=n).map(|k| ShardWriter::new(temp.path(), k)).collect();
    let mut unigram = vec![0u64; vocab.len()];
    // The current n-gram of each order (a suffix of the last order-N n-gram) and its raw count.
    let mut prev = [0u32; super::MAX_ORDER];
    let mut pending = [0u64; super::MAX_ORDER + 1];
    let mut top_prev = 0usize;
    let mut first = true;
    let mut forward = Vec::with_capacity(n);
    let mut emit = |writers: &mut [ShardWriter], rev: &[u32], k: usize, count: u64| -> Result<()> {
        forward.clear();
        forward.extend(rev[..k].iter().rev());
        writers[k - 1].write(vocab, &forward, count)
    };
    counts.for_each(|rev, c| {
        let lead = rev.iter().rev().take_while(|&&w| w == BOS).count();
        let top = if lead >= 2 { n - (lead - 1) } else { n };
        let m = if first {
            0
        } else {
            rev.iter().zip(&prev[..n]).take_while(|(a, b)| a == b).count()
        };
        // Orders above m changed: the previous n-grams of those orders are complete.
        if !first {
            for k in m + 1..=top_prev {
                emit(&mut writers, &prev[..n], k, pending[k])?;
            }
        }
        first = false;
        for p in pending.iter_mut().take(m + 1).skip(1) {
            *p += c;
        }
        for p in pending.iter_mut().take(top + 1).skip(m + 1) {
            *p = c;
        }
        unigram[rev[0] as usize] += c;
        top_prev = top;
        prev[..n].copy_from_slice(rev);
        Ok(())
    })?;
    if !first {
        for k in 1..=top_prev {
            emit(&mut writers, &prev[..n], k, pending[k])?;
        }
    }
    for w in &mut writers {
        w.close()?;
    }
    unigram[BOS as usize] = counts.sentences;
    let vocab_path = temp.path().join("vocab.gz");
    {
        let file = File::create(&vocab_path).map_err(|e| Error::io(&vocab_path, e))?;
        let mut out = GzEncoder::new(BufWriter::new(file), Compression::fast());
        for (id, word) in vocab.iter().enumerate() {
            writeln!(out, "{word}\t{}", unigram[id]).map_err(|e| Error::io(&vocab_path, e))?;
        }
        out.finish()
            .and_then(|mut w| w.flush())
            .map_err(|e| Error::io(&vocab_path, e))?;
    }
    if dir.exists() {
        fs::remove_dir(dir).map_err(|e| Error::io(dir, e))?;
    }
    // Temporary directories are created private (0700); the counts are ordinary files.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(temp.path(), fs::Permissions::from_mode(0o755)).map_err(|e| Error::io(dir, e))?;
    }
    let temp_path = temp.keep();
    fs::rename(&temp_path, dir).map_err(|e| Error::io(dir, e))?;
    Ok(())
}

fn format_error(path: &Path, line: u64, message: impl Into<String>) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// Splits `words<TAB>count`.
fn parse_line<'a>(path: &Path, number: u64, line: &'a str) -> Result<(&'a str, u64)> {
    let (words, count) = line
        .rsplit_once('\t')
        .ok_or_else(|| format_error(path, number, "expected `words<TAB>count`"))?;
    let count = count
        .trim()
        .parse::<u64>()
        .map_err(|_| format_error(path, number, format!("count {count:?} is not a whole number")))?;
    Ok((words, count))
}

/// The shards of `order` in `dir`, in shard order.
fn shards(dir: &Path, order: usize) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for shard in 0.. {
        let p = dir.join(shard_name(order, shard));
        if !p.is_file() {
            break;
        }
        out.push(p);
    }
    Ok(out)
}

/// Reads a counts directory back into the sorted order-N counts it was written from; `config.order` must be
/// the order the directory was written with. See the [module documentation](self).
pub fn read_counts(dir: &Path, config: CountConfig) -> Result<FullCounts> {
    config.validate()?;
    let n = config.order;
    let vocab_path = dir.join("vocab.gz");
    let mut vocab = Vocab::new();
    let mut sentences = 0u64;
    let mut tokens = 0u64;
    {
        let mut reader = TextReader::open(&vocab_path, Decoding::Strict)?;
        let mut line = String::new();
        while reader.read_line(&mut line)? {
            let number = reader.line_number();
            let (word, count) = parse_line(&vocab_path, number, &line)?;
            let expected = number - 1;
            let id = if expected < SPECIALS.len() as u64 {
                if word != SPECIALS[expected as usize] {
                    return Err(format_error(
                        &vocab_path,
                        number,
                        format!(
                            "expected {} here (the special words come first)",
                            SPECIALS[expected as usize]
                        ),
                    ));
                }
                expected as u32
            } else {
                let before = vocab.len();
                let id = vocab.find_or_insert(word);
                if vocab.len() == before || word.is_empty() || word.contains([' ', '\t']) {
                    return Err(format_error(
                        &vocab_path,
                        number,
                        format!("bad or repeated word {word:?}"),
                    ));
                }
                id
            };
            if id == BOS {
                sentences = count;
            } else if !Vocab::is_special(id) {
                tokens += count;
            }
        }
        if reader.line_number() < SPECIALS.len() as u64 {
            return Err(format_error(
                &vocab_path,
                reader.line_number(),
                "the vocabulary is truncated",
            ));
        }
    }
    let top_shards = shards(dir, n)?;
    if top_shards.is_empty() {
        return Err(Error::InvalidOption(format!(
            "{} has no {n}-gram shards ({}): was it written for another order?",
            dir.display(),
            shard_name(n, 0)
        )));
    }
    if !shards(dir, n + 1)?.is_empty() {
        return Err(Error::InvalidOption(format!(
            "{} holds {}-grams: it was written for a higher order than {n}",
            dir.display(),
            n + 1
        )));
    }
    let mut counter = Counter::with_vocab(config, vocab)?;
    let mut ids: Vec<u32> = Vec::with_capacity(n);
    let mut key = vec![0u32; n];
    for k in 1..=n {
        for path in shards(dir, k)? {
            let mut reader = TextReader::open(&path, Decoding::Strict)?;
            let mut line = String::new();
            while reader.read_line(&mut line)? {
                let number = reader.line_number();
                let (words, count) = parse_line(&path, number, &line)?;
                ids.clear();
                for w in whitespace_tokens(words) {
                    let id = counter
                        .vocab()
                        .get(w)
                        .ok_or_else(|| format_error(&path, number, format!("word {w:?} is not in vocab.gz")))?;
                    ids.push(id);
                }
                if ids.len() != k {
                    return Err(format_error(
                        &path,
                        number,
                        format!("expected {k} words, found {}", ids.len()),
                    ));
                }
                if ids.iter().skip(1).any(|&w| w == BOS) || ids.contains(&UNK) || count == 0 {
                    return Err(format_error(
                        &path,
                        number,
                        "<s> may only start an n-gram, <unk> may not appear, counts are positive",
                    ));
                }
                // Order N: as is. Lower orders: only sentence starts, padded with <s> to order N.
                if k < n && ids[0] != BOS {
                    continue;
                }
                for (slot, &w) in key.iter_mut().zip(ids.iter().rev().chain(std::iter::repeat(&BOS))) {
                    *slot = w;
                }
                counter.add_reversed(&key, count)?;
            }
        }
    }
    counter.set_totals(tokens, sentences);
    counter.finish()
}
