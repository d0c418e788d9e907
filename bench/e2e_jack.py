"""End to end through a real MIDI server: where each note lands on the JACK frame clock, jazzd next to a bare sender.

On the benchmarks' own JACK dummy server (non-real-time, 48 kHz), a client
(the tests' jack_session.Receiver, with the cycle start and frame offset of every
message it reads) hears jazzd (the all-eighths benchmark model, 240 BPM, its
JACK output writing every message at its frame: jazzd.live.jackoutput) and then
the bare reference sender (bench/reference_sender.py: python-rtmidi, sleep then
spin, each message sent at its due time) play the same rhythm, once with the
other core idle and once with it busy. The onset error of a note-on is, in
frames, where it landed against its target: jazzd's due time plus the latency
it states, the reference's due time (python-rtmidi has no latency to state:
its note lands at the start of the cycle after it was sent). Notes whose target
fell in a gap the server left by beginning a cycle late are counted apart (no
sender could land them). Also the grid error in milliseconds as before (each
arrival against the eighth-note grid through the median arrival), the period
and the xruns the server logged.

    python bench/e2e_jack.py [--seconds 60] [--period 256]
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
from common import (BENCH_SERVER, ROOT, BusyCore, bench_model, count_xruns, fmt_ms, machine,  # noqa: E402
                    print_table, stats, use_tests_helpers)

BPM = 240
EIGHTH = 60 / BPM / 2
REFERENCE = "reference sender (python-rtmidi, sleep then spin)"


def onset_errors(arrivals) -> np.ndarray:
    """Distance of each arrival from the eighth-note grid through the median arrival phase, seconds."""
    t = np.sort(np.array(arrivals))
    k = np.round((t - t[0]) / EIGHTH)
    residual = (t - t[0]) - k * EIGHTH
    return np.abs(residual - np.median(residual))


def fmt_frames(x: float) -> str:
    return f"{x:,.1f} frames"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--period", type=int, default=256)
    args = parser.parse_args(argv)
    use_tests_helpers()
    from jack_session import LISTENER, Receiver, frame_errors, running_jack_server

    os.environ["JACK_DEFAULT_SERVER"] = BENCH_SERVER
    frames, grid, server_late = {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        log = tmp / "jackd.log"
        with running_jack_server(args.period, BENCH_SERVER, log):
            model = bench_model(tmp / "eighths", eighths=True)
            config = tmp / "config.toml"
            config.write_text(f'[model]\npath = "{model}"\n[midi]\ninput = "off"\n[band]\nstyle = "pads"\n')
            bars = round(args.seconds * BPM / 60 / 4)
            for load in ("idle", "busy"):
                for sender in ("jazzd", REFERENCE):
                    timing = tmp / f"{load}-{sender[:5]}.csv"
                    if sender == "jazzd":
                        command = [sys.executable, "-m", "jazzd.cli", "run", "--config", str(config),
                                   "--backend", "jack", "--output", LISTENER, "--bpm", str(BPM), "--bars", str(bars),
                                   "--seed", "1", "--log-level", "warning", "--timing-log", str(timing)]
                    else:
                        command = [sys.executable, os.path.join(ROOT, "bench", "reference_sender.py"), "spin",
                                   str(BPM), str(args.seconds), str(timing), "--connect", LISTENER]
                    receiver = Receiver()
                    try:
                        if load == "busy":
                            with BusyCore():
                                subprocess.run(command, check=True, cwd=ROOT)
                        else:
                            subprocess.run(command, check=True, cwd=ROOT)
                        receiver.wait_quiet(0.3)
                    finally:
                        receiver.close()
                    key = f"{sender}, other core {load}"
                    errors, servers = frame_errors(receiver.frames, timing, receiver.cycles,
                                                   frames_per_period=args.period)
                    frames[key] = stats(np.abs(errors))
                    frames[key]["late_max"] = float(errors.max()) if errors.size else float("nan")
                    frames[key]["early_max"] = float(-errors.min()) if errors.size else float("nan")
                    server_late[key] = servers
                    grid[key] = stats(onset_errors([t for t, _ in receiver.notes()]))
        xruns = count_xruns(log)
    period_ms = args.period / 48000 * 1000
    print(f"onset error at a JACK client in frames (48 kHz: 1 frame = 0.021 ms) against each note-on's target "
          f"(jazzd: due time + its stated latency; the reference: due time), {BPM} BPM eighths, {args.seconds:g} s "
          f"each; JACK dummy driver, -p {args.period} ({period_ms:.1f} ms), {xruns} xruns logged; {machine()}")
    print("| sender | median | p99 | max | n | notes in the server's late gaps (left out) |")
    print("|---|---|---|---|---|---|")
    for key, st in frames.items():
        print(f"| {key} | {fmt_frames(st['median'])} | {fmt_frames(st['p99'])} | {fmt_frames(st['max'])} "
              f"| {st['n']} | {server_late[key]} |")
    print("\nthe same arrivals against the eighth-note grid through their median (the constant latency left out)")
    print_table("sender", grid, fmt=fmt_ms)
    for load in ("idle", "busy"):
        ours, theirs = frames[f"jazzd, other core {load}"], frames[f"{REFERENCE}, other core {load}"]
        print(f"other core {load}: jazzd p99 {ours['p99']:.1f} frames, reference p99 {theirs['p99']:.1f} frames "
              f"(ratio {ours['p99'] / theirs['p99']:.3f})")
    return {"frames": frames, "grid": grid, "server_late": server_late, "xruns": xruns, "period": args.period,
            "reference": REFERENCE}


if __name__ == "__main__":
    main()
