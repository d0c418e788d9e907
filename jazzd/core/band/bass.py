"""The walking bass: which note the bassist plays on a beat, learned from the Weimar Jazz Database's bass lines.

A walking line is a quarter note a beat through chord tones, scale steps and
chromatic approaches, landing on the next chord's bass (or another of its chord
tones) on the chord change, within the instrument's range and without leaps for no
reason (Impro-Visor's bass rules B/C/S/A/N; Levine, The Jazz Theory Book). Rather
than write those rules down, BassChoice scores every note of the range with a
log-linear model of what the corpus's bassists did (a conditional logit fitted by
maximum likelihood, as jazzd.core.pitch_choice is for the melody), on:

- the candidate's role in the chord sounding (its bass, 3rd, 5th, 7th or 6th,
  another chord tone, a scale tone, a chromatic note), by where the beat is (the
  downbeat of a chord change on a bar line, a bar line without a change, a change
  within the bar, any other beat);
- the interval from the previous note (-12..12; wider leaps count as 12), and
  whether the next beat brings a new chord;
- before a chord change: the interval from the candidate to the next chord's bass
  (the approach note) and its role in the next chord;
- the register (MIDI note number), and the distance from the line's center (the
  mean of its last CENTER_NOTES notes): bassists keep a line within about an octave
  and a half over 32 bars, where a walk that knows only the previous note drifts;
- the direction against the move before (on, back, a repeat), and a return to
  the note before the previous one.

Shapes: weights (N_FEATURES,). Source: McFadden's conditional logit (1974); the
features are jazzd's, fitted on the beat tracks by jazzd.pipeline.bassfit.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jazzd.errors import ModelError

ROLES = ("bass", "third", "fifth", "seventh", "chord tone", "scale tone", "chromatic")
KINDS = ("change on a bar line", "bar line", "change within the bar", "other beat")
MAX_STEP = 12
REGISTER_LOW, REGISTER_HIGH = 24, 64  # the register feature's notes (others count as the nearest)

# feature blocks: name -> (offset, size)
TOP_P = 0.96  # the bass draws among the likeliest notes holding this share of the probability
CENTER_NOTES = 8  # the line's center: the mean of its last notes, this many
_SIZES = (("role", len(ROLES) * len(KINDS)), ("step", (2 * MAX_STEP + 1) * 2), ("target", 12),
          ("next_role", len(ROLES)), ("register", REGISTER_HIGH - REGISTER_LOW + 1), ("turn", 3), ("back", 1),
          ("center", 2 * MAX_STEP + 1))
BLOCKS: dict[str, tuple[int, int]] = {}
_at = 0
for _name, _size in _SIZES:
    BLOCKS[_name] = (_at, _size)
    _at += _size
N_FEATURES = _at

_SLASH = re.compile(r"/([A-G])([#b♯♭-]*)")
_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def bass_pitch_class(chord) -> int:
    """The pitch class a bassist lands on for a chord: the slash bass of a slash chord ("D/Eb" -> 3), else its
    root (0..11)."""
    match = _SLASH.search(chord.symbol)
    if match:
        letter, accidentals = match.groups()
        return (_LETTERS[letter] + accidentals.count("#") + accidentals.count("♯")
                - accidentals.count("b") - accidentals.count("♭") - accidentals.count("-")) % 12
    return chord.root


@functools.lru_cache(maxsize=4096)
def _role_table(chord) -> np.ndarray:
    """The role (index into ROLES) of each pitch class 0..11 in a chord."""
    bass = bass_pitch_class(chord)
    table = np.full(12, 6)
    for pc in range(12):
        interval = (pc - chord.root) % 12
        if pc == bass:
            table[pc] = 0
        elif pc in chord.pitch_classes:
            table[pc] = 1 if interval in (3, 4) else 2 if interval in (6, 7, 8) else 3 if interval in (9, 10, 11) else 4
        elif pc in chord.scale:
            table[pc] = 5
    return table


def roles(candidates: np.ndarray, chord) -> np.ndarray:
    """The role (index into ROLES) of each candidate (MIDI note numbers) in a chord."""
    return _role_table(chord)[candidates % 12]


@dataclass(frozen=True)
class BassContext:
    """What the bassist knows on a beat: the chord, the next beat's chord if it changes there (else None), where
    the beat is (index into KINDS), and the line so far (the last two notes and the move into the last)."""

    chord: object
    next_chord: object | None
    kind: int
    previous: int | None = None
    before: int | None = None  # the note before the previous one
    center: int | None = None  # the mean of the line's last CENTER_NOTES notes, rounded


def kind_of(position: int, changed: bool) -> int:
    """The kind of a beat (index into KINDS) at a position in its bar (0 = the bar line), with or without a chord
    change on it."""
    if position == 0:
        return 0 if changed else 1
    return 2 if changed else 3


def features(candidates: np.ndarray, ctx: BassContext) -> list[np.ndarray]:
    """Feature indices of each candidate: a list of arrays, each (len(candidates),) or with -1 for 'none'."""
    out = []
    at, _ = BLOCKS["role"]
    out.append(at + roles(candidates, ctx.chord) * len(KINDS) + ctx.kind)
    changes = ctx.next_chord is not None
    if ctx.previous is not None:
        step = np.clip(candidates - ctx.previous, -MAX_STEP, MAX_STEP) + MAX_STEP
        at, _ = BLOCKS["step"]
        out.append(at + step * 2 + int(changes))
        moved = ctx.previous - ctx.before if ctx.before is not None else 0
        at, _ = BLOCKS["turn"]
        step_now = candidates - ctx.previous
        turn = np.where(step_now == 0, 2, np.where((step_now > 0) == (moved > 0), 0, 1))
        out.append(np.where(moved == 0, np.where(step_now == 0, at + 2, -1), at + turn))
        if ctx.before is not None:
            out.append(np.where(candidates == ctx.before, BLOCKS["back"][0], -1))
    if changes:
        target = (bass_pitch_class(ctx.next_chord) - candidates) % 12  # semitones up to the next bass
        out.append(BLOCKS["target"][0] + target)
        out.append(BLOCKS["next_role"][0] + roles(candidates, ctx.next_chord))
    at, _ = BLOCKS["register"]
    out.append(at + np.clip(candidates, REGISTER_LOW, REGISTER_HIGH) - REGISTER_LOW)
    if ctx.center is not None:
        out.append(BLOCKS["center"][0] + np.clip(candidates - ctx.center, -MAX_STEP, MAX_STEP) + MAX_STEP)
    return out


def center_of(recent) -> int | None:
    """The line's center for BassContext: the mean of its last CENTER_NOTES notes (MIDI note numbers, oldest
    first), rounded; None before any."""
    recent = list(recent)[-CENTER_NOTES:]
    return int(round(sum(recent) / len(recent))) if recent else None


@dataclass(frozen=True)
class BassChoice:
    """The learned choice of a bass note (see the module docstring).

    Args:
        weights: one per feature, shape (N_FEATURES,).
        low, high: the bass's range, MIDI note numbers (candidates are every note in it).
        corpus: what it was fitted on and the corpus's figures (metadata.json), for `jazzd evaluate`.
    Raises:
        ValueError: for weights of the wrong shape or a range of less than an octave.
    """

    weights: np.ndarray
    low: int = 28
    high: int = 55
    corpus: dict | None = None

    def __post_init__(self):
        if np.shape(self.weights) != (N_FEATURES,):
            raise ValueError(f"bass weights must have shape ({N_FEATURES},), got {np.shape(self.weights)}")
        if self.high - self.low < 12:
            raise ValueError(f"the bass range must span an octave at least, got {self.low}..{self.high}")

    @property
    def candidates(self) -> np.ndarray:
        return np.arange(self.low, self.high + 1)

    def scores(self, ctx: BassContext, candidates: np.ndarray | None = None) -> np.ndarray:
        """Log-weights of the candidates (default every note of the range)."""
        candidates = self.candidates if candidates is None else candidates
        w = np.append(self.weights, 0.0)  # index -1: no feature
        return sum(w[f] for f in features(candidates, ctx))

    def probabilities(self, ctx: BassContext) -> np.ndarray:
        s = self.scores(ctx)
        e = np.exp(s - s.max())
        return e / e.sum()

    def choose(self, ctx: BassContext, rng: np.random.Generator, top_p: float = TOP_P) -> int:
        """Draw the note for a beat (a MIDI note number in low..high) among the likeliest notes that hold top_p
        of the probability (nucleus sampling): drawn from the whole distribution, the fitted model's tail of far
        notes, each rare, widened a 32-bar line's range beyond the players' (jazzd evaluate: 21.6 semitones at
        top_p 1 against 16.3; at 0.96 the figures are the corpus's over four seeds of held-out chords)."""
        p = self.probabilities(ctx)
        order = np.argsort(-p, kind="stable")
        keep = order[: int(np.searchsorted(np.cumsum(p[order]), top_p)) + 1]
        q = p[keep] / p[keep].sum()
        return int(self.low + keep[int(rng.choice(len(keep), p=q))])

    def save(self, folder: Path, metadata: dict) -> None:
        """Write weights.npz and metadata.json to a folder (made by jazzd.pipeline.bassfit)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(folder / "weights.npz", weights=self.weights, range=np.array([self.low, self.high]))
        (folder / "metadata.json").write_text(json.dumps(metadata, indent=1, sort_keys=True) + "\n")

    @classmethod
    def load(cls, folder: Path) -> "BassChoice":
        """The bass model of a folder (weights.npz, metadata.json).

        Raises:
            ModelError: naming the file, if one is missing or does not fit.
        """
        folder = Path(folder)
        try:
            with np.load(folder / "weights.npz", allow_pickle=False) as data:
                weights, (low, high) = data["weights"], data["range"]
            corpus = json.loads((folder / "metadata.json").read_text())
            return cls(np.asarray(weights, dtype=np.float64), int(low), int(high), corpus)
        except FileNotFoundError as err:
            raise ModelError(f"{folder}: no bass model here ({Path(err.filename).name} missing): "
                             "jazzd train-bass BEAT_TRACKS --out FOLDER makes one") from None
        except (OSError, KeyError, ValueError, json.JSONDecodeError) as err:
            raise ModelError(f"{folder}: not a bass model ({err})") from None

    @classmethod
    def uniform(cls, low: int = 28, high: int = 55) -> "BassChoice":
        return cls(np.zeros(N_FEATURES), low, high)


def fit(examples, low: int = 28, high: int = 55, iterations: int = 300, learning_rate: float = 0.05,
        l2: float = 1e-3) -> BassChoice:
    """Fit a BassChoice by maximum likelihood (Adam on the conditional logit's negative log-likelihood).

    Args:
        examples: (BassContext, the note played) pairs; a note outside low..high is left out.
        low, high: the range (every note in it is a candidate).
    Returns:
        The fitted BassChoice (uniform when there are no examples).
    """
    candidates = np.arange(low, high + 1)
    n_c = len(candidates)
    blocks, chosen = [], []
    for ctx, played in examples:
        if not low <= played <= high:
            continue
        blocks.append(np.stack(_padded(features(candidates, ctx), 10)))
        chosen.append(played - low)
    if not blocks:
        return BassChoice.uniform(low, high)
    index = np.stack(blocks)  # (n, 10, n_c): feature index per slot and candidate, -1: none
    n = len(blocks)
    chosen = np.array(chosen)
    flat = index.reshape(n, -1, n_c)
    valid = flat >= 0
    safe = np.where(valid, flat, N_FEATURES)
    w = np.zeros(N_FEATURES + 1)
    moments = [np.zeros(N_FEATURES + 1), np.zeros(N_FEATURES + 1)]
    observed = np.bincount(safe[np.arange(n), :, chosen].ravel(), minlength=N_FEATURES + 1)
    for t in range(1, iterations + 1):
        score = w[safe].sum(axis=1)  # (n, n_c)
        score -= score.max(axis=1, keepdims=True)
        e = np.exp(score)
        prob = e / e.sum(axis=1, keepdims=True)
        expected = np.bincount(safe.ravel(), weights=np.broadcast_to(prob[:, None, :], safe.shape).ravel(),
                               minlength=N_FEATURES + 1)
        g = (expected - observed) / n + l2 * w
        g[-1] = 0.0
        moments[0] = 0.9 * moments[0] + 0.1 * g
        moments[1] = 0.999 * moments[1] + 0.001 * g * g
        w -= learning_rate * (moments[0] / (1 - 0.9 ** t)) / (np.sqrt(moments[1] / (1 - 0.999 ** t)) + 1e-8)
    return BassChoice(w[:-1].copy(), low, high)


def _padded(arrays: list[np.ndarray], slots: int) -> list[np.ndarray]:
    n = len(arrays[0])
    return list(arrays) + [np.full(n, -1)] * (slots - len(arrays))


_LOADED: dict = {}  # (path, low, high) -> BassChoice: a model is read once per process


def bass_choice_from_config(config) -> BassChoice | None:
    """The walking bass's model of [band] bass_model (with [band] bass_low and bass_high) when the style's bass
    walks or plays a two-feel, else None.

    Args:
        config: checked settings (jazzd.config.Config).
    Raises:
        ModelError: naming the folder, if it holds no bass model.
    """
    from jazzd.core.band.styles import style

    if not config["band.bass"] or style(config["band.style"]).bass not in ("walking", "two"):
        return None
    key = (config.path_of("band.bass_model"), config["band.bass_low"], config["band.bass_high"])
    if key not in _LOADED:
        choice = BassChoice.load(key[0])
        _LOADED[key] = BassChoice(choice.weights, key[1], key[2], choice.corpus)
    return _LOADED[key]
