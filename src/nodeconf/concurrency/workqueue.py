"""A work queue of keys with client-go's semantics, plus an exact, reporting shutdown.

The queue carries *keys* (hashable values naming what to re-sync), never payloads: the worker
reads the latest state when it gets to a key, so a burst of changes collapses into few syncs
and the last state always wins.

The contract (as client-go's ``workqueue`` package states it, with our additions):

* **Collapsing.** A key added several times before a worker takes it is handed out once.
* **Never twice at once.** Between ``get`` returning a key and ``done(key)``, the key is
  *processing*; it is not handed to another worker in that time, however often it is added.
* **Re-add during processing re-queues on done.** A key added while it is processing is
  marked dirty and queued again when ``done(key)`` is called, so the change is never lost.
* **Delayed adds.** ``add_after(key, delay)`` makes the key ready when the delay has passed on
  the queue's clock; several delayed adds of one key keep the *earliest* due time, and a plain
  ``add`` (due now) supersedes any pending delayed add of that key. There is no timer thread:
  a worker blocked in ``get`` waits on the clock until the earliest due time and promotes due
  keys itself (``__len__``, ``wait_idle``, ``stats`` and a ``done`` that would leave the queue
  idle also promote the keys that are due).
* **Rate-limited adds.** ``add_rate_limited(key)`` is ``add_after(key, limiter.when(key))``;
  ``forget(key)`` resets the key's backoff; ``num_requeues(key)`` reports it.
* **Two shutdowns, neither loses anything silently.**
  ``shut_down()`` is immediate: every ``get`` raises ``QueueShutDown`` at once; keys still
  queued (or re-added while processing) are dropped and *returned* in the report, with the
  delayed keys (pending retries) and the keys still processing.
  ``shut_down_with_drain(timeout)`` stops intake, then waits until every queued key has been
  handed out **and** every processing key is done (client-go only waits for the latter).
  Delayed keys already due when the drain starts are queued and drained; those not yet due
  are not waited for and are returned as pending retries. A drain that times out reports what
  was still queued and processing at its deadline; workers keep receiving the remaining queued
  keys until the queue is empty or ``shut_down()`` is called (which then drops them, in its
  report). Call ``shut_down()`` after a timed-out drain to stop all further hand-outs.
* **Idle moments are never missed.** ``wait_idle`` returns True if the queue was idle at any
  moment while it waited, even if new work arrived before the waiting thread ran again: each
  transition to idle (the ``done`` or ``shut_down`` that leaves nothing ready, due or
  processing) bumps a counter under the lock, and a waiter that sees it change returns True.
* **After shutdown** (either kind) ``add``/``add_after``/``add_rate_limited`` are refused and
  return False, except that an add of a key still waiting to be handed out during a drain
  collapses into it (True). Refused immediate adds are listed in later reports' ``dropped``;
  refused delayed adds are kept (earliest due wins) and listed in ``pending_retries``.

Which thread may call what: every method is safe from any thread. ``done(key)`` must be called
exactly once per key returned by ``get`` (by any thread; usually the worker that got it).
``shut_down_with_drain`` may be called from a worker that holds keys: it cannot wait for the
calling thread's own keys (they finish only after it returns), so it waits for everyone
else's, lists the caller's in ``ShutdownReport.caller_in_flight``, and never deadlocks. Several
threads may drain at once: each waits for the same completion, bounded by its own timeout.
The rate limiter is called outside the queue's lock.

Time: every delay and every ``timeout`` argument is measured on the queue's clock. With a
``FakeClock`` a timeout passes only when the test advances the clock (see
``FakeClock.wait_for_waiters`` and ``FakeClock.wait_for_parked``). ``float("inf")`` is a valid
delay or timeout (never); a NaN delay or timeout is a ``ValueError``, raised before anything
changes. ``wait_idle`` and ``shut_down_with_drain`` also accept ``timeout_clock=`` to bound
their wait on another clock, typically ``DEFAULT_CLOCK`` so that a stop stays bounded in real
time while retries run on a ``FakeClock``. Never advance a ``FakeClock`` while holding the
queue's lock (no public method lets you).

Invariants (under ``_lock``): a key is in ``_queue`` at most once; every queued key is dirty;
no queued key is processing; a dirty key is either queued or processing (re-added while
processing); while running, no delayed key is dirty (a pending hand-out absorbs delayed
adds); once shut down immediately, ``_queue`` and ``_dirty`` stay empty; ``_idle_epoch`` only
grows.

Thread-safety: one lock guards all queue state (two conditions share it); see ``WorkQueue``.
"""

