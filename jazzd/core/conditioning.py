"""What the LSTM hears besides the previous value: where in the bar the next value starts, and the chords.

The course's LSTM sees only the previous value, so its rhythm drifts and the
harmony never shapes a phrase; MINGUS and BebopNet (both trained on the Weimar
Jazz Database) condition every step on the chord and the position in the bar.
jazzd's conditioned LSTM gets, at each step, the previous value (one-hot) joined
with a multi-hot context of where the value it predicts starts and what sounds
there. The same function encodes the context for training (from the corpus), for
`jazzd generate` and live (from the harmony and the playhead) and for the
player's phrases (prime and trade), so they cannot disagree.

CONTEXT is the one table of the groups, in column order:

| group       | columns | what                                                        |
|-------------|---------|-------------------------------------------------------------|
| tick        | 12      | the onset within its beat, on the 1/12-beat grid            |
| beat        | 8       | the beat of the bar (beats past the 8th count as the 8th)   |
| phrase_bar  | 4       | the bar's place in a 4-bar phrase                           |
| chord       | 12      | the chord's pitch classes, relative to its root             |
| next_chord  | 12      | the next chord's pitch classes, relative to its own root    |
| root_motion | 12      | semitones from this chord's root up to the next one's       |
| to_change   | 9       | whole beats until the next chord change (8 or more: 8)      |

Source: MINGUS (Madaghiele et al., ISMIR 2021) and BebopNet (Haviv Hakimi et al.,
2020) condition on chord and bar position; the encoding here is jazzd's own.
"""

from __future__ import annotations

import functools
import math

from jazzd.core.timeline import TICKS_PER_BEAT

NAME = "position+chord/1"  # saved in a model's metadata; a model without it hears only the previous value
CONTEXT: tuple[tuple[str, int], ...] = (
    ("tick", TICKS_PER_BEAT), ("beat", 8), ("phrase_bar", 4), ("chord", 12), ("next_chord", 12),
    ("root_motion", 12), ("to_change", 9),
)
OFFSETS = {name: sum(n for _, n in CONTEXT[:i]) for i, (name, _) in enumerate(CONTEXT)}
WIDTH = sum(n for _, n in CONTEXT)  # 69
PHRASE_BARS = 4


def context(position_in_bar: float, bar: int, chord, next_chord, beats_to_change: float) -> tuple[int, ...]:
    """The active columns of the context of a value, sorted.

    Args:
        position_in_bar: where the value starts, in beats from its bar line (on the grid).
        bar: the bar's number from the start (0-based); its place in a phrase is bar % 4.
        chord: the chord sounding at the onset (jazzd.core.harmony.Chord).
        next_chord: the chord after the next change (the same chord if none is known).
        beats_to_change: beats from the onset to that change (inf if none).
    Returns:
        Column indices into a vector of WIDTH (each group's offset in OFFSETS).
    """
    return _context(position_in_bar, bar % PHRASE_BARS, chord, next_chord, beats_to_change)


@functools.lru_cache(maxsize=4096)  # a progression has few distinct contexts; the live path asks every value
def _context(position_in_bar: float, phrase_bar: int, chord, next_chord, beats_to_change: float) -> tuple[int, ...]:
    tick = round((position_in_bar - math.floor(position_in_bar + 1e-9)) * TICKS_PER_BEAT) % TICKS_PER_BEAT
    beat = min(int(math.floor(position_in_bar + 1e-9)), 7)
    to_change = 8 if not math.isfinite(beats_to_change) else min(8, max(0, int(math.floor(beats_to_change + 1e-9))))
    columns = [OFFSETS["tick"] + tick, OFFSETS["beat"] + max(0, beat), OFFSETS["phrase_bar"] + phrase_bar]
    columns += sorted(OFFSETS["chord"] + (pc - chord.root) % 12 for pc in chord.pitch_classes)
    columns += sorted(OFFSETS["next_chord"] + (pc - next_chord.root) % 12 for pc in next_chord.pitch_classes)
    columns += [OFFSETS["root_motion"] + (next_chord.root - chord.root) % 12, OFFSETS["to_change"] + to_change]
    return tuple(columns)


def context_at(harmony, onset: float, beats_per_bar: int) -> tuple[int, ...]:
    """The context of a value starting at a beat over a harmony (a Progression or LiveHarmony), bar 0 at beat 0."""
    bar = int(math.floor(onset / beats_per_bar + 1e-9))
    change, next_chord = harmony.next_change(onset)
    return context(onset - bar * beats_per_bar, bar, harmony.chord_at(onset), next_chord, change - onset)
