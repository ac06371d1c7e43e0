//! `fivegram bench [--data DIR] -o REPORT_DIR`: the n-gram and neural backends side by side.
//!
//! Two parts, each measured through the same library code the other verbs use:
//! 1. translation en→de of Multi30k `test_2016_flickr` with each backend's default model (the ngram model of
//!    `fivegram translate --from en --to de`, the neural `en-de` model of `fivegram translate --backend neural`):
//!    BLEU and chrF (sacreBLEU's defaults, as `fivegram eval`), load time, and sentences and source words per
//!    second with the model load included;
//! 2. language-model perplexity of Penn Treebank's test split: the n-gram model given with `--ngram-lm` (scored as
//!    `fivegram query` scores it, whitespace tokens) and the default neural LM (`lm-ptb`, as `fivegram neural-lm`).
//!
//! A part whose model is missing is reported as skipped, with the reason and the command that builds the model;
//! the other parts still run. A part that fails is reported with its error and the verb then exits with 1 after
//! writing the report. Corpus files are found as `fivegram corpora path` finds them, with `--data DIR` as the
//! mirror (default: `FIVEGRAM_MIRROR`). Outputs: `report.md`, `report.html` (the same tables and SVG bar charts)
//! and `report.json`, each written to a temporary name and renamed. Each part runs in a child process
//! (`fivegram bench --part NAME`, which prints the part as JSON), so its CPU time (user + system, reading the
//! test set included) and peak resident memory (VmHWM) are its own, and a crash in one backend cannot take the
//! others with it.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use fivegram_corpora::catalog::Catalog;
use fivegram_corpora::fetch::Resolver;
use fivegram_lm::query::{self, SentenceScore, Summary};
use fivegram_neural::{Kind, LmOptions, ModelDir, NeuralLm, Precision};
use fivegram_translate::metrics::{Bleu, Chrf};
use fivegram_translate::model::PhraseModel;
use fivegram_translate::{TranslateOptions, Translator};
use serde_json::{Value, json};

use crate::{ui, usage};

/// Flags of `fivegram bench`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  fivegram bench -o bench-report --limit 200\n  \
                        fivegram bench --data /srv/mirror --ngram-lm ptb.o5.arpa.gz --threads 2 -o bench-report\n\n\
                        Writes REPORT_DIR/report.md, report.html and report.json. A missing default model is \
                        reported as skipped with the command that builds it.")]
pub struct Args {
    /// The corpus mirror holding multi30k/ and ptb/ (default: $FIVEGRAM_MIRROR, then the download cache).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// The report directory (created if missing).
    #[arg(long = "output", short = 'o', value_name = "REPORT_DIR")]
    pub output: PathBuf,
    /// The n-gram language model for the perplexity part: an ARPA file or a model directory.
    #[arg(long, value_name = "PATH")]
    pub ngram_lm: Option<PathBuf>,
    /// Rewrite Penn Treebank's literal `<unk>` token as WORD before the n-gram model scores it (the KenLM
    /// reference models were trained with `<unk>` renamed to `UNKW`, since lmplz refuses it as input). Without it,
    /// `<unk>` is scored as the model's unknown word, as KenLM's `query` would.
    #[arg(long, value_name = "WORD", requires = "ngram_lm")]
    pub ptb_unk: Option<String>,
    /// Only the first N sentences of each test set.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Worker threads (and neural sessions; default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Internal: run only this part (`translation-ngram`, …) and print it as JSON; the parent runs each part in
    /// such a child process, so that each gets its own peak memory figure.
    #[arg(long, value_name = "PART", hide = true)]
    pub part: Option<String>,
}

/// The parts, each run in its own process: (name, task, backend).
const PARTS: [(&str, &str, &str); 4] = [
    ("translation-ngram", "translation", "ngram"),
    ("translation-neural", "translation", "neural"),
    ("perplexity-ngram", "perplexity", "ngram"),
    ("perplexity-neural", "perplexity", "neural"),
];

