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
import numpy as np

from jazzd.pipeline.corpus import Piece
from jazzd.core.conditioning import NAME
from jazzd.core.pitch_choice import fit as fit_choice
from jazzd.core.timing import fit as fit_timing, note_offsets
from jazzd.pipeline.dataset import (HOLDOUT_BLOCK, HOLDOUT_EVERY, HOLDOUT_PHASE, HOLDOUT_SOLOS_EVERY,
                                    VALIDATION_PHASE, split, windows_of)
from jazzd.pipeline.pitches import choice_examples
from jazzd.core.harmony import progression_to_json
from jazzd.core.modeldir import ModelDir, save_model
from jazzd.core.vocab import Vocabulary
from jazzd.files import check_model_target, replaced_dir
from jazzd.settings import default

log = logging.getLogger(__name__)

def corpus_summary(pieces: Sequence[Piece], sources=(), out: Path | None = None) -> dict:
    """What a model was trained on: per file its name, SHA-256, selection and counts.

    Args:
        sources: the paths given to train, saved relative to the model directory
            `out` (so jazzd evaluate finds them again from the model alone).
    """
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
    summary = {"files": files, "sha256": digest}
    if sources and out is not None:
        summary["sources"] = [os.path.relpath(Path(s).resolve(), Path(out).resolve()) for s in sources]
    return summary


HARMONY_BARS = 512  # bars of corpus chords kept in the metadata for [harmony] source = "corpus"


def corpus_harmony(pieces: Sequence[Piece], max_bars: int = HARMONY_BARS) -> dict:
    """The corpus's chords for the metadata: its first max_bars bars (harmony.progression_to_json).

    A model trained on a few hundred solos would otherwise carry megabytes of
    chords; 512 bars (about 16 choruses of a 32-bar tune) are plenty to loop.
    """
    measures = [m for p in pieces for m in p.measures][:max_bars]
    return progression_to_json(measures)


