"""The scheduler, driven directly by a hypothesis state machine with time as an input.

No thread is involved: the test plays the workers. The machine starts either normally or
from a restored fallback (``Scheduler.restore``, with the source's start-up resumed in a
``ResumeJob``). Rules notify, hand out jobs, finish them (syncs valid, invalid or failed;
calls succeeding, failing, rejecting, aborted by a ``BaseException``, running past the slow
threshold; the resume job synced or not), add and remove listeners, advance the clock and
stop at any point. After every step the invariants of ``nodeconf.manager.scheduler``
are checked.
"""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from nodeconf.manager.fallback import Fallback
from nodeconf.manager.jobs import (
    CallFailed,
    CallJob,
    EmitJob,
    Evaluated,
    Resumed,
    ResumeJob,
    SyncFailed,
    SyncJob,
)
from nodeconf.manager.lifecycle import Lifecycle
from nodeconf.manager.listeners import ListenerRecord, Revision
from nodeconf.manager.scheduler import Scheduler

pytestmark = pytest.mark.concurrency

SECTIONS = ("a", "b", "c")
CONFIGS = [(x, y, z) for x in (0, 1) for y in (0, 1) for z in (0, 1)]
SLOW = 30.0


def diff(old: Any, new: Any) -> frozenset[str]:
    """Sections whose value differs between two configs (tuples of section values)."""
    return frozenset(s for s, o, n in zip(SECTIONS, old, new, strict=True) if o != n)


