//! The Rust side against the tiny committed fixtures (neural/tests/fixtures/, written by
//! neural/train/make_fixtures.py with their PyTorch reference outputs in expected.json).
//!
//! Tests that run a graph need the ONNX Runtime library (`ORT_DYLIB_PATH` or the default location); without it
//! they print "skipped: run scripts/install-onnxruntime.sh" and return. Checks of the model directory itself run
//! everywhere.

use std::path::{Path, PathBuf};

use fivegram_lm::model::{ArpaModel, LanguageModel};
use fivegram_neural::{
    Error, Kind, LmOptions, LmRescored, ModelDir, NeuralLm, Precision, RERANK_FEATURES, RerankWeights, Reranked,
    Seq2Seq, Seq2SeqOptions, runtime,
};
use fivegram_translate::{TranslateOptions, Translator};
use serde_json::Value;

/// A fixture directory: neural/tests/fixtures/NAME, or FIVEGRAM_NEURAL_FIXTURES/NAME (to test freshly generated
/// fixtures before they are committed).
fn fixture(name: &str) -> PathBuf {
    match std::env::var_os("FIVEGRAM_NEURAL_FIXTURES") {
        Some(root) if !root.is_empty() => PathBuf::from(root).join(name),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name),
    }
}

fn expected(name: &str) -> Value {
    let path = fixture(name).join("expected.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Whether the runtime library is there; prints why not.
fn runtime_available() -> bool {
    match runtime::init(None) {
        Ok(_) => true,
        Err(Error::RuntimeNotFound { path }) => {
            eprintln!(
                "skipped: run scripts/install-onnxruntime.sh (no ONNX Runtime at {})",
                path.display()
            );
            false
        }
        Err(e) => panic!("the ONNX Runtime library is there but does not load: {e}"),
    }
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

/// The source id lists of the seq2seq fixture.
fn fixture_source_ids() -> Vec<Vec<u32>> {
    expected("seq2seq")["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| ids(&s["src_ids"]))
        .collect()
}

/// The source sentences of the seq2seq fixture.
fn fixture_sources() -> Vec<String> {
    expected("seq2seq")["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["text"].as_str().unwrap().to_string())
        .collect()
}

fn seq2seq(precision: Precision, sessions: usize) -> Seq2Seq {
    let options = Seq2SeqOptions {
        precision,
        sessions,
        ..Seq2SeqOptions::default()
    };
    Seq2Seq::open(fixture("seq2seq"), options).unwrap()
}

#[test]
fn seq2seq_greedy_equals_the_reference() {
    if !runtime_available() {
        return;
    }
    let exp = expected("seq2seq");
    let tolerance = exp["tolerance"].as_f64().unwrap_or(1e-4);
    let max_steps = exp["max_steps"].as_u64().unwrap() as usize;
    let sources = exp["sources"].as_array().unwrap();
    for (precision, key) in [(Precision::Fp32, "greedy_ids"), (Precision::Int8, "int8_greedy_ids")] {
        let model = seq2seq(precision, 1);
        let mut srcs = Vec::new();
        for s in sources {
            let src = model.source_ids(s["text"].as_str().unwrap()).unwrap();
            assert_eq!(src, ids(&s["src_ids"]), "source ids of {}", s["text"]);
            srcs.push(src);
        }
        // One padded batch of all sources, and each source alone.
        let batched = model.generate_with_limit(&srcs, 1, 1, Some(max_steps)).unwrap();
        for (s, (src, hyps)) in sources.iter().zip(srcs.iter().zip(&batched)) {
            assert_eq!(hyps.len(), 1);
            assert_eq!(hyps[0].ids, ids(&s[key]), "{precision} greedy ids of {}", s["text"]);
            if precision == Precision::Fp32 {
                assert_eq!(hyps[0].ended, s["finished"].as_bool().unwrap());
            }
            let alone = model
                .generate_with_limit(std::slice::from_ref(src), 1, 1, Some(max_steps))
                .unwrap();
            assert_eq!(alone[0][0].ids, hyps[0].ids);
        }
        if precision == Precision::Fp32 {
            for s in sources {
                let src = ids(&s["src_ids"]);
                let lp = model.next_log_probs(&src, &[]).unwrap();
                let want = floats(&s["first_step_log_probs"]);
                assert_eq!(lp.len(), want.len());
                for (got, want) in lp.iter().zip(&want) {
                    assert!(
                        (f64::from(*got) - want).abs() <= tolerance,
                        "first step: {got} vs {want}"
                    );
                }
                let hyp = ids(&s["greedy_ids"]);
                assert_eq!(model.target_text(&hyp).unwrap(), s["greedy_text"].as_str().unwrap());
            }
        }
    }
}

#[test]
fn beam_hypotheses_score_what_forced_decoding_scores() {
    if !runtime_available() {
        return;
    }
    let model = seq2seq(Precision::Fp32, 2);
    let eos = model.config().eos_id;
    let srcs = fixture_source_ids();
    let nbest = model.generate(&srcs, 4, 4).unwrap();
    for (src, hyps) in srcs.iter().zip(&nbest) {
        assert!(!hyps.is_empty() && hyps.len() <= 4);
        for pair in hyps.windows(2) {
            assert!(pair[0].score >= pair[1].score, "n-best out of order");
        }
        for h in hyps {
            // Re-score the hypothesis token by token from scratch: this checks the cache reordering by parent.
            let mut total = 0f64;
            let mut targets = h.ids.clone();
            if h.ended {
                targets.push(eos);
            }
            for t in 0..targets.len() {
                let lp = model.next_log_probs(src, &targets[..t]).unwrap();
                total += f64::from(lp[targets[t] as usize]);
            }
            assert!(
                (total - h.log_prob).abs() < 1e-3,
                "beam log-prob {} vs forced {total}",
                h.log_prob
            );
            let length = targets.len() as f64;
            assert!((h.score - h.log_prob / length).abs() < 1e-9);
        }
        // Each source alone gives the same list as in the batch.
        let alone = model.generate(std::slice::from_ref(src), 4, 4).unwrap();
        let a: Vec<&Vec<u32>> = alone[0].iter().map(|h| &h.ids).collect();
        let b: Vec<&Vec<u32>> = hyps.iter().map(|h| &h.ids).collect();
        assert_eq!(a, b);
    }
}

#[test]
fn forced_scores_are_the_beam_scores_in_any_batch() {
    if !runtime_available() {
        return;
    }
    let model = seq2seq(Precision::Fp32, 2);
    let srcs = fixture_source_ids();
    let nbest = model.generate(&srcs, 4, 4).unwrap();
    let mut pairs = Vec::new();
    let mut want = Vec::new();
    for (src, hyps) in srcs.iter().zip(&nbest) {
        for h in hyps.iter().filter(|h| h.ended) {
            pairs.push((src.clone(), h.ids.clone()));
            want.push(h.log_prob);
        }
    }
    // An empty target scores log p(</s> | source) alone.
    let eos_alone = f64::from(model.next_log_probs(&srcs[0], &[]).unwrap()[model.config().eos_id as usize]);
    pairs.push((srcs[0].clone(), Vec::new()));
    want.push(eos_alone);
    assert!(pairs.len() > 4, "the fixture should give several finished hypotheses");
    let got = model.score(&pairs).unwrap();
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-3, "forced {g} vs beam {w}");
    }
    // Batches of one, and the pairs in reverse order, score the same.
    let mut reversed = pairs.clone();
    reversed.reverse();
    let back = model.score(&reversed).unwrap();
    for (i, pair) in pairs.iter().enumerate() {
        let alone = model.score(std::slice::from_ref(pair)).unwrap()[0];
        assert!((alone - got[i]).abs() < 1e-4, "alone {alone} vs batched {}", got[i]);
        assert!((back[pairs.len() - 1 - i] - got[i]).abs() < 1e-4);
    }
    assert!(matches!(
        model.score(&[(Vec::new(), vec![5])]),
        Err(Error::InvalidOption(_))
    ));
    assert!(model.score(&[]).unwrap().is_empty());
}

/// The seq2seq fixture relabelled as a model of the reverse direction (its weights are random either way).
fn reverse_fixture(dir: &Path, src: &str, tgt: &str) -> Seq2Seq {
    copy_dir(&fixture("seq2seq"), dir);
    let json = std::fs::read_to_string(dir.join("model.json")).unwrap();
    let json = json
        .replace("\"src_lang\": \"en\"", "\"src_lang\": \"SRC\"")
        .replace("\"tgt_lang\": \"de\"", "\"tgt_lang\": \"TGT\"")
        .replace("SRC", src)
        .replace("TGT", tgt);
    std::fs::write(dir.join("model.json"), json).unwrap();
    let options = Seq2SeqOptions {
        precision: Precision::Fp32,
        ..Seq2SeqOptions::default()
    };
    Seq2Seq::open(dir, options).unwrap()
}

#[test]
fn reranking_orders_the_beam_by_the_weighted_features() {
    if !runtime_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut sources = fixture_sources();
    sources.push(String::new());
    let all = TranslateOptions {
        nbest: 6,
        beam: Some(6),
        features: true,
    };
    // Without weights the forward order stays, with the reverse model's scores beside it.
    let plain = seq2seq(Precision::Fp32, 1).translate_batch(&sources, &all).unwrap();
    let reverse = reverse_fixture(&tmp.path().join("de-en"), "de", "en");
    let unweighted = Reranked::new(seq2seq(Precision::Fp32, 1), reverse, 6, None).unwrap();
    let features = unweighted.translate_batch(&sources, &all).unwrap();
    let reverse = reverse_fixture(&tmp.path().join("de-en-2"), "de", "en");
    for (s, (a, b)) in plain.iter().zip(&features).enumerate() {
        let texts = |l: &[fivegram_translate::Translation]| l.iter().map(|t| t.text.clone()).collect::<Vec<_>>();
        assert_eq!(texts(a), texts(b));
        for t in b {
            let f = t.features.as_ref().unwrap();
            let names: Vec<&str> = f.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, RERANK_FEATURES[..3]);
            if sources[s].is_empty() {
                assert_eq!(t.text, "");
                continue;
            }
            let pair = (
                reverse.source_ids(&t.text).unwrap(),
                reverse.target_ids(&sources[s]).unwrap(),
            );
            let want = reverse.score(&[pair]).unwrap()[0];
            assert!((f[2].1 - want).abs() < 1e-4, "reverse feature {} vs {want}", f[2].1);
        }
    }
    // With weights: best first by the weighted sum, the n-best cut after sorting.
    let weights = RerankWeights {
        log_prob: 0.3,
        length: -0.7,
        reverse_log_prob: 1.0,
        lm: 5.0,
    };
    let reranked = Reranked::new(seq2seq(Precision::Fp32, 1), reverse, 6, Some(weights)).unwrap();
    let out = reranked.translate_batch(&sources, &all).unwrap();
    let mut reordered = 0;
    for (list, before) in out.iter().zip(&features) {
        for t in list {
            let f = t.features.as_ref().unwrap();
            let want = 0.3 * f[0].1 - 0.7 * f[1].1 + f[2].1;
            assert!((t.score - want).abs() < 1e-9 || list.len() == 1 && t.text.is_empty());
        }
        for pair in list.windows(2) {
            assert!(pair[0].score >= pair[1].score, "reranked list out of order");
        }
        reordered += usize::from(list[0].text != before[0].text);
    }
    assert!(reordered > 0, "these weights should change some first translation");
    let top = reranked
        .translate_batch(
            &sources,
            &TranslateOptions {
                nbest: 1,
                beam: Some(6),
                features: false,
            },
        )
        .unwrap();
    for (one, list) in top.iter().zip(&out) {
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].text, list[0].text);
        assert!(one[0].features.is_none());
    }
}

