"""Differently shaped MIDI files for the any-MIDI corpus tests, written with mido.

Every file holds a C-major-scale-ish melody over a ii-V-I-I progression in 4/4
at 480 ticks per beat; they differ in layout:

- band_type1: type 1, tracks drums (channel 10), bass, piano block chords and a
  tenor sax melody; no chord symbols. The heuristic must pick the sax.
- single_track_type0: type 0, melody on channel 1 and chords on channel 2 in
  one track.
- lead_sheet_markers: type 1, a melody track and chord symbols as Marker events
  only (no chord notes).
- chords_only: a piano part and nothing else (no usable melody).
- melody_only: a melody with nothing under it (no harmony).
"""

from __future__ import annotations

import mido

TPB = 480
BAR = 4 * TPB
PROGRESSION = [("Dm7", (50, 53, 57, 60)), ("G7", (55, 59, 62, 65)), ("Cmaj7", (48, 52, 55, 59)), ("Cmaj7", (48, 52, 55, 59))]
# Two eighths, a quarter and a half per bar; pitches stepwise, over 8 bars.
MELODY_BAR = [(0, 240), (240, 240), (480, 480), (960, 960)]
MELODY_PITCHES = [74, 72, 71, 69, 67, 65, 64, 62, 60, 62, 64, 65, 67, 69, 71, 72]


def _melody_events(channel: int, bars: int = 8):
    events = []
    k = 0
    for bar in range(bars):
        for start, length in MELODY_BAR:
            pitch = MELODY_PITCHES[k % len(MELODY_PITCHES)]
            k += 1
            on = bar * BAR + start
            events.append((on, 1, mido.Message("note_on", channel=channel, note=pitch, velocity=90)))
            events.append((on + length, 0, mido.Message("note_off", channel=channel, note=pitch, velocity=0)))
    return events


def _chord_events(channel: int, bars: int = 8):
    events = []
    for bar in range(bars):
        _, voicing = PROGRESSION[bar % 4]
        for pitch in voicing:
            events.append((bar * BAR, 1, mido.Message("note_on", channel=channel, note=pitch, velocity=60)))
            events.append(((bar + 1) * BAR, 0, mido.Message("note_off", channel=channel, note=pitch, velocity=0)))
    return events


def _bass_events(channel: int, bars: int = 8):
    events = []
    for bar in range(bars):
        root = PROGRESSION[bar % 4][1][0] - 12
        for beat in range(4):
            on = bar * BAR + beat * TPB
            events.append((on, 1, mido.Message("note_on", channel=channel, note=root + (0, 7, 12, 7)[beat], velocity=70)))
            events.append((on + TPB, 0, mido.Message("note_off", channel=channel, note=root + (0, 7, 12, 7)[beat], velocity=0)))
    return events


def _drum_events(bars: int = 8):
    events = []
    for beat in range(bars * 4):
        for note in (42, 36 if beat % 2 == 0 else 38):
            events.append((beat * TPB, 1, mido.Message("note_on", channel=9, note=note, velocity=80)))
            events.append((beat * TPB + 120, 0, mido.Message("note_off", channel=9, note=note, velocity=0)))
    return events


def _track(name: str, events, program: tuple[int, int] | None = None) -> mido.MidiTrack:
    track = mido.MidiTrack([mido.MetaMessage("track_name", name=name)])
    if program is not None:
        track.append(mido.Message("program_change", channel=program[0], program=program[1]))
    last = 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - last))
        last = tick
    return track


def _conductor(bpm: float = 120) -> mido.MidiTrack:
    return mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm)),
                           mido.MetaMessage("time_signature", numerator=4, denominator=4)])


def _type1(path, *tracks: mido.MidiTrack):
    """Save a type 1 file: the conductor track (120 BPM, 4/4), then these tracks; returns path."""
    midi = mido.MidiFile(type=1, ticks_per_beat=TPB)
    midi.tracks.extend([_conductor(), *tracks])
    midi.save(path)
    return path


def band_type1(path):
    return _type1(path, _track("Drums", _drum_events()), _track("Bass", _bass_events(2), (2, 32)),
                  _track("Piano", _chord_events(1), (1, 0)), _track("Tenor Sax", _melody_events(0), (0, 66)))


def single_track_type0(path):
    midi = mido.MidiFile(type=0, ticks_per_beat=TPB)
    meta = [(0, 0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(100))),
            (0, 0, mido.MetaMessage("time_signature", numerator=4, denominator=4))]
    midi.tracks.append(_track("Tune", meta + _melody_events(0) + _chord_events(1)))
    midi.save(path)
    return path


def lead_sheet_markers(path):
    markers = [(bar * BAR, 0, mido.MetaMessage("marker", text=PROGRESSION[bar % 4][0])) for bar in range(8)]
    return _type1(path, _track("Changes", markers), _track("Trumpet", _melody_events(0), (0, 56)))


def chords_only(path):
    return _type1(path, _track("Piano", _chord_events(0), (0, 0)))


def melody_only(path):
    return _type1(path, _track("Flute", _melody_events(0), (0, 73)))
