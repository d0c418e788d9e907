"""Phrase: the player's melody, quantized to the grid and parsed into grammar values.

The notes a player plays into "jazzd in" become values with the same grammar
code as the corpus (grammar.measure_timeline and grammar.parse_measure), bar by
bar, over the chord sounding at each onset; the improviser primes on them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from jazzd.core.conditioning import context_at
from jazzd.core.grammar import MelodyNote, measure_timeline, parse_measure
from jazzd.core.timeline import GRID, TICKS_PER_BEAT, nearest_grid_tick


def quantize(beat: float) -> Fraction:
    """The nearest point of the 1/4- and 1/3-beat grid to a beat, by the corpus's rule (the earlier on a tie)."""
    return Fraction(nearest_grid_tick(beat * TICKS_PER_BEAT), TICKS_PER_BEAT)


@dataclass
class PlayedNote:
    """A note the player played: MIDI note number, quantized onset and end in beats (end None while held)."""

    pitch: int
    onset: Fraction
    end: Fraction | None = None


class Phrase:
    """The player's melody notes, monophonic, on the grid.

    Args:
        beats_per_bar: bar length in beats.
    Attributes:
        notes: the played notes in onset order.
        last_off: the raw beat of the last note-off (None before any).
    """

    def __init__(self, beats_per_bar: int = 4):
        self.beats_per_bar = beats_per_bar
        self.notes: list[PlayedNote] = []
        self.last_off: float | None = None

    @property
    def sounding(self) -> bool:
        """Whether a played note is still held."""
        return bool(self.notes) and self.notes[-1].end is None

    def note_on(self, beat: float, pitch: int) -> None:
        """A note starts at a beat; a note still held ends there (the melody is monophonic)."""
        onset = quantize(beat)
        if self.notes and self.notes[-1].onset == onset:
            if pitch > self.notes[-1].pitch:  # two notes at one onset: the top one is the melody
                self.notes[-1] = PlayedNote(pitch, onset)
            return
        if self.sounding:
            self.notes[-1].end = onset
        self.notes.append(PlayedNote(pitch, onset))

    def note_off(self, beat: float, pitch: int) -> None:
        """A note ends at a beat (a note-off for a note not held is ignored)."""
        if self.sounding and self.notes[-1].pitch == pitch:
            note = self.notes[-1]
            end = quantize(beat)
            note.end = end if end > note.onset else note.onset + min(GRID)
            self.last_off = beat

    def bar_of(self, beat: float) -> int:
        """The bar (0-based) a beat falls in."""
        return int(math.floor(beat / self.beats_per_bar + 1e-9))

    def first_bar(self) -> int | None:
        return self.bar_of(float(self.notes[0].onset)) if self.notes else None

    def notes_in(self, bar: int) -> int:
        """How many played notes start in a bar (0-based)."""
        return sum(1 for n in self.notes if self.bar_of(float(n.onset)) == bar)

    def values(self, first_bar: int, last_bar: int, harmony, until: float) -> list[list[str]]:
        """The grammar values of bars first_bar..last_bar, one list per bar with notes.

        Args:
            first_bar, last_bar: 0-based bars, inclusive.
            harmony: anything with chord_at(beat).
            until: a note still held is taken to last until this beat.
        Returns:
            Per bar with at least one note, its values as strings (a bar without
            notes gives none, as in the corpus).
        Source: jazzd.pipeline.corpus (the same timeline and parse as the training data).
        """
        return [values for values, _ in self.bars(first_bar, last_bar, harmony, until)]

    def bars(self, first_bar: int, last_bar: int, harmony, until: float) -> list[tuple[list[str], list[tuple]]]:
        """As values(), with each value's context (jazzd.core.conditioning.context_at: its onset over the
        harmony, which needs next_change too) for a conditioned model: [(values, contexts)] per bar."""
        bpb = self.beats_per_bar
        played = []
        for n in self.notes:
            end = n.end if n.end is not None else max(quantize(until), n.onset + min(GRID))
            played.append(MelodyNote(float(n.onset), float(end - n.onset), n.pitch))
        result = []
        for bar in range(first_bar, last_bar + 1):
            start, stop = bar * bpb, (bar + 1) * bpb
            inside = [n for n in played if start - 1e-9 <= n.offset < stop - 1e-9]
            if not inside:
                continue
            held = [n.offset + n.duration for n in played if n.offset < start - 1e-9]
            timeline = measure_timeline(inside, start, stop, held[-1] if held else start)
            chords = [(float(start), harmony.chord_at(start))] + [(n.offset, harmony.chord_at(n.offset)) for n in inside]
            values = [str(v) for v in parse_measure(timeline, chords)]
            contexts = [context_at(harmony, n.offset, bpb) if hasattr(harmony, "next_change") else ()
                        for n in timeline[:len(values)]]
            result.append((values, contexts))
        return result

    def drop_before(self, bar: int) -> None:
        """Forget the notes of bars before a bar (0-based)."""
        start = bar * self.beats_per_bar
        self.notes = [n for n in self.notes if n.onset >= start - Fraction(1, 10**6) or n.end is None]

    def clear(self) -> None:
        self.notes = []
        self.last_off = None
