"""MIDI input under a flood: jazzd's JACK input next to python-rtmidi, polled and with a callback.

A sender plays 5,000 note messages a second for --seconds into a receiving JACK
client in another process, on the benchmarks' own JACK dummy server (one server
per run, so its xruns belong to that run). The receiver reads the way jazzd does
(jazzd.live.jackinput.JackMidiInput: JACK-Client in a child process, polled every
millisecond), the way it did before (python-rtmidi, jazzd.live.ports.RtMidiInput,
polled), or with a mido input's callback, which python-rtmidi calls on its JACK
thread, holding the GIL. In the "busy" rows a second Python thread in the
receiver computes without pause, as jazzd's improviser does while it primes a
long phrase. Reported: messages sent, received, lost, and the xruns jackd
logged.

    python bench/input_flood.py [--seconds 10] [--period 256]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BENCH_SERVER, ROOT, count_xruns, machine, use_tests_helpers  # noqa: E402

RATE = 5000  # messages a second
READERS = {"child": "jazzd's JACK input (jackinput.JackMidiInput)",
           "polled": "python-rtmidi, polled (ports.RtMidiInput)",
           "callback": "callback on python-rtmidi's thread (mido)"}


def receive(reader: str, busy: bool, seconds: float) -> None:
    """The receiving process: open "flood-rx:in", read for seconds + 1, print how many messages came."""
    count = [0]
    if reader == "callback":
        import mido

        backend = mido.Backend("mido.backends.rtmidi/UNIX_JACK", load=True)
        port = backend.open_input("in", virtual=True, client_name="flood-rx",
                                  callback=lambda m: count.__setitem__(0, count[0] + 1))
    else:
        sys.path.insert(0, ROOT)
        from jazzd.live.jackinput import JackMidiInput
        from jazzd.live.ports import RtMidiInput

        port = JackMidiInput("in", "flood-rx") if reader == "child" else RtMidiInput("jack", "in", "flood-rx")

        stop = threading.Event()

        def poll():
            while not stop.is_set():
                count[0] += len(port.poll())
                time.sleep(0.001)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
    if busy:
        def compute():
            x = 0
            while True:
                for i in range(10000):
                    x += i

        threading.Thread(target=compute, daemon=True).start()
    print("ready", flush=True)
    time.sleep(seconds + 1.0)
    if reader != "callback":
        stop.set()
        poller.join()
    print(count[0], flush=True)
    if reader == "child":
        port.close()
    os._exit(0)  # daemon threads still run; the port goes with the process


def flood(reader: str, busy: bool, seconds: float, period: int) -> dict:
    """One run on a fresh server: sent, received, lost, xruns."""
    import rtmidi

    use_tests_helpers()
    from jack_session import running_jack_server

    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "jackd.log"
        with running_jack_server(period, BENCH_SERVER, log):
            rx = subprocess.Popen([sys.executable, __file__, "--receiver", reader, "--seconds", str(seconds),
                                   *(["--busy"] if busy else [])], stdout=subprocess.PIPE, text=True)
            assert rx.stdout.readline().strip() == "ready"
            tx = rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name="flood-tx")
            tx.open_virtual_port("out")
            subprocess.run(["jack_connect", "flood-tx:out", "flood-rx:in"], check=True)
            time.sleep(0.2)
            sent, start = 0, time.monotonic()
            while time.monotonic() - start < seconds:
                for _ in range(RATE // 200):  # a batch every 5 ms
                    tx.send_message([0x90, 60 + sent % 24, 1 + sent % 127])
                    sent += 1
                time.sleep(0.005)
            received = int(rx.stdout.readline())
            rx.wait(10)
            tx.close_port()
            tx.delete()
        return {"sent": sent, "received": received, "lost": sent - received, "xruns": count_xruns(log)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--period", type=int, default=256)
    parser.add_argument("--receiver", choices=READERS, help=argparse.SUPPRESS)
    parser.add_argument("--busy", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.receiver:
        receive(args.receiver, args.busy, args.seconds)
    os.environ["JACK_DEFAULT_SERVER"] = BENCH_SERVER
    results = {}
    for busy in (False, True):
        for reader, label in READERS.items():
            results[(label, "busy" if busy else "idle")] = flood(reader, busy, args.seconds, args.period)
    print(f"MIDI input flood, {RATE:,} messages/s for {args.seconds:g} s into another process; JACK dummy driver "
          f"-p {args.period} ({args.period / 48:.1f} ms); {machine()}")
    print("| reader | receiver's other thread | sent | received | lost | xruns |")
    print("|---|---|---|---|---|---|")
    for (label, load), r in results.items():
        print(f"| {label} | {load} | {r['sent']:,} | {r['received']:,} | {r['lost']:,} | {r['xruns']} |")
    return results


if __name__ == "__main__":
    main()
