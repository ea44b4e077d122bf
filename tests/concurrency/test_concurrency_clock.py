"""Clocks: the real one bounds condition waits; the fake one moves only when told to."""

from __future__ import annotations

import math
import threading
import time

import pytest
from tests.concurrency.clockkit import wait_out

from nodeconf.concurrency import (
    DEFAULT_CLOCK,
    Clock,
    FakeClock,
    MonotonicClock,
    default_clock,
    seconds_left,
)

pytestmark = pytest.mark.concurrency


def test_default_clock_is_the_monotonic_clock() -> None:
    """Components that get no clock use the real monotonic clock."""
    assert default_clock() is DEFAULT_CLOCK
    assert isinstance(DEFAULT_CLOCK, MonotonicClock)
    assert isinstance(DEFAULT_CLOCK, Clock)
    assert isinstance(FakeClock(), Clock)


def test_monotonic_wait_returns_false_when_the_timeout_elapses() -> None:
    """MonotonicClock.wait reports an elapsed timeout as False."""
    cond = threading.Condition()
    with cond:
        assert MonotonicClock().wait(cond, 0.01) is False  # observing: nobody notifies


def test_monotonic_wait_until_a_past_deadline_returns_at_once() -> None:
    """MonotonicClock.wait_until with a deadline already passed returns False without waiting."""
    clock = MonotonicClock()
    cond = threading.Condition()
    with cond:
        assert clock.wait_until(cond, clock.now() - 1.0) is False
        assert clock.wait(cond, 0) is False


def test_monotonic_wait_returns_true_when_notified(background) -> None:
    """MonotonicClock.wait returns True when another thread notifies the condition."""
    cond = threading.Condition()
    flag: list[bool] = []

    def waiter() -> bool:
        with cond:
            flag.append(True)
            cond.notify_all()
            return MonotonicClock().wait(cond, 30.0)

    with cond:
        handle = background(waiter)
        assert cond.wait_for(lambda: flag, 10.0)
        cond.notify_all()  # the waiter is inside wait(): we hold cond only because it released it
    assert handle.result() is True


def test_fake_clock_starts_where_told_and_moves_only_on_advance_or_set() -> None:
    """FakeClock.now is the start time until advance/set move it forward."""
    clock = FakeClock(start=100.0, wall_start=1_000.0)
    assert clock.now() == 100.0
    clock.advance(2.5)
    assert clock.now() == 102.5
    assert clock.wall() == 1_002.5
    clock.set(110.0)
    assert clock.now() == 110.0


def test_fake_clock_refuses_to_go_backwards() -> None:
    """advance with a negative amount and set to an earlier time are errors."""
    clock = FakeClock(start=5.0)
    with pytest.raises(ValueError, match="seconds must be >= 0"):
        clock.advance(-1.0)
    with pytest.raises(ValueError, match="cannot go backwards"):
        clock.set(4.0)
    assert clock.now() == 5.0


def test_fake_wait_times_out_when_advanced_to_the_deadline(background) -> None:
    """A FakeClock wait returns False once advance reaches its deadline, not before."""
    clock = FakeClock()
    cond = threading.Condition()

    def waiter() -> list[bool]:
        results = []
        with cond:
            while True:
                timed_out = not clock.wait_until(cond, 5.0)
                results.append(timed_out)
                if timed_out:
                    return results

    handle = background(waiter)
    assert clock.wait_for_waiters(1)
    clock.advance(4.0)  # wakes the waiter, which finds its deadline not reached
    assert clock.wait_for_parked(1)  # and waits again
    clock.advance(1.0)
    results = handle.result()
    assert results[-1] is True
    assert clock.now() == 5.0


def test_fake_wait_returns_true_when_notified(background) -> None:
    """A FakeClock wait woken by a notify (no time passing) returns True."""
    clock = FakeClock()
    cond = threading.Condition()

    def waiter() -> bool:
        with cond:
            return clock.wait(cond, 60.0)

    handle = background(waiter)
    assert clock.wait_for_waiters(1)
    with cond:
        cond.notify_all()
    assert handle.result() is True
    assert clock.now() == 0.0


def test_fake_wait_until_a_reached_deadline_returns_at_once() -> None:
    """wait_until with a deadline the fake clock has reached returns False without blocking."""
    clock = FakeClock(start=10.0)
    cond = threading.Condition()
    with cond:
        assert clock.wait_until(cond, 10.0) is False
        assert clock.wait(cond, 0.0) is False
    assert clock.waiters() == 0


