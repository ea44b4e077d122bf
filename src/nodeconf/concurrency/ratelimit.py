"""Rate limiters: how long a failed key waits before it is retried.

The semantics are client-go's ``util/workqueue`` default rate limiters, on an injectable clock:

* ``when(key)`` records one failure of ``key`` and returns the delay (seconds) before the key
  may be retried;
* ``forget(key)`` clears the key's failure history (call it after a success);
* ``num_requeues(key)`` is how many failures are on record for the key.

Limiters compose: ``MaxOfRateLimiter`` asks every child and takes the largest delay.
``default_controller_rate_limiter`` is Volcano's (and client-go's) controller setting: the
larger of a per-key exponential backoff (0.5 s doubling up to 1000 s) and a token bucket shared
by all keys (10 per second, burst 100).

Thread-safety: every limiter may be called from any thread; each stateful limiter has one lock
that guards all its fields, and ``MaxOfRateLimiter`` is immutable (its children lock
themselves).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Hashable
from typing import Generic, Protocol, TypeVar

from nodeconf.concurrency.clock import Clock, default_clock

__all__ = [
    "BucketRateLimiter",
    "ItemExponentialFailureRateLimiter",
    "MaxOfRateLimiter",
    "RateLimiter",
    "default_controller_rate_limiter",
]

K = TypeVar("K", bound=Hashable)
K_contra = TypeVar("K_contra", bound=Hashable, contravariant=True)

#: 2.0 ** 1024 overflows a float; any exponent at or past this means "the cap".
_MAX_EXPONENT = 1023


class RateLimiter(Protocol[K_contra]):
    """Decides how long a failing key waits before its next try.

    Thread-safety: implementations must be safe to call from any thread.
    """

    def when(self, key: K_contra) -> float:
        """Record one failure of ``key``; return the delay in seconds before it may retry."""
        ...

    def forget(self, key: K_contra) -> None:
        """Clear ``key``'s failure history (it succeeded, or it is gone)."""
        ...

    def num_requeues(self, key: K_contra) -> int:
        """How many failures of ``key`` are on record."""
        ...


class ItemExponentialFailureRateLimiter(Generic[K]):
    """Per-key exponential backoff: ``base_delay_seconds * 2 ** failures``, capped.

    The n-th consecutive ``when`` of a key (n from 0) returns ``min(base * 2**n, max)``, so with
    the defaults: 0.5, 1, 2, 4, ... seconds up to 1000 s. Large failure counts never overflow.

    Thread-safety: safe from any thread; ``_lock`` guards ``_failures``.
    """

    def __init__(self, base_delay_seconds: float = 0.5, max_delay_seconds: float = 1000.0) -> None:
        if not base_delay_seconds >= 0:
            raise ValueError(f"base_delay_seconds must be >= 0, got {base_delay_seconds!r}")
        if not max_delay_seconds >= base_delay_seconds:
            raise ValueError(
                f"max_delay_seconds ({max_delay_seconds!r}) must be >= base_delay_seconds "
                f"({base_delay_seconds!r})"
            )
        self.base_delay_seconds = float(base_delay_seconds)
        self.max_delay_seconds = float(max_delay_seconds)
        self._lock = threading.Lock()
        self._failures: dict[K, int] = {}  # guarded by _lock; absent means 0

    def when(self, key: K) -> float:
        with self._lock:
            exponent = self._failures.get(key, 0)
            self._failures[key] = exponent + 1
        if exponent > _MAX_EXPONENT:
            return self.max_delay_seconds
        delay = self.base_delay_seconds * math.ldexp(1.0, exponent)  # may be inf: capped below
        return min(delay, self.max_delay_seconds)

    def forget(self, key: K) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def num_requeues(self, key: K) -> int:
        with self._lock:
            return self._failures.get(key, 0)

    def __repr__(self) -> str:
        return (
            f"ItemExponentialFailureRateLimiter(base_delay_seconds={self.base_delay_seconds!r}, "
            f"max_delay_seconds={self.max_delay_seconds!r})"
        )


class BucketRateLimiter:
    """A token bucket shared by all keys: ``rate_per_second`` tokens refill, up to ``burst``.

    ``when`` reserves one token and returns how long the caller must wait for it, like
    ``golang.org/x/time/rate``'s ``Reserve().Delay()``: the bucket starts full, so the first
    ``burst`` calls return 0; after that each call returns ``deficit / rate`` and the deficit
    grows (tokens may go negative: a reservation is never cancelled). Keys are not tracked:
    ``forget`` does nothing and ``num_requeues`` is always 0.

    Thread-safety: safe from any thread; ``_lock`` guards ``_tokens`` and ``_last``.
    """

    def __init__(
        self, rate_per_second: float = 10.0, burst: int = 100, clock: Clock | None = None
    ) -> None:
        if not rate_per_second > 0:
            raise ValueError(f"rate_per_second must be > 0, got {rate_per_second!r}")
        if burst < 1:
            raise ValueError(f"burst must be >= 1, got {burst!r}")
        self.rate_per_second = float(rate_per_second)
        self.burst = int(burst)
        self._clock = clock if clock is not None else default_clock()
        self._lock = threading.Lock()
        self._tokens = float(burst)  # guarded by _lock; negative = reserved ahead
        self._last: float | None = None  # guarded by _lock; clock time of the last refill

    def when(self, key: Hashable) -> float:
        del key  # one bucket for every key
        now = self._clock.now()
        with self._lock:
            tokens = self._tokens
            if self._last is not None and now > self._last:
                tokens = min(float(self.burst), tokens + (now - self._last) * self.rate_per_second)
            if self._last is None or now > self._last:
                self._last = now
            tokens -= 1.0
            self._tokens = tokens
        if tokens >= 0 or math.isinf(self.rate_per_second):
            return 0.0
        return -tokens / self.rate_per_second

    def forget(self, key: Hashable) -> None:
        del key

    def num_requeues(self, key: Hashable) -> int:
        del key
        return 0

    def __repr__(self) -> str:
        return f"BucketRateLimiter(rate_per_second={self.rate_per_second!r}, burst={self.burst!r})"


class MaxOfRateLimiter(Generic[K]):
    """Composes limiters: the delay is the largest any of them returns.

    ``when`` asks every child (each records the failure); ``forget`` forgets in all;
    ``num_requeues`` is the largest count any child has.

    Thread-safety: immutable; each child guards itself.
    """

    def __init__(self, *limiters: RateLimiter[K]) -> None:
        if not limiters:
            raise ValueError("MaxOfRateLimiter needs at least one limiter")
        self.limiters: tuple[RateLimiter[K], ...] = limiters

    def when(self, key: K) -> float:
        return max(limiter.when(key) for limiter in self.limiters)

    def forget(self, key: K) -> None:
        for limiter in self.limiters:
            limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        return max(limiter.num_requeues(key) for limiter in self.limiters)

    def __repr__(self) -> str:
        return f"MaxOfRateLimiter{self.limiters!r}"


def default_controller_rate_limiter(clock: Clock | None = None) -> MaxOfRateLimiter[Hashable]:
    """Volcano's retry policy: max of per-key exponential (0.5 s .. 1000 s) and a shared token
    bucket (10 per second, burst 100), the bucket on ``clock`` (default: the real clock)."""
    return MaxOfRateLimiter[Hashable](
        ItemExponentialFailureRateLimiter[Hashable](0.5, 1000.0),
        BucketRateLimiter(10.0, 100, clock=clock),
    )
