"""The scheduler: every decision of the engine, as a pure state machine.

Rules of this module: everything that decides what the engine does next lives here, and
nothing here touches a thread, a lock, a clock or any I/O. The caller (``pool``, under one
lock) feeds it events and carries out the jobs it hands out. Time is an argument (``now``,
clock seconds); delays are computed by the caller's rate limiters and passed in.

Theory of operation
-------------------
There are three kinds of work, handed out by ``next_job`` in this order:

1. **Emit** (``EmitJob``): outcomes waiting in the *outbox* go to the sink, one batch at a
   time, in the order they were produced (a source's report, a call's result, a slow call).
   Sinks therefore never run under a lock and see outcomes in order.
2. **Sync** (``SyncJob``): read the source and evaluate. A notification marks the sync as
   wanted (``notify``); a burst of notifications is one sync, and a notification that arrives
   during a sync wants another one after it. One sync runs at a time. A failed sync is
   retried at ``now + delay``; a notification due now supersedes that retry.
3. **Calls** (``CallJob``): each listener is a key in a FIFO of records. A new revision, a
   first delivery or a due retry *requests* the record: it is queued once, or, while its call
   runs, marked to be queued again when the call ends. So a listener is never called twice at
   once, and always with the newest revision. A record whose watched sections did not change
   is advanced without a call. At most ``call_cap`` calls run at once (``None``: no bound).

Restore: when ``start()``'s source steps ran out and a ``Fallback`` was given, ``restore``
publishes it (a revision marked ``restored``) and requests every listener; a ``ResumeJob``
(handed out once, before syncs) carries on with the source's start-up on a worker, and syncs
wait until it reports the source's first complete state (``resume_finished``). Until then the
manager is not ``idle`` (it waits for the source, as long as the outage lasts); the stop
cancels the wait.

Every job handed out is *in hand* until its ``*_finished`` event. Deadlines
(``next_deadline``) are the earliest retry due and the moment a running call or sync becomes
slow; ``next_job`` reports slow work (an outcome) once it is late.

Stop: ``close_intake`` ignores further notifications and queues the retries due now (phase
2 of the stop: drain); ``drained`` says nothing is left to run; ``close`` refuses every new
sync and call (outcomes still go out) and reports what was left: retries not yet due, keys
never run, calls still running.

Parts, each pure and owned by the scheduler: ``syncs.SyncKey`` (the sync key),
``deliveries.Deliveries`` (the listener FIFO, retries, running calls),
``publication.Publication`` (the last-known-good and what the latest sync found) and
``outcomes.Outbox`` (outcomes waiting for the sink).

Invariants (checked by tests/manager/test_scheduler_machine.py after every step): a
listener's applied revisions strictly increase; nothing invalid is delivered; at most one
call per listener at a time; every notification is followed by a sync; every pending retry
and running job is covered by ``next_deadline``; after ``close`` only outcomes are handed
out; what is pending at ``close`` is reported.

Thread-safety: none; the owner guards every call with one lock (``pool.WorkerPool.lock``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nodeconf.manager.deliveries import Deliveries
from nodeconf.manager.fallback import Fallback
from nodeconf.manager.jobs import (
    CallFailed,
    CallJob,
    EmitJob,
    Evaluated,
    Job,
    Leftovers,
    Resumed,
    ResumeJob,
    SyncFailed,
    SyncJob,
)
from nodeconf.manager.lifecycle import Lifecycle
from nodeconf.manager.listeners import Change, ListenerRecord, Revision
from nodeconf.manager.outcomes import Outbox, Outcome
from nodeconf.manager.publication import Publication
from nodeconf.manager.reports import PendingRetry
from nodeconf.manager.syncs import SyncKey

__all__ = ["Scheduler"]


class Scheduler:
    """The engine's decisions (see the module docstring).

    ``sections``: every section name of the schema; ``diff(old, new)``: the sections that
    differ between two configs (pure, cheap); ``slow_seconds``: when running work is slow;
    ``call_cap``: listener calls at once (None: unbounded); ``record_outcomes``: False when
    nobody receives outcomes (they are then not built; source reports and slow notices are
    still queued).

    Thread-safety: none (see the module docstring).
    """

    def __init__(
        self,
        *,
        sections: frozenset[str],
        diff: Callable[[object, object], frozenset[str]],
        label_keys: frozenset[str],
        slow_seconds: float,
        call_cap: int | None,
        record_outcomes: bool = True,
    ) -> None:
        self._slow_seconds = slow_seconds
        self.lifecycle = Lifecycle.NEW
        self.delivering = False  # listeners may be called (set by start)
        self.intake_closed = False  # notifications are ignored (stop's phase 2)
        self.draining = False  # retries not yet due stay pending
        self.closed = False  # no job is handed out any more
        # Listener records, their FIFO, retries and running calls.
        self.deliveries = Deliveries(call_cap)
        self.listeners = self.deliveries.listeners  # registration order (the same list)
        self.running = self.deliveries.running  # records whose call is committed (the same set)
        self.in_hand = 0  # jobs handed out and not finished (the resume job aside)
        # After a fallback: the source's start-up resumes on a worker; syncs wait for it.
        self.resume_wanted = False  # a ResumeJob must be handed out
        self.resume_in_hand = False  # the ResumeJob runs
        self.awaiting_source = False  # no first complete state yet: syncs wait
        # The sync.
        self.sync = SyncKey()
        # Outcomes waiting for the sink, and whether a batch is in hand.
        self.outbox = Outbox(record_outcomes)
        # Publication: the last-known-good and what the latest sync found.
        self.pub = Publication(sections, diff, label_keys)
        # The Change of first attempts, by (previous revision, current revision): every
        # listener moving between the same two revisions gets the same immutable object
        # (a frozen dataclass costs microseconds to build). Emptied at each publication.
        self._first_changes: dict[tuple[int, int], Change[Any]] = {}
        self._synced_revision = 0  # newest revision announced "synced"
        # Outcomes queued up to the first "synced" (start() waits for the sink to have them).
        self.first_synced_mark: int | None = None
        self._holding_current = 0  # registered records with applied_revision >= current
        self.last_success_wall: float | None = None

    @property
    def current(self) -> Revision[Any] | None:
        """The last-known-good revision."""
        return self.pub.current

    @property
    def label_keys(self) -> frozenset[str]:
        """The node label keys that matter for the current document."""
        return self.pub.label_keys

    # ------------------------------------------------------------------ inputs: source side

    def notify(self, key: str) -> None:
        """A source said ``key`` changed: a sync is wanted (ignored once intake closed)."""
        if self.intake_closed:
            return
        self.sync.notify(key)

    def report(self, outcome: Outcome) -> None:
        """Queue ``outcome`` for the sink (a source event; also after close, see
        ``take_outbox``)."""
        self.outbox.extend((outcome,), always=True)

    def start_delivering(self) -> None:
        """``start()``'s source steps are done: run the first sync, then deliver."""
        self.delivering = True
        self.sync.wanted = True

    def restore(self, revision: Revision[Any], fallback: Fallback[Any]) -> None:
        """``start()``'s source steps ran out: publish ``revision`` (``fallback``'s config,
        ``restored``) and deliver it; the source's steps resume in a ``ResumeJob``."""
        self.outbox.extend(self.pub.restore(revision, fallback), always=True)
        self.delivering = True
        self.awaiting_source = True
        self.resume_wanted = True
        self._holding_current = 0
        for record in self.listeners:
            self.deliveries.request(record)

    def resume_failed(self, error: str) -> None:
        """A step of the ``ResumeJob`` failed (``error``, one line): report it now."""
        self.pub.source_error = error
        self.outbox.extend((Outcome("source", detail="source-error", error=error),), always=True)

    def resume_finished(self, result: Resumed) -> None:
        """The ``ResumeJob`` ended: with the source synced, the first sync follows (without a
        first state, syncs keep waiting: the fallback stays)."""
        self.resume_in_hand = False
        if result.synced:
            self.awaiting_source = False
            if not self.intake_closed:
                self.sync.wanted = True
        self._maybe_stopped()

    # ------------------------------------------------------------------ inputs: listeners

    def register(self, record: ListenerRecord) -> None:
        """Add ``record`` (last in order); request its first delivery when there is one."""
        self.listeners.append(record)
        current = self.pub.current
        if current is not None and record.applied_revision >= current.number:
            self._holding_current += 1
        if (
            self.delivering
            and self.lifecycle in (Lifecycle.STARTING, Lifecycle.RUNNING)
            and current is not None
            and record.applied_revision < current.number
        ):
            self.deliveries.request(record)

    def unregister(self, record: ListenerRecord) -> None:
        """Remove ``record``: no call of it is handed out from now on; its retry is dropped."""
        self.deliveries.remove(record)
        current = self.pub.current
        if current is not None and record.applied_revision >= current.number:
            self._holding_current -= 1
        self._synced_check()

    def take_back(self, record: ListenerRecord) -> None:
        """A removed record whose call still runs is registered again (same object)."""
        record.removed = False
        self.register(record)

    # ------------------------------------------------------------------ handing out work

    def has_work(self) -> bool:
        """A job is ready for a worker now (retries due later do not count)."""
        if self.outbox.ready():
            return True
        if self.closed:
            return False
        if self.resume_wanted and not self.intake_closed:
            return True
        sync = self.sync
        if sync.wanted and not sync.in_hand and self.delivering and not self.awaiting_source:
            return True
        return self.deliveries.has_ready()

    def next_job(self, now: float) -> Job | None:
        """The next job for a worker asking at ``now`` (None: nothing to do now)."""
        if not self.closed:
            if self.deliveries.retries or self.sync.retry_at is not None:
                self._promote_due(now)
            if self.running or self.sync.since is not None:
                self._notice_slow(now)
        if self.outbox.ready():
            self.in_hand += 1
            return EmitJob(self.outbox.take_batch())
        if self.closed:  # only outcomes still go out
            return None
        if self.resume_wanted and not self.intake_closed:
            self.resume_wanted = False
            self.resume_in_hand = True
            return ResumeJob()
        if (
            self.sync.wanted
            and not self.sync.in_hand
            and self.delivering
            and not self.awaiting_source
        ):
            self.in_hand += 1
            return SyncJob(self.sync.take(now), self.pub.current)
        record = self.deliveries.pop_ready()
        while record is not None:
            job = self._plan(record, now)
            if job is not None:
                return job
            record = self.deliveries.pop_ready()
        if self.outbox.ready():  # a listener advanced without a call announced "synced"
            self.in_hand += 1
            return EmitJob(self.outbox.take_batch())
        return None

    def next_deadline(self) -> float | None:
        """The earliest clock time someone must ask again: a retry coming due, or running
        work becoming slow. None: nothing is scheduled."""
        due: float | None = None
        if not self.draining and not self.closed:
            due = self.deliveries.next_retry_due()
            retry = self.sync.retry_at
            if retry is not None and (due is None or retry < due):
                due = retry
        at = self.sync.slow_at(self._slow_seconds)
        if at is not None and (due is None or at < due):
            due = at
        if self.running:
            at_call = self.deliveries.slow_deadline(self._slow_seconds)
            if at_call is not None and (due is None or at_call < due):
                due = at_call
        return due

    def thread_cap(self, min_workers: int) -> int:
        """How many workers may exist: one per possible call, plus one free (and one more
        while the resume job runs)."""
        return self.deliveries.thread_cap(min_workers) + self.resume_in_hand

    # ------------------------------------------------------------------ results

    def emit_finished(self) -> None:
        """The sink has the batch handed out."""
        self.outbox.finished()
        self.in_hand -= 1
        self._maybe_stopped()

    def sync_finished(
        self, job: SyncJob, result: Evaluated | SyncFailed, now: float, wall: float
    ) -> None:
        """Record a sync's result (publish a valid new revision; schedule a failed retry);
        ``wall`` is the wall-clock reading for people (``last_sync_wall``)."""
        self.sync.finished()
        self.in_hand -= 1
        if self.closed:  # stop() reported it as dropped: what it read stays unused
            self._maybe_stopped()
            return
        if isinstance(result, SyncFailed):
            self.pub.source_error = result.error
            retry_at = None if self.intake_closed else now + result.delay_seconds
            keys = self.sync.failed(job.keys, retry_at)
            self.outbox.add("failed", error=f"sync of {keys} failed: {result.error}")
            return
        self.sync.succeeded()
        self._publish(result, wall)

    def call_finished(
        self, job: CallJob, result: CallFailed | None, now: float, wall: float
    ) -> None:
        """Record a call's result (None: applied) and schedule its retry."""
        record, revision = job.record, job.revision
        self.in_hand -= 1
        self.deliveries.end_call(record)
        number, attempt = revision.number, job.change.attempt
        if result is None:
            recovered = self.deliveries.applied(record, revision, wall)
            self.last_success_wall = wall
            if not record.removed and revision is self.pub.current:
                self._holding_current += 1
            if self.outbox.recording:
                self.outbox.add("applied", revision=number, listener=record.name, attempt=attempt)
                if recovered:
                    name = record.name
                    self.outbox.add("recovered", revision=number, listener=name, attempt=attempt)
            if self._holding_current >= len(self.listeners):
                self._synced_check()
        else:
            retry = not (record.removed or self.closed)
            kind, detail = self.deliveries.failed(record, number, result, now, retry=retry)
            self.outbox.add(
                kind,
                revision=number,
                listener=record.name,
                error=result.error,
                detail=detail,
                attempt=attempt,
            )
        if record.again:
            record.again = False
            if self.delivering and not self.closed:
                self.deliveries.request(record)
        if self.closed:
            self._maybe_stopped()

    # ------------------------------------------------------------------ stop

    def close_intake(self, now: float) -> None:
        """Phase 2 begins: ignore notifications, queue the retries due now, keep later ones
        pending (a resume job not yet handed out never is)."""
        self.intake_closed = True
        self.resume_wanted = False
        self._promote_due(now)
        self.draining = True

    def drained(self) -> bool:
        """Nothing is left to run: no job ready or in hand, no outcome waiting."""
        return (
            not self.deliveries.has_queued()
            and not (self.sync.wanted and self._syncing())
            and self.in_hand == 0
            and not self.resume_in_hand
            and not self.outbox.waiting()
        )

    def close(self, now: float) -> Leftovers:
        """No job is handed out from now on; report what is left (the running calls finish
        and are recorded, but schedule nothing)."""
        self.closed = True
        number = self.current.number if self.current is not None else 0
        pending = self.deliveries.pending_retries(now, number)
        retry_at = self.sync.retry_at
        for key in self.sync.pending_keys():
            assert retry_at is not None
            pending.append(PendingRetry("source", key, 0, max(0.0, retry_at - now)))
        dropped = dict.fromkeys(self.deliveries.drop_ready())
        dropped.update(dict.fromkeys(self.sync.dropped_keys(self._syncing())))
        self.sync.wanted = False
        self._maybe_stopped()
        return Leftovers(tuple(pending), tuple(dropped), self.deliveries.running_names())

    def take_outbox(self) -> tuple[Outcome, ...]:
        """Everything waiting for the sink (after ``close``: the stop emits it)."""
        return self.outbox.take()

    # ------------------------------------------------------------------ observing

    def running_names(self) -> tuple[str, ...]:
        """Names of the listeners whose call is committed or running, sorted."""
        return self.deliveries.running_names()

    def idle(self, now: float) -> bool:
        """Nothing queued, in hand or due at ``now`` (retries due later do not count)."""
        if self.deliveries.has_queued() or self.in_hand or self.outbox.waiting():
            return False
        if (self.sync.wanted and self._syncing()) or self.resume_wanted or self.resume_in_hand:
            return False
        if self.draining or self.closed:
            return True
        due = self.deliveries.next_retry_due()
        if due is not None and due <= now:
            return False
        return self.sync.retry_at is None or self.sync.retry_at > now

    def sections_between(
        self, previous: Revision[Any] | None, current: Revision[Any]
    ) -> frozenset[str]:
        """Sections that differ from ``previous`` to ``current`` (all when there is none)."""
        return self.pub.sections_between(previous, current)

    def waiting_keys(self) -> int:
        """Source keys waiting for a sync (notified, or failed and due for a retry)."""
        return self.sync.waiting_keys()

    def queued_deliveries(self) -> int:
        """Listener records requested or waiting for a retry."""
        return self.deliveries.queued()

    # ------------------------------------------------------------------ internals

    def _syncing(self) -> bool:
        """Syncs may run: delivery started and the source has its first complete state."""
        return self.delivering and not self.awaiting_source

    def _maybe_stopped(self) -> None:
        """STOPPING -> STOPPED once closed with nothing in hand."""
        if (
            self.closed
            and self.in_hand == 0
            and not self.resume_in_hand
            and self.lifecycle is Lifecycle.STOPPING
        ):
            self.lifecycle = Lifecycle.STOPPED

    def _plan(self, record: ListenerRecord, now: float) -> CallJob | None:
        """Commit a call for ``record`` (None: nothing to do, or advanced without a call)."""
        current = self.pub.current
        if (
            record.removed
            or current is None
            or record.applied_revision >= current.number
            or record.rejected_revision >= current.number
        ):
            return None
        previous = record.delivered
        sections = self.pub.sections_between(previous, current)
        if previous is not None and (
            not sections or (record.sections is not None and not sections & record.sections)
        ):
            self._advance(record, current)
            return None
        retrying = record.consecutive_failures > 0
        attempt = self.deliveries.begin_call(record, current.number, now)
        self.in_hand += 1
        key = (previous.number if previous is not None else 0, current.number)
        change = self._first_changes.get(key) if attempt == 1 else None
        if change is None:
            change = Change(
                revision=current.number,
                previous_revision=key[0],
                sections=sections,
                previous=previous.config if previous is not None else None,
                attempt=attempt,
                restored=current.restored,
            )
            if attempt == 1:
                self._first_changes[key] = change
        return CallJob(record, current, change, retrying)

    def _advance(self, record: ListenerRecord, current: Revision[Any]) -> None:
        """``record`` holds ``current`` without a call (nothing it watches changed)."""
        record.applied_revision = current.number
        record.next_retry_at = None
        record.retry_seq = 0
        record.consecutive_failures = 0
        record.last_error = ""
        self._holding_current += 1
        self._synced_check()

    def _promote_due(self, now: float) -> None:
        """Request the retries due at ``now`` (not while draining)."""
        if self.draining:
            return
        self.deliveries.promote_due(now)
        self.sync.promote_due(now)

    def _notice_slow(self, now: float) -> None:
        """Report running calls (and the sync) that outlived ``slow_seconds``."""
        slow = self._slow_seconds
        since = self.sync.since
        if since is not None and not self.sync.slow_reported and now >= since + slow:
            self.sync.slow_reported = True
            slow_sync = Outcome("slow", detail=f"sync running for {now - since:.3g}s")
            self.outbox.extend((slow_sync,), always=True)
        if self.running:
            self.outbox.extend(self.deliveries.notice_slow(now, slow), always=True)

    def _synced_check(self) -> None:
        """Announce "synced" once per revision, when every listener holds it."""
        current = self.pub.current
        if current is None or self._synced_revision >= current.number:
            return
        if self._holding_current < len(self.listeners):
            return
        self._synced_revision = current.number
        self.outbox.add("synced", revision=current.number)
        if self.first_synced_mark is None:
            self.first_synced_mark = self.outbox.queued_total

    def _publish(self, result: Evaluated, wall: float) -> None:
        """Publish one sync's result: a new revision goes to every listener."""
        before = self.pub.current
        outcomes, grew = self.pub.publish(result, wall)
        if grew and not self.intake_closed:
            # The source filters node updates by the label keys in force when they arrive:
            # one this document made relevant may have changed after the snapshot and been
            # filtered out. Read the source once more.
            self.sync.wanted = True
        self.outbox.extend(outcomes)
        if self.pub.current is before:
            return
        self._first_changes.clear()
        self._holding_current = 0
        if self.delivering and not self.closed:
            for record in self.listeners:
                self.deliveries.request(record)
        self._synced_check()
