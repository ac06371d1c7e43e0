//! The lexicon: every word the speller may propose, with its corpus frequency.
//!
//! On disk it is `lexicon.fst`, an [`fst::Map`] from the lowercased word to its count (the fst format carries
//! its own header, version and checksum, which [`Lexicon::open`] checks). In memory the words are
//! numbered in byte order (the fst's order) and held in one string buffer with an offset array and a small
//! open-addressing hash table for exact lookups, about `len + 12` bytes per word.
//!
//! Which tokens are words is decided by [`is_word`]: letters, possibly joined by internal apostrophes or
//! hyphens. Counting is done by [`WordCounts`], which reads text files through the project's word tokenizer,
//! lowercased, exactly as the language model's training text is tokenized.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use fivegram_corpora::read::{Decoding, TextReader};
use fivegram_corpora::tokenize::{Lang, Tokenizer};
use rayon::prelude::*;

use crate::{Error, Result};

/// The longest word (in bytes) the lexicon holds; longer tokens are not words for the speller.
pub const MAX_WORD_BYTES: usize = 48;

/// Dense id of a lexicon word: its rank in byte order.
pub type LexId = u32;

/// True when `token` can be a lexicon word: it starts and ends with a letter, has at most
/// [`MAX_WORD_BYTES`] bytes, and holds only letters and single internal apostrophes or hyphens.
pub fn is_word(token: &str) -> bool {
    if token.is_empty() || token.len() > MAX_WORD_BYTES {
        return false;
    }
    let mut prev_joiner = true;
    for c in token.chars() {
        if c.is_alphabetic() {
            prev_joiner = false;
        } else if matches!(c, '\'' | '-' | '’') {
            if prev_joiner {
                return false;
            }
            prev_joiner = true;
        } else {
            return false;
        }
    }
    !prev_joiner
}

/// Reads a user's word list (a personal dictionary, see [`crate::Speller::with_user_words`]): one word per line,
/// blank lines and lines starting with `#` skipped, returned lowercased. A line that is not valid UTF-8 or not
/// one word ([`is_word`]: `New York` is two, `C++` none) is an error naming the file and the line.
pub fn read_word_list(path: &Path) -> Result<Vec<String>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let mut words = Vec::new();
    for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let format = |message: String| Error::Format {
            path: path.to_path_buf(),
            line: n as u64 + 1,
            message,
        };
        let line = std::str::from_utf8(line).map_err(|_| format("not valid UTF-8".into()))?;
        // A byte-order mark (some editors start a UTF-8 file with one) is not part of the first word.
        let line = if n == 0 {
            line.trim_start_matches('\u{feff}')
        } else {
            line
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let word = line.to_lowercase();
        if !is_word(&word) {
            return Err(format(format!(
                "{line:?} is not one word (letters, with single apostrophes or hyphens inside, at most \
                 {MAX_WORD_BYTES} bytes)"
            )));
        }
        words.push(word);
    }
    Ok(words)
}

/// The message of an fst error: the underlying one (a checksum mismatch, a bad header), not just "FST error".
fn fst_message(error: fst::Error) -> String {
    match error {
        fst::Error::Fst(inner) => inner.to_string(),
        other => other.to_string(),
    }
}

/// Whether a token has at least two letters and all of them are capitals (`TV`, `NASA`).
fn is_all_capitals(token: &str) -> bool {
    let mut letters = 0;
    for c in token.chars().filter(|c| c.is_alphabetic()) {
        if !c.is_uppercase() {
            return false;
        }
        letters += 1;
    }
    letters >= 2
}

/// Word counts gathered from text, before they become a [`Lexicon`].
#[derive(Debug, Default, Clone)]
pub struct WordCounts {
    /// Lowercased word → (occurrences, occurrences written in lowercase, occurrences written in capitals: at least
    /// two letters, all of them capitals).
    counts: HashMap<String, (u64, u64, u64)>,
    tokens: u64,
}

