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
use crate::model::{Manifest, Ranking, WrittenCase};
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
    /// Words seen at least this many times per million words of the edited text (`corpus`) are never left out
    /// as likely misspellings, however much more frequent a neighbour is: `fox`, `hat` and `save` are words, not
    /// misspellings of `for`, `that` and `have`. The misspellings a large corpus holds are rarer than that in
    /// edited text (`independant` 0.33 per million words, `untill` 0.29, `occured` 0.16 in the default corpus).
    pub keep_attested: f64,
    /// Words that isolated ranking corrects to a neighbour but whose inflectional family (the words sharing
    /// their Snowball stem) the edited text holds as often as [`BuildConfig::keep_attested`] asks go to the
    /// model's variants ([`crate::model::Manifest::variants`]): words in running text, never changed there
    /// without strong evidence from the context, but neither suggested nor known to isolated-word correction.
    /// `hinting` (family `hint`, `hints`, `hinted`, …) is a word, not a misspelling of `hunting`; a family
    /// whose stem and the neighbour's are one a prefix of the other is the neighbour's family, so `occurence`
    /// (stem `occur`, next to `occurrence`, stem `occurr`) and `definately` (`defin`, next to `definit`) stay
    /// out.
    pub stem_families: bool,
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
            keep_attested: KEEP_ATTESTED,
            stem_families: true,
            lm: "lm.arpa".into(),
            ranking: Ranking::default(),
            train: TrainConfig::default(),
            trained_on: String::new(),
        }
    }
}

/// The default [`BuildConfig::keep_attested`]: 1.5 occurrences per million words of edited text (105 in the 70
/// million words of the default English model's edited text).
pub const KEEP_ATTESTED: f64 = 1.5;

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
    /// Words kept although isolated ranking corrects them to a neighbour, because the edited text holds them
    /// often enough ([`BuildConfig::keep_attested`]).
    pub attested: usize,
    /// The least count in the edited text that keeps a word that way.
    pub attested_count: u64,
    /// Words left out of the lexicon but kept as variants ([`BuildConfig::stem_families`]).
    pub variants: usize,
    /// Lexicon words written capitalised or in capitals ([`CAPITALISED`]).
    pub capitalised: usize,
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
    if !(config.keep_attested.is_finite() && config.keep_attested >= 0.0) {
        return Err(Error::InvalidOption(format!(
            "the attested rate that keeps a word in the lexicon must be a number of occurrences per million words, \
             0 or more; found {}",
            config.keep_attested
        )));
    }
    let user = WordCounts::count_files(&config.user_corpus, config.lang)?;
    let mut counts = WordCounts::count_files(&config.corpus, config.lang)?;
    // Rounded up, and at least 1: a word the edited text never holds is never kept this way.
    let attested_count = ((config.keep_attested * counts.tokens() as f64 / 1e6).ceil() as u64).max(1);
    let families = config.stem_families.then(|| Families::new(config.lang, &counts));
    counts.merge(user.clone());
    let lexicon = lexicon_from_counts(&counts, config.min_count);
    if lexicon.is_empty() {
        return Err(Error::InvalidOption(format!(
            "no word occurs {} times or more in the corpus",
            config.min_count
        )));
    }
    let (errors, train) = train::train(&counts, &user, EditCosts::default(), &config.train);
    // What the edited text alone holds of a word: the merged count less the user text's.
    let edited = |word: &str| counts.get(word).saturating_sub(user.get(word));
    let keep = |word: &str, neighbour: &str| {
        if edited(word) >= attested_count {
            Keep::Attested
        } else if families
            .as_ref()
            .is_some_and(|f| f.count_apart(word, neighbour) >= attested_count)
        {
            Keep::Variant
        } else {
            Keep::No
        }
    };
    let cleaned = clean_lexicon(lexicon, config.lang, &errors, &config.ranking, &keep);
    let mut manifest = Manifest::new(config.lang, &config.lm);
    manifest.ranking = config.ranking;
    manifest.trained_on = config.trained_on.clone();
    let lexicon = cleaned.lexicon;
    lexicon.write(dir.join(&manifest.lexicon))?;
    let variants = cleaned.variants.len();
    if config.stem_families {
        let name = manifest.variants.get_or_insert_with(|| VARIANTS.into());
        Lexicon::from_counts(cleaned.variants.iter().map(|(w, c)| (w.as_str(), *c))).write(dir.join(name))?;
    }
    // The words the corpus writes capitalised (names, German nouns) or in capitals (`TV`), so that a correction
    // comes out as they are written: `mann` → `Mann`, `londn` → `London`.
    let capitalised: Vec<(&str, u64)> = lexicon
        .iter()
        .filter_map(|(word, _)| written_case(&counts, word).map(|case| (word, case as u64)))
        .collect();
    let name = manifest.capitalised.get_or_insert_with(|| CAPITALISED.into());
    Lexicon::from_counts(capitalised.iter().copied()).write(dir.join(name))?;
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
        misspellings: cleaned.removed,
        attested: cleaned.attested,
        attested_count,
        variants,
        capitalised: capitalised.len(),
        train,
    })
}

