"""Playing with jazzd, measured through a JACK dummy server.

1. Trade: a client plays one-bar phrases into "jazzd in" (trade_bars = 1), jazzd
   answers each on the next bar line. Figures: the time from the end of the
   player's phrase (its last note-off, 0.1 beat = 50 ms before the bar line) to
   the first note of jazzd's answer, and that note's error against its place on
   jazzd's beat grid (measured from the arrival of jazzd's first chord, so the
   JACK latency common to both cancels).
2. Clock follow: a client sends MIDI beat clock (120 BPM with +-0.5 ms jitter,
   then 140 BPM), Start, and records jazzd's notes. Figure: each note's error
   against where the seeded solo puts it on the incoming clock's grid (pulse
   24k is beat k), leaving out two beats after the tempo change.

    python bench/interplay.py [--trials 12] [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
from common import fmt_ms, machine, print_table, stats  # noqa: E402


def trade(tmp: Path, trials: int) -> dict:
    import mido

    from jack_session import JackSession, sleep_until

    bpm = 120
    spb = 60 / bpm
    # on the grid: the figure is the answer's timing, not the players' push and lay-back (jazzd.core.timing)
    s = JackSession(tmp, '[input]\nmode = "trade"\ntrade_bars = 1\nanswer_bars = 1\n[feel]\ntiming = "grid"\n',
                    "--bpm", str(bpm),
                    "--seed", "1", "--log-level", "debug")
    try:
        s.wait_ready()
        t0 = s.first_chord()
        phrase_ends, answer_bars = [], []
        for k in range(trials):
            bar = 2 + 2 * k  # the player plays bar 2, 4, 6, ...; jazzd answers bar 3, 5, 7, ...
            for i in range(4):
                sleep_until(t0 + (bar * 4 + i) * spb)
                s.send(mido.Message("note_on", note=64 + i, velocity=90))
                sleep_until(t0 + (bar * 4 + i + 0.9) * spb)
                s.send(mido.Message("note_off", note=64 + i))
            phrase_ends.append(time.monotonic())
            answer_bars.append(bar + 1)
        sleep_until(t0 + (answer_bars[-1] + 1) * 4 * spb + 0.3)
        s.stop()
    finally:
        s.close()
    # where jazzd put each note: "beat 12.333 <chord> <value> -> E4" debug lines
    planned = sorted(float(b) for b, note in re.findall(r"beat (\d+\.\d+) \S+ [CSAX],\S* -> (\S+)", s.stderr)
                     if note != "rest")
    melody = sorted(t for t, _ in s.notes(0))
    latency, onset_error = [], []
    for end, bar in zip(phrase_ends, answer_bars):
        first_planned = next((b for b in planned if bar * 4 <= b < (bar + 1) * 4), None)
        heard = next((t for t in melody if t > end), None)
        if first_planned is None or heard is None or heard > t0 + (bar + 1) * 4 * spb:
            continue  # an answer that is all rests
        latency.append(heard - end)
        onset_error.append(heard - (t0 + first_planned * spb))
    return {"phrase end -> first answer note": stats(latency),
            "first answer note vs its beat (from the first chord's arrival)": stats(np.abs(onset_error))}


class ClockSender:
    def __init__(self, session, bpm: float, jitter_s: float, rng):
        self.session, self.bpm, self.jitter_s, self.rng = session, bpm, jitter_s, rng
        self.pulses: list[float] = []
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        from jack_session import sleep_until

        t = time.monotonic()
        while not self.stop_event.is_set():
            sent = t + self.rng.uniform(-self.jitter_s, self.jitter_s)
            sleep_until(sent)
            self.session.send([0xF8])
            self.pulses.append(sent)
            t += 60 / self.bpm / 24


def clock_follow(tmp: Path, seconds: float) -> dict:
    from helpers import read_notes, wait_for
    from jack_session import JackSession

    seed = 6
    s = JackSession(tmp, '[clock]\nsource = "midi"\n', "--seed", str(seed))
    try:
        s.wait_ready()  # jazzd's input connected: Start is heard
        sender = ClockSender(s, 120, 0.0005, np.random.default_rng(0))
        sender.thread.start()
        wait_for(lambda: len(sender.pulses) > 24, 30, what="a beat of clock")
        started = s.send_until_logged([0xFA], r"MIDI clock: start", every=5.0, what="Start")  # again if lost
        start_index = sum(1 for t in list(sender.pulses) if t <= started)
        time.sleep(seconds / 2)
        sender.bpm = 140
        change = time.monotonic()
        time.sleep(seconds / 2)
        sender.stop_event.set()
        sender.thread.join()
        s.stop()
    finally:
        s.close()
    out = tmp / "expected.mid"
    subprocess.run([sys.executable, "-m", "jazzd.cli", "generate", "--config", str(s.config_path), "--seed",
                    str(seed), "--bars", str(int(seconds * 3)), "-o", str(out)], check=True, capture_output=True)
    expected = [onset for ch, _, onset, _ in read_notes(out)[1] if ch == 0]
    pulses = np.array(sender.pulses[start_index:])
    heard = [t for t, _ in s.notes(0)]
    beats = np.interp(heard, pulses, np.arange(len(pulses)) / 24)
    spb = np.interp(heard, pulses[1:], np.diff(pulses)) * 24
    keep = [(abs(b - e) * p) for t, b, e, p in zip(heard, beats, expected, spb)
            if not change <= t < change + 2 * 60 / 140 and t < pulses[-1]]
    return {"note vs incoming clock grid (JACK latency included)": stats(keep)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args(argv)
    from jack_session import running_jack_server

    results = {}
    with running_jack_server(), tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "trade").mkdir()
        (Path(tmp) / "clock").mkdir()
        results.update(trade(Path(tmp) / "trade", args.trials))
        results.update(clock_follow(Path(tmp) / "clock", args.seconds))
    print(f"playing with jazzd through JACK (dummy driver, 48 kHz, period 256 = 5.3 ms); {machine()}")
    print_table("figure", results, fmt=fmt_ms)
    return results


if __name__ == "__main__":
    main()