def test_fake_wait_without_timeout_never_times_out(background) -> None:
    """A FakeClock wait with no timeout never reports a timeout, however far time advances."""
    clock = FakeClock()
    cond = threading.Condition()
    stop: list[bool] = []

    def waiter() -> list[bool]:
        results = []
        with cond:
            while not stop:
                results.append(clock.wait(cond, None))
        return results

    handle = background(waiter)
    assert clock.wait_for_waiters(1)
    clock.advance(1e9)
    assert clock.wait_for_parked(1)
    with cond:
        stop.append(True)
        cond.notify_all()
    results = handle.result()
    assert results
    assert all(results)


def test_waiters_counts_threads_parked_on_the_clock(background) -> None:
    """waiters() is the number of threads blocked in wait/wait_until, 0 once they leave."""
    clock = FakeClock()
    cond = threading.Condition()

    handles = [background(wait_out, clock, cond, 1.0) for _ in range(3)]
    assert clock.wait_for_waiters(3)
    assert clock.waiters() == 3
    clock.advance(1.0)
    for handle in handles:
        handle.result()
    assert clock.waiters() == 0


def test_wait_for_waiters_returns_false_when_nobody_comes() -> None:
    """wait_for_waiters reports False when its (real-time) bound passes with too few waiters."""
    assert FakeClock().wait_for_waiters(1, timeout=0.01) is False  # observing: nobody waits


@pytest.mark.parametrize("timeout", [1e10, math.inf], ids=["past-TIMEOUT_MAX", "infinite"])
def test_monotonic_wait_longer_than_timeout_max_waits_for_a_notify(background, timeout) -> None:
    """MonotonicClock waits longer than threading.TIMEOUT_MAX (or infinite) instead of raising
    OverflowError, and a notify still ends them."""
    clock = MonotonicClock()
    cond = threading.Condition()
    parked = [threading.Event(), threading.Event()]

    def waiter() -> tuple[bool, bool]:
        with cond:
            # We hold cond until the wait releases it, so each notify below lands in the wait.
            parked[0].set()
            first = clock.wait(cond, timeout)
            parked[1].set()
            second = clock.wait_until(cond, clock.now() + timeout)
            return first, second

    handle = background(waiter)
    for event in parked:
        assert event.wait(10.0)
        with cond:
            cond.notify_all()
    assert handle.result() == (True, True)


@pytest.mark.parametrize("clock", [MonotonicClock(), FakeClock()], ids=repr)
def test_nan_timeouts_and_deadlines_are_errors(clock: Clock) -> None:
    """A NaN timeout or deadline is a ValueError on every clock, never a spin or a hang."""
    cond = threading.Condition()
    with cond:
        with pytest.raises(ValueError, match="NaN"):
            clock.wait(cond, math.nan)
        with pytest.raises(ValueError, match="NaN"):
            clock.wait_until(cond, math.nan)


def test_fake_clock_cannot_be_set_to_nan() -> None:
    """FakeClock.set(NaN) is an error and leaves the time unchanged."""
    clock = FakeClock(start=3.0)
    with pytest.raises(ValueError, match="NaN"):
        clock.set(math.nan)
    assert clock.now() == 3.0


def test_wait_for_parked_after_an_advance_is_not_satisfied_by_the_woken_waiter(
    background,
) -> None:
    """An advance takes the waiters it wakes out of the parked count; they count again once
    they wait again, having seen the new time."""
    clock = FakeClock()
    cond = threading.Condition()
    wakes: list[float] = []  # guarded by cond

    def waiter() -> None:
        with cond:
            while clock.wait_until(cond, 10.0):
                wakes.append(clock.now())

    handle = background(waiter)
    assert clock.wait_for_waiters(1)
    clock.advance(1.0)
    assert clock.wait_for_parked(1)  # satisfied only once the waiter has parked again...
    with cond:
        assert wakes == [1.0]  # ...which it does after it has seen the new time
    clock.advance(9.0)
    handle.result()
    assert clock.waiters() == 0


def test_parked_and_waiters_count_the_same_threads_until_time_moves(background) -> None:
    """Between time moves, parked() and waiters() agree; both drop to 0 once waiters leave."""
    clock = FakeClock()
    cond = threading.Condition()
    assert (clock.parked(), clock.waiters()) == (0, 0)

    handles = [background(wait_out, clock, cond, 1.0) for _ in range(2)]
    assert clock.wait_for_parked(2)
    assert (clock.parked(), clock.waiters()) == (2, 2)
    clock.advance(1.0)
    for handle in handles:
        handle.result()
    assert (clock.parked(), clock.waiters()) == (0, 0)


def test_seconds_left_counts_down_to_zero_and_keeps_no_deadline() -> None:
    """No deadline stays no deadline; a past deadline leaves 0, never less; a future one
    leaves at most the time to it."""
    assert seconds_left(None) is None
    now = time.monotonic()
    assert seconds_left(now - 5.0) == 0.0
    left = seconds_left(now + 60.0)
    assert left is not None
    assert 0.0 < left <= 60.0
