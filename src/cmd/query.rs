//! `fivegram query`: score text with a language model and print what KenLM's `query` prints.
//!
//! Each stdin line is a sentence. Plain output, as `query -v sentence` then `query -v summary` (the summary
//! fields are separated by a tab):
//! ```text
//! Total: -21.143948 OOV: 0
//! …
//! Perplexity including OOVs: 53.492586291322944
//! Perplexity excluding OOVs: 44.231768580598136
//! OOVs: 273
//! Tokens: 13181
//! ```
//! With `--json`, one object per sentence (`{"sentence":1,"total":-21.143948,"oov":0,"tokens":12}`) and a final
//! summary object. Lines are read and scored in batches of many sentences, so the model answers large batches.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use fivegram_corpora::read::{Decoding, TextReader};
use fivegram_corpora::tokenize::{Lang, Tokenizer};
use fivegram_lm::model;
use fivegram_lm::query::{self, SentenceScore, Summary};
use serde_json::json;

use crate::{ui, usage};

/// How lines are cut into words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TokenizerArg {
    /// Split on ASCII whitespace and keep tokens exactly as written (KenLM's behaviour).
    Whitespace,
    /// The project's Unicode-aware word tokenizer.
    Words,
}

/// Flags of `fivegram query`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  fivegram query model.arpa.gz < test.txt\n  \
                        zcat test.txt.gz | fivegram query model.arpa --json --threads 2")]
pub struct Args {
    /// The model: an ARPA file (plain or gzip), or a model directory written by `fivegram build`.
    pub model: PathBuf,
    /// Print one JSON object per sentence, then a summary object.
    #[arg(long)]
    pub json: bool,
    /// Worker threads for tokenizing and scoring (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// How lines are cut into words.
    #[arg(long, value_enum, default_value_t = TokenizerArg::Whitespace)]
    pub tokenizer: TokenizerArg,
    /// Language of `--tokenizer words`: en or de.
    #[arg(long, default_value = "en")]
    pub lang: Lang,
    /// Lowercase tokens (with `--tokenizer words`).
    #[arg(long)]
    pub lower: bool,
    /// Sentences scored per batch.
    #[arg(long, default_value_t = 8192, value_name = "N")]
    pub batch: usize,
    /// Print the model's load time and the scoring speed on stderr at the end.
    #[arg(long)]
    pub timing: bool,
}

/// Runs `fivegram query`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.threads == Some(0) {
        usage!("--threads must be at least 1");
    }
    if args.batch == 0 {
        usage!("--batch must be at least 1");
    }
    if args.lower && args.tokenizer == TokenizerArg::Whitespace {
        usage!("--lower needs --tokenizer words (whitespace tokens are kept exactly as written)");
    }
    let threads = args.threads;
    query::in_thread_pool(threads, move || score_stdin(&args))?
}

fn score_stdin(args: &Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let model = model::open(&args.model).context("cannot load the model")?;
    let loaded = started.elapsed();

    let tokenizer = Tokenizer::new(args.lang).with_lowercase(args.lower);
    let whitespace = |line: &str, emit: &mut dyn FnMut(&str)| query::split_words(line).for_each(emit);
    let words = |line: &str, emit: &mut dyn FnMut(&str)| tokenizer.for_each_token(line, |t| emit(t));

    let mut input = TextReader::stdin(Decoding::Strict);
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let bar = ui::progress(None, "scoring sentences");
    let mut summary = Summary::default();
    let mut lines: Vec<String> = Vec::with_capacity(args.batch);
    let mut scores: Vec<SentenceScore> = Vec::with_capacity(args.batch);
    let scoring = Instant::now();
    loop {
        lines.clear();
        while lines.len() < args.batch {
            let mut line = String::new();
            if !input.read_line(&mut line)? {
                break;
            }
            lines.push(line);
        }
        if lines.is_empty() {
            break;
        }
        match args.tokenizer {
            TokenizerArg::Whitespace => query::score_lines(&*model, &lines, whitespace, &mut scores),
            TokenizerArg::Words => query::score_lines(&*model, &lines, words, &mut scores),
        }
        for score in &scores {
            summary.add(score);
            write_sentence(&mut out, args.json, summary.sentences, score)?;
        }
        bar.inc(scores.len() as u64);
        if lines.len() < args.batch {
            break;
        }
    }
    write_summary(&mut out, args.json, &summary)?;
    out.flush()?;
    bar.finish_and_clear();
    if args.timing {
        let seconds = scoring.elapsed().as_secs_f64();
        eprintln!(
            "fivegram query: order {} model loaded in {:.3} s; {} tokens in {} sentences scored in {:.3} s \
             ({:.0} tokens/s, {} threads)",
            model.order(),
            loaded.as_secs_f64(),
            summary.tokens,
            summary.sentences,
            seconds,
            summary.tokens as f64 / seconds,
            args.threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        );
    }
    Ok(())
}

fn write_sentence(out: &mut impl Write, json: bool, number: u64, score: &SentenceScore) -> io::Result<()> {
    if json {
        ui::json_line(
            out,
            &json!({ "sentence": number, "total": json_f32(score.total), "oov": score.oov, "tokens": score.tokens }),
        )
    } else {
        writeln!(out, "{}", score.kenlm_line())
    }
}

/// An `f32` as the JSON number with its shortest digits (`-5.8`, not `-5.800000190734863` as widening to `f64`
/// would give); it reads back as the same `f32`.
fn json_f32(x: f32) -> serde_json::Value {
    x.to_string()
        .parse::<f64>()
        .map_or(serde_json::Value::Null, serde_json::Value::from)
}

fn write_summary(out: &mut impl Write, json: bool, summary: &Summary) -> io::Result<()> {
    if json {
        ui::json_line(
            out,
            &json!({
                "summary": true,
                "sentences": summary.sentences,
                "tokens": summary.tokens,
                "oovs": summary.oov,
                "total": summary.total,
                "perplexity_including_oovs": summary.perplexity_including_oovs(),
                "perplexity_excluding_oovs": summary.perplexity_excluding_oovs(),
            }),
        )
    } else {
        out.write_all(summary.kenlm_lines().as_bytes())
    }
}
