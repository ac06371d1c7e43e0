//! The speller on a small hand-made model: corrections in context, what is preserved, bad input, the model
//! directory.

use fivegram_corpora::tokenize::Lang;
use fivegram_lm::model::ArpaModel;
use fivegram_spell::edit::ErrorModel;
use fivegram_spell::lexicon::Lexicon;
use fivegram_spell::model::{MANIFEST, Manifest, Ranking};
use fivegram_spell::{Correction, Error, Speller, Suggestion};

/// A bigram model over a small vocabulary, with the phrases the tests need.
const ARPA: &str = "\\data\\
ngram 1=33
ngram 2=17

\\1-grams:
-6.0\t<unk>
-99\t<s>\t-0.5
-1.0\t</s>
-1.4\tthe\t-0.3
-1.6\ta\t-0.3
-1.7\ti\t-0.3
-2.5\tscrambled\t-0.3
-2.4\tcrumbled\t-0.3
-2.3\teggs\t-0.3
-2.6\tegg\t-0.3
-3.0\tbenedict\t-0.3
-3.2\tbandit\t-0.3
-2.2\treceived\t-0.3
-2.6\treceive\t-0.3
-2.5\tletter\t-0.3
-2.0\ttheir\t-0.3
-2.0\tthere\t-0.3
-1.9\tis\t-0.3
-2.4\tgoing\t-0.3
-1.6\tto\t-0.3
-2.0\tgo\t-0.3
-2.8\tpark\t-0.3
-2.9\ttomorrow\t-0.3
-1.5\t.\t-0.3
-1.7\t,\t-0.3
-2.0\thello\t-0.3
-2.0\tworld\t-0.3
-2.1\tend\t-0.3
-2.3\twant\t-0.3
-2.6\tyesterday\t-0.3
-2.2\thouse\t-0.3
-2.4\tbig\t-0.3
-2.6\tbreakfast\t-0.3

\\2-grams:
-0.3\tscrambled eggs
-0.4\teggs benedict
-0.5\t<s> scrambled
-0.6\tbenedict </s>
-0.5\ti received
-0.5\treceived the
-0.6\tthe letter
-0.7\tletter yesterday
-0.5\tgo there
-0.4\tthere .
-0.4\twant to
-0.5\tto go
-0.5\t<s> i
-0.6\tthe big
-0.5\tbig house
-0.6\t. </s>
-0.8\ttheir house

\\end\\
";

fn lexicon() -> Lexicon {
    Lexicon::from_counts([
        ("the", 50_000),
        ("a", 30_000),
        ("i", 25_000),
        ("scrambled", 300),
        ("crumbled", 400),
        ("eggs", 600),
        ("egg", 300),
        ("benedict", 80),
        ("bandit", 60),
        ("received", 900),
        ("receive", 500),
        ("letter", 700),
        ("their", 4_000),
        ("there", 4_000),
        ("is", 20_000),
        ("going", 1_500),
        ("to", 30_000),
        ("go", 3_000),
        ("park", 300),
        ("tomorrow", 200),
        ("hello", 500),
        ("world", 2_000),
        ("end", 1_500),
        ("want", 1_800),
        ("yesterday", 300),
        ("house", 2_000),
        ("big", 1_200),
        ("breakfast", 250),
    ])
}

fn speller() -> Speller {
    let lm = ArpaModel::from_arpa_text("toy.arpa", ARPA).expect("toy ARPA");
    Speller::new(Lang::En, lexicon(), ErrorModel::default(), lm, Ranking::default())
}

/// Every span's `original` is the input at its offsets, and putting the replacements in reproduces the output.
fn assert_consistent(input: &str, correction: &Correction) {
    let mut rebuilt = String::new();
    let mut at = 0;
    for span in &correction.spans {
        assert!(span.start >= at && span.end >= span.start, "{span:?}");
        assert_eq!(&input[span.start..span.end], span.original, "{span:?}");
        rebuilt.push_str(&input[at..span.start]);
        rebuilt.push_str(&span.replacement);
        at = span.end;
    }
    rebuilt.push_str(&input[at..]);
    assert_eq!(rebuilt, correction.text, "input {input:?}");
}

#[test]
fn the_seed_query() {
    let speller = speller();
    let fixed = speller.correct("scrumbled uggs Bundict");
    assert_eq!(fixed.text, "scrambled eggs Benedict");
    assert_eq!(fixed.spans.len(), 3);
    assert_eq!(fixed.spans[2].original, "Bundict");
    assert_eq!(fixed.spans[2].replacement, "Benedict");
    assert!(fixed.spans.iter().all(|s| s.score > 0.0), "{:?}", fixed.spans);
    assert_consistent("scrumbled uggs Bundict", &fixed);
}

#[test]
fn case_punctuation_and_whitespace_are_kept() {
    let speller = speller();
    let input = "  I  recieved,\tTHE  leter   yesterdy ... ";
    let fixed = speller.correct(input);
    assert_eq!(fixed.text, "  I  received,\tTHE  letter   yesterday ... ");
    assert_consistent(input, &fixed);
    let first = &fixed.spans[0];
    assert_eq!((first.start, first.end), (5, 13));
}

#[test]
fn correct_words_are_left_alone() {
    let speller = speller();
    for text in ["I received the letter yesterday.", "the big house", "Hello, world."] {
        let fixed = speller.correct(text);
        assert_eq!(fixed.text, text);
        assert!(fixed.spans.is_empty(), "{:?}", fixed.spans);
    }
}

#[test]
fn a_real_word_error_is_fixed_when_the_context_is_clear() {
    // Priced by their spelling, `their` is two substitutions from `there`: too costly to change a correct word.
    let by_spelling = Ranking {
        context_homophone_cost: 99.0,
        context_real_word_cost: 1.5,
        ..Ranking::default()
    };
    let mut speller = speller();
    speller.set_ranking(by_spelling);
    assert_eq!(speller.correct("I want to go their.").text, "I want to go their.");
    // A trained model knows `ere` is often typed `eir` (cost before the ranking's edit bonus): now the context
    // decides, and only where it is clear.
    let mut errors = ErrorModel::default();
    assert!(errors.add_rule("ere", "eir", 4.5));
    let lm = ArpaModel::from_arpa_text("toy.arpa", ARPA).expect("toy ARPA");
    let speller = Speller::new(Lang::En, lexicon(), errors, lm, by_spelling);
    let fixed = speller.correct("I want to go their.");
    assert_eq!(fixed.text, "I want to go there.");
    assert_eq!(fixed.spans.len(), 1);
    assert!(fixed.spans[0].score > 0.0, "{:?}", fixed.spans);
    assert_eq!(speller.correct("the big house").text, "the big house");
    assert_eq!(speller.correct("their house").text, "their house");
    // Context candidates are cached per thread; new settings must not reuse them.
    let mut speller = speller;
    speller.set_ranking(Ranking {
        context_real_word_cost: 50.0,
        ..by_spelling
    });
    assert_eq!(speller.correct("I want to go their.").text, "I want to go their.");
}

