"""Which Metheny corpus makes the better model (models/metheny): the course's solo or the whole guitar part?

Trains the course's model (100 epochs, n_a 64, Tx 30, seed 0) on each corpus and
scores both, next to n-gram baselines, on held-out bars: each on its own split,
and both on the same bars, the held-out bars of the course's solo (which lie in
both corpora). Values a model's vocabulary lacks score as probability 1e-12.

    python bench/corpus_choice.py [--epochs 100]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    args = parser.parse_args(argv)

    import numpy as np

    from jazzd.pipeline.baseline import NgramModel, evaluate
    from jazzd.pipeline.corpus import load_corpus
    from jazzd.pipeline.dataset import split
    from jazzd.core.improviser import Improviser
    from jazzd.core.modeldir import load_model
    from jazzd.pipeline.evaluate import format_loss_table
    from jazzd.pipeline.train import train
    from jazzd.core.vocab import Vocabulary

    corpora = {"solo": os.path.join(ROOT, "data", "metheny_solo.toml"),
               "guitar": os.path.join(ROOT, "data", "metheny_guitar.toml")}
    solo_held_out = split(load_corpus([corpora["solo"]]), 30).held_out
    with tempfile.TemporaryDirectory() as tmp:
        for name, manifest in corpora.items():
            print(f"== {name}: {manifest}")
            train([manifest], os.path.join(tmp, name), epochs=args.epochs, seed=0, verbose=0)
            model = load_model(os.path.join(tmp, name))
            # the same bars for both: the solo's held-out bars, in this model's vocabulary
            vocab = Vocabulary(model.vocab.values + tuple(sorted(
                {v for h in solo_held_out for v in h.context + h.target} - set(model.vocab.values))))
            improviser = Improviser(model.weights, model.vocab)

            def lstm(context, target, improviser=improviser, n=model.n_values):
                known = [i for i in context if i < n]
                probs = np.zeros((len(target), vocab.n_values))
                seq = known + [min(t, n - 1) for t in target]  # an unknown value feeds as its nearest index
                probs[:, :n] = improviser.sequence_probs(seq)[len(known):]
                return probs

            pieces = load_corpus([manifest])
            runs = [vocab.encode(r) for r in split(pieces, 30).train_runs]
            report = {"lstm": evaluate(lstm, solo_held_out, vocab)}
            for order, label in ((2, "bigram"), (3, "trigram")):
                report[label] = evaluate(NgramModel(order, vocab.n_values).fit(runs).predictor(), solo_held_out, vocab)
            print(f"-- {name} model on the solo's {len(solo_held_out)} held-out bars:")
            print(format_loss_table(report))


if __name__ == "__main__":
    main()
