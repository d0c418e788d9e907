"""jazzd's log: one line per record on stderr, and warnings of one kind rate-limited.

A runaway input can make the same warning hundreds of times a second (a 10 kHz MIDI
clock: 509 warnings in 3 s; a stall: a "late by" line per message). Each kind of
warning (its logger and its format string, whatever its arguments) may come in a
burst of BURST, then RATE_PER_S a second; what is held back is counted and said
on the next line of its kind let through ("... (and 37 more like it since
12:00:01)"), or by flush() at the end of a run. Errors are never held back.
"""

from __future__ import annotations

import logging
import sys
import time

BURST = 5  # warnings of one kind let through at once ...
RATE_PER_S = 1.0  # ... then this many a second
FORMAT = "%(asctime)s jazzd %(levelname)s: %(message)s"
DATEFMT = "%H:%M:%S"


class RateLimit(logging.Filter):
    """A token bucket per kind of warning (logger name, format string).

    Args:
        burst: warnings of a kind let through at once. rate_per_s: then this many a second.
        clock: monotonic seconds (injected by tests).
    """

    def __init__(self, burst: int = BURST, rate_per_s: float = RATE_PER_S, clock=time.monotonic):
        super().__init__()
        self.burst, self.rate, self.clock = burst, rate_per_s, clock
        self._buckets: dict[tuple[str, str], list] = {}  # kind -> [tokens, last refill, held back, since]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING:
            return True
        now = self.clock()
        kind = (record.name, str(record.msg))
        bucket = self._buckets.setdefault(kind, [float(self.burst), now, 0, None])
        bucket[0] = min(float(self.burst), bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if bucket[0] < 1.0:
            if not bucket[2]:
                bucket[3] = record.created
            bucket[2] += 1
            return False
        bucket[0] -= 1.0
        if bucket[2]:
            since = time.strftime(DATEFMT, time.localtime(bucket[3]))
            record.msg = f"{record.getMessage()} (and {bucket[2]} more like it since {since})".replace("%", "%%")
            record.args = ()
            bucket[2] = 0
        return True

    def flush(self, logger: logging.Logger) -> None:
        """Say how many warnings of each kind were held back and not said since."""
        for (name, msg), bucket in list(self._buckets.items()):
            if bucket[2]:
                held, bucket[2] = bucket[2], 0
                logger.warning("%d more warnings like %r held back since %s", held, msg,
                               time.strftime(DATEFMT, time.localtime(bucket[3])))


LIMIT = RateLimit()


def setup(level: str) -> None:
    """jazzd's log on stderr at a level ("debug", "info", "warning", "error"), warnings rate-limited."""
    logging.basicConfig(level=getattr(logging, level.upper()), stream=sys.stderr, format=FORMAT, datefmt=DATEFMT)
    for handler in logging.getLogger().handlers:
        if LIMIT not in handler.filters:
            handler.addFilter(LIMIT)
