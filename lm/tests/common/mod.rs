//! What the tests against KenLM's reference outputs share (`kenlm_query.rs` for the ARPA-backed model,
//! `store_reference.rs` for the store): where the data lives, the reference rows, reading the evaluation texts,
//! scoring them and checking sentence totals and perplexities against KenLM's figures.
//!
//! Data: `FIVEGRAM_MIRROR` (the corpora root) and the reference directory (`FIVEGRAM_REFERENCE`, by default
//! `../shared/reference/kenlm` next to the workspace); without them [`dirs`] prints a note and the tests pass.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use fivegram_corpora::read::{Decoding, TextReader};
use fivegram_lm::model::LanguageModel;
use fivegram_lm::query::{SentenceScore, Summary, score_sentences, split_words};

/// One evaluation text scored with one model, and KenLM's figures for it.
pub struct Case {
    /// Corpus file under the mirror.
    pub text: &'static str,
    /// PTB: the literal `<unk>` was renamed `UNKW` before training and scoring.
    pub rename_unk: bool,
    /// KenLM's per-sentence output under `scores/`, when stored.
    pub totals: Option<&'static str>,
    /// Perplexity including OOVs, excluding OOVs, OOVs, tokens (README table).
    pub perplexity: (f64, f64, u64, u64),
}

/// A model of the reference README and its rows.
pub struct Row {
    /// The ARPA file under the reference directory, or, for `ptb.o5` (not stored), a name for the model that
    /// [`ptb_o5_arpa`] estimates.
    pub model: &'static str,
    /// The texts scored with it.
    pub cases: &'static [Case],
}

const VAL: &str = "multi30k/val.en.gz";
const TEST2016: &str = "multi30k/test_2016_flickr.en.gz";

