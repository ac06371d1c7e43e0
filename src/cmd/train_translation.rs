//! `fivegram train-translation`: train a phrase-based model from a parallel corpus, and tune its weights.
//!
//! Steps: tokenize both sides and learn truecasers; estimate the target 5-gram model (modified Kneser-Ney) from
//! the truecased target side unless `--lm` names one; align words with IBM Model 1 and the HMM in both directions
//! and symmetrize (grow-diag-final-and); extract phrases up to 7 words and score them; write the phrase table.
//! With `--tune-src`/`--tune-ref`, PRO (or MERT) then tunes the feature weights on that development set (fixed
//! seed) and stores them in the model. The model is written to a temporary directory and renamed into place.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use fivegram_corpora::read::{Decoding, ParallelReader, TextReader};
use fivegram_corpora::tokenize::Lang;
use fivegram_translate::decoder::weights_from_json;
use fivegram_translate::extract::PhraseSmoothing;
use fivegram_translate::model::{PhraseModel, default_model_dir};
use fivegram_translate::train::{BilmConfig, ClassLmConfig, LmSource, TrainConfig, train_with_backoff};
use fivegram_translate::tune::{TuneConfig, TuneMethod, tune};
use serde_json::json;

use crate::{ui, usage};

/// How weights are tuned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Tuner {
    /// Minimum error rate training (exact line searches of corpus BLEU).
    Mert,
    /// Pairwise ranking optimisation (logistic regression on pairs ranked by sentence BLEU).
    Pro,
}

