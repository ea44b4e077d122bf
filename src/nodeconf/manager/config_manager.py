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
* **Isolation.** A slow or hung listener occupies one worker thread; whenever a worker enters
  a listener call and no other worker is free, the pool grows, so the others keep receiving
  newer revisions (bound: one more than the number of listeners, or
  ``Settings.max_dispatch_threads`` calls at once). A call running longer than
  ``Settings.slow_listener_seconds`` is reported (an ``Outcome`` of kind ``"slow"`` and
  ``ListenerStatus.slow``).
* **Exact stop.** Phase 1 stops the source; phase 2 drains everything queued and waits for
  calls in progress, within the deadline. At the deadline (or once drained) the manager
  closes: a call is *committed* in the same locked step that checks it is not closed, so every
  call that can still begin after ``stop()`` returns is listed in ``still_running``; with a
  completed report none is running and none ever will. Pending backoff retries are reported,
  never run.
* **Quiet when idle.** While nothing is queued, running or scheduled, every manager thread
  sleeps without a timeout: no wake-up at all. A thread sleeps with a deadline only while a
  retry is pending or a listener call is running (to notice it becoming slow), and a deadline
  that no longer applies is cancelled as soon as it is known to be stale.

Threads (see docs/threading.md): a pool of identical *workers* ("nodeconf-worker-N"); a
short-lived *stopper* ("nodeconf-stop") runs the stop sequence when ``stop()`` is called from a
manager thread (a listener). The caller of ``start()`` runs the first sync itself. Every public
method is safe from any thread.

Scheduling. The manager keeps one FIFO of *keys* (the sync key, and listener records), with
client-go's work-queue semantics, under its own lock: a key is queued at most once (a burst of
source notifications is one sync, and the sync always reads the latest state, so the last
state wins); a key being processed is never handed to a second worker; a key requested while it
is being processed is queued again when it is done; retries wait on the clock and a request
due now supersedes a pending retry. The worker that runs a sync goes straight on to the
deliveries it produced, in the same thread: a change reaches a listener with a single thread
hand-off (source -> worker). Isolation is kept without extra hand-offs on the fast path: a
worker about to enter a listener call makes sure another worker is free (wakes an idle one
only if there is other work, or a deadline nobody is watching; starts one if none is free).

Locks: ``_lock`` guards every mutable field of the manager, of its ``ListenerRecord``s and of
its ``_Worker``s; ``_cond`` and each worker's condition share it. Sources, listeners, the
sink and the schema's ``parse``/``evaluate`` are never called with ``_lock`` held. Under it
the manager reads the clock, asks the rate limiters and calls the schema's pure, cheap
``changed_sections`` (order: manager -> limiter -> clock; none of them calls back). A source
may hold its own lock while it calls ``notify`` (order: source -> manager).
``_transition`` serialises ``start()``'s source steps with the stop sequence, so
``source.stop`` never races ``source.start``.

Time: retry delays, ``RetryLater`` and ``slow_listener_seconds`` are measured on the injected
clock (a ``FakeClock`` in tests); the ``timeout`` arguments of ``start``, ``stop`` and
``wait_idle`` bound real waiting (they only bound failures) and are measured in real seconds.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections import deque
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
from nodeconf.manager.source import Cancellable, Source, SourceEvent, SourceState
from nodeconf.model.colocation import COLOCATION

if TYPE_CHECKING:
    from nodeconf.model.seam import ConfigSchema, Document

__all__ = ["ConfigManager"]

log = logging.getLogger("nodeconf.manager")

L = TypeVar("L", bound=Listener)

_LIVE = (Lifecycle.STARTING, Lifecycle.RUNNING)

# A worker's state (``_Worker.state``).
_IDLE = 0  # waiting on its condition (in ``_idle``), with ``wake_at`` as its deadline
_AWAKE = 1  # running manager code, not inside a listener call: it will look for work
_CALLING = 2  # committed to (or inside) a listener call
_LEFT = 3  # left the pool (it only returns from its thread function)


