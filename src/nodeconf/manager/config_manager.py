"""``ConfigManager``: the engine's public face, a small facade over its parts.

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
  ``sections`` is called only when one of them changed since its own last apply.
* **Isolation.** A slow or hung listener occupies one worker; the pool grows so that the
  others keep receiving newer revisions (one worker per possible call, plus one free). Calls
  and syncs running longer than ``Settings.slow_listener_seconds`` are reported (``slow``).
* **No user code under a lock.** Listeners, the sink, the source's methods and the schema run
  with no lock of the manager held. Source reports (``SourceContext.report``) are queued and
  reach the sink on a worker, in order.
* **Exact stop.** Two phases (``stopping``): stop the source, then finish what is queued,
  within the caller's timeout; then nothing is ever called again, and what was left is
  reported. ``stop()`` is safe from any thread, including a listener, a sink, a signal handler
  and ``start()``'s own thread.
* **A fallback at start.** ``start(timeout, fallback=Fallback(config))`` delivers a persisted
  last-known-good when the source gives no first state in time (an API-server outage after a
  restart); the source's first valid state supersedes it.
* **Quiet when idle.** With nothing queued, running or scheduled, no thread has a timeout.

The parts (docs/threading.md draws them): ``scheduler`` decides everything (pure, no
threads), ``pool`` runs its jobs on worker threads under one lock, ``running`` says what a
job means, ``revisions`` evaluates, ``stopping`` drives the stop.

Time: retry delays, ``RetryLater`` and ``slow_listener_seconds`` are measured on the injected
clock (a ``FakeClock`` in tests); the ``timeout`` arguments of ``start``, ``stop`` and
``wait_idle`` bound real waiting and are real seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

from nodeconf.concurrency.clock import Clock, default_clock
from nodeconf.manager.fallback import Fallback
from nodeconf.manager.jobs import Resumed
from nodeconf.manager.lifecycle import Lifecycle, Started
from nodeconf.manager.listeners import (
    Change,
    ChangeListener,
    ConfigListener,
    ListenerRecord,
    Revision,
    describe_listener,
)
from nodeconf.manager.outcomes import NullSink, Outcome, OutcomeSink
from nodeconf.manager.pool import WorkerPool
from nodeconf.manager.reports import ManagerStatus, StopReport, snapshot
from nodeconf.manager.revisions import Evaluator
from nodeconf.manager.running import JobRunner
from nodeconf.manager.scheduler import Scheduler
from nodeconf.manager.settings import Settings
from nodeconf.manager.source import Source, SourceEvent
from nodeconf.manager.starting import StartSequence
from nodeconf.manager.stopping import StopSequence
from nodeconf.model.colocation import COLOCATION

if TYPE_CHECKING:
    from nodeconf.model.seam import ConfigSchema

__all__ = ["ConfigManager"]

log = logging.getLogger("nodeconf.manager")

C = TypeVar("C")

_LIVE = (Lifecycle.STARTING, Lifecycle.RUNNING)


class _Context:
    """The ``SourceContext`` a manager hands its source. Thread-safety: any thread; never
    blocks on user code (a report is queued for the sink, not delivered here)."""

    def __init__(self, manager: ConfigManager[Any]) -> None:
        self._manager = manager

    def notify(self, key: str) -> None:
        # Thread hand-off: a source thread marks the sync wanted; a worker runs it.
        m = self._manager
        pool = m._pool
        with pool.lock:
            m._scheduler.notify(key)
            grown = pool.cover_locked()
        if grown:
            pool.start_threads(grown)

    def label_keys(self) -> frozenset[str]:
        m = self._manager
        with m._pool.lock:
            return m._scheduler.label_keys

    def report(self, event: SourceEvent) -> None:
        # Thread hand-off: the event is queued; a worker hands it to the sink.
        m = self._manager
        with m._pool.lock:
            m._scheduler.report(Outcome("source", detail=event.kind, error=event.detail))
            grown = m._pool.cover_locked()
        m._pool.start_threads(grown)


class ConfigManager(Generic[C]):
    """Keeps listeners supplied with the node's effective config, revision by revision.

    ``source`` provides the document and the node's labels (``nodeconf.sources``);
    ``listeners`` are registered in order (see ``add_listener``); ``schema`` is the config
    format (default: Volcano's colocation schema, whose configs are ``ColocationConfig``);
    ``settings`` tunes thresholds and retries; ``clock`` measures delays (default: the real
    clock); ``sink`` receives every ``Outcome`` (default: dropped).

    ``ConfigManager[C]`` is generic in the effective config type ``C`` its listeners receive;
    annotate it (``ConfigManager[ColocationConfig]``) and mypy checks the listeners.

    Use it as a context manager (``with ConfigManager(...) as manager:``) or call ``start()``
    and ``stop()``.

    Thread-safety: every public method is safe from any thread at any time, including from
    inside a listener or a sink (except ``wait_idle``, which would wait for the caller).
    """

    def __init__(
        self,
        source: Source,
        listeners: Iterable[ConfigListener[C] | Callable[[C], object]] = (),
        *,
        schema: ConfigSchema[C] | None = None,
        settings: Settings | None = None,
        clock: Clock | None = None,
        sink: OutcomeSink | None = None,
    ) -> None:
        self._schema: ConfigSchema[Any] = schema if schema is not None else COLOCATION
        self._source = source
        self._settings = settings if settings is not None else Settings()
        self._clock: Clock = clock if clock is not None else default_clock()
        sink = sink if sink is not None else NullSink()
        self._sections = frozenset(self._schema.section_names())
        self._scheduler = Scheduler(
            sections=self._sections,
            diff=self._schema.changed_sections,  # type: ignore[arg-type]
            label_keys=self._schema.label_keys(None),
            slow_seconds=self._settings.slow_listener_seconds,
            call_cap=self._settings.max_dispatch_threads,
            record_outcomes=not isinstance(sink, NullSink),
        )
        self._runner = JobRunner(
            source,
            Evaluator(self._schema),
            sink,
            self._settings,
            self._clock,
            resume=self._resume_source,
        )
        self._pool = WorkerPool(
            self._scheduler,
            self._runner,
            clock=self._clock,
            min_workers=self._settings.dispatch_threads,
        )
        self._stopping = StopSequence(
            self._pool,
            scheduler=self._scheduler,
            source=source,
            clock=self._clock,
            emit=self._runner.emit,
            source_stop_seconds=self._settings.stop_timeout_seconds,
        )
        self._context = _Context(self)
        self._starting = StartSequence(
            source,
            self._schema,
            self._context,
            pool=self._pool,
            scheduler=self._scheduler,
            stopping=self._stopping,
        )
        for listener in listeners:
            self.add_listener(listener)

    # ------------------------------------------------------------------ properties

    @property
    def lifecycle(self) -> Lifecycle:
        """The current lifecycle state."""
        with self._pool.lock:
            return self._scheduler.lifecycle

    @property
    def settings(self) -> Settings:
        """How this manager behaves (immutable)."""
        return self._settings

    @property
    def schema(self) -> ConfigSchema[Any]:
        """The config format (immutable)."""
        return self._schema

    @property
    def clock(self) -> Clock:
        """The clock delays are measured on."""
        return self._clock

    @property
    def current(self) -> Revision[C] | None:
        """The last-known-good revision (``None`` before the first valid config)."""
        with self._pool.lock:
            return self._scheduler.current

    @property
    def listeners(self) -> tuple[object, ...]:
        """The registered listeners, in registration order."""
        with self._pool.lock:
            return tuple(r.target for r in self._scheduler.listeners)

    # ------------------------------------------------------------------ lifecycle

    def start(
        self, timeout: float | None = None, *, fallback: Fallback[C] | None = None
    ) -> Started:
        """Prepare through the source, wait for its first complete state, compute the first
        revision, tell every listener once, then keep running in the background.

        Returns what it saw (``Started``) once every listener registered so far has finished
        its first call or was reported slow, the first config proved invalid, or ``timeout``
        (real seconds) passed. Raises ``LifecycleError`` unless the manager is new, and
        ``SourceError`` when the source cannot prepare or sync (the manager is then stopped).
        If ``stop()`` is called meanwhile, it returns ``Started.STOPPED`` without raising.

        With a ``fallback``, the source gets ``fallback.after_seconds`` (at most ``timeout``);
        when its steps fail or run out by then, the fallback's config is delivered instead
        (``Started.RESTORED``, see ``Fallback``) and the source's start-up goes on in the
        background until its first complete state supersedes it, or the stop. A source that
        is not ``Cancellable`` then makes ``stop()`` wait for that background wait.
        """
        return self._starting.start(timeout, fallback)

    def _resume_source(self) -> Resumed:
        """A worker's ``ResumeJob``: the source's start-up steps after a fallback."""
        return self._starting.resume()

    def stop(self, timeout: float | None = None) -> StopReport:
        """Stop in two phases and report what was left undone.

        Phase 1 stops the source (no new events). Phase 2 processes every job already queued
        (retries due now included) and waits for listener calls in progress, until ``timeout``
        real seconds have passed (``None``: ``Settings.stop_timeout_seconds``). Then no new
        listener call starts, ever; calls that had already begun are listed in
        ``still_running`` (with ``report.completed`` there are none). Retries not yet due are
        reported in ``pending_retries``, not run.

        Idempotent and safe from several threads at once: one caller drives the sequence, the
        others wait for it (each within its own timeout) and get the same report. From a
        listener, a sink or ``start()``'s own thread it hands the sequence, with this
        ``timeout``, to a stopper thread and returns at once (``stopped_from_listener``).
        """
        budget = self._settings.stop_timeout_seconds if timeout is None else max(0.0, timeout)
        return self._stopping.stop(time.monotonic() + budget)

    def __enter__(self) -> ConfigManager[C]:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ listeners

    @overload
    def add_listener(
        self,
        listener: ConfigListener[C] | Callable[[C], object],
        *,
        sections: Iterable[str] | None = None,
        name: str | None = None,
        with_change: Literal[False] = False,
    ) -> None: ...

    @overload
    def add_listener(
        self,
        listener: ChangeListener[C] | Callable[[C, Change[C]], object],
        *,
        sections: Iterable[str] | None = None,
        name: str | None = None,
        with_change: Literal[True],
    ) -> None: ...

    def add_listener(
        self,
        listener: object,
        *,
        sections: Iterable[str] | None = None,
        name: str | None = None,
        with_change: bool = False,
    ) -> None:
        """Register ``listener``: an object with ``sync_config`` or a callable.

        It is called with the effective config; with ``with_change=True``, also with a
        ``Change`` (what differs since its own last apply). With ``sections``, it is called
        only when one of those sections changed since its own last successful apply. ``name``
        (default: the function's or class's name, made unique with ``#2``, ``#3``...) appears
        in outcomes and status.

        Allowed at any time from any thread: one added while running receives the current
        revision promptly; one added after ``stop()`` began is recorded but never called. A
        listener removed and added again while a call of it still runs takes that
        registration back (it is never called twice at once). Raises ``ValueError`` if it is
        already registered or a section is unknown, ``TypeError`` if it is not callable.
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
        pool, scheduler = self._pool, self._scheduler
        fresh = ListenerRecord(listener, "", wanted, with_change)  # TypeError if not callable
        with pool.lock:
            if any(r.target is listener for r in scheduler.listeners):
                raise ValueError(f"listener {listener!r} is already registered")
            taken = {r.name for r in scheduler.listeners}
            base = name if name is not None else describe_listener(listener)
            unique, n = base, 1
            while unique in taken:
                n += 1
                unique = f"{base}#{n}"
            back = next((r for r in scheduler.running if r.target is listener and r.removed), None)
            if back is not None:
                back.name, back.sections, back.wants_change = unique, wanted, with_change
                scheduler.take_back(back)
            else:
                fresh.name = unique
                scheduler.register(fresh)
            grown = pool.cover_locked()
        pool.start_threads(grown)

    def remove_listener(self, listener: object) -> bool:
        """Unregister ``listener``; False if it was not registered.

        No call of it starts after this returns; a call already in progress finishes (it is
        not waited for: this is safe from inside that very listener).
        """
        pool, scheduler = self._pool, self._scheduler
        with pool.lock:
            record = next((r for r in scheduler.listeners if r.target is listener), None)
            if record is None:
                return False
            scheduler.unregister(record)
            grown = pool.cover_locked()
            pool.notify_waiters_locked()
        pool.start_threads(grown)
        self._runner.forget(record)
        return True

    def changes_for(self, listener: object) -> Change[C] | None:
        """What differs between ``listener``'s last successful apply and the current revision.

        ``None`` before the first revision exists. Raises ``ValueError`` if not registered.
        """
        scheduler = self._scheduler
        with self._pool.lock:
            record = next((r for r in scheduler.listeners if r.target is listener), None)
            if record is None:
                raise ValueError(f"listener {listener!r} is not registered")
            current, previous = scheduler.current, record.delivered
            if current is None:
                return None
            sections = scheduler.sections_between(previous, current)
        return Change(
            revision=current.number,
            previous_revision=previous.number if previous is not None else 0,
            sections=sections,
            previous=previous.config if previous is not None else None,
            attempt=0,
        )

    # ------------------------------------------------------------------ observing

    def status(self) -> ManagerStatus:
        """A consistent snapshot of the manager, taken in one locked step."""
        with self._pool.lock:
            return snapshot(self._scheduler, self._clock.now())

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True the moment nothing is queued, due or running and every outcome reached the
        sink; False after ``timeout`` real seconds. Event-driven (no polling). A retry not yet
        due on the clock does not count (advance a ``FakeClock`` past it, then wait again).
        Do not call from a listener or a sink."""
        with self._pool.lock:
            return self._pool.wait_locked(lambda: self._scheduler.idle(self._clock.now()), timeout)

    def __repr__(self) -> str:
        with self._pool.lock:
            current = self._scheduler.current
            return (
                f"<ConfigManager {self._scheduler.lifecycle} "
                f"revision={current.number if current else None} "
                f"listeners={len(self._scheduler.listeners)}>"
            )
