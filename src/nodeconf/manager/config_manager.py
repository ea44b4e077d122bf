"""The engine: turn source changes into validated revisions and deliver them to listeners.

What it promises:

* **Revisions.** Each distinct valid effective config gets the next number (1, 2, 3, ...).
  An invalid one is never delivered: the last-known-good revision stays in force and the
  error (with field paths) is kept for ``status()``. A deleted document keeps the last
  document in force (Volcano issue #5474; the source reports the deletion).
* **Per-listener delivery.** Each listener is driven to the newest revision on its own: a
  success records the revision it applied; an exception retries *that listener only*, with
  its own backoff; a listener is never called again for a revision it already applied, never
  concurrently with itself, and never with an older revision than one it was already given.
  ``RetryLater(delay)`` and ``Reject(reason)`` state intent. A listener registered with
  ``sections`` is called only when one of them changed since its own last apply (otherwise it
  is advanced silently).
* **Isolation.** A slow or hung listener occupies one dispatcher thread; the pool grows so the
  others keep receiving newer revisions (bound: ``Settings.max_dispatch_threads``, by default
  one more than the number of listeners). A call running longer than
  ``Settings.slow_listener_seconds`` is reported (an ``Outcome`` of kind ``"slow"`` and
  ``ListenerStatus.slow``).
* **Exact stop.** Phase 1 stops the source; phase 2 drains everything queued and waits for
  calls in progress, within the deadline. When ``stop()`` returns a completed report, no
  listener runs and none ever will; pending backoff retries are reported, never run.

Threads (see docs/threading.md): one *sync worker* ("nodeconf-sync") takes source keys from
the sync queue and computes revisions; *dispatchers* ("nodeconf-dispatch-N") take listener
keys from the delivery queue and call listeners; a short-lived *stopper* ("nodeconf-stop") runs
the stop sequence when ``stop()`` is called from a manager thread (a listener). The caller of
``start()`` runs the first sync itself. Every public method is safe from any thread.

Locks: ``_lock`` (with the condition ``_cond`` on it) guards every mutable field of the
manager and of its ``ListenerRecord``s. The work queues have their own locks. The manager may
call a queue while holding ``_lock`` (to read depths in predicates, and to schedule a retry in
the same step that records the failure); a queue never calls back into the manager and the
clock calls nobody, so the order is always manager -> queue -> clock, with no cycle. Sources,
listeners, the schema's parser and the sink are never called with ``_lock`` held.
``_transition`` serialises ``start()``'s source steps with the stop sequence, so
``source.stop`` never races ``source.start``.

Time: retry delays, ``RetryLater`` and ``slow_listener_seconds`` are measured on the injected
clock (a ``FakeClock`` in tests); the ``timeout`` arguments of ``start``, ``stop`` and
``wait_idle`` bound real waiting (they only bound failures) and are measured in real seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from nodeconf.concurrency.clock import Clock, default_clock
from nodeconf.concurrency.ratelimit import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
)
from nodeconf.concurrency.workqueue import QueueShutDown, ShutdownReport, WorkQueue
from nodeconf.errors import (
    DocumentError,
    Issue,
    LifecycleError,
    Reject,
    RetryLater,
    SourceError,
    volcano_aggregate,
)
from nodeconf.manager.lifecycle import Lifecycle
from nodeconf.manager.listeners import (
    Change,
    Listener,
    ListenerRecord,
    Revision,
    describe_listener,
)
from nodeconf.manager.outcomes import NullSink, Outcome, OutcomeKind, OutcomeSink
from nodeconf.manager.reports import ListenerStatus, ManagerStatus, PendingRetry, StopReport
from nodeconf.manager.settings import Settings
from nodeconf.manager.source import Source, SourceEvent, SourceState
from nodeconf.model.colocation import COLOCATION

if TYPE_CHECKING:
    from nodeconf.model.seam import ConfigSchema, Document, EffectiveConfig

__all__ = ["ConfigManager"]

log = logging.getLogger("nodeconf.manager")

L = TypeVar("L", bound=Listener)

#: Internal sync-queue key: "look for listener calls that have become slow". Scheduled with
#: ``add_after`` on the manager's clock, so slow calls are noticed without a timer thread.
_SLOW_CHECK = "nodeconf:slow-listener-check"

_LIVE = (Lifecycle.STARTING, Lifecycle.RUNNING)


class _AbortedCallError(Exception):
    """Stands for a listener call that ended by a ``BaseException`` (not retried)."""


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + max(0.0, timeout)


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


class _Context:
    """The ``SourceContext`` a manager hands its source. Thread-safety: any thread."""

    def __init__(self, manager: ConfigManager) -> None:
        self._manager = manager

    def notify(self, key: str) -> None:
        # Thread hand-off: a source thread queues a key; the sync worker takes it. A refused
        # add (the queue is shut down: the manager is stopping) is fine: intake has ended.
        self._manager._sync_queue.add(key)

    def label_keys(self) -> frozenset[str]:
        return self._manager._current_label_keys()

    def report(self, event: SourceEvent) -> None:
        self._manager._on_source_event(event)


class ConfigManager:
    """Keeps listeners supplied with the node's effective config, revision by revision.

    ``source`` provides the document and the node's labels (``nodeconf.sources``);
    ``listeners`` are registered in order (see ``add_listener``); ``schema`` is the config
    format (default: Volcano's colocation schema); ``settings`` tunes thresholds and retries;
    ``clock`` measures delays (default: the real clock; ``nodeconf.testing.FakeClock`` in
    tests); ``sink`` receives every ``Outcome`` (default: dropped).

    Use it as a context manager (``with ConfigManager(...) as manager:``) or call ``start()``
    and ``stop()``. See the module docstring for the guarantees and docs/threading.md for the
    threads.

    Thread-safety: every public method is safe from any thread at any time, including from
    inside a listener (except ``wait_idle``, which would wait for the calling listener).
    """

    def __init__(
        self,
        source: Source,
        listeners: Iterable[Listener] = (),
        *,
        schema: ConfigSchema | None = None,
        settings: Settings | None = None,
        clock: Clock | None = None,
        sink: OutcomeSink | None = None,
    ) -> None:
        if schema is None:
            schema = COLOCATION
        self._source = source
        self._schema: ConfigSchema = schema
        self._settings = settings if settings is not None else Settings()
        self._clock: Clock = clock if clock is not None else default_clock()
        self._sink: OutcomeSink = sink if sink is not None else NullSink()
        self._context = _Context(self)
        self._sections = frozenset(schema.section_names())
        s = self._settings
        # Each listener's backoff: exponential per listener, plus a bucket shared by all.
        self._retry_limiter = MaxOfRateLimiter[ListenerRecord](
            ItemExponentialFailureRateLimiter(
                s.retry_base_delay_seconds, s.retry_max_delay_seconds
            ),
            BucketRateLimiter(s.retry_bucket_rate_per_second, s.retry_bucket_burst, self._clock),
        )
        sync_limiter = MaxOfRateLimiter[str](
            ItemExponentialFailureRateLimiter(
                s.retry_base_delay_seconds, s.retry_max_delay_seconds
            ),
            BucketRateLimiter(s.retry_bucket_rate_per_second, s.retry_bucket_burst, self._clock),
        )
        # The queues are thread-safe on their own (their own locks).
        self._sync_queue = WorkQueue[str](
            clock=self._clock, rate_limiter=sync_limiter, name="nodeconf-sync"
        )
        self._delivery = WorkQueue[ListenerRecord](
            clock=self._clock, rate_limiter=self._retry_limiter, name="nodeconf-delivery"
        )

        # Serialises start()'s source steps with the stop sequence (never held with _lock
        # by a thread that then waits for a manager thread).
        self._transition = threading.Lock()
        self._lock = threading.Lock()
        # Notified on: lifecycle changes, a listener call finishing, a queue key done, a
        # manager thread exiting, a slow call noticed.
        self._cond = threading.Condition(self._lock)

        # ---- guarded by _lock ----
        self._lifecycle = Lifecycle.NEW
        self._listeners: list[ListenerRecord] = []  # registration order, not removed
        self._names: set[str] = set()  # names of registered listeners (unique)
        self._current: Revision | None = None  # last-known-good; written by the sync step
        self._latest_valid = False  # the latest evaluation produced a valid config
        self._last_error = ""
        self._issues: tuple[Issue, ...] = ()
        self._warnings: tuple[Issue, ...] = ()
        self._source_error = ""
        self._document_version = ""
        self._document_present = False
        self._label_keys: frozenset[str] = schema.label_keys(None)
        self._synced_revision = 0  # newest revision announced with a "synced" outcome
        self._holding_current = 0  # registered listeners whose applied_revision >= current
        # Sections that differ between two revisions, by (older number, newer number): every
        # listener a revision goes to shares the few entries. Cleared at each new revision.
        self._diff_cache: dict[tuple[int, int], frozenset[str]] = {}
        self._delivering = False  # listener keys may be queued (set by start)
        self._closed = False  # no listener call may start any more (set by stop)
        self._running: set[ListenerRecord] = set()  # records with a call in progress
        self._threads: list[threading.Thread] = []  # every thread this manager started
        self._live_workers = 0  # sync worker + dispatchers that have not exited
        self._dispatchers = 0  # dispatcher threads alive (started, not exited)
        self._dispatcher_seq = 0
        self._busy_dispatchers = 0  # dispatchers inside a listener call
        self._slow_check_due: float | None = None  # clock time of the scheduled slow check
        self._stop_begun = False  # a stop sequence was started (exactly one drives it)
        self._stop_report: StopReport | None = None  # set when the stop sequence ended
        self._source_started = False
        self._syncs_total = 0
        self._invalid_total = 0
        self._applied_total = 0
        self._failed_total = 0
        self._rejected_total = 0
        self._last_sync_wall: float | None = None
        self._last_success_wall: float | None = None

        # ---- owned by the sync step (start()'s thread before the worker exists, then only
        # the sync worker): the parse cache ----
        self._parsed_version: str | None = None
        self._parsed_text: str | bytes | None = None
        self._parsed_document: Document | None = None

        for listener in listeners:
            self.add_listener(listener)

    # ------------------------------------------------------------------ lifecycle

    @property
    def lifecycle(self) -> Lifecycle:
        """The current lifecycle state."""
        with self._lock:
            return self._lifecycle

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def schema(self) -> ConfigSchema:
        return self._schema

    @property
    def clock(self) -> Clock:
        return self._clock

    def start(self, timeout: float | None = None) -> None:
        """Prepare through the source, wait for its first complete state, compute the first
        revision, tell every listener once, then keep running in the background.

        Returns once every listener registered so far has finished its first call (a failure
        is logged and retried, not fatal), was reported slow, or ``timeout`` (real seconds)
        passed. Raises ``LifecycleError`` unless the manager is new, ``SourceError`` when the
        source cannot prepare or sync (the manager is then stopped). If the first effective
        config is invalid, start succeeds, no listener is called, and ``status()`` says why.
        If ``stop()`` is called meanwhile, ``start`` returns early; check ``lifecycle``.
        """
        deadline = _deadline(timeout)
        with self._lock:
            if self._lifecycle is not Lifecycle.NEW:
                raise LifecycleError(
                    f"start() called on a {self._lifecycle} manager: a manager starts once"
                )
            self._lifecycle = Lifecycle.STARTING
            self._cond.notify_all()
        with self._transition:
            with self._lock:
                if self._lifecycle is not Lifecycle.STARTING:  # stop() came first
                    return
            try:
                self._source.prepare(self._schema, _remaining(deadline))
                with self._lock:
                    self._source_started = True
                self._source.start(self._context)
                if not self._source.wait_synced(_remaining(deadline)):
                    raise SourceError(
                        f"the source did not deliver its first complete state within "
                        f"{timeout!r} seconds",
                        temporary=True,
                    )
                self._sync_once()  # the first revision, on this thread (no worker yet)
            except BaseException:
                self._abort_start()
                raise
            with self._lock:
                stopping = self._lifecycle is not Lifecycle.STARTING
            if stopping:  # stop() was called during the source steps: finish it here
                self._abort_start()
                return
            waiting_for = self._launch()
        self._wait_first_calls(waiting_for, deadline)
        with self._lock:
            if self._lifecycle is Lifecycle.STARTING:
                self._lifecycle = Lifecycle.RUNNING
                self._cond.notify_all()

    def _abort_start(self) -> None:
        """start() failed: stop the source (if started) and end STOPPED (transition held)."""
        with self._lock:
            started = self._source_started
            self._closed = True
        source_stopped = True
        if started:
            try:
                source_stopped = self._source.stop(self._settings.stop_timeout_seconds)
            except Exception:
                log.exception("source.stop() failed while aborting start()")
                source_stopped = False
        self._sync_queue.shut_down()
        self._delivery.shut_down()
        with self._lock:
            self._stop_begun = True
            self._stop_report = StopReport(completed=source_stopped, source_stopped=source_stopped)
            self._lifecycle = Lifecycle.STOPPED
            self._cond.notify_all()

    def _launch(self) -> list[ListenerRecord]:
        """Start the worker and the dispatchers, queue the first delivery for every listener.

        Returns the listeners start() waits for.
        """
        with self._lock:
            threads = [self._new_thread_locked(self._sync_loop, "nodeconf-sync", worker=True)]
            for _ in range(self._settings.dispatch_threads):
                threads.append(self._new_dispatcher_locked())
            self._delivering = True
            first = list(self._listeners) if self._current is not None else []
        for thread in threads:
            thread.start()
        for record in first:
            # Thread hand-off: the first delivery of each listener, to the dispatchers.
            self._delivery.add(record)
        return first

    def _wait_first_calls(self, records: list[ListenerRecord], deadline: float | None) -> None:
        def settled() -> bool:
            if self._lifecycle is not Lifecycle.STARTING:
                return True
            return all(
                r.removed
                or r.slow_reported
                or (r.busy_since is None and (r.calls_total > 0 or r.applied_revision > 0))
                for r in records
            )

        with self._lock:
            self._cond.wait_for(settled, _remaining(deadline))

    def __enter__(self) -> ConfigManager:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self, timeout: float | None = None) -> StopReport:
        """Stop in two phases and report what was left undone.

        Phase 1 stops the source (no new events). Phase 2 processes every key already queued
        and waits for listener calls in progress, until ``timeout`` real seconds have passed
        (``None``: ``Settings.stop_timeout_seconds``). Afterwards no new listener call starts,
        ever; with ``report.completed`` none is running either. Backoff retries not yet due
        are reported in ``pending_retries``, not run.

        Idempotent and safe from several threads at once: one caller drives the sequence, the
        others wait for it (each within its own timeout) and get the same report. From inside
        a listener (or any manager thread) it stops intake, hands the sequence to a stopper
        thread and returns at once without waiting for itself (``stopped_from_listener``).
        A manager that was never started is simply marked stopped.
        """
        budget = self._settings.stop_timeout_seconds if timeout is None else max(0.0, timeout)
        deadline = time.monotonic() + budget
        me = threading.current_thread()
        with self._lock:
            if self._lifecycle is Lifecycle.NEW:
                self._lifecycle = Lifecycle.STOPPED
                self._closed = True
                self._stop_begun = True
                self._stop_report = StopReport(completed=True)
                self._cond.notify_all()
            inside = me in self._threads
            drive = not self._stop_begun
            self._stop_begun = True
            if self._lifecycle in _LIVE:
                self._lifecycle = Lifecycle.STOPPING
                self._cond.notify_all()
            running = tuple(sorted(r.name for r in self._running))
            stopper = None
            if inside and drive:
                stopper = self._new_thread_locked(
                    self._stop_sequence_from_inside, "nodeconf-stop", worker=False
                )
        if inside:
            if stopper is not None:
                # Thread hand-off: the stop sequence moves to the stopper thread, so this
                # listener (or sink) returns without waiting for itself.
                stopper.start()
            log.info("stop() called from a manager thread: stopping in the background")
            return StopReport(completed=False, still_running=running, stopped_from_listener=True)
        if drive:
            self._stop_sequence(deadline)
        return self._await_stopped(deadline)

    def _stop_sequence_from_inside(self) -> None:
        self._stop_sequence(time.monotonic() + self._settings.stop_timeout_seconds)

    def _stop_sequence(self, deadline: float) -> None:
        """Run phase 1 and phase 2 (exactly one thread runs this per manager)."""
        if not self._transition.acquire(timeout=max(0.0, deadline - time.monotonic())):
            # start() is still inside the source's prepare/start/wait_synced: when it gets
            # out it sees STOPPING and returns; the next stop() call finishes the job.
            with self._lock:
                self._stop_begun = False
            log.warning("stop(): start() still busy with the source at the deadline")
            return
        try:
            self._stop_sequence_locked_transition(deadline)
        finally:
            self._transition.release()

    def _stop_sequence_locked_transition(self, deadline: float) -> None:
        with self._lock:
            if self._stop_report is not None:  # start() failed and already stopped
                return
            source_started = self._source_started
        # Phase 1: the source. When it returns, no further context.notify() calls happen.
        source_stopped = True
        if source_started:
            try:
                source_stopped = bool(self._source.stop(_remaining(deadline)))
            except Exception:
                log.exception("source.stop() failed")
                source_stopped = False
        # Phase 2a: drain the sync queue (queued source keys; they may queue deliveries).
        self._drain(self._sync_queue, deadline)
        # Phase 2b: drain the delivery queue (queued listener keys, calls in progress).
        self._drain(self._delivery, deadline)
        # From here on no listener call may start: a dispatcher that already took a key
        # checks _closed (under _lock) before calling.
        sync_final = self._sync_queue.shut_down()
        delivery_final = self._delivery.shut_down()
        now = self._clock.now()
        with self._lock:
            self._closed = True
            number = self._current.number if self._current is not None else 0
            pending = [
                PendingRetry("listener", r.name, number, max(0.0, r.next_retry_at - now))
                for r in self._listeners
                if r.next_retry_at is not None
            ]
        pending += [
            PendingRetry("source", key, 0, due_in)
            for key, due_in in sync_final.pending_retries
            if key != _SLOW_CHECK
        ]
        dropped = _dropped_names(sync_final, delivery_final)
        self._join_threads(deadline)
        with self._lock:
            still = tuple(sorted(r.name for r in self._running))
            report = StopReport(
                completed=source_stopped and not dropped and not still and self._live_workers == 0,
                pending_retries=tuple(pending),
                still_running=still,
                dropped=dropped,
                source_stopped=source_stopped,
            )
            self._stop_report = report
            self._maybe_stopped_locked()
            self._cond.notify_all()
        if pending:
            log.info("stopped with %d retries pending: %s", len(pending), pending)
        if still:
            log.warning("stop deadline passed with listeners still running: %s", ", ".join(still))

    def _drain(self, queue: WorkQueue[Any], deadline: float) -> None:
        """Stop intake of ``queue`` and wait (real time, on _cond) until it is drained.

        The queue's own drain timeout runs on the manager's clock (a FakeClock in tests), so
        it is started with no wait and the real-time waiting happens here; workers notify
        _cond after every ``done``.
        """
        queue.shut_down_with_drain(0)
        with self._lock:
            self._cond.wait_for(
                lambda: len(queue) == 0 and queue.in_flight() == 0,
                max(0.0, deadline - time.monotonic()),
            )

    def _join_threads(self, deadline: float) -> None:
        me = threading.current_thread()
        with self._lock:
            threads = [t for t in self._threads if t is not me]
        for thread in threads:
            if thread.ident is not None:  # started
                thread.join(max(0.0, deadline - time.monotonic()))

    def _await_stopped(self, deadline: float) -> StopReport:
        """Wait (bounded) for the stop sequence and the manager threads; return the report."""
        with self._lock:
            self._cond.wait_for(
                lambda: self._stop_report is not None, max(0.0, deadline - time.monotonic())
            )
        self._join_threads(deadline)
        with self._lock:
            report = self._stop_report
            if report is None:  # another thread drives the sequence and has not finished
                still = tuple(sorted(r.name for r in self._running))
                return StopReport(completed=False, still_running=still, source_stopped=False)
            if self._lifecycle is Lifecycle.STOPPED and not report.completed:
                # Whatever outlived the first deadline has finished since: say so, once.
                report = replace(
                    report, completed=report.source_stopped and not report.dropped, still_running=()
                )
                self._stop_report = report
            elif self._lifecycle is not Lifecycle.STOPPED:
                still = tuple(sorted(r.name for r in self._running))
                report = replace(report, completed=False, still_running=still)
            return report

    def _maybe_stopped_locked(self) -> None:
        """STOPPING -> STOPPED once the sequence ended and no manager thread is left."""
        if (
            self._lifecycle is Lifecycle.STOPPING
            and self._stop_report is not None
            and self._live_workers == 0
            and not self._running
        ):
            self._lifecycle = Lifecycle.STOPPED
            self._cond.notify_all()

    # ------------------------------------------------------------------ listeners

    def add_listener(
        self,
        listener: L,
        *,
        sections: Iterable[str] | None = None,
        name: str | None = None,
    ) -> L:
        """Register ``listener`` (an object with ``sync_config`` or a callable); return it.

        Called with the effective config, plus a ``Change`` if it accepts a second positional
        argument. With ``sections``, it is called only when one of those sections changed
        since its own last successful apply. ``name`` (default: the function's or class's
        name, made unique with ``#2``, ``#3``...) appears in outcomes and status.

        Allowed at any time from any thread: one added while running receives the current
        revision promptly (queued before this returns); one added after ``stop()`` began is
        recorded but never called. A listener removed and added again is a new registration
        (it receives the current revision), except while a call of its previous registration
        is still running: then that registration is taken back, so it is never called twice at
        once. Raises ``ValueError`` if it is already registered or a section is unknown,
        ``TypeError`` if it is not callable.
        """
        wanted: frozenset[str] | None = None
        if sections is not None:
            if isinstance(sections, str):
                raise TypeError("sections must be a collection of section names, not a string")
            wanted = frozenset(sections)
            unknown = sorted(wanted - self._sections)
            if unknown:
                raise ValueError(
                    f"unknown section(s) {', '.join(unknown)}; the {self._schema.name} schema "
                    f"has {', '.join(self._schema.section_names())}"
                )
        with self._lock:
            if any(r.target is listener for r in self._listeners):
                raise ValueError(f"listener {listener!r} is already registered")
            base = name if name is not None else describe_listener(listener)
            unique, n = base, 1
            while unique in self._names:
                n += 1
                unique = f"{base}#{n}"
            # Removed while its call was still running: take that registration back, so the
            # object is still never called by two threads at once and keeps its revisions.
            record = next(
                (r for r in self._running if r.target is listener and r.removed), None
            ) or ListenerRecord(listener, unique, wanted)
            record.removed = False
            record.name, record.sections = unique, wanted
            self._listeners.append(record)
            self._names.add(unique)
            if self._current is not None and record.applied_revision >= self._current.number:
                self._holding_current += 1
            # Intake ends when stop() begins: a listener added later is recorded, not called.
            deliver = (
                self._delivering
                and self._lifecycle in _LIVE
                and self._current is not None
                and record.applied_revision < self._current.number
            )
            grow = None
            if deliver:
                # Thread hand-off: its first delivery goes to the dispatchers. Queued under
                # _lock, so that stop() (which sets STOPPING under _lock before it drains)
                # either drains it or never sees it: it is never refused, never "dropped".
                self._delivery.add(record)
                grow = self._grow_locked()
        if grow is not None:
            grow.start()
        return listener

    def remove_listener(self, listener: Listener) -> bool:
        """Unregister ``listener``; False if it was not registered.

        No call of it starts after this returns; a call already in progress finishes (it is
        not waited for: this is safe from inside that very listener).
        """
        with self._lock:
            for record in self._listeners:
                if record.target is listener:
                    break
            else:
                return False
            record.removed = True
            record.next_retry_at = None
            self._listeners.remove(record)
            self._names.discard(record.name)
            if self._current is not None and record.applied_revision >= self._current.number:
                self._holding_current -= 1
            synced = self._synced_outcome_locked()
            forget, record.backing_off = record.backing_off, False
            self._cond.notify_all()
        if forget:
            self._retry_limiter.forget(record)
        if synced is not None:
            self._emit(synced)
        return True

    def listeners(self) -> tuple[object, ...]:
        """The registered listeners, in registration order."""
        with self._lock:
            return tuple(r.target for r in self._listeners)

    def changes_for(self, listener: Listener) -> Change | None:
        """What differs between ``listener``'s last successful apply and the current revision.

        ``None`` before the first revision exists. Raises ``ValueError`` if not registered.
        """
        with self._lock:
            record = next((r for r in self._listeners if r.target is listener), None)
            if record is None:
                raise ValueError(f"listener {listener!r} is not registered")
            current, previous = self._current, record.delivered
        if current is None:
            return None
        return self._change(current, previous, attempt=0)

    def current(self) -> Revision | None:
        """The last-known-good revision (``None`` before the first valid config)."""
        with self._lock:
            return self._current

    # ------------------------------------------------------------------ observing

    def status(self) -> ManagerStatus:
        """A consistent snapshot of the manager (queue depths are read just before it)."""
        sync_stats = self._sync_queue.stats()
        delivery_stats = self._delivery.stats()
        now = self._clock.now()
        with self._lock:
            listeners = tuple(self._listener_status_locked(r) for r in self._listeners)
            current = self._current
            return ManagerStatus(
                lifecycle=self._lifecycle,
                revision=current.number if current is not None and self._latest_valid else None,
                last_known_good_revision=current.number if current is not None else None,
                last_error=self._last_error,
                issues=self._issues,
                warnings=self._warnings,
                source_error=self._source_error,
                document_version=self._document_version,
                document_present=self._document_present,
                listeners=listeners,
                sync_queue_depth=sync_stats.depth,
                delivery_queue_depth=delivery_stats.depth,
                pending_retries=sum(1 for r in self._listeners if r.next_retry_at is not None),
                syncs_total=self._syncs_total,
                invalid_total=self._invalid_total,
                applied_total=self._applied_total,
                failed_total=self._failed_total,
                rejected_total=self._rejected_total,
                last_sync_wall=self._last_sync_wall,
                last_success_wall=self._last_success_wall,
                clock_now=now,
            )

    @staticmethod
    def _listener_status_locked(r: ListenerRecord) -> ListenerStatus:
        return ListenerStatus(
            name=r.name,
            sections=tuple(sorted(r.sections)) if r.sections is not None else None,
            applied_revision=r.applied_revision,
            consecutive_failures=r.consecutive_failures,
            next_retry_at=r.next_retry_at,
            busy_since=r.busy_since,
            slow=r.slow_reported,
            last_error=r.last_error,
            last_success_wall=r.last_success_wall,
            rejected_revision=r.rejected_revision,
            calls_total=r.calls_total,
        )

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True the moment nothing is queued, due or running; False after ``timeout`` real
        seconds. Event-driven (no polling). A retry not yet due on the clock does not count
        (advance a ``FakeClock`` past it, then wait again). Do not call from a listener.
        """
        deadline = _deadline(timeout)
        with self._lock:
            return self._cond.wait_for(self._idle_locked, _remaining(deadline))

    def _idle_locked(self) -> bool:
        # len() promotes delayed keys that are due, so "due" counts as not idle.
        return (
            len(self._sync_queue) == 0
            and self._sync_queue.in_flight() == 0
            and len(self._delivery) == 0
            and self._delivery.in_flight() == 0
            and not self._running
        )

    def __repr__(self) -> str:
        with self._lock:
            rev = self._current.number if self._current else None
            return (
                f"<ConfigManager {self._lifecycle} revision={rev} listeners={len(self._listeners)}>"
            )

    # ------------------------------------------------------------------ threads

    def _new_thread_locked(
        self, target: Callable[[], None], name: str, *, worker: bool
    ) -> threading.Thread:
        """Create (not start) a manager thread. ``worker``: a sync worker or dispatcher (they
        count in ``_live_workers``; the stopper does not)."""
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        if worker:
            self._live_workers += 1
        return thread

    def _new_dispatcher_locked(self) -> threading.Thread:
        self._dispatcher_seq += 1
        self._dispatchers += 1
        return self._new_thread_locked(
            self._dispatch_loop, f"nodeconf-dispatch-{self._dispatcher_seq}", worker=True
        )

    def _dispatch_cap_locked(self) -> int:
        cap = self._settings.max_dispatch_threads
        if cap is not None:
            return cap
        hung_removed = sum(1 for r in self._running if r.removed)
        return len(self._listeners) + hung_removed + 1

    def _grow_locked(self) -> threading.Thread | None:
        """Keep one dispatcher free (to take new keys and promote due retries) while below the
        cap. Returns a new, unstarted thread for the caller to start outside _lock."""
        if self._closed or not self._delivering:
            return None
        if self._dispatchers - self._busy_dispatchers > 0:
            return None
        if self._dispatchers >= self._dispatch_cap_locked():
            return None
        return self._new_dispatcher_locked()

    def _thread_exit(self, *, in_pool: bool) -> None:
        """Bookkeeping of a worker thread leaving (``in_pool``: a dispatcher still counted)."""
        with self._lock:
            self._live_workers -= 1
            if in_pool:
                self._dispatchers -= 1
            self._maybe_stopped_locked()
            self._cond.notify_all()

    # ------------------------------------------------------------------ the sync worker

    def _sync_loop(self) -> None:
        try:
            while True:
                try:
                    key = self._sync_queue.get()
                except QueueShutDown:
                    return
                # Thread hand-off: `key` was queued by a source thread (notify), by this
                # worker's own retry, or by a dispatcher (slow check); this worker owns it now.
                try:
                    if key == _SLOW_CHECK:
                        self._check_slow()
                    else:
                        self._sync_once()
                        self._sync_queue.forget(key)
                except Exception as exc:
                    log.exception("sync of %r failed; retrying with backoff", key)
                    with self._lock:
                        self._source_error = f"{type(exc).__name__}: {exc}"
                    self._emit(Outcome("failed", error=f"sync of {key!r} failed: {exc}"))
                    self._sync_queue.add_rate_limited(key)
                finally:
                    self._sync_queue.done(key)
                    with self._lock:
                        self._cond.notify_all()
        finally:
            self._thread_exit(in_pool=False)

    def _sync_once(self) -> None:
        """Read the source, evaluate, and publish a new revision if the config changed.

        Runs on the sync worker (or on start()'s thread before the worker exists).
        """
        state = self._source.snapshot()
        document, problem = self._document_for(state)
        label_keys = self._schema.label_keys(document) if problem is None else None
        with self._lock:
            self._syncs_total += 1
            self._last_sync_wall = self._clock.wall()
            self._document_version = state.document_version
            self._document_present = state.document is not None
            self._source_error = ""
            if label_keys is not None:  # an unreadable document keeps the last label keys
                self._label_keys = label_keys
                self._warnings = document.warnings if document is not None else ()
        if problem is not None:
            self._invalid(str(problem), (_document_issue(problem),))
            return
        evaluation = self._schema.evaluate(document, state.node_labels)
        if not evaluation.valid:
            self._invalid(volcano_aggregate(evaluation.errors), evaluation.errors)
            return
        self._accept(evaluation.config)

    def _document_for(self, state: SourceState) -> tuple[Document | None, DocumentError | None]:
        """The parsed document for ``state``, cached by document version (sync step only)."""
        text = state.document
        if text is None:
            # Deleted (or never existed): the last parsed document stays in force.
            return self._parsed_document, None
        if (
            self._parsed_document is not None
            and self._parsed_version == state.document_version
            and (state.document_version != "" or self._parsed_text == text)
        ):
            return self._parsed_document, None
        try:
            document = self._schema.parse(text)
        except DocumentError as exc:
            return None, exc.with_source(state.origin) if exc.source == "<document>" else exc
        self._parsed_version = state.document_version
        self._parsed_text = text
        self._parsed_document = document
        return document, None

    def _invalid(self, error: str, issues: tuple[Issue, ...]) -> None:
        with self._lock:
            self._latest_valid = False
            self._last_error = error
            self._issues = issues
            self._invalid_total += 1
            revision = self._current.number if self._current is not None else 0
        log.warning("effective config is invalid; keeping revision %d: %s", revision, error)
        self._emit(Outcome("invalid", revision=revision, error=error, issues=issues))

    def _accept(self, config: EffectiveConfig) -> None:
        """Publish ``config`` as a new revision if it differs (sync step only)."""
        with self._lock:
            previous = self._current
        if previous is not None and previous.config == config:
            new = None
            changed: frozenset[str] = frozenset()
        else:
            changed = self._schema.changed_sections(
                previous.config if previous is not None else None, config
            )
            number = previous.number + 1 if previous is not None else 1
            new = Revision(number=number, config=config, changed=frozenset(changed))
        with self._lock:
            recovered = not self._latest_valid and self._last_error != ""
            self._latest_valid = True
            self._last_error = ""
            self._issues = ()
            targets: list[ListenerRecord] = []
            synced = None
            grow = None
            if new is not None:
                self._current = new
                self._holding_current = 0
                self._diff_cache.clear()
                if self._delivering and not self._closed:
                    targets = list(self._listeners)
                    grow = self._grow_locked()
                synced = self._synced_outcome_locked()
            revision = self._current.number if self._current is not None else 0
        if recovered:
            self._emit(Outcome("recovered", revision=revision, detail="config valid again"))
        for record in targets:
            # Thread hand-off: each listener's key goes to the dispatchers; a key already
            # queued collapses, one in progress is re-queued when its call finishes.
            self._delivery.add(record)
        if grow is not None:
            grow.start()
        if synced is not None:
            self._emit(synced)

    def _check_slow(self) -> None:
        """Report listener calls that outlived ``slow_listener_seconds`` (sync worker)."""
        threshold = self._settings.slow_listener_seconds
        now = self._clock.now()
        outcomes: list[Outcome] = []
        next_due: float | None = None
        with self._lock:
            self._slow_check_due = None
            for record in self._running:
                if record.slow_reported or record.busy_since is None:
                    continue
                due = record.busy_since + threshold
                if now >= due:
                    record.slow_reported = True
                    outcomes.append(
                        Outcome(
                            "slow",
                            revision=record.busy_revision,
                            listener=record.name,
                            detail=f"running for {now - record.busy_since:.3g}s",
                            attempt=record.attempt,
                        )
                    )
                elif next_due is None or due < next_due:
                    next_due = due
            if next_due is not None:
                self._slow_check_due = next_due
                self._sync_queue.add_after(_SLOW_CHECK, next_due - now)
            if outcomes:
                self._cond.notify_all()
        for outcome in outcomes:
            log.warning("listener %s is slow: %s", outcome.listener, outcome.detail)
            self._emit(outcome)

    # ------------------------------------------------------------------ dispatchers

    def _dispatch_loop(self) -> None:
        left_pool = False  # _after_call took this thread out of the pool count
        try:
            while not left_pool:
                try:
                    record = self._delivery.get()
                except QueueShutDown:
                    return
                # Thread hand-off: `record` was queued by the sync worker (new revision),
                # add_listener/start (first delivery) or a retry; this dispatcher owns it
                # until done(), so the listener is never called by two threads at once.
                try:
                    left_pool = self._deliver(record)
                finally:
                    self._delivery.done(record)
                    with self._lock:
                        self._cond.notify_all()
        finally:
            self._thread_exit(in_pool=not left_pool)

    def _change(self, current: Revision, previous: Revision | None, attempt: int) -> Change:
        """The ``Change`` from ``previous`` to ``current`` (pure; any thread, no lock)."""
        return Change(
            revision=current.number,
            previous_revision=previous.number if previous is not None else 0,
            sections=self._diff(previous, current),
            previous=previous.config if previous is not None else None,
            attempt=attempt,
        )

    def _diff(self, previous: Revision | None, current: Revision) -> frozenset[str]:
        """Sections that differ from ``previous`` to ``current`` (all when there is none)."""
        if previous is None:
            return self._sections
        if previous.number == current.number:
            return frozenset()
        return frozenset(self._schema.changed_sections(previous.config, current.config))

    def _deliver(self, record: ListenerRecord) -> bool:
        """Bring one listener to the current revision (one call at most). True: exit thread."""
        with self._lock:
            current = self._current
            if (
                self._closed
                or record.removed
                or current is None
                or record.applied_revision >= current.number
                or record.rejected_revision >= current.number
            ):
                return False
            previous = record.delivered
            key = (previous.number if previous is not None else 0, current.number)
            sections = self._diff_cache.get(key)
            if sections is not None:  # the usual case: one lock section per call
                plan = self._plan_locked(record, current, previous, sections)
        if sections is None:  # the first listener of this pair computes it, outside _lock
            sections = self._diff(previous, current)
            with self._lock:
                self._diff_cache[key] = sections
                if not self._may_call_locked(record):  # stop() or remove_listener() came between
                    return False
                plan = self._plan_locked(record, current, previous, sections)
        if plan.skip:
            if plan.forget:
                self._retry_limiter.forget(record)
            if plan.synced is not None:
                self._emit(plan.synced)
            return False
        if plan.grow is not None:
            plan.grow.start()
        attempt = plan.attempt
        change = Change(
            revision=current.number,
            previous_revision=previous.number if previous is not None else 0,
            sections=sections,
            previous=previous.config if previous is not None else None,
            attempt=attempt,
        )
        returned = False
        error: Exception | None = None
        try:
            record.invoke(current.config, change)  # the listener, outside every lock
            returned = True
        except Exception as exc:  # a listener's failure is data: recorded, retried
            error = exc
        finally:
            # Also runs when a BaseException ends the call: the books never show a call that
            # is not running.
            if not returned and error is None:
                error = _AbortedCallError("the listener call was aborted by a BaseException")
            outcomes, exit_now = self._after_call(record, current, error)
            for outcome in outcomes:
                self._emit(outcome)
        return exit_now

    def _plan_locked(
        self,
        record: ListenerRecord,
        current: Revision,
        previous: Revision | None,
        sections: frozenset[str],
    ) -> _Plan:
        """Decide (under _lock) whether ``record`` needs a call for ``current``, and book it:
        either advance it silently (nothing it watches changed) or mark the call begun."""
        if previous is not None and (
            not sections or (record.sections is not None and not (sections & record.sections))
        ):
            self._advance_locked(record, current)
            forget, record.backing_off = record.backing_off, False
            return _Plan(skip=True, forget=forget, synced=self._synced_outcome_locked())
        now = self._clock.now()
        attempt = record.attempt + 1 if record.busy_revision == current.number else 1
        record.busy_since = now
        record.busy_revision = current.number
        record.attempt = attempt
        record.next_retry_at = None
        record.slow_reported = False
        record.calls_total += 1
        self._running.add(record)
        self._busy_dispatchers += 1
        due = now + self._settings.slow_listener_seconds
        if self._slow_check_due is None or self._slow_check_due > due:
            self._slow_check_due = due
            # Thread hand-off: the sync worker looks at slow calls when this comes due.
            self._sync_queue.add_after(_SLOW_CHECK, self._settings.slow_listener_seconds)
        return _Plan(skip=False, attempt=attempt, grow=self._grow_locked())

    def _may_call_locked(self, record: ListenerRecord) -> bool:
        return not self._closed and not record.removed

    def _advance_locked(self, record: ListenerRecord, current: Revision) -> None:
        """Mark ``record`` as holding ``current`` without a call (nothing it needs changed)."""
        if record.applied_revision < current.number:
            record.applied_revision = current.number
            record.next_retry_at = None
            # It holds what it needs: earlier failures no longer matter.
            record.consecutive_failures = 0
            record.last_error = ""
            if current is self._current:
                self._holding_current += 1

    def _after_call(
        self, record: ListenerRecord, revision: Revision, error: Exception | None
    ) -> tuple[list[Outcome], bool]:
        """Record a call's result (``error`` None: it applied) and schedule its retry.

        Returns the outcomes to emit and whether this dispatcher leaves the pool (it was
        taken out of the count here).
        """
        outcomes: list[Outcome] = []
        retry_in: float | None = None
        intents = (RetryLater, Reject, _AbortedCallError)
        backoff = error is not None and not isinstance(error, intents)
        # The limiter has its own lock: ask it before taking ours.
        delay = self._retry_limiter.when(record) if backoff else None
        forget = False
        with self._lock:
            now = self._clock.now()
            record.busy_since = None
            record.slow_reported = False  # "slow" describes a call in progress
            self._running.discard(record)
            self._busy_dispatchers -= 1
            name, number, attempt = record.name, revision.number, record.attempt
            if error is None:
                assert record.applied_revision < number  # strictly increasing, by _deliver
                recovered = record.consecutive_failures > 0
                if not record.removed and revision is self._current:
                    self._holding_current += 1
                forget, record.backing_off = record.backing_off, False
                record.applied_revision = number
                record.delivered = revision
                record.consecutive_failures = 0
                record.last_error = ""
                record.last_success_wall = self._last_success_wall = self._clock.wall()
                self._applied_total += 1
                outcomes.append(Outcome("applied", revision=number, listener=name, attempt=attempt))
                if recovered:
                    outcomes.append(
                        Outcome("recovered", revision=number, listener=name, attempt=attempt)
                    )
                synced = self._synced_outcome_locked()
                if synced is not None:
                    outcomes.append(synced)
            else:
                record.consecutive_failures += 1
                kind: OutcomeKind = "failed"
                if isinstance(error, RetryLater):
                    retry_in = error.delay_seconds
                    record.last_error = f"retry later: {error}"
                    self._failed_total += 1
                elif isinstance(error, Reject):
                    record.rejected_revision = number
                    record.last_error = f"rejected: {error.reason}"
                    self._rejected_total += 1
                    kind = "rejected"
                else:
                    retry_in = delay
                    record.backing_off = backoff
                    record.last_error = f"{type(error).__name__}: {error}"
                    self._failed_total += 1
                if record.removed or self._closed:
                    retry_in = None
                if record.removed:  # remove_listener() came during the call: drop its backoff
                    forget, record.backing_off = record.backing_off, False
                record.next_retry_at = None
                if retry_in is not None:
                    record.next_retry_at = now + retry_in
                    # Thread hand-off: the retry goes back to the queue; whichever dispatcher
                    # is free when it comes due (on the clock) takes it. Queued under _lock so
                    # that nobody sees this call finished before its retry is scheduled.
                    self._delivery.add_after(record, retry_in)
                outcomes.append(
                    Outcome(
                        kind,
                        revision=number,
                        listener=name,
                        error=record.last_error,
                        detail=f"retry in {retry_in:g}s" if retry_in is not None else "",
                        attempt=attempt,
                    )
                )
            # Shrink lazily: a dispatcher above the cap leaves after its call.
            leave = self._dispatchers > max(
                self._settings.dispatch_threads, self._dispatch_cap_locked()
            )
            if leave:
                self._dispatchers -= 1
            self._maybe_stopped_locked()
            # No notify here: the dispatcher notifies _cond right after done(record).
        if forget:
            self._retry_limiter.forget(record)
        if error is not None:
            log.warning(
                "listener %s failed to apply revision %d (attempt %d): %s",
                name,
                number,
                attempt,
                _one_line(error),
            )
        return outcomes, leave

    def _synced_outcome_locked(self) -> Outcome | None:
        """A "synced" outcome if every listener now holds the current revision (once each)."""
        current = self._current
        if current is None or self._synced_revision >= current.number:
            return None
        if self._holding_current < len(self._listeners):
            return None
        self._synced_revision = current.number
        return Outcome("synced", revision=current.number)

    # ------------------------------------------------------------------ outcomes, source

    def _emit(self, outcome: Outcome) -> None:
        """Hand ``outcome`` to the sink (never under _lock; a raising sink is logged)."""
        try:
            self._sink.emit(outcome)
        except Exception:
            log.exception("outcome sink %r failed on %s", self._sink, outcome.kind)

    def _on_source_event(self, event: SourceEvent) -> None:
        self._emit(Outcome("source", detail=event.kind, error=event.detail))

    def _current_label_keys(self) -> frozenset[str]:
        with self._lock:
            return self._label_keys


@dataclass(frozen=True, slots=True)
class _Plan:
    """What ``_plan_locked`` decided for one delivery."""

    skip: bool
    forget: bool = False
    synced: Outcome | None = None
    attempt: int = 0
    grow: threading.Thread | None = None


def _one_line(error: BaseException) -> str:
    """One line for a log: ``Type: message``."""
    return f"{type(error).__name__}: {error}"


def _document_issue(error: DocumentError) -> Issue:
    """An unreadable document as an ``Issue`` whose path is where the reading failed."""
    where = error.source
    if error.line is not None:
        where += f":{error.line}"
        if error.column is not None:
            where += f":{error.column}"
    return Issue(path=where, value=None, message=error.reason)


def _dropped_names(*reports: ShutdownReport[Any]) -> tuple[str, ...]:
    names: dict[str, None] = {}
    for report in reports:
        for key in report.dropped:
            if key == _SLOW_CHECK:
                continue
            names[key.name if isinstance(key, ListenerRecord) else str(key)] = None
    return tuple(names)
