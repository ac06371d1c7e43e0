#!/usr/bin/env python3
"""Write the tiny ONNX fixtures the Rust `neural` crate tests against (deterministic; no corpus needed).

    python neural/train/make_fixtures.py [--out neural/tests/fixtures]

Random-weight models with the same export code as the real ones (d_model 16, 1+1 layers, 2 heads, a BPE of ~100
pieces trained on the sentences below), into <out>/seq2seq/ and <out>/lm/: model.json, tokenizer.json, the fp32
and int8 graphs, and expected.json with PyTorch reference outputs for fixed inputs. ONNX Runtime is checked
against PyTorch to 1e-4 before anything is written. Weights are drawn with a fixed seed (output projection untied and
random); the first seed whose greedy decodes have every arg-max ahead of the runner-up by at least MARGIN (so that
1e-4 noise cannot flip a token), at least 3 distinct tokens each, and stop with </s> for some but not all sources
is used.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fivegram_neural import data, export  # noqa: E402
from fivegram_neural.model import BOS, EOS, Config, LanguageModel, Seq2Seq  # noqa: E402
from fivegram_neural.search import OnnxBackend, TorchBackend, greedy  # noqa: E402

HERE = Path(__file__).resolve().parent
SENTENCES = [
    "A man is riding a bicycle down the street.",
    "Two dogs are playing in the snow.",
    "A woman in a red dress is singing on a stage.",
    "Children are sitting on the grass in the park.",
    "Ein Mann fährt mit dem Fahrrad die Straße entlang.",
    "Zwei Hunde spielen im Schnee.",
    "Eine Frau in einem roten Kleid singt auf einer Bühne.",
    "Kinder sitzen im Park auf dem Gras.",
    "The old man reads a newspaper at the table.",
    "Der alte Mann liest am Tisch eine Zeitung.",
]
SOURCES = ["A man is singing in the park.", "Zwei Kinder spielen.", "The dog reads a red newspaper on the street."]
LM_SENTENCES = ["The man is playing in the snow.", "Eine Frau liest."]
MAX_STEPS = 12
MARGIN = 1e-2
VOCAB = 100
SEED0 = 20261128
CFG = dict(d_model=16, heads=2, ffn=32, enc_layers=1, dec_layers=1, dropout=0.0, attn_dropout=0.0, act_dropout=0.0,
           max_len=64)


def training_info(seed: int) -> dict:
    return {"command": "python neural/train/make_fixtures.py", "data": "the sentences in make_fixtures.py",
            "epochs": 0, "seed": seed, "torch": torch.__version__.split("+")[0], "bleu_val": None,
            "note": "random weights: a test fixture, not a trained model"}


def untie_random(model) -> None:
    """An output projection of its own (random): with a tied one, a random model just repeats its input token."""
    model.decoder.out_proj = torch.nn.Parameter(torch.randn(model.cfg.vocab_size, model.cfg.d_model) * 0.5)


def greedy_with_margins(model: Seq2Seq, src: list[int]):
    """Batch-1 PyTorch greedy decode; returns (ids, finished, smallest top1-top2 gap, first-step log-probs)."""
    backend = TorchBackend(model)
    from fivegram_neural.search import pad_batch

    s = pad_batch([src])
    mask = (s != 0).astype(np.int64)
    ck, cv = backend.encode(s)
    pk = np.zeros((model.cfg.dec_layers, 1, model.cfg.heads, 0, model.cfg.head_dim), np.float32)
    pv = pk.copy()
    tok = np.array([[BOS]], dtype=np.int64)
    ids, gap, first, finished = [], np.inf, None, False
    for _ in range(MAX_STEPS):
        lp, pk, pv = backend.step(tok, mask, ck, cv, pk, pv)
        row = lp[0]
        if first is None:
            first = row
        top2 = np.sort(row)[-2:]
        gap = min(gap, float(top2[1] - top2[0]))
        nxt = int(row.argmax())
        if nxt == EOS:
            finished = True
            break
        ids.append(nxt)
        tok = np.array([[nxt]], dtype=np.int64)
    return ids, finished, gap, first


def make_seq2seq(out: Path, tok, seed_start: int) -> None:
    vocab = tok.get_vocab_size()
    sources = [ids + [EOS] for ids in data.encode(tok, SOURCES)]
    for seed in range(seed_start, seed_start + 1000):
        torch.manual_seed(seed)
        model = Seq2Seq(Config(vocab_size=vocab, **CFG), embed_std=1.0).eval()
        untie_random(model)
        results = [greedy_with_margins(model, s) for s in sources]
        if (min(r[2] for r in results) >= MARGIN and any(r[1] for r in results)
                and not all(r[1] for r in results) and all(len(set(r[0])) >= 3 for r in results)):
            break
    else:
        raise SystemExit("no seed gave clear greedy margins")
    with tempfile.TemporaryDirectory(dir=out.parent) as tmpdir:
        tmp = Path(tmpdir)
        enc, dec = export.export_seq2seq(model, tmp)
        export.check_seq2seq(model, enc, dec)
        export.quantize(enc, tmp / "encoder.int8.onnx")
        export.quantize(dec, tmp / "decoder.int8.onnx")
        onnx_ids = greedy(OnnxBackend(enc, dec), sources, max_steps=MAX_STEPS)
        for r, ids in zip(results, onnx_ids):
            if r[0] != ids:
                raise SystemExit(f"batched ONNX greedy {ids} differs from PyTorch {r[0]}")
        int8_ids = greedy(OnnxBackend(tmp / "encoder.int8.onnx", tmp / "decoder.int8.onnx"), sources,
                          max_steps=MAX_STEPS)
        tok.save(str(tmp / "tokenizer.json"))
        expected = {
            "max_steps": MAX_STEPS,
            "tolerance": export.ATOL,
            "note": "greedy: start from <s>, arg-max each step, stop at </s> (not included in greedy_ids) or after "
                    "max_steps tokens; PyTorch reference, batch 1; ONNX fp32 in one padded batch of 3 agrees",
            "sources": [
                {"text": t, "src_ids": s, "greedy_ids": r[0], "finished": r[1], "min_margin": r[2],
                 "greedy_text": data.decode(tok, r[0]), "first_step_log_probs": [float(x) for x in r[3]],
                 "int8_greedy_ids": i8}
                for t, s, r, i8 in zip(SOURCES, sources, results, int8_ids)
            ],
        }
        (tmp / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")
        manifest = export.base_manifest("seq2seq", model.cfg, src_lang="en", tgt_lang="de",
                                        training=training_info(seed))
        files = ["tokenizer.json", "encoder.onnx", "decoder.onnx", "encoder.int8.onnx", "decoder.int8.onnx"]
        export.write_manifest(tmp, manifest, files)
        _replace_dir(tmp, out, files + ["expected.json", "model.json"])


def make_lm(out: Path, tok, seed: int) -> None:
    vocab = tok.get_vocab_size()
    torch.manual_seed(seed)
    model = LanguageModel(Config(vocab_size=vocab, **CFG), embed_std=1.0).eval()
    untie_random(model)
    sents = []
    for text in LM_SENTENCES:
        enc = tok.encode(text, add_special_tokens=False)
        ids = [BOS] + enc.ids + [EOS]
        with torch.no_grad():
            logits, _, _ = model(torch.tensor([ids]))
            lp = torch.log_softmax(logits[0], dim=-1)
        token_lp = [float(lp[t, ids[t + 1]]) for t in range(len(ids) - 1)]
        # word-level: a piece starting with ▁ opens a word; </s> is its own final "word"
        words, cur = [], None
        for piece, value in zip(enc.tokens + ["</s>"], token_lp):
            if cur is None or piece.startswith("▁") or piece == "</s>":
                words.append([piece, value])
                cur = piece
            else:
                words[-1][0] += piece
                words[-1][1] += value
        sents.append({"text": text, "ids": ids, "pieces": enc.tokens, "token_log_probs": token_lp,
                      "sum_log_prob": float(sum(token_lp)),
                      "word_log_probs": [{"word": w.replace("▁", ""), "log_prob": v} for w, v in words]})
    with tempfile.TemporaryDirectory(dir=out.parent) as tmpdir:
        tmp = Path(tmpdir)
        path = export.export_lm(model, tmp)
        export.check_lm(model, path)
        # the whole-sentence values again through ONNX Runtime, fed in two chunks with the cache in between
        import onnxruntime as ort

        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        for s in sents:
            ids = np.array([s["ids"]], dtype=np.int64)
            cut = len(s["ids"]) // 2
            empty = np.zeros((1, 1, model.cfg.heads, 0, model.cfg.head_dim), np.float32)
            lp1, k, v = sess.run(None, {"input_ids": ids[:, :cut], "past_keys": empty, "past_values": empty})
            lp2, _, _ = sess.run(None, {"input_ids": ids[:, cut:], "past_keys": k, "past_values": v})
            lp = np.concatenate([lp1, lp2], axis=1)[0]
            got = [float(lp[t, s["ids"][t + 1]]) for t in range(len(s["ids"]) - 1)]
            if np.max(np.abs(np.array(got) - np.array(s["token_log_probs"]))) > export.ATOL:
                raise SystemExit("chunked ONNX LM log-probs differ from PyTorch")
        export.quantize(path, tmp / "lm.int8.onnx")
        tok.save(str(tmp / "tokenizer.json"))
        expected = {"tolerance": export.ATOL,
                    "note": "sentence = [<s>] + encode(text) + [</s>]; token_log_probs[t] = log P(ids[t+1] | ids[..t]) "
                            "(natural log), PyTorch reference; ONNX fed in two chunks agrees",
                    "sentences": sents}
        (tmp / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")
        manifest = export.base_manifest("lm", model.cfg, lang="en", training=training_info(seed))
        files = ["tokenizer.json", "lm.onnx", "lm.int8.onnx"]
        export.write_manifest(tmp, manifest, files)
        _replace_dir(tmp, out, files + ["expected.json", "model.json"])


def _replace_dir(tmp: Path, out: Path, names: list[str]) -> None:
    """Move the finished files into out (model.json last, so a reader never sees a manifest without its files)."""
    out.mkdir(parents=True, exist_ok=True)
    for n in sorted(names, key=lambda n: n == "model.json"):
        shutil.move(str(tmp / n), str(out / n))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=HERE.parent / "tests" / "fixtures")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    tok = data.train_tokenizer(SENTENCES, VOCAB, min_frequency=1)
    make_seq2seq(args.out / "seq2seq", tok, SEED0)
    make_lm(args.out / "lm", tok, SEED0)
    print(f"fixtures written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
