//! Batched scoring through the store, against the ARPA-backed reference model on the same text.
//!
//! Data (nothing is downloaded; without data the benchmarks print a note and do nothing):
//! - `FIVEGRAM_BENCH_MODEL=DIR` and `FIVEGRAM_BENCH_TEXT=FILE`: a model directory written by `fivegram build`
//!   and a text file tokenized as the model was (one sentence per line), e.g. the Gutenberg 5-gram model and
//!   the dev text (see BENCHMARKS.md). The ARPA reference is skipped for such models.
//! - otherwise KenLM's Multi30k 5-gram (`$FIVEGRAM_REFERENCE/m30k.en.o5.arpa.gz`, by default
//!   `../shared/reference/kenlm`) is built into two temporary stores (8 bits, 1 shard), one in each layout
//!   (`store/*`: trie, `store_hashed/*`: hashed), and scored on `$FIVEGRAM_MIRROR/multi30k/val.en.gz`.
//!
//! Benchmarks (throughput in words, `</s>` included):
//! - `lockstep/*`: every sentence scored in lock step, position by position, one `score_batch` call per
//!   position over all sentences (what `fivegram query` does), one thread (`with_parallel(false)`) and two;
//! - `sequential`: one sentence after another, one `score` call per word;
//! - `decoder`: 64 states × 512 candidate words in one batch, as a decoder scores the expansions of its
//!   hypotheses (seeded);
//! - `arpa/*`: the same on [`ArpaModel`] (hash tables, the reference implementation).
//!
//! `cargo bench -p fivegram-lm --bench store`

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fivegram_corpora::read::{Decoding, TextReader};
use fivegram_lm::model::{ArpaModel, LanguageModel, Scored, State, WordId};
use fivegram_lm::query::split_words;
use fivegram_lm::store::build::{BuildOptions, build_from_arpa};
use fivegram_lm::store::{Layout, MappedFile, Store};

struct Data {
    store_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    /// The same model in the hashed layout (built here only for the default data).
    hashed: Option<tempfile::TempDir>,
    arpa: Option<PathBuf>,
    lines: Vec<String>,
}

/// The data to run on: `Ok(None)` when none is configured, `Err` when what is configured cannot be read.
fn data() -> Result<Option<Data>, String> {
    if let (Some(model), Some(text)) = (
        std::env::var_os("FIVEGRAM_BENCH_MODEL"),
        std::env::var_os("FIVEGRAM_BENCH_TEXT"),
    ) {
        let what = |e: std::io::Error| format!("FIVEGRAM_BENCH_TEXT {}: {e}", Path::new(&text).display());
        let file = std::fs::File::open(&text).map_err(what)?;
        let lines = std::io::BufReader::new(file)
            .lines()
            .collect::<Result<Vec<String>, _>>()
            .map_err(what)?;
        return Ok(Some(Data {
            store_dir: PathBuf::from(model),
            _temp: None,
            hashed: None,
            arpa: None,
            lines,
        }));
    }
    let reference = std::env::var_os("FIVEGRAM_REFERENCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/kenlm"));
    let arpa = reference.join("m30k.en.o5.arpa.gz");
    let Some(mirror) = std::env::var_os("FIVEGRAM_MIRROR").map(PathBuf::from) else {
        return Ok(None);
    };
    let text = mirror.join("multi30k/val.en.gz");
    if !arpa.is_file() || !text.is_file() {
        return Ok(None);
    }
    let temp = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let options = BuildOptions {
        shards: 1,
        quantize: 8,
        ..BuildOptions::default()
    };
    build_from_arpa(&arpa, temp.path(), &options).map_err(|e| e.to_string())?;
    let hashed = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let hashed_options = BuildOptions {
        layout: Layout::Hashed,
        ..options
    };
    build_from_arpa(&arpa, hashed.path(), &hashed_options).map_err(|e| e.to_string())?;
    let mut reader = TextReader::open(&text, Decoding::Strict).map_err(|e| e.to_string())?;
    let mut lines = Vec::new();
    let mut line = String::new();
    while reader.read_line(&mut line).map_err(|e| e.to_string())? {
        lines.push(line.clone());
    }
    Ok(Some(Data {
        store_dir: temp.path().to_path_buf(),
        _temp: Some(temp),
        hashed: Some(hashed),
        arpa: Some(arpa),
        lines,
    }))
}

