"""The start sequence's two waits: the source's start-up steps, then the first deliveries.

``ConfigManager.start()`` runs ``source_steps`` on its own thread with no lock held (the
source's ``prepare``, ``start`` and ``wait_synced``, serialised with the stop's phase 1 by
``StopSequence.transition``), then launches the workers and waits in ``await_first`` until
the first sync ended and every listener registered by then finished its first call (or was
reported slow), or the timeout passed, or ``stop()`` was called. What it saw is the
``Started`` it returns.

Thread-safety: called by ``start()``'s thread only; ``await_first`` takes the pool's lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nodeconf.errors import SourceError
from nodeconf.manager.lifecycle import Lifecycle, Started
from nodeconf.manager.stopping import remaining

if TYPE_CHECKING:
    from nodeconf.manager.listeners import ListenerRecord
    from nodeconf.manager.pool import WorkerPool
    from nodeconf.manager.scheduler import Scheduler
    from nodeconf.manager.source import Source, SourceContext
    from nodeconf.manager.stopping import StopSequence
    from nodeconf.model.seam import ConfigSchema

__all__ = ["await_first", "source_steps"]


def source_steps(
    source: Source,
    schema: ConfigSchema,
    context: SourceContext,
    stopping: StopSequence,
    deadline: float | None,
) -> None:
    """``prepare``, ``start`` and ``wait_synced`` within ``deadline`` (no lock held); raises
    ``SourceError`` when the first complete state does not arrive in time."""
    source.prepare(schema, remaining(deadline))
    stopping.mark_source_started()
    source.start(context)
    left = remaining(deadline)
    if not source.wait_synced(left):
        raise SourceError(
            "the source did not deliver its first complete state before start()'s timeout",
            temporary=True,
        )


def await_first(
    pool: WorkerPool,
    scheduler: Scheduler,
    first: list[ListenerRecord],
    deadline: float | None,
) -> Started:
    """Wait for the first sync and the first calls of ``first``; say what happened, and
    move the lifecycle to RUNNING unless a stop came first."""

    def first_sync_done() -> bool:
        return scheduler.pub.evaluations_total > 0 or scheduler.pub.source_error != ""

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
        if current is None:
            return Started.INVALID if scheduler.pub.last_error else Started.PENDING
        if all(r.removed or r.applied_revision >= current.number for r in first):
            return Started.APPLIED
        return Started.PENDING
