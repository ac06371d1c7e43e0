//! The vocabulary: words ↔ dense `u32` ids, numbered the way KenLM's `lmplz` numbers them.
//!
//! Ids 0, 1 and 2 are always `<unk>`, `<s>` and `</s>` ([`UNK`], [`BOS`], [`EOS`]); every other word gets the next
//! id the first time it is seen, so ids follow first occurrence in the corpus. `lmplz` writes its unigrams in id
//! order, so this order is also the order of the `\1-grams:` section of an ARPA file written by this crate.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Id of `<unk>`, the unknown word.
pub const UNK: u32 = 0;
/// Id of `<s>`, the sentence start.
pub const BOS: u32 = 1;
/// Id of `</s>`, the sentence end.
pub const EOS: u32 = 2;

/// The three special words, in id order.
pub const SPECIALS: [&str; 3] = ["<unk>", "<s>", "</s>"];

/// A fast, non-cryptographic hasher for short keys (word strings and word ids): the multiply-rotate scheme
/// used by rustc ("FxHash"), processing 8 bytes at a time.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(b));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b) ^ ((rest.len() as u64) << 56));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// `BuildHasher` for [`FxHasher`].
pub type FxBuildHasher = BuildHasherDefault<FxHasher>;

/// Words ↔ ids. See the [module documentation](self) for the numbering.
#[derive(Debug, Clone)]
pub struct Vocab {
    words: Vec<Box<str>>,
    ids: HashMap<Box<str>, u32, FxBuildHasher>,
}

impl Default for Vocab {
    fn default() -> Self {
        Self::new()
    }
}

impl Vocab {
    /// A vocabulary holding only `<unk>`, `<s>` and `</s>`.
    pub fn new() -> Self {
        let mut vocab = Vocab {
            words: Vec::new(),
            ids: HashMap::default(),
        };
        for word in SPECIALS {
            vocab.find_or_insert(word);
        }
        vocab
    }

    /// The id of `word`, adding it with the next free id if it is new.
    #[inline]
    pub fn find_or_insert(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.ids.get(word) {
            return id;
        }
        let id = u32::try_from(self.words.len()).unwrap_or(u32::MAX);
        let boxed: Box<str> = word.into();
        self.ids.insert(boxed.clone(), id);
        self.words.push(boxed);
        id
    }

    /// The id of `word`, if it is in the vocabulary.
    #[inline]
    pub fn get(&self, word: &str) -> Option<u32> {
        self.ids.get(word).copied()
    }

    /// The word with id `id`.
    ///
    /// # Panics
    /// When `id` is not below [`Vocab::len`]; ids come from this vocabulary, so that is a bug in the caller.
    #[inline]
    pub fn word(&self, id: u32) -> &str {
        &self.words[id as usize]
    }

    /// The number of words, the three special words included.
    #[inline]
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Never true: the special words are always there.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// True for `<unk>`, `<s>` and `</s>`, which may not appear in input text.
    #[inline]
    pub fn is_special(id: u32) -> bool {
        id <= EOS
    }

    /// All words in id order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.words.iter().map(|w| &**w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specials_first_then_first_seen_order() {
        let mut v = Vocab::new();
        assert_eq!(v.len(), 3);
        assert_eq!(v.word(UNK), "<unk>");
        assert_eq!(v.word(BOS), "<s>");
        assert_eq!(v.word(EOS), "</s>");
        assert_eq!(v.find_or_insert("b"), 3);
        assert_eq!(v.find_or_insert("a"), 4);
        assert_eq!(v.find_or_insert("b"), 3);
        assert_eq!(v.get("a"), Some(4));
        assert_eq!(v.get("zz"), None);
        assert_eq!(v.iter().collect::<Vec<_>>(), ["<unk>", "<s>", "</s>", "b", "a"]);
        assert!(Vocab::is_special(EOS) && !Vocab::is_special(3));
    }

    #[test]
    fn hasher_separates_lengths() {
        use std::hash::BuildHasher;
        let b = FxBuildHasher::default();
        assert_ne!(b.hash_one("a"), b.hash_one("a\0"));
        assert_ne!(b.hash_one([1u32, 2]), b.hash_one([2u32, 1]));
    }
}
