//! `fivegram corpora list | verify [NAME] | path NAME SPLIT [LANG]` (being written).

/// Flags of `fivegram corpora`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `fivegram corpora`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    Ok(())
}
