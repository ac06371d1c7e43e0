//! Properties of counting and estimation on small fixtures: normalisation of modified Kneser-Ney, invariance
//! under line order and memory budget, Stupid Backoff against a direct computation, count files round trip,
//! option checks.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use fivegram_lm::count::{self, CountConfig, Counter, FullCounts, Tokenizer, whitespace_tokens};
use fivegram_lm::estimate::{self, Discount, EstimateConfig, Model, Smoothing, Strategy};
use proptest::prelude::*;

const TEXT: &str = "the cat sat on the mat
the dog sat on the log
a cat and a dog
the cat ate the fish
a dog ate a bone

the mat is on the floor
on the floor sat the cat
the cat sat
dog
the fish swam and the cat sat on the dog";

fn count_lines(lines: &[&str], order: usize, memory: u64) -> FullCounts {
    let mut config = CountConfig::new(order);
    config.memory = memory;
    let mut counter = Counter::new(config).unwrap();
    for (i, line) in lines.iter().enumerate() {
        counter
            .add_sentence(whitespace_tokens(line), Path::new("fixture"), i as u64 + 1)
            .unwrap();
    }
    counter.finish().unwrap()
}

fn mkn() -> EstimateConfig {
    EstimateConfig {
        discount_fallback: Some(Discount::FALLBACK),
        ..EstimateConfig::default()
    }
}

/// order → words → (log10 prob, log10 backoff)
type Entries = Vec<HashMap<Vec<String>, (f32, f32)>>;

fn entries(model: &Model) -> Entries {
    (1..=model.order())
        .map(|k| {
            let mut m = HashMap::new();
            model
                .for_each_ngram(k, |w, p, b| {
                    m.insert(w.iter().map(|s| s.to_string()).collect(), (p, b.unwrap_or(0.0)));
                    Ok(())
                })
                .unwrap();
            m
        })
        .collect()
}

