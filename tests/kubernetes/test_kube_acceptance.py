"""Issue 4 acceptance: a real ConfigManager + RecordingListener + KubernetesSource + Events,
against the in-process API server.

Every wait is on an event: the listener's own condition (``WatchingListener``), the recorded
outcomes, the server's request log, or the source having seen a resourceVersion. Where a
test must control *when* the source reconnects, the source runs on a ``FakeClock`` (the
manager keeps the real one).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from lightkube import Client as LightkubeClient
from lightkube import KubeConfig
from tests.kubernetes.kube_helpers import (
    CONFIGMAP,
    KEY,
    NAMESPACE,
    NODE,
    POD,
    WAIT,
    OutcomeRecorder,
    RecordingTransport,
    WatchingListener,
    configmap,
    document,
    fast_settings,
    interval_document,
    interval_of,
    put_document,
)

from kubeapi import Fault, KubeAPIServer
from nodeconf.concurrency.clock import FakeClock
from nodeconf.manager import ConfigManager, FanOutSink
from nodeconf.model import default_document_text
from nodeconf.sources.kubernetes import (
    BackoffSettings,
    KubernetesEventSink,
    KubernetesSettings,
    KubernetesSource,
)

pytestmark = pytest.mark.kubernetes

CM_PATH = f"/namespaces/{NAMESPACE}/configmaps"
EVENTS_PATH = f"/api/v1/namespaces/{NAMESPACE}/events"


@dataclass
class Stack:
    """Everything one acceptance test drives."""

    api: KubeAPIServer
    source: KubernetesSource
    sink: KubernetesEventSink
    outcomes: OutcomeRecorder
    listener: WatchingListener
    manager: ConfigManager

    def write(self, text: str) -> int:
        """Write the document; return the resourceVersion of the write."""
        return int(put_document(self.api, text)["metadata"]["resourceVersion"])

    def events(self, reason: str | None = None) -> list[dict[str, Any]]:
        found = self.api.list("events", NAMESPACE)
        return [e for e in found if reason is None or e["reason"] == reason]

    def no_repeated_revision(self) -> bool:
        revisions = self.listener.revisions()
        return all(a < b for a, b in itertools.pairwise(revisions))


@pytest.fixture
def build(api: KubeAPIServer, kubeconfig: str) -> Iterator[Callable[..., Stack]]:
    """Build and start a stack; everything is stopped at the end of the test."""
    api.create({"kind": "Pod", "metadata": {"name": POD, "namespace": NAMESPACE}, "spec": {}})
    stacks: list[Stack] = []

    def _build(
        *,
        settings: KubernetesSettings | None = None,
        source_clock: FakeClock | None = None,
        listener: WatchingListener | None = None,
        client: LightkubeClient | None = None,
        prepare: bool = True,
    ) -> Stack:
        source = KubernetesSource(
            namespace=NAMESPACE,
            node_name=NODE,
            pod_name=POD,
            kubeconfig=None if client is not None else kubeconfig,
            client=client,
            prepare=prepare,
            clock=source_clock,
            settings=settings or fast_settings(),
        )
        sink = source.event_sink(clock=FakeClock(wall_start=1_790_000_000.0))
        outcomes = OutcomeRecorder()
        listener = listener or WatchingListener()
        manager = ConfigManager(source, sink=FanOutSink([sink, outcomes]))
        manager.add_listener(listener, with_change=True)
        stack = Stack(api, source, sink, outcomes, listener, manager)
        stacks.append(stack)
        manager.start(timeout=WAIT)
        assert api.wait_for_watchers(2)  # both watches are open
        return stack

    yield _build
    for stack in stacks:
        assert stack.manager.stop(WAIT).completed
        assert stack.sink.close(WAIT)


# -- updates ---------------------------------------------------------------------------------


def test_a_configmap_update_reaches_the_listener(build: Callable[..., Stack]) -> None:
    """Editing the document hands the listener the new effective config."""
    stack = build()
    stack.write(interval_document(42))
    assert stack.listener.wait_applied(lambda c: interval_of(c) == 42)


def test_100_rapid_updates_coalesce_and_the_last_one_wins(build: Callable[..., Stack]) -> None:
    """100 updates while the listener is busy collapse into few calls; it ends holding the
    last one."""
    gate = threading.Event()
    gate.set()
    stack = build(listener=WatchingListener(gate=gate))
    gate.clear()  # the next call waits here, like a listener busy applying
    first = stack.write(interval_document(1))
    assert stack.listener.wait_for_calls(2)
    last = first
    for n in range(2, 101):
        last = stack.write(interval_document(n))
    assert stack.source.wait_for_version(last, timeout=WAIT)  # all 100 reached the manager
    gate.set()
    assert stack.listener.wait_applied(lambda c: interval_of(c) == 100)
    assert stack.manager.wait_idle(WAIT)
    assert stack.listener.call_count <= 4  # start, the held call, the latest: not 101
    assert interval_of(stack.listener.applied[-1]) == 100
    assert stack.no_repeated_revision()


# -- failures survived -----------------------------------------------------------------------


def _updates_after(stack: Stack, start: int, count: int = 3) -> None:
    """Write ``count`` updates and check the last one arrives, each revision once."""
    for n in range(start, start + count):
        stack.write(interval_document(n))
    final = start + count - 1
    assert stack.listener.wait_applied(lambda c: interval_of(c) == final)
    assert stack.manager.wait_idle(WAIT)
    assert stack.no_repeated_revision()


def test_a_dropped_watch_is_survived(build: Callable[..., Stack]) -> None:
    """Connections cut mid-stream: the watch resumes, the final state is delivered."""
    stack = build()
    stack.api.inject(Fault(watch=True, path_contains=CM_PATH, drop_after_events=1, times=2))
    stack.api.close_watches("configmaps", abrupt=True)
    _updates_after(stack, 10, count=4)


def test_a_run_of_500s_is_survived(build: Callable[..., Stack]) -> None:
    """Five 500s on reconnect: backoff, then the final state is delivered."""
    stack = build()
    stack.api.inject(Fault(watch=True, path_contains=CM_PATH, status=500, times=5))
    stack.api.close_watches("configmaps")
    assert stack.api.wait_for_requests(lambda r: r.watch and r.status == 500, 5, WAIT)
    _updates_after(stack, 20)


def test_429_with_retry_after_is_survived(build: Callable[..., Stack]) -> None:
    """429 Too Many Requests with Retry-After: 1 -> the watch comes back after it."""
    stack = build()
    stack.api.inject(Fault(watch=True, path_contains=CM_PATH, status=429, retry_after_seconds=1))
    stack.api.close_watches("configmaps")
    assert stack.api.wait_for_requests(lambda r: r.watch and r.status == 429, 1, WAIT)
    _updates_after(stack, 30)
    assert stack.source.watch_stats()["configmap"].reconnect_delays[-1] >= 1.0


@pytest.mark.parametrize("mode", ["status", "event"])
def test_410_gone_is_survived(build: Callable[..., Stack], mode: str) -> None:
    """A resume from a compacted version (410 as HTTP status or as an ERROR event): relist,
    and the change made during the gap is delivered."""
    clock = FakeClock()
    stack = build(source_clock=clock)
    stack.api.expired_watch_mode = mode
    stack.api.close_watches("configmaps", abrupt=True)
    assert clock.wait_for_waiters(1, WAIT)  # the source waits to reconnect
    stack.write(interval_document(40))  # made while nobody watches
    stack.api.compact()
    clock.advance(1.0)
    assert stack.listener.wait_applied(lambda c: interval_of(c) == 40)
    assert stack.source.watch_stats()["configmap"].expired == 1
    _updates_after(stack, 41)


def test_server_side_timeout_is_survived(build: Callable[..., Stack]) -> None:
    """The server ends each watch at its timeoutSeconds (1 s here); updates keep flowing."""
    stack = build(settings=fast_settings(watch_timeout_min_seconds=1, watch_timeout_max_seconds=1))
    assert stack.api.wait_for_requests(lambda r: r.watch and CM_PATH in r.path, 2, WAIT)
    _updates_after(stack, 50)
    assert stack.source.watch_stats()["configmap"].failures == 0


def test_a_silent_connection_is_survived(build: Callable[..., Stack], api: KubeAPIServer) -> None:
    """A watch that goes silent is replaced by the read watchdog; the update arrives."""
    api.inject(Fault(watch=True, path_contains=CM_PATH, silent=True, times=1))
    stack = build(settings=fast_settings(watch_idle_timeout_seconds=0.3))
    _updates_after(stack, 60, count=1)
    assert "ReadTimeout" in stack.source.watch_stats()["configmap"].last_error


# -- node labels -----------------------------------------------------------------------------

OVERRIDES = json.dumps(
    {
        "globalConfig": {"networkQosConfig": {"qosCheckInterval": 1}},
        "nodesConfig": [
            {
                "selector": {"matchLabels": {"pool": "batch"}},
                "networkQosConfig": {"qosCheckInterval": 2},
            },
            {
                "selector": {"matchLabels": {"pool": "online"}},
                "networkQosConfig": {"qosCheckInterval": 3},
            },
        ],
    }
)


def test_relabelling_onto_another_override_changes_the_config(
    build: Callable[..., Stack], api: KubeAPIServer
) -> None:
    """pool=batch -> pool=online moves the node to the other override's config."""
    api.patch("nodes", NODE, {"metadata": {"labels": {"pool": "batch"}}})
    api.create(configmap(OVERRIDES))
    stack = build()
    assert interval_of(stack.listener.applied[-1]) == 2
    api.patch("nodes", NODE, {"metadata": {"labels": {"pool": "online"}}})
    assert stack.listener.wait_applied(lambda c: interval_of(c) == 3)


