"""The CTranslate2 conversion holds the same model: its scores equal PyTorch's (skipped without ctranslate2)."""

import numpy as np
import pytest
import torch

from fivegram_neural import data
from fivegram_neural.model import BOS, EOS, Config, Seq2Seq

ctranslate2 = pytest.importorskip("ctranslate2")
import convert_ct2  # noqa: E402

TEXT = ["A man rides a horse.", "Ein Mann reitet ein Pferd.", "Two women talk.", "Zwei Frauen reden."] * 2


def test_ct2_scores_match_pytorch(tmp_path):
    tok = data.train_tokenizer(TEXT, 90, min_frequency=1)
    v = tok.get_vocab_size()
    torch.manual_seed(3)
    m = Seq2Seq(Config(vocab_size=v, d_model=16, heads=2, ffn=32, enc_layers=2, dec_layers=2), embed_std=1.0).eval()
    out = convert_ct2.convert(m, [tok.id_to_token(i) for i in range(v)], tmp_path / "ct2")
    lines = ["A man talks.", "Zwei Pferde reden.", "Two horses."]
    targets = [[20, 31, 7], [5, 40, 41, 12, 9], [60]]
    tr = ctranslate2.Translator(str(out))
    src = [e.tokens for e in tok.encode_batch(lines, add_special_tokens=False)]
    scored = tr.score_batch(src, [[tok.id_to_token(i) for i in t] for t in targets])
    for line, t, s in zip(lines, targets, scored):
        ids = data.encode(tok, [line])[0] + [EOS]
        with torch.no_grad():
            lp = torch.log_softmax(m(torch.tensor([ids]), torch.tensor([[BOS] + t])), -1)[0]
        want = [float(lp[i, x]) for i, x in enumerate(t + [EOS])]
        np.testing.assert_allclose(s.log_probs, want, atol=1e-4)
