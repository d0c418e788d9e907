"""Dataset: held-out split by whole measures, and the course's training windows.

Bars whose number is HOLDOUT_PHASE modulo HOLDOUT_EVERY are held out (one bar in
five, spread over the piece, the same bars in every corpus cut from one file).
Training windows never contain a held-out value: they are cut from runs of
consecutive training bars.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from jazzd.corpus import Piece
from jazzd.vocab import Vocabulary

HOLDOUT_EVERY = 5
HOLDOUT_PHASE = 4


def is_held_out(bar_number: int) -> bool:
    """True for the bars kept out of training (one in HOLDOUT_EVERY)."""
    return bar_number % HOLDOUT_EVERY == HOLDOUT_PHASE


@dataclass(frozen=True)
class HeldOut:
    """One held-out bar: the values to predict, and the values just before it.

    context: up to Tx - len(target) values that precede the bar (fed, not scored).
    target: the bar's values (scored).
    """

    bar: int
    context: tuple[str, ...]
    target: tuple[str, ...]


@dataclass(frozen=True)
class Split:
    """Training runs (lists of values) and held-out bars of a corpus."""

    train_runs: list[list[str]]
    held_out: list[HeldOut]

    @property
    def n_train_values(self) -> int:
        return sum(len(r) for r in self.train_runs)

    @property
    def n_held_out_values(self) -> int:
        return sum(len(h.target) for h in self.held_out)


def split(pieces: Sequence[Piece], Tx: int) -> Split:
    """Split pieces into training runs and held-out bars.

    Args:
        pieces: the corpus.
        Tx: window length; bounds the context given to each held-out bar.
    Returns:
        A Split. A training run never crosses a held-out bar, a gap in the bar
        numbers, or the end of a piece.
    """
    train_runs: list[list[str]] = []
    held_out: list[HeldOut] = []
    for piece in pieces:
        for run in piece.runs():
            current: list[str] = []
            seen: list[str] = []
            for measure in run:
                if is_held_out(measure.number):
                    if current:
                        train_runs.append(current)
                    current = []
                    k = max(0, Tx - len(measure.values))
                    context = tuple(seen[-k:]) if k else ()
                    held_out.append(HeldOut(measure.number, context, tuple(measure.values)))
                else:
                    current.extend(measure.values)
                seen.extend(measure.values)
            if current:
                train_runs.append(current)
    return Split(train_runs, held_out)


def windows(runs: Sequence[Sequence[str]], vocab: Vocabulary, Tx: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut runs into the course's training windows.

    Every start position of every run gives one window of Tx values (a run
    shorter than Tx gives one window, zero-padded). Input step 0 is the zero
    vector and step t the one-hot of value t-1; the target at step t is value t.

    Args:
        runs: lists of value strings.
        vocab: the vocabulary that indexes them.
        Tx: window length in values.
    Returns:
        X of shape (m, Tx, n_values) and Y of shape (Ty=Tx, m, n_values), float32
        one-hot; padded steps are all-zero in both.
    Source: course data_utils.data_processing (random windows, X[:, 0] = 0).
    """
    starts = []
    for r, run in enumerate(runs):
        starts.extend((r, s) for s in range(max(1, len(run) - Tx + 1)))
    m = len(starts)
    X = np.zeros((m, Tx, vocab.n_values), dtype=np.float32)
    Y = np.zeros((Tx, m, vocab.n_values), dtype=np.float32)
    for i, (r, s) in enumerate(starts):
        idx = vocab.encode(runs[r][s : s + Tx])
        X[i, np.arange(1, len(idx)), idx[:-1]] = 1.0
        Y[np.arange(len(idx)), i, idx] = 1.0
    return X, Y