/// How the corpus writes `word` (lowercased, as counted) when it (almost) never writes it in lowercase: fewer
/// than [`CAPITALISED_LOWERCASE_SHARE`] of its occurrences in lowercase, and then in capitals when more than half
/// of them are (two letters or more, all capitals), else with a capital; `None` for any other word or one with
/// no letter to capitalise.
pub fn written_case(counts: &WordCounts, word: &str) -> Option<WrittenCase> {
    let count = counts.get(word);
    let first_changes = word
        .chars()
        .next()
        .is_some_and(|c| c.to_uppercase().ne(std::iter::once(c)));
    let lowercase = counts.lowercase(word) as f64;
    if !first_changes || count == 0 || lowercase >= CAPITALISED_LOWERCASE_SHARE * count as f64 {
        None
    } else if 2 * counts.all_capitals(word) > count {
        Some(WrittenCase::Capitals)
    } else {
        Some(WrittenCase::Capital)
    }
}

/// A word written in lowercase less often than this share of its occurrences is capitalised or in capitals
/// ([`written_case`]): names and German nouns are written in lowercase well under 5 % of the time (`london`
/// 0.0 %, `monday` 3 %, `Mann` 0.0 % in the corpora here), while words that are names only sometimes are
/// written in lowercase more often (`reed` 9 %, `china` 14 %, `fox` 20 %; `chapter` 19 %, and in capitals in
/// Gutenberg's headings 48 %), and a correction to them should follow the token's case.
pub const CAPITALISED_LOWERCASE_SHARE: f64 = 0.05;

/// The file name of a model's capitalised words ([`crate::model::Manifest::capitalised`]): a lexicon file whose
/// values are [`WrittenCase`]s, not counts.
pub const CAPITALISED: &str = "capitalised.fst";

/// The counts of inflectional families: per Snowball stem, how often the words with that stem were seen.
pub struct Families {
    stemmer: rust_stemmers::Stemmer,
    counts: std::collections::HashMap<String, u64>,
}

impl Families {
    /// The families of the words of `counts`, stemmed by the Snowball stemmer of `lang`.
    pub fn new(lang: Lang, counts: &WordCounts) -> Families {
        let stemmer = lang.stemmer();
        let mut families = std::collections::HashMap::new();
        for (word, count) in counts.iter() {
            *families.entry(stemmer.stem(word).into_owned()).or_insert(0) += count;
        }
        Families {
            stemmer,
            counts: families,
        }
    }

    /// How often the family of `word` was seen, or 0 when its stem and the stem of `other` are one a prefix of
    /// the other (the same stem, or one the stemmer cut shorter: `occur` for `occurence`, `occurr` for
    /// `occurrence`): then the family is as much `other`'s as `word`'s.
    pub fn count_apart(&self, word: &str, other: &str) -> u64 {
        let stem = self.stemmer.stem(word);
        let theirs = self.stemmer.stem(other);
        if stem.starts_with(theirs.as_ref()) || theirs.starts_with(stem.as_ref()) {
            return 0;
        }
        self.counts.get(stem.as_ref()).copied().unwrap_or(0)
    }
}

