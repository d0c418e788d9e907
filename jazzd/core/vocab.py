"""Vocabulary: the stable index 0..n_values-1 of grammar values.

The course builds its vocabulary with set(), so the index order changes from
run to run; jazzd sorts the value strings, so the same corpus gives the same
order on every run and machine. It is saved with the model as vocab.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from jazzd.errors import GrammarError, ModelError
from jazzd.core.grammar import Value


class Vocabulary:
    """Grammar values in a fixed, sorted order.

    Args:
        values: the distinct value strings, e.g. "C,0.250,<M-2,m-6>".
    Raises:
        GrammarError: if a value does not parse or appears twice.
    """

    def __init__(self, values: Sequence[str]):
        values = tuple(values)
        if not all(isinstance(v, str) for v in values):
            raise GrammarError("a vocabulary is a list of value strings")
        if len(set(values)) != len(values):
            raise GrammarError("a vocabulary lists each value once")
        self.values = values
        self.parsed: tuple[Value, ...] = tuple(Value.parse(v) for v in values)
        self.index = {v: i for i, v in enumerate(values)}

    @classmethod
    def from_corpus(cls, values: Iterable[str]) -> "Vocabulary":
        """Build the vocabulary of a corpus: its distinct values, sorted."""
        return cls(sorted(set(values)))

    @property
    def n_values(self) -> int:
        return len(self.values)

    def __len__(self):
        return len(self.values)

    def encode(self, values: Iterable[str]) -> np.ndarray:
        """Value strings -> indices, shape (len,), int64.

        Raises:
            KeyError: for a value not in the vocabulary.
        """
        return np.array([self.index[v] for v in values], dtype=np.int64)

    def save(self, path: Path) -> None:
        """Write the vocabulary as JSON: {"values": [...]} in index order."""
        Path(path).write_text(json.dumps({"values": list(self.values)}, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> "Vocabulary":
        """Read vocab.json.

        Raises:
            ModelError: if the file is missing, not JSON, or holds a bad value.
        """
        path = Path(path)
        try:
            data = json.loads(path.read_text())
            if not isinstance(data, dict) or not isinstance(data.get("values"), list):
                raise GrammarError('expected {"values": [...]}')
            return cls(data["values"])
        except FileNotFoundError:
            raise ModelError(f"{path}: missing (a model directory needs vocab.json)") from None
        except (OSError, ValueError, KeyError, TypeError, GrammarError) as err:
            raise ModelError(f"{path}: not a jazzd vocabulary ({err})") from None
