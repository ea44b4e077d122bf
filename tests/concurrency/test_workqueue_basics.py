"""WorkQueue basics: collapsing, never processed twice at once, re-add requeues on done."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from tests.concurrency.queuekit import serve

from nodeconf.concurrency import FakeClock, WorkQueue

pytestmark = pytest.mark.concurrency


class HoldTracker:
    """Records which keys are being processed; notes any key held by two workers at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders: dict[str, str] = {}  # guarded by _lock
        self.violations: list[str] = []  # guarded by _lock
        self.processed: Counter[str] = Counter()  # guarded by _lock

    def begin(self, key: str) -> None:
        me = threading.current_thread().name
        with self._lock:
            if key in self._holders:
                self.violations.append(f"{key} held by {self._holders[key]} and {me}")
            self._holders[key] = me
            self.processed[key] += 1

    def end(self, key: str) -> None:
        with self._lock:
            self._holders.pop(key, None)


def test_adds_of_a_waiting_key_collapse() -> None:
    """A key added three times before any get is handed out once."""
    queue = WorkQueue[str](clock=FakeClock())
    for _ in range(3):
        assert queue.add("a") is True
    assert len(queue) == 1
    assert queue.get(timeout=0) == "a"
    with pytest.raises(TimeoutError):
        queue.get(timeout=0)


def test_distinct_keys_are_handed_out_in_order() -> None:
    """Distinct keys come out in the order they were first added."""
    queue = WorkQueue[str](clock=FakeClock())
    for key in ["c", "a", "b", "a"]:
        queue.add(key)
    assert [queue.get(timeout=0) for _ in range(3)] == ["c", "a", "b"]


def test_a_processing_key_is_not_handed_out_again() -> None:
    """A key re-added while processing is not handed out until done is called."""
    queue = WorkQueue[str](clock=FakeClock())
    queue.add("a")
    assert queue.get(timeout=0) == "a"
    queue.add("a")
    assert len(queue) == 0
    with pytest.raises(TimeoutError):
        queue.get(timeout=0)
    assert queue.in_flight() == 1


def test_re_add_during_processing_requeues_once_on_done() -> None:
    """Adds made while a key is processing make it ready exactly once more, when it is done."""
    queue = WorkQueue[str](clock=FakeClock())
    queue.add("a")
    key = queue.get(timeout=0)
    queue.add("a")
    queue.add("a")
    queue.done(key)
    assert len(queue) == 1
    assert queue.get(timeout=0) == "a"
    queue.done("a")
    with pytest.raises(TimeoutError):
        queue.get(timeout=0)


def test_done_without_a_re_add_does_not_requeue() -> None:
    """A key that was not re-added while processing is gone after done."""
    queue = WorkQueue[str](clock=FakeClock())
    queue.add("a")
    queue.done(queue.get(timeout=0))
    assert (len(queue), queue.in_flight()) == (0, 0)


def test_done_of_a_key_not_processing_is_an_error() -> None:
    """done for a key that was never handed out (or done twice) raises ValueError."""
    queue = WorkQueue[str](clock=FakeClock(), name="q")
    with pytest.raises(ValueError, match="not processing"):
        queue.done("a")
    queue.add("a")
    queue.done(queue.get(timeout=0))
    with pytest.raises(ValueError, match="'q'"):
        queue.done("a")


def test_add_wakes_a_blocked_worker(background) -> None:
    """A worker blocked in get receives a key added afterwards."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    worker = background(queue.get)
    assert clock.wait_for_waiters(1)
    queue.add("a")
    assert worker.result() == "a"


def test_get_times_out_on_the_queue_clock(background) -> None:
    """get(timeout) raises TimeoutError when that much time passes on the queue's clock."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    worker = background(queue.get, 2.0)
    assert clock.wait_for_waiters(1)
    clock.advance(1.0)
    assert clock.wait_for_parked(1)
    clock.advance(1.0)
    assert isinstance(worker.error(), TimeoutError)


def test_get_with_zero_timeout_does_not_block() -> None:
    """get(timeout=0) raises TimeoutError at once when nothing is ready."""
    queue = WorkQueue[str](clock=FakeClock())
    with pytest.raises(TimeoutError, match="nothing ready"):
        queue.get(timeout=0)


def test_get_times_out_on_the_real_clock() -> None:
    """With the default clock, get(timeout) gives up after that many real seconds."""
    queue = WorkQueue[str]()
    with pytest.raises(TimeoutError):
        queue.get(timeout=0.01)  # observing: nothing is ever added


def test_no_key_is_processed_by_two_workers_at_once(background) -> None:
    """Many workers and a hot key space: no key is ever held by two workers at the same time."""
    queue = WorkQueue[str]()
    tracker = HoldTracker()
    keys = [f"k{i}" for i in range(5)]

    def handle(key: str) -> None:
        tracker.begin(key)
        queue.add(key)  # re-add while processing: must wait for done
        tracker.end(key)

    def worker() -> None:
        serve(queue, handle)

    def producer() -> None:
        for i in range(2_000):
            queue.add(keys[i % len(keys)])

    workers = [background(worker) for _ in range(6)]
    producers = [background(producer) for _ in range(3)]
    for handle in producers:
        handle.result()
    # Every worker re-adds the key it holds, so the queue never settles by itself: stop it.
    report = queue.shut_down()
    for handle in workers:
        handle.result()
    assert tracker.violations == []
    assert sum(tracker.processed.values()) > len(keys)
    assert set(report.dropped) <= set(keys)


def test_stats_count_adds_collapses_retries_and_hand_outs() -> None:
    """stats() reports depth and the totals of adds, collapses, retries, hand-outs and dones."""
    queue = WorkQueue[str](clock=FakeClock())
    queue.add("a")
    queue.add("a")
    queue.add("b")
    queue.done(queue.get(timeout=0))
    queue.add_rate_limited("c")
    stats = queue.stats()
    assert (stats.depth, stats.in_flight, stats.delayed) == (1, 0, 1)
    assert (stats.adds_total, stats.collapsed_total, stats.retries_total) == (3, 1, 1)
    assert (stats.handed_out_total, stats.done_total, stats.refused_total) == (1, 1, 0)


def test_repr_names_the_queue_and_its_sizes() -> None:
    """repr shows the name, the state and the sizes, for logs."""
    queue = WorkQueue[str](clock=FakeClock(), name="sync")
    queue.add("a")
    assert repr(queue) == "WorkQueue(name='sync', state=running, ready=1, in_flight=0, delayed=0)"
