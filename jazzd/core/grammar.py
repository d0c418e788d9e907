"""The jazz grammar: melody notes over chords <-> values such as "C,0.250,<M-2,m-6>".

A *value* is one grammar token (Gillick, Tang & Keller, "Learning Jazz
Grammars", 2009, as used by deepjazz and the deeplearning.ai course):

- element type: C chord tone, S scale tone, A approach tone, X other, R rest;
- duration in quarter notes (beats), printed with three decimals;
- for a pitched note after the first of its measure, the interval bounds
  <upper,lower>: the interval from the previous pitch plus and minus a minor
  third, written as music21 interval names ("M-2" = a major second down).

The element types are decided per pitch class by `element_types`, from a
chord's tones and its chord scale (see jazzd.core.harmony.Chord).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple, Sequence

from jazzd.errors import GrammarError

# The grammar's element types: one table, as mido keeps its message specs.
ELEMENT_TYPES: dict[str, str] = {
    "C": "chord tone",
    "S": "scale tone",
    "A": "approach tone",
    "X": "other tone",
    "R": "rest",
}
PITCHED_TYPES = ("C", "S", "A", "X")

# The interval bounds are the melodic interval plus and minus a minor third
# (course and deepjazz: interval.add([noteDist, "m3"]), interval.subtract(...)).
SLACK_SEMITONES = 3


def element_types(pitch_classes, scale) -> tuple[str, ...]:
    """Grammar element type of each of the 12 pitch classes over one chord.

    Args:
        pitch_classes: the chord tones, pitch classes 0..11.
        scale: the chord-scale pitch classes 0..11.
    Returns:
        A 12-tuple indexed by pitch class: "C" if a chord tone, else "S" if in the
        scale, else "A" if a semitone from a chord tone, else "X".
    Source: deepjazz grammar.py parse_melody (__is_scale_tone, __is_approach_tone).
    """
    types = []
    for pc in range(12):
        if pc in pitch_classes:
            types.append("C")
        elif pc in scale:
            types.append("S")
        elif (pc + 1) % 12 in pitch_classes or (pc - 1) % 12 in pitch_classes:
            types.append("A")
        else:
            types.append("X")
    return tuple(types)


@functools.lru_cache(maxsize=None)
def interval_name(semitones: int) -> str:
    """music21's directed name of an interval of `semitones` ("m-3" for -3)."""
    from music21 import interval

    return interval.Interval(int(semitones)).directedName


@functools.lru_cache(maxsize=None)
def interval_semitones(name: str) -> int:
    """Semitones of a directed music21 interval name ("M-2" -> -2).

    Raises:
        GrammarError: if music21 cannot read the name.
    """
    from music21 import interval

    try:
        return int(interval.Interval(name).semitones)
    except Exception as err:  # music21 raises several types for bad names
        raise GrammarError(f"bad interval name {name!r}: {err}") from err


@dataclass(frozen=True, slots=True)
class Value:
    """One grammar value: element type, duration in beats, optional interval bounds.

    Args:
        kind: "C", "S", "A", "X" or "R" (see ELEMENT_TYPES).
        duration: length in quarter notes (beats), > 0; kept to 3 decimals.
        upper: upper interval bound from the previous pitch, in semitones, or None.
        lower: lower interval bound, in semitones (<= upper), or None.
    Raises:
        GrammarError: for an unknown kind, a duration <= 0, bounds on a rest,
            only one bound, or lower > upper.
    """

    kind: str
    duration: float
    upper: int | None = None
    lower: int | None = None

    def __post_init__(self):
        if self.kind not in ELEMENT_TYPES:
            raise GrammarError(f"unknown element type {self.kind!r} (expected one of {', '.join(ELEMENT_TYPES)})")
        object.__setattr__(self, "duration", round(float(self.duration), 3))
        if not self.duration > 0:
            raise GrammarError(f"value duration must be at least 0.001 beats, got {self.duration}")
        if (self.upper is None) != (self.lower is None):
            raise GrammarError("a value has both interval bounds or neither")
        if self.upper is not None:
            if self.kind == "R":
                raise GrammarError("a rest has no interval bounds")
            if self.lower > self.upper:
                raise GrammarError(f"lower bound {self.lower} is above upper bound {self.upper}")

    @property
    def is_rest(self) -> bool:
        return self.kind == "R"

    @property
    def has_bounds(self) -> bool:
        return self.upper is not None

    @property
    def beats(self) -> Fraction:
        """The duration as an exact fraction of a beat (0.333 -> 1/3)."""
        return Fraction(self.duration).limit_denominator(16)

    def __str__(self):
        text = f"{self.kind},{self.duration:.3f}"
        if self.upper is not None:
            text += f",<{interval_name(self.upper)},{interval_name(self.lower)}>"
        return text

    @classmethod
    def parse(cls, text: str) -> "Value":
        """Read a value string such as "C,0.250,<M-2,m-6>" or "R,0.500".

        Raises:
            GrammarError: if the string is not a value; the message quotes it.
        """
        terms = text.strip().split(",")
        try:
            if len(terms) == 2:
                return cls(terms[0], float(terms[1]))
            if len(terms) == 4 and terms[2].startswith("<") and terms[3].endswith(">"):
                first = interval_semitones(terms[2][1:])
                second = interval_semitones(terms[3][:-1])
                return cls(terms[0], float(terms[1]), max(first, second), min(first, second))
        except (ValueError, GrammarError) as err:
            raise GrammarError(f"bad value {text!r}: {err}") from None
        raise GrammarError(f"bad value {text!r}: expected TYPE,BEATS or TYPE,BEATS,<UPPER,LOWER>")


