//! `fivegram train-translation` and `fivegram translate` end to end on a small self-written corpus: the default
//! model location, one line out per line in, n-best output and usage errors.

mod common;

use std::path::Path;
use std::process::Output;

use common::text;

const PAIRS: &[(&str, &str)] = &[
    ("A dog runs.", "Ein Hund rennt."),
    ("A dog runs in the park.", "Ein Hund rennt im Park."),
    ("The dog sleeps.", "Der Hund schläft."),
    ("A man runs.", "Ein Mann rennt."),
    ("The man sleeps in the park.", "Der Mann schläft im Park."),
    ("A woman reads a book.", "Eine Frau liest ein Buch."),
    ("The woman reads.", "Die Frau liest."),
    ("A man reads a book in the park.", "Ein Mann liest ein Buch im Park."),
    ("The dog sees a man.", "Der Hund sieht einen Mann."),
    ("A woman sees the dog.", "Eine Frau sieht den Hund."),
    ("Two dogs run in the park.", "Zwei Hunde rennen im Park."),
    ("The child plays in the park.", "Das Kind spielt im Park."),
];

/// Runs `fivegram` with `data` as XDG_DATA_HOME (where default models live) and `stdin` as its input.
fn fivegram(args: &[&str], data: &Path, stdin: &str) -> Output {
    let mut command = common::command(args);
    command.env("XDG_DATA_HOME", data);
    common::run(command, stdin.as_bytes())
}

/// Writes [`PAIRS`] as `train.en` and `train.de` into `dir`.
fn write_corpus(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (src, tgt) = (dir.join("train.en"), dir.join("train.de"));
    std::fs::write(&src, PAIRS.iter().map(|p| format!("{}\n", p.0)).collect::<String>()).unwrap();
    std::fs::write(&tgt, PAIRS.iter().map(|p| format!("{}\n", p.1)).collect::<String>()).unwrap();
    (src, tgt)
}

#[test]
fn default_model_and_line_discipline() {
    let dir = tempfile::tempdir().unwrap();
    let (src, tgt) = write_corpus(dir.path());
    let data = dir.path().join("data");
    let (src, tgt) = (src.to_str().unwrap(), tgt.to_str().unwrap());

    // No model yet: a clear error that says how to build one.
    let missing = fivegram(&["translate", "--from", "en", "--to", "de"], &data, "A dog runs.\n");
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("train-translation"),
        "{}",
        text(&missing.stderr)
    );

    // Without -o the model goes to the default location, where `translate --from en --to de` finds it.
    let trained = fivegram(
        &[
            "train-translation",
            "--src",
            src,
            "--tgt",
            tgt,
            "--lm-order",
            "3",
            "--json",
        ],
        &data,
        "",
    );
    assert!(trained.status.success(), "{}", text(&trained.stderr));
    assert!(data.join("fivegram/models/translate-en-de/manifest.json").exists());

    let input = "A dog runs in the park.\n\nThe zebra sleeps.\n";
    let out = fivegram(
        &["translate", "--backend", "ngram", "--from", "en", "--to", "de"],
        &data,
        input,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 3, "one line out per line in: {lines:?}");
    assert_eq!(lines[0], "Ein Hund rennt im Park.");
    assert_eq!(lines[1], "");
    assert!(lines[2].contains("zebra"), "unknown words pass through: {}", lines[2]);

    let nbest = fivegram(
        &["translate", "--from", "en", "--to", "de", "--nbest", "3"],
        &data,
        "A dog runs.\n",
    );
    assert!(nbest.status.success(), "{}", text(&nbest.stderr));
    let nbest = text(&nbest.stdout);
    assert!(
        !nbest.is_empty()
            && nbest
                .lines()
                .all(|l| l.starts_with("0 ||| ") && l.matches(" ||| ").count() == 2)
    );

    // Neither --model nor --from/--to; --from without --to.
    for args in [&["translate"][..], &["translate", "--from", "en"][..]] {
        let out = fivegram(args, &data, "A dog runs.\n");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
    }
}

#[test]
fn phrase_smoothing_is_chosen_recorded_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let (src, tgt) = write_corpus(dir.path());
    let data = dir.path().join("data");
    let model = dir.path().join("kn");
    let (src, tgt, out) = (src.to_str().unwrap(), tgt.to_str().unwrap(), model.to_str().unwrap());
    let common = [
        "train-translation",
        "--src",
        src,
        "--tgt",
        tgt,
        "--lm-order",
        "3",
        "-o",
        out,
    ];

    let bad = fivegram(
        &[&common[..], &["--phrase-smoothing", "witten-bell"]].concat(),
        &data,
        "",
    );
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
    assert!(
        text(&bad.stderr).contains("--phrase-smoothing"),
        "{}",
        text(&bad.stderr)
    );
    assert!(!model.exists(), "a refused command writes nothing");

    let trained = fivegram(&[&common[..], &["--phrase-smoothing", "kn"]].concat(), &data, "");
    assert!(trained.status.success(), "{}", text(&trained.stderr));
    let manifest = std::fs::read_to_string(model.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"phrase_smoothing\": \"kneser-ney\""), "{manifest}");
    let out = fivegram(&["translate", "--model", out], &data, "A dog runs in the park.\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "Ein Hund rennt im Park.");
}
