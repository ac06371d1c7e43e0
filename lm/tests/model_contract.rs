//! The contract every [`LanguageModel`] keeps, written once and run for each backend.
//!
//! A backend joins by adding one `contract_tests!(name, expression building the model from
//! tests/fixtures/toy3.arpa)` line at the bottom. The checks are:
//! - scores, matched lengths and states on toy3.arpa against values computed by hand from the file (comments
//!   show the arithmetic);
//! - `score_batch` equals `score` one by one, on small and on large (parallel) batches;
//! - equal states have equal futures: for every history of up to 4 words, the minimised state scores each next
//!   word (log10, n-gram length, successor state) exactly as the state spelling out the whole history does, and
//!   some states are shorter than their history;
//! - unknown words are `<unk>`, score `<unk>`'s probability and report an n-gram length of 0;
//! - the begin-of-sentence state is `<s>`, and `score_sentence` is the sum of the word scores.

use std::path::{Path, PathBuf};

use fivegram_lm::model::{ArpaModel, LanguageModel, Scored, State, WordId};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-5
}

/// Scores `words` one at a time from `state`, returning every answer.
fn walk<M: LanguageModel + ?Sized>(model: &M, mut state: State, words: &[&str]) -> Vec<Scored> {
    words
        .iter()
        .map(|w| {
            let scored = model.score(&state, model.word_id(w));
            state = scored.state;
            scored
        })
        .collect()
}

fn ids<M: LanguageModel + ?Sized>(model: &M, words: &[&str]) -> Vec<WordId> {
    words.iter().map(|w| model.word_id(w)).collect()
}

/// Checks one sentence from `<s>`: expected (log10, n-gram length, state words) per word, then the total.
fn check_sentence<M: LanguageModel + ?Sized>(model: &M, words: &[&str], expected: &[(f32, u8, &[&str])]) {
    let got = walk(model, model.begin_sentence_state(), words);
    assert_eq!(got.len(), expected.len());
    for (i, (scored, (log10, length, state))) in got.iter().zip(expected).enumerate() {
        assert!(
            close(scored.log10, *log10),
            "{words:?} word {i}: log10 {} != {log10}",
            scored.log10
        );
        assert_eq!(scored.ngram_length, *length, "{words:?} word {i}: n-gram length");
        assert_eq!(scored.state.words(), ids(model, state), "{words:?} word {i}: state");
    }
    let body = &words[..words.len() - 1];
    assert_eq!(words.last(), Some(&"</s>"));
    let total = model.score_sentence(&ids(model, body), true, true);
    let sum = got.iter().fold(0.0f32, |acc, s| acc + s.log10);
    assert_eq!(total, sum, "score_sentence sums the word scores in f32, in order");
    let expected_total: f32 = expected.iter().map(|e| e.0).sum();
    assert!(
        close(total, expected_total),
        "{words:?}: total {total} != {expected_total}"
    );
}

pub fn toy3_basics<M: LanguageModel + ?Sized>(model: &M) {
    assert_eq!(model.order(), 3);
    assert_eq!(model.vocab_size(), 6);
    let specials = [model.unk_id(), model.bos_id(), model.eos_id()];
    assert_eq!(
        specials,
        [model.word_id("<unk>"), model.word_id("<s>"), model.word_id("</s>")]
    );
    let mut distinct = ids(model, &["<unk>", "<s>", "</s>", "a", "b", "c"]);
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 6, "every word has its own id");
    assert!(distinct.iter().all(|&id| (id as usize) < model.vocab_size()));
    assert_eq!(model.begin_sentence_state().words(), &[model.bos_id()]);
    assert!(model.null_context_state().is_empty());
}

