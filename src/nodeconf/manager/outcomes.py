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

__all__ = ["FanOutSink", "NullSink", "Outbox", "Outcome", "OutcomeKind", "OutcomeSink"]

OutcomeKind = Literal[
    "applied",  # a listener applied a revision
    "failed",  # a listener raised; it will be retried (or rejected)
    "rejected",  # a listener raised Reject: not retried for this revision
    "invalid",  # the effective config (or the document) is invalid; last-known-good stays
    "recovered",  # a valid config followed an invalid one / a failing listener succeeded again
    "synced",  # every listener holds the current revision
    "slow",  # a listener call has been running longer than Settings.slow_listener_seconds
    "source",  # a SourceEvent was reported (document deleted, watch restarted, ...)
    "restored",  # start() delivered its Fallback: the source gave no first state in time
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


class Outbox:
    """Outcomes waiting for the sink, handed out one batch at a time so the sink sees them in
    order. Pure (no lock of its own): part of the scheduler's state, guarded by its owner.
    ``recording`` False (nobody receives outcomes) drops what ``add`` is given; what is queued
    with ``extend(..., always=True)`` (source reports, slow-work notices) is kept either way.

    Thread-safety: none; only ``Scheduler`` uses it, under the pool's lock.
    """

    def __init__(self, recording: bool) -> None:
        self.recording = recording
        self._waiting: list[Outcome] = []
        self.emitting = False  # a batch is in hand
        self._batch = 0  # outcomes in the batch in hand
        self.queued_total = 0  # outcomes ever queued (only grows)
        self.emitted_total = 0  # of those, the ones the sink has had (only grows)

    def add(self, kind: OutcomeKind, **fields: object) -> None:
        """Queue an outcome (not built when nobody receives outcomes)."""
        if self.recording:
            self._waiting.append(Outcome(kind, **fields))  # type: ignore[arg-type]
            self.queued_total += 1

    def extend(self, outcomes: Sequence[Outcome], *, always: bool = False) -> None:
        """Queue built outcomes (``always``: even when not recording)."""
        if self.recording or always:
            self._waiting.extend(outcomes)
            self.queued_total += len(outcomes)

    def ready(self) -> bool:
        """A batch can be handed out now."""
        return bool(self._waiting) and not self.emitting

    def take(self) -> tuple[Outcome, ...]:
        """Everything waiting, as one batch."""
        batch = tuple(self._waiting)
        self._waiting.clear()
        return batch

    def take_batch(self) -> tuple[Outcome, ...]:
        """Hand everything waiting out as the batch in hand (``finished`` when it is done)."""
        batch = self.take()
        self.emitting = True
        self._batch = len(batch)
        return batch

    def finished(self) -> None:
        """The batch in hand reached the sink."""
        self.emitting = False
        self.emitted_total += self._batch
        self._batch = 0

    def waiting(self) -> bool:
        return bool(self._waiting)
