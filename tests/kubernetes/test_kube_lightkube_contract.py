"""Contract: the lightkube internals the Kubernetes adapter relies on (``lightkube_internals``).

The adapter uses lightkube's public API (``Client``, ``Client.config``, ``Client.namespace``,
``KubeConfig``, ``SingleConfig``) and exactly two internals (see the module docstring of
``nodeconf.sources.kubernetes.lightkube_internals``). Each test here pins one of them and fails
with a message that names it, so a lightkube upgrade that changes one is caught here rather
than as a puzzling failure elsewhere.
nodeconf itself no longer imports msgspec: a test checks that too.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.metadata
from pathlib import Path

import httpx2
import pytest
from lightkube import Client as LightkubeClient
from lightkube import KubeConfig
from lightkube.config.models import Cluster, User

from nodeconf.sources.kubernetes.client import KIND_NODES, KubeClient

pytestmark = pytest.mark.kubernetes

SRC = Path(__file__).resolve().parents[2] / "src" / "nodeconf"
UPGRADE = (
    f"lightkube {importlib.metadata.version('lightkube')} changed an internal that "
    "nodeconf.sources.kubernetes.lightkube_internals relies on: "
)


def _config() -> KubeConfig:
    return KubeConfig.from_one(
        cluster=Cluster(server="http://127.0.0.1:9/prefix"),
        user=User(token="secret-token"),
        namespace="agents",
    )


def test_connection_params_builds_httpx2_client_arguments() -> None:
    """``ConnectionParams(timeout=...).httpx_params(config)`` gives ``httpx2.Client`` keyword
    arguments: the server URL, TLS verification and lightkube's authentication."""
    try:
        from lightkube.config.client_adapter import ConnectionParams
    except ImportError as exc:
        pytest.fail(f"{UPGRADE}lightkube.config.client_adapter.ConnectionParams is gone ({exc})")
    assert dataclasses.is_dataclass(ConnectionParams), f"{UPGRADE}ConnectionParams"
    fields = {f.name for f in dataclasses.fields(ConnectionParams)}
    assert {"timeout", "transport"} <= fields, f"{UPGRADE}ConnectionParams fields are {fields}"
    single = _config().get()
    assert single is not None
    params = ConnectionParams(timeout=httpx2.Timeout(3.0)).httpx_params(single)
    assert {"base_url", "verify", "auth"} <= set(params), (
        f"{UPGRADE}ConnectionParams.httpx_params returns {sorted(params)}"
    )
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={})

    with httpx2.Client(**{**params, "transport": httpx2.MockTransport(handler)}) as http:
        http.get("api/v1/nodes")
    (request,) = seen
    assert str(request.url) == "http://127.0.0.1:9/prefix/api/v1/nodes", f"{UPGRADE}base_url"
    assert request.headers.get("Authorization") == "Bearer secret-token", (
        f"{UPGRADE}httpx_params no longer carries the kubeconfig's authentication"
    )


def test_the_httpx2_client_inside_a_lightkube_client_carries_our_requests() -> None:
    """``Client._client._client`` is the ``httpx2.Client`` a lightkube ``Client`` sends on
    (its transport and credentials): ``KubeClient(client)`` sends through it."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={"metadata": {"name": "n"}})

    transport = httpx2.MockTransport(handler)
    lk = LightkubeClient(_config(), transport=transport)  # type: ignore[arg-type]
    inner = getattr(getattr(lk, "_client", None), "_client", None)
    assert isinstance(inner, httpx2.Client), (
        f"{UPGRADE}Client._client._client is {type(inner).__name__}, not an httpx2.Client"
    )
    assert KubeClient(lk).get(KIND_NODES, "n") == {"metadata": {"name": "n"}}
    (request,) = seen
    assert request.url.path == "/prefix/api/v1/nodes/n"
    assert request.headers.get("Authorization") == "Bearer secret-token"


def test_public_configuration_api_gives_namespace_and_config() -> None:
    """The public ``Client.config`` and ``Client.namespace`` are what ``KubeClient`` reads."""
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200))
    lk = LightkubeClient(_config(), transport=transport)  # type: ignore[arg-type]
    assert lk.namespace == "agents"
    assert lk.config.cluster.server == "http://127.0.0.1:9/prefix"
    assert KubeClient(lk).default_namespace == "agents"


def test_nodeconf_does_not_import_msgspec_or_lightkube_internals_elsewhere() -> None:
    """No nodeconf module imports msgspec; only ``lightkube_internals`` imports from
    lightkube's submodules (the others use the top-level ``lightkube`` names)."""
    offenders: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                internal = name.startswith("lightkube.")
                adapter = path.name == "lightkube_internals.py" and path.parent.name == "kubernetes"
                if name.split(".")[0] == "msgspec" or (internal and not adapter):
                    offenders.append(f"{path.relative_to(SRC)}: {name}")
    assert offenders == []
