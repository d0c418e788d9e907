"""jazzd on each clock source, through a JACK dummy server: where its notes land against the source's beat.

On the benchmarks' own JACK dummy server (-p 256), jazzd plays the swing band
(humanize off) and a JACK client hears it on the frame clock:

- internal: each note-on against its target (jazzd's due time plus the JACK
  output latency it states, from its --timing-log);
- MIDI clock: bench/interplay.py's clock follow (a client sends 120 then 140 BPM
  with 0.5 ms jitter; each solo note against where the seeded solo puts it on
  the incoming pulses' grid; the JACK latency included, as a MIDI clock follower
  cannot send ahead);
- Ableton Link: jazzd and a test peer (Ableton's Link library, tests/link_peer.py,
  in a network namespace of its own) at 120 BPM; each bass note-on against the
  peer's beat;
- JACK transport: a test client as timebase master (tests/jack_session.py) at
  120 BPM; each bass note-on against the master's beat.

Link and JACK transport leave out the first beat after the start (read after it
happened: its figure is printed apart) and the notes in cycles the server began
more than 1 ms late.

    python bench/clock_sources.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BENCH_SERVER, ROOT, fmt_ms, machine, print_table, stats, use_tests_helpers  # noqa: E402

BPM = 120.0
BASS = 2
RATE = 48000.0
BAND = '[band]\nstyle = "swing"\nhumanize_ms = 0\n[midi]\ninput = "off"\n'


def bass_times(receiver, late) -> list[float]:
    """JACK microseconds of every bass note-on heard, but those in the server's late cycles."""
    return [cycle + offset / RATE * 1e6 for _, cycle, offset, m in receiver.frames
            if m.type == "note_on" and m.velocity and m.channel == BASS and cycle not in late]


def on_beats(times_us, beat_at_us, bpm: float) -> tuple[list[float], list[float]]:
    """(errors of the notes after the first beat, errors of the first beat's), seconds, from a beat mapping."""
    rest, first = [], []
    for us in times_us:
        beat = beat_at_us(us)
        if beat is None:
            continue
        error = abs(beat - round(beat)) * 60.0 / bpm
        (first if round(beat) == 0 else rest).append(error)
    return rest, first


def internal(tmp: Path, seconds: float) -> np.ndarray:
    from jack_session import LISTENER, Receiver, frame_errors

    config = tmp / "internal.toml"
    config.write_text(BAND)
    timing = tmp / "internal.csv"
    receiver = Receiver()
    try:
        subprocess.run([sys.executable, "-m", "jazzd.cli", "run", "--config", str(config), "--backend", "jack",
                        "--output", LISTENER, "--bpm", f"{BPM:g}", "--bars", str(round(seconds * BPM / 240)),
                        "--seed", "3", "--log-level", "warning", "--timing-log", str(timing)], check=True, cwd=ROOT)
        receiver.wait_quiet(0.3)
    finally:
        receiver.close()
    errors, _ = frame_errors(receiver.frames, timing, receiver.cycles)
    return np.abs(errors) / RATE


def link(tmp: Path, seconds: float) -> tuple[list, list]:
    from jack_session import LISTENER, LinkPeer, Receiver, beat_of, late_cycles

    config = tmp / "link.toml"
    config.write_text(BAND + '[clock]\nsource = "link"\n')
    receiver = Receiver()
    peer = LinkPeer(BPM, tmp / "link.log", [sys.executable, "-m", "jazzd.cli", "run", "--config", str(config),
                                           "--backend", "jack", "--output", LISTENER, "--seed", "3"])
    try:
        time.sleep(1.0)  # the peer's session is the older one
        peer.ask("run")
        peer.ask("peers 1")
        deadline = time.monotonic() + 60
        while "waiting for it to roll" not in peer.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        started = peer.line("start")
        time.sleep(seconds)
        peer.ask("term")
        receiver.wait_quiet(0.3)
    finally:
        peer.close()
        receiver.close()
    times = bass_times(receiver, late_cycles(receiver.cycles))
    return on_beats(times, lambda us: beat_of(us, started) if us >= started[1] else None, BPM)


def jack_transport(tmp: Path, seconds: float) -> tuple[list, list]:
    from jack_session import LISTENER, Receiver, TimebaseMaster, late_cycles

    config = tmp / "jack.toml"
    config.write_text(BAND + '[clock]\nsource = "jack"\n')
    master = TimebaseMaster(BPM)
    receiver = Receiver()
    log = tmp / "jack.log"
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "jazzd.cli", "run", "--config", str(config), "--backend",
                                 "jack", "--output", LISTENER, "--seed", "3"], cwd=ROOT, stderr=err,
                                stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while "waiting for it to roll" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        master.client.transport_start()
        time.sleep(seconds)
        proc.terminate()
        proc.wait(60)
        receiver.wait_quiet(0.3)
    finally:
        if proc.poll() is None:
            proc.kill()
        receiver.close()
        master.close()
    return on_beats(bass_times(receiver, late_cycles(receiver.cycles)), master.beat_at_us, BPM)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args(argv)
    use_tests_helpers()
    import interplay
    from jack_session import running_jack_server

    os.environ["JACK_DEFAULT_SERVER"] = BENCH_SERVER
    results, first = {}, {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with running_jack_server(256, BENCH_SERVER):
            results["internal (every note-on vs its target: due time + stated latency)"] = stats(internal(tmp, args.seconds))
            midi = interplay.clock_follow(tmp, args.seconds)
            results["MIDI clock (solo vs the incoming pulses' grid, JACK latency included)"] = next(iter(midi.values()))
            rest, first["Ableton Link"] = link(tmp, args.seconds)
            results["Ableton Link (bass vs the test peer's beat)"] = stats(rest)
            rest, first["JACK transport"] = jack_transport(tmp, args.seconds)
            results["JACK transport (bass vs the timebase master's beat)"] = stats(rest)
    print(f"jazzd's notes against each clock source's beat at a JACK client, {BPM:g} BPM, {args.seconds:g} s each; "
          f"JACK dummy driver -p 256; {machine()}")
    print_table("clock source", results, fmt=fmt_ms)
    for name, errors in first.items():
        print(f"{name}: the start's first beat {', '.join(f'{e * 1e3:.1f}' for e in errors)} ms late "
              "(read after the transport started)")
    return {"rows": results, "first": first}


if __name__ == "__main__":
    main()
