"""The JACK server killed and restarted mid-run: jazzd does what the README says, every time.

Each round starts a JACK dummy server of the benchmarks' own, a receiving client,
and `jazzd run --bpm 240` connected to it, its input open (under a supervisor loop, as the README
advises: `until jazzd run; do sleep 1; done`), waits until notes arrive, then
kills jackd (SIGKILL and SIGTERM in turn). It counts: jazzd's exit code and its
last line (the README: one line, "the JACK server went away", exit 1), the time
from the kill to jazzd's exit and stray lines (libjack's own messages,
tracebacks). No client stays connected through a server's death (the server
takes every client and port with it), so no note can be left sounding there.
Each round starts the server again, and jazzd with it, as a supervisor would.

    python bench/jack_restart.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BENCH_SERVER, ROOT, fmt_ms, machine, print_table, stats, use_tests_helpers  # noqa: E402

JAZZD = [sys.executable, "-m", "jazzd.cli"]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    use_tests_helpers()
    from helpers import wait_for
    from jack_session import LISTENER, Receiver, running_jack_server

    os.environ["JACK_DEFAULT_SERVER"] = BENCH_SERVER
    exit_times, ok, rows = [], 0, []
    with tempfile.TemporaryDirectory(prefix="jazzd-bench-restart-") as tmp:
        for round_ in range(args.rounds):
            how = (signal.SIGKILL, signal.SIGTERM)[round_ % 2]
            with running_jack_server(256, BENCH_SERVER, None) as server:
                receiver = Receiver()
                err_path = os.path.join(tmp, f"stderr{round_}.txt")
                with open(err_path, "w") as err:
                    proc = subprocess.Popen([*JAZZD, "run", "--backend", "jack", "--output", LISTENER, "--input",
                                             "virtual", "--bpm", "240"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
                wait_for(lambda: receiver.notes() or proc.poll() is not None, 90, 0.05, "jazzd's first notes")
                time.sleep(2.0)  # mid-run: a few bars in
                heard = [m for _, m in list(receiver.received)]
                killed = time.monotonic()
                server.send_signal(how)
                code = proc.wait(60)
                exit_times.append(time.monotonic() - killed)
                with open(err_path) as f:
                    lines = f.read().strip().splitlines()
                stray = [line for line in lines if "jazzd" not in line or "Traceback" in line]
                last = lines[-1] if lines else ""
                good = code == 1 and last.startswith("jazzd: error: the JACK server went away") and not stray
                ok += good
                notes = sum(1 for m in heard if m.type == "note_on" and m.velocity)
                rows.append((round_, how.name, code, notes, len(stray), last))
                print(f"round {round_ + 1}: jackd {how.name}: jazzd exit {code} after "
                      f"{exit_times[-1] * 1000:.0f} ms, {notes} notes heard before, {len(stray)} stray lines; "
                      f"last line: {last[:110]}", flush=True)
                try:
                    receiver.close()
                except Exception:  # its server is gone; nothing to release
                    pass
    print(f"\nJACK server killed mid-run, {args.rounds} rounds, 240 BPM; {machine()}")
    print(f"rounds as the README says (exit 1, one line, nothing else on stderr): {ok} of {args.rounds}")
    print_table("figure", {"jackd killed -> jazzd exited": stats(exit_times)}, fmt=fmt_ms)
    return {"rounds": args.rounds, "ok": ok, "exit": stats(exit_times), "rows": rows}


if __name__ == "__main__":
    main()
