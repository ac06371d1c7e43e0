//! BLEU and chrF against values computed with sacrebleu 2.6.0 (`sacrebleu.metrics.BLEU().corpus_score`, `CHRF()`,
//! `CHRF(word_order=2)`) on small self-written segments.

use fivegram_translate::Error;
use fivegram_translate::metrics::{Bleu, Chrf};

const HYPS: [&str; 5] = [
    "The cat sat on the mat.",
    "A dog runs in the park, quickly!",
    "",
    "Zwei Männer — „ja“ sagen 3.5 Euro.",
    "x",
];
const REFS1: [&str; 5] = [
    "The cat is on the mat.",
    "A dog is running in the park.",
    "Nothing here.",
    "Zwei Männer sagen „ja“ für 3,5 Euro.",
    "x y z",
];
const REFS2: [&str; 5] = [
    "There is a cat on the mat.",
    "The dog runs quickly in a park!",
    "",
    "Zwei Männer sagen ja.",
    "x",
];

fn streams(n: usize) -> Vec<Vec<String>> {
    [REFS1, REFS2][..n]
        .iter()
        .map(|s| s.iter().map(|r| r.to_string()).collect())
        .collect()
}

fn close(got: f64, expected: f64) {
    assert!((got - expected).abs() < 1e-9, "got {got}, sacrebleu {expected}");
}

#[test]
fn bleu_one_and_two_references() {
    let one = Bleu::default().corpus_score(&HYPS, &streams(1)).unwrap();
    close(one.score, 20.620119760831482);
    assert_eq!(one.correct, [18, 9, 3, 1]);
    assert_eq!(one.total, [25, 21, 18, 15]);
    assert_eq!((one.sys_len, one.ref_len), (25, 29));
    assert_eq!(
        one.format(2),
        "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 20.62 \
         72.0/42.9/16.7/6.7 (BP = 0.852 ratio = 0.862 hyp_len = 25 ref_len = 29)"
    );
    let two = Bleu::default().corpus_score(&HYPS, &streams(2)).unwrap();
    close(two.score, 25.819888974716108);
    assert!(two.signature.starts_with("nrefs:2|"));
}

#[test]
fn chrf_and_chrf_plus() {
    close(
        Chrf::default().corpus_score(&HYPS, &streams(1)).unwrap().score,
        47.578440528847494,
    );
    close(
        Chrf::default().corpus_score(&HYPS, &streams(2)).unwrap().score,
        50.49763388811063,
    );
    let plus = Chrf::plus().corpus_score(&HYPS, &streams(1)).unwrap();
    close(plus.score, 48.47065789211189);
    assert_eq!(plus.name, "chrF2++");
    assert_eq!(
        plus.signature,
        "nrefs:1|case:mixed|eff:yes|nc:6|nw:2|space:no|version:2.6.0"
    );
    close(
        Chrf::plus().corpus_score(&HYPS, &streams(2)).unwrap().score,
        50.52291487102355,
    );
}

#[test]
fn degenerate_inputs() {
    let refs = vec![vec!["a b".to_string(), "c".to_string()]];
    assert_eq!(Bleu::default().corpus_score(&["", ""], &refs).unwrap().score, 0.0);
    assert_eq!(Chrf::default().corpus_score(&["", ""], &refs).unwrap().score, 0.0);
    // No 4-grams in the hypothesis: sacreBLEU stops at the missing order and the score is 0.
    let short = Bleu::default()
        .corpus_score(&["a b c"], &[vec!["a b c d e f"]])
        .unwrap();
    assert_eq!(short.score, 0.0);
    assert_eq!(
        short.verbose(),
        "100.0/100.0/100.0/0.0 (BP = 0.368 ratio = 0.500 hyp_len = 3 ref_len = 6)"
    );
}

#[test]
fn mismatched_streams_are_errors() {
    let refs = vec![vec!["a".to_string()]];
    let err = Bleu::default().corpus_score(&["a", "b"], &refs).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LineCount {
                expected: 2,
                found: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(Chrf::default().corpus_score(&["a", "b"], &refs).is_err());
    let none: Vec<Vec<String>> = Vec::new();
    assert!(matches!(
        Bleu::default().corpus_score(&["a"], &none),
        Err(Error::Empty(_))
    ));
}
