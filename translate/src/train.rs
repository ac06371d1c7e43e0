//! Training a phrase-based model from a parallel corpus: preprocessing, word alignment in both directions,
//! symmetrization, phrase extraction and scoring, the phrase table, and the target language model.
//!
//! The model is built in a temporary directory next to the destination and renamed into place when complete, so
//! an interrupted run leaves nothing half-written. An existing destination is replaced only if it is empty or a
//! model directory (it has a `manifest.json`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use fivegram_corpora::read::{Decoding, ParallelReader, TextReader};
use fivegram_corpora::tokenize::Lang;
use fivegram_lm::count::{CountConfig, Counter};
use fivegram_lm::estimate::{Discount, EstimateConfig, estimate_to_arpa};
use fivegram_lm::vocab::FxBuildHasher;
use rayon::prelude::*;
use serde_json::json;
use std::collections::HashMap;

use crate::align::{AlignConfig, align_both};
use crate::classes::WordClasses;
use crate::decoder::{DecoderConfig, Features, default_weights};
use crate::extract::{ExtractConfig, extract};
use crate::model::{
    BilmSpec, CLASSES_FILE, CLUSTERS_FILE, ClassSpec, DecoderSettings, MANIFEST_FORMAT, MANIFEST_VERSION, Manifest,
    Preprocessor, RescoreSpec, file_info,
};
use crate::phrase_table::{PhraseTableWriter, write_atomic};
use crate::truecase::Truecaser;
use crate::{Error, Result};

/// Where the target language model comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum LmSource {
    /// Use this model as it is (an ARPA file or a model directory `fivegram_lm::model::open` accepts). It must
    /// be over the same tokens the decoder produces: tokenized with the target language's conventions and
    /// truecased.
    Existing(PathBuf),
    /// Estimate a modified Kneser-Ney model of this order from the target side of the training data plus these
    /// raw text files (one sentence per line, preprocessed like the target side), written as the store directory
    /// `lm/` (or as `lm.arpa`, see [`TrainConfig::lm_store_bits`]).
    Estimate {
        /// The n-gram order (5).
        order: usize,
        /// Further monolingual target-language text.
        extra_text: Vec<PathBuf>,
    },
}

/// Everything training needs to know.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// The source language.
    pub source: Lang,
    /// The target language.
    pub target: Lang,
    /// Sentence pairs with more tokens than this on either side are left out of alignment and extraction (Moses'
    /// `clean-corpus-n.perl` uses 80).
    pub max_length: usize,
    /// Alignment training.
    pub align: AlignConfig,
    /// Align lowercased Snowball stems instead of the words themselves (phrases are still extracted over the
    /// words): inflected forms share their statistics, which helps on small corpora.
    pub align_on_stems: bool,
    /// Phrase extraction.
    pub extract: ExtractConfig,
    /// The language model.
    pub lm: LmSource,
    /// An optional second language model, its own feature (`lm2`): an existing model, or one estimated from
    /// `extra_text` alone (for instance general-domain text, kept apart from the in-domain target side), written
    /// as `lm2.arpa`.
    pub lm2: Option<LmSource>,
    /// A class-based second language model (feature `lm2`) estimated from the target side mapped to
    /// [`WordClasses`]; exclusive with [`TrainConfig::lm2`].
    pub class_lm: Option<ClassLmConfig>,
    /// A bilingual language model (feature `bilm`, see [`crate::bilm`]) estimated from the word-aligned corpus.
    pub bilm: Option<BilmConfig>,
    /// How estimated language models are kept: `Some(bits)` builds a memory-mapped store directory (`lm/`,
    /// `lm2/`) with `bits` per quantized value (0: exact `f32`, the ARPA file's values), which opens in
    /// milliseconds whatever its size; `None` keeps the ARPA file (`lm.arpa`, `lm2.arpa`), read into memory at
    /// every start.
    pub lm_store_bits: Option<u32>,
    /// Decoder settings stored in the model.
    pub decoder: DecoderConfig,
    /// Feature weights stored in the model (Moses-like defaults when `None`), e.g. weights tuned earlier.
    pub weights: Option<Features>,
    /// The n-best rescoring with a neural language model recorded in the manifest, if any.
    pub rescore: Option<RescoreSpec>,
}

