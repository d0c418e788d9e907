"""The one tree of jazzd errors.

Every message is one line that names the thing at fault (a file, a config key,
a port, a chord symbol) and what was found. The CLI prints a JazzdError without a
traceback and exits non-zero. Builtin second parents let callers catch the
builtin they already expect, as python-rtmidi's errors do.
"""


class JazzdError(Exception):
    """Root of every error jazzd raises on purpose."""

    exit_code = 1


class ConfigError(JazzdError, ValueError):
    """A bad config key or value, or a bad command-line override (exit code 2)."""

    exit_code = 2


class ChordSymbolError(JazzdError, ValueError):
    """A chord symbol that music21 cannot read, e.g. "Hm7"."""


class GrammarError(JazzdError, ValueError):
    """A grammar value string that does not parse, e.g. "Q,0.25"."""


class CorpusError(JazzdError, ValueError):
    """A corpus file that is missing, not MIDI, or has no usable melody or chords."""


class ModelError(JazzdError, ValueError):
    """A model directory that is missing files or does not match its vocabulary."""


class PortError(JazzdError, OSError):
    """A MIDI port or backend that cannot be opened."""


class RenderError(JazzdError):
    """Rendering or the built-in synth failed: a missing tool, library or SoundFont, or a tool's error."""


class StateSaveError(JazzdError, OSError):
    """The state file ([state] file, --state) cannot be written at the end of a run."""
