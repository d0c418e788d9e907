"""Per-step inference: the live path (numpy) against Keras model.predict and a tf.function step.

Same weights (models/default, or --model), one step each: the numpy LSTM step,
the whole live path (LSTM step + sampling + realization), the course's way
(Keras `model.predict` on the one-step inference model) and a compiled
`tf.function` step with XLA. Prints median, p99 and max per step and the ratios.

    python bench/inference.py [--model models/default] [--steps 5000]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, machine, row, stats, time_calls  # noqa: E402


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=os.path.join(ROOT, "models", "default"))
    parser.add_argument("--steps", type=int, default=5000, help="numpy steps timed")
    parser.add_argument("--keras-steps", type=int, default=200, help="Keras predict steps timed")
    args = parser.parse_args(argv)

    from jazzd.harmony import Progression
    from jazzd.improviser import Improviser, lstm_step
    from jazzd.modeldir import load_model
    from jazzd.solo import make_soloist, seeded_generators

    model = load_model(args.model)
    imp = Improviser(model.weights, model.vocab, 1.0, np.random.default_rng(0))
    x_row = imp.weights.kernel[:1]

    def numpy_step():
        lstm_step(imp.weights, x_row, imp.a, imp.c)

    soloist = make_soloist(model, Progression("| Dm7 | G7 | Cmaj7 | Cmaj7 |"), seeded_generators(0))
    results = {
        "numpy LSTM step": time_calls(numpy_step, args.steps),
        "live path: step + sample + realize": time_calls(soloist.next_event, args.steps),
    }

    import tensorflow as tf

    from jazzd.model import one_step_model

    keras_model = one_step_model(model.weights)
    x = np.zeros((1, 1, model.n_values), np.float32)
    a = np.zeros((1, model.n_a), np.float32)
    c = np.zeros((1, model.n_a), np.float32)
    results["Keras model.predict (course)"] = time_calls(lambda: keras_model.predict([x, a, c], verbose=0),
                                                        args.keras_steps, warmup=5)
    step_fn = tf.function(lambda x, a, c: keras_model([x, a, c], training=False), jit_compile=True)
    tx, ta, tc = tf.constant(x), tf.constant(a), tf.constant(c)
    results["tf.function step (XLA)"] = time_calls(lambda: [t.numpy() for t in step_fn(tx, ta, tc)], 2000, warmup=20)

    print(f"per-step inference, model {os.path.relpath(args.model, ROOT)} "
          f"(n_values {model.n_values}, n_a {model.n_a}); {machine()}")
    print("| step | median | p99 | max | n |")
    print("|---|---|---|---|---|")
    for name, st in results.items():
        print(row(name, st))
    live = results["live path: step + sample + realize"]["median"]
    print(f"live path is {results['Keras model.predict (course)']['median'] / live:,.0f}x faster than model.predict, "
          f"{results['tf.function step (XLA)']['median'] / live:,.1f}x faster than the tf.function step (medians)")
    return results


if __name__ == "__main__":
    main()
