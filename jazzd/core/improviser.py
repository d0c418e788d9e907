"""Improviser: the inference LSTM in numpy, its a/c state, and sampling.

The live path never imports TensorFlow: one LSTM step is a few small matrix
products. The weights use Keras's names and gate order (kernel, recurrent_kernel,
bias; gates i, f, c, o), so tests compare this step with the Keras model directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from jazzd.core import conditioning
from jazzd.errors import ModelError
from jazzd.core.vocab import Vocabulary

CELL_NAMES = ("kernel", "recurrent_kernel", "bias")
DENSE_NAMES = ("dense/kernel", "dense/bias")


def layer_prefix(layer: int) -> str:
    """The saved name of LSTM layer 0, 1, ...: "lstm", "lstm_1", ... (Keras's layer names)."""
    return "lstm" if layer == 0 else f"lstm_{layer}"


@dataclass(frozen=True)
class LSTMWeights:
    """The trained weights of the LSTM cell(s) and the shared softmax Dense.

    The course's model has one LSTM layer; `upper` holds the cells of stacked
    layers above it (all with the same n_a), for larger models.

    Args:
        kernel: input weights of layer 0, shape (n_values, 4 * n_a), gates i, f, c, o; a
            conditioned model has conditioning.WIDTH more rows, for the context after the value.
        recurrent_kernel: state weights of layer 0, shape (n_a, 4 * n_a).
        bias: shape (4 * n_a,).
        dense_kernel: shape (n_a, n_values).
        dense_bias: shape (n_values,).
        upper: (kernel (n_a, 4 * n_a), recurrent_kernel, bias) per layer above. Default none.
    Raises:
        ModelError: if the shapes do not fit together.
    Source: keras.layers.LSTMCell weight layout; course `djmodel` (LSTM_cell, densor).
    """

    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray
    dense_kernel: np.ndarray
    dense_bias: np.ndarray
    upper: tuple = ()

    def __post_init__(self):
        rows, four_n_a = self.kernel.shape if self.kernel.ndim == 2 else (0, 0)
        n_a = four_n_a // 4
        if n_a == 0 or four_n_a % 4:
            raise ModelError(f"LSTM kernel must have shape (n_values, 4 * n_a), got {self.kernel.shape}")
        n_values = self.dense_bias.shape[0] if self.dense_bias.ndim == 1 else -1
        if rows not in (n_values, n_values + conditioning.WIDTH):
            raise ModelError(f"LSTM kernel must have {n_values} rows (one per value) or {n_values + conditioning.WIDTH} "
                             f"(and the context), got {rows}")
        expected = {
            "recurrent_kernel": (self.recurrent_kernel, (n_a, 4 * n_a)),
            "bias": (self.bias, (4 * n_a,)),
            "dense_kernel": (self.dense_kernel, (n_a, n_values)),
            "dense_bias": (self.dense_bias, (n_values,)),
        }
        for layer, cell in enumerate(self.upper, start=1):
            if len(cell) != 3:
                raise ModelError(f"LSTM layer {layer} needs kernel, recurrent_kernel and bias")
            for name, array, shape in zip(CELL_NAMES, cell, ((n_a, 4 * n_a), (n_a, 4 * n_a), (4 * n_a,))):
                expected[f"{layer_prefix(layer)}/{name}"] = (array, shape)
        for name, (array, shape) in expected.items():
            if array.shape != shape:
                raise ModelError(f"LSTM weight {name} must have shape {shape} for n_a={n_a}, got {array.shape}")

    @property
    def n_a(self) -> int:
        return self.recurrent_kernel.shape[0]

    @property
    def n_values(self) -> int:
        return self.dense_bias.shape[0]

    @property
    def context_width(self) -> int:
        """Columns of context (jazzd.core.conditioning) the first layer reads after the value; 0 for the course's model."""
        return self.kernel.shape[0] - self.n_values

    @property
    def layers(self) -> int:
        return 1 + len(self.upper)

    def cells(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(kernel, recurrent_kernel, bias) of every LSTM layer, bottom first."""
        return [(self.kernel, self.recurrent_kernel, self.bias), *self.upper]

    def arrays(self) -> dict[str, np.ndarray]:
        """The weights under their saved names ("lstm/kernel", ..., "lstm_1/bias", "dense/kernel", ...)."""
        out = {}
        for layer, cell in enumerate(self.cells()):
            out.update({f"{layer_prefix(layer)}/{name}": array for name, array in zip(CELL_NAMES, cell)})
        out.update(zip(DENSE_NAMES, (self.dense_kernel, self.dense_bias)))
        return out

    @classmethod
    def from_arrays(cls, arrays: dict) -> "LSTMWeights":
        """The inverse of arrays().

        Raises:
            ModelError: naming the first weight that is missing.
        """
        layers = 1
        while f"{layer_prefix(layers)}/kernel" in arrays:
            layers += 1
        needed = [f"{layer_prefix(layer)}/{name}" for layer in range(layers) for name in CELL_NAMES] + list(DENSE_NAMES)
        absent = [n for n in needed if n not in arrays]
        if absent:
            raise ModelError(f"missing weight {absent[0]!r} (has {', '.join(sorted(arrays))})")
        cells = [tuple(np.asarray(arrays[f"{layer_prefix(layer)}/{name}"]) for name in CELL_NAMES)
                 for layer in range(layers)]
        return cls(*cells[0], np.asarray(arrays["dense/kernel"]), np.asarray(arrays["dense/bias"]), tuple(cells[1:]))

    def astype(self, dtype) -> "LSTMWeights":
        """The same weights as another numpy dtype."""
        return LSTMWeights.from_arrays({k: np.asarray(v, dtype=dtype) for k, v in self.arrays().items()})


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + exp(-z)), without exp's overflow for z << 0


def lstm_step(weights: LSTMWeights, x_kernel: np.ndarray, a: np.ndarray, c: np.ndarray):
    """One LSTM step through every layer, and the softmax output.

    Args:
        weights: the cell(s) and Dense weights.
        x_kernel: the input already multiplied by layer 0's kernel, x @ kernel,
            shape (1, 4 * n_a); for a one-hot x this is one row of the kernel.
        a: hidden state, shape (layers, n_a): (1, n_a) for the course's model.
        c: cell state, shape (layers, n_a).
    Returns:
        (probs, a, c): softmax over values, shape (1, n_values), and the new states.
    Source: Keras LSTMCell (tanh activation, sigmoid recurrent activation).
    """
    n_a = weights.n_a
    new_a, new_c = np.empty_like(a), np.empty_like(c)
    z_in = x_kernel
    for layer, (kernel, recurrent_kernel, bias) in enumerate(weights.cells()):
        if layer:
            z_in = h @ kernel
        z = z_in + a[layer : layer + 1] @ recurrent_kernel + bias
        i = _sigmoid(z[:, :n_a])
        f = _sigmoid(z[:, n_a : 2 * n_a])
        g = np.tanh(z[:, 2 * n_a : 3 * n_a])
        o = _sigmoid(z[:, 3 * n_a :])
        cell = f * c[layer : layer + 1] + i * g
        h = o * np.tanh(cell)
        new_a[layer], new_c[layer] = h[0], cell[0]
    logits = h @ weights.dense_kernel + weights.dense_bias
    logits = logits - logits.max()
    e = np.exp(logits)
    return e / e.sum(), new_a, new_c


def sample_index(probs: np.ndarray, temperature: float, rng: np.random.Generator, top_p: float = 1.0) -> int:
    """Draw a value index from a distribution reshaped by a temperature and cut by nucleus (top-p) sampling.

    Args:
        probs: probabilities, shape (n_values,) or (1, n_values).
        temperature: 0 takes the argmax (as the course does); 1 samples the
            model's own distribution; above 1 flattens it, below 1 sharpens it.
        rng: the random generator.
        top_p: keep the most likely values that together hold this share of the
            (tempered) probability, drop the rest (the unlikely tail), and sample among
            them. 1.0 keeps every value.
    Returns:
        The index, 0..n_values-1.
    Raises:
        ValueError: for a temperature that is negative or not finite, or top_p outside (0, 1].
    Source: deepjazz sample() with "diversity"; course predict_and_sample (argmax); nucleus
        sampling: Holtzman et al., "The Curious Case of Neural Text Degeneration", ICLR 2020.
    """
    p = np.asarray(probs, dtype=np.float64).ravel()
    if not (temperature >= 0 and math.isfinite(temperature)):
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature}")
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    if temperature == 0:
        return int(p.argmax())
    if temperature != 1:
        logp = np.log(np.maximum(p, 1e-300)) / temperature
        p = np.exp(logp - logp.max())
    indices = None  # the values sampled among, in index order (None: all)
    if top_p < 1:
        total = p.sum()
        # the nucleus is a head of the values sorted by probability; the values above a threshold are one
        # too, so when they hold top_p of the mass only they are sorted (a few dozen of 2,533: the live path)
        head = np.flatnonzero(p >= p.max() * NUCLEUS_THRESHOLD)
        if p[head].sum() < top_p * total:
            head = np.arange(len(p))
        order = head[np.argsort(-p[head], kind="stable")]  # as a stable sort of them all, cut to the head
        cumulative = np.cumsum(p[order])
        indices = np.sort(order[: int(np.searchsorted(cumulative, top_p * total, side="left")) + 1])
        p = p[indices]
    cumulative = np.cumsum(p)
    i = int(min(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"), len(p) - 1))
    return i if indices is None else int(indices[i])


CONTEXT_SUMS_KEPT = 4096  # contexts whose kernel rows' sum the improviser keeps
NUCLEUS_THRESHOLD = 1e-3  # nucleus sampling sorts the values above this share of the likeliest's first
ARGMAX_MEMORY = 64  # values: at temperature 0 no phrase of LOOP_GUARD values may come back within this many
LOOP_GUARD = 8


class Improviser:
    """The inference LSTM with its state: steps, samples and primes values.

    A conditioned model (weights.context_width > 0) hears, with the previous value, the context of
    the value it predicts (jazzd.core.conditioning: where in the bar it starts, the chords there);
    the course's model hears the previous value only and ignores contexts.

    Args:
        weights: trained weights (n_values must equal the vocabulary's).
        vocab: the model's vocabulary.
        temperature: sampling temperature, >= 0. Default 1.0; 0 = the most likely value (see next_index).
        rng: random generator for sampling (seed it for reproducible runs).
        top_p: nucleus sampling's share of probability kept, (0, 1]. Default 1.0 (all).
    Attributes:
        a, c: the hidden and cell state, each (layers, n_a) ((1, n_a) for the
            course's one-layer model), kept between steps.
        last: index of the last value emitted or primed, None at the start
            (the next input is then the zero vector, as in the course).
    Raises:
        ModelError: if the vocabulary does not match the weights.
        ValueError: for a temperature that is negative or not finite, or top_p outside (0, 1].
    Source: course `music_inference_model` / `predict_and_sample`, one step at a time.
    """

    def __init__(self, weights: LSTMWeights, vocab: Vocabulary, temperature: float = 1.0, rng=None,
                 top_p: float = 1.0):
        if vocab.n_values != weights.n_values:
            raise ModelError(f"vocabulary has {vocab.n_values} values, but the weights expect {weights.n_values}")
        if not (temperature >= 0 and math.isfinite(temperature)):
            raise ValueError(f"temperature must be a finite number >= 0, got {temperature}")
        if not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
        self.weights = weights.astype(np.float64)
        self.vocab = vocab
        self.temperature = float(temperature)
        self.top_p = float(top_p)
        self.rng = rng if rng is not None else np.random.default_rng()
        self._zero_input = np.zeros((1, 4 * self.weights.n_a))
        self._context_rows = self.weights.kernel[self.weights.n_values:]
        self._context_sums: dict[tuple[int, ...], np.ndarray] = {}  # context columns -> their kernel rows' sum
        self.reset()

    @property
    def conditioned(self) -> bool:
        """Whether the model hears the context (position and chords) of each value."""
        return self.weights.context_width > 0

    def reset(self) -> None:
        """Set a and c back to zeros and forget the last value."""
        self.a = np.zeros((self.weights.layers, self.weights.n_a))
        self.c = np.zeros((self.weights.layers, self.weights.n_a))
        self.last: int | None = None
        self._recent: list[int] = []

    def _input(self, index: int | None, context=None) -> np.ndarray:
        """x @ kernel for the previous value (one-hot) and the context's columns (multi-hot)."""
        x = self._zero_input if index is None else self.weights.kernel[index : index + 1]
        if context and self.conditioned:
            key = context if isinstance(context, tuple) else tuple(int(k) for k in context)
            rows = self._context_sums.get(key)
            if rows is None:  # a progression has few distinct contexts: each one's sum is kept
                if len(self._context_sums) >= CONTEXT_SUMS_KEPT:
                    self._context_sums.clear()
                rows = self._context_sums[key] = self._context_rows[list(key)].sum(axis=0, keepdims=True)
            x = x + rows
        return x

    def step(self, x: np.ndarray) -> np.ndarray:
        """Advance the LSTM by one input and return the next value's distribution.

        Args:
            x: one-hot value (or zeros for the start), followed for a conditioned model by the
                context's multi-hot row: shape (1, n_values + context_width).
        Returns:
            Softmax probabilities, shape (1, n_values). Updates self.a, self.c.
        Raises:
            ModelError: if x's width is not the model's input width.
        """
        x = np.asarray(x, dtype=np.float64)
        width = self.weights.kernel.shape[0]
        if x.shape != (1, width):
            raise ModelError(f"step input must have shape (1, {width}), got {x.shape}")
        probs, self.a, self.c = lstm_step(self.weights, x @ self.weights.kernel, self.a, self.c)
        return probs

    def next_index(self, context=None) -> int:
        """Step on the last value (and the next value's context) and sample the next value's index.

        At temperature 0 it is the most likely value, except one that would make the last
        LOOP_GUARD values a phrase already played within the last ARGMAX_MEMORY (then the most
        likely that does not): the course's argmax, without the loop it falls into.

        Args:
            context: the next value's context columns (jazzd.core.conditioning.context), or None.
        Returns:
            The index; it becomes `last`.
        """
        probs, self.a, self.c = lstm_step(self.weights, self._input(self.last, context), self.a, self.c)
        if self.temperature == 0:
            self.last = self._argmax_without_loops(probs[0])
        else:
            self.last = sample_index(probs, self.temperature, self.rng, self.top_p)
        self._recent.append(self.last)
        del self._recent[:-ARGMAX_MEMORY]
        return self.last

    def _argmax_without_loops(self, probs: np.ndarray) -> int:
        recent = self._recent
        if len(recent) < LOOP_GUARD - 1:
            return int(probs.argmax())
        tail = tuple(recent[-(LOOP_GUARD - 1):])
        banned = {recent[i + LOOP_GUARD - 1] for i in range(len(recent) - LOOP_GUARD + 1)
                  if tuple(recent[i : i + LOOP_GUARD - 1]) == tail}
        for index in np.argsort(-probs, kind="stable"):
            if int(index) not in banned:
                return int(index)
        return int(probs.argmax())

    def next_value(self, context=None) -> str:
        """Step and sample the next value, as its string ("C,0.250,<M-2,m-6>")."""
        return self.vocab.values[self.next_index(context)]

    def prime(self, values, contexts=None) -> int:
        """Feed values through the LSTM without emitting them (seed input).

        Args:
            values: value strings; those not in the vocabulary are skipped.
            contexts: each value's context columns (for a conditioned model), or None.
        Returns:
            How many values were fed.
        """
        fed = 0
        for i, value in enumerate(values):
            index = self.vocab.index.get(str(value))
            if index is None:
                continue
            context = contexts[i] if contexts is not None else None
            _, self.a, self.c = lstm_step(self.weights, self._input(self.last, context), self.a, self.c)
            self.last = index
            self._recent.append(index)
            del self._recent[:-ARGMAX_MEMORY]
            fed += 1
        return fed

    def sequence_probs(self, indices, contexts=None) -> np.ndarray:
        """Distributions for each value of a sequence fed from zero state.

        Args:
            indices: value indices, length T.
            contexts: each value's context columns, length T (for a conditioned model), or None.
        Returns:
            Shape (T, n_values): row t is P(value t | values before it, its context). Leaves
            the improviser's own state untouched.
        """
        a = np.zeros((self.weights.layers, self.weights.n_a))
        c = np.zeros((self.weights.layers, self.weights.n_a))
        rows, last = [], None
        for t, index in enumerate(indices):
            probs, a, c = lstm_step(self.weights, self._input(last, contexts[t] if contexts else None), a, c)
            rows.append(probs[0])
            last = int(index)
        return np.array(rows).reshape(len(rows), self.weights.n_values)

    def predictor(self):
        """This LSTM as a baseline.Predictor (scores context + target from zero state)."""

        def predict(context, target, contexts=None):
            return self.sequence_probs(list(context) + list(target), contexts)[len(context):]

        return predict
