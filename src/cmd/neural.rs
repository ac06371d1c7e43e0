//! The neural backend on the command line: opening a neural translator for `fivegram translate --backend
//! neural`, and `fivegram neural-lm`, which scores text with a neural language model the way `fivegram query`
//! scores it with an n-gram model (per sentence log10 totals, then per-word perplexity).

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use fivegram_corpora::read::{Decoding, TextReader};
use fivegram_neural::{Kind, LmOptions, LmRescored, ModelDir, NeuralLm, Precision, Reranked, Seq2Seq, Seq2SeqOptions};
use fivegram_translate::Translator;
use fivegram_translate::model::Manifest;
use serde_json::json;

use crate::{ui, usage};

/// Graph precision on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PrecisionArg {
    /// The float32 graphs.
    Fp32,
    /// The int8 dynamically quantized graphs.
    Int8,
}

impl From<PrecisionArg> for Precision {
    fn from(p: PrecisionArg) -> Precision {
        match p {
            PrecisionArg::Fp32 => Precision::Fp32,
            PrecisionArg::Int8 => Precision::Int8,
        }
    }
}

/// The precision to run: the one asked for, else int8 when the model has int8 graphs, else fp32.
fn precision(model: &ModelDir, asked: Option<PrecisionArg>, stem: &str) -> Precision {
    match asked {
        Some(p) => p.into(),
        None if model.has(&Precision::Int8.file_name(stem)) => Precision::Int8,
        None => Precision::Fp32,
    }
}

/// Cores to use when `--threads` is not given.
fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The default model directory `name` (see `fivegram_neural::default_model_dir`), or an error saying how to
/// make one (`trainer`: the training script) when it holds no model.
fn default_dir(name: &str, what: &str, trainer: &str) -> Result<PathBuf> {
    let dir = fivegram_neural::default_model_dir(name);
    if !dir.join("model.json").is_file() {
        bail!(
            "no {what} at {}: train and export one with {trainer} (see neural/train/), set FIVEGRAM_NEURAL_MODELS \
             to a folder of models, or give --model DIR",
            dir.display()
        );
    }
    Ok(dir)
}

/// Whether the beam's n-best list is reranked with a reverse-direction model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rerank<'a> {
    /// As the model's `decoding.rerank` in model.json says (off when it has none).
    Model,
    /// Never.
    Off,
    /// With this reverse model and, if given, this n-gram language model of the target language (instead of
    /// those `decoding.rerank` names), with the weights of the model's `decoding.rerank` when it has them (else
    /// the forward model's order): `--reverse DIR [--rerank-lm MODEL]`, to compute the features tuning reads.
    With(&'a Path, Option<&'a Path>),
}

