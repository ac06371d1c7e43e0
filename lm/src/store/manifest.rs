//! `manifest.json`: what a model directory holds, written last and atomically by the builder.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::format::FORMAT_VERSION;
use crate::{Error, Result};

/// The manifest's file name inside a model directory.
pub const MANIFEST: &str = "manifest.json";
/// The vocabulary file's name.
pub const VOCAB: &str = "vocab.fst";
/// The value of the manifest's `format` field.
pub const FORMAT: &str = "fivegram-store";

/// The name of shard `i`'s file.
pub fn shard_file_name(i: u32) -> String {
    format!("shard-{i:05}.fgs")
}

/// One file of the model, as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// The file name inside the model directory.
    pub name: String,
    /// Its length in bytes.
    pub bytes: u64,
    /// The CRC-32 recorded in its footer (8 hex digits): checked against the footer at open.
    pub crc32: String,
    /// SHA-256 of the whole file (64 hex digits): checked by `verify`.
    pub sha256: String,
}

/// How values are quantized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quantization {
    /// Bits per probability code; 0 for unquantized `f32`.
    pub prob_bits: u32,
    /// Bits per backoff code; 0 for unquantized `f32`.
    pub backoff_bits: u32,
}

/// How the n-grams inside each shard file are laid out; chosen at build time (`fivegram build --layout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// A right-to-left trie of Elias-Fano coded keys: the compact layout (the default).
    #[default]
    Trie,
    /// One open-addressing table per order, 16 bytes an entry: the fast layout (KenLM's "probing").
    Hashed,
}

impl Layout {
    /// The name used on the command line and in the manifest.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Trie => "trie",
            Layout::Hashed => "hashed",
        }
    }

    fn is_trie(&self) -> bool {
        *self == Layout::Trie
    }
}

/// The contents of `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always `fivegram-store`.
    pub format: String,
    /// The store format version of every file.
    pub format_version: u32,
    /// The n-gram order.
    pub order: usize,
    /// The smoothing the model was estimated with (`mkn`, `stupid`, or `unknown` for an ARPA input).
    pub smoothing: String,
    /// Words in the vocabulary, including `<unk>`, `<s>` and `</s>`.
    pub vocab_size: u64,
    /// N-grams of each order, unigrams first, as listed in the source.
    pub counts: Vec<u64>,
    /// Quantization of probabilities and backoffs.
    pub quantization: Quantization,
    /// The number of shards.
    pub shards: u32,
    /// The layout of the shard files. Not written for the trie layout (manifests from before the hashed
    /// layout existed have no such field and read as trie).
    #[serde(default, skip_serializing_if = "Layout::is_trie")]
    pub layout: Layout,
    /// Every file of the model: the vocabulary, then the shards in order.
    pub files: Vec<FileEntry>,
}

impl Manifest {
    /// The canonical bytes: pretty JSON and a final newline. A manifest file must be exactly these.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// Parses and checks the fields that need no other file, and that `bytes` are exactly the canonical
    /// serialisation (so that any edit, truncation or damage that still parses is refused too).
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Manifest> {
        let corrupt = |what: String| Error::Corrupt {
            path: path.to_path_buf(),
            what,
        };
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|e| corrupt(format!("not a valid manifest: {e}")))?;
        if manifest.format != FORMAT {
            return Err(corrupt(format!("format {:?}, expected {FORMAT:?}", manifest.format)));
        }
        if !(super::format::OLDEST_VERSION..=FORMAT_VERSION).contains(&manifest.format_version) {
            return Err(Error::Version {
                path: path.to_path_buf(),
                found: manifest.format_version,
                oldest: super::format::OLDEST_VERSION,
                newest: FORMAT_VERSION,
            });
        }
        let shards = manifest.shards as usize;
        let names_ok = manifest.files.len() == shards + 1
            && manifest.files[0].name == VOCAB
            && manifest.files[1..]
                .iter()
                .enumerate()
                .all(|(i, f)| f.name == shard_file_name(i as u32));
        if shards == 0 || !names_ok {
            return Err(corrupt(format!(
                "the file list does not name {VOCAB} and {shards} shards in order"
            )));
        }
        for f in &manifest.files {
            let hex_ok = |s: &str, len: usize| {
                s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            };
            if !hex_ok(&f.crc32, 8) || !hex_ok(&f.sha256, 64) {
                return Err(corrupt(format!("checksums of {} are not lowercase hex", f.name)));
            }
        }
        if manifest.counts.len() != manifest.order || manifest.counts.first() != Some(&manifest.vocab_size) {
            return Err(corrupt(
                "counts per order disagree with the order or the vocabulary size".into(),
            ));
        }
        if manifest.to_bytes() != bytes {
            return Err(corrupt(
                "not byte for byte what the builder writes (edited, truncated or damaged)".into(),
            ));
        }
        let q = manifest.quantization;
        if q.prob_bits != q.backoff_bits || q.prob_bits > 16 {
            return Err(corrupt(format!("quantization {q:?} is not one this build writes")));
        }
        Ok(manifest)
    }
}
