"""Preparing the ConfigMap at start: create, backfill, never overwrite an admin's edit."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from lightkube import Client as LightkubeClient
from lightkube import KubeConfig
from tests.kubernetes.kube_helpers import (
    CONFIGMAP,
    KEY,
    NAMESPACE,
    NODE,
    WAIT,
    RecordingTransport,
    configmap,
    fast_settings,
)

from kubeapi import Fault, KubeAPIServer
from nodeconf.concurrency.clock import FakeClock
from nodeconf.errors import SourceError
from nodeconf.model import COLOCATION, default_document_text
from nodeconf.sources.kubernetes import KubeClient, KubernetesSource

pytestmark = pytest.mark.kubernetes

#: An administrator's document: a globalConfig without the two backfilled sections, an
#: override, and a key nodeconf does not know.
ADMIN_DOC = json.dumps(
    {
        "globalConfig": {"cpuQosConfig": {"enable": True}},
        "nodesConfig": [
            {"selector": {"matchLabels": {"pool": "a"}}, "cpuBurstConfig": {"enable": True}}
        ],
        "x-team-note": "keep me",
    }
)
CM_PATH = f"/namespaces/{NAMESPACE}/configmaps"


def stored(api: KubeAPIServer) -> dict[str, object]:
    obj = api.get("configmaps", CONFIGMAP, NAMESPACE)
    assert obj is not None
    return json.loads(obj["data"][KEY])


def make_source(kubeconfig: str, **kwargs: object) -> KubernetesSource:
    kwargs.setdefault("settings", fast_settings())
    return KubernetesSource(namespace=NAMESPACE, node_name=NODE, kubeconfig=kubeconfig, **kwargs)  # type: ignore[arg-type]


def advance_after_each_failure(api: KubeAPIServer, clock: FakeClock, failures: int) -> None:
    """Let prepare's retry pause pass on the fake clock after each of ``failures`` GETs.

    The n-th GET being logged proves the worker left its previous pause, so the waiter seen
    next is the new pause (never a stale one)."""
    for n in range(1, failures + 1):
        assert api.wait_for_requests(lambda r: r.method == "GET" and CM_PATH in r.path, n, WAIT)
        assert clock.wait_for_waiters(1, WAIT)
        clock.advance(0.2)


@pytest.fixture
def transport() -> Iterator[RecordingTransport]:
    t = RecordingTransport()
    yield t
    t.close()


@pytest.fixture
def traced_client(kubeconfig: str, transport: RecordingTransport) -> Iterator[LightkubeClient]:
    """A lightkube client whose requests go through ``transport``."""
    client = LightkubeClient(KubeConfig.from_file(kubeconfig), transport=transport)
    yield client
    client.close()


def test_missing_configmap_is_created_with_the_default(api: KubeAPIServer, kubeconfig: str) -> None:
    """No ConfigMap: prepare creates it holding the default document, byte for byte."""
    src = make_source(kubeconfig)
    src.prepare(COLOCATION, WAIT)
    obj = api.get("configmaps", CONFIGMAP, NAMESPACE)
    assert obj is not None
    assert obj["data"] == {KEY: default_document_text()}
    assert src.stop(WAIT)


def test_backfill_keeps_every_admin_field(api: KubeAPIServer, kubeconfig: str) -> None:
    """Missing sections are added; overrides, unknown keys and other data keys survive."""
    api.create(configmap(ADMIN_DOC, other="untouched"))
    src = make_source(kubeconfig)
    src.prepare(COLOCATION, WAIT)
    doc = stored(api)
    assert doc["x-team-note"] == "keep me"
    assert doc["nodesConfig"] == json.loads(ADMIN_DOC)["nodesConfig"]
    assert doc["globalConfig"]["cpuQosConfig"] == {"enable": True}  # type: ignore[index]
    assert set(doc["globalConfig"]) >= {"overSubscriptionConfig", "evictingConfig"}  # type: ignore[arg-type]
    assert api.get("configmaps", CONFIGMAP, NAMESPACE)["data"]["other"] == "untouched"  # type: ignore[index]
    assert src.stop(WAIT)


def test_complete_document_is_not_written(api: KubeAPIServer, kubeconfig: str) -> None:
    """A document that needs nothing is left alone: one GET, no write."""
    api.create(configmap(default_document_text()))
    api.clear_requests()
    src = make_source(kubeconfig)
    src.prepare(COLOCATION, WAIT)
    assert [r.method for r in api.requests] == ["GET"]
    assert src.stop(WAIT)


def test_backfill_is_a_conditional_put(
    api: KubeAPIServer, traced_client: LightkubeClient, transport: RecordingTransport
) -> None:
    """The write-back carries the resourceVersion that was read (compare-and-swap)."""
    created = api.create(configmap(ADMIN_DOC))
    src = KubernetesSource(
        namespace=NAMESPACE, node_name=NODE, client=traced_client, settings=fast_settings()
    )
    src.prepare(COLOCATION, WAIT)
    (put,) = transport.bodies("PUT")
    assert put["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert src.stop(WAIT)


def test_concurrent_admin_edit_is_never_overwritten(
    api: KubeAPIServer, traced_client: LightkubeClient, transport: RecordingTransport
) -> None:
    """An admin edit landing between our read and our write makes the PUT conflict (409);
    prepare re-reads and backfills on top of the admin's edit."""
    api.create(configmap(ADMIN_DOC))
    edited = json.loads(ADMIN_DOC)
    edited["globalConfig"]["cpuBurstConfig"] = {"enable": True}

    def admin_edits() -> None:
        api.patch("configmaps", CONFIGMAP, {"data": {KEY: json.dumps(edited)}}, namespace=NAMESPACE)

    transport.before("PUT", CM_PATH, admin_edits)
    src = KubernetesSource(
        namespace=NAMESPACE, node_name=NODE, client=traced_client, settings=fast_settings()
    )
    src.prepare(COLOCATION, WAIT)
    doc = stored(api)
    assert doc["globalConfig"]["cpuBurstConfig"] == {"enable": True}  # type: ignore[index]
    assert "evictingConfig" in doc["globalConfig"]  # type: ignore[operator]
    conflicts = [r for r in api.requests if r.method == "PUT" and r.status == 409]
    assert len(conflicts) == 1
    assert src.stop(WAIT)


