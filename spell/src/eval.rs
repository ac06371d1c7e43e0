//! Evaluation: isolated-word accuracy on misspelling lists, and real-word errors injected into held-out text.
//!
//! # Isolated words ([`evaluate_isolated`])
//! The protocol of `corpora/spelling/README.md`:
//! - Norvig's lists (`target: miss1 miss2 …`): every (target, misspelling) pair counts, duplicates included
//!   (270 and 400 pairs); a pair is right at k when the target (lowercased) is among the first k suggestions.
//! - Mitton's lists (`aspell.dat`, `$target` then misspellings): grouped by misspelling, after dropping items
//!   whose target or misspelling contains `_` (multi-word) or differs from the target only by case (511 unique
//!   misspellings in `aspell.dat`); a misspelling is right at k when any of its targets is among the first k.
//!
//! # Real-word errors in context ([`inject_errors`], [`evaluate_context`])
//! Sentences of held-out text get one word replaced by a confusable word (from a fixed list of classic
//! confusions such as their/there, [`CONFUSIONS`]; das/dass in German, [`GERMAN_CONFUSIONS`]), and the speller corrects the sentence. Reported: errors
//! fixed, errors changed to a third word, and correct words changed (false alarms), in all and by confusion.
//!
//! # Misspellings in context ([`inject_misspellings`], [`evaluate_context`], [`isolated_fixes`])
//! The same, with one word replaced by one of its misspellings from a misspelling list (Norvig's, Mitton's): the
//! fixes in context are compared with what the isolated first suggestion of each misspelling gets right, so the
//! figure shows what the sentence adds.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

use fivegram_corpora::read::{Decoding, MisspellingFormat, MisspellingReader, SentenceReader, TextReader};
use fivegram_corpora::tokenize::{Lang, Tokenizer};
use serde::Serialize;

use crate::Result;
use crate::lexicon::is_word;
use crate::speller::{Speller, apply_case};

/// One misspelling to correct and the words it may stand for (lowercased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The misspelling as written in the file.
    pub misspelling: String,
    /// Acceptable corrections, lowercased.
    pub targets: Vec<String>,
}

/// Reads a Norvig or Mitton list (the format is detected) into evaluation items, following the protocol above.
pub fn read_items(path: impl AsRef<Path>) -> Result<(MisspellingFormat, Vec<Item>)> {
    let reader = MisspellingReader::open_detect(path)?;
    let format = reader.format();
    let mut items = Vec::new();
    match format {
        MisspellingFormat::Norvig => {
            for pair in reader {
                let pair = pair?;
                items.push(Item {
                    misspelling: pair.misspelling,
                    targets: vec![pair.target.to_lowercase()],
                });
            }
        }
        MisspellingFormat::Mitton => {
            let mut grouped: BTreeMap<String, Vec<String>> = BTreeMap::new();
            let mut order: Vec<String> = Vec::new();
            for pair in reader {
                let pair = pair?;
                let (target, miss) = (pair.target, pair.misspelling);
                if target.contains('_') || miss.contains('_') || target.to_lowercase() == miss.to_lowercase() {
                    continue;
                }
                let targets = grouped.entry(miss.clone()).or_insert_with(|| {
                    order.push(miss.clone());
                    Vec::new()
                });
                let target = target.to_lowercase();
                if !targets.contains(&target) {
                    targets.push(target);
                }
            }
            for miss in order {
                let targets = grouped.remove(&miss).unwrap_or_default();
                items.push(Item {
                    misspelling: miss,
                    targets,
                });
            }
        }
    }
    Ok((format, items))
}

/// CPU time used so far by the calling thread, in seconds (Linux: `/proc/thread-self/schedstat`); `None` where
/// the system does not say. Speed is reported per CPU-second so that a busy machine does not distort it.
pub fn thread_cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(nanos / 1e9)
}

/// Accuracy of isolated-word correction on one list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IsolatedReport {
    /// Items evaluated.
    pub items: usize,
    /// Items whose first suggestion is right.
    pub top1: usize,
    /// Items with a right suggestion among the first five.
    pub top5: usize,
    /// Wall-clock seconds spent in `suggest` (one thread).
    pub seconds: f64,
    /// CPU seconds spent in `suggest` (wall-clock seconds where the system does not report CPU time).
    pub cpu_seconds: f64,
    /// The items got wrong at 1: (misspelling, targets, first suggestion or empty).
    pub misses: Vec<(String, Vec<String>, String)>,
}

impl IsolatedReport {
    /// Top-1 accuracy in percent.
    pub fn top1_percent(&self) -> f64 {
        100.0 * self.top1 as f64 / self.items.max(1) as f64
    }

