"""The committed fixtures (neural/tests/fixtures) are what make_fixtures.py writes, and are self-consistent."""

import hashlib
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

import make_fixtures
from fivegram_neural.search import OnnxBackend, greedy

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
KEYS = {"format", "kind", "vocab_size", "d_model", "heads", "head_dim", "dec_layers", "max_len", "pad_id", "bos_id",
        "eos_id", "unk_id", "files", "training", "word_boundary"}


def sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.parametrize("kind", ["seq2seq", "lm"])
def test_manifest_matches_files(kind):
    d = FIXTURES / kind
    m = json.loads((d / "model.json").read_text())
    assert KEYS <= set(m)
    assert m["kind"] == kind and m["format"] == 1
    assert (m["pad_id"], m["bos_id"], m["eos_id"], m["unk_id"]) == (0, 1, 2, 3)
    assert m["head_dim"] * m["heads"] == m["d_model"]
    for name, info in m["files"].items():
        assert sha(d / name) == info["sha256"], name
        assert (d / name).stat().st_size == info["bytes"] < 100_000
    assert {"tokenizer.json", "encoder.onnx", "decoder.onnx", "lm.onnx"} & set(m["files"])


def test_seq2seq_expected_greedy_reproduced_by_onnx():
    d = FIXTURES / "seq2seq"
    exp = json.loads((d / "expected.json").read_text())
    sources = [s["src_ids"] for s in exp["sources"]]
    got = greedy(OnnxBackend(d / "encoder.onnx", d / "decoder.onnx"), sources, max_steps=exp["max_steps"])
    assert got == [s["greedy_ids"] for s in exp["sources"]]
    got8 = greedy(OnnxBackend(d / "encoder.int8.onnx", d / "decoder.int8.onnx"), sources, max_steps=exp["max_steps"])
    assert got8 == [s["int8_greedy_ids"] for s in exp["sources"]]
    enc = ort.InferenceSession(str(d / "encoder.onnx"))
    dec = ort.InferenceSession(str(d / "decoder.onnx"))
    src = np.array([sources[0]], dtype=np.int64)
    ck, cv = enc.run(None, {"src_ids": src})
    empty = np.zeros((1, 1, 2, 0, 8), np.float32)
    lp, _, _ = dec.run(None, {"tgt_ids": np.array([[1]]), "src_mask": np.ones_like(src), "cross_keys": ck,
                              "cross_values": cv, "past_keys": empty, "past_values": empty})
    np.testing.assert_allclose(lp[0], exp["sources"][0]["first_step_log_probs"], atol=1e-4, rtol=0)


def test_lm_expected_reproduced_by_onnx():
    d = FIXTURES / "lm"
    exp = json.loads((d / "expected.json").read_text())
    sess = ort.InferenceSession(str(d / "lm.onnx"))
    for s in exp["sentences"]:
        ids = np.array([s["ids"]], dtype=np.int64)
        empty = np.zeros((1, 1, 2, 0, 8), np.float32)
        lp, pk, _ = sess.run(None, {"input_ids": ids, "past_keys": empty, "past_values": empty})
        assert pk.shape == (1, 1, 2, ids.shape[1], 8)
        got = [lp[0, t, s["ids"][t + 1]] for t in range(len(s["ids"]) - 1)]
        np.testing.assert_allclose(got, s["token_log_probs"], atol=1e-4, rtol=0)
        assert abs(sum(w["log_prob"] for w in s["word_log_probs"]) - s["sum_log_prob"]) < 1e-3
        assert [w["word"] for w in s["word_log_probs"]] == s["text"].split() + ["</s>"]


def same_up_to_float_rounding(a, b, path="") -> None:
    """Asserts that two JSON values are equal, floats within 1e-5 (the last bits of a float computed by ONNX
    Runtime or PyTorch depend on the CPU's kernels)."""
    if isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, (int, float)) and isinstance(b, (int, float)), path
        assert abs(a - b) <= 1e-5, f"{path}: {a} != {b}"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for k in a:
            same_up_to_float_rounding(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            same_up_to_float_rounding(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def test_regeneration_is_reproducible(tmp_path):
    make_fixtures.main(["--out", str(tmp_path)])
    for kind in ("seq2seq", "lm"):
        # The graphs and the tokenizer are byte-identical (model.json holds their sha256) ...
        committed = json.loads((FIXTURES / kind / "model.json").read_text())
        fresh = json.loads((tmp_path / kind / "model.json").read_text())
        assert fresh == committed, f"{kind}: rerun neural/train/make_fixtures.py and commit the result"
        # ... and the reference outputs equal up to the float rounding of the machine's kernels.
        same_up_to_float_rounding(json.loads((tmp_path / kind / "expected.json").read_text()),
                                  json.loads((FIXTURES / kind / "expected.json").read_text()), kind)


def test_the_float_comparison_catches_real_differences():
    same_up_to_float_rounding({"a": [1.0, 2]}, {"a": [1.000001, 2]})
    for other in ({"a": [1.001, 2]}, {"a": [1.0, 3]}, {"a": [1.0]}, {"b": [1.0, 2]}):
        with pytest.raises(AssertionError):
            same_up_to_float_rounding({"a": [1.0, 2]}, other)
