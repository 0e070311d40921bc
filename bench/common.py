"""What every benchmark shares: the one-line report format and a median timer."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def report(figure: str, value: float, unit: str, op: str, target: float, fmt: str) -> None:
    """Print ``<figure>: <value><unit> (target <op> <target>) ok|MISS``."""
    ok = value <= target if op == "<=" else value >= target
    shown = format(value, fmt)
    print(f"{figure}: {shown}{unit} (target {op} {target:g}) {'ok' if ok else 'MISS'}", flush=True)


def median_time(fn: Callable[[], object], repeats: int) -> float:
    """Median wall seconds of ``repeats`` calls of ``fn``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
