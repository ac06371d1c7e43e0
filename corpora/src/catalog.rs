//! The catalog of corpora: every data set the project trains and evaluates on, every file of each with its size
//! and sha256, and where the same bytes can be downloaded.
//!
//! The catalog shipped with the crate ([`Catalog::shipped`]) is `corpora/catalog.toml`, embedded at compile time.
//! Tests build their own from a TOML string with [`Catalog::from_toml_str`]; the same checks apply to both.
//!
//! A corpus has data files, each belonging to a split (`train`, `val`, `test_2016_flickr`, …) and, in a
//! multilingual set, a language; and extra files (README, manifests, licences) that belong to no split but are
//! verified with the rest. Paths are relative to the mirror root (`multi30k/train.en.gz`), and the same relative
//! path is used under the download cache (see [`crate::fetch`]).
//!
//! ```
//! use fivegram_corpora::catalog::Catalog;
//!
//! let catalog = Catalog::shipped()?;
//! let multi30k = catalog.corpus("multi30k")?;
//! let train_en = multi30k.split_files("train", Some("en"))?;
//! assert_eq!(train_en[0].path, "multi30k/train.en.gz");
//! # Ok::<(), fivegram_corpora::Error>(())
//! ```

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The text of `corpora/catalog.toml`, as compiled into this crate.
pub const SHIPPED_TOML: &str = include_str!("../catalog.toml");

/// What a corpus is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Text in one language (possibly several corpora of the same language).
    Monolingual,
    /// Sentence-aligned text in two or more languages.
    Parallel,
    /// Pairs of misspellings and their corrections, for evaluating a speller.
    SpellingTest,
}

impl Kind {
    /// The name used in the catalog and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Monolingual => "monolingual",
            Kind::Parallel => "parallel",
            Kind::SpellingTest => "spelling-test",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the content of a data file is laid out (after gzip decompression, if the name ends in `.gz`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// One sentence, paragraph or document per line.
    Text,
    /// Tab-separated columns, one per language in the corpus's `languages` order.
    Tsv,
    /// Norvig's spelling test sets: `target: miss1 miss2 …`, one target per line.
    Norvig,
    /// Mitton's lists: a `$target` line followed by its misspellings, one per line.
    Mitton,
}

/// One file of a corpus, as the catalog records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    /// Path relative to the mirror root, with `/` separators (`multi30k/train.en.gz`).
    pub path: String,
    /// The split this file belongs to; `None` for extra files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<String>,
    /// The language of the file; `None` for extra files and for files that hold every language of the corpus
    /// (a TSV of pairs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// A part of the split with its own provenance and licence (`wiki`, `imdb`, …), if the corpus has several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subset: Option<String>,
    /// How the content is laid out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the bytes, 64 lowercase hex digits.
    pub sha256: String,
    /// Where exactly these bytes can be downloaded; `None` when the file exists only in the mirror.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// True when the file was made for the mirror (derived, recompressed or written here) and cannot be
    /// downloaded from upstream. Inherited from the corpus when absent in the TOML.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror_only: Option<bool>,
    /// For a mirror-only file, how it was made and from what. Inherited from the corpus when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub built_from: Option<String>,
}

impl CatalogFile {
    /// True when the file can only come from a mirror (no upstream URL holds the same bytes).
    pub fn is_mirror_only(&self) -> bool {
        self.mirror_only.unwrap_or(false)
    }

    /// The file name (the last path component).
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

/// One data set: its description, licence, and files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Corpus {
    /// Unique name (`multi30k`, `ptb`, …): lowercase letters, digits and `-`.
    pub name: String,
    /// What the corpus is for.
    pub kind: Kind,
    /// ISO 639-1 codes of its languages, in a fixed order (the column order of a TSV file).
    pub languages: Vec<String>,
    /// One-paragraph description: content, format, split roles.
    pub description: String,
    /// Licence or terms of use.
    pub licence: String,
    /// What to cite when using it.
    pub citation: String,
    /// Where the data set is described upstream.
    pub homepage: String,
    /// Default of [`CatalogFile::mirror_only`] for the corpus's files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror_only: Option<bool>,
    /// Default of [`CatalogFile::built_from`] for the corpus's files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub built_from: Option<String>,
    /// Data files, each in a split; in split order, and within a split in shard order.
    #[serde(default, rename = "file")]
    pub files: Vec<CatalogFile>,
    /// Auxiliary files (README, manifests, licences): in no split, verified with the rest.
    #[serde(default, rename = "extra")]
    pub extras: Vec<CatalogFile>,
}