#[test]
fn homophones_are_told_apart_by_the_context_alone() {
    // `their` and `there` sound the same: by default replacing one by the other costs only
    // `context_real_word_cost`, with no rule for their spelling, and the language model decides.
    let speller = speller();
    let fixed = speller.correct("I want to go their.");
    assert_eq!(fixed.text, "I want to go there.");
    assert_eq!((fixed.spans.len(), fixed.spans[0].original.as_str()), (1, "their"));
    // Where the context favours the word as written, or says too little, it stays.
    assert_eq!(speller.correct("their house").text, "their house");
    assert_eq!(speller.correct("the big house").text, "the big house");
    // A dearer real-word change turns it off.
    let mut speller = speller;
    speller.set_ranking(Ranking {
        context_real_word_cost: 5.0,
        ..Ranking::default()
    });
    assert_eq!(speller.correct("I want to go their.").text, "I want to go their.");
}

#[test]
fn bad_input_never_panics_and_non_words_are_untouched() {
    let speller = speller();
    let long = "x".repeat(5_000);
    let long_word = format!("the {} end", "abc".repeat(400));
    let inputs = [
        "",
        " ",
        "\t\n",
        "🙂🙂 🙂",
        "日本語のテキストです。",
        "Привет, мир",
        "12345 3.14 $%^&*",
        "naïve café",
        "\u{0}\u{7}",
        long.as_str(),
        long_word.as_str(),
        "a-b-c-d-e-f",
        "'''---'''",
    ];
    for input in inputs {
        let fixed = speller.correct(input);
        assert_consistent(input, &fixed);
        let _ = speller.check(input);
        for word in input.split_whitespace() {
            let _ = speller.suggest(word, 5);
        }
    }
    for input in ["", "🙂🙂 🙂", "日本語のテキストです。", "12345 3.14 $%^&*"] {
        assert_eq!(speller.correct(input).text, input);
    }
    // A token mixing the lexicon's letters with another script's is left as it is (not `日x` → `x`).
    for (input, mixed) in [
        ("scrumbled 日uggs", "日uggs"),
        ("scrumbledЖ uggs", "scrumbledЖ"),
        ("scrumbledا uggs", "scrumbledا"),
    ] {
        let fixed = speller.correct(input);
        assert!(fixed.text.contains(mixed), "{input} → {}", fixed.text);
        assert!(speller.suggest(mixed, 3).iter().all(|s| s.distance == 0), "{mixed}");
    }
    assert_eq!(speller.correct("scrumbled uggs").text, "scrambled eggs");
}

#[test]
fn suggestions_rank_the_intended_word_first() {
    let speller = speller();
    let got = speller.suggest("recieved", 3);
    assert_eq!(got[0].word, "received");
    assert!(got[0].error > 0.0 && got[0].distance == 1, "{got:?}");
    assert_eq!(speller.suggest("Leter", 1)[0].word, "Letter");
    assert!(speller.suggest("1234", 5).is_empty());
    assert!(speller.suggest("the", 0).is_empty());
    // A known word comes first as itself.
    assert_eq!(speller.suggest("house", 2)[0].word, "house");
    // Splits of run-together words.
    assert!(speller.suggest("bighouse", 5).iter().any(|s| s.word == "big house"));
}

#[test]
fn cached_and_fresh_suggestions_agree_and_the_best_does_not_depend_on_k() {
    let speller = speller();
    let words = [
        "recieved",
        "Leter",
        "house",
        "their",
        "bighouse",
        "scrumbled",
        "tomorow",
        "zzyzx",
        "egs",
    ];
    for word in words {
        let fresh = speller.suggest(word, 5);
        let cached = speller.suggest(word, 5);
        assert_eq!(fresh, cached, "{word}");
        fivegram_spell::speller::clear_thread_caches();
        assert_eq!(speller.suggest(word, 5), fresh, "{word}");
        // Asking for one suggestion prunes harder (a known word's own score is the bar from the start) and must
        // still give the first of five.
        let one = speller.suggest(word, 1);
        assert_eq!(one.first().map(|s| &s.word), fresh.first().map(|s| &s.word), "{word}");
        for k in 2..5 {
            let words_k: Vec<String> = speller.suggest(word, k).into_iter().map(|s| s.word).collect();
            let prefix: Vec<String> = fresh.iter().take(k).map(|s| s.word.clone()).collect();
            assert_eq!(words_k, prefix, "{word} k={k}");
        }
    }
}

#[test]
fn capitalised_unknown_words_keep_their_first_letter() {
    let mut speller = speller();
    // A capitalised unknown word inside a sentence reads as a name; a candidate that changes its first letter
    // pays `capital_first_letter_cost`.
    let ranking = Ranking {
        capital_first_letter_cost: 5.0,
        keep_name_cost: 2.0,
        ..*speller.ranking()
    };
    speller.set_ranking(ranking);
    assert_eq!(speller.correct("I want the big Bouse.").text, "I want the big Bouse.");
    assert_eq!(speller.correct("I want the big Hous.").text, "I want the big House.");
    let ranking = Ranking {
        capital_first_letter_cost: 0.0,
        keep_name_cost: 2.0,
        ..*speller.ranking()
    };
    speller.set_ranking(ranking);
    assert_eq!(speller.correct("I want the big Bouse.").text, "I want the big House.");
}

#[test]
fn check_reports_unknown_and_changed_words() {
    let speller = speller();
    let spans = speller.check("the zzyzx letter recieved");
    let originals: Vec<&str> = spans.iter().map(|s| s.original.as_str()).collect();
    assert_eq!(originals, ["zzyzx", "recieved"]);
    assert_eq!(spans[0].replacement, "zzyzx");
    assert_eq!(spans[1].replacement, "received");
}

