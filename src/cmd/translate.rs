//! `fivegram translate`: translate stdin (or files) to stdout, one line out per line in, in order.
//!
//! Lines are read in batches and each batch is translated in parallel (`--threads`) through the `Translator`
//! trait. Empty lines give empty lines. With `--nbest K` the plain output is Moses' n-best format
//! (`LINE ||| translation ||| score`, K lines per input, LINE counting from 0); `--json` prints one object per
//! input line with every translation, its score and (with `--features`) its feature values. `--mbr N` picks the
//! minimum Bayes-risk translation among the N best (one line out per line in). `--stats` reports
//! speed, language-model queries and batches per sentence, the time spent in the language model and the peak
//! resident memory on stderr.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};
use fivegram_corpora::read::{Decoding, TextReader};
use fivegram_corpora::tokenize::Lang;
use fivegram_translate::mbr::mbr_select;
use fivegram_translate::model::PhraseModel;
use fivegram_translate::{TranslateOptions, Translator};
use serde_json::json;

use crate::{ui, usage};

/// Which translation backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// The phrase-based decoder over a 5-gram language model.
    Ngram,
    /// The neural sequence-to-sequence model.
    Neural,
}

/// Flags of `fivegram translate`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  fivegram translate --from en --to de < test.en > hyp.de\n  \
                        fivegram translate --model models/en-de --threads 2 --stats < test.en > hyp.de\n  \
                        echo 'A dog runs.' | fivegram translate --model models/en-de --nbest 5 --json --features\n\n\
                        The default model for --from L1 --to L2 is $XDG_DATA_HOME/fivegram/models/translate-L1-L2 \
                        (see `fivegram train-translation --help`)."
)]
pub struct Args {
    /// The backend.
    #[arg(long, value_enum, default_value_t = Backend::Ngram)]
    backend: Backend,
    /// The model directory (from `fivegram train-translation`).
    #[arg(long, short = 'm', value_name = "DIR", conflicts_with_all = ["from", "to"])]
    model: Option<PathBuf>,
    /// Source language of the default model (en or de).
    #[arg(long, value_name = "LANG", requires = "to")]
    from: Option<Lang>,
    /// Target language of the default model (en or de).
    #[arg(long, value_name = "LANG", requires = "from")]
    to: Option<Lang>,
    /// Input files (plain or gzip) instead of stdin.
    #[arg(value_name = "FILE")]
    input: Vec<PathBuf>,
    /// Hypotheses kept per stack (ngram; default: the model's, 200) or beam width (neural; default 4).
    #[arg(long, value_name = "N")]
    beam: Option<usize>,
    /// Neural: the length penalty α, finished hypotheses ranked by log p / length^α (default: the model's
    /// `decoding.length_penalty` in model.json, else 1.0).
    #[arg(long, value_name = "A")]
    length_penalty: Option<f64>,
    /// Neural: rerank the beam's n-best list with this model of the reverse direction (log p(source |
    /// translation)), with the weights of the model's `decoding.rerank` in model.json, else keeping the forward
    /// order (with --json --features: the features `neural/train/tune_rerank.py` tunes on). Default: the reverse
    /// model that `decoding.rerank` names, when it names one.
    #[arg(long, value_name = "DIR", conflicts_with = "no_rerank")]
    reverse: Option<PathBuf>,
    /// Neural, with --reverse: also score the candidates with this n-gram model of the target language (a
    /// `fivegram build` directory or an ARPA file; feature `lm`).
    #[arg(long, value_name = "MODEL", requires = "reverse")]
    rerank_lm: Option<PathBuf>,
    /// No reranking, whatever the model says: neural, its model.json's `decoding.rerank`; ngram, its
    /// manifest's `rescore` (the n-best list rescored with a neural language model).
    #[arg(long)]
    no_rerank: bool,
    /// Neural: the model alone, without the other models its `decoding.ensemble` in model.json names.
    #[arg(long)]
    no_ensemble: bool,
    /// Translations per line.
    #[arg(long, value_name = "K", default_value_t = 1)]
    nbest: usize,
    /// Minimum Bayes-risk decoding: choose, among the N best translations, the one with the highest expected
    /// sentence BLEU against the others.
    #[arg(long, value_name = "N", conflicts_with = "nbest")]
    mbr: Option<usize>,
    /// With --mbr: the scale of the model scores in the posteriors exp(scale · score).
    #[arg(long, value_name = "S", default_value_t = 1.0, requires = "mbr")]
    mbr_scale: f64,
    /// One JSON object per input line, with scores.
    #[arg(long)]
    json: bool,
    /// With --json: each translation's feature values.
    #[arg(long, requires = "json")]
    features: bool,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Lines translated per batch.
    #[arg(long, value_name = "N", default_value_t = 256)]
    batch: usize,
    /// Report speed, language-model queries and memory on stderr at the end.
    #[arg(long)]
    stats: bool,
    /// Check every file's checksum before translating.
    #[arg(long)]
    verify: bool,
    /// Neural backend: graph precision (default: int8 when the model has int8 graphs).
    #[arg(long, value_enum)]
    precision: Option<super::neural::PrecisionArg>,
}

