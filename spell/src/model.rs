//! The model directory: where a speller's files live and how they are opened.
//!
//! A spelling model is a directory holding
//!
//! | file | what |
//! |---|---|
//! | `spell.json` | the manifest: format version, language, file names, ranking settings, what it was trained on |
//! | `lexicon.fst` | the words with their counts ([`crate::lexicon`]) |
//! | `errors.tsv` | the error model ([`crate::edit`]) |
//! | `lm/` | the language model: a store directory (`fivegram build`), memory-mapped, opened in milliseconds |
//!
//! The language model may also be an ARPA file (`lm.arpa`, plain or gzip), read into memory, which is simpler
//! for small experiments and slower to open. [`open_language_model`] is the one place that knows which backend
//! serves a path; the speller only sees the [`LanguageModel`] trait.
//!
//! The default English model lives in `$XDG_DATA_HOME/fivegram/models/spell-en` (on Linux usually
//! `~/.local/share/fivegram/models/spell-en`); `FIVEGRAM_SPELL_MODEL` overrides it, and the CLI's `--model` overrides
//! both. `scripts/build-spell-model.sh` builds it.

use std::io::Write;
use std::path::{Path, PathBuf};

use fivegram_corpora::tokenize::Lang;
use fivegram_lm::model::{ArpaModel, LanguageModel};
use fivegram_lm::store::Store;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The manifest's file name inside a model directory.
pub const MANIFEST: &str = "spell.json";

/// The format version this code reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// The environment variable naming the default model directory.
pub const MODEL_ENV: &str = "FIVEGRAM_SPELL_MODEL";

/// How the default model is built (shown when it is missing).
pub const BUILD_HINT: &str =
    "build it with `scripts/build-spell-model.sh` (needs the corpora mirror: FIVEGRAM_MIRROR), or pass --model DIR";