#[test]
fn variants_are_words_in_context_but_not_in_isolation() {
    let text = "I want to go to the parks.";
    let plain = speller();
    assert_eq!(plain.correct(text).text, "I want to go to the park.");
    let speller = speller().with_variants(Lexicon::from_counts([("parks", 40)]));
    // In running text a variant is a word: kept, and not reported as unknown.
    assert_eq!(speller.correct(text).text, text);
    assert!(speller.check(text).is_empty(), "{:?}", speller.check(text));
    assert_eq!(plain.check(text).len(), 1);
    // Isolated correction does not know it: the same suggestions as without variants.
    assert_eq!(speller.suggest("parks", 3), plain.suggest("parks", 3));
    assert_eq!(speller.suggest("parks", 1)[0].word, "park");
    // A misspelling next to a variant is still corrected as before.
    assert_eq!(speller.correct("the big hous").text, plain.correct("the big hous").text);
}

#[test]
fn user_words_are_never_changed_and_suggested_as_themselves() {
    let plain = speller();
    assert_eq!(plain.correct("I want the big hous.").text, "I want the big house.");
    let speller = speller().with_user_words(["Hous", "zzyzx"]);
    // Any case of a user word is kept, and not reported.
    assert_eq!(speller.correct("I want the big Hous.").text, "I want the big Hous.");
    assert_eq!(speller.correct("I want the big hous.").text, "I want the big hous.");
    assert!(speller.check("the zzyzx letter").is_empty());
    let suggestions = speller.suggest("HOUS", 3);
    assert_eq!(suggestions.len(), 1);
    assert_eq!((suggestions[0].word.as_str(), suggestions[0].distance), ("HOUS", 0));
    // Other tokens are corrected as before: user words are not proposed for them.
    assert_eq!(speller.correct("the leter").text, plain.correct("the leter").text);
    assert_eq!(speller.suggest("huse", 3), plain.suggest("huse", 3));
}

#[test]
fn batches_agree_with_single_calls_serial_or_parallel() {
    let texts = ["scrumbled uggs", "teh leter", "", "the big hous", "I want to go their."];
    for parallel in [true, false] {
        let speller = speller().with_parallel(parallel);
        let batch = speller.correct_batch(&texts);
        let single: Vec<Correction> = texts.iter().map(|t| speller.correct(t)).collect();
        assert_eq!(batch, single);
        let suggest = speller.suggest_batch(&["leter", "hous"], 3);
        assert_eq!(suggest[1], speller.suggest("hous", 3));
        assert_eq!(speller.check_batch(&texts)[1], speller.check(texts[1]));
    }
}

#[test]
fn model_directory_round_trip_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    std::fs::write(path.join("lm.arpa"), ARPA).unwrap();
    lexicon().write(path.join("lexicon.fst")).unwrap();
    ErrorModel::default().write(path.join("errors.tsv"), "toy").unwrap();
    // No manifest yet: a missing model, with the command that builds one.
    let err = Speller::open(path).unwrap_err();
    assert!(matches!(err, Error::MissingModel { .. }), "{err}");
    assert!(err.to_string().contains("build-spell-model.sh"), "{err}");
    Manifest::new(Lang::En, "lm.arpa").write(path).unwrap();
    let speller = Speller::open(path).unwrap();
    assert_eq!(
        speller.correct("scrumbled uggs Bundict").text,
        "scrambled eggs Benedict"
    );
    // Variants named by the manifest are read; a damaged variants file is an error naming it.
    Lexicon::from_counts([("parks", 40)])
        .write(path.join("variants.fst"))
        .unwrap();
    let mut manifest = Manifest::open(path).unwrap();
    manifest.variants = Some("variants.fst".into());
    manifest.write(path).unwrap();
    let speller = Speller::open(path).unwrap();
    assert_eq!(speller.correct("go to the parks").text, "go to the parks");
    std::fs::write(path.join("variants.fst"), b"garbage").unwrap();
    let err = Speller::open(path).unwrap_err().to_string();
    assert!(err.contains("variants.fst"), "{err}");
    manifest.variants = None;
    manifest.write(path).unwrap();
    // A damaged lexicon is an error naming the file.
    std::fs::write(path.join("lexicon.fst"), b"garbage").unwrap();
    let err = Speller::open(path).unwrap_err().to_string();
    assert!(err.contains("lexicon.fst"), "{err}");
    // A manifest of another version.
    let text = std::fs::read_to_string(path.join(MANIFEST)).unwrap();
    std::fs::write(path.join(MANIFEST), text.replace("\"version\": 1", "\"version\": 99")).unwrap();
    let err = Speller::open(path).unwrap_err();
    assert!(matches!(err, Error::Version { found: 99, .. }), "{err}");
    // Not a directory at all.
    let err = Speller::open(path.join("nowhere")).unwrap_err();
    assert!(matches!(err, Error::MissingModel { .. }), "{err}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    #[test]
    fn any_text_keeps_everything_outside_the_spans(text in "\\PC{0,60}") {
        let speller = speller();
        let fixed = speller.correct(&text);
        assert_consistent(&text, &fixed);
    }

    #[test]
    fn letter_soup_keeps_everything_outside_the_spans(text in "[a-zA-Z ,.'-]{0,80}") {
        let speller = speller();
        let fixed = speller.correct(&text);
        assert_consistent(&text, &fixed);
    }

    /// With common words written capitalised (recasing, names recased whole) and handles: the same promise, and
    /// a span that only changes case is a recasing (score 0), never a correction.
    #[test]
    fn recasing_keeps_everything_outside_the_spans(text in "[a-eA-E ,.'@#-]{0,40}( (the|big|house|i|park|benedict|@|#)){0,8}") {
        let capitalised =
            Lexicon::from_counts([("the", 1), ("big", 1), ("house", 2), ("i", 1), ("park", 1), ("benedict", 1)]);
        let speller = speller().with_capitalised(&capitalised);
        let fixed = speller.correct(&text);
        assert_consistent(&text, &fixed);
        for span in fixed.spans.iter().filter(|s| s.replacement.to_lowercase() == s.original.to_lowercase()) {
            proptest::prop_assert_eq!(span.score, 0.0, "{:?}", span);
        }
    }
}

