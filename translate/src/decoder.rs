//! Phrase-based stack decoding (Koehn 2004, as Moses' "normal" search), with the language model queried in
//! batches.
//!
//! A hypothesis covers some source words and has produced a target prefix. Hypotheses covering `k` words live in
//! stack `k`. Each stack in turn is pruned to the `stack_size` best by model score plus a future-cost estimate of
//! the words still uncovered, then every hypothesis is expanded with the translation options of every uncovered
//! span that the distortion limit allows. Expansions are first ranked by an estimate that uses each option's
//! context-free language-model score; the best `candidate_limit` of them are scored exactly: all their
//! language-model queries (every target word of every candidate, with its context) go to the model as **one**
//! [`LanguageModel::score_batch`] call, after a per-sentence cache has removed repeats. Hypotheses with the same
//! coverage, last source span, language-model state and reordering state are recombined (their futures score the
//! same); the losers are kept as arcs for n-best extraction.
//!
//! The model is log-linear over [`FEATURES`]; a derivation's score is the dot product of its feature values with
//! the weights.

use std::collections::{BinaryHeap, HashMap};
use std::time::Instant;

use fivegram_lm::model::{LanguageModel, MAX_ORDER, State, WordId};
use fivegram_lm::vocab::FxBuildHasher;

use crate::extract::{PHRASE_SCORES, REORDERING_SCORES};
use crate::phrase_table::{PhraseTable, TableOption};
use crate::{Error, Result};

/// The feature names, in the order of feature vectors and weights.
pub const FEATURES: [&str; 17] = [
    "lm",
    "tm_p_s_given_t",
    "tm_lex_s_given_t",
    "tm_p_t_given_s",
    "tm_lex_t_given_s",
    "phrase_penalty",
    "word_penalty",
    "distortion",
    "reorder_prev_mono",
    "reorder_prev_swap",
    "reorder_prev_disc",
    "reorder_next_mono",
    "reorder_next_swap",
    "reorder_next_disc",
    "unknown",
    "lm2",
    "bilm",
];
/// Features a weights file may leave out (weight 0): those added after models and weights files existed.
pub const OPTIONAL_FEATURES: [&str; 1] = ["bilm"];
/// The number of features.
pub const NUM_FEATURES: usize = FEATURES.len();
const F_LM: usize = 0;
const F_TM: usize = 1;
const F_PHRASE: usize = 5;
const F_WORD: usize = 6;
const F_DIST: usize = 7;
const F_RO: usize = 8;
const F_UNK: usize = 14;
/// The feature of the second target language model.
pub const F_LM2: usize = 15;
/// The feature of the bilingual language model.
pub const F_BILM: usize = 16;
/// The language-model features: the target model, the second one, the bilingual one.
pub const F_LMS: [usize; MAX_LMS] = [F_LM, F_LM2, F_BILM];

/// Language models a decoder can use at once (the target model, a second one, a bilingual one), each its own
/// feature.
pub const MAX_LMS: usize = 3;

/// A feature vector.
pub type Features = [f32; NUM_FEATURES];

/// Reads weights from a JSON object of `feature: weight` (a manifest's `weights`, or a tuning report's); every
/// feature must be present.
pub fn weights_from_json(value: &serde_json::Value) -> Result<Features> {
    weights_by_name(|name| value.get(name).map(|v| v.as_f64().map(|w| w as f32)))
        .map_err(|name| Error::InvalidOption(format!("no numeric weight for feature {name}")))
}

/// Weights in the order of [`FEATURES`] from a look-up by name (`None`: absent, `Some(None)`: not a number);
/// an absent [`OPTIONAL_FEATURES`] weighs 0. The error is the first feature without a numeric weight.
pub fn weights_by_name(
    mut get: impl FnMut(&str) -> Option<Option<f32>>,
) -> std::result::Result<Features, &'static str> {
    let mut weights = [0.0; NUM_FEATURES];
    for (w, name) in weights.iter_mut().zip(FEATURES) {
        *w = match get(name) {
            Some(Some(value)) => value,
            None if OPTIONAL_FEATURES.contains(&name) => 0.0,
            _ => return Err(name),
        };
    }
    Ok(weights)
}

/// Weights in the order of [`FEATURES`], with Moses-like starting values.
pub fn default_weights() -> Features {
    [
        0.5, 0.2, 0.2, 0.2, 0.2, 0.2, -0.5, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 1.0, 0.25, 0.25,
    ]
}

/// Search settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DecoderConfig {
    /// Hypotheses kept per stack (Moses: 200).
    pub stack_size: usize,
    /// Longest jump between the end of one source phrase and the start of the next (Moses: 6); `None`: no limit.
    pub distortion_limit: Option<usize>,
    /// Translation options kept per source span, the best by estimated score (Moses: 20).
    pub ttable_limit: usize,
    /// Longest source phrase looked up.
    pub max_phrase_length: usize,
    /// Expansions of one stack scored exactly (with the language model), the best by estimate.
    pub candidate_limit: usize,
}

