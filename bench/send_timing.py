"""Send-time error: due (from the beat clock) vs handed to the port, for every message.

jazzd records it itself (`jazzd run --timing-log`); the bare reference sender
(bench/reference_sender.py: a plain sleep loop, and sleep-then-spin) runs the
same rhythm in the same run. All play steady eighths at 240 BPM with a chord
each bar, to a JACK port on the benchmarks' own dummy server, with the other
core idle and then busy (`python -c 'while True: pass'`). jazzd plays a model
of the bundled vocabulary made all eighths, with random weights (n_a 64).

Scaling: jazzd alone at n_a 64, 128, 256 and with 2 LSTM layers.

    python bench/send_timing.py [--seconds 60] [--scale-seconds 20]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BENCH_SERVER, ROOT, BusyCore, bench_model, fmt_ms, machine, print_table, stats, use_tests_helpers  # noqa: E402

BPM = 240


def lateness(path) -> np.ndarray:
    with open(path) as f:
        # the sender's deadline: a message's due time, less how early its port takes it (jazzd on JACK: a period)
        return np.array([float(r["sent_s"]) - float(r["due_s"]) + float(r.get("lead_s") or 0.0)
                         for r in csv.DictReader(f)])


def run_jazzd(model: Path, seconds: float, tmp: Path, tag: str) -> np.ndarray:
    config = tmp / f"{tag}.toml"
    config.write_text(f'[model]\npath = "{model}"\n[midi]\ninput = "off"\n')
    log = tmp / f"{tag}.csv"
    bars = max(1, round(seconds * BPM / 60 / 4))
    subprocess.run([sys.executable, "-m", "jazzd.cli", "run", "--config", str(config), "--backend", "jack",
                    "--output", "virtual", "--bpm", str(BPM), "--bars", str(bars), "--seed", "1",
                    "--log-level", "warning", "--timing-log", str(log)], check=True, cwd=ROOT)
    return lateness(log)


def run_reference(mode: str, seconds: float, tmp: Path, tag: str) -> np.ndarray:
    log = tmp / f"{tag}.csv"
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "reference_sender.py"), mode, str(BPM),
                    str(seconds), str(log)], check=True)
    return lateness(log)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--scale-seconds", type=float, default=20.0)
    args = parser.parse_args(argv)
    use_tests_helpers()
    from jack_session import running_jack_server

    os.environ["JACK_DEFAULT_SERVER"] = BENCH_SERVER
    results = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with running_jack_server(256, BENCH_SERVER, tmp / "jackd.log"):
            model = bench_model(tmp / "eighths", eighths=True)
            for load in ("idle", "busy"):
                for name, fn in (("jazzd", lambda t: run_jazzd(model, args.seconds, tmp, t)),
                                 ("reference: plain sleep loop", lambda t: run_reference("sleep", args.seconds, tmp, t)),
                                 ("reference: sleep then spin", lambda t: run_reference("spin", args.seconds, tmp, t))):
                    tag = f"{name.split(':')[0].split()[0]}-{load}-{len(results)}"
                    if load == "busy":
                        with BusyCore():
                            results[f"{name}, other core {load}"] = stats(fn(tag))
                    else:
                        results[f"{name}, other core {load}"] = stats(fn(tag))
            for n_a, layers in ((64, 1), (128, 1), (256, 1), (64, 2)):
                scaled = bench_model(tmp / f"m{n_a}x{layers}", n_a=n_a, layers=layers, eighths=True)
                results[f"jazzd, n_a {n_a}, {layers} layer{'s' if layers > 1 else ''}, idle, {args.scale_seconds:g} s"] = \
                    stats(run_jazzd(scaled, args.scale_seconds, tmp, f"scale-{n_a}-{layers}"))
    print(f"send-time error (sent - due), {BPM} BPM eighths + a chord a bar, {args.seconds:g} s each; {machine()}")
    print_table("sender", results, fmt=fmt_ms)
    for load in ("idle", "busy"):
        j = results[f"jazzd, other core {load}"]
        ref = results[f"reference: sleep then spin, other core {load}"]
        plain = results[f"reference: plain sleep loop, other core {load}"]
        print(f"other core {load}: jazzd p99 / sleep-then-spin p99 = {j['p99'] / ref['p99']:.2f}, "
              f"/ plain sleep p99 = {j['p99'] / plain['p99']:.2f}")
    return results


if __name__ == "__main__":
    main()
