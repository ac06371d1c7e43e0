//! Corpus-level BLEU and chrF/chrF++ that reproduce sacreBLEU 2.6.0's default scores and signatures.
//!
//! - [`Bleu`]: the 13a tokenizer of mteval-v13a ([`tokenize_13a`]), n-grams up to 4, the closest reference
//!   length (shorter on ties), exponential smoothing of zero precisions ("exp", NIST's method 3), signature
//!   `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`.
//! - [`Chrf`]: character 6-grams without whitespace, an F-score with β = 2 averaged over the orders that have
//!   hypothesis and reference n-grams ("eff:yes"), and optionally word n-grams (chrF++, `word_order = 2`):
//!   `nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0`.
//!
//! Both keep additive sufficient statistics per segment ([`BleuStats`], [`ChrfStats`]) so that a tuner can add
//! them up for any choice of hypotheses without re-tokenizing.
//!
//! ```
//! use fivegram_translate::metrics::{Bleu, Chrf};
//!
//! let hyps = ["The cat sat on the mat.", "A dog runs."];
//! let refs = vec![vec!["The cat sat on a mat.".to_string(), "A dog is running.".to_string()]];
//! let bleu = Bleu::default().corpus_score(&hyps, &refs)?;
//! assert_eq!(bleu.sys_len, 11); // "The cat sat on the mat ." and "A dog runs ."
//! println!("{}", bleu.format(1));
//! let chrf = Chrf::default().corpus_score(&hyps, &refs)?;
//! assert!(chrf.score > 50.0 && chrf.score < 100.0);
//! # Ok::<(), fivegram_translate::Error>(())
//! ```
//!
//! # Quirks kept on purpose
//! Whitespace is Python's (`str.split()` also splits on U+001C–U+001F), characters are Unicode scalar values as
//! Python's `str` indexes them, and each segment is stripped of trailing whitespace as sacreBLEU's command line
//! does when it reads files. `lowercase` uses Rust's `to_lowercase`, which agrees with Python's `str.lower` for
//! the scripts in this project's corpora.

mod bleu;
mod chrf;
mod tok13a;

pub use bleu::{Bleu, BleuScore, BleuStats};
pub use chrf::{Chrf, ChrfScore, ChrfStats};
pub use tok13a::tokenize_13a;

use crate::{Error, Result};

/// The sacreBLEU release whose scores and signatures these metrics reproduce.
pub const SACREBLEU_VERSION: &str = "2.6.0";

/// Python's `str.isspace`: Rust's `char::is_whitespace` plus the information separators U+001C–U+001F.
pub fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.split()` without arguments: the words between runs of whitespace.
pub fn python_split(text: &str) -> impl Iterator<Item = &str> {
    text.split(is_python_space).filter(|word| !word.is_empty())
}

/// Python's `str.rstrip()` without arguments.
pub fn python_rstrip(text: &str) -> &str {
    text.trim_end_matches(is_python_space)
}

/// Checks that every reference stream has one segment per hypothesis and that there is at least one stream;
/// returns the number of segments.
fn check_streams<R: AsRef<str>>(hypotheses: usize, references: &[Vec<R>]) -> Result<usize> {
    if references.is_empty() {
        return Err(Error::Empty(
            "no references given: at least one reference stream is needed".into(),
        ));
    }
    for (i, stream) in references.iter().enumerate() {
        if stream.len() != hypotheses {
            return Err(Error::LineCount {
                what: format!("reference stream {}", i + 1),
                expected: hypotheses,
                found: stream.len(),
            });
        }
    }
    Ok(hypotheses)
}

/// Formats a signature from `key:value` pairs, joined by `|`.
fn signature(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(key, value)| format!("{key}:{value}"))
        .collect::<Vec<_>>()
        .join("|")
}

/// Lowercases when asked, borrowing otherwise.
fn maybe_lower(text: &str, lowercase: bool) -> std::borrow::Cow<'_, str> {
    if lowercase {
        std::borrow::Cow::Owned(text.to_lowercase())
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_whitespace() {
        assert_eq!(
            python_split(" a\u{1c}b\u{a0}c  d\t").collect::<Vec<_>>(),
            ["a", "b", "c", "d"]
        );
        assert_eq!(python_rstrip("x \u{1f}\u{3000}\r"), "x");
        assert!(!is_python_space('\u{200b}'));
    }
}
