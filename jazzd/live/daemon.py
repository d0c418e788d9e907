"""Daemon: `jazzd run`, the thin shell of threads, ports, signals and the state file around a Session.

Four threads, five with live chords:
- main: opens the ports, starts the others, waits for a signal (SIGINT, SIGTERM,
  SIGHUP), the bar limit or an error, then shuts down;
- session (this module's worker): hands the listener's events to the Session
  and advances it on the clock, so the Scheduler's queue stays `lookahead`
  beats ahead of the playhead;
- listener (jazzd.live.listener): polls the MIDI input and turns it into events;
- sender (jazzd.live.scheduler.Sender): sends each message at its time;
- with `--harmony live`, the chord namer (jazzd.live.chordnamer.ChordNamer): names the
  player's chord keys with music21 and hands each chord back as an event.

Every way out goes through one `finally:`: the threads stop, every sounding note
gets its note-off and every channel used All Notes Off, the ports close and the
state file is saved when one is configured. An error in any thread ends the run
the same way and is raised afterwards.
"""

from __future__ import annotations

import csv
import gc
import logging
import queue
import signal
import sys
import threading
import time
from pathlib import Path

from jazzd import logs
from jazzd.core.modeldir import load_model
from jazzd.errors import ConfigError, PortError, StateSaveError
from jazzd.files import check_suffix
from jazzd.live.chordnamer import ChordNamer
from jazzd.live.clock import MidiClock, TempoClock
from jazzd.live.listener import Listener
from jazzd.live.ports import is_midi_file_target, open_input, open_output
from jazzd.live.scheduler import Scheduler, Sender
from jazzd.live.session import build_session
from jazzd.live.state import load_state, model_digest, restore_generators, save_state

log = logging.getLogger(__name__)

SWITCH_INTERVAL_S = 0.0005  # hand the GIL over quickly, so a busy thread cannot delay the sender
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
DRAIN_S = 0.1  # after the bar limit: how long past the last due message to wait for the sender
# on JACK a stop's release goes out in one cycle, so a receiver that misses that cycle (an xrun) loses all
# of it; All Notes Off is sent again this much later, many periods on, where it lands in another cycle
REPEAT_ALL_OFF_S = 0.05


def make_clock(config):
    """The beat clock `[clock] source` asks for (jazzd.live.clock, linkclock, transportclock); a followed one
    joins its transport when the daemon opens its ports."""
    bpm, source = config["clock.bpm"], config["clock.source"]
    if source == "midi":
        return MidiClock(bpm)
    if source == "link":
        from jazzd.live.linkclock import LinkClock

        return LinkClock(bpm, start_stop=config["clock.link_start_stop"],
                         tempo_control=config["clock.link_tempo_control"])
    if source == "jack":
        from jazzd.live.transportclock import JackTransportClock

        return JackTransportClock(bpm, client_name=f"{config['midi.client_name']}-transport")
    return TempoClock(bpm)