impl Default for DecoderConfig {
    fn default() -> DecoderConfig {
        DecoderConfig {
            stack_size: 200,
            distortion_limit: Some(6),
            ttable_limit: 20,
            max_phrase_length: 7,
            candidate_limit: 1000,
        }
    }
}

impl DecoderConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        if self.stack_size == 0 || self.ttable_limit == 0 || self.max_phrase_length == 0 || self.candidate_limit == 0 {
            return Err(Error::InvalidOption(
                "stack size, translation-table limit, phrase length and candidate limit must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// A target token of a derivation: a word of the target vocabulary, or a source word passed through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetToken {
    /// An id into the model's target vocabulary.
    Word(u32),
    /// The source word at this position, copied (an unknown word).
    Source(usize),
}

/// One complete translation found by the search.
#[derive(Debug, Clone, PartialEq)]
pub struct Derivation {
    /// The target tokens.
    pub tokens: Vec<TargetToken>,
    /// The model score: `weights · features`.
    pub score: f32,
    /// The feature values.
    pub features: Features,
    /// The source spans `[start, end)` in the order they were translated, with the number of target tokens each
    /// produced.
    pub segmentation: Vec<(usize, usize, usize)>,
}

/// What one sentence cost, for the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SearchStats {
    /// Language-model queries sent (after the cache).
    pub lm_queries: u64,
    /// `score_batch` calls.
    pub lm_batches: u64,
    /// Seconds spent inside `score_batch`.
    pub lm_seconds: f64,
    /// Hypotheses created.
    pub hypotheses: u64,
}

/// Sentences are decoded in pieces of at most this many words (the coverage is a 128-bit set).
pub const MAX_WORDS: usize = 120;

/// One translation option of one span, ready for the search.
#[derive(Debug, Clone)]
struct Opt {
    start: usize,
    end: usize,
    target: Vec<TargetToken>,
    /// The target words' ids in each language model.
    lm_ids: [Vec<WordId>; MAX_LMS],
    /// Features that do not depend on context: translation scores, phrase and word penalties, unknown words.
    fixed: Features,
    /// `weights · fixed`.
    fixed_score: f32,
    /// Weighted context-free language-model estimate of the target phrase, all models together.
    lm_estimate: f32,
    reordering: [f32; REORDERING_SCORES],
}

#[derive(Debug, Clone)]
struct Hyp {
    prev: u32,
    opt: u32,
    coverage: u128,
    lm_states: [State; MAX_LMS],
    score: f32,
    future: f32,
    /// Context-dependent feature values added by this hypothesis: language models, distortion, reordering.
    lm: [f32; MAX_LMS],
    distortion: f32,
    reordering: [f32; REORDERING_SCORES],
}

const ROOT: u32 = u32::MAX;

/// What makes two hypotheses' futures identical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct RecombineKey {
    coverage: u128,
    start: u16,
    end: u16,
    lm_states: [State; MAX_LMS],
    next_reordering: [u32; 3],
}

/// The stack decoder over one phrase table and language model.
pub struct Decoder<'m, D: AsRef<[u8]>> {
    /// The phrase table.
    pub table: &'m PhraseTable<D>,
    /// The language models (one to three), each its own feature (`lm_features`).
    pub lms: &'m [&'m dyn LanguageModel],
    /// Per language model, the feature it feeds (an index into [`FEATURES`], one of [`F_LMS`]).
    pub lm_features: &'m [usize],
    /// The bilingual language model, if one of `lms` is: how its tokens are spelled.
    pub bilm: Option<BilmTokens<'m>>,
    /// Per language model, the id of every target vocabulary word.
    pub lm_ids: &'m [Vec<WordId>],
    /// Per language model, its word classes if it is a class-based model (missing entries: none); used for the
    /// words passed through.
    pub word_classes: &'m [Option<crate::classes::WordClasses>],
    /// Feature weights.
    pub weights: &'m Features,
    /// Search settings.
    pub config: &'m DecoderConfig,
}

impl<D: AsRef<[u8]>> std::fmt::Debug for Decoder<'_, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// How the decoder spells the tokens of a bilingual language model ([`crate::bilm`]).
#[derive(Debug, Clone, Copy)]
pub struct BilmTokens<'m> {
    /// Which of the decoder's language models it is.
    pub index: usize,
    /// The target vocabulary's words (the phrase table's target ids index it).
    pub target_words: &'m [Box<str>],
    /// The classes that stand for target words, if the model is over classes.
    pub classes: Option<&'m crate::classes::WordClasses>,
}

