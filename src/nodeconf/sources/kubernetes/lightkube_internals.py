"""The two lightkube internals nodeconf relies on, and nothing else of lightkube's insides.

What the adapter takes from lightkube beyond its public API (``Client``, ``Client.config``,
``Client.namespace``, ``KubeConfig``, ``SingleConfig``), kept to these two names and pinned by
``tests/kubernetes/test_kube_lightkube_contract.py``, which fails with a message naming the
internal when a lightkube upgrade changes it:

* ``lightkube.config.client_adapter.ConnectionParams(timeout=...).httpx_params(config)``: the
  keyword arguments of an ``httpx2.Client`` for a configuration (what lightkube's own
  ``Client`` is built from), so our clients authenticate exactly as lightkube does
  (``http_params``);
* ``Client._client._client``: the ``httpx2.Client`` inside a lightkube ``Client`` that a
  caller hands us (``KubeClient(client)``), so its transport, proxy and pool are honoured
  (``http_client_of``).

This is the only nodeconf module that imports from lightkube's submodules.

Thread-safety: pure functions; any thread.
"""

from __future__ import annotations

from typing import Any

import httpx2
from lightkube import Client as LightkubeClient
from lightkube import SingleConfig
from lightkube.config.client_adapter import ConnectionParams

from nodeconf.sources.kubernetes.apierrors import config_error

__all__ = ["http_client_of", "http_params"]


def http_params(
    config: SingleConfig, kubeconfig: str | None, request_timeout_seconds: float
) -> dict[str, Any]:
    """The keyword arguments of an ``httpx2.Client`` for ``config``, as lightkube's ``Client``
    builds its own (server URL, TLS verification, authentication). lightkube internal: see the
    module docstring."""
    try:
        params = ConnectionParams(timeout=httpx2.Timeout(request_timeout_seconds))
        return dict(params.httpx_params(config))
    except Exception as exc:  # lightkube raises ConfigError, AssertionError, OSError
        raise config_error(kubeconfig, exc) from exc


def http_client_of(client: LightkubeClient) -> httpx2.Client:
    """The ``httpx2.Client`` inside a lightkube ``Client``. lightkube internal: see the module
    docstring."""
    http = getattr(getattr(client, "_client", None), "_client", None)
    if not isinstance(http, httpx2.Client):
        raise TypeError(
            "cannot find the httpx2.Client inside this lightkube Client (Client._client._client"
            f" is {type(http).__name__}); this lightkube version is not supported: pass "
            "KubeClient.connect(...) instead"
        )
    return http
