"""Training and corpus parsing: wall time of 100 epochs on the course's data size, parsing cold and cached.

Also training time against corpus size: 60, 240 and 960 windows (1x, 4x, 16x
the course's m = 60) drawn from the whole guitar part (n_values 247), and the
bundled model's own corpus.

    python bench/training.py [--epochs 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, machine, print_table, stats, fmt_ms  # noqa: E402


def course_unrolled_model(n_values: int, n_a: int, Tx: int):
    """The course's `djmodel` as the assignment builds it: one LSTM cell and one Dense,
    called once per step in a Python loop over Tx (a reference for timing only)."""
    import keras

    X = keras.Input(shape=(Tx, n_values))
    a0 = keras.Input(shape=(n_a,))
    c0 = keras.Input(shape=(n_a,))
    cell = keras.layers.LSTM(n_a, return_state=True)
    densor = keras.layers.Dense(n_values, activation="softmax")
    a, c, outputs = a0, c0, []
    for t in range(Tx):
        x = keras.layers.Reshape((1, n_values))(keras.layers.Lambda(lambda z, t=t: z[:, t, :])(X))
        a, _, c = cell(x, initial_state=[a, c])
        outputs.append(densor(a))
    model = keras.Model([X, a0, c0], outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01, beta_1=0.9, beta_2=0.999),
                  loss=["categorical_crossentropy"] * Tx)
    return model


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    manifest = os.path.join(ROOT, "data", "metheny_solo.toml")

    from jazzd.pipeline import corpus

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

    from jazzd.pipeline.dataset import split, windows
    from jazzd.pipeline.model import fit
    from jazzd.core.vocab import Vocabulary

    pieces = corpus.load_corpus([manifest])
    vocab = Vocabulary.from_corpus(v for p in pieces for m in p.measures for v in m.values)
    X, Y = windows(split(pieces, 30).train_runs, vocab, 30)
    times = []
    for r in range(args.repeats):
        t = time.perf_counter()
        fit(X, Y, epochs=args.epochs, seed=r, verbose=0)
        times.append(time.perf_counter() - t)
    results[f"train {args.epochs} epochs, m={X.shape[0]}, Tx=30, n_values={vocab.n_values}"] = stats(times)
    import numpy as np

    unrolled = course_unrolled_model(vocab.n_values, 64, 30)
    zeros = np.zeros((X.shape[0], 64), np.float32)
    t = time.perf_counter()
    unrolled.fit([X, zeros, zeros], list(Y), epochs=args.epochs, batch_size=32, verbose=0)
    results[f"for scale: the course's unrolled 30-step graph, same data, {args.epochs} epochs"] = \
        stats([time.perf_counter() - t])

    guitar = corpus.load_corpus([os.path.join(ROOT, "data", "metheny_guitar.toml")])
    vocab = Vocabulary.from_corpus(v for p in guitar for m in p.measures for v in m.values)
    X, Y = windows(split(guitar, 30).train_runs, vocab, 30)
    t = time.perf_counter()
    fit(X, Y, epochs=args.epochs, seed=0, verbose=0)
    results[f"train {args.epochs} epochs, the Metheny guitar part (m={X.shape[0]}, n_values={vocab.n_values})"] = \
        stats([time.perf_counter() - t])
    rng = np.random.default_rng(0)
    for scale in (1, 4, 16):
        pick = rng.integers(0, X.shape[0], 60 * scale)  # windows drawn with replacement
        t = time.perf_counter()
        fit(X[pick], Y[:, pick], epochs=args.epochs, seed=0, verbose=0)
        results[f"train {args.epochs} epochs, {scale}x the course's windows (m={60 * scale})"] = \
            stats([time.perf_counter() - t])

    print(f"training and parsing; {machine()}")
    print_table("task", results, fmt=lambda s: f"{s:.2f} s" if s >= 1 else fmt_ms(s))
    return results


if __name__ == "__main__":
    main()
