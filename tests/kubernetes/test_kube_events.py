"""KubernetesEventSink: Events as client-go posts them, only on change, aggregated, bounded."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from lightkube import Client as LightkubeClient
from lightkube import KubeConfig
from tests.kubernetes.kube_helpers import NAMESPACE, NODE, POD, WAIT, RecordingTransport

from kubeapi import Fault, KubeAPIServer
from nodeconf.concurrency.clock import FakeClock
from nodeconf.errors import Issue
from nodeconf.manager.outcomes import Outcome
from nodeconf.sources.kubernetes import EventSinkSettings, KubernetesEventSink

pytestmark = pytest.mark.kubernetes

EVENTS_PATH = f"/namespaces/{NAMESPACE}/events"
WALL = 1_790_000_000.0  # 2026-09-21T...Z


@pytest.fixture
def pod(api: KubeAPIServer) -> dict[str, Any]:
    return api.create(
        {"kind": "Pod", "metadata": {"name": POD, "namespace": NAMESPACE}, "spec": {}}
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=0.0, wall_start=WALL)


@pytest.fixture
def sink(kubeconfig: str, pod: dict[str, Any], clock: FakeClock) -> Iterator[KubernetesEventSink]:
    s = KubernetesEventSink(
        namespace=NAMESPACE, pod_name=POD, node_name=NODE, kubeconfig=kubeconfig, clock=clock
    )
    yield s
    assert s.close(WAIT)


@pytest.fixture
def make_sink(
    kubeconfig: str, pod: dict[str, Any], clock: FakeClock
) -> Iterator[Callable[..., KubernetesEventSink]]:
    """``make_sink(**settings)``: a sink on the fake clock with these ``EventSinkSettings``,
    closed at teardown (``close`` is idempotent, so a test may close it itself)."""
    made: list[KubernetesEventSink] = []

    def make(**settings: Any) -> KubernetesEventSink:
        made.append(
            KubernetesEventSink(
                namespace=NAMESPACE,
                pod_name=POD,
                kubeconfig=kubeconfig,
                clock=clock,
                settings=EventSinkSettings(**settings),
            )
        )
        return made[-1]

    yield make
    for s in made:
        assert s.close(WAIT)


def events(api: KubeAPIServer) -> list[dict[str, Any]]:
    return api.list("events", NAMESPACE)


def event_requests(api: KubeAPIServer) -> list[str]:
    return [r.method for r in api.requests if r.path.startswith(f"/api/v1{EVENTS_PATH}")]


def emit_and_flush(sink: KubernetesEventSink, *outcomes: Outcome) -> None:
    for outcome in outcomes:
        sink.emit(outcome)
    assert sink.wait_idle(WAIT)


def test_success_event_is_what_client_go_posts(
    api: KubeAPIServer, sink: KubernetesEventSink, pod: dict[str, Any]
) -> None:
    """synced -> a Normal ConfigApplySuccess Event on the pod, with its uid, source and count."""
    emit_and_flush(sink, Outcome("synced", revision=1))
    (event,) = events(api)
    assert event["type"] == "Normal"
    assert event["reason"] == "ConfigApplySuccess"
    assert event["message"] == "Successfully applied config"
    assert event["involvedObject"] == {
        "apiVersion": "v1",
        "kind": "Pod",
        "name": POD,
        "namespace": NAMESPACE,
        "uid": pod["metadata"]["uid"],
    }
    assert event["source"] == {"component": "nodeconf", "host": NODE}
    assert event["count"] == 1
    assert event["firstTimestamp"] == event["lastTimestamp"] == "2026-09-21T14:13:20Z"
    assert event["metadata"]["name"].startswith(f"{POD}.")


def test_invalid_config_is_a_warning_naming_the_field_paths(
    api: KubeAPIServer, sink: KubernetesEventSink
) -> None:
    """invalid -> Warning ConfigApplyFailed with Volcano's message, then the field paths."""
    issue = Issue(
        path="globalConfig.evictingConfig.evictingCPUHighWatermark",
        value=0,
        message="evictingCPUHighWatermark must be a positive number",
    )
    emit_and_flush(sink, Outcome("invalid", revision=3, error=issue.message, issues=(issue,)))
    (event,) = events(api)
    assert event["type"] == "Warning"
    assert event["reason"] == "ConfigApplyFailed"
    assert event["message"] == (
        "Failed to apply config(evictingCPUHighWatermark must be a positive number) "
        "at globalConfig.evictingConfig.evictingCPUHighWatermark"
    )


