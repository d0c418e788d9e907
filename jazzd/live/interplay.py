"""Interplay: what jazzd does with the player's notes, by input mode.

- "off": the player's notes are ignored; jazzd solos on.
- "prime": each bar the player plays is parsed into values and fed through the
  LSTM (not played) a fixed number of bars later, so a and c follow the player
  while jazzd solos on. The delay is fixed in bars, so the same phrase on the
  same bars primes the same values at the same point of the solo.
- "trade": call and response. jazzd is silent while it listens. When the
  player's phrase ends (no note for phrase_end_beats, or trade_bars bars after
  the bar it began in), jazzd primes on it and answers from the next bar line
  for as many bars as the phrase took (or answer_bars), then listens again. A
  note during the answer starts the next phrase; with interrupt, it also stops
  the answer at the next beat.

Pure logic on beats: the daemon feeds it note events and the playhead and acts
on what advance() returns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from jazzd.live.controls import MODES
from jazzd.live.phrase import Phrase


@dataclass(frozen=True)
class Prime:
    """Feed these values (with their contexts, for a conditioned model) through the LSTM before generating
    the first value at or after at_beat."""

    values: tuple[str, ...]
    at_beat: float
    contexts: tuple = ()


# Prime mode reports a phrase that goes on this many bars without a silent bar and starts the next report: a
# player who plays for an hour is heard in 8-bar parts (one log line each), not kept whole (memory grew by the
# values of every bar, 0.13 MiB a minute at 20 notes/s in bench/long_run.py)
HEARD_MAX_BARS = 8


@dataclass(frozen=True)
class Heard:
    """Prime mode: the player's phrase (bars first_bar..last_bar, 0-based) has ended, or reached
    HEARD_MAX_BARS bars; what jazzd heard of it."""

    first_bar: int
    last_bar: int
    notes: int
    values: tuple[str, ...]
    primed_from_beat: float


@dataclass(frozen=True)
class Answer:
    """Play from start to end (beats); the line continues from the player's last pitch."""

    start: float
    end: float
    previous: int | None


@dataclass(frozen=True)
class Interrupt:
    """Stop the answer at this beat."""

    at_beat: float


