"""A test peer of an Ableton Link session, and the jazzd beside it, inside one network namespace.

Run as `unshare -rn sh -c 'ip link set lo up && exec python tests/link_peer.py BPM LOG -- COMMAND...'`: the
namespace holds only the loopback interface, so the peers' multicast never leaves the machine. It joins a Link
session at BPM (start/stop sync on), and answers one line on stdout for each line on stdin:

    run            start COMMAND (jazzd), its stderr to LOG        -> "pid N"
    peers N        wait (up to 30 s) until N other peers are seen  -> "peers n"
    line           the session's timeline now                      -> "line TEMPO US BEAT PLAYING"
    start          play from the next bar line (quantum 4)         -> the line after it
    stop           stop now                                        -> the line after it
    tempo BPM      set the tempo now                               -> the line after it
    term           SIGTERM to COMMAND, wait for it                 -> "exit CODE"

A line is the session's tempo line at that moment: beat BEAT at Link time US (microseconds of Link's clock,
CLOCK_MONOTONIC_RAW, the clock of JACK's cycle times), TEMPO beats a minute, PLAYING 0 or 1. At EOF the
command is terminated and the peer leaves.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import link

QUANTUM = 4.0


def main(argv: list[str]) -> int:
    bpm, log_path, command = float(argv[0]), argv[1], argv[argv.index("--") + 1:]
    peer = link.Link(bpm)
    peer.startStopSyncEnabled = True
    peer.enabled = True
    child = None

    def line() -> str:
        state = peer.captureAppSessionState()
        now = peer.clock().micros()
        return f"line {state.tempo():.6f} {now} {state.beatAtTime(now, QUANTUM):.6f} {int(state.isPlaying())}"

    def commit(change) -> str:
        state = peer.captureAppSessionState()
        change(state, peer.clock().micros())
        peer.commitAppSessionState(state)
        return line()

    print("ready", flush=True)
    for request in sys.stdin:
        word, *rest = request.split()
        if word == "run":
            child = subprocess.Popen(command, stderr=open(log_path, "w"), stdin=subprocess.DEVNULL)
            answer = f"pid {child.pid}"
        elif word == "peers":
            deadline = time.monotonic() + 30
            while (peer.numPeers() < int(rest[0]) and time.monotonic() < deadline
                   and (child is None or child.poll() is None)):
                time.sleep(0.02)
            answer = f"peers {peer.numPeers()}"
        elif word == "line":
            answer = line()
        elif word == "start":  # as Live does: the first beat of the next bar plays
            answer = commit(lambda s, t: s.setIsPlayingAndRequestBeatAtTime(True, t, 0.0, QUANTUM))
        elif word == "stop":
            answer = commit(lambda s, t: s.setIsPlaying(False, t))
        elif word == "tempo":
            answer = commit(lambda s, t: s.setTempo(float(rest[0]), t))
        elif word == "term":
            child.send_signal(signal.SIGTERM)
            answer = f"exit {child.wait(60)}"
            child = None
        else:
            answer = f"unknown {word}"
        print(answer, flush=True)
    if child is not None:
        child.terminate()
        child.wait(60)
    peer.enabled = False
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
