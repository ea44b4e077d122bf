"""Which outcome becomes which core/v1 Event, and how identical Events fold together.

Outcome mapping: ``synced`` (every listener holds the revision; Volcano posts success only
then) -> Normal ``ConfigApplySuccess``; ``invalid`` -> Warning ``ConfigApplyFailed`` whose
message is Volcano's, followed by the field paths of the offending values; ``failed`` and
``rejected`` (a listener) -> Warning ``ConfigApplyFailed`` naming the listener; ``source``
``document-deleted`` -> Warning ``ConfigDocumentDeleted``, ``document-restored`` -> Normal
``ConfigDocumentRestored``. Everything else is not an Event (metrics and logs cover it).

``map_outcome`` also returns a key that says what the outcome is about (its kind, revision,
error, listener): the sink posts an outcome only when that key differs from the last one of
the same reason. ``coalesce`` folds runs of identical Events into one with the summed count.

Thread-safety: pure functions and immutable values; any thread.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from nodeconf.manager.outcomes import Outcome

__all__ = [
    "REASON_DOCUMENT_DELETED",
    "REASON_DOCUMENT_RESTORED",
    "REASON_FAILED",
    "REASON_SUCCESS",
    "Pending",
    "coalesce",
    "map_outcome",
]

REASON_SUCCESS: Final = "ConfigApplySuccess"
REASON_FAILED: Final = "ConfigApplyFailed"
REASON_DOCUMENT_DELETED: Final = "ConfigDocumentDeleted"
REASON_DOCUMENT_RESTORED: Final = "ConfigDocumentRestored"


@dataclass(frozen=True, slots=True)
class Pending:
    """One Event to send; ``count`` identical occurrences.

    Thread-safety: immutable.
    """

    type: str
    reason: str
    message: str
    count: int = 1

    @property
    def identity(self) -> tuple[str, str, str]:
        return (self.type, self.reason, self.message)


def map_outcome(outcome: Outcome) -> tuple[Pending, tuple[object, ...]] | None:
    """The Event ``outcome`` maps to and its dedupe key (see the module docstring); ``None``
    when it is not an Event."""
    kind = outcome.kind
    if kind == "synced":
        return (
            Pending("Normal", REASON_SUCCESS, "Successfully applied config"),
            ("synced", outcome.revision),
        )
    if kind == "invalid":
        paths = [
            i.path
            for i in outcome.issues
            if i.severity == "error" and i.path and i.path not in outcome.error
        ]
        message = f"Failed to apply config({outcome.error})"
        if paths:
            message += f" at {', '.join(dict.fromkeys(paths))}"
        return (
            Pending("Warning", REASON_FAILED, message),
            ("invalid", outcome.revision, outcome.error, tuple(paths)),
        )
    if kind in ("failed", "rejected"):
        who = f"listener {outcome.listener}: " if outcome.listener else ""
        verb = "rejected: " if kind == "rejected" else ""
        message = f"Failed to apply config({who}{verb}{outcome.error})"
        return (
            Pending("Warning", REASON_FAILED, message),
            (kind, outcome.revision, outcome.listener),
        )
    if kind == "source" and outcome.detail == "document-deleted":
        return (
            Pending("Warning", REASON_DOCUMENT_DELETED, outcome.error or "document deleted"),
            ("deleted", outcome.error),
        )
    if kind == "source" and outcome.detail == "document-restored":
        return (
            Pending("Normal", REASON_DOCUMENT_RESTORED, outcome.error or "document restored"),
            ("restored", outcome.error),
        )
    return None


def coalesce(batch: list[Pending]) -> list[Pending]:
    """Fold runs of identical Events into one with the summed count (order kept)."""
    out: list[Pending] = []
    for pending in batch:
        if out and out[-1].identity == pending.identity:
            out[-1] = replace(out[-1], count=out[-1].count + pending.count)
        else:
            out.append(pending)
    return out
