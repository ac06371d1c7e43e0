//! Model directories: `model.json`, the tokenizer and the ONNX graphs, checked against the sizes and sha256 sums
//! that `model.json` lists.
//!
//! The layout is the contract in `neural/train/` (see the crate documentation): `model.json`, `tokenizer.json`,
//! `encoder.onnx` + `decoder.onnx` (seq2seq) or `lm.onnx` (lm), and `.int8.onnx` versions of the graphs.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// The `model.json` format version this build reads.
pub const FORMAT: u64 = 1;

/// What a model directory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An encoder-decoder translation model (`encoder.onnx`, `decoder.onnx`).
    Seq2Seq,
    /// A decoder-only language model (`lm.onnx`).
    Lm,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Seq2Seq => "seq2seq",
            Kind::Lm => "lm",
        }
    }
}

/// Which version of the graphs to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// The exported float32 graphs (`*.onnx`).
    #[default]
    Fp32,
    /// The int8 dynamically quantized graphs (`*.int8.onnx`).
    Int8,
}

impl Precision {
    /// The file name of graph `stem` (`encoder`, `decoder`, `lm`) in this precision.
    pub fn file_name(self, stem: &str) -> String {
        match self {
            Precision::Fp32 => format!("{stem}.onnx"),
            Precision::Int8 => format!("{stem}.int8.onnx"),
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::Fp32 => "fp32",
            Precision::Int8 => "int8",
        })
    }
}

impl std::str::FromStr for Precision {
    type Err = Error;

    fn from_str(s: &str) -> Result<Precision> {
        match s {
            "fp32" => Ok(Precision::Fp32),
            "int8" => Ok(Precision::Int8),
            _ => Err(Error::InvalidOption(format!("precision {s:?}: expected fp32 or int8"))),
        }
    }
}

/// The model's dimensions and special token ids, from `model.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Encoder-decoder or language model.
    pub kind: Kind,
    /// Source language (seq2seq), e.g. `en`.
    pub src_lang: Option<String>,
    /// Target language (seq2seq), e.g. `de`.
    pub tgt_lang: Option<String>,
    /// The language of a language model.
    pub lang: Option<String>,
    /// Rows of the output distribution.
    pub vocab_size: usize,
    /// Model width.
    pub d_model: usize,
    /// Attention heads.
    pub heads: usize,
    /// Width of one head (the last axis of the caches).
    pub head_dim: usize,
    /// Encoder layers (seq2seq; 0 for a language model).
    pub enc_layers: usize,
    /// Decoder layers (the first axis of the caches).
    pub dec_layers: usize,
    /// The most positions the model was built for (source, target or LM sequence).
    pub max_len: usize,
    /// `<pad>`.
    pub pad_id: u32,
    /// `<s>`.
    pub bos_id: u32,
    /// `</s>`.
    pub eos_id: u32,
    /// `<unk>`.
    pub unk_id: u32,
}

#[derive(Debug, Deserialize)]
struct FileEntry {
    sha256: String,
    bytes: u64,
}

#[derive(Debug, Deserialize)]
struct RawConfig {
    #[serde(rename = "format")]
    _format: u64,
    kind: String,
    src_lang: Option<String>,
    tgt_lang: Option<String>,
    lang: Option<String>,
    vocab_size: usize,
    d_model: usize,
    heads: usize,
    head_dim: usize,
    enc_layers: Option<usize>,
    dec_layers: usize,
    max_len: usize,
    pad_id: u32,
    bos_id: u32,
    eos_id: u32,
    unk_id: u32,
    files: BTreeMap<String, FileEntry>,
    word_boundary: Option<String>,
    #[serde(default)]
    decoding: Option<Decoding>,
}

