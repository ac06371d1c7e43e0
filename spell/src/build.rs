//! Building a model directory from text: the lexicon, the error model and the manifest.
//!
//! The language model is estimated separately (`fivegram estimate`, see `scripts/build-spell-model.sh`) into the
//! same directory; [`build_model`] then counts the words of the corpus, keeps those seen at least
//! [`BuildConfig::min_count`] times as the lexicon, trains the error model from the same counts
//! ([`crate::train`]), and writes the manifest last, so a directory with a manifest is complete.

use std::path::{Path, PathBuf};

use fivegram_corpora::tokenize::Lang;

use crate::edit::{EditCosts, ErrorModel};
use crate::lexicon::{Lexicon, WordCounts};
use crate::model::{Manifest, Ranking};
use crate::speller::Words;
use crate::train::{self, TrainConfig, TrainReport};
use crate::{Error, Result};
use rayon::prelude::*;

/// What [`build_model`] builds.
#[derive(Debug, Clone)]
pub struct BuildConfig {
    /// The language of the text.
    pub lang: Lang,
    /// Edited text files (books, encyclopedia, news; plain or gzip, a sentence or paragraph per line).
    pub corpus: Vec<PathBuf>,
    /// Text written by the public (reviews, forums), where misspellings are mined for the error model; its
    /// words count towards the lexicon too.
    pub user_corpus: Vec<PathBuf>,
    /// Words seen fewer times are left out of the lexicon.
    pub min_count: u64,
    /// The language model's file name inside the model directory (it must exist).
    pub lm: String,
    /// Ranking settings written to the manifest.
    pub ranking: Ranking,
    /// Error-model training settings.
    pub train: TrainConfig,
    /// A description of the training data for the manifest.
    pub trained_on: String,
}

impl BuildConfig {
    /// Defaults for `lang`: lexicon words seen at least 3 times, the language model in `lm.arpa`.
    pub fn new(lang: Lang, corpus: Vec<PathBuf>) -> BuildConfig {
        BuildConfig {
            lang,
            corpus,
            user_corpus: Vec::new(),
            min_count: 3,
            lm: "lm.arpa".into(),
            ranking: Ranking::default(),
            train: TrainConfig::default(),
            trained_on: String::new(),
        }
    }
}

/// What [`build_model`] did.
#[derive(Debug, Clone)]
pub struct BuildReport {
    /// Tokens read.
    pub tokens: u64,
    /// Distinct words counted.
    pub distinct: usize,
    /// Words in the lexicon.
    pub lexicon: usize,
    /// Words counted often enough but left out of the lexicon as likely misspellings of a neighbour.
    pub misspellings: usize,
    /// Error-model training.
    pub train: TrainReport,
}

/// The lexicon of words counted at least `min_count` times.
pub fn lexicon_from_counts(counts: &WordCounts, min_count: u64) -> Lexicon {
    Lexicon::from_counts(counts.iter().filter(|&(_, c)| c >= min_count.max(1)))
}

