//! Building an [`ArpaModel`]: what incomplete or inconsistent ARPA files do, and the quirks it follows KenLM in.

use fivegram_lm::Error;
use fivegram_lm::model::{ArpaModel, LanguageModel, MISSING_UNK_LOG10, State};

fn model(text: &str) -> fivegram_lm::Result<ArpaModel> {
    ArpaModel::from_arpa_text("mem.arpa", text)
}

fn format_error(text: &str) -> (u64, String) {
    match model(text) {
        Err(Error::Format { path, line, message }) => {
            assert_eq!(path.to_str(), Some("mem.arpa"));
            (line, message)
        }
        other => panic!("expected a format error, got {other:?}"),
    }
}

const HEAD: &str =
    "\\data\\\nngram 1=4\nngram 2=2\n\n\\1-grams:\n-1.5\t<unk>\n-99\t<s>\t-0.3\n-0.6\t</s>\n-0.4\ta\t-0.2\n";

#[test]
fn missing_unk_gets_kenlm_default() {
    let text = "\\data\\\nngram 1=2\n\n\\1-grams:\n-99\t<s>\n-0.5\t</s>\n\n\\end\\\n";
    let m = model(text).unwrap();
    assert_eq!(m.vocab_size(), 3);
    let scored = m.score(&State::EMPTY, m.word_id("anything"));
    assert_eq!(scored.log10, MISSING_UNK_LOG10);
    assert_eq!(m.counts(), &[2]);
}

#[test]
fn missing_sentence_markers_are_errors() {
    let text = "\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<unk>\n-0.5\t</s>\n\n\\end\\\n";
    let (_, message) = format_error(text);
    assert!(message.contains("<s>"), "{message}");
    let text = "\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<unk>\n-0.5\t<s>\n\n\\end\\\n";
    let (_, message) = format_error(text);
    assert!(message.contains("</s>"), "{message}");
}

#[test]
fn ngram_over_an_unknown_word() {
    let text = format!("{HEAD}\n\\2-grams:\n-0.1\t<s> a\n-0.2\ta b\n\n\\end\\\n");
    let (line, message) = format_error(&text);
    assert_eq!(line, 13);
    assert!(message.contains("\"b\""), "{message}");
}

#[test]
fn duplicates() {
    let text = format!("{HEAD}\n\\2-grams:\n-0.1\t<s> a\n-0.2\t<s> a\n\n\\end\\\n");
    let (line, message) = format_error(&text);
    assert_eq!(line, 13);
    assert!(message.contains("twice"), "{message}");
    let text = HEAD.replace("-0.6\t</s>", "-0.6\ta") + "\n\\2-grams:\n-0.1\t<s> a\n-0.2\ta a\n\n\\end\\\n";
    let (line, _) = format_error(&text);
    assert_eq!(line, 9);
    let text = HEAD.replace("-0.4\ta", "-0.4\t<s>") + "\n\\2-grams:\n-0.1\t<s> <s>\n-0.2\t<s> </s>\n\n\\end\\\n";
    let (line, _) = format_error(&text);
    assert_eq!(line, 9);
}

#[test]
fn order_above_the_maximum() {
    let mut text = String::from("\\data\\\n");
    for n in 1..=7 {
        text += &format!("ngram {n}=0\n");
    }
    text += "\n\\1-grams:\n";
    let (_, message) = format_error(&text);
    assert!(message.contains("maximum"), "{message}");
}

#[test]
fn missing_context_is_a_pass_through() {
    // SRILM-style pruning: the trigram "<s> a </s>" survives, its context "<s> a" does not.
    let text = format!(
        "{}\n\\2-grams:\n-0.1\ta </s>\n-0.2\ta a\n\n\\3-grams:\n-0.05\t<s> a </s>\n\n\\end\\\n",
        HEAD.replace("ngram 2=2", "ngram 2=2\nngram 3=1")
    );
    let m = model(&text).unwrap();
    assert_eq!(m.counts(), &[4, 2, 1]);
    let a = m.word_id("a");
    // "<s> a" is absent: the unigram a with <s>'s backoff; the state still keeps "<s> a" for the trigram.
    let first = m.score(&m.begin_sentence_state(), a);
    assert!((first.log10 - (-0.4 - 0.3)).abs() < 1e-6);
    assert_eq!(first.ngram_length, 1);
    assert_eq!(first.state.words(), &[m.bos_id(), a]);
    let second = m.score(&first.state, m.eos_id());
    assert_eq!((second.log10, second.ngram_length), (-0.05, 3));
    // Elsewhere the pass-through context adds nothing: "<s> a" then "a" backs off with weight 0 to "a a".
    let third = m.score(&first.state, a);
    assert_eq!((third.log10, third.ngram_length), (-0.2, 2));
}

#[test]
fn out_of_range_ids_score_as_unknown() {
    let m = model(&format!("{HEAD}\n\\2-grams:\n-0.1\t<s> a\n-0.2\ta </s>\n\n\\end\\\n")).unwrap();
    let state = m.begin_sentence_state();
    assert_eq!(m.score(&state, 1_000_000), m.score(&state, m.unk_id()));
}

#[test]
fn unigram_model() {
    let m = model("\\data\\\nngram 1=3\n\n\\1-grams:\n-1\t<unk>\n-99\t<s>\n-0.5\t</s>\n\n\\end\\\n").unwrap();
    assert_eq!(m.order(), 1);
    assert!(m.begin_sentence_state().is_empty());
    assert_eq!(m.score_sentence(&[m.unk_id()], true, true), -1.5);
}

#[test]
fn word_lookup_round_trips() {
    let m = model(&format!("{HEAD}\n\\2-grams:\n-0.1\t<s> a\n-0.2\ta </s>\n\n\\end\\\n")).unwrap();
    for word in ["<unk>", "<s>", "</s>", "a"] {
        assert_eq!(m.word(m.word_id(word)), Some(word));
    }
    assert_eq!([m.unk_id(), m.bos_id(), m.eos_id()], [0, 1, 2]);
    assert!(m.heap_bytes() > 0);
}
