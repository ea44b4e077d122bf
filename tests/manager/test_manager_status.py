"""status() snapshots and the outcomes sent to the sink."""

from __future__ import annotations

import json
import threading

import pytest

from manager.kit import TIMEOUT, RecordingSink, cpu_qos
from nodeconf.manager import ConfigManager, Lifecycle, Outcome
from nodeconf.manager.source import SourceEvent
from nodeconf.testing import FakeClock, RecordingListener, StaticSource

pytestmark = pytest.mark.concurrency


def test_status_before_start() -> None:
    """A new manager's status: NEW, no revision, its listeners with nothing applied."""
    manager = ConfigManager(StaticSource(), [RecordingListener()])
    status = manager.status()
    assert status.lifecycle is Lifecycle.NEW
    assert (status.revision, status.last_known_good_revision) == (None, None)
    assert [(s.name, s.applied_revision) for s in status.listeners] == [("RecordingListener", 0)]


def test_status_is_json_serialisable() -> None:
    """status().to_json() round-trips through json.dumps, issues included."""
    source = StaticSource(cpu_qos(True))
    with ConfigManager(source, [RecordingListener()], clock=FakeClock()) as manager:
        source.set_document({"globalConfig": {"evictingConfig": {"evictingCPUHighWatermark": 0}}})
        assert manager.wait_idle(TIMEOUT)
        data = json.loads(json.dumps(manager.status().to_json()))
    assert data["lifecycle"] == "running"
    assert data["last_known_good_revision"] == 1
    assert data["issues"][0]["path"] == "globalConfig.evictingConfig.evictingCPUHighWatermark"
    assert data["listeners"][0]["applied_revision"] == 1


def test_status_counts_and_times() -> None:
    """Counters and wall times follow the clock and the calls."""
    clock = FakeClock(wall_start=1000.0)
    source = StaticSource(cpu_qos(True))
    listener = RecordingListener(fail_on={2})
    with ConfigManager(source, [listener], clock=clock) as manager:
        clock.advance(5.0)
        source.set_document(cpu_qos(False))
        assert manager.wait_idle(TIMEOUT)
        status = manager.status()
    assert (
        status.listener_applies_total,
        status.listener_failures_total,
        status.pending_retries,
    ) == (1, 1, 1)
    assert status.evaluations_total == 2
    assert status.last_success_wall == 1000.0
    assert status.last_sync_wall == 1005.0
    assert status.document_version == "2"
    assert status.clock_now == 5.0
    assert status.synced is False


def test_status_reports_the_document_warnings() -> None:
    """Unknown keys in the document appear as warnings with their paths."""
    source = StaticSource({"globalConfig": {"evictingConfig": {"evictingCpuHighWatermark": 1}}})
    with ConfigManager(source, clock=FakeClock()) as manager:
        warnings = manager.status().warnings
    assert [w.severity for w in warnings] == ["warning"]
    assert "evictingCpuHighWatermark" in warnings[0].path


def test_outcomes_for_a_normal_apply() -> None:
    """Each apply emits "applied" per listener, then "synced" once every listener has it."""
    sink = RecordingSink()
    listeners = [RecordingListener(), RecordingListener()]
    with ConfigManager(StaticSource(), listeners, clock=FakeClock(), sink=sink) as manager:
        assert manager.wait_idle(TIMEOUT)
    applied = sink.of("applied")
    assert sorted(o.listener for o in applied) == ["RecordingListener", "RecordingListener#2"]
    assert all(o.revision == 1 and o.attempt == 1 for o in applied)
    assert sink.of("synced") == [Outcome("synced", revision=1)]


def test_outcomes_for_failure_then_recovery() -> None:
    """A failure emits "failed" with the error and the retry; the later success "recovered"."""
    clock = FakeClock()
    sink = RecordingSink()
    with ConfigManager(
        StaticSource(), [RecordingListener(fail_times=1)], clock=clock, sink=sink
    ) as manager:
        clock.advance(0.5)
        assert manager.wait_idle(TIMEOUT)
    failed = sink.of("failed")
    assert len(failed) == 1
    assert (failed[0].revision, failed[0].attempt, failed[0].detail) == (1, 1, "retry in 0.5s")
    assert "planned failure of call 1" in failed[0].error
    recovered = sink.of("recovered")
    assert [(o.listener, o.attempt) for o in recovered] == [("RecordingListener", 2)]


def test_source_events_become_outcomes() -> None:
    """A SourceEvent reported through the context reaches the sink as kind "source"."""
    sink = RecordingSink()

    class ReportingSource(StaticSource):
        def start(self, context):  # type: ignore[no-untyped-def]
            super().start(context)
            context.report(SourceEvent("watch-restarted", "410 Gone"))

    with ConfigManager(ReportingSource(), clock=FakeClock(), sink=sink):
        pass
    assert [(o.detail, o.error) for o in sink.of("source")] == [("watch-restarted", "410 Gone")]


def test_a_raising_sink_does_not_break_delivery() -> None:
    """A sink that raises is logged; listeners still get their configs."""

    class BrokenSink:
        def emit(self, outcome: Outcome) -> None:
            raise RuntimeError("sink down")

    listener = RecordingListener()
    source = StaticSource(cpu_qos(True))
    with ConfigManager(source, [listener], clock=FakeClock(), sink=BrokenSink()) as manager:
        source.set_document(cpu_qos(False))
        assert manager.wait_idle(TIMEOUT)
    assert listener.call_count == 2


def test_source_snapshot_failure_is_retried_with_backoff() -> None:
    """A snapshot() that raises is reported in status and retried on the clock."""
    clock = FakeClock()

    fail_next = threading.Event()  # set by the test, cleared by the sync worker

    class FlakySource(StaticSource):
        def snapshot(self):  # type: ignore[no-untyped-def]
            if fail_next.is_set():
                fail_next.clear()
                raise OSError("apiserver unreachable")
            return super().snapshot()

    source = FlakySource(cpu_qos(True))
    listener = RecordingListener()
    with ConfigManager(source, [listener], clock=clock) as manager:
        fail_next.set()
        source.set_document(cpu_qos(False))
        assert manager.wait_idle(TIMEOUT)
        assert "apiserver unreachable" in manager.status().source_error
        assert listener.call_count == 1
        clock.advance(0.5)
        assert manager.wait_idle(TIMEOUT)
        assert manager.status().source_error == ""
    assert listener.call_count == 2
