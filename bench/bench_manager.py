"""The manager (issue 3): push -> listeners, a push storm, and stop latency.

Every figure is next to a floor measured in the same run on the same machine:

* **push -> all listeners called** (1 and 50 listeners, p50 and p99): the clock starts just
  before ``StaticSource.set_document`` and stops when the last listener is entered with the
  new revision (its own ``perf_counter`` reading). Each push alternates between two documents,
  so each is a new revision. Floor: a bare ``queue.Queue`` hand-off to a consumer thread (the
  least any design with a background worker pays).
* **storm**: 100,000 pushes from 4 threads with 10 listeners: listener calls made, process CPU
  seconds, and the time from the last push returning to the last listener holding the final
  config. Floor: the same 100,000 items put into a bare ``queue.Queue`` from 4 threads and
  consumed by one thread (its CPU, and last put -> consumer done).
* **stop latency**: with an idle manager (target <= 5 ms), and with 1,000 distinct source
  keys queued behind a worker held at a gate that opens as ``stop()`` begins. Floor: stopping
  a bare consumer thread (sentinel + join), with an empty queue and with 1,000 items queued.

Real clock throughout (``MonotonicClock``); the GIL build, default settings.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from bench._report import Result, percentile
from nodeconf.manager import Change, ConfigManager, SourceContext, SourceState
from nodeconf.model.colocation import COLOCATION
from nodeconf.testing import StaticSource

__all__ = ["run"]

BENCH = "manager"
WAIT_SECONDS = 30.0  # bounds a failure only


def _text(n: int) -> str:
    return json.dumps({"globalConfig": {"networkQosConfig": {"qosCheckInterval": n + 1}}})


# ---------------------------------------------------------------------------------------------
# push -> all listeners called


class _Arrivals:
    """Counts listeners entered with the expected revision; remembers the last arrival time.

    Thread-safety: ``_cond`` guards every field.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._revision = 0
        self._expected = 0
        self._seen = 0
        self.last_at = 0.0

    def expect(self, revision: int, listeners: int) -> None:
        with self._cond:
            self._revision, self._expected, self._seen = revision, listeners, 0

    def arrive(self, revision: int) -> None:
        now = time.perf_counter()
        with self._cond:
            if revision == self._revision:
                self._seen += 1
                self.last_at = now
                if self._seen == self._expected:
                    self._cond.notify_all()

    def wait(self) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._seen >= self._expected, WAIT_SECONDS)


def _listener(arrivals: _Arrivals) -> Callable[[Any, Change], None]:
    def listener(config: Any, change: Change) -> None:
        arrivals.arrive(change.revision)

    return listener


