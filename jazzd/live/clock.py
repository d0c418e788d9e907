"""Beat clock: beats <-> monotonic seconds. The only place the two units meet.

Every clock source answers the same two questions, seconds_at(beat) and
beat_at(seconds), so the scheduler and the improviser do not care where the
tempo comes from.
"""

from __future__ import annotations

import math
import threading
import time


class TempoClock:
    """The internal clock: a tempo in BPM from an origin on time.monotonic().

    Args:
        bpm: tempo in beats (quarter notes) per minute, > 0.
        origin_s: the monotonic time of beat 0. Default: now.
    Raises:
        ValueError: for a tempo <= 0.
    """

    def __init__(self, bpm: float, origin_s: float | None = None):
        if not bpm > 0:
            raise ValueError(f"tempo must be > 0 BPM, got {bpm}")
        origin_s = time.monotonic() if origin_s is None else origin_s
        # (anchor beat, anchor seconds, seconds per beat), replaced as one tuple
        # so readers on other threads never see half a tempo change.
        self._anchor = (0.0, float(origin_s), 60.0 / bpm)
        self._lock = threading.Lock()

    @property
    def bpm(self) -> float:
        return 60.0 / self._anchor[2]

    @property
    def seconds_per_beat(self) -> float:
        return self._anchor[2]

    def seconds_at(self, beat: float) -> float:
        """The monotonic time (seconds) at which a beat falls."""
        anchor_beat, anchor_s, spb = self._anchor
        return anchor_s + (beat - anchor_beat) * spb

    def beat_at(self, seconds: float) -> float:
        """The beat (may be fractional or negative) at a monotonic time in seconds."""
        anchor_beat, anchor_s, spb = self._anchor
        return anchor_beat + (seconds - anchor_s) / spb

    running = True  # the internal clock's transport always runs

    def start_at(self, origin_s: float, beat: float = 0.0) -> None:
        """Put a beat (default 0) at a monotonic time (seconds), keeping the tempo."""
        with self._lock:
            self._anchor = (float(beat), float(origin_s), self._anchor[2])

    def set_bpm(self, bpm: float, at_s: float | None = None) -> None:
        """Change the tempo from a moment on, keeping the beat continuous there.

        Args:
            bpm: the new tempo, > 0.
            at_s: monotonic time of the change. Default: now.
        Raises:
            ValueError: for a tempo <= 0.
        """
        if not bpm > 0:
            raise ValueError(f"tempo must be > 0 BPM, got {bpm}")
        at_s = time.monotonic() if at_s is None else at_s
        with self._lock:
            self._anchor = (self.beat_at(at_s), at_s, 60.0 / bpm)


PPQN = 24  # MIDI beat clock: pulses per quarter note
FIT_PULSES = 24  # tempo and phase are fitted over the last beat of pulses
TIMEOUT_BEATS = 2.0  # no pulse for this long while running counts as Stop


