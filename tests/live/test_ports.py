import sys
import time

import mido
import numpy as np
import pytest

from helpers import wait_for
from jazzd.live.clock import TempoClock
from jazzd.errors import PortError
from jazzd.live.ports import (ArrivalClock, MidiFileRecorder, RtMidiInput, RtMidiOutput, choose_backend, open_input,
                         is_midi_file_target, match_port)


@pytest.mark.parametrize("requested, platform, alsa, jack, expected", [
    ("auto", "linux", True, True, "alsa"),
    ("auto", "linux", False, True, "jack"),
    ("auto", "linux", False, False, None),
    ("auto", "darwin", False, False, "coremidi"),
    ("auto", "win32", False, False, None),
    ("jack", "linux", True, False, "jack"),
    ("alsa", "linux", False, False, "alsa"),
])
def test_choose_backend(requested, platform, alsa, jack, expected):
    assert choose_backend(requested, platform, alsa, jack) == expected


def test_unknown_backend_is_named():
    with pytest.raises(PortError, match="unknown MIDI backend 'oss'"):
        choose_backend("oss", "linux", True, True)


def test_match_port_exact_substring_and_errors():
    names = ["Midi Through:Midi Through Port-0 14:0", "FLUID Synth (123):Synth input port (123:0) 128:0"]
    assert match_port(names, "fluid") == names[1]
    assert match_port(names, names[0]) == names[0]
    with pytest.raises(PortError, match=r"no MIDI output matching 'Vrtual' \(have: 'Midi Through"):
        match_port(names, "Vrtual")
    with pytest.raises(PortError, match=r"no MIDI input matching 'Vrtual'"):
        match_port(names, "Vrtual", "input")
    with pytest.raises(PortError, match="ambiguous"):
        match_port(names, "0")


def test_file_targets():
    assert is_midi_file_target("live.mid") and is_midi_file_target("x/LIVE.MIDI")
    assert not is_midi_file_target("jazzd out") and not is_midi_file_target("auto")


def test_recorder_file_is_whole_after_every_flush(tmp_path):
    path = tmp_path / "live.mid"
    clock = TempoClock(120, origin_s=1000.0)
    recorder = MidiFileRecorder(path, clock, flush_beats=4)
    expected = []
    for bar in range(3):
        for beat in range(4):
            b = bar * 4 + beat
            recorder.send(mido.Message("note_on", note=60 + beat, velocity=90), clock.seconds_at(b))
            recorder.send(mido.Message("note_off", note=60 + beat), clock.seconds_at(b + 0.5))
            expected.append((b, 60 + beat))
        # read the file while the recorder is still open: complete up to the last flush
        midi = mido.MidiFile(path)
        assert midi.tracks[0][-1].type == "end_of_track"
    recorder.close()
    midi = mido.MidiFile(path)
    assert midi.ticks_per_beat == 480
    tick, got = 0, []
    for msg in midi.tracks[0]:
        tick += msg.time
        if msg.type == "note_on":
            got.append((tick / 480, msg.note))
        if msg.type == "set_tempo":
            assert mido.tempo2bpm(msg.tempo) == pytest.approx(120)
    assert got == expected


def test_recorder_names_an_unwritable_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(PortError, match="cannot record MIDI here"):
        MidiFileRecorder(blocker / "live.mid", TempoClock(120, time.monotonic()))


def stamp_polls(arrivals, api_times, poll_times):
    """Feed an ArrivalClock the way RtMidiInput does: each poll takes every message that arrived before it."""
    deltas = np.diff(api_times, prepend=api_times[0])
    stamped, i = [], 0
    for poll in poll_times:
        j = i
        while j < len(api_times) and poll_times[j] <= poll:
            j += 1
        stamped += arrivals.stamp(list(deltas[i:j]), poll)
        i = j
    return np.array(stamped)


def test_arrival_clock_takes_out_the_poll_delay():
    """Arrival times rebuilt from API deltas are within the smallest poll delay seen of the truth, never after the poll."""
    rng = np.random.default_rng(3)
    true = np.cumsum(rng.exponential(0.01, 2000))
    # a poller every 5 ms that wakes up 0.2-15 ms late: each message is seen at the first wake-up after it
    wakeups = np.cumsum(0.005 + rng.uniform(0.0002, 0.015, 8000))
    seen = wakeups[np.searchsorted(wakeups, true)]
    stamped = stamp_polls(ArrivalClock(drift_ppm=0), true, seen)
    assert len(stamped) == len(true) and np.all(stamped <= seen + 1e-12)
    error = stamped - true
    assert np.abs(error[200:]).max() < 0.0005, np.abs(error[200:]).max()
    assert np.median(seen - true) > 0.004  # what stamping at the poll would have cost
    one_poll = ArrivalClock().stamp([0.0, 0.01, 0.01], 5.0)  # a backlog found at once keeps its spacing
    assert np.allclose(one_poll, [4.98, 4.99, 5.0])