/// The pruned search (bounds on each candidate's score, the full error model only for those that can still make
/// the list) finds exactly the first `k` of the unpruned ranking, on a lexicon dense with neighbours and an error
/// model with cheap rules (where loose bounds would prune too little and wrong ones would change answers).
/// A dense synthetic lexicon over a small alphabet (most words have many neighbours), an error model of cheap
/// rules, and queries made by up to two random edits of its words (or none).
fn dense_model() -> (Speller, Vec<String>) {
    // A deterministic generator: words over a small alphabet, so that most have many neighbours.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let letters: Vec<char> = "aeioustrnlcph".chars().collect();
    let mut words: Vec<(String, u64)> = Vec::new();
    for _ in 0..3_000 {
        let len = 3 + next(7) as usize;
        let word: String = (0..len).map(|_| letters[next(letters.len() as u64) as usize]).collect();
        words.push((word, 1 + next(1_000) * next(50)));
    }
    let lexicon = Lexicon::from_counts(words.iter().map(|(w, c)| (w.as_str(), *c)));
    let mut errors = ErrorModel::default();
    for (alpha, beta, cost) in [
        ("ph", "f", 3.2),
        ("ss", "s", 3.1),
        ("ll", "l", 3.0),
        ("e$", "$", 3.3),
        ("^a", "^", 3.4),
        ("ie", "ei", 3.0),
        ("cc", "c", 3.2),
        ("ou", "o", 3.5),
        ("n", "nn", 3.6),
    ] {
        assert!(errors.add_rule(alpha, beta, cost));
    }
    let lm = ArpaModel::from_arpa_text("toy.arpa", ARPA).expect("toy ARPA");
    let speller = Speller::new(Lang::En, lexicon, errors, lm, Ranking::default()).with_parallel(false);
    let mut queries = Vec::new();
    for (word, _) in words.iter().step_by(7) {
        // Two random edits of a lexicon word (or none).
        let mut query: Vec<char> = word.chars().collect();
        for _ in 0..next(3) {
            let at = next(query.len() as u64 + 1) as usize;
            match next(3) {
                0 if at < query.len() => {
                    query.remove(at);
                }
                1 if at < query.len() => query[at] = letters[next(letters.len() as u64) as usize],
                _ => query.insert(at, letters[next(letters.len() as u64) as usize]),
            }
        }
        queries.push(query.into_iter().collect());
    }
    (speller, queries)
}

/// The ranking with the staged search of isolated suggestions turned off: every candidate is looked at.
fn unstaged(ranking: Ranking) -> Ranking {
    Ranking {
        stop_one_edit: 1.0,
        stop_spelling: 1.0,
        ..ranking
    }
}

#[test]
fn pruned_suggestions_are_the_first_of_the_full_ranking() {
    let (mut speller, queries) = dense_model();
    // Without the stages the pruned search is exact: its top k is the first k of the ranking of every
    // candidate. With them (the default) the same holds of the candidates of the stages it ran, whatever k.
    for ranking in [unstaged(*speller.ranking()), Ranking::default()] {
        speller.set_ranking(ranking);
        for query in &queries {
            let all = speller.suggest(query, 100_000);
            for k in [1, 2, 5] {
                let pruned = speller.suggest(query, k);
                let first: Vec<_> = all.iter().take(k).cloned().collect();
                assert_eq!(pruned, first, "{query} k={k}");
            }
        }
    }
    assert!(queries.len() > 400);
}

/// What the staged search answers for `k` suggestions when a stage picked `first` (one of `full`, the full
/// ranking): `first`, then the full ranking without it.
fn first_then_full(first: &Suggestion, full: &[Suggestion], k: usize) -> Vec<Suggestion> {
    std::iter::once(first)
        .chain(full.iter().filter(|s| *s != first))
        .take(k)
        .cloned()
        .collect()
}

/// Checks the staged answers for `query` against the full ranking `full`: when `stops`, the first suggestion is
/// the best of those the stage looked at (`looked_at`) and the others are the full ranking without it, for every
/// k; otherwise the answers are the full ranking's. Returns (whether the full ranking's first differs from the
/// stage's, whether the second and third suggestions hold a word the stage did not look at).
fn check_staged(
    speller: &Speller,
    query: &str,
    full: &[Suggestion],
    stops: bool,
    looked_at: impl Fn(&Suggestion) -> bool,
    what: &str,
) -> (bool, bool) {
    let Some(first) = full.iter().find(|s| !stops || looked_at(s)) else {
        assert!(speller.suggest(query, 5).is_empty(), "{query} {what}");
        return (false, false);
    };
    for k in [1, 2, 3, 100_000] {
        let staged = speller.suggest(query, k);
        assert_eq!(staged, first_then_full(first, full, k), "{query} k={k} {what}");
    }
    let three = first_then_full(first, full, 3);
    (first != &full[0], stops && three.iter().any(|s| !looked_at(s)))
}

#[test]
fn the_staged_search_picks_the_first_from_a_good_enough_word_one_edit_away_and_the_rest_in_full() {
    let (mut speller, queries) = dense_model();
    let full_ranking = unstaged(*speller.ranking());
    let (mut stopped, mut went_on, mut reordered, mut filled) = (0, 0, 0, 0);
    for query in &queries {
        speller.set_ranking(full_ranking);
        let full = speller.suggest(query, 100_000);
        let known = speller.lexicon().id(query).is_some();
        // The best word one edit away (splits, also at distance 1, hold a space and do not count).
        let best_one_edit = full
            .iter()
            .filter(|s| s.distance == 1 && !s.word.contains(' '))
            .map(|s| s.score)
            .fold(f32::NEG_INFINITY, f32::max);
        for threshold in [-5.0, -6.0, -7.0] {
            speller.set_ranking(Ranking {
                stop_one_edit: threshold,
                ..full_ranking
            });
            let stops = !known && best_one_edit >= threshold;
            // Stopped: the first is the best of the words one edit away and the splits.
            let what = format!("threshold={threshold}");
            let (other_first, fill) = check_staged(&speller, query, &full, stops, |s| s.distance <= 1, &what);
            reordered += usize::from(other_first);
            filled += usize::from(fill);
            if stops {
                stopped += 1;
            } else {
                went_on += 1;
            }
        }
    }
    eprintln!("stopped {stopped}, went on {went_on}, other first {reordered}, filled in {filled}");
    assert!(stopped > 100 && went_on > 100, "stopped {stopped}, went on {went_on}");
    // The stop changes some first suggestions (then the full ranking's first comes second), and the full search
    // fills in many lists with words the stage did not look at.
    assert!(
        reordered >= 3 && filled > 100,
        "other first {reordered}, filled in {filled}"
    );
}

