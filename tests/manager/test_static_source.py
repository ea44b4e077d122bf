"""StaticSource: the in-memory source of the test kit."""

from __future__ import annotations

import json
import threading

import pytest

from manager.kit import TIMEOUT, RecordingSink, cpu_qos
from nodeconf.errors import LifecycleError
from nodeconf.manager import KEY_DOCUMENT, KEY_NODE, ConfigManager, SourceEvent
from nodeconf.model.colocation import COLOCATION
from nodeconf.testing import FakeClock, RecordingListener, StaticSource

pytestmark = pytest.mark.concurrency


class Context:
    """A SourceContext that records what the source tells it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.keys: list[str] = []  # guarded by _lock
        self.events: list[SourceEvent] = []  # guarded by _lock

    def notify(self, key: str) -> None:
        with self._lock:
            self.keys.append(key)

    def label_keys(self) -> frozenset[str]:
        return frozenset()

    def report(self, event: SourceEvent) -> None:
        with self._lock:
            self.events.append(event)


def test_a_mapping_document_is_serialised_to_json() -> None:
    """A dict document is stored as JSON text that parses back to the same dict."""
    source = StaticSource(cpu_qos(True))
    state = source.snapshot()
    assert isinstance(state.document, str)
    assert json.loads(state.document) == cpu_qos(True)


def test_text_documents_are_kept_as_given() -> None:
    """str and bytes documents are passed through unchanged."""
    assert StaticSource('{"globalConfig": {}}').snapshot().document == '{"globalConfig": {}}'
    assert StaticSource(b"{}").snapshot().document == b"{}"


def test_other_document_types_are_refused() -> None:
    """A document that is neither text nor a mapping raises TypeError."""
    with pytest.raises(TypeError, match="JSON text"):
        StaticSource(42)  # type: ignore[arg-type]


def test_every_change_bumps_the_version() -> None:
    """set_document and delete_document change document_version; labels do not."""
    source = StaticSource()
    versions = [source.snapshot().document_version]
    source.set_document(cpu_qos(True))
    versions.append(source.snapshot().document_version)
    source.set_node_labels({"a": "b"})
    versions.append(source.snapshot().document_version)
    source.delete_document()
    versions.append(source.snapshot().document_version)
    assert versions == ["1", "2", "2", "3"]


def test_snapshot_labels_are_a_read_only_copy() -> None:
    """Mutating the mapping given to set_node_labels does not change the source."""
    labels = {"zone": "a"}
    source = StaticSource(node_labels=labels)
    labels["zone"] = "b"
    snapshot = source.snapshot().node_labels
    assert snapshot == {"zone": "a"}
    with pytest.raises(TypeError):
        snapshot["zone"] = "c"  # type: ignore[index]


def test_changes_notify_the_context_with_their_key() -> None:
    """Document changes notify "configmap", label changes "node"."""
    source = StaticSource()
    context = Context()
    source.start(context)
    source.set_document(cpu_qos(True))
    source.set_node_labels({"a": "b"})
    source.delete_document()
    assert context.keys == [KEY_DOCUMENT, KEY_NODE, KEY_DOCUMENT]


def test_deleting_and_restoring_report_events() -> None:
    """delete_document reports document-deleted; a later set_document document-restored."""
    source = StaticSource(cpu_qos(True))
    context = Context()
    source.start(context)
    source.delete_document()
    source.delete_document()  # nothing left to delete: no second event
    source.set_document(cpu_qos(False))
    assert [e.kind for e in context.events] == ["document-deleted", "document-restored"]


def test_no_notification_after_stop() -> None:
    """Once stop() returns, changes are kept but nobody is notified."""
    source = StaticSource()
    context = Context()
    source.start(context)
    assert source.stop(TIMEOUT) is True
    source.set_document(cpu_qos(True))
    assert context.keys == []
    assert source.snapshot().document is not None


def test_start_twice_is_refused() -> None:
    """A second start raises LifecycleError."""
    source = StaticSource()
    source.start(Context())
    with pytest.raises(LifecycleError, match="already running"):
        source.start(Context())


def test_synced_once_started() -> None:
    """wait_synced is False before start and True after."""
    source = StaticSource()
    assert source.wait_synced(0) is False
    source.start(Context())
    assert source.wait_synced(0) is True


def test_prepare_records_the_schema() -> None:
    """The manager prepares the source with its schema."""
    source = StaticSource()
    with ConfigManager(source, clock=FakeClock()):
        assert source.prepared_with is COLOCATION


def test_label_changes_reach_listeners() -> None:
    """set_node_labels re-evaluates the config: the oversubscription label turns it on."""
    source = StaticSource(cpu_qos(True))
    listener = RecordingListener()
    sink = RecordingSink()
    with ConfigManager(source, [listener], clock=FakeClock(), sink=sink) as manager:
        source.set_node_labels({"volcano.sh/oversubscription": "true"})
        assert manager.wait_idle(TIMEOUT)
    assert listener.call_count == 2
    assert listener.last.to_json()["nodeLabelConfig"]["nodeOverSubscriptionEnable"] is True
