"""A generic (JSON Schema) config through the Kubernetes source, against the in-process API
server: prepare creates the ConfigMap with the schema's default document, edits and relabels
reach the listener, an invalid edit keeps the last known good."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from tests.kubernetes.kube_helpers import (
    NAMESPACE,
    NODE,
    WAIT,
    WatchingListener,
    fast_settings,
)

from generic_e2e.genkit import SCHEMA, GpuConfig, Outcomes, gpu_document
from kubeapi import KubeAPIServer
from nodeconf import ConfigManager, JsonSchemaConfig, dataclass_schema
from nodeconf.sources.kubernetes import KubernetesSource

pytestmark = pytest.mark.kubernetes

CONFIGMAP = "gpu-agent"
KEY = "gpu.json"


def put(api: KubeAPIServer, text: str) -> None:
    api.patch("configmaps", CONFIGMAP, {"data": {KEY: text}}, namespace=NAMESPACE)


def cap(config: Any) -> int:
    if isinstance(config, GpuConfig):
        return config.power.cap_watts
    return int(config.to_json()["power"]["cap_watts"])


@pytest.fixture(params=["jsonschema", "dataclass"])
def schema(request: pytest.FixtureRequest) -> Any:
    if request.param == "dataclass":
        return dataclass_schema(GpuConfig)
    return JsonSchemaConfig.from_dict(SCHEMA)


@pytest.fixture
def running(
    api: KubeAPIServer, kubeconfig: str, schema: Any
) -> Iterator[tuple[ConfigManager, WatchingListener, Outcomes]]:
    source = KubernetesSource(
        namespace=NAMESPACE,
        node_name=NODE,
        configmap=CONFIGMAP,
        key=KEY,
        kubeconfig=kubeconfig,
        settings=fast_settings(),
    )
    listener, outcomes = WatchingListener(), Outcomes()
    manager = ConfigManager(source, schema=schema, sink=outcomes)
    manager.add_listener(listener, with_change=True)
    manager.start(timeout=WAIT)
    try:
        yield manager, listener, outcomes
    finally:
        assert manager.stop(WAIT).completed


def test_prepare_creates_the_configmap_with_the_schema_defaults(
    api: KubeAPIServer, running: Any
) -> None:
    """A missing ConfigMap is created with {"globalConfig": <the schema's defaults>}."""
    _, listener, _ = running
    created = api.get("configmaps", CONFIGMAP, NAMESPACE)
    assert created is not None
    assert json.loads(created["data"][KEY]) == {
        "globalConfig": {"power": {"cap_watts": 300, "mode": "eco"}, "devices": []}
    }
    assert listener.wait_applied(lambda c: cap(c) == 300)


def test_edit_invalid_edit_and_relabel(api: KubeAPIServer, running: Any) -> None:
    """Edits apply; an invalid edit keeps the last known good; relabelling the Node to a
    selected pool applies its override."""
    manager, listener, outcomes = running
    put(api, gpu_document(350))
    assert listener.wait_applied(lambda c: cap(c) == 350)
    put(api, gpu_document(9000))
    invalid = outcomes.wait_for("invalid")
    assert [i.path for i in invalid[0].issues] == ["globalConfig.power.cap_watts"]
    assert manager.status().last_known_good_revision == listener.revisions()[-1]
    api.patch("nodes", NODE, {"metadata": {"labels": {"pool": "big"}}})
    put(api, gpu_document(360))
    assert listener.wait_applied(lambda c: cap(c) == 500)
    assert manager.wait_idle(WAIT)
    assert 9000 not in [cap(c) for c in listener.applied]