/// Runs `fivegram bench`.
pub fn run(args: Args) -> Result<()> {
    if args.limit == Some(0) {
        usage!("--limit must be at least 1");
    }
    if args.threads == Some(0) {
        usage!("--threads must be at least 1");
    }
    if let Some(data) = &args.data
        && !data.is_dir()
    {
        usage!("--data {}: not a directory", data.display());
    }
    if let Some(lm) = &args.ngram_lm
        && !lm.exists()
    {
        usage!("--ngram-lm {}: no such file or directory", lm.display());
    }
    if let Some(name) = &args.part {
        if !PARTS.iter().any(|(n, _, _)| n == name) {
            usage!("--part {name}: not a part of the benchmark");
        }
        let threads = args.threads;
        let mut part = query::in_thread_pool(threads, move || measure(&args))??
            .pop()
            .context("no part was run")?;
        if let Outcome::Measured(figures) = &mut part.outcome {
            if let Some(kib) = super::translate::max_rss_kib() {
                figures.push(("peak_rss_mib".to_string(), kib as f64 / 1024.0));
            }
            if let Some(seconds) = cpu_seconds() {
                figures.push(("cpu_seconds".to_string(), seconds));
            }
        }
        println!("{}", part_json(&part));
        return Ok(());
    }
    fs::create_dir_all(&args.output)
        .with_context(|| format!("cannot create the report directory {}", args.output.display()))?;
    let probe = args.output.join(".fivegram-bench-probe");
    fs::write(&probe, b"")
        .with_context(|| format!("cannot write in the report directory {}", args.output.display()))?;
    let _ = fs::remove_file(&probe);

    let mut parts = Vec::new();
    for (name, task, backend) in PARTS {
        parts.push(run_child(&args, name, task, backend));
    }
    let report = Report {
        dir: args.output.clone(),
        settings: settings(&args),
        parts,
    };
    write_report(&report)?;
    let failed = report
        .parts
        .iter()
        .filter(|p| matches!(p.outcome, Outcome::Failed(_)))
        .count();
    if failed > 0 {
        bail!(
            "{failed} part(s) of the benchmark failed; see {}",
            report.dir.join("report.md").display()
        );
    }
    Ok(())
}

/// What happened to one part of the benchmark.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Measured figures, in display order (name, value).
    Measured(Vec<(String, f64)>),
    /// Not run, and why.
    Skipped(String),
    /// Run, and failed with this error.
    Failed(String),
}

/// One row of the report: a task run by one backend.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// `translation` or `perplexity`.
    pub task: &'static str,
    /// `ngram` or `neural`.
    pub backend: &'static str,
    /// The model used (a path), when known.
    pub model: Option<String>,
    /// The outcome.
    pub outcome: Outcome,
}

impl Part {
    fn figure(&self, name: &str) -> Option<f64> {
        match &self.outcome {
            Outcome::Measured(figures) => figures.iter().find(|(n, _)| *n == name).map(|(_, v)| *v),
            _ => None,
        }
    }
}

