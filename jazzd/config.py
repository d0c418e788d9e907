"""Config: config.toml read with tomllib, every key checked against one table.

KEYS is the one table of settings: section, name, type, default, unit/range and
check. An unknown section or key, a wrong type or a value out of range is a
ConfigError of one line naming the file and key, e.g.
`config.toml: [clock] bpm must be > 0, got -120`. Command-line flags override
keys and are checked the same way, named by their flag.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from jazzd.errors import ChordSymbolError, ConfigError


def _range(lo=None, hi=None, lo_open=False):
    def check(v):
        if lo is not None and (v <= lo if lo_open else v < lo):
            return f"must be {'>' if lo_open else '>='} {lo}"
        if hi is not None and v > hi:
            return f"must be <= {hi}"
        return None

    return check


def _choice(*options):
    def check(v):
        return None if v in options else f"must be one of {', '.join(repr(o) for o in options)}"

    return check


def _nonempty(v):
    return None if v.strip() else "must not be empty"


@dataclass(frozen=True)
class Key:
    """One setting: where it lives, its type and default, and how it is checked."""

    section: str
    name: str
    type: type
    default: Any
    doc: str
    check: Callable[[Any], str | None] | None = None
    optional: bool = False  # may be absent (value None)

    @property
    def dotted(self) -> str:
        return f"{self.section}.{self.name}"


KEYS: tuple[Key, ...] = (
    Key("model", "path", str, "models/default", "model directory (relative to this file)", _nonempty),
    Key("improviser", "temperature", float, 1.0, "sampling temperature; 0 = argmax (the course), 1 = the model's own distribution", _range(0.0, 5.0)),
    Key("improviser", "seed", int, None, "seed for a reproducible solo; absent = a new solo every run", _range(0), optional=True),
    Key("clock", "source", str, "internal", "internal (bpm below) | midi (follow MIDI beat clock on the input)", _choice("internal", "midi")),
    Key("clock", "bpm", float, 120.0, "tempo in beats (quarter notes) per minute", _range(0, 400, lo_open=True)),
    Key("harmony", "source", str, "progression", "progression | corpus (the model's training chords) | live (keys held on the input)", _choice("progression", "corpus", "live")),
    Key("harmony", "progression", str, "| Dm7 | G7 | Cmaj7 | Cmaj7 |", "lead sheet, looped", _nonempty),
    Key("harmony", "beats_per_bar", int, 4, "beats per bar", _range(1, 16)),
    Key("input", "mode", str, "off", "off | prime | trade: what the player's notes do", _choice("off", "prime", "trade")),
    Key("input", "phrase_end_beats", float, 2.0, "trade: silence that ends the player's phrase, beats", _range(0.25, 64)),
    Key("input", "trade_bars", int, 4, "trade: longest phrase before jazzd answers, bars (4 = trading fours)", _range(1, 64)),
    Key("input", "answer_bars", int, 0, "trade: bars jazzd answers for; 0 = as many as the phrase took", _range(0, 64)),
    Key("input", "interrupt", bool, False, "trade: a player note stops jazzd's answer at the next beat", None),
    Key("input", "chord_channel", int, 0, "MIDI channel 1..16 whose notes are chords, not melody; 0 = none", _range(0, 16)),
    Key("input", "split_note", int, 0, "notes below this MIDI note number are chords, not melody; 0 = no split", _range(0, 127)),
    Key("controls", "channel", int, 0, "MIDI channel 1..16 the controls listen on; 0 = any", _range(0, 16)),
    Key("controls", "temperature", int, 20, "CC number: temperature, 0..127 -> 0.1..2.0; -1 = none", _range(-1, 127)),
    Key("controls", "mute", int, 21, "CC number: mute while >= 64; -1 = none", _range(-1, 127)),
    Key("controls", "panic", int, 22, "CC number: all notes off now; -1 = none", _range(-1, 127)),
    Key("controls", "reset", int, 23, "CC number: a and c back to zeros; -1 = none", _range(-1, 127)),
    Key("controls", "tempo", int, 24, "CC number: internal tempo, 0..127 -> 40..294 BPM; -1 = none", _range(-1, 127)),
    Key("controls", "mode", int, 25, "CC number: input mode, 0..42 off, 43..85 prime, 86..127 trade; -1 = none", _range(-1, 127)),
    Key("feel", "swing", float, 0.5, "share of a beat the first of two eighths takes, 0.5 (straight)..0.75", _range(0.5, 0.75)),
    Key("feel", "accent", int, 8, "velocity added on beat 1 (half on beat 3, a quarter off between beats), 0..40", _range(0, 40)),
    Key("feel", "humanize_ms", float, 0.0, "largest random shift of a note's onset, milliseconds", _range(0, 50)),
    Key("feel", "humanize_velocity", int, 0, "largest random change of a velocity", _range(0, 40)),
    Key("state", "file", str, "", "where a, c, the RNG and the playhead are kept across restarts; empty = off", None),
    Key("melody", "channel", int, 1, "MIDI channel of the solo, 1..16", _range(1, 16)),
    Key("melody", "program", int, 26, "General MIDI program sent at start, 0..127 (26 = jazz guitar); -1 sends none", _range(-1, 127)),
    Key("melody", "low", int, 52, "lowest MIDI note number of the solo (52 = E3)", _range(0, 127)),
    Key("melody", "high", int, 81, "highest MIDI note number of the solo (81 = A5)", _range(0, 127)),
    Key("melody", "velocity", int, 90, "MIDI velocity of the solo's notes", _range(1, 127)),
    Key("comp", "enabled", bool, True, "play the chords on a second channel", None),
    Key("comp", "channel", int, 2, "MIDI channel of the chords, 1..16", _range(1, 16)),
    Key("comp", "program", int, 0, "General MIDI program of the chords (0 = piano); -1 sends none", _range(-1, 127)),
    Key("comp", "velocity", int, 60, "MIDI velocity of the chords", _range(1, 127)),
    Key("midi", "output", str, "auto", "auto | virtual | FILE.mid | name of an existing output port", _nonempty),
    Key("midi", "backend", str, "auto", "auto | alsa | jack | coremidi", _choice("auto", "alsa", "jack", "coremidi")),
    Key("midi", "client_name", str, "jazzd", "MIDI client name of the virtual port", _nonempty),
    Key("midi", "output_port", str, "jazzd out", "name of the virtual output port", _nonempty),
    Key("midi", "input", str, "auto", "auto | off | virtual | name of an existing input port", _nonempty),
    Key("midi", "input_client_name", str, "jazzd-in", "MIDI client name of the virtual input (JACK needs its own)", _nonempty),
    Key("midi", "input_port", str, "jazzd in", "name of the virtual input port", _nonempty),
    Key("midi", "fallback_file", str, "jazzd-live.mid", "file that output = auto records to where no MIDI system runs", _nonempty),
    Key("scheduler", "lookahead_beats", float, 1.0, "how far ahead of the playhead values are generated, beats", _range(0.25, 16)),
    Key("log", "level", str, "info", "debug | info | warning | error", _choice("debug", "info", "warning", "error")),
    Key("train", "corpus", str, "../shared/data/wjazzd", "corpus jazzd train reads without arguments: a MIDI file, folder or manifest", _nonempty),
    Key("train", "epochs", int, 60, "most training epochs (the course: 100)", _range(1, 100000)),
    Key("train", "n_a", int, 64, "LSTM units (the course: 64)", _range(1, 4096)),
    Key("train", "layers", int, 1, "stacked LSTM layers (the course: 1)", _range(1, 8)),
    Key("train", "Tx", int, 30, "training window length in values (the course: 30)", _range(2, 10000)),
    Key("train", "seed", int, 0, "seed for repeatable training", _range(0)),
    Key("train", "patience", int, 5, "stop when the validation bars' loss has not improved for this many epochs; 0 = every epoch, no validation (the course)", _range(0, 100000)),
    Key("train", "dropout", float, 0.2, "share of LSTM outputs dropped while training (0 = the course)", _range(0.0, 0.9)),
    Key("train", "label_smoothing", float, 0.1, "share of each training target spread over every value (0 = the course)", _range(0.0, 0.5)),
    Key("train", "learning_rate", float, 0.01, "Adam's learning rate (the course: 0.01)", _range(0.0, 1.0, lo_open=True)),
    Key("train", "stride", int, 0, "values between training windows; 0 = auto (1 up to 50,000 windows)", _range(0, 10000)),
    Key("train", "batch_size", int, 64, "training windows per gradient step (the course: 32)", _range(1, 65536)),
    Key("render", "soundfont", str, "", "General MIDI SoundFont (.sf2) for jazzd render; empty = the installed fluid-soundfont-gm", None),
    Key("render", "melody_program", int, 66, "General MIDI program of the melody in renders (66 = tenor sax, 26 = jazz guitar)", _range(0, 127)),
    Key("render", "chord_program", int, 0, "General MIDI program of the chords in renders (0 = piano)", _range(0, 127)),
    Key("render", "sample_rate", int, 44100, "audio sample rate, Hz", _range(8000, 192000)),
    Key("render", "gain", float, 0.5, "FluidSynth master gain", _range(0.0, 10.0, lo_open=True)),
    Key("generate", "values", int, 50, "values jazzd generate writes without --bars (the course: 50)", _range(1, 100000)),
    Key("generate", "output", str, "my_music.mid", "file jazzd generate writes without -o", _nonempty),
)
KEY_BY_DOTTED = {k.dotted: k for k in KEYS}
SECTIONS = tuple(dict.fromkeys(k.section for k in KEYS))


def _check_value(key: Key, value, where: str):
    """Type-check and range-check one value; returns it converted (int -> float)."""
    if value is None and key.optional:
        return None
    expected = key.type
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if expected is int and isinstance(value, bool) or not isinstance(value, expected):
        names = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
        raise ConfigError(f"{where} must be {names[expected]}, got {value!r}")
    if key.check is not None:
        problem = key.check(value)
        if problem:
            raise ConfigError(f"{where} {problem}, got {value!r}")
    return value


class Config:
    """Checked settings, read as config["clock.bpm"].

    Args:
        values: "section.name" -> value, for every key in KEYS.
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
        """A path-valued key resolved against base_dir."""
        return self.base_dir / self.values[dotted]

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
            values[dotted] = _check_value(KEY_BY_DOTTED[dotted], value, flag)
            flags[dotted] = flag
        config = Config(values, self.path, flags)
        config.check_together()
        return config

    def check_together(self) -> None:
        """Checks across keys: the pitch range and the two channels.

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
        numbers = [(self[f"controls.{n}"], n) for n in ("temperature", "mute", "panic", "reset", "tempo", "mode")]
        seen = {}
        for number, name in numbers:
            if number >= 0 and number in seen:
                raise ConfigError(f"{self.where('controls.' + name)} uses CC {number}, as does [controls] {seen[number]}")
            seen[number] = name
        if self["comp.enabled"] and self["comp.channel"] == self["melody.channel"]:
            raise ConfigError(f"{self.where('comp.channel')} must differ from [melody] channel "
                              f"({self['melody.channel']}) while comping is enabled")

    def progression(self):
        """The [harmony] progression as a jazzd.core.harmony.Progression.

        Raises:
            ConfigError: naming the key, for an unknown chord symbol or a malformed lead sheet.
        """
        from jazzd.core.harmony import Progression

        try:
            return Progression(self["harmony.progression"], self["harmony.beats_per_bar"])
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
    return Config({k.dotted: k.default for k in KEYS})


def load_config(path: Path | str) -> Config:
    """Read and check a config file.

    Args:
        path: a TOML file with the sections and keys of KEYS; absent keys take
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
    values = {k.dotted: k.default for k in KEYS}
    for section, table in data.items():
        if section not in SECTIONS:
            raise ConfigError(f"{path}: unknown section [{section}] (expected one of {', '.join(SECTIONS)})")
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: {section} must be a [{section}] table, got {table!r}")
        for name, value in table.items():
            key = KEY_BY_DOTTED.get(f"{section}.{name}")
            if key is None:
                known = ", ".join(k.name for k in KEYS if k.section == section)
                raise ConfigError(f"{path}: unknown key [{section}] {name} (expected one of {known})")
            values[key.dotted] = _check_value(key, value, f"{path}: [{section}] {name}")
    config = Config(values, path)
    config.check_together()
    return config
