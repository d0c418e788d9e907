"""Run every benchmark, print their tables and one table of the goals (`make bench`).

Never part of the tests: nothing here asserts a time. A full run takes about
22 minutes (the send-timing and resource figures play for 60 s each); --quick
plays 15 s each.

    python bench/run_all.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import clock_sources  # noqa: E402
import e2e_jack  # noqa: E402
import inference  # noqa: E402
import input_flood  # noqa: E402
import jack_restart  # noqa: E402
import live_chords  # noqa: E402
import interplay  # noqa: E402
import resources  # noqa: E402
import send_timing  # noqa: E402
import startup  # noqa: E402
import stop_release  # noqa: E402
import synth_take  # noqa: E402
import training  # noqa: E402
from common import machine  # noqa: E402


def section(title: str) -> None:
    print(f"\n## {title}\n", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="15 s instead of 60 s for the timed runs")
    args = parser.parse_args(argv)
    seconds = "15" if args.quick else "60"

    section("1, 7. Inference step")
    inf = inference.main(["--keras-steps", "100" if args.quick else "200"])
    section("2, 7. Send-time error")
    send = send_timing.main(["--seconds", seconds, "--scale-seconds", "10" if args.quick else "20"])
    section("3. End to end through JACK")
    e2e = e2e_jack.main(["--seconds", seconds])
    section("Clock sources: internal, MIDI clock, Ableton Link, JACK transport")
    clocks = clock_sources.main(["--seconds", "10" if args.quick else "20"])
    section("4. Start-up")
    start = startup.main(["--repeats", "5"])
    section("5. Resources")
    res = resources.main(["--seconds", seconds])
    section("6, 7. Training")
    train = training.main(["--repeats", "1" if args.quick else "3"])
    section("Playing with it (trade, clock follow)")
    interplay.main([])
    section("MIDI input under a flood")
    input_flood.main(["--seconds", "5" if args.quick else "10"])
    section("Live chords: a hand of keys at once")
    chords = live_chords.main(["--rounds", "3" if args.quick else "5"])
    section("Stopping at any moment")
    stops = stop_release.main(["--runs", "15" if args.quick else "50"])
    section("The JACK server killed mid-run")
    restarts = jack_restart.main(["--rounds", "2" if args.quick else "5"])
    section("The built-in synth's take")
    synth = synth_take.main(["--seeds", "0"] if args.quick else ["--seeds", "0", "1", "2"])

    default = next(label for label, _ in inf)
    live = inf[(default, "live path: step + sample + realize")]
    predict = inf[(default, "Keras model.predict (course)")]
    course_key = next(k for k in train if k.startswith("train") and "Tx=30" in k)  # the course's solo selection
    course = train[course_key]
    rss = res["jazzd, bundled model, 120 BPM, JACK (jackd's default port limit)"]
    rss64 = res["jazzd, bundled model, 120 BPM, JACK started with -p 64 (port limit)"]
    pads = res["the same without the band's bass and drums (--style pads: block chords)"]
    hand = chords["128 keys at once, namer thread (jazzd run)"]
    hand_before = chords["128 keys at once, on the session's thread"]
    rows = [
        ("1", "live path step p99 <= 100 us", f"{live['p99'] * 1e6:.1f} us", live["p99"] <= 100e-6),
        ("1", "live path >= 500x faster than model.predict", f"{predict['median'] / live['median']:,.1f}x",
         predict["median"] / live["median"] >= 500),
    ]
    for load in ("idle", "busy"):
        st = send[f"jazzd, other core {load}"]
        rows.append(("2", f"send error p99 <= 1 ms, max <= 3 ms, other core {load}",
                     f"p99 {st['p99'] * 1e3:.2f} ms, max {st['max'] * 1e3:.2f} ms",
                     st["p99"] <= 1e-3 and st["max"] <= 3e-3))
    for load in ("idle", "busy"):
        ours, theirs = e2e["frames"][f"jazzd, other core {load}"], e2e["frames"][f"{e2e['reference']}, other core {load}"]
        rows.append(("27", f"JACK onset p99 <= 2 frames against due time + stated latency, other core {load}",
                     f"p99 {ours['p99']:.1f} frames (bare rtmidi sender {theirs['p99']:.1f}; -p {e2e['period']}, "
                     f"{e2e['xruns']} xruns)", ours["p99"] <= 2))
    rows += [
        ("4", "exec -> first note-on <= 1.5 s",
         f"median {start['exec `jazzd run` -> first note-on at the receiver']['median']:.2f} s, "
         f"max {start['exec `jazzd run` -> first note-on at the receiver']['max']:.2f} s",
         start["exec `jazzd run` -> first note-on at the receiver"]["max"] <= 1.5),
        ("5", "peak RSS <= 150 MB at 120 BPM", f"{rss['peak_rss_mb']:.0f} MB on a default JACK server "
         f"({rss['own_mb']:.0f} MB own + {rss['shmem_mb']:.0f} MB JACK shared memory); "
         f"{rss64['peak_rss_mb']:.0f} MB with jackd -p 64; its input reader and guardian "
         f"{rss64['helpers_own_mb']:.0f} MB own besides", rss64["peak_rss_mb"] + rss64["helpers_own_mb"] <= 150),
        ("5", "CPU <= 5 % of one core at 120 BPM, the whole band on", f"{rss['cpu_percent'] + rss['helpers_cpu_percent']:.2f} % "
         f"(jazzd {rss['cpu_percent']:.2f} % + its input reader and guardian {rss['helpers_cpu_percent']:.2f} %; "
         f"without bass and drums {pads['cpu_percent'] + pads['helpers_cpu_percent']:.2f} %)",
         rss["cpu_percent"] + rss["helpers_cpu_percent"] <= 5),
        ("9", "no hanging note after a signal at a random moment",
         f"{stops['sounding']} sounding at the end, {stops['hanging']} note-ons without their note-off, in "
         f"{stops['runs']} runs ({stops['played']} had begun playing); {stops['errors']} ended with an error",
         stops["sounding"] == 0 and stops["errors"] == 0),
        ("29", "a 128-key chord costs the session < 5 ms (named on the namer's thread)",
         f"median {hand['median'] * 1e3:.2f} ms, max {hand['max'] * 1e3:.2f} ms (named on the session's thread "
         f"as before: {hand_before['median'] * 1e3:,.0f} ms)", hand["max"] < 5e-3),
        ("14", "jackd killed mid-run: exit 1 in one line, nothing else on stderr",
         f"{restarts['ok']} of {restarts['rounds']} rounds, exit after median {restarts['exit']['median'] * 1e3:.0f} ms",
         restarts["ok"] == restarts["rounds"]),
        ("11", "--synth take: every onset within 30 ms of the MIDI recording's",
         f"max {max(r['max_ms'] for r in synth['rows']):.1f} ms over {sum(r['onsets'] for r in synth['rows'])} onsets",
         all(r["within30"] == 1.0 for r in synth["rows"])),
        ("11", "--synth peak within 3 dB of jazzd render's (same seed)",
         ", ".join(f"{r['peak_live'] - r['peak_generate']:+.1f} dB" for r in synth["rows"]),
         all(abs(r["peak_live"] - r["peak_generate"]) <= 3 for r in synth["rows"])),
        ("6", "100 epochs, course's data size, <= 10 s",
         f"{course['median']:.1f} s ({course_key.split(', ', 1)[1]})", course["median"] <= 10),
    ]
    for name in ("Ableton Link", "JACK transport"):
        row = next(v for k, v in clocks["rows"].items() if k.startswith(name))
        rows.append(("27", f"{name}: notes on the source's beats, median <= 2 ms",
                     f"median {row['median'] * 1e3:.2f} ms, p99 {row['p99'] * 1e3:.2f} ms (n {row['n']})",
                     row["median"] <= 2e-3))
    section("Goals")
    print(f"Machine: {machine()}\n")
    print("| figure | goal | measured | met |")
    print("|---|---|---|---|")
    for figure, goal, measured, met in rows:
        print(f"| {figure} | {goal} | {measured} | {'yes' if met else 'NO'} |")


if __name__ == "__main__":
    main()
