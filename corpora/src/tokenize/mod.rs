//! Word tokenization, detokenization and sentence splitting for English and German.
//!
//! - [`Tokenizer`] splits text into words and punctuation on Unicode word boundaries (UAX #29, through
//!   `unicode-segmentation`), then applies the conventions of the Moses/PTB tokenizers: punctuation and quotes
//!   split off, English clitics split (`don't` → `do n't`, `John's` → `John 's`), German apostrophes kept
//!   (`geht's`, `Hans'`), hyphenated compounds, numbers (`3.5`, `1,000`), abbreviations (`U.S.`, `z.B.`, `Dr.`),
//!   URLs and e-mail addresses kept whole. Every token is a substring of the input: without lowercasing, the
//!   tokens concatenated give back the input without its whitespace.
//! - [`detokenize`] (or a [`Detokenizer`]) puts the spaces back: it inverts the tokenizer on ordinary text,
//!   tracking open and closed quotes. What it cannot restore is spacing the source had and the tokens do not
//!   record: a space before punctuation (`word .`), a missing space after it (`end.Next` stays one token and
//!   round-trips, `a,b` does not), non-breaking spaces (they become plain spaces).
//! - [`SentenceSplitter`] cuts a paragraph into sentences, respecting abbreviations, initials, decimal numbers,
//!   German ordinals (`am 3. Oktober`) and quotes or brackets after the final punctuation.
//!
//! ```
//! use fivegram_corpora::tokenize::{detokenize, Lang, Tokenizer};
//!
//! let tok = Tokenizer::new(Lang::En);
//! let tokens = tok.tokenize("\"I don't know,\" said Dr. Smith of the U.S. Navy.");
//! assert_eq!(
//!     tokens,
//!     ["\"", "I", "do", "n't", "know", ",", "\"", "said", "Dr.", "Smith", "of", "the", "U.S.", "Navy", "."]
//! );
//! assert_eq!(detokenize(&tokens, Lang::En), "\"I don't know,\" said Dr. Smith of the U.S. Navy.");
//! ```
//!
//! Speed: tokens are found without regular expressions; plain ASCII words skip segmentation altogether.
//! [`Tokenizer::for_each_token`] hands out borrowed tokens without allocating one string per token.

mod detok;
mod lexicon;
mod sentences;

use std::fmt;
use std::str::FromStr;

use unicode_segmentation::UnicodeSegmentation;

pub use detok::{Detokenizer, detokenize};
pub use sentences::{SentenceSplitter, split_sentences};

/// A language the tokenizer knows the conventions of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English.
    En,
    /// German.
    De,
}

impl Lang {
    /// The ISO 639-1 code: `en` or `de`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    /// The language's Snowball stemmer (used by the spelling model's word families and the translation
    /// model's stem alignment).
    pub fn stemmer(self) -> rust_stemmers::Stemmer {
        rust_stemmers::Stemmer::create(match self {
            Lang::En => rust_stemmers::Algorithm::English,
            Lang::De => rust_stemmers::Algorithm::German,
        })
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The error of parsing a [`Lang`] from a string other than `en` or `de`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseLangError(String);

impl fmt::Display for ParseLangError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown language {:?}: expected `en` or `de`", self.0)
    }
}

impl std::error::Error for ParseLangError {}

impl FromStr for Lang {
    type Err = ParseLangError;

    /// Parses `en` or `de` (any case; `english` and `german` are accepted too).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "en" | "eng" | "english" => Ok(Lang::En),
            "de" | "deu" | "ger" | "german" => Ok(Lang::De),
            _ => Err(ParseLangError(s.to_string())),
        }
    }
}

/// A word tokenizer for one language, optionally lowercasing.
///
/// Tokens never contain whitespace (Unicode's definition, so a non-breaking space separates tokens too).
#[derive(Debug, Clone)]
pub struct Tokenizer {
    lang: Lang,
    lowercase: bool,
}

/// What a piece of a whitespace-delimited chunk is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Contains a letter or digit.
    Word,
    /// A single punctuation or symbol character.
    Punct(char),
    /// Several punctuation characters kept together (`...`, `?!`, `--`) or a multi-character symbol (an emoji
    /// with modifiers); the character is the first one.
    Run(char),
}

