"""The live core on a fake clock: every live behaviour as an exact list of (beat, message), no ports, no sleeps.

LiveRun (tests/helpers.py) builds a Session from a config, delivers input
events at their times and records what the scheduler hands out. The
progression is the default "| Dm7 | G7 | Cmaj7 | Cmaj7 |" unless a test says.
"""

import logging
import re
from collections import Counter

import pytest

from helpers import FELL_BEHIND, LiveRun, hanging_notes, pulse_events, wait_for
from jazzd.core.solo import from_config
from jazzd.live.events import ClockPulse, ControlChange, NoteEvent, SongPosition, Transport

MELODY, COMP = 0, 1


def notes_only(run, channel=None):
    """(beat, type, note) of the note messages handed out on a beat (releases at once have no beat)."""
    return [(round(beat, 6), m.type, m.note) for beat, m in run.messages(channel=channel)
            if beat is not None and m.type in ("note_on", "note_off")]


def generated_melody(run, bars):
    """(onset, MIDI note) of `bars` bars of the same seed's solo as `jazzd generate` makes it."""
    from jazzd.generate import generate

    _, soloist, feel, _ = from_config(run.config, run.model, run.config["improviser.seed"], live=False)
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        result = generate(soloist, feel, Path(tmp) / "x.mid", 120, values=None, bars=bars)
    return [(round(n.onset, 6), n.pitch) for n in result.melody]


def play(events, notes, bpm, t0=0.05, channel=0):
    """NoteEvents for (beat, length in beats, MIDI note) on the internal clock that starts t0 seconds in."""
    spb = 60 / bpm
    for beat, length, pitch in notes:
        events.append(NoteEvent(t0 + beat * spb, channel, pitch, 90))
        events.append(NoteEvent(t0 + (beat + length) * spb, channel, pitch, 0))
    return events


def test_the_live_solo_is_the_seeded_solo_of_generate_and_ends_at_the_bar_limit():
    run = LiveRun(bars=4, seed=5).run(30.0)
    assert run.session.finished
    melody = run.note_ons(MELODY)
    assert melody and melody == generated_melody(run, 4)
    assert all(b < 16 if t == "note_on" else b <= 16 for b, t, _ in notes_only(run)), "a note after the bar limit"
    assert not hanging_notes(m for _, _, m in run.sent) and run.scheduler.pending() == 0
    # the chords on their bar lines, program changes first at beat 0
    first = run.messages()[:2]
    assert [(b, m.type, m.channel, m.program) for b, m in first] == [(0.0, "program_change", 0, 26),
                                                                     (0.0, "program_change", 1, 0)]
    assert sorted({b for b, _ in run.note_ons(COMP)}) == [0.0, 4.0, 8.0, 12.0]


def test_program_changes_come_again_at_every_bar_line_where_nothing_of_the_part_sounds():
    run = LiveRun(bars=8, seed=2).run(60.0)
    programs = {}
    for beat, m in run.messages("program_change"):
        programs.setdefault(m.channel, []).append(beat)
    assert programs[COMP] == [0.0, 4.0, 8.0, 12.0, 16.0, 20.0, 24.0, 28.0]  # chords end and restart on bar lines
    melody_notes = [(b, m) for b, m in run.messages(channel=MELODY) if m.type in ("note_on", "note_off")]
    spans = []
    for b, m in melody_notes:
        if m.type == "note_on" and m.velocity:
            spans.append([b, None])
        elif spans and spans[-1][1] is None:
            spans[-1][1] = b
    for bar_line in range(4, 32, 4):
        crossing = any(on < bar_line < off for on, off in spans)
        assert (bar_line in programs[MELODY]) != crossing, bar_line
    # sorted between the note-offs and the note-ons of the bar line
    at_4 = [m.type for b, m in run.messages(channel=COMP) if b == 4.0]
    assert at_4 == ["note_off"] * 4 + ["program_change"] + ["note_on"] * 4


