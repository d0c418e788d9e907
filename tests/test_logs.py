"""jazzd's log: warnings of one kind come in a burst, then once a second, the rest counted (jazzd.logs)."""

import logging

from jazzd.logs import RateLimit


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def records(logger_name="jazzd.live.session"):
    out = []

    class Keep(logging.Handler):
        def emit(self, record):
            out.append((record.levelname, record.getMessage()))
    return out, Keep()


def test_a_flood_of_one_warning_is_held_to_a_burst_then_once_a_second_and_counted():
    clock = Clock()
    limit = RateLimit(burst=5, rate_per_s=1.0, clock=clock)
    out, handler = records()
    handler.addFilter(limit)
    logger = logging.getLogger("test.logs.flood")
    logger.propagate, logger.level = False, logging.INFO
    logger.addHandler(handler)
    for i in range(509):  # a 10 kHz MIDI clock's "late by" lines, 3 s of them
        clock.now += 3.0 / 509
        logger.warning("late by %.1f ms: %s", i / 10, "note_on")
        logger.error("an error %d", i) if i % 100 == 0 else None
        logger.info("bar %d", i) if i % 50 == 0 else None
    late = [m for level, m in out if m.startswith("late by")]
    assert 5 <= len(late) <= 5 + 3  # the burst, then one a second
    assert any("more like it since" in m for m in late[5:])
    assert sum(1 for level, _ in out if level == "ERROR") == 6 and sum(1 for level, _ in out if level == "INFO") == 11
    held = 509 - len(late)
    counted = sum(int(m.split("(and ")[1].split(" more")[0]) for m in late if "(and " in m)
    limit.flush(logger)
    summary = [m for _, m in out if "held back" in m]
    assert len(summary) == 1 and counted + int(summary[0].split()[0]) == held, summary
    clock.now += 10
    logger.warning("another kind")
    logger.warning("late by %.1f ms: %s", 0.0, "x")
    assert out[-2:] == [("WARNING", "another kind"), ("WARNING", "late by 0.0 ms: x")]  # a quiet spell refills
