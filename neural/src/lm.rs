//! [`NeuralLm`]: a decoder-only Transformer language model, run through ONNX Runtime, with a sentence-scoring
//! API over the full context and a word-level [`LanguageModel`] view for the spelling and translation decoders.
//!
//! # Two views
//! - [`NeuralLm::score_sentences`] and [`NeuralLm::perplexity`] score whole sentences with their full left
//!   context: `[<s>] + pieces + [</s>]`, the log-probability of a word being the sum of its pieces' (a piece
//!   starting with `▁` opens a word), `</s>` counted as a word of its own, as KenLM counts it. This is the view
//!   to compare perplexities with the 5-gram models.
//! - The [`LanguageModel`] implementation is a 5-gram-context view: a [`State`] holds at most the last 4 word
//!   ids, so the model scores a word given at most 4 preceding words (plus `<s>`, which is always fed first,
//!   also when the window has dropped the real sentence start). Scores therefore differ from the sentence API
//!   for words more than 4 words into a sentence. Word ids are interned on first sight (thread-safe): the
//!   vocabulary is open, and [`LanguageModel::vocab_size`] is the number of words seen so far.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, PoisonError, RwLock};

use fivegram_lm::model::{LanguageModel, Scored, State, WordId};

use crate::model_dir::{Config, Kind, ModelDir, Precision};
use crate::pool::Pool;
use crate::runtime::{self, Graph, Input, SessionConfig};
use crate::tokenizer::Subwords;
use crate::{Error, Result};

/// Context words a [`State`] keeps in the [`LanguageModel`] view (the view's order is this plus one).
pub const CONTEXT_WORDS: usize = 4;

/// Cached `(state, word)` scores of the [`LanguageModel`] view; the cache is cleared when it grows past this.
const CACHE_LIMIT: usize = 1 << 20;

/// How a [`NeuralLm`] is loaded and run.
#[derive(Debug, Clone, PartialEq)]
pub struct LmOptions {
    /// fp32 or int8 graph.
    pub precision: Precision,
    /// ONNX Runtime intra-op threads per session (default 1).
    pub intra_threads: usize,
    /// Independent sessions; batches run in parallel on that many threads (default 1).
    pub sessions: usize,
    /// Tokens (rows × padded length) per graph run; `None` picks one that keeps the output distribution under
    /// about 64 MiB.
    pub batch_tokens: Option<usize>,
}

impl Default for LmOptions {
    fn default() -> Self {
        LmOptions {
            precision: Precision::Fp32,
            intra_threads: 1,
            sessions: 1,
            batch_tokens: None,
        }
    }
}

/// One word's share of a sentence score.
#[derive(Debug, Clone, PartialEq)]
pub struct WordScore {
    /// The word as the pieces spell it (`▁` removed), or `</s>`.
    pub word: String,
    /// Natural-log probability of the word: the sum of its pieces' log-probabilities.
    pub log_prob: f64,
}

/// The score of one sentence under the full-context view.
#[derive(Debug, Clone, PartialEq)]
pub struct SentenceScore {
    /// Per word, `</s>` last.
    pub words: Vec<WordScore>,
    /// Natural-log probability of the sentence (pieces and `</s>`), summed in `f64`.
    pub log_prob: f64,
    /// The log-probability of every predicted piece, `</s>` last (natural log).
    pub token_log_probs: Vec<f32>,
}

/// Perplexity figures over a set of sentences, counted as KenLM counts them (words plus one `</s>` per
/// sentence).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Perplexity {
    /// Sentences scored.
    pub sentences: usize,
    /// Words scored, `</s>` included.
    pub words: usize,
    /// Pieces scored, `</s>` included.
    pub tokens: usize,
    /// Total natural-log probability.
    pub log_prob: f64,
}

impl Perplexity {
    /// `exp(−log_prob / words)`: per-word perplexity, comparable with a word n-gram model's.
    pub fn per_word(&self) -> f64 {
        (-self.log_prob / self.words.max(1) as f64).exp()
    }

    /// `exp(−log_prob / tokens)`: per-piece perplexity.
    pub fn per_token(&self) -> f64 {
        (-self.log_prob / self.tokens.max(1) as f64).exp()
    }

    /// The total as log10, as KenLM's `query` prints it.
    pub fn log10(&self) -> f64 {
        self.log_prob / std::f64::consts::LN_10
    }
}

#[derive(Debug, Default)]
struct Words {
    ids: HashMap<String, WordId>,
    /// The pieces of each word id.
    pieces: Vec<Vec<u32>>,
}

