//! [`Seq2Seq`]: the Transformer encoder-decoder, run through ONNX Runtime, as a [`Translator`].

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use std::str::FromStr;

use fivegram_corpora::tokenize::{Lang, SentenceSplitter};
use fivegram_translate::{NBest, TranslateOptions, Translation, Translator};

use crate::beam::{Beams, Hypothesis};
use crate::model_dir::{Config, Kind, ModelDir, Precision};
use crate::pool::Pool;
use crate::runtime::{self, Graph, Input, SessionConfig};
use crate::tokenizer::Subwords;
use crate::{Error, Result};

/// How a [`Seq2Seq`] model is loaded and searched.
#[derive(Debug, Clone, PartialEq)]
pub struct Seq2SeqOptions {
    /// fp32 or int8 graphs.
    pub precision: Precision,
    /// ONNX Runtime intra-op threads per session (default 1).
    pub intra_threads: usize,
    /// Independent encoder/decoder session pairs; batches are translated in parallel on that many threads
    /// (default 1).
    pub sessions: usize,
    /// Sentences per decoder batch (default 32); sentences are sorted by length before they are batched.
    pub batch_size: usize,
    /// Beam size when [`TranslateOptions::beam`] is `None` (default 4); 1 is greedy search.
    pub beam: usize,
    /// The length penalty α: finished hypotheses are ranked by `log p / length^α` (default 1.0).
    pub length_penalty: f64,
    /// At most `max_len_ratio × source tokens + max_len_extra` target tokens (source tokens count the appended
    /// `</s>`; defaults 2 and 10, as the Python reference decoder), and never more than the model's `max_len`.
    pub max_len_ratio: f64,
    /// See `max_len_ratio`.
    pub max_len_extra: usize,
    /// Whether to open the other models that the model's `decoding.ensemble` names and average their
    /// log-probabilities with its own (default true; a model opened to rerank another turns it off).
    pub ensemble: bool,
}

impl Default for Seq2SeqOptions {
    fn default() -> Self {
        Seq2SeqOptions {
            precision: Precision::Fp32,
            intra_threads: 1,
            sessions: 1,
            batch_size: 32,
            beam: 4,
            length_penalty: 1.0,
            max_len_ratio: 2.0,
            max_len_extra: 10,
            ensemble: true,
        }
    }
}

/// One encoder and one decoder session; `run` needs `&mut`, so each pair sits behind the pool's mutex.
#[derive(Debug)]
struct Worker {
    encoder: Graph,
    decoder: Graph,
}

/// The inputs of one decoder step: `rows` rows of one token each after `past_len` cached positions.
struct StepInputs<'a> {
    tokens: &'a [i64],
    src_mask: &'a [i64],
    cross_k: &'a [f32],
    cross_v: &'a [f32],
    past_k: &'a [f32],
    past_v: &'a [f32],
    src_len: usize,
    past_len: usize,
}

impl Worker {
    /// Encodes `[rows, src_len]` source ids: the cross-attention keys and values of every decoder layer,
    /// `[layers, rows, heads, src_len, head_dim]` each (shapes checked).
    fn encode(
        &mut self,
        config: &Config,
        src_ids: &[i64],
        rows: usize,
        src_len: usize,
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        let path = self.encoder.path().to_path_buf();
        let expect = [config.dec_layers, rows, config.heads, src_len, config.head_dim];
        self.encoder.run(
            &[Input::I64("src_ids", [rows, src_len], src_ids)],
            &ENCODER_OUTPUTS,
            |out| {
                let k = runtime::to_output(&path, "cross_keys", out[0], 5)?;
                let v = runtime::to_output(&path, "cross_values", out[1], 5)?;
                if k.shape != expect || v.shape != expect {
                    return Err(Error::graph(
                        &path,
                        format!(
                            "cross_keys/values have shape {:?}/{:?}, expected {expect:?}",
                            k.shape, v.shape
                        ),
                    ));
                }
                Ok((k.data, v.data))
            },
        )
    }

