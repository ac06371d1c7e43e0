//! `fivegram corpora`: listing the shipped catalog, usage errors for unknown names, verification outcomes.
//! No test touches the network: the mirror and cache are temporary directories (or absent).

mod common;

use std::path::Path;
use std::process::Output;

use common::text;

/// Runs `fivegram` with the corpus environment cleared and the cache pointed at `cache`.
fn fivegram(args: &[&str], cache: &Path) -> Output {
    let mut command = common::command(args);
    command
        .env_remove("FIVEGRAM_MIRROR")
        .env_remove("FIVEGRAM_MIRROR_URL")
        .env("FIVEGRAM_CACHE", cache);
    common::run(command, b"")
}

#[test]
fn list_json_describes_the_shipped_catalog() {
    let cache = tempfile::tempdir().unwrap();
    let output = fivegram(&["corpora", "list", "--json"], cache.path());
    assert!(output.status.success(), "{}", text(&output.stderr));
    let records: Vec<serde_json::Value> = text(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is one JSON object"))
        .collect();
    let names: Vec<&str> = records.iter().map(|r| r["name"].as_str().unwrap()).collect();
    for want in [
        "multi30k",
        "tatoeba-deu-eng",
        "ptb",
        "wikitext2",
        "gutenberg",
        "big-txt",
        "modern-english",
        "spelling",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let multi30k = &records[names.iter().position(|n| *n == "multi30k").unwrap()];
    assert_eq!(multi30k["kind"], "parallel");
    assert_eq!(multi30k["languages"], serde_json::json!(["en", "de", "fr", "cs"]));
    let splits: Vec<&str> = multi30k["splits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(splits, ["train", "val", "test_2016_flickr"]);
    assert_eq!(multi30k["local_files"], 0, "no mirror and an empty cache");
    assert_eq!(multi30k["files"], 16);
}

#[test]
fn list_plain_has_one_line_per_corpus() {
    let cache = tempfile::tempdir().unwrap();
    let output = fivegram(&["corpora", "list"], cache.path());
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert_eq!(stdout.lines().count(), 8, "{stdout}");
    let ptb = stdout.lines().find(|l| l.starts_with("ptb ")).unwrap();
    assert!(ptb.contains("monolingual") && ptb.contains("train,valid,test"), "{ptb}");
    assert!(ptb.contains("0/4 local, 3 more downloadable"), "{ptb}");
}

#[test]
fn unknown_names_are_usage_errors_listing_valid_ones() {
    let cache = tempfile::tempdir().unwrap();
    for (args, lists) in [
        (&["corpora", "path", "nosuch", "train"][..], "multi30k"),
        (&["corpora", "path", "multi30k", "dev"][..], "test_2016_flickr"),
        (&["corpora", "path", "multi30k", "train", "xx"][..], "en, de, fr, cs"),
        (&["corpora", "verify", "nosuch"][..], "spelling"),
    ] {
        let output = fivegram(args, cache.path());
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("not in the catalog") && stderr.contains(lists),
            "{args:?}: {stderr}"
        );
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn a_mirror_that_is_not_a_directory_is_a_usage_error() {
    let cache = tempfile::tempdir().unwrap();
    let missing = cache.path().join("no-such-mirror");
    let output = fivegram(
        &["corpora", "list", "--mirror", missing.to_str().unwrap()],
        cache.path(),
    );
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("not a directory"));
}

#[test]
fn a_mirror_only_file_without_a_mirror_says_to_set_one() {
    let cache = tempfile::tempdir().unwrap();
    let output = fivegram(&["corpora", "path", "gutenberg", "dev"], cache.path());
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("english/gutenberg-dev.txt.gz") && stderr.contains("FIVEGRAM_MIRROR"),
        "{stderr}"
    );
}

#[test]
fn verify_reports_ok_mismatch_and_missing_and_fails() {
    let cache = tempfile::tempdir().unwrap();
    let mirror = tempfile::tempdir().unwrap();
    std::fs::create_dir(mirror.path().join("spelling")).unwrap();
    // A wrong README (its size differs from the catalog's) and nothing else.
    std::fs::write(mirror.path().join("spelling/README.md"), "not the README").unwrap();
    let dir = mirror.path().to_str().unwrap();
    let output = fivegram(&["corpora", "verify", "spelling", "--mirror", dir], cache.path());
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("MISMATCH  spelling/README.md") && l.contains("14 bytes, expected"))
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("missing   spelling/")).count(),
        3,
        "{stdout}"
    );
    assert!(text(&output.stderr).contains("4 of 4 files failed verification"));

    let json = fivegram(
        &["corpora", "--mirror", dir, "verify", "spelling", "--json"],
        cache.path(),
    );
    assert_eq!(json.status.code(), Some(1));
    let statuses: Vec<String> = text(&json.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["status"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(statuses.iter().filter(|s| *s == "missing").count(), 3);
    assert_eq!(statuses.iter().filter(|s| *s == "mismatch").count(), 1);
}
