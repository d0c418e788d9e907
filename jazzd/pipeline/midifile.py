"""Reading a Standard MIDI File into parts of notes and bars, with mido: the corpus in seconds.

This reads the notes the way music21's MIDI import does (so the values of a
corpus are the same as when music21 parsed it, at a hundredth of the time), with
no music21 object made: music21 is kept for naming chords (jazzd.core.harmony)
and for the course's own reading of the Metheny file (`quantize = "music21"`,
see from_music21).

- A part per track that has notes, in track order (music21's part numbering);
  tracks without notes are the conductor: their time signatures make the bars.
  A track mixing channels is split into one part per channel first (a type-0
  file; jazzd.pipeline.parts.split_channels).
- Note-ons are paired with the nearest following note-off of the same pitch and
  channel (a note-on with none is dropped); notes whose onsets are within 1/16
  beat and whose ends are within 1/16 beat of each other sound as one chord, at
  the first one's onset with the last one's length (music21's midiTrackToStream,
  quantizePost off).
- Bars: from the time signatures (4/4 where none is given), as many as cover
  the longest part, numbered from 1.

Source: music21.midi.translate (getNotesFromEvents, midiTrackToStream,
midiTracksToStreams), read to match its behaviour; no code taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import mido

from jazzd.core.midi import DRUM_CHANNEL
from jazzd.errors import CorpusError

CHORD_TOLERANCE = 16  # notes within 1/16 beat of each other (onset and end) make one chord


@dataclass(frozen=True, slots=True)
class Sounding:
    """One note or chord of a part: onset and length in beats (quarter notes), its MIDI note numbers."""

    onset: float
    duration: float
    pitches: tuple[int, ...]


@dataclass(frozen=True)
class Part:
    """A part of a MIDI file.

    Args:
        index: its number among the parts (music21's part index).
        name: the track name ("" for none).
        program: the General MIDI program of its first program change, or None.
        channel: the MIDI channel (0-based) of its first note, or None.
        events: notes and chords by onset.
    """

    index: int
    name: str
    program: int | None
    channel: int | None
    events: tuple[Sounding, ...]

    @property
    def drums(self) -> bool:
        """Whether the part plays General MIDI percussion (channel 10)."""
        return self.channel == DRUM_CHANNEL

    @property
    def instrument(self) -> str:
        """The General MIDI instrument of its program ("" for none), as music21 names it."""
        if self.program is None:
            return ""
        return _instrument_name(self.program)

    @property
    def label(self) -> str:
        """How messages name the part: its name, its instrument, else "part N"."""
        return self.name or self.instrument or f"part {self.index}"

    @property
    def end(self) -> float:
        return max((e.onset + e.duration for e in self.events), default=0.0)


@dataclass(frozen=True)
class Score:
    """A MIDI file as parts and bars: (number from 1, offset in beats, length in beats) per bar, and its
    Text, Marker and Cue events as (tick, kind, text), with ticks_per_beat to place them."""

    parts: tuple[Part, ...]
    bars: tuple[tuple[int, float, float], ...]
    texts: tuple[tuple[int, str, str], ...] | None = None  # None: not read (a music21 reading)
    ticks_per_beat: int = 480


TEXT_KINDS = ("text", "marker", "cue_marker")


def meta_texts(midi: mido.MidiFile) -> list[tuple[int, str, str]]:
    """(tick, kind, text) of every Text, Marker and Cue event of a file, track by track."""
    texts = []
    for track in midi.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type in TEXT_KINDS:
                texts.append((tick, msg.type, msg.text))
    return texts


def _instrument_name(program: int) -> str:
    from music21 import instrument

    try:
        return instrument.instrumentFromMidiProgram(program).instrumentName or ""
    except Exception:  # music21 has no instrument for some programs
        return ""


def _scan(track) -> tuple[list, list, str, int | None, int | None, list]:
    """One pass over a track: (note events as (tick, is_on, pitch, channel), time signatures as
    (tick, beats per bar), track name, first program, first note channel, texts as (tick, kind, text))."""
    notes, signatures, texts = [], [], []
    name, program, channel = "", None, None
    tick = 0
    for msg in track:
        tick += msg.time
        kind = msg.type
        if kind == "note_on":
            notes.append((tick, msg.velocity > 0, msg.note, msg.channel))
            if channel is None:
                channel = msg.channel
        elif kind == "note_off":
            notes.append((tick, False, msg.note, msg.channel))
        elif kind in TEXT_KINDS:
            texts.append((tick, kind, msg.text))
        elif kind == "program_change":
            if program is None:
                program = msg.program
        elif kind == "time_signature":
            if msg.numerator > 0 and msg.denominator > 0:
                signatures.append((tick, msg.numerator * 4 / msg.denominator))
        elif kind == "track_name" and not name:
            name = msg.name.strip()
    return notes, signatures, name, program, channel, texts


def _notes_of(events) -> list[tuple[int, int, int, int]]:
    """(on tick, off tick, pitch, channel) for every note-on that has a note-off after it, by on tick.

    Args:
        events: (tick, is_on, pitch, channel) in the track's order.
    """
    notes = []
    waiting: dict[tuple[int, int], int] = {}
    for tick, on, pitch, channel in reversed(events):
        if not on:
            waiting[(pitch, channel)] = tick
        else:
            off = waiting.get((pitch, channel))
            if off is not None:
                notes.append((tick, off, pitch, channel))
    notes.reverse()
    return notes


def _events(notes, ticks_per_beat: int) -> list[Sounding]:
    """Notes gathered into chords by music21's rule, as Soundings in beats."""
    tolerance = ticks_per_beat / CHORD_TOLERANCE
    gathered = [False] * len(notes)
    events = []
    for i, (on, off, pitch, _) in enumerate(notes):
        if gathered[i]:
            continue
        chord = [(on, off, pitch)]
        for j in range(i + 1, len(notes)):
            on_j, off_j, pitch_j, _ = notes[j]
            if abs(on_j - on) >= tolerance:
                break
            if abs(off_j - off) > tolerance:
                continue
            chord.append((on_j, off_j, pitch_j))
            gathered[j] = True
        last_on, last_off, _ = chord[-1]
        events.append(Sounding(float(Fraction(on, ticks_per_beat)), float(Fraction(last_off - last_on, ticks_per_beat)),
                               tuple(p for _, _, p in chord)))
    events.sort(key=lambda e: e.onset)
    return events


def _bars(time_signatures: list[tuple[float, float]], end: float) -> list[tuple[int, float, float]]:
    """Bars covering 0..end from (offset, bar length) changes; a change takes effect at the next bar line."""
    changes = sorted(time_signatures) or [(0.0, 4.0)]
    if changes[0][0] > 0:
        changes.insert(0, (0.0, 4.0))
    bars, offset, number, k = [], 0.0, 1, 0
    length = changes[0][1]
    while offset < end - 1e-9 or not bars:
        while k + 1 < len(changes) and changes[k + 1][0] <= offset + 1e-9:
            k += 1
            length = changes[k][1]
        bars.append((number, offset, length))
        offset += length
        number += 1
    return bars


def read_midi(path: Path) -> Score:
    """Read a MIDI file into parts and bars.

    Raises:
        CorpusError: if mido cannot read the file or it has no notes.
    """
    from jazzd.pipeline.parts import split_channels

    path = Path(path)
    try:
        midi = mido.MidiFile(str(path))
    except Exception as err:  # mido raises many types for a broken file
        raise CorpusError(f"{path}: not a readable MIDI file ({type(err).__name__}: {err})") from None
    if midi.ticks_per_beat <= 0:
        raise CorpusError(f"{path}: not a readable MIDI file (ticks per beat {midi.ticks_per_beat})")
    split = split_channels(midi)
    tpb = midi.ticks_per_beat
    parts, time_signatures, texts = [], [], []
    for track in (split or midi).tracks:
        events, signatures, name, program, channel, track_texts = _scan(track)
        texts += track_texts
        if not any(on for _, on, _, _ in events):  # the conductor: its time signatures make the bars
            time_signatures += [(tick / tpb, length) for tick, length in signatures]
            continue
        notes = _notes_of(events)
        if notes:
            channel = notes[0][3]
        parts.append(Part(len(parts), name, program, channel, tuple(_events(notes, tpb))))
    texts.sort(key=lambda t: t[0])  # (split files move meta events between tracks; ticks stay)
    if not parts or not any(p.events for p in parts):
        raise CorpusError(f"{path}: the MIDI file has no notes")
    end = max(p.end for p in parts)
    return Score(tuple(parts), tuple(_bars(time_signatures, end)), tuple(texts), tpb)


def from_music21(score) -> Score:
    """A music21 score (the course's quantized reading) as a Score: its parts' notes and chords, its bars."""
    from music21 import stream

    parts = []
    for index, part in enumerate(score.parts if score.hasPartLikeStreams() else [score]):
        events = [Sounding(float(n.offset), float(n.quarterLength), tuple(p.midi for p in n.pitches))
                  for n in part.stripTies().flatten().notes]
        instrument = part.getInstrument()
        program = getattr(instrument, "midiProgram", None)
        channel = getattr(instrument, "midiChannel", None)
        name = (part.partName or "").strip() or (str(instrument or "") or "").strip()
        parts.append(Part(index, name, program, channel, tuple(events)))
    longest = max(score.parts if score.hasPartLikeStreams() else [score], key=lambda p: p.highestTime)
    bars = tuple((int(m.number), float(m.offset), float(m.barDuration.quarterLength))
                 for m in longest.getElementsByClass(stream.Measure))
    return Score(tuple(parts), bars)

