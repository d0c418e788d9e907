"""Beat clock: beats <-> monotonic seconds. The only place the two units meet.

Every clock source answers the same two questions, seconds_at(beat) and
beat_at(seconds), so the scheduler and the improviser do not care where the
tempo comes from.
"""

from __future__ import annotations

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

    def start_at(self, origin_s: float) -> None:
        """Put beat 0 at a monotonic time (seconds), keeping the tempo."""
        with self._lock:
            self._anchor = (0.0, float(origin_s), self._anchor[2])

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
