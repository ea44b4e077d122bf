"""Fixtures of the Kubernetes source tests: an in-process API server and fast settings.

Every test here runs against ``kubeapi.KubeAPIServer`` (tests/kubeapi) on 127.0.0.1, with
settings that shrink delays and timeouts so failures surface in milliseconds, not minutes.

Where lightkube is not installed (the free-threaded CPython 3.13 of ``make test-ft``: nodeconf
no longer uses msgspec, but lightkube 1.0.1 imports it for its configuration classes, and
msgspec builds for free threading only from Python 3.14) these modules are not collected at
all: importing them would fail before any marker could deselect them.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubeapi import KubeAPIServer

HAVE_LIGHTKUBE = importlib.util.find_spec("lightkube") is not None

#: Not collected without lightkube (see the module docstring for why that happens).
collect_ignore_glob = [] if HAVE_LIGHTKUBE else ["test_*.py", "kube_helpers.py"]

# The same values as kube_helpers (which imports lightkube, so it cannot be imported here).
NAMESPACE = "volcano-system"
NODE = "node-a"


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