def test_an_unrelated_label_change_calls_no_listener(
    build: Callable[..., Stack], api: KubeAPIServer
) -> None:
    """A label no selector mentions changes nothing: no listener call."""
    api.patch("nodes", NODE, {"metadata": {"labels": {"pool": "batch"}}})
    api.create(configmap(OVERRIDES))
    stack = build()
    calls = stack.listener.call_count
    syncs = stack.manager.status().evaluations_total
    rv = api.patch("nodes", NODE, {"metadata": {"labels": {"team": "blue"}}})["metadata"][
        "resourceVersion"
    ]
    assert stack.source.wait_for_version(rv, kind="node", timeout=WAIT)
    assert stack.manager.wait_idle(WAIT)
    assert stack.listener.call_count == calls
    assert stack.manager.status().evaluations_total == syncs  # not even a re-sync
    assert stack.source.snapshot().node_labels["team"] == "blue"


# -- deletion --------------------------------------------------------------------------------


def test_deleting_the_configmap_keeps_the_last_known_good(
    build: Callable[..., Stack], api: KubeAPIServer
) -> None:
    """Deleting the ConfigMap leaves the listener's config alone and posts a Warning."""
    stack = build()
    stack.write(interval_document(7))
    assert stack.listener.wait_applied(lambda c: interval_of(c) == 7)
    calls = stack.listener.call_count
    api.delete("configmaps", CONFIGMAP, NAMESPACE)
    assert stack.outcomes.wait_for(lambda o: o.detail == "document-deleted")
    assert stack.sink.wait_idle(WAIT)  # the sink had it before the recorder (FanOutSink order)
    (warning,) = stack.events("ConfigDocumentDeleted")
    assert warning["type"] == "Warning"
    assert CONFIGMAP in warning["message"]
    assert stack.manager.wait_idle(WAIT)
    assert stack.listener.call_count == calls
    assert interval_of(stack.listener.applied[-1]) == 7


