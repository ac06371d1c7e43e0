//! `fivegram tokenize [--lang en|de] [--lower] [--detok] < text` (being written).

/// Flags of `fivegram tokenize`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `fivegram tokenize`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    Ok(())
}