#[test]
fn the_sound_alike_stage_picks_the_first_only_after_a_good_enough_spelling_neighbour() {
    let (mut speller, queries) = dense_model();
    let full_ranking = unstaged(*speller.ranking());
    let (mut skipped, mut went_on, mut reordered, mut filled) = (0, 0, 0, 0);
    for query in &queries {
        speller.set_ranking(full_ranking);
        let full = speller.suggest(query, 100_000);
        let known = speller.lexicon().id(query).is_some();
        // Spelling neighbours are within the edits the search allows (more for long words); the sound-alike
        // search adds only words further away.
        let max = if query.chars().count() >= full_ranking.long_word {
            full_ranking.long_distance.max(2)
        } else {
            2
        } as u32;
        let best_spelling = full
            .iter()
            .filter(|s| (1..=max).contains(&s.distance) && !s.word.contains(' '))
            .map(|s| s.score)
            .fold(f32::NEG_INFINITY, f32::max);
        let threshold = -6.0;
        speller.set_ranking(Ranking {
            stop_spelling: threshold,
            ..full_ranking
        });
        let skips = !known && best_spelling >= threshold;
        let (other_first, fill) = check_staged(&speller, query, &full, skips, |s| s.distance <= max, "");
        reordered += usize::from(other_first);
        filled += usize::from(fill);
        if skips {
            skipped += 1;
        } else {
            went_on += 1;
        }
    }
    eprintln!("skipped {skipped}, went on {went_on}, other first {reordered}, filled in {filled}");
    assert!(skipped > 50 && went_on > 50, "skipped {skipped}, went on {went_on}");
    // On this model the sound-alikes change no first suggestion at -6, but they fill in lists.
    assert!(filled > 20, "other first {reordered}, filled in {filled}");
}

#[test]
fn more_than_one_suggestion_is_the_staged_first_then_the_full_ranking() {
    // With the default ranking, on both test models: `suggest(w, k)` for k > 1 is `suggest(w, 1)` followed by
    // the full search's ranking without it.
    let (dense, queries) = dense_model();
    let small = speller();
    let words = [
        "recieved",
        "leter",
        "scrumbled",
        "tomorow",
        "egs",
        "bighouse",
        "housse",
        "thier",
        "zzyzx",
    ];
    let cases = [
        (dense, queries),
        (small, words.iter().map(|w| w.to_string()).collect::<Vec<_>>()),
    ];
    let mut filled = 0;
    for (mut speller, queries) in cases {
        let staged_ranking = *speller.ranking();
        for query in &queries {
            speller.set_ranking(unstaged(staged_ranking));
            let full = speller.suggest(query, 100_000);
            speller.set_ranking(staged_ranking);
            let one = speller.suggest(query, 1);
            let Some(first) = one.first() else {
                assert!(full.is_empty(), "{query}");
                continue;
            };
            for k in [2, 5] {
                assert_eq!(
                    speller.suggest(query, k),
                    first_then_full(first, &full, k),
                    "{query} k={k}"
                );
            }
            // Lists with a first one edit away and words further away (a search that stopped after the words one
            // edit away without filling in would have none).
            let five = speller.suggest(query, 5);
            filled += usize::from(first.distance == 1 && five.iter().any(|s| s.distance >= 2));
        }
    }
    assert!(filled > 50, "filled in {filled}");
}

#[test]
fn the_context_evaluation_counts_each_confusion() {
    use fivegram_spell::eval::{Injected, evaluate_context};
    let mut errors = ErrorModel::default();
    assert!(errors.add_rule("ere", "eir", 4.5));
    let lm = ArpaModel::from_arpa_text("toy.arpa", ARPA).expect("toy ARPA");
    let speller = Speller::new(Lang::En, lexicon(), errors, lm, Ranking::default());
    let inject = |original: &str, corrupted: &str, word: &str, error: &str| {
        let start = corrupted.find(error).expect("the error is in the sentence");
        Injected {
            original: original.into(),
            corrupted: corrupted.into(),
            at: start..start + error.len(),
            word: word.into(),
            error: error.into(),
        }
    };
    let items = [
        inject("I want to go there.", "I want to go their.", "there", "their"),
        inject("I want to go There.", "I want to go Their.", "There", "Their"),
        // The rule prices `there` typed as `their`, not the other way round: this one stays.
        inject("their house", "there house", "their", "there"),
    ];
    let report = evaluate_context(&speller, &items);
    assert_eq!((report.sentences, report.fixed, report.miscorrected), (3, 2, 0));
    let counts: Vec<_> = report
        .by_confusion
        .iter()
        .map(|c| (c.error.as_str(), c.intended.as_str(), c.injected, c.fixed))
        .collect();
    assert_eq!(counts, [("their", "there", 2, 2), ("there", "their", 1, 0)]);
}