impl Corpus {
    /// The split names, in the order the catalog lists them.
    pub fn splits(&self) -> Vec<&str> {
        let mut seen = Vec::new();
        for file in &self.files {
            if let Some(split) = file.split.as_deref()
                && !seen.contains(&split)
            {
                seen.push(split);
            }
        }
        seen
    }

    /// Every file, data files first, then extras.
    pub fn all_files(&self) -> impl Iterator<Item = &CatalogFile> {
        self.files.iter().chain(&self.extras)
    }

    /// Total size in bytes of every file (data and extra).
    pub fn total_size(&self) -> u64 {
        self.all_files().map(|f| f.size).sum()
    }

    /// The data files of `split`, in shard order. With `lang`, only that language's files (and files that hold
    /// every language, such as a TSV of pairs); without, every language's.
    ///
    /// # Errors
    /// [`Error::NotInCatalog`] naming the splits or languages that exist.
    pub fn split_files(&self, split: &str, lang: Option<&str>) -> Result<Vec<&CatalogFile>> {
        let splits = self.splits();
        if !splits.contains(&split) {
            return Err(Error::NotInCatalog {
                what: format!("split {split:?} of {}", self.name),
                known: splits.iter().map(|s| s.to_string()).collect(),
            });
        }
        if let Some(lang) = lang
            && !self.languages.iter().any(|l| l == lang)
        {
            return Err(Error::NotInCatalog {
                what: format!("language {lang:?} of {}", self.name),
                known: self.languages.clone(),
            });
        }
        Ok(self
            .files
            .iter()
            .filter(|f| f.split.as_deref() == Some(split))
            .filter(|f| match (lang, f.lang.as_deref()) {
                (Some(want), Some(have)) => want == have,
                _ => true,
            })
            .collect())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogToml {
    #[serde(default)]
    corpus: Vec<Corpus>,
}

/// Every corpus the project knows, checked for consistency when built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    corpora: Vec<Corpus>,
}

impl Catalog {
    /// The catalog compiled into this crate (`corpora/catalog.toml`).
    ///
    /// # Errors
    /// [`Error::Catalog`] if the embedded file is malformed (a unit test guarantees it is not).
    pub fn shipped() -> Result<Self> {
        Self::from_toml_str(SHIPPED_TOML)
    }

    /// Parses and checks a catalog. Files inherit `mirror_only` and `built_from` from their corpus where they
    /// do not set them.
    ///
    /// # Errors
    /// [`Error::Catalog`] naming the corpus and file at fault: a TOML syntax or schema error, a duplicate
    /// corpus name, a sha256 that is not 64 hex digits, a path that is absolute or leaves the mirror root, a
    /// data file without a split or an extra with one, a language not listed by its corpus, a file with neither
    /// an `http(s)` URL nor `mirror_only` and `built_from`, or one path recorded with two different contents.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let parsed: CatalogToml = toml::from_str(text).map_err(|e| Error::Catalog(e.to_string()))?;
        let mut corpora = parsed.corpus;
        for corpus in &mut corpora {
            let (mirror_only, built_from) = (corpus.mirror_only, corpus.built_from.clone());
            for file in corpus.files.iter_mut().chain(corpus.extras.iter_mut()) {
                if file.mirror_only.is_none() {
                    file.mirror_only = mirror_only;
                }
                if file.built_from.is_none() && file.is_mirror_only() {
                    file.built_from = built_from.clone();
                }
            }
        }
        let catalog = Catalog { corpora };
        catalog.check()?;
        Ok(catalog)
    }