#[test]
fn the_language_model_feature_scores_the_target_words() {
    if !runtime_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let sources = fixture_sources();
    let arpa = "\\data\\\nngram 1=4\n\n\\1-grams:\n-2.0\t<unk>\n-99\t<s>\n-0.5\t</s>\n-0.3\tEin\n\n\\end\\\n";
    let lm = || Box::new(ArpaModel::from_arpa_text("tiny.arpa", arpa).unwrap()) as Box<dyn LanguageModel>;
    let reverse = reverse_fixture(&tmp.path().join("de-en"), "de", "en");
    let reranked = Reranked::new(seq2seq(Precision::Fp32, 1), reverse, 4, None)
        .unwrap()
        .with_lm(lm())
        .unwrap();
    assert_eq!(reranked.feature_names(), RERANK_FEATURES);
    let all = TranslateOptions {
        nbest: 4,
        beam: Some(4),
        features: true,
    };
    let model = lm();
    let tokenizer = fivegram_corpora::tokenize::Tokenizer::new(fivegram_corpora::tokenize::Lang::De);
    for list in reranked.translate_batch(&sources, &all).unwrap() {
        for t in list {
            let f = t.features.unwrap();
            assert_eq!(f[3].0, "lm");
            let mut words = Vec::new();
            tokenizer.for_each_token(&t.text, |w| words.push(model.word_id(w)));
            let want = f64::from(model.score_sentence(&words, true, true)) * std::f64::consts::LN_10;
            assert!(
                (f[3].1 - want).abs() < 1e-4,
                "lm feature {} vs {want} for {:?}",
                f[3].1,
                t.text
            );
            assert!(f[3].1 < 0.0);
        }
    }
}

