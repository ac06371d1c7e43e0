//! The [`Speller`]: candidates from the lexicon, ranked by the error model and the language model.

use std::cell::RefCell;
use std::path::Path;

use fivegram_corpora::tokenize::{Lang, Tokenizer};
use fivegram_lm::model::{LanguageModel, Scored, State, WordId};
use rayon::prelude::*;
use serde::Serialize;

use crate::edit::{BuildFx, ErrorModel, Scratch};
use crate::index::{DeleteIndex, Pattern};
use crate::lexicon::{LexId, Lexicon, hash_str, is_word};
use crate::model::{Manifest, Ranking, WrittenCase, default_model_dir, open_language_model};
use crate::phonetic::phonetic_key;
use crate::{Error, Result};

/// How many times more likely than anywhere the language model must find a capitalised word after a lowercase
/// one for the pair to read as one name (`new york`, `south africa`), which recasing then capitalises whole
/// (`New York`, not `new York`). With the default English model `in london` is about 13, `on monday` 100,
/// `new york` 1,200, `los angeles` 170,000.
pub const NAME_PART_RATIO: f32 = 300.0;
/// Particles that stay in lowercase inside a name (`van Gogh`, `von Neumann`, `de Gaulle`, `la Fontaine`): never
/// capitalised with the name that follows them.
const NAME_PARTICLES: &[&str] = &[
    "af", "al", "d'", "da", "das", "de", "del", "della", "den", "der", "des", "di", "do", "dos", "du", "el", "la",
    "le", "les", "lo", "ten", "ter", "van", "von", "zu",
];
/// Characters of the word that the delete index looks at.
pub const INDEX_PREFIX: usize = 7;
/// Deletions the index holds per word.
pub const INDEX_DISTANCE: usize = 2;
// The sound-alike search relies on every word one edit away being a spelling neighbour.
const _: () = assert!(INDEX_DISTANCE >= 1);
/// Sound-alike candidates differ in length from the token by at most this many letters.
pub const SOUND_MAX_LENGTH_CHANGE: usize = 4;
/// Sound-alike candidates beyond the spelling neighbours: the most frequent this many.
pub const SOUND_CANDIDATES: usize = 40;
/// Words of up to this many characters (all below U+0100) are stored inline in their `Record` for the
/// candidate search.
pub const SLOT_CHARS: usize = 23;
/// Characters of a lexicon word stored in its search record (the rest of the record holds its letter set).
pub const RECORD_CHARS: usize = 19;
/// The index's hits are checked in batches of this many, most frequent first.
pub const NEIGHBOUR_BATCH: usize = 32;
/// Sound-alike candidates are looked for only for tokens of at least this many letters.
pub const SOUND_MIN_LETTERS: usize = 4;
/// Up to this many hits, [`Words::order_hits`] sorts them instead of counting them out by class.
const FEW_HITS: usize = 16;
/// How many cuts of a token [`Words::splits`] looks up together (see there).
const SPLIT_GROUP: usize = 16;
/// A character belongs to the lexicon's alphabet when it makes up at least this share of the letters of the
/// lexicon's words (weighted by count); unknown tokens mostly in other characters (another script, emoji) get no
/// candidates, so `日本語` is never "corrected" to `i`.
pub const ALPHABET_SHARE: f64 = 1e-5;

/// One proposed word for a token, best first in the lists that hold it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    /// The word, in the case pattern of the input (two words separated by a space for a split).
    pub word: String,
    /// The ranking score: `log10` of the word's prior (or, in context, the language model) weighted, plus the
    /// error model's `log10 P(typed | word)`. Higher is better; only differences between candidates matter.
    pub score: f32,
    /// The error model's `-log10 P(typed | word)`.
    pub error: f32,
    /// Edit distance (insertions, deletions, substitutions, transpositions) from the typed token.
    pub distance: u32,
}

/// One changed (or, from [`Speller::check`], suspicious) span of the input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Span {
    /// Byte offset of the span's start in the input.
    pub start: usize,
    /// Byte offset just past the span's end in the input.
    pub end: usize,
    /// The input's text in the span.
    pub original: String,
    /// What the span becomes (equal to `original` for a suspicious span left alone).
    pub replacement: String,
    /// `log10` odds of the replacement against keeping the original in this context (language model over the
    /// neighbouring words plus the error model). Positive means the replacement is preferred.
    pub score: f32,
    /// Other candidates for the span, best first.
    pub alternatives: Vec<String>,
}

/// The result of correcting one text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Correction {
    /// The corrected text: the input with each span's replacement in place, everything else byte for byte.
    pub text: String,
    /// The changed spans, in order.
    pub spans: Vec<Span>,
}

/// A candidate word for a token, before case is applied.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Candidate {
    id: LexId,
    /// Second word of a split, if any.
    second: Option<LexId>,
    /// A contraction (`do` + `n't`, written `don't`): its number in [`CONTRACTIONS`], whose clitic follows the
    /// word `id` without a space.
    clitic: Option<u8>,
    error: f32,
    distance: u32,
    /// Isolated-word score: weighted prior minus error.
    score: f32,
}

/// Per-thread buffers.
#[derive(Debug, Default)]
struct Work {
    chars: Vec<char>,
    /// The token being searched, as a string (reused buffer).
    text: String,
    /// The delete index's probes (reused buffer).
    probes: Vec<(u64, u32, u32)>,
    /// (id, spelling distance, sound-alike key distance or `u32::MAX`).
    near: Vec<(LexId, u32, u32)>,
    pattern: Pattern,
    edit: Scratch,
    key: Vec<char>,
    key_pattern: Pattern,
    /// Distinct sound-alike keys found by the index.
    sound_ids: Vec<u32>,
    /// The keys within one edit of the token's: (key, key distance).
    sound: Vec<(u32, u32)>,
    /// The index's hits (tag and id), as they come.
    hits: Vec<u64>,
    /// The index's hits within reach, deduplicated, as [`order_key`]s: most frequent class first, the order in
    /// which they are checked.
    order: Vec<u64>,
    /// `order` before its counting sort (reused buffer).
    unsorted: Vec<u64>,
    /// The distinct ids among the hits of the last [`Words::order_hits`], in a set sized to the hits, so that it
    /// stays in the first-level cache where an array over the whole lexicon would miss it on nearly every hit.
    ordered: IdSet,
    /// Heads of the sound-alike keys' word lists (reused buffer of the merge's heap).
    heads: Vec<SoundHead>,
    /// (score, id) of the candidates kept so far (to find the bar).
    scores: Vec<(f32, LexId)>,
    /// (guessed score, upper bound on the score, position in `near`), best guess first: the order in which the
    /// spelling neighbours are ranked.
    ranked: Vec<(f32, f32, u32)>,
}

/// Log priors in 256 frequency classes, each with an upper bound on the priors in it: what the index tags hold
/// of a word's frequency.
#[derive(Debug, Clone)]
struct PriorClasses {
    /// `bounds[c]`: no prior of class `c` exceeds it; increasing, the last one the highest prior.
    bounds: Vec<f32>,
    /// The least finite prior and the width of a class, for a first guess at a class.
    low: f32,
    step: f32,
}

impl PriorClasses {
    /// Classes of equal width between the least and the greatest finite prior.
    fn new(priors: &[f32]) -> PriorClasses {
        let finite = priors.iter().copied().filter(|p| p.is_finite());
        let low = finite.clone().fold(f32::INFINITY, f32::min);
        let high = finite.fold(f32::NEG_INFINITY, f32::max);
        let (low, high) = if low <= high { (low, high) } else { (0.0, 0.0) };
        let step = (high - low) / 255.0;
        let mut bounds: Vec<f32> = (0..256).map(|c| low + c as f32 * step).collect();
        bounds[255] = high;
        for c in 1..256 {
            bounds[c] = bounds[c].max(bounds[c - 1]);
        }
        PriorClasses { bounds, low, step }
    }

    /// The class of a prior: the first whose bound is not below it.
    #[inline]
    fn class(&self, prior: f32) -> u8 {
        // A guess from the class width, moved to the first class whose bound is not below the prior (rounding
        // can put the guess one off).
        let guess = if self.step > 0.0 {
            ((prior - self.low) / self.step).ceil()
        } else {
            0.0
        };
        let mut class = if guess.is_nan() {
            0
        } else {
            guess.clamp(0.0, 255.0) as usize
        };
        while class < 255 && self.bounds[class] < prior {
            class += 1;
        }
        while class > 0 && self.bounds[class - 1] >= prior {
            class -= 1;
        }
        class as u8
    }

    /// An upper bound on the priors of class `class`.
    #[inline]
    fn bound(&self, class: u8) -> f32 {
        self.bounds[usize::from(class)]
    }
}

/// The order in which the index's hits are checked, as one integer: the most frequent class first, then the
/// shorter word, then the lower id.
#[inline]
fn order_key(class: u8, length: u8, id: LexId) -> u64 {
    u64::from(255 - class) << 40 | u64::from(length) << 32 | u64::from(id)
}

/// A set of lexicon ids for one search: open addressing, [`LexId::MAX`] marking a free slot, at most half the
/// slots filled.
#[derive(Debug, Default)]
struct IdSet {
    slots: Vec<LexId>,
}

impl IdSet {
    /// Empties the set, making room for `n` ids.
    fn reset(&mut self, n: usize) {
        self.slots.clear();
        self.slots.resize((2 * n).next_power_of_two().max(16), LexId::MAX);
    }

    /// The slot holding `id`, or the free slot where it would go (a set that was never reset has none).
    #[inline]
    fn slot(&self, id: LexId) -> Option<usize> {
        let len = self.slots.len();
        if len == 0 {
            return None;
        }
        let mut slot = (u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - len.trailing_zeros())) as usize;
        while self.slots[slot] != id && self.slots[slot] != LexId::MAX {
            slot = (slot + 1) & (len - 1);
        }
        Some(slot)
    }

    /// Adds `id` (at most the `n` of the last reset in all); whether it was new.
    #[inline]
    fn insert(&mut self, id: LexId) -> bool {
        match self.slot(id) {
            Some(slot) if self.slots[slot] != id => {
                self.slots[slot] = id;
                true
            }
            _ => false,
        }
    }

    #[inline]
    fn contains(&self, id: LexId) -> bool {
        self.slot(id).is_some_and(|slot| self.slots[slot] == id)
    }
}

/// The frequency class of an [`order_key`].
#[inline]
fn order_class(key: u64) -> u8 {
    255 - (key >> 40) as u8
}

/// What the candidate search reads of a lexicon word, in 32 bytes (one cache line).
#[derive(Debug, Clone, Copy)]
#[repr(C, align(32))]
struct Record {
    /// The characters as bytes (each below U+0100), when there are at most [`RECORD_CHARS`] of them.
    bytes: [u8; RECORD_CHARS],
    /// The number of characters in `bytes`, or 255 when the word is not stored there.
    len: u8,
    /// The word's letter set ([`letter_set`]), for a bound on its distance before the distance is computed.
    letters: u32,
    /// The number of the word's sound-alike key.
    key: u32,
    /// log10 of the word's relative frequency.
    log_prior: f32,
}

/// Key characters stored inline in a [`KeyRecord`].
const KEY_CHARS: usize = 11;

/// What the candidate search reads of a distinct sound-alike key, in 16 bytes.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(16))]
struct KeyRecord {
    /// The characters as bytes (each below U+0100), when there are at most [`KEY_CHARS`] of them.
    bytes: [u8; KEY_CHARS],
    /// The number of characters in `bytes`, or 255 when the key is not stored there.
    len: u8,
    /// Where the key's words start in `Words::key_words` (they end where the next key's start).
    first: u32,
}

/// A word under a sound-alike key, with what the candidate search reads of it stored alongside, in 32 bytes:
/// the merge of the key lists reads words in the order of their lists, not scattered over the lexicon.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(32))]
struct SoundWord {
    /// The characters as bytes (each below U+0100), when there are at most [`SLOT_CHARS`] of them.
    bytes: [u8; SLOT_CHARS],
    /// The number of characters in `bytes`, or 255 when the word is not stored there.
    len: u8,
    id: LexId,
    log_prior: f32,
}

/// The head of one sound-alike key's word list in the merge that takes the most frequent words first.
#[derive(Debug, Clone, Copy)]
struct SoundHead {
    /// `log_prior` as a totally ordered integer.
    prior: i32,
    id: LexId,
    /// Position in `Words::key_words`.
    at: u32,
    /// Which key of `Work::sound`.
    k: usize,
}

impl SoundHead {
    fn new(word: &SoundWord, at: u32, k: usize) -> SoundHead {
        let bits = word.log_prior.to_bits() as i32;
        SoundHead {
            prior: bits ^ (((bits >> 31) as u32) >> 1) as i32,
            id: word.id,
            at,
            k,
        }
    }
}

