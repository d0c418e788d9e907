"""What a hand of chord keys costs the live session (`--harmony live`): the time its thread spends handling the
note-ons of N keys pressed at once, with the chord namer on its own thread (as `jazzd run` does) and, side by
side, with the naming on the session's thread (jazzd.live.chordnamer.ImmediateNamer, caches cleared first).

    python bench/live_chords.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import ROOT, fmt_ms, print_table, stats  # noqa: E402

HANDS = (4, 20, 36, 128)


def make_session(namer):
    from jazzd.config import load_config
    from jazzd.core.modeldir import load_model
    from jazzd.live.clock import TempoClock
    from jazzd.live.scheduler import Scheduler
    from jazzd.live.session import build_session

    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-chords-{os.getpid()}.toml"
    path.write_text(f'[model]\npath = "{ROOT}/models/default"\n[harmony]\nsource = "live"\n'
                    '[input]\nchord_channel = 2\n')
    config = load_config(path)
    path.unlink()
    clock = TempoClock(120)
    session, _ = build_session(config, load_model(config.path_of("model.path")), clock, Scheduler(clock), 0,
                               namer=namer)
    session.start(0.0)
    return session


def hand_cost(session, keys: int, t: float) -> float:
    """Seconds the session's thread spends on the note-ons of `keys` keys pressed at t, then their releases."""
    from jazzd.live.events import NoteEvent

    start = time.perf_counter()
    for key in range(keys):
        session.handle(NoteEvent(t, 1, key, 80))
    took = time.perf_counter() - start
    for key in range(keys):
        session.handle(NoteEvent(t + 0.5, 1, key, 0))
    return took


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    from jazzd.core.harmony import chord_from_pitches
    from jazzd.live import chordnamer

    delivered = []
    threaded = chordnamer.ChordNamer(delivered.append)
    on_thread = chordnamer.ImmediateNamer()
    sessions = {"namer thread (jazzd run)": make_session(threaded), "on the session's thread": make_session(on_thread)}
    chord_from_pitches((48, 52, 55))  # music21 imported and warm before any figure
    samples = {(way, keys): [] for way in sessions for keys in HANDS}
    for r in range(args.rounds):
        for keys in HANDS:
            for way, session in sessions.items():  # side by side, the caches cleared for each
                chordnamer._name.cache_clear()
                samples[(way, keys)].append(hand_cost(session, keys, r + keys / 1000))
                time.sleep(0.3 if way.startswith("namer") else 0)  # let the namer finish before the next hand
    threaded.close()
    results = {f"{keys} keys at once, {way}": stats(samples[(way, keys)]) for keys in HANDS for way in sessions}
    print(f"The session's thread, handling the note-ons of a hand of keys pressed at once ({args.rounds} rounds):\n")
    print_table("hand, where it is named", results, fmt=fmt_ms)
    return results


if __name__ == "__main__":
    main()
