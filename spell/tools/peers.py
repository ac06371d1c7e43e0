#!/usr/bin/env python3
"""Isolated-word accuracy and speed of symspellpy and GNU Aspell on the spelling lists, with the protocol of
`fivegram spell --eval` (corpora/spelling/README.md): Norvig's lists count every (target, misspelling) pair;
aspell.dat is grouped by misspelling after dropping multi-word and case-only items. Speed is words per
CPU-second on one thread (symspellpy: this process, with every suggestion and with the correction alone; Aspell:
the `aspell -a` child, dictionary load included).

    python3 spell/tools/peers.py LIST...        (needs `pip install symspellpy`, `apt-get install aspell aspell-en`)
"""
import os
import resource
import subprocess
import sys
import time


def read_items(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = [line.rstrip("\n") for line in f]
    if any(line.startswith("$") for line in lines[:5]):
        grouped, order, target = {}, [], None
        for line in lines:
            line = line.strip()
            if not line:
                continue
            if line.startswith("$"):
                target = line[1:]
                continue
            if target is None or "_" in target or "_" in line or target.lower() == line.lower():
                continue
            if line not in grouped:
                grouped[line] = []
                order.append(line)
            if target.lower() not in grouped[line]:
                grouped[line].append(target.lower())
        return [(m, grouped[m]) for m in order]
    items = []
    for line in lines:
        if ":" not in line:
            continue
        target, misses = line.split(":", 1)
        for miss in misses.split():
            items.append((miss, [target.strip().lower()]))
    return items


def score(items, answers):
    top1 = sum(1 for (_, t), a in zip(items, answers) if a[:1] and a[0].lower() in t)
    top5 = sum(1 for (_, t), a in zip(items, answers) if any(x.lower() in t for x in a[:5]))
    return 100.0 * top1 / len(items), 100.0 * top5 / len(items)


def symspell(lists):
    from importlib.resources import files

    from symspellpy import SymSpell, Verbosity

    sym = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
    sym.load_dictionary(str(files("symspellpy") / "frequency_dictionary_en_82_765.txt"), 0, 1)
    for path, items in lists:
        start = time.process_time()
        answers = [[s.term for s in sym.lookup(m.lower(), Verbosity.ALL, max_edit_distance=2)] for m, _ in items]
        cpu = time.process_time() - start
        top1, top5 = score(items, answers)
        # The correction alone (Verbosity.TOP: the one best suggestion) is symspellpy's fast mode, and what the
        # reference table of corpora/spelling/README.md times; Verbosity.ALL is needed for top-5.
        start = time.process_time()
        best = [[s.term for s in sym.lookup(m.lower(), Verbosity.TOP, max_edit_distance=2)] for m, _ in items]
        cpu_top = time.process_time() - start
        top1_top, _ = score(items, best)
        print(f"symspellpy {path}: top-1 {top1:.1f}% top-5 {top5:.1f}% ({len(items)} items), "
              f"{len(items) / cpu:.0f} words per CPU-second with all suggestions (Verbosity.ALL); "
              f"the correction alone (Verbosity.TOP, top-1 {top1_top:.1f}%) {len(items) / cpu_top:.0f}")


def aspell(lists):
    for path, items in lists:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        text = "!\n" + "".join("^" + m + "\n" for m, _ in items)
        out = subprocess.run(["aspell", "-a", "--lang=en"], input=text, capture_output=True, text=True, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        # One group of lines per input line, each ended by an empty line; a misspelling Aspell splits into several
        # words (an apostrophe, a hyphen) is judged on its first word's answer.
        answers, group = [], []
        for line in out.stdout.splitlines()[1:]:
            if line != "":
                group.append(line)
                continue
            first = group[0] if group else "#"
            if first.startswith("*"):
                answers.append([items[len(answers)][0]])
            elif first.startswith("&"):
                answers.append([s.strip() for s in first.split(":", 1)[1].split(",")])
            else:
                answers.append([])
            group = []
        if len(answers) != len(items):
            sys.exit(f"aspell answered {len(answers)} of {len(items)} items of {path}")
        top1, top5 = score(items, answers)
        print(f"aspell {path}: top-1 {top1:.1f}% top-5 {top5:.1f}% ({len(items)} items), "
              f"{len(items) / cpu:.0f} words per CPU-second")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    lists = [(os.path.basename(p), read_items(p)) for p in sys.argv[1:]]
    symspell(lists)
    aspell(lists)


if __name__ == "__main__":
    main()