impl PartialEq for SoundHead {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for SoundHead {}

impl PartialOrd for SoundHead {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Most frequent first, then the lower id.
impl Ord for SoundHead {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.prior.cmp(&other.prior).then(other.id.cmp(&self.id))
    }
}

thread_local! {
    static WORK: RefCell<Work> = RefCell::new(Work::default());
    /// Candidates of lexicon words in context, per thread: (speller generation, word → candidates). Correct words
    /// make most of any text and repeat, so [`Speller::correct`] looks their candidates up once per thread.
    static KNOWN: RefCell<(u64, std::collections::HashMap<LexId, Vec<Candidate>>)> =
        RefCell::new((0, std::collections::HashMap::new()));
    /// Isolated-word candidates, per thread: (speller generation, (lowercased token, k) → candidates). Running text
    /// repeats its words, so [`Speller::suggest`] ranks each distinct token once per thread.
    static SUGGESTED: RefCell<(u64, SuggestCache)> = RefCell::new((0, SuggestCache::default()));
}

type SuggestCache = std::collections::HashMap<(String, usize), Vec<Candidate>, BuildFx>;

/// The most edits between a lexicon word and a homophone added to its context candidates
/// ([`crate::model::Ranking::context_homophones`]).
pub const HOMOPHONE_DISTANCE: usize = 3;

/// Tokens whose isolated-word candidates each thread caches before it empties its cache.
pub const SUGGEST_CACHE: usize = 50_000;

/// Tokens longer than this (in bytes) are not cached by [`Speller::suggest`].
pub const SUGGEST_CACHE_MAX_BYTES: usize = 40;

/// Empties the calling thread's caches of candidates (those of [`Speller::suggest`] and [`Speller::correct`]):
/// for benchmarks that must see every word ranked afresh. Results never depend on the caches.
pub fn clear_thread_caches() {
    SUGGESTED.with(|c| c.borrow_mut().1.clear());
    KNOWN.with(|c| c.borrow_mut().1.clear());
}

/// Abbreviated titles (lowercase, without their full stop) after which a capitalised word is a name (`Mr.
/// Ratsch`), in the languages the speller serves.
pub const TITLES: &[&str] = &[
    "mr", "mrs", "ms", "messrs", "dr", "prof", "st", "rev", "capt", "col", "gen", "lt", "sgt", "mme", "mlle", "hr",
    "fr", "frl",
];

/// Lexicon words whose context candidates each thread caches before it empties its cache.
pub const KNOWN_CACHE: usize = 50_000;

/// Generations of speller settings: a speller takes a new one when built and whenever its ranking or error model
/// changes, which invalidates the candidates cached for the old settings.
static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn next_generation() -> u64 {
    GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The lexicon prepared for isolated-word ranking: its delete index, its words as characters and their log10
/// relative frequencies.
#[derive(Debug, Clone)]
pub(crate) struct Words {
    lang: Lang,
    lexicon: Lexicon,
    chars: Vec<char>,
    char_offsets: Vec<u32>,
    log_prior: Vec<f32>,
    /// Per word: what the candidate search reads of it, in one cache line.
    records: Vec<Record>,
    /// Per distinct sound-alike key: its characters and the prior of its most frequent word.
    key_records: Vec<KeyRecord>,
    /// The frequency classes of the index tags.
    classes: PriorClasses,
    index: DeleteIndex,
    /// Symmetric-delete index (up to one deletion) over the whole words: the staged search's first stage finds
    /// the words one edit away through it (fewer probes and far fewer hits than through `index`'s prefixes).
    one_edit_index: DeleteIndex,
    /// The distinct sound-alike keys of the words, concatenated.
    keys: Vec<char>,
    key_offsets: Vec<u32>,
    /// Per distinct key: its words, most frequent first (from `key_records[k].first` to
    /// `key_records[k + 1].first`).
    key_words: Vec<SoundWord>,
    /// Symmetric-delete index (one deletion) over the distinct keys.
    sound_index: DeleteIndex,
    /// The characters the lexicon's words are written in (sorted): those that make up at least
    /// [`ALPHABET_SHARE`] of its letters, counts weighted.
    alphabet: Vec<char>,
    /// The [`script_block`]s of the alphabet's characters (sorted).
    alphabet_blocks: Vec<u32>,
    /// Contractions by their spelling without the apostrophe (`dont`), see [`CONTRACTIONS`].
    contractions: std::collections::HashMap<String, Vec<Contraction>>,
}

/// English contractions as the tokenizer splits them (host word, clitic), for words typed without their
/// apostrophe (`dont`, `Im`, `theyre`, `its`), and the possessives of the plurals that do not end in `s`
/// (`childrens` → `children's`). Left out are those whose apostrophe-less spelling is a common word that a
/// sentence seldom tells apart from the contraction (`were`, `well`, `ill`, `hell`, `shell`, `shed`, `wed`, `id`);
/// `its`, `lets`, `cant`, `wont` and `peoples` are words too ([`CONTRACTION_WORDS`]), and are changed only where
/// the context asks for the contraction, as any real-word correction.
pub const CONTRACTIONS: &[(&str, &str)] = &[
    ("do", "n't"),
    ("does", "n't"),
    ("did", "n't"),
    ("ca", "n't"),
    ("wo", "n't"),
    ("is", "n't"),
    ("are", "n't"),
    ("was", "n't"),
    ("were", "n't"),
    ("have", "n't"),
    ("has", "n't"),
    ("had", "n't"),
    ("would", "n't"),
    ("should", "n't"),
    ("could", "n't"),
    ("must", "n't"),
    ("need", "n't"),
    ("ai", "n't"),
    ("i", "'m"),
    ("you", "'re"),
    ("they", "'re"),
    ("it", "'s"),
    ("that", "'s"),
    ("there", "'s"),
    ("here", "'s"),
    ("what", "'s"),
    ("who", "'s"),
    ("where", "'s"),
    ("he", "'s"),
    ("she", "'s"),
    ("let", "'s"),
    ("i", "'ve"),
    ("you", "'ve"),
    ("we", "'ve"),
    ("they", "'ve"),
    ("would", "'ve"),
    ("could", "'ve"),
    ("should", "'ve"),
    ("you", "'ll"),
    ("they", "'ll"),
    ("it", "'ll"),
    ("that", "'ll"),
    ("you", "'d"),
    ("he", "'d"),
    ("they", "'d"),
    ("children", "'s"),
    ("men", "'s"),
    ("women", "'s"),
    ("people", "'s"),
];

/// How many times a document must use a name (see [`Speller::observe_names`]) before [`Speller::correct_in`]
/// leaves it alone: twice, so that a single misspelled capitalised word is still corrected.
pub const DOCUMENT_NAME_SIGHTINGS: u32 = 2;

/// The names a document has shown so far: capitalised words the lexicon does not know, with how often each
/// was seen inside a sentence ([`Speller::observe_names`]).
#[derive(Debug, Clone, Default)]
pub struct DocumentNames {
    counts: std::collections::HashMap<String, u32>,
}

impl DocumentNames {
    /// Whether `lower` (lowercased) has been seen often enough to be left alone.
    pub fn contains(&self, lower: &str) -> bool {
        self.counts.get(lower).is_some_and(|&n| n >= DOCUMENT_NAME_SIGHTINGS)
    }

    /// The names seen often enough, in no particular order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.counts
            .iter()
            .filter(|&(_, &n)| n >= DOCUMENT_NAME_SIGHTINGS)
            .map(|(w, _)| w.as_str())
    }
}

/// English modal verbs after which `of` is the `have` of `should've` misheard (`should of known`): in context, `of`
/// after one of them gets `have` as a candidate, at [`crate::model::Ranking::context_contraction_cost`].
pub const MODALS: &[&str] = &["could", "would", "should", "must", "might", "may"];

/// The spellings of [`CONTRACTIONS`] without their apostrophe that are English words of their own: kept in the
/// lexicon, where every other such spelling (`didnt`, `im`) is a misspelling ([`crate::build::clean_lexicon`]).
pub const CONTRACTION_WORDS: &[&str] = &["its", "lets", "cant", "wont", "peoples"];

/// Whether `word` is a contraction of [`CONTRACTIONS`] spelled without its apostrophe (`dont`, `its`).
pub fn is_contraction_without_apostrophe(word: &str) -> bool {
    CONTRACTIONS.iter().any(|(host, clitic)| {
        word.strip_prefix(host)
            .is_some_and(|rest| rest.chars().eq(clitic.chars().filter(|&c| c != '\'')))
    })
}

/// A contraction of [`CONTRACTIONS`] whose host is a lexicon word and whose words the language model knows.
#[derive(Debug, Clone)]
struct Contraction {
    host: LexId,
    /// Its number in [`CONTRACTIONS`].
    number: u8,
    /// The host's log prior plus the language model's `log10 P(clitic | host)`.
    log_prior: f32,
}

/// The contractions of [`CONTRACTIONS`] whose host is a lexicon word and whose host and clitic the language model
/// knows, by their spelling without the apostrophe.
fn contractions(words: &Words, lm: &dyn LanguageModel) -> std::collections::HashMap<String, Vec<Contraction>> {
    let mut table: std::collections::HashMap<String, Vec<Contraction>> = std::collections::HashMap::new();
    let null = lm.null_context_state();
    for (number, &(host, clitic)) in CONTRACTIONS.iter().enumerate() {
        let Some(h) = words.lexicon.id(host) else {
            continue;
        };
        let (host_lm, clitic_lm) = (lm.word_id(host), lm.word_id(clitic));
        if host_lm == lm.unk_id() || clitic_lm == lm.unk_id() {
            continue;
        }
        let after = lm.score(&null, host_lm).state;
        let log_prior = words.log_prior[h as usize] + lm.score(&after, clitic_lm).log10;
        table
            .entry(format!("{host}{}", clitic.replace('\'', "")))
            .or_default()
            .push(Contraction {
                host: h,
                number: number as u8,
                log_prior,
            });
    }
    table
}

/// A coarse script of a character: one block for Latin (Basic Latin to Latin Extended-B, IPA, and Latin Extended
/// Additional), else its 128-code-point block (Greek, Cyrillic, Arabic, CJK ... each fall in blocks of their own).
fn script_block(c: char) -> u32 {
    match u32::from(c) {
        0..=0x2AF | 0x1E00..=0x1EFF => 0,
        code => code >> 7,
    }
}

impl Words {
    pub(crate) fn new(lexicon: Lexicon, lang: Lang) -> Words {
        let mut chars = Vec::new();
        let mut char_offsets = Vec::with_capacity(lexicon.len() + 1);
        char_offsets.push(0);
        let mut keys: Vec<char> = Vec::new();
        let mut key_offsets: Vec<u32> = vec![0];
        let mut key_number: std::collections::HashMap<Vec<char>, u32> = std::collections::HashMap::new();
        let mut word_key: Vec<u32> = Vec::with_capacity(lexicon.len());
        let total = lexicon.total().max(1) as f64;
        let mut log_prior = Vec::with_capacity(lexicon.len());
        let mut key = Vec::new();
        let mut letters: std::collections::HashMap<char, u64> = std::collections::HashMap::new();
        for (word, count) in lexicon.iter() {
            for c in word.chars() {
                *letters.entry(c).or_default() += count;
            }
            let start = chars.len();
            chars.extend(word.chars());
            char_offsets.push(chars.len() as u32);
            phonetic_key(&chars[start..], lang, &mut key);
            let number = *key_number.entry(key.clone()).or_insert_with(|| {
                keys.extend_from_slice(&key);
                key_offsets.push(keys.len() as u32);
                key_offsets.len() as u32 - 2
            });
            word_key.push(number);
            log_prior.push((count as f64 / total).log10() as f32);
        }
        let distinct = key_offsets.len() - 1;
        // Words grouped by key (counting sort), each group most frequent first.
        let mut key_word_offsets = vec![0u32; distinct + 1];
        for &k in &word_key {
            key_word_offsets[k as usize + 1] += 1;
        }
        for k in 0..distinct {
            key_word_offsets[k + 1] += key_word_offsets[k];
        }
        let mut fill = key_word_offsets.clone();
        let mut key_words = vec![
            SoundWord {
                bytes: [0; SLOT_CHARS],
                len: u8::MAX,
                id: 0,
                log_prior: 0.0,
            };
            word_key.len()
        ];
        for (id, &k) in word_key.iter().enumerate() {
            let (bytes, len) = inline_chars(&chars[char_offsets[id] as usize..char_offsets[id + 1] as usize]);
            key_words[fill[k as usize] as usize] = SoundWord {
                bytes,
                len,
                id: id as LexId,
                log_prior: log_prior[id],
            };
            fill[k as usize] += 1;
        }
        for k in 0..distinct {
            key_words[key_word_offsets[k] as usize..key_word_offsets[k + 1] as usize]
                .sort_by(|a, b| b.log_prior.total_cmp(&a.log_prior).then(a.id.cmp(&b.id)));
        }
        // Both indexes tag their entries with frequency classes: the word's and that of the key's most frequent
        // word.
        let classes = PriorClasses::new(&log_prior);
        let spelled = |id: LexId, buf: &mut Vec<char>| {
            buf.extend_from_slice(&chars[char_offsets[id as usize] as usize..char_offsets[id as usize + 1] as usize])
        };
        let tag = |id: LexId| {
            let length = (char_offsets[id as usize + 1] - char_offsets[id as usize]).min(255) as u16;
            length << 8 | u16::from(classes.class(log_prior[id as usize]))
        };
        let index = DeleteIndex::build_tagged(lexicon.len(), INDEX_PREFIX, INDEX_DISTANCE, spelled, tag);
        let one_edit_index = DeleteIndex::build_tagged(lexicon.len(), usize::MAX, 1, spelled, tag);
        let sound_index = DeleteIndex::build_tagged(
            distinct,
            usize::MAX,
            1,
            |id, buf| {
                buf.extend_from_slice(&keys[key_offsets[id as usize] as usize..key_offsets[id as usize + 1] as usize])
            },
            |id| {
                let head = key_words
                    [key_word_offsets[id as usize] as usize..key_word_offsets[id as usize + 1] as usize]
                    .first()
                    .map_or(f32::NEG_INFINITY, |w| w.log_prior);
                u16::from(classes.class(head))
            },
        );
        let all: u64 = letters.values().sum();
        let mut alphabet: Vec<char> = letters
            .into_iter()
            .filter(|&(_, n)| n as f64 >= ALPHABET_SHARE * all as f64)
            .map(|(c, _)| c)
            .collect();
        alphabet.sort_unstable();
        let mut alphabet_blocks: Vec<u32> = alphabet.iter().map(|&c| script_block(c)).collect();
        alphabet_blocks.sort_unstable();
        alphabet_blocks.dedup();
        let records = char_offsets
            .windows(2)
            .enumerate()
            .map(|(id, w)| {
                let word = &chars[w[0] as usize..w[1] as usize];
                let mut record = Record {
                    bytes: [0; RECORD_CHARS],
                    len: u8::MAX,
                    letters: letter_set(word),
                    key: word_key[id],
                    log_prior: log_prior[id],
                };
                if word.len() <= RECORD_CHARS && word.iter().all(|&c| (c as u32) < 256) {
                    record.len = word.len() as u8;
                    for (b, &c) in record.bytes.iter_mut().zip(word) {
                        *b = c as u32 as u8;
                    }
                }
                record
            })
            .collect();
        // One record past the last key, for the end of the last key's words.
        let key_records: Vec<KeyRecord> = (0..=distinct)
            .map(|k| {
                if k == distinct {
                    return KeyRecord {
                        bytes: [0; KEY_CHARS],
                        len: 0,
                        first: key_word_offsets[k],
                    };
                }
                let key = &keys[key_offsets[k] as usize..key_offsets[k + 1] as usize];
                let mut record = KeyRecord {
                    bytes: [0; KEY_CHARS],
                    len: u8::MAX,
                    first: key_word_offsets[k],
                };
                if key.len() <= KEY_CHARS && key.iter().all(|&c| (c as u32) < 256) {
                    record.len = key.len() as u8;
                    for (b, &c) in record.bytes.iter_mut().zip(key) {
                        *b = c as u32 as u8;
                    }
                }
                record
            })
            .collect();
        Words {
            records,
            key_records,
            classes,
            alphabet,
            alphabet_blocks,
            contractions: std::collections::HashMap::new(),
            lang,
            lexicon,
            chars,
            char_offsets,
            log_prior,
            index,
            one_edit_index,
            keys,
            key_offsets,
            key_words,
            sound_index,
        }
    }

