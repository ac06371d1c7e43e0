//! `vocab.fst`: the vocabulary (an `fst::Map` from word to id) and the model's global metadata, in the store's
//! container.
//!
//! Sections: the FST bytes (tag 1); the metadata words (tag 2): the ids of `<unk>`, `<s>` and `</s>`, then the
//! number of n-grams of each order; the smoothing label as UTF-8 (tag 3).

use std::ops::Range;
use std::path::Path;

use super::format::{Container, Kind};
use crate::model::WordId;
use crate::{Error, Result};

/// Section tags of the vocabulary file (frozen).
pub(crate) mod tag {
    /// The FST bytes.
    pub const FST: u32 = 1;
    /// Special ids and counts per order.
    pub const META: u32 = 2;
    /// The smoothing label.
    pub const SMOOTHING: u32 = 3;
}

/// A byte range of an owned buffer, so that the FST can own its bytes inside the file's mapping.
#[derive(Debug, Clone)]
pub struct SubBytes<D> {
    data: D,
    range: Range<usize>,
}

impl<D: AsRef<[u8]>> AsRef<[u8]> for SubBytes<D> {
    fn as_ref(&self) -> &[u8] {
        &self.data.as_ref()[self.range.clone()]
    }
}

impl<D> SubBytes<D> {
    /// The whole underlying buffer (the file).
    pub fn whole(&self) -> &D {
        &self.data
    }
}

/// The parsed vocabulary file.
#[derive(Debug)]
pub(crate) struct VocabFile<D: AsRef<[u8]>> {
    pub map: fst::Map<SubBytes<D>>,
    pub container: Container,
    pub unk: WordId,
    pub bos: WordId,
    pub eos: WordId,
    pub counts: Vec<u64>,
    pub smoothing: String,
}

impl<D: AsRef<[u8]>> VocabFile<D> {
    /// Validates the container and its checksum, and reads the metadata.
    pub(crate) fn open(path: &Path, data: D) -> Result<VocabFile<D>> {
        let bytes = data.as_ref();
        let container = Container::parse(path, bytes, Kind::Vocab)?;
        // The whole file's checksum, not only the header and footer: `fst` trusts its bytes and may panic on a
        // damaged automaton, and the vocabulary is small (a few MB, about a millisecond to check).
        container.verify(path, bytes)?;
        let corrupt = |what: String| Error::Corrupt {
            path: path.to_path_buf(),
            what,
        };
        let section = |tag: u32| {
            container
                .section(tag)
                .map(|s| s.offset as usize..(s.offset + s.len) as usize)
                .ok_or_else(|| corrupt(format!("section {tag} is missing")))
        };
        let meta = &bytes[section(tag::META)?];
        let order = container.fields.order as usize;
        if meta.len() != 8 * (3 + order) {
            return Err(corrupt(format!("metadata of {} bytes for order {order}", meta.len())));
        }
        let words: Vec<u64> = meta
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect();
        let vocab = container.fields.vocab_size;
        let id = |v: u64| -> Result<WordId> {
            if v < vocab {
                Ok(v as WordId)
            } else {
                Err(corrupt(format!(
                    "special word id {v} outside the vocabulary of {vocab}"
                )))
            }
        };
        let (unk, bos, eos) = (id(words[0])?, id(words[1])?, id(words[2])?);
        let counts = words[3..].to_vec();
        if counts.first() != Some(&vocab)
            || counts.iter().try_fold(0u64, |a, &c| a.checked_add(c)) != Some(container.fields.ngrams)
        {
            return Err(corrupt("n-gram counts disagree with the header".into()));
        }
        let smoothing = String::from_utf8(bytes[section(tag::SMOOTHING)?].to_vec())
            .map_err(|_| corrupt("smoothing label is not UTF-8".into()))?;
        let fst_range = section(tag::FST)?;
        let map =
            fst::Map::new(SubBytes { data, range: fst_range }).map_err(|e| corrupt(format!("vocabulary FST: {e}")))?;
        if map.len() as u64 != vocab {
            return Err(corrupt(format!(
                "the FST holds {} words, the header says {vocab}",
                map.len()
            )));
        }
        Ok(VocabFile {
            map,
            container,
            unk,
            bos,
            eos,
            counts,
            smoothing,
        })
    }

    /// The id of `word`, if known.
    pub(crate) fn get(&self, word: &str) -> Option<WordId> {
        self.map.get(word).and_then(|v| WordId::try_from(v).ok())
    }
}

/// Builds the FST bytes for `(word, id)` pairs sorted by word.
pub(crate) fn build_fst(sorted: &[(&str, WordId)]) -> Result<Vec<u8>> {
    let mut builder = fst::MapBuilder::memory();
    for (word, id) in sorted {
        builder
            .insert(word.as_bytes(), u64::from(*id))
            .map_err(|e| Error::InvalidOption(format!("vocabulary FST: {e}")))?;
    }
    builder
        .into_inner()
        .map_err(|e| Error::InvalidOption(format!("vocabulary FST: {e}")))
}
