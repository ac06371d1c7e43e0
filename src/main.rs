//! The `fivegram` command line: one module per verb under `cmd/`.
//!
//! Exit codes: 0 success, 1 runtime error, 2 usage error (bad flags or absurd option values). A closed pipe on
//! stdout (`fivegram … | head`) ends the program quietly with 0.

mod cmd;
mod ui;

use std::process::ExitCode;

use clap::Parser;

/// Language technology from n-grams to neural networks.
#[derive(Debug, Parser)]
#[command(name = "fivegram", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: cmd::Command,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version to stdout and usage errors to stderr, with its own exit code (0 or 2).
            let _ = err.print();
            return ExitCode::from(err.exit_code().clamp(0, 255) as u8);
        }
    };
    match cmd::run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => report(&err),
    }
}

/// Prints an error chain and picks the exit code.
fn report(err: &anyhow::Error) -> ExitCode {
    if ui::is_broken_pipe(err) {
        return ExitCode::SUCCESS;
    }
    let usage = err.downcast_ref::<ui::UsageError>().is_some();
    eprintln!("fivegram: error: {}", ui::error_chain(err));
    if usage {
        eprintln!("Try 'fivegram --help' for more information.");
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}
