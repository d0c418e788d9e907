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

from jazzd.improviser import LSTMWeights  # noqa: E402

LEARNING_RATE = 0.01
BETA_1 = 0.9
BETA_2 = 0.999


def training_model(n_values: int, n_a: int = 64, Tx: int | None = None) -> keras.Model:
    """The course's model, as one fused LSTM layer and one time-distributed Dense.

    Args:
        n_values: vocabulary size.
        n_a: LSTM units. Default 64 (course).
        Tx: window length, or None for any length.
    Returns:
        An uncompiled model: input (m, Tx, n_values) -> softmax (m, Tx, n_values),
        with layers named "lstm" and "dense". The initial state is zeros (the
        course's a0 = c0 = 0).
    Source: course `djmodel` (LSTM_cell shared over Tx steps, densor).
    """
    X = keras.Input(shape=(Tx, n_values), name="X")
    a = keras.layers.LSTM(n_a, return_sequences=True, name="lstm")(X)
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
    """Read the shared cell and Dense weights out of a model with layers "lstm" and "dense"."""
    kernel, recurrent_kernel, bias = model.get_layer("lstm").get_weights()
    dense_kernel, dense_bias = model.get_layer("dense").get_weights()
    return LSTMWeights(kernel, recurrent_kernel, bias, dense_kernel, dense_bias)


def _cells(weights: LSTMWeights):
    n_a, n_values = weights.n_a, weights.n_values
    lstm_cell = keras.layers.LSTM(n_a, return_state=True, name="lstm")
    densor = keras.layers.Dense(n_values, activation="softmax", name="dense")
    lstm_cell.build((None, 1, n_values))
    densor.build((None, n_a))
    lstm_cell.set_weights([weights.kernel, weights.recurrent_kernel, weights.bias])
    densor.set_weights([weights.dense_kernel, weights.dense_bias])
    return lstm_cell, densor


def one_step_model(weights: LSTMWeights) -> keras.Model:
    """One step of the inference LSTM in Keras: (x, a0, c0) -> (probs, a, c).

    Args:
        weights: the trained weights.
    Returns:
        A model with inputs x (batch, 1, n_values), a0 and c0 (batch, n_a), and
        outputs the softmax (batch, n_values) and the new a and c (batch, n_a).
    Source: course `music_inference_model`, a single step.
    """
    lstm_cell, densor = _cells(weights)
    x = keras.Input(shape=(1, weights.n_values), name="x")
    a0 = keras.Input(shape=(weights.n_a,), name="a0")
    c0 = keras.Input(shape=(weights.n_a,), name="c0")
    a, _, c = lstm_cell(x, initial_state=[a0, c0])
    return keras.Model([x, a0, c0], [densor(a), a, c], name="inference_step")


def music_inference_model(weights: LSTMWeights, Ty: int = 50) -> keras.Model:
    """The course's inference model: Ty steps, each feeding back the argmax as one-hot.

    Args:
        weights: the trained weights.
        Ty: number of values to generate. Default 50 (course).
    Returns:
        A model with inputs x0 (1, 1, n_values), a0, c0 (1, n_a) and Ty outputs,
        each a softmax of shape (1, n_values).
    Source: course `music_inference_model` (argmax + one_hot + RepeatVector).
    """
    lstm_cell, densor = _cells(weights)
    n_values = weights.n_values
    x0 = keras.Input(shape=(1, n_values), name="x0")
    a0 = keras.Input(shape=(weights.n_a,), name="a0")
    c0 = keras.Input(shape=(weights.n_a,), name="c0")
    x, a, c = x0, a0, c0
    outputs = []
    for _ in range(Ty):
        a, _, c = lstm_cell(x, initial_state=[a, c])
        out = densor(a)
        outputs.append(out)
        x = keras.layers.RepeatVector(1)(keras.ops.one_hot(keras.ops.argmax(out, axis=-1), n_values))
    return keras.Model([x0, a0, c0], outputs, name="music_inference_model")


def fit(X: np.ndarray, Y: np.ndarray, n_a: int = 64, epochs: int = 100, batch_size: int = 32,
        seed: int | None = 0, verbose: int = 2) -> tuple[LSTMWeights, keras.callbacks.History]:
    """Train the course's model on windows.

    Args:
        X: inputs, shape (m, Tx, n_values).
        Y: targets, shape (Ty, m, n_values) as the course lays them out.
        n_a: LSTM units. Default 64.
        epochs: Default 100 (course).
        batch_size: Default 32 (Keras's default, as in the course).
        seed: seeds Keras, numpy and Python for a repeatable run; None leaves them.
        verbose: Keras verbosity (1 progress bar, 2 one line per epoch, 0 silent).
    Returns:
        The trained weights and Keras's History.
    """
    if seed is not None:
        keras.utils.set_random_seed(seed)
    m, Tx, n_values = X.shape
    model = compile_course(training_model(n_values, n_a, Tx))
    history = model.fit(X, np.swapaxes(Y, 0, 1), epochs=epochs, batch_size=batch_size, verbose=verbose, shuffle=True)
    return weights_of(model), history
