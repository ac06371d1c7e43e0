//! Training, opening, decoding, n-best lists, tuning and bad input, end to end on a small self-written corpus.

use std::path::Path;

use fivegram_corpora::read::{Decoding, ParallelReader};
use fivegram_corpora::tokenize::Lang;
use fivegram_translate::decoder::FEATURES;
use fivegram_translate::model::PhraseModel;
use fivegram_translate::train::{BilmConfig, ClassLmConfig, LmSource, TrainConfig, train};
use fivegram_translate::tune::{TuneConfig, TuneMethod, tune};
use fivegram_translate::{Error, TranslateOptions, Translator};

const EN: &[&str] = &[
    "A dog runs.",
    "A dog runs in the park.",
    "The dog sleeps.",
    "A man runs.",
    "The man sleeps in the park.",
    "A woman reads a book.",
    "The woman reads.",
    "A man reads a book in the park.",
    "The dog sees a man.",
    "A woman sees the dog.",
    "Two dogs run in the park.",
    "Two men read a book.",
    "The child plays in the park.",
    "A child sees a dog.",
    "The woman plays with the dog.",
    "A man plays with a child.",
    "The red ball lies in the park.",
    "A child plays with a red ball.",
    "The dog runs to the man.",
    "A woman runs to the child.",
];
const DE: &[&str] = &[
    "Ein Hund rennt.",
    "Ein Hund rennt im Park.",
    "Der Hund schläft.",
    "Ein Mann rennt.",
    "Der Mann schläft im Park.",
    "Eine Frau liest ein Buch.",
    "Die Frau liest.",
    "Ein Mann liest ein Buch im Park.",
    "Der Hund sieht einen Mann.",
    "Eine Frau sieht den Hund.",
    "Zwei Hunde rennen im Park.",
    "Zwei Männer lesen ein Buch.",
    "Das Kind spielt im Park.",
    "Ein Kind sieht einen Hund.",
    "Die Frau spielt mit dem Hund.",
    "Ein Mann spielt mit einem Kind.",
    "Der rote Ball liegt im Park.",
    "Ein Kind spielt mit einem roten Ball.",
    "Der Hund rennt zu dem Mann.",
    "Eine Frau rennt zu dem Kind.",
];

