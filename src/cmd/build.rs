//! `fivegram build`: turn an ARPA model, or text estimated on the spot, into a sharded, compressed store
//! directory.
//!
//! ```text
//! fivegram build --arpa model.arpa.gz --shards 4 [--quantize 8] [--layout trie|hashed] -o model/
//! fivegram build train.txt.gz --order 5 [estimate's options] --shards 4 -o model/
//! ```
//! With TEXT files, the model is first estimated exactly as `fivegram estimate TEXT… --arpa` would (same
//! options, same code) into a temporary ARPA file next to the output directory (or in `--temp-dir`), which is
//! removed afterwards. Prints one line per file written (`wrote model/shard-00000.fgs (12.3 MB)`) on stderr and a
//! summary of sizes on stdout. Every file is written under a temporary name and renamed; `manifest.json` last.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use fivegram_lm::arpa::read::ArpaReader;
use fivegram_lm::store::build::{self, BuildOptions};
use fivegram_lm::store::{Layout, Store};

use super::estimate::{self, SmoothingArg, TokenizerArg};
use crate::usage;

/// Flags of `fivegram build`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  fivegram build --arpa model.arpa.gz --shards 4 -o model/\n  \
                        fivegram build train.txt.gz --order 5 --shards 4 -o model/\n  \
                        fivegram info model/"
)]
pub struct Args {
    /// Text files to estimate the model from (one sentence per line, plain or gzip), as `fivegram estimate`
    /// does, instead of --arpa.
    #[arg(value_name = "TEXT", required_unless_present = "arpa", conflicts_with = "arpa")]
    pub text: Vec<PathBuf>,
    /// The ARPA model to store (plain or gzip), e.g. written by `fivegram estimate`.
    #[arg(long, value_name = "IN.arpa")]
    pub arpa: Option<PathBuf>,
    /// The number of shards (files); each lookup reads one shard.
    #[arg(long, value_name = "N")]
    pub shards: u32,
    /// Bits per quantized probability and backoff (1 to 16); 0 keeps the ARPA's values exactly.
    #[arg(long, value_name = "BITS", default_value_t = 8)]
    pub quantize: u32,
    /// With --arpa: the smoothing the model was estimated with, recorded in the manifest (e.g. mkn, stupid;
    /// default unknown). With TEXT: the estimator, mkn (default) or stupid.
    #[arg(long)]
    pub smoothing: Option<String>,
    /// How each shard lays out its n-grams: `trie` (compact, the default: about 4 bytes an n-gram at 8 bits) or
    /// `hashed` (one probing hash table per order: about 19 bytes an n-gram at 8 bits, lookups about 14 times
    /// faster; a one-shard hashed store is the fastest for `query`).
    #[arg(long, value_enum, default_value_t = LayoutArg::Trie)]
    pub layout: LayoutArg,
    /// Build the shards on one thread.
    #[arg(long)]
    pub serial: bool,
    /// The model directory to write (created if missing; a model already there is replaced).
    #[arg(short = 'o', long = "output", value_name = "MODEL_DIR")]
    pub output: PathBuf,
    /// With TEXT: model order, 1 to 6 (`fivegram estimate --order`).
    #[arg(
        long,
        default_value_t = 5,
        help_heading = "Estimating from TEXT (as fivegram estimate)"
    )]
    pub order: usize,
    /// With TEXT: tokenization of the text.
    #[arg(long, value_enum, default_value_t = TokenizerArg::Whitespace, help_heading = "Estimating from TEXT (as fivegram estimate)")]
    pub tokenizer: TokenizerArg,
    /// With TEXT: lowercase tokens (with `--tokenizer words`).
    #[arg(long, help_heading = "Estimating from TEXT (as fivegram estimate)")]
    pub lower: bool,
    /// With TEXT: language conventions of `--tokenizer words` (en or de).
    #[arg(
        long,
        default_value = "en",
        help_heading = "Estimating from TEXT (as fivegram estimate)"
    )]
    pub lang: String,
    /// With TEXT: pruning thresholds per order (lmplz's --prune), e.g. `--prune 0,0,1`.
    #[arg(long, num_args = 1.., value_delimiter = ',', value_name = "T", help_heading = "Estimating from TEXT (as fivegram estimate)")]
    pub prune: Vec<u64>,
    /// With TEXT: memory budget for counting, e.g. 500M, 4G.
    #[arg(
        long,
        short = 'S',
        default_value = "1G",
        help_heading = "Estimating from TEXT (as fivegram estimate)"
    )]
    pub memory: String,
    /// With TEXT: directory for sorted runs and the temporary ARPA file (default: the system temporary
    /// directory for runs, the output's parent directory for the ARPA file).
    #[arg(
        long,
        short = 'T',
        value_name = "DIR",
        help_heading = "Estimating from TEXT (as fivegram estimate)"
    )]
    pub temp_dir: Option<PathBuf>,
    /// With TEXT and `--smoothing stupid`: Stupid Backoff's back-off factor.
    #[arg(
        long,
        default_value_t = 0.4,
        help_heading = "Estimating from TEXT (as fivegram estimate)"
    )]
    pub alpha: f32,
    /// With TEXT: fixed discounts for an order whose Kneser-Ney discounts cannot be estimated (lmplz's
    /// --discount_fallback): 0.5 1 1.5, or the values given as `--discount-fallback=D1,D2,D3`.
    #[arg(long, num_args = 0..=1, require_equals = true, value_delimiter = ',', value_name = "D1,D2,D3",
          default_missing_values = ["0.5", "1", "1.5"], help_heading = "Estimating from TEXT (as fivegram estimate)")]
    pub discount_fallback: Option<Vec<f32>>,
    /// Print what each phase took.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