/// A decoder-only Transformer language model (`kind: lm` model directory).
#[derive(Debug)]
pub struct NeuralLm {
    model: ModelDir,
    subwords: Subwords,
    graphs: Pool<Graph>,
    batch_tokens: usize,
    words: RwLock<Words>,
    cache: Mutex<HashMap<(State, WordId), f32>>,
    last_error: Mutex<Option<String>>,
}

const LM_INPUTS: [&str; 3] = ["input_ids", "past_keys", "past_values"];
const LM_OUTPUTS: [&str; 1] = ["log_probs"];

/// Word ids of the [`LanguageModel`] view's special words.
const UNK_WORD: WordId = 0;
const BOS_WORD: WordId = 1;
const EOS_WORD: WordId = 2;

/// One graph input row: `ids[start..start + len]` of sequence `seq`, whose predictions of the tokens
/// `first_target..start + len` are kept.
#[derive(Debug, Clone, Copy)]
struct Row {
    seq: usize,
    start: usize,
    len: usize,
    first_target: usize,
}

impl NeuralLm {
    /// Opens the model directory `dir`: checks `model.json`, the tokenizer and the graph of the chosen
    /// precision (sizes and sha256), loads the ONNX Runtime library if needed and creates the sessions.
    ///
    /// # Errors
    /// Any [`Error`]: a missing runtime, an invalid or damaged model directory, invalid options.
    pub fn open(dir: impl AsRef<Path>, options: LmOptions) -> Result<NeuralLm> {
        if options.intra_threads == 0 || options.sessions == 0 || options.batch_tokens == Some(0) {
            return Err(Error::InvalidOption(
                "threads, sessions and batch tokens must be at least 1".into(),
            ));
        }
        let model = ModelDir::open(dir, Kind::Lm)?;
        let subwords = Subwords::load(&model)?;
        runtime::init(None)?;
        let name = options.precision.file_name("lm");
        let bytes = model.read(&name)?;
        let path = model.dir().join(&name);
        let session = SessionConfig {
            intra_threads: options.intra_threads,
        };
        let graphs = (0..options.sessions)
            .map(|_| Graph::new(&path, &bytes, session, &LM_INPUTS, &LM_OUTPUTS))
            .collect::<Result<Vec<_>>>()?;
        let config = model.config();
        let batch_tokens = options
            .batch_tokens
            .unwrap_or_else(|| ((1usize << 24) / config.vocab_size).clamp(config.max_len, 8192));
        let mut words = Words::default();
        for (word, pieces) in [
            ("<unk>", config.unk_id),
            ("<s>", config.bos_id),
            ("</s>", config.eos_id),
        ] {
            words.ids.insert(word.to_string(), words.pieces.len() as WordId);
            words.pieces.push(vec![pieces]);
        }
        Ok(NeuralLm {
            model,
            subwords,
            graphs: Pool::new(graphs),
            batch_tokens,
            words: RwLock::new(words),
            cache: Mutex::new(HashMap::new()),
            last_error: Mutex::new(None),
        })
    }

    /// The model's dimensions and special ids.
    pub fn config(&self) -> &Config {
        self.model.config()
    }

    /// The model directory (e.g. for [`ModelDir::verify`]).
    pub fn model_dir(&self) -> &ModelDir {
        &self.model
    }

    /// Scores sentences (raw text, as in the corpus files) with their full context. Words are the
    /// whitespace-separated tokens, as for KenLM: leading, trailing and repeated whitespace is not text
    /// (PTB's lines start with a space, which the tokenizer would otherwise turn into a piece of its own).
    pub fn score_sentences(&self, sentences: &[&str]) -> Result<Vec<SentenceScore>> {
        let config = self.config();
        let mut seqs = Vec::with_capacity(sentences.len());
        let mut word_pieces = Vec::with_capacity(sentences.len());
        for text in sentences {
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            let words = self.subwords.encode_words(&text)?;
            let mut ids = vec![config.bos_id];
            ids.extend(words.iter().flatten());
            ids.push(config.eos_id);
            seqs.push(ids);
            word_pieces.push(words);
        }
        let token_lps = self.token_log_probs(&seqs)?;
        let mut out = Vec::with_capacity(sentences.len());
        for (words, lps) in word_pieces.into_iter().zip(token_lps) {
            let mut scores = Vec::with_capacity(words.len() + 1);
            let mut at = 0;
            for pieces in &words {
                let log_prob = lps[at..at + pieces.len()].iter().map(|&x| f64::from(x)).sum();
                at += pieces.len();
                let word = self.subwords.decode(pieces, None)?;
                scores.push(WordScore { word, log_prob });
            }
            scores.push(WordScore {
                word: "</s>".to_string(),
                log_prob: lps.last().map_or(0.0, |&x| f64::from(x)),
            });
            out.push(SentenceScore {
                log_prob: lps.iter().map(|&x| f64::from(x)).sum(),
                words: scores,
                token_log_probs: lps,
            });
        }
        Ok(out)
    }

