//! `fivegram eval bleu|chrf --ref REF [REF…] < HYP`: corpus BLEU or chrF/chrF++, identical to sacreBLEU 2.6.0's
//! command line with its default settings, printed as sacreBLEU's text line with the signature.
//!
//! Lines are read as sacreBLEU reads them: the hypotheses on stdin end at `\n`, `\r\n` or `\r` (Python's universal
//! newlines), reference files (plain or gzip) at `\n`; trailing whitespace is stripped. Every reference file must
//! have one line per hypothesis. One difference on purpose: an empty stdin is zero segments (sacreBLEU reads one
//! empty segment), and a tab in a hypothesis is whitespace (sacreBLEU would take it to separate systems).

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use fivegram_corpora::read::{Decoding, TextReader};
use fivegram_translate::metrics::{Bleu, Chrf, python_rstrip};
use serde_json::{Map, Value, json};

use crate::ui;
use crate::usage;

/// Which metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Metric {
    /// BLEU: 13a tokenization, exponential smoothing (`nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp`).
    Bleu,
    /// chrF: character 6-grams, β = 2 (`nc:6|nw:0|space:no`); chrF++ with `--words 2`.
    Chrf,
}

/// Flags of `fivegram eval`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  fivegram eval bleu --ref test.de < hyp.de\n  \
                        fivegram eval chrf --chrf-plus --ref test.de < hyp.de\n  \
                        fivegram eval bleu --ref ref1.de ref2.de --input hyp.de --json")]
pub struct Args {
    /// The metric.
    #[arg(value_enum)]
    metric: Metric,
    /// Reference files (plain or gzip), one segment per line; several files are several references.
    #[arg(long = "ref", short = 'r', value_name = "REF", num_args = 1.., required = true)]
    refs: Vec<PathBuf>,
    /// Read the hypotheses from this file instead of stdin.
    #[arg(long, short = 'i', value_name = "HYP")]
    input: Option<PathBuf>,
    /// chrF: word n-gram order (2 gives chrF++).
    #[arg(long, value_name = "N", default_value_t = 0)]
    words: usize,
    /// chrF++: the same as `--words 2`.
    #[arg(long, conflicts_with = "words")]
    chrf_plus: bool,
    /// chrF: character n-gram order.
    #[arg(long, value_name = "N", default_value_t = 6)]
    chars: usize,
    /// Lowercase hypotheses and references (signature `case:lc`).
    #[arg(long, short = 'l')]
    lowercase: bool,
    /// Decimals of the score (sacreBLEU's --width).
    #[arg(long, short = 'w', default_value_t = 1)]
    width: usize,
    /// Print one JSON object with sacreBLEU's keys instead of the text line.
    #[arg(long)]
    json: bool,
}

/// Runs `fivegram eval`.
pub fn run(args: Args) -> Result<()> {
    if args.width > 15 {
        usage!("--width must be at most 15, got {}", args.width);
    }
    let word_order = if args.chrf_plus { 2 } else { args.words };
    if args.metric == Metric::Bleu && (word_order > 0 || args.chars != 6) {
        usage!("--words, --chrf-plus and --chars apply to chrf only");
    }
    if args.metric == Metric::Chrf && args.chars == 0 && word_order == 0 {
        usage!("chrf needs --chars or --words above 0");
    }
    let hypotheses = match &args.input {
        Some(path) => read_file_lines(path, None)?,
        None => read_stdin_lines()?,
    };
    let what = args
        .input
        .as_ref()
        .map_or("<stdin>".to_string(), |p| p.display().to_string());
    let mut references = Vec::with_capacity(args.refs.len());
    for path in &args.refs {
        let lines = read_file_lines(path, None)?;
        if lines.len() != hypotheses.len() {
            bail!(
                "{}: {} lines, but the hypotheses ({what}) have {}: each reference file needs one line per hypothesis",
                path.display(),
                lines.len(),
                hypotheses.len()
            );
        }
        references.push(lines);
    }
    if hypotheses.is_empty() {
        bail!("no segments to score: the hypotheses ({what}) and references are empty");
    }
    let (name, score, signature, verbose, line) = match args.metric {
        Metric::Bleu => {
            let bleu = Bleu {
                lowercase: args.lowercase,
            };
            let score = bleu.corpus_score(&hypotheses, &references)?;
            let line = score.format(args.width);
            (
                "BLEU".to_string(),
                score.score,
                score.signature.clone(),
                Some(score.verbose()),
                line,
            )
        }
        Metric::Chrf => {
            let chrf = Chrf {
                char_order: args.chars,
                word_order,
                lowercase: args.lowercase,
                ..Chrf::default()
            };
            let score = chrf.corpus_score(&hypotheses, &references)?;
            let line = score.format(args.width);
            (score.name.clone(), score.score, score.signature.clone(), None, line)
        }
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    if args.json {
        let rounded: f64 = format!("{score:.width$}", width = args.width).parse().unwrap_or(score);
        let mut object = Map::new();
        object.insert("name".into(), json!(name));
        object.insert("score".into(), json!(rounded));
        object.insert("signature".into(), json!(signature));
        if let Some(verbose) = verbose {
            object.insert("verbose_score".into(), json!(verbose));
        }
        for pair in signature.split('|') {
            if let Some((key, value)) = pair.split_once(':') {
                object.insert(key.into(), json!(value));
            }
        }
        ui::json_line(&mut out, &Value::Object(object))?;
    } else {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}

/// The lines of a plain or gzip file, split at `\n` and stripped of trailing whitespace; the first `limit`
/// of them when given.
pub(crate) fn read_file_lines(path: &Path, limit: Option<usize>) -> Result<Vec<String>> {
    let mut reader = TextReader::open(path, Decoding::Strict)?;
    let mut lines = Vec::new();
    let mut line = String::new();
    while limit.is_none_or(|n| lines.len() < n) && reader.read_line(&mut line)? {
        lines.push(python_rstrip(&line).to_string());
    }
    Ok(lines)
}

/// The lines of stdin, split at `\n`, `\r\n` or `\r` and stripped of trailing whitespace.
fn read_stdin_lines() -> Result<Vec<String>> {
    let mut bytes = Vec::new();
    io::stdin()
        .lock()
        .read_to_end(&mut bytes)
        .context("reading the hypotheses from stdin")?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(text) => text,
        Err(e) => {
            let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
            bail!("<stdin>:{line}: invalid UTF-8; the hypotheses must be UTF-8 text");
        }
    };
    let mut lines = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        lines.push(python_rstrip(&rest[..end]).to_string());
        let terminator = if rest[end..].starts_with("\r\n") {
            2
        } else {
            usize::from(end < rest.len())
        };
        rest = &rest[end + terminator..];
    }
    Ok(lines)
}
