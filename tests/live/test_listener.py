"""The listener: MIDI messages in, typed events out; its polling thread; what it drops."""

import queue
import time

import mido

from helpers import wait_for
from jazzd.live.events import ClockPulse, ControlChange, NoteEvent, SongPosition, Transport, from_message
from jazzd.live.listener import IDLE_AFTER_S, POLL_ACTIVE_S, POLL_IDLE_S, Listener


def test_every_kind_of_message_becomes_its_event():
    assert from_message(1.0, mido.Message("note_on", channel=2, note=64, velocity=90)) == NoteEvent(1.0, 2, 64, 90)
    assert from_message(1.0, mido.Message("note_on", note=64, velocity=0)) == NoteEvent(1.0, 0, 64, 0)
    assert from_message(1.0, mido.Message("note_off", note=64, velocity=30)) == NoteEvent(1.0, 0, 64, 0)
    assert not from_message(1.0, mido.Message("note_off", note=64)).on
    assert from_message(2.0, mido.Message("control_change", control=20, value=5)) == ControlChange(2.0, 0, 20, 5)
    assert from_message(3.0, mido.Message("clock")) == ClockPulse(3.0)
    for kind in ("start", "continue", "stop"):
        assert from_message(4.0, mido.Message(kind)) == Transport(4.0, kind)
    assert from_message(5.0, mido.Message("songpos", pos=16)) == SongPosition(5.0, 16)


def test_other_input_is_dropped():
    for msg in (mido.Message("sysex", data=[1, 2, 3]), mido.Message("pitchwheel", pitch=100),
                mido.Message("aftertouch"), mido.Message("program_change", program=3),
                mido.Message("active_sensing"), mido.Message("reset")):
        assert from_message(0.0, msg) is None


class ScriptedPort:
    """A port whose poll() hands out scripted (t, msg) batches, then nothing; counts unreadable input."""

    def __init__(self, batches, unreadable=0):
        self.batches = list(batches)
        self.unreadable = unreadable
        self.last_unreadable = bytes([0xF4])
        self.polls = 0

    def poll(self):
        self.polls += 1
        return self.batches.pop(0) if self.batches else []


def drain(events):
    out = []
    while not events.empty():
        out.append(events.get())
    return out


def test_the_listener_thread_polls_the_port_until_stopped(caplog):
    events = queue.Queue()
    listener = Listener(events)
    port = ScriptedPort([[(2.0, mido.Message("note_on", note=64, velocity=90))], [],
                         [(2.5, mido.Message("note_off", note=64)), (2.6, mido.Message("sysex", data=[1]))]],
                        unreadable=3)
    with caplog.at_level("WARNING", logger="jazzd.live.listener"):
        listener.start(port)
        wait_for(lambda: port.polls >= 10, 10, 0.005, "ten polls")
        listener.stop()
    polls = port.polls
    time.sleep(0.05)
    assert port.polls == polls, "still polling after stop()"
    assert drain(events) == [NoteEvent(2.0, 0, 64, 90), NoteEvent(2.5, 0, 64, 0)]
    warnings = [r.getMessage() for r in caplog.records if "not MIDI" in r.getMessage()]
    assert warnings == ["ignored 3 MIDI input message(s) that are not MIDI, the last: F4"]


def test_a_failing_port_is_reported_once_and_the_thread_ends():
    class Broken:
        def poll(self):
            raise OSError("input vanished")

    errors = []
    listener = Listener(queue.Queue(), on_error=errors.append)
    listener.start(Broken())
    wait_for(lambda: errors, 5, what="the error")
    listener.stop()
    assert len(errors) == 1 and "input vanished" in str(errors[0])


def test_polls_fast_while_messages_arrive_and_slowly_after_a_silence():
    now = [100.0]
    listener = Listener(queue.Queue(), clock=lambda: now[0])
    assert listener.poll_interval(now[0]) == POLL_IDLE_S
    listener.poll_once(ScriptedPort([[(100.0, mido.Message("clock"))]]))
    assert listener.poll_interval(now[0]) == POLL_ACTIVE_S
    now[0] += IDLE_AFTER_S + 0.001
    assert listener.poll_interval(now[0]) == POLL_IDLE_S
