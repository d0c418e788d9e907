"""LinkClock: jazzd on an Ableton Link session's beat, phase, tempo and start/stop.

Link (Ableton's protocol, in Live, Bitwig, Reason, Traktor, SuperCollider and many iOS
apps) shares a tempo, a beat timeline and whether the session plays among the peers of
a local network, with no master. jazzd joins as one more peer through LinkPython-extern
(the `link` module, Ableton's own library inside; an optional extra, GPL-2.0-or-later as
Link is: `pip install "jazzd[link]"`, which `make run` and `make test` do).

- Phase: the quantum is one bar (the progression's beats per bar), so jazzd's bar lines
  are the session's: jazzd's beat 0 is the first session bar line at or after the moment
  the session started playing (or jazzd joined a session that plays).
- Tempo: followed as the session changes it (read every POLL_S). Joining never changes
  it: jazzd commits nothing to the session unless its tempo CC is allowed to set it
  (`[clock] link_tempo_control`), Link's own rule for an app that joins.
- Start/stop: with `[clock] link_start_stop` (Link's start/stop sync, the default) jazzd
  plays while the session plays and releases every note when it stops; without it,
  jazzd plays from the next bar line after it joins, and ignores the session's start/stop.

Times: Link's clock (microseconds; CLOCK_MONOTONIC_RAW on Linux, the same clock as JACK's)
and jazzd's (time.monotonic()) are turned into each other by reads of the two side by side
(jazzd.live.clock.ClockOffset).
"""

from __future__ import annotations

import logging
import math

from jazzd.errors import PortError
from jazzd.live.clock import Change, ClockOffset, PolledClock

log = logging.getLogger(__name__)

POLL_S = 0.01  # the session reads the Link session at least this often
BAR_LINE_TOLERANCE_BEATS = 0.05  # a start this close after a bar line (Link rounds its times to microseconds) is on it



class LinkClock(PolledClock):
    """Follows an Ableton Link session (see the module docstring).

    Args:
        bpm: the tempo jazzd's Link offers while it is alone (a session it joins keeps its own).
        quantum: beats per bar: the session's bar lines are jazzd's. Set before join().
        start_stop: follow the session's start/stop (Link's start/stop sync).
        tempo_control: the tempo CC sets the session's tempo (else it is ignored).
    Raises:
        ValueError: for a tempo outside MIN_BPM..MAX_BPM.
    """

    poll_s = POLL_S
    name = "Link"

    def __init__(self, bpm: float = 120.0, quantum: float = 4.0, start_stop: bool = True,
                 tempo_control: bool = False):
        super().__init__(bpm)
        self.quantum = float(quantum)
        self.start_stop = start_stop
        self.tempo_control = tempo_control
        self._offer_bpm = float(bpm)
        self.link = None
        self.origin = 0.0  # the session's beat of jazzd's beat 0
        self._peers = -1

    def join(self) -> None:
        """Enable Link: jazzd becomes a peer of the session on the local network.

        Raises:
            PortError: if LinkPython-extern is not installed.
        """
        try:
            import link
        except ImportError as err:
            raise PortError(f"--clock link needs LinkPython-extern (Ableton Link; GPL-2.0-or-later): "
                            f'pip install "jazzd[link]" or `make run` ({err})') from None
        self.link = link.Link(self._offer_bpm)
        clock = self.link.clock()
        self._offset = ClockOffset(clock.micros)
        self.link.startStopSyncEnabled = self.start_stop
        self.link.enabled = True

    def close(self) -> None:
        """Leave the session. Safe twice."""
        if self.link is not None:
            self.link.enabled = False
            self.link = None

    @property
    def peers(self) -> int:
        return self.link.numPeers() if self.link is not None else 0

    def _link_us(self, monotonic_s: float) -> int:
        """A time.monotonic() time on Link's clock (whole microseconds, as Link takes them)."""
        return round(self._offset.other_us(monotonic_s))

    def _bar_line_after(self, state, link_us: int) -> float:
        beat = state.beatAtTime(link_us, self.quantum)
        return math.ceil(beat / self.quantum - BAR_LINE_TOLERANCE_BEATS / self.quantum) * self.quantum

    def poll(self, now: float) -> list[Change]:
        """Read the session at monotonic `now`: its tempo, beat and whether it plays. Returns what changed."""
        if self.link is None:
            return []
        peers = self.link.numPeers()
        if peers != self._peers:
            self._peers = peers
            log.info("Link: %d other peer%s in the session", peers, "" if peers == 1 else "s")
        state = self.link.captureAppSessionState()
        link_us = self._link_us(now)
        playing = state.isPlaying() if self.start_stop else True
        started_at = None
        if playing and not self.running:
            # jazzd's bar 1 on the session's first bar line since it started (or since jazzd joined)
            since = state.timeForIsPlaying() if self.start_stop else link_us
            self.origin = self._bar_line_after(state, since)
            started_at = 0.0
        beat = state.beatAtTime(link_us, self.quantum) - self.origin
        if not playing and self.running and self.start_stop:  # where it stopped
            stop_us = state.timeForIsPlaying()
            if stop_us <= link_us:
                beat = state.beatAtTime(stop_us, self.quantum) - self.origin
        return self._update(playing, beat, now, state.tempo(), started_at)

    def set_bpm(self, bpm: float, at_s: float) -> bool:
        """The tempo CC: set the session's tempo from monotonic `at_s` on, if tempo_control allows.

        Returns:
            Whether it was set.
        """
        if not self.tempo_control or self.link is None:
            return False
        state = self.link.captureAppSessionState()
        state.setTempo(float(bpm), self._link_us(at_s))
        self.link.commitAppSessionState(state)
        return True
