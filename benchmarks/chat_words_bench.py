"""Benchmark: the chat words accessor (bot/content/chat_words.py).

What it costs to read and check ``bot/content/data/chat.yml`` once (with libyaml's loader and, for
comparison, the pure-Python one), and one ``t()`` call with and without fields next to a bare
``str.format`` of the same text. Median of ``--runs`` rounds.

Run: ``.venv/bin/python benchmarks/chat_words_bench.py [--runs 7] [--calls 100000]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import timeit
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml

from benchmarks._seed import machine
from bot.content import chat_words


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--calls", type=int, default=100_000)
    a = ap.parse_args()
    print(machine())
    text = resources.files("bot.content").joinpath("data", chat_words.FILE).read_text(encoding="utf-8")
    for name, loader in (("libyaml (CSafeLoader)", chat_words._LOADER), ("pure Python (SafeLoader)", yaml.SafeLoader)):
        times = []
        for _ in range(a.runs):
            t0 = time.perf_counter()
            chat_words.Words(yaml.load(text, Loader=loader), chat_words.FILE)
            times.append(time.perf_counter() - t0)
        print(f"read and check chat.yml ({len(chat_words.keys())} words), {name}: "
              f"{1000 * statistics.median(times):.1f} ms")
    fields = {"sponsor": "Sam Rivera", "sponsoree": "Aisha Khan", "program": "Pilot"}
    template = chat_words.table()["admin.pair.done"][0]
    cases = {
        "t() without fields": lambda: chat_words.t("commands.pause.done"),
        "t() with 3 fields": lambda: chat_words.t("admin.pair.done", **fields),
        "bare str.format, 3 fields": lambda: template.format(**fields),
    }
    for label, fn in cases.items():
        per = [timeit.timeit(fn, number=a.calls) / a.calls for _ in range(a.runs)]
        print(f"{label}: {1e6 * statistics.median(per):.2f} us per call")


if __name__ == "__main__":
    main()