    /// The characters of distinct key `key`: from its record (decoded into `buf`) when they fit there.
    #[inline]
    fn key_spelled<'a>(&'a self, key: u32, buf: &'a mut [char; SLOT_CHARS]) -> &'a [char] {
        let record = &self.key_records[key as usize];
        let len = usize::from(record.len);
        if len > KEY_CHARS {
            return self.key_chars(key);
        }
        widen(&record.bytes[..len], buf)
    }

    fn key_chars(&self, key: u32) -> &[char] {
        &self.keys[self.key_offsets[key as usize] as usize..self.key_offsets[key as usize + 1] as usize]
    }

    /// Whether an unknown token could be a misspelling of a lexicon word: at least two characters, at least half
    /// of them in the lexicon's alphabet and the others in the same scripts ([`script_block`]). A token with a
    /// letter of another script (`日x`, `éا`, `Жe`) is not a word of the lexicon's language mistyped, and
    /// correcting it would drop or replace letters nobody here can judge.
    fn writable(&self, word: &[char]) -> bool {
        let mut inside = 0;
        for c in word {
            if self.alphabet.binary_search(c).is_ok() {
                inside += 1;
            } else if self.alphabet_blocks.binary_search(&script_block(*c)).is_err() {
                return false;
            }
        }
        word.len() >= 2 && 2 * inside >= word.len()
    }

    pub(crate) fn lexicon(&self) -> &Lexicon {
        &self.lexicon
    }

    /// Whether two lexicon words have the same sound-alike key (homophones as far as [`phonetic_key`] can tell:
    /// `their` and `there`, `hear` and `here`).
    fn sound_the_same(&self, a: LexId, b: LexId) -> bool {
        self.records[a as usize].key == self.records[b as usize].key
    }

    /// Whether words `a` and `b` may have the same vowel sounds ([`crate::phonetic::may_sound_alike`]); always
    /// for a language without them.
    fn same_vowel_sounds(&self, a: LexId, b: LexId) -> bool {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        if !crate::phonetic::vowel_sound_sets(self.word_chars(a), self.lang, &mut x) {
            return true;
        }
        crate::phonetic::vowel_sound_sets(self.word_chars(b), self.lang, &mut y);
        crate::phonetic::may_sound_alike(&x, &y)
    }

    /// Appends to `cands` up to `limit` homophones of lexicon word `id` that are not among them yet: the most
    /// frequent words under its sound-alike key that may have its vowel sounds
    /// ([`crate::phonetic::may_sound_alike`]: `great` for `grate`) that
    /// start with its letter and are at most [`HOMOPHONE_DISTANCE`] edits away (`hear` for `here`, `sight` for
    /// `site`: two and three edits, too dear for the spelling ranking to propose). Their error is the error
    /// model's cost of typing `id` for them, their score the isolated ranking's. Languages without vowel sounds
    /// (German) get none.
    fn add_homophones(
        &self,
        (errors, ranking, limit): (&ErrorModel, &Ranking, usize),
        id: LexId,
        scratch: &mut Scratch,
        cands: &mut Vec<Candidate>,
    ) {
        let word = self.word_chars(id);
        let mut sounds = Vec::new();
        let mut other_sounds = Vec::new();
        if limit == 0 || !crate::phonetic::vowel_sound_sets(word, self.lang, &mut sounds) {
            return;
        }
        let key = self.records[id as usize].key as usize;
        let under_key = &self.key_words[self.key_records[key].first as usize..self.key_records[key + 1].first as usize];
        let mut added = 0;
        for entry in under_key {
            if added == limit {
                break;
            }
            let other = self.word_chars(entry.id);
            if entry.id == id
                || other.first() != word.first()
                || cands
                    .iter()
                    .any(|c| c.id == entry.id && c.second.is_none() && c.clitic.is_none())
            {
                continue;
            }
            let Some(distance) = crate::index::osa_distance(word, other, HOMOPHONE_DISTANCE) else {
                continue;
            };
            crate::phonetic::vowel_sound_sets(other, self.lang, &mut other_sounds);
            if !crate::phonetic::may_sound_alike(&sounds, &other_sounds) {
                continue;
            }
            added += 1;
            let error = errors.cost(other, word, scratch);
            cands.push(Candidate {
                id: entry.id,
                second: None,
                clitic: None,
                error,
                distance: distance as u32,
                score: ranking.prior_weight * entry.log_prior - ranking.real_word_cost - error,
            });
        }
    }

    fn word_chars(&self, id: LexId) -> &[char] {
        &self.chars[self.char_offsets[id as usize] as usize..self.char_offsets[id as usize + 1] as usize]
    }

    /// The characters of word `id`: from its record (decoded into `buf`) when they fit there, else from `chars`.
    #[inline]
    fn spelled<'a>(&'a self, id: LexId, buf: &'a mut [char; SLOT_CHARS]) -> &'a [char] {
        let record = &self.records[id as usize];
        let len = usize::from(record.len);
        if len > RECORD_CHARS {
            return self.word_chars(id);
        }
        widen(&record.bytes[..len], buf)
    }

    /// `pattern`'s distance to word `id` (see [`Pattern::distance`]), from the word's record when it is stored
    /// there. `letters` is the pattern's [`letter_set`]: most of the index's hits are further than `max` away, and
    /// the letter sets rule out a quarter of them without reading the words' letters (an edit adds at most one
    /// letter to a word's set and takes at most one away, so no word is closer than the letters either has and
    /// the other lacks).
    #[inline]
    fn distance_to(
        &self,
        (pattern, letters): (&Pattern, u32),
        id: LexId,
        max: usize,
        buf: &mut [char; SLOT_CHARS],
    ) -> Option<usize> {
        let record = &self.records[id as usize];
        if (record.letters & !letters)
            .count_ones()
            .max((letters & !record.letters).count_ones()) as usize
            > max
        {
            return None;
        }
        let len = usize::from(record.len);
        if len > RECORD_CHARS {
            return pattern.distance(self.spelled(id, buf), max);
        }
        pattern.distance_latin1(&record.bytes[..len], max)
    }

    /// The characters of a sound-alike word: from its entry (decoded into `buf`) when they fit there.
    #[inline]
    fn sound_spelled<'a>(&'a self, word: &SoundWord, buf: &'a mut [char; SLOT_CHARS]) -> &'a [char] {
        let len = usize::from(word.len);
        if len > SLOT_CHARS {
            return self.word_chars(word.id);
        }
        widen(&word.bytes[..len], buf)
    }

