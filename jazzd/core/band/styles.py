"""The band's styles, in one table: what the bass, the drums and the piano play in each.

A style (as an Impro-Visor .sty file or a JJazzLab rhythm holds them) is the bass
feel, the drum patterns with their fill, the comping rhythms and voicings, and the
feel of the time (swing ratio by tempo, or straight eighths). Positions are in beats
from the bar line; a drum pattern's positions on the eighth-note grid are swung by
the style's swing ratio (0.5 + the "a" of "ding ding-a"), triplets stay triplets.

Drum notes are the General MIDI percussion map (channel 10); the kit is a program
change on that channel as GS and GM2 number them (FluidR3_GM.sf2 has all three):
0 Standard, 32 Jazz, 40 Brush.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# General MIDI percussion (channel 10): MIDI note numbers
KICK, SIDE_STICK, SNARE, BRUSH_SWIRL, HIHAT_CLOSED, HIHAT_PEDAL = 36, 37, 38, 40, 42, 44
CRASH, RIDE, RIDE_BELL = 49, 51, 53
LOW_TOM, MID_TOM, HIGH_TOM, FLOOR_TOM = 45, 47, 50, 43
KITS = {"standard": 0, "jazz": 32, "brush": 40}


@dataclass(frozen=True)
class Hit:
    """One drum hit of a pattern: where in the bar (beats), which drum (GM note), how loud (1..127), and how
    likely it is played (1 = always; below 1, the drummer's choice in each bar)."""

    at: float
    drum: int
    velocity: int
    chance: float = 1.0
    length: float = 0.25  # beats: drums ring on their own; the note-off only ends the MIDI note


@dataclass(frozen=True)
class CompHit:
    """One comping stroke: where in the bar (beats) and how long. An anticipation (`at` past the bar's last
    chord change, by an eighth before the next bar line) plays the next bar's chord early, tied into it."""

    at: float
    length: float
    accent: int = 0  # velocity added


@dataclass(frozen=True)
class Style:
    """One style of the band (see the module docstring).

    Args:
        name: as set by [band] style / --style.
        beats_per_bar: the meter it is played in (the waltz: 3).
        bass: "walking" (a quarter note a beat, the learned choice), "two" (the two-feel: half notes on 1 and 3,
            the same choice), "bossa" (root and fifth on 1 and the "and" of 2, an approach before a change) or
            "none".
        drums: the bar's hits, and fill: the hits of a bar leading into a phrase or chorus.
        kit: the drum kit (a key of KITS).
        comp: the comping rhythms, each a bar's strokes, with their weights; "pads": the old block chords, a
            close voicing held for each chord.
        voicing: "rootless" (3rd or 7th at the bottom, with 9th and 5th or 13th: the bass plays the root),
            "shell" (root, 3rd and 7th, and one more) or "close" (the chord's close position, for pads).
        swing: swing the eighths by the tempo (see swing_ratio), else straight.
        comp_velocity_scale, drum_velocity_scale: the style's dynamics against the part's velocity.
    """

    name: str
    beats_per_bar: int
    bass: str
    drums: tuple[Hit, ...]
    fill: tuple[Hit, ...]
    kit: str
    comp: tuple[tuple[tuple[CompHit, ...], float], ...]
    voicing: str
    swing: bool = True
    comp_velocity_scale: float = 1.0
    drum_velocity_scale: float = 1.0
    description: str = field(default="", compare=False)


def swing_ratio(bpm: float) -> float:
    """The share of the beat the first of two swung eighths takes, by tempo: near the triplet feel at slow
    tempi, straighter as the tempo rises, as Friberg & Sundström found the drummers' swing ratio falling with
    tempo, from well above 2:1 at slow tempi to near 1:1 at fast ones. jazzd's curve: 2.3:1 up to 120 BPM,
    2:1 at 160, 1.5:1 at 240, 1.15:1 at 300 and above, straight lines between.

    Returns:
        0.5 (straight) .. 0.7.
    Source: A. Friberg, A. Sundström, "Swing ratios and ensemble timing in jazz performance: evidence for a
    common rhythmic pattern", Music Perception 19(3), 2002.
    """
    ratio = float(np.interp(bpm, (120.0, 160.0, 240.0, 300.0), (2.3, 2.0, 1.5, 1.15)))
    return ratio / (1.0 + ratio)


def swung(position: float, share: float) -> float:
    """A position in the bar with its off-beat eighth (x.5) moved to x + share; other positions unmoved
    (triplets, quarter notes, sixteenths stay where the pattern puts them)."""
    whole = int(position // 1)
    if abs(position - whole - 0.5) < 1e-9:
        return whole + share
    return position


def _ride(bpb: int, skip_beat_velocity: int = 50, beat_velocity: int = 64) -> tuple[Hit, ...]:
    """The ride's 'ding ding-a ding ding-a': every beat, and the swung eighth before beats 3 and 1."""
    hits = [Hit(float(b), RIDE, beat_velocity + (6 if b % 2 else 0)) for b in range(bpb)]
    hits += [Hit(b + 0.5, RIDE, skip_beat_velocity) for b in range(1, bpb, 2)]
    return tuple(hits)


SWING_FILL = (Hit(2.0, SNARE, 58), Hit(2.0 + 1 / 3, SNARE, 40, 0.7), Hit(2.0 + 2 / 3, SNARE, 62),
              Hit(3.0, MID_TOM, 70), Hit(3.0 + 1 / 3, LOW_TOM, 62, 0.8), Hit(3.0 + 2 / 3, FLOOR_TOM, 76),
              Hit(3.0, KICK, 58), Hit(3.5, KICK, 64, 0.6))
BOSSA_FILL = (Hit(2.0, SIDE_STICK, 60), Hit(2.5, SIDE_STICK, 56), Hit(3.0, MID_TOM, 66), Hit(3.5, FLOOR_TOM, 72))
BRUSH_FILL = (Hit(3.0, SNARE, 48), Hit(3.0 + 2 / 3, SNARE, 56), Hit(3.5, KICK, 40, 0.5))
WALTZ_FILL = (Hit(1.0, SNARE, 56), Hit(1.0 + 2 / 3, SNARE, 60), Hit(2.0, MID_TOM, 68), Hit(2.0 + 2 / 3, FLOOR_TOM, 74))

SWING_COMP = (
    ((CompHit(0.0, 1.0, 6), CompHit(1.5, 0.5)), 3.0),  # the Charleston
    ((CompHit(1.5, 1.0),), 1.5),  # the "and" of 2, held
    ((CompHit(0.0, 0.5), CompHit(2.5, 1.0, 4)), 1.5),
    ((CompHit(1.0, 0.5), CompHit(2.5, 0.5)), 1.0),
    ((CompHit(0.0, 2.0, 4),), 1.0),  # a half note
    ((CompHit(3.5, 0.5, 8),), 1.5),  # anticipating the next bar's chord
    ((CompHit(1.5, 0.5), CompHit(3.5, 0.5, 8)), 1.2),
    ((), 0.6),  # laying out
)
UP_COMP = (
    ((CompHit(1.5, 0.5, 6),), 2.0),
    ((CompHit(0.0, 0.5, 6), CompHit(2.5, 0.5)), 1.0),
    ((CompHit(3.5, 0.5, 8),), 2.0),
    ((CompHit(1.0, 0.5), CompHit(3.0, 0.5)), 1.0),
    ((), 1.5),
)
BALLAD_COMP = (
    ((CompHit(0.0, 4.0, 4),), 2.0),  # whole note
    ((CompHit(0.0, 2.0, 4), CompHit(2.0, 2.0)), 1.5),
    ((CompHit(0.0, 3.0, 4), CompHit(3.5, 0.5)), 0.8),
    ((CompHit(0.5, 3.5),), 0.6),
)
BOSSA_COMP = (  # the bossa's syncopation: two bars of it, chosen bar by bar
    ((CompHit(0.0, 1.0, 6), CompHit(1.5, 1.0), CompHit(3.0, 0.5)), 2.0),
    ((CompHit(0.5, 1.0), CompHit(2.0, 1.0, 4), CompHit(3.5, 0.5, 6)), 2.0),
    ((CompHit(0.0, 1.5, 6), CompHit(2.5, 1.0)), 1.0),
)
WALTZ_COMP = (
    ((CompHit(0.0, 1.0, 6), CompHit(1.5, 1.0)), 2.0),
    ((CompHit(1.0, 0.5), CompHit(2.0, 1.0)), 2.0),  # 2 and 3
    ((CompHit(0.0, 3.0, 4),), 1.0),
    ((CompHit(0.5, 1.0), CompHit(2.5, 0.5, 6)), 1.0),
)

STYLES: dict[str, Style] = {s.name: s for s in (
    Style("swing", 4, "walking",
          _ride(4) + (Hit(1.0, HIHAT_PEDAL, 60), Hit(3.0, HIHAT_PEDAL, 60),
                      Hit(0.0, KICK, 30), Hit(1.0, KICK, 24), Hit(2.0, KICK, 30), Hit(3.0, KICK, 24),  # feathered
                      Hit(1.5, SNARE, 34, 0.18), Hit(2 + 2 / 3, SNARE, 30, 0.15), Hit(3.5, SNARE, 38, 0.2),
                      Hit(0.5, SNARE, 28, 0.1), Hit(3.5, KICK, 40, 0.08)),
          SWING_FILL, "jazz", SWING_COMP, "rootless",
          description="medium swing: walking bass, ride and hi-hat on 2 and 4, feathered kick, rootless voicings "
                      "in Charleston and anticipations"),
    Style("up", 4, "walking",
          _ride(4, 44, 58) + (Hit(1.0, HIHAT_PEDAL, 58), Hit(3.0, HIHAT_PEDAL, 58), Hit(0.0, KICK, 22),
                              Hit(2.0, KICK, 22), Hit(1.5, SNARE, 30, 0.12), Hit(3.5, SNARE, 36, 0.15)),
          SWING_FILL, "jazz", UP_COMP, "shell", comp_velocity_scale=0.95,
          description="up-tempo swing: walking bass, a lighter ride, short shell voicings, sparser comping"),
    Style("ballad", 4, "two",
          tuple(Hit(float(b), BRUSH_SWIRL, 36, length=0.9) for b in range(4))
          + (Hit(1.0, SNARE, 40), Hit(3.0, SNARE, 44), Hit(1.0, HIHAT_PEDAL, 40), Hit(3.0, HIHAT_PEDAL, 40),
             Hit(0.0, KICK, 22, 0.5), Hit(2.5, SNARE, 26, 0.2)),
          BRUSH_FILL, "brush", BALLAD_COMP, "rootless", comp_velocity_scale=0.85, drum_velocity_scale=0.9,
          description="ballad: a two-feel bass, brushes (swirls, taps on 2 and 4), sustained voicings"),
    Style("bossa", 4, "bossa",
          tuple(Hit(b / 2, HIHAT_CLOSED, 50 if b % 2 else 60) for b in range(8))
          + (Hit(0.0, SIDE_STICK, 62), Hit(1.5, SIDE_STICK, 58), Hit(3.0, SIDE_STICK, 60),
             Hit(0.0, KICK, 56), Hit(1.5, KICK, 40), Hit(2.0, KICK, 56), Hit(3.5, KICK, 40)),
          BOSSA_FILL, "standard", BOSSA_COMP, "rootless", swing=False,
          description="bossa nova: root and fifth in the bass, straight eighths on the hi-hat, cross-stick, "
                      "syncopated comping"),
    Style("waltz", 3, "walking",
          _ride(3) + (Hit(1.0, HIHAT_PEDAL, 56), Hit(0.0, KICK, 30), Hit(1.0, KICK, 22), Hit(2.0, KICK, 22),
                      Hit(1.5, SNARE, 32, 0.15), Hit(2.5, SNARE, 34, 0.15)),
          WALTZ_FILL, "jazz", WALTZ_COMP, "rootless",
          description="jazz waltz in 3/4: the bass walks in three, ride 'ding ding-a ding', hi-hat on 2"),
    Style("pads", 0, "none", (), (), "standard", (), "close", swing=False,
          description="jazzd's old comp: a block chord held for each chord, nothing else (no bass, no drums)"),
)}
STYLE_NAMES = tuple(STYLES)


def style(name: str) -> Style:
    """The style of a name (a key of STYLES).

    Raises:
        ValueError: for an unknown style, naming the known ones.
    """
    try:
        return STYLES[name]
    except KeyError:
        raise ValueError(f"unknown style {name!r} (known: {', '.join(STYLES)})") from None
