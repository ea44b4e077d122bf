"""``StaticSource``: an in-memory source, for tests and for embedding.

It holds the document text and the node's labels in memory; ``set_document``,
``set_node_labels`` and ``delete_document`` change them from any thread and tell the manager
(``context.notify``) before they return, so a test can push a change and then call
``manager.wait_idle()``: the key is already queued. It starts no thread.

Every change bumps ``document_version`` (a counter, as text), so the manager's parse cache
never serves stale text. Label changes are always notified (no filtering by
``context.label_keys()``): the manager recomputes, and an unchanged effective config produces
no new revision. Deleting the document reports a ``document-deleted`` event; setting one
afterwards reports ``document-restored``.

Thread-safety: every method is safe from any thread; ``_lock`` guards all mutable fields, and
notifications and reports are made while holding it, so once ``stop()`` returns none can
follow. That runs no user code under the lock: the manager's ``notify`` and ``report`` only
queue (a sink sees the report later, on a worker, with no lock held), so a sink may read
``document`` or stop the manager.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from nodeconf.errors import LifecycleError
from nodeconf.manager.source import (
    KEY_DOCUMENT,
    KEY_NODE,
    SourceContext,
    SourceEvent,
    SourceState,
)

if TYPE_CHECKING:
    from nodeconf.model.seam import ConfigSchema

__all__ = ["StaticSource"]

DocumentInput = str | bytes | Mapping[str, Any]


def _as_text(document: DocumentInput) -> str | bytes:
    if isinstance(document, str | bytes):
        return document
    if isinstance(document, Mapping):
        return json.dumps(document, indent=2)
    raise TypeError(
        f"a document is JSON text (str or bytes) or a mapping, got {type(document).__name__}"
    )


class StaticSource:
    """A source whose document and node labels are set by code.

    ``document`` is JSON text (``str``/``bytes``), a mapping (serialised to JSON), or ``None``
    for "no document"; ``node_labels`` the node's labels; ``origin`` names the document in
    error messages.

    Use it like a mock transport: build it, hand it to a ``ConfigManager``, then drive it
    with ``set_document``, ``set_node_labels`` and ``delete_document``.

    Thread-safety: every method is safe from any thread (one lock guards all state).
    """

    def __init__(
        self,
        document: DocumentInput | None = None,
        node_labels: Mapping[str, str] | None = None,
        *,
        origin: str = "<static>",
    ) -> None:
        self._origin = origin
        self._lock = threading.Lock()
        # ---- guarded by _lock ----
        self._document: str | bytes | None = _as_text(document) if document is not None else None
        self._labels: Mapping[str, str] = MappingProxyType(dict(node_labels or {}))
        self._version = 1
        self._context: SourceContext | None = None  # set by start, cleared by stop
        self._started = False
        self._stopped = False
        self._prepared_with: ConfigSchema | None = None

    # -- driven by code (tests, embedding) ---------------------------------------------------

    def set_document(self, document: DocumentInput) -> None:
        """Replace the document (text or mapping) and notify the manager."""
        text = _as_text(document)
        with self._lock:
            restored = self._document is None and self._started
            self._document = text
            self._version += 1
            if self._context is not None:
                if restored:
                    self._context.report(SourceEvent("document-restored", "document set again"))
                # Thread hand-off: the key goes to the manager's sync worker.
                self._context.notify(KEY_DOCUMENT)

    def delete_document(self) -> None:
        """Remove the document (as if the ConfigMap were deleted) and notify the manager."""
        with self._lock:
            existed = self._document is not None
            self._document = None
            self._version += 1
            if self._context is not None:
                if existed:
                    self._context.report(
                        SourceEvent("document-deleted", f"{self._origin} was deleted")
                    )
                self._context.notify(KEY_DOCUMENT)

    def set_node_labels(self, node_labels: Mapping[str, str]) -> None:
        """Replace the node's labels and notify the manager."""
        labels = MappingProxyType(dict(node_labels))
        with self._lock:
            self._labels = labels
            if self._context is not None:
                self._context.notify(KEY_NODE)

    @property
    def document(self) -> str | bytes | None:
        """The current document text (``None``: no document)."""
        with self._lock:
            return self._document

    @property
    def node_labels(self) -> Mapping[str, str]:
        """The current node labels (a read-only copy)."""
        with self._lock:
            return self._labels

    @property
    def prepared_with(self) -> ConfigSchema | None:
        """The schema ``prepare`` was called with (``None`` before)."""
        with self._lock:
            return self._prepared_with

    # -- the Source protocol (called by the manager) -----------------------------------------

    def prepare(self, schema: ConfigSchema, timeout: float | None) -> None:
        """Nothing to prepare in memory; remembers the schema."""
        del timeout
        with self._lock:
            self._prepared_with = schema

    def start(self, context: SourceContext) -> None:
        """Begin notifying ``context``. Raises ``LifecycleError`` if started before."""
        with self._lock:
            if self._started:
                state = "stopped" if self._stopped else "running"
                raise LifecycleError(f"StaticSource.start: the source is already {state}")
            self._started = True
            self._context = context

    def wait_synced(self, timeout: float | None) -> bool:
        """The state in memory is always complete: True once started."""
        del timeout
        with self._lock:
            return self._started

    def snapshot(self) -> SourceState:
        """The current document and labels."""
        with self._lock:
            return SourceState(
                document=self._document,
                document_version=str(self._version),
                node_labels=self._labels,
                origin=self._origin,
            )

    def stop(self, timeout: float | None) -> bool:
        """Stop notifying. Idempotent; always True (there is no thread to wait for)."""
        del timeout
        with self._lock:
            self._context = None
            self._stopped = True
        return True

    def __repr__(self) -> str:
        with self._lock:
            return (
                f"StaticSource(origin={self._origin!r}, version={self._version}, "
                f"document={'set' if self._document is not None else 'none'}, "
                f"labels={len(self._labels)})"
            )
