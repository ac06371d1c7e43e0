//! [`Reranked`]: the beam's n-best list of a [`Seq2Seq`] model reranked with a model of the reverse direction
//! (the noisy channel: a translation that explains its source well scores higher) and, optionally, an n-gram
//! language model of the target language through the same [`LanguageModel`] interface the phrase-based decoder
//! uses.

use std::str::FromStr;

use fivegram_corpora::tokenize::{Lang, Tokenizer};
use fivegram_lm::model::{LanguageModel, WordId};
use fivegram_lm::query;
use fivegram_translate::{NBest, TranslateOptions, Translation, Translator};

use crate::model_dir::RerankWeights;
use crate::seq2seq::{Seq2Seq, search_width};
use crate::{Error, Result};

/// Names of the reranking features, as `--features` reports them: the forward model's log-probability, the
/// target length in pieces (with `</s>`), the reverse model's log-probability of the source, and (only with a
/// language model) the n-gram model's log-probability of the target's words and `</s>`; natural logs.
pub const RERANK_FEATURES: [&str; 4] = ["log_prob", "length", "reverse_log_prob", "lm"];

/// A translation of the forward model's beam with its feature values.
type Candidate = (Translation, Vec<f64>);

/// The n-gram model and the tokenizer of its words.
struct TargetLm {
    model: Box<dyn LanguageModel>,
    tokenizer: Tokenizer,
}

/// A forward model whose beam search keeps `beam` candidates per sentence, each then scored by a reverse model
/// (`log p(source | candidate)`, forced decoding) and optionally an n-gram language model, and ranked by the
/// weighted sum of [`RERANK_FEATURES`].
///
/// Without weights the candidates keep the forward model's order (its length-normalised score), and the
/// features are still computed: what `neural/train/tune_rerank.py` reads to choose weights.
pub struct Reranked {
    forward: Seq2Seq,
    reverse: Seq2Seq,
    lm: Option<TargetLm>,
    beam: usize,
    weights: Option<RerankWeights>,
}

impl std::fmt::Debug for Reranked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reranked")
            .field("forward", &self.forward)
            .field("reverse", &self.reverse)
            .field("lm", &self.lm.is_some())
            .field("beam", &self.beam)
            .field("weights", &self.weights)
            .finish()
    }
}

impl Reranked {
    /// Reranks `forward`'s `beam`-best lists with `reverse`, a model translating the other way.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] when `reverse` does not translate `forward`'s target language into its source
    /// language, or the beam is 0.
    pub fn new(forward: Seq2Seq, reverse: Seq2Seq, beam: usize, weights: Option<RerankWeights>) -> Result<Reranked> {
        let (f, r) = (forward.config(), reverse.config());
        if f.src_lang != r.tgt_lang || f.tgt_lang != r.src_lang {
            return Err(Error::InvalidOption(format!(
                "the reverse model translates {:?}→{:?}, not {:?}→{:?}",
                r.src_lang, r.tgt_lang, f.tgt_lang, f.src_lang
            )));
        }
        if beam == 0 {
            return Err(Error::InvalidOption("the reranking beam must be at least 1".into()));
        }
        Ok(Reranked {
            forward,
            reverse,
            lm: None,
            beam,
            weights,
        })
    }

    /// Adds the feature `lm`: `model`'s log-probability of each candidate's words (the project's tokenizer of
    /// the target language, case kept) and `</s>`.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] when the target language has no tokenizer (only `en` and `de` have).
    pub fn with_lm(mut self, model: Box<dyn LanguageModel>) -> Result<Reranked> {
        let code = self.forward.config().tgt_lang.clone().unwrap_or_default();
        let lang = Lang::from_str(&code).map_err(|_| {
            Error::InvalidOption(format!(
                "no word tokenizer for the target language {code:?} of the language-model feature"
            ))
        })?;
        self.lm = Some(TargetLm {
            model,
            tokenizer: Tokenizer::new(lang),
        });
        Ok(self)
    }

