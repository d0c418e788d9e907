"""The players' timing around the grid: fitted from (grid onset, played onset) pairs, drawn per note."""

from types import SimpleNamespace

import numpy as np
import pytest

from jazzd.core.feel import MIN_GAP_BEATS, Feel
from jazzd.core.timeline import Note
from jazzd.core.timing import MAX_OFFSET_BEATS, MIN_NOTES, POSITIONS, QUANTILES, PlayedTiming, fit, note_offsets


def pairs_with(rng, position, offsets):
    return [(float(beat) + position / POSITIONS, float(o)) for beat, o in enumerate(offsets)]


def test_fit_keeps_each_positions_offsets_and_draws_from_them():
    rng = np.random.default_rng(0)
    late = rng.normal(0.08, 0.02, 4000).clip(0.0, 0.2)  # off-beat eighths laid back (swing)
    pairs = pairs_with(rng, 6, late) + pairs_with(rng, 0, np.zeros(500)) + pairs_with(rng, 3, [0.1] * (MIN_NOTES - 1))
    timing = fit(pairs)
    assert timing.quantiles.shape == (POSITIONS, QUANTILES)
    draws = np.array([timing.offset(10.5, rng) for _ in range(4000)])
    assert abs(np.median(draws) - np.median(late)) < 0.005
    assert abs(np.percentile(draws, 90) - np.percentile(late, 90)) < 0.01
    assert {timing.offset(7.0, rng) for _ in range(50)} == {0.0}  # on the beat: as played, on it
    assert timing.offset(2.25, rng) == 0.0  # too few notes at a 16th: the grid


def test_bad_timing_arrays_are_refused():
    with pytest.raises(ValueError, match="shape"):
        PlayedTiming(np.zeros((POSITIONS, 5)))
    with pytest.raises(ValueError, match="beyond"):
        PlayedTiming(np.full((POSITIONS, QUANTILES), MAX_OFFSET_BEATS * 2))
    with pytest.raises(ValueError, match="decrease"):
        PlayedTiming(np.tile(np.linspace(0.1, -0.1, QUANTILES), (POSITIONS, 1)))
    assert PlayedTiming.from_arrays({}) is None


def test_each_note_is_paired_with_its_nearest_played_onset():
    note = lambda offset, pitch=60: SimpleNamespace(offset=offset, pitch=pitch)  # noqa: E731
    # a grace note at 0.9 was merged away by the grid: the n-th played onset is not the n-th note's
    bar = SimpleNamespace(notes=(note(0.0), note(1.0), note(1.5, None), note(2.5)), played=(0.02, 0.9, 1.04, 2.6))
    pairs = note_offsets([bar])
    assert [onset for onset, _ in pairs] == [0.0, 1.0, 2.5]
    assert [offset for _, offset in pairs] == pytest.approx([0.02, 0.04, 0.1])
    far = SimpleNamespace(notes=(note(3.0),), played=(3.5,))  # nothing played near it
    assert note_offsets([far]) == []


def test_the_feel_plays_the_timing_in_order_and_seeded():
    timing = PlayedTiming(np.tile(np.linspace(-0.2, 0.2, QUANTILES), (POSITIONS, 1)))

    def run(seed):
        feel = Feel(rng=np.random.default_rng(seed), timing=timing)
        return [feel.perform(Note(i / 12, 1 / 12, 60, 80)) for i in range(12, 400)]

    a, b = run(3), run(3)
    assert a == b and a != run(4)
    onsets = [n.onset for n in a]
    assert all(later - earlier >= MIN_GAP_BEATS - 1e-12 for earlier, later in zip(onsets, onsets[1:]))
    shifts = np.array([n.onset - (i / 12) for i, n in enumerate(a, start=12)])
    assert shifts.min() >= -0.2 - 1e-9 and np.abs(shifts).max() > 0.1  # moved, never early by more than drawn
    assert all(n.duration >= 1 / 24 - 1e-12 for n in a)  # a note keeps at least half its length
    assert all(abs(later.onset - earlier.end) < 1e-9 for earlier, later in zip(a, a[1:]))  # legato stays legato
    plain = Feel(rng=np.random.default_rng(3))
    assert [plain.perform(Note(i / 12, 1 / 12, 60, 80)).onset for i in range(12, 40)] == [i / 12 for i in range(12, 40)]
