"""The drums: the style's bar of hits, chosen hit by hit, swung by the tempo, with fills into phrases.

Each bar plays the style's pattern (jazzd.core.band.styles: ride, hi-hat on 2 and 4,
feathered kick, the snare's comping hits each with its chance). The bar before a
phrase (every PHRASE_BARS bars) or a chorus (the progression's start) plays the
style's fill from its first hit on; the bar before the halfway point of a phrase
plays its last beat only. The downbeat after a full fill gets a crash with the kick.
Off-beat eighths are swung by the style's swing ratio at the tempo
(styles.swing_ratio), and the hits of each grid point are moved together by at most
the humanize bound (the drummer's limbs land together; the bass and the piano move
on their own), their velocities by a little, so the grid is felt, not heard.
"""

from __future__ import annotations

from jazzd.core.band.styles import CRASH, KICK, Hit, Style, swung
from jazzd.core.timeline import Note

PHRASE_BARS = 8
HALF_PHRASE_BARS = 4
VELOCITY_SPREAD = 6  # a hit's velocity varies by at most this either way


def fill_of(bar: int, chorus_bars: int | None) -> str:
    """What fill bar `bar` (0-based from the song's start) plays: "full" before a phrase or a chorus, "short"
    before the middle of a phrase, else "none"."""
    following = bar + 1
    if following % PHRASE_BARS == 0 or (chorus_bars and chorus_bars >= HALF_PHRASE_BARS
                                         and following % chorus_bars == 0):
        return "full"
    if following % HALF_PHRASE_BARS == 0:
        return "short"
    return "none"


def bar_hits(style: Style, fill: str, crash: bool, rng) -> list[Hit]:
    """The hits of one bar: the pattern's (those whose chance comes up), the fill's over its part of the bar,
    and a crash on the downbeat."""
    hits = [h for h in style.drums if h.chance >= 1.0 or rng.random() < h.chance]
    if fill != "none" and style.fill:
        fill_hits = list(style.fill)
        if fill == "short":
            last = max(h.at for h in fill_hits)
            fill_hits = [h for h in fill_hits if h.at >= int(last)]
        start = min(h.at for h in fill_hits)
        hits = [h for h in hits if h.at < start - 1e-9 or h.drum in (KICK,)]
        hits += [h for h in fill_hits if h.chance >= 1.0 or rng.random() < h.chance]
    if crash:
        hits.append(Hit(0.0, CRASH, 84, length=1.0))
        if not any(h.drum == KICK and h.at == 0.0 for h in hits):
            hits.append(Hit(0.0, KICK, 64))
    loudest: dict[tuple[float, int], Hit] = {}  # one hit per drum and place: the pattern's and the fill's may meet
    for h in hits:
        key = (round(h.at, 6), h.drum)
        if key not in loudest or h.velocity > loudest[key].velocity:
            loudest[key] = h
    return sorted(loudest.values(), key=lambda h: (h.at, h.drum))


def drum_notes(style: Style, bar_start: float, fill: str, crash: bool, swing_share: float, humanize_beats: float,
               velocity: int, rng) -> list[Note]:
    """The notes of one bar of drums (onsets in beats, GM drum note numbers).

    Args:
        bar_start: the bar's first beat.
        swing_share: the share of the beat the first of two swung eighths takes (0.5: straight).
        humanize_beats: the largest move of a hit off its grid point, in beats.
        velocity: the part's velocity, 1..127 (a pattern's hit velocity is scaled by velocity / 100).
    """
    out = []
    scale = velocity / 100.0 * style.drum_velocity_scale
    shifts: dict[float, float] = {}  # one move per grid point: the drummer's limbs land together
    for hit in bar_hits(style, fill, crash, rng):
        at = swung(hit.at, swing_share) if style.swing else hit.at
        key = round(at, 6)
        if key not in shifts:
            shifts[key] = float(rng.uniform(-humanize_beats, humanize_beats)) if humanize_beats else 0.0
        onset = max(bar_start + at + shifts[key], 0.0)
        v = int(round(hit.velocity * scale + rng.integers(-VELOCITY_SPREAD, VELOCITY_SPREAD + 1)))
        out.append(Note(onset, hit.length, hit.drum, min(127, max(1, v))))
    return out
