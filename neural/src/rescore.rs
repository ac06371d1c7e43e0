//! [`LmRescored`]: any [`Translator`]'s n-best list rescored with a neural language model of the target
//! language. The phrase-based decoder scores its hypotheses with a 5-gram model as it searches; a Transformer
//! language model sees the whole translation, and reranking the decoder's n-best list with it is where the two
//! language models meet (`fivegram translate --backend ngram` does it when the model's manifest has a
//! `rescore` section, see `fivegram_translate::model::RescoreSpec`).

use fivegram_translate::model::RESCORE_FEATURES;
use fivegram_translate::{NBest, TranslateOptions, Translation, Translator};

use crate::lm::NeuralLm;
use crate::{Error, Result};

/// A translator whose `nbest`-best lists are rescored with a neural language model: each candidate gets the
/// features [`RESCORE_FEATURES`] (the inner translator's score, the candidate's whitespace-separated words, the
/// language model's natural-log probability of the candidate with `</s>`), and the candidates are ranked by
/// their weighted sum.
///
/// Without weights the candidates keep the inner translator's order and the features are still computed
/// (`--json --features`): what `neural/train/tune_rerank.py` reads to choose weights.
pub struct LmRescored {
    inner: Box<dyn Translator>,
    lm: NeuralLm,
    nbest: usize,
    weights: Option<[f64; 3]>,
}

impl std::fmt::Debug for LmRescored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LmRescored")
            .field("inner", &self.inner.backend())
            .field("lm", &self.lm.model_dir().dir())
            .field("nbest", &self.nbest)
            .field("weights", &self.weights)
            .finish()
    }
}

impl LmRescored {
    /// Rescores `inner`'s `nbest`-best lists with `lm`, ranked by `weights` (in [`RESCORE_FEATURES`] order).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] when `nbest` is 0 or a weight is not finite.
    pub fn new(
        inner: Box<dyn Translator>,
        lm: NeuralLm,
        nbest: usize,
        weights: Option<[f64; 3]>,
    ) -> Result<LmRescored> {
        if nbest == 0 {
            return Err(Error::InvalidOption(
                "the rescored n-best list must hold at least 1 translation".into(),
            ));
        }
        if weights.is_some_and(|w| w.iter().any(|x| !x.is_finite())) {
            return Err(Error::InvalidOption("rescoring weights must be finite numbers".into()));
        }
        Ok(LmRescored {
            inner,
            lm,
            nbest,
            weights,
        })
    }

    /// The feature values of each candidate of each list, in [`RESCORE_FEATURES`] order.
    fn features(&self, lists: &[NBest]) -> Result<Vec<Vec<[f64; 3]>>> {
        let texts: Vec<&str> = lists.iter().flatten().map(|t| t.text.as_str()).collect();
        let scores = self.lm.score_sentences(&texts)?;
        let mut scores = scores.into_iter();
        let mut out = Vec::with_capacity(lists.len());
        for list in lists {
            let mut row = Vec::with_capacity(list.len());
            for t in list {
                let lm = scores
                    .next()
                    .ok_or_else(|| Error::InvalidOption("the language model scored too few sentences".into()))?;
                row.push([t.score, t.text.split_whitespace().count() as f64, lm.log_prob]);
            }
            out.push(row);
        }
        Ok(out)
    }
}

impl Translator for LmRescored {
    fn backend(&self) -> &str {
        self.inner.backend()
    }

    fn translate_batch(
        &self,
        sources: &[String],
        options: &TranslateOptions,
    ) -> fivegram_translate::Result<Vec<NBest>> {
        let inner_options = TranslateOptions {
            nbest: options.nbest.max(self.nbest),
            features: false,
            ..options.clone()
        };
        let lists = self.inner.translate_batch(sources, &inner_options)?;
        let features = self.features(&lists)?;
        Ok(lists
            .into_iter()
            .zip(features)
            .map(|(list, features)| {
                let mut scored: Vec<Translation> = list
                    .into_iter()
                    .zip(features)
                    .map(|(mut t, f)| {
                        if let Some(w) = &self.weights {
                            t.score = f.iter().zip(w).map(|(x, w)| x * w).sum();
                        }
                        t.features = options
                            .features
                            .then(|| RESCORE_FEATURES.iter().map(|n| n.to_string()).zip(f).collect());
                        t
                    })
                    .collect();
                // Stable: ties keep the inner translator's order.
                scored.sort_by(|a, b| b.score.total_cmp(&a.score));
                scored.truncate(options.nbest);
                scored
            })
            .collect())
    }

    fn counters(&self) -> Vec<(String, f64)> {
        self.inner.counters()
    }
}
