"""Ports: MIDI outputs that take timestamped messages, the MIDI input, and choosing a backend.

An output has send(msg, due_s) (the message and the monotonic time it is due)
and close(). Two kinds:

- RtMidiOutput: python-rtmidi, a virtual port ("jazzd out" of client "jazzd")
  or a connection to an existing port, on the ALSA sequencer, JACK or CoreMIDI.
  It sends each message when handed it (the scheduler hands it over on time);
  through JACK it lands at the start of the next JACK period.
- MidiFileRecorder: a Standard MIDI File written as the stream plays and made
  whole on disk at least once a bar, for machines with no MIDI system.

The input ("jazzd in" of client "jazzd-in") is polled: on JACK a
jazzd.live.jackinput.JackMidiInput (JACK-Client in a child process: python-rtmidi's
JACK input crashed), elsewhere an RtMidiInput, where no Python runs on
python-rtmidi's thread.

Backend choice (`choose_backend`) is pure logic, tested without any MIDI system.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import logging
import os
import sys
import time
from pathlib import Path

import mido
from mido.midifiles.meta import encode_variable_int

from jazzd.errors import PortError
from jazzd.files import TakeFile

log = logging.getLogger(__name__)

# Never let a JACK probe start a JACK server behind the user's back.
os.environ.setdefault("JACK_NO_START_SERVER", "1")

# jazzd backend name -> mido's python-rtmidi API name.
BACKENDS = {"alsa": "LINUX_ALSA", "jack": "UNIX_JACK", "coremidi": "MACOSX_CORE"}
BACKEND_CHOICES = ("auto", *BACKENDS)
ALSA_SEQ_DEVICE = "/dev/snd/seq"
MIDI_FILE_SUFFIXES = (".mid", ".midi", ".smf")
LINGER_S = 0.1  # seconds a JACK output stays open after its last send: many periods, so late receivers still read it
NO_MIDI_FIX = "start a JACK server (jackd -d dummy), load the ALSA sequencer (modprobe snd-seq), or pass --output PORT|FILE.mid"


def is_midi_file_target(target: str) -> bool:
    """True if an output target names a MIDI file (.mid, .midi, .smf) or an existing file or device (/dev/null)."""
    if target.lower().endswith(MIDI_FILE_SUFFIXES):
        return True
    return os.sep in target and os.path.exists(target) and not os.path.isdir(target)


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


def match_port(names: list[str], wanted: str, kind: str = "output") -> str:
    """Find a port by exact name, else by case-insensitive substring.

    Args:
        kind: "output" or "input", for the error message.

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
        raise PortError(f"no MIDI {kind} matching {wanted!r} (have: {have})")
    raise PortError(f"MIDI {kind} {wanted!r} is ambiguous (matches: {', '.join(repr(n) for n in hits)})")


def _rtmidi_api(backend: str) -> int:
    """python-rtmidi's API number for a backend (RtMidi would quietly fall back to another API).

    Raises:
        PortError: if this python-rtmidi was built without it.
    """
    import rtmidi

    api = getattr(rtmidi, f"API_{BACKENDS[backend]}")
    if api not in rtmidi.get_compiled_api():
        raise PortError(f"MIDI backend {backend!r} is not available here (python-rtmidi has "
                        f"{', '.join(rtmidi.get_api_name(a) for a in rtmidi.get_compiled_api()) or 'none'})")
    return api


_OPENED = itertools.count()  # ports opened by this process: a part of the unique name of each


def _jack_client_of(port_name: str) -> str | None:
    """The JACK client that holds an output port of this (unique) short name, read back from JACK.

    JACK renames a client whose name is taken ("jazzd" -> "jazzd-01", a second jazzd on one server), and
    python-rtmidi does not say which name it got; a MidiIn lists every JACK MIDI output port by full name.
    """
    import rtmidi

    probe = rtmidi.MidiIn(rtapi=rtmidi.API_UNIX_JACK, name="jazzd-probe")
    try:
        return next((name.rpartition(":")[0] for name in probe.get_ports() if name.endswith(f":{port_name}")), None)
    finally:
        probe.delete()


