"""Clocks: where the work queue and the rate limiters read time, and how they wait on it.

Everything in nodeconf that schedules by time (delayed adds, backoff, timeouts of blocking
calls) reads one injectable ``Clock``. Production uses ``MonotonicClock``; tests use
``FakeClock`` and move time by hand, so time-dependent behaviour is tested without sleeping.

A clock offers two kinds of time:

* ``now()``: monotonic seconds, for deadlines and delays (never goes backwards);
* ``wall()``: seconds since the epoch, only for reports shown to people.

and one way to block: ``wait(cond, timeout)`` / ``wait_until(cond, deadline)``, which behave
like ``threading.Condition.wait`` except that the timeout is measured *on this clock*. The caller
holds ``cond``; the call returns False when the deadline has passed on this clock, True when it
was woken for another reason (a notify, or a spurious wake-up). Callers always loop on their own
predicate and re-read ``now()``.

``wait_until`` takes an absolute deadline (a value of ``now()``). Prefer it whenever the
deadline was computed before the call: it checks the deadline atomically with starting to wait,
so a ``FakeClock.advance`` that happens between reading ``now()`` and waiting cannot be missed.

Any finite or infinite timeout/deadline is accepted; a NaN one is a ``ValueError`` (it would
never pass on one clock and always on another). ``MonotonicClock`` splits a wait longer than
``threading.TIMEOUT_MAX`` (about 292 years; ``Condition.wait`` raises ``OverflowError`` past
it) into a bounded wait that reports a spurious wake-up, so ``float("inf")`` means "no bound".

FakeClock design:

* ``wait``/``wait_until`` register the condition as a *waiter* of the clock, then block in
  ``cond.wait()`` (real time, no timeout) until notified. ``advance``/``set`` move the time and
  then wake every registered waiter by acquiring its condition and calling ``notify_all``; each
  waiter re-checks its deadline against the new time. There is no real-time polling.
* Registration and the deadline check happen together under the clock's lock, and ``advance``
  notifies through the waiter's own condition, which the waiter releases only inside
  ``cond.wait()``; so a wake-up can never fall between the check and the wait.
* ``waiters()`` / ``wait_for_waiters(n, timeout)`` and ``parked()`` /
  ``wait_for_parked(n, timeout)`` let a test advance time only once a worker is parked on the
  clock (event-driven, no sleeps). They differ right after a time move:

  - ``waiters()`` counts every thread inside ``wait``/``wait_until``, from its registration
    until it *leaves*, including one that an ``advance`` has already woken and that has not
    run yet. So ``wait_for_waiters`` right after an ``advance`` can return at once, before the
    woken worker has read the new time: if the test then advances again, a worker that
    computes its next deadline *relative* to the time it wakes at (``wait(cond, 1.0)`` in a
    loop) computes it from the later time and misses a tick, and the test waits forever.
  - ``parked()`` counts only threads that no ``advance``/``set`` has woken since they
    registered: ``advance``/``set`` take every waiter out of this count in the same critical
    section that moves the time. So ``wait_for_parked`` after an ``advance`` returns only once
    the worker has parked *again*, having seen the new time. Use it whenever a test advances
    several times in a row. (A waiter woken by a plain notify of its own condition still
    counts in both until it leaves the wait: the clock cannot see that notify. An
    ``advance(0)`` wakes it and resets the count, so ``wait_for_parked`` then waits until the
    worker has re-checked and parked again.)

Lock-ordering rule (FakeClock): a waiter holds its condition and then takes the clock's lock;
``advance``/``set`` take the clock's lock, release it, and only then take each waiter's
condition. Therefore **never call ``advance`` or ``set`` while holding a condition that a
waiter of this clock may use** (for example a work queue's lock): it would deadlock.

Thread-safety: ``MonotonicClock`` is stateless; every ``FakeClock`` method is safe from any
thread (see the lock-ordering rule above).
"""

from __future__ import annotations

import math
import threading
import time
from typing import Protocol, runtime_checkable

__all__ = [
    "DEFAULT_CLOCK",
    "Clock",
    "FakeClock",
    "MonotonicClock",
    "default_clock",
    "seconds_left",
]


@runtime_checkable
class Clock(Protocol):
    """A source of time that can also bound a ``threading.Condition`` wait.

    Thread-safety: implementations must be safe to call from any thread.
    """

    def now(self) -> float:
        """Monotonic seconds (an arbitrary origin); never decreases."""
        ...

    def wall(self) -> float:
        """Seconds since the epoch, for reports shown to people."""
        ...

    def wait(self, cond: threading.Condition, timeout: float | None) -> bool:
        """Like ``cond.wait(timeout)`` (the caller holds ``cond``), with ``timeout`` measured
        on this clock from the moment of the call. False when the timeout elapsed, True when
        woken otherwise (spurious wake-ups allowed). ``None`` waits until notified; ``<= 0``
        returns False at once; NaN is a ``ValueError``."""
        ...

    def wait_until(self, cond: threading.Condition, deadline: float | None) -> bool:
        """Like ``wait``, until the absolute ``deadline`` (a value of ``now()``). False at once
        when the deadline has already passed. ``None`` waits until notified; NaN is a
        ``ValueError``."""
        ...