    /// One decoder step; `f` gets the log-probabilities `[rows, vocab]` and the present keys and values
    /// `[layers, rows, heads, past_len + 1, head_dim]` (shapes checked).
    fn step<R>(
        &mut self,
        config: &Config,
        inputs: &StepInputs<'_>,
        f: impl FnOnce(&[f32], &[f32], &[f32]) -> Result<R>,
    ) -> Result<R> {
        let (layers, heads, head_dim, vocab) = (config.dec_layers, config.heads, config.head_dim, config.vocab_size);
        let rows = inputs.tokens.len();
        let (src_len, past_len) = (inputs.src_len, inputs.past_len);
        let cache = [layers, rows, heads, past_len, head_dim];
        let cross = [layers, rows, heads, src_len, head_dim];
        let path = self.decoder.path().to_path_buf();
        self.decoder.run(
            &[
                Input::I64("tgt_ids", [rows, 1], inputs.tokens),
                Input::I64("src_mask", [rows, src_len], inputs.src_mask),
                Input::F32("cross_keys", cross, inputs.cross_k),
                Input::F32("cross_values", cross, inputs.cross_v),
                Input::F32("past_keys", cache, inputs.past_k),
                Input::F32("past_values", cache, inputs.past_v),
            ],
            &DECODER_OUTPUTS,
            |out| {
                let lp_shape = runtime::dims(&path, "log_probs", out[0].0, 2)?;
                let present = [layers, rows, heads, past_len + 1, head_dim];
                let pk = runtime::dims(&path, "present_keys", out[1].0, 5)?;
                let pv = runtime::dims(&path, "present_values", out[2].0, 5)?;
                if lp_shape != [rows, vocab] || pk != present || pv != present {
                    return Err(Error::graph(
                        &path,
                        format!(
                            "outputs have shapes {lp_shape:?}, {pk:?}, {pv:?}; expected [{rows}, {vocab}] and \
                             {present:?}"
                        ),
                    ));
                }
                f(out[0].1, out[1].1, out[2].1)
            },
        )
    }
}

#[derive(Debug, Default)]
struct Counters {
    sentences: AtomicU64,
    source_tokens: AtomicU64,
    target_tokens: AtomicU64,
    steps: AtomicU64,
    batches: AtomicU64,
    /// Nanoseconds in ONNX Runtime (encoder and decoder runs).
    onnx_nanos: AtomicU64,
}

/// A Transformer encoder-decoder translation model (`kind: seq2seq` model directory).
///
/// Thread-safe: concurrent calls share the session pairs (each call locks one pair per batch).
#[derive(Debug)]
pub struct Seq2Seq {
    model: ModelDir,
    /// The other models of the ensemble (`decoding.ensemble`), in order; empty for a single model.
    members: Vec<ModelDir>,
    /// The weight of each model in the mean of their log-probabilities (this one first), summing to 1.
    weights: Vec<f32>,
    subwords: Subwords,
    /// One session pair per model (this one first, then the members) in every slot.
    workers: Pool<Vec<Worker>>,
    options: Seq2SeqOptions,
    counters: Counters,
}

const ENCODER_INPUTS: [&str; 1] = ["src_ids"];
const ENCODER_OUTPUTS: [&str; 2] = ["cross_keys", "cross_values"];
const DECODER_INPUTS: [&str; 6] = [
    "tgt_ids",
    "src_mask",
    "cross_keys",
    "cross_values",
    "past_keys",
    "past_values",
];
const DECODER_OUTPUTS: [&str; 3] = ["log_probs", "present_keys", "present_values"];

impl Seq2Seq {
    /// Opens the model directory `dir`: checks `model.json`, the tokenizer and the graphs of the chosen
    /// precision (sizes and sha256), loads the ONNX Runtime library if needed and creates the sessions.
    ///
    /// When its `decoding.ensemble` names other models (and [`Seq2SeqOptions::ensemble`] is on), they are opened
    /// too: they must translate the same direction with the same tokenizer, special ids and dimensions, and every
    /// search step (and every forced-decoding score) uses the mean of the models' log-probabilities, weighted by
    /// `decoding.ensemble_weights` (equal weights by default).
    ///
    /// # Errors
    /// Any [`Error`]: a missing runtime, an invalid or damaged model directory (or ensemble member), invalid
    /// options.
    pub fn open(dir: impl AsRef<Path>, options: Seq2SeqOptions) -> Result<Seq2Seq> {
        check_options(&options)?;
        let model = ModelDir::open(dir, Kind::Seq2Seq)?;
        let subwords = Subwords::load(&model)?;
        let mut members = Vec::new();
        let mut weights = vec![1.0];
        if options.ensemble && !model.decoding().ensemble.is_empty() {
            let tokenizer = model.read("tokenizer.json")?;
            for path in &model.decoding().ensemble {
                let member = ModelDir::open(path, Kind::Seq2Seq)?;
                check_member(&model, &tokenizer, &member)?;
                members.push(member);
            }
            let given = model.decoding().ensemble_weights.clone();
            let raw = given.unwrap_or_else(|| vec![1.0; 1 + members.len()]);
            let total: f64 = raw.iter().sum();
            weights = raw.iter().map(|w| (w / total) as f32).collect();
        }
        runtime::init(None)?;
        let encoder_name = options.precision.file_name("encoder");
        let decoder_name = options.precision.file_name("decoder");
        let mut graphs = Vec::with_capacity(1 + members.len());
        for m in std::iter::once(&model).chain(&members) {
            graphs.push((m.dir().to_path_buf(), m.read(&encoder_name)?, m.read(&decoder_name)?));
        }
        let session = SessionConfig {
            intra_threads: options.intra_threads,
        };
        let mut workers = Vec::with_capacity(options.sessions);
        for _ in 0..options.sessions {
            let mut pairs = Vec::with_capacity(graphs.len());
            for (dir, encoder_bytes, decoder_bytes) in &graphs {
                let encoder = Graph::new(
                    &dir.join(&encoder_name),
                    encoder_bytes,
                    session,
                    &ENCODER_INPUTS,
                    &ENCODER_OUTPUTS,
                )?;
                let decoder = Graph::new(
                    &dir.join(&decoder_name),
                    decoder_bytes,
                    session,
                    &DECODER_INPUTS,
                    &DECODER_OUTPUTS,
                )?;
                pairs.push(Worker { encoder, decoder });
            }
            workers.push(pairs);
        }
        Ok(Seq2Seq {
            model,
            members,
            weights,
            subwords,
            workers: Pool::new(workers),
            options,
            counters: Counters::default(),
        })
    }