/// A byte range of a chunk with its kind.
#[derive(Debug, Clone, Copy)]
struct Piece {
    start: usize,
    end: usize,
    kind: Kind,
}

/// What the tokenizer remembers from one chunk to the next.
#[derive(Debug, Default)]
struct State {
    /// A straight single quote (`'`) opened a quotation that has not been closed, so a trailing `'` closes it
    /// rather than being a German possessive.
    straight_open: bool,
    /// Likewise for a curly `‘` and a trailing `’`.
    curly_open: bool,
}

/// Characters that join two words into one token when nothing separates them (`well-known`, `and/or`, `AT&T`,
/// `10:30`, `1960's`).
fn is_connector(c: char) -> bool {
    matches!(
        c,
        '-' | '‐' | '‑' | '/' | '&' | '.' | ':' | '\'' | '’' | '+' | '·' | '@' | '=' | '~' | '×' | '°' | '%'
    )
}

/// Sentence-final punctuation, which runs together (`...`, `?!`).
fn is_terminal(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…' | '‽')
}

/// Quotes and brackets: never merged into runs, even when repeated (`((`, `""`).
fn is_quote_or_bracket(c: char) -> bool {
    matches!(
        c,
        '"' | '\''
            | '“'
            | '”'
            | '„'
            | '‟'
            | '‘'
            | '’'
            | '‚'
            | '‛'
            | '«'
            | '»'
            | '‹'
            | '›'
            | '('
            | ')'
            | '['
            | ']'
            | '{'
            | '}'
            | '<'
            | '>'
    )
}

/// Characters that may open a quotation or bracket before a word.
fn is_opener(c: char) -> bool {
    matches!(
        c,
        '"' | '\''
            | '“'
            | '„'
            | '‟'
            | '‘'
            | '‚'
            | '‛'
            | '«'
            | '»'
            | '‹'
            | '›'
            | '('
            | '['
            | '{'
            | '<'
            | '¿'
            | '¡'
    )
}

/// Characters that may follow a word and close it off (punctuation, closing quotes and brackets).
fn is_closer(c: char) -> bool {
    matches!(
        c,
        '.' | ','
            | ';'
            | ':'
            | '!'
            | '?'
            | '…'
            | '"'
            | '\''
            | '”'
            | '“'
            | '’'
            | '‘'
            | '»'
            | '«'
            | '›'
            | '‹'
            | ')'
            | ']'
            | '}'
            | '>'
    )
}

impl Tokenizer {
    /// A tokenizer for `lang` that keeps case.
    pub fn new(lang: Lang) -> Self {
        Tokenizer { lang, lowercase: false }
    }

    /// Lowercases every token (Unicode lowercasing) when `lowercase` is true.
    pub fn with_lowercase(mut self, lowercase: bool) -> Self {
        self.lowercase = lowercase;
        self
    }

    /// The language.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// Whether tokens are lowercased.
    pub fn lowercases(&self) -> bool {
        self.lowercase
    }

    /// Splits `text` into tokens.
    pub fn tokenize(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.tokenize_into(text, &mut out);
        out
    }

    /// Appends the tokens of `text` to `out` (which is not cleared).
    pub fn tokenize_into(&self, text: &str, out: &mut Vec<String>) {
        if self.lowercase {
            self.scan(text, &mut |t| out.push(lowercase(t)));
        } else {
            self.scan(text, &mut |t| out.push(t.to_string()));
        }
    }

    /// Calls `f` with each token of `text` in order, allocating nothing per token: the fastest way to feed a
    /// counter. Without lowercasing every token is a slice of `text`.
    pub fn for_each_token(&self, text: &str, mut f: impl FnMut(&str)) {
        if self.lowercase {
            let mut buf = String::new();
            self.scan(text, &mut |t| {
                if t.is_ascii() {
                    buf.clear();
                    buf.push_str(t);
                    buf.make_ascii_lowercase();
                    f(&buf);
                } else {
                    f(&t.to_lowercase());
                }
            });
        } else {
            self.scan(text, &mut f);
        }
    }