def _open_rtmidi(kind: str, backend: str, target: str, client_name: str, port_name: str, virtual: bool, **options):
    """An rtmidi.MidiIn or MidiOut of client client_name with a virtual port or a connection.

    Returns:
        (it, name, own_port): the rtmidi object; the port others connect to (virtual) or the one connected
        to; jazzd's own port, "client:port", with the client name JACK gave it (not always client_name).
    """
    import rtmidi

    cls = rtmidi.MidiIn if kind == "input" else rtmidi.MidiOut
    # on JACK an output port opens under a unique name first, so it can be found and its client's real name
    # read back, then takes its own name
    unique = f"{port_name}.{os.getpid()}.{next(_OPENED)}" if backend == "jack" and kind == "output" else None
    try:
        with _quiet_stderr():
            midi = cls(rtapi=_rtmidi_api(backend), name=client_name, **options)
            try:
                if virtual:
                    midi.open_virtual_port(unique or port_name)
                    name = None
                else:
                    names = midi.get_ports()
                    name = match_port(names, target, kind)
                    midi.open_port(names.index(name), name=unique or port_name)
                client = client_name
                if unique is not None:
                    client = _jack_client_of(unique) or client_name
                    midi.set_port_name(port_name)
                own = f"{client}:{port_name}"
                return midi, (own if virtual else name), own
            except BaseException:
                midi.delete()
                raise
    except PortError:
        raise
    except Exception as err:  # rtmidi.SystemError and friends are OSErrors or RuntimeErrors
        raise PortError(f"cannot open MIDI {kind} {target!r} on {backend}: {err}") from err


class RtMidiOutput:
    """A python-rtmidi output: a virtual port, or a connection to a named port.

    Either way the client is client_name ("jazzd"), so a patchbay shows jazzd,
    not "RtMidiOut Client".

    Args:
        backend: a key of BACKENDS.
        port_name: the virtual port's name ("jazzd out"), or the port to connect to.
        client_name: the MIDI client name ("jazzd").
        virtual: open a virtual port (True) or connect to an existing one.
    Raises:
        PortError: if the backend or port cannot be opened.
    """

    def __init__(self, backend: str, port_name: str, client_name: str = "jazzd", virtual: bool = True):
        self.backend = backend
        own = port_name if virtual else "jazzd out"
        # own_port: jazzd's own port (the one connected to `name` if not virtual), as JACK named its client
        self._midi_out, self.name, self.own_port = _open_rtmidi("output", backend, port_name, client_name, own,
                                                                virtual)
        self.virtual = virtual
        self.kind = f"{backend} {'virtual port' if virtual else 'port'}"

    def send(self, msg: mido.Message, due_s: float) -> None:
        """Send now (the scheduler calls at due_s)."""
        self._midi_out.send_message(msg.bytes())

    def close(self) -> None:
        """Close the port, LINGER_S after the last send on JACK.

        A JACK receiver that is late for a cycle (an xrun) reads that cycle's
        events after jazzd's process callback has run; unregistering the port
        first loses them, and with them the note-offs of a shutdown.
        """
        if self._midi_out is None:
            return
        if self.backend == "jack":
            time.sleep(LINGER_S)
        self._midi_out.close_port()
        self._midi_out.delete()
        self._midi_out = None


class ArrivalClock:
    """Monotonic arrival times of input messages from the MIDI API's own delta times.

    python-rtmidi stamps each message, on its own thread, with the seconds since
    the previous one (on JACK, the start of the cycle it came in). The poller
    sees it later; the offset between the API's running time and time.monotonic()
    is estimated as the smallest (poll time - running time) seen, so poll delay
    never adds to a timestamp. The offset may creep up by drift_ppm, for an API
    clock that runs slower than the monotonic one.

    Args:
        drift_ppm: how fast the offset may rise, in parts per million of elapsed time.
    """

    def __init__(self, drift_ppm: float = 100.0):
        self.drift = drift_ppm * 1e-6
        self._running = 0.0  # seconds of API time since the first message
        self._offset: float | None = None
        self._offset_at = 0.0

    def stamp(self, deltas_s: list[float], polled_s: float) -> list[float]:
        """Arrival times (monotonic seconds) of the messages one poll found.

        Args:
            deltas_s: each message's API delta time (seconds since the one before), oldest first.
            polled_s: when the poll found them.
        """
        if not deltas_s:
            return []
        running = []
        for delta in deltas_s:
            self._running += max(0.0, delta)
            running.append(self._running)
        candidate = polled_s - self._running  # the newest message bounds the offset best
        if self._offset is None or candidate <= self._offset:
            self._offset = candidate
        else:
            self._offset = min(candidate, self._offset + self.drift * (polled_s - self._offset_at))
        self._offset_at = polled_s
        return [self._offset + r for r in running]