    /// Checks the size and sha256 of every file of the model and of its ensemble's other models.
    ///
    /// # Errors
    /// The first damaged or missing file.
    pub fn verify(&self) -> Result<()> {
        self.model.verify()?;
        self.members.iter().try_for_each(ModelDir::verify)
    }

    /// How many models the search averages (1 without an ensemble).
    pub fn ensemble_size(&self) -> usize {
        1 + self.members.len()
    }

    /// The weight of each model in the ensemble's mean (this one first; they sum to 1): `[1.0]` alone.
    pub fn ensemble_weights(&self) -> &[f32] {
        &self.weights
    }

    /// The model's dimensions and special ids.
    pub fn config(&self) -> &Config {
        self.model.config()
    }

    /// The model directory (e.g. for [`ModelDir::verify`]).
    pub fn model_dir(&self) -> &ModelDir {
        &self.model
    }

    /// The options the model was opened with.
    pub fn options(&self) -> &Seq2SeqOptions {
        &self.options
    }

    /// The source ids of `text` as the encoder takes them: its pieces (at most `max_len - 1`) and `</s>`.
    pub fn source_ids(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids = self.subwords.encode(text)?;
        ids.truncate(self.config().max_len.saturating_sub(1));
        ids.push(self.config().eos_id);
        Ok(ids)
    }

    /// The segments `text` is translated as: itself when its pieces fit the model's positions (`max_len - 1`),
    /// else its sentences (the source language's sentence splitter), each sentence that is still too long cut
    /// between words into runs that fit (a single word longer than that is cut by [`Seq2Seq::source_ids`]).
    fn segments(&self, text: &str) -> Result<Vec<String>> {
        let limit = self.config().max_len.saturating_sub(1).max(1);
        if text.trim().is_empty() || self.subwords.encode(text)?.len() <= limit {
            return Ok(vec![text.to_string()]);
        }
        let sentences: Vec<&str> = match self.config().src_lang.as_deref().map(Lang::from_str) {
            Some(Ok(lang)) => SentenceSplitter::new(lang).split(text),
            _ => vec![text],
        };
        let mut out = Vec::new();
        for sentence in sentences {
            if self.subwords.encode(sentence)?.len() <= limit {
                out.push(sentence.to_string());
                continue;
            }
            let (mut run, mut pieces) = (String::new(), 0);
            for word in sentence.split_whitespace() {
                let n = self.subwords.encode(word)?.len();
                if pieces + n > limit && !run.is_empty() {
                    out.push(std::mem::take(&mut run));
                    pieces = 0;
                }
                if !run.is_empty() {
                    run.push(' ');
                }
                run.push_str(word);
                pieces += n;
            }
            if !run.is_empty() {
                out.push(run);
            }
        }
        Ok(out)
    }

    /// The piece ids of `text` as a target: no `<s>`, no `</s>`, at most `max_len - 1` pieces (what
    /// [`Seq2Seq::score`] takes).
    pub fn target_ids(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids = self.subwords.encode(text)?;
        ids.truncate(self.config().max_len.saturating_sub(1));
        Ok(ids)
    }

