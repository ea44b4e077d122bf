"""The start sequence's two waits: the source's start-up steps, then the first deliveries.

``ConfigManager.start()`` runs ``SourceSteps.run`` on its own thread with no lock held (the
source's ``prepare``, ``start`` and ``wait_synced``, serialised with the stop's phase 1 by
``StopSequence.transition``), then launches the workers and waits in ``await_first`` until
the first sync ended (or a fallback was published) and every listener registered by then
finished its first call (or was reported slow), or the timeout passed, or ``stop()`` was
called. What it saw is the ``Started`` it returns. After a fallback, ``SourceSteps.resume``
finishes the source's steps on a worker.

Thread-safety: ``SourceSteps`` as its docstring says; ``await_first`` is called by
``start()``'s thread only and takes the pool's lock.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from nodeconf.concurrency.clock import seconds_left
from nodeconf.errors import LifecycleError, SourceError
from nodeconf.manager.jobs import Resumed
from nodeconf.manager.lifecycle import Lifecycle, Started
from nodeconf.manager.listeners import Revision
from nodeconf.manager.running import one_line

if TYPE_CHECKING:
    from collections.abc import Callable

    from nodeconf.manager.fallback import Fallback
    from nodeconf.manager.listeners import ListenerRecord
    from nodeconf.manager.pool import WorkerPool
    from nodeconf.manager.scheduler import Scheduler
    from nodeconf.manager.source import Source, SourceContext
    from nodeconf.manager.stopping import StopSequence
    from nodeconf.model.seam import ConfigSchema

__all__ = ["SourceSteps", "StartSequence", "await_first"]

log = logging.getLogger("nodeconf.manager")


class SourceSteps:
    """The source's start-up steps, done once each, in order: ``prepare``, ``start``, then
    waiting for the first complete state.

    ``run`` is ``start()``'s part, within its deadline. When it runs out and a ``Fallback``
    was given, ``resume`` carries on on a worker (a ``ResumeJob``) where ``run`` left off,
    without a deadline: a failed ``prepare`` is reported and the source is started anyway (its
    watches retry on their own); a stop cancels the wait (``Cancellable``) and makes it end.

    Thread-safety: ``run`` and ``resume`` hold ``stopping.transition`` (``start()`` holds it
    around ``run``; ``resume`` takes it), which also guards ``prepared`` and ``started``. The
    source runs with no lock of nodeconf held but ``transition``, whose only other taker is
    the stop's phase 1 (it cancels the source first).
    """

    def __init__(
        self,
        source: Source,
        schema: ConfigSchema[Any],
        context: SourceContext,
        stopping: StopSequence,
        report_error: Callable[[str], None],
    ) -> None:
        self._source = source
        self._report_error = report_error  # no lock held when called
        self._schema = schema
        self._context = context
        self._stopping = stopping
        # ---- guarded by stopping.transition ----
        self.prepared = False  # prepare returned (or, resumed, was tried once)
        self.started = False  # Source.start returned

    def run(self, deadline: float | None) -> None:
        """Every step within ``deadline`` (caller holds ``transition``); raises
        ``SourceError`` when the first complete state does not arrive in time."""
        source = self._source
        if not self.prepared:
            source.prepare(self._schema, seconds_left(deadline))
            self.prepared = True
        if not self.started:
            self._stopping.mark_source_started()
            source.start(self._context)
            self.started = True
        if not source.wait_synced(seconds_left(deadline)):
            raise SourceError(
                "the source did not deliver its first complete state before start()'s timeout",
                temporary=True,
            )

    def resume(self) -> Resumed:
        """The steps left after a fallback, without a deadline (on a worker). A failed step
        is reported at once through ``report_error``."""
        source, stopping = self._source, self._stopping
        with stopping.transition:
            if not stopping.live():
                return Resumed(synced=False)
            if not self.prepared:
                self.prepared = True  # tried once; the watches retry by themselves
                try:
                    source.prepare(self._schema, None)
                except Exception as exc:
                    log.warning("the source's prepare failed again, starting it anyway: %s", exc)
                    self._report_error(f"prepare: {one_line(exc)}")
            if not self.started:
                if not stopping.live():  # stopped during prepare: never start the source
                    return Resumed(synced=False)
                stopping.mark_source_started()
                try:
                    source.start(self._context)
                except Exception as exc:
                    log.error("the source could not start after the fallback: %s", exc)
                    self._report_error(f"start: {one_line(exc)}")
                    return Resumed(synced=False)
                self.started = True
            synced = source.wait_synced(None) and stopping.live()
        if synced:
            log.info("the source has its first complete state: it supersedes the fallback")
        return Resumed(synced=synced)


class StartSequence:
    """``ConfigManager.start()``: the lifecycle checks, the source's steps (``SourceSteps``),
    the fallback when they run out, the workers' launch and the wait for the first
    deliveries (``await_first``).

    Thread-safety: ``start`` is called once, by ``start()``'s caller; ``resume`` by the worker
    holding the ``ResumeJob``; both take the pool's lock for short steps only and call the
    source with no lock held but ``transition``.
    """

    def __init__(
        self,
        source: Source,
        schema: ConfigSchema[Any],
        context: SourceContext,
        *,
        pool: WorkerPool,
        scheduler: Scheduler,
        stopping: StopSequence,
    ) -> None:
        self._pool = pool
        self._scheduler = scheduler
        self._stopping = stopping
        self._sections = frozenset(schema.section_names())
        self._steps = SourceSteps(source, schema, context, stopping, self._resume_failed)

    def start(self, timeout: float | None, fallback: Fallback[Any] | None) -> Started:
        """``ConfigManager.start`` (see its docstring)."""
        now = time.monotonic()
        deadline = None if timeout is None else now + max(0.0, timeout)
        steps_deadline = deadline
        if fallback is not None:
            steps_deadline = now + fallback.after_seconds
            if deadline is not None:
                steps_deadline = min(steps_deadline, deadline)
        pool, scheduler, stopping = self._pool, self._scheduler, self._stopping
        with pool.lock:
            if scheduler.lifecycle is not Lifecycle.NEW:
                raise LifecycleError(
                    f"start() called on a {scheduler.lifecycle} manager: a manager starts once"
                )
            scheduler.lifecycle = Lifecycle.STARTING
            pool.notify_waiters_locked()
        with stopping.transition:
            with pool.lock:
                if scheduler.lifecycle is not Lifecycle.STARTING:  # stop() came first
                    return Started.STOPPED
                stopping.start_ident = threading.get_ident()
            try:
                restoring = self._run_steps(steps_deadline, fallback)
            finally:
                with pool.lock:
                    stopping.start_ident = None
            if restoring is None:
                return Started.STOPPED
            with pool.lock:
                stopped = scheduler.lifecycle is not Lifecycle.STARTING
                if not stopped:
                    first = list(scheduler.listeners)
                    if restoring and fallback is not None:
                        revision = Revision(1, fallback.config, self._sections, restored=True)
                        scheduler.restore(revision, fallback)
                    else:
                        scheduler.start_delivering()
                    threads = pool.launch_locked()
            if stopped:  # stop() was called during the source steps: finish it here
                stopping.abort_start()
                return Started.STOPPED
            pool.start_threads(threads)
        return await_first(pool, scheduler, first, deadline)

    def resume(self) -> Resumed:
        """The ``ResumeJob``: the source's steps left after a fallback (on a worker)."""
        return self._steps.resume()

    def _run_steps(self, deadline: float | None, fallback: Fallback[Any] | None) -> bool | None:
        """The source's steps (``transition`` held): False when they succeeded, True when the
        fallback must be delivered, None when a stop cut them short (the stop is finished).
        Raises what they raised otherwise, the manager then stopped."""
        stopping = self._stopping
        try:
            self._steps.run(deadline)
        except SourceError as exc:
            stopped = not stopping.live()
            if fallback is None or stopped:
                stopping.abort_start()
                if stopped:  # stop() cut the source's steps short (cancel): not a failure
                    return None
                raise
            log.warning(
                "the source gave no first state within %gs (%s): delivering the fallback "
                "from %s; the source's start-up goes on in the background",
                fallback.after_seconds,
                exc,
                fallback.origin,
            )
            return True
        except Exception:
            stopped = not stopping.live()
            stopping.abort_start()
            if stopped:
                return None
            raise
        except BaseException:
            stopping.abort_start()
            raise
        return False

    def _resume_failed(self, error: str) -> None:
        """A step of the resumed start-up failed: report it (no lock held by the caller)."""
        with self._pool.lock:
            self._scheduler.resume_failed(error)
            grown = self._pool.cover_locked()
        self._pool.start_threads(grown)


