//! A trained phrase-based model directory and [`PhraseModel`], the phrase-based [`Translator`].
//!
//! # The model directory
//! ```text
//! manifest.json        format version, languages, feature weights, decoder settings, the language model's path,
//!                      size and CRC-32 of every file, training statistics (written last)
//! phrases.fst          source phrase → payload offset (see `phrase_table`)
//! phrases.bin          scored translation options
//! target.vocab         the target words, one per line; line i is id i - 1
//! truecase.src.tsv     the source truecaser (`form<TAB>count`)
//! truecase.tgt.tsv     the target truecaser
//! lm/                  the target language model, a memory-mapped store directory (`lm.arpa` when trained with
//!                      `--lm-arpa`), unless the manifest points at another model
//! lm2/                 an optional second target language model (its own feature weight), likewise
//! lm2.classes          for a class-based lm2: its kept words; lm2.clusters: its word clusters, if any
//! bilm/                an optional bilingual language model (feature `bilm`, see `crate::bilm`)
//! ```
//! [`PhraseModel::open`] reads the manifest, checks every file's size, maps the phrase table and loads the
//! language model through `fivegram_lm::model::open`; [`PhraseModel::verify`] also checks every CRC-32.
//!
//! # Text in, text out
//! Input lines are tokenized with the source language's conventions and truecased; the decoder's target tokens
//! are detruecased (sentence starts uppercased) and detokenized with the target language's conventions, so
//! output is ordinary cased text. Unknown words are copied through.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use fivegram_corpora::tokenize::{Detokenizer, Lang, Tokenizer};
use fivegram_lm::model::{LanguageModel, WordId};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::classes::WordClasses;
use crate::decoder::{
    BilmTokens, Decoder, DecoderConfig, Derivation, F_BILM, F_LM2, F_LMS, FEATURES, Features, TargetToken,
    weights_by_name,
};
use crate::phrase_table::{MappedFile, PhraseTable, write_atomic};
use crate::translator::{NBest, TranslateOptions, Translation, Translator};
use crate::truecase::{Truecaser, detruecase};
use crate::{Error, Result};

/// The `format` field of a phrase-based model's manifest.
pub const MANIFEST_FORMAT: &str = "fivegram-phrase-model";
/// The manifest version this build writes.
pub const MANIFEST_VERSION: u32 = 1;
/// The oldest manifest version this build reads.
pub const OLDEST_MANIFEST_VERSION: u32 = 1;

/// Size and checksum of one file of the model directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// Length in bytes.
    pub bytes: u64,
    /// CRC-32 of the whole file, 8 hex digits.
    pub crc32: String,
}

/// Decoder settings as the manifest stores them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecoderSettings {
    /// Hypotheses per stack.
    pub stack_size: usize,
    /// Distortion limit; absent: none.
    pub distortion_limit: Option<usize>,
    /// Options per source span.
    pub ttable_limit: usize,
    /// Longest source phrase.
    pub max_phrase_length: usize,
    /// Expansions scored exactly per stack.
    pub candidate_limit: usize,
}

impl From<&DecoderConfig> for DecoderSettings {
    fn from(c: &DecoderConfig) -> DecoderSettings {
        DecoderSettings {
            stack_size: c.stack_size,
            distortion_limit: c.distortion_limit,
            ttable_limit: c.ttable_limit,
            max_phrase_length: c.max_phrase_length,
            candidate_limit: c.candidate_limit,
        }
    }
}

impl From<&DecoderSettings> for DecoderConfig {
    fn from(s: &DecoderSettings) -> DecoderConfig {
        DecoderConfig {
            stack_size: s.stack_size,
            distortion_limit: s.distortion_limit,
            ttable_limit: s.ttable_limit,
            max_phrase_length: s.max_phrase_length,
            candidate_limit: s.candidate_limit,
        }
    }
}

/// The file of a class-based second language model's kept words.
pub const CLASSES_FILE: &str = "lm2.classes";
/// The clusters of the class-based model, if it has them (`word<TAB>cluster` lines).
pub const CLUSTERS_FILE: &str = "lm2.clusters";

