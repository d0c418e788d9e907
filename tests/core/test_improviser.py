import numpy as np
import pytest

from helpers import DEFAULT_MODEL, random_weights
from jazzd.errors import ModelError
from jazzd.core.improviser import ARGMAX_MEMORY, LOOP_GUARD, Improviser, sample_index
from jazzd.core.modeldir import load_model
from jazzd.core.vocab import Vocabulary


@pytest.fixture(scope="module")
def model():
    return load_model(DEFAULT_MODEL)


def test_same_seed_same_values_different_seed_differs(model):
    def run(seed):
        imp = Improviser(model.weights, model.vocab, 1.0, np.random.default_rng(seed))
        return [imp.next_value() for _ in range(60)]

    assert run(1) == run(1)
    assert run(1) != run(2)


def repeats_a_phrase(values, length=LOOP_GUARD, memory=ARGMAX_MEMORY) -> bool:
    """Whether a phrase of `length` values ends where it already stood among the `memory` values before."""
    for end in range(length, len(values) + 1):
        phrase = values[end - length:end]
        window = values[max(0, end - 1 - memory):end - 1]
        if any(window[i:i + length] == phrase for i in range(len(window) - length + 1)):
            return True
    return False


def test_temperature_zero_is_argmax_without_its_loop(model):
    imp = Improviser(model.weights, model.vocab, 0.0, np.random.default_rng(0))
    probe = Improviser(model.weights, model.vocab, 1.0)
    greedy = []
    width = model.weights.kernel.shape[0]  # the value's one-hot, then a conditioned model's context (none here)
    for _ in range(300):
        index = int(probe.step(np.zeros((1, width)) if probe.last is None
                               else np.eye(model.n_values, width)[[probe.last]]).argmax())
        probe.last = index
        greedy.append(index)
    guarded = [imp.next_index() for _ in range(300)]
    assert repeats_a_phrase(greedy), "the plain argmax no longer loops: this test proves nothing"
    assert not repeats_a_phrase(guarded)
    assert guarded[:7] == greedy[:7]  # the most likely value, until a phrase would come back


def test_nucleus_sampling_cuts_the_unlikely_tail():
    rng = np.random.default_rng(0)
    p = np.array([0.5, 0.3, 0.15, 0.05])
    draws = np.bincount([sample_index(p, 1.0, rng, top_p=0.8) for _ in range(20000)], minlength=4) / 20000
    assert draws[2] == 0 and draws[3] == 0
    assert draws[:2] == pytest.approx(p[:2] / p[:2].sum(), abs=0.02)
    with pytest.raises(ValueError, match="top_p"):
        sample_index(p, 1.0, rng, top_p=0.0)


def nucleus_by_definition(p, top_p):
    """The nucleus as Holtzman et al. define it: the fewest most likely values holding top_p of the mass."""
    order = np.argsort(-p, kind="stable")
    cumulative = np.cumsum(p[order])
    return set(order[: int(np.searchsorted(cumulative, top_p * cumulative[-1], side="left")) + 1].tolist())


def test_nucleus_sampling_draws_from_the_nucleus_by_its_definition_whatever_the_shape():
    rng = np.random.default_rng(3)
    for trial in range(300):  # peaked and flat distributions, with a label-smoothed tail (a head of a few
        # values holds the mass) and without (the head falls short: every value is sorted)
        logits = rng.normal(0, rng.uniform(0.3, 8), 2533)
        p = np.exp(logits - logits.max())
        p = p / p.sum() if trial % 2 else 0.9 * p / p.sum() + 0.1 / 2533
        top_p = float(rng.choice([0.3, 0.9, 0.99]))
        nucleus = nucleus_by_definition(p, top_p)
        draws = {sample_index(p, 1.0, np.random.default_rng(trial * 7 + k), top_p) for k in range(20)}
        assert draws <= nucleus, (trial, sorted(draws - nucleus))
        # and each draw is the inverse-CDF draw over the nucleus in index order
        kept = np.sort(np.fromiter(nucleus, int))
        u = np.random.default_rng(trial).random()
        cumulative = np.cumsum(p[kept])
        expected = kept[min(int(np.searchsorted(cumulative, u * cumulative[-1], side="right")), len(kept) - 1)]
        assert sample_index(p, 1.0, np.random.default_rng(trial), top_p) == expected


def test_sampling_follows_the_temperature():
    rng = np.random.default_rng(0)
    p = np.array([0.6, 0.3, 0.1])
    draws = {t: np.bincount([sample_index(p, t, rng) for _ in range(20000)], minlength=3) / 20000 for t in (1.0, 0.5, 3.0)}
    assert draws[1.0] == pytest.approx(p, abs=0.02)
    sharp = p ** 2 / (p ** 2).sum()
    assert draws[0.5] == pytest.approx(sharp, abs=0.02)
    assert draws[3.0][2] > draws[1.0][2]
    with pytest.raises(ValueError):
        sample_index(p, -1, rng)


def test_prime_moves_the_state_and_is_repeatable(model):
    values = list(model.vocab.values[:12])
    a = Improviser(model.weights, model.vocab, 1.0, np.random.default_rng(5))
    b = Improviser(model.weights, model.vocab, 1.0, np.random.default_rng(5))
    c = Improviser(model.weights, model.vocab, 1.0, np.random.default_rng(5))
    assert a.prime(values + ["not a value"]) == 12
    b.prime(values)
    assert np.array_equal(a.a, b.a) and np.array_equal(a.c, b.c) and a.last == b.last
    assert not np.allclose(a.a, c.a)
    assert [a.next_value() for _ in range(20)] == [b.next_value() for _ in range(20)]
    a.reset()
    assert not a.a.any() and not a.c.any() and a.last is None


