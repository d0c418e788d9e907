"""End to end through a real MIDI server: onset error at a receiving JACK client, jazzd next to a bare sender.

On the benchmarks' own JACK dummy server (non-real-time, 48 kHz), a client
(the tests' jack_session.Receiver: polled, stamped from python-rtmidi's own
delta times) timestamps every note-on as it arrives; the onset error is each arrival's
distance from its eighth-note grid point (the grid fitted to the median
arrival, so the constant latency drops out). jazzd (the all-eighths benchmark
model, 240 BPM) and the bare reference sender (bench/reference_sender.py, sleep
then spin) play the same rhythm to the same client in the same run. Also
reports the period and the xruns the server logged.

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
from common import (BENCH_SERVER, ROOT, bench_model, count_xruns, fmt_ms, machine, print_table, stats,  # noqa: E402
                    use_tests_helpers)

BPM = 240
EIGHTH = 60 / BPM / 2


def onset_errors(arrivals) -> np.ndarray:
    """Distance of each arrival from the eighth-note grid through the median arrival phase."""
    t = np.sort(np.array(arrivals))
    k = np.round((t - t[0]) / EIGHTH)
    residual = (t - t[0]) - k * EIGHTH
    return np.abs(residual - np.median(residual))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--period", type=int, default=256)
    args = parser.parse_args(argv)
    use_tests_helpers()
    from jack_session import LISTENER, Receiver, running_jack_server

    os.environ["JACK_DEFAULT_SERVER"] = BENCH_SERVER
    results = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        log = tmp / "jackd.log"
        with running_jack_server(args.period, BENCH_SERVER, log):
            model = bench_model(tmp / "eighths", eighths=True)
            config = tmp / "config.toml"
            config.write_text(f'[model]\npath = "{model}"\n[midi]\ninput = "off"\n')
            bars = round(args.seconds * BPM / 60 / 4)

            receiver = Receiver()
            subprocess.run([sys.executable, "-m", "jazzd.cli", "run", "--config", str(config), "--backend", "jack",
                            "--output", LISTENER, "--bpm", str(BPM), "--bars", str(bars), "--seed", "1",
                            "--log-level", "warning"], check=True, cwd=ROOT)
            time.sleep(0.2)
            receiver.close()
            results["jazzd"] = stats(onset_errors([t for t, _ in receiver.notes()]))

            receiver = Receiver()
            subprocess.run([sys.executable, os.path.join(ROOT, "bench", "reference_sender.py"), "spin", str(BPM),
                            str(args.seconds), str(tmp / "ref.csv"), "--connect", LISTENER], check=True)
            time.sleep(0.2)
            receiver.close()
            results["reference sender (sleep then spin)"] = stats(onset_errors([t for t, _ in receiver.notes()]))
        xruns = count_xruns(log)
    period_ms = args.period / 48000 * 1000
    print(f"onset error at a JACK client, {BPM} BPM eighths, {args.seconds:g} s each; JACK dummy driver, "
          f"-p {args.period} ({period_ms:.1f} ms), {xruns} xruns logged; {machine()}")
    print_table("sender", results, fmt=fmt_ms)
    ratio = results["jazzd"]["p99"] / results["reference sender (sleep then spin)"]["p99"]
    print(f"jazzd p99 / reference p99 = {ratio:.2f}")
    results["xruns"] = xruns
    results["period"] = args.period
    return results


if __name__ == "__main__":
    main()
