"""How the manager itself behaves: thresholds, retry delays, thread bounds.

Every duration is in seconds and says so in its name. ``slow_listener_seconds`` and the retry
delays are measured on the manager's clock (a ``FakeClock`` in tests); ``stop_timeout_seconds``
is the real-time bound ``stop()`` uses when it is given no timeout.

Thread-safety: immutable.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Settings"]


@dataclass(frozen=True, slots=True)
class Settings:
    """Tunables of a ``ConfigManager``; the defaults are Volcano's where Volcano has one.

    * ``slow_listener_seconds``: a listener call running longer than this (clock seconds) is
      reported as slow (an ``Outcome`` of kind ``"slow"`` and ``ListenerStatus.slow``).
    * ``stop_timeout_seconds``: the deadline ``stop()`` uses when called without a timeout.
    * ``retry_base_delay_seconds`` / ``retry_max_delay_seconds``: each failing listener's own
      exponential backoff (0.5 s doubling up to 1000 s).
    * ``retry_bucket_rate_per_second`` / ``retry_bucket_burst``: a token bucket shared by all
      retries, so many failing listeners cannot spin (10 per second, burst 100).
    * ``dispatch_threads``: how many worker threads ``start()`` starts (default 2: one to
      call a listener, one free to compute revisions, notice retries and report slow work).
      The pool never shrinks below it, and grows on demand (see below).
    * ``max_dispatch_threads``: how many listener calls may run at once; the pool has at most
      one thread more. ``None`` (the default) means "as many as there are listeners", so the
      pool may grow to one more than the number of registered listeners, which is what
      guarantees that hung listeners can never starve the others. ``1`` makes delivery
      serial, in registration order, like Volcano, at the price of that guarantee (revisions
      are still computed while a call hangs; they wait for the call).

    Thread-safety: immutable.
    """

    slow_listener_seconds: float = 30.0
    stop_timeout_seconds: float = 30.0
    retry_base_delay_seconds: float = 0.5
    retry_max_delay_seconds: float = 1000.0
    retry_bucket_rate_per_second: float = 10.0
    retry_bucket_burst: int = 100
    dispatch_threads: int = 2
    max_dispatch_threads: int | None = None

    def __post_init__(self) -> None:
        positive = {
            "slow_listener_seconds": self.slow_listener_seconds,
            "stop_timeout_seconds": self.stop_timeout_seconds,
            "retry_bucket_rate_per_second": self.retry_bucket_rate_per_second,
        }
        for name, value in positive.items():
            if not value > 0:
                raise ValueError(f"Settings.{name} must be > 0, got {value!r}")
        if not self.retry_base_delay_seconds >= 0:
            raise ValueError(
                "Settings.retry_base_delay_seconds must be >= 0, "
                f"got {self.retry_base_delay_seconds!r}"
            )
        if not self.retry_max_delay_seconds >= self.retry_base_delay_seconds:
            raise ValueError(
                "Settings.retry_max_delay_seconds must be >= retry_base_delay_seconds, "
                f"got {self.retry_max_delay_seconds!r}"
            )
        if self.retry_bucket_burst < 1:
            raise ValueError(
                f"Settings.retry_bucket_burst must be >= 1, got {self.retry_bucket_burst!r}"
            )
        if self.dispatch_threads < 1:
            raise ValueError(
                f"Settings.dispatch_threads must be >= 1, got {self.dispatch_threads!r}"
            )
        if self.max_dispatch_threads is not None and self.max_dispatch_threads < 1:
            raise ValueError(
                "Settings.max_dispatch_threads must be None or >= 1, "
                f"got {self.max_dispatch_threads!r}"
            )
