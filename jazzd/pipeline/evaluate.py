"""The quality report of a model: `jazzd evaluate MODEL [CORPUS]`, also saved at training time.

Two halves:

1. Prediction, on the corpus's held-out bars (jazzd.pipeline.dataset's split): loss per
   value (natural log) and perplexity of the LSTM next to unigram, bigram and
   trigram baselines with Witten-Bell smoothing (jazzd.pipeline.baseline) fitted on the
   same split's training bars.
2. Generation, N bars improvised over the corpus's own chords (through the same
   Soloist the daemon uses): the share of notes that sound as chord, scale,
   approach and other tones next to the corpus's shares, the longest run of
   one repeated value, the distinct 4-gram ratio of the values, and the longest
   run of values copied verbatim from the corpus.

Goals (issue 5): the LSTM beats the best n-gram on held-out loss; chord+scale
share within 5 points of the corpus's; no repeated-value run above 8; no copied
run above 16 at temperature 1.0.
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np

from jazzd.pipeline.baseline import NgramModel, evaluate
from jazzd.pipeline.corpus import Piece
from jazzd.pipeline.dataset import split
from jazzd.core.grammar import ELEMENT_TYPES, PITCHED_TYPES
from jazzd.core.harmony import progression_from_json, progression_to_json
from jazzd.core.improviser import Improviser
from jazzd.core.solo import make_soloist, seeded_generators

GOAL_SHARE_POINTS = 5.0
GOAL_REPEAT_RUN = 8
GOAL_COPIED_RUN = 16
NGRAM_FOR_DIVERSITY = 4


def longest_repeat_run(values: Sequence[str]) -> int:
    """Length of the longest run of one value repeated back to back (0 for no values)."""
    best = run = 0
    for i, v in enumerate(values):
        run = run + 1 if i and v == values[i - 1] else 1
        best = max(best, run)
    return best


def distinct_ngram_ratio(values: Sequence[str], n: int = NGRAM_FOR_DIVERSITY) -> float:
    """Distinct n-grams / all n-grams of a value sequence (1.0 = nothing repeats; nan if shorter than n)."""
    grams = [tuple(values[i : i + n]) for i in range(len(values) - n + 1)]
    return len(set(grams)) / len(grams) if grams else float("nan")


def longest_copied_run(generated: Sequence[str], runs: Sequence[Sequence[str]]) -> int:
    """Length of the longest stretch of generated values found verbatim in one of the runs.

    Args:
        generated: the generated values.
        runs: the corpus, as runs of consecutive values (a copy never spans two runs).
    Returns:
        The length, 0 if no generated value occurs in the corpus.
    """
    ids: dict[str, int] = {}
    corpus = [np.array([ids.setdefault(v, len(ids)) for v in run], dtype=np.int32) for run in runs]
    gen = np.array([ids.get(v, -1) for v in generated], dtype=np.int32)

    def found(length: int) -> bool:
        grams = {run[i : i + length].tobytes() for run in corpus for i in range(len(run) - length + 1)}
        return any(gen[i : i + length].tobytes() in grams for i in range(len(gen) - length + 1))

    lo, hi = 0, len(gen)  # found(lo) holds; find the largest such length
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if found(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def type_shares(kinds: Sequence[str]) -> dict[str, float]:
    """Percentages of chord (C), scale (S), approach (A) and other (X) tones among pitched kinds."""
    counts = Counter(k for k in kinds if k in PITCHED_TYPES)
    total = sum(counts.values())
    return {k: 100.0 * counts[k] / total if total else float("nan") for k in PITCHED_TYPES}


def corpus_runs(pieces: Sequence[Piece]) -> list[list[str]]:
    """The corpus's values as runs of consecutive bars."""
    return [[v for m in run for v in m.values] for piece in pieces for run in piece.runs()]


def prediction_report(model, pieces: Sequence[Piece]) -> dict:
    """Held-out loss per value, perplexity and accuracy: the LSTM and the n-gram baselines.

    Held-out bars with a value outside the model's vocabulary (a foreign corpus)
    are left out and counted.

    Returns:
        {"lstm"|"unigram"|"bigram"|"trigram": baseline.evaluate's dict,
         "bars": held-out bars scored, "bars_left_out": bars with unknown values}.
    """
    vocab = model.vocab
    data = split(pieces, model.Tx)
    known = [h for h in data.held_out if all(v in vocab.index for v in (*h.context, *h.target))]
    train_runs = [[v for v in run if v in vocab.index] for run in data.train_runs]
    encoded = [vocab.encode(r) for r in train_runs if r]
    report = {"lstm": evaluate(Improviser(model.weights, vocab).predictor(), known, vocab)}
    for order, name in ((1, "unigram"), (2, "bigram"), (3, "trigram")):
        report[name] = evaluate(NgramModel(order, vocab.n_values).fit(encoded).predictor(), known, vocab)
    report["bars"] = len(known)
    report["bars_left_out"] = len(data.held_out) - len(known)
    return report