    /// The byte ranges of the tokens of `text`, in order (case is irrelevant here: lowercasing does not move
    /// token boundaries).
    pub fn token_spans(&self, text: &str) -> Vec<std::ops::Range<usize>> {
        let base = text.as_ptr() as usize;
        let mut spans = Vec::new();
        self.scan(text, &mut |t: &str| {
            let start = t.as_ptr() as usize - base;
            spans.push(start..start + t.len());
        });
        spans
    }

    /// Finds the tokens of `text` and hands each, as a slice of `text`, to `emit`.
    fn scan<'t, F: FnMut(&'t str)>(&self, text: &'t str, emit: &mut F) {
        let mut chunks = text.split(char::is_whitespace).filter(|c| !c.is_empty()).peekable();
        let mut prev: Option<&str> = None;
        let mut pieces = Vec::new();
        let mut state = State::default();
        while let Some(chunk) = chunks.next() {
            let next = chunks.peek().copied();
            self.chunk(chunk, prev, next, &mut state, &mut pieces, emit);
            prev = Some(chunk);
        }
    }

    /// Tokenizes one whitespace-free chunk; `prev` and `next` are the neighbouring chunks.
    fn chunk<'t, F: FnMut(&'t str)>(
        &self,
        chunk: &'t str,
        prev: Option<&'t str>,
        next: Option<&'t str>,
        state: &mut State,
        pieces: &mut Vec<Piece>,
        emit: &mut F,
    ) {
        let bytes = chunk.as_bytes();
        // Fast paths: a plain ASCII word, or one followed by a single punctuation mark that cannot belong to it.
        if bytes.iter().all(u8::is_ascii_alphanumeric) {
            emit(chunk);
            return;
        }
        if let Some((&last, body)) = bytes.split_last()
            && matches!(last, b',' | b';' | b':' | b'!' | b'?' | b')')
            && !body.is_empty()
            && body.iter().all(u8::is_ascii_alphanumeric)
        {
            emit(&chunk[..body.len()]);
            emit(&chunk[body.len()..]);
            return;
        }
        if (chunk.contains("://") || chunk.contains('@') || chunk.contains("www."))
            && let Some((start, end)) = url_span(chunk)
        {
            for (i, c) in chunk[..start].char_indices() {
                emit(&chunk[i..i + c.len_utf8()]);
            }
            emit(&chunk[start..end]);
            emit_punctuation(&chunk[end..], emit);
            return;
        }

        pieces.clear();
        for (start, seg) in chunk.split_word_bound_indices() {
            let mut chars = seg.chars();
            let first = chars.next().unwrap_or(' ');
            let kind = if first.is_alphanumeric() || seg.chars().any(char::is_alphanumeric) {
                Kind::Word
            } else if chars.next().is_none() {
                Kind::Punct(first)
            } else {
                Kind::Run(first)
            };
            pieces.push(Piece {
                start,
                end: start + seg.len(),
                kind,
            });
        }
        self.merge(chunk, prev, next, state, pieces);

        for piece in pieces.iter() {
            let token = &chunk[piece.start..piece.end];
            if self.lang == Lang::En && piece.kind == Kind::Word {
                let clitic = lexicon::english_clitic_len(token);
                if clitic > 0 {
                    let cut = token.len() - clitic;
                    emit(&token[..cut]);
                    emit(&token[cut..]);
                    continue;
                }
            }
            emit(token);
        }
    }

    /// Applies the merge rules to the UAX #29 pieces of `chunk`, in place.
    fn merge(&self, chunk: &str, prev: Option<&str>, next: Option<&str>, state: &mut State, pieces: &mut Vec<Piece>) {
        let lang = self.lang;
        let word_at = |pieces: &[Piece], i: usize| pieces.get(i).is_some_and(|p| p.kind == Kind::Word);
        let punct_at = |pieces: &[Piece], i: usize| match pieces.get(i) {
            Some(Piece {
                kind: Kind::Punct(c), ..
            }) => Some(*c),
            _ => None,
        };
        // Only punctuation (no word) from `i` to the end of the chunk.
        let no_word_from =
            |pieces: &[Piece], i: usize| pieces[i.min(pieces.len())..].iter().all(|p| p.kind != Kind::Word);

        // Invisible format characters (zero-width space, soft hyphen, BOM) at the edge of a word belong to it.
        let mut i = 0;
        while i < pieces.len() {
            if pieces.len() > 1 && chunk[pieces[i].start..pieces[i].end].chars().all(is_format) {
                if i + 1 < pieces.len() {
                    let kind = pieces[i + 1].kind;
                    join(pieces, i, i + 1, kind);
                } else {
                    let kind = pieces[i - 1].kind;
                    join(pieces, i - 1, i, kind);
                }
            } else {
                i += 1;
            }
        }

        // HTML character references (`&amp;`, `&#39;`) stay whole and behave like the `&` they usually stand for.
        let mut i = 0;
        while i + 2 < pieces.len() {
            if punct_at(pieces, i) == Some('&') {
                let hash = usize::from(punct_at(pieces, i + 1) == Some('#'));
                if word_at(pieces, i + 1 + hash)
                    && punct_at(pieces, i + 2 + hash) == Some(';')
                    && chunk[pieces[i + 1 + hash].start..pieces[i + 1 + hash].end]
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric())
                {
                    join(pieces, i, i + 2 + hash, Kind::Punct('&'));
                }
            }
            i += 1;
        }

        // Words that UAX #29 separates without any punctuation between them (`CO₂`, `H₂O`, `x²`) stay one word,
        // except ideographs, which are words of their own.
        let mut i = 1;
        while i < pieces.len() {
            if word_at(pieces, i - 1)
                && word_at(pieces, i)
                && !chunk[..pieces[i].end].chars().next_back().is_some_and(is_ideographic)
                && !chunk[pieces[i].start..].chars().next().is_some_and(is_ideographic)
            {
                join(pieces, i - 1, i, Kind::Word);
            } else {
                i += 1;
            }
        }

        // At the start of the chunk (after opening brackets and quotes): a sign or decimal point before a number
        // (`-5`, `(+3.5`, `.08`), a degree sign before a unit (`°C`), or a hyphen before a word that completes a
        // compound named earlier (`Sonnenaufgang und -untergang`).
        let lead = pieces
            .iter()
            .position(|p| !matches!(p.kind, Kind::Punct(c) if is_opener(c)));
        if let Some(i) = lead
            && let Some(c) = punct_at(pieces, i)
            && let Some(next_piece) = pieces.get(i + 1)
            && next_piece.kind == Kind::Word
        {
            let digit = chunk.as_bytes()[next_piece.start].is_ascii_digit();
            if matches!(c, '-' | '°') || (matches!(c, '+' | '−' | '±' | '.') && digit) {
                join(pieces, i, i + 1, Kind::Word);
            }
        }
        // A hyphen after a closing quote or bracket joins the next word: `„Open“-Schild`.
        let mut i = 1;
        while i + 1 < pieces.len() {
            if punct_at(pieces, i) == Some('-')
                && punct_at(pieces, i - 1)
                    .is_some_and(|c| matches!(c, '"' | '”' | '“' | '‟' | '’' | '\'' | '»' | '«' | ')' | ']'))
                && word_at(pieces, i + 1)
            {
                join(pieces, i, i + 1, Kind::Word);
            }
            i += 1;
        }

        // word CONNECTOR word → one word; also a hyphen next to a period or apostrophe (`Dr.-Seuss-Buch`,
        // `Rock-'n'-Roll`), but not a double hyphen (`word--word` is a dash).
        let mut i = 0;
        while i + 2 < pieces.len() {
            if word_at(pieces, i) && punct_at(pieces, i + 1).is_some_and(is_connector) && word_at(pieces, i + 2) {
                join(pieces, i, i + 2, Kind::Word);
            } else if word_at(pieces, i)
                && let (Some(a), Some(b)) = (punct_at(pieces, i + 1), punct_at(pieces, i + 2))
                && matches!((a, b), ('.' | '\'' | '’', '-') | ('-', '\'' | '’'))
                && word_at(pieces, i + 3)
            {
                join(pieces, i, i + 3, Kind::Word);
            } else {
                i += 1;
            }
        }

        // A leading apostrophe that belongs to the word: 'tis, 'em, '80s, German 's and 'ne; English "'n'".
        let mut i = 0;
        while i + 1 < pieces.len() {
            if matches!(punct_at(pieces, i), Some('\'' | '’'))
                && (i == 0 || punct_at(pieces, i - 1).is_some_and(is_opener))
                && word_at(pieces, i + 1)
            {
                let word = &chunk[pieces[i + 1].start..pieces[i + 1].end];
                let lower = lexicon::lower_short(word).unwrap_or_default();
                let closed = matches!(punct_at(pieces, i + 2), Some('\'' | '’'));
                if lang == Lang::En && lower == "n" && closed {
                    // rock 'n' roll
                    join(pieces, i, i + 2, Kind::Word);
                } else if lexicon::keeps_leading_apostrophe(&lower, lang)
                    // In `'em'` or `'00'` the apostrophes are quotes; a lone English clitic (`'s` in text that is
                    // already tokenized) only when nothing follows it.
                    && !closed
                    && (i + 2 == pieces.len()
                        || !(lang == Lang::En && matches!(lower.as_str(), "s" | "ll" | "re" | "ve" | "m" | "d" | "t")))
                {
                    join(pieces, i, i + 1, Kind::Word);
                }
            }
            i += 1;
        }

        // Runs of punctuation: `...`, `?!`, `--`, `**`.
        let mut i = 1;
        while i < pieces.len() {
            let run = match (pieces[i - 1].kind, pieces[i].kind) {
                (Kind::Punct(a) | Kind::Run(a), Kind::Punct(b))
                    if (is_terminal(a) && is_terminal(b)) || (a == b && !is_quote_or_bracket(a)) =>
                {
                    Some(a)
                }
                _ => None,
            };
            match run {
                Some(first) => join(pieces, i - 1, i, Kind::Run(first)),
                None => i += 1,
            }
        }

        let mut i = 0;
        while i + 1 < pieces.len() {
            if !word_at(pieces, i) {
                i += 1;
                continue;
            }
            let word = &chunk[pieces[i].start..pieces[i].end];
            let after = punct_at(pieces, i + 2);
            // `C++`, `0+`, `45°` at the end of a chunk.
            let suffix = match pieces[i + 1].kind {
                Kind::Punct('+') | Kind::Run('+') => true,
                Kind::Punct('°') => word.ends_with(|c: char| c.is_ascii_digit()),
                _ => false,
            };
            if suffix && no_word_from(pieces, i + 2) {
                join(pieces, i, i + 1, Kind::Word);
                i += 1;
                continue;
            }
            let attach = match punct_at(pieces, i + 1) {
                // A truncated compound: `Ein- und Ausgang`, `pre- and post-war`.
                Some('-') => {
                    ((after.is_none() && i + 2 == pieces.len())
                        || after.is_some_and(|c| matches!(c, ',' | ';' | '/' | ')')))
                        && word.chars().next_back().is_some_and(char::is_alphabetic)
                }
                // An abbreviation keeps its period.
                Some('.') => no_word_from(pieces, i + 2) && self.is_abbreviation(word, prev, next),
                // A German possessive apostrophe: `Hans'`, `Grass’`.
                Some('\'' | '’') => {
                    lang == Lang::De
                        && !quote_is_open(state, &pieces[..i], punct_at(pieces, i + 1))
                        && no_word_from(pieces, i + 2)
                        && word
                            .chars()
                            .next_back()
                            .is_some_and(|c| matches!(c, 's' | 'ß' | 'x' | 'z' | 'S' | 'X' | 'Z'))
                }
                _ => false,
            };
            if attach {
                join(pieces, i, i + 1, Kind::Word);
            }
            i += 1;
        }

        // Remember whether a single quote opened or closed a quotation.
        for (i, piece) in pieces.iter().enumerate() {
            if let Kind::Punct(c @ ('\'' | '‘' | '’')) = piece.kind {
                let before_word = word_at(pieces, i + 1);
                let after_word = i > 0 && !matches!(pieces[i - 1].kind, Kind::Punct(o) if is_opener(o));
                match (c, before_word && !after_word, after_word && !before_word) {
                    ('\'', true, _) => state.straight_open = true,
                    ('\'', _, true) => state.straight_open = false,
                    ('‘', true, _) => state.curly_open = true,
                    ('’', _, true) => state.curly_open = false,
                    _ => {}
                }
            }
        }
    }

    /// Whether `word`, followed by a period, is an abbreviation that keeps the period.
    fn is_abbreviation(&self, word: &str, prev: Option<&str>, next: Option<&str>) -> bool {
        let lang = self.lang;
        // Internal periods: U.S., z.B., e.g., Ph.D.
        if word.contains('.') && word.chars().all(|c| c.is_alphabetic() || c == '.') {
            return true;
        }
        let next_start = next.and_then(|n| n.chars().find(|c| !is_opener(*c)));
        let mut chars = word.chars();
        if let (Some(c), None) = (chars.next(), chars.next())
            && c.is_alphabetic()
        {
            // An initial (J. R. R. Tolkien) or a spaced abbreviation (German z. B., u. a.), unless it ends the
            // text; English "I." and "A." are words.
            return next.is_some() && !(lang == Lang::En && matches!(c, 'I' | 'A'));
        }
        let Some(lower) = lexicon::lower_short(word) else {
            return false;
        };
        if lexicon::is_abbreviation(&lower, lang) {
            return true;
        }
        if next_start.is_some_and(|c| c.is_ascii_digit()) && lexicon::is_numeric_abbreviation(&lower, lang) {
            return true;
        }
        if lang == Lang::De && word.len() <= 2 && word.bytes().all(|b| b.is_ascii_digit()) {
            return is_german_ordinal(prev, next);
        }
        false
    }
}

