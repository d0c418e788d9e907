"""A primer for `jazzd generate --primer FILE.mid`: continue a played phrase (Magenta's primer_midi).

The primer's melody is found as training finds a file's (jazzd.pipeline.corpus: the
part that is mostly single notes, else the top line of the highest; the top note of
each onset), from the bar line of the bar its first note falls in. Its notes go into
the output as they are in the file (onset, length, pitch, velocity; a note still held
at the next onset ends there, so the line stays one line), bar 1 of the primer on
bar 1 of the progression. The LSTM is primed on the primer's values over the
progression's chords (the grammar and the contexts of jazzd's live prime mode,
jazzd.live.phrase), so the continuation grows out of it: it starts at the bar line
after the primer's last note, from its last pitch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import mido

from jazzd.core.timeline import Note
from jazzd.errors import JazzdError

DEFAULT_VELOCITY = 90  # a primer note whose velocity cannot be found in the file


@dataclass(frozen=True)
class Primer:
    """A played phrase to continue.

    Attributes:
        path: the file it came from.
        notes: its melody, beats from its first bar line (Notes: onset, duration in beats, MIDI note number,
            velocity), one line.
        bars: how many bars it spans (to the bar line after its last note).
    """

    path: Path
    notes: tuple[Note, ...]
    bars: int


def read_primer(path: Path, beats_per_bar: int, max_bars: int | None = None) -> Primer:
    """The melody of a MIDI file, as training finds it, as a Primer in bars of `beats_per_bar` beats: all of it,
    or its first `max_bars` bars (a note crossing that bar line ends there).

    Raises:
        JazzdError: naming the file, if it is not readable MIDI or has no melody (a CorpusError).
    """
    from jazzd.pipeline.corpus import melody_part_index, read_score, spec_for

    path = Path(path)
    spec = spec_for(path)
    score = read_score(spec, path)
    parts = list(score.parts)
    melody = parts[melody_part_index(spec, parts, path)]
    tops: dict[float, tuple[int, float]] = {}
    for event in melody.events:
        pitch = max(event.pitches)
        if event.onset not in tops or pitch > tops[event.onset][0]:
            tops[event.onset] = (pitch, event.duration)
    if not tops:
        raise JazzdError(f"{path}: no melody notes to continue")
    onsets = sorted(tops)
    first_bar = next((offset for _, offset, length in score.bars if offset <= onsets[0] < offset + length),
                     math.floor(onsets[0] / beats_per_bar) * beats_per_bar)
    velocities = _velocities(path, score.ticks_per_beat)
    notes = []
    for k, onset in enumerate(onsets):
        pitch, duration = tops[onset]
        following = onsets[k + 1] if k + 1 < len(onsets) else math.inf
        duration = min(duration, following - onset) if duration > 0 else min(0.25, following - onset)
        notes.append(Note(onset - first_bar, duration, pitch, velocities.get((round(onset * 480), pitch),
                                                                              DEFAULT_VELOCITY)))
    if max_bars is not None:
        cut = max_bars * beats_per_bar
        notes = [Note(n.onset, min(n.duration, cut - n.onset), n.pitch, n.velocity) for n in notes
                 if n.onset < cut - 1e-9]
    end = max(n.end for n in notes)
    return Primer(path, tuple(notes), max(1, math.ceil(end / beats_per_bar - 1e-9)))


def _velocities(path: Path, ticks_per_beat: int) -> dict[tuple[int, int], int]:
    """(onset in 1/480 beats, MIDI note number) -> velocity of every note-on in the file."""
    found = {}
    for track in mido.MidiFile(str(path)).tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                found.setdefault((round(tick * 480 / ticks_per_beat), msg.note), msg.velocity)
    return found


def prime_soloist(soloist, primer: Primer) -> int:
    """Feed the primer's values through the soloist's LSTM, over its harmony's chords, and put the soloist at
    the bar line after the primer, on its last pitch. Returns how many values were fed."""
    from jazzd.live.phrase import Phrase

    harmony = soloist.harmony
    bpb = harmony.beats_per_bar
    phrase = Phrase(bpb)
    for note in primer.notes:
        phrase.note_on(note.onset, note.pitch)
        phrase.note_off(note.end, note.pitch)
    fed = 0
    for values, contexts in phrase.bars(0, primer.bars - 1, harmony, primer.bars * bpb):
        fed += soloist.improviser.prime(values, contexts if any(contexts) else None)
    pitches = [n.pitch for n in primer.notes]
    soloist.horizon = float(primer.bars * bpb)
    soloist.previous = pitches[-1]
    soloist.previous_interval = pitches[-1] - soloist.realizer.fold(pitches[-2]) if len(pitches) > 1 else None
    soloist.history.extend(pitches)  # the learned pitch choice's recency: the primer's last pitches
    return fed
