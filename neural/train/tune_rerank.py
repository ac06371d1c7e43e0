#!/usr/bin/env python3
"""Choose the weights of the neural backend's reranking (forward log-probability, length, reverse model's
log-probability of the source, optionally an n-gram LM's log-probability of the translation) on a development
set, and record them in the model's model.json.

    fivegram translate --backend neural --model neural/models/en-de --reverse neural/models/de-en \
        [--rerank-lm LM] --beam 8 --nbest 8 --json --features < val.en > val.nbest.json
    python3 neural/train/tune_rerank.py --nbest val.nbest.json --ref val.de \
        [--write neural/models/en-de --reverse ../de-en [--lm LM_RELATIVE] --beam 8]

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
# The phrase-based decoder's n-best list rescored with a neural language model (`rescore` in its manifest).
RESCORE_FEATURES = ("decoder", "words", "neural_lm")
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
        known = RESCORE_FEATURES if "decoder" in first else ALL_FEATURES
        self.features = [f for f in known if f in first]
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


def tune(c: Candidates, idx: np.ndarray, seed: int, restarts: int = 6, passes: int = 4) -> tuple[np.ndarray, float]:
    rng = random.Random(seed)
    dims = len(c.features)
    starts = [np.eye(dims)[0]]
    for _ in range(restarts):
        starts.append(np.array([1.0, rng.uniform(-1, 1)] + [rng.uniform(0, 1) for _ in range(dims - 2)]))
    best_w, best = starts[0], c.bleu(c.choose(starts[0]), idx)
    for w in starts:
        w = w.copy()
        cur = c.bleu(c.choose(w), idx)
        for _ in range(passes):
            improved = False
            for j in range(1, dims):  # the forward weight stays 1: BLEU ignores the scale
                for v in GRID:
                    trial = w.copy()
                    trial[j] = v
                    b = c.bleu(c.choose(trial), idx)
                    if b > cur + 1e-9:
                        cur, w, improved = b, trial, True
            if not improved:
                break
        if cur > best + 1e-9:
            best, best_w = cur, w
    return best_w, best


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
    base = c.bleu(forward, everything)
    gains = []
    for split in range(args.splits):
        perm = np.random.default_rng(args.seed + split).permutation(n)
        halves = (perm[: n // 2], perm[n // 2 :])
        for a, b in (halves, halves[::-1]):
            w, _ = tune(c, a, args.seed)
            gains.append(c.bleu(c.choose(w), b) - c.bleu(forward, b))
    w, tuned = tune(c, everything, args.seed)
    report = {
        "dev_bleu_forward": round(base, 2),
        "dev_bleu_reranked": round(tuned, 2),
        "heldout_half_gain_mean": round(float(np.mean(gains)), 2),
        "heldout_half_gain_min": round(float(np.min(gains)), 2),
        "heldout_half_gain_max": round(float(np.max(gains)), 2),
        "weights": dict(zip(c.features, [round(float(v), 4) for v in w])),
    }
    print(json.dumps(report, indent=1))
    chosen = (f"dev BLEU {report['dev_bleu_forward']} -> {report['dev_bleu_reranked']} on {args.nbest.name}; "
              f"two-fold cross-validation over {args.splits} splits: {report['heldout_half_gain_mean']:+} "
              f"({report['heldout_half_gain_min']:+} to {report['heldout_half_gain_max']:+}) on the held-out "
              "half; tune_rerank.py")
    if args.write_rescore:
        if c.features != list(RESCORE_FEATURES):
            sys.exit(f"tune_rerank: --write-rescore needs the features {RESCORE_FEATURES}, found {c.features}")
        path = args.write_rescore
        weights_file = json.loads(path.read_text(encoding="utf-8"))
        weights_file["rescore"] = {
            "neural_lm": args.neural_lm,
            "nbest": args.rescore_nbest,
            "weights": report["weights"],
            "chosen": chosen,
        }
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(weights_file, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
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
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        print(f"wrote decoding.rerank into {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