impl std::fmt::Debug for Families {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Families").field("stems", &self.counts.len()).finish()
    }
}

/// The file name of a model's variants ([`BuildConfig::stem_families`]).
pub const VARIANTS: &str = "variants.fst";

/// What [`clean_lexicon`] does with a word that loses to a neighbour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Left out.
    No,
    /// Kept: the edited text holds the word often enough.
    Attested,
    /// Left out of the lexicon, kept as a variant: the edited text holds the word's inflectional family often
    /// enough ([`Families`]).
    Variant,
}

/// What [`clean_lexicon`] kept and left out.
#[derive(Debug, Clone)]
pub struct Cleaned {
    /// The lexicon without the words left out.
    pub lexicon: Lexicon,
    /// Words left out as likely misspellings.
    pub removed: usize,
    /// Words that isolated ranking corrects to a neighbour but that were kept because `keep` said
    /// [`Keep::Attested`].
    pub attested: usize,
    /// The words left out of the lexicon as [`Keep::Variant`]s, with their counts.
    pub variants: Vec<(String, u64)>,
}

/// Removes from the lexicon the words that isolated ranking would correct to a neighbour (`recieve`, seen 5
/// times, next to `receive`, seen 5,241 times): common misspellings that the corpus contains often enough to pass
/// the count threshold, judged with [`Ranking::lexicon_prior_weight`] as the prior weight. Words for which
/// `keep(word, neighbour)` says so (those the edited text holds often enough, see
/// [`BuildConfig::keep_attested`] and [`BuildConfig::stem_families`]) stay whatever their neighbours: a
/// frequent neighbour one cheap edit away (`for`) would otherwise take real words (`fox`) out.
pub fn clean_lexicon(
    lexicon: Lexicon,
    lang: Lang,
    errors: &ErrorModel,
    ranking: &Ranking,
    keep: &(dyn Fn(&str, &str) -> Keep + Sync),
) -> Cleaned {
    let ranking = &Ranking {
        prior_weight: ranking.lexicon_prior_weight,
        ..*ranking
    };
    let errors = &errors.with_bonus(ranking.edit_bonus, ranking.first_letter);
    let words = Words::new(lexicon, lang);
    let lexicon = words.lexicon();
    // Per word: whether it loses to a neighbour, and whether (and why) it is kept all the same.
    let verdicts: Vec<(bool, Keep)> = (0..lexicon.len() as u32)
        .into_par_iter()
        .map(|id| {
            let word = lexicon.word(id);
            // An English contraction typed without its apostrophe (`didnt`; the tokenizer splits the real ones,
            // `did n't`) is always a misspelling, unless it is a word too (`its`).
            if lang == Lang::En
                && crate::speller::is_contraction_without_apostrophe(word)
                && !crate::speller::CONTRACTION_WORDS.contains(&word)
            {
                return (true, Keep::No);
            }
            match words.loses_to_neighbour(errors, ranking, word) {
                Some(neighbour) => (true, keep(word, lexicon.word(neighbour))),
                None => (false, Keep::No),
            }
        })
        .collect();
    let attested = verdicts.iter().filter(|v| v.1 == Keep::Attested).count();
    let variants: Vec<(String, u64)> = lexicon
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| v.1 == Keep::Variant)
        .map(|((w, c), _)| (w.to_string(), c))
        .collect();
    let doomed = |v: &(bool, Keep)| v.0 && v.1 != Keep::Attested;
    let removed = verdicts.iter().filter(|v| doomed(v)).count();
    let kept = Lexicon::from_counts(
        lexicon
            .iter()
            .zip(&verdicts)
            .filter(|(_, v)| !doomed(v))
            .map(|(p, _)| p),
    );
    Cleaned {
        lexicon: kept,
        removed,
        attested,
        variants,
    }
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
        let cleaned = clean_lexicon(lexicon(), Lang::En, &errors, &heavy, &|_, _| Keep::No);
        assert_eq!((cleaned.removed, cleaned.attested), (1, 0));
        assert!(cleaned.lexicon.id("recieve").is_none() && cleaned.lexicon.id("receive").is_some());
        // `prior_weight` plays no part: with no weight on the prior, nothing loses to a neighbour.
        let light = Ranking {
            prior_weight: 1.5,
            lexicon_prior_weight: 0.0,
            ..Ranking::default()
        };
        let cleaned = clean_lexicon(lexicon(), Lang::En, &errors, &light, &|_, _| Keep::No);
        assert_eq!(cleaned.removed, 0);
        assert!(cleaned.lexicon.id("recieve").is_some());
    }

    #[test]
    fn contractions_without_their_apostrophe_leave_an_english_lexicon_unless_they_are_words() {
        let lexicon = || {
            Lexicon::from_counts([
                ("didnt", 800),
                ("did", 90_000),
                ("its", 50_000),
                ("im", 700),
                ("time", 9),
            ])
        };
        let errors = ErrorModel::default();
        let ranking = Ranking::default();
        let cleaned = clean_lexicon(lexicon(), Lang::En, &errors, &ranking, &|_, _| Keep::Attested);
        let kept: Vec<&str> = cleaned.lexicon.iter().map(|(w, _)| w).collect();
        assert_eq!(kept, ["did", "its", "time"]);
        // Not in German, which has no such contractions.
        let cleaned = clean_lexicon(lexicon(), Lang::De, &errors, &ranking, &|_, _| Keep::Attested);
        assert_eq!(cleaned.lexicon.len(), 5);
    }

    #[test]
    fn attested_words_stay_in_the_lexicon_whatever_their_neighbours() {
        // `fox` loses to `for` in isolated ranking, like `recieve` to `receive`; only `keep` tells them apart.
        let lexicon = || {
            Lexicon::from_counts([
                ("receive", 50_000),
                ("recieve", 5),
                ("for", 900_000),
                ("fox", 3_000),
                ("cat", 3_000),
            ])
        };
        let errors = ErrorModel::default();
        let cleaned = clean_lexicon(lexicon(), Lang::En, &errors, &Ranking::default(), &|_, _| Keep::No);
        assert_eq!((cleaned.removed, cleaned.attested), (2, 0));
        assert!(cleaned.lexicon.id("fox").is_none() && cleaned.lexicon.id("recieve").is_none());
        let cleaned = clean_lexicon(lexicon(), Lang::En, &errors, &Ranking::default(), &|w, _| {
            if w == "fox" { Keep::Attested } else { Keep::No }
        });
        assert_eq!((cleaned.removed, cleaned.attested), (1, 1));
        assert!(cleaned.lexicon.id("fox").is_some() && cleaned.lexicon.id("recieve").is_none());
        assert_eq!(cleaned.lexicon.len(), 4);
    }

    /// Writes `text` to a fresh file under the system's temporary directory.
    fn text_file(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("fivegram-build-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("text.txt");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn words_the_edited_text_holds_often_enough_are_kept() {
        let edited = text_file("edited", &("for us\n".repeat(6000) + &"the fox\n".repeat(17)));
        let user = text_file("user", &("i receive it\n".repeat(3000) + &"i recieve it\n".repeat(5)));
        let dir = edited.parent().unwrap().to_path_buf();
        std::fs::write(dir.join("lm.arpa"), "").unwrap();
        let build = |keep_attested: f64| {
            let mut config = BuildConfig::new(Lang::En, vec![edited.clone()]);
            config.user_corpus = vec![user.clone()];
            config.keep_attested = keep_attested;
            let report = build_model(&dir, &config).unwrap();
            (report, Lexicon::open(dir.join("lexicon.fst")).unwrap())
        };
        // 12,034 words of edited text: 800 per million is 10 occurrences, which `fox` (17) passes.
        let (report, lexicon) = build(800.0);
        assert_eq!((report.attested_count, report.attested), (10, 1));
        assert!(lexicon.id("fox").is_some() && lexicon.id("for").is_some());
        // The user text's misspelling is never attested: the edited text does not hold it.
        assert!(lexicon.id("recieve").is_none() && lexicon.id("receive").is_some());
        let (report, lexicon) = build(10_000.0);
        assert_eq!((report.attested_count, report.attested), (121, 0));
        assert!(lexicon.id("fox").is_none() && lexicon.id("recieve").is_none());
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::remove_dir_all(user.parent().unwrap()).unwrap();
    }

    #[test]
    fn families_make_variants_unless_the_neighbour_shares_them() {
        // `hinting` and `occurence` both lose to a far more frequent neighbour and are too rare to be attested
        // on their own; the family of `hint` is attested, and `occur`'s is, but `occurrence` (stem `occurr`) shares it.
        let edited = text_file(
            "families",
            &("hunting dogs\n".repeat(3000)
                + &"a hint of it\n".repeat(40)
                + &"she hinted\n".repeat(20)
                + &"kept hinting\n".repeat(5)
                + &"an occurrence\n".repeat(3000)
                + &"it may occur\n".repeat(60)
                + &"an occurence\n".repeat(5)),
        );
        let dir = edited.parent().unwrap().to_path_buf();
        std::fs::write(dir.join("lm.arpa"), "").unwrap();
        let build = |families: bool| {
            let mut config = BuildConfig::new(Lang::En, vec![edited.clone()]);
            config.min_count = 3;
            config.stem_families = families;
            // 12,400 words: 2,000 per million is 25 occurrences; `hint`'s family is 65, `hinting` alone 5.
            config.keep_attested = 2000.0;
            let report = build_model(&dir, &config).unwrap();
            let manifest = Manifest::open(&dir).unwrap();
            let variants = manifest.variants.map(|name| Lexicon::open(dir.join(name)).unwrap());
            (report, Lexicon::open(dir.join("lexicon.fst")).unwrap(), variants)
        };
        let (report, lexicon, variants) = build(true);
        let variants = variants.expect("a model built with families names its variants");
        assert_eq!((report.attested_count, report.variants), (25, 1), "{report:?}");
        assert!(lexicon.id("hinting").is_none() && lexicon.id("occurence").is_none());
        assert_eq!(variants.count_of("hinting"), 5);
        assert!(variants.id("occurence").is_none());
        let (report, _, variants) = build(false);
        assert_eq!(report.variants, 0);
        assert!(variants.is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn words_are_written_as_the_corpus_mostly_writes_them() {
        let mut counts = WordCounts::new();
        for line in [
            "The dog met Anna in London. The TV was on.",
            "The dog saw Anna and the TV. the end.",
            "Anna, London and the dog. TV.",
            "THE END. Frank was frank with Frank and Frank's fox.",
        ] {
            counts.add_text(line, Lang::En);
        }
        assert_eq!(written_case(&counts, "anna"), Some(WrittenCase::Capital));
        assert_eq!(written_case(&counts, "london"), Some(WrittenCase::Capital));
        assert_eq!(written_case(&counts, "tv"), Some(WrittenCase::Capitals));
        // A name that is also a word written in lowercase a quarter of the time follows the token's case.
        assert_eq!(written_case(&counts, "frank"), None);
        // `the`: capitalised at the start of sentences, in capitals once, lowercase most of the time.
        assert_eq!(written_case(&counts, "the"), None);
        assert_eq!(written_case(&counts, "dog"), None);
        assert_eq!(written_case(&counts, "absent"), None);
        assert_eq!(
            WrittenCase::from_value(WrittenCase::Capitals as u64),
            Some(WrittenCase::Capitals)
        );
        assert_eq!(WrittenCase::from_value(7), None);
    }

    #[test]
    fn the_attested_rate_must_be_a_rate() {
        let corpus = text_file("rate", "the fox and the cat\n");
        let dir = corpus.parent().unwrap().to_path_buf();
        std::fs::write(dir.join("lm.arpa"), "").unwrap();
        for bad in [f64::NAN, -1.0, f64::INFINITY] {
            let mut config = BuildConfig::new(Lang::En, vec![corpus.clone()]);
            config.keep_attested = bad;
            let err = build_model(&dir, &config).unwrap_err().to_string();
            assert!(err.contains("per million words"), "{err}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
