"""Offline generation: `jazzd generate -o my_music.mid`, the course's output file.

A solo of N values (the course: 50) or N bars over the configured progression,
written as a type-1 Standard MIDI File: a conductor track (tempo, time
signature), the melody on its channel, the chords on theirs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import mido

from jazzd.errors import ChordSymbolError
from jazzd.core.feel import Feel
from jazzd.core.harmony import symbol_to_figure
from jazzd.core.timeline import Note
from jazzd.core.solo import SoloEvent, Soloist, comp_notes

TICKS_PER_BEAT = 480


@dataclass(frozen=True)
class Generated:
    """What generate() wrote: the events, the chord notes, the length in beats and the harmony."""

    path: Path
    events: list[SoloEvent]
    melody: list[Note]
    chords: list[Note]
    beats: float
    harmony: object = None


def chord_symbol_events(progression, end: float) -> list[tuple[int, int, mido.MetaMessage]]:
    """A Marker (the lead-sheet symbol) and a Text (music21's figure) at every chord change.

    DAWs show the markers; jazzd plot and jazzd train read the chords back from
    them, as from the Weimar Jazz Database files.
    Returns:
        (tick, order, meta message) triples for _track.
    """
    events = []
    for begin, segment in progression.segments_between(0.0, end):
        tick = round(begin * TICKS_PER_BEAT)
        symbol = segment.chord.symbol if segment.chord is not None else "N.C."
        events.append((tick, 0, mido.MetaMessage("marker", text=symbol)))
        try:
            figure = symbol_to_figure(symbol) if segment.chord is not None else "N.C."
        except ChordSymbolError:
            continue  # a chord named from a voicing only; the marker still shows it
        events.append((tick, 0, mido.MetaMessage("text", text=figure)))
    return events


def _track(name: str, channel: int, program: int, notes: list[Note], meta=()) -> mido.MidiTrack:
    timed = list(meta)
    for n in notes:
        timed.append((round(n.onset * TICKS_PER_BEAT), 2, mido.Message("note_on", channel=channel, note=n.pitch, velocity=n.velocity)))
        timed.append((round(n.end * TICKS_PER_BEAT), 1, mido.Message("note_off", channel=channel, note=n.pitch, velocity=0)))
    timed.sort(key=lambda t: (t[0], t[1]))
    track = mido.MidiTrack([mido.MetaMessage("track_name", name=name)])
    if program >= 0:
        track.append(mido.Message("program_change", channel=channel, program=program))
    last = 0
    for tick, _, msg in timed:
        track.append(msg.copy(time=tick - last))
        last = tick
    return track


def generate(soloist: Soloist, feel: Feel, out: Path, bpm: float, *, values: int | None = 50,
             bars: int | None = None, melody_channel: int = 0, melody_program: int = 26,
             comp_channel: int = 1, comp_program: int = 0, comp_velocity: int = 60) -> Generated:
    """Generate a solo and write it as a MIDI file.

    Args:
        soloist: the improviser, harmony and realizer (see solo.from_config); its
            harmony's chords are written as the chords track.
        feel: swing, accents and humanize, applied to the melody.
        out: the .mid file to write.
        bpm: tempo written to the file, beats per minute.
        values: how many values to generate (used when bars is None).
        bars: generate whole bars instead; the last note is cut at the last bar line.
        melody_channel, comp_channel: MIDI channels 0..15.
        melody_program, comp_program: General MIDI programs 0..127, or -1 for none.
        comp_velocity: velocity of the chord notes.
    Returns:
        A Generated record.
    Raises:
        ValueError: if neither values nor bars is a positive count.
        OSError: if the file cannot be written.
    Source: course generate_music (my_music.midi), with a seedable sampler.
    """
    progression = soloist.harmony
    if bars is None and not (values and values > 0):
        raise ValueError("generate needs a positive number of values or bars")
    end = None if bars is None else float(bars * progression.beats_per_bar)
    events: list[SoloEvent] = []
    while (end is None and len(events) < values) or (end is not None and soloist.horizon < end):
        events.append(soloist.next_event())
    melody = []
    for e in events:
        if e.note is None:
            continue
        n = e.note
        if end is not None and n.end > end:
            n = Note(n.onset, end - n.onset, n.pitch, n.velocity)
        melody.append(feel.perform(n, end))
    if end is None:
        bpb = progression.beats_per_bar
        end = float(math.ceil(soloist.horizon / bpb - 1e-9) * bpb)  # up to the next bar line
    chords = comp_notes(progression, 0.0, end, comp_velocity)

    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    conductor = mido.MidiTrack([
        mido.MetaMessage("track_name", name="jazzd"),
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm)),
        mido.MetaMessage("time_signature", numerator=progression.beats_per_bar, denominator=4),
    ])
    midi.tracks.append(conductor)
    midi.tracks.append(_track("Melody", melody_channel, melody_program, melody))
    midi.tracks.append(_track("Chords", comp_channel, comp_program, chords, chord_symbol_events(progression, end)))
    out = Path(out)
    midi.save(out)
    return Generated(out, events, melody, chords, end, progression)
