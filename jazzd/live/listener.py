"""Listener: the MIDI input, polled on its own thread and turned into typed events.

The input port queues what arrives, stamped with its arrival time, where no
Python of the daemon's runs: on JACK a child process of its own
(jazzd.live.jackinput), elsewhere python-rtmidi's thread (jazzd.live.ports.RtMidiInput).
So input never blocks the MIDI system. The listener thread polls that
queue, turns each message into an event (jazzd.live.events: notes, control
changes, clock pulses, transport, song position) and hands it to the session's
thread through a queue. Everything else (sysex, active sensing, aftertouch) is
dropped; bytes that are no MIDI message are counted and logged once a second
at most.

The poll interval adapts: every POLL_ACTIVE_S while messages arrive (a player,
a MIDI clock), every POLL_IDLE_S after IDLE_AFTER_S of silence. Arrival times
come from the MIDI system, not from the poll, so a slower poll never moves a
note; it only delays jazzd's reaction to the first message after a silence by
up to POLL_IDLE_S.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from typing import Callable

from jazzd.live.events import from_message

log = logging.getLogger(__name__)

POLL_ACTIVE_S = 0.001
POLL_IDLE_S = 0.010
IDLE_AFTER_S = 2.0
REPORT_EVERY_S = 1.0  # unreadable input is logged at most this often


class Listener:
    """Polls a MIDI input and puts its events on a queue (see the module docstring).

    Args:
        events: the queue the session's thread reads.
        on_error: called (on the listener thread) with the exception that stops it.
        clock: returns monotonic seconds (injected by tests). Default time.monotonic.
    Attributes:
        received: messages read.
    """

    def __init__(self, events: queue.Queue, on_error: Callable[[BaseException], None] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.events = events
        self.on_error = on_error
        self.clock = clock
        self.received = 0
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._reported_unreadable = 0
        self._reported_at = -REPORT_EVERY_S
        self._last_message_s = -IDLE_AFTER_S
        # the input has been read up to this time (monotonic seconds): every message that arrived before it is on
        # the queue. A stalled jazzd (SIGSTOP, a VM paused) finds pulses waiting in its input when it wakes: the
        # session judges a MIDI clock that "stopped arriving" by this, not by the time now
        self.read_until_s = -math.inf

    def start(self, port) -> None:
        """Poll port (anything with poll() -> [(t, mido message)]) on the listener thread until stop()."""
        self._thread = threading.Thread(target=self._run, args=(port,), name="jazzd-listener", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def poll_interval(self, now: float) -> float:
        """Seconds to the next poll: short while messages arrive, longer after a silence."""
        return POLL_ACTIVE_S if now - self._last_message_s < IDLE_AFTER_S else POLL_IDLE_S

    def _run(self, port) -> None:
        try:
            while not self._stopping.is_set():
                time.sleep(self.poll_interval(self.clock()))  # cheaper than Event.wait at 1,000 wake-ups/s
                self.poll_once(port)
        except BaseException as err:  # a port that fails: the daemon stops and releases every note
            if self.on_error is not None:
                self.on_error(err)

    def poll_once(self, port) -> int:
        """Read what the port has queued, put its events on the queue; returns how many messages were read.

        Then read_until_s is the time this poll began (what arrived before it is on the queue now)."""
        began = self.clock()
        messages = port.poll()
        if messages:
            for t, msg in messages:
                event = from_message(t, msg)
                if event is not None:
                    self.events.put(event)
            self.received += len(messages)
            self._last_message_s = self.clock()
        self.read_until_s = began
        if getattr(port, "unreadable", 0) > self._reported_unreadable:
            self._report_unreadable(port)
        return len(messages)

    def _report_unreadable(self, port) -> None:
        """One warning a second at most for bytes on the input that are no MIDI message."""
        count = port.unreadable
        now = self.clock()
        if now - self._reported_at >= REPORT_EVERY_S:
            log.warning("ignored %d MIDI input message(s) that are not MIDI, the last: %s",
                        count - self._reported_unreadable, port.last_unreadable.hex(" ").upper())
            self._reported_unreadable = count
            self._reported_at = now