from __future__ import annotations

import enum
import heapq
import math
import threading
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from nodeconf.concurrency.clock import Clock, default_clock
from nodeconf.concurrency.ratelimit import RateLimiter, default_controller_rate_limiter

__all__ = [
    "QueueShutDown",
    "QueueState",
    "QueueStats",
    "ShutdownReport",
    "WorkQueue",
]

K = TypeVar("K", bound=Hashable)

#: Rebuild the delayed-key heap when stale entries outnumber live ones by this much.
_HEAP_SLACK = 64


class QueueShutDown(Exception):  # noqa: N818 - a signal to workers ("the queue is shut down")
    """Raised by ``WorkQueue.get`` once the queue is shut down and has nothing left to hand out.

    Workers treat it as "exit your loop". ``queue_name`` names the queue.

    Thread-safety: immutable after construction.
    """

    def __init__(self, queue_name: str = "") -> None:
        self.queue_name = queue_name
        where = f" {queue_name!r}" if queue_name else ""
        super().__init__(f"work queue{where} is shut down")


class QueueState(enum.Enum):
    """Lifecycle of a ``WorkQueue``: running, then draining and/or shut down (terminal).

    Thread-safety: immutable enum members.
    """

    RUNNING = "running"
    DRAINING = "draining"  # intake stopped; queued keys are still handed out
    SHUT_DOWN = "shut-down"  # nothing is handed out any more


@dataclass(frozen=True, slots=True)
class ShutdownReport(Generic[K]):
    """What a shutdown left undone, as of the moment the shutdown call returned.

    ``completed``: every accepted key was handed out and every key processing by another thread
    is done (for ``shut_down()``: nothing was queued and nothing was processing).
    ``dropped``: keys never handed out: queued at the deadline or at an immediate shutdown
    (in queue order), re-added while processing, or refused because the queue was shutting
    down.
    ``pending_retries``: delayed keys not yet handed out, with their due-in seconds on the
    queue's clock (0 when already due), earliest first.
    ``in_flight``: keys still processing by other threads.
    ``caller_in_flight``: keys held by the thread that called the shutdown; it could not wait
    for them (if re-added, they are queued again when done, unless shut down immediately).

    Thread-safety: immutable.
    """

    completed: bool
    dropped: tuple[K, ...]
    pending_retries: tuple[tuple[K, float], ...]
    in_flight: tuple[K, ...]
    caller_in_flight: tuple[K, ...] = ()


@dataclass(frozen=True, slots=True)
class QueueStats:
    """Cheap counters, read together under the queue's lock.

    ``depth``: ready keys; ``in_flight``: processing keys; ``delayed``: keys waiting for their
    due time (or frozen as pending retries after shutdown). Totals since construction:
    ``adds_total`` (adds that made a key pending: collapsed adds are not counted),
    ``collapsed_total`` (adds absorbed by an already pending key), ``retries_total``
    (``add_rate_limited`` calls), ``handed_out_total`` (keys returned by ``get``),
    ``done_total`` (``done`` calls), ``refused_total`` (adds refused after shutdown).

    Thread-safety: immutable.
    """

    depth: int
    in_flight: int
    delayed: int
    adds_total: int
    collapsed_total: int
    retries_total: int
    handed_out_total: int
    done_total: int
    refused_total: int


