#!/usr/bin/env python3
"""Train a decoder-only Transformer language model (one command per model), resumable.

    python neural/train/train_lm.py --data ptb --run-dir /work/neural-runs/lm-ptb
    python neural/train/train_lm.py --data gutenberg --shards 1 --run-dir /work/neural-runs/lm-gutenberg
    python neural/train/train_lm.py --data modern --shards 1 --run-dir /work/neural-runs/lm-modern
    python neural/train/train_lm.py --data multi30k-de --run-dir /work/neural-runs/lm-multi30k-de

Multi30k (`--data multi30k-de` or `multi30k-en`) trains on one side of Multi30k train and validates on the same
side of val: the target-side model that reranks the phrase-based decoder's n-best lists.

Modern English (`--data modern`) trains on the shards named in MODERN_TRAIN (the first --shards of them) and
validates on the last MODERN_DEV_LINES lines of MODERN_DEV, a shard never trained on (the catalog has no dev split
for that corpus, and its test split is held back).

A sentence (PTB: a line; Gutenberg and modern English: a paragraph or review) is [<s>] + encode(text) + [</s>], as in the model contract;
training cuts longer ones into windows of --block tokens. The BPE (--vocab pieces) is trained on the training text.
PTB's literal `<unk>` word is the tokenizer's <unk> special token. Per epoch log.jsonl gets the training loss and
the word-level validation perplexity (sub-word log-probs summed per whitespace word, plus </s> per line: the
tokens KenLM counts), and the run directory gets epoch_NNN.pt, best.pt (lowest val perplexity) and last.pt.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fivegram_neural import data  # noqa: E402
from fivegram_neural.model import BOS, EOS, PAD, Config, LanguageModel  # noqa: E402

FIXED = ["data", "tatoeba", "upsample", "shards", "seed", "vocab", "d_model", "heads", "ffn", "layers", "dropout", "attn_dropout",
         "act_dropout", "max_tokens", "block", "lr", "warmup", "weight_decay", "clip", "limit", "bf16"]


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, choices=["ptb", "gutenberg", "modern", "multi30k-de", "multi30k-en"])
    ap.add_argument("--shards", type=int, default=1,
                    help="gutenberg, modern: number of train shards (~2-3M words each)")
    ap.add_argument("--tatoeba", action="store_true",
                    help="multi30k-*: add the same language's side of Tatoeba deu-eng to the training text (lines "
                         "equal to a Multi30k val or test line left out)")
    ap.add_argument("--upsample", type=int, default=1,
                    help="multi30k-* with --tatoeba: repeat the Multi30k lines this many times")
    ap.add_argument("--run-dir", required=True, type=Path)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--vocab", type=int, default=8000)
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=1024)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--attn-dropout", type=float, default=0.1)
    ap.add_argument("--act-dropout", type=float, default=0.1)
    ap.add_argument("--max-tokens", type=int, default=4096)
    ap.add_argument("--block", type=int, default=128, help="longest training window in tokens")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=1000)
    ap.add_argument("--weight-decay", type=float, default=1e-2)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--save-minutes", type=float, default=10.0)
    ap.add_argument("--limit", type=int, default=0, help="smoke tests: first N train/val lines only")
    return ap.parse_args(argv)


# Modern English: training shards in the order --shards takes them, and the held-out validation text.
MODERN_TRAIN = ["wikinews-00", "wiki-00", "imdb-00", "recipes-00"]
MODERN_DEV = "wikinews-01"
MODERN_DEV_LINES = 2000


def modern_shard(name: str) -> Path:
    for path in data.split_files("modern-english", "train"):
        if path.name.split(".")[0] == name:
            return path
    raise SystemExit(f"modern-english train has no shard {name}")


def corpus_files(args):
    if args.data == "ptb":
        return data.split_files("ptb", "train"), data.corpus_path("ptb", "valid")
    if args.data == "modern":
        return [modern_shard(n) for n in MODERN_TRAIN[: args.shards]], modern_shard(MODERN_DEV)
    if args.data.startswith("multi30k-"):
        lang = args.data.split("-")[1]
        return data.split_files("multi30k", "train", lang), data.corpus_path("multi30k", "val", lang)
    return data.split_files("gutenberg", "train")[: args.shards], data.corpus_path("gutenberg", "dev")


def validation_lines(name: str, path: Path) -> list[str]:
    """The non-empty validation lines of corpus `name`, whitespace-normalised (modern: the last MODERN_DEV_LINES
    of its dev shard)."""
    lines = [" ".join(t.split()) for t in data.read_lines(path) if t.strip()]
    return lines[-MODERN_DEV_LINES:] if name == "modern" else lines


def windows(ids: list[int], block: int) -> list[list[int]]:
    seq = [BOS] + ids + [EOS]
    # overlapping by one token so that every transition is trained exactly once
    return [seq[i : i + block + 1] for i in range(0, max(len(seq) - 1, 1), block)]


def word_level_nll(model, tok, lines: list[str], batch_lines: int = 64, block: int = 512) -> tuple[float, int]:
    """Sum of -log P over each line's pieces and its </s>, and the count of words + one </s> per line."""
    model.eval()
    total, count = 0.0, 0
    enc = data.encode(tok, lines)
    order = sorted(range(len(lines)), key=lambda i: len(enc[i]))
    with torch.no_grad():
        for start in range(0, len(order), batch_lines):
            idx = order[start : start + batch_lines]
            seqs = [[BOS] + enc[i] + [EOS] for i in idx]
            width = max(map(len, seqs))
            x = torch.full((len(seqs), width), PAD, dtype=torch.int64)
            for r, s in enumerate(seqs):
                x[r, : len(s)] = torch.tensor(s)
            pk, pv = model.decoder.empty_cache(len(seqs))
            for c in range(0, width - 1, block):
                chunk = x[:, c : min(c + block, width - 1)]
                logits, pk, pv = model(chunk, pk, pv)
                tgt = x[:, c + 1 : c + 1 + chunk.shape[1]]
                lp = torch.log_softmax(logits.float(), -1).gather(-1, tgt.unsqueeze(-1)).squeeze(-1)
                total -= float(lp.masked_fill(tgt == PAD, 0.0).sum())
            count += sum(len(lines[i].split()) + 1 for i in idx)
    model.train()
    return total, count


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    run = args.run_dir
    run.mkdir(parents=True, exist_ok=True)
    log = lambda msg: print(time.strftime("%H:%M:%S"), msg, flush=True)  # noqa: E731
    argd = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    cfg_path = run / "config.json"
    if cfg_path.exists():
        old = json.loads(cfg_path.read_text())
        bad = [k for k in FIXED if old["args"].get(k) != argd.get(k)]
        if bad:
            raise SystemExit(f"{cfg_path}: resuming with changed arguments {bad}; use a new --run-dir")
    train_paths, val_path = corpus_files(args)
    train_lines = [line for p in train_paths for line in data.read_lines(p) if line.strip()]
    val_lines = validation_lines(args.data, val_path)
    if args.tatoeba or args.upsample != 1:
        if not args.data.startswith("multi30k-") or args.upsample < 1:
            raise SystemExit("--tatoeba and --upsample (at least 1) are for --data multi30k-de or multi30k-en")
        train_lines = train_lines * args.upsample
    if args.tatoeba:
        lang = args.data.split("-")[1]
        held = set()
        for split in ("val", "test_2016_flickr", "test_2017_flickr", "test_2017_mscoco", "test_2018_flickr"):
            try:
                held.update(" ".join(t.split()) for t in data.read_lines(data.corpus_path("multi30k", split, lang)))
            except SystemExit:
                pass
        extra = [t for _, t in data.tatoeba_pairs("en" if lang == "de" else "de", lang)]
        extra = [t for t in dict.fromkeys(" ".join(t.split()) for t in extra) if t and t not in held]
        log(f"Tatoeba: {len(extra)} distinct {lang} sentences added")
        train_lines = train_lines + extra
    if args.limit:
        train_lines, val_lines = train_lines[: args.limit], val_lines[: args.limit]
    train_lines = [" ".join(t.split()) for t in train_lines]
    tok_path = run / "tokenizer.json"
    if not tok_path.exists():
        log(f"training BPE (vocab {args.vocab}) on {len(train_lines)} lines")
        tok = data.train_tokenizer(train_lines, args.vocab)
        tok.save(str(tok_path) + ".tmp")
        os.replace(str(tok_path) + ".tmp", tok_path)
    tok = Tokenizer.from_file(str(tok_path))
    vocab = tok.get_vocab_size()
    seqs = [w for ids in data.encode(tok, train_lines) for w in windows(ids, args.block) if len(w) > 1]
    batches = data.make_batches([(s, s) for s in seqs], args.max_tokens)
    log(f"{len(train_lines)} lines, {len(seqs)} windows, {len(batches)} batches/epoch, vocab {vocab}")
    cfg = Config(vocab_size=vocab, d_model=args.d_model, heads=args.heads, ffn=args.ffn, enc_layers=0,
                 dec_layers=args.layers, dropout=args.dropout, attn_dropout=args.attn_dropout,
                 act_dropout=args.act_dropout, max_len=args.block + 1)
    if not cfg_path.exists():
        tmp = cfg_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"args": argd, "model": cfg.to_dict(),
                                   "command": " ".join([Path(sys.executable).name] + sys.argv),
                                   "data": {"train": [str(p) for p in train_paths], "val": str(val_path)},
                                   "torch": torch.__version__}, indent=1) + "\n")
        os.replace(tmp, cfg_path)
    torch.manual_seed(args.seed)
    model = LanguageModel(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98), eps=1e-9,
                            weight_decay=args.weight_decay)
    epoch, batch_pos, step, best, rng = 1, 0, 0, math.inf, None
    last = run / "last.pt"
    if last.exists():
        st = torch.load(last, map_location="cpu", weights_only=False)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["optim"])
        epoch, batch_pos, step, best, rng = st["epoch"], st["batch_pos"], st["step"], st["best"], st["rng"]
        log(f"resumed from {last}: epoch {epoch}, batch {batch_pos}, update {step}")
    else:
        log(f"new model: {sum(p.numel() for p in model.parameters())} parameters")

    def save_last(ep, pos):
        tmp = last.with_suffix(".pt.tmp")
        torch.save({"model": model.state_dict(), "optim": opt.state_dict(), "epoch": ep, "batch_pos": pos,
                    "step": step, "best": best, "rng": torch.get_rng_state()}, tmp)
        os.replace(tmp, last)

    model.train()
    while epoch <= args.epochs:
        order = data.shuffled(batches, args.seed * 100003 + epoch)
        if batch_pos == 0 or rng is None:
            torch.manual_seed(args.seed * 100003 + epoch)
        else:
            torch.set_rng_state(rng)
        rng = None
        t0, last_save, loss_sum, tok_sum = time.time(), time.time(), 0.0, 0
        for bi in range(batch_pos, len(order)):
            rows = [seqs[i] for i in order[bi]]
            width = max(map(len, rows))
            x = torch.full((len(rows), width), PAD, dtype=torch.int64)
            for r, s in enumerate(rows):
                x[r, : len(s)] = torch.tensor(s)
            inp, tgt = x[:, :-1], x[:, 1:]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                logits, _, _ = model(inp)
            ntok = int((tgt != PAD).sum())
            loss = F.cross_entropy(logits.float().reshape(-1, vocab), tgt.reshape(-1), ignore_index=PAD,
                                   reduction="sum")
            (loss / ntok).backward()
            if args.clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            step += 1
            lr = args.lr * min(step / args.warmup, math.sqrt(args.warmup / step))
            for g in opt.param_groups:
                g["lr"] = lr
            opt.step()
            opt.zero_grad(set_to_none=True)
            loss_sum += loss.item()
            tok_sum += ntok
            if (bi + 1) % 50 == 0:
                log(f"epoch {epoch} batch {bi + 1}/{len(order)} update {step} loss {loss_sum / tok_sum:.4f}")
            if time.time() - last_save > args.save_minutes * 60 and bi + 1 < len(order):
                save_last(epoch, bi + 1)
                last_save = time.time()
        train_secs = time.time() - t0
        nll, words = word_level_nll(model, tok, val_lines)
        ppl = math.exp(nll / words)
        torch.save(model.state_dict(), run / f"epoch_{epoch:03d}.pt")
        if ppl < best:
            best = ppl
            tmp = run / "best.pt.tmp"
            torch.save(model.state_dict(), tmp)
            os.replace(tmp, run / "best.pt")
        entry = {"epoch": epoch, "updates": step, "train_loss_per_piece": loss_sum / max(tok_sum, 1),
                 "val_word_ppl": ppl, "val_words_plus_eos": words, "best": best,
                 "train_seconds": round(train_secs, 1), "resumed_at_batch": batch_pos}
        with open(run / "log.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
        log(json.dumps(entry))
        epoch, batch_pos = epoch + 1, 0
        save_last(epoch, 0)
    log("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