impl TrainConfig {
    /// Moses-like defaults for a language pair: 5 IBM 1 and 5 HMM iterations, phrases up to 7 words, a 5-gram
    /// model estimated from the target side, stack size 200, distortion limit 6.
    pub fn new(source: Lang, target: Lang) -> TrainConfig {
        TrainConfig {
            source,
            target,
            max_length: 80,
            align: AlignConfig::default(),
            align_on_stems: false,
            extract: ExtractConfig::default(),
            lm: LmSource::Estimate {
                order: 5,
                extra_text: Vec::new(),
            },
            lm2: None,
            class_lm: None,
            bilm: None,
            lm_store_bits: Some(0),
            decoder: DecoderConfig::default(),
            weights: None,
            rescore: None,
        }
    }
}

/// The class-based language model: see [`crate::classes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassLmConfig {
    /// Its n-gram order (up to 6).
    pub order: usize,
    /// The most frequent target words kept as their own class.
    pub keep: usize,
    /// Characters of a word's ending that make its class.
    pub ending: usize,
    /// When above 0: words not kept become one of this many clusters learned by the exchange algorithm
    /// ([`crate::clusters`]) instead of shape and ending.
    pub clusters: usize,
}

/// Passes of the exchange algorithm over the vocabulary (it usually settles before).
const CLUSTER_PASSES: usize = 15;
/// The most clusters a class-based model may have (the exchange algorithm keeps a clusters² table).
pub const MAX_CLUSTERS: usize = 1000;

/// The bilingual language model: see [`crate::bilm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BilmConfig {
    /// Its n-gram order (up to 6).
    pub order: usize,
    /// Tokens pair the class-based model's class of each target word (needs [`TrainConfig::class_lm`]) with its
    /// source words, instead of the word itself.
    pub target_classes: bool,
}

/// What training did, with timings.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainReport {
    /// Sentence pairs read.
    pub pairs: u64,
    /// Pairs left out (empty side or too long).
    pub skipped: u64,
    /// Source and target tokens of the pairs used.
    pub tokens: (u64, u64),
    /// Source phrases and options in the table.
    pub phrases: (u64, u64),
    /// N-grams per order of the estimated language model (empty for an existing model).
    pub lm_ngrams: Vec<u64>,
    /// Backoff corpus: sentence pairs read, pairs aligned (those with a word the main corpus lacks), and source
    /// phrases added to the table.
    pub backoff: (u64, u64, u64),
    /// Seconds per step, by name.
    pub seconds: Vec<(String, f64)>,
}

/// A word ↔ id map.
#[derive(Debug, Default)]
struct Vocab {
    ids: HashMap<String, u32, FxBuildHasher>,
    words: Vec<String>,
}

impl Vocab {
    fn id(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.ids.get(word) {
            return id;
        }
        let id = self.words.len() as u32;
        self.ids.insert(word.to_string(), id);
        self.words.push(word.to_string());
        id
    }
}

