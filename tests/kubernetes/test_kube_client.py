"""The lightkube adapter: requests, error mapping, bookmarks, the read watchdog, interrupt."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from lightkube import Client as LightkubeClient
from lightkube import KubeConfig
from lightkube.config.models import Cluster, User
from tests.kubernetes.kube_helpers import CONFIGMAP, NAMESPACE, NODE, WAIT, configmap

from kubeapi import Fault, KubeAPIServer
from nodeconf.errors import SourceError
from nodeconf.sources.kubernetes.apierrors import ApiConnectionError, ApiStatusError
from nodeconf.sources.kubernetes.client import KIND_CONFIGMAPS, KIND_NODES, KubeClient, load_config
from nodeconf.sources.kubernetes.wire import WatchEvent

pytestmark = pytest.mark.kubernetes


@pytest.fixture
def client(kubeconfig: str) -> Iterator[KubeClient]:
    c = KubeClient.connect(kubeconfig, request_timeout_seconds=5.0)
    yield c
    c.close()


def _watch_rv(api: KubeAPIServer) -> str:
    return str(api.resource_version)


def test_get_of_a_missing_object_is_none(client: KubeClient) -> None:
    """GET of an object that does not exist answers None, not an error."""
    assert client.get(KIND_CONFIGMAPS, CONFIGMAP, namespace=NAMESPACE) is None


def test_create_conflict_carries_status_coordinates(api: KubeAPIServer, client: KubeClient) -> None:
    """A 409 AlreadyExists becomes ApiStatusError with code, reason, method and path."""
    api.create(configmap("{}"))
    with pytest.raises(ApiStatusError) as info:
        client.create(KIND_CONFIGMAPS, configmap("{}"), namespace=NAMESPACE)
    err = info.value
    assert (err.code, err.reason, err.method) == (409, "AlreadyExists", "POST")
    assert err.path == f"api/v1/namespaces/{NAMESPACE}/configmaps"
    assert err.conflict
    assert err.temporary


def test_429_carries_retry_after(api: KubeAPIServer, client: KubeClient) -> None:
    """429 Too Many Requests exposes its Retry-After seconds."""
    api.inject(Fault(method="GET", status=429, retry_after_seconds=7))
    with pytest.raises(ApiStatusError) as info:
        client.get(KIND_NODES, NODE)
    assert info.value.code == 429
    assert info.value.retry_after_seconds == 7.0


def test_a_refused_connection_is_an_api_connection_error(tmp_path: object) -> None:
    """Nothing listening: the error is ApiConnectionError (a SourceError), not httpx2's."""
    server = KubeAPIServer().start()
    path = server.write_kubeconfig(f"{tmp_path}/kc")
    server.stop()
    client = KubeClient.connect(str(path), request_timeout_seconds=2.0)
    try:
        with pytest.raises(ApiConnectionError) as info:
            client.get(KIND_NODES, NODE)
        assert isinstance(info.value, SourceError)
        assert "ConnectError" in str(info.value)
    finally:
        client.close()


def test_an_unloadable_kubeconfig_is_a_permanent_source_error(tmp_path: object) -> None:
    """A missing kubeconfig file fails at once with a SourceError saying where it looked."""
    with pytest.raises(SourceError, match="cannot load") as info:
        KubeClient.connect(f"{tmp_path}/nope")
    assert not info.value.temporary


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("clusters: [\n", "while parsing", id="not-yaml"),
        pytest.param("apiVersion: v1\n", "missing field 'clusters'", id="no-clusters"),
    ],
)
def test_a_broken_kubeconfig_is_one_line_naming_the_file(
    tmp_path: Path, text: str, reason: str
) -> None:
    """A kubeconfig that does not parse or lacks a field fails with one line: the file and
    the reason (YAML errors span lines; a KeyError alone would say only 'clusters')."""
    path = tmp_path / "kubeconfig"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError) as info:
        load_config(str(path))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"cannot load a Kubernetes client configuration from {path}: ")
    assert reason in message
    assert not info.value.temporary


def test_list_named_narrows_to_one_object(api: KubeAPIServer, client: KubeClient) -> None:
    """LIST uses a field selector on the name and returns the list's resourceVersion."""
    api.create(configmap("{}"))
    api.create(configmap("{}", name="other"))
    result = client.list_named(KIND_CONFIGMAPS, CONFIGMAP, namespace=NAMESPACE)
    assert [i["metadata"]["name"] for i in result.items] == [CONFIGMAP]
    assert result.resource_version == str(api.resource_version)


