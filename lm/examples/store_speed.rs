//! Time per word of batched scoring through a model directory, excluding load, the way KenLM's
//! `kenlm_benchmark query` measures it (see BENCHMARKS.md, "5-gram store", and `bench/store-vs-kenlm.sh`, which
//! runs this and KenLM's benchmark side by side).
//!
//! ```text
//! cargo run --release -p fivegram-lm --example store_speed -- MODEL_DIR TEXT [--threads N] [--rounds R]
//!     [--mode text|lockstep|sequential] [--cache] [--load]
//! ```
//! - `TEXT`: one sentence per line, tokenized as the model was (whitespace-separated, like `fivegram query`).
//! - `--threads N` (default 1): the rayon pool the batches are answered on; with 1 the store answers every batch
//!   on the calling thread (`with_parallel(false)`).
//! - `--mode text` (default): the whole text at once ([`score_sentences`], what `fivegram query` does: one part
//!   per thread, each scored by the model's `score_tokens`, which a one-shard hashed store pipelines word by
//!   word and other models answer by lock-step batches); `lockstep`: every sentence advanced one word per
//!   `score_batch` call, all sentences in one batch ([`lock_step_tokens`]); `sequential`: one `score` call per
//!   word, one sentence after another (no batching).
//! - `--cache`: a per-thread cache of recent lookups answers repeated `(context, word)` pairs
//!   (`Store::with_cache(true)`; emptied before every round, so that no round finds the previous round's
//!   queries there); by default every query is looked up in the shard.
//! - `--load`: the model's files are read into anonymous memory advised for transparent huge pages
//!   (`madvise(MADV_HUGEPAGE)`), as KenLM's benchmark loads its model, instead of memory-mapped from the files
//!   with 4 KB pages: shows what the page-table walks of random lookups over a large model cost.
//! - `--rounds R` (default 5): the text is scored R times after it has been read and mapped to ids; round 1 is
//!   the first touch of the model's pages.
//!
//! Prints one line per round: words (`</s>` included), wall and CPU seconds (CPU of the whole process, all
//! threads, from `/proc/self/stat`, in 10 ms ticks), ns per word of each, and the sum of log10 probabilities (equal
//! in every round); then the median round over rounds 2…R.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use fivegram_lm::model::{LanguageModel, WordId, lock_step_tokens};
use fivegram_lm::query::{SentenceScore, score_sentences, split_words};
use fivegram_lm::store::{Manifest, Store};

const USAGE: &str = "usage: store_speed MODEL_DIR TEXT [--threads N] [--rounds R] [--mode text|lockstep|sequential] \
                     [--cache] [--load]";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Text,
    Lockstep,
    Sequential,
}

struct Options {
    model: PathBuf,
    text: PathBuf,
    threads: usize,
    rounds: usize,
    mode: Mode,
    cache: bool,
    load: bool,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut positional = Vec::new();
    let (mut threads, mut rounds, mut mode, mut cache, mut load) = (1, 5, Mode::Text, false, false);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--threads" => {
                threads = value("--threads")?
                    .parse()
                    .ok()
                    .filter(|&n| n >= 1)
                    .ok_or("--threads: a whole number, at least 1")?
            }
            "--rounds" => {
                rounds = value("--rounds")?
                    .parse()
                    .ok()
                    .filter(|&n| n >= 1)
                    .ok_or("--rounds: a whole number, at least 1")?
            }
            "--mode" => {
                mode = match value("--mode")?.as_str() {
                    "text" => Mode::Text,
                    "lockstep" => Mode::Lockstep,
                    "sequential" => Mode::Sequential,
                    other => return Err(format!("--mode {other}: use text, lockstep or sequential")),
                }
            }
            "--cache" => cache = true,
            "--load" => load = true,
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
        threads,
        rounds,
        mode,
        cache,
        load,
    })
}

/// CPU time (user + system) of this process so far, all threads included, in seconds, from `/proc/self/stat`
/// (in 1/100 s; 0 where /proc is not available).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which may hold spaces) start at the state, field 3.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|t| t.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15, i.e. 11 and 12 after the state.
    (ticks(11) + ticks(12)) as f64 / 100.0
}

