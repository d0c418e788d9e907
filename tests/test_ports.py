import time

import mido
import pytest

from jazzd.clock import TempoClock
from jazzd.errors import PortError
from jazzd.ports import MidiFileRecorder, choose_backend, is_midi_file_target, match_port


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
