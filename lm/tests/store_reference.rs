//! The store against KenLM's reference outputs (shared/reference/kenlm): KenLM's ARPA files built into stores
//! with 1, 2, 7 and 64 shards, unquantized and at 8 bits, the evaluation texts scored through the store.
//!
//! - Unquantized: every sentence total within 1e-4 of KenLM's `query -v sentence` output, perplexities equal
//!   to KenLM's to 4 significant digits (in fact to the 6 decimals the README gives), OOV and token counts
//!   equal; and every word's score, n-gram length and state bit-identical to [`ArpaModel`]'s.
//! - Every shard count gives bit-identical totals.
//! - 8 bits: perplexity within 0.5% of the unquantized store's.
//!
//! Needs `FIVEGRAM_MIRROR` (the corpora root) and the reference directory (`FIVEGRAM_REFERENCE`, by default
//! `../shared/reference/kenlm` next to the workspace); without them each test prints a note and passes. Slow in
//! debug builds, so `#[ignore]`d: `cargo test --release -p fivegram-lm --test store_reference -- --ignored`.

use std::path::{Path, PathBuf};

use fivegram_corpora::read::{Decoding, TextReader};
use fivegram_lm::model::{ArpaModel, LanguageModel, Scored};
use fivegram_lm::query::{SentenceScore, Summary, score_sentences, split_words};
use fivegram_lm::store::build::{BuildOptions, build_from_arpa};
use fivegram_lm::store::{MappedFile, Store};

struct Case {
    text: &'static str,
    rename_unk: bool,
    totals: Option<&'static str>,
    /// Perplexity including OOVs, excluding OOVs, OOVs, tokens (README table).
    perplexity: (f64, f64, u64, u64),
}

fn reference_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("FIVEGRAM_REFERENCE") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/kenlm"),
    };
    dir.is_dir().then_some(dir)
}

fn dirs(test: &str) -> Option<(PathBuf, PathBuf)> {
    let mirror = std::env::var_os("FIVEGRAM_MIRROR")
        .map(PathBuf::from)
        .filter(|d| d.is_dir());
    match (reference_dir(), mirror) {
        (Some(reference), Some(mirror)) => Some((reference, mirror)),
        _ => {
            eprintln!("{test}: skipped: set FIVEGRAM_MIRROR (corpora) and FIVEGRAM_REFERENCE (KenLM outputs)");
            None
        }
    }
}

fn read_lines(path: &Path, rename_unk: bool) -> Vec<Vec<String>> {
    let mut reader = TextReader::open(path, Decoding::Strict).unwrap();
    let mut line = String::new();
    let mut sentences = Vec::new();
    while reader.read_line(&mut line).unwrap() {
        if rename_unk {
            line = line.replace("<unk>", "UNKW");
        }
        sentences.push(split_words(&line).map(str::to_string).collect());
    }
    sentences
}

fn score<M: LanguageModel>(model: &M, sentences: &[Vec<String>]) -> (Vec<SentenceScore>, Summary) {
    let ids: Vec<Vec<u32>> = sentences
        .iter()
        .map(|s| s.iter().map(|w| model.word_id(w)).collect())
        .collect();
    let mut scores = Vec::new();
    score_sentences(model, &ids, &mut scores);
    let mut summary = Summary::default();
    for s in &scores {
        summary.add(s);
    }
    (scores, summary)
}

fn build(arpa: &Path, shards: u32, quantize: u32) -> (tempfile::TempDir, Store<MappedFile>) {
    let dir = tempfile::tempdir().unwrap();
    let options = BuildOptions {
        shards,
        quantize,
        ..BuildOptions::default()
    };
    build_from_arpa(arpa, dir.path(), &options).unwrap();
    let store = Store::open(dir.path()).unwrap();
    (dir, store)
}

