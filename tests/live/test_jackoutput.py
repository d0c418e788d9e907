"""jazzd's JACK output writes each message at its frame, a fixed latency after its due time
(jazzd.live.jackoutput): the placement in a cycle, and what a JACK client hears."""

from __future__ import annotations

import heapq
import subprocess

import numpy as np
import pytest

from helpers import JAZZD, ROOT, check_silent_at_end
from jazzd.live.jackoutput import take_due


def test_a_cycle_takes_what_falls_in_it_at_its_frame_offsets_in_order():
    rate, frames = 48000.0, 256
    period_us = frames / rate * 1e6
    start = 1_000_000.0
    pending = []
    for seq, (at_us, data) in enumerate([(start + 100.0, b"a"), (start - 3000.0, b"late"),
                                         (start + period_us - 1.0, b"last"), (start + period_us + 1.0, b"next"),
                                         (start + 100.0, b"b")]):
        heapq.heappush(pending, (at_us, seq, data))
    due, late = take_due(pending, start, frames, rate)
    # the late one at the earliest offset; the two at 100 us (frame 4.8 -> 5) in the order handed over; the one a
    # microsecond before the cycle's end at its last frame; the next cycle's waits
    assert due == [(0, b"late"), (5, b"a"), (5, b"b"), (255, b"last")] and late == 1
    assert [p[2] for p in pending] == [b"next"]
    due, late = take_due(pending, start + period_us, frames, rate)
    assert due == [(0, b"next")] and late == 0 and not pending


@pytest.mark.e2e
@pytest.mark.jack
def test_every_note_lands_on_its_frame_a_fixed_latency_after_its_due_time(jack_server, tmp_path):
    """What a JACK client hears: each note-on at its due time plus the latency jazzd states, to the frame. Cycles
    the JACK server itself began late (its dummy driver on a loaded VM) leave the notes due before them nowhere to
    land on time, whoever sent them: those are left out; and a message the sender handed over too late for its
    cycle goes at the next cycle's start, allowed for a few (the bench measures the spread)."""
    from jack_session import Receiver, frame_errors

    receiver = Receiver()
    timing = tmp_path / "timing.csv"
    try:
        done = subprocess.run([*JAZZD, "run", "--backend", "jack", "--output", "jazzd-test:in", "--input", "off",
                               "--bars", "8", "--bpm", "240", "--seed", "3", "--timing-log", str(timing)],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        receiver.wait_quiet(0.3)
    finally:
        receiver.close()
    assert done.returncode == 0, done.stderr
    assert "JACK output: every message on its frame, 2 periods (10.7 ms) after its due time" in done.stderr
    errors, servers = frame_errors(receiver.frames, timing, receiver.cycles)
    assert len(errors) > 100 and servers < len(errors) / 4
    on_frame = np.abs(errors) <= 1.0
    assert np.mean(on_frame) >= 0.95, np.round(errors[~on_frame])
    assert errors.min() >= -1.0, "a note before its frame"
    check_silent_at_end([m for _, m in receiver.received])