    /// The text of target ids (special tokens left out, `<unk>` written as `<unk>` as the Python reference
    /// decoder writes it; [`Translator::translate_batch`] replaces it by the uncovered source words instead).
    pub fn target_text(&self, ids: &[u32]) -> Result<String> {
        self.subwords.decode(ids, None)
    }

    /// Beam search (greedy for `beam` 1) over source id lists as [`Seq2Seq::source_ids`] makes them; returns up
    /// to `nbest` hypotheses per source, best first (at least one: an empty one for an empty source).
    ///
    /// Sources are sorted by length (shortest first, ties in input order), cut into batches of
    /// [`Seq2SeqOptions::batch_size`], and the batches are spread over the session pairs.
    pub fn generate(&self, sources: &[Vec<u32>], beam: usize, nbest: usize) -> Result<Vec<Vec<Hypothesis>>> {
        self.generate_with_limit(sources, beam, nbest, None)
    }

    /// [`Seq2Seq::generate`] with a fixed step limit (target tokens, `</s>` included) instead of the length rule.
    pub fn generate_with_limit(
        &self,
        sources: &[Vec<u32>],
        beam: usize,
        nbest: usize,
        max_steps: Option<usize>,
    ) -> Result<Vec<Vec<Hypothesis>>> {
        if beam == 0 || nbest == 0 {
            return Err(Error::InvalidOption("beam and n-best must be at least 1".into()));
        }
        let mut order: Vec<usize> = (0..sources.len()).collect();
        // Shortest first, ties in input order: the batches the Python reference decoder forms, so that int8
        // graphs (whose activation scales depend on the whole batch) see the same batches.
        order.sort_by_key(|&i| sources[i].len());
        let batches: Vec<&[usize]> = order.chunks(self.options.batch_size).collect();
        let results = self.workers.map(batches.len(), |workers, b| {
            let srcs: Vec<&[u32]> = batches[b].iter().map(|&i| sources[i].as_slice()).collect();
            self.search(workers, &srcs, beam, nbest, max_steps)
        })?;
        let mut out: Vec<Vec<Hypothesis>> = vec![Vec::new(); sources.len()];
        for (batch, result) in batches.iter().zip(results) {
            for (&i, hyps) in batch.iter().zip(result) {
                out[i] = hyps;
            }
        }
        Ok(out)
    }

    /// The log-probabilities (natural log, one per vocabulary id) of the token after `<s> prefix`, given the
    /// source ids: forced decoding, step by step through the KV cache. Useful to score a given translation.
    pub fn next_log_probs(&self, source: &[u32], prefix: &[u32]) -> Result<Vec<f32>> {
        if source.is_empty() {
            return Err(Error::InvalidOption("an empty source (it needs at least </s>)".into()));
        }
        let config = self.config();
        let out = self.workers.map(1, |workers, _| {
            let src_len = source.len();
            let src: Vec<i64> = source.iter().map(|&t| i64::from(t)).collect();
            let mask = vec![1i64; src_len];
            let mut mean: Vec<f32> = Vec::new();
            let single = workers.len() == 1;
            for (worker, &scale) in workers.iter_mut().zip(&self.weights) {
                let (ck, cv) = worker.encode(config, &src, 1, src_len)?;
                let (mut pk, mut pv) = (Vec::new(), Vec::new());
                let mut last = Vec::new();
                for (past_len, &token) in std::iter::once(&config.bos_id).chain(prefix).enumerate() {
                    let tgt = [i64::from(token)];
                    let inputs = StepInputs {
                        tokens: &tgt,
                        src_mask: &mask,
                        cross_k: &ck,
                        cross_v: &cv,
                        past_k: &pk,
                        past_v: &pv,
                        src_len,
                        past_len,
                    };
                    (last, pk, pv) =
                        worker.step(config, &inputs, |lp, k, v| Ok((lp.to_vec(), k.to_vec(), v.to_vec())))?;
                }
                if single {
                    return Ok(last);
                }
                add_scaled(&mut mean, &last, scale);
            }
            Ok(mean)
        })?;
        Ok(out.into_iter().next().unwrap_or_default())
    }

