"""ONNX export per the model-directory contract, int8 dynamic quantization, and the ONNX-vs-PyTorch check."""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from .model import PAD, DecoderGraph, EncoderGraph, LanguageModel, LMGraph, Seq2Seq, untie

OPSET = 17
ATOL = 1e-4


class Mismatch(Exception):
    """ONNX Runtime disagrees with PyTorch beyond the tolerance."""


def _export(module, args, path: Path, inputs, outputs, dynamic) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module, args, str(tmp), input_names=inputs, output_names=outputs, dynamic_axes=dynamic,
            opset_version=OPSET, do_constant_folding=True, dynamo=False,
        )
    os.replace(tmp, path)


def _cache_axes(name):
    return {name: {1: "batch", 3: "past_len"}}


def export_seq2seq(model: Seq2Seq, out_dir: Path, prefix: str = "") -> tuple[Path, Path]:
    """Write `encoder.onnx` and `decoder.onnx` (fp32) for `model` (left untouched) into out_dir."""
    m = untie(model).eval()
    cfg = m.cfg
    enc_path, dec_path = out_dir / f"{prefix}encoder.onnx", out_dir / f"{prefix}decoder.onnx"
    src = torch.tensor([[5, 6, 7, 8, 2], [9, 10, 2, PAD, PAD]], dtype=torch.int64) % cfg.vocab_size
    src[src < 4] = 2
    src[1, 3:] = PAD
    _export(EncoderGraph(m), (src,), enc_path, ["src_ids"], ["cross_keys", "cross_values"],
            {"src_ids": {0: "batch", 1: "src_len"}, "cross_keys": {1: "batch", 3: "src_len"},
             "cross_values": {1: "batch", 3: "src_len"}})
    with torch.no_grad():
        ck, cv = m.encode(src)
    mask = (src != PAD).to(torch.int64)
    past = torch.randn(cfg.dec_layers, 2, cfg.heads, 3, cfg.head_dim)
    tgt = torch.tensor([[4], [5]], dtype=torch.int64) % cfg.vocab_size
    dyn = {"tgt_ids": {0: "batch"}, "src_mask": {0: "batch", 1: "src_len"},
           "cross_keys": {1: "batch", 3: "src_len"}, "cross_values": {1: "batch", 3: "src_len"},
           "log_probs": {0: "batch"}}
    for n in ("past_keys", "past_values"):
        dyn.update(_cache_axes(n))
    for n in ("present_keys", "present_values"):
        dyn[n] = {1: "batch", 3: "present_len"}
    _export(DecoderGraph(m), (tgt, mask, ck, cv, past, past.clone()), dec_path,
            ["tgt_ids", "src_mask", "cross_keys", "cross_values", "past_keys", "past_values"],
            ["log_probs", "present_keys", "present_values"], dyn)
    return enc_path, dec_path


def export_lm(model: LanguageModel, out_dir: Path, prefix: str = "") -> Path:
    m = untie(model).eval()
    cfg = m.cfg
    path = out_dir / f"{prefix}lm.onnx"
    ids = torch.tensor([[1, 5, 6, 7], [1, 8, 9, PAD]], dtype=torch.int64) % cfg.vocab_size
    past = torch.randn(cfg.dec_layers, 2, cfg.heads, 3, cfg.head_dim)
    dyn = {"input_ids": {0: "batch", 1: "seq"}, "log_probs": {0: "batch", 1: "seq"},
           "present_keys": {1: "batch", 3: "present_len"}, "present_values": {1: "batch", 3: "present_len"}}
    for n in ("past_keys", "past_values"):
        dyn.update(_cache_axes(n))
    _export(LMGraph(m), (ids, past, past.clone()), path, ["input_ids", "past_keys", "past_values"],
            ["log_probs", "present_keys", "present_values"], dyn)
    return path