def test_concurrent_create_by_another_agent_counts_as_success(
    api: KubeAPIServer, traced_client: LightkubeClient, transport: RecordingTransport
) -> None:
    """Another agent creating the ConfigMap between our GET and our POST (409 AlreadyExists)
    is success: prepare re-reads it and finds nothing to do."""

    def other_agent_creates() -> None:
        api.create(configmap(default_document_text()))

    transport.before("POST", CM_PATH, other_agent_creates)
    src = KubernetesSource(
        namespace=NAMESPACE, node_name=NODE, client=traced_client, settings=fast_settings()
    )
    src.prepare(COLOCATION, WAIT)
    statuses = [(r.method, r.status) for r in api.requests if CM_PATH in r.path]
    assert statuses == [("GET", 404), ("POST", 409), ("GET", 200)]
    assert src.stop(WAIT)


def test_errors_are_retried_every_interval(api: KubeAPIServer, kubeconfig: str) -> None:
    """A run of 500s is retried every prepare_retry_interval_seconds (on the clock) until it
    works."""
    clock = FakeClock()
    api.inject(Fault(method="GET", path_contains=CM_PATH, status=500, times=3))
    src = make_source(
        kubeconfig,
        clock=clock,
        settings=fast_settings(prepare_retry_interval_seconds=0.2, prepare_timeout_seconds=60.0),
    )
    done = threading.Event()
    worker = threading.Thread(
        target=lambda: (src.prepare(COLOCATION, None), done.set()), name="t-prep"
    )
    worker.start()
    advance_after_each_failure(api, clock, failures=3)
    worker.join(WAIT)
    assert done.is_set()
    assert api.get("configmaps", CONFIGMAP, NAMESPACE) is not None
    assert src.stop(WAIT)