/// Scores every sentence in lock step; returns the sum of the log10 probabilities.
fn lockstep<M: LanguageModel>(model: &M, sentences: &[Vec<WordId>]) -> f64 {
    let mut states = vec![model.begin_sentence_state(); sentences.len()];
    let (mut queries, mut who, mut out): (Vec<(State, WordId)>, Vec<usize>, Vec<Scored>) =
        (Vec::new(), Vec::new(), Vec::new());
    let longest = sentences.iter().map(Vec::len).max().unwrap_or(0);
    let mut total = 0.0;
    for pos in 0..=longest {
        queries.clear();
        who.clear();
        for (i, s) in sentences.iter().enumerate() {
            let word = match pos.cmp(&s.len()) {
                std::cmp::Ordering::Less => s[pos],
                std::cmp::Ordering::Equal => model.eos_id(),
                std::cmp::Ordering::Greater => continue,
            };
            queries.push((states[i], word));
            who.push(i);
        }
        model.score_batch(&queries, &mut out);
        for (k, &i) in who.iter().enumerate() {
            states[i] = out[k].state;
            total += f64::from(out[k].log10);
        }
    }
    total
}

fn sequential<M: LanguageModel>(model: &M, sentences: &[Vec<WordId>]) -> f64 {
    sentences
        .iter()
        .map(|s| f64::from(model.score_sentence(s, true, true)))
        .sum()
}

/// 64 states reached on the text, each with 512 candidate words: one batch.
fn decoder_batch<M: LanguageModel>(model: &M, sentences: &[Vec<WordId>]) -> Vec<(State, WordId)> {
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut queries = Vec::new();
    for _ in 0..64 {
        let s = &sentences[next() as usize % sentences.len()];
        let mut state = model.begin_sentence_state();
        for &w in &s[..(next() as usize % (s.len() + 1))] {
            state = model.score(&state, w).state;
        }
        for _ in 0..512 {
            let w = s
                .get(next() as usize % s.len().max(1))
                .copied()
                .unwrap_or(model.eos_id());
            let w = if next() % 2 == 0 {
                w
            } else {
                (next() % model.vocab_size() as u64) as WordId
            };
            queries.push((state, w));
        }
    }
    queries
}

fn bench_model<M: LanguageModel>(
    c: &mut Criterion,
    name: &str,
    model: &M,
    parallel: Option<&M>,
    sentences: &[Vec<WordId>],
) {
    let words: usize = sentences.iter().map(|s| s.len() + 1).sum();
    let mut group = c.benchmark_group(name);
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(words as u64));
    group.bench_function("lockstep/1_thread", |b| b.iter(|| lockstep(model, sentences)));
    if let Some(parallel) = parallel {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        group.bench_function("lockstep/2_threads", |b| {
            b.iter(|| pool.install(|| lockstep(parallel, sentences)))
        });
    }
    group.bench_function("sequential", |b| b.iter(|| sequential(model, sentences)));
    let queries = decoder_batch(model, sentences);
    group.throughput(Throughput::Elements(queries.len() as u64));
    let mut out = Vec::new();
    group.bench_function("decoder", |b| b.iter(|| model.score_batch(&queries, &mut out)));
    group.finish();
}

fn benches(c: &mut Criterion) {
    let data = match data() {
        Ok(Some(data)) => data,
        Ok(None) => {
            eprintln!(
                "store bench: no data; set FIVEGRAM_MIRROR (and FIVEGRAM_REFERENCE), or FIVEGRAM_BENCH_MODEL and \
                 FIVEGRAM_BENCH_TEXT"
            );
            return;
        }
        Err(e) => {
            eprintln!("store bench: {e}");
            return;
        }
    };
    let (store, parallel): (Store<MappedFile>, Store<MappedFile>) =
        match (Store::open(&data.store_dir), Store::open(&data.store_dir)) {
            (Ok(store), Ok(parallel)) => (store.with_parallel(false), parallel),
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("store bench: {e}");
                return;
            }
        };
    let ids = |model: &dyn LanguageModel| -> Vec<Vec<WordId>> {
        data.lines
            .iter()
            .map(|l| split_words(l).map(|w| model.word_id(w)).collect())
            .collect()
    };
    let sentences = ids(&store);
    bench_model(c, "store", &store, Some(&parallel), &sentences);
    if let Some(dir) = &data.hashed {
        match (Store::open(dir.path()), Store::open(dir.path())) {
            (Ok(store), Ok(parallel)) => {
                let store = store.with_parallel(false);
                let sentences = ids(&store);
                bench_model(c, "store_hashed", &store, Some(&parallel), &sentences);
            }
            (Err(e), _) | (_, Err(e)) => eprintln!("store bench: {e}"),
        }
    }
    if let Some(arpa) = &data.arpa {
        let reference = match ArpaModel::open(arpa) {
            Ok(model) => model.with_parallel(false),
            Err(e) => {
                eprintln!("store bench: {e}");
                return;
            }
        };
        let sentences = ids(&reference);
        bench_model(c, "arpa", &reference, None, &sentences);
    }
}

criterion_group!(store_benches, benches);
criterion_main!(store_benches);