/// Trains a model from `corpora` (read in order) into `out`. `progress` hears the name of each step as it starts.
pub fn train(
    corpora: Vec<ParallelReader>,
    config: &TrainConfig,
    out: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<TrainReport> {
    train_with_backoff(corpora, Vec::new(), config, out, progress)
}

/// Trains a model as [`train`] does, with a backoff corpus for the words the main corpus lacks.
///
/// The backoff pairs never change what is learned from the main corpus: they are aligned on their own (only the
/// pairs with a source word the main corpus lacks), and of their phrase pairs only those whose source phrase has
/// such a word enter the table. So they only ever compete with passing an unknown word through, and weights
/// tuned for the model without them stay valid. The truecasers learn the backoff corpus's words that the main
/// corpus lacks.
pub fn train_with_backoff(
    corpora: Vec<ParallelReader>,
    backoff: Vec<ParallelReader>,
    config: &TrainConfig,
    out: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<TrainReport> {
    let mut seconds = Vec::new();
    let mut clock = Instant::now();
    let mut lap = |name: &str, clock: &mut Instant| {
        seconds.push((name.to_string(), clock.elapsed().as_secs_f64()));
        *clock = Instant::now();
    };
    for lm in std::iter::once(&config.lm).chain(&config.lm2) {
        if let LmSource::Existing(path) = lm
            && !path.exists()
        {
            return Err(Error::io(path, std::io::Error::from(std::io::ErrorKind::NotFound)));
        }
    }
    if config.class_lm.is_some() && config.lm2.is_some() {
        return Err(Error::InvalidOption(
            "a class-based language model takes the place of the second language model: use one of them".into(),
        ));
    }
    if let Some(class_lm) = config.class_lm
        && (class_lm.clusters == 1 || class_lm.clusters > MAX_CLUSTERS)
    {
        return Err(Error::InvalidOption(format!(
            "the class-based model's clusters must be 0 (none) or 2 to {MAX_CLUSTERS}, not {}",
            class_lm.clusters
        )));
    }
    if let Some(bilm) = config.bilm {
        if !(1..=6).contains(&bilm.order) {
            return Err(Error::InvalidOption(format!(
                "the bilingual language model's order must be between 1 and 6, not {}",
                bilm.order
            )));
        }
        if bilm.target_classes && config.class_lm.is_none() {
            return Err(Error::InvalidOption(
                "a bilingual language model over target classes needs the class-based language model".into(),
            ));
        }
    }
    if let Some(LmSource::Estimate { extra_text, .. }) = &config.lm2
        && extra_text.is_empty()
    {
        return Err(Error::InvalidOption(
            "the second language model needs text to be estimated from".into(),
        ));
    }
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    check_destination(out)?;

    progress("reading the corpus");
    let mut raw: Vec<(String, String)> = Vec::new();
    for reader in corpora {
        for pair in reader {
            let pair = pair?;
            raw.push((pair.src, pair.tgt));
        }
    }
    let pairs = raw.len() as u64;
    if raw.is_empty() {
        return Err(Error::Empty("the parallel corpus is empty: nothing to train on".into()));
    }
    let mut raw_backoff: Vec<(String, String)> = Vec::new();
    for reader in backoff {
        for pair in reader {
            let pair = pair?;
            raw_backoff.push((pair.src, pair.tgt));
        }
    }
    lap("read", &mut clock);

    progress("tokenizing and truecasing");
    let src_tok = fivegram_corpora::tokenize::Tokenizer::new(config.source);
    let tgt_tok = fivegram_corpora::tokenize::Tokenizer::new(config.target);
    let mut tokenized: Vec<(Vec<String>, Vec<String>)> = raw
        .par_iter()
        .map(|(s, t)| (src_tok.tokenize(s), tgt_tok.tokenize(t)))
        .collect();
    drop(raw);
    let mut src_tc = Truecaser::new();
    let mut tgt_tc = Truecaser::new();
    for (s, t) in &tokenized {
        src_tc.learn(s);
        tgt_tc.learn(t);
    }
    src_tc.finish();
    tgt_tc.finish();
    let mut backoff_tokenized: Vec<(Vec<String>, Vec<String>)> = raw_backoff
        .par_iter()
        .map(|(s, t)| (src_tok.tokenize(s), tgt_tok.tokenize(t)))
        .collect();
    let backoff_pairs = raw_backoff.len() as u64;
    drop(raw_backoff);
    if !backoff_tokenized.is_empty() {
        let mut b_src_tc = Truecaser::new();
        let mut b_tgt_tc = Truecaser::new();
        for (s, t) in &backoff_tokenized {
            b_src_tc.learn(s);
            b_tgt_tc.learn(t);
        }
        b_src_tc.finish();
        b_tgt_tc.finish();
        src_tc.add_new_words(&b_src_tc);
        tgt_tc.add_new_words(&b_tgt_tc);
    }
    tokenized
        .par_iter_mut()
        .chain(backoff_tokenized.par_iter_mut())
        .for_each(|(s, t)| {
            src_tc.truecase(s);
            tgt_tc.truecase(t);
        });
    lap("preprocess", &mut clock);

    // The default model directory's parents may not exist yet on a fresh machine.
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".fivegram-train-");
    // An ordinary directory once installed, not the private one a temporary directory is by default.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o755));
    }
    let work = builder.tempdir_in(parent).map_err(|e| Error::io(parent, e))?;
    let dir = work.path();

    // The language model first: it needs the whole target side, and its memory is freed before alignment.
    let (lm_name, lm_ngrams) = match &config.lm {
        LmSource::Existing(path) => {
            let absolute = std::path::absolute(path).map_err(|e| Error::io(path, e))?;
            (absolute.to_string_lossy().into_owned(), Vec::new())
        }
        LmSource::Estimate { order, extra_text } => {
            progress("estimating the target language model");
            let preprocessor = Preprocessor::new(config.target, tgt_tc.clone());
            let mut extra = Vec::with_capacity(extra_text.len());
            for path in extra_text {
                extra.push((path.as_path(), read_monolingual(path, &preprocessor)?));
            }
            let corpus = Path::new("<target side of the parallel corpus>");
            let sentences = tokenized
                .iter()
                .enumerate()
                .map(|(i, (_, t))| (corpus, i as u64 + 1, t.as_slice()))
                .chain(extra.iter().flat_map(|(path, lines)| numbered(path, lines)));
            let counts = estimate_arpa(sentences, *order, &dir.join("lm.arpa"))?;
            (store_lm(dir, "lm", config.lm_store_bits)?, counts)
        }
    };
    let mut class_spec = None;
    let mut target_classes = None;
    let lm2 = match &config.lm2 {
        None => match &config.class_lm {
            None => None,
            Some(class_lm) => {
                progress("estimating the class-based language model");
                let targets = tokenized.iter().map(|(_, t)| t.as_slice());
                let classes = if class_lm.clusters > 0 {
                    WordClasses::learn_clustered(
                        targets,
                        (class_lm.keep, class_lm.ending),
                        class_lm.clusters,
                        CLUSTER_PASSES,
                    )
                } else {
                    WordClasses::learn(targets, class_lm.keep, class_lm.ending)
                };
                let mapped: Vec<Vec<String>> = tokenized.par_iter().map(|(_, t)| classes.map(t)).collect();
                let corpus = Path::new("<target side of the parallel corpus, as classes>");
                estimate_arpa(numbered(corpus, &mapped), class_lm.order, &dir.join("lm2.arpa"))?;
                classes.write(&dir.join(CLASSES_FILE))?;
                let clusters = classes.has_clusters().then(|| CLUSTERS_FILE.to_string());
                if let Some(name) = &clusters {
                    classes.write_clusters(&dir.join(name))?;
                }
                class_spec = Some(ClassSpec {
                    file: CLASSES_FILE.to_string(),
                    ending: classes.ending(),
                    clusters,
                });
                target_classes = Some(classes);
                Some(store_lm(dir, "lm2", config.lm_store_bits)?)
            }
        },
        Some(LmSource::Existing(path)) => {
            let absolute = std::path::absolute(path).map_err(|e| Error::io(path, e))?;
            Some(absolute.to_string_lossy().into_owned())
        }
        Some(LmSource::Estimate { order, extra_text }) => {
            progress("estimating the second language model");
            let preprocessor = Preprocessor::new(config.target, tgt_tc.clone());
            let mut texts = Vec::with_capacity(extra_text.len());
            for path in extra_text {
                texts.push((path.as_path(), read_monolingual(path, &preprocessor)?));
            }
            let sentences = texts.iter().flat_map(|(path, lines)| numbered(path, lines));
            estimate_arpa(sentences, *order, &dir.join("lm2.arpa"))?;
            Some(store_lm(dir, "lm2", config.lm_store_bits)?)
        }
    };
    lap("language model", &mut clock);

    progress("aligning words (IBM Model 1, HMM, both directions)");
    let mut src_vocab = Vocab::default();
    let mut tgt_vocab = Vocab::default();
    let mut src_ids = Vec::with_capacity(tokenized.len());
    let mut tgt_ids = Vec::with_capacity(tokenized.len());
    let mut skipped = 0u64;
    let mut tokens = (0u64, 0u64);
    for (s, t) in &tokenized {
        if s.is_empty() || t.is_empty() || s.len() > config.max_length || t.len() > config.max_length {
            skipped += 1;
            continue;
        }
        tokens.0 += s.len() as u64;
        tokens.1 += t.len() as u64;
        src_ids.push(s.iter().map(|w| src_vocab.id(w)).collect::<Vec<u32>>());
        tgt_ids.push(t.iter().map(|w| tgt_vocab.id(w)).collect::<Vec<u32>>());
    }
    drop(tokenized);
    if src_ids.is_empty() {
        return Err(Error::Empty(format!(
            "all {pairs} sentence pairs have an empty side or more than {} tokens: nothing to train on",
            config.max_length
        )));
    }
    let points = if config.align_on_stems {
        let (src_stems, tgt_stems) = rayon::join(
            || stem_ids(&src_ids, &src_vocab, config.source),
            || stem_ids(&tgt_ids, &tgt_vocab, config.target),
        );
        align_both(&src_stems, &tgt_stems, &config.align)
    } else {
        align_both(&src_ids, &tgt_ids, &config.align)
    };
    lap("alignment", &mut clock);

    let bilm = match config.bilm {
        None => None,
        Some(bilm) => {
            progress("estimating the bilingual language model");
            let classes = if bilm.target_classes {
                target_classes.as_ref()
            } else {
                None
            };
            let tokens: Vec<Vec<String>> = src_ids
                .par_iter()
                .zip(&tgt_ids)
                .zip(&points)
                .map(|((s, t), a)| {
                    let s: Vec<&str> = s.iter().map(|&id| src_vocab.words[id as usize].as_str()).collect();
                    let t: Vec<&str> = t.iter().map(|&id| tgt_vocab.words[id as usize].as_str()).collect();
                    crate::bilm::sentence_tokens(&s, &t, a, classes)
                })
                .collect();
            let corpus = Path::new("<aligned parallel corpus, as bilingual tokens>");
            estimate_arpa(numbered(corpus, &tokens), bilm.order, &dir.join("bilm.arpa"))?;
            Some(BilmSpec {
                lm: store_lm(dir, "bilm", config.lm_store_bits)?,
                target_classes: bilm.target_classes,
            })
        }
    };
    lap("bilingual language model", &mut clock);

    progress("extracting and scoring phrases");
    let (mut entries, stats) = extract(&src_ids, &tgt_ids, &points, &config.extract);
    drop(points);
    drop((src_ids, tgt_ids));
    lap("extraction", &mut clock);

    let mut backoff_report = (backoff_pairs, 0u64, 0u64);
    if !backoff_tokenized.is_empty() {
        progress("aligning the backoff corpus and extracting its phrases for unknown words");
        let known = src_vocab.words.len() as u32;
        let mut b_src = Vec::new();
        let mut b_tgt = Vec::new();
        for (s, t) in &backoff_tokenized {
            if s.is_empty() || t.is_empty() || s.len() > config.max_length || t.len() > config.max_length {
                continue;
            }
            let ids: Vec<u32> = s.iter().map(|w| src_vocab.id(w)).collect();
            if ids.iter().any(|&id| id >= known) {
                b_src.push(ids);
                b_tgt.push(t.iter().map(|w| tgt_vocab.id(w)).collect::<Vec<u32>>());
            }
        }
        drop(backoff_tokenized);
        backoff_report.1 = b_src.len() as u64;
        if !b_src.is_empty() {
            let b_points = if config.align_on_stems {
                let (src_stems, tgt_stems) = rayon::join(
                    || stem_ids(&b_src, &src_vocab, config.source),
                    || stem_ids(&b_tgt, &tgt_vocab, config.target),
                );
                align_both(&src_stems, &tgt_stems, &config.align)
            } else {
                align_both(&b_src, &b_tgt, &config.align)
            };
            let (b_entries, _) = extract(&b_src, &b_tgt, &b_points, &config.extract);
            let before = entries.len();
            entries.extend(b_entries.into_iter().filter(|e| e.source.iter().any(|&id| id >= known)));
            backoff_report.2 = (entries.len() - before) as u64;
        }
        lap("backoff", &mut clock);
    }

    progress("writing the phrase table");
    let mut keyed: Vec<(String, usize)> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let key = e
                .source
                .iter()
                .map(|&id| src_vocab.words[id as usize].as_str())
                .collect::<Vec<_>>()
                .join(" ");
            (key, i)
        })
        .collect();
    keyed.sort_unstable();
    let mut writer = if config.bilm.is_some() {
        PhraseTableWriter::with_alignments()
    } else {
        PhraseTableWriter::new()
    };
    for (key, i) in &keyed {
        writer.add(key, &entries[*i].options)?;
    }
    writer.finish(dir)?;
    let mut vocab_text = String::new();
    for word in &tgt_vocab.words {
        vocab_text.push_str(word);
        vocab_text.push('\n');
    }
    write_atomic(&dir.join("target.vocab"), vocab_text.as_bytes())?;
    for (name, tc) in [("truecase.src.tsv", &src_tc), ("truecase.tgt.tsv", &tgt_tc)] {
        let mut buf = Vec::new();
        tc.write(&mut buf).map_err(|e| Error::io(dir.join(name), e))?;
        write_atomic(&dir.join(name), &buf)?;
    }
    lap("phrase table", &mut clock);

    let report = TrainReport {
        pairs,
        skipped,
        tokens,
        phrases: (stats.sources, stats.kept),
        lm_ngrams: lm_ngrams.clone(),
        backoff: backoff_report,
        seconds: seconds.clone(),
    };
    finish_model(
        dir,
        config,
        (&lm_name, lm2.as_deref()),
        (class_spec, bilm),
        &report,
        &stats,
    )?;
    install(work, out)?;
    Ok(report)
}