/// Counts the corpus and writes `lexicon.fst`, `errors.tsv` and `spell.json` into `dir` (which must already
/// hold the language model named in the configuration).
pub fn build_model(dir: &Path, config: &BuildConfig) -> Result<BuildReport> {
    if config.corpus.is_empty() {
        return Err(Error::InvalidOption("no corpus files to build the lexicon from".into()));
    }
    let lm = dir.join(&config.lm);
    if !lm.exists() {
        return Err(Error::MissingModel {
            path: lm,
            hint: "estimate the language model into the model directory first (fivegram estimate … --arpa DIR/lm.arpa)"
                .into(),
        });
    }
    let user = WordCounts::count_files(&config.user_corpus, config.lang)?;
    let mut counts = WordCounts::count_files(&config.corpus, config.lang)?;
    counts.merge(user.clone());
    let lexicon = lexicon_from_counts(&counts, config.min_count);
    if lexicon.is_empty() {
        return Err(Error::InvalidOption(format!(
            "no word occurs {} times or more in the corpus",
            config.min_count
        )));
    }
    let (errors, train) = train::train(&counts, &user, EditCosts::default(), &config.train);
    let (lexicon, misspellings) = clean_lexicon(lexicon, config.lang, &errors, &config.ranking);
    let mut manifest = Manifest::new(config.lang, &config.lm);
    manifest.ranking = config.ranking;
    manifest.trained_on = config.trained_on.clone();
    lexicon.write(dir.join(&manifest.lexicon))?;
    let header = format!(
        "fivegram-spell error model: -log10 P(typed | intended) per edit\n\
         trained on {} candidate misspellings mined from {} distinct words of the corpus (see fivegram_spell::train)",
        train.pairs, train.distinct
    );
    errors.write(dir.join(&manifest.errors), &header)?;
    manifest.write(dir)?;
    Ok(BuildReport {
        tokens: counts.tokens(),
        distinct: counts.len(),
        lexicon: lexicon.len(),
        misspellings,
        train,
    })
}

/// Removes from the lexicon the words that isolated ranking would correct to a neighbour (`recieve`, seen 5
/// times, next to `receive`, seen 5,241 times): common misspellings that the corpus contains often enough to pass
/// the count threshold, judged with [`Ranking::lexicon_prior_weight`] as the prior weight. Returns the cleaned
/// lexicon and the number of words removed.
pub fn clean_lexicon(lexicon: Lexicon, lang: Lang, errors: &ErrorModel, ranking: &Ranking) -> (Lexicon, usize) {
    let ranking = &Ranking {
        prior_weight: ranking.lexicon_prior_weight,
        ..*ranking
    };
    let errors = &errors.with_bonus(ranking.edit_bonus, ranking.first_letter);
    let words = Words::new(lexicon, lang);
    let lexicon = words.lexicon();
    let doomed: Vec<bool> = (0..lexicon.len() as u32)
        .into_par_iter()
        .map(|id| words.loses_to_neighbour(errors, ranking, lexicon.word(id)).is_some())
        .collect();
    let removed = doomed.iter().filter(|&&d| d).count();
    let kept = Lexicon::from_counts(lexicon.iter().zip(&doomed).filter(|(_, d)| !**d).map(|(p, _)| p));
    (kept, removed)
}

/// Rewrites the manifest of `dir` with other ranking settings (after tuning).
pub fn set_ranking(dir: &Path, ranking: Ranking) -> Result<()> {
    let mut manifest = Manifest::open(dir)?;
    manifest.ranking = ranking;
    manifest.write(dir)
}

/// Replaces the error model of `dir` (after retraining or tuning).
pub fn set_errors(dir: &Path, errors: &ErrorModel, header: &str) -> Result<()> {
    let manifest = Manifest::open(dir)?;
    errors.write(dir.join(&manifest.errors), header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lexicon_is_cleaned_with_its_own_prior_weight() {
        let lexicon = || Lexicon::from_counts([("receive", 50_000), ("recieve", 5), ("the", 900_000), ("cat", 3_000)]);
        let errors = ErrorModel::default();
        let heavy = Ranking {
            prior_weight: 0.0,
            lexicon_prior_weight: 1.5,
            ..Ranking::default()
        };
        let (kept, removed) = clean_lexicon(lexicon(), Lang::En, &errors, &heavy);
        assert_eq!(removed, 1);
        assert!(kept.id("recieve").is_none() && kept.id("receive").is_some());
        // `prior_weight` plays no part: with no weight on the prior, nothing loses to a neighbour.
        let light = Ranking {
            prior_weight: 1.5,
            lexicon_prior_weight: 0.0,
            ..Ranking::default()
        };
        let (kept, removed) = clean_lexicon(lexicon(), Lang::En, &errors, &light);
        assert_eq!(removed, 0);
        assert!(kept.id("recieve").is_some());
    }
}
