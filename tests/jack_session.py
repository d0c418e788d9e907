"""A test client on the JACK server that plays the keyboard and the DAW to `jazzd run` and hears it.

Every wait here is on a condition (a port, a connection, a log line, the process
having exited) with a deadline, never a fixed sleep racing jazzd's start-up.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import mido
import numpy as np
import pytest
import rtmidi

from helpers import DEFAULT_MODEL, JAZZD, ROOT, jazzd, read_notes, wait_for

KEYBOARD = "jazzd-test-kbd:keys"
LISTENER = "jazzd-test:in"
START_TIMEOUT_S = 90  # a loaded VM starts jazzd in seconds; this is only the deadline


def session_config(config: str = "", model: Path = DEFAULT_MODEL) -> str:
    """The config text a JackSession gives jazzd: the model, then the test's own TOML. The band plays the pads
    style (block chords on channel 2 at each chord: the tests place beat 0 by them, and they were written for
    them) unless the test sets [band] itself."""
    band = "" if "[band]" in config else '[band]\nstyle = "pads"\n'
    return f'[model]\npath = "{model}"\n{band}{config}\n'


def comp_chords(tmp_path: Path, config: str = "", bars: int = 4) -> list[tuple[float, frozenset]]:
    """(onset in beats, MIDI notes) of each comp chord jazzd plays with this config, from `jazzd generate`
    (the comp does not depend on the seed). Run it before the session: it takes seconds to load the model.
    """
    path, out = tmp_path / "comp.toml", tmp_path / "comp.mid"
    path.write_text(session_config(config))
    result = jazzd("generate", "--config", path, "--seed", 0, "--bars", bars, "-o", out)
    assert result.returncode == 0, result.stderr
    chords: dict[float, set] = {}
    for channel, note, onset, _ in read_notes(out)[1]:
        if channel == 1:
            chords.setdefault(onset, set()).add(note)
    return [(onset, frozenset(notes)) for onset, notes in sorted(chords.items())]


class JackUnavailable(RuntimeError):
    """No JACK server runs and jackd is not installed."""


def jack_answers() -> bool:
    """Whether a JACK server answers (never starts one)."""
    env = {**os.environ, "JACK_NO_START_SERVER": "1"}
    try:
        return subprocess.run(["jack_lsp"], capture_output=True, env=env, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextlib.contextmanager
def running_jack_server(period: int = 256, name: str | None = None, log_path: Path | None = None,
                        port_max: int | None = None):
    """The running JACK server, or `jackd --no-realtime -d dummy -r 48000 -p PERIOD` for the duration.

    Args:
        period: frames per period of a server started here.
        name: start a server of this name (clients find it through the
            JACK_DEFAULT_SERVER variable) even if another one runs.
        log_path: where a started server's output goes (for counting xruns).
        port_max: the server's port limit (jackd -p before -d; it sizes the shared
            memory every client maps). Default: jackd's.
    Yields:
        The jackd Popen started here, or None for a server that was already running.
    Raises:
        JackUnavailable: if no server runs and jackd is not installed.
    """
    if name is None and jack_answers():
        yield None
        return
    if shutil.which("jackd") is None:
        raise JackUnavailable("jackd is not installed (Debian package jackd2)")
    command = ["jackd", *(["-n", name] if name else []), *(["-p", str(port_max)] if port_max else []),
               "--no-realtime", "-d", "dummy", "-r", "48000", "-p", str(period)]
    with open(log_path or os.devnull, "w") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(jack_answers, 30, 0.1, "the JACK server to answer")
        yield server
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


def jack_ports() -> list[str]:
    return subprocess.run(["jack_lsp"], capture_output=True, text=True).stdout.splitlines()


def jack_connections() -> dict[str, list[str]]:
    """port -> the ports it is connected to (jack_lsp -c)."""
    out = subprocess.run(["jack_lsp", "-c"], capture_output=True, text=True).stdout.splitlines()
    connections, port = {}, None
    for line in out:
        if line.startswith((" ", "\t")):
            connections.setdefault(port, []).append(line.strip())
        else:
            port = line.strip()
            connections.setdefault(port, [])
    return connections


def sleep_until(t: float) -> None:
    """Sleep to a monotonic time, spinning the last millisecond."""
    while True:
        left = t - time.monotonic()
        if left <= 0:
            return
        time.sleep(left - 0.001) if left > 0.002 else None


class Receiver:
    """A test client's JACK input ("jazzd-test:in") that keeps every message with its arrival time.

    It reads the port the way jazzd does (jazzd.live.jackinput.JackMidiInput, a child
    process polled from a thread): a Python callback on JACK's thread in the test's own
    process would wait for the GIL and, on a loaded machine, make the test client miss
    JACK cycles and lose what jazzd sent in them.
    """

    def __init__(self, client_name: str = "jazzd-test", port_name: str = "in"):
        from jazzd.live.jackinput import JackMidiInput

        self.received: list[tuple[float, mido.Message]] = []
        self._port = JackMidiInput(port_name, client_name, frames=True)
        # (arrival, cycle start in JACK microseconds, frame offset, message) of each message, in order, and the
        # start of every cycle
        self.frames = self._port.frames
        self.cycles = self._port.cycles
        self.error: Exception | None = None  # why the port stopped, if it did before close()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        from jazzd.errors import PortError

        try:
            while not self._stop.wait(0.001):
                self.received.extend(self._port.poll())
        except PortError as err:  # the JACK server went away (a test or bench killing it)
            self.error = err

    def notes(self, channel: int | None = None) -> list[tuple[float, int]]:
        """(arrival time, MIDI note) of every note-on heard, on one channel (0-based) or all."""
        return [(t, m.note) for t, m in list(self.received)
                if m.type == "note_on" and m.velocity > 0 and (channel is None or m.channel == channel)]

    def wait_quiet(self, interval: float = 0.1) -> None:
        """Return once nothing has arrived for `interval` s: a sender's last messages cross JACK within a few periods."""
        count = -1
        while count != len(self.received):
            count = len(self.received)
            time.sleep(interval)

    @property
    def closed(self) -> bool:
        return self._stop.is_set()

    def close(self) -> None:
        """Take what is still queued and close the port (safe to call twice)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join()
        if self.error is None:
            self.received.extend(self._port.poll())
        self._port.close()


class LogReader:
    """Reads a process's stderr on a thread, so a test can wait for a line while it runs."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line)

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 30, what: str | None = None) -> re.Match:
        """The first line matching a regular expression, waited for."""
        regex = re.compile(pattern)
        return wait_for(lambda: next((m for line in list(self.lines) if (m := regex.search(line))), None),
                        timeout, 0.02, what or f"jazzd to log {pattern!r}")

    def join(self, timeout: float = 10) -> None:
        self._thread.join(timeout)


