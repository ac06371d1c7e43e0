//! The store against KenLM's reference outputs (shared/reference/kenlm): KenLM's ARPA files (and the PTB
//! order-5 model, not stored, estimated first) built into stores of both layouts (trie and hashed) with 1, 2, 7
//! and 64 shards, unquantized and at 8 bits, the evaluation texts scored through the store.
//!
//! - Unquantized: every sentence total within 1e-4 of KenLM's `query -v sentence` output, perplexities equal
//!   to KenLM's to 4 significant digits (in fact to the 6 decimals the README gives), OOV and token counts
//!   equal; and every word's score, n-gram length and state bit-identical to [`ArpaModel`]'s.
//! - Every shard count and both layouts give bit-identical totals.
//! - 8 bits: perplexity within 0.5% of the unquantized store's, the same for 1 and 7 shards.
//!
//! Needs `FIVEGRAM_MIRROR` (the corpora root) and the reference directory (`FIVEGRAM_REFERENCE`, by default
//! `../shared/reference/kenlm` next to the workspace); without them each test prints a note and passes. Slow in
//! debug builds, so `#[ignore]`d: `cargo test --release -p fivegram-lm --test store_reference -- --ignored`.
//! The harness is shared with `kenlm_query.rs` (`common/mod.rs`).

mod common;

use std::path::Path;

use common::{M30K_O3, M30K_O5, M30K_O5_PRUNED, PTB_O3, PTB_O5, Row};
use fivegram_lm::model::{ArpaModel, LanguageModel, Scored};
use fivegram_lm::store::build::{BuildOptions, build_from_arpa};
use fivegram_lm::store::{Layout, MappedFile, Store};

fn build(arpa: &Path, shards: u32, quantize: u32, layout: Layout) -> (tempfile::TempDir, Store<MappedFile>) {
    let dir = tempfile::tempdir().unwrap();
    let options = BuildOptions {
        shards,
        quantize,
        layout,
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

fn check(row: &Row) {
    let Some((reference, mirror)) = common::dirs(row.model) else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let arpa = common::row_arpa(row, &reference, &mirror, scratch.path());
    let arpa_model = ArpaModel::open(&arpa).unwrap();
    let texts: Vec<Vec<Vec<String>>> = row
        .cases
        .iter()
        .map(|c| common::read_words(&mirror.join(c.text), c.rename_unk))
        .collect();
    let mut first_totals: Option<Vec<Vec<u32>>> = None;
    let mut unquantized_perplexity = Vec::new();
    let runs = |shards: &'static [u32]| {
        [Layout::Trie, Layout::Hashed]
            .into_iter()
            .flat_map(move |l| shards.iter().map(move |&s| (l, s)))
    };
    for (layout, shards) in runs(&[1, 2, 7, 64]) {
        let (_dir, store) = build(&arpa, shards, 0, layout);
        let mut totals = Vec::new();
        for (case, sentences) in row.cases.iter().zip(&texts) {
            let what = format!("{} on {}, {shards} shards, {}", row.model, case.text, layout.name());
            if shards == 1 {
                compare_steps(&arpa_model, &store, sentences);
            }
            let (scores, summary) = common::score(&store, sentences);
            common::check_case(&what, &reference, case, &scores, &summary, true);
            totals.push(scores.iter().map(|s| s.total.to_bits()).collect::<Vec<_>>());
            if shards == 1 && layout == Layout::Trie {
                unquantized_perplexity.push(summary.perplexity_including_oovs());
            }
        }
        match &first_totals {
            None => first_totals = Some(totals),
            Some(first) => assert!(
                first == &totals,
                "{}: {shards} shards, {} layout, differ from 1 shard, trie",
                row.model,
                layout.name()
            ),
        }
    }
    // 8 bits: within 0.5% of the unquantized perplexity, and the same for every shard count.
    let mut quantized_totals: Option<Vec<Vec<u32>>> = None;
    for (layout, shards) in runs(&[1, 7]) {
        let (_dir, store) = build(&arpa, shards, 8, layout);
        let mut totals = Vec::new();
        for ((case, sentences), &exact) in row.cases.iter().zip(&texts).zip(&unquantized_perplexity) {
            let (scores, summary) = common::score(&store, sentences);
            let got = summary.perplexity_including_oovs();
            let change = (got / exact - 1.0) * 100.0;
            eprintln!(
                "{} on {}, 8 bits, {shards} shards, {}: perplexity {got} ({change:+.3}%)",
                row.model,
                case.text,
                layout.name()
            );
            assert!(
                change.abs() < 0.5,
                "{} on {}: 8-bit perplexity {got} vs {exact}",
                row.model,
                case.text
            );
            totals.push(scores.iter().map(|s| s.total.to_bits()).collect::<Vec<_>>());
        }
        match &quantized_totals {
            None => quantized_totals = Some(totals),
            Some(first) => assert!(
                first == &totals,
                "{}: 8 bits, {shards} shards, {} layout, differ from 1 shard, trie",
                row.model,
                layout.name()
            ),
        }
    }
}

#[test]
#[ignore = "slow in debug builds; run with --release -- --ignored"]
fn m30k_o5() {
    check(&M30K_O5);
}

#[test]
#[ignore = "slow in debug builds; run with --release -- --ignored"]
fn m30k_o5_pruned() {
    check(&M30K_O5_PRUNED);
}

#[test]
#[ignore = "slow in debug builds; run with --release -- --ignored"]
fn m30k_o3() {
    check(&M30K_O3);
}

#[test]
#[ignore = "slow in debug builds; run with --release -- --ignored"]
fn ptb_o3() {
    check(&PTB_O3);
}

#[test]
#[ignore = "slow in debug builds; run with --release -- --ignored"]
fn ptb_o5() {
    check(&PTB_O5);
}
