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
from typing import TYPE_CHECKING, Any

from nodeconf.errors import SourceError
from nodeconf.manager.jobs import Resumed
from nodeconf.manager.lifecycle import Lifecycle, Started
from nodeconf.manager.running import one_line
from nodeconf.manager.stopping import remaining

if TYPE_CHECKING:
    from collections.abc import Callable

    from nodeconf.manager.listeners import ListenerRecord
    from nodeconf.manager.pool import WorkerPool
    from nodeconf.manager.scheduler import Scheduler
    from nodeconf.manager.source import Source, SourceContext
    from nodeconf.manager.stopping import StopSequence
    from nodeconf.model.seam import ConfigSchema

__all__ = ["SourceSteps", "await_first"]

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
            source.prepare(self._schema, remaining(deadline))
            self.prepared = True
        if not self.started:
            self._stopping.mark_source_started()
            source.start(self._context)
            self.started = True
        if not source.wait_synced(remaining(deadline)):
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

    def done() -> bool:
        if scheduler.lifecycle is not Lifecycle.STARTING:
            return True
        if not first_sync_done():
            return False
        if scheduler.current is not None and not all(settled(r) for r in first):
            return False
        return scheduler.outbox_idle()

    with pool.lock:
        finished = pool.wait_locked(done, remaining(deadline))
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
