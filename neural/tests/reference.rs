//! The Rust decoder against the Python reference decoder (neural/train/decode.py) on a trained model:
//! `neural/train/export_model.py` leaves the reference's int8 greedy ids for Multi30k test_2016_flickr in the
//! model directory (`test_2016_flickr.int8_greedy.ids`), and the Rust greedy search must reproduce every line.
//!
//! Ignored by default (it needs the corpus mirror and takes a while in a debug build); CI runs it in release
//! with `-- --ignored`. Models: `fivegram_neural::default_model_dir("en-de")` and `("de-en")`; text:
//! `$FIVEGRAM_MIRROR/multi30k/test_2016_flickr.<src>.gz` (default: `shared/corpora` beside the repository).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use fivegram_neural::{Error, Precision, Seq2Seq, Seq2SeqOptions, default_model_dir, runtime};

fn lines(path: &Path) -> Vec<String> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader: Box<dyn std::io::Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    BufReader::new(reader).lines().map(|l| l.unwrap()).collect()
}

#[test]
#[ignore = "needs a trained model and the corpus mirror; CI runs it in release with --ignored"]
fn rust_greedy_reproduces_the_python_reference_decoder() {
    match runtime::init(None) {
        Ok(_) => {}
        Err(Error::RuntimeNotFound { path }) => {
            eprintln!(
                "skipped: run scripts/install-onnxruntime.sh (no ONNX Runtime at {})",
                path.display()
            );
            return;
        }
        Err(e) => panic!("{e}"),
    }
    let mirror = std::env::var_os("FIVEGRAM_MIRROR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora"));
    let mut checked = 0;
    for pair in ["en-de", "de-en"] {
        let dir = std::env::var_os("FIVEGRAM_REFERENCE_MODEL")
            .map(PathBuf::from)
            .filter(|_| pair == "en-de")
            .unwrap_or_else(|| default_model_dir(pair));
        let reference = dir.join("test_2016_flickr.int8_greedy.ids");
        if !reference.is_file() {
            eprintln!("skipped {pair}: no {}", reference.display());
            continue;
        }
        let options = Seq2SeqOptions {
            precision: Precision::Int8,
            batch_size: 32,
            // The reference decoder runs the model alone, whatever ensemble its model.json names.
            ensemble: false,
            ..Seq2SeqOptions::default()
        };
        let model = Seq2Seq::open(&dir, options).unwrap();
        let src_lang = model.config().src_lang.clone().unwrap();
        let source = mirror.join(format!("multi30k/test_2016_flickr.{src_lang}.gz"));
        if !source.is_file() {
            eprintln!("skipped {pair}: no {} (set FIVEGRAM_MIRROR)", source.display());
            continue;
        }
        let texts = lines(&source);
        let expected: Vec<Vec<u32>> = lines(&reference)
            .iter()
            .map(|l| l.split_whitespace().map(|t| t.parse().unwrap()).collect())
            .collect();
        assert_eq!(texts.len(), expected.len(), "{}", reference.display());
        let sources: Vec<Vec<u32>> = texts.iter().map(|t| model.source_ids(t).unwrap()).collect();
        let got = model.generate(&sources, 1, 1).unwrap();
        let mismatches: Vec<usize> = (0..texts.len()).filter(|&i| got[i][0].ids != expected[i]).collect();
        if let Some(&i) = mismatches.first() {
            panic!(
                "{pair}: {} of {} lines differ from the Python reference; line {}: {:?} vs {:?}",
                mismatches.len(),
                texts.len(),
                i + 1,
                got[i][0].ids,
                expected[i]
            );
        }
        eprintln!(
            "{pair}: {} lines identical to the Python reference decoder",
            texts.len()
        );
        checked += 1;
    }
    eprintln!("{checked} model(s) checked");
}
