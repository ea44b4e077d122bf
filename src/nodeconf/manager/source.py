"""The source seam: how the manager learns the document and the node's labels.

A *source* owns its own threads (watches, file observers). It never computes configs: it only
keeps the latest raw state and tells the manager *that* something changed, by key. The manager
reads the latest state when it gets to the key, so bursts collapse and the last state wins
(the queue carries keys, never payloads).

Keys a source emits: ``KEY_DOCUMENT`` ("configmap") when the document was added, changed or
deleted; ``KEY_NODE`` ("node") when the node's labels changed in a way that matters (see
``SourceContext.label_keys``).

Lifecycle, driven only by the manager (one thread at a time):

1. ``prepare(schema, timeout)`` - optional one-off work before watching (create or backfill the
   ConfigMap). May block up to ``timeout``; raises ``SourceError`` on failure.
2. ``start(context)`` - begin producing; returns promptly without waiting for data.
3. ``wait_synced(timeout)`` - True once the first complete state is known (both the document,
   possibly absent, and the node labels).
4. ``snapshot()`` - the latest state; called by the manager's worker any number of times.
5. ``stop(timeout)`` - phase 1 of the manager's stop: when it returns, the source makes no
   further ``context.notify`` calls and every thread it started has ended (or the timeout was
   hit: it returns False). Idempotent.

Optional: ``cancel()`` (``Cancellable``). ``prepare`` and ``wait_synced`` may block long (an
API server that cannot be reached). When ``stop()`` is called while ``start()`` is inside
them, the manager calls ``cancel()`` from the stopping thread, so that they return soon
(``prepare`` raises ``SourceError``, ``wait_synced`` returns False) and the stop completes
within its timeout. Without it, ``stop()`` waits for them as long as its timeout allows.

Thread-safety: ``snapshot`` and ``wait_synced`` are safe from any thread; ``prepare``, ``start``
and ``stop`` are called by the manager only. ``SourceContext`` methods are safe from any thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from nodeconf.model.seam import ConfigSchema

__all__ = [
    "KEY_DOCUMENT",
    "KEY_NODE",
    "Cancellable",
    "Source",
    "SourceContext",
    "SourceEvent",
    "SourceState",
]

KEY_DOCUMENT = "configmap"
KEY_NODE = "node"

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class SourceState:
    """The latest raw state a source knows.

    ``document`` is the raw document text (``None`` when the document does not exist);
    ``document_version`` identifies that text at its origin (a resourceVersion, an mtime and
    inode, a counter) and changes whenever the text may have changed; ``node_labels`` are the
    node's labels; ``origin`` names where the document lives (for messages).

    Thread-safety: immutable.
    """

    document: str | bytes | None
    document_version: str = ""
    node_labels: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    origin: str = "<document>"


@dataclass(frozen=True, slots=True)
class SourceEvent:
    """Something a source reports for status: not a config change, but worth telling.

    ``kind`` is one of ``document-deleted``, ``document-restored``, ``watch-restarted``,
    ``source-error``, ``fallback-polling``; ``detail`` is a human sentence.

    Thread-safety: immutable.
    """

    kind: Literal[
        "document-deleted",
        "document-restored",
        "watch-restarted",
        "source-error",
        "fallback-polling",
    ]
    detail: str = ""


class SourceContext(Protocol):
    """What the manager gives a source at ``start``. Every method is safe from any thread."""

    def notify(self, key: str) -> None:
        """Something behind ``key`` changed: queue a re-sync. Never blocks."""
        ...

    def label_keys(self) -> frozenset[str]:
        """Node label keys that currently matter; a node update touching none of them may be
        ignored. Cheap (a cached value)."""
        ...

    def report(self, event: SourceEvent) -> None:
        """Report a status event. Never blocks."""
        ...


class Source(Protocol):
    """Where the document and the node labels come from. See the module docstring."""

    def prepare(self, schema: ConfigSchema, timeout: float | None) -> None: ...

    def start(self, context: SourceContext) -> None: ...

    def wait_synced(self, timeout: float | None) -> bool: ...

    def snapshot(self) -> SourceState: ...

    def stop(self, timeout: float | None) -> bool: ...


@runtime_checkable
class Cancellable(Protocol):
    """A source whose start-up steps can be ended early (see the module docstring)."""

    def cancel(self) -> None:
        """Make a ``prepare`` or ``wait_synced`` in progress on another thread return soon,
        and later ones at once. Never blocks; idempotent; safe from any thread."""
        ...