#[test]
fn lines_longer_than_the_model_are_translated_sentence_by_sentence() {
    if !runtime_available() {
        return;
    }
    let model = seq2seq(Precision::Fp32, 1);
    let limit = model.config().max_len - 1;
    let greedy = TranslateOptions {
        nbest: 3,
        beam: Some(1),
        features: true,
    };
    // Sentences of the fixture, each ending in a full stop, repeated until the line is too long for the model.
    let sentences: Vec<String> = fixture_sources()
        .into_iter()
        .map(|s| format!("{}.", s.trim_end_matches('.')))
        .collect();
    let (mut line, mut pieces) = (Vec::new(), 0);
    while pieces <= limit {
        let sentence = sentences[line.len() % sentences.len()].clone();
        pieces += model.target_ids(&sentence).unwrap().len();
        line.push(sentence);
    }
    let out = model.translate_batch(&[line.join(" ")], &greedy).unwrap();
    assert_eq!(out[0].len(), 1, "a split line has one translation");
    let alone = model.translate_batch(&line, &greedy).unwrap();
    let want: Vec<&str> = alone
        .iter()
        .map(|l| l[0].text.as_str())
        .filter(|t| !t.is_empty())
        .collect();
    assert_eq!(out[0][0].text, want.join(" "));
    let log_prob: f64 = alone.iter().map(|l| l[0].features.as_ref().unwrap()[0].1).sum();
    assert!((out[0][0].features.as_ref().unwrap()[0].1 - log_prob).abs() < 1e-6);
    // One sentence too long for the model is cut between words: every word of it is translated somewhere.
    let words = vec!["dog"; 3 * limit].join(" ");
    let out = model.translate_batch(&[words], &greedy).unwrap();
    assert_eq!(out[0].len(), 1);
    // A line that fits keeps its n-best list.
    let short = model.translate_batch(&sentences[..1], &greedy).unwrap();
    assert!(!short[0].is_empty());
}

