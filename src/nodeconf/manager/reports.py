"""Snapshots the manager hands out: ``status()`` and ``stop()`` results.

Every type here is a frozen dataclass built under the manager's lock in one go, so a snapshot
is consistent (no field is newer than another) and can be kept, compared or serialised from
any thread. ``to_json()`` gives plain JSON values (the status server and ``nodeconf run``
serve them as they are).

Times: fields ending in ``_at`` or named ``busy_since`` are readings of the manager's clock
(``clock.now()``, monotonic seconds; ``ManagerStatus.clock_now`` is the reading at snapshot
time, to relate them); fields ending in ``_wall`` are seconds since the epoch
(``clock.wall()``), for people.

Thread-safety: immutable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nodeconf.errors import Issue
from nodeconf.manager.lifecycle import Lifecycle

if TYPE_CHECKING:
    from nodeconf.manager.listeners import ListenerRecord
    from nodeconf.manager.scheduler import Scheduler

__all__ = [
    "ListenerStatus",
    "ManagerStatus",
    "PendingRetry",
    "StopReport",
    "issue_to_json",
    "snapshot",
]


def issue_to_json(issue: Issue) -> dict[str, Any]:
    """One ``Issue`` as a JSON object (``value`` kept when JSON-able, else its ``repr``)."""
    value: Any = issue.value
    if not isinstance(value, str | int | float | bool | type(None) | list | dict):
        value = repr(value)
    return {
        "path": issue.path,
        "value": value,
        "message": issue.message,
        "severity": issue.severity,
    }


@dataclass(frozen=True, slots=True)
class ListenerStatus:
    """One listener, as the manager sees it at snapshot time.

    ``applied_revision`` is the newest revision the listener holds (0: none yet); a listener
    whose sections did not change is advanced without a call. ``consecutive_failures`` counts
    attempts since its last success that did not apply (exceptions, ``RetryLater``,
    ``Reject``). ``next_retry_at`` is when its retry is due (clock), ``None`` when none is
    pending. ``busy_since`` is when the call in progress began (clock), ``None`` when idle;
    ``slow`` says that call has outlived ``Settings.slow_listener_seconds``.
    ``rejected_revision`` is the newest revision it refused with ``Reject`` (0: none).

    Thread-safety: immutable.
    """

    name: str
    sections: tuple[str, ...] | None
    applied_revision: int
    consecutive_failures: int
    next_retry_at: float | None
    busy_since: float | None
    slow: bool
    last_error: str
    last_success_wall: float | None
    rejected_revision: int
    calls_total: int

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sections": list(self.sections) if self.sections is not None else None,
            "applied_revision": self.applied_revision,
            "consecutive_failures": self.consecutive_failures,
            "next_retry_at": self.next_retry_at,
            "busy_since": self.busy_since,
            "slow": self.slow,
            "last_error": self.last_error,
            "last_success_wall": self.last_success_wall,
            "rejected_revision": self.rejected_revision,
            "calls_total": self.calls_total,
        }


@dataclass(frozen=True, slots=True)
class ManagerStatus:
    """The whole manager at one instant.

    ``revision`` is the revision of the latest evaluation when it was valid, ``None`` while the
    latest evaluation is invalid (or before the first one). ``last_known_good_revision`` is the
    newest valid revision, the one listeners are driven to; it stays while the document is
    invalid or deleted. ``last_error`` and ``issues`` describe why the latest evaluation is
    invalid (empty when it is valid); ``warnings`` are the current document's non-fatal
    findings. ``source_error`` is the last failure to read the source (empty once a sync
    succeeds; the sync is retried with backoff). ``document_version`` is the source's version
    of the document last evaluated; ``document_present`` is False after it was deleted.
    ``restored_from`` names the ``Fallback`` in force when ``start()`` delivered one because
    the source gave no first state in time (``""`` otherwise, and once the source's first
    valid evaluation superseded it); ``restored_revision`` is that fallback's own revision
    where it was persisted (``None`` when none is in force); ``document_version`` is then the
    fallback's.

    Queue and counter fields feed metrics: ``sync_queue_depth`` is source keys waiting for a
    sync, ``delivery_queue_depth`` listeners waiting for a call (ready or delayed),
    ``pending_retries`` listeners with a retry scheduled. The ``*_total`` counters only grow:
    ``evaluations_total`` counts syncs that read the source and evaluated it (valid or not;
    one notification may cause a second one when the document makes new label keys matter),
    ``invalid_evaluations_total`` the invalid ones among them; ``listener_applies_total``,
    ``listener_failures_total`` and ``listener_rejections_total`` count listener calls that
    applied a revision, raised (or asked to retry later) and raised ``Reject``: one revision
    applied by three listeners adds three to ``listener_applies_total``.

    Thread-safety: immutable.
    """

    lifecycle: Lifecycle
    revision: int | None
    last_known_good_revision: int | None
    last_error: str
    issues: tuple[Issue, ...]
    warnings: tuple[Issue, ...]
    source_error: str
    document_version: str
    document_present: bool
    restored_from: str
    restored_revision: int | None
    listeners: tuple[ListenerStatus, ...]
    sync_queue_depth: int
    delivery_queue_depth: int
    pending_retries: int
    evaluations_total: int
    invalid_evaluations_total: int
    listener_applies_total: int
    listener_failures_total: int
    listener_rejections_total: int
    last_sync_wall: float | None
    last_success_wall: float | None
    clock_now: float

    @property
    def synced(self) -> bool:
        """Every listener holds the last-known-good revision (vacuously true without one)."""
        good = self.last_known_good_revision
        return good is None or all(listener.applied_revision >= good for listener in self.listeners)

    def listener(self, name: str) -> ListenerStatus:
        """The status of the listener called ``name``; ``KeyError`` if there is none."""
        for listener in self.listeners:
            if listener.name == name:
                return listener
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        return {
            "lifecycle": str(self.lifecycle),
            "revision": self.revision,
            "last_known_good_revision": self.last_known_good_revision,
            "synced": self.synced,
            "last_error": self.last_error,
            "issues": [issue_to_json(i) for i in self.issues],
            "warnings": [issue_to_json(i) for i in self.warnings],
            "source_error": self.source_error,
            "document_version": self.document_version,
            "document_present": self.document_present,
            "restored_from": self.restored_from,
            "restored_revision": self.restored_revision,
            "listeners": [listener.to_json() for listener in self.listeners],
            "sync_queue_depth": self.sync_queue_depth,
            "delivery_queue_depth": self.delivery_queue_depth,
            "pending_retries": self.pending_retries,
            "evaluations_total": self.evaluations_total,
            "invalid_evaluations_total": self.invalid_evaluations_total,
            "listener_applies_total": self.listener_applies_total,
            "listener_failures_total": self.listener_failures_total,
            "listener_rejections_total": self.listener_rejections_total,
            "last_sync_wall": self.last_sync_wall,
            "last_success_wall": self.last_success_wall,
            "clock_now": self.clock_now,
        }


@dataclass(frozen=True, slots=True)
class PendingRetry:
    """A retry that was scheduled but not yet due when the manager stopped.

    ``target`` is a listener's name, or a source key (``"configmap"``, ``"node"``) whose sync
    had failed; ``kind`` says which (``"listener"`` or ``"source"``); ``revision`` is the
    revision the listener still lacked (0 for source keys); ``due_in_seconds`` is how far in the
    future (clock seconds) it was due.

    Thread-safety: immutable.
    """

    kind: str
    target: str
    revision: int
    due_in_seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target": self.target,
            "revision": self.revision,
            "due_in_seconds": self.due_in_seconds,
        }


@dataclass(frozen=True, slots=True)
class StopReport:
    """What ``stop()`` did and what it left undone.

    ``completed`` is True when the source stopped, everything queued was processed and no
    listener was running when ``stop()`` returned: then no listener runs and none ever will.
    (It does not wait for the worker threads to finish returning: after their last job they
    call nothing; ``stop()`` joins them within what is left of its timeout.) Otherwise
    ``still_running`` names the listeners whose calls had begun and not returned at the
    deadline: they are the only calls that can still be in progress, or even enter the
    listener, after ``stop()`` returned; no other call ever starts. ``dropped`` names the
    queued work abandoned at the deadline (listeners whose delivery never began, or source
    keys whose sync had not finished: what it read is not delivered), and
    ``source_stopped`` says whether the source confirmed its stop. ``pending_retries`` are
    backoff retries that were not due yet: they are reported, never run.
    ``stopped_from_listener`` is True for a ``stop()`` called from a listener (or another
    manager thread): it returned without waiting for itself, and the stop finished in the
    background.

    Thread-safety: immutable.
    """

    completed: bool
    pending_retries: tuple[PendingRetry, ...] = ()
    still_running: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    source_stopped: bool = True
    stopped_from_listener: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "completed": self.completed,
            "pending_retries": [p.to_json() for p in self.pending_retries],
            "still_running": list(self.still_running),
            "dropped": list(self.dropped),
            "source_stopped": self.source_stopped,
            "stopped_from_listener": self.stopped_from_listener,
        }


def snapshot(s: Scheduler, clock_now: float) -> ManagerStatus:
    """The manager's status, read from its scheduler (under the pool's lock)."""
    pub, current = s.pub, s.current
    return ManagerStatus(
        lifecycle=s.lifecycle,
        revision=current.number if current is not None and pub.latest_valid else None,
        last_known_good_revision=current.number if current is not None else None,
        last_error=pub.last_error,
        issues=pub.issues,
        warnings=pub.warnings,
        source_error=pub.source_error,
        document_version=pub.document_version,
        document_present=pub.document_present,
        restored_from=pub.restored_from,
        restored_revision=pub.restored_revision,
        listeners=tuple(_listener_status(r) for r in s.listeners),
        sync_queue_depth=s.waiting_keys(),
        delivery_queue_depth=s.queued_deliveries(),
        pending_retries=sum(1 for r in s.listeners if r.next_retry_at is not None),
        evaluations_total=pub.evaluations_total,
        invalid_evaluations_total=pub.invalid_total,
        listener_applies_total=s.deliveries.applies_total,
        listener_failures_total=s.deliveries.failures_total,
        listener_rejections_total=s.deliveries.rejections_total,
        last_sync_wall=pub.last_sync_wall,
        last_success_wall=s.last_success_wall,
        clock_now=clock_now,
    )


def _listener_status(r: ListenerRecord) -> ListenerStatus:
    return ListenerStatus(
        name=r.name,
        sections=tuple(sorted(r.sections)) if r.sections is not None else None,
        applied_revision=r.applied_revision,
        consecutive_failures=r.consecutive_failures,
        next_retry_at=r.next_retry_at,
        busy_since=r.busy_since,
        slow=r.slow_reported,
        last_error=r.last_error,
        last_success_wall=r.last_success_wall,
        rejected_revision=r.rejected_revision,
        calls_total=r.calls_total,
    )
