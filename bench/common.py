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
