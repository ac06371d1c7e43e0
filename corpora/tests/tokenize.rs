//! Tokenizer and detokenizer: examples, properties (proptest), and the round trip on real corpora when
//! `FIVEGRAM_MIRROR` points at the shared corpus folder.

use std::path::{Path, PathBuf};

use fivegram_corpora::read::{Decoding, ParallelReader, TextReader};
use fivegram_corpora::tokenize::{Detokenizer, Lang, Tokenizer, detokenize, split_sentences};
use proptest::prelude::*;

fn en(text: &str) -> Vec<String> {
    Tokenizer::new(Lang::En).tokenize(text)
}

fn de(text: &str) -> Vec<String> {
    Tokenizer::new(Lang::De).tokenize(text)
}

fn round_trip(text: &str, lang: Lang) -> String {
    detokenize(&Tokenizer::new(lang).tokenize(text), lang)
}

#[test]
fn english_examples() {
    assert_eq!(
        en("Don't panic: it's 3.5% of $1,000 (U.S.), e.g. at john@example.com."),
        [
            "Do",
            "n't",
            "panic",
            ":",
            "it",
            "'s",
            "3.5",
            "%",
            "of",
            "$",
            "1,000",
            "(",
            "U.S.",
            ")",
            ",",
            "e.g.",
            "at",
            "john@example.com",
            "."
        ]
    );
    assert_eq!(
        en("“Well,” she said, ‘it’s the well-known one.’"),
        [
            "“",
            "Well",
            ",",
            "”",
            "she",
            "said",
            ",",
            "‘",
            "it",
            "’s",
            "the",
            "well-known",
            "one",
            ".",
            "’"
        ]
    );
}

#[test]
fn german_examples() {
    assert_eq!(
        de("„Wie geht's?“, fragte Hans' Freund z.B. am 3. Mai per E-Mail."),
        [
            "„", "Wie", "geht's", "?", "“", ",", "fragte", "Hans'", "Freund", "z.B.", "am", "3.", "Mai", "per",
            "E-Mail", "."
        ]
    );
    assert_eq!(
        de("Ein „Open“-Schild und Sonnenaufgang bis -untergang, 20 % bei 38°C."),
        [
            "Ein",
            "„",
            "Open",
            "“",
            "-Schild",
            "und",
            "Sonnenaufgang",
            "bis",
            "-untergang",
            ",",
            "20",
            "%",
            "bei",
            "38°C",
            "."
        ]
    );
}

#[test]
fn round_trips_of_tricky_lines() {
    for line in [
        "Texas A&amp;M's Ryan Tannehill is nearly sacked by an Iowa State player.",
        "A man is making the \"hook 'em horns\" sign at a Farmers' Market.",
        "\"Hi,\" he said. 'Why?' she asked (quietly).",
        "The blood alcohol limit is .08 percent; I make €100 a day in C++.",
        "Visit https://example.com/path?q=1 or www.example.org, then e-mail me.",
        "Chapter I.--The Beginning",
    ] {
        assert_eq!(round_trip(line, Lang::En), line);
    }
    for line in [
        "Er sagte: „Ich komme am 3. Oktober.“ Dann ging er.",
        "Zwei Männer stehen vor einem „Open“-Schild mit Papiertellern und -tassen.",
        "Das kostet 300 $ bzw. 10 % weniger, wie geht's Hans' Mutter?",
        "Pflanzen benötigen CO₂ und »Licht«, ‚sagt‘ er.",
    ] {
        assert_eq!(round_trip(line, Lang::De), line);
    }
}

#[test]
fn what_cannot_round_trip_is_normalised() {
    // A space before punctuation, or a non-breaking space, is not recorded by the tokens.
    assert_eq!(round_trip("sitting on a bench .", Lang::En), "sitting on a bench.");
    assert_eq!(round_trip("Nummer\u{a0}28", Lang::De), "Nummer 28");
}

#[test]
fn detokenizer_is_reusable_and_appends() {
    let detok = Detokenizer::new(Lang::En);
    let mut out = String::from(">> ");
    detok.detokenize_into(&["a", "\"", "b", "\""], &mut out);
    assert_eq!(out, ">> a \"b\"");
    // Quote state does not leak from one call to the next.
    assert_eq!(detok.detokenize(&["\"", "c", "\""]), "\"c\"");
}