def test_arrival_clock_follows_an_api_clock_that_runs_slow():
    """An API clock 50 ppm slow: the offset creeps up with it, so stamps stay within 2 ms after an hour."""
    true = np.arange(0, 3600, 0.5)
    api = true * (1 - 50e-6)
    stamped = stamp_polls(ArrivalClock(drift_ppm=100), api, true + 0.001)
    assert abs(stamped[-1] - true[-1]) < 0.002
    stamped = stamp_polls(ArrivalClock(drift_ppm=0), api, true + 0.001)
    assert abs(stamped[-1] - true[-1]) > 0.1  # without the allowance it falls 0.18 s behind


@pytest.mark.jack
def test_input_and_output_through_jack_keep_jazzd_client_names(jack_server):
    """Virtual and connected ports are clients "jazzd"/"jazzd-in", never "RtMidi..."; the input drops junk."""
    import rtmidi

    from jack_session import jack_ports

    sender = rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name="ports-test")
    sender.open_virtual_port("keys")
    receiver = open_input("virtual", "jack", "ports-test-rx", "hears")
    connected_in = open_input("ports-test:keys", "jack", "jazzd-in")
    connected_out = RtMidiOutput("jack", "ports-test-rx:hears", "jazzd", virtual=False)
    try:
        ports = jack_ports()
        assert "jazzd-in:jazzd in" in ports and "jazzd:jazzd out" in ports, ports
        assert not [p for p in ports if p.lower().startswith("rtmidi")], ports
        assert connected_in.name == "ports-test:keys" and connected_out.name == "ports-test-rx:hears"
        # the new clients and connections reorder the JACK graph and the cycles after it run late (xruns lose
        # what they carry): go on once a probe crosses each connection
        def crossed(send, port):
            send()
            return any(m.type == "note_on" and m.note == 1 for _, m in port.poll())

        wait_for(lambda: crossed(lambda: sender.send_message([0x90, 1, 1]), connected_in), 20, 0.05, "a probe")
        wait_for(lambda: crossed(lambda: connected_out.send(mido.Message("note_on", note=1, velocity=1), 0.0),
                                 receiver), 20, 0.05, "a probe back")
        time.sleep(0.2)
        connected_in.poll(), receiver.poll()  # probes that were still on their way
        for data in ([0x90, 60, 100], [0xF8], [0xF4], [0xF0, 1, 2, 0xF7], [0x95, 200], [0x80, 60, 0]):
            sender.send_message(data)
            time.sleep(0.01)
        connected_out.send(mido.Message("note_on", note=72, velocity=90), 0.0)
        deadline = time.monotonic() + 3
        heard, echoed = [], []
        while time.monotonic() < deadline and (len(heard) < 3 or not echoed):
            heard += connected_in.poll()
            echoed += receiver.poll()
            time.sleep(0.005)
        assert [m.type for _, m in heard] == ["note_on", "clock", "note_off"]
        times = [t for t, _ in heard]
        assert times == sorted(times) and times[-1] - times[0] > 0.015  # stamped 20 ms apart, one JACK period or so
        assert connected_in.unreadable == 2 and connected_in.last_unreadable == bytes([0x95, 200])
        assert [m.note for _, m in echoed] == [72]
    finally:
        for port in (connected_in, connected_out, receiver):
            port.close()
        sender.close_port()
        sender.delete()


@pytest.mark.jack
def test_jack_input_names_a_missing_port_and_reports_its_process_ending(jack_server):
    """The JACK input's child process: a target that matches nothing is a one-line error naming it; a child
    that dies (killed here) makes poll() raise, so the daemon stops and releases its notes instead of going deaf."""
    with pytest.raises(PortError, match=r"cannot open MIDI input 'no-such-keyboard' on jack: no MIDI input matching"):
        open_input("no-such-keyboard", "jack", "ports-test-missing")
    port = open_input("virtual", "jack", "ports-test-dies", "in")
    try:
        assert port.poll() == []
        port._proc.kill()
        deadline = time.monotonic() + 10
        with pytest.raises(PortError, match=r"ports-test-dies:in\) ended \(exit code -9\)"):
            while time.monotonic() < deadline:
                port.poll()
                time.sleep(0.01)
    finally:
        port.close()


@pytest.mark.skipif(sys.platform == "darwin", reason="CoreMIDI is there on macOS")
def test_unavailable_backend_is_named():
    with pytest.raises(PortError, match="'coremidi' is not available here"):
        RtMidiInput("coremidi", "x")
