//! `fivegram spell` end to end on a model built from generated text: `estimate` and `spell --build`, then
//! correction (plain, JSON, stdin with invalid UTF-8), suggestions, checks, both context evaluations, and the
//! errors a user meets.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{assert_fails, fivegram, text};

/// Runs `fivegram` and returns its standard output, failing the test on a non-zero exit.
fn ok(args: &[&str]) -> String {
    let output = fivegram(args, b"");
    assert!(output.status.success(), "{args:?}: {}", text(&output.stderr));
    text(&output.stdout)
}

/// Sentences of a small world, drawn by a fixed generator: every word is seen many times.
fn sentences(seed: u64, n: usize) -> String {
    const SUBJECTS: &[&str] = &[
        "the quick brown fox",
        "the lazy dog",
        "the cat",
        "my friend",
        "the old man",
        "their teacher",
        "the children",
        "a small bird",
    ];
    const VERBS: &[&str] = &[
        "jumped over",
        "walked to",
        "looked at",
        "came from",
        "went to",
        "ran past",
        "sat near",
        "waited for",
    ];
    const OBJECTS: &[&str] = &[
        "the lazy dog",
        "the old house",
        "the city",
        "the river",
        "their garden",
        "the big tree",
        "the market",
        "a quiet place",
    ];
    const TAILS: &[&str] = &[
        "yesterday",
        "and there is a problem",
        "and then they left",
        "to see the view",
        "because it was late",
        "with great care",
        "before the rain",
        "at the end of the day",
    ];
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut pick = |list: &[&'static str]| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        list[((state >> 33) % list.len() as u64) as usize]
    };
    let mut out = String::new();
    for _ in 0..n {
        let line = format!(
            "{} {} {} {} .\n",
            pick(SUBJECTS),
            pick(VERBS),
            pick(OBJECTS),
            pick(TAILS)
        );
        out.push_str(&line);
    }
    out
}

/// The directory of the test files and the model, built once per test run.
fn workdir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // Under the target directory's scratch space, one per test process (nextest runs each test in its own);
        // those of earlier runs (older than ten minutes: a run takes about a second) are removed.
        let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        for entry in std::fs::read_dir(&scratch).into_iter().flatten().flatten() {
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age.as_secs() > 600));
            if stale && entry.file_name().to_string_lossy().starts_with("cli-spell-") {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let dir = scratch.join(format!("cli-spell-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("model")).unwrap();
        std::fs::write(dir.join("edited.txt"), sentences(1, 3000)).unwrap();
        // User text: where misspellings are mined; `recieve` occurs only here, next to a frequent `receive`.
        let user =
            "i will receive the letter from my friend .\n".repeat(400) + &"i will recieve the letter .\n".repeat(5);
        std::fs::write(dir.join("user.txt"), user).unwrap();
        std::fs::write(dir.join("heldout.txt"), sentences(2, 300)).unwrap();
        std::fs::write(
            dir.join("list.txt"),
            "garden: gardin\nriver: rivver\nmarket: markit\nchildren: childern\n",
        )
        .unwrap();
        let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
        ok(&[
            "estimate",
            "--order",
            "3",
            "--tokenizer",
            "words",
            "--lang",
            "en",
            "--lower",
            "--discount-fallback",
            &path("edited.txt"),
            &path("user.txt"),
            "--arpa",
            &path("model/lm.arpa"),
        ]);
        let output = fivegram(
            &[
                "spell",
                "--build",
                &path("model"),
                "--lm",
                "lm.arpa",
                "--corpus",
                &path("edited.txt"),
                "--user-corpus",
                &path("user.txt"),
            ],
            b"",
        );
        assert!(output.status.success(), "{}", text(&output.stderr));
        // The build reports what it left out: `recieve`, seen only in the user text.
        assert!(
            text(&output.stderr).contains("1 likely misspellings left out"),
            "{}",
            text(&output.stderr)
        );
        dir
    })
}

fn model() -> String {
    workdir().join("model").to_str().unwrap().to_string()
}

/// `fivegram spell --model MODEL ARGS…`'s standard output (the run must succeed).
fn spell(args: &[&str]) -> String {
    let m = model();
    ok(&[&["spell", "--model", m.as_str()], args].concat())
}

fn file(name: &str) -> String {
    workdir().join(name).to_str().unwrap().to_string()
}

#[test]
fn corrections_keep_case_punctuation_and_correct_words() {
    let out = spell(&[
        "the quikc brwon fox jumpd over the lazy dgo",
        "The Quikc, brwon FOX!",
        "the cat sat near the river",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "the quick brown fox jumped over the lazy dog",
            "The Quick, brown FOX!",
            "the cat sat near the river"
        ]
    );
    // The user text's misspelling was left out of the lexicon, so it is corrected.
    assert_eq!(
        spell(&["i will recieve the letter"]).trim(),
        "i will receive the letter"
    );
}

