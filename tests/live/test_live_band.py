"""The band live: `jazzd run` plays bass, drums and piano beside the solo, each on its channel, on the beat clock;
it keeps time while the player calls in trade mode, follows the transport, mutes a part by its CC, and every note
of every part is released at a stop.

The session is stepped on a fake clock (LiveRun) for the exact behaviour; the JACK test proves the wiring.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from helpers import LiveRun, check_silent_at_end, hanging_notes, jazzd, pulse_events, read_notes, wait_for
from jazzd.live.events import ControlChange, NoteEvent, SongPosition, Transport

MELODY, PIANO, BASS, DRUMS = 0, 1, 2, 9
BAND = '[band]\nstyle = "swing"\n'


def test_the_live_band_is_the_band_of_generate_for_a_seed(tmp_path):
    """One seed, one band: what `jazzd run` queues is what `jazzd generate` writes (bass, drums, piano)."""
    run = LiveRun(BAND, seed=7, bars=8).run(0.05 + 8 * 4 * 0.5 + 1)
    config = tmp_path / "config.toml"
    config.write_text(BAND)
    result = jazzd("generate", "--config", config, "--seed", 7, "--bars", 8, "-o", tmp_path / "g.mid")
    assert result.returncode == 0, result.stderr
    written = read_notes(tmp_path / "g.mid")[1]
    for channel in (PIANO, BASS, DRUMS):  # the file's ticks: 1/480 beat
        live = sorted((round(b * 480), n) for b, n in run.note_ons(channel))
        offline = sorted((round(onset * 480), n) for ch, n, onset, _ in written if ch == channel)
        assert live and len(live) == len(offline), channel
        assert all(a[1] == b[1] and abs(a[0] - b[0]) <= 1 for a, b in zip(live, offline)), channel
    assert not hanging_notes(m for _, _, m in run.sent)


def test_the_band_keeps_time_while_the_player_calls_in_trade_mode():
    run = LiveRun(BAND + '[input]\nmode = "trade"\n', seed=3)
    phrase = [NoteEvent(0.05 + (8 + i) * 0.5, 0, 60 + i, 90 if on else 0) for i in range(8) for on in (True, False)]
    run.run(0.05 + 24 * 0.5, phrase)
    # bars 1-2: jazzd listens, the player has not played yet; the band plays
    assert not [b for b, _ in run.note_ons(MELODY) if b < 8]
    for channel in (BASS, DRUMS):  # every bar, the player's and jazzd's
        assert {int(b // 4) for b, _ in run.note_ons(channel)} >= {0, 1, 2, 3, 4, 5}, channel
    assert len({int(b // 4) for b, _ in run.note_ons(PIANO)}) >= 4  # the piano lays out a bar now and then
    assert len([b for b, _ in run.note_ons(BASS) if b < 8]) >= 7


def test_a_part_muted_by_its_cc_stops_at_once_and_comes_back_when_unmuted(caplog):
    import logging

    run = LiveRun(BAND, seed=3)
    at = lambda beat: 0.05 + beat * 0.5  # noqa: E731 (120 BPM from 0.05 s)
    events = [ControlChange(at(6.0), 0, 28, 127), ControlChange(at(14.0), 0, 28, 0),
              ControlChange(at(6.0), 0, 27, 127), ControlChange(at(10.0), 0, 27, 0)]
    with caplog.at_level(logging.INFO, logger="jazzd.live.session"):
        run.run(at(24.0), events)
    drums = [b for b, _ in run.note_ons(DRUMS)]
    bass = [b for b, _ in run.note_ons(BASS)]
    assert not [b for b in drums if 6.0 <= b < 14.0] and [b for b in drums if b >= 14.0] and [b for b in drums if b < 6]
    assert not [b for b in bass if 6.0 <= b < 10.0] and [b for b in bass if b >= 10.0]
    assert [b for b, _ in run.note_ons(PIANO) if 6.0 <= b < 14.0]  # the others play on
    assert "drums muted (CC 28)" in caplog.text and "bass unmuted (CC 27)" in caplog.text
    # the drums' notes sounding when muted end there: none is left hanging
    assert not hanging_notes(m for due, _, m in run.sent if m.channel == DRUMS and due < at(13.0))


def test_the_band_follows_midi_clock_start_stop_and_song_position():
    pulses = pulse_events(1.01, 120, 8)
    stop_t = pulses[-1].t_s + 0.5 / 24
    back_t = stop_t + 2.0
    later = pulse_events(back_t + 0.01, 120, 8)  # the DAW plays on from bar 5 (Song Position 64 = beat 16)
    events = (pulse_events(0.0, 120, 1.0)[:20] + [Transport(1.0, "start")] + pulses + [Transport(stop_t, "stop"),
              SongPosition(stop_t + 1.0, 64), Transport(back_t, "continue")] + later)
    run = LiveRun('[clock]\nsource = "midi"\n' + BAND, seed=3)
    run.run(later[-1].t_s, events)
    for channel in (PIANO, BASS, DRUMS):
        beats = [b for b, _ in run.note_ons(channel)]
        assert beats and min(beats) < 4.0, channel  # from bar 1
        assert not [b for b in beats if 8.0 <= b < 16.0 - 0.05], channel  # nothing after the Stop, none of bars 3-4
        assert [b for b in beats if b >= 16.0 - 0.05], channel  # from the song position on
    assert min(b for b, _ in run.note_ons(BASS) if b > 8) == pytest.approx(16.0, abs=0.02)
    assert not hanging_notes(m for due, _, m in run.sent if due < back_t)
    checked = 0
    for due, beat, m in run.sent:  # a bass note sounds once the DAW's pulse at or before its beat has arrived
        if beat is not None and beat < 7.9 and m.type == "note_on" and m.channel == BASS:
            k = int(beat * 24 + 1e-6)
            assert pulses[k].t_s - 1e-9 <= due <= pulses[k + 1].t_s + 1e-9, (beat, due)
            checked += 1
    assert checked >= 7  # the walking bass of bars 1-2


def test_a_waltz_is_in_three_and_the_pads_style_is_the_old_comp():
    run = LiveRun('[band]\nstyle = "waltz"\n', seed=2).run(0.05 + 12 * 0.5)
    assert {round(b) % 3 for b, _ in run.note_ons(BASS)} == {0, 1, 2}
    assert all(abs(b - round(b)) < 0.02 for b, _ in run.note_ons(BASS))  # on the beats, humanized by a few ms
    assert run.session.beats_per_bar == 3
    pads = LiveRun('[band]\nstyle = "pads"\n', seed=2).run(0.05 + 8 * 0.5)
    assert not pads.note_ons(BASS) and not pads.note_ons(DRUMS)
    assert sorted(n for b, n in pads.note_ons(PIANO) if b == 0) == [50, 53, 57, 60]  # Dm7 in close position


@pytest.mark.e2e
@pytest.mark.jack
def test_jazzd_run_plays_all_four_parts_on_their_channels_on_the_beat_and_nothing_sounds_after_sigterm(
        jack_server, tmp_path):
    from jack_session import JackSession

    s = JackSession(tmp_path, BAND, "--bpm", "120", "--seed", "5")
    try:
        s.wait_ready()
        wait_for(lambda: all(len(s.notes(ch)) >= 12 for ch in (MELODY, PIANO, BASS, DRUMS)), 90, 0.05,
                 "a dozen notes on each of the solo's, the piano's, the bass's and the drums' channels")
        time.sleep(2.0)  # a few bars more of everything
        code = s.stop()
    finally:
        s.close()
    assert code == 0, s.stderr
    received = [m for _, m in s.received]
    check_silent_at_end(received)
    last_on = max(i for i, m in enumerate(received) if m.type == "note_on" and m.velocity)
    assert all(m.type != "note_on" or not m.velocity for m in received[last_on + 1:])
    channels = {m.channel for m in received if m.type == "note_on" and m.velocity}
    assert channels == {MELODY, PIANO, BASS, DRUMS}
    programs = {(m.channel, m.program) for m in received if m.type == "program_change"}
    assert {(BASS, 32), (DRUMS, 32), (PIANO, 0), (MELODY, 26)} <= programs  # acoustic bass, the jazz kit
    # on the beat: the walking bass on every beat (humanize 6 ms, JACK's 5.3 ms period), the ride on the beats and
    # their swung eighths
    spb = 0.5
    bass = np.array([t for t, _ in s.notes(BASS)])
    t0 = bass[0]
    beats = np.round((bass - t0) / spb)
    offset = np.median((bass - t0) - beats * spb)
    residual = (bass - t0) - beats * spb - offset
    assert np.median(np.abs(residual)) < 0.010 and np.mean(np.abs(residual) < 0.030) > 0.8, np.round(residual, 3)
    assert len(set(beats)) == len(beats) and np.all(np.diff(beats) >= 1)  # one note a beat
    ride = np.array([t for t, n in s.notes(DRUMS) if n == 51]) - t0 - offset
    phase = (ride / spb) % 1.0
    on_grid = np.minimum(np.minimum(phase, 1 - phase), np.abs(phase - 0.6875))  # the beat, or its swung eighth
    assert np.mean(on_grid * spb < 0.030) > 0.8, np.round(phase, 3)