/// How a class-based second language model maps words to classes (see [`crate::classes`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassSpec {
    /// The kept words, relative to the model directory.
    pub file: String,
    /// Characters of a word's ending that make its class.
    pub ending: usize,
    /// The clusters of the words that are not kept, relative to the model directory, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<String>,
}

/// Where the bilingual language model is and how its tokens are spelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BilmSpec {
    /// The model: a path relative to the model directory, or absolute.
    pub lm: String,
    /// Whether the target half of a token is the word's class of the class-based model (`lm2_classes`).
    #[serde(default)]
    pub target_classes: bool,
}

/// The features the rescoring adds to the decoder's own ([`crate::decoder::FEATURES`]): the decoder's score
/// (its weighted feature sum), the translation's whitespace-separated words and a neural language model's
/// natural-log probability of the translation (with `</s>`).
pub const RESCORE_FEATURES: [&str; 3] = ["decoder", "words", "neural_lm"];

/// The most candidates a rescored n-best list may hold.
pub const MAX_RESCORE_NBEST: usize = 1000;

/// Rescoring of the decoder's n-best list with a neural language model of the target language.
///
/// Each candidate's new score is a weighted sum over its features: the decoder's own (`lm`, `tm_p_s_given_t`,
/// …, as `--json --features` reports them) and [`RESCORE_FEATURES`]; a feature without a weight counts 0. The
/// rescoring weights are separate from the decoder's search weights, so the language model of the search can
/// step back where the neural one knows better.
///
/// The phrase-based decoder never loads the neural model itself: the `fivegram translate` command wraps the
/// decoder in `fivegram_neural::LmRescored` when the manifest has this section, and
/// `fivegram translate --no-rerank` leaves it out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RescoreSpec {
    /// The neural language model (`kind: lm`): a bare name is a neural model name (`lm-de`, looked up as
    /// `fivegram_neural::default_model_dir` does: FIVEGRAM_NEURAL_MODELS, the data directory, the repository's
    /// neural/models); anything else is a path, relative to the model directory or absolute.
    pub neural_lm: String,
    /// Translations of the decoder's n-best list that are rescored.
    pub nbest: usize,
    /// Weights by feature name: [`RESCORE_FEATURES`] and the decoder's features.
    pub weights: BTreeMap<String, f64>,
    /// How the weights were chosen, free-form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chosen: Option<String>,
}

impl RescoreSpec {
    /// The weights, checked: every name a feature of the rescoring or the decoder, every weight finite.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] when a weight is unknown or not finite, no weight is set, the language model is
    /// not named, or `nbest` is 0 or above [`MAX_RESCORE_NBEST`].
    pub fn checked_weights(&self) -> Result<Vec<(String, f64)>> {
        if self.neural_lm.trim().is_empty() {
            return Err(Error::InvalidOption("rescore: neural_lm names no model".into()));
        }
        if !(1..=MAX_RESCORE_NBEST).contains(&self.nbest) {
            return Err(Error::InvalidOption(format!(
                "rescore: nbest must be between 1 and {MAX_RESCORE_NBEST}, not {}",
                self.nbest
            )));
        }
        let known = |name: &str| RESCORE_FEATURES.contains(&name) || crate::decoder::FEATURES.contains(&name);
        if let Some(name) = self.weights.keys().find(|k| !known(k)) {
            return Err(Error::InvalidOption(format!(
                "rescore: unknown feature {name:?} (known: {}, and the decoder's: {})",
                RESCORE_FEATURES.join(", "),
                crate::decoder::FEATURES.join(", ")
            )));
        }
        if let Some((name, w)) = self.weights.iter().find(|(_, w)| !w.is_finite()) {
            return Err(Error::InvalidOption(format!("rescore: weight {name} is {w}")));
        }
        if self.weights.values().all(|&w| w == 0.0) {
            return Err(Error::InvalidOption("rescore: every weight is 0".into()));
        }
        Ok(self.weights.iter().map(|(k, &w)| (k.clone(), w)).collect())
    }