pub fn toy3_scores<M: LanguageModel + ?Sized>(model: &M) {
    // <s> a b a </s>: bigram, trigram, trigram, then back off from "a" to the unigram </s>.
    check_sentence(
        model,
        &["a", "b", "a", "</s>"],
        &[
            (-0.4, 2, &["<s>", "a"]), // "<s> a" = -0.4; no backoff, but it extends to "<s> a b": kept
            (-0.2, 3, &["a", "b"]),   // "<s> a b" = -0.2; "a b" has a backoff
            (-0.35, 3, &["a"]),       // "a b a" = -0.35; "b a" has no backoff and no extension: state "a"
            (-1.0 - 0.3, 1, &[]),     // "a </s>" absent: p(</s>) -1.0 + backoff(a) -0.3; "</s>" never a context
        ],
    );
    // <s> a c </s>: the trigram is missing, so back off from "<s> a" to the bigram "a c".
    check_sentence(
        model,
        &["a", "c", "</s>"],
        &[
            (-0.4, 2, &["<s>", "a"]),
            (-0.5, 2, &["c"]), // "a c" -0.5 (+ backoff("<s> a") 0); "a c" has backoff 0, no extension
            (-1.1, 2, &[]),    // "c </s>" = -1.1
        ],
    );
    // <s> a b c </s>: from "a b", neither "a b c" nor "b c" exists: two backoffs.
    check_sentence(
        model,
        &["a", "b", "c", "</s>"],
        &[
            (-0.4, 2, &["<s>", "a"]),
            (-0.2, 3, &["a", "b"]),
            (-1.2 - 0.2 - 0.15, 1, &["c"]), // p(c) -1.2 + backoff(b) -0.2 + backoff(a b) -0.15
            (-1.1, 2, &[]),
        ],
    );
    // <s> c b x </s> with x unknown: unigrams with backoffs all the way.
    check_sentence(
        model,
        &["c", "b", "x", "</s>"],
        &[
            (-1.2 - 0.5, 1, &["c"]), // p(c) + backoff(<s>) -0.5
            (-0.8 - 0.1, 1, &["b"]), // p(b) + backoff(c) -0.1
            (-2.0 - 0.2, 0, &[]),    // p(<unk>) + backoff(b); length 0 marks the OOV
            (-1.0, 1, &[]),          // p(</s>) from the empty state
        ],
    );
    // Without <s>: the null context.
    let scored = model.score(&model.null_context_state(), model.word_id("a"));
    assert!(close(scored.log10, -0.7));
    assert_eq!(scored.state.words(), ids(model, &["a"]));
    let total = model.score_sentence(&ids(model, &["a", "b"]), false, false);
    assert!(close(total, -0.7 - 0.6), "{total}");
    // "<s>" as a word in the middle of a sentence is just its unigram (-99 in this file) plus backoff.
    let scored = model.score(&model.null_context_state(), model.bos_id());
    assert!(close(scored.log10, -99.0));
}

pub fn unknown_words<M: LanguageModel + ?Sized>(model: &M) {
    for word in ["x", "", "A", "a ", "<UNK>", "ünknown"] {
        assert_eq!(model.word_id(word), model.unk_id(), "{word:?}");
    }
    let state = model.begin_sentence_state();
    let via_unk = model.score(&state, model.unk_id());
    let via_word = model.score(&state, model.word_id("never seen"));
    assert_eq!(via_unk, via_word);
    assert_eq!(via_unk.ngram_length, 0);
    assert!(close(via_unk.log10, -2.0 - 0.5), "{}", via_unk.log10);
}

/// Every history of up to `len` words over `vocab`, from `<s>` and from no context: the words the state
/// stands for (with `<s>` first when it was the start) and the state the model reached.
fn histories<M: LanguageModel + ?Sized>(model: &M, vocab: &[WordId], len: usize) -> Vec<(Vec<WordId>, State)> {
    let mut all = vec![
        (vec![model.bos_id()], model.begin_sentence_state()),
        (Vec::new(), model.null_context_state()),
    ];
    let mut frontier = all.clone();
    for _ in 0..len {
        let mut next = Vec::new();
        for (history, state) in &frontier {
            for &w in vocab {
                let mut h = history.clone();
                h.push(w);
                next.push((h, model.score(state, w).state));
            }
        }
        all.extend(next.iter().cloned());
        frontier = next;
    }
    all
}

/// The vocabulary ids a test walks through: every word of the model, up to 64.
fn test_vocab<M: LanguageModel + ?Sized>(model: &M) -> Vec<WordId> {
    (0..model.vocab_size().min(64) as WordId).collect()
}

/// The state that spells out a history in full: its last `order - 1` words, not minimised.
fn full_state<M: LanguageModel + ?Sized>(model: &M, history: &[WordId]) -> State {
    let keep = model.order() - 1;
    State::new(&history[history.len().saturating_sub(keep)..]).unwrap()
}

pub fn equal_states_have_equal_futures<M: LanguageModel + ?Sized>(model: &M) {
    let vocab = test_vocab(model);
    let depth = if vocab.len() <= 8 { 4 } else { 2 };
    let all = histories(model, &vocab, depth);
    assert!(
        all.iter()
            .any(|(history, state)| state.len() < full_state(model, history).len()),
        "no state is shorter than its history: states are not minimised"
    );
    // A minimised state scores every next word exactly as the full history does, so histories with equal
    // states have equal futures (by induction, since the successor states agree as well).
    for (history, state) in &all {
        let full = full_state(model, history);
        for &w in &vocab {
            let minimised = model.score(state, w);
            let spelled_out = model.score(&full, w);
            assert_eq!(
                minimised, spelled_out,
                "history {history:?} (state {state:?}) then word {w}"
            );
        }
    }
}

