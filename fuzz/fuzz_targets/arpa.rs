//! Arbitrary bytes into the ARPA reader, and whatever it accepts into `ArpaModel` and a few queries.
//!
//! The reader and the model must turn every input into either a value or an `Error`: no panic, no unbounded
//! allocation from a header that announces more n-grams than the file holds, no infinite loop.
#![no_main]

use std::io::Cursor;

use fivegram_lm::arpa::read::{ArpaReader, Entry};
use fivegram_lm::model::{ArpaModel, LanguageModel, State};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The streaming reader on its own: every entry it hands out has as many words as its order.
    if let Ok(mut reader) = ArpaReader::from_reader("fuzz.arpa", Box::new(Cursor::new(data.to_vec()))) {
        let order = reader.order();
        let mut entry = Entry::default();
        while let Ok(true) = reader.read_entry(&mut entry) {
            assert!(entry.order >= 1 && entry.order <= order);
            assert_eq!(entry.words.len(), entry.order);
            assert!(!entry.prob.is_nan() && entry.prob <= 0.0);
            assert!(entry.backoff.is_none_or(f32::is_finite));
        }
    }

    // The model, and queries over every word id it has (plus one past the end) from each state reached.
    let reader = match ArpaReader::from_reader("fuzz.arpa", Box::new(Cursor::new(data.to_vec()))) {
        Ok(reader) => reader,
        Err(_) => return,
    };
    let Ok(model) = ArpaModel::from_reader(reader) else {
        return;
    };
    let model = model.with_parallel(false);
    let vocab = (model.vocab_size() as u32).min(32);
    let mut states = vec![model.begin_sentence_state(), State::EMPTY];
    let mut queries = Vec::new();
    for round in 0..3 {
        queries.clear();
        for state in &states {
            for word in 0..=vocab {
                queries.push((*state, word));
            }
        }
        let mut out = Vec::new();
        model.score_batch(&queries, &mut out);
        assert_eq!(out.len(), queries.len());
        for ((state, word), scored) in queries.iter().zip(&out) {
            assert_eq!(*scored, model.score(state, *word));
            assert!(scored.state.len() < model.order().max(1));
        }
        if round < 2 {
            states = out.iter().map(|s| s.state).take(64).collect();
        }
    }
    let ids: Vec<u32> = (0..vocab).collect();
    let _ = model.score_sentence(&ids, true, true);
});
