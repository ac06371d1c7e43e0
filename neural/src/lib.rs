//! The neural backend of fivegram: Transformer models trained by `neural/train/` (Python), exported to ONNX
//! and run through ONNX Runtime behind the same interfaces as the n-gram engine.
//!
//! # The types
//! - [`Seq2Seq`]: an encoder-decoder translation model, implementing [`fivegram_translate::Translator`] with
//!   batched beam search (greedy at beam 1) over a self-attention KV cache: a batch of sentences × beam rows,
//!   cache rows reordered by beam parent, length penalty, n-best lists, early stop once a sentence has `beam`
//!   finished hypotheses, a step limit relative to the source length. See [`Seq2SeqOptions`].
//! - [`NeuralLm`]: a decoder-only language model with a full-context sentence API (log-probabilities per piece
//!   and per word, perplexity) and a word-level [`fivegram_lm::model::LanguageModel`] implementation whose
//!   states keep 4 words of context, so spelling and phrase-based translation can use it unchanged.
//! - [`Reranked`]: a [`Seq2Seq`] whose beam's n-best list is reranked with a model of the reverse direction
//!   (`log p(source | translation)` by forced decoding, [`Seq2Seq::score`]) and the length, with weights tuned on
//!   the development set and recorded in `model.json` (`decoding.rerank`).
//! - [`ModelDir`]: a model directory (`model.json` with the sha256 and size of every file, `tokenizer.json`,
//!   the fp32 and int8 graphs); [`Precision`] chooses the graphs.
//! - [`runtime`]: where the ONNX Runtime library comes from; [`Error`]: everything that can go wrong.
//!
//! No `ort` type appears in this crate's API: inputs and outputs are plain `Vec`s and strings.
//!
//! # Example
//! ```no_run
//! use fivegram_neural::{Seq2Seq, Seq2SeqOptions, Precision};
//! use fivegram_translate::{TranslateOptions, Translator};
//!
//! let options = Seq2SeqOptions { precision: Precision::Int8, ..Seq2SeqOptions::default() };
//! let model = Seq2Seq::open("neural/models/en-de", options)?;
//! let out = model.translate_batch(&["A dog runs in the park.".to_string()], &TranslateOptions::default())?;
//! println!("{}", out[0][0].text);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The runtime library
//! `ort` is built with `load-dynamic`: nothing is downloaded at build time, and the library
//! (`libonnxruntime.so.1.31.1` from PyPI's `onnxruntime==1.31.1` wheel) is loaded on first use from
//! `ORT_DYLIB_PATH` or the default location `$XDG_DATA_HOME/fivegram/onnxruntime/` that
//! `scripts/install-onnxruntime.sh` fills. A missing or wrong library is an [`Error`] that says so.
//!
//! # Memory and threads
//! Each session holds a copy of its graph's weights (a few MB for the committed models). ONNX Runtime's
//! intra-op threads are 1 per session by default, spinning off; parallelism comes from several sessions
//! ([`Seq2SeqOptions::sessions`], [`LmOptions::sessions`]), each behind a mutex because a run needs exclusive
//! access. A beam-search batch holds the cross-attention caches for every row (`layers × rows × heads ×
//! source length × head size` floats, twice) and the self-attention caches, which grow by one position per step.
//!
//! # Quirks
//! A line longer than `max_len - 1` pieces is translated sentence by sentence (a sentence still too long in runs of
//! words that fit) and the parts joined: one translation for such a line, whatever the n-best size. ([`Seq2Seq::generate`]
//! and [`Seq2Seq::score`] take id lists and cut them instead.) `<unk>` pieces in a translation are replaced, in order, by
//! the source words the tokenizer could not cover. The [`fivegram_lm::model::LanguageModel`] view sees at most
//! 4 words of context (its states are n-gram states), unlike [`NeuralLm::score_sentences`].
#![deny(missing_docs)]

mod beam;
mod error;
pub mod lm;
pub mod model_dir;
mod pool;
pub mod rerank;
pub mod rescore;
pub mod runtime;
pub mod seq2seq;
mod tokenizer;

pub use beam::Hypothesis;
pub use error::{Error, Result};
pub use lm::{LmOptions, NeuralLm, Perplexity, SentenceScore, WordScore};
pub use model_dir::{Config, Decoding, Kind, ModelDir, Precision, RerankSettings, RerankWeights, default_model_dir};
pub use rerank::{RERANK_FEATURES, Reranked};
pub use rescore::LmRescored;
pub use seq2seq::{Seq2Seq, Seq2SeqOptions};