/// Opens the neural translation model `model`, or the default one for `pair` (source, target): one session
/// pair per thread, beam and length penalty as given, else as the model's `decoding` records, else 4 and 1.0;
/// reranked as `rerank` says.
pub fn open_translator(
    model: Option<&Path>,
    pair: Option<(&str, &str)>,
    precision_arg: Option<PrecisionArg>,
    (beam, length_penalty, ensemble): (Option<usize>, Option<f64>, bool),
    rerank: Rerank<'_>,
    threads: Option<usize>,
    verify: bool,
) -> Result<Box<dyn Translator>> {
    let dir: PathBuf = match (model, pair) {
        (Some(dir), _) => dir.to_path_buf(),
        (None, Some((from, to))) => default_dir(
            &format!("{from}-{to}"),
            &format!("neural {from}→{to} model"),
            "neural/train/train_mt.py",
        )?,
        (None, None) => usage!("give --model DIR, or --from LANG --to LANG for the default model"),
    };
    let model_dir = ModelDir::open(&dir, Kind::Seq2Seq)?;
    let decoding = model_dir.decoding();
    let sessions = threads.unwrap_or_else(default_threads);
    let options = Seq2SeqOptions {
        precision: precision(&model_dir, precision_arg, "encoder"),
        sessions,
        beam: beam.or(decoding.beam).unwrap_or(4),
        length_penalty: length_penalty.or(decoding.length_penalty).unwrap_or(1.0),
        ensemble,
        ..Seq2SeqOptions::default()
    };
    let settings = decoding.rerank.clone();
    let (reverse_dir, lm_path) = match (rerank, &settings) {
        (Rerank::Off, _) | (Rerank::Model, None) => (None, None),
        (Rerank::Model, Some(s)) => (Some(s.reverse.clone()), s.lm.clone()),
        (Rerank::With(dir, lm), _) => (Some(dir.to_path_buf()), lm.map(Path::to_path_buf)),
    };
    let model = Seq2Seq::open(&dir, options.clone())?;
    if verify {
        model.verify()?;
    }
    let Some(reverse_dir) = reverse_dir else {
        return Ok(Box::new(model));
    };
    let reverse_model = ModelDir::open(&reverse_dir, Kind::Seq2Seq).with_context(|| {
        format!(
            "the reverse model that reranks {} (model.json's decoding.rerank, a path relative to the model; \
             --no-rerank translates without it)",
            dir.display()
        )
    })?;
    // The reverse model scores as it was when the weights were tuned: alone, without an ensemble of its own.
    let reverse_options = Seq2SeqOptions {
        precision: precision(&reverse_model, precision_arg, "encoder"),
        ensemble: false,
        ..options
    };
    let reverse = Seq2Seq::open(&reverse_dir, reverse_options)
        .with_context(|| format!("the reverse model that reranks {}", dir.display()))?;
    if verify {
        reverse.model_dir().verify()?;
    }
    // An explicit --beam is the beam whose list is reranked; else the one tuned with the weights.
    let rerank_beam = beam.or(settings.as_ref().map(|s| s.beam)).unwrap_or(8);
    let weights = settings.map(|s| s.weights);
    let mut reranked = Reranked::new(model, reverse, rerank_beam, weights)?;
    if let Some(lm) = lm_path {
        let lm_model = fivegram_lm::model::open(&lm)
            .with_context(|| format!("the language model that reranks {}", dir.display()))?;
        reranked = reranked.with_lm(lm_model)?;
    }
    Ok(Box::new(reranked))
}

/// Tokens per graph run when rescoring: the candidates are short, and small runs keep the output distributions
/// (`tokens × vocabulary` floats) small: the test set's peak resident size is 369 MiB with 512 where the
/// LM's default (about 2,000 for a vocabulary of 8,000) took 781 MiB, at the same speed. (With int8 graphs a
/// score depends slightly on the other rows of its run, dynamic quantization scaling each run's activations
/// as a whole: the same input and `--batch` give the same output.)
const RESCORE_BATCH_TOKENS: usize = 512;

/// Wraps the phrase-based model of `model_dir` in the n-best rescoring its manifest's `rescore` section asks
/// for: the neural language model it names (a bare name looked up as the neural models are, see
/// [`fivegram_neural::default_model_dir`]), one session per thread.
pub fn rescored(
    inner: Box<dyn Translator>,
    model_dir: &Path,
    model: &Manifest,
    precision_arg: Option<PrecisionArg>,
    threads: Option<usize>,
    verify: bool,
) -> Result<Box<dyn Translator>> {
    let what = || {
        format!(
            "the neural language model that rescores {} (manifest.json's rescore; --no-rerank translates without it)",
            model_dir.display()
        )
    };
    let Some(spec) = &model.rescore else {
        return Ok(inner);
    };
    let weights = spec.checked_weights().with_context(what)?;
    let dir = spec.neural_lm_dir(model_dir, fivegram_neural::default_model_dir);
    let lm_dir = ModelDir::open(&dir, Kind::Lm).with_context(what)?;
    let target = &model.target_lang;
    if lm_dir.config().lang.as_deref().is_some_and(|lang| lang != target) {
        bail!(
            "{}: a language model of {:?} cannot rescore translations into {target:?}",
            what(),
            lm_dir.config().lang.as_deref().unwrap_or_default()
        );
    }
    if verify {
        lm_dir.verify().with_context(what)?;
    }
    let options = LmOptions {
        precision: precision(&lm_dir, precision_arg, "lm"),
        sessions: threads.unwrap_or_else(default_threads),
        batch_tokens: Some(RESCORE_BATCH_TOKENS),
        ..LmOptions::default()
    };
    let lm = NeuralLm::open(&dir, options).with_context(what)?;
    Ok(Box::new(LmRescored::new(inner, lm, spec.nbest, Some(weights))?))
}

