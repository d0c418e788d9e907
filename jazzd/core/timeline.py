"""The timeline: the beat grid values live on, and a realized note.

Onsets and durations are counted in beats (quarter notes). Grammar values land
on a grid of quarters and thirds of a beat, so the timeline's unit is a tick of
1/12 beat: a quarter of a beat is 3 ticks, a third 4. The corpus (snapping
played notes), the realizer (ending a value) and the player's phrases
(quantizing what was played) all use the rounding rules below.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from fractions import Fraction

from jazzd.core.midi import NOTE_NUMBERS, VELOCITIES

GRID = (Fraction(1, 4), Fraction(1, 3))  # the beat subdivisions onsets may land on
TICKS_PER_BEAT = 12
GRID_TICKS = tuple(int(step * TICKS_PER_BEAT) for step in GRID)  # (3, 4)
GRID_POINTS = tuple(sorted({t for step in GRID_TICKS for t in range(0, TICKS_PER_BEAT, step)}))  # 0 3 4 6 8 9
_GRID_AND_NEXT_BEAT = (*GRID_POINTS, TICKS_PER_BEAT)
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def nearest_grid_tick(ticks: float) -> int:
    """The grid point (in ticks) nearest a time in ticks; the earlier one on a tie.

    The one rounding rule for the corpus (pipeline.corpus.snap_to_grid) and the
    player's notes (live.phrase.quantize), so both give the same values.
    """
    beat = math.floor(ticks / TICKS_PER_BEAT) * TICKS_PER_BEAT
    within = ticks - beat  # exact: both lie within a beat of each other
    i = bisect.bisect_left(_GRID_AND_NEXT_BEAT, within)
    if i == 0:
        return int(beat)
    below, above = _GRID_AND_NEXT_BEAT[i - 1], _GRID_AND_NEXT_BEAT[min(i, len(_GRID_AND_NEXT_BEAT) - 1)]
    return int(beat + (below if within - below <= above - within else above))


def snap_end(onset: int, duration: float, allow_empty: bool = False) -> int:
    """The grid point nearest to onset + duration, after the onset, in ticks.

    Args:
        onset: start in ticks (on the grid).
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


@dataclass(frozen=True, slots=True)
class Note:
    """A realized note: onset and duration in beats, pitch as a MIDI note number.

    Raises:
        ValueError: for a duration <= 0 or not finite, a pitch outside 0..127
            or a velocity outside 1..127.
    """

    onset: float
    duration: float
    pitch: int  # 0..127; a rest is not a Note
    velocity: int = 80  # 1..127

    def __post_init__(self):
        if not (self.duration > 0 and math.isfinite(self.duration) and math.isfinite(self.onset)):
            raise ValueError(f"note onset must be finite and duration > 0 beats, got {self.onset}, {self.duration}")
        if self.pitch not in NOTE_NUMBERS:
            raise ValueError(f"MIDI note number must be 0..127, got {self.pitch}")
        if self.velocity not in VELOCITIES:
            raise ValueError(f"velocity must be 1..127, got {self.velocity}")

    @property
    def end(self) -> float:
        return self.onset + self.duration


def note_name(pitch: int) -> str:
    """Name of a MIDI note number with its octave, middle C (60) = "C4"."""
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"
