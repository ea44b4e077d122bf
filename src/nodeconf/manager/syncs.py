"""The sync key: one key that stands for "read the source and evaluate".

Whatever a source notified (``configmap``, ``node``), the answer is one sync that reads the
latest state, so a burst of notifications is one sync and the last state wins. The key is
*wanted* when notified; a notification that arrives during the sync in hand wants one more
after it. One sync is in hand at a time. A failed sync keeps the keys it answered and is
retried at a clock time; a notification due now supersedes that retry.

Pure: no threads, no clock, no I/O. Part of the scheduler's state, guarded by its owner.

Thread-safety: none; only ``Scheduler`` uses it, under the pool's lock.
"""

from __future__ import annotations

__all__ = ["SyncKey"]

#: The source key a failed or initial sync stands for when no key was notified.
DEFAULT_KEY = "configmap"


class SyncKey:
    """The sync's state (see the module docstring). Thread-safety: none."""

    def __init__(self) -> None:
        self.wanted = False  # a sync must run
        self.in_hand = False  # a sync is running
        self.since: float | None = None  # clock time the sync in hand began
        self.slow_reported = False  # the sync in hand was reported slow
        self.keys: set[str] = set()  # keys notified since the last sync began
        self.failed_keys: frozenset[str] = frozenset()  # keys of the failed sync
        self.retry_at: float | None = None  # clock time the failed sync is retried

    def notify(self, key: str) -> None:
        """``key`` changed: a sync is wanted now (superseding a pending retry)."""
        self.keys.add(key)
        self.wanted = True
        self.retry_at = None

    def take(self, now: float) -> frozenset[str]:
        """Hand the sync out at ``now``; the keys it answers."""
        self.wanted = False
        self.in_hand = True
        self.since = now
        self.slow_reported = False
        keys = frozenset(self.keys | self.failed_keys)
        self.keys.clear()
        return keys

    def finished(self) -> None:
        """The sync in hand is over (its result is recorded by the caller)."""
        self.in_hand = False
        self.since = None

    def failed(self, keys: frozenset[str], retry_at: float | None) -> str:
        """The sync answering ``keys`` failed: retry at ``retry_at`` (None: never). Returns
        the keys, for a message."""
        self.failed_keys = keys or frozenset({DEFAULT_KEY})
        self.retry_at = retry_at
        return ", ".join(sorted(self.failed_keys))

    def succeeded(self) -> None:
        self.failed_keys = frozenset()

    def promote_due(self, now: float) -> None:
        """The failed sync's retry is due at ``now``: want it."""
        if self.retry_at is not None and self.retry_at <= now:
            self.retry_at = None
            self.wanted = True

    def slow_at(self, slow_seconds: float) -> float | None:
        """When the sync in hand becomes slow (None: none, or already reported)."""
        if self.since is None or self.slow_reported:
            return None
        return self.since + slow_seconds

    def waiting_keys(self) -> int:
        """Source keys waiting for a sync (notified, or failed and due for a retry)."""
        keys = set(self.keys)
        if self.retry_at is not None:
            keys |= self.failed_keys
        return len(keys)

    def dropped_keys(self, delivering: bool) -> list[str]:
        """At close: the keys a wanted or running sync would have answered."""
        if not ((self.wanted and delivering) or self.in_hand):
            return []
        return sorted(self.keys | self.failed_keys or {DEFAULT_KEY})

    def pending_keys(self) -> list[str]:
        """At close: the keys of a failed sync whose retry is pending."""
        return sorted(self.failed_keys or {DEFAULT_KEY}) if self.retry_at is not None else []
