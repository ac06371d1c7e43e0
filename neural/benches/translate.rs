//! Translation throughput of the neural backend: source tokens per second on Multi30k test_2016_flickr en→de,
//! beam 4, batches of 32 sentences, fp32 and int8 graphs, one or two sessions (one intra-op thread each).
//!
//! ```text
//! scripts/install-onnxruntime.sh
//! cargo bench -p fivegram-neural --bench translate
//! ```
//! The model is `fivegram_neural::default_model_dir("en-de")` (or `FIVEGRAM_BENCH_MODEL`), the text
//! `$FIVEGRAM_MIRROR/multi30k/test_2016_flickr.en.gz` (default: `shared/corpora` beside the repository). Without
//! either, or without the ONNX Runtime library, the bench says so and measures nothing. "Elements" in
//! criterion's report are source subword tokens (the tokenizer's pieces, `</s>` not counted).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use fivegram_neural::{Precision, Seq2Seq, Seq2SeqOptions, default_model_dir, runtime};
use fivegram_translate::{TranslateOptions, Translator};

fn test_set() -> Option<Vec<String>> {
    let mirror = std::env::var_os("FIVEGRAM_MIRROR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora"));
    let path = mirror.join("multi30k/test_2016_flickr.en.gz");
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("skipped: {}: {e} (set FIVEGRAM_MIRROR)", path.display());
            return None;
        }
    };
    let lines: Result<Vec<String>, _> = BufReader::new(flate2::read::GzDecoder::new(file)).lines().collect();
    match lines {
        Ok(lines) => Some(lines),
        Err(e) => {
            eprintln!("skipped: {}: {e}", path.display());
            None
        }
    }
}

fn bench(c: &mut Criterion) {
    if let Err(e) = runtime::init(None) {
        eprintln!("skipped: {e}");
        return;
    }
    let dir = std::env::var_os("FIVEGRAM_BENCH_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| default_model_dir("en-de"));
    if !dir.join("model.json").is_file() {
        eprintln!("skipped: no model at {} (set FIVEGRAM_BENCH_MODEL)", dir.display());
        return;
    }
    let Some(sources) = test_set() else { return };
    let options = TranslateOptions {
        nbest: 1,
        beam: Some(4),
        features: false,
    };
    let mut group = c.benchmark_group("translate_test_2016_flickr_beam4_batch32");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    for precision in [Precision::Fp32, Precision::Int8] {
        for sessions in [1, 2] {
            let model = match Seq2Seq::open(
                &dir,
                Seq2SeqOptions {
                    precision,
                    sessions,
                    batch_size: 32,
                    beam: 4,
                    // One model: the weights CTranslate2 converts.
                    ensemble: false,
                    ..Seq2SeqOptions::default()
                },
            ) {
                Ok(model) => model,
                Err(e) => {
                    eprintln!("skipped {precision}: {e}");
                    continue;
                }
            };
            let mut tokens = 0u64;
            for s in &sources {
                match model.source_ids(s) {
                    Ok(ids) => tokens += ids.len() as u64 - 1,
                    Err(e) => {
                        eprintln!("skipped: {e}");
                        return;
                    }
                }
            }
            // One untimed pass: it must work (a failure inside the timed loop would only show as speed).
            if let Err(e) = model.translate_batch(&sources[..sources.len().min(64)], &options) {
                eprintln!("skipped {precision}: {e}");
                continue;
            }
            group.throughput(Throughput::Elements(tokens));
            group.bench_function(format!("{precision}_sessions{sessions}"), |b| {
                b.iter(|| {
                    model
                        .translate_batch(&sources, &options)
                        .map(|out| out.len())
                        .unwrap_or(0)
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
