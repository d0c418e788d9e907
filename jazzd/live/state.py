"""State file: the improviser's a, c, random generators and playhead, kept across restarts.

JSON (no pickle). Written on exit when [state] file is set; read on start, and
used only if it was written for the same model (SHA-256 of its weights and
vocabulary).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from jazzd.core.modeldir import VOCAB_FILE, WEIGHTS_FILE

FORMAT = 1


def model_digest(model_path: Path) -> str:
    """SHA-256 of a model directory's weights and vocabulary."""
    digest = hashlib.sha256()
    for name in (WEIGHTS_FILE, VOCAB_FILE):
        digest.update((Path(model_path) / name).read_bytes())
    return digest.hexdigest()


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
        OSError: if the file cannot be written.
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
        json.dump(data, f)
    os.replace(f.name, path)


def load_state(path: Path, digest: str, shape: tuple[int, int]) -> tuple[dict | None, str]:
    """Read a state file if it fits the model.

    Args:
        path: the file.
        digest: model_digest() of the model about to play.
        shape: the shape of the model's a and c, (layers, n_a).
    Returns:
        (state, why): the state dict (a and c as arrays of that shape) or None, and
        a short reason to log.
    """
    path = Path(path)
    if not path.is_file():
        return None, f"{path}: no saved state yet"
    try:
        data = json.loads(path.read_text())
        if data.get("format") != FORMAT:
            return None, f"{path}: a state file of another format, not resumed"
        if data.get("model") != digest:
            return None, f"{path}: saved for another model, not resumed"
        a = np.array(data["a"], dtype=np.float64).reshape(shape)
        c = np.array(data["c"], dtype=np.float64).reshape(shape)
    except (OSError, ValueError, KeyError, TypeError) as err:
        return None, f"{path}: unreadable state file ({err}), not resumed"
    return {**data, "a": a, "c": c}, f"{path}: resumed (saved {data.get('saved')}, beat {data['beat']:.2f})"


def restore_generators(generators: dict, states: dict) -> None:
    """Put saved bit-generator states back (names missing from states are left as they are)."""
    for name, g in generators.items():
        if name in states:
            g.bit_generator.state = states[name]
