"""`jazzd run` end to end: the real CLI as a subprocess, to a MIDI file and through a real JACK server."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import mido
import numpy as np
import pytest

from helpers import (JAZZD, ROOT, align_heard, check_released, check_silent_at_end, from_a_terminal, jazzd, read_notes,
                     wait_for)

pytestmark = pytest.mark.e2e


def expected_melody(tmp_path, seed, bars, bpm, *flags):
    """The melody `jazzd generate` writes for a seed: (MIDI note, onset beats, duration beats)."""
    out = tmp_path / f"expected-{seed}.mid"
    result = jazzd("generate", "--seed", seed, "--bars", bars, "--bpm", bpm, "-o", out, *flags)
    assert result.returncode == 0, result.stderr
    return [(n, onset, dur) for ch, n, onset, dur in read_notes(out)[1] if ch == 0]


def test_run_to_a_file_plays_the_seeded_solo(tmp_path):
    out = tmp_path / "live.mid"
    result = jazzd("run", "--output", out, "--bars", "2", "--bpm", "400", "--seed", "5", timeout=60)
    assert result.returncode == 0, result.stderr
    bar_lines = [l for l in result.stderr.splitlines() if " bar " in l]
    assert [l.split(" bar ")[1].split(" |")[0] for l in bar_lines] == ["1", "2"]  # one line per bar
    midi = mido.MidiFile(out)
    check_released(list(midi.tracks[0]))
    live = [(n, onset, dur) for ch, n, onset, dur in read_notes(out)[1] if ch == 0]
    assert live and live == expected_melody(tmp_path, 5, 2, 400)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signal_stops_with_every_note_released(tmp_path, sig):
    out = tmp_path / "live.mid"
    proc = subprocess.Popen([*JAZZD, "run", "--output", out, "--bpm", "120"], cwd=ROOT, preexec_fn=from_a_terminal,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def has_notes():
            try:
                return any(m.type == "note_on" for m in mido.MidiFile(out).tracks[0])
            except (OSError, EOFError, ValueError, IndexError):
                return False

        wait_for(has_notes, 90, 0.05, "the first bar in the file")
        sent = time.monotonic()
        proc.send_signal(sig)
        code = proc.wait(30)
        took = time.monotonic() - sent
    finally:
        proc.kill()
    stderr = proc.stderr.read()
    assert code == 0, stderr
    assert took < 5.0, f"took {took:.2f} s to stop"  # wide: a loaded VM; bench/stop_release.py measures it
    assert "every note released" in stderr and "All Notes Off again" not in stderr  # a file loses nothing
    check_released(list(mido.MidiFile(out).tracks[0]))


def test_under_nohup_a_hang_up_does_not_stop_it(tmp_path):
    """Started with SIGHUP ignored (`nohup jazzd run`), jazzd keeps it ignored: the terminal closing does not
    stop it; SIGTERM still does, with every note released."""
    from jack_session import LogReader

    out = tmp_path / "live.mid"
    proc = subprocess.Popen([*JAZZD, "run", "--output", out, "--bpm", "480", "--input", "off"], cwd=ROOT,
                            preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    log = LogReader(proc.stderr)
    try:
        log.wait_for(r" bar 1 ", 90)
        proc.send_signal(signal.SIGHUP)
        hung_up = len(log.lines)
        wait_for(lambda: sum(" bar " in line for line in log.lines[hung_up:]) >= 2, 60, 0.05,
                 "two more bars after the hang-up")
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
        log.join()
    finally:
        proc.kill()
    assert code == 0, log.text
    assert "SIGHUP is ignored (jazzd was started with it ignored, as nohup does)" in log.text
    check_released(list(mido.MidiFile(out).tracks[0]))


def test_auto_output_without_a_midi_system_records_to_a_file(tmp_path):
    if os.path.exists("/dev/snd/seq"):
        pytest.skip("this machine has the ALSA sequencer, so auto opens a port")
    config = tmp_path / "config.toml"
    config.write_text(f'[model]\npath = "{ROOT / "models" / "default"}"\n[midi]\nfallback_file = "fallback.mid"\n')
    # a JACK server name that nothing serves, whether or not a real server runs
    result = jazzd("run", "--config", config, "--bars", "1", "--bpm", "400",
                   env={"JACK_DEFAULT_SERVER": "jazzd-test-nothing-here"}, timeout=60)
    assert result.returncode == 0, result.stderr
    timing = ("late by", "behind the clock")  # a stalled machine at 400 BPM says so too; not this test's matter
    warnings = [l for l in result.stderr.splitlines() if "WARNING" in l and not any(t in l for t in timing)]
    assert len(warnings) == 1, result.stderr
    assert "fallback.mid" in warnings[0] and "start a JACK server" in warnings[0] and "--output" in warnings[0]
    check_released(list(mido.MidiFile(tmp_path / "fallback.mid").tracks[0]))


@pytest.mark.jack
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_live_through_jack_and_every_signal_releases_every_note(jack_server, tmp_path, sig):
    """A test client hears jazzd's virtual port: the seeded solo, in range, on the beat grid; SIGTERM,
    SIGINT and SIGHUP (the terminal closing) each end it with every note released."""
    from jack_session import LogReader, Receiver, jack_ports

    seed, bpm, spb = 7, 180, 60 / 180
    listener = Receiver()
    received = listener.received
    proc = subprocess.Popen([*JAZZD, "run", "--backend", "jack", "--output", "virtual", "--seed", str(seed),
                             "--bpm", str(bpm)], cwd=ROOT, preexec_fn=from_a_terminal, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    log = LogReader(proc.stderr)
    try:
        wait_for(lambda: "jazzd:jazzd out" in jack_ports(), 90, 0.05, "jazzd's JACK port")
        subprocess.run(["jack_connect", "jazzd:jazzd out", "jazzd-test:in"], check=True)
        wait_for(lambda: sum(1 for _, m in list(received) if m.type == "note_on" and m.channel == 1) >= 5 * 4, 60,
                 0.05, "five bars of chords")
        stop_sent = time.monotonic()
        proc.send_signal(sig)
        code = proc.wait(30)
        log.join()
        listener.wait_quiet()  # until the last messages have crossed JACK
    finally:
        proc.kill()
        listener.close()
    assert code == 0, log.text
    assert "every note released (All Notes Off again 50 ms later)" in log.text  # on JACK: twice, in two cycles
    messages = [m for _, m in received]
    check_silent_at_end(messages)  # what an xrun at the test client loses mid-stream is the transport's
    assert max(t for t, _ in received) - stop_sent < 5.0  # stops within seconds even on a loaded machine

    # the melody heard is a stretch of the seeded solo that `jazzd generate` writes
    heard = [(t, m.note) for t, m in received if m.type == "note_on" and m.velocity > 0 and m.channel == 0]
    assert len(heard) >= 8
    assert all(52 <= note <= 81 for _, note in heard)
    expected = expected_melody(tmp_path, seed, 40, bpm)
    # lost notes allowed up to 30 % of those heard (a fresh-clone busy run lost more than 10 % at the client,
    # 174 xruns there); a wrong or extra note is never allowed, so another solo cannot fit
    where = align_heard([n for _, n in heard], [n for n, _, _ in expected], lost_share=0.3)
    assert where, "the live melody is not the seeded solo"
    beats = np.array([expected[i][1] for i in where])
    times = np.array([t for t, _ in heard])
    # on the beat grid: one offset (the connection's latency) fits the onsets within a loose bound
    offset = np.median(times - beats * spb)
    residual = np.abs(times - beats * spb - offset)
    # most notes on it; a loaded VM holds some back (CI once saw one 250 ms late, the rest within 4 ms; a fresh-clone
    # run with the other core busy, 101 xruns at the test client: 3 of 14 at 61-179 ms). bench/ has the figures
    late = np.mean(residual > 0.060)
    assert np.median(residual) < 0.010 and late <= 0.3, \
        f"{late:.0%} of onsets more than 60 ms off the grid (up to {residual.max() * 1000:.1f} ms)"


def test_state_file_resumes_the_solo_where_it_stopped(tmp_path):
    state = tmp_path / "state.json"
    heard = []
    for take in ("one.mid", "two.mid"):
        # on the grid: the state file resumes the solo; the players' timing draws afresh (it is not saved)
        result = jazzd("run", "--output", tmp_path / take, "--bars", "2", "--bpm", "400", "--seed", "8",
                       "--state", state, "--timing", "grid", timeout=60)
        assert result.returncode == 0, result.stderr
        heard.append([(n, onset) for ch, n, onset, _ in read_notes(tmp_path / take)[1] if ch == 0])
    assert "resumed" in result.stderr and "beat 8.00" in result.stderr
    first, second = heard
    assert min(onset for _, onset in second) >= 8  # the second run starts at bar 3
    expected = [(n, onset) for n, onset, _ in expected_melody(tmp_path, 8, 4, 400, "--timing", "grid")]
    assert first + second == expected  # bars 1-2, then bars 3-4 of the same seeded solo


def test_state_file_of_another_model_is_not_used(tmp_path):
    state = tmp_path / "state.json"
    state.write_text('{"format": 1, "model": "' + "0" * 64 + '"}')
    result = jazzd("run", "--output", tmp_path / "x.mid", "--bars", "1", "--bpm", "400", "--state", state)
    assert result.returncode == 0 and "model: saved for another model" in result.stderr, result.stderr
    [aside] = tmp_path.glob("state.json.rejected-*")  # kept, not overwritten by this model's state
    assert "0" * 64 in aside.read_text()


def test_a_full_disk_while_recording_ends_the_run_in_one_line_with_the_state_saved(tmp_path):
    """Files larger than 4,000 bytes cannot be written (RLIMIT_FSIZE): the recording fills it after some bars."""
    import json
    import resource

    from helpers import one_line_error

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (4000, 4000))

    out, state = tmp_path / "live.mid", tmp_path / "state.json"
    result = subprocess.run([*JAZZD, "run", "--output", str(out), "--bpm", "1000", "--state", str(state)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120, preexec_fn=limit)
    one_line_error(result, 1, f"{out}: cannot record MIDI (File too large)")
    assert "state saved" in result.stderr and json.loads(state.read_text())["beat"] > 4
    recorded = mido.MidiFile(out)  # the file on disk is whole: its last flush (the releases could not be written)
    assert sum(1 for m in recorded.tracks[0] if m.type == "note_on") > 50


def test_recording_to_a_device_that_is_full_is_one_line(tmp_path):
    from helpers import one_line_error

    one_line_error(jazzd("run", "--output", "/dev/full", "--bars", "1"), 1,
                   "/dev/full: cannot record MIDI here (No space left on device)")


def test_a_run_that_fails_before_playing_leaves_an_existing_recording_as_it_was(tmp_path):
    out = tmp_path / "take.mid"
    out.write_bytes(b"MThd the old take")
    result = jazzd("run", "--output", out, "--input", "no-such-keyboard", "--bars", "1")
    assert result.returncode != 0
    assert out.read_bytes() == b"MThd the old take" and sorted(p.name for p in tmp_path.iterdir()) == ["take.mid"]


def test_a_stop_signal_that_interrupts_opening_the_ports_is_a_clean_stop(tmp_path, monkeypatch, caplog):
    # a bench run (bench/stop_release.py) stopped with SIGTERM 0.55 s after exec ended with exit 1 and "cannot
    # open MIDI output ... JACK error creating port": the signal had interrupted libjack while it made the port
    from jazzd.config import load_config
    from jazzd.errors import PortError
    from jazzd.live import daemon as daemon_module

    config = tmp_path / "config.toml"
    config.write_text(f'[model]\npath = "{ROOT / "models" / "default"}"\n')
    daemon = daemon_module.Daemon(load_config(config), bars=1)

    def open_output_as_the_signal_comes(*args, **kwargs):
        daemon.stop_event.set()  # what the SIGTERM handler does
        raise PortError("cannot open MIDI output 'x' on jack: MidiOutJack::openPort: JACK error creating port")

    monkeypatch.setattr(daemon_module, "open_output", open_output_as_the_signal_comes)
    with caplog.at_level("INFO", logger="jazzd"):
        assert daemon.run(install_signals=False) == 0
    assert "stopped while opening the ports (cannot open MIDI output 'x'" in caplog.text

    def open_output_failing(*args, **kwargs):  # no signal: the error is the user's to see
        raise PortError("cannot open MIDI output 'x'")

    daemon = daemon_module.Daemon(load_config(config), bars=1)
    monkeypatch.setattr(daemon_module, "open_output", open_output_failing)
    with pytest.raises(PortError, match="cannot open MIDI output 'x'"):
        daemon.run(install_signals=False)


def test_a_flags_path_is_the_working_folders_and_a_config_keys_the_configs(tmp_path):
    """--state and --output typed as flags are read from the working folder; [state] file and [midi] output in
    a config file from that file's folder (README, Configuration). Before, --state with --config OTHER/config.toml
    wrote OTHER/st.json while --output followed the working folder."""
    other, work = tmp_path / "other", tmp_path / "work"
    other.mkdir(), work.mkdir()
    config = other / "config.toml"
    config.write_text("")
    result = jazzd("run", "--config", config, "--state", "st.json", "--output", "take.mid", "--bars", "1",
                   "--bpm", "1000", cwd=work)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in work.iterdir()) == ["st.json", "take.mid"] and not list(other.glob("*.json"))
    config.write_text('[state]\nfile = "st.json"\n[midi]\noutput = "take.mid"\n')
    result = jazzd("run", "--config", config, "--bars", "1", "--bpm", "1000", cwd=work)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in other.iterdir()) == ["config.toml", "st.json", "take.mid"]


def test_a_state_that_cannot_be_saved_is_an_error_line_and_exit_1(tmp_path):
    from helpers import one_line_error

    state = tmp_path / "st.json"
    state.mkdir()  # the path became a folder
    result = jazzd("run", "--state", state, "--output", tmp_path / "take.mid", "--bars", "1", "--bpm", "1000")
    one_line_error(result, 1, f"{state}: cannot save the state (Is a directory)")
    assert mido.MidiFile(tmp_path / "take.mid").tracks[0]  # the take itself is kept


def start_recording(out, *flags):
    """`jazzd run --output out` at 400 BPM, its log read on a thread (jack_session.LogReader)."""
    from jack_session import LogReader

    proc = subprocess.Popen([*JAZZD, "run", "--output", str(out), "--bpm", "400", "--input", "off", *flags],
                            cwd=ROOT, preexec_fn=from_a_terminal, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    return proc, LogReader(proc.stderr)


def stop(proc, log) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(30)
    finally:
        proc.kill()
        log.join()


def test_a_take_whose_folder_is_deleted_mid_run_is_written_back_whole(tmp_path):
    """Before, the open file lived on unlinked and the take was lost at the end, exit 0 and no word."""
    import shutil

    out = tmp_path / "takes" / "live.mid"
    proc, log = start_recording(out)
    try:
        log.wait_for(r" bar 2 ", 90)
        shutil.rmtree(out.parent)
        log.wait_for("its folder was removed while recording; the take goes on there", 30)
        deleted_at = len(log.lines)
        wait_for(lambda: sum(" bar " in line for line in log.lines[deleted_at:]) >= 2, 30, 0.05, "two more bars")
    finally:
        code = stop(proc, log)
    assert code == 0, log.text
    notes = read_notes(out)[1]
    check_released(list(mido.MidiFile(out).tracks[0]))
    bars = {int(onset // 4) for ch, _, onset, _ in notes if ch == 0}
    logged = [int(line.split(" bar ")[1].split(" |")[0]) - 1 for line in log.lines
              if " bar " in line and "(rest)" not in line]
    assert set(logged) <= bars and len(logged) >= 4  # every bar with notes, before and after the deletion


def test_a_second_run_recording_to_the_same_file_is_refused_and_the_first_take_kept(tmp_path):
    """Before, the second replaced the first's take without a word: only the second's was kept."""
    from helpers import one_line_error

    out = tmp_path / "take.mid"
    proc, log = start_recording(out)
    try:
        log.wait_for(r" bar 1 ", 90)
        second = jazzd("run", "--output", out, "--bars", "1", "--bpm", "400", "--input", "off")
        one_line_error(second, 1, f"{out}: cannot record MIDI here (another jazzd (pid {proc.pid}) is recording "
                                  "to it")
        log.wait_for(r" bar 3 ", 30)
    finally:
        code = stop(proc, log)
    assert code == 0, log.text
    assert len([n for n in read_notes(out)[1] if n[0] == 0]) > 3  # the first run's take, whole
    check_released(list(mido.MidiFile(out).tracks[0]))


def test_a_take_that_cannot_be_kept_ends_the_run_with_an_error_line(tmp_path):
    import shutil

    out = tmp_path / "takes" / "live.mid"
    proc, log = start_recording(out)
    try:
        log.wait_for(r" bar 2 ", 90)
        shutil.rmtree(out.parent)
        out.parent.write_text("a file where the takes' folder was")
        code = proc.wait(60)  # the next flush finds it: the run ends by itself
    finally:
        stop(proc, log)
    lines = log.text.strip().splitlines()
    assert code == 1, log.text
    assert lines[-1] == f"jazzd: error: {out}: cannot record MIDI ({out.parent} is no folder any more: the take " \
                        "cannot be kept)", log.text
