"""Typed input events: what arrives on jazzd's MIDI input, each with its arrival time.

The listener turns every readable MIDI message into one of these (or drops it);
the session acts on them. Times are monotonic seconds, as the input port
stamped them; channels are 0-based (mido's numbering).
"""

from __future__ import annotations

from dataclasses import dataclass

import mido


@dataclass(frozen=True, slots=True)
class NoteEvent:
    """A key pressed (velocity 1..127) or released (velocity 0)."""

    t_s: float
    channel: int
    pitch: int  # MIDI note number
    velocity: int

    @property
    def on(self) -> bool:
        return self.velocity > 0


@dataclass(frozen=True, slots=True)
class ControlChange:
    """A control change: CC number and value, 0..127."""

    t_s: float
    channel: int
    control: int
    value: int


@dataclass(frozen=True, slots=True)
class ClockPulse:
    """A MIDI beat clock pulse (0xF8), 24 per quarter note."""

    t_s: float


@dataclass(frozen=True, slots=True)
class Transport:
    """Start (0xFA), Continue (0xFB) or Stop (0xFC)."""

    t_s: float
    kind: str  # "start" | "continue" | "stop"


@dataclass(frozen=True, slots=True)
class SongPosition:
    """Song Position Pointer (0xF2), in MIDI beats (sixteenth notes)."""

    t_s: float
    sixteenths: int


InputEvent = NoteEvent | ControlChange | ClockPulse | Transport | SongPosition


def from_message(t_s: float, msg: mido.Message) -> InputEvent | None:
    """The event of a mido message that arrived at t_s (monotonic seconds), or None for one jazzd ignores
    (sysex, active sensing, aftertouch, program changes, ...)."""
    kind = msg.type
    if kind == "note_on":
        return NoteEvent(t_s, msg.channel, msg.note, msg.velocity)
    if kind == "note_off":
        return NoteEvent(t_s, msg.channel, msg.note, 0)
    if kind == "control_change":
        return ControlChange(t_s, msg.channel, msg.control, msg.value)
    if kind == "clock":
        return ClockPulse(t_s)
    if kind in ("start", "continue", "stop"):
        return Transport(t_s, kind)
    if kind == "songpos":
        return SongPosition(t_s, msg.pos)
    return None