    fn check(&self) -> Result<()> {
        let bad = |corpus: &str, what: String| Err(Error::Catalog(format!("corpus {corpus:?}: {what}")));
        let mut names = HashSet::new();
        let mut contents: BTreeMap<&str, (&str, u64)> = BTreeMap::new();
        for corpus in &self.corpora {
            let name = corpus.name.as_str();
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return bad(name, "a name is lowercase letters, digits and '-'".into());
            }
            if !names.insert(name) {
                return bad(name, "the name appears twice".into());
            }
            if corpus.languages.is_empty() {
                return bad(name, "no languages".into());
            }
            if corpus.kind == Kind::Parallel && corpus.languages.len() < 2 {
                return bad(name, "a parallel corpus needs at least two languages".into());
            }
            if corpus.files.is_empty() {
                return bad(name, "no data files".into());
            }
            let mut paths = HashSet::new();
            for (file, extra) in corpus
                .files
                .iter()
                .map(|f| (f, false))
                .chain(corpus.extras.iter().map(|f| (f, true)))
            {
                let at = |what: &str| bad(name, format!("file {:?}: {what}", file.path));
                if let Err(why) = check_relative_path(&file.path) {
                    return at(&why);
                }
                if !paths.insert(file.path.as_str()) {
                    return at("listed twice");
                }
                if file.sha256.len() != 64 || !file.sha256.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                    return at("sha256 must be 64 lowercase hex digits");
                }
                match (extra, &file.split) {
                    (false, None) => return at("a data file needs a split"),
                    (true, Some(_)) => return at("an extra file has no split"),
                    (true, None) if file.lang.is_some() => return at("an extra file has no lang"),
                    _ => {}
                }
                if let Some(lang) = &file.lang
                    && !corpus.languages.contains(lang)
                {
                    return at(&format!("lang {lang:?} is not among the corpus's languages"));
                }
                match (&file.url, file.is_mirror_only()) {
                    (Some(_), true) => return at("has a url but is marked mirror_only"),
                    (Some(url), false) if !(url.starts_with("https://") || url.starts_with("http://")) => {
                        return at("url must be http(s)");
                    }
                    (None, false) => {
                        return at("needs a url, or mirror_only = true with built_from");
                    }
                    (None, true) if file.built_from.as_deref().is_none_or(str::is_empty) => {
                        return at("a mirror_only file needs built_from (how it was made)");
                    }
                    _ => {}
                }
                let content = (file.sha256.as_str(), file.size);
                if let Some(previous) = contents.insert(&file.path, content)
                    && previous != content
                {
                    return at("recorded elsewhere in the catalog with another size or sha256");
                }
            }
        }
        Ok(())
    }

    /// Every corpus, in catalog order.
    pub fn corpora(&self) -> &[Corpus] {
        &self.corpora
    }

    /// The corpus names, in catalog order.
    pub fn names(&self) -> Vec<&str> {
        self.corpora.iter().map(|c| c.name.as_str()).collect()
    }

    /// The corpus called `name`.
    ///
    /// # Errors
    /// [`Error::NotInCatalog`] listing the names that exist.
    pub fn corpus(&self, name: &str) -> Result<&Corpus> {
        self.corpora
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| Error::NotInCatalog {
                what: format!("corpus {name:?}"),
                known: self.names().into_iter().map(String::from).collect(),
            })
    }

    /// The data files of one split of one corpus (see [`Corpus::split_files`]).
    ///
    /// # Errors
    /// [`Error::NotInCatalog`] listing the corpora, splits or languages that exist.
    pub fn split_files(&self, name: &str, split: &str, lang: Option<&str>) -> Result<Vec<&CatalogFile>> {
        self.corpus(name)?.split_files(split, lang)
    }

    /// Every distinct file of the catalog (a path shared by two corpora once), in catalog order.
    pub fn unique_files(&self) -> Vec<&CatalogFile> {
        let mut seen = HashSet::new();
        self.corpora
            .iter()
            .flat_map(Corpus::all_files)
            .filter(|f| seen.insert(f.path.as_str()))
            .collect()
    }
}

