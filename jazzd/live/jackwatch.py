"""JackWatch: the JACK server going away, and named peers leaving and coming back.

python-rtmidi says nothing when the JACK server goes away (its output writes
into a ring buffer nobody reads, so jazzd would play on to no one), and it does
not reconnect a port that leaves and comes back. A JACK client of jazzd's own,
with no ports and no process callback, learns both from the server: JACK-Client
(the maintained cffi binding of libjack) calls its shutdown callback when the
server goes, and its port registration callback for every port that appears.

- Server gone: on_shutdown(reason) is called once. The daemon ends the run in
  one line with a non-zero exit: JACK takes every client and port with it, so
  no note of jazzd's can still sound, and a supervisor (systemd
  `Restart=on-failure`, a shell loop) starts jazzd again once the server is back.
- A peer named by `--output`/`--input` registers its port again: jazzd's port is
  connected to it again (JACK forbids server calls inside its callbacks, so the
  connection is made on a thread of the watch's own).

Used only where python-rtmidi links the system's libjack (`make run` builds it
so): the PyPI wheel bundles a libjack of its own, and two libjacks in one
process share nothing but the server.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Link:
    """A connection jazzd keeps: from JACK port `source` to JACK port `destination` (full names, client:port).

    `peer` is the one that may leave and come back (the other is jazzd's own port).
    """

    source: str
    destination: str
    peer: str


def rtmidi_bundles_libjack() -> bool:
    """Whether the loaded python-rtmidi uses a libjack of its own (the PyPI wheel's), not the system's.

    Reads this process's memory map (Linux); elsewhere False.
    """
    import rtmidi  # noqa: F401  (loads its libraries)

    try:
        with open("/proc/self/maps") as f:
            return any("libjack" in line and "rtmidi" in line for line in f)
    except OSError:
        return False


class JackWatch:
    """A port-less JACK client that reports the server's shutdown and restores links to returning peers.

    Args:
        client_name: its JACK client name (e.g. "jazzd-watch").
        on_shutdown: called once with the server's reason when the server goes away
            (from JACK's thread: keep it short, e.g. set an event).
        links: the connections to restore when their peer's port registers again.
        output: jazzd's output port (full JACK name), for `connect`.
        connect: texts (case-insensitive): the output is connected to every MIDI input port
            whose name contains one, those there now (connect_matching) and those that appear later.
    Raises:
        RuntimeError: if JACK-Client is missing, no JACK server answers or the client
            cannot be activated (the caller goes on without a watch).
    Source: JACK-Client's Client.set_shutdown_callback and set_port_registration_callback.
    """

    def __init__(self, client_name: str, on_shutdown, links: list[Link] = (), output: str | None = None,
                 connect: tuple[str, ...] = ()):
        try:
            import jack
        except (ImportError, OSError) as err:  # OSError: cffi finds no libjack
            raise RuntimeError(f"JACK-Client is not usable ({err})") from None
        # libjack's own messages ("Cannot read socket", "Server is not running") go to the debug log,
        # for python-rtmidi's clients too (one libjack in the process): the watch says it in one line
        jack.set_error_function(lambda message: log.debug("libjack: %s", message))
        jack.set_info_function(lambda message: log.debug("libjack: %s", message))
        self.links = list(links)
        self.output, self.connect = output, tuple(c.lower() for c in connect)
        self._on_shutdown = on_shutdown
        self._gone = threading.Event()
        self._todo: queue.Queue = queue.Queue()
        try:
            self.client = jack.Client(client_name, no_start_server=True)
        except jack.JackError as err:
            raise RuntimeError(f"no JACK server for the watch ({err})") from None
        self.client.set_shutdown_callback(self._shutdown)
        self.client.set_port_registration_callback(self._registered, only_available=False)
        self._worker = threading.Thread(target=self._connect_loop, name="jazzd-jackwatch", daemon=True)
        self._worker.start()
        try:
            self.client.activate()
        except jack.JackError as err:  # e.g. a stop signal interrupted libjack's call
            self.close()
            raise RuntimeError(f"cannot activate the watch's JACK client ({err})") from None

    def _shutdown(self, status, reason: str) -> None:
        if not self._gone.is_set():
            self._gone.set()
            self._todo.put(None)
            self._on_shutdown(reason or str(status))

    def _registered(self, port, register: bool) -> None:
        self._todo.put((port.name, register))

    def _wanted(self, port) -> bool:
        """Whether --connect asks for this port: a MIDI input, not jazzd's own, whose name contains a text."""
        own = self.output.split(":")[0] if self.output else None
        return (self.output is not None and port.is_midi and port.is_input and port.name.split(":")[0] != own
                and any(text in port.name.lower() for text in self.connect))

    def connect_matching(self) -> list[str]:
        """Connect the output to every port --connect asks for that exists now; returns their names."""
        done = []
        if not self.connect or self.output is None:
            return done
        for port in self.client.get_ports(is_midi=True, is_input=True):
            if self._wanted(port):
                self._connect(self.output, port.name)
                done.append(port.name)
        return done

    def _connect(self, source: str, destination: str) -> bool:
        try:
            if destination not in [p.name for p in self.client.get_all_connections(source)]:
                self.client.connect(source, destination)
            return True
        except Exception as err:  # jack.JackError: the port went again, or the server
            log.debug("connecting %s -> %s: %s", source, destination, err)
            return False

    def _connect_loop(self) -> None:
        while (item := self._todo.get()) is not None:
            name, register = item
            if not register:
                if any(link.peer == name for link in self.links):
                    log.warning("%s is gone; jazzd connects to it again when it comes back", name)
                continue
            if self.connect:
                try:
                    port = self.client.get_port_by_name(name)
                except Exception:  # gone again already
                    continue
                if self._wanted(port) and self._connect(self.output, name):
                    log.info("connected %s -> %s (--connect)", self.output, name)
            for link in self.links:
                if link.peer == name and self._connect(link.source, link.destination):
                    log.info("%s is back: connected %s -> %s", name, link.source, link.destination)

    def close(self) -> None:
        """Stop watching (the client is closed unless the server already took it)."""
        self._todo.put(None)
        if not self._gone.is_set():
            try:
                self.client.deactivate()
                self.client.close()
            except Exception as err:  # the server may be going right now
                log.debug("closing the JACK watch: %s", err)
