"""Shared test helpers: the project's paths, the real CLI, MIDI file reading, waiting on conditions,
and LiveRun, a Session driven by a fake clock (no threads, no ports, no sleeping)."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mido
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
METHENY = SHARED / "data" / "original_metheny.mid"
WJAZZD = SHARED / "data" / "wjazzd"
SOLO_MANIFEST = ROOT / "data" / "metheny_solo.toml"
DEFAULT_MODEL = ROOT / "models" / "default"
METHENY_MODEL = ROOT / "models" / "metheny"  # trained on data/metheny_guitar.toml
JAZZD = [sys.executable, "-m", "jazzd.cli"]
IN_CI = os.environ.get("CI", "").lower() == "true"
# jazzd's warning when the solo fell behind the clock: beats behind, the stretch skipped (from, to), notes skipped
FELL_BEHIND = r"fell (\S+) beats behind the clock: its notes from beat (\S+) to (\S+) skipped \((\d+)\)"


def jazzd(*args, env=None, cwd=None, timeout=180, **kwargs) -> subprocess.CompletedProcess:
    """Run the real CLI as a subprocess; returns the CompletedProcess (text mode)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([*JAZZD, *map(str, args)], capture_output=True, text=True, env=full_env,
                          cwd=cwd or ROOT, timeout=timeout, **kwargs)


def from_a_terminal() -> None:
    """preexec_fn for a jazzd a test stops by a signal: SIGINT and SIGHUP at their defaults, as in a process a
    terminal starts (a script's background job starts with SIGINT ignored, one under nohup with SIGHUP)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def wait_for(condition, timeout: float, interval: float = 0.02, what: str = "condition"):
    """Poll until condition() is truthy and return it; fail the test at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    value = condition()
    if value:
        return value
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def one_line_error(result, code, *fragments):
    """The CLI failed with exit code `code` and one last line "jazzd: error: ..." holding every fragment."""
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if "error" in line.lower() or "Traceback" in line]
    assert errors == lines[-1:], result.stderr  # one error line, last, no traceback
    assert lines[-1].startswith("jazzd: error: ")
    for fragment in fragments:
        assert fragment in lines[-1], lines[-1]


def read_notes(path):
    """(channel, note, onset beats, duration beats) of every note in a MIDI file, and the tempo."""
    midi = mido.MidiFile(path)
    notes, tempo = [], None
    for track in midi.tracks:
        tick, open_notes = 0, {}
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo":
                tempo = mido.tempo2bpm(msg.tempo)
            elif msg.type == "note_on" and msg.velocity > 0:
                open_notes[(msg.channel, msg.note)] = tick
            elif msg.type in ("note_off", "note_on"):
                start = open_notes.pop((msg.channel, msg.note))
                notes.append((msg.channel, msg.note, start / midi.ticks_per_beat, (tick - start) / midi.ticks_per_beat))
        assert not open_notes, "a note-on without its note-off"
    return midi, notes, tempo


def hanging_notes(messages) -> dict:
    """(channel, note) -> how many note-ons have no note-off, over a stream of mido messages."""
    sounding = {}
    for msg in messages:
        if msg.type == "note_on" and msg.velocity > 0:
            sounding[(msg.channel, msg.note)] = sounding.get((msg.channel, msg.note), 0) + 1
        elif msg.type in ("note_on", "note_off"):
            sounding[(msg.channel, msg.note)] = max(0, sounding.get((msg.channel, msg.note), 0) - 1)
    return {k: v for k, v in sounding.items() if v > 0}