#[test]
fn a_reverse_model_must_translate_the_other_way() {
    if !runtime_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let same = reverse_fixture(&tmp.path().join("en-de"), "en", "de");
    let err = Reranked::new(seq2seq(Precision::Fp32, 1), same, 8, None).unwrap_err();
    assert!(
        matches!(err, Error::InvalidOption(_)) && err.to_string().contains("reverse"),
        "{err}"
    );
    let reverse = reverse_fixture(&tmp.path().join("de-en"), "de", "en");
    assert!(Reranked::new(seq2seq(Precision::Fp32, 1), reverse, 0, None).is_err());
}

#[test]
fn translator_interface() {
    if !runtime_available() {
        return;
    }
    let exp = expected("seq2seq");
    let model = seq2seq(Precision::Fp32, 1);
    let translator: &dyn Translator = &model;
    assert_eq!(translator.backend(), "neural");
    let mut sources: Vec<String> = exp["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["text"].as_str().unwrap().to_string())
        .collect();
    sources.push(String::new());
    let options = TranslateOptions {
        nbest: 3,
        beam: Some(4),
        features: true,
    };
    let out = translator.translate_batch(&sources, &options).unwrap();
    assert_eq!(out.len(), sources.len());
    assert_eq!(out[3].len(), 1);
    assert_eq!(out[3][0].text, "");
    for nbest in &out[..3] {
        assert!(!nbest.is_empty() && nbest.len() <= 3);
        let features = nbest[0].features.as_ref().unwrap();
        assert_eq!(features[0].0, "log_prob");
    }
    let greedy = TranslateOptions {
        nbest: 1,
        beam: Some(1),
        features: false,
    };
    for s in exp["sources"].as_array().unwrap() {
        if s["finished"].as_bool() == Some(true) && !s["greedy_text"].as_str().unwrap().contains("<unk>") {
            let t = translator.translate(s["text"].as_str().unwrap(), &greedy).unwrap();
            assert_eq!(t[0].text, s["greedy_text"].as_str().unwrap());
        }
    }
    let counters: std::collections::HashMap<String, f64> = translator.counters().into_iter().collect();
    assert!(counters["sentences"] >= 3.0);
    assert!(
        translator
            .translate_batch(&sources, &TranslateOptions { nbest: 0, ..greedy })
            .is_err()
    );
}

#[test]
fn lm_sentence_scores_equal_the_reference() {
    if !runtime_available() {
        return;
    }
    let exp = expected("lm");
    let tolerance = exp["tolerance"].as_f64().unwrap_or(1e-4);
    for precision in [Precision::Fp32, Precision::Int8] {
        let lm = NeuralLm::open(
            fixture("lm"),
            LmOptions {
                precision,
                ..LmOptions::default()
            },
        )
        .unwrap();
        let sentences = exp["sentences"].as_array().unwrap();
        let texts: Vec<&str> = sentences.iter().map(|s| s["text"].as_str().unwrap()).collect();
        let scores = lm.score_sentences(&texts).unwrap();
        let ppl = lm.perplexity(&texts).unwrap();
        assert_eq!(ppl.sentences, 2);
        if precision == Precision::Int8 {
            // Quantized weights: close to, not equal to, the reference.
            for (s, got) in sentences.iter().zip(&scores) {
                let want = s["sum_log_prob"].as_f64().unwrap();
                assert!(
                    (got.log_prob - want).abs() < 0.05 * want.abs() + 0.5,
                    "{} vs {want}",
                    got.log_prob
                );
            }
            continue;
        }
        let mut total = 0.0;
        for (s, got) in sentences.iter().zip(&scores) {
            let want = floats(&s["token_log_probs"]);
            assert_eq!(got.token_log_probs.len(), want.len());
            for (g, w) in got.token_log_probs.iter().zip(&want) {
                assert!((f64::from(*g) - w).abs() <= tolerance, "{g} vs {w}");
            }
            assert!((got.log_prob - s["sum_log_prob"].as_f64().unwrap()).abs() <= tolerance * want.len() as f64);
            let words = s["word_log_probs"].as_array().unwrap();
            assert_eq!(got.words.len(), words.len());
            for (g, w) in got.words.iter().zip(words) {
                assert_eq!(g.word, w["word"].as_str().unwrap());
                assert!((g.log_prob - w["log_prob"].as_f64().unwrap()).abs() <= 4.0 * tolerance);
            }
            total += got.log_prob;
        }
        assert_eq!(ppl.words, scores.iter().map(|s| s.words.len()).sum::<usize>());
        assert!((ppl.log_prob - total).abs() < 1e-9);
        assert!(ppl.per_word() > 1.0);
    }
}

#[test]
fn lm_long_sentences_are_scored_in_windows() {
    if !runtime_available() {
        return;
    }
    let lm = NeuralLm::open(fixture("lm"), LmOptions::default()).unwrap();
    let max_len = lm.config().max_len;
    // A sentence of more than max_len pieces: its first window must score like the sentence cut there.
    let long: Vec<u32> = std::iter::once(lm.config().bos_id)
        .chain((0..2 * max_len + 5).map(|i| 4 + (i % 50) as u32))
        .collect();
    let cut: Vec<u32> = long[..max_len].to_vec();
    let out = lm.token_log_probs(&[long.clone(), cut]).unwrap();
    assert_eq!(out[0].len(), long.len() - 1);
    for (a, b) in out[0][..max_len - 1].iter().zip(&out[1]) {
        assert!((a - b).abs() < 1e-5);
    }
    assert!(out[0].iter().all(|x| x.is_finite() && *x <= 0.0));
}

#[test]
fn lm_language_model_view() {
    if !runtime_available() {
        return;
    }
    let exp = expected("lm");
    let lm = NeuralLm::open(fixture("lm"), LmOptions::default()).unwrap();
    let model: &dyn LanguageModel = &lm;
    assert_eq!(model.order(), 5);
    for s in exp["sentences"].as_array().unwrap() {
        let text = s["text"].as_str().unwrap();
        let words: Vec<&str> = text.split_whitespace().collect();
        if words.len() > 4 {
            continue;
        }
        // At most 4 words: the 5-gram-context view sees the whole sentence, so it agrees with the reference.
        let ids: Vec<u32> = words.iter().map(|w| model.word_id(w)).collect();
        assert!(ids.iter().all(|&id| id != model.unk_id()));
        let got = model.score_sentence(&ids, true, true);
        let want = s["sum_log_prob"].as_f64().unwrap() / std::f64::consts::LN_10;
        assert!((f64::from(got) - want).abs() < 1e-4, "{got} vs {want}");
    }
    // The same word has the same id from any thread; states keep at most 4 words.
    let id = model.word_id("snow.");
    let ids: Vec<u32> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| model.word_id("snow."))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(ids.iter().all(|&i| i == id));
    let mut state = model.begin_sentence_state();
    for w in ["The", "man", "is", "playing", "in"] {
        state = model.score(&state, model.word_id(w)).state;
    }
    assert_eq!(state.len(), 4);
    let batch: Vec<_> = ["The", "man", "The"]
        .iter()
        .map(|w| (model.begin_sentence_state(), model.word_id(w)))
        .collect();
    let mut out = Vec::new();
    model.score_batch(&batch, &mut out);
    assert_eq!(out.len(), 3);
    assert_eq!(out[0], out[2]);
    assert!(out[0].log10 < 0.0 && out[0].log10.is_finite());
    assert!(lm.take_error().is_none());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn damaged_model_directories_are_errors_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    copy_dir(&fixture("seq2seq"), &dir);
    assert!(ModelDir::open(&dir, Kind::Seq2Seq).unwrap().verify().is_ok());
    // A flipped byte in a graph.
    let graph = dir.join("decoder.onnx");
    let mut bytes = std::fs::read(&graph).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&graph, &bytes).unwrap();
    let err = ModelDir::open(&dir, Kind::Seq2Seq).unwrap().verify().unwrap_err();
    assert!(matches!(err, Error::Checksum { what: "sha256", .. }), "{err}");
    assert!(err.to_string().contains("decoder.onnx"), "{err}");
    if runtime_available() {
        let err = Seq2Seq::open(&dir, Seq2SeqOptions::default()).unwrap_err();
        assert!(err.to_string().contains("decoder.onnx"), "{err}");
        // The int8 graphs are intact: that precision still opens.
        let int8 = Seq2SeqOptions {
            precision: Precision::Int8,
            ..Seq2SeqOptions::default()
        };
        assert!(Seq2Seq::open(&dir, int8).is_ok());
    }
    // A missing graph.
    std::fs::remove_file(dir.join("encoder.int8.onnx")).unwrap();
    let err = ModelDir::open(&dir, Kind::Seq2Seq)
        .unwrap()
        .read("encoder.int8.onnx")
        .unwrap_err();
    assert!(
        matches!(err, Error::MissingFile { .. }) && err.to_string().contains("encoder.int8.onnx"),
        "{err}"
    );
    // A missing or damaged tokenizer fails before any graph is touched.
    std::fs::write(dir.join("tokenizer.json"), b"{}").unwrap();
    let err = Seq2Seq::open(&dir, Seq2SeqOptions::default()).unwrap_err();
    assert!(err.to_string().contains("tokenizer.json"), "{err}");
    // Invalid model.json.
    let json = std::fs::read_to_string(fixture("seq2seq").join("model.json")).unwrap();
    std::fs::write(
        dir.join("model.json"),
        json.replacen("\"kind\"", "\"kind\": 5, \"x\"", 1),
    )
    .unwrap();
    let err = ModelDir::open(&dir, Kind::Seq2Seq).unwrap_err();
    assert!(
        matches!(err, Error::ModelJson { .. }) && err.to_string().contains("model.json"),
        "{err}"
    );
    std::fs::write(dir.join("model.json"), &json.as_bytes()[..json.len() / 2]).unwrap();
    let err = Seq2Seq::open(&dir, Seq2SeqOptions::default()).unwrap_err();
    assert!(matches!(err, Error::ModelJson { line: Some(_), .. }), "{err}");
    std::fs::remove_file(dir.join("model.json")).unwrap();
    let err = Seq2Seq::open(&dir, Seq2SeqOptions::default()).unwrap_err();
    assert!(
        matches!(err, Error::Io { .. }) && err.to_string().contains("model.json"),
        "{err}"
    );
    // The wrong kind of model.
    let err = Seq2Seq::open(fixture("lm"), Seq2SeqOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Kind { .. }), "{err}");
    let err = NeuralLm::open(fixture("seq2seq"), LmOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Kind { .. }), "{err}");
}