impl WordCounts {
    /// No counts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts the words of plain or gzip text files (one paragraph or sentence per line), lowercased through
    /// the word tokenizer for `lang`. Files are read in parallel on the current rayon pool.
    pub fn count_files(paths: &[PathBuf], lang: Lang) -> Result<WordCounts> {
        let parts: Vec<WordCounts> = paths
            .par_iter()
            .map(|path| {
                let mut counts = WordCounts::new();
                counts.add_file(path, lang)?;
                Ok(counts)
            })
            .collect::<Result<_>>()?;
        let mut total = WordCounts::new();
        for part in parts {
            total.merge(part);
        }
        Ok(total)
    }

    /// Counts the words of one file.
    pub fn add_file(&mut self, path: &Path, lang: Lang) -> Result<()> {
        let mut reader = TextReader::open(path, Decoding::Lossy)?;
        let tokenizer = Tokenizer::new(lang);
        let mut line = String::new();
        let mut lower = String::new();
        while reader.read_line(&mut line)? {
            self.add_tokens(&tokenizer, &line, &mut lower);
        }
        Ok(())
    }

    /// Counts the words of one line of text.
    pub fn add_text(&mut self, text: &str, lang: Lang) {
        self.add_tokens(&Tokenizer::new(lang), text, &mut String::new());
    }

    fn add_tokens(&mut self, tokenizer: &Tokenizer, text: &str, lower: &mut String) {
        tokenizer.for_each_token(text, |token| {
            self.tokens += 1;
            if !is_word(token) {
                return;
            }
            lower.clear();
            if token.is_ascii() {
                lower.push_str(token);
                lower.make_ascii_lowercase();
            } else {
                lower.extend(token.chars().flat_map(char::to_lowercase));
            }
            let was_lower = u64::from(token == lower.as_str());
            let was_upper = u64::from(was_lower == 0 && is_all_capitals(token));
            match self.counts.get_mut(lower.as_str()) {
                Some(count) => {
                    count.0 += 1;
                    count.1 += was_lower;
                    count.2 += was_upper;
                }
                None => {
                    self.counts.insert(lower.clone(), (1, was_lower, was_upper));
                }
            }
        });
    }

    /// Adds `count` occurrences of `word` (taken as it is, not lowercased or checked), all written in lowercase.
    pub fn add(&mut self, word: &str, count: u64) {
        self.add_cased(word, count, count);
    }

    /// Adds `count` occurrences of `word`, of which `lowercase` were written in lowercase.
    pub fn add_cased(&mut self, word: &str, count: u64, lowercase: u64) {
        let entry = self.counts.entry(word.to_string()).or_default();
        entry.0 += count;
        entry.1 += lowercase.min(count);
        self.tokens += count;
    }

    /// How many occurrences of `word` were written in lowercase.
    pub fn lowercase(&self, word: &str) -> u64 {
        self.counts.get(word).map_or(0, |c| c.1)
    }

    /// How many occurrences of `word` were written in capitals (at least two letters, all capitals: `TV`).
    pub fn all_capitals(&self, word: &str) -> u64 {
        self.counts.get(word).map_or(0, |c| c.2)
    }

    /// Adds another set of counts to this one.
    pub fn merge(&mut self, other: WordCounts) {
        if self.counts.len() < other.counts.len() {
            let mine = std::mem::replace(self, other);
            self.merge(mine);
            return;
        }
        self.tokens += other.tokens;
        for (word, count) in other.counts {
            let entry = self.counts.entry(word).or_default();
            entry.0 += count.0;
            entry.1 += count.1;
            entry.2 += count.2;
        }
    }

    /// The count of `word` (0 when never seen).
    pub fn get(&self, word: &str) -> u64 {
        self.counts.get(word).map_or(0, |c| c.0)
    }

    /// The number of tokens read, words or not.
    pub fn tokens(&self) -> u64 {
        self.tokens
    }

    /// The number of distinct words.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// True when no word was counted.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Every (word, count), in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        self.counts.iter().map(|(w, &c)| (w.as_str(), c.0))
    }
}

