//! Word lists the tokenizer and the sentence splitter consult: abbreviations that keep their period, month names,
//! the words that announce a German ordinal, clitics.
//!
//! Lookups take the word lowercased (see [`lower_short`]) and without its final period.

use super::Lang;

/// Lowercases `word` for a lexicon lookup, or `None` when it is too long to be in any list here.
pub(crate) fn lower_short(word: &str) -> Option<String> {
    (word.len() <= 12).then(|| word.to_lowercase())
}

/// Abbreviations that are written with a final period and are (nearly) never a word on their own, so the period
/// belongs to them wherever they stand.
pub(crate) fn is_abbreviation(lower: &str, lang: Lang) -> bool {
    is_title(lower, lang)
        || match lang {
            Lang::En => matches!(
                lower,
                "etc"
                    | "vs"
                    | "cf"
                    | "viz"
                    | "approx"
                    | "ca"
                    | "esp"
                    | "ibid"
                    | "al"
                    | "inc"
                    | "ltd"
                    | "corp"
                    | "bros"
                    | "co"
                    | "jan"
                    | "feb"
                    | "mar"
                    | "apr"
                    | "jun"
                    | "jul"
                    | "aug"
                    | "sep"
                    | "sept"
                    | "oct"
                    | "nov"
                    | "dec"
                    | "mon"
                    | "tue"
                    | "tues"
                    | "wed"
                    | "thu"
                    | "thurs"
                    | "fri"
                    | "sat"
                    | "ave"
                    | "blvd"
                    | "esq"
                    | "dept"
                    | "est"
                    | "govt"
                    | "univ"
                    | "assn"
            ),
            Lang::De => matches!(
                lower,
                "bzw"
                    | "usw"
                    | "etc"
                    | "ca"
                    | "vgl"
                    | "evtl"
                    | "ggf"
                    | "inkl"
                    | "zzgl"
                    | "exkl"
                    | "bspw"
                    | "insb"
                    | "usf"
                    | "sog"
                    | "allg"
                    | "anm"
                    | "hrsg"
                    | "verf"
                    | "mio"
                    | "mrd"
                    | "tsd"
                    | "tel"
                    | "abs"
                    | "abb"
                    | "bd"
                    | "jh"
                    | "jhd"
                    | "jhs"
                    | "kap"
                    | "str"
                    | "geb"
                    | "gest"
                    | "gegr"
                    | "jan"
                    | "feb"
                    | "mär"
                    | "apr"
                    | "jun"
                    | "jul"
                    | "aug"
                    | "sept"
                    | "okt"
                    | "nov"
                    | "dez"
                    | "zb"
                    | "vs"
                    | "ehem"
                    | "einschl"
                    | "entspr"
                    | "evang"
                    | "kath"
                    | "bzgl"
                    | "gem"
                    | "nachm"
                    | "vorm"
                    | "urspr"
            ),
        }
}

/// Titles and honorifics: always followed by a name, so never the end of a sentence.
pub(crate) fn is_title(lower: &str, lang: Lang) -> bool {
    match lang {
        Lang::En => matches!(
            lower,
            "mr" | "mrs"
                | "ms"
                | "messrs"
                | "mme"
                | "mlle"
                | "dr"
                | "prof"
                | "rev"
                | "hon"
                | "st"
                | "mt"
                | "ft"
                | "jr"
                | "sr"
                | "gen"
                | "col"
                | "capt"
                | "cpt"
                | "lt"
                | "sgt"
                | "maj"
                | "cmdr"
                | "adm"
                | "gov"
                | "sen"
                | "rep"
                | "pres"
                | "supt"
                | "insp"
                | "fr"
                | "sta"
                | "ste"
        ),
        Lang::De => matches!(
            lower,
            "dr" | "prof"
                | "hr"
                | "hrn"
                | "fr"
                | "frl"
                | "dipl"
                | "ing"
                | "st"
                | "mag"
                | "med"
                | "phil"
                | "rer"
                | "nat"
                | "jur"
        ),
    }
}

