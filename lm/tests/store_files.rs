//! The store's files on disk: damage is always detected, builds are atomic and reproducible.
//!
//! - every truncation of any file, and every single-byte change in any header or footer, is an error at open;
//! - every single-byte change anywhere (manifest included) is an error at open or caught by `verify`;
//! - a build stopped after any number of files leaves a directory that does not open;
//! - the same input gives byte-identical files, whatever the parallelism.
//!
//! Every test of the model's files runs for each shard layout (modules `trie` and `hashed`).

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use fivegram_lm::Error;
use fivegram_lm::arpa::read::ArpaReader;
use fivegram_lm::model::LanguageModel;
use fivegram_lm::store::build::{BuildOptions, build, build_from_arpa};
use fivegram_lm::store::format::HEADER_LEN;
use fivegram_lm::store::manifest::Manifest;
use fivegram_lm::store::{Layout, Store};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// A model's files: (name, bytes), the manifest first.
fn read_model(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let manifest_bytes = std::fs::read(dir.join("manifest.json")).unwrap();
    let manifest = Manifest::parse(Path::new("manifest.json"), &manifest_bytes).unwrap();
    let mut files = vec![("manifest.json".to_string(), manifest_bytes)];
    for f in &manifest.files {
        files.push((f.name.clone(), std::fs::read(dir.join(&f.name)).unwrap()));
    }
    files
}

fn open(files: &[(String, Vec<u8>)]) -> Result<Store<Vec<u8>>, Error> {
    Store::from_parts(
        Path::new("model"),
        &files[0].1,
        files[1].1.clone(),
        files[2..].iter().map(|(_, b)| b.clone()).collect(),
    )
}

fn built(options: &BuildOptions) -> (tempfile::TempDir, Vec<(String, Vec<u8>)>) {
    let dir = tempfile::tempdir().unwrap();
    build_from_arpa(&fixture("toy3.arpa"), dir.path(), options).unwrap();
    let files = read_model(dir.path());
    (dir, files)
}

fn options(shards: u32, quantize: u32) -> BuildOptions {
    BuildOptions {
        shards,
        quantize,
        ..BuildOptions::default()
    }
}

/// Where a container file's footer starts (from its trailer).
fn footer_start(bytes: &[u8]) -> usize {
    let at = bytes.len() - 28;
    let footer_len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    bytes.len() - footer_len
}

/// Builds into `dir`, stopping after `stop_after` files (counting the manifest) have been put in place.
fn build_stopping(dir: &Path, options: &BuildOptions, stop_after: usize) -> Result<(), Error> {
    let written = std::sync::atomic::AtomicUsize::new(0);
    let hook = |_: &Path| {
        if written.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 >= stop_after {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    build(ArpaReader::open(fixture("toy3.arpa"))?, dir, options, &hook).map(|_| ())
}

#[test]
fn a_missing_manifest_is_reported_as_an_unfinished_build() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("did not finish"), "{err}");
}

#[test]
fn a_manifest_naming_the_other_layout_is_refused() {
    for (built_as, claimed) in [(Layout::Trie, Layout::Hashed), (Layout::Hashed, Layout::Trie)] {
        let dir = tempfile::tempdir().unwrap();
        let options = BuildOptions {
            layout: built_as,
            ..options(2, 8)
        };
        build_from_arpa(&fixture("toy3.arpa"), dir.path(), &options).unwrap();
        let mut files = read_model(dir.path());
        let mut manifest = Manifest::parse(Path::new("manifest.json"), &files[0].1).unwrap();
        manifest.layout = claimed;
        files[0].1 = manifest.to_bytes();
        let err = open(&files).unwrap_err();
        assert!(err.to_string().contains("kind tag"), "{err}");
    }
}

