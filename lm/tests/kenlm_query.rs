//! The ARPA-backed model against KenLM's own scores: KenLM's ARPA files loaded into [`ArpaModel`], the
//! evaluation texts scored, every sentence total compared with KenLM's `query -v sentence` output and the
//! perplexities with `query -v summary` (the rows of shared/reference/kenlm/README.md whose ARPA is stored).
//! Totals must agree within 1e-4 and in fact print identically (same `f32` sums, same digits); perplexities,
//! OOV and token counts must match the README's figures to the last of the six decimals it gives.
//!
//! Needs `FIVEGRAM_MIRROR` (the corpora root) and the reference directory (`FIVEGRAM_REFERENCE`, by default
//! `../shared/reference/kenlm` next to the workspace); without them each test prints a note and passes.

use std::path::{Path, PathBuf};

use fivegram_corpora::read::{Decoding, TextReader};
use fivegram_lm::model::{ArpaModel, LanguageModel, WordId};
use fivegram_lm::query::{SentenceScore, Summary, score_sentences, split_words};

/// One evaluation text scored with one model, and KenLM's figures for it.
struct Case {
    /// Corpus file under the mirror.
    text: &'static str,
    /// PTB: the literal `<unk>` was renamed `UNKW` before training and scoring.
    rename_unk: bool,
    /// KenLM's per-sentence output under `scores/`, when stored.
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

fn mirror_dir() -> Option<PathBuf> {
    std::env::var_os("FIVEGRAM_MIRROR")
        .map(PathBuf::from)
        .filter(|d| d.is_dir())
}

fn dirs(test: &str) -> Option<(PathBuf, PathBuf)> {
    match (reference_dir(), mirror_dir()) {
        (Some(reference), Some(mirror)) => Some((reference, mirror)),
        _ => {
            eprintln!("{test}: skipped: set FIVEGRAM_MIRROR (corpora) and FIVEGRAM_REFERENCE (KenLM outputs)");
            None
        }
    }
}

fn read_sentences(model: &ArpaModel, path: &Path, rename_unk: bool) -> Vec<Vec<WordId>> {
    let mut reader = TextReader::open(path, Decoding::Strict).unwrap();
    let mut line = String::new();
    let mut sentences = Vec::new();
    while reader.read_line(&mut line).unwrap() {
        if rename_unk {
            line = line.replace("<unk>", "UNKW");
        }
        sentences.push(split_words(&line).map(|w| model.word_id(w)).collect());
    }
    sentences
}

/// Whether `got` agrees with `reference`, which the README gives with six decimals, to within its last digit.
fn same_to_6_decimals(got: f64, reference: f64) -> bool {
    (got - reference).abs() <= 1e-6
}

fn check(model_file: &str, cases: &[Case]) {
    let Some((reference, mirror)) = dirs(model_file) else {
        return;
    };
    let model = ArpaModel::open(reference.join(model_file)).unwrap();
    for case in cases {
        let sentences = read_sentences(&model, &mirror.join(case.text), case.rename_unk);
        let mut scores: Vec<SentenceScore> = Vec::new();
        score_sentences(&model, &sentences, &mut scores);
        let mut summary = Summary::default();
        for score in &scores {
            summary.add(score);
        }
        let what = format!("{model_file} on {}", case.text);
        if let Some(totals) = case.totals {
            let expected = std::fs::read_to_string(reference.join("scores").join(totals)).unwrap();
            let expected: Vec<&str> = expected.lines().collect();
            assert_eq!(expected.len(), scores.len(), "{what}: sentence count");
            let mut identical = 0;
            for (i, (line, score)) in expected.iter().zip(&scores).enumerate() {
                let (total, oov) = parse_total_line(line);
                assert!(
                    (f64::from(score.total) - total).abs() <= 1e-4,
                    "{what}, sentence {}: total {} but KenLM says {total}",
                    i + 1,
                    score.total
                );
                assert_eq!(score.oov, oov, "{what}, sentence {}: OOVs", i + 1);
                if score.kenlm_line() == *line {
                    identical += 1;
                } else {
                    eprintln!(
                        "{what}, sentence {}: {:?} vs KenLM's {line:?}",
                        i + 1,
                        score.kenlm_line()
                    );
                }
            }
            eprintln!(
                "{what}: {identical} of {} total lines identical to KenLM's",
                scores.len()
            );
            assert_eq!(
                identical,
                scores.len(),
                "{what}: every `Total:` line is printed exactly as KenLM's"
            );
        }
        let (incl, excl, oov, tokens) = case.perplexity;
        assert_eq!((summary.oov, summary.tokens), (oov, tokens), "{what}: OOVs and tokens");
        let got = (summary.perplexity_including_oovs(), summary.perplexity_excluding_oovs());
        assert!(
            same_to_6_decimals(got.0, incl),
            "{what}: perplexity including OOVs {} != {incl}",
            got.0
        );
        assert!(
            same_to_6_decimals(got.1, excl),
            "{what}: perplexity excluding OOVs {} != {excl}",
            got.1
        );
        eprintln!("{what}: perplexity {} / {} (KenLM {incl} / {excl})", got.0, got.1);
    }
}

fn parse_total_line(line: &str) -> (f64, u64) {
    let rest = line.strip_prefix("Total: ").unwrap();
    let (total, oov) = rest.split_once(" OOV: ").unwrap();
    (total.parse().unwrap(), oov.parse().unwrap())
}

const VAL: &str = "multi30k/val.en.gz";
const TEST2016: &str = "multi30k/test_2016_flickr.en.gz";

#[test]
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
