"""The rhythm section: bass, drums and piano playing a style over the harmony, bar by bar.

RhythmSection makes the band's notes a bar at a time, in order, as the session (live)
or `jazzd generate` (offline) asks for them, so a seed gives the same band live and
offline. Each part is its own line with its own state: the bass's last notes (the
learned walking choice, jazzd.core.band.bass), the piano's last voicing (voice
leading, jazzd.core.band.comping) and whether it anticipated the next bar's chord,
the drums' place in the phrase (fills, jazzd.core.band.drums). The feel follows the
tempo it is given bar by bar: the swing ratio (styles.swing_ratio) and the humanize
bound in milliseconds, turned into beats at that tempo.

Over live harmony (the player's left hand) the piano lays out (the player comps),
and the bass and drums play over the chord held when each bar is made.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from jazzd.core.band.bass import CENTER_NOTES, BassChoice, BassContext, bass_pitch_class, center_of, kind_of
from jazzd.core.band.comping import Voicer
from jazzd.core.band.drums import drum_notes, fill_of
from jazzd.core.band.styles import CompHit, Style, swing_ratio, swung
from jazzd.core.solo import comp_notes
from jazzd.core.timeline import Note

PARTS = ("bass", "drums", "piano")
BASS_LEGATO = 0.92  # a walking quarter note's length, of the beat
ANTICIPATION_TIE = 0.5  # beats an anticipation holds into the next bar; that bar's strokes begin after it


def _legato(length: float, humanize: float) -> float:
    """A note's length (beats) that ends before the next note on its grid point begins, whatever humanize moves
    either by (a note-off after the next note-on of the same key would cut that note)."""
    return max(0.05, length - 2 * humanize - 0.02)


def _place(pitch_class: int, near: int, low: int, high: int) -> int:
    """The MIDI note of a pitch class nearest a note, within low..high."""
    candidates = [p for p in range(low, high + 1) if p % 12 == pitch_class]
    return min(candidates, key=lambda p: (abs(p - near), p))


class RhythmSection:
    """Bass, drums and piano in a style over a harmony (see the module docstring).

    Args:
        style: a jazzd.core.band.styles.Style.
        harmony: a Progression or LiveHarmony (chord_at, beats_per_bar; segments_between for the piano).
        rng: the band's random generator (seed it for a repeatable band).
        bass_choice: the learned walking bass (BassChoice); None: a choice that knows nothing (uniform).
        parts: which of PARTS play (the others are not made).
        velocities: part -> MIDI velocity 1..127 (the drums': the loudness of the style's patterns, 100 as written).
        humanize_ms: the largest move of a band note off its grid point, in milliseconds.
        bass_range: the bass's lowest and highest MIDI note numbers.
    Raises:
        ValueError: for a style written in another meter than the harmony's bars.
    """

    def __init__(self, style: Style, harmony, rng: np.random.Generator, *, bass_choice: BassChoice | None = None,
                 parts=PARTS, velocities: dict | None = None, humanize_ms: float = 6.0,
                 bass_range: tuple[int, int] = (28, 55)):
        self.style = style
        self.harmony = harmony
        self.beats_per_bar = harmony.beats_per_bar
        if style.beats_per_bar and style.beats_per_bar != self.beats_per_bar:
            raise ValueError(f"style {style.name!r} is played in {style.beats_per_bar}/4, the harmony's bars have "
                             f"{self.beats_per_bar} beats")
        self.rng = rng
        low, high = bass_range
        self.bass_choice = bass_choice if bass_choice is not None else BassChoice.uniform(low, high)
        self.bass_low, self.bass_high = low, high
        self.parts = tuple(p for p in parts if p in PARTS and self._plays(p))
        self.velocities = {"bass": 80, "drums": 100, "piano": 60, **(velocities or {})}
        self.humanize_ms = humanize_ms
        self.live = not hasattr(harmony, "length_beats")  # live harmony: no piano, chords known as they come
        self.voicer = Voicer(style.voicing, with_root="bass" not in self.parts)
        self.chorus_bars = int(round(harmony.length_beats / self.beats_per_bar)) if not self.live else None
        self._bar = 0  # the next bar to make
        self._from = 0.0  # notes before this beat are not handed out (a restart inside a bar)
        self._bass_recent: deque[int] = deque(maxlen=CENTER_NOTES)
        self._last_bass_chord: str | None = None
        self._anticipated = False
        self._fill_before = "none"

    def _plays(self, part: str) -> bool:
        if part == "bass":
            return self.style.bass != "none"
        if part == "drums":
            return bool(self.style.drums)
        return True

    @property
    def next_bar_beat(self) -> float:
        """The first beat of the next bar to be made."""
        return float(self._bar * self.beats_per_bar)

    def restart(self, beat: float) -> None:
        """Play on from a beat (a transport start, a song position): the bar holding it is made again, its notes
        before the beat left out; the lines go on from where they were."""
        self._bar = int(math.floor(beat / self.beats_per_bar + 1e-9))
        self._from = float(beat)
        self._anticipated = False

    def notes_until(self, until: float, bpm: float) -> list[tuple[str, Note]]:
        """(part, note) of every bar that starts before `until` (beats) and was not made yet, in order.

        Args:
            bpm: the tempo now, for the swing ratio and the humanize bound.
        """
        out = []
        while self.next_bar_beat < until - 1e-9:
            for part, note in self._make_bar(self._bar, bpm):
                if note.onset >= self._from - 1e-9:
                    out.append((part, note))
            self._bar += 1
        return out

    # -- one bar --------------------------------------------------------------------------------------

    def _make_bar(self, bar: int, bpm: float) -> list[tuple[str, Note]]:
        start = float(bar * self.beats_per_bar)
        share = swing_ratio(bpm) if self.style.swing else 0.5
        humanize = self.humanize_ms / 1000.0 * bpm / 60.0
        out = []
        if "bass" in self.parts:
            out += [("bass", n) for n in self._bass_bar(start, humanize)]
        if "drums" in self.parts:
            fill = fill_of(bar, self.chorus_bars)
            crash = bar > 0 and self._fill_before == "full"
            self._fill_before = fill
            out += [("drums", n) for n in drum_notes(self.style, start, fill, crash, share, humanize,
                                                     self.velocities["drums"], self.rng)]
        if "piano" in self.parts and not self.live:
            out += [("piano", n) for n in self._piano_bar(start, share, humanize)]
        return sorted(out, key=lambda pn: (pn[1].onset, PARTS.index(pn[0]), pn[1].pitch))

    # -- bass -----------------------------------------------------------------------------------------

    def _bass_onsets(self, start: float) -> list[float]:
        """The bass's note positions in a bar (beats from the bar line)."""
        bpb = self.beats_per_bar
        if self.style.bass == "walking":
            return [float(b) for b in range(bpb)]
        # two-feel: the bar line and the middle of the bar, and any beat a new chord comes on
        onsets = {0.0, float(bpb // 2)} if bpb % 2 == 0 else {0.0}
        for b in range(1, bpb):
            if self.harmony.chord_at(start + b).symbol != self.harmony.chord_at(start + b - 1).symbol:
                onsets.add(float(b))
        return sorted(onsets)

    def _bass_bar(self, start: float, humanize: float) -> list[Note]:
        if self.style.bass == "bossa":
            return self._bossa_bar(start, humanize)
        onsets = self._bass_onsets(start)
        notes = []
        for i, at in enumerate(onsets):
            beat = start + at
            end = onsets[i + 1] if i + 1 < len(onsets) else float(self.beats_per_bar)
            chord = self.harmony.chord_at(beat)
            changed = chord.symbol != self._last_bass_chord
            self._last_bass_chord = chord.symbol
            upcoming = self.harmony.chord_at(start + end)
            next_chord = upcoming if upcoming.symbol != chord.symbol else None
            recent = self._bass_recent
            ctx = BassContext(chord, next_chord, kind_of(int(at), changed), recent[-1] if recent else None,
                              recent[-2] if len(recent) >= 2 else None, center_of(recent))
            pitch = self.bass_choice.choose(ctx, self.rng)
            recent.append(pitch)
            length = min((end - at) * BASS_LEGATO, _legato(end - at, humanize))
            notes.append(self._humanized(Note(beat, length, pitch, self._bass_velocity(at, changed)), humanize))
        return notes

    def _bass_velocity(self, at: float, changed: bool) -> int:
        v = self.velocities["bass"] + (6 if changed else 0) + int(self.rng.integers(-4, 5))
        return min(127, max(1, v))

    def _bossa_bar(self, start: float, humanize: float) -> list[Note]:
        """Root on 1, fifth on the "and" of 2 and on 3, and on the "and" of 4 the next bar's root a half step
        below where the chord changes (else the fifth again); a chord change within the bar takes beat 3."""
        bpb = self.beats_per_bar
        near = self._bass_recent[-1] if self._bass_recent else (self.bass_low + self.bass_high) // 2
        notes = []
        plan = [(0.0, 1.5), (1.5, 0.5), (2.0, 1.5), (3.5, 0.5)] if bpb == 4 else [(float(b), 1.0) for b in range(bpb)]
        for i, (at, length) in enumerate(plan):
            chord = self.harmony.chord_at(start + at)
            root = bass_pitch_class(chord)
            first = i == 0 or chord.symbol != self.harmony.chord_at(start + plan[i - 1][0]).symbol
            upcoming = self.harmony.chord_at(start + at + length)
            if first:
                pc = root
            elif i == len(plan) - 1 and upcoming.symbol != chord.symbol:
                pc = (bass_pitch_class(upcoming) - 1) % 12  # a chromatic approach from below
            else:
                pc = (chord.root + 7) % 12 if (chord.root + 7) % 12 in chord.pitch_classes else root
            pitch = _place(pc, near, self.bass_low, self.bass_high)
            near = pitch
            self._bass_recent.append(pitch)
            notes.append(self._humanized(Note(start + at, _legato(length, humanize), pitch,
                                              self._bass_velocity(at, first)), humanize))
        return notes

    # -- piano ----------------------------------------------------------------------------------------

    def _piano_bar(self, start: float, share: float, humanize: float) -> list[Note]:
        bpb = self.beats_per_bar
        velocity = self.velocities["piano"]
        if not self.style.comp:  # pads: the old block chords
            return comp_notes(self.harmony, start, start + bpb, velocity)
        patterns, weights = zip(*self.style.comp)
        weights = np.array(weights) / sum(weights)
        hits = list(patterns[int(self.rng.choice(len(patterns), p=weights))])
        segments = [(b - start, seg) for b, seg in self.harmony.segments_between(start, start + bpb)]
        if self._anticipated:  # the bar's first chord was played on the "and" of 4 before, tied over
            hits = [h for h in hits if h.at >= ANTICIPATION_TIE - 1e-9]
        for seg_at, seg in segments:  # every chord of the bar is played at least once
            if seg.chord is None or (seg_at == 0.0 and self._anticipated):
                continue
            seg_end = seg_at + seg.length
            if not any(seg_at <= h.at < seg_end for h in hits):
                hits.append(CompHit(seg_at, min(1.0, seg.length), 4))
        hits.sort(key=lambda h: h.at)
        changes_next = self.harmony.chord_at(start + bpb).symbol != self.harmony.chord_at(start + bpb - 1e-3).symbol
        self._anticipated = False
        notes = []
        for k, hit in enumerate(hits):
            at, length = hit.at, hit.length
            following = hits[k + 1].at if k + 1 < len(hits) else float(bpb)  # the next stroke, or the bar line
            anticipation = changes_next and at >= bpb - 0.5 - 1e-9
            if anticipation:
                chord = self.harmony.chord_at(start + bpb)
                length = bpb - at + ANTICIPATION_TIE  # tied into the next bar, up to its first stroke
                self._anticipated = True
            else:
                chord = self.harmony.chord_at(start + at)
                change = self.harmony.next_change(start + at)[0] - start
                length = min(length, change - at, following - at)
            if start + at < self._from - 1e-9 or length <= 0:
                continue
            onset = start + (swung(at, share) if self.style.swing else at)
            played = _legato(length - (onset - start - at), humanize)
            voicing = self.voicer.voice(chord)
            v = int(velocity * self.style.comp_velocity_scale) + hit.accent + int(self.rng.integers(-3, 4))
            shift = float(self.rng.uniform(-humanize, humanize)) if humanize else 0.0
            for pitch in voicing:
                notes.append(Note(max(0.0, onset + shift), played, pitch, min(127, max(1, v))))
        return notes

    def _humanized(self, note: Note, humanize: float) -> Note:
        if not humanize:
            return note
        shift = float(self.rng.uniform(-humanize, humanize))
        return Note(max(0.0, note.onset + shift), note.duration, note.pitch, note.velocity)
