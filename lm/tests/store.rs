//! The store against the ARPA-backed reference: every score, n-gram length and state equal, for several shard
//! counts, on the fixtures and (when the mirror is there) on KenLM's reference models.

use std::path::{Path, PathBuf};

use fivegram_lm::model::{ArpaModel, LanguageModel, Scored, State, WordId};
use fivegram_lm::store::build::{BuildOptions, build_from_arpa};
use fivegram_lm::store::{Layout, Store};
use proptest::prelude::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// Both shard layouts: every test here runs for each.
const LAYOUTS: [Layout; 2] = [Layout::Trie, Layout::Hashed];

fn build(
    arpa: &Path,
    shards: u32,
    quantize: u32,
    layout: Layout,
) -> (tempfile::TempDir, Store<fivegram_lm::store::MappedFile>) {
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

/// The same `f32`, bit for bit, except that 0 and -0 are the same: a probability of `-0` in the file plus a
/// backoff of `0` is `0` for the reference, which adds the zero backoffs of contexts that the store does not keep.
fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a == 0.0 && b == 0.0)
}

/// Walks every sentence through both models and compares each step exactly.
fn compare_exact(reference: &ArpaModel, store: &impl LanguageModel, sentences: &[Vec<String>]) {
    let vocab: Vec<String> = (0..reference.vocab_size() as WordId)
        .map(|i| reference.word(i).unwrap().to_string())
        .collect();
    let store_vocab = store_words(store, &vocab);
    for sentence in sentences {
        let mut rs = reference.begin_sentence_state();
        let mut ss = store.begin_sentence_state();
        for word in sentence.iter().map(String::as_str).chain(["</s>"]) {
            let r: Scored = reference.score(&rs, reference.word_id(word));
            let s: Scored = store.score(&ss, store.word_id(word));
            assert!(
                same(r.log10, s.log10),
                "{sentence:?} at {word}: {} vs {}",
                r.log10,
                s.log10
            );
            assert_eq!(r.ngram_length, s.ngram_length, "{sentence:?} at {word}");
            assert_eq!(
                state_words(&vocab, &r.state),
                state_words(&store_vocab, &s.state),
                "{sentence:?} at {word}"
            );
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
    for layout in LAYOUTS {
        for shards in [1, 2, 7, 64] {
            for quantize in [0, 8] {
                let (_dir, store) = build(&arpa, shards, quantize, layout);
                compare_exact(&reference, &store, &sentences);
            }
        }
    }
}

/// Batches whose states hold ids this model does not have (another model's, against the trait's advice) are
/// answered as the single queries are, without a panic, for any shard count and with the cache on or off.
#[test]
fn foreign_ids_in_states_answer_as_single_queries() {
    let arpa = fixture("toy3.arpa");
    for (layout, shards) in LAYOUTS.into_iter().flat_map(|l| [(l, 1), (l, 7)]) {
        for cache in [false, true] {
            let (_dir, store) = build(&arpa, shards, 8, layout);
            let store = store.with_cache(cache);
            let (a, b) = (store.word_id("a"), store.word_id("b"));
            let states: Vec<State> = [
                vec![u32::MAX],
                vec![a, u32::MAX],
                vec![u32::MAX, a],
                vec![u32::MAX - 1, u32::MAX],
                vec![a, b],
            ]
            .iter()
            .map(|w| State::new(w).unwrap())
            .collect();
            let batch: Vec<(State, WordId)> = states
                .iter()
                .flat_map(|&s| [(s, a), (s, b), (s, u32::MAX)])
                .cycle()
                .take(100)
                .collect();
            let mut answers = Vec::new();
            store.score_batch(&batch, &mut answers);
            for (q, answer) in batch.iter().zip(&answers) {
                assert_eq!(*answer, store.score(&q.0, q.1), "{q:?}");
            }
        }
    }
}

#[test]
fn srilm_style_files_match_reference() {
    // -inf probabilities, `-99` for <s>, no <unk>, and (in the inline model) n-grams whose contexts and
    // suffixes are missing, as SRILM's pruning leaves them.
    let gaps = "\\data\\\nngram 1=6\nngram 2=3\nngram 3=3\nngram 4=1\n\n\\1-grams:\n-99\t<s>\t-0.4\n-1.1\t</s>\n\
                -0.9\ta\t-0.2\n-1.3\tb\t-0.3\n-1.7\tc\n-inf\td\n\n\\2-grams:\n-0.3\t<s> a\t-0.1\n-0.6\tb c\t-0.5\n\
                -0.2\tc </s>\n\n\\3-grams:\n-0.25\ta b c\t-0.05\n-0.4\t<s> a c\n-0.7\tb a b\t0.2\n\n\\4-grams:\n\
                -0.1\ta b c </s>\n\n\\end\\\n";
    let dir = tempfile::tempdir().unwrap();
    let gaps_path = dir.path().join("gaps.arpa");
    std::fs::write(&gaps_path, gaps).unwrap();
    for arpa in [fixture("srilm-style.arpa"), gaps_path] {
        let reference = ArpaModel::open(&arpa).unwrap();
        let vocab: Vec<String> = (0..reference.vocab_size() as WordId)
            .map(|i| reference.word(i).unwrap().to_string())
            .collect();
        let mut sentences = Vec::new();
        for a in &vocab {
            for b in &vocab {
                for c in &vocab {
                    sentences.push(vec![
                        a.clone(),
                        b.clone(),
                        c.clone(),
                        "a".into(),
                        "b".into(),
                        "c".into(),
                    ]);
                }
            }
        }
        for layout in LAYOUTS {
            for shards in [1, 3] {
                for quantize in [0, 8] {
                    let (_dir, store) = build(&arpa, shards, quantize, layout);
                    compare_exact(&reference, &store, &sentences);
                }
            }
        }
    }
}

/// A random back-off model in ARPA text: `words` words, n-grams of each order drawn at random (so contexts and
/// suffixes are often missing), random probabilities and backoffs (some zero, some absent, some positive).
/// A xorshift generator of numbers below `n` (deterministic for a seed).
fn xorshift(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut rng = seed | 1;
    move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    }
}

fn random_arpa(seed: u64, words: usize, order: usize, per_order: usize) -> String {
    let mut next = xorshift(seed);
    let mut vocab: Vec<String> = vec!["<s>".into(), "</s>".into()];
    vocab.extend((0..words).map(|i| format!("w{i}")));
    if next(2) == 0 {
        vocab.push("<unk>".into());
    }
    let mut sections: Vec<Vec<String>> = Vec::new();
    let value = |next: &mut dyn FnMut(u64) -> u64, highest: bool| -> String {
        let prob = -(next(3000) as f32) / 1000.0;
        if highest {
            return format!("{prob}");
        }
        match next(4) {
            0 => format!("{prob}"),
            1 => format!("{prob}\t0"),
            2 => format!("{prob}\t{}", (next(1000) as f32 - 800.0) / 1000.0),
            _ => format!("{prob}\t{}", -(next(2000) as f32) / 1000.0),
        }
    };
    sections.push(
        vocab
            .iter()
            .map(|w| format!("{}\t{w}", value(&mut next, order == 1)).replacen('\t', "\t", 1))
            .collect(),
    );
    for n in 2..=order {
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..per_order {
            let gram: Vec<&str> = (0..n)
                .map(|_| vocab[next(vocab.len() as u64) as usize].as_str())
                .collect();
            seen.insert(gram.join(" "));
        }
        sections.push(
            seen.into_iter()
                .map(|g| {
                    let v = value(&mut next, n == order);
                    match v.split_once('\t') {
                        Some((p, b)) => format!("{p}\t{g}\t{b}"),
                        None => format!("{v}\t{g}"),
                    }
                })
                .collect(),
        );
    }
    // Unigram lines are "prob<TAB>word[<TAB>backoff]".
    sections[0] = sections[0]
        .iter()
        .map(|line| {
            let mut parts = line.split('\t');
            let prob = parts.next().unwrap();
            let second = parts.next().unwrap();
            match parts.next() {
                Some(word) => format!("{prob}\t{word}\t{second}"),
                None => format!("{prob}\t{second}"),
            }
        })
        .collect();
    let mut text = String::from("\\data\\\n");
    for (i, s) in sections.iter().enumerate() {
        text += &format!("ngram {}={}\n", i + 1, s.len());
    }
    for (i, s) in sections.iter().enumerate() {
        text += &format!("\n\\{}-grams:\n", i + 1);
        for line in s {
            text += line;
            text += "\n";
        }
    }
    text + "\n\\end\\\n"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Random models with arbitrary gaps: every query from every short state (minimised or spelled out),
    /// exactly as the reference, for a random shard count.
    #[test]
    fn random_models_match_reference(seed in any::<u64>(), words in 2usize..7, order in 1usize..=5, per_order in 1usize..40, shards in 1u32..9, hashed in any::<bool>()) {
        let text = random_arpa(seed, words, order, per_order);
        let dir = tempfile::tempdir().unwrap();
        let arpa = dir.path().join("random.arpa");
        std::fs::write(&arpa, &text).unwrap();
        let reference = ArpaModel::open(&arpa).unwrap();
        let layout = if hashed { Layout::Hashed } else { Layout::Trie };
        let (_store_dir, store) = build(&arpa, shards, 0, layout);
        let vocab: Vec<String> = (0..reference.vocab_size() as WordId).map(|i| reference.word(i).unwrap().to_string()).collect();
        let store_vocab = store_words(&store, &vocab);
        // Every context of up to order-1 words, given in full (not minimised).
        let mut contexts: Vec<Vec<usize>> = vec![vec![]];
        for _ in 0..order.saturating_sub(1).min(3) {
            let longer: Vec<Vec<usize>> = contexts.iter().filter(|c| c.len() + 1 == contexts.last().unwrap().len() + 1).flat_map(|c| (0..vocab.len()).map(move |w| { let mut c = c.clone(); c.push(w); c })).collect();
            contexts.extend(longer);
        }
        let mut batch = Vec::new();
        for context in &contexts {
            let ss = State::new(&context.iter().map(|&w| store.word_id(&vocab[w])).collect::<Vec<_>>()).unwrap();
            for w in &vocab {
                batch.push((ss, store.word_id(w)));
            }
        }
        // One batch of everything (answered in context order, reusing walks) equals the single queries.
        let store = store.with_cache(true);
        let mut answers = Vec::new();
        store.score_batch(&batch, &mut answers);
        // Again, with the answers in the cache of recent lookups; and the single queries without the cache.
        let mut again = Vec::new();
        store.score_batch(&batch, &mut again);
        prop_assert_eq!(&answers, &again);
        let store = store.with_cache(false);
        for (q, a) in batch.iter().zip(&answers) {
            prop_assert_eq!(*a, store.score(&q.0, q.1));
        }
        for context in &contexts {
            let rs = State::new(&context.iter().map(|&w| w as WordId).collect::<Vec<_>>()).unwrap();
            let ss = State::new(&context.iter().map(|&w| store.word_id(&vocab[w])).collect::<Vec<_>>()).unwrap();
            for w in &vocab {
                let r = reference.score(&rs, reference.word_id(w));
                let s = store.score(&ss, store.word_id(w));
                prop_assert!(same(r.log10, s.log10), "{:?} {}: {} vs {}\n{}", context, w, r.log10, s.log10, text);
                prop_assert_eq!(r.ngram_length, s.ngram_length);
                prop_assert_eq!(state_words(&vocab, &r.state), state_words(&store_vocab, &s.state));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// The two layouts of one model give bit-identical answers (scores, n-gram lengths, states) at any
    /// quantization and shard count: they share the codebooks and the rules, not the code.
    #[test]
    fn layouts_agree_bit_for_bit(seed in any::<u64>(), words in 2usize..7, order in 1usize..=5, per_order in 1usize..40, shards in 1u32..9, quantize in prop_oneof![Just(0u32), Just(4), Just(8)]) {
        let text = random_arpa(seed, words, order, per_order);
        let dir = tempfile::tempdir().unwrap();
        let arpa = dir.path().join("random.arpa");
        std::fs::write(&arpa, &text).unwrap();
        let (_t, trie) = build(&arpa, shards, quantize, Layout::Trie);
        let (_h, hashed) = build(&arpa, shards, quantize, Layout::Hashed);
        prop_assert_eq!(hashed.manifest().layout, Layout::Hashed);
        let ids: Vec<WordId> = (0..trie.vocab_size() as WordId).collect();
        let mut batch = Vec::new();
        for &a in &ids {
            for &b in &ids {
                for context in [vec![], vec![b], vec![a, b], vec![b, a, b], vec![a, a, b, b]] {
                    for &w in &ids {
                        batch.push((State::new(&context).unwrap(), w));
                    }
                }
            }
        }
        let (mut x, mut y) = (Vec::new(), Vec::new());
        trie.score_batch(&batch, &mut x);
        hashed.score_batch(&batch, &mut y);
        for ((q, a), b) in batch.iter().zip(&x).zip(&y) {
            prop_assert_eq!(a.log10.to_bits(), b.log10.to_bits(), "{:?}", q);
            prop_assert_eq!(a, b);
        }
    }
}

/// The hashed layout's states carry the backoffs of their suffixes, with one shard or several (the next query
/// may go to another shard), and a query from a carrying state scores bit for bit as one from the same words
/// without them (for which the store reads the backoffs from its tables), on random models with arbitrary gaps.
#[test]
fn carried_backoffs_score_as_reading_them() {
    for seed in 1..=12u64 {
        let text = random_arpa(seed * 7919, 5, 1 + (seed as usize % 5), 30);
        let dir = tempfile::tempdir().unwrap();
        let arpa = dir.path().join("random.arpa");
        std::fs::write(&arpa, &text).unwrap();
        for shards in [1, 3] {
            for quantize in [0, 8] {
                let (_store_dir, store) = build(&arpa, shards, quantize, Layout::Hashed);
                let ids: Vec<WordId> = (0..store.vocab_size() as WordId).collect();
                // Every state reachable in two steps from the sentence start, and every word from each.
                let mut states = vec![store.begin_sentence_state()];
                for _ in 0..2 {
                    let next: Vec<State> = states
                        .iter()
                        .flat_map(|s| ids.iter().map(|&w| store.score(s, w).state))
                        .collect();
                    states.extend(next);
                }
                let mut carrying = 0;
                for state in &states {
                    if state.is_empty() {
                        continue;
                    }
                    let carried = state.backoffs().expect("a hashed store's state carries its backoffs");
                    assert_eq!(carried.len(), state.len());
                    carrying += 1;
                    let plain = State::new(state.words()).unwrap();
                    assert!(plain.backoffs().is_none());
                    assert_eq!(plain, *state, "equality looks at the words only");
                    let queries: Vec<(State, WordId)> = ids.iter().flat_map(|&w| [(*state, w), (plain, w)]).collect();
                    let mut answers = Vec::new();
                    store.score_batch(&queries, &mut answers);
                    for pair in answers.chunks(2) {
                        assert_eq!(
                            pair[0].log10.to_bits(),
                            pair[1].log10.to_bits(),
                            "seed {seed}, {shards} shards"
                        );
                        assert_eq!(pair[0].state, pair[1].state);
                        assert_eq!(pair[0].ngram_length, pair[1].ngram_length);
                    }
                }
                assert!(carrying > 0 || store.order() == 1, "seed {seed}: no state had words");
            }
        }
    }
}

/// A one-shard hashed store scores whole texts word by word with its lookups pipelined
/// (`LanguageModel::score_tokens`); every token's value is bit for bit the lock-step batches' (which the other
/// tests hold to the reference), on random models with gaps, for empty, short and long sentences, unknown
/// words and ids outside the vocabulary.
#[test]
fn pipelined_text_scores_equal_lock_step_batches() {
    for seed in 1..=16u64 {
        let order = 1 + (seed as usize % 6).min(4);
        let text = random_arpa(seed * 104_729, 6, order, 40);
        let dir = tempfile::tempdir().unwrap();
        let arpa = dir.path().join("random.arpa");
        std::fs::write(&arpa, &text).unwrap();
        for quantize in [0, 8] {
            let (_store_dir, store) = build(&arpa, 1, quantize, Layout::Hashed);
            let v = store.vocab_size() as u64;
            let mut next = xorshift(seed);
            let sentences: Vec<Vec<WordId>> = (0..60)
                .map(|i| (0..[0, 1, 3, 9, 40][i % 5]).map(|_| next(v + 2) as WordId).collect())
                .collect();
            let refs: Vec<&[WordId]> = sentences.iter().map(Vec::as_slice).collect();
            let (mut piped, mut stepped) = (Vec::new(), Vec::new());
            store.score_tokens(&refs, &mut piped);
            fivegram_lm::model::lock_step_tokens(&store, &refs, &mut stepped);
            assert_eq!(piped.len(), sentences.iter().map(|s| s.len() + 1).sum::<usize>());
            let bits = |x: &[f32]| x.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&piped),
                bits(&stepped),
                "seed {seed}, order {order}, {quantize} bits"
            );
        }
    }
}