    /// Where the neural language model is, for a model in `model_dir` (`resolve_name` maps a bare name to a
    /// directory).
    pub fn neural_lm_dir(&self, model_dir: &Path, resolve_name: impl Fn(&str) -> PathBuf) -> PathBuf {
        let name = self.neural_lm.as_str();
        if !name.contains(['/', '\\']) && name != "." && name != ".." {
            resolve_name(name)
        } else {
            model_dir.join(name)
        }
    }
}

/// The contents of `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// The manifest version.
    pub version: u32,
    /// Source language code (`en`, `de`).
    pub source_lang: String,
    /// Target language code.
    pub target_lang: String,
    /// The target language model: a path relative to the model directory, or absolute.
    pub lm: String,
    /// An optional second target language model (feature `lm2`), e.g. over general-domain text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lm2: Option<String>,
    /// When `lm2` is a class-based model: how target words map to its tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lm2_classes: Option<ClassSpec>,
    /// An optional bilingual language model (feature `bilm`, see [`crate::bilm`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bilm: Option<BilmSpec>,
    /// Feature weights by name (see `decoder::FEATURES`).
    pub weights: BTreeMap<String, f32>,
    /// An optional rescoring of the n-best list with a neural language model (see [`RescoreSpec`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescore: Option<RescoreSpec>,
    /// Decoder settings.
    pub decoder: DecoderSettings,
    /// Every file of the directory with its size and CRC-32 (the language model included when it lies inside).
    pub files: BTreeMap<String, FileInfo>,
    /// Training statistics and tuning results, free-form.
    #[serde(default)]
    pub training: serde_json::Value,
}

impl Manifest {
    /// The weights in feature order; a missing weight is an error.
    pub fn weight_vector(&self, path: &Path) -> Result<Features> {
        weights_by_name(|name| self.weights.get(name).map(|&w| Some(w))).map_err(|name| Error::Corrupt {
            path: path.to_path_buf(),
            what: format!("no weight for feature {name}"),
        })
    }

    /// Sets the weights from a vector in feature order.
    pub fn set_weights(&mut self, weights: &Features) {
        self.weights = FEATURES.iter().zip(weights).map(|(n, w)| (n.to_string(), *w)).collect();
    }

    /// Reads `dir/manifest.json`.
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join("manifest.json");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::NotAModel { dir: dir.to_path_buf() }
            } else {
                Error::io(&path, e)
            }
        })?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| Error::Corrupt {
            path: path.clone(),
            what: format!("invalid manifest: {e}"),
        })?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(Error::Corrupt {
                path,
                what: format!("format {:?}, expected {MANIFEST_FORMAT:?}", manifest.format),
            });
        }
        if !(OLDEST_MANIFEST_VERSION..=MANIFEST_VERSION).contains(&manifest.version) {
            return Err(Error::Version {
                path,
                found: manifest.version,
                oldest: OLDEST_MANIFEST_VERSION,
                newest: MANIFEST_VERSION,
            });
        }
        Ok(manifest)
    }

    /// Writes `dir/manifest.json` atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join("manifest.json");
        let mut text = serde_json::to_string_pretty(self).map_err(|e| Error::InvalidOption(e.to_string()))?;
        text.push('\n');
        write_atomic(&path, text.as_bytes())
    }
}

/// The default model directory of a language pair: `$XDG_DATA_HOME/fivegram/models/translate-SRC-TGT` (on Linux
/// `~/.local/share/fivegram/models/translate-en-de` when `XDG_DATA_HOME` is unset).
pub fn default_model_dir(source: &str, target: &str) -> Result<PathBuf> {
    let data = dirs::data_dir().ok_or_else(|| {
        Error::InvalidOption("no data directory for the default model (set XDG_DATA_HOME or HOME)".into())
    })?;
    Ok(data
        .join("fivegram")
        .join("models")
        .join(format!("translate-{source}-{target}")))
}

/// Size and CRC-32 of a file.
pub fn file_info(path: &Path) -> Result<FileInfo> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok(FileInfo {
        bytes,
        crc32: format!("{:08x}", hasher.finalize()),
    })
}

/// Parses a language code.
pub fn parse_lang(code: &str, path: &Path) -> Result<Lang> {
    code.parse().map_err(|_| Error::Corrupt {
        path: path.join("manifest.json"),
        what: format!("unknown language {code:?}"),
    })
}