def test_watch_requests_bookmarks_and_a_server_timeout(
    api: KubeAPIServer, client: KubeClient
) -> None:
    """Pitfall (no bookmarks option): our WATCH carries allowWatchBookmarks, timeoutSeconds and
    the resourceVersion, and a BOOKMARK comes through with its resourceVersion."""
    rv = _watch_rv(api)
    stream = client.watch_named(
        KIND_NODES, NODE, resource_version=rv, timeout_seconds=77, idle_timeout_seconds=WAIT
    )
    with stream:
        api.create(configmap("{}", name="unrelated"))  # moves the global version on
        api.send_bookmark()
        event = next(iter(stream))
    assert event.type == "BOOKMARK"
    assert event.resource_version == str(api.resource_version)
    watches = [r for r in api.requests if r.watch]
    assert watches[-1].query["allowWatchBookmarks"] == "true"
    assert watches[-1].query["timeoutSeconds"] == "77"
    assert watches[-1].query["resourceVersion"] == rv
    assert watches[-1].query["fieldSelector"] == f"metadata.name={NODE}"


def test_read_watchdog_fails_a_silent_watch(api: KubeAPIServer, client: KubeClient) -> None:
    """Pitfall (read timeout forced off): a watch that sends nothing fails after the idle
    timeout instead of hanging forever."""
    api.inject(Fault(watch=True, silent=True))
    stream = client.watch_named(
        KIND_NODES,
        NODE,
        resource_version=_watch_rv(api),
        timeout_seconds=60,
        idle_timeout_seconds=0.2,
    )
    with stream, pytest.raises(ApiConnectionError, match="ReadTimeout"):
        list(stream)


def test_interrupt_wakes_a_blocked_watch_at_once(api: KubeAPIServer, client: KubeClient) -> None:
    """interrupt() from another thread ends a read blocked on a silent watch immediately."""
    api.inject(Fault(watch=True, silent=True))
    fork = client.fork()
    stream = fork.watch_named(
        KIND_NODES,
        NODE,
        resource_version=_watch_rv(api),
        timeout_seconds=60,
        idle_timeout_seconds=60.0,
    )
    errors: list[BaseException] = []
    reading = threading.Event()

    def read() -> None:
        reading.set()
        try:
            list(stream)
        except ApiConnectionError as exc:
            errors.append(exc)

    reader = threading.Thread(target=read, name="test-reader")
    reader.start()
    assert reading.wait(WAIT)
    fork.interrupt()
    reader.join(WAIT)
    stream.close()
    fork.close()
    assert not reader.is_alive()
    assert len(errors) == 1


def test_an_interrupted_client_refuses_new_requests(client: KubeClient) -> None:
    """After interrupt() a fork fails every later request at once; its parent is unaffected."""
    fork = client.fork()
    fork.interrupt()
    with pytest.raises(ApiConnectionError, match="interrupted"):
        fork.get(KIND_NODES, NODE)
    fork.close()
    assert client.get(KIND_NODES, NODE) is not None


def test_watch_410_status_is_gone(api: KubeAPIServer, client: KubeClient) -> None:
    """A watch refused with HTTP 410 raises ApiStatusError(gone) at open time."""
    api.expired_watch_mode = "status"
    old = _watch_rv(api)
    api.create(configmap("{}", name="a"))
    api.compact()
    with pytest.raises(ApiStatusError) as info:
        client.watch_named(
            KIND_NODES, NODE, resource_version=old, timeout_seconds=60, idle_timeout_seconds=WAIT
        )
    assert info.value.gone


def test_watch_410_event_is_an_error_event(api: KubeAPIServer, client: KubeClient) -> None:
    """A watch from a compacted version yields an ERROR event carrying a 410 Status."""
    old = _watch_rv(api)
    api.create(configmap("{}", name="a"))
    api.compact()
    with client.watch_named(
        KIND_NODES, NODE, resource_version=old, timeout_seconds=60, idle_timeout_seconds=WAIT
    ) as stream:
        first: WatchEvent = next(iter(stream))
    assert first.type == "ERROR"
    assert first.object["code"] == 410


def _lightkube_on(handler: object) -> LightkubeClient:
    config = KubeConfig.from_one(
        cluster=Cluster(server="http://127.0.0.1:9"), user=User(token="t"), namespace=NAMESPACE
    )
    return LightkubeClient(config, transport=httpx2.MockTransport(handler))  # type: ignore[arg-type]


def test_a_stale_keep_alive_connection_is_retried_once_for_gets() -> None:
    """A GET whose pooled connection the server had already closed ("disconnected without
    sending a response") is sent again at once, as Go's client does; it succeeds."""
    attempts: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        attempts.append(request.method)
        if len(attempts) == 1:
            raise httpx2.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx2.Response(200, json={"metadata": {"name": NODE}})

    client = KubeClient(_lightkube_on(handler))
    assert client.get(KIND_NODES, NODE) == {"metadata": {"name": NODE}}
    assert attempts == ["GET", "GET"]


def test_writes_are_not_retried_on_a_stale_connection() -> None:
    """A POST that may or may not have reached the server is not sent twice."""
    attempts: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        attempts.append(request.method)
        raise httpx2.RemoteProtocolError("Server disconnected without sending a response.")

    client = KubeClient(_lightkube_on(handler))
    with pytest.raises(ApiConnectionError, match="RemoteProtocolError"):
        client.create(KIND_CONFIGMAPS, configmap("{}"), namespace=NAMESPACE)
    assert attempts == ["POST"]
