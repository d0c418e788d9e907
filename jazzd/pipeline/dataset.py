"""Dataset: held-out split by whole measures, and the course's training windows.

Bars are grouped in blocks of HOLDOUT_BLOCK consecutive bar numbers; the blocks
at HOLDOUT_PHASE modulo HOLDOUT_EVERY are held out (one bar in five, spread over
every piece in 4-bar phrases, the same bars in every corpus cut from one file).
With validation on, the blocks at VALIDATION_PHASE are kept out of training
too: Keras watches their loss to stop early, and the held-out bars stay unseen.
Blocks rather than single bars leave training runs of 8-12 bars, longer than a
window (Tx = 30 values is 3-4 bars of eighths), so most windows are whole.
Training windows never contain a held-out or validation value: they are cut
from runs of consecutive training bars.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from jazzd.pipeline.corpus import Piece
from jazzd.core.vocab import Vocabulary

HOLDOUT_EVERY = 5
HOLDOUT_PHASE = 4
VALIDATION_PHASE = 2
HOLDOUT_BLOCK = 4  # bars


def block_phase(bar_number: int) -> int:
    """Which of the HOLDOUT_EVERY phases a bar's block is in."""
    return (bar_number // HOLDOUT_BLOCK) % HOLDOUT_EVERY


def is_held_out(bar_number: int) -> bool:
    """True for the bars kept out of training (one block in HOLDOUT_EVERY)."""
    return block_phase(bar_number) == HOLDOUT_PHASE


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
    """Training runs (lists of values), validation runs and held-out bars of a corpus."""

    train_runs: list[list[str]]
    held_out: list[HeldOut]
    validation_runs: list[list[str]] = ()

    @property
    def n_train_values(self) -> int:
        return sum(len(r) for r in self.train_runs)

    @property
    def n_held_out_values(self) -> int:
        return sum(len(h.target) for h in self.held_out)


def split(pieces: Sequence[Piece], Tx: int, validation: bool = False) -> Split:
    """Split pieces into training runs, validation runs and held-out bars.

    Args:
        pieces: the corpus.
        Tx: window length; bounds the context given to each held-out bar.
        validation: also keep the bars at VALIDATION_PHASE out of training, as
            validation runs (each with up to Tx - 1 values of context before it).
    Returns:
        A Split. A training run never crosses a held-out or validation bar, a
        gap in the bar numbers, or the end of a piece.
    """
    train_runs: list[list[str]] = []
    validation_runs: list[list[str]] = []
    held_out: list[HeldOut] = []
    for piece in pieces:
        for run in piece.runs():
            current: list[str] = []
            seen: list[str] = []
            for measure in run:
                kept_out = is_held_out(measure.number) or (
                    validation and block_phase(measure.number) == VALIDATION_PHASE)
                if kept_out:
                    if current:
                        train_runs.append(current)
                    current = []
                    k = max(0, Tx - len(measure.values))
                    context = tuple(seen[-k:]) if k else ()
                    if is_held_out(measure.number):
                        held_out.append(HeldOut(measure.number, context, tuple(measure.values)))
                    else:
                        validation_runs.append(list(context) + list(measure.values))
                else:
                    current.extend(measure.values)
                seen.extend(measure.values)
            if current:
                train_runs.append(current)
    return Split(train_runs, held_out, validation_runs)


@dataclass(frozen=True)
class Windows:
    """The course's training windows over an encoded corpus, cut when read (never all held at once).

    Args:
        flat: the runs' value indices, one after another, int32 of shape (N,); a run
            shorter than Tx is followed by -1 up to Tx (the padding of its one window).
        starts: where each window begins in flat, int64 of shape (m,).
        Tx: window length in values.
    """

    flat: np.ndarray
    starts: np.ndarray
    Tx: int

    @property
    def m(self) -> int:
        return int(self.starts.shape[0])

    def array(self) -> np.ndarray:
        """Every window at once, int32 (m, Tx), -1 padding (for small corpora and tests)."""
        if not self.m:
            return np.zeros((0, self.Tx), np.int32)
        return self.flat[self.starts[:, None] + np.arange(self.Tx)[None, :]]


def windows_of(runs: Sequence[Sequence[str]], vocab: Vocabulary, Tx: int, stride: int = 1) -> Windows:
    """The windows of runs of values: every start of every run (every stride-th), a short run padded.

    Args:
        runs: lists of value strings.
        vocab: the vocabulary that indexes them.
        Tx: window length in values.
        stride: values between window starts. Default 1 (every window).
    Returns:
        Windows; their array() is windows()'s one-hot X and Y as indices:
        X[:, t] is the one-hot of column t-1 (zeros at t = 0), Y[t] of column t.
    """
    pieces, starts, at = [], [], 0
    for run in runs:
        idx = vocab.encode(run).astype(np.int32)
        if not len(idx):
            continue
        if len(idx) < Tx:
            idx = np.concatenate([idx, np.full(Tx - len(idx), -1, np.int32)])
            starts.append(np.array([at]))
        else:
            starts.append(at + np.arange(0, len(idx) - Tx + 1, stride))
        pieces.append(idx)
        at += len(idx)
    flat = np.concatenate(pieces).astype(np.int32) if pieces else np.zeros(0, np.int32)
    return Windows(flat, np.concatenate(starts).astype(np.int64) if starts else np.zeros(0, np.int64), Tx)


def window_indices(runs: Sequence[Sequence[str]], vocab: Vocabulary, Tx: int, stride: int = 1) -> np.ndarray:
    """windows_of(...).array(): the windows as one int32 array (m, Tx), -1 padding."""
    return windows_of(runs, vocab, Tx, stride).array()


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