/// Mixes the bytes of a string into a 64-bit hash (FxHash-style, then a finaliser).
pub(crate) fn hash_str(s: &str) -> u64 {
    let mut h: u64 = 0x51_7C_C1_B7_27_22_0A_95;
    let bytes = s.as_bytes();
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    for &b in chunks.remainder() {
        h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    h ^= h >> 32;
    h = h.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    h ^ (h >> 32)
}

/// The words of the speller with their counts.
#[derive(Debug, Clone)]
pub struct Lexicon {
    text: String,
    /// `offsets[id]..offsets[id + 1]` is the word's range in `text`.
    offsets: Vec<u32>,
    counts: Vec<u64>,
    total: u64,
    /// Open addressing: 0 = empty, otherwise id + 1 in the low 32 bits and the high 32 bits of the word's
    /// [`hash_str`] in the high ones, so that a look-up reads the text only of words with the same fingerprint.
    slots: Vec<u64>,
}

impl Lexicon {
    /// Builds a lexicon from (word, count) pairs; words that fail [`is_word`] or have a count of 0 are left out,
    /// and a word listed twice has its counts added.
    pub fn from_counts<'a>(pairs: impl IntoIterator<Item = (&'a str, u64)>) -> Lexicon {
        let mut pairs: Vec<(&str, u64)> = pairs.into_iter().filter(|&(w, c)| c > 0 && is_word(w)).collect();
        pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut merged: Vec<(&str, u64)> = Vec::with_capacity(pairs.len());
        for (word, count) in pairs {
            match merged.last_mut() {
                Some(last) if last.0 == word => last.1 += count,
                _ => merged.push((word, count)),
            }
        }
        let mut text = String::with_capacity(merged.iter().map(|p| p.0.len()).sum());
        let mut offsets = Vec::with_capacity(merged.len() + 1);
        let mut counts = Vec::with_capacity(merged.len());
        offsets.push(0);
        for (word, count) in merged {
            text.push_str(word);
            offsets.push(text.len() as u32);
            counts.push(count);
        }
        let mut lexicon = Lexicon {
            text,
            offsets,
            total: counts.iter().sum(),
            counts,
            slots: Vec::new(),
        };
        lexicon.index();
        lexicon
    }

    fn index(&mut self) {
        let n = self.len();
        let size = (n * 2 + 16).next_power_of_two();
        self.slots = vec![0; size];
        let mask = size - 1;
        for id in 0..n {
            let hash = hash_str(self.word(id as LexId));
            let mut slot = hash as usize & mask;
            while self.slots[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            self.slots[slot] = (hash & !0xFFFF_FFFF) | (id as u64 + 1);
        }
    }

    /// Reads `lexicon.fst` (an fst map from word to count). The file's checksum is checked first: a truncated or
    /// damaged file is an error naming it, never a panic nor a wrong lexicon.
    pub fn open(path: impl AsRef<Path>) -> Result<Lexicon> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let corrupt = |message: String| Error::Corrupt {
            path: path.to_path_buf(),
            what: "lexicon",
            message,
        };
        let size = bytes.len();
        let map = fst::Map::new(bytes).map_err(|e| corrupt(fst_message(e)))?;
        map.as_fst().verify().map_err(|e| corrupt(fst_message(e)))?;
        // Each entry takes at least a byte of the file: the count in the footer cannot ask for more.
        let mut pairs: Vec<(String, u64)> = Vec::with_capacity(map.len().min(size));
        let mut stream = fst::IntoStreamer::into_stream(&map);
        while let Some((key, count)) = fst::Streamer::next(&mut stream) {
            let word = std::str::from_utf8(key).map_err(|_| Error::Corrupt {
                path: path.to_path_buf(),
                what: "lexicon",
                message: format!("a key is not UTF-8: {key:?}"),
            })?;
            if !is_word(word) || count == 0 {
                return Err(Error::Corrupt {
                    path: path.to_path_buf(),
                    what: "lexicon",
                    message: format!("entry {word:?} with count {count} is not a valid word"),
                });
            }
            pairs.push((word.to_string(), count));
        }
        Ok(Lexicon::from_counts(pairs.iter().map(|(w, c)| (w.as_str(), *c))))
    }

    /// Writes the lexicon as an fst map, through a temporary file renamed into place.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let io = |e: std::io::Error| Error::io(path, e);
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        {
            let writer = std::io::BufWriter::new(tmp.as_file_mut());
            let mut builder = fst::MapBuilder::new(writer).map_err(|e| fst_io(path, e))?;
            for id in 0..self.len() as LexId {
                builder
                    .insert(self.word(id), self.count(id))
                    .map_err(|e| fst_io(path, e))?;
            }
            let mut writer = builder.into_inner().map_err(|e| fst_io(path, e))?;
            writer.flush().map_err(io)?;
        }
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(path).map_err(|e| io(e.error))?;
        Ok(())
    }

    /// The number of words.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// True when the lexicon has no words.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The sum of all counts.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The id of `word` (already lowercased), if it is in the lexicon.
    pub fn id(&self, word: &str) -> Option<LexId> {
        self.id_hashed(word, hash_str(word))
    }

    /// The first table slot that a look-up of a word with this [`hash_str`] reads (0 for an empty lexicon).
    /// Loading the slots of several words first, in a pass whose loads do not depend on each other, lets their
    /// cache misses overlap before [`Lexicon::id_hashed`] resolves them one by one.
    #[inline]
    pub(crate) fn first_slot(&self, hash: u64) -> u64 {
        if self.slots.is_empty() {
            return 0;
        }
        self.slots[hash as usize & (self.slots.len() - 1)]
    }

    /// [`Lexicon::id`] given `word`'s [`hash_str`].
    #[inline]
    pub(crate) fn id_hashed(&self, word: &str, hash: u64) -> Option<LexId> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let fingerprint = hash & !0xFFFF_FFFF;
        let mut slot = hash as usize & mask;
        loop {
            match self.slots[slot] {
                0 => return None,
                stored if stored & !0xFFFF_FFFF == fingerprint => {
                    let id = (stored as u32).wrapping_sub(1);
                    if self.word(id) == word {
                        return Some(id);
                    }
                }
                _ => {}
            }
            slot = (slot + 1) & mask;
        }
    }

    /// The word with id `id`. Panics when `id` is out of range (ids come from this lexicon).
    pub fn word(&self, id: LexId) -> &str {
        let id = id as usize;
        &self.text[self.offsets[id] as usize..self.offsets[id + 1] as usize]
    }

    /// The count of word `id`.
    pub fn count(&self, id: LexId) -> u64 {
        self.counts[id as usize]
    }

    /// The count of `word`, 0 when it is not in the lexicon.
    pub fn count_of(&self, word: &str) -> u64 {
        self.id(word).map_or(0, |id| self.count(id))
    }

    /// Every (word, count) in byte order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, u64)> + '_ {
        (0..self.len() as LexId).map(|id| (self.word(id), self.count(id)))
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.text.capacity() + 4 * self.offsets.capacity() + 8 * self.counts.capacity() + 8 * self.slots.capacity()
    }
}