def await_first(
    pool: WorkerPool,
    scheduler: Scheduler,
    first: list[ListenerRecord],
    deadline: float | None,
) -> Started:
    """Wait for the first sync and the first calls of ``first``; say what happened, and
    move the lifecycle to RUNNING unless a stop came first."""

    def first_sync_done() -> bool:
        pub = scheduler.pub
        return pub.evaluations_total > 0 or pub.source_error != "" or pub.restored_from != ""

    def settled(record: ListenerRecord) -> bool:
        if record.removed or record.slow_reported:
            return True
        return record not in scheduler.running and (
            record.calls_total > 0 or record.applied_revision > 0
        )

    # start() waits until the sink has had the outcomes of the first deliveries (up to the
    # first "synced", else those queued when they settled), not those of later changes: a
    # quick edit must not keep start() waiting.
    mark: list[int] = []

    def done() -> bool:
        if scheduler.lifecycle is not Lifecycle.STARTING:
            return True
        if not first_sync_done():
            return False
        if scheduler.current is not None and not all(settled(r) for r in first):
            return False
        if not mark:
            synced_mark = scheduler.first_synced_mark
            mark.append(synced_mark if synced_mark is not None else scheduler.outbox.queued_total)
        return scheduler.outbox.emitted_total >= mark[0]

    with pool.lock:
        finished = pool.wait_locked(done, seconds_left(deadline))
        if scheduler.lifecycle is not Lifecycle.STARTING:
            return Started.STOPPED
        scheduler.lifecycle = Lifecycle.RUNNING
        pool.notify_waiters_locked()
        current = scheduler.current
        if not finished:
            return Started.TIMED_OUT
        if current is not None and current.restored:
            return Started.RESTORED
        if current is None:
            return Started.INVALID if scheduler.pub.last_error else Started.PENDING
        if all(r.removed or r.applied_revision >= current.number for r in first):
            return Started.APPLIED
        return Started.PENDING
