"""Fixtures for the fake API server's own tests.

``server``: a started ``KubeAPIServer``, stopped at teardown; the test fails if a handler
raised an unexpected exception. ``cm``: builds a ConfigMap manifest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kubeapi import KubeAPIServer

CM_PATH = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
def server() -> Iterator[KubeAPIServer]:
    """A running server; stopped (threads joined) after the test."""
    srv = KubeAPIServer()
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
    assert srv.errors == []


def make_cm(
    name: str,
    data: dict[str, str] | None = None,
    *,
    namespace: str = "default",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A ConfigMap manifest."""
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels is not None:
        metadata["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data or {}}


@pytest.fixture
def cm() -> Callable[..., dict[str, Any]]:
    """The ``make_cm`` builder."""
    return make_cm