fn write(path: &Path, lines: &[&str]) {
    std::fs::write(path, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
}

fn config() -> TrainConfig {
    let mut config = TrainConfig::new(Lang::En, Lang::De);
    config.lm = LmSource::Estimate {
        order: 3,
        extra_text: Vec::new(),
    };
    config
}

/// Writes the toy corpus into `dir` (`train.en`, `train.de`) and trains `config` into `dir/name`.
fn train_toy(dir: &Path, config: &TrainConfig, name: &str) -> fivegram_translate::Result<std::path::PathBuf> {
    let (src, tgt) = (dir.join("train.en"), dir.join("train.de"));
    write(&src, EN);
    write(&tgt, DE);
    let out = dir.join(name);
    let reader = ParallelReader::open(&src, &tgt, Decoding::Strict)?;
    train(vec![reader], config, &out, &mut |_| {})?;
    Ok(out)
}

/// The first translation of `text` and the values of the named features in it.
fn translated(model: &PhraseModel, text: &str, names: &[&str]) -> (String, Vec<f64>) {
    let options = TranslateOptions {
        features: true,
        ..TranslateOptions::default()
    };
    let out = model.translate(text, &options).unwrap();
    let features = out[0].features.as_ref().unwrap();
    let values = names
        .iter()
        .map(|name| features.iter().find(|(f, _)| f == name).unwrap().1)
        .collect();
    (out[0].text.clone(), values)
}

/// Trains the toy model into `dir/model` and returns its path.
fn trained(dir: &Path) -> std::path::PathBuf {
    let (src, tgt) = (dir.join("train.en"), dir.join("train.de"));
    write(&src, EN);
    write(&tgt, DE);
    let out = dir.join("model");
    let reader = ParallelReader::open(&src, &tgt, Decoding::Strict).unwrap();
    let mut steps = Vec::new();
    let report = train(vec![reader], &config(), &out, &mut |s| steps.push(s.to_string())).unwrap();
    assert_eq!(report.pairs, EN.len() as u64);
    assert!(report.phrases.1 > 0 && report.lm_ngrams.len() == 3);
    assert!(steps.len() >= 4, "progress steps: {steps:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let ordinary = dir.join("ordinary");
        std::fs::File::create(&ordinary).unwrap();
        let want = std::fs::metadata(&ordinary).unwrap().permissions().mode() & 0o444;
        for entry in std::fs::read_dir(&out).unwrap() {
            let mode = entry.unwrap().metadata().unwrap().permissions().mode();
            assert_eq!(mode & 0o444, want, "model files are as readable as ordinary files");
        }
    }
    out
}

#[test]
fn trains_translates_and_tunes() {
    let dir = tempfile::tempdir().unwrap();
    let out = trained(dir.path());
    let mut model = PhraseModel::open(&out).unwrap();
    model.verify().unwrap();
    let translator: &dyn Translator = &model;
    assert_eq!(translator.backend(), "ngram");

    let sources: Vec<String> = [
        "A dog runs in the park.",
        "",
        "The zebra sleeps.",
        "A man reads a book.",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let options = TranslateOptions {
        nbest: 3,
        features: true,
        ..TranslateOptions::default()
    };
    let out_lists = translator.translate_batch(&sources, &options).unwrap();
    assert_eq!(out_lists.len(), 4);
    assert_eq!(out_lists[0][0].text, "Ein Hund rennt im Park.");
    assert_eq!(out_lists[1].len(), 1);
    assert_eq!(out_lists[1][0].text, "", "an empty line translates to an empty line");
    assert!(
        out_lists[2][0].text.contains("zebra"),
        "unknown words pass through: {}",
        out_lists[2][0].text
    );
    assert!(out_lists[2][0].text.starts_with("Der "), "{}", out_lists[2][0].text);
    assert_eq!(out_lists[3][0].text, "Ein Mann liest ein Buch.");
    // n-best: distinct, best first, and each score is the weighted sum of its features.
    let weights = *model.weights();
    for list in &out_lists {
        assert!(!list.is_empty() && list.len() <= 3);
        for pair in list.windows(2) {
            assert!(pair[0].score >= pair[1].score);
            assert_ne!(pair[0].text, pair[1].text);
        }
        for t in list {
            let features = t.features.as_ref().unwrap();
            assert_eq!(features.len(), FEATURES.len());
            let dot: f64 = features.iter().zip(&weights).map(|((_, f), w)| f * f64::from(*w)).sum();
            assert!(
                (dot - t.score).abs() < 1e-2 * (1.0 + t.score.abs()),
                "{dot} vs {}",
                t.score
            );
        }
    }
    let counters: std::collections::HashMap<String, f64> = translator.counters().into_iter().collect();
    assert_eq!(counters["sentences"], 4.0);
    assert!(counters["lm_queries"] > 0.0 && counters["lm_batches"] > 0.0);

    // Tuning on the training sentences keeps or improves BLEU and stores the weights.
    let src: Vec<String> = EN.iter().map(|s| s.to_string()).collect();
    let refs: Vec<String> = DE.iter().map(|s| s.to_string()).collect();
    let tc = TuneConfig {
        iterations: 2,
        nbest: 20,
        restarts: 2,
        ..TuneConfig::default()
    };
    let mert = TuneConfig {
        method: TuneMethod::Mert,
        ..tc.clone()
    };
    let report = tune(&mut model, &src, &refs, &mert, &mut |_, _| {}).unwrap();
    assert!(report.final_bleu >= report.initial_bleu);
    let report = tune(&mut model, &src, &refs, &tc, &mut |_, _| {}).unwrap();
    assert!(report.final_bleu >= report.initial_bleu);
    assert_eq!(report.method, TuneMethod::Pro);
    let reopened = PhraseModel::open(&out).unwrap();
    assert_eq!(reopened.weights(), &report.weights);
    assert!(reopened.manifest().training["tuning"]["final_bleu"].is_number());
    // Mismatched development files are refused.
    assert!(matches!(
        tune(&mut model, &src, &refs[1..], &tc, &mut |_, _| {}),
        Err(Error::LineCount { .. })
    ));
}

#[test]
fn bad_input_is_refused_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (src, tgt) = (dir.path().join("a.en"), dir.path().join("a.de"));
    write(&src, EN);
    write(&tgt, &DE[..DE.len() - 1]);
    let out = dir.path().join("model");
    let reader = ParallelReader::open(&src, &tgt, Decoding::Strict).unwrap();
    let err = train(vec![reader], &config(), &out, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("a.de"), "{err}");
    assert!(!out.exists(), "nothing is left behind");

    write(&src, &[]);
    write(&tgt, &[]);
    let reader = ParallelReader::open(&src, &tgt, Decoding::Strict).unwrap();
    assert!(matches!(
        train(vec![reader], &config(), &out, &mut |_| {}),
        Err(Error::Empty(_))
    ));

    // A directory that is not a model is never replaced.
    let precious = dir.path().join("precious");
    std::fs::create_dir(&precious).unwrap();
    std::fs::write(precious.join("notes.txt"), "keep me").unwrap();
    write(&src, EN);
    write(&tgt, DE);
    let reader = ParallelReader::open(&src, &tgt, Decoding::Strict).unwrap();
    assert!(train(vec![reader], &config(), &precious, &mut |_| {}).is_err());
    assert!(precious.join("notes.txt").exists());

    // Missing and corrupted models.
    let err = PhraseModel::open(dir.path().join("nowhere")).unwrap_err();
    assert!(matches!(err, Error::NotAModel { .. }), "{err}");
    assert!(err.to_string().contains("train-translation"), "{err}");
    let model = trained(dir.path());
    let bin = model.join("phrases.bin");
    let mut bytes = std::fs::read(&bin).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&bin, &bytes).unwrap();
    let opened = PhraseModel::open(&model).unwrap();
    assert!(matches!(opened.verify(), Err(Error::Checksum { .. })));
    std::fs::write(&bin, &bytes[..bytes.len() - 7]).unwrap();
    assert!(matches!(PhraseModel::open(&model), Err(Error::Corrupt { .. })));
    std::fs::write(model.join("manifest.json"), "{ not json").unwrap();
    assert!(matches!(PhraseModel::open(&model), Err(Error::Corrupt { .. })));
}