/// The tests of a model's files, for the layout that `options` builds.
macro_rules! file_tests {
    () => {
        #[test]
        fn an_intact_model_opens_and_verifies() {
            let (_dir, files) = built(&options(2, 8));
            let store = open(&files).unwrap();
            store.verify().unwrap();
            assert_eq!(store.order(), 3);
            assert_eq!(store.manifest().files.len(), 3);
        }

        #[test]
        fn every_truncation_fails_at_open() {
            for quantize in [0, 8] {
                let (_dir, files) = built(&options(2, quantize));
                for f in 0..files.len() {
                    for len in 0..files[f].1.len() {
                        let mut damaged = files.clone();
                        damaged[f].1.truncate(len);
                        assert!(
                            open(&damaged).is_err(),
                            "{} truncated to {len} bytes opened",
                            files[f].0
                        );
                    }
                }
            }
        }

        #[test]
        fn every_header_and_footer_byte_change_fails_at_open() {
            let (_dir, files) = built(&options(2, 8));
            for f in 1..files.len() {
                let bytes = &files[f].1;
                let protected = (0..HEADER_LEN).chain(footer_start(bytes)..bytes.len());
                for at in protected {
                    for flip in [0x01u8, 0x80, 0xFF] {
                        let mut damaged = files.clone();
                        damaged[f].1[at] ^= flip;
                        assert!(
                            open(&damaged).is_err(),
                            "{} byte {at} ^ {flip:#04x} opened",
                            files[f].0
                        );
                    }
                }
            }
        }

        #[test]
        fn every_byte_change_anywhere_is_caught() {
            for quantize in [0, 8] {
                let (_dir, files) = built(&options(2, quantize));
                let mut at_open = 0;
                let mut at_verify = 0;
                for f in 0..files.len() {
                    for at in 0..files[f].1.len() {
                        let mut damaged = files.clone();
                        damaged[f].1[at] ^= 0x04;
                        match open(&damaged) {
                            Err(_) => at_open += 1,
                            Ok(store) => {
                                assert!(
                                    store.verify().is_err(),
                                    "{} byte {at} changed: verify passed",
                                    files[f].0
                                );
                                at_verify += 1;
                            }
                        }
                    }
                }
                eprintln!("quantize {quantize}: {at_open} changes refused at open, {at_verify} caught by verify");
                assert!(at_verify > 0 && at_open > 0);
            }
        }

        #[test]
        fn damaged_data_never_panics_a_query() {
            // Bytes inside the sections are not checked at open (that is verify's job); scoring must still not panic.
            let (_dir, files) = built(&options(1, 8));
            let shard = 2;
            let start = HEADER_LEN;
            let end = footer_start(&files[shard].1);
            for at in start..end {
                for value in [0x00u8, 0xFF, 0x5A] {
                    let mut damaged = files.clone();
                    damaged[shard].1[at] = value;
                    let Ok(store) = open(&damaged) else { continue };
                    for sentence in [&["a", "b", "a"][..], &["c", "b", "x"], &["b", "a", "c"]] {
                        let ids: Vec<u32> = sentence.iter().map(|w| store.word_id(w)).collect();
                        let _ = store.score_sentence(&ids, true, true);
                    }
                }
            }
        }

        #[test]
        fn the_same_input_gives_byte_identical_files() {
            for (shards, quantize) in [(1, 0), (3, 8), (7, 4)] {
                let (_a, first) = built(&BuildOptions {
                    parallel: true,
                    ..options(shards, quantize)
                });
                let (_b, second) = built(&BuildOptions {
                    parallel: false,
                    ..options(shards, quantize)
                });
                assert_eq!(first, second, "{shards} shards, {quantize} bits");
            }
            // A real model too, when the reference is at hand.
            let reference = std::env::var_os("FIVEGRAM_REFERENCE")
                .map(PathBuf::from)
                .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/kenlm"));
            let arpa = reference.join("m30k.en.o5.prune001.arpa.gz");
            if !arpa.is_file() {
                eprintln!("skipped the real model: no {}", arpa.display());
                return;
            }
            let a = tempfile::tempdir().unwrap();
            let b = tempfile::tempdir().unwrap();
            build_from_arpa(&arpa, a.path(), &options(3, 8)).unwrap();
            build_from_arpa(
                &arpa,
                b.path(),
                &BuildOptions {
                    parallel: false,
                    ..options(3, 8)
                },
            )
            .unwrap();
            assert!(
                read_model(a.path()) == read_model(b.path()),
                "{}: builds differ",
                arpa.display()
            );
        }

        #[test]
        fn a_build_stopped_midway_never_leaves_a_model_that_opens() {
            let new = BuildOptions {
                parallel: false,
                ..options(3, 8)
            };
            let files = 1 + 3; // vocabulary and shards; the manifest comes last
            for stop_after in 1..=files {
                // Into an empty directory, and over a complete model built with other options.
                for previous in [None, Some(options(2, 0)), Some(options(3, 0))] {
                    let dir = tempfile::tempdir().unwrap();
                    if let Some(previous) = &previous {
                        build_from_arpa(&fixture("toy3.arpa"), dir.path(), previous).unwrap();
                        Store::open(dir.path()).unwrap();
                    }
                    let result = build_stopping(dir.path(), &new, stop_after);
                    assert!(matches!(result, Err(Error::Cancelled(_))), "{result:?}");
                    assert!(
                        Store::open(dir.path()).is_err(),
                        "stopped after {stop_after} files over {previous:?}: a model opens"
                    );
                }
            }
            // Stopping only after the manifest is in place leaves the complete new model.
            let dir = tempfile::tempdir().unwrap();
            build_from_arpa(&fixture("toy3.arpa"), dir.path(), &options(2, 0)).unwrap();
            let result = build_stopping(dir.path(), &new, files + 1);
            assert!(matches!(result, Err(Error::Cancelled(_))));
            let store = Store::open(dir.path()).unwrap();
            assert_eq!(store.manifest().shards, 3);
            store.verify().unwrap();
        }

        #[test]
        fn files_from_another_build_are_refused() {
            let (_a, first) = built(&options(2, 8));
            let (_b, second) = built(&options(2, 0));
            let mut mixed = first.clone();
            mixed[3] = second[3].clone();
            assert!(open(&mixed).is_err());
            let mut swapped = first.clone();
            swapped.swap(2, 3);
            assert!(open(&swapped).is_err());
        }
    };
}

mod trie {
    use super::*;

    fn options(shards: u32, quantize: u32) -> BuildOptions {
        BuildOptions {
            layout: Layout::Trie,
            ..super::options(shards, quantize)
        }
    }

    file_tests!();
}

mod hashed {
    use super::*;

    fn options(shards: u32, quantize: u32) -> BuildOptions {
        BuildOptions {
            layout: Layout::Hashed,
            ..super::options(shards, quantize)
        }
    }

    file_tests!();
}