/// Runs `fivegram translate`.
pub fn run(args: Args) -> Result<()> {
    if args.nbest == 0 {
        usage!("--nbest must be at least 1");
    }
    if args.mbr.is_some_and(|n| n < 2) {
        usage!("--mbr needs a list of at least 2 translations");
    }
    if !(args.mbr_scale.is_finite() && args.mbr_scale > 0.0) {
        usage!("--mbr-scale must be a positive number");
    }
    if args.batch == 0 {
        usage!("--batch must be at least 1");
    }
    if args.length_penalty.is_some_and(|a| !(0.0..=10.0).contains(&a)) {
        usage!("--length-penalty must be between 0 and 10");
    }
    if args.length_penalty.is_some() && args.backend != Backend::Neural {
        usage!("--length-penalty is for --backend neural");
    }
    if (args.reverse.is_some() || args.no_ensemble) && args.backend != Backend::Neural {
        usage!("--reverse and --no-ensemble are for --backend neural");
    }
    if args.beam == Some(0) {
        usage!("--beam must be at least 1");
    }
    if args.threads == Some(0) {
        usage!("--threads must be at least 1");
    }
    if args.model.is_none() && args.from.is_none() {
        usage!("give --model DIR, or --from LANG --to LANG for the default model");
    }
    let threads = args.threads;
    fivegram_lm::query::in_thread_pool(threads, move || translate(&args))?
}

/// Opens the translator of a backend: the model in `args.model`, or the backend's default model for
/// `--from`/`--to`. This is the only place that knows the backends; everything after it sees `dyn Translator`.
fn open_translator(args: &Args) -> Result<Box<dyn Translator>> {
    match args.backend {
        Backend::Ngram => {
            let dir = match (&args.model, &args.from, &args.to) {
                (Some(dir), _, _) => dir.clone(),
                (None, Some(from), Some(to)) => {
                    let dir = fivegram_translate::model::default_model_dir(from.code(), to.code())?;
                    if !dir.exists() {
                        bail!(
                            "no default {from}→{to} model at {}: build it with `fivegram train-translation --from {from} \
                             --to {to} --src train.{from} --tgt train.{to} --weights translate/weights/{from}-{to}.json` \
                             (see its --help), or give --model DIR",
                            dir.display()
                        );
                    }
                    dir
                }
                _ => usage!("give --model DIR, or --from LANG --to LANG for the default model"),
            };
            let model = PhraseModel::open(&dir)?;
            if args.verify {
                model.verify()?;
            }
            if args.no_rerank {
                return Ok(Box::new(model));
            }
            let manifest = model.manifest().clone();
            super::neural::rescored(
                Box::new(model),
                &dir,
                &manifest,
                args.precision,
                args.threads,
                args.verify,
            )
        }
        Backend::Neural => super::neural::open_translator(
            args.model.as_deref(),
            args.from.zip(args.to).map(|(from, to)| (from.code(), to.code())),
            args.precision,
            (args.beam, args.length_penalty, !args.no_ensemble),
            match (&args.reverse, args.no_rerank) {
                (Some(dir), _) => super::neural::Rerank::With(dir, args.rerank_lm.as_deref()),
                (None, true) => super::neural::Rerank::Off,
                (None, false) => super::neural::Rerank::Model,
            },
            args.threads,
            args.verify,
        ),
    }
}