/// How candidates are ranked; stored in the manifest so that tuning travels with the model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ranking {
    /// Weight of the word's log10 frequency against the error model in isolated-word ranking.
    pub prior_weight: f32,
    /// The `prior_weight` with which a model build decides which counted words are common misspellings to leave
    /// out of the lexicon (those that isolated ranking with this weight corrects to a neighbour). Kept apart from
    /// `prior_weight`: a heavier weight finds more of the misspellings a large corpus contains, a lighter one
    /// ranks the candidates of a misspelling better.
    pub lexicon_prior_weight: f32,
    /// Weight of the language model's log10 probabilities against the error model in context.
    pub lm_weight: f32,
    /// `log10` of how much more often the people corrected make each kind of edit than the corpus writers the
    /// error model was trained on (every edit's cost is lowered by this much, see `ErrorModel::with_bonus`).
    pub edit_bonus: f32,
    /// Added to the error model's surcharge for an edit at the first letter (people who misspell a word still
    /// tend to know how it starts).
    pub first_letter: f32,
    /// Cost (`-log10`) of proposing another word for a word that is in the lexicon, without context (also what
    /// decides, when a model is built, which counted words are left out as common misspellings).
    pub real_word_cost: f32,
    /// Cost (`-log10`) of replacing a lexicon word by another in context: the language model must favour the
    /// replacement by more than this (plus the error model's cost) to change a correctly spelled word. The
    /// default, 2.6, was chosen on lines 5001– of `gutenberg-dev` with the 5-gram language model (BENCHMARKS.md,
    /// "A 5-gram language model": the least cost whose last step still bought three fixes per false alarm).
    pub context_real_word_cost: f32,
    /// In context, the error cost of replacing a lexicon word by a homophone (a lexicon word with the same
    /// sound-alike key: `their` for `there`, `form` for `from`; when more than one edit away, also the same vowel
    /// sounds, see [`crate::phonetic::vowel_sounds`]) is at most this, however differently the two are
    /// spelled; [`Ranking::context_real_word_cost`] is paid on top. The default, 0, makes the language model's
    /// evidence alone decide between homophones once it outweighs that cost (tuned with it on lines 5001– of
    /// `gutenberg-dev`, see BENCHMARKS.md, "Homophones in context"). A value above
    /// [`Ranking::real_word_max_error`] keeps homophones to their spelling cost, as manifests written before this
    /// setting existed do (they read as 99).
    #[serde(default = "homophones_priced_by_spelling")]
    pub context_homophone_cost: f32,
    /// In context, a lexicon word's candidates also hold up to this many of its homophones that the spelling
    /// ranking left out: the most frequent words with its sound-alike key and vowel sounds (or sounds its vowels
    /// may stand for, `great`/`grate`) that start with its letter and are at most three edits away (`hear` for
    /// `here`, `sight` for `site`, `passed` for `past`).
    /// Tuned on lines 5001– of `gutenberg-dev` (BENCHMARKS.md, "Homophones the spelling ranking leaves out");
    /// manifests written before this setting existed read it as 0, as they were tuned.
    #[serde(default)]
    pub context_homophones: usize,
    /// Cost (`-log10`) of keeping a word that is not in the lexicon, in context.
    pub keep_unknown_cost: f32,
    /// Cost of keeping an unknown word that looks like a name: capitalised (not all capitals) after a word or a
    /// comma, so not at the start of a sentence. Names are the commonest unknown words of edited text.
    pub keep_name_cost: f32,
    /// Cost (`-log10`) added in context to a candidate for an unknown capitalised token (`Ratsch`, not `RATSCH`)
    /// that changes its first letter: such tokens are mostly names, and people who misspell a word they
    /// capitalise still know its first letter (`Bundict` → `Benedict`, not `Ratsch` → `Hatch`).
    pub capital_first_letter_cost: f32,
    /// Cost (`-log10`) added in context to a candidate for an unknown capitalised token inside a sentence (a
    /// likely name: `Radek`) that the corpus writes in lowercase (`rated`; see
    /// [`crate::model::Manifest::capitalised`]; models without that list pay nothing). Tuned on lines 5001– of
    /// `gutenberg-dev` (BENCHMARKS.md, "Corrections written as the corpus writes them"); manifests written
    /// before this setting existed read it as 0.
    #[serde(default)]
    pub name_to_word_cost: f32,
    /// Cost of splitting one token into two words, on top of the two words' scores.
    pub split_cost: f32,
    /// Cost (`-log10`, the error) of an English contraction typed without its apostrophe (`dont` for `don't`,
    /// `theyre` for `they're`; see [`crate::speller::CONTRACTIONS`]), whose score is otherwise its host word's
    /// prior and the language model's probability of the clitic after it. People drop the apostrophe far more
    /// often than they make any other single edit, and the error model, mined from words that are whole tokens,
    /// never sees contractions. Chosen on lines 5001– of `gutenberg-dev` (BENCHMARKS.md, "Contractions typed
    /// without their apostrophe"); manifests written before this setting existed read the default.
    #[serde(default = "default_contraction_cost")]
    pub contraction_cost: f32,
    /// In context, what replaces [`Ranking::context_real_word_cost`] when a word that is also a contraction
    /// without its apostrophe (`its`, `lets`, `cant`, `wont`, `peoples`) is read as the contraction: the language
    /// model must favour `it 's` over `its` by more than this. Chosen on lines 5001– of `gutenberg-dev`
    /// (BENCHMARKS.md, "Contractions typed without their apostrophe"): 1.0 fixes 93 % of the injected
    /// contractions instead of 85 % for one more false alarm, where 0 would turn about one correct `its` in
    /// fifteen into `it's`; manifests written before this setting existed read the default. `of` written for the
    /// `have` of a modal verb (`should of known`, as `should've` sounds) costs this too.
    #[serde(default = "default_context_contraction_cost")]
    pub context_contraction_cost: f32,
    /// Words of at least this many characters may be corrected with up to `long_distance` edits.
    pub long_word: usize,
    /// Edit distance allowed for long words (shorter words get 2; the index always needs its prefix within 2).
    pub long_distance: usize,
    /// Candidates per token given to the language model.
    pub candidates: usize,
    /// Hypotheses kept per position by the context decoder.
    pub beam: usize,
    /// Real-word candidates for a known word must cost at most this much under the error model.
    pub real_word_max_error: f32,
    /// Words rarer than this are not proposed as corrections in context.
    pub min_count: u64,
    /// Cost (`-log10`, like an edit after the bonus) of a word that sounds like the typed token (same
    /// sound-alike key, see `crate::phonetic`) however it is spelled.
    pub sound_alike_cost: f32,
    /// Added to `sound_alike_cost` when the two sound-alike keys differ by one edit (keys further apart do not
    /// make sound-alikes).
    pub sound_alike_edit: f32,
    /// A sound-alike word costs `sound_alike_cost (+ sound_alike_edit) + sound_alike_scale · spelling cost` when
    /// that is less than its spelling cost: sounding alike discounts, but does not erase, how differently the
    /// two are spelled.
    pub sound_alike_scale: f32,
    /// Isolated suggestions of an unknown token ([`crate::Speller::suggest`]) stop after the words one edit away
    /// when the best of them scores (weighted `log10` prior less error) at least this: the first suggestion is
    /// then the best of those words and the splits, and a single suggestion is found without looking further;
    /// the others (when more are asked for) come from the full search. Not used in context nor when a model is
    /// built. Scores are never above 0, so any value above 0 turns this stage off.
    pub stop_one_edit: f32,
    /// Isolated suggestions of an unknown token pick the first without the sound-alike search when the best
    /// spelling neighbour scores at least this, and a single suggestion skips that search (as with
    /// [`Ranking::stop_one_edit`], the others come from the full search, and a value above 0 turns this off).
    /// The default, −8.25, was tuned on Norvig's `spell-testset1` (BENCHMARKS.md, "The second stop").
    pub stop_spelling: f32,
    /// In context, a lexicon word typed all in lowercase that the corpus writes capitalised or in capitals (names,
    /// German nouns, `I`, `TV`; see [`crate::model::Manifest::capitalised`]) is written so (`london` → `London`,
    /// `Der hund` → `Der Hund`); models without that list change nothing. Measured on lines 5001– of
    /// `gutenberg-dev` (BENCHMARKS.md, "Words typed in lowercase that the corpus capitalises"); manifests written
    /// before this setting existed read it as off.
    #[serde(default)]
    pub fix_case: bool,
}

