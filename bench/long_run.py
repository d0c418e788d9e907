"""Hours of playing: `jazzd run` in prime mode with a keyboard playing into it the whole time.

jazzd plays at 240 BPM on the benchmarks' own JACK dummy server (period 256) to a
receiving client, with its input connected to a keyboard client that sends
random notes (note-on, then note-off 40 ms later) at 20 notes a second. Every
minute it prints jazzd's RSS and the onset error of the notes heard that minute;
at the end it stops jazzd with SIGTERM and reports:

- crashes: jazzd exiting before the end (a signal such as SIGSEGV shows as its name);
- what still sounds at the receiver once the stream is quiet (as a synth hears it: All
  Notes Off ends a channel's notes), and note-ons without their own note-off (a note-off
  lost in an xrun at the receiver counts here; jazzd's count of messages sent and the
  receiver's count of messages heard are printed beside it);
- RSS growth from the first minute to the last (the first minute includes start-up);
- the onset error against the beat grid (the 1/12-beat grid the solo is placed on,
  straight feel): each arrival's distance to the nearest grid point, the grid's
  phase set by the first minute's arrivals; median of each minute, first vs last;
- the JACK server's xruns, and each minute's CPU steal (/proc/stat): on a VM the
  neighbours' share moves the onset error more than anything jazzd does.

    python bench/long_run.py [--minutes 60] [--bpm 240] [--rate 20] [--seed 0] [--server NAME]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, machine, use_tests_helpers  # noqa: E402

JAZZD = [sys.executable, "-m", "jazzd.cli"]
GRID_PER_BEAT = 12  # jazzd.core.timeline.TICKS_PER_BEAT
NOTE_S = 0.04
LONG_RUN_SERVER = "jazzd-long-run"  # its own JACK server: the hour can run beside make bench


def cpu_times() -> tuple[int, int]:
    """(steal, total) jiffies of all CPUs (/proc/stat): the share a VM's neighbours took is context for a minute."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


def rss_kib(pid: int) -> int | None:
    """Resident set size of a process in KiB, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def grid_errors(arrivals: np.ndarray, grid_s: float, phase: float) -> np.ndarray:
    """Each arrival's signed distance (s) to the nearest point of a grid of period grid_s and phase."""
    x = (arrivals - phase) / grid_s
    return (x - np.round(x)) * grid_s


def grid_phase(arrivals: np.ndarray, grid_s: float) -> float:
    """The grid phase that best fits arrivals (circular mean of their phases)."""
    angles = 2 * np.pi * (arrivals % grid_s) / grid_s
    mean = np.angle(np.mean(np.exp(1j * angles)))
    return float(mean % (2 * np.pi)) / (2 * np.pi) * grid_s


