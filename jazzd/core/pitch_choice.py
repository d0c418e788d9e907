"""Which pitch a value becomes: a choice among the candidates the grammar allows, learned from the corpus.

A value names a type (chord, scale, approach or other tone) and, after the first
note of a bar, a window of intervals from the previous pitch; several pitches of
that type usually fit. The course (and jazzd before this) draws one at random,
so a solo's leaps and range come from the grammar's slack, not from the players.
PitchChoice scores each candidate with a log-linear model of four things the
corpus shows (a conditional logit, fitted by maximum likelihood):

- the interval from the previous pitch (-24..24 semitones; repeats included),
- the register (the MIDI note number),
- the direction against the interval before (on in the same direction, turning
  back, or repeating),
- how many notes ago the line last played the candidate's pitch class (1, 2,
  3-4, 5-8, 9-16, or not in the last 16): players come back to the pitch
  classes they have just used, which keeps a phrase's pitch-class entropy (H4)
  like theirs, where a walk that only knows the previous pitch spreads over all twelve,

and the realizer draws from the resulting distribution. With the value's own
probability from the LSTM this gives the probability of each exact note (pitch
and duration), the figure MINGUS and BebopNet report.

Source: McFadden's conditional logit (1974) over the realizer's candidate set;
the features are jazzd's.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass

import numpy as np

MAX_INTERVAL = 24  # semitones either way; wider leaps count as this
FREE_REACH = 12  # semitones either side of the previous pitch for a value without bounds
DIRECTIONS = ("on", "back", "repeat")
RECENT = 16  # notes of the line the recency feature looks back over
RECENT_BUCKETS = (1, 2, 4, 8, 16)  # upper ends of the notes-ago buckets; one more bucket: not among them


def direction(interval: int, previous_interval: int | None) -> int | None:
    """0 = on in the direction of the interval before, 1 = back against it, 2 = a repeat; None if unknown."""
    if interval == 0:
        return 2
    if previous_interval is None or previous_interval == 0:
        return None
    return 0 if (interval > 0) == (previous_interval > 0) else 1


def _buckets_by_pitch_class(history) -> dict[int, int]:
    """Pitch class -> the bucket of how many notes ago `history` (oldest first) last played it (see recency);
    a pitch class not in the last RECENT notes is absent (bucket len(RECENT_BUCKETS))."""
    ago: dict[int, int] = {}
    for k, pitch in enumerate(reversed(list(history)[-RECENT:]), start=1):
        ago.setdefault(int(pitch) % 12, k)
    return {pc: bisect.bisect_left(RECENT_BUCKETS, k) for pc, k in ago.items()}


def recency(candidates, history) -> np.ndarray:
    """Per candidate (MIDI note numbers), the bucket (0..len(RECENT_BUCKETS)) of how many notes ago `history`
    (the line's pitches, oldest first) last played its pitch class; the last bucket: not in the last RECENT."""
    buckets = _buckets_by_pitch_class(history)
    return np.array([buckets.get(int(p) % 12, len(RECENT_BUCKETS)) for p in candidates], dtype=np.int64)


@dataclass(frozen=True)
class PitchChoice:
    """Learned preferences among candidate pitches (see the module docstring).

    Args:
        interval: weight per interval -MAX_INTERVAL..MAX_INTERVAL, shape (2 * MAX_INTERVAL + 1,).
        pitch: weight per MIDI note number, shape (128,).
        turn: weight per direction (DIRECTIONS), shape (3,).
        recent: weight per notes-ago bucket of the candidate's pitch class (see recency),
            shape (len(RECENT_BUCKETS) + 1,); None (a model saved before it): zeros.
    Raises:
        ValueError: for an array of the wrong shape (named by its key in weights.npz).
    """

    interval: np.ndarray
    pitch: np.ndarray
    turn: np.ndarray
    recent: np.ndarray | None = None

    ARRAYS = ("realizer/interval", "realizer/pitch", "realizer/turn", "realizer/recent")

    def __post_init__(self):
        if self.recent is None:
            object.__setattr__(self, "recent", np.zeros(len(RECENT_BUCKETS) + 1))
        for name, array, shape in zip(self.ARRAYS, (self.interval, self.pitch, self.turn, self.recent),
                                      ((2 * MAX_INTERVAL + 1,), (128,), (len(DIRECTIONS),),
                                       (len(RECENT_BUCKETS) + 1,))):
            if np.shape(array) != shape:
                raise ValueError(f"{name} must have shape {shape}, got {np.shape(array)}")

    @functools.cached_property
    def _lists(self) -> tuple[list[float], list[float], list[float], list[float]]:
        return self.interval.tolist(), self.pitch.tolist(), self.turn.tolist(), self.recent.tolist()

    def scores(self, candidates, previous: int, previous_interval: int | None, history=()) -> np.ndarray:
        """Log-weights of candidate pitches (MIDI note numbers) after a previous pitch and the line's
        recent pitches (`history`, oldest first)."""
        # plain Python: a value has a handful of candidates, too few for numpy's per-call cost (the live path)
        interval, pitch, turn, recent = self._lists
        buckets = _buckets_by_pitch_class(history)
        up = None if not previous_interval else previous_interval > 0
        out = []
        for candidate in candidates:
            candidate = int(candidate)
            step = min(max(candidate - previous, -MAX_INTERVAL), MAX_INTERVAL)
            score = (interval[step + MAX_INTERVAL] + pitch[candidate]
                     + recent[buckets.get(candidate % 12, len(RECENT_BUCKETS))])
            if step == 0:
                score += turn[2]
            elif up is not None:
                score += turn[0] if (step > 0) == up else turn[1]
            out.append(score)
        return np.array(out, dtype=np.float64)

    def probabilities(self, candidates, previous: int, previous_interval: int | None, history=()) -> np.ndarray:
        """The distribution over candidates (sums to 1)."""
        score = self.scores(candidates, previous, previous_interval, history)
        e = np.exp(score - score.max())
        return e / e.sum()

    def arrays(self) -> dict[str, np.ndarray]:
        return dict(zip(self.ARRAYS, (self.interval, self.pitch, self.turn, self.recent)))

    @classmethod
    def from_arrays(cls, arrays: dict) -> "PitchChoice | None":
        """The choice saved in a weights file, or None for a model saved without one (a uniform draw);
        a model saved before the recency weights has them at zero."""
        if not all(name in arrays for name in cls.ARRAYS[:3]):
            return None
        return cls(*(np.asarray(arrays[name], dtype=np.float64) if name in arrays else None for name in cls.ARRAYS))

    @classmethod
    def uniform(cls) -> "PitchChoice":
        return cls(np.zeros(2 * MAX_INTERVAL + 1), np.zeros(128), np.zeros(len(DIRECTIONS)))


def fit(examples, iterations: int = 300, learning_rate: float = 0.05, l2: float = 1e-3) -> PitchChoice:
    """Fit a PitchChoice by maximum likelihood (Adam on the conditional logit's negative log-likelihood).

    Args:
        examples: (candidates, chosen index into candidates, previous pitch, previous interval or None[,
            the line's recent pitches, oldest first]).
        iterations: gradient steps over all examples.
        learning_rate: Adam's step size.
        l2: weight decay, keeps rare intervals and registers near 0.
    Returns:
        The fitted PitchChoice (uniform when there are no examples).
    """
    rows, groups, chosen = [], [], []
    for g, (candidates, index, previous, previous_interval, *rest) in enumerate(examples):
        if len(candidates) < 2:
            continue
        start = len(rows)
        buckets = recency(candidates, rest[0] if rest else ())
        for p, bucket in zip(candidates, buckets):
            step = int(np.clip(p - previous, -MAX_INTERVAL, MAX_INTERVAL))
            d = direction(p - previous, previous_interval)
            rows.append((step + MAX_INTERVAL, int(p), -1 if d is None else d, int(bucket)))
        groups.append((start, len(rows)))
        chosen.append(start + index)
    if not groups:
        return PitchChoice.uniform()
    rows = np.array(rows, dtype=np.int64)
    group_of = np.repeat(np.arange(len(groups)), [b - a for a, b in groups])
    chosen = np.array(chosen)
    params = [np.zeros(2 * MAX_INTERVAL + 1), np.zeros(128), np.zeros(len(DIRECTIONS)), np.zeros(len(RECENT_BUCKETS) + 1)]
    moments = [[np.zeros_like(p), np.zeros_like(p)] for p in params]
    has_dir = rows[:, 2] >= 0
    dirs = np.where(has_dir, rows[:, 2], 0)
    n = len(groups)
    for t in range(1, iterations + 1):
        score = (params[0][rows[:, 0]] + params[1][rows[:, 1]] + np.where(has_dir, params[2][dirs], 0.0)
                 + params[3][rows[:, 3]])
        top = np.full(n, -np.inf)
        np.maximum.at(top, group_of, score)
        e = np.exp(score - top[group_of])
        total = np.zeros(n)
        np.add.at(total, group_of, e)
        prob = e / total[group_of]
        weight = prob.copy()
        weight[chosen] -= 1.0  # d(-log likelihood)/d(score) = softmax - one-hot
        grads = [np.zeros_like(p) for p in params]
        np.add.at(grads[0], rows[:, 0], weight)
        np.add.at(grads[1], rows[:, 1], weight)
        np.add.at(grads[2], dirs[has_dir], weight[has_dir])
        np.add.at(grads[3], rows[:, 3], weight)
        for p, g, m in zip(params, grads, moments):
            g = g / n + l2 * p
            m[0] = 0.9 * m[0] + 0.1 * g
            m[1] = 0.999 * m[1] + 0.001 * g * g
            p -= learning_rate * (m[0] / (1 - 0.9 ** t)) / (np.sqrt(m[1] / (1 - 0.999 ** t)) + 1e-8)
    return PitchChoice(*params)
