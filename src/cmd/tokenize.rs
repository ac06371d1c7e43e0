//! `fivegram tokenize`: tokenize, detokenize or sentence-split stdin to stdout, one line out per line in; or
//! measure how often the detokenizer restores a corpus exactly (`--roundtrip FILE`); or count tokens and time the
//! tokenizer (`--count`).

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fivegram_corpora::read::{Decoding, TextReader};
use fivegram_corpora::tokenize::{Detokenizer, Lang, SentenceSplitter, Tokenizer};
use serde_json::json;

use crate::ui;
use crate::usage;

/// Flags of `fivegram tokenize`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  fivegram tokenize --lang de < text.de > tokens.de\n  \
                        fivegram tokenize --detok < tokens.en\n  \
                        fivegram tokenize --sentences < paragraphs.txt | fivegram tokenize --lower\n  \
                        fivegram tokenize --roundtrip deu.txt.gz --column 2 --lang de --min-rate 0.99")]
pub struct Args {
    /// Language whose conventions to follow: en or de.
    #[arg(long, default_value = "en")]
    lang: Lang,
    /// Lowercase every token.
    #[arg(long)]
    lower: bool,
    /// Detokenize: read space-separated tokens, write text.
    #[arg(long, conflicts_with_all = ["lower", "sentences", "count"])]
    detok: bool,
    /// Split each line (a paragraph) into sentences, one per output line, untokenized.
    #[arg(long, conflicts_with_all = ["lower", "count"])]
    sentences: bool,
    /// Count tokens of stdin instead of writing them, and report the tokenizer's speed.
    #[arg(long)]
    count: bool,
    /// Measure detok(tok(line)) == line over FILE (plain or gzip) instead of reading stdin.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["lower", "detok", "sentences", "count"])]
    roundtrip: Option<PathBuf>,
    /// With --roundtrip: FILE is tab-separated; use column N (1-based).
    #[arg(long, value_name = "N", requires = "roundtrip")]
    column: Option<usize>,
    /// With --roundtrip: fail (exit 1) when the exact round-trip rate is below this fraction.
    #[arg(long, value_name = "RATE", default_value_t = 0.0, requires = "roundtrip")]
    min_rate: f64,
    /// Replace invalid UTF-8 with U+FFFD instead of stopping with an error.
    #[arg(long)]
    lossy: bool,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
    /// With --roundtrip: show failing lines (up to --examples of them).
    #[arg(long, short)]
    verbose: bool,
    /// With --roundtrip --verbose: how many failing lines to show.
    #[arg(long, value_name = "N", default_value_t = 10)]
    examples: usize,
}

/// Runs `fivegram tokenize`.
pub fn run(args: Args) -> Result<()> {
    if !(0.0..=1.0).contains(&args.min_rate) {
        usage!("--min-rate must be between 0 and 1, got {}", args.min_rate);
    }
    if args.column == Some(0) {
        usage!("--column counts from 1");
    }
    let decoding = if args.lossy { Decoding::Lossy } else { Decoding::Strict };
    if let Some(path) = &args.roundtrip {
        return roundtrip(&args, path, decoding);
    }
    if args.count {
        return count(&args, decoding);
    }
    let mut input = TextReader::stdin(decoding);
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut line = String::new();
    let mut tokens: Vec<String> = Vec::new();
    let mut text = String::new();
    if args.detok {
        let detok = Detokenizer::new(args.lang);
        while input.read_line(&mut line)? {
            text.clear();
            let words: Vec<&str> = line.split_whitespace().collect();
            detok.detokenize_into(&words, &mut text);
            writeln!(out, "{text}")?;
        }
    } else if args.sentences {
        let splitter = SentenceSplitter::new(args.lang);
        while input.read_line(&mut line)? {
            for sentence in splitter.split(&line) {
                writeln!(out, "{sentence}")?;
            }
        }
    } else {
        let tok = Tokenizer::new(args.lang).with_lowercase(args.lower);
        while input.read_line(&mut line)? {
            tokens.clear();
            tok.tokenize_into(&line, &mut tokens);
            writeln!(out, "{}", tokens.join(" "))?;
        }
    }
    out.flush()?;
    Ok(())
}

