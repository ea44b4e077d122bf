"""WorkQueue at the edges: huge, infinite and NaN times, odd limiters, fleeting idle moments."""

from __future__ import annotations

import math
import threading
from collections.abc import Hashable

import pytest

from nodeconf.concurrency import DEFAULT_CLOCK, FakeClock, MonotonicClock, QueueState, WorkQueue

pytestmark = pytest.mark.concurrency


class NaNRateLimiter:
    """A (broken) rate limiter that answers NaN: the queue must refuse it, not store it."""

    def when(self, key: Hashable) -> float:
        return math.nan

    def forget(self, key: Hashable) -> None:
        pass

    def num_requeues(self, key: Hashable) -> int:
        return 0


class GateClock:
    """The real clock, except that the first wait lets go of the condition until ``gate`` is
    set, then reports a wake-up: a stand-in for "notified, but another thread took the lock
    first", which any Condition.wait allows. Later waits are plain MonotonicClock waits.

    Thread-safety: the events are thread-safe; ``_used`` is only touched by the waiting thread.
    """

    def __init__(self) -> None:
        self._real = MonotonicClock()
        self.parked = threading.Event()
        self.gate = threading.Event()
        self._used = False

    def now(self) -> float:
        return self._real.now()

    def wall(self) -> float:
        return self._real.wall()

    def wait(self, cond: threading.Condition, timeout: float | None) -> bool:
        return self.wait_until(cond, None if timeout is None else self.now() + timeout)

    def wait_until(self, cond: threading.Condition, deadline: float | None) -> bool:
        if self._used:
            return self._real.wait_until(cond, deadline)
        self._used = True
        cond.release()
        try:
            self.parked.set()
            assert self.gate.wait(10.0), "the test never opened the gate"
        finally:
            cond.acquire()
        return True


def test_get_on_the_real_clock_survives_a_delay_beyond_timeout_max(background) -> None:
    """A worker blocked in get while the only delayed key is decades away waits (no
    OverflowError) and still receives a key added later."""
    queue = WorkQueue[str]()
    queue.add_after("far", 1e10)
    worker = background(queue.get)
    # observing: give the worker a moment to reach its wait (it must not fail there)
    assert worker.finished.wait(0.05) is False
    queue.add("now")
    assert worker.result() == "now"
    queue.done("now")
    assert queue.shut_down().pending_retries[0][0] == "far"


def test_infinite_timeouts_mean_no_bound_on_the_real_clock(background) -> None:
    """get(timeout=inf) and wait_idle(timeout=inf) wait until there is something to return."""
    queue = WorkQueue[str]()
    worker = background(queue.get, math.inf)
    # observing: the worker must be waiting, not failing, before the add
    assert worker.finished.wait(0.05) is False
    queue.add("a")
    assert worker.result() == "a"
    idler = background(queue.wait_idle, math.inf)
    assert idler.finished.wait(0.05) is False  # observing: "a" is still processing
    queue.done("a")
    assert idler.result() is True


@pytest.mark.parametrize(
    "call",
    [
        lambda q: q.get(timeout=math.nan),
        lambda q: q.wait_idle(timeout=math.nan),
        lambda q: q.shut_down_with_drain(timeout=math.nan),
    ],
    ids=["get", "wait_idle", "shut_down_with_drain"],
)
def test_nan_timeouts_are_refused_before_anything_changes(call) -> None:
    """A NaN timeout is a ValueError, raised before the call takes a key or starts a drain."""
    queue = WorkQueue[str](clock=FakeClock())
    queue.add("a")
    with pytest.raises(ValueError, match="NaN"):
        call(queue)
    assert (queue.state, len(queue), queue.in_flight()) == (QueueState.RUNNING, 1, 0)


def test_a_nan_delay_from_the_rate_limiter_is_refused() -> None:
    """add_rate_limited refuses a NaN delay from its limiter instead of corrupting the
    schedule of every other delayed key."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock, rate_limiter=NaNRateLimiter())
    queue.add_after("b", 1.0)
    with pytest.raises(ValueError, match="NaN"):
        queue.add_rate_limited("a")
    assert queue.delayed() == 1
    clock.advance(1.0)
    assert queue.get(timeout=0) == "b"


def test_infinite_delay_is_a_key_that_never_falls_due() -> None:
    """add_after(key, inf) keeps the key as a pending retry forever; other keys are unaffected."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    queue.add_after("never", math.inf)
    queue.add_after("soon", 1.0)
    clock.advance(1e12)
    assert queue.get(timeout=0) == "soon"
    queue.done("soon")
    with pytest.raises(TimeoutError):
        queue.get(timeout=0)
    assert [key for key, _ in queue.shut_down().pending_retries] == ["never"]


def test_wait_idle_sees_an_idle_moment_that_ended_before_it_woke(background) -> None:
    """wait_idle returns True for an idle moment even if new work arrived before the waiting
    thread could look again."""
    queue = WorkQueue[str](clock=FakeClock())
    queue.add("a")
    key = queue.get(timeout=0)
    gate_clock = GateClock()
    idler = background(lambda: queue.wait_idle(0.5, timeout_clock=gate_clock))
    assert gate_clock.parked.wait(10.0)
    queue.done(key)  # idle for a moment...
    queue.add("b")  # ...and busy again before the idler runs
    gate_clock.gate.set()
    assert idler.result() is True


def test_a_due_delayed_key_is_not_an_idle_moment(background) -> None:
    """The done of the last key is no idle moment while a delayed key is already due: that key
    is work (wait_idle keeps waiting, here until its timeout)."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    queue.add_after("retry", 1.0)
    queue.add("a")
    key = queue.get(timeout=0)
    gate_clock = GateClock()
    # observing: a short real-time bound, expected to pass with "retry" still queued
    idler = background(lambda: queue.wait_idle(0.05, timeout_clock=gate_clock))
    assert gate_clock.parked.wait(10.0)
    clock.advance(1.0)  # "retry" falls due while the idler waits; nobody has looked yet
    queue.done(key)
    gate_clock.gate.set()
    assert idler.result() is False
    assert queue.get(timeout=0) == "retry"
    queue.done("retry")
    assert queue.wait_idle(0, timeout_clock=DEFAULT_CLOCK) is True
