"""Prometheus metrics: outcome counters and state gauges read from ``manager.status()``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from nodeconf.manager import ConfigManager
from nodeconf.manager.outcomes import Outcome
from nodeconf.status.metrics import MetricsSink
from nodeconf.testing import FakeClock, RecordingListener, StaticSource

VALID = {"globalConfig": {"cpuQosConfig": {"enable": True}}}
INVALID = {"globalConfig": {"evictingConfig": {"evictingCPULowWatermark": 99}}}


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


@pytest.fixture
def sink() -> MetricsSink:
    return MetricsSink(CollectorRegistry())


def test_applied_outcomes_count_per_listener(sink) -> None:
    """Each ``applied`` outcome adds one to nodeconf_configs_applied_total{listener}."""
    sink.emit(Outcome("applied", revision=1, listener="a", attempt=1))
    sink.emit(Outcome("applied", revision=2, listener="a", attempt=1))
    sink.emit(Outcome("applied", revision=2, listener="b", attempt=1))
    assert value(sink.registry, "nodeconf_configs_applied_total", listener="a") == 2
    assert value(sink.registry, "nodeconf_configs_applied_total", listener="b") == 1


def test_failures_count_per_listener_and_kind(sink) -> None:
    """Failures and rejections are apply failures, labelled by listener and kind."""
    sink.emit(Outcome("failed", revision=1, listener="a", error="boom", attempt=1))
    sink.emit(Outcome("rejected", revision=1, listener="a", error="no", attempt=2))
    registry = sink.registry
    assert value(registry, "nodeconf_apply_failures_total", listener="a", kind="failed") == 1
    assert value(registry, "nodeconf_apply_failures_total", listener="a", kind="rejected") == 1


def test_retries_are_attempts_after_the_first(sink) -> None:
    """An attempt numbered 2 or more is a retry, whatever its result."""
    sink.emit(Outcome("failed", revision=1, listener="a", attempt=1))
    sink.emit(Outcome("failed", revision=1, listener="a", attempt=2))
    sink.emit(Outcome("applied", revision=1, listener="a", attempt=3))
    assert value(sink.registry, "nodeconf_retries_total", listener="a") == 2


def test_invalid_documents_and_watch_restarts_are_counted(sink) -> None:
    """``invalid`` outcomes and ``watch-restarted`` source events have their own counters."""
    sink.emit(Outcome("invalid", error="bad"))
    sink.emit(Outcome("source", detail="watch-restarted"))
    sink.emit(Outcome("source", detail="document-deleted"))
    registry = sink.registry
    assert value(registry, "nodeconf_invalid_documents_total") == 1
    assert value(registry, "nodeconf_watch_restarts_total") == 1
    assert value(registry, "nodeconf_source_events_total", kind="document-deleted") == 1


def test_two_sinks_have_separate_registries() -> None:
    """Without a registry each sink gets a fresh one, so they never collide."""
    a, b = MetricsSink(), MetricsSink()
    a.emit(Outcome("invalid"))
    assert value(a.registry, "nodeconf_invalid_documents_total") == 1
    assert value(b.registry, "nodeconf_invalid_documents_total") == 0


@pytest.fixture
def running() -> Iterator[tuple[ConfigManager, StaticSource, FakeClock, MetricsSink]]:
    clock = FakeClock(wall_start=1_000.0)
    sink = MetricsSink(CollectorRegistry(), clock=clock)
    source = StaticSource(VALID)
    manager = ConfigManager(source, [RecordingListener()], clock=clock, sink=sink)
    sink.bind(manager)
    manager.start(10)
    try:
        yield manager, source, clock, sink
    finally:
        assert manager.stop(10).completed


def test_gauges_show_the_manager_state_at_scrape_time(running) -> None:
    """Revision, last-known-good and queue depth come from manager.status() when scraped."""
    manager, source, _, sink = running
    assert value(sink.registry, "nodeconf_current_revision") == 1
    source.set_document({"globalConfig": {"cpuQosConfig": {"enable": False}}})
    assert manager.wait_idle(10)
    assert value(sink.registry, "nodeconf_current_revision") == 2
    assert value(sink.registry, "nodeconf_last_known_good_revision") == 2
    assert value(sink.registry, "nodeconf_queue_depth") == 0


def test_an_invalid_document_keeps_the_last_known_good_revision(running) -> None:
    """After an invalid edit the current revision gauge reads 0 and last-known-good stays."""
    manager, source, _, sink = running
    source.set_document(INVALID)
    assert manager.wait_idle(10)
    assert value(sink.registry, "nodeconf_current_revision") == 0
    assert value(sink.registry, "nodeconf_last_known_good_revision") == 1
    assert value(sink.registry, "nodeconf_invalid_documents_total") == 1


def test_seconds_since_last_successful_apply_follows_the_clock(running) -> None:
    """The age of the last successful apply grows with the (fake) wall clock."""
    _, _, clock, sink = running
    before = value(sink.registry, "nodeconf_seconds_since_last_successful_apply")
    assert before is not None
    clock.advance(42)
    after = value(sink.registry, "nodeconf_seconds_since_last_successful_apply")
    assert after == pytest.approx(before + 42)


def test_listener_failures_gauge_is_per_listener() -> None:
    """A failing listener shows its consecutive failures; a healthy one shows 0."""
    clock = FakeClock()
    sink = MetricsSink(CollectorRegistry(), clock=clock)
    manager = ConfigManager(StaticSource(VALID), clock=clock, sink=sink)
    manager.add_listener(RecordingListener(fail_times=1), name="flaky")
    manager.add_listener(RecordingListener(), name="steady")
    sink.bind(manager)
    with manager:
        assert manager.wait_idle(10)
        failures = "nodeconf_listener_consecutive_failures"
        assert value(sink.registry, failures, listener="flaky") == 1
        assert value(sink.registry, failures, listener="steady") == 0


def test_bind_twice_is_refused(sink) -> None:
    """The state gauges are registered once per sink."""
    manager = ConfigManager(StaticSource(VALID))
    sink.bind(manager)
    with pytest.raises(RuntimeError, match="once"):
        sink.bind(manager)
