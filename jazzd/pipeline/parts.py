"""Finding the melody and the chords in any MIDI file.

deepjazz and the course read one file with hand-picked parts. jazzd reads any
type 0 or type 1 file:

Parts are jazzd.pipeline.midifile.Part objects (read with mido).

- Melody: a part named or numbered by the user, else the heuristic of
  `find_melody`: among the parts that are not drums and are mostly monophonic
  (at least MIN_MONOPHONIC of their onsets hold one note), with a median pitch
  in a solo register (MIDI SOLO_REGISTER_LOW or above), the one with the most notes.
- Chords: chord symbols written in the file as Text or Marker meta events
  (`text_chords`; the Weimar Jazz Database files have both), else the other
  pitched parts chordified per beat or half bar and named with music21
  (`chordify`).

Chord events are (offset in beats, MIDI note numbers, music21 figure or "");
a figure of NO_CHORD_FIGURE marks a span with no chord (N.C.).
"""

from __future__ import annotations

import statistics
from pathlib import Path

import mido

from jazzd.errors import ChordSymbolError, CorpusError
from jazzd.core.harmony import NO_CHORD, chord_from_figure, chord_from_symbol, symbol_to_figure

MIN_MONOPHONIC = 0.8  # share of a part's onsets that hold a single note
MIN_MELODY_ONSETS = 8  # a part with fewer onsets is no melody
MIN_TOP_LINE_SINGLE = 0.3  # ... nor is one where fewer of its onsets hold a single note
LAYER_GAP = 7  # semitones between the medians of a melody and the chords beneath it in one track
MIN_CHORDED = 0.1  # share of a track's onsets that hold several notes before it is split into melody and chords
SOLO_REGISTER_LOW = 48  # C3: a melody part's median pitch is at least this (a bass line's is lower)
MIN_CHORD_PITCH_CLASSES = 3  # a chordified window names a chord from 3 pitch classes up
NO_CHORD_FIGURE = "N.C."


ChordEvent = tuple[float, tuple[int, ...], str]


def split_channels(midi: mido.MidiFile) -> mido.MidiFile | None:
    """A type-1 copy of a MIDI file with one track per channel, if a track mixes channels.

    music21 reads a track as one part, so a type-0 file (every channel in one
    track) would otherwise merge the melody with its accompaniment.
    Returns:
        The split file (meta events stay in the first track of their source
        track; a new track is named "<track name> ch<channel 1-16>"), or None
        when no track holds notes on more than one channel.
    """
    mixed = False
    for track in midi.tracks:
        if len({m.channel for m in track if m.type in ("note_on", "note_off")}) > 1:
            mixed = True
    if not mixed:
        return None
    out = mido.MidiFile(type=1, ticks_per_beat=midi.ticks_per_beat)
    for track in midi.tracks:
        absolute, tick = [], 0
        for msg in track:
            tick += msg.time
            absolute.append((tick, msg))
        channels = sorted({m.channel for _, m in absolute if not m.is_meta and hasattr(m, "channel")})
        groups = {None: []} | {ch: [] for ch in channels}
        for tick, msg in absolute:
            if msg.is_meta and msg.type == "end_of_track":
                continue
            groups[None if msg.is_meta or not hasattr(msg, "channel") else msg.channel].append((tick, msg))
        for key, events in groups.items():
            if key is not None and not events:
                continue
            new = mido.MidiTrack()
            if key is not None:
                new.append(mido.MetaMessage("track_name", name=f"{track.name or 'Track'} ch{key + 1}"))
            last = 0
            for tick, msg in events:
                new.append(msg.copy(time=tick - last))
                last = tick
            out.tracks.append(new)
    return out


def part_profile(part) -> dict:
    """How a part looks as a melody candidate.

    Args:
        part: a jazzd.pipeline.midifile.Part.
    Returns:
        {"notes": note count, "monophonic": share of onsets with one pitch,
        "median_pitch": median MIDI note number (0 if empty), "drums": bool}.
    """
    pitches_at: dict[float, int] = {}
    all_pitches: list[int] = []
    for e in part.events:
        pitches_at[e.onset] = pitches_at.get(e.onset, 0) + len(e.pitches)
        all_pitches.extend(e.pitches)
    onsets = len(pitches_at)
    return {
        "notes": len(all_pitches),
        "monophonic": sum(1 for k in pitches_at.values() if k == 1) / onsets if onsets else 0.0,
        "median_pitch": statistics.median(all_pitches) if all_pitches else 0,
        "drums": part.drums,
    }