class WorkQueue(Generic[K]):
    """A queue of keys for worker threads; see the module docstring for the full contract.

    ``clock`` (default: the real monotonic clock) measures delays and timeouts;
    ``rate_limiter`` (default: ``default_controller_rate_limiter`` on the same clock) decides
    ``add_rate_limited`` delays; ``name`` appears in errors and ``repr``.

    Thread-safety: every method is safe from any thread. One lock, ``_lock``, guards every
    mutable field; ``_ready`` (workers blocked in ``get``) and ``_settled`` (threads in
    ``wait_idle``/``shut_down_with_drain``) are two conditions on that same lock.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        rate_limiter: RateLimiter[K] | None = None,
        name: str = "",
    ) -> None:
        self.name = name
        self._clock: Clock = clock if clock is not None else default_clock()
        self._limiter: RateLimiter[K] = (
            rate_limiter
            if rate_limiter is not None
            else default_controller_rate_limiter(self._clock)
        )
        self._lock = threading.Lock()
        # Both conditions share _lock. _ready: signalled when a key becomes ready, when the
        # earliest due time moves earlier, and on any state change a get() waits for.
        # _settled: signalled when a key finishes processing and on shutdown.
        self._ready = threading.Condition(self._lock)
        self._settled = threading.Condition(self._lock)

        # ---- everything below is guarded by _lock ----
        self._state = QueueState.RUNNING
        self._queue: deque[K] = deque()  # ready keys, FIFO; each one is also in _dirty
        self._dirty: set[K] = set()  # keys to hand out: queued, or re-added while processing
        self._processing: dict[K, int] = {}  # key -> ident of the thread that got it
        # Delayed keys: key -> (due time on the clock, sequence number). Earliest due wins.
        self._delayed: dict[K, tuple[float, int]] = {}
        # Min-heap over _delayed, with lazy deletion: an entry is live iff
        # _delayed.get(key) == (due, seq).
        self._heap: list[tuple[float, int, K]] = []
        self._seq = 0
        self._dropped: dict[K, None] = {}  # ordered set: dropped at shutdown / refused after
        self._dropped_queued = False  # an immediate shutdown dropped accepted (queued) keys
        # +1 at every transition to idle (nothing ready, due or processing): done, shut_down.
        # wait_idle compares it with the value it started with, so it sees idle moments that
        # ended before it could re-take the lock.
        self._idle_epoch = 0
        self._adds_total = 0
        self._collapsed_total = 0
        self._retries_total = 0
        self._handed_out_total = 0
        self._done_total = 0
        self._refused_total = 0

    # -- adding ---------------------------------------------------------------------------

    def add(self, key: K) -> bool:
        """Make ``key`` ready now. Returns False if refused because the queue is shut down.

        Collapses with a pending hand-out of the same key; supersedes a delayed add of it; if
        the key is processing, it is queued again when ``done(key)`` is called.
        """
        with self._lock:
            return self._add_locked(key)

    def add_after(self, key: K, delay_seconds: float) -> bool:
        """Make ``key`` ready after ``delay_seconds`` on the queue's clock (<= 0: now).

        The earliest due time of a key wins; a key already waiting to be handed out absorbs
        the delayed add. Returns False if refused because the queue is shut down (the key is
        then kept as a pending retry for the report).
        """
        if math.isnan(delay_seconds):
            raise ValueError(f"add_after({key!r}): delay_seconds is NaN")
        with self._lock:
            return self._add_after_locked(key, delay_seconds)

    def add_rate_limited(self, key: K) -> bool:
        """``add_after(key, rate_limiter.when(key))``: a retry with the limiter's backoff."""
        delay = self._limiter.when(key)  # outside _lock: the limiter has its own lock
        if math.isnan(delay):
            raise ValueError(f"add_rate_limited({key!r}): the rate limiter returned NaN")
        with self._lock:
            self._retries_total += 1
            return self._add_after_locked(key, delay)

    def forget(self, key: K) -> None:
        """Reset ``key``'s backoff in the rate limiter (call after a success)."""
        self._limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        """How many rate-limited retries of ``key`` the limiter has on record."""
        return self._limiter.num_requeues(key)

    # -- working --------------------------------------------------------------------------

    def get(self, timeout: float | None = None) -> K:
        """Block until a key is ready and return it; it is processing until ``done(key)``.

        Raises ``QueueShutDown`` once the queue is shut down (immediately: at once; when
        draining: once nothing is queued and no *other* thread holds a re-added key that will
        come back) and ``TimeoutError`` when ``timeout`` seconds pass on the queue's clock with
        nothing ready (``0``: do not block).
        """
        _check_timeout("get", timeout)
        me = threading.get_ident()
        with self._lock:
            deadline = None if timeout is None else self._clock.now() + timeout
            while True:
                if self._state is QueueState.SHUT_DOWN:
                    raise QueueShutDown(self.name)
                now = self._clock.now()
                if self._state is QueueState.RUNNING:
                    self._promote_due_locked(now)
                if self._queue:
                    key = self._queue.popleft()
                    self._dirty.discard(key)
                    self._processing[key] = me
                    self._handed_out_total += 1
                    if self._queue:
                        # Keys promoted here may have no worker awake for them yet.
                        self._ready.notify()
                    return key
                if self._state is QueueState.DRAINING and not self._dirty_elsewhere_locked(me):
                    # Nothing queued and no other thread holds a key that will come back.
                    raise QueueShutDown(self.name)
                if deadline is not None and now >= deadline:
                    raise TimeoutError(
                        f"work queue {self.name!r}: nothing ready within {timeout!r} seconds"
                    )
                wake = deadline
                if self._state is QueueState.RUNNING:
                    due = self._earliest_due_locked()
                    if due is not None and (wake is None or due < wake):
                        wake = due
                self._clock.wait_until(self._ready, wake)

    def done(self, key: K) -> None:
        """Mark ``key`` (returned by ``get``) finished; re-queue it if it was re-added.

        Raises ``ValueError`` if ``key`` is not processing (``done`` twice, or never got).
        """
        with self._lock:
            if self._processing.pop(key, _MISSING) is _MISSING:
                raise ValueError(
                    f"work queue {self.name!r}: done({key!r}) but the key is not processing"
                )
            self._done_total += 1
            if key in self._dirty:
                self._queue.append(key)
                self._ready.notify()
            elif self._state is QueueState.DRAINING:
                # get() callers may be waiting for this key to come back before giving up.
                self._ready.notify_all()
            try:
                if not self._queue and not self._processing:
                    # About to be idle, unless a delayed key is due (promoted now, so that it
                    # is not mistaken for an idle moment).
                    if self._state is QueueState.RUNNING and self._heap:
                        self._promote_due_locked(self._clock.now())
                    if not self._queue:
                        self._idle_epoch += 1
            finally:  # even if an injected clock raised: drains and idlers must look again
                self._settled.notify_all()

    # -- shutting down --------------------------------------------------------------------

    def shut_down(self) -> ShutdownReport[K]:
        """Stop now: every ``get`` raises ``QueueShutDown``; report what was left.

        Queued keys (and keys re-added while processing) are dropped and listed in
        ``dropped``; delayed keys are listed in ``pending_retries``; keys still processing
        are listed in ``in_flight``/``caller_in_flight`` (their ``done`` is still expected).
        Idempotent: later calls report the same dropped keys (plus adds refused since).
        """
        me = threading.get_ident()
        with self._lock:
            if self._state is not QueueState.SHUT_DOWN:
                for key in self._queue:
                    self._dropped[key] = None
                for key in self._dirty:  # re-added while processing: never handed out now
                    self._dropped[key] = None
                self._dropped_queued = bool(self._dirty)
                self._queue.clear()
                self._dirty.clear()
                self._state = QueueState.SHUT_DOWN
                if not self._processing:
                    self._idle_epoch += 1
                self._ready.notify_all()
                self._settled.notify_all()
            return self._report_locked(me)

    def shut_down_with_drain(
        self, timeout: float | None = None, *, timeout_clock: Clock | None = None
    ) -> ShutdownReport[K]:
        """Stop intake, hand out everything queued and wait for every key in flight.

        Waits (at most ``timeout`` seconds on the queue's clock; ``None``: no bound) until all
        queued keys were handed out and every key processing by another thread is done.
        Delayed keys already due are drained too; the rest are reported as pending retries.
        The calling thread's own keys are not waited for (see ``caller_in_flight``).
        Idempotent and safe from several threads: each caller waits for the same completion.
        ``timeout_clock`` measures ``timeout`` on another clock (e.g. ``DEFAULT_CLOCK`` for a
        real-time bound while the queue runs on a ``FakeClock``).
        """
        _check_timeout("shut_down_with_drain", timeout)
        me = threading.get_ident()
        bound = timeout_clock if timeout_clock is not None else self._clock
        with self._lock:
            deadline = None if timeout is None else bound.now() + timeout
            if self._state is QueueState.RUNNING:
                self._promote_due_locked(self._clock.now())
                self._state = QueueState.DRAINING
                self._ready.notify_all()  # promoted keys, and workers that may now exit
                self._settled.notify_all()
            while not self._drained_locked(me):
                if deadline is not None and bound.now() >= deadline:
                    break
                # Only done() and shut_down() can complete a drain: no time-driven wake-up.
                bound.wait_until(self._settled, deadline)
            return self._report_locked(me)

    # -- observing ------------------------------------------------------------------------

    def wait_idle(
        self, timeout: float | None = None, *, timeout_clock: Clock | None = None
    ) -> bool:
        """True the moment nothing is ready, nothing is processing and no delayed key is due;
        False if ``timeout`` seconds pass first, on the queue's clock or on ``timeout_clock``
        if given (e.g. ``DEFAULT_CLOCK`` for a real-time bound). Event-driven. An idle moment
        that passed while this call was waiting counts, even if work arrived right after it."""
        _check_timeout("wait_idle", timeout)
        bound = timeout_clock if timeout_clock is not None else self._clock
        with self._lock:
            deadline = None if timeout is None else bound.now() + timeout
            epoch = self._idle_epoch
            while True:
                if self._state is QueueState.RUNNING:
                    self._promote_due_locked(self._clock.now())
                if not self._queue and not self._processing:
                    return True
                if self._idle_epoch != epoch:
                    return True  # idle for a moment while we waited; busy again since
                if deadline is not None and bound.now() >= deadline:
                    return False
                # Time passing never makes the queue idle (only done() and shut_down() do),
                # so the wait needs no wake-up at due times.
                bound.wait_until(self._settled, deadline)

    def __len__(self) -> int:
        """Ready keys (queued, including delayed keys that are due), not counting processing."""
        with self._lock:
            if self._state is QueueState.RUNNING:
                self._promote_due_locked(self._clock.now())
            return len(self._queue)

    def in_flight(self) -> int:
        """How many keys are processing (handed out, ``done`` not yet called)."""
        with self._lock:
            return len(self._processing)

    def delayed(self) -> int:
        """How many keys wait for a due time (after shutdown: pending retries kept)."""
        with self._lock:
            return len(self._delayed)

    @property
    def shutting_down(self) -> bool:
        """True once either shutdown has begun."""
        with self._lock:
            return self._state is not QueueState.RUNNING

    @property
    def state(self) -> QueueState:
        """The lifecycle state."""
        with self._lock:
            return self._state

    @property
    def clock(self) -> Clock:
        """The clock this queue measures delays and timeouts on."""
        return self._clock

    def stats(self) -> QueueStats:
        """A consistent snapshot of the counters."""
        with self._lock:
            if self._state is QueueState.RUNNING:
                self._promote_due_locked(self._clock.now())
            return QueueStats(
                depth=len(self._queue),
                in_flight=len(self._processing),
                delayed=len(self._delayed),
                adds_total=self._adds_total,
                collapsed_total=self._collapsed_total,
                retries_total=self._retries_total,
                handed_out_total=self._handed_out_total,
                done_total=self._done_total,
                refused_total=self._refused_total,
            )

    def __repr__(self) -> str:
        with self._lock:
            return (
                f"WorkQueue(name={self.name!r}, state={self._state.value}, "
                f"ready={len(self._queue)}, in_flight={len(self._processing)}, "
                f"delayed={len(self._delayed)})"
            )

    # -- internals (all called with _lock held) -------------------------------------------

    def _add_locked(self, key: K) -> bool:
        if key in self._dirty:  # already waiting to be handed out: collapse
            self._collapsed_total += 1
            return True
        if self._state is not QueueState.RUNNING:
            self._refused_total += 1
            self._dropped[key] = None
            return False
        self._delayed.pop(key, None)  # due now beats any later due time (heap entry goes stale)
        self._dirty.add(key)
        self._adds_total += 1
        if key not in self._processing:
            self._queue.append(key)
            self._ready.notify()
        return True

    def _add_after_locked(self, key: K, delay_seconds: float) -> bool:
        running = self._state is QueueState.RUNNING
        if delay_seconds <= 0:
            return self._add_locked(key)
        if key in self._dirty:  # will be handed out sooner anyway
            self._collapsed_total += 1
            return True
        due = self._clock.now() + delay_seconds
        current = self._delayed.get(key)
        if current is not None and current[0] <= due:
            self._collapsed_total += 1
            return running
        if not running:
            self._refused_total += 1
        else:
            self._adds_total += 1
        earliest = self._earliest_due_locked()
        self._seq += 1
        self._delayed[key] = (due, self._seq)
        heapq.heappush(self._heap, (due, self._seq, key))
        if len(self._heap) > 2 * len(self._delayed) + _HEAP_SLACK:
            self._heap = [(d, s, k) for k, (d, s) in self._delayed.items()]
            heapq.heapify(self._heap)
        if running and (earliest is None or due < earliest):
            # Waiting workers computed their wake-up from the old earliest due time.
            self._ready.notify_all()
        return running

    def _earliest_due_locked(self) -> float | None:
        heap = self._heap
        while heap:
            due, seq, key = heap[0]
            if self._delayed.get(key) == (due, seq):
                return due
            heapq.heappop(heap)  # stale: superseded or removed
        return None

    def _promote_due_locked(self, now: float) -> None:
        """Move every delayed key due at ``now`` to the ready queue (state RUNNING only)."""
        heap = self._heap
        promoted = 0
        while heap and heap[0][0] <= now:
            due, seq, key = heapq.heappop(heap)
            if self._delayed.get(key) != (due, seq):
                continue  # stale
            del self._delayed[key]
            if key in self._dirty:
                self._collapsed_total += 1
                continue
            self._dirty.add(key)
            if key not in self._processing:
                self._queue.append(key)
                promoted += 1
        if promoted:
            self._ready.notify(promoted)

    def _dirty_elsewhere_locked(self, me: int) -> bool:
        """Is a key that another thread holds due to come back (re-added while processing)?"""
        if len(self._dirty) == len(self._queue):
            return False
        return any(ident != me and key in self._dirty for key, ident in self._processing.items())

    def _drained_locked(self, me: int) -> bool:
        """Nothing left to hand out and nothing processing, except the caller's own keys."""
        if self._queue:
            return False
        if any(ident != me for ident in self._processing.values()):
            return False
        # Every remaining dirty key is processing by the caller (it returns when done).
        return all(self._processing.get(key) == me for key in self._dirty)

    def _report_locked(self, me: int) -> ShutdownReport[K]:
        now = self._clock.now()
        dropped: dict[K, None] = dict(self._dropped)
        for key in self._queue:
            dropped[key] = None
        for key in self._dirty:
            holder = self._processing.get(key)
            if holder is not None and holder != me:
                dropped[key] = None
        pending = sorted(self._delayed.items(), key=lambda item: item[1])
        return ShutdownReport(
            completed=self._drained_locked(me) and not self._dropped_queued,
            dropped=tuple(dropped),
            pending_retries=tuple((key, max(0.0, due - now)) for key, (due, _) in pending),
            in_flight=tuple(k for k, ident in self._processing.items() if ident != me),
            caller_in_flight=tuple(k for k, ident in self._processing.items() if ident == me),
        )


_MISSING = object()


def _check_timeout(method: str, timeout: float | None) -> None:
    """Refuse a NaN timeout up front: no clock could ever tell whether it has passed."""
    if timeout is not None and math.isnan(timeout):
        raise ValueError(f"WorkQueue.{method}: timeout is NaN")