    /// Perplexity over sentences, scored with [`NeuralLm::score_sentences`] in groups of 256.
    pub fn perplexity<S: AsRef<str>>(&self, sentences: &[S]) -> Result<Perplexity> {
        let mut total = Perplexity {
            sentences: 0,
            words: 0,
            tokens: 0,
            log_prob: 0.0,
        };
        for group in sentences.chunks(256) {
            let texts: Vec<&str> = group.iter().map(AsRef::as_ref).collect();
            for s in self.score_sentences(&texts)? {
                total.sentences += 1;
                total.words += s.words.len();
                total.tokens += s.token_log_probs.len();
                total.log_prob += s.log_prob;
            }
        }
        Ok(total)
    }

    /// For each id sequence (starting with `<s>`), the log-probability of each of its tokens after the first
    /// given the ones before. Sequences longer than the model's `max_len` are scored in windows of `max_len`
    /// that advance by half of it, each token predicted from at least `max_len / 2` tokens of context.
    pub fn token_log_probs(&self, seqs: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        let config = self.config();
        let max_len = config.max_len;
        let stride = (max_len / 2).max(1);
        let mut rows = Vec::new();
        for (seq, ids) in seqs.iter().enumerate() {
            let n = ids.len();
            if n < 2 {
                continue;
            }
            let mut start = 0;
            let mut first_target = 1;
            loop {
                let len = max_len.min(n - start);
                rows.push(Row {
                    seq,
                    start,
                    len,
                    first_target,
                });
                if start + len >= n {
                    break;
                }
                first_target = start + len;
                start += stride;
            }
        }
        rows.sort_by_key(|r| std::cmp::Reverse(r.len));
        let mut groups: Vec<&[Row]> = Vec::new();
        let mut begin = 0;
        while begin < rows.len() {
            let longest = rows[begin].len.max(1);
            let count = (self.batch_tokens / longest).max(1).min(rows.len() - begin);
            groups.push(&rows[begin..begin + count]);
            begin += count;
        }
        let (layers, heads, head_dim, vocab) = (config.dec_layers, config.heads, config.head_dim, config.vocab_size);
        let pad = i64::from(config.pad_id);
        let results = self.graphs.map(groups.len(), |graph, g| {
            let group = groups[g];
            let width = group[0].len;
            let mut input = vec![pad; group.len() * width];
            for (r, row) in group.iter().enumerate() {
                for (t, &id) in seqs[row.seq][row.start..row.start + row.len].iter().enumerate() {
                    input[r * width + t] = i64::from(id);
                }
            }
            let empty: [f32; 0] = [];
            let cache = [layers, group.len(), heads, 0, head_dim];
            let path = graph.path().to_path_buf();
            graph.run(
                &[
                    Input::I64("input_ids", [group.len(), width], &input),
                    Input::F32("past_keys", cache, &empty),
                    Input::F32("past_values", cache, &empty),
                ],
                &LM_OUTPUTS,
                |out| {
                    let shape = runtime::dims(&path, "log_probs", out[0].0, 3)?;
                    if shape != [group.len(), width, vocab] {
                        return Err(Error::graph(
                            &path,
                            format!(
                                "log_probs has shape {shape:?}, expected [{}, {width}, {vocab}]",
                                group.len()
                            ),
                        ));
                    }
                    let lp = out[0].1;
                    let mut picked = Vec::with_capacity(group.len());
                    for (r, row) in group.iter().enumerate() {
                        let ids = &seqs[row.seq];
                        let values: Vec<f32> = (row.first_target..row.start + row.len)
                            .map(|target| {
                                let position = target - row.start - 1;
                                lp[(r * width + position) * vocab + ids[target] as usize]
                            })
                            .collect();
                        picked.push(values);
                    }
                    Ok(picked)
                },
            )
        })?;
        let mut out: Vec<Vec<f32>> = seqs
            .iter()
            .map(|s| Vec::with_capacity(s.len().saturating_sub(1)))
            .collect();
        // Windows of one sequence are consecutive in `rows` only before sorting: put them back in order.
        let mut pieces: Vec<(usize, usize, Vec<f32>)> = groups
            .iter()
            .zip(results)
            .flat_map(|(group, values)| group.iter().zip(values).map(|(row, v)| (row.seq, row.first_target, v)))
            .collect();
        pieces.sort_by_key(|p| (p.0, p.1));
        for (seq, _, values) in pieces {
            out[seq].extend(values);
        }
        Ok(out)
    }

