"""Daemon: `jazzd run`, the improviser playing live on the beat clock.

Three threads: the main thread waits for a signal or an error; the improviser
thread keeps the scheduler's queue at least `lookahead_beats` ahead of the
playhead (stepping the LSTM, realizing values, adding the comp); the scheduler's
sender thread sends each message at its time. SIGINT and SIGTERM set one event;
a `finally:` stops both threads, sends a note-off for every sounding note and
All Notes Off on every channel used, and closes the port.
"""

from __future__ import annotations

import csv
import logging
import signal
import threading
import time
from pathlib import Path

import mido

from jazzd.clock import TempoClock
from jazzd.config import Config
from jazzd.modeldir import load_model
from jazzd.ports import open_output
from jazzd.realizer import note_name
from jazzd.scheduler import Scheduler
from jazzd.solo import SoloEvent, comp_notes, make_soloist

log = logging.getLogger(__name__)

PREROLL_S = 0.05  # from the first values queued to beat 0
MAX_SLEEP_S = 0.25  # the improviser thread looks at the clock at least this often


class BarLog:
    """Collects the notes of each bar and logs one line per bar: bar, chords, notes."""

    def __init__(self, progression):
        self.progression = progression
        self.bar = 0
        self.notes: list[str] = []

    def add(self, event: SoloEvent) -> None:
        bar = int(event.onset // self.progression.beats_per_bar)
        while bar > self.bar:
            self.flush()
        if event.note is not None:
            self.notes.append(note_name(event.note.pitch))

    def flush(self) -> None:
        start = self.bar * self.progression.beats_per_bar
        chords = [str(s.chord or "N.C.") for _, s in
                  self.progression.segments_between(start, start + self.progression.beats_per_bar)]
        log.info("bar %d | %s | %s", self.bar + 1, " ".join(chords), " ".join(self.notes) or "(rest)")
        self.bar += 1
        self.notes = []


class Daemon:
    """The live improviser: model, harmony, clock, scheduler and port, wired together.

    Args:
        config: checked settings (jazzd.config).
        bars: stop by itself after this many bars (None: run until a signal).
        timing_log: write (due, sent) seconds of every message to this CSV at exit.
    Raises:
        ModelError, ConfigError, PortError: while setting up, before any note.
    """

    def __init__(self, config: Config, bars: int | None = None, timing_log: Path | None = None):
        self.config = config
        self.bars = bars
        self.timing_log = timing_log
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self.model = load_model(config.path_of("model.path"))
        self.progression = config.progression()
        self.seed = config["improviser.seed"]
        self.soloist = make_soloist(
            self.model, self.progression, temperature=config["improviser.temperature"], seed=self.seed,
            low=config["melody.low"], high=config["melody.high"], velocity=config["melody.velocity"])
        self.melody_channel = config["melody.channel"] - 1
        self.comp_channel = config["comp.channel"] - 1 if config["comp.enabled"] else None
        self.lookahead = config["scheduler.lookahead_beats"]
        self.beats_per_bar = self.progression.beats_per_bar
        self.end_beat = None if bars is None else bars * self.beats_per_bar
        self.clock = TempoClock(config["clock.bpm"])
        self.port = None
        self.scheduler: Scheduler | None = None
        self.bar_log = BarLog(self.progression)
        self._comp_until = 0.0

    # -- the improviser thread ---------------------------------------------------

    def _fill(self, playhead: float) -> None:
        """Generate values until the horizon is lookahead beats past the playhead."""
        target = playhead + self.lookahead
        if self.end_beat is not None:
            target = min(target, self.end_beat)
        while self.soloist.horizon < target and not self.stop_event.is_set():
            event = self.soloist.next_event()
            self.bar_log.add(event)
            note = event.note
            if note is not None:
                if self.end_beat is not None and note.end > self.end_beat:
                    note = type(note)(note.onset, self.end_beat - note.onset, note.pitch, note.velocity)
                self.scheduler.schedule_note(note, self.melody_channel)
        if self.comp_channel is not None and target > self._comp_until:
            for chord_note in comp_notes(self.progression, self._comp_until, target, self.config["comp.velocity"]):
                self.scheduler.schedule_note(chord_note, self.comp_channel)
            self._comp_until = target

    def _improvise(self) -> None:
        try:
            while not self.stop_event.is_set():
                now = time.monotonic()
                playhead = self.clock.beat_at(now)
                if self.end_beat is not None and playhead >= self.end_beat:
                    self.stop_event.set()  # the last note-offs are due at end_beat: done
                    return
                self._fill(playhead)
                wake = self.clock.seconds_at(float(self.soloist.horizon) - self.lookahead)
                self.stop_event.wait(min(max(wake - now, 0.005), MAX_SLEEP_S))
        except BaseException as err:  # stop everything; the main thread releases the notes
            self.error = err
            self.stop_event.set()

    # -- the main thread -----------------------------------------------------------

    def _open(self) -> None:
        config = self.config
        self.port = open_output(config["midi.output"], config["midi.backend"], self.clock,
                                client_name=config["midi.client_name"], port_name=config["midi.output_port"],
                                fallback_file=str(config.path_of("midi.fallback_file")), flush_beats=self.beats_per_bar)
        self.scheduler = Scheduler(self.port, self.clock, record_timing=self.timing_log is not None)
        for key, channel in (("melody.program", self.melody_channel), ("comp.program", self.comp_channel)):
            if channel is not None and config[key] >= 0:
                self.scheduler.schedule(0.0, mido.Message("program_change", channel=channel, program=config[key]))

    def run(self, install_signals: bool = True) -> int:
        """Play until SIGINT/SIGTERM, stop_event, the bar limit or an error.

        Returns:
            0 after a clean stop.
        Raises:
            PortError: if the output cannot be opened; any error of the
                improviser or sender thread, after every note is released.
        """
        if install_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda signum, frame: self.stop_event.set())
        self._open()
        worker = threading.Thread(target=self._improvise, name="jazzd-improviser", daemon=True)
        try:
            self._fill(0.0)  # the first values are queued before beat 0 is set
            self.clock.start_at(time.monotonic() + PREROLL_S)
            seed = "random" if self.seed is None else self.seed
            log.info("playing to %s (%s) at %g BPM over %s; model %s (n_values %d), temperature %g, seed %s",
                     self.port.name, self.port.kind, self.clock.bpm, self.progression.lead_sheet.strip(),
                     self.config["model.path"], self.model.n_values, self.soloist.improviser.temperature, seed)
            self.scheduler.start()
            worker.start()
            while not self.stop_event.wait(0.05):
                if self.scheduler.error is not None:
                    self.error = self.scheduler.error
                    break
            if self.end_beat is not None and self.error is None:
                # let the sender play out the last bar's note-offs
                deadline = self.clock.seconds_at(self.end_beat) + 0.05
                while time.monotonic() < deadline and self.scheduler.pending() and self.scheduler.error is None:
                    time.sleep(0.01)
        finally:
            self.stop_event.set()
            if worker.is_alive():
                worker.join(1.0)
            if self.bar_log.notes:
                self.bar_log.flush()
            self.scheduler.stop()
            self.scheduler.release()
            self.port.close()
            self._write_timing()
            log.info("stopped after %d messages; every note released", self.scheduler.sent)
        if self.error is not None:
            raise self.error
        return 0

    def _write_timing(self) -> None:
        if self.timing_log is None or self.scheduler.timing is None:
            return
        with open(self.timing_log, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["due_s", "sent_s", "type"])
            writer.writerows(self.scheduler.timing)
