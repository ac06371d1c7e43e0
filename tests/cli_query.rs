//! `fivegram query`: KenLM's output format on the toy model, JSON output, tokenizers, exit codes.

mod common;

use std::path::PathBuf;
use std::process::Output;

use common::text;

fn toy() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("lm/tests/fixtures/toy3.arpa")
}

fn query(args: &[&str], stdin: &[u8]) -> Output {
    let mut command = common::command(&["query"]);
    command.args(args);
    common::run(command, stdin)
}

#[test]
fn kenlm_format_on_the_toy_model() {
    let model = toy();
    let output = query(&[model.to_str().unwrap()], b"a b a\nc b x\n\na c");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    // Hand-computed in lm/tests/model_contract.rs; the empty line is just </s> after <s>.
    assert_eq!(
        lines[..4],
        [
            "Total: -2.25 OOV: 0",
            "Total: -5.8 OOV: 1",
            "Total: -1.5 OOV: 0",
            "Total: -2 OOV: 0"
        ]
    );
    let total = -2.25f64 - 5.8 - 1.5 - 2.0;
    let including = 10f64.powf(-total / 12.0);
    let excluding = 10f64.powf(-(total + 2.2) / 11.0);
    assert!(lines[4].starts_with("Perplexity including OOVs:\t"), "{stdout}");
    let value = |line: &str| line.split('\t').nth(1).unwrap().parse::<f64>().unwrap();
    assert!((value(lines[4]) - including).abs() < 1e-5, "{stdout}");
    assert!(lines[5].starts_with("Perplexity excluding OOVs:\t"), "{stdout}");
    assert!((value(lines[5]) - excluding).abs() < 1e-5, "{stdout}");
    assert_eq!(lines[6..], ["OOVs:\t1", "Tokens:\t12"]);
}

#[test]
fn json_lines() {
    let model = toy();
    let output = query(
        &[model.to_str().unwrap(), "--json", "--threads", "1", "--batch", "1"],
        b"a b a\nc b x\n",
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let records: Vec<serde_json::Value> = text(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(records.len(), 3);
    assert_eq!(records[0]["sentence"], 1);
    assert_eq!(records[0]["total"], -2.25);
    assert_eq!(records[1]["total"], -5.8, "f32 totals print with their shortest digits");
    assert_eq!(records[1]["oov"], 1);
    assert_eq!(records[1]["tokens"], 4);
    assert_eq!(records[2]["summary"], true);
    assert_eq!(records[2]["tokens"], 8);
    assert_eq!(records[2]["oovs"], 1);
    assert!(records[2]["perplexity_including_oovs"].as_f64().unwrap() > 1.0);
}

#[test]
fn words_tokenizer_splits_punctuation_and_lowercases() {
    let model = toy();
    let model = model.to_str().unwrap();
    // Whitespace keeps "A," as one unknown word: p(<unk>) + backoff(<s>), then "b", "</s>" = -2.5 - 0.8 - 0.3.
    // The word tokenizer with --lower gives "a" "," "b": -0.4, then "," unknown after "<s> a" = -2.0 - 0.3,
    // then -0.8 - 0.3.
    for (args, total, tokens) in [(&[][..], -3.6, 3), (&["--tokenizer", "words", "--lower"][..], -3.8, 4)] {
        let output = query(&[&[model][..], args].concat(), b"A, b\n");
        assert!(output.status.success(), "{}", text(&output.stderr));
        let stdout = text(&output.stdout);
        let first = stdout.lines().next().unwrap();
        let got: f64 = first
            .strip_prefix("Total: ")
            .unwrap()
            .strip_suffix(" OOV: 1")
            .unwrap()
            .parse()
            .unwrap();
        assert!((got - total).abs() < 1e-5, "{args:?}: {stdout}");
        assert!(stdout.ends_with(&format!("Tokens:\t{tokens}\n")), "{args:?}: {stdout}");
    }
}

#[test]
fn usage_and_runtime_errors() {
    let model = toy();
    let model = model.to_str().unwrap();
    let output = query(&[model, "--threads", "0"], b"");
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    let output = query(&[model, "--lower"], b"");
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    let output = query(&["/nonexistent/model.arpa"], b"a\n");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("/nonexistent/model.arpa"),
        "{}",
        text(&output.stderr)
    );
    let output = query(&[model], b"a \xff b\n");
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("<stdin>:1"), "{}", text(&output.stderr));
    let broken = tempfile::Builder::new().suffix(".arpa").tempfile().unwrap();
    std::fs::write(broken.path(), "\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<s>\n").unwrap();
    let output = query(&[broken.path().to_str().unwrap()], b"a\n");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains(":5:"),
        "names the line: {}",
        text(&output.stderr)
    );
}
