"""N-gram baselines over values, and the held-out metrics shared with the LSTM.

Baselines use interpolated Witten-Bell smoothing down to an add-one unigram, so
they need no tuning and give every value a non-zero probability.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Callable, Sequence

import numpy as np

from jazzd.pipeline.dataset import HeldOut
from jazzd.core.vocab import Vocabulary

# Predicts, for each target value, the distribution over the vocabulary given the
# context values and the targets before it: (context, target) -> (len(target), n_values).
Predictor = Callable[[Sequence[int], Sequence[int]], np.ndarray]


class NgramModel:
    """An n-gram model of values with interpolated Witten-Bell smoothing.

    Args:
        order: 1 (unigram), 2 (bigram), 3 (trigram), ...
        n_values: vocabulary size; index n_values is the start-of-run symbol.
    Source: Witten & Bell (1991); Chen & Goodman (1998), interpolated form.
    """

    def __init__(self, order: int, n_values: int):
        if order < 1:
            raise ValueError(f"order must be >= 1, got {order}")
        self.order = order
        self.n_values = n_values
        self.bos = n_values
        self.counts: dict[tuple[int, ...], Counter] = defaultdict(Counter)

    def fit(self, runs: Sequence[Sequence[int]]) -> "NgramModel":
        """Count n-grams (all orders up to self.order) in runs of value indices."""
        self._unigram_p, self._seen_cache = None, {}
        for run in runs:
            padded = [self.bos] * (self.order - 1) + list(run)
            for i in range(self.order - 1, len(padded)):
                for k in range(self.order):  # context lengths 0 .. order-1
                    self.counts[tuple(padded[i - k : i])][padded[i]] += 1
        return self

    def distribution(self, history: Sequence[int]) -> np.ndarray:
        """P(next value | the last order-1 values of history), shape (n_values,)."""
        history = [self.bos] * (self.order - 1) + list(history)
        p = self._unigram()
        for k in range(1, self.order):
            seen = self._seen(tuple(history[len(history) - k :]))
            if seen is None:
                continue
            indices, counts = seen
            total, types = counts.sum(), len(counts)
            p = p * types
            p[indices] += counts
            p /= total + types
        return p

    def _unigram(self) -> np.ndarray:
        if getattr(self, "_unigram_p", None) is None:
            p = np.full(self.n_values, 1.0)  # add-one
            for v, n in self.counts.get((), Counter()).items():
                p[v] += n
            self._unigram_p = p / p.sum()
        return self._unigram_p.copy()

    def _seen(self, context: tuple[int, ...]):
        """(value indices, counts) that followed a context, as arrays; None if never seen."""
        cache = self.__dict__.setdefault("_seen_cache", {})
        if context not in cache:
            seen = self.counts.get(context)
            cache[context] = (np.fromiter(seen.keys(), np.int64), np.fromiter(seen.values(), np.float64)) if seen else None
        return cache[context]

    def predictor(self) -> Predictor:
        """This model as a Predictor for evaluate()."""

        def predict(context, target):
            seq = list(context) + list(target)
            start = len(context)
            return np.stack([self.distribution(seq[:i]) for i in range(start, len(seq))])

        return predict


def evaluate(predict: Predictor, held_out: Sequence[HeldOut], vocab: Vocabulary, contexts: bool = False) -> dict:
    """Score a predictor on held-out bars.

    Args:
        predict: see Predictor; with contexts, called with each bar's value contexts as a third
            argument (jazzd.core.conditioning; None where the bar has none).
        held_out: the bars to score.
        vocab: indexes the values.
    Returns:
        {"loss": mean negative natural log-likelihood per value, "perplexity":
        exp(loss), "accuracy": share of values that are the predictor's argmax,
        "values": how many values were scored}.
    """
    nll, hits, n = 0.0, 0, 0
    for bar in held_out:
        context, target = vocab.encode(bar.context), vocab.encode(bar.target)
        probs = (predict(context, target, list(bar.contexts) if bar.contexts else None) if contexts
                 else predict(context, target))
        picked = probs[np.arange(len(target)), target]
        nll -= float(np.log(np.maximum(picked, 1e-12)).sum())
        hits += int((probs.argmax(axis=1) == target).sum())
        n += len(target)
    if n == 0:
        return {"loss": float("nan"), "perplexity": float("nan"), "accuracy": float("nan"), "values": 0}
    loss = nll / n
    return {"loss": loss, "perplexity": math.exp(loss), "accuracy": hits / n, "values": n}