/// Abbreviations that keep their period only when a number follows (`No. 5`, `Nr. 3`, `S. 12`, `Art. 5`).
pub(crate) fn is_numeric_abbreviation(lower: &str, lang: Lang) -> bool {
    match lang {
        Lang::En => matches!(
            lower,
            "no" | "nos" | "p" | "pp" | "vol" | "vols" | "fig" | "figs" | "art" | "ch" | "sec" | "op"
        ),
        Lang::De => matches!(
            lower,
            "nr" | "s" | "art" | "abs" | "bd" | "kap" | "tab" | "abb" | "ziff" | "lfd"
        ),
    }
}

/// Abbreviations that often end a sentence (`…, and so on etc.`), so the sentence splitter still splits after
/// them when a capitalised word follows.
pub(crate) fn can_end_sentence(lower: &str, lang: Lang) -> bool {
    match lang {
        Lang::En => matches!(lower, "etc" | "inc" | "ltd" | "corp" | "co" | "bros" | "esq" | "al"),
        Lang::De => matches!(lower, "usw" | "u.s.w" | "etc" | "usf" | "ggf" | "evtl" | "bzw"),
    }
}

/// Month names (full and abbreviated), which make a preceding German `3.` an ordinal (`am 3. Oktober`).
pub(crate) fn is_month(lower: &str, lang: Lang) -> bool {
    match lang {
        Lang::En => matches!(
            lower,
            "january"
                | "february"
                | "march"
                | "april"
                | "may"
                | "june"
                | "july"
                | "august"
                | "september"
                | "october"
                | "november"
                | "december"
        ),
        Lang::De => matches!(
            lower,
            "januar"
                | "jänner"
                | "februar"
                | "märz"
                | "april"
                | "mai"
                | "juni"
                | "juli"
                | "august"
                | "september"
                | "oktober"
                | "november"
                | "dezember"
                | "jan"
                | "feb"
                | "mär"
                | "apr"
                | "jun"
                | "jul"
                | "aug"
                | "sep"
                | "sept"
                | "okt"
                | "nov"
                | "dez"
        ),
    }
}

/// German words after which `3.` is an ordinal (`am 3.`, `der 20. Jahrhunderts`, `bis 5.`).
pub(crate) fn announces_ordinal(lower: &str) -> bool {
    matches!(
        lower,
        "am" | "im"
            | "vom"
            | "zum"
            | "zur"
            | "beim"
            | "der"
            | "die"
            | "das"
            | "den"
            | "dem"
            | "des"
            | "ab"
            | "bis"
            | "seit"
            | "vor"
            | "nach"
            | "ihr"
            | "ihre"
            | "ihrem"
            | "ihren"
            | "ihres"
            | "sein"
            | "seine"
            | "seinem"
            | "seinen"
            | "seines"
            | "mein"
            | "meine"
            | "meinem"
            | "meinen"
            | "dein"
            | "deine"
            | "unser"
            | "unsere"
            | "jeden"
            | "jedem"
            | "jeder"
            | "jedes"
            | "zwischen"
            | "und"
            | "oder"
            | "am."
    )
}

/// Words written with a leading apostrophe that stays on them (`'tis`, `'em`, `'80s`; German `'s`, `'ne`,
/// `'raus`), given lowercased without the apostrophe. English clitics (`'s`, `'ll`) standing alone, as in text
/// that is already tokenized, count too, so tokenizing tokenized text changes nothing.
pub(crate) fn keeps_leading_apostrophe(lower: &str, lang: Lang) -> bool {
    // Decades: '80s (a bare '99 is left alone: it may as well open a quotation).
    let years = lower.len() == 3 && lower.bytes().take(2).all(|b| b.is_ascii_digit()) && lower.ends_with('s');
    years
        || match lang {
            Lang::En => matches!(
                lower,
                "tis" | "twas" | "twere" | "em" | "cause" | "til" | "n" | "s" | "ll" | "re" | "ve" | "m" | "d" | "t"
            ),
            Lang::De => matches!(
                lower,
                "s" | "n"
                    | "ne"
                    | "nen"
                    | "nem"
                    | "ner"
                    | "raus"
                    | "rein"
                    | "rauf"
                    | "runter"
                    | "rüber"
                    | "rum"
                    | "nauf"
                    | "naus"
                    | "nein"
                    | "mal"
                    | "nüber"
                    | "em"
            ),
        }
}

