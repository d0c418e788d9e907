"""The corpus's pitch choices: how the players chose among the pitches each value allowed.

Walking a piece's bars in order, every note is a grammar value over a chord after
a previous pitch; the realizer (jazzd.core.realizer, over the whole MIDI range,
as the corpus is not folded into a solo range) lists the pitches that value
could have been, and the note the player played is one of them. These examples
fit the learned PitchChoice (jazzd.core.pitch_choice.fit), and the same walk
gives the probability of each real note for jazzd evaluate.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Iterable, Iterator

from jazzd.core import pitch_choice
from jazzd.core.grammar import Value
from jazzd.core.harmony import chord_of
from jazzd.core.realizer import Realizer


def corpus_realizer(choice=None) -> Realizer:
    """A realizer over the whole MIDI range that lists candidates as the learned choice does."""
    return Realizer(0, 127, choice=choice or pitch_choice.PitchChoice.uniform())


@dataclass(frozen=True)
class Played:
    """One note or rest of a corpus bar as the grammar reads it.

    value: its value; chord: the chord at its onset; pitch: the MIDI note number (None for a rest);
    previous, previous_interval: the melody before it (None at the start of a run of bars);
    history: the run's last pitch_choice.RECENT pitches before it, oldest first.
    """

    value: Value
    chord: object
    pitch: int | None
    previous: int | None
    previous_interval: int | None
    measure: object
    index: int
    history: tuple[int, ...] = ()


def played(measures: Iterable) -> Iterator[Played]:
    """Every value of consecutive measures (a run of bars) with the melody before it."""
    previous = previous_interval = None
    history: list[int] = []
    for measure in measures:
        starts = [o for o, _, _ in measure.chords]
        for i, (note, text) in enumerate(zip(measure.notes, measure.values)):
            k = max(0, bisect.bisect_right(starts, note.offset + 1e-9) - 1)
            _, pitches, figure = measure.chords[k]
            chord = chord_of(tuple(pitches), figure)
            yield Played(Value.parse(text), chord, note.pitch, previous, previous_interval, measure, i,
                         tuple(history[-pitch_choice.RECENT:]))
            if note.pitch is not None:
                if previous is not None:
                    previous_interval = note.pitch - previous
                previous = note.pitch
                history.append(note.pitch)


def choice_examples(runs_of_measures: Iterable[Iterable]) -> list[tuple[list[int], int, int, int | None, tuple]]:
    """(candidates, the played one's index, previous pitch, previous interval, the recent pitches) for every
    played note after another note whose pitch is among its value's candidates."""
    realizer = corpus_realizer()
    examples = []
    for run in runs_of_measures:
        for p in played(run):
            if p.pitch is None or p.previous is None:
                continue
            found = realizer.candidates(p.value, p.chord, p.previous)
            if p.pitch in found:
                examples.append((found, found.index(p.pitch), p.previous, p.previous_interval, p.history))
    return examples
