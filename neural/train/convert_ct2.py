#!/usr/bin/env python3
"""Convert a trained encoder-decoder checkpoint to CTranslate2 (the very same weights), for speed comparisons.

    pip install ctranslate2==4.8.5
    python neural/train/convert_ct2.py --run-dir /work/neural-runs/en-de --out /tmp/ct2-en-de \
        [--checkpoint best|last|N|avg:K] [--quantization int8|float32]

The architecture maps one to one onto CTranslate2's pre-norm TransformerSpec: ReLU FFN, embeddings scaled by
sqrt(d_model), final layer norms, shared embedding as output projection. Positions are given as an explicit
table computed by the same sinusoid function as the PyTorch model. Tokens are the BPE pieces of tokenizer.json
(`<pad>` is CTranslate2's `<blank>`); the source gets `</s>` appended and decoding starts from `<s>`, as in the ONNX
contract. `translate_ct2(...)` runs it on text.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fivegram_neural.model import Config, Seq2Seq, sinusoid  # noqa: E402

MAX_POSITIONS = 1024


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(torch.float32).numpy().copy()


def _linear(spec, lin: torch.nn.Linear) -> None:
    spec.weight = _np(lin.weight)
    spec.bias = _np(lin.bias)


def _fused(spec, lins) -> None:
    spec.weight = np.concatenate([_np(lin.weight) for lin in lins], axis=0)
    spec.bias = np.concatenate([_np(lin.bias) for lin in lins], axis=0)


def _norm(spec, ln: torch.nn.LayerNorm) -> None:
    spec.gamma = _np(ln.weight)
    spec.beta = _np(ln.bias)


def _ffn(spec, ffn, ln) -> None:
    _norm(spec.layer_norm, ln)
    _linear(spec.linear_0, ffn.fc1)
    _linear(spec.linear_1, ffn.fc2)


def build_spec(model: Seq2Seq, vocab: list[str]):
    """A validated-ready ctranslate2 TransformerSpec holding `model`'s weights."""
    from ctranslate2.specs import common_spec, transformer_spec

    cfg = model.cfg
    spec = transformer_spec.TransformerSpec.from_config(
        (cfg.enc_layers, cfg.dec_layers), cfg.heads, pre_norm=True, activation=common_spec.Activation.RELU)
    emb = _np(model.embed.weight)
    pos = _np(sinusoid(torch.arange(MAX_POSITIONS), cfg.d_model))
    spec.encoder.embeddings[0].weight = emb
    spec.encoder.position_encodings.encodings = pos
    spec.decoder.embeddings.weight = emb
    spec.decoder.position_encodings.encodings = pos
    for ls, layer in zip(spec.encoder.layer, model.enc_layers):
        a = layer.attn
        _fused(ls.self_attention.linear[0], [a.q, a.k, a.v])
        _linear(ls.self_attention.linear[1], a.o)
        _norm(ls.self_attention.layer_norm, layer.ln1)
        _ffn(ls.ffn, layer.ffn, layer.ln2)
    _norm(spec.encoder.layer_norm, model.enc_ln)
    for ls, layer in zip(spec.decoder.layer, model.decoder.layers):
        a, c = layer.self_attn, layer.cross_attn
        _fused(ls.self_attention.linear[0], [a.q, a.k, a.v])
        _linear(ls.self_attention.linear[1], a.o)
        _norm(ls.self_attention.layer_norm, layer.ln1)
        _linear(ls.attention.linear[0], c.q)
        _fused(ls.attention.linear[1], [c.k, c.v])
        _linear(ls.attention.linear[2], c.o)
        _norm(ls.attention.layer_norm, layer.ln2)
        _ffn(ls.ffn, layer.ffn, layer.ln3)
    _norm(spec.decoder.layer_norm, model.decoder.ln)
    spec.decoder.projection.weight = _np(model.decoder.output_weight())
    pieces = ["<blank>" if p == "<pad>" else p for p in vocab]
    spec.register_source_vocabulary(pieces)
    spec.register_target_vocabulary(pieces)
    spec.config.unk_token = "<unk>"
    spec.config.bos_token = "<s>"
    spec.config.eos_token = "</s>"
    spec.config.decoder_start_token = "<s>"
    spec.config.add_source_eos = True
    return spec


def convert(model: Seq2Seq, vocab: list[str], out: Path, quantization: str | None = None) -> Path:
    from ctranslate2.converters.converter import Converter

    class _FromModel(Converter):
        def _load(self):
            return build_spec(model, vocab)

    return Path(_FromModel().convert(str(out), quantization=quantization, force=True))


def translate_ct2(model_dir: Path, tok, lines: list[str], beam: int = 4, batch: int = 32, threads: int = 1):
    """-> (texts, target piece ids) with CTranslate2; beam 1 is greedy."""
    import ctranslate2

    tr = ctranslate2.Translator(str(model_dir), device="cpu", inter_threads=1, intra_threads=threads)
    src = [e.tokens for e in tok.encode_batch(lines, add_special_tokens=False)]
    res = tr.translate_batch(src, beam_size=beam, max_batch_size=batch, length_penalty=1.0,
                             max_decoding_length=max(2 * max((len(s) for s in src), default=1) + 12, 16))
    ids = [[tok.token_to_id(p) for p in r.hypotheses[0]] for r in res]
    return [tok.decode(i, skip_special_tokens=False) for i in ids], ids


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-dir", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--checkpoint", default="best")
    ap.add_argument("--quantization", default="int8", help="int8, float32, ... (CTranslate2 names)")
    ap.add_argument("--bench", action="store_true",
                    help="then translate test_2016_flickr (beam 4, batch 32) and print source tokens/s and BLEU")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    import export_model
    from tokenizers import Tokenizer

    conf = json.loads((args.run_dir / "config.json").read_text())
    model = Seq2Seq(Config(**conf["model"]))
    state, desc, _ = export_model.load_weights(args.run_dir, args.checkpoint)
    model.load_state_dict(state)
    model.eval()
    tok = Tokenizer.from_file(str(args.run_dir / "tokenizer.json"))
    vocab = [tok.id_to_token(i) for i in range(tok.get_vocab_size())]
    convert(model, vocab, args.out, args.quantization)
    print(f"wrote {args.out} ({desc}, {args.quantization})")
    if args.bench:
        import time

        from fivegram_neural import data
        from fivegram_neural.translate import bleu

        src_lang, tgt_lang = conf["args"]["src"], conf["args"]["tgt"]
        lines = data.read_lines(data.corpus_path("multi30k", "test_2016_flickr", src_lang))
        refs = data.read_lines(data.corpus_path("multi30k", "test_2016_flickr", tgt_lang))
        tokens = sum(len(e.ids) + 1 for e in tok.encode_batch(lines, add_special_tokens=False))
        t0 = time.perf_counter()
        hyps, _ = translate_ct2(args.out, tok, lines, beam=4, batch=32, threads=args.threads)
        secs = time.perf_counter() - t0
        score, sig = bleu(hyps, refs)
        print(json.dumps({"engine": f"ctranslate2 {args.quantization}", "threads": args.threads, "beam": 4,
                          "batch": 32, "source_tokens": tokens, "seconds": round(secs, 2),
                          "source_tokens_per_s": round(tokens / secs, 1), "bleu": score, "signature": sig}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
