"""Shared helpers of the benchmarks: timing samples and the figures printed for them."""

from __future__ import annotations

import os
import platform
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def stats(samples_s) -> dict:
    """Median, p99 and max of samples in seconds, and how many there were."""
    a = np.asarray(samples_s, dtype=float)
    if a.size == 0:  # nothing measured: the table shows nan and n = 0, the run goes on
        return {"median": float("nan"), "p99": float("nan"), "max": float("nan"), "n": 0}
    return {"median": float(np.median(a)), "p99": float(np.percentile(a, 99)), "max": float(a.max()), "n": int(a.size)}


def time_calls(fn, n: int, warmup: int = 10) -> dict:
    """Time n calls of fn() one by one (after warmup calls); stats in seconds."""
    for _ in range(warmup):
        fn()
    samples = np.empty(n)
    for i in range(n):
        t = time.perf_counter()
        fn()
        samples[i] = time.perf_counter() - t
    return stats(samples)


def fmt_us(s: float) -> str:
    return f"{s * 1e6:,.1f} us"


def fmt_ms(s: float) -> str:
    return f"{s * 1e3:,.2f} ms"


def row(name: str, st: dict, fmt=fmt_us) -> str:
    return f"| {name} | {fmt(st['median'])} | {fmt(st['p99'])} | {fmt(st['max'])} | {st['n']} |"


def print_table(first_column: str, results: dict, fmt=fmt_us) -> None:
    """Print results ({name: stats()}) as a markdown table of median, p99, max and n."""
    print(f"| {first_column} | median | p99 | max | n |")
    print("|---|---|---|---|---|")
    for name, st in results.items():
        print(row(name, st, fmt=fmt))


def machine() -> str:
    """One line describing this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"


TESTS = os.path.join(ROOT, "tests")
BENCH_SERVER = "jazzd-bench"  # benchmarks run their own JACK server, so its xruns can be counted


def use_tests_helpers() -> None:
    """Make the tests' JACK client helpers importable (tests/jack_session.py)."""
    import sys

    if TESTS not in sys.path:
        sys.path.insert(0, TESTS)


def eighths_vocabulary(vocab):
    """The pitched values of a vocabulary, every one made an eighth note: a solo of steady eighths."""
    from jazzd.core.grammar import Value
    from jazzd.core.vocab import Vocabulary

    values = set()
    for v in vocab.parsed:
        if v.kind != "R":
            values.add(str(Value(v.kind, 0.5, v.upper, v.lower)))
    return Vocabulary(sorted(values))


def bench_model(path, n_a: int = 64, layers: int = 1, eighths: bool = False, seed: int = 0):
    """A model directory with the bundled model's vocabulary (or its eighth-note version)
    and random weights of the given size: timing does not depend on what the weights learned."""
    from jazzd.core.improviser import LSTMWeights
    from jazzd.core.modeldir import load_model, save_model

    vocab = load_model(os.path.join(ROOT, "models", "default")).vocab
    if eighths:
        vocab = eighths_vocabulary(vocab)
    rng = np.random.default_rng(seed)
    n = vocab.n_values

    def cell(n_in):
        return (rng.normal(0, 0.3, (n_in, 4 * n_a)), rng.normal(0, 0.3, (n_a, 4 * n_a)), rng.normal(0, 0.1, 4 * n_a))

    weights = LSTMWeights(*cell(n), rng.normal(0, 0.3, (n_a, n)), rng.normal(0, 0.1, n),
                          tuple(cell(n_a) for _ in range(layers - 1)))
    return save_model(path, weights, vocab, {"Tx": 30, "note": "random weights for benchmarks"})


def count_xruns(log_path) -> int:
    """XRun lines a jackd wrote to its log."""
    try:
        with open(log_path) as f:
            return sum(1 for line in f if "xrun" in line.lower())
    except OSError:
        return -1


class BusyCore:
    """`python -c 'while True: pass'` for the duration: the other core busy."""

    def __enter__(self):
        import subprocess
        import sys

        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def descendants(pid: int) -> list[int]:
    """Process ids of every child of a process and theirs, from /proc (jazzd's: its JACK input reader
    `jazzd-in` and `jazzd-guardian`)."""
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                for child in f.read().split():
                    found += [int(child), *descendants(int(child))]
    except (FileNotFoundError, ProcessLookupError):  # it ended meanwhile
        pass
    return found


def proc_usage(pid: int) -> dict:
    """CPU seconds used and memory of a running process, from /proc.

    Returns:
        {"cpu_s", "peak_rss" (VmHWM), "rss_anon", "rss_file", "rss_shmem"}, memory in bytes.
        RssShmem is shared memory mapped into the process: for a JACK client,
        mostly the JACK server's engine segment, the same pages in every client.
    """
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    out = {"cpu_s": (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")}
    keys = {"VmHWM:": "peak_rss", "RssAnon:": "rss_anon", "RssFile:": "rss_file", "RssShmem:": "rss_shmem"}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split()[0] if line.strip() else ""
            if key in keys:
                out[keys[key]] = int(line.split()[1]) * 1024
    return out