/// `m30k.en.o5.arpa.gz` on Multi30k val and test 2016.
pub const M30K_O5: Row = Row {
    model: "m30k.en.o5.arpa.gz",
    cases: &[
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
};

/// `m30k.en.o5.prune001.arpa.gz` (`--prune 0 0 1`) on Multi30k val and test 2016.
pub const M30K_O5_PRUNED: Row = Row {
    model: "m30k.en.o5.prune001.arpa.gz",
    cases: &[
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
};

/// `m30k.en.o3.arpa.gz` on Multi30k val and test 2016.
pub const M30K_O3: Row = Row {
    model: "m30k.en.o3.arpa.gz",
    cases: &[
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
};

/// `ptb.o3.arpa.gz` on PTB test and valid (`<unk>` renamed `UNKW`).
pub const PTB_O3: Row = Row {
    model: "ptb.o3.arpa.gz",
    cases: &[
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
};

/// The PTB order-5 row, whose ARPA the reference does not store (95 MB): [`ptb_o5_arpa`] estimates it.
pub const PTB_O5: Row = Row {
    model: "ptb.o5 (estimated)",
    cases: &[
        Case {
            text: "ptb/ptb.test.txt.gz",
            rename_unk: true,
            totals: Some("ptb.o5.test.sentence-totals.txt"),
            perplexity: (141.186207, 141.186207, 0, 82430),
        },
        Case {
            text: "ptb/ptb.valid.txt.gz",
            rename_unk: true,
            totals: None,
            perplexity: (148.007396, 148.007396, 0, 73760),
        },
    ],
};

/// The reference directory, if present.
pub fn reference_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("FIVEGRAM_REFERENCE") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/kenlm"),
    };
    dir.is_dir().then_some(dir)
}

/// The corpora root (`FIVEGRAM_MIRROR`), if set and present.
pub fn mirror_dir() -> Option<PathBuf> {
    std::env::var_os("FIVEGRAM_MIRROR")
        .map(PathBuf::from)
        .filter(|d| d.is_dir())
}

/// Both directories, or a note that `test` is skipped.
pub fn dirs(test: &str) -> Option<(PathBuf, PathBuf)> {
    match (reference_dir(), mirror_dir()) {
        (Some(reference), Some(mirror)) => Some((reference, mirror)),
        _ => {
            eprintln!("{test}: skipped: set FIVEGRAM_MIRROR (corpora) and FIVEGRAM_REFERENCE (KenLM outputs)");
            None
        }
    }
}

/// The lines of a corpus file split into words as `query` does (`<unk>` renamed `UNKW` when asked).
pub fn read_words(path: &Path, rename_unk: bool) -> Vec<Vec<String>> {
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

/// Scores the sentences in lock-step batches ([`score_sentences`]); the scores and their summary.
pub fn score<M: LanguageModel + ?Sized>(model: &M, sentences: &[Vec<String>]) -> (Vec<SentenceScore>, Summary) {
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

/// A `Total: X OOV: N` line of KenLM's `query -v sentence` output.
pub fn parse_total_line(line: &str) -> (f64, u64) {
    let rest = line.strip_prefix("Total: ").unwrap();
    let (total, oov) = rest.split_once(" OOV: ").unwrap();
    (total.parse().unwrap(), oov.parse().unwrap())
}

/// Whether `got` agrees with `reference`, which the README gives with six decimals, to within its last digit.
pub fn same_to_6_decimals(got: f64, reference: f64) -> bool {
    (got - reference).abs() <= 1e-6
}

/// Checks scores of `case` against KenLM's: every sentence total within 1e-4 with equal OOV counts (and, with
/// `identical_lines`, every `Total:` line printed exactly as KenLM's), OOV and token counts, and perplexities to
/// the six decimals the README gives. `what` names the model and text in messages.
pub fn check_case(
    what: &str,
    reference: &Path,
    case: &Case,
    scores: &[SentenceScore],
    summary: &Summary,
    identical_lines: bool,
) {
    if let Some(totals) = case.totals {
        let expected = std::fs::read_to_string(reference.join("scores").join(totals)).unwrap();
        let expected: Vec<&str> = expected.lines().collect();
        assert_eq!(expected.len(), scores.len(), "{what}: sentence count");
        let mut identical = 0;
        for (i, (line, score)) in expected.iter().zip(scores).enumerate() {
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
            } else if identical_lines {
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
        if identical_lines {
            assert_eq!(
                identical,
                scores.len(),
                "{what}: every `Total:` line is printed exactly as KenLM's"
            );
        }
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

/// The ARPA file of `row` under `reference`; for [`PTB_O5`], estimated into `scratch` from PTB train with
/// `<unk>` renamed `UNKW`, as the README describes (`lmplz -o 5`; fivegram's estimator writes the same bytes).
pub fn row_arpa(row: &Row, reference: &Path, mirror: &Path, scratch: &Path) -> PathBuf {
    if row.model == PTB_O5.model {
        ptb_o5_arpa(mirror, scratch)
    } else {
        reference.join(row.model)
    }
}

/// Estimates PTB's order-5 model (see [`row_arpa`]) into `scratch/ptb.o5.arpa`.
pub fn ptb_o5_arpa(mirror: &Path, scratch: &Path) -> PathBuf {
    use fivegram_lm::count::{CountConfig, Tokenizer, count_files};
    use fivegram_lm::estimate::{EstimateConfig, estimate_to_arpa};
    let train = scratch.join("ptb.train.UNKW.txt");
    let text: Vec<String> = read_words(&mirror.join("ptb/ptb.train.txt.gz"), true)
        .into_iter()
        .map(|words| words.join(" ") + "\n")
        .collect();
    std::fs::write(&train, text.concat()).unwrap();
    let counts = count_files(&[train], CountConfig::new(5), Tokenizer::Whitespace, |_| {}).unwrap();
    let arpa = scratch.join("ptb.o5.arpa");
    estimate_to_arpa(counts, &EstimateConfig::default(), &arpa).unwrap();
    arpa
}
