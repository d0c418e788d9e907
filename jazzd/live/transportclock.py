"""JackTransportClock: jazzd on the JACK transport (Ardour and other JACK apps share it).

The JACK transport is one per server: rolling or stopped, a frame position and, where
a timebase master (a DAW such as Ardour) gives them, bar, beat, tick and BPM. jazzd
reads it every POLL_S from a JACK client of its own (`jazzd-transport`, no ports, no
process callback: jack_transport_query reads the server's shared position), and:

- plays while the transport rolls, on its bars and beats: jazzd's beat is
  (bar - 1) * beats_per_bar + (beat - 1) + tick / ticks_per_beat of the timebase master's
  position, at its BPM; with no timebase master, the frame position at jazzd's own
  tempo ([clock] bpm), beat 0 at frame 0;
- releases every note when it stops, and plays on from where it is when it rolls again;
- relocates with it: a position that jumps while it rolls (the DAW's playhead moved)
  releases what sounds and plays on from the new place, as Song Position does for
  MIDI clock.

Times: the position a read gives is that of the current cycle's start, stamped with
JACK's clock (usecs: CLOCK_MONOTONIC_RAW on Linux), turned into time.monotonic().
"""

from __future__ import annotations

import logging

from jazzd.errors import PortError
from jazzd.live.clock import Change, PolledClock
from jazzd.live.jackoutput import JACK_CLOCK

log = logging.getLogger(__name__)

POLL_S = 0.01  # the session reads the transport at least this often
MASTER_GONE_S = 0.5  # a timebase master's bars and beats missing this long: it is gone (briefly: a relocation)


def position_beats(position: dict, bpm: float) -> tuple[float, float, float | None]:
    """jazzd's beat and the tempo in a JACK transport position (JACK-Client's transport_query()[1]).

    Args:
        position: with bar, beat, tick, ticks_per_beat, beats_per_bar, beats_per_minute where a timebase master
            gives them (bar and beat count from 1), and always frame and frame_rate.
        bpm: the tempo to count frames at where no timebase master gives one.
    Returns:
        (beat, BPM, the master's beats per bar or None without a master).
    """
    if "bar" in position and position.get("beats_per_minute", 0) > 0:
        per_bar = float(position["beats_per_bar"])
        ticks = float(position["ticks_per_beat"]) or 1.0
        beat = (position["bar"] - 1) * per_bar + (position["beat"] - 1) + position["tick"] / ticks
        return float(beat), float(position["beats_per_minute"]), per_bar
    return position["frame"] / float(position["frame_rate"]) * bpm / 60.0, bpm, None


class JackTransportClock(PolledClock):
    """Follows the JACK transport (see the module docstring).

    Args:
        bpm: the tempo where no timebase master gives one ([clock] bpm).
        beats_per_bar: jazzd's bar (a master with another meter is warned about once).
        client_name: the JACK client that reads the transport.
    Raises:
        ValueError: for a tempo outside MIN_BPM..MAX_BPM.
    """

    poll_s = POLL_S
    name = "JACK transport"

    def __init__(self, bpm: float = 120.0, beats_per_bar: float = 4.0, client_name: str = "jazzd-transport"):
        super().__init__(bpm)
        self.quantum = float(beats_per_bar)
        self._own_bpm = float(bpm)
        self._client_name = client_name
        self.client = None
        self._master: bool | None = None  # whether a timebase master gave the last position
        self._missing_since: float | None = None  # when the master's bars and beats went missing
        self._starting_beat: float | None = None  # where a start or a locate seen starting begins

    def join(self) -> None:
        """Open the JACK client that reads the transport.

        Raises:
            PortError: if no JACK server answers or JACK-Client is not usable.
        """
        try:
            import jack

            jack.set_error_function(lambda message: None)
            self._jack = jack
            self.client = jack.Client(self._client_name, no_start_server=True)
        except (ImportError, OSError) as err:
            raise PortError(f"--clock jack needs JACK-Client and libjack ({err})") from None
        except Exception as err:  # jack.JackOpenError
            raise PortError(f"--clock jack: no JACK server answers ({err})") from None

    def close(self) -> None:
        """Close the client. Safe twice."""
        if self.client is not None:
            try:
                self.client.close()
            except Exception:  # the server went away: nothing to close
                pass
            self.client = None

    def poll(self, now: float) -> list[Change]:
        """Read the transport: rolling or not, where, how fast. Returns what changed since the last read."""
        if self.client is None:
            return []
        state, position = self.client.transport_query()
        beat, bpm, per_bar = position_beats(position, self._own_bpm)
        master = per_bar is not None
        if self._master and not master:
            # a position without bars and beats between a relocation and the master's next callback: not read
            self._missing_since = now if self._missing_since is None else self._missing_since
            if now - self._missing_since < MASTER_GONE_S:
                return []
        self._missing_since = None
        if master != self._master:
            self._master = master
            if master:
                log.info("JACK transport: a timebase master gives bars and beats (%g/%g, %.1f BPM)",
                         per_bar, position.get("beat_type", 4), bpm)
                if abs(per_bar - self.quantum) > 1e-6:
                    log.warning("JACK transport: the timebase master's bar has %g beats, the progression's %g: "
                                "jazzd counts beats from its bar 1, its bar lines are not the DAW's", per_bar,
                                self.quantum)
            else:
                log.info("JACK transport: no timebase master; counting frames at %.1f BPM", bpm)
        if state == self._jack.STARTING:
            # between a locate or a start and the first rolling cycle (JACK waits for its slow-sync clients): not
            # read, so a locate while rolling is one jump to the new place, not a stop and a start; where it
            # starts from is kept, for the first beat's notes
            self._starting_beat = beat
            return []
        rolling = state == self._jack.ROLLING
        started_at, self._starting_beat = self._starting_beat, None
        return self._update(rolling, beat, JACK_CLOCK.monotonic_s(position["usecs"]), bpm, started_at)
