"""The Keras models: training (course `djmodel`), inference (`music_inference_model`).

This is the only module that imports TensorFlow/Keras; the daemon never does.

Training uses one fused `LSTM(n_a, return_sequences=True)` followed by one softmax
`Dense(n_values)` applied at every step. It has the same weights, shared across
the Tx steps, as the course's unrolled graph of one LSTM cell and one Dense
(45,530 parameters at n_values = 90, n_a = 64), and trains about 7x faster here.
The weights load unchanged into the one-step inference models below and into the
numpy Improviser.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ banner out of the CLI output

import keras  # noqa: E402
import numpy as np  # noqa: E402

from jazzd.improviser import CELL_NAMES, LSTMWeights, layer_prefix  # noqa: E402

LEARNING_RATE = 0.01
BETA_1 = 0.9
BETA_2 = 0.999


def training_model(n_values: int, n_a: int = 64, Tx: int | None = None, layers: int = 1) -> keras.Model:
    """The course's model, as fused LSTM layer(s) and one time-distributed Dense.

    Args:
        n_values: vocabulary size.
        n_a: LSTM units. Default 64 (course).
        Tx: window length, or None for any length.
        layers: stacked LSTM layers. Default 1 (course).
    Returns:
        An uncompiled model: input (m, Tx, n_values) -> softmax (m, Tx, n_values),
        with layers named "lstm", "lstm_1", ... and "dense". The initial state
        is zeros (the course's a0 = c0 = 0).
    Source: course `djmodel` (LSTM_cell shared over Tx steps, densor).
    """
    X = keras.Input(shape=(Tx, n_values), name="X")
    a = X
    for layer in range(layers):
        a = keras.layers.LSTM(n_a, return_sequences=True, name=layer_prefix(layer))(a)
    out = keras.layers.Dense(n_values, activation="softmax", name="dense")(a)
    return keras.Model(X, out, name="djmodel")


def compile_course(model: keras.Model) -> keras.Model:
    """Compile with the course's optimizer: Adam(lr=0.01, beta_1=0.9, beta_2=0.999), cross-entropy."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE, beta_1=BETA_1, beta_2=BETA_2),
        loss="categorical_crossentropy",
        metrics=["categorical_accuracy"],
    )
    return model


def weights_of(model: keras.Model) -> LSTMWeights:
    """Read the cell(s) and Dense weights out of a model with layers "lstm", "lstm_1", ... and "dense"."""
    names = {layer.name for layer in model.layers}
    arrays, layer = {}, 0
    while layer_prefix(layer) in names:
        for name, array in zip(CELL_NAMES, model.get_layer(layer_prefix(layer)).get_weights()):
            arrays[f"{layer_prefix(layer)}/{name}"] = array
        layer += 1
    arrays["dense/kernel"], arrays["dense/bias"] = model.get_layer("dense").get_weights()
    return LSTMWeights.from_arrays(arrays)


def _cells(weights: LSTMWeights):
    n_a, n_values = weights.n_a, weights.n_values
    cells = []
    for layer, cell in enumerate(weights.cells()):
        lstm = keras.layers.LSTM(n_a, return_state=True, name=layer_prefix(layer))
        lstm.build((None, 1, n_values if layer == 0 else n_a))
        lstm.set_weights(list(cell))
        cells.append(lstm)
    densor = keras.layers.Dense(n_values, activation="softmax", name="dense")
    densor.build((None, n_a))
    densor.set_weights([weights.dense_kernel, weights.dense_bias])
    return cells, densor


def _step(cells, densor, x, states):
    """One step through the stacked cells: x (batch, 1, features), states [(a, c), ...]."""
    new_states = []
    for layer, cell in enumerate(cells):
        if layer:
            x = keras.layers.RepeatVector(1)(a)
        a, _, c = cell(x, initial_state=list(states[layer]))
        new_states.append((a, c))
    return densor(a), new_states


def _state_inputs(weights: LSTMWeights, suffix: str = "0"):
    return [(keras.Input(shape=(weights.n_a,), name=f"a{suffix}" if layer == 0 else f"a{suffix}_{layer}"),
             keras.Input(shape=(weights.n_a,), name=f"c{suffix}" if layer == 0 else f"c{suffix}_{layer}"))
            for layer in range(weights.layers)]


def one_step_model(weights: LSTMWeights) -> keras.Model:
    """One step of the inference LSTM in Keras: (x, a0, c0, ...) -> (probs, a, c, ...).

    Args:
        weights: the trained weights.
    Returns:
        A model with inputs x (batch, 1, n_values) and, per layer, a0 and c0
        (batch, n_a); outputs the softmax (batch, n_values) and, per layer, the
        new a and c (batch, n_a).
    Source: course `music_inference_model`, a single step.
    """
    cells, densor = _cells(weights)
    x = keras.Input(shape=(1, weights.n_values), name="x")
    states = _state_inputs(weights)
    probs, new_states = _step(cells, densor, x, states)
    return keras.Model([x, *[t for pair in states for t in pair]], [probs, *[t for pair in new_states for t in pair]],
                       name="inference_step")


def music_inference_model(weights: LSTMWeights, Ty: int = 50) -> keras.Model:
    """The course's inference model: Ty steps, each feeding back the argmax as one-hot.

    Args:
        weights: the trained weights.
        Ty: number of values to generate. Default 50 (course).
    Returns:
        A model with inputs x0 (1, 1, n_values) and, per layer, a0, c0 (1, n_a),
        and Ty outputs, each a softmax of shape (1, n_values).
    Source: course `music_inference_model` (argmax + one_hot + RepeatVector).
    """
    cells, densor = _cells(weights)
    n_values = weights.n_values
    x0 = keras.Input(shape=(1, n_values), name="x0")
    inputs = _state_inputs(weights)
    x, states = x0, inputs
    outputs = []
    for _ in range(Ty):
        out, states = _step(cells, densor, x, states)
        outputs.append(out)
        x = keras.layers.RepeatVector(1)(keras.ops.one_hot(keras.ops.argmax(out, axis=-1), n_values))
    return keras.Model([x0, *[t for pair in inputs for t in pair]], outputs, name="music_inference_model")


def fit(X: np.ndarray, Y: np.ndarray, n_a: int = 64, epochs: int = 100, batch_size: int = 32,
        seed: int | None = 0, verbose: int = 2, layers: int = 1) -> tuple[LSTMWeights, keras.callbacks.History]:
    """Train the course's model on windows.

    Args:
        X: inputs, shape (m, Tx, n_values).
        Y: targets, shape (Ty, m, n_values) as the course lays them out.
        n_a: LSTM units. Default 64.
        epochs: Default 100 (course).
        batch_size: Default 32 (Keras's default, as in the course).
        seed: seeds Keras, numpy and Python for a repeatable run; None leaves them.
        verbose: Keras verbosity (1 progress bar, 2 one line per epoch, 0 silent).
        layers: stacked LSTM layers. Default 1 (course).
    Returns:
        The trained weights and Keras's History.
    """
    if seed is not None:
        keras.utils.set_random_seed(seed)
    m, Tx, n_values = X.shape
    model = compile_course(training_model(n_values, n_a, Tx, layers))
    history = model.fit(X, np.swapaxes(Y, 0, 1), epochs=epochs, batch_size=batch_size, verbose=verbose, shuffle=True)
    return weights_of(model), history
