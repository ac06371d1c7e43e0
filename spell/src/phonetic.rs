//! Sound-alike keys: how a word is likely pronounced, for misspellings that spell the sound and not the word
//! (`hifin` for `hyphen`, `funetik` for `phonetic`, `necasery` for `necessary`).
//!
//! [`phonetic_key`] is a compact Metaphone-style reduction for English, written for this crate: silent letters
//! dropped (`kn`, `wr`, `gh`, final `e` and so on), letters that sound alike merged (`ph`/`f`/`v`, `c`/`k`/`q`,
//! soft `c` and `s`, `d`/`t`, `b`/`p`, `g`/`j` before a front vowel, `z`/`s`), vowels dropped except a word-initial
//! one, doubled sounds collapsed. Two words whose keys are within one edit of each other are sound-alike
//! candidates; the error model prices them with [`crate::edit::EditCosts`]'s sound-alike costs.
//!
//! For German the key is the lowercase word with `ß` → `ss`, umlauts and doubled letters collapsed, which serves
//! the same purpose more modestly.

use fivegram_corpora::tokenize::Lang;

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y')
}

fn front(c: Option<char>) -> bool {
    matches!(c, Some('e' | 'i' | 'y'))
}

/// The sound-alike key of a lowercase word, appended to `out` (which is cleared). Characters outside `a`–`z`
/// are kept as they are for English.
pub fn phonetic_key(word: &[char], lang: Lang, out: &mut Vec<char>) {
    out.clear();
    match lang {
        Lang::En => english(word, out),
        Lang::De => german(word, out),
    }
}

fn push(out: &mut Vec<char>, c: char) {
    if out.last() != Some(&c) {
        out.push(c);
    }
}

fn english(word: &[char], out: &mut Vec<char>) {
    // Apostrophes and hyphens are not sounded; most words have none, and need no copy.
    let kept: Vec<char>;
    let w: &[char] = if word.iter().any(|&c| c == '\'' || c == '-') {
        kept = word.iter().copied().filter(|&c| c != '\'' && c != '-').collect();
        &kept
    } else {
        word
    };
    let n = w.len();
    let at = |i: usize| w.get(i).copied();
    let mut i = 0;
    // Silent or merged starts.
    match (at(0), at(1)) {
        (Some('k' | 'g' | 'p'), Some('n')) | (Some('w'), Some('r')) | (Some('p'), Some('s')) => i = 1,
        (Some('a'), Some('e')) => i = 1,
        (Some('x'), _) => {
            out.push('s');
            i = 1;
        }
        (Some('w'), Some('h')) => {
            out.push('w');
            i = 2;
        }
        _ => {}
    }
    if out.is_empty() && at(i).is_some_and(is_vowel) {
        out.push('a');
        i += 1;
    }
    while i < n {
        let c = w[i];
        let next = at(i + 1);
        let prev = if i > 0 { at(i - 1) } else { None };
        match c {
            'a' | 'e' | 'i' | 'o' | 'u' => {}
            'y' => {
                if next.is_some_and(is_vowel) {
                    push(out, 'y');
                }
            }
            'b' => {
                // Silent in a final "mb".
                if !(prev == Some('m') && i + 1 == n) {
                    push(out, 'p');
                }
            }
            'p' => {
                if next == Some('h') {
                    push(out, 'f');
                    i += 1;
                } else {
                    push(out, 'p');
                }
            }
            'c' => {
                if next == Some('h') {
                    // "sch" and "chr" sound hard.
                    if prev == Some('s') || at(i + 2) == Some('r') {
                        push(out, 'k');
                    } else {
                        push(out, 'x');
                    }
                    i += 1;
                } else if next == Some('i') && at(i + 2) == Some('a') {
                    push(out, 'x');
                } else if front(next) {
                    if prev != Some('s') {
                        push(out, 's');
                    }
                } else if next == Some('k') || next == Some('q') {
                    // "ck", "cq": the next letter says it.
                } else {
                    push(out, 'k');
                }
            }
            'd' => {
                if next == Some('g') && front(at(i + 2)) {
                    push(out, 'j');
                    i += 1;
                } else {
                    push(out, 't');
                }
            }
            'g' => {
                if next == Some('h') {
                    // Silent "gh" unless it starts the word ("ghost"); "gh" before a vowel at the end of a syllable
                    // is often "f" ("tough") but dropping it is the safer guess.
                    if i == 0 {
                        push(out, 'k');
                    }
                    i += 1;
                } else if next == Some('n') && (i + 2 == n || (at(i + 2) == Some('e') && at(i + 3) == Some('d'))) {
                    // "sign", "signed".
                } else if front(next) {
                    push(out, 'j');
                } else {
                    push(out, 'k');
                }
            }
            'h' => {
                if prev.is_none_or(|p| !is_vowel(p) && !"csptg".contains(p)) && next.is_some_and(is_vowel) {
                    push(out, 'h');
                }
            }
            'k' => push(out, 'k'),
            'q' => push(out, 'k'),
            's' => {
                if next == Some('h') || (next == Some('i') && matches!(at(i + 2), Some('o' | 'a'))) {
                    push(out, 'x');
                    if next == Some('h') {
                        i += 1;
                    }
                } else {
                    push(out, 's');
                }
            }
            't' => {
                if next == Some('i') && matches!(at(i + 2), Some('o' | 'a')) {
                    push(out, 'x');
                } else if next == Some('h') {
                    push(out, '0');
                    i += 1;
                } else if !(next == Some('c') && at(i + 2) == Some('h')) {
                    push(out, 't');
                }
            }
            'v' => push(out, 'f'),
            'w' => {
                if next.is_some_and(is_vowel) {
                    push(out, 'w');
                }
            }
            'x' => {
                push(out, 'k');
                push(out, 's');
            }
            'z' => push(out, 's'),
            other => push(out, other),
        }
        i += 1;
    }
}