def sounding_at_end(messages) -> dict:
    """(channel, note) -> count still sounding at the end of a stream, as a synth hears it: like
    hanging_notes, but All Notes Off (CC 123) or All Sound Off (CC 120) ends every note of its channel.

    For streams heard through JACK: a receiver that misses a cycle (an xrun on a loaded VM) loses
    what was sent in it, so one note-off lost mid-stream is the transport's, and jazzd's release at
    a stop (every note-off, then All Notes Off) still silences the synth.
    """
    sounding = {}
    for msg in messages:
        if msg.type == "control_change" and msg.control in (120, 123):
            sounding = {k: v for k, v in sounding.items() if k[0] != msg.channel}
        elif msg.type == "note_on" and msg.velocity > 0:
            sounding[(msg.channel, msg.note)] = sounding.get((msg.channel, msg.note), 0) + 1
        elif msg.type in ("note_on", "note_off"):
            sounding[(msg.channel, msg.note)] = max(0, sounding.get((msg.channel, msg.note), 0) - 1)
    return {k: v for k, v in sounding.items() if v > 0}


def check_silent_at_end(messages):
    """A stream heard through JACK ends with nothing sounding and with All Notes Off on each channel used."""
    sounding = sounding_at_end(messages)
    assert not sounding, f"notes left sounding, (channel, note): count {sounding}"
    used = {m.channel for m in messages if m.type == "note_on"}
    all_off = {m.channel for m in messages if m.type == "control_change" and m.control == 123}
    assert used <= all_off


def align_heard(heard: list, expected: list, start: int | None = None, lost_share: float = 0.1) -> list[int] | None:
    """Where a melody heard through JACK sits in the expected one: the index in `expected` of each
    heard item (in order), allowing items lost on the way (an xrun at the receiver) but no wrong
    or extra one; None if it does not fit.

    Args:
        heard, expected: sequences of comparable items (MIDI notes).
        start: the expected index the melody must begin at (items lost before it count); None: any.
        lost_share: how many expected items inside the heard stretch may be missing, as a share of heard.
    """
    if not heard:
        return None
    allowed = max(1, int(lost_share * len(heard)))
    starts = range(len(expected)) if start is None else range(start, min(start + allowed + 1, len(expected)))
    for i in starts:
        if expected[i] != heard[0]:
            continue
        indices, j, lost = [i], i + 1, 0 if start is None else i - start
        for item in heard[1:]:
            while j < len(expected) and expected[j] != item:
                j, lost = j + 1, lost + 1
            if j == len(expected) or lost > allowed:
                break
            indices.append(j)
            j += 1
        else:
            return indices
    return None


def check_released(messages):
    """Every note-on has its note-off, and All Notes Off came on each channel used (a stream nothing can lose:
    a file, a recording port)."""
    hanging = hanging_notes(messages)
    assert not hanging, f"notes left hanging, (channel, note): count {hanging}"
    used = {m.channel for m in messages if m.type == "note_on"}
    all_off = {m.channel for m in messages if m.type == "control_change" and m.control == 123}
    assert used <= all_off


def random_weights(n_values, n_a, layers=1, seed=0, conditioned=False):
    """LSTMWeights of the given shape with random values (no TensorFlow); conditioned: with the context's rows."""
    from jazzd.core import conditioning
    from jazzd.core.improviser import LSTMWeights

    rng = np.random.default_rng(seed)
    cell = lambda n_in: (rng.normal(0, 0.4, (n_in, 4 * n_a)), rng.normal(0, 0.4, (n_a, 4 * n_a)),  # noqa: E731
                         rng.normal(0, 0.1, 4 * n_a))
    upper = tuple(cell(n_a) for _ in range(layers - 1))
    first = cell(n_values + (conditioning.WIDTH if conditioned else 0))
    return LSTMWeights(*first, rng.normal(0, 0.4, (n_a, n_values)), rng.normal(0, 0.1, n_values), upper)


class RecordingPort:
    """A fake output that records (due_s, sent_s, message)."""

    def __init__(self):
        self.rows = []
        self.closed = False

    def send(self, msg, due_s):
        self.rows.append((due_s, time.monotonic(), msg))

    def close(self):
        self.closed = True