#[test]
fn sentences_then_tokens() {
    let text = "Dr. No arrived at 5 p.m. on Jan. 3. He left.";
    let sentences = split_sentences(text, Lang::En);
    assert_eq!(sentences, ["Dr. No arrived at 5 p.m. on Jan. 3.", "He left."]);
    assert_eq!(
        en(sentences[0]),
        ["Dr.", "No", "arrived", "at", "5", "p.m.", "on", "Jan.", "3", "."]
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Properties

fn lang() -> impl Strategy<Value = Lang> {
    prop_oneof![Just(Lang::En), Just(Lang::De)]
}

/// Text with the characters the tokenizer treats specially, in any arrangement.
fn messy_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-zA-ZäöüßÄÖÜé]{1,8}",
        "[0-9]{1,4}",
        Just(" ".to_string()),
        Just("  ".to_string()),
        Just("\u{a0}".to_string()),
        Just("\t".to_string()),
        prop::sample::select(vec![
            ".", ",", ";", ":", "!", "?", "...", "'", "’", "‘", "\"", "“", "”", "„", "‚", "«", "»", "(", ")", "[", "]",
            "-", "--", "—", "–", "/", "&", "&amp;", "@", "%", "$", "€", "°", "+", "#", "_", "\u{200b}", "\u{ad}",
            "n't", "'s", "'ll", "U.S.", "z.B.", "Mr.", "www.", "http://", "x.com", "😀", "👍🏽", "中文", "ｱ",
        ])
        .prop_map(str::to_string),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

/// Any string at all.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![messy_text(), any::<String>()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn tokens_are_nonempty_and_free_of_whitespace(text in any_text(), lang in lang(), lower in any::<bool>()) {
        for token in Tokenizer::new(lang).with_lowercase(lower).tokenize(&text) {
            prop_assert!(!token.is_empty());
            prop_assert!(!token.chars().any(char::is_whitespace), "{:?}", token);
        }
    }

    #[test]
    fn tokens_concatenate_to_the_input_without_whitespace(text in any_text(), lang in lang()) {
        let tok = Tokenizer::new(lang);
        let joined: String = tok.tokenize(&text).concat();
        let expected: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        prop_assert_eq!(&joined, &expected);
        // The spans point at the same tokens, in order, without overlap.
        let spans = tok.token_spans(&text);
        let mut last = 0;
        for span in &spans {
            prop_assert!(span.start >= last && span.end > span.start);
            last = span.end;
        }
        let from_spans: String = spans.iter().map(|s| &text[s.clone()]).collect();
        prop_assert_eq!(from_spans, expected);
    }

    #[test]
    fn lowercasing_only_changes_case(text in messy_text(), lang in lang()) {
        let plain = Tokenizer::new(lang).tokenize(&text);
        let lower = Tokenizer::new(lang).with_lowercase(true).tokenize(&text);
        let expected: Vec<String> = plain.iter().map(|t| t.to_lowercase()).collect();
        prop_assert_eq!(&lower, &expected);
        let mut streamed = Vec::new();
        Tokenizer::new(lang).with_lowercase(true).for_each_token(&text, |t| streamed.push(t.to_string()));
        prop_assert_eq!(streamed, lower);
    }

    #[test]
    fn tokenizing_detokenized_tokens_gives_the_same_tokens(sentence in well_formed(Lang::En)) {
        let tokens = en(&sentence);
        prop_assert_eq!(en(&detokenize(&tokens, Lang::En)), tokens.clone());
        // Tokenized text is a fixed point.
        prop_assert_eq!(en(&tokens.join(" ")), tokens);
    }

    #[test]
    fn english_well_formed_sentences_round_trip(sentence in well_formed(Lang::En)) {
        prop_assert_eq!(round_trip(&sentence, Lang::En), sentence);
    }

    #[test]
    fn german_well_formed_sentences_round_trip(sentence in well_formed(Lang::De)) {
        prop_assert_eq!(round_trip(&sentence, Lang::De), sentence);
    }
}

/// A word as it appears in ordinary running text of `lang`.
fn word(lang: Lang) -> BoxedStrategy<String> {
    let common = prop_oneof![
        // Not 1-2 letters: a quoted `'ll'` or `'m'` would be ambiguous with an English clitic.
        4 => "[a-z]{3,9}",
        1 => prop::sample::select(vec!["a", "I", "an", "to", "of", "ab"]).prop_map(str::to_string),
        2 => "[A-Z][a-z]{2,8}",
        1 => "[a-z]{2,6}-[a-z]{2,6}",
        1 => "[0-9]{1,3}",
        1 => "[0-9]{1,2}[.,][0-9]{1,2}",
        1 => "[0-9]{1,3},[0-9]{3}",
        1 => prop::sample::select(vec!["U.S.", "e.g.", "z.B.", "Dr.", "AT&T", "and/or", "E-Mail", "10:30"])
            .prop_map(str::to_string),
    ];
    match lang {
        Lang::En => prop_oneof![
            8 => common,
            1 => "(do|does|is|was|could|would)n't",
            1 => "[A-Z][a-z]{2,6}'s",
            1 => "(I|you|we|they)'(ll|ve|re|d)",
        ]
        .boxed(),
        Lang::De => prop_oneof![
            8 => common,
            1 => "[äöüa-z]{2,6}",
            1 => "(geht|gibt|war)'s",
            1 => "(Hans|Klaus|Max)'",
        ]
        .boxed(),
    }
}

