"""Per-step inference: the live path (numpy) against Keras model.predict and a tf.function step.

Same weights (models/default, or --model), one step each: the numpy LSTM step,
the whole live path (LSTM step + sampling + realization), the course's way
(Keras `model.predict` on the one-step inference model) and a compiled
`tf.function` step with XLA. Then the same at n_a 128 and 256 and with two LSTM
layers (random weights, the bundled vocabulary). Prints median, p99 and max
per step and the ratios.

    python bench/inference.py [--model models/default] [--steps 5000] [--no-scaling]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, machine, row, time_calls  # noqa: E402


def measure(model, steps: int, keras_steps: int) -> dict:
    """Figure 1 for one model: numpy step, live path, Keras predict, tf.function step."""
    from jazzd.core.harmony import Progression
    from jazzd.core.improviser import Improviser, lstm_step
    from jazzd.core.solo import make_soloist, seeded_generators

    imp = Improviser(model.weights, model.vocab, 1.0, np.random.default_rng(0))
    x_row = imp.weights.kernel[:1]
    soloist = make_soloist(model, Progression("| Dm7 | G7 | Cmaj7 | Cmaj7 |"), seeded_generators(0))
    results = {
        "numpy LSTM step": time_calls(lambda: lstm_step(imp.weights, x_row, imp.a, imp.c), steps),
        "live path: step + sample + realize": time_calls(soloist.next_event, steps),
    }

    import tensorflow as tf

    from jazzd.pipeline.model import one_step_model

    keras_model = one_step_model(model.weights)
    x = np.zeros((1, 1, model.n_values + model.weights.context_width), np.float32)  # value one-hot + context
    states = [np.zeros((1, model.n_a), np.float32) for _ in range(2 * model.weights.layers)]
    results["Keras model.predict (course)"] = time_calls(lambda: keras_model.predict([x, *states], verbose=0),
                                                        keras_steps, warmup=5)
    step_fn = tf.function(lambda *inputs: keras_model(list(inputs), training=False), jit_compile=True)
    tensors = [tf.constant(t) for t in (x, *states)]
    results["tf.function step (XLA)"] = time_calls(lambda: [t.numpy() for t in step_fn(*tensors)], 2000, warmup=20)
    return results


def band_per_beat(bars: int) -> dict:
    """The live path's other work with the band on: what making one bar of the rhythm section (the walking bass's
    choice on each beat, the drums, the piano's voicings) costs, per beat of it, over a tune of changes."""
    import time

    import numpy as np

    from jazzd.core.band.bass import BassChoice
    from jazzd.core.band.section import RhythmSection
    from jazzd.core.band.styles import style
    from jazzd.core.harmony import Progression
    from common import stats

    harmony = Progression("| Dm7 | G7 | Cmaj7 | A7b9 | Dm7 G7 | Em7 A7 | Dm7 G7 | Cmaj7 |")
    section = RhythmSection(style("swing"), harmony, np.random.default_rng(0),
                            bass_choice=BassChoice.load(os.path.join(ROOT, "models", "bass")))
    samples = []
    for bar in range(bars + 10):
        t = time.perf_counter()
        section.notes_until((bar + 1) * 4, 120.0)
        if bar >= 10:
            samples.append((time.perf_counter() - t) / 4)
    return stats(samples)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=os.path.join(ROOT, "models", "default"))
    parser.add_argument("--steps", type=int, default=5000, help="numpy steps timed")
    parser.add_argument("--keras-steps", type=int, default=200, help="Keras predict steps timed")
    parser.add_argument("--no-scaling", action="store_true", help="only the bundled model")
    args = parser.parse_args(argv)

    import tempfile

    from jazzd.core.modeldir import load_model
    from common import bench_model

    model = load_model(args.model)
    sizes = {f"{os.path.relpath(args.model, ROOT)} (n_a {model.n_a})": model}
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_scaling:
            for n_a, layers in ((128, 1), (256, 1), (64, 2)):
                path = bench_model(os.path.join(tmp, f"m{n_a}x{layers}"), n_a=n_a, layers=layers)
                sizes[f"random, n_a {n_a}, {layers} layer{'s' if layers > 1 else ''}"] = load_model(path)
        all_results = {}
        for label, m in sizes.items():
            for name, st in measure(m, args.steps, max(20, args.keras_steps // (1 if m is model else 4))).items():
                all_results[(label, name)] = st

    all_results[(f"the band (swing: bass, drums, piano)", "one bar made, per beat")] = band_per_beat(args.steps // 10)
    print(f"per-step inference (n_values {model.n_values}); {machine()}")
    print("| model | step | median | p99 | max | n |")
    print("|---|---|---|---|---|---|")
    for (label, name), st in all_results.items():
        print(row(f"{label} | {name}", st))
    for label in sizes:  # (the band's row has no model.predict beside it)
        live = all_results[(label, "live path: step + sample + realize")]["median"]
        predict = all_results[(label, "Keras model.predict (course)")]["median"]
        tf_step = all_results[(label, "tf.function step (XLA)")]["median"]
        print(f"{label}: live path {predict / live:,.0f}x faster than model.predict, "
              f"{tf_step / live:,.1f}x faster than the tf.function step (medians)")
    return all_results


if __name__ == "__main__":
    main()
