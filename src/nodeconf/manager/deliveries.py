"""The listener side of the scheduler: a FIFO of listener records, their retries and calls.

Each registered listener has one ``ListenerRecord``, which is also its key here. A record is
*requested* when it needs an attempt (a new revision, its first delivery, a retry come due):
it is queued once, or, while its call runs, marked ``again`` and queued when the call ends.
So a record is never handed out twice at once. Retries wait in a heap ordered by due time;
an entry is live while the record's ``retry_seq`` matches it (cancelling a retry is O(1)).
At most ``call_cap`` calls run at once (``None``: no bound).

Pure: no threads, no clock, no I/O. Part of the scheduler's state, guarded by its owner.

Thread-safety: none; only ``Scheduler`` uses it, under the pool's lock.
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import Any

from nodeconf.manager.jobs import CallFailed
from nodeconf.manager.listeners import ListenerRecord, Revision
from nodeconf.manager.outcomes import Outcome, OutcomeKind
from nodeconf.manager.reports import PendingRetry

__all__ = ["Deliveries"]


class Deliveries:
    """Listener records in registration order, the ready FIFO, retries and running calls.

    Thread-safety: none (see the module docstring).
    """

    def __init__(self, call_cap: int | None) -> None:
        self._call_cap = call_cap
        self.listeners: list[ListenerRecord] = []  # registered, in registration order
        self._ready: deque[ListenerRecord] = deque()  # requested, each at most once
        # Pending retries: (due, seq, record), live while record.retry_seq == seq.
        self.retries: list[tuple[float, int, ListenerRecord]] = []
        self._retry_seq = 0
        self.running: set[ListenerRecord] = set()  # records whose call is committed
        # Listener calls by result (only grow).
        self.applies_total = 0
        self.failures_total = 0
        self.rejections_total = 0

    # ------------------------------------------------------------------ the FIFO

    def request(self, record: ListenerRecord) -> None:
        """``record`` needs an attempt now."""
        if record.removed:
            return
        if record in self.running:
            record.again = True
        elif not record.queued:
            record.queued = True
            self._ready.append(record)

    def remove(self, record: ListenerRecord) -> None:
        """Take ``record`` out: not registered, not queued, its retry cancelled."""
        record.removed = True
        record.next_retry_at = None
        record.retry_seq = 0
        if record.queued:
            record.queued = False
            self._ready.remove(record)
        self.listeners.remove(record)

    def has_queued(self) -> bool:
        """A record is queued (whether or not a call slot is free)."""
        return bool(self._ready)

    def has_ready(self) -> bool:
        """A record is queued and a call slot is free."""
        return bool(self._ready) and self._slot_free()

    def pop_ready(self) -> ListenerRecord | None:
        """The next queued record, while a call slot is free."""
        if not self._ready or not self._slot_free():
            return None
        record = self._ready.popleft()
        record.queued = False
        return record

    def drop_ready(self) -> list[str]:
        """Empty the FIFO; the names of the registered records that were waiting."""
        names = [r.name for r in self._ready if not r.removed]
        for record in self._ready:
            record.queued = False
        self._ready.clear()
        return names

    def queued(self) -> int:
        """Records requested or waiting for a retry."""
        waiting = sum(1 for r in self._ready if not r.removed)
        return waiting + sum(1 for r in self.listeners if r.retry_seq != 0)

    # ------------------------------------------------------------------ calls

    def begin_call(self, record: ListenerRecord, revision: int, now: float) -> int:
        """Book a call of ``record`` with ``revision`` at ``now``; return its attempt."""
        attempt = record.attempt + 1 if record.busy_revision == revision else 1
        record.busy_since = now
        record.busy_revision = revision
        record.attempt = attempt
        record.next_retry_at = None
        record.retry_seq = 0  # a pending retry is superseded by this call
        record.slow_reported = False
        record.calls_total += 1
        self.running.add(record)
        return attempt

    def end_call(self, record: ListenerRecord) -> None:
        """``record``'s call is over."""
        self.running.discard(record)
        record.busy_since = None
        record.slow_reported = False

    def applied(self, record: ListenerRecord, revision: Revision[Any], wall: float) -> bool:
        """``record`` applied ``revision`` (its call is over); True when it had failed before
        (it recovered)."""
        recovered = record.consecutive_failures > 0
        record.applied_revision = revision.number
        record.delivered = revision
        record.consecutive_failures = 0
        record.last_error = ""
        record.last_success_wall = wall
        self.applies_total += 1
        return recovered

    def failed(
        self, record: ListenerRecord, revision: int, result: CallFailed, now: float, *, retry: bool
    ) -> tuple[OutcomeKind, str]:
        """``record``'s call with ``revision`` did not apply: book it and schedule its retry
        (unless ``retry`` is False or it rejected); return the outcome's kind and detail."""
        record.consecutive_failures += 1
        record.last_error = result.error
        record.next_retry_at = None
        if result.rejected:
            record.rejected_revision = revision
            self.rejections_total += 1
            return "rejected", ""
        self.failures_total += 1
        if not retry or result.retry_in is None:
            return "failed", ""
        self.retry_at(record, now + result.retry_in)
        return "failed", f"retry in {result.retry_in:g}s"

    def running_names(self) -> tuple[str, ...]:
        """Names of the listeners whose call is committed or running, sorted."""
        return tuple(sorted(r.name for r in self.running))

    def thread_cap(self, min_workers: int) -> int:
        """How many workers may exist: one per possible call, plus one free."""
        if self._call_cap is not None:
            calls = self._call_cap
        else:
            calls = len(self.listeners) + sum(1 for r in self.running if r.removed)
        return max(min_workers, calls + 1)

    def slow_deadline(self, slow_seconds: float) -> float | None:
        """When the earliest running call not yet reported becomes slow."""
        due: float | None = None
        for record in self.running:
            if not record.slow_reported and record.busy_since is not None:
                at = record.busy_since + slow_seconds
                due = at if due is None or at < due else due
        return due

    def notice_slow(self, now: float, slow_seconds: float) -> list[Outcome]:
        """Mark and report the running calls that outlived ``slow_seconds`` at ``now``."""
        late: list[Outcome] = []
        for record in self.running:
            if record.slow_reported or record.busy_since is None:
                continue
            if now >= record.busy_since + slow_seconds:
                record.slow_reported = True
                late.append(
                    Outcome(
                        "slow",
                        revision=record.busy_revision,
                        listener=record.name,
                        detail=f"running for {now - record.busy_since:.3g}s",
                        attempt=record.attempt,
                    )
                )
        return late

    # ------------------------------------------------------------------ retries

    def retry_at(self, record: ListenerRecord, due: float) -> None:
        """Schedule ``record``'s retry at clock time ``due``."""
        record.next_retry_at = due
        self._retry_seq += 1
        record.retry_seq = self._retry_seq
        heapq.heappush(self.retries, (due, self._retry_seq, record))

    def promote_due(self, now: float) -> None:
        """Request every record whose retry is due at ``now``."""
        heap = self.retries
        while heap and heap[0][0] <= now:
            _, seq, record = heapq.heappop(heap)
            if record.retry_seq == seq:
                record.retry_seq = 0
                self.request(record)

    def next_retry_due(self) -> float | None:
        """The earliest live retry's due time."""
        heap = self.retries
        while heap and heap[0][2].retry_seq != heap[0][1]:
            heapq.heappop(heap)  # stale: cancelled or superseded
        return heap[0][0] if heap else None

    def pending_retries(self, now: float, revision: int) -> list[PendingRetry]:
        """The retries not yet run, for the stop report."""
        return [
            PendingRetry("listener", r.name, revision, max(0.0, r.next_retry_at - now))
            for r in self.listeners
            if r.next_retry_at is not None and r.retry_seq
        ]

    def _slot_free(self) -> bool:
        return self._call_cap is None or len(self.running) < self._call_cap
