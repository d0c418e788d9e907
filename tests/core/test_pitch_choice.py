import numpy as np
import pytest

from jazzd.core.pitch_choice import RECENT, RECENT_BUCKETS, PitchChoice, fit, recency


def test_recency_counts_notes_back_to_the_last_time_a_pitch_class_sounded():
    history = [65, 60, 62, 64, 72]  # oldest first: C (72) one note ago, E two, D three, C also four, F five
    assert recency([84, 76, 50, 65, 61], history).tolist() == [0, 1, 2, 3, len(RECENT_BUCKETS)]
    assert recency([60], [60] + [62] * RECENT).tolist() == [len(RECENT_BUCKETS)]  # beyond the memory
    assert recency([60, 62], []).tolist() == [len(RECENT_BUCKETS)] * 2


def test_fit_learns_that_the_line_comes_back_to_its_recent_pitch_classes():
    rng = np.random.default_rng(0)
    examples = []
    for _ in range(3000):
        history = [int(p) for p in rng.integers(55, 80, size=8)]
        previous = history[-1]
        candidates = sorted({int(p) for p in rng.integers(previous - 7, previous + 8, size=6)})
        back = [i for i, p in enumerate(candidates) if recency([p], history)[0] <= 3]  # sounded in the last 8
        if not back or len(back) == len(candidates):
            continue
        chosen = int(rng.choice(back)) if rng.random() < 0.8 else int(rng.integers(len(candidates)))
        examples.append((candidates, chosen, previous, None, tuple(history)))
    choice = fit(examples)
    assert choice.recent[:4].min() > choice.recent[len(RECENT_BUCKETS)] + 0.5, choice.recent
    history = (60, 64, 67, 62, 65, 69, 71, 60)
    p = choice.probabilities([61, 62, 63], 60, None, history)
    assert p[1] > 2 * max(p[0], p[2])  # D sounded three notes ago, C# and Eb not at all
    assert np.allclose(choice.probabilities([61, 62, 63], 60, None, ()), choice.probabilities([61, 62, 63], 60, None))


def test_a_choice_saved_before_the_recency_weights_loads_with_them_at_zero():
    old = {name: array for name, array in PitchChoice.uniform().arrays().items() if name != "realizer/recent"}
    choice = PitchChoice.from_arrays(old)
    assert choice is not None and not choice.recent.any()
    assert PitchChoice.from_arrays({}) is None
    with pytest.raises(ValueError, match="realizer/recent"):
        PitchChoice(*list(PitchChoice.uniform().arrays().values())[:3], np.zeros(3))


def test_scores_are_the_sum_of_the_interval_pitch_direction_and_recency_weights():
    rng = np.random.default_rng(5)
    choice = PitchChoice(rng.normal(size=49), rng.normal(size=128), rng.normal(size=3), rng.normal(size=6))
    for trial in range(500):
        previous = int(rng.integers(0, 128))
        candidates = sorted(set(rng.integers(0, 128, int(rng.integers(1, 12))).tolist()))
        previous_interval = [None, 0, int(rng.integers(-12, 13))][trial % 3]
        history = rng.integers(0, 128, int(rng.integers(0, 25))).tolist()
        steps = np.clip(np.array(candidates) - previous, -24, 24)
        turn = np.where(steps == 0, choice.turn[2], 0.0)
        if previous_interval:
            turn = np.where(steps == 0, choice.turn[2],
                            np.where((steps > 0) == (previous_interval > 0), choice.turn[0], choice.turn[1]))
        expected = (choice.interval[steps + 24] + choice.pitch[candidates]
                    + choice.recent[recency(candidates, history)] + turn)
        np.testing.assert_allclose(choice.scores(candidates, previous, previous_interval, history), expected,
                                   rtol=0, atol=1e-12)