/// Flags of `fivegram train-translation`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples (the default en→de model that `fivegram translate --from en --to de` uses, with the \
    weights tuned on Multi30k val that the repository keeps; run from the repository root):\n  \
    M=$FIVEGRAM_MIRROR/multi30k\n  \
    fivegram train-translation --from en --to de --src $M/train.en.gz --tgt $M/train.de.gz \\\n    \
    --weights translate/weights/en-de.json\n\n  \
    Tuning afresh on val (PRO, fixed seed):\n  \
    fivegram train-translation --from en --to de --src $M/train.en.gz --tgt $M/train.de.gz \\\n    \
    --tune-src $M/val.en.gz --tune-ref $M/val.de.gz\n\n  \
    fivegram train-translation --from de --to en --src $M/train.de.gz --tgt $M/train.en.gz -o models/de-en\n  \
    fivegram train-translation --tune-only -o models/de-en --tune-src $M/val.de.gz --tune-ref $M/val.en.gz"
)]
pub struct Args {
    /// Source side of the parallel corpus (plain or gzip, one sentence per line).
    #[arg(long, value_name = "FILE", required_unless_present_any = ["tune_only", "tsv"])]
    src: Option<PathBuf>,
    /// Target side, line-aligned with --src.
    #[arg(long, value_name = "FILE", requires = "src")]
    tgt: Option<PathBuf>,
    /// Further parallel data in one tab-separated file (e.g. Tatoeba's `English<TAB>German`).
    #[arg(long, value_name = "FILE")]
    tsv: Vec<PathBuf>,
    /// A parallel corpus in one tab-separated file used only for the words the main corpus lacks (e.g. Tatoeba's
    /// deu.txt.gz): its phrase pairs enter the table only where the source phrase has such a word, so it
    /// competes with passing unknown words through and changes nothing else.
    #[arg(long, value_name = "FILE")]
    backoff_tsv: Vec<PathBuf>,
    /// The 1-based columns of --tsv and --backoff-tsv holding the source and the target sentence.
    #[arg(long, value_name = "SRC,TGT", default_value = "1,2")]
    tsv_columns: String,
    /// Source language (en or de); guessed from the --src file name (train.en.gz) when absent.
    #[arg(long, value_name = "LANG")]
    from: Option<Lang>,
    /// Target language.
    #[arg(long, value_name = "LANG")]
    to: Option<Lang>,
    /// The target language model to use as it is (ARPA file or model directory); it must be over tokenized,
    /// truecased text like the decoder's. Without it, a 5-gram model is estimated from the target side.
    #[arg(long, value_name = "MODEL", conflicts_with = "lm_text")]
    lm: Option<PathBuf>,
    /// Order of the estimated language model.
    #[arg(long, value_name = "N", default_value_t = 5)]
    lm_order: usize,
    /// Further target-language text (one sentence per line) for the estimated language model.
    #[arg(long, value_name = "FILE")]
    lm_text: Vec<PathBuf>,
    /// A second language model with its own feature weight: an existing model over truecased tokens, as --lm.
    #[arg(long, value_name = "MODEL", conflicts_with = "lm2_text")]
    lm2: Option<PathBuf>,
    /// Target-language text (one sentence per line, e.g. general-domain) to estimate the second language model
    /// from, kept apart from the in-domain target side.
    #[arg(long, value_name = "FILE")]
    lm2_text: Vec<PathBuf>,
    /// A class-based second language model (feature lm2) of this order over the target side, the
    /// --class-lm-keep most frequent words kept and every other word replaced by its shape and last
    /// --class-lm-ending characters (agreement patterns that the word model has seen too rarely).
    #[arg(long, value_name = "N", conflicts_with_all = ["lm2", "lm2_text"])]
    class_lm: Option<usize>,
    /// Words the class-based model keeps as themselves.
    #[arg(long, value_name = "N", default_value_t = 300)]
    class_lm_keep: usize,
    /// Ending length that makes a word's class in the class-based model.
    #[arg(long, value_name = "N", default_value_t = 2)]
    class_lm_ending: usize,
    /// Words the class-based model does not keep become one of N clusters learned from the target side by the
    /// exchange algorithm (as mkcls), instead of shape and ending (0: off, the default). Also applies to the
    /// class-based model a weights file names.
    #[arg(long, value_name = "N")]
    class_lm_clusters: Option<usize>,
    /// A bilingual language model (feature bilm) of this order: each target word joined with the source words
    /// aligned to it, so the model sees source context across phrase boundaries (Niehues et al. 2011).
    #[arg(long, value_name = "N")]
    bilm: Option<usize>,
    /// Pair each source context with the target word's class of the class-based model instead of the word
    /// (needs --class-lm, or a weights file that names one).
    #[arg(long, requires = "bilm")]
    bilm_target_classes: bool,
    /// Smoothing of the phrase translation probabilities: good-turing (Moses' --GoodTuring, the default),
    /// kneser-ney (modified Kneser-Ney, Foster et al. 2006) or none. A weights file's "phrase_smoothing" is used
    /// when this is not given.
    #[arg(long, value_name = "METHOD")]
    phrase_smoothing: Option<String>,
    /// Bits per quantized probability and backoff of the estimated language models' store directories (1 to
    /// 16; 0 keeps the exact values).
    #[arg(long, value_name = "BITS", default_value_t = 0, conflicts_with = "lm_arpa")]
    lm_quantize: u32,
    /// Keep the estimated language models as ARPA files (read into memory at every start) rather than store
    /// directories (memory-mapped).
    #[arg(long)]
    lm_arpa: bool,
    /// Where to write the model (default: the default model directory of the language pair).
    #[arg(long, short = 'o', value_name = "TM_DIR")]
    output: Option<PathBuf>,
    /// Skip sentence pairs with more tokens than this on either side.
    #[arg(long, value_name = "N", default_value_t = 80)]
    max_length: usize,
    /// IBM Model 1 iterations.
    #[arg(long, value_name = "N", default_value_t = 5)]
    ibm1: usize,
    /// HMM iterations.
    #[arg(long, value_name = "N", default_value_t = 5)]
    hmm: usize,
    /// Align lowercased word stems rather than the words (phrases are still over words).
    #[arg(long)]
    align_stems: bool,
    /// Longest phrase.
    #[arg(long, value_name = "N", default_value_t = 7)]
    max_phrase_length: usize,
    /// Options kept per source phrase in the table.
    #[arg(long, value_name = "N", default_value_t = 30)]
    max_options: usize,
    /// Start from these feature weights: a JSON object `{"lm": 0.1, …}` with every feature (a model's
    /// `manifest.json` `weights`, or the `weights` of a tuning report); without tuning they are the model's.
    #[arg(long, value_name = "FILE")]
    weights: Option<PathBuf>,
    /// Development set source for tuning.
    #[arg(long, value_name = "FILE", requires = "tune_ref")]
    tune_src: Option<PathBuf>,
    /// Development set reference.
    #[arg(long, value_name = "FILE", requires = "tune_src")]
    tune_ref: Option<PathBuf>,
    /// Only tune the existing model in --output.
    #[arg(long, requires = "tune_src")]
    tune_only: bool,
    /// The tuning optimiser.
    #[arg(long, value_enum, default_value_t = Tuner::Pro)]
    tuner: Tuner,
    /// Tuning iterations (decoding the development set each time).
    #[arg(long, value_name = "N", default_value_t = 8)]
    tune_iterations: usize,
    /// Translations per sentence collected for tuning.
    #[arg(long, value_name = "N", default_value_t = 100)]
    tune_nbest: usize,
    /// Seed of the tuner's random choices (PRO's pair samples, MERT's restarts and directions).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

fn guess_lang(path: &std::path::Path) -> Option<Lang> {
    let name = path.file_name()?.to_str()?;
    let name = name.strip_suffix(".gz").unwrap_or(name);
    name.rsplit('.').next()?.parse().ok()
}

fn read_lines(path: &PathBuf) -> Result<Vec<String>> {
    let reader = TextReader::open(path, Decoding::Strict)?;
    let mut lines = Vec::new();
    for line in reader {
        lines.push(line?.text);
    }
    Ok(lines)
}

/// Reads `{"order": 6, "keep": 300, "ending": 3}` (and optionally `"clusters": N`), the class-based model a
/// weights file was tuned with.
fn class_lm_from_json(value: &serde_json::Value) -> Result<ClassLmConfig> {
    let field = |name: &str| -> Result<usize> {
        value
            .get(name)
            .and_then(serde_json::Value::as_u64)
            .map(|n| n as usize)
            .with_context(|| format!("{name} is missing or not a whole number"))
    };
    let config = ClassLmConfig {
        order: field("order")?,
        keep: field("keep")?,
        ending: field("ending")?,
        clusters: match value.get("clusters") {
            None => 0,
            Some(_) => field("clusters")?,
        },
    };
    if !(1..=6).contains(&config.order) || config.ending == 0 {
        bail!("order must be between 1 and 6 and ending at least 1");
    }
    Ok(config)
}

/// Reads `{"order": 4, "target_classes": false}` (a weights file's `bilm_lm`), the bilingual model the weights
/// were tuned with.
fn bilm_from_json(value: &serde_json::Value) -> Result<BilmConfig> {
    let order = value
        .get("order")
        .and_then(serde_json::Value::as_u64)
        .context("order is missing or not a whole number")? as usize;
    let target_classes = match value.get("target_classes") {
        None => false,
        Some(v) => v.as_bool().context("target_classes is not true or false")?,
    };
    if !(1..=6).contains(&order) {
        bail!("order must be between 1 and 6");
    }
    Ok(BilmConfig { order, target_classes })
}

/// Runs `fivegram train-translation`.
pub fn run(args: Args) -> Result<()> {
    if args.threads == Some(0) {
        usage!("--threads must be at least 1");
    }
    if args.max_phrase_length == 0 || args.max_length == 0 || args.max_options == 0 || args.tune_nbest == 0 {
        usage!("--max-phrase-length, --max-length, --max-options and --tune-nbest must be at least 1");
    }
    if !(1..=6).contains(&args.lm_order) {
        usage!("--lm-order must be between 1 and 6");
    }
    if args.class_lm.is_some_and(|n| !(1..=6).contains(&n)) || args.class_lm_ending == 0 {
        usage!("--class-lm must be between 1 and 6 and --class-lm-ending at least 1");
    }
    if args.bilm.is_some_and(|n| !(1..=6).contains(&n)) {
        usage!("--bilm must be between 1 and 6");
    }
    if args.lm_quantize > 16 {
        usage!("--lm-quantize must be between 0 (exact values) and 16 bits");
    }
    let columns: Vec<usize> = args
        .tsv_columns
        .split(',')
        .map(|c| c.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .ok()
        .filter(|c: &Vec<usize>| c.len() == 2 && c.iter().all(|&x| x >= 1) && c[0] != c[1])
        .unwrap_or_default();
    if columns.is_empty() {
        usage!("--tsv-columns takes two different 1-based columns, like 1,2 or 2,1");
    }
    let from = args.from.or_else(|| args.src.as_deref().and_then(guess_lang));
    let to = args.to.or_else(|| args.tgt.as_deref().and_then(guess_lang));
    let output = match (&args.output, from, to) {
        (Some(dir), _, _) => dir.clone(),
        (None, Some(from), Some(to)) => default_model_dir(from.code(), to.code())?,
        _ => usage!("give --output TM_DIR, or --from and --to for the default model directory"),
    };
    let threads = args.threads;
    fivegram_lm::query::in_thread_pool(threads, move || -> Result<()> {
        let mut report = json!({"model": output.display().to_string()});
        if !args.tune_only {
            let (Some(from), Some(to)) = (from, to) else {
                usage!("cannot tell the languages from the file names: give --from and --to (en or de)");
            };
            if from == to {
                usage!("source and target language are both {from}");
            }
            let mut corpora = Vec::new();
            if let (Some(src), Some(tgt)) = (&args.src, &args.tgt) {
                corpora.push(ParallelReader::open(src, tgt, Decoding::Strict)?);
            } else if args.src.is_some() {
                usage!("--src needs --tgt");
            }
            for tsv in &args.tsv {
                corpora.push(
                    ParallelReader::open_tsv(tsv, Decoding::Strict)?.with_columns(columns[0] - 1, columns[1] - 1),
                );
            }
            let mut backoff = Vec::new();
            for tsv in &args.backoff_tsv {
                backoff.push(
                    ParallelReader::open_tsv(tsv, Decoding::Strict)?.with_columns(columns[0] - 1, columns[1] - 1),
                );
            }
            let mut config = TrainConfig::new(from, to);
            config.max_length = args.max_length;
            config.align.ibm1_iterations = args.ibm1;
            config.align.hmm_iterations = args.hmm;
            config.align_on_stems = args.align_stems;
            config.extract.max_phrase_length = args.max_phrase_length;
            config.extract.max_options = args.max_options;
            if let Some(name) = &args.phrase_smoothing {
                let Some(smoothing) = PhraseSmoothing::from_name(name) else {
                    usage!("--phrase-smoothing takes good-turing, kneser-ney or none, not {name:?}");
                };
                config.extract.smoothing = smoothing;
            }
            config.decoder.max_phrase_length = args.max_phrase_length;
            config.lm = match &args.lm {
                Some(path) => LmSource::Existing(path.clone()),
                None => LmSource::Estimate {
                    order: args.lm_order,
                    extra_text: args.lm_text.clone(),
                },
            };
            config.lm_store_bits = (!args.lm_arpa).then_some(args.lm_quantize);
            config.class_lm = args.class_lm.map(|order| ClassLmConfig {
                order,
                keep: args.class_lm_keep,
                ending: args.class_lm_ending,
                clusters: args.class_lm_clusters.unwrap_or(0),
            });
            config.lm2 = match (&args.lm2, args.lm2_text.is_empty()) {
                (Some(path), _) => Some(LmSource::Existing(path.clone())),
                (None, false) => Some(LmSource::Estimate {
                    order: args.lm_order,
                    extra_text: args.lm2_text.clone(),
                }),
                (None, true) => None,
            };
            config.bilm = args.bilm.map(|order| BilmConfig {
                order,
                target_classes: args.bilm_target_classes,
            });
            if let Some(path) = &args.weights {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                let value: serde_json::Value =
                    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
                // Weights tuned with a class-based model say so; the model they are for gets one too (unless
                // the command line chooses the second model itself).
                if let Some(spec) = value.get("class_lm")
                    && config.class_lm.is_none()
                    && config.lm2.is_none()
                {
                    let mut class_lm =
                        class_lm_from_json(spec).with_context(|| format!("class_lm in {}", path.display()))?;
                    if let Some(n) = args.class_lm_clusters {
                        class_lm.clusters = n;
                    }
                    config.class_lm = Some(class_lm);
                }
                // (`bilm_lm`: a top-level `bilm` is that feature's weight in a flat weights file.)
                if let Some(spec) = value.get("bilm_lm")
                    && config.bilm.is_none()
                {
                    config.bilm = Some(bilm_from_json(spec).with_context(|| format!("bilm_lm in {}", path.display()))?);
                }
                if let Some(spec) = value.get("phrase_smoothing")
                    && args.phrase_smoothing.is_none()
                {
                    config.extract.smoothing =
                        spec.as_str().and_then(PhraseSmoothing::from_name).with_context(|| {
                            format!(
                                "phrase_smoothing in {} is not \"good-turing\", \"kneser-ney\" or \"none\"",
                                path.display()
                            )
                        })?;
                }
                // A weights file tuned with an n-best rescoring (`rescore`) records it in the model.
                if let Some(spec) = value.get("rescore") {
                    let spec: fivegram_translate::model::RescoreSpec = serde_json::from_value(spec.clone())
                        .with_context(|| format!("rescore in {}", path.display()))?;
                    spec.checked_weights()
                        .with_context(|| format!("rescore in {}", path.display()))?;
                    config.rescore = Some(spec);
                }
                let value = value.get("weights").cloned().unwrap_or(value);
                config.weights =
                    Some(weights_from_json(&value).with_context(|| format!("weights in {}", path.display()))?);
            }
            let bar = ui::progress(None, "training");
            let trained = train_with_backoff(corpora, backoff, &config, &output, &mut |step| {
                bar.set_message(step.to_string())
            })
            .with_context(|| format!("training {}", output.display()))?;
            bar.finish_and_clear();
            report["pairs"] = json!(trained.pairs);
            report["skipped"] = json!(trained.skipped);
            report["tokens"] = json!([trained.tokens.0, trained.tokens.1]);
            report["source_phrases"] = json!(trained.phrases.0);
            report["options"] = json!(trained.phrases.1);
            report["lm_ngrams"] = json!(trained.lm_ngrams);
            report["backoff"] = json!({
                "pairs": trained.backoff.0,
                "pairs_aligned": trained.backoff.1,
                "source_phrases": trained.backoff.2,
            });
            report["seconds"] = trained.seconds.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            if !args.json {
                eprintln!(
                    "trained {}: {} sentence pairs ({} skipped), {} source phrases, {} options",
                    output.display(),
                    trained.pairs,
                    trained.skipped,
                    trained.phrases.0,
                    trained.phrases.1
                );
            }
        }
        if let (Some(src), Some(reference)) = (&args.tune_src, &args.tune_ref) {
            let sources = read_lines(src)?;
            let references = read_lines(reference)?;
            if sources.len() != references.len() {
                bail!(
                    "{} has {} lines but {} has {}: a development set needs one reference per source line",
                    src.display(),
                    sources.len(),
                    reference.display(),
                    references.len()
                );
            }
            let mut model = PhraseModel::open(&output).with_context(|| format!("opening {}", output.display()))?;
            let config = TuneConfig {
                method: match args.tuner {
                    Tuner::Mert => TuneMethod::Mert,
                    Tuner::Pro => TuneMethod::Pro,
                },
                iterations: args.tune_iterations,
                nbest: args.tune_nbest,
                seed: args.seed,
                ..TuneConfig::default()
            };
            let bar = ui::progress(Some(args.tune_iterations as u64), "tuning");
            let tuned = tune(&mut model, &sources, &references, &config, &mut |iteration, bleu| {
                bar.set_position(iteration as u64);
                bar.set_message(format!("tuning, dev BLEU {bleu:.2}"));
            })?;
            bar.finish_and_clear();
            report["tuning"] = tuned.to_json();
            if !args.json {
                eprintln!(
                    "tuned on {} sentences: dev BLEU {:.2} with the default weights, {:.2} after {} iterations",
                    sources.len(),
                    tuned.initial_bleu,
                    tuned.final_bleu,
                    tuned.iterations.len()
                );
            }
        }
        if args.json {
            ui::json_line(&mut std::io::stdout().lock(), &report)?;
        }
        Ok(())
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_lm_of_a_weights_file() {
        let spec = json!({"order": 6, "keep": 300, "ending": 2});
        assert_eq!(
            class_lm_from_json(&spec).unwrap(),
            ClassLmConfig {
                order: 6,
                keep: 300,
                ending: 2,
                clusters: 0
            }
        );
        let spec = json!({"order": 6, "keep": 300, "ending": 2, "clusters": 50});
        assert_eq!(class_lm_from_json(&spec).unwrap().clusters, 50);
        for bad in [
            json!({"order": 6, "keep": 300}),
            json!({"order": 7, "keep": 300, "ending": 2}),
            json!({"order": 6, "keep": 300, "ending": 0}),
            json!({"order": "6", "keep": 300, "ending": 2}),
            json!({"order": 6, "keep": 300, "ending": 2, "clusters": "many"}),
        ] {
            let err = class_lm_from_json(&bad).unwrap_err().to_string();
            assert!(
                err.contains("ending") || err.contains("order") || err.contains("keep") || err.contains("clusters"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn bilm_of_a_weights_file() {
        let spec = json!({"order": 4, "target_classes": true});
        assert_eq!(
            bilm_from_json(&spec).unwrap(),
            BilmConfig {
                order: 4,
                target_classes: true
            }
        );
        assert!(!bilm_from_json(&json!({"order": 3})).unwrap().target_classes);
        for bad in [
            json!({"target_classes": true}),
            json!({"order": 0}),
            json!({"order": 3, "target_classes": "yes"}),
        ] {
            let err = bilm_from_json(&bad).unwrap_err().to_string();
            assert!(err.contains("order") || err.contains("target_classes"), "{bad}: {err}");
        }
    }
}
