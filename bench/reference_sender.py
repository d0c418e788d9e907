"""A bare reference sender: the same rhythm as the benchmarks' jazzd, from a minimal loop.

Steady eighths (a note-off and a note-on at each eighth) plus a four-note chord
struck at each bar line, to a python-rtmidi JACK port, timed by a plain sleep
loop ("sleep") or by sleeping to 0.5 ms before each deadline and spinning
("spin"). Writes (due, sent) monotonic seconds per message, like
`jazzd run --timing-log`, its bytes, and the due time on JACK's clock.

    python bench/reference_sender.py {sleep,spin} BPM SECONDS OUT.csv [--connect PORT]
"""

from __future__ import annotations

import argparse
import csv
import os
import time

os.environ.setdefault("JACK_NO_START_SERVER", "1")


def schedule(bpm: float, seconds: float, start: float):
    """(due seconds, message bytes) of the rhythm, in order."""
    eighth = 60 / bpm / 2
    events, pitch = [], 60
    n = int(seconds / eighth)
    for k in range(n):
        t = start + k * eighth
        if k % 8 == 0:
            chord = (48, 52, 55, 59)
            if k:
                events += [(t, [0x81, p, 0]) for p in chord]
            events += [(t, [0x91, p, 60]) for p in chord]
        if k:
            events.append((t, [0x80, pitch, 0]))
        pitch = 60 + (k * 5) % 19
        events.append((t, [0x90, pitch, 90]))
    return events


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["sleep", "spin"])
    parser.add_argument("bpm", type=float)
    parser.add_argument("seconds", type=float)
    parser.add_argument("out")
    parser.add_argument("--connect", help="connect to this JACK port instead of opening a virtual one")
    args = parser.parse_args(argv)
    import rtmidi

    out = rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name="reference")
    if args.connect:
        out.open_port(out.get_ports().index(args.connect))
    else:
        out.open_virtual_port("out")
    rows = []
    start = time.monotonic() + 0.5
    for due, message in schedule(args.bpm, args.seconds, start):
        if args.mode == "sleep":
            left = due - time.monotonic()
            if left > 0:
                time.sleep(left)
        else:
            left = due - time.monotonic() - 0.0005
            if left > 0:
                time.sleep(left)
            while time.monotonic() < due:
                pass
        out.send_message(message)
        sent = time.monotonic()
        # the due time on JACK's clock (CLOCK_MONOTONIC_RAW, microseconds), turned as it is sent (the two drift)
        jack_us = (due - sent) * 1e6 + time.clock_gettime_ns(time.CLOCK_MONOTONIC_RAW) / 1e3
        rows.append((due, sent, bytes(message).hex(), jack_us))
    out.close_port()
    with open(args.out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["due_s", "sent_s", "bytes", "jack_us"])
        writer.writerows(rows)


if __name__ == "__main__":
    main()