/// Whether a German day or ordinal number (`3.`) stands between `prev` and `next` rather than ending a sentence:
/// a month or a lowercase word follows, or an article or preposition precedes.
fn is_german_ordinal(prev: Option<&str>, next: Option<&str>) -> bool {
    let Some(next) = next else {
        return false;
    };
    let next_word = next.trim_matches(|c: char| !c.is_alphanumeric());
    if next_word.chars().next().is_some_and(char::is_lowercase) {
        return true;
    }
    if lexicon::lower_short(next_word).is_some_and(|w| lexicon::is_month(&w, Lang::De)) {
        return true;
    }
    prev.and_then(lexicon::lower_short)
        .is_some_and(|w| lexicon::announces_ordinal(&w))
}

/// Invisible formatting characters that are not whitespace: zero-width space and joiners, soft hyphen, BOM.
fn is_format(c: char) -> bool {
    matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
}

/// Characters of scripts written without spaces, each of which UAX #29 makes a word of its own.
fn is_ideographic(c: char) -> bool {
    matches!(c, '\u{2e80}'..='\u{2fdf}' | '\u{3040}'..='\u{30ff}' | '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}'
        | '\u{f900}'..='\u{faff}' | '\u{20000}'..='\u{3fffd}')
}

/// Whether a single quotation that `apostrophe` (`'` or `’`) would close is open: from an earlier chunk, or by an
/// opening quote among `before` (the pieces of this chunk before the word).
fn quote_is_open(state: &State, before: &[Piece], apostrophe: Option<char>) -> bool {
    let (open, opener) = match apostrophe {
        Some('\'') => (state.straight_open, '\''),
        _ => (state.curly_open, '‘'),
    };
    open || before.iter().any(|p| p.kind == Kind::Punct(opener))
}

