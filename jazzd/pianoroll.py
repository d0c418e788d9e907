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
from jazzd.files import replaced

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
class RollBand:
    """A note of the band, drawn faintly under the solo: its part ("bass", "piano", "drums"), onset and duration
    in beats, MIDI note number (for the drums, the General MIDI drum: drawn as a tick under the roll)."""

    part: str
    onset: float
    duration: float
    pitch: int


BAND_COLOURS = {"bass": "#d9a066", "piano": "#ced4da"}
DRUM_TICK = "#868e96"


def band_from_generated(generated) -> list[RollBand]:
    """The band's notes of a jazzd.generate.Generated result."""
    return [RollBand(part, n.onset, n.duration, n.pitch) for part, notes in (generated.band or {}).items()
            for n in notes]


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
    for n in getattr(generated, "primer", ()):  # a primer's notes, typed against the chord under them
        chord = generated.harmony.chord_at(n.onset)
        if chord is not None:
            notes.append(RollNote(n.onset, n.duration, n.pitch, chord.types[n.pitch % 12]))
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


ROWS_PER_PAGE = 6  # a page holds at most this many rows (48 bars at 8 a row); longer solos go on more pages
SEMITONE_INCHES = 0.13  # height of one pitch row: room for its name
MAX_BEAT_LINES = 128  # a row of more beats (8 bars of 16/4) gets bar lines only


def page_paths(out: Path, pages: int) -> list[Path]:
    """The files of a plot of several pages: out, then out's name with -2, -3, ... before the suffix."""
    out = Path(out)
    return [out] + [out.with_name(f"{out.stem}-{k}{out.suffix}") for k in range(2, pages + 1)]


