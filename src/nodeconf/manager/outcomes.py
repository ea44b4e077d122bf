"""Apply outcomes: what the manager tells the outside world about each attempt.

The manager emits one ``Outcome`` per notable step to an ``OutcomeSink``. Kubernetes Events,
Prometheus metrics and logs attach here without touching the engine.

Contract for sinks: ``emit`` is called from the manager's worker threads, one batch at a time
and in the order the outcomes happened, never under a lock of nodeconf (so it may call back
into the manager, even ``stop()``). It should not block for long (a slow sink delays later
outcomes, not listeners: queue slow work on a thread of your own) and must not raise (an
exception is logged and dropped).

Thread-safety: ``Outcome`` is immutable; sinks must be thread-safe.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from nodeconf.errors import Issue

__all__ = ["FanOutSink", "NullSink", "Outcome", "OutcomeKind", "OutcomeSink"]

OutcomeKind = Literal[
    "applied",  # a listener applied a revision
    "failed",  # a listener raised; it will be retried (or rejected)
    "rejected",  # a listener raised Reject: not retried for this revision
    "invalid",  # the effective config (or the document) is invalid; last-known-good stays
    "recovered",  # a valid config followed an invalid one / a failing listener succeeded again
    "synced",  # every listener holds the current revision
    "slow",  # a listener call has been running longer than Settings.slow_listener_seconds
    "source",  # a SourceEvent was reported (document deleted, watch restarted, ...)
]


@dataclass(frozen=True, slots=True)
class Outcome:
    """One notable step.

    ``revision`` is the manager's revision number of the effective config concerned (0 when
    none); ``listener`` the listener's name (``""`` when not about one listener); ``error`` a
    one-line message (Volcano's aggregate wording for invalid configs); ``issues`` the
    validation issues with their paths; ``detail`` extra text (a source event's kind, ...).

    Thread-safety: immutable.
    """

    kind: OutcomeKind
    revision: int = 0
    listener: str = ""
    error: str = ""
    issues: tuple[Issue, ...] = ()
    detail: str = ""
    attempt: int = 0


class OutcomeSink(Protocol):
    """Receives outcomes. Thread-safe, non-blocking, never raises."""

    def emit(self, outcome: Outcome) -> None: ...


class NullSink:
    """Drops everything. Thread-safety: stateless."""

    def emit(self, outcome: Outcome) -> None:
        return None


class FanOutSink:
    """Passes each outcome to several sinks in order. Thread-safety: immutable after init."""

    def __init__(self, sinks: Sequence[OutcomeSink]) -> None:
        self._sinks = tuple(sinks)

    def emit(self, outcome: Outcome) -> None:
        for sink in self._sinks:
            try:
                sink.emit(outcome)
            except Exception:  # a broken sink must not starve the others
                logging.getLogger("nodeconf.manager").exception("outcome sink %r failed", sink)