    /// Top-5 accuracy in percent.
    pub fn top5_percent(&self) -> f64 {
        100.0 * self.top5 as f64 / self.items.max(1) as f64
    }

    /// Items per CPU-second.
    pub fn words_per_second(&self) -> f64 {
        self.items as f64 / self.cpu_seconds.max(1e-9)
    }
}

/// Runs `suggest(misspelling, 5)` on every item, on the calling thread, timing the calls.
pub fn evaluate_isolated(speller: &Speller, items: &[Item]) -> IsolatedReport {
    let mut report = IsolatedReport {
        items: items.len(),
        top1: 0,
        top5: 0,
        seconds: 0.0,
        cpu_seconds: 0.0,
        misses: Vec::new(),
    };
    let start = Instant::now();
    let cpu = thread_cpu_seconds();
    let answers: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            speller
                .suggest(&item.misspelling, 5)
                .into_iter()
                .map(|s| s.word.to_lowercase())
                .collect()
        })
        .collect();
    report.seconds = start.elapsed().as_secs_f64();
    report.cpu_seconds = match (cpu, thread_cpu_seconds()) {
        (Some(a), Some(b)) => b - a,
        _ => report.seconds,
    };
    for (item, answer) in items.iter().zip(&answers) {
        let hit = |k: usize| answer.iter().take(k).any(|a| item.targets.contains(a));
        if hit(1) {
            report.top1 += 1;
        } else {
            report.misses.push((
                item.misspelling.clone(),
                item.targets.clone(),
                answer.first().cloned().unwrap_or_default(),
            ));
        }
        if hit(5) {
            report.top5 += 1;
        }
    }
    report
}

/// Classic real-word confusions, both directions of each pair are used.
pub const CONFUSIONS: &[(&str, &str)] = &[
    ("their", "there"),
    ("form", "from"),
    ("lose", "loose"),
    ("than", "then"),
    ("affect", "effect"),
    ("accept", "except"),
    ("to", "too"),
    ("quite", "quiet"),
    ("advice", "advise"),
    ("principal", "principle"),
    ("weather", "whether"),
    ("piece", "peace"),
    ("breath", "breathe"),
    ("passed", "past"),
    ("where", "were"),
    ("hear", "here"),
    ("know", "now"),
    ("of", "off"),
    ("week", "weak"),
    ("whole", "hole"),
    ("desert", "dessert"),
    ("later", "latter"),
    ("country", "county"),
    ("beside", "besides"),
    ("led", "lead"),
    ("chose", "choose"),
    ("site", "sight"),
];

/// English homophones (and near-homophones) people write for each other: a wider list than [`CONFUSIONS`],
/// drawn up from common lists of homophones and not from what the speller's phonetics treats as such (pairs
/// with different first letters, `knew`/`new`, are in it too). Both directions of each pair are used.
pub const HOMOPHONES: &[(&str, &str)] = &[
    ("allowed", "aloud"),
    ("ate", "eight"),
    ("bare", "bear"),
    ("beach", "beech"),
    ("board", "bored"),
    ("brake", "break"),
    ("bread", "bred"),
    ("buy", "by"),
    ("cell", "sell"),
    ("cent", "sent"),
    ("coarse", "course"),
    ("council", "counsel"),
    ("dear", "deer"),
    ("die", "dye"),
    ("dual", "duel"),
    ("fair", "fare"),
    ("feat", "feet"),
    ("find", "fined"),
    ("flew", "flu"),
    ("flour", "flower"),
    ("for", "four"),
    ("grate", "great"),
    ("guessed", "guest"),
    ("hair", "hare"),
    ("hall", "haul"),
    ("heal", "heel"),
    ("hear", "here"),
    ("heard", "herd"),
    ("higher", "hire"),
    ("hole", "whole"),
    ("hour", "our"),
    ("idle", "idol"),
    ("knew", "new"),
    ("knight", "night"),
    ("knot", "not"),
    ("know", "no"),
    ("lead", "led"),
    ("lessen", "lesson"),
    ("loan", "lone"),
    ("made", "maid"),
    ("mail", "male"),
    ("meat", "meet"),
    ("mind", "mined"),
    ("miner", "minor"),
    ("missed", "mist"),
    ("morning", "mourning"),
    ("pail", "pale"),
    ("pain", "pane"),
    ("pair", "pear"),
    ("passed", "past"),
    ("pause", "paws"),
    ("peace", "piece"),
    ("peak", "peek"),
    ("plain", "plane"),
    ("pole", "poll"),
    ("poor", "pour"),
    ("pray", "prey"),
    ("principal", "principle"),
    ("rain", "reign"),
    ("real", "reel"),
    ("right", "write"),
    ("road", "rode"),
    ("role", "roll"),
    ("rose", "rows"),
    ("sail", "sale"),
    ("scene", "seen"),
    ("sea", "see"),
    ("seam", "seem"),
    ("sight", "site"),
    ("soar", "sore"),
    ("sole", "soul"),
    ("some", "sum"),
    ("son", "sun"),
    ("stair", "stare"),
    ("stake", "steak"),
    ("steal", "steel"),
    ("tail", "tale"),
    ("their", "there"),
    ("threw", "through"),
    ("tide", "tied"),
    ("to", "too"),
    ("toe", "tow"),
    ("too", "two"),
    ("vain", "vein"),
    ("waist", "waste"),
    ("wait", "weight"),
    ("wave", "waive"),
    ("way", "weigh"),
    ("weak", "week"),
    ("wear", "where"),
    ("weather", "whether"),
    ("which", "witch"),
    ("won", "one"),
    ("wood", "would"),
];

