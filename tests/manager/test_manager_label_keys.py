"""A node label that only a new document makes relevant is never missed.

Sources filter node updates by ``SourceContext.label_keys()`` (the Kubernetes and file
sources do). A label change that lands after a sync read its snapshot, but before that sync
published the new document's label keys, is filtered with the *old* keys. The manager must
read the source once more when the label keys grow, or the node keeps the wrong override
until the next document edit.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping

import pytest

from nodeconf import ConfigManager
from nodeconf.manager.source import KEY_DOCUMENT, KEY_NODE, SourceContext, SourceState
from nodeconf.model.seam import ConfigSchema
from nodeconf.testing import RecordingListener

TIMEOUT = 10.0

pytestmark = [pytest.mark.concurrency, pytest.mark.thread_unsafe(reason="holds one source")]


def _document(pool_watermark: int) -> str:
    return json.dumps(
        {
            "globalConfig": {},
            "nodesConfig": [
                {
                    "selector": {"matchLabels": {"pool": "batch"}},
                    "evictingConfig": {"evictingCPUHighWatermark": pool_watermark},
                }
            ],
        }
    )


class FilteringSource:
    """Notifies node changes only for label keys in force (like the real sources); a held
    ``snapshot()`` reads the state first, then waits for ``release`` before returning it.

    Thread-safety: ``_lock`` guards ``_document`` and ``_labels``; the events are Events.
    """

    def __init__(self, document: str, labels: Mapping[str, str]) -> None:
        self._lock = threading.Lock()
        self._document = document  # guarded by _lock
        self._labels = dict(labels)  # guarded by _lock
        self._context: SourceContext | None = None  # set once by start()
        self.hold = threading.Event()
        self.entered = threading.Event()
        self.release = threading.Event()

    def prepare(self, schema: ConfigSchema, timeout: float | None) -> None:
        return None

    def start(self, context: SourceContext) -> None:
        self._context = context

    def wait_synced(self, timeout: float | None) -> bool:
        return True

    def snapshot(self) -> SourceState:
        with self._lock:
            state = SourceState(self._document, self._document, dict(self._labels))
        if self.hold.is_set():
            self.hold.clear()
            self.entered.set()
            assert self.release.wait(TIMEOUT), "the held snapshot was never released"
        return state

    def stop(self, timeout: float | None) -> bool:
        return True

    def set_document(self, document: str) -> None:
        with self._lock:
            self._document = document
        assert self._context is not None
        self._context.notify(KEY_DOCUMENT)

    def set_labels(self, labels: Mapping[str, str]) -> bool:
        """Change the labels; notify only if a changed key matters now. Returns notified."""
        assert self._context is not None
        with self._lock:
            old, self._labels = self._labels, dict(labels)
        changed = {k for k in old.keys() | labels.keys() if old.get(k) != labels.get(k)}
        if changed & self._context.label_keys():
            self._context.notify(KEY_NODE)
            return True
        return False


def test_label_filtered_during_a_sync_that_made_it_relevant_is_resynced() -> None:
    """A ``pool`` label change filtered while the sync that introduced the ``pool`` selector
    was running still reaches the listener: the manager re-reads the source when the label
    keys grow."""
    source = FilteringSource(json.dumps({"globalConfig": {}}), {})
    listener = RecordingListener()
    with ConfigManager(source, [listener]) as manager:
        source.hold.set()
        source.set_document(_document(95))  # the sync reads the snapshot, then is held
        assert source.entered.wait(TIMEOUT)
        # The old document mentions no "pool" selector: the source filters this change.
        assert source.set_labels({"pool": "batch"}) is False
        source.release.set()
        assert manager.wait_idle(TIMEOUT)
        last = listener.calls[-1].to_json()
        assert last["evictingConfig"]["evictingCPUHighWatermark"] == 95
