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

from jazzd.core.improviser import CELL_NAMES, LSTMWeights, layer_prefix  # noqa: E402

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


def compile_course(model: keras.Model, loss="categorical_crossentropy", metrics=("categorical_accuracy",),
                   learning_rate: float = LEARNING_RATE) -> keras.Model:
    """Compile with the course's optimizer: Adam(lr=0.01, beta_1=0.9, beta_2=0.999), cross-entropy.

    Args:
        loss, metrics: Keras loss and metrics; default the course's categorical
            cross-entropy on one-hot targets.
        learning_rate: Adam's step size. Default 0.01 (the course).
    """
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate, beta_1=BETA_1, beta_2=BETA_2),
        loss=loss,
        metrics=list(metrics),
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
        lstm.build((None, 1, weights.kernel.shape[0] if layer == 0 else n_a))
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
        A model with inputs x (batch, 1, n_values + context_width: the previous value's one-hot,
        then a conditioned model's context) and, per layer, a0 and c0 (batch, n_a); outputs the
        softmax (batch, n_values) and, per layer, the new a and c (batch, n_a).
    Source: course `music_inference_model`, a single step.
    """
    cells, densor = _cells(weights)
    x = keras.Input(shape=(1, weights.kernel.shape[0]), name="x")
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
    Raises:
        ValueError: for a conditioned model (it needs each step's context, which the course's graph has not).
    Source: course `music_inference_model` (argmax + one_hot + RepeatVector).
    """
    if weights.context_width:
        raise ValueError("the course's inference graph feeds back values only; a conditioned model needs contexts")
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


def indexed_training_model(n_values: int, n_a: int = 64, Tx: int | None = None, layers: int = 1,
                           dropout: float = 0.0, context_width: int = 0) -> keras.Model:
    """training_model fed with value indices: one-hot inside the graph, for corpora too big for one-hot X.

    Args:
        n_values, n_a, Tx, layers: as training_model.
        dropout: share of the LSTM output dropped before the Dense while
            training (regularisation for small corpora; no weights, so the
            inference step is unchanged). Default 0 (the course).
        context_width: columns of each step's context (jazzd.core.conditioning.WIDTH for a
            conditioned model), joined after the previous value's one-hot. Default 0 (the course).
    Returns:
        An uncompiled model: int32 input (m, Tx) of the previous value's index
        per step (-1 = the zero vector), and for a conditioned model the context
        (m, Tx, context_width) -> softmax (m, Tx, n_values), with the same layer
        names and weights as training_model (the first kernel's rows: values, then context).
    """
    indices = keras.Input(shape=(Tx,), dtype="int32", name="X_indices")
    a = keras.ops.one_hot(indices, n_values)  # -1 gives the all-zero vector (the course's x0)
    inputs = indices
    if context_width:
        context = keras.Input(shape=(Tx, context_width), dtype="float32", name="X_context")
        a = keras.layers.Concatenate(axis=-1, name="value_and_context")([a, context])
        inputs = [indices, context]
    for layer in range(layers):
        a = keras.layers.LSTM(n_a, return_sequences=True, name=layer_prefix(layer))(a)
    if dropout:
        a = keras.layers.Dropout(dropout, name="dropout")(a)
    out = keras.layers.Dense(n_values, activation="softmax", name="dense")(a)
    return keras.Model(inputs, out, name="djmodel_indexed")


def smoothed_sparse_crossentropy(label_smoothing: float):
    """Sparse categorical cross-entropy with label smoothing, as Keras's CategoricalCrossentropy(label_smoothing).

    The target is (1 - label_smoothing) on the true value plus label_smoothing
    spread evenly over all n_values, so the model keeps some probability for
    values it rarely or never saw in training (held-out bars meet them).
    Returns:
        A Keras loss: (y_true (m, Tx) int, y_pred (m, Tx, n_values)) -> (m, Tx).
    Source: Szegedy et al. 2016, "Rethinking the Inception Architecture", section 7.
    """

    def loss(y_true, y_pred):
        ce = keras.losses.sparse_categorical_crossentropy(y_true, y_pred)
        if not label_smoothing:
            return ce
        spread = -keras.ops.mean(keras.ops.log(keras.ops.clip(y_pred, 1e-7, 1.0)), axis=-1)
        return (1.0 - label_smoothing) * ce + label_smoothing * spread

    return loss


STRATEGIES = ("default", "mirrored", "multi-worker")


def distribution_strategy(name: str):
    """The tf.distribute strategy a training runs under.

    Args:
        name: "default" (this process's default device), "mirrored" (MirroredStrategy:
            every device of this machine, e.g. several GPUs) or "multi-worker"
            (MultiWorkerMirroredStrategy: the cluster the TF_CONFIG environment
            variable describes, one `jazzd train` per machine).
    Raises:
        ValueError: for another name.
    """
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices=[d.name for d in tf.config.list_logical_devices("CPU")]
                                              if not tf.config.list_logical_devices("GPU") else None)
    if name == "multi-worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"unknown strategy {name!r} (expected one of {', '.join(STRATEGIES)})")