/// Each word of each sentence scored by both models: bit-identical log10, equal n-gram lengths and equal
/// states (compared as words, since the two number words differently).
fn compare_steps(reference: &ArpaModel, store: &Store<MappedFile>, sentences: &[Vec<String>]) {
    let mut store_words = vec![String::new(); store.vocab_size()];
    for id in 0..reference.vocab_size() as u32 {
        let w = reference.word(id).unwrap();
        store_words[store.word_id(w) as usize] = w.to_string();
    }
    for sentence in sentences {
        let (mut rs, mut ss) = (reference.begin_sentence_state(), store.begin_sentence_state());
        for word in sentence.iter().map(String::as_str).chain(["</s>"]) {
            let r: Scored = reference.score(&rs, reference.word_id(word));
            let s: Scored = store.score(&ss, store.word_id(word));
            assert_eq!(
                r.log10.to_bits(),
                s.log10.to_bits(),
                "{sentence:?} at {word}: {} vs {}",
                r.log10,
                s.log10
            );
            assert_eq!(r.ngram_length, s.ngram_length, "{sentence:?} at {word}");
            let rw: Vec<&str> = r.state.words().iter().map(|&i| reference.word(i).unwrap()).collect();
            let sw: Vec<&str> = s
                .state
                .words()
                .iter()
                .map(|&i| store_words[i as usize].as_str())
                .collect();
            assert_eq!(rw, sw, "{sentence:?} at {word}: states");
            (rs, ss) = (r.state, s.state);
        }
    }
}

fn check(model_file: &str, cases: &[Case]) {
    let Some((reference, mirror)) = dirs(model_file) else {
        return;
    };
    let arpa = reference.join(model_file);
    let arpa_model = ArpaModel::open(&arpa).unwrap();
    let texts: Vec<Vec<Vec<String>>> = cases
        .iter()
        .map(|c| read_lines(&mirror.join(c.text), c.rename_unk))
        .collect();
    let mut first_totals: Option<Vec<Vec<u32>>> = None;
    let mut unquantized_perplexity = Vec::new();
    for shards in [1, 2, 7, 64] {
        let (_dir, store) = build(&arpa, shards, 0);
        let mut totals = Vec::new();
        for (case, sentences) in cases.iter().zip(&texts) {
            let what = format!("{model_file} on {}, {shards} shards", case.text);
            if shards == 1 {
                compare_steps(&arpa_model, &store, sentences);
            }
            let (scores, summary) = score(&store, sentences);
            if let Some(file) = case.totals {
                let expected = std::fs::read_to_string(reference.join("scores").join(file)).unwrap();
                let expected: Vec<&str> = expected.lines().collect();
                assert_eq!(expected.len(), scores.len(), "{what}: sentence count");
                for (i, (line, score)) in expected.iter().zip(&scores).enumerate() {
                    let rest = line.strip_prefix("Total: ").unwrap();
                    let (total, oov) = rest.split_once(" OOV: ").unwrap();
                    let total: f64 = total.parse().unwrap();
                    assert!(
                        (f64::from(score.total) - total).abs() <= 1e-4,
                        "{what}, sentence {}: {} vs KenLM {total}",
                        i + 1,
                        score.total
                    );
                    assert_eq!(score.oov, oov.parse::<u64>().unwrap(), "{what}, sentence {}", i + 1);
                }
            }
            let (incl, excl, oov, tokens) = case.perplexity;
            assert_eq!((summary.oov, summary.tokens), (oov, tokens), "{what}");
            let got = (summary.perplexity_including_oovs(), summary.perplexity_excluding_oovs());
            assert!(
                (got.0 - incl).abs() <= 1e-6,
                "{what}: perplexity {} vs KenLM {incl}",
                got.0
            );
            assert!(
                (got.1 - excl).abs() <= 1e-6,
                "{what}: perplexity excluding OOVs {} vs KenLM {excl}",
                got.1
            );
            totals.push(scores.iter().map(|s| s.total.to_bits()).collect::<Vec<_>>());
            if shards == 1 {
                unquantized_perplexity.push(got.0);
                eprintln!("{what}: perplexity {} / {} (KenLM {incl} / {excl})", got.0, got.1);
            }
        }
        let flat: Vec<Vec<u32>> = totals;
        match &first_totals {
            None => first_totals = Some(flat),
            Some(first) => assert!(first == &flat, "{model_file}: {shards} shards differ from 1 shard"),
        }
    }
    // 8 bits: within 0.5% of the unquantized perplexity, and the same for every shard count.
    let mut quantized_totals: Option<Vec<Vec<u32>>> = None;
    for shards in [1, 7] {
        let (_dir, store) = build(&arpa, shards, 8);
        let mut totals = Vec::new();
        for ((case, sentences), &exact) in cases.iter().zip(&texts).zip(&unquantized_perplexity) {
            let (scores, summary) = score(&store, sentences);
            let got = summary.perplexity_including_oovs();
            let change = (got / exact - 1.0) * 100.0;
            eprintln!(
                "{model_file} on {}, 8 bits, {shards} shards: perplexity {got} ({change:+.3}%)",
                case.text
            );
            assert!(
                change.abs() < 0.5,
                "{model_file} on {}: 8-bit perplexity {got} vs {exact}",
                case.text
            );
            totals.push(scores.iter().map(|s| s.total.to_bits()).collect::<Vec<_>>());
        }
        match &quantized_totals {
            None => quantized_totals = Some(totals),
            Some(first) => assert!(
                first == &totals,
                "{model_file}: 8 bits, {shards} shards differ from 1 shard"
            ),
        }
    }
}