/// `--count`: tokens of stdin and the tokenizer's speed.
fn count(args: &Args, decoding: Decoding) -> Result<()> {
    let tok = Tokenizer::new(args.lang).with_lowercase(args.lower);
    let mut input = TextReader::stdin(decoding);
    let bar = ui::progress(None, "tokenizing");
    let started = Instant::now();
    let mut in_tokenizer = Duration::ZERO;
    let (mut lines, mut tokens, mut bytes) = (0u64, 0u64, 0u64);
    let mut line = String::new();
    while input.read_line(&mut line)? {
        let t = Instant::now();
        tok.for_each_token(&line, |_| tokens += 1);
        in_tokenizer += t.elapsed();
        lines += 1;
        bytes += line.len() as u64 + 1;
        if lines % 4096 == 0 {
            bar.set_position(lines);
        }
    }
    bar.finish_and_clear();
    let total = started.elapsed().as_secs_f64();
    let tok_secs = in_tokenizer.as_secs_f64().max(1e-9);
    let mut out = io::stdout().lock();
    if args.json {
        ui::json_line(
            &mut out,
            &json!({
                "lang": args.lang.code(), "lowercase": args.lower, "lines": lines, "tokens": tokens,
                "bytes": bytes, "seconds_total": total, "seconds_tokenizing": tok_secs,
                "tokens_per_second": tokens as f64 / tok_secs, "mb_per_second": bytes as f64 / 1e6 / tok_secs,
            }),
        )?;
    } else {
        writeln!(
            out,
            "lines {lines}  tokens {tokens}  bytes {bytes}\ntokenizing {tok_secs:.2} s: {:.2} M tokens/s, {:.1} MB/s \
             (wall {total:.2} s including reading and decompression)",
            tokens as f64 / tok_secs / 1e6,
            bytes as f64 / 1e6 / tok_secs,
        )?;
    }
    Ok(())
}

/// One line that did not survive the round trip.
struct Failure {
    line: u64,
    source: String,
    tokens: Vec<String>,
    back: String,
}

/// `--roundtrip FILE`: how many lines come back exactly from detok(tok(line)).
fn roundtrip(args: &Args, path: &PathBuf, decoding: Decoding) -> Result<()> {
    let tok = Tokenizer::new(args.lang);
    let detok = Detokenizer::new(args.lang);
    let mut input = TextReader::open(path, decoding)?;
    let bar = ui::progress(None, "round trip");
    let (mut lines, mut exact, mut whitespace_only) = (0u64, 0u64, 0u64);
    let mut failures = Vec::new();
    let (mut line, mut back) = (String::new(), String::new());
    let mut tokens = Vec::new();
    while input.read_line(&mut line)? {
        let text = match args.column {
            None => line.as_str(),
            Some(n) => line.split('\t').nth(n - 1).with_context(|| {
                format!(
                    "{}:{}: no column {n} (the line has {} tab-separated columns)",
                    path.display(),
                    input.line_number(),
                    line.split('\t').count()
                )
            })?,
        };
        tokens.clear();
        tok.tokenize_into(text, &mut tokens);
        back.clear();
        detok.detokenize_into(&tokens, &mut back);
        lines += 1;
        if back == text {
            exact += 1;
        } else {
            if back.split_whitespace().eq(text.split_whitespace()) {
                whitespace_only += 1;
            }
            if args.verbose && failures.len() < args.examples {
                failures.push(Failure {
                    line: input.line_number(),
                    source: text.to_string(),
                    tokens: tokens.clone(),
                    back: back.clone(),
                });
            }
        }
        if lines % 4096 == 0 {
            bar.set_position(lines);
        }
    }
    bar.finish_and_clear();
    let rate = if lines == 0 { 1.0 } else { exact as f64 / lines as f64 };
    let pass = rate >= args.min_rate;
    let mut out = io::stdout().lock();
    if args.json {
        let examples: Vec<_> = failures
            .iter()
            .map(|f| json!({"line": f.line, "source": f.source, "tokens": f.tokens, "detokenized": f.back}))
            .collect();
        let mut report = json!({
            "file": path.display().to_string(), "column": args.column, "lang": args.lang.code(),
            "lines": lines, "exact": exact, "rate": rate, "whitespace_only": whitespace_only,
            "min_rate": args.min_rate, "pass": pass,
        });
        if args.verbose {
            report["examples"] = json!(examples);
        }
        ui::json_line(&mut out, &report)?;
    } else {
        let column = args.column.map(|c| format!(" column {c}")).unwrap_or_default();
        writeln!(
            out,
            "{}{column} ({}): {lines} lines, {exact} exact round trips, rate {:.2}% (min {:.2}%); \
             {whitespace_only} of the failures differ only in whitespace",
            path.display(),
            args.lang,
            rate * 100.0,
            args.min_rate * 100.0,
        )?;
        for f in &failures {
            writeln!(
                out,
                "  line {}:\n    source: {}\n    tokens: {}\n    detok:  {}",
                f.line,
                f.source,
                f.tokens.join(" "),
                f.back
            )?;
        }
    }
    out.flush()?;
    if !pass {
        anyhow::bail!(
            "{}: round-trip rate {:.2}% is below --min-rate {:.2}%",
            path.display(),
            rate * 100.0,
            args.min_rate * 100.0
        );
    }
    Ok(())
}