class Keyboard:
    """A JACK client that plays random notes into a port at a steady rate, on a thread."""

    def __init__(self, rate: float, seed: int):
        import rtmidi

        self.port = rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name="jazzd-bench-kbd")
        self.port.open_virtual_port("keys")
        self.rate = rate
        self.rng = np.random.default_rng(seed)
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._play, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _play(self) -> None:
        period = 1.0 / self.rate
        next_at = time.monotonic()
        while not self._stop.is_set():
            note = int(self.rng.integers(36, 97))
            self.port.send_message([0x90, note, int(self.rng.integers(40, 110))])
            time.sleep(NOTE_S)
            self.port.send_message([0x80, note, 0])
            self.sent += 1
            next_at += period
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.port.close_port()
        self.port.delete()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--bpm", type=float, default=240.0)
    parser.add_argument("--rate", type=float, default=20.0, help="keyboard notes per second")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--server", default=LONG_RUN_SERVER,
                        help=f"the JACK server it starts (default {LONG_RUN_SERVER}: other benches can run beside it)")
    args = parser.parse_args(argv)
    use_tests_helpers()
    from helpers import hanging_notes, sounding_at_end, wait_for
    from jack_session import LISTENER, Receiver, running_jack_server

    os.environ["JACK_DEFAULT_SERVER"] = args.server
    grid_s = 60.0 / args.bpm / GRID_PER_BEAT
    workdir = Path(tempfile.mkdtemp(prefix="jazzd-long-"))
    jack_log, jazzd_log = workdir / "jackd.log", workdir / "jazzd.log"
    minutes: list[dict] = []
    with running_jack_server(256, args.server, jack_log):
        receiver = Receiver()
        keyboard = Keyboard(args.rate, args.seed)
        with open(jazzd_log, "w") as log:
            proc = subprocess.Popen([*JAZZD, "run", "--backend", "jack", "--output", LISTENER,
                                     "--input", "jazzd-bench-kbd:keys", "--mode", "prime", "--bpm", str(args.bpm),
                                     "--swing", "0.5", "--timing", "grid", "--seed", str(args.seed)],
                                    cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: receiver.notes(0) or proc.poll() is not None, 120, 0.1, "jazzd's first note")
        keyboard.start()
        started = time.monotonic()
        end = started + args.minutes * 60
        phase = None
        crashed = None
        minute = 0
        cpu_before = cpu_times()
        while time.monotonic() < end:
            minute_end = min(end, started + (minute + 1) * 60)
            while time.monotonic() < minute_end and proc.poll() is None:
                time.sleep(0.5)
            if proc.poll() is not None:
                crashed = proc.returncode
                break
            cpu_now = cpu_times()
            steal = (cpu_now[0] - cpu_before[0]) / max(1, cpu_now[1] - cpu_before[1]) * 100
            cpu_before = cpu_now
            heard = np.array([t for t, _ in receiver.notes(0) if started + minute * 60 <= t < minute_end])
            if phase is None and len(heard):
                phase = grid_phase(heard, grid_s)
            errors = np.abs(grid_errors(heard, grid_s, phase)) if len(heard) and phase is not None else np.array([])
            row = {"minute": minute + 1, "rss_kib": rss_kib(proc.pid), "notes": int(len(heard)),
                   "median_error_ms": float(np.median(errors) * 1e3) if len(errors) else float("nan"),
                   "p99_error_ms": float(np.percentile(errors, 99) * 1e3) if len(errors) else float("nan"),
                   "keyboard_notes": keyboard.sent, "steal_pct": steal}
            minutes.append(row)
            print(f"minute {row['minute']:3d}: RSS {row['rss_kib'] / 1024:7.1f} MiB, {row['notes']:4d} notes heard, "
                  f"onset error median {row['median_error_ms']:.2f} ms, p99 {row['p99_error_ms']:.2f} ms, "
                  f"{keyboard.sent} keyboard notes sent, CPU steal {steal:.0f} %", flush=True)
            minute += 1
        keyboard.close()
        if crashed is None:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(60)
        else:
            code = crashed
        receiver.wait_quiet(0.2)  # until the last messages have crossed JACK
        receiver.close()
    heard = [m for _, m in receiver.received]
    hanging = sum(hanging_notes(heard).values())
    sounding = sum(sounding_at_end(heard).values())
    xruns = jack_log.read_text(errors="replace").lower().count("xrun")
    late = Counter(line.split("client = ", 1)[1].split(" was not finished")[0]
                   for line in jack_log.read_text(errors="replace").splitlines() if "client = " in line)
    sent = re.search(r"stopped after (\d+) messages", jazzd_log.read_text(errors="replace"))
    exit_text = (f"{signal.Signals(-code).name}" if code is not None and code < 0 else str(code))
    print(f"\n{args.minutes:g} min at {args.bpm:g} BPM, prime mode, keyboard {args.rate:g} notes/s, "
          f"JACK dummy period 256; {machine()}")
    print(f"crashed: {'yes, exit ' + exit_text if crashed is not None else 'no'} (exit {exit_text}); "
          f"sounding at the receiver at the end (All Notes Off ends a channel's notes, as a synth hears it): "
          f"{sounding}; note-ons without their own note-off: {hanging}")
    print(f"messages: jazzd sent {sent.group(1) if sent else '?'}, the receiver heard {len(heard)}; JACK xruns: "
          f"{xruns} (late clients: {', '.join(f'{n} {c}' for n, c in late.most_common()) or 'none'}); "
          f"jazzd log: {jazzd_log}")
    if minutes:
        first, last = minutes[0], minutes[-1]
        growth = (last["rss_kib"] or 0) - (first["rss_kib"] or 0)
        print("| figure | first minute | last minute | change |")
        print("|---|---|---|---|")
        print(f"| RSS | {first['rss_kib'] / 1024:.1f} MiB | {last['rss_kib'] / 1024:.1f} MiB | {growth / 1024:+.1f} MiB |")
        print(f"| onset error vs grid, median | {first['median_error_ms']:.2f} ms | {last['median_error_ms']:.2f} ms | "
              f"{last['median_error_ms'] - first['median_error_ms']:+.2f} ms |")
        print(f"| onset error vs grid, p99 | {first['p99_error_ms']:.2f} ms | {last['p99_error_ms']:.2f} ms | |")
        print(f"| notes heard | {first['notes']} | {last['notes']} | |")
        print(f"| CPU steal (the VM's neighbours) | {first['steal_pct']:.0f} % | {last['steal_pct']:.0f} % | |")
    return {"crashed": crashed, "exit": code, "hanging": hanging, "sounding": sounding, "minutes": minutes,
            "xruns": xruns}


if __name__ == "__main__":
    main()
