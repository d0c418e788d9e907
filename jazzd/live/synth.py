"""The built-in synth: the live stream played by FluidSynth to the machine's audio output.

`jazzd run --synth` sends every message the MIDI port gets to an in-process
FluidSynth too (the pyfluidsynth binding over libfluidsynth), with the General
MIDI SoundFont and the gain of `jazzd render`, so a musician without a DAW hears
the solo and the comp on their instruments. FluidSynth runs as a library, not as
a process: its sequencer takes each message with a timestamp on the synth's own
sample clock, so a note lands on its sample whatever the audio period, and
`--record-audio` can tap the very buffers the audio driver plays (a process
would need a second synth, or a patchbay, to be recorded).

Timing: the Sender hands a message over at its due time (monotonic seconds);
SampleClock maps that time onto the sequencer's millisecond ticks and the
message is scheduled `latency_ms` later, so the sender's jitter and the audio
period's granularity do not reach the sound. The audio is late against the MIDI
port by that latency plus the audio driver's own buffer.

Audio drivers are FluidSynth's own (PulseAudio, which PipeWire serves too, JACK,
ALSA, CoreAudio...). Where none opens, one warning says so and the daemon goes
on: the MIDI port still plays, and a recording is still made, clocked by a
thread of its own.

Source: FluidSynth's API (new_fluid_audio_driver2, fluid_synth_process, the
sequencer) and its fluidsynth_fx.c and sequencer examples.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import io
import logging
import os
import queue
import sys
import threading
import time
import wave
from pathlib import Path

import mido
import numpy as np

from jazzd.errors import PortError, RenderError
from jazzd.files import TakeFile
from jazzd.live.ports import _quiet_stderr

log = logging.getLogger(__name__)

AUDIO_DRIVERS = ("auto", "pulseaudio", "pipewire", "jack", "alsa", "coreaudio", "sdl2", "oss")
SYNTH_CLIENT = "jazzd-synth"  # FluidSynth's JACK client (ports jazzd-synth:left, jazzd-synth:right)
CLOCK_WINDOW_S = 2.0  # SampleClock keeps the smallest offset seen over this long
RECORD_PERIOD = 1024  # frames per block of the recording's own clock (no audio driver)
WRITE_EVERY_S = 0.25  # the WAV is written and made whole at least this often
FILL_MS = 5.0  # the audio clock behind by more than this: the recording fills the gap with silence
TAIL_S = 0.3  # after the last note-off: the release and reverb tail still sound (and are recorded)


def _load():
    """pyfluidsynth, with the prototypes jazzd needs beyond its own (one line if libfluidsynth is missing).

    Raises:
        RenderError: if the binding or the library cannot be loaded (names the packages).
    """
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # it prints where it found the library when CI is set
            import fluidsynth as fs
    except (ImportError, OSError) as err:
        raise RenderError(f"the built-in synth needs FluidSynth ({err}): install the package fluidsynth "
                        "(apt-get install fluidsynth; macOS: brew install fluid-synth) and pip install "
                        "pyfluidsynth") from None
    if not hasattr(fs, "jazzd_audio_func"):
        from ctypes import POINTER, c_float, c_int, c_short, c_void_p

        fs.jazzd_audio_func = ctypes.CFUNCTYPE(c_int, c_void_p, c_int, c_int, POINTER(POINTER(c_float)), c_int,
                                               POINTER(POINTER(c_float)))
        fs.jazzd_new_driver2 = fs.cfunc("new_fluid_audio_driver2", c_void_p, ("settings", c_void_p, 1),
                                        ("func", fs.jazzd_audio_func, 1), ("data", c_void_p, 1))
        fs.jazzd_process = fs.cfunc("fluid_synth_process", c_int, ("synth", c_void_p, 1), ("len", c_int, 1),
                                    ("nfx", c_int, 1), ("fx", POINTER(POINTER(c_float)), 1), ("nout", c_int, 1),
                                    ("out", POINTER(POINTER(c_float)), 1))
        fs.jazzd_program_change = fs.cfunc("fluid_event_program_change", None, ("evt", c_void_p, 1),
                                           ("channel", c_int, 1), ("program", c_int, 1))
        fs.jazzd_control_change = fs.cfunc("fluid_event_control_change", None, ("evt", c_void_p, 1),
                                           ("channel", c_int, 1), ("control", c_short, 1), ("val", c_int, 1))
        fs.jazzd_pitch_bend = fs.cfunc("fluid_event_pitch_bend", None, ("evt", c_void_p, 1),
                                       ("channel", c_int, 1), ("pitch", c_int, 1))
    return fs


class SampleClock:
    """Monotonic seconds -> the sequencer's ticks (ms of the synth's sample clock).

    The sequencer's tick moves in jumps of one audio period (the synth renders a
    period at a time, ahead of the speaker), so (now - tick) is smallest just
    after a render; that smallest value over the last CLOCK_WINDOW_S is the
    offset. A window, not a running minimum: a sample clock that falls behind
    (an xrun, a loaded machine) is followed within the window. Observed from the
    audio thread and the sender's, so it locks.

    Args:
        window_s: how long a smallest offset is kept, in seconds.
    """

    def __init__(self, window_s: float = CLOCK_WINDOW_S):
        self.window_s = window_s
        self._seen: collections.deque = collections.deque()  # (monotonic s, offset ms), offsets increasing
        self._lock = threading.Lock()

    def observe(self, now_s: float, tick_ms: float) -> None:
        """Note that at now_s (monotonic seconds) the sequencer was at tick_ms."""
        offset = now_s * 1000.0 - tick_ms
        with self._lock:
            while self._seen and self._seen[-1][1] >= offset:  # a monotonic deque: its head is the window's minimum
                self._seen.pop()
            self._seen.append((now_s, offset))
            while self._seen[0][0] < now_s - self.window_s:
                self._seen.popleft()

    @property
    def offset_ms(self) -> float:
        """monotonic ms - tick, as now estimated; it grows by the time a sample clock loses."""
        with self._lock:
            return self._seen[0][1]

    def tick_at(self, due_s: float) -> float:
        """The tick (ms) at which a message due at due_s (monotonic seconds) sounds, before any latency."""
        return due_s * 1000.0 - self.offset_ms


class WavRecorder:
    """A 16-bit stereo WAV written as the synth plays, whole on disk after every write.

    The file is a jazzd.files.TakeFile: the first block goes to a file beside the
    target, which then takes the target's place, so an existing take is replaced
    only by a recording that has begun; a second jazzd recording to the same path
    is refused; a take whose file or folder was removed mid-run is written back
    (one warning), one whose place another file took goes on beside it. Python's
    wave module patches the header's lengths on every write.

    Args:
        path: the .wav file.
    Attributes:
        path: where the take is (it changes only if another file took its place).
    Raises:
        PortError: if the folder cannot be written, or another jazzd records to the same path.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.frames = 0
        self.sample_rate = 0
        self._file = None
        try:
            self._file = TakeFile(self.path)
            self._wav = wave.open(self._file, "wb")
            self._wav.setnchannels(2)
            self._wav.setsampwidth(2)
        except OSError as err:
            if self._file is not None:
                self._file.close()
            raise PortError(f"{self.path}: cannot record audio here ({err.strerror or err})") from None

    def write(self, stereo: np.ndarray, sample_rate: int) -> None:
        """Append float samples (frames, 2) in -1..1 at sample_rate Hz, then make the file whole on disk.

        Raises:
            PortError: if the file cannot be written (a full disk) or kept; the file on disk is then the last
                whole write.
        """
        pcm = np.round(np.clip(stereo, -1.0, 1.0) * 32767.0).astype("<i2")
        try:
            if not self.sample_rate:  # known once the audio driver has run (JACK sets the server's)
                self.sample_rate = int(round(sample_rate))
                self._wav.setframerate(self.sample_rate)
            self._wav.writeframes(pcm.tobytes())
            self._file.flush()
            if not self._file.begun:
                self._file.begin()
            else:
                self._file.keep()
                self.path = self._file.path
        except OSError as err:
            raise PortError(f"{self.path}: cannot record audio ({err.strerror or err})") from None
        self.frames += len(pcm)

    def close(self) -> None:
        """Close the file; a recording that never began leaves the target as it was.

        Raises:
            PortError: if the take cannot be kept at its path (its folder's place taken by a file).
        """
        with contextlib.suppress(OSError, wave.Error):
            if not self.sample_rate:
                self._wav.setframerate(48000)  # never written: only so the wave module can close it
            self._wav.close()  # patches the header once more (it leaves the file open: it did not open it)
        try:
            if self.frames:
                self._file.keep()
                self.path = self._file.path
        except OSError as err:
            raise PortError(f"{self.path}: cannot record audio ({err.strerror or err})") from None
        finally:
            self._file.close()


