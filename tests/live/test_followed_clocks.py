"""Transports jazzd follows by reading them (Ableton Link, JACK transport: jazzd.live.clock.PolledClock): what a
read tells the session, and what the session plays from it. A fake transport stands in for the real ones here
(tests/live/test_link.py and test_jack_transport.py go through them)."""

from __future__ import annotations

import math

import pytest

from helpers import LiveRun, hanging_notes
from jazzd.live.clock import ClockOffset, PolledClock
from jazzd.live.transportclock import position_beats

MELODY = 0


class FakeTransport(PolledClock):
    """A transport given as a script: (from monotonic second, rolling, beat at that second, BPM), in order."""

    name = "fake transport"
    poll_s = 0.02

    def __init__(self, script):
        super().__init__(120.0)
        self.script = script
        self.tempo_set = []

    def poll(self, now):
        rolling, beat, bpm, since = False, 0.0, 120.0, 0.0
        for t, r, b, tempo in self.script:
            if now >= t:
                rolling, beat, bpm, since = r, b, tempo, t
        return self._update(rolling, beat + ((now - since) * bpm / 60.0 if rolling else 0.0), now, bpm)

    def set_bpm(self, bpm, at_s):
        self.tempo_set.append(bpm)
        return False


def test_a_read_tells_start_stop_a_jump_and_a_tempo_but_a_tempo_bent_between_reads_is_no_jump():
    clock = FakeTransport([])
    assert clock._update(False, 0.0, 1.0, 120.0) == [] and not clock.running
    assert [c.kind for c in clock._update(True, 0.0, 2.0, 120.0)] == ["start"]
    assert clock.seconds_at(4.0) == pytest.approx(4.0) and clock.beat_at(3.0) == pytest.approx(2.0)
    assert clock._update(True, 1.0, 2.5, 120.0) == []  # on its line
    # 120 -> 150 BPM somewhere in the last 0.5 s: the beat is between the two lines, no jump
    changes = clock._update(True, 2.1, 3.0, 150.0)
    assert [c.kind for c in changes] == ["tempo"] and changes[0].bpm == 150.0
    assert clock.seconds_per_beat == pytest.approx(0.4)
    changes = clock._update(True, 32.0, 3.1, 150.0)  # the DAW's playhead moved
    assert [(c.kind, c.beat) for c in changes] == [("locate", 32.0)]
    assert [c.kind for c in clock._update(False, 32.5, 3.2, 150.0)] == ["stop"]
    assert clock.seconds_at(33.0) == math.inf and clock.beat_at(9.0) == 32.5


def test_messages_go_out_the_ports_latency_before_the_beat():
    clock = FakeTransport([])
    clock._update(True, 0.0, 10.0, 120.0)
    clock.output_latency_s = 0.0107
    assert clock.due_s(2.0) == pytest.approx(11.0 - 0.0107)


def test_a_jack_position_is_counted_in_beats_from_the_masters_bar_and_beat_or_from_frames():
    bbt = {"bar": 3, "beat": 2, "tick": 960, "ticks_per_beat": 1920.0, "beats_per_bar": 4.0,
           "beats_per_minute": 150.0, "frame": 123, "frame_rate": 48000}
    assert position_beats(bbt, 120.0) == (9.5, 150.0, 4.0)
    assert position_beats({"frame": 48000 * 3, "frame_rate": 48000, "usecs": 0}, 120.0) == (6.0, 120.0, None)


def test_the_session_plays_only_while_the_transport_rolls_on_its_beats_and_follows_it():
    """Rolls at 1 s from beat 0 at 120 BPM; 150 BPM from 5 s; stops at 8 s; rolls again at 9 s from bar 9 (a
    relocation while stopped); jumps to bar 17 at 12 s."""
    script = [(1.0, True, 0.0, 120.0), (5.0, True, 8.0, 150.0), (8.0, False, 15.5, 150.0),
              (9.0, True, 32.0, 150.0), (12.0, True, 64.0, 150.0)]
    clock = FakeTransport(script)
    run = LiveRun(clock=clock, seed=2).run(14.0)
    sent = [(due, beat, m) for due, beat, m in run.sent if m.type == "note_on" and m.velocity]
    assert sent and min(due for due, _, _ in sent) >= 1.0 - 1e-9  # nothing before it rolls
    assert min(beat for _, beat, _ in sent) == 0.0  # its first beat plays, though the start was read after it
    for due, beat, _ in sent:  # each at its time by the transport's line of that moment
        if beat < 8:
            assert due == pytest.approx(1.0 + beat * 0.5, abs=1e-6)
        elif beat < 15.5:
            assert due == pytest.approx(5.0 + (beat - 8) * 0.4, abs=1e-6)
    assert not [due for due, _, _ in sent if 8.0 + 1e-9 < due < 9.0]  # stopped: nothing
    assert not [beat for _, beat, _ in sent if 15.5 <= beat < 32]  # the stretch skipped by the relocation
    assert [beat for _, beat, _ in sent if 32 <= beat < 39.5]  # from bar 9 ...
    assert [beat for _, beat, _ in sent if beat >= 64]  # ... and from bar 17 after the jump
    # every note sounding at the stop is released there
    at_stop = [m for due, _, m in run.sent if due < 9.0]
    assert not hanging_notes(at_stop)
    run.release()
    assert not hanging_notes(m for _, _, m in run.sent)


def test_the_tempo_cc_is_handed_to_the_transport_or_ignored():
    from jazzd.live.events import ControlChange

    clock = FakeTransport([(0.5, True, 0.0, 120.0)])
    run = LiveRun(clock=clock, seed=2).run(2.0, [ControlChange(1.0, 0, 24, 100)])
    assert len(clock.tempo_set) == 1 and 40 <= clock.tempo_set[0] <= 294
    assert clock.bpm == 120.0  # refused by the transport (Link with link_tempo_control off): not changed
    assert run.note_ons(MELODY)


def test_the_offset_to_another_clock_comes_from_the_tightest_pair_of_reads():
    """A thread preempted between reading time.monotonic() and the other clock would put notes that far off their
    beat: of the reads side by side, the one bracketed most tightly is kept."""
    import time

    true_offset_us = 5e9
    delays = iter([0.004, 0.0, 0.003] + [0.0] * 100)  # the first read preempted 4 ms, the second not

    def other():
        delay = next(delays)
        if delay:
            time.sleep(delay)
        return time.monotonic() * 1e6 + true_offset_us

    offset = ClockOffset(other)
    assert offset.offset_us() == pytest.approx(true_offset_us, abs=200)
    assert offset.monotonic_s(offset.other_us(12.5)) == pytest.approx(12.5)
