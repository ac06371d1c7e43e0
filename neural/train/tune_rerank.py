#!/usr/bin/env python3
"""Choose the weights of the neural backend's reranking (forward log-probability, length, reverse model's
log-probability of the source, optionally an n-gram LM's log-probability of the translation) on a development
set, and record them in the model's model.json.

    fivegram translate --backend neural --model neural/models/en-de --reverse neural/models/de-en \
        [--rerank-lm LM] --beam 8 --nbest 8 --json --features < val.en > val.nbest.json
    python3 neural/train/tune_rerank.py --nbest val.nbest.json --ref val.de \
        [--write neural/models/en-de --reverse ../de-en [--lm LM_RELATIVE] --beam 8]

The phrase-based decoder's n-best lists rescored with a neural language model (features decoder, words,
neural_lm) are tuned the same way, and --write-rescore records the weights in a weights file, which
`fivegram train-translation --weights` copies into the model's manifest:

    fivegram translate --backend ngram --model M --nbest 100 --json --features < val.en > val.nbest.json
    python3 neural/train/tune_rerank.py --nbest val.nbest.json --ref val.de \
        --write-rescore translate/weights/en-de.json --neural-lm lm-de --rescore-nbest 50

(M's manifest must already name the language model, e.g. with all weights but `decoder` at 0.)

The search maximises corpus BLEU (sacreBLEU's defaults, computed from per-candidate statistics) of the
reranked first translations: coordinate-wise line searches over a grid, from the forward-only weights and from
random starts (fixed seed). The weights are scaled so that the forward log-probability's weight is 1.
It also reports two-fold cross-validation on the development set (tune on one half, score the other, over
several random splits) against the forward model's own first translations, as an estimate of what the
reranking buys on unseen text; the test set is never read.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import random
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

ALL_FEATURES = ("log_prob", "length", "reverse_log_prob", "lm")
# The phrase-based decoder's n-best list rescored with a neural language model (`rescore` in its manifest): the
# features the rescoring adds; the decoder's own features come beside them. `decoder` (the search's weighted sum)
# and `words` (the same as -word_penalty) are not tuned: the decoder's features are, one by one, with neural_lm.
RESCORE_FEATURES = ("decoder", "words", "neural_lm")
FACTORS = [0.0, 0.25, 0.5, 0.75, 0.9, 1.1, 1.33, 1.6, 2.0, 3.0]  # of a decoder feature's starting weight
NEURAL_LM_GRID = [0.0, 0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3]
GRID = np.concatenate([-np.geomspace(4.0, 0.01, 24), [0.0], np.geomspace(0.01, 4.0, 24)])


def read_lines(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def ngram_counts(words: list[str], n: int) -> Counter:
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


class Candidates:
    """Feature values [N, K, F] and BLEU statistics [N, K, 10] of every sentence's candidates (K padded)."""

    def __init__(self, rows: list[dict], refs: list[str]):
        if len(rows) != len(refs):
            sys.exit(f"tune_rerank: {len(rows)} n-best lists but {len(refs)} references")
        first = (rows[0]["translations"][0].get("features") or {}) if rows else {}
        # Phrase-based lists: the decoder's features (sorted) and neural_lm.
        self.joint = "decoder" in first and "neural_lm" in first
        if self.joint:
            self.features = sorted(f for f in first if f not in RESCORE_FEATURES) + ["neural_lm"]
        else:
            self.features = [f for f in ALL_FEATURES if f in first]
        FEATURES = self.features
        tok = Tokenizer13a()
        k = max(len(r["translations"]) for r in rows)
        self.x = np.full((len(rows), k, len(FEATURES)), 0.0)
        self.valid = np.zeros((len(rows), k), dtype=bool)
        self.stats = np.zeros((len(rows), k, 10))
        for i, (row, ref) in enumerate(zip(rows, refs)):
            ref_words = tok(ref).split()
            ref_ngrams = [ngram_counts(ref_words, n) for n in range(1, 5)]
            for j, t in enumerate(row["translations"]):
                feats = t.get("features") or {}
                missing = [f for f in FEATURES if f not in feats]
                if missing:
                    sys.exit(f"tune_rerank: line {row.get('line', i + 1)} lacks features {missing}: translate with "
                             "--reverse DIR --json --features")
                self.x[i, j] = [feats[f] for f in FEATURES]
                self.valid[i, j] = True
                words = tok(t["text"]).split()
                s = [len(words), len(ref_words)]
                for n in range(1, 5):
                    c = ngram_counts(words, n)
                    s += [sum(min(v, ref_ngrams[n - 1][g]) for g, v in c.items()), max(len(words) - n + 1, 0)]
                self.stats[i, j] = s

    def bleu(self, choice: np.ndarray, idx: np.ndarray) -> float:
        tot = self.stats[idx, choice[idx]].sum(axis=0)
        return bleu_of(tot)

    def choose(self, w: np.ndarray) -> np.ndarray:
        scores = np.where(self.valid, self.x @ w, -np.inf)
        return scores.argmax(axis=1)