/// How many times [`inject_homophones`] uses each direction of each pair of [`HOMOPHONES`] at most, so that the
/// commonest words (`to`, `for`, `by`) do not make up the test.
pub const HOMOPHONE_USES: usize = 5;

/// Classic real-word confusions of German (homophones and near-homophones people write for each other), both
/// directions of each pair are used.
pub const GERMAN_CONFUSIONS: &[(&str, &str)] = &[
    ("das", "dass"),
    ("seid", "seit"),
    ("wieder", "wider"),
    ("stadt", "statt"),
    ("tod", "tot"),
    ("war", "wahr"),
    ("viel", "fiel"),
    ("man", "mann"),
    ("mehr", "meer"),
    ("wahl", "wal"),
    ("seite", "saite"),
    ("lehre", "leere"),
    ("weise", "waise"),
    ("malen", "mahlen"),
    ("lied", "lid"),
    ("ende", "ente"),
];

/// The confusion pairs of a language: [`CONFUSIONS`] for English, [`GERMAN_CONFUSIONS`] for German.
pub fn confusions(lang: Lang) -> &'static [(&'static str, &'static str)] {
    match lang {
        Lang::En => CONFUSIONS,
        Lang::De => GERMAN_CONFUSIONS,
    }
}

/// A sentence with one injected error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injected {
    /// The original sentence.
    pub original: String,
    /// The sentence with the error.
    pub corrupted: String,
    /// Byte range of the error in `corrupted`.
    pub at: std::ops::Range<usize>,
    /// The word that was replaced (as in the original).
    pub word: String,
    /// What it was replaced with.
    pub error: String,
}

impl Injected {
    /// `sentence` with its text at `range` replaced by `error`.
    fn replacing(sentence: &str, range: std::ops::Range<usize>, error: String) -> Injected {
        let mut corrupted = String::with_capacity(sentence.len() + error.len());
        corrupted.push_str(&sentence[..range.start]);
        corrupted.push_str(&error);
        corrupted.push_str(&sentence[range.end..]);
        Injected {
            original: sentence.to_string(),
            corrupted,
            at: range.start..range.start + error.len(),
            word: sentence[range].to_string(),
            error,
        }
    }
}

/// Injects at most one real-word error per sentence: among the words (tokens, through the word tokenizer for
/// `lang`) that have a confusion in the language's pairs ([`confusions`]), one picked by a generator seeded with
/// `seed` is swapped with its confusion, case kept. Sentences without such a word are skipped.
pub fn inject_errors(sentences: &[String], lang: Lang, seed: u64) -> Vec<Injected> {
    let mut map: HashMap<&str, Vec<&str>> = HashMap::new();
    for &(a, b) in confusions(lang) {
        map.entry(a).or_default().push(b);
        map.entry(b).or_default().push(a);
    }
    inject_from(sentences, lang, map, seed, false)
}

/// Injects at most one homophone error per sentence (English): among the words (tokens) that have a homophone in
/// [`HOMOPHONES`], one picked by a generator seeded with `seed` is swapped with it, case kept; each word is
/// written as each of its homophones at most [`HOMOPHONE_USES`] times. Sentences without such a word are skipped.
pub fn inject_homophones(sentences: &[String], seed: u64) -> Vec<Injected> {
    let mut map: HashMap<&str, Vec<&str>> = HashMap::new();
    for &(a, b) in HOMOPHONES {
        for _ in 0..HOMOPHONE_USES {
            map.entry(a).or_default().push(b);
            map.entry(b).or_default().push(a);
        }
    }
    inject_from(sentences, Lang::En, map, seed, true)
}

