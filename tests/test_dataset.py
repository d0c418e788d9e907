import numpy as np
import pytest

from conftest import SOLO_MANIFEST
from jazzd.corpus import load_corpus
from jazzd.dataset import is_held_out, split, windows
from jazzd.vocab import Vocabulary


@pytest.fixture(scope="module")
def pieces():
    return load_corpus([SOLO_MANIFEST])


def test_held_out_bars_never_reach_training(pieces):
    data = split(pieces, Tx=30)
    held = [m for m in pieces[0].measures if is_held_out(m.number)]
    assert [h.bar for h in data.held_out] == [m.number for m in held]
    assert 0 < len(held) < len(pieces[0].measures)
    assert data.n_train_values + data.n_held_out_values == pieces[0].n_values
    # each training run is a contiguous stretch of training bars, in order
    train_bars = [m for m in pieces[0].measures if not is_held_out(m.number)]
    assert sum(data.train_runs, []) == [v for m in train_bars for v in m.values]
    for h in data.held_out:
        assert len(h.context) + len(h.target) <= max(30, len(h.target))


def test_windows_are_the_course_layout(pieces):
    data = split(pieces, Tx=30)
    vocab = Vocabulary.from_corpus(v for m in pieces[0].measures for v in m.values)
    X, Y = windows(data.train_runs, vocab, 30)
    m = X.shape[0]
    assert X.shape == (m, 30, vocab.n_values) and Y.shape == (30, m, vocab.n_values)
    assert m == sum(max(1, len(r) - 30 + 1) for r in data.train_runs)
    assert not X[:, 0].any()  # the first input is the zero vector
    # the input at step t is the target of step t-1
    assert np.array_equal(X[:, 1:], np.swapaxes(Y, 0, 1)[:, :-1])
    assert np.all(Y.sum(axis=2) == 1)


def test_short_runs_are_zero_padded():
    vocab = Vocabulary(["C,0.250", "R,0.250", "S,0.500"])
    X, Y = windows([["C,0.250", "S,0.500"]], vocab, Tx=4)
    assert X.shape == (1, 4, 3)
    assert Y[:2, 0].sum() == 2 and not Y[2:].any()