class RtMidiInput:
    """A python-rtmidi input read by polling, never by a callback.

    python-rtmidi's thread (on JACK the real-time process thread) only queues
    the bytes; with a Python callback it would wait for the GIL on every message
    and, under load or a flood, make the JACK server miss its cycle. poll()
    takes what is queued, parses it with mido (bytes that are no MIDI message
    are counted and dropped) and stamps it with an ArrivalClock. Clock and
    transport messages are let through, sysex and active sensing are not.

    Args:
        backend: a key of BACKENDS.
        target: the virtual port's name, or the input port to connect to.
        client_name: the MIDI client name ("jazzd-in"; JACK needs one of its own).
        virtual: open a virtual port (True) or connect to an existing one.
        queue_size: messages python-rtmidi keeps between polls.
    Raises:
        PortError: if the backend or port cannot be opened.
    """

    def __init__(self, backend: str, target: str, client_name: str = "jazzd-in", virtual: bool = True,
                 queue_size: int = 8192):
        self.backend = backend
        own = target if virtual else "jazzd in"
        # own_port: jazzd's own port (the one `name` is connected to if not virtual)
        self._midi_in, self.name, self.own_port = _open_rtmidi("input", backend, target, client_name, own, virtual,
                                                               queue_size_limit=queue_size)
        self._midi_in.ignore_types(sysex=True, timing=False, active_sense=True)
        self.virtual = virtual
        self.kind = f"{backend} {'virtual port' if virtual else 'port'}"
        self.arrivals = ArrivalClock()
        self.unreadable = 0  # messages dropped as not MIDI
        self.last_unreadable: bytes = b""

    def poll(self) -> list[tuple[float, mido.Message]]:
        """Every message waiting: [(arrival time in monotonic seconds, mido message)], oldest first."""
        out = []
        if self._midi_in is None:
            return out
        items = []
        while (item := self._midi_in.get_message()) is not None:
            items.append(item)
        if not items:
            return out
        times = self.arrivals.stamp([delta for _, delta in items], time.monotonic())
        for (data, _), t in zip(items, times):
            messages = mido.parse_all(data)
            if not messages:
                self.unreadable += 1
                self.last_unreadable = bytes(data)
            out.extend((t, msg) for msg in messages)
        return out

    def close(self) -> None:
        if self._midi_in is not None:
            self._midi_in.close_port()
            self._midi_in.delete()
            self._midi_in = None