class SchedulerMachine(RuleBasedStateMachine):
    """Plays workers against one ``Scheduler``."""

    @initialize(restored=st.booleans())
    def begin(self, restored: bool) -> None:
        self.now = 0.0
        self.s = Scheduler(
            sections=frozenset(SECTIONS),
            diff=diff,
            label_keys=frozenset(),
            slow_seconds=SLOW,
            call_cap=None,
        )
        self.s.lifecycle = Lifecycle.STARTING
        self.published: set[int] = set()  # valid revision numbers
        self.source_ready = not restored  # the source has its first complete state
        self.resume: list[ResumeJob] = []  # the resume job in hand
        if restored:
            fallback = Fallback((0, 0, 0), origin="state dir x", revision=5)
            self.s.restore(Revision(1, (0, 0, 0), frozenset(SECTIONS), restored=True), fallback)
            self.published.add(1)
            self.pending_notify = False  # nothing is synced before the source is
        else:
            self.s.start_delivering()
            self.pending_notify = True  # the first sync is wanted
        self.in_flight: list[SyncJob | CallJob | EmitJob] = []
        self.applied: dict[int, list[int]] = {}  # id(record) -> revisions applied
        self.records: list[ListenerRecord] = []
        self.closed_report: Any = None
        self.handed_after_close: list[Any] = []
        self.counter = 0

    # -- inputs -----------------------------------------------------------------------------

    @rule(key=st.sampled_from(["configmap", "node"]))
    def notify(self, key: str) -> None:
        self.s.notify(key)
        if not self.s.intake_closed:
            self.pending_notify = True

    @rule(sections=st.none() | st.sampled_from([frozenset({"a"}), frozenset({"b", "c"})]))
    def add_listener(self, sections: frozenset[str] | None) -> None:
        self.counter += 1
        record = ListenerRecord(lambda config: None, f"l{self.counter}", sections)
        self.records.append(record)
        self.applied[id(record)] = []
        self.s.register(record)

    @precondition(lambda self: self.s.listeners)
    @rule(data=st.data())
    def remove_listener(self, data: st.DataObject) -> None:
        record = data.draw(st.sampled_from(self.s.listeners))
        self.s.unregister(record)

    @rule(dt=st.sampled_from([0.1, 0.5, 1.0, 5.0, SLOW]))
    def advance(self, dt: float) -> None:
        self.now += dt

    @rule()
    def take_job(self) -> None:
        had_work = self.s.has_work()
        job = self.s.next_job(self.now)
        if had_work:  # a job, or the work was done in place (a listener advanced)
            assert job is not None or not self.s.has_work(), "has_work() promised a job"
        for held in self.in_flight:  # a call past the slow threshold was reported
            if isinstance(held, CallJob) and not self.s.closed:
                busy_since = held.record.busy_since
                assert busy_since is not None
                assert held.record.slow_reported == (self.now >= busy_since + SLOW)
        if job is None:
            assert not self.s.outbox.ready(), "an outcome left waiting with no job handed out"
            return
        if isinstance(job, ResumeJob):
            assert not self.resume, "one resume job at a time"
            assert not self.s.intake_closed, "no resume job once the stop began"
            self.resume.append(job)
            return
        if self.s.closed:
            self.handed_after_close.append(job)
            assert isinstance(job, EmitJob), "only outcomes go out after close"
        if isinstance(job, SyncJob):
            assert self.source_ready, "a sync before the source's first complete state"
            self.pending_notify = False
            assert not any(isinstance(j, SyncJob) for j in self.in_flight), "two syncs"
        if isinstance(job, CallJob):
            assert job.revision.number in self.published, "an unpublished revision"
            assert not any(
                isinstance(j, CallJob) and j.record is job.record for j in self.in_flight
            ), "two calls of one listener at once"
            assert job.record.applied_revision < job.revision.number
        self.in_flight.append(job)

    @precondition(lambda self: any(isinstance(j, SyncJob) for j in self.in_flight))
    @rule(kind=st.sampled_from(["valid", "invalid", "failed"]), config=st.sampled_from(CONFIGS))
    def finish_sync(self, kind: str, config: tuple[int, ...]) -> None:
        job = next(j for j in self.in_flight if isinstance(j, SyncJob))
        self.in_flight.remove(job)
        result: Evaluated | SyncFailed
        if kind == "failed":
            result = SyncFailed("boom", 0.5)
        elif kind == "invalid":
            result = Evaluated("v", True, error="bad", label_keys=frozenset(), warnings=())
        else:
            previous = job.previous
            new = None
            if previous is None or previous.restored or previous.config != config:
                number = previous.number + 1 if previous is not None else 1
                changed = diff(previous.config, config) if previous else frozenset(SECTIONS)
                new = Revision(number, config, changed)
                if not self.s.closed:
                    self.published.add(number)
            result = Evaluated("v", True, new, label_keys=frozenset(), warnings=())
        self.s.sync_finished(job, result, self.now, 0.0)

    @precondition(lambda self: any(isinstance(j, CallJob) for j in self.in_flight))
    @rule(
        data=st.data(),
        kind=st.sampled_from(["ok", "ok", "fail", "reject", "abort", "retry_later"]),
    )
    def finish_call(self, data: st.DataObject, kind: str) -> None:
        calls = [j for j in self.in_flight if isinstance(j, CallJob)]
        job = data.draw(st.sampled_from(calls))
        self.in_flight.remove(job)
        result: CallFailed | None = None
        if kind == "ok":
            applied = self.applied[id(job.record)]
            assert not applied or applied[-1] < job.revision.number, "revisions must increase"
            applied.append(job.revision.number)
        elif kind == "fail":
            result = CallFailed("ValueError: x", 0.5)
        elif kind == "reject":
            result = CallFailed("rejected: no", None, rejected=True)
        elif kind == "abort":
            result = CallFailed("SystemExit: 1", 1.0)
        else:
            result = CallFailed("retry later", 5.0)
        self.s.call_finished(job, result, self.now, 0.0)

    @precondition(lambda self: self.resume)
    @rule(synced=st.booleans())
    def finish_resume(self, synced: bool) -> None:
        self.resume.clear()
        if synced:
            self.source_ready = True
            self.pending_notify = not self.s.intake_closed
        self.s.resume_finished(Resumed(synced=synced))

    @precondition(lambda self: any(isinstance(j, EmitJob) for j in self.in_flight))
    @rule()
    def finish_emit(self) -> None:
        job = next(j for j in self.in_flight if isinstance(j, EmitJob))
        self.in_flight.remove(job)
        self.s.emit_finished()

    @precondition(lambda self: not self.s.intake_closed)
    @rule()
    def stop_intake(self) -> None:
        self.s.lifecycle = Lifecycle.STOPPING
        self.s.close_intake(self.now)

    @precondition(lambda self: self.s.intake_closed and not self.s.closed)
    @rule()
    def close(self) -> None:
        waiting = {r.name for r in self.s.listeners if r.next_retry_at is not None}
        running = {j.record.name for j in self.in_flight if isinstance(j, CallJob)}
        left = self.s.close(self.now)
        self.closed_report = left
        assert {p.target for p in left.pending_retries if p.kind == "listener"} == waiting
        assert set(left.still_running) == running

    # -- invariants -------------------------------------------------------------------------

    @invariant()
    def every_notification_is_followed_by_a_sync(self) -> None:
        if not hasattr(self, "s") or not self.pending_notify or self.s.closed:
            return
        if not self.source_ready:  # notifications wait for the source's first state
            return
        syncing = any(isinstance(j, SyncJob) for j in self.in_flight)
        emitting = any(isinstance(j, EmitJob) for j in self.in_flight)
        assert syncing or self.s.has_work() or (emitting and self.s.delivering)

    @invariant()
    def a_deadline_covers_every_pending_retry(self) -> None:
        if not hasattr(self, "s") or self.s.draining or self.s.closed:
            return
        due = self.s.next_deadline()
        for record in self.s.listeners:
            if record.next_retry_at is not None and record.retry_seq:
                assert due is not None
                assert due <= record.next_retry_at
        if self.s.sync.retry_at is not None:
            assert due is not None
            assert due <= self.s.sync.retry_at

    @invariant()
    def running_work_has_a_slow_deadline(self) -> None:
        if not hasattr(self, "s"):
            return
        due = self.s.next_deadline()
        for job in self.in_flight:
            if isinstance(job, CallJob) and not job.record.slow_reported:
                assert job.record.busy_since is not None
                assert due is not None
                assert due <= job.record.busy_since + SLOW

    @invariant()
    def books_match_the_jobs_in_hand(self) -> None:
        if not hasattr(self, "s"):
            return
        assert self.s.in_hand == len(self.in_flight)
        calls = {j.record for j in self.in_flight if isinstance(j, CallJob)}
        assert calls == self.s.running

    @invariant()
    def stopped_once_closed_and_nothing_in_hand(self) -> None:
        if not hasattr(self, "s") or not self.s.closed:
            return
        if not self.in_flight and not self.resume:
            assert self.s.lifecycle is Lifecycle.STOPPED

    @invariant()
    def the_fallback_is_in_force_until_a_valid_sync(self) -> None:
        if not hasattr(self, "s") or self.s.current is None:
            return
        restored = self.s.current.restored
        assert restored == (self.s.pub.restored_from != "")
        if restored:
            assert self.s.pub.evaluations_total == self.s.pub.invalid_total