def _push_latencies(listeners: int, samples: int) -> list[float]:
    arrivals = _Arrivals()
    source = StaticSource(_text(0))
    manager = ConfigManager(source, [_listener(arrivals) for _ in range(listeners)])
    manager.start(WAIT_SECONDS)
    texts = [_text(1), _text(2)]
    out: list[float] = []
    try:
        for i in range(samples + samples // 10):  # the first tenth warms up
            assert manager.wait_idle(WAIT_SECONDS)
            current = manager.current()
            assert current is not None
            arrivals.expect(current.number + 1, listeners)
            started = time.perf_counter()
            source.set_document(texts[i % 2])
            assert arrivals.wait(), "listeners were not all called"
            if i >= samples // 10:
                out.append(arrivals.last_at - started)
    finally:
        manager.stop(WAIT_SECONDS)
    return out


def _queue_handoff_latencies(samples: int) -> list[float]:
    items: queue.Queue[float | None] = queue.Queue()
    arrived = threading.Event()
    stamp: list[float] = [0.0]

    def consumer() -> None:
        while items.get() is not None:
            stamp[0] = time.perf_counter()
            arrived.set()

    thread = threading.Thread(target=consumer)
    thread.start()
    out: list[float] = []
    try:
        for i in range(samples + samples // 10):
            arrived.clear()
            started = time.perf_counter()
            items.put(started)
            assert arrived.wait(WAIT_SECONDS)
            if i >= samples // 10:
                out.append(stamp[0] - started)
    finally:
        items.put(None)
        thread.join()
    return out


def _latency_results(quick: bool) -> list[Result]:
    samples = 200 if quick else 2000
    floor = _queue_handoff_latencies(samples)
    floor_p50, floor_p99 = percentile(floor, 50) * 1e6, percentile(floor, 99) * 1e6
    results = []
    for listeners in (1, 50):
        lat = _push_latencies(listeners, samples)
        p50, p99 = percentile(lat, 50) * 1e6, percentile(lat, 99) * 1e6
        results.append(
            Result(
                BENCH,
                f"push -> {listeners} listener(s) called, p50",
                p50,
                "us",
                baseline=floor_p50,
                baseline_name="queue hand-off p50",
            )
        )
        results.append(
            Result(
                BENCH,
                f"push -> {listeners} listener(s) called, p99",
                p99,
                "us",
                baseline=floor_p99,
                baseline_name="queue hand-off p99",
                target="<= 1 ms",
                met=p99 <= 1000.0,
                extra={"samples": len(lat), "max_us": round(max(lat) * 1e6, 1)},
            )
        )
    return results


# ---------------------------------------------------------------------------------------------
# storm


class _Holder:
    """A listener remembering its last config and when it got it. ``_cond`` guards fields."""

    def __init__(self, cond: threading.Condition) -> None:
        self._cond = cond
        self.last: Any = None
        self.at = 0.0
        self.calls = 0

    def sync_config(self, config: Any) -> None:
        now = time.perf_counter()
        with self._cond:
            self.last, self.at = config, now
            self.calls += 1
            self._cond.notify_all()


def _storm(threads: int, pushes: int, listeners: int) -> tuple[int, float, float]:
    cond = threading.Condition()
    holders = [_Holder(cond) for _ in range(listeners)]
    texts = [_text(n) for n in range(64)]
    source = StaticSource(texts[0])
    manager = ConfigManager(source, holders)
    manager.start(WAIT_SECONDS)
    ends = [0.0] * threads
    per_thread = pushes // threads

    def pusher(index: int) -> None:
        for i in range(per_thread):
            source.set_document(texts[(index * 17 + i) % 64])
        ends[index] = time.perf_counter()

    try:
        cpu_started = time.process_time()
        workers = [threading.Thread(target=pusher, args=(k,)) for k in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        final_text = source.document
        assert isinstance(final_text, str)
        final = COLOCATION.evaluate(COLOCATION.parse(final_text), {}).config
        with cond:
            assert cond.wait_for(lambda: all(h.last == final for h in holders), WAIT_SECONDS)
            delivered_at = max(h.at for h in holders)
            calls = sum(h.calls for h in holders)
        cpu = time.process_time() - cpu_started
    finally:
        manager.stop(WAIT_SECONDS)
    return calls, cpu, max(0.0, delivered_at - max(ends))


def _queue_storm(threads: int, pushes: int) -> tuple[float, float]:
    items: queue.Queue[int | None] = queue.Queue()
    done_at = [0.0]
    per_thread = pushes // threads
    ends = [0.0] * threads

    def consumer() -> None:
        while items.get() is not None:
            pass
        done_at[0] = time.perf_counter()

    def producer(index: int) -> None:
        for i in range(per_thread):
            items.put(i)
        ends[index] = time.perf_counter()

    cpu_started = time.process_time()
    drain = threading.Thread(target=consumer)
    drain.start()
    workers = [threading.Thread(target=producer, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    items.put(None)
    drain.join()
    return time.process_time() - cpu_started, max(0.0, done_at[0] - max(ends))


def _storm_results(quick: bool) -> list[Result]:
    pushes = 10_000 if quick else 100_000
    floor_cpu, floor_tail = _queue_storm(4, pushes)
    calls, cpu, tail = _storm(4, pushes, 10)
    return [
        Result(
            BENCH,
            f"storm {pushes} pushes/4 threads: last push -> final",
            tail * 1e3,
            "ms",
            baseline=floor_tail * 1e3,
            baseline_name="queue storm drain tail",
            target="<= 50 ms",
            met=tail * 1e3 <= 50.0,
        ),
        Result(
            BENCH,
            f"storm {pushes} pushes/4 threads: CPU",
            cpu,
            "s",
            baseline=floor_cpu,
            baseline_name="queue storm CPU",
            extra={"listener_calls": calls, "listeners": 10},
        ),
    ]


# ---------------------------------------------------------------------------------------------
# stop latency


class _GatedSource(StaticSource):
    """A StaticSource whose ``snapshot`` can be held at a gate, and which can notify many keys.

    Thread-safety: ``gate`` is an Event; ``_context`` is written by ``start`` before use.
    """

    def __init__(self, document: str) -> None:
        super().__init__(document)
        self.gate = threading.Event()
        self.gate.set()
        self.held = threading.Event()
        self.context: SourceContext | None = None

    def start(self, context: SourceContext) -> None:
        super().start(context)
        self.context = context

    def snapshot(self) -> SourceState:
        if not self.gate.is_set():
            self.held.set()
            assert self.gate.wait(WAIT_SECONDS)
        return super().snapshot()


def _stop_latency(queued: int) -> float:
    source = _GatedSource(_text(0))
    manager = ConfigManager(source, [lambda config: None])
    manager.start(WAIT_SECONDS)
    assert manager.wait_idle(WAIT_SECONDS)
    if queued:
        assert source.context is not None
        source.gate.clear()
        source.context.notify("hold")
        assert source.held.wait(WAIT_SECONDS)  # the worker is inside snapshot(), at the gate
        for i in range(queued):
            source.context.notify(f"key-{i}")
    started = time.perf_counter()
    if queued:
        source.gate.set()
    report = manager.stop(WAIT_SECONDS)
    elapsed = time.perf_counter() - started
    assert report.completed, report
    return elapsed


def _bare_stop_latency(queued: int) -> float:
    items: queue.Queue[int | None] = queue.Queue()
    gate = threading.Event()

    def consumer() -> None:
        gate.wait()
        while items.get() is not None:
            pass

    thread = threading.Thread(target=consumer)
    thread.start()
    for i in range(queued):
        items.put(i)
    started = time.perf_counter()
    gate.set()
    items.put(None)
    thread.join()
    return time.perf_counter() - started


def _stop_results(quick: bool) -> list[Result]:
    runs = 5 if quick else 30
    results = []
    for queued, target in ((0, 5.0), (1000, None)):
        ours = [_stop_latency(queued) for _ in range(runs)]
        floor = [_bare_stop_latency(queued) for _ in range(runs)]
        value = percentile(ours, 50) * 1e3
        results.append(
            Result(
                BENCH,
                f"stop() with {queued} queued keys, p50",
                value,
                "ms",
                baseline=percentile(floor, 50) * 1e3,
                baseline_name="bare consumer stop p50",
                target=f"<= {target:g} ms" if target is not None else "",
                met=value <= target if target is not None else None,
                extra={"runs": runs, "max_ms": round(max(ours) * 1e3, 3)},
            )
        )
    return results


def run(quick: bool) -> list[Result]:
    """All manager benchmarks (``quick``: fewer samples, a 10,000-push storm)."""
    return _latency_results(quick) + _storm_results(quick) + _stop_results(quick)