def top_line_pitch(part) -> float:
    """The median pitch of a part's top line (its highest note at each onset): how high its melody sits."""
    tops: dict[float, int] = {}
    for e in part.events:
        tops[e.onset] = max(tops.get(e.onset, 0), max(e.pitches))
    return statistics.median(tops.values()) if tops else 0.0


def most_melodic(parts) -> int | None:
    """Where no part is mostly single notes (a piano's right hand in octaves, a lead sheet's melody and
    chords in one track): the non-drum part whose top line sits highest, among those with at least
    MIN_MELODY_ONSETS onsets of which MIN_TOP_LINE_SINGLE hold one note (a part of block chords has no
    melody). None if there is none."""
    best, best_pitch = None, -1.0
    for i, part in enumerate(parts):
        profile = part_profile(part)
        if part.drums or len({e.onset for e in part.events}) < MIN_MELODY_ONSETS \
                or profile["monophonic"] < MIN_TOP_LINE_SINGLE:
            continue
        pitch = top_line_pitch(part)
        if pitch > best_pitch:
            best, best_pitch = i, pitch
    return best


def split_layers(events) -> tuple[list, list] | None:
    """A part that holds a melody above its own chords (a lead sheet or a folk tune written in one track),
    split at the pitch that best parts its notes in two (two-means on the pitches): (upper, lower) events.

    Returns:
        None unless the track sounds chords (at least MIN_CHORDED of its onsets hold several notes: a
        single line is never split), and the two layers lie at least LAYER_GAP semitones apart (their
        medians) and each holds at least a tenth of the notes.
    """
    pitches_at: dict[float, int] = {}
    for e in events:
        pitches_at[e.onset] = pitches_at.get(e.onset, 0) + len(e.pitches)
    if not pitches_at or sum(1 for k in pitches_at.values() if k > 1) < MIN_CHORDED * len(pitches_at):
        return None
    pitches = sorted(p for e in events for p in e.pitches)
    if len(pitches) < 8:
        return None
    best = _split_by_sums(pitches)
    if best is None:
        return None
    low, high = pitches[:best], pitches[best:]
    if statistics.median(high) - statistics.median(low) < LAYER_GAP or min(len(low), len(high)) < len(pitches) / 10:
        return None
    threshold = pitches[best]
    upper, lower = [], []
    for e in events:
        up = tuple(p for p in e.pitches if p >= threshold)
        down = tuple(p for p in e.pitches if p < threshold)
        if up:
            upper.append(type(e)(e.onset, e.duration, up))
        if down:
            lower.append(type(e)(e.onset, e.duration, down))
    return upper, lower


def _split_by_sums(pitches: list[int]) -> int | None:
    """The index splitting sorted pitches into the two groups of least total variance (prefix sums)."""
    n = len(pitches)
    prefix, prefix_sq = [0.0], [0.0]
    for p in pitches:
        prefix.append(prefix[-1] + p)
        prefix_sq.append(prefix_sq[-1] + p * p)
    best, best_cost = None, None
    for k in range(1, n):
        if pitches[k] == pitches[k - 1]:
            continue
        left = prefix_sq[k] - prefix[k] ** 2 / k
        right = (prefix_sq[n] - prefix_sq[k]) - (prefix[n] - prefix[k]) ** 2 / (n - k)
        if best_cost is None or left + right < best_cost:
            best, best_cost = k, left + right
    return best


def find_melody(parts, path: Path) -> int:
    """Index of the melody part by the module's heuristic.

    Args:
        parts: the parts of a score (jazzd.pipeline.midifile.Part).
        path: the file, for messages.
    Returns:
        The index into parts.
    Raises:
        CorpusError: if no part is a mostly monophonic, non-drum part in a solo register.
    """
    best, best_notes = None, 0
    looked = []
    for i, part in enumerate(parts):
        profile = part_profile(part)
        looked.append(f"{part.label}: {profile['notes']} notes, "
                      f"{profile['monophonic']:.0%} single, median {profile['median_pitch']:g}"
                      f"{', drums' if profile['drums'] else ''}")
        if (not profile["drums"] and profile["monophonic"] >= MIN_MONOPHONIC
                and profile["median_pitch"] >= SOLO_REGISTER_LOW and profile["notes"] > best_notes):
            best, best_notes = i, profile["notes"]
    if best is None:
        raise CorpusError(f"{path}: no melody part (none is mostly single notes, not drums, median pitch "
                          f">= {SOLO_REGISTER_LOW}; {'; '.join(looked) or 'no parts'})")
    return best