def pulse_events(start_s: float, bpm: float, beats: float):
    """ClockPulse events of a MIDI clock at a steady tempo, 24 a beat, from start_s."""
    from jazzd.live.events import ClockPulse

    period = 60.0 / bpm / 24
    return [ClockPulse(start_s + k * period) for k in range(int(round(beats * 24)))]


class LiveRun:
    """A live Session on a fake clock: input events at given times, every message the scheduler hands
    out recorded with its time and beat. Exact and instant: nothing sleeps, nothing runs on a thread.

    Args:
        config_text: TOML appended to a config naming the model (flags are not needed: write keys).
        model: a model directory. Default: the bundled one.
        bars: the session's bar limit.
        seed: the improviser seed. Default 1.
        clock: the clock (e.g. a fake followed transport); default the config's internal or MIDI clock.
    Attributes:
        sent: (due_s, beat or None, message) in sending order.
    """

    def __init__(self, config_text: str = "", model: Path = DEFAULT_MODEL, bars: int | None = None, seed=1,
                 tmp_path: Path | None = None, clock=None):
        from jazzd.config import load_config
        from jazzd.core.modeldir import load_model
        from jazzd.live.clock import MidiClock, TempoClock
        from jazzd.live.scheduler import Scheduler
        from jazzd.live.session import build_session

        path = (tmp_path or Path(os.environ.get("TMPDIR", "/tmp"))) / f"liverun-{os.getpid()}-{id(self)}.toml"
        # the session tests' comp is the pads style, the block chords they were written for (no bass, no
        # drums), unless the test sets [band] itself (tests/live/test_live_band.py)
        band = "" if "[band]" in config_text else '[band]\nstyle = "pads"\n'
        path.write_text(f'[model]\npath = "{model}"\n[improviser]\nseed = {seed}\n{band}{config_text}\n')
        self.config = load_config(path)
        path.unlink()
        self.model = _model_cache.get(model) or _model_cache.setdefault(model, load_model(model))
        bpm = self.config["clock.bpm"]
        if clock is None:
            clock = MidiClock(bpm) if self.config["clock.source"] == "midi" else TempoClock(bpm)
        self.clock = clock
        self.scheduler = Scheduler(self.clock)
        self.session, self.generators = build_session(self.config, self.model, self.clock, self.scheduler, seed, bars)
        self.sent: list[tuple[float, float | None, mido.Message]] = []
        self.now = 0.0
        self._started = False

    def start(self, now: float = 0.0):
        self.now = now
        self.session.start(now)
        self._started = True
        return self

    def run(self, until_s: float, events=()):
        """Advance the fake time to until_s, delivering events at their t_s on the way."""
        if not self._started:
            self.start(self.now)
        pending = sorted(events, key=lambda e: e.t_s)
        i = 0
        wake = self.now
        while True:
            next_event = pending[i].t_s if i < len(pending) else math.inf
            now = min(next_event, wake, self.scheduler.next_due_s(), until_s)
            now = max(now, self.now)
            self.now = now
            while i < len(pending) and pending[i].t_s <= now:
                self.session.handle(pending[i])
                i += 1
            wake = self.session.advance(now)
            self.sent.extend(self.scheduler.pop_due(now))
            if now >= until_s and i >= len(pending):
                break
        return self

    def release(self):
        """What a shutdown sends at once."""
        self.sent.extend((self.now, None, m) for m in self.scheduler.release())
        return self

    def messages(self, kind=None, channel=None):
        """(beat, message) handed out, optionally of one type and one channel (0-based)."""
        return [(beat, m) for _, beat, m in self.sent
                if (kind is None or m.type == kind) and (channel is None or getattr(m, "channel", None) == channel)]

    def note_ons(self, channel=None):
        """(beat, MIDI note) of every note-on handed out."""
        return [(round(beat, 6), m.note) for beat, m in self.messages("note_on", channel) if m.velocity > 0]


_model_cache: dict = {}
