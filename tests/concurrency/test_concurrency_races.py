"""Races reproduced on purpose: wake-ups racing with waiters that are about to park, on the
fake clock and on the manager's real worker threads.

Each test repeats a tiny scenario many times without waiting for the other thread to be
parked first, so the racing step lands at every point of the waiter's path. A lost wake-up
shows as a thread that never finishes: each join is bounded, so the test fails instead of
hanging, and the threads are daemons so a failed run can still exit.
"""

from __future__ import annotations

import threading

import pytest
from tests.concurrency.clockkit import wait_out

from nodeconf import ConfigManager
from nodeconf.concurrency import FakeClock
from nodeconf.testing import RecordingListener, StaticSource

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


def _manager_round(race: str) -> None:
    """One round of a manager race (see the callers); every wait is bounded."""
    source = StaticSource(doc(1))
    listener = RecordingListener()
    manager = ConfigManager(source, [listener], clock=FakeClock())
    manager.start(JOIN_SECONDS)
    final = doc(2)
    if race == "notify":
        pusher = threading.Thread(target=source.set_document, args=(final,), daemon=True)
        pusher.start()
        pusher.join(JOIN_SECONDS)
        assert manager.wait_idle(JOIN_SECONDS), "a notification was never picked up"
        assert listener.last.to_json()["networkQosConfig"]["qosCheckInterval"] == 2
    else:
        late = RecordingListener()
        adder = threading.Thread(target=manager.add_listener, args=(late,), daemon=True)
        adder.start()
        source.set_document(final)
        adder.join(JOIN_SECONDS)
        assert manager.wait_idle(JOIN_SECONDS), "a new listener was never served"
        assert late.last.to_json()["networkQosConfig"]["qosCheckInterval"] == 2
    assert manager.stop(JOIN_SECONDS).completed


def doc(n: int) -> dict[str, object]:
    """A valid document whose effective config differs for each ``n``."""
    return {"globalConfig": {"networkQosConfig": {"qosCheckInterval": n}}}


def test_a_notification_racing_a_worker_going_idle_is_never_lost() -> None:
    """A push from another thread, landing while the worker that delivered the first
    revision is on its way to sleep, is always delivered."""
    for _ in range(REPEAT // 3):
        _manager_round("notify")


def test_a_listener_added_racing_a_new_revision_ends_with_it() -> None:
    """A listener added while a push is being synced ends holding the newest revision."""
    for _ in range(REPEAT // 3):
        _manager_round("add")


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
