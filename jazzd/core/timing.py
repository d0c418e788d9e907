"""Timing: where the players put a note around its grid point, learned from the corpus.

The grammar's values sit on a grid of 1/4 and 1/3 beats (jazzd.core.realizer.GRID),
so a solo played as the model writes it has every onset exactly on a 16th or a
triplet point. The players of the corpus do not: they push, lay back and swing,
and a tenth of their onsets fall between those points. The corpus keeps both
the grid onset of each note (where the grammar reads it) and the onset as the
file plays it; PlayedTiming keeps, for each of the 12 grid positions of a beat,
the quantiles of (played - grid) in beats, and draws an offset from them for
every note a solo plays (inverse transform sampling). Used by the feel
(jazzd.core.feel.Feel, `[feel] timing = "players"`) in `jazzd run` and
`jazzd generate`, and by `jazzd evaluate` for the generated solos.

Offsets are in beats, so a solo at another tempo keeps the players' timing
relative to the beat. Source: jazzd's (the quantile model is the empirical
distribution of the corpus's own timing deviations).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Iterable

import numpy as np

POSITIONS = 12  # grid positions per beat (jazzd.core.timeline.TICKS_PER_BEAT)
QUANTILES = 33  # per position: the 0, 1/32, ..., 1 quantiles
MAX_OFFSET_BEATS = 0.25  # a played onset farther than this from its grid note is not its timing
MIN_NOTES = 20  # a position with fewer notes in the corpus keeps the grid (offset 0)


def position_of(onset: float) -> int:
    """The grid position (0..11) of an onset within its beat (beats; the nearest twelfth)."""
    return int(round((onset - math.floor(onset)) * POSITIONS)) % POSITIONS


@dataclass(frozen=True)
class PlayedTiming:
    """The players' timing around the grid (see the module docstring).

    Args:
        quantiles: shape (POSITIONS, QUANTILES): per grid position, the quantiles of the
            played - grid offset in beats (all zeros where the corpus had too few notes).
    Raises:
        ValueError: for a wrong shape, values that are not finite or beyond MAX_OFFSET_BEATS,
            or quantiles that decrease.
    """

    quantiles: np.ndarray

    ARRAY = "timing/quantiles"

    def __post_init__(self):
        q = np.asarray(self.quantiles, dtype=np.float64)
        if q.shape != (POSITIONS, QUANTILES):
            raise ValueError(f"weight {self.ARRAY!r} has shape {q.shape}, expected {(POSITIONS, QUANTILES)}")
        if not np.isfinite(q).all() or np.abs(q).max(initial=0.0) > MAX_OFFSET_BEATS + 1e-6:
            raise ValueError(f"weight {self.ARRAY!r} holds offsets beyond ±{MAX_OFFSET_BEATS} beats")
        if (np.diff(q, axis=1) < -1e-9).any():
            raise ValueError(f"weight {self.ARRAY!r}: quantiles must not decrease")
        object.__setattr__(self, "quantiles", q)

    def offset(self, onset: float, rng: np.random.Generator) -> float:
        """An offset (beats) for a note whose grid onset is `onset` (beats): a draw from the players'."""
        row = self.quantiles[position_of(onset)]
        return float(np.interp(rng.random(), np.linspace(0.0, 1.0, QUANTILES), row))

    def arrays(self) -> dict[str, np.ndarray]:
        return {self.ARRAY: self.quantiles}

    @classmethod
    def from_arrays(cls, arrays: dict) -> "PlayedTiming | None":
        """The timing saved in a weights file, or None for a model saved without one."""
        if cls.ARRAY not in arrays:
            return None
        return cls(np.asarray(arrays[cls.ARRAY], dtype=np.float64))


def note_offsets(measures: Iterable) -> list[tuple[float, float]]:
    """(grid onset, played - grid offset) in beats for every pitched note of corpus measures.

    Each note's played onset is the nearest of its bar's played onsets (jazzd.pipeline.corpus.Measure.played);
    a note with none within MAX_OFFSET_BEATS is left out.
    """
    pairs = []
    for m in measures:
        played = sorted(m.played)
        if not played:
            continue
        for n in m.notes:
            if n.pitch is None:
                continue
            i = bisect.bisect_left(played, n.offset)
            near = min(played[max(0, i - 1):i + 1], key=lambda t: abs(t - n.offset))
            if abs(near - n.offset) <= MAX_OFFSET_BEATS:
                pairs.append((n.offset, near - n.offset))
    return pairs


def fit(pairs: Iterable[tuple[float, float]]) -> PlayedTiming:
    """The PlayedTiming of (grid onset, offset) pairs (see note_offsets), in beats."""
    by_position: list[list[float]] = [[] for _ in range(POSITIONS)]
    for onset, offset in pairs:
        by_position[position_of(onset)].append(offset)
    rows = np.zeros((POSITIONS, QUANTILES))
    for k, offsets in enumerate(by_position):
        if len(offsets) >= MIN_NOTES:
            rows[k] = np.quantile(np.asarray(offsets), np.linspace(0.0, 1.0, QUANTILES))
    return PlayedTiming(np.clip(rows, -MAX_OFFSET_BEATS, MAX_OFFSET_BEATS))