#[test]
fn json_spans_suggestions_and_checks() {
    let out = spell(&["--json", "the brwon fox"]);
    let value: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(value["text"], "the brown fox");
    let span = &value["spans"][0];
    assert_eq!((span["start"].as_u64(), span["end"].as_u64()), (Some(4), Some(9)));
    assert_eq!(
        (span["original"].as_str(), span["replacement"].as_str()),
        (Some("brwon"), Some("brown"))
    );
    let out = spell(&["--suggest", "2", "brwon", "gardin"]);
    let firsts: Vec<&str> = out.lines().map(|l| l.split('\t').nth(1).unwrap_or("")).collect();
    assert_eq!(firsts, ["brown", "garden"]);
    let out = spell(&["--check", "the cat sat near the rivver"]);
    assert!(out.contains("21-27 rivver → river"), "{out}");
}

#[test]
fn user_words_are_kept_and_a_bad_list_names_its_line() {
    let words = file("my-words.txt");
    std::fs::write(&words, "# names\nBrwon\n\ngardin\n").unwrap();
    assert_eq!(spell(&["the brwon fox"]).trim(), "the brown fox");
    assert_eq!(spell(&["--words", &words, "the Brwon fox"]).trim(), "the Brwon fox");
    assert!(!spell(&["--check", "the brwon fox near the gardin"]).trim().is_empty());
    assert_eq!(
        spell(&["--words", &words, "--check", "the brwon fox near the gardin"]).trim(),
        ""
    );
    let out = spell(&["--words", &words, "--suggest", "2", "brwon", "gardn"]);
    let firsts: Vec<&str> = out.lines().map(|l| l.split('\t').nth(1).unwrap_or("")).collect();
    assert_eq!(firsts, ["brwon", "garden"]);
    let bad = file("bad-words.txt");
    std::fs::write(&bad, "fine\nnot one\n").unwrap();
    let output = fivegram(&["spell", "--model", &model(), "--words", &bad, "the fox"], b"");
    assert_fails(&output, 1, "bad-words.txt:2: \"not one\" is not one word");
}

#[test]
fn invalid_utf8_on_stdin_passes_through_untouched() {
    let output = fivegram(
        &["spell", "--model", &model()],
        b"the brwon fox\n\xff\xfe bad \xe2\x82\nthe brwon\xe9 fox \xff brwon fox\n",
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    // A word glued to an invalid sequence (Latin-1 `brwon\xe9`) is a piece of a word and stays; the rest of the
    // line is corrected around the invalid bytes, which come out as they went in.
    assert_eq!(
        output.stdout,
        b"the brown fox\n\xff\xfe bad \xe2\x82\nthe brwon\xe9 fox \xff brown fox\n"
    );
}

#[test]
fn both_context_evaluations_report_their_figures() {
    let out = spell(&["--eval-context", &file("heldout.txt"), "--sentences", "100", "--json"]);
    let value: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(value["sentences"], 100);
    let injected: u64 = value["by_confusion"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["injected"].as_u64().unwrap())
        .sum();
    assert_eq!(injected, 100);
    assert!(value["fixed"].as_u64().unwrap() <= 100 && value["false_alarm_percent"].as_f64().is_some());
    let list = file("list.txt");
    let out = spell(&[
        "--eval-context",
        &file("heldout.txt"),
        "--misspellings",
        &list,
        "--json",
    ]);
    let value: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    // Each of the four misspellings serves once, in a sentence holding its word.
    assert_eq!(value["sentences"], 4);
    assert_eq!(value["misspellings"], list);
    assert!(value["isolated_fixed"].as_u64().unwrap() <= 4);
    let out = spell(&["--eval-context", &file("heldout.txt"), "--misspellings", &list]);
    assert!(out.contains("4 sentences with one misspelling from"), "{out}");
    assert!(out.contains("by the isolated first suggestion"), "{out}");
}

/// `--eval-context HELD_OUT FLAG --json`: the sentences with an injected error and, per confusion, "error for
/// intended".
fn injected(held_out: &str, flag: &str) -> (serde_json::Value, Vec<String>) {
    let out = spell(&["--eval-context", held_out, flag, "--json"]);
    let value: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let errors = value["by_confusion"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} for {}",
                c["error"].as_str().unwrap(),
                c["intended"].as_str().unwrap()
            )
        })
        .collect();
    (value["sentences"].clone(), errors)
}

