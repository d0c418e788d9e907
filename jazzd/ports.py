"""Ports: MIDI outputs that take timestamped messages, and choosing a backend.

An output has send(msg, due_s) (the message and the monotonic time it is due)
and close(). Two kinds:

- RtMidiOutput: mido over python-rtmidi, a virtual port ("jazzd out" of client
  "jazzd") or a connection to an existing port, on the ALSA sequencer, JACK or
  CoreMIDI. It sends each message when handed it (the scheduler hands it over
  on time); through JACK it lands at the start of the next JACK period.
- MidiFileRecorder: a Standard MIDI File written as the stream plays and made
  whole on disk at least once a bar, for machines with no MIDI system.

Backend choice (`choose_backend`) is pure logic, tested without any MIDI system.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path

import mido
from mido.midifiles.meta import encode_variable_int

from jazzd.errors import PortError

log = logging.getLogger(__name__)

# Never let a JACK probe start a JACK server behind the user's back.
os.environ.setdefault("JACK_NO_START_SERVER", "1")

# jazzd backend name -> mido's python-rtmidi API name.
BACKENDS = {"alsa": "LINUX_ALSA", "jack": "UNIX_JACK", "coremidi": "MACOSX_CORE"}
BACKEND_CHOICES = ("auto", *BACKENDS)
ALSA_SEQ_DEVICE = "/dev/snd/seq"
MIDI_FILE_SUFFIXES = (".mid", ".midi", ".smf")
NO_MIDI_FIX = "start a JACK server (jackd -d dummy), load the ALSA sequencer (modprobe snd-seq), or pass --output PORT|FILE.mid"


def is_midi_file_target(target: str) -> bool:
    """True if an output target names a MIDI file (.mid, .midi, .smf)."""
    return target.lower().endswith(MIDI_FILE_SUFFIXES)


def choose_backend(requested: str, platform: str, alsa_seq: bool, jack_running: bool) -> str | None:
    """Pick the MIDI backend.

    Args:
        requested: "auto" or a key of BACKENDS.
        platform: sys.platform ("linux", "darwin", ...).
        alsa_seq: whether the ALSA sequencer device exists.
        jack_running: whether a JACK server answers.
    Returns:
        The backend: the requested one; for "auto", on Linux the ALSA sequencer
        where it exists, else JACK when a server runs; CoreMIDI on macOS; None
        when nothing can open a port.
    Raises:
        PortError: for an unknown backend name.
    """
    if requested not in BACKEND_CHOICES:
        raise PortError(f"unknown MIDI backend {requested!r} (expected one of {', '.join(BACKEND_CHOICES)})")
    if requested != "auto":
        return requested
    if platform == "darwin":
        return "coremidi"
    if platform.startswith("linux"):
        if alsa_seq:
            return "alsa"
        if jack_running:
            return "jack"
    return None


@contextlib.contextmanager
def _quiet_stderr():
    """Silence C libraries (ALSA lib, libjack) that print to fd 2 while probing."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def jack_running() -> bool:
    """Whether a JACK server answers (probed with python-rtmidi; never starts one)."""
    import rtmidi

    if rtmidi.API_UNIX_JACK not in rtmidi.get_compiled_api():
        return False
    with _quiet_stderr():
        try:
            probe = rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name="jazzd-probe")
        except Exception:  # rtmidi.SystemError: no server
            return False
        probe.delete()
    return True


def detect_backend(requested: str = "auto") -> str | None:
    """choose_backend() for this machine."""
    alsa = os.path.exists(ALSA_SEQ_DEVICE)
    jack = requested in ("auto", "jack") and not alsa and jack_running()
    return choose_backend(requested, sys.platform, alsa, jack)


def _mido_backend(backend: str):
    api = BACKENDS[backend]
    try:
        return mido.Backend(f"mido.backends.rtmidi/{api}", load=True)
    except (ImportError, ValueError) as err:
        raise PortError(f"MIDI backend {backend!r} is not available here ({err})") from None