def _reject_nan(what: str, value: float | None) -> None:
    if value is not None and math.isnan(value):
        raise ValueError(f"{what} is NaN")


class MonotonicClock:
    """The real clock: ``time.monotonic`` for ``now``, ``time.time`` for ``wall``.

    ``wait``/``wait_until`` return False only once ``time.monotonic()`` has reached the
    deadline; a wait longer than ``threading.TIMEOUT_MAX`` (or infinite) is cut to that bound
    and then reported as a spurious wake-up (True), since callers loop on their predicate.

    Thread-safety: stateless; safe from any thread.
    """

    __slots__ = ()

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    def wait(self, cond: threading.Condition, timeout: float | None) -> bool:
        _reject_nan("MonotonicClock.wait: timeout", timeout)
        if timeout is None:
            return cond.wait()
        if timeout <= 0:
            return False
        return self.wait_until(cond, time.monotonic() + timeout)

    def wait_until(self, cond: threading.Condition, deadline: float | None) -> bool:
        _reject_nan("MonotonicClock.wait_until: deadline", deadline)
        if deadline is None:
            return cond.wait()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        # Condition.wait raises OverflowError past TIMEOUT_MAX: wait that long at most, and
        # then report a wake-up unless the deadline really has passed.
        notified = cond.wait(min(remaining, threading.TIMEOUT_MAX))
        return notified or time.monotonic() < deadline

    def __repr__(self) -> str:
        return "MonotonicClock()"


DEFAULT_CLOCK: Clock = MonotonicClock()
"""The clock every nodeconf component uses when none is injected."""


def seconds_left(deadline: float | None) -> float | None:
    """Real seconds from now until ``deadline`` (a ``time.monotonic`` reading), never negative;
    ``None`` (no deadline: wait without a bound) stays ``None``. For the timeouts of joins and
    stops, which run on real time whatever clock their component was given."""
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def default_clock() -> Clock:
    """Return ``DEFAULT_CLOCK`` (the real monotonic clock)."""
    return DEFAULT_CLOCK


