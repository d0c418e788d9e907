import queue

import pytest

import mido

from jazzd.live.clock import MidiClock, TempoClock
from jazzd.live.controls import ControlMap
from jazzd.core.harmony import LiveHarmony, chord_from_symbol
from jazzd.live.listener import Listener


class FakeScheduler:
    def __init__(self):
        self.panics = 0

    def panic(self):
        self.panics += 1


def make(**kwargs):
    events = queue.Queue()
    scheduler = FakeScheduler()
    clock = kwargs.pop("clock", TempoClock(60, origin_s=0.0))
    listener = Listener(clock, events, scheduler, **kwargs)
    return listener, events, scheduler


def drain(events):
    out = []
    while not events.empty():
        out.append(events.get())
    return out


def test_melody_notes_become_beats_and_velocity_zero_is_off():
    listener, events, _ = make()
    listener.handle(2.0, mido.Message("note_on", note=64, velocity=90))
    listener.handle(2.5, mido.Message("note_on", note=64, velocity=0))
    listener.handle(3.0, mido.Message("note_off", note=70))  # off without on: passed on, ignored later
    assert drain(events) == [("note", 2.0, 64, True), ("note", 2.5, 64, False), ("note", 3.0, 70, False)]


def test_chord_keys_name_the_live_chord_and_never_count_as_melody():
    harmony = LiveHarmony(chord_from_symbol("Dm7"))
    listener, events, _ = make(live_harmony=harmony, split_note=60)
    for i, note in enumerate((48, 52, 55, 58)):  # C E G Bb below the split
        listener.handle(10.0 + i * 0.01, mido.Message("note_on", note=note, velocity=70))
    listener.handle(10.5, mido.Message("note_on", note=72, velocity=70))  # melody above the split
    assert drain(events) == [("note", 10.5, 72, True)]
    chord = harmony.chord_at(11.0)
    assert chord.root == 0 and chord.pitch_classes == frozenset({0, 4, 7, 10})
    assert harmony.chord_at(5.0).symbol == "Dm7"  # before the keys, the fallback
    for note in (48, 52, 55, 58):
        listener.handle(12.0, mido.Message("note_off", note=note))
    assert harmony.chord_at(13.0) == chord  # released keys keep the last chord


def test_chord_channel():
    harmony = LiveHarmony(chord_from_symbol("C"))
    listener, events, _ = make(live_harmony=harmony, chord_channel=15)
    for note in (62, 65, 69):
        listener.handle(1.0, mido.Message("note_on", channel=15, note=note, velocity=70))
    assert drain(events) == [] and harmony.current.pitch_classes == frozenset({2, 5, 9})


def test_clock_and_transport_go_to_the_midi_clock_and_stop_panics():
    clock = MidiClock(120)
    listener, events, scheduler = make(clock=clock, midi_clock=clock)
    listener.handle(0.0, mido.Message("start"))
    for k in range(30):
        listener.handle(0.01 + k * 0.02, mido.Message("clock"))
    assert clock.running and clock.bpm == pytest.approx(125)
    listener.handle(1.0, mido.Message("stop"))
    assert not clock.running and scheduler.panics == 1
    listener.handle(1.1, mido.Message("songpos", pos=8))
    assert clock.position_beats == 2.0
    assert drain(events) == [("transport", "start"), ("transport", "stop")]


def test_controls_and_panic():
    listener, events, scheduler = make(controls=ControlMap({"temperature": 20, "panic": 22}))
    listener.handle(0.0, mido.Message("control_change", control=20, value=127))
    listener.handle(0.0, mido.Message("control_change", control=22, value=127))
    listener.handle(0.0, mido.Message("control_change", control=7, value=100))  # not mapped
    assert drain(events) == [("control", "temperature", 2.0, 20), ("control", "panic", True, 22)]
    assert scheduler.panics == 1


def test_other_input_is_dropped():
    listener, events, scheduler = make()
    for msg in (mido.Message("sysex", data=[1, 2, 3]), mido.Message("pitchwheel", pitch=100),
                mido.Message("clock"), mido.Message("start"), mido.Message("aftertouch")):
        listener.handle(0.0, msg)
    assert drain(events) == [] and scheduler.panics == 0


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


def test_the_listener_thread_polls_the_port_until_stopped(caplog):
    import time

    listener, events, _ = make()
    port = ScriptedPort([[(2.0, mido.Message("note_on", note=64, velocity=90))], [],
                         [(2.5, mido.Message("note_off", note=64)), (2.6, mido.Message("sysex", data=[1]))]],
                        unreadable=3)
    with caplog.at_level("WARNING", logger="jazzd.live.listener"):
        listener.start(port)
        deadline = time.monotonic() + 2
        while port.polls < 10 and time.monotonic() < deadline:
            time.sleep(0.005)
        listener.stop()
    polls = port.polls
    time.sleep(0.02)
    assert port.polls == polls, "still polling after stop()"
    assert drain(events) == [("note", 2.0, 64, True), ("note", 2.5, 64, False)]
    warnings = [r.getMessage() for r in caplog.records if "not MIDI" in r.getMessage()]
    assert warnings == ["ignored 3 MIDI input message(s) that are not MIDI, the last: F4"]
