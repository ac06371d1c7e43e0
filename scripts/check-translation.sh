#!/usr/bin/env bash
# Trains the phrase-based en→de and de→en models on Multi30k train with the weights tuned on val
# (translate/weights/*.json: en→de PRO with its class-based language model, its 50-best lists rescored with the
# German neural LM neural/models/lm-de (needs scripts/install-onnxruntime.sh); de→en MERT, its 50-best lists
# rescored with the English neural/models/lm-en; recorded in BENCHMARKS.md), translates test_2016_flickr and fails when sacreBLEU
# drops more than 0.5 below the recorded figure; then checks that bad input gives clear errors and leaves nothing
# half-written. Prints speed (sentences/s including model load), language-model queries and batches per sentence
# and peak memory.
#
# Usage: scripts/check-translation.sh [FIVEGRAM_BINARY]     (mirror: $FIVEGRAM_MIRROR, default ../shared/corpora)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
fg="${1:-$root/target/release/fivegram}"
mirror="${FIVEGRAM_MIRROR:-$root/../shared/corpora}"
m="$mirror/multi30k"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Recorded test_2016_flickr BLEU (sacreBLEU 2.6.0 defaults, cased, detokenized); see BENCHMARKS.md "Translation".
declare -A recorded=([en-de]=37.3 [de-en]=40.7)

for pair in en-de de-en; do
  src=${pair%-*}
  tgt=${pair#*-}
  "$fg" train-translation --from "$src" --to "$tgt" --src "$m/train.$src.gz" --tgt "$m/train.$tgt.gz" \
    --weights "translate/weights/$pair.json" -o "$tmp/$pair" --threads 2 >/dev/null
  zcat "$m/test_2016_flickr.$src.gz" > "$tmp/test.$src"
  zcat "$m/test_2016_flickr.$tgt.gz" > "$tmp/test.$tgt"
  "$fg" translate --model "$tmp/$pair" --threads 2 --stats < "$tmp/test.$src" > "$tmp/hyp.$tgt" 2> "$tmp/stats.json"
  [ "$(wc -l < "$tmp/hyp.$tgt")" -eq "$(wc -l < "$tmp/test.$src")" ] || { echo "$pair: line count changed" >&2; exit 1; }
  "$fg" eval bleu --ref "$tmp/test.$tgt" --width 2 < "$tmp/hyp.$tgt" | tee "$tmp/bleu"
  "$fg" eval chrf --ref "$tmp/test.$tgt" --width 2 < "$tmp/hyp.$tgt"
  cat "$tmp/stats.json"
  bleu=$(sed -E 's/.* = ([0-9.]+) .*/\1/' "$tmp/bleu")
  if ! python3 -c "import sys; sys.exit(0 if $bleu >= ${recorded[$pair]} - 0.5 else 1)"; then
    echo "$pair: BLEU $bleu is below the recorded ${recorded[$pair]} - 0.5" >&2
    exit 1
  fi
done

expect_failure() {  # expect_failure WHAT PATTERN COMMAND...
  local what=$1 pattern=$2
  shift 2
  if "$@" > "$tmp/out" 2> "$tmp/err"; then
    echo "$what: accepted" >&2
    exit 1
  fi
  grep -q -- "$pattern" "$tmp/err" || { echo "$what: unclear error: $(cat "$tmp/err")" >&2; exit 1; }
  echo "ok: $what refused: $(head -c 200 "$tmp/err")"
}

head -n 100 "$tmp/test.en" > "$tmp/short.en"
expect_failure "mismatched parallel files" "short.en" \
  "$fg" train-translation --from en --to de --src "$tmp/short.en" --tgt "$tmp/test.de" -o "$tmp/bad"
[ ! -e "$tmp/bad" ] || { echo "a failed training left $tmp/bad behind" >&2; exit 1; }
: > "$tmp/empty.en"
: > "$tmp/empty.de"
expect_failure "empty corpus" "empty" \
  "$fg" train-translation --from en --to de --src "$tmp/empty.en" --tgt "$tmp/empty.de" -o "$tmp/bad"
expect_failure "missing model" "train-translation" "$fg" translate --model "$tmp/nowhere" < "$tmp/short.en"
cp -r "$tmp/en-de" "$tmp/corrupt"
printf 'X' | dd of="$tmp/corrupt/phrases.bin" bs=1 seek=4096 conv=notrunc status=none
expect_failure "corrupted phrase table" "checksum" "$fg" translate --model "$tmp/corrupt" --verify < "$tmp/short.en"
cp -r "$tmp/en-de" "$tmp/corrupt-lm"
printf 'X' | dd of="$tmp/corrupt-lm/lm/shard-00000.fgs" bs=1 seek=4096 conv=notrunc status=none
expect_failure "corrupted language model" "checksum\|corrupt" \
  "$fg" translate --model "$tmp/corrupt-lm" --verify < "$tmp/short.en"
truncate -s -10 "$tmp/corrupt/phrases.bin"
expect_failure "truncated phrase table" "corrupt" "$fg" translate --model "$tmp/corrupt" < "$tmp/short.en"
printf 'A dog\n\xff\xfe runs\n' > "$tmp/bad.en"
expect_failure "invalid UTF-8 on stdin" "line 2\|:2:" "$fg" translate --model "$tmp/en-de" < "$tmp/bad.en"
printf 'A dog runs.\n\n\n' | "$fg" translate --model "$tmp/en-de" > "$tmp/out"
[ "$(wc -l < "$tmp/out")" -eq 3 ] || { echo "empty lines were not passed through" >&2; exit 1; }
echo "translation checks passed"
