import numpy as np
import pytest

from helpers import SOLO_MANIFEST
from jazzd.pipeline.corpus import load_corpus
from jazzd.pipeline.dataset import is_held_out, split, windows
from jazzd.core.vocab import Vocabulary


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


def test_window_indices_are_the_same_windows_as_one_hot(pieces):
    from jazzd.pipeline.dataset import window_indices

    data = split(pieces, Tx=30)
    vocab = Vocabulary.from_corpus(v for m in pieces[0].measures for v in m.values)
    X, Y = windows(data.train_runs, vocab, 30)
    idx = window_indices(data.train_runs, vocab, 30)
    assert idx.shape == (X.shape[0], 30)
    one_hot = np.zeros((*idx.shape, vocab.n_values), np.float32)
    rows, cols = np.nonzero(idx >= 0)
    one_hot[rows, cols, idx[rows, cols]] = 1
    assert np.array_equal(one_hot, np.swapaxes(Y, 0, 1))
    # a stride keeps every k-th start of each run
    strided = window_indices(data.train_runs, vocab, 30, stride=4)
    assert len(strided) == sum(len(range(0, max(1, len(r) - 29), 4)) if len(r) >= 30 else 1 for r in data.train_runs)
    short = window_indices([["C,0.250", "S,0.500"]], Vocabulary(["C,0.250", "R,0.250", "S,0.500"]), 4)
    assert short.tolist() == [[0, 2, -1, -1]]


def test_validation_bars_are_kept_out_of_training(pieces):
    from jazzd.pipeline.dataset import VALIDATION_PHASE, block_phase

    plain = split(pieces, Tx=30)
    data = split(pieces, Tx=30, validation=True)
    val_bars = [m for m in pieces[0].measures if block_phase(m.number) == VALIDATION_PHASE]
    assert len(val_bars) > 0 and len(data.validation_runs) == len(val_bars)
    assert data.held_out == plain.held_out  # the same held-out bars either way
    assert data.n_train_values == plain.n_train_values - sum(len(m.values) for m in val_bars)
    for run, bar in zip(data.validation_runs, val_bars):
        assert run[-len(bar.values):] == list(bar.values)


@pytest.mark.tf
def test_the_tf_data_pipeline_reads_every_window_once_an_epoch_as_the_course_shifts_them(pieces):
    """Each epoch of window_dataset is every window once (shuffled), with the previous value as input
    (-1 first: the course's zero x0), the value as target, and padded steps weighing 0."""
    from jazzd.pipeline.dataset import windows_of
    from jazzd.pipeline.model import window_dataset

    data = split(pieces, Tx=30)
    vocab = Vocabulary.from_corpus(v for m in pieces[0].measures for v in m.values)
    runs = data.train_runs + [["C,0.250", "S,0.500"][: 1 + i % 2] for i in range(3) if "C,0.250" in vocab.index]
    w = windows_of([r for r in runs if all(v in vocab.index for v in r)], vocab, 30)
    expected = w.array()
    batches = list(window_dataset(w, batch_size=16, seed=1).take(-(-w.m // 16)))
    inputs = np.concatenate([b[0].numpy() for b in batches])
    targets = np.concatenate([b[1].numpy() for b in batches])
    weights = np.concatenate([b[2].numpy() for b in batches])
    assert inputs.shape == expected.shape
    order = np.lexsort(targets.T[::-1])  # the epoch's windows, whatever their shuffled order
    assert not np.array_equal(targets, targets[order]) or w.m < 3  # shuffled
    got = {tuple(np.where(wt > 0, t, -1)) for t, wt in zip(targets, weights)}
    assert got == {tuple(row) for row in expected} and len(targets) == w.m
    for inp, tgt, wt in zip(inputs, targets, weights):
        assert inp[0] == -1 and np.array_equal(inp[1:][wt[:-1] > 0], tgt[:-1][wt[:-1] > 0])