pub fn batch_equals_singles<M: LanguageModel + ?Sized>(model: &M) {
    let vocab = test_vocab(model);
    let states: Vec<State> = histories(model, &vocab, 2).into_iter().map(|(_, s)| s).collect();
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for size in [0, 1, 7, 1000, 5000] {
        let queries: Vec<(State, WordId)> = (0..size)
            .map(|_| {
                let state = states[next() as usize % states.len()];
                let word = vocab[next() as usize % vocab.len()];
                (state, word)
            })
            .collect();
        let mut out = vec![Scored::default(); 3]; // stale content must be replaced
        model.score_batch(&queries, &mut out);
        assert_eq!(out.len(), queries.len());
        for ((state, word), batch) in queries.iter().zip(&out) {
            assert_eq!(*batch, model.score(state, *word));
        }
    }
}

macro_rules! contract_tests {
    ($name:ident, $make:expr) => {
        mod $name {
            use super::*;

            #[test]
            fn basics() {
                toy3_basics(&*$make);
            }

            #[test]
            fn hand_computed_scores() {
                toy3_scores(&*$make);
            }

            #[test]
            fn unknown() {
                unknown_words(&*$make);
            }

            #[test]
            fn futures() {
                equal_states_have_equal_futures(&*$make);
            }

            #[test]
            fn batches() {
                batch_equals_singles(&*$make);
            }
        }
    };
}

fn arpa_model(parallel: bool) -> Box<ArpaModel> {
    Box::new(ArpaModel::open(fixture("toy3.arpa")).unwrap().with_parallel(parallel))
}

contract_tests!(arpa_model_parallel, arpa_model(true));
contract_tests!(arpa_model_serial, arpa_model(false));
contract_tests!(
    arpa_model_gzip_as_dyn,
    Box::new(ArpaModel::open(fixture("toy3.arpa.gz")).unwrap()) as Box<dyn LanguageModel>
);

/// The store (`fivegram_lm::store`), built from the same fixture and opened from bytes in memory.
fn store_model(shards: u32, quantize: u32, parallel: bool) -> Box<fivegram_lm::store::Store<Vec<u8>>> {
    store_model_cached(shards, quantize, parallel, true)
}

/// [`store_model`] in the hashed layout (`fivegram build --layout hashed`), with the cache on or off.
fn hashed_model(shards: u32, quantize: u32, parallel: bool, cache: bool) -> Box<fivegram_lm::store::Store<Vec<u8>>> {
    store_model_with(shards, quantize, parallel, cache, fivegram_lm::store::Layout::Hashed)
}

/// [`store_model`], with the cache of recent lookups on or off.
fn store_model_cached(
    shards: u32,
    quantize: u32,
    parallel: bool,
    cache: bool,
) -> Box<fivegram_lm::store::Store<Vec<u8>>> {
    store_model_with(shards, quantize, parallel, cache, fivegram_lm::store::Layout::Trie)
}

/// The store in `layout`, opened from bytes in memory.
fn store_model_with(
    shards: u32,
    quantize: u32,
    parallel: bool,
    cache: bool,
    layout: fivegram_lm::store::Layout,
) -> Box<fivegram_lm::store::Store<Vec<u8>>> {
    use fivegram_lm::store::Store;
    use fivegram_lm::store::build::{BuildOptions, build_from_arpa};
    let dir = tempfile::tempdir().unwrap();
    let options = BuildOptions {
        shards,
        quantize,
        layout,
        ..BuildOptions::default()
    };
    let manifest = build_from_arpa(&fixture("toy3.arpa"), dir.path(), &options).unwrap();
    let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
    let store = Store::from_parts(
        dir.path(),
        &read("manifest.json"),
        read(&manifest.files[0].name),
        manifest.files[1..].iter().map(|f| read(&f.name)).collect(),
    )
    .unwrap();
    Box::new(store.with_parallel(parallel).with_cache(cache))
}

contract_tests!(store_1_shard_exact, store_model(1, 0, true));
contract_tests!(store_2_shards_8_bits, store_model(2, 8, true));
contract_tests!(store_7_shards_8_bits_serial, store_model(7, 8, false));
contract_tests!(
    store_64_shards_exact_as_dyn,
    store_model(64, 0, true) as Box<dyn LanguageModel>
);
contract_tests!(store_3_shards_4_bits, store_model(3, 4, true));
contract_tests!(store_2_shards_no_cache, store_model_cached(2, 0, true, false));
contract_tests!(
    store_1_shard_8_bits_no_cache_serial,
    store_model_cached(1, 8, false, false)
);
contract_tests!(store_5_shards_16_bits_serial, store_model(5, 16, false));
contract_tests!(hashed_1_shard_exact, hashed_model(1, 0, true, false));
contract_tests!(hashed_2_shards_8_bits, hashed_model(2, 8, true, false));
contract_tests!(hashed_7_shards_8_bits_serial, hashed_model(7, 8, false, false));
contract_tests!(
    hashed_64_shards_exact_as_dyn,
    hashed_model(64, 0, true, false) as Box<dyn LanguageModel>
);
contract_tests!(hashed_3_shards_4_bits_cached, hashed_model(3, 4, true, true));
contract_tests!(hashed_5_shards_16_bits_serial, hashed_model(5, 16, false, false));
