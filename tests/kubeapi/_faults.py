"""Fault injection: describe a failure, the server applies it to the next matching requests.

A ``Fault`` is an immutable description. ``FaultTable`` keeps the injected faults with their
remaining counts under its own lock; handler threads call ``take`` once per request (the first
matching fault in injection order wins and loses one use), tests call ``inject`` and ``clear``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

__all__ = ["Fault", "FaultTable"]


@dataclass(frozen=True)
class Fault:
    """What the next ``times`` matching requests get instead of a normal answer.

    Matching (all given criteria must hold): ``method`` (``GET``, ``PUT``, ...),
    ``path_contains`` (substring of the URL path, query excluded), ``watch`` (True: only
    watch requests; False: only non-watch ones). A fault with ``drop_after_events`` or
    ``silent`` only ever matches watch requests.

    Effects, in this order: wait ``delay_seconds`` (interrupted by ``stop()``); then answer
    with an error ``Status`` of HTTP ``status`` (with a ``Retry-After`` header when
    ``retry_after_seconds`` is given); or, for a watch, stream normally and close the
    connection abruptly (no terminating chunk) after ``drop_after_events`` object events
    (BOOKMARKs are not counted; 0 drops right after the headers); or, for a watch, send the
    response headers and then nothing at all (``silent``: no events, no bookmarks, no
    ``timeoutSeconds``) until the client goes away, ``close_watches()`` or ``stop()``.
    A fault with only a delay answers normally afterwards. ``times=None`` applies until
    ``clear_faults()``.

    Thread-safety: immutable.
    """

    method: str | None = None
    path_contains: str | None = None
    watch: bool | None = None
    status: int | None = None
    retry_after_seconds: int | None = None
    times: int | None = 1
    delay_seconds: float = 0.0
    drop_after_events: int | None = None
    silent: bool = False

    def __post_init__(self) -> None:
        if self.times is not None and self.times < 1:
            raise ValueError(f"times must be >= 1 or None, got {self.times}")
        if self.delay_seconds < 0:
            raise ValueError(f"delay_seconds must be >= 0, got {self.delay_seconds}")
        streamed = self.silent or self.drop_after_events is not None
        if streamed and self.status is not None:
            raise ValueError("a status fault cannot also drop or silence a stream")
        if self.silent and self.drop_after_events is not None:
            raise ValueError("silent and drop_after_events are exclusive")
        if streamed and self.watch is False:
            raise ValueError("drop_after_events and silent apply to watch requests only")
        if self.drop_after_events is not None and self.drop_after_events < 0:
            raise ValueError("drop_after_events must be >= 0")

    def matches(self, method: str, path: str, watch: bool) -> bool:
        """True when a request with these coordinates is subject to this fault."""
        wants_watch = self.watch
        if wants_watch is None and (self.silent or self.drop_after_events is not None):
            wants_watch = True
        return (
            (self.method is None or self.method.upper() == method.upper())
            and (self.path_contains is None or self.path_contains in path)
            and (wants_watch is None or wants_watch == watch)
        )


class FaultTable:
    """The injected faults and how many uses each has left.

    Thread-safety: every method may be called from any thread (one internal condition).
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        # [fault, remaining uses or None]; guarded by _lock.
        self._entries: list[list[Fault | int | None]] = []

    def inject(self, fault: Fault) -> None:
        """Add ``fault`` after the ones already injected."""
        with self._lock:
            self._entries.append([fault, fault.times])

    def clear(self) -> None:
        """Forget every fault."""
        with self._lock:
            self._entries.clear()
            self._lock.notify_all()

    def pending(self) -> int:
        """How many faults still have uses left."""
        with self._lock:
            return len(self._entries)

    def wait_until_used(self, timeout: float) -> bool:
        """Wait until every injected fault has been used up (``times=None`` never is)."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._entries, timeout)

    def take(self, method: str, path: str, watch: bool) -> Fault | None:
        """Consume one use of the first fault matching this request, if any."""
        with self._lock:
            for index, entry in enumerate(self._entries):
                fault, remaining = entry
                assert isinstance(fault, Fault)
                if not fault.matches(method, path, watch):
                    continue
                if isinstance(remaining, int):
                    if remaining <= 1:
                        del self._entries[index]
                        self._lock.notify_all()
                    else:
                        entry[1] = remaining - 1
                return fault
        return None
