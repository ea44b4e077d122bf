"""WorkQueue delayed and rate-limited adds, on a fake clock: no sleeps anywhere."""

from __future__ import annotations

import threading

import pytest

from nodeconf.concurrency import (
    FakeClock,
    ItemExponentialFailureRateLimiter,
    WorkQueue,
)

pytestmark = pytest.mark.concurrency


def ready_now(queue: WorkQueue[str]) -> list[str]:
    """Take (and finish) every key ready right now, in order."""
    keys = []
    while True:
        try:
            key = queue.get(timeout=0)
        except TimeoutError:
            return keys
        keys.append(key)
        queue.done(key)


def test_delayed_key_is_not_ready_before_its_due_time() -> None:
    """add_after keeps the key out of reach until the clock reaches its due time."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    queue.add_after("a", 5.0)
    assert (len(queue), queue.delayed()) == (0, 1)
    clock.advance(4.5)
    assert ready_now(queue) == []
    clock.advance(0.5)
    assert ready_now(queue) == ["a"]
    assert queue.delayed() == 0


def test_blocked_worker_receives_a_delayed_key_when_it_is_due(background) -> None:
    """A worker parked in get wakes and takes a delayed key when the clock reaches its due."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    queue.add_after("a", 3.0)
    worker = background(queue.get)
    assert clock.wait_for_waiters(1)
    clock.advance(3.0)
    assert worker.result() == "a"


def test_blocked_worker_follows_an_earlier_due_time(background) -> None:
    """A worker waiting for a late key also wakes for a key added later with an earlier due."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    queue.add_after("late", 10.0)
    worker = background(queue.get)
    assert clock.wait_for_waiters(1)
    queue.add_after("soon", 1.0)
    assert clock.wait_for_waiters(1)
    clock.advance(1.0)
    assert worker.result() == "soon"


def test_earliest_due_time_wins() -> None:
    """Two delayed adds of one key: it becomes ready at the earlier due time, once."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    queue.add_after("a", 10.0)
    queue.add_after("a", 3.0)
    queue.add_after("a", 7.0)
    assert queue.delayed() == 1
    clock.advance(3.0)
    assert ready_now(queue) == ["a"]
    clock.advance(10.0)
    assert ready_now(queue) == []


def test_plain_add_supersedes_a_delayed_add() -> None:
    """add(key) makes a delayed key ready now and cancels its later due time."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    queue.add_after("a", 5.0)
    queue.add("a")
    assert queue.delayed() == 0
    assert ready_now(queue) == ["a"]
    clock.advance(5.0)
    assert ready_now(queue) == []


def test_delayed_add_of_a_queued_key_is_absorbed() -> None:
    """add_after of a key already waiting to be handed out changes nothing."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    queue.add("a")
    queue.add_after("a", 5.0)
    assert queue.delayed() == 0
    assert ready_now(queue) == ["a"]
    clock.advance(5.0)
    assert ready_now(queue) == []


def test_non_positive_delay_adds_now() -> None:
    """add_after with a delay <= 0 is a plain add."""
    queue = WorkQueue[str](clock=FakeClock())
    queue.add_after("a", 0.0)
    queue.add_after("b", -1.0)
    assert ready_now(queue) == ["a", "b"]


def test_nan_delay_is_an_error() -> None:
    """add_after with a NaN delay raises ValueError instead of corrupting the schedule."""
    queue = WorkQueue[str](clock=FakeClock())
    with pytest.raises(ValueError, match="NaN"):
        queue.add_after("a", float("nan"))


def test_delayed_key_due_while_processing_requeues_on_done() -> None:
    """A delayed key that falls due while it is processing is handed out again after done."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    queue.add("a")
    key = queue.get(timeout=0)
    queue.add_after("a", 1.0)
    clock.advance(1.0)
    assert len(queue) == 0  # due, but processing: waits for done
    queue.done(key)
    assert ready_now(queue) == ["a"]


def test_rate_limited_adds_back_off_exponentially() -> None:
    """Successive rate-limited adds of a failing key are due after 0.5, 1, 2, 4 seconds."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    for delay in [0.5, 1.0, 2.0, 4.0]:
        queue.add_rate_limited("a")
        clock.advance(delay / 2)
        assert ready_now(queue) == []
        clock.advance(delay / 2)
        assert ready_now(queue) == ["a"]
    assert queue.num_requeues("a") == 4


def test_rate_limited_backoff_is_capped() -> None:
    """The default limiter never delays a key more than 1000 seconds."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock)
    for _ in range(11):  # 0.5 .. 512
        queue.add_rate_limited("a")
        clock.advance(1000.0)
        assert ready_now(queue) == ["a"]
    queue.add_rate_limited("a")  # would be 1024 without the cap
    clock.advance(999.0)
    assert ready_now(queue) == []
    clock.advance(1.0)
    assert ready_now(queue) == ["a"]


def test_forget_resets_a_keys_backoff() -> None:
    """After forget, the next rate-limited add of the key waits the base delay again."""
    clock = FakeClock()
    queue = WorkQueue[str](clock=clock, rate_limiter=ItemExponentialFailureRateLimiter(1.0, 60.0))
    for _ in range(3):
        queue.add_rate_limited("a")
        clock.advance(60.0)
        ready_now(queue)
    queue.forget("a")
    assert queue.num_requeues("a") == 0
    queue.add_rate_limited("a")
    clock.advance(1.0)
    assert ready_now(queue) == ["a"]


def test_rate_limited_adds_respect_the_shared_bucket() -> None:
    """Past the bucket's burst of 100, retries of fresh keys wait for tokens (10 per second)."""
    clock = FakeClock()
    queue = WorkQueue[int](clock=clock)
    for key in range(100):
        queue.add_rate_limited(key)
    queue.add_rate_limited(100)  # exponential says 0.5 s; the empty bucket says 0.1 s
    queue.add_rate_limited(101)
    queue.add_rate_limited(102)
    queue.add_rate_limited(103)
    queue.add_rate_limited(104)
    queue.add_rate_limited(105)  # bucket: 0.6 s
    clock.advance(0.5)
    assert len(queue) == 105
    clock.advance(0.25)
    assert len(queue) == 106


def test_the_queue_starts_no_thread_of_its_own() -> None:
    """Delayed keys need no timer thread: the queue starts none, get promotes due keys."""
    clock = FakeClock()
    # Compare identities, not counts: under pytest-run-parallel other copies of this test
    # run on threads that may end meanwhile (but none starts during the test body).
    before = set(threading.enumerate())
    queue = WorkQueue[str](clock=clock)
    queue.add_after("a", 1.0)
    queue.add_rate_limited("b")
    assert set(threading.enumerate()) - before == set()
    clock.advance(1.0)
    assert ready_now(queue) == ["b", "a"]


def test_worker_parked_for_a_late_key_wakes_for_an_earlier_one_on_the_real_clock(
    background,
) -> None:
    """On the real clock, a worker parked until a key due in an hour takes a key added later
    with an earlier due time when that one falls due (a FakeClock advance would wake it anyway,
    so only a real wait shows the queue's own wake-up)."""
    queue = WorkQueue[str]()
    queue.add_after("late", 3600.0)
    worker = background(queue.get)
    # observing: give the worker time to park until the late key's due time
    assert worker.finished.wait(0.05) is False
    queue.add_after("soon", 0.01)
    assert worker.result() == "soon"
    queue.done("soon")
    assert [key for key, _ in queue.shut_down().pending_retries] == ["late"]