    /// The names of the features this reranker computes, in order.
    pub fn feature_names(&self) -> &'static [&'static str] {
        &RERANK_FEATURES[..if self.lm.is_some() { 4 } else { 3 }]
    }

    /// The forward model's `beam`-best lists (best first by its own score) with the values of
    /// [`Reranked::feature_names`]. Empty sources get their one empty translation and zeros.
    fn candidates(&self, sources: &[String], beam: usize) -> fivegram_translate::Result<Vec<Vec<Candidate>>> {
        let options = TranslateOptions {
            nbest: beam,
            beam: Some(beam),
            features: true,
        };
        let lists = self.forward.translate_batch(sources, &options)?;
        let mut pairs = Vec::new();
        let mut owners = Vec::new();
        for (s, (source, list)) in sources.iter().zip(&lists).enumerate() {
            if source.trim().is_empty() {
                continue;
            }
            let target = self.reverse.target_ids(source)?;
            for (k, t) in list.iter().enumerate() {
                pairs.push((self.reverse.source_ids(&t.text)?, target.clone()));
                owners.push((s, k));
            }
        }
        let reverse = self.reverse.score(&pairs)?;
        let lm = match &self.lm {
            Some(lm) => {
                let sentences: Vec<Vec<WordId>> = owners
                    .iter()
                    .map(|&(s, k)| {
                        let mut ids = Vec::new();
                        lm.tokenizer
                            .for_each_token(&lists[s][k].text, |w| ids.push(lm.model.word_id(w)));
                        ids
                    })
                    .collect();
                let mut scores = Vec::new();
                query::score_sentences(&*lm.model, &sentences, &mut scores);
                scores
                    .iter()
                    .map(|s| f64::from(s.total) * std::f64::consts::LN_10)
                    .collect()
            }
            None => Vec::new(),
        };
        let width = self.feature_names().len();
        let mut out: Vec<Vec<Candidate>> = lists
            .into_iter()
            .map(|list| {
                list.into_iter()
                    .map(|t| {
                        let get = |name: &str| {
                            t.features
                                .as_ref()
                                .and_then(|f| f.iter().find(|(n, _)| n == name))
                                .map_or(0.0, |(_, v)| *v)
                        };
                        let mut values = vec![0.0; width];
                        values[0] = get("log_prob");
                        values[1] = get("length");
                        (t, values)
                    })
                    .collect()
            })
            .collect();
        for (n, ((s, k), lp)) in owners.into_iter().zip(reverse).enumerate() {
            out[s][k].1[2] = lp;
            if let Some(&v) = lm.get(n) {
                out[s][k].1[3] = v;
            }
        }
        Ok(out)
    }
}

impl Translator for Reranked {
    fn backend(&self) -> &str {
        "neural"
    }

    fn translate_batch(
        &self,
        sources: &[String],
        options: &TranslateOptions,
    ) -> fivegram_translate::Result<Vec<NBest>> {
        let beam = search_width(options, self.beam)?;
        let lists = self.candidates(sources, beam)?;
        let names = self.feature_names();
        Ok(lists
            .into_iter()
            .map(|list| {
                let mut scored: Vec<Translation> = list
                    .into_iter()
                    .map(|(mut t, f)| {
                        if let Some(w) = &self.weights {
                            let w = [w.log_prob, w.length, w.reverse_log_prob, w.lm];
                            t.score = f.iter().zip(w).map(|(x, w)| x * w).sum();
                        }
                        t.features = options
                            .features
                            .then(|| names.iter().map(|n| n.to_string()).zip(f).collect());
                        t
                    })
                    .collect();
                // Stable: ties keep the forward model's order.
                scored.sort_by(|a, b| b.score.total_cmp(&a.score));
                scored.truncate(options.nbest);
                scored
            })
            .collect())
    }

    fn counters(&self) -> Vec<(String, f64)> {
        let mut out = self.forward.counters();
        let reverse = self.reverse.counters();
        out.extend(
            reverse
                .into_iter()
                .filter(|(n, _)| n == "decode_seconds")
                .map(|(_, v)| ("reverse_seconds".to_string(), v)),
        );
        out
    }
}