/// What a manifest without `context_homophone_cost` (written before it existed) reads as: homophones priced by
/// their spelling, as that manifest's other settings were tuned.
fn homophones_priced_by_spelling() -> f32 {
    99.0
}

/// The default of [`Ranking::contraction_cost`].
fn default_contraction_cost() -> f32 {
    0.0
}

/// The default of [`Ranking::context_contraction_cost`].
fn default_context_contraction_cost() -> f32 {
    1.0
}

impl Default for Ranking {
    fn default() -> Self {
        Ranking {
            prior_weight: 0.8,
            lexicon_prior_weight: 1.5,
            lm_weight: 1.0,
            edit_bonus: 3.0,
            first_letter: 0.0,
            real_word_cost: 0.5,
            context_real_word_cost: 2.6,
            context_homophone_cost: 0.0,
            context_homophones: 1,
            keep_unknown_cost: 2.0,
            keep_name_cost: 0.0,
            capital_first_letter_cost: 2.0,
            name_to_word_cost: 2.0,
            split_cost: 2.0,
            contraction_cost: default_contraction_cost(),
            context_contraction_cost: default_context_contraction_cost(),
            long_word: 9,
            long_distance: 3,
            candidates: 10,
            beam: 8,
            real_word_max_error: 2.5,
            min_count: 1,
            sound_alike_cost: 1.5,
            sound_alike_edit: 1.0,
            sound_alike_scale: 0.6,
            stop_one_edit: -6.0,
            stop_spelling: -8.25,
            fix_case: true,
        }
    }
}

