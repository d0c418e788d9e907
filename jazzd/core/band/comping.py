"""Comping: the piano's voicings, led from one to the next, in the style's comping rhythms.

Voicings (Levine, The Jazz Piano Book; the Bill Evans / Wynton Kelly left-hand
voicings): with a bass playing the root, the piano leaves it out.

- rootless, 4 notes: form A has the 3rd at the bottom (3, 5 or 13, 7, 9), form B
  the 7th (7, 9, 3, 5 or 13); a dominant takes the 13th (the b13 where its scale
  has no natural 13th) in place of the 5th, a half-diminished chord the 11th in
  place of the 9th, a chord whose own tones hold a b9 or #9 that in place of the 9th;
- shell, 3 notes: the guide tones with one color, 3-7-9 or 7-3-13 (or 7-3-5);
- with no bass playing, the root below either;
- close: the chord's close position (jazzd's old block chords, the "pads" style).

Each voicing is placed with its lowest note in LOWEST (C3..C4: the middle register),
and of the forms and octaves that fit, the one nearest the voicing before is taken
(the smallest total movement of the voices): voice leading. Chord tones are
semitones above the root, read from the chord's pitch classes and its scale
(jazzd.core.harmony.Chord), not from its name.
"""

from __future__ import annotations

from dataclasses import dataclass

LOWEST = (48, 60)  # the lowest note of a voicing, MIDI note numbers (C3..C4)
HIGHEST = 81  # no voice above A5


@dataclass(frozen=True)
class ChordTones:
    """A chord's tones as semitones above its root: third (3, 4, or 5 for sus4), seventh (10, 11, or 9 for a
    sixth or a diminished 7th), color: the 5th or, for a dominant, the 13th; ninth (2, or 1 / 3 / 5 where the
    chord calls for a b9, #9 or the 11th)."""

    third: int
    seventh: int
    color: int
    ninth: int


def chord_tones(chord) -> ChordTones:
    """The tones of a Chord (jazzd.core.harmony.Chord) a voicing is built from."""
    have = {(pc - chord.root) % 12 for pc in chord.pitch_classes}
    scale = {(pc - chord.root) % 12 for pc in chord.scale}
    third = 4 if 4 in have else 3 if 3 in have else 5 if 5 in have else 4
    diminished = third == 3 and 6 in have and 7 not in have
    if 11 in have:
        seventh = 11
    elif 10 in have:
        seventh = 10
    elif 9 in have:
        seventh = 9  # a sixth chord, or a diminished 7th
    else:
        seventh = 9 if third == 4 and 8 not in have else 10 if third != 4 else 11  # a triad: the 6th, else 7th
    fifth = 6 if diminished else 8 if 8 in have and 7 not in have else 7
    dominant = third in (4, 5) and seventh == 10
    color = fifth
    if dominant:
        color = 9 if 9 in scale and 8 not in have else 8
    if 1 in have:
        ninth = 1
    elif 3 in have and third == 4:
        ninth = 3
    elif 2 in scale or 2 in have:
        ninth = 2
    else:
        ninth = 5  # no natural 9th in the scale (a half-diminished chord's locrian): the 11th
    return ChordTones(third, seventh, color, ninth)


def forms(chord, kind: str, with_root: bool = False) -> list[tuple[int, ...]]:
    """The voicing forms of a chord, as ascending semitones above its root (one octave not fixed yet).

    Args:
        kind: "rootless", "shell" or "close".
        with_root: put the root under the form (no bass plays it).
    """
    if kind == "close":
        return [tuple(sorted((pc - chord.root) % 12 for pc in chord.pitch_classes))]
    t = chord_tones(chord)
    if kind == "shell":
        shapes = [(t.third, t.seventh, t.ninth + 12), (t.seventh, t.third + 12, t.color + 12)]
    else:
        shapes = [(t.third, t.color, t.seventh, t.ninth + 12), (t.seventh, t.ninth + 12, t.third + 12, t.color + 12)]
    return [((0,) if with_root else ()) + tuple(sorted(set(shape))) for shape in shapes]


def placements(chord, kind: str, with_root: bool = False) -> list[tuple[int, ...]]:
    """Every voicing of the chord's forms with its lowest note in LOWEST (an octave lower for the root under it)
    and no voice above HIGHEST (MIDI note numbers, ascending)."""
    low = LOWEST[0] - 12 if with_root else LOWEST[0]
    out = []
    for shape in forms(chord, kind, with_root):
        for base in range(low - 24, LOWEST[1] + 1):
            if (base - chord.root) % 12:
                continue
            notes = tuple(base + s for s in shape)
            if low <= notes[0] <= LOWEST[1] and notes[-1] <= HIGHEST:
                out.append(notes)
    return out


def movement(previous: tuple[int, ...], voicing: tuple[int, ...]) -> float:
    """How far a voicing moves from the one before: the mean over its voices of the distance to the nearest
    voice of the previous one (semitones); for voicings of one size, matched voice by voice in order."""
    if len(previous) == len(voicing):
        return sum(abs(a - b) for a, b in zip(previous, voicing)) / len(voicing)
    return sum(min(abs(v - p) for p in previous) for v in voicing) / len(voicing)


def lead(previous: tuple[int, ...] | None, candidates: list[tuple[int, ...]]) -> tuple[int, ...]:
    """The candidate nearest the previous voicing (voice leading); with none before, the one lowest in the
    middle register (its lowest note nearest E3)."""
    if previous is None:
        return min(candidates, key=lambda v: (abs(v[0] - 52), v))
    return min(candidates, key=lambda v: (movement(previous, v), abs(v[0] - 52), v))


class Voicer:
    """Voices chord after chord, each led from the last (see the module docstring).

    Args:
        kind: "rootless", "shell" or "close".
        with_root: put the root under each voicing (no bass plays).
    Attributes:
        previous: the last voicing played (MIDI note numbers), or None.
    """

    def __init__(self, kind: str, with_root: bool = False):
        self.kind, self.with_root = kind, with_root
        self.previous: tuple[int, ...] | None = None
        self._cache: dict = {}

    def voice(self, chord) -> tuple[int, ...]:
        """The voicing of a chord, led from the previous one (which it becomes)."""
        if self.kind == "close":
            self.previous = tuple(chord.voicing)
            return self.previous
        key = (chord.symbol, chord.root, chord.pitch_classes)
        candidates = self._cache.get(key)
        if candidates is None:
            candidates = self._cache[key] = placements(chord, self.kind, self.with_root) or [tuple(chord.voicing)]
        self.previous = lead(self.previous, candidates)
        return self.previous
