import numpy as np
import pytest

from jazzd.core.feel import Feel, swing_beat
from jazzd.core.timeline import Note


def test_swing_moves_the_off_beat_eighth_and_keeps_the_beats():
    assert swing_beat(2.5, 2 / 3) == pytest.approx(2 + 2 / 3)
    assert swing_beat(3.0, 0.75) == 3.0 and swing_beat(2.5, 0.5) == 2.5
    positions = np.linspace(0, 4, 97)
    swung = [swing_beat(p, 0.7) for p in positions]
    assert all(b > a for a, b in zip(swung, swung[1:]))  # order kept, nothing earlier than straight
    assert all(s >= p - 1e-12 for s, p in zip(swung, positions))


def test_feel_performs_notes():
    feel = Feel(swing=2 / 3, accent=10, beats_per_bar=4)
    eighth = feel.perform(Note(0.5, 0.5, 60, 80))
    assert eighth.onset == pytest.approx(2 / 3) and eighth.end == pytest.approx(1.0)
    assert feel.perform(Note(4.0, 1, 60, 80)).velocity == 90  # beat 1
    assert feel.perform(Note(6.0, 1, 60, 80)).velocity == 85  # beat 3
    assert feel.perform(Note(5.0, 1, 60, 80)).velocity == 80  # beat 2
    assert feel.perform(Note(5.5, 0.5, 60, 80)).velocity == 78  # between beats
    assert feel.perform(Note(0, 1, 60, 125)).velocity == 127  # clamped


def test_humanize_is_bounded_and_seeded():
    def run(seed):
        feel = Feel(humanize_beats=0.02, humanize_velocity=5, rng=np.random.default_rng(seed))
        return [feel.perform(Note(float(i), 0.5, 60, 80)) for i in range(1, 200)]

    a, b = run(1), run(1)
    assert a == b and a != run(2)
    for i, n in enumerate(a, start=1):
        assert abs(n.onset - i) <= 0.02 and 75 <= n.velocity <= 85


def test_bad_settings():
    with pytest.raises(ValueError):
        Feel(swing=0.8)
    with pytest.raises(ValueError):
        Feel(accent=50)


def wide_timing():
    from jazzd.core.timing import POSITIONS, QUANTILES, PlayedTiming
    return PlayedTiming(np.tile(np.linspace(-0.2, 0.2, QUANTILES), (POSITIONS, 1)))


def test_the_players_timing_keeps_one_line_legato_and_inside_its_bars():
    feel = Feel(rng=np.random.default_rng(3), timing=wide_timing())
    grid = [Note(i / 4, 1 / 4, 64, 80) for i in range(400)]  # one pitch, legato 16ths: overlaps would cut notes
    played = [feel.perform(n, end_by=100.0) for n in grid]
    offsets = [p.onset - g.onset for p, g in zip(played, grid)]
    assert max(offsets) > 0.1 and min(offsets) < -0.1  # the draws move notes both ways
    assert all(b.onset >= a.end - 1e-12 for a, b in zip(played, played[1:])), "notes overlap"
    legato = sum(abs(b.onset - a.end) < 1e-9 for a, b in zip(played, played[1:]))
    assert legato == len(played) - 1  # the end of a note is the next note's onset: legato stays legato
    assert played[-1].end <= 100.0


def test_the_players_timing_ends_a_note_by_the_cut_and_starts_afresh_on_a_new_timeline():
    feel = Feel(rng=np.random.default_rng(5), timing=wide_timing())
    for _ in range(50):
        last = feel.perform(Note(7.75, 0.25, 60, 80), end_by=8.0)  # a note the cut ends at the bar line
        assert last.end <= 8.0 and last.onset < 8.0
        again = feel.perform(Note(0.0, 1.0, 62, 80))  # a reset: the line starts again at beat 0
        assert again.onset <= 0.2