    /// Forced decoding: the log-probability (natural log) of each target given its source, `log p(target </s> |
    /// source)`, summed over the target's pieces and the closing `</s>`. Sources are id lists as
    /// [`Seq2Seq::source_ids`] makes them (ending in `</s>`), targets bare piece ids (no `<s>`, no `</s>`). Pairs
    /// are sorted by target length (then source length) and cut into batches of [`Seq2SeqOptions::batch_size`]
    /// pairs; each batch is one encoder run and one decoder step per position of its longest target, all rows
    /// advancing together through the KV cache. (Batches of 2 or 4 times the size were no faster on Multi30k.)
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for an empty source; any runtime error.
    pub fn score(&self, pairs: &[(Vec<u32>, Vec<u32>)]) -> Result<Vec<f64>> {
        if pairs.iter().any(|(s, _)| s.is_empty()) {
            return Err(Error::InvalidOption("an empty source (it needs at least </s>)".into()));
        }
        let mut order: Vec<usize> = (0..pairs.len()).collect();
        order.sort_by_key(|&i| (pairs[i].1.len(), pairs[i].0.len()));
        let batches: Vec<&[usize]> = order.chunks(self.options.batch_size).collect();
        let results = self.workers.map(batches.len(), |workers, b| {
            let batch: Vec<(&[u32], &[u32])> = batches[b]
                .iter()
                .map(|&i| (pairs[i].0.as_slice(), pairs[i].1.as_slice()))
                .collect();
            // The weighted mean of the models' per-token log-probabilities, summed: the mean of their sums.
            if workers.len() == 1 {
                return self.force(&mut workers[0], &batch);
            }
            let mut sums = vec![0.0f64; batch.len()];
            for (worker, &weight) in workers.iter_mut().zip(&self.weights) {
                for (sum, other) in sums.iter_mut().zip(self.force(worker, &batch)?) {
                    *sum += f64::from(weight) * other;
                }
            }
            Ok(sums)
        })?;
        let mut out = vec![0.0; pairs.len()];
        for (batch, result) in batches.iter().zip(results) {
            for (&i, lp) in batch.iter().zip(result) {
                out[i] = lp;
            }
        }
        Ok(out)
    }

    /// One batch of [`Seq2Seq::score`].
    fn force(&self, worker: &mut Worker, pairs: &[(&[u32], &[u32])]) -> Result<Vec<f64>> {
        let config = self.config();
        let vocab = config.vocab_size;
        let rows = pairs.len();
        // Targets longer than the model's positions are cut, as generation would stop there.
        let limit = config.max_len.saturating_sub(1);
        let targets: Vec<&[u32]> = pairs.iter().map(|(_, t)| &t[..t.len().min(limit)]).collect();
        let steps = targets.iter().map(|t| t.len() + 1).max().unwrap_or(0);
        let (src_ids, src_mask, src_len) = pad_sources(config, pairs.iter().map(|(s, _)| *s));
        let started = Instant::now();
        let (cross_k, cross_v) = worker.encode(config, &src_ids, rows, src_len)?;
        let mut sums = vec![0.0f64; rows];
        let (mut past_k, mut past_v) = (Vec::new(), Vec::new());
        for step in 0..steps {
            // Row r reads <s> then its target; past its end it reads padding, whose outputs are ignored.
            let tokens: Vec<i64> = targets
                .iter()
                .map(|t| match step {
                    0 => i64::from(config.bos_id),
                    _ => i64::from(t.get(step - 1).copied().unwrap_or(config.pad_id)),
                })
                .collect();
            let inputs = StepInputs {
                tokens: &tokens,
                src_mask: &src_mask,
                cross_k: &cross_k,
                cross_v: &cross_v,
                past_k: &past_k,
                past_v: &past_v,
                src_len,
                past_len: step,
            };
            (past_k, past_v) = worker.step(config, &inputs, |log_probs, k, v| {
                for (r, t) in targets.iter().enumerate() {
                    let next = match step.cmp(&t.len()) {
                        std::cmp::Ordering::Less => t[step],
                        std::cmp::Ordering::Equal => config.eos_id,
                        std::cmp::Ordering::Greater => continue,
                    } as usize;
                    if next >= vocab {
                        return Err(Error::InvalidOption(format!(
                            "target id {next} is outside the vocabulary"
                        )));
                    }
                    sums[r] += f64::from(log_probs[r * vocab + next]);
                }
                Ok((k.to_vec(), v.to_vec()))
            })?;
        }
        self.counters
            .onnx_nanos
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        Ok(sums)
    }