/// Search settings recorded with a seq2seq model (`model.json`'s optional `decoding`), e.g. tuned on its
/// development set; a caller's explicit settings take precedence.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Decoding {
    /// Beam width.
    #[serde(default)]
    pub beam: Option<usize>,
    /// Length penalty α (finished hypotheses ranked by `log p / length^α`).
    #[serde(default)]
    pub length_penalty: Option<f64>,
    /// Reranking of the beam's n-best list with a model of the reverse direction (see [`crate::Reranked`]).
    #[serde(default)]
    pub rerank: Option<RerankSettings>,
    /// Other models of the same direction, tokenizer and dimensions (directories relative to this model's, or
    /// absolute) whose log-probabilities the search averages with this model's at every step: an ensemble (see
    /// [`crate::Seq2Seq::open`]).
    #[serde(default)]
    pub ensemble: Vec<PathBuf>,
    /// The weights of the ensemble's models in its mean, this model's first, then those of `ensemble` in order
    /// (non-negative, not all 0; scaled to sum to 1). Default: equal weights.
    #[serde(default)]
    pub ensemble_weights: Option<Vec<f64>>,
}

/// The most other models `decoding.ensemble` may name.
pub const MAX_ENSEMBLE: usize = 7;

/// `decoding.rerank` in `model.json`: the reverse-direction model (a path relative to the model directory, e.g.
/// `../de-en`), optionally an n-gram language model of the target language, the beam whose n-best list is
/// reranked, and the weights of the features.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RerankSettings {
    /// The reverse model's directory, relative to this model's directory (or absolute).
    pub reverse: PathBuf,
    /// An n-gram language model of the target language (a `fivegram build` directory or an ARPA file), relative
    /// to this model's directory (or absolute); it scores the project's word tokens of each candidate.
    #[serde(default)]
    pub lm: Option<PathBuf>,
    /// Beam width (and n-best size) of the forward search whose candidates are reranked.
    pub beam: usize,
    /// Feature weights.
    pub weights: RerankWeights,
}

/// Weights of the reranking features: a candidate scores `log_prob · log p(target | source) + length · target
/// pieces (with </s>) + reverse_log_prob · log p(source | target) + lm · log p_LM(target words </s>)`, natural logs.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RerankWeights {
    /// Weight of the forward model's log-probability.
    pub log_prob: f64,
    /// Weight of the target length in pieces (`</s>` included).
    pub length: f64,
    /// Weight of the reverse model's log-probability of the source.
    pub reverse_log_prob: f64,
    /// Weight of the n-gram language model's log-probability of the target (0 when absent).
    #[serde(default)]
    pub lm: f64,
}

/// An opened model directory: its [`Config`] and the list of files with their sizes and sums.
///
/// Opening reads and checks `model.json` only; [`ModelDir::read`] checks a file's size and sha256 as it reads it,
/// and [`ModelDir::verify`] checks every listed file.
#[derive(Debug)]
pub struct ModelDir {
    dir: PathBuf,
    config: Config,
    files: BTreeMap<String, FileEntry>,
    decoding: Decoding,
}

