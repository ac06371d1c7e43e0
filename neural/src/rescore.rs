//! [`LmRescored`]: any [`Translator`]'s n-best list rescored with a neural language model of the target
//! language. The phrase-based decoder scores its hypotheses with a 5-gram model as it searches; a Transformer
//! language model sees the whole translation, and reranking the decoder's n-best list with it is where the two
//! language models meet (`fivegram translate --backend ngram` does it when the model's manifest has a
//! `rescore` section, see `fivegram_translate::model::RescoreSpec`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use fivegram_translate::model::RESCORE_FEATURES;
use fivegram_translate::{NBest, TranslateOptions, Translation, Translator};

use crate::lm::NeuralLm;
use crate::{Error, Result};

/// A translator whose `nbest`-best lists are rescored with a neural language model: each candidate gets the
/// features [`RESCORE_FEATURES`] (the inner translator's score, the candidate's whitespace-separated words, the
/// language model's natural-log probability of the candidate with `</s>`) beside the inner translator's own
/// features, and the candidates are ranked by the weighted sum of the features the weights name (a feature
/// without a weight counts 0).
///
/// Without weights the candidates keep the inner translator's order and the features are still computed
/// (`--json --features`): what `neural/train/tune_rerank.py` reads to choose weights.
pub struct LmRescored {
    inner: Box<dyn Translator>,
    lm: NeuralLm,
    nbest: usize,
    weights: Option<Vec<(String, f64)>>,
    /// Nanoseconds spent scoring candidates with the language model (wall clock of the calls).
    lm_nanos: AtomicU64,
    /// Candidates scored.
    scored: AtomicU64,
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
    /// Rescores `inner`'s `nbest`-best lists with `lm`, ranked by `weights` (feature name, weight).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] when `nbest` is 0, a weight is not finite or a feature has two weights.
    pub fn new(
        inner: Box<dyn Translator>,
        lm: NeuralLm,
        nbest: usize,
        weights: Option<Vec<(String, f64)>>,
    ) -> Result<LmRescored> {
        if nbest == 0 {
            return Err(Error::InvalidOption(
                "the rescored n-best list must hold at least 1 translation".into(),
            ));
        }
        if let Some(w) = &weights {
            if let Some((name, _)) = w.iter().find(|(_, x)| !x.is_finite()) {
                return Err(Error::InvalidOption(format!(
                    "the rescoring weight of {name} is not a finite number"
                )));
            }
            if let Some((name, _)) = w
                .iter()
                .enumerate()
                .find_map(|(i, a)| w[..i].iter().find(|b| b.0 == a.0))
            {
                return Err(Error::InvalidOption(format!("the rescoring weights name {name} twice")));
            }
        }
        Ok(LmRescored {
            inner,
            lm,
            nbest,
            weights,
            lm_nanos: AtomicU64::new(0),
            scored: AtomicU64::new(0),
        })
    }

    /// The [`RESCORE_FEATURES`] of each candidate of each list.
    fn features(&self, lists: &[NBest]) -> Result<Vec<Vec<[f64; 3]>>> {
        let texts: Vec<&str> = lists.iter().flatten().map(|t| t.text.as_str()).collect();
        let start = Instant::now();
        let scores = self.lm.score_sentences(&texts)?;
        let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.lm_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.scored.fetch_add(texts.len() as u64, Ordering::Relaxed);
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
            features: true,
            ..options.clone()
        };
        let lists = self.inner.translate_batch(sources, &inner_options)?;
        let ours = self.features(&lists)?;
        let mut out = Vec::with_capacity(lists.len());
        for (list, ours) in lists.into_iter().zip(ours) {
            let mut scored = Vec::with_capacity(list.len());
            for (mut t, f) in list.into_iter().zip(ours) {
                let mut features: Vec<(String, f64)> = RESCORE_FEATURES.iter().map(|n| n.to_string()).zip(f).collect();
                features.extend(t.features.take().unwrap_or_default());
                if let Some(weights) = &self.weights {
                    let mut score = 0.0;
                    for (name, w) in weights {
                        let Some((_, x)) = features.iter().find(|(n, _)| n == name) else {
                            return Err(Error::InvalidOption(format!(
                                "a rescoring weight names the feature {name}, which the {} translator does not report",
                                self.inner.backend()
                            ))
                            .into());
                        };
                        score += w * x;
                    }
                    t.score = score;
                }
                t.features = options.features.then_some(features);
                scored.push(t);
            }
            // Stable: ties keep the inner translator's order.
            scored.sort_by(|a: &Translation, b: &Translation| b.score.total_cmp(&a.score));
            scored.truncate(options.nbest);
            out.push(scored);
        }
        Ok(out)
    }

    /// The inner translator's counters, then `rescore_seconds` (wall-clock time in the neural language model)
    /// and `rescored_candidates`.
    fn counters(&self) -> Vec<(String, f64)> {
        let mut out = self.inner.counters();
        out.push((
            "rescore_seconds".to_string(),
            self.lm_nanos.load(Ordering::Relaxed) as f64 * 1e-9,
        ));
        out.push((
            "rescored_candidates".to_string(),
            self.scored.load(Ordering::Relaxed) as f64,
        ));
        out
    }
}