/// A finished benchmark.
#[derive(Debug, Clone)]
pub struct Report {
    /// The report directory.
    pub dir: PathBuf,
    /// The settings the figures were measured with (shown as given).
    pub settings: Vec<(&'static str, String)>,
    /// The parts, translation first.
    pub parts: Vec<Part>,
}

/// Runs `fivegram bench --part NAME` as a child process and reads its part back.
fn run_child(args: &Args, name: &str, task: &'static str, backend: &'static str) -> Part {
    let failed = |why: String| Part {
        task,
        backend,
        model: None,
        outcome: Outcome::Failed(why),
    };
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return failed(format!("cannot find the fivegram executable: {e}")),
    };
    let mut command = std::process::Command::new(exe);
    command.arg("bench").arg("--part").arg(name).arg("-o").arg(&args.output);
    if let Some(data) = &args.data {
        command.arg("--data").arg(data);
    }
    if let Some(lm) = &args.ngram_lm {
        command.arg("--ngram-lm").arg(lm);
    }
    if let Some(word) = &args.ptb_unk {
        command.arg("--ptb-unk").arg(word);
    }
    if let Some(n) = args.limit {
        command.arg("--limit").arg(n.to_string());
    }
    if let Some(n) = args.threads {
        command.arg("--threads").arg(n.to_string());
    }
    // stderr is inherited: the child's progress bar and any error message show as they happen.
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped());
    let output = match command.output() {
        Ok(output) => output,
        Err(e) => return failed(format!("cannot run the {name} part: {e}")),
    };
    if !output.status.success() {
        return failed(format!(
            "the {name} part's process ended with {} (its error is printed above)",
            output.status
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    match serde_json::from_str::<Value>(text.trim()) {
        Ok(value) => parse_part(&value, task, backend),
        Err(e) => failed(format!("the {name} part printed no report ({e})")),
    }
}

/// A part from the JSON `part_json` wrote.
fn parse_part(value: &Value, task: &'static str, backend: &'static str) -> Part {
    let reason = value["reason"].as_str().unwrap_or("(no reason given)").to_string();
    let outcome = match value["status"].as_str() {
        Some("measured") => Outcome::Measured(
            value["figures"]
                .as_object()
                .map(|o| o.iter().filter_map(|(k, v)| Some((k.clone(), v.as_f64()?))).collect())
                .unwrap_or_default(),
        ),
        Some("skipped") => Outcome::Skipped(reason),
        _ => Outcome::Failed(reason),
    };
    Part {
        task,
        backend,
        model: value["model"].as_str().map(str::to_string),
        outcome,
    }
}

/// User + system CPU time of this process so far (all its threads), in seconds, from /proc/self/stat (in
/// USER_HZ ticks, 100 per second in Linux's user-space ABI).
fn cpu_seconds() -> Option<f64> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (which is in parentheses and may hold spaces): state is field 3,
    // utime field 14 and stime field 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// The settings shown at the top of the report.
fn settings(args: &Args) -> Vec<(&'static str, String)> {
    let resolver = Resolver::from_env(args.data.clone());
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut settings = vec![
        (
            "data",
            resolver
                .mirror()
                .map_or("(download cache)".to_string(), |d| d.display().to_string()),
        ),
        ("threads", threads.to_string()),
        ("limit", args.limit.map_or("all".to_string(), |n| n.to_string())),
    ];
    if let Some(word) = &args.ptb_unk {
        settings.push(("PTB <unk> scored by the n-gram model as", word.clone()));
    }
    settings
}

/// Measures the parts `args.part` names (all when none), in this process.
fn measure(args: &Args) -> Result<Vec<Part>> {
    let catalog = Catalog::shipped().context("the catalog compiled into fivegram is broken")?;
    let resolver = Resolver::from_env(args.data.clone());
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let locate = |name: &str, split: &str, lang: &str| -> Result<PathBuf> {
        let files = catalog.split_files(name, split, Some(lang))?;
        let file = files
            .first()
            .with_context(|| format!("the catalog has no {name} {split} {lang} file"))?;
        Ok(resolver.resolve(file)?.path)
    };
    let mut parts = Vec::new();
    let wanted = |name: &str| args.part.as_deref().is_none_or(|p| p == name);

    // Translation en→de.
    let test = if wanted("translation-ngram") || wanted("translation-neural") {
        locate("multi30k", "test_2016_flickr", "en").and_then(|src| {
            let reference = locate("multi30k", "test_2016_flickr", "de")?;
            Ok((read_lines(&src, args.limit)?, read_lines(&reference, args.limit)?))
        })
    } else {
        Ok((Vec::new(), Vec::new()))
    };
    match &test {
        Ok((sources, references)) if sources.len() != references.len() => {
            let why = format!(
                "the test set's English side has {} lines and its German side {}",
                sources.len(),
                references.len()
            );
            for backend in ["ngram", "neural"] {
                parts.push(Part {
                    task: "translation",
                    backend,
                    model: None,
                    outcome: Outcome::Failed(why.clone()),
                });
            }
        }
        Ok((sources, references)) => {
            if wanted("translation-ngram") {
                parts.push(translation_part("ngram", sources, references, || {
                    let dir = fivegram_translate::model::default_model_dir("en", "de")?;
                    if !dir.exists() {
                        return Ok(Err(format!(
                            "no default en→de model at {}: build it with `fivegram train-translation --from en --to de \
                         --src $(fivegram corpora path multi30k train en) --tgt $(fivegram corpora path multi30k \
                         train de) --weights translate/weights/en-de.json`",
                            dir.display()
                        )));
                    }
                    let model: Box<dyn Translator> = Box::new(PhraseModel::open(&dir)?);
                    Ok(Ok((dir, model)))
                }));
            }
            if wanted("translation-neural") {
                parts.push(translation_part("neural", sources, references, || {
                    let dir = fivegram_neural::default_model_dir("en-de");
                    if !dir.join("model.json").is_file() {
                        return Ok(Err(format!(
                            "no neural en→de model at {}: train and export it with `python3 neural/train/train_mt.py` \
                         (see neural/train/), or set FIVEGRAM_NEURAL_MODELS to a folder holding en-de/",
                            dir.display()
                        )));
                    }
                    let model = super::neural::open_translator(
                        Some(&dir),
                        None,
                        None,
                        (None, None, true),
                        super::neural::Rerank::Model,
                        Some(threads),
                        false,
                    )?;
                    Ok(Ok((dir, model)))
                }));
            }
        }
        Err(err) => {
            for backend in ["ngram", "neural"] {
                parts.push(Part {
                    task: "translation",
                    backend,
                    model: None,
                    outcome: Outcome::Failed(format!("Multi30k test_2016_flickr: {}", ui::error_chain(err))),
                });
            }
        }
    }

    // Perplexity on Penn Treebank.
    let ptb = if wanted("perplexity-ngram") || wanted("perplexity-neural") {
        locate("ptb", "test", "en").and_then(|path| read_lines(&path, args.limit))
    } else {
        Ok(Vec::new())
    };
    match ptb {
        Ok(lines) => {
            if wanted("perplexity-ngram") {
                parts.push(ngram_lm_part(args.ngram_lm.as_deref(), &lines, args.ptb_unk.as_deref()));
            }
            if wanted("perplexity-neural") {
                parts.push(neural_lm_part(&lines, threads));
            }
        }
        Err(err) => {
            for backend in ["ngram", "neural"] {
                parts.push(Part {
                    task: "perplexity",
                    backend,
                    model: None,
                    outcome: Outcome::Failed(format!("Penn Treebank test: {}", ui::error_chain(&err))),
                });
            }
        }
    }

    parts.retain(|p| {
        args.part
            .as_deref()
            .is_none_or(|name| name == format!("{}-{}", p.task, p.backend))
    });
    Ok(parts)
}

/// The lines of a plain or gzip file (trailing whitespace stripped, as `fivegram eval` reads them), the first
/// `limit` of them when given; none is an error.
fn read_lines(path: &Path, limit: Option<usize>) -> Result<Vec<String>> {
    let lines = super::eval::read_file_lines(path, limit)?;
    if lines.is_empty() {
        bail!("{}: no lines", path.display());
    }
    Ok(lines)
}

type Opened = std::result::Result<(PathBuf, Box<dyn Translator>), String>;

/// Translates `sources` with the translator `open` gives (Err(reason) inside Ok: skipped) and scores the output.
fn translation_part(
    backend: &'static str,
    sources: &[String],
    references: &[String],
    open: impl FnOnce() -> Result<Opened>,
) -> Part {
    let start = Instant::now();
    let mut part = Part {
        task: "translation",
        backend,
        model: None,
        outcome: Outcome::Skipped(String::new()),
    };
    let opened = match open() {
        Ok(Ok(opened)) => opened,
        Ok(Err(reason)) => {
            part.outcome = Outcome::Skipped(reason);
            return part;
        }
        Err(err) => {
            part.outcome = Outcome::Failed(ui::error_chain(&err));
            return part;
        }
    };
    part.model = Some(opened.0.display().to_string());
    let translator = opened.1;
    let load_seconds = start.elapsed().as_secs_f64();
    let result = (|| -> Result<Vec<(&'static str, f64)>> {
        let options = TranslateOptions {
            nbest: 1,
            beam: None,
            features: false,
        };
        let bar = ui::progress(Some(sources.len() as u64), &format!("translating ({backend})"));
        let mut hypotheses = Vec::with_capacity(sources.len());
        for batch in sources.chunks(256) {
            for nbest in translator.translate_batch(batch, &options)? {
                hypotheses.push(nbest.into_iter().next().map(|t| t.text).unwrap_or_default());
            }
            bar.inc(batch.len() as u64);
        }
        bar.finish_and_clear();
        let total_seconds = start.elapsed().as_secs_f64();
        let refs = [references.to_vec()];
        let bleu = Bleu::default().corpus_score(&hypotheses, &refs)?;
        let chrf = Chrf::default().corpus_score(&hypotheses, &refs)?;
        let words: usize = sources.iter().map(|s| s.split_whitespace().count()).sum();
        Ok(vec![
            ("bleu", bleu.score),
            ("chrf", chrf.score),
            ("sentences", sources.len() as f64),
            ("source_words", words as f64),
            ("load_seconds", load_seconds),
            ("total_seconds", total_seconds),
            ("sentences_per_second", sources.len() as f64 / total_seconds),
            ("source_words_per_second", words as f64 / total_seconds),
        ])
    })();
    part.outcome = match result {
        Ok(figures) => Outcome::Measured(figures.into_iter().map(|(k, v)| (k.to_string(), v)).collect()),
        Err(err) => Outcome::Failed(ui::error_chain(&err)),
    };
    part
}

/// Perplexity of the n-gram model `path` on `lines`, scored as `fivegram query` scores them.
/// With `unk`, the literal `<unk>` tokens are rewritten as that word first.
fn ngram_lm_part(path: Option<&Path>, lines: &[String], unk: Option<&str>) -> Part {
    let mut part = Part {
        task: "perplexity",
        backend: "ngram",
        model: path.map(|p| p.display().to_string()),
        outcome: Outcome::Skipped(String::new()),
    };
    let Some(path) = path else {
        part.outcome = Outcome::Skipped(
            "no --ngram-lm given: build one with `fivegram estimate --order 5 --smoothing mkn $(fivegram corpora \
             path ptb train) --arpa ptb.arpa` and pass --ngram-lm ptb.arpa"
                .into(),
        );
        return part;
    };
    let start = Instant::now();
    let result = (|| -> Result<Vec<(&'static str, f64)>> {
        let model = fivegram_lm::model::open(path).with_context(|| format!("cannot load {}", path.display()))?;
        let load_seconds = start.elapsed().as_secs_f64();
        let scoring = Instant::now();
        let renamed: Vec<String>;
        let lines = match unk {
            Some(word) => {
                renamed = lines
                    .iter()
                    .map(|l| {
                        let words: Vec<&str> = query::split_words(l)
                            .map(|w| if w == "<unk>" { word } else { w })
                            .collect();
                        words.join(" ")
                    })
                    .collect();
                &renamed[..]
            }
            None => lines,
        };
        let mut scores: Vec<SentenceScore> = Vec::with_capacity(lines.len());
        let whitespace = |line: &str, emit: &mut dyn FnMut(&str)| query::split_words(line).for_each(emit);
        query::score_lines(&*model, lines, whitespace, &mut scores);
        let seconds = scoring.elapsed().as_secs_f64();
        let mut summary = Summary::default();
        scores.iter().for_each(|s| summary.add(s));
        Ok(vec![
            ("perplexity", summary.perplexity_including_oovs()),
            ("perplexity_excluding_oovs", summary.perplexity_excluding_oovs()),
            ("sentences", summary.sentences as f64),
            ("words", summary.tokens as f64),
            ("oovs", summary.oov as f64),
            ("load_seconds", load_seconds),
            ("score_seconds", seconds),
            ("words_per_second", summary.tokens as f64 / seconds),
        ])
    })();
    part.outcome = match result {
        Ok(figures) => Outcome::Measured(figures.into_iter().map(|(k, v)| (k.to_string(), v)).collect()),
        Err(err) => Outcome::Failed(ui::error_chain(&err)),
    };
    part
}

/// Perplexity of the default neural LM (`lm-ptb`) on `lines`, scored as `fivegram neural-lm` scores them.
fn neural_lm_part(lines: &[String], threads: usize) -> Part {
    let dir = fivegram_neural::default_model_dir("lm-ptb");
    let mut part = Part {
        task: "perplexity",
        backend: "neural",
        model: Some(dir.display().to_string()),
        outcome: Outcome::Skipped(String::new()),
    };
    if !dir.join("model.json").is_file() {
        part.outcome = Outcome::Skipped(format!(
            "no neural language model at {}: train and export it with `python3 neural/train/train_lm.py --data ptb` \
             (see neural/train/), or set FIVEGRAM_NEURAL_MODELS to a folder holding lm-ptb/",
            dir.display()
        ));
        return part;
    }
    let start = Instant::now();
    let result = (|| -> Result<Vec<(&'static str, f64)>> {
        let model_dir = ModelDir::open(&dir, Kind::Lm)?;
        let precision = if model_dir.has(&Precision::Int8.file_name("lm")) {
            Precision::Int8
        } else {
            Precision::Fp32
        };
        let options = LmOptions {
            precision,
            sessions: threads,
            ..LmOptions::default()
        };
        let lm = NeuralLm::open(&dir, options)?;
        let load_seconds = start.elapsed().as_secs_f64();
        let scoring = Instant::now();
        let mut total = fivegram_neural::Perplexity {
            sentences: 0,
            words: 0,
            tokens: 0,
            log_prob: 0.0,
        };
        let bar = ui::progress(Some(lines.len() as u64), "scoring (neural)");
        for batch in lines.chunks(512) {
            let texts: Vec<&str> = batch.iter().map(String::as_str).collect();
            for s in lm.score_sentences(&texts).context("scoring failed")? {
                total.sentences += 1;
                total.words += s.words.len();
                total.tokens += s.token_log_probs.len();
                total.log_prob += s.log_prob;
            }
            bar.inc(batch.len() as u64);
        }
        bar.finish_and_clear();
        let seconds = scoring.elapsed().as_secs_f64();
        Ok(vec![
            ("perplexity", total.per_word()),
            ("perplexity_per_piece", total.per_token()),
            ("sentences", total.sentences as f64),
            ("words", total.words as f64),
            ("load_seconds", load_seconds),
            ("score_seconds", seconds),
            ("words_per_second", total.words as f64 / seconds),
        ])
    })();
    part.outcome = match result {
        Ok(figures) => Outcome::Measured(figures.into_iter().map(|(k, v)| (k.to_string(), v)).collect()),
        Err(err) => Outcome::Failed(ui::error_chain(&err)),
    };
    part
}

/// Writes report.json, report.md and report.html into `report.dir`, each through a temporary name.
pub fn write_report(report: &Report) -> Result<()> {
    let json = serde_json::to_string_pretty(&report_json(report))? + "\n";
    write_atomic(&report.dir.join("report.json"), &json)?;
    write_atomic(&report.dir.join("report.md"), &render_markdown(report))?;
    write_atomic(&report.dir.join("report.html"), &render_html(report)?)?;
    Ok(())
}

fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("report");
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
    Ok(())
}

/// All figures as one JSON object: `{"settings": {…}, "parts": [{"task", "backend", "model", "status",
/// "reason"?, "figures"?}]}`.
pub fn report_json(report: &Report) -> Value {
    let settings: serde_json::Map<String, Value> = report
        .settings
        .iter()
        .map(|(k, v)| ((*k).to_string(), json!(v)))
        .collect();
    let parts: Vec<Value> = report.parts.iter().map(part_json).collect();
    json!({"settings": settings, "parts": parts})
}

/// One part as JSON: `{"task", "backend", "model", "status": "measured"|"skipped"|"failed", "reason"?,
/// "figures"?}`.
fn part_json(p: &Part) -> Value {
    let mut v = json!({"task": p.task, "backend": p.backend, "model": p.model});
    match &p.outcome {
        Outcome::Measured(figures) => {
            v["status"] = json!("measured");
            v["figures"] = figures.iter().map(|(k, x)| (k.clone(), json!(x))).collect();
        }
        Outcome::Skipped(reason) => {
            v["status"] = json!("skipped");
            v["reason"] = json!(reason);
        }
        Outcome::Failed(error) => {
            v["status"] = json!("failed");
            v["reason"] = json!(error);
        }
    }
    v
}

/// The columns of each task's table: (figure, heading, decimals).
fn columns(task: &str) -> &'static [(&'static str, &'static str, usize)] {
    match task {
        "translation" => &[
            ("bleu", "BLEU", 2),
            ("chrf", "chrF", 2),
            ("sentences", "sentences", 0),
            ("load_seconds", "load s", 3),
            ("total_seconds", "total s", 3),
            ("sentences_per_second", "sentences/s", 1),
            ("source_words_per_second", "source words/s", 0),
            ("cpu_seconds", "CPU s", 2),
            ("peak_rss_mib", "peak RSS MiB", 0),
        ],
        _ => &[
            ("perplexity", "perplexity", 2),
            ("sentences", "sentences", 0),
            ("words", "words", 0),
            ("oovs", "OOVs", 0),
            ("load_seconds", "load s", 3),
            ("score_seconds", "score s", 3),
            ("words_per_second", "words/s", 0),
            ("cpu_seconds", "CPU s", 2),
            ("peak_rss_mib", "peak RSS MiB", 0),
        ],
    }
}

