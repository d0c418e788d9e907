"""jazzd dying without releasing its notes (a crash, kill -9): the guardian releases them.

The real CLI on a JACK dummy server of the test's own, playing to a test client;
jazzd is killed with SIGSEGV (as issue 14's crash in python-rtmidi's JACK thread
killed it) or SIGKILL while notes sound at the client.
"""

from __future__ import annotations

import signal
import subprocess

import pytest

from helpers import IN_CI, JAZZD, ROOT, check_silent_at_end, hanging_notes, wait_for
from jack_session import JackUnavailable, running_jack_server

pytestmark = [pytest.mark.e2e, pytest.mark.jack]
SERVER = "jazzd-guardian-test"


@pytest.fixture
def own_server(monkeypatch, tmp_path):
    monkeypatch.setenv("JACK_DEFAULT_SERVER", SERVER)
    try:
        with running_jack_server(name=SERVER, log_path=tmp_path / "jackd.log") as server:
            yield server
    except JackUnavailable as err:
        pytest.fail(str(err)) if IN_CI else pytest.skip(str(err))


@pytest.fixture
def receiver(own_server):
    from jack_session import Receiver

    peer = Receiver("jazzd-test", "in")
    yield peer
    peer.close()


def start_jazzd(tmp_path, receiver="jazzd-test:in", name="stderr.txt"):
    err = open(tmp_path / name, "w+")
    proc = subprocess.Popen([*JAZZD, "run", "--config", str(ROOT / "config.toml"), "--bpm", "240",
                             "--backend", "jack", "--input", "off", "--output", receiver],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL)
    return proc, err


def log_of(err) -> str:
    err.flush()
    err.seek(0)
    return err.read()


def messages(receiver):
    return [m for _, m in list(receiver.received)]


def wait_for_sounding_notes(proc, err, receiver, melody_and_chord=True, port="jazzd:jazzd out"):
    """Wait until the client has note-ons without note-offs on both of jazzd's channels."""
    wait_for(lambda: f"jazzd-guardian INFO: watching {port}" in log_of(err) or proc.poll() is not None,
             90, 0.05, "the guardian to watch jazzd's port")

    def sounding():
        assert proc.poll() is None, log_of(err)
        channels = {ch for ch, _ in hanging_notes(messages(receiver))}
        return channels >= ({0, 1} if melody_and_chord else {0})
    wait_for(sounding, 90, 0.01, "notes sounding at the client")


@pytest.mark.parametrize("sig", [signal.SIGSEGV, signal.SIGKILL], ids=["SIGSEGV", "SIGKILL"])
def test_notes_sounding_when_jazzd_dies_are_released_by_the_guardian(receiver, tmp_path, sig):
    proc, err = start_jazzd(tmp_path)
    try:
        wait_for_sounding_notes(proc, err, receiver)
        proc.send_signal(sig)
        proc.wait(30)
        assert proc.returncode == -sig, log_of(err)
        hanging_at_death = hanging_notes(messages(receiver))
        wait_for(lambda: "jazzd-guardian: jazzd" in log_of(err), 60, 0.05, "the guardian to release the notes")
        receiver.wait_quiet(0.3)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log_of(err)
    assert hanging_at_death, "the test needs notes sounding when jazzd dies"
    check_silent_at_end(messages(receiver))  # a note-off lost in an xrun is ended by the All Notes Off after it
    line = next(line for line in text.splitlines() if line.startswith("jazzd-guardian:"))
    # per channel: sustain off, 128 note-offs, All Notes Off, then sustain off and All Notes Off again: 132, on the
    # solo's, the piano's, the bass's and the drums' channels
    assert f"(pid {proc.pid}) ended without releasing its notes: {132 * 4} release messages sent to jazzd-test:in" in line
    all_off = {m.channel for m in messages(receiver) if m.type == "control_change" and m.control == 123}
    assert all_off == {0, 1, 2, 9}


def test_a_clean_stop_leaves_the_guardian_silent(receiver, tmp_path):
    proc, err = start_jazzd(tmp_path)
    try:
        wait_for_sounding_notes(proc, err, receiver)
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        receiver.wait_quiet(0.3)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log_of(err)
    assert proc.returncode == 0, text
    # as a synth hears it: a fresh-clone busy run lost one of jazzd's note-offs in an xrun at the client (82
    # there), and jazzd's All Notes Off after its note-offs still ended that note
    check_silent_at_end(messages(receiver))
    # jazzd's own release only: one note-off per sounding note, not the guardian's 128 per channel
    received = messages(receiver)
    last_on = max(i for i, m in enumerate(received) if m.type == "note_on" and m.velocity > 0)
    offs = [m for m in received[last_on:] if m.type == "note_off" or (m.type == "note_on" and m.velocity == 0)]
    assert len(offs) < 20, offs
    assert "jazzd-guardian INFO: watching jazzd:jazzd out" in text  # it was there, and stayed silent
    assert "ended without releasing" not in text


def test_two_jazzd_on_one_server_each_name_and_release_their_own_notes(own_server, tmp_path):
    """JACK renames the second's client jazzd-01: it logs and watches jazzd-01:jazzd out, and killed with -9 its
    guardian releases its notes at its own receiver, none at the first's. Before, its guardian watched
    jazzd:jazzd out (the first's port) and sent 264 release messages to the first's receiver, while the
    second's notes hung."""
    from jack_session import Receiver, jack_connections

    a, b = Receiver("jazzd-test-a", "in"), Receiver("jazzd-test-b", "in")
    first, first_err = start_jazzd(tmp_path, "jazzd-test-a:in", "first.txt")
    second = second_err = None
    try:
        wait_for_sounding_notes(first, first_err, a, port="jazzd:jazzd out")
        second, second_err = start_jazzd(tmp_path, "jazzd-test-b:in", "second.txt")
        wait_for_sounding_notes(second, second_err, b, port="jazzd-01:jazzd out")
        connections = jack_connections()
        assert "jazzd-test-b:in" in connections["jazzd-01:jazzd out"], connections
        assert "jazzd-test-a:in" in connections["jazzd:jazzd out"], connections
        heard_by_a = len(a.received)
        second.send_signal(signal.SIGKILL)
        second.wait(30)
        wait_for(lambda: "jazzd-guardian: jazzd" in log_of(second_err), 60, 0.05, "the guardian to release")
        b.wait_quiet(0.3)
        assert first.poll() is None, log_of(first_err)
        after_kill = messages(a)[heard_by_a:]
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
        a.close(), b.close()
    line = next(line for line in log_of(second_err).splitlines() if line.startswith("jazzd-guardian:"))
    assert f"{132 * 4} release messages sent to jazzd-test-b:in" in line, line
    check_silent_at_end(messages(b))
    # the first kept playing its solo: no release of 128 note-offs a channel reached it
    offs = [m for m in after_kill if m.type == "note_off" or (m.type == "note_on" and m.velocity == 0)]
    ons = [m for m in after_kill if m.type == "note_on" and m.velocity > 0]
    assert len(offs) <= len(ons) + 20, (len(offs), len(ons))
    assert "playing to jazzd-test-b:in (jack port from jazzd-01:jazzd out)" in log_of(second_err)
    assert "playing to jazzd-test-a:in (jack port from jazzd:jazzd out)" in log_of(first_err)
