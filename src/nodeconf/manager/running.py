"""What each job means when a worker runs it: the only place the engine calls user code.

``JobRunner.run`` is called by a worker with no lock held:

* ``SyncJob``: ``Source.snapshot()`` then ``Evaluator.evaluate``; a raising source becomes a
  ``SyncFailed`` retried after the sync's own backoff;
* ``CallJob``: the listener; an ``Exception`` becomes a ``CallFailed`` (``RetryLater`` with its
  delay, ``Reject`` not retried, anything else after the listener's own backoff);
* ``EmitJob``: each outcome to the sink, in order; a raising sink is logged and skipped;
* ``ResumeJob``: the source's start-up steps, resumed after a fallback (``resume``, given by
  the manager: ``starting.SourceSteps.resume``).

A ``BaseException`` is not caught here: the pool records ``aborted(job, error)`` for the job
(retried like a failure, so nothing is lost), then replaces the worker.

Thread-safety: ``run`` and ``aborted`` may be called from several workers at once; the rate
limiters have their own locks, and the scheduler never hands out two syncs, two calls of one
listener or two emit batches at once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from nodeconf.concurrency.ratelimit import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
)
from nodeconf.errors import Reject, RetryLater
from nodeconf.manager.jobs import (
    CallFailed,
    CallJob,
    Evaluated,
    Job,
    Resumed,
    ResumeJob,
    SyncFailed,
    SyncJob,
)
from nodeconf.manager.listeners import ListenerRecord

if TYPE_CHECKING:
    from collections.abc import Callable

    from nodeconf.concurrency.clock import Clock
    from nodeconf.manager.outcomes import Outcome, OutcomeSink
    from nodeconf.manager.revisions import Evaluator
    from nodeconf.manager.settings import Settings
    from nodeconf.manager.source import Source

__all__ = ["JobRunner"]

log = logging.getLogger("nodeconf.manager")

#: The rate limiter's key for the sync's own backoff.
_SYNC_KEY = "sync"


def one_line(error: BaseException) -> str:
    """``Type: message`` on one line."""
    return f"{type(error).__name__}: {error}".replace("\n", " ")


class JobRunner:
    """Carries out jobs for one manager (see the module docstring).

    Thread-safety: see the module docstring.
    """

    def __init__(
        self,
        source: Source,
        evaluator: Evaluator,
        sink: OutcomeSink,
        settings: Settings,
        clock: Clock,
        *,
        resume: Callable[[], Resumed],
    ) -> None:
        self._source = source
        self._resume = resume
        self._evaluator = evaluator
        self._sink = sink
        s = settings
        # Each listener's backoff, plus a bucket shared by all; the sync has its own.
        self._listener_limiter = MaxOfRateLimiter[ListenerRecord](
            ItemExponentialFailureRateLimiter(
                s.retry_base_delay_seconds, s.retry_max_delay_seconds
            ),
            BucketRateLimiter(s.retry_bucket_rate_per_second, s.retry_bucket_burst, clock),
        )
        self._sync_failed = False  # the sync limiter holds failures (owned by the sync job)
        self._sync_limiter = MaxOfRateLimiter[str](
            ItemExponentialFailureRateLimiter(
                s.retry_base_delay_seconds, s.retry_max_delay_seconds
            ),
            BucketRateLimiter(s.retry_bucket_rate_per_second, s.retry_bucket_burst, clock),
        )

    def run(self, job: Job) -> Evaluated | SyncFailed | CallFailed | Resumed | None:
        """Carry out ``job`` (no lock held)."""
        if isinstance(job, CallJob):
            return self._call(job)
        if isinstance(job, ResumeJob):
            return self._resume()
        if isinstance(job, SyncJob):
            try:
                result = self._evaluator.evaluate(self._source.snapshot(), job.previous)
            except Exception as exc:
                log.debug("sync of %s failed", sorted(job.keys), exc_info=True)
                self._sync_failed = True
                return SyncFailed(one_line(exc), self._sync_limiter.when(_SYNC_KEY))
            if self._sync_failed:
                self._sync_failed = False
                self._sync_limiter.forget(_SYNC_KEY)
            return result
        self.emit(job.outcomes)
        return None

    def aborted(self, job: Job, error: BaseException) -> SyncFailed | CallFailed | Resumed | None:
        """The result recorded for ``job`` ended by ``error``: retried like a failure (a
        resumed start-up is reported, not retried: the fallback stays in force)."""
        if isinstance(job, ResumeJob):
            return Resumed(synced=False)
        if isinstance(job, CallJob):
            return CallFailed(one_line(error), self._listener_limiter.when(job.record))
        if isinstance(job, SyncJob):
            self._sync_failed = True
            return SyncFailed(one_line(error), self._sync_limiter.when(_SYNC_KEY))
        return None

    def forget(self, record: ListenerRecord) -> None:
        """``record`` was removed: drop its backoff."""
        self._listener_limiter.forget(record)

    def emit(self, outcomes: tuple[Outcome, ...]) -> None:
        """Hand ``outcomes`` to the sink in order (no lock held; a raising sink is logged)."""
        sink = self._sink
        for outcome in outcomes:
            try:
                sink.emit(outcome)
            except Exception:
                log.exception("outcome sink %r failed on %s", sink, outcome.kind)

    def _call(self, job: CallJob) -> CallFailed | None:
        record = job.record
        try:
            record.invoke(job.revision.config, job.change)
        except RetryLater as exc:
            return CallFailed(f"retry later: {exc}", exc.delay_seconds)
        except Reject as exc:
            return CallFailed(f"rejected: {exc.reason}", None, rejected=True)
        except Exception as exc:  # a listener's failure is data: recorded, retried
            return CallFailed(one_line(exc), self._listener_limiter.when(record))
        if job.retrying:
            self._listener_limiter.forget(record)
        return None
