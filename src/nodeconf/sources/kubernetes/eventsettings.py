"""How ``KubernetesEventSink`` paces itself (``EventSinkSettings``) and what it counts
(``EventSinkStats``).

Thread-safety: immutable values; any thread.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EventSinkSettings", "EventSinkStats"]


@dataclass(frozen=True, slots=True)
class EventSinkSettings:
    """How the event sink paces itself (defaults follow client-go's recorder).

    Thread-safety: immutable.
    """

    queue_size: int = 64
    aggregate_window_seconds: float = 600.0
    repeat_interval_seconds: float = 10.0
    burst: int = 25
    refill_seconds: float = 300.0
    close_timeout_seconds: float = 5.0
    request_timeout_seconds: float = 5.0
    component: str = "nodeconf"

    def __post_init__(self) -> None:
        if self.queue_size < 1:
            raise ValueError(f"queue_size must be >= 1, got {self.queue_size!r}")
        if self.burst < 1:
            raise ValueError(f"burst must be >= 1, got {self.burst!r}")
        if not self.refill_seconds > 0:
            raise ValueError(f"refill_seconds must be > 0, got {self.refill_seconds!r}")
        if not 0 <= self.repeat_interval_seconds < float("inf"):
            raise ValueError(
                "repeat_interval_seconds must be a finite number >= 0, got "
                f"{self.repeat_interval_seconds!r}"
            )


@dataclass(frozen=True, slots=True)
class EventSinkStats:
    """What the sink did: ``posted`` (POSTs), ``patched`` (aggregating PATCHes),
    ``aggregated`` (Events folded into another's count by a request), ``held`` (repeats
    waiting for their paced PATCH right now), ``skipped`` (outcomes equal to the last of
    their reason), ``dropped_queue_full``, ``dropped_rate_limited``, ``dropped_at_close``,
    ``failed`` (requests that failed).

    Thread-safety: immutable.
    """

    posted: int = 0
    patched: int = 0
    aggregated: int = 0
    held: int = 0
    skipped: int = 0
    dropped_queue_full: int = 0
    dropped_rate_limited: int = 0
    dropped_at_close: int = 0
    failed: int = 0
