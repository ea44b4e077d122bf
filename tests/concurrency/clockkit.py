"""A waiter for clock tests: the one shape every "park until the clock says so" thread has."""

from __future__ import annotations

import threading

from nodeconf.concurrency import Clock


def wait_out(clock: Clock, cond: threading.Condition, deadline: float) -> None:
    """Hold ``cond`` and wait on ``clock`` until it reaches ``deadline``.

    Spurious and notified wake-ups (``wait_until`` returning True) go back to waiting; only
    the clock reaching the deadline ends the wait, so a test sees exactly when time moved.
    """
    with cond:
        while clock.wait_until(cond, deadline):
            pass
