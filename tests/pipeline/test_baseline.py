import numpy as np
import pytest

from jazzd.pipeline.baseline import NgramModel, evaluate
from jazzd.pipeline.dataset import HeldOut
from jazzd.core.vocab import Vocabulary


@pytest.mark.parametrize("order", [1, 2, 3])
def test_distributions_are_proper(order):
    model = NgramModel(order, 5).fit([[0, 1, 2, 0, 1, 2, 3], [4, 4, 0]])
    for history in ([], [0], [0, 1], [4, 4], [3, 3, 3]):
        p = model.distribution(history)
        assert p.shape == (5,) and np.all(p > 0) and p.sum() == pytest.approx(1)


def test_higher_orders_learn_a_pattern_unigrams_cannot():
    vocab = Vocabulary(["A,0.250", "C,0.250", "R,0.250", "S,0.250"])
    pattern = ["C,0.250", "S,0.250", "A,0.250", "R,0.250"] * 20
    runs = [vocab.encode(pattern)]
    held = [HeldOut(1, tuple(pattern[:4]), tuple(pattern[:8]))]
    scores = {n: evaluate(NgramModel(n, 4).fit(runs).predictor(), held, vocab) for n in (1, 2, 3)}
    assert scores[1]["loss"] == pytest.approx(np.log(4), abs=0.05)
    assert scores[2]["loss"] < 0.2 and scores[2]["accuracy"] == 1.0
    assert scores[3]["loss"] <= scores[2]["loss"]
    assert scores[2]["perplexity"] == pytest.approx(np.exp(scores[2]["loss"]))
    assert scores[2]["values"] == 8
