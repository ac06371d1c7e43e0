//! `fivegram estimate` (being written).

/// Flags of `fivegram estimate`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `fivegram estimate`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    Ok(())
}