def test_listener_failure_is_a_warning_naming_the_listener(
    api: KubeAPIServer, sink: KubernetesEventSink
) -> None:
    """failed -> Warning ConfigApplyFailed saying which listener failed and why."""
    emit_and_flush(sink, Outcome("failed", revision=2, listener="cpu", error="RuntimeError: boom"))
    (event,) = events(api)
    assert (event["type"], event["reason"]) == ("Warning", "ConfigApplyFailed")
    assert event["message"] == "Failed to apply config(listener cpu: RuntimeError: boom)"


def test_document_deletion_is_a_warning(api: KubeAPIServer, sink: KubernetesEventSink) -> None:
    """A reported ConfigMap deletion becomes a Warning ConfigDocumentDeleted Event."""
    emit_and_flush(sink, Outcome("source", detail="document-deleted", error="cm was deleted"))
    (event,) = events(api)
    assert (event["type"], event["reason"], event["message"]) == (
        "Warning",
        "ConfigDocumentDeleted",
        "cm was deleted",
    )


def test_other_outcomes_post_nothing(api: KubeAPIServer, sink: KubernetesEventSink) -> None:
    """applied (one listener), recovered and watch restarts are not Events."""
    emit_and_flush(
        sink,
        Outcome("applied", revision=1, listener="a"),
        Outcome("recovered", revision=1),
        Outcome("source", detail="watch-restarted", error="x"),
    )
    assert events(api) == []
    assert event_requests(api) == []


def test_a_retry_loop_posts_once(api: KubeAPIServer, sink: KubernetesEventSink) -> None:
    """The same listener failing the same revision again and again is one Event."""
    emit_and_flush(
        sink,
        *[
            Outcome("failed", revision=4, listener="a", error=f"try {n}", attempt=n)
            for n in range(10)
        ],
    )
    assert len(events(api)) == 1
    assert sink.stats().skipped == 9


def test_identical_repeats_are_patched_into_a_count(
    api: KubeAPIServer, sink: KubernetesEventSink, clock: FakeClock
) -> None:
    """The same Event for a new revision within the window becomes a PATCH of count and
    lastTimestamp, like client-go's EventCorrelator."""
    emit_and_flush(sink, Outcome("failed", revision=1, listener="a", error="boom"))
    clock.advance(30)
    emit_and_flush(sink, Outcome("failed", revision=2, listener="a", error="boom"))
    (event,) = events(api)
    assert event["count"] == 2
    assert event["lastTimestamp"] == "2026-09-21T14:13:50Z"
    assert event["firstTimestamp"] == "2026-09-21T14:13:20Z"
    assert event_requests(api) == ["POST", "PATCH"]


def test_repeats_after_the_window_are_new_events(
    api: KubeAPIServer, sink: KubernetesEventSink, clock: FakeClock
) -> None:
    """Past aggregate_window_seconds an identical Event is posted anew."""
    emit_and_flush(sink, Outcome("synced", revision=1))
    clock.advance(601)
    emit_and_flush(sink, Outcome("synced", revision=2))
    assert len(events(api)) == 2


def test_budget_drops_beyond_the_burst_and_refills(
    api: KubeAPIServer, make_sink: Callable[..., KubernetesEventSink], clock: FakeClock
) -> None:
    """Like client-go's spam filter: beyond `burst` requests they are dropped (counted);
    one token comes back per refill_seconds on the clock."""
    sink = make_sink(burst=2, refill_seconds=300)
    emit_and_flush(
        sink,
        *[Outcome("failed", revision=1, listener=f"l{n}", error=f"e{n}") for n in range(3)],
    )
    assert len(events(api)) == 2
    assert sink.stats().dropped_rate_limited == 1
    clock.advance(300)
    emit_and_flush(sink, Outcome("failed", revision=1, listener="l9", error="e9"))
    assert len(events(api)) == 3


def test_emit_never_blocks_and_drops_the_oldest_when_full(
    api: KubeAPIServer, kubeconfig: str, pod: dict[str, Any]
) -> None:
    """With the sender stuck on a slow request, emit returns at once; a full queue drops
    its oldest entry and counts it."""
    transport = RecordingTransport()
    release = threading.Event()
    stuck = threading.Event()

    def hold() -> None:
        stuck.set()
        release.wait(WAIT)

    transport.before("POST", EVENTS_PATH, hold)
    client = LightkubeClient(KubeConfig.from_file(kubeconfig), transport=transport)
    sink = KubernetesEventSink(
        namespace=NAMESPACE,
        pod_name=POD,
        client=client,
        settings=EventSinkSettings(queue_size=4),
    )
    try:
        sink.emit(Outcome("synced", revision=1))
        assert stuck.wait(WAIT)
        for n in range(2, 9):  # seven more while the first is on the wire
            sink.emit(Outcome("invalid", revision=n, error=f"e{n}"))
        assert sink.stats().dropped_queue_full == 3
        release.set()
        assert sink.wait_idle(WAIT)
        messages = [e["message"] for e in events(api)]
        assert "Failed to apply config(e2)" not in messages  # the oldest were dropped
        assert "Failed to apply config(e8)" in messages
    finally:
        release.set()
        assert sink.close(WAIT)
        client.close()
        transport.close()


