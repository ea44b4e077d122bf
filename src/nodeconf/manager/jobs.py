"""The jobs the scheduler hands out, and the results workers bring back.

Every type here is immutable (a ``NamedTuple``: cheap to build on the hot path) and made or
read under the pool's lock; a job is owned by the worker that took it until its result is
recorded.

Thread-safety: immutable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from nodeconf.errors import Issue
from nodeconf.manager.listeners import Change, ListenerRecord, Revision
from nodeconf.manager.outcomes import Outcome
from nodeconf.manager.reports import PendingRetry

__all__ = [
    "CallFailed",
    "CallJob",
    "EmitJob",
    "Evaluated",
    "Job",
    "Leftovers",
    "ResumeJob",
    "Resumed",
    "SyncFailed",
    "SyncJob",
]


class SyncJob(NamedTuple):
    """Read the source and evaluate; ``keys`` are the notified source keys it answers,
    ``previous`` the current revision when it was handed out (only a sync changes it)."""

    keys: frozenset[str]
    previous: Revision[Any] | None


class CallJob(NamedTuple):
    """Call ``record``'s listener with ``revision`` (committed: it is already running);
    ``retrying``: it failed before, so a success must clear its backoff."""

    record: ListenerRecord
    revision: Revision[Any]
    change: Change[Any]
    retrying: bool


class EmitJob(NamedTuple):
    """Hand ``outcomes`` to the sink, in order."""

    outcomes: tuple[Outcome, ...]


class ResumeJob(NamedTuple):
    """After a fallback: carry on with the source's start-up steps, and wait for its first
    complete state (long: it ends when the source is synced or stopped)."""


Job = SyncJob | CallJob | EmitJob | ResumeJob


class Evaluated(NamedTuple):
    """What one sync computed. ``new``: the new revision (None: unchanged or invalid);
    ``error``/``issues``: why it is invalid; ``label_keys``/``warnings``: None when the
    document could not be read (the last ones stay)."""

    document_version: str
    document_present: bool
    new: Revision[Any] | None = None
    error: str = ""
    issues: tuple[Issue, ...] = ()
    label_keys: frozenset[str] | None = None
    warnings: tuple[Issue, ...] | None = None


class SyncFailed(NamedTuple):
    """A sync that raised: ``error`` (one line), retried after ``delay_seconds``."""

    error: str
    delay_seconds: float


class CallFailed(NamedTuple):
    """A listener call that did not apply. ``retry_in``: seconds until its retry (None: not
    retried); ``rejected``: the listener refused this revision (``Reject``)."""

    error: str
    retry_in: float | None
    rejected: bool = False


class Resumed(NamedTuple):
    """How a ``ResumeJob`` ended: ``synced`` (the source has its first complete state; False
    when the steps were cancelled by a stop, or the source could not start)."""

    synced: bool


@dataclass(frozen=True, slots=True)
class Leftovers:
    """What ``close`` left undone: retries not yet due, keys never run, calls running."""

    pending_retries: tuple[PendingRetry, ...]
    dropped: tuple[str, ...]
    still_running: tuple[str, ...]
