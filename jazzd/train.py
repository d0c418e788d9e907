"""Training: corpus -> vocabulary -> windows -> Keras fit -> held-out report -> model directory.

The held-out report scores the trained LSTM (through the same numpy step the
daemon uses) next to n-gram baselines fitted on the same training bars.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Callable, Sequence

from jazzd import __version__
from jazzd.baseline import NgramModel, evaluate
from jazzd.corpus import Piece, load_corpus
from jazzd.harmony import progression_to_json
from jazzd.dataset import HOLDOUT_EVERY, HOLDOUT_PHASE, split, windows
from jazzd.improviser import Improviser
from jazzd.modeldir import save_model
from jazzd.vocab import Vocabulary

log = logging.getLogger(__name__)

N_A = 64
TX = 30
EPOCHS = 100


def corpus_summary(pieces: Sequence[Piece]) -> dict:
    """What a model was trained on: per file its name, SHA-256, selection and counts."""
    files = []
    for p in pieces:
        files.append({
            "file": os.path.basename(p.spec.path),
            "sha256": p.sha256,
            "selection": p.spec.key(),
            "measures": len(p.measures),
            "values": p.n_values,
        })
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
    return {"files": files, "sha256": digest}


def held_out_report(weights, vocab: Vocabulary, data_split) -> dict:
    """Held-out loss per value, perplexity and accuracy: LSTM and n-gram baselines.

    Returns:
        {"lstm": {...}, "unigram": {...}, "bigram": {...}, "trigram": {...}},
        each as baseline.evaluate returns it.
    """
    runs = [vocab.encode(r) for r in data_split.train_runs]
    report = {"lstm": evaluate(Improviser(weights, vocab).predictor(), data_split.held_out, vocab)}
    for order, name in ((1, "unigram"), (2, "bigram"), (3, "trigram")):
        report[name] = evaluate(NgramModel(order, vocab.n_values).fit(runs).predictor(), data_split.held_out, vocab)
    return report


def format_report(report: dict) -> str:
    """The held-out report as a small table."""
    lines = [f"{'held-out':<10}{'loss/value':>11}{'perplexity':>12}{'accuracy':>10}"]
    for name, r in report.items():
        lines.append(f"{name:<10}{r['loss']:>11.3f}{r['perplexity']:>12.2f}{r['accuracy']:>10.3f}")
    return "\n".join(lines)


def train(sources, out: Path, n_a: int = N_A, Tx: int = TX, epochs: int = EPOCHS, seed: int | None = 0,
          verbose: int = 2, echo: Callable[[str], None] = print, layers: int = 1, **corpus_overrides) -> dict:
    """Train a model on corpus sources and write it to a model directory.

    Args:
        sources: MIDI files or corpus manifests (see jazzd.corpus).
        out: the model directory to write.
        n_a: LSTM units. Default 64.
        layers: stacked LSTM layers. Default 1 (the course).
        Tx: window length in values. Default 30.
        epochs: Default 100.
        seed: for a repeatable run; None for a fresh one.
        verbose: Keras verbosity (2 = one line per epoch).
        echo: where the summary lines go.
        corpus_overrides: melody, chords, start, end for every source.
    Returns:
        The metadata written to out/metadata.json.
    Raises:
        CorpusError: see jazzd.corpus.load_corpus.
    """
    pieces = load_corpus(sources, **corpus_overrides)
    all_values = [v for p in pieces for m in p.measures for v in m.values]
    vocab = Vocabulary.from_corpus(all_values)
    data_split = split(pieces, Tx)
    X, Y = windows(data_split.train_runs, vocab, Tx)
    measures = sum(len(p.measures) for p in pieces)
    echo(f"corpus: {', '.join(os.path.basename(p.spec.path) for p in pieces)}: {measures} measures "
         f"({len(data_split.held_out)} held out), {len(all_values)} values, n_values = {vocab.n_values}")
    echo(f"training: m = {X.shape[0]} windows of Tx = {Tx} from {data_split.n_train_values} values; "
         f"held out: {data_split.n_held_out_values} values; n_a = {n_a}"
         f"{f', {layers} LSTM layers' if layers > 1 else ''}, {epochs} epochs")

    from jazzd import model  # TensorFlow is imported only here

    started = time.perf_counter()
    weights, history = model.fit(X, Y, n_a=n_a, epochs=epochs, seed=seed, verbose=verbose, layers=layers)
    train_seconds = time.perf_counter() - started
    report = held_out_report(weights, vocab, data_split)
    echo(f"trained in {train_seconds:.1f} s; final training loss {history.history['loss'][-1]:.3f} per step")
    echo(format_report(report))
    metadata = {
        "Tx": Tx,
        "m": int(X.shape[0]),
        "epochs": epochs,
        "seed": seed,
        "train_seconds": round(train_seconds, 2),
        "final_train_loss": float(history.history["loss"][-1]),
        "corpus": corpus_summary(pieces),
        "split": {"held_out_bars": f"bar number % {HOLDOUT_EVERY} == {HOLDOUT_PHASE}",
                  "train_values": data_split.n_train_values, "held_out_values": data_split.n_held_out_values},
        "metrics": {"held_out": report},
        "harmony": progression_to_json([m for p in pieces for m in p.measures]),
        "trained": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "jazzd_version": __version__,
        "optimizer": {"name": "Adam", "learning_rate": model.LEARNING_RATE, "beta_1": model.BETA_1, "beta_2": model.BETA_2},
    }
    save_model(out, weights, vocab, metadata)
    echo(f"wrote {out}")
    return metadata
