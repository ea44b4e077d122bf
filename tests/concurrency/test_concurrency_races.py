"""Races reproduced on purpose: wake-ups racing with waiters that are about to park.

Each test repeats a tiny scenario many times without waiting for the other thread to be
parked first, so the racing step lands at every point of the waiter's path. A lost wake-up
shows as a thread that never finishes: each join is bounded, so the test fails instead of
hanging, and the threads are daemons so a failed run can still exit.
"""

from __future__ import annotations

import threading

import pytest
from tests.concurrency.clockkit import wait_out

from nodeconf.concurrency import FakeClock, QueueShutDown, WorkQueue

pytestmark = pytest.mark.concurrency

REPEAT = 300
JOIN_SECONDS = 10.0


def test_fake_clock_advance_racing_a_new_waiter_is_never_missed() -> None:
    """An advance past a deadline wakes a waiter whether it lands before, during or after
    the waiter parks."""
    for _ in range(REPEAT):
        clock = FakeClock()
        cond = threading.Condition()

        thread = threading.Thread(target=wait_out, args=(clock, cond, 1.0), daemon=True)
        thread.start()
        clock.advance(1.0)
        thread.join(JOIN_SECONDS)
        assert not thread.is_alive(), "a waiter missed the advance past its deadline"


def test_delayed_key_due_racing_a_worker_that_is_parking_is_handed_out() -> None:
    """A delayed add made due at once reaches a worker that is on its way into get."""
    for i in range(REPEAT):
        clock = FakeClock()
        queue = WorkQueue[int](clock=clock)
        got: list[int] = []
        thread = threading.Thread(target=lambda q=queue, g=got: g.append(q.get()), daemon=True)
        thread.start()
        queue.add_after(i, 1.0)
        clock.advance(1.0)
        thread.join(JOIN_SECONDS)
        assert got == [i]


def test_drain_racing_the_last_done_always_completes() -> None:
    """A drain started while the last key finishes returns completed, never stuck."""
    for _ in range(REPEAT):
        queue = WorkQueue[str](clock=FakeClock())
        queue.add("a")
        key = queue.get(timeout=0)
        reports = []
        thread = threading.Thread(
            target=lambda q=queue, r=reports: r.append(q.shut_down_with_drain()), daemon=True
        )
        thread.start()
        queue.done(key)
        thread.join(JOIN_SECONDS)
        assert not thread.is_alive(), "the drain missed the last done"
        assert reports[0].completed is True


def test_shut_down_racing_a_worker_entering_get_always_stops_it() -> None:
    """An immediate shutdown ends a worker whether it is already parked in get or not yet."""
    for _ in range(REPEAT):
        queue = WorkQueue[str](clock=FakeClock())
        errors: list[BaseException] = []

        def worker(q: WorkQueue[str] = queue, e: list[BaseException] = errors) -> None:
            try:
                q.get()
            except QueueShutDown as exc:
                e.append(exc)

        thread = threading.Thread(target=worker, daemon=True)
        thread.start()
        queue.shut_down()
        thread.join(JOIN_SECONDS)
        assert len(errors) == 1


def test_re_add_racing_done_is_never_lost() -> None:
    """An add racing with done of the same key always leaves the key ready afterwards."""
    for _ in range(REPEAT):
        queue = WorkQueue[str](clock=FakeClock())
        queue.add("a")
        key = queue.get(timeout=0)
        thread = threading.Thread(target=queue.add, args=("a",), daemon=True)
        thread.start()
        queue.done(key)
        thread.join(JOIN_SECONDS)
        assert queue.get(timeout=0) == "a"
        queue.done("a")


def tick_three_times() -> list[float]:
    """Run a ticker (one tick per second of a relative timeout) and, three times, wait for it
    to be parked and advance one second, without waiting for the tick in between; return the
    ticks it made within the failure bound."""
    clock = FakeClock()
    cond = threading.Condition()
    ticks: list[float] = []  # guarded by cond
    stop: list[bool] = []  # guarded by cond

    def ticker() -> None:
        with cond:
            while not stop:
                if not clock.wait(cond, 1.0):
                    ticks.append(clock.now())
                    cond.notify_all()

    thread = threading.Thread(target=ticker, daemon=True)
    thread.start()
    try:
        for _ in range(3):
            assert clock.wait_for_parked(1, JOIN_SECONDS)
            clock.advance(1.0)
        with cond:
            cond.wait_for(lambda: len(ticks) >= 3, JOIN_SECONDS)
            return list(ticks)
    finally:
        with cond:
            stop.append(True)
            cond.notify_all()
        thread.join(JOIN_SECONDS)
        assert not thread.is_alive()


def test_wait_for_parked_after_an_advance_waits_for_the_waiter_to_park_again() -> None:
    """After an advance, wait_for_parked waits for the woken waiter to park again, so the next
    advance cannot land before the waiter has read the new time (no lost periodic tick)."""
    for _ in range(REPEAT // 10):
        assert tick_three_times() == [1.0, 2.0, 3.0], "a tick was lost"
