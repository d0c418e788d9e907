"""Parsing a corpus: the 410 Weimar files cold with music21 (the reader jazzd used before) and with mido
(the reader it uses now), side by side in one run, and from the cache.

Both go through jazzd.pipeline.collection.collect with one worker process per
core; "music21" swaps the file reader for music21's (converter.parse, no
quantization: the notes exactly as before), "mido" is jazzd's reader. Every
cache is empty for a cold run (a fresh JAZZD_CACHE_DIR); the cached run reads
what the mido run wrote. The two readers give the same values for every file
(checked when the reader changed: 410 Weimar files and both Metheny manifests).

    python bench/corpus_parse.py [--repeats 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, machine, stats  # noqa: E402

WEIMAR = os.path.join(os.path.dirname(ROOT), "shared", "data", "wjazzd")


def timed_collect(cache: str, music21: bool, use_cache: bool = True) -> tuple[float, int]:
    from jazzd.pipeline import collection, corpus

    os.environ["JAZZD_CACHE_DIR"] = cache
    original = corpus.read_midi
    if music21:  # worker processes are forked, so they read with music21 too
        corpus.read_midi = lambda path: corpus.read_with_music21(path, quantize=False)
    try:
        started = time.perf_counter()
        result = collection.collect([WEIMAR], use_cache=use_cache, report=lambda line: None, progress=False)
        return time.perf_counter() - started, len(result.pieces)
    finally:
        corpus.read_midi = original


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    rows = {"music21 (before), cold": [], "mido (now), cold": [], "mido (now), from the cache": []}
    pieces = 0
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as old_cache, tempfile.TemporaryDirectory() as new_cache:
            seconds, _ = timed_collect(old_cache, music21=True)
            rows["music21 (before), cold"].append(seconds)
            seconds, pieces = timed_collect(new_cache, music21=False)
            rows["mido (now), cold"].append(seconds)
            seconds, _ = timed_collect(new_cache, music21=False)
            rows["mido (now), from the cache"].append(seconds)
    results = {name: stats(samples) for name, samples in rows.items()}
    print(f"parsing the Weimar corpus: 410 files ({pieces} usable), {os.cpu_count()} worker processes; {machine()}")
    print("| reader | median | max | n |")
    print("|---|---|---|---|")
    for name, st in results.items():
        print(f"| {name} | {st['median']:.2f} s | {st['max']:.2f} s | {st['n']} |")
    ratio = results["music21 (before), cold"]["median"] / results["mido (now), cold"]["median"]
    print(f"cold: mido is {ratio:.1f}x faster than music21")
    results["ratio"] = ratio
    return results


if __name__ == "__main__":
    main()