fn arpa_text(model: &Model) -> String {
    let mut out = Vec::new();
    model.write_arpa_to(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// log10 p(w | context) by the ARPA back-off rule.
fn score(e: &Entries, context: &[String], w: &str) -> f64 {
    let order = e.len();
    let ctx = &context[context.len().saturating_sub(order - 1)..];
    let mut backoff = 0.0f64;
    for start in 0..=ctx.len() {
        let mut gram: Vec<String> = ctx[start..].to_vec();
        gram.push(w.to_string());
        if let Some(&(p, _)) = e[gram.len() - 1].get(&gram) {
            return f64::from(p) + backoff;
        }
        let c = ctx[start..].to_vec();
        if !c.is_empty()
            && let Some(&(_, b)) = e[c.len() - 1].get(&c)
        {
            backoff += f64::from(b);
        }
    }
    let unk = e[0][&vec!["<unk>".to_string()]].0;
    f64::from(unk) + backoff
}

/// Every context's distribution over the vocabulary (without <s>, with </s> and <unk>) sums to 1.
fn assert_normalised(model: &Model) {
    let e = entries(model);
    let vocab: Vec<String> = model.vocab().iter().filter(|w| *w != "<s>").map(String::from).collect();
    let mut contexts: Vec<Vec<String>> = vec![vec![]];
    for k in 1..model.order() {
        for words in e[k - 1].keys() {
            if words.last().map(String::as_str) != Some("</s>") {
                contexts.push(words.clone());
            }
        }
    }
    for ctx in contexts {
        let sum: f64 = vocab.iter().map(|w| 10f64.powf(score(&e, &ctx, w))).sum();
        assert!((sum - 1.0).abs() < 1e-4, "context {ctx:?} sums to {sum}");
    }
}

#[test]
fn mkn_distributions_sum_to_one() {
    let lines: Vec<&str> = TEXT.lines().collect();
    for order in 1..=4 {
        let model = estimate::estimate(&count_lines(&lines, order, 1 << 20), &mkn()).unwrap();
        assert_normalised(&model);
    }
}

#[test]
fn pruned_mkn_distributions_sum_to_one() {
    let lines: Vec<&str> = TEXT.lines().collect();
    let config = EstimateConfig {
        prune: vec![0, 1],
        ..mkn()
    };
    let model = estimate::estimate(&count_lines(&lines, 3, 1 << 20), &config).unwrap();
    let full = estimate::estimate(&count_lines(&lines, 3, 1 << 20), &mkn()).unwrap();
    assert!(model.ngram_counts()[1] < full.ngram_counts()[1]);
    assert!(model.ngram_counts()[2] < full.ngram_counts()[2]);
    assert_eq!(model.ngram_counts()[0], full.ngram_counts()[0]);
    assert_normalised(&model);
}

#[test]
fn discounts_fail_without_fallback_on_tiny_data() {
    let err = estimate::estimate(&count_lines(&["a b c"], 3, 1 << 20), &EstimateConfig::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("discount"), "{err}");
    let model = estimate::estimate(&count_lines(&["a b c"], 3, 1 << 20), &mkn()).unwrap();
    assert!(!model.warnings().is_empty());
}

#[test]
fn stupid_backoff_matches_direct_counts() {
    let lines: Vec<&str> = TEXT.lines().collect();
    let order = 3;
    // Direct counts of every n-gram of "<s> w1 … wn </s>" (<s> only at the start).
    let mut c: HashMap<Vec<String>, u64> = HashMap::new();
    for line in &lines {
        let mut s = vec!["<s>".to_string()];
        s.extend(whitespace_tokens(line).map(String::from));
        s.push("</s>".to_string());
        for k in 1..=order {
            for i in 0..s.len().saturating_sub(k - 1) {
                let g = s[i..i + k].to_vec();
                if g.len() == 1 && g[0] == "<s>" {
                    continue;
                }
                *c.entry(g).or_default() += 1;
            }
        }
    }
    let alpha = 0.4f32;
    let config = EstimateConfig {
        smoothing: Smoothing::StupidBackoff { alpha },
        ..EstimateConfig::default()
    };
    let model = estimate::estimate(&count_lines(&lines, order, 1 << 20), &config).unwrap();
    let e = entries(&model);
    let total: u64 = c.iter().filter(|(g, _)| g.len() == 1).map(|(_, &n)| n).sum();
    let mut checked = 0;
    for (g, &n) in &c {
        let (p, b) = e[g.len() - 1][g];
        let expected = if g.len() == 1 {
            n as f64 / total as f64
        } else {
            let ctx = &g[..g.len() - 1];
            let ctx_total: u64 = c
                .iter()
                .filter(|(h, _)| h.len() == g.len() && h[..h.len() - 1] == *ctx)
                .map(|(_, &m)| m)
                .sum();
            n as f64 / ctx_total as f64
        };
        assert!(
            (f64::from(p) - expected.log10()).abs() < 1e-6,
            "{g:?}: {p} vs {}",
            expected.log10()
        );
        if g.len() < order && g.last().map(String::as_str) != Some("</s>") {
            assert_eq!(b, alpha.log10(), "{g:?}");
        }
        checked += 1;
    }
    let listed: usize = e.iter().map(HashMap::len).sum();
    // Every listed n-gram was checked, plus <s> and <unk> in the unigrams.
    assert_eq!(listed, checked + 2);
    assert_eq!(e[0][&vec!["<s>".to_string()]].0, 0.0);
}

#[test]
fn counts_files_round_trip_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("corpus.txt");
    std::fs::write(&text, TEXT).unwrap();
    for order in [1, 2, 3, 5] {
        let counts = count::count_files(
            std::slice::from_ref(&text),
            CountConfig::new(order),
            Tokenizer::Whitespace,
            |_| {},
        )
        .unwrap();
        let direct = arpa_text(&estimate::estimate(&counts, &mkn()).unwrap());
        let counts_dir = dir.path().join(format!("counts{order}"));
        count::files::write_counts(&counts, &counts_dir).unwrap();
        assert!(counts_dir.join(count::files::shard_name(order, 0)).is_file());
        let back = count::files::read_counts(&counts_dir, CountConfig::new(order)).unwrap();
        assert_eq!((back.tokens, back.sentences), (counts.tokens, counts.sentences));
        let again = arpa_text(&estimate::estimate(&back, &mkn()).unwrap());
        assert_eq!(direct, again, "order {order}");
        // A non-empty destination is refused.
        assert!(count::files::write_counts(&counts, &counts_dir).is_err());
    }
}

#[test]
fn options_are_checked() {
    let counts = count_lines(&["a b c d"], 3, 1 << 20);
    for prune in [vec![1], vec![0, 2, 1], vec![0, 0, 0, 0]] {
        let config = EstimateConfig { prune, ..mkn() };
        assert!(estimate::estimate(&counts, &config).is_err());
    }
    let config = EstimateConfig {
        smoothing: Smoothing::StupidBackoff { alpha: 1.5 },
        ..mkn()
    };
    assert!(estimate::estimate(&counts, &config).is_err());
    let empty = count_lines(&[], 3, 1 << 20);
    let err = estimate::estimate(&empty, &mkn()).unwrap_err().to_string();
    assert!(err.contains("no text"), "{err}");
}

#[test]
fn streamed_estimation_reports_a_missing_temp_dir_and_leaves_no_output() {
    let lines: Vec<&str> = TEXT.lines().collect();
    let dir = tempfile::tempdir().unwrap();
    let temp = dir.path().join("scratch");
    std::fs::create_dir(&temp).unwrap();
    let mut config = CountConfig::new(3);
    config.temp_dir = Some(temp.clone());
    let mut counter = Counter::new(config).unwrap();
    for line in &lines {
        counter
            .add_sentence(whitespace_tokens(line), Path::new("fixture"), 1)
            .unwrap();
    }
    let counts = counter.finish().unwrap();
    std::fs::remove_dir(&temp).unwrap();
    let out = dir.path().join("model.arpa");
    let err = estimate::estimate_to_arpa_with(counts, &mkn(), &out, Strategy::Streamed)
        .unwrap_err()
        .to_string();
    assert!(err.contains("scratch"), "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

fn files(dir: &Path, lines: &[&str]) -> Vec<PathBuf> {
    let p = dir.join("c.txt");
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&p, text).unwrap();
    vec![p]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Shuffling the lines or squeezing the memory budget (many spilled runs) changes nothing in the counts.
    #[test]
    fn counts_invariant_under_order_and_budget(
        lines in prop::collection::vec(prop::collection::vec(0u8..12, 0..9), 1..60),
        seed in any::<u64>(),
        order in 1usize..=4,
    ) {
        let text: Vec<String> = lines
            .iter()
            .map(|l| l.iter().map(|w| format!("w{w}")).collect::<Vec<_>>().join(" "))
            .collect();
        let refs: Vec<&str> = text.iter().map(String::as_str).collect();
        let collect = |counts: &FullCounts| {
            let mut m: HashMap<Vec<String>, u64> = HashMap::new();
            counts.for_each(|k, c| {
                let words = k.iter().map(|&w| counts.vocab.word(w).to_string()).collect();
                *m.entry(words).or_default() += c;
                Ok(())
            }).unwrap();
            m
        };
        let base = collect(&count_lines(&refs, order, 1 << 30));
        let mut shuffled = refs.clone();
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        prop_assert_eq!(&collect(&count_lines(&shuffled, order, 1 << 30)), &base);
        let dir = tempfile::tempdir().unwrap();
        let tiny = count::count_files(
            &files(dir.path(), &refs),
            CountConfig { order, memory: count::MIN_MEMORY, temp_dir: Some(dir.path().to_path_buf()) },
            Tokenizer::Whitespace,
            |_| {},
        ).unwrap();
        prop_assert_eq!(&collect(&tiny), &base);
    }

    /// Estimating streamed through disk writes the same bytes as estimating in memory, for every order, both
    /// estimators, with and without pruning.
    #[test]
    fn streamed_estimation_is_byte_identical(
        lines in prop::collection::vec(prop::collection::vec(0u8..16, 0..12), 1..80),
        order in 1usize..=6,
        stupid in any::<bool>(),
        prune in 0u64..3,
    ) {
        let text: Vec<String> = lines
            .iter()
            .map(|l| l.iter().map(|w| format!("w{w}")).collect::<Vec<_>>().join(" "))
            .collect();
        let refs: Vec<&str> = text.iter().map(String::as_str).collect();
        let config = EstimateConfig {
            smoothing: if stupid { Smoothing::StupidBackoff { alpha: 0.4 } } else { Smoothing::ModifiedKneserNey },
            prune: if prune > 0 && order >= 2 { vec![0, prune] } else { Vec::new() },
            ..mkn()
        };
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("memory.arpa"), dir.path().join("streamed.arpa"));
        let in_memory =
            estimate::estimate_to_arpa_with(count_lines(&refs, order, 1 << 20), &config, &a, Strategy::InMemory);
        let streamed =
            estimate::estimate_to_arpa_with(count_lines(&refs, order, 1 << 20), &config, &b, Strategy::Streamed);
        match (in_memory, streamed) {
            (Ok(x), Ok(y)) => {
                prop_assert_eq!(x, y);
                prop_assert_eq!(std::fs::read_to_string(&a).unwrap(), std::fs::read_to_string(&b).unwrap());
            }
            (Err(x), Err(y)) => prop_assert_eq!(x.to_string(), y.to_string()),
            (x, y) => prop_assert!(false, "in memory {:?}, streamed {:?}", x.map(|_| ()), y.map(|_| ())),
        }
    }
}