class Daemon:
    """The live improviser: model, clock, session, ports and threads, wired together.

    Args:
        config: checked settings (jazzd.config.Config).
        bars: stop by itself after this many bars (None: run until a signal).
        timing_log: write (due, sent) seconds of every message to this CSV at exit.
    Raises:
        ModelError, ConfigError: while setting up, before any port is opened.
    """

    def __init__(self, config, bars: int | None = None, timing_log: Path | None = None):
        self.config = config
        self.timing_log = timing_log
        self.stop_event = threading.Event()
        self.errors: list[BaseException] = []
        self.model_path = config.path_of("model.path")
        self.model = load_model(self.model_path)
        self.seed = config["improviser.seed"]
        self.clock = make_clock(config)
        self.scheduler = Scheduler(self.clock)
        self.events: queue.Queue = queue.Queue()
        # the player's chord keys are named with music21 on a thread of their own; the chords come back as events
        self.namer = ChordNamer(self.events.put) if config["harmony.source"] == "live" else None
        self.session, self.generators = build_session(config, self.model, self.clock, self.scheduler, self.seed, bars,
                                                      namer=self.namer)
        if hasattr(self.clock, "quantum"):  # Link, JACK transport: the session's bar lines are jazzd's
            self.clock.quantum = float(self.session.beats_per_bar)
        self.state_file = config.path_of("state.file") if config["state.file"] else None
        self.port = None
        self.output_backend: str | None = None  # the output port's backend ("jack", "alsa", ...); None: a file
        self.input_port = None
        self.listener: Listener | None = None
        self.sender: Sender | None = None
        self.watch = None  # a JackWatch on the JACK backend
        self.guardian = None  # the guardian process on the JACK backend (jazzd.live.guardian)

    # -- the session thread ---------------------------------------------------------

    def _work(self) -> None:
        session, sender = self.session, self.sender
        try:
            wake_at = time.monotonic()
            listener = self.listener if self.input_port is not None else None
            while not self.stop_event.is_set():
                handled = 0
                try:
                    event = self.events.get(timeout=max(0.0, wake_at - time.monotonic()))
                except queue.Empty:
                    event = None
                # read before the queue is drained: everything that came before it is on the queue then
                read_s = listener.read_until_s if listener is not None else None
                try:
                    while event is not None:
                        self._handle(event)
                        handled += 1
                        event = self.events.get_nowait()
                except queue.Empty:
                    pass
                if handled:
                    sender.wake()  # a pulse, a tempo or a transport change moves what is due
                wake_at = session.advance(time.monotonic(), input_read_s=read_s)
                if session.finished:
                    self.stop_event.set()  # the main thread lets the last note-offs play out
                    return
        except BaseException as err:  # stop everything; the main thread releases the notes
            self._fail(err, "session")

    def _handle(self, event) -> None:
        try:
            self.session.handle(event)
        except Exception as err:  # bad input must never stop the daemon
            log.warning("ignored MIDI input %s: %s", event, err)

    def _fail(self, err: BaseException, where: str) -> None:
        """An error ends the run: it is raised (and so reported) once every note is released."""
        log.debug("%s thread stopped: %s", where, err or type(err).__name__)
        self.errors.append(err)
        self.stop_event.set()

    # -- the main thread -----------------------------------------------------------

    def _needs_input(self) -> list[str]:
        config = self.config
        return [k for k, v in (("input.mode", config["input.mode"] != "off"),
                               ("clock.source", config["clock.source"] == "midi"),
                               ("harmony.source", config["harmony.source"] == "live")) if v]

    def _open(self) -> None:
        config = self.config
        target = config["midi.output"]
        if is_midi_file_target(target):  # a take's path: from the working folder if a flag, else the config's
            target = str(config.path_of("midi.output"))
        self.port = open_output(target, config["midi.backend"], self.clock,
                                client_name=config["midi.client_name"], port_name=config["midi.output_port"],
                                fallback_file=str(config.path_of("midi.fallback_file")),
                                flush_beats=self.session.beats_per_bar,
                                jack_latency_periods=config["midi.jack_latency_periods"])
        self.output_backend = getattr(self.port, "backend", None)  # "jack", "alsa", ...; None for a file
        if self.session.midi_clock and hasattr(self.port, "set_latency_periods"):
            # a note waits for its pulse, and is late by then: no latency bought, it goes at the next cycle's start
            self.port.set_latency_periods(0)
        if self.session.followed:
            # Link, JACK transport: beats known ahead, so messages go out the port's latency early and sound on them
            self.clock.output_latency_s = getattr(self.port, "latency_s", 0.0)
            self.clock.join()
            self.session.on_clock_change = lambda: self.sender.wake() if self.sender is not None else None
        self.input_port = open_input(config["midi.input"], self.output_backend,
                                     client_name=config["midi.input_client_name"], port_name=config["midi.input_port"])
        needs = self._needs_input()
        if self.input_port is None and needs:
            section, name = needs[0].split(".")
            raise ConfigError(f"{config.where(needs[0])} = {config[needs[0]]!r} needs a MIDI input, but none can "
                              f"open here (the output is a {self.port.kind}): start a MIDI system, or set [{section}] "
                              f"{name} back")
        self._watch_jack()
        self._open_synth()
        self.sender = Sender(self.scheduler, self.port, record_timing=self.timing_log is not None,
                             on_error=lambda err: self._fail(err, "sender"))
        self.listener = Listener(self.events, on_error=lambda err: self._fail(err, "listener"))

    def _open_synth(self) -> None:
        """--synth / --record-audio: FluidSynth plays (and records) what the MIDI port gets (jazzd.live.synth)."""
        config = self.config
        record = config["synth.record_audio"]
        if not (config["synth.enabled"] or record):
            return
        from jazzd.live.synth import Outputs, SynthOutput
        from jazzd.soundfont import find_soundfont

        if record:
            record = check_suffix(config.path_of("synth.record_audio"), (".wav",), "a recording",
                                  config.where("synth.record_audio"))
        soundfont = find_soundfont(config.path_of("render.soundfont") if config["render.soundfont"] else None)
        synth = SynthOutput(soundfont, gain=config["render.gain"], audio_driver=config["synth.audio_driver"],
                            latency_ms=config["synth.latency_ms"], record=record or None,
                            on_error=lambda err: self._fail(err, "synth"))
        if synth.silent:
            synth.close()
            return
        self.port = Outputs(self.port, synth)
        log.info("built-in synth: %s with %s%s", synth.name, soundfont.name,
                 f", recording to {record}" if record else "")

    def _watch_jack(self) -> None:
        """On JACK: learn when the server goes away and reconnect named peers that come back (jackwatch)."""
        connect = self.config["midi.connect"]
        if getattr(self.port, "backend", None) != "jack":
            if connect:
                log.warning("%s: connecting by name works on JACK only; the output is a %s (connect it with "
                            "the system's patchbay, e.g. aconnect on ALSA)", self.config.where("midi.connect"),
                            self.port.kind)
            return
        from jazzd.live.jackwatch import JackWatch, Link, rtmidi_bundles_libjack

        self._start_guardian(self.config["midi.client_name"])  # its own process and libjack: with the wheel too
        if rtmidi_bundles_libjack():
            log.warning("JACK: python-rtmidi bundles its own libjack (the PyPI wheel), so jazzd cannot watch the "
                        "server, reconnect ports that come back or connect by name; `make run` builds it against this system's")
            return
        client = self.config["midi.client_name"]
        # the connections python-rtmidi made to ports named by --output/--input, kept while their peers come and go
        links = []
        if not self.port.virtual:
            links.append(Link(self.port.own_port, self.port.name, peer=self.port.name))
        if self.input_port is not None and not self.input_port.virtual:
            links.append(Link(self.input_port.name, self.input_port.own_port, peer=self.input_port.name))
        try:
            self.watch = JackWatch(f"{client}-watch", self._jack_gone, links, output=self.port.own_port,
                                   connect=connect)
        except RuntimeError as err:  # under a stop signal that interrupted libjack's call, no matter
            (log.info if self.stop_event.is_set() else log.warning)(
                "JACK: %s; a server that goes away will not be noticed", err)
            return
        if connect:
            found = self.watch.connect_matching()
            log.info("connected %s -> %s; watching for ports matching %s", self.port.own_port,
                     ", ".join(found) or "nothing yet", ", ".join(repr(c) for c in connect))

    def _start_guardian(self, client: str) -> None:
        """A process that releases the notes if this one dies without doing so (a crash, kill -9)."""
        from jazzd.live import guardian

        session = self.session
        channels = sorted({part.channel for part in session._parts()})
        self.guardian = guardian.start(self.port.own_port, channels, client_name=f"{client}-guardian")

    def _jack_gone(self, reason: str) -> None:
        from jazzd.live.jackinput import server_gone_message

        self._fail(PortError(server_gone_message(reason)), "JACK")

    def _resume(self) -> None:
        if self.state_file is None:
            return
        state, why, warn = load_state(self.state_file, model_digest(self.model_path),
                                      (self.model.weights.layers, self.model.n_a), self.model.n_values,
                                      tuple(self.generators))
        (log.warning if warn else log.info)("state: %s", why)
        if state is None:
            return
        improviser = self.session.improviser
        improviser.a, improviser.c, improviser.last = state.a, state.c, state.last
        restore_generators(self.generators, state.rng)
        self.session.resume(state.beat, state.horizon, state.previous)

    def _save(self) -> None:
        if self.state_file is None:
            return
        snapshot = self.session.snapshot(time.monotonic())
        try:
            save_state(self.state_file, model_digest(self.model_path), self.session.improviser, self.generators,
                       snapshot["beat"], snapshot["previous"], snapshot["horizon"])
            log.info("state saved to %s (beat %.2f)", self.state_file, snapshot["beat"])
        except OSError as err:  # the run ends with this error (exit 1): the next start would not resume
            self.errors.append(StateSaveError(f"{self.state_file}: cannot save the state ({err.strerror or err})"))

    def run(self, install_signals: bool = True) -> int:
        """Play until a signal (SIGINT, SIGTERM, SIGHUP), stop_event, the bar limit or an error.

        A SIGHUP that was ignored when jazzd started (`nohup jazzd run`) stays ignored.

        Returns:
            0 after a clean stop, also when a stop signal interrupted the opening of the ports.
        Raises:
            PortError: if a port cannot be opened. ConfigError: if a mode needs a
                MIDI input and none can open. The first error of any thread, after
                every note is released.
        """
        if install_signals:
            for sig in STOP_SIGNALS:
                if sig == signal.SIGHUP and signal.getsignal(sig) == signal.SIG_IGN:
                    # started under nohup: a closing terminal is asked not to stop it, so SIGHUP stays ignored
                    log.info("SIGHUP is ignored (jazzd was started with it ignored, as nohup does): "
                             "a closing terminal does not stop it; SIGTERM or Ctrl-C does")
                    continue
                signal.signal(sig, lambda signum, frame: self.stop_event.set())
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        # what start-up made (the model, music21's tables) is kept out of the collector's way: a full collection
        # walked it all, holding the GIL for tens of ms (the band's notes made collections frequent; the sender,
        # waiting for the GIL, sent up to 44 ms late)
        gc.collect()
        gc.freeze()
        self._resume()
        worker = threading.Thread(target=self._work, name="jazzd-session", daemon=True)
        try:
            try:
                self._open()
            except (PortError, OSError, RuntimeError) as err:
                if not self.stop_event.is_set() or self.errors:
                    raise
                # a stop signal came while the ports opened: it interrupts libjack's calls, which then fail
                log.info("stopped while opening the ports (%s)", err)
                return 0
            self.session.start(time.monotonic())
            self._log_start()
            self.sender.start()
            if self.input_port is not None:
                self.listener.start(self.input_port)
            worker.start()
            while not self.stop_event.wait(1.0):  # a signal, an error or the bar limit sets it
                pass
            if self.session.finished and not self.errors:
                self._drain()
        finally:
            self.stop_event.set()
            repeated = False
            if worker.is_alive():
                worker.join(1.0)
            if self.namer is not None:
                self.namer.close()
            if self.listener is not None:
                self.listener.stop()  # before the input closes: the listener polls it
            if self.input_port is not None:
                self.input_port.close()
            if self.sender is not None:
                self.sender.stop()
                release = self.scheduler.release()
                failed = self.sender.send_now(release)
                repeat = [m for m in release if m.type == "control_change" and m.control == 123]
                if repeat and not failed and self.output_backend == "jack":
                    time.sleep(REPEAT_ALL_OFF_S)
                    repeated = not self.sender.send_now(repeat, drop_pending=False)  # the first release stays
            if self.port is not None:
                self._close_output()
            if self.session.followed:
                self.clock.close()
            if self.watch is not None:
                self.watch.close()
            if self.guardian is not None:  # every note is released: the guardian has nothing to do
                from jazzd.live import guardian

                guardian.stop(self.guardian)
            self._save()
            self._write_timing()
            logs.LIMIT.flush(log)  # the warnings held back at the end, counted
            if self.sender is not None:
                log.info("stopped after %d messages; every note released%s", self.sender.sent,
                         f" (All Notes Off again {REPEAT_ALL_OFF_S * 1000:.0f} ms later)" if repeated else "")
        if self.errors:
            for later in self.errors[1:]:  # the first is raised (and printed); none is lost
                log.error("%s", later)
            raise self.errors[0]
        return 0

    def _close_output(self) -> None:
        try:
            self.port.close()
        except OSError as err:  # a take that cannot be made whole or kept: the run ends with it (exit 1)
            self.errors.append(err if isinstance(err, PortError) else PortError(f"{self.port.name}: {err}"))

    def _drain(self) -> None:
        """After the bar limit: let the sender play out the last note-offs."""
        deadline = self.clock.seconds_at(self.session.end_beat) + DRAIN_S
        while self.scheduler.pending() and self.sender.error is None and time.monotonic() < deadline:
            time.sleep(0.01)

    def _log_start(self) -> None:
        config = self.config
        session = self.session
        seed = "random" if self.seed is None else self.seed
        own = getattr(self.port, "own_port", None)
        log.info("playing to %s (%s%s) at %s over %s; model %s (n_values %d), temperature %g, seed %s",
                 self.port.name, self.port.kind, f" from {own}" if own and own != self.port.name else "",
                 "MIDI clock" if session.midi_clock else self.clock.name if session.followed
                 else f"{self.clock.bpm:g} BPM",
                 session.harmony.lead_sheet, config["model.path"], self.model.n_values,
                 session.improviser.temperature, seed)
        if session.band is not None:
            log.info("band: %s (%s)", session.band.style.name, ", ".join(
                f"{name} on channel {part.channel + 1}" for name, part in session.parts.items()))
        latency = getattr(self.port, "latency_s", None)
        if latency == 0.0:
            log.info("JACK output: following MIDI clock, every message at the start of the period after its pulse")
        elif latency is not None:
            log.info("JACK output: every message on its frame, %d periods (%.1f ms) after its due time",
                     round(latency / self.port.period_s), latency * 1000)
        if session.followed:
            latency = self.clock.output_latency_s
            log.info("%s: waiting for it to roll%s%s", self.clock.name,
                     " (start the session in a peer, or set [clock] link_start_stop = false)"
                     if getattr(self.clock, "start_stop", False) else "",
                     f"; the notes sound on its beats (sent {latency * 1000:.1f} ms early)" if latency else "")
        if self.input_port is not None:
            log.info("listening on %s: input mode %s, clock %s, harmony %s", self.input_port.name,
                     session.interplay.mode, config["clock.source"], config["harmony.source"])

    def _write_timing(self) -> None:
        if self.timing_log is None or self.sender is None or self.sender.timing is None:
            return
        with open(self.timing_log, "w", newline="") as f:
            writer = csv.writer(f)
            # lead_s: how early the port takes a message (JACK: a period, written on its frame latency_s after
            # due_s); the sender's own deadline is due_s - lead_s
            lead, latency = getattr(self.port, "lead_s", 0.0), getattr(self.port, "latency_s", 0.0)
            # jack_us: where on JACK's clock (CLOCK_MONOTONIC_RAW, microseconds) the message was set to sound
            writer.writerow(["due_s", "sent_s", "type", "bytes", "jack_us", "lead_s", "latency_s"])
            writer.writerows((*row, lead, latency) for row in self.sender.timing)
