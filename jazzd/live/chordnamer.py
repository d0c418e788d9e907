"""Chord naming: the keys the player holds (`--harmony live`) named with music21, off the session's thread.

music21 names a chord in milliseconds to seconds (a 4-note chord 18 ms warm, 12
pitch classes 130-270 ms, 35 keys 1.4 s): on the session's thread every chord-key
press froze the solo for that long (20 keys at once: the solo fell two beats
behind; 36 keys: no note for 18 s, and SIGTERM waited). So:

- the keys are reduced to what names a chord, the lowest key and the pitch
  classes above it, within an octave (at most 12 notes, however many keys), and
  each reduced voicing is named once (cached);
- the daemon names on a thread of its own (ChordNamer): the session hands it the
  held keys and goes on at once; only the newest keys are named (a hand landing
  on 128 keys sends 128 note-ons: one naming, not 128), and the named chord comes
  back to the session as an event (NamedChord) through the daemon's event queue;
- tests and offline use name at once (ImmediateNamer), so a session's run stays
  exact.
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass
from typing import Callable

from jazzd.core.harmony import Chord, chord_from_pitches

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NamedChord:
    """The chord of keys held from a beat on: keys as pressed (MIDI note numbers), named with music21."""

    beat: float
    keys: frozenset[int]
    chord: Chord


def reduced_voicing(keys) -> tuple[int, ...]:
    """The notes that name a chord of held keys: the lowest key, then each other pitch class once, within
    the octave above it (ascending MIDI note numbers, at most 12).

    Raises:
        ValueError: for no keys.
    """
    if not keys:
        raise ValueError("a chord needs at least one key")
    bass = min(keys)
    above = {bass + (key - bass) % 12 for key in keys}
    return tuple(sorted(above))


@functools.lru_cache(maxsize=1024)
def _name(voicing: tuple[int, ...]) -> Chord:
    return chord_from_pitches(voicing)


def name_keys(keys) -> Chord:
    """The Chord of held keys (music21's name of their reduced voicing, cached).

    Source: music21.chord.Chord.root(), harmony.chordSymbolFigureFromChord (via chord_from_pitches).
    """
    return _name(reduced_voicing(keys))


class ImmediateNamer:
    """Names keys when asked, on the caller's thread (tests, and where no thread is wanted)."""

    def request(self, keys: frozenset[int], beat: float) -> NamedChord | None:
        """Returns the NamedChord at once."""
        return NamedChord(beat, keys, name_keys(keys))

    def close(self) -> None:
        pass


class ChordNamer:
    """Names keys on a thread of its own and delivers each NamedChord by a callback (the daemon's event queue).

    Args:
        deliver: called on the namer's thread with each NamedChord.
        name: keys -> Chord. Default name_keys (music21).
    """

    def __init__(self, deliver: Callable[[NamedChord], None], name: Callable[[frozenset[int]], Chord] = name_keys):
        self.deliver = deliver
        self.name = name
        self.named = 0  # namings done (a burst of presses is named once, for its last keys)
        self._latest: tuple[frozenset[int], float] | None = None
        self._closed = False
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="jazzd-chords", daemon=True)
        self._thread.start()

    def request(self, keys: frozenset[int], beat: float) -> None:
        """Ask for keys held from a beat to be named; a newer request replaces one not yet begun. Returns None:
        the chord comes later, by `deliver`."""
        with self._wake:
            self._latest = (keys, beat)
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._latest is None and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                keys, beat = self._latest
                self._latest = None
            try:
                chord = self.name(keys)
            except Exception as err:  # music21 fails on a cluster: the chord before stays
                log.warning("cannot name the chord of keys %s: %s", " ".join(map(str, sorted(keys))), err)
                continue
            self.named += 1
            self.deliver(NamedChord(beat, keys, chord))

    def close(self) -> None:
        """Stop the thread (a naming under way is left to finish on its own: the thread is a daemon)."""
        with self._wake:
            self._closed = True
            self._wake.notify()
