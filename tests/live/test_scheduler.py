"""The scheduler's queue with the time passed in, and the sender thread on a recording port."""

import math
import time

import mido
import pytest

from helpers import RecordingPort, wait_for
from jazzd.core.midi import ALL_NOTES_OFF
from jazzd.core.timeline import Note
from jazzd.live.clock import MidiClock, TempoClock
from jazzd.live.scheduler import Scheduler, Sender


def test_messages_come_out_in_beat_order_when_due():
    clock = TempoClock(600, origin_s=10.0)  # 0.1 s a beat
    scheduler = Scheduler(clock)
    # queued out of order, a note re-struck on the beat its predecessor ends, a program change between
    scheduler.schedule_note(Note(1.0, 1.0, 64), channel=0)
    scheduler.schedule_note(Note(0.0, 1.0, 64), channel=0)
    scheduler.schedule(1.0, mido.Message("program_change", program=26))
    assert scheduler.next_due_s() == 10.0
    assert scheduler.pop_due(9.999) == []
    first = scheduler.pop_due(10.0)
    assert [(due, beat, m.type) for due, beat, m in first] == [(10.0, 0.0, "note_on")]
    assert set(scheduler.sounding) == {(0, 64)}
    second = scheduler.pop_due(10.1)
    assert [(beat, m.type) for _, beat, m in second] == [(1.0, "note_off"), (1.0, "program_change"), (1.0, "note_on")]
    assert [m.type for _, _, m in scheduler.pop_due(100)] == ["note_off"]
    assert not scheduler.sounding and scheduler.next_due_s() == math.inf


def test_panic_drops_the_queue_and_releases_at_once():
    scheduler = Scheduler(TempoClock(60, origin_s=0.0))
    scheduler.schedule_note(Note(0.0, 100.0, 60), channel=0)
    scheduler.schedule_note(Note(0.0, 100.0, 48), channel=1)
    scheduler.pop_due(0.0)
    scheduler.panic()
    assert scheduler.next_due_s() == -math.inf
    out = scheduler.pop_due(5.0)
    assert [(due, beat) for due, beat, _ in out] == [(5.0, None)] * 4
    msgs = [m for _, _, m in out]
    assert {(m.channel, m.note) for m in msgs if m.type == "note_off"} == {(0, 60), (1, 48)}
    assert [m.channel for m in msgs if m.type == "control_change" and m.control == ALL_NOTES_OFF] == [0, 1]
    assert scheduler.pending() == 0 and not scheduler.sounding


def test_silence_releases_what_sounds_and_keeps_the_queue_without_the_released_notes_note_offs():
    scheduler = Scheduler(TempoClock(60, origin_s=0.0))
    scheduler.schedule_note(Note(0.0, 2.0, 60), channel=0)  # sounds across the silence
    scheduler.schedule_note(Note(2.0, 2.0, 60), channel=0)  # the same key again, queued
    scheduler.schedule_note(Note(0.0, 3.0, 48), channel=1)
    scheduler.schedule_note(Note(3.0, 1.0, 50), channel=1)
    scheduler.pop_due(0.5)
    scheduler.silence()
    now = scheduler.pop_due(0.6)
    assert {(m.channel, m.note) for _, beat, m in now if m.type == "note_off"} == {(0, 60), (1, 48)}
    assert all(beat is None for _, beat, _ in now)
    assert not scheduler.sounding
    assert [(beat, m.type, m.note) for beat, m in scheduler.queued()] == [
        (2.0, "note_on", 60), (3.0, "note_on", 50), (4.0, "note_off", 60), (4.0, "note_off", 50)]


def test_release_returns_note_offs_then_all_notes_off_per_channel():
    scheduler = Scheduler(TempoClock(60, origin_s=0.0))
    scheduler.schedule_note(Note(0.0, 100.0, 60), channel=0)
    scheduler.schedule_note(Note(0.0, 100.0, 48), channel=1)
    scheduler.pop_due(0.0)
    msgs = scheduler.release()
    assert [(m.type, m.channel) for m in msgs] == [("note_off", 0), ("note_off", 1), ("control_change", 0),
                                                    ("control_change", 1)]
    assert scheduler.pending() == 0


def test_truncate_ends_a_channel_at_a_beat():
    scheduler = Scheduler(TempoClock(60, origin_s=0.0))
    scheduler.schedule_note(Note(0.0, 4.0, 60), channel=0)
    scheduler.schedule_note(Note(4.0, 1.0, 62), channel=0)
    scheduler.schedule_note(Note(0.0, 8.0, 48), channel=1)
    scheduler.truncate(0, 2.0)
    assert [(beat, m.type, m.note) for beat, m in scheduler.queued()] == [
        (0.0, "note_on", 60), (0.0, "note_on", 48), (2.0, "note_off", 60), (8.0, "note_off", 48)]