class JackSession:
    """jazzd as a subprocess, connected from its start to this client's keyboard and listener.

    Args:
        tmp_path: where the config file goes.
        config: extra TOML appended to a config that names the model.
        args: extra `jazzd run` flags.
        model: the model directory. Default: the bundled one.
    """

    def __init__(self, tmp_path: Path, config: str = "", *args: str, model: Path = DEFAULT_MODEL):
        self.keyboard = rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name="jazzd-test-kbd")
        self.keyboard.open_virtual_port("keys")
        self.senders: list = []  # threads that play into the keyboard port (stop()): stopped before it closes
        self.listener = Receiver()
        self.received = self.listener.received
        wait_for(lambda: KEYBOARD in jack_ports() and LISTENER in jack_ports(), 30, what="the test client's ports")
        self.config_path = tmp_path / "config.toml"
        self.config_path.write_text(session_config(config, model))
        self.zero: float | None = None  # beat 0's time, once first_chord() has placed it
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [*JAZZD, "run", "--config", str(self.config_path), "--backend", "jack", "--output", LISTENER,
             "--input", KEYBOARD, *args],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.log = LogReader(self.proc.stderr)

    @property
    def stderr(self) -> str:
        return self.log.text

    def wait_ready(self) -> None:
        """Wait until jazzd has opened both ports and connected them to this client's (it logs it then)."""
        self.log.wait_for(r"listening on ", START_TIMEOUT_S, "jazzd to open and connect its ports")
        connections = jack_connections()
        assert any(p.startswith("jazzd-in:") for p in connections.get(KEYBOARD, [])), connections
        assert any(p.startswith("jazzd:") for p in connections.get(LISTENER, [])), connections

    def send(self, *messages) -> None:
        """Send mido messages or raw byte lists from the keyboard, now."""
        for m in messages:
            self.keyboard.send_message(m.bytes() if isinstance(m, mido.Message) else list(m))

    def notes(self, channel: int):
        """(arrival time, MIDI note) of every note-on heard on a channel (0-based)."""
        return self.listener.notes(channel)

    def first_chord(self, timeout: float = START_TIMEOUT_S, spb: float | None = None,
                    comp: list | None = None) -> float:
        """Beat 0's time (time.monotonic() seconds), from the first comp chord (channel 2) heard: jazzd plays
        bar 1's chord on beat 0.

        Args:
            spb, comp: seconds per beat and the comp jazzd plays (`comp_chords`). With them the first chord
                heard is found in the comp by its notes, so bar 1's chord lost in an xrun at the listener
                (a fresh-clone run with the other core busy heard bar 2's first) does not move beat 0 a bar.
                Without them the first chord heard is taken as bar 1's.
        """
        first = wait_for(lambda: self.notes(1), timeout, 0.01, "jazzd's first chord")[0][0]
        time.sleep(0.1)  # the rest of that chord (its notes come in one cycle, or the next if it was late)
        if comp is None:
            self.zero = first
            return first
        heard = frozenset(n for t, n in self.notes(1) if t - first < 0.05)
        onset = next((o for o, notes in comp if notes == heard), None)
        if onset is None:  # some of the chord's notes lost too: the first chord holding what was heard
            onset = next((o for o, notes in comp if heard <= notes), None)
        assert onset is not None, f"the first chord heard {sorted(heard)} is none of jazzd's comp {comp}"
        self.zero = first - onset * spb
        return self.zero

    def send_until_logged(self, message, pattern: str, timeout: float = 30, every: float = 2.0,
                          what: str | None = None, send=None) -> float:
        """Send a message (mido or raw bytes) until jazzd logs a new line matching pattern, resent every `every`
        seconds: an xrun at the keyboard client or at jazzd's input loses what it carried, and a player
        turns the knob or presses play again (fresh-clone busy runs lost a CC, 47 xruns at jazzd-in, and a
        Start, 87). Returns the time.monotonic() of the last send. send: a callable that sends it instead (a
        test's MIDI clock sends its Start between two of its pulses).
        """
        regex = re.compile(pattern)
        count = lambda: sum(1 for line in list(self.log.lines) if regex.search(line))  # noqa: E731
        before, deadline = count(), time.monotonic() + timeout
        while True:
            sent_at = time.monotonic()
            send() if send is not None else self.send(message)
            resend = min(sent_at + every, deadline)
            while time.monotonic() < resend:
                if count() > before:
                    return sent_at
                time.sleep(0.02)
            if time.monotonic() >= deadline:
                pytest.fail(f"timed out after {timeout} s waiting for jazzd to log {pattern!r} ({what or message})")

    def control(self, cc: int, value: int, pattern: str, timeout: float = 30) -> None:
        """Send a control change until jazzd logs a new line matching pattern (see send_until_logged)."""
        self.send_until_logged(mido.Message("control_change", control=cc, value=value), pattern, timeout,
                               what=f"CC {cc} = {value}")

    def beat_zero(self, spb: float) -> float:
        """Beat 0's time, from every comp chord heard (chords start on beats) and the bar first_chord() placed
        (else the first chord heard): the first chord alone can be late (the graph reorders after the test
        connects, and a late cycle delivers its messages late)."""
        chords = np.array([t for t, _ in self.notes(1)])
        t0 = chords[0] if self.zero is None else self.zero
        phase = (chords - t0) / spb
        return t0 + float(np.median(phase - np.round(phase))) * spb

    def stop(self, sig=signal.SIGTERM) -> int:
        """Signal jazzd (if it still runs), wait for it and for its last messages; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(30)
        finally:
            self.proc.kill()
            self.log.join()
        quiet_from = time.monotonic()
        self.listener.wait_quiet()
        self.listener_quiet_s = time.monotonic() - quiet_from  # how long stop() waited after jazzd had exited
        return code

    def close(self) -> None:
        """Stop the test's senders (see `senders`), kill jazzd if it still runs and remove this client's ports
        (safe to call twice)."""
        for sender in self.senders:
            sender.stop()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if not self.listener.closed:
            self.listener.close()
        if self.keyboard is not None:
            self.keyboard.close_port()
            self.keyboard.delete()
            self.keyboard = None


def late_cycles(cycles, late_ms: float = 1.0, rate: float = 48000.0, frames_per_period: int = 256) -> set:
    """The starts (JACK microseconds) of the cycles that began more than late_ms after the one before ended, from a
    Receiver's `cycles`: the server itself was late (its dummy driver on a loaded VM), and whatever lands in such a
    cycle is that late on any clock, whoever sent it."""
    period_us = frames_per_period / rate * 1e6
    starts = sorted(cycles)
    return {b for a, b in zip(starts, starts[1:]) if b - a > period_us + late_ms * 1e3}


def frame_errors(frames, timing_log: Path, cycles, rate: float = 48000.0, frames_per_period: int = 256,
                 column: str = "jack_us"):
    """Where each note-on a sender sent landed on the JACK frame clock against its target time, in frames
    (positive: late), from a Receiver's `frames` and `cycles` and the sender's log (jazzd's `--timing-log`, whose
    jack_us is the due time plus the latency it states, or bench/reference_sender.py's, whose jack_us is the due
    time).

    A note-on heard is matched to the one sent with the same bytes whose target is nearest. Targets are on JACK's
    clock (CLOCK_MONOTONIC_RAW) as the sender turned them when it sent them (CLOCK_MONOTONIC drifts from it by
    about a microsecond a second here: turned afterwards, a frame off).

    Returns:
        (errors in frames, how many were left out as the server's): a note whose target fell between the end of
        one cycle and the start of the next where the server began that next cycle late (more than 2 frames after
        the last one ended: the dummy driver on a loaded VM) could land nowhere on time, whoever sent it.
    """
    import bisect
    import csv

    targets: dict[str, list[float]] = {}
    with open(timing_log, newline="") as f:
        for row in csv.DictReader(f):
            if int(row["bytes"][:2], 16) & 0xF0 == 0x90 and int(row["bytes"][4:6], 16) > 0:
                targets.setdefault(row["bytes"], []).append(float(row[column]))
    starts = sorted(cycles)
    period_us = frames_per_period / rate * 1e6
    slack_us = 2 / rate * 1e6
    errors, servers = [], 0
    for _, cycle_us, offset, msg in frames:
        if msg.type != "note_on" or not msg.velocity:
            continue
        candidates = targets.get(bytes(msg.bytes()).hex())
        if not candidates:
            continue
        heard_us = cycle_us + offset / rate * 1e6
        target = min(candidates, key=lambda t: abs(t - heard_us))
        if target < cycle_us:
            k = bisect.bisect_left(starts, cycle_us)
            before = starts[k - 1] if k > 0 else None
            if before is not None and cycle_us - before > period_us + slack_us and target >= before + period_us:
                servers += 1
                continue
        errors.append(offset - (target - cycle_us) * rate / 1e6)
    return np.array(errors), servers


def namespace_available() -> bool:
    """Whether a network namespace of its own can be made here (unshare -rn) and its loopback brought up (ip)."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    return subprocess.run(["unshare", "-rn", "sh", "-c", "ip link set lo up"], capture_output=True).returncode == 0


class LinkPeer:
    """The test peer and jazzd in their namespace (see tests/link_peer.py), spoken to line by line."""

    def __init__(self, bpm: float, log_path, command):
        self.log_path = log_path
        script = 'ip link set lo up && exec "$0" "$@"'
        self.proc = subprocess.Popen(["unshare", "-rn", "sh", "-c", script, sys.executable,
                                      str(ROOT / "tests" / "link_peer.py"), str(bpm), str(log_path), "--", *command],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.ask(None) == "ready"

    def ask(self, request: str | None) -> str:
        if request is not None:
            self.proc.stdin.write(request + "\n")
            self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def line(self, request: str = "line") -> tuple[float, float, float, bool]:
        """(tempo, Link microseconds, beat there, playing) of the session's timeline after a request."""
        answer = self.ask(request).split()
        assert answer[0] == "line", answer
        return float(answer[1]), float(answer[2]), float(answer[3]), answer[4] == "1"

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(60)
        self.proc.stdout.close()


def beat_of(us: float, timeline) -> float:
    tempo, ref_us, ref_beat, _ = timeline
    return ref_beat + (us - ref_us) / 60e6 * tempo


def beat_of(us: float, timeline) -> float:
    """The Link session's beat at Link time `us` (microseconds) by a LinkPeer line (tempo, us, beat, playing)."""
    tempo, ref_us, ref_beat, _ = timeline
    return ref_beat + (us - ref_us) / 60e6 * tempo


class TimebaseMaster:
    """A JACK client that is the transport's timebase master: 4/4 at a tempo it can change, beats from frames.

    Attributes:
        cycles: (cycle start in JACK microseconds, beat there, BPM) of the rolling cycles, as any JACK client
            reads them (jack_transport_query, polled every 2 ms on a thread; the timebase callback itself fills in
            the position of the cycle to come, with the usecs of the one that runs).
    """

    TICKS = 1920.0

    def __init__(self, bpm: float):
        import jack

        self.jack = jack
        self.client = jack.Client("jazzd-test-master", no_start_server=True)
        self.rate, self.period_us = self.client.samplerate, self.client.blocksize / self.client.samplerate * 1e6
        self.lock = threading.Lock()
        self.anchor = (0, 0.0, bpm)  # (frame, beat there, BPM)
        self.cycles: list[tuple[int, float, float]] = []
        self.client.set_timebase_callback(self._timebase, conditional=False)
        self.client.activate()
        self.client.transport_stop()
        self.client.transport_frame = 0
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def beat_at_frame(self, frame: int) -> float:
        frame0, beat0, bpm = self.anchor
        return beat0 + (frame - frame0) / self.rate * bpm / 60.0

    def _timebase(self, state, blocksize, pos, new_pos):
        with self.lock:
            beat = self.beat_at_frame(pos.frame)
            bpm = self.anchor[2]
        pos.valid = self.jack.POSITION_BBT
        pos.beats_per_minute, pos.beats_per_bar, pos.beat_type, pos.ticks_per_beat = bpm, 4.0, 4.0, self.TICKS
        pos.bar, pos.beat = int(beat // 4) + 1, int(beat % 4) + 1
        pos.tick, pos.bar_start_tick = int((beat % 1) * self.TICKS), 0.0

    def _read(self):
        while not self._stop.wait(0.002):
            state, pos = self.client.transport_query()
            if state != self.jack.ROLLING or "bar" not in pos:
                continue
            beat = (pos["bar"] - 1) * 4 + pos["beat"] - 1 + pos["tick"] / self.TICKS
            if not self.cycles or self.cycles[-1][0] != pos["usecs"]:
                self.cycles.append((pos["usecs"], beat, pos["beats_per_minute"]))

    def set_bpm(self, bpm: float) -> None:
        frame = self.client.transport_frame
        with self.lock:
            self.anchor = (frame, self.beat_at_frame(frame), bpm)

    def locate_beat(self, beat: float) -> None:
        with self.lock:
            frame0, beat0, bpm = self.anchor
            frame = round(frame0 + (beat - beat0) * 60.0 / bpm * self.rate)
        self.client.transport_frame = max(0, frame)

    def beat_at_us(self, us: float) -> float | None:
        """The transport's beat at a JACK time, from the last cycle read before it (None if none was read in the
        4 periods before it: not rolling then)."""
        starts = [c[0] for c in self.cycles]
        k = int(np.searchsorted(starts, us, side="right")) - 1
        if k < 0:
            return None
        start, beat, bpm = self.cycles[k]
        if us - start > 4 * self.period_us:
            return None
        return beat + (us - start) / 60e6 * bpm

    def close(self):
        self._stop.set()
        self._reader.join()
        self.client.deactivate()
        self.client.close()
