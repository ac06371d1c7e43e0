//! `fivegram query` (being written).

/// Flags of `fivegram query`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `fivegram query`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    Ok(())
}