#[test]
fn tokenizer_must_agree_with_model_json() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    copy_dir(&fixture("lm"), &dir);
    let json = std::fs::read_to_string(dir.join("model.json")).unwrap();
    let mut value: Value = serde_json::from_str(&json).unwrap();
    value["bos_id"] = Value::from(5);
    std::fs::write(dir.join("model.json"), value.to_string()).unwrap();
    let err = NeuralLm::open(&dir, LmOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Tokenizer { .. }), "{err}");
    assert!(err.to_string().contains("<s>"), "{err}");
}

/// Rewrites `dir/model.json` through `edit`, after recording the current size and sha256 of `changed` (a file
/// of the directory that was modified).
fn edit_model_json(dir: &Path, changed: Option<&str>, edit: impl FnOnce(&mut Value)) {
    use sha2::{Digest, Sha256};
    let mut value: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("model.json")).unwrap()).unwrap();
    if let Some(name) = changed {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        value["files"][name]["sha256"] = Value::from(hex::encode(Sha256::digest(&bytes)));
        value["files"][name]["bytes"] = Value::from(bytes.len() as u64);
    }
    edit(&mut value);
    std::fs::write(dir.join("model.json"), value.to_string()).unwrap();
}

/// A second model for ensembles: the seq2seq fixture with the floats of one 6,400-byte weight of its fp32
/// decoder (the first tensor whose raw data is that long: the embedding or the output projection) scaled by
/// 1.5, found by its protobuf field header (field 9, `raw_data`, length 6400 as a varint).
fn other_fixture(dir: &Path) {
    copy_dir(&fixture("seq2seq"), dir);
    let path = dir.join("decoder.onnx");
    let mut bytes = std::fs::read(&path).unwrap();
    let header = [0x4a, 0x80, 0x32];
    let at = bytes
        .windows(3)
        .position(|w| w == header)
        .expect("a 6400-byte raw_data field in the fixture's decoder")
        + header.len();
    for float in bytes[at..at + 6400].chunks_exact_mut(4) {
        let x = f32::from_le_bytes([float[0], float[1], float[2], float[3]]) * 1.5;
        float.copy_from_slice(&x.to_le_bytes());
    }
    std::fs::write(&path, &bytes).unwrap();
    edit_model_json(dir, Some("decoder.onnx"), |_| {});
}