def train(sources, out: Path, *, n_a: int = default("train.n_a"), Tx: int = default("train.Tx"),
          epochs: int = default("train.epochs"), seed: int | None = default("train.seed"),
          layers: int = default("train.layers"), patience: int = default("train.patience"),
          dropout: float = default("train.dropout"), stride: int = default("train.stride"),
          batch_size: int = default("train.batch_size"), workers: int = default("train.workers"),
          learning_rate: float = default("train.learning_rate"),
          label_smoothing: float = default("train.label_smoothing"), strategy: str = default("train.strategy"),
          conditioning: str = default("train.conditioning"), verbose: int = 2,
          echo: Callable[[str], None] = print, progress: bool | None = None,
          **corpus_overrides) -> dict:
    """Train a model on corpus sources and write it to a model directory.

    Args:
        sources: MIDI files, folders of them, or corpus manifests (see jazzd.pipeline.collection).
        out: the model directory to write.
        n_a, Tx, epochs, seed, layers, patience, dropout, stride, batch_size, workers,
            learning_rate, label_smoothing, strategy, conditioning: the [train] settings, each with its meaning,
            range and default in one place: jazzd.settings (README, "Settings").
        verbose: Keras verbosity (2 = one line per epoch).
        echo: where the summary lines go.
        progress: show the parsing progress bar (see jazzd.pipeline.collection.collect).
        corpus_overrides: melody, chords, start, end, ... for every file.
    Returns:
        The metadata written to out/metadata.json.
    Raises:
        CorpusError: if a source is missing or no file is usable (see collect).
    """
    from jazzd.pipeline.collection import collect
    from jazzd.pipeline.evaluate import format_quality_report, quality_report

    check_model_target(out)
    sources = [str(s) for s in sources]
    collection = collect(sources, workers=workers or None, progress=progress, report=lambda line: echo(line),
                         **corpus_overrides)
    pieces = collection.pieces
    all_values = [v for p in pieces for m in p.measures for v in m.values]
    vocab = Vocabulary.from_corpus(all_values)
    conditioned = conditioning != "none"
    data_split = split(pieces, Tx, validation=patience > 0, contexts=conditioned)
    train_windows = windows_of(data_split.train_runs, vocab, Tx, stride,
                               data_split.train_contexts if conditioned else None)
    val_windows = (windows_of(data_split.validation_runs, vocab, Tx, stride,
                              data_split.validation_contexts if conditioned else None) if patience > 0 else None)
    validating = val_windows is not None and val_windows.m > 0
    measures = sum(len(p.measures) for p in pieces)
    names = ", ".join(os.path.basename(p.spec.path) for p in pieces[:3]) + (
        f" and {len(pieces) - 3} more files" if len(pieces) > 3 else "")
    skipped = f"; {len(collection.skipped)} files skipped" if collection.skipped else ""
    echo(f"corpus: {names}: {measures} measures ({len(data_split.held_out)} held out"
         f"{f', {len(data_split.validation_runs)} for validation' if patience > 0 else ''}), "
         f"{len(all_values)} values, n_values = {vocab.n_values}; {len(pieces)} file(s) used{skipped}")
    if patience > 0 and not validating:
        echo(f"no bars for validation (the corpus is too short for its 4-bar blocks): {epochs} epochs, no early stopping")
    echo(f"training: m = {train_windows.m} windows of Tx = {Tx}"
         f"{f' (stride {stride})' if stride > 1 else ''} from {data_split.n_train_values} values, every window "
         f"every epoch; held out: {data_split.n_held_out_values} values; n_a = {n_a}"
         f"{f', {layers} LSTM layers' if layers > 1 else ''}, "
         f"{f'up to {epochs} epochs, early stopping after {patience}' if validating and patience else f'{epochs} epochs'}"
         f"{f', dropout {dropout:g}' if dropout else ''}")

    from jazzd.pipeline import model  # TensorFlow is imported only here

    distribution = model.distribution_strategy(strategy)
    if strategy == "multi-worker":
        echo(f"strategy multi-worker: task {distribution.cluster_resolver.task_type} "
             f"{distribution.cluster_resolver.task_id} of {distribution.cluster_resolver.cluster_spec().num_tasks('worker')} workers")
    if strategy != "default":
        echo(f"strategy {strategy}: {distribution.num_replicas_in_sync} replicas, a global batch of {batch_size}")
    started = time.perf_counter()
    weights, history = model.fit_windows(train_windows, vocab.n_values, val_windows if validating else None,
                                         n_a=n_a, epochs=epochs, batch_size=batch_size, seed=seed, verbose=verbose,
                                         layers=layers, patience=patience if validating else 0, dropout=dropout,
                                         learning_rate=learning_rate, label_smoothing=label_smoothing,
                                         strategy=distribution, echo=echo)
    train_seconds = time.perf_counter() - started
    losses = history.history["loss"]
    best_epoch = (int(np.argmin(history.history["val_loss"])) + 1) if "val_loss" in history.history else len(losses)
    echo(f"trained in {train_seconds:.1f} s, {len(losses)} epochs"
         f"{f' (weights of epoch {best_epoch}, the best on validation)' if validating and patience else ''}; "
         f"final training loss {losses[-1]:.3f} per step")
    if not model.is_chief(distribution):
        echo(f"trained as {distribution.cluster_resolver.task_type} {distribution.cluster_resolver.task_id} of the "
             f"cluster; its chief writes the model")
        return {}
    examples = choice_examples(data_split.seen_measure_runs)
    choice = fit_choice(examples)
    echo(f"pitch choice: fitted on {len(examples)} notes of the bars trained on")
    offsets = note_offsets(m for run in data_split.seen_measure_runs for m in run)
    timing = fit_timing(offsets)
    echo(f"timing: the players' offsets from the grid, from {len(offsets)} notes of the bars trained on")
    metadata = {
        "Tx": Tx,
        "m": train_windows.m,
        "stride": stride,
        "epochs": epochs,
        "epochs_run": len(losses),
        "best_epoch": best_epoch,
        "patience": patience,
        "dropout": dropout,
        "label_smoothing": label_smoothing,
        "batch_size": batch_size,
        "seed": seed,
        "train_seconds": round(train_seconds, 2),
        "final_train_loss": float(losses[-1]),
        "corpus": corpus_summary(pieces, sources, out),
        "skipped": [{"file": str(s.path), "reason": s.reason} for s in collection.skipped],
        "split": {"held_out": (f"solos: int(SHA-256[:12], 16) % {HOLDOUT_SOLOS_EVERY} == 0" if data_split.by_solos
                               else f"bars: (bar number // {HOLDOUT_BLOCK}) % {HOLDOUT_EVERY} == {HOLDOUT_PHASE}"),
                  "held_out_solos": [p.spec.path.name for p in data_split.held_out_pieces],
                  "validation_bars": (f"(bar number // {HOLDOUT_BLOCK}) % {HOLDOUT_EVERY} == {VALIDATION_PHASE}"
                                      if patience else None),
                  "train_values": data_split.n_train_values, "held_out_values": data_split.n_held_out_values},
        "conditioning_setting": conditioning,
        "harmony": corpus_harmony(pieces),
        "trained": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "jazzd_version": __version__,
        "optimizer": {"name": "Adam", "learning_rate": learning_rate, "beta_1": model.BETA_1, "beta_2": model.BETA_2},
    }
    # Scored as saved: weights.npz holds float32, as Keras trained them.
    metadata["conditioning"] = NAME if conditioned else None
    report = quality_report(ModelDir(Path(out), weights, vocab, metadata, choice, timing), pieces, seed=0)
    echo(format_quality_report(report))
    metadata["metrics"] = {"held_out": {k: report["prediction"][k] for k in ("lstm", "unigram", "bigram", "trigram")},
                           "quality": report}
    with replaced_dir(out) as tmp:  # an interrupted run leaves the old model as it was
        save_model(tmp, weights, vocab, metadata, choice, timing)
    echo(f"wrote {out}")
    return metadata