/// Merges pieces `first..=last` into one of kind `kind`.
fn join(pieces: &mut Vec<Piece>, first: usize, last: usize, kind: Kind) {
    pieces[first].end = pieces[last].end;
    pieces[first].kind = kind;
    pieces.drain(first + 1..=last);
}

/// Emits trailing punctuation: runs of sentence-final marks together, every other character on its own.
fn emit_punctuation<'t, F: FnMut(&'t str)>(s: &'t str, emit: &mut F) {
    let mut start = 0;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let end = i + c.len_utf8();
        let joins_next = chars
            .peek()
            .is_some_and(|&(_, d)| (is_terminal(c) && is_terminal(d)) || (c == d && !is_quote_or_bracket(c)));
        if !joins_next {
            emit(&s[start..end]);
            start = end;
        }
    }
}

/// The byte range of a URL or e-mail address inside `chunk`, leaving out the quotes, brackets and punctuation
/// around it; `None` if there is none.
fn url_span(chunk: &str) -> Option<(usize, usize)> {
    let start = chunk.len() - chunk.trim_start_matches(is_opener).len();
    let mut end = chunk.len();
    while end > start {
        let c = chunk[..end].chars().next_back()?;
        if !is_closer(c) {
            break;
        }
        if c == ')' {
            let core = &chunk[start..end];
            if core.matches('(').count() >= core.matches(')').count() {
                break;
            }
        }
        end -= c.len_utf8();
    }
    let core = &chunk[start..end];
    (is_url(core) || is_email(core)).then_some((start, end))
}

