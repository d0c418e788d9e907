"""The walking-bass corpus: the Weimar Jazz Database's per-beat bass pitches, beside the solos' chords.

The WJazzD beat tracks (`mcsv_beat/<solo>_FINAL_beattrack.csv` of the repository the
MIDI corpus was converted from, github slSeanWU/jazz_transformer) give one row per
beat of each solo: its bar and beat, the chord label and, for most solos, the pitch
the bassist played on it (column `bass`, a MIDI note number). Beat k of a track is
MIDI beat k + pad_beats of the solo's MIDI file (the corpus README), whose Text events
give each chord in music21's spelling; the chords are read from there.

Only the beat tracks of the solos in the MIDI corpus folder (its manifest.csv) are
read, and never one whose WJazzD melid ends in 3: those solos are kept for an
independent evaluation.

The figures a bass line is judged by (line_figures), on the corpus and on jazzd's
lines alike:
- roots: the share of chord changes whose downbeat note is the chord's bass (its
  root, or the slash bass of a slash chord);
- steps, chromatic: the share of moves (consecutive beats of one line) of one or
  two semitones, and of one semitone;
- approach: the share of last-beat-of-bar notes a step or half step from the next
  bar's downbeat note;
- mean_interval: the mean absolute interval of the moves (semitones);
- range: the lowest to the highest note (semitones), of each whole stretch of 32 bars
  (a line's last, shorter stretch is left out: its range would look narrow).
"""

from __future__ import annotations

import csv
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import mido

from jazzd.core.band.bass import bass_pitch_class
from jazzd.core.harmony import Chord, chord_from_figure
from jazzd.errors import CorpusError, ChordSymbolError

RANGE_BARS = 32  # the range is measured over stretches of this many bars
KEPT_OUT_MELID_DIGIT = 3  # solos whose melid ends in 3 are kept for an independent evaluation: never read


@dataclass(frozen=True)
class BassBeat:
    """One beat of a bass line: its bar (0-based, of the MIDI file) and place in it, its length (1 = a beat),
    the bass pitch (MIDI note number, or None where the track has none) and the chord (None: N.C.)."""

    bar: int
    position: int  # beat within the bar, 0-based
    beats_per_bar: int
    pitch: int | None
    chord: Chord | None


@dataclass(frozen=True)
class BassSolo:
    """The bass line under one solo: the MIDI file's name and SHA-256, its rhythm feel (WJazzD's), its beats."""

    name: str
    sha256: str
    feel: str
    beats: tuple[BassBeat, ...]


