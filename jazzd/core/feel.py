"""Feel: swing, accents and humanize, applied to notes when they are scheduled.

The improviser and the realizer think on a straight grid; feel moves a note's
onset and end within the beat (swing), shapes its velocity by where it falls
in the bar (accents) and adds a little randomness (humanize). `jazzd run` and
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
    """Swing, accents and humanize.

    Args:
        swing: share of the beat the first of two eighths takes, 0.5..0.75. Default 0.5.
        accent: velocity added on beat 1 (half on beat 3, a quarter taken off
            notes between beats), 0..40. Default 0.
        humanize_beats: largest random shift of an onset, in beats (0 = none).
        humanize_velocity: largest random change of a velocity (0 = none).
        beats_per_bar: bar length for the accents.
        rng: random generator for humanize (seed it for reproducible runs).
    Raises:
        ValueError: for settings out of range.
    """

    def __init__(self, swing: float = 0.5, accent: int = 0, humanize_beats: float = 0.0,
                 humanize_velocity: int = 0, beats_per_bar: int = 4, rng=None):
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

    def velocity(self, onset: float, velocity: int) -> int:
        """The velocity of a note starting at an onset (beats), accented by its place in the bar."""
        position = onset % self.beats_per_bar
        beat = int(round(position))
        if abs(position - beat) < 1e-6:
            share = STRONG_BEATS.get(beat % self.beats_per_bar, 0.0)
        else:
            share = OFFBEAT_SHARE
        return int(round(velocity + share * self.accent))

    def perform(self, note: Note) -> Note:
        """The note as played: swung onset and end, accented and humanized velocity, clamped to MIDI ranges."""
        onset = swing_beat(note.onset, self.swing) if self.swing != 0.5 else note.onset
        end = swing_beat(note.end, self.swing) if self.swing != 0.5 else note.end
        velocity = self.velocity(note.onset, note.velocity)
        if self.humanize_beats:
            shift = float(self.rng.uniform(-self.humanize_beats, self.humanize_beats))
            onset, end = onset + shift, end + shift
        if self.humanize_velocity:
            velocity += int(self.rng.integers(-self.humanize_velocity, self.humanize_velocity + 1))
        end = max(end, onset + 1e-3)
        return Note(max(0.0, onset), end - max(0.0, onset), note.pitch, min(127, max(1, velocity)))
