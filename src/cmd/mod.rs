//! One module per verb; each exposes `Args` (clap) and `run(args) -> anyhow::Result<()>`.

pub mod corpora;

use clap::Subcommand;

/// The verbs of `fivegram`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List, locate and verify the corpora in the catalog.
    Corpora(corpora::Args),
}

/// Runs one verb.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Corpora(args) => corpora::run(args),
    }
}
