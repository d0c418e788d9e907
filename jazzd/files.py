"""Output files that are never lost: checked suffixes, and replacement only by a complete new file.

Every file jazzd writes (a generated MIDI file, audio, a piano roll, a model
directory, a live recording) is written beside its target under a temporary
name and renamed over it only when complete, so a run that fails half-way (an
error, a full disk, Ctrl-C) leaves the old file as it was. A target that is no
regular file (a device such as /dev/null, a FIFO) is written directly.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from jazzd.errors import ConfigError, JazzdError

MIDI_SUFFIXES = (".mid", ".midi")
AUDIO_SUFFIXES = (".wav", ".mp3")
IMAGE_SUFFIXES = (".png", ".svg", ".pdf")


def check_suffix(path: Path, suffixes: tuple[str, ...], what: str, flag: str) -> Path:
    """The path, if it ends in one of the suffixes (any case).

    Raises:
        ConfigError: naming the flag and the path, e.g. "-o x.txt: a MIDI file must end in .mid or .midi".
    """
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise ConfigError(f"{flag} {path}: {what} must end in {' or '.join(suffixes)}")
    return path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


UMASK = _umask()  # read once, at import: os.umask can only be read by setting it


def default_mode(path: Path, directory: bool = False) -> int:
    """The permissions a new file (or folder) at path gets: the old one's, else what the umask allows."""
    try:
        return Path(path).stat().st_mode & 0o7777
    except OSError:
        return (0o777 if directory else 0o666) & ~UMASK


def _special(path: Path) -> bool:
    return path.exists() and not path.is_file() and not path.is_dir()


@contextlib.contextmanager
def replaced(path: Path):
    """Write a file beside `path` and rename it over `path` when the block ends without an error.

    Yields:
        The temporary path to write (in the same folder, same suffix), or `path` itself for a
        target that is no regular file (a device, a FIFO).
    Raises:
        JazzdError: if the folder cannot be written (the message names it).
    """
    path = Path(path)
    if _special(path):
        yield path
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent)
        os.fchmod(fd, default_mode(path))  # mkstemp makes 0600: keep the old file's mode, or the umask's
        os.close(fd)
    except OSError as err:
        raise JazzdError(f"{path}: cannot write here ({err.strerror or err})") from None
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def is_model_dir(path: Path) -> bool:
    """Whether a folder holds a jazzd model (its weights file)."""
    return (Path(path) / "weights.npz").is_file()


def check_model_target(path: Path, flag: str = "--out") -> Path:
    """A path `jazzd train` may write a model to: absent, an empty folder or a model directory.

    Raises:
        ConfigError: for an existing file, or a folder holding other things than a model.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{flag} {path}: exists and is not a folder; give a model directory")
    if path.is_dir() and any(path.iterdir()) and not is_model_dir(path):
        raise ConfigError(f"{flag} {path}: a folder that is not a jazzd model; give a new or a model directory")
    return path


@contextlib.contextmanager
def replaced_dir(path: Path):
    """Write a directory beside `path` and put it in place of `path` when the block ends without an error.

    The old directory (a model) is moved aside first and removed only once the new one is in place.
    Yields:
        The temporary directory to fill.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    os.chmod(tmp, default_mode(path, directory=True))
    try:
        yield tmp
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.rmdir(old)
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
