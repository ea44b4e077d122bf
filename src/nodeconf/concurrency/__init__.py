"""Concurrency primitives: clocks, a latch and rate limiters.

This layer sits between the pure model and the manager. It starts no threads of its own.
Everything time-dependent reads an injectable ``Clock``, so tests use ``FakeClock`` and never
sleep.

* ``clock``: ``Clock`` protocol, ``MonotonicClock`` (default), ``FakeClock`` for tests;
  ``seconds_left`` for the real-time timeouts of joins and stops.
* ``latch``: ``Latch``, a one-shot flag whose waiters a ``cancel`` also releases.
* ``ratelimit``: client-go's rate limiters (per-key exponential, token bucket, max-of).

Thread-safety: every public class here is safe to use from any thread; see each module.
"""

from __future__ import annotations

from nodeconf.concurrency.clock import (
    DEFAULT_CLOCK,
    Clock,
    FakeClock,
    MonotonicClock,
    default_clock,
    seconds_left,
)
from nodeconf.concurrency.latch import Latch
from nodeconf.concurrency.ratelimit import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    RateLimiter,
    default_controller_rate_limiter,
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
    "RateLimiter",
    "default_clock",
    "default_controller_rate_limiter",
    "seconds_left",
]