def test_recreating_the_configmap_resumes(build: Callable[..., Stack], api: KubeAPIServer) -> None:
    """After a deletion, re-creating the ConfigMap applies its document again."""
    stack = build()
    api.delete("configmaps", CONFIGMAP, NAMESPACE)
    assert stack.outcomes.wait_for(lambda o: o.detail == "document-deleted")
    api.create(configmap(interval_document(8)))
    assert stack.listener.wait_applied(lambda c: interval_of(c) == 8)
    assert stack.outcomes.wait_for(lambda o: o.detail == "document-restored")
    _updates_after(stack, 9, count=1)


# -- invalid edits ---------------------------------------------------------------------------


def test_invalid_edits_post_one_warning_each_and_keep_the_config(
    build: Callable[..., Stack], api: KubeAPIServer
) -> None:
    """Bad JSON, then a bad value: one Warning each (the second names the field path), the
    listener keeps the old config, and the next valid edit applies."""
    stack = build()
    stack.write(interval_document(5))
    assert stack.listener.wait_applied(lambda c: interval_of(c) == 5)
    calls = stack.listener.call_count

    stack.write('{"globalConfig": {')
    assert stack.outcomes.wait_for(lambda o: o.kind == "invalid")
    stack.write(document(evictingConfig={"evictingCPUHighWatermark": 0}))
    assert stack.outcomes.wait_for(lambda o: o.kind == "invalid", 2)
    assert stack.sink.wait_idle(WAIT)
    warnings = stack.events("ConfigApplyFailed")
    assert len(warnings) == 2
    assert all(w["type"] == "Warning" and w["count"] == 1 for w in warnings)
    bad_value = [w for w in warnings if "evictingCPUHighWatermark must be" in w["message"]]
    assert len(bad_value) == 1
    assert "globalConfig.evictingConfig.evictingCPUHighWatermark" in bad_value[0]["message"]
    assert stack.listener.call_count == calls

    stack.write(interval_document(6))
    assert stack.listener.wait_applied(lambda c: interval_of(c) == 6)


