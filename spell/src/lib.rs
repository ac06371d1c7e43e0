//! Context-aware spelling correction: candidates from a lexicon, a learned error model, n-gram ranking.
//!
//! # The types
//! - [`Speller`]: the corrector. Open one from a model directory ([`Speller::open`], [`Speller::open_default`])
//!   or build it from its parts ([`Speller::new`]); then [`Speller::correct`] (a text in context → a
//!   [`Correction`]: the corrected text and one [`Span`] per change with byte offsets, score and alternatives),
//!   [`Speller::suggest`] (one word, no context → [`Suggestion`]s), [`Speller::check`] (the spans that look
//!   wrong) and their `_batch` variants, parallel with rayon. [`Speller::with_user_words`] adds a personal
//!   dictionary (names, jargon; [`lexicon::read_word_list`] reads one, `fivegram spell --words FILE`): those words
//!   are never changed nor reported, nor are handles and hashtags (`@jhon`, `#london`).
//!   [`Speller::correct_document`] corrects texts as one document, leaving alone the names it repeats (a
//!   capitalised word the lexicon does not know, used twice inside its sentences: `Jory` stays, not `Jerry`;
//!   [`Speller::observe_names`] and [`Speller::correct_in`] do it step by step, as `fivegram spell` does with its
//!   input).
//! - [`lexicon::Lexicon`]: the words and their counts (an fst); [`index::DeleteIndex`]: the symmetric-delete index
//!   that finds the words within two edits (three for long words); [`phonetic`]: sound-alike keys.
//! - [`edit::ErrorModel`]: `-log10 P(typed | intended)`, weighted single-character edits plus Brill & Moore
//!   string-to-string rules, learned by [`train`] from misspellings mined in user-written text.
//! - [`model`]: the model directory (manifest, lexicon, error model, language model) and the [`model::Ranking`]
//!   settings; [`build`] makes one from corpora; [`eval`] measures it.
//!
//! A token's candidates are ranked by a noisy channel: the language model over its neighbours (through the
//! batched [`fivegram_lm::model::LanguageModel`] API, beam search over the sentence) plus the error model. Words
//! in the lexicon get candidates too (real-word errors such as `their`/`there`), changed only when the context
//! favours the other word by more than [`model::Ranking::context_real_word_cost`] plus the error model's cost,
//! which for a homophone (the same sound-alike key and, beyond one edit, vowel sounds that may be the same:
//! `great`/`grate`, see [`phonetic::may_sound_alike`]) is at most
//! [`model::Ranking::context_homophone_cost`]; a word's homophones too far in spelling for its best candidates
//! are added to them ([`model::Ranking::context_homophones`]: `hear` for `here`). In English a token that is a
//! contraction typed without its apostrophe gets the contraction as a candidate (`dont` → `don't`, `theyre` →
//! `they're`, `childrens` → `children's`; scored by its host word's prior and the language model's clitic after
//! it, see [`speller::CONTRACTIONS`] and [`model::Ranking::contraction_cost`]; `its`, `lets`, `cant`, `wont` and
//! `peoples` are words too and change only where the context asks for it), and `of` after a modal verb gets
//! `have` (`should of known` → `should have known`, [`speller::MODALS`]; priced as a contraction, which it spells
//! as it sounds). Case, punctuation and
//! whitespace are kept: `Bundict` becomes `Benedict`, everything outside changed words is copied byte for byte; a
//! correction to a word the corpus writes capitalised (a name, a German noun) is written so (`jhon` → `John`,
//! `man` → `Mann`; [`Speller::with_capitalised`]), and so is such a word typed all in lowercase (`london` →
//! `London`, `Der hund` → `Der Hund`, `i` → `I`; [`model::Ranking::fix_case`]; in English a name whose first
//! word is also a lowercase word is capitalised whole, `new york` → `New York`, see
//! [`speller::NAME_PART_RATIO`]).
//!
//! # Example
//! ```
//! use fivegram_corpora::tokenize::Lang;
//! use fivegram_lm::model::ArpaModel;
//! use fivegram_spell::Speller;
//! use fivegram_spell::edit::ErrorModel;
//! use fivegram_spell::lexicon::Lexicon;
//! use fivegram_spell::model::Ranking;
//!
//! // Real use: `let speller = Speller::open_default(Lang::En)?;` after `scripts/build-spell-model.sh`.
//! let arpa = "\\data\\\nngram 1=7\nngram 2=3\n\n\\1-grams:\n-6.0\t<unk>\n-99\t<s>\t-0.5\n-1.0\t</s>\n\
//!             -2.5\tscrambled\t-0.3\n-2.3\teggs\t-0.3\n-3.0\tbenedict\t-0.3\n-3.2\tbandit\t-0.3\n\n\
//!             \\2-grams:\n-0.3\tscrambled eggs\n-0.4\teggs benedict\n-0.6\tbenedict </s>\n\n\\end\\\n";
//! let lm = ArpaModel::from_arpa_text("toy.arpa", arpa)?;
//! let lexicon = Lexicon::from_counts([("scrambled", 300), ("eggs", 600), ("benedict", 80), ("bandit", 60)]);
//! let speller = Speller::new(Lang::En, lexicon, ErrorModel::default(), lm, Ranking::default());
//!
//! let fixed = speller.correct("scrumbled uggs Bundict!");
//! assert_eq!(fixed.text, "scrambled eggs Benedict!");
//! assert_eq!((fixed.spans[2].start, fixed.spans[2].end), (15, 22));
//! assert_eq!(speller.suggest("eggz", 1)[0].word, "eggs");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Memory
//! The language-model store is memory-mapped; opening a model reads the lexicon fst and indexes it in memory
//! (the delete index and the sound-alike index, whose tables sit in anonymous memory advised for transparent huge
//! pages). Correcting one line with the default English model (164,105 words, a 47 MB model directory) peaks at
//! 156 MB resident. Each thread keeps scratch buffers, a cache of
//! the context candidates of up to [`speller::KNOWN_CACHE`] lexicon words and one of the isolated-word candidates
//! of up to [`speller::SUGGEST_CACHE`] tokens ([`speller::clear_thread_caches`] empties them).
//!
//! # Quirks
//! - Tokens in mixed case (`iPhone`) and all-capital tokens of up to three letters are never changed; unknown
//!   tokens mostly outside the lexicon's alphabet, or with a character of another script (`日x`, emoji), get no
//!   candidates.
//! - Only two-word splits and merges of two tokens are considered.
//! - [`Speller::suggest`] picks its first suggestion in stages: when the best word one edit from an unknown token
//!   scores at least [`model::Ranking::stop_one_edit`] it is that word (or a split), so a word further away that
//!   would have scored higher is not first (`familys` → `family`, where the full search ranks `families` first).
//!   The first suggestion never depends on how many are asked for; `suggest(word, 1)` (the correction) stops
//!   there, and for more the others are the full search's ranking without the first, so `suggest(word, k)` is
//!   the full search's list with the staged first moved to the front. That first stage prices each word one edit
//!   away by its one wrongly typed piece (the edit alone or one rule covering it,
//!   [`edit::ErrorModel::one_piece_cost`]) instead of the full error model's programme: never cheaper, and dearer
//!   only when two wrongly typed pieces together beat every single one, so such a word's score can be a little
//!   lower than the full search's. A second stop skips the sound-alikes (words spelled further away but
//!   pronounced alike) when the best spelling neighbour scores at least [`model::Ranking::stop_spelling`]: a
//!   sound-alike that would have beaten a good spelling neighbour is then not first (`thruout` → `throat`, where
//!   the full search ranks `throughout` first). Corrections in context and the model build search in full;
//!   `--set stop_one_edit=1 --set stop_spelling=1` turns the stages off.
//! - A model's lexicon is every word its corpus holds at least three times, less the words that look like common
//!   misspellings of a far more frequent neighbour (`recieve`), except those its edited text holds often enough
//!   to be words ([`build::BuildConfig::keep_attested`]: `fox`, `hat` and `save` stay, where `for`, `that` and
//!   `have` would otherwise take them out). A rarer word left out that way whose inflectional family the edited
//!   text attests (the words sharing its Snowball stem, [`build::BuildConfig::stem_families`]) becomes a
//!   variant: a word in running text, kept unless the context strongly favours a neighbour, but unknown to
//!   isolated-word correction (`She kept hinting that the racket was too loud` stays; `suggest("hinting", 1)`
//!   is still `hunting`). A rare word without such a family is corrected like a misspelling, alone and in a
//!   sentence (`a cog in the machine` → `a dog in the machine`).
//! - What each language's default model was trained on is recorded in its manifest (`trained_on`) and in
//!   `scripts/build-spell-model.sh`: English on the Gutenberg and modern-English corpora (a 5-gram language
//!   model, error model mined from IMDb reviews); German (`--lang de`) on Tatoeba and Multi30k German, with the default edit costs because
//!   there is no German user-written text to mine.
#![deny(missing_docs)]

pub mod build;
pub mod edit;
mod error;
pub mod eval;
pub mod index;
pub mod lexicon;
pub mod model;
mod pages;
pub mod phonetic;
pub mod speller;
pub mod train;

pub use error::{Error, Result};
pub use speller::{Correction, Span, Speller, Suggestion};