class Interplay:
    """The input modes as a state machine over beats.

    Args:
        mode: "off", "prime" or "trade".
        harmony: anything with chord_at(beat), for parsing the player's notes.
        beats_per_bar: bar length.
        lookahead: how far ahead (beats) the improviser generates.
        phrase_end_beats: silence that ends a phrase in trade mode. Default 2.
        trade_bars: longest phrase in bars before jazzd answers. Default 4.
        answer_bars: bars jazzd answers for; 0 = as many as the phrase took.
        interrupt: a player note stops jazzd's answer at the next beat.
    Raises:
        ValueError: for an unknown mode.
    """

    def __init__(self, mode: str, harmony, beats_per_bar: int = 4, lookahead: float = 1.0,
                 phrase_end_beats: float = 2.0, trade_bars: int = 4, answer_bars: int = 0, interrupt: bool = False):
        self.harmony = harmony
        self.beats_per_bar = beats_per_bar
        self.lookahead = lookahead
        self.phrase_end_beats = phrase_end_beats
        self.trade_bars = trade_bars
        self.answer_bars = answer_bars
        self.interrupt = interrupt
        self.phrase = Phrase(beats_per_bar)
        self.answer: Answer | None = None  # trade mode: the answer being played
        self._next_bar = None  # prime mode: the first bar not yet primed
        self._heard: Heard | None = None  # prime mode: the phrase being primed, bar by bar
        self._ignore_before = -math.inf  # trade mode: notes of a phrase already answered
        self._pending: list = []
        self.mode = "off"
        self.set_mode(mode, 0.0)

    # -- the player ---------------------------------------------------------------

    def set_mode(self, mode: str, playhead: float) -> None:
        """Switch mode; what the player played so far is forgotten."""
        if mode not in MODES:
            raise ValueError(f"unknown input mode {mode!r} (expected one of {', '.join(MODES)})")
        self.mode = mode
        self.phrase.clear()
        self.answer = None
        self._next_bar = None
        self._heard: Heard | None = None
        self._ignore_before = -math.inf

    def note_on(self, beat: float, pitch: int) -> None:
        """The player starts a melody note at a beat."""
        if self.mode == "off":
            return
        if self.mode == "prime" and self._next_bar is not None and self.phrase.bar_of(beat) < self._next_bar:
            return  # a bar already primed cannot change
        if self.mode == "trade" and beat < self._ignore_before:
            return  # the tail of the phrase jazzd is already answering
        if self.mode == "trade" and self.answer is not None and beat < self.answer.end:
            if self.interrupt:
                at = float(math.ceil(beat + 1e-9))
                if at < self.answer.end:
                    self._pending.append(Interrupt(at))
                    self.answer = Answer(self.answer.start, at, self.answer.previous)
        self.phrase.note_on(beat, pitch)

    def note_off(self, beat: float, pitch: int) -> None:
        """The player ends a melody note at a beat."""
        if self.mode != "off":
            self.phrase.note_off(beat, pitch)

    # -- the clock ------------------------------------------------------------------

    def playing(self, beat: float) -> bool:
        """Whether jazzd plays at a beat (always, except outside an answer in trade mode)."""
        if self.mode != "trade":
            return True
        return self.answer is not None and self.answer.start <= beat < self.answer.end

    def advance(self, playhead: float) -> list:
        """Actions due at the playhead: Prime, Heard, Answer and Interrupt, in order."""
        actions, self._pending = self._pending, []
        if self.mode == "prime":
            actions += self._advance_prime(playhead)
        elif self.mode == "trade":
            actions += self._advance_trade(playhead)
        return actions

    def _advance_prime(self, playhead: float) -> list:
        bpb = self.beats_per_bar
        if self._next_bar is None:
            if not self.phrase.notes:
                return []
            self._next_bar = self.phrase.first_bar()
        # a bar is done half a beat after its end (for note-offs on the bar line)
        done = self.phrase.bar_of(playhead - 0.5) - 1
        if done < self._next_bar:
            return []
        delay = 1 + math.ceil((0.5 + self.lookahead + 1e-9) / bpb)
        actions = []
        for bar in range(self._next_bar, done + 1):
            bars = self.phrase.bars(bar, bar, self.harmony, playhead)
            values = [v for v, _ in bars]
            if values:
                at = float((bar + delay) * bpb)
                actions.append(Prime(tuple(values[0]), at, tuple(bars[0][1])))
                notes = self.phrase.notes_in(bar)
                heard = self._heard
                self._heard = (Heard(bar, bar, notes, tuple(values[0]), at) if heard is None else
                               Heard(heard.first_bar, bar, heard.notes + notes, heard.values + tuple(values[0]),
                                     heard.primed_from_beat))
                if bar - self._heard.first_bar + 1 >= HEARD_MAX_BARS:  # a player who never stops: said in parts
                    actions.append(self._heard)
                    self._heard = None
            elif self._heard is not None:  # a bar without notes ends the phrase
                actions.append(self._heard)
                self._heard = None
        self._next_bar = done + 1
        self.phrase.drop_before(self._next_bar - 1)
        return actions

    def _advance_trade(self, playhead: float) -> list:
        bpb = self.beats_per_bar
        earliest = -math.inf
        if self.answer is not None:
            if playhead < self.answer.end - self.lookahead:
                return []
            # the answer is about to end: a phrase already over gets its answer right after it
            earliest = self.answer.end
            if playhead >= self.answer.end:
                self.answer = None
        phrase = self.phrase
        if not phrase.notes:
            return []
        first = phrase.first_bar()
        turn_end = (first + self.trade_bars) * bpb
        silent = (not phrase.sounding and phrase.last_off is not None
                  and playhead >= phrase.last_off + self.phrase_end_beats)
        if playhead >= turn_end - self.lookahead:
            start = float(turn_end) if playhead < turn_end else float(math.ceil(playhead / bpb + 1e-9) * bpb)
        elif silent:
            start = float(math.ceil(playhead / bpb + 1e-9) * bpb)
        else:
            return []
        start = max(start, earliest)
        last = first + self.trade_bars - 1  # a phrase as long as a turn
        if silent and playhead < turn_end - self.lookahead:  # a shorter phrase: to the bar its last note ends in
            last = min(last, phrase.bar_of(max(float(n.end) for n in phrase.notes) - 1e-6))
        bars = self.answer_bars or (last - first + 1)
        played = phrase.bars(first, last, self.harmony, min(playhead, turn_end))
        values = [v for bar_values, _ in played for v in bar_values]
        contexts = [c for _, bar_contexts in played for c in bar_contexts]
        previous = phrase.notes[-1].pitch
        phrase.clear()
        self._ignore_before = start
        self.answer = Answer(start, start + bars * bpb, previous)
        return [Prime(tuple(values), start, tuple(contexts)), self.answer]