fn translate(args: &Args) -> Result<()> {
    let start = Instant::now();
    let translator = open_translator(args)?;
    let translator: &dyn Translator = translator.as_ref();
    let load_seconds = start.elapsed().as_secs_f64();
    let options = TranslateOptions {
        nbest: args.mbr.unwrap_or(args.nbest),
        beam: args.beam,
        features: args.features,
    };
    let mut readers: Vec<TextReader> = if args.input.is_empty() {
        vec![TextReader::stdin(Decoding::Strict)]
    } else {
        args.input
            .iter()
            .map(|p| TextReader::open(p, Decoding::Strict))
            .collect::<Result<_, _>>()?
    };
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let bar = ui::progress(None, "translating");
    let mut batch: Vec<String> = Vec::with_capacity(args.batch);
    let mut index = 0u64;
    let mut line = String::new();
    for reader in &mut readers {
        loop {
            let more = reader.read_line(&mut line)?;
            if more {
                batch.push(std::mem::take(&mut line));
            }
            if batch.len() == args.batch || (!more && !batch.is_empty()) {
                let mut results = translator.translate_batch(&batch, &options)?;
                if args.mbr.is_some() {
                    for nbest in &mut results {
                        let chosen = mbr_select(nbest, args.mbr_scale);
                        nbest.swap(0, chosen);
                        nbest.truncate(1);
                    }
                }
                for nbest in results {
                    write_result(&mut out, args, index, &nbest)?;
                    index += 1;
                }
                bar.inc(batch.len() as u64);
                batch.clear();
            }
            if !more {
                break;
            }
        }
    }
    out.flush()?;
    bar.finish_and_clear();
    if args.stats {
        let elapsed = start.elapsed().as_secs_f64();
        let counters: std::collections::BTreeMap<String, f64> = translator.counters().into_iter().collect();
        let sentences = counters.get("sentences").copied().unwrap_or(0.0).max(1.0);
        let per = |name: &str| counters.get(name).copied().unwrap_or(0.0) / sentences;
        let mut report = json!({
            "lines": index,
            "seconds": elapsed,
            "load_seconds": load_seconds,
            "lines_per_second": index as f64 / elapsed,
            "lm_queries_per_sentence": per("lm_queries"),
            "lm_batches_per_sentence": per("lm_batches"),
            "lm_seconds": counters.get("lm_seconds"),
            "decode_seconds": counters.get("decode_seconds"),
            "hypotheses_per_sentence": per("hypotheses"),
            "max_rss_mib": max_rss_kib().map(|k| k as f64 / 1024.0),
            "threads": args.threads,
        });
        // A rescored n-best list: the time in the neural language model, and the candidates it scored.
        if let Some(seconds) = counters.get("rescore_seconds") {
            report["rescore_seconds"] = json!(seconds);
            report["rescored_candidates_per_sentence"] = json!(per("rescored_candidates"));
        }
        eprintln!("{report}");
    }
    Ok(())
}

fn write_result(out: &mut impl Write, args: &Args, index: u64, nbest: &fivegram_translate::NBest) -> Result<()> {
    if args.json {
        let translations: Vec<serde_json::Value> = nbest
            .iter()
            .map(|t| {
                let mut v = json!({"text": t.text, "score": t.score});
                if let Some(features) = &t.features {
                    v["features"] = features.iter().map(|(k, x)| (k.clone(), json!(x))).collect();
                }
                v
            })
            .collect();
        ui::json_line(out, &json!({"line": index + 1, "translations": translations}))?;
    } else if args.nbest > 1 {
        for t in nbest {
            writeln!(out, "{index} ||| {} ||| {}", t.text, t.score)?;
        }
    } else {
        writeln!(out, "{}", nbest.first().map_or("", |t| t.text.as_str()))?;
    }
    Ok(())
}

/// Peak resident memory of this process (VmHWM), in KiB, where /proc tells it.
pub(crate) fn max_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
