import numpy as np
import pytest

from helpers import DEFAULT_MODEL, random_weights
from jazzd.errors import ModelError
from jazzd.core.improviser import Improviser, sample_index
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


def test_temperature_zero_is_argmax(model):
    imp = Improviser(model.weights, model.vocab, 0.0, np.random.default_rng(0))
    probe = Improviser(model.weights, model.vocab, 1.0)
    for _ in range(20):
        expected = int(probe.step(np.zeros((1, model.n_values)) if probe.last is None
                                  else np.eye(model.n_values)[[probe.last]]).argmax())
        probe.last = expected
        assert imp.next_index() == expected


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
@pytest.mark.parametrize("which", ["default model", "2-layer n_a=32"])
def test_numpy_step_equals_keras_over_200_steps(model, which):
    """Both run free from zero state on the same sampled inputs for 200 steps.

    Outputs (probabilities, a) are compared absolutely. One unit of the default
    model's cell state c grows by about 1 per step (the forget gate is ~1), so c
    is compared relative to its size: float32 holds 175.0 only to ~1e-5.
    """
    from jazzd.pipeline.model import one_step_model

    weights = model.weights if which == "default model" else random_weights(model.n_values, 32, 2)
    keras_step = one_step_model(weights)
    imp = Improviser(weights, model.vocab, 1.0, np.random.default_rng(11))
    states = [np.zeros((1, weights.n_a), np.float32) for _ in range(2 * weights.layers)]
    x = np.zeros((1, weights.n_values), np.float32)
    worst = {"probs": 0.0, "a": 0.0, "c (relative)": 0.0}
    for _ in range(200):
        probs = imp.step(x)
        k_probs, *states = (np.asarray(t) for t in keras_step([x[:, None, :], *states]))
        a, c = np.concatenate(states[0::2]), np.concatenate(states[1::2])
        worst["probs"] = max(worst["probs"], np.abs(probs - k_probs).max())
        worst["a"] = max(worst["a"], np.abs(imp.a - a).max())
        worst["c (relative)"] = max(worst["c (relative)"], (np.abs(imp.c - c) / np.maximum(1, np.abs(c))).max())
        x = np.eye(weights.n_values, dtype=np.float32)[[sample_index(probs, 1.0, imp.rng)]]
    assert max(worst.values()) <= 1e-5, worst


@pytest.mark.tf
def test_course_inference_model_matches_numpy_argmax(model):
    from jazzd.pipeline.model import music_inference_model

    inference = music_inference_model(model.weights, Ty=30)
    outputs = inference.predict([np.zeros((1, 1, model.n_values)), np.zeros((1, model.n_a)), np.zeros((1, model.n_a))], verbose=0)
    keras_indices = [int(np.argmax(o)) for o in outputs]
    imp = Improviser(model.weights, model.vocab, temperature=0.0)
    assert [imp.next_index() for _ in range(30)] == keras_indices