const TASKS: [(&str, &str); 2] = [
    (
        "translation",
        "Translation en→de, Multi30k test_2016_flickr (BLEU and chrF as sacreBLEU; speeds include the model load)",
    ),
    (
        "perplexity",
        "Language-model perplexity, Penn Treebank test (per word, </s> included)",
    ),
];

/// One table per task: a row per backend, `—` and the reason for a part not measured.
fn tables(report: &Report, cell: &dyn Fn(&str) -> String) -> Vec<(String, Vec<String>, Vec<Vec<String>>)> {
    TASKS
        .iter()
        .map(|(task, title)| {
            let cols = columns(task);
            let mut head = vec!["backend".to_string(), "status".to_string()];
            head.extend(cols.iter().map(|(_, h, _)| (*h).to_string()));
            let rows = report
                .parts
                .iter()
                .filter(|p| p.task == *task)
                .map(|p| {
                    let status = match &p.outcome {
                        Outcome::Measured(_) => "measured".to_string(),
                        Outcome::Skipped(r) => format!("skipped: {r}"),
                        Outcome::Failed(r) => format!("failed: {r}"),
                    };
                    let mut row = vec![p.backend.to_string(), cell(&status)];
                    row.extend(cols.iter().map(|(name, _, decimals)| {
                        p.figure(name).map_or("—".to_string(), |x| format!("{x:.decimals$}"))
                    }));
                    row
                })
                .collect();
            ((*title).to_string(), head, rows)
        })
        .collect()
}

