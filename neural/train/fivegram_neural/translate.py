"""Translate lines with a model directory through ONNX Runtime (the Python reference decoder)."""

from __future__ import annotations

from pathlib import Path

import sacrebleu
from tokenizers import Tokenizer

from . import data
from .model import EOS
from .search import OnnxBackend, beam_search, greedy


def load(model_dir: Path, int8: bool, threads: int = 1):
    suffix = ".int8.onnx" if int8 else ".onnx"
    enc, dec = model_dir / f"encoder{suffix}", model_dir / f"decoder{suffix}"
    for p in (enc, dec):
        if not p.is_file():
            hint = "" if int8 else " (fp32 graphs are not committed: run export_model.py with --keep-fp32)"
            raise SystemExit(f"{p}: missing{hint}")
    return OnnxBackend(enc, dec, threads), Tokenizer.from_file(str(model_dir / "tokenizer.json"))


def translate(backend, tok, lines: list[str], beam: int = 0, batch: int = 32, alpha: float = 1.0):
    """-> (hypothesis texts, hypothesis ids) in input order; beam 0 means greedy."""
    sources = [ids + [EOS] for ids in data.encode(tok, lines)]
    order = sorted(range(len(sources)), key=lambda i: (len(sources[i]), i))
    out_ids: list[list[int]] = [[] for _ in sources]
    for start in range(0, len(order), batch):
        idx = order[start : start + batch]
        chunk = [sources[i] for i in idx]
        if beam > 0:
            res = [r[0][0] if r else [] for r in beam_search(backend, chunk, beam=beam, alpha=alpha)]
        else:
            res = greedy(backend, chunk)
        for i, ids in zip(idx, res):
            out_ids[i] = ids
    return [data.decode(tok, ids) for ids in out_ids], out_ids


def bleu(hyps: list[str], refs: list[str]) -> tuple[float, str]:
    metric = sacrebleu.metrics.BLEU()
    score = metric.corpus_score(hyps, [refs])
    return round(score.score, 2), str(metric.get_signature())
