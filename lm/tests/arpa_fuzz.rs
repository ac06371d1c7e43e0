//! A stable-toolchain stand-in for `fuzz/fuzz_targets/arpa.rs`: damaged versions of the toy fixtures (bytes
//! flipped, cut, inserted, lines swapped) go through the reader and the model, which must answer with a value or
//! an error and never panic. The cargo-fuzz target explores much further; this runs in every `cargo test`.

use std::io::Cursor;

use fivegram_lm::arpa::read::{ArpaReader, Entry};
use fivegram_lm::model::{ArpaModel, LanguageModel, State};
use proptest::prelude::*;

const TOY3: &[u8] = include_bytes!("fixtures/toy3.arpa");
const SRILM: &[u8] = include_bytes!("fixtures/srilm-style.arpa");

/// Everything the fuzz target does with one input.
fn exercise(data: &[u8]) {
    if let Ok(mut reader) = ArpaReader::from_reader("fuzz.arpa", Box::new(Cursor::new(data.to_vec()))) {
        let order = reader.order();
        let mut entry = Entry::default();
        while let Ok(true) = reader.read_entry(&mut entry) {
            assert!(entry.order >= 1 && entry.order <= order);
            assert_eq!(entry.words.len(), entry.order);
            assert!(!entry.prob.is_nan() && entry.prob <= 0.0);
        }
    }
    let Ok(model) = ArpaModel::from_arpa_text("fuzz.arpa", &String::from_utf8_lossy(data)) else {
        return;
    };
    let vocab = model.vocab_size() as u32;
    let mut state = model.begin_sentence_state();
    for word in 0..=vocab {
        let scored = model.score(&state, word);
        assert!(scored.state.len() < model.order().max(1));
        assert_eq!(scored, model.score(&scored_state_copy(&state), word));
        state = scored.state;
    }
    let _ = model.score(&State::EMPTY, 0);
}

fn scored_state_copy(state: &State) -> State {
    State::new(state.words()).unwrap()
}

/// One edit to a byte string.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Cut(usize),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    SwapLines(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let tokens = prop::sample::select(vec![
        &b"\n"[..],
        b"\t",
        b" ",
        b"\\data\\\n",
        b"\\end\\\n",
        b"\\2-grams:\n",
        b"ngram 2=1\n",
        b"-inf",
        b"nan",
        b"-99",
        b"1e38",
        b"<s>",
        b"\xff",
        b"\r\n",
    ]);
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Edit::Flip(at, byte)),
        any::<usize>().prop_map(Edit::Cut),
        (any::<usize>(), tokens).prop_map(|(at, t)| Edit::Insert(at, t.to_vec())),
        (any::<usize>(), 1..20usize).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
    ]
}

fn apply(data: &mut Vec<u8>, edit: &Edit) {
    let len = data.len().max(1);
    match edit {
        Edit::Flip(at, byte) if !data.is_empty() => data[at % len] = *byte,
        Edit::Cut(at) => data.truncate(at % len),
        Edit::Insert(at, bytes) => {
            let at = at % (data.len() + 1);
            data.splice(at..at, bytes.iter().copied());
        }
        Edit::Delete(at, n) if !data.is_empty() => {
            let at = at % len;
            let end = (at + n).min(data.len());
            data.drain(at..end);
        }
        Edit::SwapLines(a, b) => {
            let mut lines: Vec<Vec<u8>> = data.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect();
            let n = lines.len();
            lines.swap(a % n, b % n);
            *data = lines.join(&b'\n');
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn damaged_fixtures_never_panic(
        base in prop::sample::select(vec![TOY3, SRILM]),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let mut data = base.to_vec();
        for e in &edits {
            apply(&mut data, e);
        }
        exercise(&data);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..300)) {
        exercise(&data);
    }
}

#[test]
fn huge_announced_counts_do_not_allocate_them() {
    // A few bytes announcing 10^9 n-grams per order: the reader and model must fail on the missing entries,
    // not try to reserve memory for the announced ones.
    let text = "\\data\\\nngram 1=1000000000\nngram 2=1000000000\n\n\\1-grams:\n-1\t<s>\n\n";
    exercise(text.as_bytes());
    let err = ArpaModel::from_arpa_text("big.arpa", text).unwrap_err();
    assert!(err.to_string().contains("header announced"), "{err}");
    let text = "\\data\\\nngram 1=100000000000000\n\n\\1-grams:\n-1\t<s>\n\n";
    let err = ArpaModel::from_arpa_text("huge.arpa", text).unwrap_err();
    assert!(err.to_string().contains("32-bit"), "{err}");
}

#[test]
fn undamaged_fixtures_load() {
    exercise(TOY3);
    ArpaModel::from_arpa_text("toy3.arpa", std::str::from_utf8(TOY3).unwrap()).unwrap();
}