/// The seq2seq fixture with `decoding.ensemble` naming `members` (and `decoding.ensemble_weights`, if given).
fn ensemble_fixture(dir: &Path, members: &[&Path], weights: Option<&[f64]>) {
    copy_dir(&fixture("seq2seq"), dir);
    edit_model_json(dir, None, |value| {
        let list: Vec<Value> = members.iter().map(|m| Value::from(m.to_str().unwrap())).collect();
        value["decoding"] = serde_json::json!({ "ensemble": list });
        if let Some(weights) = weights {
            value["decoding"]["ensemble_weights"] = Value::from(weights.to_vec());
        }
    });
}

fn fp32(ensemble: bool) -> Seq2SeqOptions {
    Seq2SeqOptions {
        precision: Precision::Fp32,
        ensemble,
        ..Seq2SeqOptions::default()
    }
}

#[test]
fn an_ensemble_searches_on_the_mean_of_its_models_log_probabilities() {
    if !runtime_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (other, both) = (tmp.path().join("other"), tmp.path().join("both"));
    other_fixture(&other);
    ensemble_fixture(&both, &[&other], None);
    let a = Seq2Seq::open(fixture("seq2seq"), fp32(true)).unwrap();
    let b = Seq2Seq::open(&other, fp32(true)).unwrap();
    let ensemble = Seq2Seq::open(&both, fp32(true)).unwrap();
    assert_eq!((a.ensemble_size(), ensemble.ensemble_size()), (1, 2));
    ensemble.verify().unwrap();
    let srcs = fixture_source_ids();
    // Each step: the mean of the two models' log-probabilities (which differ).
    let prefix = [5u32, 9, 12];
    let (la, lb) = (
        a.next_log_probs(&srcs[0], &prefix).unwrap(),
        b.next_log_probs(&srcs[0], &prefix).unwrap(),
    );
    let le = ensemble.next_log_probs(&srcs[0], &prefix).unwrap();
    assert!(
        la.iter().zip(&lb).any(|(x, y)| (x - y).abs() > 1e-3),
        "the two models must differ"
    );
    for ((x, y), e) in la.iter().zip(&lb).zip(&le) {
        assert!((0.5 * (x + y) - e).abs() < 1e-5, "{x} {y} -> {e}");
    }
    // The beam's log-probabilities are what forced decoding (each model on its own, then the mean) gives:
    // every model's cache rows follow the beam's parents.
    let nbest = ensemble.generate(&srcs, 4, 4).unwrap();
    let mut pairs = Vec::new();
    for (src, hyps) in srcs.iter().zip(&nbest) {
        for h in hyps.iter().filter(|h| h.ended) {
            pairs.push((src.clone(), h.ids.clone(), h.log_prob));
        }
    }
    assert!(!pairs.is_empty());
    let forced: Vec<(Vec<u32>, Vec<u32>)> = pairs.iter().map(|(s, t, _)| (s.clone(), t.clone())).collect();
    let (sa, sb, se) = (
        a.score(&forced).unwrap(),
        b.score(&forced).unwrap(),
        ensemble.score(&forced).unwrap(),
    );
    for (i, (_, ids, log_prob)) in pairs.iter().enumerate() {
        assert!((0.5 * (sa[i] + sb[i]) - se[i]).abs() < 1e-9);
        assert!(
            (se[i] - log_prob).abs() < 1e-3,
            "beam {log_prob} vs forced {} for {ids:?}",
            se[i]
        );
    }
    // Weighted: 3 parts of the first model to 1 of the other (weights scaled to sum to 1).
    let weighted_dir = tmp.path().join("weighted");
    ensemble_fixture(&weighted_dir, &[&other], Some(&[3.0, 1.0]));
    let weighted = Seq2Seq::open(&weighted_dir, fp32(true)).unwrap();
    assert_eq!(weighted.ensemble_weights(), [0.75, 0.25]);
    let lw = weighted.next_log_probs(&srcs[0], &prefix).unwrap();
    for ((x, y), w) in la.iter().zip(&lb).zip(&lw) {
        assert!((0.75 * x + 0.25 * y - w).abs() < 1e-5, "{x} {y} -> {w}");
    }
    let sw = weighted.score(&forced).unwrap();
    for i in 0..forced.len() {
        assert!((0.75 * sa[i] + 0.25 * sb[i] - sw[i]).abs() < 1e-4);
    }
    // Without the ensemble the model is the first one alone, hypothesis for hypothesis.
    let alone = Seq2Seq::open(&both, fp32(false)).unwrap();
    assert_eq!(alone.ensemble_size(), 1);
    let ids = |lists: Vec<Vec<fivegram_neural::Hypothesis>>| -> Vec<Vec<Vec<u32>>> {
        lists
            .into_iter()
            .map(|l| l.into_iter().map(|h| h.ids).collect())
            .collect()
    };
    assert_eq!(
        ids(alone.generate(&srcs, 4, 4).unwrap()),
        ids(a.generate(&srcs, 4, 4).unwrap())
    );
}