/// `scheme://…` or `www.host…`.
fn is_url(s: &str) -> bool {
    if let Some((scheme, rest)) = s.split_once("://") {
        return !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && rest.starts_with(|c: char| c.is_alphanumeric() || c == '[');
    }
    let lower = s.get(..4).map(str::to_ascii_lowercase);
    lower.as_deref() == Some("www.") && s[4..].contains('.') && s[4..].starts_with(char::is_alphanumeric)
}

/// `local@domain.tld`.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-'))
        && !local.starts_with('.');
    let mut labels = domain.split('.');
    let tld = domain.rsplit('.').next().unwrap_or("");
    local_ok
        && domain.contains('.')
        && labels.all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'))
        && tld.chars().count() >= 2
        && tld.chars().all(char::is_alphabetic)
}

/// Lowercases a token.
fn lowercase(t: &str) -> String {
    if t.is_ascii() {
        t.to_ascii_lowercase()
    } else {
        t.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn en(text: &str) -> Vec<String> {
        Tokenizer::new(Lang::En).tokenize(text)
    }

    fn de(text: &str) -> Vec<String> {
        Tokenizer::new(Lang::De).tokenize(text)
    }

    #[test]
    fn parses_languages() {
        assert_eq!("en".parse::<Lang>().unwrap(), Lang::En);
        assert_eq!("DE".parse::<Lang>().unwrap(), Lang::De);
        let err = "fr".parse::<Lang>().unwrap_err().to_string();
        assert!(err.contains("\"fr\"") && err.contains("`en` or `de`"), "{err}");
        assert_eq!(Lang::De.to_string(), "de");
    }

    #[test]
    fn splits_punctuation_and_english_clitics() {
        assert_eq!(en("Hello, world!"), ["Hello", ",", "world", "!"]);
        assert_eq!(
            en("I don't think John's car'll fit."),
            ["I", "do", "n't", "think", "John", "'s", "car", "'ll", "fit", "."]
        );
        assert_eq!(
            en("We're sure you've seen I'm what he'd"),
            ["We", "'re", "sure", "you", "'ve", "seen", "I", "'m", "what", "he", "'d"]
        );
        assert_eq!(en("can’t WON'T"), ["ca", "n’t", "WO", "N'T"]);
        assert_eq!(en("the students' books"), ["the", "students", "'", "books"]);
        assert_eq!(
            en("O'Neil's rock'n'roll ma'am"),
            ["O'Neil", "'s", "rock'n'roll", "ma'am"]
        );
        assert_eq!(en("in the 1960's."), ["in", "the", "1960", "'s", "."]);
        assert_eq!(
            en("'Tis true, tell 'em rock 'n' roll in the '80s"),
            [
                "'Tis", "true", ",", "tell", "'em", "rock", "'n'", "roll", "in", "the", "'80s"
            ]
        );
    }

    #[test]
    fn already_tokenized_text_is_a_fixed_point() {
        let once = en("I don't think John's car'll fit.");
        let twice = en(&once.join(" "));
        assert_eq!(once, twice);
    }

    #[test]
    fn german_apostrophes_stay() {
        assert_eq!(
            de("Wie geht's? Hans' Auto, Grass’ Buch"),
            ["Wie", "geht's", "?", "Hans'", "Auto", ",", "Grass’", "Buch"]
        );
        assert_eq!(de("Hast du ’ne Idee?"), ["Hast", "du", "’ne", "Idee", "?"]);
        // A closing quote after an opening one is not a possessive.
        assert_eq!(de("Er sagte 'Haus' laut"), ["Er", "sagte", "'", "Haus", "'", "laut"]);
        assert_eq!(de("‚Haus‘ und „Maus“"), ["‚", "Haus", "‘", "und", "„", "Maus", "“"]);
    }

    #[test]
    fn keeps_compounds_numbers_abbreviations() {
        assert_eq!(
            en("a well-known state-of-the-art E-Mail and/or AT&T at 10:30"),
            [
                "a",
                "well-known",
                "state-of-the-art",
                "E-Mail",
                "and/or",
                "AT&T",
                "at",
                "10:30"
            ]
        );
        assert_eq!(
            en("It costs $3.5 or 1,000.50 (-5%)."),
            ["It", "costs", "$", "3.5", "or", "1,000.50", "(", "-5", "%", ")", "."]
        );
        assert_eq!(
            en("The U.S. and e.g. Mr. Smith, J. R. R. Tolkien, etc."),
            [
                "The", "U.S.", "and", "e.g.", "Mr.", "Smith", ",", "J.", "R.", "R.", "Tolkien", ",", "etc."
            ]
        );
        assert_eq!(
            en("It was me. I went. No. 5 said no."),
            ["It", "was", "me", ".", "I", "went", ".", "No.", "5", "said", "no", "."]
        );
        assert_eq!(
            de("z.B. und z. B. usw. am 3. Oktober, Nr. 5, Ein- und Ausgang"),
            [
                "z.B.", "und", "z.", "B.", "usw.", "am", "3.", "Oktober", ",", "Nr.", "5", ",", "Ein-", "und",
                "Ausgang"
            ]
        );
        assert_eq!(
            de("Er wurde 3. Dann kam er."),
            ["Er", "wurde", "3", ".", "Dann", "kam", "er", "."]
        );
    }

    #[test]
    fn keeps_urls_and_emails() {
        assert_eq!(
            en("See (https://example.com/a?b=c&d=e), or mail john.doe@example.org."),
            [
                "See",
                "(",
                "https://example.com/a?b=c&d=e",
                ")",
                ",",
                "or",
                "mail",
                "john.doe@example.org",
                "."
            ]
        );
        assert_eq!(
            en("\"www.example.com/wiki/Foo_(bar)\"..."),
            ["\"", "www.example.com/wiki/Foo_(bar)", "\"", "..."]
        );
        assert_eq!(en("@home"), ["@", "home"]);
    }

    #[test]
    fn splits_quotes_and_runs() {
        assert_eq!(
            en("\"Why?!\" he asked... “Really”—‘yes’"),
            [
                "\"", "Why", "?!", "\"", "he", "asked", "...", "“", "Really", "”", "—", "‘", "yes", "’"
            ]
        );
        assert_eq!(en("Chapter 1.I.--Of the"), ["Chapter", "1.I", ".", "--", "Of", "the"]);
    }

    #[test]
    fn lowercases_on_request() {
        let tok = Tokenizer::new(Lang::De).with_lowercase(true);
        assert_eq!(tok.tokenize("Über DIE Straße."), ["über", "die", "straße", "."]);
        let mut seen = Vec::new();
        tok.for_each_token("ÄRGER und Ärger", |t| seen.push(t.to_string()));
        assert_eq!(seen, ["ärger", "und", "ärger"]);
    }

    #[test]
    fn non_breaking_space_separates_and_spans_point_into_text() {
        let text = "Nummer\u{a0}28 ok.";
        assert_eq!(de(text), ["Nummer", "28", "ok", "."]);
        let spans = Tokenizer::new(Lang::De).token_spans(text);
        let back: Vec<&str> = spans.iter().map(|r| &text[r.clone()]).collect();
        assert_eq!(back, ["Nummer", "28", "ok", "."]);
    }

    #[test]
    fn empty_and_blank_text_have_no_tokens() {
        assert!(en("").is_empty());
        assert!(en(" \t \u{3000} ").is_empty());
    }
}