# -- prepare ---------------------------------------------------------------------------------


def test_start_creates_the_default_document_when_missing(
    build: Callable[..., Stack], api: KubeAPIServer
) -> None:
    """No ConfigMap: start creates it with the default document; listeners get defaults."""
    stack = build()
    assert api.get("configmaps", CONFIGMAP, NAMESPACE)["data"] == {KEY: default_document_text()}  # type: ignore[index]
    assert interval_of(stack.listener.applied[-1]) == 10_000_000


def test_start_backfills_without_losing_admin_fields(
    build: Callable[..., Stack], api: KubeAPIServer
) -> None:
    """Missing sections are added at start; every field the admin wrote is still there."""
    admin = {"globalConfig": {"networkQosConfig": {"qosCheckInterval": 9}}, "x-note": "keep"}
    api.create(configmap(json.dumps(admin), other="untouched"))
    stack = build()
    stored = api.get("configmaps", CONFIGMAP, NAMESPACE)
    doc = json.loads(stored["data"][KEY])  # type: ignore[index]
    assert doc["x-note"] == "keep"
    assert doc["globalConfig"]["networkQosConfig"] == {"qosCheckInterval": 9}
    assert {"overSubscriptionConfig", "evictingConfig"} <= set(doc["globalConfig"])
    assert stored["data"]["other"] == "untouched"  # type: ignore[index]
    assert interval_of(stack.listener.applied[-1]) == 9


