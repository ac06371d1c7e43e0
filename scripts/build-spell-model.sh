#!/usr/bin/env bash
# Builds the default English spelling model of `fivegram spell`.
#
#   scripts/build-spell-model.sh [--small] [--lang en|de] [MODEL_DIR]
#
# --small builds the CI model instead: the same recipe on one shard of each corpus (Gutenberg train-00, wiki-00,
# wikinews-00, recipes; IMDb 00-01 as user text), about a tenth of the text; it needs MODEL_DIR.
#
# --lang de builds a German model (Tatoeba German + Multi30k train German, default edit costs) into
# .../models/spell-de unless MODEL_DIR is given.
# MODEL_DIR defaults to $FIVEGRAM_SPELL_MODEL, else ${XDG_DATA_HOME:-~/.local/share}/fivegram/models/spell-en, which
# is where `fivegram spell` looks without --model. Corpora come from FIVEGRAM_MIRROR (default: ../shared/corpora
# next to the checkout) through `fivegram corpora path`, else from the cache or their upstream URLs.
#
# What it trains on (all lowercased through the project's word tokenizer):
#   language model  5-gram modified Kneser-Ney, n-grams of two to five words seen once pruned (--prune 0 1 1 1 1),
#                   on the Gutenberg train shards and all of modern-english (Wikipedia, Wikinews, recipes, IMDb
#                   reviews), about 95M tokens; stored as a 4-shard, 8-bit store directory (lm/, 85 MB).
#   lexicon         every word seen at least 3 times in the same text, less the common misspellings the error model
#                   recognises (words that isolated ranking corrects to a far more frequent neighbour), except
#                   words the edited text (all but IMDb) holds at least 1.5 times per million words, which are
#                   real words (`fox`, `hat`, `save`), not misspellings of `for`, `that`, `have` (--keep-attested).
#                   Left-out words whose inflectional family (same Snowball stem, not the neighbour's) the edited
#                   text holds that often go to variants.fst: words in running text (`hinting`, `racket`), unknown
#                   to isolated-word correction (--no-stem-families leaves them out).
#   error model     edits mined from the IMDb reviews (user-written text): rare tokens one or two edits from a word
#                   at least 100 times as frequent (see fivegram_spell::train). No misspelling list is used; the
#                   Norvig and Aspell lists serve only for evaluation (spell-testset1 tuned the isolated-word
#                   ranking settings; lines 5001- of english/gutenberg-dev tuned the real-word settings).
# Cost on 2 shared cores: 2.6 minutes on a quiet machine (the 5-gram), more under load, and 2.1 GB of memory at
# peak (most of it counting the words); --small: 18 s to 2 minutes and 0.9 GB (measured, see BENCHMARKS.md
# ## Spelling).
set -euo pipefail
cd "$(dirname "$0")/.."
export FIVEGRAM_MIRROR="${FIVEGRAM_MIRROR:-$(pwd)/../shared/corpora}"
small=0
lang=en
while [ $# -gt 0 ]; do
  case "$1" in
    --small) small=1; shift ;;
    --lang)
      if [ $# -lt 2 ]; then echo "--lang needs en or de" >&2; exit 2; fi
      lang="$2"
      shift 2
      ;;
    -*) echo "usage: scripts/build-spell-model.sh [--small] [--lang en|de] [MODEL_DIR]" >&2; exit 2 ;;
    *) break ;;
  esac
done
case "$lang" in
  en | de) ;;
  *) echo "--lang: en or de, found '$lang'" >&2; exit 2 ;;
esac
if [ "$small" = 1 ] && [ $# -eq 0 ]; then
  echo "usage: scripts/build-spell-model.sh --small MODEL_DIR" >&2
  exit 2
fi
if [ "$lang" = en ]; then
  default="${FIVEGRAM_SPELL_MODEL:-${XDG_DATA_HOME:-$HOME/.local/share}/fivegram/models/spell-en}"
else
  default="${XDG_DATA_HOME:-$HOME/.local/share}/fivegram/models/spell-$lang"
fi
out="${1:-$default}"
fg="${FIVEGRAM_BIN:-target/release/fivegram}"
if [ ! -x "$fg" ]; then
  cargo build --release --bin fivegram
fi

parent="$(dirname "$out")"
mkdir -p "$parent"
work="$(mktemp -d "$parent/.spell-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

edited=()
user=()
if [ "$lang" = de ]; then
  # German: Tatoeba's German column and Multi30k train; no user-written German text to mine an error model from,
  # so the default edit costs serve.
  mapfile -t tatoeba < <("$fg" corpora path tatoeba-deu-eng all)
  gzip -dc "${tatoeba[@]}" | cut -f2 > "$work/tatoeba.de.txt"
  edited=("$work/tatoeba.de.txt" "$("$fg" corpora path multi30k train de)")
  trained="lexicon and 5-gram LM: Tatoeba German + Multi30k train German, lowercased words; error model: default \
edit costs (no German user text to mine)"
else
  mapfile -t gutenberg < <("$fg" corpora path gutenberg train)
  mapfile -t modern < <("$fg" corpora path modern-english train)
  for f in "${modern[@]}"; do
    name="$(basename "$f")"
    if [ "$small" = 1 ]; then
      case "$name" in
        imdb-0[01].*) user+=("$f") ;;
        wiki-00.* | wikinews-00.* | recipes-*) edited+=("$f") ;;
      esac
      continue
    fi
    case "$name" in
      imdb-*) user+=("$f") ;;
      *) edited+=("$f") ;;
    esac
  done
  for f in "${gutenberg[@]}"; do
    if [ "$small" = 0 ] || [ "$(basename "$f")" = gutenberg-train-00.txt.gz ]; then
      edited+=("$f")
    fi
  done
  if [ "$small" = 1 ]; then
    trained="lexicon and 5-gram LM: Gutenberg train-00, wiki-00, wikinews-00, recipes, IMDb 00-01 (the CI model)"
  else
    trained="lexicon and 5-gram LM: Gutenberg train + modern-english (Wikipedia, Wikinews, recipes, IMDb)"
  fi
  trained="$trained, lowercased words; error model: edits mined from IMDb reviews; ranking tuned on Norvig's \
spell-testset1 and gutenberg-dev lines 5001-"
fi

echo "== language model: 5-gram MKN on ${#edited[@]} + ${#user[@]} files"
"$fg" estimate --order 5 --tokenizer words --lang "$lang" --lower --prune 0 1 1 1 1 --memory "${FIVEGRAM_MEMORY:-2G}" \
  "${edited[@]}" ${user[@]+"${user[@]}"} --arpa "$work/lm.arpa"
"$fg" build --arpa "$work/lm.arpa" --shards 4 --quantize 8 --smoothing mkn -o "$work/lm"
rm -f "$work/lm.arpa"

echo "== lexicon and error model"
user_args=()
if [ ${#user[@]} -gt 0 ]; then user_args=(--user-corpus "${user[@]}"); fi
"$fg" spell --build "$work" --lang "$lang" --lm lm --corpus "${edited[@]}" ${user_args[@]+"${user_args[@]}"} \
  --trained-on "$trained"
rm -f "$work/tatoeba.de.txt"

rm -rf "$out.old"
if [ -e "$out" ]; then mv "$out" "$out.old"; fi
mv "$work" "$out"
trap - EXIT
rm -rf "$out.old"
echo "== built $out"
if [ "$lang" = en ]; then
  "$fg" spell --model "$out" "scrumbled uggs Bundict"
else
  "$fg" spell --model "$out" --lang "$lang" "Ich habe das Buch gelessen."
fi
