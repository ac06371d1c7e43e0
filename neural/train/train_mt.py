#!/usr/bin/env python3
"""Train a Transformer encoder-decoder on Multi30k (one command per direction), resumable.

    python neural/train/train_mt.py --src en --tgt de --run-dir /work/neural-runs/en-de

The run directory (keep it outside the repository) receives: config.json (arguments, model config, the command),
tokenizer.json (shared BPE, trained on train.src + train.tgt unless --tokenizer is given), log.jsonl (one line per
epoch: train loss, val loss/ppl, greedy val sacreBLEU, lr, time), epoch_NNN.pt (weights after each epoch),
best.pt (weights with the best val BLEU) and last.pt (weights + optimizer + RNG + position, also written every
--save-minutes inside an epoch). Re-running the same command resumes from last.pt, bit for bit on the same machine.

More data (Tatoeba deu-eng beside Multi30k), continuing a finished run, then back to Multi30k alone:

    python neural/train/train_mt.py --src en --tgt de --run-dir RUN_MIX --tokenizer RUN/tokenizer.json \
        --extra tatoeba --upsample 2 --init RUN/epoch_039.pt --lr 5e-4 --warmup 300 --epochs 2
    python neural/train/train_mt.py --src en --tgt de --run-dir RUN_FT --tokenizer RUN/tokenizer.json \
        --init RUN_MIX/epoch_002.pt --lr 2e-4 --warmup 100 --epochs 5
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import sacrebleu
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fivegram_neural import data  # noqa: E402
from fivegram_neural.model import BOS, EOS, PAD, Config, Seq2Seq, average_states  # noqa: E402
from fivegram_neural.search import TorchBackend, greedy  # noqa: E402

# arguments that must not change when a run is resumed
FIXED = ["src", "tgt", "corpus", "seed", "vocab", "d_model", "heads", "ffn", "enc_layers", "dec_layers", "dropout",
         "attn_dropout", "act_dropout", "max_tokens", "lr", "warmup", "label_smoothing", "weight_decay", "clip",
         "limit", "bf16", "extra", "upsample", "init"]


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", required=True)
    ap.add_argument("--tgt", required=True)
    ap.add_argument("--run-dir", required=True, type=Path)
    ap.add_argument("--corpus", default="multi30k")
    ap.add_argument("--tokenizer", type=Path, help="use this tokenizer.json instead of training one")
    ap.add_argument("--epochs", type=int, default=40, help="stop after this many epochs (raise it to continue)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--vocab", type=int, default=8000)
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=1024)
    ap.add_argument("--enc-layers", type=int, default=3)
    ap.add_argument("--dec-layers", type=int, default=3)
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--attn-dropout", type=float, default=0.1)
    ap.add_argument("--act-dropout", type=float, default=0.1)
    ap.add_argument("--max-tokens", type=int, default=2500, help="padded tokens per batch (longer side)")
    ap.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    ap.add_argument("--warmup", type=int, default=1000, help="linear warm-up updates, then inverse square root")
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--clip", type=float, default=1.0, help="gradient norm clip (0 = off)")
    ap.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=True,
                    help="bfloat16 autocast for training matmuls (fp32 weights; ~2x faster on CPUs with AMX/AVX512-BF16); "
                         "evaluation always runs in fp32")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--save-minutes", type=float, default=10.0)
    ap.add_argument("--max-len", type=int, default=200, help="drop training pairs with a side longer than this")
    ap.add_argument("--limit", type=int, default=0, help="smoke tests: use only the first N train/val pairs")
    ap.add_argument("--extra", choices=["tatoeba"], help="add Tatoeba deu-eng (all pairs, minus any whose side is a "
                    "sentence of the corpus's val or test_2016_flickr) to the training pairs")
    ap.add_argument("--upsample", type=int, default=1, help="repeat the corpus's own training pairs this many times "
                    "(with --extra: the mixing ratio)")
    ap.add_argument("--init", default=None, help="start a new run from these weights (state dicts or epoch files of "
                    "another run, comma-separated: their average), e.g. to continue a Multi30k model on more data")
    args = ap.parse_args(argv)
    if args.upsample < 1:
        ap.error(f"--upsample must be at least 1, not {args.upsample}")
    return args


def atomic_save(obj, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def lr_at(step: int, peak: float, warmup: int) -> float:
    step = max(step, 1)
    return peak * min(step / warmup, math.sqrt(warmup / step))


def collate(pairs, idx):
    src = [pairs[i][0] + [EOS] for i in idx]
    tgt = [pairs[i][1] for i in idx]
    s = torch.full((len(idx), max(map(len, src))), PAD, dtype=torch.int64)
    t_in = torch.full((len(idx), max(map(len, tgt)) + 1), PAD, dtype=torch.int64)
    t_out = torch.full_like(t_in, PAD)
    for r, (a, b) in enumerate(zip(src, tgt)):
        s[r, : len(a)] = torch.tensor(a)
        t_in[r, : len(b) + 1] = torch.tensor([BOS] + b)
        t_out[r, : len(b) + 1] = torch.tensor(b + [EOS])
    return s, t_in, t_out


def evaluate(model, tok, pairs, refs, batch_sents=100):
    """-> (val NLL per target token, greedy sacreBLEU, hypotheses)."""
    model.eval()
    nll, ntok = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(pairs), batch_sents):
            idx = list(range(start, min(start + batch_sents, len(pairs))))
            s, t_in, t_out = collate(pairs, idx)
            logits = model(s, t_in)
            nll += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), t_out.reshape(-1), ignore_index=PAD,
                                   reduction="sum").item()
            ntok += int((t_out != PAD).sum())
    backend = TorchBackend(model)
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]))
    hyps = [""] * len(pairs)
    for start in range(0, len(order), batch_sents):
        idx = order[start : start + batch_sents]
        outs = greedy(backend, [pairs[i][0] + [EOS] for i in idx])
        for i, ids in zip(idx, outs):
            hyps[i] = data.decode(tok, ids)
    bleu = sacrebleu.corpus_bleu(hyps, [refs]).score
    model.train()
    return nll / max(ntok, 1), bleu, hyps


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    run = args.run_dir
    run.mkdir(parents=True, exist_ok=True)
    log = lambda msg: print(time.strftime("%H:%M:%S"), msg, flush=True)  # noqa: E731

    cfg_path = run / "config.json"
    argd = {k: v for k, v in vars(args).items()}
    argd["run_dir"] = str(run)
    argd["tokenizer"] = str(args.tokenizer) if args.tokenizer else None
    if cfg_path.exists():
        old = json.loads(cfg_path.read_text())
        bad = [k for k in FIXED if old["args"].get(k) != argd.get(k)]
        if bad:
            raise SystemExit(f"{cfg_path}: resuming with changed arguments {bad}; use a new --run-dir")

    paths = {(s, l): data.corpus_path(args.corpus, s, l) for s in ("train", "val") for l in (args.src, args.tgt)}
    text = {k: data.read_lines(p) for k, p in paths.items()}
    for s in ("train", "val"):
        if len(text[(s, args.src)]) != len(text[(s, args.tgt)]):
            raise SystemExit(f"{paths[(s, args.src)]} and {paths[(s, args.tgt)]} differ in line count")

    tok_path = run / "tokenizer.json"
    if not tok_path.exists():
        if args.tokenizer:
            tok = Tokenizer.from_file(str(args.tokenizer))
        else:
            log(f"training BPE (vocab {args.vocab}) on train.{args.src} + train.{args.tgt}")
            tok = data.train_tokenizer(text[("train", args.src)] + text[("train", args.tgt)], args.vocab)
        tok.save(str(tok_path) + ".tmp")
        os.replace(str(tok_path) + ".tmp", tok_path)
    tok = Tokenizer.from_file(str(tok_path))
    vocab = tok.get_vocab_size()

    def pairs_of(split):
        a = data.encode(tok, text[(split, args.src)])
        b = data.encode(tok, text[(split, args.tgt)])
        return list(zip(a, b))

    train = pairs_of("train") * args.upsample
    if args.extra == "tatoeba":
        held = set()
        for split in ("val", "test_2016_flickr"):
            for lang in (args.src, args.tgt):
                held.update(line.strip() for line in data.read_lines(data.corpus_path(args.corpus, split, lang)))
        tat = data.tatoeba_pairs(args.src, args.tgt)
        kept = [(a, b) for a, b in tat if a.strip() not in held and b.strip() not in held]
        log(f"Tatoeba: {len(tat)} pairs, {len(tat) - len(kept)} left out (a side is a val or test sentence)")
        train += list(zip(data.encode(tok, [a for a, _ in kept]), data.encode(tok, [b for _, b in kept])))
    train = [p for p in train if 0 < len(p[0]) <= args.max_len and 0 < len(p[1]) <= args.max_len]
    val = pairs_of("val")
    val_refs = text[("val", args.tgt)]
    if args.limit:
        train, val, val_refs = train[: args.limit], val[: args.limit], val_refs[: args.limit]
    batches = data.make_batches(train, args.max_tokens)
    log(f"{len(train)} training pairs, {len(batches)} batches/epoch, vocab {vocab}")

    cfg = Config(vocab_size=vocab, d_model=args.d_model, heads=args.heads, ffn=args.ffn, enc_layers=args.enc_layers,
                 dec_layers=args.dec_layers, dropout=args.dropout, attn_dropout=args.attn_dropout,
                 act_dropout=args.act_dropout, max_len=args.max_len + 2)
    if not cfg_path.exists():
        atomic_write(cfg_path, json.dumps({
            "args": argd, "model": cfg.to_dict(), "command": " ".join([Path(sys.executable).name] + sys.argv),
            "data": {f"{s}.{l}": str(p) for (s, l), p in paths.items()}, "torch": torch.__version__,
        }, indent=1) + "\n")

    torch.manual_seed(args.seed)
    model = Seq2Seq(cfg)
    nparams = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98), eps=1e-9,
                            weight_decay=args.weight_decay)
    epoch, batch_pos, step, best = 1, 0, 0, -1.0
    last = run / "last.pt"
    rng = None
    if last.exists():
        st = torch.load(last, map_location="cpu", weights_only=False)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["optim"])
        epoch, batch_pos, step, best, rng = st["epoch"], st["batch_pos"], st["step"], st["best"], st["rng"]
        log(f"resumed from {last}: epoch {epoch}, batch {batch_pos}, update {step}, best val BLEU {best:.2f}")
    elif args.init:
        states = [torch.load(p, map_location="cpu", weights_only=True) for p in args.init.split(",")]
        states = [st.get("model", st) for st in states]
        model.load_state_dict(average_states(states))
        log(f"new run from {len(states)} checkpoint(s) ({args.init}): {nparams} parameters")
    else:
        log(f"new model: {nparams} parameters")

    def save_last(ep, pos):
        atomic_save({"model": model.state_dict(), "optim": opt.state_dict(), "epoch": ep, "batch_pos": pos,
                     "step": step, "best": best, "rng": torch.get_rng_state(), "config": cfg.to_dict()}, last)

    model.train()
    while epoch <= args.epochs:
        order = data.shuffled(batches, args.seed * 100003 + epoch)
        if batch_pos == 0 or rng is None:
            torch.manual_seed(args.seed * 100003 + epoch)
        else:
            torch.set_rng_state(rng)
        rng = None
        t0 = time.time()
        last_save = time.time()
        loss_sum, tok_sum = 0.0, 0
        for bi in range(batch_pos, len(order)):
            s, t_in, t_out = collate(train, order[bi])
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                logits = model(s, t_in)
            ntok = int((t_out != PAD).sum())
            loss = F.cross_entropy(logits.float().reshape(-1, vocab), t_out.reshape(-1), ignore_index=PAD,
                                   label_smoothing=args.label_smoothing, reduction="sum")
            (loss / ntok).backward()
            if args.clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            step += 1
            for g in opt.param_groups:
                g["lr"] = lr_at(step, args.lr, args.warmup)
            opt.step()
            opt.zero_grad(set_to_none=True)
            loss_sum += loss.item()
            tok_sum += ntok
            if (bi + 1) % 50 == 0:
                el = time.time() - t0
                log(f"epoch {epoch} batch {bi + 1}/{len(order)} update {step} loss {loss_sum / tok_sum:.4f} "
                    f"lr {lr_at(step, args.lr, args.warmup):.2e} {el / (bi + 1 - batch_pos):.2f}s/batch")
            if time.time() - last_save > args.save_minutes * 60 and bi + 1 < len(order):
                save_last(epoch, bi + 1)
                last_save = time.time()
        train_secs = time.time() - t0
        val_nll, val_bleu, hyps = evaluate(model, tok, val, val_refs)
        torch.save(model.state_dict(), run / f"epoch_{epoch:03d}.pt")
        improved = val_bleu > best
        if improved:
            best = val_bleu
            atomic_save(model.state_dict(), run / "best.pt")
            atomic_write(run / "best_val_hyps.txt", "\n".join(hyps) + "\n")
        entry = {"epoch": epoch, "updates": step, "train_loss": loss_sum / max(tok_sum, 1),
                 "val_nll": val_nll, "val_ppl": math.exp(val_nll), "val_bleu_greedy": val_bleu, "best": best,
                 "lr": lr_at(step, args.lr, args.warmup), "train_seconds": round(train_secs, 1),
                 "eval_seconds": round(time.time() - t0 - train_secs, 1), "resumed_at_batch": batch_pos}
        with open(run / "log.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
        log(json.dumps(entry))
        epoch, batch_pos = epoch + 1, 0
        save_last(epoch, 0)
    log("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