def bleu_of(tot: np.ndarray) -> float:
    """sacreBLEU's corpus BLEU (exp smoothing only matters for zero counts, which a corpus does not have)."""
    hyp, ref = tot[0], tot[1]
    if hyp == 0:
        return 0.0
    log_p = 0.0
    for n in range(4):
        m, t = tot[2 + 2 * n], tot[3 + 2 * n]
        if t == 0 or m == 0:
            return 0.0
        log_p += math.log(m / t) / 4
    bp = 0.0 if hyp >= ref else 1 - ref / hyp
    return 100 * math.exp(bp + log_p)


def line_search(c: Candidates, idx: np.ndarray, w: np.ndarray, coords: list[tuple[int, list[float]]],
                passes: int) -> tuple[np.ndarray, float]:
    """Coordinate-wise line searches from `w`: each (feature, values) of `coords` in turn, keeping any value
    that raises BLEU on `idx`, until a pass changes nothing or `passes` are done."""
    w = w.copy()
    cur = c.bleu(c.choose(w), idx)
    for _ in range(passes):
        improved = False
        for j, values in coords:
            for v in values:
                trial = w.copy()
                trial[j] = v
                b = c.bleu(c.choose(trial), idx)
                if b > cur + 1e-9:
                    cur, w, improved = b, trial, True
        if not improved:
            break
    return w, cur


def tune(c: Candidates, idx: np.ndarray, seed: int, restarts: int = 6, passes: int = 4) -> tuple[np.ndarray, float]:
    rng = random.Random(seed)
    dims = len(c.features)
    starts = [np.eye(dims)[0]]
    for _ in range(restarts):
        starts.append(np.array([1.0, rng.uniform(-1, 1)] + [rng.uniform(0, 1) for _ in range(dims - 2)]))
    coords = [(j, list(GRID)) for j in range(1, dims)]  # the forward weight stays 1: BLEU ignores the scale
    best_w, best = starts[0], c.bleu(c.choose(starts[0]), idx)
    for start in starts:
        w, cur = line_search(c, idx, start, coords, passes)
        if cur > best + 1e-9:
            best, best_w = cur, w
    return best_w, best


def tune_joint(c: Candidates, idx: np.ndarray, start: np.ndarray, passes: int = 3) -> tuple[np.ndarray, float]:
    """Phrase-based rescoring: from the decoder's own weights (neural_lm 0), line searches feature by feature,
    each decoder weight over FACTORS of its starting value (a weight that starts at 0 stays 0), neural_lm over
    NEURAL_LM_GRID."""
    coords = [(j, NEURAL_LM_GRID if name == "neural_lm" else [start[j] * f for f in FACTORS])
              for j, name in enumerate(c.features)]
    return line_search(c, idx, start, coords, passes)


def start_weights(c: Candidates, path: Path | None) -> np.ndarray:
    """The decoder's weights (a weights file or a model's manifest.json: `weights`, or a flat object) in the
    order of c.features, neural_lm 0."""
    if path is None:
        sys.exit("tune_rerank: phrase-based n-best lists need --start-weights (the decoder's weights file)")
    value = json.loads(path.read_text(encoding="utf-8"))
    value = value.get("weights", value)
    missing = [f for f in c.features[:-1] if f not in value and f != "bilm"]
    if missing:
        sys.exit(f"tune_rerank: {path} has no weight for {missing}")
    return np.array([float(value.get(f, 0.0)) for f in c.features[:-1]] + [0.0])


