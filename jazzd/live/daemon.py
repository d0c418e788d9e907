"""Daemon: `jazzd run`, the improviser playing live on the beat clock.

Four threads:
- main: waits for a signal, the bar limit or an error, then shuts down;
- improviser (this module's worker): owns the LSTM state, the soloist and the
  interplay; it applies what the listener hands over (player notes, controls,
  transport) and keeps the scheduler's queue `lookahead_beats` ahead of the
  playhead (solo values, realized, with feel; the comp);
- listener (jazzd.live.listener): sorts MIDI input; never blocks anything;
- sender (jazzd.live.scheduler): sends each message at its time.

SIGINT and SIGTERM set one event; a `finally:` stops the threads, sends a
note-off for every sounding note and All Notes Off on every channel used,
closes the ports and saves the state file when one is configured.
"""

from __future__ import annotations

import csv
import logging
import math
import queue
import signal
import sys
import threading
import time
from pathlib import Path

import mido

from jazzd.live.clock import MidiClock, TempoClock
from jazzd.config import Config
from jazzd.live.controls import ControlMap
from jazzd.core.harmony import LiveHarmony
from jazzd.live.interplay import Answer, Interplay, Interrupt, Prime
from jazzd.live.listener import Listener
from jazzd.core.modeldir import load_model
from jazzd.live.ports import open_input, open_output
from jazzd.core.realizer import Note, note_name
from jazzd.live.scheduler import Scheduler
from jazzd.core.solo import SoloEvent, comp_notes, from_config
from jazzd.live.state import load_state, model_digest, restore_generators, save_state

log = logging.getLogger(__name__)

PREROLL_S = 0.05  # from the first values queued to the first beat
MAX_SLEEP_S = 0.05  # the improviser thread looks at the clock and the player at least this often
SWITCH_INTERVAL_S = 0.0005  # hand the GIL over quickly, so a busy thread cannot delay the sender


class BarLog:
    """One log line per bar as the playhead passes it: bar, chords, notes (or why it is silent)."""

    def __init__(self, harmony, beats_per_bar: int, first_bar: int = 0):
        self.harmony = harmony
        self.beats_per_bar = beats_per_bar
        self.bar = first_bar
        self.notes: dict[int, list[str]] = {}

    def add(self, event: SoloEvent, muted: bool) -> None:
        if event.note is not None and not muted:
            bar = int(math.floor(event.onset / self.beats_per_bar))
            self.notes.setdefault(bar, []).append(note_name(event.note.pitch))

    def passed(self, playhead: float, silent_why: str = "(rest)") -> None:
        """Log every bar that ended before the playhead."""
        while playhead >= (self.bar + 1) * self.beats_per_bar:
            start = self.bar * self.beats_per_bar
            chords = [str(s.chord or "N.C.") for _, s in self.harmony.segments_between(start, start + self.beats_per_bar)]
            if not chords:
                chords = [str(self.harmony.chord_at(start))]
            notes = self.notes.pop(self.bar, None)
            log.info("bar %d | %s | %s", self.bar + 1, " ".join(chords), " ".join(notes) if notes else silent_why)
            self.bar += 1

    def restart(self, bar: int) -> None:
        self.bar = bar
        self.notes.clear()