def test_mismatched_vocabulary_and_bad_input(model):
    with pytest.raises(ModelError, match="vocabulary has 2 values, but the weights expect"):
        Improviser(model.weights, Vocabulary(["C,0.250", "R,0.250"]))
    imp = Improviser(model.weights, model.vocab)
    with pytest.raises(ModelError, match="step input must have shape"):
        imp.step(np.zeros((1, 3)))
    with pytest.raises(ValueError):
        Improviser(model.weights, model.vocab, temperature=-0.5)


@pytest.mark.tf
@pytest.mark.parametrize("which", ["default model", "2-layer n_a=32", "conditioned 2-layer n_a=32"])
def test_numpy_step_equals_keras_over_200_steps(model, which):
    """Both run free from zero state on the same sampled inputs for 200 steps.

    Outputs (probabilities, a) are compared absolutely. One unit of the default
    model's cell state c grows by about 1 per step (the forget gate is ~1), so c
    is compared relative to its size: float32 holds 175.0 only to ~1e-5. The
    conditioned model's input is the value's one-hot and a context's multi-hot row
    (random contexts of the real encoding), through both Improviser.step and
    next_index's row sums.
    """
    from jazzd.core.conditioning import context
    from jazzd.core.harmony import chord_from_symbol
    from jazzd.pipeline.model import one_step_model

    conditioned = which.startswith("conditioned")
    weights = (model.weights if which == "default model"
               else random_weights(model.n_values, 32, 2, conditioned=conditioned))
    keras_step = one_step_model(weights)
    imp = Improviser(weights, model.vocab, 1.0, np.random.default_rng(11))
    twin = Improviser(weights, model.vocab, 1.0, np.random.default_rng(11))  # steps by index and context
    states = [np.zeros((1, weights.n_a), np.float32) for _ in range(2 * weights.layers)]
    rng = np.random.default_rng(3)
    last, worst = None, {"probs": 0.0, "a": 0.0, "c (relative)": 0.0, "next_index": 0.0}
    for _ in range(200):
        x = np.zeros((1, weights.kernel.shape[0]), np.float32)
        if last is not None:
            x[0, last] = 1
        columns = None
        if conditioned:
            chord, after = (chord_from_symbol(str(rng.choice(["Dm7", "G7b9", "Cmaj7", "F#m7b5", "Bb7#11"])))
                            for _ in range(2))
            columns = context(int(rng.integers(48)) / 12, int(rng.integers(8)), chord, after, float(rng.integers(10)))
            x[0, weights.n_values + np.array(columns)] = 1
        probs = imp.step(x)
        twin.next_index(columns)
        k_probs, *states = (np.asarray(t) for t in keras_step([x[:, None, :], *states]))
        a, c = np.concatenate(states[0::2]), np.concatenate(states[1::2])
        worst["probs"] = max(worst["probs"], np.abs(probs - k_probs).max())
        worst["a"] = max(worst["a"], np.abs(imp.a - a).max())
        worst["c (relative)"] = max(worst["c (relative)"], (np.abs(imp.c - c) / np.maximum(1, np.abs(c))).max())
        worst["next_index"] = max(worst["next_index"], np.abs(twin.a - imp.a).max())
        last = twin.last = sample_index(probs, 1.0, rng)
    assert max(worst.values()) <= 1e-5, worst


@pytest.mark.tf
def test_course_inference_model_matches_numpy_argmax(model):
    """The course's music_inference_model (value-only, argmax fed back) stepped in numpy; temperature 0 guards its loop."""
    from jazzd.pipeline.model import music_inference_model

    # the course's model hears the previous value only: 40 values of the vocabulary, random weights
    vocab = Vocabulary(model.vocab.values[:40])
    weights = random_weights(vocab.n_values, 16, seed=8)  # its argmax settles into a two-value loop
    inference = music_inference_model(weights, Ty=30)
    outputs = inference.predict([np.zeros((1, 1, vocab.n_values)), np.zeros((1, 16)), np.zeros((1, 16))], verbose=0)
    keras_indices = [int(np.argmax(o)) for o in outputs]
    # The course's argmax, stepped in numpy: feed each most likely value back as a one-hot.
    probe = Improviser(weights, vocab)
    x, numpy_indices = np.zeros((1, vocab.n_values)), []
    for _ in range(30):
        numpy_indices.append(int(probe.step(x).argmax()))
        x = np.eye(vocab.n_values)[[numpy_indices[-1]]]
    assert numpy_indices == keras_indices
    assert repeats_a_phrase(keras_indices)  # the course's argmax falls into a loop
    # jazzd's temperature 0 is that argmax until the loop guard turns it from a phrase already played.
    imp = Improviser(weights, vocab, temperature=0.0)
    guarded = [imp.next_index() for _ in range(30)]
    first = next((t for t, (g, k) in enumerate(zip(guarded, keras_indices)) if g != k), 30)
    assert first >= LOOP_GUARD - 1 and repeats_a_phrase(keras_indices[:first + 1])
