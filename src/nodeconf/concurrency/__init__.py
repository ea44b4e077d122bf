"""Concurrency primitives: clocks, rate limiters and the work queue.

This layer sits between the pure model and the manager. It starts no threads of its own: the
work queue promotes delayed keys inside its callers' ``get`` (no timer thread), and the manager
owns every worker thread. Everything time-dependent reads an injectable ``Clock``, so tests use
``FakeClock`` and never sleep.

* ``clock``: ``Clock`` protocol, ``MonotonicClock`` (default), ``FakeClock`` for tests.
* ``latch``: ``Latch``, a one-shot flag whose waiters a ``cancel`` also releases.
* ``ratelimit``: client-go's rate limiters (per-key exponential, token bucket, max-of).
* ``workqueue``: ``WorkQueue`` with client-go's semantics plus an exact, reporting shutdown.

Thread-safety: every public class here is safe to use from any thread; see each module.
"""

from __future__ import annotations

from nodeconf.concurrency.clock import (
    DEFAULT_CLOCK,
    Clock,
    FakeClock,
    MonotonicClock,
    default_clock,
)
from nodeconf.concurrency.latch import Latch
from nodeconf.concurrency.ratelimit import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    RateLimiter,
    default_controller_rate_limiter,
)
from nodeconf.concurrency.workqueue import (
    QueueShutDown,
    QueueState,
    QueueStats,
    ShutdownReport,
    WorkQueue,
)

__all__ = [
    "DEFAULT_CLOCK",
    "BucketRateLimiter",
    "Clock",
    "FakeClock",
    "ItemExponentialFailureRateLimiter",
    "Latch",
    "MaxOfRateLimiter",
    "MonotonicClock",
    "QueueShutDown",
    "QueueState",
    "QueueStats",
    "RateLimiter",
    "ShutdownReport",
    "WorkQueue",
    "default_clock",
    "default_controller_rate_limiter",
]