#[test]
fn an_ensemble_member_must_match_the_model() {
    let tmp = tempfile::tempdir().unwrap();
    let (member, both) = (tmp.path().join("member"), tmp.path().join("both"));
    copy_dir(&fixture("seq2seq"), &member);
    edit_model_json(&member, None, |value| value["tgt_lang"] = Value::from("fr"));
    ensemble_fixture(&both, &[&member], None);
    if runtime_available() {
        let err = Seq2Seq::open(&both, fp32(true)).unwrap_err();
        assert!(err.to_string().contains("cannot join the ensemble"), "{err}");
        // Turned off, the model opens alone.
        assert!(Seq2Seq::open(&both, fp32(false)).is_ok());
        // Another tokenizer.
        copy_dir(&fixture("seq2seq"), &member);
        let tokenizer = std::fs::read_to_string(member.join("tokenizer.json")).unwrap();
        std::fs::write(member.join("tokenizer.json"), tokenizer.replacen('{', "{ ", 1)).unwrap();
        edit_model_json(&member, Some("tokenizer.json"), |_| {});
        let err = Seq2Seq::open(&both, fp32(true)).unwrap_err();
        assert!(err.to_string().contains("tokenizer.json differs"), "{err}");
    }
    // A member that is not there is an error naming it.
    ensemble_fixture(&both, &[&tmp.path().join("missing")], None);
    if runtime_available() {
        let err = Seq2Seq::open(&both, fp32(true)).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }
}

