"""`jazzd evaluate`: how good a model is, measured on held-out solos and against real ones.

Three parts, saved in a model's metadata at training and printed by
`jazzd evaluate MODEL [CORPUS]`:

1. Prediction, on held-out bars (the model's own held-out solos, or every bar of
   another corpus): the loss per value (natural log) of the LSTM next to
   unigram, bigram and trigram baselines (Witten-Bell, jazzd.pipeline.baseline)
   fitted on the model's own training bars; and the loss per *note*: the
   probability of each exact note (pitch and duration; a rest by its duration)
   summed over every value that could have played it, times the learned
   realizer's probability of that pitch (jazzd.pipeline.pitches). MINGUS and
   BebopNet report 3.82 and 3.80 nats per note on the same database.
2. Solos against solos: SOLOS held-out solos of BARS bars each, next to as
   many solos generated over the same chords (seeds 0, 1, ...): where notes fall
   in the beat, notes per bar, mean absolute interval, pitch range, pitch-class
   entropy over 1 and 4 bars (H1, H4) and grooving similarity (GS) by the
   Jazz Transformer's MusDr definitions, and the shares of chord and scale
   tones by MINGUS's. Loops of any period are found, and the longest stretch
   copied from the training bars.
3. Goals, each met or missed; none is judged on fewer than MIN_VERDICT_BARS bars.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from typing import Sequence

import numpy as np

from jazzd.core.conditioning import PHRASE_BARS
from jazzd.core.feel import Feel
from jazzd.core.grammar import PITCHED_TYPES
from jazzd.core.harmony import chord_of, progression_from_json, progression_to_json
from jazzd.core.improviser import Improviser
from jazzd.core.solo import make_soloist, seeded_generators
from jazzd.core.timing import note_offsets
from jazzd.pipeline.baseline import NgramModel
from jazzd.pipeline.baseline import evaluate as score_predictor
from jazzd.pipeline.dataset import HeldOut, piece_contexts, split
from jazzd.pipeline.pitches import corpus_realizer, played
from jazzd.settings import SETTING_BY_KEY

MIN_VERDICT_BARS = 200
SOLOS = 20
BARS = 32
ONSET_TOLERANCE = 1 / 24  # beats: an onset this close to a point of the grid sits on it
ONSET_CLASSES = ("eighth", "sixteenth", "triplet", "finer")
GROOVE_POSITIONS = 64  # onset positions per bar (MusDr / the Jazz Transformer: a 16th of a beat in 4/4)
GROOVE_PAIRS = 1000
LOOP_MIN = 16  # values: a stretch this long that repeats at once (any period) is a loop
MAX_LOOP_PERIOD = 64
MINGUS_PITCH_PER_NOTE = 3.82  # nats, MINGUS Table 1 (pitch 11.01 and duration 4.14 perplexity)
BEBOPNET_PER_NOTE = 3.80  # nats, BebopNet retrained on WJazzD (joint perplexity 44.70)
GOAL_ONSET_TVD = 0.08
GOAL_RELATIVE = 0.15
GOAL_H4_BITS = 0.1
GOAL_CHORD_POINTS = 3.0
GOAL_COPIED_RUN = 16
REST_BEATS = 1.0  # a silence this long between two notes ends a phrase (issue 26: rests of a beat to a bar or more)
PHRASE_WINDOW_BARS = 4  # the stretch a silent bar is looked for in (trading fours)
GOAL_SILENCE_POINTS = 3.0  # bars with no note, and 4-bar stretches with a silent bar: within this many points
NGRAMS = ((1, "unigram"), (2, "bigram"), (3, "trigram"))
TOP_P = SETTING_BY_KEY["improviser.top_p"].default  # generated solos are sampled as jazzd plays by default


# -- statistics of a sequence of values --------------------------------------------------------

def longest_repeat_run(values: Sequence[str]) -> int:
    """Length of the longest run of one value repeated back to back (0 for no values)."""
    best = run = 0
    for i, v in enumerate(values):
        run = run + 1 if i and v == values[i - 1] else 1
        best = max(best, run)
    return best


def longest_loop(values: Sequence[str], min_length: int = LOOP_MIN, max_period: int = MAX_LOOP_PERIOD) -> dict:
    """The longest stretch of values that repeats itself at once, with any period up to max_period.

    A stretch values[i:j] is periodic with period p when values[k] == values[k + p] for every k in
    it; it is a loop when it is at least min_length long and holds two whole periods.
    Returns:
        {"period", "length", "start"} of the longest loop, or {"period": 0, "length": 0, "start": None}.
    """
    best = {"period": 0, "length": 0, "start": None}
    n = len(values)
    for p in range(1, min(max_period, n // 2) + 1):
        run = 0
        for k in range(n - p):
            run = run + 1 if values[k] == values[k + p] else 0
            length = run + p  # the matching stretch plus the period it repeats
            if run and length >= max(min_length, 2 * p) and length > best["length"]:
                best = {"period": p, "length": length, "start": k - run + 1}
    return best


def distinct_ngram_ratio(values: Sequence[str], n: int = 4) -> float:
    """Distinct n-grams / all n-grams of a value sequence (1.0 = nothing repeats; nan if shorter than n)."""
    grams = [tuple(values[i: i + n]) for i in range(len(values) - n + 1)]
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
        grams = {run[i: i + length].tobytes() for run in corpus for i in range(len(run) - length + 1)}
        return any(gen[i: i + length].tobytes() in grams for i in range(len(gen) - length + 1))

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


# -- statistics of a solo ----------------------------------------------------------------------

def onset_class(position: float, tolerance: float = ONSET_TOLERANCE) -> str:
    """Where an onset sits in its beat: on an eighth-note point, else on a 16th, else on a triplet, else finer."""
    f = position - math.floor(position)
    for name, points in (("eighth", (0, 0.5, 1)), ("sixteenth", (0.25, 0.75)), ("triplet", (1 / 3, 2 / 3))):
        if min(abs(f - p) for p in points) <= tolerance:
            return name
    return "finer"


def mingus_tones(chord) -> tuple[frozenset, frozenset]:
    """A chord's tones and scale as MINGUS's harmonic coherence counts them, as pitch classes.

    Chord tones: the chord symbol's pitches, with a major seventh added when it has fewer than four
    (music21's "add 7"); scale: the chord tones with the root's major scale (music21's "add 2".."add 8").
    Source: MINGUS, D_evaluate/eval_funct.py HarmonicCoherence and B_train/loadDB.py (read, not copied);
        it compares pitch names, jazzd pitch classes (an enharmonic spelling is the same tone).
    """
    tones = set(chord.pitch_classes)
    if len(tones) < 4:
        tones.add((chord.root + 11) % 12)
    scale = tones | {(chord.root + step) % 12 for step in (0, 2, 4, 5, 7, 9, 11)}
    return frozenset(tones), frozenset(scale)


def pitch_class_entropy(bars: Sequence[Sequence[int]], window: int) -> float:
    """MusDr's H: the mean, over every window of `window` consecutive bars holding notes, of the entropy
    (bits) of its pitch-class histogram. Source: MusDr eval_metrics.compute_piece_pitch_entropy."""
    window = min(window, len(bars))
    entropies = []
    for start in range(0, len(bars) - window + 1):
        counts = np.bincount([p % 12 for bar in bars[start:start + window] for p in bar], minlength=12)
        if counts.sum():
            q = counts[counts > 0] / counts.sum()
            entropies.append(float(-(q * np.log2(q)).sum()))
    return float(np.mean(entropies)) if entropies else float("nan")


def groove_similarity(bars: Sequence[Sequence[float]], bar_length: float, seed: int = 0) -> float:
    """MusDr's GS: the mean over pairs of bars (at most GROOVE_PAIRS, drawn at random) of 1 minus the share
    of the GROOVE_POSITIONS onset positions where one bar has an onset and the other not.
    Source: MusDr eval_metrics.compute_piece_groove_similarity."""
    vectors = []
    for onsets in bars:
        v = np.zeros(GROOVE_POSITIONS, bool)
        for o in onsets:
            v[min(GROOVE_POSITIONS - 1, int(round(o / bar_length * GROOVE_POSITIONS)))] = True
        vectors.append(v)
    pairs = list(itertools.combinations(range(len(vectors)), 2))
    if len(pairs) > GROOVE_PAIRS:
        pairs = random.Random(seed).sample(pairs, GROOVE_PAIRS)
    if not pairs:
        return float("nan")
    return float(np.mean([1 - np.sum(vectors[a] != vectors[b]) / GROOVE_POSITIONS for a, b in pairs]))


def phrasing(onsets_ends: Sequence[tuple[float, float]], bars: int, bar_length: float) -> dict:
    """How a solo breathes: its phrases and the rests between them, and its silent bars.

    Args:
        onsets_ends: (onset, end) in beats from the solo's start per note, by onset.
        bars: the solo's length in bars. bar_length: beats per bar.
    Returns:
        {"silent_bars": bars in which no note sounds, "windows": 4-bar stretches (PHRASE_WINDOW_BARS, from the
        start), "silent_windows": those with a silent bar, "phrases": phrase lengths (beats, first onset to last
        end, between rests of REST_BEATS or more), "rests": those rests (beats)}.
    """
    sounding = [False] * bars
    for onset, end in onsets_ends:
        first = int(math.floor(onset / bar_length + 1e-9))
        last = int(math.ceil(max(end, onset + 1e-6) / bar_length - 1e-9)) - 1
        for bar in range(max(0, first), min(bars - 1, last) + 1):
            sounding[bar] = True
    windows = [sounding[k:k + PHRASE_WINDOW_BARS] for k in range(0, bars - PHRASE_WINDOW_BARS + 1, PHRASE_WINDOW_BARS)]
    phrases, rests = [], []
    start = end = None
    for onset, note_end in onsets_ends:
        if start is None:
            start, end = onset, note_end
        elif onset - end >= REST_BEATS - 1e-9:
            phrases.append(end - start)
            rests.append(onset - end)
            start, end = onset, note_end
        else:
            end = max(end, note_end)
    if start is not None:
        phrases.append(end - start)
    return {"silent_bars": sounding.count(False), "windows": len(windows),
            "silent_windows": sum(1 for w in windows if not all(w)), "phrases": phrases, "rests": rests}


def solo_statistics(notes, bars: int, bar_length: float) -> dict:
    """Statistics of one solo.

    Args:
        notes: (onset in beats from the solo's start, MIDI note number, chord, onset as played[, end in beats])
            per note; without an end a note is taken to end where it starts (for the phrasing figures).
        bars: the solo's length in bars. bar_length: beats per bar.
    Returns:
        {"onsets": Counter of ONSET_CLASSES, "notes_per_bar", "intervals": absolute intervals (semitones),
        "range" (semitones), "H1", "H4", "GS", "chord_tones", "scale_tones" (counts), "notes", "bars"}, and the
        phrasing() figures.
    """
    by_bar_pitches = [[] for _ in range(bars)]
    by_bar_onsets = [[] for _ in range(bars)]
    chord_hits = scale_hits = 0
    for onset, pitch, chord, played_at, *_ in notes:
        bar = min(bars - 1, int(math.floor(onset / bar_length + 1e-9)))
        by_bar_pitches[bar].append(pitch)
        by_bar_onsets[bar].append(onset - bar * bar_length)
        tones, scale = mingus_tones(chord)
        chord_hits += pitch % 12 in tones
        scale_hits += pitch % 12 in scale
    pitches = [n[1] for n in notes]
    breath = phrasing(sorted((n[0], n[4] if len(n) > 4 else n[0]) for n in notes), bars, bar_length)
    return {
        **breath,
        "bars": bars,
        "onsets": Counter(onset_class(n[3]) for n in notes),
        "notes": len(notes),
        "notes_per_bar": len(notes) / bars,
        "intervals": [abs(b - a) for a, b in zip(pitches, pitches[1:])],
        "range": (max(pitches) - min(pitches)) if pitches else 0,
        "H1": pitch_class_entropy(by_bar_pitches, 1),
        "H4": pitch_class_entropy(by_bar_pitches, 4),
        "GS": groove_similarity(by_bar_onsets, bar_length),
        "chord_tones": chord_hits,
        "scale_tones": scale_hits,
    }


def summarize(stats: Sequence[dict]) -> dict:
    """Means over solos (pooled where a figure is a share), as the comparison table prints them."""
    onsets = sum((s["onsets"] for s in stats), Counter())
    total = sum(onsets.values()) or 1
    notes = sum(s["notes"] for s in stats) or 1
    intervals = [i for s in stats for i in s["intervals"]]
    ranges = [s["range"] for s in stats]
    return {
        "solos": len(stats),
        "onsets": {k: onsets[k] / total for k in ONSET_CLASSES},
        "notes_per_bar": float(np.mean([s["notes_per_bar"] for s in stats])) if stats else float("nan"),
        "mean_interval": float(np.mean(intervals)) if intervals else float("nan"),
        "range": float(np.mean(ranges)) if ranges else float("nan"),
        "range_sd": float(np.std(ranges)) if ranges else float("nan"),
        "H1": float(np.nanmean([s["H1"] for s in stats])) if stats else float("nan"),
        "H4": float(np.nanmean([s["H4"] for s in stats])) if stats else float("nan"),
        "GS": float(np.nanmean([s["GS"] for s in stats])) if stats else float("nan"),
        "chord_tones": 100.0 * sum(s["chord_tones"] for s in stats) / notes,
        "scale_tones": 100.0 * sum(s["scale_tones"] for s in stats) / notes,
        **summarize_phrasing(stats),
    }


def summarize_phrasing(stats: Sequence[dict]) -> dict:
    """The phrasing figures of solos (phrasing() results with their "bars"), pooled: % of bars with no note, % of
    4-bar stretches with a silent bar, mean phrase and rest length (beats), rests per 4 bars."""
    bars = sum(s["bars"] for s in stats) or 1
    phrases = [p for s in stats for p in s["phrases"]]
    rests = [r for s in stats for r in s["rests"]]
    return {"silent_bars": 100.0 * sum(s["silent_bars"] for s in stats) / bars,
            "silent_windows": 100.0 * sum(s["silent_windows"] for s in stats) / (sum(s["windows"] for s in stats) or 1),
            "phrase_beats": float(np.mean(phrases)) if phrases else float("nan"),
            "rest_beats": float(np.mean(rests)) if rests else 0.0,
            "rests_per_4_bars": 4.0 * len(rests) / bars}


def real_phrasing(piece, bars: int) -> dict:
    """The phrasing figures of a real solo over `bars` consecutive bar numbers, the bars its player left empty
    among them (the corpus keeps only bars with notes, so its runs of consecutive bars never hold a silent one):
    from its first bar that starts a 4-bar phrase, within its first and last bar with notes."""
    measures = sorted(piece.measures, key=lambda m: m.number)
    first = next((m for m in measures if (m.number - 1) % PHRASE_BARS == 0), measures[0])
    last_number = min(first.number + bars - 1, measures[-1].number)
    inside = [m for m in measures if first.number <= m.number <= last_number]
    length = first.length
    notes = [(m.offset - first.offset + n.offset - m.offset, m.offset - first.offset + n.offset - m.offset + n.duration)
             for m in inside for n in m.notes if n.pitch is not None]
    count = last_number - first.number + 1
    return {**phrasing(sorted(notes), count, length), "bars": count}


def total_variation(p: dict, q: dict) -> float:
    """Half the sum of absolute differences of two distributions over the same keys."""
    return 0.5 * sum(abs(p[k] - q[k]) for k in p)


# -- the held-out bars and the note probabilities ----------------------------------------------

def every_bar(pieces, Tx: int, contexts: bool) -> list[HeldOut]:
    """Every bar of a corpus as a held-out bar (a corpus the model never trained on)."""
    held = []
    for piece in pieces:
        ctx = piece_contexts(piece) if contexts else None
        index_of = {id(m): i for i, m in enumerate(piece.measures)}
        for run in piece.runs():
            seen, seen_ctx = [], []
            for measure in run:
                c = ctx[index_of[id(measure)]] if contexts else []
                k = max(0, Tx - len(measure.values))
                held.append(HeldOut(measure.number, tuple(seen[-k:]) if k else (), tuple(measure.values),
                                    (tuple(seen_ctx[-k:]) if k else ()) + tuple(c) if contexts else (),
                                    piece.spec.path.name, measure))
                seen.extend(measure.values)
                seen_ctx.extend(c)
    return held


class NoteScorer:
    """The probability of exact notes: each value that could have played a note, weighted by the model's
    probability of that value, times the realizer's probability of the pitch given the value."""

    def __init__(self, model):
        vocab = model.vocab
        self.realizer = corpus_realizer(model.pitch_choice)
        self.parsed = vocab.parsed
        self.kinds = np.array([v.kind for v in self.parsed])
        self.durations = np.array([v.duration for v in self.parsed])
        self.bounded = np.array([v.has_bounds for v in self.parsed])
        self.lower = np.array([v.lower if v.has_bounds else 0 for v in self.parsed])
        self.upper = np.array([v.upper if v.has_bounds else 0 for v in self.parsed])

    def probability(self, probs: np.ndarray, note) -> float:
        """P(note) from one step's distribution over values (probs, shape (n_values,)) and a pitches.Played."""
        d = note.value.duration
        if note.pitch is None:
            return float(probs[(self.kinds == "R") & (self.durations == d)].sum())
        kind = note.chord.types[note.pitch % 12]
        mask = (self.kinds == kind) & (self.durations == d)
        if note.previous is not None:
            step = note.pitch - note.previous
            mask &= ~self.bounded | ((self.lower <= step) & (step <= self.upper))
        else:
            mask &= ~self.bounded
        total = 0.0
        for j in np.flatnonzero(mask):
            if probs[j] < 1e-12:
                continue
            if note.previous is None:  # the first note of a run: any tone of its type, by register
                found = [p for p in range(128) if note.chord.types[p % 12] == kind]
                weights = self.realizer.choice.pitch[found]
                share = np.exp(weights - weights.max())
                share = share / share.sum()
            else:
                found, share = self.realizer.distribution(self.parsed[j], note.chord, note.previous,
                                                          note.previous_interval, note.history)
            if note.pitch in found:
                total += probs[j] * share[found.index(note.pitch)]
        return total


def _played_by_measure(pieces) -> dict[int, list]:
    """id(measure) -> its pitches.Played, walking each piece's runs of bars."""
    table: dict[int, list] = {}
    for piece in pieces:
        for run in piece.runs():
            for p in played(run):
                table.setdefault(id(p.measure), []).append(p)
    return table


def prediction_report(model, held_out: Sequence[HeldOut], train_runs, pieces) -> dict:
    """Held-out loss per value (LSTM and n-grams) and loss per note, on bars whose values the model knows.

    Returns:
        {"lstm"|"unigram"|"bigram"|"trigram": baseline.evaluate's dict (+ "per_note" nats, "notes"),
         "bars": bars scored, "bars_left_out": bars with values the model does not know,
         "unreachable_notes": notes no value of the model could have played}.
    """
    vocab = model.vocab
    known = [h for h in held_out if all(v in vocab.index for v in (*h.context, *h.target))]
    encoded = [vocab.encode(r) for r in ([v for v in run if v in vocab.index] for run in train_runs) if r]
    improviser = Improviser(model.weights, vocab)
    conditioned = improviser.conditioned
    predictors = {"lstm": improviser.predictor()}
    for order, name in NGRAMS:
        ngram_predict = NgramModel(order, vocab.n_values).fit(encoded).predictor()
        predictors[name] = (lambda f: lambda context, target, contexts=None: f(context, target))(ngram_predict)
    report = {name: score_predictor(predict, known, vocab, contexts=conditioned and name == "lstm")
              for name, predict in predictors.items()}
    scorer = NoteScorer(model)
    played_of = _played_by_measure(pieces)
    unreachable = 0
    for name, predict in predictors.items():
        nll, notes = 0.0, 0
        for h in known:
            contexts = list(h.contexts) if conditioned and name == "lstm" and h.contexts else None
            probs = predict(vocab.encode(h.context), vocab.encode(h.target), contexts)
            for row, note in zip(probs, played_of.get(id(h.measure), [])):
                p = scorer.probability(row, note)
                if p <= 0:
                    unreachable += name == "lstm"
                    continue
                nll -= math.log(p)
                notes += 1
        report[name]["per_note"] = nll / notes if notes else float("nan")
        report[name]["notes"] = notes
    report["bars"] = len(known)
    report["bars_left_out"] = len(held_out) - len(known)
    report["unreachable_notes"] = unreachable
    return report


# -- solos against solos ------------------------------------------------------------------------

def first_bars(piece, bars: int):
    """The first `bars` measures of a piece's longest run of consecutive bars (fewer if it is shorter),
    from its first bar that starts a 4-bar phrase (bar number 1, 5, 9, ...), as generate's bar 1 does."""
    run = max(piece.runs(), key=len)
    skip = next((i for i, m in enumerate(run[:PHRASE_BARS]) if (m.number - 1) % PHRASE_BARS == 0), 0)
    return run[skip:skip + bars]


def real_solo(measures) -> tuple[dict, int, float]:
    """The statistics of a real solo's measures, with its bar count and bar length."""
    origin, length = measures[0].offset, measures[0].length
    notes = []
    for m in measures:
        starts = [o for o, _, _ in m.chords]
        # each note's onset as played: the nearest of the bar's played onsets (the grid may have merged
        # or dropped a played note, so the n-th played onset is not always the n-th note's)
        offsets = dict(note_offsets([m]))
        for n in m.notes:
            if n.pitch is None:
                continue
            k = max(0, int(np.searchsorted(starts, n.offset + 1e-9, "right")) - 1)
            _, pitches, figure = m.chords[k]
            played_at = n.offset + offsets.get(n.offset, 0.0)
            notes.append((n.offset - origin, n.pitch, chord_of(tuple(pitches), figure), played_at - m.offset,
                          n.offset + n.duration - origin))
    return solo_statistics(notes, len(measures), length), len(measures), length


def generated_solo(model, measures, seed: int, temperature: float, top_p: float, low: int, high: int,
                   timing: str = "players"):
    """A solo generated over the chords of real measures (their bars, looped once): (statistics, values).

    timing: "players" places each onset as the feel does live (the model's PlayedTiming, if it has one);
    "grid" keeps it on the grammar's grid.
    """
    harmony = progression_from_json(progression_to_json(measures), "held-out chords")
    generators = seeded_generators(seed)
    soloist = make_soloist(model, harmony, generators, temperature=temperature, top_p=top_p, low=low, high=high)
    feel = Feel(beats_per_bar=harmony.beats_per_bar, rng=generators["feel"],
                timing=model.timing if timing == "players" else None)
    end = len(measures) * harmony.beats_per_bar
    events, notes = [], []
    while soloist.horizon < end:
        event = soloist.next_event()
        events.append(event)
        if event.note is not None and event.onset < end:
            played_at = feel.perform(event.note).onset
            notes.append((event.onset, event.note.pitch, event.chord, played_at % harmony.beats_per_bar,
                          min(event.note.end, end)))
    return solo_statistics(notes, len(measures), harmony.beats_per_bar), [e.value for e in events]


def solo_report(model, solos, train_runs, count: int = SOLOS, bars: int = BARS, temperature: float = 1.0,
                top_p: float = TOP_P, seed: int = 0, low: int = 52, high: int = 81, timing: str = "players") -> dict:
    """Real solos and solos generated over their chords, side by side (see the module docstring)."""
    chosen = [p for p in solos if len(max(p.runs(), key=len)) >= min(bars, 8)][:count]
    real, generated, loops, copied, values, breath = [], [], [], 0, 0, []
    for i, piece in enumerate(chosen):
        breath.append(real_phrasing(piece, bars))
        measures = first_bars(piece, bars)
        stats, _, _ = real_solo(measures)
        real.append(stats)
        stats, solo_values = generated_solo(model, measures, seed + i, temperature, top_p, low, high, timing)
        generated.append(stats)
        loops.append(longest_loop(solo_values))
        copied = max(copied, longest_copied_run(solo_values, train_runs))
        values += len(solo_values)
    real_summary, generated_summary = summarize(real), summarize(generated)
    # the real solos' phrasing over their bars as played, silent ones included (see real_phrasing)
    real_summary.update(summarize_phrasing(breath))
    worst_loop = max(loops, key=lambda lp: lp["length"], default={"period": 0, "length": 0, "start": None})
    timing = timing if timing == "grid" or model.timing is not None else "grid (the model has no timing)"
    return {"solos": len(chosen), "bars": bars, "temperature": temperature, "top_p": top_p, "seed": seed,
            "timing": timing,
            "real": real_summary, "generated": generated_summary, "values": values,
            "onset_tvd": total_variation(real_summary["onsets"], generated_summary["onsets"]),
            "longest_loop": worst_loop, "longest_copied_run": copied,
            "files": [p.spec.path.name for p in chosen]}


# -- the whole report ---------------------------------------------------------------------------

def goals(prediction: dict, solos: dict) -> dict[str, bool | None]:
    """Each goal met (True), missed (False), or not judged (None: fewer than MIN_VERDICT_BARS bars scored)."""
    judged = prediction["bars"] >= MIN_VERDICT_BARS
    real, gen = solos["real"], solos["generated"]

    def close(key):
        return abs(gen[key] - real[key]) <= GOAL_RELATIVE * real[key]

    best = min(prediction[name]["loss"] for _, name in NGRAMS)
    results = {
        "lstm beats every n-gram on held-out loss per value": prediction["lstm"]["loss"] < best,
        f"loss per note below BebopNet's {BEBOPNET_PER_NOTE} nats": prediction["lstm"]["per_note"] < BEBOPNET_PER_NOTE,
        f"onset positions within {GOAL_ONSET_TVD} (total variation) of the real solos'": solos["onset_tvd"] <= GOAL_ONSET_TVD,
        f"notes per bar within {GOAL_RELATIVE:.0%} of the real solos'": close("notes_per_bar"),
        f"mean absolute interval within {GOAL_RELATIVE:.0%}": close("mean_interval"),
        f"pitch range within {GOAL_RELATIVE:.0%}": close("range"),
        f"H4 within {GOAL_H4_BITS} bit": abs(gen["H4"] - real["H4"]) <= GOAL_H4_BITS,
        f"chord-tone share within {GOAL_CHORD_POINTS:g} points": abs(gen["chord_tones"] - real["chord_tones"]) <= GOAL_CHORD_POINTS,
        f"bars with no note within {GOAL_SILENCE_POINTS:g} points of the real solos'":
            abs(gen["silent_bars"] - real["silent_bars"]) <= GOAL_SILENCE_POINTS,
        f"{PHRASE_WINDOW_BARS}-bar stretches with a silent bar within {GOAL_SILENCE_POINTS:g} points":
            abs(gen["silent_windows"] - real["silent_windows"]) <= GOAL_SILENCE_POINTS,
        "no loop in the generated solos": solos["longest_loop"]["length"] == 0,
        f"longest run copied from the training bars <= {GOAL_COPIED_RUN}": solos["longest_copied_run"] <= GOAL_COPIED_RUN,
    }
    return {goal: (bool(met) if judged else None) for goal, met in results.items()}


BAND_SHARE_POINTS = 5.0  # the bass's shares within this many points of the corpus's walking lines' ...
BAND_RELATIVE = 0.15  # ... and its mean interval and range within this share
BAND_VOICE_MOVE = 3.0  # the piano's voicings move by at most this many semitones a voice, on average


def band_report(bass_choice, solos, count: int = SOLOS, bars: int = BARS, seed: int = 0) -> dict:
    """The band over held-out solos' chords: the bass line's figures next to the Weimar bass corpus's
    (jazzd.pipeline.basscorpus: its walking lines, and these solos' own lines where the corpus has them), and
    the piano's voice leading.

    Args:
        bass_choice: the walking bass (jazzd.core.band.bass.BassChoice), with the corpus figures of its fit.
        solos: the held-out pieces (the same solos, and the same first bars, as solo_report's).
    """
    from jazzd.pipeline.basscorpus import FIGURES, add_counts, band_over, figures

    chosen = [p for p in solos if len(max(p.runs(), key=len)) >= min(bars, 8)][:count]
    generated, moves = [], []
    for i, piece in enumerate(chosen):
        played = band_over(first_bars(piece, bars), bass_choice, seed + i)
        if played is None:  # a meter the band has no style for (5/4...)
            continue
        generated.append(played[0])
        moves += played[1]
    corpus = (bass_choice.corpus or {}).get("figures", {}).get("walking")
    held = (bass_choice.corpus or {}).get("held_out_counts", {})
    real = [held[p.spec.path.name] for p in chosen if p.spec.path.name in held]
    gen = figures(add_counts(*generated)) if generated else None
    goals = {}
    if corpus and gen:
        for key, label, share in FIGURES:
            bound = f"within {BAND_SHARE_POINTS:g} points" if share else f"within {BAND_RELATIVE:.0%}"
            met = (abs(gen[key] - corpus[key]) <= BAND_SHARE_POINTS if share
                   else abs(gen[key] - corpus[key]) <= BAND_RELATIVE * corpus[key])
            goals[f"bass: {label} {bound} of the corpus's walking lines"] = bool(met)
    voice_move = float(np.mean(moves)) if moves else float("nan")
    if moves:
        goals[f"piano: voicings move at most {BAND_VOICE_MOVE:g} semitones a voice on average"] = \
            voice_move <= BAND_VOICE_MOVE
    return {"solos": len(chosen), "bars": bars, "seed": seed, "corpus": corpus,
            "real": figures(add_counts(*real)) if real else None, "real_solos": len(real), "generated": gen,
            "voice_movement": voice_move, "voicings": len(moves) + (1 if moves else 0), "goals": goals}


def quality_report(model, pieces, *, training_pieces=None, count: int = SOLOS, bars: int = BARS,
                   temperature: float = 1.0, top_p: float = TOP_P, seed: int = 0, low: int = 52,
                   high: int = 81, timing: str = "players", bass_choice=None) -> dict:
    """The whole report: {"prediction", "solos", "goals", "held_out"}, and "band" with a bass_choice.

    Args:
        model: a loaded jazzd.core.modeldir.ModelDir.
        pieces: the corpus to test on: the model's own (its held-out solos or bars are used), or another.
        training_pieces: the model's own corpus when `pieces` is another one (its training bars fit the
            n-grams and are what "copied" is measured against); None: `pieces` is the model's own corpus.
        count, bars: how many held-out solos, and how many bars of each, are compared with generated ones.
        temperature, top_p, seed: of the generated solos. low, high: their pitch range (MIDI note numbers).
        timing: where the generated solos' onsets fall: "players" (the model's learned timing) or "grid".
        bass_choice: the band's walking bass (jazzd.core.band.bass.BassChoice): the band is played over the
            same solos' chords (band_report); None: no band section.
    """
    conditioned = model.weights.context_width > 0
    own = training_pieces is None
    data = split(training_pieces if not own else pieces, model.Tx, contexts=conditioned)
    if own:
        held_out = data.held_out
        solos = list(data.held_out_pieces) if data.by_solos else list(pieces)
        described = (f"{len(data.held_out_pieces)} held-out solos, {len(held_out)} bars" if data.by_solos
                     else f"{len(held_out)} held-out bars (one 4-bar block in five)")
    else:
        held_out = every_bar(pieces, model.Tx, conditioned)
        solos = list(pieces)
        described = f"every bar of another corpus: {len(pieces)} file(s), {len(held_out)} bars"
    prediction = prediction_report(model, held_out, data.train_runs, pieces)
    solos_report = solo_report(model, solos, data.train_runs, count, bars, temperature, top_p, seed, low, high,
                               timing)
    report = {"held_out": described, "prediction": prediction, "solos": solos_report,
              "goals": goals(prediction, solos_report)}
    if bass_choice is not None:
        report["band"] = band_report(bass_choice, solos, count, bars, seed)
    return report


def format_quality_report(report: dict) -> str:
    """The report as the tables `jazzd evaluate` prints."""
    p, s = report["prediction"], report["solos"]
    lines = [f"held out: {report['held_out']}; {p['bars']} bars scored"
             + (f" ({p['bars_left_out']} left out: values the model does not know)" if p["bars_left_out"] else "")]
    lines.append(f"{'model':<10}{'loss/value':>11}{'perplexity':>12}{'accuracy':>10}{'nats/note':>11}")
    for _, name in (("", "lstm"),) + NGRAMS:
        r = p[name]
        lines.append(f"{name:<10}{r['loss']:>11.3f}{r['perplexity']:>12.2f}{r['accuracy']:>10.3f}{r['per_note']:>11.3f}")
    lines.append(f"for scale, on the Weimar Jazz Database: MINGUS {MINGUS_PITCH_PER_NOTE} and BebopNet "
                 f"{BEBOPNET_PER_NOTE} nats per note (pitch and duration)"
                 + (f"; {p['unreachable_notes']} notes no value could play, left out" if p["unreachable_notes"] else ""))
    real, gen = s["real"], s["generated"]
    lines.append("")
    lines.append(f"{s['solos']} solos of {s['bars']} bars: the real ones, and generated over their chords "
                 f"(temperature {s['temperature']:g}, top_p {s['top_p']:g}, timing {s.get('timing', 'grid')}, "
                 f"seeds {s['seed']}..{s['seed'] + max(0, s['solos'] - 1)})")
    lines.append(f"{'figure':<38}{'real':>20}{'generated':>20}")
    onsets = lambda d: " / ".join(f"{100 * d[k]:.0f}" for k in ONSET_CLASSES)  # noqa: E731
    lines.append(f"{'onsets: eighth/16th/triplet/finer %':<38}{onsets(real['onsets']):>20}{onsets(gen['onsets']):>20}")
    for label, key, fmt in (("notes per bar", "notes_per_bar", ".2f"), ("mean absolute interval", "mean_interval", ".2f"),
                            ("pitch range (semitones)", "range", ".1f"), ("H1 (bits)", "H1", ".2f"),
                            ("H4 (bits)", "H4", ".2f"), ("GS", "GS", ".3f"), ("chord tones % (MINGUS)", "chord_tones", ".1f"),
                            ("scale tones % (MINGUS)", "scale_tones", ".1f"),
                            ("bars with no note %", "silent_bars", ".1f"),
                            (f"{PHRASE_WINDOW_BARS}-bar stretches with a silent bar %", "silent_windows", ".1f"),
                            (f"phrase length (beats; rests >= {REST_BEATS:g})", "phrase_beats", ".1f"),
                            ("rest length (beats)", "rest_beats", ".2f"),
                            ("rests per 4 bars", "rests_per_4_bars", ".2f")):
        lines.append(f"{label:<38}{format(real[key], fmt):>20}{format(gen[key], fmt):>20}")
    lines.append(f"onset total variation distance: {s['onset_tvd']:.3f}")
    loop = s["longest_loop"]
    lines.append("loops: none" if not loop["length"] else
                 f"longest loop: {loop['length']} values repeating with period {loop['period']}")
    lines.append(f"longest run copied from the training bars: {s['longest_copied_run']} values")
    lines.append("")
    for goal, met in report["goals"].items():
        lines.append(f"[{'met' if met else 'MISSED' if met is False else f'not judged: under {MIN_VERDICT_BARS} bars'}] {goal}")
    if "band" in report:
        lines += [""] + format_band_report(report["band"])
    return "\n".join(lines)


def format_band_report(b: dict) -> list[str]:
    """The band section's lines: the bass's figures beside the corpus's, the piano's voice leading, the goals."""
    from jazzd.pipeline.basscorpus import FIGURES

    lines = [f"the band over the same {b['solos']} solos' chords ({b['bars']} bars each, style swing, seeds "
             f"{b['seed']}..{b['seed'] + max(0, b['solos'] - 1)}; the waltz in 3/4): the walking bass against the "
             "Weimar bass corpus"]
    lines.append(f"{'bass figure':<42}{'corpus (walking)':>17}{'these solos':>13}{'generated':>11}")

    def cell(d, key, width):
        return f"{d[key]:>{width}.2f}" if d and d.get(key) == d.get(key) and d.get(key) is not None else f"{'-':>{width}}"
    for key, label, _ in FIGURES:
        lines.append(f"{label:<42}{cell(b['corpus'], key, 17)}{cell(b['real'], key, 13)}{cell(b['generated'], key, 11)}")
    lines.append(f"(these solos: the corpus's own bass lines under {b['real_solos']} of them)")
    lines.append(f"piano: {b['voicings']} voicings, moving {b['voice_movement']:.2f} semitones a voice on average "
                 "from one to the next")
    lines.append("")
    for goal, met in b["goals"].items():
        lines.append(f"[{'met' if met else 'MISSED'}] {goal}")
    return lines
