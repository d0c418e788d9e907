import math

import numpy as np
import pytest

from jazzd.live.clock import PPQN, MidiClock


def pulses(clock, bpm, start_s, n, first_index=0, jitter=None):
    period = 60 / bpm / PPQN
    times = start_s + period * np.arange(n)
    if jitter is not None:
        times = times + jitter
    for t in times:
        clock.pulse(float(t))
    return times


def test_stopped_until_start_then_beat_zero_is_the_first_pulse():
    clock = MidiClock(120)
    pulses(clock, 100, 10.0, 48)  # clock before Start: tempo only
    assert not clock.running and clock.seconds_at(0) == math.inf
    assert clock.bpm == pytest.approx(100)
    clock.start(12.0)
    times = pulses(clock, 100, 12.01, 96)
    assert clock.running
    assert clock.seconds_at(0) == pytest.approx(times[0], abs=1e-6)
    assert clock.seconds_at(3) == pytest.approx(times[72], abs=1e-6)
    assert clock.beat_at(times[50]) == pytest.approx(50 / 24, abs=1e-6)


def test_one_late_pulse_does_not_jolt_the_beat():
    clock = MidiClock()
    clock.start(0)
    jitter = np.zeros(48)
    jitter[-1] = 0.010  # the newest pulse 10 ms late
    pulses(clock, 120, 1.0, 48, jitter=jitter)
    ideal_next_beat = 1.0 + 2 * 0.5
    assert abs(clock.seconds_at(2) - ideal_next_beat) < 0.002  # moved by a fraction of the 10 ms
    assert clock.bpm == pytest.approx(120, rel=0.01)


def test_tempo_change_is_followed_within_a_beat():
    clock = MidiClock()
    clock.start(0)
    t = pulses(clock, 60, 0.0, 48)[-1]
    times = pulses(clock, 300, t + 60 / 300 / 24, 30)
    assert clock.bpm == pytest.approx(300, rel=0.01)
    # the next pulses fall where the fit says
    next_beat = clock.beat_at(times[-1]) + 1
    assert clock.seconds_at(next_beat) == pytest.approx(times[-1] + 0.2, abs=0.002)


def test_stop_continue_and_song_position():
    clock = MidiClock()
    clock.start(0)
    times = pulses(clock, 120, 0.0, 36)  # a beat and a half
    clock.stop(times[-1] + 0.01)
    assert not clock.running and clock.position_beats == pytest.approx(1.5)
    clock.song_position(16)  # 16 sixteenths = bar 2, beat 0 = beat 4
    assert clock.position_beats == 4.0
    clock.continue_(5.0)
    times = pulses(clock, 120, 5.02, 10)
    assert clock.seconds_at(4.0) == pytest.approx(times[0], abs=1e-6)


def test_clock_that_stops_arriving_times_out():
    clock = MidiClock()
    clock.start(0)
    times = pulses(clock, 120, 0.0, 24)
    assert not clock.timed_out(times[-1] + 0.9)  # under two beats (1 s)
    assert clock.timed_out(times[-1] + 1.1)
    assert not clock.running