def match_port(names: list[str], wanted: str) -> str:
    """Find a port by exact name, else by case-insensitive substring.

    Raises:
        PortError: if nothing or more than one port matches; names them.
    """
    if wanted in names:
        return wanted
    hits = [n for n in names if wanted.lower() in n.lower()]
    if len(hits) == 1:
        return hits[0]
    have = ", ".join(repr(n) for n in names) or "none"
    if not hits:
        raise PortError(f"no MIDI output matching {wanted!r} (have: {have})")
    raise PortError(f"MIDI output {wanted!r} is ambiguous (matches: {', '.join(repr(n) for n in hits)})")


class RtMidiOutput:
    """A mido/python-rtmidi output: a virtual port, or a connection to a named port.

    Args:
        backend: a key of BACKENDS.
        port_name: the virtual port's name ("jazzd out"), or the port to connect to.
        client_name: the MIDI client name of a virtual port ("jazzd").
        virtual: open a virtual port (True) or connect to an existing one.
    Raises:
        PortError: if the backend or port cannot be opened.
    """

    def __init__(self, backend: str, port_name: str, client_name: str = "jazzd", virtual: bool = True):
        self.backend = backend
        mido_backend = _mido_backend(backend)
        try:
            with _quiet_stderr():
                if virtual:
                    self._port = mido_backend.open_output(port_name, virtual=True, client_name=client_name)
                else:
                    port_name = match_port(mido_backend.get_output_names(), port_name)
                    self._port = mido_backend.open_output(port_name)
        except PortError:
            raise
        except Exception as err:  # rtmidi.SystemError and friends are OSErrors or RuntimeErrors
            raise PortError(f"cannot open MIDI output {port_name!r} on {backend}: {err}") from err
        self.name = f"{client_name}:{port_name}" if virtual else port_name
        self.kind = f"{backend} {'virtual port' if virtual else 'port'}"

    def send(self, msg: mido.Message, due_s: float) -> None:
        """Send now (the scheduler calls at due_s)."""
        self._port.send(msg)

    def close(self) -> None:
        self._port.close()


class MidiFileRecorder:
    """Records the live stream to a Standard MIDI File (type 0), whole on disk after each flush.

    Events are placed at their due beat on the clock (480 ticks per beat). At
    each flush the file gets an End of Track and its track length is patched,
    so the file on disk is always a complete, readable MIDI file; the next
    flush overwrites the End of Track and goes on.

    Args:
        path: the file to write (replaced).
        clock: the beat clock (beat_at(seconds), bpm).
        flush_beats: flush at least this often, in beats (one bar). Default 4.
        ticks_per_beat: Default 480.
    Raises:
        PortError: if the file cannot be written.
    """

    def __init__(self, path: Path, clock, flush_beats: float = 4.0, ticks_per_beat: int = 480):
        self.path = Path(path)
        self.name = str(self.path)
        self.kind = "MIDI file"
        self.clock = clock
        self.flush_beats = flush_beats
        self.ticks_per_beat = ticks_per_beat
        self._pending = bytearray()
        self._last_tick = 0
        self._last_flush_beat = 0.0
        self._track_bytes = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "wb")
        except OSError as err:
            raise PortError(f"{self.path}: cannot record MIDI here ({err.strerror or err})") from None
        header = b"MThd" + (6).to_bytes(4, "big") + (0).to_bytes(2, "big") + (1).to_bytes(2, "big")
        self._file.write(header + ticks_per_beat.to_bytes(2, "big") + b"MTrk" + b"\0\0\0\0")
        self._track_start = self._file.tell()
        self._append(0, mido.MetaMessage("track_name", name="jazzd live"))
        self._append(0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(clock.bpm)))
        self._flush()

    def _append(self, tick: int, msg) -> None:
        delta = max(0, tick - self._last_tick)
        self._last_tick = max(self._last_tick, tick)
        self._pending += bytes(encode_variable_int(delta)) + bytes(msg.bytes())

    def _flush(self) -> None:
        end_of_track = bytes(encode_variable_int(0)) + bytes(mido.MetaMessage("end_of_track").bytes())
        self._file.seek(self._track_start + self._track_bytes)
        self._file.write(self._pending + end_of_track)
        self._track_bytes += len(self._pending)
        self._pending.clear()
        self._file.seek(self._track_start - 4)
        self._file.write((self._track_bytes + len(end_of_track)).to_bytes(4, "big"))
        self._file.flush()

    def send(self, msg: mido.Message, due_s: float) -> None:
        """Record a message at the beat the clock gives for due_s."""
        beat = self.clock.beat_at(due_s)
        self._append(round(max(0.0, beat) * self.ticks_per_beat), msg)
        if beat - self._last_flush_beat >= self.flush_beats:
            self._flush()
            self._last_flush_beat = beat

    def close(self) -> None:
        if not self._file.closed:
            self._flush()
            self._file.close()


