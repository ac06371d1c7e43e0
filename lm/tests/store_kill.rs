//! A build killed midway, from outside (SIGKILL of the building process, at times spread over the whole build),
//! never leaves a model directory that opens: either `Store::open` fails, or what opens is a complete model
//! that passes `verify`, with a manifest that some finished build wrote. A later build into the same directory
//! succeeds.
//!
//! The building process is this test binary itself, run again on the test `child_build` with
//! `FIVEGRAM_KILL_CHILD` set (without it, `child_build` does nothing).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use fivegram_lm::store::Layout;
use fivegram_lm::store::Store;
use fivegram_lm::store::build::{BuildOptions, build_from_arpa};

const CHILD: &str = "FIVEGRAM_KILL_CHILD";

/// A valid random ARPA model large enough that building it takes a while: `words` words, `per_order` random
/// n-grams of each order 2 to 5 (missing prefixes and suffixes are allowed, as in real pruned models).
fn random_arpa(seed: u64, words: usize, per_order: usize) -> String {
    let mut rng = seed | 1;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let mut vocab: Vec<String> = vec!["<s>".into(), "</s>".into(), "<unk>".into()];
    vocab.extend((0..words).map(|i| format!("w{i}")));
    let mut sections: Vec<Vec<String>> = vec![
        vocab
            .iter()
            .map(|w| format!("-{}.{:03}\t{w}\t-0.{:03}", next(5), next(1000), next(1000)))
            .collect(),
    ];
    for n in 2..=5 {
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..per_order {
            let gram: Vec<&str> = (0..n)
                .map(|_| vocab[next(vocab.len() as u64) as usize].as_str())
                .collect();
            seen.insert(gram.join(" "));
        }
        sections.push(
            seen.into_iter()
                .map(|g| {
                    let prob = format!("-{}.{:03}", next(5), next(1000));
                    if n == 5 {
                        format!("{prob}\t{g}")
                    } else {
                        format!("{prob}\t{g}\t-0.{:03}", next(1000))
                    }
                })
                .collect(),
        );
    }
    let mut text = String::from("\\data\\\n");
    for (i, s) in sections.iter().enumerate() {
        text += &format!("ngram {}={}\n", i + 1, s.len());
    }
    for (i, s) in sections.iter().enumerate() {
        text += &format!("\n\\{}-grams:\n", i + 1);
        for line in s {
            text += line;
            text += "\n";
        }
    }
    text + "\n\\end\\\n"
}

/// Shards, bits and layout of a build.
type Set = (u32, u32, Layout);

fn options(&(shards, quantize, layout): &Set) -> BuildOptions {
    BuildOptions {
        shards,
        quantize,
        layout,
        ..BuildOptions::default()
    }
}

/// Starts this test binary building `arpa` into `dir` with the options of `set`.
fn spawn_build(arpa: &Path, dir: &Path, &(shards, quantize, layout): &Set) -> Child {
    let exe = std::env::current_exe().unwrap();
    Command::new(exe)
        .args(["--exact", "child_build", "--nocapture", "--test-threads=1"])
        .env(
            CHILD,
            format!(
                "{}\n{}\n{shards}\n{quantize}\n{}",
                arpa.display(),
                dir.display(),
                layout.name()
            ),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The building side: does nothing unless started by [`spawn_build`].
#[test]
fn child_build() {
    let Ok(spec) = std::env::var(CHILD) else {
        return;
    };
    let parts: Vec<&str> = spec.lines().collect();
    let [arpa, dir, shards, quantize, layout] = parts[..] else {
        panic!("{CHILD}: expected 5 lines, got {spec:?}");
    };
    let layout = if layout == "hashed" {
        Layout::Hashed
    } else {
        Layout::Trie
    };
    let options = options(&(shards.parse().unwrap(), quantize.parse().unwrap(), layout));
    build_from_arpa(Path::new(arpa), Path::new(dir), &options).unwrap();
}

/// The manifest (as text) of every finished build of `arpa` with the option sets tried, for comparison.
fn finished_manifests(arpa: &Path, sets: &[Set]) -> Vec<Vec<u8>> {
    sets.iter()
        .map(|set| {
            let dir = tempfile::tempdir().unwrap();
            build_from_arpa(arpa, dir.path(), &options(set)).unwrap();
            std::fs::read(dir.path().join("manifest.json")).unwrap()
        })
        .collect()
}

#[test]
fn a_build_killed_midway_never_leaves_a_model_that_opens() {
    killed_builds((2, 0, Layout::Trie), (3, 8, Layout::Trie));
}

#[test]
fn a_hashed_build_killed_midway_never_leaves_a_model_that_opens() {
    killed_builds((2, 0, Layout::Trie), (3, 8, Layout::Hashed));
}

/// Kills builds of `new` at ten points of their run, into an empty directory and over a finished build of
/// `previous`: what is left either does not open or is a complete model.
fn killed_builds(previous: Set, new: Set) {
    let work = tempfile::tempdir().unwrap();
    let arpa: PathBuf = work.path().join("random.arpa");
    std::fs::write(&arpa, random_arpa(7, 600, 3_000)).unwrap();
    let manifests = finished_manifests(&arpa, &[previous, new]);

    // How long one whole build takes in this process's build profile.
    let dir = work.path().join("timing");
    let start = Instant::now();
    let status = spawn_build(&arpa, &dir, &new).wait().unwrap();
    assert!(status.success(), "the child build failed: {status}");
    let full = start.elapsed();
    Store::open(&dir).unwrap().verify().unwrap();
    eprintln!("one build: {full:?}");

    let steps = 10u32;
    let mut opened = 0;
    for step in 0..steps {
        // Into an empty directory, and over a finished model built with other options.
        for over_previous in [false, true] {
            let dir = work.path().join(format!("killed-{step}-{over_previous}"));
            if over_previous {
                build_from_arpa(&arpa, &dir, &options(&previous)).unwrap();
            }
            let mut child = spawn_build(&arpa, &dir, &new);
            std::thread::sleep(full.mul_f64(f64::from(step) / f64::from(steps)));
            let finished = matches!(child.try_wait(), Ok(Some(_)));
            let _ = child.kill();
            child.wait().unwrap();
            let what = format!("killed at {step}/{steps} of {full:?} (over a previous model: {over_previous})");
            if let Ok(store) = Store::open(&dir) {
                opened += 1;
                store
                    .verify()
                    .unwrap_or_else(|e| panic!("{what}: opens but fails verify: {e}"));
                let manifest = std::fs::read(dir.join("manifest.json")).unwrap();
                assert!(
                    manifests.contains(&manifest),
                    "{what}: a manifest no finished build wrote"
                );
                if !over_previous && !finished {
                    // Only the manifest's rename can have completed the new model; that is the last step.
                    assert_eq!(manifest, manifests[1], "{what}");
                }
            }
            // Building again over whatever the kill left succeeds.
            if step % 4 == 3 {
                build_from_arpa(&arpa, &dir, &options(&new)).unwrap();
                Store::open(&dir).unwrap().verify().unwrap();
            }
        }
    }
    eprintln!(
        "{opened} of {} killed builds left a model that opens (all complete)",
        2 * steps
    );
}