    /// The candidates for a lowercased token (as characters), best first by isolated score, at most `limit`.
    /// The token itself is among them when it is a lexicon word.
    ///
    /// The answer is the best `limit` of the token itself, its spelling neighbours and its most frequent
    /// sound-alikes by (score, then the lower id), plus splits. To find it without running the full error model
    /// on every candidate, the search bounds each candidate's score from above (its prior less a lower bound on
    /// its error) and ranks candidates in the order of that bound, stopping as soon as no other can make the list.
    /// The index's hits are read most frequent class first (their tags hold length and frequency class), so a
    /// hit whose class rules it out is never read; every bound is admissible, so the answer does not depend on
    /// the order in which candidates are met.
    ///
    /// With `cascade` (isolated suggestions, [`Speller::suggest`]) the search of an unknown token goes in stages
    /// and may stop early, which can change the first candidate: first the words one edit away (and the
    /// splits), each priced by its one wrongly typed piece ([`ErrorModel::one_piece_cost`]: a few look-ups, no
    /// per-query rule tables), kept alone when the best of them scores at least [`Ranking::stop_one_edit`]; then
    /// the other spelling neighbours; then the sound-alikes, unless the best spelling neighbour scores at least
    /// [`Ranking::stop_spelling`]. Each decision rests on the exact best score of the stages before it, which
    /// does not depend on `limit`, so the first candidate does not either: it is the best of the candidates of
    /// the stages that ran. With `limit` 1 the search ends there; with more, a search that would have stopped
    /// goes on in full, and the answer is that first candidate followed by the full ranking without it (the
    /// full search's answer whenever both pick the same first).
    fn candidates(
        &self,
        errors: &ErrorModel,
        ranking: &Ranking,
        word: &[char],
        (limit, cascade): (usize, bool),
        work: &mut Work,
        out: &mut Vec<Candidate>,
    ) {
        out.clear();
        work.text.clear();
        work.text.extend(word.iter());
        let known = self.lexicon.id(&work.text);
        if known.is_none() && !self.writable(word) {
            return;
        }
        let weight = ranking.prior_weight;
        let max = if word.len() >= ranking.long_word {
            ranking.long_distance.max(INDEX_DISTANCE)
        } else {
            INDEX_DISTANCE
        };
        work.pattern.set(word);
        let len = word.len();
        let sounds = word.len() >= SOUND_MIN_LETTERS && {
            phonetic_key(word, self.lang, &mut work.key);
            work.key.len() >= 2
        };
        if sounds {
            work.key_pattern.set(&work.key);
        }
        let penalty = if known.is_some() { ranking.real_word_cost } else { 0.0 };
        let scale = ranking.sound_alike_scale.clamp(0.0, 1.0);
        // First stage (isolated suggestions of an unknown token): the words one edit away, found with a single
        // deletion from the token's prefix (a third of the probes) and priced by their one wrongly typed piece
        // ([`ErrorModel::one_piece_cost`], no per-query rule tables). When the best of them is good enough, it is
        // the first suggestion (`staged`) and a search for one suggestion stops there; otherwise, or when more
        // are asked for, they stay offered and the rest of the full search skips them.
        let cascade = cascade && known.is_none();
        let first_stage = cascade && ranking.stop_one_edit <= 0.0;
        // Every candidate other than the token differs from it by at least one edit, which costs at least this
        // (in the first stage, the model-wide floor, which needs no per-query tables).
        let mut floor = if first_stage {
            errors.min_edit_cost()
        } else {
            errors.query_floor(word, &mut work.edit)
        };
        let mut ranker = Ranker {
            errors,
            word,
            limit,
            weight,
            penalty,
            scale,
            sound_cost: ranking.sound_alike_cost,
            sound_edit: ranking.sound_alike_edit,
            identity: known.map(|id| (weight * self.log_prior[id as usize], id)),
            floor,
            one_piece: first_stage,
            bar: (f32::NEG_INFINITY, LexId::MAX),
        };
        if let (1, Some(entry)) = (limit, ranker.identity) {
            ranker.bar = entry;
        }
        let mut staged = None;
        let mut min_distance = 1;
        if first_stage {
            work.hits.clear();
            self.one_edit_index
                .lookup_tagged(word, &mut work.probes, &mut work.hits);
            self.order_hits(work, len, 1, None);
            self.neighbours(&mut ranker, work, (1, 1), sounds, out);
            if best_score(out) >= ranking.stop_one_edit {
                if limit == 1 {
                    self.finish(ranking, (word, &work.text), None, limit, out);
                    return;
                }
                staged = self.best_with_splits(ranking, (word, &work.text), out);
            }
            min_distance = 2;
            floor = errors.query_floor(word, &mut work.edit);
            ranker.floor = floor;
            ranker.one_piece = false;
        }
        // Spelling neighbours: the index's hits (with repeats and hash collisions). Each hit carries its word's
        // length and frequency class, so the hits are filtered by length and put in order, most frequent class
        // first, without reading anything else of the words. After the first stage its hits stay (their repeats
        // are dropped with the others'; the words one edit away among them are skipped after their check).
        if min_distance == 1 {
            work.hits.clear();
        }
        self.index.lookup_tagged(word, &mut work.probes, &mut work.hits);
        self.order_hits(work, len, max, known);
        self.neighbours(&mut ranker, work, (min_distance, max), sounds, out);
        // Second stage: the sound-alikes only when no spelling neighbour is good enough (or, for more than one
        // suggestion, always, the first being picked without them).
        let mut sounds = sounds;
        if cascade && staged.is_none() && best_score(out) >= ranking.stop_spelling {
            if limit == 1 {
                sounds = false;
            } else {
                staged = self.best_with_splits(ranking, (word, &work.text), out);
            }
        }
        // Sound-alike candidates: the most frequent words under the keys within one edit of the token's that are
        // not spelling neighbours, whatever their spelling distance (a rare word that is neither spelled nor
        // pronounced like the token is never the best guess). Each key's words are stored most frequent first,
        // so a merge of the key lists (a heap of their heads) takes them in the order of their prior, and stops
        // once the prior alone rules out the rest.
        let mut buf = ['\0'; SLOT_CHARS];
        let classes = &self.classes;
        // The least number of edits of a sound-alike candidate (see below).
        let beyond = (INDEX_DISTANCE + 1) as f32;
        if sounds {
            // No word under a key is more frequent than its first: keys whose first's frequency class (the
            // index's tag) is ruled out are dropped before their records are read (a sound-alike is more than
            // [`INDEX_DISTANCE`] edits away, see below, and a key's words that are spelling neighbours were offered
            // above). The survivors' records are loaded in one pass whose loads overlap.
            work.hits.clear();
            self.sound_index
                .lookup_tagged(&work.key, &mut work.probes, &mut work.hits);
            work.sound_ids.clear();
            let bar = ranker.bar.0;
            for &hit in &work.hits {
                if ranker.upper(classes.bound((hit >> 32) as u8), beyond * floor, 0) >= bar {
                    work.sound_ids.push(hit as u32);
                }
            }
            work.sound_ids.sort_unstable();
            work.sound_ids.dedup();
            let mut touched = 0u8;
            for &key in &work.sound_ids {
                touched ^= self.key_records[key as usize].len;
            }
            std::hint::black_box(touched);
            work.sound.clear();
            for &key in &work.sound_ids {
                if let Some(d) = work.key_pattern.distance(self.key_spelled(key, &mut buf), 1) {
                    work.sound.push((key, d as u32));
                }
            }
            work.heads.clear();
            for (k, &(key, _)) in work.sound.iter().enumerate() {
                let at = self.key_records[key as usize].first;
                if at < self.key_records[key as usize + 1].first {
                    work.heads.push(SoundHead::new(&self.key_words[at as usize], at, k));
                }
            }
            let mut heads = std::collections::BinaryHeap::from(std::mem::take(&mut work.heads));
            let mut taken = 0;
            while taken < SOUND_CANDIDATES {
                let Some(head) = heads.pop() else { break };
                let entry = &self.key_words[head.at as usize];
                let (key, key_distance) = work.sound[head.k];
                if head.at + 1 < self.key_records[key as usize + 1].first {
                    heads.push(SoundHead::new(
                        &self.key_words[head.at as usize + 1],
                        head.at + 1,
                        head.k,
                    ));
                }
                let chars = self.sound_spelled(entry, &mut buf);
                let length = chars.len().min(255) as u8;
                if usize::from(length).abs_diff(len) > SOUND_MAX_LENGTH_CHANGE || Some(entry.id) == known {
                    continue;
                }
                // Every word within [`INDEX_DISTANCE`] edits of the token is among the index's hits (each edit
                // costs the two indexed prefixes at most one letter of what they share), and the hits within
                // `max` edits are skipped below, so a sound-alike is at least `beyond` edits away, and at least
                // its difference in length; no later word is more frequent, so none can make the list once this
                // one cannot (whether or not this one is a spelling neighbour).
                if ranker.upper(entry.log_prior, beyond * floor, 0) < ranker.bar.0 {
                    break;
                }
                // Spelling neighbours (hits within `max` edits) were offered above, or ruled out by their bound.
                let mut distance = None;
                if Self::is_ordered(work, entry.id) {
                    let d = work.pattern.distance(chars, 64).unwrap_or(64);
                    if d <= max {
                        continue;
                    }
                    distance = Some(d as u32);
                }
                taken += 1;
                let edits = (usize::from(length).abs_diff(len) as f32).max(beyond);
                if ranker.upper(entry.log_prior, edits * floor, key_distance) < ranker.bar.0 {
                    continue;
                }
                let distance = distance.unwrap_or_else(|| work.pattern.distance(chars, 64).unwrap_or(64) as u32);
                ranker.offer(
                    entry.id,
                    chars,
                    entry.log_prior,
                    distance,
                    key_distance,
                    (&mut work.edit, &mut work.scores),
                    out,
                );
            }
            heads.clear();
            work.heads = heads.into_vec();
        }
        self.finish(ranking, (word, &work.text), known, limit, out);
        // The staged search's first suggestion, then the full ranking's others.
        if let Some(first) = staged {
            out.retain(|c| (c.id, c.second, c.clitic) != (first.id, first.second, first.clitic));
            out.insert(0, first);
            out.truncate(limit);
        }
    }

    /// The best of `out` and the splits of an unknown `word` (characters and text; the first of what
    /// [`Words::finish`] would keep): the higher score, then the lower id, then the one met first.
    fn best_with_splits(&self, ranking: &Ranking, word: (&[char], &str), out: &[Candidate]) -> Option<Candidate> {
        let mut splits = Vec::new();
        self.splits(ranking, word, false, &mut splits);
        out.iter()
            .chain(&splits)
            .min_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)))
            .copied()
    }

    /// Puts the index's hits (`work.hits`) within `max` letters of the token's length `len`, other than `known`,
    /// in `work.order`: deduplicated [`order_key`]s, most frequent class first.
    ///
    /// Repeats are dropped with the small set `work.ordered` (which [`Words::is_ordered`] reads) and the rest
    /// are put in class order by a counting sort: no comparison sort of the few hundred hits. Within a class they
    /// stay in the order found, which changes no answer (the ranking's bounds are admissible and its ties go to
    /// the lower id).
    fn order_hits(&self, work: &mut Work, len: usize, max: usize, known: Option<LexId>) {
        work.ordered.reset(work.hits.len());
        let mut counts = [0u32; 257];
        // The classes met lie in `low..=high`: the running sums need only cover them.
        let (mut low, mut high) = (256, 0);
        work.unsorted.clear();
        for &hit in &work.hits {
            let (id, length, class) = (hit as LexId, (hit >> 40) as u8, (hit >> 32) as u8);
            if usize::from(length).abs_diff(len) <= max && Some(id) != known && work.ordered.insert(id) {
                let key = order_key(class, length, id);
                let bucket = (key >> 40) as usize;
                counts[bucket + 1] += 1;
                (low, high) = (low.min(bucket), high.max(bucket));
                work.unsorted.push(key);
            }
        }
        // A few hits (the first stage's usual case) are sorted directly: the running sums would cover the classes
        // between them.
        if work.unsorted.len() <= FEW_HITS {
            work.order.clear();
            work.order.extend_from_slice(&work.unsorted);
            work.order.sort_unstable();
            return;
        }
        for c in low..high {
            counts[c + 1] += counts[c];
        }
        work.order.clear();
        work.order.resize(work.unsorted.len(), 0);
        for &key in &work.unsorted {
            let at = &mut counts[(key >> 40) as usize];
            work.order[*at as usize] = key;
            *at += 1;
        }
    }

    /// Whether word `id` is among the hits of the last [`Words::order_hits`].
    #[inline]
    fn is_ordered(work: &Work, id: LexId) -> bool {
        work.ordered.contains(id)
    }

    /// Offers the words of `work.order` whose spelling distance from the token is within `distances` (least,
    /// most) to `ranker`.
    ///
    /// The hits are taken most frequent first, in batches: a batch's words are checked (their characters loaded
    /// in one pass whose loads overlap) and ranked best guess first (so that the bar rises early), each with a
    /// cheap bound on its score (`floor` per edit). A word whose frequency class and least number of edits (its
    /// difference in length, and at least `least`: closer words are skipped after their check anyway) rule it
    /// out is never read, and once the most frequent class left is ruled out, so are the others.
    fn neighbours(
        &self,
        ranker: &mut Ranker<'_>,
        work: &mut Work,
        (least, max): (usize, usize),
        sounds: bool,
        out: &mut Vec<Candidate>,
    ) {
        let len = ranker.word.len();
        let letters = letter_set(ranker.word);
        let floor = ranker.floor;
        let typical = ranker.errors.single_edit_floor();
        work.near.clear();
        let mut buf = ['\0'; SLOT_CHARS];
        let mut next = 0;
        let classes = &self.classes;
        while next < work.order.len() {
            if ranker.upper(classes.bound(order_class(work.order[next])), least as f32 * floor, 0) < ranker.bar.0 {
                break;
            }
            let batch = &work.order[next..(next + NEIGHBOUR_BATCH).min(work.order.len())];
            next += batch.len();
            let open = |key: &u64| {
                let edits = usize::from((key >> 32) as u8).abs_diff(len).max(least) as f32;
                ranker.upper(classes.bound(order_class(*key)), edits * floor, 0) >= ranker.bar.0
            };
            let mut touched = 0u8;
            for key in batch.iter().filter(|k| open(k)) {
                touched ^= self.records[*key as LexId as usize].len;
            }
            std::hint::black_box(touched);
            let first = work.near.len();
            for key in batch.iter().filter(|k| open(k)) {
                let id = *key as LexId;
                if let Some(distance) = self.distance_to((&work.pattern, letters), id, max, &mut buf)
                    && distance >= least
                {
                    work.near.push((id, distance as u32, u32::MAX));
                }
            }
            // Spelling neighbours whose sound-alike key is within one edit of the token's get the sound-alike
            // error too.
            if sounds {
                for entry in &mut work.near[first..] {
                    let key = self.records[entry.0 as usize].key;
                    if let Some(d) = work.key_pattern.distance(self.key_spelled(key, &mut buf), 1) {
                        entry.2 = d as u32;
                    }
                }
            }
            work.ranked.clear();
            for (index, &(id, distance, key_distance)) in work.near.iter().enumerate().skip(first) {
                let prior = self.records[id as usize].log_prior;
                let guess = ranker.upper(prior, distance as f32 * typical, key_distance);
                let upper = ranker.upper(prior, distance as f32 * floor, key_distance);
                work.ranked.push((guess, upper, index as u32));
            }
            let near = &work.near;
            work.ranked.sort_unstable_by(|a, b| {
                b.0.total_cmp(&a.0)
                    .then(near[a.2 as usize].0.cmp(&near[b.2 as usize].0))
            });
            for &(_, upper, index) in &work.ranked {
                if upper < ranker.bar.0 {
                    continue;
                }
                let (id, distance, key_distance) = work.near[index as usize];
                ranker.offer(
                    id,
                    self.spelled(id, &mut buf),
                    self.records[id as usize].log_prior,
                    distance,
                    key_distance,
                    (&mut work.edit, &mut work.scores),
                    out,
                );
            }
        }
    }

    /// Adds the token itself (when it is the lexicon word `known`) or its splits to `out`, and keeps the best
    /// `limit` by score, then the lower id.
    fn finish(
        &self,
        ranking: &Ranking,
        word: (&[char], &str),
        known: Option<LexId>,
        limit: usize,
        out: &mut Vec<Candidate>,
    ) {
        if let Some(id) = known {
            out.push(Candidate {
                id,
                second: None,
                clitic: None,
                error: 0.0,
                distance: 0,
                score: ranking.prior_weight * self.log_prior[id as usize],
            });
        }
        self.splits(ranking, word, known.is_some(), out);
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        out.truncate(limit);
    }

    /// The token (`word`, also given as `text`) read as two words: the contraction it spells without its
    /// apostrophe (`dont` → `don't`, also for a lexicon word, `known`, such as `its`), and, for an unknown token
    /// of at least four letters, the splits whose halves are both lexicon words.
    fn splits(&self, ranking: &Ranking, (word, text): (&[char], &str), known: bool, out: &mut Vec<Candidate>) {
        let weight = ranking.prior_weight;
        if let Some(list) = self.contractions.get(text) {
            let penalty = if known { ranking.real_word_cost } else { 0.0 };
            let error = ranking.contraction_cost;
            for c in list {
                out.push(Candidate {
                    id: c.host,
                    second: None,
                    clitic: Some(c.number),
                    error,
                    distance: 1,
                    score: weight * c.log_prior - penalty - error,
                });
            }
        }
        if known || word.len() < 4 {
            return;
        }
        // Single letters other than `a` and `i` are almost never words of their own.
        let single = |s: &[char]| s.len() == 1 && s[0] != 'a' && s[0] != 'i';
        // The halves' look-ups land on random slots of the lexicon's table: the cuts are taken in groups whose
        // slots are first loaded in one pass (the loads do not depend on each other, so their misses overlap),
        // then resolved in order.
        let mut cuts = [(0usize, 0u64, 0u64); SPLIT_GROUP];
        let mut at = 0;
        let mut cut = 1;
        while cut < word.len() {
            let mut n = 0;
            while cut < word.len() && n < SPLIT_GROUP {
                // `text[..at]` is `word[..cut]`.
                at += word[cut - 1].len_utf8();
                if !single(&word[..cut]) && !single(&word[cut..]) {
                    cuts[n] = (at, hash_str(&text[..at]), hash_str(&text[at..]));
                    n += 1;
                }
                cut += 1;
            }
            let mut touched = 0u64;
            for &(_, left, right) in &cuts[..n] {
                touched ^= self.lexicon.first_slot(left) ^ self.lexicon.first_slot(right);
            }
            std::hint::black_box(touched);
            for &(at, left, right) in &cuts[..n] {
                let Some(a) = self.lexicon.id_hashed(&text[..at], left) else {
                    continue;
                };
                let Some(b) = self.lexicon.id_hashed(&text[at..], right) else {
                    continue;
                };
                out.push(Candidate {
                    id: a,
                    second: Some(b),
                    clitic: None,
                    error: ranking.split_cost,
                    distance: 1,
                    score: weight * (self.log_prior[a as usize] + self.log_prior[b as usize]) - ranking.split_cost,
                });
            }
        }
    }

    /// Whether the isolated ranking prefers another word to `word` (a lexicon word): then `word` is most likely
    /// a common misspelling that made it into the corpus.
    pub(crate) fn loses_to_neighbour(&self, errors: &ErrorModel, ranking: &Ranking, word: &str) -> Option<LexId> {
        WORK.with(|work| {
            let mut work = work.borrow_mut();
            let work = &mut *work;
            let mut chars = std::mem::take(&mut work.chars);
            chars.clear();
            chars.extend(word.chars());
            let mut out = Vec::new();
            self.candidates(errors, ranking, &chars, (1, false), work, &mut out);
            work.chars = chars;
            out.first()
                .filter(|c| c.distance > 0 && c.second.is_none() && c.clitic.is_none())
                .map(|c| c.id)
        })
    }
}

