//! `fivegram estimate`: count n-grams of text files (or read count files) and write a modified Kneser-Ney or
//! Stupid Backoff model as ARPA.

use std::path::PathBuf;

use anyhow::Context;
use fivegram_corpora::tokenize::{Lang, Tokenizer as WordTokenizer};
use fivegram_lm::count::{self, CountConfig, FullCounts, MAX_ORDER, Tokenizer};
use fivegram_lm::estimate::{self, Discount, EstimateConfig, Smoothing};

use crate::usage;

/// Which estimator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SmoothingArg {
    /// Interpolated modified Kneser-Ney, identical to KenLM's lmplz.
    Mkn,
    /// Stupid Backoff (scores, not probabilities).
    Stupid,
}

/// How lines become tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TokenizerArg {
    /// Split on spaces and tabs, keep tokens as they are (KenLM's behaviour).
    Whitespace,
    /// The project's Unicode-aware word tokenizer.
    Words,
}

/// Flags of `fivegram estimate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Text files, one sentence per line (plain or gzip).
    #[arg(value_name = "TEXT", required_unless_present = "counts", conflicts_with = "counts")]
    pub text: Vec<PathBuf>,
    /// Read n-gram counts written by `--write-counts` instead of text.
    #[arg(long, value_name = "DIR")]
    pub counts: Option<PathBuf>,
    /// Where to write the model (ARPA text).
    #[arg(long, value_name = "OUT.arpa")]
    pub arpa: Option<PathBuf>,
    /// Also write the counts (Web1T-style shards and vocab.gz) to this directory.
    #[arg(long, value_name = "DIR")]
    pub write_counts: Option<PathBuf>,
    /// Model order, 1 to 6.
    #[arg(long, short = 'o', default_value_t = 5)]
    pub order: usize,
    /// Estimator.
    #[arg(long, value_enum, default_value_t = SmoothingArg::Mkn)]
    pub smoothing: SmoothingArg,
    /// Tokenization of the text.
    #[arg(long, value_enum, default_value_t = TokenizerArg::Whitespace)]
    pub tokenizer: TokenizerArg,
    /// Lowercase tokens (with `--tokenizer words`).
    #[arg(long)]
    pub lower: bool,
    /// Language conventions of `--tokenizer words` (en or de).
    #[arg(long, default_value = "en")]
    pub lang: String,
    /// Pruning thresholds per order (lmplz's --prune): n-grams whose count is at most the threshold of their
    /// order are dropped; the last value applies to the remaining orders; the first must be 0. `--prune 0 0 1`
    /// or `--prune 0,0,1`, followed by another option or at the end (a text file right after it would be read as
    /// a threshold).
    #[arg(long, num_args = 1.., value_delimiter = ',', value_name = "T")]
    pub prune: Vec<u64>,
    /// Memory budget for counting and estimation, e.g. 500M, 4G (suffixes K, M, G, T are powers of 1024; no
    /// suffix: bytes). Estimation runs in memory when its n-gram trie fits the budget, else it is streamed through
    /// sorted temporary files (like lmplz), which keeps the peak within the budget plus a few tens of MB.
    #[arg(long, short = 'S', default_value = "1G")]
    pub memory: String,
    /// Directory for temporary sorted runs and estimation files (default: the system temporary directory).
    #[arg(long, short = 'T', value_name = "DIR")]
    pub temp_dir: Option<PathBuf>,
    /// Stupid Backoff's back-off factor.
    #[arg(long, default_value_t = 0.4)]
    pub alpha: f32,
    /// Print what each phase took (time, tokens, runs spilled) to standard error.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Use fixed discounts for an order whose Kneser-Ney discounts cannot be estimated (lmplz's
    /// --discount_fallback): 0.5 1 1.5, or the values given as `--discount-fallback=D1,D2,D3`.
    #[arg(long, num_args = 0..=1, require_equals = true, value_delimiter = ',', value_name = "D1,D2,D3",
          default_missing_values = ["0.5", "1", "1.5"])]
    pub discount_fallback: Option<Vec<f32>>,
}

/// Parses a size like `1G`, `500M`, `64K`, `123` (bytes).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'B' => 1,
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return None,
            };
            (&s[..i], m)
        }
        _ => (s, 1),
    };
    let value: f64 = num.parse().ok()?;
    if !(value.is_finite() && value >= 0.0) {
        return None;
    }
    let bytes = value * mult as f64;
    (bytes < u64::MAX as f64).then_some(bytes as u64)
}

/// The validated configuration.
struct Plan {
    count: CountConfig,
    estimate: EstimateConfig,
}