def plot_piano_roll(notes: Sequence[RollNote], chords: Sequence[RollChord], beats_per_bar: int, beats: float,
                    out: Path, title: str = "", bars_per_row: int = 8, dpi: int = 110,
                    band: Sequence[RollBand] = ()) -> list[Path]:
    """Draw a piano roll to image files (PNG, SVG or PDF by out's suffix), ROWS_PER_PAGE rows a page.

    Every semitone row is named, black keys shaded and every C marked, as in a
    DAW's piano roll; the comp's chords are drawn as light blocks behind the
    melody, their symbols above each row. With the band's notes, the piano's
    and the bass's are drawn faintly in their place instead, and each drum hit
    as a tick under the roll.

    Args:
        notes: the melody.
        chords: chord symbols and their onsets (beats); each lasts until the next.
        beats_per_bar: bar length in beats (quarter notes).
        beats: the solo's length in beats.
        out: the image file (a longer solo also writes out-2, out-3, ... beside it).
        title: drawn above the first row of each page.
        bars_per_row: bars per row before wrapping. Default 8.
        dpi: resolution of a PNG.
        band: the band's notes (RollBand), or none.
    Returns:
        The files written, in page order.
    Raises:
        JazzdError: if there are no notes, or a file cannot be written.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only, no screen
    import matplotlib.pyplot as plt

    if not notes:
        raise JazzdError(f"{out}: no notes to plot")
    bars = max(1, math.ceil(beats / beats_per_bar - 1e-9))
    rows = math.ceil(bars / bars_per_row)
    pages = math.ceil(rows / ROWS_PER_PAGE)
    spans = [(c.onset, chords[i + 1].onset if i + 1 < len(chords) else beats, c.chord) for i, c in enumerate(chords)]
    pitched = [b for b in band if b.part != "drums"]
    drums = [b for b in band if b.part == "drums"]
    pitches = [n.pitch for n in notes] + ([b.pitch for b in pitched] if band else
                                          [p for _, _, chord in spans for p in chord.voicing])
    low, high = min(pitches) - (3 if drums else 1), max(pitches) + 1
    written = []
    for page, path in enumerate(page_paths(out, pages)):
        first_row = page * ROWS_PER_PAGE
        page_rows = min(ROWS_PER_PAGE, rows - first_row)
        row_inches = SEMITONE_INCHES * (high - low + 1) + 0.7
        top_inches = 0.9 if title else 0.5  # the title and the legend sit above the first row
        fig, axes = plt.subplots(page_rows, 1, figsize=(min(2.0 * bars_per_row, 2.0 * bars) + 1.2,
                                                          row_inches * page_rows + top_inches), squeeze=False)
        for i, ax in enumerate(axes[:, 0]):
            _draw_row(ax, first_row + i, notes, spans, beats_per_bar, bars_per_row, low, high,
                      last=i == page_rows - 1, band=band)
        _decorate(fig, title + (f" (page {page + 1} of {pages})" if pages > 1 else ""), top_inches, bool(band))
        try:
            with replaced(path) as target:
                fig.savefig(target, dpi=dpi, format=path.suffix.lstrip(".").lower())
        except (OSError, ValueError) as err:
            raise JazzdError(f"{path}: cannot write the plot ({err})") from None
        finally:
            plt.close(fig)
        written.append(Path(path))
    return written


def _draw_row(ax, row, notes, spans, beats_per_bar, bars_per_row, low, high, last, band=()) -> None:
    from matplotlib.patches import Rectangle

    row_beats = bars_per_row * beats_per_bar
    start, end = row * row_beats, (row + 1) * row_beats
    for pitch in range(low, high + 1):
        if pitch % 12 in BLACK_KEYS:
            ax.axhspan(pitch - 0.5, pitch + 0.5, color="#eceff1", zorder=0, lw=0)
        elif pitch % 12 == 0:
            ax.axhline(pitch - 0.5, color="#adb5bd", lw=0.6, zorder=0)  # the line under every C
    # a file's 255/1 time signature makes a row 8,160 beats: a line for each would take a minute to draw
    beat_lines = row_beats <= MAX_BEAT_LINES
    for beat in range(int(start), int(end) + 1, 1 if beat_lines else beats_per_bar):
        bar_line = (beat % beats_per_bar) == 0
        ax.axvline(beat, color="#495057" if bar_line else "#dee2e6", lw=1.0 if bar_line else 0.5, zorder=1)
    for onset, stop, chord in spans:
        if onset < end - 1e-9 and stop > start + 1e-9:
            left, right = max(onset, start), min(stop, end)
            for pitch in (chord.voicing if not band else ()):
                ax.add_patch(Rectangle((left + 0.03, pitch - 0.35), right - left - 0.06, 0.7, facecolor="#ced4da",
                                       edgecolor="none", alpha=0.7, zorder=2))
            if start - 1e-9 <= onset:
                ax.text(onset + 0.05, high + 0.9, chord.symbol, fontsize=9, fontweight="bold", va="bottom",
                        ha="left", clip_on=False)
    for b in band:
        if not start - 1e-9 <= b.onset < end - 1e-9:
            continue
        if b.part == "drums":  # a tick under the roll
            ax.plot([b.onset, b.onset], [low - 0.4, low + 0.6], color=DRUM_TICK, lw=0.5, zorder=2)
        else:
            ax.add_patch(Rectangle((b.onset + 0.02, b.pitch - 0.35), max(0.02, min(b.duration, end - b.onset) - 0.04),
                                   0.7, facecolor=BAND_COLOURS.get(b.part, "#ced4da"), edgecolor="none", alpha=0.7,
                                   zorder=2))
    for n in notes:
        if start - 1e-9 <= n.onset < end - 1e-9:
            ax.add_patch(Rectangle((n.onset, n.pitch - 0.4), min(n.duration, end - n.onset), 0.8,
                                   facecolor=TYPE_COLOURS.get(n.kind, "#868e96"), edgecolor="black", lw=0.4, zorder=3))
    ax.set_xlim(start, end)
    ax.set_ylim(low - 0.5, high + 0.5)
    first_bar = row * bars_per_row
    ax.set_xticks([start + i * beats_per_bar for i in range(bars_per_row)])
    ax.set_xticklabels([str(first_bar + i + 1) for i in range(bars_per_row)])
    if beat_lines:
        ax.set_xticks([b for b in range(int(start), int(end)) if b % beats_per_bar], minor=True)
    ticks = list(range(low, high + 1))
    ax.set_yticks(ticks)
    ax.set_yticklabels([note_name(p) for p in ticks], fontsize=6)
    for label, pitch in zip(ax.get_yticklabels(), ticks):
        if pitch % 12 == 0:
            label.set_fontweight("bold")
    ax.tick_params(axis="x", labelsize=8)
    ax.tick_params(axis="y", length=0, pad=1)
    if last:
        ax.set_xlabel("bar (beats between the lines)")
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)


def _decorate(fig, title: str, top_inches: float, band: bool = False) -> None:
    from matplotlib.patches import Patch

    legend = [Patch(facecolor=colour, edgecolor="black", label=ELEMENT_TYPES[kind]) for kind, colour in TYPE_COLOURS.items()]
    if band:
        legend.append(Patch(facecolor=BAND_COLOURS["piano"], edgecolor="none", label="piano"))
        legend.append(Patch(facecolor=BAND_COLOURS["bass"], edgecolor="none", label="bass (drums: ticks below)"))
    else:
        legend.append(Patch(facecolor="#ced4da", edgecolor="none", label="comp (the chord's voicing)"))
    height = fig.get_figheight()
    fig.legend(handles=legend, loc="upper right", ncol=len(legend), fontsize=8, frameon=False, bbox_to_anchor=(1, 1))
    if title:
        fig.text(0.01, 1 - 0.12 / height, title, ha="left", va="top", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 1 - top_inches / height), h_pad=2.5)  # the title and legend stay clear
