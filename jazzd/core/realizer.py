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

import numpy as np

from jazzd.core.grammar import Value
from jazzd.core.harmony import Chord
from jazzd.core.timeline import TICKS_PER_BEAT, Note, snap_end

FREE_REACH = 7  # semitones either side of the previous pitch for a value without bounds


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

    def fold(self, pitch: int) -> int:
        """A pitch moved by octaves into low..high (a player's note or a saved pitch may lie anywhere in 0..127)."""
        while pitch < self.low:
            pitch += 12
        while pitch > self.high:
            pitch -= 12
        return pitch

    def pitch(self, value: Value, chord: Chord, previous: int | None) -> int | None:
        """The MIDI note number for a value over a chord, or None for a rest.

        Args:
            value: a grammar value.
            chord: the chord sounding at the value's onset.
            previous: the previous melody pitch (any MIDI note number; one outside
                the range counts from its octave inside it), or None at the start.
        Returns:
            A MIDI note number in low..high, or None (a rest, or a repeated pitch).
        Source: deepjazz grammar.py unparse_grammar; qa.py prune_notes.
        """
        if value.is_rest:
            return None
        kind = value.kind
        if previous is not None:
            previous = self.fold(int(previous))
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
            candidates = (self._of_kind(kind, chord, self.low, self.high) or self._of_kind("C", chord, self.low, self.high)
                          or list(range(self.low, self.high + 1)))
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