def midi_clock_run(events_after_start, bpm=120, seed=3, config="", start_at=1.0):
    run = LiveRun('[clock]\nsource = "midi"\n' + config, seed=seed)
    events = pulse_events(0.0, bpm, 1.0)[:20]  # the DAW's clock before Start: tempo only
    events.append(Transport(start_at, "start"))
    events += events_after_start
    return run.run(max(e.t_s for e in events) + 0.001, events)


def test_midi_clock_bar_one_is_the_progressions_bar_one_and_beats_are_the_internal_clocks():
    pulses = pulse_events(1.01, 120, 12)
    run = midi_clock_run(pulses)
    internal = LiveRun(seed=3).run(0.05 + 12 * 0.5 - 0.01)
    heard = notes_only(run)
    assert heard and heard[0][0] == 0.0  # the downbeat of bar 1: the first chord
    assert {n for b, n in run.note_ons(COMP) if b == 0.0} == {50, 53, 57, 60}  # Dm7
    assert heard == [e for e in notes_only(internal) if e[0] < 12 - 1e-9][:len(heard)]
    # an on-pulse message is due the moment its pulse arrives
    pulse_time = {round(k / 24, 6): p.t_s for k, p in enumerate(pulses)}
    for due, beat, m in run.sent:
        if beat is not None and round(beat, 6) in pulse_time:
            assert abs(due - pulse_time[round(beat, 6)]) < 1e-6, (beat, m)  # beats are queued to 1e-9


def test_midi_clock_tempo_jump_from_60_to_300_bpm_keeps_every_note_on_its_beat():
    slow = pulse_events(1.01, 60, 6)
    fast = pulse_events(slow[-1].t_s + 60 / 300 / 24, 300, 10)
    run = midi_clock_run(slow + fast)
    internal = LiveRun(seed=3).run(100.0)
    heard = notes_only(run)
    assert heard == [e for e in notes_only(internal) if e[0] <= heard[-1][0]][:len(heard)]
    assert max(b for b, _, _ in heard) > 14  # well into the fast part
    times = [p.t_s for p in slow + fast]
    for due, beat, m in run.sent:  # each on its pulse, before and after the jump
        if beat is not None and abs(beat * 24 - round(beat * 24)) < 1e-6:
            assert abs(due - times[round(beat * 24)]) < 1e-6, (beat, m)  # beats are queued to 1e-9


def test_midi_clock_pulses_lost_on_the_way_in_are_counted_and_said_and_the_notes_after_are_on_their_beats(caplog):
    daw = pulse_events(1.01, 60, 12)  # the DAW's pulses; nine of them never reach jazzd (an xrun at its input)
    lost = range(118, 127)  # beats 4.92-5.29, with two notes of the solo (5.0 and 5.25)
    run = midi_clock_run([p for k, p in enumerate(daw) if k not in lost])
    internal = LiveRun(seed=3).run(100.0)
    heard = notes_only(run)
    assert heard == [e for e in notes_only(internal) if e[0] <= heard[-1][0]][:len(heard)]
    assert max(b for b, _, _ in heard) >= 11
    [line] = [r.getMessage() for r in caplog.records if "lost on the way in" in r.getMessage()]
    # counted at the fourth pulse after the gap (LOSS_CONFIRM_PULSES), pulse 130
    assert line == ("MIDI clock: 9 pulses lost on the way in (a gap of 417 ms at 60 BPM), counted: jazzd's beat is "
                    "the DAW's again at beat 5.46")
    late = 0
    for due, beat, m in run.sent:
        if beat is None or abs(beat * 24 - round(beat * 24)) > 1e-6:
            continue
        k = round(beat * 24)
        if k in range(118, 122):  # before the loss is counted, jazzd's pulses 118-121 are the DAW's 127-130
            assert abs(due - daw[k + 9].t_s) < 1e-6, (beat, m)
            late += 1
        else:  # every other note on its pulse (a lost one's: where the tempo puts it, handed out at the count)
            assert abs(due - daw[k].t_s) < 1e-6, (beat, m)
    assert late  # the solo's note on beat 5.0 (pulse 120)