def test_start_survives_a_conflict_and_a_concurrent_create(
    build: Callable[..., Stack], api: KubeAPIServer, kubeconfig: str
) -> None:
    """Another agent creates the ConfigMap between our read and our create (409
    AlreadyExists), then an admin edits it between our read and our backfill (409
    Conflict): start succeeds, and the admin's edit is kept."""
    transport = RecordingTransport()
    client = LightkubeClient(KubeConfig.from_file(kubeconfig), transport=transport)
    other_agents = {"globalConfig": {"networkQosConfig": {"qosCheckInterval": 11}}}
    admins = {"globalConfig": {"networkQosConfig": {"qosCheckInterval": 12}}}

    def other_agent_creates() -> None:
        api.create(configmap(json.dumps(other_agents)))

    def admin_edits() -> None:
        api.patch("configmaps", CONFIGMAP, {"data": {KEY: json.dumps(admins)}}, namespace=NAMESPACE)

    transport.before("POST", CM_PATH, other_agent_creates)
    transport.before("PUT", CM_PATH, admin_edits)
    try:
        stack = build(client=client)
        statuses = [(r.method, r.status) for r in api.requests if CM_PATH in r.path]
        assert ("POST", 409) in statuses
        assert ("PUT", 409) in statuses
        doc = json.loads(api.get("configmaps", CONFIGMAP, NAMESPACE)["data"][KEY])  # type: ignore[index]
        assert doc["globalConfig"]["networkQosConfig"] == {"qosCheckInterval": 12}
        assert "evictingConfig" in doc["globalConfig"]
        assert interval_of(stack.listener.applied[-1]) == 12
        assert stack.manager.stop(WAIT).completed  # before the client goes away
        assert stack.sink.close(WAIT)
    finally:
        client.close()
        transport.close()


# -- reconnect delays ------------------------------------------------------------------------


def test_reconnect_delays_grow_are_capped_and_jittered(build: Callable[..., Stack]) -> None:
    """While the API server answers 500, the source's delays are drawn in [0, min(cap,
    initial * 2**n)] on its clock: they grow, stop at the cap, and are jittered; when the
    server recovers the final state is delivered."""
    clock = FakeClock()
    backoff = BackoffSettings(initial_delay_seconds=1.0, max_delay_seconds=4.0)
    stack = build(source_clock=clock, settings=fast_settings(backoff=backoff))
    api = stack.api
    api.inject(Fault(watch=True, path_contains=CM_PATH, status=500, times=None))
    api.close_watches("configmaps")
    for n in range(1, 7):
        if n > 1:
            assert api.wait_for_requests(lambda r: r.watch and r.status == 500, n - 1, WAIT)
        assert clock.wait_for_waiters(1, WAIT)
        delays = stack.source.watch_stats()["configmap"].reconnect_delays
        assert len(delays) == n
        clock.advance(delays[-1])
    ceilings = [backoff.ceiling(n) for n in range(6)]
    assert ceilings == [1.0, 2.0, 4.0, 4.0, 4.0, 4.0]
    assert all(0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert max(delays[2:]) > backoff.initial_delay_seconds
    assert len({d / c for d, c in zip(delays, ceilings, strict=True)}) == len(delays)
    assert api.wait_for_requests(lambda r: r.watch and r.status == 500, 6, WAIT)
    api.clear_faults()
    assert clock.wait_for_waiters(1, WAIT)  # the 7th delay
    stack.write(interval_document(70))
    clock.advance(backoff.max_delay_seconds)
    assert stack.listener.wait_applied(lambda c: interval_of(c) == 70)


# -- event storm -----------------------------------------------------------------------------


def test_an_update_storm_with_a_failing_listener_posts_a_handful_of_events(
    build: Callable[..., Stack], api: KubeAPIServer
) -> None:
    """50 updates while the listener keeps failing with the same error: a handful of Event
    requests at most, the repeats folded into counts."""
    failing = {n: RuntimeError("disk full") for n in range(2, 1000)}
    stack = build(listener=WatchingListener(fail_on=failing))
    last = 0
    for n in range(1, 51):
        last = stack.write(interval_document(100 + n))
    assert stack.source.wait_for_version(last, timeout=WAIT)
    assert stack.outcomes.wait_for(lambda o: o.kind == "failed" and o.revision >= 2)
    assert stack.sink.wait_idle(WAIT)
    failed = stack.events("ConfigApplyFailed")
    assert len(failed) == 1
    assert failed[0]["message"].startswith("Failed to apply config(listener ")
    assert failed[0]["message"].endswith(": RuntimeError: disk full)")
    event_requests = [r for r in api.requests if r.path.startswith(EVENTS_PATH)]
    assert len(event_requests) <= 6
    stats = stack.sink.stats()
    assert failed[0]["count"] == stats.aggregated + 1
