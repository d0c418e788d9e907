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
  near the previous pitch, not anywhere in the chord's voicing.
- "A" and "X" keep their meaning (approach tone, other tone); the course
  realizes both as chord tones.
- Which of the fitting pitches sounds is drawn from the model's learned
  PitchChoice (jazzd.core.pitch_choice: interval, register, direction, as the
  corpus plays them; repeated notes too). A model saved without one draws
  uniformly, and a note that would repeat the previous pitch becomes a rest
  (the course's prune_notes).
"""

from __future__ import annotations

import numpy as np

from jazzd.core import pitch_choice
from jazzd.core.grammar import Value
from jazzd.core.harmony import Chord
from jazzd.core.timeline import TICKS_PER_BEAT, Note, snap_end

FREE_REACH = 7  # semitones either side of the previous pitch for a value without bounds (uniform draw)


class Realizer:
    """Chooses pitches for values over chords, within a pitch range.

    Args:
        low: lowest MIDI note number to play. Default 52 (E3).
        high: highest MIDI note number. Default 81 (A5).
        velocity: MIDI velocity of every note, 1..127. Default 90.
        rng: numpy random generator (seed it for reproducible runs).
        choice: the model's learned PitchChoice, or None for a uniform draw (the course's).
    Raises:
        ValueError: if the range is empty or outside 0..127, or it spans less
            than an octave (every pitch class must fit).
    """

    def __init__(self, low: int = 52, high: int = 81, velocity: int = 90, rng=None, choice=None):
        if not 0 <= low < high <= 127 or high - low < 11:
            raise ValueError(f"pitch range must lie in 0..127 and span at least an octave, got {low}..{high}")
        if not 1 <= velocity <= 127:
            raise ValueError(f"velocity must be 1..127, got {velocity}")
        self.low, self.high, self.velocity = low, high, velocity
        self.rng = rng if rng is not None else np.random.default_rng()
        self.choice: pitch_choice.PitchChoice | None = choice

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

    def candidates(self, value: Value, chord: Chord, previous: int | None) -> list[int]:
        """The pitches in low..high a pitched value may become after a previous pitch (folded into the range).

        Bounded: the tones of the value's type within its window from the previous pitch (mirrored when
        the window lies wholly outside the range), else a whole step away (the course's fallback).
        Unbounded: the tones of its type near the previous pitch (or the middle of the range).
        Never empty: the type anywhere in range, a chord tone, any pitch in range, in that order.
        """
        kind = value.kind
        learned = self.choice is not None
        if previous is not None:
            previous = self.fold(int(previous))
        if value.has_bounds and previous is not None:
            lo, hi = previous + value.lower, previous + value.upper
            if hi < self.low or lo > self.high:  # wholly out of range: turn the line round
                lo, hi = previous - value.upper, previous - value.lower
            found = self._of_kind(kind, chord, lo, hi)
            if len(found) > 1 and not learned:
                found = [p for p in found if p != previous]
            if not found:  # course: no tone of the type in range -> a whole step away
                found = [p for p in (previous - 2, previous + 2) if self.low <= p <= self.high]
        else:
            reach = pitch_choice.FREE_REACH if learned else FREE_REACH
            centre = previous if previous is not None else (self.low + self.high) // 2
            found = self._of_kind(kind, chord, centre - reach, centre + reach)
            if len(found) > 1 and previous is not None and not learned:
                found = [p for p in found if p != previous]
        if not found:
            found = (self._of_kind(kind, chord, self.low, self.high) or self._of_kind("C", chord, self.low, self.high)
                     or list(range(self.low, self.high + 1)))
        return found

    def distribution(self, value: Value, chord: Chord, previous: int | None,
                     previous_interval: int | None = None, history=()) -> tuple[list[int], np.ndarray]:
        """The candidates of a pitched value and the probability of each (see candidates, PitchChoice;
        `history`: the line's recent pitches, oldest first)."""
        found = self.candidates(value, chord, previous)
        if self.choice is None:
            return found, np.full(len(found), 1.0 / len(found))
        if previous is None:
            weights = self.choice.pitch[np.asarray(found)]
            e = np.exp(weights - weights.max())
            return found, e / e.sum()
        return found, self.choice.probabilities(found, self.fold(int(previous)), previous_interval, history)

    def pitch(self, value: Value, chord: Chord, previous: int | None,
              previous_interval: int | None = None, history=()) -> int | None:
        """The MIDI note number for a value over a chord, or None for a rest.

        Args:
            value: a grammar value.
            chord: the chord sounding at the value's onset.
            previous: the previous melody pitch (any MIDI note number; one outside
                the range counts from its octave inside it), or None at the start.
            previous_interval: the interval (semitones) into the previous pitch, for the learned choice.
            history: the line's recent pitches (MIDI note numbers, oldest first), for the learned choice.
        Returns:
            A MIDI note number in low..high, or None (a rest; without a learned choice, also a repeated pitch).
        Source: deepjazz grammar.py unparse_grammar; qa.py prune_notes.
        """
        if value.is_rest:
            return None
        found, probs = self.distribution(value, chord, previous, previous_interval, history)
        if len(found) == 1 and self.choice is not None:
            pitch = int(found[0])
        elif self.choice is None:
            pitch = int(found[self.rng.integers(len(found))])  # the uniform draw (the same stream as before)
        else:
            pitch = int(found[min(int(np.searchsorted(np.cumsum(probs), self.rng.random(), "right")), len(found) - 1)])
        if self.choice is None and previous is not None and pitch == self.fold(int(previous)):
            return None
        return pitch

    def realize(self, value: Value, chord: Chord, previous: int | None, onset: int,
                previous_interval: int | None = None, history=()) -> tuple[Note | None, int]:
        """Realize a value starting at an onset.

        Args:
            value: the grammar value.
            chord: the chord at the onset.
            previous: the previous melody pitch or None.
            onset: start in ticks (TICKS_PER_BEAT a beat), on the grid.
            previous_interval, history: the interval into the previous pitch, the line's recent pitches (see pitch).
        Returns:
            (note or None for a rest, end in ticks on the grid). A rest shorter
            than half a grid step may end at its onset (it takes no time).
        """
        pitch = self.pitch(value, chord, previous, previous_interval, history)
        end = snap_end(onset, value.duration * TICKS_PER_BEAT, allow_empty=pitch is None)
        if pitch is None:
            return None, end
        return Note(onset / TICKS_PER_BEAT, (end - onset) / TICKS_PER_BEAT, pitch, self.velocity), end