/// Opens the model directory `dir` from copies of its files in anonymous memory advised for huge pages.
fn load(dir: &Path) -> Result<Store<memmap2::Mmap>, Box<dyn std::error::Error>> {
    // Each file is read straight into its anonymous map (no intermediate copy, which on a large model left
    // too little free memory in 2 MB blocks for the map to get huge pages).
    let copy = |name: &str| -> Result<memmap2::Mmap, String> {
        let path = dir.join(name);
        let err = |e: std::io::Error| format!("{}: {e}", path.display());
        let mut file = std::fs::File::open(&path).map_err(err)?;
        let len = file.metadata().map_err(err)?.len() as usize;
        let mut map = memmap2::MmapMut::map_anon(len).map_err(err)?;
        // Only a hint: without huge pages the copy works the same.
        let _ = map.advise(memmap2::Advice::HugePage);
        std::io::Read::read_exact(&mut file, &mut map).map_err(err)?;
        map.make_read_only().map_err(err)
    };
    let manifest_bytes = std::fs::read(dir.join("manifest.json"))?;
    let manifest = Manifest::parse(&dir.join("manifest.json"), &manifest_bytes)?;
    let vocab = copy(&manifest.files[0].name)?;
    let shards = manifest.files[1..]
        .iter()
        .map(|f| copy(&f.name))
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Store::from_parts(dir, &manifest_bytes, vocab, shards)?)
}

fn run(options: &Options) -> Result<(), Box<dyn std::error::Error>> {
    if options.load {
        measure(load(&options.model)?, options)
    } else {
        measure(Store::open(&options.model)?, options)
    }
}

fn measure<D: AsRef<[u8]> + Send + Sync>(store: Store<D>, options: &Options) -> Result<(), Box<dyn std::error::Error>> {
    let mut store = store.with_parallel(options.threads > 1).with_cache(options.cache);
    let text = std::fs::read_to_string(&options.text).map_err(|e| format!("{}: {e}", options.text.display()))?;
    let sentences: Vec<Vec<WordId>> = text
        .lines()
        .map(|line| split_words(line).map(|w| store.word_id(w)).collect())
        .collect();
    let words: usize = sentences.iter().map(|s| s.len() + 1).sum();
    println!(
        "model {} ({} shards{}), {} sentences, {words} words, {} thread(s), {:?}, cache {}",
        options.model.display(),
        store.manifest().shards,
        if options.load { ", loaded" } else { "" },
        sentences.len(),
        options.threads,
        options.mode,
        if options.cache { "on" } else { "off" }
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads)
        .build()
        .map_err(|e| format!("cannot start {} threads: {e}", options.threads))?;
    let mut scores: Vec<SentenceScore> = Vec::new();
    let mut tokens: Vec<f32> = Vec::new();
    let mut rounds = Vec::new();
    for round in 1..=options.rounds {
        store.clear_cache();
        let (cpu, start) = (cpu_seconds(), Instant::now());
        let total: f64 = pool.install(|| match options.mode {
            Mode::Text => {
                score_sentences(&store, &sentences, &mut scores);
                scores.iter().map(|s| f64::from(s.total)).sum()
            }
            Mode::Lockstep => {
                let refs: Vec<&[WordId]> = sentences.iter().map(Vec::as_slice).collect();
                tokens.clear();
                lock_step_tokens(&store, &refs, &mut tokens);
                let mut at = 0;
                let mut total = 0f64;
                for s in &sentences {
                    total += f64::from(tokens[at..=at + s.len()].iter().sum::<f32>());
                    at += s.len() + 1;
                }
                total
            }
            Mode::Sequential => sentences
                .iter()
                .map(|s| f64::from(store.score_sentence(s, true, true)))
                .sum(),
        });
        let (wall, cpu) = (start.elapsed().as_secs_f64(), cpu_seconds() - cpu);
        println!(
            "round {round}: {words} words, wall {wall:.4} s ({:.1} ns/word), cpu {cpu:.4} s ({:.1} ns/word), \
             sum {total:.4}",
            wall * 1e9 / words as f64,
            cpu * 1e9 / words as f64
        );
        rounds.push((wall, cpu));
    }
    if rounds.len() > 1 {
        let mut warm = rounds[1..].to_vec();
        warm.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (wall, cpu) = warm[warm.len() / 2];
        println!(
            "median of rounds 2-{}: wall {:.1} ns/word, cpu {:.1} ns/word, {:.2} M words/s",
            rounds.len(),
            wall * 1e9 / words as f64,
            cpu * 1e9 / words as f64,
            words as f64 / wall * 1e-6
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("store_speed: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("store_speed: {e}");
            ExitCode::FAILURE
        }
    }
}