/// Turns raw text into the decoder's tokens: the language's tokenizer, then truecasing.
#[derive(Debug, Clone)]
pub struct Preprocessor {
    tokenizer: Tokenizer,
    truecaser: Truecaser,
}

impl Preprocessor {
    /// A preprocessor for `lang` with a truecasing model.
    pub fn new(lang: Lang, truecaser: Truecaser) -> Preprocessor {
        Preprocessor {
            tokenizer: Tokenizer::new(lang),
            truecaser,
        }
    }

    /// Tokenizes and truecases one line.
    pub fn prepare(&self, text: &str) -> Vec<String> {
        let mut tokens = self.tokenizer.tokenize(text);
        self.truecaser.truecase(&mut tokens);
        tokens
    }
}

/// Lifetime counters of a [`PhraseModel`].
#[derive(Debug, Default)]
struct Counters {
    sentences: AtomicU64,
    source_words: AtomicU64,
    lm_queries: AtomicU64,
    lm_batches: AtomicU64,
    lm_nanos: AtomicU64,
    decode_nanos: AtomicU64,
    hypotheses: AtomicU64,
}

/// A phrase-based model opened from its directory: the phrase-based [`Translator`].
pub struct PhraseModel {
    dir: PathBuf,
    manifest: Manifest,
    table: PhraseTable<MappedFile>,
    target_words: Vec<Box<str>>,
    /// Per language model, the id of every target word.
    lm_ids: Vec<Vec<WordId>>,
    lms: Vec<Box<dyn LanguageModel>>,
    /// Per language model, the feature it feeds.
    lm_features: Vec<usize>,
    /// The bilingual language model: its index in `lms`, and whether its target halves are lm2's classes.
    bilm: Option<(usize, bool)>,
    /// Per language model, its word classes if it is a class-based model.
    word_classes: Vec<Option<WordClasses>>,
    preprocessor: Preprocessor,
    detokenizer: Detokenizer,
    weights: Features,
    decoder: DecoderConfig,
    counters: Counters,
}

impl std::fmt::Debug for PhraseModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhraseModel")
            .field("dir", &self.dir)
            .field("source_lang", &self.manifest.source_lang)
            .field("target_lang", &self.manifest.target_lang)
            .finish_non_exhaustive()
    }
}

/// Reads `target.vocab`: one word per line.
fn read_vocab(path: &Path) -> Result<Vec<Box<str>>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut words = Vec::new();
    for (number, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => Error::Format {
                path: path.to_path_buf(),
                line: number as u64 + 1,
                message: "invalid UTF-8".into(),
            },
            _ => Error::io(path, e),
        })?;
        words.push(line.into_boxed_str());
    }
    Ok(words)
}

