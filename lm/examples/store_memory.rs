//! Open time and resident memory of a model directory: how long [`Store::open`] takes, and how the process's
//! resident memory grows as sentences are scored (see BENCHMARKS.md, "5-gram store").
//!
//! ```text
//! cargo run --release -p fivegram-lm --example store_memory -- MODEL_DIR TEXT [--opens N] [--verify]
//! ```
//! - Opens the model `N` times (default 20) and prints the fastest, median and slowest open.
//! - Then scores the sentences of `TEXT` (tokenized as the model was) one by one and prints, after 0, 1, 10,
//!   100, 1000, 10000 and all sentences, `VmRSS` (all resident memory) and `RssFile` (resident pages of mapped
//!   files, i.e. of the model) from `/proc/self/status`, next to the model's size on disk.
//! - `--verify`: afterwards checks every checksum ([`Store::verify`]) and prints how long that took.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use fivegram_lm::model::{LanguageModel, WordId};
use fivegram_lm::query::split_words;
use fivegram_lm::store::Store;

const USAGE: &str = "usage: store_memory MODEL_DIR TEXT [--opens N] [--verify]";

struct Options {
    model: PathBuf,
    text: PathBuf,
    opens: usize,
    verify: bool,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut positional = Vec::new();
    let (mut opens, mut verify) = (20, false);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--opens" => {
                opens = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n >= 1)
                    .ok_or("--opens: a whole number, at least 1")?
            }
            "--verify" => verify = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0)
            }
            _ if arg.starts_with("--") => return Err(format!("unknown option {arg}")),
            _ => positional.push(PathBuf::from(arg)),
        }
    }
    let [model, text]: [PathBuf; 2] = positional
        .try_into()
        .map_err(|_| "expected MODEL_DIR and TEXT".to_string())?;
    Ok(Options {
        model,
        text,
        opens,
        verify,
    })
}

/// `VmRSS` and `RssFile` of this process in MB ("?" where /proc is not available).
fn rss() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or("?".to_string(), |kb| format!("{:.1} MB", kb / 1024.0))
    };
    format!("VmRSS {}, RssFile {}", field("VmRSS:"), field("RssFile:"))
}

fn run(options: &Options) -> Result<(), Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(&options.text).map_err(|e| format!("{}: {e}", options.text.display()))?;
    println!("before opening: {}", rss());
    let mut times = Vec::new();
    for _ in 0..options.opens {
        let start = Instant::now();
        let store = Store::open(&options.model)?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
        drop(store);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "open ({} times): fastest {:.2} ms, median {:.2} ms, slowest {:.2} ms",
        times.len(),
        times[0],
        times[times.len() / 2],
        times[times.len() - 1]
    );
    let store = Store::open(&options.model)?;
    let info = store.info();
    println!(
        "model: {:.1} MB on disk; after opening: {}",
        info.total_bytes as f64 / 1e6,
        rss()
    );
    let lines: Vec<&str> = text.lines().collect();
    let mut words = 0usize;
    let mut total = 0f64;
    for (i, line) in lines.iter().enumerate() {
        let ids: Vec<WordId> = split_words(line).map(|w| store.word_id(w)).collect();
        words += ids.len() + 1;
        total += f64::from(store.score_sentence(&ids, true, true));
        let done = i + 1;
        if [1, 10, 100, 1000, 10_000].contains(&done) {
            println!("after {done} sentences ({words} words): {}", rss());
        }
    }
    println!(
        "after all {} sentences ({words} words, log10 sum {total:.2}): {}",
        lines.len(),
        rss()
    );
    if options.verify {
        let start = Instant::now();
        store.verify()?;
        println!("verify: {:.2} s; afterwards: {}", start.elapsed().as_secs_f64(), rss());
    }
    Ok(())
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("store_memory: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("store_memory: {e}");
            ExitCode::FAILURE
        }
    }
}
