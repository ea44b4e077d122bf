"""Reconnect delays: capped exponential backoff with full jitter, reset after a healthy period.

After the n-th consecutive failure (n counted from 0) the delay is drawn uniformly from
``[0, min(max_delay_seconds, initial_delay_seconds * multiplier**n)]`` ("full jitter"): the
ceiling grows until it is capped, and thousands of agents that lost the same API server spread
their reconnects over the whole window instead of arriving together. A ``Retry-After`` from
the server (429, 503) is a floor: the delay is that many seconds plus a jittered share, never
less. Once a connection has been healthy for ``reset_after_seconds`` the count starts again
from 0, so a watch that ran for hours and then dropped reconnects quickly.

Pure bookkeeping: it reads no clock and sleeps nowhere; callers pass ``now`` and wait on their
own (injectable) clock. The random generator is injectable so tests can replay the delays.

Thread-safety: a ``Backoff`` belongs to one thread (its list-watch loop); not shared.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Backoff", "BackoffSettings"]


@dataclass(frozen=True, slots=True)
class BackoffSettings:
    """How reconnect delays grow. Defaults follow client-go's reflector (0.8 s, 30 s, 2 min).

    Thread-safety: immutable.
    """

    initial_delay_seconds: float = 0.8
    max_delay_seconds: float = 30.0
    multiplier: float = 2.0
    reset_after_seconds: float = 120.0

    def __post_init__(self) -> None:
        if not self.initial_delay_seconds > 0:
            raise ValueError(
                f"initial_delay_seconds must be > 0, got {self.initial_delay_seconds!r}"
            )
        if not self.max_delay_seconds >= self.initial_delay_seconds:
            raise ValueError(
                "max_delay_seconds must be >= initial_delay_seconds, got "
                f"{self.max_delay_seconds!r} < {self.initial_delay_seconds!r}"
            )
        if not self.multiplier >= 1:
            raise ValueError(f"multiplier must be >= 1, got {self.multiplier!r}")
        if not self.reset_after_seconds >= 0:
            raise ValueError(f"reset_after_seconds must be >= 0, got {self.reset_after_seconds!r}")

    def ceiling(self, failures: int) -> float:
        """The largest delay after ``failures`` earlier consecutive failures."""
        # Compare in the exponent's domain first so a long outage cannot overflow a float.
        ceiling = self.initial_delay_seconds
        for _ in range(failures):
            ceiling *= self.multiplier
            if ceiling >= self.max_delay_seconds:
                return self.max_delay_seconds
        return min(ceiling, self.max_delay_seconds)


class Backoff:
    """Consecutive-failure counter that turns each failure into a jittered delay.

    ``failure(now, retry_after_seconds=None)`` returns the delay to wait before the next
    attempt; ``healthy(now)`` marks the moment a connection started working (an open watch);
    ``failures`` is the number of consecutive failures counted so far.

    Thread-safety: single-threaded (owned by one list-watch loop).
    """

    def __init__(self, settings: BackoffSettings, *, rng: random.Random | None = None) -> None:
        self._settings = settings
        self._rng = rng if rng is not None else random.Random()  # noqa: S311 - jitter, not crypto
        self._failures = 0
        self._healthy_since: float | None = None

    @property
    def failures(self) -> int:
        return self._failures

    def healthy(self, now: float) -> None:
        """A connection works from ``now`` on (kept until the next failure)."""
        if self._healthy_since is None:
            self._healthy_since = now

    def failure(self, now: float, *, retry_after_seconds: float | None = None) -> float:
        """Count a failure at ``now`` and return how long to wait before retrying."""
        if (
            self._healthy_since is not None
            and now - self._healthy_since >= self._settings.reset_after_seconds
        ):
            self._failures = 0
        self._healthy_since = None
        ceiling = self._settings.ceiling(self._failures)
        self._failures += 1
        delay = self._rng.uniform(0.0, ceiling)
        if retry_after_seconds is not None and retry_after_seconds > 0:
            delay += retry_after_seconds
        return delay

    def reset(self) -> None:
        """Forget every failure (the next delay starts from the initial ceiling)."""
        self._failures = 0
        self._healthy_since = None
