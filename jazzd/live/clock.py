"""Beat clock: beats <-> monotonic seconds. The only place the two units meet.

Every clock source answers the same questions, so the scheduler and the session
do not care where the tempo comes from (isobar's clock sources share one
contract the same way):

- seconds_at(beat): the monotonic time (seconds) a beat falls at, as best known;
- beat_at(seconds): the beat at a monotonic time;
- due_s(beat): when a message at that beat may be sent. For the internal clock
  that is seconds_at(beat); a MIDI clock follower sends nothing before the DAW's
  pulse at or before the beat has arrived, so a Stop in place of a pulse means
  no note of that beat sounds;
- running: whether the transport runs.

Every time is passed in by the caller (mido's MidiFile.play(now=...) does the
same), so tests drive a clock with made-up times and no waiting.
"""

from __future__ import annotations

import collections
import math
import threading
import time

from jazzd.core.midi import PPQN, SIXTEENTHS_PER_BEAT

MIN_BPM = 1.0
MAX_BPM = 1000.0


def check_bpm(bpm: float) -> float:
    """The tempo as a float.

    Raises:
        ValueError: for a tempo that is not a finite number in MIN_BPM..MAX_BPM.
    """
    if not (isinstance(bpm, (int, float)) and math.isfinite(bpm) and MIN_BPM <= bpm <= MAX_BPM):
        raise ValueError(f"tempo must be a finite number of BPM in {MIN_BPM:g}..{MAX_BPM:g}, got {bpm}")
    return float(bpm)


class TempoClock:
    """The internal clock: a tempo in BPM from an origin on the monotonic clock.

    Args:
        bpm: tempo in beats (quarter notes) per minute.
        origin_s: the monotonic time of beat 0. Default 0.0; start_at() sets it.
    Raises:
        ValueError: for a tempo outside MIN_BPM..MAX_BPM or not finite.
    """

    running = True  # the internal clock's transport always runs

    def __init__(self, bpm: float, origin_s: float = 0.0):
        # (anchor beat, anchor seconds, seconds per beat), replaced as one tuple
        # so readers on other threads never see half a tempo change.
        self._anchor = (0.0, float(origin_s), 60.0 / check_bpm(bpm))
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

    due_s = seconds_at

    def beat_at(self, seconds: float) -> float:
        """The beat (may be fractional or negative) at a monotonic time in seconds."""
        anchor_beat, anchor_s, spb = self._anchor
        return anchor_beat + (seconds - anchor_s) / spb

    def start_at(self, origin_s: float, beat: float = 0.0) -> None:
        """Put a beat (default 0) at a monotonic time (seconds), keeping the tempo."""
        with self._lock:
            self._anchor = (float(beat), float(origin_s), self._anchor[2])

    def set_bpm(self, bpm: float, at_s: float) -> None:
        """Change the tempo from a moment (monotonic seconds) on, keeping the beat continuous there.

        Raises:
            ValueError: for a tempo outside MIN_BPM..MAX_BPM or not finite.
        """
        spb = 60.0 / check_bpm(bpm)
        with self._lock:
            self._anchor = (self.beat_at(at_s), at_s, spb)


FIT_PULSES = PPQN  # tempo and phase are fitted over the last beat of pulses
TIMEOUT_BEATS = 2.0  # no pulse for this long while running: every note released until the clock comes back
TIMEOUT_MIN_S = 0.5  # ... and never less than this (two beats at 240 BPM)
KEPT_PULSES = 64 * PPQN  # arrival times kept for due_s(): more than any lookahead
# Pulses lost on the way in (a JACK client that missed its cycles drops the MIDI of those cycles): a gap of
# LOSS_GAP pulse periods or more, after which the pulses come on at the tempo of before, one step later by the
# tempo line than their count says. Pulses only held up come after such a gap all at once, and a tempo drop
# keeps its longer gaps: neither is a step, so neither is counted.
LOSS_GAP = 1.5  # pulse periods: a gap this long may hide lost pulses
LOSS_FIT_MIN = 12  # pulses of tempo line needed before a gap to judge it
LOSS_CONFIRM_PULSES = 4  # pulses after the gap (it included) that show the step ...
LOSS_CONFIRM_S = 0.05  # ... and the time they must span at least (a few JACK periods, so arrival jitter averages)
LOSS_STEP_TOLERANCE = 0.4  # pulse periods: how far the mean step may be from a whole number of pulses
LOSS_TEMPO_TOLERANCE = 0.2  # how far the tempo after the gap may be from the tempo before it
LOSS_JITTERS = 3.0  # a gap's step must stand this many RMS arrival jitters above LOSS_GAP - 1 periods
# A MIDI clock far above MAX_BPM (a runaway sender: 10 kHz of pulses played 312 bars in 3 s) is refused: its pulses
# move nothing until it is back within MAX_BPM. The rate is read over the last RUNAWAY_PULSES arrivals, without the
# first bunch of them that share one arrival time: pulses held up and delivered together in one JACK cycle (a DAW
# catching up) are one bunch, and are never refused; a runaway comes in bunch after bunch, cycle after cycle.
RUNAWAY_PULSES = 2 * PPQN
RUNAWAY_BPM = 1250.0  # refused above this (MAX_BPM plus the bunching of pulses into JACK periods) ...
RUNAWAY_MIN_S = 0.004  # ... read over at least this long (about a JACK period of 256 frames)
BUNCH_S = 0.001  # arrivals this close share one bunch
RUNAWAY_RECOVER_S = 0.5  # a refused clock is followed again once it has come within MAX_BPM for this long