def generation_report(model, pieces: Sequence[Piece], bars: int = 64, temperature: float = 1.0,
                      seed: int | None = 0, low: int = 52, high: int = 81) -> dict:
    """Statistics of `bars` bars generated over the corpus's chords, next to the corpus's own.

    Args:
        model: a loaded jazzd.core.modeldir.ModelDir.
        pieces: the corpus (its chords, in order and looped, are the harmony).
        bars: how many bars to generate.
        temperature: sampling temperature.
        seed: for a repeatable report.
        low, high: the realizer's pitch range (MIDI note numbers).
    Returns:
        {"bars", "values", "notes", "temperature", "seed",
         "types": {"generated": {C,S,A,X: %}, "corpus": {...}},
         "chord_scale_points": generated minus corpus chord+scale share,
         "longest_repeat_run", "distinct_4gram_ratio", "longest_copied_run",
         "corpus": {"longest_repeat_run", "distinct_4gram_ratio"}}.
    """
    measures = [m for p in pieces for m in p.measures]
    harmony = progression_from_json(progression_to_json(measures))
    soloist = make_soloist(model, harmony, seeded_generators(seed), temperature=temperature, low=low, high=high)
    end = bars * harmony.beats_per_bar
    events = []
    while soloist.horizon < end:
        events.append(soloist.next_event())
    values = [e.value for e in events]
    heard = [e.chord.types[e.note.pitch % 12] for e in events if e.note is not None]
    runs = corpus_runs(pieces)
    corpus_values = [v for run in runs for v in run]
    generated_shares = type_shares(heard)
    corpus_shares = type_shares([v.split(",", 1)[0] for v in corpus_values])
    return {
        "bars": bars,
        "values": len(values),
        "notes": len(heard),
        "temperature": temperature,
        "seed": seed,
        "types": {"generated": generated_shares, "corpus": corpus_shares},
        "chord_scale_points": (generated_shares["C"] + generated_shares["S"]) - (corpus_shares["C"] + corpus_shares["S"]),
        "longest_repeat_run": longest_repeat_run(values),
        "distinct_4gram_ratio": distinct_ngram_ratio(values),
        "longest_copied_run": longest_copied_run(values, runs),
        "corpus": {"longest_repeat_run": longest_repeat_run(corpus_values),
                   "distinct_4gram_ratio": distinct_ngram_ratio(corpus_values)},
    }


def goals(prediction: dict, generation: dict) -> dict[str, bool]:
    """Which of issue 5's goals the report meets."""
    best_ngram = min(prediction[k]["loss"] for k in ("unigram", "bigram", "trigram"))
    return {
        "lstm beats the best n-gram on held-out loss": bool(prediction["lstm"]["loss"] < best_ngram),
        f"chord+scale share within {GOAL_SHARE_POINTS:g} points of the corpus": bool(
            abs(generation["chord_scale_points"]) <= GOAL_SHARE_POINTS),
        f"longest repeated-value run <= {GOAL_REPEAT_RUN}": generation["longest_repeat_run"] <= GOAL_REPEAT_RUN,
        f"longest copied run <= {GOAL_COPIED_RUN}": generation["longest_copied_run"] <= GOAL_COPIED_RUN,
    }


def quality_report(model, pieces: Sequence[Piece], bars: int = 64, temperature: float = 1.0,
                   seed: int | None = 0) -> dict:
    """The whole report: {"prediction": ..., "generation": ..., "goals": ...}."""
    prediction = prediction_report(model, pieces)
    generation = generation_report(model, pieces, bars, temperature, seed)
    return {"prediction": prediction, "generation": generation, "goals": goals(prediction, generation)}


def format_loss_table(scores: dict) -> str:
    """Loss per value, perplexity and accuracy per model ({name: baseline.evaluate's dict}) as a table."""
    lines = [f"{'model':<10}{'loss/value':>11}{'perplexity':>12}{'accuracy':>10}"]
    for name, r in scores.items():
        lines.append(f"{name:<10}{r['loss']:>11.3f}{r['perplexity']:>12.2f}{r['accuracy']:>10.3f}")
    return "\n".join(lines)


def format_quality_report(report: dict) -> str:
    """The report as the tables `jazzd evaluate` prints."""
    p, g = report["prediction"], report["generation"]
    lines = [f"held-out bars: {p['bars']}" + (f" ({p['bars_left_out']} left out: values the model does not know)"
                                             if p["bars_left_out"] else ""),
             format_loss_table({name: p[name] for name in ("lstm", "unigram", "bigram", "trigram")})]
    lines.append("")
    lines.append(f"generated: {g['bars']} bars over the corpus's chords, {g['values']} values, {g['notes']} notes, "
                 f"temperature {g['temperature']:g}, seed {g['seed']}")
    lines.append(f"{'tone type':<16}{'generated %':>12}{'corpus %':>10}")
    for k in PITCHED_TYPES:
        lines.append(f"{ELEMENT_TYPES[k]:<16}{g['types']['generated'][k]:>12.1f}{g['types']['corpus'][k]:>10.1f}")
    lines.append(f"{'chord+scale':<16}{g['types']['generated']['C'] + g['types']['generated']['S']:>12.1f}"
                 f"{g['types']['corpus']['C'] + g['types']['corpus']['S']:>10.1f}")
    lines.append(f"longest repeated-value run: {g['longest_repeat_run']} (corpus {g['corpus']['longest_repeat_run']})")
    lines.append(f"distinct 4-gram ratio: {g['distinct_4gram_ratio']:.3f} (corpus {g['corpus']['distinct_4gram_ratio']:.3f})")
    lines.append(f"longest run copied from the corpus: {g['longest_copied_run']} values")
    lines.append("")
    for goal, met in report["goals"].items():
        lines.append(f"[{'met' if met else 'MISSED'}] {goal}")
    return "\n".join(lines)

