"""export_model.py end to end on a tiny run directory (no corpus needed with --no-eval)."""

import json

import torch

import decode
import export_model
from fivegram_neural import data
from fivegram_neural.export import sha256
from fivegram_neural.model import Config, LanguageModel, Seq2Seq

TEXT = ["A man rides a horse.", "Ein Mann reitet ein Pferd.", "Two women talk.", "Zwei Frauen reden."] * 2


def make_run(path, lm=False):
    path.mkdir()
    tok = data.train_tokenizer(TEXT, 90, min_frequency=1)
    tok.save(str(path / "tokenizer.json"))
    cfg = Config(vocab_size=tok.get_vocab_size(), d_model=16, heads=2, ffn=32, enc_layers=0 if lm else 1,
                 dec_layers=1)
    torch.manual_seed(0)
    model = LanguageModel(cfg) if lm else Seq2Seq(cfg)
    args = {"seed": 1, "data": "ptb"} if lm else {"src": "en", "tgt": "de", "seed": 1, "corpus": "multi30k"}
    conf = {"args": args, "model": cfg.to_dict(), "command": "python train.py", "torch": torch.__version__,
            "data": {"train": ["ptb.train.txt.gz"]} if lm else {"train.en": "a/train.en.gz"}}
    (path / "config.json").write_text(json.dumps(conf))
    entry = {"epoch": 1, "updates": 10, "val_bleu_greedy": 1.5, "val_word_ppl": 900.0}
    (path / "log.jsonl").write_text(json.dumps(entry) + "\n")
    torch.save(model.state_dict(), path / "best.pt")
    torch.save(model.state_dict(), path / "epoch_001.pt")
    return model


def test_seq2seq_export(tmp_path, capsys):
    make_run(tmp_path / "run")
    out = tmp_path / "model"
    assert export_model.main(["--run-dir", str(tmp_path / "run"), "--out", str(out), "--no-eval"]) == 0
    m = json.loads((out / "model.json").read_text())
    assert m["kind"] == "seq2seq" and m["src_lang"] == "en" and m["tgt_lang"] == "de"
    assert set(m["files"]) == {"tokenizer.json", "encoder.int8.onnx", "decoder.int8.onnx", "encoder.onnx",
                               "decoder.onnx"}
    for name, info in m["files"].items():
        assert sha256(out / name) == info["sha256"]
    assert m["training"]["epochs"] == 1 and m["training"]["seed"] == 1
    assert max(m["export"]["max_abs_diff_vs_pytorch"].values()) < 1e-4
    capsys.readouterr()
    src = tmp_path / "src.txt"
    src.write_text("A man talks.\nTwo horses.\n")
    assert decode.main(["--model", str(out), "--greedy", "--input", str(src), "--ids", "--fp32"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2


def test_averaged_checkpoint_and_fp32_left_out(tmp_path):
    make_run(tmp_path / "run")
    out = tmp_path / "model"
    args = ["--run-dir", str(tmp_path / "run"), "--out", str(out), "--no-eval", "--checkpoint", "avg:1",
            "--fp32-max-mb", "0"]
    assert export_model.main(args) == 0
    m = json.loads((out / "model.json").read_text())
    assert "encoder.onnx" not in m["files"] and not (out / "encoder.onnx").exists()
    assert m["training"]["checkpoint"].startswith("average of epochs 1..1")


def test_lm_export(tmp_path):
    make_run(tmp_path / "run", lm=True)
    out = tmp_path / "model"
    assert export_model.main(["--run-dir", str(tmp_path / "run"), "--out", str(out), "--no-eval"]) == 0
    m = json.loads((out / "model.json").read_text())
    assert m["kind"] == "lm" and "enc_layers" not in m
    assert {"lm.onnx", "lm.int8.onnx", "tokenizer.json"} == set(m["files"])
