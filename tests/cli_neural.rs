//! `fivegram translate --backend neural` and `fivegram neural-lm` end to end on the tiny committed fixtures
//! (neural/tests/fixtures/, with their PyTorch reference outputs in expected.json). Without the ONNX Runtime
//! library (scripts/install-onnxruntime.sh) the tests that run a model print "skipped" and return.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("neural/tests/fixtures")
        .join(name)
}

fn expected(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixture(name).join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn fivegram(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut command = common::command(args);
    command.envs(env.iter().copied());
    common::run(command, stdin.as_bytes())
}

/// Whether the runtime library is installed (ORT_DYLIB_PATH or the default location).
fn runtime_available() -> bool {
    let out = fivegram(
        &["neural-lm", "--model", fixture("lm").to_str().unwrap(), "--summary"],
        &[],
        "a\n",
    );
    if out.status.success() {
        return true;
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("scripts/install-onnxruntime.sh"), "{stderr}");
    eprintln!("skipped: run scripts/install-onnxruntime.sh ({})", stderr.trim());
    false
}

#[test]
fn translate_with_the_neural_backend() {
    if !runtime_available() {
        return;
    }
    let exp = expected("seq2seq");
    let model = fixture("seq2seq");
    // Sources whose greedy reference finished with </s> within its steps (the CLI's step limit is longer)
    // and has no <unk> (the translator replaces those by source words).
    let sources: Vec<&serde_json::Value> = exp["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["finished"].as_bool() == Some(true) && !s["greedy_text"].as_str().unwrap().contains("<unk>"))
        .collect();
    assert!(!sources.is_empty());
    let mut input = String::new();
    for s in &sources {
        input.push_str(s["text"].as_str().unwrap());
        input.push('\n');
    }
    input.push('\n');
    for precision in ["fp32"] {
        let args = [
            "translate",
            "--backend",
            "neural",
            "--model",
            model.to_str().unwrap(),
            "--beam",
            "1",
            "--precision",
            precision,
        ];
        let out = fivegram(&args, &[], &input);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), sources.len() + 1, "one line out per line in");
        for (line, s) in lines.iter().zip(&sources) {
            assert_eq!(*line, s["greedy_text"].as_str().unwrap());
        }
        assert_eq!(lines[sources.len()], "");
    }
    // n-best as JSON, with features.
    let args = [
        "translate",
        "--backend",
        "neural",
        "--model",
        model.to_str().unwrap(),
        "--nbest",
        "3",
        "--json",
        "--features",
    ];
    let out = fivegram(&args, &[], "A man is singing in the park.\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let translations = v["translations"].as_array().unwrap();
    assert!(!translations.is_empty() && translations.len() <= 3);
    assert!(translations[0]["features"]["log_prob"].as_f64().unwrap() < 0.0);
    // The default model of a pair is looked up under FIVEGRAM_NEURAL_MODELS.
    let tmp = tempfile::tempdir().unwrap();
    let env = [("FIVEGRAM_NEURAL_MODELS", tmp.path().to_str().unwrap())];
    let out = fivegram(
        &["translate", "--backend", "neural", "--from", "en", "--to", "de"],
        &env,
        "A dog.\n",
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no neural en→de model") && stderr.contains(tmp.path().to_str().unwrap()),
        "{stderr}"
    );
}

#[test]
fn the_length_penalty_is_checked_before_any_model_opens() {
    for (args, message) in [
        (
            vec!["translate", "--backend", "ngram", "--length-penalty", "1.2"],
            "is for --backend neural",
        ),
        (
            vec!["translate", "--backend", "ngram", "--no-ensemble"],
            "are for --backend neural",
        ),
        (
            vec!["translate", "--backend", "neural", "--length-penalty", "12"],
            "between 0 and 10",
        ),
        (
            vec!["translate", "--backend", "neural", "--length-penalty", "NaN"],
            "between 0 and 10",
        ),
    ] {
        let out = fivegram(&args, &[], "");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

#[test]
fn an_ensemble_member_that_is_missing_is_named_and_no_ensemble_runs_alone() {
    if !runtime_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("en-de");
    copy_dir(&fixture("seq2seq"), &model);
    let json = std::fs::read_to_string(model.join("model.json")).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value["decoding"] = serde_json::json!({ "ensemble": ["../en-de-b"] });
    std::fs::write(model.join("model.json"), value.to_string()).unwrap();
    let args = ["translate", "--backend", "neural", "--model", model.to_str().unwrap()];
    let out = fivegram(&args, &[], "A dog.\n");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("en-de-b"), "{stderr}");
    let out = fivegram(&[&args[..], &["--no-ensemble"]].concat(), &[], "A dog.\n");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn reranking_follows_model_json_and_the_flags() {
    if !runtime_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (forward, reverse) = (tmp.path().join("en-de"), tmp.path().join("de-en"));
    copy_dir(&fixture("seq2seq"), &forward);
    copy_dir(&fixture("seq2seq"), &reverse);
    let json = std::fs::read_to_string(reverse.join("model.json")).unwrap();
    let json = json
        .replace("\"src_lang\": \"en\"", "\"src_lang\": \"XX\"")
        .replace("\"tgt_lang\": \"de\"", "\"tgt_lang\": \"en\"")
        .replace("XX", "de");
    std::fs::write(reverse.join("model.json"), json).unwrap();
    let arpa = tmp.path().join("de.arpa");
    std::fs::write(
        &arpa,
        "\\data\\\nngram 1=3\n\n\\1-grams:\n-2\t<unk>\n-99\t<s>\n-0.5\t</s>\n\n\\end\\\n",
    )
    .unwrap();
    let with_rerank = |rerank: &str| {
        let json = std::fs::read_to_string(fixture("seq2seq").join("model.json")).unwrap();
        let json = json.replacen(
            "\"kind\"",
            &format!("\"decoding\": {{\"rerank\": {rerank}}}, \"kind\""),
            1,
        );
        std::fs::write(forward.join("model.json"), json).unwrap();
    };
    with_rerank(
        r#"{"reverse": "../de-en", "lm": "../de.arpa", "beam": 4,
            "weights": {"log_prob": 1, "length": 0.1, "reverse_log_prob": 0.5, "lm": 0.2}}"#,
    );
    let model = forward.to_str().unwrap();
    let base = [
        "translate",
        "--backend",
        "neural",
        "--model",
        model,
        "--precision",
        "fp32",
    ];
    let features = |extra: &[&str]| -> Vec<String> {
        let mut args = base.to_vec();
        args.extend_from_slice(&["--json", "--features", "--nbest", "2"]);
        args.extend_from_slice(extra);
        let out = fivegram(&args, &[], "A man is singing in the park.\n");
        assert!(
            out.status.success(),
            "{extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut names: Vec<String> = v["translations"][0]["features"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    };
    assert_eq!(features(&[]), ["length", "lm", "log_prob", "reverse_log_prob"]);
    assert_eq!(features(&["--no-rerank"]), ["length", "log_prob"]);
    let reverse_dir = reverse.to_str().unwrap();
    assert_eq!(
        features(&["--reverse", reverse_dir]),
        ["length", "log_prob", "reverse_log_prob"]
    );
    // A reverse model that is not there is an error naming what it was for.
    with_rerank(
        r#"{"reverse": "../fr-en", "beam": 4, "weights": {"log_prob": 1, "length": 0, "reverse_log_prob": 0}}"#,
    );
    let out = fivegram(&base, &[], "A dog.\n");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("reverse model") && stderr.contains("fr-en"), "{stderr}");
    // Usage errors before any model opens.
    let default_pair = ["translate", "--from", "en", "--to", "de", "--backend"];
    for extra in [
        &["ngram", "--reverse", "x"][..],
        &["neural", "--rerank-lm", "x"],
        &["neural", "--reverse", "x", "--no-rerank"],
    ] {
        let args = [&default_pair[..], extra].concat();
        let out = fivegram(&args, &[], "");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn neural_lm_scores_like_the_reference() {
    if !runtime_available() {
        return;
    }
    let exp = expected("lm");
    let sentences = exp["sentences"].as_array().unwrap();
    let input: String = sentences
        .iter()
        .map(|s| format!("{}\n", s["text"].as_str().unwrap()))
        .collect();
    let model = fixture("lm");
    let args = ["neural-lm", "--model", model.to_str().unwrap(), "--precision", "fp32"];
    let out = fivegram(&args, &[], &input);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let totals: Vec<f64> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Total: "))
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(totals.len(), sentences.len());
    let mut sum = 0.0;
    let mut words = 0;
    for (got, s) in totals.iter().zip(sentences) {
        let want = s["sum_log_prob"].as_f64().unwrap() / std::f64::consts::LN_10;
        assert!((got - want).abs() < 1e-3, "{got} vs {want}");
        sum += s["sum_log_prob"].as_f64().unwrap();
        words += s["word_log_probs"].as_array().unwrap().len();
    }
    let ppl_line = stdout
        .lines()
        .find(|l| l.starts_with("Perplexity including OOVs:"))
        .unwrap();
    let ppl: f64 = ppl_line.split('\t').nth(1).unwrap().parse().unwrap();
    let want = (-sum / words as f64).exp();
    assert!((ppl / want - 1.0).abs() < 1e-3, "{ppl} vs {want}");
}

#[test]
fn missing_runtime_is_a_clear_error() {
    let env = [("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so.1.31.1")];
    let out = fivegram(&["neural-lm", "--model", fixture("lm").to_str().unwrap()], &env, "a\n");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("scripts/install-onnxruntime.sh") && stderr.contains("/nonexistent"),
        "{stderr}"
    );
    let out = fivegram(&["neural-lm", "--model", "/nonexistent-model"], &[], "a\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent-model/model.json"));
}

#[test]
fn neural_lm_finds_its_default_model() {
    if !runtime_available() {
        return;
    }
    // The default LM is `lm-ptb` under FIVEGRAM_NEURAL_MODELS: a copy of the fixture there scores as the
    // fixture given by --model does.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("lm-ptb");
    std::fs::create_dir(&dir).unwrap();
    for entry in std::fs::read_dir(fixture("lm")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    let env = [("FIVEGRAM_NEURAL_MODELS", tmp.path().to_str().unwrap())];
    let input = "a b c\nc a\n";
    let by_default = fivegram(&["neural-lm", "--precision", "fp32"], &env, input);
    assert!(
        by_default.status.success(),
        "{}",
        String::from_utf8_lossy(&by_default.stderr)
    );
    let model = fixture("lm");
    let given = fivegram(
        &["neural-lm", "--model", model.to_str().unwrap(), "--precision", "fp32"],
        &[],
        input,
    );
    assert!(given.status.success(), "{}", String::from_utf8_lossy(&given.stderr));
    assert_eq!(by_default.stdout, given.stdout);
    assert!(String::from_utf8_lossy(&given.stdout).contains("Total: "));

    // No model there: exit 1, naming where it looked and how to make one.
    let empty = tempfile::tempdir().unwrap();
    let env = [("FIVEGRAM_NEURAL_MODELS", empty.path().to_str().unwrap())];
    let out = fivegram(&["neural-lm"], &env, "a\n");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no neural language model") && stderr.contains("train_lm.py") && stderr.contains("lm-ptb"),
        "{stderr}"
    );
}

#[test]
fn neural_lm_words_are_whitespace_separated() {
    if !runtime_available() {
        return;
    }
    // PTB's lines start with a space: surrounding and repeated whitespace is not part of any word.
    let model = fixture("lm");
    let args = [
        "neural-lm",
        "--model",
        model.to_str().unwrap(),
        "--precision",
        "fp32",
        "--json",
    ];
    let plain = fivegram(&args, &[], "a b c\n");
    let spaced = fivegram(&args, &[], " a  b\tc \n");
    assert!(plain.status.success() && spaced.status.success());
    assert_eq!(plain.stdout, spaced.stdout);
    let first: serde_json::Value = serde_json::from_slice(plain.stdout.split(|&b| b == b'\n').next().unwrap()).unwrap();
    assert_eq!(
        first["words"].as_array().unwrap().len(),
        4,
        "three words and </s>: {first}"
    );
}

/// A phrase-based model whose manifest asks for n-best rescoring with a neural language model: recorded by
/// `train-translation --weights` from the weights file's `rescore`, applied by `translate --backend ngram`,
/// left out with `--no-rerank`, and a missing language model is an error that names it.
#[test]
fn phrase_based_n_best_lists_are_rescored_with_a_neural_language_model() {
    if !runtime_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pairs = [
        ("A dog runs.", "Ein Hund rennt."),
        ("A dog runs in the park.", "Ein Hund rennt im Park."),
        ("The dog sleeps.", "Der Hund schläft."),
        ("A man runs.", "Ein Mann rennt."),
        ("The man sleeps in the park.", "Der Mann schläft im Park."),
        ("A woman reads a book.", "Eine Frau liest ein Buch."),
    ];
    // de→en: the fixture language model is an English one.
    let (src, tgt) = (dir.path().join("train.de"), dir.path().join("train.en"));
    std::fs::write(&src, pairs.iter().map(|p| format!("{}\n", p.1)).collect::<String>()).unwrap();
    std::fs::write(&tgt, pairs.iter().map(|p| format!("{}\n", p.0)).collect::<String>()).unwrap();
    let train = |out: &Path, weights: Option<&Path>| {
        let mut args = vec![
            "train-translation",
            "--from",
            "de",
            "--to",
            "en",
            "--src",
            src.to_str().unwrap(),
            "--tgt",
            tgt.to_str().unwrap(),
            "--lm-order",
            "3",
            "-o",
            out.to_str().unwrap(),
        ];
        if let Some(w) = weights {
            args.extend(["--weights", w.to_str().unwrap()]);
        }
        let trained = fivegram(&args, &[], "");
        assert!(trained.status.success(), "{}", String::from_utf8_lossy(&trained.stderr));
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap()
    };
    let plain = dir.path().join("plain");
    let manifest = train(&plain, None);
    assert!(manifest.get("rescore").is_none());
    let lm = fixture("lm");
    let weights = dir.path().join("weights.json");
    let write_weights = |neural_lm: &str, words: f64| {
        let spec = serde_json::json!({
            "weights": manifest["weights"],
            "rescore": {"neural_lm": neural_lm, "nbest": 5,
                        "weights": {"decoder": 1.0, "words": words, "neural_lm": 0.0, "lm": 0.0}},
        });
        std::fs::write(&weights, spec.to_string()).unwrap();
    };
    write_weights(lm.to_str().unwrap(), 0.0);
    let model = dir.path().join("rescored");
    let manifest = train(&model, Some(&weights));
    assert_eq!(manifest["rescore"]["nbest"], 5);
    let translate = |model: &Path, extra: &[&str]| {
        let mut args = vec![
            "translate",
            "--model",
            model.to_str().unwrap(),
            "--json",
            "--features",
            "--nbest",
            "3",
        ];
        args.extend(extra);
        fivegram(&args, &[], "Ein Hund rennt im Park.\n\n")
    };
    let out = translate(&model, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let first = &lines[0]["translations"][0];
    assert_eq!(first["text"], "A dog runs in the park.");
    let features = first["features"].as_object().unwrap();
    for name in ["decoder", "neural_lm", "words", "lm", "tm_p_s_given_t", "word_penalty"] {
        assert!(features.contains_key(name), "{name}: {features:?}");
    }
    assert!(features["neural_lm"].as_f64().unwrap() < 0.0);
    assert_eq!(features["words"], 6.0);
    // --no-rerank: the decoder alone, with its own features.
    let out = translate(&model, &["--no-rerank"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert!(line["translations"][0]["features"].get("neural_lm").is_none(), "{line}");
    // A large word bonus picks the longest of the decoder's five best.
    write_weights(lm.to_str().unwrap(), 100.0);
    let long = dir.path().join("long");
    train(&long, Some(&weights));
    let out = translate(&long, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    let list = line["translations"].as_array().unwrap();
    assert!(
        list[0]["features"]["words"].as_f64() >= list[1]["features"]["words"].as_f64(),
        "{line}"
    );
    // A language model that is not there: an error that names it and says how to do without.
    write_weights("no-such-lm-dir/", 0.0);
    let missing = dir.path().join("missing");
    train(&missing, Some(&weights));
    let out = translate(&missing, &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rescores") && stderr.contains("--no-rerank"),
        "{stderr}"
    );
    // An English language model cannot rescore an en→de model.
    write_weights(lm.to_str().unwrap(), 0.0);
    let en_de = dir.path().join("en-de");
    let trained = fivegram(
        &[
            "train-translation",
            "--src",
            tgt.to_str().unwrap(),
            "--tgt",
            src.to_str().unwrap(),
            "--lm-order",
            "3",
            "-o",
            en_de.to_str().unwrap(),
            "--weights",
            weights.to_str().unwrap(),
        ],
        &[],
        "",
    );
    assert!(trained.status.success(), "{}", String::from_utf8_lossy(&trained.stderr));
    let out = fivegram(&["translate", "--model", en_de.to_str().unwrap()], &[], "A dog runs.\n");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot rescore translations into \"de\""), "{stderr}");
    // Bad rescoring settings are refused when the model is trained, and nothing is left behind.
    for (rescore, message) in [
        (
            serde_json::json!({"neural_lm": "x", "nbest": 0, "weights": {}}),
            "nbest must be",
        ),
        (
            serde_json::json!({"neural_lm": "x", "nbest": 5, "weights": {"lm3": 1}}),
            "unknown feature",
        ),
    ] {
        let spec = serde_json::json!({"weights": manifest["weights"], "rescore": rescore});
        std::fs::write(&weights, spec.to_string()).unwrap();
        let bad = dir.path().join("bad");
        let refused = fivegram(
            &[
                "train-translation",
                "--src",
                src.to_str().unwrap(),
                "--tgt",
                tgt.to_str().unwrap(),
                "-o",
                bad.to_str().unwrap(),
                "--weights",
                weights.to_str().unwrap(),
            ],
            &[],
            "",
        );
        assert_eq!(refused.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&refused.stderr).contains(message), "{message}");
        assert!(!bad.exists());
    }
}
