"""JackMidiOutput: jazzd's JACK MIDI output, every message on its frame, from a child process that uses JACK-Client.

python-rtmidi hands each message to JACK when it is sent, and its JACK thread writes
everything at frame offset 0 of the next cycle (RtMidi's jackProcessOut): a note lands
at the start of the period after the sender woke, 0-5.3 ms late at 256 frames / 48 kHz,
and later still if the sender woke late. The session queues notes a lookahead ahead of
the playhead, so jazzd can do what a DAW's own track does: hand each message to JACK
ahead of time, with its time, and have it written at its frame offset in the cycle it
falls in. Every message then sounds a fixed latency after its due time (LATENCY_PERIODS
periods: 10.7 ms at 256 frames / 48 kHz), exactly, whatever Python's scheduler did, as
long as the message reached the child a period before that.

Why a child process: the writing is done in JACK-Client's process callback, Python on
JACK's real-time thread; in jazzd's process it would wait for the GIL behind the
session and the sender (the reason jazzd's JACK input is a child too,
jazzd.live.jackinput). The child has nothing else to run but the thread that reads
its stdin, and its garbage collector is off.

Times: the parent turns each due time (time.monotonic()) into JACK's clock, which on
Linux is CLOCK_MONOTONIC_RAW, the clock of the cycle start JACK reports to every
client (jack_position_t.usecs): the two are read together at each send. In the
callback, a message whose time falls in [cycle start, cycle start + one period) is
written at offset (time - cycle start) * frame rate; one found late goes at offset 0.

The protocol, lines on the child's stdin:

    m <time, JACK microseconds> <hex bytes>    a message, to be written at that time
    x                                          drop what waits (a stop or a panic: it is released at once)

and on its stdout:

    ok <own port> <TAB> <connected port, or nothing> <TAB> <frames per period> <frame rate>
    error <message>                            instead of ok; then it exits 2
    gone <reason>                              the JACK server went away; it exits 1

The child ends when its stdin closes, after writing what still waits.
"""

from __future__ import annotations

import collections
import heapq
import os
import select
import subprocess
import sys
import threading
import time

from jazzd.errors import PortError
from jazzd.live.clock import ClockOffset

LATENCY_PERIODS = 2  # every message sounds this many JACK periods after its due time
START_TIMEOUT_S = 30.0
CLOSE_TIMEOUT_S = 2.0
DRAIN_S = 1.0  # at the end: how long the child waits for the messages still due to be written


JACK_CLOCK = ClockOffset(lambda: time.clock_gettime_ns(time.CLOCK_MONOTONIC_RAW) / 1e3)


def jack_clock_us(monotonic_s: float) -> float:
    """A time.monotonic() time as JACK's clock reads it on Linux (CLOCK_MONOTONIC_RAW, microseconds)."""
    return JACK_CLOCK.other_us(monotonic_s)


def take_due(pending: list, cycle_us: float, frames: int, rate: float) -> tuple[list[tuple[int, bytes]], int]:
    """The messages of a heap that fall in one JACK cycle, with their frame offsets; they leave the heap.

    Args:
        pending: a heap of (time in JACK microseconds, sequence number, MIDI bytes).
        cycle_us: the cycle's start (jack_position_t.usecs). frames: its length. rate: frames a second.
    Returns:
        ([(frame offset 0..frames-1, bytes)], how many of them were late): offsets never decrease (JACK wants
        them in order), and a late message goes at the earliest offset it still can.
    """
    end_us = cycle_us + frames / rate * 1e6
    out, late, last = [], 0, 0
    while pending and pending[0][0] < end_us:
        at_us, _, data = heapq.heappop(pending)
        offset = int(round((at_us - cycle_us) * rate / 1e6))
        if offset < 0:
            late += 1
        offset = min(max(offset, last), frames - 1)
        last = offset
        out.append((offset, data))
    return out, late