class _SyncKey:
    """The one queue key that stands for "read the source and evaluate". Immutable."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<sync>"


_SYNC = _SyncKey()

#: The rate limiter's key for the sync's own backoff.
_SYNC_LIMIT_KEY = "sync"


class _AbortedCallError(Exception):
    """Stands for a listener call that ended by a ``BaseException`` (not retried)."""


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + max(0.0, timeout)


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


class _Worker:
    """One worker thread's scheduling state; every field is guarded by the manager's _lock
    (``cond`` is a condition on that lock, ``thread`` is set once at creation)."""

    __slots__ = ("cond", "state", "thread", "wake_at")

    def __init__(self, lock: threading.Lock) -> None:
        self.cond = threading.Condition(lock)
        self.state = _AWAKE
        self.wake_at: float | None = None  # the clock deadline it sleeps until (idle only)
        self.thread: threading.Thread | None = None


# Jobs: what a worker runs outside the lock. Each is built under _lock and then owned by the
# worker that took it (immutable afterwards).


class _SyncJob:
    """Read the source and evaluate. ``keys``: the source keys it answers."""

    __slots__ = ("keys",)

    def __init__(self, keys: frozenset[str]) -> None:
        self.keys = keys


class _CallJob:
    """One committed listener call."""

    __slots__ = ("attempt", "change", "name", "record", "revision")

    def __init__(
        self, record: ListenerRecord, revision: Revision, change: Change, name: str
    ) -> None:
        self.record = record
        self.revision = revision
        self.change = change
        self.name = name
        self.attempt = change.attempt


class _GrowJob:
    """Start a new worker (outside the lock) before committing to a call."""

    __slots__ = ("thread",)

    def __init__(self, thread: threading.Thread) -> None:
        self.thread = thread


class _PassJob:
    """Nothing to run: only step outside the lock (to emit outcomes before sleeping)."""

    __slots__ = ()


_PASS = _PassJob()

_Job = _SyncJob | _CallJob | _GrowJob | _PassJob


@dataclass(frozen=True, slots=True)
class _Evaluated:
    """What one sync computed outside the lock (published under it).

    ``new`` is the new revision (None: the config did not change, or it is invalid);
    ``error``/``issues`` say why it is invalid; ``label_keys``/``warnings`` are None when the
    document could not be read (the last ones stay).
    """

    state: SourceState
    new: Revision | None = None
    error: str = ""
    issues: tuple[Issue, ...] = ()
    label_keys: frozenset[str] | None = None
    warnings: tuple[Issue, ...] | None = None


class _Context:
    """The ``SourceContext`` a manager hands its source. Thread-safety: any thread."""

    def __init__(self, manager: ConfigManager) -> None:
        self._manager = manager

    def notify(self, key: str) -> None:
        # Thread hand-off: a source thread queues the sync key; a worker takes it.
        self._manager._on_notify(key)

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
        # Outcomes are built only when somebody receives them (the default sink drops them).
        self._emitting = not isinstance(self._sink, NullSink)
        self._context = _Context(self)
        self._sections = frozenset(schema.section_names())
        s = self._settings
        # Each listener's backoff: exponential per listener, plus a bucket shared by all. The
        # sync has its own (a source that fails to deliver state is retried the same way).
        # Limiters are thread-safe on their own (their own locks).
        self._retry_limiter = MaxOfRateLimiter[ListenerRecord](
            ItemExponentialFailureRateLimiter(
                s.retry_base_delay_seconds, s.retry_max_delay_seconds
            ),
            BucketRateLimiter(s.retry_bucket_rate_per_second, s.retry_bucket_burst, self._clock),
        )
        self._sync_limiter = MaxOfRateLimiter[str](
            ItemExponentialFailureRateLimiter(
                s.retry_base_delay_seconds, s.retry_max_delay_seconds
            ),
            BucketRateLimiter(s.retry_bucket_rate_per_second, s.retry_bucket_burst, self._clock),
        )
        self._slow_seconds = s.slow_listener_seconds
        self._call_cap = s.max_dispatch_threads  # listener calls at once (None: unbounded)
        self._min_workers = s.dispatch_threads + 1  # the pool never shrinks below this

        # Serialises start()'s source steps with the stop sequence (never held with _lock
        # by a thread that then waits for a manager thread).
        self._transition = threading.Lock()
        self._lock = threading.Lock()
        # For threads outside the pool (start, stop, wait_idle); notified only while
        # _cond_waiters > 0, on: idle reached, a call ending while starting or stopping, a
        # lifecycle change, a slow call noticed, the stop report, a worker exiting.
        self._cond = threading.Condition(self._lock)

        # ---- guarded by _lock ----
        self._lifecycle = Lifecycle.NEW
        self._listeners: list[ListenerRecord] = []  # registration order, not removed
        self._names: set[str] = set()  # names of registered listeners (unique)
        self._current: Revision | None = None  # last-known-good; written by the sync step only
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
        # listener a revision goes to shares the few entries. Reset at each new revision.
        self._diff_cache: dict[tuple[int, int], frozenset[str]] = {}
        # The work FIFO: the sync key and listener records, each at most once (see the
        # module docstring). Records carry ``queued``/``again``; the sync key the flags below.
        self._ready: deque[ListenerRecord | _SyncKey] = deque()
        self._in_hand = 0  # keys taken from _ready by workers and not finished
        self._sync_queued = False  # _SYNC is in _ready
        self._syncing = False  # a sync is in progress (one at a time)
        self._sync_again = False  # notified during the sync in progress: queue it again
        self._sync_keys: set[str] = set()  # source keys notified since the last sync began
        self._sync_failed_keys: frozenset[str] = frozenset()  # keys of a failed sync
        self._sync_retry_at: float | None = None  # clock time the failed sync is retried
        self._sync_backing_off = False  # the sync limiter holds failures
        # Pending listener retries: (due, seq, record); an entry is live while
        # record.retry_seq == seq (lazy deletion).
        self._retries: list[tuple[float, int, ListenerRecord]] = []
        self._retry_seq = 0
        self._running: set[ListenerRecord] = set()  # records with a call committed/running
        self._delivering = False  # listener keys may be queued (set by start)
        self._draining = False  # stop's phase 2: retries not yet due stay pending
        self._intake_closed = False  # source notifications are ignored (stop's phase 2)
        self._closed = False  # no listener call may start any more (set by stop)
        self._workers: list[_Worker] = []  # live workers
        self._idle: list[_Worker] = []  # idle workers, most recently idled last
        self._awake = 0  # workers in state _AWAKE
        self._worker_seq = 0
        self._growth_failed = False  # a worker could not start: no growth until a call ends
        self._threads: list[threading.Thread] = []  # threads started and not yet exited
        self._cond_waiters = 0  # threads waiting on _cond
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

        # ---- owned by the sync step (one sync at a time: start()'s thread before the
        # workers exist, then whichever worker holds the sync key): the parse cache ----
        self._parsed_version: str | None = None
        self._parsed_text: str | bytes | None = None
        self._parsed_document: Document | None = None
        self._label_keys_document: Document | None = None
        self._label_keys_cached: frozenset[str] = self._label_keys

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
        If ``stop()`` is called meanwhile, ``start`` returns early, without raising for a
        source step that the stop cut short (see ``Cancellable``); check ``lifecycle``.
        """
        deadline = _deadline(timeout)
        with self._lock:
            if self._lifecycle is not Lifecycle.NEW:
                raise LifecycleError(
                    f"start() called on a {self._lifecycle} manager: a manager starts once"
                )
            self._lifecycle = Lifecycle.STARTING
            self._notify_waiters_locked()
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
                self._first_sync()  # the first revision, on this thread (no worker yet)
            except Exception:
                with self._lock:
                    stopping = self._lifecycle is not Lifecycle.STARTING
                self._abort_start()
                if stopping:  # stop() cut the source's steps short (cancel): not a failure
                    return
                raise
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
                self._set_lifecycle_locked(Lifecycle.RUNNING)

    def _first_sync(self) -> None:
        """The first sync, on start()'s thread: the sync key is taken like a worker would."""
        with self._lock:
            if self._sync_queued:  # notified during the source steps: this sync answers it
                self._ready.remove(_SYNC)
                self._sync_queued = False
            self._syncing = True
            self._sync_keys.clear()
        outcomes: list[Outcome] = []
        evaluated = self._evaluate()
        with self._lock:
            self._syncing = False
            self._publish_locked(evaluated, outcomes)
            if self._sync_again:
                self._sync_again = False
                self._queue_sync_locked()
        self._emit_all(outcomes)

    def _abort_start(self) -> None:
        """start() failed: stop the source (if started) and end STOPPED (transition held)."""
        with self._lock:
            started = self._source_started
            self._closed = self._intake_closed = True
        source_stopped = True
        if started:
            try:
                source_stopped = self._source.stop(self._settings.stop_timeout_seconds)
            except Exception:
                log.exception("source.stop() failed while aborting start()")
                source_stopped = False
        with self._lock:
            self._ready.clear()
            self._stop_begun = True
            self._stop_report = StopReport(completed=source_stopped, source_stopped=source_stopped)
            self._set_lifecycle_locked(Lifecycle.STOPPED)

    def _launch(self) -> list[ListenerRecord]:
        """Start the workers and queue the first delivery for every listener.

        Returns the listeners start() waits for.
        """
        with self._lock:
            threads = [self._new_worker_locked() for _ in range(self._min_workers)]
            self._delivering = True
            first = list(self._listeners) if self._current is not None else []
            for record in first:
                # Thread hand-off: the first delivery of each listener, to the workers.
                self._request_locked(record)
        for thread in threads:
            self._start_worker(thread)
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
            self._wait_locked(settled, _remaining(deadline))

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
        (``None``: ``Settings.stop_timeout_seconds``). Then the manager closes: afterwards no
        new listener call starts, ever; the calls that had already begun are listed in
        ``still_running`` (with ``report.completed`` there are none). Backoff retries not yet
        due are reported in ``pending_retries``, not run. ``completed`` does not wait for the
        worker threads to finish exiting (they make no call any more); ``stop()`` joins them
        within what is left of the timeout.

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
                self._closed = self._intake_closed = True
                self._stop_begun = True
                self._stop_report = StopReport(completed=True)
                self._set_lifecycle_locked(Lifecycle.STOPPED)
            inside = me in self._threads
            drive = not self._stop_begun
            self._stop_begun = True
            if self._lifecycle in _LIVE:
                self._set_lifecycle_locked(Lifecycle.STOPPING)
            running = self._running_names_locked()
            stopper = None
            if inside and drive:
                stopper = threading.Thread(
                    target=self._stop_sequence_from_inside, name="nodeconf-stop", daemon=True
                )
                self._threads.append(stopper)
        if inside:
            if stopper is not None:
                # Thread hand-off: the stop sequence moves to the stopper thread, so this
                # listener (or sink) returns without waiting for itself.
                try:
                    stopper.start()
                except RuntimeError:  # no thread left: undo, the next stop() drives it
                    log.exception("could not start the stop thread")
                    with self._lock:
                        self._threads.remove(stopper)
                        self._stop_begun = False
                        self._notify_waiters_locked()
            log.info("stop() called from a manager thread: stopping in the background")
            return StopReport(completed=False, still_running=running, stopped_from_listener=True)
        if drive:
            self._stop_sequence(deadline)
        return self._await_stopped(deadline)

    def _stop_sequence_from_inside(self) -> None:
        try:
            self._stop_sequence(time.monotonic() + self._settings.stop_timeout_seconds)
        finally:
            with self._lock:
                self._threads.remove(threading.current_thread())
                self._notify_waiters_locked()

    def _stop_sequence(self, deadline: float) -> None:
        """Run phase 1 and phase 2 (exactly one thread runs this per manager)."""
        if not self._transition.acquire(blocking=False):
            # start() is inside the source's prepare/start/wait_synced: end them early if the
            # source can; start() then sees STOPPING, stops the source and returns.
            if isinstance(self._source, Cancellable):
                try:
                    self._source.cancel()
                except Exception:
                    log.exception("source.cancel() failed")
            acquired = self._transition.acquire(timeout=max(0.0, deadline - time.monotonic()))
        else:
            acquired = True
        if not acquired:
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
        with self._lock:
            # Phase 2: drain. Retries due now are delivered; later ones stay pending.
            self._intake_closed = True
            self._promote_due_locked(self._clock.now())
            self._draining = True
            self._cover_locked()
            self._wait_locked(
                lambda: not self._ready and self._in_hand == 0,
                max(0.0, deadline - time.monotonic()),
            )
            # Close: from here no listener call can be committed. Every call committed
            # before this point is in _running and reported below.
            self._closed = True
            report = self._final_report_locked(source_stopped)
            self._stop_report = report
            for worker in list(self._idle):  # let idle workers exit
                self._wake_locked(worker)
            self._maybe_stopped_locked()
            self._notify_waiters_locked()
        if report.pending_retries:
            log.info(
                "stopped with %d retries pending: %s",
                len(report.pending_retries),
                report.pending_retries,
            )
        if report.still_running:
            log.warning(
                "stop deadline passed with listeners still running: %s",
                ", ".join(report.still_running),
            )
        if report.dropped:
            log.warning("stop deadline passed with work not done: %s", ", ".join(report.dropped))
        self._join_threads(deadline)

    def _final_report_locked(self, source_stopped: bool) -> StopReport:
        """What stop() left undone, at the moment the manager closed (under _lock)."""
        now = self._clock.now()
        number = self._current.number if self._current is not None else 0
        pending = [
            PendingRetry("listener", r.name, number, max(0.0, r.next_retry_at - now))
            for r in self._listeners
            if r.next_retry_at is not None and r.retry_seq
        ]
        if self._sync_retry_at is not None:
            due_in = max(0.0, self._sync_retry_at - now)
            pending += [
                PendingRetry("source", key, 0, due_in)
                for key in sorted(self._sync_failed_keys or {"configmap"})
            ]
        dropped: dict[str, None] = {}
        for key in self._ready:
            if isinstance(key, ListenerRecord):
                if not key.removed:
                    dropped[key.name] = None
            else:
                for name in sorted(self._sync_keys | self._sync_failed_keys or {"configmap"}):
                    dropped[name] = None
        if self._syncing:  # a sync still reading the source: what it finds is not delivered
            for name in sorted(self._sync_keys or {"configmap"}):
                dropped[name] = None
        for key in self._ready:
            if isinstance(key, ListenerRecord):
                key.queued = False
        self._ready.clear()
        self._sync_queued = False
        still = self._running_names_locked()
        return StopReport(
            completed=source_stopped and not dropped and not still,
            pending_retries=tuple(pending),
            still_running=still,
            dropped=tuple(dropped),
            source_stopped=source_stopped,
        )

    def _join_threads(self, deadline: float) -> None:
        """Wait (bounded) until every manager thread but the caller has exited.

        A thread is in ``_threads`` from before ``start()`` until the last locked step of
        its run (or until its failed ``start()`` is undone), and each removal notifies the
        waiters. So: first wait for the threads to leave the list, which covers threads
        whose ``start()`` has not returned yet (``join`` would raise on those), then join
        the ones still alive for the few lines they run after leaving it.
        """
        me = threading.current_thread()
        with self._lock:
            threads = [t for t in self._threads if t is not me]
            self._wait_locked(
                lambda: not any(t in self._threads for t in threads),
                max(0.0, deadline - time.monotonic()),
            )
        for thread in threads:
            if thread.is_alive():  # alive implies started: join cannot raise
                thread.join(max(0.0, deadline - time.monotonic()))

    def _await_stopped(self, deadline: float) -> StopReport:
        """Wait (bounded) for the stop sequence and the manager threads; return the report."""
        with self._lock:
            self._wait_locked(
                lambda: self._stop_report is not None, max(0.0, deadline - time.monotonic())
            )
        self._join_threads(deadline)
        with self._lock:
            report = self._stop_report
            if report is None:  # another thread drives the sequence and has not finished
                still = self._running_names_locked()
                return StopReport(completed=False, still_running=still, source_stopped=False)
            if self._lifecycle is Lifecycle.STOPPED and not report.completed:
                # Whatever outlived the first deadline has finished since: say so, once.
                report = replace(
                    report, completed=report.source_stopped and not report.dropped, still_running=()
                )
                self._stop_report = report
            elif self._lifecycle is not Lifecycle.STOPPED:
                still = self._running_names_locked()
                report = replace(report, completed=False, still_running=still)
            return report

    def _maybe_stopped_locked(self) -> None:
        """STOPPING -> STOPPED once the sequence ended and no job (listener call, sync) is
        left; worker threads that only have to return are not waited for."""
        if (
            self._lifecycle is Lifecycle.STOPPING
            and self._stop_report is not None
            and not self._running
            and self._in_hand == 0
        ):
            self._set_lifecycle_locked(Lifecycle.STOPPED)

    def _set_lifecycle_locked(self, lifecycle: Lifecycle) -> None:
        self._lifecycle = lifecycle
        self._notify_waiters_locked()

    def _running_names_locked(self) -> tuple[str, ...]:
        return tuple(sorted(r.name for r in self._running))

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
            grow = None
            if (
                self._delivering
                and self._lifecycle in _LIVE
                and self._current is not None
                and record.applied_revision < self._current.number
            ):
                # Thread hand-off: its first delivery goes to the workers. Queued under _lock,
                # so that stop() (which sets STOPPING under _lock before it drains) either
                # drains it or never sees it: it is never refused, never "dropped".
                self._request_locked(record)
                if self._awake == 0 and not self._idle:  # every worker is in a call
                    grow = self._grow_locked()
                else:
                    self._cover_locked()
        if grow is not None:
            self._start_worker(grow)
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
            had_timer = record.retry_seq != 0
            record.retry_seq = 0  # its pending retry (if any) is cancelled
            self._listeners.remove(record)
            self._names.discard(record.name)
            if self._current is not None and record.applied_revision >= self._current.number:
                self._holding_current -= 1
            synced = self._synced_outcome_locked()
            forget, record.backing_off = record.backing_off, False
            if had_timer:
                self._fix_timers_locked()
            if not self._ready and self._in_hand == 0:
                self._notify_waiters_locked()
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
        return Change(
            revision=current.number,
            previous_revision=previous.number if previous is not None else 0,
            sections=self._diff(previous, current),
            previous=previous.config if previous is not None else None,
            attempt=0,
        )

    def current(self) -> Revision | None:
        """The last-known-good revision (``None`` before the first valid config)."""
        with self._lock:
            return self._current

    # ------------------------------------------------------------------ observing

    def status(self) -> ManagerStatus:
        """A consistent snapshot of the manager, taken in one locked step."""
        with self._lock:
            now = self._clock.now()
            listeners = tuple(self._listener_status_locked(r) for r in self._listeners)
            current = self._current
            waiting_sync = set(self._sync_keys)
            if self._sync_retry_at is not None:
                waiting_sync |= self._sync_failed_keys
            queued = sum(1 for k in self._ready if isinstance(k, ListenerRecord) and not k.removed)
            delayed = sum(1 for r in self._listeners if r.retry_seq != 0)
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
                sync_queue_depth=len(waiting_sync),
                delivery_queue_depth=queued + delayed,
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
            return self._wait_locked(self._idle_locked, _remaining(deadline))

    def _idle_locked(self) -> bool:
        if self._ready or self._in_hand:
            return False
        if self._draining:
            return True  # stopping: retries not yet due stay pending
        now = self._clock.now()
        due = self._next_retry_due_locked()
        if due is not None and due <= now:
            return False
        return self._sync_retry_at is None or self._sync_retry_at > now

    def _wait_locked(self, predicate: Callable[[], bool], timeout: float | None) -> bool:
        """``_cond.wait_for`` that registers the waiter, so workers know to notify (_lock)."""
        self._cond_waiters += 1
        try:
            return self._cond.wait_for(predicate, timeout)
        finally:
            self._cond_waiters -= 1

    def _notify_waiters_locked(self) -> None:
        if self._cond_waiters:
            self._cond.notify_all()

    def __repr__(self) -> str:
        with self._lock:
            rev = self._current.number if self._current else None
            return (
                f"<ConfigManager {self._lifecycle} revision={rev} listeners={len(self._listeners)}>"
            )

    # ------------------------------------------------------------------ the work FIFO

    def _on_notify(self, key: str) -> None:
        """A source said ``key`` changed (any thread, possibly under the source's own lock)."""
        with self._lock:
            if self._intake_closed:
                return
            self._sync_keys.add(key)
            if self._syncing:
                self._sync_again = True  # queued again when the sync in progress is done
            elif not self._sync_queued:
                self._queue_sync_locked()
                self._cover_locked()

    def _queue_sync_locked(self) -> None:
        """Queue the sync key (not already queued, no sync in progress)."""
        self._sync_queued = True
        self._ready.append(_SYNC)
        self._sync_retry_at = None  # a sync due now supersedes a pending retry

    def _request_locked(self, record: ListenerRecord) -> None:
        """``record`` needs an attempt now (new revision, first delivery, retry due)."""
        if record.removed:
            return
        if record in self._running:
            record.again = True  # queued again when its call is done
        elif not record.queued:
            record.queued = True
            self._ready.append(record)

    def _pick_locked(self) -> ListenerRecord | _SyncKey | None:
        """The next key to process, FIFO; listener records only while a call slot is free."""
        ready = self._ready
        if not ready:
            return None
        if self._call_cap is None or len(self._running) < self._call_cap:
            key = ready.popleft()
        elif self._sync_queued:  # no call slot: only the sync may go ahead of the records
            ready.remove(_SYNC)
            key = _SYNC
        else:
            return None
        if isinstance(key, ListenerRecord):
            key.queued = False
        else:
            self._sync_queued = False
        return key

    def _has_work_locked(self) -> bool:
        if not self._ready:
            return False
        return self._sync_queued or self._call_cap is None or len(self._running) < self._call_cap

    def _promote_due_locked(self, now: float) -> None:
        """Queue the retries that are due at ``now`` (not while draining)."""
        if self._draining:
            return
        heap = self._retries
        while heap and heap[0][0] <= now:
            _, seq, record = heapq.heappop(heap)
            if record.retry_seq == seq:
                record.retry_seq = 0
                self._request_locked(record)
        if self._sync_retry_at is not None and self._sync_retry_at <= now:
            self._sync_retry_at = None
            if self._syncing:
                self._sync_again = True
            elif not self._sync_queued:
                self._queue_sync_locked()

    def _next_retry_due_locked(self) -> float | None:
        heap = self._retries
        while heap and heap[0][2].retry_seq != heap[0][1]:
            heapq.heappop(heap)  # stale: cancelled or superseded
        return heap[0][0] if heap else None

    def _deadline_locked(self) -> float | None:
        """The earliest clock time a worker must look again: a retry coming due, or a running
        call becoming slow. None: nothing is scheduled (sleep without a timeout)."""
        due: float | None = None
        if not self._draining:
            due = self._next_retry_due_locked()
            retry = self._sync_retry_at
            if retry is not None and (due is None or retry < due):
                due = retry
        for record in self._running:
            if not record.slow_reported and record.busy_since is not None:
                slow_at = record.busy_since + self._slow_seconds
                if due is None or slow_at < due:
                    due = slow_at
        return due

    # ------------------------------------------------------------------ waking workers

    def _wake_locked(self, worker: _Worker) -> None:
        """Wake an idle worker (it will look at everything before sleeping again)."""
        self._idle.remove(worker)
        worker.state = _AWAKE
        worker.wake_at = None
        self._awake += 1
        worker.cond.notify()

    def _cover_locked(self) -> None:
        """Make sure some worker will see the queued work and the earliest deadline.

        An awake worker looks at both before it sleeps again; otherwise wake an idle worker if
        there is work, or a deadline no sleeping worker watches (preferably one that sleeps
        with a later deadline: it re-times itself).
        """
        if self._awake or not self._idle:
            return
        if not self._has_work_locked():
            due = self._deadline_locked()
            if due is None:
                return
            if any(w.wake_at is not None and w.wake_at <= due for w in self._idle):
                return
        timed = [w for w in self._idle if w.wake_at is not None]
        self._wake_locked(timed[0] if timed else self._idle[-1])

    def _retime_idle_locked(self, due: float | None) -> bool:
        """Keep at most one idle worker sleeping with a deadline, one due no later than
        ``due``; wake every other timed sleeper (its deadline is stale: it would wake for
        nothing). True when such a carrier remains."""
        carrier = False
        for other in list(self._idle):
            wake_at = other.wake_at
            if wake_at is None:
                continue
            if not carrier and due is not None and wake_at <= due:
                carrier = True
            else:
                self._wake_locked(other)
        return carrier

    def _fix_timers_locked(self) -> None:
        """A deadline was cancelled (no worker may be awake to notice): re-time the sleepers."""
        if self._awake:
            return  # it re-times the sleepers when it goes idle
        due = self._deadline_locked()
        if not self._retime_idle_locked(due) and due is not None:
            self._cover_locked()

    def _sleep_locked(self, worker: _Worker) -> None:
        """Wait until woken or until the earliest deadline, unless another idle worker already
        watches it; with nothing scheduled, wait without a timeout (no wake-up while idle)."""
        due = self._deadline_locked()
        carried = self._retime_idle_locked(due)
        wake_at = None if carried else due
        worker.state = _IDLE
        worker.wake_at = wake_at
        self._awake -= 1
        self._idle.append(worker)
        self._clock.wait_until(worker.cond, wake_at)
        if worker.state == _IDLE:  # woken by its deadline, the clock or spuriously
            self._idle.remove(worker)
            worker.state = _AWAKE
            worker.wake_at = None
            self._awake += 1

    def _thread_cap_locked(self) -> int:
        """How many workers the pool may have: one per possible call, plus one free."""
        if self._call_cap is not None:
            calls = self._call_cap
        else:
            calls = len(self._listeners) + sum(1 for r in self._running if r.removed)
        return max(self._min_workers, calls + 1)

    def _grow_locked(self) -> threading.Thread | None:
        """A new worker (registered, unstarted) if the pool may grow; start it outside _lock."""
        if self._closed or not self._delivering or self._growth_failed:
            return None
        if len(self._workers) >= self._thread_cap_locked():
            return None
        return self._new_worker_locked()

    def _new_worker_locked(self) -> threading.Thread:
        worker = _Worker(self._lock)
        self._worker_seq += 1
        name = f"nodeconf-worker-{self._worker_seq}"
        thread = threading.Thread(target=self._work, args=(worker,), name=name, daemon=True)
        worker.thread = thread
        self._workers.append(worker)
        self._threads.append(thread)
        self._awake += 1  # it looks for work as soon as it runs
        return thread

    def _start_worker(self, thread: threading.Thread) -> None:
        """Start a worker created by ``_new_worker_locked`` (outside _lock). If the thread
        cannot start (no resources left), take it out of the pool again and log it."""
        try:
            thread.start()
        except RuntimeError:
            log.exception("could not start the manager thread %s", thread.name)
            with self._lock:
                self._growth_failed = True  # carry on with the workers there are
                worker = next((w for w in self._workers if w.thread is thread), None)
                if worker is not None:
                    self._leave_locked(worker)
                self._threads.remove(thread)
                self._notify_waiters_locked()

    # ------------------------------------------------------------------ workers

    def _work(self, worker: _Worker) -> None:
        """A worker's loop: finish the last job and take the next one in one locked step,
        then run the job outside the lock."""
        job: _Job | None = None
        result: Any = None
        try:
            while True:
                outcomes: list[Outcome] = []
                with self._lock:
                    if job is not None:
                        self._finish_locked(worker, job, result, outcomes)
                    job = self._take_locked(worker, outcomes)
                self._emit_all(outcomes)
                if job is None:
                    return
                result = self._run(worker, job)
        finally:
            with self._lock:
                if worker.state != _LEFT:  # ended by an exception
                    self._leave_locked(worker)
                self._threads.remove(threading.current_thread())
                self._notify_waiters_locked()

    def _leave_locked(self, worker: _Worker) -> None:
        """Take ``worker`` out of the pool (it no longer counts as free)."""
        if worker.state == _AWAKE:
            self._awake -= 1
        elif worker.state == _IDLE:
            self._idle.remove(worker)
        worker.state = _LEFT
        self._workers.remove(worker)
        self._cover_locked()  # whatever it would have done is someone else's now

    def _take_locked(self, worker: _Worker, outcomes: list[Outcome]) -> _Job | None:
        """The next job for ``worker`` (sleeping while there is none); None: exit."""
        while True:
            if self._closed:
                self._leave_locked(worker)
                return None
            now = self._clock.now()
            self._promote_due_locked(now)
            if self._running:
                self._report_slow_locked(now, outcomes)
            key = self._pick_locked()
            if key is None:
                if len(self._workers) > self._thread_cap_locked():
                    self._leave_locked(worker)  # the pool shrinks lazily
                    return None
                if outcomes:  # report before sleeping
                    return _PASS
                self._sleep_locked(worker)
                continue
            self._in_hand += 1
            if isinstance(key, _SyncKey):
                self._syncing = True
                keys = frozenset(self._sync_keys | self._sync_failed_keys)
                self._sync_keys.clear()
                return _SyncJob(keys)
            job = self._plan_locked(worker, key, now, outcomes)
            if job is not None:
                return job
            self._in_hand -= 1  # nothing to do for it
            if not self._ready and self._in_hand == 0:
                self._notify_waiters_locked()

    def _plan_locked(
        self, worker: _Worker, record: ListenerRecord, now: float, outcomes: list[Outcome]
    ) -> _Job | None:
        """Decide what ``record`` needs (under _lock); None when nothing.

        Either advance it silently (nothing it watches changed), or commit a call: the call
        is booked (``_running``) in this same locked step, which also checks that the
        manager is not closed; so the call is reported by ``stop()`` unless it is finished.
        """
        current = self._current
        if (
            self._closed
            or record.removed
            or current is None
            or record.applied_revision >= current.number
            or record.rejected_revision >= current.number
        ):
            return None
        previous = record.delivered
        sections = self._sections
        if previous is not None:
            key = (previous.number, current.number)
            cached = self._diff_cache.get(key)  # usually seeded by the sync step
            if cached is None:  # a listener that missed revisions: pure and cheap
                cached = self._diff_cache[key] = self._diff(previous, current)
            sections = cached
            if not sections or (record.sections is not None and not (sections & record.sections)):
                self._advance_locked(record, current, outcomes)
                return None
        if self._awake + len(self._idle) <= 1:  # no other worker is free: grow first
            thread = self._grow_locked()
            if thread is not None:
                self._put_back_locked(record)
                self._in_hand -= 1
                return _GrowJob(thread)
        # Commit the call.
        attempt = record.attempt + 1 if record.busy_revision == current.number else 1
        record.busy_since = now
        record.busy_revision = current.number
        record.attempt = attempt
        record.next_retry_at = None
        record.retry_seq = 0  # a pending retry is superseded by this call
        record.slow_reported = False
        record.calls_total += 1
        self._running.add(record)
        worker.state = _CALLING
        self._awake -= 1
        # Isolation: if this call hangs, another worker must see the queued work and the
        # deadline at which this call becomes slow.
        self._cover_locked()
        change = Change(
            revision=current.number,
            previous_revision=previous.number if previous is not None else 0,
            sections=sections,
            previous=previous.config if previous is not None else None,
            attempt=attempt,
        )
        return _CallJob(record, current, change, record.name)

    def _put_back_locked(self, record: ListenerRecord) -> None:
        """Return a taken record to the front of the FIFO (unless requested again meanwhile)."""
        if not record.queued and not record.removed and record not in self._running:
            record.queued = True
            self._ready.appendleft(record)

    def _advance_locked(
        self, record: ListenerRecord, current: Revision, outcomes: list[Outcome]
    ) -> None:
        """Mark ``record`` as holding ``current`` without a call (nothing it needs changed)."""
        if record.applied_revision < current.number:
            record.applied_revision = current.number
            record.next_retry_at = None
            record.retry_seq = 0
            # It holds what it needs: earlier failures no longer matter.
            record.consecutive_failures = 0
            record.last_error = ""
            if current is self._current:
                self._holding_current += 1
        if record.backing_off:
            record.backing_off = False
            self._retry_limiter.forget(record)
        synced = self._synced_outcome_locked()
        if synced is not None:
            outcomes.append(synced)

    def _run(self, worker: _Worker, job: _Job) -> Any:
        """Run ``job`` outside the lock; its result goes to ``_finish_locked``."""
        if isinstance(job, _CallJob):
            return self._call(worker, job)
        if isinstance(job, _SyncJob):
            try:
                return self._evaluate()
            except Exception as exc:
                log.exception("sync of %s failed; retrying with backoff", sorted(job.keys))
                return _SyncFailure(exc, self._sync_limiter.when(_SYNC_LIMIT_KEY))
            except BaseException:
                with self._lock:  # this worker ends: the sync key is free again
                    self._in_hand -= 1
                    self._syncing = False
                    if self._sync_again:
                        self._sync_again = False
                        self._queue_sync_locked()
                raise
        if isinstance(job, _GrowJob):
            self._start_worker(job.thread)
        return None

    def _call(self, worker: _Worker, job: _CallJob) -> Exception | None:
        """Call the listener (outside every lock). Returns its failure, None on success."""
        record = job.record
        try:
            record.invoke(job.revision.config, job.change)
        except Exception as exc:  # a listener's failure is data: recorded, retried
            log.warning(
                "listener %s failed to apply revision %d (attempt %d): %s",
                job.name,
                job.revision.number,
                job.attempt,
                _one_line(exc),
            )
            return exc
        except BaseException:
            # The books never show a call that is not running: record it, then let the
            # BaseException end this worker.
            outcomes: list[Outcome] = []
            with self._lock:
                self._finish_call_locked(
                    worker, job, _AbortedCallError("the listener call was aborted"), outcomes
                )
            self._emit_all(outcomes)
            raise
        return None

    def _finish_locked(
        self, worker: _Worker, job: _Job, result: Any, outcomes: list[Outcome]
    ) -> None:
        """Record what ``job`` did (under _lock)."""
        if isinstance(job, _CallJob):
            error = result if isinstance(result, Exception) else None
            self._finish_call_locked(worker, job, error, outcomes)
        elif isinstance(job, _SyncJob):
            self._in_hand -= 1
            self._finish_sync_locked(job, result, outcomes)

    def _finish_sync_locked(
        self, job: _SyncJob, result: _Evaluated | _SyncFailure, outcomes: list[Outcome]
    ) -> None:
        self._syncing = False
        if self._closed:  # stop() reported this sync as dropped: what it read stays unused
            self._maybe_stopped_locked()
            return
        if isinstance(result, _SyncFailure):
            exc = result.error
            self._source_error = f"{type(exc).__name__}: {exc}"
            self._sync_failed_keys = job.keys or frozenset({"configmap"})
            self._sync_backing_off = True
            if not self._closed:
                self._sync_retry_at = self._clock.now() + result.delay_seconds
            keys = ", ".join(sorted(self._sync_failed_keys))
            outcomes.append(Outcome("failed", error=f"sync of {keys} failed: {exc}"))
        else:
            self._sync_failed_keys = frozenset()
            if self._sync_backing_off:
                self._sync_backing_off = False
                self._sync_limiter.forget(_SYNC_LIMIT_KEY)
            self._publish_locked(result, outcomes)
        if self._sync_again:
            self._sync_again = False
            self._queue_sync_locked()
        if not self._ready and self._in_hand == 0:
            self._notify_waiters_locked()

    def _finish_call_locked(
        self,
        worker: _Worker,
        job: _CallJob,
        error: Exception | None,
        outcomes: list[Outcome],
    ) -> None:
        """Record a call's result (``error`` None: it applied) and schedule its retry."""
        record, revision = job.record, job.revision
        worker.state = _AWAKE
        self._awake += 1
        self._in_hand -= 1
        self._growth_failed = False  # the pool changed: growing may work again
        record.busy_since = None
        record.slow_reported = False  # "slow" describes a call in progress
        self._running.discard(record)
        number, attempt = revision.number, job.attempt
        if error is None:
            assert record.applied_revision < number  # strictly increasing, by _plan_locked
            recovered = record.consecutive_failures > 0
            if not record.removed and revision is self._current:
                self._holding_current += 1
            record.applied_revision = number
            record.delivered = revision
            record.consecutive_failures = 0
            record.last_error = ""
            record.last_success_wall = self._last_success_wall = self._clock.wall()
            self._applied_total += 1
            if self._emitting:
                name = record.name
                outcomes.append(Outcome("applied", revision=number, listener=name, attempt=attempt))
                if recovered:
                    outcomes.append(
                        Outcome("recovered", revision=number, listener=name, attempt=attempt)
                    )
            synced = self._synced_outcome_locked()
            if synced is not None:
                outcomes.append(synced)
        else:
            self._record_failure_locked(record, number, attempt, error, outcomes)
        if record.backing_off and (error is None or record.removed):
            record.backing_off = False  # its earlier failures no longer matter
            self._retry_limiter.forget(record)
        if record.again:
            record.again = False
            if self._delivering and not self._closed:
                self._request_locked(record)
        if self._lifecycle is not Lifecycle.RUNNING or (not self._ready and self._in_hand == 0):
            # start() waits for first calls, stop() for the calls in progress, others for idle.
            self._maybe_stopped_locked()
            self._notify_waiters_locked()

    def _record_failure_locked(
        self,
        record: ListenerRecord,
        number: int,
        attempt: int,
        error: Exception,
        outcomes: list[Outcome],
    ) -> None:
        record.consecutive_failures += 1
        kind: OutcomeKind = "failed"
        retry_in: float | None = None
        if isinstance(error, RetryLater):
            retry_in = error.delay_seconds
            record.last_error = f"retry later: {error}"
            self._failed_total += 1
        elif isinstance(error, Reject):
            record.rejected_revision = number
            record.last_error = f"rejected: {error.reason}"
            self._rejected_total += 1
            kind = "rejected"
        elif isinstance(error, _AbortedCallError):
            record.last_error = f"{type(error).__name__}: {error}"
            self._failed_total += 1
        else:
            retry_in = self._retry_limiter.when(record)  # its own backoff
            record.backing_off = True
            record.last_error = f"{type(error).__name__}: {error}"
            self._failed_total += 1
        if record.removed or self._closed:
            retry_in = None
        record.next_retry_at = None
        if retry_in is not None:
            # Thread hand-off: the retry waits on the clock; a worker queues it when it is
            # due. Scheduled in the same locked step that records the failure, so nobody can
            # see this call finished before its retry is scheduled.
            due = self._clock.now() + retry_in
            record.next_retry_at = due
            self._retry_seq += 1
            record.retry_seq = self._retry_seq
            heapq.heappush(self._retries, (due, self._retry_seq, record))
        outcomes.append(
            Outcome(
                kind,
                revision=number,
                listener=record.name,
                error=record.last_error,
                detail=f"retry in {retry_in:g}s" if retry_in is not None else "",
                attempt=attempt,
            )
        )

    def _report_slow_locked(self, now: float, outcomes: list[Outcome]) -> None:
        """Report listener calls that outlived ``slow_listener_seconds`` (any worker)."""
        noticed = False
        for record in self._running:
            if record.slow_reported or record.busy_since is None:
                continue
            if now >= record.busy_since + self._slow_seconds:
                record.slow_reported = noticed = True
                outcomes.append(
                    Outcome(
                        "slow",
                        revision=record.busy_revision,
                        listener=record.name,
                        detail=f"running for {now - record.busy_since:.3g}s",
                        attempt=record.attempt,
                    )
                )
        if noticed:
            self._notify_waiters_locked()

    def _synced_outcome_locked(self) -> Outcome | None:
        """A "synced" outcome if every listener now holds the current revision (once each)."""
        current = self._current
        if current is None or self._synced_revision >= current.number:
            return None
        if self._holding_current < len(self._listeners):
            return None
        self._synced_revision = current.number
        return Outcome("synced", revision=current.number) if self._emitting else None

    # ------------------------------------------------------------------ the sync step

    def _evaluate(self) -> _Evaluated:
        """Read the source and evaluate (outside the lock; sync step only)."""
        state = self._source.snapshot()
        document, problem = self._document_for(state)
        if problem is not None:
            error = str(problem)
            kept = self._current.number if self._current is not None else 0
            log.warning("effective config is invalid; keeping revision %d: %s", kept, error)
            return _Evaluated(state, error=error, issues=(_document_issue(problem),))
        if document is not self._label_keys_document:
            self._label_keys_document = document
            self._label_keys_cached = self._schema.label_keys(document)
        warnings = document.warnings if document is not None else ()
        evaluation = self._schema.evaluate(document, state.node_labels)
        if not evaluation.valid:
            error = volcano_aggregate(evaluation.errors)
            kept = self._current.number if self._current is not None else 0
            log.warning("effective config is invalid; keeping revision %d: %s", kept, error)
            return _Evaluated(
                state,
                error=error,
                issues=evaluation.errors,
                label_keys=self._label_keys_cached,
                warnings=warnings,
            )
        previous = self._current  # written only by the sync step: safe to read here
        config = evaluation.config
        new = None
        if previous is None or previous.config != config:
            changed = self._schema.changed_sections(
                previous.config if previous is not None else None, config
            )
            number = previous.number + 1 if previous is not None else 1
            new = Revision(number=number, config=config, changed=frozenset(changed))
        return _Evaluated(state, new, label_keys=self._label_keys_cached, warnings=warnings)

    def _publish_locked(self, result: _Evaluated, outcomes: list[Outcome]) -> None:
        """Publish one sync's result (under _lock; sync step only)."""
        state = result.state
        self._syncs_total += 1
        self._last_sync_wall = self._clock.wall()
        self._document_version = state.document_version
        self._document_present = state.document is not None
        self._source_error = ""
        if result.label_keys is not None:  # an unreadable document keeps the last label keys
            if not result.label_keys <= self._label_keys and not self._intake_closed:
                # The source filters node updates by the label keys in force when they
                # arrive. A label that only this document made relevant may have changed
                # after this sync's snapshot and been filtered out: read the source once more.
                self._sync_again = True
            self._label_keys = result.label_keys
            self._warnings = result.warnings or ()
        current = self._current
        if result.error:
            self._latest_valid = False
            self._last_error = result.error
            self._issues = result.issues
            self._invalid_total += 1
            outcomes.append(
                Outcome(
                    "invalid",
                    revision=current.number if current is not None else 0,
                    error=result.error,
                    issues=result.issues,
                )
            )
            return
        recovered = not self._latest_valid and self._last_error != ""
        self._latest_valid = True
        self._last_error = ""
        self._issues = ()
        new = result.new
        if recovered:
            number = new.number if new is not None else current.number if current else 0
            outcomes.append(Outcome("recovered", revision=number, detail="config valid again"))
        if new is None:
            return
        self._current = new
        self._holding_current = 0
        self._diff_cache = {} if current is None else {(current.number, new.number): new.changed}
        if self._delivering and not self._closed:
            for record in self._listeners:
                # Thread hand-off (when another worker takes it): each listener's key; one
                # already queued collapses, one in a call is queued again when it is done.
                self._request_locked(record)
        synced = self._synced_outcome_locked()
        if synced is not None:
            outcomes.append(synced)

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

    def _diff(self, previous: Revision | None, current: Revision) -> frozenset[str]:
        """Sections that differ from ``previous`` to ``current`` (all when there is none)."""
        if previous is None:
            return self._sections
        if previous.number == current.number:
            return frozenset()
        return frozenset(self._schema.changed_sections(previous.config, current.config))

    # ------------------------------------------------------------------ outcomes, source

    def _emit(self, outcome: Outcome) -> None:
        """Hand ``outcome`` to the sink (never under _lock; a raising sink is logged)."""
        try:
            self._sink.emit(outcome)
        except Exception:
            log.exception("outcome sink %r failed on %s", self._sink, outcome.kind)

    def _emit_all(self, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            if outcome.kind == "slow":
                log.warning("listener %s is slow: %s", outcome.listener, outcome.detail)
            self._emit(outcome)

    def _on_source_event(self, event: SourceEvent) -> None:
        self._emit(Outcome("source", detail=event.kind, error=event.detail))

    def _current_label_keys(self) -> frozenset[str]:
        with self._lock:
            return self._label_keys


class _SyncFailure:
    """A sync that raised, with the backoff before its retry. Immutable."""

    __slots__ = ("delay_seconds", "error")

    def __init__(self, error: Exception, delay_seconds: float) -> None:
        self.error = error
        self.delay_seconds = delay_seconds


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
