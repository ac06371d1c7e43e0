//! `fivegram bench` end to end on a tiny mirror built here (Multi30k test_2016_flickr and Penn Treebank test),
//! a hand-written unigram ARPA, and the committed neural fixtures (neural/tests/fixtures/) as the default neural
//! models through FIVEGRAM_NEURAL_MODELS. The default n-gram translation model is missing on purpose
//! (XDG_DATA_HOME points at an empty folder), so that part must say it was skipped and how to build the model.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

/// Writes a mirror file under its catalog name; the readers recognise gzip by its magic bytes, so plain text
/// under a `.gz` name reads as plain text.
fn write_gz(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A mirror with the two test sets, an ARPA model, and an empty data home.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        write_gz(
            &data.join("multi30k/test_2016_flickr.en.gz"),
            "A dog runs.\nTwo men are talking.\nA girl eats an apple.\n",
        );
        write_gz(
            &data.join("multi30k/test_2016_flickr.de.gz"),
            "Ein Hund rennt.\nZwei Männer unterhalten sich.\nEin Mädchen isst einen Apfel.\n",
        );
        write_gz(&data.join("ptb/ptb.test.txt.gz"), "the cat\nthe <unk>\n");
        std::fs::write(
            dir.path().join("tiny.arpa"),
            "\\data\\\nngram 1=6\n\n\\1-grams:\n-1.0\t<unk>\n-99\t<s>\n-0.6\t</s>\n-0.5\tthe\n-0.8\tcat\n-0.9\tUNKW\n\n\\end\\\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        std::fs::create_dir_all(dir.path().join("cache")).unwrap();
        let models = dir.path().join("neural-models");
        std::fs::create_dir_all(&models).unwrap();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("neural/tests/fixtures");
        std::os::unix::fs::symlink(fixtures.join("seq2seq"), models.join("en-de")).unwrap();
        std::os::unix::fs::symlink(fixtures.join("lm"), models.join("lm-ptb")).unwrap();
        Fixture { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn bench(&self, args: &[&str], neural_models: Option<&Path>) -> Output {
        let mut command = common::command(&["bench"]);
        command
            .args(args)
            .env("XDG_DATA_HOME", self.path("home"))
            .env("HOME", self.path("home"))
            .env("FIVEGRAM_CACHE", self.path("cache"))
            .env_remove("FIVEGRAM_MIRROR")
            .env_remove("FIVEGRAM_MIRROR_URL")
            .env(
                "FIVEGRAM_NEURAL_MODELS",
                neural_models.map_or(self.path("no-neural-models"), Path::to_path_buf),
            );
        // The data home is a temporary folder here: keep the ONNX Runtime installed at the real one.
        if std::env::var_os("ORT_DYLIB_PATH").is_none() {
            let home = std::env::var_os("XDG_DATA_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/share")));
            if let Some(home) = home {
                command.env(
                    "ORT_DYLIB_PATH",
                    home.join("fivegram/onnxruntime/libonnxruntime.so.1.31.1"),
                );
            }
        }
        common::run(command, b"")
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn part<'a>(json: &'a Value, task: &str, backend: &str) -> &'a Value {
    json["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["task"] == task && p["backend"] == backend)
        .unwrap_or_else(|| panic!("no {task} {backend} part in {json}"))
}

#[test]
fn measures_the_ngram_lm_and_says_why_the_missing_models_are_skipped() {
    let fx = Fixture::new();
    let report = fx.path("report");
    let out = fx.bench(
        &[
            "--data",
            fx.path("data").to_str().unwrap(),
            "--ngram-lm",
            fx.path("tiny.arpa").to_str().unwrap(),
            "--threads",
            "1",
            "-o",
            report.to_str().unwrap(),
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let json = read_json(&report.join("report.json"));
    assert_eq!(json["settings"]["limit"], "all");

    // PTB's literal <unk> is the model's unknown word: Σ log10 = (-0.5 - 0.8 - 0.6) + (-0.5 - 1.0 - 0.6) = -4.0
    // over 6 tokens, one OOV.
    let lm = part(&json, "perplexity", "ngram");
    assert_eq!(lm["status"], "measured", "{lm}");
    let ppl = lm["figures"]["perplexity"].as_f64().unwrap();
    assert!((ppl - 10f64.powf(4.0 / 6.0)).abs() < 1e-4, "{ppl}");
    assert_eq!(lm["figures"]["oovs"], 1.0);
    assert_eq!(lm["figures"]["words"], 6.0);
    assert_eq!(lm["figures"]["sentences"], 2.0);
    assert!(lm["figures"]["words_per_second"].as_f64().unwrap() > 0.0);
    // Each part runs in its own process, which reports its peak memory.
    assert!(lm["figures"]["peak_rss_mib"].as_f64().unwrap() > 0.0, "{lm}");
    assert!(lm["figures"]["cpu_seconds"].as_f64().unwrap() >= 0.0, "{lm}");

    let tm = part(&json, "translation", "ngram");
    assert_eq!(tm["status"], "skipped");
    let reason = tm["reason"].as_str().unwrap();
    assert!(
        reason.contains("fivegram train-translation --from en --to de"),
        "{reason}"
    );
    for task in ["translation", "perplexity"] {
        let neural = part(&json, task, "neural");
        assert_eq!(neural["status"], "skipped", "{neural}");
        assert!(neural["reason"].as_str().unwrap().contains("neural/train/"), "{neural}");
    }

    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(md.contains("| ngram | measured |"), "{md}");
    assert!(md.contains("skipped: no default en→de model"), "{md}");
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert!(html.contains("<table>") && html.contains("<svg"), "{html}");
    assert!(html.contains("PTB test perplexity"), "{html}");
    // No temporary files are left behind.
    let names: Vec<String> = std::fs::read_dir(&report)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
}

#[test]
fn ptb_unk_renames_the_literal_unknown_token_for_the_ngram_model() {
    let fx = Fixture::new();
    let report = fx.path("report");
    let out = fx.bench(
        &[
            "--data",
            fx.path("data").to_str().unwrap(),
            "--ngram-lm",
            fx.path("tiny.arpa").to_str().unwrap(),
            "--ptb-unk",
            "UNKW",
            "-o",
            report.to_str().unwrap(),
        ],
        None,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json = read_json(&report.join("report.json"));
    // (-0.5 - 0.8 - 0.6) + (-0.5 - 0.9 - 0.6) = -3.9 over 6 tokens, no OOV.
    let lm = part(&json, "perplexity", "ngram");
    let ppl = lm["figures"]["perplexity"].as_f64().unwrap();
    assert!((ppl - 10f64.powf(3.9 / 6.0)).abs() < 1e-4, "{ppl}");
    assert_eq!(lm["figures"]["oovs"], 0.0);
    assert_eq!(json["settings"]["PTB <unk> scored by the n-gram model as"], "UNKW");
}

#[test]
fn runs_the_neural_fixtures_as_default_models_when_the_runtime_is_installed() {
    let fx = Fixture::new();
    let report = fx.path("report");
    let models = fx.path("neural-models");
    let out = fx.bench(
        &[
            "--data",
            fx.path("data").to_str().unwrap(),
            "--limit",
            "2",
            "-o",
            report.to_str().unwrap(),
        ],
        Some(&models),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json = read_json(&report.join("report.json"));
    assert_eq!(json["settings"]["limit"], "2");
    let lm = part(&json, "perplexity", "ngram");
    assert_eq!(lm["status"], "skipped");
    assert!(lm["reason"].as_str().unwrap().contains("--ngram-lm"), "{lm}");
    let tm = part(&json, "translation", "neural");
    let nlm = part(&json, "perplexity", "neural");
    if out.status.success() {
        assert_eq!(tm["status"], "measured", "{tm}");
        assert_eq!(tm["figures"]["sentences"], 2.0);
        let bleu = tm["figures"]["bleu"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&bleu), "{bleu}");
        assert!(tm["figures"]["sentences_per_second"].as_f64().unwrap() > 0.0);
        assert!(tm["figures"]["peak_rss_mib"].as_f64().unwrap() > 0.0, "{tm}");
        assert_eq!(nlm["status"], "measured", "{nlm}");
        assert_eq!(nlm["figures"]["sentences"], 2.0);
        assert!(nlm["figures"]["perplexity"].as_f64().unwrap() > 1.0);
    } else {
        // Without the ONNX Runtime library the neural parts fail, say so, and the verb exits with 1.
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("failed"), "{stderr}");
        assert_eq!(tm["status"], "failed", "{tm}");
        eprintln!("neural parts not measured: {}", tm["reason"]);
    }
}

#[test]
fn bad_options_fail_with_usage_or_runtime_exit_codes() {
    let fx = Fixture::new();
    let report = fx.path("report");
    let data = fx.path("data");
    let report_s = report.to_str().unwrap();
    let data_s = data.to_str().unwrap();

    let out = fx.bench(&["--data", data_s, "--limit", "0", "-o", report_s], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--limit"));

    let out = fx.bench(&["--data", data_s, "--threads", "0", "-o", report_s], None);
    assert_eq!(out.status.code(), Some(2));

    let missing = fx.path("no-such-data");
    let out = fx.bench(&["--data", missing.to_str().unwrap(), "-o", report_s], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-data"));

    let out = fx.bench(&["--data", data_s, "--part", "nonsense", "-o", report_s], None);
    assert_eq!(out.status.code(), Some(2));

    let out = fx.bench(&["--data", data_s], None);
    assert_eq!(out.status.code(), Some(2), "-o is required");

    // A report directory that cannot be created (a file is in the way): runtime error naming it.
    std::fs::write(fx.path("a-file"), "x").unwrap();
    let blocked = fx.path("a-file").join("report");
    let out = fx.bench(&["--data", data_s, "-o", blocked.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a-file"));
    assert!(!report.exists());

    // A data directory without the test sets: the parts fail with the missing file, and the report says so.
    let empty = fx.path("empty-data");
    std::fs::create_dir_all(&empty).unwrap();
    let out = fx.bench(&["--data", empty.to_str().unwrap(), "-o", report_s], None);
    assert_eq!(out.status.code(), Some(1));
    let json = read_json(&report.join("report.json"));
    let tm = part(&json, "translation", "ngram");
    assert_eq!(tm["status"], "failed");
    assert!(tm["reason"].as_str().unwrap().contains("test_2016_flickr"), "{tm}");
}