/// The isolated-word ranking of one token's candidates: their scores and the bar a candidate must beat to make
/// the best `limit` (with the token itself among them when it is a lexicon word).
struct Ranker<'a> {
    errors: &'a ErrorModel,
    word: &'a [char],
    limit: usize,
    weight: f32,
    /// Subtracted from every candidate's score when the token is a lexicon word.
    penalty: f32,
    scale: f32,
    sound_cost: f32,
    sound_edit: f32,
    /// The token's own (score, id) when it is a lexicon word.
    identity: Option<(f32, LexId)>,
    /// No edit costs less than this for this token ([`ErrorModel::query_floor`], or
    /// [`ErrorModel::min_edit_cost`] in the staged search's first stage).
    floor: f32,
    /// Words one edit away are priced by [`ErrorModel::one_piece_cost`] (the staged search's first stage).
    one_piece: bool,
    /// The `limit`-th best (score, id) so far: higher scores first, then the lower id.
    bar: (f32, LexId),
}

/// The best score in `out` (minus infinity when empty).
fn best_score(out: &[Candidate]) -> f32 {
    out.iter().map(|c| c.score).fold(f32::NEG_INFINITY, f32::max)
}

/// Whether `(score, id)` ranks above `bar`.
#[inline]
fn beats(score: f32, id: LexId, bar: (f32, LexId)) -> bool {
    score > bar.0 || (score == bar.0 && id < bar.1)
}

impl Ranker<'_> {
    /// Sound-alike words pay min(spelling, base + scale · spelling), `base` infinite for the others.
    #[inline]
    fn sound_base(&self, key_distance: u32) -> f32 {
        if key_distance == u32::MAX {
            f32::INFINITY
        } else {
            self.sound_cost + self.sound_edit * key_distance as f32
        }
    }

    /// An upper bound on the score of a word with this prior, given a lower bound on its spelling error.
    #[inline]
    fn upper(&self, log_prior: f32, spelling_lower: f32, key_distance: u32) -> f32 {
        let lower = spelling_lower.min(self.sound_base(key_distance) + self.scale * spelling_lower);
        self.weight * log_prior - self.penalty - lower
    }

    /// Scores candidate `id` unless its bound shows that it cannot beat the bar, and keeps it if it does.
    #[allow(clippy::too_many_arguments)]
    fn offer(
        &mut self,
        id: LexId,
        chars: &[char],
        log_prior: f32,
        distance: u32,
        key_distance: u32,
        (edit, scores): (&mut Scratch, &mut Vec<(f32, LexId)>),
        out: &mut Vec<Candidate>,
    ) {
        // The cheap bound first (`floor` per edit), then the one that looks at the rules that could take part.
        if self.upper(log_prior, distance as f32 * self.floor, key_distance) < self.bar.0 {
            return;
        }
        let best_possible = self.weight * log_prior - self.penalty;
        let base = self.sound_base(key_distance);
        // The staged search's first stage prices a word one edit away by its single wrongly typed piece.
        let one_piece = if self.one_piece && distance == 1 {
            self.errors.one_piece_cost(chars, self.word)
        } else {
            None
        };
        let spelling = match one_piece {
            Some(cost) => cost,
            None => {
                // With no bar yet (the first candidate of a search for one suggestion of an unknown token) no
                // bound can rule a candidate out, and the rule-aware one is not worth computing.
                if self.bar.0 > f32::NEG_INFINITY {
                    let spelling_lower = self.errors.lower_bound(chars, self.word, distance, edit);
                    if self.upper(log_prior, spelling_lower, key_distance) < self.bar.0 {
                        return;
                    }
                }
                let room = best_possible - self.bar.0;
                // The spelling cost matters up to `room` directly, or up to `(room - base) / scale` through the
                // sound.
                let budget = if base.is_finite() && self.scale > 0.0 {
                    room.max((room - base) / self.scale)
                } else {
                    room
                };
                self.errors.cost_within(chars, self.word, budget, edit)
            }
        };
        let error = spelling.min(base + self.scale * spelling);
        let score = best_possible - error;
        if !beats(score, id, self.bar) {
            return;
        }
        out.push(Candidate {
            id,
            second: None,
            clitic: None,
            error,
            distance,
            score,
        });
        let have = out.len() + usize::from(self.identity.is_some());
        if have >= self.limit {
            scores.clear();
            scores.extend(out.iter().map(|c| (c.score, c.id)).chain(self.identity));
            scores.select_nth_unstable_by(self.limit - 1, |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let bar = scores[self.limit - 1];
            out.retain(|c| !beats(bar.0, bar.1, (c.score, c.id)));
            self.bar = bar;
        }
    }
}

/// A spelling corrector: a lexicon, its delete index, an error model and a language model.
///
/// Built once (opening a model reads the lexicon, indexes it and loads the language model) and then shared by
/// any number of threads: every method takes `&self`.
pub struct Speller {
    lang: Lang,
    tokenizer: Tokenizer,
    words: Words,
    /// The error model as trained.
    trained: ErrorModel,
    /// The error model with the ranking's edit bonus applied.
    errors: ErrorModel,
    lm: Box<dyn LanguageModel>,
    lm_ids: Vec<WordId>,
    /// Words of running text that the lexicon leaves out (see [`crate::model::Manifest::variants`]).
    variants: Lexicon,
    /// The user's words, lowercased (see [`Speller::with_user_words`]).
    user_words: std::collections::HashSet<String>,
    /// Per lexicon word: how it is written when not in lowercase (see [`Speller::with_capitalised`]); empty
    /// when every word is written in lowercase.
    capitalised: Vec<Option<WrittenCase>>,
    ranking: Ranking,
    parallel: bool,
    /// See [`GENERATION`].
    generation: u64,
}

impl std::fmt::Debug for Speller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Speller")
            .field("lang", &self.lang)
            .field("words", &self.words.lexicon.len())
            .field("rules", &self.errors.rule_count())
            .field("lm_order", &self.lm.order())
            .field("ranking", &self.ranking)
            .finish_non_exhaustive()
    }
}

impl Speller {
    /// Opens the model in directory `dir` (see [`crate::model`]).
    pub fn open(dir: impl AsRef<Path>) -> Result<Speller> {
        let dir = dir.as_ref();
        let manifest = Manifest::open(dir)?;
        let lexicon = Lexicon::open(dir.join(&manifest.lexicon))?;
        let errors = ErrorModel::open(dir.join(&manifest.errors))?;
        let lm = open_language_model(&dir.join(&manifest.lm))?;
        let lang = manifest.language()?;
        let variants = match &manifest.variants {
            Some(name) => Lexicon::open(dir.join(name))?,
            None => Lexicon::from_counts([]),
        };
        let speller = Speller::from_boxed(lang, lexicon, errors, lm, manifest.ranking).with_variants(variants);
        Ok(match &manifest.capitalised {
            Some(name) => speller.with_capitalised(&Lexicon::open(dir.join(name))?),
            None => speller,
        })
    }

    /// Opens the default model for `lang` (see [`default_model_dir`]); a clear error says how to build it when
    /// it is missing.
    pub fn open_default(lang: Lang) -> Result<Speller> {
        let dir = default_model_dir(lang).ok_or_else(|| Error::MissingModel {
            path: "$XDG_DATA_HOME/fivegram/models".into(),
            hint: "no data directory is known for this user; pass --model DIR".into(),
        })?;
        Speller::open(dir)
    }

    /// Builds a speller from its parts.
    pub fn new(
        lang: Lang,
        lexicon: Lexicon,
        errors: ErrorModel,
        lm: impl LanguageModel + 'static,
        ranking: Ranking,
    ) -> Speller {
        Speller::from_boxed(lang, lexicon, errors, Box::new(lm), ranking)
    }

