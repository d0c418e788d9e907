"""Config: config.toml read with tomllib, every key checked against the one table (jazzd.settings).

An unknown section or key, a wrong type or a value out of range (a number that
is not finite included) is a ConfigError of one line naming the file and key,
e.g. `config.toml: [clock] bpm must be >= 1, got -120`. Command-line flags
override keys and are checked the same way, named by their flag.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from jazzd.errors import ChordSymbolError, ConfigError
from jazzd.settings import SECTIONS, SETTING_BY_KEY, SETTINGS, TYPE_NAMES, Setting

PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # the clone jazzd runs from: its models/ are the bundled ones


def check_value(setting: Setting, value, where: str):
    """Type-check and range-check one value; returns it converted (an integer where a number is wanted -> float).

    Raises:
        ConfigError: naming `where`, e.g. "config.toml: [clock] bpm must be a finite number 1..1000, got nan".
    """
    if value is None and setting.optional:
        return None
    expected = setting.type
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if expected is tuple and isinstance(value, list):  # a TOML array, or a repeated flag
        value = tuple(value)
    if (expected is int and isinstance(value, bool)) or not isinstance(value, expected):
        raise ConfigError(f"{where} must be {TYPE_NAMES[expected]}, got {value!r}")
    problem = setting.problem(value)
    if problem:
        raise ConfigError(f"{where} {problem}, got {value!r}")
    return value


class Config:
    """Checked settings, read as config["clock.bpm"].

    Args:
        values: "section.name" -> value, for every setting of jazzd.settings.SETTINGS.
        path: the file they came from, or None for the defaults.
    """

    def __init__(self, values: dict, path: Path | None = None, flags: dict[str, str] | None = None):
        self.values = values
        self.path = path
        self.flags = flags or {}  # "section.name" -> the command-line flag that set it

    def __getitem__(self, dotted: str):
        return self.values[dotted]

    @property
    def base_dir(self) -> Path:
        """The folder relative paths in the file are read from (cwd for the defaults)."""
        return self.path.parent if self.path else Path.cwd()

    def where(self, dotted: str) -> str:
        """How an error names a key: by its flag if one set it, else by file and [section] name."""
        if dotted in self.flags:
            return self.flags[dotted]
        section, name = dotted.split(".")
        return f"{self.path or 'defaults'}: [{section}] {name}"

    def path_of(self, dotted: str) -> Path:
        """A path-valued setting resolved as a user expects: typed as a flag, from the working folder (as
        the shell reads it); written in the config file, from that file's folder (base_dir). A model path
        that is not there is looked for in jazzd's own folder too (the bundled models), so they are found
        from any folder."""
        path = (Path.cwd() if dotted in self.flags else self.base_dir) / Path(self.values[dotted]).expanduser()
        if (dotted in ("model.path", "band.bass_model") and not path.exists()
                and (PACKAGE_ROOT / self.values[dotted]).exists()):
            return PACKAGE_ROOT / self.values[dotted]
        return path

    def override(self, flag_values: dict[str, tuple[str, Any]]) -> "Config":
        """A copy with command-line values set.

        Args:
            flag_values: "section.name" -> (flag as typed, value); None values are skipped.
        Raises:
            ConfigError: naming the flag, if a value is of the wrong type or out of range.
        """
        values, flags = dict(self.values), dict(self.flags)
        for dotted, (flag, value) in flag_values.items():
            if value is None:
                continue
            values[dotted] = check_value(SETTING_BY_KEY[dotted], value, flag)
            flags[dotted] = flag
        config = Config(values, self.path, flags)
        config.check_together()
        return config

    def check_together(self) -> None:
        """Checks across keys: the pitch ranges, the parts' channels, the CC numbers, the meter.

        Raises:
            ConfigError: naming the keys at fault.
        """
        low, high = self["melody.low"], self["melody.high"]
        if high - low < 11:
            raise ConfigError(f"{self.where('melody.high')} must be at least an octave above [melody] low "
                              f"({low}), got {high}")
        if self["harmony.source"] == "live" and not (self["input.chord_channel"] or self["input.split_note"]):
            raise ConfigError(f"{self.where('harmony.source')} = \"live\" needs [input] chord_channel or "
                              f"split_note, to tell chord keys from melody")
        needs_input = [k for k, v in (("input.mode", self["input.mode"] != "off"),
                                      ("clock.source", self["clock.source"] == "midi"),
                                      ("harmony.source", self["harmony.source"] == "live")) if v]
        if needs_input and self["midi.input"] == "off":
            raise ConfigError(f"{self.where(needs_input[0])} = {self[needs_input[0]]!r} needs a MIDI input, "
                              f"but [midi] input is \"off\"")
        numbers = [(self[f"controls.{n}"], n) for n in ("temperature", "top_p", "mute", "panic", "reset", "tempo", "mode",
                                                           "mute_bass", "mute_drums", "mute_piano")]
        seen = {}
        for number, name in numbers:
            if number >= 0 and number in seen:
                raise ConfigError(f"{self.where('controls.' + name)} uses CC {number}, as does [controls] {seen[number]}")
            seen[number] = name
        parts = [("melody.channel", True), ("comp.channel", self["comp.enabled"]),
                 ("band.bass_channel", self["band.bass"] and self["band.style"] != "pads"),
                 ("band.drums_channel", self["band.drums"] and self["band.style"] != "pads")]
        taken: dict[int, str] = {}
        for key, plays in parts:
            if not plays:
                continue
            if self[key] in taken:
                section, name = taken[self[key]].split(".")
                raise ConfigError(f"{self.where(key)} must differ from [{section}] {name} ({self[key]}): each "
                                  "part plays on its own channel")
            taken[self[key]] = key
        if self["band.bass_high"] - self["band.bass_low"] < 12:
            raise ConfigError(f"{self.where('band.bass_high')} must be at least an octave above [band] bass_low "
                              f"({self['band.bass_low']}), got {self['band.bass_high']}")
        self.beats_per_bar  # the style's meter against [harmony] beats_per_bar

    @property
    def beats_per_bar(self) -> int:
        """[harmony] beats_per_bar, or the style's meter for 0 (3 for the waltz, else 4).

        Raises:
            ConfigError: for a beats_per_bar the style is not played in.
        """
        from jazzd.core.band.styles import style

        meter = style(self["band.style"]).beats_per_bar
        beats = self["harmony.beats_per_bar"]
        if beats == 0:
            return meter or 4
        if meter and beats != meter:
            raise ConfigError(f"{self.where('harmony.beats_per_bar')} is {beats}, but [band] style "
                              f"{self['band.style']!r} is played in {meter}/4: set it to 0 (the style's) or {meter}")
        return beats

    def progression(self):
        """The [harmony] progression as a jazzd.core.harmony.Progression.

        Raises:
            ConfigError: naming the key, for an unknown chord symbol or a malformed lead sheet.
        """
        from jazzd.core.harmony import Progression

        try:
            return Progression(self["harmony.progression"], self.beats_per_bar)
        except (ChordSymbolError, ValueError) as err:
            raise ConfigError(f"{self.where('harmony.progression')}: {err}") from None


    def harmony(self, model=None):
        """The harmony [harmony] source names: a Progression, the corpus's chords, or a LiveHarmony.

        Args:
            model: the loaded model (jazzd.core.modeldir.ModelDir), for source "corpus".
        Raises:
            ConfigError: for a bad progression, or "corpus" with a model that has no chords saved.
        """
        from jazzd.core.harmony import LiveHarmony, progression_from_json

        progression = self.progression()
        source = self["harmony.source"]
        if source == "live":
            return LiveHarmony(progression.chord_at(0), progression.beats_per_bar)
        if source == "corpus":
            data = (model.metadata if model is not None else {}).get("harmony")
            if not data:
                raise ConfigError(f"{self.where('harmony.source')} = \"corpus\", but the model has no corpus chords "
                                  f"(retrain it with this version of jazzd train)")
            try:
                return progression_from_json(data)
            except ValueError as err:
                raise ConfigError(f"{self.where('harmony.source')} = \"corpus\": the model's {err}") from None
        return progression


def defaults() -> Config:
    """Every key at its default."""
    return Config({s.key: s.default for s in SETTINGS})


def load_config(path: Path | str) -> Config:
    """Read and check a config file.

    Args:
        path: a TOML file with the sections and keys of jazzd.settings; absent keys take
            their defaults.
    Returns:
        A Config.
    Raises:
        ConfigError: if the file is missing or not TOML, or a section, key or
            value is wrong; the one-line message names the file and the key.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read config ({err})") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from None
    values = {s.key: s.default for s in SETTINGS}
    for section, table in data.items():
        if section not in SECTIONS:
            raise ConfigError(f"{path}: unknown section [{section}] (expected one of {', '.join(SECTIONS)})")
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: {section} must be a [{section}] table, got {table!r}")
        for name, value in table.items():
            setting = SETTING_BY_KEY.get(f"{section}.{name}")
            if setting is None:
                known = ", ".join(s.name for s in SETTINGS if s.section == section)
                raise ConfigError(f"{path}: unknown key [{section}] {name} (expected one of {known})")
            values[setting.key] = check_value(setting, value, f"{path}: [{section}] {name}")
    config = Config(values, path)
    config.check_together()
    return config