/// Injects at most one non-word error per sentence: among the words (tokens) that are, lowercased, the intended
/// word of an item of a misspelling list, one picked by a generator seeded with `seed` is replaced by one of its
/// misspellings not used before (each misspelling of each word serves once), case kept. Items whose misspelling
/// or intended word is not a single word token are skipped, as are sentences without such a word.
pub fn inject_misspellings(sentences: &[String], lang: Lang, items: &[Item], seed: u64) -> Vec<Injected> {
    let tokenizer = Tokenizer::new(lang);
    let one_word = |w: &str| {
        let spans = tokenizer.token_spans(w);
        spans.len() == 1 && spans[0] == (0..w.len()) && is_word(w)
    };
    let mut map: HashMap<&str, Vec<&str>> = HashMap::new();
    for item in items {
        if !one_word(&item.misspelling) {
            continue;
        }
        for target in item.targets.iter().filter(|t| one_word(t)) {
            let misspellings = map.entry(target).or_default();
            if !misspellings.contains(&item.misspelling.as_str()) {
                misspellings.push(&item.misspelling);
            }
        }
    }
    inject_from(sentences, lang, map, seed, true)
}

/// The injection of [`inject_errors`] and [`inject_misspellings`]: `map` gives each replaceable word (lowercase)
/// its replacements; with `once`, each replacement is used at most once (and a word whose replacements are all
/// used is no longer replaced).
fn inject_from(
    sentences: &[String],
    lang: Lang,
    mut map: HashMap<&str, Vec<&str>>,
    seed: u64,
    once: bool,
) -> Vec<Injected> {
    let tokenizer = Tokenizer::new(lang);
    let mut next = picker(seed);
    let mut out = Vec::new();
    for sentence in sentences {
        let eligible: Vec<(std::ops::Range<usize>, String)> = tokenizer
            .token_spans(sentence)
            .into_iter()
            .filter_map(|r| {
                let lower = sentence[r.clone()].to_lowercase();
                map.contains_key(lower.as_str()).then_some((r, lower))
            })
            .collect();
        if eligible.is_empty() {
            continue;
        }
        let (range, lower) = &eligible[(next() % eligible.len() as u64) as usize];
        let Some(alts) = map.get_mut(lower.as_str()) else {
            continue;
        };
        let pick = (next() % alts.len() as u64) as usize;
        let word = &sentence[range.clone()];
        let error = apply_case(word, alts[pick]);
        if once {
            alts.swap_remove(pick);
            if alts.is_empty() {
                map.remove(lower.as_str());
            }
        }
        out.push(Injected::replacing(sentence, range.clone(), error));
    }
    out
}

/// The injections' generator: a xorshift sequence from `seed`, the same on every platform.
fn picker(seed: u64) -> impl FnMut() -> u64 {
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    }
}

/// The seed of the real-word errors that `fivegram spell --eval-context` (and the spelling benchmark) injects.
pub const CONTEXT_SEED: u64 = 2024;

/// The sentences of 5 to 60 words of held-out text `path` (plain or gzip), the first `cap` of them when given.
fn held_out_sentences(path: &Path, lang: Lang, cap: Option<usize>) -> Result<Vec<String>> {
    let reader = TextReader::open(path, Decoding::Lossy)?;
    let mut sentences = Vec::new();
    for sentence in SentenceReader::new(reader, lang) {
        let sentence = sentence?;
        if (5..=60).contains(&sentence.text.split_whitespace().count()) {
            sentences.push(sentence.text);
        }
        if cap.is_some_and(|cap| sentences.len() >= cap) {
            break;
        }
    }
    Ok(sentences)
}

/// The first `n` sentences of 5 to 60 words of held-out text `path` (plain or gzip) that [`inject_errors`] (seed
/// [`CONTEXT_SEED`]) gives an error: the sentences of `fivegram spell --eval-context`.
pub fn context_sentences(path: &Path, lang: Lang, n: usize) -> Result<Vec<Injected>> {
    let sentences = held_out_sentences(path, lang, Some(n.saturating_mul(4)))?;
    let mut injected = inject_errors(&sentences, lang, CONTEXT_SEED);
    injected.truncate(n);
    Ok(injected)
}