impl BilmTokens<'_> {
    /// The model's ids of the tokens of one option: target ids `target`, source words `source` (the phrase's).
    fn ids(&self, lm: &dyn LanguageModel, target: &[u32], source: &[&str], alignment: u64) -> Vec<WordId> {
        target
            .iter()
            .enumerate()
            .map(|(k, &id)| {
                let word = self.target_words.get(id as usize).map_or("", |w| w);
                let sources = crate::extract::aligned_sources(alignment, k).filter_map(|i| source.get(i).copied());
                lm.word_id(&crate::bilm::token(
                    &crate::bilm::target_part(word, self.classes),
                    sources,
                ))
            })
            .collect()
    }
}

/// A per-sentence cache of language-model answers, and the counters.
struct LmCache<'a> {
    lm: &'a dyn LanguageModel,
    cache: HashMap<(State, WordId), (f32, State), FxBuildHasher>,
    stats: SearchStats,
    queries: Vec<(State, WordId)>,
    out: Vec<fivegram_lm::model::Scored>,
}

impl<'a> LmCache<'a> {
    fn new(lm: &'a dyn LanguageModel) -> LmCache<'a> {
        LmCache {
            lm,
            cache: HashMap::default(),
            stats: SearchStats::default(),
            queries: Vec::new(),
            out: Vec::new(),
        }
    }

    /// Queues a query unless the cache already answers it.
    fn want(&mut self, state: State, word: WordId) {
        if let std::collections::hash_map::Entry::Vacant(slot) = self.cache.entry((state, word)) {
            slot.insert((f32::NAN, State::EMPTY));
            self.queries.push((state, word));
        }
    }

    /// Sends the queued queries as one batch.
    fn flush(&mut self) {
        if self.queries.is_empty() {
            return;
        }
        let start = Instant::now();
        self.lm.score_batch(&self.queries, &mut self.out);
        self.stats.lm_seconds += start.elapsed().as_secs_f64();
        self.stats.lm_batches += 1;
        self.stats.lm_queries += self.queries.len() as u64;
        for (q, s) in self.queries.iter().zip(&self.out) {
            self.cache.insert(*q, (s.log10, s.state));
        }
        self.queries.clear();
    }

    fn get(&self, state: State, word: WordId) -> (f32, State) {
        self.cache.get(&(state, word)).copied().unwrap_or((0.0, state))
    }
}

/// The context for scoring the next word: the last `order - 1` words of `state` followed by `words`.
fn extend_state(state: &State, words: &[WordId], order: usize) -> State {
    let keep = order.saturating_sub(1).min(MAX_ORDER - 1);
    let mut buf = [0 as WordId; 2 * MAX_ORDER];
    let mut n = 0;
    for &w in state.words().iter().chain(words) {
        if n == buf.len() {
            let len = buf.len();
            buf.copy_within(len - keep.., 0);
            n = keep;
        }
        buf[n] = w;
        n += 1;
    }
    let from = n.saturating_sub(keep);
    State::new(&buf[from..n]).unwrap_or(State::EMPTY)
}

const LN_10: f32 = std::f32::consts::LN_10;

fn dot(weights: &Features, features: &Features) -> f32 {
    weights.iter().zip(features).map(|(w, f)| w * f).sum()
}

fn span_mask(start: usize, end: usize) -> u128 {
    let len = end - start;
    let bits = if len >= 128 { u128::MAX } else { (1u128 << len) - 1 };
    bits << start
}

/// Orientation of a phrase `[start, end)` relative to the previous one `[prev_start, prev_end)`: 0 monotone,
/// 1 swap, 2 discontinuous.
fn orientation(prev_start: usize, prev_end: usize, start: usize, end: usize) -> usize {
    if start == prev_end {
        0
    } else if end == prev_start {
        1
    } else {
        2
    }
}

impl<D: AsRef<[u8]>> Decoder<'_, D> {
    /// Decodes one sentence (truecased tokens); returns up to `nbest` derivations, best first (never empty), and
    /// what the search cost. Sentences longer than [`MAX_WORDS`] are decoded in pieces and give one derivation.
    pub fn decode(&self, words: &[&str], nbest: usize) -> Result<(Vec<Derivation>, SearchStats)> {
        self.config.validate()?;
        if self.lms.is_empty()
            || self.lms.len() > MAX_LMS
            || self.lm_ids.len() != self.lms.len()
            || self.lm_features.len() != self.lms.len()
            || self.lm_features.iter().any(|f| !F_LMS.contains(f))
            || self.bilm.is_some_and(|b| b.index >= self.lms.len())
        {
            return Err(Error::InvalidOption(format!(
                "a decoder needs 1 to {MAX_LMS} language models with their word ids and features, got {}",
                self.lms.len()
            )));
        }
        let mut caches: Vec<LmCache<'_>> = self.lms.iter().map(|lm| LmCache::new(*lm)).collect();
        let stats = |caches: &[LmCache<'_>]| {
            let mut total = SearchStats::default();
            for c in caches {
                total.lm_queries += c.stats.lm_queries;
                total.lm_batches += c.stats.lm_batches;
                total.lm_seconds += c.stats.lm_seconds;
                total.hypotheses += c.stats.hypotheses;
            }
            total
        };
        if words.is_empty() {
            return Ok((vec![self.empty_derivation()], stats(&caches)));
        }
        if words.len() <= MAX_WORDS {
            let out = self.decode_piece(words, nbest.max(1), &mut caches)?;
            return Ok((out, stats(&caches)));
        }
        // Long input: cut after punctuation where possible, and join the best derivations.
        let mut result = self.empty_derivation();
        let mut start = 0;
        while start < words.len() {
            let mut end = (start + MAX_WORDS).min(words.len());
            if end < words.len()
                && let Some(cut) = (start + MAX_WORDS / 2..end)
                    .rev()
                    .find(|&i| matches!(words[i], "." | "," | ";"))
            {
                end = cut + 1;
            }
            let mut piece = self.decode_piece(&words[start..end], 1, &mut caches)?.swap_remove(0);
            for token in &mut piece.tokens {
                if let TargetToken::Source(i) = token {
                    *i += start;
                }
            }
            result.tokens.extend(piece.tokens);
            result.score += piece.score;
            for (r, f) in result.features.iter_mut().zip(&piece.features) {
                *r += f;
            }
            result
                .segmentation
                .extend(piece.segmentation.iter().map(|&(s, e, n)| (s + start, e + start, n)));
            start = end;
        }
        Ok((vec![result], stats(&caches)))
    }

