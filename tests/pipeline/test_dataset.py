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


def test_training_contexts_are_what_generate_and_live_hear():
    """The context of each corpus value (piece_contexts, training) is the context the soloist computes at the
    same beat over the same chords (conditioning.context_at, used by generate and live), except after the
    piece's last change, where the corpus knows no next chord and a looped progression starts again."""
    import math

    from helpers import WJAZZD
    from jazzd.core.conditioning import context_at
    from jazzd.core.harmony import progression_from_json, progression_to_json
    from jazzd.pipeline.dataset import piece_contexts

    from jazzd.pipeline.evaluate import first_bars

    [piece] = load_corpus([WJAZZD / "ArtPepper_Anthropology_001.mid"])
    run = first_bars(piece, 10_000)  # consecutive bars from a phrase's first, as evaluate generates over them
    assert (run[0].number - 1) % 4 == 0 and len(run) > 32
    harmony = progression_from_json(progression_to_json(run))
    origin = run[0].offset
    last_change = max(o for m in run for o, _, _ in m.chords) - origin
    contexts_of = dict(zip((m.number for m in piece.measures), piece_contexts(piece)))
    compared = 0
    for measure in run:
        contexts = contexts_of[measure.number]
        assert len(contexts) == len(measure.values)
        for note, columns in zip(measure.notes, contexts):
            onset = note.offset - origin
            if harmony.next_change(onset)[0] > last_change + 1e-9 or math.isinf(harmony.next_change(onset)[0]):
                continue
            assert columns == context_at(harmony, onset, harmony.beats_per_bar), (measure.number, note)
            compared += 1
    assert compared > 0.9 * sum(len(m.values) for m in run)


@pytest.mark.tf
def test_the_conditioned_training_graph_is_the_numpy_improviser_on_the_same_windows():
    """A conditioned Keras training model and the numpy Improviser, given the same weights, give the same
    distribution at every step of a real window with its contexts (value t-1 and the context of value t in)."""
    from helpers import WJAZZD, random_weights
    from jazzd.core import conditioning
    from jazzd.core.improviser import Improviser
    from jazzd.pipeline.dataset import windows_of
    from jazzd.pipeline.model import indexed_training_model, window_dataset

    pieces = load_corpus([WJAZZD / "ArtPepper_Anthropology_001.mid"])
    data = split(pieces, Tx=30, contexts=True)
    vocab = Vocabulary.from_corpus(v for m in pieces[0].measures for v in m.values)
    w = windows_of(data.train_runs, vocab, 30, contexts=data.train_contexts)
    assert w.features.shape == (w.flat.shape[0], conditioning.WIDTH)
    weights = random_weights(vocab.n_values, 16, 1, seed=4, conditioned=True).astype(np.float32)
    keras_model = indexed_training_model(vocab.n_values, 16, 30, context_width=conditioning.WIDTH)
    keras_model.get_layer("lstm").set_weights([weights.kernel, weights.recurrent_kernel, weights.bias])
    keras_model.get_layer("dense").set_weights([weights.dense_kernel, weights.dense_bias])
    (indices, context), targets, _ = next(iter(window_dataset(w, batch_size=4, seed=2)))
    keras_probs = keras_model.predict([indices, context], verbose=0)
    imp = Improviser(weights, vocab)
    for row in range(4):
        columns = [tuple(np.flatnonzero(c)) for c in context.numpy()[row]]
        numpy_probs = imp.sequence_probs(targets.numpy()[row], columns)
        assert np.abs(numpy_probs - keras_probs[row]).max() < 1e-5