/// Flags of `fivegram neural-lm`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  fivegram neural-lm ptb.test.txt     (the default model, neural/models/lm-ptb)\n\n\
                  Output as `fivegram query`'s: one \"Total: <log10> OOV: 0\" line per sentence, then the perplexity \
                  per word (a word's probability is the product of its pieces'; </s> counts as a word, as in \
                  KenLM). Each sentence is scored with its full left context."
)]
pub struct LmArgs {
    /// The language model directory (`kind: lm`). Default: the English LM trained on Penn Treebank,
    /// `lm-ptb` under FIVEGRAM_NEURAL_MODELS, else $XDG_DATA_HOME/fivegram/models/neural-lm-ptb, else the
    /// committed neural/models/lm-ptb.
    #[arg(long, short = 'm', value_name = "DIR")]
    model: Option<PathBuf>,
    /// Text files (plain or gzip), one sentence per line; stdin when none.
    #[arg(value_name = "FILE")]
    input: Vec<PathBuf>,
    /// Graph precision (default: int8 when the model has it).
    #[arg(long, value_enum)]
    precision: Option<PrecisionArg>,
    /// Sessions run in parallel (default: all cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// One JSON object per sentence (log-probabilities per word, natural log), then a summary object.
    #[arg(long)]
    json: bool,
    /// Print only the summary.
    #[arg(long)]
    summary: bool,
}

/// Runs `fivegram neural-lm`.
pub fn run_lm(args: LmArgs) -> Result<()> {
    if args.threads == Some(0) {
        usage!("--threads must be at least 1");
    }
    let path = match args.model {
        Some(dir) => dir,
        None => default_dir("lm-ptb", "neural language model", "neural/train/train_lm.py --data ptb")?,
    };
    let model_dir = ModelDir::open(&path, Kind::Lm)?;
    let options = LmOptions {
        precision: precision(&model_dir, args.precision, "lm"),
        sessions: args.threads.unwrap_or_else(default_threads),
        ..LmOptions::default()
    };
    let lm = NeuralLm::open(&path, options)?;
    let mut readers: Vec<TextReader> = if args.input.is_empty() {
        vec![TextReader::stdin(Decoding::Strict)]
    } else {
        args.input
            .iter()
            .map(|p| TextReader::open(p, Decoding::Strict))
            .collect::<Result<_, _>>()?
    };
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let bar = ui::progress(None, "scoring");
    let mut total = fivegram_neural::Perplexity {
        sentences: 0,
        words: 0,
        tokens: 0,
        log_prob: 0.0,
    };
    let mut batch: Vec<String> = Vec::new();
    let mut line = String::new();
    for reader in &mut readers {
        loop {
            let more = reader.read_line(&mut line)?;
            if more {
                batch.push(std::mem::take(&mut line));
            }
            if batch.len() == 512 || (!more && !batch.is_empty()) {
                let texts: Vec<&str> = batch.iter().map(String::as_str).collect();
                let scores = lm.score_sentences(&texts).context("scoring failed")?;
                for s in &scores {
                    total.sentences += 1;
                    total.words += s.words.len();
                    total.tokens += s.token_log_probs.len();
                    total.log_prob += s.log_prob;
                    if args.summary {
                        continue;
                    }
                    if args.json {
                        let words: Vec<serde_json::Value> =
                            s.words.iter().map(|w| json!([w.word, w.log_prob])).collect();
                        ui::json_line(
                            &mut out,
                            &json!({"line": total.sentences, "log_prob": s.log_prob, "words": words}),
                        )?;
                    } else {
                        writeln!(out, "Total: {} OOV: 0", s.log_prob / std::f64::consts::LN_10)?;
                    }
                }
                bar.inc(batch.len() as u64);
                batch.clear();
            }
            if !more {
                break;
            }
        }
    }
    bar.finish_and_clear();
    if args.json {
        ui::json_line(
            &mut out,
            &json!({"sentences": total.sentences, "words": total.words, "tokens": total.tokens,
                    "log_prob": total.log_prob, "log10": total.log10(), "perplexity_per_word": total.per_word(),
                    "perplexity_per_token": total.per_token()}),
        )?;
    } else {
        writeln!(out, "Perplexity including OOVs:\t{}", total.per_word())?;
        writeln!(out, "Perplexity excluding OOVs:\t{}", total.per_word())?;
        writeln!(out, "OOVs:\t0")?;
        writeln!(out, "Tokens:\t{}", total.words)?;
        writeln!(
            out,
            "Pieces:\t{}\tperplexity per piece:\t{}",
            total.tokens,
            total.per_token()
        )?;
    }
    out.flush()?;
    Ok(())
}