def open_output(target: str, backend: str, clock, client_name: str = "jazzd", port_name: str = "jazzd out",
                fallback_file: str = "jazzd-live.mid", flush_beats: float = 4.0):
    """Open the daemon's output.

    Args:
        target: "auto" (a virtual port on the chosen backend, or fallback_file
            with one warning where no MIDI system can open one), "virtual" (a
            virtual port, or an error), a path ending in .mid/.midi (record to
            that file), or the name of an existing output port to connect to.
        backend: "auto" or a key of BACKENDS.
        clock: the beat clock (the file recorder places events by beat).
        client_name, port_name: names of the virtual port.
        fallback_file: the file "auto" records to without a MIDI system.
        flush_beats: how often a file is made whole on disk, in beats.
    Returns:
        An output with send(msg, due_s), close(), name and kind.
    Raises:
        PortError: if the port cannot be opened (not for "auto", which falls back).
    """
    if is_midi_file_target(target):
        return MidiFileRecorder(Path(target), clock, flush_beats)
    chosen = detect_backend(backend)
    if chosen is None:
        if target == "auto":
            log.warning("no MIDI system can open a port here (no %s, no JACK server): recording to %s instead; "
                        "to play live, %s", ALSA_SEQ_DEVICE, fallback_file, NO_MIDI_FIX)
            return MidiFileRecorder(Path(fallback_file), clock, flush_beats)
        raise PortError(f"no MIDI system can open a port here (no {ALSA_SEQ_DEVICE}, no JACK server); {NO_MIDI_FIX}")
    if target in ("auto", "virtual"):
        try:
            return RtMidiOutput(chosen, port_name, client_name, virtual=True)
        except PortError as err:
            if target != "auto" or backend != "auto":
                raise
            log.warning("%s: recording to %s instead; to play live, %s", err, fallback_file, NO_MIDI_FIX)
            return MidiFileRecorder(Path(fallback_file), clock, flush_beats)
    return RtMidiOutput(chosen, target, client_name, virtual=False)


def open_input(target: str, backend: str | None, callback, client_name: str = "jazzd-in",
               port_name: str = "jazzd in"):
    """Open the daemon's MIDI input on the output's backend.

    Args:
        target: "auto" (a virtual port where the backend allows, else none),
            "off" (none), "virtual" (a virtual port, or an error), or the name
            (or part of it) of an existing input port to connect to.
        backend: the output's backend (a key of BACKENDS), or None when the
            output is a file (then "auto" opens nothing).
        callback: called with each mido message on python-rtmidi's thread; it
            must only hand the message on.
        client_name, port_name: names of the virtual port. JACK needs a client
            name of its own for the input ("jazzd-in:jazzd in").
    Returns:
        The open mido input port, or None.
    Raises:
        PortError: if a requested port cannot be opened.
    """
    if target == "off" or (target == "auto" and backend is None):
        return None
    if backend is None:
        raise PortError(f"MIDI input {target!r} needs a MIDI system, but the output is a file; {NO_MIDI_FIX}")
    mido_backend = _mido_backend(backend)
    try:
        with _quiet_stderr():
            if target in ("auto", "virtual"):
                return mido_backend.open_input(port_name, virtual=True, client_name=client_name, callback=callback)
            name = match_port(mido_backend.get_input_names(), target)
            return mido_backend.open_input(name, callback=callback)
    except PortError as err:
        raise PortError(str(err).replace("MIDI output", "MIDI input")) from None
    except Exception as err:  # rtmidi's errors
        raise PortError(f"cannot open MIDI input {target!r} on {backend}: {err}") from err