def write_json(path: Path, value: dict, indent: int) -> None:
    """Writes `value` to `path` through a temporary file and a rename."""
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(value, indent=indent, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nbest", required=True, type=Path, help="`fivegram translate --json --features` output")
    ap.add_argument("--ref", required=True, type=Path, help="the references (plain or gzip), one per line")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--splits", type=int, default=5, help="random two-fold splits for the cross-validation")
    ap.add_argument("--write", type=Path, help="record the weights in this model directory's model.json")
    ap.add_argument("--reverse", help="with --write: the reverse model's directory, relative to the model's")
    ap.add_argument("--lm", help="with --write: the n-gram model of the lm feature, relative to the model's directory")
    ap.add_argument("--beam", type=int, default=8, help="with --write: the beam whose n-best list is reranked")
    ap.add_argument("--start-weights", type=Path,
                    help="phrase-based n-best lists: the decoder's weights the search starts from (the weights file "
                         "the model was trained with, or its manifest.json)")
    ap.add_argument("--write-rescore", type=Path,
                    help="phrase-based n-best lists (features decoder, words, neural_lm): record the weights as the "
                         "`rescore` section of this weights file (translate/weights/L1-L2.json)")
    ap.add_argument("--neural-lm", default="lm-de",
                    help="with --write-rescore: the neural language model's name or path (default lm-de)")
    ap.add_argument("--rescore-nbest", type=int, default=30,
                    help="with --write-rescore: the decoder's n-best list size that is rescored")
    args = ap.parse_args(argv)
    rows = [json.loads(line) for line in args.nbest.read_text(encoding="utf-8").splitlines() if line.strip()]
    c = Candidates(rows, read_lines(args.ref))
    n = len(rows)
    everything = np.arange(n)
    forward = np.zeros(n, dtype=int)  # the forward model's own first translation
    if c.joint:
        start = start_weights(c, args.start_weights)
        forward = c.choose(start)  # the decoder's own first translation
        search = lambda idx: tune_joint(c, idx, start)  # noqa: E731
    else:
        search = lambda idx: tune(c, idx, args.seed)  # noqa: E731
    base = c.bleu(forward, everything)
    gains = []
    for split in range(args.splits):
        perm = np.random.default_rng(args.seed + split).permutation(n)
        halves = (perm[: n // 2], perm[n // 2 :])
        for a, b in (halves, halves[::-1]):
            w, _ = search(a)
            gains.append(c.bleu(c.choose(w), b) - c.bleu(forward, b))
    w, tuned = search(everything)
    report = {
        "dev_bleu_forward": round(base, 2),
        "dev_bleu_reranked": round(tuned, 2),
        "heldout_half_gain_mean": round(float(np.mean(gains)), 2),
        "heldout_half_gain_min": round(float(np.min(gains)), 2),
        "heldout_half_gain_max": round(float(np.max(gains)), 2),
        "weights": dict(zip(c.features, [round(float(v), 6) for v in w])),
    }
    print(json.dumps(report, indent=1))
    chosen = (f"dev BLEU {report['dev_bleu_forward']} -> {report['dev_bleu_reranked']} on {args.nbest.name}; "
              f"two-fold cross-validation over {args.splits} splits: {report['heldout_half_gain_mean']:+} "
              f"({report['heldout_half_gain_min']:+} to {report['heldout_half_gain_max']:+}) on the held-out "
              "half; tune_rerank.py")
    if args.write_rescore:
        if not c.joint:
            sys.exit(f"tune_rerank: --write-rescore needs phrase-based n-best lists (features {RESCORE_FEATURES} "
                     f"and the decoder's), found {c.features}")
        path = args.write_rescore
        weights_file = json.loads(path.read_text(encoding="utf-8"))
        weights_file["rescore"] = {
            "neural_lm": args.neural_lm,
            "nbest": args.rescore_nbest,
            "weights": report["weights"],
            "chosen": chosen,
        }
        write_json(path, weights_file, indent=2)
        print(f"wrote rescore into {path}", file=sys.stderr)
    if args.write:
        if not args.reverse:
            sys.exit("tune_rerank: --write needs --reverse")
        path = args.write / "model.json"
        manifest = json.loads(path.read_text(encoding="utf-8"))
        decoding = manifest.setdefault("decoding", {})
        if ("lm" in c.features) != bool(args.lm):
            sys.exit("tune_rerank: give --lm exactly when the n-best lists have the lm feature")
        decoding["rerank"] = {
            "reverse": args.reverse,
            **({"lm": args.lm} if args.lm else {}),
            "beam": args.beam,
            "weights": report["weights"],
            "chosen": chosen,
        }
        write_json(path, manifest, indent=1)
        print(f"wrote decoding.rerank into {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
