//! Isolated-word speed of a spelling model on misspelling lists, one thread, model already open.
//!
//! ```sh
//! cargo run --release -p fivegram-spell --example spell_speed -- MODEL_DIR LIST… [--rounds N] [--k K] [--text FILE] [--dump FILE] [--set KEY=VALUE]…
//! ```
//!
//! For each list (Norvig or Mitton format, read with the evaluation protocol of `fivegram_spell::eval`) it calls
//! `suggest(misspelling, K)` (`--k`, default 5) on every item, `--rounds` times (default 5) after one warm-up
//! round, and prints the words per CPU-second of the calling thread (and per wall-clock second) with top-1/top-5,
//! so that a speed-up that changes the answers shows. `--text FILE` adds a stream of running text (every word
//! token of the first 20,000 lines), which is mostly correctly spelled words: the speed of `suggest` on ordinary
//! input, measured in one pass that starts with empty caches (the lists are timed with the caches emptied before
//! every round). `--dump FILE` writes every `suggest(w, 1)` and `suggest(w, 5)` of the lists and of the text's
//! distinct tokens (words, scores, errors) to FILE, so that two builds can be checked to give the same answers.
//! `--set KEY=VALUE` overrides a ranking setting of the model (as `fivegram spell --set`), e.g.
//! `--set stop_one_edit=1 --set stop_spelling=1` to time the full search without its stages.

use std::path::PathBuf;
use std::time::Instant;

use fivegram_corpora::read::{Decoding, TextReader};
use fivegram_corpora::tokenize::Tokenizer;
use fivegram_spell::Speller;
use fivegram_spell::eval::{Item, evaluate_isolated, read_items, thread_cpu_seconds};
use fivegram_spell::speller::clear_thread_caches;