    /// One batch: encode, then decode step by step with the KV cache, reordering the cache rows by beam parent.
    /// With an ensemble every model keeps its own caches, and the beam advances on the weighted mean of their
    /// log-probabilities.
    fn search(
        &self,
        workers: &mut [Worker],
        sources: &[&[u32]],
        beam: usize,
        nbest: usize,
        max_steps: Option<usize>,
    ) -> Result<Vec<Vec<Hypothesis>>> {
        let config = self.config();
        let (layers, heads, head_dim) = (config.dec_layers, config.heads, config.head_dim);
        let batch = sources.len();
        let limits: Vec<usize> = sources
            .iter()
            .map(|s| {
                if s.is_empty() {
                    return 0;
                }
                let rule = (self.options.max_len_ratio * s.len() as f64).floor() as usize + self.options.max_len_extra;
                max_steps.unwrap_or(rule).min(config.max_len)
            })
            .collect();
        let mut beams = Beams::new(beam, config.eos_id, self.options.length_penalty, &limits);
        if beams.is_done() {
            return Ok(beams.finish(nbest));
        }
        let (src_ids, src_mask, src_len) = pad_sources(config, sources.iter().copied());
        let started = Instant::now();
        let models = workers.len();
        let mut cross = Vec::with_capacity(models);
        for worker in workers.iter_mut() {
            cross.push(worker.encode(config, &src_ids, batch, src_len)?);
        }
        // Per-row copies of the cross-attention caches and the mask, rebuilt whenever the row → sentence map
        // changes (the first expansion into beams, and when sentences finish).
        let cross_block = heads * src_len * head_dim;
        let mut row_sentences: Vec<usize> = Vec::new();
        let mut rows_cross: Vec<(Vec<f32>, Vec<f32>)> = vec![(Vec::new(), Vec::new()); models];
        let mut rows_mask = Vec::new();
        let mut past_len = 0usize;
        let mut past: Vec<(Vec<f32>, Vec<f32>)> = vec![(Vec::new(), Vec::new()); models];
        let mut tokens: Vec<i64> = vec![i64::from(config.bos_id); beams.sentence_of_row().len()];
        let mut steps = 0u64;
        let weights = &self.weights;
        let last = models - 1;
        let mut mean: Vec<f32> = Vec::new();
        let mut presents: Vec<(Vec<f32>, Vec<f32>)> = Vec::with_capacity(last);
        while !beams.is_done() {
            let rows = tokens.len();
            if beams.sentence_of_row() != row_sentences.as_slice() {
                row_sentences = beams.sentence_of_row().to_vec();
                for ((k, v), (rows_k, rows_v)) in cross.iter().zip(rows_cross.iter_mut()) {
                    *rows_k = gather(k, layers, batch, cross_block, &row_sentences);
                    *rows_v = gather(v, layers, batch, cross_block, &row_sentences);
                }
                rows_mask = gather(&src_mask, 1, batch, src_len, &row_sentences);
            }
            let inputs = |m: usize| StepInputs {
                tokens: &tokens,
                src_mask: &rows_mask,
                cross_k: &rows_cross[m].0,
                cross_v: &rows_cross[m].1,
                past_k: &past[m].0,
                past_v: &past[m].1,
                src_len,
                past_len,
            };
            let block = heads * (past_len + 1) * head_dim;
            // The other models first (their log-probabilities summed, their caches copied out), then the last
            // one, whose step advances the beams; a single model is only that last step.
            presents.clear();
            for (m, worker) in workers[..last].iter_mut().enumerate() {
                let present = worker.step(config, &inputs(m), |log_probs, k, v| {
                    add_scaled(&mut mean, log_probs, weights[m]);
                    Ok((k.to_vec(), v.to_vec()))
                })?;
                presents.push(present);
            }
            let step = workers[last].step(config, &inputs(last), |log_probs, k, v| {
                let step = if last == 0 {
                    beams.advance(log_probs, config.vocab_size)
                } else {
                    add_scaled(&mut mean, log_probs, weights[last]);
                    let step = beams.advance(&mean, config.vocab_size);
                    mean.clear();
                    step
                };
                let k = gather(k, layers, rows, block, &step.parents);
                let v = gather(v, layers, rows, block, &step.parents);
                Ok((step, k, v))
            })?;
            let (step, k, v) = step;
            past[last] = (k, v);
            for (m, (k, v)) in presents.drain(..).enumerate() {
                past[m] = (
                    gather(&k, layers, rows, block, &step.parents),
                    gather(&v, layers, rows, block, &step.parents),
                );
            }
            past_len += 1;
            tokens = step.tokens.iter().map(|&t| i64::from(t)).collect();
            steps += 1;
        }
        let c = &self.counters;
        c.onnx_nanos
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        c.steps.fetch_add(steps, Ordering::Relaxed);
        c.batches.fetch_add(1, Ordering::Relaxed);
        let hyps = beams.finish(nbest);
        c.sentences.fetch_add(batch as u64, Ordering::Relaxed);
        c.source_tokens
            .fetch_add(sources.iter().map(|s| s.len() as u64).sum(), Ordering::Relaxed);
        c.target_tokens.fetch_add(
            hyps.iter()
                .filter_map(|h| h.first())
                .map(|h| h.ids.len() as u64 + 1)
                .sum(),
            Ordering::Relaxed,
        );
        Ok(hyps)
    }
}