#[test]
fn a_second_language_model_is_its_own_feature() {
    let dir = tempfile::tempdir().unwrap();
    let (src, tgt, general) = (
        dir.path().join("t.en"),
        dir.path().join("t.de"),
        dir.path().join("general.de"),
    );
    write(&src, EN);
    write(&tgt, DE);
    write(
        &general,
        &[
            "Der Hund rennt schnell.",
            "Ein Kind liest ein Buch.",
            "Die Frau schläft.",
        ],
    );
    let mut config = config();
    config.lm2 = Some(LmSource::Estimate {
        order: 3,
        extra_text: vec![general],
    });
    let out = dir.path().join("model");
    let reader = ParallelReader::open(&src, &tgt, Decoding::Strict).unwrap();
    train(vec![reader], &config, &out, &mut |_| {}).unwrap();
    let model = PhraseModel::open(&out).unwrap();
    model.verify().unwrap();
    assert_eq!(model.lms().len(), 2);
    assert_eq!(model.manifest().lm2.as_deref(), Some("lm2"));
    let (text, values) = translated(&model, "The dog sleeps.", &["lm2"]);
    assert_eq!(text, "Der Hund schläft.");
    assert!(
        values[0] < 0.0,
        "the second model scores the translation: {}",
        values[0]
    );

    // Without text the second model cannot be estimated.
    config.lm2 = Some(LmSource::Estimate {
        order: 3,
        extra_text: Vec::new(),
    });
    let reader = ParallelReader::open(&src, &tgt, Decoding::Strict).unwrap();
    assert!(matches!(
        train(vec![reader], &config, &dir.path().join("m2"), &mut |_| {}),
        Err(Error::InvalidOption(_))
    ));
}