/// `--layout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LayoutArg {
    /// Elias-Fano coded right-to-left trie: the smallest files.
    Trie,
    /// Linear-probing hash tables, 16 bytes per n-gram entry: the fastest lookups.
    Hashed,
}

/// A temporary file removed when dropped (the estimated ARPA model).
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Estimates the model of `args.text` into a temporary ARPA file with `fivegram estimate`'s code.
fn estimate_text(args: &Args) -> anyhow::Result<Scratch> {
    let smoothing = match args.smoothing.as_deref() {
        None | Some("mkn") => SmoothingArg::Mkn,
        Some("stupid") => SmoothingArg::Stupid,
        Some(other) => usage!("--smoothing {other}: with TEXT use mkn or stupid"),
    };
    let dir = match &args.temp_dir {
        Some(dir) => dir.clone(),
        None => match args.output.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        },
    };
    let name = args
        .output
        .file_name()
        .map_or("model".into(), |n| n.to_string_lossy().into_owned());
    let scratch = Scratch(dir.join(format!(".{name}.{}.estimated.arpa", std::process::id())));
    estimate::run(estimate::Args {
        text: args.text.clone(),
        counts: None,
        arpa: Some(scratch.0.clone()),
        write_counts: None,
        order: args.order,
        smoothing,
        tokenizer: args.tokenizer,
        lower: args.lower,
        lang: args.lang.clone(),
        prune: args.prune.clone(),
        memory: args.memory.clone(),
        temp_dir: args.temp_dir.clone(),
        alpha: args.alpha,
        verbose: args.verbose,
        discount_fallback: args.discount_fallback.clone(),
    })?;
    Ok(scratch)
}

/// Runs `fivegram build`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.shards == 0 || args.shards > 1 << 16 {
        usage!("--shards {}: use 1 to 65536", args.shards);
    }
    if args.quantize > 16 {
        usage!("--quantize {}: use 0 (exact) or 1 to 16 bits", args.quantize);
    }
    if args.output.exists() && !args.output.is_dir() {
        usage!("-o {}: exists and is not a directory", args.output.display());
    }
    let start = Instant::now();
    let (arpa, _scratch, smoothing) = match &args.arpa {
        Some(arpa) => (
            arpa.clone(),
            None,
            args.smoothing.clone().unwrap_or_else(|| "unknown".into()),
        ),
        None => {
            let scratch = estimate_text(&args)?;
            let smoothing = args.smoothing.clone().unwrap_or_else(|| "mkn".into());
            (scratch.0.clone(), Some(scratch), smoothing)
        }
    };
    let options = BuildOptions {
        shards: args.shards,
        quantize: args.quantize,
        smoothing,
        parallel: !args.serial,
        layout: match args.layout {
            LayoutArg::Trie => Layout::Trie,
            LayoutArg::Hashed => Layout::Hashed,
        },
    };
    let reader = ArpaReader::open(&arpa)?;
    let announce = |path: &Path| {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        eprintln!("wrote {} ({})", path.display(), human(size));
        ControlFlow::Continue(())
    };
    build::build(reader, &args.output, &options, &announce)
        .with_context(|| format!("building {} from {}", args.output.display(), arpa.display()))?;
    let store = Store::open(&args.output)?;
    let info = store.info();
    println!(
        "{}: order {}, {} n-grams, {} shards ({}), {}: {} ({:.2} bytes per n-gram), built in {:.1} s",
        args.output.display(),
        info.order,
        info.ngrams(),
        info.shards,
        info.layout.name(),
        if info.quant_bits == 0 {
            "f32".to_string()
        } else {
            format!("{}-bit", info.quant_bits)
        },
        human(info.total_bytes),
        info.bytes_per_ngram(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Bytes in B, KB, MB or GB (powers of 1000), for people.
pub fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} KB", b / 1e3)
    } else {
        format!("{bytes} B")
    }
}
