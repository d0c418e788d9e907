"""Live controls: MIDI control changes mapped to the daemon's knobs, in one table.

Each control has a config key ([controls] NAME = CC number, -1 for none) and a
function from the CC value (0..127) to what it sets. The daemon applies the
result on the improviser thread (panic goes straight to the scheduler).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

MODES = ("off", "prime", "trade")


def temperature_from_cc(value: int) -> float:
    """CC 0..127 -> sampling temperature 0.1..2.0, linearly."""
    return round(0.1 + (2.0 - 0.1) * value / 127, 3)


def top_p_from_cc(value: int) -> float:
    """CC 0..127 -> nucleus sampling's top_p 0.5..1.0, linearly."""
    return round(0.5 + 0.5 * value / 127, 3)


def tempo_from_cc(value: int) -> float:
    """CC 0..127 -> tempo 40..294 BPM, 2 BPM a step (120 BPM at CC 40)."""
    return 40.0 + 2.0 * value


def mode_from_cc(value: int) -> str:
    """CC 0..42 -> "off", 43..85 -> "prime", 86..127 -> "trade"."""
    return MODES[min(2, value * 3 // 128)]


@dataclass(frozen=True)
class Control:
    """One live control: its name (the [controls] key), what it sets and how."""

    name: str
    doc: str
    convert: Callable[[int], object]


CONTROLS: tuple[Control, ...] = (
    Control("temperature", "sampling temperature, CC 0..127 -> 0.1..2.0", temperature_from_cc),
    Control("mute", "mute the solo and the chords while the CC is >= 64", lambda v: v >= 64),
    Control("panic", "all notes off now (any value > 0)", lambda v: v > 0),
    Control("reset", "a and c back to zeros (any value > 0)", lambda v: v > 0),
    Control("top_p", "nucleus sampling, CC 0..127 -> top_p 0.5..1.0", top_p_from_cc),
    Control("tempo", "internal clock tempo, CC 0..127 -> 40..294 BPM", tempo_from_cc),
    Control("mode", "input mode, CC 0..42 off, 43..85 prime, 86..127 trade", mode_from_cc),
    Control("mute_bass", "mute the bass while the CC is >= 64", lambda v: v >= 64),
    Control("mute_drums", "mute the drums while the CC is >= 64", lambda v: v >= 64),
    Control("mute_piano", "mute the piano while the CC is >= 64", lambda v: v >= 64),
)
CONTROL_BY_NAME = {c.name: c for c in CONTROLS}


class ControlMap:
    """Which CC number drives which control, on which channel.

    Args:
        numbers: control name -> CC number 0..127 (absent or -1: not mapped).
        channel: MIDI channel 0..15 the controls listen on, or None for any.
    Raises:
        ValueError: if two controls share a CC number or a name is unknown.
    """

    def __init__(self, numbers: dict[str, int], channel: int | None = None):
        self.by_cc: dict[int, Control] = {}
        for name, number in numbers.items():
            if name not in CONTROL_BY_NAME:
                raise ValueError(f"unknown control {name!r} (expected one of {', '.join(CONTROL_BY_NAME)})")
            if number is None or number < 0:
                continue
            if number in self.by_cc:
                raise ValueError(f"CC {number} is mapped to both {self.by_cc[number].name} and {name}")
            self.by_cc[number] = CONTROL_BY_NAME[name]
        self.channel = channel

    def read(self, event) -> tuple[str, object] | None:
        """(control name, value) for a control change (anything with channel, control, value) this map knows, else None."""
        if self.channel is not None and event.channel != self.channel:
            return None
        control = self.by_cc.get(event.control)
        if control is None:
            return None
        return control.name, control.convert(event.value)