impl ModelDir {
    /// Opens the model directory `dir`, which must hold a model of kind `kind`.
    ///
    /// # Errors
    /// [`Error::Io`] when `model.json` cannot be read, [`Error::ModelJson`] when it is not valid,
    /// [`Error::Version`] for another format, [`Error::Kind`] for a model of another kind.
    pub fn open(dir: impl AsRef<Path>, kind: Kind) -> Result<ModelDir> {
        let dir = dir.as_ref().to_path_buf();
        let path = dir.join("model.json");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let invalid = |message: String| Error::ModelJson {
            path: path.clone(),
            line: None,
            message,
        };
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::ModelJson {
            path: path.clone(),
            line: Some(e.line()),
            message: e.to_string(),
        })?;
        if let Some(format) = value.get("format").and_then(|f| f.as_u64())
            && format != FORMAT
        {
            return Err(Error::Version {
                path,
                found: format,
                expected: FORMAT,
            });
        }
        let raw: RawConfig = serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
        let found_kind = match raw.kind.as_str() {
            "seq2seq" => Kind::Seq2Seq,
            "lm" => Kind::Lm,
            other => return Err(invalid(format!("kind {other:?}: expected \"seq2seq\" or \"lm\""))),
        };
        if found_kind != kind {
            return Err(Error::Kind {
                path,
                expected: kind.name(),
                found: raw.kind,
            });
        }
        if let Some(boundary) = &raw.word_boundary
            && boundary != "metaspace"
        {
            return Err(invalid(format!(
                "word_boundary {boundary:?}: this build reads \"metaspace\" only"
            )));
        }
        for (name, value) in [
            ("vocab_size", raw.vocab_size),
            ("d_model", raw.d_model),
            ("heads", raw.heads),
            ("head_dim", raw.head_dim),
            ("dec_layers", raw.dec_layers),
            ("max_len", raw.max_len),
        ] {
            if value == 0 {
                return Err(invalid(format!("{name} is 0")));
            }
        }
        let enc_layers = match kind {
            Kind::Seq2Seq => match raw.enc_layers {
                Some(n) if n > 0 => n,
                _ => return Err(invalid("a seq2seq model needs enc_layers > 0".into())),
            },
            Kind::Lm => raw.enc_layers.unwrap_or(0),
        };
        if kind == Kind::Seq2Seq && (raw.src_lang.is_none() || raw.tgt_lang.is_none()) {
            return Err(invalid("a seq2seq model needs src_lang and tgt_lang".into()));
        }
        for (name, id) in [
            ("pad_id", raw.pad_id),
            ("bos_id", raw.bos_id),
            ("eos_id", raw.eos_id),
            ("unk_id", raw.unk_id),
        ] {
            if id as usize >= raw.vocab_size {
                return Err(invalid(format!(
                    "{name} {id} is not below vocab_size {}",
                    raw.vocab_size
                )));
            }
        }
        for (name, entry) in &raw.files {
            if name.contains('/') || name.contains('\\') || name.starts_with('.') {
                return Err(invalid(format!(
                    "file name {name:?} is not a plain name in the directory"
                )));
            }
            if entry.sha256.len() != 64 || !entry.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid(format!("files.{name}.sha256 is not 64 hexadecimal digits")));
            }
        }
        let mut decoding = raw.decoding.unwrap_or_default();
        if decoding.beam == Some(0) || decoding.length_penalty.is_some_and(|a| !(0.0..=10.0).contains(&a)) {
            return Err(invalid(
                "decoding: beam must be at least 1 and length_penalty between 0 and 10".into(),
            ));
        }
        if let Some(rerank) = &mut decoding.rerank {
            let w = rerank.weights;
            let finite = [w.log_prob, w.length, w.reverse_log_prob, w.lm]
                .iter()
                .all(|x| x.is_finite());
            if !(1..=64).contains(&rerank.beam) || !finite || (w.lm != 0.0 && rerank.lm.is_none()) {
                return Err(invalid(
                    "decoding.rerank: beam must be between 1 and 64, every weight a finite number, and an lm weight \
                     needs an lm"
                        .into(),
                ));
            }
            rerank.reverse = dir.join(&rerank.reverse);
            rerank.lm = rerank.lm.as_ref().map(|lm| dir.join(lm));
        }
        if decoding.ensemble.len() > MAX_ENSEMBLE {
            return Err(invalid(format!(
                "decoding.ensemble: at most {MAX_ENSEMBLE} other models, found {}",
                decoding.ensemble.len()
            )));
        }
        for member in &mut decoding.ensemble {
            *member = dir.join(&*member);
        }
        if let Some(weights) = &decoding.ensemble_weights
            && (weights.len() != 1 + decoding.ensemble.len()
                || weights.iter().any(|w| !w.is_finite() || *w < 0.0)
                || weights.iter().sum::<f64>() <= 0.0)
        {
            return Err(invalid(format!(
                "decoding.ensemble_weights: one non-negative number per model ({}: this one, then the {} of \
                 decoding.ensemble), not all 0",
                1 + decoding.ensemble.len(),
                decoding.ensemble.len()
            )));
        }
        let config = Config {
            kind,
            src_lang: raw.src_lang,
            tgt_lang: raw.tgt_lang,
            lang: raw.lang,
            vocab_size: raw.vocab_size,
            d_model: raw.d_model,
            heads: raw.heads,
            head_dim: raw.head_dim,
            enc_layers,
            dec_layers: raw.dec_layers,
            max_len: raw.max_len,
            pad_id: raw.pad_id,
            bos_id: raw.bos_id,
            eos_id: raw.eos_id,
            unk_id: raw.unk_id,
        };
        Ok(ModelDir {
            dir,
            config,
            files: raw.files,
            decoding,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The model's dimensions and special ids.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The search settings `model.json` records (none: the callers' defaults).
    pub fn decoding(&self) -> &Decoding {
        &self.decoding
    }

    /// Whether `model.json` lists the file `name`.
    pub fn has(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }

    /// Reads the file `name`, checking its size and sha256 against `model.json`.
    ///
    /// # Errors
    /// [`Error::MissingFile`] when it is not listed or not there, [`Error::Io`] when it cannot be read,
    /// [`Error::Checksum`] when its size or sum differs.
    pub fn read(&self, name: &str) -> Result<Vec<u8>> {
        let path = self.dir.join(name);
        let entry = self.files.get(name).ok_or_else(|| Error::MissingFile {
            path: path.clone(),
            why: "not listed in model.json",
        })?;
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::MissingFile {
                    path,
                    why: "listed in model.json but not in the directory",
                });
            }
            Err(e) => return Err(Error::io(path, e)),
        };
        if bytes.len() as u64 != entry.bytes {
            return Err(Error::Checksum {
                path,
                what: "size",
                expected: format!("{} bytes", entry.bytes),
                found: format!("{} bytes", bytes.len()),
            });
        }
        let sum = hex::encode(Sha256::digest(&bytes));
        if !sum.eq_ignore_ascii_case(&entry.sha256) {
            return Err(Error::Checksum {
                path,
                what: "sha256",
                expected: entry.sha256.clone(),
                found: sum,
            });
        }
        Ok(bytes)
    }

    /// Checks the size and sha256 of every file `model.json` lists.
    pub fn verify(&self) -> Result<()> {
        for name in self.files.keys() {
            self.read(name)?;
        }
        Ok(())
    }
}