/// The sentences with every word id replaced by the id of its lowercased Snowball stem.
fn stem_ids(sentences: &[Vec<u32>], vocab: &Vocab, lang: Lang) -> Vec<Vec<u32>> {
    let stemmer = lang.stemmer();
    let mut stems = Vocab::default();
    let map: Vec<u32> = vocab
        .words
        .iter()
        .map(|w| stems.id(&stemmer.stem(&w.to_lowercase())))
        .collect();
    sentences
        .iter()
        .map(|s| s.iter().map(|&id| map[id as usize]).collect())
        .collect()
}

/// Checks that `out` can be (re)placed: absent, an empty directory, or a model directory.
fn check_destination(out: &Path) -> Result<()> {
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        return Err(Error::InvalidOption(format!(
            "{} exists and is not a directory",
            out.display()
        )));
    }
    let empty = std::fs::read_dir(out).map_err(|e| Error::io(out, e))?.next().is_none();
    if !empty && !out.join("manifest.json").exists() {
        return Err(Error::InvalidOption(format!(
            "{} is neither empty nor a model directory (no manifest.json): refusing to replace it",
            out.display()
        )));
    }
    Ok(())
}

/// Lists every file with its size and CRC-32 and writes the manifest, last.
fn finish_model(
    dir: &Path,
    config: &TrainConfig,
    (lm, lm2): (&str, Option<&str>),
    (class_spec, bilm): (Option<ClassSpec>, Option<BilmSpec>),
    report: &TrainReport,
    stats: &crate::extract::ExtractStats,
) -> Result<()> {
    let mut files = std::collections::BTreeMap::new();
    let names = vec![
        "phrases.fst",
        "phrases.bin",
        "target.vocab",
        "truecase.src.tsv",
        "truecase.tgt.tsv",
    ];
    let mut names: Vec<String> = names.into_iter().map(str::to_string).collect();
    if let Some(spec) = &class_spec {
        names.push(spec.file.clone());
        names.extend(spec.clusters.clone());
    }
    for name in std::iter::once(lm)
        .chain(lm2)
        .chain(bilm.as_ref().map(|b| b.lm.as_str()))
    {
        if Path::new(name).is_absolute() {
            continue; // an existing model, used where it is
        }
        let path = dir.join(name);
        if path.is_dir() {
            // A store directory estimated here: every file of it (its own manifest checks them too).
            let mut inner = Vec::new();
            for entry in std::fs::read_dir(&path).map_err(|e| Error::io(&path, e))? {
                let entry = entry.map_err(|e| Error::io(&path, e))?;
                inner.push(format!("{name}/{}", entry.file_name().to_string_lossy()));
            }
            inner.sort();
            names.extend(inner);
        } else {
            names.push(name.to_string());
        }
    }
    for name in names {
        files.insert(name.clone(), file_info(&dir.join(&name))?);
    }
    let mut manifest = Manifest {
        format: MANIFEST_FORMAT.to_string(),
        version: MANIFEST_VERSION,
        source_lang: config.source.code().to_string(),
        target_lang: config.target.code().to_string(),
        lm: lm.to_string(),
        lm2: lm2.map(str::to_string),
        lm2_classes: class_spec,
        bilm,
        weights: Default::default(),
        rescore: config.rescore.clone(),
        decoder: DecoderSettings::from(&config.decoder),
        files,
        training: json!({
            "pairs": report.pairs,
            "skipped": report.skipped,
            "source_tokens": report.tokens.0,
            "target_tokens": report.tokens.1,
            "phrase_occurrences": stats.occurrences,
            "phrase_pairs": stats.distinct,
            "source_phrases": stats.sources,
            "options_kept": stats.kept,
            "lm_ngrams": report.lm_ngrams,
            "backoff_pairs": report.backoff.0,
            "backoff_pairs_aligned": report.backoff.1,
            "backoff_source_phrases": report.backoff.2,
            "max_length": config.max_length,
            "ibm1_iterations": config.align.ibm1_iterations,
            "hmm_iterations": config.align.hmm_iterations,
            "max_phrase_length": config.extract.max_phrase_length,
            "phrase_smoothing": config.extract.smoothing.name(),
            "class_lm": config.class_lm.map(|c| json!({"order": c.order, "keep": c.keep, "ending": c.ending})),
            "seconds": report.seconds.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
        }),
    };
    manifest.set_weights(&config.weights.unwrap_or_else(default_weights));
    manifest.write(dir)
}

