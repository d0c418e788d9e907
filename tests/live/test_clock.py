"""Both clock sources, driven with made-up times: the internal tempo and the MIDI clock follower."""

import math

import numpy as np
import pytest

from jazzd.core.midi import PPQN
from jazzd.live.clock import MidiClock, TempoClock


def test_seconds_and_beats_are_inverse():
    clock = TempoClock(120, origin_s=100.0)
    assert clock.seconds_at(0) == 100.0
    assert clock.seconds_at(4) == pytest.approx(102.0)
    for beat in (-1.5, 0, 0.25, 7, 1000.125):
        assert clock.beat_at(clock.seconds_at(beat)) == pytest.approx(beat)
        assert clock.due_s(beat) == clock.seconds_at(beat)


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


@pytest.mark.parametrize("bpm", [0, -120, math.nan, math.inf, 1e9])
def test_tempo_must_be_a_finite_number_in_range(bpm):
    with pytest.raises(ValueError, match="tempo must be a finite number of BPM"):
        TempoClock(bpm)
    with pytest.raises(ValueError, match="tempo must be a finite number of BPM"):
        TempoClock(120).set_bpm(bpm, 0.0)
    with pytest.raises(ValueError, match="tempo must be a finite number of BPM"):
        MidiClock(bpm)


def pulses(clock, bpm, start_s, n, jitter=None):
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
    assert not clock.running and clock.seconds_at(0) == math.inf and clock.due_s(0) == math.inf
    assert clock.bpm == pytest.approx(100)
    clock.start(12.0)
    assert clock.due_s(0) == math.inf  # Start alone: beat 0 waits for its pulse
    assert clock.pulse(12.01) is True  # this pulse starts the run
    times = [12.01, *pulses(clock, 100, 12.01 + 0.025, 95)]
    assert clock.running
    assert clock.due_s(0) == times[0]
    assert clock.due_s(3) == times[72]  # on a pulse: exactly when it came
    assert clock.seconds_at(3) == pytest.approx(times[72], abs=1e-6)
    assert clock.beat_at(times[50]) == pytest.approx(50 / 24, abs=1e-6)


def test_a_beat_is_due_only_once_its_pulse_has_come():
    clock = MidiClock(120)
    clock.start(0.0)
    times = pulses(clock, 120, 1.0, 24)  # pulses 0..23: up to beat 23/24
    assert clock.due_s(0.5) == times[12]
    assert clock.due_s(23 / 24) == times[23]
    assert clock.due_s(1.0) == math.inf  # pulse 24 has not come: a Stop instead means it never plays
    between = clock.due_s(23.5 / 24)  # between pulses 23 and 24: pulse 23 plus half a period
    assert between == pytest.approx(times[23] + 0.5 * (times[1] - times[0]))


def test_one_late_pulse_does_not_jolt_the_fitted_beat():
    clock = MidiClock()
    clock.start(0)
    jitter = np.zeros(48)
    jitter[-1] = 0.010  # the newest pulse 10 ms late
    pulses(clock, 120, 1.0, 48, jitter=jitter)
    assert abs(clock.seconds_at(2) - (1.0 + 2 * 0.5)) < 0.002  # moved by a fraction of the 10 ms
    assert clock.bpm == pytest.approx(120, rel=0.01)


def test_tempo_jump_is_followed_at_the_next_pulse():
    clock = MidiClock()
    clock.start(0)
    t = pulses(clock, 60, 0.0, 48)[-1]
    times = pulses(clock, 300, t + 60 / 300 / 24, 30)
    assert clock.due_s((48 + 29) / 24) == times[-1]  # the pulse is the beat, whatever the fit says
    assert clock.bpm == pytest.approx(300, rel=0.01)  # and the fit catches up within a beat


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
    assert clock.due_s(4.0) == times[0]
    assert clock.due_s(4.0 + 9 / 24) == times[9]


def test_song_position_is_ignored_while_running():
    clock = MidiClock()
    clock.start(0)
    pulses(clock, 120, 0.0, 10)
    clock.song_position(64)
    assert clock.position_beats == pytest.approx(10 / 24)


def test_clock_that_stops_arriving_times_out():
    clock = MidiClock()
    clock.start(0)
    times = pulses(clock, 120, 0.0, 24)
    assert not clock.timed_out(times[-1] + 0.9)  # under two beats (1 s)
    assert clock.timed_out(times[-1] + 1.1)


def test_a_clock_that_lapsed_plays_on_from_where_it_was_at_the_next_pulse_and_a_stop_disarms_it():
    clock = MidiClock()
    clock.start(0)
    times = pulses(clock, 120, 0.0, 24)
    clock.lapse(times[-1] + 1.1)
    assert not clock.running and clock.position_beats == 1.0
    assert clock.pulse(5.0) and clock.running  # the first pulse back is beat 1
    assert clock.due_s(1.0) == 5.0
    clock.lapse(6.0)
    clock.stop(6.1)
    assert not clock.pulse(7.0) and not clock.running


