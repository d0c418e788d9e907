"""The guardian: a small process that releases jazzd's notes if jazzd dies without doing so.

jazzd releases every note itself on every stop it can see (a signal, an error in
any thread, the bar limit, the server going away). What it cannot see is its own
sudden death: a segmentation fault in a MIDI binding's JACK thread (python-rtmidi's
input did that before jazzd read JACK input in a child process), the kernel's OOM
killer, `kill -9`. JACK then
removes jazzd's ports with its connections, and every synth it was playing keeps
sounding the notes it had begun.

On the JACK backend the daemon starts this guardian beside it (`python -m
jazzd.live.guardian`), in a session of its own so a terminal's Ctrl-C or hang-up
reaches only jazzd. The guardian is a JACK client without ports that:

- every POLL_S reads which ports jazzd's output is connected to (JACK-Client, the
  maintained cffi binding of the system's libjack: not the binding that crashed);
- reads its stdin, a pipe from jazzd: jazzd writes `clean` once it has released
  its notes, then exits. End of file without `clean` means jazzd died: the
  guardian registers a port of its own, connects it to those last destinations
  and sends on each channel jazzd plays: sustain off (CC 64 = 0), a note-off for
  every key 0..127 and All Notes Off (CC 123), as a MIDI panic does (it does not
  know which keys sounded, and a note-off for a silent key does nothing), sustain
  off and All Notes Off once more REPEAT_S later, then exits after one line on
  stderr.

The guardian was chosen over a port-owning child with the model in a worker
(the issue's other shape) because it keeps the real-time path in one process
(no pipe hop between the model's scheduler and the port, so timing stays as
measured) and it costs one idle process (about 30 MiB, a JACK query every
POLL_S). ALSA: not covered (python-rtmidi cannot list another client's
subscriptions); the sequencer-wide `aconnect`-level panic is left to the user.
"""

from __future__ import annotations

import argparse
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time

log = logging.getLogger(__name__)

POLL_S = 0.2  # how often the destinations are read: a connection made in the last POLL_S before a crash is missed
CONNECT_S = 0.05  # after connecting: a few JACK cycles for the graph to take the new connections
LINGER_S = 0.3  # after the last release message is written: let the receivers' JACK cycles read it
# a receiver that misses the cycles of the release (an xrun) loses all of it: sustain off and All Notes Off
# go again this much later, in other cycles, as jazzd's own stop does (a fresh-clone busy run's receiver,
# 75 xruns, heard none of a release)
REPEAT_S = 0.05
CLEAN = b"clean\n"


def panic_messages(channels: list[int]) -> list[bytes]:
    """The release a guardian sends for jazzd: raw MIDI bytes, per channel (0-based).

    Per channel: sustain off (CC 64 = 0), note-off (velocity 0) for MIDI notes 0..127,
    All Notes Off (CC 123). Source: the MIDI 1.0 channel mode messages; mido's
    `panic`/`reset` send CC 120/123 only, which some receivers (and a DAW's
    recording) ignore.
    """
    out = []
    for ch in channels:
        out.append(bytes([0xB0 | ch, 64, 0]))
        out.extend(bytes([0x80 | ch, note, 0]) for note in range(128))
        out.append(bytes([0xB0 | ch, 123, 0]))
    return out


