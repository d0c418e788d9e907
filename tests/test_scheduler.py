import time

import mido
import pytest

from jazzd.live.clock import TempoClock
from jazzd.core.realizer import Note
from jazzd.live.scheduler import ALL_NOTES_OFF, Scheduler
from conftest import wait_for


class RecordingPort:
    """A fake output that records (due_s, sent_s, message)."""

    def __init__(self):
        self.rows = []
        self.closed = False

    def send(self, msg, due_s):
        self.rows.append((due_s, time.monotonic(), msg))

    def close(self):
        self.closed = True


def test_messages_go_out_in_beat_order_at_their_times():
    port = RecordingPort()
    clock = TempoClock(600, origin_s=time.monotonic() + 0.05)  # 0.1 s per beat
    scheduler = Scheduler(port, clock)
    # queued out of order, a note re-struck on the beat its predecessor ends
    scheduler.schedule_note(Note(1.0, 1.0, 64), channel=0)
    scheduler.schedule_note(Note(0.0, 1.0, 64), channel=0)
    scheduler.schedule(0.0, mido.Message("program_change", program=26))
    scheduler.start()
    wait_for(lambda: len(port.rows) == 5, 3, what="5 messages")
    scheduler.stop()
    types = [m.type for _, _, m in port.rows]
    assert types == ["program_change", "note_on", "note_off", "note_on", "note_off"]
    dues = [d for d, _, _ in port.rows]
    assert dues == sorted(dues)
    for due, sent, msg in port.rows:
        assert 0 <= sent - due < 0.02, msg  # loose: timing figures belong to bench/
    assert dues[3] - dues[1] == pytest.approx(clock.seconds_per_beat)
    assert not scheduler.sounding


def test_release_sends_note_offs_and_all_notes_off_per_channel():
    port = RecordingPort()
    clock = TempoClock(600, origin_s=time.monotonic())
    scheduler = Scheduler(port, clock)
    scheduler.schedule_note(Note(0.0, 100.0, 60), channel=0)
    scheduler.schedule_note(Note(0.0, 100.0, 48), channel=1)
    scheduler.start()
    wait_for(lambda: len(scheduler.sounding) == 2, 2, what="two sounding notes")
    scheduler.stop()
    scheduler.release()
    tail = [m for _, _, m in port.rows[2:]]
    offs = {(m.channel, m.note) for m in tail if m.type == "note_off"}
    assert offs == {(0, 60), (1, 48)}
    ccs = {m.channel for m in tail if m.type == "control_change" and m.control == ALL_NOTES_OFF}
    assert ccs == {0, 1}
    assert tail[-1].type == "control_change"  # All Notes Off after the note-offs
    assert scheduler.pending() == 2  # the far note-offs were never sent on the clock


def test_a_failing_port_stops_the_sender_and_is_reported():
    class Broken(RecordingPort):
        def send(self, msg, due_s):
            raise OSError("port vanished")

    scheduler = Scheduler(Broken(), TempoClock(600, origin_s=time.monotonic()))
    scheduler.schedule(0.0, mido.Message("note_on", note=60))
    scheduler.start()
    wait_for(lambda: scheduler.error is not None, 2, what="the sender to fail")
    assert "port vanished" in str(scheduler.error)
    scheduler.stop()
    scheduler.release()  # logs, does not raise


def test_clear_drops_queued_messages_of_some_channels():
    scheduler = Scheduler(RecordingPort(), TempoClock(60))
    scheduler.schedule_note(Note(10, 1, 60), channel=0)
    scheduler.schedule_note(Note(10, 1, 61), channel=1)
    scheduler.clear(channels={0})
    assert scheduler.pending() == 2
    scheduler.clear()
    assert scheduler.pending() == 0
