"""Tokenizer pieces required by the contract, and batching."""

import random

from fivegram_neural import data
from fivegram_neural.model import SPECIALS

TEXT = ["A man in a blue shirt is standing on a ladder.", "Ein Mann in einem blauen Hemd steht auf einer Leiter.",
        "Two dogs run through the snow.", "Zwei Hunde laufen durch den Schnee."] * 3


def test_tokenizer_contract():
    tok = data.train_tokenizer(TEXT, 120, min_frequency=1)
    assert [tok.token_to_id(s) for s in SPECIALS] == [0, 1, 2, 3]
    enc = tok.encode("A man runs.", add_special_tokens=True)
    assert enc.tokens[0].startswith("▁")  # Metaspace marks the word start; no <s>/</s> added
    assert 1 not in enc.ids and 2 not in enc.ids
    for t in TEXT[:4] + ["Hunde laufen.", "Zwei Leiter."]:
        ids = data.encode(tok, [t])[0]
        assert data.decode(tok, ids) == t
    assert data.encode(tok, ["€"])[0][-1] == 3  # unseen character -> <unk>


def test_batches_cover_everything_within_budget():
    rng = random.Random(0)
    pairs = [([5] * rng.randint(1, 40), [6] * rng.randint(1, 40)) for _ in range(500)]
    batches = data.make_batches(pairs, 300)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(500))
    for b in batches:
        longest = max(max(len(pairs[i][0]), len(pairs[i][1])) + 1 for i in b)
        assert longest * len(b) <= 300 or len(b) == 1
    assert data.shuffled(batches, 7) == data.shuffled(batches, 7) != batches


def test_tatoeba_pairs_follow_the_direction_and_name_bad_lines(tmp_path, monkeypatch):
    import gzip

    import pytest

    f = tmp_path / "deu.txt.gz"
    with gzip.open(f, "wt", encoding="utf-8") as out:
        out.write("Hi.\tHallo!\tCC-BY 2.0\nRun!\tLauf!\n")
    monkeypatch.setattr(data, "corpus_path", lambda corpus, split, lang=None: f)
    assert data.tatoeba_pairs("en", "de") == [("Hi.", "Hallo!"), ("Run!", "Lauf!")]
    assert data.tatoeba_pairs("de", "en") == [("Hallo!", "Hi."), ("Lauf!", "Run!")]
    with pytest.raises(SystemExit, match="en-fr"):
        data.tatoeba_pairs("en", "fr")
    with gzip.open(f, "wt", encoding="utf-8") as out:
        out.write("Hi.\tHallo!\nno tab here\n")
    with pytest.raises(SystemExit, match=r"deu\.txt\.gz:2:"):
        data.tatoeba_pairs("en", "de")


def test_checkpoint_averages_keep_each_tensors_dtype_and_bad_upsampling_is_refused():
    import pytest
    import torch

    from fivegram_neural.model import average_states

    a = {"w": torch.tensor([1.0, 2.0]), "n": torch.tensor([4], dtype=torch.int64)}
    b = {"w": torch.tensor([3.0, 5.0]), "n": torch.tensor([6], dtype=torch.int64)}
    avg = average_states([a, b])
    assert torch.equal(avg["w"], torch.tensor([2.0, 3.5])) and avg["w"].dtype == torch.float32
    assert avg["n"].dtype == torch.int64 and avg["n"].item() == 5

    import train_mt

    with pytest.raises(SystemExit):
        train_mt.parse_args(["--src", "en", "--tgt", "de", "--run-dir", "x", "--upsample", "0"])
    assert train_mt.parse_args(["--src", "en", "--tgt", "de", "--run-dir", "x"]).upsample == 1