/// The length in bytes of an English clitic at the end of `word` (`n't`, `'s`, `'ll`, `'re`, `'ve`, `'m`, `'d`,
/// with a straight or curly apostrophe, any case), if the word is more than the clitic; 0 otherwise.
pub(crate) fn english_clitic_len(word: &str) -> usize {
    let chars: Vec<(usize, char)> = word.char_indices().rev().take(4).collect();
    // chars[0] is the last character, chars[1] the one before, ...
    let is_apostrophe = |c: char| c == '\'' || c == '’';
    let len_from = |i: usize| word.len() - chars[i].0;
    let before_ok = |i: usize| {
        // the character before position i (in reverse order) must exist and be alphanumeric
        chars.get(i + 1).is_some_and(|&(_, c)| c.is_alphanumeric())
    };
    if chars.len() >= 4 {
        let (t, a, n) = (chars[0].1, chars[1].1, chars[2].1);
        if t.eq_ignore_ascii_case(&'t')
            && is_apostrophe(a)
            && n.eq_ignore_ascii_case(&'n')
            && chars[3].1.is_alphabetic()
        {
            return len_from(2);
        }
    }
    if chars.len() >= 3 {
        let (x, a) = (chars[0].1.to_ascii_lowercase(), chars[1].1);
        if matches!(x, 's' | 'm' | 'd') && is_apostrophe(a) && before_ok(1) {
            return len_from(1);
        }
    }
    if chars.len() >= 4 {
        let (y, x, a) = (
            chars[0].1.to_ascii_lowercase(),
            chars[1].1.to_ascii_lowercase(),
            chars[2].1,
        );
        if matches!((x, y), ('l', 'l') | ('r', 'e') | ('v', 'e')) && is_apostrophe(a) && before_ok(2) {
            return len_from(2);
        }
    }
    0
}

/// True for an English clitic token (`'s`, `n't`, `'ll`, …) that attaches to the word before it.
pub(crate) fn is_english_clitic(token: &str) -> bool {
    let t = token.strip_prefix('\'').or_else(|| token.strip_prefix('’'));
    match t {
        Some(rest) => {
            rest.len() <= 2 && matches!(rest.to_ascii_lowercase().as_str(), "s" | "m" | "d" | "ll" | "re" | "ve")
        }
        None => {
            token.eq_ignore_ascii_case("n't") || {
                let mut c = token.chars();
                matches!(
                    (c.next(), c.next(), c.next(), c.next()),
                    (Some('n' | 'N'), Some('’'), Some('t' | 'T'), None)
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clitic_lengths() {
        assert_eq!(english_clitic_len("don't"), 3);
        assert_eq!(english_clitic_len("DON'T"), 3);
        assert_eq!(english_clitic_len("can’t"), 5);
        assert_eq!(english_clitic_len("John's"), 2);
        assert_eq!(english_clitic_len("we'll"), 3);
        assert_eq!(english_clitic_len("they’re"), 5);
        assert_eq!(english_clitic_len("I'm"), 2);
        assert_eq!(english_clitic_len("1960's"), 2);
        assert_eq!(english_clitic_len("n't"), 0);
        assert_eq!(english_clitic_len("'s"), 0);
        assert_eq!(english_clitic_len("ma'am"), 0);
        assert_eq!(english_clitic_len("O'Neil"), 0);
        assert_eq!(english_clitic_len("rock'n'roll"), 0);
        assert_eq!(english_clitic_len("cats"), 0);
    }

    #[test]
    fn clitic_tokens() {
        for t in ["'s", "n't", "N'T", "'ll", "’re", "n’t", "'VE"] {
            assert!(is_english_clitic(t), "{t}");
        }
        for t in ["'", "s", "'em", "nt", "'sss"] {
            assert!(!is_english_clitic(t), "{t}");
        }
    }
}