/// Source id lists as one right-padded `[rows, src_len]` batch: the ids, the mask (1 on real tokens) and
/// `src_len`, the longest list's length.
fn pad_sources<'a>(
    config: &Config,
    sources: impl ExactSizeIterator<Item = &'a [u32]> + Clone,
) -> (Vec<i64>, Vec<i64>, usize) {
    let rows = sources.len();
    let src_len = sources.clone().map(<[u32]>::len).max().unwrap_or(0);
    let mut ids = vec![i64::from(config.pad_id); rows * src_len];
    let mut mask = vec![0i64; rows * src_len];
    for (r, s) in sources.enumerate() {
        for (t, &id) in s.iter().enumerate() {
            ids[r * src_len + t] = i64::from(id);
            mask[r * src_len + t] = 1;
        }
    }
    (ids, mask, src_len)
}

/// Rows of a `[outer, rows, block]` tensor picked by `index` (a new row per entry, each naming an old row):
/// `[outer, index.len(), block]`.
fn gather<T: Copy>(data: &[T], outer: usize, rows: usize, block: usize, index: &[usize]) -> Vec<T> {
    let mut out = Vec::with_capacity(outer * index.len() * block);
    for o in 0..outer {
        let layer = &data[o * rows * block..(o + 1) * rows * block];
        for &r in index {
            out.extend_from_slice(&layer[r * block..(r + 1) * block]);
        }
    }
    out
}

/// Adds `scale × values` to `sum` (which starts empty: then it becomes `scale × values`).
fn add_scaled(sum: &mut Vec<f32>, values: &[f32], scale: f32) {
    if sum.is_empty() {
        sum.extend(values.iter().map(|&x| x * scale));
    } else {
        for (s, &x) in sum.iter_mut().zip(values) {
            *s += x * scale;
        }
    }
}

/// Checks that `member` can join `model`'s ensemble: the same direction, tokenizer (`tokenizer` is `model`'s
/// `tokenizer.json`), special ids, vocabulary and decoder dimensions, and at least as many positions.
fn check_member(model: &ModelDir, tokenizer: &[u8], member: &ModelDir) -> Result<()> {
    let (a, b) = (model.config(), member.config());
    let same = a.src_lang == b.src_lang
        && a.tgt_lang == b.tgt_lang
        && a.vocab_size == b.vocab_size
        && (a.pad_id, a.bos_id, a.eos_id, a.unk_id) == (b.pad_id, b.bos_id, b.eos_id, b.unk_id)
        && (a.dec_layers, a.heads, a.head_dim) == (b.dec_layers, b.heads, b.head_dim)
        && b.max_len >= a.max_len;
    if !same {
        return Err(Error::InvalidOption(format!(
            "{} cannot join the ensemble of {} (model.json's decoding.ensemble): it must translate the same \
             direction with the same vocabulary, special ids, decoder layers, heads and head size, and at least as \
             many positions",
            member.dir().display(),
            model.dir().display()
        )));
    }
    if member.read("tokenizer.json")? != tokenizer {
        return Err(Error::InvalidOption(format!(
            "{} cannot join the ensemble of {}: its tokenizer.json differs",
            member.dir().display(),
            model.dir().display()
        )));
    }
    Ok(())
}

/// The beam a [`Translator::translate_batch`] call asks for (`default` when it names none), at least its n-best
/// size; an error for a beam or n-best of 0.
pub(crate) fn search_width(options: &TranslateOptions, default: usize) -> fivegram_translate::Result<usize> {
    if options.nbest == 0 || options.beam == Some(0) {
        return Err(fivegram_translate::Error::InvalidOption(
            "beam and n-best must be at least 1".into(),
        ));
    }
    Ok(options.beam.unwrap_or(default).max(options.nbest))
}