@pytest.mark.parametrize("stop_beat", [8.0, 5.5])
def test_midi_clock_stop_on_and_off_a_bar_line_sounds_nothing_after_it(stop_beat):
    period = 0.5 / 24
    pulses = pulse_events(1.01, 120, stop_beat)  # the pulses before the stop beat; Stop comes in place of its pulse
    stop_t = 1.01 + stop_beat * 24 * period
    run = midi_clock_run(pulses + [Transport(stop_t, "stop"), ClockPulse(stop_t + 0.3)])
    after = [(due, beat, m) for due, beat, m in run.sent if due >= stop_t - 1e-9]
    assert not [m for _, _, m in after if m.type == "note_on" and m.velocity > 0], "a note-on at or after Stop"
    assert all(due == stop_t for due, _, _ in after)  # the releases, at once
    assert not hanging_notes(m for _, _, m in run.sent)
    assert {m.channel for _, _, m in after if m.type == "control_change" and m.control == 123} == {0, 1}
    assert not [b for b, _, _ in notes_only(run) if b >= stop_beat], "something of the stop beat was played"


def test_midi_clock_continue_from_a_song_position_plays_the_chord_sounding_there():
    first = pulse_events(1.01, 120, 2)
    stop_t = first[-1].t_s + 0.01
    restart = 3.0
    events = first + [Transport(stop_t, "stop"), SongPosition(2.0, 18),  # 18 sixteenths: bar 2, beat 2.5 (4.5)
                      Transport(2.5, "continue")] + pulse_events(restart, 120, 3.5)
    run = midi_clock_run(events)
    resumed = [(b, t, n) for b, t, n in notes_only(run) if b >= 4.5 - 1e-9]
    assert resumed[0][0] == 4.5
    assert {n for b, t, n in resumed if b == 4.5 and t == "note_on" and n < 70} >= {55, 59, 62, 65}  # G7, from 4.5
    due_first = min(due for due, beat, m in run.sent if beat == 4.5)
    assert due_first == restart  # the first pulse after Continue is the song position
    assert all(beat >= 4.5 for due, beat, m in run.sent if due > stop_t and beat is not None)


def test_midi_clock_that_stops_arriving_releases_every_note_and_the_solo_plays_on_when_it_comes_back(caplog):
    before = pulse_events(1.01, 120, 3)  # beats 0..3, then nothing for 2 s (two beats at 120 BPM are 1 s)
    back = pulse_events(before[-1].t_s + 2.0, 120, 4)  # no Start, Stop or Continue: the DAW never stopped
    run = LiveRun('[clock]\nsource = "midi"\n', seed=3)
    with caplog.at_level(logging.INFO):
        run.run(back[0].t_s - 0.01, [Transport(1.0, "start")] + before)
        assert "MIDI clock stopped arriving (no pulse for 1.0" in caplog.text and not run.clock.running
        assert not hanging_notes(m for _, _, m in run.sent), "a note left sounding while the clock is gone"
        lapsed = len(run.sent)
        run.run(back[-1].t_s + 0.001, back)
    assert "MIDI clock is back: playing on from beat 3.00" in caplog.text and run.clock.running
    resumed = run.sent[lapsed:]
    assert all(beat >= 3.0 - 1e-9 for _, beat, _ in resumed if beat is not None)
    # the same solo as a clock that never stopped, every note on its beat
    steady = LiveRun('[clock]\nsource = "midi"\n', seed=3).run(back[-1].t_s, [Transport(1.0, "start")]
                                                                   + pulse_events(1.01, 120, 7))
    assert run.note_ons(MELODY) and run.note_ons(MELODY) == steady.note_ons(MELODY)
    assert [b for b, _ in run.note_ons(MELODY) if 3 <= b < 7], "nothing of the solo after the clock came back"
    # the chord cut at beat 3 (Dm7, bar 1) sounds again from there, at the first pulse that came back
    assert {m.note for due, beat, m in resumed if beat == 3.0 and m.type == "note_on"} == {50, 53, 57, 60}
    assert min(due for due, beat, _ in resumed if beat == 3.0) == back[0].t_s
    assert {n for b, n in run.note_ons(COMP) if b == 4.0} == {n for b, n in steady.note_ons(COMP) if b == 4.0}
    run.release()
    assert not hanging_notes(m for _, _, m in run.sent)
    offs = Counter((m.channel, m.note) for _, beat, m in run.sent if beat is not None and m.type == "note_off")
    ons = Counter((m.channel, m.note) for _, beat, m in run.sent if m.type == "note_on" and m.velocity)
    assert not offs - ons, "a queued note-off of a note the lapse had already released"