/// How a word is written when it is not in lowercase: what [`crate::build::CAPITALISED`] stores as each word's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum WrittenCase {
    /// With a capital first letter (`London`, German `Mann`).
    Capital = 1,
    /// In capitals (`TV`, `NASA`).
    Capitals = 2,
}

impl WrittenCase {
    /// The case a [`crate::build::CAPITALISED`] file's value stands for.
    pub fn from_value(value: u64) -> Option<WrittenCase> {
        match value {
            1 => Some(WrittenCase::Capital),
            2 => Some(WrittenCase::Capitals),
            _ => None,
        }
    }
}

/// The manifest of a model directory (`spell.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `fivegram-spell`.
    pub format: String,
    /// [`FORMAT_VERSION`] when written.
    pub version: u32,
    /// The language code (`en`, `de`).
    pub lang: String,
    /// The language model, relative to the directory: an ARPA file (or, later, a store directory).
    pub lm: String,
    /// The lexicon, relative to the directory.
    pub lexicon: String,
    /// The error model, relative to the directory.
    pub errors: String,
    /// Variants, relative to the directory (a lexicon file, [`crate::build::VARIANTS`]): words left out of the
    /// lexicon because isolated ranking corrects them to a more frequent neighbour, but whose inflectional family
    /// the corpus attests (`hinting` next to `hunting`, see [`crate::build::BuildConfig::stem_families`]). In
    /// running text they are words: kept unless the context strongly favours a neighbour, and never reported as
    /// unknown; isolated-word correction does not know them. Models built before variants existed have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variants: Option<String>,
    /// Capitalised words, relative to the directory (a lexicon file, [`crate::build::CAPITALISED`]): the lexicon
    /// words the corpus writes with a capital (names, German nouns), which corrections then start with
    /// (`mann` → `Mann`, `londn` → `London`). Models built before this existed have none and write every
    /// correction as the token's case says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capitalised: Option<String>,
    /// Ranking settings.
    #[serde(default)]
    pub ranking: Ranking,
    /// Free text: what the lexicon, language model and error model were trained on.
    #[serde(default)]
    pub trained_on: String,
}

impl Manifest {
    /// A manifest with the standard file names.
    pub fn new(lang: Lang, lm: &str) -> Manifest {
        Manifest {
            format: "fivegram-spell".into(),
            version: FORMAT_VERSION,
            lang: lang.code().into(),
            lm: lm.into(),
            lexicon: "lexicon.fst".into(),
            errors: "errors.tsv".into(),
            variants: None,
            capitalised: None,
            ranking: Ranking::default(),
            trained_on: String::new(),
        }
    }

    /// Reads `dir/spell.json` and checks its format and version.
    pub fn open(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST);
        if !dir.is_dir() {
            return Err(Error::MissingModel {
                path: dir.to_path_buf(),
                hint: BUILD_HINT.into(),
            });
        }
        let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::MissingModel {
                path: path.clone(),
                hint: format!("the directory has no {MANIFEST}; {BUILD_HINT}"),
            },
            _ => Error::io(&path, e),
        })?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| Error::Format {
            path: path.clone(),
            line: e.line() as u64,
            message: e.to_string(),
        })?;
        if manifest.format != "fivegram-spell" {
            return Err(Error::Format {
                path,
                line: 0,
                message: format!(
                    "format {:?} is not a spelling model (expected \"fivegram-spell\")",
                    manifest.format
                ),
            });
        }
        if manifest.version != FORMAT_VERSION {
            return Err(Error::Version {
                path,
                expected: FORMAT_VERSION,
                found: manifest.version,
            });
        }
        manifest.language()?;
        Ok(manifest)
    }

    /// The language.
    pub fn language(&self) -> Result<Lang> {
        self.lang.parse().map_err(|e| Error::Format {
            path: PathBuf::from(MANIFEST),
            line: 0,
            message: format!("{e}"),
        })
    }

    /// Writes `dir/spell.json` atomically (write it last, after the files it names).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self).map_err(|e| Error::Format {
            path: dir.join(MANIFEST),
            line: 0,
            message: e.to_string(),
        })?;
        text.push('\n');
        write_atomic(&dir.join(MANIFEST), text.as_bytes())
    }
}

