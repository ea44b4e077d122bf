"""The one adapter between nodeconf and lightkube: plain requests, a watch stream we can abort.

lightkube (1.0.1) gives us configuration loading (kubeconfig file, ``KUBECONFIG``, in-cluster
service account) and, from a configuration, what an HTTP client needs: the server URL, TLS
verification and authentication (token, rotated token file, exec plugin, client
certificates). Its own watch loop is not used: it has no bookmarks option, turns the read
timeout off, mishandles 410 Gone (as a status and as an error event) and lets a refused
reconnect escape its retry handler. Instead this module sends plain requests, on paths it
builds itself (four core/v1 kinds), on ``httpx2`` clients set up the way lightkube sets up
its own. The list-watch loop itself lives in ``listwatch``.

What this adapter promises:

* objects are plain JSON dicts (``wire``), never lightkube models, so an administrator's
  fields we do not know survive a read-modify-write unchanged;
* every failure is one of two ``SourceError`` subclasses (``apierrors``): ``ApiStatusError``
  (the server answered with a non-2xx status; carries ``code``, ``reason``,
  ``retry_after_seconds`` and the request's method and path) or ``ApiConnectionError`` (no
  usable answer: refused, reset, timed out, garbage). Nothing from httpx2 or lightkube
  escapes;
* a ``WatchStream`` (``watchstream``) has a *read* timeout (the watchdog: a connection that
  delivers nothing, not even a bookmark, for ``idle_timeout_seconds`` fails with
  ``ApiConnectionError``);
* ``KubeClient.interrupt`` wakes a thread blocked anywhere in a request of that client (connect
  excepted: bounded by the request timeout) by shutting its sockets down (``connections``),
  which is how ``stop`` is prompt. Each thread that must be woken separately uses its own
  ``fork()``.

The two lightkube internals the adapter relies on are kept in ``lightkube_internals``.

Thread-safety: ``KubeClient`` may be shared by several threads (httpx2's pool locks its own
state); ``interrupt`` may be called from any thread. A ``WatchStream`` belongs to the thread
that opened it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote

import httpx2
from lightkube import Client as LightkubeClient
from lightkube import KubeConfig

from nodeconf.sources.kubernetes.apierrors import (
    ApiConnectionError,
    ApiStatusError,
    config_error,
    status_error,
)
from nodeconf.sources.kubernetes.connections import Connections
from nodeconf.sources.kubernetes.lightkube_internals import http_client_of, http_params
from nodeconf.sources.kubernetes.watchstream import WatchStream
from nodeconf.sources.kubernetes.wire import ListResult, decode, encode

__all__ = [
    "KIND_CONFIGMAPS",
    "KIND_EVENTS",
    "KIND_NODES",
    "KIND_PODS",
    "KubeClient",
    "load_config",
]

KIND_CONFIGMAPS: Final = "configmaps"
KIND_NODES: Final = "nodes"
KIND_PODS: Final = "pods"
KIND_EVENTS: Final = "events"

#: Every kind is core/v1; its name is the resource's plural, as in its API path.
_KINDS: Final = frozenset({KIND_CONFIGMAPS, KIND_NODES, KIND_PODS, KIND_EVENTS})
_NAMESPACED: Final = frozenset({KIND_CONFIGMAPS, KIND_PODS, KIND_EVENTS})

_JSON: Final = "application/json"
_MERGE_PATCH: Final = "application/merge-patch+json"
_STRATEGIC_MERGE_PATCH: Final = "application/strategic-merge-patch+json"


class KubeClient:
    """The requests nodeconf makes, on ``httpx2`` clients configured as lightkube's are.

    Build one with ``KubeClient.connect(kubeconfig)`` (a path, else the in-cluster service
    account, else ``KUBECONFIG``, else ``~/.kube/config``: lightkube's ``KubeConfig.from_env``
    order), or wrap an existing lightkube ``Client`` with ``KubeClient(client)``: its own HTTP
    client (transport, proxy, connection pool) carries the requests, and closing it stays the
    caller's business. ``request_timeout_seconds`` bounds every non-watch request (connect,
    read, write).

    ``fork()`` gives a sibling; ``interrupt()`` shuts down every connection *this* object
    opened and fails its later requests, which is how a list-watch loop is woken from another
    thread at any point of a request. Each list-watch loop and the event recorder use a fork
    of their own. A fork of a client from ``connect`` has a connection pool of its own (same
    server, credentials and TLS); forks of a wrapped lightkube ``Client`` share its pool.

    Thread-safety: safe to share between threads (httpx2's pool locks its own state);
    ``interrupt`` may be called from any thread.
    """

    def __init__(self, client: LightkubeClient, *, request_timeout_seconds: float = 10.0) -> None:
        self._setup(
            namespace=str(client.namespace),
            http=http_client_of(client),
            owns_http=False,
            http_params=None,
            request_timeout_seconds=request_timeout_seconds,
        )

    def _setup(
        self,
        *,
        namespace: str,
        http: httpx2.Client,
        owns_http: bool,
        http_params: Mapping[str, Any] | None,
        request_timeout_seconds: float,
    ) -> None:
        self._namespace = namespace
        self._http = http  # the httpx2 client requests go through
        self._owns_http = owns_http
        # Keyword arguments for a new httpx2.Client (a fork's own pool); None: forks share _http.
        self._http_params = http_params
        self._timeout = httpx2.Timeout(request_timeout_seconds)
        self._request_timeout_seconds = request_timeout_seconds
        self._connections = Connections()
        self._extensions = {"trace": self._connections.trace}

    @classmethod
    def _build(
        cls,
        *,
        namespace: str,
        http: httpx2.Client,
        owns_http: bool,
        http_params: Mapping[str, Any] | None,
        request_timeout_seconds: float,
    ) -> KubeClient:
        client = cls.__new__(cls)
        client._setup(
            namespace=namespace,
            http=http,
            owns_http=owns_http,
            http_params=http_params,
            request_timeout_seconds=request_timeout_seconds,
        )
        return client

    @classmethod
    def connect(
        cls, kubeconfig: str | None = None, *, request_timeout_seconds: float = 10.0
    ) -> KubeClient:
        """A client from ``kubeconfig`` (a path), else from the environment (see class doc).

        Raises ``SourceError`` (not temporary) when no configuration can be loaded.
        """
        config = load_config(kubeconfig).get()
        if config is None:
            raise config_error(kubeconfig, ValueError("no current context"))
        params = http_params(config, kubeconfig, request_timeout_seconds)
        return cls._build(
            namespace=config.namespace,
            http=httpx2.Client(**params),
            owns_http=True,
            http_params=params,
            request_timeout_seconds=request_timeout_seconds,
        )

    def fork(self) -> KubeClient:
        """A sibling (its own pool, unless this client wraps a lightkube ``Client``); close it
        when done."""
        params = self._http_params
        return KubeClient._build(
            namespace=self._namespace,
            http=self._http if params is None else httpx2.Client(**params),
            owns_http=params is not None,
            http_params=params,
            request_timeout_seconds=self._request_timeout_seconds,
        )

    @property
    def default_namespace(self) -> str:
        """The namespace of the configuration's current context (``default`` when unset)."""
        return self._namespace

    def interrupt(self) -> None:
        """Shut down this object's connections now; its later requests fail (any thread)."""
        self._connections.interrupt()

    def close(self) -> None:
        """Close this object's connection pool if it created it (idempotent)."""
        if self._owns_http:
            with contextlib.suppress(OSError, httpx2.HTTPError):
                self._http.close()

    # -- paths -----------------------------------------------------------------------------

    def path(self, kind: str, *, name: str | None = None, namespace: str | None = None) -> str:
        """The API path of one object (``name``) or of the collection (no name), relative
        to the server URL; a namespaced kind without ``namespace`` uses the default one."""
        if kind not in _KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        if kind in _NAMESPACED:
            ns = quote(namespace or self._namespace, safe="")
            collection = f"api/v1/namespaces/{ns}/{kind}"
        else:
            collection = f"api/v1/{kind}"
        return collection if name is None else f"{collection}/{quote(name, safe='')}"

    # -- plain requests --------------------------------------------------------------------

    def get(self, kind: str, name: str, *, namespace: str | None = None) -> dict[str, Any] | None:
        """GET one object; ``None`` when it does not exist (404)."""
        try:
            return self._send("GET", self.path(kind, name=name, namespace=namespace))
        except ApiStatusError as exc:
            if exc.not_found:
                return None
            raise

    def list_named(self, kind: str, name: str, *, namespace: str | None = None) -> ListResult:
        """LIST the collection narrowed to the object called ``name`` (a field selector).

        No resourceVersion is sent: the answer is a consistent (quorum) read, so diffing it
        against a cache is exact.
        """
        params = {"fieldSelector": f"metadata.name={name}"}
        body = self._send("GET", self.path(kind, namespace=namespace), params=params)
        meta = body.get("metadata") or {}
        items = tuple(body.get("items") or ())
        return ListResult(str(meta.get("resourceVersion") or ""), items)

    def list_all(
        self,
        kind: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        page_size: int = 500,
    ) -> ListResult:
        """LIST a whole collection (cluster-wide for a cluster-scoped kind), page by page
        (``limit``/``continue``, one consistent snapshot); the resourceVersion is the first
        page's, the one a watch continues from."""
        params: dict[str, str] = {"limit": str(page_size)}
        if label_selector:
            params["labelSelector"] = label_selector
        path = self.path(kind, namespace=namespace)
        items: list[dict[str, Any]] = []
        version = ""
        while True:
            body = self._send("GET", path, params=params)
            meta = body.get("metadata") or {}
            version = version or str(meta.get("resourceVersion") or "")
            items.extend(body.get("items") or ())
            token = meta.get("continue")
            if not token:
                return ListResult(version, tuple(items))
            params = {**params, "continue": str(token)}

    def create(
        self, kind: str, obj: Mapping[str, Any], *, namespace: str | None = None
    ) -> dict[str, Any]:
        """POST ``obj`` into its collection; 409 ``AlreadyExists`` raises ``ApiStatusError``."""
        return self._send("POST", self.path(kind, namespace=namespace), body=obj)

    def replace(
        self, kind: str, name: str, obj: Mapping[str, Any], *, namespace: str | None = None
    ) -> dict[str, Any]:
        """PUT ``obj``; with ``metadata.resourceVersion`` set, a stale write fails with 409."""
        return self._send("PUT", self.path(kind, name=name, namespace=namespace), body=obj)

    def merge_patch(
        self, kind: str, name: str, patch: Mapping[str, Any], *, namespace: str | None = None
    ) -> dict[str, Any]:
        """PATCH with a JSON merge patch."""
        return self._send(
            "PATCH",
            self.path(kind, name=name, namespace=namespace),
            body=patch,
            content_type=_MERGE_PATCH,
        )

    def status_patch(
        self, kind: str, name: str, patch: Mapping[str, Any], *, namespace: str | None = None
    ) -> dict[str, Any]:
        """PATCH the ``status`` subresource with a strategic merge patch (lists such as
        ``status.conditions`` merge by their key instead of being replaced)."""
        return self._send(
            "PATCH",
            self.path(kind, name=name, namespace=namespace) + "/status",
            body=patch,
            content_type=_STRATEGIC_MERGE_PATCH,
        )

    def _check_interrupted(self, method: str, path: str) -> None:
        if self._connections.interrupted:
            raise ApiConnectionError("client interrupted", method=method, path=path)

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        content_type: str = _JSON,
    ) -> dict[str, Any]:
        self._check_interrupted(method, path)
        content = encode(body) if body is not None else None
        headers = {"Content-Type": content_type} if body is not None else None
        try:
            request = self._http.build_request(
                method,
                path,
                params=params,
                content=content,
                headers=headers,
                timeout=self._timeout,
                extensions=self._extensions,
            )
            response = self._send_retrying_stale(request, stream=False)
        except httpx2.HTTPError as exc:
            raise ApiConnectionError(
                f"{type(exc).__name__}: {exc}", method=method, path=path
            ) from exc
        if response.status_code >= 300:
            raise status_error(response, method=method, path=path)
        try:
            decoded = decode(response.content) if response.content else {}
        except (ValueError, RecursionError) as exc:
            raise ApiConnectionError(
                f"undecodable answer ({exc})", method=method, path=path
            ) from exc
        if not isinstance(decoded, dict):
            raise ApiConnectionError("answer is not a JSON object", method=method, path=path)
        return decoded

    def _send_retrying_stale(self, request: httpx2.Request, *, stream: bool) -> httpx2.Response:
        """Send; a GET that finds its pooled keep-alive connection already closed by the
        server ("disconnected without sending a response") is sent once more at once, on a
        new connection, as Go's HTTP client does for idempotent requests. This race is
        routine after a server ends a watch and closes the connection behind it."""
        try:
            return self._http.send(request, stream=stream)
        except httpx2.RemoteProtocolError:
            if request.method != "GET" or self._connections.interrupted:
                raise
            return self._http.send(request, stream=stream)

    # -- watch -----------------------------------------------------------------------------

    def watch_named(
        self,
        kind: str,
        name: str,
        *,
        namespace: str | None = None,
        resource_version: str,
        timeout_seconds: int,
        idle_timeout_seconds: float,
    ) -> WatchStream:
        """Open a WATCH of the object called ``name`` from ``resource_version``, with bookmarks.

        ``timeout_seconds`` is the server-side timeout (the server ends the response cleanly
        then); ``idle_timeout_seconds`` is the read timeout on the connection (the watchdog:
        it also bounds the wait for the response headers). A non-2xx answer raises
        ``ApiStatusError`` (410 included); no answer raises ``ApiConnectionError``.
        """
        return self.watch_collection(
            kind,
            namespace=namespace,
            field_selector=f"metadata.name={name}",
            resource_version=resource_version,
            timeout_seconds=timeout_seconds,
            idle_timeout_seconds=idle_timeout_seconds,
        )

    def watch_collection(
        self,
        kind: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str,
        timeout_seconds: int,
        idle_timeout_seconds: float,
    ) -> WatchStream:
        """Open a WATCH of a collection (narrowed by the selectors) from
        ``resource_version``, with bookmarks; timeouts and errors as ``watch_named``."""
        path = self.path(kind, namespace=namespace)
        params = {
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_seconds),
        }
        if label_selector:
            params["labelSelector"] = label_selector
        if field_selector:
            params["fieldSelector"] = field_selector
        self._check_interrupted("WATCH", path)
        timeout = httpx2.Timeout(self._request_timeout_seconds, read=idle_timeout_seconds)
        try:
            request = self._http.build_request(
                "GET", path, params=params, timeout=timeout, extensions=self._extensions
            )
            response = self._send_retrying_stale(request, stream=True)
        except httpx2.HTTPError as exc:
            raise ApiConnectionError(
                f"{type(exc).__name__}: {exc}", method="WATCH", path=path
            ) from exc
        if response.status_code >= 300:
            try:
                response.read()
            except httpx2.HTTPError as exc:
                raise ApiConnectionError(
                    f"HTTP {response.status_code} with a broken body ({exc})",
                    method="WATCH",
                    path=path,
                ) from exc
            finally:
                response.close()
            raise status_error(response, method="WATCH", path=path)
        return WatchStream(response, method="WATCH", path=path)


def load_config(kubeconfig: str | None) -> KubeConfig:
    """The client configuration from ``kubeconfig`` (a path), else from the environment
    (``KUBECONFIG``, ``~/.kube/config``, or the in-cluster service account), checked to name
    a cluster (its current context resolves).

    Raises ``SourceError`` (not temporary) with a one-line reason when it cannot be loaded.
    """
    try:
        config = KubeConfig.from_file(kubeconfig) if kubeconfig else KubeConfig.from_env()
        config.get()  # the current context, its cluster and user: a broken file fails here
    except Exception as exc:  # lightkube raises ConfigError, KeyError, OSError, yaml errors
        raise config_error(kubeconfig, exc) from exc
    return config