SchedulerMachine.TestCase.settings = settings(
    max_examples=200, stateful_step_count=50, deadline=None
)
TestSchedulerMachine = SchedulerMachine.TestCase


def test_a_listener_advanced_without_a_call_still_gets_its_synced_outcome_out() -> None:
    """The last listener advanced without a call (its sections did not change) announces
    "synced" inside ``next_job``; that same ``next_job`` hands the outcome out instead of
    returning None, so no outcome waits while every worker sleeps (found under free
    threading: ``wait_idle`` never returned)."""
    s = Scheduler(
        sections=frozenset(SECTIONS),
        diff=diff,
        label_keys=frozenset(),
        slow_seconds=SLOW,
        call_cap=None,
    )
    s.lifecycle = Lifecycle.RUNNING
    record = ListenerRecord(lambda config: None, "l", frozenset({"a"}))
    s.register(record)
    s.start_delivering()
    for number, config in ((1, (0, 0, 0)), (2, (0, 1, 0))):
        sync = s.next_job(0.0)
        assert isinstance(sync, SyncJob)
        changed = diff(sync.previous.config, config) if sync.previous else frozenset(SECTIONS)
        new = Revision(number, config, changed)
        s.sync_finished(sync, Evaluated("v", True, new, label_keys=frozenset()), 0.0, 0.0)
        job = s.next_job(0.0)
        while isinstance(job, EmitJob):
            s.emit_finished()
            job = s.next_job(0.0)
        if number == 1:
            assert isinstance(job, CallJob)
            s.call_finished(job, None, 0.0, 0.0)
            job = s.next_job(0.0)
            assert isinstance(job, EmitJob)
            s.emit_finished()
            s.notify("configmap")
    # Revision 2 changed only section "b": the listener was advanced, and "synced" went out.
    assert record.applied_revision == 2
    assert not s.outbox.ready()