def test_a_session_that_falls_behind_the_playhead_plays_the_same_solo_on_without_the_missed_notes(caplog):
    steady = LiveRun(seed=5).run(0.05 + 24 * 0.5)  # six bars at 120 BPM
    run = LiveRun(seed=5).run(0.05 + 5 * 0.5)  # beat 5, then the machine stalls for two bars
    queued_until = max(beat for beat, _ in run.scheduler.queued())
    run.now = 0.05 + 13 * 0.5
    with caplog.at_level(logging.WARNING, logger="jazzd"):
        run.run(0.05 + 24 * 0.5)
    heard, solo = run.note_ons(MELODY), steady.note_ons(MELODY)
    assert set(heard) <= set(solo), "a note that is not the seeded solo's"
    # from the playhead on, every note of the same solo; in the gap, only what was queued before the stall
    assert [n for n in heard if n[0] >= 13] == [n for n in solo if n[0] >= 13] != []
    assert not [b for b, _ in heard if queued_until < b < 13 - 1e-9]
    # the chord sounding at the playhead (bar 4, Cmaj7, from beat 12) from there; nothing else of the gap
    assert {n for b, n in run.note_ons(COMP) if b == 13} == {48, 52, 55, 59}
    assert not [b for b, _ in run.note_ons(COMP) if queued_until < b < 13 - 1e-9]
    assert not hanging_notes(m for _, _, m in run.release().sent)
    # one warning says what was skipped: the seeded solo's notes between where it stood and the playhead
    said = [m for m in (re.search(FELL_BEHIND, r.getMessage()) for r in caplog.records) if m]
    assert len(said) == 1, caplog.text
    behind, start, end, skipped = (float(x) for x in said[0].groups())
    assert start <= queued_until + 1 and end == 13 and behind == end - start
    assert skipped == len([n for n in solo if start <= n[0] < end]) > 0


def test_midi_clock_that_comes_back_after_a_stop_plays_nothing():
    before = pulse_events(1.01, 120, 3)
    later = before[-1].t_s + 2.0
    run = LiveRun('[clock]\nsource = "midi"\n', seed=3)
    run.run(later + 2.0, [Transport(1.0, "start")] + before + [Transport(later, "stop")]
            + pulse_events(later + 0.5, 120, 2))  # the DAW stopped while the clock was gone, then sends clock
    assert not [m for due, _, m in run.sent if due > later and m.type == "note_on" and m.velocity]
    assert not run.clock.running


def trade_run(config="", seed=4):
    return LiveRun('[input]\nmode = "trade"\n' + config, seed=seed)


def test_trade_answers_a_phrase_ended_by_silence_from_the_next_bar_line_for_as_long():
    run = trade_run()
    events = play([], [(4 + i * 0.5, 0.5, p) for i, p in enumerate((62, 65, 69, 72, 71, 69, 67, 65))], 120)
    run.run(0.05 + 24 * 0.5, events).release()  # six bars
    melody = run.note_ons(MELODY)
    # silence from beat 8 for phrase_end_beats (2): decided at beat 10, answered from bar line 12 for one bar
    assert melody and all(12 <= b < 16 for b, _ in melody), melody
    assert not hanging_notes(m for _, _, m in run.sent)
    assert run.note_ons(COMP)  # the chords never stop


