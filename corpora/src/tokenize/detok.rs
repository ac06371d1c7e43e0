//! Putting the spaces back: the inverse of [`Tokenizer`](super::Tokenizer) on ordinary text.
//!
//! Every pair of neighbouring tokens gets a space unless the right one attaches to its left (closing
//! punctuation, closing quotes and brackets, English clitics) or the left one to its right (opening quotes and
//! brackets, currency signs written before the amount). Straight quotes say nothing about their direction, so the
//! detokenizer tracks which quotations are open: a `"` opens when none is open and closes otherwise; a lone `'`
//! closes an open single quotation, opens one when another `'` follows later in the sentence, and is otherwise an
//! English possessive (`the students' books`). German `“` closes a quotation opened by `„` and opens one
//! otherwise; guillemets close when one is open (`»so«` and `«so»` both work).

use super::{Lang, lexicon};

/// Joins tokens into text with the spacing conventions of one language.
#[derive(Debug, Clone, Copy)]
pub struct Detokenizer {
    lang: Lang,
}

/// Which quotations are open while detokenizing a sentence.
#[derive(Debug, Default)]
struct Quotes {
    /// `"`, `“…”`, `„…“`.
    double: bool,
    /// `'`, `‘…’`, `‚…‘`.
    single: bool,
    /// `«…»` or `»…«`.
    guillemet: bool,
    /// `‹…›` or `›…‹`.
    single_guillemet: bool,
}

/// How a token joins its neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Glue {
    /// Spaces on both sides.
    Free,
    /// No space before (closing punctuation).
    Left,
    /// No space after (opening quotes and brackets).
    Right,
    /// No space on either side (the English double dash of old books: `word--word`).
    Both,
}

impl Detokenizer {
    /// A detokenizer for `lang`.
    pub fn new(lang: Lang) -> Self {
        Detokenizer { lang }
    }

    /// Joins `tokens` into one line of text.
    pub fn detokenize(&self, tokens: &[impl AsRef<str>]) -> String {
        let mut out = String::new();
        self.detokenize_into(tokens, &mut out);
        out
    }

    /// Appends the detokenized text of `tokens` to `out` (which is not cleared).
    pub fn detokenize_into(&self, tokens: &[impl AsRef<str>], out: &mut String) {
        let mut quotes = Quotes::default();
        let mut glue_next = true; // no space before the first token
        let mut closed_quote = false; // the previous token closed a quotation or bracket
        for (i, token) in tokens.iter().enumerate() {
            let token = token.as_ref();
            if token.is_empty() {
                continue;
            }
            let prev = i.checked_sub(1).map(|p| tokens[p].as_ref());
            let mut glue = self.glue(token, prev, &tokens[i + 1..], &mut quotes);
            // `„Open“-Schild`: the tokenizer keeps a hyphen after a closing quote with the next word.
            if closed_quote && token.starts_with('-') && token.len() > 1 {
                glue = Glue::Left;
            }
            if !glue_next && !matches!(glue, Glue::Left | Glue::Both) {
                out.push(' ');
            }
            out.push_str(token);
            glue_next = matches!(glue, Glue::Right | Glue::Both);
            closed_quote = glue == Glue::Left && token.chars().all(super::is_quote_or_bracket);
        }
    }

