import pytest

from jazzd.live.clock import TempoClock


def test_seconds_and_beats_are_inverse():
    clock = TempoClock(120, origin_s=100.0)
    assert clock.seconds_at(0) == 100.0
    assert clock.seconds_at(4) == pytest.approx(102.0)
    for beat in (-1.5, 0, 0.25, 7, 1000.125):
        assert clock.beat_at(clock.seconds_at(beat)) == pytest.approx(beat)


def test_tempo_change_keeps_the_beat_continuous():
    clock = TempoClock(60, origin_s=0.0)
    clock.set_bpm(120, at_s=10.0)  # beat 10 at 10 s
    assert clock.beat_at(10.0) == pytest.approx(10)
    assert clock.seconds_at(12) == pytest.approx(11.0)
    assert clock.bpm == pytest.approx(120)


def test_start_at_moves_beat_zero():
    clock = TempoClock(90, origin_s=0.0)
    clock.start_at(5.0)
    assert clock.seconds_at(0) == 5.0 and clock.seconds_at(3) == pytest.approx(7.0)


@pytest.mark.parametrize("bpm", [0, -120])
def test_tempo_must_be_positive(bpm):
    with pytest.raises(ValueError, match="> 0 BPM"):
        TempoClock(bpm)
    with pytest.raises(ValueError):
        TempoClock(120).set_bpm(bpm)
