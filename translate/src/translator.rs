//! The [`Translator`] interface that every translation backend implements.

use crate::Result;

/// Options of one [`Translator::translate_batch`] call.
#[derive(Debug, Clone, PartialEq)]
pub struct TranslateOptions {
    /// How many translations to return per source sentence, best first (at least 1).
    pub nbest: usize,
    /// The search width: hypotheses kept per stack (phrase-based) or beam size (neural); `None` for the
    /// backend's default.
    pub beam: Option<usize>,
    /// Whether each translation should carry its score broken down by feature.
    pub features: bool,
}

impl Default for TranslateOptions {
    fn default() -> TranslateOptions {
        TranslateOptions {
            nbest: 1,
            beam: None,
            features: false,
        }
    }
}

/// One translation of a source sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    /// The translation: detokenized, cased text on one line.
    pub text: String,
    /// The model score (higher is better); comparable within one n-best list, not across backends.
    pub score: f64,
    /// The unweighted feature values behind `score`, by name, when [`TranslateOptions::features`] asked for them.
    pub features: Option<Vec<(String, f64)>>,
}

/// The translations of one source sentence, best first; never empty.
pub type NBest = Vec<Translation>;

/// A translation backend: the phrase-based decoder and the neural seq2seq model both implement it, and the CLI,
/// evaluation and benchmarks only ever see `&dyn Translator`.
///
/// `translate_batch` returns one [`NBest`] per source, in order. An empty source translates to an empty
/// translation; words the model does not know are passed through, never dropped. Implementations are `Send + Sync`
/// so that one model serves all threads.
pub trait Translator: Send + Sync {
    /// A short name of the backend, e.g. `ngram` or `neural`.
    fn backend(&self) -> &str;

    /// Translates many sentences at once.
    fn translate_batch(&self, sources: &[String], options: &TranslateOptions) -> Result<Vec<NBest>>;

    /// Translates one sentence: a batch of one.
    fn translate(&self, source: &str, options: &TranslateOptions) -> Result<NBest> {
        let mut out = self.translate_batch(&[source.to_string()], options)?;
        Ok(out.pop().unwrap_or_default())
    }

    /// Counters the backend keeps over its lifetime (sentences, language-model queries and batches, time spent
    /// in the language model, …), by name; empty by default.
    fn counters(&self) -> Vec<(String, f64)> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A backend that reverses the words: enough to check that the trait is dyn-compatible and its defaults work.
    struct Reverse;

    impl Translator for Reverse {
        fn backend(&self) -> &str {
            "reverse"
        }

        fn translate_batch(&self, sources: &[String], options: &TranslateOptions) -> Result<Vec<NBest>> {
            Ok(sources
                .iter()
                .map(|s| {
                    let text = s.split_whitespace().rev().collect::<Vec<_>>().join(" ");
                    vec![
                        Translation {
                            text,
                            score: 0.0,
                            features: None,
                        };
                        options.nbest
                    ]
                })
                .collect())
        }
    }

    #[test]
    fn dyn_translator() {
        let translator: Box<dyn Translator> = Box::new(Reverse);
        let out = translator.translate("a b c", &TranslateOptions::default()).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].text, "c b a");
        assert!(translator.counters().is_empty());
        fn assert_send_sync<T: Send + Sync + ?Sized>() {}
        assert_send_sync::<dyn Translator>();
    }
}