/// The real word the error model most expects to be typed for lexicon word `word` (lowercase): of its spelling
/// neighbours (the words [`Speller::suggest`] ranks for it, up to [`MODEL_CONFUSION_NEIGHBOURS`], within
/// [`MODEL_CONFUSION_EDITS`]), the one the
/// trained error model prices cheapest as a mistyping of it (`ErrorModel::cost(word, neighbour)`), `None` when
/// it has none (or is not a lexicon word).
pub fn model_confusion(speller: &Speller, word: &str, scratch: &mut crate::edit::Scratch) -> Option<String> {
    let id = speller.lexicon().id(word)?;
    let intended: Vec<char> = speller.lexicon().word(id).chars().collect();
    let mut best: Option<(f32, String)> = None;
    for suggestion in speller.suggest(word, MODEL_CONFUSION_NEIGHBOURS) {
        let typed = suggestion.word.to_lowercase();
        if typed == word || typed.contains(' ') || speller.lexicon().id(&typed).is_none() {
            continue;
        }
        let chars: Vec<char> = typed.chars().collect();
        if crate::index::osa_distance(&intended, &chars, MODEL_CONFUSION_EDITS).is_none() {
            continue;
        }
        let cost = speller.trained_errors().cost(&intended, &chars, scratch);
        if cost.is_finite()
            && best
                .as_ref()
                .is_none_or(|(b, w)| cost < *b || (cost == *b && typed < *w))
        {
            best = Some((cost, typed));
        }
    }
    best.map(|(_, typed)| typed)
}

/// Spelling neighbours of a word among which [`model_confusion`] looks for its likeliest mistyping.
pub const MODEL_CONFUSION_NEIGHBOURS: usize = 10;

/// The most edits between a word and the mistyping [`model_confusion`] proposes (typos, not sound-alikes).
pub const MODEL_CONFUSION_EDITS: usize = 2;

/// Injects at most one real-word error per sentence, the error model's own ([`model_confusion`]): among the
/// sentence's lexicon words that have one and were not picked before (each intended word at most once, so that
/// the commonest words do not make up the test), one picked by a generator seeded with `seed` is replaced by
/// its likeliest mistyping, case kept.
pub fn inject_model_confusions(speller: &Speller, sentences: &[String], seed: u64) -> Vec<Injected> {
    let mut proposals: HashMap<String, Option<String>> = HashMap::new();
    let mut scratch = crate::edit::Scratch::default();
    let mut map: HashMap<&str, Vec<&str>> = HashMap::new();
    let tokenizer = Tokenizer::new(speller.lang());
    for sentence in sentences {
        for range in tokenizer.token_spans(sentence) {
            let lower = sentence[range].to_lowercase();
            if let std::collections::hash_map::Entry::Vacant(entry) = proposals.entry(lower) {
                let proposal = model_confusion(speller, entry.key(), &mut scratch);
                entry.insert(proposal);
            }
        }
    }
    for (word, proposal) in &proposals {
        if let Some(typed) = proposal {
            map.insert(word.as_str(), vec![typed.as_str()]);
        }
    }
    inject_from(sentences, speller.lang(), map, seed, true)
}

/// The first `n` sentences of 5 to 60 words of held-out text `path` (plain or gzip) that
/// [`inject_model_confusions`] (seed [`CONTEXT_SEED`]) gives an error: the sentences of `fivegram spell
/// --eval-context FILE --model-confusions`.
pub fn model_confusion_sentences(speller: &Speller, path: &Path, n: usize) -> Result<Vec<Injected>> {
    let sentences = held_out_sentences(path, speller.lang(), Some(n.saturating_mul(2)))?;
    let mut injected = inject_model_confusions(speller, &sentences, CONTEXT_SEED);
    injected.truncate(n);
    Ok(injected)
}

/// Injects at most one case error per sentence: among the sentence's capitalised tokens (`London`, `TV`; not
/// mixed case) that follow a word or a comma (so not at the start of a sentence or a quotation, where any word
/// is capitalised) and are, lowercased, lexicon words not picked before (each word at most once, so that `I`
/// does not make up the test), one picked by a generator seeded with `seed` is written in lowercase. What
/// [`Ranking::fix_case`](crate::model::Ranking::fix_case) is for; an error is fixed only when the sentence gets its
/// original case back ([`evaluate_context`]).
pub fn inject_case_errors(speller: &Speller, sentences: &[String], seed: u64) -> Vec<Injected> {
    let tokenizer = Tokenizer::new(speller.lang());
    let mut next = picker(seed);
    let mut used: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    for sentence in sentences {
        let spans = tokenizer.token_spans(sentence);
        let eligible: Vec<(std::ops::Range<usize>, String)> = spans
            .iter()
            .enumerate()
            .skip(1)
            .filter_map(|(i, r)| {
                let token = &sentence[r.clone()];
                let previous = &sentence[spans[i - 1].clone()];
                let after_word = previous == "," || is_word(previous);
                let capitalised = token.chars().next().is_some_and(char::is_uppercase)
                    && (token.chars().skip(1).all(|c| !c.is_uppercase()) || token.chars().all(|c| !c.is_lowercase()));
                let lower = token.to_lowercase();
                (after_word
                    && capitalised
                    && is_word(&lower)
                    && !used.contains(&lower)
                    && speller.lexicon().id(&lower).is_some())
                .then_some((r.clone(), lower))
            })
            .collect();
        if eligible.is_empty() {
            continue;
        }
        let (range, lower) = &eligible[(next() % eligible.len() as u64) as usize];
        used.insert(lower.clone());
        out.push(Injected::replacing(sentence, range.clone(), lower.clone()));
    }
    out
}

