#!/usr/bin/env bash
# fivegram's main job on a fresh machine: build, verify the corpora, build the default models, run them.
# Corpora come from FIVEGRAM_MIRROR (default: ../shared/corpora next to the checkout), else from the cache or
# their upstream URLs. Models go to target/models/ (override with FIVEGRAM_MODELS).
set -euo pipefail
cd "$(dirname "$0")/.."
export FIVEGRAM_MIRROR="${FIVEGRAM_MIRROR:-$(pwd)/../shared/corpora}"
models="${FIVEGRAM_MODELS:-$(pwd)/target/models}"
mkdir -p "$models"

cargo build --release
fg=target/release/fivegram

echo "== every corpus file against the catalog's sha256"
"$fg" corpora verify

echo "== a 5-gram modified Kneser-Ney model of Multi30k English (identical to KenLM's lmplz)"
"$fg" estimate --order 5 "$("$fg" corpora path multi30k train en)" --arpa "$models/m30k.en.o5.arpa"
echo "== its perplexity on test_2016_flickr (KenLM: 52.647737 including OOVs)"
"$fg" query "$models/m30k.en.o5.arpa" < <(gzip -dc "$("$fg" corpora path multi30k test_2016_flickr en)") | tail -n 4

m="$FIVEGRAM_MIRROR/multi30k"
echo "== ONNX Runtime (from PyPI's onnxruntime wheel): the neural backend, and the German neural LM that rescores"
echo "   the phrase-based en→de n-best lists"
scripts/install-onnxruntime.sh
echo "== phrase-based en→de on Multi30k (weights tuned on val; 50-best rescored with neural/models/lm-de), scored on"
echo "   test_2016_flickr"
"$fg" train-translation --from en --to de --src "$m/train.en.gz" --tgt "$m/train.de.gz" \
  --weights translate/weights/en-de.json --threads 2
gzip -dc "$m/test_2016_flickr.en.gz" | "$fg" translate --backend ngram --from en --to de > "$models/test.ngram.de"
"$fg" eval bleu --ref <(gzip -dc "$m/test_2016_flickr.de.gz") < "$models/test.ngram.de"

echo "== the neural en→de model in neural/models through ONNX Runtime"
gzip -dc "$m/test_2016_flickr.en.gz" | "$fg" translate --backend neural --from en --to de > "$models/test.neural.de"
"$fg" eval bleu --ref <(gzip -dc "$m/test_2016_flickr.de.gz") < "$models/test.neural.de"

echo "== the default English spelling model (about 4 minutes on 2 cores), then the seed query"
FIVEGRAM_BIN="$fg" scripts/build-spell-model.sh
"$fg" spell "scrumbled uggs Bundict"

echo "== n-gram against neural on Penn Treebank: a 5-gram of PTB train (its literal <unk> renamed UNKW, as for KenLM)"
gzip -dc "$("$fg" corpora path ptb train)" | sed 's/<unk>/UNKW/g' > "$models/ptb.train.txt"
"$fg" estimate --order 5 "$models/ptb.train.txt" --arpa "$models/ptb.o5.arpa"
echo "== both backends side by side (translation and perplexity): $models/bench/report.{md,html,json}"
"$fg" bench --ngram-lm "$models/ptb.o5.arpa" --ptb-unk UNKW -o "$models/bench"
cat "$models/bench/report.md"