def test_pulses_delivered_together_after_a_stall_never_make_a_tempo_of_zero_nor_a_timeout():
    clock = MidiClock()
    clock.start(0)
    t = pulses(clock, 300, 0.0, 48)[-1]  # two beats at 300 BPM: a pulse every 8.3 ms
    stall = t + 0.35  # the input stalls 0.35 s (under two beats), then the 42 pulses sent meanwhile arrive at once
    for _ in range(42):
        clock.pulse(stall)
    assert clock.seconds_per_beat > 0 and math.isfinite(clock.beat_at(stall + 0.01))
    assert not clock.timed_out(stall + 0.3)  # a tempo of 0 s a beat timed out at once (CI: at 300 BPM)
    times = pulses(clock, 300, stall + 0.2 / 24, 24)  # and a beat at 300 BPM again
    assert clock.seconds_per_beat == pytest.approx(0.2, rel=0.1)
    assert not clock.timed_out(times[-1] + 0.45)  # two beats are 0.4 s: the timeout is at least TIMEOUT_MIN_S
    assert clock.timed_out(times[-1] + 0.55)


def test_after_a_lapse_and_a_burst_the_playhead_is_never_past_the_next_pulse():
    clock = MidiClock()
    clock.start(0)
    t = pulses(clock, 300, 0.0, 96)[-1]  # four beats at 300 BPM
    clock.lapse(t + 0.68)
    back = t + 0.9
    for _ in range(20):  # it comes back with the pulses held up meanwhile, delivered together
        clock.pulse(back)
    times = pulses(clock, 300, back + 0.2 / 24, 3)
    assert clock.position_beats == pytest.approx(119 / 24)
    # a fresh-clone run's playhead jumped 40 bars here (every bar logged at once, the solo gone)
    for later in (0.001, 0.05, 1.0):
        assert clock.beat_at(times[-1] + later) <= clock.position_beats + 1e-9
    assert clock.beat_at(back - 0.01) <= (119 - 4) / 24  # before the burst: before its pulses
    assert clock.due_s(100.5 / 24) == back  # between two pulses that came together: with them, never after


def test_the_playhead_is_never_behind_the_last_pulse_after_a_tempo_jump():
    clock = MidiClock()
    clock.start(0)
    t = pulses(clock, 60, 0.0, 48)[-1]
    times = pulses(clock, 300, t + 60 / 300 / 24, 6)  # a quarter beat into the new tempo: the fit still lags
    assert clock.beat_at(times[-1]) >= 53 / 24 - 1e-9
    assert clock.seconds_at(54 / 24) <= times[-1] + 60 / 60 / 24 + 1e-9


JACK_PERIOD_S = 256 / 48000  # the tests' JACK server: an input stamps what a client sent at its cycle's start


def daw(clock, bpm, start_s, n, sent=None, held=None):
    """A DAW sending n pulses at bpm from start_s through JACK (each arrives at the start of the next cycle).

    sent: the pulse indexes that reach the clock (default all: the others are lost on the way in).
    held: {pulse index: seconds} pulses held up that long at the sender, the ones after them sent at once with
        them (a stalled sender). Returns the DAW's pulse times (every pulse, lost or not).
    """
    period = 60 / bpm / PPQN
    times = start_s + period * np.arange(n)
    release = 0.0
    for i, t in enumerate(times):
        release = max(release, t + (held or {}).get(i, 0.0))
        if sent is None or i in sent:
            clock.pulse(math.ceil(release / JACK_PERIOD_S) * JACK_PERIOD_S)
    return times


@pytest.mark.parametrize("bpm, lost", [(60, 9), (60, 1), (120, 3), (300, 2), (300, 40)])
def test_pulses_lost_on_the_way_in_are_counted_so_the_beat_stays_the_daws(bpm, lost):
    # a busy fresh-clone run: jazzd-in missed its JACK cycles for ~0.4 s at 60 BPM, 9 pulses never came, and
    # every note after was 0.38 beats late on the DAW's clock
    clock = MidiClock(bpm)
    clock.start(0.0)
    n = 24 * 6
    drop_from = 24 * 2 + 5
    daws = daw(clock, bpm, 1.0, n, sent=set(range(n)) - set(range(drop_from, drop_from + lost)))
    assert clock.lost_pulses == lost and clock.last_loss[0] == lost
    assert clock.last_loss[1] == pytest.approx((lost + 1) * 60 / bpm / PPQN, abs=2 * JACK_PERIOD_S)
    assert clock.position_beats == pytest.approx(n / PPQN)
    for k in (drop_from + lost + 10, n - 1):  # after the loss, a pulse's beat is due when the DAW sent it
        assert clock.due_s(k / PPQN) == pytest.approx(daws[k], abs=JACK_PERIOD_S + 1e-9)
    for k in (drop_from, drop_from + lost - 1):  # a lost pulse's beat: due where the tempo line puts it
        assert daws[k] <= clock.due_s(k / PPQN) <= daws[k] + 2 * JACK_PERIOD_S
    assert clock.beat_at(daws[-1] + 0.001) == pytest.approx((n - 1) / PPQN, abs=1.5 / PPQN)
    assert clock.bpm == pytest.approx(bpm, rel=0.02)