/// The default model directory for `lang`: `$FIVEGRAM_SPELL_MODEL` for English when set, else
/// `<data dir>/fivegram/models/spell-<lang>` (`$XDG_DATA_HOME` or `~/.local/share` on Linux).
pub fn default_model_dir(lang: Lang) -> Option<PathBuf> {
    if lang == Lang::En
        && let Some(dir) = std::env::var_os(MODEL_ENV).filter(|v| !v.is_empty())
    {
        return Some(PathBuf::from(dir));
    }
    dirs::data_dir().map(|d| d.join("fivegram").join("models").join(format!("spell-{}", lang.code())))
}

/// Opens a language model: a store directory (`fivegram build`) as a memory-mapped [`Store`], an ARPA file
/// (plain or gzip) as an in-memory [`ArpaModel`]. This is the one function that knows the backends; the speller
/// sees only [`LanguageModel`].
pub fn open_language_model(path: &Path) -> Result<Box<dyn LanguageModel>> {
    if path.is_dir() {
        return Ok(Box::new(Store::open(path)?));
    }
    if !path.exists() {
        return Err(Error::MissingModel {
            path: path.to_path_buf(),
            hint: format!("the language model is missing; {BUILD_HINT}"),
        });
    }
    Ok(Box::new(ArpaModel::open(path)?))
}

/// Writes `bytes` to `path` through a temporary file in the same directory, synced and renamed into place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let io = |e: std::io::Error| Error::io(path, e);
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rankings_round_trip_and_old_manifests_keep_homophones_priced_by_spelling() {
        let ranking = Ranking::default();
        let text = serde_json::to_string(&ranking).unwrap();
        assert_eq!(serde_json::from_str::<Ranking>(&text).unwrap(), ranking);
        // A manifest from before `context_homophone_cost` lacks it: it reads as off, not as today's default.
        let old: Ranking = serde_json::from_str(r#"{"context_real_word_cost": 1.5}"#).unwrap();
        assert_eq!((old.context_real_word_cost, old.context_homophone_cost), (1.5, 99.0));
        assert_eq!(old.prior_weight, ranking.prior_weight);
        assert_eq!(
            (ranking.context_real_word_cost, ranking.context_homophone_cost),
            (2.6, 0.0)
        );
        assert!(serde_json::from_str::<Ranking>(r#"{"no_such_setting": 1}"#).is_err());
    }

    #[test]
    fn manifests_without_variants_read_as_having_none() {
        let manifest = Manifest::new(Lang::En, "lm");
        let text = serde_json::to_string(&manifest).unwrap();
        assert!(!text.contains("variants"), "{text}");
        assert_eq!(serde_json::from_str::<Manifest>(&text).unwrap().variants, None);
        let with = Manifest {
            variants: Some("variants.fst".into()),
            ..manifest
        };
        let text = serde_json::to_string(&with).unwrap();
        assert_eq!(serde_json::from_str::<Manifest>(&text).unwrap(), with);
        assert!(!text.contains("capitalised"), "{text}");
        let with = Manifest {
            capitalised: Some("capitalised.fst".into()),
            ..with
        };
        let text = serde_json::to_string(&with).unwrap();
        assert_eq!(serde_json::from_str::<Manifest>(&text).unwrap(), with);
    }
}