class Daemon:
    """The live improviser: model, harmony, clock, input, scheduler and ports, wired together.

    Args:
        config: checked settings (jazzd.config).
        bars: stop by itself after this many bars (None: run until a signal).
        timing_log: write (due, sent) seconds of every message to this CSV at exit.
    Raises:
        ModelError, ConfigError: while setting up, before any port is opened.
    """

    def __init__(self, config: Config, bars: int | None = None, timing_log: Path | None = None):
        self.config = config
        self.bars = bars
        self.timing_log = timing_log
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self.model_path = config.path_of("model.path")
        self.model = load_model(self.model_path)
        self.seed = config["improviser.seed"]
        self.harmony, self.soloist, self.feel, self.generators = from_config(config, self.model, self.seed)
        self.improviser = self.soloist.improviser
        self.beats_per_bar = self.harmony.beats_per_bar
        self.melody_channel = config["melody.channel"] - 1
        self.comp_channel = config["comp.channel"] - 1 if config["comp.enabled"] else None
        self.lookahead = config["scheduler.lookahead_beats"]
        if config["clock.source"] == "midi":
            self.clock = MidiClock(config["clock.bpm"])
        else:
            self.clock = TempoClock(config["clock.bpm"])
        self.interplay = Interplay(
            config["input.mode"], self.harmony, self.beats_per_bar, self.lookahead,
            config["input.phrase_end_beats"], config["input.trade_bars"], config["input.answer_bars"],
            config["input.interrupt"])
        control_channel = config["controls.channel"]
        self.controls = ControlMap(
            {name: config[f"controls.{name}"] for name in ("temperature", "mute", "panic", "reset", "tempo", "mode")},
            control_channel - 1 if control_channel else None)
        self.events: queue.Queue = queue.Queue()
        self.muted = False
        self.primes: list[Prime] = []
        self.start_beat = 0.0
        self.end_beat: float | None = None
        self._comp_until = 0.0
        self.state_file = config.path_of("state.file") if config["state.file"] else None
        self.port = None
        self.input_port = None
        self.listener: Listener | None = None
        self.scheduler: Scheduler | None = None
        self.bar_log = BarLog(self.harmony, self.beats_per_bar)

    # -- the improviser thread ---------------------------------------------------

    def _schedule(self, note: Note, channel: int) -> None:
        if not self.muted:
            self.scheduler.schedule_note(note, channel)

    def _generate(self, until: float, cut: float | None) -> None:
        """Step the soloist until its horizon reaches `until`; notes end by `cut`."""
        while self.soloist.horizon < until and not self.stop_event.is_set():
            while self.primes and self.primes[0].at_beat <= self.soloist.horizon:
                prime = self.primes.pop(0)
                fed = self.improviser.prime(prime.values)
                log.debug("primed on %d values of the player's at beat %.3f: %s", fed, self.soloist.horizon,
                          " ".join(prime.values))
            event = self.soloist.next_event()
            self.bar_log.add(event, self.muted)
            note = event.note
            if log.isEnabledFor(logging.DEBUG):
                log.debug("beat %.3f %s %s -> %s", float(event.onset), event.chord, event.value,
                          note_name(note.pitch) if note else "rest")
            if note is None:
                continue
            if cut is not None and note.end > cut:
                if note.onset >= cut:
                    continue
                note = Note(note.onset, cut - note.onset, note.pitch, note.velocity)
            self._schedule(self.feel.perform(note), self.melody_channel)

    def _fill(self, playhead: float) -> None:
        """Generate values and comp until lookahead beats past the playhead."""
        target = playhead + self.lookahead
        if self.end_beat is not None:
            target = min(target, self.end_beat)
        bpb = self.beats_per_bar
        if self.interplay.mode == "trade":
            answer = self.interplay.answer
            if answer is not None and self.soloist.horizon < answer.end:
                if self.soloist.horizon < answer.start:
                    self.soloist.horizon = answer.start
                cut = answer.end if self.end_beat is None else min(answer.end, self.end_beat)
                self._generate(min(target, answer.end), cut)
        else:
            if self.soloist.horizon < playhead:  # back from silence (a trade turn, a stopped transport): next bar line
                self.soloist.horizon = math.ceil(playhead / bpb - 1e-9) * bpb
            self._generate(target, self.end_beat)
        if self.comp_channel is not None and target > self._comp_until:
            for chord_note in comp_notes(self.harmony, self._comp_until, target, self.config["comp.velocity"]):
                self._schedule(chord_note, self.comp_channel)
            self._comp_until = target

    def _apply(self, action) -> None:
        if isinstance(action, Prime):
            self.primes.append(action)
            self.primes.sort(key=lambda p: p.at_beat)
        elif isinstance(action, Answer):
            self.soloist.previous = action.previous
            log.info("answering the player's phrase: bars %d-%d",
                     action.start // self.beats_per_bar + 1, action.end // self.beats_per_bar)
        elif isinstance(action, Interrupt):
            self.scheduler.truncate(self.melody_channel, action.at_beat)
            log.info("interrupted by the player at beat %.2f", action.at_beat)

    def _control(self, name: str, value, cc: int, playhead: float) -> None:
        if name == "temperature":
            self.improviser.temperature = value
            log.info("temperature %.2f (CC %d)", value, cc)
        elif name == "mute":
            if value != self.muted:
                self.muted = value
                if value:
                    self.scheduler.panic()
                log.info("%s (CC %d)", "muted" if value else "unmuted", cc)
        elif name == "panic":
            if value:
                log.info("panic: all notes off (CC %d)", cc)
        elif name == "reset":
            if value:
                self.improviser.reset()
                log.info("a and c reset to zeros (CC %d)", cc)
        elif name == "tempo":
            if isinstance(self.clock, TempoClock):
                self.clock.set_bpm(value)
                self.scheduler.wake()
                log.info("tempo %g BPM (CC %d)", value, cc)
            else:
                log.info("tempo CC %d ignored: following MIDI clock", cc)
        elif name == "mode":
            if value != self.interplay.mode:
                self.interplay.set_mode(value, playhead)
                self.primes.clear()
                log.info("input mode %s (CC %d)", value, cc)

    def _transport(self, kind: str) -> None:
        if kind == "stop":
            self.scheduler.clear()
            self.interplay.set_mode(self.interplay.mode, self.clock.position_beats)
            self.primes.clear()
            log.info("MIDI clock: stop at beat %.2f", self.clock.position_beats)
            return
        position = self.clock.position_beats
        self.scheduler.clear()
        self.soloist.horizon = position
        self._comp_until = position
        self.bar_log.restart(int(position // self.beats_per_bar))
        self.interplay.set_mode(self.interplay.mode, position)
        self.primes.clear()
        log.info("MIDI clock: %s at beat %.2f", kind, position)
        self._fill(position)  # queue the first notes before the first pulse
        self.scheduler.wake()

    def _handle(self, item, now: float) -> None:
        kind = item[0]
        if kind == "note":
            _, beat, pitch, on = item
            (self.interplay.note_on if on else self.interplay.note_off)(beat, pitch)
        elif kind == "control":
            self._control(item[1], item[2], item[3], self.clock.beat_at(now))
        elif kind == "transport":
            self._transport(item[1])

    def _improvise(self) -> None:
        try:
            while not self.stop_event.is_set():
                now = time.monotonic()
                wait = MAX_SLEEP_S
                if self.clock.running:
                    wake = self.clock.seconds_at(self.soloist.horizon - self.lookahead)
                    wait = min(max(wake - now, 0.002), MAX_SLEEP_S)
                try:
                    item = self.events.get(timeout=wait)
                    self._handle(item, time.monotonic())
                    while True:
                        self._handle(self.events.get_nowait(), time.monotonic())
                except queue.Empty:
                    pass
                self._tick(time.monotonic())
        except BaseException as err:  # stop everything; the main thread releases the notes
            self.error = err
            self.stop_event.set()

    def _tick(self, now: float) -> None:
        if isinstance(self.clock, MidiClock) and self.clock.timed_out(now):
            log.warning("MIDI clock stopped arriving for more than two beats: treating it as Stop")
            self.scheduler.panic()
            self._transport("stop")
        if not self.clock.running:
            return
        playhead = self.clock.beat_at(now)
        silent = "(listening)" if self.interplay.mode == "trade" else "(muted)" if self.muted else "(rest)"
        self.bar_log.passed(playhead, silent)
        if self.end_beat is not None and playhead >= self.end_beat:
            self.stop_event.set()  # the last note-offs are due at end_beat: done
            return
        for action in self.interplay.advance(playhead):
            self._apply(action)
        self._fill(playhead)

    # -- the main thread -----------------------------------------------------------

    def _open(self) -> None:
        config = self.config
        self.port = open_output(config["midi.output"], config["midi.backend"], self.clock,
                                client_name=config["midi.client_name"], port_name=config["midi.output_port"],
                                fallback_file=str(config.path_of("midi.fallback_file")), flush_beats=self.beats_per_bar)
        self.scheduler = Scheduler(self.port, self.clock, record_timing=self.timing_log is not None)
        if isinstance(self.clock, MidiClock):
            self.clock.on_run = self.scheduler.wake  # beat 0 is due the moment its pulse arrives
        chord_channel = config["input.chord_channel"]
        self.listener = Listener(
            self.clock, self.events, self.scheduler,
            midi_clock=self.clock if isinstance(self.clock, MidiClock) else None,
            live_harmony=self.harmony if isinstance(self.harmony, LiveHarmony) else None,
            controls=self.controls, chord_channel=chord_channel - 1 if chord_channel else None,
            split_note=config["input.split_note"])
        self.input_port = open_input(config["midi.input"], getattr(self.port, "backend", None),
                                     client_name=config["midi.input_client_name"], port_name=config["midi.input_port"])
        if self.input_port is None:
            needs = [k for k, v in (("input.mode", config["input.mode"] != "off"),
                                    ("clock.source", config["clock.source"] == "midi"),
                                    ("harmony.source", config["harmony.source"] == "live")) if v]
            if needs:
                log.warning("no MIDI input (the output is %s), so [%s] %s = %r has nothing to listen to",
                            self.port.kind, *needs[0].split("."), config[needs[0]])
        for key, channel in (("melody.program", self.melody_channel), ("comp.program", self.comp_channel)):
            if channel is not None and config[key] >= 0:
                # at the first beat, ahead of its notes (program changes sort first)
                self.scheduler.schedule(self.start_beat, mido.Message("program_change", channel=channel, program=config[key]))

    def _resume(self) -> None:
        if self.state_file is None:
            return
        state, why = load_state(self.state_file, model_digest(self.model_path),
                                (self.model.weights.layers, self.model.n_a))
        log.info("state: %s", why)
        if state is None:
            return
        self.improviser.a, self.improviser.c = state["a"], state["c"]
        last = state.get("last")
        self.improviser.last = int(last) if last is not None and 0 <= int(last) < self.model.n_values else None
        restore_generators(self.generators, state.get("rng", {}))
        self.soloist.previous = state.get("previous")
        if isinstance(self.clock, TempoClock):
            # resume at the bar line where it stopped; a value that was crossing it keeps its place
            bpb = self.beats_per_bar
            self.start_beat = float(math.ceil(max(0.0, state["beat"]) / bpb - 1e-6) * bpb)
            horizon = float(state.get("horizon", self.start_beat))
            in_bar = self.start_beat <= horizon < self.start_beat + bpb
            self.soloist.horizon = horizon if in_bar else self.start_beat
            self._comp_until = self.start_beat
            self.bar_log.restart(int(self.start_beat // bpb))

    def _save(self) -> None:
        if self.state_file is None:
            return
        now = time.monotonic()
        beat = self.clock.beat_at(now) if self.clock.running else self.clock.position_beats
        if self.end_beat is not None:
            beat = min(beat, self.end_beat)  # stopped by the bar limit: exactly there
        try:
            save_state(self.state_file, model_digest(self.model_path), self.improviser, self.generators, beat,
                       self.soloist.previous, self.soloist.horizon)
            log.info("state saved to %s (beat %.2f)", self.state_file, beat)
        except OSError as err:
            log.error("%s: cannot save the state (%s)", self.state_file, err.strerror or err)

    def run(self, install_signals: bool = True) -> int:
        """Play until SIGINT/SIGTERM, stop_event, the bar limit or an error.

        Returns:
            0 after a clean stop.
        Raises:
            PortError: if a port cannot be opened; any error of the improviser or
                sender thread, after every note is released.
        """
        if install_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda signum, frame: self.stop_event.set())
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        self._resume()
        self._open()
        if self.bars is not None:
            self.end_beat = self.start_beat + self.bars * self.beats_per_bar
        worker = threading.Thread(target=self._improvise, name="jazzd-improviser", daemon=True)
        try:
            if isinstance(self.clock, TempoClock):
                self._fill(self.start_beat)  # the first values are queued before the first beat is set
                self.clock.start_at(time.monotonic() + PREROLL_S, self.start_beat)
            seed = "random" if self.seed is None else self.seed
            log.info("playing to %s (%s) at %s over %s; model %s (n_values %d), temperature %g, seed %s",
                     self.port.name, self.port.kind,
                     "MIDI clock" if isinstance(self.clock, MidiClock) else f"{self.clock.bpm:g} BPM",
                     self.harmony.lead_sheet, self.config["model.path"], self.model.n_values,
                     self.improviser.temperature, seed)
            if self.input_port is not None:
                log.info("listening on %s: input mode %s, clock %s, harmony %s", self.input_port.name,
                         self.interplay.mode, self.config["clock.source"], self.config["harmony.source"])
            self.scheduler.start()
            if self.input_port is not None:
                self.listener.start(self.input_port)
            worker.start()
            while not self.stop_event.wait(0.05):
                if self.scheduler.error is not None:
                    self.error = self.scheduler.error
                    break
            if self.end_beat is not None and self.error is None and self.clock.running:
                # let the sender play out the last bar's note-offs
                deadline = self.clock.seconds_at(self.end_beat) + 0.05
                while time.monotonic() < deadline and self.scheduler.pending() and self.scheduler.error is None:
                    time.sleep(0.01)
        finally:
            self.stop_event.set()
            if worker.is_alive():
                worker.join(1.0)
            self.listener.stop()  # before the port closes: the listener polls it
            if self.input_port is not None:
                self.input_port.close()
            self.scheduler.stop()
            self.scheduler.release()
            self.port.close()
            self._save()
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