def test_close_cuts_a_request_that_hangs(
    api: KubeAPIServer, kubeconfig: str, pod: dict[str, Any]
) -> None:
    """close(timeout) returns within its bound even when the API server does not answer."""
    api.inject(Fault(method="POST", path_contains=EVENTS_PATH, delay_seconds=60))
    sink = KubernetesEventSink(namespace=NAMESPACE, pod_name=POD, kubeconfig=kubeconfig)
    sink.emit(Outcome("synced", revision=1))
    assert api.wait_for_requests(lambda r: "/pods/" in r.path, 1, WAIT)  # sender is at work
    assert sink.close(0.3)
    assert not any(t.name == "nodeconf-events" for t in threading.enumerate())


def test_close_flushes_what_is_queued(
    api: KubeAPIServer, kubeconfig: str, pod: dict[str, Any]
) -> None:
    """Events queued before close() are still posted."""
    sink = KubernetesEventSink(namespace=NAMESPACE, pod_name=POD, kubeconfig=kubeconfig)
    sink.emit(Outcome("synced", revision=1))
    sink.emit(Outcome("invalid", revision=1, error="bad"))
    assert sink.close(WAIT)
    assert len(events(api)) == 2


def test_pod_lookup_failure_still_posts(api: KubeAPIServer, kubeconfig: str) -> None:
    """Without a readable Pod the Event is posted without a uid rather than lost."""
    sink = KubernetesEventSink(namespace=NAMESPACE, pod_name="gone", kubeconfig=kubeconfig)
    try:
        emit_and_flush(sink, Outcome("synced", revision=1))
        (event,) = events(api)
        assert "uid" not in event["involvedObject"]
    finally:
        assert sink.close(WAIT)


def test_repeats_within_the_interval_are_held_and_sent_as_one_patch(
    api: KubeAPIServer, sink: KubernetesEventSink, clock: FakeClock
) -> None:
    """A failing listener on revision after revision: one POST, then the repeats are held
    and summed until repeat_interval_seconds has passed on the clock, then one PATCH."""
    emit_and_flush(sink, Outcome("failed", revision=1, listener="a", error="boom"))
    emit_and_flush(
        sink,
        *[Outcome("failed", revision=n, listener="a", error="boom") for n in range(2, 12)],
    )
    assert event_requests(api) == ["POST"]
    assert sink.stats().held == 10
    assert clock.wait_for_parked(1, WAIT)  # the sender sleeps until the repeats fall due
    clock.advance(10)
    assert api.wait_for_requests(lambda r: r.method == "PATCH", 1, WAIT)
    assert sink.wait_idle(WAIT)
    (event,) = events(api)
    assert event["count"] == 11
    assert event["lastTimestamp"] == "2026-09-21T14:13:30Z"
    assert event_requests(api) == ["POST", "PATCH"]
    stats = sink.stats()
    assert (stats.held, stats.patched, stats.aggregated) == (0, 1, 10)


def test_close_sends_the_held_repeats(api: KubeAPIServer, sink: KubernetesEventSink) -> None:
    """Nothing is lost at close: repeats still waiting for their interval are sent."""
    emit_and_flush(sink, Outcome("synced", revision=1))
    emit_and_flush(sink, Outcome("synced", revision=2))
    assert sink.stats().held == 1
    assert event_requests(api) == ["POST"]
    assert sink.close(WAIT)
    (event,) = events(api)
    assert event["count"] == 2
    assert event_requests(api) == ["POST", "PATCH"]


def test_repeat_interval_zero_patches_every_repeat(
    api: KubeAPIServer, make_sink: Callable[..., KubernetesEventSink]
) -> None:
    """repeat_interval_seconds=0 turns pacing off: client-go's one PATCH per repeat."""
    sink = make_sink(repeat_interval_seconds=0)
    for n in range(1, 4):
        emit_and_flush(sink, Outcome("synced", revision=n))
    assert event_requests(api) == ["POST", "PATCH", "PATCH"]
    assert events(api)[0]["count"] == 3


@pytest.mark.parametrize("value", [-1.0, float("inf"), float("nan")])
def test_repeat_interval_must_be_finite_and_not_negative(value: float) -> None:
    with pytest.raises(ValueError, match="repeat_interval_seconds"):
        EventSinkSettings(repeat_interval_seconds=value)
