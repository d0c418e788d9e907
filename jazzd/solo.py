"""Solo: the improviser, the harmony and the realizer, turned into timed notes.

The daemon and `jazzd generate` both draw their solo from a Soloist, so a seed
gives the same notes live and offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from jazzd.grammar import Value
from jazzd.harmony import Chord, Progression
from jazzd.improviser import Improviser
from jazzd.realizer import Note, Realizer


def seeded_generators(seed: int | None) -> tuple[np.random.Generator, np.random.Generator]:
    """Two independent generators (sampling, realization) from one seed (None: from the OS)."""
    sampling, realization = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(sampling), np.random.default_rng(realization)


@dataclass(frozen=True)
class SoloEvent:
    """One realized value: the value, its place in beats, its chord, and the note (None for a rest)."""

    value: str
    onset: Fraction
    end: Fraction
    chord: Chord
    note: Note | None


def make_soloist(model, harmony, *, temperature: float = 1.0, seed: int | None = None, low: int = 52,
                 high: int = 81, velocity: int = 90) -> "Soloist":
    """A Soloist for a loaded model (jazzd.modeldir.ModelDir) over a harmony.

    The seed fixes both the sampling and the pitch choices, so the same seed,
    model, harmony and settings give the same notes live and offline.
    Raises:
        ValueError: for a bad pitch range, velocity or temperature.
    """
    sampling, realization = seeded_generators(seed)
    improviser = Improviser(model.weights, model.vocab, temperature, sampling)
    return Soloist(improviser, harmony, Realizer(low, high, velocity, realization))


class Soloist:
    """Steps the improviser and realizes each value at the end of the last one.

    Args:
        improviser: the LSTM and its state.
        harmony: anything with chord_at(beat) -> Chord (e.g. a Progression).
        realizer: chooses pitches.
        start: the beat of the first value. Default 0.
    Attributes:
        horizon: the beat where the next value starts (a Fraction).
        previous: the last melody pitch, or None.
    """

    def __init__(self, improviser: Improviser, harmony, realizer: Realizer, start: Fraction = Fraction(0)):
        self.improviser = improviser
        self.harmony = harmony
        self.realizer = realizer
        self.horizon = Fraction(start)
        self.previous: int | None = None
        self._parsed = improviser.vocab.parsed

    def next_event(self) -> SoloEvent:
        """Sample the next value and realize it at the horizon, which moves to its end."""
        index = self.improviser.next_index()
        value: Value = self._parsed[index]
        onset = self.horizon
        chord = self.harmony.chord_at(float(onset))
        note, end = self.realizer.realize(value, chord, self.previous, onset)
        if note is not None:
            self.previous = note.pitch
        self.horizon = end
        return SoloEvent(self.improviser.vocab.values[index], onset, end, chord, note)


def comp_notes(progression: Progression, start: float, end: float, velocity: int = 60) -> list[Note]:
    """The chords of a progression as block chords, one strike per segment.

    Args:
        progression: the looped progression.
        start: first beat (inclusive) whose segments are played.
        end: last beat (exclusive).
        velocity: MIDI velocity of the chord notes.
    Returns:
        Notes of each segment starting in [start, end), in its close voicing,
        lasting the segment; N.C. segments give none.
    """
    notes = []
    for begin, segment in progression.segments_between(start, end):
        if segment.chord is None:
            continue
        for pitch in segment.chord.voicing:
            notes.append(Note(begin, segment.length, pitch, velocity))
    return notes