class SynthOutput:
    """FluidSynth in-process, taking the MIDI outputs' send(msg, due_s) and close().

    Args:
        soundfont: the General MIDI .sf2 file.
        gain: FluidSynth's master gain (that of `jazzd render`, so the levels match).
        audio_driver: one of AUDIO_DRIVERS; "auto" tries this platform's in turn.
        sample_rate: Hz, where the driver lets FluidSynth choose (JACK uses the server's).
        latency_ms: how long after its due time a message sounds (see the module doc).
        record: a .wav file to write what the synth plays, or None.
        on_error: called with the PortError that stops a recording (a full disk).
    Raises:
        RenderError: if FluidSynth or the SoundFont cannot be loaded. PortError: if the
            recording cannot be created. An audio driver that cannot open is a warning, not an error.
    """

    def __init__(self, soundfont: Path, gain: float = 0.5, audio_driver: str = "auto", sample_rate: int = 48000,
                 latency_ms: float = 30.0, record: Path | None = None, on_error=None):
        fs = self._fs = _load()
        self.latency_ms = latency_ms
        self.on_error = on_error or (lambda err: None)
        self.driver_name: str | None = None
        self._driver = None
        self._render_thread: threading.Thread | None = None
        self._writer: threading.Thread | None = None
        self._stop = threading.Event()
        self._blocks: queue.Queue = queue.Queue()
        self._last_tick = 0.0
        self._first_tick: float | None = None  # the first message's tick: the recording's time 0
        self._first_offset = 0.0  # the SampleClock's offset then: the recording fills what the clock loses later
        self.sample_rate = sample_rate  # FluidSynth's; the JACK driver sets the server's
        self._rendered = 0  # frames the synth has rendered (its sequencer's clock, in samples)
        self._lock = threading.Lock()  # send() from the sender thread, close() from the main one
        self.closed = False
        self.synth = fs.Synth(gain=float(gain), samplerate=float(sample_rate))
        self.synth.setting("audio.jack.id", SYNTH_CLIENT)
        self.synth.setting("audio.jack.autoconnect", 1)  # to the speakers (system:playback_*)
        self.synth.setting("audio.pulseaudio.media-role", "music")
        with _quiet_stderr():
            self.sfid = self.synth.sfload(str(soundfont))
        if self.sfid == -1:
            self.synth.delete()
            raise RenderError(f"{soundfont}: FluidSynth cannot load this SoundFont ([render] soundfont)")
        self.sequencer = fs.Sequencer(time_scale=1000, use_system_timer=False)
        self.dest = self.sequencer.register_fluidsynth(self.synth)
        self.clock = SampleClock()
        self.recorder = WavRecorder(record) if record is not None else None
        self._callback = None
        try:
            self._open_driver(audio_driver)
            if self.recorder is not None:
                if self._driver is None:  # no audio output: the recording keeps time by itself
                    self._render_thread = threading.Thread(target=self._render_loop, name="jazzd-synth-clock",
                                                           daemon=True)
                    self._render_thread.start()
                self._writer = threading.Thread(target=self._write_loop, name="jazzd-synth-record", daemon=True)
                self._writer.start()
        except BaseException:
            self._teardown()
            raise
        self.silent = self._driver is None and self.recorder is None  # nothing would ever hear it
        self._observe()
        where = f"{self.driver_name} audio" if self.driver_name else "no audio output"
        self.name = f"FluidSynth ({where})"
        self.kind = "built-in synth"

    # -- audio ----------------------------------------------------------------------

    def _candidates(self, requested: str) -> list[str]:
        if requested != "auto":
            return [requested]
        if sys.platform == "darwin":
            return ["coreaudio"]
        if sys.platform.startswith("win"):
            return ["wasapi", "dsound"]
        found = []
        runtime = os.environ.get("XDG_RUNTIME_DIR", f"/run/user/{os.getuid()}")
        if os.environ.get("PULSE_SERVER") or os.path.exists(os.path.join(runtime, "pulse", "native")):
            found.append("pulseaudio")  # PipeWire serves PulseAudio clients too
        if os.path.exists(os.path.join(runtime, "pipewire-0")):
            found.append("pipewire")
        from jazzd.live.ports import jack_running

        with contextlib.suppress(Exception):
            if jack_running():
                found.append("jack")
        if any(Path("/dev/snd").glob("pcmC*p")):
            found.append("alsa")
        return found

    def _open_driver(self, requested: str) -> None:
        fs = self._fs
        tried = self._candidates(requested)
        for name in tried:
            self.synth.setting("audio.driver", name)
            with _quiet_stderr():
                if self.recorder is None:
                    driver = fs.new_fluid_audio_driver(self.synth.settings, self.synth.synth)
                else:  # the driver hands its buffers to _process, which keeps a copy for the recording
                    self._callback = fs.jazzd_audio_func(self._process)
                    driver = fs.jazzd_new_driver2(self.synth.settings, self._callback, None)
            if driver:
                self._driver, self.driver_name = driver, name
                self.sample_rate = float(self.synth.get_setting("synth.sample-rate") or self.sample_rate)
                return
        log.warning("no audio output could open for the built-in synth (tried: %s): it stays silent%s; the MIDI "
                    "port plays on", ", ".join(tried) or "none found",
                    ", but still records" if self.recorder is not None else "")

    def _process(self, data, length, nfx, fx, nout, out) -> int:
        """FluidSynth's audio callback (its audio thread): render into the driver's buffers, keep a copy."""
        try:
            self._observe()
            if nfx == 0:  # no effect buffers: reverb and chorus go into the dry ones, as the plain driver does
                nfx, fx = nout, out
            status = self._fs.jazzd_process(self.synth.synth, length, nfx, fx, nout, out)
            if nout >= 2:
                left = np.ctypeslib.as_array(out[0], shape=(length,))
                right = np.ctypeslib.as_array(out[1], shape=(length,))
                self._blocks.put((self._rendered, self.clock.offset_ms, np.stack([left, right], axis=1).copy()))
            self._rendered += length
            return status
        except BaseException:  # never raise into C
            return -1

    def _render_loop(self) -> None:
        """Without an audio driver: render RECORD_PERIOD frames whenever the monotonic clock has passed them."""
        buffers = (ctypes.c_float * RECORD_PERIOD * 2)()
        pointers = (ctypes.POINTER(ctypes.c_float) * 2)(
            ctypes.cast(buffers[0], ctypes.POINTER(ctypes.c_float)), ctypes.cast(buffers[1], ctypes.POINTER(ctypes.c_float)))
        period_s = RECORD_PERIOD / self.sample_rate
        next_s = time.monotonic()
        while not self._stop.is_set():
            self._observe()
            ctypes.memset(buffers, 0, ctypes.sizeof(buffers))
            self._fs.jazzd_process(self.synth.synth, RECORD_PERIOD, 2, pointers, 2, pointers)
            stereo = np.stack([np.frombuffer(buffers[0], dtype=np.float32),
                               np.frombuffer(buffers[1], dtype=np.float32)], axis=1)
            self._blocks.put((self._rendered, self.clock.offset_ms, stereo.copy()))
            self._rendered += RECORD_PERIOD
            next_s += period_s
            self._stop.wait(max(0.0, next_s - time.monotonic()))

    def _write_loop(self) -> None:
        """Write the recorded blocks every WRITE_EVERY_S (a file whole on disk after each write).

        The recording begins at the sample where the first message sounds (bar 1's downbeat,
        or the DAW's Start): what comes before is silence, and a WAV that starts on the beat
        lines up with the MIDI recording in a DAW. Time the audio clock loses against the
        monotonic one (an xrun: the speaker too fell silent then) is filled with silence, so
        the take keeps the notes' times.
        """
        pending: list[np.ndarray] = []
        last = time.monotonic()
        filled_ms = 0.0
        while True:
            try:
                start, offset_ms, block = self._blocks.get(timeout=WRITE_EVERY_S)
                if self._first_tick is not None:
                    first = int(round(self._first_tick * self.sample_rate / 1000.0))
                    if start + len(block) > first:
                        lost_ms = offset_ms - self._first_offset - filled_ms
                        if lost_ms > FILL_MS:
                            pending.append(np.zeros((int(round(lost_ms * self.sample_rate / 1000.0)), 2)))
                            filled_ms += lost_ms
                        pending.append(block[max(0, first - start):])
            except queue.Empty:
                pass
            finished = self._stop.is_set() and self._blocks.empty()
            if pending and (finished or time.monotonic() - last >= WRITE_EVERY_S):
                try:
                    self.recorder.write(np.concatenate(pending), self.sample_rate)
                except PortError as err:
                    self.on_error(err)
                    return
                pending, last = [], time.monotonic()
            if finished:
                if filled_ms:
                    log.info("the audio clock lost %.0f ms against the system clock (xruns); the recording has "
                             "silence there", filled_ms)
                return

    # -- messages -------------------------------------------------------------------

    def _observe(self) -> None:
        """Tell the SampleClock where the synth is: the frames rendered so far in ms (the sequencer's tick),
        counted by jazzd's own audio callback when it records, else asked of the sequencer."""
        if self.recorder is not None:
            self.clock.observe(time.monotonic(), self._rendered * 1000.0 / self.sample_rate)
        else:
            self.clock.observe(time.monotonic(), self.sequencer.get_tick())

    def send(self, msg: mido.Message, due_s: float) -> None:
        """Schedule a message latency_ms after its due time (monotonic seconds), on the synth's sample clock."""
        fs = self._fs
        with self._lock:
            if self.closed:
                return
            self._observe()
            # never before the message sent before it: a note-off and the next note-on of a key keep their order
            tick = max(self.clock.tick_at(due_s) + self.latency_ms, self._last_tick)
            self._last_tick = tick
            if self._first_tick is None:
                self._first_tick, self._first_offset = tick, self.clock.offset_ms
            evt = fs.new_fluid_event()
            fs.fluid_event_set_source(evt, -1)
            fs.fluid_event_set_dest(evt, self.dest)
            kind = msg.type
            if kind == "note_on" and msg.velocity > 0:
                fs.fluid_event_noteon(evt, msg.channel, msg.note, msg.velocity)
            elif kind in ("note_on", "note_off"):
                fs.fluid_event_noteoff(evt, msg.channel, msg.note)
            elif kind == "program_change":
                fs.jazzd_program_change(evt, msg.channel, msg.program)
            elif kind == "control_change":
                fs.jazzd_control_change(evt, msg.channel, msg.control, msg.value)
            elif kind == "pitchwheel":
                fs.jazzd_pitch_bend(evt, msg.channel, msg.pitch + 8192)
            else:  # clock, sysex...: nothing a synth plays
                fs.delete_fluid_event(evt)
                return
            fs.fluid_sequencer_send_at(self.sequencer.sequencer, evt, int(round(tick)), 1)
            fs.delete_fluid_event(evt)

    def close(self) -> None:
        """Let the last messages and TAIL_S of release sound (and be recorded), then stop the synth."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
        if self._driver is not None or self._render_thread is not None:
            self._observe()
            left_s = (self._last_tick - self.clock.tick_at(time.monotonic())) / 1000.0
            time.sleep(max(0.0, min(left_s, 1.0)) + TAIL_S)
        self._teardown()

    def _teardown(self) -> None:
        fs = self._fs
        self._stop.set()
        if self._render_thread is not None:
            self._render_thread.join(2.0)
        if self._driver is not None:
            fs.delete_fluid_audio_driver(self._driver)  # first: it calls into the synth
            self._driver = None
        if self._writer is not None:
            self._writer.join(5.0)
        try:
            if self.recorder is not None:
                self.recorder.close()  # raises if the take cannot be kept: the run ends with that error
                if self.recorder.frames:
                    log.info("recorded %.1f s of audio to %s", self.recorder.frames / self.sample_rate,
                             self.recorder.path)
        finally:
            self.sequencer.delete()
            self.synth.delete()


class Outputs:
    """The MIDI output and the built-in synth as one output: each message goes to both.

    Args:
        port: the MIDI output (RtMidiOutput or MidiFileRecorder).
        synth: a SynthOutput.
    """

    def __init__(self, port, synth: SynthOutput):
        self.port, self.synth = port, synth

    def __getattr__(self, name):  # name, kind, backend, virtual, own_port: the MIDI port's
        return getattr(self.port, name)

    def send(self, msg: mido.Message, due_s: float) -> None:
        """Send to the MIDI port, then to the synth (the synth never raises for a message)."""
        self.port.send(msg, due_s)
        self.synth.send(msg, due_s)

    def close(self) -> None:
        """Close both; the MIDI port's error (a full disk) is raised after the synth has closed."""
        try:
            self.port.close()
        finally:
            self.synth.close()
