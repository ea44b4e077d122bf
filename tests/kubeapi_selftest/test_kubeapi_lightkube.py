"""Smoke test with lightkube's sync client: what the Kubernetes source will rely on."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeapi import Fault, KubeAPIServer

pytestmark = pytest.mark.kubernetes

lightkube = pytest.importorskip(
    "lightkube", reason="lightkube is an optional dependency (not on free-threaded 3.13)"
)
from lightkube import ApiError, Client, KubeConfig  # noqa: E402
from lightkube.models.meta_v1 import ObjectMeta  # noqa: E402
from lightkube.resources.core_v1 import ConfigMap  # noqa: E402


@pytest.fixture
def client(server: KubeAPIServer, tmp_path: Path) -> Client:
    """A lightkube client configured from the server's kubeconfig."""
    kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig", namespace="agents")
    with Client(config=KubeConfig.from_file(kubeconfig)) as lk:
        yield lk


def test_lightkube_get_list_and_watch_a_configmap(server: KubeAPIServer, client: Client) -> None:
    """lightkube creates, gets, lists (with field selector) and watches a ConfigMap from the
    list's resourceVersion, seeing a later change as MODIFIED."""
    client.create(ConfigMap(metadata=ObjectMeta(name="cfg"), data={"k": "1"}))
    assert client.get(ConfigMap, "cfg").data == {"k": "1"}
    listed = client.list(ConfigMap, fields={"metadata.name": "cfg"})
    assert [c.metadata.name for c in listed] == ["cfg"]
    since = listed.resourceVersion
    server.patch("configmaps", "cfg", {"data": {"k": "2"}}, namespace="agents")
    stream = client.watch(
        ConfigMap, fields={"metadata.name": "cfg"}, resource_version=since, server_timeout=5
    )
    for event_type, obj in stream:
        assert (event_type, obj.data) == ("MODIFIED", {"k": "2"})
        assert obj.metadata.resourceVersion == str(server.resource_version)
        break


def test_lightkube_sees_an_expired_error_event_as_api_error_410(
    server: KubeAPIServer, client: Client
) -> None:
    """The 410 ERROR event reaches lightkube as ``ApiError`` with code 410."""
    client.create(ConfigMap(metadata=ObjectMeta(name="cfg")))
    client.patch(ConfigMap, "cfg", {"data": {"k": "2"}})
    server.compact()
    with pytest.raises(ApiError) as excinfo:
        for _ in client.watch(ConfigMap, resource_version="1"):
            pass
    assert (excinfo.value.status.code, excinfo.value.status.reason) == (410, "Expired")


def test_lightkube_gets_429_with_retry_after(server: KubeAPIServer, client: Client) -> None:
    """An injected 429 reaches lightkube as ``ApiError`` whose response has Retry-After."""
    server.inject(Fault(status=429, retry_after_seconds=2))
    with pytest.raises(ApiError) as excinfo:
        client.get(ConfigMap, "cfg")
    assert excinfo.value.status.code == 429
    assert excinfo.value.response.headers["Retry-After"] == "2"


def test_lightkube_update_with_stale_version_is_conflict(
    server: KubeAPIServer, client: Client
) -> None:
    """``replace`` with a stale resourceVersion raises ``ApiError`` 409 Conflict."""
    created = client.create(ConfigMap(metadata=ObjectMeta(name="cfg"), data={"k": "1"}))
    server.patch("configmaps", "cfg", {"data": {"k": "2"}}, namespace="agents")
    created.data = {"k": "3"}
    with pytest.raises(ApiError) as excinfo:
        client.replace(created)
    assert (excinfo.value.status.code, excinfo.value.status.reason) == (409, "Conflict")
