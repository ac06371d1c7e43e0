//! Verifying mirror files against a catalog: a flipped byte, a truncated file and a missing file are caught.

use std::path::Path;

use fivegram_corpora::Error;
use fivegram_corpora::catalog::Catalog;
use fivegram_corpora::fetch::{Origin, Resolver, hash_file, verify_file};

const TRAIN: &[u8] = b"the cat sat on the mat\nthe dog sat on the log\n";
const README: &[u8] = b"# tiny\nTwo sentences.\n";

fn sha256_hex(dir: &Path, bytes: &[u8]) -> String {
    let path = dir.join("scratch");
    std::fs::write(&path, bytes).unwrap();
    let (sha, size) = hash_file(&path, &mut |_| {}).unwrap();
    assert_eq!(size, bytes.len() as u64);
    std::fs::remove_file(path).unwrap();
    sha
}

/// A temporary mirror holding the two files of a one-corpus catalog.
fn mirror_and_catalog() -> (tempfile::TempDir, Catalog) {
    let mirror = tempfile::tempdir().unwrap();
    let text = format!(
        r#"
[[corpus]]
name = "tiny"
kind = "monolingual"
languages = ["en"]
description = "d"
licence = "CC0"
citation = "none"
homepage = "https://example.org/"
mirror_only = true
built_from = "written by the test"

[[corpus.file]]
path = "tiny/train.txt"
split = "train"
lang = "en"
size = {}
sha256 = "{}"

[[corpus.extra]]
path = "tiny/README.md"
size = {}
sha256 = "{}"
"#,
        TRAIN.len(),
        sha256_hex(mirror.path(), TRAIN),
        README.len(),
        sha256_hex(mirror.path(), README),
    );
    std::fs::create_dir(mirror.path().join("tiny")).unwrap();
    std::fs::write(mirror.path().join("tiny/train.txt"), TRAIN).unwrap();
    std::fs::write(mirror.path().join("tiny/README.md"), README).unwrap();
    (mirror, Catalog::from_toml_str(&text).unwrap())
}

#[test]
fn an_intact_mirror_verifies() {
    let (mirror, catalog) = mirror_and_catalog();
    let resolver = Resolver::new().with_mirror(Some(mirror.path().to_path_buf()));
    let corpus = catalog.corpus("tiny").unwrap();
    let mut hashed = 0;
    for file in corpus.all_files() {
        let found = resolver.locate(file).unwrap();
        assert_eq!(found.origin, Origin::Mirror);
        verify_file(&found.path, file, &mut |n| hashed += n).unwrap();
    }
    assert_eq!(hashed, corpus.total_size());
}

#[test]
fn a_flipped_byte_is_a_checksum_mismatch() {
    let (mirror, catalog) = mirror_and_catalog();
    let path = mirror.path().join("tiny/train.txt");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[7] ^= 0x20; // "cat" -> "cAt"
    std::fs::write(&path, &bytes).unwrap();
    let file = catalog.split_files("tiny", "train", None).unwrap()[0];
    match verify_file(&path, file, &mut |_| {}) {
        Err(Error::Checksum {
            path: at,
            expected,
            found,
        }) => {
            assert_eq!(at, path);
            assert_eq!(expected, file.sha256);
            assert_ne!(found, expected);
            let message = Error::Checksum {
                path: at,
                expected,
                found,
            }
            .to_string();
            assert!(message.contains("sha256 mismatch"), "{message}");
        }
        other => panic!("expected a checksum mismatch, got {other:?}"),
    }
    // The other file is unaffected.
    let readme = &catalog.corpus("tiny").unwrap().extras[0];
    verify_file(&mirror.path().join("tiny/README.md"), readme, &mut |_| {}).unwrap();
}

#[test]
fn a_truncated_file_fails_on_size_without_hashing() {
    let (mirror, catalog) = mirror_and_catalog();
    let path = mirror.path().join("tiny/train.txt");
    std::fs::write(&path, &TRAIN[..10]).unwrap();
    let file = catalog.split_files("tiny", "train", None).unwrap()[0];
    let mut hashed = 0;
    match verify_file(&path, file, &mut |n| hashed += n) {
        Err(Error::Size { expected, found, .. }) => {
            assert_eq!((expected, found), (TRAIN.len() as u64, 10));
        }
        other => panic!("expected a size mismatch, got {other:?}"),
    }
    assert_eq!(hashed, 0);
}

#[test]
fn a_missing_file_is_not_located_and_fails_to_verify_with_its_path() {
    let (mirror, catalog) = mirror_and_catalog();
    let path = mirror.path().join("tiny/README.md");
    std::fs::remove_file(&path).unwrap();
    let readme = &catalog.corpus("tiny").unwrap().extras[0];
    let resolver = Resolver::new().with_mirror(Some(mirror.path().to_path_buf()));
    assert!(resolver.locate(readme).is_none());
    match verify_file(&path, readme, &mut |_| {}) {
        Err(Error::Io { path: at, source }) => {
            assert_eq!(at, path);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected an I/O error, got {other:?}"),
    }
}
