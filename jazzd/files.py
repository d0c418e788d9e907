"""Output files that are never lost: checked suffixes, and replacement only by a complete new file.

Every file jazzd writes (a generated MIDI file, audio, a piano roll, a model
directory, a live recording) is written beside its target under a temporary
name and renamed over it only when complete, so a run that fails half-way (an
error, a full disk, Ctrl-C) leaves the old file as it was. A target that is no
regular file (a device such as /dev/null, a FIFO) is written directly.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

from jazzd.errors import ConfigError, JazzdError

MIDI_SUFFIXES = (".mid", ".midi")
AUDIO_SUFFIXES = (".wav", ".mp3")
IMAGE_SUFFIXES = (".png", ".svg", ".pdf")

log = logging.getLogger(__name__)


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


class TakeBusy(OSError):
    """Another process records a take to the same path (see TakeFile)."""


def _lock_path(path: Path) -> Path:
    """Where the lock of a take's path lives: the user's runtime folder (not the take's, which may go)."""
    import hashlib

    folder = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
    digest = hashlib.sha1(str(Path(path).absolute()).encode()).hexdigest()[:16]
    return folder / f"jazzd-take-{digest}.lock"


class TakeFile:
    """A live take (a MIDI or WAV recording) written while it plays, and kept whatever happens to its path.

    It is written beside the target under a temporary name and begin() renames it over the target, so an
    existing take is replaced only by a recording that has begun. While it is open, the target is locked
    (fcntl.flock on a lock file in $XDG_RUNTIME_DIR or /tmp): a second jazzd recording to the same path is
    refused, where before it silently replaced the first's take. After each flush the recorder calls keep(),
    which checks that the path still holds this take: if the file or its folder was removed (the folder
    deleted mid-run: the open file lived on, unlinked, and was lost at the end without a word), the take is
    written back there, the folder made again; if another file took its place, the take goes on beside it
    under a free name (NAME-2.mid) rather than over it. Each is said in one warning. A target that is no
    regular file (/dev/null) is written directly and never checked.

    It is a binary, unbuffered, seekable file object (write, seek, tell, truncate, flush), so the wave module
    and the MIDI recorder write through it while keep() swaps the file beneath them.

    Args:
        path: the take's target.
    Attributes:
        path: where the take is now (it changes if another file took its place).
        begun: begin() has put it in the target's place.
    Raises:
        TakeBusy: if another process records to the same path.
        OSError: if the folder cannot be written.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.begun = False
        self._tmp: Path | None = None
        self._lock = None
        self._warned = False
        if _special(self.path):  # a device: written directly
            self._file = open(self.path, "wb", buffering=0)
            self.special = True
            self.begun = True
            return
        self.special = False
        self._lock = self._take_lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file, self._tmp = self._new_file(self.path.parent)
        except BaseException:
            self._release_lock()
            raise

    # -- the lock ---------------------------------------------------------------------

    def _take_lock(self):
        import fcntl

        lock_path = _lock_path(self.path)
        while True:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                other = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise TakeBusy(f"another jazzd (pid {other}) is recording to it: give this run another file") \
                    from None
            try:  # the lock file may have been removed by its last holder between our open and our lock
                if os.fstat(fd).st_ino == os.stat(lock_path).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return (fd, lock_path)

    def _release_lock(self) -> None:
        if self._lock is None:
            return
        fd, lock_path = self._lock
        self._lock = None
        with contextlib.suppress(OSError):
            lock_path.unlink()  # before the unlock: a waiting taker then finds a new file (see _take_lock)
        os.close(fd)

    # -- the file object --------------------------------------------------------------

    def _new_file(self, folder: Path):
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=f".tmp{self.path.suffix}", dir=folder)
        os.fchmod(fd, default_mode(self.path))  # mkstemp makes 0600: the old take's mode, or the umask's
        return os.fdopen(fd, "r+b", buffering=0), Path(tmp)

    def write(self, data) -> int:
        return self._file.write(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def truncate(self, size: int | None = None) -> int:
        return self._file.truncate(size)

    def flush(self) -> None:
        self._file.flush()

    def seekable(self) -> bool:
        return self._file.seekable()

    @property
    def closed(self) -> bool:
        return self._file.closed

    # -- the take ---------------------------------------------------------------------

    def begin(self) -> None:
        """The recording has begun: it takes the target's place."""
        if self._tmp is not None and not self.begun:
            os.replace(self._tmp, self.path)
            self._tmp = None
            self.begun = True

    def keep(self) -> None:
        """Make sure the take's path still holds it (see the class docstring).

        Raises:
            OSError: if it cannot be written anywhere at its path (the folder's place taken by a file, no
                permission); the message names the path.
        """
        if self.special or not self.begun:
            return
        mine = os.fstat(self._file.fileno())
        try:
            there = os.stat(self.path)
            if (there.st_dev, there.st_ino) == (mine.st_dev, mine.st_ino):
                return
            gone = False
        except FileNotFoundError:
            gone = True
        except NotADirectoryError:  # a file stands where its folder was
            raise OSError(f"{self.path.parent} is no folder any more: the take cannot be kept") from None
        old = self.path
        folder_gone = gone and not old.parent.exists()
        if not gone:  # another file took its place: never over it
            self.path = _free_name(old)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            new, tmp = self._new_file(self.path.parent)
            position, size = self._file.tell(), os.fstat(self._file.fileno()).st_size
            offset = 0
            while offset < size:
                chunk = os.pread(self._file.fileno(), min(1 << 20, size - offset), offset)
                if not chunk:
                    break
                new.write(chunk)
                offset += len(chunk)
            new.seek(position)
            os.replace(tmp, self.path)
        except OSError as err:
            raise OSError(f"cannot keep the take at {self.path} ({err.strerror or err})") from None
        self._file.close()
        self._file = new
        what = ("its folder was removed" if folder_gone else "it was removed" if gone
                else "another file took its place")
        log.warning("%s: %s while recording; the take goes on %s", old, what,
                    f"there (written back: {size} bytes so far)" if gone else f"as {self.path}")

    def close(self) -> None:
        """Close the file; a take that never began is removed (the target stays as it was)."""
        try:
            with contextlib.suppress(OSError):
                self._file.close()
            if self._tmp is not None:
                with contextlib.suppress(OSError):
                    self._tmp.unlink()
                self._tmp = None
        finally:
            self._release_lock()


def _free_name(path: Path) -> Path:
    """path with -2, -3 ... before its suffix: the first that does not exist."""
    n = 2
    while True:
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not candidate.exists():
            return candidate
        n += 1
