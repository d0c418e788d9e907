from fractions import Fraction

import numpy as np
import pytest

from jazzd.core.grammar import Value
from jazzd.core.harmony import chord_from_symbol
from jazzd.core.realizer import Realizer
from jazzd.core.timeline import GRID, TICKS_PER_BEAT, Note, note_name, snap_end

CHORDS = [chord_from_symbol(s) for s in ("Dm7", "G7b9", "Cmaj7", "F#m7b5")]


def on_grid(beat: Fraction) -> bool:
    return any((beat / step).denominator == 1 for step in GRID)


@pytest.mark.parametrize("kind", ["C", "S", "A", "X"])
def test_bounded_values_land_inside_their_bounds_with_their_type(kind):
    realizer = Realizer(52, 81, rng=np.random.default_rng(1))
    for chord in CHORDS:
        for previous in range(56, 78):
            value = Value(kind, 0.5, upper=4, lower=-2)
            window = [p for p in range(previous - 2, previous + 5) if chord.types[p % 12] == kind]
            for _ in range(5):
                pitch = realizer.pitch(value, chord, previous)
                if pitch is None:  # only when the sole candidate repeats the previous pitch
                    assert window == [previous]
                    continue
                assert 52 <= pitch <= 81
                if window and window != [previous]:
                    assert pitch in window and chord.types[pitch % 12] == kind
                else:  # course fallback: a whole step away
                    assert abs(pitch - previous) == 2


def test_windows_outside_the_range_turn_the_line_round():
    realizer = Realizer(52, 81, rng=np.random.default_rng(2))
    chord = CHORDS[2]
    for _ in range(50):
        pitch = realizer.pitch(Value("C", 0.5, upper=-5, lower=-11), chord, 54)  # would fall below 52
        assert pitch is not None and 59 <= pitch <= 65 and chord.types[pitch % 12] == "C"


def test_free_values_stay_near_the_previous_pitch_and_in_range():
    realizer = Realizer(48, 72, rng=np.random.default_rng(3))
    for chord in CHORDS:
        for previous in (None, 50, 60, 70):
            for _ in range(20):
                pitch = realizer.pitch(Value("S", 1.0), chord, previous)
                assert pitch is None or 48 <= pitch <= 72
                if pitch is not None:
                    assert chord.types[pitch % 12] == "S"
                    if previous is not None:
                        assert abs(pitch - previous) <= 7


def test_rests_are_rests():
    realizer = Realizer(rng=np.random.default_rng(0))
    note, end = realizer.realize(Value("R", 0.75), CHORDS[0], 60, 12)
    assert note is None and end == 21  # ticks: 1 3/4 beats


def test_snap_end_keeps_onsets_on_the_grid_and_notes_non_empty():
    rng = np.random.default_rng(4)
    onset = 0  # ticks of 1/12 beat
    for _ in range(2000):
        duration = float(rng.integers(1, 3000)) / 1000 * TICKS_PER_BEAT
        end = snap_end(onset, duration)
        assert end > onset and on_grid(Fraction(end, TICKS_PER_BEAT))
        # no grid point after the onset is nearer to the wanted end
        target = onset + duration
        nearest = min(abs(p - target) for p in range(onset + 1, onset + 48) if on_grid(Fraction(p, TICKS_PER_BEAT)))
        assert abs(end - target) == nearest
        onset = end


def test_a_short_rest_may_vanish():
    assert snap_end(12, 0.24, allow_empty=True) == 12
    assert snap_end(12, 0.24) == 15  # a note lasts at least a quarter of a beat
    assert snap_end(12, 1.9, allow_empty=True) == 15


def test_realizer_rejects_bad_settings():
    with pytest.raises(ValueError):
        Realizer(70, 75)
    with pytest.raises(ValueError):
        Realizer(50, 130)
    with pytest.raises(ValueError):
        Realizer(velocity=0)


def test_note_checks_its_fields_and_names():
    with pytest.raises(ValueError):
        Note(0, 0, 60)
    with pytest.raises(ValueError):
        Note(0, 1, 128)
    with pytest.raises(ValueError):
        Note(0, 1, 60, velocity=0)
    assert note_name(60) == "C4" and note_name(69) == "A4" and note_name(58) == "Bb3"


@pytest.mark.parametrize("learned", [False, True], ids=["uniform draw", "learned choice"])
def test_any_previous_pitch_gives_a_pitch_in_range(learned):
    """A player's note anywhere in 0..127 (or a state file's) is the previous pitch: every value still finds one."""
    from helpers import DEFAULT_MODEL
    from jazzd.core.modeldir import load_model

    choice = load_model(DEFAULT_MODEL).pitch_choice if learned else None
    assert not learned or choice is not None
    realizer = Realizer(52, 81, rng=np.random.default_rng(2), choice=choice)
    values = [Value(kind, 0.5, upper=upper, lower=lower) for kind in "CSAX"
              for lower, upper in ((-2, 4), (0, 0), (-12, -7), (5, 12))] + [Value(kind, 1.0) for kind in "CSAX"]
    for chord in CHORDS:
        for previous in range(128):
            for value in values:
                pitch = realizer.pitch(value, chord, previous, previous_interval=previous - 60)
                assert pitch is None and not learned or pitch is not None and 52 <= pitch <= 81, (value, previous, pitch)
