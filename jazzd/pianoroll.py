"""See it: a piano roll of a solo over its chords, drawn with matplotlib.

Bars and beats run along the x axis (bar numbers under the bar lines, a light
line on every beat), pitch names up the y axis, the chord symbols above each
bar at their onsets, and each note coloured by the grammar type it sounds as
over its chord (chord tone, scale tone, approach tone, other; the Gillick,
Tang & Keller element types, jazzd.core.grammar). Long solos wrap into rows of
`bars_per_row` bars, like a lead sheet.

Two sources: a solo just generated (`jazzd generate --plot solo.png`, exact
onsets and the progression's chords) and any MIDI file (`jazzd plot FILE.mid`,
read like a corpus file by jazzd.pipeline.corpus: melody part and chords found there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from jazzd.errors import JazzdError
from jazzd.core.grammar import ELEMENT_TYPES
from jazzd.core.harmony import Chord
from jazzd.core.timeline import note_name

TYPE_COLOURS = {"C": "#2b8a3e", "S": "#1c7ed6", "A": "#f08c00", "X": "#e03131"}
BLACK_KEYS = {1, 3, 6, 8, 10}


@dataclass(frozen=True)
class RollNote:
    """A note to draw: onset and duration in beats, MIDI note number, grammar type (C/S/A/X)."""

    onset: float
    duration: float
    pitch: int
    kind: str


@dataclass(frozen=True)
class RollChord:
    """A chord symbol to write: its onset in beats and the Chord."""

    onset: float
    chord: Chord


def notes_from_generated(generated) -> tuple[list[RollNote], list[RollChord], int, float]:
    """The notes and chords of a jazzd.generate.Generated result.

    Returns:
        (notes, chords, beats_per_bar, length in beats); each note's type is
        read from the chord it was realized over.
    """
    notes = []
    for e in generated.events:
        if e.note is not None:
            notes.append(RollNote(e.note.onset, e.note.duration, e.note.pitch, e.chord.types[e.note.pitch % 12]))
    harmony = generated.harmony
    chords = [RollChord(start, seg.chord) for start, seg in harmony.segments_between(0.0, generated.beats)
              if seg.chord is not None]
    return notes, chords, harmony.beats_per_bar, generated.beats


def notes_from_piece(piece) -> tuple[list[RollNote], list[RollChord], int, float]:
    """The notes and chords of a jazzd.pipeline.corpus.Piece (a MIDI file read as a corpus).

    Beats are counted from the first bar's start. Each note's type is its
    grammar value's element type.
    """
    from collections import Counter

    from jazzd.core.harmony import chord_of

    if not piece.measures:
        raise JazzdError(f"{piece.spec.path}: nothing to plot")
    origin = piece.measures[0].offset
    notes, chords = [], []
    previous = None
    for m in piece.measures:
        pitched = [n for n in m.notes if n.pitch is not None]
        kinds = [v.split(",", 1)[0] for v in m.values if not v.startswith("R")]
        for n, kind in zip(pitched, kinds):
            notes.append(RollNote(n.offset - origin, n.duration, n.pitch, kind))
        for offset, pitches, figure in m.chords:
            chord = chord_of(tuple(pitches), figure)
            if chord.symbol != previous or offset == m.offset:
                chords.append(RollChord(offset - origin, chord))
            previous = chord.symbol
    beats_per_bar = int(round(Counter(m.length for m in piece.measures).most_common(1)[0][0]))
    last = piece.measures[-1]
    return notes, chords, beats_per_bar, last.offset + last.length - origin


def plot_piano_roll(notes: Sequence[RollNote], chords: Sequence[RollChord], beats_per_bar: int, beats: float,
                    out: Path, title: str = "", bars_per_row: int = 8, dpi: int = 110) -> Path:
    """Draw a piano roll to an image file (PNG, SVG or PDF by out's suffix).

    Args:
        notes: the melody.
        chords: chord symbols and their onsets (beats).
        beats_per_bar: bar length in beats (quarter notes).
        beats: the solo's length in beats.
        out: the image file.
        title: drawn above the first row.
        bars_per_row: bars per row before wrapping. Default 8.
        dpi: resolution of a PNG.
    Returns:
        out.
    Raises:
        JazzdError: if there are no notes, or the file cannot be written.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only, no screen
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch, Rectangle

    if not notes:
        raise JazzdError(f"{out}: no notes to plot")
    bars = max(1, math.ceil(beats / beats_per_bar - 1e-9))
    rows = math.ceil(bars / bars_per_row)
    row_beats = bars_per_row * beats_per_bar
    low = min(n.pitch for n in notes) - 2
    high = max(n.pitch for n in notes) + 2
    height_per_row = max(2.2, 0.11 * (high - low + 1) + 0.9)
    fig, axes = plt.subplots(rows, 1, figsize=(min(2.0 * bars_per_row, 2.0 * bars) + 1.2, height_per_row * rows + 0.6),
                             squeeze=False)
    for row, ax in enumerate(axes[:, 0]):
        start = row * row_beats
        end = start + row_beats
        for pitch in range(low, high + 1):
            if pitch % 12 in BLACK_KEYS:
                ax.axhspan(pitch - 0.5, pitch + 0.5, color="#f1f3f5", zorder=0, lw=0)
        for beat in range(int(start), int(end) + 1):
            bar_line = (beat % beats_per_bar) == 0
            ax.axvline(beat, color="#495057" if bar_line else "#dee2e6", lw=1.0 if bar_line else 0.5, zorder=1)
        for n in notes:
            if start - 1e-9 <= n.onset < end - 1e-9:
                ax.add_patch(Rectangle((n.onset, n.pitch - 0.4), min(n.duration, end - n.onset), 0.8,
                                       facecolor=TYPE_COLOURS.get(n.kind, "#868e96"), edgecolor="black",
                                       lw=0.4, zorder=3))
        for c in chords:
            if start - 1e-9 <= c.onset < end - 1e-9:
                ax.text(c.onset + 0.05, high + 0.9, c.chord.symbol, fontsize=9, fontweight="bold",
                        va="bottom", ha="left", clip_on=False)
        ax.set_xlim(start, end)
        ax.set_ylim(low - 0.5, high + 0.5)
        first_bar = row * bars_per_row
        ax.set_xticks([start + i * beats_per_bar for i in range(bars_per_row)])
        ax.set_xticklabels([str(first_bar + i + 1) for i in range(bars_per_row)])
        ax.set_xticks([b for b in range(int(start), int(end)) if b % beats_per_bar], minor=True)
        step = 1 if high - low <= 26 else 2
        ticks = [p for p in range(low, high + 1) if p % step == 0 or p % 12 == 0]
        ax.set_yticks(ticks)
        ax.set_yticklabels([note_name(p) for p in ticks], fontsize=7)
        ax.tick_params(axis="x", labelsize=8)
        if row == rows - 1:
            ax.set_xlabel("bar (beats between the lines)")
        for spine in ("top", "right"):
            ax.spines[spine].set_visible(False)
    legend = [Patch(facecolor=colour, edgecolor="black", label=ELEMENT_TYPES[kind]) for kind, colour in TYPE_COLOURS.items()]
    fig.legend(handles=legend, loc="upper right", ncol=4, fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / fig.get_figheight()), h_pad=2.0)  # room for title and legend
    try:
        fig.savefig(out, dpi=dpi)
    except (OSError, ValueError) as err:
        raise JazzdError(f"{out}: cannot write the plot ({err})") from None
    finally:
        plt.close(fig)
    return Path(out)
