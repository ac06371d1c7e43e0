//! Scoring sentences in lock-step batches, and the KenLM-style summary, on the toy fixture.

use std::path::Path;

use fivegram_lm::model::{ArpaModel, LanguageModel, WordId};
use fivegram_lm::query::{SentenceScore, Summary, in_thread_pool, score_sentences, split_words};

fn toy(parallel: bool) -> ArpaModel {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/toy3.arpa");
    ArpaModel::open(path).unwrap().with_parallel(parallel)
}

fn ids(model: &ArpaModel, line: &str) -> Vec<WordId> {
    split_words(line).map(|w| model.word_id(w)).collect()
}

#[test]
fn hand_computed_sentences() {
    let model = toy(false);
    let sentences: Vec<Vec<WordId>> = ["a b a", "c b x", "", "a c"].iter().map(|l| ids(&model, l)).collect();
    let mut scores = Vec::new();
    score_sentences(&model, &sentences, &mut scores);
    let expected = [
        (-0.4 - 0.2 - 0.35 - 1.3, 0, 4), // see model_contract.rs for each word
        (-1.7 - 0.9 - 2.2 - 1.0, 1, 4),  // x is an OOV
        (-1.0 - 0.5, 0, 1),              // just </s> after <s>: p(</s>) + backoff(<s>)
        (-0.4 - 0.5 - 1.1, 0, 3),
    ];
    for (score, (total, oov, tokens)) in scores.iter().zip(expected) {
        assert!((score.total - total).abs() < 1e-5, "{} != {total}", score.total);
        assert_eq!((score.oov, score.tokens), (oov, tokens));
    }
    assert_eq!(scores[1].oov_log10.len(), 1);
    assert!((scores[1].oov_log10[0] - -2.2).abs() < 1e-6);

    let mut summary = Summary::default();
    scores.iter().for_each(|s| summary.add(s));
    assert_eq!((summary.oov, summary.tokens, summary.sentences), (1, 12, 4));
    let total: f64 = scores.iter().map(|s| f64::from(s.total)).sum();
    let ppl = 10f64.powf(-total / 12.0);
    assert!((summary.perplexity_including_oovs() - ppl).abs() < 1e-9);
    let ppl_excl = 10f64.powf(-(total - f64::from(scores[1].oov_log10[0])) / 11.0);
    assert!((summary.perplexity_excluding_oovs() - ppl_excl).abs() < 1e-9);
    let lines = summary.kenlm_lines();
    assert!(lines.starts_with("Perplexity including OOVs:\t"), "{lines}");
    assert!(lines.ends_with("OOVs:\t1\nTokens:\t12\n"), "{lines}");
}

#[test]
fn lock_step_batches_equal_sentence_by_sentence() {
    // Sentences of mixed lengths, so that some finish while others go on; enough of them for parallel batches.
    let words = ["a", "b", "c", "</s>", "<s>", "zz", "<unk>"];
    let mut seed = 7u64;
    let sentences: Vec<Vec<&str>> = (0..3000)
        .map(|_| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let len = (seed >> 33) as usize % 9;
            (0..len)
                .map(|i| words[((seed >> (i * 3 + 5)) as usize) % words.len()])
                .collect()
        })
        .collect();
    // One thread scores all sentences in one lock-step; three split them into three parts, each its own lock-step.
    for (parallel, threads) in [(false, 1), (true, 1), (false, 3), (true, 3)] {
        let model = toy(parallel);
        let sentences: Vec<Vec<WordId>> = sentences
            .iter()
            .map(|s| s.iter().map(|w| model.word_id(w)).collect())
            .collect();
        let mut scores: Vec<SentenceScore> = vec![SentenceScore::default(); 5];
        in_thread_pool(Some(threads), || score_sentences(&model, &sentences, &mut scores)).unwrap();
        assert_eq!(scores.len(), sentences.len());
        for (sentence, score) in sentences.iter().zip(&scores) {
            assert_eq!(score.total, model.score_sentence(sentence, true, true));
            assert_eq!(score.tokens, sentence.len() as u64 + 1);
            let oov = sentence.iter().filter(|&&w| w == model.unk_id()).count() as u64;
            assert_eq!(score.oov, oov, "zz and a literal <unk> are both OOVs, as in KenLM");
        }
    }
}

#[test]
fn no_sentences() {
    let model = toy(true);
    let mut scores = vec![SentenceScore::default()];
    score_sentences(&model, &Vec::<Vec<WordId>>::new(), &mut scores);
    assert!(scores.is_empty());
    assert!(Summary::default().perplexity_including_oovs().is_nan());
}