impl PhraseModel {
    /// Opens a model directory: checks the manifest and file sizes, maps the phrase table, loads the truecaser,
    /// the target vocabulary and the language model.
    pub fn open(dir: impl AsRef<Path>) -> Result<PhraseModel> {
        let dir = dir.as_ref().to_path_buf();
        let manifest = Manifest::read(&dir)?;
        for name in [
            "phrases.fst",
            "phrases.bin",
            "target.vocab",
            "truecase.src.tsv",
            "truecase.tgt.tsv",
        ] {
            if !manifest.files.contains_key(name) {
                return Err(Error::Corrupt {
                    path: dir.join("manifest.json"),
                    what: format!("{name} is not listed"),
                });
            }
        }
        for (name, info) in &manifest.files {
            let path = dir.join(name);
            let len = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?.len();
            if len != info.bytes {
                return Err(Error::Corrupt {
                    path,
                    what: format!("{len} bytes, the manifest says {}", info.bytes),
                });
            }
        }
        let weights = manifest.weight_vector(&dir.join("manifest.json"))?;
        let source = parse_lang(&manifest.source_lang, &dir)?;
        let target = parse_lang(&manifest.target_lang, &dir)?;
        let table = PhraseTable::open(&dir)?;
        let target_words = read_vocab(&dir.join("target.vocab"))?;
        let truecaser = Truecaser::read(&dir.join("truecase.src.tsv"))?;
        let mut lms = vec![fivegram_lm::model::open(dir.join(&manifest.lm))?];
        if let Some(lm2) = &manifest.lm2 {
            lms.push(fivegram_lm::model::open(dir.join(lm2))?);
        }
        let classes = match &manifest.lm2_classes {
            None => None,
            Some(spec) if manifest.lm2.is_some() => {
                let classes = WordClasses::read(&dir.join(&spec.file), spec.ending)?;
                Some(match &spec.clusters {
                    Some(file) => classes.read_clusters(&dir.join(file))?,
                    None => classes,
                })
            }
            Some(_) => {
                return Err(Error::Corrupt {
                    path: dir.join("manifest.json"),
                    what: "lm2_classes without lm2".into(),
                });
            }
        };
        let mut lm_features = vec![F_LMS[0]];
        if manifest.lm2.is_some() {
            lm_features.push(F_LM2);
        }
        let mut word_classes = vec![None, classes];
        word_classes.truncate(lms.len());
        let mut lm_ids: Vec<Vec<WordId>> = lms
            .iter()
            .zip(&word_classes)
            .map(|(lm, classes)| {
                target_words
                    .iter()
                    .map(|w| match classes {
                        Some(c) => lm.word_id(&c.class_of(w)),
                        None => lm.word_id(w),
                    })
                    .collect()
            })
            .collect();
        let mut bilm = None;
        if let Some(spec) = &manifest.bilm {
            let problem = if !table.has_alignments() {
                Some("a bilingual language model needs a phrase table with word alignments (format 2): retrain")
            } else if spec.target_classes && word_classes.get(1).is_none_or(Option::is_none) {
                Some("the bilingual language model's target_classes needs lm2_classes")
            } else {
                None
            };
            if let Some(what) = problem {
                return Err(Error::Corrupt {
                    path: dir.join("manifest.json"),
                    what: what.into(),
                });
            }
            bilm = Some((lms.len(), spec.target_classes));
            lms.push(fivegram_lm::model::open(dir.join(&spec.lm))?);
            lm_features.push(F_BILM);
            lm_ids.push(Vec::new());
            word_classes.push(None);
        }
        let decoder = DecoderConfig::from(&manifest.decoder);
        decoder.validate()?;
        Ok(PhraseModel {
            dir,
            table,
            target_words,
            lm_ids,
            lms,
            lm_features,
            bilm,
            word_classes,
            preprocessor: Preprocessor::new(source, truecaser),
            detokenizer: Detokenizer::new(target),
            weights,
            decoder,
            counters: Counters::default(),
            manifest,
        })
    }

    /// Recomputes the CRC-32 of every file the manifest lists, and the phrase payload's own checksum.
    pub fn verify(&self) -> Result<()> {
        for (name, info) in &self.manifest.files {
            let path = self.dir.join(name);
            let found = file_info(&path)?;
            if found != *info {
                return Err(Error::Checksum {
                    path,
                    what: format!(
                        "{} bytes with CRC-32 {}, the manifest says {} bytes with {}",
                        found.bytes, found.crc32, info.bytes, info.crc32
                    ),
                });
            }
        }
        self.table.verify()
    }

    /// The model directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest as read (weights as at opening).
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The feature weights in use.
    pub fn weights(&self) -> &Features {
        &self.weights
    }

    /// Uses other weights from now on (not saved; see [`save_weights`](Self::save_weights)).
    pub fn set_weights(&mut self, weights: Features) {
        self.weights = weights;
    }

    /// The decoder settings in use.
    pub fn decoder_config(&self) -> &DecoderConfig {
        &self.decoder
    }

    /// Changes the decoder settings (not saved).
    pub fn set_decoder_config(&mut self, config: DecoderConfig) -> Result<()> {
        config.validate()?;
        self.decoder = config;
        Ok(())
    }

    /// Writes the current weights (and `training` notes) into the manifest, atomically.
    pub fn save_weights(&mut self, notes: Option<(&str, serde_json::Value)>) -> Result<()> {
        let mut manifest = Manifest::read(&self.dir)?;
        manifest.set_weights(&self.weights);
        if let Some((key, value)) = notes {
            if !manifest.training.is_object() {
                manifest.training = serde_json::json!({});
            }
            manifest.training[key] = value;
        }
        manifest.write(&self.dir)?;
        self.manifest = manifest;
        Ok(())
    }

