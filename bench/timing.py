"""Timing functions shared by the benchmark groups.

On a shared or busy machine absolute times drift from one second to the next, so every
comparison here is measured *round-robin*: one block of calls of each contender in turn,
repeated, and the median block taken per contender. A slow patch of the machine then slows
all contenders alike, and their ratio survives.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Callable, Sequence

__all__ = ["calls_per_block", "compare", "cpu_seconds", "percentile", "summary"]


def cpu_seconds() -> float:
    """CPU time used so far by this process and by its finished child processes (kernels, commands).

    On a busy machine wall time grows with the load; CPU time does not, so it shows what the
    same work would take on an idle core.
    """
    try:
        import resource
    except ImportError:  # not on Unix: this process only
        return time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def calls_per_block(fn: Callable[[], object], target_seconds: float, max_calls: int = 100_000) -> int:
    """How many calls of ``fn`` fill about ``target_seconds`` (at least one).

    Like ``timeit.Timer.autorange``: doubles the count until a block is long enough,
    so that timer resolution and per-block overhead do not matter.
    """
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= target_seconds or calls >= max_calls:
            break
        calls = min(max_calls, calls * 2 if elapsed <= 0 else max(calls * 2, int(calls * target_seconds / elapsed)))
    return calls


def compare(contenders: dict[str, Callable[[], object]], *, repeats: int = 7,
            block_seconds: float = 0.02, warmup: int = 3) -> dict[str, dict[str, float]]:
    """Time each contender, interleaved, and return seconds per call.

    Parameters
    ----------
    contenders : dict of str to callable
        Zero-argument callables, by name.
    repeats : int
        Timed blocks per contender; the median block is reported.
    block_seconds : float
        About how long one block of calls lasts (the number of calls is calibrated once).
    warmup : int
        Untimed calls of each contender before calibrating.

    Returns
    -------
    dict
        ``{name: {"median": s, "min": s, "calls": n, "repeats": r}}``, seconds per call.
    """
    for fn in contenders.values():
        for _ in range(warmup):
            fn()
    calls = {name: calls_per_block(fn, block_seconds) for name, fn in contenders.items()}
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            n = calls[name]
            start = time.perf_counter()
            for _ in range(n):
                fn()
            samples[name].append((time.perf_counter() - start) / n)
    return {name: {"median": statistics.median(s), "min": min(s), "calls": calls[name], "repeats": repeats}
            for name, s in samples.items()}


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, linearly interpolated as ``numpy.percentile``."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(seconds: Sequence[float]) -> dict[str, float]:
    """Median, 95th percentile, max and count of a list of durations."""
    return {
        "median": statistics.median(seconds) if seconds else math.nan,
        "p95": percentile(seconds, 95),
        "max": max(seconds) if seconds else math.nan,
        "n": len(seconds),
    }
