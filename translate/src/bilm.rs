//! The bilingual language model (feature `bilm`; Niehues et al. 2011, "Wider context by using bilingual language
//! models in machine translation").
//!
//! Each target word becomes one *bilingual token*: the word joined with the source words aligned to it, in
//! source order (`Hund|dog`, `einem|a`, `Baumwolle|cotton`; a target word aligned to nothing is `word|`). An
//! n-gram model over these tokens, estimated from the word-aligned training corpus, scores a hypothesis with the
//! source context of the target words before it, across phrase boundaries: where the target language model only
//! sees that `einen` followed `auf`, the bilingual model sees that `auf|onto einen|a` is likely and `auf|on
//! einen|a` much less. The decoder builds the tokens of each translation option from the option's word
//! alignment, which the phrase table stores (format version 2), and sends the model's queries in the same
//! batches as the other language models'.
//!
//! With `target_classes` the target half of each token is the word's class of the class-based model
//! ([`crate::classes`]) instead of the word, a coarser model that sees each pattern more often.

use crate::classes::WordClasses;

/// Separates the target word from its source words in a bilingual token.
pub const SEPARATOR: char = '|';

/// The bilingual token of a target word and the source words aligned to it (in source order).
pub fn token<'a>(target: &str, sources: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::with_capacity(target.len() + 16);
    out.push_str(target);
    out.push(SEPARATOR);
    for (k, source) in sources.into_iter().enumerate() {
        if k > 0 {
            out.push(SEPARATOR);
        }
        out.push_str(source);
    }
    out
}

/// The target half of a bilingual token: the word itself, or its class.
pub fn target_part(word: &str, classes: Option<&WordClasses>) -> String {
    match classes {
        Some(c) => c.class_of(word),
        None => word.to_string(),
    }
}

/// The bilingual tokens of an aligned sentence pair (`points`: source position, target position).
pub fn sentence_tokens(
    source: &[&str],
    target: &[&str],
    points: &[(u16, u16)],
    classes: Option<&WordClasses>,
) -> Vec<String> {
    let mut aligned: Vec<Vec<usize>> = vec![Vec::new(); target.len()];
    for &(i, j) in points {
        if let Some(list) = aligned.get_mut(j as usize)
            && (i as usize) < source.len()
        {
            list.push(i as usize);
        }
    }
    target
        .iter()
        .zip(&mut aligned)
        .map(|(t, list)| {
            list.sort_unstable();
            list.dedup();
            token(&target_part(t, classes), list.iter().map(|&i| source[i]))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_join_each_target_word_with_its_aligned_source_words_in_order() {
        let source = ["a", "brown", "dog"];
        let target = ["ein", "braun", "er", "Hund", "!"];
        let points = [(2u16, 3u16), (0, 0), (1, 2), (1, 1)];
        assert_eq!(
            sentence_tokens(&source, &target, &points, None),
            ["ein|a", "braun|brown", "er|brown", "Hund|dog", "!|"]
        );
        assert_eq!(token("zu", ["to", "the"]), "zu|to|the");
        let classes = WordClasses::learn([vec!["ein".to_string()]].iter().map(Vec::as_slice), 1, 2);
        assert_eq!(
            sentence_tokens(&source, &target[..4], &points, Some(&classes))[..2],
            ["ein|a", "a~un|brown"]
        );
    }
}