    /// Builds a speller from its parts, the language model already boxed.
    pub fn from_boxed(
        lang: Lang,
        lexicon: Lexicon,
        errors: ErrorModel,
        lm: Box<dyn LanguageModel>,
        ranking: Ranking,
    ) -> Speller {
        let lm_ids = lexicon.iter().map(|(word, _)| lm.word_id(word)).collect();
        let mut words = Words::new(lexicon, lang);
        if lang == Lang::En {
            words.contractions = contractions(&words, &*lm);
        }
        Speller {
            lang,
            tokenizer: Tokenizer::new(lang),
            words,
            errors: errors.with_bonus(ranking.edit_bonus, ranking.first_letter),
            trained: errors,
            lm,
            lm_ids,
            variants: Lexicon::from_counts([]),
            user_words: Default::default(),
            capitalised: Vec::new(),
            ranking,
            parallel: true,
            generation: next_generation(),
        }
    }

    /// Sets the variants: words that running text may hold although the lexicon leaves them out (see
    /// [`crate::model::Manifest::variants`]). Words of the lexicon among them change nothing.
    pub fn with_variants(mut self, variants: Lexicon) -> Speller {
        self.variants = variants;
        self
    }

    /// Sets the lexicon words that are written capitalised or in capitals (names, German nouns, `TV`; a lexicon
    /// whose values are [`WrittenCase`]s, see [`crate::model::Manifest::capitalised`]): suggestions and
    /// corrections that are such a word are written so whatever the token's case (`mann` → `Mann`); the others
    /// follow the token's case. Words outside the lexicon change nothing.
    pub fn with_capitalised(mut self, words: &Lexicon) -> Speller {
        let lexicon = &self.words.lexicon;
        self.capitalised = if words.is_empty() {
            Vec::new()
        } else {
            lexicon
                .iter()
                .map(|(word, _)| words.id(word).and_then(|id| WrittenCase::from_value(words.count(id))))
                .collect()
        };
        self
    }

    /// Adds the user's own words (a personal dictionary: names, jargon; read from a file by
    /// [`crate::lexicon::read_word_list`]), compared without regard to case. In running text a user word is
    /// never changed nor reported ([`Speller::correct`], [`Speller::check`]); [`Speller::suggest`] gives it back
    /// as its one suggestion (score and error 0). User words are not proposed as corrections of other tokens.
    pub fn with_user_words(mut self, words: impl IntoIterator<Item = impl AsRef<str>>) -> Speller {
        self.user_words
            .extend(words.into_iter().map(|w| w.as_ref().to_lowercase()));
        self.generation = next_generation();
        self
    }

    /// Whether `lower` (lowercased) is one of the user's words.
    fn is_user_word(&self, lower: &str) -> bool {
        !self.user_words.is_empty() && self.user_words.contains(lower)
    }

    /// Runs the batch methods with rayon (`true`, the default) or on the calling thread only.
    pub fn with_parallel(mut self, parallel: bool) -> Speller {
        self.parallel = parallel;
        self
    }

    /// The language.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The lexicon.
    pub fn lexicon(&self) -> &Lexicon {
        &self.words.lexicon
    }

    /// The error model as trained (before the ranking's edit bonus).
    pub fn trained_errors(&self) -> &ErrorModel {
        &self.trained
    }

    /// Replaces the error model (for tuning).
    pub fn set_errors(&mut self, errors: ErrorModel) {
        self.errors = errors.with_bonus(self.ranking.edit_bonus, self.ranking.first_letter);
        self.trained = errors;
        self.generation = next_generation();
    }

    /// The language model.
    pub fn language_model(&self) -> &dyn LanguageModel {
        &*self.lm
    }

    /// The ranking settings.
    pub fn ranking(&self) -> &Ranking {
        &self.ranking
    }

    /// Replaces the ranking settings.
    pub fn set_ranking(&mut self, ranking: Ranking) {
        self.errors = self.trained.with_bonus(ranking.edit_bonus, ranking.first_letter);
        self.ranking = ranking;
        self.generation = next_generation();
    }

    /// The best `limit` candidates for `word`, through the staged search ([`Ranking::stop_one_edit`]) when
    /// `cascade` is set.
    fn candidates(&self, word: &[char], limit: usize, cascade: bool, work: &mut Work, out: &mut Vec<Candidate>) {
        self.words
            .candidates(&self.errors, &self.ranking, word, (limit, cascade), work, out);
    }

    /// A candidate as written: its word (or the two of a split), capitalised where the word is
    /// ([`Speller::with_capitalised`]).
    fn candidate_text(&self, c: &Candidate) -> String {
        let mut text = self.written(c.id);
        if let Some(b) = c.second {
            text.push(' ');
            text.push_str(&self.written(b));
        }
        if let Some(k) = c.clitic {
            text.push_str(CONTRACTIONS[usize::from(k)].1);
        }
        text
    }

    /// Lexicon word `id` as written: in lowercase, capitalised or in capitals.
    fn written(&self, id: LexId) -> String {
        let word = self.words.lexicon.word(id);
        match self.written_case(id) {
            None => word.to_string(),
            Some(WrittenCase::Capitals) => word.to_uppercase(),
            Some(WrittenCase::Capital) => capitalise(word),
        }
    }

    /// How the corpus writes lexicon word `id` when not in lowercase ([`Speller::with_capitalised`]).
    fn written_case(&self, id: LexId) -> Option<WrittenCase> {
        self.capitalised.get(id as usize).copied().flatten()
    }

    /// Up to `k` suggestions for one word, best first, with no context: the noisy channel over the word's
    /// frequency. A word in the lexicon comes back first as itself unless another word is far more likely (see
    /// [`Ranking::real_word_cost`]). Tokens that cannot be words (digits, punctuation, empty) get no suggestions.
    ///
    /// The first suggestion for an unknown token comes from a staged search: the words one edit away (and the
    /// two-word splits, the words priced by their one wrongly typed piece, [`ErrorModel::one_piece_cost`]) alone
    /// when the best of them scores at least [`Ranking::stop_one_edit`] (and the spelling
    /// neighbours alone, without the sound-alikes, when one of them scores at least [`Ranking::stop_spelling`]).
    /// It is the same for every `k`; `suggest(word, 1)` stops there, which is what makes correction fast. For
    /// `k` > 1 the others are the full search's ranking without the first: the list is the full search's best
    /// `k` unless the stages picked another first, which then comes first, followed by the full ranking's others
    /// in order.
    pub fn suggest(&self, word: &str, k: usize) -> Vec<Suggestion> {
        let lower = word.to_lowercase();
        if k == 0 || !is_word(&lower) {
            return Vec::new();
        }
        if self.is_user_word(&lower) {
            return vec![Suggestion {
                word: word.to_string(),
                score: 0.0,
                error: 0.0,
                distance: 0,
            }];
        }
        WORK.with(|work| {
            let mut work = work.borrow_mut();
            let work = &mut *work;
            let mut chars = std::mem::take(&mut work.chars);
            chars.clear();
            chars.extend(lower.chars());
            let suggestions = |found: &[Candidate]| -> Vec<Suggestion> {
                found
                    .iter()
                    .map(|c| Suggestion {
                        word: case_like(word, self.candidate_text(c)),
                        score: c.score,
                        error: c.error,
                        distance: c.distance,
                    })
                    .collect()
            };
            let out = if lower.len() <= SUGGEST_CACHE_MAX_BYTES {
                SUGGESTED.with(|cache| {
                    let mut cache = cache.borrow_mut();
                    if cache.0 != self.generation || cache.1.len() >= SUGGEST_CACHE {
                        cache.1.clear();
                        cache.0 = self.generation;
                    }
                    match cache.1.entry((lower, k)) {
                        std::collections::hash_map::Entry::Occupied(cached) => suggestions(cached.get()),
                        std::collections::hash_map::Entry::Vacant(slot) => {
                            let mut found = Vec::new();
                            self.candidates(&chars, k, true, work, &mut found);
                            suggestions(slot.insert(found))
                        }
                    }
                })
            } else {
                let mut found = Vec::new();
                self.candidates(&chars, k, true, work, &mut found);
                suggestions(&found)
            };
            work.chars = chars;
            out
        })
    }

    /// [`Speller::suggest`] for many words, in parallel unless [`Speller::with_parallel`] turned it off.
    pub fn suggest_batch(&self, words: &[&str], k: usize) -> Vec<Vec<Suggestion>> {
        if self.parallel {
            words.par_iter().map(|w| self.suggest(w, k)).collect()
        } else {
            words.iter().map(|w| self.suggest(w, k)).collect()
        }
    }

    /// Corrects a text in context: every word token gets candidates, and the language model picks the best
    /// sequence. Everything outside changed words (case pattern, punctuation, whitespace) is kept; a word kept
    /// but typed in lowercase where the corpus capitalises it is recased (`london` → `London`, a span of score 0;
    /// see [`Ranking::fix_case`]).
    pub fn correct(&self, text: &str) -> Correction {
        let lattice = self.lattice(text, None);
        let path = self.decode(&lattice);
        self.render(text, &lattice, &path, false)
    }

    /// Counts in `names` the words of `text` that look like names the lexicon does not know: capitalised (not
    /// all capitals), after a word, a comma or a title (so not at the start of a sentence), not lexicon words, variants
    /// or user words. A document's names recur (`Jory`, `Radek`); [`Speller::correct_in`] leaves alone those seen
    /// at least [`DOCUMENT_NAME_SIGHTINGS`] times.
    pub fn observe_names(&self, text: &str, names: &mut DocumentNames) {
        let spans = self.tokenizer.token_spans(text);
        let lowers: Vec<String> = spans.iter().map(|r| text[r.clone()].to_lowercase()).collect();
        for (i, span) in spans.iter().enumerate() {
            if !Self::name_like(&text[span.clone()]) {
                continue;
            }
            let lower = &lowers[i];
            // (A contraction typed without its apostrophe, `Im`, is never a name.)
            if Self::inside(&lowers, i)
                && is_word(lower)
                && !(self.lang == Lang::En && is_contraction_without_apostrophe(lower))
                && self.words.lexicon.id(lower).is_none()
                && self.variants.id(lower).is_none()
                && !self.is_user_word(lower)
            {
                *names.counts.entry(lower.clone()).or_insert(0) += 1;
            }
        }
    }

    /// [`Speller::correct`], leaving alone the names `names` has learnt (see [`Speller::observe_names`]) as it
    /// leaves the user's words.
    pub fn correct_in(&self, text: &str, names: &DocumentNames) -> Correction {
        let lattice = self.lattice(text, Some(names));
        let path = self.decode(&lattice);
        self.render(text, &lattice, &path, false)
    }

    /// Corrects `texts` as one document: first learns its names from all of them ([`Speller::observe_names`]),
    /// then corrects each ([`Speller::correct_in`]), in parallel unless [`Speller::with_parallel`] turned it off.
    /// A name the document uses twice inside its sentences (`Jory`) is not changed into a word (`Jerry`).
    pub fn correct_document(&self, texts: &[&str]) -> Vec<Correction> {
        let mut names = DocumentNames::default();
        for text in texts {
            self.observe_names(text, &mut names);
        }
        if self.parallel {
            texts.par_iter().map(|t| self.correct_in(t, &names)).collect()
        } else {
            texts.iter().map(|t| self.correct_in(t, &names)).collect()
        }
    }

    /// [`Speller::correct`] for many texts, in parallel unless [`Speller::with_parallel`] turned it off.
    pub fn correct_batch(&self, texts: &[&str]) -> Vec<Correction> {
        if self.parallel {
            texts.par_iter().map(|t| self.correct(t)).collect()
        } else {
            texts.iter().map(|t| self.correct(t)).collect()
        }
    }

    /// The spans of `text` that look wrong: the ones [`Speller::correct`] would change, and words that are not
    /// in the lexicon even where no better candidate was found (their replacement is then the word itself).
    pub fn check(&self, text: &str) -> Vec<Span> {
        let lattice = self.lattice(text, None);
        let path = self.decode(&lattice);
        self.render(text, &lattice, &path, true).spans
    }

    /// [`Speller::check`] for many texts, in parallel unless [`Speller::with_parallel`] turned it off.
    pub fn check_batch(&self, texts: &[&str]) -> Vec<Vec<Span>> {
        if self.parallel {
            texts.par_iter().map(|t| self.check(t)).collect()
        } else {
            texts.iter().map(|t| self.check(t)).collect()
        }
    }
}

/// One way to read tokens `from..to` of the input.
#[derive(Debug, Clone)]
struct Edge {
    to: usize,
    /// Language-model words (one or two).
    words: [WordId; 2],
    len: u8,
    /// Error-model and prior costs as a log10 score (≤ 0).
    channel: f32,
    /// The replacement text (as the corpus writes it, see [`Speller::written`]), `None` to keep the input. The
    /// first edge of a token keeps its word; it has a replacement only when it recases the token
    /// ([`Ranking::fix_case`]).
    replacement: Option<String>,
}

/// The tokens of a text and the edges leaving each.
#[derive(Debug, Default)]
struct Lattice {
    spans: Vec<std::ops::Range<usize>>,
    /// Whether each token is a word not in the lexicon.
    unknown: Vec<bool>,
    edges: Vec<Vec<Edge>>,
}