class MelodyNote(NamedTuple):
    """A melody note or rest: onset and duration in beats, pitch a MIDI note number or None.

    A named tuple, not a dataclass: a corpus holds hundreds of thousands of them, and a
    tuple is built several times faster (the cached Weimar corpus loads in a second).
    """

    offset: float
    duration: float
    pitch: int | None


def measure_timeline(notes: Sequence[MelodyNote], bar_start: float, bar_end: float,
                     held_until: float | None = None) -> list[MelodyNote]:
    """A bar's notes with the gaps between them filled by rests.

    Args:
        notes: the bar's notes (onsets in [bar_start, bar_end)), monophonic, sorted.
        bar_start, bar_end: the bar, in beats.
        held_until: where a note held over from the bar before ends (no rest before it).
    Returns:
        Notes and rests (pitch None) that tile the bar from max(bar_start,
        held_until) on; the last note may run past bar_end. Rests shorter than
        0.0005 beats are dropped.
    """
    timeline: list[MelodyNote] = []
    cursor = max(bar_start, held_until if held_until is not None else bar_start)
    for n in notes:
        if n.offset > cursor + 1e-6:
            timeline.append(MelodyNote(cursor, n.offset - cursor, None))
        timeline.append(n)
        cursor = n.offset + n.duration
    if cursor < bar_end - 1e-6:
        timeline.append(MelodyNote(cursor, bar_end - cursor, None))
    return [n for n in timeline if round(n.duration, 3) > 0]


def parse_measure(notes: Sequence[MelodyNote], chords: Sequence[tuple[float, object]]) -> list[Value]:
    """Turn one measure of melody into grammar values.

    Args:
        notes: the measure's notes and rests, monophonic, sorted by offset (beats).
        chords: (offset in beats, jazzd.core.harmony.Chord) pairs, sorted; each note
            takes the last chord at or before its onset, else the first chord.
    Returns:
        One Value per note or rest. The first pitched note of the measure has
        no interval bounds; each later one has the interval from the previous
        pitch plus and minus a minor third.
    Raises:
        GrammarError: if chords is empty while the measure has pitched notes.
    Source: deepjazz grammar.py parse_melody (course: music_utils/grammar.py).
    """
    values = []
    previous_pitch = None
    for note in notes:
        if note.pitch is None:
            values.append(Value("R", note.duration))
            continue
        if not chords:
            raise GrammarError("a measure with notes needs at least one chord")
        chord = chords[0][1]
        for offset, candidate in chords:
            if offset <= note.offset + 1e-9:
                chord = candidate
            else:
                break
        kind = chord.types[note.pitch % 12]
        if previous_pitch is None:
            values.append(Value(kind, note.duration))
        else:
            step = note.pitch - previous_pitch
            values.append(Value(kind, note.duration, step + SLACK_SEMITONES, step - SLACK_SEMITONES))
        previous_pitch = note.pitch
    return values