    fn empty_derivation(&self) -> Derivation {
        Derivation {
            tokens: Vec::new(),
            score: 0.0,
            features: [0.0; NUM_FEATURES],
            segmentation: Vec::new(),
        }
    }

    /// Collects and prunes the translation options of every span, with their context-free LM estimates.
    fn options(&self, words: &[&str], caches: &mut [LmCache<'_>]) -> Result<Vec<Opt>> {
        let n = words.len();
        let mut raw: Vec<(usize, usize, TableOption)> = Vec::new();
        let mut covered = vec![false; n];
        for (start, end, offset) in self.table.spans(words, self.config.max_phrase_length) {
            for option in self.table.options_at(offset)? {
                let vocab = self.lm_ids[0].len();
                if option.target.iter().any(|&id| id as usize >= vocab) {
                    return Err(Error::Corrupt {
                        path: "phrases.bin".into(),
                        what: format!("target word id beyond the {vocab} words of target.vocab"),
                    });
                }
                raw.push((start, end, option));
            }
            if end == start + 1 {
                covered[start] = true;
            }
        }
        let mut opts: Vec<Opt> = Vec::with_capacity(raw.len() + n);
        for (start, end, option) in raw {
            let mut fixed = [0.0; NUM_FEATURES];
            fixed[F_TM..F_TM + PHRASE_SCORES].copy_from_slice(&option.scores);
            fixed[F_PHRASE] = 1.0;
            fixed[F_WORD] = -(option.target.len() as f32);
            opts.push(Opt {
                start,
                end,
                lm_ids: std::array::from_fn(|m| match (self.lm_ids.get(m), self.bilm) {
                    (Some(_), Some(b)) if b.index == m => {
                        b.ids(self.lms[m], &option.target, &words[start..end], option.alignment)
                    }
                    (Some(ids), _) => option.target.iter().map(|&id| ids[id as usize]).collect(),
                    (None, _) => Vec::new(),
                }),
                target: option.target.iter().map(|&id| TargetToken::Word(id)).collect(),
                fixed_score: dot(self.weights, &fixed),
                fixed,
                lm_estimate: 0.0,
                reordering: option.reordering,
            });
        }
        // Words without a one-word option are passed through.
        for (i, &is_covered) in covered.iter().enumerate() {
            if !is_covered {
                let mut fixed = [0.0; NUM_FEATURES];
                fixed[F_PHRASE] = 1.0;
                fixed[F_WORD] = -1.0;
                fixed[F_UNK] = -1.0;
                opts.push(Opt {
                    start: i,
                    end: i + 1,
                    target: vec![TargetToken::Source(i)],
                    lm_ids: std::array::from_fn(|m| match self.lms.get(m) {
                        Some(lm) if self.bilm.is_some_and(|b| b.index == m) => {
                            let classes = self.bilm.and_then(|b| b.classes);
                            let target = crate::bilm::target_part(words[i], classes);
                            vec![lm.word_id(&crate::bilm::token(&target, [words[i]]))]
                        }
                        Some(lm) => match self.word_classes.get(m).and_then(Option::as_ref) {
                            Some(classes) => vec![lm.word_id(&classes.class_of(words[i]))],
                            None => vec![lm.word_id(words[i])],
                        },
                        None => Vec::new(),
                    }),
                    fixed_score: dot(self.weights, &fixed),
                    fixed,
                    lm_estimate: 0.0,
                    reordering: [(1.0f32 / 3.0).ln(); REORDERING_SCORES],
                });
            }
        }
        // Context-free LM estimates: every word given the phrase's own preceding words, one batch per model.
        for (m, cache) in caches.iter_mut().enumerate() {
            let order = self.lms[m].order();
            for opt in &opts {
                let ids = &opt.lm_ids[m];
                for k in 0..ids.len() {
                    cache.want(extend_state(&State::EMPTY, &ids[..k], order), ids[k]);
                }
            }
            cache.flush();
            for opt in &mut opts {
                let ids = &opt.lm_ids[m];
                let mut total = 0.0;
                for k in 0..ids.len() {
                    total += cache.get(extend_state(&State::EMPTY, &ids[..k], order), ids[k]).0;
                }
                opt.lm_estimate += self.weights[self.lm_features[m]] * LN_10 * total;
            }
        }
        // Keep the best `ttable_limit` options per span.
        opts.sort_by(|a, b| {
            (a.start, a.end)
                .cmp(&(b.start, b.end))
                .then((b.fixed_score + b.lm_estimate).total_cmp(&(a.fixed_score + a.lm_estimate)))
        });
        let mut kept: Vec<Opt> = Vec::with_capacity(opts.len());
        let mut run = 0;
        for opt in opts {
            if let Some(last) = kept.last()
                && last.start == opt.start
                && last.end == opt.end
            {
                run += 1;
            } else {
                run = 1;
            }
            if run <= self.config.ttable_limit {
                kept.push(opt);
            }
        }
        Ok(kept)
    }

    fn decode_piece(&self, words: &[&str], nbest: usize, caches: &mut [LmCache<'_>]) -> Result<Vec<Derivation>> {
        let n = words.len();
        let opts = self.options(words, caches)?;
        let models = self.lms.len();
        let w = self.weights;
        // Options by span, and the future-cost table.
        let mut by_span: Vec<Vec<u32>> = vec![Vec::new(); n * n];
        let neg = f32::NEG_INFINITY;
        let mut future = vec![neg; (n + 1) * (n + 1)];
        for (k, opt) in opts.iter().enumerate() {
            by_span[opt.start * n + opt.end - 1].push(k as u32);
            let f = &mut future[opt.start * (n + 1) + opt.end];
            *f = f.max(opt.fixed_score + opt.lm_estimate);
        }
        for len in 2..=n {
            for start in 0..=n - len {
                let end = start + len;
                for mid in start + 1..end {
                    let v = future[start * (n + 1) + mid] + future[mid * (n + 1) + end];
                    if v > future[start * (n + 1) + end] {
                        future[start * (n + 1) + end] = v;
                    }
                }
            }
        }
        let future_of = |coverage: u128| -> f32 {
            let mut total = 0.0;
            let mut i = 0;
            while i < n {
                if coverage & (1u128 << i) != 0 {
                    i += 1;
                    continue;
                }
                let mut j = i;
                while j < n && coverage & (1u128 << j) == 0 {
                    j += 1;
                }
                total += future[i * (n + 1) + j];
                i = j;
            }
            total
        };
        let full: u128 = span_mask(0, n);
        let limit = self.config.distortion_limit;

        let mut hyps: Vec<Hyp> = vec![Hyp {
            prev: ROOT,
            opt: u32::MAX,
            coverage: 0,
            lm_states: std::array::from_fn(|m| self.lms.get(m).map_or(State::EMPTY, |lm| lm.begin_sentence_state())),
            score: 0.0,
            future: future_of(0),
            lm: [0.0; MAX_LMS],
            distortion: 0.0,
            reordering: [0.0; REORDERING_SCORES],
        }];
        let mut arcs: HashMap<u32, Vec<u32>, FxBuildHasher> = HashMap::default();
        // Stack k: the hypotheses covering k words, by recombination key.
        let mut stacks: Vec<HashMap<RecombineKey, u32, FxBuildHasher>> = vec![HashMap::default(); n + 1];
        stacks[0].insert(
            RecombineKey {
                coverage: 0,
                start: 0,
                end: 0,
                lm_states: hyps[0].lm_states,
                next_reordering: [0; 3],
            },
            0,
        );
        let span_of = |hyps: &[Hyp], h: u32| -> (usize, usize) {
            let hyp = &hyps[h as usize];
            if hyp.opt == u32::MAX {
                (0, 0)
            } else {
                let o = &opts[hyp.opt as usize];
                (o.start, o.end)
            }
        };
        let next_reordering = |hyps: &[Hyp], h: u32| -> [f32; 3] {
            let hyp = &hyps[h as usize];
            if hyp.opt == u32::MAX {
                [0.0; 3]
            } else {
                let r = &opts[hyp.opt as usize].reordering;
                [r[3], r[4], r[5]]
            }
        };

        struct Candidate {
            estimate: f32,
            hyp: u32,
            opt: u32,
            future: f32,
        }
        let mut candidates: Vec<Candidate> = Vec::new();
        for covered in 0..n {
            // Prune this stack.
            let mut stack: Vec<u32> = stacks[covered].values().copied().collect();
            stack.sort_by(|&a, &b| {
                let (a, b) = (&hyps[a as usize], &hyps[b as usize]);
                (b.score + b.future)
                    .total_cmp(&(a.score + a.future))
                    .then(a.coverage.cmp(&b.coverage))
            });
            stack.truncate(self.config.stack_size);
            candidates.clear();
            for &h in &stack {
                let hyp = &hyps[h as usize];
                let (prev_start, prev_end) = span_of(&hyps, h);
                let next_ro = next_reordering(&hyps, h);
                let first_gap = (!hyp.coverage).trailing_zeros() as usize;
                for start in first_gap..n {
                    if hyp.coverage & (1u128 << start) != 0 {
                        continue;
                    }
                    let jump = start.abs_diff(prev_end);
                    if let Some(limit) = limit
                        && jump > limit
                    {
                        if start > prev_end {
                            break;
                        }
                        continue;
                    }
                    for end in start + 1..=n.min(start + self.config.max_phrase_length) {
                        if hyp.coverage & (1u128 << (end - 1)) != 0 {
                            break;
                        }
                        let span_opts = &by_span[start * n + end - 1];
                        if span_opts.is_empty() {
                            continue;
                        }
                        let coverage = hyp.coverage | span_mask(start, end);
                        // Jumping back to the first gap later must stay within the limit.
                        if let Some(limit) = limit
                            && coverage != full
                        {
                            let gap = (!coverage).trailing_zeros() as usize;
                            if gap < start && end - gap > limit {
                                continue;
                            }
                        }
                        let future = future_of(coverage);
                        let orient = orientation(prev_start, prev_end, start, end);
                        let base =
                            hyp.score + future - w[F_DIST] * jump as f32 + w[F_RO + 3 + orient] * next_ro[orient];
                        for &k in span_opts {
                            let opt = &opts[k as usize];
                            let estimate =
                                base + opt.fixed_score + opt.lm_estimate + w[F_RO + orient] * opt.reordering[orient];
                            candidates.push(Candidate {
                                estimate,
                                hyp: h,
                                opt: k,
                                future,
                            });
                        }
                    }
                }
            }
            if candidates.len() > self.config.candidate_limit {
                candidates.select_nth_unstable_by(self.config.candidate_limit - 1, |a, b| {
                    b.estimate.total_cmp(&a.estimate)
                });
                candidates.truncate(self.config.candidate_limit);
            }
            // One batch per language model with every query of every candidate, </s> included for complete ones.
            let complete: Vec<bool> = candidates
                .iter()
                .map(|c| {
                    let opt = &opts[c.opt as usize];
                    hyps[c.hyp as usize].coverage | span_mask(opt.start, opt.end) == full
                })
                .collect();
            let mut pending: Vec<(usize, [State; MAX_LMS], [f32; MAX_LMS])> = (0..candidates.len())
                .map(|ci| (ci, [State::EMPTY; MAX_LMS], [0.0; MAX_LMS]))
                .collect();
            for (m, cache) in caches.iter_mut().enumerate().take(models) {
                let order = self.lms[m].order();
                let eos = self.lms[m].eos_id();
                for (c, &complete) in candidates.iter().zip(&complete) {
                    let state = &hyps[c.hyp as usize].lm_states[m];
                    let ids = &opts[c.opt as usize].lm_ids[m];
                    for k in 0..ids.len() {
                        cache.want(extend_state(state, &ids[..k], order), ids[k]);
                    }
                    if complete {
                        cache.want(extend_state(state, ids, order), eos);
                    }
                }
                cache.flush();
                for (ci, c) in candidates.iter().enumerate() {
                    let start = hyps[c.hyp as usize].lm_states[m];
                    let ids = &opts[c.opt as usize].lm_ids[m];
                    let mut total = 0.0f32;
                    let mut state = start;
                    for k in 0..ids.len() {
                        let (log10, next) = cache.get(extend_state(&start, &ids[..k], order), ids[k]);
                        total += log10;
                        state = next;
                    }
                    if complete[ci] {
                        total += cache.get(extend_state(&start, ids, order), eos).0;
                    }
                    pending[ci].1[m] = state;
                    pending[ci].2[m] = total;
                }
            }
            for (ci, states, totals) in pending {
                let c = &candidates[ci];
                let hyp = &hyps[c.hyp as usize];
                let opt = &opts[c.opt as usize];
                let (prev_start, prev_end) = span_of(&hyps, c.hyp);
                let orient = orientation(prev_start, prev_end, opt.start, opt.end);
                let next_ro = next_reordering(&hyps, c.hyp);
                let mut reordering = [0.0f32; REORDERING_SCORES];
                reordering[orient] += opt.reordering[orient];
                reordering[3 + orient] += next_ro[orient];
                let coverage = hyp.coverage | span_mask(opt.start, opt.end);
                let mut future = c.future;
                if complete[ci] {
                    // The last phrase is followed by the sentence end.
                    let end_orient = orientation(opt.start, opt.end, n, n + 1);
                    reordering[3 + end_orient] += opt.reordering[3 + end_orient];
                    future = 0.0;
                }
                let lm = totals.map(|t| LN_10 * t);
                let distortion = -(opt.start.abs_diff(prev_end) as f32);
                let mut delta = w[F_DIST] * distortion + opt.fixed_score;
                for (value, &f) in lm.iter().zip(self.lm_features) {
                    delta += w[f] * value;
                }
                for (k, r) in reordering.iter().enumerate() {
                    delta += w[F_RO + k] * r;
                }
                let new = Hyp {
                    prev: c.hyp,
                    opt: c.opt,
                    coverage,
                    lm_states: states,
                    score: hyp.score + delta,
                    future,
                    lm,
                    distortion,
                    reordering,
                };
                let ro = &opt.reordering;
                let key = RecombineKey {
                    coverage,
                    start: opt.start as u16,
                    end: opt.end as u16,
                    lm_states: states,
                    next_reordering: [ro[3].to_bits(), ro[4].to_bits(), ro[5].to_bits()],
                };
                let target = coverage.count_ones() as usize;
                let index = hyps.len() as u32;
                hyps.push(new);
                match stacks[target].get(&key).copied() {
                    Some(existing) if hyps[index as usize].score > hyps[existing as usize].score => {
                        // The new hypothesis wins: it takes the old one's place and its arcs.
                        let mut old_arcs = arcs.remove(&existing).unwrap_or_default();
                        old_arcs.push(existing);
                        arcs.insert(index, old_arcs);
                        stacks[target].insert(key, index);
                    }
                    Some(existing) => arcs.entry(existing).or_default().push(index),
                    None => {
                        stacks[target].insert(key, index);
                    }
                }
            }
            // Keep the stacks that are filling up bounded.
            for stack in &mut stacks[covered + 1..] {
                if stack.len() > 4 * self.config.stack_size {
                    let mut scores: Vec<f32> = stack
                        .values()
                        .map(|&h| hyps[h as usize].score + hyps[h as usize].future)
                        .collect();
                    let k = self.config.stack_size;
                    scores.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
                    let threshold = scores[k - 1];
                    stack.retain(|_, h| hyps[*h as usize].score + hyps[*h as usize].future >= threshold);
                }
            }
        }
        caches[0].stats.hypotheses += hyps.len() as u64;
        let mut finals: Vec<u32> = stacks[n].values().copied().collect();
        finals.sort_unstable();
        if finals.is_empty() {
            // The distortion limit left no complete path (it cannot happen with pass-through options and a limit
            // of at least 1, but never return nothing): translate monotonically word by word.
            return self.monotone_fallback(words, &opts, caches);
        }
        Ok(self.nbest(&hyps, &opts, &finals, &arcs, nbest))
    }

    /// Reads the derivations out of the search graph: the best complete hypotheses, and alternatives that swap
    /// one hypothesis on the path for one it was recombined with (best first, distinct target strings).
    fn nbest(
        &self,
        hyps: &[Hyp],
        opts: &[Opt],
        finals: &[u32],
        arcs: &HashMap<u32, Vec<u32>, FxBuildHasher>,
        nbest: usize,
    ) -> Vec<Derivation> {
        #[derive(PartialEq)]
        struct Path {
            score: f32,
            /// Hypotheses from the last to the first.
            hyps: Vec<u32>,
            /// Positions before this one (in `hyps`) are fixed.
            deviation: usize,
        }
        impl Eq for Path {}
        impl PartialOrd for Path {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }
        impl Ord for Path {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                self.score.total_cmp(&other.score)
            }
        }
        let backtrace = |mut h: u32, out: &mut Vec<u32>| {
            while h != ROOT && hyps[h as usize].prev != ROOT {
                out.push(h);
                h = hyps[h as usize].prev;
            }
        };
        let mut heap = BinaryHeap::new();
        for &f in finals {
            let mut path = Vec::new();
            backtrace(f, &mut path);
            heap.push(Path {
                score: hyps[f as usize].score,
                hyps: path,
                deviation: 0,
            });
        }
        let mut out: Vec<Derivation> = Vec::with_capacity(nbest);
        let mut seen: HashMap<Vec<TargetToken>, (), FxBuildHasher> = HashMap::default();
        let mut popped = 0;
        while let Some(path) = heap.pop() {
            popped += 1;
            let derivation = self.derivation(hyps, opts, &path.hyps, path.score);
            if seen.insert(derivation.tokens.clone(), ()).is_none() {
                out.push(derivation);
                if out.len() >= nbest {
                    break;
                }
            }
            if popped > 20 * nbest + 100 {
                break;
            }
            if nbest == 1 {
                continue;
            }
            for i in path.deviation..path.hyps.len() {
                let h = path.hyps[i];
                let Some(alternatives) = arcs.get(&h) else { continue };
                for &alt in alternatives {
                    let mut hyps_path = path.hyps[..i].to_vec();
                    backtrace(alt, &mut hyps_path);
                    heap.push(Path {
                        score: path.score - hyps[h as usize].score + hyps[alt as usize].score,
                        hyps: hyps_path,
                        deviation: i + 1,
                    });
                }
            }
        }
        out
    }

    /// Assembles a derivation from its hypotheses (last first), recomputing its feature values.
    fn derivation(&self, hyps: &[Hyp], opts: &[Opt], path: &[u32], score: f32) -> Derivation {
        let mut features = [0.0f32; NUM_FEATURES];
        let mut tokens = Vec::new();
        let mut segmentation = Vec::with_capacity(path.len());
        for &h in path.iter().rev() {
            let hyp = &hyps[h as usize];
            let opt = &opts[hyp.opt as usize];
            for (f, x) in features.iter_mut().zip(&opt.fixed) {
                *f += x;
            }
            for (value, &f) in hyp.lm.iter().zip(self.lm_features) {
                features[f] += value;
            }
            features[F_DIST] += hyp.distortion;
            for (k, r) in hyp.reordering.iter().enumerate() {
                features[F_RO + k] += r;
            }
            tokens.extend_from_slice(&opt.target);
            segmentation.push((opt.start, opt.end, opt.target.len()));
        }
        Derivation {
            tokens,
            score,
            features,
            segmentation,
        }
    }

    /// A monotone word-by-word translation, scored: the last resort when the search found no complete path.
    fn monotone_fallback(&self, words: &[&str], opts: &[Opt], caches: &mut [LmCache<'_>]) -> Result<Vec<Derivation>> {
        let mut features = [0.0f32; NUM_FEATURES];
        let mut tokens = Vec::new();
        let mut segmentation = Vec::new();
        let mut ids: [Vec<WordId>; MAX_LMS] = Default::default();
        for i in 0..words.len() {
            let best = opts
                .iter()
                .filter(|o| o.start == i && o.end == i + 1)
                .max_by(|a, b| (a.fixed_score + a.lm_estimate).total_cmp(&(b.fixed_score + b.lm_estimate)));
            if let Some(opt) = best {
                for (f, x) in features.iter_mut().zip(&opt.fixed) {
                    *f += x;
                }
                tokens.extend_from_slice(&opt.target);
                for (all, phrase) in ids.iter_mut().zip(&opt.lm_ids) {
                    all.extend_from_slice(phrase);
                }
                segmentation.push((i, i + 1, opt.target.len()));
            }
        }
        for (m, (lm, cache)) in self.lms.iter().zip(caches.iter_mut()).enumerate() {
            let start = Instant::now();
            features[self.lm_features[m]] = LN_10 * lm.score_sentence(&ids[m], true, true);
            cache.stats.lm_seconds += start.elapsed().as_secs_f64();
            cache.stats.lm_batches += ids[m].len() as u64 + 1;
            cache.stats.lm_queries += ids[m].len() as u64 + 1;
        }
        Ok(vec![Derivation {
            tokens,
            score: dot(self.weights, &features),
            features,
            segmentation,
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_by_name_default_only_the_optional_features() {
        let mut value: serde_json::Map<String, serde_json::Value> = FEATURES
            .iter()
            .map(|f| (f.to_string(), serde_json::json!(0.5)))
            .collect();
        value.remove("bilm");
        let weights = weights_from_json(&serde_json::Value::Object(value.clone())).unwrap();
        assert_eq!((weights[F_LM], weights[F_BILM]), (0.5, 0.0));
        value.insert("bilm".into(), serde_json::json!("heavy"));
        let err = weights_from_json(&serde_json::Value::Object(value.clone())).unwrap_err();
        assert!(err.to_string().contains("bilm"), "{err}");
        value.remove("bilm");
        value.remove("lm2");
        assert_eq!(
            weights_by_name(|n| value.get(n).map(|v| v.as_f64().map(|w| w as f32))),
            Err("lm2")
        );
    }

    #[test]
    fn states_extend_with_the_last_words() {
        let s = State::new(&[1, 2, 3]).unwrap();
        assert_eq!(extend_state(&s, &[4, 5], 5).words(), [2, 3, 4, 5]);
        assert_eq!(extend_state(&s, &[], 3).words(), [2, 3]);
        assert_eq!(extend_state(&State::EMPTY, &[7], 5).words(), [7]);
        assert_eq!(span_mask(2, 4), 0b1100);
        assert_eq!(orientation(0, 2, 2, 3), 0);
        assert_eq!(orientation(3, 5, 1, 3), 1);
        assert_eq!(orientation(3, 5, 0, 2), 2);
    }
}