fn plan(args: &Args) -> anyhow::Result<Plan> {
    if args.order == 0 || args.order > MAX_ORDER {
        usage!("--order {} is not supported: use 1 to {MAX_ORDER}", args.order);
    }
    let Some(memory) = parse_size(&args.memory) else {
        usage!("--memory {:?} is not a size (examples: 500M, 4G)", args.memory);
    };
    if memory < count::MIN_MEMORY {
        usage!("--memory {} is too small: give at least 1M", args.memory);
    }
    if args.arpa.is_none() && args.write_counts.is_none() {
        usage!("nothing to write: give --arpa OUT.arpa and/or --write-counts DIR");
    }
    if args.lower && args.tokenizer == TokenizerArg::Whitespace {
        usage!("--lower needs --tokenizer words (whitespace tokens are kept exactly as written)");
    }
    if let Err(e) = args.lang.parse::<Lang>() {
        usage!("--lang: {e}");
    }
    let smoothing = match args.smoothing {
        SmoothingArg::Mkn => Smoothing::ModifiedKneserNey,
        SmoothingArg::Stupid => Smoothing::StupidBackoff { alpha: args.alpha },
    };
    let discount_fallback = match &args.discount_fallback {
        None => None,
        Some(v) if v.is_empty() => Some(Discount::FALLBACK),
        Some(v) => {
            if v.len() > 3 {
                usage!("--discount-fallback takes at most three discounts (D1, D2, D3+)");
            }
            let mut amount = [0.0f32; 4];
            for j in 0..3 {
                amount[j + 1] = v[j.min(v.len() - 1)];
            }
            Some(Discount { amount })
        }
    };
    let estimate = EstimateConfig {
        smoothing,
        prune: args.prune.clone(),
        discount_fallback,
    };
    if let Err(e) = estimate.thresholds(args.order) {
        usage!("{e}");
    }
    if let Some(dir) = &args.temp_dir
        && !dir.is_dir()
    {
        usage!("--temp-dir {} is not a directory", dir.display());
    }
    Ok(Plan {
        count: CountConfig {
            order: args.order,
            memory,
            temp_dir: args.temp_dir.clone(),
        },
        estimate,
    })
}

/// Runs `fivegram estimate`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let plan = plan(&args)?;
    let started = std::time::Instant::now();
    let counts = match &args.counts {
        Some(dir) => count::files::read_counts(dir, plan.count.clone())
            .with_context(|| format!("reading counts from {}", dir.display()))?,
        None => count_text(&args, plan.count.clone())?,
    };
    if args.verbose {
        eprintln!(
            "fivegram: counted {} tokens in {} sentences, {} words, {} sorted runs spilled: {:.1} s",
            counts.tokens,
            counts.sentences,
            counts.vocab.len(),
            counts.runs(),
            started.elapsed().as_secs_f64()
        );
    }
    if let Some(dir) = &args.write_counts {
        count::files::write_counts(&counts, dir).with_context(|| format!("writing counts to {}", dir.display()))?;
    }
    if let Some(out) = &args.arpa {
        let spinner = crate::ui::progress(None, "estimating and writing ARPA");
        spinner.enable_steady_tick(std::time::Duration::from_millis(200));
        let (ngrams, warnings) = estimate::estimate_to_arpa(counts, &plan.estimate, out)
            .with_context(|| format!("estimating {}", out.display()))?;
        spinner.finish_and_clear();
        for w in warnings {
            eprintln!("fivegram: warning: {w}");
        }
        if args.verbose {
            eprintln!(
                "fivegram: estimated and written: {:.1} s in all",
                started.elapsed().as_secs_f64()
            );
        }
        let ngrams: Vec<String> = ngrams.iter().map(u64::to_string).collect();
        eprintln!(
            "fivegram: wrote {} (order {}, n-grams {})",
            out.display(),
            args.order,
            ngrams.join(" / ")
        );
    }
    Ok(())
}

fn count_text(args: &Args, config: CountConfig) -> anyhow::Result<FullCounts> {
    for path in &args.text {
        if !path.is_file() {
            anyhow::bail!("{}: no such file", path.display());
        }
    }
    let bar = crate::ui::progress(None, "counting tokens");
    let words = match args.tokenizer {
        TokenizerArg::Whitespace => None,
        TokenizerArg::Words => {
            let lang: Lang = args.lang.parse()?;
            Some(WordTokenizer::new(lang).with_lowercase(args.lower))
        }
    };
    let tokenize = |line: &str, out: &mut Vec<String>| {
        if let Some(t) = &words {
            t.tokenize_into(line, out);
        }
    };
    let tokenizer = match words {
        None => Tokenizer::Whitespace,
        Some(_) => Tokenizer::Custom(&tokenize),
    };
    let counts = count::count_files(&args.text, config, tokenizer, |tokens| bar.set_position(tokens))?;
    bar.finish_and_clear();
    if counts.sentences == 0 {
        anyhow::bail!("no text to estimate from: the input files are empty");
    }
    Ok(counts)
}
