"""Model directory: weights, vocabulary and metadata, loaded without pickle or TensorFlow.

models/NAME/
    weights.npz     the LSTM cell and Dense weights under Keras names (numpy .npz,
                    read with allow_pickle=False)
    vocab.json      the values in index order
    metadata.json   n_a, Tx, n_values, corpus (files, SHA-256), metrics, date
"""

from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jazzd.errors import ModelError
from jazzd.core import conditioning
from jazzd.core.improviser import LSTMWeights
from jazzd.core.pitch_choice import PitchChoice
from jazzd.core.timing import PlayedTiming
from jazzd.core.vocab import Vocabulary

WEIGHTS_FILE = "weights.npz"
VOCAB_FILE = "vocab.json"
METADATA_FILE = "metadata.json"
FORMAT = 1


@dataclass(frozen=True)
class ModelDir:
    """A loaded model directory: its weights, vocabulary, metadata, learned pitch choice (None: uniform) and
    the players' timing around the grid (None: a model saved without it plays on the grid)."""

    path: Path
    weights: LSTMWeights
    vocab: Vocabulary
    metadata: dict
    pitch_choice: PitchChoice | None = None
    timing: PlayedTiming | None = None

    @property
    def n_a(self) -> int:
        return self.weights.n_a

    @property
    def n_values(self) -> int:
        return self.weights.n_values

    @property
    def Tx(self) -> int:
        return int(self.metadata.get("Tx", 30))

    def corpus_sources(self) -> list[str] | None:
        """The training corpus's files as metadata.json saved them (relative to the model folder), or None.

        Raises:
            ModelError: if metadata.json's "corpus" is not {"sources": [file names]} (e.g. `true`).
        """
        corpus = self.metadata.get("corpus")
        if corpus is None:
            return None
        sources = corpus.get("sources") if isinstance(corpus, dict) else None
        if not isinstance(corpus, dict) or not (sources is None or (isinstance(sources, list)
                                                                    and all(isinstance(s, str) for s in sources))):
            raise ModelError(f'{self.path / "metadata.json"}: "corpus" should be {{"sources": [file names]}}, '
                             f"found {json.dumps(corpus)[:80]}")
        return sources or None


def save_model(path: Path, weights: LSTMWeights, vocab: Vocabulary, metadata: dict,
               pitch_choice: PitchChoice | None = None, timing: PlayedTiming | None = None) -> Path:
    """Write a model directory (created if needed; files replaced).

    Args:
        path: the directory, e.g. models/default.
        weights: trained weights; their n_values must match vocab.
        vocab: the vocabulary.
        metadata: extra facts (Tx, corpus, metrics, ...); n_a, n_values, the
            conditioning and the format number are filled in here.
        pitch_choice: the learned pitch choice, saved with the weights (None: none).
        timing: the players' timing (jazzd.core.timing), saved with the weights (None: none).
    Raises:
        ModelError: if the vocabulary does not match the weights.
    """
    if vocab.n_values != weights.n_values:
        raise ModelError(f"{path}: vocabulary has {vocab.n_values} values, but the weights expect {weights.n_values}")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    arrays = {**weights.arrays(), **(pitch_choice.arrays() if pitch_choice is not None else {}),
              **(timing.arrays() if timing is not None else {})}
    np.savez(path / WEIGHTS_FILE, **{k: np.asarray(v, dtype=np.float32) for k, v in arrays.items()})
    vocab.save(path / VOCAB_FILE)
    metadata = {"format": FORMAT, **metadata, "n_a": weights.n_a, "n_values": weights.n_values, "layers": weights.layers,
                "conditioning": conditioning.NAME if weights.context_width else None}
    (path / METADATA_FILE).write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    return path


def load_model(path: Path) -> ModelDir:
    """Read a model directory and check that its parts fit together.

    Args:
        path: the directory.
    Returns:
        A ModelDir.
    Raises:
        ModelError: if the directory or a file is missing, empty, truncated or
            unreadable, a weight is missing, mis-shaped or not finite, or the
            vocabulary or metadata does not match the weights (the message names
            the file, and the weight).
    """
    path = Path(path)
    if not path.is_dir():
        raise ModelError(f"{path}: no such model directory")
    missing = [f for f in (WEIGHTS_FILE, VOCAB_FILE, METADATA_FILE) if not (path / f).is_file()]
    if missing:
        raise ModelError(f"{path}: missing {', '.join(missing)} (a model directory holds {WEIGHTS_FILE}, {VOCAB_FILE}, {METADATA_FILE})")
    weights_path = path / WEIGHTS_FILE
    try:
        with np.load(weights_path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise ModelError(f"{weights_path}: not a readable weights file ({err or type(err).__name__})") from None
    for name, array in arrays.items():
        if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
            raise ModelError(f"{weights_path}: weight {name!r} is not numbers (dtype {array.dtype})")
        if not np.isfinite(array).all():
            raise ModelError(f"{weights_path}: weight {name!r} holds values that are not finite")
    try:
        weights = LSTMWeights.from_arrays(arrays)
    except ModelError as err:
        raise ModelError(f"{weights_path}: {err}") from None
    vocab = Vocabulary.load(path / VOCAB_FILE)
    if vocab.n_values != weights.n_values:
        raise ModelError(f"{path / VOCAB_FILE}: {vocab.n_values} values, but the weights expect {weights.n_values}")
    metadata_path = path / METADATA_FILE
    try:
        metadata = json.loads(metadata_path.read_text())
        if not isinstance(metadata, dict):
            raise ValueError("expected a JSON object")
    except (OSError, ValueError) as err:
        raise ModelError(f"{metadata_path}: not readable JSON ({err})") from None
    for key, actual in (("n_values", weights.n_values), ("n_a", weights.n_a), ("layers", weights.layers)):
        if key in metadata and metadata[key] != actual:
            raise ModelError(f"{metadata_path}: {key} is {metadata[key]}, but the weights have {actual}")
    if weights.context_width and metadata.get("conditioning") != conditioning.NAME:
        raise ModelError(f"{metadata_path}: the weights hear a context of {weights.context_width} columns, but the "
                         f"metadata's conditioning is {metadata.get('conditioning')!r} (this jazzd knows {conditioning.NAME!r})")
    try:
        choice = PitchChoice.from_arrays(arrays)
        timing = PlayedTiming.from_arrays(arrays)
    except ValueError as err:
        raise ModelError(f"{weights_path}: {err}") from None
    tx = metadata.get("Tx", 30)
    if isinstance(tx, bool) or not isinstance(tx, int) or not 2 <= tx <= 10_000:
        raise ModelError(f"{metadata_path}: Tx must be an integer in 2..10000, got {tx!r}")
    return ModelDir(path, weights, vocab, metadata, choice, timing)