@pytest.mark.parametrize("bpm, held", [(60, 9), (300, 20)])
def test_pulses_held_up_and_then_delivered_together_are_not_counted_twice(bpm, held):
    clock = MidiClock(bpm)
    clock.start(0.0)
    n = 24 * 6
    period = 60 / bpm / PPQN
    daw(clock, bpm, 1.0, n, held={60: held * period})  # the sender stalls, then sends what was due at once
    assert clock.lost_pulses == 0 and clock.position_beats == pytest.approx(n / PPQN)


@pytest.mark.parametrize("before, after", [(300, 60), (120, 60), (120, 70)])
def test_a_tempo_drop_is_not_taken_for_lost_pulses(before, after):
    clock = MidiClock(before)
    clock.start(0.0)
    t = daw(clock, before, 1.0, 72)[-1]
    daw(clock, after, t + 60 / after / PPQN, 72)
    assert clock.lost_pulses == 0 and clock.position_beats == pytest.approx(144 / PPQN)
    assert clock.bpm == pytest.approx(after, rel=0.02)


def test_a_late_pulse_or_a_restart_after_a_pause_is_not_taken_for_lost_pulses():
    clock = MidiClock(120)
    clock.start(0.0)
    jitter = np.zeros(96)
    jitter[40] = 0.8 * 60 / 120 / PPQN  # one pulse most of a period late, the rest on time
    pulses(clock, 120, 1.0, 96, jitter=jitter)
    assert clock.lost_pulses == 0 and clock.position_beats == pytest.approx(4.0)
    clock.stop(3.0)
    clock.continue_(4.0)  # the DAW paused its clock while stopped: the first pulse of the run is no gap
    pulses(clock, 120, 5.0, 48)
    assert clock.lost_pulses == 0 and clock.position_beats == pytest.approx(6.0)


@pytest.mark.parametrize("bpm", [200, 300])
def test_arrival_jitter_on_a_busy_machine_is_never_taken_for_lost_pulses(bpm):
    # a sender on a loaded machine: every pulse up to ~12 ms late (half-normal, 4 ms), stamped at JACK periods;
    # at 300 BPM a pulse period is 8.3 ms, so late pulses leave gaps of 1.5 periods and more all the time
    for seed in range(5):
        clock = MidiClock(bpm)
        clock.start(0.0)
        late = np.abs(np.random.default_rng(seed).normal(0, 0.004, 24 * 60))
        daw(clock, bpm, 1.0, 24 * 60, held=dict(enumerate(late)))
        assert clock.lost_pulses == 0 and clock.position_beats == pytest.approx(60.0), seed


def test_a_runaway_clock_above_1000_bpm_is_refused_and_followed_again_once_sane():
    """10 kHz of pulses through JACK (each period's pulses arrive together): before, each moved the beat (312 bars
    in 3 s); now the clock halts within a couple of periods and moves nothing until the pulses are back within
    1000 BPM, then plays on from where it halted."""
    clock = MidiClock(120)
    daw(clock, 120, 0.0, 1)
    clock.start(0.01)
    daw(clock, 120, 0.02, 48)  # two beats at 120 BPM
    assert clock.running and clock.position_beats == 2.0
    for k in range(30_000):  # 3 s at 10 kHz
        clock.pulse(math.ceil((1.0 + k * 1e-4) / JACK_PERIOD_S) * JACK_PERIOD_S)
    assert not clock.running and clock.refused_bpm is not None and clock.refused_bpm > 5000
    assert 2.0 < clock.position_beats <= 2.0 + 6  # the bunches that came before it could tell: at most 6 beats
    halted = clock.position_beats
    daw(clock, 120, 4.0, 48)  # sane again: after a beat of arrivals within 1000 BPM, the next pulse plays on
    assert clock.refused_bpm is None and clock.running
    assert halted < clock.position_beats <= halted + 2.0 and 110 < clock.bpm < 130


@pytest.mark.parametrize("bpm, period_s", [(1000, JACK_PERIOD_S), (1000, 64 / 48000), (300, 1024 / 48000)])
def test_a_clock_at_up_to_1000_bpm_is_never_refused_whatever_the_jack_period(bpm, period_s):
    clock = MidiClock(bpm)
    clock.start(0.0)
    times = 0.001 + 60 / bpm / PPQN * np.arange(24 * 40)
    for t in times:
        clock.pulse(math.ceil(t / period_s) * period_s)
    assert clock.refused_bpm is None and clock.position_beats == 40.0


def test_pulses_held_up_and_delivered_together_are_not_refused():
    """A DAW that stalled 2 s and sends the 96 pulses due meanwhile at once, then goes on at 120 BPM."""
    clock = MidiClock(120)
    clock.start(0.0)
    daw(clock, 120, 0.001, 48, held={24: 2.0})
    daw(clock, 120, 0.001 + 48 * 60 / 120 / PPQN, 96)
    assert clock.refused_bpm is None and clock.position_beats == 6.0