def _chords_by_beat(midi_path: Path) -> tuple[list[tuple[int, str]], int]:
    """(beat, music21 figure) of each chord change of a WJazzD MIDI file (Text events), and its ticks per beat."""
    midi = mido.MidiFile(midi_path)
    changes = []
    for track in midi.tracks:  # the chords' track: its Text events sit beside Markers (the conductor's are credits)
        tick, texts, markers = 0, [], set()
        for msg in track:
            tick += msg.time
            if msg.type == "marker":
                markers.add(tick)
            elif msg.type == "text" and msg.text and tick % midi.ticks_per_beat == 0:
                texts.append((tick, msg.text))
        changes += [(t // midi.ticks_per_beat, text) for t, text in texts if t in markers]
    changes.sort()
    return changes, midi.ticks_per_beat


def read_solo(track_path: Path, midi_path: Path, pad_beats: int, feel: str) -> BassSolo:
    """The bass line of one beat track, with the chords of its MIDI file.

    Raises:
        CorpusError: for a beat track that is missing, unreadable, or has no bass column.
    """
    try:
        with open(track_path, newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, csv.Error, UnicodeDecodeError) as err:
        raise CorpusError(f"{track_path}: cannot read the beat track ({err})") from None
    if not rows or "bass" not in rows[0]:
        raise CorpusError(f"{track_path}: no bass column")
    changes, _ = _chords_by_beat(midi_path)
    figures: dict[str, Chord | None] = {}
    beats, change, chord, bar = [], 0, None, -1
    for k, row in enumerate(rows):
        midi_beat = k + pad_beats
        while change < len(changes) and changes[change][0] <= midi_beat:
            figure = changes[change][1]
            if figure not in figures:
                try:
                    figures[figure] = None if figure.upper().startswith("N.C") else chord_from_figure(figure)
                except ChordSymbolError:
                    figures[figure] = None
            chord = figures[figure]
            change += 1
        try:
            period, position = int(row["period"]), int(row["beat"]) - 1
        except (KeyError, ValueError):
            raise CorpusError(f"{track_path}: row {k + 2}: no period or beat") from None
        if position == 0 or bar < 0:
            bar += 1
        raw = (row.get("bass") or "").strip()
        try:
            pitch = int(round(float(raw))) if raw else None
        except ValueError:
            pitch = None
        if pitch is not None and not 0 <= pitch <= 127:
            pitch = None
        beats.append(BassBeat(bar, position, period, pitch, chord))
    sha = hashlib.sha256(Path(midi_path).read_bytes()).hexdigest()
    return BassSolo(Path(midi_path).name, sha, feel, tuple(beats))


def load_corpus(beat_tracks: Path, midi_corpus: Path) -> tuple[list[BassSolo], list[str]]:
    """Every bass line of the MIDI corpus's solos that a beat track gives.

    Args:
        beat_tracks: the folder of `<wjazzd_name>_FINAL_beattrack.csv` files (jazz_transformer's mcsv_beat).
        midi_corpus: the WJazzD MIDI folder with its manifest.csv (../shared/data/wjazzd).
    Returns:
        (solos, skipped): the lines read, and one line per solo left out with why (no beat track, no bass).
    Raises:
        CorpusError: if the manifest is missing or names a solo whose melid ends in 3.
    """
    manifest = Path(midi_corpus) / "manifest.csv"
    try:
        with open(manifest, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as err:
        raise CorpusError(f"{manifest}: cannot read the corpus manifest ({err.strerror or err})") from None
    solos, skipped = [], []
    for row in rows:
        if int(row["melid"]) % 10 == KEPT_OUT_MELID_DIGIT:
            raise CorpusError(f"{manifest}: names {row['file']} (melid {row['melid']}): the solos whose melid ends "
                              "in 3 are kept for an independent evaluation and are never read")
        track = Path(beat_tracks) / f"{row['wjazzd_name']}_FINAL_beattrack.csv"
        if not track.is_file():
            skipped.append(f"{row['file']}: no beat track ({track.name})")
            continue
        try:
            solos.append(read_solo(track, Path(midi_corpus) / row["file"], int(row["pad_beats"]), row["rhythmfeel"]))
        except CorpusError as err:
            skipped.append(f"{row['file']}: {err}")
    return solos, skipped


# -- the figures ------------------------------------------------------------------------------------

COUNTS = ("changes", "roots", "moves", "steps", "chromatic", "last_beats", "approach", "interval_sum",
          "ranges", "range_sum")


def line_counts(beats) -> dict[str, int]:
    """The counts the figures are made of, for one line (a sequence of BassBeat; a beat whose pitch is None
    breaks the line)."""
    c = dict.fromkeys(COUNTS, 0)
    previous: BassBeat | None = None
    previous_chord = None
    stretch: list[int] = []
    stretch_bar = None
    last_bar = None

    def close_stretch():  # only a whole stretch: a line's last few bars would make its range look narrow
        if len(stretch) >= 2 and last_bar - stretch_bar + 1 >= RANGE_BARS:
            c["ranges"] += 1
            c["range_sum"] += max(stretch) - min(stretch)

    for beat in beats:
        if stretch_bar is None or beat.bar - stretch_bar >= RANGE_BARS:
            close_stretch()
            stretch, stretch_bar = [], beat.bar
        last_bar = beat.bar
        pitch = beat.pitch
        changed = beat.chord is not None and (previous_chord is None or beat.chord.symbol != previous_chord.symbol)
        previous_chord = beat.chord if beat.chord is not None else previous_chord
        if pitch is None:
            previous = None
            continue
        stretch.append(pitch)
        if changed:
            c["changes"] += 1
            c["roots"] += pitch % 12 == bass_pitch_class(beat.chord)
        if previous is not None and previous.pitch is not None:
            step = abs(pitch - previous.pitch)
            c["moves"] += 1
            c["steps"] += step in (1, 2)
            c["chromatic"] += step == 1
            c["interval_sum"] += step
            if beat.position == 0 and previous.position == previous.beats_per_bar - 1:
                c["last_beats"] += 1
                c["approach"] += step in (1, 2)
        previous = beat
    close_stretch()
    return c


def add_counts(*counts: dict) -> dict[str, int]:
    total = dict.fromkeys(COUNTS, 0)
    for c in counts:
        for key in COUNTS:
            total[key] += c[key]
    return total


def figures(counts: dict) -> dict[str, float]:
    """The figures (see the module docstring) of summed counts; nan where there is nothing to count."""
    def share(a, b):
        return 100.0 * counts[a] / counts[b] if counts[b] else math.nan

    return {
        "roots": share("roots", "changes"),
        "steps": share("steps", "moves"),
        "chromatic": share("chromatic", "moves"),
        "approach": share("approach", "last_beats"),
        "mean_interval": counts["interval_sum"] / counts["moves"] if counts["moves"] else math.nan,
        "range": counts["range_sum"] / counts["ranges"] if counts["ranges"] else math.nan,
    }


FIGURES = (("roots", "chord changes on the chord's bass %", True), ("steps", "moves of 1-2 semitones %", True),
           ("chromatic", "moves of 1 semitone %", True), ("approach", "last beats a step from the downbeat %", True),
           ("mean_interval", "mean absolute interval", False), ("range", f"range over {RANGE_BARS} bars", False))


# -- jazzd's band over a corpus's chords (jazzd evaluate) -----------------------------------------------

def band_over(measures, bass_choice, seed: int) -> tuple[dict, list[float]] | None:
    """The band's bass and piano over the chords of real measures (their bars, once, at 120 BPM, no humanize;
    style swing, the waltz in 3/4): the bass line's counts (line_counts) and the piano's movement from each
    voicing to the next (semitones a voice, jazzd.core.band.comping.movement). None for bars in another meter.
    """
    import numpy as np

    from jazzd.core.band.comping import movement
    from jazzd.core.band.section import RhythmSection
    from jazzd.core.band.styles import style
    from jazzd.core.harmony import progression_from_json, progression_to_json

    harmony = progression_from_json(progression_to_json(measures), "held-out chords")
    bpb = harmony.beats_per_bar
    if bpb not in (3, 4):
        return None
    section = RhythmSection(style("waltz" if bpb == 3 else "swing"), harmony, np.random.default_rng(seed), bass_choice=bass_choice,
                            parts=("bass", "piano"), humanize_ms=0.0)
    notes = section.notes_until(len(measures) * bpb, 120.0)
    beats = []
    for part, note in notes:
        if part == "bass" and note.onset < len(measures) * bpb:
            at = round(note.onset)
            beats.append(BassBeat(int(at // bpb), int(at % bpb), bpb, note.pitch, harmony.chord_at(at)))
    strokes: dict[float, list[int]] = {}
    for part, note in notes:
        if part == "piano":
            strokes.setdefault(round(note.onset, 6), []).append(note.pitch)
    voicings = [tuple(sorted(p)) for _, p in sorted(strokes.items())]
    moves = [movement(a, b) for a, b in zip(voicings, voicings[1:])]
    return line_counts(beats), moves
