//! `fivegram verify`: check every byte of a model directory against its checksums.
//!
//! Opens the model (which checks headers, footers and sizes), then recomputes every file's CRC-32 and SHA-256
//! and compares them with the footers and the manifest. Prints one line per file; exits with 1 if any failed.

use std::path::PathBuf;

use fivegram_lm::store::Store;
use serde_json::json;

use crate::ui;

/// Flags of `fivegram verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model directory (written by `fivegram build`).
    #[arg(value_name = "MODEL_DIR")]
    pub model: PathBuf,
    /// Print one JSON object per file.
    #[arg(long)]
    pub json: bool,
}

/// Runs `fivegram verify`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let store = Store::open(&args.model)?;
    let results = store.verify_files();
    let mut out = std::io::stdout().lock();
    let mut failed = 0;
    for (path, result) in &results {
        if result.is_err() {
            failed += 1;
        }
        if args.json {
            let value = match result {
                Ok(()) => json!({"file": path, "ok": true}),
                Err(e) => json!({"file": path, "ok": false, "error": e.to_string()}),
            };
            ui::json_line(&mut out, &value)?;
        } else {
            use std::io::Write;
            match result {
                Ok(()) => writeln!(out, "ok\t{}", path.display())?,
                Err(e) => writeln!(out, "FAILED\t{e}")?,
            }
        }
    }
    if failed > 0 {
        anyhow::bail!(
            "{failed} of {} files of {} failed verification",
            results.len(),
            args.model.display()
        );
    }
    Ok(())
}