class MidiClock:
    """Follows MIDI beat clock: 24 pulses per quarter note, Start, Stop, Continue, Song Position.

    Tempo and phase come from a least-squares line through the times of the last
    FIT_PULSES pulses, so one late pulse moves the fitted beat by a fraction of
    its lateness instead of jolting the tempo. Beat 0 is the first pulse after
    Start; Continue resumes from the song position. While the transport is
    stopped, seconds_at() is +inf: nothing is due.

    The MIDI input thread calls pulse(), start(), stop(), continue_() and
    song_position() with the arrival times; the scheduler and the improviser read
    seconds_at()/beat_at(). The fit is replaced as one tuple, so readers never
    see half an update.

    Args:
        bpm: the tempo assumed before any pulse arrives, > 0.
    """

    def __init__(self, bpm: float = 120.0):
        if not bpm > 0:
            raise ValueError(f"tempo must be > 0 BPM, got {bpm}")
        self._pulses: list[tuple[int, float]] = []  # (pulse index, arrival seconds) of the current run
        self._times: list[float] = []  # recent pulse times, running or not, for the tempo
        self._period = 60.0 / bpm / PPQN
        self._fit = (0.0, self._period)  # seconds at pulse 0, seconds per pulse
        self.running = False
        self._armed = False  # Start or Continue seen; the next pulse starts the run
        self._position = 0  # pulses: where the next run starts, or where the last one stopped
        self._index = 0
        self._last_pulse_s = None
        self._lock = threading.Lock()
        self.on_run = None  # called (on the input thread) when a run starts, e.g. to wake the sender

    @property
    def bpm(self) -> float:
        return 60.0 / (self._fit[1] * PPQN)

    @property
    def seconds_per_beat(self) -> float:
        return self._fit[1] * PPQN

    @property
    def position_beats(self) -> float:
        """Where the transport is (running) or will start (stopped), in beats."""
        return self._position / PPQN

    def seconds_at(self, beat: float) -> float:
        """Monotonic seconds at which a beat falls; +inf while the transport is stopped."""
        if not self.running:
            return math.inf
        t0, period = self._fit
        return t0 + beat * PPQN * period

    def beat_at(self, seconds: float) -> float:
        """The beat at a monotonic time; the stopped position while stopped."""
        if not self.running:
            return self._position / PPQN
        t0, period = self._fit
        return (seconds - t0) / (period * PPQN)

    def _refit(self) -> None:
        pulses = self._pulses[-FIT_PULSES:]
        times = self._times[-FIT_PULSES:]
        if len(times) >= 2:
            gaps = [b - a for a, b in zip(times, times[1:])]
            self._period = sorted(gaps)[len(gaps) // 2]  # median gap: the tempo between runs
        if len(pulses) >= 3:
            n = len(pulses)
            mean_k = sum(k for k, _ in pulses) / n
            mean_t = sum(t for _, t in pulses) / n
            var = sum((k - mean_k) ** 2 for k, _ in pulses)
            period = sum((k - mean_k) * (t - mean_t) for k, t in pulses) / var
            if period <= 0:
                period = self._period
            self._fit = (mean_t - period * mean_k, period)
        elif pulses:
            k, t = pulses[-1]
            self._fit = (t - k * self._period, self._period)
        else:  # stopped: only the tempo is known
            self._fit = (self._fit[0], self._period)

    def pulse(self, t: float) -> None:
        """A Timing Clock message (0xF8) arrived at monotonic time t."""
        with self._lock:
            self._times.append(t)
            del self._times[:-FIT_PULSES]
            self._last_pulse_s = t
            if self._armed:
                self._armed = False
                self._index = self._position
                self._pulses = []
                self.running = True
            if self.running:
                self._pulses.append((self._index, t))
                del self._pulses[:-FIT_PULSES]
                self._index += 1
                self._position = self._index
            self._refit()
            started = self.running and self._index == self._position and len(self._pulses) == 1
        if started and self.on_run is not None:
            self.on_run()

    def start(self, t: float) -> None:
        """Start (0xFA): play from beat 0 at the next pulse."""
        with self._lock:
            self.running = False
            self._position = 0
            self._armed = True

    def continue_(self, t: float) -> None:
        """Continue (0xFB): play from the song position at the next pulse."""
        with self._lock:
            self.running = False
            self._armed = True

    def stop(self, t: float) -> None:
        """Stop (0xFC): the transport halts where it is."""
        with self._lock:
            self.running = False
            self._armed = False

    def song_position(self, sixteenths: int) -> None:
        """Song Position Pointer (0xF2), in MIDI beats (sixteenth notes); ignored while running."""
        with self._lock:
            if not self.running:
                self._position = int(sixteenths) * (PPQN // 4)

    def timed_out(self, now: float) -> bool:
        """True if the transport runs but no pulse came for TIMEOUT_BEATS beats (then it stops)."""
        last = self._last_pulse_s
        if not self.running or last is None:
            return False
        if now - last > TIMEOUT_BEATS * self.seconds_per_beat:
            self.stop(now)
            return True
        return False
