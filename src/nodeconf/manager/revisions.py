"""Revisions: read a source state, evaluate it through the schema, number what is new.

``Evaluator.evaluate`` is the body of a sync job. It parses the document (cached by the
source's document version, so an unchanged document is not parsed again), evaluates it for
the node's labels, and returns an ``Evaluated``: a new ``Revision`` when the effective config
is valid and differs from the previous one, or why it is invalid. Publishing the result is the
scheduler's job (``Scheduler.sync_finished``).

Thread-safety: one sync runs at a time (the scheduler hands out at most one ``SyncJob``), and
only that job calls ``evaluate``; the caches here are owned by it. No lock is taken and the
schema's ``parse``/``evaluate`` run outside every lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nodeconf.errors import DocumentError, Issue, volcano_aggregate
from nodeconf.manager.jobs import Evaluated
from nodeconf.manager.listeners import Revision

if TYPE_CHECKING:
    from nodeconf.manager.source import SourceState
    from nodeconf.model.seam import ConfigSchema, Document

__all__ = ["Evaluator"]


class Evaluator:
    """Turns source states into revisions for one schema (see the module docstring).

    Thread-safety: owned by the sync job in hand (one at a time); not shared.
    """

    def __init__(self, schema: ConfigSchema[Any]) -> None:
        self._schema = schema
        self._parsed_version: str | None = None
        self._parsed_text: str | bytes | None = None
        self._parsed: Document | None = None
        self._label_keys_of: Document | None = None
        self._label_keys = schema.label_keys(None)

    def evaluate(self, state: SourceState, previous: Revision[Any] | None) -> Evaluated:
        """Evaluate ``state``; ``previous`` is the current revision (numbering follows it; a
        ``restored`` one is superseded even by an equal config)."""
        present = state.document is not None
        document, problem = self._document_for(state)
        if problem is not None:
            return Evaluated(
                state.document_version,
                present,
                error=str(problem),
                issues=(_document_issue(problem),),
            )
        if document is not self._label_keys_of:
            self._label_keys_of = document
            self._label_keys = self._schema.label_keys(document)
        warnings = document.warnings if document is not None else ()
        evaluation = self._schema.evaluate(document, state.node_labels)
        if not evaluation.valid:
            return Evaluated(
                state.document_version,
                present,
                error=volcano_aggregate(evaluation.errors),
                issues=evaluation.errors,
                label_keys=self._label_keys,
                warnings=warnings,
            )
        config = evaluation.config
        new = None
        # A restored fallback is always superseded by the first valid evaluation: listeners
        # whose sections did not change are advanced to it without a call.
        if previous is None or previous.restored or previous.config != config:
            changed = self._schema.changed_sections(
                previous.config if previous is not None else None, config
            )
            number = previous.number + 1 if previous is not None else 1
            new = Revision(number=number, config=config, changed=frozenset(changed))
        return Evaluated(
            state.document_version,
            present,
            new,
            label_keys=self._label_keys,
            warnings=warnings,
        )

    def _document_for(self, state: SourceState) -> tuple[Document | None, DocumentError | None]:
        """The parsed document for ``state``, cached by document version."""
        text = state.document
        if text is None:
            # Deleted (or never existed): the last parsed document stays in force.
            return self._parsed, None
        if (
            self._parsed is not None
            and self._parsed_version == state.document_version
            and (state.document_version != "" or self._parsed_text == text)
        ):
            return self._parsed, None
        try:
            document = self._schema.parse(text)
        except DocumentError as exc:
            return None, exc.with_source(state.origin) if exc.source == "<document>" else exc
        self._parsed_version = state.document_version
        self._parsed_text = text
        self._parsed = document
        return document, None


def _document_issue(error: DocumentError) -> Issue:
    """An unreadable document as an ``Issue`` whose path is where the reading failed."""
    where = error.source
    if error.line is not None:
        where += f":{error.line}"
        if error.column is not None:
            where += f":{error.column}"
    return Issue(path=where, value=None, message=error.reason)