def test_trade_answers_after_trade_bars_and_a_player_note_interrupts_at_the_next_beat():
    run = trade_run("interrupt = true\n")
    phrase = [(4 + b * 4 + i, 0.9, 60 + i) for b in range(4) for i in range(4)]  # bars 2-5, every beat
    events = play([], phrase + [(21.3, 0.3, 72)], 120)  # a note 1.3 beats into the answer
    run.run(0.05 + 40 * 0.5, events).release()
    melody = run.note_ons(MELODY)
    assert melody and min(b for b, _ in melody) >= 20  # the answer starts on the bar line after bar 5
    assert not [b for b, _ in melody if 22 <= b < 24], "the answer went on after the interrupt"
    assert [b for b, _ in melody if 20 <= b < 22]
    assert max(b for b, m in run.messages("note_off", MELODY) if b < 24) <= 22.0 + 1e-9
    # the interrupting note began the player's next phrase (bar 6), answered from bar 7 for one bar
    assert [b for b, _ in melody if b >= 24] and all(24 <= b < 28 for b, _ in melody if b >= 22)
    assert not hanging_notes(m for _, _, m in run.sent)


def test_prime_changes_the_solo_from_its_bar_on_and_reports_the_phrase(caplog):
    phrase = [(8 + i * 0.5, 0.5, p) for i, p in enumerate((62, 65, 69, 72, 71, 69, 67, 65,
                                                             64, 67, 71, 74, 72, 71, 69, 67))]  # bars 3-4
    plain = LiveRun('[input]\nmode = "prime"\n', seed=11).run(0.05 + 36 * 0.5)
    with caplog.at_level(logging.INFO, logger="jazzd.live.session"):
        primed = LiveRun('[input]\nmode = "prime"\n', seed=11).run(0.05 + 36 * 0.5, play([], phrase, 120))
    apply_beat = 4 * 4  # bars 2-3 (0-based) are primed from bar 4 (0-based) on
    before = lambda run: [n for n in run.note_ons(MELODY) if n[0] < apply_beat]  # noqa: E731
    after = lambda run: [n for n in run.note_ons(MELODY) if n[0] >= apply_beat]  # noqa: E731
    assert before(plain) == before(primed), "priming changed the solo before its bar"
    assert after(plain) != after(primed), "priming did not change the solo"
    heard = [r.getMessage() for r in caplog.records if "heard the player's phrase" in r.getMessage()]
    assert len(heard) == 1 and "bars 3-4: 16 notes -> " in heard[0] and "primed from bar 5" in heard[0], heard


def test_live_chords_from_held_keys_shape_the_next_values(caplog):
    run = LiveRun('[harmony]\nsource = "live"\n[input]\nsplit_note = 60\n[comp]\nenabled = false\n', seed=5)
    keys = [NoteEvent(0.05 + 3.9 * 0.5, 0, n, 70) for n in (48, 52, 55, 58)]  # C E G Bb held from beat 3.9
    with caplog.at_level(logging.DEBUG, logger="jazzd.live.session"):
        run.run(0.05 + 16 * 0.5, keys)
    assert "live chord C7 (keys 48 52 55 58)" in caplog.text
    lines = [r.getMessage().split() for r in caplog.records if r.getMessage().startswith("beat ")]
    realized = [(float(w[1]), w[2], w[3].split(",")[0], w[5]) for w in lines]  # beat, chord, type, note
    late = [r for r in realized if r[0] >= 6.0]  # generated after the keys (the lookahead is one beat)
    assert late and all(chord == "C7" for _, chord, _, _ in late)
    chord_tones = [note for _, _, kind, note in late if kind == "C" and note != "rest"]
    assert chord_tones and all(n.rstrip("0123456789") in {"C", "E", "G", "Bb"} for n in chord_tones)
    assert not run.note_ons(COMP)


def control(t, cc, value, channel=0):
    return ControlChange(t, channel, cc, value)


