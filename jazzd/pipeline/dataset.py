"""Dataset: the held-out split, the values' contexts, and the course's training windows.

Held out for testing: in a corpus of SOLO_HOLDOUT_MIN_FILES files or more, whole
solos (one file in HOLDOUT_SOLOS_EVERY, chosen by its SHA-256, so the same on
every machine): the model is then scored on solos it never saw a bar of, as
MINGUS and BebopNet are. In a smaller corpus (one piece, as the course's),
bars grouped in blocks of HOLDOUT_BLOCK consecutive bar numbers, the blocks at
HOLDOUT_PHASE modulo HOLDOUT_EVERY. With validation on, the blocks at
VALIDATION_PHASE (of the solos trained on) are kept out too: their loss stops
training early. Blocks rather than single bars leave training runs of 8-12 bars,
longer than a window (Tx = 30 values is 3-4 bars of eighths). Training windows
never contain a held-out or validation value: they are cut from runs of
consecutive training bars.

Each value can carry its context (jazzd.core.conditioning): where in its bar it
starts and the chords there, read from the corpus with the same code that
computes it live.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from jazzd.core import conditioning
from jazzd.core.harmony import chord_of
from jazzd.core.vocab import Vocabulary
from jazzd.pipeline.corpus import Piece

HOLDOUT_EVERY = 5
HOLDOUT_PHASE = 4
VALIDATION_PHASE = 2
HOLDOUT_BLOCK = 4  # bars
SOLO_HOLDOUT_MIN_FILES = 20
HOLDOUT_SOLOS_EVERY = 10


def block_phase(bar_number: int) -> int:
    """Which of the HOLDOUT_EVERY phases a bar's block is in."""
    return (bar_number // HOLDOUT_BLOCK) % HOLDOUT_EVERY


def is_held_out(bar_number: int) -> bool:
    """True for the bars kept out of training in a corpus split by blocks (one block in HOLDOUT_EVERY)."""
    return block_phase(bar_number) == HOLDOUT_PHASE


def is_held_out_solo(piece: Piece) -> bool:
    """True for the solos kept out of training in a corpus split by solos (one in HOLDOUT_SOLOS_EVERY, by SHA-256)."""
    return int(piece.sha256[:12], 16) % HOLDOUT_SOLOS_EVERY == 0


def split_by_solos(pieces: Sequence[Piece]) -> bool:
    """Whether a corpus holds out whole solos (SOLO_HOLDOUT_MIN_FILES files or more) or blocks of bars."""
    return len(pieces) >= SOLO_HOLDOUT_MIN_FILES


def piece_contexts(piece: Piece) -> list[list[tuple[int, ...]]]:
    """The context (jazzd.core.conditioning.context) of every value of a piece, measure by measure.

    Each value starts where its note or rest of the measure's timeline starts; the chords and the
    next change come from the piece's chord changes (across its measures).
    """
    changes: list[tuple[float, object]] = []
    for m in piece.measures:
        for offset, pitches, figure in m.chords:
            chord = chord_of(tuple(pitches), figure)
            if not changes or chord != changes[-1][1]:
                changes.append((offset, chord))
    starts = [o for o, _ in changes]
    result = []
    for m in piece.measures:
        contexts = []
        for note in m.notes:
            i = max(0, _last_at_or_before(starts, note.offset))
            chord = changes[i][1]
            if i + 1 < len(changes):
                change, following = changes[i + 1]
            else:
                change, following = math.inf, chord
            contexts.append(conditioning.context(note.offset - m.offset, m.number - 1, chord, following,
                                                 change - note.offset))
        result.append(contexts[:len(m.values)])
    return result


def _last_at_or_before(starts: list[float], beat: float) -> int:
    import bisect

    return bisect.bisect_right(starts, beat + 1e-9) - 1


@dataclass(frozen=True)
class HeldOut:
    """One held-out bar: the values to predict, and the values just before it.

    context: up to Tx - len(target) values that precede the bar (fed, not scored).
    target: the bar's values (scored).
    contexts: the conditioning context of each of context + target (empty when not computed).
    piece: the file the bar is from. notes: the bar's notes (for the note probabilities).
    """

    bar: int
    context: tuple[str, ...]
    target: tuple[str, ...]
    contexts: tuple[tuple[int, ...], ...] = ()
    piece: str = ""
    measure: object = field(default=None, compare=False)


@dataclass(frozen=True)
class Split:
    """Training runs (lists of values), validation runs and held-out bars of a corpus, with their contexts
    (train_contexts, validation_contexts: one tuple per value, when computed)."""

    train_runs: list[list[str]]
    held_out: list[HeldOut]
    validation_runs: list[list[str]] = ()
    train_contexts: list[list[tuple[int, ...]]] = ()
    validation_contexts: list[list[tuple[int, ...]]] = ()
    by_solos: bool = False
    held_out_pieces: tuple = ()
    seen_measure_runs: list = ()  # runs of the measures not held out (training and validation), for the pitch choice

    @property
    def n_train_values(self) -> int:
        return sum(len(r) for r in self.train_runs)

    @property
    def n_held_out_values(self) -> int:
        return sum(len(h.target) for h in self.held_out)


def split(pieces: Sequence[Piece], Tx: int, validation: bool = False, contexts: bool = False) -> Split:
    """Split pieces into training runs, validation runs and held-out bars (see the module docstring).

    Args:
        pieces: the corpus.
        Tx: window length; bounds the context given to each held-out bar.
        validation: also keep the bars at VALIDATION_PHASE out of training, as
            validation runs (each with up to Tx - 1 values of context before it).
        contexts: compute each value's conditioning context too.
    Returns:
        A Split. A training run never crosses a held-out or validation bar, a
        gap in the bar numbers, or the end of a piece.
    """
    by_solos = split_by_solos(pieces)
    train_runs, validation_runs, held_out = [], [], []
    train_contexts, validation_contexts = [], []
    held_out_pieces, seen_measure_runs = [], []
    for piece in pieces:
        solo_out = by_solos and is_held_out_solo(piece)
        if solo_out:
            held_out_pieces.append(piece)
        measure_contexts = piece_contexts(piece) if contexts else None
        index_of = {id(m): i for i, m in enumerate(piece.measures)}
        for run in piece.runs():
            current, current_ctx = [], []
            seen, seen_ctx = [], []
            seen_measures: list = []
            for measure in run:
                ctx = measure_contexts[index_of[id(measure)]] if contexts else [()] * len(measure.values)
                held = solo_out or (not by_solos and is_held_out(measure.number))
                kept_out = held or (not solo_out and validation and block_phase(measure.number) == VALIDATION_PHASE)
                if held:
                    if seen_measures:
                        seen_measure_runs.append(seen_measures)
                    seen_measures = []
                else:
                    seen_measures.append(measure)
                if kept_out:
                    if current:
                        train_runs.append(current)
                        train_contexts.append(current_ctx)
                    current, current_ctx = [], []
                    k = max(0, Tx - len(measure.values))
                    before = tuple(seen[-k:]) if k else ()
                    before_ctx = tuple(seen_ctx[-k:]) if k else ()
                    if held:
                        held_out.append(HeldOut(measure.number, before, tuple(measure.values),
                                                before_ctx + tuple(ctx) if contexts else (),
                                                piece.spec.path.name, measure))
                    else:
                        validation_runs.append(list(before) + list(measure.values))
                        validation_contexts.append(list(before_ctx) + list(ctx))
                else:
                    current.extend(measure.values)
                    current_ctx.extend(ctx)
                seen.extend(measure.values)
                seen_ctx.extend(ctx)
            if current:
                train_runs.append(current)
                train_contexts.append(current_ctx)
            if seen_measures:
                seen_measure_runs.append(seen_measures)
    return Split(train_runs, held_out, validation_runs, train_contexts if contexts else [],
                 validation_contexts if contexts else [], by_solos, tuple(held_out_pieces), seen_measure_runs)


@dataclass(frozen=True)
class Windows:
    """The course's training windows over an encoded corpus, cut when read (never all held at once).

    Args:
        flat: the runs' value indices, one after another, int32 of shape (N,); a run
            shorter than Tx is followed by -1 up to Tx (the padding of its one window).
        starts: where each window begins in flat, int64 of shape (m,).
        Tx: window length in values.
        features: each value's context as a multi-hot row, uint8 of shape (N, conditioning.WIDTH),
            or None for the course's model (the previous value only).
    """

    flat: np.ndarray
    starts: np.ndarray
    Tx: int
    features: np.ndarray | None = None

    @property
    def m(self) -> int:
        return int(self.starts.shape[0])

    def array(self) -> np.ndarray:
        """Every window at once, int32 (m, Tx), -1 padding (for small corpora and tests)."""
        if not self.m:
            return np.zeros((0, self.Tx), np.int32)
        return self.flat[self.starts[:, None] + np.arange(self.Tx)[None, :]]


def windows_of(runs: Sequence[Sequence[str]], vocab: Vocabulary, Tx: int, stride: int = 1,
               contexts: Sequence[Sequence[tuple[int, ...]]] | None = None) -> Windows:
    """The windows of runs of values: every start of every run (every stride-th), a short run padded.

    Args:
        runs: lists of value strings.
        vocab: the vocabulary that indexes them.
        Tx: window length in values.
        stride: values between window starts. Default 1 (every window).
        contexts: per run, each value's context columns (jazzd.core.conditioning), or None.
    Returns:
        Windows; their array() is windows()'s one-hot X and Y as indices:
        X[:, t] is the one-hot of column t-1 (zeros at t = 0), Y[t] of column t.
    """
    pieces, starts, features, at = [], [], [], 0
    for r, run in enumerate(runs):
        idx = vocab.encode(run).astype(np.int32)
        if not len(idx):
            continue
        padding = max(0, Tx - len(idx))
        if contexts is not None:
            rows = np.zeros((len(idx) + padding, conditioning.WIDTH), np.uint8)
            for i, columns in enumerate(contexts[r]):
                rows[i, list(columns)] = 1
            features.append(rows)
        if padding:
            idx = np.concatenate([idx, np.full(padding, -1, np.int32)])
            starts.append(np.array([at]))
        else:
            starts.append(at + np.arange(0, len(idx) - Tx + 1, stride))
        pieces.append(idx)
        at += len(idx)
    flat = np.concatenate(pieces).astype(np.int32) if pieces else np.zeros(0, np.int32)
    feats = None
    if contexts is not None:
        feats = np.concatenate(features) if features else np.zeros((0, conditioning.WIDTH), np.uint8)
    return Windows(flat, np.concatenate(starts).astype(np.int64) if starts else np.zeros(0, np.int64), Tx, feats)


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