#[derive(Debug, Clone, Copy)]
struct Hyp {
    state: State,
    score: f32,
    /// (position, index in that position's beam, edge index); position usize::MAX for the start.
    back: (usize, usize, usize),
}

impl Speller {
    /// Whether a token is left alone whatever it is: mixed case inside the word (`iPhone`, `McDonald`) or a
    /// short all-capitals acronym.
    fn protected(token: &str) -> bool {
        let mut chars = token.chars();
        let first_upper = chars.next().is_some_and(char::is_uppercase);
        let rest: Vec<char> = chars.filter(|c| c.is_alphabetic()).collect();
        let rest_upper = rest.iter().filter(|c| c.is_uppercase()).count();
        if rest_upper == 0 {
            return false;
        }
        if first_upper && rest_upper == rest.len() {
            // ALL CAPS: acronyms up to 3 letters are kept.
            return rest.len() < 3;
        }
        true
    }

    /// Whether the token at `span` touches a U+FFFD REPLACEMENT CHARACTER: a piece of a word some of whose bytes
    /// could not be decoded, which is left as it is.
    fn fragment(text: &str, span: &std::ops::Range<usize>) -> bool {
        text[..span.start].ends_with(char::REPLACEMENT_CHARACTER)
            || text[span.end..].starts_with(char::REPLACEMENT_CHARACTER)
    }

    /// Whether token `i` (a word the corpus capitalises, language-model word `word`) ends a name whose first
    /// word the corpus writes in lowercase as well (`york` in `new york`): the token before it is a lowercase
    /// lexicon word, not capitalised itself nor a user word or handle, separated by spaces only, and the language
    /// model expects this word after it at least [`NAME_PART_RATIO`] times as much as anywhere. Recasing it alone
    /// would give `new York`. English only: German capitalises nouns, and its strongest pairs are fixed phrases
    /// whose first word stays in lowercase (`zum Beispiel`, `im Freien`, `nach Hause`).
    fn ends_a_name(
        &self,
        text: &str,
        spans: &[std::ops::Range<usize>],
        lowers: &[String],
        i: usize,
        word: WordId,
    ) -> bool {
        if i == 0 || self.lang() != Lang::En {
            return false;
        }
        let previous = &lowers[i - 1];
        let gap = &text[spans[i - 1].end..spans[i].start];
        let before = &text[..spans[i - 1].start];
        if !is_word(previous)
            || gap.is_empty()
            || !gap.chars().all(char::is_whitespace)
            || text[spans[i - 1].clone()].chars().any(char::is_uppercase)
            || before.ends_with(['@', '#'])
            || NAME_PARTICLES.contains(&previous.as_str())
            || self.is_user_word(previous)
            || self
                .words
                .lexicon
                .id(previous)
                .is_none_or(|p| self.written_case(p).is_some())
        {
            return false;
        }
        let null = self.lm.null_context_state();
        let after = self.lm.score(&null, self.lm.word_id(previous)).state;
        let alone = self.lm.score(&null, word).log10;
        let there = self.lm.score(&after, word).log10;
        there - alone >= NAME_PART_RATIO.log10()
    }

    /// Whether a token is written like a name: a capital first letter and at least one lowercase letter.
    /// Whether token `i` (of the lowercased tokens `lowers`) is inside a sentence: after a word, a comma or an
    /// abbreviated title (`Mr.`), where a capitalised word is likely a name.
    fn inside(lowers: &[String], i: usize) -> bool {
        i > 0 && {
            let previous = &lowers[i - 1];
            previous == ","
                || is_word(previous)
                || (previous == "." && i > 1 && TITLES.contains(&lowers[i - 2].as_str()))
        }
    }

    fn name_like(token: &str) -> bool {
        token.chars().next().is_some_and(char::is_uppercase) && token.chars().any(char::is_lowercase)
    }

    fn lattice(&self, text: &str, names: Option<&DocumentNames>) -> Lattice {
        let spans = self.tokenizer.token_spans(text);
        let n = spans.len();
        let mut lattice = Lattice {
            unknown: vec![false; n],
            edges: vec![Vec::new(); n],
            spans,
        };
        let mut cands = Vec::new();
        WORK.with(|work| {
            let mut work = work.borrow_mut();
            let work = &mut *work;
            let mut chars = std::mem::take(&mut work.chars);
            let lowers: Vec<String> = lattice.spans.iter().map(|r| text[r.clone()].to_lowercase()).collect();
            for i in 0..n {
                let token = &text[lattice.spans[i].clone()];
                let lower = &lowers[i];
                let keep_id = self.lm.word_id(lower);
                let word = is_word(lower);
                let known_id = if word { self.words.lexicon.id(lower) } else { None };
                // A variant is a word of running text like a lexicon word, but isolated ranking does not know it:
                // its candidates are those of an unknown token, held to the bar of a known word's.
                let variant = word && known_id.is_none() && self.variants.id(lower).is_some();
                // A handle or hashtag (`@john`, `#london`) is a name as its owner wrote it; a word glued to an
                // undecodable byte (U+FFFD, `caf\u{FFFD}` from Latin-1 `café`) is part of a word nobody can read.
                let handle = text[..lattice.spans[i].start].ends_with(['@', '#']);
                let user = word
                    && (handle
                        || Self::fragment(text, &lattice.spans[i])
                        || self.is_user_word(lower)
                        || names.is_some_and(|names| names.contains(lower)));
                let known = known_id.is_some() || variant || user;
                lattice.unknown[i] = word && !known;
                let inside = Self::inside(&lowers, i);
                let keep_channel = if word && !known {
                    if inside && Self::name_like(token) {
                        -self.ranking.keep_name_cost
                    } else {
                        -self.ranking.keep_unknown_cost
                    }
                } else {
                    0.0
                };
                // A lexicon word typed in lowercase that the corpus writes capitalised is kept as written there.
                // When it ends a name whose first word the corpus also writes in lowercase (`new york`), that word
                // is capitalised too (`New York`, not `new York`).
                let recased = match known_id {
                    Some(id)
                        if self.ranking.fix_case
                            && !user
                            && !token.chars().any(char::is_uppercase)
                            && self.written_case(id).is_some() =>
                    {
                        if self.ends_a_name(text, &lattice.spans, &lowers, i, keep_id) {
                            lattice.edges[i - 1][0].replacement = Some(capitalise(&lowers[i - 1]));
                        }
                        Some(self.written(id))
                    }
                    _ => None,
                };
                lattice.edges[i].push(Edge {
                    to: i + 1,
                    words: [keep_id, 0],
                    len: 1,
                    channel: keep_channel,
                    replacement: recased,
                });
                if !word || user || Self::protected(token) {
                    continue;
                }
                chars.clear();
                chars.extend(lower.chars());
                match known_id {
                    Some(id) => KNOWN.with(|known| {
                        let mut known = known.borrow_mut();
                        if known.0 != self.generation || known.1.len() >= KNOWN_CACHE {
                            known.1.clear();
                            known.0 = self.generation;
                        }
                        match known.1.get(&id) {
                            Some(found) => {
                                cands.clear();
                                cands.extend_from_slice(found);
                            }
                            None => {
                                self.candidates(&chars, self.ranking.candidates, false, work, &mut cands);
                                let homophones = (&self.errors, &self.ranking, self.ranking.context_homophones);
                                self.words.add_homophones(homophones, id, &mut work.edit, &mut cands);
                                known.1.insert(id, cands.clone());
                            }
                        }
                    }),
                    None => self.candidates(&chars, self.ranking.candidates, false, work, &mut cands),
                }
                let capitalised = !known && Self::name_like(token);
                for c in &cands {
                    if c.distance == 0 {
                        continue;
                    }
                    // A homophone of a lexicon word costs at most `context_homophone_cost`: people write the
                    // word they hear, however differently it is spelled. The sound-alike key drops vowels, so a
                    // word more than one edit away must have the same vowel sounds too (`hear` for `here`, not
                    // `made` for `muddy`).
                    let error = match known_id {
                        Some(id)
                            if c.second.is_none()
                                && c.clitic.is_none()
                                && self.words.sound_the_same(id, c.id)
                                && (c.distance <= 1 || self.words.same_vowel_sounds(id, c.id)) =>
                        {
                            c.error.min(self.ranking.context_homophone_cost)
                        }
                        _ => c.error,
                    };
                    if known && (error > self.ranking.real_word_max_error || c.second.is_some()) {
                        continue;
                    }
                    if self.words.lexicon.count(c.id) < self.ranking.min_count {
                        continue;
                    }
                    let first_changed = self.words.word_chars(c.id).first() != chars.first();
                    let mut penalty = if known && c.clitic.is_some() {
                        self.ranking.context_contraction_cost
                    } else if known {
                        self.ranking.context_real_word_cost
                    } else if capitalised && first_changed {
                        self.ranking.capital_first_letter_cost
                    } else {
                        0.0
                    };
                    // A name inside a sentence is rarely a misspelling of a word the corpus writes in lowercase.
                    if capitalised && inside && self.capitalised.get(c.id as usize).is_some_and(Option::is_none) {
                        penalty += self.ranking.name_to_word_cost;
                    }
                    let (words, len) = match (c.second, c.clitic) {
                        (Some(b), _) => ([self.lm_ids[c.id as usize], self.lm_ids[b as usize]], 2),
                        (None, Some(k)) => (
                            [
                                self.lm_ids[c.id as usize],
                                self.lm.word_id(CONTRACTIONS[usize::from(k)].1),
                            ],
                            2,
                        ),
                        (None, None) => ([self.lm_ids[c.id as usize], 0], 1),
                    };
                    lattice.edges[i].push(Edge {
                        to: i + 1,
                        words,
                        len,
                        channel: -error - penalty,
                        replacement: Some(self.candidate_text(c)),
                    });
                }
                // `of` written for the `have` of a modal verb (`should of known`, as `should've` sounds): a real-word
                // error no spelling ranking proposes. It spells a contraction as it sounds, so it costs what reading
                // a word as a contraction does (`context_contraction_cost`): the language model must favour `have`
                // by that much (`must of course` stays).
                if self.lang == Lang::En
                    && lower == "of"
                    && i > 0
                    && MODALS.contains(&lowers[i - 1].as_str())
                    && text[lattice.spans[i - 1].end..lattice.spans[i].start]
                        .chars()
                        .all(char::is_whitespace)
                {
                    let have = self.lm.word_id("have");
                    if have != self.lm.unk_id() {
                        lattice.edges[i].push(Edge {
                            to: i + 1,
                            words: [have, 0],
                            len: 1,
                            channel: -self.ranking.context_contraction_cost,
                            replacement: Some("have".to_string()),
                        });
                    }
                }
                // Merges: this token and the next, separated only by whitespace, read as one word.
                if i + 1 < n
                    && is_word(&lowers[i + 1])
                    && !Self::protected(&text[lattice.spans[i + 1].clone()])
                    && !Self::fragment(text, &lattice.spans[i + 1])
                {
                    let gap = &text[lattice.spans[i].end..lattice.spans[i + 1].start];
                    if !gap.is_empty() && gap.chars().all(char::is_whitespace) {
                        let joined = format!("{lower}{}", lowers[i + 1]);
                        if let Some(id) = self.words.lexicon.id(&joined) {
                            let both_known = known && self.words.lexicon.id(&lowers[i + 1]).is_some();
                            let penalty = if both_known {
                                self.ranking.context_real_word_cost
                            } else {
                                0.0
                            };
                            lattice.edges[i].push(Edge {
                                to: i + 2,
                                words: [self.lm_ids[id as usize], 0],
                                len: 1,
                                channel: -self.ranking.split_cost - penalty,
                                replacement: Some(self.written(id)),
                            });
                        }
                    }
                }
            }
            work.chars = chars;
        });
        lattice
    }

