"""``Latch``: set once, or cancelled; either releases every waiter."""

from __future__ import annotations

import threading

import pytest

from nodeconf.concurrency import Latch

pytestmark = pytest.mark.concurrency

WAIT = 10.0  # bounds a failure only


def waiters(latch: Latch, n: int) -> tuple[list[threading.Thread], list[bool], threading.Barrier]:
    """``n`` threads blocked in ``latch.wait(WAIT)``; their results land in the list."""
    results: list[bool] = []
    lock = threading.Lock()
    started = threading.Barrier(n + 1)

    def wait() -> None:
        started.wait(WAIT)
        got = latch.wait(WAIT)
        with lock:
            results.append(got)

    threads = [threading.Thread(target=wait, name=f"t-wait-{i}") for i in range(n)]
    for thread in threads:
        thread.start()
    return threads, results, started


@pytest.mark.parametrize(("release", "expected"), [("set", True), ("cancel", False)])
def test_set_or_cancel_releases_every_waiter(release: str, expected: bool) -> None:
    """Every waiter returns: True when the latch was set, False when it was cancelled."""
    latch = Latch()
    threads, results, started = waiters(latch, 8)
    started.wait(WAIT)
    getattr(latch, release)()
    for thread in threads:
        thread.join(WAIT)
        assert not thread.is_alive()
    assert results == [expected] * 8
    assert latch.is_set() is expected
    assert latch.cancelled is not expected


def test_later_waits_return_at_once_and_set_wins_over_cancel() -> None:
    """After cancel, wait returns False without blocking (timeout None would otherwise hang);
    a set after that still counts: wait then says True."""
    latch = Latch()
    assert latch.wait(0) is False  # nothing yet: the timeout ends it
    latch.cancel()
    assert latch.wait(None) is False
    latch.set()
    assert latch.wait(None) is True
    assert repr(latch) == "<Latch set>"
