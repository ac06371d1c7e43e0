#!/usr/bin/env python3
"""Python reference decoder over a model directory's ONNX files.

    python neural/train/decode.py --model neural/models/en-de [--fp32] [--beam 4 | --greedy] \
        [--input FILE(.gz)] [--ref FILE(.gz)] [--ids]

Reads source lines (stdin by default), prints one translation per line (or the target ids, space-separated, with
--ids); with --ref, prints the sacreBLEU score and signature to stderr.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fivegram_neural import data  # noqa: E402
from fivegram_neural.translate import bleu, load, translate  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, type=Path)
    ap.add_argument("--fp32", action="store_true", help="use encoder.onnx/decoder.onnx instead of the int8 graphs")
    ap.add_argument("--beam", type=int, default=4)
    ap.add_argument("--greedy", action="store_true")
    ap.add_argument("--alpha", type=float, default=1.0, help="length penalty exponent")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--input", type=Path)
    ap.add_argument("--ref", type=Path)
    ap.add_argument("--ids", action="store_true")
    args = ap.parse_args(argv)
    lines = data.read_lines(args.input) if args.input else [line.rstrip("\n") for line in sys.stdin]
    backend, tok = load(args.model, not args.fp32, args.threads)
    t0 = time.time()
    hyps, ids = translate(backend, tok, lines, 0 if args.greedy else args.beam, args.batch, args.alpha)
    secs = time.time() - t0
    for h, i in zip(hyps, ids):
        print(" ".join(map(str, i)) if args.ids else h)
    if args.ref:
        refs = data.read_lines(args.ref)
        score, sig = bleu(hyps, refs)
        print(f"BLEU {score} ({sig}), {len(lines)} lines in {secs:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