def _read_text_chord(kind: str, text: str) -> ChordEvent | None:
    text = text.strip()
    if not text or ":" in text or len(text) > 40:
        return None  # titles, credits and other prose
    if text in NO_CHORD:
        return (0.0, (), NO_CHORD_FIGURE)
    # A Text event is tried as a music21 figure first ("B-m7"); a Marker is a
    # lead-sheet symbol, where "-" means minor ("Bb-7").
    readers = ("figure", "symbol") if kind == "text" else ("symbol",)
    for reader in readers:
        try:
            if reader == "figure":
                chord = chord_from_figure(text)
                figure = text
            else:
                chord = chord_from_symbol(text)
                figure = symbol_to_figure(text)
        except ChordSymbolError:
            continue
        return (0.0, chord.voicing, figure)
    return None


def text_chords(source) -> list[ChordEvent]:
    """Chord symbols written in a MIDI file's Text, Marker or Cue meta events.

    Where one tick holds both a Text and a Marker chord, the Text wins (the
    Weimar files write the music21 spelling there).

    Args:
        source: a jazzd.pipeline.midifile.Score (its texts), or the path of a Standard MIDI File.
    Returns:
        Chord events sorted by offset in beats (quarter notes); empty when the
        file has none. N.C. events have no pitches and the figure NO_CHORD_FIGURE.
    Raises:
        CorpusError: if mido cannot read the file.
    """
    if isinstance(source, (str, Path)):
        from jazzd.pipeline.midifile import meta_texts

        try:
            midi = mido.MidiFile(str(source))
        except Exception as err:  # mido raises many types for a broken file
            raise CorpusError(f"{source}: not a readable MIDI file ({type(err).__name__}: {err})") from None
        texts, ticks_per_beat = meta_texts(midi), midi.ticks_per_beat
    else:
        texts, ticks_per_beat = source.texts, source.ticks_per_beat
    found: dict[int, tuple[int, ChordEvent]] = {}
    rank = {"text": 0, "marker": 1, "cue_marker": 2}
    for tick, kind, text in texts:
        event = _read_text_chord(kind, text)
        if event is None:
            continue
        if tick not in found or rank[kind] < found[tick][0]:
            found[tick] = (rank[kind], event)
    return [(tick / ticks_per_beat, e[1], e[2]) for tick, (_, e) in sorted(found.items())]


def chordify(parts, window: float) -> list[ChordEvent]:
    """Name the chords the given parts sound, one window at a time.

    Each window (a beat, or half a bar) takes every pitch sounding in it; with
    at least MIN_CHORD_PITCH_CLASSES pitch classes it is a chord event, unless
    the pitches are those of the chord before (then the chord goes on).

    Args:
        parts: jazzd.pipeline.midifile.Part objects (the accompaniment; not the melody, not drums).
        window: window length in beats, > 0.
    Returns:
        Chord events sorted by offset (figure "" : named later from the pitches).
    Source: music21.stream.Stream.chordify, done per window.
    """
    spans = []
    for part in parts:
        for e in part.events:
            end = e.onset + max(e.duration, 1e-3)
            spans.extend((e.onset, end, p) for p in e.pitches)
    if not spans:
        return []
    spans.sort()
    last_end = max(s[1] for s in spans)
    events: list[ChordEvent] = []
    previous: tuple[int, ...] = ()
    t, k = 0.0, 0
    active: list[tuple[float, float, int]] = []
    while t < last_end - 1e-9:
        w_end = t + window
        while k < len(spans) and spans[k][0] < w_end - 1e-9:
            active.append(spans[k])
            k += 1
        active = [s for s in active if s[1] > t + 1e-9]
        pitches = tuple(sorted({s[2] for s in active}))
        if len({p % 12 for p in pitches}) >= MIN_CHORD_PITCH_CLASSES and pitches != previous:
            events.append((t, pitches, ""))
            previous = pitches
        t = w_end
    return events
