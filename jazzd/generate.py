"""Offline generation: `jazzd generate -o my_music.mid`, the course's output file.

A solo of N values (the course: 50) or N bars over the configured progression,
written as a type-1 Standard MIDI File: a conductor track (tempo, time
signature, every chord change as a Marker and a Text event), the melody on its
channel, and the band's parts (Piano, Bass, Drums), each on its own track and
channel, made by the same RhythmSection as `jazzd run` (so a seed gives the same
band live and offline).
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
from jazzd.core.solo import SoloEvent, Soloist

TICKS_PER_BEAT = 480


@dataclass(frozen=True)
class Generated:
    """What generate() wrote: the events, the chord notes, the length in beats and the harmony."""

    path: Path
    events: list[SoloEvent]
    melody: list[Note]
    chords: list[Note]  # the piano's notes
    beats: float
    harmony: object = None
    band: dict = None  # part ("bass", "drums", "piano") -> its notes
    primer: tuple = ()  # the primer's notes that open the melody (jazzd generate --primer)


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


TRACK_NAMES = {"piano": "Piano", "bass": "Bass", "drums": "Drums"}


def generate(soloist: Soloist, feel: Feel, out: Path, bpm: float, *, values: int | None = 50,
             bars: int | None = None, melody_channel: int = 0, melody_program: int = 26,
             band=None, parts: dict | None = None, primer=None) -> Generated:
    """Generate a solo and write it as a MIDI file.

    Args:
        soloist: the improviser, harmony and realizer (see solo.from_config); its
            harmony's chords are written as the chords track.
        feel: swing, accents and humanize, applied to the melody.
        out: the .mid file to write.
        bpm: tempo written to the file, beats per minute.
        values: how many values to generate (used when bars is None).
        bars: generate whole bars instead; the last note is cut at the last bar line.
        melody_channel: MIDI channel 0..15. melody_program: General MIDI program 0..127, or -1 for none.
        band: the rhythm section (jazzd.core.band.section.RhythmSection), or None for the solo alone.
        parts: the band's parts, name -> (MIDI channel 0..15, program or -1, velocity) (solo.band_from_config).
        primer: a played phrase to continue (jazzd.primer.Primer): its notes open the melody track unchanged, the
            LSTM is primed on them, and the solo goes on from the bar line after them; `bars` counts them in,
            `values` are the continuation's.
    Returns:
        A Generated record.
    Raises:
        ValueError: if neither values nor bars is a positive count, or the primer fills all the bars.
        OSError: if the file cannot be written.
    Source: course generate_music (my_music.midi), with a seedable sampler.
    """
    progression = soloist.harmony
    if bars is None and not (values and values > 0):
        raise ValueError("generate needs a positive number of values or bars")
    end = None if bars is None else float(bars * progression.beats_per_bar)
    melody = []
    if primer is not None:
        if bars is not None and primer.bars >= bars:
            raise ValueError(f"{primer.path}: the primer fills {primer.bars} bars: --bars must be more than that")
        from jazzd.primer import prime_soloist

        prime_soloist(soloist, primer)
        melody = list(primer.notes)  # as played: no feel of jazzd's on them
    events: list[SoloEvent] = []
    while (end is None and len(events) < values) or (end is not None and soloist.horizon < end):
        events.append(soloist.next_event())
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
    played = {name: [] for name in (parts or {})}
    if band is not None:
        for name, note in band.notes_until(end, bpm):
            if note.onset < end - 1e-9:
                played[name].append(note if note.end <= end else Note(note.onset, end - note.onset, note.pitch,
                                                                       note.velocity))

    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    conductor = mido.MidiTrack([
        mido.MetaMessage("track_name", name="jazzd"),
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm)),
        mido.MetaMessage("time_signature", numerator=progression.beats_per_bar, denominator=4),
    ])
    symbols = sorted(chord_symbol_events(progression, end), key=lambda t: t[0])
    last = 0
    for tick, _, msg in symbols:  # on the conductor: DAWs show its markers, and they stay with no piano
        conductor.append(msg.copy(time=tick - last))
        last = tick
    midi.tracks.append(conductor)
    midi.tracks.append(_track("Melody", melody_channel, melody_program, melody))
    for name in ("piano", "bass", "drums"):
        if name in played:
            channel, program, _ = parts[name]
            midi.tracks.append(_track(TRACK_NAMES[name], channel, program, played[name]))
    out = Path(out)
    midi.save(out)
    return Generated(out, events, melody, played.get("piano", []), end, progression, played,
                     primer.notes if primer is not None else ())