class MidiFileRecorder:
    """Records the live stream to a Standard MIDI File (type 0), whole on disk after each flush.

    Events are placed at their due beat on the clock (480 ticks per beat). At
    each flush the file gets an End of Track and its track length is patched,
    so the file on disk is always a complete, readable MIDI file; the next
    flush overwrites the End of Track and goes on. The recording is written
    beside the target and renamed over it at the first message, so a run that
    fails before playing (a mistyped input port) leaves an existing file as it
    was; a target that is no regular file (/dev/null) is written directly.
    The file is a jazzd.files.TakeFile: a second jazzd recording to the same
    path is refused, and after each flush a take whose file or folder was
    removed is written back (one warning), one whose place another file took
    goes on beside it.

    Args:
        path: the file to write (replaced once the recording has begun).
        clock: the beat clock (beat_at(seconds), bpm).
        flush_beats: flush at least this often, in beats (one bar). Default 4.
        ticks_per_beat: Default 480.
    Attributes:
        path, name: where the take is (they change only if another file took its place).
    Raises:
        PortError: if the file cannot be written or kept, here or at any later flush (disk full), or if
            another jazzd records to the same path.
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
        self._file = None
        self.broken = False  # a write failed: the file keeps its last whole flush, later messages are dropped
        try:
            self._file = TakeFile(self.path)
            header = b"MThd" + (6).to_bytes(4, "big") + (0).to_bytes(2, "big") + (1).to_bytes(2, "big")
            self._write(header + ticks_per_beat.to_bytes(2, "big") + b"MTrk" + b"\0\0\0\0")
            self._track_start = self._file.tell()
            self._append(0, mido.MetaMessage("track_name", name="jazzd live"))
            self._append(0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(clock.bpm)))
            self._flush()
        except OSError as err:
            self._discard()
            raise PortError(f"{self.path}: cannot record MIDI here ({err.strerror or err})") from None

    def _append(self, tick: int, msg) -> None:
        delta = max(0, tick - self._last_tick)
        self._last_tick = max(self._last_tick, tick)
        self._pending += bytes(encode_variable_int(delta)) + bytes(msg.bytes())

    def _flush(self) -> None:
        """Write what is pending, an End of Track after it, and the track length: a whole file on disk.

        A write that fails (a full disk) is undone: the file is cut back to the last whole flush.
        """
        end_of_track = bytes(encode_variable_int(0)) + bytes(mido.MetaMessage("end_of_track").bytes())
        if not self._file.seekable():  # a device: just write
            self._write(self._pending + end_of_track)
            self._pending.clear()
            return
        old_end = self._track_start + self._track_bytes
        try:
            self._file.seek(old_end)
            self._write(self._pending + end_of_track)
            self._file.seek(self._track_start - 4)
            self._write((self._track_bytes + len(self._pending) + len(end_of_track)).to_bytes(4, "big"))
        except OSError:
            with contextlib.suppress(OSError):  # back to the last whole flush: cut the new bytes off
                self._file.truncate(old_end)
                self._file.seek(old_end)
                self._write(end_of_track)
                self._file.seek(self._track_start - 4)
                self._write((self._track_bytes + len(end_of_track)).to_bytes(4, "big"))
            raise
        self._track_bytes += len(self._pending)
        self._pending.clear()

    def _write(self, data: bytes) -> None:
        """Write all of data (an unbuffered write may write part of it; the rest then raises, e.g. ENOSPC)."""
        view = memoryview(data)
        while view:
            written = self._file.write(view)
            if not written:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            view = view[written:]

    def _keep(self) -> None:
        """The take is still at its path, or put back there (jazzd.files.TakeFile.keep)."""
        self._file.keep()
        if self._file.path != self.path:  # another file took its place: the take goes on beside it
            self.path, self.name = self._file.path, str(self._file.path)

    def _discard(self) -> None:
        if self._file is not None:
            self._file.close()  # a take that never began is removed: the target stays as it was

    def send(self, msg: mido.Message, due_s: float) -> None:
        """Record a message at the beat the clock gives for due_s.

        Raises:
            PortError: if the file cannot be written (a full disk).
        """
        if self.broken:
            return
        beat = self.clock.beat_at(due_s)
        self._append(round(max(0.0, beat) * self.ticks_per_beat), msg)
        try:
            if not self._file.begun:
                self._flush()
                self._file.begin()
            elif beat - self._last_flush_beat >= self.flush_beats:
                self._flush()
                self._keep()
                self._last_flush_beat = beat
        except OSError as err:
            self.broken = True
            raise PortError(f"{self.path}: cannot record MIDI ({err.strerror or err})") from None

    def close(self) -> None:
        """Make the file whole and close it; a recording that never began leaves the target as it was.

        Raises:
            PortError: if the last flush fails (the file on disk is then the last whole flush).
        """
        if self._file is None or self._file.closed:
            return
        if not self._file.begun or self.broken:  # never began, or already reported: nothing more to write
            self._discard()
            return
        try:
            self._flush()
            self._keep()
        except OSError as err:
            raise PortError(f"{self.path}: cannot record MIDI ({err.strerror or err})") from None
        finally:
            self._discard()


def open_output(target: str, backend: str, clock, client_name: str = "jazzd", port_name: str = "jazzd out",
                fallback_file: str = "jazzd-live.mid", flush_beats: float = 4.0, jack_latency_periods: int = 2):
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
        jack_latency_periods: on JACK, every message sounds this many periods after its due time, on its frame
            (jazzd.live.jackoutput.JackMidiOutput); elsewhere python-rtmidi sends each at its time.
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
    def output(name: str, virtual: bool):
        if chosen == "jack":
            from jazzd.live.jackoutput import JackMidiOutput

            return JackMidiOutput(name, client_name, virtual=virtual, latency_periods=jack_latency_periods)
        return RtMidiOutput(chosen, name, client_name, virtual=virtual)

    if target in ("auto", "virtual"):
        try:
            return output(port_name, True)
        except PortError as err:
            if target != "auto" or backend != "auto":
                raise
            log.warning("%s: recording to %s instead; to play live, %s", err, fallback_file, NO_MIDI_FIX)
            return MidiFileRecorder(Path(fallback_file), clock, flush_beats)
    return output(target, False)


def open_input(target: str, backend: str | None, client_name: str = "jazzd-in", port_name: str = "jazzd in"):
    """Open the daemon's MIDI input on the output's backend.

    Args:
        target: "auto" (a virtual port where the backend allows, else none),
            "off" (none), "virtual" (a virtual port, or an error), or the name
            (or part of it) of an existing input port to connect to.
        backend: the output's backend (a key of BACKENDS), or None when the
            output is a file (then "auto" opens nothing).
        client_name, port_name: names of the virtual port. JACK needs a client
            name of its own for the input ("jazzd-in:jazzd in").
    Returns:
        A JackMidiInput on JACK, an RtMidiInput on the others, or None.
    Raises:
        PortError: if a requested port cannot be opened.
    """
    if target == "off" or (target == "auto" and backend is None):
        return None
    if backend is None:
        raise PortError(f"MIDI input {target!r} needs a MIDI system, but the output is a file; {NO_MIDI_FIX}")
    if backend not in BACKENDS:
        raise PortError(f"unknown MIDI backend {backend!r} (expected one of {', '.join(BACKENDS)})")
    virtual = target in ("auto", "virtual")
    if backend == "jack":
        from jazzd.live.jackinput import JackMidiInput

        return JackMidiInput(port_name if virtual else target, client_name, virtual=virtual)
    return RtMidiInput(backend, port_name if virtual else target, client_name, virtual=virtual)