    /// The phrase table.
    pub fn table(&self) -> &PhraseTable<MappedFile> {
        &self.table
    }

    /// The language models: the target model, then the second one (feature `lm2`) and the bilingual one
    /// (feature `bilm`), those the model has.
    pub fn lms(&self) -> Vec<&dyn LanguageModel> {
        self.lms.iter().map(|lm| lm.as_ref()).collect()
    }

    /// Tokenizes and truecases a source line.
    pub fn prepare(&self, text: &str) -> Vec<String> {
        self.preprocessor.prepare(text)
    }

    /// Decodes prepared tokens with explicit weights; returns the derivations with their detokenized text.
    pub fn decode_prepared(
        &self,
        tokens: &[String],
        nbest: usize,
        weights: &Features,
        config: &DecoderConfig,
    ) -> Result<Vec<(String, Derivation)>> {
        let words: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let lms = self.lms();
        let decoder = Decoder {
            table: &self.table,
            lms: &lms,
            lm_ids: &self.lm_ids,
            lm_features: &self.lm_features,
            bilm: self.bilm.map(|(index, target_classes)| BilmTokens {
                index,
                target_words: &self.target_words,
                classes: if target_classes {
                    self.word_classes.get(1).and_then(Option::as_ref)
                } else {
                    None
                },
            }),
            word_classes: &self.word_classes,
            weights,
            config,
        };
        let start = Instant::now();
        let (derivations, stats) = decoder.decode(&words, nbest)?;
        let c = &self.counters;
        c.decode_nanos
            .fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        c.sentences.fetch_add(1, Ordering::Relaxed);
        c.source_words.fetch_add(tokens.len() as u64, Ordering::Relaxed);
        c.lm_queries.fetch_add(stats.lm_queries, Ordering::Relaxed);
        c.lm_batches.fetch_add(stats.lm_batches, Ordering::Relaxed);
        c.lm_nanos.fetch_add((stats.lm_seconds * 1e9) as u64, Ordering::Relaxed);
        c.hypotheses.fetch_add(stats.hypotheses, Ordering::Relaxed);
        Ok(derivations
            .into_iter()
            .map(|d| {
                let text = self.render(&d, &words);
                (text, d)
            })
            .collect())
    }

    /// The target tokens of a derivation (truecased, not detokenized).
    pub fn target_tokens(&self, derivation: &Derivation, source: &[&str]) -> Vec<String> {
        derivation
            .tokens
            .iter()
            .map(|t| match *t {
                TargetToken::Word(id) => self.target_words.get(id as usize).map_or("", |w| w).to_string(),
                TargetToken::Source(i) => source.get(i).copied().unwrap_or("").to_string(),
            })
            .filter(|t| !t.is_empty())
            .collect()
    }

    /// Detruecased, detokenized text of a derivation.
    fn render(&self, derivation: &Derivation, source: &[&str]) -> String {
        let mut tokens = self.target_tokens(derivation, source);
        detruecase(&mut tokens);
        self.detokenizer.detokenize(&tokens)
    }
}

impl Translator for PhraseModel {
    fn backend(&self) -> &str {
        "ngram"
    }

    fn translate_batch(&self, sources: &[String], options: &TranslateOptions) -> Result<Vec<NBest>> {
        if options.nbest == 0 {
            return Err(Error::InvalidOption("n-best size must be at least 1".into()));
        }
        let mut config = self.decoder.clone();
        if let Some(beam) = options.beam {
            config.stack_size = beam;
        }
        config.validate()?;
        sources
            .par_iter()
            .map(|source| {
                let tokens = self.prepare(source);
                let derivations = self.decode_prepared(&tokens, options.nbest, &self.weights, &config)?;
                Ok(derivations
                    .into_iter()
                    .map(|(text, d)| Translation {
                        text,
                        score: f64::from(d.score),
                        features: options.features.then(|| {
                            FEATURES
                                .iter()
                                .zip(&d.features)
                                .map(|(n, v)| (n.to_string(), f64::from(*v)))
                                .collect()
                        }),
                    })
                    .collect())
            })
            .collect()
    }

