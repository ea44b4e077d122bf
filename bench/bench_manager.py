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
* **stop latency**: with an idle manager (target <= 5 ms), and with 1,000 listener deliveries
  queued: 1,000 listeners, a new revision computed by a worker held at a gate that opens as
  ``stop()`` begins, so stop drains 1,000 calls. (Source keys are not a backlog any more: a
  burst of notifications is one sync.) Floor: stopping a bare consumer thread (sentinel +
  join), with an empty queue and with 1,000 items queued.
* **idle wake-ups**: a started manager with one listener, after a change was delivered,
  doing nothing: context switches of its threads (voluntary + involuntary, from
  ``/proc/self/task/*/status``) over a window three times ``slow_listener_seconds`` (set
  short so that the window covers it). Target 0 (issue 5).

Real clock throughout (``MonotonicClock``); the GIL build, default settings unless noted.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from bench._report import Result, percentile
from nodeconf.concurrency.clock import DEFAULT_CLOCK
from nodeconf.manager import Change, ConfigManager, Settings, SourceState
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
    manager = ConfigManager(source)
    for _ in range(listeners):
        manager.add_listener(_listener(arrivals), with_change=True)
    manager.start(WAIT_SECONDS)
    texts = [_text(1), _text(2)]
    out: list[float] = []
    try:
        for i in range(samples + samples // 10):  # the first tenth warms up
            assert manager.wait_idle(WAIT_SECONDS)
            current = manager.current
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
    """A StaticSource whose ``snapshot`` can be held at a gate.

    Thread-safety: ``gate`` and ``held`` are Events.
    """

    def __init__(self, document: str) -> None:
        super().__init__(document)
        self.gate = threading.Event()
        self.gate.set()
        self.held = threading.Event()

    def snapshot(self) -> SourceState:
        if not self.gate.is_set():
            self.held.set()
            assert self.gate.wait(WAIT_SECONDS)
        return super().snapshot()


class _Counter:
    """A listener counting its calls (never called twice at once; read after ``stop()``)."""

    def __init__(self) -> None:
        self.calls = 0

    def sync_config(self, config: Any) -> None:
        self.calls += 1


def _stop_latency(queued: int) -> float:
    source = _GatedSource(_text(0))
    listeners = [_Counter() for _ in range(max(1, queued))]
    manager = ConfigManager(source, listeners)
    manager.start(WAIT_SECONDS)
    assert manager.wait_idle(WAIT_SECONDS)
    if queued:
        source.gate.clear()
        source.set_document(_text(1))  # a new revision, computed behind the gate
        assert source.held.wait(WAIT_SECONDS)  # a worker is inside snapshot(), at the gate
    started = time.perf_counter()
    if queued:
        source.gate.set()
    report = manager.stop(WAIT_SECONDS)
    elapsed = time.perf_counter() - started
    assert report.completed, report
    expected = 2 if queued else 1
    assert all(listener.calls == expected for listener in listeners), "a delivery was lost"
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
                f"stop() with {queued} queued deliveries, p50",
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


# ---------------------------------------------------------------------------------------------
# idle wake-ups


def _context_switches(threads: list[threading.Thread]) -> dict[str, int]:
    """Voluntary + involuntary context switches per thread (Linux ``/proc``)."""
    out: dict[str, int] = {}
    for thread in threads:
        with open(f"/proc/self/task/{thread.native_id}/status", encoding="ascii") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        voluntary, involuntary = (
            fields["voluntary_ctxt_switches"],
            fields["nonvoluntary_ctxt_switches"],
        )
        out[thread.name] = int(voluntary) + int(involuntary)
    return out


class _ParkingClock:
    """The real clock, counting the threads blocked in ``wait_until`` and with what deadline,
    so the bench can start its window once every worker is parked (no sleep to wait).

    Thread-safety: ``_cond`` guards ``_waits``.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waits: dict[object, float | None] = {}

    def now(self) -> float:
        return DEFAULT_CLOCK.now()

    def wall(self) -> float:
        return DEFAULT_CLOCK.wall()

    def wait(self, cond: threading.Condition, timeout: float | None) -> bool:
        return self.wait_until(cond, None if timeout is None else self.now() + timeout)

    def deadlines(self) -> list[float | None]:
        with self._cond:
            return list(self._waits.values())

    def wait_until(self, cond: threading.Condition, deadline: float | None) -> bool:
        token = object()
        with self._cond:
            self._waits[token] = deadline
            self._cond.notify_all()
        try:
            return DEFAULT_CLOCK.wait_until(cond, deadline)
        finally:
            with self._cond:
                del self._waits[token]
                self._cond.notify_all()

    def wait_parked(self, threads: int) -> bool:
        """True once ``threads`` threads wait (with a deadline or not: a stale deadline is
        what the window must catch)."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._waits) == threads, WAIT_SECONDS)


def _idle_results(quick: bool) -> list[Result]:
    if not os.path.isdir("/proc/self/task"):
        return []  # context switches are read from Linux /proc
    slow_seconds = 1.0 if quick else 10.0
    window = 3 * slow_seconds
    source = StaticSource(_text(0))
    before = set(threading.enumerate())
    settings = Settings(slow_listener_seconds=slow_seconds)
    clock = _ParkingClock()
    manager = ConfigManager(source, [lambda config: None], settings=settings, clock=clock)
    manager.start(WAIT_SECONDS)
    try:
        source.set_document(_text(1))
        assert manager.wait_idle(WAIT_SECONDS)
        threads = [t for t in threading.enumerate() if t not in before]
        assert clock.wait_parked(len(threads)), "the workers did not all go back to waiting"
        deadlines = clock.deadlines()
        # A wait is registered just before the thread blocks: let that last block happen
        # (well before the slow threshold, where a stale deadline would wake a thread).
        time.sleep(min(0.2, slow_seconds / 5))
        first = _context_switches(threads)
        time.sleep(window)  # the measurement window: nothing happens in it
        second = _context_switches(threads)
    finally:
        manager.stop(WAIT_SECONDS)
    per_thread = {name: second[name] - first[name] for name in second}
    total = sum(per_thread.values())
    return [
        Result(
            BENCH,
            f"idle context switches over {window:g} s (3x slow threshold)",
            total,
            "count",
            target="0",
            met=total == 0,
            extra={
                "threads": len(threads),
                "timed waits at start": sum(1 for d in deadlines if d is not None),
                "per thread": " ".join(f"{n}={c}" for n, c in sorted(per_thread.items())),
            },
        )
    ]


def run(quick: bool) -> list[Result]:
    """All manager benchmarks (``quick``: fewer samples, a 10,000-push storm)."""
    return (
        _latency_results(quick)
        + _storm_results(quick)
        + _stop_results(quick)
        + _idle_results(quick)
    )
