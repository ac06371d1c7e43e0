//! Counting and estimation on a small corpus: order-5 counting (in memory and spilling sorted runs), and
//! modified Kneser-Ney estimation to an ARPA file in memory and streamed through disk.
//!
//! Data (nothing is downloaded): Multi30k `train.en` (29,000 sentences, 345,020 whitespace tokens) from
//! `$FIVEGRAM_MIRROR/multi30k/train.en.gz` when `FIVEGRAM_MIRROR` is set, else 30,000 generated sentences of
//! about the same shape (5 to 24 words; each word drawn from a Zipf distribution over 20,000 words that depends on
//! the word before it, so that n-grams repeat as in real text; seeded, the same every run).
//!
//! Benchmarks (throughput in tokens):
//! - `count/memory`: order-5 counting with a 1 GiB budget (no run spilled);
//! - `count/spill`: the same with a 1 MiB budget (sorted runs spilled to the temporary directory and merged);
//! - `estimate/in-memory`, `estimate/streamed`: the counts to an ARPA file with [`Strategy::InMemory`] and
//!   [`Strategy::Streamed`] (both write the same bytes); the counting is set-up, not timed.
//!
//! `cargo bench -p fivegram-lm --bench estimate`

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use fivegram_corpora::read::{Decoding, TextReader};
use fivegram_lm::count::{CountConfig, Counter, FullCounts, MIN_MEMORY, whitespace_tokens};
use fivegram_lm::estimate::{Discount, EstimateConfig, Strategy, estimate_to_arpa_with};

const ORDER: usize = 5;

fn multi30k() -> Option<Vec<String>> {
    let mirror = std::env::var_os("FIVEGRAM_MIRROR").map(PathBuf::from)?;
    let path = mirror.join("multi30k/train.en.gz");
    let mut reader = TextReader::open(&path, Decoding::Strict).ok()?;
    let mut lines = Vec::new();
    let mut line = String::new();
    while reader.read_line(&mut line).ok()? {
        lines.push(line.clone());
    }
    Some(lines)
}

/// 30,000 sentences over 20,000 words: word i+1 is drawn from a Zipf(1) distribution over offsets from a
/// position that depends on word i.
fn generated() -> Vec<String> {
    const VOCAB: u64 = 20_000;
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut cumulative = Vec::with_capacity(VOCAB as usize);
    let mut total = 0.0f64;
    for r in 1..=VOCAB {
        total += 1.0 / r as f64;
        cumulative.push(total);
    }
    let zipf = |u: u64| {
        let x = (u >> 11) as f64 / (1u64 << 53) as f64 * total;
        cumulative.partition_point(|&c| c < x) as u64
    };
    (0..30_000)
        .map(|_| {
            let len = 5 + next() % 20;
            let mut prev = 0u64;
            let mut words = Vec::with_capacity(len as usize);
            for _ in 0..len {
                let w = (prev.wrapping_mul(7919) + zipf(next())) % VOCAB;
                words.push(format!("w{w}"));
                prev = w;
            }
            words.join(" ")
        })
        .collect()
}

fn count(lines: &[String], memory: u64) -> FullCounts {
    let mut config = CountConfig::new(ORDER);
    config.memory = memory;
    let mut counter = Counter::new(config).unwrap();
    for (i, line) in lines.iter().enumerate() {
        counter
            .add_sentence(whitespace_tokens(line), Path::new("bench"), i as u64 + 1)
            .unwrap();
    }
    counter.finish().unwrap()
}

fn bench(c: &mut Criterion) {
    let (lines, source) = match multi30k() {
        Some(l) => (l, "Multi30k train.en"),
        None => (generated(), "generated text"),
    };
    let tokens: u64 = lines.iter().map(|l| whitespace_tokens(l).count() as u64).sum();
    let probe = count(&lines, MIN_MEMORY);
    eprintln!(
        "estimate bench: {source}, {} sentences, {tokens} tokens, {} runs spilled at 1 MiB",
        lines.len(),
        probe.runs()
    );
    drop(probe);

    let mut group = c.benchmark_group("count");
    group.throughput(Throughput::Elements(tokens));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("memory", |b| b.iter(|| count(&lines, 1 << 30)));
    group.bench_function("spill", |b| b.iter(|| count(&lines, MIN_MEMORY)));
    group.finish();

    let temp = tempfile::tempdir().unwrap();
    let out = temp.path().join("bench.arpa");
    // Generated text can make a closed-form discount fall out of range: lmplz's fallback then, as with
    // --discount_fallback.
    let config = EstimateConfig {
        discount_fallback: Some(Discount::FALLBACK),
        ..EstimateConfig::default()
    };
    let mut group = c.benchmark_group("estimate");
    group.throughput(Throughput::Elements(tokens));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(15));
    for (name, strategy) in [("in-memory", Strategy::InMemory), ("streamed", Strategy::Streamed)] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || count(&lines, 1 << 30),
                |counts| estimate_to_arpa_with(counts, &config, &out, strategy).unwrap(),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