/// Injects at most one contraction typed without its apostrophe per sentence: among the sentence's
/// contractions of [`CONTRACTIONS`](crate::speller::CONTRACTIONS) (a host word and its clitic with nothing between
/// them, `don't`, `They're`), one picked by a generator seeded with `seed` loses its apostrophe (`dont`,
/// `Theyre`). English only; fixed means the contraction written back, apostrophe and case.
pub fn inject_contraction_errors(sentences: &[String], seed: u64) -> Vec<Injected> {
    inject_at_pairs(
        sentences,
        seed,
        |sentence, host, clitic| {
            let lower = |r: &std::ops::Range<usize>| sentence[r.clone()].to_lowercase().replace('’', "'");
            (host.end == clitic.start
                && crate::speller::CONTRACTIONS.contains(&(lower(host).as_str(), lower(clitic).as_str())))
            .then_some(host.start..clitic.end)
        },
        |written| written.chars().filter(|&c| c != '\'' && c != '’').collect(),
    )
}

/// Injects at most one `of` written for the `have` of a modal verb per sentence (`should have known` →
/// `should of known`, as `should've` sounds; the modals of [`crate::speller::MODALS`], whitespace between): one
/// such `have`, picked by a generator seeded with `seed`, becomes `of`, case kept. Sentences without one are
/// skipped.
pub fn inject_modal_of(sentences: &[String], seed: u64) -> Vec<Injected> {
    inject_at_pairs(
        sentences,
        seed,
        |sentence, modal, have| {
            (modal.end < have.start
                && sentence[modal.end..have.start].chars().all(char::is_whitespace)
                && sentence[have.clone()].eq_ignore_ascii_case("have")
                && crate::speller::MODALS.contains(&sentence[modal.clone()].to_lowercase().as_str()))
            .then(|| have.clone())
        },
        |written| apply_case(written, "of"),
    )
}

/// Injects at most one error per sentence at a pair of adjacent English tokens: `at(sentence, first, second)`
/// gives the span to rewrite when the pair qualifies, one of those spans (picked by a generator seeded with
/// `seed`) is replaced by `error(its text)`. Sentences without a qualifying pair are skipped.
fn inject_at_pairs(
    sentences: &[String],
    seed: u64,
    at: impl Fn(&str, &std::ops::Range<usize>, &std::ops::Range<usize>) -> Option<std::ops::Range<usize>>,
    error: impl Fn(&str) -> String,
) -> Vec<Injected> {
    let tokenizer = Tokenizer::new(Lang::En);
    let mut next = picker(seed);
    let mut out = Vec::new();
    for sentence in sentences {
        let spans = tokenizer.token_spans(sentence);
        let eligible: Vec<std::ops::Range<usize>> = spans
            .windows(2)
            .filter_map(|pair| at(sentence, &pair[0], &pair[1]))
            .collect();
        if eligible.is_empty() {
            continue;
        }
        let range = eligible[(next() % eligible.len() as u64) as usize].clone();
        let error = error(&sentence[range.clone()]);
        out.push(Injected::replacing(sentence, range, error));
    }
    out
}

/// The first `n` sentences of 5 to 60 words of held-out text `path` (plain or gzip) that [`inject_modal_of`]
/// (seed [`CONTEXT_SEED`]) gives an error, among its first `50 n` sentences (such errors are rare): the sentences
/// of `fivegram spell --eval-context FILE --modal-of`.
pub fn modal_of_sentences(path: &Path, n: usize) -> Result<Vec<Injected>> {
    let sentences = held_out_sentences(path, Lang::En, Some(n.saturating_mul(50)))?;
    let mut injected = inject_modal_of(&sentences, CONTEXT_SEED);
    injected.truncate(n);
    Ok(injected)
}

/// The first `n` sentences of 5 to 60 words of held-out text `path` (plain or gzip) that
/// [`inject_contraction_errors`] (seed [`CONTEXT_SEED`]) gives an error: the sentences of `fivegram spell
/// --eval-context FILE --contractions`.
pub fn contraction_sentences(path: &Path, n: usize) -> Result<Vec<Injected>> {
    let sentences = held_out_sentences(path, Lang::En, Some(n.saturating_mul(8)))?;
    let mut injected = inject_contraction_errors(&sentences, CONTEXT_SEED);
    injected.truncate(n);
    Ok(injected)
}