/// A catalog path is relative, uses `/`, and has no empty, `.` or `..` components.
fn check_relative_path(path: &str) -> std::result::Result<(), String> {
    if path.is_empty() || path.starts_with('/') || path.contains('\\') {
        return Err("a path is relative to the mirror root and uses '/'".into());
    }
    if path
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err("a path has no empty, '.' or '..' components".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = r#"
[[corpus]]
name = "tiny"
kind = "parallel"
languages = ["en", "de"]
description = "d"
licence = "l"
citation = "c"
homepage = "https://example.org/"

[[corpus.file]]
path = "tiny/train.en"
split = "train"
lang = "en"
size = 3
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
url = "https://example.org/train.en"

[[corpus.file]]
path = "tiny/train.de"
split = "train"
lang = "de"
size = 3
sha256 = "1111111111111111111111111111111111111111111111111111111111111111"
url = "https://example.org/train.de"

[[corpus.file]]
path = "tiny/test.tsv"
split = "test"
size = 3
sha256 = "2222222222222222222222222222222222222222222222222222222222222222"
mirror_only = true
built_from = "typed by hand"

[[corpus.extra]]
path = "tiny/README.md"
size = 3
sha256 = "3333333333333333333333333333333333333333333333333333333333333333"
mirror_only = true
built_from = "typed by hand"
"#;

    #[test]
    fn shipped_catalog_is_complete_and_consistent() {
        let catalog = Catalog::shipped().expect("the shipped catalog parses and passes its checks");
        let names = catalog.names();
        let unique: HashSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "corpus names are unique");
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
            assert!(names.contains(&want), "{want} is in the catalog");
        }
        for corpus in catalog.corpora() {
            assert!(!corpus.splits().is_empty());
            for file in corpus.all_files() {
                assert_eq!(file.sha256.len(), 64, "{}", file.path);
                assert!(file.sha256.bytes().all(|b| b.is_ascii_hexdigit()), "{}", file.path);
                assert!(file.size > 0, "{}", file.path);
                if file.is_mirror_only() {
                    assert!(file.url.is_none() && file.built_from.is_some(), "{}", file.path);
                } else {
                    let url = file.url.as_deref().unwrap_or("");
                    assert!(
                        url.starts_with("https://"),
                        "{} needs an https url, has {url:?}",
                        file.path
                    );
                }
            }
        }
        // The mirror has 69 files; the English README is shared by gutenberg and big-txt.
        assert_eq!(catalog.unique_files().len(), 69);
    }

    #[test]
    fn shipped_catalog_splits_and_languages() {
        let catalog = Catalog::shipped().unwrap();
        let multi30k = catalog.corpus("multi30k").unwrap();
        assert_eq!(multi30k.kind, Kind::Parallel);
        assert_eq!(multi30k.splits(), ["train", "val", "test_2016_flickr"]);
        assert_eq!(multi30k.split_files("val", None).unwrap().len(), 4);
        let de = multi30k.split_files("test_2016_flickr", Some("de")).unwrap();
        assert_eq!(de.len(), 1);
        assert_eq!(de[0].path, "multi30k/test_2016_flickr.de.gz");
        assert_eq!(de[0].size, 22890);
        let train = catalog.split_files("gutenberg", "train", Some("en")).unwrap();
        assert_eq!(train.len(), 10);
        assert!(train.windows(2).all(|w| w[0].path < w[1].path), "shards in order");
        assert!(train.iter().all(|f| f.is_mirror_only()), "inherited from the corpus");
        // A TSV holding both languages answers for either.
        let tsv = catalog.split_files("tatoeba-deu-eng", "all", Some("de")).unwrap();
        assert_eq!(tsv[0].format, Some(Format::Tsv));
        assert_eq!(
            catalog
                .corpus("modern-english")
                .unwrap()
                .split_files("train", None)
                .unwrap()
                .len(),
            21
        );
    }

    #[test]
    fn unknown_names_list_what_exists() {
        let catalog = Catalog::from_toml_str(FIXTURE).unwrap();
        match catalog.corpus("nosuch") {
            Err(Error::NotInCatalog { what, known }) => {
                assert_eq!(what, "corpus \"nosuch\"");
                assert_eq!(known, ["tiny"]);
            }
            other => panic!("{other:?}"),
        }
        match catalog.split_files("tiny", "dev", None) {
            Err(Error::NotInCatalog { known, .. }) => assert_eq!(known, ["train", "test"]),
            other => panic!("{other:?}"),
        }
        let err = catalog.split_files("tiny", "train", Some("fr")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "language \"fr\" of tiny not in the catalog; known: en, de"
        );
        assert_eq!(
            catalog.split_files("tiny", "train", Some("de")).unwrap()[0].path,
            "tiny/train.de"
        );
        assert_eq!(
            catalog.split_files("tiny", "test", Some("de")).unwrap()[0].path,
            "tiny/test.tsv"
        );
    }

    fn rejects(from: &str, to: &str, why: &str) {
        let text = FIXTURE.replacen(from, to, 1);
        assert_ne!(text, FIXTURE, "the edit {from:?} applies");
        match Catalog::from_toml_str(&text) {
            Err(Error::Catalog(message)) => {
                assert!(message.contains(why), "{message:?} should mention {why:?}")
            }
            other => panic!("expected a catalog error about {why:?}, got {other:?}"),
        }
    }

    #[test]
    fn malformed_catalogs_are_rejected() {
        rejects(
            "000000000000000000000000000000000",
            "00000000000000000000000000000000",
            "64 lowercase hex",
        );
        rejects(
            "0000000000000000000000000000000000000000000000000000000000000000",
            &"G".repeat(64),
            "hex",
        );
        rejects("tiny/train.de", "tiny/train.en", "listed twice");
        rejects("tiny/train.de", "../train.de", "'..'");
        rejects("tiny/train.de", "/abs/train.de", "relative");
        rejects("lang = \"de\"", "lang = \"fr\"", "not among the corpus's languages");
        rejects("url = \"https://example.org/train.en\"\n", "", "needs a url");
        rejects("url = \"https://example.org/train.en\"", "url = \"ftp://x\"", "http(s)");
        rejects("built_from = \"typed by hand\"\n", "", "needs built_from");
        rejects("split = \"test\"\n", "", "needs a split");
        rejects("kind = \"parallel\"", "kind = \"bilingual\"", "unknown variant");
        rejects("languages = [\"en\", \"de\"]", "languages = [\"en\"]", "two languages");
        rejects("name = \"tiny\"", "name = \"Tiny\"", "lowercase");
        rejects("size = 3\n", "size = 3\ncolour = \"red\"\n", "unknown field");
        let twice = format!("{FIXTURE}\n{}", FIXTURE.replace("tiny/README.md", "tiny/other.md"));
        assert!(matches!(Catalog::from_toml_str(&twice), Err(Error::Catalog(m)) if m.contains("appears twice")));
    }

    #[test]
    fn mirror_only_and_built_from_are_inherited() {
        let text = FIXTURE
            .replacen(
                "homepage = \"https://example.org/\"",
                "homepage = \"x\"\nmirror_only = true\nbuilt_from = \"b\"",
                1,
            )
            .replace("url = \"https://example.org/train.en\"\n", "")
            .replace("url = \"https://example.org/train.de\"\n", "");
        let catalog = Catalog::from_toml_str(&text).unwrap();
        let corpus = catalog.corpus("tiny").unwrap();
        assert!(corpus.files.iter().all(CatalogFile::is_mirror_only));
        assert_eq!(corpus.files[0].built_from.as_deref(), Some("b"));
        assert_eq!(corpus.files[2].built_from.as_deref(), Some("typed by hand"));
    }
}
