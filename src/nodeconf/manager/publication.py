"""Publication: what the latest sync found, and the last-known-good revision.

``Publication.publish`` records one sync's result: the document's version and presence, its
warnings and the label keys that matter, and either a new valid revision (it becomes the
last-known-good, ``current``) or why the latest evaluation is invalid (``current`` stays).
It returns the outcomes to report; handing the new revision to listeners is the scheduler's
job. ``restore`` publishes ``start()``'s ``Fallback`` instead, until the first valid
evaluation supersedes it (``restored_from`` is then cleared). It also keeps the sections
that differ between two revisions, cached per revision pair (every listener a revision goes
to shares the few entries).

Pure: no threads, no clock, no I/O. Part of the scheduler's state, guarded by its owner.

Thread-safety: none; only ``Scheduler`` uses it, under the pool's lock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nodeconf.errors import Issue
from nodeconf.manager.fallback import Fallback
from nodeconf.manager.jobs import Evaluated
from nodeconf.manager.listeners import Revision
from nodeconf.manager.outcomes import Outcome

__all__ = ["Publication"]


class Publication:
    """The published state (see the module docstring).

    Thread-safety: none (see the module docstring).
    """

    def __init__(
        self,
        sections: frozenset[str],
        diff: Callable[[Any, Any], frozenset[str]],
        label_keys: frozenset[str],
    ) -> None:
        self._sections = sections
        self._diff = diff
        self._diff_cache: dict[tuple[int, int], frozenset[str]] = {}
        self.current: Revision[Any] | None = None  # the last-known-good
        self.latest_valid = False  # the latest evaluation was valid
        self.last_error = ""
        self.issues: tuple[Issue, ...] = ()
        self.warnings: tuple[Issue, ...] = ()
        self.source_error = ""  # the last failure to read the source ("" once one succeeds)
        self.document_version = ""
        self.document_present = False
        self.label_keys = label_keys
        self.last_sync_wall: float | None = None
        self.evaluations_total = 0  # syncs that read the source and evaluated
        self.invalid_total = 0  # of those, the invalid ones
        self.restored_from = ""  # the fallback in force (its origin); "" once superseded
        self.restored_revision: int | None = None  # that fallback's own revision

    def restore(self, revision: Revision[Any], fallback: Fallback[Any]) -> list[Outcome]:
        """Publish ``revision`` (``fallback``'s config, ``restored``) as the last-known-good
        before any evaluation; return the outcome to report."""
        self.current = revision
        self.latest_valid = True
        self.restored_from = fallback.origin
        self.restored_revision = fallback.revision
        self.document_version = fallback.document_version
        self.document_present = True
        detail = f"from {fallback.origin}"
        if fallback.revision:
            detail += f" (its revision {fallback.revision})"
        return [Outcome("restored", revision=revision.number, detail=detail)]

    def publish(self, result: Evaluated, wall: float) -> tuple[list[Outcome], bool]:
        """Record ``result``; return the outcomes to report and whether the label keys grew
        (the source may have filtered a node update that now matters: read it again)."""
        self.evaluations_total += 1
        self.last_sync_wall = wall
        self.document_version = result.document_version
        self.document_present = result.document_present
        self.source_error = ""
        grew = False
        if result.label_keys is not None:
            grew = not result.label_keys <= self.label_keys
            self.label_keys = result.label_keys
            self.warnings = result.warnings or ()
        current = self.current
        if result.error:
            self.latest_valid = False
            self.last_error = result.error
            self.issues = result.issues
            self.invalid_total += 1
            number = current.number if current is not None else 0
            invalid = Outcome("invalid", revision=number, error=result.error, issues=result.issues)
            return [invalid], grew
        outcomes: list[Outcome] = []
        recovered = not self.latest_valid and self.last_error != ""
        self.latest_valid = True
        self.last_error = ""
        self.issues = ()
        new = result.new
        self.restored_from = ""
        self.restored_revision = None
        if recovered:
            number = new.number if new is not None else current.number if current else 0
            outcomes.append(Outcome("recovered", revision=number, detail="config valid again"))
        if new is not None:
            self.current = new
            self._diff_cache = (
                {} if current is None else {(current.number, new.number): new.changed}
            )
        return outcomes, grew

    def sections_between(
        self, previous: Revision[Any] | None, current: Revision[Any]
    ) -> frozenset[str]:
        """Sections that differ from ``previous`` to ``current`` (all when there is none)."""
        if previous is None:
            return self._sections
        if previous.number == current.number:
            return frozenset()
        key = (previous.number, current.number)
        cached = self._diff_cache.get(key)
        if cached is None:
            cached = self._diff_cache[key] = self._diff(previous.config, current.config)
        return cached
