"""JackMidiInput: jazzd's JACK MIDI input, owned by a child process that uses JACK-Client.

Why not python-rtmidi: its JACK input crashed jazzd (SIGSEGV in the JACK
thread, `jackProcessIn` -> `std::vector::push_back`, after 2-14 minutes of a
keyboard playing 20 notes/s; with the system's libjack too, so not the wheel's
bundled one). RtMidi hands messages from the JACK thread to the reader through
a ring of std::vectors indexed by plain `unsigned int`s, with no atomics or
barriers; the crash fits a race there. JACK-Client (the maintained cffi binding
of libjack, which jazzd's watch and guardian already use) reads the port with
jack_midi_event_get and never allocates a C++ object.

Why a child process: JACK-Client's process callback is Python, run on JACK's
real-time thread every period. In jazzd's process it would wait for the GIL
behind the session and the sender, make JACK cycles late and lose input. In a
process of its own nothing else wants the GIL (the main thread sleeps on a pipe
read), and if it ever dies the daemon is told (EOF) instead of crashing with it.

The child ("python -m jazzd.live.jackinput CLIENT PORT [SOURCE]") writes lines
to its stdout, a pipe the parent polls:

    ok <own port> <TAB> <connected source, or nothing>   once, when the port is up
    error <message>                                    instead of ok; then it exits 2
    m <arrival, monotonic seconds> <hex bytes> <cycle start, JACK microseconds> <frame offset>
                                                       one per MIDI message
    gone <reason>                                      the JACK server went away; it exits 1

Arrival times are CLOCK_MONOTONIC, shared by every process on the machine: the
start of the JACK cycle that carries the event plus its frame offset (a JACK
client's event sent in that cycle; a hardware port's, one period after it came). The child ends when its stdin closes (the parent closed the port,
or died).
"""

from __future__ import annotations

import logging
import os
import select
import subprocess
import sys
import threading
import time

import mido

from jazzd.errors import PortError

log = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0  # a loaded VM can take seconds to start Python and register the client
CLOSE_TIMEOUT_S = 2.0
IGNORED_STATUS = (0xF0, 0xF7, 0xFE)  # sysex (and its continuation) and active sensing, as the rtmidi input ignored
PIPE_ATOMIC = 4096  # POSIX: a pipe write of at most PIPE_BUF bytes is never split


def server_gone_message(reason: str) -> str:
    """The one line jazzd ends with when the JACK server goes away."""
    return (f"the JACK server went away ({reason}); jazzd's ports went with it, so nothing of its sounds on: "
            "start jazzd again once the server is back")


