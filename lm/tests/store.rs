//! The store against the ARPA-backed reference: every score, n-gram length and state equal, for several shard
//! counts, on the fixtures and (when the mirror is there) on KenLM's reference models.

use std::path::{Path, PathBuf};

use fivegram_lm::model::{ArpaModel, LanguageModel, Scored, State, WordId};
use fivegram_lm::store::Store;
use fivegram_lm::store::build::{BuildOptions, build_from_arpa};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn build(arpa: &Path, shards: u32, quantize: u32) -> (tempfile::TempDir, Store<fivegram_lm::store::MappedFile>) {
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

/// Words of a state, as strings, via each model's own vocabulary.
fn state_words(words: &[String], state: &State) -> Vec<String> {
    state.words().iter().map(|&id| words[id as usize].clone()).collect()
}

fn store_words<M: LanguageModel>(model: &M, vocab: &[String]) -> Vec<String> {
    let mut out = vec![String::new(); model.vocab_size()];
    for w in vocab {
        out[model.word_id(w) as usize] = w.clone();
    }
    out
}

/// Walks every sentence through both models and compares each step exactly.
fn compare_exact(reference: &ArpaModel, store: &impl LanguageModel, sentences: &[Vec<String>]) {
    let vocab: Vec<String> = (0..reference.vocab_size() as WordId).map(|i| reference.word(i).unwrap().to_string()).collect();
    let store_vocab = store_words(store, &vocab);
    for sentence in sentences {
        let mut rs = reference.begin_sentence_state();
        let mut ss = store.begin_sentence_state();
        for word in sentence.iter().map(String::as_str).chain(["</s>"]) {
            let r: Scored = reference.score(&rs, reference.word_id(word));
            let s: Scored = store.score(&ss, store.word_id(word));
            assert_eq!(r.log10.to_bits(), s.log10.to_bits(), "{sentence:?} at {word}: {} vs {}", r.log10, s.log10);
            assert_eq!(r.ngram_length, s.ngram_length, "{sentence:?} at {word}");
            assert_eq!(state_words(&vocab, &r.state), state_words(&store_vocab, &s.state), "{sentence:?} at {word}");
            rs = r.state;
            ss = s.state;
        }
    }
}

#[test]
fn toy3_matches_reference_for_every_shard_count() {
    let arpa = fixture("toy3.arpa");
    let reference = ArpaModel::open(&arpa).unwrap();
    let words = ["<s>", "</s>", "a", "b", "c", "x", "<unk>"];
    let mut sentences = Vec::new();
    for a in words {
        for b in words {
            for c in words {
                sentences.push(vec![a.to_string(), b.to_string(), c.to_string()]);
            }
        }
    }
    for shards in [1, 2, 7, 64] {
        for quantize in [0, 8] {
            let (_dir, store) = build(&arpa, shards, quantize);
            compare_exact(&reference, &store, &sentences);
        }
    }
}