    /// The best path through the lattice: the edge index taken at each position it visits.
    fn decode(&self, lattice: &Lattice) -> Vec<(usize, usize)> {
        let n = lattice.spans.len();
        let lm_weight = self.ranking.lm_weight;
        let beam = self.ranking.beam.max(1);
        let mut beams: Vec<Vec<Hyp>> = vec![Vec::new(); n + 1];
        beams[0].push(Hyp {
            state: self.lm.begin_sentence_state(),
            score: 0.0,
            back: (usize::MAX, 0, 0),
        });
        let mut queries: Vec<(State, WordId)> = Vec::new();
        let mut scored: Vec<Scored> = Vec::new();
        let mut second: Vec<(State, WordId)> = Vec::new();
        let mut scored2: Vec<Scored> = Vec::new();
        for i in 0..n {
            prune(&mut beams[i], beam);
            if beams[i].is_empty() {
                continue;
            }
            queries.clear();
            for hyp in &beams[i] {
                for edge in &lattice.edges[i] {
                    queries.push((hyp.state, edge.words[0]));
                }
            }
            self.lm.score_batch(&queries, &mut scored);
            second.clear();
            let mut q = 0;
            for _ in 0..beams[i].len() {
                for edge in &lattice.edges[i] {
                    if edge.len == 2 {
                        second.push((scored[q].state, edge.words[1]));
                    }
                    q += 1;
                }
            }
            if !second.is_empty() {
                self.lm.score_batch(&second, &mut scored2);
            }
            let (mut q, mut q2) = (0, 0);
            for h in 0..beams[i].len() {
                let hyp = beams[i][h];
                for (e, edge) in lattice.edges[i].iter().enumerate() {
                    let mut lm = scored[q].log10;
                    let mut state = scored[q].state;
                    q += 1;
                    if edge.len == 2 {
                        lm += scored2[q2].log10;
                        state = scored2[q2].state;
                        q2 += 1;
                    }
                    beams[edge.to].push(Hyp {
                        state,
                        score: hyp.score + lm_weight * lm + edge.channel,
                        back: (i, h, e),
                    });
                }
            }
        }
        prune(&mut beams[n], beam);
        // Close the sentence.
        queries.clear();
        queries.extend(beams[n].iter().map(|h| (h.state, self.lm.eos_id())));
        self.lm.score_batch(&queries, &mut scored);
        let best = beams[n]
            .iter()
            .zip(&scored)
            .enumerate()
            .max_by(|a, b| (a.1.0.score + lm_weight * a.1.1.log10).total_cmp(&(b.1.0.score + lm_weight * b.1.1.log10)))
            .map(|(h, _)| h);
        let mut path = Vec::new();
        let (mut pos, mut h) = (n, best.unwrap_or(0));
        while pos > 0 && pos != usize::MAX {
            let Some(hyp) = beams[pos].get(h) else { break };
            let (from, from_h, edge) = hyp.back;
            if from == usize::MAX {
                break;
            }
            path.push((from, edge));
            pos = from;
            h = from_h;
        }
        path.reverse();
        // Keep the beams' start states for scoring spans: recompute along the path in `render`.
        path
    }

    /// Builds the corrected text and the spans.
    fn render(&self, text: &str, lattice: &Lattice, path: &[(usize, usize)], report_unknown: bool) -> Correction {
        let mut out = String::with_capacity(text.len() + 8);
        let mut spans = Vec::new();
        let mut copied = 0;
        let mut state = self.lm.begin_sentence_state();
        // The words of the chosen path, to score a window of right context.
        let mut chosen: Vec<WordId> = Vec::new();
        let mut starts: Vec<usize> = Vec::new();
        for &(pos, e) in path {
            let edge = &lattice.edges[pos][e];
            starts.push(chosen.len());
            chosen.extend_from_slice(&edge.words[..usize::from(edge.len)]);
        }
        for (step, &(pos, e)) in path.iter().enumerate() {
            let edge = &lattice.edges[pos][e];
            let start = lattice.spans[pos].start;
            let end = lattice.spans[edge.to - 1].end;
            let original = &text[start..end];
            let changed = edge.replacement.is_some();
            if changed || (report_unknown && lattice.unknown[pos]) {
                let right_start = starts[step] + usize::from(edge.len);
                let right = &chosen[right_start..(right_start + self.lm.order().saturating_sub(1)).min(chosen.len())];
                let at_end = right_start + right.len() == chosen.len();
                let keep = &lattice.edges[pos][0];
                let keep_score = self.window(
                    &state,
                    &keep.words[..usize::from(keep.len)],
                    right,
                    at_end,
                    keep.channel,
                );
                let mut scored: Vec<(f32, usize)> = lattice.edges[pos]
                    .iter()
                    .enumerate()
                    .skip(1)
                    .filter(|(_, other)| other.to == edge.to)
                    .map(|(k, other)| {
                        (
                            self.window(
                                &state,
                                &other.words[..usize::from(other.len)],
                                right,
                                at_end,
                                other.channel,
                            ),
                            k,
                        )
                    })
                    .collect();
                scored.sort_by(|a, b| b.0.total_cmp(&a.0));
                let chosen_score = if changed {
                    scored.iter().find(|(_, k)| *k == e).map_or(keep_score, |s| s.0)
                } else {
                    scored.first().map_or(keep_score, |s| s.0)
                };
                let replacement = match &edge.replacement {
                    Some(r) => apply_case(original, r),
                    None => match scored.first() {
                        Some(&(_, k)) if report_unknown => apply_case(
                            original,
                            lattice.edges[pos][k].replacement.as_deref().unwrap_or(original),
                        ),
                        _ => original.to_string(),
                    },
                };
                let alternatives = scored
                    .iter()
                    .filter(|(_, k)| *k != e)
                    .filter_map(|&(_, k)| lattice.edges[pos][k].replacement.as_deref())
                    .map(|r| apply_case(original, r))
                    .filter(|r| *r != replacement)
                    .take(4)
                    .collect();
                if changed {
                    out.push_str(&text[copied..start]);
                    out.push_str(&replacement);
                    copied = end;
                }
                spans.push(Span {
                    start,
                    end,
                    original: original.to_string(),
                    replacement: if changed { replacement } else { original.to_string() },
                    score: chosen_score - keep_score,
                    alternatives,
                });
            }
            for &w in &edge.words[..usize::from(edge.len)] {
                state = self.lm.score(&state, w).state;
            }
        }
        out.push_str(&text[copied..]);
        Correction { text: out, spans }
    }

    /// Weighted LM score of `words` then `right` from `state`, plus `channel`.
    fn window(&self, state: &State, words: &[WordId], right: &[WordId], at_end: bool, channel: f32) -> f32 {
        let mut state = *state;
        let mut total = 0.0;
        let end = at_end.then(|| self.lm.eos_id());
        for &w in words.iter().chain(right).chain(end.as_ref()) {
            let s = self.lm.score(&state, w);
            total += s.log10;
            state = s.state;
        }
        self.ranking.lm_weight * total + channel
    }
}

/// Keeps the `beam` best hypotheses, one per language-model state.
fn prune(hyps: &mut Vec<Hyp>, beam: usize) {
    if hyps.len() <= 1 {
        return;
    }
    hyps.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Hyp> = Vec::with_capacity(beam);
    for hyp in hyps.iter() {
        if kept.len() == beam {
            break;
        }
        if !kept.iter().any(|k| k.state == hyp.state) {
            kept.push(*hyp);
        }
    }
    *hyps = kept;
}

/// Gives `replacement` (lowercase) the case pattern of `original`: all capitals, a capital first letter, or
/// lowercase.
pub fn apply_case(original: &str, replacement: &str) -> String {
    case_like(original, replacement.to_string())
}

/// `word` with its first character in uppercase.
fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// [`apply_case`] on an owned replacement, returned as it is when its case needs no change (the common case:
/// no capital in the original).
fn case_like(original: &str, replacement: String) -> String {
    let (mut letters, mut capitals) = (0usize, 0usize);
    for c in original.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        capitals += usize::from(c.is_uppercase());
    }
    if capitals == 0 {
        return replacement;
    }
    if letters > 1 && capitals == letters {
        return replacement.to_uppercase();
    }
    if original.chars().next().is_some_and(char::is_uppercase) {
        return capitalise(&replacement);
    }
    replacement
}

/// The set of a word's letters, each letter one bit (its code point modulo 32: `a` to `z` apart, other
/// characters sharing bits with them). Two words whose sets differ in `d` bits one way are at least `d` edits
/// apart; sharing bits only makes the sets look more alike.
fn letter_set(word: &[char]) -> u32 {
    word.iter().fold(0, |set, &c| set | 1 << (u32::from(c) % 32))
}

/// A word's characters as bytes and their number, when there are at most [`SLOT_CHARS`] of them and all are
/// below U+0100; else zeros and 255.
fn inline_chars(word: &[char]) -> ([u8; SLOT_CHARS], u8) {
    let mut bytes = [0; SLOT_CHARS];
    if word.len() > SLOT_CHARS || word.iter().any(|&c| (c as u32) >= 256) {
        return (bytes, u8::MAX);
    }
    for (b, &c) in bytes.iter_mut().zip(word) {
        *b = c as u32 as u8;
    }
    (bytes, word.len() as u8)
}

/// `bytes` (letters stored one byte each) as characters in `buf`.
#[inline]
fn widen<'a>(bytes: &[u8], buf: &'a mut [char; SLOT_CHARS]) -> &'a [char] {
    for (c, &b) in buf.iter_mut().zip(bytes) {
        *c = char::from(b);
    }
    &buf[..bytes.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The letter sets' bound never exceeds the distance, also when characters share a bit (`a`, `á`, `A`).
        #[test]
        fn letter_sets_bound_the_distance(w in "[abcáAz'é]{0,12}", q in "[abcáAz'é]{0,12}") {
            let (w, q): (Vec<char>, Vec<char>) = (w.chars().collect(), q.chars().collect());
            let distance = crate::index::osa_distance(&w, &q, 64).unwrap();
            let (a, b) = (letter_set(&w), letter_set(&q));
            proptest::prop_assert!((a & !b).count_ones().max((b & !a).count_ones()) as usize <= distance);
        }
    }

    proptest::proptest! {
        /// The index's frequency classes are admissible: a class's bound is never below a prior in it, and a
        /// higher prior never gets a lower class (the search takes classes in order and stops at the first that
        /// is ruled out).
        #[test]
        fn prior_classes_bound_their_priors(
            priors in proptest::collection::vec(-12.0f32..0.0, 1..60),
            probes in proptest::collection::vec(-13.0f32..1.0, 1..20),
        ) {
            let classes = PriorClasses::new(&priors);
            for &p in &priors {
                proptest::prop_assert!(classes.bound(classes.class(p)) >= p, "{} in class {}", p, classes.class(p));
            // The first class whose bound is not below the prior.
            let first = classes.bounds.partition_point(|&b| b < p).min(255) as u8;
            proptest::prop_assert_eq!(classes.class(p), first);
            }
            let highest = priors.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            for &a in &probes {
                for &b in &probes {
                    if a <= b {
                        proptest::prop_assert!(classes.class(a) <= classes.class(b));
                    }
                }
                if a <= highest {
                    proptest::prop_assert!(classes.bound(classes.class(a)) >= a);
                }
                let first = classes.bounds.partition_point(|&b| b < a).min(255) as u8;
                proptest::prop_assert_eq!(classes.class(a), first);
            }
        }
    }

    #[test]
    fn id_sets_tell_new_ids_from_repeats() {
        let mut set = IdSet::default();
        assert!(!set.contains(7), "a set never reset holds nothing");
        let ids: Vec<LexId> = (0..40).map(|i| i * 16).collect();
        set.reset(2 * ids.len());
        for &id in &ids {
            assert!(set.insert(id));
        }
        for &id in &ids {
            assert!(!set.insert(id), "{id} again");
            assert!(set.contains(id));
        }
        assert!(!set.contains(1) && !set.contains(LexId::MAX - 1));
        set.reset(1);
        assert!(!set.contains(ids[3]), "a reset empties the set");
    }

    #[test]
    fn order_keys_put_frequent_classes_first() {
        let mut keys = [
            order_key(3, 5, 9),
            order_key(200, 9, 4),
            order_key(200, 4, 7),
            order_key(0, 1, 1),
        ];
        keys.sort_unstable();
        assert_eq!(keys.iter().map(|&k| k as LexId).collect::<Vec<_>>(), [7, 4, 9, 1]);
        assert_eq!(
            keys.iter().map(|&k| order_class(k)).collect::<Vec<_>>(),
            [200, 200, 3, 0]
        );
    }

    #[test]
    fn case_patterns() {
        assert_eq!(apply_case("Bundict", "benedict"), "Benedict");
        assert_eq!(apply_case("UGGS", "eggs"), "EGGS");
        assert_eq!(apply_case("uggs", "eggs"), "eggs");
        assert_eq!(apply_case("Scrambledeggs", "scrambled eggs"), "Scrambled eggs");
        assert_eq!(apply_case("I", "a"), "A");
        assert_eq!(apply_case("Émile", "émilie"), "Émilie");
    }

    #[test]
    fn names_are_told_by_their_capital() {
        assert!(Speller::name_like("Ratsch"));
        assert!(Speller::name_like("Émile"));
        assert!(!Speller::name_like("NASA"));
        assert!(!Speller::name_like("ratsch"));
        assert!(!Speller::name_like(""));
    }

    #[test]
    fn acronyms_and_mixed_case_are_protected() {
        assert!(Speller::protected("iPhone"));
        assert!(Speller::protected("McDonald"));
        assert!(Speller::protected("NY"));
        assert!(!Speller::protected("NASAA"));
        assert!(!Speller::protected("Hello"));
        assert!(!Speller::protected("hello"));
    }
}
