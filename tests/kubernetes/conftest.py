"""Fixtures of the Kubernetes source tests: an in-process API server and fast settings.

Every test here runs against ``kubeapi.KubeAPIServer`` (tests/kubeapi) on 127.0.0.1, with
settings that shrink delays and timeouts so failures surface in milliseconds, not minutes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.kubernetes.kube_helpers import NAMESPACE, NODE

from kubeapi import KubeAPIServer


@pytest.fixture
def api() -> Iterator[KubeAPIServer]:
    """A running API server holding the agent's Node (no ConfigMap yet)."""
    with KubeAPIServer() as server:
        server.create(
            {
                "kind": "Node",
                "metadata": {"name": NODE, "labels": {"kubernetes.io/hostname": NODE}},
            }
        )
        yield server


@pytest.fixture
def kubeconfig(api: KubeAPIServer, tmp_path: Path) -> str:
    """A kubeconfig file pointing at ``api`` (namespace ``NAMESPACE``)."""
    return str(api.write_kubeconfig(tmp_path / "kubeconfig", namespace=NAMESPACE))
