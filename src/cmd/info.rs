//! `fivegram info`: what a model directory holds and how many bytes each order takes.

use std::io::Write;
use std::path::PathBuf;

use fivegram_lm::store::Store;
use serde_json::json;

use crate::cmd::build::human;
use crate::ui;

/// Flags of `fivegram info`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model directory (written by `fivegram build`).
    #[arg(value_name = "MODEL_DIR")]
    pub model: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs `fivegram info`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let store = Store::open(&args.model)?;
    let info = store.info();
    let manifest = store.manifest();
    let per = |bytes: u64, count: u64| if count == 0 { 0.0 } else { bytes as f64 / count as f64 };
    let mut out = std::io::stdout().lock();
    if args.json {
        let orders: Vec<_> = (0..info.order)
            .map(|i| {
                json!({
                    "order": i + 1,
                    "ngrams": info.counts[i],
                    "contexts": info.contexts.get(i).copied().unwrap_or(0),
                    "bytes": info.bytes_by_order[i],
                    "bytes_per_ngram": per(info.bytes_by_order[i], info.counts[i]),
                })
            })
            .collect();
        let value = json!({
            "model": args.model,
            "order": info.order,
            "smoothing": manifest.smoothing,
            "vocab_size": info.vocab_size,
            "quantize_bits": info.quant_bits,
            "shards": info.shards,
            "layout": info.layout.name(),
            "ngrams": info.ngrams(),
            "orders": orders,
            "vocab_bytes": info.vocab_bytes,
            "overhead_bytes": info.overhead_bytes,
            "total_bytes": info.total_bytes,
            "bytes_per_ngram": info.bytes_per_ngram(),
        });
        ui::json_line(&mut out, &value)?;
        return Ok(());
    }
    let values = if info.quant_bits == 0 {
        "f32 (exact)".to_string()
    } else {
        format!("{}-bit codes", info.quant_bits)
    };
    writeln!(out, "model\t{}", args.model.display())?;
    writeln!(out, "order\t{}\tsmoothing\t{}", info.order, manifest.smoothing)?;
    writeln!(out, "vocabulary\t{} words", info.vocab_size)?;
    writeln!(out, "values\t{values}")?;
    writeln!(out, "shards\t{}", info.shards)?;
    writeln!(out, "layout\t{}", info.layout.name())?;
    writeln!(out, "order\tn-grams\tcontexts\tbytes\tbytes/n-gram")?;
    for i in 0..info.order {
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{:.3}",
            i + 1,
            info.counts[i],
            info.contexts.get(i).copied().unwrap_or(0),
            info.bytes_by_order[i],
            per(info.bytes_by_order[i], info.counts[i])
        )?;
    }
    writeln!(out, "vocabulary file\t{} bytes", info.vocab_bytes)?;
    writeln!(
        out,
        "headers, directories, codebooks, manifest\t{} bytes",
        info.overhead_bytes
    )?;
    writeln!(
        out,
        "total\t{} n-grams\t{} bytes ({})\t{:.3} bytes/n-gram",
        info.ngrams(),
        info.total_bytes,
        human(info.total_bytes),
        info.bytes_per_ngram()
    )?;
    Ok(())
}
