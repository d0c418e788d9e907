"""Training and corpus parsing: wall time of 100 epochs on the course's data size, parsing cold and cached.

    python bench/training.py [--epochs 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, machine, row, stats, fmt_ms  # noqa: E402


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    manifest = os.path.join(ROOT, "data", "metheny_solo.toml")

    from jazzd import corpus

    results = {}
    with tempfile.TemporaryDirectory() as cache:
        os.environ["JAZZD_CACHE_DIR"] = cache
        cold, warm = [], []
        for _ in range(args.repeats):
            for f in os.listdir(cache):
                import shutil

                shutil.rmtree(os.path.join(cache, f))
            t = time.perf_counter()
            corpus.load_corpus([manifest])
            cold.append(time.perf_counter() - t)
            t = time.perf_counter()
            corpus.load_corpus([manifest])
            warm.append(time.perf_counter() - t)
    results["parse corpus, cold (music21)"] = stats(cold)
    results["parse corpus, cached"] = stats(warm)

    from jazzd.dataset import split, windows
    from jazzd.model import fit
    from jazzd.vocab import Vocabulary

    pieces = corpus.load_corpus([manifest])
    vocab = Vocabulary.from_corpus(v for p in pieces for m in p.measures for v in m.values)
    X, Y = windows(split(pieces, 30).train_runs, vocab, 30)
    times = []
    for r in range(args.repeats):
        t = time.perf_counter()
        fit(X, Y, epochs=args.epochs, seed=r, verbose=0)
        times.append(time.perf_counter() - t)
    results[f"train {args.epochs} epochs, m={X.shape[0]}, Tx=30, n_values={vocab.n_values}"] = stats(times)

    print(f"training and parsing; {machine()}")
    print("| task | median | p99 | max | n |")
    print("|---|---|---|---|---|")
    for name, st in results.items():
        print(row(name, st, fmt=lambda s: f"{s:.2f} s" if s >= 1 else fmt_ms(s)))
    return results


if __name__ == "__main__":
    main()
