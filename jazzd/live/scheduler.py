"""Scheduler: the queue of messages by beat, and the sender thread that sends them on time.

`Scheduler` is pure logic with the time passed in: the session queues messages
at beats, `pop_due(now)` hands over those the clock says are due, and it keeps
track of which notes sound, so `release(now)` can silence them. A fake clock in
the tests makes every send time exact.

`Sender` is the one real-time thread: it sleeps until the next message's
absolute deadline (the clock's due_s(beat), never a sum of sleeps), spins the
last fraction of a millisecond, sends, and logs when it is late. It does no
musical work.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import mido

from jazzd.core.midi import ALL_NOTES_OFF
from jazzd.core.timeline import Note

log = logging.getLogger(__name__)

# At equal beats: controls first, then note-offs, then program changes (between the
# notes, so a synth switching instrument changes no sounding note), then note-ons,
# so a note re-struck on the beat its predecessor ends is not cut off.
PRIORITY = {"control_change": 0, "note_off": 1, "program_change": 2, "note_on": 3}
SPIN_S = 0.0003  # the sender sleeps until this close to a deadline, then spins
LATE_WARNING_S = 0.020  # log a send later than this (isobar's clock uses 20 ms too)
MAX_WAIT_S = 0.25  # the sender re-reads the clock at least this often
BEAT_DECIMALS = 9  # beats are queued at this resolution (far finer than a MIDI tick)


@dataclass(order=True)
class _Item:
    beat: float
    priority: int
    seq: int
    msg: mido.Message = field(compare=False)


def all_notes_off(channel: int) -> mido.Message:
    """Control change 123 on a channel (0..15)."""
    return mido.Message("control_change", channel=channel, control=ALL_NOTES_OFF, value=0)


class Scheduler:
    """Messages queued at beats, handed out when a clock says they are due.

    Thread-safe: the session queues from its thread, the sender pops from its own.

    A message found more than `stale_beats` past its due time (jazzd stalled: SIGSTOP, a paused VM, a machine
    that froze) is not handed out: a note-on or a program change that late belongs to a bar long gone (a stall
    of 10 s sent the old bar's chord and every bar line's program change 2-10 s late). The note-off of a note
    that sounds still goes (every note-on gets its note-off); the note-off of a note-on dropped is dropped with
    it; a control change (a state, not an event) still goes. `dropped` counts them and `take_dropped()` says
    what the last stall cost.

    Args:
        clock: anything with due_s(beat) and seconds_per_beat (see jazzd.live.clock).
        stale_beats: how late, in beats of the clock, a message may be and still go. Default 1.
    Attributes:
        sounding: (channel, note) -> note-ons handed out and not yet ended by a note-off.
        channels: every channel a message was handed out on.
        dropped: messages dropped as stale since the scheduler was made.
    """

    def __init__(self, clock, stale_beats: float = 1.0):
        self.clock = clock
        self.stale_beats = stale_beats
        self.dropped = 0
        self._dropped_on: Counter[tuple[int, int]] = Counter()  # note-ons dropped as stale, their note-offs to come
        self._stale_report: tuple[int, float] = (0, 0.0)  # dropped since the last take_dropped(), the most late (s)
        self.sounding: Counter[tuple[int, int]] = Counter()
        self.channels: set[int] = set()
        self._heap: list[_Item] = []
        self._now: list[mido.Message] = []  # to send at once (a panic's releases)
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self.on_new_head = None  # called when a message becomes the next due (the sender's wake-up)
        # messages due before this (monotonic seconds) go late without a warning: a followed transport's start is
        # read a moment after it happened, and its first beat could not be on time (the session says so once)
        self.excused_until_s = -math.inf

    # -- filling the queue -------------------------------------------------------

    def schedule(self, beat: float, msg: mido.Message) -> None:
        """Queue a message to be sent at a beat (beats of the clock)."""
        # rounded so that a note's end (onset + duration, in floats) and the next onset at the same
        # beat compare equal, and the note-off goes first by priority
        item = _Item(round(float(beat), BEAT_DECIMALS), PRIORITY.get(msg.type, 0), next(self._seq), msg)
        with self._lock:
            heapq.heappush(self._heap, item)
            new_head = self._heap[0] is item
        if new_head and self.on_new_head is not None:
            self.on_new_head()

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
        with self._lock:
            return len(self._heap) + len(self._now)

    def queued(self) -> list[tuple[float, mido.Message]]:
        """The queue as (beat, message) in sending order (a copy, for inspection)."""
        with self._lock:
            return [(i.beat, i.msg) for i in sorted(self._heap)]

    def clear(self) -> None:
        """Drop every queued message without sending it."""
        with self._lock:
            self._heap = []

    def truncate(self, channel: int, from_beat: float) -> None:
        """End a channel's part at a beat: drop its note-ons from there (and their note-offs), and move the
        note-offs of notes sounding across that beat to it."""
        with self._lock:
            kept, later = [], []
            for item in self._heap:
                if getattr(item.msg, "channel", None) != channel or item.beat < from_beat:
                    kept.append(item)
                else:
                    later.append(item)
            dropped: dict[int, int] = {}
            for item in sorted(later):
                msg = item.msg
                if msg.type == "note_on" and msg.velocity > 0:
                    dropped[msg.note] = dropped.get(msg.note, 0) + 1
                elif msg.type in ("note_off", "note_on"):
                    if dropped.get(msg.note, 0) > 0:
                        dropped[msg.note] -= 1  # the note-off of a note-on dropped here
                    else:
                        kept.append(_Item(float(from_beat), item.priority, item.seq, msg))
            self._heap = kept
            heapq.heapify(self._heap)

    def silence(self) -> None:
        """Every sounding note off now, the queue kept (the MIDI clock stopped arriving: what is queued plays
        when it comes back). The next pop_due() hands out a note-off for every sounding note and All Notes Off
        on every channel used; the queued note-off of each note released here is dropped."""
        with self._lock:
            released = Counter(self.sounding)
            self._now.extend(self._releases())
            queued_on: Counter[tuple[int, int]] = Counter()  # note-ons met in the queue, not yet ended
            kept = []
            for item in sorted(self._heap):
                msg = item.msg
                key = (getattr(msg, "channel", None), getattr(msg, "note", None))
                if msg.type == "note_on" and msg.velocity > 0:
                    queued_on[key] += 1
                elif msg.type in ("note_off", "note_on"):
                    if queued_on[key] > 0:
                        queued_on[key] -= 1  # ends a queued note
                    elif released[key] > 0:
                        released[key] -= 1  # ends a note released here: already sent
                        continue
                kept.append(item)
            self._heap = kept
            heapq.heapify(self._heap)
        if self.on_new_head is not None:
            self.on_new_head()

    def panic(self) -> None:
        """All notes off now: drop the queue; the next pop_due() hands out a note-off
        for every sounding note and All Notes Off (CC 123) on every channel used."""
        with self._lock:
            self._heap = []
            self._now.extend(self._releases())
        if self.on_new_head is not None:
            self.on_new_head()

    # -- handing out -------------------------------------------------------------

    def next_due_s(self) -> float:
        """Monotonic seconds when the next message is due (-inf: now; +inf: nothing due yet)."""
        with self._lock:
            if self._now:
                return -math.inf
            return self.clock.due_s(self._heap[0].beat) if self._heap else math.inf

    def pop_due(self, now: float) -> list[tuple[float, float | None, mido.Message]]:
        """Take every message due at or before now, in order, as (due seconds, beat, message).

        Messages of a panic come first, due at now (beat None). What is handed
        out counts as sent for `sounding` and `channels`.
        """
        out = []
        with self._lock:
            for msg in self._now:
                out.append((now, None, msg))
                self._track(msg)
            self._now = []
            stale_before = now - self.stale_beats * self.clock.seconds_per_beat
            while self._heap:
                due = self.clock.due_s(self._heap[0].beat)
                if due > now:
                    break
                item = heapq.heappop(self._heap)
                if not self._keep(item.msg, due < stale_before):
                    self.dropped += 1
                    count, latest = self._stale_report
                    self._stale_report = (count + 1, max(latest, now - due))
                    continue
                out.append((due, item.beat, item.msg))
                self._track(item.msg)
        return out

    def _keep(self, msg, stale: bool) -> bool:
        """Whether a due message goes out (see the class docstring); under the lock."""
        kind = msg.type
        if kind == "note_on" and msg.velocity > 0:
            if stale:
                self._dropped_on[(msg.channel, msg.note)] += 1
            return not stale
        if kind in ("note_off", "note_on"):  # a note-off (or velocity 0)
            key = (msg.channel, msg.note)
            if self._dropped_on[key] > 0 and not self.sounding.get(key):
                self._dropped_on[key] -= 1  # the note-off of a note-on dropped
                return False
            return True
        if kind == "program_change":
            return not stale
        return True

    def take_dropped(self) -> tuple[int, float]:
        """(messages dropped as stale since the last call, how late the latest of them was, in seconds)."""
        with self._lock:
            report, self._stale_report = self._stale_report, (0, 0.0)
        return report

    def _track(self, msg) -> None:
        if msg.type == "note_on" and msg.velocity > 0:
            self.sounding[(msg.channel, msg.note)] += 1  # counted: a key struck again before its note-off
            self.channels.add(msg.channel)
        elif msg.type in ("note_off", "note_on"):
            key = (msg.channel, msg.note)
            if self.sounding[key] > 1:
                self.sounding[key] -= 1
            else:
                self.sounding.pop(key, None)
        elif hasattr(msg, "channel"):
            self.channels.add(msg.channel)

    def _releases(self) -> list[mido.Message]:
        msgs = [mido.Message("note_off", channel=ch, note=n, velocity=0) for ch, n in sorted(self.sounding.elements())]
        return msgs + [all_notes_off(ch) for ch in sorted(self.channels)]

    def release(self) -> list[mido.Message]:
        """Drop the queue and return a note-off for every sounding note, then All Notes Off on
        every channel used: the messages a shutdown sends at once. They count as sent."""
        with self._lock:
            self._heap = []
            msgs = self._now + self._releases()
            self._now = []
            for msg in msgs:
                self._track(msg)
        return msgs


class Sender:
    """The real-time thread: sends each message of a Scheduler to a port at its due time.

    Args:
        scheduler: the queue.
        port: an output with send(msg, due_s) (see jazzd.live.ports).
        spin_s: how long before a deadline to stop sleeping and spin. Default 0.3 ms.
        late_warning_s: lateness that gets a log line. Default 20 ms.
        record_timing: keep (due_s, sent_s, type, hex bytes, JACK target microseconds or "") of every message
            (see timing).
        on_error: called (on the sender thread) with the exception that stops it.
    Attributes:
        error: the exception that stopped the thread (a port that failed), or None.
        sent: messages sent.
    """

    def __init__(self, scheduler: Scheduler, port, spin_s: float = SPIN_S,
                 late_warning_s: float = LATE_WARNING_S, record_timing: bool = False, on_error=None):
        self.scheduler = scheduler
        self.on_error = on_error
        self.port = port
        self.spin_s = spin_s
        self.late_warning_s = late_warning_s
        self.timing: list[tuple[float, float, str]] | None = [] if record_timing else None
        self.error: BaseException | None = None
        self.sent = 0
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread; from then on a message queued ahead of the others wakes it."""
        self.scheduler.on_new_head = self.wake
        self._thread = threading.Thread(target=self._run, name="jazzd-sender", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Make the sender look at the queue and the clock again (new messages, a tempo or transport change)."""
        self._wake.set()

    def stop(self, timeout: float = 1.0) -> None:
        """Stop the thread; queued messages stay unsent."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        # a port that writes each message at its own time (JACK, frame by frame: jazzd.live.jackoutput) takes it
        # lead_s early and is not spun for; the others get it at its time
        lead = getattr(self.port, "lead_s", 0.0)
        early = self.spin_s if not lead else lead
        drop = getattr(self.port, "drop_pending", None)
        try:
            while not self._stopping:
                now = time.monotonic()
                batch = self.scheduler.pop_due(now + early)
                if not batch:
                    wait = min(self.scheduler.next_due_s() - now - early, MAX_WAIT_S)
                    if wait > 0:
                        self._wake.wait(wait)
                        self._wake.clear()
                    continue
                if drop is not None and any(beat is None for _, beat, _ in batch):
                    drop()  # a panic's release: what the port holds of what was handed early must not follow it
                for due, _, msg in batch:
                    if not lead:
                        while time.monotonic() < due:
                            pass
                    self.send(msg, due)
        except BaseException as err:  # a dead port must not leave notes hanging: the daemon releases them
            self.error = err
            if self.on_error is not None:
                self.on_error(err)
            else:
                log.error("sender stopped: %s", err)

    def send(self, msg: mido.Message, due: float) -> None:
        """Send one message now and note how late it was."""
        self.port.send(msg, due)
        sent = time.monotonic()
        self.sent += 1
        if self.timing is not None:
            self.timing.append((due, sent, msg.type, bytes(msg.bytes()).hex(),
                                getattr(self.port, "last_target_us", "")))
        if sent - due > self.late_warning_s and due >= self.scheduler.excused_until_s:
            log.warning("late by %.1f ms: %s", (sent - due) * 1000, msg)

    def send_now(self, messages, drop_pending: bool = True) -> int:
        """Send messages at once from the calling thread (after stop()); a failing port is logged once and
        the rest is still tried, so every note gets its note-off where the port allows.

        Returns:
            how many messages could not be sent (0: all went out).
        """
        now = time.monotonic()
        failed, first = 0, None
        drop = getattr(self.port, "drop_pending", None) if drop_pending else None
        if drop is not None:  # a stop's release: nothing handed over early may sound after it
            try:
                drop()
            except Exception as err:
                failed, first = failed + 1, err
        for msg in messages:
            try:
                self.port.send(msg, now)
                self.sent += 1
            except Exception as err:
                failed, first = failed + 1, first or err
        if failed:
            log.error("could not send %d release message(s) to %s: %s", failed, getattr(self.port, "name", "the port"),
                      first)
        return failed