class JackMidiInput:
    """A JACK MIDI input port ("jazzd in" of client "jazzd-in") read by a child process (see module docstring).

    Args:
        target: the virtual port's name, or (virtual=False) the JACK MIDI output
            port to connect to: its full name or a unique case-insensitive part of it.
        client_name: the JACK client name ("jazzd-in").
        virtual: open a port of jazzd's own for others to connect to (True), or
            connect it to `target` (its own port is then "jazzd in").
    Attributes:
        name: the port others connect to (virtual), or the connected source port.
        own_port: jazzd's own port, "client:port".
        unreadable: messages dropped as not MIDI; last_unreadable: the last one's bytes.
        frames: with frames=True, (arrival, cycle start in JACK microseconds, frame offset, message) of each message
            read, else None.
    Raises:
        PortError: if no JACK server answers, JACK-Client is missing, or the target
            matches no port or several.
    """

    backend = "jack"

    def __init__(self, target: str, client_name: str = "jazzd-in", virtual: bool = True, frames: bool = False):
        own = target if virtual else "jazzd in"
        # with frames: (arrival, its cycle's start in JACK microseconds, frame offset, message) of everything read,
        # for measuring where on the frame clock a message landed (the benchmarks and tests)
        self.frames: list | None = [] if frames else None
        self.cycles: list[int] = []  # with frames: every cycle's start, JACK microseconds
        self.own_port = f"{client_name}:{own}"  # until the child says which client name JACK gave it
        self.virtual = virtual
        self.kind = f"jack {'virtual port' if virtual else 'port'}"
        self.unreadable = 0
        self.last_unreadable = b""
        self._buffer = b""
        self._ended: str | None = None
        command = [sys.executable, "-m", "jazzd.live.jackinput", *(["--frames"] if frames else []), client_name, own,
                   *([] if virtual else [target])]
        try:
            self._proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          start_new_session=True)  # a Ctrl-C in the terminal is jazzd's to handle
        except OSError as err:
            raise PortError(f"cannot start jazzd's JACK input process ({err})") from None
        self._closed = False
        first = self._first_line()
        if first.startswith("ok "):
            port, _, source = first[3:].partition("\t")
            self.own_port = port  # "jazzd-in-01:jazzd in" beside another jazzd: JACK renames a taken client name
            self.name = source if not virtual else port
            return
        self.close()
        detail = first[len("error "):] if first.startswith("error ") else (first or "it ended without a word")
        raise PortError(f"cannot open MIDI input {target!r} on jack: {detail}")

    def _first_line(self) -> str:
        """The child's first line (read from the pipe itself, so nothing after it sits in a Python buffer)."""
        fd = self._proc.stdout.fileno()
        os.set_blocking(fd, False)
        deadline = time.monotonic() + START_TIMEOUT_S
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return f"no answer from the JACK input process in {START_TIMEOUT_S:g} s"
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode(errors="replace").strip()

    def poll(self) -> list[tuple[float, mido.Message]]:
        """Every message waiting: [(arrival time in monotonic seconds, mido message)], oldest first.

        Raises:
            PortError: once the input process has ended (the JACK server went away, or it died).
        """
        if self._ended is not None:
            raise PortError(self._ended)
        chunks = []
        while True:
            try:
                chunk = os.read(self._proc.stdout.fileno(), 65536)
            except BlockingIOError:
                break
            if not chunk:
                self._ended = self._end_reason()
                break
            chunks.append(chunk)
        out = []
        if chunks:
            data = self._buffer + b"".join(chunks)
            *lines, self._buffer = data.split(b"\n")
            for line in lines:
                out.extend(self._parse(line))
        if self._ended is not None and not out:
            raise PortError(self._ended)
        return out

    def _parse(self, line: bytes) -> list[tuple[float, mido.Message]]:
        kind, _, rest = line.decode(errors="replace").partition(" ")
        if kind == "gone":
            self._ended = server_gone_message(rest)
            return []
        if kind == "c":
            self.cycles.append(int(rest))
            return []
        if kind != "m":
            return []
        stamp, hexbytes, *frame = rest.split(" ")
        data = bytes.fromhex(hexbytes)
        messages = mido.parse_all(data)
        if not messages:
            self.unreadable += 1
            self.last_unreadable = data
        if self.frames is not None and frame:
            self.frames.extend((float(stamp), int(frame[0]), int(frame[1]), msg) for msg in messages)
        return [(float(stamp), msg) for msg in messages]

    def _end_reason(self) -> str:
        if self._ended is not None:
            return self._ended
        try:
            code = self._proc.wait(CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            code = None
        return f"jazzd's JACK input process ({self.own_port}) ended (exit code {code}): no more MIDI input"

    def _stop(self) -> None:
        try:
            self._proc.stdin.close()  # the child's cue to close its client
        except OSError:
            pass
        try:
            self._proc.wait(CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc.stdout.close()

    def close(self) -> None:
        """Close the port (the child closes its JACK client and exits). Safe to call twice."""
        if not self._closed:
            self._closed = True
            self._stop()


# -- the child process ---------------------------------------------------------------


def _emit(text: str) -> None:
    os.write(1, text.encode())


def shutdown_reporter(gone):
    """A JACK shutdown callback for a child: sets `gone` and says "gone <reason>" on stdout."""
    def shutdown(status, reason: str) -> None:
        gone.set()
        try:
            os.write(1, f"gone {reason or status}\n".encode())
        except OSError:
            pass
    return shutdown


def connect_matching(client, port, target: str, own_is_input: bool) -> str:
    """Connect a child's port to the one other client's MIDI port whose name matches `target` (a full name or a
    unique case-insensitive part; jazzd.live.ports.match_port). Returns the connected port's name.

    Raises:
        PortError: if no port or several match. jack.JackError: if the connection fails (the port went).
    """
    from jazzd.live.ports import match_port

    names = [p.name for p in client.get_ports(is_midi=True, is_output=own_is_input, is_input=not own_is_input)
             if not p.name.startswith(f"{client.name}:")]
    connected = match_port(names, target, "input" if own_is_input else "output")
    if own_is_input:
        client.connect(connected, port)
    else:
        client.connect(port, connected)
    return connected


def serve(client_name: str, port_name: str, source: str | None, frames: bool = False) -> int:
    """The child: open the port, write its messages to stdout until stdin closes. Returns the exit code."""
    try:
        import jack
    except (ImportError, OSError) as err:  # OSError: cffi finds no libjack
        _emit(f"error JACK-Client is not usable ({err})\n")
        return 2
    jack.set_error_function(lambda message: None)  # libjack's own lines; the parent says what went wrong
    jack.set_info_function(lambda message: None)
    try:
        client = jack.Client(client_name, no_start_server=True)
    except jack.JackError as err:
        _emit(f"error no JACK server answers ({err})\n")
        return 2
    port = client.midi_inports.register(port_name)
    rate = float(client.samplerate)
    gone = threading.Event()
    ready = threading.Event()  # nothing is written before the "ok" line
    dropped = [0]

    def process(frames: int) -> None:
        if not ready.is_set():
            return
        events = [(offset, bytes(data)) for offset, data in port.incoming_midi_events()]
        if frames:  # every cycle's start, for measuring on the frame clock
            _write(f"c {client.transport_query_struct()[1].usecs}\n".encode())
        if not events:
            return
        cycle = time.monotonic() - client.frames_since_cycle_start / rate
        usecs = client.transport_query_struct()[1].usecs  # JACK's clock at the cycle's start: frames are exact
        lines = [f"m {cycle + offset / rate:.6f} {data.hex()} {usecs} {offset}\n".encode() for offset, data in events
                 if data and data[0] not in IGNORED_STATUS]
        chunk = b""
        for line in lines:  # writes of at most PIPE_ATOMIC bytes: whole lines or nothing
            if len(chunk) + len(line) > PIPE_ATOMIC:
                _write(chunk)
                chunk = b""
            chunk += line
        if chunk:
            _write(chunk)

    def _write(chunk: bytes) -> None:
        try:
            os.write(1, chunk)
        except BlockingIOError:  # the parent is not reading: never block JACK's thread
            dropped[0] += 1
        except OSError:  # the parent is gone
            gone.set()

    client.set_process_callback(process)
    client.set_shutdown_callback(shutdown_reporter(gone))
    os.set_blocking(1, False)
    client.activate()
    connected = ""
    if source is not None:
        try:
            connected = connect_matching(client, f"{client.name}:{port_name}", source, own_is_input=True)
        except Exception as err:  # PortError (no match), jack.JackError (the port went)
            os.set_blocking(1, True)
            _emit(f"error {err}\n")
            client.deactivate()
            client.close()
            return 2
    os.set_blocking(1, True)
    _emit(f"ok {client.name}:{port_name}\t{connected}\n")
    os.set_blocking(1, False)
    ready.set()
    while not gone.is_set():  # until the parent closes stdin (or dies), or the server goes
        if select.select([0], [], [], 0.2)[0] and not os.read(0, 4096):
            break
    if gone.is_set():
        return 1
    try:
        client.deactivate()
        client.close()
    except jack.JackError:
        pass
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    with_frames = bool(args) and args[0] == "--frames"
    args = args[1:] if with_frames else args
    sys.exit(serve(args[0], args[1], args[2] if len(args) > 2 else None, with_frames))
