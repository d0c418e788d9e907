"""jazzd on an Ableton Link session (jazzd.live.linkclock): two peers on one machine, jazzd and a test peer
(tests/link_peer.py), inside a network namespace that holds only the loopback interface, so no packet of
Link's leaves the machine. The notes are heard by a JACK client outside it (JACK's sockets are files), on the
frame clock, which is Link's clock (CLOCK_MONOTONIC_RAW)."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

from helpers import JAZZD, check_silent_at_end, wait_for
from jack_session import LinkPeer, beat_of, namespace_available

BASS = 2
pytestmark = [pytest.mark.e2e, pytest.mark.jack]


class Peer(LinkPeer):
    def __init__(self, bpm: float, log_path, command):
        pytest.importorskip("link", reason="LinkPython-extern (the link extra) is not installed")
        if not namespace_available():
            pytest.fail("a network namespace is needed (unshare -rn, ip): no Link test on the machine's interfaces")
        super().__init__(bpm, log_path, command)


def test_jazzd_plays_on_the_link_sessions_beats_follows_its_tempo_and_start_stop_and_never_sets_its_tempo(
        jack_server, tmp_path):
    from jack_session import LISTENER, Receiver, late_cycles

    config = tmp_path / "config.toml"
    config.write_text('[band]\nstyle = "swing"\nhumanize_ms = 0\n[midi]\ninput = "off"\n'
                      '[clock]\nsource = "link"\nbpm = 120\n')
    receiver = Receiver()
    peer = Peer(100.0, tmp_path / "jazzd.log", [*JAZZD, "run", "--config", str(config), "--backend", "jack",
                                                "--output", LISTENER, "--seed", "3"])
    try:
        # the peer's session exists a second before jazzd enables Link: Link keeps the session that has existed
        # longer (by more than half a second; closer than that, an arbitrary order of session ids decides)
        time.sleep(1.0)
        assert peer.ask("run").startswith("pid ")
        assert peer.ask("peers 1") == "peers 1", peer.log()
        wait_for(lambda: "waiting for it to roll" in peer.log(), 60, 0.05, "jazzd to join and wait")
        time.sleep(1.0)
        joined = peer.line()
        assert joined[0] == pytest.approx(100.0), "jazzd's joining changed the session's tempo"
        assert not receiver.notes(), "jazzd played before the session started"
        started = peer.line("start")
        time.sleep(5.0)
        faster = peer.line("tempo 140")
        time.sleep(4.0)
        stopped = peer.line("stop")
        time.sleep(1.5)
        again = peer.line("start")
        time.sleep(3.0)
        assert peer.ask("term") == "exit 0", peer.log()
        receiver.wait_quiet(0.3)
    finally:
        peer.close()
        receiver.close()
    log = peer.log()
    assert "Traceback" not in log, log
    assert re.search(r"Link: start at beat 0\.00 \(bar 1\)", log), log

    rate = 48000.0
    heard = [(cycle + offset / rate * 1e6, msg) for _, cycle, offset, msg in receiver.frames]
    # bass notes, but those in cycles the JACK server itself began late (a loaded VM): late whoever sent them
    late = late_cycles(receiver.cycles)
    bass = [cycle + offset / rate * 1e6 for _, cycle, offset, m in receiver.frames
            if m.type == "note_on" and m.velocity and m.channel == BASS and cycle not in late]
    assert bass

    def errors_ms(first_us, last_us, timeline):
        tempo = timeline[0]
        beats = np.array([beat_of(us, timeline) for us in bass if first_us <= us < last_us])
        return (beats - np.round(beats)) * 60e3 / tempo, beats

    spb_140 = 60e6 / 140
    # on the session's beats, at 100 BPM and, from a beat after the change, at 140
    slow, slow_beats = errors_ms(started[1], faster[1], started)
    fast, _ = errors_ms(faster[1] + spb_140, stopped[1], faster)
    after, after_beats = errors_ms(again[1], again[1] + 3e6, again)
    assert len(slow) >= 6 and len(fast) >= 6 and len(after) >= 3, (slow_beats, len(fast), after_beats, log)
    every = np.abs(np.concatenate([slow, fast, after]))
    assert np.median(every) <= 2.0, np.round(every, 2)
    assert np.mean(np.abs(fast) <= 5.0) >= 0.9, np.round(fast, 2)  # the new tempo followed within a beat
    # jazzd's bar 1 is the session's bar line: the first bass note after each start (in a late cycle of the server's
    # or not) on a beat that is a multiple of the quantum
    every_bass = [cycle + offset / rate * 1e6 for _, cycle, offset, m in receiver.frames
                  if m.type == "note_on" and m.velocity and m.channel == BASS]
    first_slow = beat_of(min(us for us in every_bass if us >= started[1]), started)
    first_again = beat_of(min(us for us in every_bass if us >= again[1]), again)
    assert round(first_slow) % 4 == 0 and round(first_again) % 4 == 0, (first_slow, first_again)
    # stopped: every note released within a few periods, nothing struck until the session starts again
    margin_us = 100e3
    during_stop = [m for us, m in heard if stopped[1] + margin_us <= us < again[1]]
    assert not [m for m in during_stop if m.type == "note_on" and m.velocity], during_stop[:5]
    check_silent_at_end([m for us, m in heard if us < stopped[1] + margin_us])
    check_silent_at_end([m for _, m in heard])  # and after SIGTERM
    assert len(late) < len(receiver.cycles) / 10, "the JACK server was late in over a tenth of its cycles"