fn fst_io(path: &Path, e: fst::Error) -> Error {
    match e {
        fst::Error::Io(e) => Error::io(path, e),
        other => Error::Corrupt {
            path: path.to_path_buf(),
            what: "lexicon",
            message: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_lists_skip_comments_and_name_the_bad_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("words.txt");
        std::fs::write(&path, "# mine\nSandoz\n\n  O'Brien  \nre-enter\n").unwrap();
        assert_eq!(read_word_list(&path).unwrap(), ["sandoz", "o'brien", "re-enter"]);
        std::fs::write(&path, "\u{feff}Sandoz\r\nJory\r\n").unwrap();
        assert_eq!(read_word_list(&path).unwrap(), ["sandoz", "jory"]);
        for (bytes, line, what) in [
            (&b"fine\nNew York\n"[..], 2, "not one word"),
            (&b"C++\n"[..], 1, "not one word"),
            (&b"ok\n\xff\n"[..], 2, "UTF-8"),
        ] {
            std::fs::write(&path, bytes).unwrap();
            let err = read_word_list(&path).unwrap_err().to_string();
            assert!(
                err.contains(&format!("words.txt:{line}:")) && err.contains(what),
                "{err}"
            );
        }
        let err = read_word_list(&dir.path().join("missing.txt")).unwrap_err().to_string();
        assert!(err.contains("missing.txt"), "{err}");
    }

    #[test]
    fn words_are_letters_with_internal_joiners() {
        for good in ["a", "don't", "well-known", "über", "naïve", "o'clock"] {
            assert!(is_word(good), "{good}");
        }
        for bad in ["", "-a", "a-", "a--b", "x2", "3", "'s", "a b", "ab.", "🙂"] {
            assert!(!is_word(bad), "{bad}");
        }
        assert!(!is_word(&"a".repeat(MAX_WORD_BYTES + 1)));
    }

    #[test]
    fn lookup_counts_and_round_trip() {
        let lex = Lexicon::from_counts([("the", 10), ("cat", 3), ("x1", 5), ("cat", 2), ("zebra", 0)]);
        assert_eq!(lex.len(), 2);
        assert_eq!(lex.count_of("cat"), 5);
        assert_eq!(lex.count_of("zebra"), 0);
        assert_eq!(lex.total(), 15);
        assert_eq!(lex.word(lex.id("the").unwrap()), "the");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lexicon.fst");
        lex.write(&path).unwrap();
        // Opening checks the checksum too.
        let back = Lexicon::open(&path).unwrap();
        assert_eq!(back.iter().collect::<Vec<_>>(), lex.iter().collect::<Vec<_>>());
    }

    proptest::proptest! {
        /// `id` finds every word at its id and nothing else, whatever the fingerprints in the slots.
        #[test]
        fn ids_are_found_by_word(
            words in proptest::collection::hash_set("[a-dé]{1,6}", 0..300),
            others in proptest::collection::vec("[a-dé]{0,7}", 0..100),
        ) {
            let lex = Lexicon::from_counts(words.iter().map(|w| (w.as_str(), 1)));
            proptest::prop_assert_eq!(lex.len(), words.len());
            for id in 0..lex.len() as LexId {
                proptest::prop_assert_eq!(lex.id(lex.word(id)), Some(id));
            }
            for other in &others {
                proptest::prop_assert_eq!(lex.id(other).is_some(), words.contains(other));
            }
        }
    }

    #[test]
    fn damaged_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lexicon.fst");
        std::fs::write(&path, b"not an fst at all, sorry").unwrap();
        let err = Lexicon::open(&path).unwrap_err().to_string();
        assert!(err.contains("lexicon.fst"), "{err}");
    }

    #[test]
    fn truncated_or_flipped_files_are_errors_never_panics() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lexicon.fst");
        let letter = |n: usize| char::from(b'a' + (n % 26) as u8);
        let words: Vec<String> = (0..300)
            .map(|i| format!("w{}{}{}", letter(i / 26), letter(i), letter(i * 7)))
            .collect();
        let lexicon = Lexicon::from_counts(words.iter().map(|w| (w.as_str(), 3)));
        lexicon.write(&path).unwrap();
        let good = std::fs::read(&path).unwrap();
        assert_eq!(Lexicon::open(&path).unwrap().len(), 300);
        let damaged = dir.path().join("damaged.fst");
        for cut in 0..good.len() {
            std::fs::write(&damaged, &good[..cut]).unwrap();
            let err = Lexicon::open(&damaged).unwrap_err().to_string();
            assert!(err.contains("damaged.fst"), "cut at {cut}: {err}");
        }
        for at in (0..good.len()).step_by(7) {
            let mut bytes = good.clone();
            bytes[at] ^= 0x5A;
            std::fs::write(&damaged, &bytes).unwrap();
            assert!(Lexicon::open(&damaged).is_err(), "byte {at} flipped");
        }
    }

    #[test]
    fn counts_tokens_lowercased() {
        let mut counts = WordCounts::new();
        counts.add_text("The cat, the DOG and 3 cats.", Lang::En);
        assert_eq!(counts.get("the"), 2);
        assert_eq!(counts.lowercase("the"), 1);
        assert_eq!(counts.lowercase("dog"), 0);
        assert_eq!((counts.all_capitals("dog"), counts.all_capitals("the")), (1, 0));
        assert_eq!(counts.get("dog"), 1);
        assert_eq!(counts.get("3"), 0);
        assert_eq!(counts.tokens(), 9);
    }
}