#[test]
fn a_store_language_model_scores_as_the_arpa_file_does() {
    let dir = tempfile::tempdir().unwrap();
    let (src, tgt) = (dir.path().join("t.en"), dir.path().join("t.de"));
    write(&src, EN);
    write(&tgt, DE);
    let mut models = Vec::new();
    for (name, bits) in [("arpa", None), ("store", Some(0))] {
        let mut config = config();
        config.lm_store_bits = bits;
        let out = dir.path().join(name);
        let reader = ParallelReader::open(&src, &tgt, Decoding::Strict).unwrap();
        train(vec![reader], &config, &out, &mut |_| {}).unwrap();
        models.push(PhraseModel::open(&out).unwrap());
    }
    let (arpa, store) = (&models[0], &models[1]);
    assert_eq!(arpa.manifest().lm, "lm.arpa");
    assert_eq!(store.manifest().lm, "lm");
    assert!(dir.path().join("store/lm").is_dir());
    assert!(
        !dir.path().join("store/lm.arpa").exists(),
        "the ARPA file is removed once stored"
    );
    assert!(store.manifest().files.contains_key("lm/manifest.json"));
    assert!(store.manifest().files.keys().filter(|k| k.starts_with("lm/")).count() >= 3);
    store.verify().unwrap();
    let options = TranslateOptions {
        nbest: 5,
        features: true,
        ..TranslateOptions::default()
    };
    for sentence in [
        "The dog sleeps in the park.",
        "A woman plays with a red ball.",
        "Two men run.",
    ] {
        let (a, s) = (
            arpa.translate(sentence, &options).unwrap(),
            store.translate(sentence, &options).unwrap(),
        );
        assert_eq!(a.len(), s.len());
        for (a, s) in a.iter().zip(&s) {
            assert_eq!(a.text, s.text);
            assert!((a.score - s.score).abs() < 1e-4, "{} vs {}", a.score, s.score);
        }
    }

    // A damaged store file is caught by the model's own checksums.
    let shard = std::fs::read_dir(dir.path().join("store/lm"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "fgs"))
        .unwrap();
    let mut bytes = std::fs::read(&shard).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&shard, bytes).unwrap();
    let damaged = PhraseModel::open(dir.path().join("store"));
    assert!(damaged.is_err() || damaged.unwrap().verify().is_err());
}

