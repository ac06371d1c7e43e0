//! Translation for fivegram: the [`Translator`] interface, a phrase-based system over the n-gram language
//! models of `fivegram-lm`, and BLEU/chrF scoring identical to sacreBLEU's.
//!
//! # The types
//! - [`Translator`]: `translate_batch(sources, options) -> n-best lists`; every backend implements it and the
//!   command line, evaluation and benchmarks only see `&dyn Translator`.
//! - [`model::PhraseModel`]: a trained phrase-based model directory, opened (memory-mapped phrase table, language
//!   model through `fivegram_lm::model::open`), implementing [`Translator`].
//! - [`train::train`]: tokenization and truecasing ([`truecase`]), IBM Model 1 and HMM word alignment in both
//!   directions with grow-diag-final-and ([`align`]), phrase extraction and scoring with Good-Turing discounting
//!   and lexicalized reordering ([`extract`]), the phrase table ([`phrase_table`]), the target language model and
//!   optionally a class-based one ([`classes`], over word endings or over clusters learned by the exchange
//!   algorithm, [`clusters`]) and a bilingual one ([`bilm`]). The committed weights use the class model over
//!   endings; clusters and the bilingual model are options that did not gain on Multi30k val (BENCHMARKS.md).
//! - [`decoder::Decoder`]: stack decoding with future costs, recombination on language-model state, n-best lists,
//!   one language-model batch per model per expansion step.
//! - [`tune::tune`]: PRO or MERT on a development set with a fixed seed.
//! - [`metrics`]: corpus BLEU and chrF/chrF++ reproducing sacreBLEU 2.6.0; [`mbr`]: minimum Bayes-risk selection.
//!
//! # Example
//! ```no_run
//! use fivegram_translate::model::PhraseModel;
//! use fivegram_translate::{TranslateOptions, Translator};
//!
//! let model = PhraseModel::open("models/en-de")?;
//! let translator: &dyn Translator = &model;
//! let out = translator.translate_batch(&["A dog runs in the park.".to_string()], &TranslateOptions::default())?;
//! println!("{}", out[0][0].text);
//! # Ok::<(), fivegram_translate::Error>(())
//! ```
//!
//! # Memory
//! Opening a model maps `phrases.fst`, `phrases.bin` and the language models' store directories (`lm/`, and
//! `lm2/` for a class-based or second model, `bilm/` for a bilingual one; pages are read as lookups touch them), so it takes milliseconds; a
//! Multi30k model (29,000 sentence pairs) with its class-based model peaks at about 115 MiB resident while
//! translating on two threads. A model trained with `--lm-arpa` reads its ARPA file into memory instead. Training holds the corpus, the alignment tables (4 bytes per co-occurring word pair per
//! sentence) and the phrase counts in memory: about 700 MiB for Multi30k.
//!
//! # Quirks
//! Sentences longer than [`decoder::MAX_WORDS`] tokens are decoded in pieces cut after punctuation. Words the
//! phrase table does not know are copied to the output. Output is detruecased (sentence starts uppercased) and
//! detokenized with `fivegram_corpora`'s detokenizer.
#![deny(missing_docs)]

pub mod align;
pub mod bilm;
pub mod classes;
pub mod clusters;
pub mod decoder;
mod error;
pub mod extract;
pub mod mbr;
pub mod metrics;
pub mod model;
pub mod phrase_table;
pub mod train;
pub mod translator;
pub mod truecase;
pub mod tune;

pub use error::{Error, Result};
pub use translator::{NBest, TranslateOptions, Translation, Translator};
