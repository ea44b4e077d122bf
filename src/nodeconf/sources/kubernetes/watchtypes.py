"""What a list-watch loop (``listwatch``) follows, what it counts and whom it calls.

``WatchTarget`` names the one object a loop follows; ``WatchStats`` is a snapshot of a loop's
counters (``ListWatch.stats``, ``KubernetesSource.watch_stats``); ``ListWatchHandler`` is what
a loop calls with its cache changes (``delivery.LoopHandler`` is the source's). The order and
the invariants of those calls are stated in ``listwatch``'s module docstring.

Thread-safety: ``WatchTarget`` and ``WatchStats`` are immutable (any thread);
``ListWatchHandler`` is called on its loop's thread only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["ListWatchHandler", "WatchStats", "WatchTarget"]


@dataclass(frozen=True, slots=True)
class WatchTarget:
    """The object a loop follows: ``kind`` (plural), ``name``, ``namespace`` (None when
    cluster-scoped).

    Thread-safety: immutable.
    """

    kind: str
    name: str
    namespace: str | None = None

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


@dataclass(frozen=True, slots=True)
class WatchStats:
    """Counters of one loop, for status and tests.

    ``lists`` LIST requests answered; ``watches`` WATCH requests accepted; ``events`` watch
    events applied (bookmarks excluded); ``bookmarks``; ``expired`` 410 answers (status or
    event); ``failures`` errors that led to a backoff delay; ``consecutive_failures`` the
    backoff's current count (reset after a healthy period); ``reconnect_delays`` the most
    recent delays waited (seconds, oldest first); ``last_error`` the last error's text.

    Thread-safety: immutable.
    """

    lists: int = 0
    watches: int = 0
    events: int = 0
    bookmarks: int = 0
    expired: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    reconnect_delays: tuple[float, ...] = ()
    last_error: str = ""
    resource_version: str = ""


class ListWatchHandler(Protocol):
    """Receives a loop's cache changes, on the loop's thread.

    Thread-safety: called by one loop thread at a time; implementations guard what they
    share with other threads.
    """

    def on_change(
        self, target: WatchTarget, previous: dict[str, Any] | None, current: dict[str, Any] | None
    ) -> None:
        """The object changed: added (``previous`` None), deleted (``current`` None) or
        modified (both set; their resourceVersions differ)."""
        ...

    def on_listed(self, target: WatchTarget, current: dict[str, Any] | None) -> None:
        """A LIST completed (after its changes were delivered); ``current`` is the object."""
        ...

    def on_restart(self, target: WatchTarget, reason: str) -> None:
        """The watch is being re-established after ``reason`` (for status reports)."""
        ...
