"""The JACK server and peers come and go: the real CLI on a JACK dummy server of the test's own."""

from __future__ import annotations

import signal
import subprocess

import pytest

from helpers import IN_CI, JAZZD, ROOT, wait_for
from jack_session import JackUnavailable, jack_connections, running_jack_server

pytestmark = [pytest.mark.e2e, pytest.mark.jack]
SERVER = "jazzd-watch-test"


@pytest.fixture
def own_server(monkeypatch, tmp_path):
    """A JACK server only this test uses (it may be killed), found through JACK_DEFAULT_SERVER."""
    from jazzd.live.jackwatch import rtmidi_bundles_libjack

    if rtmidi_bundles_libjack():
        message = "python-rtmidi is the PyPI wheel with its own libjack: make test builds it against the system's"
        pytest.fail(message) if IN_CI else pytest.skip(message)
    monkeypatch.setenv("JACK_DEFAULT_SERVER", SERVER)
    try:
        with running_jack_server(name=SERVER, log_path=tmp_path / "jackd.log") as server:
            yield server
    except JackUnavailable as err:
        pytest.fail(str(err)) if IN_CI else pytest.skip(str(err))


def start_jazzd(tmp_path, *args) -> tuple[subprocess.Popen, object]:
    err = open(tmp_path / "stderr.txt", "w+")
    proc = subprocess.Popen([*JAZZD, "run", "--config", str(ROOT / "config.toml"), "--bpm", "240",
                             "--backend", "jack", "--input", "off", *args],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL)
    return proc, err


def log_of(err) -> str:
    err.flush()
    err.seek(0)
    return err.read()


def test_the_server_going_away_ends_the_run_in_one_line(own_server, tmp_path):
    proc, err = start_jazzd(tmp_path)
    try:
        wait_for(lambda: "bar 1 |" in log_of(err) or proc.poll() is not None, 90, 0.1, "jazzd to play")
        assert proc.poll() is None, log_of(err)
        own_server.send_signal(signal.SIGKILL)  # as a crash or `kill -9` of jackd would
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log_of(err)
    assert proc.returncode == 1, text
    lines = text.strip().splitlines()
    assert lines[-1].startswith("jazzd: error: the JACK server went away"), text
    assert "Traceback" not in text
    assert not [line for line in lines if "jazzd" not in line], "libjack's own messages reached stderr:\n" + text


def test_a_named_output_that_leaves_and_comes_back_is_connected_again(own_server, tmp_path):
    from jack_session import Receiver

    peer = Receiver("jazzd-peer", "in")
    proc, err = start_jazzd(tmp_path, "--output", "jazzd-peer:in", "--bars", "400")
    try:
        wait_for(lambda: "bar 1 |" in log_of(err) or proc.poll() is not None, 90, 0.1, "jazzd to play")
        wait_for(lambda: peer.received, 30, 0.05, "the peer to hear jazzd")
        peer.close()
        wait_for(lambda: "jazzd-peer:in is gone" in log_of(err), 30, 0.1, "jazzd to see the peer leave")
        peer = Receiver("jazzd-peer", "in")
        wait_for(lambda: "jazzd-peer:in is back" in log_of(err), 30, 0.1, "jazzd to see the peer return")
        assert "jazzd-peer:in" in jack_connections().get("jazzd:jazzd out", [])
        wait_for(lambda: peer.received, 30, 0.05, "the returned peer to hear jazzd")
        assert proc.poll() is None, log_of(err)
    finally:
        peer.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
    assert proc.returncode == 0, log_of(err)


def test_connect_by_name_reaches_a_port_there_at_start_and_one_that_appears_later(own_server, tmp_path):
    from jack_session import Receiver

    early = Receiver("jazzd-synth-a", "midi_00")
    proc, err = start_jazzd(tmp_path, "--connect", "SYNTH", "--bars", "400")
    late = None
    try:
        wait_for(lambda: "bar 1 |" in log_of(err) or proc.poll() is not None, 90, 0.1, "jazzd to play")
        assert "jazzd-synth-a:midi_00" in jack_connections().get("jazzd:jazzd out", []), log_of(err)
        wait_for(lambda: early.received, 30, 0.05, "the synth there at start to hear jazzd")
        late = Receiver("jazzd-synth-b", "midi_00")
        wait_for(lambda: "jazzd-synth-b:midi_00" in jack_connections().get("jazzd:jazzd out", []), 30, 0.1,
                 "jazzd to connect the synth that appeared")
        wait_for(lambda: late.received, 30, 0.05, "the later synth to hear jazzd")
        assert "connected jazzd:jazzd out -> jazzd-synth-b:midi_00 (--connect)" in log_of(err)
    finally:
        early.close()
        if late is not None:
            late.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
    assert proc.returncode == 0, log_of(err)