def test_mute_panic_and_unmute():
    run = LiveRun(seed=2)
    spb = 0.5
    events = [control(0.05 + 4.1 * spb, 22, 127),  # panic
              control(0.05 + 8.0 * spb, 21, 127), control(0.05 + 12.0 * spb, 21, 0)]  # mute bars 3, unmute at 4
    run.run(0.05 + 20 * spb, events).release()
    released = [due for due, beat, m in run.sent if beat is None]
    assert released and min(released) == pytest.approx(0.05 + 4.1 * spb)  # the panic's releases, at once
    muted = [b for b, _ in run.note_ons() if 8 <= b < 12 + 1e-9 and b != 12]
    assert not muted, "notes while muted"
    assert [b for b, _ in run.note_ons() if b > 12] and [b for b, _ in run.note_ons() if 4.1 < b < 8]
    assert not hanging_notes(m for _, _, m in run.sent)


def test_tempo_reset_temperature_and_mode_controls(caplog):
    run = LiveRun(seed=2)
    with caplog.at_level(logging.INFO, logger="jazzd.live.session"):
        run.run(1.0, [control(0.5, 24, 50)])  # tempo 140
        assert run.clock.bpm == 140
        beats = [(due, beat) for due, beat, m in run.sent if beat is not None and due > 0.6]
        run.run(4.0, [control(2.0, 20, 0), control(2.1, 23, 127)])
        assert run.session.improviser.temperature == pytest.approx(0.1)
        run.run(6.0, [control(5.0, 25, 127)])  # trade: jazzd listens
    assert run.session.interplay.mode == "trade"
    later = [b for b, _ in run.note_ons(MELODY) if b > run.clock.beat_at(5.0) + 1.0]
    assert not later, "played on after switching to trade"
    for due, beat in beats:
        assert due == pytest.approx(run.clock.seconds_at(beat))
    messages = caplog.text
    for line in ("tempo 140 BPM (CC 24)", "temperature 0.10 (CC 20)", "a and c reset to zeros (CC 23)",
                 "input mode trade (CC 25)"):
        assert line in messages, line


def test_a_knob_turned_is_logged_when_it_settles_and_a_repeated_value_not_at_all(caplog):
    run = LiveRun(seed=2)
    sweep = [control(1.0 + k * 0.005, 20, k) for k in range(60)]  # 60 values in 0.3 s
    repeats = [control(3.0 + k * 0.01, 21, 0) for k in range(50)]  # unmute, 50 times
    with caplog.at_level(logging.INFO, logger="jazzd.live.session"):
        run.run(5.0, sweep + repeats)
    lines = [r.getMessage() for r in caplog.records if "(CC" in r.getMessage()]
    temps = [line for line in lines if line.startswith("temperature")]
    assert temps == ["temperature 0.10 (CC 20)", "temperature 0.98 (CC 20)"]  # the first, then the settled value
    assert [line for line in lines if "muted" in line] == ["unmuted (CC 21)"]


def test_resume_continues_the_solo_where_a_saved_run_stopped():
    on_grid = '[feel]\ntiming = "grid"\n'  # the solo resumes; the players' timing draws afresh (not saved)
    whole = LiveRun(on_grid, bars=4, seed=8).run(30.0)
    first = LiveRun(on_grid, bars=2, seed=8).run(30.0)
    snap = first.session.snapshot(first.now)
    assert snap["beat"] == 8.0
    second = LiveRun(on_grid, bars=2, seed=8)
    second.session.improviser.a, second.session.improviser.c = first.session.improviser.a, first.session.improviser.c
    second.session.improviser.last = first.session.improviser.last
    for name, g in first.generators.items():
        second.generators[name].bit_generator.state = g.bit_generator.state
    second.session.resume(snap["beat"], snap["horizon"], snap["previous"])
    second.run(30.0)
    assert first.note_ons(MELODY) + second.note_ons(MELODY) == whole.note_ons(MELODY)
    assert min(b for b, _ in second.note_ons()) >= 8.0


def test_a_player_note_anywhere_in_the_midi_range_never_breaks_trade_or_prime():
    for mode in ("trade", "prime"):
        run = LiveRun(f'[input]\nmode = "{mode}"\n', seed=6)
        events = []
        for k, pitch in enumerate(range(0, 128)):
            beat = 4 + k * 0.25
            play(events, [(beat, 0.2, pitch)], 120)
        run.run(0.05 + (4 + 128 * 0.25 + 24) * 0.5, events).release()
        assert not hanging_notes(m for _, _, m in run.sent)
        assert all(52 <= n <= 81 for _, n in run.note_ons(MELODY))