class MidiClock:
    """Follows MIDI beat clock: 24 pulses per quarter note, Start, Stop, Continue, Song Position.

    Pulse k of a run is beat (start position + k / 24). A message at a beat is
    due when the pulse at or before that beat arrives (plus the fraction of a
    pulse period for a beat between pulses): the DAW's pulse is the beat, so a
    tempo jump is followed at once and a Stop sent in place of a pulse leaves
    that pulse's notes unplayed. The tempo (for seconds_at, beat_at and the
    fraction) is a least-squares line through the last FIT_PULSES pulses.

    MIDI clock carries no time stamps, so a pulse lost on the way in (an xrun at
    jazzd's input drops the MIDI of the cycles it missed) would put jazzd's beat
    behind the DAW's for good. The clock counts them: a gap of LOSS_GAP pulse
    periods or more, after which the pulses come on at the same tempo but
    whole periods later on the tempo line, is that many pulses lost (decided
    LOSS_CONFIRM_PULSES pulses and LOSS_CONFIRM_S later, so pulses only held up
    and then delivered together, or a tempo drop, are never counted); the
    position moves on by them, and lost_pulses counts them all.

    The caller passes every arrival time; the clock reads no clock itself.

    Args:
        bpm: the tempo assumed before any pulse arrives.
    Raises:
        ValueError: for a tempo outside MIN_BPM..MAX_BPM or not finite.
    """

    def __init__(self, bpm: float = 120.0):
        self._period = 60.0 / check_bpm(bpm) / PPQN
        self._fit = (0.0, self._period)  # seconds at pulse 0 (of the song), seconds per pulse
        self._times: list[float] = []  # recent pulse times, running or not, for the tempo
        self._arrivals: dict[int, float] = {}  # song pulse index -> arrival seconds, this run
        self.running = False
        self._armed = False  # Start or Continue seen; the next pulse starts the run
        self._position = 0  # pulses: the next pulse's index, or where the transport stopped
        self._last_pulse_s: float | None = None
        self._gap: _Gap | None = None  # a gap that may hide lost pulses, being judged
        self._times_line: tuple[float, float] | None = None  # _refit's line through _times (t0, period), or None
        self._arrived: collections.deque[float] = collections.deque(maxlen=RUNAWAY_PULSES)  # followed or refused
        self.refused_bpm: float | None = None  # the tempo of a clock refused as a runaway (see pulse), while it is
        self._too_fast_s = -math.inf  # the last arrival that came too fast (refusing, or keeping a refusal)
        self.lost_pulses = 0  # pulses counted as lost on the way in, since the clock was made
        self.last_loss: tuple[int, float] | None = None  # (pulses, gap in seconds) of the last loss counted
        self._lock = threading.Lock()

    @property
    def bpm(self) -> float:
        return 60.0 / (self._fit[1] * PPQN)

    @property
    def seconds_per_beat(self) -> float:
        return self._fit[1] * PPQN

    @property
    def position_beats(self) -> float:
        """Where the transport is (running: the next pulse) or will start (stopped), in beats."""
        return self._position / PPQN

    def _last(self) -> tuple[int, float]:
        k = self._position - 1
        return k, self._arrivals[k]

    def seconds_at(self, beat: float) -> float:
        """Monotonic seconds at which a beat falls by the fitted line, never later than counting on from the
        last pulse (after a tempo jump up the fit lags); +inf while stopped."""
        if not self.running:
            return math.inf
        t0, period = self._fit
        fitted = t0 + beat * PPQN * period
        k, t_last = self._last()
        if beat * PPQN >= k:
            return min(fitted, t_last + (beat * PPQN - k) * period)
        return fitted

    def beat_at(self, seconds: float) -> float:
        """The beat at a monotonic time by the fitted line, never behind counting on from the last pulse (so
        the playhead follows a tempo jump at once, and one late pulse does not jolt it) and never past the
        next pulse's beat (pulses held up and then delivered together can bend the fit: the DAW's place is
        known only from its pulses); the stopped position while stopped."""
        if not self.running:
            return self._position / PPQN
        t0, period = self._fit
        fitted = (seconds - t0) / (period * PPQN)
        k, t_last = self._last()
        if seconds >= t_last:
            return min(max(fitted, (k + (seconds - t_last) / period) / PPQN), (k + 1) / PPQN)
        return min(fitted, k / PPQN)

    def due_s(self, beat: float) -> float:
        """When a message at a beat may be sent: the arrival of the pulse at or before it
        (+inf until that pulse has come, and while stopped), plus the rest of the beat by the fitted tempo."""
        if not self.running:
            return math.inf
        exact = beat * PPQN
        k = math.floor(exact + 1e-6)
        if k >= self._position:
            return math.inf  # that pulse has not arrived (yet)
        arrived = self._arrivals.get(k)
        if arrived is None:  # long past: by the fit
            return self.seconds_at(beat)
        due = arrived + max(0.0, exact - k) * self._fit[1]
        following = self._arrivals.get(k + 1)
        return due if following is None else min(due, following)  # never after the next pulse

    def _refit(self) -> None:
        # the tempo between runs (and for a run's first pulses): a line through the last pulses, as for a run.
        # Pulses delivered together (late ones, in one JACK cycle) share a time stamp: their median gap was 0,
        # a tempo of 0 seconds a beat (a division by zero in beat_at)
        line = self._times_line = _line(list(enumerate(self._times[-FIT_PULSES:])))
        if line is not None:
            self._period = line[1]
        if not self.running:
            self._fit = (self._fit[0], self._period)
            return
        pulses = [(k, self._arrivals[k]) for k in range(max(self._run_start, self._position - FIT_PULSES),
                                                          self._position)]
        line = _line(pulses)
        if line is not None:
            self._fit = line
        elif len(pulses) >= 3:
            n = len(pulses)
            self._fit = (sum(t for _, t in pulses) / n - self._period * sum(k for k, _ in pulses) / n, self._period)
        else:
            k, t = pulses[-1]
            self._fit = (t - k * self._period, self._period)

    def pulse(self, t: float) -> bool:
        """A Timing Clock message (0xF8) arrived at monotonic time t.

        A clock whose pulses come faster than RUNAWAY_BPM is refused: the transport halts where it is, its
        pulses move nothing (refused_bpm says its tempo), and once they are back within MAX_BPM the next one
        plays on from there, as after a lapse.

        Returns:
            True if this pulse started a run (beat of the start position is now due).
        """
        with self._lock:
            self._arrived.append(t)
            bpm = self._arrival_bpm()
            whole = self._arrival_bpm(whole=True)
            if (bpm is not None and bpm > RUNAWAY_BPM) or (self.refused_bpm is not None and (whole is None
                                                                                             or whole > MAX_BPM)):
                self._too_fast_s = t
            if self.refused_bpm is None and bpm is not None and bpm > RUNAWAY_BPM:
                self.refused_bpm = bpm
                if self.running:
                    self.running, self._armed = False, True  # plays on from here when the clock is sane again
                self._gap = None
                return False
            if self.refused_bpm is not None:
                # back only when the whole window comes within MAX_BPM, its first bunch counted too (without
                # it, a window that held one bunch and the start of the next looked slow), and has for
                # RUNAWAY_RECOVER_S (a runaway sender that falters a moment is not back)
                if whole is None or whole > MAX_BPM or t - self._too_fast_s < RUNAWAY_RECOVER_S:
                    self.refused_bpm = bpm if bpm is not None and bpm > MAX_BPM else self.refused_bpm
                    return False
                self.refused_bpm = None
            previous_s = self._last_pulse_s
            started = False
            if self._armed:
                self._armed = False
                self.running = started = True
                self._arrivals = {}
                self._run_start = self._position
                self._gap = None
            elif self.running and previous_s is not None:
                self._watch_for_loss(t, previous_s)
            self._times.append(t)
            del self._times[:-FIT_PULSES]
            self._last_pulse_s = t
            if self.running:
                self._arrivals[self._position] = t
                self._arrivals.pop(self._position - KEPT_PULSES, None)
                self._position += 1
                if self._gap is not None:
                    self._gap.times.append(t)
                    if self._gap.judgeable():
                        self._judge_gap()
            self._refit()
        return started

    def _arrival_bpm(self, whole: bool = False) -> float | None:
        """The tempo the last arrivals come at, without their first bunch (see RUNAWAY_PULSES) unless whole;
        None if they span less than RUNAWAY_MIN_S."""
        times = self._arrived
        first = times[0]
        span = times[-1] - first
        if span < RUNAWAY_MIN_S:
            return None
        after = len(times) - 1 if whole else sum(1 for x in times if x > first + BUNCH_S)
        return after / span * 60.0 / PPQN

    def _watch_for_loss(self, t: float, previous_s: float) -> None:
        # called before the pulse at t is counted: the tempo line is _refit's, through the pulses before it
        line = self._times_line if len(self._times) >= LOSS_FIT_MIN else None
        if line is None or t - previous_s < LOSS_GAP * line[1]:
            return
        if self._gap is not None:  # judged on what it has, if that is enough; the pulses it counted join the line
            if len(self._gap.times) >= LOSS_CONFIRM_PULSES:
                self._judge_gap()
            self._gap = None
            line = _line(list(enumerate(self._times[-FIT_PULSES:])))
            if line is None:
                return
        points = self._times[-FIT_PULSES:]
        t0, period = line
        # a step must stand out of the arrival jitter the line has seen (a sender on a busy machine)
        jitter = math.sqrt(sum((x - t0 - k * period) ** 2 for k, x in enumerate(points)) / len(points)) / period
        step = (t - t0) / period - len(points)
        if step >= LOSS_GAP - 1.0 + LOSS_JITTERS * jitter:
            self._gap = _Gap(t0, period, len(points), self._position, t - previous_s)

    def _judge_gap(self) -> None:
        gap, self._gap = self._gap, None  # it has LOSS_CONFIRM_PULSES pulses at least
        # where each pulse after the gap falls on the tempo line of before, against where its count puts it
        steps = [(t - gap.t0) / gap.period - (gap.expected + w) for w, t in enumerate(gap.times)]
        step = sum(steps) / len(steps)
        lost = round(step)
        after = _line(list(enumerate(gap.times)))
        if (lost < 1 or abs(step - lost) > LOSS_STEP_TOLERANCE or after is None
                or abs(after[1] / gap.period - 1.0) > LOSS_TEMPO_TOLERANCE):
            return
        # the pulses after the gap move on by the lost ones, which get the times the tempo line gave them
        n = len(gap.times)
        for k in range(gap.first + n - 1, gap.first - 1, -1):
            self._arrivals[k + lost] = self._arrivals.pop(k)
        estimated = [gap.t0 + (gap.expected + j) * gap.period for j in range(lost)]
        for j, t in enumerate(estimated):
            self._arrivals[gap.first + j] = min(t, gap.times[0])
        self._position += lost
        for k in range(self._position - KEPT_PULSES - lost, self._position - KEPT_PULSES):
            self._arrivals.pop(k, None)
        at = len(self._times) - n
        if at >= 0:
            self._times[at:at] = estimated
            del self._times[:-FIT_PULSES]
        self.lost_pulses += lost
        self.last_loss = (lost, gap.seconds)

    def start(self, t: float) -> None:
        """Start (0xFA): play from beat 0 at the next pulse."""
        with self._lock:
            self.running = False
            self._position = 0
            self._armed = True
            self._gap = None

    def continue_(self, t: float) -> None:
        """Continue (0xFB): play from the song position at the next pulse."""
        with self._lock:
            self.running = False
            self._armed = True
            self._gap = None

    def stop(self, t: float) -> None:
        """Stop (0xFC): the transport halts where it is."""
        with self._lock:
            self.running = False
            self._armed = False
            self._gap = None

    def lapse(self, t: float) -> None:
        """The clock stopped arriving (see timed_out): the transport halts where it is, and the next pulse
        plays on from there. Pulses that come back without Stop, Start or Continue are a DAW that never
        stopped (a stalled machine, messages lost in an xrun), not the end of the song; a DAW that stops
        sends Stop, and the pulses it may go on sending then start nothing."""
        with self._lock:
            self.running = False
            self._armed = True
            self._gap = None

    def song_position(self, sixteenths: int) -> None:
        """Song Position Pointer (0xF2), in MIDI beats (sixteenth notes); ignored while running."""
        with self._lock:
            if not self.running:
                self._position = int(sixteenths) * (PPQN // SIXTEENTHS_PER_BEAT)

    @property
    def last_pulse_s(self) -> float | None:
        """Monotonic seconds of the last pulse's arrival, or None before any."""
        return self._last_pulse_s

    def timed_out(self, now: float) -> bool:
        """True if the transport runs but no pulse came for TIMEOUT_BEATS beats (the caller then calls lapse)."""
        last = self._last_pulse_s
        return self.running and last is not None and now - last > max(TIMEOUT_BEATS * self.seconds_per_beat,
                                                                        TIMEOUT_MIN_S)


class _Gap:
    """A gap in the pulses of a run that may hide lost ones, and the pulses since, while it is judged.

    t0, period: the tempo line of the pulses before it (seconds at its point 0, seconds per pulse);
    expected: the line's point the gap's pulse would be, had none been lost; first: that pulse's song index;
    seconds: the gap; times: arrival seconds of the pulses from the gap's on.
    """

    def __init__(self, t0: float, period: float, expected: int, first: int, seconds: float):
        self.t0, self.period, self.expected, self.first, self.seconds = t0, period, expected, first, seconds
        self.times: list[float] = []

    def judgeable(self) -> bool:
        return len(self.times) >= LOSS_CONFIRM_PULSES and self.times[-1] - self.times[0] >= LOSS_CONFIRM_S


def _line(points: list[tuple[int, float]]) -> tuple[float, float] | None:
    """The least-squares line t = t0 + k * period through (pulse index, arrival seconds) points, as
    (t0, period); None for fewer than 3 points or a period that is not above 0 (pulses that all arrived
    at once)."""
    n = len(points)
    if n < 3:
        return None
    mean_k = sum(k for k, _ in points) / n
    mean_t = sum(t for _, t in points) / n
    var = sum((k - mean_k) ** 2 for k, _ in points)
    period = sum((k - mean_k) * (t - mean_t) for k, t in points) / var
    if not period > 0:
        return None
    # within the tempi a clock can have: a burst after a gap can tilt the line to almost flat
    period = min(max(period, 60.0 / MAX_BPM / PPQN), 60.0 / MIN_BPM / PPQN)
    return mean_t - period * mean_k, period


class ClockOffset:
    """Another monotonic clock (JACK's and Link's: CLOCK_MONOTONIC_RAW on Linux) against time.monotonic().

    The offset comes from reads of the two side by side, the best of BRACKET_READS (the one whose two
    time.monotonic() reads around the other clock's are closest: a thread preempted between two reads would
    put its notes that far off their beat), taken again every REFRESH_S (the two clocks drift apart by up to a
    few microseconds a second as NTP slews one of them); a worse bracket than the last keeps the last offset,
    for up to KEEP_S.

    Args:
        read_us: reads the other clock, microseconds.
    """

    BRACKET_READS = 3
    REFRESH_S = 0.5
    KEEP_S = 5.0

    def __init__(self, read_us):
        self._read_us = read_us
        self._state = (-math.inf, math.inf, 0.0)  # (taken at, bracket seconds, offset microseconds)
        self._sample(force=True)

    def _sample(self, force: bool = False) -> None:
        best = None
        for _ in range(self.BRACKET_READS):
            before = time.monotonic()
            other = self._read_us()
            after = time.monotonic()
            if best is None or after - before < best[0]:
                best = (after - before, other - (before + after) / 2 * 1e6, after)
        taken, bracket, _ = self._state
        if force or best[0] <= 2 * bracket or best[2] - taken > self.KEEP_S:
            self._state = (best[2], best[0], best[1])

    def offset_us(self) -> float:
        """The other clock less time.monotonic(), microseconds."""
        if time.monotonic() - self._state[0] > self.REFRESH_S:
            self._sample()
        return self._state[2]

    def other_us(self, monotonic_s: float) -> float:
        """A time.monotonic() time (seconds) on the other clock (microseconds)."""
        return monotonic_s * 1e6 + self.offset_us()

    def monotonic_s(self, other_us: float) -> float:
        """A time of the other clock (microseconds) as time.monotonic() reads it (seconds)."""
        return (other_us - self.offset_us()) / 1e6


class Change:
    """What a followed transport did since the last poll (PolledClock.poll): kind "start", "stop", "locate"
    (a jump to another place while it runs) or "tempo", at a beat, with the tempo after it (BPM)."""

    __slots__ = ("kind", "beat", "bpm")

    def __init__(self, kind: str, beat: float, bpm: float):
        self.kind, self.beat, self.bpm = kind, beat, bpm

    def __repr__(self) -> str:
        return f"Change({self.kind!r}, beat={self.beat:.3f}, bpm={self.bpm:.2f})"


LOCATE_TOLERANCE_BEATS = 0.05  # a followed transport whose beat is this far from where its tempo said has moved
START_GRACE_BEATS = 0.5  # a start read this soon after the transport began plays from where it began


class PolledClock:
    """A transport read now and then (Ableton Link, JACK transport): between two reads, a tempo line.

    A subclass's poll(now) reads the transport and calls _update(); seconds_at, beat_at and due_s answer from
    the line the last read left, so the sender's thread never calls into the transport's library. due_s(beat)
    is output_latency_s before the beat (the port's stated latency: jazzd's JACK output sounds every message
    that long after its due time), so the notes sound on the transport's beats, not that latency after them.

    Attributes:
        running: whether the transport rolls. bpm, seconds_per_beat: its tempo.
        output_latency_s: set by the daemon to its output port's latency (seconds).
        position_beats: the beat at the last read (where it stopped, while stopped).
    """

    def __init__(self, bpm: float):
        self._anchor = (0.0, 0.0, 60.0 / check_bpm(bpm))  # (beat, monotonic seconds, seconds per beat)
        self.running = False
        self.output_latency_s = 0.0

    @property
    def bpm(self) -> float:
        return 60.0 / self._anchor[2]

    @property
    def seconds_per_beat(self) -> float:
        return self._anchor[2]

    @property
    def position_beats(self) -> float:
        return self._anchor[0]

    def seconds_at(self, beat: float) -> float:
        """Monotonic seconds at which a beat falls by the last read tempo line; +inf while stopped."""
        if not self.running:
            return math.inf
        anchor_beat, anchor_s, spb = self._anchor
        return anchor_s + (beat - anchor_beat) * spb

    def due_s(self, beat: float) -> float:
        """When a message at a beat is handed to the port: its time less the port's latency; +inf while stopped."""
        return self.seconds_at(beat) - self.output_latency_s

    def beat_at(self, seconds: float) -> float:
        """The beat at a monotonic time by the last read line; the stopped position while stopped."""
        anchor_beat, anchor_s, spb = self._anchor
        if not self.running:
            return anchor_beat
        return anchor_beat + (seconds - anchor_s) / spb

    def _update(self, running: bool, beat: float, at_s: float, bpm: float,
                started_at: float | None = None) -> list[Change]:
        """Take a read: the transport at `beat` at monotonic `at_s`, rolling or not, at `bpm`; `started_at`: the
        beat it began rolling at (or was moved to), if known. Returns the changes it shows against the read before: a start at the
        beat it began at when that is less than START_GRACE_BEATS ago (its first notes go out a few ms late,
        not unplayed), else at the beat it is at (jazzd joined a session that plays)."""
        bpm = min(max(float(bpm), MIN_BPM), MAX_BPM)
        changes = []
        if running and not self.running:
            if started_at is None:
                started_at = self._anchor[0]  # where it stood, stopped, at the last read
            recent = 0.0 <= beat - started_at < START_GRACE_BEATS
            changes.append(Change("start", started_at if recent else beat, bpm))
        elif self.running and not running:
            changes.append(Change("stop", beat, bpm))
        elif running:
            # a tempo changed somewhere since the last read moves the beat by up to this much, not a jump
            bent = abs(bpm - self.bpm) / 60.0 * max(0.0, at_s - self._anchor[1])
            if abs(beat - self.beat_at(at_s)) > LOCATE_TOLERANCE_BEATS + bent:
                recent = started_at is not None and 0.0 <= beat - started_at < START_GRACE_BEATS
                changes.append(Change("locate", started_at if recent else beat, bpm))
            if abs(bpm - self.bpm) > 1e-6:
                changes.append(Change("tempo", beat, bpm))
        self._anchor = (float(beat), float(at_s), 60.0 / bpm)  # one tuple: readers never see half of it
        self.running = running
        return changes