    /// How `token` attaches, given the token before it and those after it; updates the open quotations.
    fn glue(&self, token: &str, prev: Option<&str>, rest: &[impl AsRef<str>], quotes: &mut Quotes) -> Glue {
        let toggle = |open: &mut bool| {
            *open = !*open;
            if *open { Glue::Right } else { Glue::Left }
        };
        match token {
            "\"" => return toggle(&mut quotes.double),
            "'" => {
                return if quotes.single {
                    quotes.single = false;
                    Glue::Left
                } else if rest.iter().any(|t| t.as_ref() == "'") {
                    quotes.single = true;
                    Glue::Right
                } else {
                    Glue::Left
                };
            }
            "’" => {
                quotes.single = false;
                return Glue::Left;
            }
            "‘" => {
                return match self.lang {
                    Lang::De if quotes.single => {
                        quotes.single = false;
                        Glue::Left
                    }
                    _ => {
                        quotes.single = true;
                        Glue::Right
                    }
                };
            }
            "‚" | "‛" => {
                quotes.single = true;
                return Glue::Right;
            }
            "„" => {
                quotes.double = true;
                return Glue::Right;
            }
            "‟" => return toggle(&mut quotes.double),
            "“" => {
                return match self.lang {
                    Lang::De => toggle(&mut quotes.double),
                    Lang::En => {
                        quotes.double = true;
                        Glue::Right
                    }
                };
            }
            "”" => {
                quotes.double = false;
                return Glue::Left;
            }
            "«" | "»" => return toggle(&mut quotes.guillemet),
            "‹" | "›" => return toggle(&mut quotes.single_guillemet),
            "(" | "[" | "{" | "¿" | "¡" | "#" => return Glue::Right,
            // A currency sign before an amount sticks to it ($5), one after an amount stands apart (5 $).
            "$" | "£" | "€" | "¥" => {
                let starts_with_digit = |t: &str| t.starts_with(|c: char| c.is_ascii_digit());
                let next_is_amount = rest.first().is_some_and(|t| starts_with_digit(t.as_ref()));
                return if next_is_amount && !prev.is_some_and(starts_with_digit) {
                    Glue::Right
                } else {
                    Glue::Free
                };
            }
            // German sets a space before the percent sign (DIN 5008), English does not.
            "%" if self.lang == Lang::De => return Glue::Free,
            "--" if self.lang == Lang::En => return Glue::Both,
            _ => {}
        }
        if self.lang == Lang::En && lexicon::is_english_clitic(token) {
            return Glue::Left;
        }
        let mut chars = token.chars();
        match (chars.next(), chars.next()) {
            // `.08`, `,5`: a number, not punctuation.
            (Some('.' | ','), Some(c)) if c.is_ascii_digit() => Glue::Free,
            (Some('.' | ',' | ';' | ':' | '!' | '?' | '…' | '‽' | ')' | ']' | '}' | '%' | '‰'), _) => Glue::Left,
            _ => Glue::Free,
        }
    }
}

/// Joins `tokens` into text with the spacing conventions of `lang` (see [`Detokenizer`]).
pub fn detokenize(tokens: &[impl AsRef<str>], lang: Lang) -> String {
    Detokenizer::new(lang).detokenize(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn de(tokens: &[&str]) -> String {
        detokenize(tokens, Lang::De)
    }

    fn en(tokens: &[&str]) -> String {
        detokenize(tokens, Lang::En)
    }

    #[test]
    fn attaches_punctuation_and_clitics() {
        assert_eq!(
            en(&["I", "do", "n't", "know", ",", "Sam", "'s", "dog", "."]),
            "I don't know, Sam's dog."
        );
        assert_eq!(
            en(&["(", "about", "5", "%", ")", "$", "3.50", "!?"]),
            "(about 5%) $3.50!?"
        );
        assert_eq!(en(&[]), "");
    }

    #[test]
    fn tracks_straight_quotes() {
        assert_eq!(en(&["\"", "Hi", ",", "\"", "he", "said", "."]), "\"Hi,\" he said.");
        assert_eq!(en(&["a", "'", "cool", "'", "idea"]), "a 'cool' idea");
        assert_eq!(en(&["the", "students", "'", "books"]), "the students' books");
        assert_eq!(
            en(&["He", "said", ":", "\"", "Go", "\"", "and", "\"", "stay", "\"", "."]),
            "He said: \"Go\" and \"stay\"."
        );
    }

    #[test]
    fn german_quotes() {
        assert_eq!(de(&["Er", "sagte", "„", "Hallo", "“", "."]), "Er sagte „Hallo“.");
        assert_eq!(
            de(&["Ein", "“", "Test", "”", "und", "»", "so", "«", "."]),
            "Ein “Test” und »so«."
        );
        assert_eq!(de(&["‚", "Haus", "‘", "und", "Hans'", "Auto"]), "‚Haus‘ und Hans' Auto");
    }
}