#[test]
fn a_class_based_language_model_is_the_second_feature() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config();
    config.class_lm = Some(ClassLmConfig {
        order: 4,
        keep: 10,
        ending: 2,
        clusters: 0,
    });
    let out = train_toy(dir.path(), &config, "model").unwrap();
    let model = PhraseModel::open(&out).unwrap();
    model.verify().unwrap();
    assert_eq!(model.lms().len(), 2);
    let spec = model.manifest().lm2_classes.clone().unwrap();
    assert_eq!(spec.ending, 2);
    let kept = std::fs::read_to_string(out.join(&spec.file)).unwrap();
    assert_eq!(kept.lines().count(), 10);
    // The class model's vocabulary is classes: kept words and endings, never a rare word itself.
    let lm2 = model.lms()[1];
    assert_ne!(
        lm2.word_id("N~ll"),
        lm2.word_id("<unk>"),
        "Ball, a rare word, is in its class"
    );
    assert_eq!(lm2.word_id("Ball"), lm2.word_id("<unk>"));
    let (text, values) = translated(&model, "The dog sleeps in the park.", &["lm2"]);
    assert_eq!(text, "Der Hund schläft im Park.");
    assert!(values[0] < 0.0, "the class model scores the translation: {}", values[0]);
    // A word passed through gets a class too: the class model scores it as a known class, not as <unk>.
    let (unknown, _) = translated(&model, "The zebra sleeps.", &[]);
    assert!(unknown.contains("zebra"), "{unknown}");

    // It takes the second model's place: not both.
    config.lm2 = Some(LmSource::Estimate {
        order: 3,
        extra_text: vec![dir.path().join("train.de")],
    });
    assert!(matches!(
        train_toy(dir.path(), &config, "m2"),
        Err(Error::InvalidOption(_))
    ));
    config.lm2 = None;
    for clusters in [1, 1001] {
        config.class_lm.as_mut().unwrap().clusters = clusters;
        let err = train_toy(dir.path(), &config, "m3").unwrap_err();
        assert!(err.to_string().contains("clusters"), "{err}");
    }
    // With clusters, the words that are not kept become cluster tokens, stored beside the kept words.
    config.class_lm.as_mut().unwrap().clusters = 4;
    let clustered = train_toy(dir.path(), &config, "m4").unwrap();
    let model = PhraseModel::open(&clustered).unwrap();
    model.verify().unwrap();
    let spec = model.manifest().lm2_classes.clone().unwrap();
    assert_eq!(spec.clusters.as_deref(), Some("lm2.clusters"));
    assert!(
        std::fs::read_to_string(clustered.join("lm2.clusters"))
            .unwrap()
            .contains("Ball\t")
    );
    let lm2 = model.lms()[1];
    assert!((0..4).any(|c| lm2.word_id(&format!("C{c}")) != lm2.word_id("<unk>")));
    assert_eq!(
        lm2.word_id("N~ll"),
        lm2.word_id("<unk>"),
        "no ending classes for words the clusters know"
    );
    let out_text = model
        .translate("The dog sleeps in the park.", &TranslateOptions::default())
        .unwrap();
    assert_eq!(out_text[0].text, "Der Hund schläft im Park.");
    // A manifest naming classes without the second model is refused.
    let manifest_path = out.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    manifest.as_object_mut().unwrap().remove("lm2");
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    assert!(matches!(PhraseModel::open(&out), Err(Error::Corrupt { .. })));
}

#[test]
fn a_bilingual_language_model_scores_target_words_with_their_source_words() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config();
    config.bilm = Some(BilmConfig {
        order: 3,
        target_classes: false,
    });
    let out = train_toy(dir.path(), &config, "model").unwrap();
    let model = PhraseModel::open(&out).unwrap();
    model.verify().unwrap();
    assert!(model.table().has_alignments());
    assert_eq!(model.lms().len(), 2, "the target model and the bilingual one");
    assert_eq!(model.manifest().bilm.as_ref().unwrap().lm, "bilm");
    let bilm = model.lms()[1];
    let unk = bilm.word_id("<unk>");
    assert_ne!(
        bilm.word_id("Hund|dog"),
        unk,
        "a target word joined with its aligned source word"
    );
    assert_eq!(bilm.word_id("Hund|cat"), unk);
    assert_eq!(bilm.word_id("Hund"), unk);
    let (text, values) = translated(&model, "The dog sleeps in the park.", &["bilm", "lm2"]);
    assert_eq!(text, "Der Hund schläft im Park.");
    assert!(values[0] < 0.0, "the bilingual model scores the translation");
    assert_eq!(values[1], 0.0);
    // Unknown words are passed through and scored as unknown tokens, not dropped.
    let (unknown, _) = translated(&model, "The zebra sleeps.", &[]);
    assert!(unknown.contains("zebra"), "{unknown}");

    // Target classes need the class-based model; the order is checked.
    for bad in [(3, true), (7, false), (0, false)] {
        config.bilm = Some(BilmConfig {
            order: bad.0,
            target_classes: bad.1,
        });
        assert!(matches!(
            train_toy(dir.path(), &config, "m2"),
            Err(Error::InvalidOption(_))
        ));
    }
    // A phrase table without alignments (format 1) cannot feed a bilingual model.
    let bin = out.join("phrases.bin");
    let mut bytes = std::fs::read(&bin).unwrap();
    bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
    std::fs::write(&bin, bytes).unwrap();
    let err = PhraseModel::open(&out).unwrap_err();
    assert!(err.to_string().contains("format 2"), "{err}");
}

