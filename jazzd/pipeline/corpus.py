"""Corpus: MIDI files -> measures of melody notes and chords -> grammar values.

The default corpus is the course's: Pat Metheny's "And Then I Knew", melody =
the guitar part (part 5), chords = the piano part (part 0), the solo at offsets
476-548 quarter notes (data/metheny_solo.toml). A corpus source is either a MIDI
file or a *manifest*, a small TOML file naming the MIDI file and its selection.

Parsing with music21 takes seconds, so each file's extracted measures and values
are cached as JSON under the cache directory (JAZZD_CACHE_DIR, else
$XDG_CACHE_HOME/jazzd, else ~/.cache/jazzd), keyed by the file's SHA-256, the
selection and the code that makes values.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import hashlib
import json
import logging
import os
import statistics
import tempfile
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import mido

from jazzd.errors import CorpusError, GrammarError
from jazzd.core.grammar import MelodyNote, measure_timeline, parse_measure
from jazzd.core.harmony import chord_of
from jazzd.core.timeline import GRID_POINTS, TICKS_PER_BEAT, nearest_grid_tick
from jazzd.pipeline.midifile import Score, from_music21, read_midi
from jazzd.pipeline.parts import (MIN_CHORD_PITCH_CLASSES, MIN_MELODY_ONSETS, MIN_TOP_LINE_SINGLE, NO_CHORD_FIGURE,
                         ChordEvent, chordify, find_melody, most_melodic, split_channels, split_layers, text_chords)

log = logging.getLogger(__name__)

# Bump when the cache's layout changes. Changes to extraction, the grammar or the
# harmony analysis change the cache key by themselves (see _code_digest).
CACHE_VERSION = 3
AUTO = "auto"
CHORD_WINDOWS = ("beat", "half bar")
QUANTIZE = ("grid", "music21")
LEGATO_GAP_BEATS = 1 / 6  # a shorter silence between two notes is articulation, not a rest
MAX_SHIFT_BEATS = 0.25  # a note is moved at most this far to a free grid point, else dropped
MIN_NOTE_BEATS = 0.25  # course: a melody note of quarterLength 0 becomes 0.25


@dataclass(frozen=True)
class CorpusSpec:
    """Which part of a MIDI file is the corpus.

    Args:
        path: the MIDI file.
        melody: the melody part, as a music21 part index or a (case-insensitive)
            part or instrument name, or "auto" for jazzd.pipeline.parts.find_melody.
        chords: the chord part, the same way, or "auto": chord symbols written
            in the file (Text/Marker events), else the other parts chordified.
        chord_window: for chordified chords, "beat" or "half bar".
        start: first beat (quarter-note offset) of the selection, or None for the start.
        end: end beat of the selection (exclusive), or None for the end.
        quantize: "grid" (default): read the notes exactly and snap them with
            snap_to_grid (no note lost to a collision); "music21": let music21
            quantize onsets and durations to 1/4 and 1/3 beats (the course's
            reading, kept by the Metheny manifests). True/False mean
            "music21"/"grid".
    """

    path: Path
    melody: int | str = AUTO
    chords: int | str = AUTO
    start: float | None = None
    end: float | None = None
    quantize: str = "grid"
    chord_window: str = "beat"

    def __post_init__(self):
        if isinstance(self.quantize, bool):
            object.__setattr__(self, "quantize", "music21" if self.quantize else "grid")

    def key(self) -> dict:
        """The selection as JSON-able data (without the path)."""
        data = asdict(self)
        del data["path"]
        return data


@dataclass(frozen=True)
class Measure:
    """One bar of the corpus.

    Args:
        number: bar number in the file (music21's measure number).
        offset: start of the bar, beats from the start of the file.
        length: bar length in beats.
        notes: the melody, monophonic, as MelodyNotes (rests have pitch None).
        chords: (offset in beats, MIDI note numbers, music21 figure or "") per
            chord change; the first is at the bar's start. See chord_of.
        values: the grammar values of the bar, as strings.
        played: the onsets (beats) of the bar's notes as the file plays them, before the grid
            (for comparing the rhythm of real solos with generated ones).
    """

    number: int
    offset: float
    length: float
    notes: tuple[MelodyNote, ...]
    chords: tuple[tuple[float, tuple[int, ...]], ...]
    values: tuple[str, ...] = field(default=())
    played: tuple[float, ...] = field(default=())


@dataclass(frozen=True)
class Piece:
    """The measures one corpus source gave, with where they came from."""

    spec: CorpusSpec
    sha256: str
    measures: tuple[Measure, ...]

    @property
    def n_values(self) -> int:
        return sum(len(m.values) for m in self.measures)

    def runs(self) -> list[list[Measure]]:
        """Split the measures into runs of consecutive bar numbers."""
        runs: list[list[Measure]] = []
        for m in self.measures:
            if runs and runs[-1][-1].number + 1 == m.number:
                runs[-1].append(m)
            else:
                runs.append([m])
        return runs


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    """SHA-256 of the modules whose code decides a piece's values."""
    from jazzd.core import grammar, harmony, realizer
    from jazzd.pipeline import parts

    digest = hashlib.sha256()
    for module in (__file__, grammar.__file__, harmony.__file__, parts.__file__, realizer.__file__):
        digest.update(Path(module).read_bytes())
    return digest.hexdigest()


def cache_dir() -> Path:
    """Where parsed corpora are cached (JAZZD_CACHE_DIR, XDG_CACHE_HOME/jazzd or ~/.cache/jazzd)."""
    if os.environ.get("JAZZD_CACHE_DIR"):
        return Path(os.environ["JAZZD_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "jazzd"


SPEC_KEYS = ("melody", "chords", "start", "end", "quantize", "chord_window")


def _spec_of(path: Path, table: dict, defaults: dict, where: str) -> CorpusSpec:
    unknown = sorted(set(table) - {"file", "description", *SPEC_KEYS})
    if unknown:
        raise CorpusError(f"{where}: unknown key {unknown[0]!r} (expected one of file, description, "
                          f"{', '.join(SPEC_KEYS)})")
    if not isinstance(table.get("file"), str):
        raise CorpusError(f"{where}: needs a 'file' key naming the MIDI file")
    values = {**defaults, **{k: table[k] for k in SPEC_KEYS if k in table}}
    return CorpusSpec(path=(path.parent / table["file"]).resolve(), melody=values.get("melody", AUTO),
                      chords=values.get("chords", AUTO), start=values.get("start"), end=values.get("end"),
                      quantize=values.get("quantize", "grid"), chord_window=values.get("chord_window", "beat"))


def read_manifest(path: Path) -> list[CorpusSpec]:
    """Read a corpus manifest: a TOML file naming MIDI files and, per file, its melody and chord parts and
    selection.

    One file: top-level keys `file`, `melody`, `chords`, `start`, `end`, `quantize`,
    `chord_window`. Several: a `[[files]]` table per file with those keys; top-level keys
    other than `file` are the defaults of every file. Paths are relative to the manifest's folder.

    Raises:
        CorpusError: for a missing or unreadable manifest, an unknown key or a file entry without 'file'.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise CorpusError(f"{path}: no such corpus manifest") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise CorpusError(f"{path}: not a readable TOML manifest ({err})") from None
    files = data.pop("files", None)
    if files is None:
        return [_spec_of(path, data, {}, str(path))]
    if not isinstance(files, list) or not files or not all(isinstance(f, dict) for f in files):
        raise CorpusError(f"{path}: 'files' must be a list of [[files]] tables")
    defaults = {k: v for k, v in data.items() if k != "description"}
    unknown = sorted(set(defaults) - set(SPEC_KEYS))
    if unknown:
        raise CorpusError(f"{path}: unknown key {unknown[0]!r} (expected one of files, description, "
                          f"{', '.join(SPEC_KEYS)})")
    return [_spec_of(path, table, defaults, f"{path}: [[files]] {i + 1}") for i, table in enumerate(files)]


def specs_for(source: Path, **overrides) -> list[CorpusSpec]:
    """The CorpusSpecs of a source path: a manifest (.toml, one or several files) or a MIDI file.

    Args:
        source: a .toml manifest or a MIDI file.
        overrides: CorpusSpec fields to set on every one (None values are ignored).
    """
    source = Path(source)
    specs = read_manifest(source) if source.suffix == ".toml" else [CorpusSpec(path=source)]
    changes = {k: v for k, v in overrides.items() if v is not None}
    if changes:
        specs = [CorpusSpec(**{**asdict(spec), **changes}) for spec in specs]
    return specs


def spec_for(source: Path, **overrides) -> CorpusSpec:
    """The CorpusSpec of a MIDI file or a one-file manifest (see specs_for).

    Raises:
        CorpusError: for a manifest of several files.
    """
    specs = specs_for(source, **overrides)
    if len(specs) != 1:
        raise CorpusError(f"{source}: a manifest of {len(specs)} files; name one MIDI file")
    return specs[0]


def _source(spec: CorpusSpec) -> tuple[Path, str, Path]:
    """(the MIDI file, its SHA-256, its cache entry); the entry is named by the file's content and the
    selection, so one cache folder serves every machine and copy of the file.

    Raises:
        CorpusError: if the file is missing or not MIDI.
    """
    path = Path(spec.path)
    if not path.is_file():
        raise CorpusError(f"{path}: no such MIDI file")
    data = path.read_bytes()
    if data[:4] != b"MThd":
        raise CorpusError(f"{path}: not a MIDI file (no MThd header)")
    sha = hashlib.sha256(data).hexdigest()
    key = hashlib.sha256(json.dumps([CACHE_VERSION, _code_digest(), sha, spec.key()], sort_keys=True).encode()).hexdigest()
    return path, sha, cache_dir() / "corpus" / f"{key}.json"


def cached_piece(spec: CorpusSpec) -> Piece | None:
    """The cached Piece of a source, or None when the cache has none (or a broken entry, which is ignored).

    Raises:
        CorpusError: if the file is missing, not MIDI, or known from the cache to be unusable.
    """
    path, _, cached = _source(spec)
    if not cached.is_file():
        return None
    try:
        data = json.loads(cached.read_bytes())
        if "unusable" in data:  # a file known not to hold a corpus: the same reason, without parsing again
            raise CorpusError(f"{path}: {data['unusable']}")
        piece = _piece_from_json(spec, data)
    except CorpusError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as err:
        log.warning("%s: ignoring a broken cache entry (%s)", cached, err)
        return None
    log.debug("%s: %d measures from the cache (%s)", path.name, len(piece.measures), cached)
    return piece


def load_piece(spec: CorpusSpec, use_cache: bool = True) -> Piece:
    """Parse a corpus source into measures and grammar values, through the cache.

    Args:
        spec: which file and which parts of it.
        use_cache: read and write the JSON cache. Default True.
    Returns:
        A Piece whose measures each hold at least one melody note.
    Raises:
        CorpusError: if the file is missing or not MIDI, a part does not exist,
            or the selection has no melody notes or no chords.
    """
    if use_cache:
        hit = cached_piece(spec)
        if hit is not None:
            return hit
    path, sha, cached = _source(spec)
    try:
        measures = _extract(spec, path)
    except CorpusError as err:
        if use_cache and str(err).startswith(f"{path}: "):  # cached without the path: the cache is shared
            _write_json(cached, {"version": CACHE_VERSION, "unusable": str(err)[len(f"{path}: "):]})
        raise
    piece = Piece(spec, sha, tuple(measures))
    if use_cache:
        _write_json(cached, _piece_to_json(piece))
    return piece


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as f:
        json.dump(data, f)
    os.replace(f.name, path)


def _piece_to_json(piece: Piece) -> dict:
    return {
        "version": CACHE_VERSION,
        "sha256": piece.sha256,
        "measures": [
            {
                "number": m.number,
                "offset": m.offset,
                "length": m.length,
                "notes": [[n.offset, n.duration, n.pitch] for n in m.notes],
                "chords": [[o, list(p), f] for o, p, f in m.chords],
                "values": list(m.values),
                "played": list(m.played),
            }
            for m in piece.measures
        ],
    }


def _piece_from_json(spec: CorpusSpec, data: dict) -> Piece:
    if data["version"] != CACHE_VERSION:
        raise ValueError("old cache version")
    measures = tuple(
        Measure(
            number=m["number"],
            offset=m["offset"],
            length=m["length"],
            notes=tuple(MelodyNote(*n) for n in m["notes"]),
            chords=tuple((o, tuple(p), f) for o, p, f in m["chords"]),
            values=tuple(m["values"]),
            played=tuple(m["played"]),
        )
        for m in data["measures"]
    )
    return Piece(spec, data["sha256"], measures)


def _pick_part(parts, wanted, path: Path, role: str) -> int:
    """Index of the part the user named: its index, or its name or instrument (any case)."""
    if isinstance(wanted, int) and not isinstance(wanted, bool):
        if 0 <= wanted < len(parts):
            return wanted
    else:
        for i, part in enumerate(parts):
            if str(wanted).strip().lower() in (part.name.lower(), part.instrument.lower()):
                return i
    listing = ", ".join(f"{i}: {p.label}" for i, p in enumerate(parts))
    raise CorpusError(f"{path}: no {role} part {wanted!r} (parts are {listing})")


def _part_chords(part) -> list[ChordEvent]:
    """A chord part's multi-note chords, merged per onset (the course's Metheny piano part)."""
    merged: dict[float, set[int]] = {}
    for e in part.events:
        if len(e.pitches) >= 2:
            merged.setdefault(e.onset, set()).update(e.pitches)
    return sorted((o, tuple(sorted(p)), "") for o, p in merged.items())


def _chord_events(spec: CorpusSpec, path: Path, score: Score, melody_index: int,
                  beats_per_bar: float) -> tuple[list[ChordEvent], list | None]:
    """The harmony of a file, and the melody part's events when its own lower notes became that harmony.

    In order: the part the user named, chord symbols written in the file, the other parts chordified,
    else the chords beneath the melody in its own track (a lead sheet, a folk tune: split_layers).

    Returns:
        (chord events, the melody's upper layer or None).
    Raises:
        CorpusError: for a chord part without chords, a bad chord window, or no harmony at all.
    """
    parts = score.parts
    if spec.chords != AUTO:
        index = _pick_part(parts, spec.chords, path, "chord")
        events = _part_chords(parts[index])
        if not events:
            raise CorpusError(f"{path}: the chord part {spec.chords!r} has no chords")
        return events, None
    events = text_chords(score if score.texts is not None else path)
    if any(figure != NO_CHORD_FIGURE for _, _, figure in events):
        return events, None
    others = [p for i, p in enumerate(parts) if i != melody_index and not p.drums]
    if spec.chord_window not in CHORD_WINDOWS:
        raise CorpusError(f"{path}: chord_window must be one of {', '.join(CHORD_WINDOWS)}, got {spec.chord_window!r}")
    window = 1.0 if spec.chord_window == "beat" else beats_per_bar / 2
    events = chordify(others, window)
    if events:
        return events, None
    layers = split_layers(parts[melody_index].events)
    if layers is not None:  # the chords are in the melody's own track, beneath it
        upper, lower = layers
        events = chordify([dataclasses.replace(parts[melody_index], events=tuple(lower))], window)
        if events:
            log.debug("%s: the harmony is the chords beneath the melody in its own track", path.name)
            return events, upper
    raise CorpusError(f"{path}: no harmony (no chord symbols in the file, no other part sounds "
                      f"{MIN_CHORD_PITCH_CLASSES} pitch classes together, nor does the melody's track beneath it)")


def read_score(spec: CorpusSpec, path: Path) -> Score:
    """The file's parts and bars: read with mido, or with music21 for its quantized reading (the course's).

    Raises:
        CorpusError: for a file that is not readable MIDI or has no notes.
    """
    if spec.quantize not in QUANTIZE:
        raise CorpusError(f"{path}: quantize must be one of {', '.join(QUANTIZE)}, got {spec.quantize!r}")
    if spec.quantize == "grid":
        return read_midi(path)
    return read_with_music21(path, quantize=True)


def read_with_music21(path: Path, quantize: bool) -> Score:
    """The file read by music21 (quantized to 1/4 and 1/3 beats: the course's reading), as a Score.

    Raises:
        CorpusError: for a file music21 cannot read.
    """
    from music21 import converter

    log.debug("%s: parsing with music21", path)
    try:
        split = split_channels(mido.MidiFile(str(path)))
        with tempfile.TemporaryDirectory(prefix="jazzd-") as tmp:
            source = path
            if split is not None:  # one part per channel (a type-0 file, a multi-channel track)
                source = Path(tmp) / path.name
                split.save(source)
            # forceSource: music21 would otherwise unpickle a file of that name from its shared scratch
            # folder (code in it would run here); storePickle: and leave none behind
            score = converter.parse(str(source), format="midi", quantizePost=quantize, forceSource=True,
                                    storePickle=False)
    except Exception as err:  # mido and music21 raise many types for a broken file
        raise CorpusError(f"{path}: not a readable MIDI file ({type(err).__name__}: {err})") from None
    return from_music21(score)


def melody_part_index(spec: CorpusSpec, parts, path: Path) -> int:
    """Which part of a file is its melody: the spec's, else the part that is mostly single notes, else the top line
    of the highest (the rule training reads a file by).

    Raises:
        CorpusError: naming the file, if no part will do.
    """
    if spec.melody != AUTO:
        return _pick_part(parts, spec.melody, path, "melody")
    try:
        return find_melody(parts, path)
    except CorpusError as err:
        index = most_melodic(parts)  # no part is mostly single notes: the top line of the highest
        if index is None:
            raise CorpusError(f"{err}; nor has any part a top line of {MIN_MELODY_ONSETS} onsets or more, "
                              f"{MIN_TOP_LINE_SINGLE:.0%} of them single notes") from None
        log.debug("%s: no part is mostly single notes; the melody is the top line of %s", path.name,
                  parts[index].label)
        return index


def _extract(spec: CorpusSpec, path: Path) -> list[Measure]:
    """Read the MIDI file and build the measures (no cache)."""
    score = read_score(spec, path)
    parts = list(score.parts)
    if not any(p.events for p in parts):
        raise CorpusError(f"{path}: the MIDI file has no notes")
    melody_index = melody_part_index(spec, parts, path)
    melody_part = parts[melody_index]
    start = -float("inf") if spec.start is None else float(spec.start)
    end = float("inf") if spec.end is None else float(spec.end)

    bars = [b for b in score.bars if b[1] >= start - 1e-9 and b[1] + b[2] <= end + 1e-9]
    if not bars:
        raise CorpusError(f"{path}: no whole bar lies between beats {spec.start} and {spec.end}")
    sel_start, sel_end = bars[0][1], bars[-1][1] + bars[-1][2]
    beats_per_bar = statistics.mode(b[2] for b in bars)
    chord_events, upper = _chord_events(spec, path, score, melody_index, beats_per_bar)
    melody_events = melody_part.events if upper is None else upper

    # Melody: the top note of each onset, made monophonic; gaps become rests.
    onsets: dict[float, tuple[int, float]] = {}
    for e in melody_events:
        if not sel_start - 1e-9 <= e.onset < sel_end - 1e-9:
            continue
        pitch = max(e.pitches)
        duration = e.duration or MIN_NOTE_BEATS
        if e.onset not in onsets or pitch > onsets[e.onset][0]:
            onsets[e.onset] = (pitch, duration)
    if not onsets:
        raise CorpusError(
            f"{path}: no melody notes in part {melody_part.label!r} between beats {sel_start:g} and {sel_end:g}"
        )
    played_onsets = list(onsets)
    if spec.quantize == "grid":
        melody = snap_to_grid([MelodyNote(o, d, p) for o, (p, d) in sorted(onsets.items())], sel_end)
    else:
        times = sorted(onsets)
        melody = []
        for i, offset in enumerate(times):
            pitch, duration = onsets[offset]
            following = times[i + 1] if i + 1 < len(times) else sel_end
            melody.append(MelodyNote(offset, min(duration, following - offset), pitch))

    onsets = [n.offset for n in melody]  # sorted, as are the chord events' offsets
    raw_onsets = sorted(played_onsets)
    chord_onsets = [e[0] for e in chord_events]
    measures, no_chord = [], 0
    for number, offset, length in bars:
        bar_end = offset + length
        first, stop = bisect.bisect_left(onsets, offset - 1e-9), bisect.bisect_left(onsets, bar_end - 1e-9)
        notes = melody[first:stop]
        if not notes:
            continue  # a bar without melody carries nothing to learn
        # A note held over the bar line from the bar before is not a rest.
        held = melody[first - 1].offset + melody[first - 1].duration if first else offset
        timeline = measure_timeline(notes, offset, bar_end, held)

        c_first = bisect.bisect_left(chord_onsets, offset - 1e-9)
        inside = chord_events[c_first:bisect.bisect_left(chord_onsets, bar_end - 1e-9)]
        if not inside or inside[0][0] > offset + 1e-9:
            carried = chord_events[c_first - 1] if c_first else (inside or chord_events)[0]
            inside = [(offset, carried[1], carried[2])] + inside
        if any(_sounding(inside, n.offset)[2] == NO_CHORD_FIGURE for n in notes if n.pitch is not None):
            no_chord += 1
            continue  # notes over N.C.: the grammar has no chord to read them against
        inside = [e for e in inside if e[2] != NO_CHORD_FIGURE]  # N.C. under rests only
        bar_chords = [(o, chord_of(p, f)) for o, p, f in inside]
        try:
            values = parse_measure(timeline, bar_chords)
        except GrammarError as err:
            raise CorpusError(f"{path}: bar {number}: {err}") from None
        measures.append(
            Measure(number, offset, length, tuple(timeline), tuple(inside), tuple(str(v) for v in values),
                    tuple(o for o in raw_onsets[bisect.bisect_left(raw_onsets, offset - 1e-9):
                                                bisect.bisect_left(raw_onsets, bar_end - 1e-9)]))
        )
    if no_chord:
        log.debug("%s: %d bars with melody over N.C. left out", path.name, no_chord)
    if not measures:
        raise CorpusError(f"{path}: no bar has both melody notes and a chord")
    return measures


def snap_to_grid(notes: list[MelodyNote], end: float) -> list[MelodyNote]:
    """Put exactly read melody notes on the grammar's grid of 1/4 and 1/3 beats.

    Each onset goes to the nearest grid point; one that would land on or before
    the previous note's goes to the next free point, if that is within
    MAX_SHIFT_BEATS of where it was played (else the note is dropped), so fast
    runs keep their notes where a plain rounding merges them. A note ends on the
    grid point nearest its end, at least one step after its onset, at most at
    the next onset; a silence shorter than LEGATO_GAP_BEATS before the next
    note is articulation, and the note is held up to it.

    Args:
        notes: monophonic notes sorted by onset (beats), durations > 0.
        end: where the selection ends (beats); no note lasts past it.
    Returns:
        The snapped notes, onsets strictly increasing, on the realizer's grid
        (jazzd.core.realizer.GRID, TICKS_PER_BEAT ticks a beat).
    """
    tpb = TICKS_PER_BEAT

    def after(tick: int) -> int:
        beat = tick // tpb
        return next(beat * tpb + p for p in (*GRID_POINTS, tpb) if beat * tpb + p > tick)

    end_ticks = round(end * tpb)
    placed: list[tuple[int, float, int]] = []  # (onset tick, exact end in ticks, pitch)
    for n in notes:
        onset = nearest_grid_tick(n.offset * tpb)
        if placed and onset <= placed[-1][0]:
            onset = after(placed[-1][0])
            if abs(onset - n.offset * tpb) > MAX_SHIFT_BEATS * tpb:
                continue
        if onset >= end_ticks:
            continue
        placed.append((onset, (n.offset + n.duration) * tpb, n.pitch))
    snapped = []
    for i, (onset, exact_end, pitch) in enumerate(placed):
        following = placed[i + 1][0] if i + 1 < len(placed) else end_ticks
        stop = max(nearest_grid_tick(exact_end), after(onset))
        if following - stop < LEGATO_GAP_BEATS * tpb:
            stop = following
        stop = min(stop, following)
        snapped.append(MelodyNote(onset / tpb, (stop - onset) / tpb, pitch))
    return snapped


def _sounding(events: list[ChordEvent], beat: float) -> ChordEvent:
    """The chord event sounding at a beat (the last at or before it, else the first)."""
    current = events[0]
    for e in events:
        if e[0] <= beat + 1e-9:
            current = e
        else:
            break
    return current


def load_corpus(sources, use_cache: bool = True, **overrides) -> list[Piece]:
    """Load several corpus sources (MIDI files or manifests) into Pieces.

    Args:
        sources: paths of .mid/.midi files or .toml manifests.
        use_cache: see load_piece.
        overrides: CorpusSpec fields applied to every source (melody, chords, start, end).
    Raises:
        CorpusError: see load_piece; also if no source is given.
    """
    sources = list(sources)
    if not sources:
        raise CorpusError("no corpus given: name a MIDI file or a manifest")
    return [load_piece(spec, use_cache=use_cache) for s in sources for spec in specs_for(s, **overrides)]