def is_chief(strategy) -> bool:
    """Whether this process writes the results: always, except a worker other than the first of a cluster."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0
                                             and "chief" not in resolver.cluster_spec().as_dict())


def window_dataset(windows, batch_size: int, shuffle: bool = True, seed: int | None = 0):
    """A tf.data pipeline of training batches cut from Windows as they are read: shuffled starts,
    batched, gathered into (inputs (b, Tx), targets (b, Tx), step weights (b, Tx)), prefetched.

    Inputs are the previous value's index per step (-1, the course's zero x0, first);
    padded steps weigh 0. Only the encoded corpus is held in memory, so every window of
    a corpus of any size is read each epoch.
    """
    import tensorflow as tf

    flat = tf.constant(windows.flat, dtype=tf.int32)
    features = tf.constant(windows.features) if windows.features is not None else None
    offsets = tf.range(windows.Tx, dtype=tf.int64)
    data = tf.data.Dataset.from_tensor_slices(windows.starts)
    if shuffle:
        data = data.shuffle(max(1, windows.m), seed=seed, reshuffle_each_iteration=True)

    def cut(starts):
        positions = starts[:, None] + offsets[None, :]
        w = tf.gather(flat, positions)
        inputs = tf.concat([tf.fill([tf.shape(w)[0], 1], -1), w[:, :-1]], axis=1)
        if features is not None:  # step t hears the context of value t, the one it predicts
            inputs = (inputs, tf.cast(tf.gather(features, positions), tf.float32))
        return inputs, tf.maximum(w, 0), tf.cast(w >= 0, tf.float32)

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    # repeated: one iterator serves every epoch, each of ceil(m / batch_size) batches, reshuffled
    return data.batch(batch_size).map(cut, num_parallel_calls=tf.data.AUTOTUNE).repeat() \
        .prefetch(tf.data.AUTOTUNE).with_options(options)


STEPS_PER_CALL = 32  # training steps per call of the compiled loop: fewer Python round trips


class TrainingHistory:
    """What a training run measured, per epoch: history["loss"] and, when validating, history["val_loss"]
    (mean cross-entropy per scored step, natural log), like keras.callbacks.History."""

    def __init__(self):
        self.history: dict[str, list[float]] = {"loss": []}


def fit_windows(train, n_values: int, validation=None, n_a: int = 64, epochs: int = 100, batch_size: int = 32,
                seed: int | None = 0, verbose: int = 2, layers: int = 1, patience: int = 0, dropout: float = 0.0,
                learning_rate: float = LEARNING_RATE, label_smoothing: float = 0.0,
                strategy=None, echo=print) -> tuple[LSTMWeights, TrainingHistory]:
    """Train the course's model on Windows (jazzd.pipeline.dataset.windows_of), streamed through tf.data,
    under a tf.distribute strategy.

    One training loop serves every strategy: each step runs on every replica (strategy.run), the
    gradients are summed across them and Adam applies them, so one machine, several devices and a
    cluster of machines (MultiWorkerMirroredStrategy, which Keras 3's Model.fit does not support:
    keras-team/keras#20585) train the same way.

    Args:
        train: the training Windows.
        n_values: vocabulary size.
        validation: validation Windows, or None.
        n_a, layers: LSTM units and stacked layers.
        epochs: the most epochs.
        batch_size: the global batch, split over the replicas.
        seed: seeds Keras, numpy and Python for a repeatable run; None leaves them.
        verbose: 0 silent, 1 or 2 one line per epoch.
        patience: with validation, stop when the validation loss has not improved for
            this many epochs and keep the best epoch's weights; 0 trains every epoch (the course).
        dropout: see indexed_training_model.
        learning_rate: Adam's step size. Default 0.01 (the course).
        label_smoothing: see smoothed_sparse_crossentropy. Default 0 (the course).
        strategy: a tf.distribute strategy (see distribution_strategy); None: the default one.
        echo: where the per-epoch lines go.
    Returns:
        The trained weights and a TrainingHistory.
    Source: the course's model, loss and optimizer (Adam, cross-entropy); the loop follows TensorFlow's
        "Custom training with tf.distribute.Strategy" guide; early stopping keeps the best epoch as
        keras.callbacks.EarlyStopping(restore_best_weights=True) does.
    """
    import time

    import tensorflow as tf

    if seed is not None:
        keras.utils.set_random_seed(seed)
    strategy = strategy or distribution_strategy("default")
    loss_fn = smoothed_sparse_crossentropy(label_smoothing)
    plain_ce = smoothed_sparse_crossentropy(0.0)
    context_width = train.features.shape[1] if train.features is not None else 0
    with strategy.scope():
        model = indexed_training_model(n_values, n_a, train.Tx, layers, dropout, context_width)
        optimizer = keras.optimizers.Adam(learning_rate=learning_rate, beta_1=BETA_1, beta_2=BETA_2)
        optimizer.build(model.trainable_variables)
    scale = float(batch_size * train.Tx)  # the mean over a whole global batch, as Keras's sum_over_batch_size

    def train_step(inputs, targets, weights):
        with tf.GradientTape() as tape:
            probs = model(inputs, training=True)
            loss = tf.reduce_sum(loss_fn(targets, probs) * weights) / scale
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    def score_step(inputs, targets, weights):
        probs = model(inputs, training=False)
        return tf.reduce_sum(plain_ce(targets, probs) * weights), tf.reduce_sum(weights)

    @tf.function
    def train_steps(iterator, n):  # n steps in one graph call (as Keras's steps_per_execution)
        total = tf.constant(0.0)
        for _ in tf.range(n):
            total += strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(train_step, args=next(iterator)),
                                     axis=None)
        return total

    @tf.function
    def score_steps(iterator, n):
        nll, count = tf.constant(0.0), tf.constant(0.0)
        for _ in tf.range(n):
            batch_nll, batch_count = strategy.run(score_step, args=next(iterator))
            nll += strategy.reduce(tf.distribute.ReduceOp.SUM, batch_nll, axis=None)
            count += strategy.reduce(tf.distribute.ReduceOp.SUM, batch_count, axis=None)
        return nll, count

    def run_epoch(steps_fn, iterator, steps: int) -> list[float]:
        sums = None
        for first in range(0, steps, STEPS_PER_CALL):
            part = steps_fn(iterator, tf.constant(min(STEPS_PER_CALL, steps - first)))
            part = [float(x) for x in (part if isinstance(part, tuple) else (part,))]
            sums = part if sums is None else [a + b for a, b in zip(sums, part)]
        return sums

    train_data = iter(strategy.experimental_distribute_dataset(window_dataset(train, batch_size, seed=seed)))
    train_steps_per_epoch = -(-train.m // batch_size)
    val_data = (iter(strategy.experimental_distribute_dataset(window_dataset(validation, batch_size, shuffle=False)))
                if validation is not None and validation.m else None)
    val_steps = -(-validation.m // batch_size) if val_data is not None else 0
    history = TrainingHistory()
    if val_data is not None:
        history.history["val_loss"] = []
    best, best_weights, waited = float("inf"), None, 0
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        [total] = run_epoch(train_steps, train_data, train_steps_per_epoch)
        history.history["loss"].append(total / train_steps_per_epoch)
        line = f"Epoch {epoch}/{epochs}: loss {history.history['loss'][-1]:.4f}"
        if val_data is not None:
            nll, count = run_epoch(score_steps, val_data, val_steps)
            val_loss = nll / max(count, 1.0)
            history.history["val_loss"].append(val_loss)
            line += f", val_loss {val_loss:.4f}"
        if verbose:
            echo(f"{line} ({time.perf_counter() - started:.1f} s)")
        if val_data is not None and patience:
            if history.history["val_loss"][-1] < best:
                best, best_weights, waited = history.history["val_loss"][-1], model.get_weights(), 0
            else:
                waited += 1
                if waited >= patience:
                    break
    if best_weights is not None:
        model.set_weights(best_weights)
    return weights_of(model), history