fn check_options(options: &Seq2SeqOptions) -> Result<()> {
    let bad = |what: &str| Err(Error::InvalidOption(what.to_string()));
    if options.intra_threads == 0 {
        return bad("intra-op threads must be at least 1");
    }
    if options.sessions == 0 {
        return bad("sessions must be at least 1");
    }
    if options.batch_size == 0 {
        return bad("the batch size must be at least 1");
    }
    if options.beam == 0 {
        return bad("the beam must be at least 1");
    }
    if !options.length_penalty.is_finite() || !options.max_len_ratio.is_finite() || options.max_len_ratio < 0.0 {
        return bad("the length penalty and the length ratio must be finite (the ratio not negative)");
    }
    Ok(())
}

impl Translator for Seq2Seq {
    fn backend(&self) -> &str {
        "neural"
    }

    fn translate_batch(
        &self,
        sources: &[String],
        options: &TranslateOptions,
    ) -> fivegram_translate::Result<Vec<NBest>> {
        let beam = search_width(options, self.options.beam)?;
        // Each line is one segment, or, when it is longer than the model's positions, its sentences (and
        // sentences still too long cut between words), translated separately and joined again.
        let mut segments: Vec<String> = Vec::with_capacity(sources.len());
        let mut spans = Vec::with_capacity(sources.len());
        for source in sources {
            let first = segments.len();
            segments.extend(self.segments(source)?);
            spans.push(first..segments.len());
        }
        let mut ids = Vec::with_capacity(segments.len());
        let mut unknown = Vec::with_capacity(segments.len());
        for segment in &segments {
            if segment.trim().is_empty() {
                ids.push(Vec::new());
                unknown.push(Vec::new());
                continue;
            }
            let src = self.source_ids(segment)?;
            unknown.push(self.subwords.unknown_words(segment, &src)?);
            ids.push(src);
        }
        let hyps = self.generate(&ids, beam, options.nbest)?;
        let mut lists = Vec::with_capacity(segments.len());
        for ((src, hyps), unknown) in ids.iter().zip(hyps).zip(&unknown) {
            let mut nbest = Vec::with_capacity(hyps.len());
            for h in hyps {
                let text = if src.is_empty() {
                    String::new()
                } else {
                    self.subwords.decode(&h.ids, Some(unknown))?
                };
                let length = h.ids.len() as f64 + f64::from(u8::from(h.ended));
                nbest.push((text, h.score, h.log_prob, length));
            }
            lists.push(nbest);
        }
        let translation = |text: String, score: f64, log_prob: f64, length: f64| Translation {
            text,
            score,
            features: options
                .features
                .then(|| vec![("log_prob".to_string(), log_prob), ("length".to_string(), length)]),
        };
        let mut lists = lists.into_iter();
        let mut out = Vec::with_capacity(sources.len());
        for span in spans {
            if span.len() == 1 {
                let list = lists.next().unwrap_or_default();
                out.push(list.into_iter().map(|(t, s, l, n)| translation(t, s, l, n)).collect());
                continue;
            }
            // A split line: one translation, the segments' best joined, their scores and features summed.
            let (mut texts, mut score, mut log_prob, mut length) = (Vec::new(), 0.0, 0.0, 0.0);
            for list in lists.by_ref().take(span.len()) {
                if let Some((t, s, l, n)) = list.into_iter().next() {
                    texts.push(t);
                    (score, log_prob, length) = (score + s, log_prob + l, length + n);
                }
            }
            let text = texts
                .into_iter()
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            out.push(vec![translation(text, score, log_prob, length)]);
        }
        Ok(out)
    }

    fn counters(&self) -> Vec<(String, f64)> {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64;
        vec![
            ("sentences".to_string(), get(&c.sentences)),
            ("source_tokens".to_string(), get(&c.source_tokens)),
            ("target_tokens".to_string(), get(&c.target_tokens)),
            ("decoder_steps".to_string(), get(&c.steps)),
            ("batches".to_string(), get(&c.batches)),
            ("decode_seconds".to_string(), get(&c.onnx_nanos) / 1e9),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gather_picks_rows_per_layer() {
        // 2 layers × 3 rows × block 2
        let data: Vec<u32> = (0..12).collect();
        assert_eq!(
            gather(&data, 2, 3, 2, &[2, 0, 0]),
            vec![4, 5, 0, 1, 0, 1, 10, 11, 6, 7, 6, 7]
        );
        assert!(gather(&data, 2, 3, 2, &[]).is_empty());
    }

    #[test]
    fn options_are_checked() {
        let bad = Seq2SeqOptions {
            beam: 0,
            ..Seq2SeqOptions::default()
        };
        assert!(matches!(check_options(&bad), Err(Error::InvalidOption(_))));
        assert!(check_options(&Seq2SeqOptions::default()).is_ok());
    }
}