    /// The error of the last failed [`LanguageModel::score_batch`] (which cannot return one), if any, cleared.
    pub fn take_error(&self) -> Option<String> {
        self.last_error.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    fn pieces_of(&self, word: WordId) -> Vec<u32> {
        let words = self.words.read().unwrap_or_else(PoisonError::into_inner);
        words
            .pieces
            .get(word as usize)
            .cloned()
            .unwrap_or_else(|| vec![self.config().unk_id])
    }
}

impl LanguageModel for NeuralLm {
    fn order(&self) -> usize {
        CONTEXT_WORDS + 1
    }

    fn vocab_size(&self) -> usize {
        self.words.read().unwrap_or_else(PoisonError::into_inner).pieces.len()
    }

    fn word_id(&self, word: &str) -> WordId {
        if let Some(&id) = self.words.read().unwrap_or_else(PoisonError::into_inner).ids.get(word) {
            return id;
        }
        let pieces = match self.subwords.encode(word) {
            Ok(p) if !p.is_empty() && !p.contains(&self.config().unk_id) => p,
            _ => return UNK_WORD,
        };
        let mut words = self.words.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(&id) = words.ids.get(word) {
            return id;
        }
        let Ok(id) = WordId::try_from(words.pieces.len()) else {
            return UNK_WORD;
        };
        words.ids.insert(word.to_string(), id);
        words.pieces.push(pieces);
        id
    }

    fn unk_id(&self) -> WordId {
        UNK_WORD
    }

    fn bos_id(&self) -> WordId {
        BOS_WORD
    }

    fn eos_id(&self) -> WordId {
        EOS_WORD
    }

    fn begin_sentence_state(&self) -> State {
        State::new(&[BOS_WORD]).unwrap_or_default()
    }

    fn score_batch(&self, queries: &[(State, WordId)], out: &mut Vec<Scored>) {
        out.clear();
        let mut log10: Vec<Option<f32>> = {
            let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            queries.iter().map(|q| cache.get(q).copied()).collect()
        };
        // Distinct uncached queries, each a sequence `<s> context-pieces word-pieces`.
        let mut todo: HashMap<(State, WordId), usize> = HashMap::new();
        let mut seqs: Vec<Vec<u32>> = Vec::new();
        let mut targets: Vec<usize> = Vec::new();
        let bos = self.config().bos_id;
        for (q, cached) in queries.iter().zip(&log10) {
            if cached.is_some() || todo.contains_key(q) {
                continue;
            }
            let mut seq = vec![bos];
            for &w in q.0.words().iter().filter(|&&w| w != BOS_WORD) {
                seq.extend(self.pieces_of(w));
            }
            let context = seq.len();
            seq.extend(self.pieces_of(q.1));
            todo.insert(*q, seqs.len());
            targets.push(context);
            seqs.push(seq);
        }
        if !seqs.is_empty() {
            let scored = match self.token_log_probs(&seqs) {
                Ok(values) => values,
                Err(e) => {
                    *self.last_error.lock().unwrap_or_else(PoisonError::into_inner) = Some(e.to_string());
                    vec![Vec::new(); seqs.len()]
                }
            };
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if cache.len() + seqs.len() > CACHE_LIMIT {
                cache.clear();
            }
            for (q, &i) in &todo {
                // token_log_probs[j] predicts token j + 1: the word's pieces start at `targets[i]`.
                let ln: f64 = scored[i]
                    .get(targets[i] - 1..)
                    .map_or(f64::NEG_INFINITY, |v| v.iter().map(|&x| f64::from(x)).sum());
                let value = (ln / std::f64::consts::LN_10) as f32;
                cache.insert(*q, value);
            }
            for (q, slot) in queries.iter().zip(log10.iter_mut()) {
                if slot.is_none() {
                    *slot = cache.get(q).copied();
                }
            }
        }
        for ((state, word), value) in queries.iter().zip(log10) {
            let context = state.words();
            let mut next: Vec<WordId> = context.iter().copied().chain(std::iter::once(*word)).collect();
            if next.len() > CONTEXT_WORDS {
                next.drain(..next.len() - CONTEXT_WORDS);
            }
            out.push(Scored {
                log10: value.unwrap_or(f32::NEG_INFINITY),
                state: State::new(&next).unwrap_or_default(),
                ngram_length: if *word == UNK_WORD {
                    0
                } else {
                    (context.len().min(CONTEXT_WORDS) + 1) as u8
                },
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perplexity_arithmetic() {
        let p = Perplexity {
            sentences: 1,
            words: 4,
            tokens: 8,
            log_prob: -8.0,
        };
        assert!((p.per_word() - 2f64.exp()).abs() < 1e-12);
        assert!((p.per_token() - 1f64.exp()).abs() < 1e-12);
        assert!((p.log10() + 8.0 / std::f64::consts::LN_10).abs() < 1e-12);
    }
}
