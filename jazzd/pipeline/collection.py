"""A corpus of many files: folders walked, files parsed in parallel, unusable ones skipped.

`jazzd train PATH ...` takes MIDI files, folders (searched recursively for
.mid/.midi) and corpus manifests. Each file is parsed by jazzd.pipeline.corpus.load_piece
(cached per file hash) in a pool of worker processes, one per core, with a
progress bar over the files. A file with no usable melody or harmony is
reported by name with the reason and skipped; only a run where nothing is usable
is an error.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from jazzd.pipeline.corpus import CorpusSpec, Piece, load_piece, specs_for
from jazzd.errors import CorpusError

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 10.0  # seconds between progress lines when no terminal shows the bar

MIDI_SUFFIXES = (".mid", ".midi", ".smf", ".kar")


@dataclass(frozen=True)
class Skipped:
    """A file left out of the corpus, and why (one line)."""

    path: Path
    reason: str


@dataclass(frozen=True)
class Collection:
    """The usable pieces of a corpus, in the order of their files, and the skipped files."""

    pieces: list[Piece]
    skipped: list[Skipped]


def expand_sources(sources: Iterable) -> list[Path]:
    """Files named by the sources: MIDI files and manifests as given, folders walked.

    Args:
        sources: paths of MIDI files, .toml manifests or folders.
    Returns:
        The files, folders' contents sorted by path (so a corpus has one order
        on every machine).
    Raises:
        CorpusError: if a source does not exist, or a folder holds no MIDI file.
    """
    files: list[Path] = []
    for source in sources:
        source = Path(source)
        if source.is_dir():
            found = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in MIDI_SUFFIXES)
            if not found:
                raise CorpusError(f"{source}: no MIDI files (.mid, .midi) in this folder or below")
            files.extend(found)
        elif source.exists():
            files.append(source)
        else:
            raise CorpusError(f"{source}: no such file or folder")
    return files


def _load(spec: CorpusSpec, use_cache: bool) -> tuple[Piece | None, str | None]:
    try:
        return load_piece(spec, use_cache=use_cache), None
    except CorpusError as err:
        return None, str(err)
    except Exception as err:  # one odd file must not end a run over hundreds; it is reported, not hidden
        log.debug("%s: unexpected error", spec.path, exc_info=True)
        return None, f"{spec.path}: could not be read ({type(err).__name__}: {err})"


def _cached(spec: CorpusSpec) -> tuple[Piece | None, str | None] | None:
    """The cached result of a file, or None if the cache has none."""
    from jazzd.pipeline.corpus import cached_piece

    try:
        piece = cached_piece(spec)
    except CorpusError as err:
        return None, str(err)
    return None if piece is None else (piece, None)


class ProgressLines:
    """Parsing progress as log lines where no terminal shows tqdm's bar: at every tenth of the files or
    every PROGRESS_EVERY_S seconds, whichever comes first, and at the end."""

    def __init__(self, total: int, every_s: float = PROGRESS_EVERY_S, clock=time.monotonic):
        self.total, self.done, self.clock, self.every_s = total, 0, clock, every_s
        self.start = self.last = clock()
        self.step = max(1, total // 10)

    def update(self, n: int = 1) -> None:
        self.done += n
        now = self.clock()
        if self.done == self.total or self.done % self.step == 0 or now - self.last >= self.every_s:
            self.last = now
            log.info("parsing: %d of %d files (%.0f %%), %.0f s", self.done, self.total,
                     100.0 * self.done / max(self.total, 1), now - self.start)

    def close(self) -> None:
        pass


def collect(sources, use_cache: bool = True, workers: int | None = None, progress: bool | None = None,
            report: Callable[[str], None] | None = None, **overrides) -> Collection:
    """Load every usable file of a corpus, in parallel, skipping the unusable ones.

    Args:
        sources: MIDI files, manifests and folders (see expand_sources).
        use_cache: read and write the per-file parse cache.
        workers: worker processes; default one per core (1 runs in this process).
        progress: show a progress bar (tqdm, on stderr); None = only on a terminal.
        report: where "skipped FILE: reason" lines go; default the log at warning level.
        overrides: CorpusSpec fields for every file (melody, chords, start, end, ...).
    Returns:
        A Collection.
    Raises:
        CorpusError: if a source is missing, a manifest is bad, or no file is usable
            (the message gives the first reason).
    """
    from tqdm import tqdm

    files = expand_sources(sources)
    specs = [spec for f in files for spec in specs_for(f, **overrides)]
    results: list[tuple[Piece | None, str | None] | None] = [None] * len(specs)
    bar = tqdm(total=len(specs), unit="file", desc="parsing", disable=None if progress is None else not progress)
    if bar.disable and progress is None:  # no terminal (a service, a log file, CI): progress as log lines
        bar = ProgressLines(len(specs))
    todo = []
    for i, spec in enumerate(specs):  # what the cache holds is read here: sending it between processes costs more
        hit = _cached(spec) if use_cache else None
        if hit is not None:
            results[i] = hit
            bar.update()
        else:
            todo.append(i)
    workers = min(workers or os.cpu_count() or 1, len(todo)) if todo else 1
    if workers <= 1:
        for i in todo:
            results[i] = _load(specs[i], use_cache)
            bar.update()
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {i: pool.submit(_load, specs[i], use_cache) for i in todo}
            for i, future in futures.items():
                results[i] = future.result()
                bar.update()
    bar.close()
    say = report or log.warning
    pieces, skipped = [], []
    for spec, (piece, reason) in zip(specs, results):
        if piece is None:
            skipped.append(Skipped(spec.path, reason))
            say(f"skipped {reason}")
        else:
            pieces.append(piece)
    if not pieces:
        first = skipped[0].reason if skipped else "no files"
        raise CorpusError(f"no usable file in the corpus ({len(skipped)} skipped; first: {first})")
    return Collection(pieces, skipped)