def prepare_failing_forever(
    api: KubeAPIServer, kubeconfig: str, *, status: int, prepare_timeout_seconds: float
) -> tuple[KubernetesSource, FakeClock, threading.Thread, list[BaseException]]:
    """Every ConfigMap GET answers ``status``; ``prepare`` runs on a started thread, paced by
    the returned fake clock; the ``SourceError`` it ends with lands in the returned list."""
    clock = FakeClock()
    api.inject(Fault(method="GET", path_contains=CM_PATH, status=status, times=None))
    src = make_source(
        kubeconfig,
        clock=clock,
        settings=fast_settings(
            prepare_retry_interval_seconds=0.2, prepare_timeout_seconds=prepare_timeout_seconds
        ),
    )
    errors: list[BaseException] = []

    def run() -> None:
        try:
            src.prepare(COLOCATION, None)
        except SourceError as exc:
            errors.append(exc)

    worker = threading.Thread(target=run, name="t-prep")
    worker.start()
    return src, clock, worker, errors


def test_gives_up_after_the_prepare_timeout(api: KubeAPIServer, kubeconfig: str) -> None:
    """Errors past the deadline raise SourceError carrying the last error."""
    src, clock, worker, errors = prepare_failing_forever(
        api, kubeconfig, status=503, prepare_timeout_seconds=0.5
    )
    advance_after_each_failure(api, clock, failures=2)
    worker.join(WAIT)
    assert len(errors) == 1
    assert "503" in str(errors[0])
    assert "after 3 attempt(s)" in str(errors[0])
    assert src.stop(WAIT)


def test_cancel_ends_the_retries_and_one_failure_is_logged_once(
    api: KubeAPIServer, kubeconfig: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An API server answering 500 forever: prepare says why once (not at every attempt),
    and cancel() from another thread (a manager stopped during start) ends its retries
    with SourceError, without waiting for the prepare timeout."""
    caplog.set_level("WARNING", logger="nodeconf.sources.kubernetes")
    src, clock, worker, errors = prepare_failing_forever(
        api, kubeconfig, status=500, prepare_timeout_seconds=60.0
    )
    advance_after_each_failure(api, clock, failures=3)
    assert api.wait_for_requests(lambda r: r.method == "GET" and CM_PATH in r.path, 4, WAIT)
    assert clock.wait_for_waiters(1, WAIT)  # in its fourth pause
    src.cancel()
    worker.join(WAIT)
    assert not worker.is_alive()
    assert len(errors) == 1
    assert "cancelled" in str(errors[0])
    said = [r.getMessage() for r in caplog.records if "cannot prepare ConfigMap" in r.getMessage()]
    assert len(said) == 1
    assert "500" in said[0]
    assert "(attempt 1)" in said[0]
    with pytest.raises(SourceError, match="cancelled"):
        src.prepare(COLOCATION, None)  # later ones end at once
    assert src.stop(WAIT)


def test_unreadable_document_is_left_alone(api: KubeAPIServer, kubeconfig: str) -> None:
    """A broken document is not rewritten and does not block start-up."""
    api.create(configmap("{not json"))
    src = make_source(kubeconfig)
    src.prepare(COLOCATION, WAIT)
    assert api.get("configmaps", CONFIGMAP, NAMESPACE)["data"][KEY] == "{not json"  # type: ignore[index]
    assert not [r for r in api.requests if r.method == "PUT"]
    assert src.stop(WAIT)


def test_prepare_false_makes_no_request(api: KubeAPIServer, kubeconfig: str) -> None:
    """prepare=False skips the step entirely."""
    api.clear_requests()
    src = make_source(kubeconfig, prepare=False)
    src.prepare(COLOCATION, WAIT)
    assert api.requests == []
    assert api.get("configmaps", CONFIGMAP, NAMESPACE) is None
    assert src.stop(WAIT)


def test_injected_kube_client_is_used(api: KubeAPIServer, kubeconfig: str) -> None:
    """A KubeClient passed as client= is the one prepare talks through."""
    client = KubeClient.connect(kubeconfig)
    src = KubernetesSource(
        namespace=NAMESPACE, node_name=NODE, client=client, settings=fast_settings()
    )
    src.prepare(COLOCATION, WAIT)
    assert api.get("configmaps", CONFIGMAP, NAMESPACE) is not None
    assert src.stop(WAIT)
    client.close()
