"""Invalid documents and configs: never delivered, last-known-good kept, errors reported."""

from __future__ import annotations

import pytest

from manager.kit import INVALID, TIMEOUT, RecordingSink, cpu_qos
from nodeconf.manager import ConfigManager
from nodeconf.testing import FakeClock, RecordingListener, StaticSource

pytestmark = pytest.mark.concurrency


def test_an_invalid_config_is_never_delivered() -> None:
    """Pushing an invalid document calls no listener and keeps the last-known-good."""
    source = StaticSource(cpu_qos(True))
    listener = RecordingListener()
    with ConfigManager(source, [listener], clock=FakeClock()) as manager:
        source.set_document(INVALID)
        assert manager.wait_idle(TIMEOUT)
        status = manager.status()
    assert listener.call_count == 1
    assert status.revision is None
    assert status.last_known_good_revision == 1
    assert manager.current is not None
    assert manager.current.config == listener.last  # type: ignore[union-attr]


def test_the_error_keeps_its_field_paths() -> None:
    """status() holds Volcano's message and every issue with the path it came from."""
    source = StaticSource(cpu_qos(True))
    with ConfigManager(source, clock=FakeClock()) as manager:
        source.set_document(INVALID)
        assert manager.wait_idle(TIMEOUT)
        status = manager.status()
    assert status.last_error == (
        "[evictingCPUHighWatermark must be a positive number, "
        "cpu evicting low watermark is higher than high watermark]"
    )
    assert {issue.path for issue in status.issues} == {
        "globalConfig.evictingConfig.evictingCPUHighWatermark"
    }


def test_an_unreadable_document_is_invalid_with_its_position() -> None:
    """Broken JSON is reported with the origin, line and column; nothing is delivered."""
    source = StaticSource(cpu_qos(True), origin="cm/colocation-config")
    listener = RecordingListener()
    with ConfigManager(source, [listener], clock=FakeClock()) as manager:
        source.set_document('{"globalConfig": {,}}')
        assert manager.wait_idle(TIMEOUT)
        status = manager.status()
    assert listener.call_count == 1
    assert status.last_error.startswith("cm/colocation-config:1:")
    assert status.issues[0].path.startswith("cm/colocation-config:1:")


def test_invalid_then_valid_emits_invalid_then_recovered() -> None:
    """The sink sees "invalid" (with issues) and then "recovered" with the new revision."""
    sink = RecordingSink()
    source = StaticSource(cpu_qos(True))
    listener = RecordingListener()
    with ConfigManager(source, [listener], clock=FakeClock(), sink=sink) as manager:
        source.set_document(INVALID)
        assert manager.wait_idle(TIMEOUT)
        source.set_document(cpu_qos(False))
        assert manager.wait_idle(TIMEOUT)
        status = manager.status()
    invalid = sink.of("invalid")
    assert len(invalid) == 1
    assert invalid[0].revision == 1
    assert invalid[0].issues
    assert [o.revision for o in sink.of("recovered")] == [2]
    assert (status.revision, status.last_error, status.issues) == (2, "", ())
    assert listener.call_count == 2


def test_a_config_equal_to_the_last_good_one_after_an_invalid_one_is_no_new_revision() -> None:
    """Valid A, invalid, valid A again: the status recovers, revision stays 1, no call."""
    source = StaticSource(cpu_qos(True))
    listener = RecordingListener()
    with ConfigManager(source, [listener], clock=FakeClock()) as manager:
        source.set_document(INVALID)
        assert manager.wait_idle(TIMEOUT)
        source.set_document(cpu_qos(True))
        assert manager.wait_idle(TIMEOUT)
        status = manager.status()
    assert (status.revision, status.last_known_good_revision) == (1, 1)
    assert listener.call_count == 1


def test_deleting_the_document_keeps_the_last_config() -> None:
    """A deleted document is reported; listeners keep the last config (no new revision)."""
    sink = RecordingSink()
    source = StaticSource(cpu_qos(True))
    listener = RecordingListener()
    with ConfigManager(source, [listener], clock=FakeClock(), sink=sink) as manager:
        source.delete_document()
        assert manager.wait_idle(TIMEOUT)
        status = manager.status()
    assert listener.call_count == 1
    assert status.document_present is False
    assert status.last_known_good_revision == 1
    assert [o.detail for o in sink.of("source")] == ["document-deleted"]


def test_label_changes_still_apply_while_the_document_is_deleted() -> None:
    """After a deletion, relabelling the node re-evaluates the last known document."""
    source = StaticSource(cpu_qos(True))
    listener = RecordingListener()
    with ConfigManager(source, [listener], clock=FakeClock()) as manager:
        source.delete_document()
        source.set_node_labels({"volcano.sh/oversubscription": "true"})
        assert manager.wait_idle(TIMEOUT)
    labels = listener.last.to_json()["nodeLabelConfig"]
    assert labels["nodeOverSubscriptionEnable"] is True
    assert listener.last.to_json()["cpuQosConfig"] == {"enable": True}


def test_no_document_at_start_means_the_defaults() -> None:
    """Without any document the listeners get Volcano's defaults as revision 1."""
    listener = RecordingListener()
    with ConfigManager(StaticSource(), [listener], clock=FakeClock()) as manager:
        assert manager.status().revision == 1
    assert listener.last.to_json()["evictingConfig"]["evictingCPUHighWatermark"] == 80
