#!/usr/bin/env python3
"""Export a trained encoder-decoder run to a model directory (contract format), check it, and score it.

    python neural/train/export_model.py --run-dir /work/neural-runs/en-de --out neural/models/en-de \
        [--checkpoint best|last|N|avg:K] [--keep-fp32] [--no-eval]

1. loads the checkpoint (best.pt by val BLEU; last.pt; epoch_N.pt; or the average of the K latest epoch files),
2. exports fp32 encoder/decoder graphs into <run-dir>/export/<tag>/ and checks ONNX Runtime against PyTorch to
   1e-4 on fixed inputs (exits 1 on a mismatch, writing nothing to --out),
3. quantizes both graphs to int8 (onnxruntime quantize_dynamic),
4. scores val (greedy) and test_2016_flickr (beam 4 and greedy), int8 and fp32, with the Python ONNX decoder;
   test hypotheses go to the staging folder, the int8 greedy ones also to --out as the reference the Rust decoder
   must reproduce,
5. writes tokenizer.json, the int8 graphs (fp32 too with --keep-fp32, or when they total under --fp32-max-mb)
   and model.json (sha256 of every file, training command, data, epoch, seed, BLEU) into --out.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fivegram_neural import data, export  # noqa: E402
from fivegram_neural.model import Config, Seq2Seq, average_states  # noqa: E402
from fivegram_neural.search import OnnxBackend  # noqa: E402
from fivegram_neural.translate import bleu, translate  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402


def load_weights(run: Path, which: str):
    """-> (state_dict, description, epoch)."""
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines() if line.strip()]
    if not log:
        raise SystemExit(f"{run / 'log.jsonl'}: no finished epoch yet")
    if which == "best":
        best = max(log, key=lambda e: e["val_bleu_greedy"])
        return torch.load(run / "best.pt", map_location="cpu"), f"best val BLEU (epoch {best['epoch']})", best["epoch"]
    if which == "last":
        ep = log[-1]["epoch"]
        return torch.load(run / f"epoch_{ep:03d}.pt", map_location="cpu"), f"epoch {ep} (last)", ep
    if which.startswith("avg:"):
        k = int(which[4:])
        eps = [e["epoch"] for e in log][-k:]
        states = [torch.load(run / f"epoch_{e:03d}.pt", map_location="cpu") for e in eps]
        avg = average_states(states)
        return avg, f"average of epochs {eps[0]}..{eps[-1]}", eps[-1]
    ep = int(which)
    return torch.load(run / f"epoch_{ep:03d}.pt", map_location="cpu"), f"epoch {ep}", ep


def load_lm_weights(run: Path, which: str):
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines() if line.strip()]
    if not log:
        raise SystemExit(f"{run / 'log.jsonl'}: no finished epoch yet")
    if which == "best":
        best = min(log, key=lambda e: e["val_word_ppl"])
        return torch.load(run / "best.pt", map_location="cpu"), f"best val perplexity (epoch {best['epoch']})", best
    if which.startswith("avg:"):
        k = int(which[4:])
        entries = log[-k:]
        states = [torch.load(run / f"epoch_{e['epoch']:03d}.pt", map_location="cpu") for e in entries]
        desc = f"average of epochs {entries[0]['epoch']}..{entries[-1]['epoch']}"
        return average_states(states), desc, entries[-1]
    ep = log[-1]["epoch"] if which == "last" else int(which)
    at = next(e for e in log if e["epoch"] == ep)
    return torch.load(run / f"epoch_{ep:03d}.pt", map_location="cpu"), f"epoch {ep}", at


def export_lm_run(args, run: Path, conf: dict, cfg: Config) -> int:
    """The decoder-only LM: lm.onnx (+ int8), word-level perplexities on the validation and test splits."""
    import train_lm
    from fivegram_neural.model import LanguageModel

    state, desc, at = load_lm_weights(run, args.checkpoint)
    model = LanguageModel(cfg)
    model.load_state_dict(state)
    model.eval()
    stage = run / "export" / args.checkpoint
    stage.mkdir(parents=True, exist_ok=True)
    path = export.export_lm(model, stage)
    try:
        worst = export.check_lm(model, path)
    except export.Mismatch as e:
        print(f"export check failed: {e}", file=sys.stderr)
        return 1
    print(f"ONNX Runtime vs PyTorch, max abs difference: {worst}", flush=True)
    export.quantize(path, stage / "lm.int8.onnx")
    shutil.copy(run / "tokenizer.json", stage / "tokenizer.json")
    tok = Tokenizer.from_file(str(stage / "tokenizer.json"))
    scores = {}
    if not args.no_eval:
        name = conf["args"]["data"]
        lang = name.split("-")[1] if name.startswith("multi30k-") else None
        splits = {"ptb": [("valid", "ptb", "valid"), ("test", "ptb", "test")],
                  "gutenberg": [("dev", "gutenberg", "dev")],
                  "modern": [("dev", "modern-english", train_lm.MODERN_DEV)],
                  "multi30k-de": [("val", "multi30k", "val"), ("test_2016_flickr", "multi30k", "test_2016_flickr")],
                  "multi30k-en": [("val", "multi30k", "val"), ("test_2016_flickr", "multi30k", "test_2016_flickr")],
                  }[name]
        for label, corpus, split in splits:
            path = train_lm.modern_shard(split) if name == "modern" else data.corpus_path(corpus, split, lang)
            lines = train_lm.validation_lines(name, path)
            nll, count = train_lm.word_level_nll(model, tok, lines)
            scores[label] = {"word_ppl": round(float(torch.tensor(nll / count).exp()), 2), "tokens": count}
            print(f"{label}: word-level perplexity {scores[label]['word_ppl']} over {count} words + </s>", flush=True)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    files = ["tokenizer.json", "lm.int8.onnx"]
    if args.keep_fp32 or path.stat().st_size / 1e6 < args.fp32_max_mb:
        files.append("lm.onnx")
    for n in files:
        shutil.copy(stage / n, out / n)
    manifest = export.base_manifest(
        "lm", cfg, lang=conf["args"]["data"].split("-")[1] if conf["args"]["data"].startswith("multi30k-") else "en",
        training={"command": conf["command"], "data": f"{conf['args']['data']} train "
                  f"({', '.join(Path(p).name for p in conf['data']['train'])})", "epochs": at["epoch"],
                  "checkpoint": desc, "seed": conf["args"]["seed"], "torch": conf["torch"].split("+")[0],
                  "bleu_val": None, "val_word_ppl": at["val_word_ppl"], "updates": at["updates"]},
        eval=scores, export={"command": " ".join(["python"] + [str(a) for a in sys.argv]),
                             "max_abs_diff_vs_pytorch": worst})
    export.write_manifest(out, manifest, files)
    print(f"wrote {out}: {', '.join(files)} and model.json", flush=True)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-dir", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--checkpoint", default="best")
    ap.add_argument("--keep-fp32", action="store_true", help="also put the fp32 graphs into --out")
    ap.add_argument("--fp32-max-mb", type=float, default=15.0, help="put fp32 into --out when they total less")
    ap.add_argument("--no-eval", action="store_true")
    ap.add_argument("--beam", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    run = args.run_dir
    conf = json.loads((run / "config.json").read_text())
    cfg = Config(**conf["model"])
    if "data" in conf["args"]:
        return export_lm_run(args, run, conf, cfg)
    src, tgt = conf["args"]["src"], conf["args"]["tgt"]
    state, desc, epoch = load_weights(run, args.checkpoint)
    model = Seq2Seq(cfg)
    model.load_state_dict(state)
    model.eval()
    tag = args.checkpoint.replace(":", "")
    stage = run / "export" / tag
    stage.mkdir(parents=True, exist_ok=True)
    print(f"exporting {desc} to {stage}", flush=True)
    enc, dec = export.export_seq2seq(model, stage)
    try:
        worst = export.check_seq2seq(model, enc, dec)
    except export.Mismatch as e:
        print(f"export check failed: {e}", file=sys.stderr)
        return 1
    print(f"ONNX Runtime vs PyTorch, max abs difference: {worst}", flush=True)
    qenc = export.quantize(enc, stage / "encoder.int8.onnx")
    qdec = export.quantize(dec, stage / "decoder.int8.onnx")
    shutil.copy(run / "tokenizer.json", stage / "tokenizer.json")
    tok = Tokenizer.from_file(str(stage / "tokenizer.json"))

    scores: dict = {}
    if not args.no_eval:
        corpus = conf["args"].get("corpus", "multi30k")
        for split in ("val", "test_2016_flickr"):
            srcs = data.read_lines(data.corpus_path(corpus, split, src))
            refs = data.read_lines(data.corpus_path(corpus, split, tgt))
            for name, (e, d) in (("int8", (qenc, qdec)), ("fp32", (enc, dec))):
                backend = OnnxBackend(e, d, args.threads)
                for beam in ([0] if split == "val" else [0, args.beam]):
                    t0 = time.time()
                    hyps, ids = translate(backend, tok, srcs, beam)
                    secs = time.time() - t0
                    key = f"{name}_{'greedy' if beam == 0 else f'beam{beam}'}"
                    score, sig = bleu(hyps, refs)
                    scores.setdefault(split, {})[key] = score
                    scores["signature"] = sig
                    (stage / f"{split}.{key}.{tgt}").write_text("\n".join(hyps) + "\n", encoding="utf-8")
                    if split == "test_2016_flickr" and beam == 0:
                        (stage / f"{split}.{key}.ids").write_text(
                            "\n".join(" ".join(map(str, i)) for i in ids) + "\n")
                    print(f"{split} {key}: BLEU {score} ({secs:.0f}s)", flush=True)

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    files = ["tokenizer.json", "encoder.int8.onnx", "decoder.int8.onnx"]
    fp32_mb = (enc.stat().st_size + dec.stat().st_size) / 1e6
    if args.keep_fp32 or fp32_mb < args.fp32_max_mb:
        files += ["encoder.onnx", "decoder.onnx"]
    refs_out = []
    if scores:
        refs_out = [f"test_2016_flickr.int8_greedy.{tgt}", "test_2016_flickr.int8_greedy.ids"]
    for n in files + refs_out:
        shutil.copy(stage / n, out / n)
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines() if line.strip()]
    at = next((e for e in log if e["epoch"] == epoch), log[-1])
    manifest = export.base_manifest(
        "seq2seq", cfg, src_lang=src, tgt_lang=tgt,
        training={"command": conf["command"], "data": f"{conf['args'].get('corpus', 'multi30k')} train "
                  f"{src}-{tgt} ({', '.join(Path(p).name for k, p in conf['data'].items() if k.startswith('train'))}); "
                  "val for checkpoint selection",
                  "epochs": epoch, "checkpoint": desc, "seed": conf["args"]["seed"],
                  "torch": conf["torch"].split("+")[0], "bleu_val": scores.get("val", {}).get("fp32_greedy",
                                                                                             at["val_bleu_greedy"]),
                  "bleu_val_greedy_pytorch": at["val_bleu_greedy"], "updates": at["updates"],
                  "recipe": {k: conf["args"].get(k) for k in ("vocab", "max_tokens", "lr", "warmup", "dropout",
                                                          "label_smoothing", "bf16")}},
        eval=scores, export={"command": " ".join(["python"] + [str(a) for a in sys.argv]),
                             "max_abs_diff_vs_pytorch": worst,
                             "fp32_mb": round(fp32_mb, 1), "fp32_in_dir": "encoder.onnx" in files},
        reference_outputs={"test_2016_flickr.int8_greedy": refs_out} if refs_out else {},
    )
    export.write_manifest(out, manifest, files)
    print(f"wrote {out}: {', '.join(files + refs_out)} and model.json", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