/// Where the model `name` (`en-de`, `de-en`, `lm-ptb`, …) lives when no directory is given: the first of
/// 1. `$FIVEGRAM_NEURAL_MODELS/<name>` when that variable is set (whether or not the directory exists),
/// 2. `<data dir>/fivegram/models/neural-<name>` (`$XDG_DATA_HOME`, else `~/.local/share`) when it exists,
/// 3. `neural/models/<name>` in the source tree this binary was built from, where the trained models are
///    committed.
pub fn default_model_dir(name: &str) -> PathBuf {
    if let Some(root) = std::env::var_os("FIVEGRAM_NEURAL_MODELS").filter(|r| !r.is_empty()) {
        return PathBuf::from(root).join(name);
    }
    if let Some(data) = dirs::data_dir() {
        let dir = data.join("fivegram").join("models").join(format!("neural-{name}"));
        if dir.is_dir() {
            return dir;
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models").join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_model(dir: &Path, json: &str, files: &[(&str, &[u8])]) {
        std::fs::write(dir.join("model.json"), json).unwrap();
        for (name, bytes) in files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }

    fn json(files: &str) -> String {
        format!(
            r#"{{"format": 1, "kind": "lm", "lang": "en", "vocab_size": 10, "d_model": 4, "heads": 2,
               "head_dim": 2, "dec_layers": 1, "max_len": 16, "pad_id": 0, "bos_id": 1, "eos_id": 2,
               "unk_id": 3, "files": {{{files}}}, "word_boundary": "metaspace", "extra": [1, 2]}}"#
        )
    }

    #[test]
    fn reads_and_checks_files() {
        let tmp = tempfile::tempdir().unwrap();
        let sum = hex::encode(Sha256::digest(b"hello"));
        write_model(
            tmp.path(),
            &json(&format!(
                r#""a.bin": {{"sha256": "{sum}", "bytes": 5}}, "b.bin": {{"sha256": "{sum}", "bytes": 5}}"#
            )),
            &[("a.bin", b"hello"), ("b.bin", b"hellO")],
        );
        let model = ModelDir::open(tmp.path(), Kind::Lm).unwrap();
        assert_eq!(model.config().vocab_size, 10);
        assert_eq!(model.read("a.bin").unwrap(), b"hello");
        let err = model.read("b.bin").unwrap_err();
        assert!(matches!(err, Error::Checksum { what: "sha256", .. }), "{err}");
        assert!(err.to_string().contains("b.bin"), "{err}");
        assert!(matches!(model.verify(), Err(Error::Checksum { .. })));
        assert!(matches!(model.read("c.bin"), Err(Error::MissingFile { .. })));
        std::fs::remove_file(tmp.path().join("a.bin")).unwrap();
        let err = model.read("a.bin").unwrap_err();
        assert!(
            matches!(err, Error::MissingFile { .. }) && err.to_string().contains("a.bin"),
            "{err}"
        );
        std::fs::write(tmp.path().join("a.bin"), b"hell").unwrap();
        assert!(matches!(model.read("a.bin"), Err(Error::Checksum { what: "size", .. })));
        let err = ModelDir::open(tmp.path(), Kind::Seq2Seq).unwrap_err();
        assert!(matches!(err, Error::Kind { .. }), "{err}");
    }

    #[test]
    fn rejects_invalid_descriptions() {
        let tmp = tempfile::tempdir().unwrap();
        let err = ModelDir::open(tmp.path(), Kind::Lm).unwrap_err();
        assert!(
            matches!(err, Error::Io { .. }) && err.to_string().contains("model.json"),
            "{err}"
        );
        write_model(tmp.path(), "{\n\"format\": 1,\n\"kind\": \n}", &[]);
        let err = ModelDir::open(tmp.path(), Kind::Lm).unwrap_err();
        assert!(matches!(err, Error::ModelJson { line: Some(4), .. }), "{err}");
        write_model(tmp.path(), &json("").replace("\"format\": 1", "\"format\": 2"), &[]);
        assert!(matches!(
            ModelDir::open(tmp.path(), Kind::Lm),
            Err(Error::Version { found: 2, .. })
        ));
        write_model(tmp.path(), &json("").replace("\"eos_id\": 2", "\"eos_id\": 10"), &[]);
        let err = ModelDir::open(tmp.path(), Kind::Lm).unwrap_err();
        assert!(err.to_string().contains("eos_id 10"), "{err}");
        write_model(tmp.path(), &json("").replace("\"heads\": 2,", ""), &[]);
        let err = ModelDir::open(tmp.path(), Kind::Lm).unwrap_err();
        assert!(err.to_string().contains("heads"), "{err}");
        write_model(tmp.path(), &json(r#""../x": {"sha256": "00", "bytes": 1}"#), &[]);
        assert!(matches!(
            ModelDir::open(tmp.path(), Kind::Lm),
            Err(Error::ModelJson { .. })
        ));
    }

    #[test]
    fn reads_the_recorded_search_settings() {
        let tmp = tempfile::tempdir().unwrap();
        write_model(tmp.path(), &json(""), &[]);
        assert_eq!(
            ModelDir::open(tmp.path(), Kind::Lm).unwrap().decoding(),
            &Decoding::default()
        );
        let with = |decoding: &str| json("").replace("\"extra\"", &format!("\"decoding\": {decoding}, \"extra\""));
        write_model(
            tmp.path(),
            &with(r#"{"beam": 6, "length_penalty": 1.4, "chosen": "on val"}"#),
            &[],
        );
        let decoding = ModelDir::open(tmp.path(), Kind::Lm).unwrap().decoding().clone();
        assert_eq!((decoding.beam, decoding.length_penalty), (Some(6), Some(1.4)));
        write_model(tmp.path(), &with(r#"{"length_penalty": 0.8}"#), &[]);
        let decoding = ModelDir::open(tmp.path(), Kind::Lm).unwrap().decoding().clone();
        assert_eq!((decoding.beam, decoding.length_penalty), (None, Some(0.8)));
        assert_eq!(decoding.rerank, None);
        write_model(
            tmp.path(),
            &with(
                r#"{"rerank": {"reverse": "../de-en", "beam": 8, "chosen": "on val",
                    "weights": {"log_prob": 1, "length": 0.5, "reverse_log_prob": 0.25}}}"#,
            ),
            &[],
        );
        let model = ModelDir::open(tmp.path(), Kind::Lm).unwrap();
        let rerank = model.decoding().rerank.clone().unwrap();
        assert_eq!(
            rerank.reverse,
            tmp.path().join("../de-en"),
            "relative to the model directory"
        );
        assert_eq!(rerank.beam, 8);
        assert_eq!(
            rerank.weights,
            RerankWeights {
                log_prob: 1.0,
                length: 0.5,
                reverse_log_prob: 0.25,
                lm: 0.0
            }
        );
        assert_eq!(rerank.lm, None);
        assert!(model.decoding().ensemble.is_empty());
        write_model(tmp.path(), &with(r#"{"ensemble": ["../en-de-b", "/models/c"]}"#), &[]);
        let model = ModelDir::open(tmp.path(), Kind::Lm).unwrap();
        assert_eq!(
            model.decoding().ensemble,
            [tmp.path().join("../en-de-b"), PathBuf::from("/models/c")],
            "relative to the model directory, or absolute"
        );
        write_model(
            tmp.path(),
            &with(r#"{"ensemble": ["b"], "ensemble_weights": [0.75, 0.25]}"#),
            &[],
        );
        let model = ModelDir::open(tmp.path(), Kind::Lm).unwrap();
        assert_eq!(model.decoding().ensemble_weights, Some(vec![0.75, 0.25]));
        for bad in [
            r#"{"ensemble": ["a", "b", "c", "d", "e", "f", "g", "h"]}"#,
            r#"{"ensemble": ["b"], "ensemble_weights": [1]}"#,
            r#"{"ensemble": ["b"], "ensemble_weights": [1, -0.5]}"#,
            r#"{"ensemble": ["b"], "ensemble_weights": [0, 0]}"#,
            r#"{"ensemble_weights": [1, 1]}"#,
            r#"{"ensemble": "../en-de-b"}"#,
            r#"{"beam": 0}"#,
            r#"{"length_penalty": -1}"#,
            r#"{"length_penalty": 11}"#,
            r#"{"beam": "four"}"#,
            r#"{"rerank": {"reverse": "../de-en", "beam": 0, "weights": {"log_prob": 1, "length": 0, "reverse_log_prob": 0}}}"#,
            r#"{"rerank": {"reverse": "../de-en", "beam": 65, "weights": {"log_prob": 1, "length": 0, "reverse_log_prob": 0}}}"#,
            r#"{"rerank": {"reverse": "../de-en", "beam": 8, "weights": {"log_prob": 1, "length": 0}}}"#,
            r#"{"rerank": {"reverse": "../de-en", "beam": 8, "weights": {"log_prob": 1, "length": 0, "reverse_log_prob": 0, "bilm": 1}}}"#,
            r#"{"rerank": {"beam": 8, "weights": {"log_prob": 1, "length": 0, "reverse_log_prob": 0}}}"#,
            r#"{"rerank": {"reverse": "../de-en", "beam": 8, "weights": {"log_prob": 1, "length": 0, "reverse_log_prob": 0, "lm": 0.5}}}"#,
        ] {
            write_model(tmp.path(), &with(bad), &[]);
            let err = ModelDir::open(tmp.path(), Kind::Lm).unwrap_err();
            assert!(matches!(err, Error::ModelJson { .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn precision_names() {
        assert_eq!(Precision::Int8.file_name("encoder"), "encoder.int8.onnx");
        assert_eq!(Precision::Fp32.file_name("lm"), "lm.onnx");
        assert_eq!("int8".parse::<Precision>().unwrap(), Precision::Int8);
        assert!("fp16".parse::<Precision>().is_err());
    }
}