/// A phrase: words separated by single spaces, some followed by a comma.
fn phrase(lang: Lang) -> impl Strategy<Value = String> {
    prop::collection::vec((word(lang), prop::bool::weighted(0.15)), 1..8).prop_map(|words| {
        let n = words.len();
        let mut s = String::new();
        for (i, (w, comma)) in words.into_iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(&w);
            if comma && i + 1 < n {
                s.push(',');
            }
        }
        s
    })
}

/// A sentence with ordinary spacing: phrases, some quoted or in brackets, and final punctuation.
fn well_formed(lang: Lang) -> impl Strategy<Value = String> {
    // Straight single quotes around a German possessive (`'Hans''`) are ambiguous even to a reader, so German
    // sentences use its own single quotes.
    let (open, close, open1, close1) = match lang {
        Lang::En => ("“", "”", "'", "'"),
        Lang::De => ("„", "“", "‚", "‘"),
    };
    let part = prop_oneof![
        4 => phrase(lang),
        1 => phrase(lang).prop_map(|p| format!("\"{p}\"")),
        1 => phrase(lang).prop_map(move |p| format!("{open}{p}{close}")),
        1 => phrase(lang).prop_map(|p| format!("({p})")),
        1 => phrase(lang).prop_map(move |p| format!("{open1}{p}{close1}")),
    ];
    (
        prop::collection::vec(part, 1..4),
        prop::sample::select(vec!["", ".", "?", "!", "...", "?!"]),
    )
        .prop_map(|(parts, end)| {
            let mut s = parts.join(" ");
            s.push_str(end);
            s
        })
}

// ---------------------------------------------------------------------------------------------------------------
// Real corpora

fn mirror(test: &str) -> Option<PathBuf> {
    match std::env::var_os("FIVEGRAM_MIRROR") {
        Some(dir) if Path::new(&dir).is_dir() => Some(PathBuf::from(dir)),
        _ => {
            eprintln!("note: {test} skipped: FIVEGRAM_MIRROR is not set to the shared corpus folder (.ci/run sets it)");
            None
        }
    }
}

/// The fraction of `lines` that come back exactly from detok(tok(line)).
fn rate(lines: &[String], lang: Lang) -> f64 {
    let exact = lines.iter().filter(|l| round_trip(l, lang) == **l).count();
    exact as f64 / lines.len() as f64
}

#[test]
fn multi30k_validation_round_trips() {
    let Some(mirror) = mirror("multi30k_validation_round_trips") else {
        return;
    };
    for (file, lang) in [("val.en.gz", Lang::En), ("val.de.gz", Lang::De)] {
        let lines: Vec<String> = TextReader::open(mirror.join("multi30k").join(file), Decoding::Strict)
            .unwrap()
            .map(|l| l.unwrap().text)
            .collect();
        assert_eq!(lines.len(), 1014);
        let r = rate(&lines, lang);
        assert!(r >= 0.99, "{file}: round-trip rate {r:.4} below 0.99");
    }
}

#[test]
fn tatoeba_sample_round_trips() {
    let Some(mirror) = mirror("tatoeba_sample_round_trips") else {
        return;
    };
    // Every 50th pair, both columns (the whole file is measured by `fivegram tokenize --roundtrip` in CI).
    let (mut english, mut german) = (Vec::new(), Vec::new());
    for pair in ParallelReader::open_tsv(mirror.join("tatoeba-deu-eng/deu.txt.gz"), Decoding::Strict)
        .unwrap()
        .step_by(50)
    {
        let pair = pair.unwrap();
        english.push(pair.src);
        german.push(pair.tgt);
    }
    assert!(english.len() > 3000);
    for (lines, lang) in [(english, Lang::En), (german, Lang::De)] {
        let r = rate(&lines, lang);
        assert!(r >= 0.99, "{lang}: round-trip rate {r:.4} below 0.99");
    }
}
