#!/usr/bin/env bash
# Time per word of the fivegram store against KenLM, side by side in one run: KenLM's own benchmark
# (`kenlm_benchmark -q`, one thread, time excluding load) and the store's (`store_speed`, lock-step batches,
# time excluding load) alternate, ROUNDS times each, on the same text.
#
#   bench/store-vs-kenlm.sh KENLM_MODEL STORE_DIR TEXT [ROUNDS]     (default ROUNDS=5)
#
# KENLM_MODEL: a KenLM binary (e.g. `build_binary probing model.arpa model.probing`) built from the same ARPA
# as STORE_DIR (`fivegram build`); TEXT: one sentence per line, tokenized as the model was.
# Environment: KENLM_BIN (directory with kenlm_benchmark, default ../kenlm-build/bin next to the repository, see
# bench/kenlm.sh), THREADS (store threads, default 1), STORE_ROUNDS (store rounds per turn, default 3; the
# median of its rounds 2.. is reported), STORE_ARGS (more store_speed flags, e.g. --load to read the model into
# huge pages as KenLM's benchmark does). Prints one line per turn and the medians, and the load average
# before and after (the machine may be shared).
set -euo pipefail
if [ $# -lt 3 ]; then
  sed -n '2,14p' "$0" >&2
  exit 2
fi
repo=$(cd "$(dirname "$0")/.." && pwd)
model=$1 store=$2 text=$3 rounds=${4:-5}
kenlm_bin=${KENLM_BIN:-$repo/../kenlm-build/bin}
threads=${THREADS:-1}
store_rounds=${STORE_ROUNDS:-3}
read -r -a store_args <<<"${STORE_ARGS:-}"
for f in "$model" "$text" "$kenlm_bin/kenlm_benchmark"; do
  [ -f "$f" ] || { echo "$f: not found" >&2; exit 1; }
done
[ -f "$store/manifest.json" ] || { echo "$store: not a model directory" >&2; exit 1; }

cargo build --release -q -p fivegram-lm --example store_speed --manifest-path "$repo/Cargo.toml"
speed=$repo/target/release/examples/store_speed
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$kenlm_bin/kenlm_benchmark" -v -m "$model" <"$text" >"$work/ids"
cat "$work/ids" "$model" >/dev/null

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
kenlm=() ours=()
for ((r = 1; r <= rounds; r++)); do
  k=$("$kenlm_bin/kenlm_benchmark" -q -t 1 -m "$model" <"$work/ids" 2>/dev/null |
      sed -n 's/^Seconds per query excluding load, CPU: \([^ ]*\) Wall: \(.*\)$/\1 \2/p')
  k_cpu=$(echo "$k" | awk '{printf "%.1f", $1 * 1e9}') k_wall=$(echo "$k" | awk '{printf "%.1f", $2 * 1e9}')
  s=$("$speed" "$store" "$text" --threads "$threads" --rounds "$store_rounds" "${store_args[@]}" |
      sed -n 's/^median of rounds .*: wall \([^ ]*\) ns\/word, cpu \([^ ]*\) ns\/word.*$/\1 \2/p')
  s_wall=${s% *} s_cpu=${s#* }
  echo "turn $r: KenLM wall $k_wall ns/word (cpu $k_cpu); store wall $s_wall ns/word (cpu $s_cpu);" \
       "ratio $(awk -v a="$s_wall" -v b="$k_wall" 'BEGIN {printf "%.3f", a / b}')"
  kenlm+=("$k_wall") ours+=("$s_wall")
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
km=$(median "${kenlm[@]}") sm=$(median "${ours[@]}")
echo "median: KenLM $km ns/word, store ($threads thread(s)) $sm ns/word, ratio" \
     "$(awk -v a="$sm" -v b="$km" 'BEGIN {printf "%.3f", a / b}')"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
