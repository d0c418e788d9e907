"""Feel: the players' timing, swing, accents and humanize, applied to notes when they are scheduled.

The improviser and the realizer think on a straight grid; feel moves a note
by where the corpus's players put a note at that grid position (timing, learned:
jazzd.core.timing), moves its onset and end within the beat (swing), shapes its
velocity by where it falls in the bar (accents) and adds a little randomness
(humanize). `jazzd run` and
`jazzd generate` both apply it, so a seed gives the same performance in both.
"""

from __future__ import annotations

import math

import numpy as np

from jazzd.core.timeline import Note

# Velocity added on each beat of a bar (index = beat within the bar), and on
# notes that start between beats.
STRONG_BEATS = {0: 1.0, 2: 0.5}  # share of `accent` on beats 1 and 3
OFFBEAT_SHARE = -0.25
MIN_GAP_BEATS = 1 / 48  # the players' timing keeps a note at least this far after the one before


def swing_beat(beat: float, swing: float) -> float:
    """Move a position within its beat so that the first of two eighths takes `swing` of the beat.

    Args:
        beat: position in beats.
        swing: 0.5 (straight) .. 0.75 (hard swing); 2/3 is the triplet feel.
    Returns:
        The swung position: a piecewise-linear warp of each beat that keeps the
        beat itself and maps its midpoint (the off-beat eighth) to `swing`.
    """
    whole = math.floor(beat + 1e-9)
    f = beat - whole
    if f < 0.5:
        return whole + f * 2 * swing
    return whole + swing + (f - 0.5) * 2 * (1 - swing)


class Feel:
    """The players' timing, swing, accents and humanize.

    Args:
        swing: share of the beat the first of two eighths takes, 0.5..0.75. Default 0.5.
        accent: velocity added on beat 1 (half on beat 3, a quarter taken off
            notes between beats), 0..40. Default 0.
        humanize_beats: largest random shift of an onset, in beats (0 = none).
        humanize_velocity: largest random change of a velocity (0 = none).
        beats_per_bar: bar length for the accents.
        rng: random generator for timing and humanize (seed it for reproducible runs).
        timing: the players' timing (jazzd.core.timing.PlayedTiming); None keeps every onset on the grid.
    Raises:
        ValueError: for settings out of range.
    """

    def __init__(self, swing: float = 0.5, accent: int = 0, humanize_beats: float = 0.0,
                 humanize_velocity: int = 0, beats_per_bar: int = 4, rng=None, timing=None):
        if not 0.5 <= swing <= 0.75:
            raise ValueError(f"swing must be 0.5..0.75, got {swing}")
        if not 0 <= accent <= 40 or humanize_beats < 0 or humanize_velocity < 0:
            raise ValueError("accent must be 0..40 and humanize amounts >= 0")
        self.swing = swing
        self.accent = accent
        self.humanize_beats = humanize_beats
        self.humanize_velocity = humanize_velocity
        self.beats_per_bar = beats_per_bar
        self.rng = rng if rng is not None else np.random.default_rng()
        self.timing = timing
        # the melody stays one line: a note starts after the one before it has ended (see perform)
        self._last_grid = -math.inf  # grid onset of the note performed before (beats)
        self._last_onset = -math.inf  # its performed onset and end (beats)
        self._last_end = -math.inf
        self._pending: tuple[int, float] | None = None  # (grid tick, offset) drawn for the last note's end

    def velocity(self, onset: float, velocity: int) -> int:
        """The velocity of a note starting at an onset (beats), accented by its place in the bar."""
        position = onset % self.beats_per_bar
        beat = int(round(position))
        if abs(position - beat) < 1e-6:
            share = STRONG_BEATS.get(beat % self.beats_per_bar, 0.0)
        else:
            share = OFFBEAT_SHARE
        return int(round(velocity + share * self.accent))

    def _offset(self, beat: float) -> float:
        """The players' offset (beats) at a grid point; the one drawn for the last note's end if it is that point,
        so a legato line stays legato while each note keeps its own timing."""
        tick = round(beat * 12)
        if self._pending is not None and self._pending[0] == tick:
            return self._pending[1]
        return self.timing.offset(beat, self.rng)

    def perform(self, note: Note, end_by: float | None = None) -> Note:
        """The note as played: the players' timing, swung onset and end, accented and humanized velocity.

        Notes are performed in order, as one melodic line: a note never starts before the note before it has
        ended (timing and humanize move notes, so a note pushed late could otherwise overlap the next; on one
        pitch a MIDI synth would cut the new note with the old note's note-off). A note earlier than the one
        before (a new timeline: a reset, a song position) starts the line afresh.

        Args:
            note: the note on the grid (onset and duration in beats).
            end_by: the played note ends by this beat (the end of the bars asked for, a trade answer's end).
        Returns:
            The performed Note, velocity clamped to 1..127 and onset to >= 0.
        """
        if note.onset < self._last_grid:
            self._last_onset = self._last_end = -math.inf
            self._pending = None
        self._last_grid = note.onset
        onset = swing_beat(note.onset, self.swing) if self.swing != 0.5 else note.onset
        end = swing_beat(note.end, self.swing) if self.swing != 0.5 else note.end
        velocity = self.velocity(note.onset, note.velocity)
        if self.timing is not None:
            grid_onset, grid_end = onset, end
            onset += max(self._offset(note.onset), self._last_onset + MIN_GAP_BEATS - onset)
            end = max(grid_end + self.timing.offset(note.end, self.rng), onset + (grid_end - grid_onset) / 2)
            self._pending = (round(note.end * 12), end - grid_end)  # keeps at least half the note's length
        if self.humanize_beats:
            shift = float(self.rng.uniform(-self.humanize_beats, self.humanize_beats))
            onset, end = onset + shift, end + shift
        if self.humanize_velocity:
            velocity += int(self.rng.integers(-self.humanize_velocity, self.humanize_velocity + 1))
        if end_by is not None:
            end = min(end, end_by)
            onset = min(onset, end_by - MIN_GAP_BEATS)
        if self._last_end > onset + 1e-9:  # (a float's rounding is no overlap)
            onset = self._last_end
        onset = max(onset, 0.0)
        end = max(end, onset + 1e-3)
        self._last_onset, self._last_end = onset, end
        return Note(onset, end - onset, note.pitch, min(127, max(1, velocity)))