class Guardian:
    """Watches jazzd's JACK output port and, once jazzd is gone uncleanly, sends the panic to its destinations.

    Args:
        client_name: its JACK client name (e.g. "jazzd-guardian").
        output: jazzd's output port, full JACK name ("jazzd:jazzd out").
        channels: the MIDI channels jazzd plays (0-based).
        watched: jazzd's process id (for the log line only).
    Raises:
        RuntimeError: if JACK-Client is missing or no JACK server answers.
    """

    def __init__(self, client_name: str, output: str, channels: list[int], watched: int):
        try:
            import jack
        except (ImportError, OSError) as err:
            raise RuntimeError(f"JACK-Client is not usable ({err})") from None
        jack.set_error_function(lambda message: log.debug("libjack: %s", message))
        jack.set_info_function(lambda message: log.debug("libjack: %s", message))
        self.jack = jack
        self.output, self.channels, self.watched = output, channels, watched
        self.destinations: list[str] = []
        self.seen = False  # jazzd's port has been seen once
        try:
            self.client = jack.Client(client_name, no_start_server=True)
        except jack.JackError as err:
            raise RuntimeError(f"no JACK server ({err})") from None

    def poll_destinations(self) -> bool:
        """Read where jazzd's output goes now (kept from the last read if the port has gone).

        Returns False once the JACK server itself is gone.
        """
        try:
            port = self.client.get_port_by_name(self.output)
        except self.jack.JackError:
            return True  # jazzd's port not there (yet, or any more): keep the last destinations
        except Exception:  # the server went away
            return False
        try:
            self.destinations = [p.name for p in self.client.get_all_connections(port)]
        except Exception as err:  # the port went between the two calls
            log.debug("reading %s's connections: %s", self.output, err)
            return True
        if not self.seen:
            self.seen = True
            log.info("watching %s: if jazzd dies without releasing its notes, they are released here", self.output)
        return True

    def release(self) -> int:
        """Send the panic to the last destinations; returns how many messages went out."""
        if not self.destinations:
            return 0
        pending = panic_messages(self.channels)
        again = [m for m in pending if m[0] & 0xF0 == 0xB0]  # sustain off and All Notes Off, per channel
        total = len(pending) + len(again)
        go, done = threading.Event(), threading.Event()
        port = self.client.midi_outports.register("release")

        def process(frames: int) -> None:
            port.clear_buffer()
            if not go.is_set():  # written before the connections exist, they would reach no one
                return
            while pending:
                try:
                    port.write_midi_event(0, pending[0])
                except self.jack.JackError:  # this cycle's buffer is full: the rest next cycle
                    return
                pending.pop(0)
            done.set()

        self.client.set_process_callback(process)
        self.client.activate()
        for destination in self.destinations:
            try:
                self.client.connect(port, destination)
            except self.jack.JackError as err:  # the receiver went too
                log.debug("connecting %s -> %s: %s", port.name, destination, err)
        time.sleep(CONNECT_S)
        go.set()
        done.wait(5.0)
        time.sleep(REPEAT_S)
        done.clear()  # before the messages go in: a cycle between the two then finds them and sets it again
        pending.extend(again)
        done.wait(5.0)
        time.sleep(LINGER_S)
        return total - len(pending)

    def watch(self, stdin_fd: int) -> int:
        """Poll the destinations until stdin ends; release if it ended without `clean`. Returns the exit code."""
        said = b""
        while True:
            if not self.poll_destinations():
                return 0  # the server went: it took every port, nothing of jazzd sounds
            ready, _, _ = select.select([stdin_fd], [], [], POLL_S)
            if not ready:
                continue
            chunk = os.read(stdin_fd, 64)
            if chunk:
                said += chunk
                continue
            if said.endswith(CLEAN):
                return 0
            sent = self.release()
            targets = ", ".join(self.destinations) or "no port (jazzd's output was not connected)"
            print(f"jazzd-guardian: jazzd (pid {self.watched}) ended without releasing its notes: "
                  f"{sent} release messages sent to {targets}", file=sys.stderr, flush=True)
            return 0

    def close(self) -> None:
        try:
            self.client.deactivate()
            self.client.close()
        except Exception as err:
            log.debug("closing the guardian's client: %s", err)


def start(output: str, channels: list[int], client_name: str = "jazzd-guardian") -> subprocess.Popen | None:
    """Start a guardian for jazzd's JACK output (this process is the one it watches).

    Returns the process (write CLEAN to its stdin and close it once the notes are
    released: see `stop`), or None if it cannot start (logged as a warning).
    """
    level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
    command = [sys.executable, "-m", "jazzd.live.guardian", "--client-name", client_name, "--output", output,
               "--channels", ",".join(str(c) for c in channels), "--watched", str(os.getpid()),
               "--log-level", level if isinstance(level, str) else "WARNING"]
    try:
        return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                start_new_session=True)  # Ctrl-C and hang-up go to jazzd only
    except OSError as err:
        log.warning("the guardian did not start (%s): notes sounding when jazzd crashes will hang", err)
        return None


def stop(proc: subprocess.Popen | None) -> None:
    """Tell the guardian jazzd released its notes itself, and let it exit."""
    if proc is None:
        return
    try:
        proc.stdin.write(CLEAN)
        proc.stdin.close()
    except OSError:  # it already ended (its server went away)
        pass
    try:
        proc.wait(5.0)
    except subprocess.TimeoutExpired:
        proc.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jazzd.live.guardian", description=__doc__.split("\n")[0])
    parser.add_argument("--client-name", default="jazzd-guardian")
    parser.add_argument("--output", required=True, help="jazzd's output port (full JACK name)")
    parser.add_argument("--channels", required=True, help="MIDI channels jazzd plays, 0-based, comma-separated")
    parser.add_argument("--watched", type=int, default=os.getppid(), help="jazzd's process id (for the log)")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # jazzd decides when it stops; end of stdin tells this one
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    logging.basicConfig(level=getattr(logging, args.log_level), stream=sys.stderr,
                        format="%(asctime)s jazzd-guardian %(levelname)s: %(message)s", datefmt="%H:%M:%S")
    try:
        guardian = Guardian(args.client_name, args.output, [int(c) for c in args.channels.split(",") if c],
                            args.watched)
    except RuntimeError as err:
        print(f"jazzd-guardian: {err}; notes sounding if jazzd crashes will hang", file=sys.stderr)
        return 1
    try:
        return guardian.watch(sys.stdin.fileno())
    finally:
        guardian.close()


if __name__ == "__main__":
    sys.exit(main())
