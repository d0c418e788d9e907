"""Realizer: a grammar value over a chord, after a previous pitch -> a MIDI note.

Follows the course's post-processing (unparse_grammar, prune_grammar, prune_notes,
clean_up_notes; deepjazz grammar.py and qa.py), with these differences, each for
a reason a listener hears:

- Onsets stay on the beat grid: a note ends on the nearest 1/4- or 1/3-beat grid
  point (prune_grammar rounds each *duration* up or down at random, so onsets
  drift off the grid). A note is never shorter than one grid step, so no two
  notes share an onset (clean_up_notes's two checks).
- The interval bounds are folded into the configured pitch range: a window that
  lies wholly outside it is mirrored (the line turns round), a partial one clipped.
- A value without bounds (the first of a corpus bar) takes a tone of its type
  within a fifth of the previous pitch, not anywhere in the chord's voicing.
- "A" and "X" keep their meaning (approach tone, other tone); the course
  realizes both as chord tones.
- A note that would repeat the previous pitch becomes a rest (prune_notes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from jazzd.core.grammar import Value
from jazzd.core.harmony import Chord

GRID = (Fraction(1, 4), Fraction(1, 3))  # the beat subdivisions onsets may land on
TICKS_PER_BEAT = 12  # the timeline's unit: a quarter of a beat is 3 ticks, a third 4
GRID_TICKS = tuple(int(step * TICKS_PER_BEAT) for step in GRID)
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
FREE_REACH = 7  # semitones either side of the previous pitch for a value without bounds
GRID_POINTS = tuple(sorted({t for step in GRID_TICKS for t in range(0, TICKS_PER_BEAT, step)}))  # 0 3 4 6 8 9


def nearest_grid_tick(ticks: float) -> int:
    """The grid point (in ticks, TICKS_PER_BEAT a beat) nearest a time in ticks; the earlier one on a tie.

    The one rounding rule for the corpus (corpus.snap_to_grid) and the player's
    notes (phrase.quantize), so both give the same values.
    """
    beat = math.floor(ticks / TICKS_PER_BEAT) * TICKS_PER_BEAT
    candidates = [beat + p for p in GRID_POINTS] + [beat + TICKS_PER_BEAT]
    return min(candidates, key=lambda c: (abs(c - ticks), c))


@dataclass(frozen=True, slots=True)
class Note:
    """A realized note: onset and duration in beats, pitch as a MIDI note number.

    Raises:
        ValueError: for a duration <= 0, a pitch outside 0..127 or a velocity
            outside 1..127.
    """

    onset: float
    duration: float
    pitch: int  # 0..127; a rest is not a Note
    velocity: int = 80  # 1..127

    def __post_init__(self):
        if not self.duration > 0:
            raise ValueError(f"note duration must be > 0 beats, got {self.duration}")
        if not 0 <= self.pitch <= 127:
            raise ValueError(f"MIDI note number must be 0..127, got {self.pitch}")
        if not 1 <= self.velocity <= 127:
            raise ValueError(f"velocity must be 1..127, got {self.velocity}")

    @property
    def end(self) -> float:
        return self.onset + self.duration


def note_name(pitch: int) -> str:
    """Name of a MIDI note number with its octave, middle C (60) = "C4"."""
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def snap_end(onset: int, duration: float, allow_empty: bool = False) -> int:
    """The grid point nearest to onset + duration, after the onset, in ticks.

    Args:
        onset: start in ticks (TICKS_PER_BEAT a beat; on the grid).
        duration: wanted length in ticks (value.duration * TICKS_PER_BEAT).
        allow_empty: let the end fall on the onset (for a rest too short to keep).
    Returns:
        The end in ticks, a multiple of a quarter (3 ticks) or a third (4 ticks)
        of a beat; ties go to the earlier.
    Source: course qa.py prune_grammar (rounding to 0.25), on positions not lengths.
    """
    target = onset + duration
    best, best_key = None, None
    for step in GRID_TICKS:
        below = int(target // step) * step
        for c in (below, below + step, (onset // step + 1) * step):
            if c > onset or (allow_empty and c == onset):
                key = (abs(c - target), c)
                if best_key is None or key < best_key:
                    best, best_key = c, key
    if allow_empty and (abs(onset - target), onset) < best_key:
        best = onset
    return best


class Realizer:
    """Chooses pitches for values over chords, within a pitch range.

    Args:
        low: lowest MIDI note number to play. Default 52 (E3).
        high: highest MIDI note number. Default 81 (A5).
        velocity: MIDI velocity of every note, 1..127. Default 90.
        rng: numpy random generator (seed it for reproducible runs).
    Raises:
        ValueError: if the range is empty or outside 0..127, or it spans less
            than an octave (every pitch class must fit).
    """

    def __init__(self, low: int = 52, high: int = 81, velocity: int = 90, rng=None):
        if not 0 <= low < high <= 127 or high - low < 11:
            raise ValueError(f"pitch range must lie in 0..127 and span at least an octave, got {low}..{high}")
        if not 1 <= velocity <= 127:
            raise ValueError(f"velocity must be 1..127, got {velocity}")
        self.low, self.high, self.velocity = low, high, velocity
        self.rng = rng if rng is not None else np.random.default_rng()

    def _of_kind(self, kind: str, chord: Chord, lo: int, hi: int) -> list[int]:
        types = chord.types
        return [p for p in range(max(lo, self.low), min(hi, self.high) + 1) if types[p % 12] == kind]

    def pitch(self, value: Value, chord: Chord, previous: int | None) -> int | None:
        """The MIDI note number for a value over a chord, or None for a rest.

        Args:
            value: a grammar value.
            chord: the chord sounding at the value's onset.
            previous: the previous melody pitch, or None at the start.
        Returns:
            A MIDI note number in low..high, or None (a rest, or a repeated pitch).
        Source: deepjazz grammar.py unparse_grammar; qa.py prune_notes.
        """
        if value.is_rest:
            return None
        kind = value.kind
        if value.has_bounds and previous is not None:
            lo, hi = previous + value.lower, previous + value.upper
            if hi < self.low or lo > self.high:  # wholly out of range: turn the line round
                lo, hi = previous - value.upper, previous - value.lower
            candidates = self._of_kind(kind, chord, lo, hi)
            if len(candidates) > 1:
                candidates = [p for p in candidates if p != previous]
            if not candidates:  # course: no tone of the type in range -> a whole step away
                candidates = [p for p in (previous - 2, previous + 2) if self.low <= p <= self.high]
        else:
            centre = previous if previous is not None else (self.low + self.high) // 2
            candidates = self._of_kind(kind, chord, centre - FREE_REACH, centre + FREE_REACH)
            if len(candidates) > 1 and previous is not None:
                candidates = [p for p in candidates if p != previous]
            if not candidates:
                candidates = self._of_kind(kind, chord, self.low, self.high) or self._of_kind("C", chord, self.low, self.high)
        pitch = int(candidates[self.rng.integers(len(candidates))])
        return None if pitch == previous else pitch

    def realize(self, value: Value, chord: Chord, previous: int | None, onset: int) -> tuple[Note | None, int]:
        """Realize a value starting at an onset.

        Args:
            value: the grammar value.
            chord: the chord at the onset.
            previous: the previous melody pitch or None.
            onset: start in ticks (TICKS_PER_BEAT a beat), on the grid.
        Returns:
            (note or None for a rest, end in ticks on the grid). A rest shorter
            than half a grid step may end at its onset (it takes no time).
        """
        pitch = self.pitch(value, chord, previous)
        end = snap_end(onset, value.duration * TICKS_PER_BEAT, allow_empty=pitch is None)
        if pitch is None:
            return None, end
        return Note(onset / TICKS_PER_BEAT, (end - onset) / TICKS_PER_BEAT, pitch, self.velocity), end