class FakeClock:
    """A clock that moves only when told to: ``advance(seconds)`` or ``set(now)``.

    ``wait``/``wait_until`` block (in real time) until notified or until ``advance``/``set``
    moves this clock past the deadline. ``waiters()`` counts threads blocked in them, and
    ``wait_for_waiters(n, timeout)`` blocks until at least ``n`` are, so a test can advance time
    exactly when a worker is parked; after an ``advance``, ``wait_for_parked(n, timeout)`` waits
    until woken workers have parked *again* (``wait_for_waiters`` may still count them before
    they run: see the module docstring). ``wall()`` is ``wall_start`` plus the time advanced so
    far.

    Never call ``advance``/``set`` while holding a condition that a waiter of this clock may use
    (see the module docstring's lock-ordering rule).

    Thread-safety: every method is safe from any thread; ``_lock`` guards all fields.
    """

    def __init__(self, start: float = 0.0, *, wall_start: float = 0.0) -> None:
        self._start = float(start)
        self._wall_start = float(wall_start)
        self._lock = threading.Lock()
        # Signalled (under _lock) whenever _waiting or _parked changes: wait_for_waiters,
        # wait_for_parked.
        self._waiters_changed = threading.Condition(self._lock)
        self._now = float(start)  # guarded by _lock; only increases
        # guarded by _lock: one entry per thread inside wait/wait_until (from registration
        # until it leaves), keyed by a per-call token, valued by the condition that wakes it.
        self._waiting: dict[object, threading.Condition] = {}
        # guarded by _lock: the tokens of _waiting that no advance/set has woken since they
        # registered. advance/set empty it (they wake every waiter); a waiter leaving removes
        # its token if still there.
        self._parked: set[object] = set()

    # -- reading time -----------------------------------------------------------------------

    def now(self) -> float:
        with self._lock:
            return self._now

    def wall(self) -> float:
        with self._lock:
            return self._wall_start + (self._now - self._start)

    # -- moving time ------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (>= 0) and wake every waiter to re-check.

        Must not be called while holding a condition a waiter of this clock uses.
        """
        if not seconds >= 0:
            raise ValueError(f"FakeClock.advance: seconds must be >= 0, got {seconds!r}")
        with self._lock:
            self._now += seconds
            conds = self._take_waiters_locked()
        self._wake(conds)

    def set(self, now: float) -> None:
        """Move the clock to the absolute time ``now`` (never backwards) and wake waiters.

        Must not be called while holding a condition a waiter of this clock uses.
        """
        _reject_nan("FakeClock.set: now", now)
        with self._lock:
            if now < self._now:
                raise ValueError(
                    f"FakeClock.set: time cannot go backwards (now {self._now!r}, asked {now!r})"
                )
            self._now = float(now)
            conds = self._take_waiters_locked()
        self._wake(conds)

    def _take_waiters_locked(self) -> list[threading.Condition]:
        """Return each distinct condition of the waiters once (they are about to be woken) and
        empty ``_parked``. Called with _lock held, in the same critical section that moved the
        time, so ``parked()`` never counts a waiter this move has woken."""
        unique: dict[int, threading.Condition] = {}
        for cond in self._waiting.values():
            unique.setdefault(id(cond), cond)
        if self._parked:
            self._parked.clear()
            self._waiters_changed.notify_all()
        return list(unique.values())

    @staticmethod
    def _wake(conds: list[threading.Condition]) -> None:
        # Called without self._lock (lock-ordering rule). A waiter releases its condition only
        # inside cond.wait(), so acquiring it here means the waiter is parked (or has not
        # registered yet, in which case it will see the new time when it checks).
        for cond in conds:
            with cond:
                cond.notify_all()

    # -- waiting on time --------------------------------------------------------------------

    def wait(self, cond: threading.Condition, timeout: float | None) -> bool:
        """Like ``cond.wait(timeout)`` with ``timeout`` in fake seconds from now.

        The timeout starts when this call reads the clock; prefer ``wait_until`` with a deadline
        computed earlier when an ``advance`` may race with the caller.
        """
        _reject_nan("FakeClock.wait: timeout", timeout)
        if timeout is None:
            return self.wait_until(cond, None)
        with self._lock:
            deadline = self._now + timeout
        return self.wait_until(cond, deadline)

    def wait_until(self, cond: threading.Condition, deadline: float | None) -> bool:
        """Block (caller holds ``cond``) until notified (True) or until this clock reaches
        ``deadline`` (False). Returns False at once if it already has."""
        _reject_nan("FakeClock.wait_until: deadline", deadline)
        token = object()
        with self._lock:
            if deadline is not None and self._now >= deadline:
                return False
            self._waiting[token] = cond
            self._parked.add(token)
            self._waiters_changed.notify_all()
        try:
            # Real-time wait with no timeout: woken by a notify on cond, by advance/set, or
            # spuriously. advance/set cannot slip in between the check above and this wait:
            # they must acquire cond to notify, and we hold it until cond.wait releases it.
            cond.wait()
        finally:
            with self._lock:
                del self._waiting[token]
                self._parked.discard(token)  # already gone if an advance/set woke us
                self._waiters_changed.notify_all()
                reached = deadline is not None and self._now >= deadline
        return not reached

    # -- test helpers -----------------------------------------------------------------------

    def waiters(self) -> int:
        """How many threads are inside ``wait``/``wait_until`` on this clock right now, counting
        one that an ``advance``/``set`` has woken until it leaves (see ``parked``)."""
        with self._lock:
            return len(self._waiting)

    def parked(self) -> int:
        """How many threads wait on this clock and have not been woken by an ``advance``/``set``
        since they started waiting (a thread woken by a notify of its own condition still counts
        until it leaves the wait)."""
        with self._lock:
            return len(self._parked)

    def wait_for_waiters(self, n: int = 1, timeout: float | None = 10.0) -> bool:
        """Block until at least ``n`` threads wait on this clock, as counted by ``waiters()``;
        False if ``timeout`` (real seconds, a failure bound) passes first.

        Right after an ``advance`` this may return before a woken worker has run; to wait until
        it has parked again, use ``wait_for_parked``."""
        with self._waiters_changed:
            return self._waiters_changed.wait_for(lambda: len(self._waiting) >= n, timeout)

    def wait_for_parked(self, n: int = 1, timeout: float | None = 10.0) -> bool:
        """Block until at least ``n`` threads are parked on this clock, as counted by
        ``parked()``: after an ``advance``/``set``, only threads that started waiting again
        since; False if ``timeout`` (real seconds, a failure bound) passes first."""
        with self._waiters_changed:
            return self._waiters_changed.wait_for(lambda: len(self._parked) >= n, timeout)

    def __repr__(self) -> str:
        with self._lock:
            return f"FakeClock(now={self._now!r}, waiters={len(self._waiting)})"