fn main() {
    if let Err(e) = run() {
        eprintln!("spell_speed: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut model: Option<PathBuf> = None;
    let mut lists: Vec<PathBuf> = Vec::new();
    let mut rounds = 5usize;
    let mut k = 5usize;
    let mut text: Option<PathBuf> = None;
    let mut dump: Option<PathBuf> = None;
    let mut settings: Vec<(String, serde_json::Value)> = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => {
                let value = args.next().ok_or("--rounds needs a number")?;
                rounds = value
                    .parse()
                    .map_err(|_| format!("--rounds: {value:?} is not a number"))?;
            }
            "--k" => {
                let value = args.next().ok_or("--k needs a number")?;
                k = value.parse().map_err(|_| format!("--k: {value:?} is not a number"))?;
            }
            "--text" => text = Some(args.next().ok_or("--text needs a file")?.into()),
            "--dump" => dump = Some(PathBuf::from(args.next().ok_or("--dump needs a file")?)),
            "--set" => {
                let value = args.next().ok_or("--set needs KEY=VALUE")?;
                let (key, raw) = value.split_once('=').ok_or("--set takes KEY=VALUE")?;
                let parsed = serde_json::from_str(raw).map_err(|_| format!("--set {key}: {raw:?} is not a number"))?;
                settings.push((key.to_string(), parsed));
            }
            _ if model.is_none() => model = Some(arg.into()),
            _ => lists.push(arg.into()),
        }
    }
    let model = model.ok_or(
        "usage: spell_speed MODEL_DIR LIST… [--rounds N] [--k K] [--text FILE] [--dump FILE] [--set KEY=VALUE]…",
    )?;
    let open = Instant::now();
    let mut speller = Speller::open(&model)?.with_parallel(false);
    if !settings.is_empty() {
        let mut ranking = serde_json::to_value(speller.ranking())?;
        for (key, value) in settings {
            let object = ranking.as_object_mut().ok_or("ranking settings are not an object")?;
            if !object.contains_key(&key) {
                return Err(format!("--set: unknown setting {key:?}").into());
            }
            object.insert(key, value);
        }
        speller.set_ranking(serde_json::from_value(ranking)?);
    }
    eprintln!("opened {} in {:.2} s", model.display(), open.elapsed().as_secs_f64());
    let rounds = rounds.max(1);
    let mut dumped = String::new();
    for list in &lists {
        let (_, items) = read_items(list)?;
        if dump.is_some() {
            for item in &items {
                dump_suggestions(&speller, &item.misspelling, &mut dumped);
            }
        }
        let first = evaluate_isolated(&speller, &items);
        // The first suggestion must not depend on how many are asked for (pruning is exact, and the staged
        // search decides where to stop on scores that do not depend on it either).
        let differ = items
            .iter()
            .filter(|item| {
                let best = |k| speller.suggest(&item.misspelling, k).first().map(|s| s.word.clone());
                best(k) != best(5)
            })
            .count();
        if differ > 0 {
            return Err(format!(
                "{}: {differ} first suggestions differ between k = {k} and k = 5",
                list.display()
            )
            .into());
        }
        let (cpu, wall) = timed(&speller, &items, rounds, k, true);
        let n = (items.len() * rounds) as f64;
        println!(
            "{}: {} items, top-1 {:.1} %, top-5 {:.1} %, {:.0} words/CPU-s ({:.0} words/wall-s), {:.1} µs/word",
            list.display(),
            items.len(),
            first.top1_percent(),
            first.top5_percent(),
            n / cpu,
            n / wall,
            1e6 * cpu / n,
        );
    }
    if let Some(path) = text {
        let mut reader = TextReader::open(&path, Decoding::Lossy)?;
        let tokenizer = Tokenizer::new(speller.lang());
        let mut items = Vec::new();
        let mut line = String::new();
        for _ in 0..20_000 {
            if !reader.read_line(&mut line)? {
                break;
            }
            for span in tokenizer.token_spans(&line) {
                let word = &line[span];
                if fivegram_spell::lexicon::is_word(&word.to_lowercase()) {
                    items.push(Item {
                        misspelling: word.to_string(),
                        targets: vec![word.to_lowercase()],
                    });
                }
            }
        }
        if dump.is_some() {
            let mut seen = std::collections::HashSet::new();
            for item in &items {
                if !seen.insert(item.misspelling.as_str()) {
                    continue;
                }
                dump_suggestions(&speller, &item.misspelling, &mut dumped);
            }
        }
        let first = evaluate_isolated(&speller, &items);
        let (cpu, wall) = timed(&speller, &items, 1, k, true);
        let n = items.len() as f64;
        println!(
            "{} (running text, one pass from empty caches): {} words ({} distinct), kept as first suggestion {:.1} %, \
             {:.0} words/CPU-s ({:.0} words/wall-s)",
            path.display(),
            items.len(),
            items
                .iter()
                .map(|i| i.misspelling.as_str())
                .collect::<std::collections::HashSet<_>>()
                .len(),
            first.top1_percent(),
            n / cpu,
            n / wall,
        );
    }
    if let Some(path) = dump {
        // Written next to its place and renamed, so that an interrupted run leaves no half file.
        let partial = path.with_extension("partial");
        std::fs::write(&partial, dumped).map_err(|e| format!("{}: {e}", partial.display()))?;
        std::fs::rename(&partial, &path).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// CPU and wall seconds for `rounds` passes of `suggest(word, 5)` over the items.
/// Appends `word`'s first and first five suggestions (word, score, error) to `out`, one line each.
fn dump_suggestions(speller: &Speller, word: &str, out: &mut String) {
    for k in [1, 5] {
        let line: Vec<String> = speller
            .suggest(word, k)
            .iter()
            .map(|s| format!("{} {:.4} {:.4}", s.word, s.score, s.error))
            .collect();
        out.push_str(&format!("{word}\t{k}\t{}\n", line.join("\t")));
    }
}

fn timed(speller: &Speller, items: &[Item], rounds: usize, k: usize, cold: bool) -> (f64, f64) {
    let start = Instant::now();
    let cpu = thread_cpu_seconds();
    let mut found = 0usize;
    for _ in 0..rounds {
        if cold {
            clear_thread_caches();
        }
        for item in items {
            found += speller.suggest(&item.misspelling, k).len();
        }
    }
    std::hint::black_box(found);
    let wall = start.elapsed().as_secs_f64();
    let cpu = match (cpu, thread_cpu_seconds()) {
        (Some(a), Some(b)) => b - a,
        _ => wall,
    };
    (cpu.max(1e-9), wall.max(1e-9))
}
