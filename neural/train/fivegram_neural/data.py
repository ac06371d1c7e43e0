"""Corpus paths, the shared BPE tokenizer, and token-based batching."""

from __future__ import annotations

import gzip
import os
import random
import shutil
import subprocess
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from .model import BOS, EOS, PAD, SPECIALS

REPO = Path(__file__).resolve().parents[3]


# where each catalog split lies inside a mirror, for machines without the fivegram CLI
MIRROR_LAYOUT = {
    "multi30k": "multi30k/{split}.{lang}.gz",
    "ptb": "ptb/ptb.{split}.txt.gz",
    "gutenberg": "english/gutenberg-{split}*.txt.gz",
    "tatoeba-deu-eng": "tatoeba-deu-eng/deu.txt.gz",
}


def split_files(corpus: str, split: str, lang: str | None = None) -> list[Path]:
    """The files of a catalog split (several for sharded splits), as `fivegram corpora path` resolves them
    (mirror, cache or download, checksum verified); without the CLI, `$FIVEGRAM_MIRROR` laid out as the mirror."""
    exe = shutil.which("fivegram") or str(REPO / "target" / "release" / "fivegram")
    if Path(exe).exists():
        cmd = [exe, "corpora", "path", corpus, split] + ([lang] if lang else [])
        try:
            out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        except subprocess.CalledProcessError as e:
            raise SystemExit(f"{' '.join(cmd)} failed: {e.stderr.strip()}") from None
        return [Path(p) for p in out.stdout.split("\n") if p.strip()]
    mirror = os.environ.get("FIVEGRAM_MIRROR")
    if mirror and corpus in MIRROR_LAYOUT:
        pattern = MIRROR_LAYOUT[corpus].format(split=split, lang=lang)
        found = sorted(Path(mirror).glob(pattern))
        if found:
            return found
    raise SystemExit(
        f"cannot locate {corpus} {split} {lang or ''}: build the CLI (cargo build --release) or set "
        "FIVEGRAM_MIRROR to a corpus mirror (e.g. shared/corpora)"
    )


def corpus_path(corpus: str, split: str, lang: str | None = None) -> Path:
    """The single file of a catalog split."""
    files = split_files(corpus, split, lang)
    if len(files) != 1:
        raise SystemExit(f"{corpus} {split} {lang or ''}: expected one file, found {len(files)}")
    return files[0]


def read_lines(path: Path) -> list[str]:
    """Lines of a (possibly gzipped) UTF-8 text file, without line ends."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="\n") as f:
        return [line.rstrip("\n").rstrip("\r") for line in f]


def tatoeba_pairs(src: str, tgt: str) -> list[tuple[str, str]]:
    """Tatoeba deu-eng as (src, tgt) sentence pairs; the file's columns are English, German (and possibly more)."""
    col = {"en": 0, "de": 1}
    if src not in col or tgt not in col:
        raise SystemExit(f"Tatoeba deu-eng has en and de, not {src}-{tgt}")
    path = corpus_path("tatoeba-deu-eng", "all")
    pairs = []
    for n, line in enumerate(read_lines(path), 1):
        cols = line.split("\t")
        if len(cols) < 2:
            raise SystemExit(f"{path}:{n}: expected English<TAB>German")
        pairs.append((cols[col[src]], cols[col[tgt]]))
    return pairs


def new_tokenizer() -> Tokenizer:
    """An untrained BPE with the contract's pieces: NFKC, Metaspace (▁ = word start), no post-processor."""
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    return tok


def train_tokenizer(texts: list[str], vocab_size: int, min_frequency: int = 2) -> Tokenizer:
    """Train the shared BPE on `texts` (deterministic: the trainer is single-pass over the given order)."""
    tok = new_tokenizer()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIALS,
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
    for i, s in enumerate(SPECIALS):
        if tok.token_to_id(s) != i:
            raise RuntimeError(f"special token {s} has id {tok.token_to_id(s)}, expected {i}")
    return tok


def encode(tok: Tokenizer, texts: list[str]) -> list[list[int]]:
    return [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]


def decode(tok: Tokenizer, ids: list[int]) -> str:
    ids = [i for i in ids if i not in (PAD, BOS, EOS)]
    return tok.decode(ids, skip_special_tokens=False)


def make_batches(pairs: list[tuple[list[int], list[int]]], max_tokens: int) -> list[list[int]]:
    """Indices grouped so that each batch's padded size (rows × longest side + 1) stays under max_tokens; pairs are
    sorted by length so that little padding is wasted. Batch membership is fixed; callers shuffle the order."""
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i][1]), len(pairs[i][0]), i))
    batches, cur, longest = [], [], 0
    for i in order:
        n = max(len(pairs[i][0]), len(pairs[i][1])) + 1
        if cur and max(longest, n) * (len(cur) + 1) > max_tokens:
            batches.append(cur)
            cur, longest = [], 0
        cur.append(i)
        longest = max(longest, n)
    if cur:
        batches.append(cur)
    return batches


def shuffled(batches: list[list[int]], seed: int) -> list[list[int]]:
    b = list(batches)
    random.Random(seed).shuffle(b)
    return b