#[test]
fn weights_without_the_bilingual_feature_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let out = trained(dir.path());
    let manifest_path = out.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    let weights = manifest["weights"].as_object_mut().unwrap();
    assert!(weights.remove("bilm").is_some());
    let lm = weights.remove("lm").unwrap();
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    // `bilm` came after models existed and may be missing; `lm` may not.
    assert!(matches!(PhraseModel::open(&out), Err(Error::Corrupt { .. })));
    manifest["weights"]["lm"] = lm;
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let model = PhraseModel::open(&out).unwrap();
    assert_eq!(
        model.weights()[FEATURES.iter().position(|&f| f == "bilm").unwrap()],
        0.0
    );
}

#[test]
fn backoff_corpus_only_covers_unknown_words() {
    let dir = tempfile::tempdir().unwrap();
    let plain = trained(dir.path());
    let (src, tgt) = (dir.path().join("train.en"), dir.path().join("train.de"));
    // The backoff corpus knows the zebra, and also offers other translations of words the main corpus has.
    let tsv = dir.path().join("backoff.tsv");
    write(
        &tsv,
        &[
            "The zebra sleeps.\tDas Zebra schläft.",
            "A zebra runs.\tEin Zebra läuft.",
            "The zebra sees a dog.\tDas Zebra sieht einen Hund.",
            "A man reads.\tEin Herr liest.",
            "A man reads a book.\tEin Herr liest ein Buch.",
        ],
    );
    let out = dir.path().join("with-backoff");
    let reader = ParallelReader::open(&src, &tgt, Decoding::Strict).unwrap();
    let backoff = ParallelReader::open_tsv(&tsv, Decoding::Strict).unwrap();
    let report =
        fivegram_translate::train::train_with_backoff(vec![reader], vec![backoff], &config(), &out, &mut |_| {})
            .unwrap();
    assert_eq!(report.backoff.0, 5);
    assert_eq!(
        report.backoff.1, 3,
        "only the pairs with an unknown source word are aligned"
    );
    assert!(report.backoff.2 > 0);

    let plain = PhraseModel::open(&plain).unwrap();
    let with = PhraseModel::open(&out).unwrap();
    with.verify().unwrap();
    let options = TranslateOptions::default();
    let zebra = with.translate("The zebra sleeps.", &options).unwrap();
    assert!(zebra[0].text.contains("Zebra"), "{}", zebra[0].text);
    let unknown = plain.translate("The zebra sleeps.", &options).unwrap();
    assert!(unknown[0].text.contains("zebra"), "passed through: {}", unknown[0].text);
    // Sentences of known words translate exactly as without the backoff corpus ("Herr" never enters).
    for sentence in [
        "A man reads a book.",
        "The dog sees a man.",
        "Two dogs run in the park.",
    ] {
        let a = plain.translate(sentence, &options).unwrap();
        let b = with.translate(sentence, &options).unwrap();
        assert_eq!(a[0].text, b[0].text);
        assert!((a[0].score - b[0].score).abs() < 1e-6);
        assert!(!b[0].text.contains("Herr"));
    }
}