/// Moves the finished work directory to `out`, replacing an old model there.
fn install(work: tempfile::TempDir, out: &Path) -> Result<()> {
    let built = work.keep();
    if out.exists() {
        check_destination(out)?;
        std::fs::remove_dir_all(out).map_err(|e| Error::io(out, e))?;
    }
    std::fs::rename(&built, out).map_err(|e| Error::io(out, e))
}

/// Turns `dir/NAME.arpa`, just estimated, into the store directory `dir/NAME` (removing the ARPA file) when
/// `bits` is given; returns the name the manifest records.
fn store_lm(dir: &Path, name: &str, bits: Option<u32>) -> Result<String> {
    let arpa = dir.join(format!("{name}.arpa"));
    let Some(bits) = bits else {
        return Ok(format!("{name}.arpa"));
    };
    let options = fivegram_lm::store::build::BuildOptions {
        shards: 1,
        quantize: bits,
        smoothing: "mkn".into(),
        parallel: false,
        ..Default::default()
    };
    fivegram_lm::store::build::build_from_arpa(&arpa, &dir.join(name), &options)?;
    std::fs::remove_file(&arpa).map_err(|e| Error::io(&arpa, e))?;
    Ok(name.to_string())
}

/// Estimates a modified Kneser-Ney model over token sequences into `path` (ARPA); returns the n-gram counts.
pub fn estimate_arpa<'a>(
    sentences: impl Iterator<Item = (&'a Path, u64, &'a [String])>,
    order: usize,
    path: &Path,
) -> Result<Vec<u64>> {
    let mut counter = Counter::new(CountConfig::new(order))?;
    for (source, line, tokens) in sentences {
        counter.add_sentence(tokens.iter().map(String::as_str), source, line)?;
    }
    let counts = counter.finish()?;
    let config = EstimateConfig {
        discount_fallback: Some(Discount::FALLBACK),
        ..EstimateConfig::default()
    };
    let (ngrams, _warnings) = estimate_to_arpa(counts, &config, path)?;
    Ok(ngrams)
}

/// Token sentences as [`estimate_arpa`] takes them: named `corpus`, numbered from line 1.
fn numbered<'a>(corpus: &'a Path, sentences: &'a [Vec<String>]) -> impl Iterator<Item = (&'a Path, u64, &'a [String])> {
    sentences
        .iter()
        .enumerate()
        .map(move |(i, t)| (corpus, i as u64 + 1, t.as_slice()))
}

/// Reads raw text lines and preprocesses them like the target side of the corpus.
pub fn read_monolingual(path: &Path, preprocessor: &Preprocessor) -> Result<Vec<Vec<String>>> {
    let reader = TextReader::open(path, Decoding::Strict)?;
    let mut out = Vec::new();
    for line in reader {
        out.push(preprocessor.prepare(&line?.text));
    }
    Ok(out)
}