class JackMidiOutput:
    """A JACK MIDI output port ("jazzd out" of client "jazzd") written frame by frame by a child process.

    Args:
        target: the virtual port's name, or (virtual=False) the JACK MIDI input port to connect to: its full name
            or a unique case-insensitive part of it.
        client_name: the JACK client name ("jazzd").
        virtual: open a port of jazzd's own for others to connect to (True), or connect it to `target` (its own
            port is then "jazzd out").
        latency_periods: how many JACK periods after its due time every message sounds.
    Attributes:
        name: the port others connect to (virtual), or the connected one. own_port: jazzd's own, "client:port".
        period_s: a JACK period. latency_s: the fixed latency. lead_s: how early the sender may hand a message
            over (the latency: with 2 periods, the child has it 3 periods before its cycle starts).
    Raises:
        PortError: if no JACK server answers, JACK-Client is missing, or the target matches no port or several.
    """

    backend = "jack"

    def __init__(self, target: str, client_name: str = "jazzd", virtual: bool = True,
                 latency_periods: int = LATENCY_PERIODS):
        own = target if virtual else "jazzd out"
        self.virtual = virtual
        self.kind = f"jack {'virtual port' if virtual else 'port'}"
        command = [sys.executable, "-m", "jazzd.live.jackoutput", client_name, own, str(latency_periods),
                   *([] if virtual else [target])]
        try:
            self._proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          start_new_session=True)  # jazzd's stop is jazzd's to handle
        except OSError as err:
            raise PortError(f"cannot start jazzd's JACK output process ({err})") from None
        self._lock = threading.Lock()
        self._closed = False
        first = self._first_line()
        if not first.startswith("ok "):
            self.close()
            detail = first[len("error "):] if first.startswith("error ") else (first or "it ended without a word")
            raise PortError(f"cannot open MIDI output {target!r} on jack: {detail}")
        port, connected, clock = first[3:].split("\t")
        frames, rate = clock.split()
        self.own_port = port
        self.name = port if virtual else connected
        self.frames, self.rate = int(frames), float(rate)
        self.period_s = self.frames / self.rate
        self.set_latency_periods(latency_periods)

    def set_latency_periods(self, periods: int) -> None:
        """Sound every message `periods` JACK periods after its due time; 0: as soon as it comes (the start of the
        next cycle, as python-rtmidi does: for a MIDI clock follower, whose notes wait for their pulse). Before
        the sender starts."""
        self.latency_s = periods * self.period_s
        self.lead_s = self.latency_s  # handed over this early: the child has it three periods before its cycle
        self._latency_us = self.latency_s * 1e6

    def _first_line(self) -> str:
        fd = self._proc.stdout.fileno()
        buffer, deadline = b"", time.monotonic() + START_TIMEOUT_S
        while b"\n" not in buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return f"no answer from the JACK output process in {START_TIMEOUT_S:g} s"
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buffer += chunk
        return buffer.partition(b"\n")[0].decode(errors="replace").strip()

    def send(self, msg, due_s: float) -> None:
        """Hand a message to the child, to sound latency_s after due_s (monotonic seconds).

        Raises:
            PortError: if the child is gone (the JACK server went away, or it died).
        """
        self.last_target_us = jack_clock_us(due_s) + self._latency_us  # for --timing-log
        self._write(f"m {self.last_target_us:.1f} {bytes(msg.bytes()).hex()}\n".encode())

    def drop_pending(self) -> None:
        """Drop what the child holds and has not written yet (before a stop's or a panic's release)."""
        self._write(b"x\n")

    def _write(self, line: bytes) -> None:
        try:
            with self._lock:
                os.write(self._proc.stdin.fileno(), line)
        except (BrokenPipeError, OSError, ValueError) as err:
            raise PortError(f"jazzd's JACK output process ({self.own_port if hasattr(self, 'own_port') else '?'}) "
                            f"is gone ({err}): the JACK server went away, or it died") from None

    def close(self) -> None:
        """Close the port once what was handed over is written (the child drains, then exits). Safe twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self._proc.stdin.close()
        except OSError:
            pass
        try:
            self._proc.wait(CLOSE_TIMEOUT_S + DRAIN_S)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc.stdout.close()


# -- the child process ---------------------------------------------------------------


def _emit(text: str) -> None:
    os.write(1, text.encode())


def serve(client_name: str, port_name: str, latency_periods: int, target: str | None) -> int:
    """The child: open the port, write what stdin hands over at its frames until stdin closes. Returns the exit
    code."""
    import gc

    from jazzd.live.jackinput import connect_matching, shutdown_reporter

    gc.disable()  # no collection pause in JACK's thread; the child makes little garbage
    try:
        import jack
    except (ImportError, OSError) as err:
        _emit(f"error JACK-Client is not usable ({err})\n")
        return 2
    jack.set_error_function(lambda message: None)
    jack.set_info_function(lambda message: None)
    try:
        client = jack.Client(client_name, no_start_server=True)
    except jack.JackError as err:
        _emit(f"error no JACK server answers ({err})\n")
        return 2
    port = client.midi_outports.register(port_name)
    rate = float(client.samplerate)
    inbox: collections.deque = collections.deque()  # append (reader) and popleft (callback) are thread-safe
    pending: list = []  # the heap the callback writes from
    gone = threading.Event()
    drained = threading.Event()
    closing = threading.Event()
    state = {"late": 0}

    def process(frames: int) -> None:
        port.clear_buffer()
        while inbox:
            item = inbox.popleft()
            if item is None:  # drop what waits
                pending.clear()
            else:
                heapq.heappush(pending, item)
        _, position = client.transport_query_struct()
        due, late = take_due(pending, position.usecs, frames, rate)
        state["late"] += late
        for k, (offset, data) in enumerate(due):
            try:
                port.write_midi_event(offset, data)
            except jack.JackError:  # this cycle's buffer is full: the rest at the next cycle's start
                for rest_offset, rest in due[k:]:
                    heapq.heappush(pending, (position.usecs, -1, rest))
                break
        if closing.is_set() and not pending and not inbox:
            drained.set()

    client.set_process_callback(process)
    client.set_shutdown_callback(shutdown_reporter(gone))
    client.activate()
    connected = ""
    if target is not None:
        try:
            connected = connect_matching(client, port, target, own_is_input=False)
        except Exception as err:  # PortError (no match), jack.JackError
            _emit(f"error {err}\n")
            client.deactivate()
            client.close()
            return 2
    _emit(f"ok {client.name}:{port_name}\t{connected}\t{client.blocksize} {rate:g}\n")
    sequence = 0
    buffer = b""
    while not gone.is_set():
        if not select.select([0], [], [], 0.2)[0]:
            continue
        chunk = os.read(0, 65536)
        if not chunk:
            break
        *lines, buffer = (buffer + chunk).split(b"\n")
        for line in lines:
            kind, _, rest = line.decode(errors="replace").partition(" ")
            if kind == "x":
                inbox.append(None)
            elif kind == "m":
                stamp, _, hexbytes = rest.partition(" ")
                try:
                    inbox.append((float(stamp), sequence, bytes.fromhex(hexbytes)))
                except ValueError:
                    continue
                sequence += 1
    if gone.is_set():
        return 1
    closing.set()
    drained.wait(DRAIN_S)
    time.sleep(2 * latency_periods * client.blocksize / rate)  # the last cycle's events, read by the receivers
    try:
        client.deactivate()
        client.close()
    except jack.JackError:
        pass
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(serve(args[0], args[1], int(args[2]), args[3] if len(args) > 3 else None))