/// The report as markdown.
pub fn render_markdown(report: &Report) -> String {
    let mut out = String::from("# fivegram bench\n\n");
    for (k, v) in &report.settings {
        let _ = writeln!(out, "- {k}: {v}");
    }
    let md_cell = |s: &str| s.replace('|', "\\|");
    for (title, head, rows) in tables(report, &md_cell) {
        let _ = write!(out, "\n## {title}\n\n| {} |\n|", head.join(" | "));
        out.push_str(&" --- |".repeat(head.len()));
        out.push('\n');
        for row in rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
    }
    let _ = writeln!(out, "\nModels:");
    for p in &report.parts {
        let _ = writeln!(out, "- {} {}: {}", p.task, p.backend, p.model.as_deref().unwrap_or("—"));
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The report as HTML: the markdown's tables, then a bar chart per compared figure (measured parts only).
pub fn render_html(report: &Report) -> Result<String> {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>fivegram bench</title>\n<style>\
         body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}\
         td,th{border:1px solid #999;padding:.2em .5em;text-align:right}td:nth-child(2){text-align:left;\
         max-width:25em}</style></head><body>\n<h1>fivegram bench</h1>\n<ul>\n",
    );
    for (k, v) in &report.settings {
        let _ = writeln!(out, "<li>{}: {}</li>", escape(k), escape(v));
    }
    out.push_str("</ul>\n");
    for (title, head, rows) in tables(report, &escape) {
        let _ = write!(out, "<h2>{}</h2>\n<table>\n<tr>", escape(&title));
        for h in head {
            let _ = write!(out, "<th>{}</th>", escape(&h));
        }
        out.push_str("</tr>\n");
        for row in rows {
            out.push_str("<tr>");
            for (i, c) in row.iter().enumerate() {
                // The status cell is escaped already; the others are plain numbers and names.
                let c = if i == 1 { c.clone() } else { escape(c) };
                let _ = write!(out, "<td>{c}</td>");
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
    }
    out.push_str("<h2>Plots</h2>\n");
    let charts = [
        ("translation", "bleu", "BLEU (higher is better)"),
        ("translation", "chrf", "chrF (higher is better)"),
        (
            "translation",
            "sentences_per_second",
            "translation sentences/s, load included",
        ),
        ("perplexity", "perplexity", "PTB test perplexity (lower is better)"),
        ("perplexity", "words_per_second", "LM scoring words/s"),
    ];
    let mut plotted = 0;
    for (task, figure, caption) in charts {
        let bars: Vec<(String, f64)> = report
            .parts
            .iter()
            .filter(|p| p.task == task)
            .filter_map(|p| {
                p.figure(figure)
                    .filter(|x| x.is_finite())
                    .map(|x| (p.backend.to_string(), x))
            })
            .collect();
        if bars.is_empty() {
            continue;
        }
        out.push_str(&bar_chart_svg(caption, &bars)?);
        out.push('\n');
        plotted += 1;
    }
    if plotted == 0 {
        out.push_str("<p>No measured figures to plot.</p>\n");
    }
    out.push_str("</body></html>\n");
    Ok(out)
}

/// A y-axis tick label: `3.5M`, `250k`, `35`, `0.5`: no trailing `.0` and no seven-digit numbers.
fn axis_label(y: f64) -> String {
    let (value, suffix) = match y.abs() {
        a if a >= 1e6 => (y / 1e6, "M"),
        a if a >= 1e4 => (y / 1e3, "k"),
        _ => (y, ""),
    };
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{suffix}")
}

/// An SVG bar chart (plotters' SVG backend) of `bars` (label, value), titled `caption`.
pub fn bar_chart_svg(caption: &str, bars: &[(String, f64)]) -> Result<String> {
    use plotters::prelude::*;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (480, 300)).into_drawing_area();
        let draw = || -> std::result::Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let top = bars.iter().map(|(_, v)| *v).fold(0.0f64, f64::max);
            let top = if top > 0.0 { top * 1.15 } else { 1.0 };
            let labels: Vec<String> = bars.iter().map(|(l, _)| l.clone()).collect();
            let mut chart = ChartBuilder::on(&root)
                .caption(caption, ("sans-serif", 18))
                .margin(10)
                .x_label_area_size(30)
                .y_label_area_size(60)
                .build_cartesian_2d(0.0f64..bars.len() as f64, 0.0f64..top)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(bars.len() * 2 + 1)
                .x_label_formatter(&|x| {
                    let i = x.floor() as usize;
                    if (x - x.floor() - 0.5).abs() < 1e-9 {
                        labels.get(i).cloned().unwrap_or_default()
                    } else {
                        String::new()
                    }
                })
                .y_label_formatter(&|y| axis_label(*y))
                .draw()?;
            let colors = [RGBColor(31, 119, 180), RGBColor(255, 127, 14), RGBColor(44, 160, 44)];
            chart.draw_series(bars.iter().enumerate().map(|(i, (_, v))| {
                let x = i as f64;
                Rectangle::new([(x + 0.2, 0.0), (x + 0.8, *v)], colors[i % colors.len()].filled())
            }))?;
            chart.draw_series(bars.iter().enumerate().map(|(i, (_, v))| {
                Text::new(
                    if *v >= 100.0 {
                        format!("{v:.0}")
                    } else {
                        format!("{v:.2}")
                    },
                    // just above the bar (a text's anchor is its top-left corner)
                    (i as f64 + 0.3, *v + top * 0.07),
                    ("sans-serif", 14).into_font(),
                )
            }))?;
            root.present()?;
            Ok(())
        };
        draw().map_err(|e| anyhow::anyhow!("cannot draw the chart '{caption}': {e}"))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::{axis_label, bar_chart_svg};

    #[test]
    fn axis_labels_are_compact() {
        assert_eq!(axis_label(0.0), "0");
        assert_eq!(axis_label(2.5), "2.5");
        assert_eq!(axis_label(35.0), "35");
        assert_eq!(axis_label(25_000.0), "25k");
        assert_eq!(axis_label(3_500_000.0), "3.5M");
    }

    #[test]
    fn chart_has_every_bar_label_and_value() {
        let svg = bar_chart_svg("words/s", &[("ngram".into(), 3_659_007.0), ("neural".into(), 28_587.0)]).unwrap();
        for text in ["words/s", "ngram", "neural", "3659007", "28587", "3.5M"] {
            assert!(svg.contains(text), "{text} missing from the chart");
        }
        assert!(!svg.contains("4000000.0"), "raw tick labels");
    }
}
