#!/usr/bin/env python3
"""Checks that `fivegram eval` scores exactly as sacreBLEU 2.6.0's command line does.

Builds hypothesis files from real references (Multi30k val, German and English) with noise: dropped, shuffled
and duplicated words, empty lines, Unicode punctuation and spaces, HTML entities, numbers, lowercase, an
all-empty hypothesis file, and two references per segment. Scores each with BLEU, chrF and chrF++ through both
programs and fails if any score differs by 0.01 or more, or if a mismatched line count is not refused.

Usage: scripts/check-sacrebleu.py [--fivegram target/release/fivegram] [--mirror DIR]
Needs: pip install sacrebleu==2.6.0
"""
import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile

TOLERANCE = 0.01


def noisy(lines, rng, kind):
    out = []
    for i, line in enumerate(lines):
        words = line.split()
        if kind == "drop":
            words = [w for w in words if rng.random() > 0.25]
        elif kind == "shuffle":
            if rng.random() < 0.5:
                rng.shuffle(words)
        elif kind == "empty":
            if i % 5 == 0:
                words = []
        elif kind == "unicode":
            table = {'"': "„", ",": " ,", ".": "。", "-": "—", "'": "’"}
            words = ["".join(table.get(c, c) for c in w) for w in words]
            if i % 3 == 0:
                words.insert(0, "«")
                words.append("»\u00a0!")
            if i % 4 == 0:
                words = ["\u2009".join(words[:2])] + words[2:] + ["\u001c", "ß‐straße", "😀."]
        elif kind == "entities":
            words = [w.replace("&", "&amp;") for w in words]
            if i % 2 == 0:
                words += ["&quot;ok&quot;", "3.5", "1,000", "7-8", "x-y", "a...", "<skipped>", "$5"]
        elif kind == "lower":
            words = [w.lower() for w in words]
        elif kind == "dup":
            if words and rng.random() < 0.5:
                j = rng.randrange(len(words))
                words = words[: j + 1] + words[j:]
            if i % 7 == 0:
                words = words + ["."]
        elif kind == "identical":
            pass
        elif kind == "allempty":
            words = []
        out.append(" ".join(words) + ("  " if i % 11 == 0 else ""))
    return out


def write(path, lines):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for line in lines:
            f.write(line + "\n")


def sacrebleu_scores(refs, hyp, extra):
    cmd = [sys.executable, "-m", "sacrebleu", *refs, "-w", "6", "-f", "json", *extra]
    with open(hyp, "rb") as stdin:
        out = subprocess.run(cmd, stdin=stdin, capture_output=True, check=True).stdout
    return json.loads(out)["score"]


def fivegram_score(fivegram, metric, refs, hyp, extra):
    cmd = [fivegram, "eval", metric, "--ref", *refs, "--width", "6", "--json", *extra]
    with open(hyp, "rb") as stdin:
        result = subprocess.run(cmd, stdin=stdin, capture_output=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {result.stderr.decode()}")
    return json.loads(result.stdout)["score"], json.loads(result.stdout)["signature"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--fivegram", default=os.path.join(here, "..", "target", "release", "fivegram"))
    parser.add_argument(
        "--mirror", default=os.environ.get("FIVEGRAM_MIRROR", os.path.join(here, "..", "..", "shared", "corpora"))
    )
    args = parser.parse_args()
    try:
        import sacrebleu
    except ImportError:
        raise SystemExit("sacrebleu is not installed: pip install sacrebleu==2.6.0")
    if sacrebleu.__version__ != "2.6.0":
        raise SystemExit(f"sacrebleu {sacrebleu.__version__} found, 2.6.0 needed: pip install sacrebleu==2.6.0")

    rng = random.Random(20240601)
    failures = 0
    checks = 0
    max_diff = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for lang in ("de", "en"):
            with gzip.open(os.path.join(args.mirror, "multi30k", f"val.{lang}.gz"), "rt", encoding="utf-8") as f:
                ref_lines = [line.rstrip("\n") for line in f]
            ref1 = os.path.join(tmp, f"ref1.{lang}")
            write(ref1, ref_lines)
            ref2 = os.path.join(tmp, f"ref2.{lang}")
            write(ref2, noisy(ref_lines, rng, "drop"))
            for kind in ("identical", "drop", "shuffle", "empty", "unicode", "entities", "lower", "dup", "allempty"):
                hyp = os.path.join(tmp, f"hyp.{kind}.{lang}")
                write(hyp, noisy(ref_lines, rng, kind))
                for refs in ([ref1], [ref1, ref2]):
                    for metric, sb_extra, fg_extra in (
                        ("bleu", ["-m", "bleu"], []),
                        ("chrf", ["-m", "chrf"], []),
                        ("chrf", ["-m", "chrf", "--chrf-word-order", "2"], ["--chrf-plus"]),
                        ("bleu", ["-m", "bleu", "-lc"], ["--lowercase"]),
                    ):
                        expected = sacrebleu_scores(refs, hyp, sb_extra)
                        got, signature = fivegram_score(args.fivegram, metric, refs, hyp, fg_extra)
                        checks += 1
                        ok = abs(expected - got) < TOLERANCE
                        max_diff = max(max_diff, abs(expected - got))
                        failures += not ok
                        status = "ok  " if ok else "FAIL"
                        print(f"{status} {lang} {kind:9} refs={len(refs)} {metric:4} {' '.join(fg_extra):12} "
                              f"sacrebleu={expected:9.4f} fivegram={got:9.4f}  {signature}")
        # A hypothesis file one line short must be refused with a clear error.
        short = os.path.join(tmp, "short")
        write(short, ref_lines[:-1])
        with open(short, "rb") as stdin:
            result = subprocess.run([args.fivegram, "eval", "bleu", "--ref", ref1], stdin=stdin, capture_output=True)
        checks += 1
        if result.returncode != 1 or b"lines" not in result.stderr:
            failures += 1
            print(f"FAIL mismatched line counts: exit {result.returncode}, {result.stderr.decode().strip()}")
        else:
            print(f"ok   mismatched line counts refused: {result.stderr.decode().strip()}")
    print(f"{checks - failures}/{checks} checks agree with sacreBLEU 2.6.0 to {TOLERANCE} "
          f"(largest difference {max_diff:.6f})")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
