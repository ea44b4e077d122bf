"""Shared helpers for the benchmarks: timing, percentiles, and the report table."""

from __future__ import annotations

import json
import os
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

__all__ = [
    "Result",
    "percentile",
    "print_results",
    "round_ratios",
    "rss_mib",
    "time_per_call",
    "write_json",
]


@dataclass
class Result:
    """One measured quantity, with its baseline and target.

    ``value`` and ``baseline`` share ``unit``; ``ratio`` is value / baseline when a baseline
    exists. ``target`` is a human sentence (e.g. "<= 50 us", "<= 3x floor"); ``met`` says
    whether it was met (None when not judged).
    """

    bench: str
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    met: bool | None = None
    extra: dict[str, float | str] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        assert self.baseline is not None
        return self.value / self.baseline


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank on sorted samples."""
    data = sorted(samples)
    if not data:
        return float("nan")
    k = max(0, min(len(data) - 1, round(q / 100 * (len(data) - 1))))
    return data[k]


def round_ratios(ours: Sequence[Sequence[float]], floor: Sequence[Sequence[float]]) -> str:
    """Each round's p50 ratio ``ours / floor`` (rounds paired by index), e.g. "1.28x 1.41x".

    Shown next to a pooled ratio so that a reader can see how far one run's noise moves it.
    """
    return " ".join(
        f"{percentile(a, 50) / percentile(b, 50):.2f}x" for a, b in zip(ours, floor, strict=True)
    )


def time_per_call(fn: Callable[[], object], *, min_seconds: float = 0.3, repeat: int = 5) -> float:
    """Median seconds per call of ``fn`` over ``repeat`` rounds of at least ``min_seconds``."""
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_seconds / 10:
            break
        n *= 2
    per_round = max(1, int(n * (min_seconds / max(dt, 1e-9))))
    rounds = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(per_round):
            fn()
        rounds.append((time.perf_counter() - t0) / per_round)
    return statistics.median(rounds)


def rss_mib() -> float:
    """Peak resident set size of this process, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_results(results: Sequence[Result]) -> None:
    """Print results as an aligned table."""
    for r in results:
        ratio = f"{r.ratio:6.2f}x {r.baseline_name}" if r.ratio is not None else ""
        verdict = {True: "met", False: "MISSED", None: ""}[r.met]
        print(
            f"{r.bench:<10} {r.name:<44} {r.value:>12.4g} {r.unit:<6} {ratio:<28} "
            f"{r.target:<22} {verdict}"
        )
        for k, v in r.extra.items():
            print(f"{'':<10}   {k}: {v}")


def write_json(results: Sequence[Result], directory: str = ".bench-results") -> str:
    """Write results to ``directory/<bench>.json``; return the path."""
    os.makedirs(directory, exist_ok=True)
    name = results[0].bench if results else "empty"
    path = os.path.join(directory, f"{name}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump([asdict(r) | {"ratio": r.ratio} for r in results], f, indent=2)
    return path
