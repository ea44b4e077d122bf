"""PodConditionPublisher: the ConfigApplied condition on the agent's pod, paced and merged."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from tests.kubernetes.kube_helpers import NAMESPACE, POD, WAIT

from kubeapi import Fault, KubeAPIServer
from nodeconf import ConfigManager, Fallback, Outcome, Reject, Started
from nodeconf.concurrency.clock import FakeClock
from nodeconf.concurrency.latch import Latch
from nodeconf.model.colocation import COLOCATION
from nodeconf.sources.kubernetes import (
    CONDITION_TYPE,
    BackoffSettings,
    KubeClient,
    PodConditionPublisher,
    PodConditionSettings,
)
from nodeconf.sources.kubernetes.podstatus import (
    ConfigState,
    compute_state,
    config_hash,
    format_message,
    parse_message,
)
from nodeconf.testing import StaticSource

pytestmark = pytest.mark.kubernetes

KUBELET = [
    {"type": "Initialized", "status": "True"},
    {"type": "Ready", "status": "True"},
]
JITTER = 2.0


def doc(interval: int) -> str:
    return json.dumps({"globalConfig": {"networkQosConfig": {"qosCheckInterval": interval}}})


INVALID = json.dumps({"globalConfig": {"cpuQosConfig": {"enable": "yes"}}})


@pytest.fixture
def pod(api: KubeAPIServer) -> dict[str, Any]:
    return api.create(
        {
            "kind": "Pod",
            "metadata": {"name": POD, "namespace": NAMESPACE},
            "spec": {"nodeName": "node-a"},
            "status": {"phase": "Running", "conditions": KUBELET},
        }
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=0.0, wall_start=1_790_000_000.0)


@pytest.fixture
def client(kubeconfig: str) -> Iterator[KubeClient]:
    c = KubeClient.connect(kubeconfig, request_timeout_seconds=WAIT)
    yield c
    c.close()


@pytest.fixture
def publisher(
    client: KubeClient, clock: FakeClock, pod: dict[str, Any]
) -> Iterator[PodConditionPublisher]:
    settings = PodConditionSettings(
        jitter_seconds=JITTER,
        backoff=BackoffSettings(initial_delay_seconds=1.0, max_delay_seconds=4.0),
    )
    p = PodConditionPublisher(
        namespace=NAMESPACE,
        pod_name=POD,
        client=client,
        clock=clock,
        settings=settings,
        rng=random.Random(7),
    )
    yield p
    assert p.close(WAIT)


def start(
    publisher: PodConditionPublisher, source: StaticSource, *listeners: Any
) -> ConfigManager[Any]:
    manager: ConfigManager[Any] = ConfigManager(source, sink=publisher)
    publisher.bind(manager)
    for listener in listeners:
        manager.add_listener(listener)
    manager.start(WAIT)
    assert manager.wait_idle(WAIT)
    return manager


def flush(publisher: PodConditionPublisher, clock: FakeClock) -> None:
    """Let the planned write happen: wait until it is planned, then pass its due time."""
    before = publisher.stats().attempts
    due = publisher.scheduled(WAIT)
    assert due is not None
    clock.set(max(clock.now(), due))
    assert publisher.wait_stats(lambda stats: stats.attempts > before, WAIT)


def conditions(api: KubeAPIServer) -> list[dict[str, Any]]:
    pod = api.get("pods", POD, NAMESPACE)
    assert pod is not None
    return list(pod["status"]["conditions"])


def ours(api: KubeAPIServer) -> dict[str, Any]:
    found = [c for c in conditions(api) if c["type"] == CONDITION_TYPE]
    assert len(found) == 1
    return found[0]


def status_patches(api: KubeAPIServer) -> int:
    return sum(1 for r in api.requests if r.method == "PATCH" and r.path.endswith("/status"))


def test_message_round_trips_through_its_stable_form() -> None:
    """``parse_message`` reads back every field of ``format_message``, spaces included."""
    message = format_message(3, "ab" * 32, "1234", "listener x: boom  now")
    assert (
        message == f"revision=3 sha256={'ab' * 32} resourceVersion=1234 reason=listener x: boom now"
    )
    assert parse_message(message) == {
        "revision": "3",
        "sha256": "ab" * 32,
        "resourceVersion": "1234",
        "reason": "listener x: boom now",
    }
    assert parse_message("Successfully applied config") is None


def test_applied_state_is_written_once_after_the_jitter(
    api: KubeAPIServer, publisher: PodConditionPublisher, clock: FakeClock
) -> None:
    """Once every listener holds the config: True/Applied with its hash, within the jitter."""
    manager = start(publisher, StaticSource(doc(7)), lambda config: None)
    try:
        due = publisher.scheduled(WAIT)
        assert due is not None
        assert 0.0 <= due <= JITTER
        assert status_patches(api) == 0  # nothing before the jitter has passed
        flush(publisher, clock)
        condition = ours(api)
        current = manager.current
        assert current is not None
        fields = parse_message(condition["message"])
        assert fields is not None
        assert (condition["status"], condition["reason"]) == ("True", "Applied")
        assert fields["revision"] == "1"
        assert fields["sha256"] == config_hash(manager.schema, current.config)
        assert fields["resourceVersion"] == manager.status().document_version
        assert conditions(api)[:2] == KUBELET
        assert publisher.stats().written == 1
    finally:
        manager.stop(WAIT)


def test_a_burst_coalesces_and_an_unchanged_state_is_not_written(
    api: KubeAPIServer, publisher: PodConditionPublisher, clock: FakeClock
) -> None:
    """Edits inside one jitter window cost one write; re-publishing the same state none."""
    source = StaticSource(doc(1))
    manager = start(publisher, source, lambda config: None)
    try:
        for n in (2, 3, 4):
            source.set_document(doc(n))
            assert manager.wait_idle(WAIT)
        flush(publisher, clock)
        assert status_patches(api) == 1
        assert parse_message(ours(api)["message"])["revision"] == "4"  # type: ignore[index]
        publisher.emit(Outcome("synced", revision=4))  # an outcome that changes nothing
        flush(publisher, clock)
        assert status_patches(api) == 1
        assert publisher.stats().unchanged >= 1
    finally:
        manager.stop(WAIT)


def test_invalid_document_and_rejecting_listener_are_published(
    api: KubeAPIServer, publisher: PodConditionPublisher, clock: FakeClock
) -> None:
    """An invalid document is False/InvalidDocument; a Reject is False/ListenerRejected."""
    source = StaticSource(doc(1))

    def picky(config: Any) -> None:
        if config.to_json()["networkQosConfig"]["qosCheckInterval"] == 9:
            raise Reject("interval 9 is not supported here")

    manager = start(publisher, source, picky)
    try:
        flush(publisher, clock)
        source.set_document(INVALID)
        assert manager.wait_idle(WAIT)
        flush(publisher, clock)
        condition = ours(api)
        assert (condition["status"], condition["reason"]) == ("False", "InvalidDocument")
        assert "cpuQosConfig" in condition["message"]
        source.set_document(doc(9))
        assert manager.wait_idle(WAIT)
        flush(publisher, clock)
        condition = ours(api)
        assert (condition["status"], condition["reason"]) == ("False", "ListenerRejected")
        assert "interval 9 is not supported here" in condition["message"]
        assert conditions(api)[:2] == KUBELET
    finally:
        manager.stop(WAIT)


def test_failed_writes_are_retried_with_backoff_and_converge(
    api: KubeAPIServer, publisher: PodConditionPublisher, clock: FakeClock
) -> None:
    """500s on the status PATCH are retried after the backoff; the latest state wins."""
    api.inject(Fault(method="PATCH", path_contains="/status", status=500, times=2))
    source = StaticSource(doc(1))
    manager = start(publisher, source, lambda config: None)
    try:
        flush(publisher, clock)  # first attempt: 500
        source.set_document(doc(2))  # a newer state while the retry waits
        assert manager.wait_idle(WAIT)
        flush(publisher, clock)  # second attempt: 500
        flush(publisher, clock)  # third: written
        assert publisher.stats().failed == 2
        assert publisher.stats().written == 1
        condition = ours(api)
        assert condition["reason"] == "Applied"
        assert parse_message(condition["message"])["revision"] == "2"  # type: ignore[index]
        assert conditions(api)[:2] == KUBELET
    finally:
        manager.stop(WAIT)


def test_pending_before_any_config() -> None:
    """A manager with no effective config yet (and no error) is False/Pending, revision 0."""
    manager: ConfigManager[Any] = ConfigManager(StaticSource(doc(1)))
    state = compute_state(manager.status(), manager.current, manager.schema)
    assert state == ConfigState(False, "Pending", 0, "", "", "no effective config yet")


def test_a_restored_config_is_pending_with_the_persisted_revision() -> None:
    """While the fallback restored at start is in force, the condition is False/Pending and
    carries the persisted revision and resourceVersion, with the restored config's hash."""
    source = _UnsyncedSource(doc(1))
    manager: ConfigManager[Any] = ConfigManager(source)
    config = COLOCATION.evaluate(COLOCATION.parse(doc(2)), {}).config
    fallback = Fallback(config, after_seconds=0.0, revision=9, document_version="77", origin="x")
    try:
        assert manager.start(WAIT, fallback=fallback) is Started.RESTORED
        state = compute_state(manager.status(), manager.current, manager.schema)
    finally:
        manager.stop(WAIT)
    expected_hash = config_hash(COLOCATION, config)
    text = "restored from x; waiting for the live document"
    assert state == ConfigState(False, "Pending", 9, expected_hash, "77", text)


class _UnsyncedSource(StaticSource):
    """A StaticSource that never has a first complete state until cancelled (an outage)."""

    def __init__(self, document: Any) -> None:
        super().__init__(document)
        self._gone = Latch()

    def wait_synced(self, timeout: float | None) -> bool:
        return self._gone.wait(timeout)

    def cancel(self) -> None:
        self._gone.cancel()


def test_an_error_computing_the_state_is_logged_and_retried(
    api: KubeAPIServer, publisher: PodConditionPublisher, clock: FakeClock
) -> None:
    """A manager whose status cannot be read does not end the writer: it retries later."""

    class Broken:
        schema = None
        current = None

        def status(self) -> Any:
            raise RuntimeError("status unavailable")

    publisher.bind(Broken())  # type: ignore[arg-type]
    publisher.emit(Outcome("synced", revision=1))
    due = publisher.scheduled(WAIT)
    assert due is not None
    clock.set(due)
    assert publisher.wait_stats(lambda stats: stats.failed == 1, WAIT)
    retry = publisher.scheduled(WAIT)
    assert retry is not None
    assert retry > due
    assert status_patches(api) == 0