def test_midi_clock_messages_wait_for_their_pulse():
    clock = MidiClock(120)
    scheduler = Scheduler(clock)
    scheduler.schedule(0.0, mido.Message("note_on", note=60))
    scheduler.schedule(1.0, mido.Message("note_on", note=62))
    clock.start(0.0)
    assert scheduler.next_due_s() == math.inf
    clock.pulse(0.5)
    assert [beat for _, beat, _ in scheduler.pop_due(0.5)] == [0.0]
    for k in range(1, 24):
        clock.pulse(0.5 + k * 0.02)
    assert scheduler.pop_due(10.0) == []  # beat 1 is pulse 24, not come yet
    clock.pulse(0.5 + 24 * 0.02)
    assert [(due, beat) for due, beat, _ in scheduler.pop_due(1.0)] == [(0.5 + 24 * 0.02, 1.0)]


def test_sender_sends_each_message_at_its_time():
    port = RecordingPort()
    clock = TempoClock(600, origin_s=time.monotonic() + 0.05)  # 0.1 s a beat
    scheduler = Scheduler(clock)
    scheduler.schedule_note(Note(0.0, 1.0, 64), channel=0)
    scheduler.schedule_note(Note(1.0, 1.0, 65), channel=0)
    sender = Sender(scheduler, port, record_timing=True)
    sender.start()
    wait_for(lambda: len(port.rows) == 4, 5, what="4 messages")
    sender.stop()
    assert [m.type for _, _, m in port.rows] == ["note_on", "note_off", "note_on", "note_off"]
    for due, sent, msg in port.rows:
        assert 0 <= sent - due < 0.5, msg  # wide: precise figures belong to bench/
    assert port.rows[2][0] - port.rows[0][0] == pytest.approx(clock.seconds_per_beat)
    assert len(sender.timing) == 4 and sender.sent == 4


def test_a_failing_port_stops_the_sender_and_is_reported():
    class Broken(RecordingPort):
        def send(self, msg, due_s):
            raise OSError("port vanished")

    scheduler = Scheduler(TempoClock(600, origin_s=time.monotonic()))
    scheduler.schedule(0.0, mido.Message("note_on", note=60))
    sender = Sender(scheduler, Broken())
    sender.start()
    wait_for(lambda: sender.error is not None, 5, what="the sender to fail")
    assert "port vanished" in str(sender.error)
    sender.stop()
    sender.send_now(scheduler.release())  # logs, does not raise


def test_a_key_struck_again_before_its_note_off_gets_two_note_offs_at_a_stop():
    """Two note-ons of one key overlap, then a stop: a receiver that counts note-ons hears both ended."""
    from helpers import hanging_notes

    clock = TempoClock(600, origin_s=10.0)  # 0.1 s a beat
    scheduler = Scheduler(clock)
    scheduler.schedule_note(Note(0.0, 2.0, 60), channel=0)
    scheduler.schedule_note(Note(1.0, 2.0, 60), channel=0)  # struck again while the first still sounds
    sent = [m for _, _, m in scheduler.pop_due(10.1)]
    assert [m.type for m in sent] == ["note_on", "note_on"]
    sent += scheduler.release()
    assert not hanging_notes(sent)
    assert [m.type for m in sent[2:4]] == ["note_off", "note_off"]


def test_after_a_stall_nothing_more_than_a_beat_late_is_sent_but_every_sounding_note_is_released():
    """jazzd stalled 10 s (SIGSTOP): the queued bar's chord, a program change and a note due meanwhile are dropped,
    the note that sounded when it stalled still gets its note-off, a control change still goes. Before, all of
    it went out at once, 2-10 s late."""
    clock = TempoClock(120, origin_s=0.0)  # 0.5 s a beat
    scheduler = Scheduler(clock)
    scheduler.schedule_note(Note(0.0, 2.0, 60), channel=0)  # sounding when jazzd stalls
    scheduler.schedule_note(Note(4.0, 4.0, 50), channel=1)  # the next bar's chord
    scheduler.schedule(4.0, mido.Message("program_change", channel=1, program=0))
    scheduler.schedule(5.0, mido.Message("control_change", channel=0, control=64, value=0))
    scheduler.schedule_note(Note(24.0, 1.0, 62), channel=0)  # due 12.0, less than a beat before the wake-up
    assert [m.type for _, _, m in scheduler.pop_due(0.1)] == ["note_on"]
    sent = scheduler.pop_due(12.2)  # awake again after the stall
    assert [(beat, m.type, getattr(m, "note", None)) for _, beat, m in sent] == [
        (2.0, "note_off", 60), (5.0, "control_change", None), (24.0, "note_on", 62)]
    assert scheduler.take_dropped() == (3, pytest.approx(10.2))  # chord's note-on and note-off, program change
    assert scheduler.take_dropped() == (0, 0.0)
    assert scheduler.dropped == 3 and not scheduler.sounding.get((1, 50))
    assert [m.type for _, _, m in scheduler.pop_due(12.6)] == ["note_off"]  # the on-time note ends on time
