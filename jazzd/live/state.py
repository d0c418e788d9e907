"""State file: the improviser's a, c, random generators and playhead, kept across restarts.

JSON (no pickle). Written on exit when [state] file is set (atomically: a new
file beside it, then renamed over it); read on start and used only when it was
written for the same model (SHA-256 of its weights and vocabulary) and every
field fits its schema. A file that cannot be used is never overwritten: it is
renamed aside (STATE.rejected-YYYYmmdd-HHMMSS) with one warning naming the
field at fault, and jazzd starts fresh.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jazzd.core.modeldir import VOCAB_FILE, WEIGHTS_FILE
from jazzd.files import default_mode

FORMAT = 1
MAX_BEAT = 1e9  # beats; a playhead beyond this is not a saved session (3,900 years at 120 BPM... and more)
MAX_HORIZON_AHEAD = 64.0  # beats: where the next value starts lies within a few bars of the playhead


def model_digest(model_path: Path) -> str:
    """SHA-256 of a model directory's weights and vocabulary."""
    digest = hashlib.sha256()
    for name in (WEIGHTS_FILE, VOCAB_FILE):
        digest.update((Path(model_path) / name).read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class SavedState:
    """A checked state file.

    a, c: (layers, n_a) arrays; last: the last value's index or None; rng: generator name ->
    numpy bit-generator state; beat: the playhead (beats); horizon: where the next value starts
    (beats); previous: the last melody pitch (MIDI note number) or None; saved: when (ISO 8601).
    """

    a: np.ndarray
    c: np.ndarray
    last: int | None
    rng: dict
    beat: float
    horizon: float
    previous: int | None
    saved: str


OPTIONAL_GENERATORS = ("band",)  # a state saved before the band came has none: the band starts afresh


class StateError(ValueError):
    """A state file field that does not fit the schema; the message names the field."""


def save_state(path: Path, digest: str, improviser, generators: dict, beat: float, previous: int | None,
               horizon: float | None = None) -> None:
    """Write the state file (atomically).

    Args:
        path: the file.
        digest: model_digest() of the model playing.
        improviser: its a, c and last value are saved.
        generators: name -> numpy Generator whose state is saved.
        beat: the playhead, in beats.
        previous: the last melody pitch, or None.
        horizon: where the next value starts, in beats (it may be past the playhead).
    Raises:
        OSError: if the file cannot be written (the old one is then untouched).
    """
    data = {
        "format": FORMAT,
        "model": digest,
        "a": improviser.a.ravel().tolist(),
        "c": improviser.c.ravel().tolist(),
        "last": improviser.last,
        "rng": {name: g.bit_generator.state for name, g in generators.items()},
        "beat": beat,
        "horizon": beat if horizon is None else horizon,
        "previous": previous,
        "saved": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as f:
        try:
            os.fchmod(f.fileno(), default_mode(path))
            json.dump(data, f)
            f.flush()
            os.fsync(f.fileno())
        except BaseException:
            f.close()
            os.unlink(f.name)
            raise
    os.replace(f.name, path)


def _number(data: dict, field: str, low: float, high: float) -> float:
    value = data.get(field)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not low <= value <= high:
        raise StateError(f"{field} must be a finite number in {low:g}..{high:g}, got {value!r}")
    return float(value)


def _array(data: dict, field: str, shape: tuple[int, int]) -> np.ndarray:
    value = data.get(field)
    if not isinstance(value, list) or len(value) != shape[0] * shape[1] \
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value):
        raise StateError(f"{field} must be a list of {shape[0] * shape[1]} numbers")
    array = np.array(value, dtype=np.float64).reshape(shape)
    if not np.isfinite(array).all():
        raise StateError(f"{field} holds a number that is not finite")
    return array


def _optional_int(data: dict, field: str, low: int, high: int) -> int | None:
    value = data.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise StateError(f"{field} must be null or an integer in {low}..{high}, got {value!r}")
    return value


def _generators(data: dict, names) -> dict:
    states = data.get("rng")
    if not isinstance(states, dict):
        raise StateError("rng must be an object of generator states")
    names = [n for n in names if n in states or n not in OPTIONAL_GENERATORS]
    for name in names:
        if name not in states:
            raise StateError(f"rng.{name} is missing")
        try:
            trial = np.random.default_rng()  # the state is tried on a new generator first
            trial.bit_generator.state = states[name]
        except (TypeError, ValueError, KeyError, OverflowError) as err:
            raise StateError(f"rng.{name} is not a numpy generator state ({err})") from None
    return {name: states[name] for name in names}


def check_state(data, digest: str, shape: tuple[int, int], n_values: int, generator_names) -> SavedState:
    """The fields of a decoded state file, checked.

    Raises:
        StateError: naming the first field that does not fit (the file is of another model: "model").
    """
    if not isinstance(data, dict):
        raise StateError(f"the file must hold a JSON object, got {type(data).__name__}")
    if data.get("format") != FORMAT:
        raise StateError(f"format must be {FORMAT}, got {data.get('format')!r}")
    if data.get("model") != digest:
        raise StateError("model: saved for another model")
    beat = _number(data, "beat", 0.0, MAX_BEAT)
    horizon = data.get("horizon", beat)
    if isinstance(horizon, bool) or not isinstance(horizon, (int, float)) or not math.isfinite(horizon) \
            or not beat - MAX_HORIZON_AHEAD <= horizon <= beat + MAX_HORIZON_AHEAD:
        raise StateError(f"horizon must be a finite number within {MAX_HORIZON_AHEAD:g} beats of beat, "
                         f"got {horizon!r}")
    saved = data.get("saved", "")
    return SavedState(a=_array(data, "a", shape), c=_array(data, "c", shape),
                      last=_optional_int(data, "last", 0, n_values - 1), rng=_generators(data, generator_names),
                      beat=beat, horizon=float(horizon), previous=_optional_int(data, "previous", 0, 127),
                      saved=saved if isinstance(saved, str) else "")


def set_aside(path: Path) -> Path:
    """Rename a state file that cannot be used to STATE.rejected-YYYYmmdd-HHMMSS (never overwritten)."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.rejected-{stamp}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.rejected-{stamp}-{n}")
        n += 1
    os.replace(path, target)
    return target


def load_state(path: Path, digest: str, shape: tuple[int, int], n_values: int,
               generator_names=()) -> tuple[SavedState | None, str, bool]:
    """Read a state file if it fits the model and the schema.

    Args:
        path: the file.
        digest: model_digest() of the model about to play.
        shape: the shape of the model's a and c, (layers, n_a).
        n_values: the model's vocabulary size (for the last value's index).
        generator_names: the generators the state must hold (jazzd.core.solo.GENERATORS).
    Returns:
        (state or None, a one-line reason to log, whether it is a warning). A file
        that cannot be used has been renamed aside (see set_aside).
    """
    path = Path(path)
    if not path.is_file():
        return None, f"{path}: no saved state yet", False
    try:
        data = json.loads(path.read_bytes())
        state = check_state(data, digest, shape, n_values, generator_names)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as err:
        try:
            aside = set_aside(path)
        except OSError as move_err:
            return None, f"{path}: not resumed ({err}); could not set it aside ({move_err.strerror})", True
        return None, f"{path}: not resumed, starting fresh ({err}); the file is kept as {aside.name}", True
    return state, f"{path}: resumed (saved {state.saved or 'at an unknown time'}, beat {state.beat:.2f})", False


def restore_generators(generators: dict, states: dict) -> None:
    """Put saved bit-generator states back (names missing from states are left as they are)."""
    for name, g in generators.items():
        if name in states:
            g.bit_generator.state = states[name]
