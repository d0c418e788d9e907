"""Stopping at any moment releases every note: jazzd run stopped by SIGTERM, SIGINT and SIGHUP in turn.

Each run starts `jazzd run` at 240 BPM on the benchmarks' own JACK dummy server,
connected from its start to a receiving client, and sends it a signal at a
random moment 0.05-6 s after exec (early ones land before its ports exist).
The receiver counts, after the process has exited and the stream is quiet,
what still sounds as a synth hears it (All Notes Off ends a channel's notes) and,
stricter, every note-on without its own note-off (a note-off the receiver lost in
an xrun counts there; the server's xruns are printed). Also the time from the
signal to the exit.

    python bench/stop_release.py [--runs 50] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BENCH_SERVER, ROOT, fmt_ms, machine, print_table, stats, use_tests_helpers  # noqa: E402

JAZZD = [sys.executable, "-m", "jazzd.cli"]
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    use_tests_helpers()
    from helpers import from_a_terminal, hanging_notes, sounding_at_end
    from jack_session import LISTENER, Receiver, running_jack_server

    os.environ["JACK_DEFAULT_SERVER"] = BENCH_SERVER
    rng = np.random.default_rng(args.seed)
    rows, exits, stop_times = [], {}, []
    hanging_total, sounding_total, played = 0, 0, 0
    jack_log = Path(tempfile.mkdtemp(prefix="jazzd-stop-")) / "jackd.log"
    with running_jack_server(256, BENCH_SERVER, jack_log):
        for run in range(args.runs):
            sig = SIGNALS[run % len(SIGNALS)]
            after = float(rng.uniform(0.05, 6.0))
            receiver = Receiver()
            started = time.monotonic()
            proc = subprocess.Popen([*JAZZD, "run", "--backend", "jack", "--output", LISTENER, "--input", "off",
                                     "--bpm", "240"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    preexec_fn=from_a_terminal)  # as a terminal starts it, even when this runs under nohup
            while time.monotonic() < started + after:
                time.sleep(0.005)
            sent = time.monotonic()
            proc.send_signal(sig)
            code = proc.wait(60)
            stop_times.append(time.monotonic() - sent)
            receiver.wait_quiet()  # until the last messages have crossed JACK
            receiver.close()
            messages = [m for _, m in receiver.received]
            hanging = sum(hanging_notes(messages).values())
            sounding = sum(sounding_at_end(messages).values())
            sounding_total += sounding
            notes = sum(1 for m in messages if m.type == "note_on" and m.velocity)
            played += notes > 0
            hanging_total += hanging
            exits[(sig.name, code)] = exits.get((sig.name, code), 0) + 1
            rows.append((run, sig.name, after, code, notes, hanging, sounding))
            print(f"run {run + 1:2d}: {sig.name} at {after:.2f} s, exit {code}, {notes} notes heard, "
                  f"{sounding} sounding at the end, {hanging} note-ons without their note-off", flush=True)
    print(f"\nstop at a random moment, 240 BPM, through JACK (dummy driver, period 256); {machine()}")
    xruns = jack_log.read_text(errors="replace").lower().count("xrun") if jack_log.exists() else 0
    print(f"runs: {args.runs}, runs that had begun playing: {played}, notes sounding at the end in all: "
          f"{sounding_total}, note-ons without their note-off in all: {hanging_total}; JACK xruns: {xruns}")
    print("exit codes: " + ", ".join(f"{name} -> {code}: {n}" for (name, code), n in sorted(exits.items())))
    # a stop is clean: 0 (jazzd's handler), or the signal's own exit before Python set the handlers up
    # (-signal; 130 for SIGINT's KeyboardInterrupt); anything else is an error on the way out
    errors = sum(n for (name, code), n in exits.items()
                 if code not in (0, -getattr(signal, name)) and (name, code) != ("SIGINT", 130))
    print(f"runs that ended with an error: {errors}")
    print_table("figure", {"signal -> process exit": stats(stop_times)}, fmt=fmt_ms)
    return {"runs": args.runs, "played": played, "hanging": hanging_total, "sounding": sounding_total,
            "errors": errors, "stop": stats(stop_times)}


if __name__ == "__main__":
    main()
