//! The model's subword tokenizer (`tokenizer.json`, a Hugging Face BPE with a Metaspace pre-tokenizer).

use std::path::PathBuf;

use tokenizers::decoders::DecoderWrapper;
use tokenizers::{Decoder, Tokenizer};

use crate::model_dir::{Config, ModelDir};
use crate::{Error, Result};

/// The mark of a word start in Metaspace pieces.
pub(crate) const METASPACE: char = '▁';

/// A loaded `tokenizer.json`, checked against `model.json`'s special ids.
#[derive(Debug)]
pub(crate) struct Subwords {
    inner: Tokenizer,
    path: PathBuf,
    unk_id: u32,
    specials: [u32; 3],
}

impl Subwords {
    /// Loads `tokenizer.json` from the model directory (size and sha256 checked).
    pub(crate) fn load(model: &ModelDir) -> Result<Subwords> {
        let bytes = model.read("tokenizer.json")?;
        let path = model.dir().join("tokenizer.json");
        let inner = Tokenizer::from_bytes(&bytes).map_err(|e| Error::Tokenizer {
            path: path.clone(),
            message: format!("not a Hugging Face tokenizer: {e}"),
        })?;
        let config: &Config = model.config();
        for (token, id) in [
            ("<pad>", config.pad_id),
            ("<s>", config.bos_id),
            ("</s>", config.eos_id),
            ("<unk>", config.unk_id),
        ] {
            let found = inner.token_to_id(token);
            if found != Some(id) {
                return Err(Error::Tokenizer {
                    path,
                    message: format!("{token} has id {found:?}, but model.json says {id}"),
                });
            }
        }
        let size = inner.get_vocab_size(true);
        if size > config.vocab_size {
            return Err(Error::Tokenizer {
                path,
                message: format!("{size} tokens, more than model.json's vocab_size {}", config.vocab_size),
            });
        }
        Ok(Subwords {
            inner,
            path,
            unk_id: config.unk_id,
            specials: [config.pad_id, config.bos_id, config.eos_id],
        })
    }

    fn error(&self, what: &str, e: tokenizers::Error) -> Error {
        Error::Tokenizer {
            path: self.path.clone(),
            message: format!("{what}: {e}"),
        }
    }

    /// The ids of `text`, without special tokens.
    pub(crate) fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let encoding = self
            .inner
            .encode(text, false)
            .map_err(|e| self.error("encoding failed", e))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// The ids of `text` grouped by word: a piece starting with `▁` starts a word (and so does the first piece).
    pub(crate) fn encode_words(&self, text: &str) -> Result<Vec<Vec<u32>>> {
        let encoding = self
            .inner
            .encode(text, false)
            .map_err(|e| self.error("encoding failed", e))?;
        let mut words: Vec<Vec<u32>> = Vec::new();
        for (id, token) in encoding.get_ids().iter().zip(encoding.get_tokens()) {
            match words.last_mut() {
                Some(word) if !token.starts_with(METASPACE) => word.push(*id),
                _ => words.push(vec![*id]),
            }
        }
        Ok(words)
    }

    /// The text of target ids (`<pad>`, `<s>`, `</s>` left out). With `fill`, `<unk>` pieces are replaced, in
    /// order, by its words (the source words the tokenizer could not cover) and left out once it runs dry;
    /// without, they stay `<unk>`, as the Python reference decoder writes them.
    pub(crate) fn decode(&self, ids: &[u32], fill: Option<&[String]>) -> Result<String> {
        let keep_unk = fill.is_none();
        let mut fill = fill.unwrap_or_default().iter();
        let mut tokens: Vec<String> = Vec::with_capacity(ids.len());
        for &id in ids {
            if self.specials.contains(&id) {
                continue;
            }
            if id == self.unk_id && !keep_unk {
                if let Some(word) = fill.next() {
                    let word_start = tokens.last().is_none_or(|t| t != &METASPACE.to_string());
                    tokens.push(if word_start {
                        format!("{METASPACE}{word}")
                    } else {
                        word.clone()
                    });
                }
                continue;
            }
            match self.inner.id_to_token(id) {
                Some(token) => tokens.push(token),
                None => {
                    return Err(Error::Tokenizer {
                        path: self.path.clone(),
                        message: format!("the model produced id {id}, which the tokenizer does not know"),
                    });
                }
            }
        }
        match self.inner.get_decoder() {
            Some(decoder) => {
                let decoder: &DecoderWrapper = decoder;
                decoder.decode(tokens).map_err(|e| self.error("decoding failed", e))
            }
            None => Ok(tokens.concat().replace(METASPACE, " ").trim().to_string()),
        }
    }

    /// The words of `text` (split at whitespace) whose pieces include `<unk>`, in order.
    pub(crate) fn unknown_words(&self, text: &str, ids: &[u32]) -> Result<Vec<String>> {
        if !ids.contains(&self.unk_id) {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for word in text.split_whitespace() {
            if self.encode(word)?.contains(&self.unk_id) {
                out.push(word.to_string());
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model_dir::Kind;

    fn fixture() -> Subwords {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seq2seq");
        Subwords::load(&ModelDir::open(dir, Kind::Seq2Seq).unwrap()).unwrap()
    }

    #[test]
    fn unknown_source_words_fill_unk_pieces() {
        let sub = fixture();
        let text = "A man Ωψ sings.";
        let ids = sub.encode(text).unwrap();
        assert!(ids.contains(&sub.unk_id), "{ids:?}");
        assert_eq!(sub.unknown_words(text, &ids).unwrap(), vec!["Ωψ".to_string()]);
        assert!(
            sub.unknown_words("A man", &sub.encode("A man").unwrap())
                .unwrap()
                .is_empty()
        );
        let man = sub.encode("man").unwrap();
        let mut target = man.clone();
        target.push(sub.unk_id);
        target.extend(&man);
        let fill = vec!["Ωψ".to_string()];
        assert_eq!(sub.decode(&target, Some(&fill)).unwrap(), "man Ωψ man");
        assert_eq!(sub.decode(&target, None).unwrap(), "man<unk> man");
        // More <unk> than uncovered words: the rest are left out; specials never show.
        target.push(sub.unk_id);
        target.push(sub.specials[2]);
        assert_eq!(sub.decode(&target, Some(&fill)).unwrap(), "man Ωψ man");
    }

    #[test]
    fn words_are_grouped_at_word_starts() {
        let sub = fixture();
        let words = sub.encode_words("Two dogs are playing.").unwrap();
        assert_eq!(words.len(), 4);
        let flat: Vec<u32> = words.concat();
        assert_eq!(flat, sub.encode("Two dogs are playing.").unwrap());
    }
}