#[test]
fn misspellings_are_injected_once_each_and_compared_with_isolated_suggestions() {
    use fivegram_spell::eval::{Item, evaluate_context, inject_misspellings, isolated_fixes};
    let item = |misspelling: &str, target: &str| Item {
        misspelling: misspelling.into(),
        targets: vec![target.into()],
    };
    let items = [
        item("recieved", "received"),
        item("receved", "received"),
        item("two words", "received"),
        item("scrambeld", "scrambled"),
    ];
    let sentences: Vec<String> = [
        "I received the letter yesterday .",
        "I Received the letter .",
        "I received the letter .",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let injected = inject_misspellings(&sentences, Lang::En, &items, 7);
    // Two single-word misspellings of `received`, each used once; the third sentence finds none left.
    assert_eq!(injected.len(), 2);
    let mut errors: Vec<&str> = injected.iter().map(|i| i.error.as_str()).collect();
    errors.sort_by_key(|e| e.to_lowercase());
    assert_eq!(
        errors.iter().map(|e| e.to_lowercase()).collect::<Vec<_>>(),
        ["receved", "recieved"]
    );
    for i in &injected {
        assert_eq!(&i.corrupted[i.at.clone()], i.error);
        assert_eq!(i.original.replacen(&i.word, &i.error, 1), i.corrupted);
        // Case is kept: `Received` becomes `Recieved` or `Receved`.
        assert_eq!(i.word.starts_with('R'), i.error.starts_with('R'));
    }
    let speller = speller();
    let report = evaluate_context(&speller, &injected);
    assert_eq!((report.sentences, report.fixed, report.false_alarms), (2, 2, 0));
    assert_eq!(isolated_fixes(&speller, &injected), 2);
}

/// A bigram model where `come here`, `hear you` and `was made` are far likelier than the alternatives.
const HOMOPHONES_ARPA: &str = "\\data\\
ngram 1=13
ngram 2=9

\\1-grams:
-6.0\t<unk>
-99\t<s>\t-0.5
-1.0\t</s>
-1.5\t.\t-0.3
-1.7\ti\t-0.3
-2.0\tcan\t-0.3
-2.4\tcome\t-0.3
-2.0\there\t-0.3
-2.6\thear\t-0.3
-2.2\tyou\t-0.3
-2.0\twas\t-0.3
-2.3\tmade\t-0.3
-3.5\tmuddy\t-0.3

\\2-grams:
-0.2\tcome here
-0.3\there .
-0.3\tcan hear
-0.2\thear you
-0.3\tyou .
-0.5\t<s> i
-0.4\ti can
-0.2\twas made
-0.4\tmade .

\\end\\
";

fn homophones_speller(ranking: Ranking) -> Speller {
    let lexicon = Lexicon::from_counts([
        ("i", 25_000),
        ("can", 9_000),
        ("come", 3_000),
        ("here", 6_000),
        ("hear", 1_500),
        ("her", 8_000),
        ("hero", 400),
        ("herd", 300),
        ("you", 12_000),
        ("was", 20_000),
        ("made", 4_000),
        ("muddy", 200),
    ]);
    let lm = ArpaModel::from_arpa_text("homophones.arpa", HOMOPHONES_ARPA).expect("toy ARPA");
    Speller::new(Lang::En, lexicon, ErrorModel::default(), lm, ranking)
}

#[test]
fn homophones_the_spelling_ranking_leaves_out_are_added_and_vowel_blind_keys_are_not_homophones() {
    // With one candidate per word, the spelling ranking proposes nothing for `hear` or `here` (`her`, one
    // edit away, would come before the other, two edits away): only the added homophone can fix them.
    let ranking = Ranking {
        candidates: 1,
        ..Ranking::default()
    };
    let speller = homophones_speller(ranking);
    assert_eq!(speller.correct("come hear .").text, "come here .");
    assert_eq!(speller.correct("i can here you .").text, "i can hear you .");
    assert_eq!(speller.correct("come here .").text, "come here .");
    let speller = homophones_speller(Ranking {
        context_homophones: 0,
        ..ranking
    });
    assert_eq!(speller.correct("come hear .").text, "come hear .");
    // `muddy` and `made` share a sound-alike key (vowels dropped) but not their vowel sounds, three edits
    // apart: not homophones, so the language model's preference for `was made` does not change a correct word.
    let speller = homophones_speller(Ranking::default());
    assert_eq!(speller.correct("was muddy .").text, "was muddy .");
    assert_eq!(speller.correct("come hear .").text, "come here .");
}

#[test]
fn real_word_errors_are_injected_from_the_language_s_own_pairs() {
    use fivegram_spell::eval::{confusions, inject_errors};
    let sentences = vec![
        "Ich glaube, dass der Mann das Buch kennt.".to_string(),
        "I want to go there with them.".to_string(),
    ];
    let german = inject_errors(&sentences, Lang::De, 3);
    assert_eq!(german.len(), 1, "{german:?}");
    let pairs = confusions(Lang::De);
    let swapped = (german[0].word.to_lowercase(), german[0].error.to_lowercase());
    assert!(
        pairs
            .iter()
            .any(|&(a, b)| (a, b) == (swapped.0.as_str(), swapped.1.as_str())
                || (b, a) == (swapped.0.as_str(), swapped.1.as_str())),
        "{swapped:?}"
    );
    // Case is kept: `Mann` becomes `Man`.
    if german[0].word == "Mann" {
        assert_eq!(german[0].error, "Man");
    }
    let english = inject_errors(&sentences, Lang::En, 3);
    assert_eq!(english.len(), 1);
    assert_eq!(english[0].original, sentences[1]);
    assert!(!confusions(Lang::En).iter().any(|&(a, _)| a == "dass"));
}

#[test]
fn corrections_are_written_as_the_corpus_writes_them() {
    // Values are `WrittenCase`s: 1 a capital first letter, 2 all capitals.
    let capitalised = Lexicon::from_counts([("benedict", 1), ("egg", 2), ("nowhere", 1)]);
    let cased = speller().with_capitalised(&capitalised);
    assert_eq!(cased.correct("scrumbled uggs bundict").text, "scrambled eggs Benedict");
    assert_eq!(cased.suggest("bundict", 1)[0].word, "Benedict");
    assert_eq!(cased.suggest("eggg", 2)[1].word, "EGG");
    // The token's own capitals still count: a capital first letter, or all capitals.
    assert_eq!(cased.suggest("BUNDICT", 1)[0].word, "BENEDICT");
    // Without the list, the token's case alone decides.
    assert_eq!(
        speller().correct("scrumbled uggs bundict").text,
        "scrambled eggs benedict"
    );
}

#[test]
fn words_typed_in_lowercase_are_recased_as_the_corpus_writes_them() {
    let capitalised = Lexicon::from_counts([("benedict", 1), ("i", 1), ("park", 2)]);
    let cased = speller().with_capitalised(&capitalised);
    let input = "i received the letter, benedict is going to the park.";
    let fixed = cased.correct(input);
    assert_eq!(fixed.text, "I received the letter, Benedict is going to the PARK.");
    assert_consistent(input, &fixed);
    let recased: Vec<(&str, &str)> = fixed
        .spans
        .iter()
        .map(|s| (s.original.as_str(), s.replacement.as_str()))
        .collect();
    assert_eq!(recased, [("i", "I"), ("benedict", "Benedict"), ("park", "PARK")]);
    assert!(fixed.spans.iter().all(|s| s.score == 0.0), "{:?}", fixed.spans);
    // `check` reports them too.
    assert_eq!(cased.check(input).len(), 3);
    // Any capital in the token is the writer's choice and stays; so do words the user declared.
    assert_eq!(cased.correct("Park is pArk").text, "Park is pArk");
    let user = speller().with_capitalised(&capitalised).with_user_words(["park"]);
    assert_eq!(user.correct("the park").text, "the park");
    // Handles and hashtags are names as their owners wrote them: neither recased nor corrected.
    let handles = "to @benedict, #park, @bundict";
    assert_eq!(cased.correct(handles).text, handles);
    assert!(cased.check(handles).is_empty());
    // So is a word glued to an undecodable byte (U+FFFD): a piece of a word nobody can read. Its neighbours
    // across a space are still corrected.
    let broken = "bundict\u{FFFD} \u{FFFD}park bundict";
    assert_eq!(cased.correct(broken).text, "bundict\u{FFFD} \u{FFFD}park Benedict");
    // Off, nothing is recased (manifests written before the setting read it as off).
    let mut off = speller().with_capitalised(&capitalised);
    off.set_ranking(Ranking {
        fix_case: false,
        ..Ranking::default()
    });
    assert_eq!(off.correct(input).text, input);
    let old: Ranking = serde_json::from_str("{}").expect("empty ranking");
    assert!(!old.fix_case);
}

#[test]
fn a_name_whose_first_word_is_also_lowercase_is_recased_whole_in_english() {
    const NAMES: &str = "\\data\\
ngram 1=10
ngram 2=4

\\1-grams:
-6.0\t<unk>
-99\t<s>\t-0.5
-1.0\t</s>
-1.5\tin\t-0.3
-2.0\tnew\t-0.3
-4.0\tyork\t-0.3
-3.5\tlondon\t-0.3
-3.0\tvon\t-0.3
-5.0\tneumann\t-0.3
-2.5\tlive\t-0.3

\\2-grams:
-0.5\tnew york
-2.5\tin london
-0.3\tvon neumann
-1.0\tlive in

\\end\\
";
    let lexicon = || {
        Lexicon::from_counts([
            ("in", 30_000),
            ("new", 10_000),
            ("york", 100),
            ("london", 300),
            ("von", 1_000),
            ("neumann", 10),
            ("live", 3_000),
        ])
    };
    let capitalised = Lexicon::from_counts([("york", 1), ("london", 1), ("neumann", 1)]);
    let speller = |lang| {
        let lm = ArpaModel::from_arpa_text("names.arpa", NAMES).expect("names ARPA");
        Speller::new(lang, lexicon(), ErrorModel::default(), lm, Ranking::default()).with_capitalised(&capitalised)
    };
    // `york` follows `new` thousands of times more often than it comes anywhere: the pair is one name. `london`
    // after `in` is no such pair, and a particle stays in lowercase.
    let input = "live in new york in london von neumann";
    let fixed = speller(Lang::En).correct(input);
    assert_eq!(fixed.text, "live in New York in London von Neumann");
    assert_consistent(input, &fixed);
    // A capital the writer typed is kept as it is.
    assert_eq!(speller(Lang::En).correct("in New york").text, "in New York");
    // German capitalises nouns, not the words before them (`zum Beispiel`).
    assert_eq!(
        speller(Lang::De).correct(input).text,
        "live in new York in London von Neumann"
    );
}

#[test]
fn case_errors_are_injected_once_per_word_and_fixed_only_by_their_case() {
    use fivegram_spell::eval::{evaluate_context, inject_case_errors};
    let capitalised = Lexicon::from_counts([("benedict", 1)]);
    let speller = speller().with_capitalised(&capitalised);
    let sentences = vec![
        "Benedict received the letter.".to_string(),
        "I received the letter to Benedict.".to_string(),
        "The letter is going to Benedict.".to_string(),
        "Hello Xyzzy is big.".to_string(),
    ];
    // The first word of a sentence is not a case error, `Benedict` is injected once, and `Xyzzy` is no lexicon
    // word: the other sentences get nothing.
    let injected = inject_case_errors(&speller, &sentences, 7);
    assert_eq!(injected.len(), 1);
    assert_eq!(injected[0].original, sentences[1]);
    assert_eq!(injected[0].corrupted, "I received the letter to benedict.");
    assert_eq!(
        (injected[0].word.as_str(), injected[0].error.as_str()),
        ("Benedict", "benedict")
    );
    let report = evaluate_context(&speller, &injected);
    assert_eq!((report.fixed, report.miscorrected, report.false_alarms), (1, 0, 0));
    // Without the list nothing is recased: not fixed.
    let report = evaluate_context(&self::speller(), &injected);
    assert_eq!(report.fixed, 0);
}

#[test]
fn a_name_inside_a_sentence_is_not_turned_into_a_lowercase_word_lightly() {
    let capitalised = Lexicon::from_counts([("benedict", 1)]);
    let with_cost = |cost: f32| {
        let mut speller = speller().with_capitalised(&capitalised);
        speller.set_ranking(Ranking {
            name_to_word_cost: cost,
            ..Ranking::default()
        });
        speller
    };
    // `Leter` inside the sentence looks like a name; `letter` is a word the corpus writes in lowercase.
    let text = "I received the Leter yesterday.";
    assert_eq!(with_cost(0.0).correct(text).text, "I received the Letter yesterday.");
    assert_eq!(with_cost(50.0).correct(text).text, text);
    // At the start of a sentence a capital says nothing; a name (`Benedict`) pays nothing either.
    assert_eq!(with_cost(50.0).correct("Leter received.").text, "Letter received.");
    assert_eq!(
        with_cost(50.0).correct("scrumbled uggs Bundict").text,
        "scrambled eggs Benedict"
    );
}

#[test]
fn the_error_model_s_own_confusions_are_injected_once_per_word() {
    use fivegram_spell::edit::Scratch;
    use fivegram_spell::eval::{inject_model_confusions, model_confusion};
    let speller = speller();
    let mut scratch = Scratch::default();
    // `egg` is one deletion from `eggs`: the likeliest real-word mistyping among its neighbours.
    assert_eq!(model_confusion(&speller, "eggs", &mut scratch).as_deref(), Some("egg"));
    assert_eq!(model_confusion(&speller, "notaword", &mut scratch), None);
    let sentences = vec![
        "the big eggs".to_string(),
        "the big eggs".to_string(),
        "Eggs and the letter".to_string(),
    ];
    let injected = inject_model_confusions(&speller, &sentences, 1);
    // Each intended word is used once: `eggs` in one of the first two sentences only.
    let eggs = injected.iter().filter(|i| i.word.to_lowercase() == "eggs").count();
    assert!(eggs <= 1, "{injected:?}");
    for item in &injected {
        let proposal = model_confusion(&speller, &item.word.to_lowercase(), &mut scratch);
        assert_eq!(Some(item.error.to_lowercase()), proposal, "{item:?}");
        assert_ne!(item.corrupted, item.original);
    }
    assert!(!injected.is_empty());
}

/// A bigram model with English contractions as the tokenizer splits them (`do n't`, `they 're`, `it 's`), and
/// a modal's `have`.
const CONTRACTIONS_ARPA: &str = "\\data\\
ngram 1=20
ngram 2=11

\\1-grams:
-6.0\t<unk>
-99\t<s>\t-0.5
-1.0\t</s>
-1.7\ti\t-0.3
-2.0\tdo\t-0.3
-2.2\tn't\t-0.3
-2.3\tknow\t-0.3
-2.0\tthey\t-0.3
-2.4\t're\t-0.3
-2.3\there\t-0.3
-1.9\tit\t-0.3
-2.0\t's\t-0.3
-2.5\tits\t-0.3
-2.6\ttail\t-0.3
-2.6\tdone\t-0.3
-2.4\tshould\t-0.3
-2.0\thave\t-0.3
-1.8\tof\t-0.3
-2.7\tknown\t-0.3
-2.8\tcourse\t-0.3

\\2-grams:
-0.3\tdo n't
-0.4\tn't know
-0.3\tthey 're
-0.5\t're here
-0.5\t<s> i
-0.5\ti do
-0.6\tits tail
-0.5\tit 's
-0.4\tshould have
-0.5\thave known
-0.3\tof course

\\end\\
";

fn contraction_speller(lang: Lang) -> Speller {
    let lm = ArpaModel::from_arpa_text("contractions.arpa", CONTRACTIONS_ARPA).expect("contractions ARPA");
    let lexicon = Lexicon::from_counts([
        ("i", 25_000),
        ("do", 12_000),
        ("n't", 8_000),
        ("know", 6_000),
        ("they", 12_000),
        ("here", 5_000),
        ("it", 15_000),
        ("its", 4_000),
        ("tail", 300),
        ("done", 3_000),
        ("should", 3_500),
        ("have", 9_000),
        ("of", 20_000),
        ("known", 2_000),
        ("course", 1_500),
    ]);
    Speller::new(lang, lexicon, ErrorModel::default(), lm, Ranking::default())
}

#[test]
fn contractions_typed_without_their_apostrophe_get_it_back() {
    let speller = contraction_speller(Lang::En);
    let first = |word: &str| speller.suggest(word, 3)[0].word.clone();
    assert_eq!(first("dont"), "don't");
    assert_eq!(first("Dont"), "Don't");
    assert_eq!(first("DONT"), "DON'T");
    assert_eq!(first("theyre"), "they're");
    // A contraction spelled like a word of its own (`its`) is that word in isolation.
    assert_eq!(first("its"), "its");
    let fixed = speller.correct("i dont know");
    assert_eq!(fixed.text, "i don't know");
    assert_eq!(fixed.spans.len(), 1);
    assert_eq!(
        (
            fixed.spans[0].start,
            fixed.spans[0].end,
            fixed.spans[0].original.as_str()
        ),
        (2, 6, "dont")
    );
    assert_consistent("i dont know", &fixed);
    assert_eq!(speller.correct("they're here, its tail").text, "they're here, its tail");
    // `of` after a modal verb is the `have` of `should've` when the context says so; `of course` stays.
    assert_eq!(speller.correct("i should of known").text, "i should have known");
    assert_eq!(speller.correct("I Should Of known").text, "I Should Have known");
    assert_eq!(speller.correct("i should of course").text, "i should of course");
    // German has no such contractions.
    let german = contraction_speller(Lang::De);
    assert!(german.suggest("dont", 5).iter().all(|s| !s.word.contains('\'')));
}

#[test]
fn a_document_s_names_are_left_alone_once_seen_twice() {
    let speller = speller().with_parallel(false);
    let texts = [
        "scrambled eggs Bundict",
        "i want eggs Bundict",
        "scrumbled uggs Bundict",
    ];
    // Each on its own, `Bundict` is `Benedict`.
    for t in texts {
        assert!(speller.correct(t).text.ends_with("Benedict"), "{t}");
    }
    // As one document it is a name: used three times inside sentences, it stays everywhere, while the other
    // words are still corrected.
    let fixed: Vec<String> = speller.correct_document(&texts).into_iter().map(|c| c.text).collect();
    assert_eq!(
        fixed,
        [
            "scrambled eggs Bundict",
            "i want eggs Bundict",
            "scrambled eggs Bundict"
        ]
    );
    // Seen once inside a sentence (the start of one does not count), it is corrected.
    let fixed = speller.correct_document(&["scrambled eggs Bundict", "Bundict scrambled eggs"]);
    assert_eq!(fixed[0].text, "scrambled eggs Benedict");
    // `observe_names` and `correct_in` do the same step by step.
    let mut names = fivegram_spell::speller::DocumentNames::default();
    for t in texts {
        speller.observe_names(t, &mut names);
    }
    assert_eq!(names.names().collect::<Vec<_>>(), ["bundict"]);
    assert_eq!(speller.correct_in(texts[1], &names).text, texts[1]);
}

/// A token read as two words: the cuts are looked up in groups ([`Words::splits`]), so a cut far into a long
/// token, past the first group, is found as well as an early one, and a token with no two-word reading gets none.
#[test]
fn splits_are_found_at_any_cut_of_a_long_token() {
    let lexicon = Lexicon::from_counts([
        ("internationalisation", 300),
        ("procedures", 500),
        ("breakfast", 250),
        ("is", 20_000),
        ("a", 30_000),
    ]);
    let lm = ArpaModel::from_arpa_text("toy.arpa", ARPA).expect("toy ARPA");
    let speller = Speller::new(Lang::En, lexicon, ErrorModel::default(), lm, Ranking::default());
    let first = |token: &str| speller.suggest(token, 1).first().map(|s| s.word.clone());
    // The cut after 20 letters is the eighteenth a token of 30 letters offers (single letters other than `a`
    // and `i` are skipped).
    assert_eq!(
        first("internationalisationprocedures").as_deref(),
        Some("internationalisation procedures")
    );
    assert_eq!(first("breakfastprocedures").as_deref(), Some("breakfast procedures"));
    assert_eq!(first("isbreakfast").as_deref(), Some("is breakfast"));
    assert_eq!(first("Breakfastprocedures").as_deref(), Some("Breakfast procedures"));
    assert!(
        speller
            .suggest("zzzzqqqqxxxxwwwwvvvvyyyykkkk", 5)
            .iter()
            .all(|s| !s.word.contains(' '))
    );
}
