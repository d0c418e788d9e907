"""Session: the live improviser as pure logic, with its clock and its input passed in.

A Session owns the soloist (the LSTM's a and c, the harmony, the realizer), the
feel, the interplay with the player and the live controls. It is driven by two
calls and touches no thread, port, signal or file:

- handle(event): one typed input event (jazzd.live.events) with its arrival
  time: a player's note or chord key, a control change, a MIDI clock pulse,
  Start/Continue/Stop, Song Position;
- advance(now): the playhead has reached `now` (monotonic seconds): apply what
  the player's phrases ask for, log the bars that passed, and queue notes in the
  Scheduler until `lookahead` beats past the playhead. Returns when it wants to
  be advanced again.

What it queues, the Scheduler hands out by the clock (pop_due(now)). The daemon
(jazzd.live.daemon) is the thin shell of threads, ports, signals and the state
file around it; the tests drive it with a fake clock and check whole event lists
in beats.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import mido

from jazzd.core.band.bass import bass_choice_from_config
from jazzd.core.harmony import LiveHarmony
from jazzd.core.solo import SoloEvent, band_from_config, from_config
from jazzd.core.timeline import Note, note_name
from jazzd.live.chordnamer import ImmediateNamer, NamedChord
from jazzd.live.clock import MAX_BPM, MidiClock, PolledClock, TempoClock
from jazzd.live.controls import ControlMap
from jazzd.live.events import ClockPulse, ControlChange, NoteEvent, SongPosition, Transport
from jazzd.live.interplay import Answer, Heard, Interplay, Interrupt, Prime

log = logging.getLogger(__name__)

PREROLL_S = 0.05  # internal clock: from the first values queued to the first beat
MAX_SLEEP_S = 0.25  # the session looks at the clock at least this often (MIDI clock timeouts, the bar log)
LISTEN_SLEEP_S = 0.05  # ... and this often while the player's phrases are being followed (prime, trade)
MIN_SLEEP_S = 0.002
RUNAWAY_WARNING_S = 1.0  # a refused MIDI clock is said at most this often
CONTROL_LOG_S = 0.5  # a control turned continuously is logged at most this often, then its settled value
CONTROLS = ("temperature", "top_p", "mute", "panic", "reset", "tempo", "mode", "mute_bass", "mute_drums", "mute_piano")


@dataclass(frozen=True)
class Part:
    """A MIDI part jazzd plays: channel 0..15, General MIDI program (-1: none sent), velocity (the comp's)."""

    channel: int
    program: int = -1
    velocity: int = 60


class BarLog:
    """One log line per bar as the playhead passes it: bar, chords, notes (or why it is silent)."""

    def __init__(self, harmony, beats_per_bar: int, first_bar: int = 0):
        self.harmony = harmony
        self.beats_per_bar = beats_per_bar
        self.bar = first_bar
        self.notes: dict[int, list[str]] = {}

    def add(self, note: Note) -> None:
        bar = int(math.floor(note.onset / self.beats_per_bar + 1e-9))
        self.notes.setdefault(bar, []).append(note_name(note.pitch))

    def passed(self, playhead: float, silent_why: str = "(rest)") -> None:
        """Log every bar that ended before the playhead."""
        while playhead >= (self.bar + 1) * self.beats_per_bar:
            start = self.bar * self.beats_per_bar
            chords = [str(s.chord or "N.C.") for _, s in self.harmony.segments_between(start, start + self.beats_per_bar)]
            if not chords:
                chords = [str(self.harmony.chord_at(start))]
            notes = self.notes.pop(self.bar, None)
            log.info("bar %d | %s | %s", self.bar + 1, " ".join(chords), " ".join(notes) if notes else silent_why)
            self.bar += 1

    def restart(self, bar: int) -> None:
        self.bar = bar
        self.notes.clear()


class Session:
    """The live improviser's logic (see the module docstring).

    Args:
        soloist: the improviser, harmony and realizer (jazzd.core.solo.Soloist).
        feel: swing, accents and humanize (jazzd.core.feel.Feel).
        clock: a TempoClock, a MidiClock or a PolledClock (jazzd.live.clock: Ableton Link, JACK transport).
        scheduler: where notes are queued (jazzd.live.scheduler.Scheduler).
        interplay: the input mode's state machine (jazzd.live.interplay.Interplay).
        controls: CC numbers of the live controls (jazzd.live.controls.ControlMap).
        melody: the solo's part.
        band: the rhythm section (jazzd.core.band.section.RhythmSection), or None; parts: its parts by name
            ("bass", "drums", "piano"), each a Part, the notes it hands out going to that part's channel.
        lookahead: beats of notes queued ahead of the playhead. Default 1.
        bars: stop after this many bars from the start (None: never).
        chord_channel: MIDI channel 0..15 of chord keys, or None.
        split_note: MIDI note number; keys below it are chord keys (0: none).
        namer: names chord keys (jazzd.live.chordnamer): ImmediateNamer (the default) at once, the daemon's
            ChordNamer on its own thread, its chords coming back as NamedChord events.
    Attributes:
        finished: the bar limit was reached (the last note-offs are due then).
        start_beat: where the internal clock starts (0, or the bar a state file resumes at).
    """

    def __init__(self, soloist, feel, clock, scheduler, interplay: Interplay, controls: ControlMap | None = None, *,
                 melody: Part, band=None, parts: dict[str, Part] | None = None, lookahead: float = 1.0,
                 bars: int | None = None,
                 chord_channel: int | None = None, split_note: int = 0, namer=None):
        self.soloist = soloist
        self.improviser = soloist.improviser
        self.harmony = soloist.harmony
        self.feel = feel
        self.clock = clock
        self.scheduler = scheduler
        self.interplay = interplay
        self.controls = controls
        self.melody = melody
        self.band = band
        self.parts: dict[str, Part] = dict(parts or {}) if band is not None else {}
        self.comp = self.parts.get("piano")  # the piano's part (the comp), or None
        self.part_muted: set[str] = set()  # band parts muted by their CC
        self.lookahead = lookahead
        self.bars = bars
        self.chord_channel = chord_channel
        self.split_note = split_note
        self.namer = namer if namer is not None else ImmediateNamer()
        self._started_at: float | None = None  # a followed transport started or moved here, not yet filled
        self.on_clock_change = None  # called when a followed transport moved what is due (the daemon: sender.wake)
        self.beats_per_bar = self.harmony.beats_per_bar
        self.muted = False
        self.finished = False
        self.start_beat = 0.0
        self.end_beat: float | None = None
        self.chord_keys: set[int] = set()
        self.bar_log = BarLog(self.harmony, self.beats_per_bar)
        self._primes: list[Prime] = []
        self._filled_until = 0.0  # bar lines up to here have had their program changes
        self._spans: dict[int, list[tuple[float, float]]] = {}  # channel -> (onset, end) of recent notes
        self._resume_horizon: float | None = None
        self._lapsed_at: float | None = None  # the beat where the MIDI clock stopped arriving, until it is back
        self._refused_said_s = -math.inf  # when a runaway MIDI clock was last said to be refused
        self._after_trade = False  # the mode just left trade: the solo comes back at the next bar line
        self._control_values: dict[str, object] = {}
        self._control_log: dict[str, tuple[float, str | None]] = {}  # name -> (last logged, pending line)

    # -- start and stop -------------------------------------------------------------

    @property
    def midi_clock(self) -> bool:
        return isinstance(self.clock, MidiClock)

    @property
    def followed(self) -> bool:
        """A transport read by polling (Ableton Link, JACK transport), not pulsed in (MIDI clock)."""
        return isinstance(self.clock, PolledClock)

    def start(self, now: float) -> None:
        """Begin: with the internal clock, queue the first notes and put start_beat PREROLL_S after now;
        with a MIDI clock, wait for Start or Continue; with Link or JACK transport, for the transport to roll."""
        if self.bars is not None:
            self.end_beat = self.start_beat + self.bars * self.beats_per_bar
        if self.midi_clock or self.followed:
            return
        self._restart_at(self.start_beat, self._resume_horizon)
        self.clock.start_at(now + PREROLL_S, self.start_beat)

    def _restart_at(self, beat: float, horizon: float | None = None) -> None:
        """(Re)start the solo (at horizon, default the beat), the comp and the program changes at a beat;
        what was queued is dropped."""
        self.scheduler.clear()
        self.soloist.horizon = beat if horizon is None else horizon
        if self.band is not None:
            self.band.restart(beat)
        self._filled_until = beat
        self._spans.clear()
        self._primes.clear()
        self.interplay.set_mode(self.interplay.mode, beat)
        self.bar_log.restart(int(math.floor(beat / self.beats_per_bar + 1e-9)))
        for part in self._parts():
            if part.program >= 0:
                self.scheduler.schedule(beat, mido.Message("program_change", channel=part.channel, program=part.program))
        self._strike_sounding_chord(beat)
        self._fill(beat)

    def _strike_sounding_chord(self, beat: float) -> None:
        """Pads: queue the chord sounding across a beat (begun before it) from that beat to its end (the other
        styles' piano comes back at its next stroke)."""
        if self.comp is None or self.band.style.comp or "piano" in self.part_muted:
            return
        segment = self.harmony.segment_at(beat) if hasattr(self.harmony, "segment_at") else None
        if segment is not None and segment.chord is not None:
            seg_start = math.floor(beat / self.harmony.length_beats) * self.harmony.length_beats + segment.start
            if seg_start < beat - 1e-9 and seg_start + segment.length > beat + 1e-9:
                for pitch in segment.chord.voicing:
                    self._schedule(Note(beat, seg_start + segment.length - beat, pitch, self.comp.velocity), self.comp)

    def _parts(self):
        """Every part jazzd plays: the solo, then the band's."""
        return [self.melody] + list(self.parts.values())

    # -- input ------------------------------------------------------------------------

    def handle(self, event) -> None:
        """Act on one input event (see jazzd.live.events).

        Raises:
            ValueError: for an event of an unknown type.
        """
        if isinstance(event, NoteEvent):
            self._note(event)
        elif isinstance(event, ControlChange):
            read = self.controls.read(event) if self.controls is not None else None
            if read is not None:
                self._control(*read, event.control, event.t_s)
        elif isinstance(event, ClockPulse):
            if self.midi_clock:
                lost, refused, running = self.clock.lost_pulses, self.clock.refused_bpm, self.clock.running
                if self.clock.pulse(event.t_s) and self._lapsed_at is not None:
                    log.info("MIDI clock is back: playing on from beat %.2f", self._lapsed_at)
                    self._lapsed_at = None
                self._runaway(refused, running, event.t_s)
                if self.clock.lost_pulses != lost:
                    pulses, gap_s = self.clock.last_loss
                    log.warning("MIDI clock: %d pulse%s lost on the way in (a gap of %.0f ms at %.0f BPM), counted: "
                                "jazzd's beat is the DAW's again at beat %.2f", pulses, "" if pulses == 1 else "s",
                                gap_s * 1000, self.clock.bpm, self.clock.position_beats)
        elif isinstance(event, Transport):
            if self.midi_clock:
                self._transport(event.kind, event.t_s)
        elif isinstance(event, SongPosition):
            if self.midi_clock:
                self.clock.song_position(event.sixteenths)
        elif isinstance(event, NamedChord):
            self._named_chord(event)
        else:
            raise ValueError(f"unknown input event {event!r}")

    def _runaway(self, refused_before: float | None, running_before: bool, t_s: float) -> None:
        """A MIDI clock far above 1000 BPM is refused (MidiClock.pulse): every note released when it begins,
        one warning a second at most while it lasts, one line when it is back within 1000 BPM."""
        refused = self.clock.refused_bpm
        if refused is not None:
            if refused_before is None:
                if running_before:
                    self._lapsed_at = self.clock.position_beats
                    self.scheduler.silence()  # the solo stays queued, due as the sane pulses come
                    self._strike_sounding_chord(self._lapsed_at)
            if t_s - self._refused_said_s >= RUNAWAY_WARNING_S:  # over every refusal: one a second at most
                self._refused_said_s = t_s
                log.warning("MIDI clock at %.0f BPM refused (at most %.0f BPM): not followed until it slows down%s",
                            refused, MAX_BPM, "" if self._lapsed_at is None
                            else f"; every note released at beat {self._lapsed_at:.2f}")
        elif refused_before is not None:
            log.info("MIDI clock within %.0f BPM again: following it%s", MAX_BPM,
                     "" if self._lapsed_at is None else f", playing on from beat {self._lapsed_at:.2f}")
            self._lapsed_at = None

    def _is_chord_key(self, event: NoteEvent) -> bool:
        if self.chord_channel is not None and event.channel == self.chord_channel:
            return True
        return event.pitch < self.split_note

    def _note(self, event: NoteEvent) -> None:
        beat = self.clock.beat_at(event.t_s)
        if self._is_chord_key(event):
            self._chord_key(beat, event.pitch, event.on)
        elif event.on:
            self.interplay.note_on(beat, event.pitch)
        else:
            self.interplay.note_off(beat, event.pitch)

    def _chord_key(self, beat: float, pitch: int, on: bool) -> None:
        if not on:
            self.chord_keys.discard(pitch)
            return  # releasing keys keeps the last chord
        self.chord_keys.add(pitch)
        if not isinstance(self.harmony, LiveHarmony) or len(self.chord_keys) < 2:
            return
        # named with music21 off this thread in the daemon (a big chord took seconds and froze the solo)
        named = self.namer.request(frozenset(self.chord_keys), beat)
        if named is not None:
            self._named_chord(named)

    def _named_chord(self, named: NamedChord) -> None:
        """The player's chord from its beat on (the values generated after it hear it)."""
        if not isinstance(self.harmony, LiveHarmony) or named.chord == self.harmony.current:
            return
        self.harmony.set_chord(named.beat, named.chord)
        keys = sorted(named.keys)
        held = " ".join(map(str, keys)) if len(keys) <= 12 else f"{len(keys)} keys, {keys[0]} to {keys[-1]}"
        log.info("live chord %s (keys %s)", named.chord, held)

    def _control(self, name: str, value, cc: int, t_s: float) -> None:
        changed = self._control_values.get(name, object()) != value
        self._control_values[name] = value
        if name == "temperature":
            self.improviser.temperature = value
            self._log_control(name, f"temperature {value:.2f} (CC {cc})", changed, t_s)
        elif name == "top_p":
            self.improviser.top_p = value
            self._log_control(name, f"top_p {value:.2f} (CC {cc})", changed, t_s)
        elif name == "mute":
            if value != self.muted:
                self.muted = value
                if value:
                    self.scheduler.panic()
            self._log_control(name, f"{'muted' if value else 'unmuted'} (CC {cc})", changed, t_s)
        elif name == "panic":
            if value:
                self.scheduler.panic()
                self._log_control(name, f"panic: all notes off (CC {cc})", True, t_s)
        elif name == "reset":
            if value:
                self.improviser.reset()
                self._log_control(name, f"a and c reset to zeros (CC {cc})", True, t_s)
        elif name == "tempo":
            if isinstance(self.clock, TempoClock):
                self.clock.set_bpm(value, t_s)
                self._log_control(name, f"tempo {value:g} BPM (CC {cc})", changed, t_s)
            elif self.followed and self.clock.set_bpm(value, t_s):
                self._log_control(name, f"{self.clock.name} tempo set to {value:g} BPM (CC {cc})", changed, t_s)
            else:
                source = self.clock.name if self.followed else "MIDI clock"
                self._log_control(name, f"tempo CC {cc} ignored: following {source}"
                                  + (" ([clock] link_tempo_control = false)" if source == "Link" else ""), changed, t_s)
        elif name in ("mute_bass", "mute_drums", "mute_piano"):
            part = name.split("_", 1)[1]
            if part in self.parts and value != (part in self.part_muted):
                if value:
                    self.part_muted.add(part)
                    # what is queued of it is dropped, what sounds ends now
                    self.scheduler.truncate(self.parts[part].channel, self.clock.beat_at(t_s))
                else:
                    self.part_muted.discard(part)
            self._log_control(name, f"{part} {'muted' if value else 'unmuted'} (CC {cc})"
                              + ("" if part in self.parts else f": no {part} plays"), changed, t_s)
        elif name == "mode":
            if value != self.interplay.mode:
                self._after_trade = self.interplay.mode == "trade"
                self.interplay.set_mode(value, self.clock.beat_at(t_s))
                self._primes.clear()
            self._log_control(name, f"input mode {value} (CC {cc})", changed, t_s)

    def _log_control(self, name: str, line: str, changed: bool, t_s: float) -> None:
        """At info once per change of value, at most every CONTROL_LOG_S per control (a knob being
        turned is logged when it settles); a repeated value at debug."""
        if not changed:
            log.debug("%s (unchanged)", line)
            return
        last, _ = self._control_log.get(name, (-math.inf, None))
        if t_s - last >= CONTROL_LOG_S:
            log.info("%s", line)
            self._control_log[name] = (t_s, None)
        else:
            self._control_log[name] = (last, line)

    def _flush_control_log(self, now: float) -> None:
        for name, (last, pending) in list(self._control_log.items()):
            if pending is not None and now - last >= CONTROL_LOG_S:
                log.info("%s", pending)
                self._control_log[name] = (now, None)

    def _transport(self, kind: str, t_s: float) -> None:
        self._lapsed_at = None
        if kind == "stop":
            self.clock.stop(t_s)
            self._stopped(f"MIDI clock: stop at beat {self.clock.position_beats:.2f}")
            return
        if kind == "start":
            self.clock.start(t_s)
        else:
            self.clock.continue_(t_s)
        position = self.clock.position_beats
        self.scheduler.panic()  # a restart while notes sound releases them first
        self._restart_at(position)
        log.info("MIDI clock: %s at beat %.2f", kind, position)

    def _follow(self, change, now: float) -> None:
        """What a followed transport did (Link, JACK transport: PolledClock.poll): start, stop, locate, tempo."""
        name = self.clock.name
        if change.kind == "stop":
            self._stopped(f"{name}: stop at beat {change.beat:.2f}")
        elif change.kind in ("start", "locate"):
            beat = max(change.beat, 0.0)  # a start set for a moment to come: from its first bar line
            self.scheduler.excused_until_s = now  # what was due before it was read cannot be on time
            self.scheduler.panic()  # a jump while notes sound releases them first
            self._restart_at(beat)
            self._started_at = beat
            late_s = max(0.0, now - self.clock.due_s(beat))
            log.info("%s: %s at beat %.2f (bar %d), %.1f BPM%s", name, "start" if change.kind == "start" else
                     "moved", beat, math.floor(beat / self.beats_per_bar + 1e-3) + 1, change.bpm,
                     f"; read {late_s * 1000:.0f} ms after its beat, whose notes go out that late" if late_s > 0.001
                     else "")
        elif change.kind == "tempo":
            self._log_control("clock_tempo", f"{name}: tempo {change.bpm:.2f} BPM", True, now)
        if self.on_clock_change is not None:
            self.on_clock_change()  # what is due has moved: the sender looks again

    def _stopped(self, why: str) -> None:
        self.scheduler.panic()
        self._primes.clear()
        self.interplay.set_mode(self.interplay.mode, self.clock.position_beats)
        log.info("%s", why)

    # -- the playhead -------------------------------------------------------------------

    def playing_why(self) -> str:
        return "(listening)" if self.interplay.mode == "trade" else "(muted)" if self.muted else "(rest)"

    def advance(self, now: float, input_read_s: float | None = None) -> float:
        """The playhead is at `now` (monotonic seconds): act and queue ahead.

        Args:
            input_read_s: the input has been read (and its events handled) up to this time; None: up to now.
                A MIDI clock has stopped arriving only if no pulse came for its timeout before this: a jazzd
                that was stalled (SIGSTOP, a paused VM) finds the DAW's pulses waiting in its input when it wakes,
                and said the clock had stopped before it had read them.
        Returns:
            When to call again at the latest (monotonic seconds).
        """
        self._flush_control_log(now)
        dropped, late_s = self.scheduler.take_dropped()
        if dropped:
            log.warning("jazzd stalled: %d message%s more than a beat late (up to %.2f s) not sent; "
                        "playing on from the beat", dropped, "" if dropped == 1 else "s", late_s)
        if self.followed:
            for change in self.clock.poll(now):
                self._follow(change, now)
        read = now if input_read_s is None else min(now, input_read_s)
        if self.midi_clock and self.clock.timed_out(read):
            gap, bpm = read - self.clock.last_pulse_s, self.clock.bpm
            self.clock.lapse(now)
            self._lapsed_at = self.clock.position_beats
            # the solo stays queued, due as the pulses come back; the chord cut here sounds again from there
            self.scheduler.silence()
            self._strike_sounding_chord(self._lapsed_at)
            log.warning("MIDI clock stopped arriving (no pulse for %.2f s, over two beats at %.0f BPM): every note "
                        "released at beat %.2f; the solo plays on from there when the clock comes back",
                        gap, bpm, self._lapsed_at)
        if not self.clock.running or self.finished:
            return now + (self.clock.poll_s if self.followed else MAX_SLEEP_S)
        playhead = self.clock.beat_at(now)
        self.bar_log.passed(playhead, self.playing_why())
        if self.end_beat is not None and playhead >= self.end_beat:
            self.finished = True  # the last note-offs are due at end_beat
            return now + MAX_SLEEP_S
        for action in self.interplay.advance(playhead):
            self._apply(action)
        self._fill(playhead)
        return self._next_wake(now)

    def _next_wake(self, now: float) -> float:
        """When the next value, chord or bar line needs the session (monotonic seconds), within bounds."""
        beats = [(self.bar_log.bar + 1) * self.beats_per_bar]
        if self.band is not None:
            beats.append(self.band.next_bar_beat - self.lookahead)  # the band's next bar to queue
        answer = self.interplay.answer
        if self.interplay.mode != "trade" or (answer is not None and self.soloist.horizon < answer.end):
            beats.append(self.soloist.horizon - self.lookahead)
        if self.end_beat is not None:
            beats.append(self.end_beat)
        wake = self.clock.seconds_at(min(beats))
        pending = [last + CONTROL_LOG_S for last, line in self._control_log.values() if line is not None]
        limit = now + (LISTEN_SLEEP_S if self.interplay.mode != "off" else MAX_SLEEP_S)
        if self.followed:
            limit = min(limit, now + self.clock.poll_s)  # the transport's tempo and start/stop are read this often
        return min(max(wake, now + MIN_SLEEP_S), limit, *pending)

    def _apply(self, action) -> None:
        if isinstance(action, Prime):
            self._primes.append(action)
            self._primes.sort(key=lambda p: p.at_beat)
        elif isinstance(action, Heard):
            bars = (f"bar {action.first_bar + 1}" if action.first_bar == action.last_bar
                    else f"bars {action.first_bar + 1}-{action.last_bar + 1}")
            log.info("heard the player's phrase in %s: %d notes -> %d values (%s); primed from bar %d", bars,
                     action.notes, len(action.values), " ".join(action.values),
                     action.primed_from_beat // self.beats_per_bar + 1)
        elif isinstance(action, Answer):
            self.soloist.previous = action.previous
            log.info("answering the player's phrase: bars %d-%d",
                     action.start // self.beats_per_bar + 1, action.end // self.beats_per_bar)
        elif isinstance(action, Interrupt):
            self.scheduler.truncate(self.melody.channel, action.at_beat)
            log.info("interrupted by the player at beat %.2f", action.at_beat)

    def _schedule(self, note: Note, part: Part) -> None:
        if self.muted:
            return
        self._spans.setdefault(part.channel, []).append((note.onset, note.end))
        self.scheduler.schedule_note(note, part.channel)

    def _generate(self, until: float, cut: float | None, play_from: float = -math.inf) -> int:
        """Step the soloist until its horizon reaches `until`; notes end by `cut`; notes that would begin
        before `play_from` are generated (the same values, state and random draws) but not played.

        Returns:
            How many notes were generated but not played.
        """
        skipped = 0
        while self.soloist.horizon < until:
            while self._primes and self._primes[0].at_beat <= self.soloist.horizon:
                prime = self._primes.pop(0)
                fed = self.improviser.prime(prime.values, prime.contexts or None)
                log.debug("primed on %d values of the player's at beat %.3f: %s", fed, self.soloist.horizon,
                          " ".join(prime.values))
            event: SoloEvent = self.soloist.next_event()
            note = event.note
            if log.isEnabledFor(logging.DEBUG):
                log.debug("beat %.3f %s %s -> %s", float(event.onset), event.chord, event.value,
                          note_name(note.pitch) if note else "rest")
            if note is None:
                continue
            if cut is not None and note.end > cut:
                if note.onset >= cut:
                    continue
                note = Note(note.onset, cut - note.onset, note.pitch, note.velocity)
            performed = self.feel.perform(note, cut)
            if performed.onset < play_from - 1e-9:
                skipped += 1
                continue
            if not self.muted:
                self.bar_log.add(note)
            self._schedule(performed, self.melody)
        return skipped

    def _fill(self, playhead: float) -> None:
        """Generate values and comp until lookahead beats past the playhead."""
        target = playhead + self.lookahead
        # a followed transport's start is read a moment after it: its first beat still plays, a few ms late
        started, self._started_at = self._started_at, None
        behind = playhead if started is None else min(playhead, started)
        if self.end_beat is not None:
            target = min(target, self.end_beat)
        bpb = self.beats_per_bar
        if self.interplay.mode == "trade":
            answer = self.interplay.answer
            if answer is not None and self.soloist.horizon < answer.end:
                if self.soloist.horizon < answer.start:
                    self.soloist.horizon = answer.start
                cut = answer.end if self.end_beat is None else min(answer.end, self.end_beat)
                self._generate(min(target, answer.end), cut)
        else:
            if self.soloist.horizon < behind:
                if self._after_trade:  # back from a trade turn's silence: the solo begins at the next bar line
                    self.soloist.horizon = math.ceil(playhead / bpb - 1e-9) * bpb
                else:  # fell behind the playhead (a stalled machine, MIDI clock pulses that came at once): the
                    # same solo goes on, what it missed unheard (skipping to the next bar line changed the solo)
                    behind_from = self.soloist.horizon
                    skipped = self._generate(playhead, self.end_beat, play_from=playhead)
                    log.warning("the solo fell %.2f beats behind the clock: its notes from beat %.2f to %.2f "
                                "skipped (%d), playing on from there", playhead - behind_from, behind_from,
                                playhead, skipped)
            self._after_trade = False
            self._generate(target, self.end_beat)
        if self.band is not None:
            for name, note in self.band.notes_until(target, self.clock.bpm):
                if note.onset < behind - 1e-9:  # fell behind: a note that still sounds, from here
                    if note.end <= behind + 1e-9 or name == "drums":
                        continue
                    note = Note(behind, note.end - behind, note.pitch, note.velocity)
                if self.end_beat is not None and note.onset >= self.end_beat - 1e-9:
                    continue
                if self.end_beat is not None and note.end > self.end_beat:
                    note = Note(note.onset, self.end_beat - note.onset, note.pitch, note.velocity)
                if name not in self.part_muted:
                    self._schedule(note, self.parts[name])
        self._resend_programs(target)

    def _resend_programs(self, target: float) -> None:
        """Program changes again at every bar line where nothing of the part sounds, so a synth
        connected after the start gets the instrument within a bar (no MIDI backend reports new connections)."""
        bpb = self.beats_per_bar
        bar_line = math.floor(self._filled_until / bpb + 1e-9) * bpb + bpb
        while bar_line <= target + 1e-9 and (self.end_beat is None or bar_line < self.end_beat):
            for part in self._parts():
                spans = self._spans.get(part.channel, ())
                if part.program >= 0 and not any(o < bar_line - 1e-9 and e > bar_line + 1e-9 for o, e in spans):
                    self.scheduler.schedule(bar_line, mido.Message("program_change", channel=part.channel,
                                                                   program=part.program))
            bar_line += bpb
        self._filled_until = max(self._filled_until, target)
        for channel, spans in self._spans.items():  # keep the notes that may still span a bar line to come
            self._spans[channel] = [(o, e) for o, e in spans if e > self._filled_until - 1e-9]

    # -- state across restarts -------------------------------------------------------------

    def snapshot(self, now: float) -> dict:
        """What a state file keeps: the playhead (beats), where the next value starts, the previous pitch."""
        beat = self.clock.beat_at(now) if self.clock.running else self.clock.position_beats
        if self.end_beat is not None:
            beat = min(beat, self.end_beat)  # stopped by the bar limit: exactly there
        return {"beat": beat, "horizon": self.soloist.horizon, "previous": self.soloist.previous}

    def resume(self, beat: float, horizon: float, previous: int | None) -> None:
        """Continue a saved solo: the internal clock starts at the bar line where it stopped (a value that
        was crossing it keeps its place); a MIDI clock starts where the DAW says."""
        self.soloist.previous = previous
        if self.midi_clock or self.followed:
            return
        bpb = self.beats_per_bar
        self.start_beat = float(math.ceil(max(0.0, beat) / bpb - 1e-6) * bpb)
        in_bar = self.start_beat <= horizon < self.start_beat + bpb
        self._resume_horizon = horizon if in_bar else None


def build_session(config, model, clock, scheduler, seed: int | None, bars: int | None = None, namer=None):
    """A Session as config asks for, over a loaded model (jazzd.core.modeldir.ModelDir).

    Returns:
        (session, generators): the generators are the seeded numpy Generators the state file keeps.
    Raises:
        ConfigError: for a bad progression or harmony source (see jazzd.config.Config.harmony).
    """
    harmony, soloist, feel, generators = from_config(config, model, seed)
    bpb = harmony.beats_per_bar
    interplay = Interplay(config["input.mode"], harmony, bpb, config["scheduler.lookahead_beats"],
                          config["input.phrase_end_beats"], config["input.trade_bars"], config["input.answer_bars"],
                          config["input.interrupt"])
    control_channel = config["controls.channel"]
    controls = ControlMap({name: config[f"controls.{name}"] for name in CONTROLS},
                          control_channel - 1 if control_channel else None)
    chord_channel = config["input.chord_channel"]
    band, specs = band_from_config(config, harmony, generators, bass_choice=bass_choice_from_config(config))
    parts = {name: Part(*spec) for name, spec in specs.items()}
    session = Session(soloist, feel, clock, scheduler, interplay, controls,
                      melody=Part(config["melody.channel"] - 1, config["melody.program"], config["melody.velocity"]),
                      band=band, parts=parts, lookahead=config["scheduler.lookahead_beats"], bars=bars,
                      chord_channel=chord_channel - 1 if chord_channel else None, split_note=config["input.split_note"],
                      namer=namer)
    return session, generators
