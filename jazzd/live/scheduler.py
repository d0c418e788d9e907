"""Scheduler: a queue of messages by beat, sent by one real-time thread on time.

The sender thread sleeps until the next message's absolute deadline (the clock's
seconds_at(beat), never a sum of sleeps), spins the last fraction of a
millisecond, sends, and logs when it is late. It does no musical work: the
improviser fills the queue ahead of the playhead from its own thread.

Shutdown has one path: stop() ends the sender, release() sends a note-off for
every sounding note and All Notes Off (CC 123) on every channel used.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field

import mido

from jazzd.core.realizer import Note

log = logging.getLogger(__name__)

ALL_NOTES_OFF = 123  # MIDI CC number
# At equal beats: controls and program changes first, then note-offs, then note-ons,
# so a note re-struck on the beat its predecessor ends is not cut off.
PRIORITY = {"note_off": 1, "note_on": 2}
SPIN_S = 0.0005  # sleep until this close to a deadline, then spin
LATE_WARNING_S = 0.020  # log a send later than this (isobar's clock uses 20 ms too)
MAX_WAIT_S = 0.1  # re-read the clock at least this often while waiting


@dataclass(order=True)
class _Item:
    beat: float
    priority: int
    seq: int
    msg: mido.Message = field(compare=False)


class Scheduler:
    """Sends timestamped messages to a port at the times a clock gives their beats.

    Args:
        port: an output with send(msg, due_s) and close() (see jazzd.live.ports).
        clock: anything with seconds_at(beat) (see jazzd.live.clock).
        spin_s: how long before a deadline to stop sleeping and spin. Default 0.5 ms.
        late_warning_s: lateness that gets a log line. Default 20 ms.
        record_timing: keep (due_s, sent_s) for every message (see timing).
    """

    def __init__(self, port, clock, spin_s: float = SPIN_S, late_warning_s: float = LATE_WARNING_S,
                 record_timing: bool = False):
        self.port = port
        self.clock = clock
        self.spin_s = spin_s
        self.late_warning_s = late_warning_s
        self.timing: list[tuple[float, float, str]] | None = [] if record_timing else None
        self.sounding: set[tuple[int, int]] = set()  # (channel, note) with a note-on sent and no note-off yet
        self.channels: set[int] = set()
        self.error: BaseException | None = None
        self.sent = 0
        self._heap: list[_Item] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopping = False
        self._panic = False
        self._thread: threading.Thread | None = None

    # -- filling the queue (any thread) ------------------------------------------

    def schedule(self, beat: float, msg: mido.Message) -> None:
        """Queue a message to be sent at a beat (beats of the clock)."""
        item = _Item(float(beat), PRIORITY.get(msg.type, 0), next(self._seq), msg)
        with self._cond:
            heapq.heappush(self._heap, item)
            if self._heap[0] is item:
                self._cond.notify()

    def schedule_note(self, note: Note, channel: int) -> None:
        """Queue a note's note-on at its onset and its note-off at its end.

        Args:
            note: onset and duration in beats.
            channel: MIDI channel 0..15 (mido numbering; musicians say 1..16).
        """
        self.schedule(note.onset, mido.Message("note_on", channel=channel, note=note.pitch, velocity=note.velocity))
        self.schedule(note.end, mido.Message("note_off", channel=channel, note=note.pitch, velocity=0))

    def pending(self) -> int:
        """How many messages wait in the queue."""
        with self._cond:
            return len(self._heap)

    def clear(self, channels=None) -> None:
        """Drop queued messages (of the given channels, or all) without sending them."""
        with self._cond:
            self._heap = [i for i in self._heap if channels is not None and getattr(i.msg, "channel", None) not in channels]
            heapq.heapify(self._heap)
            self._cond.notify()

    def truncate(self, channel: int, from_beat: float) -> None:
        """End a channel's part at a beat: drop its note-ons from there, move its later note-offs there."""
        with self._cond:
            kept, moved = [], []
            for item in self._heap:
                if getattr(item.msg, "channel", None) != channel or item.beat < from_beat:
                    kept.append(item)
                elif item.msg.type == "note_off":
                    moved.append(_Item(float(from_beat), item.priority, item.seq, item.msg))
            self._heap = kept + moved
            heapq.heapify(self._heap)
            self._cond.notify()

    def panic(self) -> None:
        """All notes off now: the sender drops the queue, releases every sounding note
        and sends All Notes Off on every channel used. Safe from any thread."""
        with self._cond:
            self._panic = True
            self._cond.notify()

    def wake(self) -> None:
        """Make the sender look at the clock again (after a tempo or transport change)."""
        with self._cond:
            self._cond.notify()

    # -- the sender thread ----------------------------------------------------

    def start(self) -> None:
        """Start the sender thread."""
        self._thread = threading.Thread(target=self._run, name="jazzd-sender", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    if self._stopping:
                        return
                    if self._panic:
                        self._panic = False
                        self._heap.clear()
                        panic = True
                    else:
                        panic = False
                if panic:
                    self.release()
                    continue
                with self._cond:
                    if not self._heap:
                        self._cond.wait(MAX_WAIT_S)
                        continue
                    due = self.clock.seconds_at(self._heap[0].beat)
                    wait = due - time.monotonic() - self.spin_s
                    if wait > 0:
                        self._cond.wait(min(wait, MAX_WAIT_S))
                        continue
                    item = heapq.heappop(self._heap)
                while time.monotonic() < due:
                    pass
                self._send(item.msg, due)
        except BaseException as err:  # a dead port must not leave notes hanging: the daemon releases them
            self.error = err
            log.error("sender stopped: %s", err)

    def _send(self, msg: mido.Message, due: float) -> None:
        self.port.send(msg, due)
        sent = time.monotonic()
        self.sent += 1
        if self.timing is not None:
            self.timing.append((due, sent, msg.type))
        late = sent - due
        if late > self.late_warning_s:
            log.warning("late by %.1f ms: %s", late * 1000, msg)
        if msg.type == "note_on" and msg.velocity > 0:
            self.sounding.add((msg.channel, msg.note))
            self.channels.add(msg.channel)
        elif msg.type in ("note_off", "note_on"):
            self.sounding.discard((msg.channel, msg.note))
        elif hasattr(msg, "channel"):
            self.channels.add(msg.channel)

    def stop(self, timeout: float = 1.0) -> None:
        """Stop the sender thread (queued messages stay unsent)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def release(self) -> None:
        """Note-off for every sounding note, then All Notes Off on every channel used.

        Called by the sender for a panic, and after stop() by the thread that
        owns the port. Sends now, not on the clock; a failing port is logged and
        the rest is still tried.
        """
        now = time.monotonic()
        for channel, note in sorted(self.sounding):
            self._try_send(mido.Message("note_off", channel=channel, note=note, velocity=0), now)
        self.sounding.clear()
        for channel in sorted(self.channels):
            self._try_send(mido.Message("control_change", channel=channel, control=ALL_NOTES_OFF, value=0), now)

    def _try_send(self, msg, due):
        try:
            self.port.send(msg, due)
        except Exception as err:  # keep going: the other notes must still be released
            log.error("could not send %s: %s", msg, err)