def quantize(src: Path, dst: Path) -> Path:
    """int8 dynamic quantization (weights int8, activations quantized at run time)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = dst.with_name(dst.name + ".tmp.onnx")
    quantize_dynamic(str(src), str(tmp), weight_type=QuantType.QInt8)
    os.replace(tmp, dst)
    return dst


def _session(path: Path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _compare(name: str, got: np.ndarray, want: torch.Tensor, atol: float) -> float:
    want = want.detach().numpy()
    if got.shape != want.shape:
        raise Mismatch(f"{name}: ONNX shape {got.shape}, PyTorch {want.shape}")
    diff = float(np.max(np.abs(got - want))) if got.size else 0.0
    if not diff <= atol:
        raise Mismatch(f"{name}: max |ONNX - PyTorch| = {diff:.3g} > {atol}")
    return diff


def check_seq2seq(model: Seq2Seq, enc_path: Path, dec_path: Path, atol: float = ATOL, seed: int = 0) -> dict:
    """Run fixed inputs (batch 3, padding, an empty past then a 4-step cache) through ONNX Runtime and PyTorch;
    raise Mismatch beyond atol. Returns the largest differences seen."""
    model = model.eval()
    g = torch.Generator().manual_seed(seed)
    v = model.cfg.vocab_size
    src = torch.randint(4, v, (3, 7), generator=g)
    src[0, 6] = 2
    src[1, 4], src[1, 5:] = 2, PAD
    src[2, 2], src[2, 3:] = 2, PAD
    mask = (src != PAD).to(torch.int64)
    enc, dec = _session(enc_path), _session(dec_path)
    ck, cv = enc.run(None, {"src_ids": src.numpy()})
    with torch.no_grad():
        tk, tv = model.encode(src)
    worst = {"cross_keys": _compare("cross_keys", ck, tk, atol), "cross_values": _compare("cross_values", cv, tv, atol)}
    pk, pv = model.decoder.empty_cache(3)
    opk, opv = pk.numpy(), pv.numpy()
    tgt = torch.tensor([[1], [1], [1]], dtype=torch.int64)
    for step in range(5):
        lp, opk, opv = dec.run(None, {"tgt_ids": tgt.numpy(), "src_mask": mask.numpy(), "cross_keys": ck,
                                      "cross_values": cv, "past_keys": opk, "past_values": opv})
        with torch.no_grad():
            logits, pk, pv = model.decode(tgt, mask, tk, tv, pk, pv)
            tlp = torch.log_softmax(logits[:, -1], dim=-1)
        for name, a, b in (("log_probs", lp, tlp), ("present_keys", opk, pk), ("present_values", opv, pv)):
            worst[name] = max(worst.get(name, 0.0), _compare(f"{name} (step {step + 1})", a, b, atol))
        tgt = torch.randint(4, v, (3, 1), generator=g)
    return worst


def check_lm(model: LanguageModel, path: Path, atol: float = ATOL, seed: int = 0) -> dict:
    model = model.eval()
    g = torch.Generator().manual_seed(seed)
    v = model.cfg.vocab_size
    sess = _session(path)
    pk, pv = model.decoder.empty_cache(2)
    opk, opv = pk.numpy(), pv.numpy()
    worst: dict = {}
    for chunk, seq in enumerate((5, 1, 3)):
        ids = torch.randint(4, v, (2, seq), generator=g)
        if chunk == 0:
            ids[:, 0] = 1
        lp, opk, opv = sess.run(None, {"input_ids": ids.numpy(), "past_keys": opk, "past_values": opv})
        with torch.no_grad():
            logits, pk, pv = model(ids, pk, pv)
            tlp = torch.log_softmax(logits, dim=-1)
        for name, a, b in (("log_probs", lp, tlp), ("present_keys", opk, pk), ("present_values", opv, pv)):
            worst[name] = max(worst.get(name, 0.0), _compare(f"{name} (chunk {chunk + 1})", a, b, atol))
    return worst


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(out_dir: Path, manifest: dict, files: list[str]) -> Path:
    """model.json with sha256 and size of each listed file of out_dir, written atomically and last."""
    manifest = dict(manifest)
    manifest["files"] = {n: {"sha256": sha256(out_dir / n), "bytes": (out_dir / n).stat().st_size} for n in files}
    path = out_dir / "model.json"
    tmp = path.with_name("model.json.tmp")
    tmp.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def base_manifest(kind: str, cfg, **extra) -> dict:
    from .model import BOS, EOS, UNK

    m = {"format": 1, "kind": kind}
    m.update(extra)
    m.update({"vocab_size": cfg.vocab_size, "d_model": cfg.d_model, "heads": cfg.heads, "head_dim": cfg.head_dim})
    if kind == "seq2seq":
        m["enc_layers"] = cfg.enc_layers
    m.update({"dec_layers": cfg.dec_layers, "max_len": cfg.max_len, "pad_id": PAD, "bos_id": BOS, "eos_id": EOS,
              "unk_id": UNK, "word_boundary": "metaspace", "ffn": cfg.ffn, "opset": OPSET})
    return m
