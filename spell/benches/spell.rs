//! The spelling corrector's speed on real data, one thread, model already open.
//!
//! Data (nothing is downloaded; without data the benchmarks print a note and do nothing):
//! - the model: `FIVEGRAM_BENCH_SPELL_MODEL=DIR`, else the default English model
//!   ([`fivegram_spell::model::default_model_dir`], built by `scripts/build-spell-model.sh`);
//! - `$FIVEGRAM_MIRROR/spelling/{spell-testset1.txt,spell-testset2.txt,aspell.dat}` (misspelling lists, read with
//!   the evaluation protocol of [`fivegram_spell::eval::read_items`]) and the first 500 sentences of 5 to 60 words
//!   of `$FIVEGRAM_MIRROR/english/gutenberg-dev.txt.gz`, each with one real-word error injected as
//!   `fivegram spell --eval-context` does ([`fivegram_spell::eval::context_sentences`]).
//!
//! Benchmarks (throughput in words):
//! - `isolated/correction/<list>`: `suggest(word, 1)` on every misspelling of the list, the isolated-word
//!   correction (bar: 100,000 words/s);
//! - `isolated/five/<list>`: `suggest(word, 5)`;
//! - `context/correct`: `correct(sentence)` on the sentences, the language model's context on both sides of every
//!   word (bar: 10,000 words/s).
//!
//! The thread's candidate caches are emptied before every pass, so that every word is ranked afresh (real text
//! repeats its words and would hit them). `cargo bench -p fivegram-spell --bench spell`

use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fivegram_corpora::tokenize::{Lang, Tokenizer};
use fivegram_spell::Speller;
use fivegram_spell::eval::{context_sentences, read_items};
use fivegram_spell::speller::clear_thread_caches;

const LISTS: [&str; 3] = ["spell-testset1.txt", "spell-testset2.txt", "aspell.dat"];
const SENTENCES: usize = 500;

struct Data {
    speller: Speller,
    /// (list name, misspellings).
    lists: Vec<(&'static str, Vec<String>)>,
    sentences: Vec<String>,
}

/// The data to run on: `Ok(None)` when the model or the mirror is missing, `Err` when what is there cannot be read.
fn data() -> Result<Option<Data>, String> {
    let model = match std::env::var_os("FIVEGRAM_BENCH_SPELL_MODEL").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => match fivegram_spell::model::default_model_dir(Lang::En) {
            Some(dir) if dir.is_dir() => dir,
            _ => return Ok(None),
        },
    };
    let Some(mirror) = std::env::var_os("FIVEGRAM_MIRROR").map(PathBuf::from) else {
        return Ok(None);
    };
    let spelling = mirror.join("spelling");
    let dev = mirror.join("english/gutenberg-dev.txt.gz");
    if !dev.is_file() || LISTS.iter().any(|l| !spelling.join(l).is_file()) {
        return Ok(None);
    }
    let speller = Speller::open(&model)
        .map_err(|e| format!("{}: {e}", model.display()))?
        .with_parallel(false);
    let mut lists = Vec::new();
    for name in LISTS {
        let (_, items) = read_items(spelling.join(name)).map_err(|e| e.to_string())?;
        lists.push((name, items.into_iter().map(|item| item.misspelling).collect()));
    }
    Ok(Some(Data {
        speller,
        lists,
        sentences: context_sentences(&dev, Lang::En, SENTENCES)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|i| i.corrupted)
            .collect(),
    }))
}

fn bench(c: &mut Criterion) {
    let data = match data() {
        Ok(Some(data)) => data,
        Ok(None) => {
            eprintln!(
                "spell bench: no data (needs FIVEGRAM_MIRROR with spelling/ and english/, and a model: \
                 FIVEGRAM_BENCH_SPELL_MODEL or scripts/build-spell-model.sh); nothing to measure"
            );
            return;
        }
        Err(e) => panic!("spell bench: {e}"),
    };
    let speller = &data.speller;
    let mut group = c.benchmark_group("isolated");
    group.measurement_time(Duration::from_secs(5));
    group.sample_size(20);
    for (name, words) in &data.lists {
        group.throughput(Throughput::Elements(words.len() as u64));
        for (label, k) in [("correction", 1), ("five", 5)] {
            group.bench_function(format!("{label}/{name}"), |b| {
                b.iter(|| {
                    clear_thread_caches();
                    words.iter().map(|w| speller.suggest(w, k).len()).sum::<usize>()
                })
            });
        }
    }
    group.finish();
    let tokenizer = Tokenizer::new(Lang::En);
    let words: usize = data.sentences.iter().map(|s| tokenizer.token_spans(s).len()).sum();
    let mut group = c.benchmark_group("context");
    group.measurement_time(Duration::from_secs(10));
    group.sample_size(10);
    group.throughput(Throughput::Elements(words as u64));
    group.bench_function("correct", |b| {
        b.iter(|| {
            clear_thread_caches();
            data.sentences
                .iter()
                .map(|s| speller.correct(s).spans.len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
