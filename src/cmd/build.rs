//! `fivegram build`: turn an ARPA model into a sharded, compressed store directory.
//!
//! ```text
//! fivegram build --arpa model.arpa.gz --shards 4 [--quantize 8] -o model/
//! ```
//! Prints one line per file written (`wrote model/shard-00000.fgs (12.3 MB)`) on stderr and a summary of sizes
//! on stdout. Every file is written under a temporary name and renamed; `manifest.json` last.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use fivegram_lm::arpa::read::ArpaReader;
use fivegram_lm::store::Store;
use fivegram_lm::store::build::{self, BuildOptions};

use crate::usage;

/// Flags of `fivegram build`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  fivegram build --arpa model.arpa.gz --shards 4 -o model/\n  \
                        fivegram info model/"
)]
pub struct Args {
    /// The ARPA model to store (plain or gzip), e.g. written by `fivegram estimate`.
    #[arg(long, value_name = "IN.arpa")]
    pub arpa: PathBuf,
    /// The number of shards (files); each lookup reads one shard.
    #[arg(long, value_name = "N")]
    pub shards: u32,
    /// Bits per quantized probability and backoff (1 to 16); 0 keeps the ARPA's values exactly.
    #[arg(long, value_name = "BITS", default_value_t = 8)]
    pub quantize: u32,
    /// The smoothing the ARPA model was estimated with, recorded in the manifest (e.g. mkn, stupid).
    #[arg(long, default_value = "unknown")]
    pub smoothing: String,
    /// Build the shards on one thread.
    #[arg(long)]
    pub serial: bool,
    /// The model directory to write (created if missing; a model already there is replaced).
    #[arg(short = 'o', long = "output", value_name = "MODEL_DIR")]
    pub output: PathBuf,
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
    let options = BuildOptions {
        shards: args.shards,
        quantize: args.quantize,
        smoothing: args.smoothing.clone(),
        parallel: !args.serial,
    };
    let start = Instant::now();
    let reader = ArpaReader::open(&args.arpa)?;
    let announce = |path: &Path| {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        eprintln!("wrote {} ({})", path.display(), human(size));
        ControlFlow::Continue(())
    };
    build::build(reader, &args.output, &options, &announce)
        .with_context(|| format!("building {} from {}", args.output.display(), args.arpa.display()))?;
    let store = Store::open(&args.output)?;
    let info = store.info();
    println!(
        "{}: order {}, {} n-grams, {} shards, {}: {} ({:.2} bytes per n-gram), built in {:.1} s",
        args.output.display(),
        info.order,
        info.ngrams(),
        info.shards,
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
