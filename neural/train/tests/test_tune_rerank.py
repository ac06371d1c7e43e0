"""tune_rerank.py: the weights it finds rerank toward the references, and --write records them in model.json."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import tune_rerank  # noqa: E402

REFS = [f"a dog number {i} runs across the green field" for i in range(40)]


def nbest_file(tmp_path: Path, with_lm: bool) -> Path:
    """Per sentence: a short wrong first candidate the forward model prefers, and the reference, which only the
    reverse model (and the LM) prefer."""
    rows = []
    for i, ref in enumerate(REFS):
        wrong = {"text": f"a cat {i}", "features": {"log_prob": -2.0, "length": 4.0, "reverse_log_prob": -30.0}}
        right = {"text": ref, "features": {"log_prob": -3.0, "length": 11.0, "reverse_log_prob": -5.0}}
        if with_lm:
            wrong["features"]["lm"] = -40.0
            right["features"]["lm"] = -20.0
        rows.append({"line": i + 1, "translations": [wrong, right]})
    path = tmp_path / "nbest.json"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_the_weights_prefer_what_the_reverse_model_prefers(tmp_path, capsys):
    path = nbest_file(tmp_path, with_lm=False)
    ref = tmp_path / "ref.txt"
    ref.write_text("\n".join(REFS) + "\n")
    assert tune_rerank.main(["--nbest", str(path), "--ref", str(ref), "--splits", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dev_bleu_forward"] < 20
    assert report["dev_bleu_reranked"] == 100.0
    assert report["weights"]["log_prob"] == 1.0
    assert report["weights"]["reverse_log_prob"] > 0.04 or report["weights"]["length"] > 0.14
    assert report["heldout_half_gain_min"] > 50


def test_write_records_the_settings(tmp_path, capsys):
    path = nbest_file(tmp_path, with_lm=True)
    ref = tmp_path / "ref.txt"
    ref.write_text("\n".join(REFS) + "\n")
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.json").write_text(json.dumps({"format": 1, "decoding": {"beam": 4}}))
    with pytest.raises(SystemExit):  # the n-best lists have an lm feature: --lm is needed
        tune_rerank.main(["--nbest", str(path), "--ref", str(ref), "--write", str(model), "--reverse", "../de-en"])
    args = ["--nbest", str(path), "--ref", str(ref), "--write", str(model), "--reverse", "../de-en", "--lm",
            "../ngram-en", "--beam", "6", "--splits", "1"]
    assert tune_rerank.main(args) == 0
    written = json.loads((model / "model.json").read_text())
    rerank = written["decoding"]["rerank"]
    assert written["decoding"]["beam"] == 4
    assert (rerank["reverse"], rerank["lm"], rerank["beam"]) == ("../de-en", "../ngram-en", 6)
    assert set(rerank["weights"]) == {"log_prob", "length", "reverse_log_prob", "lm"}
    assert not list(model.glob("*.tmp"))


def test_mismatched_references_are_an_error(tmp_path):
    path = nbest_file(tmp_path, with_lm=False)
    ref = tmp_path / "ref.txt"
    ref.write_text("\n".join(REFS[:5]) + "\n")
    with pytest.raises(SystemExit, match="references"):
        tune_rerank.main(["--nbest", str(path), "--ref", str(ref)])


def test_write_rescore_records_the_phrase_based_rescoring(tmp_path, capsys):
    """Phrase-based n-best lists (the decoder's features beside decoder, words, neural_lm): the search starts
    from the decoder's weights, the neural LM's preference wins, and --write-rescore puts a `rescore` section
    into the weights file, keeping what else it holds."""
    rows = []
    for i, ref in enumerate(REFS):
        wrong = {"text": f"a cat {i}",
                 "features": {"decoder": -2.0, "words": 3.0, "neural_lm": -60.0, "lm": -10.0, "word_penalty": -3.0}}
        right = {"text": ref,
                 "features": {"decoder": -3.0, "words": 9.0, "neural_lm": -20.0, "lm": -30.0, "word_penalty": -9.0}}
        rows.append({"line": i + 1, "translations": [wrong, right]})
    path = tmp_path / "nbest.json"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ref = tmp_path / "ref.txt"
    ref.write_text("\n".join(REFS) + "\n")
    weights = tmp_path / "en-de.json"
    weights.write_text(json.dumps({"pair": "en-de", "weights": {"lm": 0.1, "word_penalty": 0.05}}))
    base = ["--nbest", str(path), "--ref", str(ref), "--splits", "1"]
    with pytest.raises(SystemExit, match="start-weights"):
        tune_rerank.main(base)
    args = base + ["--start-weights", str(weights), "--write-rescore", str(weights), "--neural-lm", "lm-de",
                   "--rescore-nbest", "50"]
    assert tune_rerank.main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dev_bleu_forward"] < 20
    assert report["dev_bleu_reranked"] == 100.0
    written = json.loads(weights.read_text())
    assert written["pair"] == "en-de" and written["weights"] == {"lm": 0.1, "word_penalty": 0.05}
    rescore = written["rescore"]
    assert (rescore["neural_lm"], rescore["nbest"]) == ("lm-de", 50)
    assert list(rescore["weights"]) == ["lm", "word_penalty", "neural_lm"]
    assert rescore["weights"]["neural_lm"] > 0
    assert not list(tmp_path.glob("*.tmp"))
    # Neural n-best lists cannot be written as a phrase-based rescoring.
    with pytest.raises(SystemExit, match="write-rescore"):
        tune_rerank.main(["--nbest", str(nbest_file(tmp_path, with_lm=False)), "--ref", str(ref), "--splits", "1",
                          "--write-rescore", str(weights)])