/// The first `n` sentences of 5 to 60 words of held-out text `path` (plain or gzip) that [`inject_homophones`]
/// (seed [`CONTEXT_SEED`]) gives an error, among its first `50 n` sentences (each pair serves a few times only):
/// the sentences of `fivegram spell --eval-context FILE --homophones`.
pub fn homophone_sentences(path: &Path, n: usize) -> Result<Vec<Injected>> {
    let sentences = held_out_sentences(path, Lang::En, Some(n.saturating_mul(50)))?;
    let mut injected = inject_homophones(&sentences, CONTEXT_SEED);
    injected.truncate(n);
    Ok(injected)
}

/// The first `n` sentences of 5 to 60 words of held-out text `path` (plain or gzip) that [`inject_case_errors`]
/// (seed [`CONTEXT_SEED`]) gives an error: the sentences of `fivegram spell --eval-context FILE --case-errors`.
pub fn case_error_sentences(speller: &Speller, path: &Path, n: usize) -> Result<Vec<Injected>> {
    let sentences = held_out_sentences(path, speller.lang(), Some(n.saturating_mul(4)))?;
    let mut injected = inject_case_errors(speller, &sentences, CONTEXT_SEED);
    injected.truncate(n);
    Ok(injected)
}

/// The first `n` sentences of 5 to 60 words of held-out text `path` (plain or gzip) that
/// [`inject_misspellings`] (seed [`CONTEXT_SEED`]) gives a misspelling from `items`: the sentences of `fivegram
/// spell --eval-context FILE --misspellings LIST`. The whole file is read (such sentences are rarer).
pub fn misspelled_sentences(path: &Path, lang: Lang, n: usize, items: &[Item]) -> Result<Vec<Injected>> {
    let sentences = held_out_sentences(path, lang, None)?;
    let mut injected = inject_misspellings(&sentences, lang, items, CONTEXT_SEED);
    injected.truncate(n);
    Ok(injected)
}

/// How many of `injected`'s errors the isolated first suggestion ([`Speller::suggest`] with one suggestion, no
/// context) corrects to the intended word: what the context adds is the difference with
/// [`ContextReport::fixed`].
pub fn isolated_fixes(speller: &Speller, injected: &[Injected]) -> usize {
    injected
        .iter()
        .filter(|item| {
            speller
                .suggest(&item.error, 1)
                .first()
                .is_some_and(|s| s.word.to_lowercase() == item.word.to_lowercase())
        })
        .count()
}

/// What the speller did on sentences with injected errors.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ContextReport {
    /// Sentences (one error each).
    pub sentences: usize,
    /// Errors corrected to the original word.
    pub fixed: usize,
    /// Errors changed, but to another wrong word.
    pub miscorrected: usize,
    /// Words other than the injected error (all correct as far as the held-out text goes).
    pub correct_words: usize,
    /// Of those, the ones the speller changed.
    pub false_alarms: usize,
    /// Words per CPU-second through `correct` (one thread).
    pub words_per_second: f64,
    /// The false alarms: (original, replacement).
    pub false_alarm_changes: Vec<(String, String)>,
    /// The injected errors by confusion (lowercase), most injected first, then by the error and intended word.
    pub by_confusion: Vec<ConfusionCount>,
}

/// How one direction of a confusion (`there` written for `their`) fared in [`evaluate_context`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConfusionCount {
    /// The word written in error (lowercase).
    pub error: String,
    /// The word it replaced (lowercase).
    pub intended: String,
    /// Errors of this kind injected.
    pub injected: usize,
    /// Of those, corrected to the intended word.
    pub fixed: usize,
    /// Of those, changed to another wrong word.
    pub miscorrected: usize,
}

/// Corrects every corrupted sentence and compares with the original.
pub fn evaluate_context(speller: &Speller, injected: &[Injected]) -> ContextReport {
    evaluate_context_as(speller, injected, false)
}