fn german(word: &[char], out: &mut Vec<char>) {
    for &c in word {
        match c {
            'ß' => {
                push(out, 's');
            }
            'ä' => push(out, 'e'),
            'ö' => push(out, 'o'),
            'ü' => push(out, 'u'),
            'h' => {}
            'v' => push(out, 'f'),
            'w' => push(out, 'v'),
            'z' => {
                push(out, 't');
                push(out, 's');
            }
            'c' | 'q' => push(out, 'k'),
            'd' => push(out, 't'),
            'b' => push(out, 'p'),
            other => push(out, other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(word: &str) -> String {
        let chars: Vec<char> = word.chars().collect();
        let mut out = Vec::new();
        phonetic_key(&chars, Lang::En, &mut out);
        out.into_iter().collect()
    }

    #[test]
    fn sound_alikes_share_keys() {
        for (a, b) in [
            ("hyphen", "hifin"),
            ("phonetic", "funetik"),
            ("butter", "budr"),
            ("necessary", "nesesary"),
            ("knight", "nite"),
            ("wrong", "rong"),
            ("psychology", "sychology"),
            ("catch", "kach"),
        ] {
            assert_eq!(key(a), key(b), "{a} / {b}");
        }
        assert_ne!(key("cat"), key("dog"));
        assert_eq!(key("apple").chars().next(), Some('a'));
        // Apostrophes and hyphens are not sounded.
        assert_eq!(key("o'clock"), key("oclock"));
        assert_eq!(key("to-morrow"), key("tomorrow"));
        assert_eq!(key("'-'"), key(""));
    }

    #[test]
    fn odd_input_does_not_panic() {
        for w in ["", "x", "ghgh", "ß", "naïve", "schschsch", "h"] {
            let _ = key(w);
            let chars: Vec<char> = w.chars().collect();
            let mut out = Vec::new();
            phonetic_key(&chars, Lang::De, &mut out);
        }
    }
}
