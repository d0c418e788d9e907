"""Harmony: chords as pitch-class sets, chord symbols, and lead-sheet progressions.

A `Chord` carries everything the grammar and the realizer need to know about the
harmony at one beat: its root, its chord tones, the scale that goes with it and,
per pitch class, the grammar element type (C/S/A/X). All of it is computed once
when the chord is built, so the live path only does table look-ups.

Chord symbols ("Dm7", "G7b9", "Cmaj7", "F#m7b5", "Bb7alt") are read with
music21.harmony after the lead-sheet spelling is translated to music21's (a flat
is "-" in music21, and "-" after a root means minor on a jazz lead sheet).
"""

from __future__ import annotations

import bisect
import functools
import math
import re
import threading
from dataclasses import dataclass, field

from jazzd.errors import ChordSymbolError
from jazzd.core.grammar import element_types

# Chord scales, as semitones above the root. The course derives a scale with
# music21's Scale.derive(), which picks any scale holding the chord's notes
# (it gives G# major for C7b9); jazzd uses the usual chord-scale choice instead.
CHORD_SCALES: dict[str, tuple[int, ...]] = {
    "ionian": (0, 2, 4, 5, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "melodic minor": (0, 2, 3, 5, 7, 9, 11),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
    "diminished": (0, 2, 3, 5, 6, 8, 9, 11),
    "whole tone": (0, 2, 4, 6, 8, 10),
    "altered": (0, 1, 3, 4, 6, 8, 10),
}

# Lead-sheet spellings that music21's ChordSymbol does not read, and what it reads.
# Applied to the part after the root (and before a slash bass), longest first.
QUALITY_ALIASES: dict[str, str] = {
    "m(maj7)": "mM7",
    "m(M7)": "mM7",
    "mMaj7": "mM7",
    "-maj7": "mM7",
    "maj13": "M13",
    "maj11": "M11",
    "maj9": "M9",
    "Maj9": "M9",
    "7alt": "7#5#9",
    "alt": "7#5#9",
    "Δ7": "maj7",
    "Δ": "maj7",
    "°7": "o7",
    "°": "o",
    "-7b5": "m7b5",
    "min7b5": "m7b5",
}

NO_CHORD = frozenset({"N.C.", "NC", "N.C"})
MAX_BARS = 1024  # a longer lead sheet is a mistake, not a tune

_SYMBOL = re.compile(r"^([A-Ga-g])([#b♯♭]*)(.*?)(?:/([A-Ga-g])([#b♯♭]*))?$")


def chord_scale_name(intervals: frozenset[int] | set[int]) -> str:
    """Name the chord scale for a chord given as semitones above its root.

    Args:
        intervals: pitch classes of the chord relative to its root (0..11).
    Returns:
        A key of CHORD_SCALES: minor 3rd + diminished 5th gives locrian (or the
        diminished scale for a diminished 7th), a minor 3rd dorian (melodic minor
        with a major 7th), a major 3rd or sus4 mixolydian with a minor 7th and
        ionian without, an augmented triad the whole-tone scale, and a 7th
        chord with #5 and b9 or #9 (7alt) the altered scale.
    """
    has = intervals.__contains__
    if has(3) and has(6) and not has(7) and not has(4):
        return "diminished" if has(9) and not has(10) else "locrian"
    if has(3) and not has(4):
        return "melodic minor" if has(11) and not has(10) else "dorian"
    if has(4) and has(8) and not has(7):
        return "altered" if has(10) and (has(1) or has(3)) else "whole tone"
    return "mixolydian" if has(10) else "ionian"


@dataclass(frozen=True, slots=True)
class Chord:
    """A chord as the grammar sees it: root, chord tones and chord scale.

    Args:
        symbol: the name shown in logs and files, e.g. "G7b9".
        root: root pitch class, 0..11 (C = 0).
        pitch_classes: the chord tones as pitch classes 0..11.
        voicing: the chord as MIDI note numbers, ascending (for comping).
    Derived fields:
        scale: pitch classes of the chord scale plus the chord tones.
        types: 12 grammar element types, one per pitch class: "C" chord tone,
            "S" scale tone, "A" approach tone (a semitone from a chord tone), "X".
    Raises:
        ValueError: if root or a pitch class is outside 0..11, or there are none.
    """

    symbol: str
    root: int
    pitch_classes: frozenset[int]
    voicing: tuple[int, ...]
    scale_name: str = field(init=False)
    scale: frozenset[int] = field(init=False)
    types: tuple[str, ...] = field(init=False)

    def __post_init__(self):
        if not 0 <= self.root <= 11:
            raise ValueError(f"chord {self.symbol!r}: root must be a pitch class 0..11, got {self.root}")
        if not self.pitch_classes or any(not 0 <= pc <= 11 for pc in self.pitch_classes):
            raise ValueError(f"chord {self.symbol!r}: pitch classes must be 0..11, got {sorted(self.pitch_classes)}")
        intervals = frozenset((pc - self.root) % 12 for pc in self.pitch_classes)
        name = chord_scale_name(intervals)
        scale = frozenset((self.root + i) % 12 for i in CHORD_SCALES[name]) | self.pitch_classes
        object.__setattr__(self, "scale_name", name)
        object.__setattr__(self, "scale", scale)
        object.__setattr__(self, "types", element_types(self.pitch_classes, scale))

    def __str__(self):
        return self.symbol


def _music21_figure(symbol: str) -> str:
    """Translate a lead-sheet chord symbol to music21's spelling ("Bb-7" -> "B-m7")."""
    match = _SYMBOL.match(symbol.strip())
    if not match:
        raise ChordSymbolError(f"unknown chord symbol {symbol!r}: it must start with a root A-G")
    letter, accidentals, quality, bass_letter, bass_accidentals = match.groups()

    def spell(letter, accidentals):
        return letter.upper() + accidentals.replace("b", "-").replace("♭", "-").replace("♯", "#")

    for alias in sorted(QUALITY_ALIASES, key=len, reverse=True):
        if quality.startswith(alias):
            quality = QUALITY_ALIASES[alias] + quality[len(alias):]
            break
    else:
        if quality.startswith("-"):  # jazz minor: "D-7" is D minor 7th
            quality = "m" + quality[1:]
    figure = spell(letter, accidentals) + quality
    if bass_letter:
        figure += "/" + spell(bass_letter, bass_accidentals or "")
    return figure


def close_voicing(root: int, pitch_classes, low: int = 48) -> tuple[int, ...]:
    """Voice pitch classes in close position: root in low..low+11, the rest above.

    Args:
        root: root pitch class 0..11.
        pitch_classes: the chord's pitch classes.
        low: lowest MIDI note number the root may take. Default 48 (C3).
    Returns:
        Ascending MIDI note numbers, one per pitch class, within two octaves.
    """
    root_note = low + (root - low) % 12
    return tuple(sorted(root_note + (pc - root) % 12 for pc in set(pitch_classes)))


@functools.lru_cache(maxsize=512)
def chord_from_symbol(symbol: str) -> Chord:
    """Read a lead-sheet chord symbol such as "Dm7", "G7b9", "Cmaj7" or "F#m7b5".

    Args:
        symbol: root A-G with optional #/b, a quality music21.harmony reads
            (plus the aliases in QUALITY_ALIASES and "-" for minor), an optional
            "/bass".
    Returns:
        A Chord whose voicing is close position with the root in MIDI 48..59.
    Raises:
        ChordSymbolError: if the symbol cannot be read; the message names it.
    Source: music21.harmony.ChordSymbol.
    """
    from music21 import harmony

    figure = _music21_figure(symbol)
    try:
        cs = harmony.ChordSymbol(figure)
        pitches = cs.pitches
        root = cs.root()
    except Exception as err:  # music21 raises ValueError and others for unknown figures
        raise ChordSymbolError(f"unknown chord symbol {symbol!r}: {err}") from err
    if not pitches or root is None:
        raise ChordSymbolError(f"unknown chord symbol {symbol!r}: music21 finds no notes in it")
    pcs = frozenset(p.pitchClass for p in pitches)
    return Chord(symbol.strip(), root.pitchClass, pcs, close_voicing(root.pitchClass, pcs))


def _display(figure: str) -> str:
    """music21's spelling of a figure for people: flats as "b", added tones in
    parentheses ("B-m7" -> "Bbm7", "C7 add b9 add #9" -> "C7(b9,#9)")."""
    head, *added = re.sub(r"(^|/)([A-G])-", r"\1\2b", figure.strip()).split(" add ")
    return head + (f"({','.join(a.strip() for a in added)})" if added else "")


@functools.lru_cache(maxsize=2048)
def chord_from_figure(figure: str) -> Chord:
    """Read a chord figure in music21's own syntax ("B-m7", "C7 add b9", "D/E-").

    This is how chord symbols written for music21 (the Text events of the
    Weimar Jazz Database MIDI files) are read; lead-sheet symbols typed by a
    person go through chord_from_symbol instead ("-" means minor there).

    Args:
        figure: a music21.harmony.ChordSymbol figure.
    Returns:
        A Chord named with flats as "b", voiced in close position (root in MIDI 48..59).
    Raises:
        ChordSymbolError: if music21 cannot read it or finds no notes.
    Source: music21.harmony.ChordSymbol.
    """
    from music21 import harmony

    try:
        cs = harmony.ChordSymbol(figure.strip())
        pitches = cs.pitches
        root = cs.root()
    except Exception as err:  # music21 raises several types for unknown figures
        raise ChordSymbolError(f"unknown chord figure {figure!r}: {err}") from None
    if not pitches or root is None:
        raise ChordSymbolError(f"unknown chord figure {figure!r}: music21 finds no notes in it")
    pcs = frozenset(p.pitchClass for p in pitches)
    return Chord(_display(figure), root.pitchClass, pcs, close_voicing(root.pitchClass, pcs))


@functools.lru_cache(maxsize=4096)
def chord_of(pitches: tuple[int, ...], figure: str = "") -> Chord:
    """The Chord of a corpus chord event: its music21 figure if it has one, else named from its pitches.

    Args:
        pitches: MIDI note numbers of the event.
        figure: a music21 figure ("B-m7"), or "" for a chord known only by its notes.
    Raises:
        ChordSymbolError: for a figure music21 cannot read.
    """
    return chord_from_figure(figure) if figure else chord_from_pitches(pitches)


def symbol_to_figure(symbol: str) -> str:
    """A lead-sheet chord symbol in music21's syntax ("Bb-7" -> "B-m7"), checked.

    Raises:
        ChordSymbolError: if the symbol cannot be read.
    """
    chord_from_symbol(symbol)
    return _music21_figure(symbol)


def chord_from_pitches(pitches) -> Chord:
    """Name and analyse a chord given as MIDI note numbers (a corpus voicing).

    Args:
        pitches: MIDI note numbers, at least one.
    Returns:
        A Chord with the root music21 finds (stacked thirds), named with
        music21's chord-symbol figure when it has one, and the given voicing.
    Raises:
        ValueError: if pitches is empty.
    Source: music21.chord.Chord.root(), harmony.chordSymbolFigureFromChord.
    """
    from music21 import chord as m21chord
    from music21 import harmony

    pitches = sorted(set(int(p) for p in pitches))
    if not pitches:
        raise ValueError("a chord needs at least one pitch")
    c = m21chord.Chord(pitches)
    root = c.root().pitchClass
    try:
        figure = harmony.chordSymbolFigureFromChord(c)
    except Exception:  # music21 cannot name every cluster; the name is for display only
        figure = "Chord Symbol Cannot Be Identified"
    if figure == "Chord Symbol Cannot Be Identified":
        figure = c.pitchedCommonName
    return Chord(figure.replace("-", "b"), root, frozenset(p % 12 for p in pitches), tuple(pitches))


@dataclass(frozen=True, slots=True)
class Segment:
    """One chord of a progression: start and length in beats; chord None is N.C."""

    start: float
    length: float
    chord: Chord | None
    bar: int


def parse_lead_sheet(lead_sheet: str, beats_per_bar: int = 4) -> list[Segment]:
    """Read a lead sheet into segments (see Progression for the syntax).

    Raises:
        ChordSymbolError: for an unknown chord symbol, naming it and its bar.
        ValueError: for an empty progression, one of more than MAX_BARS bars, an
            empty bar or "%" in bar 1.
    """
    if beats_per_bar <= 0:
        raise ValueError(f"beats_per_bar must be > 0, got {beats_per_bar}")
    if not lead_sheet.strip().strip("|").strip():
        raise ValueError("the progression has no bars")
    bars = [b.split() for b in lead_sheet.strip().strip("|").split("|")]
    if len(bars) > MAX_BARS:
        raise ValueError(f"the progression has {len(bars)} bars; at most {MAX_BARS}")
    segments: list[Segment] = []
    previous: list[str] | None = None
    for number, symbols in enumerate(bars, start=1):
        if not symbols:
            raise ValueError(f"bar {number} of the progression is empty (use % to repeat a bar)")
        if symbols == ["%"]:
            if previous is None:
                raise ValueError("bar 1 of the progression cannot be % (nothing to repeat)")
            symbols = previous
        length = beats_per_bar / len(symbols)
        for i, symbol in enumerate(symbols):
            if symbol.upper() in NO_CHORD:
                chord = None
            else:
                try:
                    chord = chord_from_symbol(symbol)
                except ChordSymbolError as err:
                    raise ChordSymbolError(f"bar {number}: {err}") from None
            segments.append(Segment((number - 1) * beats_per_bar + i * length, length, chord, number))
        previous = symbols
    return segments


class Progression:
    """A looped chord progression, read from a lead-sheet string.

    "| Dm7 | G7 | Cmaj7 | % |": bars between bar lines; several chords in one bar
    share it equally ("| Dm7 G7 |" gives two beats each in 4/4); "%" repeats the
    previous bar; "N.C." is no chord (the melody keeps the last chord, the comp
    rests).

    Args:
        lead_sheet: the progression, at least one bar.
        beats_per_bar: beats (quarter notes) per bar. Default 4.
    Raises:
        ChordSymbolError: for an unknown chord symbol, naming it and its bar.
        ValueError: for an empty progression, an empty bar, "%" in bar 1, or a
            progression made only of N.C.
    """

    def __init__(self, lead_sheet: str, beats_per_bar: int = 4):
        self._setup(parse_lead_sheet(lead_sheet, beats_per_bar), beats_per_bar, lead_sheet.strip())

    @classmethod
    def from_segments(cls, segments, beats_per_bar: int, name: str) -> "Progression":
        """A progression of given segments (e.g. a corpus's chords), looped.

        Args:
            segments: Segments sorted by start, the first at beat 0.
            beats_per_bar: beats per bar.
            name: how logs name it.
        Raises:
            ValueError: if there are no chords.
        """
        progression = cls.__new__(cls)
        progression._setup(list(segments), beats_per_bar, name)
        return progression

    def _setup(self, segments: list[Segment], beats_per_bar: int, name: str) -> None:
        if all(s.chord is None for s in segments):
            raise ValueError("the progression has only N.C. bars; it needs at least one chord")
        self.lead_sheet = name
        self.beats_per_bar = beats_per_bar
        self.segments: tuple[Segment, ...] = tuple(segments)
        end = max(s.start + s.length for s in segments)
        self.bars = max(1, math.ceil(end / beats_per_bar - 1e-9))
        self.length_beats = float(self.bars * beats_per_bar)
        # The chord the melody hears in each segment: N.C. keeps the previous one
        # (looping round from the end for a leading N.C.).
        sounding = []
        last = next(s.chord for s in reversed(segments) if s.chord is not None)
        for s in segments:
            last = s.chord or last
            sounding.append(last)
        self._sounding = tuple(sounding)
        self._starts = tuple(s.start for s in segments)

    def _index(self, beat: float) -> int:
        position = beat % self.length_beats
        return max(0, bisect.bisect_right(self._starts, position + 1e-9) - 1)

    def chord_at(self, beat: float) -> Chord:
        """The chord the melody plays over at a beat (beats from bar 1, looped)."""
        return self._sounding[self._index(beat)]

    def next_change(self, beat: float) -> tuple[float, Chord]:
        """The next chord change after a beat: (its beat, the chord the melody hears from there), looped.

        A progression with one chord never changes: (+inf, that chord).
        """
        n = len(self.segments)
        i = self._index(beat)
        base = math.floor(beat / self.length_beats) * self.length_beats
        current = self._sounding[i]
        for step in range(1, n + 1):
            j = (i + step) % n
            loops = (i + step) // n
            if self._sounding[j] != current:
                return base + loops * self.length_beats + self._starts[j], self._sounding[j]
        return math.inf, current

    def segment_at(self, beat: float) -> Segment:
        """The progression segment sounding at a beat (beats from bar 1, looped)."""
        return self.segments[self._index(beat)]

    def segments_between(self, start_beats: float, end_beats: float):
        """Yield (start_beats, Segment) for each segment starting in [start, end), looped."""
        loop = int(start_beats // self.length_beats)
        while True:
            base = loop * self.length_beats
            for s in self.segments:
                begin = base + s.start
                if begin >= end_beats - 1e-9:
                    return
                if begin >= start_beats - 1e-9:
                    yield begin, s
            loop += 1

    def __repr__(self):
        return f"Progression({self.lead_sheet!r}, beats_per_bar={self.beats_per_bar})"


class LiveHarmony:
    """The chord the player holds on the keyboard, as it changes over beats.

    With no chord played yet the fallback chord sounds; with no keys held the
    last chord stays. Written by the MIDI input thread, read by the improviser.

    Args:
        fallback: the chord before the player plays one.
        beats_per_bar: beats per bar.
    """

    def __init__(self, fallback: Chord, beats_per_bar: int = 4):
        self.beats_per_bar = beats_per_bar
        self.lead_sheet = "live chords"
        self._history: list[tuple[float, Chord]] = [(-math.inf, fallback)]
        self._lock = threading.Lock()

    def set_chord(self, beat: float, chord: Chord) -> None:
        """The player's chord from a beat on (later changes at earlier beats replace them)."""
        with self._lock:
            while len(self._history) > 1 and self._history[-1][0] >= beat:
                self._history.pop()
            self._history.append((beat, chord))
            del self._history[1:-64]  # keep recent changes only

    @property
    def current(self) -> Chord:
        return self._history[-1][1]

    def chord_at(self, beat: float) -> Chord:
        """The chord held at a beat (the last change at or before it)."""
        with self._lock:
            history = self._history
            index = bisect.bisect_right([b for b, _ in history], beat + 1e-9) - 1
            return history[max(0, index)][1]

    def segments_between(self, start_beats: float, end_beats: float):
        """Nothing to comp: the player plays the chords."""
        return iter(())

    def next_change(self, beat: float) -> tuple[float, Chord]:
        """The player's next chord is not known: (+inf, the chord held at the beat)."""
        return math.inf, self.chord_at(beat)


def chord_to_json(chord: Chord) -> list:
    """A chord as JSON-able data: [symbol, root, voicing]."""
    return [chord.symbol, chord.root, list(chord.voicing)]


def chord_from_json(data) -> Chord:
    """The inverse of chord_to_json (no music21 needed).

    Raises:
        ValueError: if the data is not a chord.
    """
    symbol, root, voicing = data
    return Chord(str(symbol), int(root), frozenset(int(p) % 12 for p in voicing), tuple(int(p) for p in voicing))


def progression_to_json(measures) -> dict:
    """The chords of corpus measures, for a model's metadata.

    Args:
        measures: jazzd.pipeline.corpus.Measure objects in order (their chords are
            (offset, MIDI note numbers) pairs).
    Returns:
        {"beats_per_bar": the most common bar length, "bars": [[length,
        [[offset in bar, chord_to_json], ...]], ...]}.
    """
    from collections import Counter

    bars = []
    for m in measures:
        chords = [[round(o - m.offset, 6), chord_to_json(chord_of(p, f))] for o, p, f in m.chords]
        bars.append([m.length, chords])
    lengths = Counter(length for length, _ in bars)
    return {"beats_per_bar": int(round(lengths.most_common(1)[0][0])) if bars else 4, "bars": bars}


def progression_from_json(data: dict, name: str = "the corpus's chords") -> Progression:
    """The corpus progression saved by progression_to_json, looped.

    Raises:
        ValueError: if the data is malformed or holds no chord.
    """
    segments, start = [], 0.0
    try:
        for number, (length, chords) in enumerate(data["bars"], start=1):
            for i, (offset, chord) in enumerate(chords):
                end = chords[i + 1][0] if i + 1 < len(chords) else length
                segments.append(Segment(start + offset, end - offset, chord_from_json(chord), number))
            start += length
        return Progression.from_segments(segments, int(data["beats_per_bar"]), name)
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"bad corpus harmony ({err})") from None
