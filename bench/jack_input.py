"""JACK MIDI input side by side: python-rtmidi (polled, in this process) against jazzd's JackMidiInput.

jazzd's JACK input moved from python-rtmidi to JACK-Client in a child process
(jazzd.live.jackinput: python-rtmidi's JACK input crashed under a keyboard).
This bench connects one keyboard client to both inputs on a JACK dummy server of
its own (period 256 frames at 48 kHz) and sends random notes for a while, with
the machine idle and then with every core kept busy. Each input is polled every
millisecond by a thread of this process, as jazzd's listener does. For each it
prints messages sent and heard, the JACK server's xruns blamed on its client
(cycles it finished late: what an xrun carries is lost), and the arrival time
against the send time (median and 99th percentile, ms; one JACK period is 5.3 ms).

    python bench/jack_input.py [--seconds 30] [--rate 20]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine, use_tests_helpers  # noqa: E402

SERVER = "jazzd-bench-input"


def spin(stop) -> None:
    while not stop.is_set():
        pass


def late_clients(log_path: Path) -> Counter:
    """xruns per client from jackd's log ("client = NAME was not finished")."""
    return Counter(line.split("client = ", 1)[1].split(" was not finished")[0]
                   for line in log_path.read_text(errors="replace").splitlines() if "client = " in line)


def one_round(seconds: float, rate: float, busy: bool, log_path: Path) -> dict:
    import rtmidi

    from jazzd.live.jackinput import JackMidiInput
    from jazzd.live.ports import RtMidiInput
    from jack_session import jack_connections  # noqa: F401  (the helpers' JACK_DEFAULT_SERVER applies)

    keyboard = rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name="bench-kbd")
    keyboard.open_virtual_port("out")
    inputs = {"python-rtmidi": RtMidiInput("jack", "bench-kbd:out", "bench-rtmidi", virtual=False),
              "JackMidiInput": JackMidiInput("bench-kbd:out", "bench-child", virtual=False)}
    heard = {name: [] for name in inputs}
    stop = threading.Event()

    def poll(name, port):
        while not stop.is_set():
            time.sleep(0.001)
            heard[name].extend(port.poll())

    pollers = [threading.Thread(target=poll, args=item, daemon=True) for item in inputs.items()]
    for thread in pollers:
        thread.start()
    spin_stop = multiprocessing.Event()
    spinners = [multiprocessing.Process(target=spin, args=(spin_stop,)) for _ in range(os.cpu_count() if busy else 0)]
    for proc in spinners:
        proc.start()
    before = late_clients(log_path)
    time.sleep(1.0)  # the graph settles after the connections
    rng = np.random.default_rng(0)
    sent = []  # (monotonic time, velocity) of each note-on; velocity 1..127 and note tell them apart
    t = time.monotonic()
    end = t + seconds
    while t < end:
        note, velocity = int(rng.integers(48, 84)), int(rng.integers(1, 128))
        sent.append((time.monotonic(), note, velocity))
        keyboard.send_message([0x90, note, velocity])
        time.sleep(0.04)
        keyboard.send_message([0x80, note, 0])
        t += 1.0 / rate
        time.sleep(max(0.0, t - time.monotonic()))
    time.sleep(0.5)
    spin_stop.set()
    for proc in spinners:
        proc.join()
    stop.set()
    for thread in pollers:
        thread.join()
    after = late_clients(log_path)
    result = {}
    for name, port in inputs.items():
        ons = [(t, m.note, m.velocity) for t, m in heard[name] if m.type == "note_on" and m.velocity > 0]
        # pair in order: a lost note shifts nothing because (note, velocity) must match
        delays, i = [], 0
        for t, note, velocity in ons:
            while i < len(sent) and (sent[i][1], sent[i][2]) != (note, velocity):
                i += 1
            if i < len(sent):
                delays.append(t - sent[i][0])
                i += 1
        client = "bench-rtmidi" if name == "python-rtmidi" else "bench-child"
        result[name] = {"sent": len(sent), "heard": len(ons), "xruns": after[client] - before[client],
                        "median_ms": 1000 * float(np.median(delays)) if delays else float("nan"),
                        "p99_ms": 1000 * float(np.percentile(delays, 99)) if delays else float("nan")}
        port.close()
    keyboard.close_port()
    keyboard.delete()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds of notes per round (30)")
    parser.add_argument("--rate", type=float, default=20.0, help="notes per second (20)")
    args = parser.parse_args()
    use_tests_helpers()
    os.environ["JACK_DEFAULT_SERVER"] = SERVER
    from jack_session import running_jack_server

    print(f"# JACK MIDI input: python-rtmidi vs jazzd's JackMidiInput ({machine()})")
    print(f"{args.rate:g} notes/s for {args.seconds:g} s per round, JACK dummy server, period 256 at 48 kHz")
    print("| machine | input | sent | heard | xruns of its client | arrival - send, median ms | p99 ms |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "jackd.log"
        with running_jack_server(256, name=SERVER, log_path=log_path):
            for busy in (False, True):
                result = one_round(args.seconds, args.rate, busy, log_path)
                for name, r in result.items():
                    print(f"| {'busy' if busy else 'idle'} | {name} | {r['sent']} | {r['heard']} | {r['xruns']} | "
                          f"{r['median_ms']:.2f} | {r['p99_ms']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