/// A translator whose n-best list is fixed: the candidates in `texts`, scored 0, −1, −2, …, as many as asked
/// for (the largest request is recorded).
struct Fixed {
    texts: Vec<String>,
    asked: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Translator for Fixed {
    fn backend(&self) -> &str {
        "fixed"
    }

    fn translate_batch(
        &self,
        sources: &[String],
        options: &TranslateOptions,
    ) -> fivegram_translate::Result<Vec<fivegram_translate::NBest>> {
        self.asked
            .fetch_max(options.nbest, std::sync::atomic::Ordering::Relaxed);
        Ok(sources
            .iter()
            .map(|_| {
                self.texts
                    .iter()
                    .take(options.nbest)
                    .enumerate()
                    .map(|(i, t)| fivegram_translate::Translation {
                        text: t.clone(),
                        score: -(i as f64),
                        features: Some(vec![("inner".to_string(), 1.0)]),
                    })
                    .collect()
            })
            .collect())
    }
}

#[test]
fn lm_rescoring_ranks_the_list_by_the_weighted_features() {
    if !runtime_available() {
        return;
    }
    let texts: Vec<String> = expected("lm")["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["text"].as_str().unwrap().to_string())
        .chain(["", "a a a a a a a a"].map(String::from))
        .collect();
    let lm = || NeuralLm::open(fixture("lm"), LmOptions::default()).unwrap();
    let want: Vec<f64> = {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        lm().score_sentences(&refs)
            .unwrap()
            .iter()
            .map(|s| s.log_prob)
            .collect()
    };
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let inner = || {
        Box::new(Fixed {
            texts: texts.clone(),
            asked: asked.clone(),
        })
    };
    let sources = vec!["one".to_string(), "two".to_string()];
    let features = TranslateOptions {
        nbest: texts.len(),
        features: true,
        ..TranslateOptions::default()
    };
    // The inner scores alone keep the inner order; every candidate carries the three features.
    let w = |pairs: &[(&str, f64)]| Some(pairs.iter().map(|(n, w)| (n.to_string(), *w)).collect::<Vec<_>>());
    let rescored = LmRescored::new(inner(), lm(), 2, w(&[("decoder", 1.0)])).unwrap();
    let out = rescored.translate_batch(&sources, &features).unwrap();
    assert_eq!(out.len(), 2);
    for list in &out {
        let got: Vec<&str> = list.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(got, texts.iter().map(String::as_str).collect::<Vec<_>>());
        for (i, t) in list.iter().enumerate() {
            let f = t.features.as_ref().unwrap();
            let names: Vec<&str> = f.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, ["decoder", "words", "neural_lm", "inner"]);
            assert_eq!(f[0].1, -(i as f64));
            assert_eq!(f[1].1, t.text.split_whitespace().count() as f64);
            assert!((f[2].1 - want[i]).abs() < 1e-9, "{} vs {}", f[2].1, want[i]);
            assert_eq!(t.score, -(i as f64));
        }
    }
    // The language model alone: best log-probability first; one translation asked, the list of 3 searched.
    asked.store(0, std::sync::atomic::Ordering::Relaxed);
    let rescored = LmRescored::new(inner(), lm(), 3, w(&[("neural_lm", 1.0)])).unwrap();
    let out = rescored
        .translate_batch(&sources, &TranslateOptions::default())
        .unwrap();
    assert_eq!(asked.load(std::sync::atomic::Ordering::Relaxed), 3);
    let best = (0..3).max_by(|&a, &b| want[a].total_cmp(&want[b])).unwrap();
    assert_eq!(out[0].len(), 1);
    assert_eq!(out[0][0].text, texts[best]);
    assert_eq!(out[0][0].score, want[best]);
    assert!(out[0][0].features.is_none());
    // A word bonus large enough puts the longest candidate first, among all that the list holds; the inner
    // translator's own features can be weighted too (here 1 for every candidate: no change of order).
    let rescored = LmRescored::new(inner(), lm(), texts.len(), w(&[("words", 1000.0), ("inner", 5.0)])).unwrap();
    let out = rescored
        .translate_batch(&sources, &TranslateOptions::default())
        .unwrap();
    assert_eq!(out[1][0].text, "a a a a a a a a");
    assert_eq!(out[1][0].score, 8000.0 + 5.0);
    // A weight for a feature nobody reports is an error when translating; bad settings are refused.
    let rescored = LmRescored::new(inner(), lm(), 2, w(&[("lm3", 1.0)])).unwrap();
    let err = rescored
        .translate_batch(&sources, &TranslateOptions::default())
        .unwrap_err();
    assert!(err.to_string().contains("lm3"), "{err}");
    assert!(LmRescored::new(inner(), lm(), 0, None).is_err());
    assert!(LmRescored::new(inner(), lm(), 2, w(&[("words", f64::NAN)])).is_err());
    assert!(LmRescored::new(inner(), lm(), 2, w(&[("words", 1.0), ("words", 2.0)])).is_err());
}