#[test]
fn contractions_can_be_injected_for_the_context_evaluation() {
    let held_out = file("contractions.txt");
    std::fs::write(
        &held_out,
        "I don't think the river is far from here .\nThe garden is green and the market is open .\n\
         They're going to the market with the children .\nIt's John's garden , not the river .\n",
    )
    .unwrap();
    let (sentences, errors) = injected(&held_out, "--contractions");
    // Three sentences hold a contraction (`John's` is a possessive), one each is injected.
    assert_eq!(sentences, 3, "{errors:?}");
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(
        errors
            .iter()
            .all(|e| ["dont for don't", "theyre for they're", "its for it's"].contains(&e.as_str())),
        "{errors:?}"
    );
    let out = spell(&["--eval-context", &held_out, "--contractions"]);
    assert!(
        out.contains("3 sentences with one contraction typed without its apostrophe"),
        "{out}"
    );
}

#[test]
fn homophones_and_the_have_of_modals_can_be_injected_for_the_context_evaluation() {
    let held_out = file("homophones.txt");
    std::fs::write(
        &held_out,
        "We had a great time at the river .\nThe children should have gone home .\n\
         The old man sat near the big tree .\nThey might have waited .\n",
    )
    .unwrap();
    // `great` (→ `grate`) and the `have` of `should` and `might` (→ `of`); the other words have no homophone in
    // the list.
    let (sentences, errors) = injected(&held_out, "--homophones");
    assert_eq!(sentences, 1, "{errors:?}");
    assert_eq!(errors, ["grate for great"]);
    let (sentences, mut errors) = injected(&held_out, "--modal-of");
    assert_eq!(sentences, 2, "{errors:?}");
    errors.dedup();
    assert_eq!(errors, ["of for have"]);
    let out = spell(&["--eval-context", &held_out, "--modal-of"]);
    assert!(
        out.contains("2 sentences with `of` written for the `have` of a modal verb"),
        "{out}"
    );
}

#[test]
fn the_input_can_be_corrected_as_one_document_or_line_by_line() {
    // The evaluation as one document leaves the names its sentences repeat alone: never more false alarms.
    let held_out = file("heldout.txt");
    let run = |extra: &[&str]| {
        let mut args = vec!["--eval-context", held_out.as_str(), "--sentences", "100", "--json"];
        args.extend_from_slice(extra);
        let value: serde_json::Value = serde_json::from_str(spell(&args).trim()).unwrap();
        (
            value["fixed"].as_u64().unwrap(),
            value["false_alarms"].as_u64().unwrap(),
        )
    };
    let (alone, document) = (run(&[]), run(&["--document"]));
    assert!(
        document.1 <= alone.1 && document.0 + 2 >= alone.0,
        "{alone:?} {document:?}"
    );
    // Line by line or as a document, lines without names come out the same.
    let lines = b"the brwon fox\nthe children sat near their gardin .\n";
    let a = fivegram(&["spell", "--model", &model()], lines);
    let b = fivegram(&["spell", "--model", &model(), "--no-names"], lines);
    assert!(a.status.success() && b.status.success());
    assert_eq!(a.stdout, b.stdout);
    assert_eq!(text(&a.stdout), "the brown fox\nthe children sat near their garden .\n");
}

#[test]
fn user_errors_are_reported_with_their_cause() {
    let m = model();
    // No word of the list in the held-out text.
    std::fs::write(workdir().join("none.txt"), "zebra: zebbra\n").unwrap();
    let output = fivegram(
        &[
            "spell",
            "--model",
            &m,
            "--eval-context",
            &file("heldout.txt"),
            "--misspellings",
            &file("none.txt"),
        ],
        b"",
    );
    assert_fails(&output, 1, "no sentence of 5 to 60 words holds a word that");
    // Nothing to inject a real-word error into.
    std::fs::write(workdir().join("plain.txt"), "a small bird sat near the big tree .\n").unwrap();
    let output = fivegram(&["spell", "--model", &m, "--eval-context", &file("plain.txt")], b"");
    assert_fails(&output, 1, "27 confusions");
    // A directory that is not a model.
    let missing = workdir().join("no-model");
    let output = fivegram(&["spell", "--model", missing.to_str().unwrap(), "hello"], b"");
    assert_fails(&output, 1, "no-model");
    // An absurd build option.
    let output = fivegram(
        &[
            "spell",
            "--build",
            &file("model"),
            "--corpus",
            &file("edited.txt"),
            "--lm",
            "lm.arpa",
            "--keep-attested",
            "nan",
        ],
        b"",
    );
    assert_fails(&output, 1, "per million words");
}
