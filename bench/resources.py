"""Resources of the running daemon: peak RSS and CPU at 120 BPM over 60 s.

`jazzd run` with the bundled model and config (comp on, its MIDI input open and
polled) plays to a virtual JACK port on the benchmarks' own dummy server; this script reads the process's CPU
time and peak RSS (VmHWM) from /proc, from 2 s after start (when it is playing)
to the end, and beside them the CPU and own memory of the processes it started
(on JACK: its MIDI input reader `jazzd-in` and `jazzd-guardian`). Also the same at 240 BPM with the all-eighths model, the busiest
rhythm the benchmarks use, the bare reference sender for scale, a JACK server
with a smaller port limit, and a MIDI file as output. Every JACK client maps
the server's shared engine memory (about 102 MB with jackd's default port
limit, 38 MB with -p 64) and touches it, so it counts in each client's RSS;
the table splits it out.

    python bench/resources.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BENCH_SERVER, ROOT, bench_model, descendants, machine, proc_usage, use_tests_helpers  # noqa: E402


def jack_port_up() -> bool:
    out = subprocess.run(["jack_lsp"], capture_output=True, text=True).stdout
    return "jazzd:jazzd out" in out


def measure(command, seconds: float, ready=jack_port_up) -> dict:
    """CPU and memory of a process from 1 s after it is ready (playing: its start-up is not counted), and the
    CPU and own memory of the processes it started (jazzd on JACK: `jazzd-in`, `jazzd-guardian`)."""
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not ready() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(1.0)
        helpers = descendants(proc.pid)
        before = {pid: proc_usage(pid) for pid in [proc.pid, *helpers]}
        t0 = time.monotonic()
        time.sleep(seconds)
        after = {pid: proc_usage(pid) for pid in [proc.pid, *helpers]}
        t1 = time.monotonic()
    finally:
        proc.terminate()
        proc.wait(10)
    mb = 2**20
    own = after[proc.pid]
    return {"cpu_percent": 100 * (own["cpu_s"] - before[proc.pid]["cpu_s"]) / (t1 - t0),
            "peak_rss_mb": own["peak_rss"] / mb, "own_mb": (own["rss_anon"] + own["rss_file"]) / mb,
            "shmem_mb": own["rss_shmem"] / mb,
            "helpers_cpu_percent": 100 * sum(after[p]["cpu_s"] - before[p]["cpu_s"] for p in helpers) / (t1 - t0),
            "helpers_own_mb": sum(after[p]["rss_anon"] + after[p]["rss_file"] for p in helpers) / mb}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    use_tests_helpers()
    from jack_session import running_jack_server

    os.environ["JACK_DEFAULT_SERVER"] = BENCH_SERVER
    results = {}
    jazzd = [sys.executable, "-m", "jazzd.cli", "run", "--log-level", "warning"]  # input as configured: open
    jack = ["--backend", "jack", "--output", "virtual"]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        model = bench_model(tmp / "eighths", eighths=True)
        config = tmp / "config.toml"
        config.write_text(f'[model]\npath = "{model}"\n')
        with running_jack_server(256, BENCH_SERVER, None):
            results["jazzd, bundled model, 120 BPM, JACK (jackd's default port limit)"] = measure(
                [*jazzd, *jack, "--bpm", "120"], args.seconds)
            results["the same without the band's bass and drums (--style pads: block chords)"] = measure(
                [*jazzd, *jack, "--bpm", "120", "--style", "pads"], args.seconds)
            results["the same with --input off (no MIDI input to poll)"] = measure(
                [*jazzd, *jack, "--bpm", "120", "--input", "off"], args.seconds)
            results["jazzd, all-eighths model, 240 BPM, same JACK"] = measure(
                [*jazzd, *jack, "--config", str(config), "--bpm", "240"], args.seconds)
            results["for scale: the bare reference sender, 240 BPM, same JACK"] = measure(
                [sys.executable, os.path.join(ROOT, "bench", "reference_sender.py"), "spin", "240",
                 str(args.seconds + 5), str(tmp / "ref.csv")], args.seconds, ready=lambda: True)
        with running_jack_server(256, BENCH_SERVER, None, port_max=64):
            results["jazzd, bundled model, 120 BPM, JACK started with -p 64 (port limit)"] = measure(
                [*jazzd, *jack, "--bpm", "120"], args.seconds)
        live = tmp / "live.mid"
        results["jazzd, bundled model, 120 BPM, to a MIDI file (no MIDI system)"] = measure(
            [*jazzd, "--output", str(live), "--bpm", "120"], args.seconds, ready=lambda: live.exists())
    print(f"resources of `jazzd run` over {args.seconds:g} s; {machine()}")
    print("| run | CPU, % of one core | peak RSS | of it own (anon + file) | of it JACK shared memory "
          "| its helper processes: CPU, own memory |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['cpu_percent']:.2f} % | {r['peak_rss_mb']:.1f} MB | {r['own_mb']:.1f} MB "
              f"| {r['shmem_mb']:.1f} MB | {r['helpers_cpu_percent']:.2f} %, {r['helpers_own_mb']:.1f} MB |")
    return results


if __name__ == "__main__":
    main()
