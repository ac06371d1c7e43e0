//! Damaged model files into the store: a valid model (built once from a small ARPA model, two shards, 8 bits)
//! has bytes of its files overwritten as the input says, then is opened, queried and verified.
//!
//! Opening must return a value or an `Error` (never panic), and so must every query and `verify` on whatever
//! opens: damage inside the n-gram sections is not checked at open, so queries must survive garbage.
//!
//! Input: a sequence of 4-byte edits `[file, offset low, offset high, value]`: file 0 is the manifest, 1 the
//! vocabulary, 2 and 3 the shards; the offset wraps around the file's length.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use fivegram_lm::model::{LanguageModel, State};
use fivegram_lm::store::Store;
use fivegram_lm::store::build::{BuildOptions, build_from_arpa};
use libfuzzer_sys::fuzz_target;

const ARPA: &str = "\\data\\\nngram 1=6\nngram 2=6\nngram 3=3\n\n\\1-grams:\n-2.0\t<unk>\n-99\t<s>\t-0.5\n\
-1.0\t</s>\n-0.7\ta\t-0.3\n-0.8\tb\t-0.2\n-1.2\tc\t-0.1\n\n\\2-grams:\n-0.4\t<s> a\n-0.6\ta b\t-0.15\n\
-0.9\tb a\n-0.3\tb </s>\n-0.5\ta c\t0\n-1.1\tc </s>\n\n\\3-grams:\n-0.2\t<s> a b\n-0.35\ta b a\n\
-0.15\ta b </s>\n\n\\end\\\n";

/// The model's files: manifest, vocabulary, shards.
fn model() -> &'static Vec<Vec<u8>> {
    static MODEL: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    MODEL.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("fivegram-fuzz-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let arpa = dir.join("toy.arpa");
        std::fs::write(&arpa, ARPA).unwrap();
        let out = dir.join("model");
        let options = BuildOptions {
            shards: 2,
            quantize: 8,
            ..BuildOptions::default()
        };
        let manifest = build_from_arpa(&arpa, &out, &options).unwrap();
        let mut files = vec![std::fs::read(out.join("manifest.json")).unwrap()];
        for f in &manifest.files {
            files.push(std::fs::read(out.join(&f.name)).unwrap());
        }
        let _ = std::fs::remove_dir_all(&dir);
        files
    })
}

fuzz_target!(|data: &[u8]| {
    let mut files = model().clone();
    for edit in data.chunks_exact(4) {
        let file = &mut files[usize::from(edit[0]) % 4];
        if file.is_empty() {
            continue;
        }
        let at = usize::from(u16::from_le_bytes([edit[1], edit[2]])) % file.len();
        file[at] = edit[3];
    }
    let Ok(store) = Store::from_parts(Path::new("fuzz"), &files[0], files[1].clone(), files[2..].to_vec()) else {
        return;
    };
    let words: Vec<u32> = ["a", "b", "c", "a", "x"].iter().map(|w| store.word_id(w)).collect();
    let _ = store.score_sentence(&words, true, true);
    let states = [
        State::EMPTY,
        store.begin_sentence_state(),
        State::new(&[1, 2, 3, 4]).unwrap(),
    ];
    let mut queries = Vec::new();
    for state in states {
        for w in 0..store.vocab_size() as u32 + 1 {
            queries.push((state, w));
        }
    }
    let mut out = Vec::new();
    store.score_batch(&queries, &mut out);
    assert_eq!(out.len(), queries.len());
    let _ = store.verify();
});