    fn counters(&self) -> Vec<(String, f64)> {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64;
        vec![
            ("sentences".into(), get(&c.sentences)),
            ("source_words".into(), get(&c.source_words)),
            ("lm_queries".into(), get(&c.lm_queries)),
            ("lm_batches".into(), get(&c.lm_batches)),
            ("lm_seconds".into(), get(&c.lm_nanos) / 1e9),
            ("decode_seconds".into(), get(&c.decode_nanos) / 1e9),
            ("hypotheses".into(), get(&c.hypotheses)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> RescoreSpec {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn rescore_weights_name_known_features_and_bad_ones_are_refused() {
        let good =
            spec(r#"{"neural_lm": "lm-de", "nbest": 30, "weights": {"neural_lm": 0.03, "lm": 0.1, "words": 0.2}}"#);
        assert_eq!(
            good.checked_weights().unwrap(),
            [
                ("lm".to_string(), 0.1),
                ("neural_lm".to_string(), 0.03),
                ("words".to_string(), 0.2)
            ]
        );
        for (json, message) in [
            (
                r#"{"neural_lm": "lm-de", "nbest": 30, "weights": {"decoder": 1, "lm3": 1}}"#,
                "unknown feature \"lm3\"",
            ),
            (
                r#"{"neural_lm": "lm-de", "nbest": 30, "weights": {"decoder": 0, "words": 0}}"#,
                "every weight is 0",
            ),
            (
                r#"{"neural_lm": "lm-de", "nbest": 30, "weights": {}}"#,
                "every weight is 0",
            ),
            (
                r#"{"neural_lm": "lm-de", "nbest": 0, "weights": {"decoder": 1}}"#,
                "nbest must be",
            ),
            (
                r#"{"neural_lm": "lm-de", "nbest": 5000, "weights": {"decoder": 1}}"#,
                "nbest must be",
            ),
            (
                r#"{"neural_lm": " ", "nbest": 30, "weights": {"decoder": 1}}"#,
                "names no model",
            ),
        ] {
            let err = spec(json).checked_weights().unwrap_err().to_string();
            assert!(err.contains(message), "{json}: {err}");
        }
    }

    #[test]
    fn a_bare_name_is_a_neural_model_name_and_anything_else_a_path() {
        let mut s = spec(r#"{"neural_lm": "lm-de", "nbest": 30, "weights": {}}"#);
        let models = Path::new("/models");
        let named = |name: &str| PathBuf::from("/neural").join(name);
        assert_eq!(s.neural_lm_dir(models, named), Path::new("/neural/lm-de"));
        s.neural_lm = "../lm".into();
        assert_eq!(s.neural_lm_dir(models, named), Path::new("/models/../lm"));
        s.neural_lm = "/abs/lm".into();
        assert_eq!(s.neural_lm_dir(models, named), Path::new("/abs/lm"));
    }

    #[test]
    fn manifests_without_rescore_still_read_and_with_it_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut manifest = Manifest {
            format: MANIFEST_FORMAT.to_string(),
            version: MANIFEST_VERSION,
            source_lang: "en".into(),
            target_lang: "de".into(),
            lm: "lm".into(),
            lm2: None,
            lm2_classes: None,
            bilm: None,
            weights: BTreeMap::new(),
            rescore: None,
            decoder: DecoderSettings::from(&crate::decoder::DecoderConfig::default()),
            files: BTreeMap::new(),
            training: serde_json::Value::Null,
        };
        manifest.write(dir.path()).unwrap();
        let text = std::fs::read_to_string(dir.path().join("manifest.json")).unwrap();
        assert!(!text.contains("rescore"), "{text}");
        assert_eq!(Manifest::read(dir.path()).unwrap(), manifest);
        manifest.rescore = Some(spec(
            r#"{"neural_lm": "lm-de", "nbest": 30, "weights": {"decoder": 1, "words": 0.2, "neural_lm": 0.03}}"#,
        ));
        manifest.write(dir.path()).unwrap();
        assert_eq!(Manifest::read(dir.path()).unwrap(), manifest);
    }
}