/// [`evaluate_context`], with `document` the sentences corrected as one document ([`Speller::correct_document`]:
/// the names they use twice inside a sentence are left alone) rather than each on its own. The names are learnt
/// from the corrupted sentences, the timing includes learning them.
pub fn evaluate_context_as(speller: &Speller, injected: &[Injected], document: bool) -> ContextReport {
    let mut report = ContextReport {
        sentences: injected.len(),
        ..ContextReport::default()
    };
    let tokenizer = Tokenizer::new(speller.lang());
    let start = Instant::now();
    let cpu = thread_cpu_seconds();
    let mut words = 0usize;
    let mut names = crate::speller::DocumentNames::default();
    if document {
        for item in injected {
            speller.observe_names(&item.corrupted, &mut names);
        }
    }
    let corrections: Vec<_> = injected
        .iter()
        .map(|item| {
            words += tokenizer.token_spans(&item.corrupted).len();
            if document {
                speller.correct_in(&item.corrupted, &names)
            } else {
                speller.correct(&item.corrupted)
            }
        })
        .collect();
    let seconds = match (cpu, thread_cpu_seconds()) {
        (Some(a), Some(b)) => b - a,
        _ => start.elapsed().as_secs_f64(),
    };
    report.words_per_second = words as f64 / seconds.max(1e-9);
    let mut by_confusion: HashMap<(String, String), ConfusionCount> = HashMap::new();
    for (item, correction) in injected.iter().zip(&corrections) {
        report.correct_words += tokenizer.token_spans(&item.corrupted).len().saturating_sub(1);
        let (error, intended) = (item.error.to_lowercase(), item.word.to_lowercase());
        let count = by_confusion
            .entry((error.clone(), intended.clone()))
            .or_insert_with(|| ConfusionCount {
                error,
                intended,
                ..ConfusionCount::default()
            });
        count.injected += 1;
        for span in &correction.spans {
            let overlaps = span.start < item.at.end && item.at.start < span.end;
            if overlaps {
                // A case error is fixed by its original case; any other error by its word in any case.
                // (A contraction is written back with either apostrophe.)
                let restored = if item.error.to_lowercase() == item.word.to_lowercase() {
                    span.replacement == item.word
                } else {
                    span.replacement.to_lowercase().replace('’', "'") == item.word.to_lowercase().replace('’', "'")
                };
                if restored {
                    report.fixed += 1;
                    count.fixed += 1;
                } else {
                    report.miscorrected += 1;
                    count.miscorrected += 1;
                }
            } else {
                report.false_alarms += 1;
                report
                    .false_alarm_changes
                    .push((span.original.clone(), span.replacement.clone()));
            }
        }
    }
    report.by_confusion = by_confusion.into_values().collect();
    report.by_confusion.sort_by(|a, b| {
        b.injected
            .cmp(&a.injected)
            .then_with(|| a.error.cmp(&b.error))
            .then_with(|| a.intended.cmp(&b.intended))
    });
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contractions_lose_their_apostrophe_one_a_sentence() {
        let sentences = [
            "I don't know, and they’re late.".to_string(),
            "Nothing to see here.".to_string(),
            "It's John's dog.".to_string(),
        ];
        let injected = inject_contraction_errors(&sentences, CONTEXT_SEED);
        // The second sentence has no contraction; `John's` is a possessive, not one of the contractions.
        assert_eq!(injected.len(), 2);
        let first = &injected[0];
        assert!(
            (first.word.as_str(), first.error.as_str()) == ("don't", "dont")
                || (first.word.as_str(), first.error.as_str()) == ("they’re", "theyre"),
            "{first:?}"
        );
        assert_eq!(&first.corrupted[first.at.clone()], first.error);
        assert_eq!(
            first.corrupted.len() + first.word.len() - first.error.len(),
            first.original.len()
        );
        assert_eq!((injected[1].word.as_str(), injected[1].error.as_str()), ("It's", "Its"));
        assert_eq!(injected[1].corrupted, "Its John's dog.");
    }

    #[test]
    fn homophones_are_swapped_a_few_times_each() {
        let sentences: Vec<String> = (0..20).map(|_| "A Great day, and nothing else.".to_string()).collect();
        let injected = inject_homophones(&sentences, CONTEXT_SEED);
        // `great` is the only word with a homophone: written as `grate` (case kept) at most HOMOPHONE_USES times.
        assert_eq!(injected.len(), HOMOPHONE_USES);
        for i in &injected {
            assert_eq!((i.word.as_str(), i.error.as_str()), ("Great", "Grate"));
            assert_eq!(i.corrupted, "A Grate day, and nothing else.");
        }
        for &(a, b) in HOMOPHONES {
            assert!(a != b && is_word(a) && is_word(b), "{a} / {b}");
        }
    }

    #[test]
    fn the_have_of_a_modal_becomes_of() {
        let sentences = [
            "You Should Have known, and we must have seen it.".to_string(),
            "I have no idea what they would\nhave done.".to_string(),
            "They have gone.".to_string(),
        ];
        let injected = inject_modal_of(&sentences, CONTEXT_SEED);
        assert_eq!(injected.len(), 2);
        let first = &injected[0];
        assert!(
            first.corrupted == "You Should Of known, and we must have seen it."
                || first.corrupted == "You Should Have known, and we must of seen it.",
            "{first:?}"
        );
        assert_eq!(&first.corrupted[first.at.clone()], first.error);
        assert_eq!(injected[1].corrupted, "I have no idea what they would\nof done.");
    }
}