def test_a_128_key_chord_is_named_off_the_session_thread_once_and_the_solo_goes_on(monkeypatch):
    """Before, every chord-key press was named with music21 on the session's thread (20 keys: 0.28 s a press, the
    solo two beats behind; 36 keys: no note for 18 s): here 128 keys at once are named on the namer's thread,
    a couple of times at most (only the newest keys), while the session keeps queueing the solo."""
    import threading

    from music21 import harmony as m21harmony

    from jazzd.live.chordnamer import ChordNamer, NamedChord

    named_on, real = [], m21harmony.chordSymbolFigureFromChord

    def spy(*args, **kwargs):
        named_on.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(m21harmony, "chordSymbolFigureFromChord", spy)
    run = LiveRun('[harmony]\nsource = "live"\n[input]\nchord_channel = 2\n[comp]\nenabled = false\n', seed=5)
    delivered: list[NamedChord] = []
    run.session.namer = ChordNamer(delivered.append)
    run.run(0.05 + 4 * 0.5)
    before = len(run.note_ons(MELODY))
    run.run(0.05 + 4 * 0.5, [NoteEvent(0.05 + 4 * 0.5, 1, key, 80) for key in range(128)])
    assert named_on == [], "named on the session's thread"
    wait_for(lambda: delivered and max(len(d.keys) for d in delivered) == 128, 60, 0.01, "the 128 keys named")
    assert len(named_on) <= 3 and set(named_on) == {"jazzd-chords"}, named_on
    for named in delivered:  # the daemon hands the named chords back as events
        run.session.handle(named)
    assert run.session.harmony.current.pitch_classes == frozenset(range(12))
    assert len(run.session.harmony.current.voicing) == 12  # the lowest key and the pitch classes above it
    run.run(0.05 + 16 * 0.5)
    assert len(run.note_ons(MELODY)) > before + 5  # the solo went on over the new chord
    run.session.namer.close()


def test_a_runaway_midi_clock_is_refused_with_one_warning_a_second_then_followed_again(caplog):
    """A 10 kHz MIDI clock for 3 s: before, jazzd followed it (312 bars, 2,097 note-ons, 509 warnings in 3 s)."""
    import math

    from jazzd.live.clock import MAX_BPM

    period_s = 256 / 48000  # what a JACK input stamps: the cycle each pulse came in
    sane = pulse_events(1.01, 120, 8)
    runaway = [ClockPulse(math.ceil((sane[-1].t_s + 0.01 + k * 1e-4) / period_s) * period_s) for k in range(30_000)]
    back = pulse_events(runaway[-1].t_s + 0.02, 120, 8)
    with caplog.at_level(logging.INFO):
        run = midi_clock_run(sane + runaway + back)
    refused = [r for r in caplog.records if "refused" in r.getMessage()]
    assert 1 <= len(refused) <= 4 and all(r.levelname == "WARNING" for r in refused), [r.getMessage() for r in refused]
    assert f"refused (at most {MAX_BPM:.0f} BPM)" in refused[0].getMessage()
    runaway_s = (runaway[0].t_s, runaway[-1].t_s)
    during = [m for due, _, m in run.sent if runaway_s[0] <= due <= runaway_s[1] and m.type == "note_on" and m.velocity]
    assert len(during) <= 40, len(during)  # what the few bunches before the refusal let through, not 2,097
    assert any("MIDI clock within 1000 BPM again: following it" in r.getMessage() for r in caplog.records)
    assert [m for due, _, m in run.sent if due > back[24].t_s and m.type == "note_on" and m.velocity]
    assert sum(1 for r in caplog.records if r.levelname == "WARNING") <= 10
    # every note released while it was refused
    assert not hanging_notes(m for due, _, m in run.sent if due < back[0].t_s)
