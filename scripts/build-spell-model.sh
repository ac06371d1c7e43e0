#!/usr/bin/env bash
# Builds the default English spelling model of `fivegram spell`.
#
#   scripts/build-spell-model.sh [--small] [MODEL_DIR]
#
# --small builds the CI model instead: the same recipe on one shard of each corpus (Gutenberg train-00, wiki-00,
# wikinews-00, recipes; IMDb 00-01 as user text), about a tenth of the text; it needs MODEL_DIR.
#
# MODEL_DIR defaults to $FIVEGRAM_SPELL_MODEL, else ${XDG_DATA_HOME:-~/.local/share}/fivegram/models/spell-en, which
# is where `fivegram spell` looks without --model. Corpora come from FIVEGRAM_MIRROR (default: ../shared/corpora
# next to the checkout) through `fivegram corpora path`, else from the cache or their upstream URLs.
#
# What it trains on (all lowercased through the project's word tokenizer):
#   language model  3-gram modified Kneser-Ney, bigrams and trigrams seen once pruned (--prune 0 1 1), on the
#                   Gutenberg train shards and all of modern-english (Wikipedia, Wikinews, recipes, IMDb reviews),
#                   about 95M tokens; stored as a 4-shard, 8-bit store directory (lm/).
#   lexicon         every word seen at least 3 times in the same text, less the common misspellings the error model
#                   recognises (words that isolated ranking corrects to a far more frequent neighbour).
#   error model     edits mined from the IMDb reviews (user-written text): rare tokens one or two edits from a word
#                   at least 100 times as frequent (see fivegram_spell::train). No misspelling list is used; the
#                   Norvig and Aspell lists serve only for evaluation (spell-testset1 tuned the isolated-word
#                   ranking settings; lines 5001- of english/gutenberg-dev tuned the real-word settings).
# Cost on 2 shared cores: 9 minutes and 1.8 GB of memory at peak (most of it counting the words); --small:
# 1.5 minutes and 0.4 GB (measured, see BENCHMARKS.md ## Spelling).
set -euo pipefail
cd "$(dirname "$0")/.."
export FIVEGRAM_MIRROR="${FIVEGRAM_MIRROR:-$(pwd)/../shared/corpora}"
small=0
if [ "${1:-}" = "--small" ]; then
  small=1
  shift
  if [ $# -eq 0 ]; then
    echo "usage: scripts/build-spell-model.sh --small MODEL_DIR" >&2
    exit 2
  fi
fi
out="${1:-${FIVEGRAM_SPELL_MODEL:-${XDG_DATA_HOME:-$HOME/.local/share}/fivegram/models/spell-en}}"
fg="${FIVEGRAM_BIN:-target/release/fivegram}"
if [ ! -x "$fg" ]; then
  cargo build --release --bin fivegram
fi

mapfile -t gutenberg < <("$fg" corpora path gutenberg train)
mapfile -t modern < <("$fg" corpora path modern-english train)
edited=()
user=()
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

parent="$(dirname "$out")"
mkdir -p "$parent"
work="$(mktemp -d "$parent/.spell-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "== language model: 3-gram MKN on ${#edited[@]} + ${#user[@]} files"
"$fg" estimate --order 3 --tokenizer words --lower --prune 0 1 1 --memory "${FIVEGRAM_MEMORY:-2G}" \
  "${edited[@]}" "${user[@]}" --arpa "$work/lm.arpa"
"$fg" build --arpa "$work/lm.arpa" --shards 4 --quantize 8 --smoothing mkn -o "$work/lm"
rm -f "$work/lm.arpa"

echo "== lexicon and error model"
"$fg" spell --build "$work" --lm lm --corpus "${edited[@]}" --user-corpus "${user[@]}" \
  --trained-on "lexicon and 3-gram LM: Gutenberg train + modern-english (Wikipedia, Wikinews, recipes, IMDb), \
lowercased words; error model: edits mined from IMDb reviews; ranking tuned on Norvig's spell-testset1"

rm -rf "$out.old"
if [ -e "$out" ]; then mv "$out" "$out.old"; fi
mv "$work" "$out"
trap - EXIT
rm -rf "$out.old"
echo "== built $out"
"$fg" spell --model "$out" "scrumbled uggs Bundict"
