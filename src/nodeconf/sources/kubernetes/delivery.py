"""How the list-watch loops' changes reach the manager: ``LoopHandler`` and ``ContextGate``.

``LoopHandler`` is the ``ListWatchHandler`` of a ``KubernetesSource``'s two loops: it applies
each change to the source's ``ChangeTracker`` (which decides the keys and reports) and sets the
source's ``synced`` latch at the first complete state; then, with no lock of its own held, it
passes the keys and reports through the ``ContextGate``. A change applied before the first
complete state is in the snapshot the manager's initial sync reads: it needs no key.

``ContextGate`` holds the ``SourceContext`` between ``start`` and ``stop``. Its ``lock`` is held
while calling the context (``notify``/``report``) and by ``stop`` while it closes the gate, so
once ``stop`` has returned no call to the context is in flight or will ever be made, even from
a loop thread that outlived its join timeout.

Thread-safety: ``LoopHandler``'s ``_lock`` guards its tracker (the loop threads change it,
``snapshot`` is read from any thread); the context is never called with it held.
``ContextGate.lock`` guards the context and whether the gate is open; the source takes it
before its own lock, never after.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from nodeconf.manager.source import KEY_NODE, SourceEvent, SourceState
from nodeconf.sources.kubernetes.client import KIND_CONFIGMAPS

if TYPE_CHECKING:
    from nodeconf.concurrency.latch import Latch
    from nodeconf.manager.source import SourceContext
    from nodeconf.sources.kubernetes.changes import ChangeTracker
    from nodeconf.sources.kubernetes.watchtypes import WatchTarget

__all__ = ["ContextGate", "LoopHandler"]


class ContextGate:
    """Passes keys and reports to a ``SourceContext`` while open.

    The owner opens it with ``open_locked`` and closes it with ``close_locked``, holding
    ``lock``; ``emit`` may be called from any thread.

    Thread-safety: ``lock`` guards ``_context`` and ``_open`` and is held while the context
    is called.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # -- guarded by lock ---------------------------------------------------------------
        self._context: SourceContext | None = None
        self._open = False  # False before start and forever after stop

    def open_locked(self, context: SourceContext) -> None:
        """Open the gate onto ``context`` (``lock`` held)."""
        self._context = context
        self._open = True

    def close_locked(self) -> None:
        """Close the gate for good (``lock`` held)."""
        self._open = False

    def emit(
        self,
        keys: list[str] | tuple[str, ...],
        reports: list[SourceEvent],
        *,
        only_if_labels: frozenset[str] | None = None,
    ) -> None:
        """Pass keys and reports to the context, unless not started or stopped."""
        if not keys and not reports:
            return
        with self.lock:
            context = self._context
            if not self._open or context is None:
                return
            for event in reports:
                context.report(event)
            if not keys:
                return
            if only_if_labels is not None and not (only_if_labels & context.label_keys()):
                return
            for key in keys:
                context.notify(key)


class LoopHandler:
    """The ``ListWatchHandler`` of a source's two loops (see the module docstring).

    Thread-safety: the loop threads call ``on_*``; ``snapshot`` from any thread.
    """

    def __init__(self, changes: ChangeTracker, synced: Latch, gate: ContextGate) -> None:
        self._lock = threading.Lock()
        self._changes = changes  # guarded by _lock
        self._synced = synced  # set under _lock at the first complete state
        self._gate = gate

    def snapshot(self) -> SourceState:
        with self._lock:
            return self._changes.snapshot

    def on_change(
        self, target: WatchTarget, previous: dict[str, Any] | None, current: dict[str, Any] | None
    ) -> None:
        if target.kind == KIND_CONFIGMAPS:
            self._configmap_changed(current)
        else:
            self._node_changed(current)

    def on_listed(self, target: WatchTarget, current: dict[str, Any] | None) -> None:
        reports: list[SourceEvent] = []
        with self._lock:
            if target.kind == KIND_CONFIGMAPS:
                self._changes.configmap_listed()
            else:
                reports = self._changes.node_listed(current)
            self._update_synced_locked()
        self._gate.emit((), reports)

    def on_restart(self, target: WatchTarget, reason: str) -> None:
        self._gate.emit((), [SourceEvent("watch-restarted", f"{target}: {reason}")])

    def _configmap_changed(self, current: dict[str, Any] | None) -> None:
        with self._lock:
            # A change applied before the first complete state is in the snapshot the
            # manager's initial sync reads: it needs no key.
            live = self._synced.is_set()
            keys, reports = self._changes.configmap_changed(current)
        self._gate.emit(keys if live else (), reports)

    def _node_changed(self, current: dict[str, Any] | None) -> None:
        with self._lock:
            live = self._synced.is_set()  # see _configmap_changed
            changed, reports = self._changes.node_changed(current)
            self._update_synced_locked()
        if not live:
            self._gate.emit((), reports)
        elif changed is None:
            self._gate.emit([KEY_NODE], reports)
        elif changed:
            self._gate.emit([KEY_NODE], reports, only_if_labels=changed)
        else:
            self._gate.emit((), reports)

    def _update_synced_locked(self) -> None:
        # Set under _lock, so "was it set when this change was applied?" has one answer.
        if self._changes.complete:
            self._synced.set()
