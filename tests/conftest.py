"""Shared fixtures: the project's paths, the real CLI, a JACK server with the dummy driver."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from helpers import DEFAULT_MODEL, IN_CI  # noqa: F401  (the paths and helpers live in helpers.py)


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Tests (and the CLI they run) share one corpus cache of their own, never the user's."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # each pytest-xdist worker's folder is in the run's: one cache for both, so a corpus one worker
        # parsed (20 s for the Metheny file) the other reads (entries are written beside and renamed)
        base = base.parent
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JAZZD_CACHE_DIR", str(base / "cache"))
        yield


@pytest.fixture(scope="session")
def random_model(tmp_path_factory):
    """A model directory with the default model's vocabulary and random weights (no TensorFlow)."""
    from jazzd.core.improviser import LSTMWeights
    from jazzd.core.modeldir import load_model, save_model

    vocab = load_model(DEFAULT_MODEL).vocab
    rng = np.random.default_rng(7)
    n, n_a = vocab.n_values, 16
    weights = LSTMWeights(rng.normal(0, 0.5, (n, 4 * n_a)), rng.normal(0, 0.5, (n_a, 4 * n_a)),
                          rng.normal(0, 0.1, 4 * n_a), rng.normal(0, 0.5, (n_a, n)), rng.normal(0, 0.1, n))
    return save_model(tmp_path_factory.mktemp("models") / "random", weights, vocab, {"Tx": 30})


JACKD_SESSION_DIR = "jackd-session"  # where the jack_server fixture's server logs, for the summary


@pytest.fixture(scope="session")
def jack_server(tmp_path_factory):
    """A JACK server: the running one, or `jackd --no-realtime -d dummy -r 48000 -p 256` started here.

    In CI (CI=true) a missing jackd fails the test instead of skipping it. A
    server started here logs to a file whose xruns the test summary counts.
    """
    from jack_session import JackUnavailable, running_jack_server

    log_path = tmp_path_factory.mktemp(JACKD_SESSION_DIR) / "jackd.log"
    try:
        with running_jack_server(log_path=log_path) as server:
            yield server
    except JackUnavailable as err:
        if IN_CI:
            pytest.fail(str(err))
        pytest.skip(str(err))


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    """The JACK tests run one after another on one pytest-xdist worker (one session server, no two tests
    starting servers at once) while the other worker runs the rest: a loaded machine, as they must bear."""
    for item in items:
        if item.get_closest_marker("jack"):
            item.add_marker(pytest.mark.xdist_group("jack"))


def pytest_terminal_summary(terminalreporter):
    """How often the JACK server saw a client miss its cycle (xruns lose MIDI): evidence for a failed JACK test."""
    factory = getattr(terminalreporter.config, "_tmp_path_factory", None)
    if factory is None:
        return
    base = factory.getbasetemp()  # with pytest-xdist, each worker's is a folder in it
    for log_path in sorted(base.glob(f"{JACKD_SESSION_DIR}*/jackd.log")) + sorted(base.glob(f"*/{JACKD_SESSION_DIR}*/jackd.log")):
        late = Counter(line.split("client = ", 1)[1].split(" was not finished")[0]
                       for line in log_path.read_text(errors="replace").splitlines() if "client = " in line)
        terminalreporter.write_line("jackd xruns by late client: "
                                    + (", ".join(f"{name} {n}" for name, n in late.most_common()) or "none"))
