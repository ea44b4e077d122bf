"""``ChangeTracker``: what ``KubernetesSource`` knows of its ConfigMap and Node, and which of
their changes become which manager key (spec section 7, with our improvements).

* ConfigMap added, or its data key's text changed -> ``configmap``. A change elsewhere in the
  ConfigMap (another key, an annotation), a no-op update or a bookmark -> nothing.
* ConfigMap deleted -> the snapshot **keeps the last document text**, so the effective config
  stays what it was whatever a consumer makes of an absent document (at start-up, no
  ConfigMap means the defaults); ``SourceEvent("document-deleted")`` is reported and
  ``configmap`` is notified (the manager finds nothing new to apply). Re-created ->
  ``SourceEvent("document-restored")``, the new text is taken and ``configmap`` notified:
  normal operation resumes. Volcano does nothing on a deletion (issue #5474).
* ConfigMap without our data key -> the document is the empty text, which the manager reports
  as an unreadable document (last-known-good stays).
* Node added -> ``node``. Node modified -> ``node`` only when a label in
  ``SourceContext.label_keys()`` changed (the colocation labels, ``colocation-policy`` and
  every label an override selector mentions); any other change is ignored. Node deleted ->
  its last labels stay, and it is reported as a ``source-error``.
* The first complete state (``complete``) needs the ConfigMap listed (present or absent)
  **and** the Node found: labels of a node that does not exist are not known, and guessing
  them would hand out a wrong config.

The tracker only decides: it updates its state and its ``snapshot`` and returns the keys and
reports; it calls nobody (it logs). Its owner passes them on to the manager.

Thread-safety: not thread-safe on its own; ``KubernetesSource`` calls it only with its
``_lock`` held.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from nodeconf.manager.source import KEY_DOCUMENT, SourceEvent, SourceState

__all__ = ["ChangeTracker"]

_log = logging.getLogger("nodeconf.sources.kubernetes")
_NO_LABELS: Final[Mapping[str, str]] = MappingProxyType({})


class ChangeTracker:
    """The last known state of a source's ConfigMap and Node, and the keys their changes make.

    ``origin`` names the document in messages; ``key`` is the ConfigMap's data key;
    ``node_name`` the agent's node. ``snapshot`` is the ``SourceState`` to hand out.

    Thread-safety: none of its own: its owner calls it with one lock held.
    """

    def __init__(self, *, origin: str, key: str, node_name: str) -> None:
        self._origin = origin
        self._key = key
        self._node_name = node_name
        self._document: str | None = None  # last known text of the data key
        self._document_version = ""  # resourceVersion of the ConfigMap that set _document
        self._document_present = False  # does the ConfigMap exist now?
        self._document_seen = False  # has it ever existed since start?
        self._labels: Mapping[str, str] = _NO_LABELS
        self._node_present = False
        self._configmap_listed = False
        self._node_missing_reported = False
        self.snapshot = SourceState(None, "", _NO_LABELS, origin)

    @property
    def complete(self) -> bool:
        """True once the ConfigMap was listed and the Node found."""
        return self._configmap_listed and self._node_present

    def configmap_listed(self) -> None:
        """The ConfigMap's loop finished a LIST (the ConfigMap present or absent)."""
        self._configmap_listed = True

    def node_listed(self, current: dict[str, Any] | None) -> list[SourceEvent]:
        """The Node's loop finished a LIST; the reports to pass on (a missing Node, once)."""
        reports: list[SourceEvent] = []
        if current is None and not self._node_missing_reported:
            self._node_missing_reported = True
            detail = f"Node {self._node_name} not found; waiting for it to appear"
            _log.warning("%s", detail)
            reports.append(SourceEvent("source-error", detail))
        return reports

    def configmap_changed(
        self, current: dict[str, Any] | None
    ) -> tuple[list[str], list[SourceEvent]]:
        """The ConfigMap is now ``current`` (``None``: deleted); the keys and reports."""
        keys: list[str] = []
        reports: list[SourceEvent] = []
        if current is None:
            if not self._document_present:
                return keys, reports
            self._document_present = False
            detail = (
                f"{self._origin} was deleted; keeping the last applied config until "
                "it is re-created"
            )
            _log.warning("%s", detail)
            reports.append(SourceEvent("document-deleted", detail))
            keys.append(KEY_DOCUMENT)
        else:
            data = current.get("data") or {}
            text = data.get(self._key, "")
            text = text if isinstance(text, str) else ""
            restored = self._document_seen and not self._document_present
            self._document_present = True
            self._document_seen = True
            if restored:
                detail = f"{self._origin} was re-created"
                _log.info("%s", detail)
                reports.append(SourceEvent("document-restored", detail))
            if restored or text != self._document:
                self._document = text
                self._document_version = _resource_version(current)
                keys.append(KEY_DOCUMENT)
        self._refresh_snapshot()
        return keys, reports

    def node_changed(
        self, current: dict[str, Any] | None
    ) -> tuple[frozenset[str] | None, list[SourceEvent]]:
        """The Node is now ``current`` (``None``: deleted); the label keys that changed
        (``None``: the Node appeared, which is a change whatever its labels; empty: no
        change) and the reports."""
        reports: list[SourceEvent] = []
        if current is None:
            self._node_present = False
            detail = f"Node {self._node_name} was deleted; keeping its last labels"
            _log.warning("%s", detail)
            reports.append(SourceEvent("source-error", detail))
            changed: frozenset[str] | None = frozenset()
        else:
            old = self._labels
            new = MappingProxyType(dict(_labels_of(current)))
            appeared = not self._node_present
            self._node_present = True
            self._labels = new
            self._refresh_snapshot()
            changed = None if appeared else _changed_keys(old, new)
        return changed, reports

    def _refresh_snapshot(self) -> None:
        self.snapshot = SourceState(
            self._document, self._document_version, self._labels, self._origin
        )


def _resource_version(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return str(meta.get("resourceVersion") or "")


def _labels_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def _changed_keys(old: Mapping[str, str], new: Mapping[str, str]) -> frozenset[str]:
    return frozenset(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
