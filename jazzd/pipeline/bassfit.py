"""`jazzd train-bass`: fit the walking bass (jazzd.core.band.bass.BassChoice) on the WJazzD beat tracks.

The walking lines are the bass lines under the solos of rhythm feel SWING (WJazzD's
annotation; the two-beat, Latin and funk feels are other lines), every beat an
example: the context (jazzd.core.band.bass.BassContext) and the note played. The
solos that `jazzd train` holds out of the LSTM's training (one in ten by SHA-256,
jazzd.pipeline.dataset.is_held_out_solo) are held out here too, so `jazzd evaluate`
compares the bass over their chords with lines no fit saw. The corpus's figures
(jazzd.pipeline.basscorpus) go into the model's metadata: the walking lines'
overall and, per held-out solo, the counts of its first bars.
"""

from __future__ import annotations

import datetime
import time
from pathlib import Path

from jazzd.core.band.bass import BassChoice, BassContext, center_of, fit, kind_of
from jazzd.pipeline.basscorpus import RANGE_BARS, add_counts, figures, line_counts, load_corpus
from jazzd.pipeline.dataset import is_held_out_solo

WALKING_FEEL = "SWING"
FORMAT = 1


def contexts(beats):
    """(BassContext, note played) for every beat of a line with a chord and a note (a beat without a note breaks
    the line), in order."""
    out = []
    recent: list[int] = []  # the line's notes so far (a beat without a note starts it afresh)
    for i, beat in enumerate(beats):
        if beat.pitch is None:
            recent = []
        if beat.chord is None or beat.pitch is None:
            if beat.pitch is not None:
                recent.append(beat.pitch)
            continue
        before_beat = beats[i - 1] if i else None
        changed = before_beat is None or before_beat.chord is None or before_beat.chord.symbol != beat.chord.symbol
        after = beats[i + 1] if i + 1 < len(beats) else None
        next_chord = (after.chord if after is not None and after.chord is not None
                      and after.chord.symbol != beat.chord.symbol else None)
        previous = before_beat.pitch if before_beat is not None else None
        before = beats[i - 2].pitch if i >= 2 and previous is not None else None
        out.append((BassContext(beat.chord, next_chord, kind_of(beat.position, changed), previous, before,
                                center_of(recent)), beat.pitch))
        recent.append(beat.pitch)
    return out


def train_bass(beat_tracks: Path, midi_corpus: Path, out: Path, *, low: int = 28, high: int = 55,
               iterations: int = 300, report=print) -> BassChoice:
    """Fit the walking bass on the beat tracks and write it to `out` (weights.npz, metadata.json).

    Raises:
        CorpusError: see jazzd.pipeline.basscorpus.load_corpus; also if no walking line is left to fit.
    """
    from jazzd.errors import CorpusError

    started = time.monotonic()
    solos, skipped = load_corpus(beat_tracks, midi_corpus)
    walking = [s for s in solos if s.feel == WALKING_FEEL]
    held = [s for s in walking if is_held_out_solo(s)]
    train = [s for s in walking if not is_held_out_solo(s)]
    report(f"bass lines: {len(solos)} solos with a beat track and a bass ({len(skipped)} left out), "
           f"{len(walking)} of them walking (feel {WALKING_FEEL}): {len(train)} to fit, {len(held)} held out")
    examples = [e for s in train for e in contexts(s.beats)]
    if not examples:
        raise CorpusError(f"{beat_tracks}: no walking bass line to fit")
    report(f"fitting on {len(examples)} beats ({iterations} iterations)")
    choice = fit(examples, low, high, iterations)
    walking_counts = add_counts(*(line_counts(s.beats) for s in walking))
    every_counts = add_counts(*(line_counts(s.beats) for s in solos))
    metadata = {
        "format": FORMAT,
        "what": "jazzd walking bass: a conditional logit over the notes of the range (jazzd.core.band.bass)",
        "corpus": {"beat_tracks": "github slSeanWU/jazz_transformer mcsv_beat, column bass (WJazzD, ODbL 1.0)",
                   "solos": len(solos), "walking": len(walking), "fitted": [s.name for s in train],
                   "held_out": [s.name for s in held], "skipped": skipped, "beats": len(examples)},
        "figures": {"walking": figures(walking_counts), "every feel": figures(every_counts)},
        "counts": {"walking": walking_counts, "every feel": every_counts},
        # per held-out solo, the counts of its first RANGE_BARS bars: evaluate's real lines beside the generated
        "held_out_counts": {s.name: line_counts([b for b in s.beats if b.bar < RANGE_BARS]) for s in held},
        "range": [low, high],
        "iterations": iterations,
        "seconds": round(time.monotonic() - started, 1),
        "trained": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    choice = BassChoice(choice.weights, low, high, metadata)
    choice.save(out, metadata)
    report(f"wrote {out}: walking corpus figures {', '.join(f'{k} {v:.2f}' for k, v in metadata['figures']['walking'].items())}")
    return choice
