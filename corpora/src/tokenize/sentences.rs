//! Sentence splitting for paragraph-per-line text (Gutenberg, Wikipedia), English and German.
//!
//! A sentence ends after `.`, `!`, `?` or `…` (possibly followed by closing quotes or brackets) when the next word
//! does not start with a lowercase letter, unless the period belongs to an abbreviation (`Mr.`, `Dr.`, `z.B.`,
//! `e.g.`), an initial (`J. R. R. Tolkien`), a number abbreviation before a number (`No. 5`, `Nr. 3`) or a German
//! ordinal (`am 3. Oktober`, `der 20. Jahrhunderts`). Decimal numbers (`3.5`) have no space after the period and
//! are never split. Abbreviations that commonly end a sentence (`etc.`, `usw.`) end one when a capitalised word
//! follows.

use super::{Lang, is_german_ordinal, is_opener, is_terminal, lexicon};

/// Splits paragraphs into sentences with the abbreviation conventions of one language.
#[derive(Debug, Clone, Copy)]
pub struct SentenceSplitter {
    lang: Lang,
}

/// Closing quotes and brackets that may stand after the final punctuation of a sentence.
fn is_closing_quote_or_bracket(c: char) -> bool {
    matches!(
        c,
        '"' | '\'' | '”' | '“' | '’' | '‘' | '»' | '«' | '›' | '‹' | ')' | ']' | '}'
    )
}

impl SentenceSplitter {
    /// A splitter for `lang`.
    pub fn new(lang: Lang) -> Self {
        SentenceSplitter { lang }
    }

    /// The sentences of `text`, as slices of it without surrounding whitespace; none for blank text.
    pub fn split<'t>(&self, text: &'t str) -> Vec<&'t str> {
        let chunks = chunk_ranges(text);
        let mut sentences = Vec::new();
        let mut start = None;
        for (i, &(chunk_start, chunk_end)) in chunks.iter().enumerate() {
            let begin = *start.get_or_insert(chunk_start);
            let prev = i.checked_sub(1).map(|p| &text[chunks[p].0..chunks[p].1]);
            let next = chunks.get(i + 1).map(|&(s, e)| &text[s..e]);
            if next.is_none() || self.ends_sentence(&text[chunk_start..chunk_end], prev, next) {
                sentences.push(&text[begin..chunk_end]);
                start = None;
            }
        }
        sentences
    }

    /// Whether a sentence ends with `chunk`, between the chunks `prev` and `next`.
    fn ends_sentence(&self, chunk: &str, prev: Option<&str>, next: Option<&str>) -> bool {
        let Some(next) = next else {
            return true;
        };
        let core = chunk.trim_end_matches(is_closing_quote_or_bracket);
        if !core.chars().next_back().is_some_and(is_terminal) {
            return false;
        }
        let next_first = next.chars().find(|&c| !is_opener(c) && !matches!(c, '-' | '–' | '—'));
        if next_first.is_none_or(char::is_lowercase) {
            return false;
        }
        if !core.ends_with('.') {
            return true;
        }
        let body = core.trim_end_matches('.');
        if core.len() - body.len() >= 2 {
            return true; // an ellipsis
        }
        let word = body.trim_start_matches(is_opener);
        if word.is_empty() {
            return true;
        }
        let lang = self.lang;
        let lower = lexicon::lower_short(word);
        let can_end = lower.as_deref().is_some_and(|w| lexicon::can_end_sentence(w, lang));
        if word.contains('.') && word.chars().all(|c| c.is_alphabetic() || c == '.') {
            return can_end;
        }
        let mut chars = word.chars();
        if let (Some(c), None) = (chars.next(), chars.next())
            && c.is_alphabetic()
        {
            // An initial, or the German spaced abbreviations (z. B.); English "I." and "A." are words.
            return lang == Lang::En && matches!(c, 'I' | 'A');
        }
        if let Some(lower) = lower.as_deref() {
            if lexicon::is_title(lower, lang) {
                return false;
            }
            if lexicon::is_abbreviation(lower, lang) {
                return can_end;
            }
            if next_first.is_some_and(|c| c.is_ascii_digit()) && lexicon::is_numeric_abbreviation(lower, lang) {
                return false;
            }
        }
        if lang == Lang::De && word.len() <= 2 && word.bytes().all(|b| b.is_ascii_digit()) {
            return !is_german_ordinal(prev, Some(next));
        }
        true
    }
}

/// The byte ranges of the whitespace-separated chunks of `text`.
fn chunk_ranges(text: &str) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                ranges.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        ranges.push((s, text.len()));
    }
    ranges
}

/// The sentences of `text` (see [`SentenceSplitter`]).
pub fn split_sentences(text: &str, lang: Lang) -> Vec<&str> {
    SentenceSplitter::new(lang).split(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english() {
        let text = "Mr. Smith met Dr. J. R. Jones at 3.5 p.m. in the U.S. Navy yard. \"Why?\" he asked. \
                    (It was late.) Then they left... Later, e.g. at noon, it rained! Food, drink, etc. Nothing \
                    else. See No. 5 here. It was I. Then";
        assert_eq!(
            split_sentences(text, Lang::En),
            [
                "Mr. Smith met Dr. J. R. Jones at 3.5 p.m. in the U.S. Navy yard.",
                "\"Why?\" he asked.",
                "(It was late.)",
                "Then they left...",
                "Later, e.g. at noon, it rained!",
                "Food, drink, etc.",
                "Nothing else.",
                "See No. 5 here.",
                "It was I.",
                "Then",
            ]
        );
    }

    #[test]
    fn german() {
        let text = "Am 3. Oktober 1990 kam z.B. Herr Dr. Müller, d. h. der 2. Sohn. Er sagte: „Ja.“ Das war 1990. \
                    Danach kam usw. Dann ging er. Das ist Nr. 5 der Liste.";
        assert_eq!(
            split_sentences(text, Lang::De),
            [
                "Am 3. Oktober 1990 kam z.B. Herr Dr. Müller, d. h. der 2. Sohn.",
                "Er sagte: „Ja.“",
                "Das war 1990.",
                "Danach kam usw.",
                "Dann ging er.",
                "Das ist Nr. 5 der Liste.",
            ]
        );
    }

    #[test]
    fn blank_and_unterminated() {
        assert!(split_sentences("  \t ", Lang::En).is_empty());
        assert_eq!(split_sentences("  no end here  ", Lang::En), ["no end here"]);
        assert_eq!(split_sentences("one. two. Three", Lang::En), ["one. two.", "Three"]);
    }
}