const VAL: &str = "multi30k/val.en.gz";
const TEST2016: &str = "multi30k/test_2016_flickr.en.gz";

#[test]
#[ignore = "slow in debug builds; run with --release -- --ignored"]
fn m30k_o5() {
    check(
        "m30k.en.o5.arpa.gz",
        &[
            Case {
                text: VAL,
                rename_unk: false,
                totals: Some("m30k.en.o5.val.sentence-totals.txt"),
                perplexity: (53.492586, 44.231769, 273, 13181),
            },
            Case {
                text: TEST2016,
                rename_unk: false,
                totals: Some("m30k.en.o5.test2016.sentence-totals.txt"),
                perplexity: (52.647737, 44.558367, 235, 12877),
            },
        ],
    );
}

#[test]
#[ignore = "slow in debug builds; run with --release -- --ignored"]
fn m30k_o5_pruned() {
    check(
        "m30k.en.o5.prune001.arpa.gz",
        &[
            Case {
                text: VAL,
                rename_unk: false,
                totals: Some("m30k.en.o5.prune001.val.sentence-totals.txt"),
                perplexity: (55.019813, 45.626142, 273, 13181),
            },
            Case {
                text: TEST2016,
                rename_unk: false,
                totals: Some("m30k.en.o5.prune001.test2016.sentence-totals.txt"),
                perplexity: (53.956228, 45.786206, 235, 12877),
            },
        ],
    );
}

#[test]
#[ignore = "slow in debug builds; run with --release -- --ignored"]
fn m30k_o3() {
    check(
        "m30k.en.o3.arpa.gz",
        &[
            Case {
                text: VAL,
                rename_unk: false,
                totals: Some("m30k.en.o3.val.sentence-totals.txt"),
                perplexity: (54.898409, 45.433836, 273, 13181),
            },
            Case {
                text: TEST2016,
                rename_unk: false,
                totals: Some("m30k.en.o3.test2016.sentence-totals.txt"),
                perplexity: (53.953245, 45.685093, 235, 12877),
            },
        ],
    );
}

#[test]
#[ignore = "slow in debug builds; run with --release -- --ignored"]
fn ptb_o3() {
    check(
        "ptb.o3.arpa.gz",
        &[
            Case {
                text: "ptb/ptb.test.txt.gz",
                rename_unk: true,
                totals: Some("ptb.o3.test.sentence-totals.txt"),
                perplexity: (148.281499, 148.281499, 0, 82430),
            },
            Case {
                text: "ptb/ptb.valid.txt.gz",
                rename_unk: true,
                totals: None,
                perplexity: (157.765255, 157.765255, 0, 73760),
            },
        ],
    );
}
