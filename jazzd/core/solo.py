"""Solo: the improviser, the harmony and the realizer, turned into timed notes.

The daemon and `jazzd generate` both draw their solo from a Soloist, so a seed
gives the same notes live and offline.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from jazzd.core.conditioning import context_at
from jazzd.core.grammar import Value
from jazzd.core.harmony import Chord, Progression
from jazzd.core.improviser import Improviser
from jazzd.core.pitch_choice import RECENT
from jazzd.core.realizer import Realizer
from jazzd.core.timeline import TICKS_PER_BEAT, Note


GENERATORS = ("sampling", "realization", "feel", "band")  # spawned in this order: a seed's first three never change


def seeded_generators(seed: int | None) -> dict[str, np.random.Generator]:
    """Independent generators for sampling, realization and feel, from one seed (None: from the OS)."""
    children = np.random.SeedSequence(seed).spawn(len(GENERATORS))
    return {name: np.random.default_rng(child) for name, child in zip(GENERATORS, children)}


@dataclass(frozen=True)
class SoloEvent:
    """One realized value: the value, its place in beats, its chord, and the note (None for a rest)."""

    value: str
    onset: float
    end: float
    chord: Chord
    note: Note | None


def make_soloist(model, harmony, generators: dict, *, temperature: float = 1.0, low: int = 52, high: int = 81,
                 velocity: int = 90, top_p: float = 1.0) -> "Soloist":
    """A Soloist for a loaded model (jazzd.core.modeldir.ModelDir) over a harmony.

    Args:
        generators: from seeded_generators(); the same seed, model, harmony and
            settings give the same notes live and offline.
        temperature, top_p: sampling (see jazzd.core.improviser.sample_index).
    Raises:
        ValueError: for a bad pitch range, velocity, temperature or top_p.
    """
    improviser = Improviser(model.weights, model.vocab, temperature, generators["sampling"], top_p)
    return Soloist(improviser, harmony, Realizer(low, high, velocity, generators["realization"], model.pitch_choice))


def from_config(config, model, seed: int | None, live: bool = True):
    """The harmony, the soloist and the feel that config asks for, seeded.

    Args:
        live: allow [harmony] source = "live"; offline, the progression stands in for it.

    Returns:
        (harmony, soloist, feel, generators).
    Raises:
        ConfigError: see Config.harmony.
    """
    from jazzd.core.feel import Feel

    if config["harmony.source"] == "live" and not live:
        harmony = config.progression()
    else:
        harmony = config.harmony(model)
    generators = seeded_generators(seed)
    soloist = make_soloist(model, harmony, generators, temperature=config["improviser.temperature"],
                           low=config["melody.low"], high=config["melody.high"], velocity=config["melody.velocity"],
                           top_p=config["improviser.top_p"])
    feel = Feel(config["feel.swing"], config["feel.accent"],
                config["feel.humanize_ms"] / 1000.0 * config["clock.bpm"] / 60.0, config["feel.humanize_velocity"],
                harmony.beats_per_bar, generators["feel"],
                timing=model.timing if config["feel.timing"] == "players" else None)
    return harmony, soloist, feel, generators


def band_from_config(config, harmony, generators: dict, bass_choice=None):
    """The rhythm section config asks for ([band], [comp]) over a harmony, or None when no part plays.

    Args:
        config: checked settings (jazzd.config.Config).
        generators: from seeded_generators(); the band draws from generators["band"].
        bass_choice: the walking bass's model (jazzd.core.band.bass.BassChoice), loaded by the caller from
            [band] bass_model; None: a bass that knows nothing of the corpus (uniform).
    Returns:
        (RhythmSection or None, {part: (MIDI channel 0..15, General MIDI program or -1, velocity)}).
    """
    from jazzd.core.band.section import RhythmSection
    from jazzd.core.band.styles import KITS, style as style_named

    style = style_named(config["band.style"])
    kit = config["band.drum_kit"]
    kit_program = -1 if kit == "none" else KITS[style.kit if kit == "style" else kit]
    parts = {}
    if config["band.bass"] and style.bass != "none":
        parts["bass"] = (config["band.bass_channel"] - 1, config["band.bass_program"], config["band.bass_velocity"])
    if config["band.drums"] and style.drums:
        parts["drums"] = (config["band.drums_channel"] - 1, kit_program, config["band.drums_velocity"])
    if config["comp.enabled"]:
        parts["piano"] = (config["comp.channel"] - 1, config["comp.program"], config["comp.velocity"])
    if not parts:
        return None, parts
    section = RhythmSection(style, harmony, generators["band"], bass_choice=bass_choice, parts=tuple(parts),
                            velocities={name: v for name, (_, _, v) in parts.items()},
                            humanize_ms=config["band.humanize_ms"],
                            bass_range=(config["band.bass_low"], config["band.bass_high"]))
    parts = {name: spec for name, spec in parts.items() if name in section.parts}
    return section, parts


class Soloist:
    """Steps the improviser and realizes each value at the end of the last one.

    A conditioned model hears the context of each value it predicts: where it starts in the bar and
    the chords there (jazzd.core.conditioning.context_at, from the harmony).

    Args:
        improviser: the LSTM and its state.
        harmony: anything with chord_at(beat) and next_change(beat) (a Progression, LiveHarmony).
        realizer: chooses pitches.
        start: the beat of the first value. Default 0.
    Attributes:
        horizon: the beat where the next value starts; set it to move the solo
            (it is kept on the grid, in ticks of 1/12 beat).
        previous: the last melody pitch, or None.
        previous_interval: the interval (semitones) into it, or None.
        history: the line's last pitch_choice.RECENT pitches, oldest first (the learned choice's recency).
    """

    def __init__(self, improviser: Improviser, harmony, realizer: Realizer, start: float = 0.0):
        self.improviser = improviser
        self.harmony = harmony
        self.realizer = realizer
        self.horizon = start
        self.previous: int | None = None
        self.previous_interval: int | None = None
        self.history: deque[int] = deque(maxlen=RECENT)
        self._parsed = improviser.vocab.parsed

    @property
    def horizon(self) -> float:
        return self._ticks / TICKS_PER_BEAT

    @horizon.setter
    def horizon(self, beat) -> None:
        self._ticks = round(float(beat) * TICKS_PER_BEAT)

    def context(self, beat: float) -> tuple[int, ...] | None:
        """The context of a value starting at a beat (None for the course's model, which hears none)."""
        if not self.improviser.conditioned:
            return None
        return context_at(self.harmony, beat, self.harmony.beats_per_bar)

    def next_event(self) -> SoloEvent:
        """Sample the next value and realize it at the horizon, which moves to its end."""
        onset = self._ticks
        beat = onset / TICKS_PER_BEAT
        index = self.improviser.next_index(self.context(beat))
        value: Value = self._parsed[index]
        chord = self.harmony.chord_at(beat)
        note, end = self.realizer.realize(value, chord, self.previous, onset, self.previous_interval, self.history)
        if note is not None:
            if self.previous is not None:
                self.previous_interval = note.pitch - self.realizer.fold(self.previous)
            self.previous = note.pitch
            self.history.append(note.pitch)
        self._ticks = end
        return SoloEvent(self.improviser.vocab.values[index], beat, end / TICKS_PER_BEAT, chord, note)


def comp_notes(progression: Progression, start: float, end: float, velocity: int = 60) -> list[Note]:
    """The chords of a progression as block chords, one strike per segment (the band's "pads" style).

    Args:
        progression: the looped progression.
        start: first beat (inclusive) whose segments are played.
        end: last beat (exclusive).
        velocity: MIDI velocity of the chord notes.
    Returns:
        Notes of each segment starting in [start, end), in its close voicing,
        lasting the segment; N.C. segments give none.
    """
    notes = []
    for begin, segment in progression.segments_between(start, end):
        if segment.chord is None:
            continue
        for pitch in segment.chord.voicing:
            notes.append(Note(begin, segment.length, pitch, velocity))
    return notes
